//! Optimisers (SGD, Adam, AdamW) stepping the host parameter store in one fused pass per parameter
//! and member.
//!
//! burn's optimisers take one learning rate per parameter group and keep f32 hyperparameters; an
//! ensemble needs a learning rate and weight decay per member, and grokking studies compare against
//! PyTorch step for step, so the update rules here are PyTorch's, written with f64 scalars:
//! - SGD: g += wd p (coupled); with momentum mu, buf = mu buf + g (buf = g on the first step); p -= lr buf.
//! - Adam: g += wd p (coupled L2); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//!   p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), with bc_i = 1 - b_i^t.
//! - AdamW: p *= 1 - lr wd (decoupled, before the moments), then Adam without the L2 term.
//!
//! The lr of each step is the group's schedule at that step ([`crate::schedule::LrSchedule`]).

use crate::config::{GroupConfig, OptimizerKind};
use crate::grad_filter::{FilterState, Grokfast};
use crate::params::{Buf, Params};
use crate::schedule::LrSchedule;

/// The hyperparameters of one group for one member.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub kind: OptimizerKind,
    pub lr: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    /// The learning rate of each step is `schedule.lr(lr, t, horizon)`.
    pub schedule: LrSchedule,
    /// Gradient filters before the update ([`crate::grad_filter`]).
    pub grokfast: Grokfast,
    pub orthograd: bool,
    /// The gradient of the group's L1 term per unit sign(w): the term's coefficient, divided by
    /// the group's entries when it is a mean ([`crate::config::GroupConfig::l1`]).
    pub l1: f64,
}

impl Hyper {
    /// A group's hyperparameters for a model with `d_out` outputs (weight decay per output divides
    /// by it).
    pub fn of(g: &GroupConfig, d_out: usize) -> Hyper {
        Hyper {
            schedule: g.schedule,
            kind: g.optimizer,
            lr: g.lr,
            betas: g.betas,
            eps: g.eps,
            weight_decay: if g.decay_per_output {
                g.weight_decay / d_out as f64
            } else {
                g.weight_decay
            },
            momentum: g.momentum,
            grokfast: g.grokfast,
            orthograd: g.orthograd,
            l1: 0.0,
        }
    }
}

pub use crate::real::Real;

/// Optimiser state for every parameter of every member.
pub struct Optimizer {
    /// hyper[param][member]
    hyper: Vec<Vec<Hyper>>,
    /// First moment (or SGD momentum buffer) and second moment per parameter, allocated on first use.
    m: Vec<Option<Buf>>,
    v: Vec<Option<Buf>>,
    /// Gradient-filter history per parameter and member.
    filters: Vec<Vec<FilterState>>,
    /// Steps of the run: the horizon of a decaying schedule.
    horizon: usize,
}

impl Optimizer {
    /// `hyper[param][member]`: each parameter's group hyperparameters for each member, for a run of
    /// `horizon` steps.
    pub fn new(hyper: Vec<Vec<Hyper>>, horizon: usize) -> Optimizer {
        let n = hyper.len();
        Optimizer {
            filters: hyper
                .iter()
                .map(|h| vec![FilterState::default(); h.len()])
                .collect(),
            hyper,
            m: vec![None; n],
            v: vec![None; n],
            horizon,
        }
    }

    /// Into a run's saved state: the moments and the filter histories.
    pub fn save(&self, s: &mut crate::snapshot::Snapshot) {
        for (k, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            for (name, buf) in [("m", m), ("v", v)] {
                if let Some(b) = buf {
                    s.put(format!("optim.{name}.{k}"), b.to_f64(0..b.len()));
                }
            }
        }
        for (k, states) in self.filters.iter().enumerate() {
            for (member, f) in states.iter().enumerate() {
                f.save(s, &format!("optim.filter.{k}.{member}"));
            }
        }
    }

    /// Back from a saved state, buffers in the parameters' precision.
    pub fn load(
        &mut self,
        s: &mut crate::snapshot::Snapshot,
        precision: crate::params::Precision,
    ) -> Result<(), String> {
        for k in 0..self.m.len() {
            for (name, buf) in [("m", &mut self.m[k]), ("v", &mut self.v[k])] {
                let key = format!("optim.{name}.{k}");
                *buf = match s.has(&key) {
                    true => Some(Buf::from_f64(s.take(&key)?, precision)),
                    false => None,
                };
            }
        }
        for (k, states) in self.filters.iter_mut().enumerate() {
            for (member, f) in states.iter_mut().enumerate() {
                *f = FilterState::load(s, &format!("optim.filter.{k}.{member}"))?;
            }
        }
        Ok(())
    }

