//! A training call saved at a step and continued from there. The saved state holds everything a
//! step reads that is not a function of the config: parameters (and the initial ones), the
//! optimiser's moments and filter histories, each member's batch stream, record, stop or divergence
//! and its probes' histories. Dropout masks and online batches are functions of (seed, step), and
//! the datasets of the config, so they are rebuilt. A continued run therefore takes the same steps
//! on the same numbers as the run that was never stopped.

use super::Trainer;
use crate::error::EngineError;
use crate::params::Buf;
use crate::snapshot::Snapshot;

impl Trainer {
    /// The whole state after step `step` (and its evaluation, when it had one); `wall` is the
    /// training time so far, in seconds.
    pub fn save(&self, step: usize, wall: f64) -> Snapshot {
        let mut s = Snapshot::default();
        s.set("format", "groklab training state 1");
        s.set("step", step);
        s.set("wall_seconds", wall);
        s.set("members", self.members.len());
        self.save_bare(&mut s, "");
        for (m, init) in self.initial.iter().enumerate() {
            s.put_rows(&format!("initial.{m}"), init);
        }
        for (m, member) in self.members.iter().enumerate() {
            let at = format!("member.{m}");
            s.set(format!("{at}.config"), member.config.to_toml());
            s.put_rows(&format!("{at}.rows"), &member.rows);
            s.set_opt(format!("{at}.train_crossing"), member.crossings[0]);
            s.set_opt(format!("{at}.val_crossing"), member.crossings[1]);
            for (i, p) in member.probes.iter().enumerate() {
                p.save(&mut s, &format!("{at}.probe.{i}"));
            }
        }
        // the state at the last evaluation, which a crossing found at the next one is refined from
        if let Some((at, prev)) = &self.prev {
            s.set("prev.step", at);
            for (k, v) in &prev.arrays {
                s.put(format!("prev.{k}"), v.clone());
            }
            for (k, v) in &prev.fields {
                s.set(format!("prev.{k}"), v);
            }
        }
        s
    }

    /// What replaying steps needs, under `prefix`: the parameters, the optimiser, the batch
    /// streams and each member's flags.
    pub(super) fn save_bare(&self, s: &mut Snapshot, prefix: &str) {
        let mut b = Snapshot::default();
        for (k, v) in self.params.values.iter().enumerate() {
            b.put(format!("params.{k}"), v.to_f64(0..v.len()));
        }
        self.optimizer.save(&mut b);
        self.sampler.save(&mut b);
        for (m, member) in self.members.iter().enumerate() {
            let at = format!("member.{m}");
            b.set(format!("{at}.active"), member.active);
            b.set_opt(format!("{at}.diverged_at"), member.diverged_at);
            b.set_opt(format!("{at}.stopped_at"), member.stopped_at);
            b.set(format!("{at}.last_step"), member.last_step);
        }
        for (k, v) in b.arrays {
            s.put(format!("{prefix}{k}"), v);
        }
        for (k, v) in b.fields {
            s.set(format!("{prefix}{k}"), v);
        }
    }

    /// Back from [`Trainer::save_bare`] (without its prefix).
    pub(super) fn load_bare(&mut self, s: &mut Snapshot) -> Result<(), String> {
        let precision = self.params.precision;
        for k in 0..self.params.values.len() {
            let v = s.take(&format!("params.{k}"))?;
            if v.len() != self.params.values[k].len() {
                return Err(format!("parameter {k} has another size in the state"));
            }
            self.params.values[k] = Buf::from_f64(v, precision);
        }
        self.optimizer.load(s, precision)?;
        self.sampler.load(s)?;
        for (m, member) in self.members.iter_mut().enumerate() {
            let at = format!("member.{m}");
            member.active = s.get(&format!("{at}.active"))?;
            member.diverged_at = s.get_opt(&format!("{at}.diverged_at"))?;
            member.stopped_at = s.get_opt(&format!("{at}.stopped_at"))?;
            member.last_step = s.get(&format!("{at}.last_step"))?;
        }
        Ok(())
    }

    /// Continues from a saved state of the same configs: returns its step and training time.
    pub fn load(&mut self, mut s: Snapshot) -> Result<(usize, f64), EngineError> {
        let bad = |why: String| EngineError::Resume(why);
        let step: usize = s.get("step").map_err(bad)?;
        let wall: f64 = s.get("wall_seconds").map_err(bad)?;
        let members: usize = s.get("members").map_err(bad)?;
        if members != self.members.len() {
            return Err(bad(format!(
                "the state holds {members} members, the run {}",
                self.members.len()
            )));
        }
        if step > self.steps {
            return Err(bad(format!(
                "the state is at step {step}, past the run's {} steps",
                self.steps
            )));
        }
        for (m, member) in self.members.iter().enumerate() {
            let saved: String = s.get(&format!("member.{m}.config")).map_err(bad)?;
            if saved != member.config.to_toml() {
                return Err(bad(format!(
                    "member {m}'s state was saved by another config (config.toml changed since)"
                )));
            }
        }
        self.load_parts(&mut s).map_err(bad)?;
        self.done = Some(step);
        self.wall_before = wall;
        while self.evals.front().is_some_and(|&e| e <= step) {
            self.evals.pop_front();
        }
        Ok((step, wall))
    }

    fn load_parts(&mut self, s: &mut Snapshot) -> Result<(), String> {
        // the previous evaluation's state first: its names carry a prefix
        self.prev = match s.get_opt::<usize>("prev.step")? {
            Some(at) => {
                let mut prev = Snapshot::default();
                for (k, v) in std::mem::take(&mut s.arrays) {
                    match k.strip_prefix("prev.") {
                        Some(name) => prev.put(name, v),
                        None => s.put(k, v),
                    }
                }
                for (k, v) in s.fields.clone() {
                    if let Some(name) = k.strip_prefix("prev.") {
                        prev.set(name, v);
                    }
                }
                Some((at, prev))
            }
            None => None,
        };
        self.load_bare(s)?;
        for (m, init) in self.initial.iter_mut().enumerate() {
            *init = s.take_rows(&format!("initial.{m}"))?;
        }
        for (m, member) in self.members.iter_mut().enumerate() {
            let at = format!("member.{m}");
            member.rows = s.take_rows(&format!("{at}.rows"))?;
            member.crossings = [
                s.get_opt(&format!("{at}.train_crossing"))?,
                s.get_opt(&format!("{at}.val_crossing"))?,
            ];
            for (i, p) in member.probes.iter_mut().enumerate() {
                p.load(s, &format!("{at}.probe.{i}"))?;
            }
        }
        Ok(())
    }
}
