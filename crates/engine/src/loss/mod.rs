//! Losses, each once: its training form on tensors (the per-member mean over a batch, which burn
//! differentiates), its training form on host numbers with its gradient written out (the fused
//! path), and its evaluation form on host numbers (one sample, summed by the probes), side by side in
//! one file per loss. Tests check that the three agree and that the host gradient is burn's.
//!
//! The loss is the `[loss]` table of a config (`kind = "mse"`, `"cross-entropy"`, `"hinge"`,
//! `"logistic"`, `"stablemax"`); by default cross-entropy for a model with a logits head and squared error
//! otherwise.

pub mod cross_entropy;
pub mod hinge;
pub mod logistic;
pub mod mse;
pub mod stablemax;

use crate::choice::{Choice, Entry, Kind};
use crate::head::{Head, Target, TargetKind};
use burn::prelude::*;

/// Every loss, by kind (one line each).
pub const LOSSES: &[Entry<dyn Loss>] = &[
    Entry {
        kind: "mse",
        read: mse::read,
    },
    Entry {
        kind: "cross-entropy",
        read: cross_entropy::read,
    },
    Entry {
        kind: "hinge",
        read: hinge::read,
    },
    Entry {
        kind: "logistic",
        read: logistic::read,
    },
    Entry {
        kind: "stablemax",
        read: stablemax::read,
    },
];

/// The `[loss]` table of a config.
pub type LossConfig = Choice<dyn Loss>;

