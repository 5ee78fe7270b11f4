//! The MLP family as a stack of dense layers over named parameters ([`Stack`]: the toy model's
//! decoder over summed embeddings, the MLP students), and its kernel: one member's training step on
//! host memory, straight from the parameter store, with faer products on the calling thread and
//! hand-written backward passes into buffers allocated once.
//!
//! For one member with batch B, layers l = 0..L-1 of widths w_l -> w_{l+1}:
//!   h_0 = x (dense) or sum_p E[token_p] (embeddings);  z_{l+1} = h_l W_l + b_l;
//!   h_{l+1} = act(z_{l+1}) for hidden layers, h_L = z_L the output;
//!   g_L = dLoss/dh_L (the loss's host form);  dW_l = h_l^T g_{l+1};  db_l = column sums of g_{l+1};
//!   g_l = (g_{l+1} W_l^T) * act'(h_l) for l >= 1;  dE[token_p] += g_1 W_0^T for every position p.
//!
//! The models' burn forward passes (`toy.rs`, `mlp.rs`) are the reference:
//! `tests/fused_gradients.rs` checks both give the same gradients on every model and head of the
//! family.

use super::kernel::{AnyKernel, FusedReal, HostInputs, Kernel};
use crate::host::{
    activate, add_bias, add_column_sums, derivative, mm, mm_nt, mm_tn, mm_tn_add, value,
};
use crate::loss::{HostTargets, Loss};
use crate::ops::Activation;
use crate::params::{ParamSpec, Params, Precision};

/// A model of the MLP family, described by its parameter names: what its kernel computes, and
/// what the probes of neurons read.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub input: StackInput,
    /// Layers in order.
    pub layers: Vec<StackLayer>,
    /// Activation after every layer but the last.
    pub act_fn: Activation,
}

/// How the first layer's input is formed.
#[derive(Debug, Clone, PartialEq)]
pub enum StackInput {
    /// The features themselves, `dim` per sample.
    Dense { dim: usize },
    /// The sum over positions of rows of an embedding table [vocab, dim] (the toy model's E_a + E_b).
    SumOfEmbeddings { table: String, dim: usize },
}

/// One dense layer: input times `w` [d_in, d_out], plus `b` [d_out] when present.
#[derive(Debug, Clone, PartialEq)]
pub struct StackLayer {
    pub w: String,
    pub b: Option<String>,
    pub d_in: usize,
    pub d_out: usize,
}

impl Stack {
    /// The stack's kernel in `precision`, over the model's parameters `specs`; an error when the
    /// stack does not cover every one of them.
    pub fn kernel(&self, specs: &[ParamSpec], precision: Precision) -> Result<AnyKernel, String> {
        let missing = || "the dense stack does not cover every parameter".to_string();
        Ok(match precision {
            Precision::F32 => AnyKernel::F32(Box::new(
                StackKernel::<f32>::new(self, specs).ok_or_else(missing)?,
            )),
            Precision::F64 => AnyKernel::F64(Box::new(
                StackKernel::<f64>::new(self, specs).ok_or_else(missing)?,
            )),
        })
    }
}

/// One layer's parameters as indices into the store.
#[derive(Debug, Clone)]
struct Layer {
    w: usize,
    b: Option<usize>,
    d_in: usize,
    d_out: usize,
}

/// The kernel of one stack, with its buffers.
pub struct StackKernel<E> {
    /// Index of the embedding table, for summed-embedding inputs.
    table: Option<usize>,
    d0: usize,
    layers: Vec<Layer>,
    act: Activation,
    /// Buffers sized for the largest batch seen: h_0 (embeddings), h_1 .. h_L.
    h: Vec<Vec<E>>,
    /// Two gradient buffers used in turn, [B, max width].
    g: [Vec<E>; 2],
    /// One member's gradient of every parameter, in spec order.
    pub grads: Vec<Vec<E>>,
    /// Rows per block of the one-pass kernel of single-layer dense models.
    block_rows: usize,
}

