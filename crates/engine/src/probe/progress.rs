//! Barak et al.'s (2022) progress measure for sparse parity: `dist_inf_init`, the largest change of
//! any parameter since the start, ||theta_t - theta_0||_inf, which grows steadily while the loss
//! plateaus ("hidden progress"). Made for sparse-parity runs.

use super::{EvalContext, Probe, ProbeSetup};
use crate::snapshot::Snapshot;
use crate::task::sparse_parity::SparseParity;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    s.config.task.get::<SparseParity>()?;
    Some(Box::new(Progress { start: None }))
}

pub struct Progress {
    /// The parameters at the first evaluation (step 0).
    start: Option<Vec<Vec<f64>>>,
}

impl Probe for Progress {
    fn columns(&self) -> Vec<String> {
        vec!["dist_inf_init".into()]
    }

    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let now = c.params.all();
        let start = self.start.get_or_insert_with(|| now.clone());
        let d = now
            .iter()
            .zip(start.iter())
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max);
        vec![d]
    }

    fn save(&self, s: &mut Snapshot, name: &str) {
        if let Some(start) = &self.start {
            s.put_rows(&format!("{name}.start"), start);
        }
    }

    fn load(&mut self, s: &mut Snapshot, name: &str) -> Result<(), String> {
        let key = format!("{name}.start");
        self.start = match s.has(&key) {
            true => Some(s.take_rows(&key)?),
            false => None,
        };
        Ok(())
    }
}
