//! The fused forward/backward of the MLP family (the toy model's decoder over summed embeddings,
//! the MLP students): one member's training step computed on host memory, straight from the
//! parameter store, with direct faer matrix products and hand-written backward passes, into
//! buffers allocated once. No tensors, no autodiff graph, no copies between the store and tensors.
//!
//! For one member with batch B, layers l = 0..L-1 of widths w_l -> w_{l+1}:
//!   h_0 = x (dense) or sum_p E[token_p] (embeddings);  z_{l+1} = h_l W_l + b_l;
//!   h_{l+1} = act(z_{l+1}) for hidden layers, h_L = z_L the output;
//!   g_L = dLoss/dh_L (the loss's host form);  dW_l = h_l^T g_{l+1};  db_l = column sums of g_{l+1};
//!   g_l = (g_{l+1} W_l^T) * act'(h_l) for l >= 1;  dE[token_p] += g_1 W_0^T for every position p.
//! act' comes from the activation's output: tanh' = 1 - h^2, relu' = [h > 0], identity' = 1.
//!
//! burn's autodiff stays the general path and the reference: `tests/fused_gradients.rs` checks both
//! give the same gradients on every model and head of the family.
//!
//! The training loop reaches every fused kernel through [`Kernel`] and [`FusedSteps`]: this MLP
//! family's [`Fused`] and the transformer's [`crate::fused_transformer::FusedTransformer`].

use crate::head::{Encoding, Target, TargetKind};
use crate::loss::{HostTargets, Loss};
use crate::model::{Model, Stack, StackInput};
use crate::ops::Activation;
use crate::optim::{GradRef, Optimizer};
use crate::params::{ParamSpec, Params, Precision};
use crate::real::Real;
use crate::task::{Features, Split};
use faer::{Accum, MatMut, MatRef, Par};

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

/// c = a . b (+ c with `add`), with a [m, k] or its transpose stored [k, m] (`ta`), b [k, n] or
/// its transpose stored [n, k] (`tb`); all row-major. Every fused kernel's products go through it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product<E: Real>(
    c: &mut [E],
    a: &[E],
    b: &[E],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    add: bool,
    par: Par,
) {
    let a = if ta {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    };
    let b = if tb {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n),
        if add { Accum::Add } else { Accum::Replace },
        a,
        b,
        E::one(),
        par,
    );
}

/// c (m x n) = a (m x k) . b (k x n), row-major.
pub(crate) fn mm<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (m, k, n), false, false, false, Par::Seq);
}

/// c (k x n) = a^T . b with a (m x k), b (m x n), row-major.
fn mm_tn<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (k, m, n), true, false, false, Par::Seq);
}

/// c (k x n) += a^T . b with a (m x k), b (m x n), row-major.
fn mm_tn_add<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, k: usize, n: usize) {
    product(c, a, b, (k, m, n), true, false, true, Par::Seq);
}

/// c (m x k) = a . b^T with a (m x n), b (k x n), row-major.
fn mm_nt<E: Real>(c: &mut [E], a: &[E], b: &[E], m: usize, n: usize, k: usize) {
    product(c, a, b, (m, n, k), false, true, false, Par::Seq);
}

/// One layer's parameters as indices into the store.
#[derive(Debug, Clone)]
struct Layer {
    w: usize,
    b: Option<usize>,
    d_in: usize,
    d_out: usize,
}

/// The inputs of one member's batch.
pub enum HostInputs<'a, E> {
    /// Token ids per position, each [B].
    Tokens(&'a [Vec<usize>]),
    /// Features, row-major [B, dim].
    Dense(&'a [E]),
}

/// One member's fused forward and training step, for a model family.
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

impl<E: FusedReal> Kernel<E> for Fused<E> {
    fn forward(&mut self, params: &Params, m: usize, inputs: &HostInputs<'_, E>, b: usize) -> &[E] {
        Fused::forward(self, params, m, inputs, b)
    }
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
        Fused::step(self, params, m, inputs, targets, loss, b)
    }
    fn grads(&self) -> &[Vec<E>] {
        &self.grads
    }
}

