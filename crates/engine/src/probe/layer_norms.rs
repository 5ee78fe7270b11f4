//! Per-layer weight norms for the binary-operation tasks: `norm_<layer>`, the L2 norm of every
//! parameter under each layer's name (the parameter name without its last segment: `embed`,
//! `pos_embed`, `blocks.0.attn`, `blocks.0.mlp`, `blocks.0.ln1`, `unembed`, `mlp.0`, ...).

use super::{EvalContext, Probe, ProbeSetup};

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    s.config.task.operands()?;
    let mut layers: Vec<String> = Vec::new();
    let owner = s
        .model
        .specs()
        .iter()
        .map(|spec| {
            let layer = spec
                .name
                .rsplit_once('.')
                .map_or(spec.name.as_str(), |(l, _)| l)
                .to_string();
            match layers.iter().position(|l| *l == layer) {
                Some(i) => i,
                None => {
                    layers.push(layer);
                    layers.len() - 1
                }
            }
        })
        .collect();
    Some(Box::new(LayerNorms { layers, owner }))
}

pub struct LayerNorms {
    layers: Vec<String>,
    /// Layer index of each parameter, in spec order.
    owner: Vec<usize>,
}

impl Probe for LayerNorms {
    fn columns(&self) -> Vec<String> {
        self.layers.iter().map(|l| format!("norm_{l}")).collect()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let mut per = vec![0.0; self.layers.len()];
        for (k, &l) in self.owner.iter().enumerate() {
            per[l] += c.params.norm_sq(k);
        }
        per.iter().map(|x| x.sqrt()).collect()
    }
}
