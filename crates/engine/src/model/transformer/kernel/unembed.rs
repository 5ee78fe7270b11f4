//! The unembedding: LayerNorm (pre-LN), then the last position's residual or every position's
//! concatenated, times W_U, plus b_U (burn's `Transformer::unembed`); and its backward.

use super::{LayerNorm, Pass, Scratch, index, norm_backward, norm_forward};
use crate::host::{add_bias, add_column_sums, gemm, grow};
use crate::model::kernel::FusedReal;
use crate::model::transformer::names::Names;
use crate::params::ParamSpec;

pub(super) struct Unembed<E> {
    ln_final: Option<LayerNorm<E>>,
    w_u: usize,
    b_u: Option<usize>,
    /// The unembedding's input [B r, w]: r rows of width w per sample (see `forward`).
    read: Vec<E>,
    /// The logits [B r, C].
    pub logits: Vec<E>,
}

impl<E: FusedReal> Unembed<E> {
    pub fn new(specs: &[ParamSpec], names: &Names) -> Unembed<E> {
        Unembed {
            ln_final: names.ln_final.as_ref().map(|n| LayerNorm::new(specs, n)),
            w_u: index(
                specs,
                names.w_u.as_ref().expect("the kernel covers untied models"),
            ),
            b_u: names.b_u.as_ref().map(|b| index(specs, b)),
            read: Vec::new(),
            logits: Vec::new(),
        }
    }

    /// The logits of the last block's output `last` [B nq, d], read as `(r, w)` = (rows per
    /// sample, row width): (1, nq d) concatenates each sample's positions, (nq, d) gives every
    /// position its own row of logits. Row-major both are the same buffer.
    pub fn forward(&mut self, p: &Pass, last: &[E], (r, w): (usize, usize)) {
        let (rows, d, c) = (p.b * r, p.sh.d, p.sh.classes);
        grow(&mut self.read, rows * w);
        norm_forward(
            self.ln_final.as_mut(),
            p,
            last,
            &mut self.read,
            rows * w / d,
        );
        grow(&mut self.logits, rows * c);
        gemm(
            &mut self.logits,
            &self.read,
            p.value(self.w_u),
            rows,
            w,
            c,
            false,
            false,
            false,
        );
        if let Some(b_u) = self.b_u {
            add_bias(&mut self.logits[..rows * c], p.value(b_u));
        }
    }

    /// From the logits' gradient `s.g_logits` to the last block's output's in `s.g_x` [B nq, d],
    /// the read `(r, w)` as in `forward`.
    pub fn backward(
        &self,
        p: &Pass,
        (r, w): (usize, usize),
        s: &mut Scratch<E>,
        grads: &mut [Vec<E>],
    ) {
        let (rows, d, c) = (p.b * r, p.sh.d, p.sh.classes);
        gemm(
            &mut grads[self.w_u],
            &self.read,
            &s.g_logits,
            w,
            rows,
            c,
            true,
            false,
            false,
        );
        if let Some(b_u) = self.b_u {
            add_column_sums(&mut grads[b_u], &s.g_logits[..rows * c]);
        }
        gemm(
            &mut s.g_tmp,
            &s.g_logits,
            p.value(self.w_u),
            rows,
            c,
            w,
            false,
            true,
            false,
        );
        norm_backward(
            self.ln_final.as_ref(),
            p,
            grads,
            &s.g_tmp,
            &mut s.g_x,
            rows * w / d,
            false,
        );
    }
}
