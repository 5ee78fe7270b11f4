//! What every `groklab repro PAPER` built on presets shares: its directory (new, or the same
//! reproduction continued), the runs and sweeps it trains there (finished ones read back, stopped
//! ones resumed from their saved state), the signals that stop it with its state saved, and its
//! page with the published numbers first.
//!
//! A reproduction is resumable as a whole: `groklab repro PAPER [--quick] --out DIR` on a directory
//! holding the same reproduction (its `repro.json`) trains only what is missing. The same reading
//! of finished runs lets a test plant a fabricated `summary.json` and check the verdicts.

use crate::commands::CliError;
use groklab_engine::Config;
use groklab_engine::live::Status;
use groklab_engine::run::{OutDir, Summary, claim, execute, read_summary, resume, unfinished};
use groklab_engine::train::TrainOptions;
use groklab_report::comparison::{Comparison, Value, html_table, write_csv};
use groklab_sweep::exec::Options;
use groklab_sweep::{Sweep, SweepDir, exec, prepare};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The file naming the reproduction a directory holds.
const MARKER: &str = "repro.json";

pub struct Work {
    pub dir: PathBuf,
    /// `repro PAPER [--quick]`: what the directory holds, and (with `--out DIR`) continues it.
    what: String,
    interrupt: Arc<AtomicUsize>,
    started: Instant,
}

/// A figure on the page: SVGs (relative to the reproduction's directory) and what they show.
pub struct Figure {
    pub title: String,
    /// The paper's figure it corresponds to ("fig. 6 (left)"), shown under it.
    pub paper_figure: String,
    pub images: Vec<String>,
    /// HTML: what to read in it, and where it departs from the paper.
    pub note: String,
}