impl<E: FusedReal> StackKernel<E> {
    /// The kernel of `stack`, when it covers every parameter of `specs` (and None otherwise).
    pub fn new(stack: &Stack, specs: &[ParamSpec]) -> Option<StackKernel<E>> {
        let index = |name: &str| specs.iter().position(|s| s.name == name);
        let (table, d0) = match &stack.input {
            StackInput::Dense { dim } => (None, *dim),
            StackInput::SumOfEmbeddings { table, dim } => (Some(index(table)?), *dim),
        };
        let layers = stack
            .layers
            .iter()
            .map(|l| {
                Some(Layer {
                    w: index(&l.w)?,
                    b: match &l.b {
                        Some(b) => Some(index(b)?),
                        None => None,
                    },
                    d_in: l.d_in,
                    d_out: l.d_out,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let covered = table.iter().count()
            + layers
                .iter()
                .map(|l| 1 + usize::from(l.b.is_some()))
                .sum::<usize>();
        if covered != specs.len() || layers.is_empty() {
            return None;
        }
        Some(StackKernel {
            table,
            d0,
            h: vec![Vec::new(); layers.len() + 1],
            g: [Vec::new(), Vec::new()],
            grads: specs.iter().map(|s| vec![E::zero(); s.numel()]).collect(),
            // ~64 KB of inputs per block, which stay in L1/L2 from the forward to the backward
            block_rows: (16384 / d0.max(1)).max(1),
            layers,
            act: stack.act_fn,
        })
    }

    /// Sets the rows per block of the one-pass kernel (tests make blocks small).
    pub fn with_block_rows(mut self, rows: usize) -> StackKernel<E> {
        self.block_rows = rows.max(1);
        self
    }

    /// Grows the buffers to a batch of `b`.
    fn reserve(&mut self, b: usize) {
        let widest = self
            .layers
            .iter()
            .map(|l| l.d_out.max(l.d_in))
            .max()
            .unwrap_or(0);
        let widths = std::iter::once(self.d0).chain(self.layers.iter().map(|l| l.d_out));
        for (buf, w) in self.h.iter_mut().zip(widths) {
            crate::host::grow(buf, b * w);
        }
        for g in &mut self.g {
            crate::host::grow(g, b * widest);
        }
    }

    /// h_0 = the sum over positions of each sample's embedding rows.
    fn embed(&mut self, e: &[E], tokens: &[Vec<usize>], b: usize) {
        let d = self.d0;
        let h0 = &mut self.h[0][..b * d];
        h0.fill(E::zero());
        for pos in tokens.iter() {
            for (k, &tok) in pos.iter().enumerate() {
                for (a, &v) in h0[k * d..(k + 1) * d]
                    .iter_mut()
                    .zip(&e[tok * d..(tok + 1) * d])
                {
                    *a += v;
                }
            }
        }
    }

    /// A single dense layer (the linear students) in one pass over the inputs: block by block,
    /// forward, the loss's gradient and the weight gradient while the block's rows are in cache
    /// (the two separate products read the whole input twice; for a 1111 x 1000 input that is
    /// memory traffic, not arithmetic). The loss's host form is a mean of per-sample terms, so a
    /// block's mean and gradient, weighted by its share of the batch, add up to the batch's.
    fn one_layer(
        &mut self,
        params: &Params,
        m: usize,
        x: &[E],
        targets: HostTargets<'_>,
        loss: &dyn Loss,
        b: usize,
    ) -> f64 {
        let layer = self.layers[0].clone();
        let (d_in, d_out) = (layer.d_in, layer.d_out);
        let rows = self.block_rows.min(b.max(1));
        crate::host::grow(&mut self.h[1], rows * d_out);
        crate::host::grow(&mut self.g[0], rows * d_out);
        self.grads[layer.w].fill(E::zero());
        if let Some(bi) = layer.b {
            self.grads[bi].fill(E::zero());
        }
        let mut total = 0.0;
        for r0 in (0..b).step_by(rows) {
            let r1 = (r0 + rows).min(b);
            let n = r1 - r0;
            let xb = &x[r0 * d_in..r1 * d_in];
            let z = &mut self.h[1][..n * d_out];
            mm(z, xb, value(params, layer.w, m), n, d_in, d_out);
            if let Some(bi) = layer.b {
                add_bias(z, value(params, bi, m));
            }
            let tb = match targets {
                HostTargets::Classes(c) => HostTargets::Classes(&c[r0..r1]),
                HostTargets::Vectors(v) => HostTargets::Vectors(&v[r0 * d_out..r1 * d_out]),
            };
            let g = &mut self.g[0][..n * d_out];
            let share = n as f64 / b as f64;
            let part = E::loss(loss, z, tb, g);
            if !part.is_finite() {
                return part;
            }
            total += part * share;
            let w = E::of(share);
            for v in g.iter_mut() {
                *v *= w;
            }
            mm_tn_add(&mut self.grads[layer.w], xb, g, n, d_in, d_out);
            if let Some(bi) = layer.b {
                add_column_sums(&mut self.grads[bi], g);
            }
        }
        total
    }
}

impl<E: FusedReal> Kernel<E> for StackKernel<E> {
    /// The forward pass of member `m` on `b` samples into the buffers; returns the outputs [b, d_out].
    fn forward(&mut self, params: &Params, m: usize, inputs: &HostInputs<'_, E>, b: usize) -> &[E] {
        self.reserve(b);
        if let (Some(t), HostInputs::Tokens(tokens)) = (self.table, inputs) {
            self.embed(value(params, t, m), tokens, b);
        }
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = self.h.split_at_mut(l + 1);
            let input: &[E] = match (inputs, l) {
                (HostInputs::Dense(x), 0) => x,
                _ => &before[l][..b * layer.d_in],
            };
            let out = &mut after[0][..b * layer.d_out];
            mm(
                out,
                input,
                value(params, layer.w, m),
                b,
                layer.d_in,
                layer.d_out,
            );
            if let Some(bi) = layer.b {
                add_bias(out, value(params, bi, m));
            }
            if l < last {
                activate(self.act, out);
            }
        }
        &self.h[last + 1][..b * self.layers[last].d_out]
    }

    /// Forward, loss and backward of member `m` on one batch of `b` samples: returns the mean loss
    /// and leaves the member's gradient in [`StackKernel::grads`]. A non-finite loss returns early
    /// (the member diverged; its gradient is not used).
    fn step(
        &mut self,
        params: &Params,
        m: usize,
        inputs: HostInputs<'_, E>,
        targets: HostTargets<'_>,
        loss: &dyn Loss,
        b: usize,
        _dropout: Option<(u64, u64)>,
    ) -> f64 {
        if let (1, HostInputs::Dense(x)) = (self.layers.len(), &inputs) {
            return self.one_layer(params, m, x, targets, loss, b);
        }
        self.forward(params, m, &inputs, b);
        let last = self.layers.len() - 1;
        // loss and its gradient at the output
        let d_out = self.layers[last].d_out;
        let (g_cur, g_next) = self.g.split_at_mut(1);
        let (mut g, mut spare) = (&mut g_cur[0], &mut g_next[0]);
        let total = E::loss(
            loss,
            &self.h[last + 1][..b * d_out],
            targets,
            &mut g[..b * d_out],
        );
        if !total.is_finite() {
            return total;
        }
        // backward
        for l in (0..=last).rev() {
            let layer = &self.layers[l];
            let input: &[E] = match (&inputs, l) {
                (HostInputs::Dense(x), 0) => x,
                _ => &self.h[l][..b * layer.d_in],
            };
            let gl = &g[..b * layer.d_out];
            mm_tn(
                &mut self.grads[layer.w],
                input,
                gl,
                b,
                layer.d_in,
                layer.d_out,
            );
            if let Some(bi) = layer.b {
                let db = &mut self.grads[bi];
                db.fill(E::zero());
                add_column_sums(db, gl);
            }
            let needs_input_grad = l > 0 || self.table.is_some();
            if needs_input_grad {
                let gin = &mut spare[..b * layer.d_in];
                mm_nt(
                    gin,
                    gl,
                    value(params, layer.w, m),
                    b,
                    layer.d_out,
                    layer.d_in,
                );
                if l > 0 {
                    derivative(self.act, gin, &self.h[l][..b * layer.d_in]);
                }
                std::mem::swap(&mut g, &mut spare);
            }
        }
        // the embedding table: every position's token row takes the input gradient
        if let (Some(t), HostInputs::Tokens(tokens)) = (self.table, &inputs) {
            let d = self.d0;
            let de = &mut self.grads[t];
            de.fill(E::zero());
            for pos in tokens.iter() {
                for (k, &tok) in pos.iter().enumerate() {
                    for (a, &v) in de[tok * d..(tok + 1) * d]
                        .iter_mut()
                        .zip(&g[k * d..(k + 1) * d])
                    {
                        *a += v;
                    }
                }
            }
        }
        total
    }

    fn grads(&self) -> &[Vec<E>] {
        &self.grads
    }
}
