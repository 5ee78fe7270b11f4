//! The linear-estimator study's probe: the exact generalisation loss of the current student and the
//! theory beside the simulation at the same step.
//!
//! Columns (each only where it applies, decided from the config before training):
//! - `gen_loss`: (1/dout) ||S - T||_F^2 for students and teachers that are linear maps (identity
//!   activations, no biases; deep linear students multiply out), the expected test loss on fresh
//!   Gaussian inputs;
//! - `train_loss_exact`, `gen_loss_exact`, `train_acc_exact`, `val_acc_exact`: the closed-form discrete GD
//!   solution for this run's own data, teacher and initial student (linear student, SGD without
//!   momentum, noiseless labels), accuracies from losses under the Gaussian-residual assumption;
//! - `train_loss_mp`, `gen_loss_mp`, `train_acc_mp`, `val_acc_mp`: the Marchenko-Pastur theory at
//!   the run's lambda, dout, gamma, eta, eps and init scale (linear student), or the two-layer mapping
//!   (two-layer linear student) started from this run's initial generalisation loss.

use super::{EvalContext, Probe, ProbeSetup};
use crate::config::{Config, OptimizerKind};
use crate::init::Init;
use crate::model::mlp::MlpConfig;
use crate::ops::Activation;
use crate::snapshot::Snapshot;
use crate::task::teacher_student::{TeacherKind, TeacherStudent};
use faer::Mat;
use groklab_theory::linear::{
    Clock, ExactDynamics, LinearTheory, Losses, accuracy, losses::two_layer_losses,
};

/// What theory applies to a config.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Applies {
    gen_loss: bool,
    exact: bool,
    mp: bool,
    two_layer: bool,
}

/// One member's theory: made from that member's own config (its eta, gamma, lambda, eps).
pub struct LinearTheoryProbe {
    applies: Applies,
    theory: Option<LinearTheory>,
    lambda: f64,
    eps: f64,
    dout: usize,
    d_in: usize,
    /// The exact dynamics, built at the first evaluation from the initial student.
    exact: Option<ExactDynamics>,
    /// The initial generalisation loss (for the two-layer mapping).
    initial_gen: Option<f64>,
    /// The initial student composed into one matrix, row-major with its rows and columns (what the
    /// exact dynamics start from; a resumed run rebuilds them from it).
    s0: Option<(Vec<f64>, usize, usize)>,
}

/// Composes linear layers [d_in, d_out] (row-major) into one matrix.
fn compose(layers: &[(Vec<f64>, usize, usize)]) -> Mat<f64> {
    let mut m = Mat::<f64>::identity(layers[0].1, layers[0].1);
    for (w, a, b) in layers {
        m = &m * Mat::<f64>::from_fn(*a, *b, |i, j| w[i * b + j]);
    }
    m
}

/// The linear-estimator theory a teacher-student config corresponds to: lambda as realised (after
/// rounding n_train), dout, gamma in the paper's convention (whatever the group's decay convention),
/// eta, eps, alpha = init scale, the phase threshold as accuracy level, discrete GD. None for other
/// tasks or models.
pub fn linear_theory(config: &Config) -> Option<LinearTheory> {
    let t = config.task.get::<TeacherStudent>()?;
    let m = config.model.get::<MlpConfig>()?;
    let g = config.optim.values().next()?;
    Some(LinearTheory {
        lambda: t.realised_lambda(),
        dout: t.d_out,
        gamma: if g.decay_per_output {
            g.weight_decay
        } else {
            g.weight_decay * t.d_out as f64
        },
        eta: g.lr,
        eps: t.eps,
        alpha: m.init_scale,
        level: config.phase.acc_threshold,
        discrete: true,
    })
}

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let config = s.config;
    let t = config.task.get::<TeacherStudent>()?;
    let m = config.model.get::<MlpConfig>()?;
    let no_bias = !m.bias && !m.out_bias;
    let linear_student = no_bias && (m.d_hidden.is_empty() || m.act_fn == Activation::Identity);
    let linear_teacher = t.teacher == TeacherKind::Linear || m.act_fn == Activation::Identity;
    let group = config.optim.values().next();
    let plain_gd = config.optim.len() == 1
        && group.is_some_and(|g| {
            g.optimizer == OptimizerKind::Sgd
                && g.momentum == 0.0
                && g.schedule.warmup_steps == 0
                && g.schedule.decay == crate::schedule::Decay::Constant
        })
        && config.train.batch_size == 0;
    let clean = t.label_noise == 0.0;
    let one_layer = m.d_hidden.is_empty();
    let applies = Applies {
        gen_loss: linear_student && linear_teacher,
        exact: one_layer && no_bias && plain_gd && clean,
        mp: one_layer && no_bias && plain_gd && clean && m.init == Init::Levi,
        two_layer: m.d_hidden.len() == 1 && linear_student && linear_teacher && plain_gd && clean,
    };
    let theory = linear_theory(config).filter(|th| th.validate().is_ok());
    Some(Box::new(LinearTheoryProbe {
        applies,
        theory,
        lambda: t.realised_lambda(),
        eps: t.eps,
        dout: t.d_out,
        d_in: t.d_in,
        exact: None,
        initial_gen: None,
        s0: None,
    }))
}

