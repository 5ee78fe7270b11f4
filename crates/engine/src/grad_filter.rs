//! Gradient filters applied between the backward pass and the optimiser, per group and member:
//! - Grokfast (Lee et al. 2024): a low-pass filter of the gradient history added back,
//!   `g <- g + lambda * lowpass(g)`. EMA: `mu <- alpha mu + (1 - alpha) g`, with mu = g at the first
//!   step (as the authors' `gradfilter_ema`); MA: the mean of the last `window` gradients, applied
//!   only once the window is full (their `gradfilter_ma` with `warmup = True`).
//! - OrthoGrad (Prieto et al. 2025, the perpendicular gradient): per parameter tensor,
//!   `g_perp = g - (w.g / w.w) w`, rescaled to the norm of g. It runs after Grokfast.

use crate::reader::{ConfigError, Reader};
use crate::real::Real;
use serde::Serialize;

/// Grokfast's low-pass filter of one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "grokfast", rename_all = "kebab-case")]
pub enum Grokfast {
    None,
    Ema {
        #[serde(rename = "grokfast_alpha")]
        alpha: f64,
        #[serde(rename = "grokfast_lambda")]
        lambda: f64,
    },
    Ma {
        #[serde(rename = "grokfast_window")]
        window: usize,
        #[serde(rename = "grokfast_lambda")]
        lambda: f64,
    },
}

impl Grokfast {
    /// Reads `grokfast` (`none`, `ema`, `ma`) and its settings `grokfast_alpha` (0.98),
    /// `grokfast_window` (100) and `grokfast_lambda` (2 for ema, 5 for ma: the paper's).
    pub fn read(r: &mut Reader) -> Result<Grokfast, ConfigError> {
        let kind = r.choice_or("grokfast", "none", &["none", "ema", "ma"])?;
        let lambda_default = if kind == "ma" { 5.0 } else { 2.0 };
        let unit = |x: f64| (0.0..1.0).contains(&x);
        Ok(match kind.as_str() {
            "ema" => Grokfast::Ema {
                alpha: r.f64_or("grokfast_alpha", 0.98, unit, "a number in [0, 1)")?,
                lambda: r.f64_or(
                    "grokfast_lambda",
                    lambda_default,
                    |x| x >= 0.0,
                    "a number >= 0",
                )?,
            },
            "ma" => Grokfast::Ma {
                window: r.usize_or("grokfast_window", 100, 1, 100_000)?,
                lambda: r.f64_or(
                    "grokfast_lambda",
                    lambda_default,
                    |x| x >= 0.0,
                    "a number >= 0",
                )?,
            },
            _ => Grokfast::None,
        })
    }

    /// Floats of filter state per parameter float (the memory check).
    pub fn state_floats(self) -> usize {
        match self {
            Grokfast::None => 0,
            Grokfast::Ema { .. } => 1,
            Grokfast::Ma { window, .. } => window,
        }
    }
}

/// The filter state of one member's slice of one parameter.
#[derive(Debug, Clone, Default)]
pub struct FilterState {
    /// EMA: the running average. MA: the sum of the gradients in the window.
    avg: Vec<f64>,
    /// MA: the window's gradients, oldest first, as a ring of `window` slices.
    ring: Vec<f64>,
    /// Gradients seen so far.
    seen: usize,
}

impl FilterState {
    /// Into a run's saved state, under `name`.
    pub fn save(&self, s: &mut crate::snapshot::Snapshot, name: &str) {
        s.put(format!("{name}.avg"), self.avg.clone());
        s.put(format!("{name}.ring"), self.ring.clone());
        s.set(format!("{name}.seen"), self.seen);
    }

    pub fn load(s: &mut crate::snapshot::Snapshot, name: &str) -> Result<FilterState, String> {
        Ok(FilterState {
            avg: s.take(&format!("{name}.avg"))?,
            ring: s.take(&format!("{name}.ring"))?,
            seen: s.get(&format!("{name}.seen"))?,
        })
    }
}

/// Filters `g` in place with `filter`, keeping its history in `state`.
pub fn grokfast<E: Real>(filter: Grokfast, state: &mut FilterState, g: &mut [E]) {
    let n = g.len();
    match filter {
        Grokfast::None => {}
        Grokfast::Ema { alpha, lambda } => {
            if state.seen == 0 {
                state.avg = g.iter().map(|x| x.f64()).collect();
            } else {
                for (a, x) in state.avg.iter_mut().zip(g.iter()) {
                    *a = alpha * *a + (1.0 - alpha) * x.f64();
                }
            }
            state.seen += 1;
            for (x, a) in g.iter_mut().zip(&state.avg) {
                *x = E::of(x.f64() + lambda * a);
            }
        }
        Grokfast::Ma { window, lambda } => {
            if state.ring.is_empty() {
                state.ring = vec![0.0; window * n];
                state.avg = vec![0.0; n];
            }
            let slot = state.seen % window;
            let old = &mut state.ring[slot * n..(slot + 1) * n];
            for ((o, s), x) in old.iter_mut().zip(state.avg.iter_mut()).zip(g.iter()) {
                // the sum drops the gradient leaving the window and takes the new one
                *s += x.f64() - *o;
                *o = x.f64();
            }
            state.seen += 1;
            if state.seen >= window {
                let scale = lambda / window as f64;
                for (x, s) in g.iter_mut().zip(&state.avg) {
                    *x = E::of(x.f64() + scale * s);
                }
            }
        }
    }
}

