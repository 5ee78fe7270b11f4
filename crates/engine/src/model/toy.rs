//! The toy model of Liu et al. (2022): (a, b) -> Dec(E_a + E_b), learned embeddings summed into an
//! MLP decoder. Embeddings start uniform in [-s/2, s/2]; decoder layers use PyTorch's default
//! `nn.Linear` initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
//!
//! Keys: `d_embed`, `init_scale` (s), `d_hidden`, `act_fn`, `head` (`regression`: MSE to a fixed
//! random vector of `d_target` per class, as the paper; `classification`: one logit per class),
//! `combine` (`sum`: E_a + E_b; `product`: each embedding an n x n matrix, d_embed = n^2, and the
//! decoder reads their matrix product E_a E_b: Liu et al.'s permutation-group model).
//! Hook points: `hook_embed` (E_a + E_b), `decoder.{l}.hook_pre` and `decoder.{l}.hook_post` of
//! every hidden layer.

use super::{
    AnyKernel, Hooks, Inputs, Model, ModelSpec, Stack, StackInput, StackLayer, does_not_fit,
};
use crate::head::Head;
use crate::init::uniform;
use crate::ops::Activation;
use crate::params::{ParamSpec, ParamTensors, Precision};
use crate::reader::{ConfigError, Reader};
use crate::shape::{Input, IoShape, Output};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToyConfig {
    /// Embedding dimension d.
    pub d_embed: usize,
    /// Embeddings start uniform in [-s/2, s/2].
    pub init_scale: f64,
    /// Hidden widths of the decoder MLP.
    pub d_hidden: Vec<usize>,
    /// Hidden activation.
    pub act_fn: Activation,
    pub head: ToyHead,
    /// Dimension of the random regression targets (regression head only).
    pub d_target: usize,
    /// How the positions' embeddings combine (written only when not the sum, so the resolved
    /// configs of the addition studies read as before).
    #[serde(skip_serializing_if = "Combine::is_sum")]
    pub combine: Combine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// E_a + E_b.
    Sum,
    /// The matrix product E_a E_b of n x n embeddings.
    Product,
}

impl Combine {
    fn is_sum(&self) -> bool {
        *self == Combine::Sum
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToyHead {
    /// MSE to fixed random target vectors; correct when the nearest target is the right class.
    Regression,
    /// Cross-entropy over the classes; correct when the argmax is the right class.
    Classification,
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn ModelSpec>, ConfigError> {
    let d_embed = r.usize_or("d_embed", 1, 1, 4096)?;
    let init_scale = r.f64_or("init_scale", 1.0, |x| x >= 0.0, "a finite number >= 0")?;
    let d_hidden = r.usize_list_or("d_hidden", &[200, 200], 1, 1_000_000, 1000)?;
    let act_fn = Activation::read(r, "tanh")?;
    let head = match r
        .choice_or("head", "regression", &["regression", "classification"])?
        .as_str()
    {
        "classification" => ToyHead::Classification,
        _ => ToyHead::Regression,
    };
    let d_target = r.usize_or("d_target", 30, 1, 4096)?;
    let combine = match r.choice_or("combine", "sum", &["sum", "product"])?.as_str() {
        "product" => Combine::Product,
        _ => Combine::Sum,
    };
    let n = (d_embed as f64).sqrt().round() as usize;
    if combine == Combine::Product && n * n != d_embed {
        return Err(r.invalid(
            "combine",
            &toml::Value::String("product".into()),
            format!("\"sum\", or \"product\" with d_embed a square (n x n matrices); d_embed is {d_embed}"),
        ));
    }
    Ok(Arc::new(ToyConfig {
        combine,
        d_embed,
        init_scale,
        d_hidden,
        act_fn,
        head,
        d_target,
    }))
}

impl crate::choice::Kind for ToyConfig {
    fn kind(&self) -> &'static str {
        "toy"
    }
}

impl ModelSpec for ToyConfig {
    fn fits(&self, shape: &IoShape) -> bool {
        // one answer per sample: the toy model reads its two embeddings, not a sequence
        matches!(shape.input, Input::Tokens { .. })
            && matches!(shape.output, Output::Classes(_))
            && shape.after.is_empty()
    }

    fn init_keys(&self) -> &'static [&'static str] {
        &["init_scale"]
    }

    fn build(&self, shape: &IoShape) -> Result<Box<dyn Model>, ConfigError> {
        let (true, Input::Tokens { vocab, positions }) = (self.fits(shape), shape.input) else {
            return Err(does_not_fit("toy", shape));
        };
        let head = match self.head {
            ToyHead::Regression => Head::RandomTargets { dim: self.d_target },
            ToyHead::Classification => Head::Logits,
        };
        let d_out = head.d_out(shape.output);
        let widths = super::widths(self.d_embed, &self.d_hidden, d_out);
        let mut specs = vec![ParamSpec::new("embed.W_E", &[vocab, self.d_embed])];
        let mut layers = Vec::new();
        for (l, w) in widths.windows(2).enumerate() {
            let (wn, bn) = (format!("decoder.{l}.W"), format!("decoder.{l}.b"));
            specs.push(ParamSpec::new(&wn, &[w[0], w[1]]));
            specs.push(ParamSpec::new(&bn, &[w[1]]));
            layers.push(Layer {
                w: wn,
                b: bn,
                hook_pre: format!("decoder.{l}.hook_pre"),
                hook_post: format!("decoder.{l}.hook_post"),
                width: w[1],
            });
        }
        Ok(Box::new(Toy {
            cfg: self.clone(),
            positions,
            head,
            d_out,
            widths,
            specs,
            layers,
        }))
    }
}

/// Names of one decoder layer, made once at build so the forward pass formats nothing.
struct Layer {
    w: String,
    b: String,
    hook_pre: String,
    hook_post: String,
    width: usize,
}

pub struct Toy {
    cfg: ToyConfig,
    positions: usize,
    head: Head,
    d_out: usize,
    /// Layer widths d_embed -> hidden... -> d_out.
    widths: Vec<usize>,
    specs: Vec<ParamSpec>,
    layers: Vec<Layer>,
}

impl Model for Toy {
    fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let mut out = vec![uniform(
            rng,
            self.specs[0].numel(),
            self.cfg.init_scale / 2.0,
        )];
        for w in self.widths.windows(2) {
            let a = 1.0 / (w[0] as f64).sqrt();
            out.push(uniform(rng, w[0] * w[1], a));
            out.push(uniform(rng, w[1], a));
        }
        out
    }

