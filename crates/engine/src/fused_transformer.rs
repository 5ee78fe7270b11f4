//! The fused forward/backward of the transformer (pre-LN or no LayerNorm, ReLU MLPs, learned or no
//! positions, causal or not, untied unembedding read at the last position or at every position
//! concatenated): one member's step on
//! host memory with faer products, written out by hand, into buffers allocated once.
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
//! Backward is the chain rule through each of these in reverse; softmax's is
//! ds_j = p_j (dp_j - sum_i p_i dp_i), LayerNorm's dx = rstd (dxh - mean(dxh) - xhat mean(dxh xhat))
//! with dxh = dy w. burn's autodiff is the reference (`tests/transformer.rs`).

use crate::fused::{FusedReal, HostInputs, Kernel};
use crate::loss::{HostTargets, Loss};
use crate::model::transformer::{Act, Norm, Pos, Readout, Transformer};
use crate::params::{ParamSpec, Params};
use faer::Par;
use rayon::prelude::*;

/// Products big enough to split over the cores (smaller ones run on the calling thread).
const PARALLEL_FLOPS: usize = 1 << 21;

/// [`crate::fused::product`], split over the cores when it is big enough.
#[allow(clippy::too_many_arguments)]
fn gemm<E: FusedReal>(
    c: &mut [E],
    a: &[E],
    b: &[E],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    add: bool,
) {
    let par = if m * k * n >= PARALLEL_FLOPS {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    crate::fused::product(c, a, b, (m, k, n), ta, tb, add, par);
}

fn grow<E: FusedReal>(v: &mut Vec<E>, n: usize) {
    if v.len() < n {
        v.resize(n, E::zero());
    }
}

/// Column sums of g [rows, acc.len()] added to acc.
/// Passes over more elements than this split over the cores (below, a task costs more than it saves).
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// Column sums of g [rows, acc.len()] added to acc; wide passes split the columns over the cores.
fn add_colsums<E: FusedReal>(acc: &mut [E], g: &[E]) {
    let w = acc.len();
    fn part<E: FusedReal>(acc: &mut [E], g: &[E], w: usize, off: usize) {
        for row in g.chunks(w) {
            for (a, &v) in acc.iter_mut().zip(&row[off..]) {
                *a += v;
            }
        }
    }
    if g.len() >= PARALLEL_ELEMENTS && w >= 32 {
        let half = w / 2;
        let (lo, hi) = acc.split_at_mut(half);
        rayon::join(|| part(lo, g, w, 0), || part(hi, g, w, half));
    } else {
        part(acc, g, w, 0);
    }
}

/// Rows of x [rows, width] in blocks over the cores (wide passes) or in one go; `f` gets the
/// block's first row.
fn par_rows<E: FusedReal>(x: &mut [E], width: usize, f: impl Fn(usize, &mut [E]) + Sync) {
    if x.len() >= PARALLEL_ELEMENTS {
        let block = (PARALLEL_ELEMENTS / 4 / width.max(1)).max(1) * width;
        x.par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, c)| f(i * block / width.max(1), c));
    } else {
        f(0, x);
    }
}

fn add_bias<E: FusedReal>(x: &mut [E], bias: &[E]) {
    par_rows(x, bias.len(), |_, rows| {
        for row in rows.chunks_mut(bias.len()) {
            for (o, &v) in row.iter_mut().zip(bias) {
                *o += v;
            }
        }
    });
}

/// relu(x + bias) in place.
fn add_bias_relu<E: FusedReal>(x: &mut [E], bias: &[E]) {
    par_rows(x, bias.len(), |_, rows| {
        for row in rows.chunks_mut(bias.len()) {
            for (o, &v) in row.iter_mut().zip(bias) {
                *o = (*o + v).max(E::zero());
            }
        }
    });
}

/// LayerNorm of `rows` rows of width d (eps 1e-5, biased variance): out = xhat w + b, keeping xhat
/// and 1 / std for the backward pass.
#[allow(clippy::too_many_arguments)]
fn ln_forward<E: FusedReal>(
    x: &[E],
    w: &[E],
    b: &[E],
    out: &mut [E],
    xhat: &mut [E],
    rstd: &mut [E],
    rows: usize,
    d: usize,
) {
    let inv_d = 1.0 / d as f64;
    for r in 0..rows {
        let xr = &x[r * d..(r + 1) * d];
        let mean = xr.iter().map(|v| v.f64()).sum::<f64>() * inv_d;
        let var = xr.iter().map(|v| (v.f64() - mean).powi(2)).sum::<f64>() * inv_d;
        let s = 1.0 / (var + 1e-5).sqrt();
        rstd[r] = E::of(s);
        let (me, se) = (E::of(mean), E::of(s));
        for e in 0..d {
            let h = (xr[e] - me) * se;
            xhat[r * d + e] = h;
            out[r * d + e] = h * w[e] + b[e];
        }
    }
}

