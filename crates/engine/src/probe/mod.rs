//! Probes: metrics computed per member at evaluation steps, one file each, registered in
//! [`PROBES`]. Every member of an ensemble gets its own probes, made from its own config; a probe
//! that does not apply to a config is simply not made. Each probe names its columns of
//! `metrics.csv`, computes them from an [`EvalContext`], and may keep tables of its own
//! (`embeddings.csv`). A probe can also run the model itself: on modified parameters, with a mask
//! on a hidden layer, or recording named activations ([`EvalContext::forward`]).
//! New science is a new probe, not a new branch in the loop.

pub mod linear_theory;
pub mod loss_accuracy;
pub mod representation;
pub mod weight_norms;

use crate::config::Config;
use crate::files::ExtraTable;
use crate::head::Encoding;
use crate::loss::Loss;
use crate::model::{Hooks, Model};
use crate::params::{MemberParams, Params, Precision};
use crate::task::{Dataset, Split};
use burn::prelude::*;

/// What a probe is made from: one member's config and the built model.
pub struct ProbeSetup<'a> {
    pub config: &'a Config,
    pub model: &'a dyn Model,
}

/// Makes a probe for a member, or None when it does not apply to that member's config.
pub type MakeProbe = fn(&ProbeSetup<'_>) -> Option<Box<dyn Probe>>;

/// Every probe, in the order of its columns in `metrics.csv` (one line each).
pub const PROBES: &[MakeProbe] = &[
    loss_accuracy::make,
    weight_norms::make,
    representation::make,
    linear_theory::make,
];

/// The probes of one member.
pub fn probes_for(setup: &ProbeSetup<'_>) -> Vec<Box<dyn Probe>> {
    PROBES.iter().filter_map(|make| make(setup)).collect()
}

pub trait Probe: Send {
    /// Column names added to `metrics.csv`.
    fn columns(&self) -> Vec<String>;
    /// Values for the columns, in order.
    fn compute(&mut self, ctx: &EvalContext<'_>) -> Vec<f64>;
    /// Tables kept across evaluations.
    fn tables(&self) -> Vec<ExtraTable> {
        Vec::new()
    }
    /// Bytes the probe will hold at its largest (the memory check, before anything is built).
    fn memory_bytes(&self) -> f64 {
        0.0
    }
}

/// Which split of a member's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Train,
    Val,
}

impl Which {
    pub fn of(self, d: &Dataset) -> &Split {
        match self {
            Which::Train => &d.train,
            Which::Val => &d.val,
        }
    }
}

/// What a probe sees at an evaluation step, for one member.
pub struct EvalContext<'a> {
    pub step: usize,
    /// This member's config.
    pub config: &'a Config,
    pub data: &'a Dataset,
    /// How outputs meet labels (targets, correctness).
    pub encoding: &'a Encoding,
    pub loss: &'a dyn Loss,
    pub params: MemberParams<'a>,
    /// Model outputs on the train and validation splits, row-major [samples, d_out].
    pub train_out: &'a [f64],
    pub val_out: &'a [f64],
    pub d_out: usize,
    pub model: &'a dyn Model,
    pub precision: Precision,
}

impl EvalContext<'_> {
    /// Runs the model on a whole split of this member's data, with this member's parameters or
    /// `values` in their place (spec order), through `hooks` (masks, recorded activations).
    /// Returns the outputs, row-major [samples, d_out].
    pub fn forward(
        &self,
        which: Which,
        values: Option<&[Vec<f64>]>,
        hooks: &mut Hooks,
    ) -> Vec<f64> {
        let device = Device::flex();
        let split = which.of(self.data);
        let rows = vec![(0..split.len()).collect::<Vec<usize>>()];
        let inputs = crate::train::batch::inputs(&[split], &rows, &device, self.precision);
        let values = values.map_or_else(|| self.params.all(), <[Vec<f64>]>::to_vec);
        let params =
            Params::from_members(self.params.specs().to_vec(), vec![values], self.precision);
        let out = self.model.forward(&params.tensors(&device), &inputs, hooks);
        out.into_data().iter::<f64>().collect()
    }
}
