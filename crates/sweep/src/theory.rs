//! Theory beside a sweep's results: extra `theory_*` columns of `sweep.csv`, one value per run from
//! that run's own config (and split), and which summary fields the report draws them over.
//!
//! - `addition-nullity` (Liu et al.): `theory_nullity2`, 1 when the run's own training set pins the
//!   generalising representation down (nullity of A(P0(D)) exactly 2), and `theory_p_nullity2`, the
//!   probability of that over random training sets of the run's size (2,000 samples); drawn over
//!   the final validation accuracy and RQI.
//! - `linear-mp` (Levi et al.): the Marchenko-Pastur `t_train`, `t_gen` and `delta_t` at the run's
//!   lambda, dout, gamma, eta and eps, drawn over the simulated steps to train and validation
//!   accuracy and the grokking gap.

use crate::definition::RunSpec;
use groklab_engine::probe::linear_theory::linear_theory;
use groklab_engine::task::addition::Addition;
use groklab_theory::addition as th;
use std::collections::HashMap;

/// Theory columns of every run (same order as `runs`), and the fields each column is drawn over.
pub struct TheoryColumns {
    pub names: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
    pub overlays: Vec<(String, Vec<String>)>,
}

/// The theory columns of a sweep's runs (none for `None`).
pub fn columns(kind: Option<&str>, runs: &[RunSpec]) -> TheoryColumns {
    match kind {
        Some("addition-nullity") => nullity(runs),
        Some("linear-mp") => linear(runs),
        _ => TheoryColumns {
            names: Vec::new(),
            values: vec![Vec::new(); runs.len()],
            overlays: Vec::new(),
        },
    }
}

fn nullity(runs: &[RunSpec]) -> TheoryColumns {
    let mut random: HashMap<usize, th::CriticalFraction> = HashMap::new();
    let values = runs
        .iter()
        .map(|r| {
            let Some(task) = r.config.task.get::<Addition>() else {
                return vec![None, None];
            };
            let data = r.config.dataset();
            let own = th::spectrum(task.p, &th::parallelograms(task.p, &data.train_mask()));
            let curve = random
                .entry(task.p)
                .or_insert_with(|| th::critical_fraction(task.p, 2000, 0));
            vec![
                Some(f64::from(u8::from(own.nullity == 2))),
                curve.p_nullity2.get(&data.train.len()).copied(),
            ]
        })
        .collect();
    let over = vec!["final_val_acc".to_string(), "final_rqi".to_string()];
    TheoryColumns {
        names: vec!["theory_nullity2".into(), "theory_p_nullity2".into()],
        values,
        overlays: vec![("theory_p_nullity2".into(), over)],
    }
}

fn linear(runs: &[RunSpec]) -> TheoryColumns {
    let values = runs
        .iter()
        .map(
            |r| match linear_theory(&r.config).filter(|t| t.validate().is_ok()) {
                Some(t) => {
                    let s = t.summary();
                    vec![s.t_train, s.t_gen, s.delta_t]
                }
                None => vec![None; 3],
            },
        )
        .collect();
    let names = [
        "theory_steps_to_train_acc",
        "theory_steps_to_val_acc",
        "theory_grokking_gap",
    ];
    TheoryColumns {
        names: names.map(String::from).to_vec(),
        values,
        overlays: names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    vec![n.trim_start_matches("theory_").to_string()],
                )
            })
            .collect(),
    }
}
