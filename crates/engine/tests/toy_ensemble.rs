//! The toy model trained as an ensemble: members with their own seeds, decoder learning rates,
//! weight decays and init scales, in f32, give exactly (bit for bit) their solo runs' metrics, so a
//! sweep's results do not depend on how its runs were grouped.

use groklab_engine::presets;
use groklab_engine::train::{TrainOptions, train};
use toml::Value;

#[test]
fn toy_ensemble_members_equal_their_solo_runs_bit_for_bit() {
    let base = presets::load("liu2022-toy")
        .unwrap()
        .with(&[
            ("train.steps", Value::Integer(300)),
            ("eval.log_points", Value::Integer(20)),
        ])
        .unwrap();
    let member = |seed: i64, lr: f64, wd: f64, scale: f64| {
        base.with(&[
            ("seed", Value::Integer(seed)),
            ("optim.decoder.lr", Value::Float(lr)),
            ("optim.decoder.weight_decay", Value::Float(wd)),
            ("model.init_scale", Value::Float(scale)),
        ])
        .unwrap()
    };
    let members = [
        member(0, 1e-4, 0.0, 1.0),
        member(3, 1e-3, 1.0, 1.0),
        member(7, 3e-3, 5.0, 2.0),
    ];
    let together = train(&members, &TrainOptions::default()).unwrap();
    for (k, (t, c)) in together.members.iter().zip(&members).enumerate() {
        let alone = train(std::slice::from_ref(c), &TrainOptions::default()).unwrap();
        assert_eq!(t.metrics, alone.members[0].metrics, "member {k}");
        assert_eq!(t.final_params, alone.members[0].final_params, "member {k}");
        assert_eq!(t.tables, alone.members[0].tables, "member {k}");
    }
    assert_ne!(together.members[0].metrics, together.members[1].metrics);
}
