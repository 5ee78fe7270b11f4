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
pub struct CrossEntropy {
    /// `precision = "f64"`: the log-softmax and its gradient in float64 whatever the model's
    /// dtype (Prieto et al.'s precision comparison); absent, in the model's dtype.
    #[serde(
        rename = "precision",
        serialize_with = "precision",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub f64: bool,
}

pub(super) fn precision<S: serde::Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("f64")
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    let f64 = r.choice_or("precision", "model", &["model", "f64"])? == "f64";
    Ok(Arc::new(CrossEntropy { f64 }))
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
        let out = if self.f64 {
            out.cast(burn::tensor::FloatDType::F64)
        } else {
            out
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
        if !self.f64 {
            return host(out, targets, grad);
        }
        // float64 copies of the logits and the gradient, kept per thread: a training step
        // allocates nothing
        thread_local! {
            static WIDE: std::cell::RefCell<(Vec<f64>, Vec<f64>)> = Default::default();
        }
        WIDE.with_borrow_mut(|(wide, g)| {
            wide.clear();
            wide.extend(out.iter().map(|&x| x as f64));
            g.resize(wide.len(), 0.0);
            let loss = host(wide, targets, g);
            for (o, v) in grad.iter_mut().zip(g.iter()) {
                *o = *v as f32;
            }
            loss
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_agrees_on_moderate_logits_and_stays_finite_where_f32_underflows() {
        let (f32_ce, f64_ce) = (CrossEntropy { f64: false }, CrossEntropy { f64: true });
        let moderate = [0.3f32, -1.2, 2.0, 0.5];
        let (mut g1, mut g2) = ([0f32; 4], [0f32; 4]);
        let y = [2usize];
        let a = f32_ce.host_f32(&moderate, HostTargets::Classes(&y), &mut g1);
        let b = f64_ce.host_f32(&moderate, HostTargets::Classes(&y), &mut g2);
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        for (x, z) in g1.iter().zip(&g2) {
            assert!((x - z).abs() < 1e-6);
        }
        // a margin of 20: 1 + e^-20 is 1 in f32 (the loss and the correct class's gradient are
        // exactly 0: softmax collapse), not in f64
        let confident = [0.0f32, -20.0];
        let y = [0usize];
        let (mut g1, mut g2) = ([0f32; 2], [0f32; 2]);
        let a = f32_ce.host_f32(&confident, HostTargets::Classes(&y), &mut g1);
        let b = f64_ce.host_f32(&confident, HostTargets::Classes(&y), &mut g2);
        let e = (-20f64).exp();
        assert_eq!((a, g1[0]), (0.0, 0.0));
        assert!(b.is_finite() && (b - e).abs() < 1e-6 * e, "{b}");
        assert!((g2[0] as f64 + e).abs() < 1e-6 * e, "{g2:?}");
    }
}
