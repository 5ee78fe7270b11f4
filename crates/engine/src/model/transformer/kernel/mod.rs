//! The transformer's fused forward/backward (pre-LN or no LayerNorm, ReLU or GELU MLPs, learned or no
//! positions, causal or not, untied unembedding read at the last position or at every position
//! concatenated): one member's step on host memory with faer products, written out by hand, into
//! buffers allocated once. It computes the function of the burn forward pass beside it (`../mod.rs`)
//! and is laid out as that is: [`embed`], per block [`attention`] and [`mlp`] with LayerNorm
//! ([`LayerNorm`], from [`crate::host`]), [`unembed`]; each part has its forward and its backward
//! side by side and takes its parameter names from the model's [`super::names`].
//!
//! Rows are samples times positions, row b P + p. Two things make it cheaper than the general
//! path while computing the same function:
//! - only the last position is read, so the last layer computes its queries' attention, W_O, MLP
//!   and residual at that position alone (its keys and values still at every position);
//! - sequences are a few tokens long, so scores, softmax and mixing are plain loops per sample
//!   and head instead of tiny matrix products.
//!
//! Forward of layer l on residual x: a = LN1(x); [q k v] = a [W_Q W_K W_V] + b;
//! pattern = softmax(q k^T / sqrt(d_head), masked); z = pattern v; x_mid = x + z W_O + b_O;
//! m = LN2(x_mid); x_out = x_mid + relu(m W_in + b_in) W_out + b_out. Logits: LN_final(x) W_U + b_U.
//! Backward is the chain rule through each of these in reverse. burn's autodiff is the reference
//! (`tests/transformer.rs`).

mod attention;
mod embed;
mod mlp;
mod unembed;

use super::names::LnNames;
use super::{Act, Norm, Pos, Readout, Transformer};
use crate::host::{add_into, grow, ln_backward, ln_forward, two, value};
use crate::loss::{HostTargets, Loss};
use crate::model::kernel::{AnyKernel, FusedReal, HostInputs, Kernel};
use crate::params::{ParamSpec, Params, Precision};
use attention::Attention;
use embed::Embed;
use mlp::Mlp;
use unembed::Unembed;

/// The kernel of `model` in `precision`, or why it has none.
pub(super) fn build(model: &Transformer, precision: Precision) -> Result<AnyKernel, String> {
    let c = &model.cfg;
    if c.tied {
        return Err(
            "the transformer's kernel covers an untied unembedding, not tied = true".to_string(),
        );
    }
    Ok(match precision {
        Precision::F32 => AnyKernel::F32(Box::new(TransformerKernel::<f32>::new(model))),
        Precision::F64 => AnyKernel::F64(Box::new(TransformerKernel::<f64>::new(model))),
    })
}

/// The sizes and settings every part reads.
#[derive(Debug, Clone, Copy)]
struct Shape {
    d: usize,
    heads: usize,
    dh: usize,
    /// MLP width (0: attention only).
    f: usize,
    classes: usize,
    /// Answer positions read per sample (the last ones; 1 with `readout = "concat"`).
    reads: usize,
    positions: usize,
    causal: bool,
    /// Dropout probability in training.
    p_drop: f64,
    /// The block re-normalises its residual stream (`norm = "renorm"`): the skip connection
    /// around attention carries LN1(x), not x.
    renorm: bool,
    /// LayerNorms after each residual sum (`norm = "post"`), not before each sublayer.
    post: bool,
}

/// What each part's forward and backward read in one member's pass over one batch.
#[derive(Clone, Copy)]
struct Pass<'a> {
    params: &'a Params,
    /// The member.
    m: usize,
    /// Samples in the batch.
    b: usize,
    /// Whether this pass drops units (training with dropout).
    dropping: bool,
    sh: &'a Shape,
}

impl<'a> Pass<'a> {
    /// The member's values of parameter `k`.
    fn value<E: FusedReal>(&self, k: usize) -> &'a [E] {
        value(self.params, k, self.m)
    }
}

/// The store index of a parameter the model declares.
fn index(specs: &[ParamSpec], name: &str) -> usize {
    specs
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("the transformer declares {name}"))
}

/// A LayerNorm's parameters and what its forward pass keeps for the backward pass.
struct LayerNorm<E> {
    w: usize,
    b: usize,
    xhat: Vec<E>,
    rstd: Vec<E>,
}

