//! The figures of Levi et al. 2023 drawn from the simulations' results and the large-dimension
//! theory: curves of one linear run beside the theory's, grokking-time panels, phase diagrams.

use super::super::figure::{Curve, Figure, HeatPanel, LinePanel, Panel, Point, Style, sci, short};
use super::super::sim::{SimRuns, theory_of};
use super::{
    CURVE_POINTS, DtPoint, F1_EPS, FigureOut, LAMBDA, Levi2023, Mode, lambda_of, lin_values,
    log_integers, log_steps, log_values,
};
use crate::commands::CliError;
use groklab_engine::model::mlp::MlpConfig;
use groklab_engine::task::teacher_student::TeacherStudent;
use groklab_report::Axis as PlotAxis;
use groklab_theory::linear::times::{critical_gamma, delta_t_limit};
use groklab_theory::linear::{Axis, LinearTheory, loss_threshold};

fn theory_err(e: impl std::fmt::Display) -> CliError {
    CliError::Work(format!("theory: {e}"))
}

/// delta_t of the theory over one axis (the other parameters as in `base`).
fn dt_curve(base: &LinearTheory, axis: Axis, values: &[f64]) -> Result<Vec<Point>, CliError> {
    let other = if axis == Axis::Lambda {
        Axis::Eps
    } else {
        Axis::Lambda
    };
    let fixed = if axis == Axis::Lambda {
        base.eps
    } else {
        base.lambda
    };
    Ok(base
        .grid(axis, values, other, &[fixed])
        .map_err(theory_err)?
        .into_iter()
        .map(|p| Point::new(p.v1, p.delta_t))
        .collect())
}

/// Theory times at a simulation's own parameters (linear students only).
fn theory_times(r: &SimRuns) -> Option<(Option<f64>, Option<f64>)> {
    if let Some(m) = r.config.model.get::<MlpConfig>()
        && !m.d_hidden.is_empty()
    {
        return None;
    }
    let th = theory_of(&r.config)?;
    th.validate().ok()?;
    let s = th.summary();
    Some((s.t_train, s.t_gen))
}

fn dt_point(panel: &str, series: &str, param: &'static str, value: f64, r: &SimRuns) -> DtPoint {
    DtPoint {
        panel: panel.into(),
        series: series.into(),
        param,
        value,
        lambda: lambda_of(&r.config),
        d_in: r.d_in(),
        steps: r.config.train.steps,
        sim: r.times("train_acc", "val_acc"),
        theory: theory_times(r),
    }
}

/// Simulated (mean over seeds) and theory curves of one linear run: losses and accuracies.
struct CurvePair {
    loss: Vec<Curve>,
    acc: Vec<Curve>,
}

fn linear_curves(label: &str, r: &SimRuns) -> CurvePair {
    let d_in = r.d_in();
    let mut out = CurvePair {
        loss: vec![
            Curve::sim(
                &format!("{label} train"),
                Style::Line,
                d_in,
                r.mean_curve("train_loss"),
            ),
            Curve::sim(
                &format!("{label} test"),
                Style::Line,
                d_in,
                r.mean_curve("gen_loss"),
            ),
        ],
        acc: vec![
            Curve::sim(
                &format!("{label} train"),
                Style::Line,
                d_in,
                r.mean_curve("train_acc"),
            ),
            Curve::sim(
                &format!("{label} test"),
                Style::Line,
                d_in,
                r.mean_curve("val_acc"),
            ),
        ],
    };
    if let Some(th) = theory_of(&r.config) {
        let t = theory_only_curves(label, &th, r.config.train.steps as f64);
        out.loss.extend(t.loss);
        out.acc.extend(t.acc);
    }
    out
}

fn theory_only_curves(label: &str, th: &LinearTheory, steps: f64) -> CurvePair {
    let c = th.curve(&log_steps(steps, CURVE_POINTS));
    let pts = |f: fn(&groklab_theory::linear::CurvePoint) -> f64| {
        c.iter().map(|p| Point::new(p.t, Some(f(p)))).collect()
    };
    CurvePair {
        loss: vec![
            Curve::theory(
                &format!("{label} train"),
                Style::Dashed,
                pts(|p| p.train_loss),
            ),
            Curve::theory(&format!("{label} test"), Style::Dashed, pts(|p| p.gen_loss)),
        ],
        acc: vec![
            Curve::theory(
                &format!("{label} train"),
                Style::Dashed,
                pts(|p| p.train_acc),
            ),
            Curve::theory(&format!("{label} test"), Style::Dashed, pts(|p| p.gen_acc)),
        ],
    }
}

