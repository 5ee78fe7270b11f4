//! `groklab repro levi2023` and `groklab repro merrill2023`: the figures of a paper, simulation
//! beside theory. Each figure is one
//! long-format CSV (`panel,series,source,x,y,...`, source `sim` or `theory`) and one SVG per panel,
//! written atomically into the output directory once every simulation has finished.
//!
//! Flags are validated before any work starts (bad input exits with code 2 and writes nothing).
//! Simulations run on two worker threads, the longest first, with one progress line per finished
//! run on stderr; `--json` prints a summary object to stdout.

mod figure;
mod grokfast;
mod levi2023;
mod liu2022;
mod merrill2023;
mod nanda2023;
mod power2022;
mod prieto2025;
mod sim;
mod work;

use super::CliError;
use levi2023::{DtPoint, FigureOut, Levi2023, Mode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Worker threads for simulations (this machine has two cores).
const THREADS: usize = 2;
/// Largest `--seeds`.
const MAX_SEEDS: u64 = 100;

#[derive(clap::Subcommand)]
pub enum Repro {
    /// Figures 1-5 of Levi, Beck, Bar-Sinai 2023, "Grokking in linear estimators" (arXiv 2310.16441).
    ///
    /// Writes DIR/figN.csv (long format: panel,series,source,x,y,y_std,y_min,y_max,n,d_in; source
    /// is `sim` or `theory`; simulated values are means over seeds, with their spread) and
    /// DIR/figN-<panel>.svg: F1 losses and accuracies for lambda in {0.1, 0.9, 1.5} and delta_t
    /// against lambda for several eps; F2 accuracies for dout in {1, 50, 700} and delta_t against
    /// dout; F3 weight decay gamma in {1e-5, 1e-3, 1e-2} and delta_t against gamma; F4 theory
    /// phase diagrams of delta_t over (gamma, dout), (gamma, lambda), (dout, lambda); F5 deeper
    /// din-dh-5 students (identity and tanh) beside the two-layer linear theory. Simulated test
    /// losses are ||S - T||^2 / dout (the expected loss on fresh inputs); simulated test
    /// accuracies are measured on a fresh test set; grokking times are where the accuracy first
    /// reaches 0.95, interpolated between evaluations.
    ///
    /// The full run (5 seeds, d_in = 1000 as the paper and the presets, dout = 700 and dh = 200
    /// included) takes about two hours on two cores (most of it dout = 700 and dout = 50); --quick takes about a minute.
    Levi2023(Levi2023Args),
    /// The sparse-parity study of Merrill, Tsilivis, Shukla 2023, "A tale of two circuits"
    /// (arXiv 2303.11873): every seed of a preset, then per seed accuracy and loss beside the
    /// effective sparsity, the mean norms and the faithfulness of the generalising subnetwork, its
    /// complement and a random control, the largest-norm neuron at memorisation and at the end,
    /// every neuron's norm over time; sizes.csv and index.html.
    Merrill2023(merrill2023::Args),
    /// Grokfast (Lee et al. 2024): the authors' baseline (no weight decay), Grokfast-MA and -EMA,
    /// and a baseline with MA's weight decay; steps to 95% validation accuracy and the speed-ups
    /// beside the authors' README table in comparison.csv, every run overlaid, index.html.
    Grokfast(grokfast::Args),
    /// Liu et al. 2022, "Towards understanding grokking: an effective theory of representation
    /// learning" (arXiv 2205.10343), beside the results the authors published with their code:
    /// the toy's representation, RQI and Acc_hat over training; Acc_hat and RQI against the
    /// training-set size beside P(nullity = 2); the three toy phase diagrams and the S3 one on
    /// the authors' grids, every cell beside the authors' phase; the transformer's effective
    /// dimension and its phase plot (a subset; the authors' 285 runs with --transformer-grid).
    /// comparison.csv and index.html, the comparison first.
    Liu2022(liu2022::Args),
    /// Prieto, Barsbey, Mediano, Birdal 2025, "Grokking at the edge of numerical stability"
    /// (arXiv 2501.04697) in the authors' settings: fig. 1 (⊥AdamW, StableMax, softmax
    /// cross-entropy without regularisation) and fig. 2 (softmax in float32 and float64 at 40, 60
    /// and 70% of the data), test accuracies beside the authors' curves in comparison.csv.
    Prieto2025(prieto2025::Args),
    /// Power, Burda, Edwards, Babuschkin, Misra 2022, "Grokking: generalization beyond
    /// overfitting on small algorithmic datasets" (arXiv 2201.02177) in the authors' setting:
    /// x / y mod 97 at 50% with weight decay 1 ("most experiments") and fig. 1's run without
    /// weight decay (10^6 steps; --quick runs a prefix), and in the full pass steps to 99%
    /// validation accuracy against the training fraction for four operations.
    Power2022(power2022::Args),
    /// Nanda, Chan, Lieberum, Smith, Steinhardt 2023, "Progress measures for grokking via
    /// mechanistic interpretability" (arXiv 2301.05217), the mainline run: key frequencies,
    /// restricted and excluded loss, the Gini coefficient of the Fourier embedding, the weight
    /// norm and the three phases beside the paper's.
    Nanda2023(nanda2023::Args),
}

#[derive(clap::Args)]
pub struct Levi2023Args {
    /// Output directory (created if missing; existing figure files are replaced).
    #[arg(long, value_name = "DIR", default_value = "runs/repro-levi2023")]
    out: PathBuf,
    /// A fast pass (about a minute on two cores): 2 seeds, d_in = 200 instead of 1000 (the
    /// theory depends on lambda = d_in / N_train, not on d_in), no dout = 700 or dh = 200
    /// simulations, capped budgets, coarser phase diagrams.
    #[arg(long)]
    quick: bool,
    /// Seeds per simulated point, from 1 to 100 [default: 5, or 2 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_SEEDS))]
    seeds: Option<u64>,
    /// Print a JSON summary to stdout: per figure the files written and the simulated and
    /// theoretical grokking times.
    #[arg(long)]
    json: bool,
    /// Test-only: a tiny, seconds-long pass (d_in = 40, at most 1500 steps).
    #[arg(long, hide = true, conflicts_with = "quick")]
    smoke: bool,
}

/// `--out DIR` (new or empty), or a new `runs/NAME[-N]`.
fn out_dir(out: &Option<PathBuf>, name: &str) -> groklab_engine::run::OutDir {
    match out {
        Some(p) => groklab_engine::run::OutDir::Exact {
            path: p.clone(),
            overwrite: false,
        },
        None => groklab_engine::run::OutDir::Fresh {
            root: PathBuf::from("runs"),
            name: name.into(),
        },
    }
}

pub fn run(r: Repro) -> Result<(), CliError> {
    match r {
        Repro::Levi2023(a) => run_levi2023(a),
        Repro::Merrill2023(a) => merrill2023::run(a),
        Repro::Grokfast(a) => grokfast::run(a),
        Repro::Liu2022(a) => liu2022::run(a),
        Repro::Prieto2025(a) => prieto2025::run(a),
        Repro::Power2022(a) => power2022::run(a),
        Repro::Nanda2023(a) => nanda2023::run(a),
    }
}

fn check_out(dir: &Path) -> Result<(), CliError> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::Input(format!(
            "invalid value for `--out`: {} exists and is not a directory; allowed: a directory \
             (created if missing)",
            dir.display()
        )));
    }
    Ok(())
}

