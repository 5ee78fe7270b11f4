//! The published number beside ours: one row per quantity of a paper's figure, with a verdict
//! computed from the two numbers (never typed in), written as `comparison.csv` and shown first on
//! a reproduction's page. `REPRODUCTIONS.md` gathers the rows of every paper.

use crate::html::esc;
use std::path::Path;

/// A published or measured value: a number, or a word (a phase, a yes/no).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Word(String),
}

impl Value {
    pub fn show(&self) -> String {
        match self {
            Value::Number(x) => crate::html::sig(*x),
            Value::Word(w) => w.clone(),
        }
    }
}

/// How near ours must be to the published value: within `reproduced` it is reproduced, within
/// `close` it is close, farther it differs; relative to the published value or absolute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criterion {
    pub reproduced: f64,
    pub close: f64,
    pub relative: bool,
}

impl Criterion {
    /// Within `r` (reproduced) and `c` (close) of the published value, as fractions of it.
    pub fn relative(r: f64, c: f64) -> Criterion {
        Criterion {
            reproduced: r,
            close: c,
            relative: true,
        }
    }
    /// Within `r` and `c` in the quantity's own unit (accuracies, say).
    pub fn absolute(r: f64, c: f64) -> Criterion {
        Criterion {
            reproduced: r,
            close: c,
            relative: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Reproduced,
    Close,
    Differs,
    /// Ours was not measured (a budget too small to reach it, a run not made).
    NotRun,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Close => "close",
            Verdict::Differs => "differs",
            Verdict::NotRun => "not run",
        }
    }
}

/// One quantity of one figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub paper: String,
    pub figure: String,
    pub quantity: String,
    pub published: Value,
    pub ours: Option<Value>,
    pub unit: String,
    pub criterion: Criterion,
    /// Where the published value comes from (a section, a table, "read from fig. N" and how).
    pub source: String,
    /// The command that measures ours.
    pub command: String,
}

impl Comparison {
    /// From the numbers: words must match; numbers must lie within the criterion.
    pub fn verdict(&self) -> Verdict {
        match (&self.published, &self.ours) {
            (_, None) => Verdict::NotRun,
            (Value::Word(p), Some(Value::Word(o))) => {
                if p.eq_ignore_ascii_case(o) {
                    Verdict::Reproduced
                } else {
                    Verdict::Differs
                }
            }
            (Value::Number(p), Some(Value::Number(o))) => {
                if !o.is_finite() {
                    return Verdict::Differs;
                }
                let scale = if self.criterion.relative {
                    p.abs()
                } else {
                    1.0
                };
                let off = (o - p).abs();
                if off <= self.criterion.reproduced * scale {
                    Verdict::Reproduced
                } else if off <= self.criterion.close * scale {
                    Verdict::Close
                } else {
                    Verdict::Differs
                }
            }
            _ => Verdict::Differs,
        }
    }
}

/// The columns of `comparison.csv`.
pub const COLUMNS: &[&str] = &[
    "paper",
    "figure",
    "quantity",
    "published",
    "ours",
    "unit",
    "verdict",
    "command",
    "source",
];

fn cells(c: &Comparison) -> [String; 9] {
    [
        c.paper.clone(),
        c.figure.clone(),
        c.quantity.clone(),
        c.published.show(),
        c.ours.as_ref().map_or(String::new(), Value::show),
        c.unit.clone(),
        c.verdict().as_str().to_string(),
        c.command.clone(),
        c.source.clone(),
    ]
}

/// Writes `comparison.csv`.
pub fn write_csv(rows: &[Comparison], path: &Path) -> Result<(), String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    for r in rows {
        w.write_record(cells(r)).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    crate::files::write_text(path, &String::from_utf8_lossy(&bytes))
}

/// The rows as an HTML table, verdicts coloured, for the top of a reproduction's page.
pub fn html_table(rows: &[Comparison]) -> String {
    let mut s = String::from("<table class=\"sortable\"><thead><tr>");
    for c in COLUMNS {
        s += &format!("<th>{}</th>", esc(c));
    }
    s += "</tr></thead><tbody>\n";
    for r in rows {
        let v = r.verdict();
        s += "<tr>";
        for (k, cell) in cells(r).iter().enumerate() {
            let class = if k == 6 {
                format!(" class=\"verdict-{}\"", v.as_str().replace(' ', "-"))
            } else {
                String::new()
            };
            s += &format!("<td{class}>{}</td>", esc(cell));
        }
        s += "</tr>\n";
    }
    s + "</tbody></table>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(published: Value, ours: Option<Value>, criterion: Criterion) -> Comparison {
        Comparison {
            paper: "Lee et al. 2024".into(),
            figure: "README table".into(),
            quantity: "steps to 95% validation accuracy, MA".into(),
            published,
            ours,
            unit: "steps".into(),
            criterion,
            source: "ironjr/grokfast README.md:179".into(),
            command: "groklab train preset grokfast-ma".into(),
        }
    }

    /// The verdict follows the numbers: a fabricated result far from the paper's differs.
    #[test]
    fn verdicts_come_from_the_numbers() {
        let c = Criterion::relative(0.1, 0.5);
        let n = |x: f64| Some(Value::Number(x));
        assert_eq!(
            row(Value::Number(790.0), n(800.0), c).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            row(Value::Number(790.0), n(930.0), c).verdict(),
            Verdict::Close
        );
        assert_eq!(
            row(Value::Number(790.0), n(39_890.0), c).verdict(),
            Verdict::Differs
        );
        assert_eq!(
            row(Value::Number(790.0), n(f64::NAN), c).verdict(),
            Verdict::Differs
        );
        assert_eq!(
            row(Value::Number(790.0), None, c).verdict(),
            Verdict::NotRun
        );
        let a = Criterion::absolute(0.02, 0.1);
        assert_eq!(
            row(Value::Number(1.0), n(0.99), a).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            row(Value::Number(1.0), n(0.27), a).verdict(),
            Verdict::Differs
        );
        let w = |s: &str| Value::Word(s.into());
        assert_eq!(
            row(w("grokking"), Some(w("Grokking")), a).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            row(w("grokking"), Some(w("memorization")), a).verdict(),
            Verdict::Differs
        );
        assert_eq!(row(w("grokking"), n(1.0), a).verdict(), Verdict::Differs);
    }

    #[test]
    fn the_csv_has_every_column_and_the_computed_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("comparison.csv");
        let rows = vec![row(
            Value::Number(790.0),
            Some(Value::Number(3000.0)),
            Criterion::relative(0.1, 0.5),
        )];
        write_csv(&rows, &p).unwrap();
        let mut r = csv::Reader::from_path(&p).unwrap();
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(rec.len(), COLUMNS.len());
        assert_eq!(
            rec.iter().collect::<Vec<_>>()[3..7],
            ["790", "3000", "steps", "differs"]
        );
        assert!(html_table(&rows).contains("verdict-differs"));
    }
}
