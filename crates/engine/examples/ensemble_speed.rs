//! Member-steps per second of the toy model (`liu2022-toy`, decoder 1 -> 200 -> 200 -> 30, full
//! batch of 45) against ensemble size and threads, on the fused and the autodiff path, beside the
//! machine's single-precision matrix-product peak measured in the same run (faer sgemm 1024^3).
//!
//!     cargo run --release -p groklab-engine --example ensemble_speed [STEPS] [SIZES] [THREADS]
//!
//! e.g. `... ensemble_speed 2000 1,2,4,8,16,32,88,176 1,2`. Each thread trains its own ensemble of
//! M members (decoder learning rates and weight decays differ), evaluating only at the first and
//! last step; a member-step is 12.4 MFLOP (forward and backward of the three layers).

use groklab_engine::presets;
use groklab_engine::train::{TrainOptions, Trainer};
use std::time::Instant;
use toml::Value;

const MEMBER_STEP_FLOP: f64 = 12.4e6;

fn parse_list(s: Option<&String>, default: &[usize]) -> Vec<usize> {
    s.map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// sgemm GFLOP/s of faer on `threads` threads (1024^3, best of 5).
fn peak(threads: usize) -> f64 {
    use faer::{Mat, Par};
    let n = 1024;
    let a = Mat::<f32>::from_fn(n, n, |i, j| ((i * 7 + j) % 13) as f32 / 13.0);
    let b = Mat::<f32>::from_fn(n, n, |i, j| ((i + 3 * j) % 11) as f32 / 11.0);
    let mut c = Mat::<f32>::zeros(n, n);
    let par = if threads == 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        faer::linalg::matmul::matmul(&mut c, faer::Accum::Replace, &a, &b, 1.0f32, par);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let sizes = parse_list(args.get(1), &[1, 2, 4, 8, 16, 32, 88, 176]);
    let threads = parse_list(args.get(2), &[1, 2]);
    let peaks: Vec<(usize, f64)> = threads.iter().map(|&t| (t, peak(t))).collect();
    for (t, p) in &peaks {
        println!("{{\"peak_gflops\": {p:.1}, \"threads\": {t}}}");
    }
    let base = presets::load("liu2022-toy")
        .unwrap()
        .with(&[
            ("train.steps", Value::Integer(steps as i64)),
            ("eval.log_points", Value::Integer(0)),
        ])
        .unwrap();
    for path in ["fused", "autodiff"] {
        for &t in &threads {
            let peak = peaks.iter().find(|p| p.0 == t).map_or(f64::NAN, |p| p.1);
            for &m in &sizes {
                let members: Vec<Vec<_>> = (0..t)
                    .map(|thread| {
                        (0..m)
                            .map(|k| {
                                base.with(&[
                                    ("train.path", Value::String(path.into())),
                                    ("seed", Value::Integer((thread * m + k) as i64)),
                                    (
                                        "optim.decoder.lr",
                                        Value::Float(1e-4 * (1.0 + k as f64 / m as f64)),
                                    ),
                                    ("optim.decoder.weight_decay", Value::Float(k as f64 % 5.0)),
                                ])
                                .unwrap()
                            })
                            .collect()
                    })
                    .collect();
                let started = Instant::now();
                std::thread::scope(|s| {
                    for configs in &members {
                        s.spawn(move || {
                            Trainer::setup(configs)
                                .unwrap()
                                .run(&TrainOptions::default());
                        });
                    }
                });
                let wall = started.elapsed().as_secs_f64();
                let member_steps = (t * m * steps) as f64 / wall;
                let gflops = member_steps * MEMBER_STEP_FLOP / 1e9;
                println!(
                    "{{\"path\": \"{path}\", \"threads\": {t}, \"members\": {m}, \"member_steps_per_second\": {member_steps:.0}, \"gflops\": {gflops:.1}, \"peak_fraction\": {:.3}}}",
                    gflops / peak
                );
            }
        }
    }
}
