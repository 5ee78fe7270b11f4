//! Static `index.html` pages over a run or a sweep directory: the plots, the config, the summary
//! and, for sweeps, the phase diagrams and a sortable table of runs linking to each run's page.
//! Everything is relative links and inline script: the page opens from the file system with no
//! server and no network.

use crate::files::write_text;
use crate::table::Table;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}\
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots img{max-width:640px;width:100%;border:1px solid #ddd}\
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\
th{background:#f3f3f3;cursor:pointer;user-select:none}th.sorted-asc::after{content:' \\25B2'}\
th.sorted-desc::after{content:' \\25BC'}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:0.85em}\
td.phase-comprehension{background:#d6f0d6}td.phase-grokking{background:#ffe3c8}\
td.phase-memorization{background:#d3e3f3}td.phase-confusion{background:#e6dcf0}td.phase-diverged{background:#ccc}\
td.verdict-reproduced{background:#d6f0d6}td.verdict-close{background:#fff3c4}td.verdict-differs{background:#f6d0d0}td.verdict-not-run{background:#eee}";

/// Sorting by a column: numbers as numbers, empty cells last, words as words.
const SORT_SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.querySelectorAll('th');
  heads.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      heads.forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        if (x === '' && y === '') return 0;
        if (x === '') return 1;
        if (y === '') return -1;
        var nx = Number(x), ny = Number(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  // index.html#sort=COLUMN (or #sort=-COLUMN, descending) opens the table sorted
  var m = /^#sort=(-?)(.+)$/.exec(decodeURIComponent(location.hash));
  if (m) {
    heads.forEach(function (th) {
      if (th.textContent === m[2]) {
        th.click();
        if (m[1] === '-') th.click();
      }
    });
  }
});
"#;

/// A whole page: `body` under `title`, with the sorting script when `script`.
pub fn page(title: &str, body: &str, script: bool) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
<link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head>\n<body>\n{body}\n{}</body></html>\n",
        esc(title),
        if script {
            format!("<script>{SORT_SCRIPT}</script>\n")
        } else {
            String::new()
        }
    )
}

/// The SVG files of a directory, sorted, as an image gallery.
fn gallery(dir: &Path, prefix: &str) -> String {
    let mut svgs: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".svg") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    // phase diagrams first, then the rest by name
    let rank = |n: &str| match n {
        "phases.svg" => 0,
        "phase_agreement.svg" => 1,
        _ => 2,
    };
    svgs.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    if svgs.is_empty() {
        return String::new();
    }
    let imgs: String = svgs
        .iter()
        .map(|n| {
            format!(
                "<a href=\"{p}{n}\"><img src=\"{p}{n}\" alt=\"{n}\"></a>\n",
                p = esc(prefix),
                n = esc(n)
            )
        })
        .collect();
    format!("<div class=\"plots\">\n{imgs}</div>\n")
}

