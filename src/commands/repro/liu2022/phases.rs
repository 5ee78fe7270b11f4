//! The four phase diagrams of the toy notebooks (toy/Figure5.ipynb: 5a embedding lr x decoder lr,
//! 5b decoder lr x weight decay, 5c the same with the classification head; toy/Figure5d_permutation
//! .ipynb: 5d S3) on the authors' grids, each cell beside the phase the authors' own results give
//! (`data/authors/liu2022-phases.csv`, derived by their notebooks' rule).

use super::super::work::{Figure, Work, rel};
use super::{Budget, SPLIT_SEED1, SPLIT_SEED58};
use crate::commands::CliError;
use groklab_report::Table;
use groklab_report::comparison::{Comparison, Criterion, Value};
use groklab_report::plot::{Axis, CategoryMap, category_map};
use groklab_report::sweep::PHASES;
use serde_json::json;
use std::path::Path;

/// One cell of the authors' results.
pub struct AuthorsCell {
    pub x: f64,
    pub y: f64,
    pub train: usize,
    pub test: usize,
    pub phase: String,
}

/// The authors' cells of one figure (`fig5a` ... `fig5d`).
fn authors(fig: &str) -> Vec<AuthorsCell> {
    let t = Table::parse(include_str!("../../../../data/authors/liu2022-phases.csv"));
    let figs = t.text_column("figure").unwrap_or_default();
    let phase = t.text_column("phase").unwrap_or_default();
    let col = |k: &str| t.column(k).unwrap_or_default();
    let (x, y, tr, te) = (col("x"), col("y"), col("train_step"), col("test_step"));
    (0..figs.len())
        .filter(|&k| figs[k] == fig)
        .map(|k| AuthorsCell {
            x: x[k],
            y: y[k],
            train: tr[k] as usize,
            test: te[k] as usize,
            phase: phase[k].clone(),
        })
        .collect()
}

/// Whether two grid values are the same (the CSV holds 7 significant digits).
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-12
}

pub fn authors_cell(fig: &str, x: f64, y: f64) -> Option<AuthorsCell> {
    authors(fig)
        .into_iter()
        .find(|c| same(c.x, x) && same(c.y, y))
}

/// The authors' decoder (and embedding) learning rates: 10^linspace(-5, -2, 10).
fn lrs() -> Vec<f64> {
    (0..10)
        .map(|k| 10f64.powf(-5.0 + 3.0 * k as f64 / 9.0))
        .collect()
}

