//! The one configuration schema: task, model, loss, optimiser groups, training budget, evaluation
//! schedule and phase thresholds. A config comes from a preset or a file, then `key=value`
//! overrides, and is validated into these structs before any work starts: the task, model and loss
//! tables are read by their registered kinds ([`crate::task::TASKS`], [`crate::model::MODELS`],
//! [`crate::loss::LOSSES`]), the model is built against the task's shape, and every parameter must
//! fall in exactly one optimiser group. Serialising a [`Config`] gives TOML that
//! [`Config::from_toml`] reads back to the same value (the resolved `config.toml` of a run).

use crate::choice;
use crate::loss::{LOSSES, LossConfig, default_kind};
use crate::model::{MODELS, Model, ModelConfig};
pub use crate::ops::Activation;
pub use crate::params::Precision;
pub use crate::reader::ConfigError;
use crate::reader::Reader;
use crate::schedule::LrSchedule;
use crate::task::{Dataset, TASKS, TaskConfig};
use serde::Serialize;
use toml::{Table, Value};

/// A fully validated experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Short name (a preset's name, or whatever the user chose).
    pub name: String,
    /// One line saying what the experiment is.
    pub description: String,
    /// The paper and figure a preset reproduces (empty for others), shown by `groklab presets`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reproduces: String,
    /// Fixes data split, initialisation and batch order.
    pub seed: u64,
    pub task: TaskConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    /// Optimiser parameter groups by name; every parameter belongs to exactly one.
    pub optim: std::collections::BTreeMap<String, GroupConfig>,
    pub train: TrainConfig,
    pub eval: EvalConfig,
    pub phase: PhaseConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Plain (optionally momentum) gradient descent; weight decay is added to the gradient.
    Sgd,
    /// Adam; weight decay is coupled (added to the gradient as an L2 penalty).
    Adam,
    /// AdamW; weight decay is decoupled (the parameter shrinks by lr * wd each step).
    Adamw,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupConfig {
    /// Parameter-path prefixes (whole segments): `embed` holds `embed.W_E`, `decoder` all decoder layers.
    pub params: Vec<String>,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    pub weight_decay: f64,
    /// SGD momentum (ignored by Adam and AdamW).
    pub momentum: f64,
    /// Divide the weight decay by the model's output dimension (the convention of Levi et al.,
    /// whose penalty enters divided by d_out).
    pub decay_per_output: bool,
    /// Warm-up and decay of the learning rate (`warmup_steps`, `decay`, `min_lr`).
    #[serde(flatten)]
    pub schedule: LrSchedule,
    /// Grokfast's gradient filter (`grokfast`, `grokfast_alpha`, `grokfast_window`, `grokfast_lambda`).
    #[serde(flatten)]
    pub grokfast: crate::grad_filter::Grokfast,
    /// Perpendicular gradients (Prieto et al.'s OrthoGrad), after the filter.
    pub orthograd: bool,
    /// An L1 term `l1 * mean|w|` (or `l1 * sum|w|` with `l1_reduction = "sum"`) over the group's
    /// parameters added to the loss, its gradient `l1 * sign(w) / n` added before the filters
    /// (Liu et al.'s S3 notebook: 1e-3 * mean|E|). Not part of the recorded losses.
    #[serde(skip_serializing_if = "is_zero")]
    pub l1: f64,
    #[serde(skip_serializing_if = "is_mean")]
    pub l1_reduction: L1Reduction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum L1Reduction {
    /// Over every entry of the group's parameters (of one member).
    Mean,
    Sum,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_mean(r: &L1Reduction) -> bool {
    *r == L1Reduction::Mean
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Optimiser steps (with `epochs`, epochs times the steps of an epoch).
    pub steps: usize,
    /// Epochs, 0 when training is counted in steps. An epoch is one pass over the training set in
    /// a fresh order, its last batch the remainder (PyTorch's DataLoader without drop_last).
    pub epochs: usize,
    /// Samples per step; 0 means the full training set every step.
    pub batch_size: usize,
    /// Floating-point precision of parameters and computation.
    pub dtype: Precision,
    /// How gradients are computed: `auto` (the fused path where it applies, else autodiff),
    /// `autodiff` (burn's, the general path) or `fused` (the model's own kernel, `Model::kernel`).
    pub path: TrainPath,
    /// Early stopping: the member stops at the first evaluation where a metric reaches a level.
    pub stop: Option<Stop>,
    /// Steps between saves of the whole training state (`state.safetensors`, what `--resume`
    /// continues from); None: every [`CHECKPOINT_MINUTES`] minutes of training; 0: only when
    /// interrupted. It changes no result.
    pub checkpoint_every: Option<usize>,
}

/// Minutes of training between saves of the state when `train.checkpoint_every` is not given.
pub const CHECKPOINT_MINUTES: f64 = 5.0;

impl TrainConfig {
    /// What the members of an ensemble share: all but `stop` (each member stops on its own) and
    /// `checkpoint_every` (which changes no result).
    pub fn shared(&self) -> TrainConfig {
        TrainConfig {
            stop: None,
            checkpoint_every: None,
            ..self.clone()
        }
    }
}

/// `train.stop = { metric = "val_acc", at = 0.999 }` (stop once the metric is at or above `at`) or
/// `{ metric = "train_loss", below = 1e-4 }` (at or below): any column of metrics.csv. A stopped
/// member takes no more steps, records no more rows and costs nothing more in its ensemble.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stop {
    pub metric: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
}

impl Stop {
    /// Whether a recorded value of the metric stops the member.
    pub fn reached(&self, value: f64) -> bool {
        match (self.at, self.below) {
            (Some(at), _) => value >= at,
            (None, Some(below)) => value <= below,
            (None, None) => false,
        }
    }
}

fn read_stop(r: &mut Reader) -> Result<Option<Stop>, ConfigError> {
    let v = match r.raw("stop") {
        None => return Ok(None),
        Some(toml::Value::Table(t)) => t,
        Some(v) => {
            return Err(r.invalid(
                "stop",
                &v,
                "a table such as { metric = \"val_acc\", at = 0.999 }",
            ));
        }
    };
    let mut s = Reader::new(&r.key("stop"), v);
    let metric = s.string_or("metric", "")?;
    if metric.is_empty() {
        return Err(s.invalid(
            "metric",
            &toml::Value::String(metric),
            "a column of metrics.csv, such as \"val_acc\"",
        ));
    }
    let level = |s: &mut Reader, key| {
        if s.peek(key).is_none() {
            return Ok(None);
        }
        s.f64_or(key, 0.0, |_| true, "a number").map(Some)
    };
    let at = level(&mut s, "at")?;
    let below = level(&mut s, "below")?;
    if at.is_some() == below.is_some() {
        let v = toml::Value::String(metric.clone());
        return Err(s.invalid(
            "metric",
            &v,
            "exactly one of `at` (stop at or above) and `below` (stop at or below) beside it",
        ));
    }
    s.finish()?;
    Ok(Some(Stop { metric, at, below }))
}

/// The resolved `[train]` table: `steps` is left out of epoch-based runs (it is derived from
/// `epochs`, so a changed batch size or training-set size re-derives it).
impl Serialize for TrainConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if self.epochs > 0 {
            m.serialize_entry("epochs", &self.epochs)?;
        } else {
            m.serialize_entry("steps", &self.steps)?;
        }
        m.serialize_entry("batch_size", &self.batch_size)?;
        m.serialize_entry("dtype", &self.dtype)?;
        m.serialize_entry("path", &self.path)?;
        if let Some(stop) = &self.stop {
            m.serialize_entry("stop", stop)?;
        }
        if let Some(every) = self.checkpoint_every {
            m.serialize_entry("checkpoint_every", &every)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainPath {
    Auto,
    Autodiff,
    Fused,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalConfig {
    /// Number of log-spaced evaluation steps between 1 and `train.steps` (0 for none).
    pub log_points: usize,
    /// Also evaluate every this many steps (0 for none).
    pub every: usize,
    /// Also evaluate every this many epochs, before the next epoch's updates (0 for none).
    pub every_epochs: usize,
    /// RQI tolerance on the mean squared parallelogram residual of standardised embeddings.
    pub rqi_delta: f64,
    /// The effective-sparsity probe runs every this many epochs (epoch-based runs) or evaluations.
    pub sparsity_every: usize,
    /// Transformers: write the final attention patterns of this many validation samples.
    pub attention_samples: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseConfig {
    /// Accuracy that counts as "fitted" / "generalised".
    pub acc_threshold: f64,
    /// Steps between reaching it on train and on validation that make a run "grokking".
    pub gap: usize,
    /// Steps within which the thresholds must be reached; 0 means the whole run.
    pub budget: usize,
}

const POSITIVE: &str = "a finite number > 0";
const NON_NEGATIVE: &str = "a finite number >= 0";

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml(text: &str, source: &str) -> Result<Config, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                source: source.into(),
                message: e.to_string(),
            })?;
        Config::from_table(table)
    }

    /// Validates an already parsed document (after overrides).
    pub fn from_table(table: Table) -> Result<Config, ConfigError> {
        let mut r = Reader::new("", table);
        let name = r.string_or("name", "custom")?;
        let description = r.string_or("description", "")?;
        let reproduces = r.string_or("reproduces", "")?;
        let seed = r.u64_or("seed", 0)?;
        let task = choice::read(r.table("task")?, TASKS, "addition")?;
        let shape = task.shape();
        let model_table = r.table("model")?;
        // A kind that cannot take this task's data is the error to report, before its keys.
        if let Some(Value::String(kind)) = model_table.peek("kind")
            && MODELS.iter().any(|e| e.kind == kind)
            && !crate::model::kinds_for(&shape).contains(&kind.as_str())
        {
            return Err(crate::model::does_not_fit(kind, &shape));
        }
        let model = choice::read(model_table, MODELS, task.default_model())?;
        let built = model.build(&shape)?;
        task.check_student(built.dense_stack().as_ref())?;
        let loss = read_loss(r.table("loss")?, &*built)?;
        let mut optim = std::collections::BTreeMap::new();
        let groups = r.tables("optim")?;
        let named: Vec<String> = groups
            .iter()
            .filter(|(_, g)| g.peek("params").is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for (group, gr) in groups {
            // a group without `params` is most often a typo for an existing group (--set
            // optim.decoderr.lr=...): name the groups there are
            if gr.peek("params").is_none() && !named.is_empty() {
                return Err(ConfigError::Invalid {
                    key: format!("optim.{group}"),
                    value: format!("a group with no `params` ({})", gr.keys().join(", ")),
                    allowed: format!(
                        "an existing group: {}{}; a new group needs `optim.{group}.params` too \
                         (the parameter-name prefixes it covers)",
                        named.join(", "),
                        crate::reader::nearest(&group, &named)
                            .or_else(|| (named.len() == 1).then(|| named[0].clone()))
                            .map_or(String::new(), |n| format!(" (did you mean `{n}`?)"))
                    ),
                });
            }
            optim.insert(group, read_group(gr)?);
        }
        let train = read_train(r.table("train")?, task.n_train())?;
        for (group, g) in &optim {
            if g.schedule.warmup_steps > train.steps {
                return Err(ConfigError::Invalid {
                    key: format!("optim.{group}.warmup_steps"),
                    value: g.schedule.warmup_steps.to_string(),
                    allowed: format!("at most train.steps ({})", train.steps),
                });
            }
        }
        let eval = read_eval(r.table("eval")?)?;
        let phase = read_phase(r.table("phase")?)?;
        r.finish()?;
        let cfg = Config {
            name,
            description,
            reproduces,
            seed,
            task,
            model,
            loss,
            optim,
            train,
            eval,
            phase,
        };
        cfg.check_groups(&*built)?;
        Ok(cfg)
    }

    /// The resolved TOML of this config.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a validated config serialises to TOML")
    }

    /// This config with `key.path = value` overrides, read and validated again as a whole. Keys
    /// that are alternatives to each other give way to the one set: `task.n_train` replaces
    /// `task.lambda` and the other way round; and when a changed model's head no longer fits the
    /// loss, and no `loss` key is set, the head's default loss is taken.
    pub fn with(&self, sets: &[(&str, Value)]) -> Result<Config, ConfigError> {
        let mut table: Table =
            self.to_toml()
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    source: format!("the resolved config of {}", self.name),
                    message: e.to_string(),
                })?;
        const ALTERNATIVES: &[(&str, &str)] = &[("n_train", "lambda"), ("lambda", "n_train")];
        for (key, value) in sets {
            if let Some(task) = table.get_mut("task").and_then(Value::as_table_mut)
                && let Some((_, other)) = ALTERNATIVES
                    .iter()
                    .find(|(k, _)| key.strip_prefix("task.") == Some(*k))
            {
                task.remove(*other);
            }
            crate::reader::set(&mut table, key, value.clone())?;
        }
        match Config::from_table(table.clone()) {
            Err(ConfigError::Invalid { key, .. })
                if key == "loss.kind" && !sets.iter().any(|(k, _)| k.starts_with("loss")) =>
            {
                table.remove("loss");
                Config::from_table(table)
            }
            other => other,
        }
    }

    /// The model built for the task's shape (validated when the config was read).
    pub fn build_model(&self) -> Box<dyn Model> {
        self.model
            .build(&self.task.shape())
            .expect("the model was built against this shape when the config was read")
    }

    /// The dataset of this config's seed.
    pub fn dataset(&self) -> Dataset {
        let student = self.build_model().dense_stack();
        self.task.build(self.seed, student.as_ref())
    }

    /// Every parameter must fall in exactly one optimiser group, and every group must hold something.
    fn check_groups(&self, model: &dyn Model) -> Result<(), ConfigError> {
        let names: Vec<&str> = model.specs().iter().map(|s| s.name.as_str()).collect();
        if self.optim.is_empty() {
            return Err(ConfigError::Missing {
                key: "optim".into(),
                allowed: format!(
                    "at least one group such as [optim.all] with params = [\"*\"] (every parameter) or prefixes covering {}",
                    names.join(", ")
                ),
            });
        }
        for (group, g) in &self.optim {
            for prefix in &g.params {
                if !names.iter().any(|n| path_has_prefix(n, prefix)) {
                    return Err(ConfigError::Invalid {
                        key: format!("optim.{group}.params"),
                        value: format!("{prefix:?}"),
                        allowed: format!(
                            "prefixes of the model's parameters: {}",
                            names.join(", ")
                        ),
                    });
                }
            }
        }
        for n in &names {
            let owners: Vec<&str> = self
                .optim
                .iter()
                .filter(|(_, g)| g.params.iter().any(|p| path_has_prefix(n, p)))
                .map(|(k, _)| k.as_str())
                .collect();
            if owners.len() != 1 {
                let value = if owners.is_empty() {
                    "in no group".to_string()
                } else {
                    format!("in groups {}", owners.join(", "))
                };
                return Err(ConfigError::Invalid {
                    key: format!("optim.*.params (parameter {n})"),
                    value,
                    allowed: "exactly one group per parameter".into(),
                });
            }
        }
        Ok(())
    }

    /// The group that owns a parameter path.
    pub fn group_of(&self, param: &str) -> Option<&str> {
        self.optim
            .iter()
            .find(|(_, g)| g.params.iter().any(|p| path_has_prefix(param, p)))
            .map(|(k, _)| k.as_str())
    }

    /// The gradient of `group`'s L1 term per unit sign(w): `l1`, divided by the group's entries
    /// over `specs` for a mean.
    pub fn l1_per_entry(&self, group: &str, specs: &[crate::params::ParamSpec]) -> f64 {
        let g = &self.optim[group];
        match g.l1_reduction {
            L1Reduction::Sum => g.l1,
            L1Reduction::Mean => {
                let n: usize = specs
                    .iter()
                    .filter(|s| self.group_of(&s.name) == Some(group))
                    .map(|s| s.numel())
                    .sum();
                g.l1 / n.max(1) as f64
            }
        }
    }

    /// Optimiser steps per epoch, for epoch-based runs.
    pub fn steps_per_epoch(&self) -> Option<usize> {
        (self.train.epochs > 0).then(|| {
            let n = self.task.n_train();
            n.div_ceil(if self.train.batch_size == 0 {
                n
            } else {
                self.train.batch_size
            })
        })
    }

    /// The step budget for phase classification.
    pub fn budget(&self) -> usize {
        if self.phase.budget == 0 {
            self.train.steps
        } else {
            self.phase.budget.min(self.train.steps)
        }
    }
}

