//! Every file the report writes goes through a temporary sibling and a rename, so a reader never
//! sees half a plot or page, and a failed drawing leaves nothing behind.

use std::path::Path;

/// Renders into `.NAME.tmpPID` beside `path`, then renames it into place (the process id keeps two
/// processes drawing the same sweep, such as Slurm shards, out of each other's files).
pub fn render(path: &Path, draw: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = draw(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display())));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes text through [`render`].
pub fn write_text(path: &Path, text: &str) -> Result<(), String> {
    render(path, |tmp| {
        std::fs::write(tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))
    })
}
