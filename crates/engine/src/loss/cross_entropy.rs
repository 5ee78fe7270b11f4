//! Cross-entropy of softmax logits: log sum_j exp(o_j) - o_label per sample, averaged over the
//! batch (PyTorch's `F.cross_entropy`).

use super::{HostTargets, Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind};
use crate::reader::{ConfigError, Reader};
use crate::real::Real;
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

    fn host_f32(&self, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64 {
        host(out, targets, grad)
    }

    fn host_f64(&self, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64 {
        host(out, targets, grad)
    }
}

/// Mean over the B rows of log sum exp(o) - o_y; gradient (softmax(o) - onehot(y)) / B.
fn host<E: Real>(out: &[E], targets: HostTargets<'_>, grad: &mut [E]) -> f64 {
    let HostTargets::Classes(y) = targets else {
        unreachable!("cross-entropy trains towards classes")
    };
    let b = y.len();
    let d = out.len() / b.max(1);
    let inv_b = E::of(1.0 / b as f64);
    let mut sum = 0.0;
    for ((o, g), &label) in out.chunks(d).zip(grad.chunks_mut(d)).zip(y) {
        let max = o.iter().copied().fold(E::neg_infinity(), E::max);
        for (gj, &oj) in g.iter_mut().zip(o) {
            *gj = oj - max;
        }
        E::exp_in_place(g);
        let z = g.iter().fold(E::zero(), |a, &b| a + b);
        sum += (max + z.ln() - o[label]).f64();
        for gj in g.iter_mut() {
            *gj = *gj / z * inv_b;
        }
        g[label] -= inv_b;
    }
    sum / b as f64
}
