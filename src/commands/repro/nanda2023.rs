//! `groklab repro nanda2023`: Nanda, Chan, Lieberum, Smith, Steinhardt 2023, "Progress measures
//! for grokking via mechanistic interpretability" (arXiv 2301.05217), the mainline run
//! (`nanda2023-add113`, the authors' transformers.py): the Fourier spectrum of the embeddings and
//! its key frequencies, restricted and excluded loss, the Gini coefficient of the embeddings'
//! Fourier spectrum, the weight norm, and the three phases (memorisation, circuit formation,
//! cleanup) beside the paper's boundaries in epochs (one full-batch step per epoch).

use super::work::{Figure, Work, rel};
use crate::commands::CliError;
use groklab_report::comparison::{Comparison, Criterion, Value};
use groklab_report::{Axis, Series, Table, line_plot};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory: new, empty, or holding this same reproduction, which is continued
    /// (default: a new runs/repro-nanda2023[-N]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A fast pass (about 7 minutes on 2 cores): the first 7,000 of the 50,000 epochs, through
    /// memorisation and circuit formation to the test-accuracy jump, not through cleanup. The
    /// full pass takes about 55 minutes (16 epochs/s with the Fourier probes).
    #[arg(long)]
    quick: bool,
    /// Print the comparison rows as JSON to stdout.
    #[arg(long)]
    json: bool,
    /// Test-only: the run capped at N steps.
    #[arg(long, hide = true, value_name = "N")]
    max_steps: Option<usize>,
}

/// Past the test-accuracy jump (epoch 5,926 on seed 0), not through cleanup: 7,000 epochs took
/// 397 s on 2 cores (8,000 took 527 s).
const QUICK_STEPS: usize = 7000;

