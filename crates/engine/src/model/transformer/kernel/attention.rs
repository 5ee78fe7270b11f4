//! Multi-head attention of one block (burn's `Transformer::attention`): [q k v] = a [W_Q W_K W_V] +
//! b with the three projections packed into two products, pattern = softmax(q k^T / sqrt(d_head),
//! masked), z = pattern v, out = z W_O + b_O, with training dropout on the pattern and the output;
//! queries only at the block's query rows. Backward in reverse: W_O, then the pattern
//! (softmax's ds_j = p_j (dp_j - sum_i p_i dp_i)), then the projections.

use super::{Pass, Shape, index, query_rows_mask};
use crate::dropout::Site;
use crate::host::{add_bias, add_column_sums, gemm, grow};
use crate::model::kernel::FusedReal;
use crate::model::transformer::names::AttnNames;
use crate::params::ParamSpec;
use rayon::prelude::*;

pub(super) struct Attention<E> {
    /// W_Q, W_K, W_V and b_Q, b_K, b_V (None with `attn_bias = false`).
    w: [usize; 3],
    b: Option<[usize; 3]>,
    w_o: usize,
    b_o: Option<usize>,
    /// The sublayer's input a = LN1(x) [B P, d].
    pub input: Vec<E>,
    /// The input at the query rows [B nq, d] (when nq < P).
    a_q: Vec<E>,
    /// Queries at the query rows [B nq, H dh]; keys and values at every row [B P, 2 H dh].
    q: Vec<E>,
    kv: Vec<E>,
    /// [B, H, nq, P]
    pattern: Vec<E>,
    /// [B nq, H dh]
    z: Vec<E>,
    /// This step's dropout masks at the query rows: pattern [B, H, nq, P], output [B nq, d].
    m_pat: Vec<E>,
    m_attn: Vec<E>,
    /// The packed projections of this step's forward pass, kept for its backward pass: W_Q
    /// [d, H dh] and b_Q, W_K W_V [d, 2 H dh] and their biases.
    wq: Vec<E>,
    bq: Vec<E>,
    wkv: Vec<E>,
    bkv: Vec<E>,
}

/// The attention's gradient buffers, shared by every block.
#[derive(Default)]
pub(super) struct Scratch<E> {
    g_z: Vec<E>,
    g_q: Vec<E>,
    g_kv: Vec<E>,
    g_wq: Vec<E>,
    g_wkv: Vec<E>,
    g_bq: Vec<E>,
    g_bkv: Vec<E>,
    g_tmp_q: Vec<E>,
}

impl<E: FusedReal> Attention<E> {
    pub fn new(specs: &[ParamSpec], n: &AttnNames) -> Attention<E> {
        Attention {
            w: [
                index(specs, &n.w_q),
                index(specs, &n.w_k),
                index(specs, &n.w_v),
            ],
            b: match (&n.b_q, &n.b_k, &n.b_v) {
                (Some(q), Some(k), Some(v)) => {
                    Some([index(specs, q), index(specs, k), index(specs, v)])
                }
                _ => None,
            },
            w_o: index(specs, &n.w_o),
            b_o: n.b_o.as_ref().map(|b| index(specs, b)),
            input: Vec::new(),
            a_q: Vec::new(),
            q: Vec::new(),
            kv: Vec::new(),
            pattern: Vec::new(),
            z: Vec::new(),
            m_pat: Vec::new(),
            m_attn: Vec::new(),
            wq: Vec::new(),
            bq: Vec::new(),
            wkv: Vec::new(),
            bkv: Vec::new(),
        }
    }

    /// Packs W_Q [H, d, dh] into one [d, H dh] matrix and W_K, W_V into one [d, 2 H dh] (heads
    /// major within each): once a step, for forward and backward.
    pub fn pack(&mut self, p: &Pass) {
        let (d, h, dh) = (p.sh.d, p.sh.heads, p.sh.dh);
        let hd = h * dh;
        grow(&mut self.wq, d * hd);
        grow(&mut self.bq, hd);
        grow(&mut self.wkv, d * 2 * hd);
        grow(&mut self.bkv, 2 * hd);
        for which in 0..3 {
            let w = p.value::<E>(self.w[which]);
            let b: Option<&[E]> = self.b.map(|b| p.value::<E>(b[which]));
            let (dst, bias, width, off) = if which == 0 {
                (&mut self.wq, &mut self.bq, hd, 0)
            } else {
                (&mut self.wkv, &mut self.bkv, 2 * hd, (which - 1) * hd)
            };
            for hh in 0..h {
                for r in 0..d {
                    let src = &w[(hh * d + r) * dh..(hh * d + r + 1) * dh];
                    let at = r * width + off + hh * dh;
                    dst[at..at + dh].copy_from_slice(src);
                }
            }
            match b {
                Some(b) => bias[off..off + hd].copy_from_slice(b),
                None => bias[off..off + hd].fill(E::zero()),
            }
        }
    }

