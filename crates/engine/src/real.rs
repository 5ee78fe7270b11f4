//! The two floating-point types parameters and computation come in (f32, f64), as one trait for the
//! host-side kernels: the optimiser's fused update, the models' fused forward/backward (`host`,
//! `Model::kernel`), and the losses' host gradients.

use crate::params::Buf;
use rten_simd::SimdUnaryOp;

/// f32 or f64.
pub trait Real:
    num_traits::Float
    + faer::traits::ComplexField
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Default
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    /// This type's values of a buffer of the same precision.
    fn values(b: &Buf) -> &[Self];
    fn values_mut(b: &mut Buf) -> &mut [Self];
    /// tanh in place (f32: rten-vecmath's vectorised kernel, the values the autodiff path's
    /// `ops::tanh` gives; f64: libm).
    fn tanh_in_place(x: &mut [Self]);
    /// exp in place (f32: rten-vecmath's vectorised kernel, which also stays fast where libm's
    /// expf falls into its slow path for results that underflow; f64: libm).
    fn exp_in_place(x: &mut [Self]);
    /// erf in place (f32: rten-vecmath's vectorised kernel; f64: libm).
    fn erf_in_place(x: &mut [Self]);
}

impl Real for f32 {
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn values(b: &Buf) -> &[f32] {
        match b {
            Buf::F32(v) => v,
            Buf::F64(_) => panic!("an f64 buffer read as f32"),
        }
    }
    fn values_mut(b: &mut Buf) -> &mut [f32] {
        match b {
            Buf::F32(v) => v,
            Buf::F64(_) => panic!("an f64 buffer read as f32"),
        }
    }
    fn tanh_in_place(x: &mut [f32]) {
        rten_vecmath::Tanh {}.map_mut(x);
    }
    fn exp_in_place(x: &mut [f32]) {
        rten_vecmath::Exp {}.map_mut(x);
    }
    fn erf_in_place(x: &mut [f32]) {
        rten_vecmath::Erf {}.map_mut(x);
    }
}

impl Real for f64 {
    fn of(x: f64) -> f64 {
        x
    }
    fn f64(self) -> f64 {
        self
    }
    fn values(b: &Buf) -> &[f64] {
        match b {
            Buf::F64(v) => v,
            Buf::F32(_) => panic!("an f32 buffer read as f64"),
        }
    }
    fn values_mut(b: &mut Buf) -> &mut [f64] {
        match b {
            Buf::F64(v) => v,
            Buf::F32(_) => panic!("an f32 buffer read as f64"),
        }
    }
    fn tanh_in_place(x: &mut [f64]) {
        for v in x {
            *v = v.tanh();
        }
    }
    fn exp_in_place(x: &mut [f64]) {
        // The libm crate's exp, compiled with this crate's target features: glibc's, called
        // between the AVX-512 products, ran at ~260 ns a call and held Prieto et al.'s float64
        // softmax run at 6.5 steps/s (76% of the time in exp); with this one it trains at 25.
        // Below ln(f64::MIN_POSITIVE) exp is subnormal or zero, and subnormals are slow to make
        // and to add: a softmax row's sum holds a term of 1, which no such term changes.
        const SUBNORMAL: f64 = -708.396_418_532_264_1;
        for v in x {
            *v = if *v < SUBNORMAL { 0.0 } else { libm::exp(*v) };
        }
    }
    fn erf_in_place(x: &mut [f64]) {
        for v in x {
            *v = libm::erf(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn f64_exp_is_libm_exp_down_to_the_normal_range_and_zero_below() {
        let mut x = [-800.0, -708.5, -708.3, -700.0, -1.5, 0.0, 2.0];
        let want: Vec<f64> = x
            .iter()
            .map(|&v: &f64| if v < -708.4 { 0.0 } else { libm::exp(v) })
            .collect();
        f64::exp_in_place(&mut x);
        assert_eq!(x.to_vec(), want);
        assert!(x[2] >= f64::MIN_POSITIVE && x[1] == 0.0);
        // a softmax row's sum is the same, bit for bit, with or without the subnormal terms
        let with: f64 = 1.0 + (-708.5f64).exp() + (-720.0f64).exp();
        assert_eq!(with, 1.0);
    }
}
