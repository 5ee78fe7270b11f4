//! Simulations of a reproduction: a plan of distinct configs (deduplicated, so a run shared by two
//! figures trains once), every (config, seed) pair trained on a few worker threads, most expensive
//! first, and the per-seed metrics aggregated into mean curves and grokking times.

use super::figure::{Point, Stats};
use crate::commands::CliError;
use groklab_engine::model::mlp::MlpConfig;
use groklab_engine::task::teacher_student::TeacherStudent;
use groklab_engine::train::{Metrics, TrainOptions, train};
use groklab_engine::{Config, EngineError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Index of a simulation in a [`Plan`] (and of its runs in [`run`]'s result).
pub type SimId = usize;

/// Distinct simulation configs, each to be trained once per seed.
#[derive(Default)]
pub struct Plan {
    sims: Vec<Config>,
    by_key: HashMap<String, SimId>,
}

impl Plan {
    /// Registers a config (its `seed` is replaced by the seed index); a config identical to one
    /// already registered, but for its name and description, returns that one's id.
    pub fn add(&mut self, config: Config) -> SimId {
        let key = {
            let mut k = config.clone();
            k.name.clear();
            k.description.clear();
            k.seed = 0;
            k.to_toml()
        };
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        self.sims.push(config);
        self.by_key.insert(key, self.sims.len() - 1);
        self.sims.len() - 1
    }

    pub fn len(&self) -> usize {
        self.sims.len()
    }

    pub fn config(&self, id: SimId) -> &Config {
        &self.sims[id]
    }
}

/// One trained seed.
pub struct Run {
    pub metrics: Metrics,
    pub diverged_at: Option<usize>,
}

/// Every seed of one simulation, in seed order.
pub struct SimRuns {
    pub config: Config,
    pub runs: Vec<Run>,
}

/// Rough cost of one seed (multiply-adds of training plus evaluation), to schedule long runs first.
fn cost(c: &Config) -> f64 {
    let (Some(t), Some(m)) = (c.task.get::<TeacherStudent>(), c.model.get::<MlpConfig>()) else {
        return c.train.steps as f64;
    };
    let mut widths = vec![t.d_in];
    widths.extend(&m.d_hidden);
    widths.push(t.d_out);
    let params: f64 = widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let evals = (c.eval.log_points + 2) as f64 * (t.n_train() + t.n_test) as f64;
    params * (3.0 * c.train.steps as f64 * t.n_train() as f64 + evals)
}

pub use groklab_engine::probe::linear_theory::linear_theory as theory_of;

/// Trains `seeds` seeds of every simulation of `plan` on `threads` threads, printing one line per
/// finished run on stderr.
pub fn run(plan: &Plan, seeds: usize, threads: usize) -> Result<Vec<SimRuns>, CliError> {
    let mut tasks: Vec<(SimId, usize)> = (0..plan.len())
        .flat_map(|id| (0..seeds).map(move |s| (id, s)))
        .collect();
    tasks.sort_by(|a, b| {
        cost(plan.config(b.0))
            .total_cmp(&cost(plan.config(a.0)))
            .then(a.cmp(b))
    });
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Run, EngineError>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    let started = Instant::now();
    // plain threads, not a rayon pool: burn's own parallel kernels would otherwise steal from and
    // wait on the other workers (a sweep measured 32 s on a rayon pool, 22 s on plain threads)
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(id, seed)) = tasks.get(k) else {
                        break;
                    };
                    let mut config = plan.config(id).clone();
                    config.seed = seed as u64;
                    let t0 = Instant::now();
                    let out = train(std::slice::from_ref(&config), &TrainOptions::default())
                        .map(|mut r| r.members.remove(0))
                        .map(|m| Run {
                            metrics: m.metrics,
                            diverged_at: m.diverged_at,
                        });
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!(
                        "[{n}/{}] {} seed {seed}: {} ({:.1} s, {:.0} s elapsed)",
                        tasks.len(),
                        config.name,
                        describe(&config, &out),
                        t0.elapsed().as_secs_f64(),
                        started.elapsed().as_secs_f64()
                    );
                    if let Ok(mut r) = results.lock() {
                        r[k] = Some(out);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| CliError::Work("a simulation thread panicked".into()))?;
    let mut by_sim: Vec<Vec<Option<Run>>> = (0..plan.len())
        .map(|_| (0..seeds).map(|_| None).collect())
        .collect();
    for (&(id, seed), r) in tasks.iter().zip(results) {
        let run = r
            .ok_or_else(|| {
                CliError::Work(format!("{} seed {seed} did not run", plan.config(id).name))
            })?
            .map_err(|e| {
                let message = format!("{} seed {seed}: {e}", plan.config(id).name);
                if e.is_user_error() {
                    CliError::Input(message)
                } else {
                    CliError::Work(message)
                }
            })?;
        by_sim[id][seed] = Some(run);
    }
    Ok(by_sim
        .into_iter()
        .enumerate()
        .map(|(id, runs)| SimRuns {
            config: plan.config(id).clone(),
            runs: runs.into_iter().flatten().collect(),
        })
        .collect())
}

fn describe(c: &Config, out: &Result<Run, EngineError>) -> String {
    let r = match out {
        Ok(r) => r,
        Err(e) => return format!("failed: {e}"),
    };
    if let Some(d) = r.diverged_at {
        return format!("diverged at step {d}");
    }
    let level = c.phase.acc_threshold;
    let t = |col| {
        crossing_of(&r.metrics, col, level).map_or("never".to_string(), |t| format!("{t:.0}"))
    };
    format!(
        "t_train {}, t_gen {} ({} steps)",
        t("train_acc"),
        t("val_acc"),
        c.train.steps
    )
}

/// The first step at which `values` reaches `level`, linearly interpolated between the two
/// evaluation steps around the crossing; None if it never does.
pub fn crossing(steps: &[f64], values: &[f64], level: f64) -> Option<f64> {
    let k = values.iter().position(|&v| v >= level)?;
    if k == 0 {
        return Some(steps[0]);
    }
    let (s0, s1, v0, v1) = (steps[k - 1], steps[k], values[k - 1], values[k]);
    if !(v0.is_finite() && v1 > v0) {
        return Some(s1);
    }
    Some(s0 + (level - v0) / (v1 - v0) * (s1 - s0))
}

/// [`crossing`] of a metrics column against the step column.
pub fn crossing_of(m: &Metrics, column: &str, level: f64) -> Option<f64> {
    crossing(&m.column("step")?, &m.column(column)?, level)
}

/// Grokking times of a simulation over its seeds.
pub struct SimTimes {
    pub t_train: Option<Stats>,
    pub t_gen: Option<Stats>,
    /// Over the seeds that reached both levels.
    pub delta_t: Option<Stats>,
    pub seeds: usize,
}

impl SimRuns {
    pub fn d_in(&self) -> Option<usize> {
        self.config.task.get::<TeacherStudent>().map(|t| t.d_in)
    }

    /// The mean over seeds of a column at every evaluation step (steps where only some seeds have
    /// a finite value, after a divergence, average those).
    pub fn mean_curve(&self, column: &str) -> Vec<Point> {
        let cols: Vec<(Vec<f64>, Vec<f64>)> = self
            .runs
            .iter()
            .filter_map(|r| Some((r.metrics.column("step")?, r.metrics.column(column)?)))
            .collect();
        let Some(longest) = cols.iter().map(|c| &c.0).max_by_key(|s| s.len()) else {
            return Vec::new();
        };
        longest
            .iter()
            .enumerate()
            .map(|(k, &step)| {
                let vals: Vec<f64> = cols
                    .iter()
                    .filter(|(s, _)| s.get(k) == Some(&step))
                    .map(|(_, v)| v[k])
                    .filter(|v| v.is_finite())
                    .collect();
                let stats = Stats::of(&vals);
                Point {
                    x: step,
                    y: stats.map(|s| s.mean),
                    stats,
                }
            })
            .collect()
    }

    /// The level crossings of two accuracy columns, per seed, and their statistics.
    pub fn times(&self, train_col: &str, gen_col: &str) -> SimTimes {
        let level = self.config.phase.acc_threshold;
        let per_seed: Vec<(Option<f64>, Option<f64>)> = self
            .runs
            .iter()
            .map(|r| {
                (
                    crossing_of(&r.metrics, train_col, level),
                    crossing_of(&r.metrics, gen_col, level),
                )
            })
            .collect();
        let tt: Vec<f64> = per_seed.iter().filter_map(|p| p.0).collect();
        let tg: Vec<f64> = per_seed.iter().filter_map(|p| p.1).collect();
        let dt: Vec<f64> = per_seed
            .iter()
            .filter_map(|&(a, b)| Some(b? - a?))
            .collect();
        SimTimes {
            t_train: Stats::of(&tt),
            t_gen: Stats::of(&tg),
            delta_t: Stats::of(&dt),
            seeds: self.runs.len(),
        }
    }

    /// The times of the mean curves of two (theory) columns, which are the same for every seed
    /// up to the run's own initial loss.
    pub fn mean_times(&self, train_col: &str, gen_col: &str) -> (Option<f64>, Option<f64>) {
        let level = self.config.phase.acc_threshold;
        let t = |col: &str| {
            let c = self.mean_curve(col);
            let steps: Vec<f64> = c.iter().map(|p| p.x).collect();
            let vals: Vec<f64> = c.iter().map(|p| p.y.unwrap_or(f64::NAN)).collect();
            crossing(&steps, &vals, level)
        };
        (t(train_col), t(gen_col))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_interpolates_between_evaluations() {
        let steps = [0.0, 10.0, 20.0, 40.0];
        assert_eq!(crossing(&steps, &[0.0, 0.5, 0.5, 1.0], 0.75), Some(30.0));
        assert_eq!(crossing(&steps, &[0.0, 0.5, 0.95, 1.0], 0.95), Some(20.0));
        assert_eq!(crossing(&steps, &[1.0, 1.0, 1.0, 1.0], 0.95), Some(0.0));
        assert_eq!(crossing(&steps, &[0.0, 0.5, 0.9, 0.94], 0.95), None);
        assert_eq!(
            crossing(&steps, &[0.0, f64::NAN, 0.96, 1.0], 0.95),
            Some(20.0)
        );
    }
}
