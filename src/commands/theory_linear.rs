//! `groklab theory linear`: the large-dimension theory of grokking in linear estimators (Levi,
//! Beck, Bar-Sinai 2023) — a summary of one configuration, its loss and accuracy curves
//! (`--curve`), or a phase diagram of the grokking time over two parameters (`--grid`).
//!
//! Everything is validated before any work starts; bad input exits with code 2 and writes
//! nothing. Files are written atomically (a temporary sibling, then a rename).

use super::{CliError, render_atomic, write_atomic};
use groklab_report::{Axis as PlotAxis, Heatmap, Series, heatmap, line_plot};
use groklab_theory::linear::{
    Axis, CurvePoint, GridPoint, LinearTheory, LinearTheoryError, default_curve_steps, log_steps,
};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Largest `count` of a grid SPEC.
const MAX_COUNT: usize = 1000;
/// Largest `--points` of a curve.
const MAX_POINTS: i64 = 100_000;
/// Largest `--dout` (as the theory library accepts).
const MAX_DOUT: i64 = 1_000_000_000;

#[derive(clap::Args)]
pub struct LinearArgs {
    /// lambda = din / N_train (inputs per training sample): a finite number > 0. Required unless
    /// --grid sweeps lambda.
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    lambda: Option<f64>,
    /// Number of outputs of student and teacher: an integer >= 1 (at most 1e9).
    #[arg(
        long,
        value_name = "K",
        default_value_t = 1,
        allow_negative_numbers = true,
        value_parser = integer
    )]
    dout: i64,
    /// Weight decay (the paper's convention, penalty gamma / (2 dout) ||S||^2): a finite number >= 0.
    #[arg(
        long,
        value_name = "G",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    gamma: f64,
    /// Learning rate: a finite number > 0 (for discrete GD also below the stability limit
    /// 2 dout / (2 (1 + sqrt(lambda))^2 + gamma)).
    #[arg(
        long,
        value_name = "E",
        default_value_t = 0.01,
        allow_negative_numbers = true
    )]
    eta: f64,
    /// Per-sample loss below which a sample counts as correct: a finite number > 0.
    #[arg(
        long,
        value_name = "EPS",
        default_value_t = 1e-3,
        allow_negative_numbers = true
    )]
    eps: f64,
    /// Initial student scale (S0 -> alpha S0): a finite number >= 0.
    #[arg(
        long,
        value_name = "A",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    alpha: f64,
    /// Accuracy level that defines t_train and t_gen: a number strictly between 0 and 1.
    #[arg(
        long,
        value_name = "LEVEL",
        default_value_t = 0.95,
        allow_negative_numbers = true
    )]
    level: f64,
    /// Gradient flow instead of discrete gradient descent (time still counted in steps of eta).
    #[arg(long)]
    flow: bool,
    /// Also print a JSON object to stdout (the summary, or the grid with --grid).
    #[arg(long)]
    json: bool,
    /// Write the theory's losses and accuracies at log-spaced steps to this CSV file (header
    /// step,train_loss,gen_loss,train_acc,gen_acc) and plot them next to it as
    /// <stem>-loss.svg (log-log) and <stem>-acc.svg.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "grid")]
    curve: Option<PathBuf>,
    /// Last step of the curve: a number > 1 [default: 3 x max(t_train, t_gen), at least 100;
    /// max(1e5, 3 t_train) when the test accuracy never reaches the level].
    #[arg(
        long,
        value_name = "N",
        requires = "curve",
        allow_negative_numbers = true
    )]
    steps: Option<f64>,
    /// Number of log-spaced curve points from step 1 to --steps: an integer from 2 to 100000.
    #[arg(
        long,
        value_name = "K",
        default_value_t = 200,
        requires = "curve",
        allow_negative_numbers = true,
        value_parser = integer
    )]
    points: i64,
    /// Phase diagram of the grokking time delta_t over two different axes out of lambda, dout,
    /// gamma, eta, eps, alpha (e.g. lambda,dout); the other parameters come from their flags, and
    /// the flags of the swept axes are ignored. Writes DIR/grid.csv and DIR/grid.svg.
    #[arg(long, value_name = "AXIS1,AXIS2", requires = "out")]
    grid: Option<String>,
    /// Values of AXIS1 (the heatmap's x axis): start:stop:count, with :log for log spacing
    /// (count from 1 to 1000; dout values are rounded to unique integers). Defaults: lambda
    /// 0.05:0.95:25, dout 1:1000:25:log, gamma 1e-6:1e-1:25:log, eta 1e-3:1e-1:25:log,
    /// eps 1e-6:1e-2:25:log, alpha 0.1:10:25:log.
    #[arg(
        long = "x",
        value_name = "SPEC",
        requires = "grid",
        allow_negative_numbers = true
    )]
    x: Option<String>,
    /// Values of AXIS2 (the heatmap's y axis), as for --x.
    #[arg(
        long = "y",
        value_name = "SPEC",
        requires = "grid",
        allow_negative_numbers = true
    )]
    y: Option<String>,
    /// Output directory of --grid (created if missing).
    #[arg(long, value_name = "DIR", requires = "grid")]
    out: Option<PathBuf>,
}