/// A fused step for models of one stack, with its buffers.
pub struct Fused<E> {
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

impl<E: FusedReal> Fused<E> {
    /// The fused step of `stack`, when it covers every parameter of `specs` (and None otherwise).
    pub fn new(stack: &Stack, specs: &[ParamSpec]) -> Option<Fused<E>> {
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
        Some(Fused {
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
    pub fn with_block_rows(mut self, rows: usize) -> Fused<E> {
        self.block_rows = rows.max(1);
        self
    }

    /// The forward pass of member `m` on `b` samples into the buffers; returns the outputs [b, d_out].
    pub fn forward(
        &mut self,
        params: &Params,
        m: usize,
        inputs: &HostInputs<'_, E>,
        b: usize,
    ) -> &[E] {
        let value = |k: usize| {
            let n = params.specs[k].numel();
            &E::values(&params.values[k])[m * n..(m + 1) * n]
        };
        let widest = self
            .layers
            .iter()
            .map(|l| l.d_out.max(l.d_in))
            .max()
            .unwrap_or(0);
        for (buf, w) in self
            .h
            .iter_mut()
            .zip(std::iter::once(self.d0).chain(self.layers.iter().map(|l| l.d_out)))
        {
            // buffers only grow: an evaluation over a whole split must not cost the next
            // minibatch step a reallocation or a fill
            if buf.len() < b * w {
                buf.resize(b * w, E::zero());
            }
        }
        for g in &mut self.g {
            if g.len() < b * widest {
                g.resize(b * widest, E::zero());
            }
        }
        if let (Some(t), HostInputs::Tokens(tokens)) = (self.table, inputs) {
            let (e, d) = (value(t), self.d0);
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
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (before, after) = self.h.split_at_mut(l + 1);
            let input: &[E] = match (inputs, l) {
                (HostInputs::Dense(x), 0) => x,
                _ => &before[l][..b * layer.d_in],
            };
            let out = &mut after[0][..b * layer.d_out];
            mm(out, input, value(layer.w), b, layer.d_in, layer.d_out);
            if let Some(bi) = layer.b {
                add_bias(out, value(bi));
            }
            if l < last {
                activate(self.act, out);
            }
        }
        &self.h[last + 1][..b * self.layers[last].d_out]
    }

    /// Forward, loss and backward of member `m` on one batch of `b` samples: returns the mean loss
    /// and leaves the member's gradient in [`Fused::grads`]. A non-finite loss returns early (the
    /// member diverged; its gradient is not used).
    pub fn step(
        &mut self,
        params: &Params,
        m: usize,
        inputs: HostInputs<'_, E>,
        targets: HostTargets<'_>,
        loss: &dyn Loss,
        b: usize,
    ) -> f64 {
        if let (1, HostInputs::Dense(x)) = (self.layers.len(), &inputs) {
            return self.one_layer(params, m, x, targets, loss, b);
        }
        self.forward(params, m, &inputs, b);
        let value = |k: usize| {
            let n = params.specs[k].numel();
            &E::values(&params.values[k])[m * n..(m + 1) * n]
        };
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
                mm_nt(gin, gl, value(layer.w), b, layer.d_out, layer.d_in);
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
}

impl<E: FusedReal> Fused<E> {
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
        let value = |k: usize| {
            let n = params.specs[k].numel();
            &E::values(&params.values[k])[m * n..(m + 1) * n]
        };
        let rows = self.block_rows.min(b.max(1));
        if self.h[1].len() < rows * d_out {
            self.h[1].resize(rows * d_out, E::zero());
        }
        if self.g[0].len() < rows * d_out {
            self.g[0].resize(rows * d_out, E::zero());
        }
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
            mm(z, xb, value(layer.w), n, d_in, d_out);
            if let Some(bi) = layer.b {
                add_bias(z, value(bi));
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

/// The hidden activation in place (compiled for the widest SIMD the CPU has, as the optimiser).
fn activate<E: Real>(act: Activation, x: &mut [E]) {
    match act {
        Activation::Tanh => E::tanh_in_place(x),
        Activation::Relu => pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for v in x.iter_mut() {
                    *v = v.max(E::zero());
                }
            },
        ),
        Activation::Identity => {}
    }
}

/// g *= act'(z) from the activation's output h = act(z), branch-free so that it vectorises.
fn derivative<E: Real>(act: Activation, g: &mut [E], h: &[E]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || match act {
            Activation::Tanh => {
                for (g, &h) in g.iter_mut().zip(h) {
                    *g *= E::one() - h * h;
                }
            }
            Activation::Relu => {
                for (g, &h) in g.iter_mut().zip(h) {
                    *g = if h > E::zero() { *g } else { E::zero() };
                }
            }
            Activation::Identity => {}
        },
    )
}

/// Adds a bias row to every row of `x` ([rows, bias.len()]).
fn add_bias<E: Real>(x: &mut [E], bias: &[E]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for row in x.chunks_mut(bias.len()) {
                for (o, &v) in row.iter_mut().zip(bias) {
                    *o += v;
                }
            }
        },
    )
}

/// Adds the column sums of `g` ([rows, acc.len()]) to `acc`.
fn add_column_sums<E: Real>(acc: &mut [E], g: &[E]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for row in g.chunks(acc.len()) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
        },
    )
}