/// The component of `g` perpendicular to the weight `w`, rescaled to the norm of `g` (OrthoGrad).
/// A zero weight or a gradient along the weight leaves nothing to rescale: g stays as it is in the
/// first case and becomes zero in the second.
pub fn orthogonalise<E: Real>(w: &[E], g: &mut [E]) {
    let (mut wg, mut ww, mut gg) = (0.0f64, 0.0f64, 0.0f64);
    for (&a, &b) in w.iter().zip(g.iter()) {
        let (a, b) = (a.f64(), b.f64());
        wg += a * b;
        ww += a * a;
        gg += b * b;
    }
    if ww == 0.0 {
        return;
    }
    let c = wg / ww;
    let mut pp = 0.0f64;
    for (x, &a) in g.iter_mut().zip(w) {
        let v = x.f64() - c * a.f64();
        pp += v * v;
        *x = E::of(v);
    }
    // guards against rounding: 1e-30 of the gradient's energy counts as none left
    let scale = if pp > 1e-30 * gg {
        (gg / pp).sqrt()
    } else {
        0.0
    };
    for x in g.iter_mut() {
        *x = E::of(x.f64() * scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grokfast_ema_on_a_constant_gradient_gives_one_plus_lambda_times_it() {
        let f = Grokfast::Ema {
            alpha: 0.9,
            lambda: 2.0,
        };
        let mut s = FilterState::default();
        for _ in 0..50 {
            let mut g = vec![0.5f64, -1.0];
            grokfast(f, &mut s, &mut g);
            assert!(
                (g[0] - 1.5).abs() < 1e-12 && (g[1] + 3.0).abs() < 1e-12,
                "{g:?}"
            );
        }
        // after a switch to a new constant the filtered gradient tends to (1 + lambda) of it
        for _ in 0..400 {
            let mut g = vec![2.0f64, 2.0];
            grokfast(f, &mut s, &mut g);
            if s.seen == 450 {
                assert!((g[0] - 6.0).abs() < 1e-9, "{g:?}");
            }
        }
        // EMA by hand: mu1 = g1 = 1; mu2 = 0.9 + 0.1 * 3 = 1.2; filtered g2 = 3 + 2 * 1.2
        let mut s = FilterState::default();
        let mut g1 = vec![1.0f64];
        grokfast(f, &mut s, &mut g1);
        let mut g2 = vec![3.0f64];
        grokfast(f, &mut s, &mut g2);
        assert!((g1[0] - 3.0).abs() < 1e-12 && (g2[0] - 5.4).abs() < 1e-12);
    }

    #[test]
    fn grokfast_ma_waits_for_a_full_window_then_adds_its_mean() {
        let f = Grokfast::Ma {
            window: 3,
            lambda: 5.0,
        };
        let mut s = FilterState::default();
        let out: Vec<f64> = [1.0, 2.0, 3.0, 4.0, 5.0]
            .iter()
            .map(|&x| {
                let mut g = vec![x];
                grokfast(f, &mut s, &mut g);
                g[0]
            })
            .collect();
        // steps 1-2: the window is not full; step 3: 3 + 5 * mean(1, 2, 3); then (2,3,4), (3,4,5)
        assert_eq!(out[..2], [1.0, 2.0]);
        for (o, e) in out[2..].iter().zip([3.0 + 10.0, 4.0 + 15.0, 5.0 + 20.0]) {
            assert!((o - e).abs() < 1e-12, "{out:?}");
        }
    }

    #[test]
    fn orthograd_is_orthogonal_to_the_weight_with_the_gradients_norm() {
        let w = [1.0f64, 2.0, -1.0, 0.5];
        let g0 = [0.3f64, -0.7, 2.0, 1.1];
        let mut g = g0;
        orthogonalise(&w, &mut g);
        let dot: f64 = w.iter().zip(&g).map(|(a, b)| a * b).sum();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(dot.abs() < 1e-12, "{dot}");
        assert!((norm(&g) - norm(&g0)).abs() < 1e-12);
        // the direction is g's perpendicular part: g0 - c w with c = w.g0 / w.w
        let c = w.iter().zip(&g0).map(|(a, b)| a * b).sum::<f64>() / 6.25;
        let perp: Vec<f64> = g0.iter().zip(&w).map(|(b, a)| b - c * a).collect();
        let s = norm(&g0) / norm(&perp);
        for (x, p) in g.iter().zip(&perp) {
            assert!((x - s * p).abs() < 1e-12);
        }
        // f32 too
        let mut g32 = [0.3f32, -0.7, 2.0, 1.1];
        orthogonalise(&[1.0f32, 2.0, -1.0, 0.5], &mut g32);
        assert!((g32[0] as f64 - g[0]).abs() < 1e-5);
        // a gradient along the weight leaves nothing
        let mut along = [2.0f64, 4.0, -2.0, 1.0];
        orthogonalise(&w, &mut along);
        assert!(along.iter().all(|x| x.abs() < 1e-12), "{along:?}");
    }
}
