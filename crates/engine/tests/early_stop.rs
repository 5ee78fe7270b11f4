//! `train.stop`: a run stops at the first evaluation where its metric reaches the level (and no
//! earlier); in an ensemble the stopped member's parameters stop changing while the others still
//! equal their solo runs; bad stop tables are refused with the key named.

use groklab_engine::config::Config;
use groklab_engine::presets;
use groklab_engine::train::{MemberResult, TrainOptions, train};
use toml::Value;

fn toy(seed: i64, wd: f64) -> Config {
    presets::load("liu2022-toy")
        .unwrap()
        .with(&[
            ("seed", Value::Integer(seed)),
            ("train.steps", Value::Integer(600)),
            ("eval.log_points", Value::Integer(0)),
            ("eval.every", Value::Integer(20)),
            ("optim.decoder.weight_decay", Value::Float(wd)),
        ])
        .unwrap()
}

fn stopping(c: &Config, metric: &str, at: f64) -> Config {
    c.with(&[
        ("train.stop.metric", Value::String(metric.into())),
        ("train.stop.at", Value::Float(at)),
    ])
    .unwrap()
}

fn solo(c: &Config) -> MemberResult {
    train(std::slice::from_ref(c), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0)
}

#[test]
fn a_run_stops_at_the_first_evaluation_at_or_past_the_level() {
    let full = solo(&toy(0, 0.0));
    let acc = full.metrics.column("train_acc").unwrap();
    let steps = full.metrics.column("step").unwrap();
    // a level the full run reaches part-way
    let level = acc[acc.len() / 2];
    let first = acc.iter().position(|&a| a >= level).unwrap();
    assert!(first + 1 < acc.len(), "the level is reached before the end");
    let stopped = solo(&stopping(&toy(0, 0.0), "train_acc", level));
    assert_eq!(stopped.stopped_at, Some(steps[first] as usize));
    assert_eq!(stopped.steps, steps[first] as usize);
    // the recorded rows are the full run's up to the stop, and none after
    assert_eq!(stopped.metrics.rows, full.metrics.rows[..=first].to_vec());
    // a level never reached: the run goes to its budget
    let never = solo(&stopping(&toy(0, 0.0), "train_acc", 2.0));
    assert_eq!((never.stopped_at, never.steps), (None, 600));
    assert_eq!(never.metrics, full.metrics);
}

#[test]
fn a_stopped_member_freezes_while_the_others_equal_their_solo_runs() {
    let full = solo(&toy(3, 1.0));
    let acc = full.metrics.column("train_acc").unwrap();
    let level = acc[acc.len() / 3];
    let members = [
        toy(0, 0.0),
        stopping(&toy(3, 1.0), "train_acc", level),
        toy(7, 5.0),
    ];
    let together = train(&members, &TrainOptions::default()).unwrap();
    for k in [0, 2] {
        let alone = solo(&members[k]);
        assert_eq!(together.members[k].metrics, alone.metrics, "member {k}");
        assert_eq!(
            together.members[k].final_params, alone.final_params,
            "member {k}"
        );
    }
    let stopped = &together.members[1];
    let alone = solo(&members[1]);
    assert!(stopped.stopped_at.is_some());
    assert_eq!(stopped.stopped_at, alone.stopped_at);
    assert_eq!(stopped.metrics, alone.metrics);
    assert_eq!(stopped.final_params, alone.final_params);
    assert!(stopped.steps < 600 && together.members[0].steps == 600);
}

#[test]
fn bad_stop_tables_name_the_key() {
    let base = toy(0, 0.0);
    let err = |pairs: &[(&str, Value)]| base.with(pairs).unwrap_err().to_string();
    let e = err(&[("train.stop.metric", Value::String("val_acc".into()))]);
    assert!(e.contains("train.stop") && e.contains("at"), "{e}");
    let e = err(&[
        ("train.stop.metric", Value::String("val_acc".into())),
        ("train.stop.at", Value::Float(0.9)),
        ("train.stop.below", Value::Float(0.1)),
    ]);
    assert!(e.contains("exactly one"), "{e}");
    let e = err(&[("train.stop", Value::Float(0.9))]);
    assert!(e.contains("train.stop") && e.contains("metric"), "{e}");
    // an unknown metric is refused before training, naming the columns there are
    let c = stopping(&base, "val_accuracy", 0.9);
    let e = groklab_engine::train::check_fits(std::slice::from_ref(&c))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train.stop.metric") && e.contains("val_acc"),
        "{e}"
    );
}
