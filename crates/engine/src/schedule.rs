//! Pure functions of the step: when to evaluate, and each group's learning rate.
//!
//! Evaluation: log-spaced steps (dense early, where grokking curves change fastest) and/or every K
//! steps, always including step 0 (the initial state) and the last step.
//!
//! Learning rate (nanoGPT's `get_lr`): update t = 1, 2, ... uses
//! - during a linear warm-up of W steps (t <= W): lr * t / W, reaching lr at t = W; with
//!   `warmup_from_zero`, lr * (t - 1) / W up to t = W + 1, as PyTorch's `LambdaLR(min(k / W, 1))`
//!   counts updates k from 0 (the first update runs at lr 0, moving only the optimiser's moments:
//!   Power et al., Nanda et al., Grokfast);
//! - after it, `constant`: lr; `cosine`: min_lr + (lr - min_lr) (1 + cos(pi u)) / 2 and `linear`:
//!   lr + (min_lr - lr) u, with u = (t - W) / (T - W) the fraction of the remaining T - W steps done.

use crate::reader::{ConfigError, Reader};
use serde::Serialize;

/// How the learning rate decays after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decay {
    Constant,
    Cosine,
    Linear,
}

/// A group's learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LrSchedule {
    /// Linear warm-up steps (0 for none).
    pub warmup_steps: usize,
    pub decay: Decay,
    /// The learning rate a decay ends at.
    pub min_lr: f64,
    /// Count the warm-up's updates from 0 (PyTorch's `LambdaLR`), not from 1.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warmup_from_zero: bool,
}

impl Default for LrSchedule {
    fn default() -> Self {
        LrSchedule {
            warmup_steps: 0,
            decay: Decay::Constant,
            min_lr: 0.0,
            warmup_from_zero: false,
        }
    }
}

impl LrSchedule {
    /// Reads `warmup_steps`, `warmup_from_zero`, `decay` and `min_lr` from a group's table.
    pub fn read(r: &mut Reader, lr: f64) -> Result<LrSchedule, ConfigError> {
        let warmup_steps = r.usize_or("warmup_steps", 0, 0, 100_000_000)?;
        let warmup_from_zero = r.bool_or("warmup_from_zero", false)?;
        let decay = match r
            .choice_or("decay", "constant", &["constant", "cosine", "linear"])?
            .as_str()
        {
            "cosine" => Decay::Cosine,
            "linear" => Decay::Linear,
            _ => Decay::Constant,
        };
        let min_lr = r.f64_or(
            "min_lr",
            0.0,
            |x| (0.0..=lr).contains(&x),
            &format!("a number from 0 to the group's lr ({lr})"),
        )?;
        Ok(LrSchedule {
            warmup_steps,
            decay,
            min_lr,
            warmup_from_zero,
        })
    }

    /// The learning rate of update `t` (1-based) out of `total`, for a group whose rate is `lr`.
    pub fn lr(&self, lr: f64, t: usize, total: usize) -> f64 {
        let w = self.warmup_steps;
        // LambdaLR's update k is update t - 1 here
        let t = if self.warmup_from_zero && w > 0 {
            t.saturating_sub(1)
        } else {
            t
        };
        if t <= w {
            return lr * t as f64 / w as f64;
        }
        let u = if total > w {
            ((t - w) as f64 / (total - w) as f64).min(1.0)
        } else {
            1.0
        };
        match self.decay {
            Decay::Constant => lr,
            Decay::Cosine => {
                self.min_lr + (lr - self.min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * u).cos())
            }
            Decay::Linear => lr + (self.min_lr - lr) * u,
        }
    }
}

/// The evaluation steps of a config: [`eval_steps`], and every `eval.every_epochs` epochs of an
/// epoch-based run.
pub fn config_eval_steps(c: &crate::config::Config) -> Vec<usize> {
    let mut out = eval_steps(c.train.steps, c.eval.log_points, c.eval.every);
    if let (Some(per), k @ 1..) = (c.steps_per_epoch(), c.eval.every_epochs) {
        out.extend((0..=c.train.epochs).step_by(k).map(|e| e * per));
        out.sort_unstable();
        out.dedup();
    }
    out
}

/// Sorted, unique evaluation steps in 0..=steps.
pub fn eval_steps(steps: usize, log_points: usize, every: usize) -> Vec<usize> {
    let mut out = vec![0, steps];
    if log_points > 0 && steps > 0 {
        let top = (steps as f64).log10();
        for k in 0..log_points {
            let f = if log_points == 1 {
                1.0
            } else {
                k as f64 / (log_points - 1) as f64
            };
            out.push((10f64.powf(f * top).round() as usize).clamp(1, steps));
        }
    }
    if every > 0 {
        out.extend((every..=steps).step_by(every));
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spaced_unique_and_bounded() {
        let s = eval_steps(5000, 60, 0);
        assert_eq!(s[0], 0);
        assert_eq!(s[1], 1);
        assert_eq!(*s.last().unwrap(), 5000);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        // rounding merges some early points, but most survive
        assert!(s.len() > 45 && s.len() <= 61, "{}", s.len());
        assert_eq!(eval_steps(10, 0, 3), vec![0, 3, 6, 9, 10]);
        assert_eq!(eval_steps(1, 5, 0), vec![0, 1]);
    }

    #[test]
    fn learning_rates_by_hand() {
        let constant = LrSchedule::default();
        assert_eq!(constant.lr(0.1, 1, 100), 0.1);
        assert_eq!(constant.lr(0.1, 100, 100), 0.1);
        let warm = LrSchedule {
            warmup_steps: 10,
            ..LrSchedule::default()
        };
        assert!((warm.lr(1e-3, 1, 100) - 1e-4).abs() < 1e-18);
        assert!((warm.lr(1e-3, 5, 100) - 5e-4).abs() < 1e-18);
        assert_eq!(warm.lr(1e-3, 10, 100), 1e-3);
        assert_eq!(warm.lr(1e-3, 11, 100), 1e-3);
        // LambdaLR(min(k / 10, 1)), k = t - 1: update 1 at 0, update 2 at lr / 10, lr from 11
        let torch = LrSchedule {
            warmup_from_zero: true,
            ..warm
        };
        assert_eq!(torch.lr(1e-3, 1, 100), 0.0);
        assert!((torch.lr(1e-3, 2, 100) - 1e-4).abs() < 1e-18);
        assert!((torch.lr(1e-3, 10, 100) - 9e-4).abs() < 1e-18);
        assert_eq!(torch.lr(1e-3, 11, 100), 1e-3);
        assert_eq!(torch.lr(1e-3, 50, 100), 1e-3);
        let cosine = LrSchedule {
            warmup_steps: 10,
            decay: Decay::Cosine,
            min_lr: 1e-4,
            warmup_from_zero: false,
        };
        // u = 0 at the end of the warm-up, 1/2 halfway through the rest, 1 at the end
        assert!((cosine.lr(1e-3, 10, 110) - 1e-3).abs() < 1e-18);
        assert!((cosine.lr(1e-3, 60, 110) - 5.5e-4).abs() < 1e-15);
        assert!((cosine.lr(1e-3, 110, 110) - 1e-4).abs() < 1e-15);
        let linear = LrSchedule {
            decay: Decay::Linear,
            ..LrSchedule::default()
        };
        assert!((linear.lr(1.0, 25, 100) - 0.75).abs() < 1e-15);
    }
}