struct Grid {
    fig: &'static str,
    title: &'static str,
    paper_figure: &'static str,
    base: &'static str,
    /// Overrides of every cell, as TOML `key = value` lines.
    set: String,
    x: (&'static str, Vec<f64>),
    y: (&'static str, Vec<f64>),
    cells: (Vec<usize>, Vec<usize>),
    note: &'static str,
}

fn grids(b: &Budget) -> Vec<Grid> {
    let toy_set = |split: &str, gap: usize| {
        format!(
            "\"train.steps\" = {}\n\"task.val_pairs\" = {split}\n\"phase.gap\" = {gap}\n",
            b.phase_steps
        )
    };
    let wds: Vec<f64> = (0..11).map(f64::from).collect();
    let s3_wds = vec![
        0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0,
    ];
    vec![
        Grid {
            fig: "fig5a",
            title: "Toy addition, regression: embedding lr x decoder lr",
            paper_figure: "fig. 5(a)",
            base: "liu2022-toy",
            set: toy_set(SPLIT_SEED58, 2000),
            x: ("optim.embed.lr", lrs()),
            y: ("optim.decoder.lr", lrs()),
            cells: (b.lr_cells.clone(), b.lr_cells.clone()),
            note: "No weight decay. The authors' rule for this panel calls a gap of more than \
                   2,000 steps grokking (toy/Figure5.ipynb); the others use 1,000.",
        },
        Grid {
            fig: "fig5b",
            title: "Toy addition, regression: decoder lr x weight decay",
            paper_figure: "fig. 5(b)",
            base: "liu2022-toy",
            set: toy_set(SPLIT_SEED58, 1000),
            x: ("optim.decoder.lr", lrs()),
            y: ("optim.decoder.weight_decay", wds.clone()),
            cells: (b.lr_cells.clone(), b.wd_cells.clone()),
            note: "Decoupled weight decay on the decoder (AdamW), embedding lr 1e-3.",
        },
        Grid {
            fig: "fig5c",
            title: "Toy addition, classification: decoder lr x weight decay",
            paper_figure: "fig. 5(c)",
            base: "liu2022-toy-classification",
            set: toy_set(SPLIT_SEED1, 1000),
            x: ("optim.decoder.lr", lrs()),
            y: ("optim.decoder.weight_decay", wds),
            cells: (b.lr_cells.clone(), b.wd_cells.clone()),
            note: "Cross-entropy over 19 classes; the authors ran this panel with seed 1 \
                   (toy/produce_figure_data.py), so its split is their seed 1's.",
        },
        Grid {
            fig: "fig5d",
            title: "S3: decoder lr x weight decay",
            paper_figure: "fig. 5(d)",
            base: "liu2022-s3",
            // every step's accuracy is not needed: crossings are exact (replayed) at any spacing
            set: format!(
                "\"train.steps\" = {}\n\"eval.every\" = 100\n",
                b.phase_steps
            ),
            x: ("optim.decoder.lr", lrs()),
            y: ("optim.decoder.weight_decay", s3_wds),
            cells: (b.s3_lr_cells.clone(), b.s3_wd_cells.clone()),
            note: "3 x 3 matrix embeddings initialised U[-0.05, 0.05] with the authors' L1 term \
                   1e-3 mean|E|; 24 of the 36 pairs train.",
        },
    ]
}

fn values(v: &[f64], cells: &[usize]) -> String {
    cells
        .iter()
        .map(|&k| format!("{:?}", v[k]))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(
    work: &Work,
    b: &Budget,
) -> Result<(Vec<Comparison>, Vec<Figure>, serde_json::Value), CliError> {
    let (mut rows, mut figures, mut details) = (Vec::new(), Vec::new(), serde_json::Map::new());
    for g in grids(b) {
        let text = format!(
            "name = \"liu2022-{fig}\"\ndescription = \"{title}, the authors' grid{sub}\"\n\
             base = \"{base}\"\nseeds = [{seed}]\n[set]\n{set}\
             [[axes]]\nkey = \"{xk}\"\nvalues = [{xv}]\nlog = {xl}\n\
             [[axes]]\nkey = \"{yk}\"\nvalues = [{yv}]\nlog = {yl}\n",
            fig = g.fig,
            title = g.title,
            sub = if g.cells.0.len() * g.cells.1.len() < g.x.1.len() * g.y.1.len() {
                " (a subset)"
            } else {
                ""
            },
            base = g.base,
            seed = b
                .grid_seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            set = g.set,
            xk = g.x.0,
            xv = values(&g.x.1, &g.cells.0),
            xl = g.x.0.ends_with(".lr"),
            yk = g.y.0,
            yv = values(&g.y.1, &g.cells.1),
            yl = g.y.0.ends_with(".lr"),
        );
        let sweep = groklab_sweep::Sweep::from_toml(&text, g.fig, Path::new("."))?;
        let dir = work.sweep(g.fig, sweep, None)?;
        let compared = compare(&g, &dir)?;
        let agree = compared.iter().filter(|c| c.ours == c.authors).count();
        eprintln!(
            "  {}: {agree} of {} cells in the authors' phase",
            g.fig,
            compared.len()
        );
        rows.push(Comparison {
            paper: "Liu et al. 2022".into(),
            figure: g.paper_figure.into(),
            quantity: format!("{}: cells in the authors' phase", g.title),
            published: Value::Number(compared.len() as f64),
            ours: Some(Value::Number(agree as f64)),
            unit: "cells".into(),
            // all cells the same is reproduced within 20%, close within 40%
            criterion: Criterion::relative(0.2, 0.4),
            source: format!(
                "ejmichaud/grokking-squared toy/results/{}/*.txt, phases by the rule of \
                 toy/Figure5{}.ipynb (data/authors/liu2022-phases.csv)",
                g.fig,
                if g.fig == "fig5d" {
                    "d_permutation"
                } else {
                    ""
                }
            ),
            command: work.command(),
        });
        let authors_svg = work.dir.join(format!("authors-{}.svg", g.fig));
        let agree_svg = work.dir.join(format!("agreement-{}.svg", g.fig));
        draw(&g, &compared, &authors_svg, &agree_svg)?;
        let counts = |f: fn(&Cell) -> &str| -> String {
            PHASES
                .iter()
                .map(|(p, _)| {
                    let n = compared.iter().filter(|c| f(c) == *p).count();
                    format!("{n} {p}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        figures.push(Figure {
            title: format!("{}: ours, the authors', and where they agree", g.title),
            paper_figure: format!(
                "{} ({}, toy/results/{})",
                g.paper_figure, "the authors' notebook", g.fig
            ),
            images: [
                rel(work, &dir.join("phases.svg")),
                rel(work, &authors_svg),
                rel(work, &agree_svg),
            ]
            .into_iter()
            .flatten()
            .collect(),
            note: format!(
                "{} Ours: {}. The authors' on the same cells: {}. Sweep page: \
                 <a href=\"sweeps/{f}/index.html\">sweeps/{f}</a>.",
                g.note,
                counts(|c| c.ours.as_str()),
                counts(|c| c.authors.as_str()),
                f = g.fig
            ),
        });
        details.insert(
            g.fig.into(),
            json!({"cells": compared.len(), "agree": agree,
                   "ours": counts(|c| c.ours.as_str()), "authors": counts(|c| c.authors.as_str())}),
        );
    }
    Ok((rows, figures, serde_json::Value::Object(details)))
}

/// A cell we ran: its indices on the authors' axes, our phase (the majority of its seeds) and
/// theirs.
struct Cell {
    i: usize,
    j: usize,
    ours: String,
    authors: String,
}

fn compare(g: &Grid, dir: &Path) -> Result<Vec<Cell>, CliError> {
    let t = Table::read(&dir.join("sweep.csv")).map_err(|e| CliError::Work(e.to_string()))?;
    let (xs, ys) = (
        t.column(g.x.0).unwrap_or_default(),
        t.column(g.y.0).unwrap_or_default(),
    );
    let phases = t.text_column("phase").unwrap_or_default();
    let theirs = authors(g.fig);
    // votes per cell, in the order cells first appear
    let mut votes: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    for k in 0..phases.len() {
        let i = g.x.1.iter().position(|&v| same(v, xs[k]));
        let j = g.y.1.iter().position(|&v| same(v, ys[k]));
        let (Some(i), Some(j), Some(p)) = (i, j, PHASES.iter().position(|q| q.0 == phases[k]))
        else {
            continue;
        };
        match votes.iter_mut().find(|v| v.0 == (i, j)) {
            Some(v) => v.1[p] += 1,
            None => {
                let mut v = vec![0; PHASES.len()];
                v[p] = 1;
                votes.push(((i, j), v));
            }
        }
    }
    let mut out = Vec::new();
    for ((i, j), v) in votes {
        let a = theirs
            .iter()
            .find(|c| same(c.x, g.x.1[i]) && same(c.y, g.y.1[j]));
        let (Some(a), Some(m)) = (a, groklab_report::sweep::majority(&v)) else {
            continue;
        };
        out.push(Cell {
            i,
            j,
            ours: PHASES[m].0.to_string(),
            authors: a.phase.clone(),
        });
    }
    Ok(out)
}

/// The authors' diagram on their whole grid, and where ours agrees with it on the cells we ran.
fn draw(g: &Grid, cells: &[Cell], authors_svg: &Path, agree_svg: &Path) -> Result<(), CliError> {
    let (nx, ny) = (g.x.1.len(), g.y.1.len());
    let index = |p: &str| PHASES.iter().position(|(q, _)| *q == p);
    let mut theirs = vec![vec![None; nx]; ny];
    for c in authors(g.fig) {
        let i = g.x.1.iter().position(|&v| same(v, c.x));
        let j = g.y.1.iter().position(|&v| same(v, c.y));
        if let (Some(i), Some(j)) = (i, j) {
            theirs[j][i] = index(&c.phase);
        }
    }
    let mut agreement = vec![vec![None; nx]; ny];
    for c in cells {
        agreement[c.j][c.i] = Some(usize::from(c.ours != c.authors));
    }
    let axis = |k: &str| {
        if k.ends_with(".lr") {
            Axis::log(k)
        } else {
            Axis::lin(k)
        }
    };
    // weight decays {0, 1, ..., 200} are drawn at their positions: cells of equal width
    let positions = |key: &str, v: &[f64]| -> (Axis, Vec<f64>) {
        if key.ends_with("weight_decay") && v.len() == 11 && v[10] > 10.0 {
            (
                Axis::lin(&format!("{key} (0, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200)")),
                (0..v.len()).map(|k| k as f64).collect(),
            )
        } else {
            (axis(key), v.to_vec())
        }
    };
    let (xa, xs) = positions(g.x.0, &g.x.1);
    let (ya, ys) = positions(g.y.0, &g.y.1);
    let render =
        |path: &Path, title: &str, cells: &[Vec<Option<usize>>], cats: &[(&str, (u8, u8, u8))]| {
            groklab_report::files::render(path, |p| {
                category_map(
                    p,
                    &CategoryMap {
                        title,
                        x: xa.clone(),
                        xs: &xs,
                        y: ya.clone(),
                        ys: &ys,
                        cells,
                        categories: cats,
                    },
                )
            })
            .map_err(CliError::Work)
        };
    render(
        authors_svg,
        &format!("{} (the authors' results)", g.paper_figure),
        &theirs,
        PHASES,
    )?;
    render(
        agree_svg,
        &format!("{}: ours against the authors'", g.paper_figure),
        &agreement,
        &[("same phase", (44, 160, 44)), ("different", (214, 39, 40))],
    )
}
