//! Sweeps: axes over any config keys and seeds expanded into runs ([`definition`]), trained as
//! batched ensembles on all cores, saved run by run so that an interrupted sweep resumes where it
//! stopped, sharded over Slurm job arrays, summarised in `sweep.csv` and drawn as phase diagrams.

pub mod definition;
pub mod error;

pub use definition::{Axis, RunSpec, Sweep};
pub use error::SweepError;