/// LayerNorm's backward: dw, db accumulate; dx is written (or added with `add`).
#[allow(clippy::too_many_arguments)]
fn ln_backward<E: FusedReal>(
    dy: &[E],
    xhat: &[E],
    rstd: &[E],
    w: &[E],
    dw: &mut [E],
    db: &mut [E],
    dx: &mut [E],
    rows: usize,
    d: usize,
    add: bool,
) {
    let inv_d = E::of(1.0 / d as f64);
    for r in 0..rows {
        let (dyr, xr) = (&dy[r * d..(r + 1) * d], &xhat[r * d..(r + 1) * d]);
        let (mut s1, mut s2) = (E::zero(), E::zero());
        for e in 0..d {
            dw[e] += dyr[e] * xr[e];
            db[e] += dyr[e];
            let g = dyr[e] * w[e];
            s1 += g;
            s2 += g * xr[e];
        }
        let (m1, m2) = (s1 * inv_d, s2 * inv_d);
        for e in 0..d {
            let v = rstd[r] * (dyr[e] * w[e] - m1 - xr[e] * m2);
            if add {
                dx[r * d + e] += v;
            } else {
                dx[r * d + e] = v;
            }
        }
    }
}

/// Store indices of one layer's parameters.
struct LayerIdx {
    ln1: Option<(usize, usize)>,
    qkv_w: [usize; 3],
    qkv_b: [usize; 3],
    w_o: usize,
    b_o: usize,
    ln2: Option<(usize, usize)>,
    /// W_in, b_in, W_out, b_out.
    mlp: Option<[usize; 4]>,
}

/// Saved activations of one layer.
#[derive(Default)]
struct LayerBufs<E> {
    /// The sublayer inputs a = LN1(x) [B P, d], with xhat and rstd when normalised.
    a: Vec<E>,
    xhat1: Vec<E>,
    rstd1: Vec<E>,
    /// The sublayer inputs at the query rows [B nq, d] (when nq < P).
    a_q: Vec<E>,
    /// Queries at the query rows [B nq, H dh]; keys and values at every row [B P, 2 H dh].
    q: Vec<E>,
    kv: Vec<E>,
    /// [B, H, nq, P]
    pattern: Vec<E>,
    /// [B nq, H dh]
    z: Vec<E>,
    /// The MLP inputs m = LN2(x_mid) [B nq, d].
    m: Vec<E>,
    xhat2: Vec<E>,
    rstd2: Vec<E>,
    /// relu(m W_in + b_in) [B nq, d_mlp]
    hidden: Vec<E>,
    /// The layer's output residual [B nq, d].
    out: Vec<E>,
    /// Dropout masks of this step at the query rows: pattern [B, H, nq, P], attention output
    /// [B nq, d], hidden [B nq, d_mlp], MLP output [B nq, d]; the dropped hidden activation and the
    /// MLP's output before its mask.
    m_pat: Vec<E>,
    m_attn: Vec<E>,
    m_hid: Vec<E>,
    m_out: Vec<E>,
    hidden_d: Vec<E>,
    mlp_tmp: Vec<E>,
    /// Packed projections of the step's forward pass, kept for its backward pass: W_Q [d, H dh]
    /// and b_Q, W_K W_V [d, 2 H dh] and their biases.
    wq: Vec<E>,
    bq: Vec<E>,
    wkv: Vec<E>,
    bkv: Vec<E>,
}

pub struct FusedTransformer<E> {
    n_layers: usize,
    d: usize,
    heads: usize,
    dh: usize,
    f: usize,
    classes: usize,
    positions: usize,
    causal: bool,
    /// Dropout probability in training.
    p_drop: f64,
    /// Whether this step drops (training with p_drop > 0).
    dropping: bool,
    /// The unembedding reads every position's residual, concatenated (Liu et al.'s encoder).
    concat: bool,
    w_e: usize,
    w_pos: Option<usize>,
    layers: Vec<LayerIdx>,
    ln_final: Option<(usize, usize)>,
    w_u: usize,
    b_u: usize,
    /// The embedded input residual [B P, d].
    x0: Vec<E>,
    bufs: Vec<LayerBufs<E>>,
    fin_xhat: Vec<E>,
    fin_rstd: Vec<E>,
    /// The unembedding's input [B, d] and the logits [B, C].
    read: Vec<E>,
    logits: Vec<E>,
    /// Packed [d, 3 H dh] projection and [3 H dh] bias of the current layer.
    /// Scratch gradients.
    g_logits: Vec<E>,
    g_x: Vec<E>,
    g_mid: Vec<E>,
    g_tmp: Vec<E>,
    g_hidden: Vec<E>,
    g_z: Vec<E>,
    g_q: Vec<E>,
    g_kv: Vec<E>,
    g_wq: Vec<E>,
    g_wkv: Vec<E>,
    g_bq: Vec<E>,
    g_bkv: Vec<E>,
    g_tmp_q: Vec<E>,
    /// A gradient times a dropout mask.
    g_drop: Vec<E>,
    pub grads: Vec<Vec<E>>,
}

