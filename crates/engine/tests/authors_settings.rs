//! Settings the authors' code has: a split fixed across training seeds, x * y without y = 0, one
//! parity test set for every seed, an L1 term's per-entry gradient, and Power et al.'s
//! `<eos> a op b = c <eos>` framing.

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
    for kind in ["cross-entropy", "stablemax"] {
        f64_loss_trains_on_both_paths(kind);
    }
}

fn f64_loss_trains_on_both_paths(kind: &str) {
    use groklab_engine::train::{TrainOptions, train};
    let c = modular("")
        .with(&[
            ("loss.kind", Value::String(kind.into())),
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

/// Power et al.'s framing: six input tokens `<eos> a op b = c`, the answer and the closing `<eos>`
/// predicted at the last two positions, the loss the mean over exactly those two rows of every
/// sample, and a sample right only when both are.
#[test]
fn the_eos_format_reads_the_answer_and_the_closing_eos() {
    use burn::prelude::*;
    use groklab_engine::batch;
    use groklab_engine::head::{Encoding, Target};
    use groklab_engine::model::Hooks;
    use groklab_engine::params::{Params, Precision};
    use groklab_engine::seed::{Stream, rng};
    use groklab_engine::task::Features;
    let c = modular("format = \"eos a op b = c eos\"\ny_nonzero = true")
        .with(&[
            ("model.d_vocab_out", Value::Integer(20)),
            ("train.dtype", Value::String("f64".into())),
        ])
        .unwrap();
    let (p, eos) = (11usize, 13usize);
    let shape = c.task.shape();
    assert_eq!(shape.after, vec![eos]);
    let d = c.dataset();
    let Features::Tokens(t) = &d.train.x else {
        panic!("tokens")
    };
    assert_eq!(t.len(), 6);
    for (k, &a) in t[1].iter().enumerate() {
        let b = t[3][k];
        assert_eq!([t[0][k], t[2][k], t[4][k]], [eos, p, p + 1]);
        assert_eq!(t[5][k], (a * b) % p, "the answer is fed in");
        assert_eq!(d.train.class(k), Some((a * b) % p));
    }
    let model = c.build_model();
    assert_eq!(model.d_out(), 2 * 20, "two rows of 20 logits");
    let enc = Encoding::new(model.head(), shape.output, None, c.seed).with_after(shape.after);
    // the loss of the framework: burn's training form over the rows of every sample
    let params = Params::from_members(
        model.specs().to_vec(),
        vec![model.init(&mut rng(c.seed, Stream::Init))],
        Precision::F64,
    );
    let device = Device::flex();
    let rows = vec![(0..d.train.len()).collect::<Vec<usize>>()];
    let b = batch::batch(
        &[&d.train],
        &[&enc],
        &rows,
        c.loss.wants(),
        &device,
        Precision::F64,
    );
    let out = model.forward(&params.tensors(&device), &b.inputs, &mut Hooks::none());
    let logits: Vec<f64> = out.clone().into_data().iter::<f64>().collect();
    let trained: f64 = c
        .loss
        .train(b.targets.rows(out), &b.targets)
        .into_data()
        .iter::<f64>()
        .sum();
    // by hand: cross-entropy of row 0 against the answer and of row 1 against <eos>, averaged
    // over the 2 n rows
    let ce = |o: &[f64], y: usize| {
        let max = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        max + o.iter().map(|x| (x - max).exp()).sum::<f64>().ln() - o[y]
    };
    let n = d.train.len();
    let by_hand: f64 = (0..n)
        .map(|k| {
            let o = &logits[k * 40..(k + 1) * 40];
            ce(&o[..20], d.train.class(k).unwrap()) + ce(&o[20..], eos)
        })
        .sum::<f64>()
        / (2 * n) as f64;
    assert!((trained - by_hand).abs() < 1e-12, "{trained} vs {by_hand}");
    // evaluation: the same mean per sample; right only when both rows are
    let mut o = vec![0.0; 40];
    o[3] = 5.0; // the answer's row says 3
    o[20 + eos] = 5.0; // the closing row says <eos>
    let k = (0..n).find(|&k| d.train.class(k) == Some(3)).unwrap();
    let (loss, right) = enc.score(&*c.loss, &o, &d.train, k);
    assert!(right);
    assert!(
        (loss
            - (c.loss.eval(&o[..20], Target::Class(3))
                + c.loss.eval(&o[20..], Target::Class(eos)))
                / 2.0)
            .abs()
            < 1e-15
    );
    o[20 + eos] = 0.0;
    o[20 + 3] = 5.0; // the closing row says 3: the sample is wrong though its answer is right
    assert!(!enc.score(&*c.loss, &o, &d.train, k).1);
    // a model that could read the fed-in answer is refused, naming the key
    for (set, key) in [
        (("model.causal", Value::Boolean(false)), "model.causal"),
        (
            ("model.readout", Value::String("concat".into())),
            "model.readout",
        ),
    ] {
        let e = c.with(&[set]).unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
    }
    let e = groklab_engine::Config::from_toml(
        "[task]\nkind = \"modular\"\np = 11\nformat = \"eos a op b = c eos\"\n\
         [model]\nkind = \"toy\"\n[optim.all]\nparams = [\"*\"]\n",
        "toy",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("model.kind") && e.contains("last 2 positions"),
        "{e}"
    );
}
