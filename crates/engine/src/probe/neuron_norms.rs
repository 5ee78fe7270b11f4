//! The norm ||W_i|| of every hidden neuron's incoming weights (first layer, not its bias or output
//! weight) at every evaluation, as a matrix file `neuron_norms.csv` (step, epoch, n0, n1, ...: one
//! row per evaluation, one column per neuron) rather than a thousand metric columns. Made for MLPs
//! with a hidden layer on dense inputs.

use super::{EvalContext, Probe, ProbeSetup};
use crate::files::ExtraTable;
use crate::model::StackInput;
use crate::snapshot::Snapshot;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let stack = s.model.stack()?;
    if stack.layers.len() < 2 || !matches!(stack.input, StackInput::Dense { .. }) {
        return None;
    }
    let first = &stack.layers[0];
    Some(Box::new(NeuronNorms {
        w: first.w.clone(),
        d_in: first.d_in,
        width: first.d_out,
        epoch: s.config.steps_per_epoch(),
        rows: Vec::new(),
        evals: crate::schedule::config_eval_steps(s.config).len(),
    }))
}

pub struct NeuronNorms {
    w: String,
    d_in: usize,
    width: usize,
    epoch: Option<usize>,
    rows: Vec<Vec<f64>>,
    evals: usize,
}

/// Column norms of a row-major [d_in, width] matrix: neuron j's incoming weights.
pub fn norms(w: &[f64], d_in: usize, width: usize) -> Vec<f64> {
    let mut sq = vec![0.0; width];
    for row in w.chunks(width).take(d_in) {
        for (s, v) in sq.iter_mut().zip(row) {
            *s += v * v;
        }
    }
    sq.into_iter().map(f64::sqrt).collect()
}

impl Probe for NeuronNorms {
    fn columns(&self) -> Vec<String> {
        Vec::new()
    }

    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        if let Some(w) = c.params.get(&self.w) {
            let mut row = vec![c.step as f64];
            if let Some(per) = self.epoch {
                row.push(c.step as f64 / per as f64);
            }
            row.extend(norms(&w, self.d_in, self.width));
            self.rows.push(row);
        }
        Vec::new()
    }

    fn save(&self, s: &mut Snapshot, name: &str) {
        s.put_rows(&format!("{name}.rows"), &self.rows);
    }

    fn load(&mut self, s: &mut Snapshot, name: &str) -> Result<(), String> {
        self.rows = s.take_rows(&format!("{name}.rows"))?;
        Ok(())
    }

    fn tables(&self) -> Vec<ExtraTable> {
        let mut header = vec!["step".to_string()];
        if self.epoch.is_some() {
            header.push("epoch".into());
        }
        header.extend((0..self.width).map(|j| format!("n{j}")));
        vec![ExtraTable {
            file: "neuron_norms.csv".into(),
            header,
            rows: self.rows.clone(),
        }]
    }

    fn memory_bytes(&self) -> f64 {
        8.0 * self.width as f64 * self.evals as f64
    }
}
