//! The one configuration schema: task, model, optimiser groups, training budget, evaluation schedule
//! and phase thresholds. A config comes from a preset or a file, then `key=value` overrides, and is
//! validated into these structs before any work starts. Serialising a [`Config`] gives TOML that
//! [`Config::from_toml`] reads back to the same value (the resolved `config.toml` of a run).

pub mod reader;

pub use crate::params::Precision;
use reader::{ConfigError, Reader};
use serde::Serialize;
use toml::{Table, Value};

/// A fully validated experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Short name (a preset's name, or whatever the user chose).
    pub name: String,
    /// One line saying what the experiment is.
    pub description: String,
    /// Fixes data split, initialisation and batch order.
    pub seed: u64,
    pub task: TaskConfig,
    pub model: ModelConfig,
    /// Optimiser parameter groups by name; every parameter belongs to exactly one.
    pub optim: std::collections::BTreeMap<String, GroupConfig>,
    pub train: TrainConfig,
    pub eval: EvalConfig,
    pub phase: PhaseConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskConfig {
    /// Non-modular addition of integers 0..p-1 over unordered pairs (Liu et al. 2022).
    Addition(AdditionTask),
    /// Gaussian inputs labelled by a random teacher network (Levi et al. 2023).
    TeacherStudent(TeacherStudentTask),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherStudentTask {
    pub d_in: usize,
    pub d_out: usize,
    /// Training samples, when given as a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_train: Option<usize>,
    /// lambda = d_in / n_train, when the training set is given that way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Fresh samples for the test (validation) split.
    pub n_test: usize,
    /// Standard deviation of Gaussian noise added to training labels.
    pub label_noise: f64,
    /// `linear` (a din x dout matrix) or `same` (the student's architecture, weights drawn like the
    /// student's at init scale 1).
    pub teacher: TeacherKind,
    /// A sample is correct when its mean-over-outputs squared error is below eps.
    pub eps: f64,
}

impl TeacherStudentTask {
    pub fn n_train(&self) -> usize {
        match (self.n_train, self.lambda) {
            (Some(n), _) => n,
            (None, Some(l)) => ((self.d_in as f64 / l).round() as usize).max(1),
            (None, None) => self.d_in,
        }
    }
    /// lambda = d_in / n_train as realised (after rounding n_train).
    pub fn realised_lambda(&self) -> f64 {
        self.d_in as f64 / self.n_train() as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    Linear,
    Same,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdditionTask {
    /// Integers 0..p-1; p (p + 1) / 2 unordered pairs, 2p - 1 classes.
    pub p: usize,
    /// Training-set size: an integer count or a fraction of all pairs.
    pub train: TrainSize,
}

/// A count (TOML integer) or a fraction in (0, 1] (TOML float).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TrainSize {
    Count(usize),
    Fraction(f64),
}

impl TrainSize {
    /// The number of training samples out of `total`; a fraction rounds to the nearest count.
    pub fn count(self, total: usize) -> usize {
        match self {
            TrainSize::Count(n) => n,
            TrainSize::Fraction(f) => ((f * total as f64).round() as usize).clamp(1, total),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// Learned embeddings summed into an MLP decoder: (a, b) -> Dec(E_a + E_b).
    Toy(ToyModel),
    /// A multilayer perceptron on dense inputs; with no hidden layer, a linear map.
    Mlp(MlpModel),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MlpModel {
    /// Hidden widths; empty for a linear student d_in -> d_out.
    pub d_hidden: Vec<usize>,
    pub act_fn: Activation,
    /// Whether layers have biases.
    pub bias: bool,
    pub init: Init,
    /// Multiplies the initial weights (alpha in Levi et al.).
    pub init_scale: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Weights N(0, 1 / (2 d_in d_out)) per layer (variance), as Levi et al.; biases zero.
    Levi,
    /// PyTorch's nn.Linear default: U(-1/sqrt(d_in), 1/sqrt(d_in)) for weights and biases.
    Pytorch,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToyModel {
    /// Embedding dimension d.
    pub d_embed: usize,
    /// Embeddings start uniform in [-s/2, s/2].
    pub init_scale: f64,
    /// Hidden widths of the decoder MLP.
    pub d_hidden: Vec<usize>,
    /// Hidden activation.
    pub act_fn: Activation,
    pub head: Head,
    /// Dimension of the random regression targets (regression head only).
    pub d_target: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Tanh,
    Relu,
    Identity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// MSE to fixed random target vectors; correct when the nearest target is the right class.
    Regression,
    /// Cross-entropy over the classes; correct when the argmax is the right class.
    Classification,
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// Samples per step; 0 means the full training set every step.
    pub batch_size: usize,
    /// Floating-point precision of parameters and computation.
    pub dtype: Precision,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalConfig {
    /// Number of log-spaced evaluation steps between 1 and `train.steps` (0 for none).
    pub log_points: usize,
    /// Also evaluate every this many steps (0 for none).
    pub every: usize,
    /// RQI tolerance on the mean squared parallelogram residual of standardised embeddings.
    pub rqi_delta: f64,
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
        let seed = r.u64_or("seed", 0)?;
        let task = read_task(r.table("task")?)?;
        let model = read_model(r.table("model")?, &task)?;
        let mut optim = std::collections::BTreeMap::new();
        for (group, gr) in r.tables("optim")? {
            optim.insert(group, read_group(gr)?);
        }
        let train = read_train(r.table("train")?, &task)?;
        let eval = read_eval(r.table("eval")?)?;
        let phase = read_phase(r.table("phase")?)?;
        r.finish()?;
        let cfg = Config {
            name,
            description,
            seed,
            task,
            model,
            optim,
            train,
            eval,
            phase,
        };
        cfg.check_groups()?;
        Ok(cfg)
    }

    /// The resolved TOML of this config.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a validated config serialises to TOML")
    }

    /// Every parameter must fall in exactly one optimiser group, and every group must hold something.
    fn check_groups(&self) -> Result<(), ConfigError> {
        let names = crate::model::param_names(&self.model, &self.task);
        if self.optim.is_empty() {
            return Err(ConfigError::Missing {
                key: "optim".into(),
                allowed: format!(
                    "at least one group such as [optim.all] with params covering {}",
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
            let owners: Vec<&String> = self
                .optim
                .iter()
                .filter(|(_, g)| g.params.iter().any(|p| path_has_prefix(n, p)))
                .map(|(k, _)| k)
                .collect();
            if owners.len() != 1 {
                let key = format!("optim.*.params (parameter {n})");
                let value = if owners.is_empty() {
                    "in no group".to_string()
                } else {
                    format!(
                        "in groups {}",
                        owners
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(ConfigError::Invalid {
                    key,
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

    /// The step budget for phase classification.
    pub fn budget(&self) -> usize {
        if self.phase.budget == 0 {
            self.train.steps
        } else {
            self.phase.budget.min(self.train.steps)
        }
    }
}

/// True when `prefix` equals `path` or is a whole-segment prefix of it (`decoder` of `decoder.0.W`).
pub fn path_has_prefix(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path[prefix.len()..].starts_with('.'))
}

fn read_task(mut r: Reader) -> Result<TaskConfig, ConfigError> {
    let kind = r.choice_or("kind", "addition", &["addition", "teacher-student"])?;
    let task = match kind.as_str() {
        "teacher-student" => {
            let d_in = r.usize_or("d_in", 1000, 1, 100_000)?;
            let d_out = r.usize_or("d_out", 1, 1, 100_000)?;
            let n_train = r.raw("n_train");
            let lambda = r.raw("lambda");
            let (n_train, lambda) = match (n_train, lambda) {
                (Some(_), Some(v)) => {
                    return Err(r.invalid(
                        "lambda",
                        &v,
                        "either task.n_train or task.lambda, not both",
                    ));
                }
                (Some(Value::Integer(n)), None) if (1..=10_000_000).contains(&n) => {
                    (Some(n as usize), None)
                }
                (Some(v), None) => {
                    return Err(r.invalid("n_train", &v, "an integer from 1 to 10000000"));
                }
                (None, Some(v)) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
                    Some(l) if l > 0.0 && l.is_finite() && d_in as f64 / l <= 1e7 => {
                        (None, Some(l))
                    }
                    _ => return Err(r.invalid("lambda", &v, "a number > 0 (d_in / n_train)")),
                },
                (None, None) => (None, Some(0.5)),
            };
            let n_test = r.usize_or("n_test", 10_000, 1, 10_000_000)?;
            let label_noise = r.f64_or("label_noise", 0.0, |x| x >= 0.0, NON_NEGATIVE)?;
            let teacher = match r
                .choice_or("teacher", "linear", &["linear", "same"])?
                .as_str()
            {
                "same" => TeacherKind::Same,
                _ => TeacherKind::Linear,
            };
            let eps = r.f64_or("eps", 1e-3, |x| x > 0.0, POSITIVE)?;
            TaskConfig::TeacherStudent(TeacherStudentTask {
                d_in,
                d_out,
                n_train,
                lambda,
                n_test,
                label_noise,
                teacher,
                eps,
            })
        }
        "addition" => {
            let p = r.usize_or("p", 10, 2, 1000)?;
            let total = crate::task::addition_pairs(p);
            let train = read_train_size(&mut r, "train", total, TrainSize::Count(total * 9 / 11))?;
            TaskConfig::Addition(AdditionTask { p, train })
        }
        other => unreachable!("choice_or admitted task kind {other}"),
    };
    r.finish()?;
    Ok(task)
}

fn read_train_size(
    r: &mut Reader,
    key: &'static str,
    total: usize,
    default: TrainSize,
) -> Result<TrainSize, ConfigError> {
    let allowed =
        format!("an integer count from 1 to {total}, or a fraction in (0, 1] such as 0.8");
    match r.raw(key) {
        None => Ok(default),
        Some(Value::Integer(n)) if n >= 1 && n as usize <= total => {
            Ok(TrainSize::Count(n as usize))
        }
        Some(Value::Float(f)) if f > 0.0 && f <= 1.0 => Ok(TrainSize::Fraction(f)),
        Some(v) => Err(r.invalid(key, &v, allowed)),
    }
}

fn read_model(mut r: Reader, task: &TaskConfig) -> Result<ModelConfig, ConfigError> {
    let (default, fits) = match task {
        TaskConfig::Addition(_) => ("toy", "toy"),
        TaskConfig::TeacherStudent(_) => ("mlp", "mlp"),
    };
    let kind = r.choice_or("kind", default, &["toy", "mlp"])?;
    if kind != fits {
        let task_kind = match task {
            TaskConfig::Addition(_) => "addition",
            TaskConfig::TeacherStudent(_) => "teacher-student",
        };
        return Err(r.invalid(
            "kind",
            &Value::String(kind),
            format!("\"{fits}\" for task.kind = \"{task_kind}\""),
        ));
    }
    let model = match kind.as_str() {
        "mlp" => {
            let d_hidden = r.usize_list_or("d_hidden", &[], 1)?;
            let act_fn = read_activation(&mut r, "identity")?;
            let bias = r.bool_or("bias", false)?;
            let init = match r.choice_or("init", "levi", &["levi", "pytorch"])?.as_str() {
                "pytorch" => Init::Pytorch,
                _ => Init::Levi,
            };
            let init_scale = r.f64_or("init_scale", 1.0, |x| x >= 0.0, NON_NEGATIVE)?;
            ModelConfig::Mlp(MlpModel {
                d_hidden,
                act_fn,
                bias,
                init,
                init_scale,
            })
        }
        "toy" => {
            let d_embed = r.usize_or("d_embed", 1, 1, 4096)?;
            let init_scale = r.f64_or("init_scale", 1.0, |x| x >= 0.0, NON_NEGATIVE)?;
            let d_hidden = r.usize_list_or("d_hidden", &[200, 200], 1)?;
            let act_fn = read_activation(&mut r, "tanh")?;
            let head = match r
                .choice_or("head", "regression", &["regression", "classification"])?
                .as_str()
            {
                "classification" => Head::Classification,
                _ => Head::Regression,
            };
            let d_target = r.usize_or("d_target", 30, 1, 4096)?;
            ModelConfig::Toy(ToyModel {
                d_embed,
                init_scale,
                d_hidden,
                act_fn,
                head,
                d_target,
            })
        }
        other => unreachable!("choice_or admitted model kind {other}"),
    };
    r.finish()?;
    Ok(model)
}

fn read_activation(r: &mut Reader, default: &str) -> Result<Activation, ConfigError> {
    Ok(
        match r
            .choice_or("act_fn", default, &["tanh", "relu", "identity"])?
            .as_str()
        {
            "relu" => Activation::Relu,
            "identity" => Activation::Identity,
            _ => Activation::Tanh,
        },
    )
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
    })
}

fn read_train(mut r: Reader, task: &TaskConfig) -> Result<TrainConfig, ConfigError> {
    let steps = r.usize_or("steps", 5000, 1, 100_000_000)?;
    let n_train = match task {
        TaskConfig::Addition(t) => t.train.count(crate::task::addition_pairs(t.p)),
        TaskConfig::TeacherStudent(t) => t.n_train(),
    };
    let batch_size = r.usize_or("batch_size", 0, 0, n_train)?;
    let dtype = match r.choice_or("dtype", "f32", &["f32", "f64"])?.as_str() {
        "f64" => Precision::F64,
        _ => Precision::F32,
    };
    r.finish()?;
    Ok(TrainConfig {
        steps,
        batch_size,
        dtype,
    })
}

fn read_eval(mut r: Reader) -> Result<EvalConfig, ConfigError> {
    let log_points = r.usize_or("log_points", 60, 0, 100_000)?;
    let every = r.usize_or("every", 0, 0, usize::MAX)?;
    let rqi_delta = r.f64_or(
        "rqi_delta",
        groklab_theory::addition::RQI_DELTA,
        |x| x > 0.0,
        POSITIVE,
    )?;
    r.finish()?;
    Ok(EvalConfig {
        log_points,
        every,
        rqi_delta,
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
