//! Fuzzing the config path (issue 6): every embedded preset, mutated at random (values replaced by
//! NaN, infinities, 1e308, negatives, huge integers, wrong types; keys deleted or added; tables
//! replaced by values) and overridden with random `--set KEY=VALUE` text, then validated and, when
//! accepted, trained for a few steps into a run directory. The property: nothing panics, and
//! every rejection names the key (or the `--set` text) that caused it.
//!
//! `cargo test --release -p groklab-engine --test fuzz_config` runs 300 cases;
//! `GROKLAB_FUZZ_CASES=100000` runs more and prints what it saw.

use groklab_engine::reader::{ConfigError, apply_override};
use groklab_engine::run::{OutDir, execute};
use groklab_engine::train::{TrainOptions, check_fits};
use groklab_engine::{Config, EngineError, presets};
use proptest::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use toml::{Table, Value};

/// Words that are valid somewhere in the schema, so mutations often reach deep into validation.
const WORDS: &[&str] = &[
    "toy",
    "mlp",
    "addition",
    "teacher-student",
    "mse",
    "cross-entropy",
    "sgd",
    "adam",
    "adamw",
    "same",
    "linear",
    "tanh",
    "relu",
    "identity",
    "levi",
    "pytorch",
    "regression",
    "classification",
    "f64",
    "f32",
    "constant",
    "cosine",
    "embed",
    "decoder",
    "student",
    "x",
    "",
];
/// Key names to add: real keys in the wrong place, near misses, nonsense.
const KEYS: &[&str] = &[
    "lr",
    "lrr",
    "kind",
    "steps",
    "d_hidden",
    "d_hiden",
    "params",
    "warmup_steps",
    "decay",
    "min_lr",
    "n_train",
    "lambda",
    "train",
    "p",
    "head",
    "xyz",
    "seed",
    "batch_size",
    "every",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Float(f64::NAN)),
        Just(Value::Float(f64::INFINITY)),
        Just(Value::Float(f64::NEG_INFINITY)),
        Just(Value::Float(1e308)),
        Just(Value::Float(-1e308)),
        Just(Value::Float(1e-300)),
        Just(Value::Float(0.5)),
        Just(Value::Integer(-1)),
        Just(Value::Integer(0)),
        Just(Value::Integer(1)),
        Just(Value::Integer(1 << 40)),
        Just(Value::Integer(i64::MAX)),
        Just(Value::Integer(i64::MIN)),
        Just(Value::Boolean(true)),
        (-1000i64..100_000).prop_map(Value::Integer),
        (-1e3f64..1e3).prop_map(Value::Float),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.into())),
    ];
    prop_oneof![
        8 => leaf.clone(),
        1 => prop::collection::vec(leaf, 0..4).prop_map(Value::Array),
        1 => Just(Value::Table(Table::new())),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Multiply the number at the k-th path (a plausible but changed value).
    Scale(usize, f64),
    /// Replace the value at the k-th path (leaves and tables).
    Replace(usize, Value),
    Delete(usize),
    /// Add a key to the k-th table.
    Add(usize, &'static str, Value),
    /// A `--set` override of the k-th path (or a made-up one) with raw text.
    Set(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let raw = prop_oneof![
        value().prop_map(|v| v.to_string()),
        prop::sample::select(WORDS).prop_map(String::from),
        Just("[1, 2".to_string()),
        Just("nan".to_string()),
        Just("=".to_string()),
    ];
    prop_oneof![
        4 => (any::<usize>(), prop::sample::select(&[0.0, 0.5, 2.0, 3.0, 10.0, -1.0, 1e3][..]))
            .prop_map(|(k, f)| Mutation::Scale(k, f)),
        4 => (any::<usize>(), value()).prop_map(|(k, v)| Mutation::Replace(k, v)),
        1 => any::<usize>().prop_map(Mutation::Delete),
        2 => (any::<usize>(), prop::sample::select(KEYS), value())
            .prop_map(|(k, n, v)| Mutation::Add(k, n, v)),
        2 => (any::<usize>(), raw).prop_map(|(k, r)| Mutation::Set(k, r)),
    ]
}

/// Every path in a document: tables and leaves, depth first.
fn paths(t: &Table, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    for (k, v) in t {
        prefix.push(k.clone());
        let is_table = v.is_table();
        out.push((prefix.clone(), is_table));
        if let Value::Table(inner) = v {
            paths(inner, prefix, out);
        }
        prefix.pop();
    }
}

fn table_at<'a>(t: &'a mut Table, path: &[String]) -> Option<&'a mut Table> {
    let mut cur = t;
    for p in path {
        cur = cur.get_mut(p)?.as_table_mut()?;
    }
    Some(cur)
}

