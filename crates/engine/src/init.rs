//! Initialisers shared by models and by tasks that draw random networks (a teacher): PyTorch's
//! `nn.Linear` default and the Gaussian of Levi et al. Every draw comes from a seeded ChaCha stream
//! passed in, never from a global generator.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// How a dense layer's weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Weights N(0, 1 / (2 d_in d_out)) per layer (variance), as Levi et al.; biases zero.
    Levi,
    /// PyTorch's nn.Linear default: U(-1/sqrt(d_in), 1/sqrt(d_in)) for weights and biases.
    Pytorch,
}

/// Uniform draws in [-a, a], the PyTorch default for `nn.Linear` with a = 1/sqrt(fan_in).
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f64) -> Vec<f64> {
    use rand::RngExt;
    (0..n)
        .map(|_| {
            if a > 0.0 {
                rng.random_range(-a..a)
            } else {
                0.0
            }
        })
        .collect()
}

/// One standard normal draw.
pub fn normal(r: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(r)
}

/// Weights of a layer d_in -> d_out (row-major [d_in, d_out]) and its bias if asked for.
/// Levi: N(0, variance 1 / (2 d_in d_out)) times `scale`, zero bias. PyTorch: U(-a, a) with
/// a = 1/sqrt(d_in) for weights (times `scale`) and biases.
pub fn layer(
    r: &mut ChaCha8Rng,
    init: Init,
    d_in: usize,
    d_out: usize,
    scale: f64,
    bias: bool,
) -> (Vec<f64>, Option<Vec<f64>>) {
    match init {
        Init::Levi => {
            let sd = scale / (2.0 * d_in as f64 * d_out as f64).sqrt();
            let w = (0..d_in * d_out).map(|_| sd * normal(r)).collect();
            (w, bias.then(|| vec![0.0; d_out]))
        }
        Init::Pytorch => {
            let a = 1.0 / (d_in as f64).sqrt();
            let w = uniform(r, d_in * d_out, a)
                .into_iter()
                .map(|x| scale * x)
                .collect();
            (w, bias.then(|| uniform(r, d_out, a)))
        }
    }
}
