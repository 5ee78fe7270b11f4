//! The stack kernel (`model/stack.rs`: the toy model, MLPs and linear students) against burn's
//! autodiff, the reference: the same loss and the same gradient of every parameter, on every model
//! and head of the family, for a member of an ensemble (f64: 1e-10 relative; f32: 1e-5), on the training split and on a minibatch.

use burn::prelude::*;
use groklab_engine::head::{Encoding, Target, TargetKind};
use groklab_engine::loss::{HostTargets, TargetTensor};
use groklab_engine::model::kernel::{HostInputs, Kernel};
use groklab_engine::model::stack::StackKernel;
use groklab_engine::model::{Hooks, Inputs};
use groklab_engine::params::{Params, Precision};
use groklab_engine::seed::{Stream, rng};
use groklab_engine::task::{Dataset, Features};
use groklab_engine::{Config, presets};
use toml::Value;

fn arr(v: &[i64]) -> Value {
    Value::Array(v.iter().map(|&x| Value::Integer(x)).collect())
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Every model and head of the family, small.
fn family() -> Vec<(&'static str, Config)> {
    let toy = presets::load("liu2022-toy").unwrap();
    let ts = presets::load("levi2023-fig5-tanh")
        .unwrap()
        .with(&[
            ("task.d_in", Value::Integer(30)),
            ("task.n_test", Value::Integer(50)),
        ])
        .unwrap();
    let with = |c: &Config, sets: &[(&str, Value)]| c.with(sets).unwrap();
    vec![
        (
            "toy regression tanh",
            with(
                &toy,
                &[
                    ("model.d_hidden", arr(&[12, 9])),
                    ("model.d_embed", Value::Integer(2)),
                    ("model.d_target", Value::Integer(4)),
                ],
            ),
        ),
        (
            "toy classification relu",
            with(
                &toy,
                &[
                    ("model.d_hidden", arr(&[10])),
                    ("model.head", s("classification")),
                    ("model.act_fn", s("relu")),
                    ("model.d_embed", Value::Integer(3)),
                ],
            ),
        ),
        (
            "toy classification identity, no hidden layer",
            with(
                &toy,
                &[
                    ("model.d_hidden", arr(&[])),
                    ("model.head", s("classification")),
                    ("model.act_fn", s("identity")),
                ],
            ),
        ),
        (
            "mlp linear student",
            with(
                &ts,
                &[("model.d_hidden", arr(&[])), ("task.teacher", s("linear"))],
            ),
        ),
        (
            "mlp tanh student",
            with(&ts, &[("model.d_hidden", arr(&[7]))]),
        ),
        (
            "mlp relu student with biases",
            with(
                &ts,
                &[
                    ("model.d_hidden", arr(&[6, 5])),
                    ("model.act_fn", s("relu")),
                    ("model.bias", Value::Boolean(true)),
                    ("model.init", s("pytorch")),
                ],
            ),
        ),
    ]
}

/// Two members' parameters (seeds 0 and 1); the comparison uses member 1.
fn params(c: &Config, precision: Precision) -> Params {
    let model = c.build_model();
    let inits = (0..2)
        .map(|seed| model.init(&mut rng(seed, Stream::Init)))
        .collect();
    Params::from_members(model.specs().to_vec(), inits, precision)
}

/// burn's loss and gradients (flattened, spec order) of member 1 on samples `rows`.
fn autodiff(
    c: &Config,
    params: &Params,
    data: &Dataset,
    enc: &Encoding,
    rows: &[usize],
) -> (f64, Vec<Vec<f64>>) {
    let ad = Device::flex().autodiff();
    let model = c.build_model();
    let dtype = params.precision.dtype();
    let b = rows.len();
    // member 1 alone, as an M = 1 ensemble
    let mut one = Params::from_members(
        params.specs.clone(),
        vec![params.member_view(1).all()],
        params.precision,
    );
    one.precision = params.precision;
    let inputs = match &data.train.x {
        Features::Tokens(t) => Inputs::Tokens(
            t.iter()
                .map(|pos| {
                    let v: Vec<i32> = rows.iter().map(|&k| pos[k] as i32).collect();
                    Tensor::<2, Int>::from_data(TensorData::new(v, [1, b]), &ad)
                })
                .collect(),
        ),
        Features::Dense { x, dim } => {
            let v: Vec<f64> = rows
                .iter()
                .flat_map(|&k| x[k * dim..(k + 1) * dim].to_vec())
                .collect();
            Inputs::Dense(Tensor::from_data(
                TensorData::new(v, [1, b, *dim]),
                (&ad, dtype),
            ))
        }
    };
    let kind = c.loss.wants();
    let targets = match kind {
        TargetKind::Class => {
            let v: Vec<i32> = rows
                .iter()
                .map(|&k| match enc.target(&data.train, k, kind) {
                    Target::Class(c) => c as i32,
                    Target::Vector(_) => unreachable!(),
                })
                .collect();
            TargetTensor::Classes(Tensor::from_data(TensorData::new(v, [1, b, 1]), &ad))
        }
        TargetKind::Vector => {
            let mut v = Vec::new();
            for &k in rows {
                let Target::Vector(t) = enc.target(&data.train, k, kind) else {
                    unreachable!()
                };
                v.extend_from_slice(t);
            }
            let d = v.len() / b;
            TargetTensor::Vectors(Tensor::from_data(
                TensorData::new(v, [1, b, d]),
                (&ad, dtype),
            ))
        }
    };
    let leaves = one.tensors(&ad).require_grad();
    let out = model.forward(&leaves, &inputs, &mut Hooks::none());
    let loss = c.loss.train(out, &targets);
    let value: f64 = loss.clone().into_data().iter::<f64>().next().unwrap();
    let grads = loss.sum().backward();
    let g = leaves
        .tensors()
        .iter()
        .map(|t| t.grad(&grads).unwrap().into_data().iter::<f64>().collect())
        .collect();
    (value, g)
}

/// The fused path's loss and gradients of member 1 on samples `rows`.
fn fused<E: groklab_engine::model::kernel::FusedReal>(
    c: &Config,
    params: &Params,
    data: &Dataset,
    enc: &Encoding,
    rows: &[usize],
) -> (f64, Vec<Vec<f64>>) {
    let model = c.build_model();
    let mut f = StackKernel::<E>::new(&model.stack().unwrap(), model.specs())
        .expect("the family is covered");
    let kind = c.loss.wants();
    let (tokens, x): (Vec<Vec<usize>>, Vec<E>) = match &data.train.x {
        Features::Tokens(t) => (
            t.iter()
                .map(|pos| rows.iter().map(|&k| pos[k]).collect())
                .collect(),
            Vec::new(),
        ),
        Features::Dense { x, dim } => (
            Vec::new(),
            rows.iter()
                .flat_map(|&k| x[k * dim..(k + 1) * dim].iter().map(|&v| E::of(v)))
                .collect(),
        ),
    };
    let (mut classes, mut vectors) = (Vec::new(), Vec::new());
    for &k in rows {
        match enc.target(&data.train, k, kind) {
            Target::Class(c) => classes.push(c),
            Target::Vector(v) => vectors.extend_from_slice(v),
        }
    }
    let inputs = if tokens.is_empty() {
        HostInputs::Dense(&x)
    } else {
        HostInputs::Tokens(&tokens)
    };
    let targets = if classes.is_empty() {
        HostTargets::Vectors(&vectors)
    } else {
        HostTargets::Classes(&classes)
    };
    let value = f.step(params, 1, inputs, targets, &*c.loss, rows.len(), None);
    let grads = f
        .grads
        .iter()
        .map(|g| g.iter().map(|v| v.f64()).collect())
        .collect();
    (value, grads)
}

fn compare(
    name: &str,
    (la, ga): (f64, Vec<Vec<f64>>),
    (lf, gf): (f64, Vec<Vec<f64>>),
    tol: f64,
    c: &Config,
) {
    assert!(
        (la - lf).abs() <= tol * la.abs().max(1e-30),
        "{name}: loss {lf} vs autodiff {la}"
    );
    let specs = c.build_model().specs().to_vec();
    for ((a, f), spec) in ga.iter().zip(&gf).zip(&specs) {
        let scale = a.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1e-30);
        let worst = a
            .iter()
            .zip(f)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= tol * scale,
            "{name}: {} off by {:e} relative",
            spec.name,
            worst / scale
        );
    }
}

