//! Attention patterns on request: with `eval.attention_samples = N`, `attention.csv` holds every
//! layer's and head's final attention pattern on the first N validation samples (the training
//! samples when there is no validation split): `layer, head, sample, query, key, weight`, `sample`
//! indexing the task's equations as in `split.csv`. Read from the `blocks.{l}.attn.hook_pattern`
//! hook points of a forward pass after training.

use super::{EvalContext, Probe, ProbeSetup, Which};
use crate::files::ExtraTable;
use crate::model::Hooks;
use crate::model::transformer::TransformerConfig;
use crate::shape::Input;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let n = s.config.eval.attention_samples;
    let t = s.config.model.get::<TransformerConfig>()?;
    let Input::Tokens { positions, .. } = s.config.task.shape().input else {
        return None;
    };
    if n == 0 {
        return None;
    }
    let names = (0..t.n_layers)
        .map(|l| format!("blocks.{l}.attn.hook_pattern"))
        .collect();
    Some(Box::new(Attention {
        n,
        names,
        heads: t.n_heads,
        positions,
        rows: Vec::new(),
    }))
}

pub struct Attention {
    n: usize,
    names: Vec<String>,
    heads: usize,
    positions: usize,
    rows: Vec<Vec<f64>>,
}

impl Probe for Attention {
    fn columns(&self) -> Vec<String> {
        Vec::new()
    }

    fn compute(&mut self, _: &EvalContext<'_>) -> Vec<f64> {
        Vec::new()
    }

    fn finish(&mut self, ctx: &EvalContext<'_>) {
        let which = if ctx.data.val.is_empty() {
            Which::Train
        } else {
            Which::Val
        };
        let split = which.of(ctx.data);
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let mut hooks = Hooks::capture(&names);
        ctx.forward(which, None, &mut hooks);
        let (h, p) = (self.heads, self.positions);
        let per = h * p * p;
        for (l, name) in self.names.iter().enumerate() {
            let Some(pat) = hooks.host(name) else {
                continue;
            };
            for k in 0..self.n.min(split.len()) {
                for hh in 0..h {
                    for i in 0..p {
                        for j in 0..p {
                            self.rows.push(vec![
                                l as f64,
                                hh as f64,
                                split.sample[k] as f64,
                                i as f64,
                                j as f64,
                                pat[k * per + (hh * p + i) * p + j],
                            ]);
                        }
                    }
                }
            }
        }
    }

    fn tables(&self) -> Vec<ExtraTable> {
        if self.rows.is_empty() {
            return Vec::new();
        }
        vec![ExtraTable {
            file: "attention.csv".into(),
            header: ["layer", "head", "sample", "query", "key", "weight"]
                .map(String::from)
                .to_vec(),
            rows: self.rows.clone(),
        }]
    }
}
