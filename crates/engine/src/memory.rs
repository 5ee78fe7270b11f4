//! The memory check: what a training call will hold, estimated from the configs alone before
//! anything is allocated, against the machine's memory. A config that cannot fit is refused with the
//! estimate, its largest part and the key that sets it, instead of starting to allocate.

use crate::config::Config;
use crate::model::Model;
use crate::probe::Probe;

/// An estimate in bytes, by part.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub parts: Vec<(&'static str, &'static str, f64)>,
}

impl Estimate {
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.2).sum()
    }
    /// The largest part: (what, key that sets it, bytes).
    pub fn largest(&self) -> (&'static str, &'static str, f64) {
        self.parts
            .iter()
            .copied()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .unwrap_or(("nothing", "", 0.0))
    }
}

/// The estimate for training `members` members of `config` on `model`, with the probes of all
/// members together.
pub fn estimate(
    config: &Config,
    model: &dyn Model,
    probes: &[Box<dyn Probe>],
    members: usize,
) -> Estimate {
    let m = members as f64;
    let bytes = match config.train.dtype {
        crate::params::Precision::F32 => 4.0,
        crate::params::Precision::F64 => 8.0,
    };
    let numel: f64 = model
        .specs()
        .iter()
        .map(|s| s.shape.iter().map(|&d| d as f64).product::<f64>())
        .sum();
    // the store, two optimiser moments, the autodiff leaves, their gradients and host copies, the
    // initial and final values kept for checkpoints
    let params = numel * m * bytes * 8.0;
    let n_train = config.task.n_train() as f64;
    let batch = if config.train.batch_size == 0 {
        n_train
    } else {
        config.train.batch_size as f64
    };
    let n_eval = n_train + config.task.n_val() as f64;
    let per_sample = model.activation_floats() + model.d_out() as f64;
    // the training batch through forward and backward, and evaluation over both splits (forward
    // only, about half as much per sample)
    let activations = (batch + n_eval / 2.0) * per_sample * m * bytes;
    let data = config.task.data_bytes() * m;
    let probes: f64 = probes.iter().map(|p| p.memory_bytes()).sum::<f64>();
    Estimate {
        parts: vec![
            ("parameters and optimiser state", "model", params),
            ("activations", "train.batch_size", activations),
            ("datasets", "task", data),
            ("probes", "task", probes),
        ],
    }
}

/// Physical memory of the machine in bytes (`MemTotal` of /proc/meminfo), None where unknown.
pub fn machine_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Bytes in human units.
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}
