//! Line plots, labelled scatter plots and heatmaps written as SVG.
//!
//! Log axes are drawn by plotting log10 of the values on a linear axis and labelling ticks with the
//! original values: one code path serves all four lin/log combinations. Non-positive values are
//! dropped on a log axis.

use plotters::prelude::*;
use std::path::Path;

/// A drawing failure (an unwritable path, or a plotting error).
pub type PlotResult = Result<(), String>;

/// One axis: its label and whether it is logarithmic.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub log: bool,
}

impl Axis {
    pub fn lin(label: &str) -> Axis {
        Axis {
            label: label.into(),
            log: false,
        }
    }
    pub fn log(label: &str) -> Axis {
        Axis {
            label: label.into(),
            log: true,
        }
    }
    fn map(&self, v: f64) -> Option<f64> {
        if self.log {
            (v > 0.0 && v.is_finite()).then(|| v.log10())
        } else {
            v.is_finite().then_some(v)
        }
    }
    fn tick(&self, v: f64) -> String {
        if !self.log {
            return short(v);
        }
        if (v - v.round()).abs() < 1e-9 {
            let e = v.round() as i32;
            return match e {
                0 => "1".into(),
                1 => "10".into(),
                _ => format!("1e{e}"),
            };
        }
        // Between decades a log axis shows grid lines only: labels such as 316.2278 read badly.
        String::new()
    }
}

fn short(v: f64) -> String {
    // a tick at zero comes out of the axis arithmetic as -9e-19 and the like
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Line,
    Dashed,
    Points,
    LinePoints,
    /// A horizontal reference line at the first point's y across the plot (a threshold), thin,
    /// dashed and grey.
    Reference,
}

/// A named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

impl Series {
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            style: Style::Line,
        }
    }
    pub fn dashed(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            style: Style::Dashed,
        }
    }
    pub fn points(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            style: Style::Points,
        }
    }
    pub fn line_points(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            style: Style::LinePoints,
        }
    }
    /// A threshold line at `y`.
    pub fn reference(name: &str, y: f64) -> Series {
        Series {
            name: name.into(),
            points: vec![(f64::NAN, y)],
            style: Style::Reference,
        }
    }
}

/// A caption's font size that keeps `title` within a plot `width` pixels wide (sans-serif glyphs
/// average about 0.55 em): 20 px, smaller for long titles, never clipped.
pub fn title_size(title: &str, width: u32) -> f64 {
    let fit = 0.92 * width as f64 / (0.55 * title.chars().count().max(1) as f64);
    fit.clamp(9.0, 20.0)
}

