//! The transformer: TransformerLens names and shapes, the causal mask, gradients against finite
//! differences in f64, ensemble members equal to solo runs.

use burn::prelude::*;
use groklab_engine::Config;
use groklab_engine::batch;
use groklab_engine::model::{Hooks, Model};
use groklab_engine::params::{Params, Precision};
use groklab_engine::seed::{Stream, rng};
use groklab_engine::task::{Dataset, Features};

fn config(model: &str, task: &str) -> Config {
    let text = format!(
        "seed = 3\n[task]\nkind = \"modular\"\np = 7\ntrain = 0.5\n{task}\n\
         [model]\nkind = \"transformer\"\n{model}\n\
         [optim.all]\nparams = [\"*\"]\n\
         [train]\nsteps = 5\ndtype = \"f64\"\n"
    );
    Config::from_toml(&text, "test").unwrap()
}

fn tiny(extra: &str) -> Config {
    // defaults that `extra` does not set
    let defaults = [
        ("n_layers", "2"),
        ("d_model", "8"),
        ("n_heads", "2"),
        ("d_mlp", "12"),
    ];
    let mut text = String::new();
    for (k, v) in defaults {
        if !extra.lines().any(|l| l.starts_with(&format!("{k} "))) {
            text.push_str(&format!("{k} = {v}\n"));
        }
    }
    text.push_str(extra);
    config(&text, "format = \"a op b =\"")
}

fn params_of(model: &dyn Model, seed: u64) -> Params {
    Params::from_members(
        model.specs().to_vec(),
        vec![model.init(&mut rng(seed, Stream::Init))],
        Precision::F64,
    )
}

/// Outputs [B, d_out] of the training split and the recorded hooks.
fn run(c: &Config, values: &Params, data: &Dataset, hooks: &mut Hooks) -> Vec<f64> {
    let model = c.build_model();
    let device = Device::flex();
    let rows = vec![(0..data.train.len()).collect::<Vec<usize>>()];
    let inputs = batch::inputs(&[&data.train], &rows, &device, Precision::F64);
    let out = model.forward(&values.tensors(&device), &inputs, hooks);
    out.into_data().iter::<f64>().collect()
}

#[test]
fn parameters_carry_transformer_lens_names_and_shapes() {
    let c = tiny("");
    let model = c.build_model();
    let shapes: Vec<(String, Vec<usize>)> = model
        .specs()
        .iter()
        .map(|s| (s.name.clone(), s.shape.clone()))
        .collect();
    let has = |n: &str, s: &[usize]| {
        assert!(
            shapes.iter().any(|(a, b)| a == n && b == s),
            "{n} {s:?} missing from {shapes:?}"
        )
    };
    has("embed.W_E", &[9, 8]);
    has("pos_embed.W_pos", &[4, 8]);
    has("blocks.1.attn.W_Q", &[2, 8, 4]);
    has("blocks.1.attn.W_O", &[2, 4, 8]);
    has("blocks.0.attn.b_K", &[2, 4]);
    has("blocks.0.ln1.w", &[8]);
    has("blocks.0.mlp.W_in", &[8, 12]);
    has("blocks.0.mlp.W_out", &[12, 8]);
    has("ln_final.b", &[8]);
    has("unembed.W_U", &[8, 7]);
    has("unembed.b_U", &[7]);
    // 2 layers x (ln1 2 + attn 8 + ln2 2 + mlp 4) + embed, pos, ln_final 2, unembed 2
    assert_eq!(shapes.len(), 2 * 16 + 6);
    let none = tiny("norm = \"none\"\npos = \"none\"\ntied = true");
    let names: Vec<String> = none
        .build_model()
        .specs()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("ln") || n.contains("pos") || n == "unembed.W_U")
    );
    let data = c.dataset();
    let out = run(&c, &params_of(&*model, 0), &data, &mut Hooks::none());
    assert_eq!(out.len(), data.train.len() * 7);
    assert!(out.iter().all(|x| x.is_finite()));
}

