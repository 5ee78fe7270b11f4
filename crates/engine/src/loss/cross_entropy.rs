//! Cross-entropy of softmax logits: log sum_j exp(o_j) - o_label per sample, averaged over the
//! batch (PyTorch's `F.cross_entropy`).

use super::{Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind};
use crate::reader::{ConfigError, Reader};
use burn::prelude::*;
use burn::tensor::activation;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CrossEntropy {}

pub fn read(_: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    Ok(Arc::new(CrossEntropy {}))
}

impl crate::choice::Kind for CrossEntropy {
    fn kind(&self) -> &'static str {
        "cross-entropy"
    }
}

impl Loss for CrossEntropy {
    fn wants(&self) -> TargetKind {
        TargetKind::Class
    }

    fn fits(&self, head: Head) -> bool {
        head == Head::Logits
    }

    /// The mean multiplies by the reciprocal (see the squared error for why).
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1> {
        let [m, b, _] = out.dims();
        let TargetTensor::Classes(y) = targets else {
            unreachable!("cross-entropy trains towards classes")
        };
        let picked = activation::log_softmax(out, 2).gather(2, y.clone());
        picked
            .reshape([m, b])
            .sum_dim(1)
            .reshape([m])
            .mul_scalar(-1.0 / b as f64)
    }

    /// Computed with the maximum subtracted first, so large logits do not overflow.
    fn eval(&self, o: &[f64], target: Target<'_>) -> f64 {
        let Target::Class(label) = target else {
            unreachable!("cross-entropy scores a class")
        };
        let max = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + o.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
        lse - o[label]
    }
}
