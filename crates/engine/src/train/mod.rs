//! The one training loop, in three parts: [`Trainer::setup`], [`Trainer::step`] and
//! [`Trainer::evaluate`]; [`Trainer::run`] strings them together.
//!
//! It trains M >= 1 members of the same shape at once (a single run is M = 1): members share the
//! model architecture, task shape, loss and budget, and each has its own seed (data split,
//! initialisation, batch order), learning rates, weight decays and probes, all from its own config.
//!
//! The gradient comes from one of two paths, chosen once at setup: the model's fused kernel on host
//! memory where it has one ([`fused`]), else burn's autodiff ([`autodiff`], the general path and the
//! reference). Each step picks every member's batch (whole split, a minibatch from its own stream,
//! or a fresh online batch), the path computes every member's loss and gradient and the optimiser
//! steps every member at its scheduled learning rate. At the evaluation steps the model runs forward
//! on the train and validation splits and every member's probes record a row. A member whose loss
//! turns NaN or infinite is frozen and recorded as diverged; the others go on.

pub mod autodiff;
mod crossing;
pub mod fused;
mod resume;

use crate::batch::Sampler;
use crate::config::{Config, TrainPath};
use crate::error::EngineError;
use crate::files::ExtraTable;
use crate::head::Encoding;
use crate::loss::LossConfig;
use crate::model::Model;
use crate::optim::{Hyper, Optimizer};
use crate::params::{ParamSpec, Params, Precision};
use crate::probe::{EvalContext, Probe, ProbeSetup, probes_for};
use crate::seed::{Stream, rng};
use crate::task::{Dataset, Split};
use autodiff::Autodiff;
use fused::{FusedSteps, MemberData};
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
    /// The evaluation at which `train.stop` stopped the member.
    pub stopped_at: Option<usize>,
    /// Steps actually taken.
    pub steps: usize,
    /// The first step at which train and validation accuracy reached the phase threshold, exact
    /// to the step (see `train/crossing.rs`); None where they never did.
    pub crossings: [Option<usize>; 2],
    /// Final parameters of this member, in spec order.
    pub final_params: Vec<Vec<f64>>,
    /// Initial parameters of this member, in spec order (to restart or replay the run elsewhere).
    pub initial_params: Vec<Vec<f64>>,
    /// Fields the probes add to the summary.
    pub summary: Vec<(String, Option<f64>)>,
}

/// What a training call produced.
#[derive(Debug, Clone)]
pub struct TrainResult {
    pub members: Vec<MemberResult>,
    pub specs: Vec<ParamSpec>,
    pub wall_seconds: f64,
    /// Steps of the whole ensemble per second (each step advances every member).
    pub steps_per_second: f64,
    /// The signal that stopped the run before its budget (its state was saved first).
    pub interrupted_by: Option<i32>,
}

/// What a run reports while it trains and what may stop it early: the CLI's live files, saved
/// states and signals. A plain call watches nothing (`()`).
pub trait Watch {
    /// After the evaluation at `step` recorded its rows; `wall` is the training time so far.
    fn evaluated(&mut self, _trainer: &Trainer, _step: usize, _wall: f64) {}
    /// A signal asking the run to stop after `step`, the step it is in.
    fn interrupt(&self, _step: usize) -> Option<i32> {
        None
    }
    /// Whether to save the whole state after `step` (`wall`: training time so far).
    fn save_due(&self, _step: usize, _wall: f64) -> bool {
        false
    }
    /// The whole state after a step, when due and when interrupted.
    fn saved(&mut self, _state: crate::snapshot::Snapshot) {}
}

impl Watch for () {}

/// Options that do not change results.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Set to a signal's number by its handler: the run saves its state and stops after the step
    /// it is in (read by [`crate::live::Live`]).
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// The `--set` overrides of the command, for the run's provenance.
    pub overrides: Vec<String>,
    /// Set to the step reached as the run goes (as often as the bar moves), for a caller that
    /// draws its own progress (the Python package's tqdm bar).
    pub position: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