impl<E: FusedReal> LayerNorm<E> {
    fn new(specs: &[ParamSpec], names: &LnNames) -> LayerNorm<E> {
        LayerNorm {
            w: index(specs, &names.w),
            b: index(specs, &names.b),
            xhat: Vec::new(),
            rstd: Vec::new(),
        }
    }
}

/// out = LN(x) over `rows` rows of width d, or x itself without a LayerNorm.
fn norm_forward<E: FusedReal>(
    ln: Option<&mut LayerNorm<E>>,
    p: &Pass,
    x: &[E],
    out: &mut [E],
    rows: usize,
) {
    let d = p.sh.d;
    match ln {
        Some(ln) => {
            grow(&mut ln.xhat, rows * d);
            grow(&mut ln.rstd, rows);
            ln_forward(
                x,
                p.value(ln.w),
                p.value(ln.b),
                out,
                &mut ln.xhat,
                &mut ln.rstd,
                rows,
                d,
            );
        }
        None => out[..rows * d].copy_from_slice(&x[..rows * d]),
    }
}

/// The backward of [`norm_forward`]: dx = (or += with `add`) the gradient through LN of dy, its
/// weight and bias gradients accumulated in `grads`.
fn norm_backward<E: FusedReal>(
    ln: Option<&LayerNorm<E>>,
    p: &Pass,
    grads: &mut [Vec<E>],
    dy: &[E],
    dx: &mut [E],
    rows: usize,
    add: bool,
) {
    let d = p.sh.d;
    match ln {
        Some(ln) => {
            let (dw, db) = two(grads, ln.w, ln.b);
            ln_backward(
                dy,
                &ln.xhat,
                &ln.rstd,
                p.value(ln.w),
                dw,
                db,
                dx,
                rows,
                d,
                add,
            );
        }
        None if add => add_into(&mut dx[..rows * d], dy),
        None => dx[..rows * d].copy_from_slice(&dy[..rows * d]),
    }
}

/// The rows of a dropout mask over [B, P, width] that the fused pass computes: the last `nq`
/// positions of every sample.
#[allow(clippy::too_many_arguments)]
fn query_rows_mask<E: FusedReal>(
    (seed, step): (u64, u64),
    l: usize,
    site: crate::dropout::Site,
    width: usize,
    b: usize,
    nq: usize,
    sh: &Shape,
    out: &mut Vec<E>,
) {
    let pn = sh.positions;
    let full = crate::dropout::mask(seed, step, l, site, b * pn * width, sh.p_drop);
    out.clear();
    for s in 0..b {
        let at = (s * pn + pn - nq) * width;
        out.extend(full[at..at + nq * width].iter().map(|&x| E::of(x)));
    }
}

/// One block: LayerNorm 1, attention, LayerNorm 2 and the MLP, and the residual after them.
struct Block<E> {
    ln1: Option<LayerNorm<E>>,
    attn: Attention<E>,
    ln2: Option<LayerNorm<E>>,
    mlp: Option<Mlp<E>>,
    /// The block's output residual at its query rows [B nq, d] (x_mid, then x_out).
    out: Vec<E>,
    /// A post-LN sum before its LayerNorm [B nq, d].
    sum: Vec<E>,
}

/// Gradient buffers every block uses in turn.
#[derive(Default)]
struct Scratch<E> {
    /// The gradient of the current residual (a block's output, then its input) [B P, d].
    g_x: Vec<E>,
    /// The gradient of x_mid [B nq, d].
    g_mid: Vec<E>,
    /// The gradient of a sublayer's input [B P, d].
    g_tmp: Vec<E>,
    /// A gradient times a dropout mask.
    g_drop: Vec<E>,
    /// The gradient of the MLP's hidden activation [B nq, d_mlp].
    g_hidden: Vec<E>,
    attn: attention::Scratch<E>,
    /// The gradient of the logits [B, C].
    g_logits: Vec<E>,
    /// A post-LN sum's gradient [B nq, d].
    g_post: Vec<E>,
}

