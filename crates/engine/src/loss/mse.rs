//! Mean squared error: (1 / D) sum_j (o_j - t_j)^2 per sample, averaged over the batch. Trains the
//! regression head towards its class vectors and the teacher-student students towards their labels.

use super::{HostTargets, Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind, squared_error};
use crate::reader::{ConfigError, Reader};
use crate::real::Real;
use burn::prelude::*;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mse {}

pub fn read(_: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    Ok(Arc::new(Mse {}))
}

impl crate::choice::Kind for Mse {
    fn kind(&self) -> &'static str {
        "mse"
    }
}

impl Loss for Mse {
    fn wants(&self) -> TargetKind {
        TargetKind::Vector
    }

    fn fits(&self, head: Head) -> bool {
        matches!(head, Head::RandomTargets { .. } | Head::Values)
    }

    /// Means multiply by the reciprocal: burn-autodiff 0.22.1 differentiates `div_scalar` with the
    /// divisor rounded to f32 (a 4e-8 relative error in every f64 gradient), `mul_scalar` keeps it
    /// exact.
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1> {
        let [_, b, d] = out.dims();
        let TargetTensor::Vectors(t) = targets else {
            unreachable!("mse trains towards vectors")
        };
        (out - t.clone())
            .square()
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(1.0 / (b * d) as f64)
    }

    fn eval(&self, out: &[f64], target: Target<'_>) -> f64 {
        let Target::Vector(t) = target else {
            unreachable!("mse compares vectors")
        };
        squared_error(out, t) / t.len() as f64
    }

    fn host_f32(&self, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64 {
        host(out, targets, grad)
    }

    fn host_f64(&self, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64 {
        host(out, targets, grad)
    }
}

/// Mean of (o - t)^2 over the n = B D outputs; gradient 2 (o - t) / n.
fn host<E: Real>(out: &[E], targets: HostTargets<'_>, grad: &mut [E]) -> f64 {
    let HostTargets::Vectors(t) = targets else {
        unreachable!("mse trains towards vectors")
    };
    let n = out.len() as f64;
    let scale = E::of(2.0 / n);
    let mut sum = 0.0;
    for ((g, &o), &t) in grad.iter_mut().zip(out).zip(t) {
        let r = o - E::of(t);
        sum += r.f64() * r.f64();
        *g = scale * r;
    }
    sum / n
}
