//! The sparse-parity study's mechanics: an SGD step with coupled weight decay on the hinge loss by
//! hand, masked forward passes through the hook points, determinism, online training.

use groklab_engine::head::Encoding;
use groklab_engine::loss::HostTargets;
use groklab_engine::model::Hooks;
use groklab_engine::model::kernel::{HostInputs, Kernel};
use groklab_engine::model::stack::StackKernel;
use groklab_engine::optim::{GradRef, Hyper, Optimizer};
use groklab_engine::params::{Params, Precision};
use groklab_engine::probe::{EvalContext, Which};
use groklab_engine::seed::{Stream, rng};
use groklab_engine::train::{TrainOptions, train};
use groklab_engine::{Config, presets};
use toml::Value;

fn parity(sets: &[(&str, Value)]) -> Config {
    let mut all = vec![
        ("task.n", Value::Integer(12)),
        ("task.n_train", Value::Integer(200)),
        ("model.d_hidden", Value::Array(vec![Value::Integer(64)])),
        ("train.epochs", Value::Integer(20)),
    ];
    all.extend(sets.iter().cloned());
    presets::load("merrill2023-parity")
        .unwrap()
        .with(&all)
        .unwrap()
}

/// f(x) = w . x on x = (1, -1), y = +1, w = (0.3, 0.5): f = -0.2, the margin 1 - y f = 1.2 is
/// violated, so d hinge / dw = -y x = (-1, 1); SGD lr 0.1 with coupled weight decay 0.01 gives
/// w - 0.1 (g + 0.01 w) = (0.3997, 0.3995).
#[test]
fn an_sgd_step_with_coupled_decay_on_the_hinge_loss_by_hand() {
    let c = presets::load("merrill2023-parity")
        .unwrap()
        .with(&[
            ("task.n", Value::Integer(2)),
            ("task.k", Value::Integer(2)),
            ("model.d_hidden", Value::Array(vec![])),
            ("model.bias", Value::Boolean(false)),
            ("train.dtype", Value::String("f64".into())),
        ])
        .unwrap();
    let model = c.build_model();
    let mut params = Params::from_members(
        model.specs().to_vec(),
        vec![vec![vec![0.3, 0.5]]],
        Precision::F64,
    );
    let mut f = StackKernel::<f64>::new(&model.stack().unwrap(), model.specs()).unwrap();
    let x = [1.0, -1.0];
    let loss = f.step(
        &params,
        0,
        HostInputs::Dense(&x),
        HostTargets::Vectors(&[1.0]),
        &*c.loss,
        1,
        None,
    );
    assert!(
        (loss - 1.2).abs() < 1e-15,
        "loss {loss}, specs {:?}",
        model.specs()
    );
    assert_eq!(f.grads[0], vec![-1.0, 1.0]);
    let h = Hyper::of(&c.optim["all"], 1);
    let mut opt = Optimizer::new(vec![vec![h]], 10);
    opt.step_member(&mut params, 0, &[GradRef::F64(&f.grads[0])], 1);
    let w = params.member(0, 0);
    assert!(
        (w[0] - 0.3997).abs() < 1e-15 && (w[1] - 0.3995).abs() < 1e-15,
        "{w:?}"
    );
    // a satisfied margin gives no gradient: y = -1, f = -0.2 + ... -> 1 - y f = 0.8 > 0 still;
    // f = 2 x . w with w = (1, -1): f = 4, y = +1, margin -3: zero gradient
    let p2 = Params::from_members(
        model.specs().to_vec(),
        vec![vec![vec![2.0, -2.0]]],
        Precision::F64,
    );
    let l2 = f.step(
        &p2,
        0,
        HostInputs::Dense(&x),
        HostTargets::Vectors(&[1.0]),
        &*c.loss,
        1,
        None,
    );
    assert_eq!((l2, f.grads[0].clone()), (0.0, vec![0.0, 0.0]));
}

