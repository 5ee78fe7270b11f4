//! A transformer on token sequences: the decoder-only model of Power et al. and Nanda et al. (causal
//! mask, learned positions, the answer read at the last position) and, with `causal = false`,
//! `pos = "none"` and `readout = "concat"`, Liu et al.'s encoder on two tokens whose outputs are
//! concatenated into a linear classifier.
//!
//! Keys: `n_layers`, `d_model`, `n_heads`, `d_head` (default d_model / n_heads), `d_mlp` (0: attention
//! only), `act_fn` (`relu` or `gelu`), `norm` (`pre`: LayerNorm before each sublayer and before the
//! unembedding; `post`: after each residual sum; `none`), `pos` (`learned` or `none`), `causal`,
//! `tied` (the unembedding is the first d_vocab_out rows of W_E, transposed), `readout` (`last` or
//! `concat`), `init_scale` (multiplies every initial weight matrix: Omnigrok's large initialisation),
//! `dropout` (training only, as PyTorch's `nn.TransformerEncoderLayer`: on the attention pattern,
//! the attention output, the MLP's hidden activation and the MLP output; masks from
//! [`crate::dropout`]).
//!
//! Parameters carry TransformerLens's names and shapes: `embed.W_E` [d_vocab, d_model],
//! `pos_embed.W_pos` [n_ctx, d_model], `blocks.{l}.attn.W_Q`/`W_K`/`W_V` [n_heads, d_model, d_head],
//! `b_Q`/`b_K`/`b_V` [n_heads, d_head], `W_O` [n_heads, d_head, d_model], `b_O` [d_model],
//! `blocks.{l}.ln1.w`/`.b`, `ln2`, `ln_final` [d_model], `blocks.{l}.mlp.W_in` [d_model, d_mlp],
//! `b_in`, `W_out` [d_mlp, d_model], `b_out`, `unembed.W_U` [d_model, d_vocab_out], `unembed.b_U`.
//! Initialisation as Nanda et al.'s code: every matrix N(0, 1 / fan_in) (W_E and W_pos 1 / d_model,
//! W_U 1 / d_vocab), biases 0, LayerNorm weights 1.
//!
//! Hook points, flattened per sample to [M, B, width]: `hook_embed`, `hook_pos_embed`,
//! `blocks.{l}.hook_resid_pre`, `blocks.{l}.attn.hook_pattern` ([n_heads, pos, pos] per sample),
//! `blocks.{l}.hook_attn_out`, `blocks.{l}.hook_resid_mid`, `blocks.{l}.mlp.hook_pre`,
//! `blocks.{l}.mlp.hook_post`, `blocks.{l}.hook_mlp_out`, `blocks.{l}.hook_resid_post`.

mod kernel;
mod names;