pub fn run(a: LinearArgs) -> Result<(), CliError> {
    match a.grid.clone() {
        Some(grid) => run_grid(&a, &grid),
        None => run_summary(&a),
    }
}

// ---------------------------------------------------------------- validation

/// An integer flag; its range is checked later, with the other values.
fn integer(s: &str) -> Result<i64, String> {
    s.trim()
        .parse()
        .map_err(|_| "allowed: an integer (see --help for its range)".into())
}

fn invalid(flag: &str, value: impl std::fmt::Display, allowed: impl std::fmt::Display) -> CliError {
    CliError::Input(format!(
        "invalid value for `{flag}`: {value}; allowed: {allowed}"
    ))
}

fn theory_error(e: &LinearTheoryError) -> CliError {
    invalid(&format!("--{}", e.key), &e.value, &e.allowed)
}

/// The configuration given by the flags at this `lambda`, unchecked but for `--dout` (not
/// checked when `dout_swept`: a grid sets it).
fn theory_from_flags(
    a: &LinearArgs,
    lambda: f64,
    dout_swept: bool,
) -> Result<LinearTheory, CliError> {
    let dout = if dout_swept { 1 } else { a.dout };
    if !(1..=MAX_DOUT).contains(&dout) {
        return Err(invalid(
            "--dout",
            a.dout,
            format!("an integer from 1 to {MAX_DOUT}"),
        ));
    }
    Ok(LinearTheory {
        lambda,
        dout: dout as usize,
        gamma: a.gamma,
        eta: a.eta,
        eps: a.eps,
        alpha: a.alpha,
        level: a.level,
        discrete: !a.flow,
    })
}

fn missing_lambda() -> CliError {
    CliError::Input(
        "missing `--lambda`; allowed: a finite number > 0 (din / N_train), \
         e.g. --lambda 0.9 (not needed when --grid sweeps lambda)"
            .into(),
    )
}

// ---------------------------------------------------------------- summary and curve

fn run_summary(a: &LinearArgs) -> Result<(), CliError> {
    let lambda = a.lambda.ok_or_else(missing_lambda)?;
    let theory = theory_from_flags(a, lambda, false)?;
    theory.validate().map_err(|e| theory_error(&e))?;
    let curve_plan = match &a.curve {
        Some(path) => Some(plan_curve(a, path)?),
        None => None,
    };

    let summary = theory.summary();
    let mut written = Vec::new();
    let mut curve_json = None;
    if let Some(plan) = curve_plan {
        let n = plan
            .steps
            .unwrap_or_else(|| default_curve_steps(summary.t_train, summary.t_gen));
        let steps = log_steps(n, plan.points);
        let curve = theory.curve(&steps);
        write_curve(&plan, &curve, summary.loss_threshold, theory.level)?;
        written.extend([
            plan.csv.clone(),
            plan.loss_svg.clone(),
            plan.acc_svg.clone(),
        ]);
        curve_json = Some(json!({
            "csv": plan.csv.display().to_string(),
            "svg": [plan.loss_svg.display().to_string(), plan.acc_svg.display().to_string()],
            "steps": n,
            "points": plan.points,
        }));
    }

    print_summary(&summary);
    for p in &written {
        eprintln!("wrote {}", p.display());
    }
    if a.json {
        let mut obj = flatten_summary(&summary)?;
        if let Some(c) = curve_json {
            obj.insert("curve".into(), c);
        }
        println!("{}", to_json(&Value::Object(obj))?);
    }
    Ok(())
}

