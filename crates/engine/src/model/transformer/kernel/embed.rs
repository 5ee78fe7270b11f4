//! The embedding: each token's row of W_E plus its position's row of W_pos, and the backward,
//! which scatters the input residual's gradient back into both tables (burn's `Transformer::embed`).

use super::{Pass, Shape, index};
use crate::host::{add_into, grow};
use crate::model::kernel::FusedReal;
use crate::model::transformer::names::Names;
use crate::params::ParamSpec;

pub(super) struct Embed<E> {
    w_e: usize,
    w_pos: Option<usize>,
    /// The fixed positional table [P, d] of `pos = "sinusoidal"`.
    table: Option<Vec<E>>,
    /// The embedded input residual [B P, d].
    pub x0: Vec<E>,
}

impl<E: FusedReal> Embed<E> {
    pub fn new(specs: &[ParamSpec], names: &Names, sinusoidal: bool, sh: &Shape) -> Embed<E> {
        Embed {
            w_e: index(specs, &names.w_e),
            w_pos: names.w_pos.as_ref().map(|n| index(specs, n)),
            table: sinusoidal.then(|| {
                crate::model::transformer::sinusoids(sh.positions, sh.d)
                    .into_iter()
                    .map(E::of)
                    .collect()
            }),
            x0: Vec::new(),
        }
    }

    pub fn forward(&mut self, p: &Pass, tokens: &[Vec<usize>]) {
        let (b, d, pn) = (p.b, p.sh.d, p.sh.positions);
        grow(&mut self.x0, b * pn * d);
        let w_e = p.value::<E>(self.w_e);
        for (i, pos) in tokens.iter().enumerate() {
            for (k, &tok) in pos.iter().take(b).enumerate() {
                let r = k * pn + i;
                self.x0[r * d..(r + 1) * d].copy_from_slice(&w_e[tok * d..(tok + 1) * d]);
                if let Some(wp) = self.w_pos {
                    let wp = &p.value::<E>(wp)[i * d..(i + 1) * d];
                    add_into(&mut self.x0[r * d..(r + 1) * d], wp);
                }
                if let Some(t) = &self.table {
                    add_into(&mut self.x0[r * d..(r + 1) * d], &t[i * d..(i + 1) * d]);
                }
            }
        }
    }

    /// dW_E[token] and dW_pos[position] += the gradient of the input residual `g_x` [B P, d].
    pub fn backward(&self, p: &Pass, tokens: &[Vec<usize>], g_x: &[E], grads: &mut [Vec<E>]) {
        let (b, d, pn) = (p.b, p.sh.d, p.sh.positions);
        for (i, pos) in tokens.iter().enumerate() {
            for (k, &tok) in pos.iter().take(b).enumerate() {
                let r = k * pn + i;
                let g = &g_x[r * d..(r + 1) * d];
                add_into(&mut grads[self.w_e][tok * d..(tok + 1) * d], g);
                if let Some(wp) = self.w_pos {
                    add_into(&mut grads[wp][i * d..(i + 1) * d], g);
                }
            }
        }
    }
}
