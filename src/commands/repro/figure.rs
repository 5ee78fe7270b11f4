//! A figure as data: panels of curves (line plots) or heatmaps. One figure is written as one
//! long-format CSV (`panel,series,source,x,y` then the spread over seeds and the simulated d_in) and
//! one SVG per panel, every file atomically.

use crate::commands::CliError;
use crate::commands::{render_atomic, write_atomic};
use groklab_report::{Axis as PlotAxis, Heatmap, Series, heatmap, line_plot};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The CSV header of every figure.
pub const HEADER: &str = "panel,series,source,x,y,y_std,y_min,y_max,n,d_in";

/// Where a curve comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Sim,
    Theory,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sim => "sim",
            Source::Theory => "theory",
        }
    }
}

/// Mean, sample standard deviation, extremes and count of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    /// None for no values; the standard deviation of one value is 0.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Stats {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "mean": self.mean, "std": self.std, "min": self.min, "max": self.max, "n": self.n
        })
    }
}

/// One point of a curve: `y` missing (never reached, no value) is kept in the CSV, empty.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub x: f64,
    pub y: Option<f64>,
    /// Spread over seeds (simulations).
    pub stats: Option<Stats>,
}

impl Point {
    pub fn new(x: f64, y: Option<f64>) -> Point {
        Point { x, y, stats: None }
    }
    pub fn of(x: f64, stats: Option<Stats>) -> Point {
        Point {
            x,
            y: stats.map(|s| s.mean),
            stats,
        }
    }
}

/// How a curve is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Line,
    Dashed,
    Points,
    /// A line with a dot at every point (to tell apart curves that lie on top of each other).
    LinePoints,
}

/// A named series. In the plot, theory series get the suffix " (theory)" so they share the colour
/// of the simulated series of the same name.
#[derive(Clone, Debug)]
pub struct Curve {
    pub series: String,
    pub source: Source,
    pub style: Style,
    pub points: Vec<Point>,
    /// The input dimension of the simulations (None for theory, the large-dimension limit).
    pub d_in: Option<usize>,
}

impl Curve {
    pub fn theory(series: &str, style: Style, points: Vec<Point>) -> Curve {
        Curve {
            series: series.into(),
            source: Source::Theory,
            style,
            points,
            d_in: None,
        }
    }
    pub fn sim(series: &str, style: Style, d_in: Option<usize>, points: Vec<Point>) -> Curve {
        Curve {
            series: series.into(),
            source: Source::Sim,
            style,
            points,
            d_in,
        }
    }
    fn plot_series(&self) -> Series {
        let name = match self.source {
            Source::Sim => self.series.clone(),
            Source::Theory => format!("{} (theory)", self.series),
        };
        let pts = self
            .points
            .iter()
            .filter_map(|p| Some((p.x, p.y?)))
            .collect();
        match self.style {
            Style::Line => Series::line(&name, pts),
            Style::Dashed => Series::dashed(&name, pts),
            Style::Points => Series::points(&name, pts),
            Style::LinePoints => Series::line_points(&name, pts),
        }
    }
}

/// A line plot.
pub struct LinePanel {
    pub name: String,
    pub title: String,
    pub x: PlotAxis,
    pub y: PlotAxis,
    pub curves: Vec<Curve>,
}

/// A theory heatmap of delta_t: `z[j][i]` is the value at `(xs[i], ys[j])`.
pub struct HeatPanel {
    pub name: String,
    pub title: String,
    pub x: PlotAxis,
    pub xs: Vec<f64>,
    pub y: PlotAxis,
    pub ys: Vec<f64>,
    pub z: Vec<Vec<Option<f64>>>,
}

pub enum Panel {
    Line(LinePanel),
    Heat(HeatPanel),
}

impl Panel {
    fn name(&self) -> &str {
        match self {
            Panel::Line(p) => &p.name,
            Panel::Heat(p) => &p.name,
        }
    }
}

