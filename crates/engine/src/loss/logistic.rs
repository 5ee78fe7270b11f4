//! Logistic loss for labels +-1: mean over the B D outputs of log(1 + exp(-y f)) (binary cross-entropy
//! on the logit f); prediction sign(f).

use super::{HostTargets, Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind};
use crate::reader::{ConfigError, Reader};
use crate::real::Real;
use burn::prelude::*;
use burn::tensor::activation;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Logistic {}

pub fn read(_: &mut Reader) -> Result<Arc<dyn Loss>, ConfigError> {
    Ok(Arc::new(Logistic {}))
}

impl crate::choice::Kind for Logistic {
    fn kind(&self) -> &'static str {
        "logistic"
    }
}

/// log(1 + exp(z)) without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

impl Loss for Logistic {
    fn wants(&self) -> TargetKind {
        TargetKind::Vector
    }

    fn fits(&self, head: Head) -> bool {
        head == Head::Values
    }

    /// -log sigmoid(y f); the mean multiplies by the reciprocal (see the squared error for why).
    fn train(&self, out: Tensor<3>, targets: &TargetTensor) -> Tensor<1> {
        let [_, b, d] = out.dims();
        let TargetTensor::Vectors(y) = targets else {
            unreachable!("logistic trains towards +-1 labels")
        };
        activation::log_sigmoid(y.clone() * out)
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(-1.0 / (b * d) as f64)
    }

    fn eval(&self, out: &[f64], target: Target<'_>) -> f64 {
        let Target::Vector(y) = target else {
            unreachable!("logistic compares with +-1 labels")
        };
        out.iter()
            .zip(y)
            .map(|(f, y)| softplus(-y * f))
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

/// Mean of softplus(-y f); gradient -y sigmoid(-y f) / n.
fn host<E: Real>(out: &[E], targets: HostTargets<'_>, grad: &mut [E]) -> f64 {
    let HostTargets::Vectors(y) = targets else {
        unreachable!("logistic trains towards +-1 labels")
    };
    let n = out.len() as f64;
    let mut sum = 0.0;
    for ((g, &f), &y) in grad.iter_mut().zip(out).zip(y) {
        let z = -y * f.f64();
        sum += softplus(z);
        let sigma = if z >= 0.0 {
            1.0 / (1.0 + (-z).exp())
        } else {
            let e = z.exp();
            e / (1.0 + e)
        };
        *g = E::of(-y * sigma / n);
    }
    sum / n
}