pub fn run(a: Args) -> Result<(), CliError> {
    let mut c = groklab_engine::presets::load("nanda2023-add113")?;
    let steps = a.max_steps.or(a.quick.then_some(QUICK_STEPS));
    // transformers.py:35 num_epochs = 50000 (the paper plots 40,000)
    let budget = steps.unwrap_or(50_000);
    c = c.with(&[("train.steps", toml::Value::Integer(budget as i64))])?;
    groklab_engine::train::check_fits(std::slice::from_ref(&c))?;
    let mode = match (a.max_steps, a.quick) {
        (Some(n), _) => format!("--max-steps {n}"),
        (None, true) => "--quick".into(),
        (None, false) => String::new(),
    };
    let work = Work::open(&a.out, "nanda2023", &mode)?;
    eprintln!(
        "groklab repro nanda2023: the mainline run, {budget} epochs, into {}",
        work.dir.display()
    );
    let s = work.train("mainline", &c)?;
    let run = work.dir.join("runs/mainline");
    let m = Table::read(&run.join("metrics.csv")).map_err(|e| CliError::Work(e.to_string()))?;
    let fourier =
        Table::read(&run.join("fourier.csv")).map_err(|e| CliError::Work(e.to_string()))?;
    let gini = gini_over_time(&fourier);
    let gini_svg = work.dir.join("gini.svg");
    line_plot(
        &gini_svg,
        "Gini coefficient of the embeddings' Fourier spectrum",
        &Axis::lin("epoch"),
        &Axis::lin("Gini"),
        &[Series::line("Gini(W_E spectrum)", gini.clone())],
    )
    .map_err(CliError::Work)?;
    let losses_svg = work.dir.join("progress-measures.svg");
    let series: Vec<Series> = ["train_loss", "val_loss", "restricted_loss", "excluded_loss"]
        .iter()
        .map(|c| Series::line(c, m.xy("step", c)))
        .collect();
    line_plot(
        &losses_svg,
        "Train, test, restricted and excluded loss (Nanda et al. fig. 7)",
        &Axis::lin("epoch"),
        &Axis::log("loss"),
        &series,
    )
    .map_err(CliError::Work)?;
    let rows = comparison(&work, &s, &m, &gini);
    let figures = vec![
        Figure {
            title: "Accuracy and loss: memorisation, circuit formation, cleanup".into(),
            paper_figure: "figs. 1 and 7".into(),
            images: ["accuracy.svg", "loss.svg", "wnorm.svg"]
                .iter()
                .filter_map(|f| rel(&work, &run.join(f)))
                .collect(),
            note: "The paper's boundaries: memorisation to epoch 1.4k, circuit formation to 9.4k, \
                   cleanup to 14k (§5.2, fig. 7)."
                .into(),
        },
        Figure {
            title: "Restricted and excluded loss, the Fourier spectrum".into(),
            paper_figure: "figs. 3 and 7".into(),
            images: [
                rel(&work, &losses_svg),
                rel(&work, &run.join("fourier.svg")),
                rel(&work, &gini_svg),
            ]
            .into_iter()
            .flatten()
            .collect(),
            note: format!(
                "Key frequencies at the end: {}. Restricted loss keeps only the key frequencies' \
                 directions of the logits; excluded loss removes them. Run page: \
                 <a href=\"runs/mainline/index.html\">runs/mainline</a>.",
                key_frequencies(&s)
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    ];
    let intro = "<p>Nanda, Chan, Lieberum, Smith, Steinhardt 2023, <em>Progress measures for \
                 grokking via mechanistic interpretability</em> (arXiv 2301.05217): x + y mod 113 \
                 with 30% of the pairs, a one-layer ReLU transformer without LayerNorm, full-batch \
                 AdamW (lr 1e-3, weight decay 1), in the settings of the authors' \
                 transformers.py. One step per epoch. Key frequencies depend on the \
                 initialisation: a different seed learns different ones.</p>";
    work.finish(
        "Nanda et al. 2023: progress measures for grokking",
        intro,
        &rows,
        &figures,
        a.json.then(|| serde_json::json!({ "summary": s })),
    )
}

fn key_frequencies(s: &groklab_engine::run::Summary) -> Vec<usize> {
    (1..=5)
        .filter_map(|k| {
            s.probes
                .get(&format!("key_frequency_{k}"))
                .copied()
                .flatten()
        })
        .map(|v| v as usize)
        .collect()
}

/// The Gini coefficient of the embeddings' Fourier shares at each logged step (`fourier.csv`,
/// source 0): 0 when every frequency holds the same power, near 1 when a few hold it all.
fn gini_over_time(f: &Table) -> Vec<(f64, f64)> {
    let (step, source, share) = (
        f.column("step").unwrap_or_default(),
        f.column("source").unwrap_or_default(),
        f.column("share").unwrap_or_default(),
    );
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut k = 0;
    while k < step.len() {
        let at = step[k];
        let mut v: Vec<f64> = Vec::new();
        while k < step.len() && step[k] == at {
            if source[k] == 0.0 {
                v.push(share[k]);
            }
            k += 1;
        }
        if !v.is_empty() {
            out.push((at, gini(&mut v)));
        }
    }
    out
}

fn gini(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * x)
        .sum();
    (2.0 * weighted) / (n * total) - (n + 1.0) / n
}

/// The first logged step where `col` is at or below `level`.
fn first_below(m: &Table, col: &str, level: f64) -> Option<f64> {
    m.xy("step", col)
        .into_iter()
        .find(|p| p.1 <= level)
        .map(|p| p.0)
}

fn comparison(
    work: &Work,
    s: &groklab_engine::run::Summary,
    m: &Table,
    gini: &[(f64, f64)],
) -> Vec<Comparison> {
    let row = |figure: &str,
               quantity: &str,
               published: Value,
               ours: Option<Value>,
               unit: &str,
               c,
               source: &str| {
        Comparison {
            paper: "Nanda et al. 2023".into(),
            figure: figure.into(),
            quantity: quantity.into(),
            published,
            ours,
            unit: unit.into(),
            criterion: c,
            source: source.into(),
            command: work.command(),
        }
    };
    let done = |epoch: usize| s.steps >= epoch;
    let shares_at_end = key_power_count(work);
    // the restricted loss (key frequencies only) falls below 0.1 before the test loss does
    let (restricted, test) = (
        first_below(m, "restricted_loss", 0.1),
        first_below(m, "val_loss", 0.1),
    );
    let order = match (restricted, test) {
        (Some(r), Some(t)) => Some(if r < t { "before" } else { "not before" }),
        (Some(_), None) => Some("before"),
        (None, Some(_)) => Some("not before"),
        (None, None) => None,
    };
    let g_start = gini.first().map(|p| p.1);
    let g_end = gini.last().map(|p| p.1);
    let mut rows = vec![
        row(
            "§5, fig. 7",
            "epochs to 99% test accuracy (\"after around 10,000 epochs, the network generalizes\")",
            Value::Number(10_000.0),
            s.steps_to_val_acc.map(|v| Value::Number(v as f64)),
            "epochs",
            Criterion::relative(0.25, 1.0),
            "the paper, §1 and §5.2 (test accuracy near 100% after ~10k epochs; cleanup 9.4k-14k)",
        ),
        row(
            "fig. 3(a)",
            "non-negligible frequencies of the embedding (share of its power >= 2%)",
            Value::Number(6.0),
            shares_at_end
                .filter(|_| done(14_000))
                .map(|n| Value::Number(n as f64)),
            "frequencies",
            Criterion::absolute(1.0, 3.0),
            "the paper, fig. 3(a) caption: \"Of the six non-zero frequencies, five ... appear in \
             later parts of the network\"",
        ),
        row(
            "fig. 7",
            "restricted loss falls (below 0.1) before the test loss does",
            Value::Word("before".into()),
            order.map(|o| Value::Word(o.into())),
            "",
            Criterion::relative(0.0, 0.0),
            "the paper, §5.2 and fig. 7: restricted loss falls during circuit formation, before \
             test loss",
        ),
        row(
            "fig. 7",
            "Gini coefficient of the embeddings' Fourier spectrum rises over training",
            Value::Word("rises".into()),
            g_start.zip(g_end).filter(|_| done(14_000)).map(|(a, z)| {
                Value::Word(
                    if z > a + 0.1 {
                        "rises"
                    } else {
                        "does not rise"
                    }
                    .into(),
                )
            }),
            "",
            Criterion::relative(0.0, 0.0),
            "the paper, §5.1 and fig. 7 (no numbers published: the Gini of W_E's Fourier norms \
             jumps during cleanup)",
        ),
    ];
    let wn = m.xy("step", "wnorm");
    let peak = wn.iter().map(|p| p.1).fold(f64::NAN, f64::max);
    rows.push(row(
        "fig. 7",
        "the weight norm falls during cleanup (end below 80% of its peak)",
        Value::Word("falls".into()),
        wn.last().filter(|_| done(14_000)).map(|p| {
            Value::Word(
                if p.1 < 0.8 * peak {
                    "falls"
                } else {
                    "does not fall"
                }
                .into(),
            )
        }),
        "",
        Criterion::relative(0.0, 0.0),
        "the paper, §5.2 and fig. 7 (the sum of squared weights falls sharply in cleanup)",
    ));
    rows
}

/// Frequencies holding at least 2% of the embeddings' power at the last logged step.
fn key_power_count(work: &Work) -> Option<usize> {
    let f = Table::read(&work.dir.join("runs/mainline/fourier.csv")).ok()?;
    let (step, source, share) = (f.column("step")?, f.column("source")?, f.column("share")?);
    let last = step.iter().copied().fold(f64::NAN, f64::max);
    Some(
        (0..step.len())
            .filter(|&k| step[k] == last && source[k] == 0.0 && share[k] >= 0.02)
            .count(),
    )
}
