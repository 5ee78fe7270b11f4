//! What the binary-operation tasks share (modular arithmetic, permutation groups; Power et al.
//! 2022): a table of equations `a op b = c` over operands 0..V-1 and answers 0..C-1, split at random
//! into train and validation, with optional label noise on the training split, and shown to a model
//! in one of several formats.
//!
//! Formats (`format`):
//! - `"a op b ="`: four tokens, vocabulary V + 2 (the operation token is V, `=` is V + 1), the answer
//!   predicted at the last position (Power et al.);
//! - `"eos a op b = c eos"`: Power et al.'s own framing, six input tokens `<eos> a op b = c`
//!   (vocabulary V + 3: op V, `=` V + 1, `<eos>` V + 2) whose next tokens `c <eos>` are predicted at
//!   the last two positions, with logits over the whole vocabulary; the answer is an input
//!   (teacher forcing, as in the authors' code), so a causal model is needed, and a sample counts
//!   as correct only when both the answer and the closing `<eos>` are;
//! - `"a b ="`: three tokens, vocabulary V + 1 (`=` is V) (Nanda et al.);
//! - `"a b"`: two tokens, vocabulary V, no operation token (Liu et al.'s encoder);
//! - `"one-hot"`: dense, the one-hot vectors of a and b concatenated (2V features: the "two-hot"
//!   input of Prieto et al.'s MLP);
//! - `"two-hot"`: dense, e_a + e_b (V features; a and b are indistinguishable, so only for
//!   commutative operations).

use super::addition::TrainSize;
use super::{Dataset, Features, Labels, Split};
use crate::files::ExtraTable;
use crate::reader::{ConfigError, Reader};
use crate::seed::{Stream, rng};
use crate::shape::{Input, IoShape, Output};
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;

/// How an equation is shown to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "a op b =")]
    OpEq,
    #[serde(rename = "eos a op b = c eos")]
    EosOpEq,
    #[serde(rename = "a b =")]
    Eq,
    #[serde(rename = "a b")]
    Pair,
    #[serde(rename = "one-hot")]
    OneHot,
    #[serde(rename = "two-hot")]
    TwoHot,
}

pub const FORMATS: &[&str] = &[
    "a op b =",
    "eos a op b = c eos",
    "a b =",
    "a b",
    "one-hot",
    "two-hot",
];

impl Format {
    pub fn read(r: &mut Reader, default: &str) -> Result<Format, ConfigError> {
        Ok(match r.choice_or("format", default, FORMATS)?.as_str() {
            "a op b =" => Format::OpEq,
            "eos a op b = c eos" => Format::EosOpEq,
            "a b =" => Format::Eq,
            "a b" => Format::Pair,
            "one-hot" => Format::OneHot,
            _ => Format::TwoHot,
        })
    }

    /// The model kind a config of this format gets when it names none.
    pub fn default_model(self) -> &'static str {
        match self {
            Format::OneHot | Format::TwoHot => "mlp",
            _ => "transformer",
        }
    }

    /// The model's view of equations over `v` operands with `c` answers.
    pub fn shape(self, v: usize, c: usize) -> IoShape {
        if self == Format::EosOpEq {
            // logits over the whole vocabulary, the closing <eos> among them
            return IoShape {
                input: Input::Tokens {
                    vocab: v + 3,
                    positions: 6,
                },
                output: Output::Classes((v + 3).max(c)),
                after: vec![v + 2],
            };
        }
        let input = match self {
            Format::EosOpEq => unreachable!("returned above"),
            Format::OpEq => Input::Tokens {
                vocab: v + 2,
                positions: 4,
            },
            Format::Eq => Input::Tokens {
                vocab: v + 1,
                positions: 3,
            },
            Format::Pair => Input::Tokens {
                vocab: v,
                positions: 2,
            },
            Format::OneHot => Input::Dense { dim: 2 * v },
            Format::TwoHot => Input::Dense { dim: v },
        };
        IoShape::new(input, Output::Classes(c))
    }
}

/// The split and noise settings every binary-operation task reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SplitSettings {
    /// Training-set size: a count or a fraction of all equations.
    pub train: TrainSize,
    /// Fraction of training labels replaced by a uniformly random wrong answer.
    pub noise: f64,
    pub format: Format,
    /// Draw the split (and the noisy labels) from this seed whatever the run's seed (Power et al.'s
    /// split is the same for every seed), instead of from the run's seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
}

impl SplitSettings {
    pub fn read(
        r: &mut Reader,
        total: usize,
        default_format: &str,
    ) -> Result<SplitSettings, ConfigError> {
        let train = TrainSize::read(r, "train", total, TrainSize::Fraction(0.5))?;
        let noise = r.f64_or(
            "noise",
            0.0,
            |x| (0.0..1.0).contains(&x),
            "a fraction in [0, 1)",
        )?;
        let format = Format::read(r, default_format)?;
        let split_seed = match r.peek("split_seed") {
            None => None,
            Some(_) => Some(r.u64_or("split_seed", 0)?),
        };
        if train.count(total) >= total {
            // a validation split is what grokking is measured on
            return Err(r.invalid(
                "train",
                &match train {
                    TrainSize::Count(n) => toml::Value::Integer(n as i64),
                    TrainSize::Fraction(f) => toml::Value::Float(f),
                },
                format!("fewer than all {total} equations, so that some are left to validate on"),
            ));
        }
        Ok(SplitSettings {
            train,
            noise,
            format,
            split_seed,
        })
    }
}