/// Checks that configs can share one batched loop: same task, model (but for its init-only keys,
/// such as the init scale), loss, budget and evaluation schedule, and the same parameters in each
/// optimiser group. Seeds, optimiser hyperparameters and phase thresholds may differ.
pub fn check_compatible(configs: &[Config]) -> Result<(), EngineError> {
    let first = configs
        .first()
        .ok_or_else(|| EngineError::ShapeMismatch("no members".into()))?;
    for c in &configs[1..] {
        let differs = [
            ("task", c.task != first.task),
            (
                "model",
                crate::model::forward_settings(&c.model)
                    != crate::model::forward_settings(&first.model),
            ),
            ("loss", c.loss != first.loss),
            ("train", c.train.shared() != first.train.shared()),
            ("eval", c.eval != first.eval),
            (
                "optim groups",
                !(c.optim.keys().eq(first.optim.keys())
                    && c.optim
                        .iter()
                        .all(|(k, g)| g.params == first.optim[k].params)),
            ),
        ];
        if let Some((what, _)) = differs.iter().find(|d| d.1) {
            return Err(EngineError::ShapeMismatch(format!(
                "{} differs from {} in {what}",
                c.name, first.name
            )));
        }
    }
    Ok(())
}

/// What members must share to train as one ensemble ([`check_compatible`]), as text: configs with
/// equal keys can be batched together (a sweep groups its runs by it).
pub fn ensemble_key(c: &Config) -> String {
    let mut t = toml::Table::new();
    t.insert("task".into(), toml::Value::Table(c.task.table()));
    t.insert(
        "model".into(),
        toml::Value::Table(crate::model::forward_settings(&c.model)),
    );
    t.insert("loss".into(), toml::Value::Table(c.loss.table()));
    fn value<T: serde::Serialize>(v: &T) -> toml::Value {
        toml::Value::try_from(v).expect("config values serialise")
    }
    t.insert("train".into(), value(&c.train.shared()));
    t.insert("eval".into(), value(&c.eval));
    for (k, g) in &c.optim {
        t.insert(format!("group {k}"), value(&g.params));
    }
    toml::to_string(&t).expect("a table of plain values serialises")
}

/// The trainer trains one member as if alone: its own data, encoding, probes and record.
struct Member {
    config: Config,
    data: Dataset,
    encoding: Encoding,
    probes: Vec<Box<dyn Probe>>,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    active: bool,
    diverged_at: Option<usize>,
    /// The evaluation at which `train.stop` stopped the member.
    stopped_at: Option<usize>,
    last_step: usize,
    /// First steps at the phase threshold: train, validation accuracy.
    crossings: [Option<usize>; 2],
}

impl Member {
    /// Whether the member stopped (diverged or reached its stop) before `step`.
    fn halted_before(&self, step: usize) -> bool {
        !self.active
            && (self.diverged_at.is_some_and(|d| d < step)
                || self.stopped_at.is_some_and(|s| s < step))
    }
}

/// The path every step's gradient takes, chosen once at setup.
enum Path {
    /// The model's kernel on host memory.
    Fused(Box<dyn FusedSteps>),
    /// burn's autodiff.
    Autodiff(Box<Autodiff>),
}

