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
