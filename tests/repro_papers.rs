//! End-to-end tests of `groklab repro liu2022` and `repro prieto2025` at their smallest (hidden
//! test modes: seconds, not minutes): the page with the comparison first, `comparison.csv` with
//! every column, verdicts computed from the numbers (a fabricated result must read "differs"),
//! a reproduction continued in its own directory, and bad arguments that exit 2 writing nothing.

mod common;

use common::{groklab, json, stderr};
use std::path::Path;

const COLUMNS: [&str; 9] = [
    "paper",
    "figure",
    "quantity",
    "published",
    "ours",
    "unit",
    "verdict",
    "command",
    "source",
];

fn comparison(dir: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(dir.join("comparison.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, COLUMNS);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    for row in &rows {
        assert!(
            ["reproduced", "close", "differs", "not run"].contains(&&row[6]),
            "{row:?}"
        );
        assert!(
            !row[8].is_empty(),
            "every published value has a source: {row:?}"
        );
    }
    rows
}

fn row<'a>(rows: &'a [csv::StringRecord], quantity: &str) -> &'a csv::StringRecord {
    rows.iter()
        .find(|r| r[2].starts_with(quantity))
        .unwrap_or_else(|| panic!("no row {quantity}"))
}

#[test]
fn repro_liu2022_compares_every_part_with_the_authors_results() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &["repro", "liu2022", "--smoke", "--out", "l", "--json"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tmp.path().join("l");
    let j = json(&o);
    let rows = comparison(&dir);
    assert_eq!(j["comparison"].as_array().map(Vec::len), Some(rows.len()));
    // the default run, figs. 3-4, the four phase diagrams, the transformer
    assert_eq!(&row(&rows, "steps to 90% train accuracy")[3], "1130");
    assert_eq!(&row(&rows, "critical training fraction")[3], "0.4");
    for fig in ["fig. 5(a)", "fig. 5(b)", "fig. 5(c)", "fig. 5(d)"] {
        let r = rows.iter().find(|r| &r[1] == fig).unwrap();
        // the smoke grids: 2 x 2 cells in (a), 2 x 1 in (b) and (c), 1 in (d)
        let cells = if fig == "fig. 5(a)" {
            "4"
        } else if fig == "fig. 5(d)" {
            "1"
        } else {
            "2"
        };
        assert_eq!(&r[3], cells, "{r:?}");
        assert!(
            dir.join(format!("authors-fig5{}.svg", &fig[7..8]))
                .is_file()
        );
    }
    // the theory's critical fraction is computed, not typed in: P(nullity = 2) crosses 1/2 near 0.41
    let critical: f64 = row(&rows, "critical training fraction")[4].parse().unwrap();
    assert!((0.38..0.44).contains(&critical), "{critical}");
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let (table, figure) = (html.find("<table").unwrap(), html.find("<img").unwrap());
    assert!(table < figure, "the comparison comes first");
    assert!(html.contains("The paper's fig. 5(b)"));

    // a fabricated result: the default run "reached" 90% validation accuracy at step 9,000;
    // continuing the reproduction reads it back and the verdict follows the number
    let summary = dir.join("runs/toy-seed0/summary.json");
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    s["steps_to_train_acc"] = 1130.into();
    s["steps_to_val_acc"] = 9000.into();
    std::fs::write(&summary, s.to_string()).unwrap();
    let o = groklab(&["repro", "liu2022", "--smoke", "--out", "l"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("continuing"), "{}", stderr(&o));
    let rows = comparison(&dir);
    let val = row(&rows, "steps to 90% validation accuracy");
    assert_eq!((&val[3], &val[4], &val[6]), ("1529", "9000", "differs"));
    let train = row(&rows, "steps to 90% train accuracy");
    assert_eq!((&train[4], &train[6]), ("1130", "reproduced"));
}

#[test]
fn repro_bad_arguments_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "repro",
            "liu2022",
            "--smoke",
            "--out",
            "x",
            "--transformer-grid",
            "nowhere",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--transformer-grid"));
    assert!(!tmp.path().join("x").exists());
    // a directory holding something else, or another reproduction
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/notes.txt"), "x").unwrap();
    for paper in ["liu2022", "prieto2025"] {
        let o = groklab(&["repro", paper, "--out", "mine"], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_dir(tmp.path().join("mine")).unwrap().count(),
        1
    );
    let o = groklab(
        &["repro", "prieto2025", "--max-steps", "2", "--out", "p"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = groklab(&["repro", "liu2022", "--smoke", "--out", "p"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("repro prieto2025"), "{}", stderr(&o));
}

#[test]
fn repro_prieto2025_runs_the_authors_settings_at_its_smallest() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "repro",
            "prieto2025",
            "--max-steps",
            "3",
            "--out",
            "p",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tmp.path().join("p");
    let rows = comparison(&dir);
    // fig. 1(a), four points of 1(b), 1(c), six runs of fig. 2
    assert_eq!(rows.len(), 12);
    assert_eq!(
        &row(&rows, "StableMax: test accuracy at epoch 40000")[3],
        "0.73"
    );
    // three steps reach nothing: every verdict is "not run"
    assert!(rows.iter().all(|r| &r[6] == "not run"), "{rows:?}");
    for run in [
        "fig1a-orthograd",
        "fig1b-stablemax",
        "fig1c-softmax",
        "fig2-70-f64",
    ] {
        let config =
            std::fs::read_to_string(dir.join("runs").join(run).join("config.toml")).unwrap();
        assert!(config.contains("steps = 3"), "{run}");
    }
    let softmax = std::fs::read_to_string(dir.join("runs/fig1c-softmax/config.toml")).unwrap();
    assert!(
        softmax.contains("kind = \"cross-entropy\"") && softmax.contains("precision = \"f64\"")
    );
    let ortho = std::fs::read_to_string(dir.join("runs/fig1a-orthograd/config.toml")).unwrap();
    assert!(ortho.contains("orthograd = true"));
}

#[test]
fn repro_nanda2023_and_power2022_at_their_smallest() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &["repro", "nanda2023", "--max-steps", "20", "--out", "n"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = comparison(&tmp.path().join("n"));
    assert_eq!(rows.len(), 5);
    assert_eq!(&row(&rows, "epochs to 99% test accuracy")[3], "10000");
    // 20 epochs reach none of the paper's landmarks
    assert!(rows.iter().all(|r| &r[6] == "not run"), "{rows:?}");
    assert!(tmp.path().join("n/gini.svg").is_file());
    assert!(tmp.path().join("n/runs/mainline/fourier.csv").is_file());

    let o = groklab(
        &["repro", "power2022", "--max-steps", "20", "--out", "p"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tmp.path().join("p");
    let rows = comparison(&dir);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| &r[3] == "yes"));
    // the paper's setting: the eos framing, Adam without weight decay for fig. 1
    let fig1 = std::fs::read_to_string(dir.join("runs/fig1-wd0/config.toml")).unwrap();
    assert!(fig1.contains("format = \"eos a op b = c eos\""), "{fig1}");
    assert!(dir.join("sweeps/fraction/sweep.csv").is_file());
}
