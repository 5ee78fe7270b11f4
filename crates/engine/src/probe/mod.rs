//! Probes: metrics computed at evaluation steps. Each probe names its columns of `metrics.csv` and
//! computes them for one member from an [`EvalContext`]; a probe may also keep a table of its own
//! (the embeddings at every evaluation). New science is a new probe, not a new branch in the loop.

use crate::config::{Config, TaskConfig};
use crate::params::Params;
use crate::task::{Correctness, Dataset, Labels, Split};

pub mod linear;

/// What a probe sees at an evaluation step, for one member.
pub struct EvalContext<'a> {
    pub step: usize,
    pub member: usize,
    pub config: &'a Config,
    pub data: &'a Dataset,
    pub params: &'a Params,
    /// Model outputs on the train and validation splits, row-major [samples, d_out].
    pub train_out: &'a [f64],
    pub val_out: &'a [f64],
    pub d_out: usize,
}

/// An extra table a probe writes beside `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTable {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

pub trait Probe: Send {
    /// Column names added to `metrics.csv`.
    fn columns(&self) -> Vec<String>;
    /// Values for the columns, in order.
    fn compute(&mut self, ctx: &EvalContext<'_>) -> Vec<f64>;
    /// Tables kept across evaluations, for one member.
    fn tables(&self, _member: usize) -> Vec<ExtraTable> {
        Vec::new()
    }
}

/// The probes a config gets: loss and accuracy always, weight norms always, and the study's own.
pub fn probes_for(config: &Config, members: usize) -> Vec<Box<dyn Probe>> {
    let mut p: Vec<Box<dyn Probe>> =
        vec![Box::new(LossAccuracy), Box::new(WeightNorms::new(config))];
    match &config.task {
        TaskConfig::Addition(_) => p.push(Box::new(Representation::new(members))),
        TaskConfig::TeacherStudent(_) => {
            p.push(Box::new(linear::LinearTheoryProbe::new(config, members)))
        }
    }
    p
}

/// Mean loss and accuracy of outputs on a split, with the task's loss and correctness rule.
pub fn loss_and_accuracy(data: &Dataset, split: &Split, out: &[f64], d_out: usize) -> (f64, f64) {
    let n = split.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut loss = 0.0;
    let mut correct = 0usize;
    for k in 0..n {
        let o = &out[k * d_out..(k + 1) * d_out];
        match (data.correctness, &split.y) {
            (Correctness::Threshold(eps), Labels::Dense { y, dim }) => {
                let e = o
                    .iter()
                    .zip(&y[k * dim..(k + 1) * dim])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    / *dim as f64;
                loss += e;
                correct += usize::from(e < eps);
            }
            (Correctness::NearestTarget, _) => {
                let label = split.class(k);
                let t = |c: usize| &data.targets[c * data.d_target..(c + 1) * data.d_target];
                let dist = |c: usize| {
                    o.iter()
                        .zip(t(c))
                        .map(|(a, &b)| (a - b as f64).powi(2))
                        .sum::<f64>()
                };
                loss += dist(label) / d_out as f64;
                let best = (0..data.n_classes)
                    .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
                    .unwrap_or(0);
                correct += usize::from(best == label);
            }
            _ => {
                let label = split.class(k);
                let max = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = max + o.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
                loss += lse - o[label];
                // the first maximum, as PyTorch's argmax
                let best = (0..o.len()).fold(0, |b, k| if o[k] > o[b] { k } else { b });
                correct += usize::from(best == label);
            }
        }
    }
    (loss / n as f64, correct as f64 / n as f64)
}

/// train_loss, val_loss, train_acc, val_acc.
pub struct LossAccuracy;

impl Probe for LossAccuracy {
    fn columns(&self) -> Vec<String> {
        ["train_loss", "val_loss", "train_acc", "val_acc"]
            .map(String::from)
            .to_vec()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let (tl, ta) = loss_and_accuracy(c.data, &c.data.train, c.train_out, c.d_out);
        let (vl, va) = loss_and_accuracy(c.data, &c.data.val, c.val_out, c.d_out);
        vec![tl, vl, ta, va]
    }
}

/// L2 norm of all parameters (`wnorm`) and of each optimiser group (`wnorm_<group>`).
pub struct WeightNorms {
    groups: Vec<String>,
    /// Group index of each parameter, in spec order.
    owner: Vec<usize>,
}

impl WeightNorms {
    pub fn new(config: &Config) -> WeightNorms {
        let groups: Vec<String> = config.optim.keys().cloned().collect();
        let owner = crate::model::param_names(&config.model, &config.task)
            .iter()
            .map(|n| {
                config
                    .group_of(n)
                    .and_then(|g| groups.iter().position(|x| x == g))
                    .unwrap_or(0)
            })
            .collect();
        WeightNorms { groups, owner }
    }
}

impl Probe for WeightNorms {
    fn columns(&self) -> Vec<String> {
        let mut c = vec!["wnorm".to_string()];
        c.extend(self.groups.iter().map(|g| format!("wnorm_{g}")));
        c
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let mut per = vec![0.0; self.groups.len()];
        for (k, &g) in self.owner.iter().enumerate() {
            per[g] += c.params.norm_sq(k, c.member);
        }
        let mut out = vec![per.iter().sum::<f64>().sqrt()];
        out.extend(per.iter().map(|x| x.sqrt()));
        out
    }
}

/// The representation of the addition task: RQI, predicted accuracy Acc_hat (over all pairs and over
/// held-out pairs), and the embeddings themselves at every evaluation (`embeddings.csv`).
pub struct Representation {
    snapshots: Vec<Vec<Vec<f64>>>,
    d: usize,
}

impl Representation {
    pub fn new(members: usize) -> Representation {
        Representation {
            snapshots: vec![Vec::new(); members],
            d: 0,
        }
    }
}

/// One member's embeddings as p vectors of d.
pub fn embeddings(params: &Params, member: usize) -> Vec<Vec<f64>> {
    let k = params
        .index("embed.W_E")
        .expect("the toy model has embed.W_E");
    let d = params.specs[k].shape[1];
    params
        .member(k, member)
        .chunks(d)
        .map(<[f64]>::to_vec)
        .collect()
}

impl Probe for Representation {
    fn columns(&self) -> Vec<String> {
        ["rqi", "acc_hat", "acc_hat_val"].map(String::from).to_vec()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        use groklab_theory::addition as th;
        let e = embeddings(c.params, c.member);
        self.d = e[0].len();
        let delta = c.config.eval.rqi_delta;
        let r = th::rqi(&e, delta);
        let acc = th::predicted_accuracy(&e, &c.data.train_mask, delta);
        for (tok, v) in e.iter().enumerate() {
            let mut row = vec![c.step as f64, tok as f64];
            row.extend(v);
            self.snapshots[c.member].push(row);
        }
        vec![r, acc.all, acc.val]
    }
    fn tables(&self, member: usize) -> Vec<ExtraTable> {
        let mut header = vec!["step".to_string(), "token".to_string()];
        header.extend((0..self.d).map(|k| format!("e{k}")));
        vec![ExtraTable {
            file: "embeddings.csv".into(),
            header,
            rows: self.snapshots[member].clone(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Features;

    fn data(correctness: Correctness) -> Dataset {
        Dataset {
            train: Split {
                sample: vec![0, 1],
                x: Features::Tokens(vec![vec![0, 0], vec![0, 1]]),
                y: Labels::Classes(vec![0, 1]),
            },
            val: Split {
                sample: vec![],
                x: Features::Tokens(vec![vec![], vec![]]),
                y: Labels::Classes(vec![]),
            },
            n_classes: 3,
            targets: vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            d_target: 2,
            correctness,
            train_mask: vec![true, true, false],
            teacher: None,
        }
    }

    #[test]
    fn threshold_accuracy_counts_mean_squared_error_below_eps() {
        let mut d = data(Correctness::Threshold(0.01));
        d.train.y = Labels::Dense {
            y: vec![0.0, 0.0, 1.0, 1.0],
            dim: 2,
        };
        // sample 0: errors 0.1, 0.1 -> mse 0.01, not below eps; sample 1: 0.05, 0 -> 0.00125 < eps
        let (loss, acc) = loss_and_accuracy(&d, &d.train, &[0.1, -0.1, 1.05, 1.0], 2);
        assert!((loss - (0.01 + 0.00125) / 2.0).abs() < 1e-12);
        assert_eq!(acc, 0.5);
    }

    #[test]
    fn regression_loss_and_nearest_target() {
        let d = data(Correctness::NearestTarget);
        // sample 0 (label 0, target (0,0)) predicts (0.1, 0): correct, squared error 0.01
        // sample 1 (label 1, target (1,0)) predicts (0, 0.9): nearest is class 2 -> wrong, error 1 + 0.81
        let (loss, acc) = loss_and_accuracy(&d, &d.train, &[0.1, 0.0, 0.0, 0.9], 2);
        assert!((loss - (0.01 + 1.81) / 2.0 / 2.0).abs() < 1e-12);
        assert_eq!(acc, 0.5);
    }

    #[test]
    fn classification_cross_entropy_and_argmax() {
        let d = data(Correctness::Argmax);
        let out = [0.0, 0.0, 0.0, 2.0, 1.0, 0.0];
        let (loss, acc) = loss_and_accuracy(&d, &d.train, &out, 3);
        let ce0 = 3f64.ln();
        let ce1 = (2f64.exp() + 1f64.exp() + 1.0).ln() - 1.0;
        assert!((loss - (ce0 + ce1) / 2.0).abs() < 1e-12);
        // sample 0 ties and the first maximum (class 0) is right; sample 1 argmax 0 != 1
        assert_eq!(acc, 0.5);
    }
}