fn run_levi2023(a: Levi2023Args) -> Result<(), CliError> {
    check_out(&a.out)?;
    let seeds = a.seeds.map(|s| s as usize);
    let mode = if a.smoke {
        Mode::smoke(seeds)
    } else if a.quick {
        Mode::quick(seeds)
    } else {
        Mode::full(seeds)
    };
    let started = Instant::now();
    let mut plan = sim::Plan::default();
    let figs = Levi2023::plan(&mode, &mut plan)?;
    eprintln!(
        "repro levi2023 ({} mode): {} simulations x {} seeds on {THREADS} threads, d_in = {} for \
         every simulation{}; output {}",
        mode.name,
        plan.len(),
        mode.seeds,
        mode.d_in,
        if mode.d_in == 1000 {
            " (as the paper)".to_string()
        } else {
            " instead of the paper's 1000 (the theory depends on lambda = d_in / N_train, \
             not on d_in; finite-size effects are larger)"
                .to_string()
        },
        a.out.display()
    );
    if !mode.heavy {
        eprintln!(
            "  skipped simulations: dout = 700 (F2) and dh = 200 (F5); theory only where it applies"
        );
    }
    // Created before the simulations so that an unwritable DIR fails now, not hours later.
    std::fs::create_dir_all(&a.out).map_err(super::io_err("cannot create directory", &a.out))?;
    let sims = sim::run(&plan, mode.seeds, THREADS)?;
    let outs = figs.build(&sims)?;
    warn_non_finite(&outs);

    let mut written: Vec<Vec<PathBuf>> = Vec::new();
    for o in &outs {
        let paths = o.figure.write(&a.out)?;
        for p in &paths {
            eprintln!("wrote {}", p.display());
        }
        written.push(paths);
    }
    let command = format!(
        "groklab repro levi2023{}",
        if a.smoke {
            " --smoke"
        } else if a.quick {
            " --quick"
        } else {
            ""
        }
    );
    let rows = levi2023::comparison::write(&a.out, &outs, &written, &command)?;
    eprintln!(
        "wrote {} and {} ({} rows: {})",
        a.out.join("comparison.csv").display(),
        a.out.join("index.html").display(),
        rows.len(),
        ["reproduced", "close", "differs", "not run"]
            .iter()
            .map(|v| format!(
                "{} {v}",
                rows.iter().filter(|r| r.verdict().as_str() == *v).count()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wall = started.elapsed().as_secs_f64();
    print_table(&outs);
    eprintln!(
        "done in {wall:.1} s ({} runs of {} simulations)",
        plan.len() * mode.seeds,
        plan.len()
    );
    if a.json {
        let v = summary_json(&mode, &a.out, &outs, &written, plan.len(), wall);
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

fn summary_json(
    mode: &Mode,
    dir: &Path,
    outs: &[FigureOut],
    written: &[Vec<PathBuf>],
    simulations: usize,
    wall: f64,
) -> Value {
    let mut figures = serde_json::Map::new();
    for (o, paths) in outs.iter().zip(written) {
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let points: Vec<Value> = o.points.iter().map(DtPoint::json).collect();
        figures.insert(
            o.figure.name.clone(),
            json!({
                "csv": files[0],
                "svg": files[1..],
                "files": files,
                "delta_t": points,
            }),
        );
    }
    json!({
        "paper": "levi2023",
        "title": "Grokking in linear estimators (Levi, Beck, Bar-Sinai 2023, arXiv 2310.16441)",
        "mode": mode.name,
        "seeds": mode.seeds,
        "d_in": mode.d_in,
        "d_in_note": if mode.d_in == 1000 {
            "simulations use d_in = 1000, as the paper".to_string()
        } else {
            format!(
                "simulations use d_in = {} instead of the paper's 1000; the theory depends on \
                 lambda = d_in / N_train only (lambda_realised is the simulated value)",
                mode.d_in
            )
        },
        "skipped": if mode.heavy { vec![] } else { vec!["dout=700 simulations", "dh=200 simulations"] },
        "threads": THREADS,
        "simulations": simulations,
        "runs": simulations * mode.seeds,
        "out": dir.display().to_string(),
        "wall_seconds": wall,
        "figures": figures,
    })
}

/// Says where a curve holds NaN or infinite values (written as empty CSV fields, not drawn).
fn warn_non_finite(outs: &[FigureOut]) {
    for o in outs {
        for panel in &o.figure.panels {
            let figure::Panel::Line(p) = panel else {
                continue;
            };
            for c in &p.curves {
                let bad = c
                    .points
                    .iter()
                    .filter(|pt| pt.y.is_some_and(|y| !y.is_finite()))
                    .count();
                if bad > 0 {
                    eprintln!(
                        "warning: {}-{}: {} of {} points of {} ({}) are not finite; left empty",
                        o.figure.name,
                        p.name,
                        bad,
                        c.points.len(),
                        c.series,
                        c.source.as_str()
                    );
                }
            }
        }
    }
}

/// A number of steps, or `never`.
fn steps(v: Option<f64>) -> String {
    v.map_or("never".into(), |v| format!("{v:.0}"))
}

fn print_table(outs: &[FigureOut]) {
    for o in outs.iter().filter(|o| !o.points.is_empty()) {
        eprintln!(
            "{}: grokking times, simulation (mean ± std over seeds that reached both levels, \
             [min, max]) vs theory",
            o.figure.name
        );
        eprintln!(
            "  {:<14} {:<12} {:>8} {:>8} {:>9} {:>24} {:>9} {:>9} {:>9} {:>6}",
            "panel",
            "series",
            "param",
            "lambda",
            "sim t_tr",
            "sim delta_t",
            "reached",
            "th t_tr",
            "th dt",
            "ratio"
        );
        for p in &o.points {
            let sim_dt = p.sim.delta_t.map_or("never".into(), |s| {
                format!("{:.0} ± {:.0} [{:.0}, {:.0}]", s.mean, s.std, s.min, s.max)
            });
            let (th_tt, _) = p.theory.unwrap_or((None, None));
            let th_dt = match p.theory {
                None => "-".into(),
                Some(_) => steps(p.theory_dt()),
            };
            let ratio = match (p.sim.delta_t, p.theory_dt()) {
                (Some(s), Some(t)) if t > 0.0 => format!("{:.2}", s.mean / t),
                _ => "-".into(),
            };
            eprintln!(
                "  {:<14} {:<12} {:>8} {:>8.4} {:>9} {:>24} {:>9} {:>9} {:>9} {:>6}",
                p.panel,
                p.series,
                format!(
                    "{}={}",
                    p.param,
                    if p.param == "gamma" {
                        figure::sci(p.value)
                    } else {
                        figure::short(p.value)
                    }
                ),
                p.lambda,
                steps(p.sim.t_train.map(|s| s.mean)),
                sim_dt,
                format!("{}/{}", p.sim.delta_t.map_or(0, |s| s.n), p.sim.seeds),
                match p.theory {
                    None => "-".into(),
                    Some(_) => steps(th_tt),
                },
                th_dt,
                ratio
            );
        }
    }
}
