//! `softmax_collapse`: the fraction of training samples whose softmax has collapsed in float32
//! (Prieto et al. 2025): every logit but the largest is so far below it that exp(o_j - max)
//! rounds away, the sum of exponentials equals the largest one, and the predicted probability is
//! exactly 1 — from there the cross-entropy gradient of those samples is exactly zero. For models
//! with a logits head on the binary-operation tasks.

use super::{EvalContext, Probe, ProbeSetup};
use crate::head::Head;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let binary_op = s.config.task.operands().is_some();
    (binary_op && s.model.head() == Head::Logits && s.model.d_out() > 1)
        .then(|| Box::new(Collapse) as _)
}

pub struct Collapse;

/// Whether the float32 softmax of `o` puts probability exactly 1 on one class.
pub fn collapsed(o: &[f64]) -> bool {
    let max = o
        .iter()
        .map(|&x| x as f32)
        .fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = o.iter().map(|&x| (x as f32 - max).exp()).sum();
    sum == 1.0
}

impl Probe for Collapse {
    fn columns(&self) -> Vec<String> {
        vec!["softmax_collapse".into()]
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let n = c.data.train.len();
        if n == 0 || c.d_out == 0 {
            return vec![f64::NAN];
        }
        let count = c
            .train_out
            .chunks(c.d_out)
            .take(n)
            // the answer's row (a sample may also hold rows for the tokens after it)
            .filter(|o| collapsed(&o[..c.d_out / c.encoding.reads()]))
            .count();
        vec![count as f64 / n as f64]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_is_exact_in_float32() {
        assert!(!collapsed(&[1.0, 2.0, 3.0]));
        // exp(-20) = 2e-9 is below half of f32's epsilon at 1 (6e-8): it rounds away
        assert!(collapsed(&[0.0, 20.0, -5.0]));
        // exp(-15) = 3e-7 still counts
        assert!(!collapsed(&[0.0, 15.0]));
    }
}
