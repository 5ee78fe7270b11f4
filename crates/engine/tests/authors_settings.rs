//! Settings the authors' code has: a split fixed across training seeds, x * y without y = 0, one
//! parity test set for every seed, and an L1 term's per-entry gradient.

use groklab_engine::Config;
use groklab_engine::presets;
use toml::Value;

fn modular(extra: &str) -> Config {
    Config::from_toml(
        &format!(
            "seed = 1\n[task]\nkind = \"modular\"\np = 11\nop = \"x*y\"\ntrain = 0.5\n{extra}\n\
             [model]\nkind = \"transformer\"\nd_model = 8\n[optim.all]\nparams = [\"*\"]\n"
        ),
        "test",
    )
    .unwrap()
}

fn with_seed(c: &Config, seed: i64) -> Config {
    c.with(&[("seed", Value::Integer(seed))]).unwrap()
}

#[test]
fn split_seed_fixes_the_split_across_training_seeds() {
    let fixed = modular("split_seed = 0");
    let (a, b) = (
        with_seed(&fixed, 1).dataset(),
        with_seed(&fixed, 2).dataset(),
    );
    assert_eq!(a.train.sample, b.train.sample);
    assert_eq!(a.val.sample, b.val.sample);
    // and it is the split seed 0 draws without split_seed
    let free = modular("");
    assert_eq!(with_seed(&free, 0).dataset().train.sample, a.train.sample);
    assert_ne!(
        with_seed(&free, 1).dataset().train.sample,
        with_seed(&free, 2).dataset().train.sample
    );
    let e = Config::from_toml(
        "[task]\nkind = \"modular\"\nsplit_seed = -1\n[optim.all]\nparams = [\"*\"]\n",
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("task.split_seed"), "{e}");
}

#[test]
fn y_nonzero_leaves_out_the_zero_operand() {
    let c = modular("y_nonzero = true");
    let d = c.dataset();
    // 11 * 10 equations, half of them (rounded) to train
    assert_eq!(d.train.len() + d.val.len(), 110);
    let Some(groklab_engine::task::Features::Tokens(t)) = Some(&d.train.x) else {
        panic!("tokens")
    };
    assert!(t[2].iter().all(|&y| y != 0), "operand b is never 0");
    assert_eq!(
        modular("").dataset().val.len() + modular("").dataset().train.len(),
        121
    );
}

#[test]
fn a_fixed_parity_test_set_is_the_same_for_every_seed() {
    let base = presets::load("merrill2023-parity").unwrap();
    let fixed = base
        .with(&[("task.test_seed", Value::Integer(2001))])
        .unwrap();
    let (a, b) = (
        with_seed(&fixed, 0).dataset(),
        with_seed(&fixed, 1).dataset(),
    );
    assert_eq!(a.val, b.val);
    assert_ne!(a.train, b.train);
    // another test seed, another test set
    let other = base.with(&[("task.test_seed", Value::Integer(7))]).unwrap();
    assert_ne!(with_seed(&other, 0).dataset().val, a.val);
}

#[test]
fn the_l1_term_per_entry_is_its_coefficient_over_the_groups_entries() {
    let s3 = presets::load("liu2022-s3").unwrap();
    let model = s3.build_model();
    // the embedding group holds the 6 x 9 matrix embeddings
    let g = s3.l1_per_entry("embed", model.specs());
    assert!((g - 1e-3 / 54.0).abs() < 1e-18, "{g}");
    assert_eq!(s3.l1_per_entry("decoder", model.specs()), 0.0);
    let sum = s3
        .with(&[("optim.embed.l1_reduction", Value::String("sum".into()))])
        .unwrap();
    assert_eq!(sum.l1_per_entry("embed", model.specs()), 1e-3);
}

/// `loss.precision = "f64"` trains on both paths, to the same losses (f32 models, 1e-4 relative).
#[test]
fn f64_cross_entropy_trains_on_both_paths() {
    use groklab_engine::train::{TrainOptions, train};
    let c = modular("")
        .with(&[
            ("loss.kind", Value::String("cross-entropy".into())),
            ("loss.precision", Value::String("f64".into())),
            ("train.steps", Value::Integer(20)),
            ("eval.log_points", Value::Integer(0)),
            ("eval.every", Value::Integer(10)),
        ])
        .unwrap();
    let losses = |path: &str| {
        let c = c
            .with(&[("train.path", Value::String(path.into()))])
            .unwrap();
        let r = train(std::slice::from_ref(&c), &TrainOptions::default()).unwrap();
        r.members[0].metrics.column("train_loss").unwrap()
    };
    let (fused, autodiff) = (losses("fused"), losses("autodiff"));
    for (a, b) in fused.iter().zip(&autodiff) {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{fused:?} vs {autodiff:?}"
        );
    }
    assert!(fused.last() < fused.first(), "it trains: {fused:?}");
}
