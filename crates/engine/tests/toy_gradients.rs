//! The toy model's gradients through burn (gather, batched matmul, broadcast bias, tanh) against
//! central finite differences of the same loss, in f64; and the f32 path (vectorised tanh with its
//! attached derivative) against the f64 gradients.

use burn::prelude::*;
use groklab_engine::head::{Encoding, Target, TargetKind};
use groklab_engine::model::{Hooks, Inputs};
use groklab_engine::params::{Params, Precision};
use groklab_engine::seed::{Stream, rng};
use groklab_engine::task::Features;
use toml::Value;

fn setup(
    precision: Precision,
) -> (
    groklab_engine::Config,
    Params,
    groklab_engine::task::Dataset,
) {
    // a narrower decoder keeps the finite differences cheap; the code paths are the same
    let c = groklab_engine::presets::load("liu2022-toy")
        .unwrap()
        .with(&[
            (
                "model.d_hidden",
                Value::Array(vec![Value::Integer(12), Value::Integer(9)]),
            ),
            ("model.d_target", Value::Integer(4)),
            ("model.d_embed", Value::Integer(2)),
            (
                "train.dtype",
                Value::String(format!("{precision:?}").to_lowercase()),
            ),
        ])
        .unwrap();
    let model = c.build_model();
    let init = model.init(&mut rng(c.seed, Stream::Init));
    let params = Params::from_members(model.specs().to_vec(), vec![init], precision);
    (c.clone(), params, c.dataset())
}

/// Mean squared error to the class targets over the training split, and the gradient of every
/// parameter (flattened, spec order) when `grad` is set.
fn loss(
    c: &groklab_engine::Config,
    params: &Params,
    data: &groklab_engine::task::Dataset,
    grad: bool,
) -> (f64, Vec<Vec<f64>>) {
    let device = if grad {
        Device::flex().autodiff()
    } else {
        Device::flex()
    };
    let dtype = params.precision.dtype();
    let model = c.build_model();
    let Features::Tokens(tok) = &data.train.x else {
        panic!()
    };
    let n = data.train.len();
    let ids = |p: usize| {
        let v: Vec<i32> = tok[p].iter().map(|&t| t as i32).collect();
        Tensor::<2, Int>::from_data(TensorData::new(v, [1, n]), &device)
    };
    let inputs = Inputs::Tokens(vec![ids(0), ids(1)]);
    let enc = Encoding::new(model.head(), c.task.shape().output, None, c.seed);
    let mut tv = Vec::new();
    for k in 0..n {
        let Target::Vector(t) = enc.target(&data.train, k, TargetKind::Vector) else {
            panic!()
        };
        tv.extend_from_slice(t);
    }
    let dt = tv.len() / n;
    let targets = Tensor::<3>::from_data(TensorData::new(tv, [1, n, dt]), (&device, dtype));
    let leaves = if grad {
        params.tensors(&device).require_grad()
    } else {
        params.tensors(&device)
    };
    let out = model.forward(&leaves, &inputs, &mut Hooks::none());
    let l = (out - targets)
        .square()
        .sum()
        .mul_scalar(1.0 / (n * dt) as f64);
    let value: f64 = l.clone().into_scalar::<f64>();
    if !grad {
        return (value, Vec::new());
    }
    let g = l.backward();
    (
        value,
        leaves
            .tensors()
            .iter()
            .map(|t| t.grad(&g).unwrap().into_data().iter::<f64>().collect())
            .collect(),
    )
}

#[test]
fn f64_gradients_match_finite_differences() {
    let (c, params, data) = setup(Precision::F64);
    let (_, grads) = loss(&c, &params, &data, true);
    let h = 1e-6;
    for (k, (spec, grad)) in params.specs.iter().zip(&grads).enumerate() {
        let n = spec.numel();
        for idx in (0..n).step_by((n / 7).max(1)) {
            let bump = |delta: f64| {
                let mut p = params.clone();
                if let groklab_engine::params::Buf::F64(v) = &mut p.values[k] {
                    v[idx] += delta;
                }
                loss(&c, &p, &data, false).0
            };
            let fd = (bump(h) - bump(-h)) / (2.0 * h);
            let g = grad[idx];
            assert!(
                (fd - g).abs() <= 1e-6 * g.abs().max(1e-3),
                "{}[{idx}]: burn {g}, finite difference {fd}",
                spec.name
            );
        }
    }
}

#[test]
fn f32_gradients_with_the_fast_tanh_match_f64() {
    let (c, p64, data) = setup(Precision::F64);
    let (_, g64) = loss(&c, &p64, &data, true);
    let (_, p32, _) = setup(Precision::F32);
    let (_, g32) = loss(&c, &p32, &data, true);
    for (k, (a, b)) in g32.iter().zip(&g64).enumerate() {
        let scale = b.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-4 * scale,
            "{}: f32 gradient off by {worst:e} (scale {scale:e})",
            p64.specs[k].name
        );
    }
}
