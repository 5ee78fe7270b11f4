//! Steps to the phase threshold are exact to the step, not snapped to the evaluation grid: a run
//! evaluated at a few log-spaced steps finds the same crossings as the same run evaluated at every
//! step, and the refinement (a replay of the bracketing steps) leaves the run as it was.

use groklab_engine::run::summarise;
use groklab_engine::train::{TrainOptions, train};
use groklab_engine::{Config, presets};
use toml::Value;

fn run(c: &Config) -> groklab_engine::train::TrainResult {
    train(std::slice::from_ref(c), &TrainOptions::default()).unwrap()
}

fn bits(v: &[Vec<f64>]) -> Vec<u64> {
    v.concat().iter().map(|x| x.to_bits()).collect()
}

fn check(base: &Config, what: &str) {
    let every = |log: i64, every: i64| {
        base.with(&[
            ("eval.log_points", Value::Integer(log)),
            ("eval.every", Value::Integer(every)),
        ])
        .unwrap()
    };
    let dense = every(0, 1);
    let sparse = every(12, 0);
    let (d, s) = (run(&dense), run(&sparse));
    let (dm, sm) = (&d.members[0], &s.members[0]);
    // at every step, the first step at the threshold is the first row at it
    let thr = base.phase.acc_threshold;
    let first = |col: &str| groklab_engine::run::first_reaching(&dm.metrics, col, thr);
    let want = [first("train_acc"), first("val_acc")];
    assert!(
        want[1].is_some(),
        "{what}: the run must generalise for the test to mean much"
    );
    assert_eq!(sm.crossings, want, "{what}: refined crossings");
    assert_eq!(dm.crossings, want, "{what}: every-step crossings");
    // the sparse grid alone would have said later steps
    let grid = |col: &str| groklab_engine::run::first_reaching(&sm.metrics, col, thr);
    assert!(grid("val_acc") > want[1], "{what}: the grid snaps later");
    // the replay changed nothing: same final parameters as the run evaluated at every step
    assert_eq!(bits(&sm.final_params), bits(&dm.final_params), "{what}");
    let summary = summarise(&sparse, sm, s.wall_seconds, s.steps_per_second);
    assert_eq!([summary.steps_to_train_acc, summary.steps_to_val_acc], want);
}

#[test]
fn crossings_are_exact_on_both_paths_and_in_minibatches() {
    let toy = presets::load("liu2022-toy")
        .unwrap()
        .with(&[("train.steps", Value::Integer(3000))])
        .unwrap();
    check(&toy, "toy, fused, full batch");
    let mini = presets::load("modadd-quick")
        .unwrap()
        .with(&[
            ("task.p", Value::Integer(23)),
            ("train.steps", Value::Integer(600)),
            ("train.batch_size", Value::Integer(64)),
            ("model.dropout", Value::Float(0.05)),
            ("phase.acc_threshold", Value::Float(0.5)),
        ])
        .unwrap();
    check(&mini, "transformer, minibatches, dropout");
    let autodiff = mini
        .with(&[("train.path", Value::String("autodiff".into()))])
        .unwrap();
    check(&autodiff, "transformer on the autodiff path");
}