/// All equations of a task: operands (a, b) and answer c, in a fixed order.
pub struct Table {
    pub equations: Vec<(usize, usize, usize)>,
    /// Operands are 0..v.
    pub v: usize,
    /// Answers are 0..c.
    pub c: usize,
}

impl Table {
    /// The dataset of one seed: a random split (Stream::Split), noisy training labels
    /// (Stream::Data) and the inputs in `format`. Samples keep the table's order inside each split.
    pub fn dataset(&self, s: &SplitSettings, seed: u64) -> Dataset {
        let seed = s.split_seed.unwrap_or(seed);
        let n = self.equations.len();
        let n_train = s.train.count(n);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng(seed, Stream::Split));
        let mut train = vec![false; n];
        for &k in &order[..n_train] {
            train[k] = true;
        }
        let mut noise_rng = rng(seed, Stream::Data);
        let mut split = |keep: bool| {
            let sample: Vec<usize> = (0..n).filter(|&k| train[k] == keep).collect();
            let labels: Vec<usize> = sample
                .iter()
                .map(|&k| {
                    let c = self.equations[k].2;
                    if keep && s.noise > 0.0 && self.c > 1 && noise_rng.random::<f64>() < s.noise {
                        // a wrong answer, uniform over the other c - 1
                        let r = noise_rng.random_range(0..self.c - 1);
                        if r >= c { r + 1 } else { r }
                    } else {
                        c
                    }
                })
                .collect();
            Split {
                x: self.features(&sample, &labels, s.format),
                y: Labels::Classes(labels),
                sample,
            }
        };
        Dataset {
            train: split(true),
            val: split(false),
            teacher: None,
        }
    }

    /// The inputs of `sample` in `format`; `labels` (the answers trained on, noisy or not) are the
    /// fed-in answers of the `<eos>` format.
    fn features(&self, sample: &[usize], labels: &[usize], format: Format) -> Features {
        let v = self.v;
        let a: Vec<usize> = sample.iter().map(|&k| self.equations[k].0).collect();
        let b: Vec<usize> = sample.iter().map(|&k| self.equations[k].1).collect();
        let fill = |x: usize| vec![x; sample.len()];
        match format {
            Format::OpEq => Features::Tokens(vec![a, fill(v), b, fill(v + 1)]),
            Format::EosOpEq => Features::Tokens(vec![
                fill(v + 2),
                a,
                fill(v),
                b,
                fill(v + 1),
                labels.to_vec(),
            ]),
            Format::Eq => Features::Tokens(vec![a, b, fill(v)]),
            Format::Pair => Features::Tokens(vec![a, b]),
            Format::OneHot | Format::TwoHot => {
                let dim = if format == Format::OneHot { 2 * v } else { v };
                let off = if format == Format::OneHot { v } else { 0 };
                let mut x = vec![0.0; sample.len() * dim];
                for (k, (&ak, &bk)) in a.iter().zip(&b).enumerate() {
                    x[k * dim + ak] += 1.0;
                    x[k * dim + off + bk] += 1.0;
                }
                Features::Dense { x, dim }
            }
        }
    }

    /// `split.csv`: every equation with its operands, its answer, the label trained on (noisy or
    /// not) and whether it trains.
    pub fn split_table(&self, d: &Dataset) -> ExtraTable {
        let mut rows = Vec::new();
        for (s, is_train) in [(&d.train, 1.0), (&d.val, 0.0)] {
            for (k, &e) in s.sample.iter().enumerate() {
                let (a, b, c) = self.equations[e];
                let label = s.class(k).unwrap_or(c);
                rows.push(vec![
                    e as f64,
                    a as f64,
                    b as f64,
                    c as f64,
                    label as f64,
                    is_train,
                ]);
            }
        }
        rows.sort_by(|x, y| x[0].total_cmp(&y[0]));
        ExtraTable {
            file: "split.csv".into(),
            header: ["sample", "a", "b", "answer", "label", "train"]
                .map(String::from)
                .to_vec(),
            rows,
        }
    }
}

/// Bytes a dataset of `equations` equations over `v` operands holds in `format` (the memory check).
pub fn data_bytes(format: Format, v: usize, equations: usize) -> f64 {
    let per = match format {
        Format::OneHot => 2 * v + 2,
        Format::TwoHot => v + 2,
        Format::EosOpEq => 8,
        _ => 6,
    };
    equations as f64 * per as f64 * 8.0
}
