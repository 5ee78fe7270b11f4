//! Long runs survive: a run stopped by SIGTERM (what Slurm sends before a kill) saves its state,
//! says how to continue and exits 143; a run killed with SIGKILL keeps its last saved state;
//! `groklab train --resume DIR` (or `groklab train DIR`) then ends with the same metrics.csv and
//! checkpoint.safetensors bytes as the run that was never stopped. Real signals to a real process.

mod common;

use common::{groklab, stderr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// 600 steps of the small transformer: long enough to be stopped in the middle.
const ARGS: &[&str] = &[
    "preset",
    "modadd-quick",
    "--set",
    "train.steps=600",
    "--set",
    "train.checkpoint_every=50",
    "--set",
    "eval.every=25",
    "-q",
];

fn train_args(out: &str) -> Vec<&str> {
    let mut a = vec!["train"];
    a.extend_from_slice(ARGS);
    a.extend_from_slice(&["--out", out]);
    a
}

fn progress(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("progress.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Starts the run into `dir`, waits until it has saved a state past step 100, sends `signal`.
fn stop_midway(cwd: &Path, dir: &str, signal: &str) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_groklab"))
        .args(train_args(dir))
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = cwd.join(dir);
    // poll, not time: the state file and the step it is at
    while progress(&path)
        .and_then(|p| p["saved_step"].as_u64())
        .is_none_or(|s| s < 100)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    // the shell's own kill: no procps needed on a fresh machine
    let ok = Command::new("sh")
        .args(["-c", &format!("kill {signal} {}", child.id())])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait_with_output().unwrap()
}

fn same_files(a: &Path, b: &Path) {
    for f in [
        "metrics.csv",
        "checkpoint.safetensors",
        "init.safetensors",
        "fourier.csv",
    ] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between the whole run and the resumed one"
        );
    }
}

#[test]
fn interrupted_and_killed_runs_resume_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let whole = groklab(&train_args("whole"), cwd);
    assert!(whole.status.success(), "{}", stderr(&whole));

    // SIGTERM: the state is saved where the run stopped, the run says how to continue
    let out = stop_midway(cwd, "term", "-TERM");
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("SIGTERM") && err.contains("groklab train --resume term"),
        "{err}"
    );
    let p = progress(&cwd.join("term")).unwrap();
    assert_eq!(p["status"], "interrupted");
    assert_eq!(p["saved_step"], p["step"]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("term/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "interrupted");
    // the directory is offered for --resume, not refused as "not empty"
    let again = groklab(&train_args("term"), cwd);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("--resume term"),
        "{}",
        stderr(&again)
    );
    let resumed = groklab(&["train", "--resume", "term", "-q"], cwd);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    same_files(&cwd.join("whole"), &cwd.join("term"));
    assert_eq!(progress(&cwd.join("term")).unwrap()["status"], "finished");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("term/summary.json")).unwrap()).unwrap();
    let resumed_at = &summary["provenance"]["resumed"];
    assert_eq!(resumed_at.as_array().map(Vec::len), Some(1), "{summary}");
    assert_eq!(resumed_at[0]["command"][2], "--resume");
    assert!(!cwd.join("term/state.safetensors").exists());
    let done = groklab(&["train", "--resume", "term"], cwd);
    assert_eq!(done.status.code(), Some(2));
    assert!(stderr(&done).contains("finished"), "{}", stderr(&done));

    // SIGKILL: nothing runs at the kill; the last saved state (every 50 steps) is where the run
    // continues, and rows written after it are replaced
    let out = stop_midway(cwd, "kill", "-KILL");
    assert_eq!(out.status.code(), None, "killed by a signal");
    assert_eq!(progress(&cwd.join("kill")).unwrap()["status"], "running");
    // the probes' tables were written while it ran
    assert!(cwd.join("kill/fourier.csv").exists() && cwd.join("kill/split.csv").exists());
    let resumed = groklab(&["train", "kill", "-q"], cwd);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    same_files(&cwd.join("whole"), &cwd.join("kill"));
    // a directory that holds no unfinished run is not a source
    let not = groklab(&["train", "whole"], cwd);
    assert_eq!(not.status.code(), Some(2));
    assert!(
        stderr(&not).contains("no unfinished run"),
        "{}",
        stderr(&not)
    );
}

/// A sweep stopped by SIGTERM (a Slurm time limit) saves the chunk in training and exits 143; the
/// same command continues it, and every run ends with the bytes of the sweep that never stopped.
#[test]
fn an_interrupted_sweep_resumes_its_runs_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::write(
        cwd.join("s.toml"),
        "name = \"stop\"\nbase = \"modadd-quick\"\nseeds = [0]\n\n[set]\n\"train.steps\" = 400\n\
         \"train.checkpoint_every\" = 50\n\"eval.every\" = 25\n\n[[axes]]\n\
         key = \"optim.all.weight_decay\"\nvalues = [0.5, 1.0]\n",
    )
    .unwrap();
    fn sweep(out: &str) -> Vec<&str> {
        vec!["sweep", "s.toml", "--out", out, "--jobs", "1", "-q"]
    }
    let whole = groklab(&sweep("whole"), cwd);
    assert!(whole.status.success(), "{}", stderr(&whole));
    let child = Command::new(env!("CARGO_BIN_EXE_groklab"))
        .args(sweep("cut"))
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let states = cwd.join("cut/states");
    while std::fs::read_dir(&states).map_or(true, |mut d| d.next().is_none()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("groklab sweep resume cut"),
        "{}",
        stderr(&out)
    );
    let resumed = groklab(&["sweep", "resume", "cut", "--jobs", "1", "-q"], cwd);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let runs = |d: &str| {
        let mut v: Vec<_> = std::fs::read_dir(cwd.join(d).join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(runs("whole"), runs("cut"));
    assert_eq!(runs("whole").len(), 2);
    for r in runs("whole") {
        same_files(
            &cwd.join("whole/runs").join(&r),
            &cwd.join("cut/runs").join(&r),
        );
    }
    assert!(
        std::fs::read_dir(&states).unwrap().next().is_none(),
        "states removed"
    );
}
