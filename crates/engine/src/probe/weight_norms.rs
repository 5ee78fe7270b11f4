//! `wnorm`, the L2 norm of all parameters, and `wnorm_<group>` for each optimiser group (Liu et
//! al.'s weight-norm curves). Every run has them.

use super::{EvalContext, Probe, ProbeSetup};

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let groups: Vec<String> = s.config.optim.keys().cloned().collect();
    let owner = s
        .model
        .specs()
        .iter()
        .map(|spec| {
            s.config
                .group_of(&spec.name)
                .and_then(|g| groups.iter().position(|x| x == g))
                .unwrap_or(0)
        })
        .collect();
    Some(Box::new(WeightNorms { groups, owner }))
}

pub struct WeightNorms {
    groups: Vec<String>,
    /// Group index of each parameter, in spec order.
    owner: Vec<usize>,
}

impl Probe for WeightNorms {
    fn columns(&self) -> Vec<String> {
        let mut c = vec!["wnorm".to_string()];
        c.extend(self.groups.iter().map(|g| format!("wnorm_{g}")));
        c
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let mut per = vec![0.0; self.groups.len()];
        for (k, &g) in self.owner.iter().enumerate() {
            per[g] += c.params.norm_sq(k);
        }
        let mut out = vec![per.iter().sum::<f64>().sqrt()];
        out.extend(per.iter().map(|x| x.sqrt()));
        out
    }
}