/// Targets of one member's batch on the host (the fused path).
#[derive(Debug, Clone, Copy)]
pub enum HostTargets<'a> {
    /// Class labels [B].
    Classes(&'a [usize]),
    /// Real targets, row-major [B, D].
    Vectors(&'a [f64]),
}

/// Targets of a batch for M members.
pub enum TargetTensor {
    /// Class labels [M, B, 1].
    Classes(Tensor<3, Int>),
    /// Real targets [M, B, D].
    Vectors(Tensor<3>),
}

impl TargetTensor {
    /// The output [M, B, r C] as [M, B r, C] when the class targets hold r rows per sample (tokens
    /// predicted after the answer, [`crate::shape::IoShape::after`]): a loss then averages over
    /// every row, as the authors' mean over the batch and the answer positions does.
    pub fn rows(&self, out: Tensor<3>) -> Tensor<3> {
        let TargetTensor::Classes(y) = self else {
            return out;
        };
        let ([m, b, w], rows) = (out.dims(), y.dims()[1]);
        if rows == b {
            out
        } else {
            out.reshape([m, rows, w * b / rows])
        }
    }
}

pub trait Loss: Kind {
    /// The kind of target it trains towards.
    fn wants(&self) -> TargetKind;
    /// Whether it applies to a model with this head.
    fn fits(&self, head: Head) -> bool;
    /// Training form: the mean loss of each member [M] over outputs [M, B, D].
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1>;
    /// Evaluation form: the loss of one sample's output row.
    fn eval(&self, out: &[f64], target: Target<'_>) -> f64;
    /// Host training form: the mean loss of one member's outputs `out` [B, D] (row-major), and its
    /// gradient with respect to them written into `grad`.
    fn host_f32(&self, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64;
    fn host_f64(&self, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64;
}

/// The default loss kind for a head.
pub fn default_kind(head: Head) -> &'static str {
    match head {
        Head::Logits => "cross-entropy",
        Head::RandomTargets { .. } | Head::Values => "mse",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::DType;

    /// Both forms of every loss on the same numbers, in f64: the training form's member means
    /// equal the evaluation form averaged over samples.
    #[test]
    fn training_and_evaluation_forms_agree() {
        let (m, b, d) = (2, 3, 4);
        let out: Vec<f64> = (0..m * b * d)
            .map(|k| ((k * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let vectors: Vec<f64> = (0..m * b * d)
            .map(|k| ((k * 13 % 7) as f64 - 3.0) / 2.0)
            .collect();
        let classes: Vec<usize> = (0..m * b).map(|k| (k * 5) % d).collect();
        let dev = Device::flex();
        let t = |v: &[f64]| {
            Tensor::<3>::from_data(TensorData::new(v.to_vec(), [m, b, d]), (&dev, DType::F64))
        };
        for entry in LOSSES {
            let mut r = crate::reader::Reader::new("loss", toml::Table::new());
            let loss = (entry.read)(&mut r).unwrap();
            let targets = match loss.wants() {
                TargetKind::Vector => TargetTensor::Vectors(t(&vectors)),
                TargetKind::Class => {
                    let c: Vec<i32> = classes.iter().map(|&c| c as i32).collect();
                    TargetTensor::Classes(Tensor::from_data(TensorData::new(c, [m, b, 1]), &dev))
                }
            };
            let trained: Vec<f64> = loss
                .train(t(&out), &targets)
                .into_data()
                .iter::<f64>()
                .collect();
            for (member, &got) in trained.iter().enumerate() {
                let rows = member * b..(member + 1) * b;
                let host_targets = match loss.wants() {
                    TargetKind::Vector => {
                        HostTargets::Vectors(&vectors[rows.start * d..rows.end * d])
                    }
                    TargetKind::Class => HostTargets::Classes(&classes[rows.clone()]),
                };
                let mut grad = vec![0.0; b * d];
                let host =
                    loss.host_f64(&out[rows.start * d..rows.end * d], host_targets, &mut grad);
                assert!(
                    (host - got).abs() <= 1e-12 * got.abs().max(1.0),
                    "{}: host form {host} vs training form {got}",
                    entry.kind
                );
                let mean = (0..b)
                    .map(|k| {
                        let row = member * b + k;
                        let o = &out[row * d..(row + 1) * d];
                        let target = match loss.wants() {
                            TargetKind::Vector => Target::Vector(&vectors[row * d..(row + 1) * d]),
                            TargetKind::Class => Target::Class(classes[row]),
                        };
                        loss.eval(o, target)
                    })
                    .sum::<f64>()
                    / b as f64;
                assert!(
                    (got - mean).abs() <= 1e-12 * mean.abs().max(1.0),
                    "{}: training form {} vs evaluation form {mean}",
                    entry.kind,
                    got
                );
            }
        }
    }
}

#[cfg(test)]
mod gradient_tests {
    use super::*;
    use burn::tensor::DType;

    /// The host gradient of every loss equals burn's autodiff gradient of its tensor form (f64).
    #[test]
    fn host_gradients_are_autodiffs() {
        let (b, d) = (5, 4);
        let out: Vec<f64> = (0..b * d)
            .map(|k| ((k * 7 % 9) as f64 - 4.0) / 3.0)
            .collect();
        let vectors: Vec<f64> = (0..b * d)
            .map(|k| ((k * 5 % 7) as f64 - 3.0) / 2.0)
            .collect();
        let classes: Vec<usize> = (0..b).map(|k| (k * 3) % d).collect();
        let ad = Device::flex().autodiff();
        for entry in LOSSES {
            let mut r = crate::reader::Reader::new("loss", toml::Table::new());
            let loss = (entry.read)(&mut r).unwrap();
            let x =
                Tensor::<3>::from_data(TensorData::new(out.clone(), [1, b, d]), (&ad, DType::F64))
                    .require_grad();
            let (targets, host) = match loss.wants() {
                TargetKind::Vector => (
                    TargetTensor::Vectors(Tensor::from_data(
                        TensorData::new(vectors.clone(), [1, b, d]),
                        (&ad, DType::F64),
                    )),
                    HostTargets::Vectors(&vectors),
                ),
                TargetKind::Class => {
                    let c: Vec<i32> = classes.iter().map(|&c| c as i32).collect();
                    (
                        TargetTensor::Classes(Tensor::from_data(
                            TensorData::new(c, [1, b, 1]),
                            &ad,
                        )),
                        HostTargets::Classes(&classes),
                    )
                }
            };
            let grads = loss.train(x.clone(), &targets).sum().backward();
            let want: Vec<f64> = x.grad(&grads).unwrap().into_data().iter::<f64>().collect();
            let mut got = vec![0.0; b * d];
            loss.host_f64(&out, host, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-14,
                    "{}: host {g} vs autodiff {w}",
                    entry.kind
                );
            }
            let out32: Vec<f32> = out.iter().map(|&v| v as f32).collect();
            let mut got32 = vec![0.0f32; b * d];
            loss.host_f32(&out32, host, &mut got32);
            for (g, w) in got32.iter().zip(&want) {
                assert!(
                    (*g as f64 - w).abs() <= 1e-6,
                    "{} f32: host {g} vs {w}",
                    entry.kind
                );
            }
        }
    }
}
