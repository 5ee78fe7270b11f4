//! Kernels: a model's fused forward/backward on host memory, the fast path beside its burn
//! definition. A model that has one returns it from [`super::Model::kernel`] (the only switch: the
//! trainer asks once, at setup, and takes burn's autodiff, the reference, where there is none) and
//! keeps it in its own folder (`model/stack.rs` for the MLP family, `model/transformer/kernel/`),
//! taking parameter names and settings from the model it was built from. The trainer's side, which
//! steps every member of an ensemble through one kernel, is `train/fused.rs`; the numerics kernels
//! share are [`crate::host`].

use crate::loss::{HostTargets, Loss};
use crate::optim::GradRef;
use crate::params::{Params, Precision};
use crate::real::Real;

/// The precision-specific host loss of a [`Loss`], and gradients as the optimiser takes them.
pub trait FusedReal: Real {
    fn loss(loss: &dyn Loss, out: &[Self], targets: HostTargets<'_>, grad: &mut [Self]) -> f64;
    fn grad_ref(g: &[Self]) -> GradRef<'_>;
}

impl FusedReal for f32 {
    fn loss(loss: &dyn Loss, out: &[f32], targets: HostTargets<'_>, grad: &mut [f32]) -> f64 {
        loss.host_f32(out, targets, grad)
    }
    fn grad_ref(g: &[f32]) -> GradRef<'_> {
        GradRef::F32(g)
    }
}

impl FusedReal for f64 {
    fn loss(loss: &dyn Loss, out: &[f64], targets: HostTargets<'_>, grad: &mut [f64]) -> f64 {
        loss.host_f64(out, targets, grad)
    }
    fn grad_ref(g: &[f64]) -> GradRef<'_> {
        GradRef::F64(g)
    }
}

/// The inputs of one member's batch.
pub enum HostInputs<'a, E> {
    /// Token ids per position, each [B].
    Tokens(&'a [Vec<usize>]),
    /// Features, row-major [B, dim].
    Dense(&'a [E]),
}

/// One member's fused forward and training step, for one model.
pub trait Kernel<E>: Send {
    /// The forward pass of member `m` on `b` samples; returns the outputs [b, d_out].
    fn forward(&mut self, params: &Params, m: usize, inputs: &HostInputs<'_, E>, b: usize) -> &[E];
    /// Forward, loss and backward of member `m` on one batch: the mean loss, with the member's
    /// gradient left in [`Kernel::grads`] (not computed when the loss is not finite). `dropout`
    /// is the member's (seed, step) for models that drop units in training.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        params: &Params,
        m: usize,
        inputs: HostInputs<'_, E>,
        targets: HostTargets<'_>,
        loss: &dyn Loss,
        b: usize,
        dropout: Option<(u64, u64)>,
    ) -> f64;
    /// One member's gradient of every parameter, in spec order.
    fn grads(&self) -> &[Vec<E>];
}

/// A model's kernel in the precision it was asked for.
pub enum AnyKernel {
    F32(Box<dyn Kernel<f32>>),
    F64(Box<dyn Kernel<f64>>),
}

impl AnyKernel {
    /// The f64 kernel (tests compare it with autodiff in f64).
    pub fn f64(self) -> Option<Box<dyn Kernel<f64>>> {
        match self {
            AnyKernel::F64(k) => Some(k),
            AnyKernel::F32(_) => None,
        }
    }
}

/// Whether a model has a fused kernel (in either precision: no kernel depends on it).
pub fn has_kernel(model: &dyn super::Model) -> bool {
    model.kernel(Precision::F64).is_ok()
}
