//! A run stopped at a step, its state written to a file and read back into a fresh trainer, ends
//! bit for bit where the run that never stopped ends: every metric, every probe table, the final
//! and initial parameters. Covered: minibatches in epochs and with replacement, dropout, Adam's
//! moments with a warm-up, the Grokfast filters, early stopping, the toy model in f64 and every
//! probe that keeps a history (embeddings, progress, Fourier, subnetworks, the linear theory).

use groklab_engine::snapshot::Snapshot;
use groklab_engine::train::{TrainOptions, TrainResult, Trainer, Watch};
use groklab_engine::{Config, presets};
use toml::Value;

/// Stops the run after step `at` and keeps the state saved there.
struct StopAt {
    at: usize,
    state: Option<Snapshot>,
}

impl Watch for StopAt {
    fn interrupt(&self, step: usize) -> Option<i32> {
        (step == self.at).then_some(15)
    }
    fn saved(&mut self, state: Snapshot) {
        self.state = Some(state);
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same(a: &TrainResult, b: &TrainResult, what: &str) {
    assert_eq!(a.members.len(), b.members.len());
    for (x, y) in a.members.iter().zip(&b.members) {
        assert_eq!(x.metrics.columns, y.metrics.columns, "{what}");
        assert_eq!(x.metrics.rows.len(), y.metrics.rows.len(), "{what}: rows");
        for (r, s) in x.metrics.rows.iter().zip(&y.metrics.rows) {
            assert_eq!(bits(r), bits(s), "{what}: metrics row at step {}", r[0]);
        }
        for (p, q) in x.final_params.iter().zip(&y.final_params) {
            assert_eq!(bits(p), bits(q), "{what}: final parameters");
        }
        for (p, q) in x.initial_params.iter().zip(&y.initial_params) {
            assert_eq!(bits(p), bits(q), "{what}: initial parameters");
        }
        assert_eq!(x.tables.len(), y.tables.len(), "{what}: tables");
        for (t, u) in x.tables.iter().zip(&y.tables) {
            assert_eq!(t.header, u.header, "{what}: {}", t.file);
            let flat = |rows: &[Vec<f64>]| bits(&rows.concat());
            assert_eq!(flat(&t.rows), flat(&u.rows), "{what}: {}", t.file);
        }
        assert_eq!(x.steps, y.steps, "{what}: steps");
        assert_eq!(x.crossings, y.crossings, "{what}: crossings");
        assert_eq!(x.stopped_at, y.stopped_at, "{what}: stop");
        assert_eq!(x.diverged_at, y.diverged_at, "{what}: divergence");
    }
}

/// The run whole, then stopped after `at` and continued from the state file.
fn check(configs: &[Config], at: usize, what: &str) {
    let opts = TrainOptions::default();
    let whole = Trainer::setup(configs).unwrap().run(&opts);
    let mut stop = StopAt { at, state: None };
    let first = Trainer::setup(configs)
        .unwrap()
        .run_watched(&opts, &mut stop);
    assert_eq!(first.interrupted_by, Some(15), "{what}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    stop.state
        .expect("saved when interrupted")
        .write(&path)
        .unwrap();
    let mut resumed = Trainer::setup(configs).unwrap();
    let (step, _) = resumed.load(Snapshot::read(&path).unwrap()).unwrap();
    assert_eq!(step, at);
    let rest = resumed.run(&opts);
    assert_eq!(rest.interrupted_by, None);
    same(&whole, &rest, what);
}

fn with(c: &Config, sets: &[(&str, Value)]) -> Config {
    c.with(sets).unwrap()
}

#[test]
fn a_resumed_run_ends_where_the_whole_run_ends() {
    let s = |v: &str| Value::String(v.into());
    let i = Value::Integer;
    // transformer, minibatches in epochs, dropout, Adam with a warm-up from lr 0, Grokfast MA
    let quick = presets::load("modadd-quick").unwrap();
    let small = with(
        &quick,
        &[
            ("task.p", i(11)),
            ("model.d_model", i(16)),
            ("model.d_mlp", i(32)),
            ("model.n_heads", i(2)),
            ("model.dropout", Value::Float(0.1)),
            ("train.steps", i(60)),
            ("train.batch_size", i(16)),
            ("eval.log_points", i(0)),
            ("eval.every", i(7)),
        ],
    );
    check(
        std::slice::from_ref(&small),
        23,
        "transformer, minibatches, dropout",
    );
    let ma = with(
        &small,
        &[
            ("optim.all.grokfast", s("ma")),
            ("optim.all.grokfast_window", i(5)),
            ("optim.all.warmup_steps", i(4)),
            ("optim.all.warmup_from_zero", Value::Boolean(true)),
        ],
    );
    check(std::slice::from_ref(&ma), 30, "Grokfast MA, warm-up");
    let ema = with(
        &small,
        &[
            ("optim.all.grokfast", s("ema")),
            ("train.path", s("autodiff")),
        ],
    );
    check(&[ema], 14, "Grokfast EMA on the autodiff path");
    // a 3-member ensemble whose members stop at different evaluations
    let stopping = with(
        &small,
        &[(
            "train.stop",
            toml::from_str::<toml::Table>("s = { metric = \"train_acc\", at = 0.2 }").unwrap()["s"]
                .clone(),
        )],
    );
    let ensemble: Vec<Config> = (0..3).map(|k| with(&stopping, &[("seed", i(k))])).collect();
    check(&ensemble, 35, "ensemble with early stopping");
    // the toy model in f64 (embeddings, RQI), its progress probe
    let toy = with(
        &presets::load("liu2022-toy").unwrap(),
        &[("train.steps", i(300)), ("train.dtype", s("f64"))],
    );
    check(&[toy], 120, "toy in f64");
    // the subnetworks probe (sparse parity, epochs)
    let parity = with(
        &presets::load("merrill2023-parity").unwrap(),
        &[
            ("train.epochs", i(6)),
            ("model.d_hidden", Value::Array(vec![i(64)])),
        ],
    );
    check(&[parity], 20, "sparse parity, subnetworks");
    // the linear theory's exact dynamics, built from the initial student
    let levi = with(
        &presets::load("levi2023-fig1-lambda0.9").unwrap(),
        &[("train.steps", i(200)), ("task.d_in", i(40))],
    );
    check(&[levi], 77, "teacher-student, linear theory");
    // Nanda's Fourier probe, full batch
    let nanda = with(
        &presets::load("nanda2023-add113").unwrap(),
        &[
            ("task.p", i(23)),
            ("task.train", Value::Float(0.3)),
            ("model.d_model", i(16)),
            ("model.d_mlp", i(32)),
            ("model.n_heads", i(2)),
            ("model.d_head", i(8)),
            ("model.d_vocab_out", i(24)),
            ("train.steps", i(40)),
            ("eval.log_points", i(10)),
        ],
    );
    check(&[nanda], 17, "Nanda, Fourier probe");
}

/// A state refuses a run it was not saved from, naming why.
#[test]
fn a_state_of_another_config_is_refused() {
    let c = with(
        &presets::load("liu2022-toy").unwrap(),
        &[("train.steps", Value::Integer(50))],
    );
    let mut stop = StopAt {
        at: 10,
        state: None,
    };
    Trainer::setup(std::slice::from_ref(&c))
        .unwrap()
        .run_watched(&TrainOptions::default(), &mut stop);
    let state = stop.state.unwrap();
    let other = with(&c, &[("optim.embed.lr", Value::Float(0.5))]);
    let mut t = Trainer::setup(&[other]).unwrap();
    let e = t.load(state.clone()).unwrap_err().to_string();
    assert!(e.contains("another config"), "{e}");
    let mut two = Trainer::setup(&[c.clone(), with(&c, &[("seed", Value::Integer(9))])]).unwrap();
    let e = two.load(state).unwrap_err().to_string();
    assert!(e.contains("1 members") || e.contains("members"), "{e}");
}
