//! A sweep definition and its expansion into runs.
//!
//! ```toml
//! name = "liu2022-phase-regression"
//! description = "..."
//! base = "liu2022-toy"            # a preset, or base_file = "my.toml" (relative to this file)
//! seeds = [58]                    # or a count: seeds = 5 means 0..5; default: the base's seed
//! [set]                           # overrides for every run, as --set gives them
//! "train.steps" = 10000
//! [[axes]]
//! key = "optim.decoder.lr"
//! logspace = [-5, -2, 16]         # 10^linspace(-5, -2, 16)
//! [[axes]]
//! key = "optim.decoder.weight_decay"
//! range = [0, 11, 1]              # numpy.arange: 0, 1, ..., 10
//! ```
//! An axis gives `values = [...]` (any TOML values), `linspace = [a, b, n]`, `logspace = [a, b, n]`
//! or `range = [start, stop, step]`, and optionally `log` (whether plots use a log axis; default:
//! logspace axes only). Runs are the product of the axes, first axis outermost, seeds innermost;
//! run `i` is `r{i:04}`. Every run's config is resolved and validated before anything runs.
//!
//! The resolved definition ([`Sweep::to_toml`]) inlines the base config as `[base_config]`, so a
//! sweep directory says everything that defines it and resumes without the original files.

use crate::error::SweepError;
use groklab_engine::reader::{ConfigError, Reader};
use groklab_engine::{Config, presets};
use std::path::Path;
use toml::{Table, Value};

/// One axis of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The config key it sets.
    pub key: String,
    pub values: Vec<Value>,
    /// Whether plots draw it on a log scale.
    pub log: bool,
}

/// A validated sweep definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub name: String,
    pub description: String,
    /// The paper and figure the sweep reproduces (empty for others).
    pub reproduces: String,
    /// The base config document, before `set` and the axes.
    pub base: Table,
    /// Overrides for every run, in order.
    pub set: Vec<(String, Value)>,
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
    /// Theory drawn beside the results (`addition-nullity`, `linear-mp`), if any.
    pub theory: Option<String>,
}

/// One expanded run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub index: usize,
    /// `r0000`, `r0001`, ...
    pub id: String,
    /// This run's value on each axis.
    pub values: Vec<Value>,
    pub seed: u64,
    pub config: Config,
}

impl RunSpec {
    /// `key = value, ...` of this run's axes and seed.
    pub fn describe(&self, axes: &[Axis]) -> String {
        describe(axes, &self.values, self.seed)
    }
}

/// `key = value, ...` of axis values and a seed.
fn describe(axes: &[Axis], values: &[Value], seed: u64) -> String {
    let mut parts: Vec<String> = axes
        .iter()
        .zip(values)
        .map(|(a, v)| format!("{} = {}", a.key, show(v)))
        .collect();
    parts.push(format!("seed = {seed}"));
    parts.join(", ")
}

/// A value as a user would type it (strings unquoted where they are plain words).
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Theories a sweep can draw beside its results.
pub const THEORIES: &[&str] = &["addition-nullity", "linear-mp"];

