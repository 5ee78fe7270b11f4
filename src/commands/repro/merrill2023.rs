//! `groklab repro merrill2023`: the sparse-parity study of Merrill, Tsilivis, Shukla (2023), "A
//! tale of two circuits: grokking as competition of sparse and dense subnetworks" (arXiv
//! 2303.11873). Trains every seed of a preset (run directories under DIR/runs/), then draws from
//! their files, per seed: accuracy and loss beside the effective sparsity on one epoch axis; the mean
//! norms of the generalising subnetwork, its complement and a random control; their faithfulness on
//! train and test; the largest-norm neuron at memorisation and at the end; every neuron's norm over
//! time with the generalising ones highlighted. `sizes.csv` tables the final subnetwork sizes and
//! transition epochs per seed; `index.html` shows everything and links every run's page.

use crate::commands::CliError;
use groklab_engine::run::{OutDir, claim, execute};
use groklab_engine::train::TrainOptions;
use groklab_report::{Axis, Series, Table, line_plot, line_plot_over};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory; it must be new or empty (default: a new runs/repro-merrill2023[-N]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seeds, from 1 to 100.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: u64,
    /// The experiment preset (merrill2023-parity, merrill2023-parity-wd0.001, merrill2023-parity-k4).
    #[arg(long, default_value = "merrill2023-parity")]
    preset: String,
    /// A fast pass: 100 epochs, width 300 (the transition may not happen).
    #[arg(long)]
    quick: bool,
    /// Print a JSON summary (per seed: the summary fields) to stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let mut base = groklab_engine::presets::load(&a.preset)?;
    if base
        .task
        .get::<groklab_engine::task::sparse_parity::SparseParity>()
        .is_none()
    {
        return Err(CliError::Input(format!(
            "invalid value for `--preset`: {}; allowed: a sparse-parity preset such as merrill2023-parity",
            a.preset
        )));
    }
    if a.quick {
        base = base.with(&[
            ("train.epochs", toml::Value::Integer(100)),
            (
                "model.d_hidden",
                toml::Value::Array(vec![toml::Value::Integer(300)]),
            ),
        ])?;
    }
    let configs: Vec<_> = (0..a.seeds)
        .map(|s| {
            let mut c = base.clone();
            c.seed = s;
            c
        })
        .collect();
    for c in &configs {
        groklab_engine::train::check_fits(std::slice::from_ref(c))?;
    }
    let out = super::out_dir(
        &a.out,
        &format!("repro-{}", a.preset.replace("-parity", "")),
    );
    let dir = claim(&out)?.commit()?;
    eprintln!(
        "groklab repro merrill2023: {} seeds of {} into {}",
        a.seeds,
        a.preset,
        dir.display()
    );
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    // One seed per core: each run is single-threaded on the fused path.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(configs.len()) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(c) = configs.get(k) else { break };
                    let run_dir = dir.join("runs").join(format!("seed{}", c.seed));
                    let result = execute(
                        c,
                        &OutDir::Exact {
                            path: run_dir,
                            overwrite: false,
                        },
                        &TrainOptions::default(),
                    );
                    match result {
                        Ok((s, _)) => eprintln!(
                            "  seed {}: {} (test accuracy {:.2}), subnetwork of {} neurons",
                            c.seed,
                            s.phase.as_str(),
                            s.final_metrics.get("val_acc").copied().unwrap_or(f64::NAN),
                            s.probes
                                .get("final_subnetwork_size")
                                .copied()
                                .flatten()
                                .map_or("-".into(), |v| format!("{v:.0}"))
                        ),
                        Err(e) => {
                            if let Ok(mut f) = failures.lock() {
                                f.push(format!("seed {}: {e}", c.seed));
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(f) = failures.into_inner().ok().filter(|f| !f.is_empty()) {
        return Err(CliError::Work(f.join("; ")));
    }
    let command = format!(
        "groklab repro merrill2023 --seeds {}{}",
        a.seeds,
        if a.quick { " --quick" } else { "" }
    );
    let summaries = figures(&dir, a.seeds, &base.description, (&a.preset, &command))?;
    eprintln!(
        "  figures, sizes.csv and index.html in {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    if a.json {
        let j = json!({
            "preset": a.preset, "dir": dir, "seeds": a.seeds,
            "wall_seconds": started.elapsed().as_secs_f64(), "runs": summaries,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&j).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

fn read(path: &Path) -> Result<Table, CliError> {
    Table::read(path).map_err(super::super::io_err("cannot read", path))
}

/// The figures of every seed, `sizes.csv` and `index.html`; returns every seed's summary.
fn figures(
    dir: &Path,
    seeds: u64,
    description: &str,
    (preset, command): (&str, &str),
) -> Result<Vec<Json>, CliError> {
    let draw =
        |name: String, f: &dyn Fn(&Path) -> Result<(), String>| -> Result<String, CliError> {
            let path = dir.join(&name);
            super::super::render_atomic(&path, |p| f(p))?;
            Ok(name)
        };
    let epoch = Axis::lin("epoch");
    let mut summaries = Vec::new();
    let mut sizes = vec![
        [
            "seed",
            "final_subnetwork_size",
            "memorization_epoch",
            "test_jump_epoch",
            "final_test_acc",
            "memorization_sparsity",
            "sparsity_drop_factor",
        ]
        .join(","),
    ];
    let mut sections = String::new();
    for s in 0..seeds {
        let run = dir.join("runs").join(format!("seed{s}"));
        let m = read(&run.join("metrics.csv"))?;
        let sub = read(&run.join("subnetworks.csv"))?;
        let norms = read(&run.join("neuron_norms.csv"))?;
        let generalising = read(&run.join("generalising_neurons.csv"))?;
        let big = read(&run.join("largest_neuron.csv"))?;
        let summary: Json = std::fs::read(run.join("summary.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Json::Null);
        let width = norms.headers.len().saturating_sub(2) as f64;
        let cell = |k: &str| summary[k].as_f64().map_or(String::new(), |v| v.to_string());
        sizes.push(
            [
                s.to_string(),
                cell("final_subnetwork_size"),
                cell("memorization_epoch"),
                cell("test_jump_epoch"),
                summary["final"]["val_acc"]
                    .as_f64()
                    .map_or(String::new(), |v| v.to_string()),
                cell("memorization_sparsity"),
                cell("sparsity_drop_factor"),
            ]
            .join(","),
        );
        let sparsity: Vec<(f64, f64)> = m.xy("epoch", "effective_sparsity");
        let mut acc = vec![
            Series::line("train accuracy", m.xy("epoch", "train_acc")),
            Series::line("test accuracy", m.xy("epoch", "val_acc")),
        ];
        acc.push(Series::line_points(
            "effective sparsity / width",
            sparsity
                .iter()
                .map(|&(e, v)| (e, v / width.max(1.0)))
                .collect(),
        ));
        let mut files = vec![draw(format!("seed{s}-accuracy.svg"), &|p| {
            line_plot(
                p,
                &format!("seed {s}: accuracy and effective sparsity"),
                &epoch,
                &Axis::lin("fraction"),
                &acc,
            )
        })?];
        let loss = vec![
            Series::line("train loss", m.xy("epoch", "train_loss")),
            Series::line("test loss", m.xy("epoch", "val_loss")),
            Series::line_points("effective sparsity (neurons)", sparsity.clone()),
        ];
        files.push(draw(format!("seed{s}-loss.svg"), &|p| {
            line_plot(
                p,
                &format!("seed {s}: loss and effective sparsity"),
                &epoch,
                &Axis::log("loss, neurons"),
                &loss,
            )
        })?);
        let sets = ["generalising", "complement", "control"];
        let norm_series: Vec<Series> = sets
            .iter()
            .map(|k| Series::line(k, sub.xy("epoch", &format!("norm_{k}"))))
            .collect();
        files.push(draw(format!("seed{s}-norms.svg"), &|p| {
            line_plot(
                p,
                &format!("seed {s}: mean neuron norm of each subnetwork"),
                &epoch,
                &Axis::lin("mean ||W_i||"),
                &norm_series,
            )
        })?);
        let faith: Vec<Series> = ["train", "test"]
            .iter()
            .flat_map(|split| sets.iter().map(move |k| (split, k)))
            .map(|(split, k)| {
                let pts = sub.xy("epoch", &format!("faithfulness_{split}_{k}"));
                if *split == "train" {
                    Series::line(&format!("{k} ({split})"), pts)
                } else {
                    Series::dashed(&format!("{k} ({split})"), pts)
                }
            })
            .collect();
        files.push(draw(format!("seed{s}-faithfulness.svg"), &|p| {
            line_plot(
                p,
                &format!("seed {s}: faithfulness of each subnetwork"),
                &epoch,
                &Axis::lin("faithfulness"),
                &faith,
            )
        })?);
        let bits = Axis::lin("input bit");
        let largest = vec![
            Series::line_points("at memorisation", big.xy("bit", "w_memorization")),
            Series::line_points("at the end", big.xy("bit", "w_final")),
        ];
        files.push(draw(format!("seed{s}-largest-neuron.svg"), &|p| {
            line_plot(
                p,
                &format!("seed {s}: incoming weights of the largest-norm neuron"),
                &bits,
                &Axis::lin("weight"),
                &largest,
            )
        })?);
        let highlighted: Vec<usize> = generalising
            .column("neuron")
            .unwrap_or_default()
            .iter()
            .map(|&v| v as usize)
            .collect();
        let epochs = norms.column("epoch").unwrap_or_default();
        let curve = |j: usize| -> Vec<(f64, f64)> {
            let col = norms.column(&format!("n{j}")).unwrap_or_default();
            epochs.iter().copied().zip(col).collect()
        };
        // at most 300 of the others, evenly spread, keep the file small
        let others: Vec<usize> = (0..width as usize)
            .filter(|j| !highlighted.contains(j))
            .collect();
        let stride = (others.len() / 300).max(1);
        let background: Vec<Vec<(f64, f64)>> =
            others.iter().step_by(stride).map(|&j| curve(j)).collect();
        let front: Vec<Series> = highlighted
            .iter()
            .map(|&j| Series::line(&format!("neuron {j}"), curve(j)))
            .collect();
        files.push(draw(format!("seed{s}-neuron-norms.svg"), &|p| {
            line_plot_over(
                p,
                &format!("seed {s}: every neuron's norm, the generalising ones in colour"),
                &epoch,
                &Axis::lin("||W_i||"),
                &background,
                &front,
            )
        })?);
        sections += &format!(
            "<h2>Seed {s}</h2>\n<p><a href=\"runs/seed{s}/index.html\">run page</a></p>\n<div class=\"plots\">{}</div>\n",
            files
                .iter()
                .map(|f| format!("<a href=\"{f}\"><img src=\"{f}\" alt=\"{f}\"></a>"))
                .collect::<String>()
        );
        summaries.push(summary);
    }
    let sizes_csv = sizes.join("\n") + "\n";
    super::super::write_atomic(&dir.join("sizes.csv"), sizes_csv.as_bytes())?;
    let table = Table::parse(&sizes_csv);
    let mut rows = String::new();
    for r in &table.text {
        rows += &format!(
            "<tr>{}</tr>\n",
            r.iter()
                .map(|c| format!("<td>{}</td>", groklab_report::html::esc(c)))
                .collect::<String>()
        );
    }
    let head: String = table
        .headers
        .iter()
        .map(|h| format!("<th>{}</th>", groklab_report::html::esc(h)))
        .collect();
    let compared = comparison(preset, &summaries, command);
    let published = if compared.is_empty() {
        String::new()
    } else {
        groklab_report::comparison::write_csv(&compared, &dir.join("comparison.csv"))
            .map_err(CliError::Work)?;
        format!(
            "<h2>Published beside ours</h2>\n{}<p><a href=\"comparison.csv\">comparison.csv</a></p>\n",
            groklab_report::comparison::html_table(&compared)
        )
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>merrill2023</title>\
<link rel=\"icon\" href=\"data:,\"><style>body{{font-family:sans-serif;margin:2em}}\
.plots{{display:flex;flex-wrap:wrap;gap:12px}}.plots img{{max-width:560px;width:100%;border:1px solid #ddd}}\
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}\
td.verdict-reproduced{{background:#d6f0d6}}td.verdict-close{{background:#fff3c4}}td.verdict-differs{{background:#f6d0d0}}</style></head>\n\
<body>\n<h1>Dense and sparse subnetworks on sparse parity</h1>\n<p>{}</p>\n{published}\
<h2>Final subnetworks</h2>\n<table><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n\
<p><a href=\"sizes.csv\">sizes.csv</a></p>\n{sections}</body></html>\n",
        groklab_report::html::esc(description)
    );
    super::super::write_atomic(&dir.join("index.html"), page.as_bytes())?;
    Ok(summaries)
}

/// The paper's subnetwork sizes beside ours, for its own setting (`merrill2023-parity`, k = 3):
/// "sizes 6, 6, 6, 8, 8 over 5 seeds" (a 2^k = 8 or a 6 neuron construction computes 3-bit parity).
fn comparison(
    preset: &str,
    summaries: &[Json],
    command: &str,
) -> Vec<groklab_report::comparison::Comparison> {
    use groklab_report::comparison::{Comparison, Criterion, Value};
    if preset != "merrill2023-parity" {
        return Vec::new();
    }
    let sizes: Vec<f64> = summaries
        .iter()
        .filter_map(|s| s["final_subnetwork_size"].as_f64())
        .collect();
    let all = sizes.len() == summaries.len() && !sizes.is_empty();
    let mean = all.then(|| sizes.iter().sum::<f64>() / sizes.len() as f64);
    let min = all.then(|| sizes.iter().copied().fold(f64::INFINITY, f64::min));
    let max = all.then(|| sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let row = |quantity: &str, published: f64, ours: Option<f64>, criterion| Comparison {
        paper: "Merrill, Tsilivis, Shukla 2023".into(),
        figure: "final sparse subnetworks (k = 3, 5 seeds)".into(),
        quantity: format!("{quantity} over {} seeds", summaries.len()),
        published: Value::Number(published),
        ours: ours.map(Value::Number),
        unit: "neurons".into(),
        criterion,
        source: "arXiv 2303.11873: final subnetworks of 6, 6, 6, 8, 8 neurons over 5 seeds".into(),
        command: command.into(),
    };
    vec![
        row(
            "mean final subnetwork size",
            6.8,
            mean,
            Criterion::absolute(1.0, 3.0),
        ),
        row(
            "smallest final subnetwork",
            6.0,
            min,
            Criterion::absolute(0.5, 2.0),
        ),
        row(
            "largest final subnetwork",
            8.0,
            max,
            Criterion::absolute(0.5, 2.0),
        ),
    ]
}