pub struct TransformerKernel<E> {
    sh: Shape,
    /// The unembedding reads every position's residual, concatenated (Liu et al.'s encoder).
    concat: bool,
    /// Whether this step drops (training with p_drop > 0).
    dropping: bool,
    embed: Embed<E>,
    blocks: Vec<Block<E>>,
    unembed: Unembed<E>,
    scratch: Scratch<E>,
    grads: Vec<Vec<E>>,
}

impl<E: FusedReal> TransformerKernel<E> {
    fn new(model: &Transformer) -> TransformerKernel<E> {
        let (cfg, names, specs) = (&model.cfg, &model.names, &model.specs);
        let sh = Shape {
            d: cfg.d_model,
            heads: cfg.n_heads,
            dh: cfg.d_head,
            f: cfg.d_mlp,
            classes: model.classes,
            reads: model.reads,
            positions: model.positions,
            causal: cfg.causal,
            p_drop: cfg.dropout,
            renorm: cfg.norm == Norm::Renorm,
            post: cfg.norm == Norm::Post,
        };
        let blocks = names
            .blocks
            .iter()
            .map(|n| Block {
                ln1: n.ln1.as_ref().map(|n| LayerNorm::new(specs, n)),
                attn: Attention::new(specs, &n.attn),
                ln2: n.ln2.as_ref().map(|n| LayerNorm::new(specs, n)),
                mlp: n
                    .mlp
                    .as_ref()
                    .map(|n| Mlp::new(specs, n, cfg.act_fn == Act::Gelu)),
                out: Vec::new(),
                sum: Vec::new(),
            })
            .collect();
        TransformerKernel {
            sh,
            concat: cfg.readout == Readout::Concat,
            dropping: false,
            embed: Embed::new(specs, names, cfg.pos == Pos::Sinusoidal, &sh),
            blocks,
            unembed: Unembed::new(specs, names),
            scratch: Scratch::default(),
            grads: specs.iter().map(|s| vec![E::zero(); s.numel()]).collect(),
        }
    }

    /// Query positions of layer l: all, or the last `reads` alone in the last layer when only those
    /// are read.
    fn nq(&self, l: usize) -> usize {
        if l + 1 == self.blocks.len() && !self.concat {
            self.sh.reads
        } else {
            self.sh.positions
        }
    }

    /// How the unembedding reads the last block's output [B nq, d]: (rows per sample, row width):
    /// one row of every position concatenated, or one row per answer position.
    fn read_rows(&self) -> (usize, usize) {
        let nq = self.nq(self.blocks.len() - 1);
        if self.concat {
            (1, nq * self.sh.d)
        } else {
            (nq, self.sh.d)
        }
    }

    /// The logits of `b` samples into the unembedding's buffer; `dropout` is the member's (seed,
    /// step) in training.
    fn forward_impl(
        &mut self,
        params: &Params,
        m: usize,
        tokens: &[Vec<usize>],
        b: usize,
        dropout: Option<(u64, u64)>,
    ) {
        let dropout = dropout.filter(|_| self.sh.p_drop > 0.0);
        self.dropping = dropout.is_some();
        let sh = self.sh;
        let p = Pass {
            params,
            m,
            b,
            dropping: self.dropping,
            sh: &sh,
        };
        self.embed.forward(&p, tokens);
        for l in 0..self.blocks.len() {
            let nq = self.nq(l);
            let (before, rest) = self.blocks.split_at_mut(l);
            let x: &[E] = if l == 0 {
                &self.embed.x0
            } else {
                &before[l - 1].out
            };
            block_forward(&mut rest[0], &p, l, x, nq, dropout);
        }
        let last = &self.blocks[self.blocks.len() - 1].out;
        self.unembed.forward(&p, last, self.read_rows());
    }

    fn backward(&mut self, params: &Params, m: usize, tokens: &[Vec<usize>], b: usize) {
        let (d, pn) = (self.sh.d, self.sh.positions);
        let rows = b * pn;
        for g in &mut self.grads {
            g.fill(E::zero());
        }
        let read = self.read_rows();
        let p = Pass {
            params,
            m,
            b,
            dropping: self.dropping,
            sh: &self.sh,
        };
        let s = &mut self.scratch;
        grow(&mut s.g_x, rows * d);
        grow(&mut s.g_tmp, rows * d);
        self.unembed.backward(&p, read, s, &mut self.grads);
        for l in (0..self.blocks.len()).rev() {
            let nq = self.nq(l);
            block_backward(&self.blocks[l], &p, nq, &mut self.scratch, &mut self.grads);
        }
        self.embed
            .backward(&p, tokens, &self.scratch.g_x, &mut self.grads);
    }
}

