//! `groklab report DIR`: redraw a run's plots from its CSV files.

use super::CliError;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A run directory (holding metrics.csv).
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<(), CliError> {
    if !a.dir.join("metrics.csv").exists() {
        return Err(CliError::Input(format!(
            "{} is not a run directory (no metrics.csv)",
            a.dir.display()
        )));
    }
    let written = groklab_report::run::draw_run(&a.dir).map_err(CliError::Work)?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
