//! LayerNorm over the last axis as PyTorch's (eps 1e-5, biased variance): the forward keeps x-hat
//! and 1 / std for the backward, dx = rstd (dxh - mean(dxh) - xhat mean(dxh xhat)) with dxh = dy w.

use crate::real::Real;

/// out = xhat w + b over `rows` rows of width d, keeping xhat and 1 / std.
#[allow(clippy::too_many_arguments)]
pub fn ln_forward<E: Real>(
    x: &[E],
    w: &[E],
    b: &[E],
    out: &mut [E],
    xhat: &mut [E],
    rstd: &mut [E],
    rows: usize,
    d: usize,
) {
    let inv_d = 1.0 / d as f64;
    for r in 0..rows {
        let xr = &x[r * d..(r + 1) * d];
        let mean = xr.iter().map(|v| v.f64()).sum::<f64>() * inv_d;
        let var = xr.iter().map(|v| (v.f64() - mean).powi(2)).sum::<f64>() * inv_d;
        let s = 1.0 / (var + 1e-5).sqrt();
        rstd[r] = E::of(s);
        let (me, se) = (E::of(mean), E::of(s));
        for e in 0..d {
            let h = (xr[e] - me) * se;
            xhat[r * d + e] = h;
            out[r * d + e] = h * w[e] + b[e];
        }
    }
}

/// LayerNorm's backward: dw and db accumulate; dx is written (or added to with `add`).
#[allow(clippy::too_many_arguments)]
pub fn ln_backward<E: Real>(
    dy: &[E],
    xhat: &[E],
    rstd: &[E],
    w: &[E],
    dw: &mut [E],
    db: &mut [E],
    dx: &mut [E],
    rows: usize,
    d: usize,
    add: bool,
) {
    let inv_d = E::of(1.0 / d as f64);
    for r in 0..rows {
        let (dyr, xr) = (&dy[r * d..(r + 1) * d], &xhat[r * d..(r + 1) * d]);
        let (mut s1, mut s2) = (E::zero(), E::zero());
        for e in 0..d {
            dw[e] += dyr[e] * xr[e];
            db[e] += dyr[e];
            let g = dyr[e] * w[e];
            s1 += g;
            s2 += g * xr[e];
        }
        let (m1, m2) = (s1 * inv_d, s2 * inv_d);
        for e in 0..d {
            let v = rstd[r] * (dyr[e] * w[e] - m1 - xr[e] * m2);
            if add {
                dx[r * d + e] += v;
            } else {
                dx[r * d + e] = v;
            }
        }
    }
}
