//! Files are written atomically (a temporary file in the same directory, then a rename), so a reader
//! never sees half a file and an interrupted run leaves the previous version intact; and CSV bytes
//! are formatted one way for every table the project writes.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A numeric table written beside `metrics.csv` (`split.csv`, `embeddings.csv`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTable {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

/// A temporary sibling of `path` (same directory, so the rename is atomic).
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Renders into a temporary sibling of `path` (for writers such as plotters that want a path), then
/// renames it into place; the temporary file is removed on failure.
pub fn render_atomic(
    path: &Path,
    render: impl FnOnce(&Path) -> Result<(), String>,
) -> std::io::Result<()> {
    let tmp = temp_sibling(path);
    let result = render(&tmp)
        .map_err(std::io::Error::other)
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    render_atomic(path, |tmp| {
        let mut f = std::fs::File::create(tmp).map_err(|e| e.to_string())?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| e.to_string())
    })
}

/// A numeric table as CSV: whole numbers print without a fraction (steps, counts), others in Rust's
/// shortest round-trip form.
pub fn csv_bytes(header: &[String], rows: &[Vec<f64>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(header);
    let mut bytes = w.into_inner().unwrap_or_default();
    bytes.extend(csv_rows(rows));
    bytes
}

/// The rows of [`csv_bytes`] without the header (to append to a file that has it).
pub fn csv_rows(rows: &[Vec<f64>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        let _ = w.write_record(r.iter().map(|x| {
            if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{}", *x as i64)
            } else {
                format!("{x}")
            }
        }));
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_failed_renders_leave_nothing() {
        let dir = std::env::temp_dir().join(format!("groklab-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.csv");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let q = dir.join("b.svg");
        let e = render_atomic(&q, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err("plot failed".into())
        });
        assert!(e.is_err() && !q.exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "a temporary file was left behind"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csv_prints_whole_numbers_without_fraction() {
        let b = csv_bytes(
            &["step".into(), "loss".into()],
            &[vec![10.0, 0.25], vec![20.0, f64::NAN]],
        );
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "step,loss\n10,0.25\n20,NaN\n"
        );
    }
}