fn to_json(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v).map_err(|e| CliError::Work(e.to_string()))
}

/// The summary as one flat object: the inputs (`lambda`, `dout`, ..., `discrete`, `clock`) and
/// every summary field at top level.
fn flatten_summary(
    s: &groklab_theory::linear::LinearSummary,
) -> Result<Map<String, Value>, CliError> {
    let Value::Object(mut obj) =
        serde_json::to_value(s).map_err(|e| CliError::Work(e.to_string()))?
    else {
        return Err(CliError::Work("summary is not a JSON object".into()));
    };
    let mut out = Map::new();
    if let Some(Value::Object(inputs)) = obj.remove("theory") {
        out.extend(inputs);
    }
    let clock = if s.theory.discrete {
        "discrete"
    } else {
        "flow"
    };
    out.insert("clock".into(), clock.into());
    out.extend(obj);
    Ok(out)
}

struct CurvePlan {
    csv: PathBuf,
    loss_svg: PathBuf,
    acc_svg: PathBuf,
    steps: Option<f64>,
    points: usize,
}

fn plan_curve(a: &LinearArgs, path: &Path) -> Result<CurvePlan, CliError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && path.file_name().is_some())
        .ok_or_else(|| {
            invalid(
                "--curve",
                path.display(),
                "a file path such as curve.csv (with a file name)",
            )
        })?;
    if let Some(n) = a.steps
        && !(n.is_finite() && n > 1.0)
    {
        return Err(invalid("--steps", n, "a finite number of steps > 1"));
    }
    if !(2..=MAX_POINTS).contains(&a.points) {
        return Err(invalid(
            "--points",
            a.points,
            format!("an integer from 2 to {MAX_POINTS}"),
        ));
    }
    let sibling = |suffix: &str| path.with_file_name(format!("{stem}{suffix}"));
    Ok(CurvePlan {
        csv: path.to_path_buf(),
        loss_svg: sibling("-loss.svg"),
        acc_svg: sibling("-acc.svg"),
        steps: a.steps,
        points: a.points as usize,
    })
}

fn write_curve(
    plan: &CurvePlan,
    curve: &[CurvePoint],
    threshold: f64,
    level: f64,
) -> Result<(), CliError> {
    let mut csv = String::from("step,train_loss,gen_loss,train_acc,gen_acc\n");
    for p in curve {
        let _ = writeln!(
            csv,
            "{:?},{:?},{:?},{:?},{:?}",
            p.t, p.train_loss, p.gen_loss, p.train_acc, p.gen_acc
        );
    }
    if let Some(dir) = plan.csv.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(super::io_err("cannot create directory", dir))?;
    }
    write_atomic(&plan.csv, csv.as_bytes())?;

    let series = |f: fn(&CurvePoint) -> f64| -> Vec<(f64, f64)> {
        curve.iter().map(|p| (p.t, f(p))).collect()
    };
    let (first, last) = (curve[0].t, curve[curve.len() - 1].t);
    let losses = [
        Series::line("train loss", series(|p| p.train_loss)),
        Series::line("gen loss", series(|p| p.gen_loss)),
        Series::dashed(
            &format!("loss threshold L* (accuracy {level})"),
            vec![(first, threshold), (last, threshold)],
        ),
    ];
    render_atomic(&plan.loss_svg, |p| {
        line_plot(
            p,
            "linear estimator: losses (theory)",
            &PlotAxis::log("step"),
            &PlotAxis::log("loss"),
            &losses,
        )
    })?;
    let accs = [
        Series::line("train accuracy", series(|p| p.train_acc)),
        Series::line("test accuracy", series(|p| p.gen_acc)),
        Series::dashed(
            &format!("level {level}"),
            vec![(first, level), (last, level)],
        ),
    ];
    render_atomic(&plan.acc_svg, |p| {
        line_plot(
            p,
            "linear estimator: accuracies (theory)",
            &PlotAxis::log("step"),
            &PlotAxis::lin("accuracy"),
            &accs,
        )
    })
}

