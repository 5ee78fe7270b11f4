//! Hidden activations, and tensor operations the models need that burn's flex backend makes slow.
//!
//! flex evaluates `tanh` with scalar libm, one call per element: on the toy model that was more than
//! half of every training step. Here the f32 values come from rten-vecmath's vectorised kernel and,
//! under autodiff, the exact derivative is attached with the identity
//!   tanh(z) = c + (z - z_c) * d,   z_c = z, c = tanh(z), d = 1 - c^2 held constant,
//! whose value is c and whose derivative with respect to z is d. f64 tensors use burn's own tanh.

use crate::reader::{ConfigError, Reader};
use burn::prelude::*;
use burn::tensor::{DType, activation};
use rten_simd::SimdUnaryOp;

/// A hidden activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Tanh,
    Relu,
    Identity,
}

impl Activation {
    /// Reads `act_fn` from a model's table.
    pub fn read(r: &mut Reader, default: &str) -> Result<Activation, ConfigError> {
        Ok(
            match r
                .choice_or("act_fn", default, &["tanh", "relu", "identity"])?
                .as_str()
            {
                "relu" => Activation::Relu,
                "identity" => Activation::Identity,
                _ => Activation::Tanh,
            },
        )
    }

    /// Applies the activation to a tensor.
    pub fn apply(self, h: Tensor<3>) -> Tensor<3> {
        match self {
            Activation::Tanh => tanh(h),
            Activation::Relu => activation::relu(h),
            Activation::Identity => h,
        }
    }

    /// Applies the activation to one number (f64 reference paths: a teacher network).
    pub fn apply_f64(self, v: f64) -> f64 {
        match self {
            Activation::Tanh => v.tanh(),
            Activation::Relu => v.max(0.0),
            Activation::Identity => v,
        }
    }
}

/// Elementwise tanh with its gradient.
pub fn tanh<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    if z.dtype() != DType::F32 {
        return activation::tanh(z);
    }
    let shape = z.shape();
    let tracked = z.is_autodiff();
    let plain = z.device().inner();
    let zd = z.clone().inner().into_data();
    let x = zd.as_slice::<f32>().expect("an f32 tensor holds f32 data");
    let mut c = x.to_vec();
    rten_vecmath::Tanh {}.map_mut(&mut c);
    if !tracked {
        return Tensor::from_data(TensorData::new(c, shape), (&plain, DType::F32));
    }
    let d: Vec<f32> = c.iter().map(|t| 1.0 - t * t).collect();
    let zc = Tensor::<D>::from_data(zd, (&plain, DType::F32));
    let c = Tensor::<D>::from_data(TensorData::new(c, shape.clone()), (&plain, DType::F32));
    let d = Tensor::<D>::from_data(TensorData::new(d, shape), (&plain, DType::F32));
    (z - zc) * d + c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_libm_and_gradient_is_one_minus_tanh_squared() {
        let xs: Vec<f32> = (-60..=60)
            .map(|k| k as f32 * 0.15)
            .chain([1e-6, -3e-5, 20.0, -20.0])
            .collect();
        let n = xs.len();
        let ad = Device::flex().autodiff();
        let z = Tensor::<1>::from_data(TensorData::new(xs.clone(), [n]), (&ad, DType::F32))
            .require_grad();
        let y = tanh(z.clone());
        let vals: Vec<f32> = y.clone().inner().into_data().iter::<f32>().collect();
        for (x, v) in xs.iter().zip(&vals) {
            let exact = (*x as f64).tanh();
            assert!(
                (*v as f64 - exact).abs() <= 2e-7 * exact.abs().max(1e-3),
                "tanh({x}) = {v}, exact {exact}"
            );
        }
        // d/dz sum(tanh(z) * w) = w (1 - tanh^2)
        let w: Vec<f32> = (0..n).map(|k| 1.0 + k as f32 / n as f32).collect();
        let wt = Tensor::<1>::from_data(
            TensorData::new(w.clone(), [n]),
            (&ad.clone().inner(), DType::F32),
        );
        let grads = (y * wt).sum().backward();
        let g: Vec<f32> = z.grad(&grads).unwrap().into_data().iter::<f32>().collect();
        for k in 0..n {
            let t = (xs[k] as f64).tanh();
            let expect = w[k] as f64 * (1.0 - t * t);
            assert!(
                (g[k] as f64 - expect).abs() < 1e-6,
                "grad at {}: {} vs {expect}",
                xs[k],
                g[k]
            );
        }
        // plain tensors get values only
        let p = tanh(Tensor::<1>::from_data(
            TensorData::new(vec![0.5f32], [1]),
            (&Device::flex(), DType::F32),
        ));
        assert!((p.into_scalar::<f32>() - 0.5f32.tanh()).abs() < 1e-7);
    }
}