impl Sweep {
    /// Reads a definition; `base_file` paths are relative to `dir`.
    pub fn from_toml(text: &str, source: &str, dir: &Path) -> Result<Sweep, SweepError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                source: source.into(),
                message: e.to_string(),
            })?;
        let mut r = Reader::new("", table);
        let name = r.string_or("name", "sweep")?;
        let description = r.string_or("description", "")?;
        let reproduces = r.string_or("reproduces", "")?;
        let base = match (r.raw("base"), r.raw("base_file"), r.raw("base_config")) {
            (Some(Value::String(p)), None, None) => {
                let text = presets::text(&p).ok_or_else(|| presets::unknown(&p))?;
                parse_doc(text, &format!("preset {p}"))?
            }
            (None, Some(Value::String(f)), None) => {
                let path = dir.join(&f);
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                    key: "base_file".into(),
                    value: format!("{f:?}"),
                    allowed: format!("a readable config file ({}: {e})", path.display()),
                })?;
                parse_doc(&text, &path.display().to_string())?
            }
            (None, None, Some(Value::Table(t))) => t,
            _ => {
                return Err(ConfigError::Missing {
                    key: "base".into(),
                    allowed: "exactly one of base = \"PRESET\", base_file = \"FILE.toml\" or a [base_config] table".into(),
                }
                .into());
            }
        };
        let set = match r.raw("set") {
            None => Vec::new(),
            Some(Value::Table(t)) => t.into_iter().collect(),
            Some(v) => {
                return Err(r
                    .invalid("set", &v, "a table of \"key.path\" = value")
                    .into());
            }
        };
        let axes = match r.raw("axes") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .into_iter()
                .enumerate()
                .map(|(k, v)| read_axis(k, v))
                .collect::<Result<Vec<_>, _>>()?,
            Some(v) => return Err(r.invalid("axes", &v, "an array of [[axes]] tables").into()),
        };
        let seeds = match r.raw("seeds") {
            None => Vec::new(),
            Some(Value::Integer(n)) if (1..=100_000).contains(&n) => (0..n as u64).collect(),
            Some(Value::Array(a))
                if !a.is_empty() && a.iter().all(|v| v.as_integer().is_some_and(|i| i >= 0)) =>
            {
                a.iter()
                    .filter_map(|v| v.as_integer().map(|i| i as u64))
                    .collect()
            }
            Some(v) => {
                return Err(r
                    .invalid(
                        "seeds",
                        &v,
                        "a count from 1 to 100000, or a non-empty array of integers >= 0",
                    )
                    .into());
            }
        };
        let theory = match r.raw("theory") {
            None => None,
            Some(Value::String(t)) if THEORIES.contains(&t.as_str()) => Some(t),
            Some(v) => {
                return Err(r
                    .invalid("theory", &v, format!("one of {}", THEORIES.join(", ")))
                    .into());
            }
        };
        r.finish()?;
        let mut seen = Vec::new();
        for a in &axes {
            if seen.contains(&a.key) || a.key == "seed" {
                return Err(ConfigError::Invalid {
                    key: "axes".into(),
                    value: format!("{:?}", a.key),
                    allowed: "each key on one axis only (seeds go in `seeds`)".into(),
                }
                .into());
            }
            seen.push(a.key.clone());
        }
        let mut sweep = Sweep {
            name,
            description,
            reproduces,
            base,
            set,
            axes,
            seeds,
            theory,
        };
        if sweep.seeds.is_empty() {
            let seed = sweep
                .base
                .get("seed")
                .and_then(Value::as_integer)
                .unwrap_or(0)
                .max(0) as u64;
            sweep.seeds = vec![seed];
        }
        Ok(sweep)
    }

    /// Number of runs.
    /// The sweep with `--set key=value` overrides for every run, after its own `set` (a key it
    /// sets already takes the new value).
    pub fn with_sets(mut self, sets: &[String]) -> Result<Sweep, SweepError> {
        for spec in sets {
            let (key, value) = groklab_engine::reader::parse_override(spec)?;
            match self.set.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => self.set.push((key, value)),
            }
        }
        // every run must still read (the expansion checks each one)
        self.expand()?;
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product::<usize>() * self.seeds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every run, resolved and validated; the first invalid one is the error, naming its axes.
    pub fn expand(&self) -> Result<Vec<RunSpec>, SweepError> {
        let n = self.len();
        let mut runs = Vec::with_capacity(n);
        for index in 0..n {
            // mixed radix: first axis outermost, seeds innermost
            let mut rest = index;
            let seed = self.seeds[rest % self.seeds.len()];
            rest /= self.seeds.len();
            let mut values = vec![Value::Boolean(false); self.axes.len()];
            for (k, a) in self.axes.iter().enumerate().rev() {
                values[k] = a.values[rest % a.values.len()].clone();
                rest /= a.values.len();
            }
            let id = format!("r{index:04}");
            let mut doc = self.base.clone();
            let assign = |doc: &mut Table, key: &str, v: &Value| {
                groklab_engine::reader::set(doc, key, v.clone())
            };
            let fail = |error: ConfigError| SweepError::Run {
                id: id.clone(),
                assignments: describe(&self.axes, &values, seed),
                error: Box::new(error),
            };
            for (key, v) in &self.set {
                assign(&mut doc, key, v).map_err(|e| SweepError::Definition(e.clone()))?;
            }
            for (a, v) in self.axes.iter().zip(&values) {
                assign(&mut doc, &a.key, v).map_err(fail)?;
            }
            doc.insert("seed".into(), Value::Integer(seed as i64));
            doc.insert("name".into(), Value::String(format!("{}-{id}", self.name)));
            let mut config = Config::from_table(doc).map_err(fail)?;
            config.description = describe(&self.axes, &values, seed);
            runs.push(RunSpec {
                index,
                id,
                values,
                seed,
                config,
            });
        }
        Ok(runs)
    }

    /// The resolved definition, base inlined: what a sweep directory stores and compares.
    pub fn to_toml(&self) -> String {
        let mut t = Table::new();
        t.insert("name".into(), Value::String(self.name.clone()));
        t.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        if !self.reproduces.is_empty() {
            t.insert("reproduces".into(), Value::String(self.reproduces.clone()));
        }
        t.insert(
            "seeds".into(),
            Value::Array(
                self.seeds
                    .iter()
                    .map(|&s| Value::Integer(s as i64))
                    .collect(),
            ),
        );
        if let Some(th) = &self.theory {
            t.insert("theory".into(), Value::String(th.clone()));
        }
        t.insert(
            "set".into(),
            Value::Table(self.set.iter().cloned().collect()),
        );
        t.insert(
            "axes".into(),
            Value::Array(
                self.axes
                    .iter()
                    .map(|a| {
                        let mut at = Table::new();
                        at.insert("key".into(), Value::String(a.key.clone()));
                        at.insert("values".into(), Value::Array(a.values.clone()));
                        at.insert("log".into(), Value::Boolean(a.log));
                        Value::Table(at)
                    })
                    .collect(),
            ),
        );
        t.insert("base_config".into(), Value::Table(self.base.clone()));
        toml::to_string(&t).unwrap_or_default()
    }

    /// How this definition differs from `other`, in words (None when they define the same runs).
    pub fn difference(&self, other: &Sweep) -> Option<String> {
        let mut d = Vec::new();
        if self.base != other.base {
            d.push("the base config".to_string());
        }
        if self.set != other.set {
            d.push("`set`".into());
        }
        if self.seeds != other.seeds {
            d.push("`seeds`".into());
        }
        if self.axes.len() != other.axes.len() {
            d.push("the number of axes".into());
        } else {
            for (k, (a, b)) in self.axes.iter().zip(&other.axes).enumerate() {
                if a.key != b.key || a.values != b.values {
                    d.push(format!("axis {k} ({})", a.key));
                }
            }
        }
        if self.theory != other.theory {
            d.push("`theory`".into());
        }
        (!d.is_empty()).then(|| d.join(", "))
    }
}

