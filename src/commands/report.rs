//! `groklab report DIR`: redraw the plots of a run or sweep directory from its CSV files and write
//! its `index.html`.

use super::CliError;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A run directory (holding metrics.csv) or a sweep directory (holding sweep.json).
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let (written, page) = if a.dir.join("sweep.json").is_file() {
        (
            groklab_report::sweep::draw_sweep(&a.dir).map_err(CliError::Work)?,
            groklab_report::html::sweep_page(&a.dir).map_err(CliError::Work)?,
        )
    } else if a.dir.join("metrics.csv").is_file() {
        (
            groklab_report::run::draw_run(&a.dir).map_err(CliError::Work)?,
            groklab_report::html::run_page(&a.dir).map_err(CliError::Work)?,
        )
    } else {
        return Err(CliError::Input(format!(
            "{} is neither a run directory (no metrics.csv) nor a sweep directory (no sweep.json)",
            a.dir.display()
        )));
    };
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    eprintln!("wrote {}", page.display());
    Ok(())
}
