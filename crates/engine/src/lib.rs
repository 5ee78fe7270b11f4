//! The training engine of groklab: configs and presets, tasks, models, the one training loop,
//! probes, phase classification and run directories.
//!
//! Data flow: [`config::Config`] -> [`task::build`] (datasets) and [`model::build`] (parameter specs
//! and forward pass) -> [`train::train`] (the loop, with [`optim`] and [`probe`]s at
//! [`schedule`]d evaluation steps) -> [`run`] (files) and [`phase`] (classification).

pub mod config;
pub mod files;
pub mod model;
pub mod ops;
pub mod optim;
pub mod params;
pub mod phase;
pub mod presets;
pub mod probe;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod task;
pub mod train;

pub use config::Config;
pub use config::reader::ConfigError;