/// Block `l` on the residual x [B P, d] into its `out` [B nq, d]: x_mid = x + attention(LN1(x)),
/// x_out = x_mid + MLP(LN2(x_mid)).
fn block_forward<E: FusedReal>(
    block: &mut Block<E>,
    p: &Pass,
    l: usize,
    x: &[E],
    nq: usize,
    dropout: Option<(u64, u64)>,
) {
    let (b, sh) = (p.b, p.sh);
    let (d, pn) = (sh.d, sh.positions);
    let (rows, qrows) = (b * pn, b * nq);
    block.attn.pack(p);
    if let Some(dr) = dropout {
        block.attn.masks(dr, l, b, nq, sh);
        if let Some(mlp) = &mut block.mlp {
            mlp.masks(dr, l, b, nq, sh);
        }
    }
    let post = sh.post;
    grow(&mut block.attn.input, rows * d);
    let ln1_before = if post { None } else { block.ln1.as_mut() };
    norm_forward(ln1_before, p, x, &mut block.attn.input, rows);
    grow(&mut block.out, qrows * d);
    block.attn.forward(p, nq, &mut block.out);
    // the residual at the query rows: x, or LN1(x) when the block re-normalises it
    let skip: &[E] = if sh.renorm { &block.attn.input } else { x };
    let q0 = pn - nq;
    for s in 0..b {
        for ii in 0..nq {
            let (r, src) = (s * nq + ii, s * pn + q0 + ii);
            add_into(
                &mut block.out[r * d..(r + 1) * d],
                &skip[src * d..(src + 1) * d],
            );
        }
    }
    if post {
        post_norm(block.ln1.as_mut(), p, &mut block.out, &mut block.sum, qrows);
    }
    if let Some(mlp) = &mut block.mlp {
        grow(&mut mlp.input, qrows * d);
        let ln2_before = if post { None } else { block.ln2.as_mut() };
        norm_forward(ln2_before, p, &block.out, &mut mlp.input, qrows);
        mlp.forward(p, qrows, &mut block.out);
        if post {
            post_norm(block.ln2.as_mut(), p, &mut block.out, &mut block.sum, qrows);
        }
    }
}

/// out = LN(out) over `rows` rows in place (post-LN), `sum` keeping nothing the backward needs
/// (the LayerNorm keeps its own normalised rows).
fn post_norm<E: FusedReal>(
    ln: Option<&mut LayerNorm<E>>,
    p: &Pass,
    out: &mut Vec<E>,
    sum: &mut Vec<E>,
    rows: usize,
) {
    grow(sum, rows * p.sh.d);
    std::mem::swap(out, sum);
    norm_forward(ln, p, sum, out, rows);
}

/// The backward of [`block_forward`]: from the gradient of the block's output in `s.g_x` [B nq, d]
/// to that of its input residual in `s.g_x` [B P, d], the block's parameter gradients in `grads`.
fn block_backward<E: FusedReal>(
    block: &Block<E>,
    p: &Pass,
    nq: usize,
    s: &mut Scratch<E>,
    grads: &mut [Vec<E>],
) {
    let (b, d, pn) = (p.b, p.sh.d, p.sh.positions);
    let (rows, qrows) = (b * pn, b * nq);
    if p.sh.post {
        return post_block_backward(block, p, nq, s, grads);
    }
    grow(&mut s.g_mid, qrows * d);
    s.g_mid[..qrows * d].copy_from_slice(&s.g_x[..qrows * d]);
    if let Some(mlp) = &block.mlp {
        mlp.backward(p, qrows, s, grads);
        norm_backward(
            block.ln2.as_ref(),
            p,
            grads,
            &s.g_tmp,
            &mut s.g_mid,
            qrows,
            true,
        );
    }
    block.attn.backward(p, nq, s, grads);
    // the residual path at the query rows: into x, or into LN1(x) before LN1's backward when the
    // block re-normalises its residual
    if p.sh.renorm {
        add_to_query_rows(&mut s.g_tmp, &s.g_mid, p, nq);
    }
    norm_backward(
        block.ln1.as_ref(),
        p,
        grads,
        &s.g_tmp,
        &mut s.g_x,
        rows,
        false,
    );
    if !p.sh.renorm {
        add_to_query_rows(&mut s.g_x, &s.g_mid, p, nq);
    }
}

