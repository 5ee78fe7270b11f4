//! The linear-estimator study end to end through the one training loop: simulated gradient descent
//! against the closed-form solution of the same realisation, and the weight-decay convention.

use groklab_engine::Config;
use groklab_engine::train::{TrainOptions, train};

fn config(gamma: f64, dout: usize, steps: usize) -> Config {
    let text = format!(
        r#"
name = "exact-check"
seed = 3
[task]
kind = "teacher-student"
d_in = 60
d_out = {dout}
lambda = 0.6
n_test = 500
eps = 1e-3
[model]
kind = "mlp"
[optim.student]
params = ["mlp"]
optimizer = "sgd"
lr = 0.05
weight_decay = {gamma}
decay_per_output = true
[train]
steps = {steps}
dtype = "f64"
[eval]
log_points = 40
"#
    );
    Config::from_toml(&text, "test").unwrap()
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-300))
        .fold(0.0, f64::max)
}

#[test]
fn simulated_gd_equals_the_exact_discrete_solution() {
    for (gamma, dout) in [(0.0, 1), (0.0, 3), (0.05, 1), (0.02, 4)] {
        let c = config(gamma, dout, 4000);
        let r = train(std::slice::from_ref(&c), &TrainOptions::default()).unwrap();
        let m = &r.members[0].metrics;
        let (tl, tle) = (
            m.column("train_loss").unwrap(),
            m.column("train_loss_exact").unwrap(),
        );
        let (gl, gle) = (
            m.column("gen_loss").unwrap(),
            m.column("gen_loss_exact").unwrap(),
        );
        assert_eq!(m.column("step").unwrap().last(), Some(&4000.0));
        // Compare while the residual D = S - T is above 1e-6 of its start (loss above 1e-12): below
        // that, forming D from S and T cancels more digits than the dynamics lose.
        let steps = m.column("step").unwrap();
        let keep = tle.iter().take_while(|&&l| l > 1e-12 * tle[0]).count();
        assert!(
            steps[keep - 1] >= 1000.0,
            "gamma {gamma}: compared only up to step {}",
            steps[keep - 1]
        );
        let (et, eg) = (
            max_rel(&tl[..keep], &tle[..keep]),
            max_rel(&gl[..keep], &gle[..keep]),
        );
        assert!(
            et < 1e-10 && eg < 1e-10,
            "gamma {gamma} dout {dout}: train rel err {et:e}, gen rel err {eg:e}"
        );
    }
}

#[test]
fn test_loss_estimates_the_exact_generalisation_loss() {
    let c = config(0.0, 2, 300);
    let r = train(std::slice::from_ref(&c), &TrainOptions::default()).unwrap();
    let m = &r.members[0].metrics;
    let (vl, gl) = (m.column("val_loss").unwrap(), m.column("gen_loss").unwrap());
    // 500 fresh samples: the estimate is within a few standard errors (relative sd ~ sqrt(2/1000))
    for (v, g) in vl.iter().zip(&gl) {
        assert!(
            (v - g).abs() < 0.25 * g,
            "test loss {v} vs ||D||^2/dout {g}"
        );
    }
}

#[test]
fn weight_decay_per_output_divides_by_dout() {
    // With decay_per_output, gamma = 0.4 and dout = 4 must train exactly like gamma = 0.1 without it.
    let a = config(0.4, 4, 50);
    let mut b = a.clone();
    let g = b.optim.get_mut("student").unwrap();
    g.weight_decay = 0.1;
    g.decay_per_output = false;
    let ra = train(std::slice::from_ref(&a), &TrainOptions::default()).unwrap();
    let rb = train(std::slice::from_ref(&b), &TrainOptions::default()).unwrap();
    assert_eq!(
        ra.members[0].metrics.column("train_loss"),
        rb.members[0].metrics.column("train_loss")
    );
}

/// Issue 6: every member's probes come from its own config. Three members with different seeds,
/// learning rates and weight decays, trained as one ensemble, give every metric of their solo runs,
/// the theory columns (which depend on eta and gamma) included.
#[test]
fn an_ensemble_member_equals_its_solo_run_theory_columns_included() {
    let a = config(0.0, 2, 200);
    let mut b = a.clone();
    b.seed = 11;
    let g = b.optim.get_mut("student").unwrap();
    g.lr = 0.02;
    g.weight_decay = 0.05;
    let mut c = a.clone();
    c.seed = 5;
    let g = c.optim.get_mut("student").unwrap();
    g.lr = 0.08;
    g.weight_decay = 0.01;
    let members = [a, b, c];
    let together = train(&members, &TrainOptions::default()).unwrap();
    for (k, (t, cfg)) in together.members.iter().zip(&members).enumerate() {
        let alone = train(std::slice::from_ref(cfg), &TrainOptions::default()).unwrap();
        let s = &alone.members[0];
        assert_eq!(t.metrics.columns, s.metrics.columns, "member {k}");
        for col in ["gen_loss_mp", "train_acc_mp", "gen_loss_exact", "val_acc"] {
            assert!(t.metrics.columns.iter().any(|c| c == col), "no {col}");
        }
        for (rt, rs) in t.metrics.rows.iter().zip(&s.metrics.rows) {
            for ((x, y), name) in rt.iter().zip(rs).zip(&t.metrics.columns) {
                let same =
                    (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * y.abs().max(1e-300);
                assert!(
                    same,
                    "member {k}, {name} at step {}: {x} vs solo {y}",
                    rt[0]
                );
            }
        }
        assert_eq!(t.metrics.rows.len(), s.metrics.rows.len());
        assert_eq!(t.final_params, s.final_params, "member {k} parameters");
    }
    // the members really differ, so the comparison above has teeth
    let mp = |k: usize| together.members[k].metrics.column("gen_loss_mp").unwrap();
    assert_ne!(mp(0), mp(1));
    assert_ne!(mp(1), mp(2));
}

#[test]
fn members_that_differ_in_shape_are_a_user_error() {
    let a = config(0.0, 2, 20);
    let b = config(0.0, 3, 20);
    let e = train(&[a, b], &TrainOptions::default()).unwrap_err();
    assert!(e.is_user_error(), "{e}");
    assert!(e.to_string().contains("task"), "{e}");
}
