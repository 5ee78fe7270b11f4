//! A multilayer perceptron on dense inputs: the students of the linear-estimator study (Levi et al.
//! 2023). With no hidden layer it is the linear student d_in -> d_out; with hidden widths it is a
//! deeper student. On real-valued labels its output is the prediction itself; on class labels, one
//! logit per class.
//!
//! Keys: `d_hidden`, `act_fn`, `bias` (hidden layers), `out_bias` (the output layer; default: as
//! `bias`), `init` (`levi` or `pytorch`), `init_scale` (alpha).
//! Parameters `mlp.{l}.W` [d_in, d_out] (input times W) and, with biases, `mlp.{l}.b`.
//! Hook points: `mlp.{l}.hook_pre` and `mlp.{l}.hook_post` of every hidden layer.

use super::{
    AnyKernel, Hooks, Inputs, Model, ModelSpec, Stack, StackInput, StackLayer, does_not_fit,
};
use crate::head::Head;
use crate::init::Init;
use crate::ops::Activation;
use crate::params::{ParamSpec, ParamTensors, Precision};
use crate::reader::{ConfigError, Reader};
use crate::shape::{DenseStack, Input, IoShape, Output};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MlpConfig {
    /// Hidden widths; empty for a linear student d_in -> d_out.
    pub d_hidden: Vec<usize>,
    pub act_fn: Activation,
    /// Whether hidden layers have biases.
    pub bias: bool,
    /// Whether the output layer has a bias.
    pub out_bias: bool,
    pub init: Init,
    /// Multiplies the initial weights (alpha in Levi et al.).
    pub init_scale: f64,
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn ModelSpec>, ConfigError> {
    let d_hidden = r.usize_list_or("d_hidden", &[], 1, 1_000_000, 1000)?;
    let act_fn = Activation::read(r, "identity")?;
    let bias = r.bool_or("bias", false)?;
    let out_bias = r.bool_or("out_bias", bias)?;
    let init = match r.choice_or("init", "levi", &["levi", "pytorch"])?.as_str() {
        "pytorch" => Init::Pytorch,
        _ => Init::Levi,
    };
    let init_scale = r.f64_or("init_scale", 1.0, |x| x >= 0.0, "a finite number >= 0")?;
    Ok(Arc::new(MlpConfig {
        d_hidden,
        act_fn,
        bias,
        out_bias,
        init,
        init_scale,
    }))
}

impl crate::choice::Kind for MlpConfig {
    fn kind(&self) -> &'static str {
        "mlp"
    }
}

impl ModelSpec for MlpConfig {
    fn fits(&self, shape: &IoShape) -> bool {
        matches!(shape.input, Input::Dense { .. })
    }

    fn init_keys(&self) -> &'static [&'static str] {
        &["init", "init_scale"]
    }

    fn build(&self, shape: &IoShape) -> Result<Box<dyn Model>, ConfigError> {
        let Input::Dense { dim } = shape.input else {
            return Err(does_not_fit("mlp", shape));
        };
        let head = match shape.output {
            Output::Values(_) => Head::Values,
            Output::Classes(_) => Head::Logits,
        };
        let widths = super::widths(dim, &self.d_hidden, head.d_out(shape.output));
        let mut specs = Vec::new();
        let mut layers = Vec::new();
        let last = widths.len() - 2;
        for (l, w) in widths.windows(2).enumerate() {
            let wn = format!("mlp.{l}.W");
            specs.push(ParamSpec::new(&wn, &[w[0], w[1]]));
            let has_bias = if l == last { self.out_bias } else { self.bias };
            let bn = has_bias.then(|| format!("mlp.{l}.b"));
            if let Some(bn) = &bn {
                specs.push(ParamSpec::new(bn, &[w[1]]));
            }
            layers.push(Layer {
                w: wn,
                b: bn,
                hook_pre: format!("mlp.{l}.hook_pre"),
                hook_post: format!("mlp.{l}.hook_post"),
                width: w[1],
            });
        }
        Ok(Box::new(Mlp {
            cfg: self.clone(),
            head,
            widths,
            specs,
            layers,
        }))
    }
}

/// Names of one layer, made once at build so the forward pass formats nothing.
struct Layer {
    w: String,
    b: Option<String>,
    hook_pre: String,
    hook_post: String,
    width: usize,
}

pub struct Mlp {
    cfg: MlpConfig,
    head: Head,
    /// Layer widths d_in -> hidden... -> d_out.
    widths: Vec<usize>,
    specs: Vec<ParamSpec>,
    layers: Vec<Layer>,
}

impl Mlp {
    /// Every MLP is a dense stack: its layers by name, on dense inputs.
    fn as_stack(&self) -> Stack {
        Stack {
            input: StackInput::Dense {
                dim: self.widths[0],
            },
            layers: self
                .layers
                .iter()
                .zip(self.widths.windows(2))
                .map(|(l, w)| StackLayer {
                    w: l.w.clone(),
                    b: l.b.clone(),
                    d_in: w[0],
                    d_out: w[1],
                })
                .collect(),
            act_fn: self.cfg.act_fn,
        }
    }
}

impl Model for Mlp {
    fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        for (w, layer) in self.widths.windows(2).zip(&self.layers) {
            let (weights, bias) = crate::init::layer(
                rng,
                self.cfg.init,
                w[0],
                w[1],
                self.cfg.init_scale,
                layer.b.is_some(),
            );
            out.push(weights);
            out.extend(bias);
        }
        out
    }

    /// Shapes: x [M, B, d_in]; mlp.l.W [M, d_in, d_out], mlp.l.b [M, 1, d_out]; output [M, B, d_out].
    fn forward(&self, p: &ParamTensors<'_>, inputs: &Inputs, hooks: &mut Hooks) -> Tensor<3> {
        let Inputs::Dense(x) = inputs else {
            unreachable!("the MLP was built for dense inputs")
        };
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            h = h.matmul(p.get(&layer.w).clone());
            if let Some(b) = &layer.b {
                h = h + p.get(b).clone();
            }
            if l < last {
                h = hooks.point(&layer.hook_pre, h);
                h = self.cfg.act_fn.apply(h);
                h = hooks.point(&layer.hook_post, h);
            }
        }
        h
    }

    fn d_out(&self) -> usize {
        *self.widths.last().unwrap_or(&1)
    }

    fn head(&self) -> Head {
        self.head
    }

    fn hook_points(&self) -> Vec<(String, usize)> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .flat_map(|l| {
                [
                    (l.hook_pre.clone(), l.width),
                    (l.hook_post.clone(), l.width),
                ]
            })
            .collect()
    }

    fn activation_floats(&self) -> f64 {
        super::activation_floats(&self.widths)
    }

    fn stack(&self) -> Option<Stack> {
        Some(self.as_stack())
    }

    fn kernel(&self, precision: Precision) -> Result<AnyKernel, String> {
        self.as_stack().kernel(&self.specs, precision)
    }

    fn dense_stack(&self) -> Option<DenseStack> {
        Some(DenseStack {
            widths: self.widths.clone(),
            act_fn: self.cfg.act_fn,
        })
    }
}