impl<E: FusedReal> FusedTransformer<E> {
    /// The fused step of a transformer with settings `cfg`, or None where it does not cover them
    /// (post-LN, GELU and tied unembeddings take burn's autodiff).
    pub fn new(model: &Transformer, specs: &[ParamSpec]) -> Option<FusedTransformer<E>> {
        let (cfg, positions, classes) = (&model.cfg, model.positions, model.classes);
        if cfg.norm == Norm::Post || cfg.act_fn != Act::Relu || cfg.tied {
            return None;
        }
        let index = |name: &str| specs.iter().position(|s| s.name == name);
        let ln = |name: &str| -> Option<Option<(usize, usize)>> {
            if cfg.norm == Norm::None {
                Some(None)
            } else {
                Some(Some((
                    index(&format!("{name}.w"))?,
                    index(&format!("{name}.b"))?,
                )))
            }
        };
        let mut layers = Vec::new();
        for l in 0..cfg.n_layers {
            let a = format!("blocks.{l}.attn");
            let m = format!("blocks.{l}.mlp");
            layers.push(LayerIdx {
                ln1: ln(&format!("blocks.{l}.ln1"))?,
                qkv_w: [
                    index(&format!("{a}.W_Q"))?,
                    index(&format!("{a}.W_K"))?,
                    index(&format!("{a}.W_V"))?,
                ],
                qkv_b: [
                    index(&format!("{a}.b_Q"))?,
                    index(&format!("{a}.b_K"))?,
                    index(&format!("{a}.b_V"))?,
                ],
                w_o: index(&format!("{a}.W_O"))?,
                b_o: index(&format!("{a}.b_O"))?,
                ln2: if cfg.d_mlp > 0 {
                    ln(&format!("blocks.{l}.ln2"))?
                } else {
                    None
                },
                mlp: if cfg.d_mlp > 0 {
                    Some([
                        index(&format!("{m}.W_in"))?,
                        index(&format!("{m}.b_in"))?,
                        index(&format!("{m}.W_out"))?,
                        index(&format!("{m}.b_out"))?,
                    ])
                } else {
                    None
                },
            });
        }
        Some(FusedTransformer {
            n_layers: cfg.n_layers,
            d: cfg.d_model,
            heads: cfg.n_heads,
            dh: cfg.d_head,
            f: cfg.d_mlp,
            classes,
            positions,
            causal: cfg.causal,
            p_drop: cfg.dropout,
            dropping: false,
            concat: cfg.readout == Readout::Concat,
            w_e: index("embed.W_E")?,
            w_pos: if cfg.pos == Pos::Learned {
                Some(index("pos_embed.W_pos")?)
            } else {
                None
            },
            ln_final: if cfg.norm == Norm::Pre {
                ln("ln_final")?
            } else {
                None
            },
            w_u: index("unembed.W_U")?,
            b_u: index("unembed.b_U")?,
            layers,
            x0: Vec::new(),
            bufs: (0..cfg.n_layers).map(|_| LayerBufs::default()).collect(),
            fin_xhat: Vec::new(),
            fin_rstd: Vec::new(),
            read: Vec::new(),
            logits: Vec::new(),
            g_logits: Vec::new(),
            g_x: Vec::new(),
            g_mid: Vec::new(),
            g_tmp: Vec::new(),
            g_hidden: Vec::new(),
            g_z: Vec::new(),
            g_q: Vec::new(),
            g_kv: Vec::new(),
            g_wq: Vec::new(),
            g_wkv: Vec::new(),
            g_bq: Vec::new(),
            g_bkv: Vec::new(),
            g_tmp_q: Vec::new(),
            g_drop: Vec::new(),
            grads: specs.iter().map(|s| vec![E::zero(); s.numel()]).collect(),
        })
    }

    /// Query positions of layer l: all, or the last alone in the last layer when only the last
    /// position is read.
    fn nq(&self, l: usize) -> usize {
        if l + 1 == self.n_layers && !self.concat {
            1
        } else {
            self.positions
        }
    }

    /// Packs layer l's W_Q [H, d, dh] into one [d, H dh] matrix and W_K, W_V into one [d, 2 H dh]
    /// (heads major within each), into the layer's buffers: once a step, for forward and backward.
    fn pack(&mut self, params: &Params, m: usize, l: usize) {
        let (d, h, dh) = (self.d, self.heads, self.dh);
        let hd = h * dh;
        let bf = &mut self.bufs[l];
        grow(&mut bf.wq, d * hd);
        grow(&mut bf.bq, hd);
        grow(&mut bf.wkv, d * 2 * hd);
        grow(&mut bf.bkv, 2 * hd);
        for which in 0..3 {
            let w = value(params, self.layers[l].qkv_w[which], m);
            let b = value(params, self.layers[l].qkv_b[which], m);
            let (dst, bias, width, off) = if which == 0 {
                (&mut bf.wq, &mut bf.bq, hd, 0)
            } else {
                (&mut bf.wkv, &mut bf.bkv, 2 * hd, (which - 1) * hd)
            };
            for hh in 0..h {
                for r in 0..d {
                    let src = &w[(hh * d + r) * dh..(hh * d + r + 1) * dh];
                    let at = r * width + off + hh * dh;
                    dst[at..at + dh].copy_from_slice(src);
                }
            }
            bias[off..off + hd].copy_from_slice(b);
        }
    }