#[test]
fn a_causal_mask_makes_earlier_positions_independent_of_later_tokens() {
    for causal in [true, false] {
        let c = tiny(&format!("causal = {causal}"));
        let model = c.build_model();
        let p = params_of(&*model, 1);
        let mut data = c.dataset();
        let hook = "blocks.1.hook_resid_post";
        let mut h1 = Hooks::capture(&[hook]);
        run(&c, &p, &data, &mut h1);
        // change the third token (b) of every sample
        if let Features::Tokens(t) = &mut data.train.x {
            for b in &mut t[2] {
                *b = (*b + 1) % 7;
            }
        }
        let mut h2 = Hooks::capture(&[hook]);
        run(&c, &p, &data, &mut h2);
        let (a, b) = (h1.host(hook).unwrap(), h2.host(hook).unwrap());
        let d = 8;
        let per = 4 * d;
        let diff_at = |pos: usize| {
            (0..data.train.len())
                .flat_map(|k| (0..d).map(move |e| k * per + pos * d + e))
                .map(|i| (a[i] - b[i]).abs())
                .fold(0.0, f64::max)
        };
        // positions 0 and 1 come before the changed token
        assert_eq!(
            diff_at(1) == 0.0 && diff_at(0) == 0.0,
            causal,
            "causal = {causal}"
        );
        assert!(diff_at(2) > 1e-6 && diff_at(3) > 1e-6);
    }
}

/// Autodiff gradients of a tiny transformer (f64) against central finite differences of the loss,
/// for several entries of every parameter, in each architecture variant.
#[test]
fn gradients_match_finite_differences() {
    for extra in [
        "",
        "norm = \"post\"\nact_fn = \"gelu\"",
        "norm = \"none\"\ntied = true\ncausal = false",
        "pos = \"none\"\ncausal = false\nreadout = \"concat\"\nn_layers = 1",
        "norm = \"renorm\"\npos = \"sinusoidal\"\nattn_bias = false\nunembed_bias = false",
    ] {
        let c = tiny(extra);
        let model = c.build_model();
        let data = c.dataset();
        let p = params_of(&*model, 2);
        let ad = Device::flex().autodiff();
        let rows = vec![(0..data.train.len()).collect::<Vec<usize>>()];
        let loss_of = |values: &Params| -> f64 {
            let device = Device::flex();
            let b = batch::batch(
                &[&data.train],
                &[&groklab_engine::head::Encoding::new(
                    model.head(),
                    c.task.shape().output,
                    None,
                    c.seed,
                )],
                &rows,
                c.loss.wants(),
                &device,
                Precision::F64,
            );
            let out = model.forward(&values.tensors(&device), &b.inputs, &mut Hooks::none());
            c.loss
                .train(out, &b.targets)
                .into_data()
                .iter::<f64>()
                .sum()
        };
        let enc =
            groklab_engine::head::Encoding::new(model.head(), c.task.shape().output, None, c.seed);
        let b = batch::batch(
            &[&data.train],
            &[&enc],
            &rows,
            c.loss.wants(),
            &ad,
            Precision::F64,
        );
        let leaves = p.tensors(&ad).require_grad();
        let out = model.forward(&leaves, &b.inputs, &mut Hooks::none());
        let grads = c.loss.train(out, &b.targets).sum().backward();
        let g: Vec<Vec<f64>> = leaves
            .tensors()
            .iter()
            .map(|t| t.grad(&grads).unwrap().into_data().iter::<f64>().collect())
            .collect();
        let base = p.member_view(0).all();
        let h = 1e-5;
        let mut checked = 0;
        for (k, spec) in model.specs().iter().enumerate() {
            let n = spec.numel();
            for i in [0, n / 3, n / 2, n - 1] {
                let at = |delta: f64| {
                    let mut v = base.clone();
                    v[k][i] += delta;
                    loss_of(&Params::from_members(
                        model.specs().to_vec(),
                        vec![v],
                        Precision::F64,
                    ))
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                let err = (fd - g[k][i]).abs();
                assert!(
                    err <= 1e-6 * (1.0 + fd.abs()),
                    "[{extra}] {}[{i}]: autodiff {} vs finite difference {fd}",
                    spec.name,
                    g[k][i]
                );
                checked += 1;
            }
        }
        assert!(checked >= 4 * model.specs().len());
    }
}

fn check(c: &Config, extra: &str) {
    check_dropping(c, extra, None);
}

/// [`check`], with the training pass dropping for member seed and step `dropout`.
fn check_dropping(c: &Config, extra: &str, dropout: Option<(u64, u64)>) {
    use groklab_engine::loss::HostTargets;
    use groklab_engine::model::kernel::HostInputs;
    let model = c.build_model();
    let mut fused = model
        .kernel(Precision::F64)
        .unwrap_or_else(|why| panic!("[{extra}] not covered: {why}"))
        .f64()
        .unwrap();
    let data = c.dataset();
    let p = params_of(&*model, 4);
    let ad = Device::flex().autodiff();
    let rows = vec![(0..data.train.len()).collect::<Vec<usize>>()];
    let shape = c.task.shape();
    let enc = groklab_engine::head::Encoding::new(model.head(), shape.output, None, c.seed)
        .with_after(shape.after.clone());
    let b = batch::batch(
        &[&data.train],
        &[&enc],
        &rows,
        c.loss.wants(),
        &ad,
        Precision::F64,
    );
    let leaves = p.tensors(&ad).require_grad();
    let eval_out: Vec<f64> = model
        .forward(&p.tensors(&Device::flex()), &b.inputs, &mut Hooks::none())
        .into_data()
        .iter::<f64>()
        .collect();
    let mut hooks = match dropout {
        Some((seed, step)) => Hooks::training(vec![seed], step),
        None => Hooks::none(),
    };
    let out = model.forward(&leaves, &b.inputs, &mut hooks);
    let want_out: Vec<f64> = out.clone().into_data().iter::<f64>().collect();
    if dropout.is_some() {
        assert_ne!(want_out, eval_out, "[{extra}] dropout changed nothing");
    }
    let loss = c.loss.train(b.targets.rows(out), &b.targets);
    let want_loss: f64 = loss.clone().into_data().iter::<f64>().sum();
    let grads = loss.sum().backward();
    let want: Vec<Vec<f64>> = leaves
        .tensors()
        .iter()
        .map(|t| t.grad(&grads).unwrap().into_data().iter::<f64>().collect())
        .collect();
    let Features::Tokens(tokens) = &data.train.x else {
        panic!("tokens")
    };
    let n = data.train.len();
    let got_out = fused
        .forward(&p, 0, &HostInputs::Tokens(tokens), n)
        .to_vec();
    // evaluation never drops
    for (a, w) in got_out.iter().zip(&eval_out) {
        assert!((a - w).abs() < 1e-10, "[{extra}] output {a} vs {w}");
    }
    // the answer, then the tokens after it, of every sample
    let classes: Vec<usize> = (0..n)
        .flat_map(|k| std::iter::once(data.train.class(k).unwrap()).chain(shape.after.clone()))
        .collect();
    let got_loss = fused.step(
        &p,
        0,
        HostInputs::Tokens(tokens),
        HostTargets::Classes(&classes),
        &*c.loss,
        n,
        dropout,
    );
    assert!((got_loss - want_loss).abs() < 1e-10, "[{extra}] loss");
    for (spec, (g, w)) in model.specs().iter().zip(fused.grads().iter().zip(&want)) {
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() < 1e-8 * (1.0 + b.abs()),
                "[{extra}] {}[{i}]: fused {a} vs autodiff {b}",
                spec.name
            );
        }
    }
}