    /// Step `t` (1-based: Adam's bias correction and the schedules count from 1). `grads[k]` holds
    /// parameter k's gradient laid out like its buffer; members with `active[m] == false`
    /// (diverged) are left untouched.
    pub fn step(&mut self, params: &mut Params, grads: &[GradRef<'_>], active: &[bool], t: u64) {
        for (k, grad) in grads.iter().enumerate() {
            let n = params.specs[k].numel();
            for member in (0..self.hyper[k].len()).filter(|&m| active[m]) {
                let r = member * n..(member + 1) * n;
                let g = match grad {
                    GradRef::F32(g) => GradRef::F32(&g[r.clone()]),
                    GradRef::F64(g) => GradRef::F64(&g[r]),
                };
                self.update_one(params, k, member, &g, t);
            }
        }
    }

    /// Step `t` of one member alone: `grads[k]` is that member's gradient of parameter k (the
    /// fused path steps each member right after its backward pass, while its weights are hot).
    pub fn step_member(
        &mut self,
        params: &mut Params,
        member: usize,
        grads: &[GradRef<'_>],
        t: u64,
    ) {
        for (k, g) in grads.iter().enumerate() {
            self.update_one(params, k, member, g, t);
        }
    }

    /// Parameter `k` of `member`, with that member's slice `grad` of its gradient.
    fn update_one(
        &mut self,
        params: &mut Params,
        k: usize,
        member: usize,
        grad: &GradRef<'_>,
        t: u64,
    ) {
        let n = params.specs[k].numel();
        let needs_v = self.hyper[k].iter().any(|h| h.kind != OptimizerKind::Sgd);
        let needs_m = needs_v || self.hyper[k].iter().any(|h| h.momentum > 0.0);
        if needs_m && self.m[k].is_none() {
            self.m[k] = Some(params.values[k].zeros_like());
        }
        if needs_v && self.v[k].is_none() {
            self.v[k] = Some(params.values[k].zeros_like());
        }
        let h = &self.hyper[k][member];
        let h = &Hyper {
            lr: h.schedule.lr(h.lr, t as usize, self.horizon),
            ..*h
        };
        let r = member * n..(member + 1) * n;
        let filtering = h.grokfast != Grokfast::None || h.orthograd || h.l1 != 0.0;
        let state = &mut self.filters[k][member];
        match (
            &mut params.values[k],
            grad,
            self.m[k].as_mut(),
            self.v[k].as_mut(),
        ) {
            (Buf::F32(p), GradRef::F32(g), m, v) => {
                let p = &mut p[r.clone()];
                let owned;
                let g = if filtering {
                    owned = filtered(h, state, p, g);
                    &owned[..]
                } else {
                    g
                };
                update(p, g, slice32(m, &r), slice32(v, &r), h, t)
            }
            (Buf::F64(p), GradRef::F64(g), m, v) => {
                let p = &mut p[r.clone()];
                let owned;
                let g = if filtering {
                    owned = filtered(h, state, p, g);
                    &owned[..]
                } else {
                    g
                };
                update(p, g, slice64(m, &r), slice64(v, &r), h, t)
            }
            _ => panic!("gradient precision differs from parameter precision"),
        }
    }
}

/// The gradient `g` of weights `p` with the group's L1 term (part of the loss, so before any
/// filter; sign(0) = 0 as in torch), then the group's filters: Grokfast, then OrthoGrad.
fn filtered<E: Real>(h: &Hyper, state: &mut FilterState, p: &[E], g: &[E]) -> Vec<E> {
    let mut g = g.to_vec();
    if h.l1 != 0.0 {
        let c = E::of(h.l1);
        for (g, &w) in g.iter_mut().zip(p) {
            if w > E::zero() {
                *g += c;
            } else if w < E::zero() {
                *g -= c;
            }
        }
    }
    crate::grad_filter::grokfast(h.grokfast, state, &mut g);
    if h.orthograd {
        crate::grad_filter::orthogonalise(p, &mut g);
    }
    g
}

fn slice32<'a>(b: Option<&'a mut Buf>, r: &std::ops::Range<usize>) -> Option<&'a mut [f32]> {
    match b {
        Some(Buf::F32(v)) => Some(&mut v[r.clone()]),
        _ => None,
    }
}

fn slice64<'a>(b: Option<&'a mut Buf>, r: &std::ops::Range<usize>) -> Option<&'a mut [f64]> {
    match b {
        Some(Buf::F64(v)) => Some(&mut v[r.clone()]),
        _ => None,
    }
}

