//! How a model's outputs meet a task's labels. A model says its [`Head`]; the task gives class
//! labels or real-valued labels and, for real values, its correctness rule. The [`Encoding`] of a
//! member joins them: the target each sample is trained towards, how a prediction counts as
//! correct, and (for Liu et al.'s regression head) the fixed random vector of every class, drawn
//! from the member's seed. Neither the task nor the model reads the other's config.

use crate::files::ExtraTable;
use crate::loss::Loss;
use crate::seed::{Stream, rng};
pub use crate::shape::Correctness;
use crate::shape::Output;
use crate::task::{Labels, Split};

/// What a model's output vector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// One logit per class.
    Logits,
    /// A vector of `dim` matched against a fixed random N(0, 1) vector per class (Liu et al.'s
    /// regression head).
    RandomTargets { dim: usize },
    /// The task's real-valued labels themselves.
    Values,
}

impl Head {
    /// Output dimension of a model with this head on labels of `output`'s shape.
    pub fn d_out(self, output: Output) -> usize {
        match (self, output) {
            (Head::RandomTargets { dim }, _) => dim,
            (_, Output::Classes(n)) | (_, Output::Values(n)) => n,
        }
    }

    /// Whether this head can be trained on labels of `output`'s shape.
    pub fn fits(self, output: Output) -> bool {
        matches!(
            (self, output),
            (Head::Logits, Output::Classes(_))
                | (Head::RandomTargets { .. }, Output::Classes(_))
                | (Head::Values, Output::Values(_))
        )
    }
}

/// The target of one sample, as a loss reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target<'a> {
    /// A class index (cross-entropy).
    Class(usize),
    /// A real vector (squared error).
    Vector(&'a [f64]),
}

/// Which kind of target a loss trains towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Class,
    Vector,
}

/// One member's join of head and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoding {
    pub head: Head,
    /// Classes of a class task (0 for real-valued labels).
    pub n_classes: usize,
    /// RandomTargets: row-major [n_classes, dim], drawn in f32 and held as f64 (exactly).
    pub class_targets: Vec<f64>,
    pub correctness: Correctness,
    /// Tokens predicted after the answer ([`crate::shape::IoShape::after`]): each sample's output is
    /// then 1 + after.len() rows of logits, trained towards the answer and these.
    pub after: Vec<usize>,
}

impl Encoding {
    /// Joins a head with labels of `output`'s shape; `rule` is the task's own rule for real-valued
    /// labels. Random class targets draw from the member's `Targets` stream.
    pub fn new(head: Head, output: Output, rule: Option<Correctness>, seed: u64) -> Encoding {
        let n_classes = match output {
            Output::Classes(n) => n,
            Output::Values(_) => 0,
        };
        let (class_targets, correctness) = match head {
            Head::RandomTargets { dim } => {
                let mut r = rng(seed, Stream::Targets);
                let v = (0..n_classes * dim)
                    .map(|_| crate::init::normal(&mut r) as f32 as f64)
                    .collect();
                (v, Correctness::NearestTarget)
            }
            Head::Logits => (Vec::new(), Correctness::Argmax),
            Head::Values => (Vec::new(), rule.unwrap_or(Correctness::Threshold(0.0))),
        };
        Encoding {
            head,
            n_classes,
            class_targets,
            correctness,
            after: Vec::new(),
        }
    }

    /// The encoding of a task that predicts `after` past the answer (its shape's `after`).
    pub fn with_after(mut self, after: Vec<usize>) -> Encoding {
        self.after = after;
        self
    }

    /// Rows of output per sample: the answer and the tokens after it.
    pub fn reads(&self) -> usize {
        1 + self.after.len()
    }

    /// The loss (evaluation form) and correctness of output `o` of sample `k`: with tokens after
    /// the answer, the mean over the sample's rows, correct when every row is (Power et al.'s
    /// accuracy, training.py:264-265).
    pub fn score(&self, loss: &dyn Loss, o: &[f64], split: &Split, k: usize) -> (f64, bool) {
        let first = &o[..o.len() / self.reads()];
        let mut total = loss.eval(first, self.target(split, k, loss.wants()));
        let mut right = self.correct(first, split, k);
        for (row, &t) in o.chunks(first.len()).skip(1).zip(&self.after) {
            total += loss.eval(row, Target::Class(t));
            right &= argmax(row) == t;
        }
        (total / self.reads() as f64, right)
    }

    /// Whether sample `k` is right, as [`Self::score`] judges it, without its loss.
    pub fn right(&self, o: &[f64], split: &Split, k: usize) -> bool {
        let first = &o[..o.len() / self.reads()];
        self.correct(first, split, k)
            && o.chunks(first.len())
                .skip(1)
                .zip(&self.after)
                .all(|(row, &t)| argmax(row) == t)
    }

    fn class_target(&self, c: usize) -> &[f64] {
        let Head::RandomTargets { dim } = self.head else {
            unreachable!("class targets exist for the random-target head only")
        };
        &self.class_targets[c * dim..(c + 1) * dim]
    }

    /// The training target of sample `k` of `split`, of the kind a loss wants. The kinds a head
    /// cannot give were refused when the config was read.
    pub fn target<'a>(&'a self, split: &'a Split, k: usize, kind: TargetKind) -> Target<'a> {
        match (&split.y, kind) {
            (Labels::Classes(c), TargetKind::Class) => Target::Class(c[k]),
            (Labels::Classes(c), TargetKind::Vector) => Target::Vector(self.class_target(c[k])),
            (Labels::Dense { y, dim }, _) => Target::Vector(&y[k * dim..(k + 1) * dim]),
        }
    }

    /// Whether output row `o` is a correct prediction for sample `k` of `split`.
    pub fn correct(&self, o: &[f64], split: &Split, k: usize) -> bool {
        match (self.correctness, &split.y) {
            (Correctness::Threshold(eps), Labels::Dense { y, dim }) => {
                squared_error(o, &y[k * dim..(k + 1) * dim]) / (*dim as f64) < eps
            }
            (Correctness::NearestTarget, Labels::Classes(c)) => {
                let dist = |cls: usize| squared_error(o, self.class_target(cls));
                let best = (0..self.n_classes)
                    .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
                    .unwrap_or(0);
                best == c[k]
            }
            (Correctness::Sign, Labels::Dense { y, dim }) => {
                let (o, t) = (o[0], y[k * dim]);
                (o > 0.0 && t > 0.0) || (o < 0.0 && t < 0.0)
            }
            (Correctness::Argmax, Labels::Classes(c)) => argmax(o) == c[k],
            _ => false,
        }
    }

    /// The random class targets as a table (`targets.csv`: class, t0, t1, ...); None for other heads.
    pub fn table(&self) -> Option<ExtraTable> {
        let Head::RandomTargets { dim } = self.head else {
            return None;
        };
        let mut header = vec!["class".to_string()];
        header.extend((0..dim).map(|k| format!("t{k}")));
        let rows = self
            .class_targets
            .chunks(dim)
            .enumerate()
            .map(|(c, t)| std::iter::once(c as f64).chain(t.iter().copied()).collect())
            .collect();
        Some(ExtraTable {
            file: "targets.csv".into(),
            header,
            rows,
        })
    }
}

/// The first largest entry's index (PyTorch's argmax).
fn argmax(o: &[f64]) -> usize {
    (0..o.len()).fold(0, |b, j| if o[j] > o[b] { j } else { b })
}

/// Sum of squared differences.
pub fn squared_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>()
}