    /// Layer l's dropout masks of this step at its query rows (full layouts from
    /// [`crate::dropout::mask`], the rows the fused pass computes picked out).
    fn masks(&mut self, l: usize, b: usize, seed: u64, step: u64) {
        use crate::dropout::{Site, mask};
        let (d, pn, h, f, p) = (self.d, self.positions, self.heads, self.f, self.p_drop);
        let nq = self.nq(l);
        let q0 = pn - nq;
        let bf = &mut self.bufs[l];
        let full = mask(seed, step, l, Site::Pattern, b * h * pn * pn, p);
        bf.m_pat.clear();
        for s in 0..b {
            for hh in 0..h {
                for i in q0..pn {
                    let at = ((s * h + hh) * pn + i) * pn;
                    bf.m_pat.extend(full[at..at + pn].iter().map(|&x| E::of(x)));
                }
            }
        }
        let rows = |site: Site, width: usize, out: &mut Vec<E>| {
            let full = mask(seed, step, l, site, b * pn * width, p);
            out.clear();
            for s in 0..b {
                let at = (s * pn + q0) * width;
                out.extend(full[at..at + nq * width].iter().map(|&x| E::of(x)));
            }
        };
        rows(Site::AttnOut, d, &mut bf.m_attn);
        if f > 0 {
            rows(Site::Hidden, f, &mut bf.m_hid);
            rows(Site::MlpOut, d, &mut bf.m_out);
        }
    }

