//! The one training loop. It trains M >= 1 members of the same shape at once (a single run is M = 1):
//! members share the model architecture, task shape and budget, and each has its own seed (data
//! split, initialisation, batch order), learning rates and weight decays.
//!
//! Each step: parameters leave the host store as autodiff leaves, the model runs forward on the batch,
//! the per-member losses are summed (members' graphs are disjoint, so each gets its own gradient), one
//! backward pass, gradients come back to the host and the fused optimiser steps every member. At the
//! evaluation steps the model runs forward without autodiff on the train and validation splits and
//! every probe records a row. A member whose loss turns NaN or infinite is frozen and recorded as
//! diverged; the others go on.

use crate::config::{Config, Head, ModelConfig};
use crate::model::{Inputs, Model};
use crate::optim::{GradRef, Hyper, Optimizer};
use crate::params::{Params, Precision};
use crate::probe::{EvalContext, ExtraTable, Probe, probes_for};
use crate::schedule::eval_steps;
use crate::seed::{Stream, rng};
use crate::task::{Dataset, Features, Labels, Split};
use burn::prelude::*;
use burn::tensor::activation;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Metrics of one member: a header and one row per evaluation step.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Metrics {
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[k]).collect())
    }
    /// The last row's value of a column.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.column(name).and_then(|c| c.last().copied())
    }
}

/// What one member's training produced.
#[derive(Debug, Clone)]
pub struct MemberResult {
    pub metrics: Metrics,
    pub tables: Vec<ExtraTable>,
    /// The step whose loss was first non-finite, if any.
    pub diverged_at: Option<usize>,
    /// Steps actually taken.
    pub steps: usize,
    /// Final parameters of this member, in spec order.
    pub final_params: Vec<Vec<f64>>,
    /// Initial parameters of this member, in spec order (to restart or replay the run elsewhere).
    pub initial_params: Vec<Vec<f64>>,
}

/// What a training call produced.
#[derive(Debug, Clone)]
pub struct TrainResult {
    pub members: Vec<MemberResult>,
    pub specs: Vec<crate::model::ParamSpec>,
    pub wall_seconds: f64,
    /// Steps of the whole ensemble per second (each step advances every member).
    pub steps_per_second: f64,
}

/// Options that do not change results.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// Why members cannot train together.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeMismatch(pub String);

impl std::fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "members cannot train as one ensemble: {}", self.0)
    }
}

/// Checks that configs can share one batched loop: same task, model, budget and schedule.
pub fn check_compatible(configs: &[Config]) -> Result<(), ShapeMismatch> {
    let first = configs
        .first()
        .ok_or_else(|| ShapeMismatch("no members".into()))?;
    for c in &configs[1..] {
        let same = c.task == first.task
            && c.model == first.model
            && c.train == first.train
            && c.eval == first.eval
            && c.optim.keys().eq(first.optim.keys())
            && c.optim
                .iter()
                .all(|(k, g)| g.params == first.optim[k].params);
        if !same {
            return Err(ShapeMismatch(format!(
                "{} differs from {} in task, model, training budget, evaluation or group membership",
                c.name, first.name
            )));
        }
    }
    Ok(())
}

/// Batch tensors of all members for one split or minibatch.
struct Batch {
    inputs: Inputs,
    /// Regression targets [M, B, D] or class labels [M, B, 1].
    targets: Targets,
    size: usize,
}

enum Targets {
    Dense(Tensor<3>),
    Classes(Tensor<3, Int>),
}

/// Which split a batch draws from.
#[derive(Clone, Copy)]
enum Which {
    Train,
    Val,
}

fn split_of(d: &Dataset, w: Which) -> &Split {
    match w {
        Which::Train => &d.train,
        Which::Val => &d.val,
    }
}