/// Which samples a step trains on.
pub enum StepBatch<'a> {
    /// Every member's whole training split.
    Full,
    /// Rows `rows[m]` of member m's training split.
    Rows(&'a [Vec<usize>]),
    /// A fresh batch per member (online tasks).
    Fresh(&'a [Split]),
}

/// A training call in progress.
pub struct Trainer {
    members: Vec<Member>,
    model: Box<dyn Model>,
    loss: LossConfig,
    params: Params,
    initial: Vec<Vec<Vec<f64>>>,
    optimizer: Optimizer,
    precision: Precision,
    path: Path,
    /// Steps of the run and the evaluation steps still to come.
    steps: usize,
    evals: std::collections::VecDeque<usize>,
    /// Samples per step (the training set's size for full batches).
    batch_size: usize,
    full_batch: bool,
    sampler: Sampler,
    name: String,
    /// The step a resumed run continues after (its state was saved there).
    done: Option<usize>,
    /// Training time before this process (a resumed run's earlier part).
    wall_before: f64,
    /// The state at the last evaluation (its step), kept while a crossing is pending: a crossing
    /// found at the next evaluation is refined from it.
    prev: Option<(usize, crate::snapshot::Snapshot)>,
}

/// The outputs of every member, one after the other, row-major [samples, d_out] per split.
struct Outputs {
    train: Vec<f64>,
    val: Vec<f64>,
    d_out: usize,
}

impl Outputs {
    /// Member `m`'s part: its training and validation outputs (empty without a validation split).
    fn of(&self, m: usize, data: &Dataset) -> (&[f64], &[f64]) {
        let (nt, nv) = (data.train.len() * self.d_out, data.val.len() * self.d_out);
        let val: &[f64] = if nv > 0 {
            &self.val[m * nv..(m + 1) * nv]
        } else {
            &[]
        };
        (&self.train[m * nt..(m + 1) * nt], val)
    }
}

/// The members' splits and encodings as the paths read them.
fn member_data(members: &[Member]) -> Vec<MemberData<'_>> {
    members
        .iter()
        .map(|m| MemberData {
            train: &m.data.train,
            val: &m.data.val,
            encoding: &m.encoding,
        })
        .collect()
}

impl Trainer {
    /// Builds everything a training call needs: checks that the members fit together and in
    /// memory (before allocating anything large), then builds each member's data, encoding,
    /// initial parameters and probes from its own config.
    pub fn setup(configs: &[Config]) -> Result<Trainer, EngineError> {
        Trainer::setup_from(configs, None)
    }

    /// [`Trainer::setup`], starting from given parameters (`init[member][param]`, spec order)
    /// instead of each member's initialisation.
    pub fn setup_from(
        configs: &[Config],
        init: Option<Vec<Vec<Vec<f64>>>>,
    ) -> Result<Trainer, EngineError> {
        check_fits(configs)?;
        let first = &configs[0];
        let model = first.build_model();
        let probes: Vec<Vec<Box<dyn Probe>>> = configs
            .iter()
            .map(|c| {
                probes_for(&ProbeSetup {
                    config: c,
                    model: &*model,
                })
            })
            .collect();

        let precision = first.train.dtype;
        let shape = first.task.shape();
        let student = model.dense_stack();
        let members: Vec<Member> = configs
            .iter()
            .zip(probes)
            .map(|(c, probes)| {
                let columns = metric_columns(c, &probes);
                Member {
                    config: c.clone(),
                    data: c.task.build(c.seed, student.as_ref()),
                    encoding: Encoding::new(
                        model.head(),
                        shape.output,
                        c.task.correctness(),
                        c.seed,
                    )
                    .with_after(shape.after.clone()),
                    probes,
                    columns,
                    rows: Vec::new(),
                    active: true,
                    diverged_at: None,
                    stopped_at: None,
                    last_step: 0,
                    crossings: [None; 2],
                }
            })
            .collect();
        // Each member initialises from its own model settings (an init scale may differ).
        let inits = init.unwrap_or_else(|| {
            configs
                .iter()
                .map(|c| c.build_model().init(&mut rng(c.seed, Stream::Init)))
                .collect()
        });
        let specs = model.specs().to_vec();
        let params = Params::from_members(specs.clone(), inits, precision);
        let initial = (0..configs.len())
            .map(|m| params.member_view(m).all())
            .collect();
        let hyper = specs
            .iter()
            .map(|s| {
                configs
                    .iter()
                    .map(|c| {
                        let group = c.group_of(&s.name).expect("groups were validated");
                        Hyper {
                            l1: c.l1_per_entry(group, &specs),
                            ..Hyper::of(&c.optim[group], model.d_out())
                        }
                    })
                    .collect()
            })
            .collect();

        let kind = first.loss.wants();
        let seeds: Vec<u64> = configs.iter().map(|c| c.seed).collect();
        let full_batch = first.train.batch_size == 0;
        let data = member_data(&members);
        let kernel = match first.train.path {
            TrainPath::Autodiff => None,
            TrainPath::Auto | TrainPath::Fused => model.kernel(precision).ok(),
        };
        let path = match kernel {
            Some(k) => Path::Fused(fused::training(k, &data, kind, &seeds)),
            None => Path::Autodiff(Box::new(Autodiff::new(
                &data, kind, full_batch, precision, &seeds,
            ))),
        };
        let n_train = members[0].data.train.len();
        let steps = first.train.steps;
        Ok(Trainer {
            evals: crate::schedule::config_eval_steps(first).into(),
            batch_size: if full_batch {
                n_train
            } else {
                first.train.batch_size
            },
            full_batch,
            sampler: Sampler::new(&seeds, n_train, first.train.epochs > 0),
            name: first.name.clone(),
            loss: first.loss.clone(),
            members,
            model,
            params,
            initial,
            optimizer: Optimizer::new(hyper, steps),
            precision,
            path,
            steps,
            done: None,
            wall_before: 0.0,
            prev: None,
        })
    }

