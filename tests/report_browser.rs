//! The sweep report in a real browser: headless Chromium opens `index.html` from the file system
//! (no server, no network), the page logs no console errors, shows the phase diagram and the
//! table of runs, and sorts the table (`#sort=-COLUMN`). Needs Debian's `chromium` (`.ci/run`
//! installs it); without it the test says it was skipped, unless `GROKLAB_BROWSER=1` demands it.

mod common;

use common::{groklab, stderr};
use std::path::Path;
use std::process::Command;

const SWEEP: &str = r#"
name = "browser-test"
description = "a sweep for the browser"
base = "liu2022-toy"
seeds = [0, 1]
[set]
"train.steps" = 200
"eval.log_points" = 20
[[axes]]
key = "optim.decoder.lr"
logspace = [-4, -2, 3]
[[axes]]
key = "optim.decoder.weight_decay"
values = [0.0, 5.0]
"#;

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Headless Chromium with the flags this machine's closed network needs.
fn browser(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium().unwrap())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--allow-file-access-from-files",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

#[test]
fn the_sweep_page_loads_in_chromium_and_sorts() {
    if chromium().is_none() {
        assert_ne!(
            std::env::var("GROKLAB_BROWSER").as_deref(),
            Ok("1"),
            "GROKLAB_BROWSER=1 but chromium is not installed"
        );
        eprintln!("skipped: install Debian's chromium (.ci/run does)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.toml"), SWEEP).unwrap();
    let o = groklab(&["sweep", "s.toml", "--out", "sw", "-q"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let page = tmp.path().join("sw/index.html").canonicalize().unwrap();
    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("profile");
    let o = browser(&profile, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        dom.contains("<img src=\"phases.svg\""),
        "no phase diagram in the page"
    );
    assert_eq!(dom.matches("<tr>").count(), 13, "a header and 12 runs");
    assert!(dom.contains("<a href=\"runs/r0000/index.html\">r0000</a>"));
    // the run pages load too
    let run = tmp
        .path()
        .join("sw/runs/r0003/index.html")
        .canonicalize()
        .unwrap();
    let o = browser(
        &profile,
        &["--dump-dom", &format!("file://{}", run.display())],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("<img src=\"accuracy.svg\""));
    // sorted descending by the decoder learning rate, from the address
    let o = browser(
        &profile,
        &["--dump-dom", &format!("{url}#sort=-optim.decoder.lr")],
    );
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    let first_rows: Vec<&str> = dom
        .split("<tr>")
        .skip(2)
        .take(4)
        .map(|r| r.split("</td>").nth(1).unwrap_or(""))
        .collect();
    assert!(
        first_rows.iter().all(|c| c.ends_with("0.01")),
        "not sorted by lr descending: {first_rows:?}"
    );
    // a screenshot to look at
    let shot = tmp.path().join("page.png");
    let o = browser(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1800",
            &url,
        ],
    );
    assert!(o.status.success() && shot.is_file());
    if let Ok(keep) = std::env::var("GROKLAB_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
