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
}

pub fn run(t: Theory) -> Result<(), CliError> {
    match t {
        Theory::Addition(a) => addition(a),
        Theory::Linear(a) => super::theory_linear::run(a),
    }
}

fn addition(a: AdditionArgs) -> Result<(), CliError> {
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
