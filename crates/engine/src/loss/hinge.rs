//! Hinge loss for labels +-1 (the sparse-parity paper's): mean over the B D outputs of
//! max(0, 1 - y f); prediction sign(f).

use super::{HostTargets, Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind};
use crate::reader::{ConfigError, Reader};
use crate::real::Real;
use burn::prelude::*;
use burn::tensor::activation;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hinge {}

pub fn read(_: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    Ok(Arc::new(Hinge {}))
}

impl crate::choice::Kind for Hinge {
    fn kind(&self) -> &'static str {
        "hinge"
    }
}

impl Loss for Hinge {
    fn wants(&self) -> TargetKind {
        TargetKind::Vector
    }

    fn fits(&self, head: Head) -> bool {
        head == Head::Values
    }

    /// The mean multiplies by the reciprocal (see the squared error for why).
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1> {
        let [_, b, d] = out.dims();
        let TargetTensor::Vectors(y) = targets else {
            unreachable!("hinge trains towards +-1 labels")
        };
        activation::relu((y.clone() * out).neg().add_scalar(1.0))
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(1.0 / (b * d) as f64)
    }

    fn eval(&self, out: &[f64], target: Target<'_>) -> f64 {
        let Target::Vector(y) = target else {
            unreachable!("hinge compares with +-1 labels")
        };
        out.iter()
            .zip(y)
            .map(|(f, y)| (1.0 - y * f).max(0.0))
            .sum::<f64>()
            / y.len() as f64
    }

    fn host_f32(&self, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64 {
        host(out, targets, grad)
    }

    fn host_f64(&self, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64 {
        host(out, targets, grad)
    }
}

/// Mean of max(0, 1 - y f); gradient -y / n where the margin is violated (1 - y f > 0), else 0.
fn host<E: Real>(out: &[E], targets: HostTargets<'_>, grad: &mut [E]) -> f64 {
    let HostTargets::Vectors(y) = targets else {
        unreachable!("hinge trains towards +-1 labels")
    };
    let n = out.len() as f64;
    let inv = E::of(1.0 / n);
    let mut sum = 0.0;
    for ((g, &f), &y) in grad.iter_mut().zip(out).zip(y) {
        let y = E::of(y);
        let m = E::one() - y * f;
        if m > E::zero() {
            sum += m.f64();
            *g = -y * inv;
        } else {
            *g = E::zero();
        }
    }
    sum / n
}