/// Applies a mutation; a `--set` that cannot be applied returns its error.
fn apply(doc: &mut Table, m: &Mutation) -> Result<(), ConfigError> {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return Ok(());
    }
    match m {
        Mutation::Scale(k, f) => {
            let (path, _) = &all[k % all.len()];
            let (last, parent) = path.split_last().expect("paths are non-empty");
            if let Some(t) = table_at(doc, parent) {
                let scaled = match t.get(last) {
                    Some(Value::Integer(i)) => Some(Value::Integer((*i as f64 * f) as i64)),
                    Some(Value::Float(x)) => Some(Value::Float(x * f)),
                    _ => None,
                };
                if let Some(v) = scaled {
                    t.insert(last.clone(), v);
                }
            }
            Ok(())
        }
        Mutation::Replace(k, v) => {
            let (path, _) = &all[k % all.len()];
            let (last, parent) = path.split_last().expect("paths are non-empty");
            if let Some(t) = table_at(doc, parent) {
                t.insert(last.clone(), v.clone());
            }
            Ok(())
        }
        Mutation::Delete(k) => {
            let (path, _) = &all[k % all.len()];
            let (last, parent) = path.split_last().expect("paths are non-empty");
            if let Some(t) = table_at(doc, parent) {
                t.remove(last);
            }
            Ok(())
        }
        Mutation::Add(k, name, v) => {
            let tables: Vec<&Vec<String>> =
                all.iter().filter(|(_, t)| *t).map(|(p, _)| p).collect();
            let path = if tables.is_empty() || k % 3 == 0 {
                Vec::new()
            } else {
                tables[k % tables.len()].clone()
            };
            if let Some(t) = table_at(doc, &path) {
                t.insert(name.to_string(), v.clone());
            }
            Ok(())
        }
        Mutation::Set(k, raw) => {
            let key = if k % 5 == 0 {
                "optim.nogroup.lr".to_string()
            } else {
                all[k % all.len()].0.join(".")
            };
            apply_override(doc, &format!("{key}={raw}"))
        }
    }
}

/// A rejection must name what caused it.
fn names_a_key(e: &ConfigError) -> bool {
    let text = e.to_string();
    match e {
        ConfigError::Invalid { key, .. }
        | ConfigError::Unknown { key, .. }
        | ConfigError::Missing { key, .. } => !key.is_empty() && text.contains(key.as_str()),
        ConfigError::Parse { source, .. } => source.starts_with("--set ") && text.contains(source),
        ConfigError::UnknownPreset { .. } => false,
    }
}

/// Rough multiply-adds of a few training steps and evaluations, to skip accepted configs that are
/// valid but too slow to train inside a test (counted, not trained).
fn cost(c: &Config) -> f64 {
    let model = c.build_model();
    let numel: f64 = model.specs().iter().map(|s| s.numel() as f64).sum();
    let samples = (c.task.n_train() + c.task.n_val()) as f64;
    let d_in = c.task.shape();
    let exact = match d_in.input {
        groklab_engine::shape::Input::Dense { dim } => (dim as f64).powi(3),
        _ => 0.0,
    };
    numel * samples * 6.0 + exact
}

#[derive(Default, Debug)]
struct Counts {
    cases: AtomicUsize,
    rejected: AtomicUsize,
    set_rejected: AtomicUsize,
    trained: AtomicUsize,
    refused_memory: AtomicUsize,
    skipped_cost: AtomicUsize,
    diverged: AtomicUsize,
}