    /// Trains every member to its budget (or divergence).
    pub fn run(self, opts: &TrainOptions) -> TrainResult {
        self.run_watched(opts, &mut ())
    }

    /// [`Trainer::run`], reporting to `watch` and stopping early when it says so. A resumed
    /// trainer ([`Trainer::load`]) continues after the step its state was saved at.
    pub fn run_watched(mut self, opts: &TrainOptions, watch: &mut dyn Watch) -> TrainResult {
        let bar = progress_bar(opts.progress, self.steps as u64, &self.name);
        let first = self.done.map_or(0, |d| d + 1);
        bar.set_position(first as u64);
        bar.reset_eta();
        let started = Instant::now();
        let wall = |before: f64| before + started.elapsed().as_secs_f64();
        let mut interrupted_by = None;
        let mut reached = first;
        for step in first..=self.steps {
            reached = step;
            if step > 0 {
                self.step(step);
                if !self.members.iter().any(|m| m.active) {
                    break;
                }
            }
            if self.evals.front() == Some(&step) {
                self.evals.pop_front();
                self.evaluate(step);
                self.refine_crossings(step);
                watch.evaluated(&self, step, wall(self.wall_before));
                if !self.members.iter().any(|m| m.active) {
                    break;
                }
            }
            if step % 64 == 0 {
                bar.set_position(step as u64);
                if let Some(p) = &opts.position {
                    p.store(step, std::sync::atomic::Ordering::Relaxed);
                }
            }
            let signal = watch.interrupt(step);
            let now = wall(self.wall_before);
            if signal.is_some() || (step > 0 && step < self.steps && watch.save_due(step, now)) {
                watch.saved(self.save(step, now));
            }
            if signal.is_some() {
                interrupted_by = signal;
                break;
            }
        }
        if let Some(p) = &opts.position {
            p.store(reached, std::sync::atomic::Ordering::Relaxed);
        }
        let wall = wall(self.wall_before);
        self.finish_probes();
        bar.finish_and_clear();
        let mut result = self.finish(wall);
        result.interrupted_by = interrupted_by;
        result
    }

    /// Member `m`'s metrics so far: its columns and rows.
    pub fn metrics(&self, m: usize) -> (&[String], &[Vec<f64>]) {
        (&self.members[m].columns, &self.members[m].rows)
    }

    /// The steps of the run.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Member `m`'s tables as they stand: its data's, its encoding's and its probes' histories
    /// (`split.csv`, `embeddings.csv`, `fourier.csv`, ...; those a probe fills only when the run
    /// ends are empty until then).
    pub fn tables(&self, m: usize) -> Vec<ExtraTable> {
        let member = &self.members[m];
        member
            .config
            .task
            .tables(&member.data)
            .into_iter()
            .chain(member.encoding.table())
            .chain(member.probes.iter().flat_map(|p| p.tables()))
            .collect()
    }

