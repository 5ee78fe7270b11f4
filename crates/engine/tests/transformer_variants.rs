//! The transformer variants of the authors' code: fixed sinusoidal positions, bias-free layers,
//! post-LN and the re-normalised residual block against forward passes written out by hand,
//! `ln_final`, an output vocabulary larger than the answers, and `[model.init]`.

use burn::prelude::*;
use groklab_engine::Config;
use groklab_engine::batch;
use groklab_engine::model::Hooks;
use groklab_engine::model::transformer::sinusoids;
use groklab_engine::params::{Params, Precision};
use groklab_engine::seed::{Stream, rng};
use groklab_engine::task::Features;

fn config(model: &str) -> Config {
    let text = format!(
        "seed = 3\n[task]\nkind = \"modular\"\np = 5\ntrain = 0.6\nformat = \"a op b =\"\n\
         [model]\nkind = \"transformer\"\n{model}\n\
         [optim.all]\nparams = [\"*\"]\n[train]\nsteps = 3\ndtype = \"f64\"\n"
    );
    Config::from_toml(&text, "variants").unwrap()
}

#[test]
fn the_sinusoidal_table_is_vaswanis() {
    let t = sinusoids(3, 4);
    // 10000^(2/4) = 100: columns 2 and 3 turn 100 times slower
    let want = [
        [0.0, 1.0, 0.0, 1.0],
        [1f64.sin(), 1f64.cos(), 0.01f64.sin(), 0.01f64.cos()],
        [2f64.sin(), 2f64.cos(), 0.02f64.sin(), 0.02f64.cos()],
    ];
    for (p, row) in want.iter().enumerate() {
        for (i, w) in row.iter().enumerate() {
            assert!((t[p * 4 + i] - w).abs() < 1e-15, "[{p}, {i}]");
        }
    }
}

#[test]
fn bias_free_layers_have_no_bias_tensors() {
    let c = config(
        "n_layers = 2\nd_model = 8\nn_heads = 2\nd_mlp = 12\n\
         attn_bias = false\nmlp_bias = false\nunembed_bias = false",
    );
    let model = c.build_model();
    let names: Vec<&str> = model.specs().iter().map(|s| s.name.as_str()).collect();
    assert!(names.iter().all(|n| !n.contains(".b_")), "{names:?}");
    // the LayerNorms keep their bias
    assert!(names.contains(&"blocks.0.ln1.b"));
    let only_mlp = config("n_layers = 1\nd_model = 8\nattn_bias = false\nunembed_bias = false");
    let names: Vec<String> = only_mlp
        .build_model()
        .specs()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(names.contains(&"blocks.0.mlp.b_in".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("b_Q") || n.ends_with("b_U"))
    );
}

#[test]
fn ln_final_and_d_vocab_out_shape_the_unembedding() {
    let c = config("n_layers = 1\nd_model = 8\nln_final = false\nd_vocab_out = 7");
    let model = c.build_model();
    let names: Vec<&str> = model.specs().iter().map(|s| s.name.as_str()).collect();
    assert!(
        !names.iter().any(|n| n.starts_with("ln_final")),
        "{names:?}"
    );
    let w_u = model
        .specs()
        .iter()
        .find(|s| s.name == "unembed.W_U")
        .unwrap();
    assert_eq!((w_u.shape.clone(), model.d_out()), (vec![8, 7], 7));
    let e = Config::from_toml(
        "seed = 3\n[task]\nkind = \"modular\"\np = 5\n[model]\nkind = \"transformer\"\nd_vocab_out = 3\n[optim.all]\nparams = [\"*\"]\n",
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("model.d_vocab_out") && e.contains("at least 5"),
        "{e}"
    );
    let e = Config::from_toml(
        "seed = 3\n[task]\nkind = \"modular\"\np = 5\n[model]\nkind = \"transformer\"\nnorm = \"none\"\nln_final = true\n[optim.all]\nparams = [\"*\"]\n",
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("model.ln_final"), "{e}");
}

