//! Numeric columns of a CSV file by header name (empty cells and words read as NaN): enough to redraw
//! plots from `metrics.csv` and sweep tables.

use std::path::Path;

/// Columns of numbers by header name, and the cells as text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    /// The cells as written (words such as a phase, empty cells).
    pub text: Vec<Vec<String>>,
}

impl Table {
    pub fn read(path: &Path) -> std::io::Result<Table> {
        Ok(Table::parse(&std::fs::read_to_string(path)?))
    }

    pub fn parse(text: &str) -> Table {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = match rdr.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(_) => return Table::default(),
        };
        let text: Vec<Vec<String>> = rdr
            .records()
            .filter_map(Result::ok)
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        let rows = text
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.parse::<f64>().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        Table {
            headers,
            rows,
            text,
        }
    }

    /// A column as text.
    pub fn text_column(&self, name: &str) -> Option<Vec<String>> {
        let k = self.headers.iter().position(|h| h == name)?;
        Some(
            self.text
                .iter()
                .map(|r| r.get(k).cloned().unwrap_or_default())
                .collect(),
        )
    }

    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.headers.iter().position(|h| h == name)?;
        Some(
            self.rows
                .iter()
                .map(|r| r.get(k).copied().unwrap_or(f64::NAN))
                .collect(),
        )
    }

    /// (x, y) points of two columns, dropping rows where either is not finite.
    pub fn xy(&self, x: &str, y: &str) -> Vec<(f64, f64)> {
        match (self.column(x), self.column(y)) {
            (Some(xs), Some(ys)) => xs
                .into_iter()
                .zip(ys)
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_and_drops_missing() {
        let t = Table::parse("step,loss,acc\n1,0.5,\n10,0.25,0.75\n");
        assert_eq!(t.column("step").unwrap(), vec![1.0, 10.0]);
        assert_eq!(t.xy("step", "acc"), vec![(10.0, 0.75)]);
        assert!(t.column("nope").is_none());
    }
}
