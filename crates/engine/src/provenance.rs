//! What made a run: the groklab build (version and git commit), the command line and its `--set`
//! overrides, when it ran (and when it was resumed), on which host with how many threads, and the
//! `--init` file with its SHA-256. `summary.json` carries it; the checkpoints carry the build only,
//! so that the same config and seed still give the same checkpoint bytes.

use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::Path;
use std::sync::OnceLock;

static COMMIT: OnceLock<String> = OnceLock::new();

/// Records the git commit the binary was built from (its build script knows it; the engine does
/// not, so that a commit does not rebuild the engine).
pub fn set_commit(commit: &str) {
    let _ = COMMIT.set(commit.to_string());
}

/// The git commit of this build, when built from a checkout.
pub fn commit() -> Option<&'static str> {
    COMMIT.get().map(String::as_str).filter(|c| !c.is_empty())
}

/// `groklab VERSION (COMMIT)`: the producer named in checkpoints.
pub fn producer() -> String {
    match commit() {
        Some(c) => format!("groklab {} ({c})", env!("CARGO_PKG_VERSION")),
        None => format!("groklab {}", env!("CARGO_PKG_VERSION")),
    }
}

/// A file a run read, by path and content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

impl FileHash {
    pub fn of(path: &Path) -> std::io::Result<FileHash> {
        let bytes = std::fs::read(path)?;
        let digest = sha2::Sha256::digest(&bytes);
        Ok(FileHash {
            path: path.display().to_string(),
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}

/// `summary.json`'s `provenance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// groklab's version.
    pub groklab: String,
    /// The git commit it was built from (null when not built from a checkout).
    pub commit: Option<String>,
    /// The command line, as typed.
    pub command: Vec<String>,
    /// Its `--set` overrides.
    pub overrides: Vec<String>,
    /// When training started, and when it ended (RFC 3339, UTC).
    pub started: String,
    pub ended: String,
    /// When an interrupted run was continued (`--resume`), each time, with its command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<Resumed>,
    pub host: String,
    /// Worker threads of the training.
    pub threads: usize,
    /// The `--init` checkpoint, if the run started from one.
    pub init: Option<FileHash>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    pub at: String,
    pub command: Vec<String>,
}

/// Now, as RFC 3339 in UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The machine's name (Linux), or "unknown".
fn host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

impl Provenance {
    /// This process: the build, the command line, the host and its threads; starting now.
    pub fn here(overrides: &[String]) -> Provenance {
        Provenance {
            groklab: env!("CARGO_PKG_VERSION").to_string(),
            commit: commit().map(String::from),
            command: std::env::args().collect(),
            overrides: overrides.to_vec(),
            started: now(),
            ended: String::new(),
            resumed: Vec::new(),
            host: host(),
            threads: rayon::current_num_threads(),
            init: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_and_times_are_rfc3339() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2's example: SHA-256("abc")
        assert_eq!(
            FileHash::of(&p).unwrap().sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = now();
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
        let h = Provenance::here(&["a=1".into()]);
        assert_eq!(h.overrides, vec!["a=1".to_string()]);
        assert!(h.threads >= 1 && !h.host.is_empty());
    }
}
