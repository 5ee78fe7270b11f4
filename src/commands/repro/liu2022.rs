//! `groklab repro liu2022`: Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022, "Towards
//! understanding grokking: an effective theory of representation learning" (arXiv 2205.10343),
//! beside the results the authors published with their code (ejmichaud/grokking-squared @ 0229df9,
//! toy/results/, read into `data/authors/` by `data/authors/liu2022_phases.py`).
//!
//! - the toy model's representation over training, RQI and Acc_hat beside the real accuracy
//!   (the default run, on the authors' own split);
//! - Acc_hat against accuracy and RQI against the training-set size (toy/Figure3, Figure4),
//!   beside the effective theory's P(nullity = 2);
//! - the three toy phase diagrams (toy/Figure5.ipynb: 5a, 5b, 5c) and the S3 one
//!   (toy/Figure5d_permutation.ipynb) on the authors' grids, each cell beside the authors' phase;
//! - the transformer: the effective dimension of its embeddings over training, and its phase plot
//!   (a CPU-sized subset; the authors' 285 runs as a Slurm-ready sweep, folded in with
//!   `--transformer-grid DIR`).

mod phases;
mod transformer;

use super::work::{Figure, Work, rel};
use crate::commands::CliError;
use groklab_engine::run::Summary;
use groklab_report::comparison::{Comparison, Criterion, Value};
use groklab_report::{Axis, Series, Table, line_plot};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory: new, empty, or holding this same reproduction, which is continued
    /// (default: a new runs/repro-liu2022[-N]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A fast pass (about 8 minutes on 2 cores): every other learning rate and weight decay of
    /// the toy grids and 15 of the 110 S3 cells, 3 seeds each; the transformer for 300 steps and
    /// 2 cells of its phase plot for 300 steps each. The full pass runs the authors' whole toy
    /// and S3 grids (3 seeds: about 20 minutes) and the transformer's default run to test
    /// accuracy 0.999 or 10^5 steps (at ~7 steps/s, up to 4 hours); stop it at any time and run
    /// the same command to continue.
    #[arg(long)]
    quick: bool,
    /// A finished sweep directory of `liu2022-transformer-phase` (the authors' 285 runs, hours
    /// per run on 2 cores: run it with `groklab sweep slurm preset liu2022-transformer-phase`)
    /// to draw and compare on the page.
    #[arg(long, value_name = "DIR")]
    transformer_grid: Option<PathBuf>,
    /// Print the comparison rows and what each part measured as JSON to stdout.
    #[arg(long)]
    json: bool,
    /// Test-only: a seconds-long pass (tiny grids and budgets).
    #[arg(long, hide = true, conflicts_with = "quick")]
    smoke: bool,
}

/// How much of each part runs.
pub struct Budget {
    pub name: &'static str,
    /// Steps of the default toy run (10^4, as the authors' fig. 5(b) cell it is compared with).
    pub toy_steps: usize,
    pub phase_steps: usize,
    /// Training-set sizes and seeds of figs. 3-4.
    pub sizes: Vec<usize>,
    pub seeds: Vec<u64>,
    /// Seeds of every cell of the phase diagrams (the phase is their majority): one seed's
    /// initialisation decides the phase of a toy cell as often as its learning rates do.
    pub grid_seeds: Vec<u64>,
    /// Seeds of the default run.
    pub toy_seeds: Vec<u64>,
    /// Indices into the authors' 10 learning rates and their weight decays.
    pub lr_cells: Vec<usize>,
    pub wd_cells: Vec<usize>,
    pub s3_lr_cells: Vec<usize>,
    pub s3_wd_cells: Vec<usize>,
    /// Steps of the transformer's default run (None: its budget, stopping at test accuracy 0.999).
    pub transformer_steps: Option<usize>,
    /// Cells of the transformer's phase plot (indices into the authors' lrs and weight decays),
    /// and their steps.
    pub transformer_cells: Vec<(usize, usize)>,
    pub transformer_cell_steps: usize,
}