    fn forward_impl(
        &mut self,
        params: &Params,
        m: usize,
        tokens: &[Vec<usize>],
        b: usize,
        dropout: Option<(u64, u64)>,
    ) {
        let dropout = dropout.filter(|_| self.p_drop > 0.0);
        self.dropping = dropout.is_some();
        let (d, pn, h, dh, f) = (self.d, self.positions, self.heads, self.dh, self.f);
        let hd = h * dh;
        let rows = b * pn;
        grow(&mut self.x0, rows * d);
        let w_e = value(params, self.w_e, m);
        for (p, pos) in tokens.iter().enumerate() {
            for (k, &tok) in pos.iter().take(b).enumerate() {
                let r = k * pn + p;
                self.x0[r * d..(r + 1) * d].copy_from_slice(&w_e[tok * d..(tok + 1) * d]);
                if let Some(wp) = self.w_pos {
                    let wp = &value::<E>(params, wp, m)[p * d..(p + 1) * d];
                    for (x, &v) in self.x0[r * d..(r + 1) * d].iter_mut().zip(wp) {
                        *x += v;
                    }
                }
            }
        }
        let scale = E::of(1.0 / (dh as f64).sqrt());
        for l in 0..self.n_layers {
            let nq = self.nq(l);
            let q0 = pn - nq;
            self.pack(params, m, l);
            if let Some((seed, step)) = dropout {
                self.masks(l, b, seed, step);
            }
            let dropping = self.dropping;
            let (before, rest) = self.bufs.split_at_mut(l);
            let x: &[E] = if l == 0 { &self.x0 } else { &before[l - 1].out };
            let bf = &mut rest[0];
            grow(&mut bf.a, rows * d);
            match self.layers[l].ln1 {
                Some((wi, bi)) => {
                    grow(&mut bf.xhat1, rows * d);
                    grow(&mut bf.rstd1, rows);
                    ln_forward(
                        x,
                        value(params, wi, m),
                        value(params, bi, m),
                        &mut bf.a,
                        &mut bf.xhat1,
                        &mut bf.rstd1,
                        rows,
                        d,
                    );
                }
                None => bf.a[..rows * d].copy_from_slice(&x[..rows * d]),
            }
            let qrows = b * nq;
            if nq < pn {
                grow(&mut bf.a_q, qrows * d);
                for k in 0..b {
                    let src = (k * pn + q0) * d;
                    bf.a_q[k * nq * d..(k + 1) * nq * d].copy_from_slice(&bf.a[src..src + nq * d]);
                }
            }
            let a_q: &[E] = if nq < pn { &bf.a_q } else { &bf.a };
            grow(&mut bf.q, qrows * hd);
            gemm(&mut bf.q, a_q, &bf.wq, qrows, d, hd, false, false, false);
            add_bias(&mut bf.q[..qrows * hd], &bf.bq[..hd]);
            grow(&mut bf.kv, rows * 2 * hd);
            gemm(
                &mut bf.kv,
                &bf.a,
                &bf.wkv,
                rows,
                d,
                2 * hd,
                false,
                false,
                false,
            );
            add_bias(&mut bf.kv[..rows * 2 * hd], &bf.bkv[..2 * hd]);
            grow(&mut bf.pattern, b * h * nq * pn);
            grow(&mut bf.z, b * nq * hd);
            let (q, kv, causal) = (&bf.q, &bf.kv, self.causal);
            let m_pat: Option<&[E]> = dropping.then_some(&bf.m_pat[..]);
            // samples are independent: one task per sample, over the cores
            bf.pattern[..b * h * nq * pn]
                .par_chunks_mut(h * nq * pn)
                .zip(bf.z[..b * nq * hd].par_chunks_mut(nq * hd))
                .enumerate()
                .for_each(|(s, (pat_s, z_s))| {
                    for hh in 0..h {
                        for ii in 0..nq {
                            let i = q0 + ii;
                            let qv = &q[(s * nq + ii) * hd + hh * dh..][..dh];
                            let pat = &mut pat_s[(hh * nq + ii) * pn..][..pn];
                            let top = if causal { i + 1 } else { pn };
                            let mut max = E::neg_infinity();
                            for j in 0..top {
                                let k = &kv[(s * pn + j) * 2 * hd + hh * dh..][..dh];
                                let v = qv.iter().zip(k).fold(E::zero(), |a, (&x, &y)| a + x * y)
                                    * scale;
                                pat[j] = v;
                                max = max.max(v);
                            }
                            for pj in pat[..top].iter_mut() {
                                *pj -= max;
                            }
                            E::exp_in_place(&mut pat[..top]);
                            let z = pat[..top].iter().fold(E::zero(), |a, &b| a + b);
                            let inv = E::one() / z;
                            for pj in pat[..top].iter_mut() {
                                *pj *= inv;
                            }
                            for pj in pat[top..].iter_mut() {
                                *pj = E::zero();
                            }
                            let zo = &mut z_s[ii * hd + hh * dh..][..dh];
                            zo.fill(E::zero());
                            let mp = m_pat.map(|mp| &mp[((s * h + hh) * nq + ii) * pn..][..pn]);
                            for (j, &pj) in pat[..top].iter().enumerate() {
                                let pj = mp.map_or(pj, |mp| pj * mp[j]);
                                let v = &kv[(s * pn + j) * 2 * hd + hd + hh * dh..][..dh];
                                for (o, &vv) in zo.iter_mut().zip(v) {
                                    *o += pj * vv;
                                }
                            }
                        }
                    }
                });
            // x_mid = x at the query rows + z W_O + b_O, into `out`
            grow(&mut bf.out, qrows * d);
            gemm(
                &mut bf.out,
                &bf.z,
                value(params, self.layers[l].w_o, m),
                qrows,
                hd,
                d,
                false,
                false,
                false,
            );
            add_bias(
                &mut bf.out[..qrows * d],
                value(params, self.layers[l].b_o, m),
            );
            if dropping {
                for (o, &k) in bf.out[..qrows * d].iter_mut().zip(&bf.m_attn) {
                    *o *= k;
                }
            }
            for s in 0..b {
                for ii in 0..nq {
                    let (r, src) = (s * nq + ii, s * pn + q0 + ii);
                    for (o, &v) in bf.out[r * d..(r + 1) * d]
                        .iter_mut()
                        .zip(&x[src * d..(src + 1) * d])
                    {
                        *o += v;
                    }
                }
            }
            if let Some([w_in, b_in, w_out, b_out]) = self.layers[l].mlp {
                grow(&mut bf.m, qrows * d);
                match self.layers[l].ln2 {
                    Some((wi, bi)) => {
                        grow(&mut bf.xhat2, qrows * d);
                        grow(&mut bf.rstd2, qrows);
                        ln_forward(
                            &bf.out,
                            value(params, wi, m),
                            value(params, bi, m),
                            &mut bf.m,
                            &mut bf.xhat2,
                            &mut bf.rstd2,
                            qrows,
                            d,
                        );
                    }
                    None => bf.m[..qrows * d].copy_from_slice(&bf.out[..qrows * d]),
                }
                grow(&mut bf.hidden, qrows * f);
                gemm(
                    &mut bf.hidden,
                    &bf.m,
                    value(params, w_in, m),
                    qrows,
                    d,
                    f,
                    false,
                    false,
                    false,
                );
                add_bias_relu(&mut bf.hidden[..qrows * f], value(params, b_in, m));
                if dropping {
                    // out += (hidden * mask) W_out + b_out, times the output's mask
                    grow(&mut bf.hidden_d, qrows * f);
                    for ((o, &hv), &k) in bf.hidden_d[..qrows * f]
                        .iter_mut()
                        .zip(&bf.hidden)
                        .zip(&bf.m_hid)
                    {
                        *o = hv * k;
                    }
                    grow(&mut bf.mlp_tmp, qrows * d);
                    gemm(
                        &mut bf.mlp_tmp,
                        &bf.hidden_d,
                        value(params, w_out, m),
                        qrows,
                        f,
                        d,
                        false,
                        false,
                        false,
                    );
                    add_bias(&mut bf.mlp_tmp[..qrows * d], value(params, b_out, m));
                    for ((o, &t), &k) in bf.out[..qrows * d]
                        .iter_mut()
                        .zip(&bf.mlp_tmp)
                        .zip(&bf.m_out)
                    {
                        *o += t * k;
                    }
                } else {
                    // out += hidden W_out + b_out
                    gemm(
                        &mut bf.out,
                        &bf.hidden,
                        value(params, w_out, m),
                        qrows,
                        f,
                        d,
                        false,
                        false,
                        true,
                    );
                    add_bias(&mut bf.out[..qrows * d], value(params, b_out, m));
                }
            }
        }
        // the last layer's output: the last position's residual [B, d], or every position's
        // [B P, d], which row-major is the concatenation [B, P d]
        let nr = self.nq(self.n_layers - 1);
        let last = &self.bufs[self.n_layers - 1].out;
        grow(&mut self.read, b * nr * d);
        match self.ln_final {
            Some((wi, bi)) => {
                grow(&mut self.fin_xhat, b * nr * d);
                grow(&mut self.fin_rstd, b * nr);
                ln_forward(
                    last,
                    value(params, wi, m),
                    value(params, bi, m),
                    &mut self.read,
                    &mut self.fin_xhat,
                    &mut self.fin_rstd,
                    b * nr,
                    d,
                );
            }
            None => self.read[..b * nr * d].copy_from_slice(&last[..b * nr * d]),
        }
        let c = self.classes;
        grow(&mut self.logits, b * c);
        gemm(
            &mut self.logits,
            &self.read,
            value(params, self.w_u, m),
            b,
            nr * d,
            c,
            false,
            false,
            false,
        );
        add_bias(&mut self.logits[..b * c], value(params, self.b_u, m));
    }