    /// Shapes: tokens [M, B] per position; embed.W_E [M, d_vocab, d]; decoder.l.W [M, d_in, d_out],
    /// decoder.l.b [M, 1, d_out]; output [M, B, d_out].
    fn forward(&self, p: &ParamTensors<'_>, inputs: &Inputs, hooks: &mut Hooks) -> Tensor<3> {
        let Inputs::Tokens(tokens) = inputs else {
            unreachable!("the toy model was built for token inputs")
        };
        let w_e = p.get("embed.W_E");
        let [m, _, d] = w_e.dims();
        let embed = |ids: &Tensor<2, Int>| {
            let [_, b] = ids.dims();
            let idx = ids.clone().reshape([m, b, 1]).expand([m, b, d]);
            w_e.clone().gather(1, idx) // [M, B, d]
        };
        let mut h = match self.cfg.combine {
            Combine::Sum => tokens
                .iter()
                .map(embed)
                .reduce(|a, b| a + b)
                .expect("at least one position"),
            Combine::Product => {
                let n = (d as f64).sqrt().round() as usize;
                let [_, b] = tokens[0].dims();
                tokens
                    .iter()
                    .map(|ids| embed(ids).reshape([m * b, n, n]))
                    .reduce(|x, y| x.matmul(y))
                    .expect("at least one position")
                    .reshape([m, b, d])
            }
        };
        h = hooks.point("hook_embed", h);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            h = h.matmul(p.get(&layer.w).clone()) + p.get(&layer.b).clone();
            if l < last {
                h = hooks.point(&layer.hook_pre, h);
                h = self.cfg.act_fn.apply(h);
                h = hooks.point(&layer.hook_post, h);
            }
        }
        h
    }

    fn d_out(&self) -> usize {
        self.d_out
    }

    fn head(&self) -> Head {
        self.head
    }

    fn hook_points(&self) -> Vec<(String, usize)> {
        let mut v = vec![("hook_embed".to_string(), self.cfg.d_embed)];
        for l in &self.layers[..self.layers.len() - 1] {
            v.push((l.hook_pre.clone(), l.width));
            v.push((l.hook_post.clone(), l.width));
        }
        v
    }

    fn activation_floats(&self) -> f64 {
        self.positions as f64 * self.cfg.d_embed as f64 + super::activation_floats(&self.widths)
    }

    fn stack(&self) -> Option<Stack> {
        // the fused path sums embeddings; products take burn's autodiff
        if self.cfg.combine != Combine::Sum {
            return None;
        }
        Some(Stack {
            input: StackInput::SumOfEmbeddings {
                table: "embed.W_E".into(),
                dim: self.cfg.d_embed,
            },
            layers: self
                .layers
                .iter()
                .zip(self.widths.windows(2))
                .map(|(l, w)| StackLayer {
                    w: l.w.clone(),
                    b: Some(l.b.clone()),
                    d_in: w[0],
                    d_out: w[1],
                })
                .collect(),
            act_fn: self.cfg.act_fn,
        })
    }

    fn kernel(&self, precision: Precision) -> Result<AnyKernel, String> {
        let stack = self.stack().ok_or(
            "combine = \"product\" (matrix embeddings) has no fused kernel: burn's autodiff runs it",
        )?;
        stack.kernel(&self.specs, precision)
    }
}
