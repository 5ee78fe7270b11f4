//! The Slurm end-to-end test: a sweep submitted as a real job array to a real single-node Slurm
//! (`ci/slurm-up.sh`, which `.ci/run` starts), merged, and compared with the same sweep run
//! locally. Runs when `GROKLAB_SLURM=1` (`.ci/run` sets it once Slurm is up); otherwise it says it
//! was skipped.

mod common;

use common::{groklab, json, stderr};
use std::path::Path;

const SWEEP: &str = r#"
name = "slurm-test"
description = "a sweep through a Slurm job array"
base = "liu2022-toy"
seeds = [0, 1]
[set]
"train.steps" = 300
"task.split" = "covered"
"eval.log_points" = 20
[[axes]]
key = "optim.decoder.lr"
logspace = [-4, -2, 3]
[[axes]]
key = "optim.decoder.weight_decay"
values = [0.0, 5.0]
"#;

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

#[test]
fn a_slurm_job_array_runs_the_sweep_and_merges_into_the_local_result() {
    if std::env::var("GROKLAB_SLURM").as_deref() != Ok("1") {
        eprintln!(
            "skipped: start Slurm with ci/slurm-up.sh and set GROKLAB_SLURM=1 (.ci/run does)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.toml"), SWEEP).unwrap();
    let o = groklab(
        &[
            "sweep", "slurm", "s.toml", "--out", "sl", "--array", "3", "--time", "0:10:00",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let script = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(script.contains("#SBATCH --array=0-2"), "{script}");
    let started = std::time::Instant::now();
    let sb = std::process::Command::new("sbatch")
        .args(["--wait", "sl/submit.sbatch"])
        .current_dir(tmp.path())
        .output()
        .expect("sbatch runs");
    let took = started.elapsed().as_secs_f64();
    assert!(
        sb.status.success(),
        "sbatch: {} {}",
        String::from_utf8_lossy(&sb.stdout),
        String::from_utf8_lossy(&sb.stderr)
    );
    eprintln!(
        "slurm: {} the array of 3 tasks finished in {took:.1} s",
        String::from_utf8_lossy(&sb.stdout).trim()
    );
    let logs = std::fs::read_dir(tmp.path().join("sl/slurm"))
        .unwrap()
        .count();
    assert_eq!(logs, 3, "one log per array task");
    let o = groklab(&["sweep", "merge", "sl", "--json"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["missing"], 0);
    assert_eq!(json(&o)["finished"], 12);
    let o = groklab(&["sweep", "s.toml", "--out", "local", "-q"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        results(&tmp.path().join("sl/sweep.csv")),
        results(&tmp.path().join("local/sweep.csv"))
    );
}
