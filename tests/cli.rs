//! End-to-end tests of the `groklab` binary in temporary directories.

mod common;

use common::{groklab, json, stderr};

#[test]
fn invalid_configs_exit_2_name_the_key_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("broken.toml"), "[task\np = 3").unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--set", "optim.decoder.lr=-1"],
            &["optim.decoder.lr", "-1", "> 0"],
        ),
        (
            &["--set", "model.d_hiden=[10]"],
            &["model.d_hiden", "did you mean `model.d_hidden`"],
        ),
        (
            &["--set", "task.train=100"],
            &["task.train", "100", "from 1 to 55"],
        ),
        (
            &["--set", "task.train=1.5"],
            &["task.train", "1.5", "fraction"],
        ),
        (
            &["--set", "model.head=\"softmax\""],
            &["model.head", "softmax", "regression"],
        ),
        (
            &["--set", "optim.embed.params=[\"nothing\"]"],
            &["optim.embed.params", "nothing", "embed.W_E"],
        ),
        (
            &["--set", "optim.extra.params=[\"decoder\"]"],
            &["decoder.0.W", "exactly one group"],
        ),
        (
            &["--set", "train.steps=0"],
            &["train.steps", "0", "from 1 to"],
        ),
        (
            &["--set", "phase.acc_threshold=2"],
            &["phase.acc_threshold", "(0, 1]"],
        ),
        (&["--set", "nokey"], &["--set nokey", "key=value"]),
    ];
    for (extra, needles) in cases {
        let out = tmp.path().join("run");
        let mut args = vec![
            "train",
            "preset",
            "liu2022-toy",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ];
        args.extend_from_slice(extra);
        let o = groklab(&args, tmp.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        for n in *needles {
            assert!(err.contains(n), "{extra:?}: expected {n:?} in {err}");
        }
        assert!(!out.exists(), "{extra:?} wrote {}", out.display());
        assert!(o.stdout.is_empty());
    }
    let o = groklab(&["train", "preset", "liu2022-tyo"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `liu2022-toy`"),
        "{}",
        stderr(&o)
    );
    let o = groklab(&["train", "broken.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broken.toml"), "{}", stderr(&o));
    let o = groklab(&["train", "missing.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("runs").exists());
}

#[test]
fn short_run_writes_every_file_and_the_checkpoint_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "train.steps=300",
            "--out",
            "r",
            "-q",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = tmp.path().join("r");
    for f in [
        "config.toml",
        "metrics.csv",
        "embeddings.csv",
        "summary.json",
        "checkpoint.safetensors",
        "init.safetensors",
        "split.csv",
        "targets.csv",
        "loss.svg",
        "accuracy.svg",
        "rqi.svg",
        "embeddings.svg",
        "wnorm.svg",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let s = json(&o);
    for k in [
        "steps_to_train_acc",
        "steps_to_val_acc",
        "grokking_gap",
        "phase",
        "final",
        "steps",
        "wall_seconds",
        "steps_per_second",
    ] {
        assert!(s.get(k).is_some(), "summary lacks {k}");
    }
    for k in ["train_acc", "val_acc", "train_loss", "val_loss", "rqi"] {
        assert!(s["final"][k].is_number(), "final lacks {k}");
    }
    assert_eq!(s["steps"], 300);
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(on_disk["phase"], s["phase"]);
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let header = metrics.lines().next().unwrap();
    assert_eq!(
        header,
        "step,train_loss,val_loss,train_acc,val_acc,wnorm,wnorm_decoder,wnorm_embed,lr_decoder,lr_embed,rqi,acc_hat,acc_hat_val"
    );
    assert!(metrics.lines().last().unwrap().starts_with("300,"));
    let bytes = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("decoder.0.W".into(), vec![1, 200]),
            ("decoder.0.b".into(), vec![200]),
            ("decoder.1.W".into(), vec![200, 200]),
            ("decoder.1.b".into(), vec![200]),
            ("decoder.2.W".into(), vec![200, 30]),
            ("decoder.2.b".into(), vec![30]),
            ("embed.W_E".into(), vec![10, 1]),
        ]
    );
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["step"], "300");
    assert!(meta["config"].contains("liu2022-toy"));
    // init.safetensors holds the step-0 parameters under the same names
    let init = std::fs::read(dir.join("init.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&init).unwrap();
    assert_eq!(meta.metadata().clone().unwrap()["step"], "0");
    assert_eq!(
        safetensors::SafeTensors::deserialize(&init)
            .unwrap()
            .tensors()
            .len(),
        7
    );
    let split = std::fs::read_to_string(dir.join("split.csv")).unwrap();
    assert_eq!(split.lines().next().unwrap(), "sample,a,b,label,train");
    assert_eq!(split.lines().count(), 56);
    assert_eq!(split.lines().filter(|l| l.ends_with(",1")).count(), 45);
    assert_eq!(
        std::fs::read_to_string(dir.join("targets.csv"))
            .unwrap()
            .lines()
            .count(),
        20
    );
    // the resolved config re-runs as a file
    let o = groklab(
        &[
            "train",
            "r/config.toml",
            "--set",
            "train.steps=20",
            "--out",
            "again",
            "-q",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn same_config_and_seed_give_identical_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |out: &str, seed: &str| {
        let o = groklab(
            &[
                "train",
                "preset",
                "liu2022-toy",
                "--set",
                "train.steps=400",
                "--seed",
                seed,
                "--out",
                out,
                "-q",
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(tmp.path().join(out).join("metrics.csv")).unwrap()
    };
    let a = run("a", "7");
    let b = run("b", "7");
    let c = run("c", "8");
    assert_eq!(a, b, "same seed, different metrics");
    assert_ne!(a, c, "different seeds, same metrics");
    // two processes write byte-identical checkpoints (issue 6: metadata order varied)
    for f in ["checkpoint.safetensors", "init.safetensors"] {
        let read = |d: &str| std::fs::read(tmp.path().join(d).join(f)).unwrap();
        assert_eq!(read("a"), read("b"), "{f} differs between identical runs");
    }
}

/// Issue 6: a run never overwrites another run or a user's files.
#[test]
fn runs_never_overwrite_runs_or_user_files() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "train.steps=20",
            "-q",
        ];
        args.extend_from_slice(extra);
        groklab(&args, tmp.path())
    };
    // default directories: the overrides are in the name, and a repeat gets a counter
    for wd in ["0.5", "1.0", "1.0"] {
        let set = format!("optim.decoder.weight_decay={wd}");
        let o = train(&["--set", &set]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut dirs: Vec<String> = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "liu2022-toy-seed0-train.steps=20-optim.decoder.weight_decay=0.5",
            "liu2022-toy-seed0-train.steps=20-optim.decoder.weight_decay=1.0",
            "liu2022-toy-seed0-train.steps=20-optim.decoder.weight_decay=1.0-2",
        ]
    );
    // --out into a user's directory that holds anything is refused, and nothing is touched
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("metrics.csv"), "my data").unwrap();
    for extra in [&["--out", "mine"][..], &["--out", "mine", "--overwrite"]] {
        let o = train(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("`--out`"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(mine.join("metrics.csv")).unwrap(),
            "my data"
        );
        assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
    }
    // --overwrite replaces a groklab run directory
    let o = train(&["--out", "r", "--seed", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = train(&["--out", "r"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    let o = train(&["--out", "r", "--overwrite", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["seed"], 0);
    let config = std::fs::read_to_string(tmp.path().join("r/config.toml")).unwrap();
    assert!(config.contains("seed = 0"), "{config}");
    // a file where the directory should be
    std::fs::write(tmp.path().join("afile"), "x").unwrap();
    let o = train(&["--out", "afile"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Issue 6: a config that cannot fit in memory is refused before any allocation.
#[test]
fn configs_too_big_for_memory_are_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "model.d_hidden=[100000,100000]",
            "--out",
            "big",
        ],
        tmp.path(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("GiB") && err.contains("the machine has") && err.contains("`model`"),
        "{err}"
    );
    assert!(!tmp.path().join("big").exists());
    let o = groklab(
        &[
            "train",
            "preset",
            "levi2023-fig1-lambda0.9",
            "--set",
            "task.d_in=100000",
            "--set",
            "task.n_test=10000000",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!tmp.path().join("runs").exists());
}

#[test]
fn classification_and_minibatch_runs_work() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy-classification",
            "--set",
            "train.steps=200",
            "--set",
            "train.batch_size=16",
            "--out",
            "c",
            "-q",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = json(&o);
    let loss = s["final"]["train_loss"].as_f64().unwrap();
    // cross-entropy starts near ln(19) = 2.94 and must have gone down
    assert!(loss < 2.9, "train loss {loss}");
}

#[test]
fn diverging_run_is_recorded_not_crashed() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "train.steps=200",
            "--set",
            "optim.decoder.optimizer=\"sgd\"",
            "--set",
            "optim.decoder.lr=1e6",
            "--out",
            "d",
            "-q",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = json(&o);
    assert_eq!(s["phase"], "diverged");
    assert!(s["diverged_at"].as_u64().unwrap() <= 200);
    assert!(tmp.path().join("d/metrics.csv").exists());
}

#[test]
fn presets_list_and_show_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["presets"], tmp.path());
    assert!(o.status.success());
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(list.contains("liu2022-toy ") && list.contains("liu2022-toy-classification"));
    let o = groklab(
        &["presets", "show", "liu2022-toy-classification"],
        tmp.path(),
    );
    assert!(o.status.success());
    std::fs::write(tmp.path().join("p.toml"), &o.stdout).unwrap();
    let o = groklab(
        &[
            "train",
            "p.toml",
            "--set",
            "train.steps=10",
            "--out",
            "p",
            "-q",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["name"], "liu2022-toy-classification");
    let o = groklab(&["presets", "show", "nope"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    // a paper's preset says which figure it reproduces, and shows where its values came from
    assert!(
        list.contains("prieto2025-stablemax") && list.contains("[Prieto et al. 2025, fig. 1(c)]")
    );
    let o = groklab(&["presets", "show", "prieto2025-stablemax"], tmp.path());
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("lr = 0.01  # run_main_experiments.sh:50"),
        "{text}"
    );
}

/// `groklab presets | head -1`: the reader closes the pipe early, and the listing ends quietly.
#[test]
fn presets_into_a_closed_pipe_exit_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_groklab"))
        .arg("presets")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the read end closes before the binary has started writing (it is still loading)
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("panicked"), "{err}");
}

#[test]
fn theory_addition_json_has_the_documented_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "theory",
            "addition",
            "--p",
            "6",
            "--samples",
            "300",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["p"], 6);
    assert_eq!(j["pairs"], 21);
    // sums 0..10 have 1,1,2,2,3,3,3,2,2,1,1 pairs: 0+0+1+1+3+3+3+1+1 = 13 parallelograms
    assert_eq!(j["parallelograms"], 13);
    let p = j["p_nullity2"].as_object().unwrap();
    assert_eq!(p.len(), 22);
    assert_eq!(p["21"], 1.0);
    assert_eq!(p["0"], 0.0);
    let c = j["critical_fraction"].as_f64().unwrap();
    assert!(c > 0.0 && c < 1.0);
    let o = groklab(&["theory", "addition", "--p", "1"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn quickstart_runs_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(&["quickstart", "--out", "q", "--json"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("effective theory") && err.contains("verdict"),
        "{err}"
    );
    assert!(tmp.path().join("q/summary.json").exists());
    assert_eq!(json(&o)["name"], "liu2022-toy");
}

#[test]
fn effective_theory_beside_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "train.steps=200",
            "--out",
            "r",
            "-q",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = groklab(&["theory", "addition", "--run", "r", "--json"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["p"], 10);
    assert_eq!(j["train_pairs"], 45);
    assert!(j["nullity"].as_u64().unwrap() >= 2);
    let csv = std::fs::read_to_string(tmp.path().join("r/effective_theory.csv")).unwrap();
    assert!(csv.starts_with("step,effective_loss,rqi,e0_0"));
    // the effective loss falls along its own gradient flow
    let losses: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(losses.last().unwrap() < &losses[0]);
    let o = groklab(&["theory", "addition", "--run", "nowhere"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}

/// Issue 9: `--init` starts from a checkpoint; a run continued from its own checkpoint ends where
/// the uninterrupted run ends (full-batch gradient descent, no optimiser state), and a checkpoint
/// of another model is refused naming the parameter.
#[test]
fn init_continues_a_run_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |args: &[&str]| {
        let mut a = vec![
            "train",
            "preset",
            "levi2023-fig1-lambda0.9",
            "--set",
            "task.d_in=50",
            "--set",
            "task.n_test=100",
            "--set",
            "eval.log_points=5",
            "-q",
        ];
        a.extend_from_slice(args);
        groklab(&a, tmp.path())
    };
    for (args, out) in [
        (&["--set", "train.steps=300"][..], "whole"),
        (&["--set", "train.steps=200"][..], "first"),
    ] {
        let mut a = args.to_vec();
        a.extend(["--out", out]);
        let o = train(&a);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = train(&[
        "--set",
        "train.steps=100",
        "--init",
        "first/checkpoint.safetensors",
        "--out",
        "rest",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tensors = |dir: &str| {
        let bytes = std::fs::read(tmp.path().join(dir).join("checkpoint.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .map(|(n, t)| (n, t.data().to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(tensors("rest"), tensors("whole"));
    // the continued run's init.safetensors holds the checkpoint it started from
    let a = std::fs::read(tmp.path().join("first/checkpoint.safetensors")).unwrap();
    let b = std::fs::read(tmp.path().join("rest/init.safetensors")).unwrap();
    let data = |bytes: &[u8]| {
        let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
        st.tensor("mlp.0.W").unwrap().data().to_vec()
    };
    assert_eq!(data(&a), data(&b));
    // its provenance names the build, the command, the overrides and the --init file by SHA-256
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("rest/summary.json")).unwrap())
            .unwrap();
    let p = &summary["provenance"];
    let sha = p["init"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(p["overrides"][3], "train.steps=100", "{p}");
    assert!(
        p["command"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--init"),
        "{p}"
    );
    assert!(p["started"].as_str().unwrap().ends_with('Z') && p["threads"].as_u64() >= Some(1));
    assert_eq!(p["groklab"], env!("CARGO_PKG_VERSION"));
    // another model's checkpoint: exit 2, naming the parameter, nothing written
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--init",
            "first/checkpoint.safetensors",
            "--out",
            "bad",
            "-q",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`--init`") && stderr(&o).contains("embed.W_E"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("bad").exists());
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--init",
            "nothing.safetensors",
            "-q",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The messages a new user meets first: a mistyped optimiser group names the groups there are, a
/// sweep preset given to `train` (and a run preset to `sweep`) says which command takes it, and
/// `sweep --set` overrides every run and is kept in the sweep's definition.
#[test]
fn wrong_turns_say_the_right_one() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-toy",
            "--set",
            "optim.decoderr.lr=0.1",
            "--out",
            "x",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("optim.decoderr")
            && e.contains("did you mean `decoder`")
            && e.contains("params"),
        "{e}"
    );
    let o = groklab(
        &["train", "preset", "liu2022-phase-regression-quick"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("groklab sweep preset liu2022-phase-regression-quick"));
    let o = groklab(&["sweep", "preset", "liu2022-toy"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("groklab train preset liu2022-toy"));
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("sweeps").exists());
    let o = groklab(
        &[
            "sweep",
            "preset",
            "liu2022-phase-regression-quick",
            "--set",
            "train.steps=30",
            "--out",
            "s",
            "-q",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let def = std::fs::read_to_string(tmp.path().join("s/sweep.toml")).unwrap();
    assert!(def.contains("\"train.steps\" = 30"), "{def}");
    let cfg = std::fs::read_to_string(tmp.path().join("s/runs/r0000/config.toml")).unwrap();
    assert!(cfg.contains("steps = 30"), "{cfg}");
    let o = groklab(
        &["sweep", "resume", "s", "--set", "train.steps=40"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
}

/// `groklab compare`: two runs' metric in one SVG, their summaries in compare.csv and index.html;
/// a metric one of them lacks exits 2 and writes nothing.
#[test]
fn compare_overlays_runs_and_tabulates_their_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    for (seed, out) in [("0", "a"), ("1", "b")] {
        let o = groklab(
            &[
                "train",
                "preset",
                "liu2022-toy",
                "--set",
                "train.steps=200",
                "--seed",
                seed,
                "--out",
                out,
                "-q",
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = groklab(
        &[
            "compare", "a", "b", "--metric", "rqi", "--out", "c", "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = json(&o);
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(rows[1]["seed"], "1");
    let svg = std::fs::read_to_string(tmp.path().join("c/compare_rqi.svg")).unwrap();
    assert!(
        svg.contains(">\na\n<") && svg.contains(">\nb\n<"),
        "both runs in the legend"
    );
    let csv = std::fs::read_to_string(tmp.path().join("c/compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.starts_with("run,dir,name,seed,status,phase,steps_to_train_acc"));
    assert!(tmp.path().join("c/index.html").exists());
    let o = groklab(
        &["compare", "a", "b", "--metric", "nope", "--out", "d"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--metric") && stderr(&o).contains("val_acc"));
    assert!(!tmp.path().join("d").exists());
}
