//! Dropout masks, drawn on the host from the member's seed, the step and the site, so that burn's
//! autodiff path and the fused path drop exactly the same units and a run is reproducible: each
//! value is 0 with probability p and 1 / (1 - p) otherwise (inverted dropout, as PyTorch).
//! Evaluation never drops.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where in the model a mask applies: layer l's attention pattern, attention output, MLP hidden
/// activation, MLP output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Pattern = 0,
    AttnOut = 1,
    Hidden = 2,
    MlpOut = 3,
}

/// The mask of `n` values for `site` of layer `layer` at step `step` of the member with `seed`,
/// laid out as the site's activation [batch, ...] row-major.
pub fn mask(seed: u64, step: u64, layer: usize, site: Site, n: usize, p: f64) -> Vec<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    // streams of their own, apart from the run's other streams (small numbers, crate::seed)
    r.set_stream((1u64 << 63) | (step << 16) | ((layer as u64) << 2) | site as u64);
    let keep = 1.0 / (1.0 - p);
    (0..n)
        .map(|_| if r.random::<f64>() < p { 0.0 } else { keep })
        .collect()
}

/// What a training forward pass drops: each member's seed, the step and the probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    pub seeds: Vec<u64>,
    pub step: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_drop_at_the_rate_and_keep_the_mean() {
        let m = mask(3, 7, 1, Site::Hidden, 100_000, 0.3);
        let zeros = m.iter().filter(|&&x| x == 0.0).count() as f64 / m.len() as f64;
        assert!((zeros - 0.3).abs() < 0.01, "{zeros}");
        let mean = m.iter().sum::<f64>() / m.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!(m.iter().all(|&x| x == 0.0 || (x - 1.0 / 0.7).abs() < 1e-15));
        // deterministic, and different for another step, site, layer or seed
        assert_eq!(m, mask(3, 7, 1, Site::Hidden, 100_000, 0.3));
        for other in [
            mask(3, 8, 1, Site::Hidden, 100_000, 0.3),
            mask(3, 7, 1, Site::MlpOut, 100_000, 0.3),
            mask(3, 7, 0, Site::Hidden, 100_000, 0.3),
            mask(4, 7, 1, Site::Hidden, 100_000, 0.3),
        ] {
            assert_ne!(m, other);
        }
        assert!(
            mask(0, 0, 0, Site::Pattern, 50, 0.0)
                .iter()
                .all(|&x| x == 1.0)
        );
    }
}