impl Work {
    /// Opens `--out DIR` (new, empty, or holding this same reproduction, which is continued), or
    /// a new `runs/repro-NAME[-N]`. Signals from here on stop the work with its state saved.
    /// `mode` is the flags that change what runs (`--quick`), part of what the directory holds.
    pub fn open(out: &Option<PathBuf>, name: &str, mode: &str) -> Result<Work, CliError> {
        let what = format!(
            "repro {name}{}{mode}",
            if mode.is_empty() { "" } else { " " }
        );
        let dir = match out {
            Some(d) if d.join(MARKER).is_file() => {
                let held = std::fs::read_to_string(d.join(MARKER))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["what"].as_str().map(String::from))
                    .unwrap_or_default();
                if held != what {
                    return Err(CliError::Input(format!(
                        "invalid value for `--out`: {} holds `groklab {held}`, not `groklab \
                         {what}`; allowed: a new or empty directory, or one holding the same \
                         reproduction (continued)",
                        d.display()
                    )));
                }
                eprintln!("continuing `groklab {what}` in {}", d.display());
                d.clone()
            }
            _ => {
                let dir = claim(&super::out_dir(out, &format!("repro-{name}")))?.commit()?;
                let marker = json!({
                    "what": what,
                    "started": groklab_engine::provenance::now(),
                    "version": env!("CARGO_PKG_VERSION"),
                });
                super::super::write_atomic(&dir.join(MARKER), marker.to_string().as_bytes())?;
                dir
            }
        };
        Ok(Work {
            dir,
            what,
            interrupt: super::super::train::catch_signals()?,
            started: Instant::now(),
        })
    }

    /// The command that makes (and continues) this reproduction.
    pub fn command(&self) -> String {
        format!("groklab {}", self.what)
    }

    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Trains `config` into `runs/NAME` and returns its summary: read back when the run finished
    /// earlier, continued from its saved state when it stopped, trained otherwise.
    pub fn train(&self, name: &str, config: &Config) -> Result<Summary, CliError> {
        let dir = self.dir.join("runs").join(name);
        let opts = TrainOptions {
            progress: true,
            interrupt: Some(Arc::clone(&self.interrupt)),
            ..Default::default()
        };
        let finished = dir.join("summary.json").is_file() && unfinished(&dir).is_none();
        if !finished {
            let stopped =
                unfinished(&dir).is_some() && dir.join(groklab_engine::live::STATE).is_file();
            let summary = if stopped {
                eprintln!("  {name}: continuing from its saved state");
                resume(&dir, &opts)?.0
            } else {
                // a run killed before its first saved state starts again
                let out = OutDir::Exact {
                    path: dir.clone(),
                    overwrite: dir.exists(),
                };
                execute(config, &out, &opts)?.0
            };
            if summary.status == Status::Interrupted {
                return Err(self.interrupted());
            }
        }
        Ok(read_summary(&dir)?)
    }

    /// Runs `sweep` into `sweeps/NAME` on `jobs` workers (None: one per core), continuing it
    /// when it is there; draws its diagrams and page, and returns its directory.
    pub fn sweep(
        &self,
        name: &str,
        sweep: Sweep,
        jobs: Option<usize>,
    ) -> Result<PathBuf, CliError> {
        let path = self.dir.join("sweeps").join(name);
        let prepared = prepare(sweep)?;
        let dir = SweepDir::open(&path, &prepared)?;
        let opts = Options {
            jobs: jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            chunk: None,
            shard: None,
            progress: true,
            interrupt: Some(Arc::clone(&self.interrupt)),
            done: None,
        };
        eprintln!(
            "  sweep {name}: {} runs ({})",
            prepared.runs.len(),
            prepared.sweep.description
        );
        let outcome = exec::run(&dir, &prepared, &opts)?;
        if outcome.interrupted_by.is_some() {
            return Err(self.interrupted());
        }
        dir.rebuild_table(&prepared)?;
        groklab_report::sweep::draw_sweep(&path).map_err(CliError::Work)?;
        groklab_report::html::sweep_page(&path).map_err(CliError::Work)?;
        Ok(path)
    }

    fn interrupted(&self) -> CliError {
        let sig = self.interrupt.load(Ordering::Relaxed);
        CliError::Interrupted {
            message: format!(
                "interrupted by {}: every run in training saved its state; continue with: {} --out {}",
                if sig == 15 { "SIGTERM" } else { "SIGINT" },
                self.command(),
                self.dir.display()
            ),
            code: 128 + if sig == 15 { 15 } else { 2 },
        }
    }

    /// Writes `comparison.csv` and `index.html` (the comparison first, then the figures), prints
    /// the rows to stderr and, with `json`, the rows and `extra` to stdout.
    pub fn finish(
        &self,
        title: &str,
        intro: &str,
        rows: &[Comparison],
        figures: &[Figure],
        json: Option<serde_json::Value>,
    ) -> Result<(), CliError> {
        write_csv(rows, &self.dir.join("comparison.csv")).map_err(CliError::Work)?;
        let figs: String = figures.iter().map(figure_html).collect();
        let body = format!(
            "<h1>{}</h1>\n{intro}\n<h2>Published beside ours</h2>\n{}\n<p>Made by <code>{}</code> \
             in {:.0} s; <a href=\"comparison.csv\">comparison.csv</a>.</p>\n{figs}",
            groklab_report::html::esc(title),
            html_table(rows),
            groklab_report::html::esc(&self.command()),
            self.seconds()
        );
        let html = groklab_report::html::page(title, &body, true);
        super::super::write_atomic(&self.dir.join("index.html"), html.as_bytes())?;
        for r in rows {
            eprintln!(
                "  {:<64} published {:>10}  ours {:>10}  {}",
                r.quantity,
                r.published.show(),
                r.ours.as_ref().map_or("-".into(), Value::show),
                r.verdict().as_str()
            );
        }
        eprintln!(
            "  comparison.csv and index.html in {} ({:.0} s)",
            self.dir.display(),
            self.seconds()
        );
        if let Some(extra) = json {
            let j = json!({
                "dir": self.dir,
                "command": self.command(),
                "wall_seconds": self.seconds(),
                "comparison": rows.iter().map(row_json).collect::<Vec<_>>(),
                "details": extra,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&j).map_err(|e| CliError::Work(e.to_string()))?
            );
        }
        Ok(())
    }
}

fn row_json(r: &Comparison) -> serde_json::Value {
    json!({
        "figure": r.figure, "quantity": r.quantity, "published": r.published.show(),
        "ours": r.ours.as_ref().map(Value::show), "unit": r.unit,
        "verdict": r.verdict().as_str(), "source": r.source,
    })
}

fn figure_html(f: &Figure) -> String {
    use groklab_report::html::esc;
    let imgs: String = f
        .images
        .iter()
        .map(|p| {
            format!(
                "<a href=\"{p}\"><img src=\"{p}\" alt=\"{p}\"></a>\n",
                p = esc(p)
            )
        })
        .collect();
    format!(
        "<h2>{}</h2>\n<div class=\"plots\">\n{imgs}</div>\n<p><em>The paper's {}.</em> {}</p>\n",
        esc(&f.title),
        esc(&f.paper_figure),
        f.note
    )
}

/// A figure's path relative to the reproduction's directory, when the file exists.
pub fn rel(work: &Work, path: &Path) -> Option<String> {
    path.strip_prefix(&work.dir)
        .ok()
        .filter(|_| path.is_file())
        .map(|p| p.display().to_string())
}
