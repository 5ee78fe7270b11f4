//! StableMax cross-entropy (Prieto et al. 2025): softmax's exp replaced by
//! s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, which grows linearly instead of
//! exponentially, so probabilities stop collapsing to exactly one class in floating point.
//! Loss per sample: log sum_j s(o_j) - log s(o_label), averaged over the batch. s is increasing,
//! so the prediction is the argmax of the logits as for softmax.

use super::{HostTargets, Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind};
use crate::reader::{ConfigError, Reader};
use crate::real::Real;
use burn::prelude::*;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StableMax {
    /// `precision = "f64"`: burn's path casts the logits to float64 first (Prieto et al.'s
    /// utils.py:45). The host path (the fused kernels) computes the loss in f64 whatever it is.
    #[serde(
        rename = "precision",
        serialize_with = "super::cross_entropy::precision",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub f64: bool,
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    let f64 = r.choice_or("precision", "model", &["model", "f64"])? == "f64";
    Ok(Arc::new(StableMax { f64 }))
}

impl crate::choice::Kind for StableMax {
    fn kind(&self) -> &'static str {
        "stablemax"
    }
}

/// s(x) and s'(x).
fn s(x: f64) -> (f64, f64) {
    if x >= 0.0 {
        (x + 1.0, 1.0)
    } else {
        let r = 1.0 / (1.0 - x);
        (r, r * r)
    }
}

/// StableMax probabilities of one row of logits.
pub fn probabilities(o: &[f64]) -> Vec<f64> {
    let v: Vec<f64> = o.iter().map(|&x| s(x).0).collect();
    let z: f64 = v.iter().sum();
    v.into_iter().map(|x| x / z).collect()
}

impl Loss for StableMax {
    fn wants(&self) -> TargetKind {
        TargetKind::Class
    }

    fn fits(&self, head: Head) -> bool {
        head == Head::Logits
    }

    /// The negative branch is evaluated on min(x, 0), so it never divides by zero where it is not
    /// chosen (a NaN there would still reach the backward pass), and x = 0 takes the slope 1 of
    /// the positive branch.
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1> {
        let [m, b, _] = out.dims();
        let TargetTensor::Classes(y) = targets else {
            unreachable!("stablemax trains towards classes")
        };
        let out = if self.f64 {
            out.cast(burn::tensor::FloatDType::F64)
        } else {
            out
        };
        let neg = out.clone().lower_elem(0.0);
        let inv = (out.clone().clamp_max(0.0).neg() + 1.0).recip();
        let sx = (out + 1.0).mask_where(neg, inv);
        let log_z = sx.clone().sum_dim(2).log(); // [M, B, 1]
        let picked = sx.gather(2, y.clone()).log();
        (log_z - picked)
            .reshape([m, b])
            .sum_dim(1)
            .reshape([m])
            .mul_scalar(1.0 / b as f64)
    }

    fn eval(&self, o: &[f64], target: Target<'_>) -> f64 {
        let Target::Class(label) = target else {
            unreachable!("stablemax scores a class")
        };
        let z: f64 = o.iter().map(|&x| s(x).0).sum();
        z.ln() - s(o[label]).0.ln()
    }

    fn host_f32(&self, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64 {
        host(out, targets, grad)
    }

    fn host_f64(&self, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64 {
        host(out, targets, grad)
    }
}

/// Mean over the B rows; gradient (s'(o_j) / Z - [j = y] s'(o_y) / s(o_y)) / B, computed in f64.
fn host<E: Real>(out: &[E], targets: HostTargets<'_>, grad: &mut [E]) -> f64 {
    let HostTargets::Classes(y) = targets else {
        unreachable!("stablemax trains towards classes")
    };
    let b = y.len();
    let d = out.len() / b.max(1);
    let inv_b = 1.0 / b as f64;
    let mut sum = 0.0;
    for ((o, g), &label) in out.chunks(d).zip(grad.chunks_mut(d)).zip(y) {
        let z: f64 = o.iter().map(|x| s(x.f64()).0).sum();
        let (sy, dy) = s(o[label].f64());
        sum += z.ln() - sy.ln();
        for (gj, oj) in g.iter_mut().zip(o) {
            *gj = E::of(s(oj.f64()).1 / z * inv_b);
        }
        g[label] = E::of(g[label].f64() - dy / sy * inv_b);
    }
    sum * inv_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_one_and_are_monotone() {
        let o = [-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 1e6];
        let p = probabilities(&o);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
        // by hand: s = (1/31, 1/3, 2/3, 1, 1.7, 4, 1e6 + 1)
        let z = 1.0 / 31.0 + 1.0 / 3.0 + 2.0 / 3.0 + 1.0 + 1.7 + 4.0 + 1e6 + 1.0;
        assert!((p[4] - 1.7 / z).abs() < 1e-15);
        // no collapse where softmax would round to exactly one class
        assert!(p[0] > 0.0);
        // s is continuous at 0 with slope 1 on both sides
        assert_eq!(s(0.0), (1.0, 1.0));
        assert!((s(-1e-9).0 - 1.0).abs() < 2e-9 && (s(-1e-9).1 - 1.0).abs() < 3e-9);
    }
}
