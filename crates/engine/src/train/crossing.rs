//! Exact crossing steps: the first step at which train and validation accuracy reach the phase
//! threshold, not the first evaluation. An evaluation that finds an accuracy at or past the
//! threshold for the first time brackets its crossing between the previous evaluation and itself;
//! the trainer then replays the steps of that bracket from the state it kept at the previous
//! evaluation, measuring accuracy after every step, and returns to where it was. Training is
//! deterministic (the resumed-run tests show it bit for bit), so the replay takes the same steps,
//! and at the bracket's end it reproduces the evaluation's own accuracy. The state is kept only
//! while a crossing is pending and the next evaluation is more than one step away.

use super::Trainer;
use crate::probe::loss_accuracy::accuracy;
use crate::snapshot::Snapshot;

/// The accuracies whose crossing is refined, in [`super::Member::crossings`] order.
const METRICS: [&str; 2] = ["train_acc", "val_acc"];

impl Trainer {
    fn crossings_pending(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.active && m.crossings.iter().any(Option::is_none))
    }

    /// After the evaluation at `step` recorded its rows.
    pub(super) fn refine_crossings(&mut self, step: usize) {
        let prev = self.prev.as_ref().map(|(p, _)| *p);
        let mut brackets = Vec::new();
        for (m, member) in self.members.iter_mut().enumerate() {
            let Some(row) = member.rows.last().filter(|r| r[0] as usize == step) else {
                continue;
            };
            let thr = member.config.phase.acc_threshold;
            for (k, name) in METRICS.iter().enumerate() {
                let col = member.columns.iter().position(|c| c == name);
                if member.crossings[k].is_some() || !col.is_some_and(|i| row[i] >= thr) {
                    continue;
                }
                match prev {
                    Some(p) if p + 1 < step => brackets.push((m, k)),
                    // the first evaluation, or one step after the last: exact as it is
                    _ => member.crossings[k] = Some(step),
                }
            }
        }
        if !brackets.is_empty() {
            self.replay(step, &brackets);
        }
        let next_far = self.evals.front().is_some_and(|&n| n > step + 1);
        self.prev = (next_far && self.crossings_pending()).then(|| {
            let mut s = Snapshot::default();
            self.save_bare(&mut s, "");
            (step, s)
        });
    }

    /// Steps prev + 1 ..= `step` again from the previous evaluation's state, each followed by the
    /// accuracies of the members in `brackets` (member, metric); then back to the state at `step`.
    fn replay(&mut self, step: usize, brackets: &[(usize, usize)]) {
        let Some((p, mut prev)) = self.prev.take() else {
            return;
        };
        let mut now = Snapshot::default();
        self.save_bare(&mut now, "");
        let mut found: Vec<Option<usize>> = vec![None; brackets.len()];
        if self.load_bare(&mut prev).is_ok() {
            let mut wanted = vec![false; self.members.len()];
            for &(m, _) in brackets {
                wanted[m] = true;
            }
            for t in p + 1..=step {
                self.step(t);
                let acc = self.accuracies(&wanted);
                for (i, &(m, k)) in brackets.iter().enumerate() {
                    let thr = self.members[m].config.phase.acc_threshold;
                    if found[i].is_none() && acc[m][k] >= thr {
                        found[i] = Some(t);
                    }
                }
                if found.iter().all(Option::is_some) {
                    break;
                }
            }
        }
        self.load_bare(&mut now)
            .expect("the state saved a moment ago reads back");
        for (i, &(m, k)) in brackets.iter().enumerate() {
            self.members[m].crossings[k] = Some(found[i].unwrap_or(step));
        }
    }

    /// Train and validation accuracy of the `wanted` members now (NaN for the others).
    fn accuracies(&mut self, wanted: &[bool]) -> Vec<[f64; 2]> {
        let outs = self.outputs(wanted);
        let d_out = outs.d_out;
        self.members
            .iter()
            .enumerate()
            .map(|(m, member)| {
                if !wanted[m] {
                    return [f64::NAN; 2];
                }
                let (train, val) = outs.of(m, &member.data);
                let acc = |split, out: &[f64]| accuracy(&member.encoding, split, out, d_out);
                [acc(&member.data.train, train), acc(&member.data.val, val)]
            })
            .collect()
    }
}
