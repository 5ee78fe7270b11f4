//! `repro levi2023`'s comparison: the paper's grokking times are its theory (the exact and
//! Marchenko-Pastur predictions of t_train and t_gen, eqs. of section 3, drawn as the curves of
//! figs. 1-3 and 5), so each simulated Δt = t_gen - t_train stands beside the theory's at the
//! same parameters. `comparison.csv` and `index.html` (the comparison first, then every figure).

use super::FigureOut;
use crate::commands::CliError;
use groklab_report::comparison::{Comparison, Criterion, Value, html_table, write_csv};
use std::path::{Path, PathBuf};

pub fn write(
    dir: &Path,
    outs: &[FigureOut],
    written: &[Vec<PathBuf>],
    command: &str,
) -> Result<Vec<Comparison>, CliError> {
    let mut rows = Vec::new();
    for o in outs {
        for p in &o.points {
            let Some(theory) = p.theory_dt() else {
                continue;
            };
            rows.push(Comparison {
                paper: "Levi, Beck, Bar-Sinai 2023".into(),
                figure: format!("fig. {}", o.figure.name.trim_start_matches("fig")),
                quantity: format!(
                    "grokking time t_gen - t_train, {} {}, {} = {}",
                    p.panel,
                    p.series,
                    p.param,
                    super::super::figure::short(p.value)
                ),
                published: Value::Number(theory),
                ours: p.sim.delta_t.map(|s| Value::Number(s.mean)),
                unit: "steps".into(),
                // a mean over a few seeds against the large-d limit: within 25% reproduced
                criterion: Criterion::relative(0.25, 1.0),
                source: "the paper's theory (section 3: t_train and t_gen from the exact \
                         spectrum of the training covariance), the curves of its figures, \
                         computed by groklab_theory::linear at the simulation's parameters"
                    .into(),
                command: command.into(),
            });
        }
    }
    write_csv(&rows, &dir.join("comparison.csv")).map_err(CliError::Work)?;
    let figures: String = written
        .iter()
        .flatten()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .filter_map(|p| p.file_name())
        .map(|n| {
            let n = groklab_report::html::esc(&n.to_string_lossy());
            format!("<a href=\"{n}\"><img src=\"{n}\" alt=\"{n}\"></a>\n")
        })
        .collect();
    let body = format!(
        "<h1>Levi, Beck, Bar-Sinai 2023: grokking in linear estimators</h1>\n\
         <h2>The paper's theory beside our simulations</h2>\n{}\n<p>Made by <code>{}</code>; \
         <a href=\"comparison.csv\">comparison.csv</a>.</p>\n<h2>Figures</h2>\n\
         <div class=\"plots\">\n{figures}</div>\n",
        html_table(&rows),
        groklab_report::html::esc(command)
    );
    let html = groklab_report::html::page("repro levi2023", &body, true);
    crate::commands::write_atomic(&dir.join("index.html"), html.as_bytes())?;
    Ok(rows)
}