/// True when `prefix` equals `path` or is a whole-segment prefix of it (`decoder` of `decoder.0.W`);
/// `*` covers every parameter.
pub fn path_has_prefix(path: &str, prefix: &str) -> bool {
    prefix == "*"
        || path == prefix
        || (path.starts_with(prefix) && path[prefix.len()..].starts_with('.'))
}

fn read_loss(r: Reader, model: &dyn Model) -> Result<LossConfig, ConfigError> {
    let head = model.head();
    let loss = choice::read(r, LOSSES, default_kind(head))?;
    if !loss.fits(head) {
        let fit: Vec<String> = LOSSES
            .iter()
            .filter_map(|e| {
                let mut r = Reader::new("loss", Table::new());
                (e.read)(&mut r)
                    .ok()
                    .filter(|l| l.fits(head))
                    .map(|_| format!("{:?}", e.kind))
            })
            .collect();
        return Err(ConfigError::Invalid {
            key: "loss.kind".into(),
            value: format!("{:?}", crate::choice::Kind::kind(&*loss)),
            allowed: format!("a loss for the model's {head:?} head: {}", fit.join(", ")),
        });
    }
    Ok(loss)
}

fn read_group(mut r: Reader) -> Result<GroupConfig, ConfigError> {
    let params = r.string_list("params")?;
    let optimizer = match r
        .choice_or("optimizer", "adamw", &["sgd", "adam", "adamw"])?
        .as_str()
    {
        "sgd" => OptimizerKind::Sgd,
        "adam" => OptimizerKind::Adam,
        _ => OptimizerKind::Adamw,
    };
    let lr = r.f64_or("lr", 1e-3, |x| x > 0.0, POSITIVE)?;
    let betas_allowed = "an array of two numbers in [0, 1), such as [0.9, 0.999]";
    let betas = match r.raw("betas") {
        None => [0.9, 0.999],
        Some(v) => {
            let xs: Option<Vec<f64>> = v
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_float()).collect());
            match xs {
                Some(xs) if xs.len() == 2 && xs.iter().all(|b| (0.0..1.0).contains(b)) => {
                    [xs[0], xs[1]]
                }
                _ => return Err(r.invalid("betas", &v, betas_allowed)),
            }
        }
    };
    let eps = r.f64_or("eps", 1e-8, |x| x > 0.0, POSITIVE)?;
    let weight_decay = r.f64_or("weight_decay", 0.0, |x| x >= 0.0, NON_NEGATIVE)?;
    let momentum = r.f64_or(
        "momentum",
        0.0,
        |x| (0.0..1.0).contains(&x),
        "a number in [0, 1)",
    )?;
    let decay_per_output = r.bool_or("decay_per_output", false)?;
    let schedule = LrSchedule::read(&mut r, lr)?;
    let grokfast = crate::grad_filter::Grokfast::read(&mut r)?;
    let orthograd = r.bool_or("orthograd", false)?;
    let l1 = r.f64_or("l1", 0.0, |x| x >= 0.0, NON_NEGATIVE)?;
    let l1_reduction = match r
        .choice_or("l1_reduction", "mean", &["mean", "sum"])?
        .as_str()
    {
        "sum" => L1Reduction::Sum,
        _ => L1Reduction::Mean,
    };
    r.finish()?;
    Ok(GroupConfig {
        params,
        optimizer,
        lr,
        betas,
        eps,
        weight_decay,
        momentum,
        decay_per_output,
        schedule,
        grokfast,
        orthograd,
        l1,
        l1_reduction,
    })
}