/// Masking every hidden unit of the parity MLP keeps its output; masking none of them leaves zero
/// (it has no output bias); the subnetwork probe's contributions agree with a hooked mask.
#[test]
fn masked_forward_passes_keep_all_or_nothing() {
    let c = parity(&[("train.dtype", Value::String("f64".into()))]);
    let model = c.build_model();
    let data = c.dataset();
    let enc = Encoding::new(
        model.head(),
        c.task.shape().output,
        c.task.correctness(),
        c.seed,
    );
    let init = model.init(&mut rng(c.seed, Stream::Init));
    let params = Params::from_members(model.specs().to_vec(), vec![init], Precision::F64);
    let ctx = EvalContext {
        step: 0,
        config: &c,
        data: &data,
        encoding: &enc,
        loss: &*c.loss,
        params: params.member_view(0),
        train_out: &[],
        val_out: &[],
        d_out: 1,
        model: &*model,
        precision: Precision::F64,
    };
    let full = ctx.forward(Which::Train, None, &mut Hooks::none());
    let all = ctx.forward(
        Which::Train,
        None,
        &mut Hooks::none().with_mask("mlp.0.hook_post", vec![1.0; 64]),
    );
    assert_eq!(full, all);
    let none = ctx.forward(
        Which::Train,
        None,
        &mut Hooks::none().with_mask("mlp.0.hook_post", vec![0.0; 64]),
    );
    assert!(none.iter().all(|&v| v == 0.0));
    // keep the even neurons: the hooked mask equals the sum of their contributions
    let keep: Vec<f64> = (0..64).map(|j| f64::from(u8::from(j % 2 == 0))).collect();
    let half = ctx.forward(
        Which::Train,
        None,
        &mut Hooks::none().with_mask("mlp.0.hook_post", keep.clone()),
    );
    let to32 = |name: &str| -> Vec<f32> {
        ctx.params
            .get(name)
            .unwrap()
            .iter()
            .map(|&v| v as f32)
            .collect()
    };
    let net = groklab_engine::probe::subnetworks::Net {
        w: to32("mlp.0.W"),
        b: to32("mlp.0.b"),
        u: to32("mlp.1.W"),
        c: 0.0,
        d_in: 12,
        width: 64,
        act: groklab_engine::ops::Activation::Relu,
    };
    let groklab_engine::task::Features::Dense { x, .. } = &data.train.x else {
        panic!()
    };
    let contrib = net.contributions(x, 200);
    for (i, row) in contrib.chunks(64).enumerate() {
        let kept: f64 = row.iter().zip(&keep).map(|(v, k)| v * k).sum();
        assert!(
            (kept - half[i]).abs() < 1e-5 * kept.abs().max(1.0),
            "{kept} vs {}",
            half[i]
        );
    }
}

#[test]
fn parity_runs_are_deterministic_and_online_runs_train() {
    let c = parity(&[]);
    let a = train(std::slice::from_ref(&c), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0);
    let b = train(std::slice::from_ref(&c), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0);
    // NaN marks the evaluations between effective-sparsity checkpoints: compare as text
    let same =
        |x: &dyn std::fmt::Debug, y: &dyn std::fmt::Debug| format!("{x:?}") == format!("{y:?}");
    assert!(same(&a.metrics, &b.metrics));
    assert!(same(&a.tables, &b.tables));
    assert!(same(&a.summary, &b.summary));
    let names: Vec<&str> = a.tables.iter().map(|t| t.file.as_str()).collect();
    for f in [
        "neuron_norms.csv",
        "subnetworks.csv",
        "generalising_neurons.csv",
        "largest_neuron.csv",
    ] {
        assert!(names.contains(&f), "no {f} in {names:?}");
    }
    let norms = a
        .tables
        .iter()
        .find(|t| t.file == "neuron_norms.csv")
        .unwrap();
    assert_eq!(norms.header.len(), 2 + 64);
    assert_eq!(norms.rows.len(), 21, "every epoch and the start");
    assert!(
        a.summary
            .iter()
            .any(|(k, v)| k == "final_subnetwork_size" && v.is_some())
    );
    // an epoch of 200 samples in batches of 32 is 7 steps (the last one of 8 samples)
    assert_eq!(a.metrics.column("step").unwrap()[1], 7.0);
    assert_eq!(a.metrics.column("epoch").unwrap()[1], 1.0);
    // online: fresh batches, the loss still goes down and the run is reproducible
    let o = parity(&[("task.online", Value::Boolean(true))]);
    let r = train(std::slice::from_ref(&o), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0);
    let loss = r.metrics.column("train_loss").unwrap();
    assert!(loss.last().unwrap() < &loss[0], "{loss:?}");
    let again = train(std::slice::from_ref(&o), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0);
    assert!(same(&r.metrics, &again.metrics));
    // and both paths agree on it
    let ad = o
        .with(&[("train.path", Value::String("autodiff".into()))])
        .unwrap();
    let s = train(std::slice::from_ref(&ad), &TrainOptions::default())
        .unwrap()
        .members
        .remove(0);
    let (x, y) = (
        r.metrics.column("train_loss").unwrap(),
        s.metrics.column("train_loss").unwrap(),
    );
    assert_eq!(x.len(), y.len());
    for (a, b) in x.iter().zip(&y).take(6) {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs(),
            "online: fused {a} vs autodiff {b}"
        );
    }
}
