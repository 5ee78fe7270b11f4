//! The MLP of one block: x_out = x_mid + act(m W_in + b_in) W_out + b_out on m = LN2(x_mid) (act ReLU
//! or the exact GELU), with
//! training dropout on the hidden activation and the output (burn's `Transformer::mlp`); and its
//! backward.

use super::{Pass, Scratch, Shape, index, query_rows_mask};
use crate::dropout::Site;
use crate::host::{
    activate, add_bias, add_bias_relu, add_column_sums, gelu, gelu_backward, gemm, grow, par_rows,
};
use crate::model::kernel::FusedReal;
use crate::model::transformer::names::MlpNames;
use crate::ops::Activation;
use crate::params::ParamSpec;

pub(super) struct Mlp<E> {
    w_in: usize,
    b_in: Option<usize>,
    w_out: usize,
    b_out: Option<usize>,
    /// GELU instead of ReLU.
    gelu: bool,
    /// The MLP's input m = LN2(x_mid) [B nq, d].
    pub input: Vec<E>,
    /// GELU's pre-activation z and Phi(z) [B nq, d_mlp], for the backward pass.
    pre: Vec<E>,
    cdf: Vec<E>,
    /// relu(m W_in + b_in) [B nq, d_mlp], and the same after its dropout mask.
    hidden: Vec<E>,
    hidden_d: Vec<E>,
    /// The MLP's output before its dropout mask [B nq, d].
    out_d: Vec<E>,
    /// This step's dropout masks at the query rows: hidden [B nq, d_mlp], output [B nq, d].
    m_hid: Vec<E>,
    m_out: Vec<E>,
}

impl<E: FusedReal> Mlp<E> {
    pub fn new(specs: &[ParamSpec], n: &MlpNames, gelu: bool) -> Mlp<E> {
        Mlp {
            gelu,
            pre: Vec::new(),
            cdf: Vec::new(),
            w_in: index(specs, &n.w_in),
            b_in: n.b_in.as_ref().map(|b| index(specs, b)),
            w_out: index(specs, &n.w_out),
            b_out: n.b_out.as_ref().map(|b| index(specs, b)),
            input: Vec::new(),
            hidden: Vec::new(),
            hidden_d: Vec::new(),
            out_d: Vec::new(),
            m_hid: Vec::new(),
            m_out: Vec::new(),
        }
    }

    /// Layer l's dropout masks of step (seed, step) at the query rows.
    pub fn masks(&mut self, dropout: (u64, u64), l: usize, b: usize, nq: usize, sh: &Shape) {
        query_rows_mask(dropout, l, Site::Hidden, sh.f, b, nq, sh, &mut self.m_hid);
        query_rows_mask(dropout, l, Site::MlpOut, sh.d, b, nq, sh, &mut self.m_out);
    }

    /// out [B nq, d] += the MLP of `self.input`.
    pub fn forward(&mut self, p: &Pass, qrows: usize, out: &mut [E]) {
        let (d, f) = (p.sh.d, p.sh.f);
        grow(&mut self.hidden, qrows * f);
        gemm(
            &mut self.hidden,
            &self.input,
            p.value(self.w_in),
            qrows,
            d,
            f,
            false,
            false,
            false,
        );
        let hidden = &mut self.hidden[..qrows * f];
        match (self.gelu, self.b_in) {
            (false, Some(b_in)) => add_bias_relu(hidden, p.value(b_in)),
            (false, None) => activate(Activation::Relu, hidden),
            (true, b_in) => {
                if let Some(b_in) = b_in {
                    add_bias(hidden, p.value(b_in));
                }
                gelu(hidden, &mut self.pre, &mut self.cdf);
            }
        }
        if p.dropping {
            // out += (hidden * mask) W_out + b_out, times the output's mask
            grow(&mut self.hidden_d, qrows * f);
            for ((o, &hv), &k) in self.hidden_d[..qrows * f]
                .iter_mut()
                .zip(&self.hidden)
                .zip(&self.m_hid)
            {
                *o = hv * k;
            }
            grow(&mut self.out_d, qrows * d);
            gemm(
                &mut self.out_d,
                &self.hidden_d,
                p.value(self.w_out),
                qrows,
                f,
                d,
                false,
                false,
                false,
            );
            if let Some(b_out) = self.b_out {
                add_bias(&mut self.out_d[..qrows * d], p.value(b_out));
            }
            for ((o, &t), &k) in out[..qrows * d]
                .iter_mut()
                .zip(&self.out_d)
                .zip(&self.m_out)
            {
                *o += t * k;
            }
        } else {
            // out += hidden W_out + b_out
            gemm(
                out,
                &self.hidden,
                p.value(self.w_out),
                qrows,
                f,
                d,
                false,
                false,
                true,
            );
            if let Some(b_out) = self.b_out {
                add_bias(&mut out[..qrows * d], p.value(b_out));
            }
        }
    }

    /// From the gradient of the block's output `s.g_x` [B nq, d] to that of the MLP's input in
    /// `s.g_tmp`, the MLP's parameter gradients in `grads`.
    pub fn backward(&self, p: &Pass, qrows: usize, s: &mut Scratch<E>, grads: &mut [Vec<E>]) {
        let (d, f, dropping) = (p.sh.d, p.sh.f, p.dropping);
        // the MLP's output gradient: the block's, through the output's dropout mask
        let g_o: &[E] = if dropping {
            grow(&mut s.g_drop, qrows * d);
            for ((o, &g), &k) in s.g_drop[..qrows * d]
                .iter_mut()
                .zip(&s.g_x)
                .zip(&self.m_out)
            {
                *o = g * k;
            }
            &s.g_drop
        } else {
            &s.g_x
        };
        let hid: &[E] = if dropping {
            &self.hidden_d
        } else {
            &self.hidden
        };
        gemm(
            &mut grads[self.w_out],
            hid,
            g_o,
            f,
            qrows,
            d,
            true,
            false,
            false,
        );
        if let Some(b_out) = self.b_out {
            add_column_sums(&mut grads[b_out], &g_o[..qrows * d]);
        }
        grow(&mut s.g_hidden, qrows * f);
        gemm(
            &mut s.g_hidden,
            g_o,
            p.value(self.w_out),
            qrows,
            d,
            f,
            false,
            true,
            false,
        );
        // through the hidden activation's dropout mask and the activation
        let hidden = &self.hidden;
        let m_hid: Option<&[E]> = dropping.then_some(&self.m_hid[..]);
        if self.gelu {
            let g = &mut s.g_hidden[..qrows * f];
            if let Some(mk) = m_hid {
                for (g, &k) in g.iter_mut().zip(mk) {
                    *g *= k;
                }
            }
            gelu_backward(g, &self.pre, &self.cdf, &mut s.g_drop);
        } else {
            par_rows(&mut s.g_hidden[..qrows * f], f, |r0, g| {
                for (i, (g, &hv)) in g.iter_mut().zip(&hidden[r0 * f..]).enumerate() {
                    if hv <= E::zero() {
                        *g = E::zero();
                    } else if let Some(mk) = m_hid {
                        *g *= mk[r0 * f + i];
                    }
                }
            });
        }
        gemm(
            &mut grads[self.w_in],
            &self.input,
            &s.g_hidden,
            d,
            qrows,
            f,
            true,
            false,
            false,
        );
        if let Some(b_in) = self.b_in {
            add_column_sums(&mut grads[b_in], &s.g_hidden[..qrows * f]);
        }
        gemm(
            &mut s.g_tmp,
            &s.g_hidden,
            p.value(self.w_in),
            qrows,
            f,
            d,
            false,
            true,
            false,
        );
    }
}
