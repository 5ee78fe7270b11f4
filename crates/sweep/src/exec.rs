//! Running a sweep: the runs of this shard that are not finished, grouped into ensembles of
//! same-shaped runs (chunks of `chunk` members, so that progress is saved as it goes), trained on
//! `jobs` worker threads through the one training loop. Every chunk is checked (shapes, memory)
//! before any trains. Each finished member is written at once; `sweep.csv` is rebuilt after every
//! chunk. A chunk saves its training state to `states/` as it goes (every `train.checkpoint_every`
//! steps, by default every few minutes) and when a signal stops the sweep; the next call
//! continues it from there.

use crate::Prepared;
use crate::definition::RunSpec;
use crate::dir::SweepDir;
use crate::error::SweepError;
use groklab_engine::live::Saver;
use groklab_engine::snapshot::Snapshot;
use groklab_engine::train::{TrainOptions, TrainResult, Trainer, check_fits, ensemble_key};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A deterministic 1/count of a sweep's runs: run i belongs to shard i mod count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Reads `I/N` (with `I` optional: then `SLURM_ARRAY_TASK_ID`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let allowed = "I/N with 0 <= I < N, or /N to take I from SLURM_ARRAY_TASK_ID";
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("invalid value for `--shard`: {text}; allowed: {allowed}"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("invalid value for `--shard`: {text}; allowed: {allowed}"))?;
        let index: usize = if i.trim().is_empty() {
            std::env::var("SLURM_ARRAY_TASK_ID")
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    format!("invalid value for `--shard`: {text}; SLURM_ARRAY_TASK_ID is not set to an integer; allowed: {allowed}")
                })?
        } else {
            i.trim()
                .parse()
                .map_err(|_| format!("invalid value for `--shard`: {text}; allowed: {allowed}"))?
        };
        if count == 0 || index >= count {
            return Err(format!(
                "invalid value for `--shard`: {text}; allowed: {allowed}"
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn owns(&self, run_index: usize) -> bool {
        run_index % self.count == self.index
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads, each training one chunk at a time.
    pub jobs: usize,
    /// Members per ensemble; None: [`default_chunk`].
    pub chunk: Option<usize>,
    pub shard: Option<Shard>,
    pub progress: bool,
    /// Set to a signal's number by its handler: every chunk saves its state and the call stops.
    pub interrupt: Option<Arc<AtomicUsize>>,
    /// Set to the runs finished so far (earlier ones included) as the sweep goes, for a caller
    /// that draws its own progress (the Python package's tqdm bar).
    pub done: Option<Arc<AtomicUsize>>,
}

/// What a call did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Runs of the sweep, of this shard, finished before this call, and trained by it.
    pub total: usize,
    pub in_shard: usize,
    pub already_done: usize,
    pub trained: usize,
    pub wall_seconds: f64,
    /// The signal that stopped the call (the chunks in training saved their states).
    pub interrupted_by: Option<i32>,
}

/// Members per ensemble when the user names none, chosen by measurement on this 2-core machine
/// (BENCHMARKS.md): on the fused path one member per ensemble (a member's weights and Adam state,
/// ~0.6 MB for the toy model, stay in L2; the 176-cell grid took 114 s with 1, 116 s with 2, 120 s
/// with 4), on the autodiff path 4 (burn's per-operation overhead is shared: 4 ran 15% faster than 1).
pub fn default_chunk(run: &RunSpec) -> usize {
    use groklab_engine::config::TrainPath;
    let model = run.config.build_model();
    if run.config.train.path != TrainPath::Autodiff
        && groklab_engine::model::kernel::has_kernel(&*model)
    {
        1
    } else {
        4
    }
}

/// The pending runs of the shard in chunks of at most `chunk` same-shaped runs, in run order
/// within each shape.
pub fn chunks<'a>(
    dir: &SweepDir,
    runs: &'a [RunSpec],
    opts: &Options,
) -> (Vec<Vec<&'a RunSpec>>, usize, usize) {
    let in_shard: Vec<&RunSpec> = runs
        .iter()
        .filter(|r| opts.shard.is_none_or(|s| s.owns(r.index)))
        .collect();
    let pending: Vec<&RunSpec> = in_shard
        .iter()
        .copied()
        .filter(|r| !dir.is_finished(&r.id))
        .collect();
    let mut groups: BTreeMap<String, Vec<&RunSpec>> = BTreeMap::new();
    let mut order = Vec::new();
    for r in &pending {
        let key = ensemble_key(&r.config);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    let mut out = Vec::new();
    for key in order {
        let group = &groups[&key];
        let chunk = opts.chunk.unwrap_or_else(|| default_chunk(group[0]));
        for c in group.chunks(chunk.max(1)) {
            out.push(c.to_vec());
        }
    }
    (out, in_shard.len(), in_shard.len() - pending.len())
}

/// Trains every pending run of the shard and writes it; rebuilds `sweep.csv`.
pub fn run(dir: &SweepDir, prepared: &Prepared, opts: &Options) -> Result<Outcome, SweepError> {
    let (sweep, runs) = (&prepared.sweep, &prepared.runs);
    let started = Instant::now();
    if opts.shard.is_none() {
        dir.clean_partial();
    }
    let (chunks, in_shard, already_done) = chunks(dir, runs, opts);
    // every chunk fits (shapes, and memory for one chunk at a time) before anything trains
    for c in &chunks {
        let configs: Vec<_> = c.iter().map(|r| r.config.clone()).collect();
        check_fits(&configs)?;
    }
    let pending: usize = chunks.iter().map(Vec::len).sum();
    if let Some(d) = &opts.done {
        d.store(already_done, Ordering::Relaxed);
    }
    let bar = progress_bar(opts.progress, pending as u64, &sweep.name);
    let next = AtomicUsize::new(0);
    let trained = AtomicUsize::new(0);
    let failure: Mutex<Option<SweepError>> = Mutex::new(None);
    let table = Mutex::new(());
    let interrupted = AtomicUsize::new(0);
    let jobs = opts.jobs.max(1).min(chunks.len().max(1));
    // plain threads, not a rayon pool: a worker that is a rayon thread makes burn's own parallel
    // kernels (in the evaluations) steal from and wait on the other workers (the regression-quick
    // sweep took 31.9 s on a rayon pool of 2, 21.8 s on 2 plain threads)
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let signalled = opts
                        .interrupt
                        .as_ref()
                        .is_some_and(|f| f.load(Ordering::SeqCst) != 0);
                    if failure.lock().map_or(true, |f| f.is_some())
                        || interrupted.load(Ordering::SeqCst) != 0
                        || signalled
                    {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(chunk) = chunks.get(k) else {
                        break;
                    };
                    let done = train_chunk(dir, chunk, opts).and_then(|result| {
                        if let Some(sig) = result.interrupted_by {
                            interrupted.store(sig as usize, Ordering::SeqCst);
                            return Ok(false);
                        }
                        for (run, member) in chunk.iter().zip(&result.members) {
                            let summary = dir.write_run(
                                run,
                                member,
                                &result.specs,
                                result.wall_seconds,
                                result.steps_per_second,
                            )?;
                            bar.set_message(format!("{} {}", run.id, summary.phase.as_str()));
                        }
                        Ok(true)
                    });
                    match done {
                        Ok(false) => break,
                        Ok(true) => {
                            trained.fetch_add(chunk.len(), Ordering::SeqCst);
                            bar.inc(chunk.len() as u64);
                            if let Some(d) = &opts.done {
                                d.fetch_add(chunk.len(), Ordering::Relaxed);
                            }
                            let _guard = table.lock();
                            if let Err(e) = dir.rebuild_table(prepared)
                                && let Ok(mut f) = failure.lock()
                            {
                                f.get_or_insert(e);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    dir.rebuild_table(prepared)?;
    Ok(Outcome {
        total: runs.len(),
        in_shard,
        already_done,
        trained: trained.into_inner(),
        wall_seconds: started.elapsed().as_secs_f64(),
        interrupted_by: match interrupted.into_inner() {
            0 => None,
            s => Some(s as i32),
        },
    })
}

/// Where a chunk keeps its training state: named after its runs, so that a call that chunks the
/// pending runs differently starts those chunks afresh.
fn state_path(dir: &SweepDir, chunk: &[&RunSpec]) -> PathBuf {
    let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
    let name = if ids.len() <= 8 {
        ids.join("+")
    } else {
        format!("{}+..+{}-{}", ids[0], ids[ids.len() - 1], ids.len())
    };
    dir.path.join("states").join(format!("{name}.safetensors"))
}

/// Trains one chunk as one ensemble, from its saved state when an earlier call left one.
fn train_chunk(
    dir: &SweepDir,
    chunk: &[&RunSpec],
    opts: &Options,
) -> Result<TrainResult, SweepError> {
    let configs: Vec<_> = chunk.iter().map(|r| r.config.clone()).collect();
    let path = state_path(dir, chunk);
    let mut trainer = Trainer::setup(&configs)?;
    let (mut wall, mut saved) = (0.0, None);
    if let Ok(state) = Snapshot::read(&path) {
        match trainer.load(state) {
            Ok((step, w)) => (wall, saved) = (w, Some(step)),
            // a state of other runs (the definition changed): train afresh
            Err(_) => trainer = Trainer::setup(&configs)?,
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(SweepError::io(parent))?;
    }
    let every = configs[0].train.checkpoint_every;
    let mut saver = Saver::new(&path, every, opts.interrupt.clone(), wall, saved);
    let result = trainer.run_watched(&TrainOptions::default(), &mut saver);
    if let Some(e) = saver.error {
        return Err(SweepError::io(&path)(e));
    }
    if result.interrupted_by.is_none() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(SweepError::io(&path)(e));
            }
            _ => {}
        }
    }
    Ok(result)
}

fn progress_bar(show: bool, len: u64, name: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        for count in 1..6 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for run in 0..40 {
                assert_eq!(shards.iter().filter(|s| s.owns(run)).count(), 1);
            }
        }
        assert_eq!(Shard::parse("2/5"), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1", "a/3", "1/0", "-1/3"] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.contains("`--shard`"), "{e}");
        }
    }
}
