//! End-to-end tests of `groklab theory linear` in temporary directories.

mod common;

use common::{groklab, json, stderr};
use std::path::Path;

/// `groklab theory linear ARGS --json`, which must succeed and write nothing.
fn summary(args: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = vec!["theory", "linear", "--json"];
    all.extend_from_slice(args);
    let o = groklab(&all, tmp.path());
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    json(&o)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn json_has_the_documented_keys_and_grokking_below_lambda_one() {
    let s = summary(&["--lambda", "0.5"]);
    for k in [
        "t_train",
        "t_gen",
        "delta_t",
        "delta_t_limit",
        "gen_loss_inf",
        "gen_acc_inf",
        "lambda",
        "dout",
        "gamma",
        "eta",
        "eps",
        "alpha",
        "level",
        "discrete",
        "loss_threshold",
        "train_loss_inf",
        "train_acc_inf",
        "perfect_generalisation",
    ] {
        assert!(s.get(k).is_some(), "JSON lacks {k}: {s}");
    }
    assert!(s.get("theory").is_none(), "inputs are flattened: {s}");
    let (tt, tg) = (s["t_train"].as_f64().unwrap(), s["t_gen"].as_f64().unwrap());
    assert!(0.0 < tt && tt < tg, "{tt} {tg}");
    let dt = s["delta_t"].as_f64().unwrap();
    assert!((dt - (tg - tt)).abs() < 1e-9 * tg);
    assert!(s["delta_t_limit"].as_f64().unwrap() > 0.0);
    // the paper's defaults
    assert_eq!(s["lambda"], 0.5);
    assert_eq!(s["dout"], 1);
    assert_eq!(s["gamma"], 0.0);
    assert_eq!(s["eta"], 0.01);
    assert_eq!(s["eps"], 1e-3);
    assert_eq!(s["alpha"], 1.0);
    assert_eq!(s["level"], 0.95);
    assert_eq!(s["discrete"], true);
    assert_eq!(s["perfect_generalisation"], true);
    assert_eq!(s["gen_acc_inf"], 1.0);
}

#[test]
fn above_lambda_one_the_test_loss_plateaus_and_nothing_groks() {
    let s = summary(&["--lambda", "1.5", "--dout", "1", "--gamma", "0"]);
    assert!(s["t_train"].as_f64().unwrap() > 0.0);
    for k in ["t_gen", "delta_t", "delta_t_limit"] {
        assert!(s[k].is_null(), "{k} should be null: {s}");
    }
    let plateau = s["gen_loss_inf"].as_f64().unwrap();
    assert!((plateau - (1.0 - 1.0 / 1.5)).abs() < 1e-9, "{plateau}");
    assert!(s["gen_acc_inf"].as_f64().unwrap() < 0.95);
    assert_eq!(s["perfect_generalisation"], false);
}

#[test]
fn grokking_time_grows_with_lambda_and_flow_differs_from_gd() {
    let dt = |lambda: &str, extra: &[&str]| {
        let mut args = vec!["--lambda", lambda];
        args.extend_from_slice(extra);
        summary(&args)["delta_t"].as_f64().unwrap()
    };
    assert!(dt("0.3", &[]) < dt("0.7", &[]));
    let flow = summary(&["--lambda", "0.7", "--flow"]);
    assert_eq!(flow["discrete"], false);
    let (gd, fl) = (dt("0.7", &[]), flow["delta_t"].as_f64().unwrap());
    assert!(fl != gd && (fl / gd - 1.0).abs() < 0.1, "{gd} {fl}");
}

#[test]
fn human_summary_goes_to_stderr_only() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["theory", "linear", "--lambda", "1.5"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    for needle in [
        "t_train",
        "t_gen",
        "delta_t",
        "never",
        "perfect generalisation: no",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in {err}");
    }
}

#[test]
fn curve_writes_csv_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "theory",
            "linear",
            "--lambda",
            "0.5",
            "--curve",
            "out/theory.csv",
            "--points",
            "50",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = json(&o);
    let dir = tmp.path().join("out");
    assert_eq!(
        entries(&dir),
        ["theory-acc.svg", "theory-loss.svg", "theory.csv"]
    );
    for svg in ["theory-acc.svg", "theory-loss.svg"] {
        assert!(
            std::fs::read_to_string(dir.join(svg))
                .unwrap()
                .starts_with("<svg")
        );
    }
    let text = std::fs::read_to_string(dir.join("theory.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "step,train_loss,gen_loss,train_acc,gen_acc"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r.len() == 5));
    assert_eq!(rows[0][0], 1.0);
    assert!(rows.windows(2).all(|w| w[0][0] < w[1][0]), "steps increase");
    assert!(
        rows.windows(2).all(|w| w[1][2] < w[0][2]),
        "gen_loss decreases"
    );
    // the default length passes t_gen, where the test accuracy reaches the level
    let last = rows.last().unwrap();
    assert!(last[0] >= s["t_gen"].as_f64().unwrap());
    assert!(last[4] >= 0.95 && last[3] >= 0.95);
    assert_eq!(s["curve"]["points"], 50);

    // --steps sets the last step
    let o = groklab(
        &[
            "theory", "linear", "--lambda", "1.5", "--curve", "c.csv", "--steps", "1000",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tmp.path().join("c.csv")).unwrap();
    assert_eq!(text.lines().count(), 201);
    assert!(text.lines().last().unwrap().starts_with("1000.0,"));
}

#[test]
fn grid_writes_csv_and_heatmap() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "theory",
            "linear",
            "--grid",
            "lambda,dout",
            "--x",
            "0.5:1.5:3",
            "--y",
            "1:100:4:log",
            "--out",
            "phase",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tmp.path().join("phase");
    assert_eq!(entries(&dir), ["grid.csv", "grid.svg"]);
    assert!(
        std::fs::read_to_string(dir.join("grid.svg"))
            .unwrap()
            .contains("<rect")
    );
    let text = std::fs::read_to_string(dir.join("grid.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "lambda,dout,t_train,t_gen,delta_t");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3 * 4);
    let douts: Vec<&str> = rows[..4].iter().map(|r| r[1]).collect();
    assert_eq!(douts, ["1", "5", "22", "100"]);
    for r in &rows {
        assert_eq!(r.len(), 5);
        let lambda: f64 = r[0].parse().unwrap();
        if lambda < 1.0 {
            let (tt, tg, dt): (f64, f64, f64) = (
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
                r[4].parse().unwrap(),
            );
            assert!(tt < tg && dt > 0.0, "{r:?}");
        }
        if lambda > 1.0 {
            assert!(r[2].parse::<f64>().is_ok(), "{r:?}");
            assert_eq!((r[3], r[4]), ("", ""), "never: empty cells");
        }
    }
    let s = json(&o);
    assert_eq!(s["points"].as_array().unwrap().len(), 12);
    assert_eq!(s["values2"], serde_json::json!([1, 5, 22, 100]));
    assert!(s["points"][11]["delta_t"].is_null());

    // defaults for the axes; lambda not needed when swept, given when not
    let o = groklab(
        &[
            "theory",
            "linear",
            "--lambda",
            "0.9",
            "--grid",
            "gamma,dout",
            "--out",
            "g2",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tmp.path().join("g2/grid.csv")).unwrap();
    assert!(text.starts_with("gamma,dout,t_train,t_gen,delta_t\n"));
    let n = text.lines().count() - 1;
    assert!(n > 25 * 20 && n <= 25 * 25 && n.is_multiple_of(25), "{n}");
}

#[test]
fn invalid_inputs_exit_2_name_the_flag_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--lambda", "0"], &["--lambda", "0", "> 0"]),
        (&["--lambda", "-1"], &["--lambda", "-1", "> 0"]),
        (&[], &["--lambda", "missing"]),
        (
            &["--lambda", "0.5", "--dout", "0"],
            &["--dout", "0", "an integer from 1"],
        ),
        (&["--lambda", "0.5", "--dout", "-3"], &["--dout", "-3"]),
        (
            &["--lambda", "0.5", "--dout", "1.5"],
            &["--dout", "1.5", "integer"],
        ),
        (
            &["--lambda", "0.5", "--gamma", "-1"],
            &["--gamma", "-1", ">= 0"],
        ),
        (&["--lambda", "0.5", "--eps", "0"], &["--eps", "0", "> 0"]),
        (&["--lambda", "0.5", "--eta", "0"], &["--eta", "0", "> 0"]),
        (
            &["--lambda", "0.5", "--eta", "1"],
            &["--eta", "1", "gradient flow"],
        ),
        (
            &["--lambda", "0.5", "--alpha", "-1"],
            &["--alpha", "-1", ">= 0"],
        ),
        (
            &["--lambda", "0.5", "--level", "1"],
            &["--level", "1", "between 0 and 1"],
        ),
        (
            &["--lambda", "0.5", "--level", "0"],
            &["--level", "0", "between 0 and 1"],
        ),
        (
            &["--lambda", "0.5", "--curve", "c.csv", "--steps", "0.5"],
            &["--steps", "0.5", "> 1"],
        ),
        (
            &["--lambda", "0.5", "--curve", "c.csv", "--points", "1"],
            &["--points", "1", "from 2"],
        ),
        (&["--lambda", "0", "--curve", "c.csv"], &["--lambda", "0"]),
        (&["--lambda", "0.5", "--steps", "10"], &["--curve"]),
        (
            &["--grid", "lambda,dot", "--out", "d"],
            &["--grid", "dot", "lambda, dout, gamma"],
        ),
        (
            &["--grid", "lambda,lambda", "--out", "d"],
            &["--grid", "the same axis twice"],
        ),
        (&["--grid", "lambda", "--out", "d"], &["--grid", "lambda"]),
        (&["--grid", "lambda,dout"], &["--out"]),
        (
            &["--grid", "dout,gamma", "--out", "d"],
            &["--lambda", "missing"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--x", "0.9:0.1:5"],
            &["--x", "0.9:0.1:5", "stop must be greater"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--x", "0:1:5"],
            &["--x", "0:1:5", "lambda = 0", "> 0"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--x", "0.1:1:5:lin"],
            &["--x", "0.1:1:5:lin", "log"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--x", "0.1:1"],
            &["--x", "0.1:1", "start:stop:count"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--x", "0.1:1:0"],
            &["--x", "0.1:1:0", "count"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--y", "0:10:5:log"],
            &["--y", "0:10:5:log", "start > 0"],
        ),
        (
            &["--grid", "lambda,dout", "--out", "d", "--y", "0.1:0.4:3"],
            &["--y", "0.1:0.4:3", "dout values"],
        ),
        (
            &[
                "--grid",
                "dout,gamma",
                "--out",
                "d",
                "--lambda",
                "0.5",
                "--eps",
                "-1",
            ],
            &["--eps", "-1", "> 0"],
        ),
        (
            &[
                "--grid",
                "lambda,eta",
                "--out",
                "d",
                "--x",
                "0.5:4:5",
                "--y",
                "0.01:0.2:4",
            ],
            &["--y", "eta = 0.2", "grid point lambda = 2.25"],
        ),
        (
            &[
                "--grid",
                "lambda,dout",
                "--out",
                "d",
                "--lambda",
                "0.5",
                "--curve",
                "c.csv",
            ],
            &["--curve", "--grid", "cannot be used"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = vec!["theory", "linear"];
        all.extend_from_slice(args);
        let o = groklab(&all, tmp.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        for n in *needles {
            assert!(err.contains(n), "{args:?}: expected {n:?} in {err}");
        }
        assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(
            entries(tmp.path()).is_empty(),
            "{args:?} wrote {:?}",
            entries(tmp.path())
        );
    }
}

#[test]
fn help_documents_every_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["theory", "linear", "--help"], tmp.path());
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--lambda", "--dout", "--gamma", "--eta", "--eps", "--alpha", "--level", "--flow",
        "--json", "--curve", "--steps", "--points", "--grid", "--x", "--y", "--out",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}: {help}");
    }
    for default in [
        "[default: 1]",
        "[default: 0]",
        "[default: 0.01]",
        "[default: 0.001]",
    ] {
        assert!(help.contains(default), "--help lacks {default}");
    }
}