fn batch(
    data: &[Dataset],
    which: Which,
    rows: &[Vec<usize>],
    head: Option<Head>,
    device: &Device,
    precision: Precision,
) -> Batch {
    let m = data.len();
    let b = rows[0].len();
    let dtype = (device, precision.dtype());
    let dense = |pick: &dyn Fn(&Split) -> (&[f64], usize)| {
        let dim = pick(split_of(&data[0], which)).1;
        let mut v = Vec::with_capacity(m * b * dim);
        for (d, r) in data.iter().zip(rows) {
            let (vals, _) = pick(split_of(d, which));
            for &k in r {
                v.extend_from_slice(&vals[k * dim..(k + 1) * dim]);
            }
        }
        Tensor::<3>::from_data(TensorData::new(v, [m, b, dim]), dtype)
    };
    let inputs = match &split_of(&data[0], which).x {
        Features::Tokens(tok) => Inputs::Tokens(
            (0..tok.len())
                .map(|pos| {
                    let v: Vec<i32> = data
                        .iter()
                        .zip(rows)
                        .flat_map(|(d, r)| {
                            let Features::Tokens(t) = &split_of(d, which).x else {
                                unreachable!("members share a task")
                            };
                            r.iter().map(move |&k| t[pos][k] as i32)
                        })
                        .collect();
                    Tensor::<2, Int>::from_data(TensorData::new(v, [m, b]), device)
                })
                .collect(),
        ),
        Features::Dense { .. } => Inputs::Dense(dense(&|s| match &s.x {
            Features::Dense { x, dim } => (x.as_slice(), *dim),
            Features::Tokens(_) => unreachable!("members share a task"),
        })),
    };
    let targets = match (&split_of(&data[0], which).y, head) {
        (Labels::Dense { .. }, _) => Targets::Dense(dense(&|s| match &s.y {
            Labels::Dense { y, dim } => (y.as_slice(), *dim),
            Labels::Classes(_) => unreachable!("members share a task"),
        })),
        (Labels::Classes(_), Some(Head::Regression)) => {
            let dt = data[0].d_target;
            let mut v = Vec::with_capacity(m * b * dt);
            for (d, r) in data.iter().zip(rows) {
                for &k in r {
                    let c = split_of(d, which).class(k);
                    v.extend(d.targets[c * dt..(c + 1) * dt].iter().map(|&x| x as f64));
                }
            }
            Targets::Dense(Tensor::from_data(TensorData::new(v, [m, b, dt]), dtype))
        }
        (Labels::Classes(_), _) => {
            let v: Vec<i32> = data
                .iter()
                .zip(rows)
                .flat_map(|(d, r)| r.iter().map(move |&k| split_of(d, which).class(k) as i32))
                .collect();
            Targets::Classes(Tensor::from_data(TensorData::new(v, [m, b, 1]), device))
        }
    };
    Batch {
        inputs,
        targets,
        size: b,
    }
}

/// Per-member mean loss [M] of outputs [M, B, D].
///
/// Means multiply by the reciprocal: burn-autodiff 0.22.1 differentiates `div_scalar` with the
/// divisor rounded to f32 (a 4e-8 relative error in every f64 gradient), `mul_scalar` keeps it exact.
fn member_losses(out: Tensor<3>, batch: &Batch) -> Tensor<1> {
    let [m, b, d] = out.dims();
    match &batch.targets {
        Targets::Dense(t) => (out - t.clone())
            .square()
            .sum_dims_squeeze::<1, _>(&[1, 2])
            .mul_scalar(1.0 / (b * d) as f64),
        Targets::Classes(y) => {
            let picked = activation::log_softmax(out, 2).gather(2, y.clone());
            picked
                .reshape([m, b])
                .sum_dim(1)
                .reshape([m])
                .mul_scalar(-1.0 / b as f64)
        }
    }
}

/// Host copy of a tensor as f64.
fn host(t: Tensor<3>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}

