//! burn's autodiff path of the trainer, the general one and the reference: parameters leave the
//! host store as autodiff leaves, the model runs forward on the batch stacked over members, the
//! loss's training form gives each member's mean loss, their sum (members' graphs are disjoint, so
//! each gets its own gradient) is differentiated once, and the gradients come back to the host for
//! the optimiser, which steps every member at once.

use super::StepBatch;
use super::fused::MemberData;
use crate::batch::{self, Batch};
use crate::head::TargetKind;
use crate::loss::Loss;
use crate::model::{Hooks, Inputs, Model};
use crate::optim::{GradRef, Optimizer};
use crate::params::{Params, Precision};
use burn::prelude::*;

pub struct Autodiff {
    precision: Precision,
    kind: TargetKind,
    plain: Device,
    ad: Device,
    /// The whole training set on the autodiff device, when every step uses it.
    full_batch: Option<Batch>,
    /// The evaluation inputs: every member's training and validation split.
    eval_train: Inputs,
    eval_val: Option<Inputs>,
    /// Every member's seed (dropout masks).
    seeds: Vec<u64>,
}

impl Autodiff {
    pub fn new(
        members: &[MemberData<'_>],
        kind: TargetKind,
        full_batch: bool,
        precision: Precision,
        seeds: &[u64],
    ) -> Autodiff {
        let plain = Device::flex();
        let ad = plain.clone().autodiff();
        let train: Vec<_> = members.iter().map(|m| m.train).collect();
        let val: Vec<_> = members.iter().map(|m| m.val).collect();
        let encodings: Vec<_> = members.iter().map(|m| m.encoding).collect();
        let all = |n: usize| vec![(0..n).collect::<Vec<usize>>(); members.len()];
        let (n_train, n_val) = (train[0].len(), val[0].len());
        Autodiff {
            full_batch: full_batch
                .then(|| batch::batch(&train, &encodings, &all(n_train), kind, &ad, precision)),
            eval_train: batch::inputs(&train, &all(n_train), &plain, precision),
            eval_val: (n_val > 0).then(|| batch::inputs(&val, &all(n_val), &plain, precision)),
            precision,
            kind,
            plain,
            ad,
            seeds: seeds.to_vec(),
        }
    }

    /// Step `t` of every active member on its batch; members whose loss is not finite are not
    /// updated. Returns every member's loss.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        model: &dyn Model,
        loss: &dyn Loss,
        params: &mut Params,
        optimizer: &mut Optimizer,
        members: &[MemberData<'_>],
        batch: &StepBatch<'_>,
        active: &[bool],
        t: u64,
    ) -> Vec<f64> {
        let encodings: Vec<_> = members.iter().map(|m| m.encoding).collect();
        let stacked;
        let b = match (batch, &self.full_batch) {
            (StepBatch::Full, Some(b)) => b,
            (StepBatch::Full, None) => unreachable!("full-batch training keeps its batch"),
            (StepBatch::Rows(rows), _) => {
                let splits: Vec<_> = members.iter().map(|m| m.train).collect();
                stacked = batch::batch(
                    &splits,
                    &encodings,
                    rows,
                    self.kind,
                    &self.ad,
                    self.precision,
                );
                &stacked
            }
            (StepBatch::Fresh(fresh), _) => {
                let splits: Vec<_> = fresh.iter().collect();
                let rows: Vec<Vec<usize>> = fresh.iter().map(|s| (0..s.len()).collect()).collect();
                stacked = batch::batch(
                    &splits,
                    &encodings,
                    &rows,
                    self.kind,
                    &self.ad,
                    self.precision,
                );
                &stacked
            }
        };
        let (values, gradients): (Vec<f64>, Vec<TensorData>) = {
            let leaves = params.tensors(&self.ad).require_grad();
            let mut hooks = Hooks::training(self.seeds.clone(), t);
            let out = b
                .targets
                .rows(model.forward(&leaves, &b.inputs, &mut hooks));
            let losses = loss.train(out, &b.targets);
            let values = losses.clone().into_data().iter::<f64>().collect();
            let mut grads = losses.sum().backward();
            let gradients = leaves
                .tensors()
                .iter()
                .map(|l| {
                    l.grad_remove(&mut grads)
                        .expect("every parameter takes part in the loss")
                        .into_data()
                })
                .collect();
            (values, gradients)
        };
        let grefs: Vec<GradRef<'_>> = gradients
            .iter()
            .map(|g| match self.precision {
                Precision::F32 => GradRef::F32(g.as_slice::<f32>().expect("f32 gradient")),
                Precision::F64 => GradRef::F64(g.as_slice::<f64>().expect("f64 gradient")),
            })
            .collect();
        let update: Vec<bool> = active
            .iter()
            .zip(&values)
            .map(|(&a, l)| a && l.is_finite())
            .collect();
        optimizer.step(params, &grefs, &update, t);
        values
    }

    /// Every member's outputs on its whole training split and on its validation split,
    /// member-major, as f64.
    pub fn outputs(&self, model: &dyn Model, params: &Params) -> (Vec<f64>, Vec<f64>) {
        let pt = params.tensors(&self.plain);
        let run = |inputs: &Inputs| -> Vec<f64> {
            model
                .forward(&pt, inputs, &mut Hooks::none())
                .into_data()
                .iter::<f64>()
                .collect()
        };
        let val = self.eval_val.as_ref().map_or_else(Vec::new, run);
        (run(&self.eval_train), val)
    }
}