fn read_train(mut r: Reader, n_train: usize) -> Result<TrainConfig, ConfigError> {
    let steps_given = r.peek("steps").cloned();
    let steps = r.usize_or("steps", 5000, 1, 100_000_000)?;
    let epochs = r.usize_or("epochs", 0, 0, 10_000_000)?;
    let batch_size = r.usize_or("batch_size", 0, 0, n_train)?;
    let steps = if epochs > 0 {
        let per_epoch = n_train.div_ceil(if batch_size == 0 { n_train } else { batch_size });
        let derived = epochs.saturating_mul(per_epoch);
        match steps_given {
            Some(v) if steps != derived => {
                return Err(r.invalid(
                    "steps",
                    &v,
                    format!(
                        "train.epochs ({epochs}) times the steps of an epoch ({per_epoch}) = {derived}, or no train.steps"
                    ),
                ));
            }
            _ if derived > 100_000_000 => {
                return Err(r.invalid(
                    "epochs",
                    &toml::Value::Integer(epochs as i64),
                    format!(
                        "at most {} epochs (10^8 steps) at this batch size",
                        100_000_000 / per_epoch
                    ),
                ));
            }
            _ => derived,
        }
    } else {
        steps
    };
    let dtype = match r.choice_or("dtype", "f32", &["f32", "f64"])?.as_str() {
        "f64" => Precision::F64,
        _ => Precision::F32,
    };
    let path = match r
        .choice_or("path", "auto", &["auto", "autodiff", "fused"])?
        .as_str()
    {
        "autodiff" => TrainPath::Autodiff,
        "fused" => TrainPath::Fused,
        _ => TrainPath::Auto,
    };
    let stop = read_stop(&mut r)?;
    let checkpoint_every = match r.peek("checkpoint_every") {
        None => None,
        Some(_) => Some(r.usize_or("checkpoint_every", 0, 0, usize::MAX)?),
    };
    r.finish()?;
    Ok(TrainConfig {
        steps,
        epochs,
        batch_size,
        dtype,
        path,
        stop,
        checkpoint_every,
    })
}