/// A number as a reader takes it in: whole numbers as they are, others to 4 significant digits.
pub fn sig(v: f64) -> String {
    if !v.is_finite() || (v.fract() == 0.0 && v.abs() < 1e15) {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A cell's text, rounded when it is a number.
fn shown_cell(cell: &str) -> String {
    match cell.parse::<f64>() {
        Ok(v) if cell.contains('.') || cell.contains('e') => sig(v),
        _ => cell.to_string(),
    }
}

/// What a summary field or metrics column means (shown on hover); None for the unknown ones.
pub fn meaning(key: &str) -> Option<&'static str> {
    Some(match key {
        "status" => "finished, diverged, or interrupted (continue with groklab train --resume DIR)",
        "steps_to_train_acc" => {
            "first step with training accuracy at the phase threshold, exact to the step"
        }
        "steps_to_val_acc" => {
            "first step with validation accuracy at the phase threshold, exact to the step"
        }
        "grokking_gap" => "steps_to_val_acc - steps_to_train_acc",
        "phase" => {
            "comprehension, grokking (gap >= phase.gap), memorization, confusion or diverged (Liu et al. 2022)"
        }
        "final" => "the last evaluation's metrics",
        "steps" => "optimiser steps taken",
        "diverged_at" => "the step whose loss was first not finite",
        "stopped_at" => "the evaluation at which train.stop stopped the run",
        "acc_threshold" => {
            "phase.acc_threshold: the accuracy the steps_to_* fields and the phase use"
        }
        "budget" => "the step budget the phase is judged within",
        "wall_seconds" => "training time in seconds, across resumptions",
        "steps_per_second" => "steps over training time",
        "provenance" => {
            "the groklab build, command line, overrides, times, host, threads and --init file"
        }
        "seed" => "the seed of the split, the initialisation and the batch order",
        "train_loss" | "val_loss" => "the config's loss over the whole split",
        "train_acc" | "val_acc" => "accuracy over the whole split",
        "wnorm" => "L2 norm of all parameters",
        "rqi" => "representation quality index (Liu et al. 2022)",
        "acc_hat" => "accuracy predicted from the embeddings' parallelograms (Liu et al. 2022)",
        "softmax_collapse" => {
            "fraction of training samples whose float32 softmax is exactly one-hot"
        }
        "eff_dim" => "effective dimension of the operand embeddings",
        "key_power" => "share of the embeddings' power in the 5 key frequencies",
        "restricted_loss" | "excluded_loss" => {
            "training loss of the logits kept to / without the key frequencies (Nanda et al.)"
        }
        _ => return None,
    })
}

/// A header cell with its meaning on hover, where known.
fn th(key: &str) -> String {
    match meaning(key) {
        Some(m) => format!("<th title=\"{}\">{}</th>", esc(m), esc(key)),
        None => format!("<th>{}</th>", esc(key)),
    }
}

/// An HTML table of a CSV table; `link` turns a row's first cell into a link.
fn html_table(t: &Table, link: impl Fn(&str) -> Option<String>) -> String {
    let phase_col = t.headers.iter().position(|h| h == "phase");
    let mut s = String::from("<table class=\"sortable\"><thead><tr>");
    for h in &t.headers {
        s += &th(h);
    }
    s += "</tr></thead><tbody>\n";
    for row in &t.text {
        s += "<tr>";
        for (k, cell) in row.iter().enumerate() {
            let class = match phase_col {
                Some(p) if p == k => format!(" class=\"phase-{}\"", esc(cell)),
                _ => String::new(),
            };
            let shown = match (k, link(cell)) {
                (0, Some(href)) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(cell)),
                _ => esc(&shown_cell(cell)),
            };
            // a rounded number keeps its full value on hover
            let full = if shown_cell(cell) != *cell {
                format!(" title=\"{}\"", esc(cell))
            } else {
                String::new()
            };
            s += &format!("<td{class}{full}>{shown}</td>");
        }
        s += "</tr>\n";
    }
    s + "</tbody></table>\n"
}

