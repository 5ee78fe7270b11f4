//! A Slurm job array over a sweep: each array task runs one shard (`--shard I/N` with I from
//! `SLURM_ARRAY_TASK_ID`) into the same sweep directory; `groklab sweep merge DIR` then rebuilds
//! `sweep.csv` and the diagrams from every shard's runs. The directory and its definition are
//! written before submission, so every task resumes the same sweep from it.

use std::path::Path;

/// Settings of the array job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Array tasks (shards).
    pub array: usize,
    /// `--time` of each task (Slurm's format, e.g. `1:00:00`).
    pub time: String,
    pub cpus: usize,
    pub partition: Option<String>,
    /// `--mem` of each task (e.g. `4G`), if any.
    pub mem: Option<String>,
}

/// Quotes a word for bash.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=+:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The sbatch script: every array task resumes the sweep in `dir` as shard `SLURM_ARRAY_TASK_ID`
/// of `array`, with `groklab` at `exe`.
pub fn script(name: &str, dir: &Path, exe: &Path, job: &Job) -> String {
    let dir = quote(&dir.display().to_string());
    let exe = quote(&exe.display().to_string());
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name={}\n", quote(&format!("groklab-{name}")));
    s += &format!("#SBATCH --array=0-{}\n", job.array.saturating_sub(1));
    s += &format!("#SBATCH --cpus-per-task={}\n", job.cpus);
    s += &format!("#SBATCH --time={}\n", quote(&job.time));
    if let Some(p) = &job.partition {
        s += &format!("#SBATCH --partition={}\n", quote(p));
    }
    if let Some(m) = &job.mem {
        s += &format!("#SBATCH --mem={}\n", quote(m));
    }
    s += &format!("#SBATCH --output={dir}/slurm/%A_%a.out\n");
    // SIGTERM two minutes before the time limit reaches groklab (exec makes it the batch shell's
    // process): the runs in training save their states and the task ends; a requeued task (after
    // preemption, or `scontrol requeue`) runs the same command and continues from them
    s += "#SBATCH --signal=B:TERM@120\n";
    s += "#SBATCH --requeue\n";
    s += "#SBATCH --open-mode=append\n";
    s += "set -euo pipefail\n";
    s += &format!(
        "exec {exe} sweep resume {dir} --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --quiet\n",
        job.array
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_shards_by_array_task() {
        let job = Job {
            array: 4,
            time: "0:30:00".into(),
            cpus: 2,
            partition: Some("debug".into()),
            mem: None,
        };
        let s = script(
            "x",
            Path::new("/tmp/my sweep"),
            Path::new("/opt/groklab"),
            &job,
        );
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(s.contains("#SBATCH --array=0-3\n"));
        assert!(s.contains("#SBATCH --partition=debug\n"));
        assert!(s.contains("#SBATCH --signal=B:TERM@120\n") && s.contains("#SBATCH --requeue\n"));
        assert!(s.contains("#SBATCH --output='/tmp/my sweep'/slurm/%A_%a.out"));
        assert!(s.contains(
            "exec /opt/groklab sweep resume '/tmp/my sweep' --shard \"${SLURM_ARRAY_TASK_ID}/4\""
        ));
    }
}