fn read_eval(mut r: Reader) -> Result<EvalConfig, ConfigError> {
    let log_points = r.usize_or("log_points", 60, 0, 100_000)?;
    let every = r.usize_or("every", 0, 0, usize::MAX)?;
    let every_epochs = r.usize_or("every_epochs", 0, 0, usize::MAX)?;
    let rqi_delta = r.f64_or(
        "rqi_delta",
        groklab_theory::addition::RQI_DELTA,
        |x| x > 0.0,
        POSITIVE,
    )?;
    let sparsity_every = r.usize_or("sparsity_every", 10, 1, usize::MAX)?;
    let attention_samples = r.usize_or("attention_samples", 0, 0, 100_000)?;
    r.finish()?;
    Ok(EvalConfig {
        log_points,
        every,
        every_epochs,
        rqi_delta,
        sparsity_every,
        attention_samples,
    })
}

fn read_phase(mut r: Reader) -> Result<PhaseConfig, ConfigError> {
    let acc_threshold = r.f64_or(
        "acc_threshold",
        0.9,
        |x| x > 0.0 && x <= 1.0,
        "a number in (0, 1]",
    )?;
    let gap = r.usize_or("gap", 1000, 0, usize::MAX)?;
    let budget = r.usize_or("budget", 0, 0, usize::MAX)?;
    r.finish()?;
    Ok(PhaseConfig {
        acc_threshold,
        gap,
        budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered kind's entry name is the kind its component reports.
    #[test]
    fn registries_agree_with_their_components() {
        for e in TASKS {
            let mut r = Reader::new("task", Table::new());
            assert_eq!(
                crate::choice::Kind::kind(&*(e.read)(&mut r).unwrap()),
                e.kind
            );
        }
        for e in MODELS {
            let mut r = Reader::new("model", Table::new());
            assert_eq!(
                crate::choice::Kind::kind(&*(e.read)(&mut r).unwrap()),
                e.kind
            );
        }
        for e in LOSSES {
            let mut r = Reader::new("loss", Table::new());
            assert_eq!(
                crate::choice::Kind::kind(&*(e.read)(&mut r).unwrap()),
                e.kind
            );
        }
    }

    #[test]
    fn overrides_revalidate_and_models_must_fit_the_task() {
        let c = crate::presets::load("liu2022-toy").unwrap();
        let d = c
            .with(&[("model.d_hidden", Value::Array(vec![Value::Integer(7)]))])
            .unwrap();
        let names: Vec<String> = d
            .build_model()
            .specs()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(names[1..3], ["decoder.0.W", "decoder.0.b"]);
        let e = c
            .with(&[("model.kind", Value::String("mlp".into()))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`model.kind`") && e.contains("\"toy\""), "{e}");
        let e = c
            .with(&[("loss.kind", Value::String("cross-entropy".into()))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`loss.kind`") && e.contains("\"mse\""), "{e}");
        let text = "[task]\nkind = \"teacher-student\"\n[model]\nkind = \"toy\"\n";
        let e = Config::from_toml(text, "test").unwrap_err().to_string();
        assert!(e.contains("`model.kind`") && e.contains("\"mlp\""), "{e}");
    }
}