/// The corner of the plot (in its own coordinates `(x0, x1) x (y0, y1)`) whose legend box of
/// `entries` lines covers the fewest points: legends go where the data is not.
fn emptiest_corner(
    points: &[(f64, f64)],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    entries: usize,
) -> SeriesLabelPosition {
    // the legend's size as fractions of the plot: ~200 px of ~640 wide, 16 px a line of ~360 high
    let (w, h) = (0.32, (0.05 + 0.045 * entries as f64).min(0.9));
    let corners = [
        (SeriesLabelPosition::UpperLeft, (0.0, 1.0 - h)),
        (SeriesLabelPosition::UpperRight, (1.0 - w, 1.0 - h)),
        (SeriesLabelPosition::LowerLeft, (0.0, 0.0)),
        (SeriesLabelPosition::LowerRight, (1.0 - w, 0.0)),
    ];
    let covered = |(fx, fy): (f64, f64)| {
        points
            .iter()
            .filter(|&&(x, y)| {
                let (u, v) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
                u >= fx && u <= fx + w && v >= fy && v <= fy + h
            })
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, at)| covered(at))
        .map_or(SeriesLabelPosition::UpperLeft, |(p, _)| p)
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn bounds(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.04 * (hi - lo);
    (lo - pad, hi + pad)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws series on shared axes; series whose colour should match (simulation and its theory) can share
/// a name prefix before " (": they get the same colour.
pub fn line_plot(path: &Path, title: &str, x: &Axis, y: &Axis, series: &[Series]) -> PlotResult {
    line_plot_over(path, title, x, y, &[], series)
}

/// [`line_plot`] over `background` curves drawn thin and grey without legend entries (every
/// neuron's norm behind the highlighted ones, say).
pub fn line_plot_over(
    path: &Path,
    title: &str,
    x: &Axis,
    y: &Axis,
    background: &[Vec<(f64, f64)>],
    series: &[Series],
) -> PlotResult {
    let map = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        pts.iter()
            .filter_map(|&(a, b)| Some((x.map(a)?, y.map(b)?)))
            .collect()
    };
    // a reference line has no x of its own: it spans the others
    let mapped: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| match s.style {
            Style::Reference => s
                .points
                .iter()
                .filter_map(|&(_, b)| Some((f64::NAN, y.map(b)?)))
                .collect(),
            _ => map(&s.points),
        })
        .collect();
    let behind: Vec<Vec<(f64, f64)>> = background.iter().map(|b| map(b)).collect();
    let all = || mapped.iter().chain(&behind).flatten();
    let (x0, x1) = bounds(all().map(|p| p.0).filter(|v| v.is_finite()));
    let (y0, y1) = bounds(all().map(|p| p.1));
    let root = SVGBackend::new(path, (720, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", title_size(title, 720)))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x.label.as_str())
        .y_desc(y.label.as_str())
        .x_label_formatter(&|v| x.tick(*v))
        .y_label_formatter(&|v| y.tick(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for b in &behind {
        chart
            .draw_series(LineSeries::new(
                b.iter().copied(),
                RGBColor(190, 190, 190).stroke_width(1),
            ))
            .map_err(err)?;
    }
    let mut colour_of: Vec<String> = Vec::new();
    for (s, pts) in series.iter().zip(&mapped) {
        let key = s.name.split(" (").next().unwrap_or(&s.name).to_string();
        let idx = colour_of.iter().position(|k| *k == key).unwrap_or_else(|| {
            colour_of.push(key);
            colour_of.len() - 1
        });
        let c = PALETTE[idx % PALETTE.len()];
        draw_series(&mut chart, s, pts, c, (x0, x1))?;
    }
    if series.len() > 1 {
        let data: Vec<(f64, f64)> = mapped
            .iter()
            .chain(&behind)
            .flatten()
            .copied()
            .filter(|p| p.0.is_finite())
            .collect();
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(emptiest_corner(&data, (x0, x1), (y0, y1), series.len()))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One series of [`line_plot_over`] in colour `c`, with its legend entry (a reference line spans
/// the plot's x range `(x0, x1)`).
fn draw_series(
    chart: &mut Chart<'_, '_>,
    s: &Series,
    pts: &[(f64, f64)],
    c: RGBColor,
    (x0, x1): (f64, f64),
) -> PlotResult {
    let label = s.name.clone();
    match s.style {
        Style::Line | Style::LinePoints => {
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(a, b)| {
                    PathElement::new(vec![(a, b), (a + 18, b)], c.stroke_width(2))
                });
            if s.style == Style::LinePoints {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(err)?;
            }
        }
        Style::Dashed => {
            chart
                .draw_series(DashedLineSeries::new(
                    pts.iter().copied(),
                    6,
                    4,
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(label)
                .legend(move |(a, b)| {
                    PathElement::new(vec![(a, b), (a + 6, b)], c.stroke_width(2))
                });
        }
        Style::Points => {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(err)?
                .label(label)
                .legend(move |(a, b)| Circle::new((a + 9, b), 3, c.filled()));
        }
        Style::Reference => {
            let grey = RGBColor(110, 110, 110);
            let line: Vec<(f64, f64)> = pts
                .first()
                .map_or(Vec::new(), |&(_, v)| vec![(x0, v), (x1, v)]);
            chart
                .draw_series(DashedLineSeries::new(line, 4, 4, grey.stroke_width(1)))
                .map_err(err)?
                .label(label)
                .legend(move |(a, b)| {
                    PathElement::new(vec![(a, b), (a + 18, b)], grey.stroke_width(1))
                });
        }
    }
    Ok(())
}

/// Points with a text label each (2-D embeddings, for instance).
pub fn scatter_labelled(
    path: &Path,
    title: &str,
    x: &Axis,
    y: &Axis,
    points: &[(f64, f64, String)],
) -> PlotResult {
    let (x0, x1) = bounds(points.iter().map(|p| p.0));
    let (y0, y1) = bounds(points.iter().map(|p| p.1));
    let root = SVGBackend::new(path, (560, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", title_size(title, 640)))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x.label.as_str())
        .y_desc(y.label.as_str())
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(points.iter().map(|(a, b, t)| {
            EmptyElement::at((*a, *b))
                + Circle::new((0, 0), 4, PALETTE[0].filled())
                + Text::new(t.clone(), (6, -6), ("sans-serif", 14))
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// The edges of the cells around grid values on an axis (midpoints between neighbours, in the
/// axis's own scale).
fn cell_edges(vals: &[f64], axis: &Axis) -> Vec<(f64, f64)> {
    let m: Vec<f64> = vals
        .iter()
        .map(|&v| axis.map(v).unwrap_or(f64::NAN))
        .collect();
    (0..m.len())
        .map(|i| {
            let left = if i > 0 {
                (m[i] + m[i - 1]) / 2.0
            } else if m.len() > 1 {
                m[0] - (m[1] - m[0]) / 2.0
            } else {
                m[0] - 0.5
            };
            let right = if i + 1 < m.len() {
                (m[i] + m[i + 1]) / 2.0
            } else if m.len() > 1 {
                m[i] + (m[i] - m[i - 1]) / 2.0
            } else {
                m[i] + 0.5
            };
            (left, right)
        })
        .collect()
}

/// Tick labels at the centres of a grid's cells, with the axis values themselves (every k-th, so
/// that at most 10 show on an axis), drawn on `root` under the x axis and left of the y axis;
/// `px` maps plot coordinates to pixels.
fn centre_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    px: impl Fn((f64, f64)) -> (i32, i32),
    (cx, xs): (&[(f64, f64)], &[f64]),
    (cy, ys): (&[(f64, f64)], &[f64]),
) -> PlotResult {
    let every = |n: usize| n.div_ceil(10).max(1);
    let (y_bottom, x_left) = (
        cy.iter()
            .map(|c| c.0.min(c.1))
            .fold(f64::INFINITY, f64::min),
        cx.iter()
            .map(|c| c.0.min(c.1))
            .fold(f64::INFINITY, f64::min),
    );
    let style = ("sans-serif", 12).into_font().color(&BLACK);
    for (c, v) in cx.iter().zip(xs).step_by(every(xs.len())) {
        let (x, y) = px(((c.0 + c.1) / 2.0, y_bottom));
        root.draw(&PathElement::new(vec![(x, y), (x, y + 5)], BLACK))
            .map_err(err)?;
        root.draw(&Text::new(
            short(*v),
            (x, y + 8),
            style.clone().pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            )),
        ))
        .map_err(err)?;
    }
    for (c, v) in cy.iter().zip(ys).step_by(every(ys.len())) {
        let (x, y) = px((x_left, (c.0 + c.1) / 2.0));
        root.draw(&PathElement::new(vec![(x - 5, y), (x, y)], BLACK))
            .map_err(err)?;
        root.draw(&Text::new(
            short(*v),
            (x - 8, y),
            style.clone().pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A map of categories over a grid (a phase diagram): `cells[j][i]` is the category index at
/// (xs[i], ys[j]), `None` cells are white; the legend names each category in its colour.
#[derive(Debug, Clone)]
pub struct CategoryMap<'a> {
    pub title: &'a str,
    pub x: Axis,
    pub xs: &'a [f64],
    pub y: Axis,
    pub ys: &'a [f64],
    pub cells: &'a [Vec<Option<usize>>],
    pub categories: &'a [(&'a str, (u8, u8, u8))],
}

/// Draws a [`CategoryMap`] as SVG.
pub fn category_map(path: &Path, m: &CategoryMap<'_>) -> PlotResult {
    let cx = cell_edges(m.xs, &m.x);
    let cy = cell_edges(m.ys, &m.y);
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (main, legend) = root.split_horizontally(640);
    let range = |c: &[(f64, f64)]| {
        let a = c.first().map_or(0.0, |c| c.0);
        let b = c.last().map_or(1.0, |c| c.1);
        a.min(b)..a.max(b)
    };
    let mut chart = ChartBuilder::on(&main)
        .caption(m.title, ("sans-serif", title_size(m.title, 640)))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(range(&cx), range(&cy))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(m.x.label.as_str())
        .y_desc(m.y.label.as_str())
        // the cells' own values label them, at their centres (below)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .x_labels(0)
        .y_labels(0)
        .draw()
        .map_err(err)?;
    let colour = |k: usize| {
        let (r, g, b) = m.categories.get(k).map_or((255, 255, 255), |c| c.1);
        RGBColor(r, g, b)
    };
    let mut rects = Vec::new();
    for (j, row) in m.cells.iter().enumerate() {
        for (i, c) in row.iter().enumerate() {
            let (Some(&(xa, xb)), Some(&(ya, yb)), Some(k)) = (cx.get(i), cy.get(j), c) else {
                continue;
            };
            rects.push(Rectangle::new([(xa, ya), (xb, yb)], colour(*k).filled()));
        }
    }
    chart.draw_series(rects).map_err(err)?;
    centre_labels(&root, |p| chart.backend_coord(&p), (&cx, m.xs), (&cy, m.ys))?;
    for (k, (name, _)) in m.categories.iter().enumerate() {
        let y = 60 + 30 * k as i32;
        legend
            .draw(&Rectangle::new([(10, y), (30, y + 20)], colour(k).filled()))
            .map_err(err)?;
        legend
            .draw(&Text::new(
                name.to_string(),
                (38, y + 3),
                ("sans-serif", 15),
            ))
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// A heatmap of z over a grid: `z[j][i]` is the value at (xs[i], ys[j]); `None` cells are grey.
/// Values are coloured on a linear or log scale between their min and max.
#[derive(Debug, Clone)]
pub struct Heatmap<'a> {
    pub title: &'a str,
    pub x: Axis,
    pub xs: &'a [f64],
    pub y: Axis,
    pub ys: &'a [f64],
    pub z: &'a [Vec<Option<f64>>],
    pub z_label: &'a str,
    pub log_z: bool,
    /// The colour scale's range (in z's units); None: the data's own min and max.
    pub z_range: Option<(f64, f64)>,
}

/// Draws a [`Heatmap`] as SVG.
pub fn heatmap(path: &Path, h: &Heatmap<'_>) -> PlotResult {
    let Heatmap {
        title,
        x,
        xs,
        y,
        ys,
        z,
        z_label,
        log_z,
        z_range,
    } = h.clone();
    let (x, y) = (&x, &y);
    let cx = cell_edges(xs, x);
    let cy = cell_edges(ys, y);
    let zmap = |v: f64| {
        if log_z {
            (v > 0.0).then(|| v.log10())
        } else {
            v.is_finite().then_some(v)
        }
    };
    let zs: Vec<f64> = z
        .iter()
        .flatten()
        .filter_map(|v| v.and_then(zmap))
        .collect();
    let (z0, z1) = match z_range.and_then(|(a, b)| Some((zmap(a)?, zmap(b)?))) {
        Some((a, b)) if b > a => (a, b),
        _ if zs.is_empty() => (0.0, 1.0),
        _ => bounds(zs.iter().copied()),
    };
    let root = SVGBackend::new(path, (760, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (main, bar) = root.split_horizontally(640);
    let xr = (
        cx.first().map_or(0.0, |c| c.0),
        cx.last().map_or(1.0, |c| c.1),
    );
    let yr = (
        cy.first().map_or(0.0, |c| c.0),
        cy.last().map_or(1.0, |c| c.1),
    );
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", title_size(title, 640)))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            xr.0.min(xr.1)..xr.0.max(xr.1),
            yr.0.min(yr.1)..yr.0.max(yr.1),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x.label.as_str())
        .y_desc(y.label.as_str())
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .x_labels(0)
        .y_labels(0)
        .draw()
        .map_err(err)?;
    let cmap = ViridisRGB;
    let mut rects = Vec::new();
    for (j, row) in z.iter().enumerate() {
        for (i, v) in row.iter().enumerate() {
            let (Some(&(xa, xb)), Some(&(ya, yb))) = (cx.get(i), cy.get(j)) else {
                continue;
            };
            let style = match v.and_then(zmap) {
                Some(t) => cmap.get_color_normalized(t, z0, z1).filled(),
                None => RGBColor(200, 200, 200).filled(),
            };
            rects.push(Rectangle::new([(xa, ya), (xb, yb)], style));
        }
    }
    chart.draw_series(rects).map_err(err)?;
    centre_labels(&root, |p| chart.backend_coord(&p), (&cx, xs), (&cy, ys))?;
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(40)
        .margin_bottom(52)
        .margin_right(50)
        .y_label_area_size(40)
        .caption(z_label, ("sans-serif", 14))
        .build_cartesian_2d(0.0..1.0, z0..z1)
        .map_err(err)?;
    let zaxis = Axis {
        label: String::new(),
        log: log_z,
    };
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| zaxis.tick(*v))
        .draw()
        .map_err(err)?;
    let steps = 64;
    cb.draw_series((0..steps).map(|k| {
        let a = z0 + (z1 - z0) * k as f64 / steps as f64;
        let b = z0 + (z1 - z0) * (k + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            cmap.get_color_normalized((a + b) / 2.0, z0, z1).filled(),
        )
    }))
    .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_values() {
        assert_eq!(Axis::log("t").tick(3.0), "1e3");
        assert_eq!(Axis::log("t").tick(0.0), "1");
        assert_eq!(Axis::lin("t").tick(0.25), "0.25");
        assert_eq!(Axis::lin("t").tick(1e-6), "1e-6");
        assert_eq!(Axis::lin("t").tick(-9e-19), "0");
        assert_eq!(Axis::log("t").map(-1.0), None);
    }

    #[test]
    fn writes_svgs() {
        let dir = std::env::temp_dir().join(format!("groklab-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = vec![
            Series::line("train", vec![(1.0, 1.0), (10.0, 0.1), (100.0, 0.01)]),
            Series::dashed("train (theory)", vec![(1.0, 0.9), (100.0, 0.02)]),
            Series::points("val", vec![(1.0, 2.0), (0.0, 5.0)]),
        ];
        let p = dir.join("l.svg");
        line_plot(&p, "loss", &Axis::log("step"), &Axis::log("loss"), &s).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("<svg") && text.contains("train (theory)"));
        let h = dir.join("h.svg");
        let z = vec![vec![Some(1.0), None], vec![Some(10.0), Some(100.0)]];
        let spec = Heatmap {
            title: "dt",
            x: Axis::log("gamma"),
            xs: &[1e-3, 1e-2],
            y: Axis::lin("lambda"),
            ys: &[0.5, 0.9],
            z: &z,
            z_label: "steps",
            log_z: true,
            z_range: None,
        };
        heatmap(&h, &spec).unwrap();
        assert!(std::fs::read_to_string(&h).unwrap().contains("<rect"));
        let e = dir.join("e.svg");
        scatter_labelled(
            &e,
            "E",
            &Axis::lin("x"),
            &Axis::lin("y"),
            &[(0.0, 1.0, "0".into()), (1.0, 0.0, "1".into())],
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