/// to [B P, d] at the last `nq` positions of every sample += from [B nq, d]: a residual's gradient
/// reaching the rows it was read from.
fn add_to_query_rows<E: FusedReal>(to: &mut [E], from: &[E], p: &Pass, nq: usize) {
    let (d, pn) = (p.sh.d, p.sh.positions);
    for k in 0..p.b {
        for ii in 0..nq {
            let (r, dst) = (k * nq + ii, k * pn + pn - nq + ii);
            add_into(&mut to[dst * d..(dst + 1) * d], &from[r * d..(r + 1) * d]);
        }
    }
}

/// [`block_backward`] of a post-LN block, x_mid = LN1(x + attn(x)), x_out = LN2(x_mid + mlp(x_mid)):
/// each LayerNorm's backward first, then the sublayer and its residual.
fn post_block_backward<E: FusedReal>(
    block: &Block<E>,
    p: &Pass,
    nq: usize,
    s: &mut Scratch<E>,
    grads: &mut [Vec<E>],
) {
    let (b, d, pn) = (p.b, p.sh.d, p.sh.positions);
    let (rows, qrows) = (b * pn, b * nq);
    grow(&mut s.g_mid, qrows * d);
    grow(&mut s.g_post, qrows * d);
    if let Some(mlp) = &block.mlp {
        // through LN2 to the sum x_mid + mlp(x_mid), which the MLP reads as its output's gradient
        norm_backward(
            block.ln2.as_ref(),
            p,
            grads,
            &s.g_x,
            &mut s.g_post,
            qrows,
            false,
        );
        s.g_x[..qrows * d].copy_from_slice(&s.g_post[..qrows * d]);
        s.g_mid[..qrows * d].copy_from_slice(&s.g_post[..qrows * d]);
        mlp.backward(p, qrows, s, grads);
        add_into(&mut s.g_mid[..qrows * d], &s.g_tmp[..qrows * d]);
    } else {
        s.g_mid[..qrows * d].copy_from_slice(&s.g_x[..qrows * d]);
    }
    // through LN1 to the sum x + attn(x)
    norm_backward(
        block.ln1.as_ref(),
        p,
        grads,
        &s.g_mid,
        &mut s.g_post,
        qrows,
        false,
    );
    s.g_mid[..qrows * d].copy_from_slice(&s.g_post[..qrows * d]);
    block.attn.backward(p, nq, s, grads);
    s.g_x[..rows * d].copy_from_slice(&s.g_tmp[..rows * d]);
    add_to_query_rows(&mut s.g_x, &s.g_mid, p, nq);
}

impl<E: FusedReal> Kernel<E> for TransformerKernel<E> {
    fn forward(&mut self, params: &Params, m: usize, inputs: &HostInputs<'_, E>, b: usize) -> &[E] {
        let HostInputs::Tokens(tokens) = inputs else {
            unreachable!("the transformer takes tokens")
        };
        // evaluation: nothing is dropped
        self.forward_impl(params, m, tokens, b, None);
        &self.unembed.logits[..b * self.sh.reads * self.sh.classes]
    }

    fn step(
        &mut self,
        params: &Params,
        m: usize,
        inputs: HostInputs<'_, E>,
        targets: HostTargets<'_>,
        loss: &dyn Loss,
        b: usize,
        dropout: Option<(u64, u64)>,
    ) -> f64 {
        let HostInputs::Tokens(tokens) = inputs else {
            unreachable!("the transformer takes tokens")
        };
        self.forward_impl(params, m, tokens, b, dropout);
        // the loss reads the reads rows of each sample as samples of their own
        let c = self.sh.reads * self.sh.classes;
        let g = &mut self.scratch.g_logits;
        grow(g, b * c);
        let total = E::loss(
            loss,
            &self.unembed.logits[..b * c],
            targets,
            &mut g[..b * c],
        );
        if !total.is_finite() {
            return total;
        }
        self.backward(params, m, tokens, b);
        total
    }

    fn grads(&self) -> &[Vec<E>] {
        &self.grads
    }
}