/// Writes `index.html` of a run directory; returns its path.
pub fn run_page(dir: &Path) -> Result<PathBuf, String> {
    let summary: Json = std::fs::read(dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Json::Null);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap_or_default();
    let name = summary["name"].as_str().unwrap_or("run");
    let mut body = format!("<h1>{}</h1>\n", esc(name));
    if let Some(o) = summary.as_object() {
        body += "<h2>Summary</h2>\n<table><tbody>\n";
        for (k, v) in o {
            let value = |v: &Json| match v {
                Json::Number(n) => n.as_f64().map_or(n.to_string(), sig),
                Json::Null => "-".into(),
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            let shown = match v {
                Json::Object(m) => m
                    .iter()
                    .map(|(a, b)| format!("{a} = {}", value(b)))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => value(other),
            };
            body += &format!(
                "<tr>{}<td style=\"text-align:left\">{}</td></tr>\n",
                th(k),
                esc(&shown)
            );
        }
        body += "</tbody></table>\n";
    }
    body += "<h2>Plots</h2>\n";
    body += &gallery(dir, "");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    !n.starts_with('.')
                        && (n.ends_with(".csv")
                            || n.ends_with(".json")
                            || n.ends_with(".safetensors"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    body += "<h2>Files</h2>\n<p>";
    body += &files
        .iter()
        .map(|f| format!("<a href=\"{0}\">{0}</a>", esc(f)))
        .collect::<Vec<_>>()
        .join(" · ");
    body += "</p>\n<h2>Config</h2>\n";
    body += &format!("<pre>{}</pre>\n", esc(&config));
    let path = dir.join("index.html");
    write_text(&path, &page(name, &body, false))?;
    Ok(path)
}

/// Writes `index.html` of a sweep directory (and of each of its runs); returns its path.
pub fn sweep_page(dir: &Path) -> Result<PathBuf, String> {
    let meta: Json = std::fs::read(dir.join("sweep.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Json::Null);
    let table = Table::read(&dir.join("sweep.csv")).unwrap_or_default();
    let name = meta["name"].as_str().unwrap_or("sweep");
    let mut body = format!("<h1>{}</h1>\n", esc(name));
    if let Some(d) = meta["description"].as_str() {
        body += &format!("<p>{}</p>\n", esc(d));
    }
    let total = meta["runs"].as_u64().unwrap_or(0);
    let phases = table.text_column("phase").unwrap_or_default();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for p in &phases {
        match counts.iter_mut().find(|c| &c.0 == p) {
            Some(c) => c.1 += 1,
            None => counts.push((p.clone(), 1)),
        }
    }
    body += &format!(
        "<p id=\"counts\">{} of {total} runs finished: {}</p>\n",
        table.rows.len(),
        esc(&counts
            .iter()
            .map(|(p, n)| format!("{n} {p}"))
            .collect::<Vec<_>>()
            .join(", "))
    );
    body += "<h2>Diagrams</h2>\n";
    body += &gallery(dir, "");
    body += "<h2>Runs</h2>\n<p>Click a column to sort (or open <code>index.html#sort=COLUMN</code>, \
<code>#sort=-COLUMN</code> for descending).</p>\n";
    body += &html_table(&table, |id| {
        dir.join("runs")
            .join(id)
            .join("summary.json")
            .is_file()
            .then(|| format!("runs/{id}/index.html"))
    });
    if let Ok(d) = std::fs::read_dir(dir.join("runs")) {
        for e in d.flatten() {
            if e.path().join("summary.json").is_file() {
                run_page(&e.path())?;
            }
        }
    }
    let path = dir.join("index.html");
    write_text(&path, &page(name, &body, true))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_to_four_significant_digits() {
        assert_eq!(sig(0.987654321), "0.9877");
        assert_eq!(sig(76.38064), "76.38");
        assert_eq!(sig(1234.5678), "1235");
        assert_eq!(sig(3.0), "3");
        assert_eq!(sig(2.5e-7), "2.500e-7");
        assert_eq!(shown_cell("0.000123456"), "1.235e-4");
        assert_eq!(shown_cell("0.00123456"), "0.001235");
        assert_eq!(shown_cell("r0001"), "r0001");
        assert_eq!(shown_cell("1500"), "1500");
    }

    #[test]
    fn pages_escape_and_link() {
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        let t = Table::parse("run,x,phase\nr0000,1,grokking\nr0001,2,\n");
        let h = html_table(&t, |id| {
            (id == "r0000").then(|| format!("runs/{id}/index.html"))
        });
        assert!(h.contains("<a href=\"runs/r0000/index.html\">r0000</a>"));
        assert!(h.contains("<td>r0001</td>"));
        assert!(h.contains("class=\"phase-grokking\""));
    }
}