/// The fused forward/backward equals burn's autodiff (f64) on every variant it covers: outputs,
/// loss and every parameter's gradient; and it declines the variants it does not cover.
#[test]
fn fused_path_equals_autodiff() {
    for extra in [
        "",
        "norm = \"none\"",
        "causal = false\npos = \"none\"",
        "n_layers = 1\nnorm = \"none\"",
        "n_layers = 3\nd_mlp = 0",
        "n_heads = 3\nd_head = 5",
        "readout = \"concat\"\ncausal = false\npos = \"none\"",
        "readout = \"concat\"\nnorm = \"none\"\nn_layers = 1",
        "act_fn = \"gelu\"",
        "act_fn = \"gelu\"\nn_layers = 1\nnorm = \"none\"",
        "attn_bias = false\nmlp_bias = false\nunembed_bias = false",
        "attn_bias = false\nunembed_bias = false\nd_vocab_out = 9",
        "pos = \"sinusoidal\"",
        "norm = \"renorm\"",
        "norm = \"renorm\"\nact_fn = \"gelu\"\nn_layers = 3",
        "norm = \"renorm\"\nreadout = \"concat\"\ncausal = false\npos = \"sinusoidal\"",
        "ln_final = false",
        "norm = \"post\"",
        "norm = \"post\"\nact_fn = \"gelu\"\nattn_bias = false\nmlp_bias = false\npos = \"sinusoidal\"",
        "norm = \"post\"\nd_mlp = 0\nn_layers = 3",
        "norm = \"post\"\nln_final = true\nreadout = \"concat\"\ncausal = false",
        "ln_final = false\nreadout = \"concat\"\ncausal = false\npos = \"none\"\nn_heads = 1",
    ] {
        check(&tiny(extra), extra);
    }
    // a wide one, so that the passes split over the cores are taken too
    let wide = Config::from_toml(
        "seed = 1\n[task]\nkind = \"modular\"\np = 31\ntrain = 0.6\nformat = \"a op b =\"\n\
         [model]\nkind = \"transformer\"\nn_layers = 2\nd_model = 64\nn_heads = 4\nd_mlp = 256\n\
         [optim.all]\nparams = [\"*\"]\n[train]\nsteps = 5\ndtype = \"f64\"\n",
        "wide",
    )
    .unwrap();
    check(&wide, "wide");
    // dropout: both paths drop the same units (masks from the seed and step), evaluation none
    check_dropping(&tiny("dropout = 0.3"), "dropout", Some((5, 17)));
    check_dropping(
        &tiny("dropout = 0.2\nnorm = \"none\"\nn_layers = 1"),
        "dropout 1 layer",
        Some((1, 2)),
    );
    let wide_drop = wide
        .with(&[("model.dropout", toml::Value::Float(0.1))])
        .unwrap();
    check_dropping(&wide_drop, "wide dropout", Some((9, 3)));
    check_dropping(
        &tiny("dropout = 0.2\nnorm = \"post\""),
        "post dropout",
        Some((2, 9)),
    );
    check_dropping(
        &tiny("dropout = 0.2\nnorm = \"renorm\""),
        "renorm dropout",
        Some((6, 8)),
    );
    check_dropping(
        &tiny("dropout = 0.3\nact_fn = \"gelu\""),
        "gelu dropout",
        Some((4, 11)),
    );
    let wide_gelu = wide
        .with(&[("model.act_fn", toml::Value::String("gelu".into()))])
        .unwrap();
    check(&wide_gelu, "wide gelu");
    // Power et al.'s framing: logits at the last two positions, over the whole vocabulary
    let eos = "format = \"eos a op b = c eos\"";
    let base = "d_model = 8\nn_heads = 2\nd_mlp = 12\n";
    for extra in [
        "n_layers = 2",
        "n_layers = 2\nnorm = \"post\"\npos = \"sinusoidal\"\nattn_bias = false\nmlp_bias = false\nunembed_bias = false\nd_vocab_out = 13",
        "n_layers = 1\nnorm = \"none\"",
    ] {
        check(
            &config(&format!("{base}{extra}"), eos),
            &format!("eos {extra}"),
        );
    }
    check_dropping(
        &config(
            &format!("{base}n_layers = 2\ndropout = 0.2\nnorm = \"post\""),
            eos,
        ),
        "eos dropout",
        Some((3, 4)),
    );
    // a tied unembedding is the one variant it declines, with the reason
    let tied = tiny("tied = true").build_model();
    let why = tied.kernel(Precision::F64).err().expect("declined");
    assert!(why.contains("tied = true"), "{why}");
}

