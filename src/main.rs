//! `groklab`: one binary over the engine, theory and report crates. Human output goes to stderr,
//! machine output (`--json`) to stdout. Exit codes: 0 success, 1 a failure while working (I/O),
//! 2 bad input (usage, config, unknown preset), with nothing written.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "groklab",
    version,
    about = "A laboratory for grokking: train the models of the grokking papers, compute their theories, draw the results"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one experiment: `groklab train FILE.toml` or `groklab train preset NAME`.
    Train(commands::train::Args),
    /// List the embedded presets, or print one as TOML (`groklab presets show NAME`).
    Presets(commands::presets::Args),
    /// Theory without training: the effective theory of addition, grokking in linear estimators.
    #[command(subcommand)]
    Theory(commands::theory::Theory),
    /// Run a sweep (a phase diagram): `groklab sweep preset NAME`, `resume DIR`, `merge DIR`,
    /// `show NAME`, `slurm ...`.
    Sweep(commands::sweep::Args),
    /// Train the default toy study, run its theory and print a short summary.
    Quickstart(commands::quickstart::Args),
    /// Redraw the plots of a run or sweep directory from its CSV files and write its index.html.
    Report(commands::report::Args),
    /// Reproduce the figures of a paper: simulations beside theory, as CSV and SVG.
    #[command(subcommand)]
    Repro(commands::repro::Repro),
    /// Runs side by side: one metric of every run overlaid in one SVG, their summaries in a table.
    Compare(commands::compare::Args),
}

fn main() -> ExitCode {
    // the commit the binary was built from, for provenance (build.rs; empty outside a checkout)
    groklab_engine::provenance::set_commit(env!("GROKLAB_GIT_COMMIT"));
    // `groklab ... --json | head`: a reader that closed the pipe ends the output, not in a panic
    // (ripgrep's manners); every other panic keeps the default report
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .payload_as_str()
            .is_some_and(|m| m.contains("failed printing to stdout") && m.contains("Broken pipe"))
        {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train::run(a),
        Command::Presets(a) => commands::presets::run(a),
        Command::Theory(t) => commands::theory::run(t),
        Command::Sweep(a) => commands::sweep::run(a),
        Command::Quickstart(a) => commands::quickstart::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Repro(r) => commands::repro::run(r),
        Command::Compare(a) => commands::compare::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ commands::CliError::Interrupted { .. }) => {
            eprintln!("groklab: {e}");
            ExitCode::from(e.code())
        }
        Err(e) => {
            eprintln!("groklab: error: {e}");
            ExitCode::from(e.code())
        }
    }
}
