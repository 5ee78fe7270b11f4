//! Sweeps: axes over any config keys and seeds expanded into runs ([`definition`]), trained as
//! batched ensembles on all cores ([`exec`]), saved run by run so that an interrupted sweep resumes
//! where it stopped ([`dir`]), sharded over Slurm job arrays ([`slurm`]), summarised in
//! `sweep.csv` with theory beside the results ([`theory`]) and drawn as phase diagrams (the report
//! crate).

pub mod definition;
pub mod dir;
pub mod error;
pub mod exec;
pub mod presets;
pub mod slurm;
pub mod theory;

pub use definition::{Axis, RunSpec, Sweep};
pub use dir::SweepDir;
pub use error::SweepError;

/// A sweep with its runs expanded and validated, and its theory columns computed.
pub struct Prepared {
    pub sweep: Sweep,
    pub runs: Vec<RunSpec>,
    pub theory: theory::TheoryColumns,
}

/// Expands and validates every run (before anything runs) and computes the theory columns.
pub fn prepare(sweep: Sweep) -> Result<Prepared, SweepError> {
    let runs = sweep.expand()?;
    let theory = theory::columns(sweep.theory.as_deref(), &runs);
    Ok(Prepared {
        sweep,
        runs,
        theory,
    })
}