    /// Optimiser step `step` (1-based; it sets the scheduled learning rates and Adam's bias
    /// correction) of every active member. Steps are taken in order, each once.
    pub fn step(&mut self, step: usize) {
        // online tasks train on a fresh batch of every member's own stream
        let fresh: Option<Vec<Split>> = self
            .members
            .iter()
            .map(|m| {
                m.config
                    .task
                    .fresh_batch(m.config.seed, step, self.batch_size)
            })
            .collect();
        let rows;
        let batch = match &fresh {
            Some(splits) => StepBatch::Fresh(splits),
            None if self.full_batch => StepBatch::Full,
            None => {
                rows = self.sampler.next(self.batch_size);
                StepBatch::Rows(&rows)
            }
        };
        let active: Vec<bool> = self.members.iter().map(|m| m.active).collect();
        let data = member_data(&self.members);
        let (params, optimizer, t) = (&mut self.params, &mut self.optimizer, step as u64);
        let losses = match &mut self.path {
            Path::Fused(f) => f.step(params, optimizer, &*self.loss, &data, &batch, &active, t),
            Path::Autodiff(a) => a.step(
                &*self.model,
                &*self.loss,
                params,
                optimizer,
                &data,
                &batch,
                &active,
                t,
            ),
        };
        self.record_losses(step, &losses);
    }

    /// Members whose loss at `step` is not finite diverged there (they are frozen); the others
    /// have taken the step.
    fn record_losses(&mut self, step: usize, losses: &[f64]) {
        for (member, l) in self.members.iter_mut().zip(losses) {
            if !member.active {
                continue;
            }
            if l.is_finite() {
                member.last_step = step;
            } else {
                member.active = false;
                member.diverged_at = Some(step);
            }
        }
    }

    /// Runs the model on both splits and records every member's probes (skipping members that
    /// diverged before this step).
    pub fn evaluate(&mut self, step: usize) {
        self.visit(step, true);
    }

    /// The probes' end-of-run analyses, on the final state.
    fn finish_probes(&mut self) {
        let step = self.members.iter().map(|m| m.last_step).max().unwrap_or(0);
        self.visit(step, false);
    }

    /// Every member's probes at `step`: recording a row (`record`) or finishing.
    fn visit(&mut self, step: usize, record: bool) {
        let d_out = self.model.d_out();
        let wanted: Vec<bool> = self
            .members
            .iter()
            .map(|m| !record || !m.halted_before(step))
            .collect();
        let outs = self.outputs(&wanted);
        for (m, member) in self.members.iter_mut().enumerate() {
            if record && member.halted_before(step) {
                continue;
            }
            let Member {
                config,
                data,
                encoding,
                probes,
                rows,
                columns,
                active,
                stopped_at,
                ..
            } = member;
            let (train_out, val_out) = outs.of(m, data);
            let ctx = EvalContext {
                step,
                config,
                data,
                encoding,
                loss: &*self.loss,
                params: self.params.member_view(m),
                train_out,
                val_out,
                d_out,
                model: &*self.model,
                precision: self.precision,
            };
            if !record {
                for p in probes.iter_mut() {
                    p.finish(&ctx);
                }
                continue;
            }
            let mut row = vec![step as f64];
            if let Some(per) = config.steps_per_epoch() {
                row.push(step as f64 / per as f64);
            }
            for p in probes.iter_mut() {
                row.extend(p.compute(&ctx));
            }
            if let Some(stop) = &config.train.stop
                && *active
            {
                let at = columns.iter().position(|c| *c == stop.metric);
                if at.is_some_and(|i| stop.reached(row[i])) {
                    *active = false;
                    *stopped_at = Some(step);
                }
            }
            rows.push(row);
        }
    }

    /// Every member's outputs on its whole training and validation split (zeros for the members
    /// not `wanted`, on the fused path).
    fn outputs(&mut self, wanted: &[bool]) -> Outputs {
        let d_out = self.model.d_out();
        let (train, val) = match &mut self.path {
            Path::Fused(f) => f.outputs(&self.params, wanted, d_out),
            Path::Autodiff(a) => a.outputs(&*self.model, &self.params),
        };
        Outputs { train, val, d_out }
    }