impl Budget {
    fn new(quick: bool, smoke: bool) -> Budget {
        let all = |n: usize| (0..n).collect::<Vec<_>>();
        if smoke {
            return Budget {
                name: "smoke",
                toy_steps: 400,
                phase_steps: 300,
                sizes: vec![10, 45],
                seeds: vec![0],
                grid_seeds: vec![0],
                toy_seeds: vec![0],
                lr_cells: vec![3, 6],
                wd_cells: vec![0],
                s3_lr_cells: vec![6],
                s3_wd_cells: vec![0],
                transformer_steps: Some(4),
                transformer_cells: vec![(10, 0)],
                transformer_cell_steps: 2,
            };
        }
        Budget {
            name: if quick { "quick" } else { "full" },
            toy_steps: 10_000,
            phase_steps: 10_000,
            sizes: vec![5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 54],
            seeds: vec![0, 1, 2],
            grid_seeds: vec![0, 1, 2],
            toy_seeds: vec![0, 1, 2, 3, 4],
            lr_cells: if quick { vec![0, 2, 4, 6, 8] } else { all(10) },
            wd_cells: if quick {
                vec![0, 2, 4, 6, 8, 10]
            } else {
                all(11)
            },
            s3_lr_cells: if quick { vec![0, 2, 4, 6, 8] } else { all(10) },
            // S3's weight decays {0,1,2,3,5,10,20,30,50,100,200}: 0, 10 and 100 in --quick
            s3_wd_cells: if quick { vec![0, 5, 9] } else { all(11) },
            transformer_steps: if quick { Some(300) } else { None },
            transformer_cells: if quick {
                vec![(10, 0), (12, 0)]
            } else {
                Vec::new()
            },
            transformer_cell_steps: 300,
        }
    }
}

pub fn run(a: Args) -> Result<(), CliError> {
    if let Some(d) = &a.transformer_grid
        && !d.join("sweep.csv").is_file()
    {
        return Err(CliError::Input(format!(
            "invalid value for `--transformer-grid`: {} holds no sweep.csv; allowed: a sweep \
             directory of liu2022-transformer-phase (finished, or merged with `groklab sweep merge`)",
            d.display()
        )));
    }
    let budget = Budget::new(a.quick, a.smoke);
    let mode = if a.smoke {
        "--smoke"
    } else if a.quick {
        "--quick"
    } else {
        ""
    };
    let work = Work::open(&a.out, "liu2022", mode)?;
    eprintln!(
        "groklab repro liu2022 ({} pass) into {}",
        budget.name,
        work.dir.display()
    );
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    let mut details = serde_json::Map::new();
    let (r, f) = toy(&work, &budget)?;
    rows.extend(r);
    figures.extend(f);
    let (r, f) = fraction(&work, &budget)?;
    rows.extend(r);
    figures.extend(f);
    let (r, f, d) = phases::run(&work, &budget)?;
    rows.extend(r);
    figures.extend(f);
    details.insert("phases".into(), d);
    let (r, f, d) = transformer::run(&work, &budget, a.transformer_grid.as_deref())?;
    rows.extend(r);
    figures.extend(f);
    details.insert("transformer".into(), d);
    let intro = format!(
        "<p>Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022, <em>Towards understanding \
         grokking: an effective theory of representation learning</em> (arXiv 2205.10343), beside \
         the results the authors published with their code (ejmichaud/grokking-squared @ 0229df9, \
         toy/results/). Figure numbers are those of the authors' notebooks (toy/FigureN.ipynb), \
         which reproduce the paper's figures. {} pass.</p>",
        budget.name
    );
    work.finish(
        "Liu et al. 2022: an effective theory of representation learning",
        &intro,
        &rows,
        &figures,
        a.json.then_some(serde_json::Value::Object(details)),
    )
}

/// The authors' split of the toy (train_add.py: `np.random.seed(58)`, then 45 of the 55 pairs).
pub const SPLIT_SEED58: &str =
    "[[0, 2], [0, 4], [1, 5], [1, 7], [2, 4], [4, 4], [4, 6], [5, 5], [5, 8], [5, 9]]";
/// The split of their seed 1 (toy/produce_figure_data.py: fig. 5(c) runs with seed = 1).
pub const SPLIT_SEED1: &str =
    "[[0, 2], [0, 5], [0, 7], [0, 8], [3, 3], [3, 5], [3, 7], [3, 8], [3, 9], [8, 8]]";

/// A TOML value from its text (the constants above).
pub fn toml_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("v").cloned())
        .unwrap_or(toml::Value::Array(Vec::new()))
}

