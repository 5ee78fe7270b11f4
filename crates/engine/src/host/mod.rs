//! Host numerics that every model's kernel shares, each written once: matrix products
//! ([`product`]), elementwise passes over rows (bias, column sums, activations: [`elementwise`]) and
//! LayerNorm's forward and backward ([`layer_norm`]). Buffers are row-major slices in one member's
//! precision `E` ([`crate::real::Real`]); nothing here knows a model or a parameter name.

pub mod elementwise;
pub mod layer_norm;
pub mod product;

pub use elementwise::{
    activate, add_bias, add_bias_relu, add_column_sums, add_into, derivative, gelu, gelu_backward,
    par_rows,
};
pub use layer_norm::{ln_backward, ln_forward};
pub use product::{gemm, mm, mm_nt, mm_tn, mm_tn_add, product};

use crate::params::Params;
use crate::real::Real;

/// Grows a buffer to at least `n` values. Buffers only grow: an evaluation over a whole split must
/// not cost the next minibatch step a reallocation or a fill.
pub fn grow<E: Real>(v: &mut Vec<E>, n: usize) {
    if v.len() < n {
        v.resize(n, E::zero());
    }
}

/// Member m's values of parameter k.
pub fn value<E: Real>(params: &Params, k: usize, m: usize) -> &[E] {
    let n = params.specs[k].numel();
    &E::values(&params.values[k])[m * n..(m + 1) * n]
}

/// Two distinct buffers of `bufs` at once (a < b), such as a LayerNorm's weight and bias gradients.
pub fn two<E>(bufs: &mut [Vec<E>], a: usize, b: usize) -> (&mut [E], &mut [E]) {
    assert!(a < b, "the first buffer comes before the second");
    let (lo, hi) = bufs.split_at_mut(b);
    (&mut lo[a], &mut hi[0])
}