/// A figure: `figN.csv` and `figN-<panel>.svg`.
pub struct Figure {
    pub name: String,
    pub panels: Vec<Panel>,
}

/// A CSV field: round-trip floats, empty for missing; text quoted when it needs to be.
fn field(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or(String::new(), |v| format!("{v:?}"))
}

fn text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Figure {
    pub fn csv(&self) -> String {
        let mut out = format!("{HEADER}\n");
        for panel in &self.panels {
            match panel {
                Panel::Line(p) => {
                    for c in &p.curves {
                        for pt in &c.points {
                            let s = pt.stats;
                            let _ = writeln!(
                                out,
                                "{},{},{},{},{},{},{},{},{},{}",
                                text(&p.name),
                                text(&c.series),
                                c.source.as_str(),
                                field(Some(pt.x)),
                                field(pt.y),
                                field(s.map(|s| s.std)),
                                field(s.map(|s| s.min)),
                                field(s.map(|s| s.max)),
                                s.map_or(String::new(), |s| s.n.to_string()),
                                c.d_in.map_or(String::new(), |d| d.to_string()),
                            );
                        }
                    }
                }
                Panel::Heat(h) => {
                    for (j, &yv) in h.ys.iter().enumerate() {
                        let series = format!("{}={}", h.y.label, short(yv));
                        for (i, &xv) in h.xs.iter().enumerate() {
                            let _ = writeln!(
                                out,
                                "{},{},theory,{},{},,,,,",
                                text(&h.name),
                                text(&series),
                                field(Some(xv)),
                                field(h.z[j][i]),
                            );
                        }
                    }
                }
            }
        }
        out
    }

    /// The files this figure writes under `dir`: the CSV first, then one SVG per panel.
    pub fn paths(&self, dir: &Path) -> Vec<PathBuf> {
        std::iter::once(dir.join(format!("{}.csv", self.name)))
            .chain(
                self.panels
                    .iter()
                    .map(|p| dir.join(format!("{}-{}.svg", self.name, p.name()))),
            )
            .collect()
    }

    /// Writes the CSV and the SVGs; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, CliError> {
        let paths = self.paths(dir);
        write_atomic(&paths[0], self.csv().as_bytes())?;
        for (panel, path) in self.panels.iter().zip(&paths[1..]) {
            match panel {
                Panel::Line(p) => {
                    let series: Vec<Series> = p.curves.iter().map(Curve::plot_series).collect();
                    render_atomic(path, |tmp| line_plot(tmp, &p.title, &p.x, &p.y, &series))?;
                }
                Panel::Heat(h) => {
                    let hm = Heatmap {
                        title: &h.title,
                        x: h.x.clone(),
                        xs: &h.xs,
                        y: h.y.clone(),
                        ys: &h.ys,
                        z: &h.z,
                        z_label: "delta_t (steps)",
                        log_z: true,
                        z_range: None,
                    };
                    render_atomic(path, |tmp| heatmap(tmp, &hm))?;
                }
            }
        }
        Ok(paths)
    }
}

/// A short label for a parameter value: `1e-3` for small or large powers of ten, `0.9`, `50`.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-2..1e4).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return s.to_string();
    }
    format!("{v:e}")
}

/// A parameter such as eps or gamma in scientific notation: `1e-3`, `5e-4`.
pub fn sci(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    format!("{v:e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_labels() {
        let s = Stats::of(&[1.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.min, s.max, s.n), (2.0, 1.0, 3.0, 2));
        assert!((s.std - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(short(1e-3), "1e-3");
        assert_eq!(short(0.9), "0.9");
        assert_eq!(short(50.0), "50");
        assert_eq!(short(5e-4), "5e-4");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(
            (sci(1e-2), sci(5e-4), sci(0.0)),
            ("1e-2".into(), "5e-4".into(), "0".into())
        );
    }
}
