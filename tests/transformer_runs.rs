//! End-to-end runs of the modular-arithmetic setups: a transformer that groks, its files and probe
//! columns, TransformerLens names in its checkpoint, the S3 matrix-embedding model, and bad input.

mod common;

use common::{groklab, json, stderr};

/// A small transformer on x + y mod 41 fits, then generalises: the run is recorded as grokking,
/// and the Fourier probe finds its key frequencies.
#[test]
fn a_small_transformer_groks_modular_addition_with_every_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "modadd-quick",
            "--set",
            "task.p=41",
            "--set",
            "task.train=0.6",
            "--set",
            "model.d_model=64",
            "--set",
            "model.d_mlp=256",
            "--set",
            "optim.all.lr=2e-3",
            "--set",
            "train.steps=2000",
            "--set",
            "phase.gap=100",
            "--set",
            "eval.attention_samples=3",
            "--out",
            "r",
            "-q",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = json(&o);
    let dir = tmp.path().join("r");
    for f in [
        "fourier.csv",
        "attention.csv",
        "split.csv",
        "checkpoint.safetensors",
        "index.html",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    assert_eq!(s["phase"], "grokking", "{s}");
    assert!(s["final"]["val_acc"].as_f64().unwrap() >= 0.99, "{s}");
    let k1 = s["key_frequency_1"].as_f64().expect("a key frequency");
    assert!((1.0..=20.0).contains(&k1));
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let header = metrics.lines().next().unwrap();
    for c in [
        "key_power",
        "restricted_loss",
        "excluded_loss",
        "eff_dim",
        "softmax_collapse",
        "norm_embed",
        "norm_blocks.0.attn",
        "norm_unembed",
    ] {
        assert!(
            header.split(',').any(|h| h == c),
            "no column {c} in {header}"
        );
    }
    // after grokking the key frequencies carry the logits: the restricted loss is small and the
    // excluded loss large
    let cols: Vec<&str> = header.split(',').collect();
    let last: Vec<f64> = metrics
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    let at = |name: &str| last[cols.iter().position(|c| *c == name).unwrap()];
    assert!(at("excluded_loss") > at("train_loss"), "{last:?}");
    // attention patterns: 1 layer x 4 heads x 3 samples x 3 queries x 3 keys, each row a
    // distribution that never looks ahead (causal)
    let att = std::fs::read_to_string(dir.join("attention.csv")).unwrap();
    let rows: Vec<Vec<f64>> = att
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 4 * 3 * 9);
    for q in rows.chunks(3) {
        assert!((q.iter().map(|r| r[5]).sum::<f64>() - 1.0).abs() < 1e-5);
        for r in q {
            if r[4] > r[3] {
                assert!(r[5] < 1e-6, "attends ahead: {r:?}");
            }
        }
    }
    // TransformerLens names and shapes in the checkpoint
    let bytes = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(
        header["blocks.0.attn.W_Q"]["shape"],
        serde_json::json!([4, 64, 16])
    );
    assert_eq!(header["embed.W_E"]["shape"], serde_json::json!([42, 64]));
    assert_eq!(header["unembed.W_U"]["shape"], serde_json::json!([64, 41]));
}

#[test]
fn s3_with_matrix_embeddings_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let o = groklab(
        &[
            "train",
            "preset",
            "liu2022-s3",
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
    let s = json(&o);
    assert!(s["final"]["train_acc"].as_f64().unwrap() > 0.3, "{s}");
    let config = std::fs::read_to_string(tmp.path().join("r/config.toml")).unwrap();
    assert!(config.contains("combine = \"product\""), "{config}");
}

#[test]
fn bad_transformer_settings_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (set, key) in [
        ("model.norm=\"sideways\"", "model.norm"),
        ("task.op=\"x/y\"", "task.p"),
        ("model.n_heads=0", "model.n_heads"),
        ("optim.all.grokfast=\"fft\"", "optim.all.grokfast"),
        ("optim.all.grokfast_alpha=1.5", "optim.all.grokfast_alpha"),
    ] {
        let mut args = vec![
            "train",
            "preset",
            "modadd-quick",
            "--set",
            set,
            "--out",
            "x",
        ];
        if set.starts_with("task.op") {
            args.extend(["--set", "task.p=60"]);
        }
        if set.contains("alpha") {
            args.extend(["--set", "optim.all.grokfast=\"ema\""]);
        }
        let o = groklab(&args, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{set}: {}", stderr(&o));
        assert!(stderr(&o).contains(key), "{set}: {}", stderr(&o));
        assert!(!tmp.path().join("x").exists());
    }
}
