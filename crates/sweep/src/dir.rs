//! A sweep directory:
//!
//! ```text
//! sweep.toml     the resolved definition (base config inlined): what defines the sweep
//! sweep.json     axes, seeds and labels for the report
//! sweep.csv      one row per finished run: run, axis values, seed, phase, summary fields
//! runs/r0000/    one run directory per run (config.toml, metrics.csv, summary.json, ...)
//! *.svg, index.html   phase diagrams and the page over them
//! ```
//! Nothing is lost: a run's directory appears in one rename, complete, after its training ends,
//! so `runs/<id>/summary.json` existing means the run is done; `sweep.csv` is rebuilt from the
//! summaries, never appended to. Opening a directory that holds the same sweep resumes it; one
//! holding another sweep, or anything else, is refused.

use crate::Prepared;
use crate::definition::{RunSpec, Sweep, show};
use crate::error::SweepError;
use groklab_engine::files::{csv_bytes, write_atomic};
use groklab_engine::params::ParamSpec;
use groklab_engine::run::{SUMMARY_KEYS, Summary, summarise, write_config, write_member};
use groklab_engine::train::MemberResult;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};

pub const DEFINITION: &str = "sweep.toml";
pub const META: &str = "sweep.json";
pub const TABLE: &str = "sweep.csv";

/// An opened sweep directory.
#[derive(Debug, Clone)]
pub struct SweepDir {
    pub path: PathBuf,
}

/// The directory a sweep gets when the user names none: `sweeps/NAME`, or `sweeps/NAME-2`, ...
/// when that one holds a different sweep (re-running the same sweep resumes it).
pub fn default_dir(sweep: &Sweep) -> PathBuf {
    let root = Path::new("sweeps");
    for k in 1.. {
        let dir = if k == 1 {
            root.join(&sweep.name)
        } else {
            root.join(format!("{}-{k}", sweep.name))
        };
        match stored(&dir) {
            Ok(None) if !dir.exists() => return dir,
            Ok(Some(s)) if s.difference(sweep).is_none() => return dir,
            _ => continue,
        }
    }
    unreachable!("some counter is free")
}