/// The default run on the authors' split, one per seed: the representation, RQI and Acc_hat over
/// training (the first seed's), and how many seeds generalise.
fn toy(work: &Work, b: &Budget) -> Result<(Vec<Comparison>, Vec<Figure>), CliError> {
    let mut summaries = Vec::new();
    for &seed in &b.toy_seeds {
        let c = groklab_engine::presets::load("liu2022-toy")?.with(&[
            ("task.val_pairs", toml_value(SPLIT_SEED58)),
            ("train.steps", toml::Value::Integer(b.toy_steps as i64)),
            ("seed", toml::Value::Integer(seed as i64)),
        ])?;
        let s = work.train(&format!("toy-seed{seed}"), &c)?;
        eprintln!(
            "  toy, seed {seed}: {} (train 90% at {}, validation 90% at {}), RQI {:.2}",
            s.phase.as_str(),
            show_step(s.steps_to_train_acc),
            show_step(s.steps_to_val_acc),
            s.final_metrics.get("rqi").copied().unwrap_or(f64::NAN)
        );
        summaries.push(s);
    }
    let first = &summaries[0];
    let generalised = summaries
        .iter()
        .filter(|s| s.steps_to_val_acc.is_some())
        .count();
    // the median over seeds, a seed that never reached the level counting as the latest
    let median = |f: fn(&Summary) -> Option<usize>| -> Value {
        let mut v: Vec<f64> = summaries
            .iter()
            .map(|s| f(s).map_or(f64::INFINITY, |x| x as f64))
            .collect();
        v.sort_by(f64::total_cmp);
        let m = v[v.len() / 2];
        if m.is_finite() {
            Value::Number(m)
        } else {
            Value::Word("never".into())
        }
    };
    let authors = phases::authors_cell("fig5b", 1e-4, 0.0);
    let source = "ejmichaud/grokking-squared toy/results/fig5b/{train,test}step_eta_0.00010_wd_0.00000.txt; \
                  toy/Figure4cd.ipynb stored output (1130 / 1530)";
    let row = |quantity: &str, published: Value, ours: Option<Value>, unit: &str, c| Comparison {
        paper: "Liu et al. 2022".into(),
        figure: "the default toy run (fig. 5(b) cell: decoder lr 1e-4, wd 0)".into(),
        quantity: quantity.into(),
        published,
        ours,
        unit: unit.into(),
        criterion: c,
        source: source.into(),
        command: work.command(),
    };
    let n = summaries.len();
    let mut rows = vec![row(
        &format!("fraction of seeds that generalise (validation 90%), default run, {n} seeds"),
        Value::Number(1.0),
        Some(Value::Number(generalised as f64 / n as f64)),
        "of seeds (authors: their one seed, 58)",
        Criterion::absolute(0.2, 0.5),
    )];
    if let Some(a) = authors {
        for (what, published, ours) in [
            ("train", a.train, median(|s| s.steps_to_train_acc)),
            ("validation", a.test, median(|s| s.steps_to_val_acc)),
        ] {
            rows.push(row(
                &format!("steps to 90% {what} accuracy, default run (median over seeds)"),
                Value::Number(published as f64),
                Some(ours),
                "steps",
                Criterion::relative(0.25, 1.0),
            ));
        }
    }
    let run = work
        .dir
        .join("runs")
        .join(format!("toy-seed{}", first.seed));
    let trajectory = work.dir.join("embeddings-over-training.svg");
    draw_trajectories(&run.join("embeddings.csv"), &trajectory)?;
    let images: Vec<String> = std::iter::once(rel(work, &trajectory))
        .chain(
            ["embeddings.svg", "rqi.svg", "accuracy.svg"]
                .iter()
                .map(|f| rel(work, &run.join(f))),
        )
        .flatten()
        .collect();
    let figures = vec![Figure {
        title: "The toy model's representation over training".into(),
        paper_figure: "figs. 1-2 and 4(c, d) (embeddings over training, RQI and Acc_hat)".into(),
        images,
        note: format!(
            "The default run (embeddings Adam 1e-3, decoder AdamW 1e-4, no weight decay) on the \
             authors' split of their seed 58, seed {} here: {}. Of {n} seeds, {generalised} \
             generalise; the others settle in a representation of two segments (RQI ~0.5) that \
             fits the training pairs only. The authors' seed 58 draws initialisation and \
             templates from NumPy and torch streams groklab cannot replay. Every seed: {}.",
            first.seed,
            first.phase.as_str(),
            summaries
                .iter()
                .map(|s| format!(
                    "<a href=\"runs/toy-seed{0}/index.html\">seed {0}</a> {1}",
                    s.seed,
                    s.phase.as_str()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }];
    Ok((rows, figures))
}

/// Every token's 1-D embedding against the step (Liu et al.'s fig. 4(c)): evenly spaced lines
/// when the representation is learned.
fn draw_trajectories(csv: &std::path::Path, svg: &std::path::Path) -> Result<(), CliError> {
    let t = Table::read(csv).map_err(|e| CliError::Work(format!("{}: {e}", csv.display())))?;
    let (step, token, e) = (
        t.column("step").unwrap_or_default(),
        t.column("token").unwrap_or_default(),
        t.column("e0").unwrap_or_default(),
    );
    let tokens = token.iter().fold(0.0f64, |m, &k| m.max(k)) as usize + 1;
    let series: Vec<Series> = (0..tokens)
        .map(|k| {
            let pts = (0..step.len())
                .filter(|&r| token[r] as usize == k)
                .map(|r| (step[r], e[r]))
                .collect();
            Series::line(&format!("E_{k}"), pts)
        })
        .collect();
    line_plot(
        svg,
        "The embeddings over training (1-D; Liu et al. fig. 4(c))",
        &Axis::lin("step"),
        &Axis::lin("embedding"),
        &series,
    )
    .map_err(CliError::Work)
}

fn show_step(s: Option<usize>) -> String {
    s.map_or("never".into(), |v| v.to_string())
}

/// Figs. 3-4: Acc_hat against accuracy and RQI against the training-set size, beside the
/// effective theory's P(nullity = 2).
fn fraction(work: &Work, b: &Budget) -> Result<(Vec<Comparison>, Vec<Figure>), CliError> {
    let sizes: Vec<String> = b.sizes.iter().map(usize::to_string).collect();
    let seeds: Vec<String> = b.seeds.iter().map(u64::to_string).collect();
    let text = format!(
        "name = \"liu2022-fig3-4\"\n\
         description = \"Toy addition, regression head: training-set size x seeds on random \
         splits, as toy/produce_figure_data.py (figs. 3-4)\"\n\
         base = \"liu2022-toy\"\nseeds = [{}]\ntheory = \"addition-nullity\"\n\
         [set]\n\"train.steps\" = {}\n[[axes]]\nkey = \"task.train\"\nvalues = [{}]\n",
        seeds.join(", "),
        b.phase_steps,
        sizes.join(", ")
    );
    let sweep =
        groklab_sweep::Sweep::from_toml(&text, "liu2022-fig3-4", std::path::Path::new("."))?;
    let dir = work.sweep("fig3-4", sweep, None)?;
    let t = Table::read(&dir.join("sweep.csv")).map_err(|e| CliError::Work(e.to_string()))?;
    let col = |k: &str| t.column(k).unwrap_or_default();
    let (n, tr, va, hat, rqi) = (
        col("task.train"),
        col("final_train_acc"),
        col("final_val_acc"),
        col("final_acc_hat"),
        col("final_rqi"),
    );
    let ours: Vec<Run34> = (0..n.len())
        .map(|k| Run34 {
            size: n[k] as usize,
            real: (n[k] * tr[k] + (55.0 - n[k]) * va[k]) / 55.0,
            pred: hat[k],
            rqi_reached: rqi[k] > 0.95,
        })
        .collect();
    let authors = authors_fraction();
    let theory = groklab_theory::addition::critical_fraction(10, 2000, 0);
    let rows = fraction_rows(work, &ours, &authors, theory.critical_fraction);
    let plot = work.dir.join("fig3-4.svg");
    draw_fraction(&plot, &ours, &authors, &theory)?;
    let figures = vec![Figure {
        title: "Predicted against real accuracy, and RQI, by training-set size".into(),
        paper_figure: "figs. 3 and 4 (toy/Figure3.ipynb, toy/Figure4ab.ipynb)".into(),
        images: [rel(work, &plot), rel(work, &dir.join("final_rqi.svg"))]
            .into_iter()
            .flatten()
            .collect(),
        note: format!(
            "Each point is one run ({} seeds per size, {} steps, random splits); the authors' \
             points are from toy/results/fig3 (5,000 steps) and fig4. The line is the effective \
             theory's probability that a random training set has nullity 2 (2,000 sets per \
             size); its crossing of 1/2 is the critical fraction. The sweep's own page: \
             <a href=\"sweeps/fig3-4/index.html\">sweeps/fig3-4</a>.",
            b.seeds.len(),
            b.phase_steps
        ),
    }];
    Ok((rows, figures))
}

/// One run of figs. 3-4: its training-set size, accuracy over all 55 pairs, Acc_hat, and whether
/// RQI passed 0.95.
struct Run34 {
    size: usize,
    real: f64,
    pred: f64,
    rqi_reached: bool,
}

fn authors_fraction() -> Vec<Run34> {
    let t = Table::parse(include_str!("../../../data/authors/liu2022-fraction.csv"));
    let col = |k: &str| t.column(k).unwrap_or_default();
    let (n, pred, real, step) = (
        col("train_num"),
        col("pred_acc"),
        col("real_acc"),
        col("rqi_step"),
    );
    (0..n.len())
        .map(|k| Run34 {
            size: n[k] as usize,
            real: real[k],
            pred: pred[k],
            rqi_reached: step[k] < 9999.0,
        })
        .collect()
}

/// The smallest training-set size at which at least half the runs reached RQI 0.95.
fn rqi_size(runs: &[Run34]) -> Option<f64> {
    let mut sizes: Vec<usize> = runs.iter().map(|r| r.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
        .into_iter()
        .find(|&s| {
            let at: Vec<&Run34> = runs.iter().filter(|r| r.size == s).collect();
            2 * at.iter().filter(|r| r.rqi_reached).count() >= at.len()
        })
        .map(|s| s as f64)
}

fn mean_gap(runs: &[Run34]) -> Option<f64> {
    (!runs.is_empty())
        .then(|| runs.iter().map(|r| (r.pred - r.real).abs()).sum::<f64>() / runs.len() as f64)
}

fn fraction_rows(
    work: &Work,
    ours: &[Run34],
    authors: &[Run34],
    critical: Option<f64>,
) -> Vec<Comparison> {
    let row = |figure: &str,
               quantity: &str,
               published: f64,
               ours: Option<f64>,
               unit: &str,
               c,
               source: &str| {
        Comparison {
            paper: "Liu et al. 2022".into(),
            figure: figure.into(),
            quantity: quantity.into(),
            published: Value::Number(published),
            ours: ours.map(Value::Number),
            unit: unit.into(),
            criterion: c,
            source: source.into(),
            command: work.command(),
        }
    };
    let data = "toy/results/fig3/{predacc,realacc}_num_N_seed_S.txt (33 runs)";
    let mut rows = vec![row(
        "fig. 3",
        "mean |Acc_hat - accuracy| over training sizes 5-54 and seeds",
        mean_gap(authors).unwrap_or(f64::NAN),
        mean_gap(ours),
        "",
        Criterion::absolute(0.03, 0.08),
        data,
    )];
    rows.push(row(
        "fig. 4",
        "smallest training-set size where half the seeds reach RQI 0.95",
        rqi_size(authors).unwrap_or(f64::NAN),
        rqi_size(ours),
        "pairs of 55",
        Criterion::absolute(5.0, 10.0),
        "toy/results/fig4/rqistep_num_N_seed_S.txt (first step with RQI > 0.95, 9999 = never)",
    ));
    rows.push(row(
        "fig. 4 (theory)",
        "critical training fraction: P(nullity = 2) crosses 1/2",
        0.4,
        critical,
        "fraction",
        Criterion::absolute(0.05, 0.1),
        "the paper, section 4 (\"the critical fraction near 0.4\" for p = 10; specs/effective-theory.md)",
    ));
    rows
}

fn draw_fraction(
    path: &std::path::Path,
    ours: &[Run34],
    authors: &[Run34],
    theory: &groklab_theory::addition::CriticalFraction,
) -> Result<(), CliError> {
    let pts = |runs: &[Run34], f: fn(&Run34) -> f64| -> Vec<(f64, f64)> {
        runs.iter().map(|r| (r.size as f64 / 55.0, f(r))).collect()
    };
    let series = vec![
        Series::points("ours: accuracy", pts(ours, |r| r.real)),
        Series::points("ours: Acc_hat", pts(ours, |r| r.pred)),
        Series::points("authors: accuracy", pts(authors, |r| r.real)),
        Series::points("authors: Acc_hat", pts(authors, |r| r.pred)),
        Series::line(
            "theory: P(nullity = 2)",
            theory
                .p_nullity2
                .iter()
                .map(|(&n, &p)| (n as f64 / 55.0, p))
                .collect(),
        ),
    ];
    line_plot(
        path,
        "Liu et al. 2022 figs. 3-4: accuracy, Acc_hat and P(nullity = 2)",
        &Axis::lin("training fraction"),
        &Axis::lin("accuracy / probability"),
        &series,
    )
    .map_err(CliError::Work)
}
