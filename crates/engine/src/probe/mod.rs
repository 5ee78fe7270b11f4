//! Probes: metrics computed per member at evaluation steps, one file each, registered in
//! [`PROBES`]. Every member of an ensemble gets its own probes, made from its own config; a probe
//! that does not apply to a config is simply not made. Each probe names its columns of
//! `metrics.csv`, computes them from an [`EvalContext`], and may keep tables of its own
//! (`embeddings.csv`). A probe can also run the model itself: on modified parameters, with a mask
//! on a hidden layer, or recording named activations ([`EvalContext::forward`]).
//! New science is a new probe, not a new branch in the loop.

pub mod attention;
pub mod embedding_dim;
pub mod fourier;
pub mod layer_norms;
pub mod learning_rate;
pub mod linear_theory;
pub mod loss_accuracy;
pub mod neuron_norms;
pub mod progress;
pub mod representation;
pub mod softmax_collapse;
pub mod subnetworks;
pub mod weight_norms;

use crate::config::Config;
use crate::files::ExtraTable;
use crate::head::Encoding;
use crate::loss::Loss;
use crate::model::{Hooks, Model};
use crate::params::{MemberParams, Params, Precision};
use crate::snapshot::Snapshot;
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
    learning_rate::make,
    representation::make,
    linear_theory::make,
    subnetworks::make,
    progress::make,
    neuron_norms::make,
    layer_norms::make,
    embedding_dim::make,
    fourier::make,
    softmax_collapse::make,
    attention::make,
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
    /// Once after training, with the final state: analyses that need the whole run (their results
    /// go to [`Probe::tables`] and [`Probe::summary`]).
    fn finish(&mut self, _ctx: &EvalContext<'_>) {}
    /// Fields this probe adds to `summary.json` (null where they do not exist).
    fn summary(&self) -> Vec<(String, Option<f64>)> {
        Vec::new()
    }
    /// What it keeps between evaluations, into a run's saved state under `name` (a resumed run
    /// continues from it; probes that keep nothing save nothing).
    fn save(&self, _s: &mut Snapshot, _name: &str) {}
    /// Back from a saved state.
    fn load(&mut self, _s: &mut Snapshot, _name: &str) -> Result<(), String> {
        Ok(())
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
        let inputs = crate::batch::inputs(&[split], &rows, &device, self.precision);
        let values = values.map_or_else(|| self.params.all(), <[Vec<f64>]>::to_vec);
        let params =
            Params::from_members(self.params.specs().to_vec(), vec![values], self.precision);
        let out = self.model.forward(&params.tensors(&device), &inputs, hooks);
        out.into_data().iter::<f64>().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};
    use crate::task::Features;
    use toml::Value;

    /// A probe's own forward passes: recorded activations are what the layers compute, a zero
    /// mask on the last hidden layer leaves only the output bias, and masking one hidden unit
    /// equals running on parameters with that unit's outgoing weights zeroed.
    #[test]
    fn probes_read_activations_mask_units_and_run_modified_parameters() {
        let c = crate::presets::load("liu2022-toy")
            .unwrap()
            .with(&[
                (
                    "model.d_hidden",
                    Value::Array(vec![Value::Integer(6), Value::Integer(5)]),
                ),
                ("model.d_embed", Value::Integer(2)),
                ("train.dtype", Value::String("f64".into())),
            ])
            .unwrap();
        let model = c.build_model();
        let data = c.dataset();
        let enc = Encoding::new(model.head(), c.task.shape().output, None, c.seed);
        let init = model.init(&mut rng(c.seed, Stream::Init));
        let params = Params::from_members(model.specs().to_vec(), vec![init], Precision::F64);
        let ctx = EvalContext {
            step: 0,
            config: &c,
            data: &data,
            encoding: &enc,
            loss: &*c.loss,
            params: params.member_view(0),
            train_out: &[],
            val_out: &[],
            d_out: model.d_out(),
            model: &*model,
            precision: Precision::F64,
        };
        let n = data.train.len();
        let mut hooks = Hooks::capture_all();
        let out = ctx.forward(Which::Train, None, &mut hooks);
        assert_eq!(out.len(), n * 30);
        let names: Vec<String> = model.hook_points().into_iter().map(|h| h.0).collect();
        assert_eq!(hooks.recorded(), names);
        assert_eq!(
            names,
            [
                "hook_embed",
                "decoder.0.hook_pre",
                "decoder.0.hook_post",
                "decoder.1.hook_pre",
                "decoder.1.hook_post"
            ]
        );
        // hook_embed is E_a + E_b
        let e = ctx.params.get("embed.W_E").unwrap();
        let embed = hooks.host("hook_embed").unwrap();
        let Features::Tokens(tok) = &data.train.x else {
            panic!()
        };
        for k in [0, 7, n - 1] {
            for j in 0..2 {
                let want = e[tok[0][k] * 2 + j] + e[tok[1][k] * 2 + j];
                assert!((embed[k * 2 + j] - want).abs() < 1e-15);
            }
        }
        // post = tanh(pre)
        let (pre, post) = (
            hooks.host("decoder.0.hook_pre").unwrap(),
            hooks.host("decoder.0.hook_post").unwrap(),
        );
        for (a, b) in pre.iter().zip(&post) {
            assert!((a.tanh() - b).abs() < 1e-15);
        }
        // switching the whole last hidden layer off leaves the output bias
        let mut off = Hooks::none().with_mask("decoder.1.hook_post", vec![0.0; 5]);
        let out0 = ctx.forward(Which::Train, None, &mut off);
        let bias = ctx.params.get("decoder.2.b").unwrap();
        for k in 0..n {
            assert_eq!(&out0[k * 30..(k + 1) * 30], &bias[..]);
        }
        // one unit off by a mask = its outgoing weights zeroed
        let mut mask = vec![1.0; 5];
        mask[3] = 0.0;
        let masked = ctx.forward(
            Which::Val,
            None,
            &mut Hooks::none().with_mask("decoder.1.hook_post", mask),
        );
        let mut values = ctx.params.all();
        let w2 = params.index("decoder.2.W").unwrap();
        for j in 0..30 {
            values[w2][3 * 30 + j] = 0.0;
        }
        let modified = ctx.forward(Which::Val, Some(&values), &mut Hooks::none());
        assert_eq!(masked.len(), data.val.len() * 30);
        for (a, b) in masked.iter().zip(&modified) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let plain = ctx.forward(Which::Val, None, &mut Hooks::none());
        assert_ne!(plain, masked);
    }
}
