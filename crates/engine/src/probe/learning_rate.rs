//! `lr_<group>`: the learning rate of each optimiser group at the evaluated step, as its schedule
//! (warm-up, decay) sets it: the rate of the update that produced the step (at step 0, of the
//! first update). Every run has them.

use super::{EvalContext, Probe, ProbeSetup};
use crate::config::GroupConfig;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    Some(Box::new(LearningRate {
        groups: s
            .config
            .optim
            .iter()
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect(),
        steps: s.config.train.steps,
    }))
}

pub struct LearningRate {
    groups: Vec<(String, GroupConfig)>,
    /// The schedules' horizon.
    steps: usize,
}

impl Probe for LearningRate {
    fn columns(&self) -> Vec<String> {
        self.groups.iter().map(|(k, _)| format!("lr_{k}")).collect()
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let t = c.step.max(1);
        self.groups
            .iter()
            .map(|(_, g)| g.schedule.lr(g.lr, t, self.steps))
            .collect()
    }
}