/// The definition stored in a directory, None when it holds none.
fn stored(dir: &Path) -> Result<Option<Sweep>, SweepError> {
    let path = dir.join(DEFINITION);
    match std::fs::read_to_string(&path) {
        Ok(text) => Sweep::from_toml(&text, &path.display().to_string(), dir)
            .map(Some)
            .map_err(|e| SweepError::Dir {
                path: dir.to_path_buf(),
                problem: format!("its {DEFINITION} does not read as a sweep ({e})"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SweepError::io(path)(e)),
    }
}

impl SweepDir {
    /// Opens `path` for `sweep`: creates it, or resumes it when it holds the same sweep (every
    /// finished run's config must still be its expanded config). Refuses a directory holding
    /// another sweep or anything else.
    pub fn open(path: &Path, prepared: &Prepared) -> Result<SweepDir, SweepError> {
        let (sweep, runs) = (&prepared.sweep, &prepared.runs);
        let refuse = |problem: String| SweepError::Dir {
            path: path.to_path_buf(),
            problem,
        };
        match stored(path)? {
            Some(old) => {
                if let Some(d) = old.difference(sweep) {
                    return Err(refuse(format!(
                        "it holds a different sweep ({d} changed); resume it with the same definition (`groklab sweep resume {}`), or choose another --out",
                        path.display()
                    )));
                }
            }
            None if path.exists() => {
                let empty = std::fs::read_dir(path)
                    .map_err(SweepError::io(path))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(refuse(
                        "it is not empty and holds no sweep; allowed: a new or empty directory, or a sweep directory of the same sweep".into(),
                    ));
                }
            }
            None => {}
        }
        std::fs::create_dir_all(path.join("runs"))
            .map_err(|e| refuse(format!("cannot create it ({e})")))?;
        let dir = SweepDir {
            path: path.to_path_buf(),
        };
        for run in runs {
            let config = dir.run_dir(&run.id).join("config.toml");
            if !dir.is_finished(&run.id) {
                continue;
            }
            let text = std::fs::read_to_string(&config).map_err(SweepError::io(&config))?;
            if text != run.config.to_toml() {
                return Err(refuse(format!(
                    "run {} there has a different config than this definition gives it (the base preset or groklab changed); choose another --out",
                    run.id
                )));
            }
        }
        write_atomic(&path.join(DEFINITION), sweep.to_toml().as_bytes())
            .map_err(SweepError::io(path.join(DEFINITION)))?;
        let meta = serde_json::to_vec_pretty(&meta(prepared)).unwrap_or_default();
        write_atomic(&path.join(META), &meta).map_err(SweepError::io(path.join(META)))?;
        Ok(dir)
    }

    /// An existing sweep directory and its own definition.
    pub fn resume(path: &Path) -> Result<(SweepDir, Sweep), SweepError> {
        let sweep = stored(path)?.ok_or_else(|| SweepError::Dir {
            path: path.to_path_buf(),
            problem: format!("it holds no {DEFINITION}: not a sweep directory"),
        })?;
        Ok((
            SweepDir {
                path: path.to_path_buf(),
            },
            sweep,
        ))
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.path.join("runs").join(id)
    }

    /// Whether a run finished (its directory holds its summary).
    pub fn is_finished(&self, id: &str) -> bool {
        self.run_dir(id).join("summary.json").is_file()
    }

    /// Removes run directories left half-written by an interrupted process (`runs/.ID.tmp-PID`).
    /// Call it only when no other process writes this sweep (not from Slurm shards).
    pub fn clean_partial(&self) {
        let Ok(entries) = std::fs::read_dir(self.path.join("runs")) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// Writes a finished run: every file into a staging directory, then one rename into place. A
    /// run that some other process finished meanwhile is left as it is.
    pub fn write_run(
        &self,
        run: &RunSpec,
        result: &MemberResult,
        specs: &[ParamSpec],
        wall_seconds: f64,
        steps_per_second: f64,
    ) -> Result<Summary, SweepError> {
        let summary = summarise(&run.config, result, wall_seconds, steps_per_second);
        let target = self.run_dir(&run.id);
        let staging =
            self.path
                .join("runs")
                .join(format!(".{}.tmp-{}", run.id, std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let written = write_config(&staging, &run.config)
            .and_then(|()| write_member(&staging, &run.config, specs, result, &summary));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(SweepError::io(&staging)(e));
        }
        if let Err(e) = std::fs::rename(&staging, &target) {
            let _ = std::fs::remove_dir_all(&staging);
            if !self.is_finished(&run.id) {
                return Err(SweepError::io(&target)(e));
            }
        }
        Ok(summary)
    }

    /// Rebuilds `sweep.csv` from the summaries of the finished runs; returns the ids of the runs
    /// that have none yet.
    pub fn rebuild_table(&self, prepared: &Prepared) -> Result<Vec<String>, SweepError> {
        let (sweep, theory) = (&prepared.sweep, &prepared.theory);
        let mut rows: Vec<(&RunSpec, Json)> = Vec::new();
        let mut missing = Vec::new();
        for run in &prepared.runs {
            let path = self.run_dir(&run.id).join("summary.json");
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let j: Json = serde_json::from_slice(&bytes).map_err(|e| SweepError::Dir {
                        path: path.clone(),
                        problem: format!("not a summary ({e})"),
                    })?;
                    rows.push((run, j));
                }
                Err(_) => missing.push(run.id.clone()),
            }
        }
        let mut finals: Vec<String> = rows
            .iter()
            .filter_map(|(_, j)| j["final"].as_object())
            .flat_map(|o| o.keys().cloned())
            .collect();
        finals.sort();
        finals.dedup();
        // what the probes add to a summary (subnetwork size, memorisation epoch, ...)
        let mut probes: Vec<String> = rows
            .iter()
            .filter_map(|(_, j)| j.as_object())
            .flat_map(|o| o.keys().cloned())
            .filter(|k| !SUMMARY_KEYS.contains(&k.as_str()))
            .collect();
        probes.sort();
        probes.dedup();
        const FIELDS: [&str; 7] = [
            "steps_to_train_acc",
            "steps_to_val_acc",
            "grokking_gap",
            "diverged_at",
            "stopped_at",
            "steps",
            "wall_seconds",
        ];
        let mut header = vec!["run".to_string()];
        header.extend(sweep.axes.iter().map(|a| a.key.clone()));
        header.extend(["seed", "phase"].map(String::from));
        header.extend(FIELDS.map(String::from));
        header.extend(finals.iter().map(|k| format!("final_{k}")));
        header.push("steps_per_second".into());
        header.extend(probes.iter().cloned());
        header.extend(theory.names.iter().cloned());
        let cell = |v: &Json| match v {
            Json::Null => String::new(),
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&header);
        for (run, j) in &rows {
            let mut rec = vec![run.id.clone()];
            rec.extend(run.values.iter().map(show));
            rec.push(run.seed.to_string());
            rec.push(cell(&j["phase"]));
            rec.extend(FIELDS.iter().map(|f| cell(&j[f])));
            rec.extend(finals.iter().map(|k| cell(&j["final"][k])));
            rec.push(cell(&j["steps_per_second"]));
            rec.extend(probes.iter().map(|k| cell(&j[k])));
            rec.extend(
                theory.values[run.index]
                    .iter()
                    .map(|v| v.map_or(String::new(), |x| x.to_string())),
            );
            let _ = w.write_record(&rec);
        }
        let bytes = w.into_inner().unwrap_or_default();
        write_atomic(&self.path.join(TABLE), &bytes)
            .map_err(SweepError::io(self.path.join(TABLE)))?;
        Ok(missing)
    }
}

/// `sweep.json`: what the report needs to draw the sweep without reading its definition.
fn meta(prepared: &Prepared) -> Json {
    let sweep = &prepared.sweep;
    json!({
        "overlays": prepared.theory.overlays.iter().map(|(c, on)| json!({"column": c, "on": on})).collect::<Vec<_>>(),
        "name": sweep.name,
        "description": sweep.description,
        "runs": sweep.len(),
        "seeds": sweep.seeds,
        "theory": sweep.theory,
        "axes": sweep.axes.iter().map(|a| json!({
            "key": a.key,
            "labels": a.values.iter().map(show).collect::<Vec<_>>(),
            "values": a.values.iter().map(|v| v.as_float().or(v.as_integer().map(|i| i as f64))).collect::<Vec<_>>(),
            "log": a.log,
        })).collect::<Vec<_>>(),
    })
}

/// A numeric table as CSV (for theory tables beside a sweep).
pub fn write_table(path: &Path, header: &[String], rows: &[Vec<f64>]) -> Result<(), SweepError> {
    write_atomic(path, &csv_bytes(header, rows)).map_err(SweepError::io(path))
}