/// One member's training split on the host, in the fused path's precision.
struct MemberData<E> {
    tokens: Vec<Vec<usize>>,
    x: Vec<E>,
    dim: usize,
    classes: Vec<usize>,
    vectors: Vec<f64>,
    d_target: usize,
}

impl<E: Real> MemberData<E> {
    fn empty() -> MemberData<E> {
        MemberData {
            tokens: Vec::new(),
            x: Vec::new(),
            dim: 0,
            classes: Vec::new(),
            vectors: Vec::new(),
            d_target: 0,
        }
    }

    /// The training split, with each sample's target of the kind the loss wants.
    fn of(split: &Split, enc: &Encoding, kind: TargetKind) -> MemberData<E> {
        let mut d = MemberData::empty();
        match &split.x {
            Features::Tokens(t) => d.tokens = t.clone(),
            Features::Dense { x, dim } => {
                d.x = x.iter().map(|&v| E::of(v)).collect();
                d.dim = *dim;
            }
        }
        for k in 0..split.len() {
            match enc.target(split, k, kind) {
                Target::Class(c) => d.classes.push(c),
                Target::Vector(v) => {
                    d.d_target = v.len();
                    d.vectors.extend_from_slice(v);
                }
            }
        }
        d
    }

    /// Samples `rows` of `from` into this buffer.
    fn gather(&mut self, from: &MemberData<E>, rows: &[usize]) {
        self.tokens.resize(from.tokens.len(), Vec::new());
        for (to, pos) in self.tokens.iter_mut().zip(&from.tokens) {
            to.clear();
            to.extend(rows.iter().map(|&k| pos[k]));
        }
        self.dim = from.dim;
        self.x.clear();
        for &k in rows {
            self.x
                .extend_from_slice(&from.x[k * from.dim..(k + 1) * from.dim]);
        }
        self.classes.clear();
        if !from.classes.is_empty() {
            self.classes.extend(rows.iter().map(|&k| from.classes[k]));
        }
        self.d_target = from.d_target;
        self.vectors.clear();
        for &k in rows {
            let t = from.d_target;
            self.vectors
                .extend_from_slice(&from.vectors[k * t..(k + 1) * t]);
        }
    }

    fn inputs(&self) -> HostInputs<'_, E> {
        if self.tokens.is_empty() {
            HostInputs::Dense(&self.x)
        } else {
            HostInputs::Tokens(&self.tokens)
        }
    }

    fn targets(&self) -> HostTargets<'_> {
        if self.d_target > 0 {
            HostTargets::Vectors(&self.vectors)
        } else {
            HostTargets::Classes(&self.classes)
        }
    }
}

/// The training steps of an ensemble on the fused path: every member's data on the host, and
/// one [`Fused`] whose buffers all members share (they are stepped one after the other).
pub trait FusedSteps: Send {
    /// Step `t` of every active member, on rows `rows[m]` of its training split (None: all of it),
    /// or on `fresh[m]` (online tasks). Each member is updated right after its backward pass; a
    /// member whose loss is not finite is not updated. Returns every member's loss (NaN for
    /// inactive ones).
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        params: &mut Params,
        optimizer: &mut Optimizer,
        loss: &dyn Loss,
        rows: Option<&[Vec<usize>]>,
        fresh: Option<&[Split]>,
        active: &[bool],
        t: u64,
    ) -> Vec<f64>;

    /// Every member's outputs on its whole training split (`val` false) or validation split, all
    /// members one after the other, row-major [samples, d_out], as f64.
    fn outputs(&mut self, params: &Params, val: bool) -> Vec<f64>;
}

