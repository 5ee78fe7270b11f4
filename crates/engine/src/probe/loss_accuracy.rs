//! `train_loss`, `val_loss`, `train_acc`, `val_acc`: the config's loss (its evaluation form) and
//! the correctness rule of the member's encoding, over each whole split. Every run has them.

use super::{EvalContext, Probe, ProbeSetup};
use crate::head::Encoding;
use crate::loss::Loss;
use crate::task::Split;

pub fn make(_: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    Some(Box::new(LossAccuracy))
}

pub struct LossAccuracy;

/// Mean loss and accuracy of outputs (row-major [samples, d_out]) on a split; NaN for an empty split.
pub fn loss_and_accuracy(
    loss: &dyn Loss,
    enc: &Encoding,
    split: &Split,
    out: &[f64],
    d_out: usize,
) -> (f64, f64) {
    let n = split.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut total = 0.0;
    let mut correct = 0usize;
    for k in 0..n {
        let (l, right) = enc.score(loss, &out[k * d_out..(k + 1) * d_out], split, k);
        total += l;
        correct += usize::from(right);
    }
    (total / n as f64, correct as f64 / n as f64)
}

/// The accuracy of `loss_and_accuracy` alone: no loss is computed (a crossing's replay measures
/// it after every step, where evaluating a float64 softmax loss cost 3x the training).
pub fn accuracy(enc: &Encoding, split: &Split, out: &[f64], d_out: usize) -> f64 {
    let n = split.len();
    if n == 0 {
        return f64::NAN;
    }
    let right = (0..n)
        .filter(|&k| enc.right(&out[k * d_out..(k + 1) * d_out], split, k))
        .count();
    right as f64 / n as f64
}

impl Probe for LossAccuracy {
    fn columns(&self) -> Vec<String> {
        ["train_loss", "val_loss", "train_acc", "val_acc"]
            .map(String::from)
            .to_vec()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let (tl, ta) = loss_and_accuracy(c.loss, c.encoding, &c.data.train, c.train_out, c.d_out);
        let (vl, va) = loss_and_accuracy(c.loss, c.encoding, &c.data.val, c.val_out, c.d_out);
        vec![tl, vl, ta, va]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::{Correctness, Head};
    use crate::loss::{cross_entropy::CrossEntropy, mse::Mse};
    use crate::shape::Output;
    use crate::task::{Features, Labels};

    fn split(y: Labels) -> Split {
        Split {
            sample: vec![0, 1],
            x: Features::Tokens(vec![vec![0, 0], vec![0, 1]]),
            y,
        }
    }

    #[test]
    fn threshold_accuracy_counts_mean_squared_error_below_eps() {
        let enc = Encoding::new(
            Head::Values,
            Output::Values(2),
            Some(Correctness::Threshold(0.01)),
            0,
        );
        let s = split(Labels::Dense {
            y: vec![0.0, 0.0, 1.0, 1.0],
            dim: 2,
        });
        // sample 0: errors 0.1, 0.1 -> mse 0.01, not below eps; sample 1: 0.05, 0 -> 0.00125 < eps
        let (loss, acc) = loss_and_accuracy(&Mse {}, &enc, &s, &[0.1, -0.1, 1.05, 1.0], 2);
        assert!((loss - (0.01 + 0.00125) / 2.0).abs() < 1e-12);
        assert_eq!(acc, 0.5);
        assert_eq!(accuracy(&enc, &s, &[0.1, -0.1, 1.05, 1.0], 2), acc);
    }

    #[test]
    fn regression_loss_and_nearest_target() {
        let mut enc = Encoding::new(Head::RandomTargets { dim: 2 }, Output::Classes(3), None, 0);
        enc.class_targets = vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let s = split(Labels::Classes(vec![0, 1]));
        // sample 0 (label 0, target (0,0)) predicts (0.1, 0): correct, squared error 0.01
        // sample 1 (label 1, target (1,0)) predicts (0, 0.9): nearest is class 2 -> wrong, error 1 + 0.81
        let (loss, acc) = loss_and_accuracy(&Mse {}, &enc, &s, &[0.1, 0.0, 0.0, 0.9], 2);
        assert!((loss - (0.01 + 1.81) / 2.0 / 2.0).abs() < 1e-12);
        assert_eq!(acc, 0.5);
        assert_eq!(accuracy(&enc, &s, &[0.1, 0.0, 0.0, 0.9], 2), acc);
    }

    #[test]
    fn classification_cross_entropy_and_argmax() {
        let enc = Encoding::new(Head::Logits, Output::Classes(3), None, 0);
        let s = split(Labels::Classes(vec![0, 1]));
        let out = [0.0, 0.0, 0.0, 2.0, 1.0, 0.0];
        let (loss, acc) = loss_and_accuracy(&CrossEntropy { f64: false }, &enc, &s, &out, 3);
        let ce0 = 3f64.ln();
        let ce1 = (2f64.exp() + 1f64.exp() + 1.0).ln() - 1.0;
        assert!((loss - (ce0 + ce1) / 2.0).abs() < 1e-12);
        // sample 0 ties and the first maximum (class 0) is right; sample 1 argmax 0 != 1
        assert_eq!(acc, 0.5);
        assert_eq!(accuracy(&enc, &s, &out, 3), acc);
    }
}
