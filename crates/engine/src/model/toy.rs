//! The toy model of Liu et al. (2022): (a, b) -> Dec(E_a + E_b), learned embeddings summed into an MLP
//! decoder. Embeddings start uniform in [-s/2, s/2]; decoder layers use PyTorch's default `nn.Linear`
//! initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.

use super::{Inputs, Model, ParamSpec, uniform};
use crate::config::{Head, TaskConfig, ToyModel};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;

pub struct Toy {
    cfg: ToyModel,
    d_vocab: usize,
    d_out: usize,
    /// Layer widths d_embed -> hidden... -> d_out.
    widths: Vec<usize>,
}

impl Toy {
    pub fn new(cfg: &ToyModel, task: &TaskConfig) -> Toy {
        let p = match task {
            TaskConfig::Addition(t) => t.p,
            TaskConfig::TeacherStudent(t) => t.d_in,
        };
        let n_classes = 2 * p - 1;
        let d_out = match cfg.head {
            Head::Regression => cfg.d_target,
            Head::Classification => n_classes,
        };
        let mut widths = vec![cfg.d_embed];
        widths.extend(&cfg.d_hidden);
        widths.push(d_out);
        Toy {
            cfg: cfg.clone(),
            d_vocab: p,
            d_out,
            widths,
        }
    }
}

impl Model for Toy {
    fn specs(&self) -> Vec<ParamSpec> {
        let mut s = vec![ParamSpec::new(
            "embed.W_E",
            &[self.d_vocab, self.cfg.d_embed],
        )];
        for (l, w) in self.widths.windows(2).enumerate() {
            s.push(ParamSpec::new(&format!("decoder.{l}.W"), &[w[0], w[1]]));
            s.push(ParamSpec::new(&format!("decoder.{l}.b"), &[w[1]]));
        }
        s
    }

    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let mut out = vec![uniform(
            rng,
            self.d_vocab * self.cfg.d_embed,
            self.cfg.init_scale / 2.0,
        )];
        for w in self.widths.windows(2) {
            let a = 1.0 / (w[0] as f64).sqrt();
            out.push(uniform(rng, w[0] * w[1], a));
            out.push(uniform(rng, w[1], a));
        }
        out
    }

    /// Shapes: tokens a, b [M, B]; embed.W_E [M, d_vocab, d]; decoder.l.W [M, d_in, d_out],
    /// decoder.l.b [M, 1, d_out]; output [M, B, d_out].
    fn forward(&self, params: &[Tensor<3>], inputs: &Inputs) -> Tensor<3> {
        let Inputs::Tokens(tokens) = inputs else {
            panic!("the toy model takes tokens")
        };
        let w_e = &params[0];
        let [m, _, d] = w_e.dims();
        let embed = |ids: &Tensor<2, Int>| {
            let [_, b] = ids.dims();
            let idx = ids.clone().reshape([m, b, 1]).expand([m, b, d]);
            w_e.clone().gather(1, idx) // [M, B, d]
        };
        let mut h = embed(&tokens[0]) + embed(&tokens[1]);
        let layers = self.widths.len() - 1;
        for l in 0..layers {
            let (w, b) = (&params[1 + 2 * l], &params[2 + 2 * l]);
            h = h.matmul(w.clone()) + b.clone();
            if l + 1 < layers {
                h = super::activate(h, self.cfg.act_fn);
            }
        }
        h
    }

    fn d_out(&self) -> usize {
        self.d_out
    }
}
