//! The fused path's side of the trainer: every member of an ensemble stepped through one kernel
//! (the model's own, [`crate::model::Model::kernel`]), whose buffers all members share, each member
//! updated right after its backward pass. Batches come from [`crate::batch::HostBatch`], the
//! members' whole splits gathered once.

use super::StepBatch;
use crate::batch::HostBatch;
use crate::head::{Encoding, TargetKind};
use crate::loss::Loss;
use crate::model::kernel::{AnyKernel, FusedReal, Kernel};
use crate::optim::{GradRef, Optimizer};
use crate::params::Params;
use crate::task::Split;

/// The members' data as the trainer holds it: each member's training and validation split and
/// target encoding.
pub struct MemberData<'a> {
    pub train: &'a Split,
    pub val: &'a Split,
    pub encoding: &'a Encoding,
}

/// The training steps of an ensemble on the fused path, in either precision.
pub trait FusedSteps: Send {
    /// Step `t` of every active member on its batch. Each member is updated right after its
    /// backward pass; a member whose loss is not finite is not updated. Returns every member's
    /// loss (NaN for inactive ones).
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        params: &mut Params,
        optimizer: &mut Optimizer,
        loss: &dyn Loss,
        members: &[MemberData<'_>],
        batch: &StepBatch<'_>,
        active: &[bool],
        t: u64,
    ) -> Vec<f64>;

    /// Every member's outputs on its whole training split and on its validation split, all
    /// members one after the other, row-major [samples, d_out], as f64; zeros for the members
    /// not `wanted` (stopped ones, whose rows are not recorded).
    fn outputs(&mut self, params: &Params, wanted: &[bool], d_out: usize) -> (Vec<f64>, Vec<f64>);
}

struct Training<E> {
    kernel: Box<dyn Kernel<E>>,
    /// Every member's whole training and validation split.
    train: Vec<HostBatch<E>>,
    val: Vec<HostBatch<E>>,
    kind: TargetKind,
    /// This step's minibatch.
    batch: HostBatch<E>,
    /// Every member's seed (dropout masks).
    seeds: Vec<u64>,
}

impl<E: FusedReal> FusedSteps for Training<E> {
    fn step(
        &mut self,
        params: &mut Params,
        optimizer: &mut Optimizer,
        loss: &dyn Loss,
        members: &[MemberData<'_>],
        batch: &StepBatch<'_>,
        active: &[bool],
        t: u64,
    ) -> Vec<f64> {
        let mut losses = vec![f64::NAN; self.train.len()];
        for (m, member) in members.iter().enumerate() {
            if !active[m] {
                continue;
            }
            let targets = Some((member.encoding, self.kind));
            let data = match batch {
                StepBatch::Full => &self.train[m],
                StepBatch::Rows(rows) => {
                    self.batch.gather(member.train, Some(&rows[m]), targets);
                    &self.batch
                }
                StepBatch::Fresh(splits) => {
                    self.batch.gather(&splits[m], None, targets);
                    &self.batch
                }
            };
            let value = self.kernel.step(
                params,
                m,
                data.inputs(),
                data.targets(),
                loss,
                data.len,
                Some((self.seeds[m], t)),
            );
            losses[m] = value;
            if value.is_finite() {
                let grads: Vec<GradRef<'_>> =
                    self.kernel.grads().iter().map(|g| E::grad_ref(g)).collect();
                optimizer.step_member(params, m, &grads, t);
            }
        }
        losses
    }

    fn outputs(&mut self, params: &Params, wanted: &[bool], d_out: usize) -> (Vec<f64>, Vec<f64>) {
        let kernel = &mut self.kernel;
        let mut run = |data: &[HostBatch<E>]| {
            let mut out = Vec::new();
            for (m, d) in data.iter().enumerate().filter(|(_, d)| d.len > 0) {
                if wanted[m] {
                    let o = kernel.forward(params, m, &d.inputs(), d.len);
                    out.extend(o.iter().map(|v| v.f64()));
                } else {
                    out.resize(out.len() + d.len * d_out, 0.0);
                }
            }
            out
        };
        (run(&self.train), run(&self.val))
    }
}

/// The fused training steps of the members `members` through `kernel`, with targets of the kind
/// the loss wants.
pub fn training(
    kernel: AnyKernel,
    members: &[MemberData<'_>],
    kind: TargetKind,
    seeds: &[u64],
) -> Box<dyn FusedSteps> {
    fn build<E: FusedReal>(
        kernel: Box<dyn Kernel<E>>,
        members: &[MemberData<'_>],
        kind: TargetKind,
        seeds: &[u64],
    ) -> Box<dyn FusedSteps> {
        Box::new(Training {
            kernel,
            train: members
                .iter()
                .map(|d| HostBatch::of(d.train, d.encoding, kind))
                .collect(),
            val: members
                .iter()
                .map(|d| HostBatch::of(d.val, d.encoding, kind))
                .collect(),
            kind,
            batch: HostBatch::default(),
            seeds: seeds.to_vec(),
        })
    }
    match kernel {
        AnyKernel::F32(k) => build(k, members, kind, seeds),
        AnyKernel::F64(k) => build(k, members, kind, seeds),
    }
}
