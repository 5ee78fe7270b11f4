//! Helpers shared by the end-to-end tests: run the binary in a directory, read what it printed.
// Each test crate uses its own subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `groklab ARGS` in `cwd`.
pub fn groklab(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_groklab"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout parsed as JSON (the test fails with the text if it is not).
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}
