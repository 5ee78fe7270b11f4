//! Matrix products on row-major slices, through faer. [`product`] is the one primitive; [`gemm`]
//! splits big products over the cores; `mm*` are the sequential shapes the MLP family uses (its
//! products stay on one thread: sweeps run one member per core).

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};

/// Products of more multiply-adds than this split over the cores (smaller ones run on the calling
/// thread, where a task costs more than it saves).
pub const PARALLEL_FLOPS: usize = 1 << 21;

/// c = a . b (+ c with `add`), with a [m, k] or its transpose stored [k, m] (`ta`), b [k, n] or
/// its transpose stored [n, k] (`tb`); all row-major.
#[allow(clippy::too_many_arguments)]
pub fn product<E: Real>(
    c: &mut [E],
    a: &[E],
    b: &[E],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    add: bool,
    par: Par,
) {
    let a = if ta {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    };
    let b = if tb {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n),
        if add { Accum::Add } else { Accum::Replace },
        a,
        b,
        E::one(),
        par,
    );
}

/// [`product`] of c [m, n] from a [m, k] and b [k, n] (transposes as there), split over the cores
/// when it has at least [`PARALLEL_FLOPS`] multiply-adds.
#[allow(clippy::too_many_arguments)]
pub fn gemm<E: Real>(
    c: &mut [E],
    a: &[E],
    b: &[E],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    add: bool,
) {
    let par = if m * k * n >= PARALLEL_FLOPS {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    product(c, a, b, (m, k, n), ta, tb, add, par);
}

/// c (m x n) = a (m x k) . b (k x n), on this thread.
pub fn mm<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (m, k, n), false, false, false, Par::Seq);
}

/// c (k x n) = a^T . b with a (m x k), b (m x n), on this thread.
pub fn mm_tn<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (k, m, n), true, false, false, Par::Seq);
}

/// c (k x n) += a^T . b with a (m x k), b (m x n), on this thread.
pub fn mm_tn_add<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (k, m, n), true, false, true, Par::Seq);
}

/// c (m x k) = a . b^T with a (m x n), b (k x n), on this thread.
pub fn mm_nt<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, n: usize, k: usize) {
    product(c, a, b, (m, n, k), false, true, false, Par::Seq);
}