#[test]
fn init_rules_set_named_parameters() {
    let c = config(
        "n_layers = 1\nd_model = 16\n[model.init]\n\"embed.W_E\" = { normal = 2.0 }\n\
         \"blocks.*.ln1.w\" = { constant = 0.5 }\n\"unembed.W_U\" = \"pytorch\"\n\
         \"unembed.b_U\" = \"pytorch\"\n\"blocks.0.mlp.W_in\" = { uniform = 0.1 }",
    );
    let model = c.build_model();
    let v = model.init(&mut rng(3, Stream::Init));
    let get = |name: &str| {
        let k = model.specs().iter().position(|s| s.name == name).unwrap();
        v[k].clone()
    };
    let sd = |x: &[f64]| (x.iter().map(|a| a * a).sum::<f64>() / x.len() as f64).sqrt();
    // W_E [7, 16]: sd 2 (112 draws)
    assert!((sd(&get("embed.W_E")) - 2.0).abs() < 0.4);
    assert!(get("blocks.0.ln1.w").iter().all(|&x| x == 0.5));
    assert!(get("blocks.0.ln2.w").iter().all(|&x| x == 1.0));
    // nn.Linear(16, 5): U(±1/4), weight and bias
    for name in ["unembed.W_U", "unembed.b_U"] {
        let x = get(name);
        assert!(x.iter().all(|a| a.abs() <= 0.25) && sd(&x) > 0.05, "{name}");
    }
    assert!(get("blocks.0.mlp.W_in").iter().all(|a| a.abs() <= 0.1));
    // the default elsewhere: W_pos N(0, 1/16)
    assert!((sd(&get("pos_embed.W_pos")) - 0.25).abs() < 0.1);
    // a pattern that names nothing, and a rule that is not one, are refused with the key
    for (bad, what) in [
        ("\"blocks.*.attn.W_X\" = \"pytorch\"", "blocks.*.attn.W_X"),
        ("\"embed.W_E\" = { normal = -1.0 }", "embed.W_E"),
        ("\"embed.W_E\" = \"xavier\"", "embed.W_E"),
    ] {
        let text = format!(
            "seed = 3\n[task]\nkind = \"modular\"\np = 5\n[model]\nkind = \"transformer\"\n\
             [model.init]\n{bad}\n[optim.all]\nparams = [\"*\"]\n"
        );
        let e = Config::from_toml(&text, "x").unwrap_err().to_string();
        assert!(e.contains("model.init") && e.contains(what), "{e}");
    }
}

/// LayerNorm of a row (eps 1e-5, biased variance) with weight w and bias b.
fn ln(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let r = 1.0 / (var + 1e-5).sqrt();
    (0..x.len())
        .map(|i| (x[i] - mean) * r * w[i] + b[i])
        .collect()
}

/// Row vector times a row-major [rows, cols] matrix.
fn vm(v: &[f64], m: &[f64], cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|j| v.iter().enumerate().map(|(i, x)| x * m[i * cols + j]).sum())
        .collect()
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// One head of non-causal attention over rows `a` [P][d], with W_Q, W_K, W_V [d, d] and W_O.
fn attention(a: &[Vec<f64>], get: &dyn Fn(&str) -> Vec<f64>, d: usize) -> Vec<Vec<f64>> {
    let proj = |w: &str, b: &str| -> Vec<Vec<f64>> {
        a.iter().map(|r| add(&vm(r, &get(w), d), &get(b))).collect()
    };
    let q = proj("blocks.0.attn.W_Q", "blocks.0.attn.b_Q");
    let k = proj("blocks.0.attn.W_K", "blocks.0.attn.b_K");
    let v = proj("blocks.0.attn.W_V", "blocks.0.attn.b_V");
    q.iter()
        .map(|qi| {
            let s: Vec<f64> = k
                .iter()
                .map(|kj| qi.iter().zip(kj).map(|(x, y)| x * y).sum::<f64>() / (d as f64).sqrt())
                .collect();
            let max = s.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
            let z = e.iter().sum::<f64>();
            let mix: Vec<f64> = (0..d)
                .map(|c| e.iter().zip(&v).map(|(p, vj)| p / z * vj[c]).sum())
                .collect();
            add(
                &vm(&mix, &get("blocks.0.attn.W_O"), d),
                &get("blocks.0.attn.b_O"),
            )
        })
        .collect()
}

