//! `groklab theory ...`: predictions without training.

use super::CliError;

#[derive(clap::Subcommand)]
pub enum Theory {
    /// Effective theory of addition: for every training-set size, the probability that a random
    /// training set determines the linear representation (nullity of A(P0(D)) exactly 2), and the
    /// critical training fraction where it crosses 1/2.
    Addition(AdditionArgs),
    /// Grokking in linear estimators (Levi, Beck, Bar-Sinai 2023): the large-dimension theory of
    /// a linear student learning a linear teacher from Gaussian inputs. Prints t_train, t_gen,
    /// the grokking time delta_t, its eps -> 0 limit and the asymptotic losses and accuracies;
    /// --curve writes the loss and accuracy curves, --grid a phase diagram of delta_t.
    Linear(super::theory_linear::LinearArgs),
}

#[derive(clap::Args)]
pub struct AdditionArgs {
    /// Integers 0..p-1.
    #[arg(long, default_value_t = 10)]
    p: usize,
    /// Random training sets per size.
    #[arg(long, default_value_t = 10_000)]
    samples: usize,
    /// Seed of the sampled training sets.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON to stdout instead of a table on stderr.
    #[arg(long)]
    json: bool,
    /// A toy-addition run directory: put the effective theory beside that run instead. Reads its
    /// split and initial embeddings, prints the nullity and lambda_3 of its training set, integrates
    /// the effective loss's gradient flow from its initial embeddings, and writes
    /// DIR/effective_theory.csv (step, effective loss, RQI, embeddings).
    #[arg(long, value_name = "DIR")]
    run: Option<std::path::PathBuf>,
    /// With --run: learning rate of the gradient flow (default: the run's embedding learning rate).
    #[arg(long)]
    eta: Option<f64>,
}

pub fn run(t: Theory) -> Result<(), CliError> {
    match t {
        Theory::Addition(a) => addition(a),
        Theory::Linear(a) => super::theory_linear::run(a),
    }
}

fn addition(a: AdditionArgs) -> Result<(), CliError> {
    if let Some(dir) = &a.run {
        return addition_run(dir, a.eta, a.json);
    }
    if !(2..=60).contains(&a.p) {
        return Err(CliError::Input(format!(
            "invalid value for `--p`: {}; allowed: an integer from 2 to 60",
            a.p
        )));
    }
    if a.samples == 0 {
        return Err(CliError::Input(
            "invalid value for `--samples`: 0; allowed: an integer >= 1".into(),
        ));
    }
    let r = groklab_theory::addition::critical_fraction(a.p, a.samples, a.seed);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| CliError::Work(e.to_string()))?
        );
        return Ok(());
    }
    eprintln!(
        "p = {}: {} pairs, {} parallelograms; {} random training sets per size",
        r.p, r.pairs, r.parallelograms, r.samples
    );
    eprintln!(
        "{:>6} {:>9} {:>14} {:>16}",
        "size", "fraction", "P(nullity=2)", "median lambda3"
    );
    for (size, prob) in &r.p_nullity2 {
        let l3 = r.median_lambda3[size].map_or("-".into(), |x| format!("{x:.3}"));
        eprintln!(
            "{size:>6} {:>9.3} {prob:>14.4} {l3:>16}",
            *size as f64 / r.pairs as f64
        );
    }
    match r.critical_fraction {
        Some(c) => eprintln!("critical fraction (P crosses 1/2): {c:.3}"),
        None => eprintln!("P(nullity=2) never reaches 1/2"),
    }
    Ok(())
}