/// A short number: 4 significant digits, scientific outside [1e-3, 1e6).
fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

fn steps_or(v: Option<f64>, never: &str) -> String {
    v.map_or_else(|| never.to_string(), |t| format!("{} steps", num(t)))
}

fn print_summary(s: &groklab_theory::linear::LinearSummary) {
    let t = &s.theory;
    eprintln!(
        "linear estimator theory: lambda = {}, dout = {}, gamma = {}, eta = {}, eps = {}, alpha = {}, {}",
        num(t.lambda),
        t.dout,
        num(t.gamma),
        num(t.eta),
        num(t.eps),
        num(t.alpha),
        if t.discrete {
            "discrete GD"
        } else {
            "gradient flow"
        }
    );
    eprintln!(
        "  accuracy {} <=> loss below L* = {}",
        num(t.level),
        num(s.loss_threshold)
    );
    eprintln!(
        "  t_train = {}",
        steps_or(s.t_train, "never (training accuracy stays below the level)")
    );
    eprintln!(
        "  t_gen   = {}",
        steps_or(s.t_gen, "never (test accuracy stays below the level)")
    );
    eprintln!(
        "  delta_t = {}",
        steps_or(s.delta_t, "none (no grokking: a level is never reached)")
    );
    match (s.delta_t_limit, s.delta_t_limit_small_gamma) {
        (Some(l), _) => eprintln!("  eps -> 0 limit of delta_t: {}", steps_or(Some(l), "")),
        (None, Some(l)) => eprintln!(
            "  small-gamma limit of delta_t (the paper's, for comparison): {}",
            steps_or(Some(l), "")
        ),
        (None, None) => eprintln!("  eps -> 0 limit of delta_t: not applicable (needs lambda < 1)"),
    }
    if let (Some(a), Some(b)) = (s.t_train_lambert, s.t_gen_lambert) {
        eprintln!(
            "  Lambert-W asymptotics: t_train ~ {}, t_gen ~ {}, delta_t ~ {}",
            num(a),
            num(b),
            num(b - a)
        );
    }
    eprintln!(
        "  losses: train {} -> {}, gen {} -> {}",
        num(s.train_loss_0),
        num(s.train_loss_inf),
        num(s.gen_loss_0),
        num(s.gen_loss_inf)
    );
    eprintln!(
        "  asymptotic accuracies: train {}, test {}",
        num(s.train_acc_inf),
        num(s.gen_acc_inf)
    );
    if s.perfect_generalisation {
        eprintln!("  perfect generalisation: yes (the generalisation loss falls below L*)");
    } else {
        eprintln!(
            "  perfect generalisation: no (the generalisation loss plateaus at {} >= L* = {})",
            num(s.gen_loss_inf),
            num(s.loss_threshold)
        );
    }
}

// ---------------------------------------------------------------- grid

/// `start:stop:count[:log]`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Spec {
    start: f64,
    stop: f64,
    count: usize,
    log: bool,
}

const SPEC_FORM: &str = "start:stop:count or start:stop:count:log (e.g. 0.1:0.9:25, 1:1000:25:log)";

fn parse_spec(flag: &str, s: &str) -> Result<Spec, CliError> {
    let bad = |why: &str| invalid(flag, format!("`{s}`"), format!("{SPEC_FORM}; {why}"));
    let parts: Vec<&str> = s.split(':').map(str::trim).collect();
    let log = match parts.as_slice() {
        [_, _, _] => false,
        [_, _, _, "log"] => true,
        [_, _, _, other] => return Err(bad(&format!("the suffix must be `log`, not `{other}`"))),
        _ => return Err(bad("expected three or four `:`-separated fields")),
    };
    let number = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
    let (Some(start), Some(stop)) = (number(parts[0]), number(parts[1])) else {
        return Err(bad("start and stop must be finite numbers"));
    };
    let count = parts[2]
        .parse::<usize>()
        .ok()
        .filter(|c| (1..=MAX_COUNT).contains(c))
        .ok_or_else(|| bad(&format!("count must be an integer from 1 to {MAX_COUNT}")))?;
    if count > 1 && stop <= start {
        return Err(bad("stop must be greater than start when count > 1"));
    }
    if log && start <= 0.0 {
        return Err(bad("log spacing needs start > 0"));
    }
    Ok(Spec {
        start,
        stop,
        count,
        log,
    })
}