    fn backward(&mut self, params: &Params, m: usize, tokens: &[Vec<usize>], b: usize) {
        let (d, pn, h, dh, f, c) = (
            self.d,
            self.positions,
            self.heads,
            self.dh,
            self.f,
            self.classes,
        );
        let hd = h * dh;
        let rows = b * pn;
        for g in &mut self.grads {
            g.fill(E::zero());
        }
        // unembedding
        let nr = self.nq(self.n_layers - 1);
        gemm(
            &mut self.grads[self.w_u],
            &self.read,
            &self.g_logits,
            nr * d,
            b,
            c,
            true,
            false,
            false,
        );
        add_colsums(&mut self.grads[self.b_u], &self.g_logits[..b * c]);
        grow(&mut self.g_x, rows * d);
        grow(&mut self.g_tmp, rows * d);
        gemm(
            &mut self.g_tmp,
            &self.g_logits,
            value(params, self.w_u, m),
            b,
            c,
            nr * d,
            false,
            true,
            false,
        );
        match self.ln_final {
            Some((wi, bi)) => {
                let (dw, db) = two(&mut self.grads, wi, bi);
                ln_backward(
                    &self.g_tmp,
                    &self.fin_xhat,
                    &self.fin_rstd,
                    value(params, wi, m),
                    dw,
                    db,
                    &mut self.g_x,
                    b * nr,
                    d,
                    false,
                );
            }
            None => self.g_x[..b * nr * d].copy_from_slice(&self.g_tmp[..b * nr * d]),
        }
        let scale = E::of(1.0 / (dh as f64).sqrt());
        for l in (0..self.n_layers).rev() {
            let nq = self.nq(l);
            let q0 = pn - nq;
            let qrows = b * nq;
            let idx = &self.layers[l];
            let bf = &self.bufs[l];
            // g_x: gradient of the layer's output [B nq, d]; g_mid: of x_mid
            grow(&mut self.g_mid, qrows * d);
            self.g_mid[..qrows * d].copy_from_slice(&self.g_x[..qrows * d]);
            if let Some([w_in, b_in, w_out, b_out]) = idx.mlp {
                // the MLP's output gradient: the layer's, through the output's dropout mask
                let g_o: &[E] = if self.dropping {
                    grow(&mut self.g_drop, qrows * d);
                    for ((o, &g), &k) in self.g_drop[..qrows * d]
                        .iter_mut()
                        .zip(&self.g_x)
                        .zip(&bf.m_out)
                    {
                        *o = g * k;
                    }
                    &self.g_drop
                } else {
                    &self.g_x
                };
                let hid: &[E] = if self.dropping {
                    &bf.hidden_d
                } else {
                    &bf.hidden
                };
                gemm(
                    &mut self.grads[w_out],
                    hid,
                    g_o,
                    f,
                    qrows,
                    d,
                    true,
                    false,
                    false,
                );
                add_colsums(&mut self.grads[b_out], &g_o[..qrows * d]);
                grow(&mut self.g_hidden, qrows * f);
                gemm(
                    &mut self.g_hidden,
                    g_o,
                    value(params, w_out, m),
                    qrows,
                    d,
                    f,
                    false,
                    true,
                    false,
                );
                let hidden = &bf.hidden;
                let m_hid: Option<&[E]> = self.dropping.then_some(&bf.m_hid[..]);
                par_rows(&mut self.g_hidden[..qrows * f], f, |r0, g| {
                    for (i, (g, &hv)) in g.iter_mut().zip(&hidden[r0 * f..]).enumerate() {
                        if hv <= E::zero() {
                            *g = E::zero();
                        } else if let Some(mk) = m_hid {
                            *g *= mk[r0 * f + i];
                        }
                    }
                });
                gemm(
                    &mut self.grads[w_in],
                    &bf.m,
                    &self.g_hidden,
                    d,
                    qrows,
                    f,
                    true,
                    false,
                    false,
                );
                add_colsums(&mut self.grads[b_in], &self.g_hidden[..qrows * f]);
                gemm(
                    &mut self.g_tmp,
                    &self.g_hidden,
                    value(params, w_in, m),
                    qrows,
                    f,
                    d,
                    false,
                    true,
                    false,
                );
                match idx.ln2 {
                    Some((wi, bi)) => {
                        let (dw, db) = two(&mut self.grads, wi, bi);
                        ln_backward(
                            &self.g_tmp,
                            &bf.xhat2,
                            &bf.rstd2,
                            value(params, wi, m),
                            dw,
                            db,
                            &mut self.g_mid,
                            qrows,
                            d,
                            true,
                        );
                    }
                    None => {
                        for (g, &v) in self.g_mid[..qrows * d].iter_mut().zip(&self.g_tmp) {
                            *g += v;
                        }
                    }
                }
            }
            // W_O, b_O and the gradient of z, through the attention output's dropout mask
            let g_a: &[E] = if self.dropping {
                grow(&mut self.g_drop, qrows * d);
                for ((o, &g), &k) in self.g_drop[..qrows * d]
                    .iter_mut()
                    .zip(&self.g_mid)
                    .zip(&bf.m_attn)
                {
                    *o = g * k;
                }
                &self.g_drop
            } else {
                &self.g_mid
            };
            gemm(
                &mut self.grads[idx.w_o],
                &bf.z,
                g_a,
                hd,
                qrows,
                d,
                true,
                false,
                false,
            );
            add_colsums(&mut self.grads[idx.b_o], &g_a[..qrows * d]);
            grow(&mut self.g_z, qrows * hd);
            gemm(
                &mut self.g_z,
                g_a,
                value(params, idx.w_o, m),
                qrows,
                d,
                hd,
                false,
                true,
                false,
            );
            // attention, one task per sample: each writes its own rows of g_q and g_kv
            grow(&mut self.g_q, qrows * hd);
            grow(&mut self.g_kv, rows * 2 * hd);
            self.g_kv[..rows * 2 * hd].fill(E::zero());
            let (q, kv, g_z, causal) = (&bf.q, &bf.kv, &self.g_z, self.causal);
            let pattern = &bf.pattern;
            let m_pat: Option<&[E]> = self.dropping.then_some(&bf.m_pat[..]);
            self.g_q[..qrows * hd]
                .par_chunks_mut(nq * hd)
                .zip(self.g_kv[..rows * 2 * hd].par_chunks_mut(pn * 2 * hd))
                .enumerate()
                // one scratch row per worker, not one allocation per sample
                .for_each_init(
                    || vec![E::zero(); pn],
                    |dp, (s, (gq_s, gkv_s))| {
                        gq_s.fill(E::zero());
                        for hh in 0..h {
                            for ii in 0..nq {
                                let i = q0 + ii;
                                let top = if causal { i + 1 } else { pn };
                                let pat = &pattern[((s * h + hh) * nq + ii) * pn..][..pn];
                                let gz = &g_z[(s * nq + ii) * hd + hh * dh..][..dh];
                                let mp = m_pat.map(|mp| &mp[((s * h + hh) * nq + ii) * pn..][..pn]);
                                let mut dot = E::zero();
                                for j in 0..top {
                                    let keep = mp.map_or(E::one(), |mp| mp[j]);
                                    let vo = j * 2 * hd + hd + hh * dh;
                                    let v = &kv[s * pn * 2 * hd + vo..][..dh];
                                    // the gradient of the pattern entry, through its dropout mask
                                    dp[j] =
                                        gz.iter().zip(v).fold(E::zero(), |a, (&x, &y)| a + x * y)
                                            * keep;
                                    dot += pat[j] * dp[j];
                                    for (gv, &g) in gkv_s[vo..vo + dh].iter_mut().zip(gz) {
                                        *gv += pat[j] * keep * g;
                                    }
                                }
                                let qo = ii * hd + hh * dh;
                                let qv = &q[s * nq * hd + qo..][..dh];
                                for j in 0..top {
                                    let ds = pat[j] * (dp[j] - dot) * scale;
                                    let ko = j * 2 * hd + hh * dh;
                                    let kvv = &kv[s * pn * 2 * hd + ko..][..dh];
                                    for e in 0..dh {
                                        gq_s[qo + e] += ds * kvv[e];
                                        gkv_s[ko + e] += ds * qv[e];
                                    }
                                }
                            }
                        }
                    },
                );
            // the packed projections
            let a_q: &[E] = if nq < pn { &bf.a_q } else { &bf.a };
            grow(&mut self.g_wq, d * hd);
            gemm(
                &mut self.g_wq,
                a_q,
                &self.g_q,
                d,
                qrows,
                hd,
                true,
                false,
                false,
            );
            grow(&mut self.g_wkv, d * 2 * hd);
            gemm(
                &mut self.g_wkv,
                &bf.a,
                &self.g_kv,
                d,
                rows,
                2 * hd,
                true,
                false,
                false,
            );
            grow(&mut self.g_bq, hd);
            self.g_bq[..hd].fill(E::zero());
            add_colsums(&mut self.g_bq[..hd], &self.g_q[..qrows * hd]);
            grow(&mut self.g_bkv, 2 * hd);
            self.g_bkv[..2 * hd].fill(E::zero());
            add_colsums(&mut self.g_bkv[..2 * hd], &self.g_kv[..rows * 2 * hd]);
            for which in 0..3 {
                let (wi, bi) = (idx.qkv_w[which], idx.qkv_b[which]);
                let (src, bsrc, width, off) = if which == 0 {
                    (&self.g_wq, &self.g_bq, hd, 0)
                } else {
                    (&self.g_wkv, &self.g_bkv, 2 * hd, (which - 1) * hd)
                };
                for hh in 0..h {
                    for r in 0..d {
                        let at = r * width + off + hh * dh;
                        self.grads[wi][(hh * d + r) * dh..(hh * d + r + 1) * dh]
                            .copy_from_slice(&src[at..at + dh]);
                    }
                }
                self.grads[bi].copy_from_slice(&bsrc[off..off + hd]);
            }
            // gradient of the layer's input residual: through the projections (and LN1), plus the
            // residual path at the query rows
            gemm(
                &mut self.g_tmp,
                &self.g_kv,
                &bf.wkv,
                rows,
                2 * hd,
                d,
                false,
                true,
                false,
            );
            if nq == pn {
                gemm(
                    &mut self.g_tmp,
                    &self.g_q,
                    &bf.wq,
                    rows,
                    hd,
                    d,
                    false,
                    true,
                    true,
                );
            } else {
                grow(&mut self.g_tmp_q, qrows * d);
                gemm(
                    &mut self.g_tmp_q,
                    &self.g_q,
                    &bf.wq,
                    qrows,
                    hd,
                    d,
                    false,
                    true,
                    false,
                );
                for k in 0..b {
                    let dst = (k * pn + q0) * d;
                    for (g, &v) in self.g_tmp[dst..dst + nq * d]
                        .iter_mut()
                        .zip(&self.g_tmp_q[k * nq * d..(k + 1) * nq * d])
                    {
                        *g += v;
                    }
                }
            }
            match idx.ln1 {
                Some((wi, bi)) => {
                    let (dw, db) = two(&mut self.grads, wi, bi);
                    ln_backward(
                        &self.g_tmp,
                        &bf.xhat1,
                        &bf.rstd1,
                        value(params, wi, m),
                        dw,
                        db,
                        &mut self.g_x,
                        rows,
                        d,
                        false,
                    );
                }
                None => self.g_x[..rows * d].copy_from_slice(&self.g_tmp[..rows * d]),
            }
            for s in 0..b {
                for ii in 0..nq {
                    let (r, dst) = (s * nq + ii, s * pn + q0 + ii);
                    for (g, &v) in self.g_x[dst * d..(dst + 1) * d]
                        .iter_mut()
                        .zip(&self.g_mid[r * d..(r + 1) * d])
                    {
                        *g += v;
                    }
                }
            }
        }
        // embeddings
        for (p, pos) in tokens.iter().enumerate() {
            for (k, &tok) in pos.iter().take(b).enumerate() {
                let r = k * pn + p;
                let g = &self.g_x[r * d..(r + 1) * d];
                for (a, &v) in self.grads[self.w_e][tok * d..(tok + 1) * d]
                    .iter_mut()
                    .zip(g)
                {
                    *a += v;
                }
                if let Some(wp) = self.w_pos {
                    for (a, &v) in self.grads[wp][p * d..(p + 1) * d].iter_mut().zip(g) {
                        *a += v;
                    }
                }
            }
        }
    }
}

/// Member m's values of parameter k.
fn value<E: FusedReal>(params: &Params, k: usize, m: usize) -> &[E] {
    let n = params.specs[k].numel();
    &E::values(&params.values[k])[m * n..(m + 1) * n]
}

/// Two distinct gradient buffers at once.
fn two<E>(grads: &mut [Vec<E>], a: usize, b: usize) -> (&mut [E], &mut [E]) {
    assert!(a < b, "LayerNorm weight comes before its bias");
    let (lo, hi) = grads.split_at_mut(b);
    (&mut lo[a], &mut hi[0])
}

impl<E: FusedReal> Kernel<E> for FusedTransformer<E> {
    fn forward(&mut self, params: &Params, m: usize, inputs: &HostInputs<'_, E>, b: usize) -> &[E] {
        let HostInputs::Tokens(tokens) = inputs else {
            unreachable!("the transformer takes tokens")
        };
        // evaluation: nothing is dropped
        self.forward_impl(params, m, tokens, b, None);
        &self.logits[..b * self.classes]
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
        let c = self.classes;
        grow(&mut self.g_logits, b * c);
        let total = E::loss(
            loss,
            &self.logits[..b * c],
            targets,
            &mut self.g_logits[..b * c],
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