fn line(name: &str, title: String, x: PlotAxis, y: PlotAxis, curves: Vec<Curve>) -> Panel {
    Panel::Line(LinePanel {
        name: name.into(),
        title,
        x,
        y,
        curves,
    })
}

fn d_in_note(mode: &Mode) -> String {
    format!("sim d_in={}, {} seeds", mode.d_in, mode.seeds)
}

impl Levi2023 {
    pub(super) fn fig1(&self, sims: &[SimRuns]) -> Result<FigureOut, CliError> {
        let note = d_in_note(&self.mode);
        let (mut loss, mut acc) = (Vec::new(), Vec::new());
        let mut last = 1.0f64;
        for &(l, id) in &self.f1_curves {
            let c = linear_curves(&format!("lambda={}", short(l)), &sims[id]);
            loss.extend(c.loss);
            acc.extend(c.acc);
            last = last.max(sims[id].config.train.steps as f64);
        }
        let base = LinearTheory::new(LAMBDA);
        let threshold = loss_threshold(base.eps, 1, base.level);
        loss.push(Curve::theory(
            "loss threshold L* (accuracy 0.95)",
            Style::Dashed,
            vec![
                Point::new(1.0, Some(threshold)),
                Point::new(last, Some(threshold)),
            ],
        ));

        let lambdas = lin_values(0.02, 0.98, 49);
        let mut dt = Vec::new();
        for eps in F1_EPS {
            let base = LinearTheory {
                eps,
                ..LinearTheory::new(0.5)
            };
            dt.push(Curve::theory(
                &format!("eps={}", sci(eps)),
                Style::Dashed,
                dt_curve(&base, Axis::Lambda, &lambdas)?,
            ));
        }
        dt.push(Curve::theory(
            "eps->0 limit",
            Style::Dashed,
            lambdas
                .iter()
                .map(|&l| Point::new(l, delta_t_limit(l, base.eta, 1, base.clock())))
                .collect(),
        ));
        let mut points = Vec::new();
        for &(l, id) in &self.f1_dt {
            points.push(dt_point(
                "delta_t-lambda",
                "eps=1e-3",
                "lambda",
                l,
                &sims[id],
            ));
        }
        dt.push(Curve::sim(
            "eps=1e-3",
            Style::Points,
            Some(self.mode.d_in),
            points
                .iter()
                .map(|p| Point::of(p.value, p.sim.delta_t))
                .collect(),
        ));
        Ok(FigureOut {
            figure: Figure {
                name: "fig1".into(),
                panels: vec![
                    line(
                        "loss",
                        format!("F1 losses, dout=1, eps=1e-3 ({note})"),
                        PlotAxis::log("step"),
                        PlotAxis::log("loss"),
                        loss,
                    ),
                    line(
                        "accuracy",
                        format!("F1 accuracies, dout=1, eps=1e-3 ({note})"),
                        PlotAxis::log("step"),
                        PlotAxis::lin("accuracy"),
                        acc,
                    ),
                    line(
                        "delta_t-lambda",
                        format!("F1 grokking time vs lambda ({note})"),
                        PlotAxis::lin("lambda"),
                        PlotAxis::log("delta_t (steps)"),
                        dt,
                    ),
                ],
            },
            points,
        })
    }