/// The SPEC of an axis when `--x`/`--y` is not given.
fn default_spec(axis: Axis) -> &'static str {
    match axis {
        Axis::Lambda => "0.05:0.95:25",
        Axis::Dout => "1:1000:25:log",
        Axis::Gamma => "1e-6:1e-1:25:log",
        Axis::Eta => "1e-3:1e-1:25:log",
        Axis::Eps => "1e-6:1e-2:25:log",
        Axis::Alpha => "0.1:10:25:log",
    }
}

/// Rounds away float noise from the spacing arithmetic (12 significant digits).
fn tidy(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// The values of a spec on an axis; dout values are rounded to unique integers >= 1.
fn spec_values(flag: &str, raw: &str, axis: Axis, spec: &Spec) -> Result<Vec<f64>, CliError> {
    let n = spec.count;
    let mut values: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                return spec.start;
            }
            if i == n - 1 {
                return spec.stop;
            }
            let f = i as f64 / (n - 1) as f64;
            tidy(if spec.log {
                (spec.start.ln() + f * (spec.stop.ln() - spec.start.ln())).exp()
            } else {
                spec.start + f * (spec.stop - spec.start)
            })
        })
        .collect();
    if axis == Axis::Dout {
        for v in &mut values {
            *v = v.round();
        }
        values.dedup();
        if values[0] < 1.0 || values[values.len() - 1] > MAX_DOUT as f64 {
            return Err(invalid(
                flag,
                format!("`{raw}`"),
                format!("dout values that round to integers from 1 to {MAX_DOUT}"),
            ));
        }
    }
    Ok(values)
}

fn parse_axes(s: &str) -> Result<(Axis, Axis), CliError> {
    let names = "two different axes out of lambda, dout, gamma, eta, eps, alpha, e.g. lambda,dout";
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        return Err(invalid("--grid", format!("`{s}`"), names));
    };
    let axis = |n: &str| {
        n.parse::<Axis>()
            .map_err(|_| invalid("--grid", format!("`{s}` (unknown axis `{n}`)"), names))
    };
    let (a, b) = (axis(a)?, axis(b)?);
    if a == b {
        return Err(invalid(
            "--grid",
            format!("`{s}` (the same axis twice)"),
            names,
        ));
    }
    Ok((a, b))
}

/// Sets one parameter without validating (dout values are already whole numbers >= 1).
fn set(mut t: LinearTheory, axis: Axis, v: f64) -> LinearTheory {
    match axis {
        Axis::Lambda => t.lambda = v,
        Axis::Dout => t.dout = v as usize,
        Axis::Gamma => t.gamma = v,
        Axis::Eta => t.eta = v,
        Axis::Eps => t.eps = v,
        Axis::Alpha => t.alpha = v,
    }
    t
}

/// A value in CSV/JSON: whole numbers for dout, round-trip floats otherwise.
fn csv_value(axis: Axis, v: f64) -> String {
    if axis == Axis::Dout {
        format!("{}", v as u64)
    } else {
        format!("{v:?}")
    }
}

/// A value in a message: whole numbers without a fractional part.
fn short_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

fn axis_json(axis: Axis, v: f64) -> Value {
    if axis == Axis::Dout {
        json!(v as u64)
    } else {
        json!(v)
    }
}

/// One axis of a grid: its name, SPEC (as given, or the default) and values.
struct GridAxis {
    axis: Axis,
    raw: String,
    spec: Spec,
    values: Vec<f64>,
}

impl GridAxis {
    fn new(flag: &str, given: Option<&str>, axis: Axis) -> Result<Self, CliError> {
        let raw = given.unwrap_or(default_spec(axis)).to_string();
        let spec = parse_spec(flag, &raw)?;
        let values = spec_values(flag, &raw, axis, &spec)?;
        Ok(Self {
            axis,
            raw,
            spec,
            values,
        })
    }