#[test]
fn fused_gradients_equal_autodiff_on_every_model_and_head() {
    for (name, base) in family() {
        let data = base.dataset();
        let enc = Encoding::new(
            base.build_model().head(),
            base.task.shape().output,
            base.task.correctness(),
            base.seed,
        );
        let all: Vec<usize> = (0..data.train.len()).collect();
        let minibatch: Vec<usize> = (0..data.train.len()).step_by(3).take(7).collect();
        for rows in [&all, &minibatch] {
            let c64 = base.with(&[("train.dtype", s("f64"))]).unwrap();
            let p64 = params(&c64, Precision::F64);
            compare(
                &format!("{name} (f64, {} rows)", rows.len()),
                autodiff(&c64, &p64, &data, &enc, rows),
                fused::<f64>(&c64, &p64, &data, &enc, rows),
                1e-10,
                &c64,
            );
            let c32 = base.with(&[("train.dtype", s("f32"))]).unwrap();
            let p32 = params(&c32, Precision::F32);
            compare(
                &format!("{name} (f32, {} rows)", rows.len()),
                autodiff(&c32, &p32, &data, &enc, rows),
                fused::<f32>(&c32, &p32, &data, &enc, rows),
                1e-5,
                &c32,
            );
        }
    }
}

/// Training through the fused path and through autodiff, in f64, stays together step after step.
#[test]
fn fused_and_autodiff_training_agree() {
    use groklab_engine::train::{TrainOptions, train};
    for (name, base) in family() {
        let c = base
            .with(&[
                ("train.dtype", s("f64")),
                ("train.steps", Value::Integer(50)),
                ("eval.log_points", Value::Integer(10)),
            ])
            .unwrap();
        let run = |path: &str| {
            let c = c.with(&[("train.path", s(path))]).unwrap();
            train(std::slice::from_ref(&c), &TrainOptions::default())
                .unwrap()
                .members
                .remove(0)
        };
        let (f, a) = (run("fused"), run("autodiff"));
        let (lf, la) = (
            f.metrics.column("train_loss").unwrap(),
            a.metrics.column("train_loss").unwrap(),
        );
        for (x, y) in lf.iter().zip(&la) {
            assert!(
                (x - y).abs() <= 1e-9 * y.abs(),
                "{name}: train loss {x} (fused) vs {y}"
            );
        }
    }
}
