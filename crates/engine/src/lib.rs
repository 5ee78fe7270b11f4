//! The training engine of groklab: configs and presets, tasks, models, losses, the one training
//! loop, probes, phase classification and run directories.
//!
//! Data flow: [`config::Config`] (its task, model and loss chosen by kind from the registries
//! [`task::TASKS`], [`model::MODELS`], [`loss::LOSSES`]) -> the task's [`shape::IoShape`] -> the
//! model built for that shape, the task's dataset and the member's [`head::Encoding`] ->
//! [`train::Trainer`] (setup, step, evaluate; [`optim`] at [`schedule`]d learning rates, each
//! member's [`probe`]s from [`probe::PROBES`]) -> [`run`] (files) and [`phase`] (classification).
//!
//! Modules depend one way: `reader`, `files`, `seed`, `ops`, `init`, `shape`, `params`, `schedule`
//! and `choice` are leaves; `task` builds on them; `head` reads a task's splits; `loss` and `model`
//! build on `head`; `host` (matrix products, bias, layer norm, activations on host memory) is a leaf
//! the models' kernels build on, each kernel beside its model (`model/stack.rs`,
//! `model/transformer/kernel/`); `batch` stacks data for models; `config` ties task, model and loss
//! together; `probe`, `memory`, `train` (the one loop; `train/fused.rs` steps an ensemble through a
//! model's kernel) and `run` come last, in that order.

pub mod batch;
pub mod choice;
pub mod config;
pub mod dropout;
pub mod error;
pub mod files;
pub mod grad_filter;
pub mod head;
pub mod host;
pub mod init;
pub mod live;
pub mod loss;
pub mod memory;
pub mod model;
pub mod ops;
pub mod optim;
pub mod params;
pub mod phase;
pub mod presets;
pub mod probe;
pub mod provenance;
pub mod reader;
pub mod real;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod shape;
pub mod snapshot;
pub mod task;
pub mod train;

pub use config::Config;
pub use error::EngineError;
pub use reader::ConfigError;