/// The effective theory beside one toy-addition run.
fn addition_run(dir: &std::path::Path, eta: Option<f64>, json: bool) -> Result<(), CliError> {
    use groklab_report::Table;
    use groklab_theory::addition as th;
    let read = |name: &str| {
        let path = dir.join(name);
        Table::read(&path).map_err(|e| {
            CliError::Input(format!("--run {}: cannot read {name}: {e}", dir.display()))
        })
    };
    let split = read("split.csv")?;
    let emb = read("embeddings.csv")?;
    let metrics = read("metrics.csv")?;
    let config = std::fs::read_to_string(dir.join("config.toml")).map_err(|e| {
        CliError::Input(format!(
            "--run {}: cannot read config.toml: {e}",
            dir.display()
        ))
    })?;
    let config = groklab_engine::Config::from_toml(&config, "config.toml")?;
    let train: Vec<bool> = split
        .column("train")
        .unwrap_or_default()
        .iter()
        .map(|&t| t == 1.0)
        .collect();
    let p = ((((8 * train.len() + 1) as f64).sqrt() - 1.0) / 2.0).round() as usize;
    if p < 2 || p * (p + 1) / 2 != train.len() {
        return Err(CliError::Input(format!(
            "--run {}: split.csv is not an addition split",
            dir.display()
        )));
    }
    let d = emb.headers.len().saturating_sub(2);
    let e0: Vec<Vec<f64>> = emb
        .rows
        .iter()
        .filter(|r| r[0] == 0.0)
        .map(|r| r[2..2 + d].to_vec())
        .collect();
    if e0.len() != p || d == 0 {
        return Err(CliError::Input(format!(
            "--run {}: embeddings.csv has no step-0 embeddings of {p} tokens",
            dir.display()
        )));
    }
    let eta = eta.unwrap_or_else(|| config.optim.get("embed").map_or(1e-3, |g| g.lr));
    if !(eta > 0.0 && eta.is_finite()) {
        return Err(CliError::Input(format!(
            "invalid value for `--eta`: {eta}; allowed: a number > 0"
        )));
    }
    let paras = th::parallelograms(p, &train);
    let spec = th::spectrum(p, &paras);
    let steps = config.train.steps;
    let every = (steps / 500).max(1);
    let flow = th::effective_flow(&e0, &paras, eta, steps, 1.0, every);
    let mut header = vec![
        "step".to_string(),
        "effective_loss".to_string(),
        "rqi".to_string(),
    ];
    header.extend((0..p).flat_map(|t| (0..d).map(move |k| format!("e{t}_{k}"))));
    let rows: Vec<Vec<f64>> = flow
        .iter()
        .map(|f| {
            [f.time, f.loss, f.rqi]
                .into_iter()
                .chain(f.embeddings.iter().flatten().copied())
                .collect()
        })
        .collect();
    let csv = groklab_engine::files::csv_bytes(&header, &rows);
    let out = dir.join("effective_theory.csv");
    super::write_atomic(&out, &csv)?;
    let first = |pts: Vec<(f64, f64)>| pts.into_iter().find(|(_, r)| *r >= 0.95).map(|(s, _)| s);
    let flow_rqi = first(flow.iter().map(|f| (f.time, f.rqi)).collect());
    let run_rqi = first(metrics.xy("step", "rqi"));
    let predicted = th::predicted_steps(spec.lambda3, eta);
    if json {
        let j = serde_json::json!({
            "run": dir, "p": p, "train_pairs": train.iter().filter(|&&t| t).count(),
            "parallelograms": paras.len(), "nullity": spec.nullity, "lambda3": spec.lambda3, "eta": eta,
            "predicted_steps": if predicted.is_finite() { Some(predicted) } else { None },
            "flow_steps_to_rqi_0_95": flow_rqi, "run_steps_to_rqi_0_95": run_rqi,
            "effective_theory_csv": out,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&j).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    let show = |s: Option<f64>| s.map_or("never".to_string(), |s| format!("{s:.0}"));
    eprintln!(
        "{}: {} of {} pairs train, {} parallelograms in P0(D), nullity {}",
        dir.display(),
        train.iter().filter(|&&t| t).count(),
        train.len(),
        paras.len(),
        spec.nullity
    );
    eprintln!(
        "  lambda_3 = {:.4}: representation time scale 1/(lambda_3 eta) = {} steps at eta = {eta}",
        spec.lambda3,
        show(predicted.is_finite().then_some(predicted))
    );
    eprintln!(
        "  RQI >= 0.95: effective-theory flow at step {}, the run at step {}",
        show(flow_rqi),
        show(run_rqi)
    );
    eprintln!("  wrote {}", out.display());
    Ok(())
}
