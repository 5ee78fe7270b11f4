//! Models: parameter specifications (names and shapes) and a forward pass over burn tensors.
//!
//! Models are functional: parameters live in a host-side [`crate::params::Params`] store, are handed
//! to `forward` as tensors with a leading member axis `[M, rows, cols]`, and the model never owns
//! them. This is what lets one loop train a single run (M = 1) or a batched ensemble of independent
//! members (own seeds, learning rates, weight decays) with the same code, and lets initialisation
//! come from our own seeded generator (burn's flex RNG is process-global). Models know only input
//! and output shapes, not tasks.
//!
//! Parameter names follow TransformerLens words: `embed.W_E` [d_vocab, d_model]; MLP layers
//! `decoder.{l}.W` [d_in, d_out] (input times W, not PyTorch's orientation) and `decoder.{l}.b` [d_out];
//! plain MLPs (the linear-estimator students) `mlp.{l}.W` and `mlp.{l}.b`.

pub mod mlp;
pub mod toy;

use crate::config::{ModelConfig, TaskConfig};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;

/// One parameter of one member: its name and shape as written to checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl ParamSpec {
    pub fn new(name: &str, shape: &[usize]) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// The compute view of one member: all leading dimensions folded into rows.
    pub fn rows_cols(&self) -> [usize; 2] {
        let cols = *self.shape.last().unwrap_or(&1);
        [self.numel() / cols.max(1), cols]
    }
}

/// Inputs of a batch for M members.
#[allow(clippy::large_enum_variant)] // one per batch, built once: boxing would buy nothing
pub enum Inputs {
    /// Token ids per position, each [M, B] (the addition task has two positions).
    Tokens(Vec<Tensor<2, Int>>),
    /// Dense features [M, B, d_in].
    Dense(Tensor<3>),
}

/// What a model must provide to the trainer.
pub trait Model: Send + Sync {
    /// Parameters in a fixed order (the order of checkpoints and of the optimiser).
    fn specs(&self) -> Vec<ParamSpec>;
    /// Initial values of one member, in `specs` order, drawn from `rng`.
    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>>;
    /// Output [M, B, d_out] from parameters ([M, rows, cols] each, in `specs` order).
    fn forward(&self, params: &[Tensor<3>], inputs: &Inputs) -> Tensor<3>;
    /// Output dimension.
    fn d_out(&self) -> usize;
}

/// Builds the model a config asks for, sized for its task.
pub fn build(model: &ModelConfig, task: &TaskConfig) -> Box<dyn Model> {
    match model {
        ModelConfig::Toy(m) => Box::new(toy::Toy::new(m, task)),
        ModelConfig::Mlp(m) => Box::new(mlp::Mlp::new(m, task)),
    }
}

/// Parameter names of a config's model, without building anything heavy (used to validate groups).
pub fn param_names(model: &ModelConfig, task: &TaskConfig) -> Vec<String> {
    build(model, task)
        .specs()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// A hidden activation.
pub(crate) fn activate(h: Tensor<3>, act: crate::config::Activation) -> Tensor<3> {
    use crate::config::Activation;
    match act {
        Activation::Tanh => crate::ops::tanh(h),
        Activation::Relu => burn::tensor::activation::relu(h),
        Activation::Identity => h,
    }
}

/// Uniform draws in [-a, a], the PyTorch default for `nn.Linear` with a = 1/sqrt(fan_in).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f64) -> Vec<f64> {
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