impl LinearTheoryProbe {
    fn student_layers(c: &EvalContext<'_>) -> Vec<(Vec<f64>, usize, usize)> {
        c.params
            .specs()
            .iter()
            .zip(c.params.all())
            .map(|(s, v)| (v, s.shape[0], s.shape[1]))
            .collect()
    }
}

/// train loss, gen loss and the accuracies they imply (NaN where the theory is unavailable).
fn losses_row(l: Option<Losses>, eps: f64, dout: usize) -> [f64; 4] {
    l.map_or([f64::NAN; 4], |l| {
        [
            l.train_loss,
            l.gen_loss,
            accuracy(l.train_loss, eps, dout),
            accuracy(l.gen_loss, eps, dout),
        ]
    })
}

fn nan_if_none(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

impl Probe for LinearTheoryProbe {
    fn columns(&self) -> Vec<String> {
        let mut c = Vec::new();
        if self.applies.gen_loss {
            c.push("gen_loss");
        }
        if self.applies.exact {
            c.extend([
                "train_loss_exact",
                "gen_loss_exact",
                "train_acc_exact",
                "val_acc_exact",
            ]);
        }
        if self.applies.mp || self.applies.two_layer {
            c.extend(["train_loss_mp", "gen_loss_mp", "train_acc_mp", "val_acc_mp"]);
        }
        c.into_iter().map(String::from).collect()
    }

    fn save(&self, s: &mut Snapshot, name: &str) {
        s.set_opt(format!("{name}.initial_gen"), self.initial_gen);
        if let Some((v, r, k)) = &self.s0 {
            s.put(format!("{name}.s0"), v.clone());
            s.set(format!("{name}.s0_shape"), format!("{r}x{k}"));
        }
    }

    fn load(&mut self, s: &mut Snapshot, name: &str) -> Result<(), String> {
        self.initial_gen = s.get_opt(&format!("{name}.initial_gen"))?;
        let key = format!("{name}.s0");
        if s.has(&key) {
            let shape: String = s.get(&format!("{name}.s0_shape"))?;
            let (r, k) = shape
                .split_once('x')
                .and_then(|(r, k)| Some((r.parse().ok()?, k.parse().ok()?)))
                .ok_or_else(|| format!("the saved state's {name}.s0_shape is {shape:?}"))?;
            self.s0 = Some((s.take(&key)?, r, k));
        }
        self.exact = None;
        Ok(())
    }

    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let mut out = Vec::new();
        let (eps, dout) = (self.eps, self.dout);
        let Some(teacher) = c.data.teacher.as_ref() else {
            return vec![f64::NAN; self.columns().len()];
        };
        let gen_now = self.applies.gen_loss.then(|| {
            let d = compose(&Self::student_layers(c)) - compose(&teacher.layers);
            d.squared_norm_l2() / dout as f64
        });
        if self.applies.gen_loss {
            out.push(nan_if_none(gen_now));
        }
        if self.initial_gen.is_none() {
            self.initial_gen = gen_now;
        }
        let t = c.step as f64;
        if self.applies.exact {
            if self.exact.is_none() {
                self.exact = self.theory.and_then(|th| {
                    let crate::task::Features::Dense { x, dim } = &c.data.train.x else {
                        return None;
                    };
                    let n = c.data.train.len();
                    let xm = Mat::<f64>::from_fn(n, *dim, |i, j| x[i * dim + j]);
                    let tm = compose(&teacher.layers);
                    let (v, r, k) = self.s0.get_or_insert_with(|| {
                        let m = compose(&Self::student_layers(c));
                        let (r, k) = (m.nrows(), m.ncols());
                        ((0..r * k).map(|i| m[(i / k, i % k)]).collect(), r, k)
                    });
                    let s0 = Mat::<f64>::from_fn(*r, *k, |i, j| v[i * *k + j]);
                    ExactDynamics::from_data(
                        xm.as_ref(),
                        tm.as_ref(),
                        s0.as_ref(),
                        th.eta,
                        th.gamma,
                    )
                    .ok()
                });
            }
            let l = self.exact.as_ref().map(|e| e.losses(t, Clock::Discrete));
            out.extend(losses_row(l, eps, dout));
        }
        if self.applies.mp {
            match self.theory {
                Some(th) => {
                    let p = th.curve(&[t])[0];
                    out.extend([p.train_loss, p.gen_loss, p.train_acc, p.gen_acc]);
                }
                None => out.extend([f64::NAN; 4]),
            }
        } else if self.applies.two_layer {
            let l = self.theory.zip(self.initial_gen).map(|(th, g0)| {
                two_layer_losses(self.lambda, dout, th.eta, g0, Clock::Discrete, t)
            });
            out.extend(losses_row(l, eps, dout));
        }
        out
    }

    /// The exact dynamics hold d_in x d_in eigenvectors and a few matrices of that size.
    fn memory_bytes(&self) -> f64 {
        if self.applies.exact {
            6.0 * (self.d_in as f64).powi(2) * 8.0
        } else {
            0.0
        }
    }
}