/// A borrowed gradient of either precision.
pub enum GradRef<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

/// The fused update of one member's slice of one parameter at learning rate `h.lr` (the scheduled
/// rate of this step), compiled for the widest SIMD the CPU has (pulp dispatches at run time; the
/// loops are written for the auto-vectoriser).
pub fn update<E: Real>(
    p: &mut [E],
    g: &[E],
    m: Option<&mut [E]>,
    v: Option<&mut [E]>,
    h: &Hyper,
    t: u64,
) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || update_scalar(p, g, m, v, h, t),
    )
}

#[inline(always)]
fn update_scalar<E: Real>(
    p: &mut [E],
    g: &[E],
    m: Option<&mut [E]>,
    v: Option<&mut [E]>,
    h: &Hyper,
    t: u64,
) {
    let wd = E::of(h.weight_decay);
    match h.kind {
        OptimizerKind::Sgd => {
            let lr = E::of(h.lr);
            match m.filter(|_| h.momentum > 0.0) {
                None => {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p -= lr * (g + wd * *p);
                    }
                }
                Some(buf) => {
                    let mu = E::of(h.momentum);
                    for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                        let d = g + wd * *p;
                        *b = if t == 1 { d } else { mu * *b + d };
                        *p -= lr * *b;
                    }
                }
            }
        }
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            let (Some(m), Some(v)) = (m, v) else {
                panic!("Adam state was not allocated")
            };
            let (b1, b2) = (h.betas[0], h.betas[1]);
            let bc1 = 1.0 - b1.powi(t as i32);
            let bc2 = 1.0 - b2.powi(t as i32);
            let step = E::of(h.lr / bc1);
            let inv_sqrt_bc2 = E::of(1.0 / bc2.sqrt());
            let eps = E::of(h.eps);
            let (b1e, b2e, c1, c2) = (E::of(b1), E::of(b2), E::of(1.0 - b1), E::of(1.0 - b2));
            let decoupled = h.kind == OptimizerKind::Adamw;
            let shrink = E::of(1.0 - h.lr * h.weight_decay);
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = if decoupled {
                    *p *= shrink;
                    g
                } else {
                    g + wd * *p
                };
                *m = b1e * *m + c1 * g;
                *v = b2e * *v + c2 * g * g;
                *p -= step * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper(kind: OptimizerKind, lr: f64, wd: f64) -> Hyper {
        Hyper {
            kind,
            lr,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: wd,
            momentum: 0.0,
            schedule: LrSchedule::default(),
            grokfast: Grokfast::None,
            orthograd: false,
            l1: 0.0,
        }
    }

    fn run(kind: OptimizerKind, lr: f64, wd: f64, grads: &[f64], p0: f64) -> f64 {
        let h = hyper(kind, lr, wd);
        let (mut p, mut m, mut v) = ([p0], [0.0], [0.0]);
        for (t, &g) in grads.iter().enumerate() {
            update(&mut p, &[g], Some(&mut m), Some(&mut v), &h, t as u64 + 1);
        }
        p[0]
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_sign() {
        // t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
        let p = run(OptimizerKind::Adam, 0.1, 0.0, &[2.0], 1.0);
        assert!((p - (1.0 - 0.1 * 2.0 / (2.0 + 1e-8))).abs() < 1e-15);
    }

    #[test]
    fn adam_two_steps_by_hand() {
        // g = 1 then 3, b1 = 0.9, b2 = 0.999, lr = 0.01, p0 = 0.5.
        // t=1: m = 0.1, v = 0.001, step = 0.01 * (0.1/0.1) / (sqrt(0.001/0.001) + 1e-8).
        let p1 = 0.5 - 0.01 * 1.0 / (1.0 + 1e-8);
        // t=2: m = 0.09 + 0.3 = 0.39, v = 0.000999 + 0.009 = 0.009999;
        // m_hat = 0.39 / 0.19, v_hat = 0.009999 / 0.001999.
        let p2 = p1 - 0.01 * (0.39 / 0.19) / ((0.009999f64 / 0.001999).sqrt() + 1e-8);
        let p = run(OptimizerKind::Adam, 0.01, 0.0, &[1.0, 3.0], 0.5);
        assert!((p - p2).abs() < 1e-14, "{p} vs {p2}");
    }

    #[test]
    fn coupled_and_decoupled_weight_decay_differ_as_they_should() {
        // Adam with L2 adds wd * p to the gradient, and Adam normalises it away on the first step:
        // g = 0, p = 2, wd = 0.5 -> g' = 1 -> step lr * 1 / (1 + eps).
        let coupled = run(OptimizerKind::Adam, 0.1, 0.5, &[0.0], 2.0);
        assert!((coupled - (2.0 - 0.1 / (1.0 + 1e-8))).abs() < 1e-15);
        // AdamW shrinks p by (1 - lr wd) and the zero gradient moves nothing.
        let decoupled = run(OptimizerKind::Adamw, 0.1, 0.5, &[0.0], 2.0);
        assert!((decoupled - 2.0 * (1.0 - 0.05)).abs() < 1e-15);
        // with wd = 0 they agree exactly
        let a = run(OptimizerKind::Adam, 0.01, 0.0, &[1.0, -2.0, 0.5], 0.3);
        let w = run(OptimizerKind::Adamw, 0.01, 0.0, &[1.0, -2.0, 0.5], 0.3);
        assert_eq!(a, w);
    }

    #[test]
    fn the_l1_term_adds_its_coefficient_times_the_sign_before_the_filters() {
        let h = Hyper {
            l1: 0.5,
            ..hyper(OptimizerKind::Sgd, 1.0, 0.0)
        };
        let (p, g) = ([1.0f64, -2.0, 0.0], [0.1f64, 0.1, 0.1]);
        let got = filtered(&h, &mut FilterState::default(), &p, &g);
        assert_eq!(got, vec![0.6, 0.1 - 0.5, 0.1]);
        // and through a whole SGD step: p - lr (g + l1 sign p)
        let mut q = p;
        update(&mut q, &got, None, None, &h, 1);
        assert_eq!(q, [0.4, -2.0 + 0.4, -0.1]);
    }

    #[test]
    fn sgd_with_decay_and_momentum_by_hand() {
        let h = Hyper {
            momentum: 0.0,
            ..hyper(OptimizerKind::Sgd, 0.1, 0.01)
        };
        let mut p = [1.0f64];
        update(&mut p, &[2.0], None, None, &h, 1);
        assert!((p[0] - (1.0 - 0.1 * (2.0 + 0.01))).abs() < 1e-15);
        let h = Hyper {
            momentum: 0.9,
            ..hyper(OptimizerKind::Sgd, 0.1, 0.0)
        };
        let (mut p, mut b) = ([1.0f64], [0.0f64]);
        update(&mut p, &[2.0], Some(&mut b), None, &h, 1); // buf = 2, p = 0.8
        update(&mut p, &[1.0], Some(&mut b), None, &h, 2); // buf = 1.8 + 1 = 2.8, p = 0.52
        assert!((p[0] - 0.52).abs() < 1e-15 && (b[0] - 2.8).abs() < 1e-15);
    }

    #[test]
    fn scheduled_learning_rates_reach_the_update() {
        use crate::params::{ParamSpec, Precision};
        use crate::schedule::Decay;
        let one = |v: f64| {
            Params::from_members(
                vec![ParamSpec::new("w", &[1])],
                vec![vec![vec![v]]],
                Precision::F64,
            )
        };
        // SGD, lr 0.1 warmed up over 2 steps: updates of lr 0.05, 0.1, 0.1 on gradient 1
        let h = Hyper {
            schedule: LrSchedule {
                warmup_steps: 2,
                ..LrSchedule::default()
            },
            ..hyper(OptimizerKind::Sgd, 0.1, 0.0)
        };
        let mut p = one(1.0);
        let mut opt = Optimizer::new(vec![vec![h]], 10);
        for t in 1..=3 {
            opt.step(&mut p, &[GradRef::F64(&[1.0])], &[true], t);
        }
        assert!((p.member(0, 0)[0] - (1.0 - 0.05 - 0.1 - 0.1)).abs() < 1e-15);
        // AdamW's decoupled decay shrinks by the scheduled lr: a linear decay to 0 over 4 steps
        // has lr 0.075 at t = 1, so p = 2 (1 - 0.075 * 0.5) with a zero gradient
        let h = Hyper {
            schedule: LrSchedule {
                decay: Decay::Linear,
                ..LrSchedule::default()
            },
            ..hyper(OptimizerKind::Adamw, 0.1, 0.5)
        };
        let mut p = one(2.0);
        let mut opt = Optimizer::new(vec![vec![h]], 4);
        opt.step(&mut p, &[GradRef::F64(&[0.0])], &[true], 1);
        assert!((p.member(0, 0)[0] - 2.0 * (1.0 - 0.075 * 0.5)).abs() < 1e-15);
        // PyTorch's LambdaLR warm-up (from update 0): Adam's first update runs at lr 0 and moves
        // only the moments, which the second (lr 0.1 / 2) then reads: gradients 1 then 3 give
        // m = 0.39, v = 0.009999, bias-corrected 0.39 / 0.19 and 0.009999 / 0.001999
        let h = Hyper {
            schedule: LrSchedule {
                warmup_steps: 2,
                warmup_from_zero: true,
                ..LrSchedule::default()
            },
            ..hyper(OptimizerKind::Adam, 0.1, 0.0)
        };
        let mut p = one(1.0);
        let mut opt = Optimizer::new(vec![vec![h]], 10);
        opt.step(&mut p, &[GradRef::F64(&[1.0])], &[true], 1);
        assert_eq!(p.member(0, 0)[0], 1.0);
        opt.step(&mut p, &[GradRef::F64(&[3.0])], &[true], 2);
        let (m_hat, v_hat) = (0.39 / 0.19, 0.009999 / 0.001999);
        let want = 1.0 - 0.05 * m_hat / (f64::sqrt(v_hat) + 1e-8);
        assert!(
            (p.member(0, 0)[0] - want).abs() < 1e-12,
            "{}",
            p.member(0, 0)[0]
        );
    }

    #[test]
    fn members_step_with_their_own_hyperparameters() {
        use crate::params::ParamSpec;
        use crate::params::Precision;
        let specs = vec![ParamSpec::new("w", &[2])];
        let mut params = Params::from_members(
            specs,
            vec![vec![vec![1.0, 1.0]], vec![vec![1.0, 1.0]]],
            Precision::F64,
        );
        let hs = vec![vec![
            hyper(OptimizerKind::Sgd, 0.1, 0.0),
            hyper(OptimizerKind::Sgd, 0.2, 0.0),
        ]];
        let mut opt = Optimizer::new(hs, 10);
        let g = [1.0, 1.0, 1.0, 1.0];
        opt.step(&mut params, &[GradRef::F64(&g)], &[true, true], 1);
        assert_eq!(params.member(0, 0), vec![0.9, 0.9]);
        assert_eq!(params.member(0, 1), vec![0.8, 0.8]);
        opt.step(&mut params, &[GradRef::F64(&g)], &[true, false], 2);
        assert_eq!(params.member(0, 1), vec![0.8, 0.8]);
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;
    use crate::params::{ParamSpec, Precision};

    /// Filters reach the update, per member: SGD with Grokfast EMA (lambda 2) on a constant gradient
    /// moves by lr (1 + lambda) g every step; with OrthoGrad the step is perpendicular to the weight
    /// with the gradient's length; a member without filters steps plainly.
    #[test]
    fn gradient_filters_reach_the_update_per_member() {
        let specs = vec![ParamSpec::new("w", &[2])];
        let mut params = Params::from_members(
            specs,
            vec![
                vec![vec![1.0, 0.0]],
                vec![vec![1.0, 0.0]],
                vec![vec![1.0, 0.0]],
            ],
            Precision::F64,
        );
        let plain = Hyper {
            kind: OptimizerKind::Sgd,
            lr: 0.1,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            schedule: LrSchedule::default(),
            grokfast: Grokfast::None,
            orthograd: false,
            l1: 0.0,
        };
        let ema = Hyper {
            grokfast: Grokfast::Ema {
                alpha: 0.98,
                lambda: 2.0,
            },
            ..plain
        };
        let ortho = Hyper {
            orthograd: true,
            ..plain
        };
        let mut opt = Optimizer::new(vec![vec![plain, ema, ortho]], 10);
        // gradient (1, 1) for every member
        let g = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        opt.step(&mut params, &[GradRef::F64(&g)], &[true, true, true], 1);
        let close = |a: Vec<f64>, b: [f64; 2]| {
            assert!(
                (a[0] - b[0]).abs() < 1e-12 && (a[1] - b[1]).abs() < 1e-12,
                "{a:?} vs {b:?}"
            )
        };
        close(params.member(0, 0), [0.9, -0.1]);
        close(params.member(0, 1), [0.7, -0.3]);
        // perpendicular to w = (1, 0) is (0, 1), scaled to |g| = sqrt 2
        close(params.member(0, 2), [1.0, -0.1 * 2f64.sqrt()]);
        opt.step(&mut params, &[GradRef::F64(&g)], &[true, true, true], 2);
        close(params.member(0, 1), [0.4, -0.6]);
    }
}
