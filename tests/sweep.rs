//! End-to-end tests of `groklab sweep`: expansion into run directories and `sweep.csv`, resuming,
//! refusing a changed definition, SIGKILL at any moment, shards that partition the runs and merge
//! into the local result.

mod common;

use common::{groklab, json, stderr};
use std::path::Path;

const TINY: &str = r#"
name = "tiny"
description = "a test sweep"
base = "liu2022-toy"
seeds = [0, 1]
[set]
"train.steps" = STEPS
"task.split" = "covered"
"eval.log_points" = 20
[[axes]]
key = "optim.decoder.lr"
logspace = [-4, -2, 3]
[[axes]]
key = "optim.decoder.weight_decay"
values = [0.0, 5.0]
"#;

fn write_sweep(dir: &Path, name: &str, steps: usize) {
    std::fs::write(dir.join(name), TINY.replace("STEPS", &steps.to_string())).unwrap();
}

/// sweep.csv without the columns that measure time.
fn results(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&k| !["wall_seconds", "steps_per_second"].contains(&header[k]))
        .collect();
    std::iter::once(header.join(","))
        .chain(lines.map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&k| cells[k]).collect::<Vec<_>>().join(",")
        }))
        .collect()
}

fn run_dirs(sweep: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sweep.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_sweep_writes_every_run_resumes_and_refuses_a_changed_definition() {
    let tmp = tempfile::tempdir().unwrap();
    write_sweep(tmp.path(), "s.toml", 200);
    let o = groklab(
        &["sweep", "s.toml", "--out", "sw", "-q", "--json"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(
        (j["runs"].as_u64(), j["trained"].as_u64()),
        (Some(12), Some(12))
    );
    let sw = tmp.path().join("sw");
    assert_eq!(
        run_dirs(&sw),
        (0..12).map(|k| format!("r{k:04}")).collect::<Vec<_>>()
    );
    let rows = results(&sw.join("sweep.csv"));
    assert_eq!(rows.len(), 13);
    assert!(
        rows[0].starts_with("run,optim.decoder.lr,optim.decoder.weight_decay,seed,phase,"),
        "{}",
        rows[0]
    );
    // run 3 = (lr 1e-4, wd 5, seed 1): first axis outermost, seeds innermost
    assert!(rows[4].starts_with("r0003,0.0001,5.0,1,"), "{}", rows[4]);
    for f in [
        "sweep.toml",
        "sweep.json",
        "phases.svg",
        "phase_agreement.svg",
        "index.html",
    ] {
        assert!(sw.join(f).is_file(), "missing {f}");
    }
    // every run's config is the sweep's own
    let c = std::fs::read_to_string(sw.join("runs/r0003/config.toml")).unwrap();
    assert!(
        c.contains("weight_decay = 5.0") && c.contains("seed = 1"),
        "{c}"
    );
    // running again trains nothing and changes nothing
    let before = std::fs::read(sw.join("runs/r0005/summary.json")).unwrap();
    let o = groklab(
        &["sweep", "s.toml", "--out", "sw", "-q", "--json"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["trained"], 0);
    assert_eq!(json(&o)["already_done"], 12);
    assert_eq!(
        std::fs::read(sw.join("runs/r0005/summary.json")).unwrap(),
        before
    );
    // a changed definition is refused, and nothing is touched
    std::fs::write(
        tmp.path().join("t.toml"),
        TINY.replace("STEPS", "200")
            .replace("[0.0, 5.0]", "[0.0, 6.0]"),
    )
    .unwrap();
    let o = groklab(&["sweep", "t.toml", "--out", "sw", "-q"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("optim.decoder.weight_decay"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(sw.join("runs/r0005/summary.json")).unwrap(),
        before
    );
    // invalid runs are refused before anything runs, naming the axis, key and value
    std::fs::write(
        tmp.path().join("bad.toml"),
        TINY.replace("STEPS", "200")
            .replace("[0.0, 5.0]", "[0.0, -1.0]"),
    )
    .unwrap();
    let o = groklab(&["sweep", "bad.toml", "--out", "bad", "-q"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("optim.decoder.weight_decay = -1") && e.contains(">= 0"),
        "{e}"
    );
    assert!(!tmp.path().join("bad").exists());
}

#[test]
fn sigkill_at_any_moment_then_resume_leaves_every_run_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    write_sweep(tmp.path(), "s.toml", 2500);
    let sw = tmp.path().join("sw");
    let finished = || -> Vec<(String, Vec<u8>)> {
        // a run being written lives in a hidden staging directory until its one rename
        run_dirs(&sw)
            .into_iter()
            .filter(|id| !id.starts_with('.'))
            .filter(|id| sw.join("runs").join(id).join("summary.json").is_file())
            .map(|id| {
                let bytes = std::fs::read(sw.join("runs").join(&id).join("metrics.csv")).unwrap();
                (id, bytes)
            })
            .collect()
    };
    // killed several times at different moments (while training, while writing a run, while
    // rebuilding sweep.csv): whatever had finished stays finished and unchanged; one run per
    // ensemble, so that runs finish one by one (the resume below uses the default ensembles)
    let mut kept: Vec<(String, Vec<u8>)> = Vec::new();
    for extra_ms in [0, 170, 55, 290] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_groklab"))
            .args([
                "sweep", "s.toml", "--out", "sw", "-q", "--jobs", "2", "--chunk", "1",
            ])
            .current_dir(tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // once this process has finished a run of its own, a little later
        let t0 = std::time::Instant::now();
        while (!sw.join("runs").is_dir() || finished().len() <= kept.len())
            && t0.elapsed().as_secs() < 120
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(extra_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let now = finished();
        for (id, bytes) in &kept {
            let same = now.iter().find(|(i, _)| i == id).map(|(_, b)| b);
            assert_eq!(same, Some(bytes), "{id} changed after a kill");
        }
        kept = now;
    }
    assert!(
        !kept.is_empty() && kept.len() < 12,
        "{} finished before the last kill",
        kept.len()
    );
    let o = groklab(
        &["sweep", "s.toml", "--out", "sw", "-q", "--json"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["already_done"].as_u64(), Some(kept.len() as u64));
    assert_eq!(
        run_dirs(&sw),
        (0..12).map(|k| format!("r{k:04}")).collect::<Vec<_>>()
    );
    for (id, bytes) in &kept {
        let now = std::fs::read(sw.join("runs").join(id).join("metrics.csv")).unwrap();
        assert_eq!(&now, bytes, "{id} changed on resume");
    }
    let rows = results(&sw.join("sweep.csv"));
    let ids: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, (0..12).map(|k| format!("r{k:04}")).collect::<Vec<_>>());
}

#[test]
fn shards_partition_the_runs_and_merge_into_the_local_result() {
    let tmp = tempfile::tempdir().unwrap();
    write_sweep(tmp.path(), "s.toml", 150);
    let o = groklab(&["sweep", "s.toml", "--out", "local", "-q"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let mut seen = 0;
    for i in 0..3 {
        let shard = format!("{i}/3");
        let o = groklab(
            &[
                "sweep", "s.toml", "--out", "sharded", "--shard", &shard, "-q", "--json",
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(json(&o)["in_shard"], 4);
        assert_eq!(json(&o)["trained"], 4);
        seen += 4;
        // again: the shard's runs are done
        let o = groklab(
            &[
                "sweep", "s.toml", "--out", "sharded", "--shard", &shard, "-q", "--json",
            ],
            tmp.path(),
        );
        assert_eq!(json(&o)["trained"], 0);
    }
    assert_eq!(seen, 12);
    let o = groklab(&["sweep", "merge", "sharded", "--json"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["missing"], 0);
    assert_eq!(
        results(&tmp.path().join("sharded/sweep.csv")),
        results(&tmp.path().join("local/sweep.csv"))
    );
    // ensembles give the same results as runs alone
    let o = groklab(
        &["sweep", "s.toml", "--out", "chunked", "--chunk", "4", "-q"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        results(&tmp.path().join("chunked/sweep.csv")),
        results(&tmp.path().join("local/sweep.csv"))
    );
    let o = groklab(&["sweep", "s.toml", "--shard", "3/3"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sweep_presets_show_and_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["sweep", "show", "liu2022-phase-regression"], tmp.path());
    assert!(o.status.success());
    std::fs::write(tmp.path().join("p.toml"), &o.stdout).unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("logspace = [-5, -2, 16]"), "{text}");
    let o = groklab(&["presets"], tmp.path());
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(list.contains("liu2022-phase-regression-quick"), "{list}");
    let o = groklab(&["sweep", "show", "liu2022-phase-regresion"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean"), "{}", stderr(&o));
}

#[test]
fn probe_summary_fields_become_sweep_columns_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.toml"),
        r#"
name = "parity"
base = "merrill2023-parity"
seeds = [0]
[set]
"train.epochs" = 30
"task.n_train" = 200
"model.d_hidden" = [64]
[[axes]]
key = "optim.all.weight_decay"
values = [0.0, 0.01]
"#,
    )
    .unwrap();
    let o = groklab(&["sweep", "p.toml", "--out", "sw", "-q"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let sw = tmp.path().join("sw");
    let text = std::fs::read_to_string(sw.join("sweep.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    for (k, row) in rows.iter().enumerate() {
        // each row's probe cells are the run's own summary fields
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(sw.join("runs").join(row[0]).join("summary.json")).unwrap(),
        )
        .unwrap();
        for f in [
            "final_subnetwork_size",
            "memorization_epoch",
            "sparsity_drop_factor",
        ] {
            let cell = row[col(f)];
            match summary[f].as_f64() {
                Some(v) => assert_eq!(cell.parse::<f64>().unwrap(), v, "row {k} {f}"),
                None => assert_eq!(cell, "", "row {k} {f}"),
            }
        }
        let size: f64 = row[col("final_subnetwork_size")].parse().unwrap();
        assert!((1.0..=64.0).contains(&size), "{size}");
    }
    assert!(sw.join("final_subnetwork_size.svg").is_file());
}
