//! Elementwise passes over row-major [rows, width] buffers. Wide passes split over the cores;
//! every pass is compiled for the widest SIMD the CPU has (pulp), as the optimiser's update.
//! Splitting never changes a value: each element (and each column sum, row after row) is computed
//! in the same order on one core or two.

use crate::ops::Activation;
use crate::real::Real;
use rayon::prelude::*;

/// Passes over more elements than this split over the cores (below, a task costs more than it saves).
pub const PARALLEL_ELEMENTS: usize = 1 << 15;

/// Runs `f` over the rows of x [rows, width]: in blocks over the cores for wide passes, else in one
/// go; `f` gets the block's first row and the block.
pub fn par_rows<E: Real>(x: &mut [E], width: usize, f: impl Fn(usize, &mut [E]) + Sync) {
    if x.len() >= PARALLEL_ELEMENTS {
        let block = (PARALLEL_ELEMENTS / 4 / width.max(1)).max(1) * width;
        x.par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, c)| f(i * block / width.max(1), c));
    } else {
        f(0, x);
    }
}

/// Adds a bias row to every row of `x` ([rows, bias.len()]).
pub fn add_bias<E: Real>(x: &mut [E], bias: &[E]) {
    par_rows(x, bias.len(), |_, rows| {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for row in rows.chunks_mut(bias.len()) {
                    for (o, &v) in row.iter_mut().zip(bias) {
                        *o += v;
                    }
                }
            },
        )
    });
}

/// relu(x + bias) in place, every row.
pub fn add_bias_relu<E: Real>(x: &mut [E], bias: &[E]) {
    par_rows(x, bias.len(), |_, rows| {
        for row in rows.chunks_mut(bias.len()) {
            for (o, &v) in row.iter_mut().zip(bias) {
                *o = (*o + v).max(E::zero());
            }
        }
    });
}

/// The exact (erf) GELU in place, x = z Phi(z), keeping Phi(z) = (1 + erf(z / sqrt 2)) / 2 in
/// `cdf` and z in `pre` for [`gelu_backward`].
pub fn gelu<E: Real>(x: &mut [E], pre: &mut Vec<E>, cdf: &mut Vec<E>) {
    let n = x.len();
    pre.clear();
    pre.extend_from_slice(x);
    cdf.clear();
    cdf.extend(
        x.iter()
            .map(|&z| z * E::of(std::f64::consts::FRAC_1_SQRT_2)),
    );
    par_rows(&mut cdf[..n], 1, |_, c| E::erf_in_place(c));
    let half = E::of(0.5);
    for ((o, &z), c) in x.iter_mut().zip(pre.iter()).zip(cdf.iter_mut()) {
        *c = half * (E::one() + *c);
        *o = z * *c;
    }
}

/// g *= GELU'(z) = Phi(z) + z phi(z), from what [`gelu`] kept; `tmp` is scratch.
pub fn gelu_backward<E: Real>(g: &mut [E], pre: &[E], cdf: &[E], tmp: &mut Vec<E>) {
    let n = g.len();
    tmp.clear();
    tmp.extend(pre[..n].iter().map(|&z| -E::of(0.5) * z * z));
    par_rows(&mut tmp[..n], 1, |_, t| E::exp_in_place(t));
    let inv_sqrt_2pi =
        E::of(0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2);
    for (((g, &z), &c), &e) in g.iter_mut().zip(pre).zip(cdf).zip(tmp.iter()) {
        *g *= c + z * e * inv_sqrt_2pi;
    }
}

/// Adds the column sums of g ([rows, acc.len()]) to acc; wide passes split the columns over the
/// cores.
pub fn add_column_sums<E: Real>(acc: &mut [E], g: &[E]) {
    let w = acc.len();
    fn part<E: Real>(acc: &mut [E], g: &[E], w: usize, off: usize) {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for row in g.chunks(w) {
                    for (a, &v) in acc.iter_mut().zip(&row[off..]) {
                        *a += v;
                    }
                }
            },
        )
    }
    if g.len() >= PARALLEL_ELEMENTS && w >= 32 {
        let half = w / 2;
        let (lo, hi) = acc.split_at_mut(half);
        rayon::join(|| part(lo, g, w, 0), || part(hi, g, w, half));
    } else {
        part(acc, g, w, 0);
    }
}

/// acc += x, elementwise.
pub fn add_into<E: Real>(acc: &mut [E], x: &[E]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

/// A hidden activation in place.
pub fn activate<E: Real>(act: Activation, x: &mut [E]) {
    match act {
        Activation::Tanh => E::tanh_in_place(x),
        Activation::Relu => pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for v in x.iter_mut() {
                    *v = v.max(E::zero());
                }
            },
        ),
        Activation::Identity => {}
    }
}

/// g *= act'(z) from the activation's output h = act(z) (tanh' = 1 - h^2, relu' = [h > 0]),
/// branch-free so that it vectorises.
pub fn derivative<E: Real>(act: Activation, g: &mut [E], h: &[E]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || match act {
            Activation::Tanh => {
                for (g, &h) in g.iter_mut().zip(h) {
                    *g *= E::one() - h * h;
                }
            }
            Activation::Relu => {
                for (g, &h) in g.iter_mut().zip(h) {
                    *g = if h > E::zero() { *g } else { E::zero() };
                }
            }
            Activation::Identity => {}
        },
    )
}