    pub(super) fn fig2(&self, sims: &[SimRuns]) -> Result<FigureOut, CliError> {
        let note = d_in_note(&self.mode);
        let mut acc = Vec::new();
        for &(d, id) in &self.f2_curves {
            let label = format!("dout={d}");
            match id {
                Some(id) => acc.extend(linear_curves(&label, &sims[id]).acc),
                None => {
                    let th = LinearTheory {
                        dout: d,
                        ..LinearTheory::new(LAMBDA)
                    };
                    let steps = Mode::full(None).steps_for(&th) as f64;
                    acc.extend(theory_only_curves(&label, &th, steps).acc);
                }
            }
        }
        let douts = log_integers(1.0, 1000.0, 80);
        let mut dt = vec![Curve::theory(
            "delta_t",
            Style::Dashed,
            dt_curve(&LinearTheory::new(LAMBDA), Axis::Dout, &douts)?,
        )];
        let points: Vec<DtPoint> = self
            .f2_dt
            .iter()
            .map(|&(d, id)| dt_point("delta_t-dout", "delta_t", "dout", d as f64, &sims[id]))
            .collect();
        dt.push(Curve::sim(
            "delta_t",
            Style::Points,
            Some(self.mode.d_in),
            points
                .iter()
                .map(|p| Point::of(p.value, p.sim.delta_t))
                .collect(),
        ));
        let skipped = if self.mode.heavy {
            String::new()
        } else {
            ", dout=700 theory only".into()
        };
        Ok(FigureOut {
            figure: Figure {
                name: "fig2".into(),
                panels: vec![
                    line(
                        "accuracy",
                        format!("F2 accuracies, lambda=0.9 ({note}{skipped})"),
                        PlotAxis::log("step"),
                        PlotAxis::lin("accuracy"),
                        acc,
                    ),
                    line(
                        "delta_t-dout",
                        format!("F2 grokking time vs dout, lambda=0.9 ({note})"),
                        PlotAxis::log("dout"),
                        PlotAxis::log("delta_t (steps)"),
                        dt,
                    ),
                ],
            },
            points,
        })
    }

    pub(super) fn fig3(&self, sims: &[SimRuns]) -> Result<FigureOut, CliError> {
        let note = d_in_note(&self.mode);
        let (mut loss, mut acc) = (Vec::new(), Vec::new());
        for &(g, id) in &self.f3_curves {
            let c = linear_curves(&format!("gamma={}", sci(g)), &sims[id]);
            loss.extend(c.loss);
            acc.extend(c.acc);
        }
        let base = LinearTheory::new(LAMBDA);
        let gammas = log_values(1e-6, 1e-1, 51);
        let mut dt = vec![Curve::theory(
            "delta_t",
            Style::Dashed,
            dt_curve(&base, Axis::Gamma, &gammas)?,
        )];
        let points: Vec<DtPoint> = self
            .f3_dt
            .iter()
            .map(|&(g, id)| dt_point("delta_t-gamma", "delta_t", "gamma", g, &sims[id]))
            .collect();
        dt.push(Curve::sim(
            "delta_t",
            Style::Points,
            Some(self.mode.d_in),
            points
                .iter()
                .map(|p| Point::of(p.value, p.sim.delta_t))
                .collect(),
        ));
        let gc = critical_gamma(&base.loss_params(), base.eps, base.level)
            .map_or("none".into(), |g| format!("{g:.2e}"));
        Ok(FigureOut {
            figure: Figure {
                name: "fig3".into(),
                panels: vec![
                    line(
                        "loss",
                        format!("F3 losses, lambda=0.9 ({note})"),
                        PlotAxis::log("step"),
                        PlotAxis::log("loss"),
                        loss,
                    ),
                    line(
                        "accuracy",
                        format!("F3 accuracies, lambda=0.9 ({note})"),
                        PlotAxis::log("step"),
                        PlotAxis::lin("accuracy"),
                        acc,
                    ),
                    line(
                        "delta_t-gamma",
                        format!("F3 delta_t vs gamma, lambda=0.9, gamma_c={gc} ({note})"),
                        PlotAxis::log("gamma"),
                        PlotAxis::lin("delta_t (steps)"),
                        dt,
                    ),
                ],
            },
            points,
        })
    }