fn parse_doc(text: &str, source: &str) -> Result<Table, ConfigError> {
    text.parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            source: source.into(),
            message: e.to_string(),
        })
}

/// numpy.linspace.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|k| a + (b - a) * k as f64 / (n - 1) as f64)
        .collect()
}

fn read_axis(k: usize, v: Value) -> Result<Axis, ConfigError> {
    let path = format!("axes[{k}]");
    let Value::Table(t) = v else {
        return Err(ConfigError::Invalid {
            key: path,
            value: groklab_engine::reader::show(&v),
            allowed: "a table with `key` and one of values, linspace, logspace, range".into(),
        });
    };
    let mut r = Reader::new(&path, t);
    let key = r.string_or("key", "")?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(ConfigError::Missing {
            key: r.key("key"),
            allowed: "a dotted config key such as optim.decoder.lr".into(),
        });
    }
    let nums = |r: &Reader, name: &str, v: &Value| -> Result<Vec<f64>, ConfigError> {
        let allowed = match name {
            "range" => "[start, stop, step] with step != 0",
            _ => "[start, stop, count] with a count from 1 to 10000",
        };
        let xs: Vec<f64> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_float().or(x.as_integer().map(|i| i as f64)))
                    .collect()
            })
            .unwrap_or_default();
        if xs.len() != 3 || xs.iter().any(|x| !x.is_finite()) {
            return Err(r.invalid(name, v, allowed));
        }
        Ok(xs)
    };
    let given: Vec<(&'static str, Value)> = ["values", "linspace", "logspace", "range"]
        .into_iter()
        .filter_map(|name| r.raw(name).map(|v| (name, v)))
        .collect();
    let (values, default_log) = match given.as_slice() {
        [("values", Value::Array(a))] if !a.is_empty() => (a.clone(), false),
        [("values", v)] => return Err(r.invalid("values", v, "a non-empty array")),
        [(name @ ("linspace" | "logspace"), v)] => {
            let xs = nums(&r, name, v)?;
            let n = xs[2];
            if !((1.0..=10_000.0).contains(&n) && n.fract() == 0.0) {
                return Err(r.invalid(
                    name,
                    v,
                    "[start, stop, count] with a count from 1 to 10000",
                ));
            }
            let pts = linspace(xs[0], xs[1], n as usize);
            if *name == "logspace" {
                // 10^x, rounded to 12 significant digits so that 10^-3 prints as 0.001
                let vals = pts
                    .iter()
                    .map(|x| {
                        let v = 10f64.powf(*x);
                        Value::Float(format!("{v:.11e}").parse().unwrap_or(v))
                    })
                    .collect();
                (vals, true)
            } else {
                (pts.into_iter().map(Value::Float).collect(), false)
            }
        }
        [("range", v)] => {
            let xs = nums(&r, "range", v)?;
            let (start, stop, step) = (xs[0], xs[1], xs[2]);
            let count = ((stop - start) / step).ceil();
            if step == 0.0 || !(1.0..=10_000.0).contains(&count) {
                return Err(r.invalid(
                    "range",
                    v,
                    "[start, stop, step] giving 1 to 10000 values (stop excluded, as numpy.arange)",
                ));
            }
            let ints = v
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_integer));
            let vals = (0..count as usize)
                .map(|k| {
                    let x = start + step * k as f64;
                    if ints {
                        Value::Integer(x as i64)
                    } else {
                        Value::Float(x)
                    }
                })
                .collect();
            (vals, false)
        }
        _ => {
            return Err(ConfigError::Missing {
                key: r.key("values"),
                allowed: "exactly one of values, linspace, logspace, range".into(),
            });
        }
    };
    let log = r.bool_or("log", default_log)?;
    r.finish()?;
    Ok(Axis { key, values, log })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(text: &str) -> Result<Sweep, SweepError> {
        Sweep::from_toml(text, "test", Path::new("."))
    }

    #[test]
    fn grids_expand_in_order_with_seeds_innermost() {
        let s = sweep(
            r#"
name = "t"
base = "liu2022-toy"
seeds = [4, 9]
[set]
"train.steps" = 100
[[axes]]
key = "optim.decoder.lr"
logspace = [-5, -2, 4]
[[axes]]
key = "optim.decoder.weight_decay"
range = [0, 3, 1]
"#,
        )
        .unwrap();
        assert_eq!(s.len(), 4 * 3 * 2);
        assert_eq!(
            s.axes[0].values,
            [1e-5, 1e-4, 1e-3, 1e-2].map(Value::Float).to_vec()
        );
        assert!(s.axes[0].log && !s.axes[1].log);
        assert_eq!(s.axes[1].values, [0, 1, 2].map(Value::Integer).to_vec());
        let runs = s.expand().unwrap();
        assert_eq!(runs.len(), 24);
        let r = &runs[9]; // 9 = (1 * 3 + 1) * 2 + 1: lr index 1, wd index 1, seed index 1
        assert_eq!(r.id, "r0009");
        assert_eq!(r.seed, 9);
        assert_eq!(r.config.seed, 9);
        assert_eq!(r.config.optim["decoder"].lr, 1e-4);
        assert_eq!(r.config.optim["decoder"].weight_decay, 1.0);
        assert_eq!(r.config.train.steps, 100);
        assert_eq!(
            r.describe(&s.axes),
            "optim.decoder.lr = 0.0001, optim.decoder.weight_decay = 1, seed = 9"
        );
        // every combination exactly once
        let mut combos: Vec<String> = runs.iter().map(|r| r.describe(&s.axes)).collect();
        combos.sort();
        combos.dedup();
        assert_eq!(combos.len(), 24);
        // the resolved definition reads back to the same sweep
        let back = sweep(&s.to_toml()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.difference(&s), None);
    }

    #[test]
    fn errors_name_the_axis_the_key_and_the_value() {
        let e = sweep(
            "base = \"liu2022-toy\"\n[[axes]]\nkey = \"optim.decoder.lr\"\nvalues = [1e-3, -1]\n",
        )
        .unwrap()
        .expand()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("r0001") && e.contains("optim.decoder.lr = -1") && e.contains("> 0"),
            "{e}"
        );
        let e = sweep("base = \"liu2022-toy\"\n[[axes]]\nkey = \"x\"\nlinspace = [0, 1, 0]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("axes[0].linspace"), "{e}");
        let e = sweep("base = \"liu2022-toi\"\n").unwrap_err().to_string();
        assert!(e.contains("did you mean `liu2022-toy`"), "{e}");
        let e =
            sweep("base = \"liu2022-toy\"\n[[axes]]\nkey = \"model.d_hiden\"\nvalues = [[3]]\n")
                .unwrap()
                .expand()
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("model.d_hiden") && e.contains("did you mean"),
            "{e}"
        );
        let e = sweep("base = \"liu2022-toy\"\nsteps = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `steps`"), "{e}");
    }
}
