//! Losses, each once: its training form on tensors (the per-member mean over a batch, which burn
//! differentiates) beside its evaluation form on host numbers (one sample, summed by the probes), in
//! one file per loss. A test checks that both forms give the same value.
//!
//! The loss is the `[loss]` table of a config (`kind = "mse"`); by default cross-entropy for a
//! model with a logits head and squared error otherwise.

pub mod cross_entropy;
pub mod mse;

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
];

/// The `[loss]` table of a config.
pub type LossConfig = Choice<dyn Loss>;

/// Targets of a batch for M members.
pub enum TargetTensor {
    /// Class labels [M, B, 1].
    Classes(Tensor<3, Int>),
    /// Real targets [M, B, D].
    Vectors(Tensor<3>),
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