    /// Layer l's dropout masks of step (seed, step) at the query rows (full layouts from
    /// [`crate::dropout::mask`], the rows the fused pass computes picked out).
    pub fn masks(&mut self, dropout: (u64, u64), l: usize, b: usize, nq: usize, sh: &Shape) {
        let (pn, h) = (sh.positions, sh.heads);
        let full = crate::dropout::mask(
            dropout.0,
            dropout.1,
            l,
            Site::Pattern,
            b * h * pn * pn,
            sh.p_drop,
        );
        self.m_pat.clear();
        for s in 0..b {
            for hh in 0..h {
                for i in pn - nq..pn {
                    let at = ((s * h + hh) * pn + i) * pn;
                    self.m_pat
                        .extend(full[at..at + pn].iter().map(|&x| E::of(x)));
                }
            }
        }
        query_rows_mask(dropout, l, Site::AttnOut, sh.d, b, nq, sh, &mut self.m_attn);
    }

    /// out [B nq, d] = the attention output of `self.input` at the query rows.
    pub fn forward(&mut self, p: &Pass, nq: usize, out: &mut [E]) {
        let (b, sh) = (p.b, p.sh);
        self.project(b, nq, sh);
        self.mix(b, nq, p.dropping, sh);
        let (d, hd, qrows) = (sh.d, sh.heads * sh.dh, b * nq);
        gemm(
            out,
            &self.z,
            p.value(self.w_o),
            qrows,
            hd,
            d,
            false,
            false,
            false,
        );
        if let Some(b_o) = self.b_o {
            add_bias(&mut out[..qrows * d], p.value(b_o));
        }
        if p.dropping {
            for (o, &k) in out[..qrows * d].iter_mut().zip(&self.m_attn) {
                *o *= k;
            }
        }
    }

    /// Queries at the query rows, keys and values at every row.
    fn project(&mut self, b: usize, nq: usize, sh: &Shape) {
        let (d, pn, hd) = (sh.d, sh.positions, sh.heads * sh.dh);
        let (rows, qrows) = (b * pn, b * nq);
        if nq < pn {
            grow(&mut self.a_q, qrows * d);
            for k in 0..b {
                let src = (k * pn + pn - nq) * d;
                self.a_q[k * nq * d..(k + 1) * nq * d]
                    .copy_from_slice(&self.input[src..src + nq * d]);
            }
        }
        let a_q: &[E] = if nq < pn { &self.a_q } else { &self.input };
        grow(&mut self.q, qrows * hd);
        gemm(
            &mut self.q,
            a_q,
            &self.wq,
            qrows,
            d,
            hd,
            false,
            false,
            false,
        );
        if self.b.is_some() {
            add_bias(&mut self.q[..qrows * hd], &self.bq[..hd]);
        }
        grow(&mut self.kv, rows * 2 * hd);
        gemm(
            &mut self.kv,
            &self.input,
            &self.wkv,
            rows,
            d,
            2 * hd,
            false,
            false,
            false,
        );
        if self.b.is_some() {
            add_bias(&mut self.kv[..rows * 2 * hd], &self.bkv[..2 * hd]);
        }
    }

    /// The pattern and z = pattern v at the query rows: one task per sample, over the cores.
    fn mix(&mut self, b: usize, nq: usize, dropping: bool, sh: &Shape) {
        let (pn, h, dh) = (sh.positions, sh.heads, sh.dh);
        let hd = h * dh;
        let q0 = pn - nq;
        let scale = E::of(1.0 / (dh as f64).sqrt());
        grow(&mut self.pattern, b * h * nq * pn);
        grow(&mut self.z, b * nq * hd);
        let (q, kv, causal) = (&self.q, &self.kv, sh.causal);
        let m_pat: Option<&[E]> = dropping.then_some(&self.m_pat[..]);
        self.pattern[..b * h * nq * pn]
            .par_chunks_mut(h * nq * pn)
            .zip(self.z[..b * nq * hd].par_chunks_mut(nq * hd))
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
                            let v =
                                qv.iter().zip(k).fold(E::zero(), |a, (&x, &y)| a + x * y) * scale;
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
    }

    /// From the gradient of x_mid `g_mid` [B nq, d] to that of the attention's input in `g_tmp`
    /// [B P, d], the attention's parameter gradients in `grads`.
    pub fn backward(&self, p: &Pass, nq: usize, s: &mut super::Scratch<E>, grads: &mut [Vec<E>]) {
        let (b, sh, dropping) = (p.b, p.sh, p.dropping);
        let (d, hd, qrows) = (sh.d, sh.heads * sh.dh, b * nq);
        // W_O, b_O and the gradient of z, through the attention output's dropout mask
        let g_a: &[E] = if dropping {
            grow(&mut s.g_drop, qrows * d);
            for ((o, &g), &k) in s.g_drop[..qrows * d]
                .iter_mut()
                .zip(&s.g_mid)
                .zip(&self.m_attn)
            {
                *o = g * k;
            }
            &s.g_drop
        } else {
            &s.g_mid
        };
        gemm(
            &mut grads[self.w_o],
            &self.z,
            g_a,
            hd,
            qrows,
            d,
            true,
            false,
            false,
        );
        if let Some(b_o) = self.b_o {
            add_column_sums(&mut grads[b_o], &g_a[..qrows * d]);
        }
        let a = &mut s.attn;
        grow(&mut a.g_z, qrows * hd);
        gemm(
            &mut a.g_z,
            g_a,
            p.value(self.w_o),
            qrows,
            d,
            hd,
            false,
            true,
            false,
        );
        self.mix_backward(b, nq, dropping, sh, a);
        self.project_backward(b, nq, sh, a, &mut s.g_tmp, grads);
    }

