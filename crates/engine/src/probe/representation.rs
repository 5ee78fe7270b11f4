//! The representation of the addition task (Liu et al. 2022): `rqi`, the representation quality
//! index of the embeddings, and `acc_hat` / `acc_hat_val`, the accuracy the parallelograms of the
//! embeddings predict over all pairs and over held-out pairs; and the embeddings themselves at every
//! evaluation (`embeddings.csv`: step, token, e0, e1, ...). Made for addition runs of a model with
//! an `embed.W_E`.

use super::{EvalContext, Probe, ProbeSetup};
use crate::files::ExtraTable;
use crate::snapshot::Snapshot;
use crate::task::addition::Addition;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    s.config.task.get::<Addition>()?;
    let spec = s.model.specs().iter().find(|p| p.name == "embed.W_E")?;
    Some(Box::new(Representation {
        d: spec.shape[1],
        delta: s.config.eval.rqi_delta,
        snapshots: Vec::new(),
    }))
}

pub struct Representation {
    d: usize,
    delta: f64,
    /// Rows of `embeddings.csv`.
    snapshots: Vec<Vec<f64>>,
}

/// One member's embeddings as p vectors of d, None without `embed.W_E`.
pub fn embeddings(c: &EvalContext<'_>) -> Option<Vec<Vec<f64>>> {
    let spec = c.params.specs().iter().find(|s| s.name == "embed.W_E")?;
    let d = spec.shape[1];
    Some(
        c.params
            .get("embed.W_E")?
            .chunks(d)
            .map(<[f64]>::to_vec)
            .collect(),
    )
}

impl Probe for Representation {
    fn columns(&self) -> Vec<String> {
        ["rqi", "acc_hat", "acc_hat_val"].map(String::from).to_vec()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        use groklab_theory::addition as th;
        let Some(e) = embeddings(c) else {
            return vec![f64::NAN; 3];
        };
        let r = th::rqi(&e, self.delta);
        let acc = th::predicted_accuracy(&e, &c.data.train_mask(), self.delta);
        for (tok, v) in e.iter().enumerate() {
            let mut row = vec![c.step as f64, tok as f64];
            row.extend(v);
            self.snapshots.push(row);
        }
        vec![r, acc.all, acc.val]
    }
    fn save(&self, s: &mut Snapshot, name: &str) {
        s.put_rows(&format!("{name}.snapshots"), &self.snapshots);
    }
    fn load(&mut self, s: &mut Snapshot, name: &str) -> Result<(), String> {
        self.snapshots = s.take_rows(&format!("{name}.snapshots"))?;
        Ok(())
    }
    fn tables(&self) -> Vec<ExtraTable> {
        let mut header = vec!["step".to_string(), "token".to_string()];
        header.extend((0..self.d).map(|k| format!("e{k}")));
        vec![ExtraTable {
            file: "embeddings.csv".into(),
            header,
            rows: self.snapshots.clone(),
        }]
    }
}
