//! End-to-end tests of `groklab repro levi2023` in temporary directories, in the hidden `--smoke`
//! mode (d_in = 40, at most 1500 steps: seconds, not minutes).

mod common;

use common::{groklab, json, stderr};
use std::path::Path;

const HEADER: &str = "panel,series,source,x,y,y_std,y_min,y_max,n,d_in";

/// Every file a smoke run writes (no dh = 200 panel: that simulation is skipped).
const FILES: &[&str] = &[
    "fig1.csv",
    "fig1-loss.svg",
    "fig1-accuracy.svg",
    "fig1-delta_t-lambda.svg",
    "fig2.csv",
    "fig2-accuracy.svg",
    "fig2-delta_t-dout.svg",
    "fig3.csv",
    "fig3-loss.svg",
    "fig3-accuracy.svg",
    "fig3-delta_t-gamma.svg",
    "fig4.csv",
    "fig4-gamma-dout.svg",
    "fig4-gamma-lambda.svg",
    "fig4-dout-lambda.svg",
    "fig5.csv",
    "fig5-dh50.svg",
];

#[test]
fn smoke_run_writes_every_figure_with_simulation_and_theory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nested").join("repro");
    let o = groklab(
        &[
            "repro",
            "levi2023",
            "--smoke",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("d_in = 40"), "stderr names the d_in: {err}");
    // one progress line per finished simulation (15 simulations x 2 seeds)
    assert_eq!(
        err.lines().filter(|l| l.starts_with('[')).count(),
        30,
        "{err}"
    );

    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = FILES
        .iter()
        .chain(&["comparison.csv", "index.html"])
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(names, want, "exactly the figure files, no temporary files");
    // the paper's theory beside every simulated grokking time, the verdict from the numbers
    let comparison = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let mut rows = comparison.lines();
    assert_eq!(
        rows.next(),
        Some("paper,figure,quantity,published,ours,unit,verdict,command,source")
    );
    let rows: Vec<&str> = rows.collect();
    assert!(rows.len() >= 5, "{comparison}");
    assert!(
        rows.iter()
            .all(|r| r.contains("groklab repro levi2023 --smoke"))
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.find("<table").unwrap() < html.find("<img").unwrap());

    for f in FILES {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        if f.ends_with(".svg") {
            assert!(text.starts_with("<svg"), "{f}");
            continue;
        }
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER), "{f}");
        let sources: std::collections::BTreeSet<&str> = lines
            .map(|l| {
                let cols: Vec<&str> = l.split(',').collect();
                assert_eq!(cols.len(), 10, "{f}: {l}");
                cols[2]
            })
            .collect();
        let expected: &[&str] = if *f == "fig4.csv" {
            &["theory"]
        } else {
            &["sim", "theory"]
        };
        assert_eq!(
            sources.into_iter().collect::<Vec<_>>(),
            expected,
            "{f}: sources"
        );
    }

    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(v["mode"], "smoke");
    assert_eq!(v["d_in"], 40);
    assert_eq!(v["seeds"], 2);
    for fig in ["fig1", "fig2", "fig3", "fig4", "fig5"] {
        let files = v["figures"][fig]["files"].as_array().unwrap();
        assert!(!files.is_empty(), "{fig}");
        for p in files {
            assert!(Path::new(p.as_str().unwrap()).is_file(), "{fig}: {p}");
        }
    }
    let f1 = v["figures"]["fig1"]["delta_t"].as_array().unwrap();
    let lambdas: Vec<f64> = f1.iter().map(|p| p["value"].as_f64().unwrap()).collect();
    assert_eq!(lambdas, [0.3, 0.5, 0.7, 0.9]);
    for p in f1 {
        assert_eq!(p["param"], "lambda");
        assert!(p["theory_delta_t"].as_f64().unwrap() > 0.0, "{p}");
        assert!(p.get("sim_delta_t").is_some(), "{p}");
    }
    // lambda = 0.3 grokks within the smoke budget: a simulated time, near the theory's
    let p = &f1[0];
    let sim = p["sim_delta_t"]["mean"]
        .as_f64()
        .expect("lambda = 0.3 grokks");
    let th = p["theory_delta_t"].as_f64().unwrap();
    assert!(sim > 0.2 * th && sim < 5.0 * th, "{sim} vs {th}");
    assert!(
        v["figures"]["fig4"]["delta_t"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_flags_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "keep").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["repro", "levi2023", "--seeds", "0"], "--seeds"),
        (&["repro", "levi2023", "--seeds", "101"], "--seeds"),
        (&["repro", "levi2023", "--seeds", "two"], "--seeds"),
        (&["repro", "levi2023", "--bogus"], "--bogus"),
        (&["repro", "levi2024"], "levi2024"),
        (&["repro"], "levi2023"),
        (
            &["repro", "levi2023", "--out", file.to_str().unwrap()],
            "not a directory",
        ),
    ];
    for (args, needle) in cases {
        let o = groklab(args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(
        names.len(),
        1,
        "nothing written besides the test's own file"
    );
}

#[test]
fn help_says_how_long_the_runs_take() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["repro", "levi2023", "--help"], tmp.path());
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--quick",
        "--seeds",
        "--out",
        "--json",
        "hours",
        "d_in = 200",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    assert!(!help.contains("--smoke"), "the smoke mode is hidden");
}

/// `repro grokfast` at its smallest: four runs of a few steps, comparison.csv with every column and
/// a verdict computed from the numbers (none reached 95%: "not run"), the page with the comparison
/// first; an output directory that is not empty exits 2 and writes nothing.
#[test]
fn repro_grokfast_writes_the_published_numbers_beside_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "repro",
            "grokfast",
            "--max-steps",
            "20",
            "--out",
            "g",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["runs"].as_array().map(Vec::len), Some(4));
    let mut r = csv::Reader::from_path(tmp.path().join("g/comparison.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "paper",
            "figure",
            "quantity",
            "published",
            "ours",
            "unit",
            "verdict",
            "command",
            "source"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[1][3], "790");
    assert!(rows.iter().all(|r| &r[6] == "not run" && r[4].is_empty()));
    let html = std::fs::read_to_string(tmp.path().join("g/index.html")).unwrap();
    let (table, plot) = (
        html.find("verdict-not-run").unwrap(),
        html.find("compare_val_acc.svg").unwrap(),
    );
    assert!(table < plot, "the comparison comes first");
    for run in [
        "grokfast-ma-baseline",
        "grokfast-ma",
        "grokfast-ema",
        "grokfast-ma-fair-baseline",
    ] {
        assert!(
            tmp.path()
                .join("g/runs")
                .join(run)
                .join("metrics.csv")
                .exists()
        );
    }
    std::fs::create_dir(tmp.path().join("full")).unwrap();
    std::fs::write(tmp.path().join("full/mine.txt"), "x").unwrap();
    let o = groklab(
        &["repro", "grokfast", "--max-steps", "20", "--out", "full"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_dir(tmp.path().join("full")).unwrap().count(),
        1
    );
}