fn head_of(config: &Config) -> Option<Head> {
    match &config.model {
        ModelConfig::Toy(m) => Some(m.head),
        ModelConfig::Mlp(_) => None,
    }
}

/// Picks each member's next minibatch, reshuffling its training set whenever it runs out.
struct Sampler {
    rngs: Vec<ChaCha8Rng>,
    order: Vec<Vec<usize>>,
    pos: Vec<usize>,
}

impl Sampler {
    fn new(configs: &[Config], n: usize) -> Sampler {
        let rngs: Vec<ChaCha8Rng> = configs
            .iter()
            .map(|c| rng(c.seed, Stream::Batches))
            .collect();
        Sampler {
            order: vec![(0..n).collect(); configs.len()],
            pos: vec![n; configs.len()],
            rngs,
        }
    }
    fn next(&mut self, b: usize) -> Vec<Vec<usize>> {
        (0..self.rngs.len())
            .map(|m| {
                let mut out = Vec::with_capacity(b);
                while out.len() < b {
                    if self.pos[m] == self.order[m].len() {
                        self.order[m].shuffle(&mut self.rngs[m]);
                        self.pos[m] = 0;
                    }
                    out.push(self.order[m][self.pos[m]]);
                    self.pos[m] += 1;
                }
                out
            })
            .collect()
    }
}

