//! Models: one file each, registered in [`MODELS`]. A model's settings ([`ModelSpec`]) build it
//! from the task's [`IoShape`] alone; the built [`Model`] declares its parameters by name and shape
//! and runs forward over burn tensors.
//!
//! Models are functional: parameters live in a host-side [`crate::params::Params`] store, are handed
//! to `forward` as named tensors with a leading member axis `[M, rows, cols]`, and the model never
//! owns them. This is what lets one loop train a single run (M = 1) or a batched ensemble of
//! independent members (own seeds, learning rates, weight decays) with the same code, and lets
//! initialisation come from our own seeded generator (burn's flex RNG is process-global).
//!
//! A model may also have a fast path, its kernel ([`kernel`]): a fused forward/backward on host
//! memory beside its burn definition (`stack.rs` for the MLP family, `transformer/kernel/`),
//! returned by [`Model::kernel`].
//!
//! Names follow TransformerLens words: `embed.W_E` [d_vocab, d_model]; MLP layers `decoder.{l}.W`
//! [d_in, d_out] (input times W, not PyTorch's orientation) and `decoder.{l}.b` [d_out]; plain MLPs
//! (the linear-estimator students) `mlp.{l}.W` and `mlp.{l}.b`. Activations pass hook points
//! ([`Hooks`]) named the same way: `hook_embed`, `decoder.{l}.hook_pre`, `mlp.{l}.hook_post`.

pub mod hooks;
pub mod kernel;
pub mod mlp;
pub mod stack;
pub mod toy;
pub mod transformer;

pub use hooks::Hooks;
pub use kernel::{AnyKernel, Kernel};
pub use stack::{Stack, StackInput, StackLayer};

use crate::choice::{Choice, Entry, Kind};
use crate::head::Head;
use crate::params::{ParamSpec, ParamTensors, Precision};
use crate::reader::ConfigError;
use crate::shape::{DenseStack, IoShape};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;

/// Every model, by kind (one line each).
pub const MODELS: &[Entry<dyn ModelSpec>] = &[
    Entry {
        kind: "toy",
        read: toy::read,
    },
    Entry {
        kind: "mlp",
        read: mlp::read,
    },
    Entry {
        kind: "transformer",
        read: transformer::read,
    },
];

/// The `[model]` table of a config.
pub type ModelConfig = Choice<dyn ModelSpec>;

/// A model's settings, as read from its table.
pub trait ModelSpec: Kind {
    /// Whether the model can take data of `shape`.
    fn fits(&self, shape: &IoShape) -> bool;
    /// Keys that change only the initial parameters, not the forward pass: ensemble members may
    /// differ in them.
    fn init_keys(&self) -> &'static [&'static str] {
        &[]
    }
    /// The model for data of `shape`, or an error naming the key that does not fit. Cheap: it
    /// allocates no parameters.
    fn build(&self, shape: &IoShape) -> Result<Box<dyn Model>, ConfigError>;
}

/// Inputs of a batch for M members.
#[allow(clippy::large_enum_variant)] // one per batch, built once: boxing would buy nothing
pub enum Inputs {
    /// Token ids per position, each [M, B].
    Tokens(Vec<Tensor<2, Int>>),
    /// Dense features [M, B, d_in].
    Dense(Tensor<3>),
}

/// A built model: what the trainer and the probes use.
pub trait Model: Send + Sync {
    /// Parameters in a fixed order (the order of checkpoints and of the optimiser).
    fn specs(&self) -> &[ParamSpec];
    /// Initial values of one member, in `specs` order, drawn from `rng`.
    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>>;
    /// Output [M, B, d_out]; every activation of interest passes `hooks`.
    fn forward(&self, params: &ParamTensors<'_>, inputs: &Inputs, hooks: &mut Hooks) -> Tensor<3>;
    /// Output dimension.
    fn d_out(&self) -> usize;
    /// What the output is.
    fn head(&self) -> Head;
    /// The hook points `forward` passes, with their widths, in order.
    fn hook_points(&self) -> Vec<(String, usize)>;
    /// Floats one sample's forward and backward pass holds (the memory check, before allocating).
    fn activation_floats(&self) -> f64;
    /// The architecture as a dense stack, for models that are one.
    fn dense_stack(&self) -> Option<DenseStack> {
        None
    }
    /// The model as a stack of dense layers over named parameters, for models of the MLP family
    /// (the probes of neurons read it).
    fn stack(&self) -> Option<Stack> {
        None
    }
    /// The model's fused forward/backward on host memory in `precision` (its [`Kernel`], kept in
    /// the model's own folder), or why it has none: then the trainer takes burn's autodiff through
    /// `forward`, the reference the kernel is tested against. Asked once per training call.
    fn kernel(&self, _precision: Precision) -> Result<AnyKernel, String> {
        Err("this model has no fused kernel".into())
    }
}

/// A model's settings without its init-only keys: members whose models agree on these can train as
/// one ensemble.
pub fn forward_settings(model: &ModelConfig) -> toml::Table {
    let mut t = model.table();
    for k in model.init_keys() {
        t.remove(*k);
    }
    t
}

/// The model kinds whose default settings accept data of `shape` (for error messages).
pub fn kinds_for(shape: &IoShape) -> Vec<&'static str> {
    MODELS
        .iter()
        .filter(|e| {
            let mut r = crate::reader::Reader::new("model", toml::Table::new());
            (e.read)(&mut r).is_ok_and(|m| m.fits(shape))
        })
        .map(|e| e.kind)
        .collect()
}

/// The error for a model that cannot take a task's inputs or labels.
pub fn does_not_fit(kind: &str, shape: &IoShape) -> ConfigError {
    let fits = kinds_for(shape);
    ConfigError::Invalid {
        key: "model.kind".into(),
        value: format!("{kind:?}"),
        allowed: format!(
            "a model for the task's inputs ({}) and labels ({}{}); {}",
            shape.input.describe(),
            shape.output.describe(),
            if shape.after.is_empty() {
                String::new()
            } else {
                format!(", read at the last {} positions", shape.reads())
            },
            if fits.is_empty() {
                "no registered model fits".to_string()
            } else {
                format!(
                    "these fit: {}",
                    fits.iter()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
    }
}

/// Widths of a dense stack d_in -> hidden... -> d_out.
pub(crate) fn widths(d_in: usize, hidden: &[usize], d_out: usize) -> Vec<usize> {
    std::iter::once(d_in)
        .chain(hidden.iter().copied())
        .chain([d_out])
        .collect()
}

/// Floats held per sample by a dense stack's forward and backward pass (the memory check).
pub fn activation_floats(widths: &[usize]) -> f64 {
    // pre- and post-activation, and their gradients
    4.0 * widths.iter().map(|&w| w as f64).sum::<f64>()
}