use super::kernel::AnyKernel;
use super::{Hooks, Inputs, Model, ModelSpec, does_not_fit};
use crate::head::Head;
use crate::params::{ParamSpec, ParamTensors, Precision};
use crate::reader::{ConfigError, Reader};
use crate::shape::{Input, IoShape, Output};
use burn::prelude::*;
use burn::tensor::activation;
use names::{LnNames, Names};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// LayerNorm before each sublayer: x + attn(LN1(x)).
    Pre,
    /// LayerNorm after each residual sum: LN1(x + attn(x)) (Power et al.).
    Post,
    /// The residual stream itself re-normalised before attention: x = LN1(x); x = x + attn(x);
    /// x = x + mlp(LN2(x)) (Grokfast's decoder).
    Renorm,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pos {
    /// Learned positional embeddings W_pos.
    Learned,
    /// The fixed sin/cos table of Vaswani et al. (Power et al.): position p, column i:
    /// sin(p / 10000^(i/d)) for even i, cos(p / 10000^((i-1)/d)) for odd i.
    Sinusoidal,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The residual stream at the last position.
    Last,
    /// The residual streams of every position, concatenated.
    Concat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Act {
    Relu,
    /// The exact (erf) GELU, PyTorch's default.
    Gelu,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransformerConfig {
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_head: usize,
    pub d_mlp: usize,
    pub act_fn: Act,
    pub norm: Norm,
    pub pos: Pos,
    pub causal: bool,
    pub tied: bool,
    pub readout: Readout,
    pub init_scale: f64,
    pub dropout: f64,
    /// Bias tensors of attention (b_Q, b_K, b_V, b_O), of the MLP (b_in, b_out), of the
    /// unembedding (b_U); without one the tensor does not exist (nor in checkpoints).
    pub attn_bias: bool,
    pub mlp_bias: bool,
    pub unembed_bias: bool,
    /// A LayerNorm before the unembedding (default with `pre` and `renorm`).
    pub ln_final: bool,
    /// Logits per sample: the task's answers (0) or more, the whole vocabulary of the authors'
    /// code (Nanda et al. 114 with "=", Grokfast p + 2); the extra logits are never the answer.
    pub d_vocab_out: usize,
    /// `[model.init]`: per-parameter initialisation beside `init_scale`.
    #[serde(skip_serializing_if = "init_is_empty")]
    pub init: crate::init::Rules,
}

fn init_is_empty(r: &crate::init::Rules) -> bool {
    r.0.is_empty()
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn ModelSpec>, ConfigError> {
    let n_layers = r.usize_or("n_layers", 1, 1, 64)?;
    let d_model = r.usize_or("d_model", 128, 1, 8192)?;
    let n_heads = r.usize_or("n_heads", 4, 1, 256)?;
    let d_head = r.usize_or("d_head", (d_model / n_heads).max(1), 1, 8192)?;
    let d_mlp = r.usize_or("d_mlp", 4 * d_model, 0, 65536)?;
    let act_fn = match r.choice_or("act_fn", "relu", &["relu", "gelu"])?.as_str() {
        "gelu" => Act::Gelu,
        _ => Act::Relu,
    };
    let norm = match r
        .choice_or("norm", "pre", &["pre", "post", "renorm", "none"])?
        .as_str()
    {
        "post" => Norm::Post,
        "renorm" => Norm::Renorm,
        "none" => Norm::None,
        _ => Norm::Pre,
    };
    let pos = match r
        .choice_or("pos", "learned", &["learned", "sinusoidal", "none"])?
        .as_str()
    {
        "none" => Pos::None,
        "sinusoidal" => Pos::Sinusoidal,
        _ => Pos::Learned,
    };
    let causal = r.bool_or("causal", true)?;
    let tied = r.bool_or("tied", false)?;
    let readout = match r
        .choice_or("readout", "last", &["last", "concat"])?
        .as_str()
    {
        "concat" => Readout::Concat,
        _ => Readout::Last,
    };
    if tied && readout == Readout::Concat {
        return Err(r.invalid(
            "tied",
            &toml::Value::Boolean(true),
            "false with readout = \"concat\" (a tied unembedding reads one d_model vector)",
        ));
    }
    let init_scale = r.f64_or("init_scale", 1.0, |x| x >= 0.0, "a finite number >= 0")?;
    let dropout = r.f64_or(
        "dropout",
        0.0,
        |x| (0.0..1.0).contains(&x),
        "a probability in [0, 1)",
    )?;
    let attn_bias = r.bool_or("attn_bias", true)?;
    let mlp_bias = r.bool_or("mlp_bias", true)?;
    let unembed_bias = r.bool_or("unembed_bias", true)?;
    let ln_final = r.bool_or("ln_final", matches!(norm, Norm::Pre | Norm::Renorm))?;
    if ln_final && norm == Norm::None {
        return Err(r.invalid(
            "ln_final",
            &toml::Value::Boolean(true),
            "false with norm = \"none\" (a model without LayerNorms has no final one)",
        ));
    }
    let d_vocab_out = r.usize_or("d_vocab_out", 0, 0, 1 << 20)?;
    let init = crate::init::Rules::read(r)?;
    Ok(Arc::new(TransformerConfig {
        dropout,
        attn_bias,
        mlp_bias,
        unembed_bias,
        ln_final,
        d_vocab_out,
        init,
        n_layers,
        d_model,
        n_heads,
        d_head,
        d_mlp,
        act_fn,
        norm,
        pos,
        causal,
        tied,
        readout,
        init_scale,
    }))
}

impl crate::choice::Kind for TransformerConfig {
    fn kind(&self) -> &'static str {
        "transformer"
    }
}

impl ModelSpec for TransformerConfig {
    fn fits(&self, shape: &IoShape) -> bool {
        matches!(
            (shape.input, shape.output),
            (Input::Tokens { vocab, .. }, Output::Classes(c)) if !self.tied || c <= vocab
        ) && (shape.after.is_empty() || (self.causal && self.readout == Readout::Last))
    }

    fn init_keys(&self) -> &'static [&'static str] {
        &["init_scale", "init"]
    }

    fn build(&self, shape: &IoShape) -> Result<Box<dyn Model>, ConfigError> {
        let (Input::Tokens { vocab, positions }, Output::Classes(answers)) =
            (shape.input, shape.output)
        else {
            return Err(does_not_fit("transformer", shape));
        };
        if self.d_vocab_out > 0 && self.d_vocab_out < answers {
            return Err(ConfigError::Invalid {
                key: "model.d_vocab_out".into(),
                value: self.d_vocab_out.to_string(),
                allowed: format!("0 (the task's {answers} answers) or at least {answers}"),
            });
        }
        let classes = if self.d_vocab_out > 0 {
            self.d_vocab_out
        } else {
            answers
        };
        if self.tied && classes > vocab {
            return Err(ConfigError::Invalid {
                key: "model.tied".into(),
                value: "true".into(),
                allowed: format!(
                    "false for a task with more answers ({classes}) than tokens ({vocab})"
                ),
            });
        }
        if !shape.after.is_empty() && self.readout == Readout::Concat {
            return Err(ConfigError::Invalid {
                key: "model.readout".into(),
                value: "\"concat\"".into(),
                allowed: format!(
                    "\"last\" for a task whose answer is read at the last {} positions",
                    shape.reads()
                ),
            });
        }
        if !shape.after.is_empty() && !self.causal {
            return Err(ConfigError::Invalid {
                key: "model.causal".into(),
                value: "false".into(),
                allowed: "true for a task that feeds the answer in as a token (a position \
                          attending ahead would read it)"
                    .into(),
            });
        }
        let names = Names::new(self);
        let specs = names.specs(self, vocab, positions, classes);
        let all: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        self.init.check(&all)?;
        Ok(Box::new(Transformer {
            specs,
            names,
            cfg: self.clone(),
            vocab,
            positions,
            classes,
            reads: shape.reads(),
        }))
    }
}

pub struct Transformer {
    cfg: TransformerConfig,
    vocab: usize,
    positions: usize,
    /// Logits per answer position (`d_vocab_out`, or the task's answers).
    classes: usize,
    /// Answer positions read per sample, the last ones (1 but for a task with tokens after the
    /// answer); the output is their logits one after the other, [B, reads * classes].
    reads: usize,
    names: Names,
    specs: Vec<ParamSpec>,
}

/// A hook point over a [M, B, pos, width] activation: flattened per sample for [`Hooks`], and left
/// alone when nothing is recorded or masked.
fn point(hooks: &mut Hooks, name: &str, t: Tensor<4>) -> Tensor<4> {
    if hooks.idle() {
        return t;
    }
    let dims = t.dims();
    let flat = t.reshape([dims[0], dims[1], dims[2] * dims[3]]);
    hooks.point(name, flat).reshape(dims)
}

impl Transformer {
    /// Multiplies `t` (member-major, each member's part laid out as the site's activation) by the
    /// training step's dropout mask of `site` in layer `l`; unchanged at evaluation or without dropout.
    fn drop<const D: usize>(
        &self,
        hooks: &Hooks,
        l: usize,
        site: crate::dropout::Site,
        t: Tensor<D>,
    ) -> Tensor<D> {
        let (p, Some(dr)) = (self.cfg.dropout, hooks.dropout()) else {
            return t;
        };
        if p == 0.0 {
            return t;
        }
        let dims = t.dims();
        let n = dims.iter().product::<usize>() / dr.seeds.len().max(1);
        let mask: Vec<f64> = dr
            .seeds
            .iter()
            .flat_map(|&seed| crate::dropout::mask(seed, dr.step, l, site, n, p))
            .collect();
        let m = Tensor::<D>::from_data(TensorData::new(mask, dims), (&t.device(), t.dtype()));
        t * m
    }

    /// The token embeddings plus the learned positions: the input residual [M, B, P, d].
    fn embed(
        &self,
        p: &ParamTensors<'_>,
        tokens: &[Tensor<2, Int>],
        hooks: &mut Hooks,
    ) -> Tensor<4> {
        let w_e = p.get(&self.names.w_e);
        let [m, _, d] = w_e.dims();
        let pn = tokens.len();
        let [_, b] = tokens[0].dims();
        let embedded: Vec<Tensor<3>> = tokens
            .iter()
            .map(|ids| {
                let idx = ids.clone().reshape([m, b, 1]).expand([m, b, d]);
                w_e.clone().gather(1, idx) // [M, B, d]
            })
            .collect();
        let mut resid: Tensor<4> = Tensor::stack(embedded, 2); // [M, B, P, d]
        resid = point(hooks, "hook_embed", resid);
        if let Some(w_pos) = &self.names.w_pos {
            let w_pos = p.get(w_pos).clone().reshape([m, 1, pn, d]);
            resid = if hooks.idle() {
                resid + w_pos
            } else {
                resid + point(hooks, "hook_pos_embed", w_pos.expand([m, b, pn, d]))
            };
        }
        if self.cfg.pos == Pos::Sinusoidal {
            let table = Tensor::<4>::from_data(
                TensorData::new(sinusoids(pn, d), [1, 1, pn, d]),
                (&resid.device(), resid.dtype()),
            );
            resid = resid + table;
        }
        resid
    }

    /// LayerNorm over the last axis (eps 1e-5, biased variance, as PyTorch), when the model has one.
    fn ln(&self, p: &ParamTensors<'_>, names: Option<&LnNames>, x: Tensor<4>) -> Tensor<4> {
        let Some(names) = names else {
            return x;
        };
        let [m, _, _, d] = x.dims();
        let (var, mean) = x.clone().var_mean_bias(3);
        let xn = (x - mean) / (var + 1e-5).sqrt();
        let w = p.get(&names.w).clone().reshape([m, 1, 1, d]);
        let b = p.get(&names.b).clone().reshape([m, 1, 1, d]);
        xn * w + b
    }

    /// Block `l` on the residual [M, B, P, d]: attention and the MLP, each added to the residual,
    /// with LayerNorm before each (pre-LN) or after each sum (post-LN).
    fn block(
        &self,
        p: &ParamTensors<'_>,
        l: usize,
        mut resid: Tensor<4>,
        hooks: &mut Hooks,
    ) -> Tensor<4> {
        let names = &self.names.blocks[l];
        resid = point(hooks, &format!("blocks.{l}.hook_resid_pre"), resid);
        if self.cfg.norm == Norm::Renorm {
            resid = self.ln(p, names.ln1.as_ref(), resid);
        }
        let attn_in = match self.cfg.norm {
            Norm::Pre => self.ln(p, names.ln1.as_ref(), resid.clone()),
            _ => resid.clone(),
        };
        let attn = self.attention(p, l, attn_in, hooks);
        let attn = self.drop(hooks, l, crate::dropout::Site::AttnOut, attn);
        let attn = point(hooks, &format!("blocks.{l}.hook_attn_out"), attn);
        resid = resid + attn;
        if self.cfg.norm == Norm::Post {
            resid = self.ln(p, names.ln1.as_ref(), resid);
        }
        if self.cfg.d_mlp > 0 {
            resid = point(hooks, &format!("blocks.{l}.hook_resid_mid"), resid);
            let mlp_in = match self.cfg.norm {
                Norm::Pre | Norm::Renorm => self.ln(p, names.ln2.as_ref(), resid.clone()),
                _ => resid.clone(),
            };
            let out = self.mlp(p, l, mlp_in, hooks);
            let out = point(hooks, &format!("blocks.{l}.hook_mlp_out"), out);
            resid = resid + out;
            if self.cfg.norm == Norm::Post {
                resid = self.ln(p, names.ln2.as_ref(), resid);
            }
        }
        point(hooks, &format!("blocks.{l}.hook_resid_post"), resid)
    }

    /// Multi-head attention of layer `l` on x [M, B, P, d].
    fn attention(
        &self,
        p: &ParamTensors<'_>,
        l: usize,
        x: Tensor<4>,
        hooks: &mut Hooks,
    ) -> Tensor<4> {
        let [m, b, pn, d] = x.dims();
        let (h, dh) = (self.cfg.n_heads, self.cfg.d_head);
        let names = &self.names.blocks[l].attn;
        let x2 = x.reshape([m, b * pn, d]);
        // [n_heads, d_model, d_head] as one [d_model, n_heads * d_head] product, heads major
        let project = |w: &str, bias: &Option<String>| {
            let w = p
                .get(w)
                .clone()
                .reshape([m, h, d, dh])
                .swap_dims(1, 2)
                .reshape([m, d, h * dh]);
            let xw = x2.clone().matmul(w);
            let xw = match bias {
                Some(bias) => xw + p.get(bias).clone().reshape([m, 1, h * dh]),
                None => xw,
            };
            xw.reshape([m * b, pn, h, dh]).swap_dims(1, 2) // [M B, H, P, dh]
        };
        let q = project(&names.w_q, &names.b_q);
        let k = project(&names.w_k, &names.b_k);
        let v = project(&names.w_v, &names.b_v);
        // Sequences are a few tokens long: a batched product of [P, d_head] matrices would be one
        // tiny gemm call per sample and head (most of the step's time, measured), so the scores
        // and the mixing are broadcast products summed over one axis instead.
        let scores: Tensor<4> = (q.unsqueeze_dim::<5>(3) * k.unsqueeze_dim::<5>(2))
            .sum_dim(4)
            .squeeze_dim::<4>(4)
            / (dh as f64).sqrt(); // [M B, H, P(query), P(key)]
        let scores = if self.cfg.causal && pn > 1 {
            // a large negative number rather than -inf, as TransformerLens: a fully masked row
            // cannot occur (the diagonal is kept), and no inf enters the backward pass
            let mask: Vec<f64> = (0..pn * pn)
                .map(|k| if k % pn > k / pn { -1e5 } else { 0.0 })
                .collect();
            let mask = Tensor::<4>::from_data(
                TensorData::new(mask, [1, 1, pn, pn]),
                (&scores.device(), scores.dtype()),
            );
            scores + mask
        } else {
            scores
        };
        let pattern = activation::softmax(scores, 3);
        let pattern = if hooks.idle() {
            pattern
        } else {
            let flat = pattern.reshape([m, b, h * pn * pn]);
            hooks
                .point(&format!("blocks.{l}.attn.hook_pattern"), flat)
                .reshape([m * b, h, pn, pn])
        };
        let pattern = self.drop(hooks, l, crate::dropout::Site::Pattern, pattern);
        // z[i] = sum_j pattern[i, j] v[j]
        let z: Tensor<4> = (pattern.unsqueeze_dim::<5>(4) * v.unsqueeze_dim::<5>(2))
            .sum_dim(3)
            .squeeze_dim::<4>(3); // [M B, H, P, dh]
        let z = z
            .swap_dims(1, 2) // [M B, P, H, dh]
            .reshape([m, b * pn, h * dh]);
        let w_o = p.get(&names.w_o).clone().reshape([m, h * dh, d]);
        let out = z.matmul(w_o);
        let out = match &names.b_o {
            Some(b_o) => out + p.get(b_o).clone().reshape([m, 1, d]),
            None => out,
        };
        out.reshape([m, b, pn, d])
    }

    /// The MLP of layer `l` on x [M, B, P, d].
    fn mlp(&self, p: &ParamTensors<'_>, l: usize, x: Tensor<4>, hooks: &mut Hooks) -> Tensor<4> {
        let [m, b, pn, d] = x.dims();
        let Some(names) = &self.names.blocks[l].mlp else {
            unreachable!("the MLP runs only in blocks that have one")
        };
        let n = format!("blocks.{l}.mlp");
        let dm = self.cfg.d_mlp;
        let plus = |t: Tensor<3>, bias: &Option<String>| match bias {
            Some(bias) => t + p.get(bias).clone(),
            None => t,
        };
        let w_in = p.get(&names.w_in).clone();
        let pre = plus(x.reshape([m, b * pn, d]).matmul(w_in), &names.b_in).reshape([m, b, pn, dm]);
        let pre = point(hooks, &format!("{n}.hook_pre"), pre);
        let post = match self.cfg.act_fn {
            Act::Relu => activation::relu(pre),
            Act::Gelu => activation::gelu(pre),
        };
        let post = point(hooks, &format!("{n}.hook_post"), post);
        let post = self.drop(hooks, l, crate::dropout::Site::Hidden, post);
        let w_out = p.get(&names.w_out).clone();
        let out =
            plus(post.reshape([m, b * pn, dm]).matmul(w_out), &names.b_out).reshape([m, b, pn, d]);
        self.drop(hooks, l, crate::dropout::Site::MlpOut, out)
    }

    /// The logits [M, B, reads * classes]: LayerNorm (pre-LN), then the last `reads` positions'
    /// residuals (one row of logits each) or every position's concatenated, times W_U (or W_E's first rows, transposed, when tied), plus b_U.
    fn unembed(&self, p: &ParamTensors<'_>, resid: Tensor<4>) -> Tensor<3> {
        let [m, b, pn, d] = resid.dims();
        let resid = self.ln(p, self.names.ln_final.as_ref(), resid);
        let k = self.reads;
        let read = match self.cfg.readout {
            // the last k positions, one row of logits each
            Readout::Last => resid.narrow(2, pn - k, k).reshape([m, b * k, d]),
            Readout::Concat => resid.reshape([m, b, pn * d]),
        };
        let w_u = match &self.names.w_u {
            Some(w_u) => p.get(w_u).clone(),
            None => p
                .get(&self.names.w_e)
                .clone()
                .narrow(1, 0, self.classes)
                .swap_dims(1, 2),
        };
        let logits = read.matmul(w_u);
        let logits = match &self.names.b_u {
            Some(b_u) => logits + p.get(b_u).clone(),
            None => logits,
        };
        logits.reshape([m, b, k * self.classes])
    }

    /// PyTorch's own start for parameter `spec` (`"pytorch"` in `[model.init]`): `nn.Embedding`
    /// N(0, 1) for W_E and W_pos, `nn.LayerNorm` 1 and 0, and `nn.Linear` U(±1/sqrt(fan_in)) for
    /// every projection and its bias, fan_in that of the layer the tensor belongs to.
    fn pytorch_init(&self, spec: &ParamSpec, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let n = spec.numel();
        let c = &self.cfg;
        let fan_in = match spec.name.rsplit('.').next().unwrap_or("") {
            "W_E" | "W_pos" => return (0..n).map(|_| crate::init::normal(rng)).collect(),
            "w" => return vec![1.0; n],
            "b" => return vec![0.0; n],
            "W_Q" | "W_K" | "W_V" | "b_Q" | "b_K" | "b_V" | "W_in" | "b_in" => c.d_model,
            "W_O" | "b_O" => c.n_heads * c.d_head,
            "W_out" | "b_out" => c.d_mlp,
            // W_U [d_read, d_vocab_out] and b_U
            _ => self
                .specs
                .iter()
                .find(|s| s.name == "unembed.W_U")
                .map_or(c.d_model, |s| s.shape[0]),
        };
        crate::init::uniform(rng, n, 1.0 / (fan_in as f64).sqrt())
    }
}

/// The fixed positional table [positions, d] of `pos = "sinusoidal"`, row-major.
pub fn sinusoids(positions: usize, d: usize) -> Vec<f64> {
    (0..positions)
        .flat_map(|p| {
            (0..d).map(move |i| {
                let even = i - i % 2;
                let angle = p as f64 / 10000f64.powf(even as f64 / d as f64);
                if i % 2 == 0 { angle.sin() } else { angle.cos() }
            })
        })
        .collect()
}

impl Model for Transformer {
    fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let s = self.cfg.init_scale;
        let (d, dh) = (self.cfg.d_model as f64, self.cfg.d_head as f64);
        self.specs
            .iter()
            .map(|spec| {
                let n = spec.numel();
                if let Some(rule) = self.cfg.init.find(&spec.name) {
                    return crate::init::draw(rng, rule, n, |r| self.pytorch_init(spec, r));
                }
                let last = spec.name.rsplit('.').next().unwrap_or("");
                let fan_in = match last {
                    "W_E" | "W_pos" | "W_Q" | "W_K" | "W_V" | "W_in" => d,
                    "W_O" => dh * self.cfg.n_heads as f64,
                    "W_out" => self.cfg.d_mlp as f64,
                    "W_U" => self.vocab as f64,
                    // LayerNorm weights start at 1, every bias at 0
                    "w" => return vec![1.0; n],
                    _ => return vec![0.0; n],
                };
                let sd = s / fan_in.sqrt();
                (0..n).map(|_| sd * crate::init::normal(rng)).collect()
            })
            .collect()
    }

    /// Shapes: tokens [M, B] per position; output [M, B, d_vocab_out].
    fn forward(&self, p: &ParamTensors<'_>, inputs: &Inputs, hooks: &mut Hooks) -> Tensor<3> {
        let Inputs::Tokens(tokens) = inputs else {
            unreachable!("the transformer was built for token inputs")
        };
        let mut resid = self.embed(p, tokens, hooks);
        for l in 0..self.cfg.n_layers {
            resid = self.block(p, l, resid, hooks);
        }
        self.unembed(p, resid)
    }

    fn d_out(&self) -> usize {
        self.reads * self.classes
    }

    fn kernel(&self, precision: Precision) -> Result<AnyKernel, String> {
        kernel::build(self, precision)
    }

    fn head(&self) -> Head {
        Head::Logits
    }

    fn hook_points(&self) -> Vec<(String, usize)> {
        let (pn, d) = (self.positions, self.cfg.d_model);
        let mut v = vec![("hook_embed".to_string(), pn * d)];
        if self.cfg.pos == Pos::Learned {
            v.push(("hook_pos_embed".into(), pn * d));
        }
        for l in 0..self.cfg.n_layers {
            v.push((format!("blocks.{l}.hook_resid_pre"), pn * d));
            v.push((
                format!("blocks.{l}.attn.hook_pattern"),
                self.cfg.n_heads * pn * pn,
            ));
            v.push((format!("blocks.{l}.hook_attn_out"), pn * d));
            if self.cfg.d_mlp > 0 {
                v.push((format!("blocks.{l}.hook_resid_mid"), pn * d));
                v.push((format!("blocks.{l}.mlp.hook_pre"), pn * self.cfg.d_mlp));
                v.push((format!("blocks.{l}.mlp.hook_post"), pn * self.cfg.d_mlp));
                v.push((format!("blocks.{l}.hook_mlp_out"), pn * d));
            }
            v.push((format!("blocks.{l}.hook_resid_post"), pn * d));
        }
        v
    }

    fn activation_floats(&self) -> f64 {
        let c = &self.cfg;
        let pn = self.positions as f64;
        let per_layer = pn
            * (10.0 * c.d_model as f64
                + 6.0 * (c.n_heads * c.d_head) as f64
                + 3.0 * c.n_heads as f64 * pn
                + 4.0 * c.d_mlp as f64);
        // values and their gradients
        2.0 * (c.n_layers as f64 * per_layer + pn * c.d_model as f64 + self.classes as f64)
    }
}