    fn plot_axis(&self) -> PlotAxis {
        if self.spec.log {
            PlotAxis::log(self.axis.name())
        } else {
            PlotAxis::lin(self.axis.name())
        }
    }
}

/// A validated grid: the two axes and the other parameters (`base`, whose swept fields hold the
/// first values).
struct GridPlan {
    x: GridAxis,
    y: GridAxis,
    base: LinearTheory,
    dir: PathBuf,
}

impl GridPlan {
    fn swept(&self, axis: Axis) -> bool {
        axis == self.x.axis || axis == self.y.axis
    }

    /// `name=value` of every parameter that is not swept.
    fn fixed(&self) -> Vec<String> {
        let b = &self.base;
        Axis::ALL
            .into_iter()
            .filter(|&axis| !self.swept(axis))
            .map(|axis| {
                let v = match axis {
                    Axis::Lambda => b.lambda,
                    Axis::Dout => b.dout as f64,
                    Axis::Gamma => b.gamma,
                    Axis::Eta => b.eta,
                    Axis::Eps => b.eps,
                    Axis::Alpha => b.alpha,
                };
                format!("{axis}={}", num(v))
            })
            .collect()
    }
}

/// Parses and validates everything a grid needs, naming the flag of any bad value.
fn plan_grid(a: &LinearArgs, grid: &str) -> Result<GridPlan, CliError> {
    let (ax1, ax2) = parse_axes(grid)?;
    let dir = a
        .out
        .clone()
        .ok_or_else(|| CliError::Input("`--grid` needs `--out DIR`".into()))?;
    let x = GridAxis::new("--x", a.x.as_deref(), ax1)?;
    let y = GridAxis::new("--y", a.y.as_deref(), ax2)?;
    let swept = |axis: Axis| axis == ax1 || axis == ax2;
    let lambda = match a.lambda {
        _ if swept(Axis::Lambda) => f64::NAN, // set per point below
        Some(l) => l,
        None => return Err(missing_lambda()),
    };
    let base = theory_from_flags(a, lambda, swept(Axis::Dout))?;
    let base = set(set(base, ax1, x.values[0]), ax2, y.values[0]);

    let flag_of = |key: &str| -> (String, String) {
        if key == ax1.name() {
            ("--x".into(), format!("`{}`: {key} = ", x.raw))
        } else if key == ax2.name() {
            ("--y".into(), format!("`{}`: {key} = ", y.raw))
        } else {
            (format!("--{key}"), String::new())
        }
    };
    // First the flags alone (under flow: the discrete-GD step-size limit depends on the point),
    // then every point.
    LinearTheory {
        discrete: false,
        ..base
    }
    .validate()
    .map_err(|e| {
        let (flag, prefix) = flag_of(e.key);
        invalid(&flag, format!("{prefix}{}", e.value), &e.allowed)
    })?;
    for &v1 in &x.values {
        for &v2 in &y.values {
            set(set(base, ax1, v1), ax2, v2).validate().map_err(|e| {
                let (flag, prefix) = flag_of(e.key);
                CliError::Input(format!(
                    "invalid value for `{flag}`: {prefix}{}; allowed: {} \
                     (at grid point {ax1} = {}, {ax2} = {})",
                    e.value,
                    e.allowed,
                    short_value(v1),
                    short_value(v2)
                ))
            })?;
        }
    }
    Ok(GridPlan { x, y, base, dir })
}