    /// The gradients of the queries and of the keys and values from that of z: one task per sample,
    /// each writing its own rows of g_q and g_kv.
    fn mix_backward(&self, b: usize, nq: usize, dropping: bool, sh: &Shape, a: &mut Scratch<E>) {
        let (pn, h, dh) = (sh.positions, sh.heads, sh.dh);
        let (hd, q0, rows, qrows) = (h * dh, pn - nq, b * pn, b * nq);
        let scale = E::of(1.0 / (dh as f64).sqrt());
        grow(&mut a.g_q, qrows * hd);
        grow(&mut a.g_kv, rows * 2 * hd);
        a.g_kv[..rows * 2 * hd].fill(E::zero());
        let (q, kv, g_z, causal) = (&self.q, &self.kv, &a.g_z, sh.causal);
        let pattern = &self.pattern;
        let m_pat: Option<&[E]> = dropping.then_some(&self.m_pat[..]);
        a.g_q[..qrows * hd]
            .par_chunks_mut(nq * hd)
            .zip(a.g_kv[..rows * 2 * hd].par_chunks_mut(pn * 2 * hd))
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
                                dp[j] = gz.iter().zip(v).fold(E::zero(), |a, (&x, &y)| a + x * y)
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
    }

    /// The projections' gradients (packed, then unpacked into TransformerLens's layouts) and the
    /// gradient of the attention's input in `g_tmp` [B P, d].
    fn project_backward(
        &self,
        b: usize,
        nq: usize,
        sh: &Shape,
        a: &mut Scratch<E>,
        g_tmp: &mut [E],
        grads: &mut [Vec<E>],
    ) {
        let (d, pn, h, dh) = (sh.d, sh.positions, sh.heads, sh.dh);
        let (hd, rows, qrows) = (h * dh, b * pn, b * nq);
        let a_q: &[E] = if nq < pn { &self.a_q } else { &self.input };
        grow(&mut a.g_wq, d * hd);
        gemm(&mut a.g_wq, a_q, &a.g_q, d, qrows, hd, true, false, false);
        grow(&mut a.g_wkv, d * 2 * hd);
        gemm(
            &mut a.g_wkv,
            &self.input,
            &a.g_kv,
            d,
            rows,
            2 * hd,
            true,
            false,
            false,
        );
        grow(&mut a.g_bq, hd);
        a.g_bq[..hd].fill(E::zero());
        add_column_sums(&mut a.g_bq[..hd], &a.g_q[..qrows * hd]);
        grow(&mut a.g_bkv, 2 * hd);
        a.g_bkv[..2 * hd].fill(E::zero());
        add_column_sums(&mut a.g_bkv[..2 * hd], &a.g_kv[..rows * 2 * hd]);
        for which in 0..3 {
            let (wi, bi) = (self.w[which], self.b.map(|b| b[which]));
            let (src, bsrc, width, off) = if which == 0 {
                (&a.g_wq, &a.g_bq, hd, 0)
            } else {
                (&a.g_wkv, &a.g_bkv, 2 * hd, (which - 1) * hd)
            };
            for hh in 0..h {
                for r in 0..d {
                    let at = r * width + off + hh * dh;
                    grads[wi][(hh * d + r) * dh..(hh * d + r + 1) * dh]
                        .copy_from_slice(&src[at..at + dh]);
                }
            }
            if let Some(bi) = bi {
                grads[bi].copy_from_slice(&bsrc[off..off + hd]);
            }
        }
        // through the keys and values at every row, then the queries at the query rows
        gemm(
            g_tmp,
            &a.g_kv,
            &self.wkv,
            rows,
            2 * hd,
            d,
            false,
            true,
            false,
        );
        if nq == pn {
            gemm(g_tmp, &a.g_q, &self.wq, rows, hd, d, false, true, true);
        } else {
            grow(&mut a.g_tmp_q, qrows * d);
            gemm(
                &mut a.g_tmp_q,
                &a.g_q,
                &self.wq,
                qrows,
                hd,
                d,
                false,
                true,
                false,
            );
            for k in 0..b {
                let dst = (k * pn + pn - nq) * d;
                crate::host::add_into(
                    &mut g_tmp[dst..dst + nq * d],
                    &a.g_tmp_q[k * nq * d..(k + 1) * nq * d],
                );
            }
        }
    }
}