    pub(super) fn fig4(&self) -> Result<FigureOut, CliError> {
        let n = self.mode.grid;
        let gammas = log_values(1e-6, 1e-1, n);
        let douts = log_integers(1.0, 1000.0, n);
        let lambdas = lin_values(0.05, 0.95, n);
        let base = LinearTheory::new(LAMBDA);
        let heat = |name: &str,
                    fixed: &str,
                    (ax, xs): (Axis, &[f64]),
                    (ay, ys): (Axis, &[f64]),
                    log: (bool, bool)|
         -> Result<Panel, CliError> {
            let pts = base.grid(ax, xs, ay, ys).map_err(theory_err)?;
            let ny = ys.len();
            let z = (0..ny)
                .map(|j| {
                    (0..xs.len())
                        .map(|i| pts[i * ny + j].delta_t.filter(|d| *d > 0.0))
                        .collect()
                })
                .collect();
            let axis = |a: Axis, l: bool| {
                if l {
                    PlotAxis::log(a.name())
                } else {
                    PlotAxis::lin(a.name())
                }
            };
            Ok(Panel::Heat(HeatPanel {
                name: name.into(),
                title: format!("F4 delta_t, {fixed}, eps=1e-3 (grey: no grokking)"),
                x: axis(ax, log.0),
                xs: xs.to_vec(),
                y: axis(ay, log.1),
                ys: ys.to_vec(),
                z,
            }))
        };
        let panels = vec![
            heat(
                "gamma-dout",
                "lambda=0.9",
                (Axis::Gamma, &gammas),
                (Axis::Dout, &douts),
                (true, true),
            )?,
            heat(
                "gamma-lambda",
                "dout=1",
                (Axis::Gamma, &gammas),
                (Axis::Lambda, &lambdas),
                (true, false),
            )?,
            heat(
                "dout-lambda",
                "gamma=0",
                (Axis::Dout, &douts),
                (Axis::Lambda, &lambdas),
                (true, false),
            )?,
        ];
        Ok(FigureOut {
            figure: Figure {
                name: "fig4".into(),
                panels,
            },
            points: Vec::new(),
        })
    }

    pub(super) fn fig5(&self, sims: &[SimRuns]) -> FigureOut {
        let mut panels = Vec::new();
        let mut points = Vec::new();
        let mut dhs: Vec<usize> = self.f5.iter().map(|f| f.0).collect();
        dhs.dedup();
        for dh in dhs {
            let mut acc = Vec::new();
            let mut theory = Vec::new();
            let mut sample = None;
            for &(_, label, id) in self.f5.iter().filter(|f| f.0 == dh) {
                let r = &sims[id];
                let d_in = r.d_in();
                sample = Some(&r.config);
                // tanh students at this small init track the identity ones closely: identity
                // is drawn last, with dots, so both stay visible.
                let style = if label == "identity" {
                    Style::LinePoints
                } else {
                    Style::Line
                };
                acc.push(Curve::sim(
                    &format!("{label} train"),
                    style,
                    d_in,
                    r.mean_curve("train_acc"),
                ));
                acc.push(Curve::sim(
                    &format!("{label} test"),
                    style,
                    d_in,
                    r.mean_curve("val_acc"),
                ));
                let has_mp = r
                    .runs
                    .first()
                    .is_some_and(|run| run.metrics.column("train_acc_mp").is_some());
                let mut p = dt_point(&format!("dh{dh}"), label, "dh", dh as f64, r);
                if has_mp {
                    for (col, name) in [("train_acc_mp", "train"), ("val_acc_mp", "test")] {
                        theory.push(Curve::theory(
                            &format!("{label} {name}"),
                            Style::Dashed,
                            r.mean_curve(col),
                        ));
                    }
                    p.theory = Some(r.mean_times("train_acc_mp", "val_acc_mp"));
                }
                points.push(p);
            }
            acc.sort_by_key(|c| c.series.starts_with("identity"));
            acc.extend(theory);
            let what = sample.map_or(String::new(), |c| {
                let (Some(t), Some(g)) = (c.task.get::<TeacherStudent>(), c.optim.values().next())
                else {
                    return String::new();
                };
                format!(
                    "{}-{dh}-{}, lambda={}, eps={}, eta={}",
                    t.d_in,
                    t.d_out,
                    short(t.lambda.unwrap_or(f64::NAN)),
                    sci(t.eps),
                    short(g.lr)
                )
            });
            panels.push(line(
                &format!("dh{dh}"),
                format!("F5 {what} ({} seeds)", self.mode.seeds),
                PlotAxis::log("step"),
                PlotAxis::lin("accuracy"),
                acc,
            ));
        }
        FigureOut {
            figure: Figure {
                name: "fig5".into(),
                panels,
            },
            points,
        }
    }
}