static COUNTS: Counts = Counts {
    cases: AtomicUsize::new(0),
    rejected: AtomicUsize::new(0),
    set_rejected: AtomicUsize::new(0),
    trained: AtomicUsize::new(0),
    refused_memory: AtomicUsize::new(0),
    skipped_cost: AtomicUsize::new(0),
    diverged: AtomicUsize::new(0),
};
static KEYS_SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn check(preset: usize, mutations: &[Mutation], dir: &std::path::Path) -> Result<(), String> {
    COUNTS.cases.fetch_add(1, Ordering::Relaxed);
    let (name, text) = presets::PRESETS[preset % presets::PRESETS.len()];
    let mut doc: Table = text.parse().map_err(|e| format!("{name}: {e}"))?;
    // teacher-student presets shrunk first (the paper's d_in = 1000 and 10^4 test samples make a
    // case take a second); mutations can still grow them
    if doc["task"]["kind"].as_str() == Some("teacher-student") {
        for set in ["task.d_in=40", "task.n_test=200"] {
            apply_override(&mut doc, set).map_err(|e| e.to_string())?;
        }
    }
    for m in mutations {
        if let Err(e) = apply(&mut doc, m) {
            COUNTS.set_rejected.fetch_add(1, Ordering::Relaxed);
            return if names_a_key(&e) {
                Ok(())
            } else {
                Err(format!("--set rejected without naming it: {e}"))
            };
        }
    }
    let config = match Config::from_table(doc.clone()) {
        Ok(c) => c,
        Err(e) => {
            COUNTS.rejected.fetch_add(1, Ordering::Relaxed);
            if let ConfigError::Invalid { key, .. } | ConfigError::Unknown { key, .. } = &e
                && let Ok(mut seen) = KEYS_SEEN.lock()
                && !seen.contains(key)
            {
                seen.push(key.clone());
            }
            return if names_a_key(&e) {
                Ok(())
            } else {
                Err(format!("rejected without naming a key: {e}\n{doc}"))
            };
        }
    };
    // the resolved config reads back as itself
    let back = Config::from_toml(&config.to_toml(), "round trip").map_err(|e| {
        format!(
            "resolved config does not read back: {e}\n{}",
            config.to_toml()
        )
    })?;
    if back != config {
        return Err(format!(
            "resolved config changed on reading back:\n{}",
            config.to_toml()
        ));
    }
    let mut short = config.clone();
    short.train.steps = short.train.steps.min(3);
    match check_fits(std::slice::from_ref(&short)) {
        Err(EngineError::Memory { .. }) => {
            COUNTS.refused_memory.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        // what only the built model can check (a stop metric among its probes' columns)
        Err(EngineError::Config(e)) if names_a_key(&e) => {
            COUNTS.rejected.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(e) => return Err(format!("refused: {e}")),
        Ok(()) => {}
    }
    if cost(&short) > 1e8 {
        COUNTS.skipped_cost.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    let out = OutDir::Fresh {
        root: dir.to_path_buf(),
        name: "run".into(),
    };
    match execute(&short, &out, &TrainOptions::default()) {
        Ok((summary, _)) => {
            COUNTS.trained.fetch_add(1, Ordering::Relaxed);
            if summary.diverged_at.is_some() {
                COUNTS.diverged.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
        Err(e) => Err(format!("training failed: {e}\n{}", short.to_toml())),
    }
}

fn cases() -> u32 {
    std::env::var("GROKLAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

#[test]
fn mutated_presets_never_panic_and_every_rejection_names_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (any::<usize>(), prop::collection::vec(mutation(), 1..4));
    let result = runner.run(&strategy, |(preset, mutations)| {
        let dir = tmp.path().join("runs");
        let r = check(preset, &mutations, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        r.map_err(TestCaseError::fail)
    });
    let c = &COUNTS;
    eprintln!(
        "fuzz: {} cases: {} rejected by --set, {} rejected by validation, {} trained ({} diverged), {} refused for memory, {} valid but skipped as too slow to train here",
        c.cases.load(Ordering::Relaxed),
        c.set_rejected.load(Ordering::Relaxed),
        c.rejected.load(Ordering::Relaxed),
        c.trained.load(Ordering::Relaxed),
        c.diverged.load(Ordering::Relaxed),
        c.refused_memory.load(Ordering::Relaxed),
        c.skipped_cost.load(Ordering::Relaxed),
    );
    if let Ok(seen) = KEYS_SEEN.lock() {
        eprintln!("fuzz: {} distinct keys named in rejections", seen.len());
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