    /// Hands every member's record back.
    fn finish(self, wall: f64) -> TrainResult {
        let done = self.members.iter().map(|m| m.last_step).max().unwrap_or(0);
        let mut tables: Vec<_> = (0..self.members.len()).map(|m| self.tables(m)).collect();
        let params = &self.params;
        let members = self
            .members
            .into_iter()
            .zip(self.initial)
            .enumerate()
            .map(|(m, (member, initial))| MemberResult {
                tables: std::mem::take(&mut tables[m]),
                metrics: Metrics {
                    columns: member.columns,
                    rows: member.rows,
                },
                diverged_at: member.diverged_at,
                stopped_at: member.stopped_at,
                steps: member.last_step,
                crossings: member.crossings,
                final_params: params.member_view(m).all(),
                initial_params: initial,
                summary: member.probes.iter().flat_map(|p| p.summary()).collect(),
            })
            .collect();
        TrainResult {
            members,
            specs: self.params.specs.clone(),
            wall_seconds: wall,
            steps_per_second: if wall > 0.0 { done as f64 / wall } else { 0.0 },
            interrupted_by: None,
        }
    }
}

/// Trains every member to its budget (or divergence): [`Trainer::setup`] then [`Trainer::run`].
pub fn train(configs: &[Config], opts: &TrainOptions) -> Result<TrainResult, EngineError> {
    Ok(Trainer::setup(configs)?.run(opts))
}

/// The columns of a member's metrics.csv: step, epoch (epoch-based runs), then its probes'.
fn metric_columns(c: &Config, probes: &[Box<dyn Probe>]) -> Vec<String> {
    let mut columns = vec!["step".to_string()];
    if c.train.epochs > 0 {
        columns.push("epoch".into());
    }
    for p in probes {
        columns.extend(p.columns());
    }
    columns
}

/// Refuses a `train.stop.metric` that is not a column of the member's metrics.csv (`probes`: the
/// member's).
fn check_stop(c: &Config, probes: &[Box<dyn Probe>]) -> Result<(), EngineError> {
    let Some(stop) = &c.train.stop else {
        return Ok(());
    };
    let columns = metric_columns(c, probes);
    if columns.contains(&stop.metric) {
        return Ok(());
    }
    Err(EngineError::Config(crate::ConfigError::Invalid {
        key: "train.stop.metric".into(),
        value: format!("{:?}", stop.metric),
        allowed: format!("a column of this run's metrics.csv: {}", columns.join(", ")),
    }))
}

/// Refuses configs that cannot train together ([`check_compatible`]) or would not fit in the
/// machine's memory, before anything large is built.
pub fn check_fits(configs: &[Config]) -> Result<(), EngineError> {
    check_compatible(configs)?;
    let config = &configs[0];
    let model = config.build_model();
    if config.train.path == TrainPath::Fused
        && let Err(why) = model.kernel(config.train.dtype)
    {
        return Err(EngineError::Config(crate::ConfigError::Invalid {
            key: "train.path".into(),
            value: "\"fused\"".into(),
            allowed: format!(
                "\"auto\" or \"autodiff\": model.kind = {:?} with these settings has no fused \
                 kernel ({why})",
                crate::choice::Kind::kind(&*config.model)
            ),
        }));
    }
    // members' probes may differ (one member's optimiser admits the exact theory, another's not)
    let mut probes: Vec<Box<dyn Probe>> = Vec::new();
    for c in configs {
        let member = probes_for(&ProbeSetup {
            config: c,
            model: &*model,
        });
        check_stop(c, &member)?;
        probes.extend(member);
    }
    let est = crate::memory::estimate(config, &*model, &probes, configs.len());
    match crate::memory::machine_bytes() {
        Some(machine) if est.total() > machine => {
            let (largest, key, _) = est.largest();
            Err(EngineError::Memory {
                estimate: est.total(),
                machine,
                largest,
                key,
            })
        }
        _ => Ok(()),
    }
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
