//! Speed of the closed-form solution against simulating gradient descent to the same horizon, on
//! the `levi2023-fig1-lambda0.9` setup (d_in = 1000, N = 1111, dout = 1, f32 simulation).
//!
//!     cargo run --release -p groklab-engine --example exact_vs_simulation [STEPS] [REPEATS]
//!
//! The simulation is the training loop with evaluation only at the first and last step; the exact
//! solution builds Sigma = X^T X / N, eigendecomposes it once (faer) and evaluates both losses at
//! the horizon. Prints the median wall time of each, their ratio, and the extra time the closed
//! form takes to evaluate every integer step up to the horizon.

use faer::Mat;
use groklab_engine::task::Features;
use groklab_engine::task::teacher_student::TeacherStudent;
use groklab_engine::train::{TrainOptions, train};
use groklab_theory::linear::{Clock, ExactDynamics};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let steps = args.first().copied().unwrap_or(30_000);
    let repeats = args.get(1).copied().unwrap_or(3);
    let mut c = groklab_engine::presets::load("levi2023-fig1-lambda0.9").expect("preset");
    c.train.steps = steps;
    c.eval.log_points = 0;
    let (mut sim, mut exact, mut every) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = (0.0, 0.0);
    for _ in 0..repeats {
        let t = Instant::now();
        let r = train(std::slice::from_ref(&c), &TrainOptions::default()).expect("train");
        sim.push(t.elapsed().as_secs_f64());
        let m = &r.members[0].metrics;
        last.0 = m.last("gen_loss").unwrap_or(f64::NAN);

        // the same realisation, in closed form
        let data = c.dataset();
        let task = c
            .task
            .get::<TeacherStudent>()
            .expect("a teacher-student preset");
        let Features::Dense { x, dim } = &data.train.x else {
            unreachable!()
        };
        let t0 = Instant::now();
        let n = data.train.len();
        let xm = Mat::<f64>::from_fn(n, *dim, |i, j| x[i * dim + j]);
        let (w, _, _) = &data.teacher.as_ref().unwrap().layers[0];
        let tm = Mat::<f64>::from_fn(*dim, task.d_out, |i, j| w[i * task.d_out + j]);
        let s0 = initial_student(&c, *dim, task.d_out);
        let e = ExactDynamics::from_data(xm.as_ref(), tm.as_ref(), s0.as_ref(), 0.01, 0.0)
            .expect("exact");
        last.1 = e.losses(steps as f64, Clock::Discrete).gen_loss;
        exact.push(t0.elapsed().as_secs_f64());
        let t1 = Instant::now();
        for s in 1..=steps {
            std::hint::black_box(e.losses(s as f64, Clock::Discrete));
        }
        every.push(t1.elapsed().as_secs_f64());
    }
    let (ms, me, mev) = (median(sim), median(exact), median(every));
    println!(
        "{{\"steps\": {steps}, \"repeats\": {repeats}, \"simulation_seconds\": {ms:.4}, \"exact_seconds\": {me:.4}, \"ratio\": {:.1}, \"exact_every_step_extra_seconds\": {mev:.4}, \"gen_loss_sim\": {:e}, \"gen_loss_exact\": {:e}}}",
        ms / me,
        last.0,
        last.1
    );
}

/// The run's initial student, drawn exactly as the trainer draws it.
fn initial_student(c: &groklab_engine::Config, din: usize, dout: usize) -> Mat<f64> {
    let model = c.build_model();
    let init = model.init(&mut groklab_engine::seed::rng(
        c.seed,
        groklab_engine::seed::Stream::Init,
    ));
    Mat::<f64>::from_fn(din, dout, |i, j| init[0][i * dout + j])
}