struct Training<E> {
    fused: Box<dyn Kernel<E>>,
    members: Vec<MemberData<E>>,
    vals: Vec<MemberData<E>>,
    encodings: Vec<Encoding>,
    kind: TargetKind,
    batch: MemberData<E>,
    /// Every member's seed (dropout masks).
    seeds: Vec<u64>,
}

impl<E: FusedReal> FusedSteps for Training<E> {
    fn step(
        &mut self,
        params: &mut Params,
        optimizer: &mut Optimizer,
        loss: &dyn Loss,
        rows: Option<&[Vec<usize>]>,
        fresh: Option<&[Split]>,
        active: &[bool],
        t: u64,
    ) -> Vec<f64> {
        let mut losses = vec![f64::NAN; self.members.len()];
        for (m, data) in self.members.iter().enumerate() {
            if !active[m] {
                continue;
            }
            let (data, b) = match (rows, fresh) {
                (_, Some(splits)) => {
                    self.batch = MemberData::of(&splits[m], &self.encodings[m], self.kind);
                    (&self.batch, splits[m].len())
                }
                (Some(rows), None) => {
                    self.batch.gather(data, &rows[m]);
                    (&self.batch, rows[m].len())
                }
                (None, None) => {
                    let b = data
                        .classes
                        .len()
                        .max(data.vectors.len() / data.d_target.max(1));
                    (data, b)
                }
            };
            let value = self.fused.step(
                params,
                m,
                data.inputs(),
                data.targets(),
                loss,
                b,
                Some((self.seeds[m], t)),
            );
            losses[m] = value;
            if value.is_finite() {
                let grads: Vec<GradRef<'_>> =
                    self.fused.grads().iter().map(|g| E::grad_ref(g)).collect();
                optimizer.step_member(params, m, &grads, t);
            }
        }
        losses
    }

    fn outputs(&mut self, params: &Params, val: bool) -> Vec<f64> {
        let data = if val { &self.vals } else { &self.members };
        let mut out = Vec::new();
        for (m, d) in data.iter().enumerate() {
            let b = d.classes.len().max(d.vectors.len() / d.d_target.max(1));
            if b == 0 {
                continue;
            }
            out.extend(
                self.fused
                    .forward(params, m, &d.inputs(), b)
                    .iter()
                    .map(|v| v.f64()),
            );
        }
        out
    }
}

/// The fused training steps of `model`'s members, when the model is of the MLP family (its stack
/// covers every parameter); None otherwise.
pub fn training(
    model: &dyn Model,
    precision: Precision,
    splits: &[&Split],
    vals: &[&Split],
    encodings: &[&Encoding],
    kind: TargetKind,
    seeds: &[u64],
) -> Option<Box<dyn FusedSteps>> {
    fn build<E: FusedReal>(
        model: &dyn Model,
        splits: &[&Split],
        vals: &[&Split],
        encodings: &[&Encoding],
        kind: TargetKind,
        seeds: &[u64],
    ) -> Option<Box<dyn FusedSteps>> {
        let fused = kernel::<E>(model)?;
        let data = |s: &[&Split]| -> Vec<MemberData<E>> {
            s.iter()
                .zip(encodings)
                .map(|(s, e)| MemberData::of(s, e, kind))
                .collect()
        };
        Some(Box::new(Training {
            fused,
            members: data(splits),
            vals: data(vals),
            encodings: encodings.iter().map(|e| (*e).clone()).collect(),
            kind,
            batch: MemberData::empty(),
            seeds: seeds.to_vec(),
        }))
    }
    match precision {
        Precision::F32 => build::<f32>(model, splits, vals, encodings, kind, seeds),
        Precision::F64 => build::<f64>(model, splits, vals, encodings, kind, seeds),
    }
}

/// The fused kernel of a model: the MLP family's stack or the transformer's; None for models the
/// fused path does not cover.
fn kernel<E: FusedReal>(model: &dyn Model) -> Option<Box<dyn Kernel<E>>> {
    if let Some(t) = model.transformer() {
        let k = crate::fused_transformer::FusedTransformer::<E>::new(t, model.specs())?;
        return Some(Box::new(k));
    }
    Some(Box::new(Fused::<E>::new(&model.stack()?, model.specs())?))
}

/// Whether the fused path covers a model.
pub fn applies(model: &dyn Model) -> bool {
    kernel::<f64>(model).is_some()
}
