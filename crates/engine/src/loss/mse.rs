//! Mean squared error: (1 / D) sum_j (o_j - t_j)^2 per sample, averaged over the batch. Trains the
//! regression head towards its class vectors and the teacher-student students towards their labels.

use super::{Loss, TargetTensor};
use crate::head::{Head, Target, TargetKind, squared_error};
use crate::reader::{ConfigError, Reader};
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
}
