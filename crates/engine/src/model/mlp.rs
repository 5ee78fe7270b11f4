//! A multilayer perceptron on dense inputs: the students of the linear-estimator study (Levi et al.
//! 2023). With no hidden layer it is the linear student d_in -> d_out; with hidden widths it is a
//! deeper student. Parameters `mlp.{l}.W` [d_in, d_out] (input times W) and, with biases, `mlp.{l}.b`.

use super::{Inputs, Model, ParamSpec, uniform};
use crate::config::{Init, MlpModel, TaskConfig};
use burn::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub struct Mlp {
    cfg: MlpModel,
    /// Layer widths d_in -> hidden... -> d_out.
    widths: Vec<usize>,
}

/// Weights of a layer d_in -> d_out (row-major [d_in, d_out]) and its bias if asked for.
/// Levi: N(0, variance 1 / (2 d_in d_out)) times `scale`, zero bias. PyTorch: U(-a, a) with
/// a = 1/sqrt(d_in) for weights (times `scale`) and biases.
pub fn init_layer(
    r: &mut ChaCha8Rng,
    init: Init,
    d_in: usize,
    d_out: usize,
    scale: f64,
    bias: bool,
) -> (Vec<f64>, Option<Vec<f64>>) {
    match init {
        Init::Levi => {
            let sd = scale / (2.0 * d_in as f64 * d_out as f64).sqrt();
            let w = (0..d_in * d_out)
                .map(|_| {
                    sd * {
                        let z: f64 = StandardNormal.sample(r);
                        z
                    }
                })
                .collect();
            (w, bias.then(|| vec![0.0; d_out]))
        }
        Init::Pytorch => {
            let a = 1.0 / (d_in as f64).sqrt();
            let w = uniform(r, d_in * d_out, a)
                .into_iter()
                .map(|x| scale * x)
                .collect();
            (w, bias.then(|| uniform(r, d_out, a)))
        }
    }
}

impl Mlp {
    pub fn new(cfg: &MlpModel, task: &TaskConfig) -> Mlp {
        let (d_in, d_out) = match task {
            TaskConfig::TeacherStudent(t) => (t.d_in, t.d_out),
            TaskConfig::Addition(t) => (2, 2 * t.p - 1),
        };
        let widths = std::iter::once(d_in)
            .chain(cfg.d_hidden.iter().copied())
            .chain([d_out])
            .collect();
        Mlp {
            cfg: cfg.clone(),
            widths,
        }
    }
}

impl Model for Mlp {
    fn specs(&self) -> Vec<ParamSpec> {
        let mut s = Vec::new();
        for (l, w) in self.widths.windows(2).enumerate() {
            s.push(ParamSpec::new(&format!("mlp.{l}.W"), &[w[0], w[1]]));
            if self.cfg.bias {
                s.push(ParamSpec::new(&format!("mlp.{l}.b"), &[w[1]]));
            }
        }
        s
    }

    fn init(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        for w in self.widths.windows(2) {
            let (weights, bias) = init_layer(
                rng,
                self.cfg.init,
                w[0],
                w[1],
                self.cfg.init_scale,
                self.cfg.bias,
            );
            out.push(weights);
            out.extend(bias);
        }
        out
    }

    /// Shapes: x [M, B, d_in]; mlp.l.W [M, d_in, d_out], mlp.l.b [M, 1, d_out]; output [M, B, d_out].
    fn forward(&self, params: &[Tensor<3>], inputs: &Inputs) -> Tensor<3> {
        let Inputs::Dense(x) = inputs else {
            panic!("the MLP takes dense inputs")
        };
        let mut h = x.clone();
        let layers = self.widths.len() - 1;
        let per = if self.cfg.bias { 2 } else { 1 };
        for l in 0..layers {
            h = h.matmul(params[per * l].clone());
            if self.cfg.bias {
                h = h + params[per * l + 1].clone();
            }
            if l + 1 < layers {
                h = super::activate(h, self.cfg.act_fn);
            }
        }
        h
    }

    fn d_out(&self) -> usize {
        *self.widths.last().unwrap_or(&1)
    }
}