/// Transformer ensemble members (own seeds, learning rates, weight decays, init scales; dropout
/// masks from their own seeds) give their solo runs' metrics and parameters, on both paths.
#[test]
fn ensemble_members_equal_their_solo_runs_on_both_paths() {
    use groklab_engine::train::{TrainOptions, train};
    use toml::Value;
    for path in ["auto", "autodiff"] {
        let base = tiny("dropout = 0.1")
            .with(&[
                ("train.steps", Value::Integer(12)),
                ("train.path", Value::String(path.into())),
            ])
            .unwrap();
        let member = |seed: i64, lr: f64, wd: f64, scale: f64| {
            base.with(&[
                ("seed", Value::Integer(seed)),
                ("optim.all.lr", Value::Float(lr)),
                ("optim.all.weight_decay", Value::Float(wd)),
                ("model.init_scale", Value::Float(scale)),
            ])
            .unwrap()
        };
        let members = [
            member(0, 1e-3, 0.0, 1.0),
            member(3, 3e-3, 1.0, 1.0),
            member(7, 1e-2, 0.1, 2.0),
        ];
        let together = train(&members, &TrainOptions::default()).unwrap();
        for (k, (t, c)) in together.members.iter().zip(&members).enumerate() {
            let alone = train(std::slice::from_ref(c), &TrainOptions::default()).unwrap();
            let a = &alone.members[0];
            assert_eq!(t.metrics.columns, a.metrics.columns);
            for (rt, ra) in t.metrics.rows.iter().zip(&a.metrics.rows) {
                for (x, y) in rt.iter().zip(ra) {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan()),
                        "[{path}] member {k}: {x} vs {y}"
                    );
                }
            }
            for (pt, pa) in t.final_params.iter().zip(&a.final_params) {
                for (x, y) in pt.iter().zip(pa) {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                        "[{path}] member {k}"
                    );
                }
            }
        }
        assert_ne!(together.members[0].metrics, together.members[1].metrics);
    }
}