fn run_grid(a: &LinearArgs, grid: &str) -> Result<(), CliError> {
    let plan = plan_grid(a, grid)?;
    let (x, y) = (&plan.x, &plan.y);
    let points = plan
        .base
        .grid(x.axis, &x.values, y.axis, &y.values)
        .map_err(|e| theory_error(&e))?;

    let csv_path = plan.dir.join("grid.csv");
    let svg_path = plan.dir.join("grid.svg");
    std::fs::create_dir_all(&plan.dir)
        .map_err(super::io_err("cannot create directory", &plan.dir))?;
    write_atomic(&csv_path, grid_csv(x.axis, y.axis, &points).as_bytes())?;
    // z[j][i] is the cell at (x.values[i], y.values[j]); points come with y fastest. Cells
    // without grokking (never, or no delay) are grey.
    let ny = y.values.len();
    let z: Vec<Vec<Option<f64>>> = (0..ny)
        .map(|j| {
            (0..x.values.len())
                .map(|i| points[i * ny + j].delta_t.filter(|d| *d > 0.0))
                .collect()
        })
        .collect();
    let title = format!("delta_t (grey: never): {}", plan.fixed().join(" "));
    let h = Heatmap {
        title: &title,
        x: x.plot_axis(),
        xs: &x.values,
        y: y.plot_axis(),
        ys: &y.values,
        z: &z,
        z_label: "delta_t (steps)",
        log_z: true,
        z_range: None,
    };
    render_atomic(&svg_path, |p| heatmap(p, &h))?;

    print_grid(&plan, &points);
    eprintln!("wrote {}", csv_path.display());
    eprintln!("wrote {}", svg_path.display());
    if a.json {
        let mut out = grid_json(&plan, &points);
        out.insert("csv".into(), csv_path.display().to_string().into());
        out.insert("svg".into(), svg_path.display().to_string().into());
        println!("{}", to_json(&Value::Object(out))?);
    }
    Ok(())
}

fn print_grid(plan: &GridPlan, points: &[GridPoint]) {
    let (x, y) = (&plan.x, &plan.y);
    eprintln!(
        "linear estimator theory: delta_t over a {} x {} grid ({} {}, {} {}); {}, {}",
        x.values.len(),
        y.values.len(),
        x.axis,
        x.raw,
        y.axis,
        y.raw,
        plan.fixed().join(", "),
        if plan.base.discrete {
            "discrete GD"
        } else {
            "gradient flow"
        }
    );
    let grokking: Vec<f64> = points.iter().filter_map(|p| p.delta_t).collect();
    if grokking.is_empty() {
        eprintln!("  no point reaches the accuracy level on both train and test");
        return;
    }
    let (lo, hi) = grokking
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &d| {
            (l.min(d), h.max(d))
        });
    eprintln!(
        "  delta_t from {} to {} steps; {} of {} points never reach the level (no grokking)",
        num(lo),
        num(hi),
        points.len() - grokking.len(),
        points.len()
    );
}

/// The grid as JSON: axes, values, the fixed inputs and one object per point.
fn grid_json(plan: &GridPlan, points: &[GridPoint]) -> Map<String, Value> {
    let (x, y) = (&plan.x, &plan.y);
    let mut fixed = theory_inputs(&plan.base);
    fixed.retain(|k, _| !(k == x.axis.name() || k == y.axis.name()));
    let rows: Vec<Value> = points
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert(x.axis.name().into(), axis_json(x.axis, p.v1));
            m.insert(y.axis.name().into(), axis_json(y.axis, p.v2));
            m.insert("t_train".into(), json!(p.t_train));
            m.insert("t_gen".into(), json!(p.t_gen));
            m.insert("delta_t".into(), json!(p.delta_t));
            Value::Object(m)
        })
        .collect();
    let values =
        |g: &GridAxis| -> Vec<Value> { g.values.iter().map(|&v| axis_json(g.axis, v)).collect() };
    let mut out = Map::new();
    out.insert("axis1".into(), x.axis.name().into());
    out.insert("axis2".into(), y.axis.name().into());
    out.insert("values1".into(), values(x).into());
    out.insert("values2".into(), values(y).into());
    out.insert("fixed".into(), Value::Object(fixed));
    out.insert("points".into(), rows.into());
    out
}

/// The inputs of a configuration as a JSON object (plus `clock`).
fn theory_inputs(t: &LinearTheory) -> Map<String, Value> {
    let mut m = match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let clock = if t.discrete { "discrete" } else { "flow" };
    m.insert("clock".into(), clock.into());
    m
}

fn grid_csv(ax1: Axis, ax2: Axis, points: &[GridPoint]) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:?}"));
    let mut csv = format!("{ax1},{ax2},t_train,t_gen,delta_t\n");
    for p in points {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            csv_value(ax1, p.v1),
            csv_value(ax2, p.v2),
            opt(p.t_train),
            opt(p.t_gen),
            opt(p.delta_t)
        );
    }
    csv
}