/// Pre-LN, post-LN and the re-normalised block, one attention-only layer with one head, against
/// the same forward pass written out by hand; LayerNorm weights and biases drawn at random so that
/// a misplaced LayerNorm shows.
#[test]
fn norm_placements_equal_their_hand_written_forward_passes() {
    let d = 4;
    for norm in ["pre", "post", "renorm"] {
        // post-LN has no final LayerNorm (and a rule naming it would be refused)
        let final_ln = if norm == "post" {
            ""
        } else {
            "\"ln_final.*\" = { normal = 0.7 }"
        };
        let c = config(&format!(
            "n_layers = 1\nd_model = {d}\nn_heads = 1\nd_mlp = 0\ncausal = false\npos = \"sinusoidal\"\n\
             norm = \"{norm}\"\n[model.init]\n\"blocks.0.ln1.*\" = {{ normal = 0.7 }}\n{final_ln}\n\
             \"blocks.0.attn.b_Q\" = {{ normal = 0.3 }}\n\
             \"blocks.0.attn.b_K\" = {{ normal = 0.3 }}\n\"blocks.0.attn.b_V\" = {{ normal = 0.3 }}\n\
             \"blocks.0.attn.b_O\" = {{ normal = 0.3 }}"
        ));
        let model = c.build_model();
        let values = model.init(&mut rng(5, Stream::Init));
        let specs = model.specs().to_vec();
        let get = |name: &str| values[specs.iter().position(|s| s.name == name).unwrap()].clone();
        let data = c.dataset();
        let Features::Tokens(tokens) = &data.train.x else {
            panic!("tokens")
        };
        let params = Params::from_members(specs.clone(), vec![values.clone()], Precision::F64);
        let device = Device::flex();
        let rows = vec![(0..data.train.len()).collect::<Vec<usize>>()];
        let inputs = batch::inputs(&[&data.train], &rows, &device, Precision::F64);
        let out: Vec<f64> = model
            .forward(&params.tensors(&device), &inputs, &mut Hooks::none())
            .into_data()
            .iter::<f64>()
            .collect();
        let classes = model.d_out();
        let table = sinusoids(tokens.len(), d);
        for s in 0..data.train.len() {
            let x: Vec<Vec<f64>> = (0..tokens.len())
                .map(|p| {
                    let t = tokens[p][s];
                    add(
                        &get("embed.W_E")[t * d..(t + 1) * d],
                        &table[p * d..(p + 1) * d],
                    )
                })
                .collect();
            let ln1 = |r: &[f64]| ln(r, &get("blocks.0.ln1.w"), &get("blocks.0.ln1.b"));
            let resid: Vec<Vec<f64>> = match norm {
                "pre" => {
                    let a: Vec<Vec<f64>> = x.iter().map(|r| ln1(r)).collect();
                    let at = attention(&a, &get, d);
                    x.iter().zip(&at).map(|(r, o)| add(r, o)).collect()
                }
                "post" => {
                    let at = attention(&x, &get, d);
                    x.iter().zip(&at).map(|(r, o)| ln1(&add(r, o))).collect()
                }
                _ => {
                    let a: Vec<Vec<f64>> = x.iter().map(|r| ln1(r)).collect();
                    let at = attention(&a, &get, d);
                    a.iter().zip(&at).map(|(r, o)| add(r, o)).collect()
                }
            };
            let last = resid.last().unwrap();
            let read = if norm == "post" {
                last.clone()
            } else {
                ln(last, &get("ln_final.w"), &get("ln_final.b"))
            };
            let logits = add(
                &vm(&read, &get("unembed.W_U"), classes),
                &get("unembed.b_U"),
            );
            for (j, w) in logits.iter().enumerate() {
                let got = out[s * classes + j];
                assert!(
                    (got - w).abs() < 1e-10,
                    "[{norm}] sample {s} logit {j}: {got} vs {w}"
                );
            }
        }
    }
}