/// Trains every member to its budget (or divergence). `configs` must pass [`check_compatible`].
pub fn train(configs: &[Config], opts: &TrainOptions) -> Result<TrainResult, ShapeMismatch> {
    check_compatible(configs)?;
    let first = &configs[0];
    let members = configs.len();
    let precision = first.train.dtype;
    let data: Vec<Dataset> = configs
        .iter()
        .map(|c| crate::task::build(&c.task, &c.model, c.seed))
        .collect();
    let model: Box<dyn Model> = crate::model::build(&first.model, &first.task);
    let specs = model.specs();
    let inits = configs
        .iter()
        .map(|c| model.init(&mut rng(c.seed, Stream::Init)))
        .collect();
    let mut params = Params::from_members(specs.clone(), inits, precision);
    let initial: Vec<Vec<Vec<f64>>> = (0..members)
        .map(|m| (0..specs.len()).map(|k| params.member(k, m)).collect())
        .collect();
    let hyper: Vec<Vec<Hyper>> = specs
        .iter()
        .map(|s| {
            configs
                .iter()
                .map(|c| {
                    Hyper::of(
                        &c.optim[c.group_of(&s.name).expect("groups were validated")],
                        model.d_out(),
                    )
                })
                .collect()
        })
        .collect();
    let mut optimizer = Optimizer::new(hyper);
    let mut probes: Vec<Box<dyn Probe>> = probes_for(first, members);
    let mut columns = vec!["step".to_string()];
    for p in &probes {
        columns.extend(p.columns());
    }

    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    let head = head_of(first);
    let n_train = data[0].train.len();
    let full: Vec<Vec<usize>> = vec![(0..n_train).collect(); members];
    let batch_size = if first.train.batch_size == 0 {
        n_train
    } else {
        first.train.batch_size
    };
    let full_batch = batch_size == n_train && first.train.batch_size == 0;
    let train_batch = batch(&data, Which::Train, &full, head, &ad, precision);
    let eval_train = batch(&data, Which::Train, &full, head, &plain, precision);
    let n_val = data[0].val.len();
    let eval_val = batch(
        &data,
        Which::Val,
        &vec![(0..n_val).collect(); members],
        head,
        &plain,
        precision,
    );
    let mut sampler = Sampler::new(configs, n_train);

    let steps = first.train.steps;
    let evals = eval_steps(steps, first.eval.log_points, first.eval.every);
    let mut next_eval = 0;
    let mut rows: Vec<Vec<Vec<f64>>> = vec![Vec::new(); members];
    let mut active = vec![true; members];
    let mut diverged_at: Vec<Option<usize>> = vec![None; members];
    let mut last_step = vec![0usize; members];
    let d_out = model.d_out();

    let bar = progress_bar(opts.progress, steps as u64, &first.name);
    let started = Instant::now();
    for step in 0..=steps {
        if step > 0 {
            let leaves: Vec<Tensor<3>> = params
                .tensors(&ad)
                .into_iter()
                .map(|t| t.require_grad())
                .collect();
            let mb;
            let b = if full_batch {
                &train_batch
            } else {
                mb = batch(
                    &data,
                    Which::Train,
                    &sampler.next(batch_size),
                    head,
                    &ad,
                    precision,
                );
                &mb
            };
            let losses = member_losses(model.forward(&leaves, &b.inputs), b);
            let loss_values: Vec<f64> = losses.clone().into_data().iter::<f64>().collect();
            let mut grads = losses.sum().backward();
            for (m, l) in loss_values.iter().enumerate() {
                if active[m] && !l.is_finite() {
                    active[m] = false;
                    diverged_at[m] = Some(step);
                }
            }
            let gdata: Vec<TensorData> = leaves
                .iter()
                .map(|l| {
                    l.grad_remove(&mut grads)
                        .expect("every parameter takes part in the loss")
                        .into_data()
                })
                .collect();
            let grefs: Vec<GradRef<'_>> = gdata
                .iter()
                .map(|g| match precision {
                    Precision::F32 => GradRef::F32(g.as_slice::<f32>().expect("f32 gradient")),
                    Precision::F64 => GradRef::F64(g.as_slice::<f64>().expect("f64 gradient")),
                })
                .collect();
            optimizer.step(&mut params, &grefs, &active);
            for (m, a) in active.iter().enumerate() {
                if *a {
                    last_step[m] = step;
                }
            }
            if !active.iter().any(|&a| a) {
                break;
            }
        }
        if evals.get(next_eval) == Some(&step) {
            next_eval += 1;
            let pt = params.tensors(&plain);
            let train_out = host(model.forward(&pt, &eval_train.inputs));
            let val_out = if n_val > 0 {
                host(model.forward(&pt, &eval_val.inputs))
            } else {
                Vec::new()
            };
            for m in 0..members {
                if !active[m] && diverged_at[m].is_some_and(|d| d < step) {
                    continue;
                }
                let (nt, nv) = (eval_train.size * d_out, n_val * d_out);
                let ctx = EvalContext {
                    step,
                    member: m,
                    config: &configs[m],
                    data: &data[m],
                    params: &params,
                    train_out: &train_out[m * nt..(m + 1) * nt],
                    val_out: if n_val > 0 {
                        &val_out[m * nv..(m + 1) * nv]
                    } else {
                        &[]
                    },
                    d_out,
                };
                let mut row = vec![step as f64];
                for p in probes.iter_mut() {
                    row.extend(p.compute(&ctx));
                }
                rows[m].push(row);
            }
        }
        if step % 64 == 0 {
            bar.set_position(step as u64);
        }
    }
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let done = last_step.iter().copied().max().unwrap_or(0);
    let results = (0..members)
        .map(|m| MemberResult {
            metrics: Metrics {
                columns: columns.clone(),
                rows: std::mem::take(&mut rows[m]),
            },
            tables: crate::task::split_table(&data[m])
                .into_iter()
                .chain(crate::task::targets_table(&data[m]))
                .chain(probes.iter().flat_map(|p| p.tables(m)))
                .collect(),
            diverged_at: diverged_at[m],
            steps: last_step[m],
            final_params: (0..specs.len()).map(|k| params.member(k, m)).collect(),
            initial_params: initial[m].clone(),
        })
        .collect();
    Ok(TrainResult {
        members: results,
        specs,
        wall_seconds: wall,
        steps_per_second: if wall > 0.0 { done as f64 / wall } else { 0.0 },
    })
}

fn progress_bar(show: bool, len: u64, name: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}
