//! Dense and sparse subnetworks of a one-hidden-layer network f(x) = u^T act(W x + b) + c with one
//! output (Merrill, Tsilivis, Shukla 2023). Neurons are ranked by the norm of their incoming weights;
//! the top-m subnetwork keeps their activations and zeroes the others'.
//!
//! Columns (on the `eval.sparsity_every` schedule: every so many epochs, or evaluations; NaN between):
//! - `effective_sparsity`: the smallest m whose top-m subnetwork gives the full network's prediction
//!   (its sign) on every training example, by scanning every m, not assuming monotonicity;
//! - `sensitivity`: how many of the n input bits flip the output's sign, averaged over the test set.
//!
//! At the end of training (tables and summary fields):
//! - `subnetworks.csv`: at every evaluation, the mean norm and the faithfulness (fraction of inputs
//!   where the masked network's sign equals the full one's) on train and test of the generalising
//!   subnetwork (the final checkpoint's top-m, m its effective sparsity), its complement and a random
//!   control of the same size drawn from the complement;
//! - `generalising_neurons.csv`: each generalising neuron's norm, output weight and share of its
//!   incoming weight mass on the task's relevant bits (sparse parity) against the rest;
//! - `largest_neuron.csv`: the incoming weights of the largest-norm neuron at the memorisation
//!   checkpoint (first evaluation with train accuracy > 0.98) and at the end;
//! - summary: `memorization_epoch`, `test_jump_epoch` (first evaluation with test accuracy at the
//!   phase threshold), `final_subnetwork_size`, `memorization_sparsity`, `sparsity_drop_factor`
//!   (steps instead of epochs for step-based runs).

use super::loss_accuracy::loss_and_accuracy;
use super::neuron_norms::norms;
use super::{EvalContext, Probe, ProbeSetup};
use crate::files::ExtraTable;
use crate::model::StackInput;
use crate::ops::Activation;
use crate::seed::{Stream, rng};
use crate::snapshot::Snapshot as State;
use crate::task::Features;
use crate::task::sparse_parity::SparseParity;
use rand::seq::SliceRandom;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let stack = s.model.stack()?;
    let [first, second] = stack.layers.as_slice() else {
        return None;
    };
    if !matches!(stack.input, StackInput::Dense { .. }) || second.d_out != 1 {
        return None;
    }
    let relevant = s
        .config
        .task
        .get::<SparseParity>()
        .map(|t| t.relevant_bits(s.config.seed));
    let evals = crate::schedule::config_eval_steps(s.config).len();
    Some(Box::new(Subnetworks {
        names: [
            first.w.clone(),
            first.b.clone().unwrap_or_default(),
            second.w.clone(),
            second.b.clone().unwrap_or_default(),
        ],
        d_in: first.d_in,
        width: first.d_out,
        act: stack.act_fn,
        per_epoch: s.config.steps_per_epoch(),
        every: s.config.eval.sparsity_every,
        threshold: s.config.phase.acc_threshold,
        seed: s.config.seed,
        relevant,
        evals,
        n_eval: 0,
        scratch: Scratch::default(),
        snapshots: Vec::new(),
        rows: Vec::new(),
        neurons: Vec::new(),
        largest: Vec::new(),
        summary: Vec::new(),
    }))
}

/// One evaluation's network and accuracies.
struct Snapshot {
    step: usize,
    net: Net,
    train_acc: f64,
    val_acc: f64,
}

/// A one-hidden-layer network with one output, in f64 (weights kept as f32 between evaluations).
#[derive(Clone)]
pub struct Net {
    /// Row-major [d_in, width]: column j is neuron j's incoming weights.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub u: Vec<f32>,
    pub c: f64,
    pub d_in: usize,
    pub width: usize,
    pub act: Activation,
}

fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// A sum in eight lanes (it vectorises; the order differs from a plain left-to-right sum).
fn lanes_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Buffers reused across evaluations (the contributions of a 1000-sample split are 8 MB).
#[derive(Default)]
pub struct Scratch {
    w: Vec<f64>,
    z: Vec<f64>,
}

impl Net {
    /// Pre-activations X W + b of `n` inputs (row-major [n, d_in]) as [n, width].
    pub fn pre(&self, x: &[f64], n: usize) -> Vec<f64> {
        let mut s = Scratch::default();
        self.pre_into(x, n, &mut s);
        s.z
    }

    fn pre_into(&self, x: &[f64], n: usize, s: &mut Scratch) {
        s.w.clear();
        s.w.extend(self.w.iter().map(|&v| v as f64));
        s.z.resize(n * self.width, 0.0);
        crate::host::mm(&mut s.z, x, &s.w, n, self.d_in, self.width);
        for row in s.z.chunks_mut(self.width) {
            for (v, &b) in row.iter_mut().zip(&self.b) {
                *v += b as f64;
            }
        }
    }

    /// Each neuron's contribution u_j act(z_j) to each of the `n` outputs, [n, width].
    pub fn contributions(&self, x: &[f64], n: usize) -> Vec<f64> {
        let mut s = Scratch::default();
        self.contributions_into(x, n, &mut s);
        s.z
    }

    /// [`Net::contributions`] into `s.z`.
    pub fn contributions_into(&self, x: &[f64], n: usize, s: &mut Scratch) {
        self.pre_into(x, n, s);
        let act = self.act;
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for row in s.z.chunks_mut(self.width) {
                    for (v, &u) in row.iter_mut().zip(&self.u) {
                        *v = u as f64 * act.apply_f64(*v);
                    }
                }
            },
        );
    }

    /// Neurons by the norm of their incoming weights, largest first (ties by index).
    pub fn ranking(&self) -> (Vec<usize>, Vec<f64>) {
        let w: Vec<f64> = self.w.iter().map(|&v| v as f64).collect();
        let norm = norms(&w, self.d_in, self.width);
        let mut order: Vec<usize> = (0..self.width).collect();
        order.sort_by(|&a, &b| norm[b].total_cmp(&norm[a]).then(a.cmp(&b)));
        (order, norm)
    }

    /// The smallest m whose top-m subnetwork (in `order`) predicts every one of the `n` inputs as
    /// the full network does, whose contributions are `c`. Every m is checked.
    pub fn effective_sparsity(&self, c: &[f64], n: usize, order: &[usize]) -> usize {
        let w = self.width;
        let mut disagree = vec![0usize; w + 1];
        let mut prefix = vec![0.0; w + 1];
        for row in c.chunks(w).take(n) {
            prefix[0] = self.c;
            for (m, &j) in order.iter().enumerate() {
                prefix[m + 1] = prefix[m] + row[j];
            }
            // the full network sums in the same order, so m = width always agrees
            let full = sign(prefix[w]);
            for (d, &p) in disagree.iter_mut().zip(&prefix) {
                *d += usize::from(sign(p) != full);
            }
        }
        disagree.iter().position(|&d| d == 0).unwrap_or(w)
    }

    /// The fraction of the inputs whose masked output (neurons with `keep[j]`) has the full
    /// output's sign.
    pub fn faithfulness(&self, c: &[f64], n: usize, keep: &[bool]) -> f64 {
        let agree = c
            .chunks(self.width)
            .take(n)
            .filter(|row| {
                let full: f64 = row.iter().sum::<f64>() + self.c;
                let kept: f64 = row
                    .iter()
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| v)
                    .sum::<f64>()
                    + self.c;
                sign(full) == sign(kept)
            })
            .count();
        agree as f64 / n.max(1) as f64
    }

    /// Faithfulness of a small set `kept`, of its complement and of a small set `ctrl`, in one pass
    /// (the complement's output is the full one minus the set's).
    pub fn faithfulness_of(&self, c: &[f64], n: usize, kept: &[usize], ctrl: &[usize]) -> [f64; 3] {
        let mut agree = [0usize; 3];
        for row in c.chunks(self.width).take(n) {
            let total = lanes_sum(row);
            let g: f64 = kept.iter().map(|&j| row[j]).sum();
            let k: f64 = ctrl.iter().map(|&j| row[j]).sum();
            let full = sign(total + self.c);
            for (a, part) in agree.iter_mut().zip([g, total - g, k]) {
                *a += usize::from(sign(part + self.c) == full);
            }
        }
        agree.map(|a| a as f64 / n.max(1) as f64)
    }

    /// The mean number of input bits whose flip changes the output's sign.
    pub fn sensitivity(&self, x: &[f64], n: usize) -> f64 {
        let z = self.pre(x, n);
        let out = |z: &mut dyn Iterator<Item = f64>| -> f64 {
            z.zip(&self.u)
                .map(|(v, &u)| u as f64 * self.act.apply_f64(v))
                .sum::<f64>()
                + self.c
        };
        let mut flips = 0usize;
        for (i, zi) in z.chunks(self.width).enumerate() {
            let full = sign(out(&mut zi.iter().copied()));
            for bit in 0..self.d_in {
                let xb = x[i * self.d_in + bit];
                let wrow = &self.w[bit * self.width..(bit + 1) * self.width];
                let flipped = out(&mut zi.iter().zip(wrow).map(|(&v, &w)| v - 2.0 * xb * w as f64));
                flips += usize::from(sign(flipped) != full);
            }
        }
        flips as f64 / n.max(1) as f64
    }
}

pub struct Subnetworks {
    /// First layer W and b, second layer W and b ("" when a bias is absent).
    names: [String; 4],
    d_in: usize,
    width: usize,
    act: Activation,
    per_epoch: Option<usize>,
    every: usize,
    threshold: f64,
    seed: u64,
    relevant: Option<Vec<usize>>,
    evals: usize,
    n_eval: usize,
    scratch: Scratch,
    snapshots: Vec<Snapshot>,
    rows: Vec<Vec<f64>>,
    neurons: Vec<Vec<f64>>,
    largest: Vec<Vec<f64>>,
    summary: Vec<(String, Option<f64>)>,
}

fn dense(f: &Features) -> (&[f64], usize) {
    match f {
        Features::Dense { x, dim } => (x, x.len() / (*dim).max(1)),
        Features::Tokens(_) => (&[], 0),
    }
}

impl Subnetworks {
    fn net(&self, c: &EvalContext<'_>) -> Option<Net> {
        let get = |name: &str| -> Option<Vec<f32>> {
            if name.is_empty() {
                return None;
            }
            Some(c.params.get(name)?.iter().map(|&v| v as f32).collect())
        };
        Some(Net {
            w: get(&self.names[0])?,
            b: get(&self.names[1]).unwrap_or_else(|| vec![0.0; self.width]),
            u: get(&self.names[2])?,
            c: get(&self.names[3]).map_or(0.0, |v| v[0] as f64),
            d_in: self.d_in,
            width: self.width,
            act: self.act,
        })
    }

    /// Whether this evaluation is on the probe's schedule.
    fn due(&self, step: usize) -> bool {
        match self.per_epoch {
            Some(per) => step.is_multiple_of(per * self.every),
            None => (self.n_eval - 1).is_multiple_of(self.every),
        }
    }

    fn time(&self, step: usize) -> f64 {
        self.per_epoch
            .map_or(step as f64, |per| step as f64 / per as f64)
    }
}

impl Probe for Subnetworks {
    fn columns(&self) -> Vec<String> {
        ["effective_sparsity", "sensitivity"]
            .map(String::from)
            .to_vec()
    }

    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        self.n_eval += 1;
        let Some(net) = self.net(c) else {
            return vec![f64::NAN; 2];
        };
        let (_, train_acc) =
            loss_and_accuracy(c.loss, c.encoding, &c.data.train, c.train_out, c.d_out);
        let (_, val_acc) = loss_and_accuracy(c.loss, c.encoding, &c.data.val, c.val_out, c.d_out);
        let mut out = vec![f64::NAN; 2];
        if self.due(c.step) {
            let (x, n) = dense(&c.data.train.x);
            let (order, _) = net.ranking();
            net.contributions_into(x, n, &mut self.scratch);
            out[0] = net.effective_sparsity(&self.scratch.z, n, &order) as f64;
            let (xt, nt) = dense(&c.data.val.x);
            out[1] = net.sensitivity(xt, nt);
        }
        self.snapshots.push(Snapshot {
            step: c.step,
            net,
            train_acc,
            val_acc,
        });
        out
    }

    fn finish(&mut self, c: &EvalContext<'_>) {
        let Some(last) = self.net(c) else {
            return;
        };
        let (x, n) = dense(&c.data.train.x);
        let (xt, nt) = dense(&c.data.val.x);
        let (order, norm) = last.ranking();
        last.contributions_into(x, n, &mut self.scratch);
        let m = last.effective_sparsity(&self.scratch.z, n, &order);
        let mut generalising = vec![false; self.width];
        for &j in &order[..m] {
            generalising[j] = true;
        }
        let mut rest: Vec<usize> = (0..self.width).filter(|&j| !generalising[j]).collect();
        rest.shuffle(&mut rng(self.seed, Stream::Control));
        let mut control = vec![false; self.width];
        for &j in rest.iter().take(m) {
            control[j] = true;
        }
        let complement: Vec<bool> = generalising.iter().map(|g| !g).collect();
        let (kept, ctrl): (Vec<usize>, Vec<usize>) =
            (order[..m].to_vec(), rest.iter().take(m).copied().collect());
        for s in &self.snapshots {
            let w: Vec<f64> = s.net.w.iter().map(|&v| v as f64).collect();
            let nrm = norms(&w, self.d_in, self.width);
            let mean = |keep: &[bool]| {
                let k = keep.iter().filter(|&&k| k).count();
                nrm.iter()
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| v)
                    .sum::<f64>()
                    / k.max(1) as f64
            };
            let mut row = vec![s.step as f64];
            if self.per_epoch.is_some() {
                row.push(self.time(s.step));
            }
            row.extend([&generalising, &complement, &control].map(|k| mean(k)));
            for (xs, count) in [(x, n), (xt, nt)] {
                s.net.contributions_into(xs, count, &mut self.scratch);
                row.extend(s.net.faithfulness_of(&self.scratch.z, count, &kept, &ctrl));
            }
            self.rows.push(row);
        }
        for &j in &order[..m] {
            let col: Vec<f64> = (0..self.d_in)
                .map(|i| last.w[i * self.width + j].abs() as f64)
                .collect();
            let total: f64 = col.iter().sum();
            let on = self.relevant.as_ref().map_or(f64::NAN, |r| {
                r.iter().map(|&i| col[i]).sum::<f64>() / total.max(f64::MIN_POSITIVE)
            });
            self.neurons
                .push(vec![j as f64, norm[j], last.u[j] as f64, on, 1.0 - on]);
        }
        let memorization = self.snapshots.iter().find(|s| s.train_acc > 0.98);
        let jump = self.snapshots.iter().find(|s| s.val_acc >= self.threshold);
        let mem_sparsity = memorization.map(|s| {
            let (o, _) = s.net.ranking();
            s.net.contributions_into(x, n, &mut self.scratch);
            s.net.effective_sparsity(&self.scratch.z, n, &o)
        });
        let top = |net: &Net| net.ranking().0[0];
        let at_end = top(&last);
        if let Some(mem) = memorization {
            let at_mem = top(&mem.net);
            for bit in 0..self.d_in {
                let relevant = self
                    .relevant
                    .as_ref()
                    .map_or(f64::NAN, |r| f64::from(u8::from(r.contains(&bit))));
                self.largest.push(vec![
                    bit as f64,
                    relevant,
                    mem.net.w[bit * self.width + at_mem] as f64,
                    last.w[bit * self.width + at_end] as f64,
                ]);
            }
            self.summary
                .push(("largest_neuron_memorization".into(), Some(at_mem as f64)));
        }
        let unit = if self.per_epoch.is_some() {
            "epoch"
        } else {
            "step"
        };
        self.summary.extend([
            (
                format!("memorization_{unit}"),
                memorization.map(|s| self.time(s.step)),
            ),
            (format!("test_jump_{unit}"), jump.map(|s| self.time(s.step))),
            ("final_subnetwork_size".into(), Some(m as f64)),
            (
                "memorization_sparsity".into(),
                mem_sparsity.map(|v| v as f64),
            ),
            (
                "sparsity_drop_factor".into(),
                mem_sparsity.map(|v| v as f64 / m.max(1) as f64),
            ),
            ("largest_neuron_final".into(), Some(at_end as f64)),
        ]);
    }

    /// The evaluations so far and each one's network (weights as the f32 they are held in).
    fn save(&self, s: &mut State, name: &str) {
        s.set(format!("{name}.n_eval"), self.n_eval);
        let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let per: Vec<Vec<f64>> = self
            .snapshots
            .iter()
            .map(|sn| [sn.step as f64, sn.train_acc, sn.val_acc, sn.net.c].to_vec())
            .collect();
        s.put_rows(&format!("{name}.snapshots"), &per);
        for (key, pick) in [
            ("w", (|n: &Net| &n.w[..]) as fn(&Net) -> &[f32]),
            ("b", |n: &Net| &n.b[..]),
            ("u", |n: &Net| &n.u[..]),
        ] {
            let rows: Vec<Vec<f64>> = self.snapshots.iter().map(|sn| f(pick(&sn.net))).collect();
            s.put_rows(&format!("{name}.{key}"), &rows);
        }
    }

    fn load(&mut self, s: &mut State, name: &str) -> Result<(), String> {
        self.n_eval = s.get(&format!("{name}.n_eval"))?;
        let per = s.take_rows(&format!("{name}.snapshots"))?;
        let mut take = |key: &str| -> Result<Vec<Vec<f32>>, String> {
            Ok(s.take_rows(&format!("{name}.{key}"))?
                .into_iter()
                .map(|r| r.into_iter().map(|x| x as f32).collect())
                .collect())
        };
        let (w, b, u) = (take("w")?, take("b")?, take("u")?);
        self.snapshots = per
            .into_iter()
            .zip(w.into_iter().zip(b).zip(u))
            .map(|(p, ((w, b), u))| Snapshot {
                step: p[0] as usize,
                train_acc: p[1],
                val_acc: p[2],
                net: Net {
                    w,
                    b,
                    u,
                    c: p[3],
                    d_in: self.d_in,
                    width: self.width,
                    act: self.act,
                },
            })
            .collect();
        Ok(())
    }

    fn tables(&self) -> Vec<ExtraTable> {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut header = vec!["step".to_string()];
        if self.per_epoch.is_some() {
            header.push("epoch".into());
        }
        header.extend(h(&[
            "norm_generalising",
            "norm_complement",
            "norm_control",
            "faithfulness_train_generalising",
            "faithfulness_train_complement",
            "faithfulness_train_control",
            "faithfulness_test_generalising",
            "faithfulness_test_complement",
            "faithfulness_test_control",
        ]));
        vec![
            ExtraTable {
                file: "subnetworks.csv".into(),
                header,
                rows: self.rows.clone(),
            },
            ExtraTable {
                file: "generalising_neurons.csv".into(),
                header: h(&[
                    "neuron",
                    "norm",
                    "output_weight",
                    "relevant_mass",
                    "rest_mass",
                ]),
                rows: self.neurons.clone(),
            },
            ExtraTable {
                file: "largest_neuron.csv".into(),
                header: h(&["bit", "relevant", "w_memorization", "w_final"]),
                rows: self.largest.clone(),
            },
        ]
    }

    fn summary(&self) -> Vec<(String, Option<f64>)> {
        self.summary.clone()
    }

    /// The weights of every evaluation, as f32.
    fn memory_bytes(&self) -> f64 {
        4.0 * ((self.d_in + 2) * self.width) as f64 * self.evals as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network computing the parity of 3 of 6 bits with 8 neurons (one per pattern s of the
    /// relevant bits: w = s, b = -2, u = parity(s), so only the neuron matching x fires) among
    /// neurons that never fire: its effective sparsity is 8.
    #[test]
    fn a_hand_built_parity_network_has_effective_sparsity_8() {
        let (d_in, width) = (6, 20);
        let mut w = vec![0.0f32; d_in * width];
        let mut b = vec![-1.0f32; width];
        let mut u = vec![0.0f32; width];
        for p in 0..8 {
            let j = 3 + 2 * p; // spread among the dead neurons
            let s: Vec<f32> = (0..3)
                .map(|bit| if p >> bit & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            for bit in 0..3 {
                w[bit * width + j] = s[bit];
            }
            b[j] = -2.0;
            u[j] = s.iter().product();
        }
        // dead neurons: small weights on the irrelevant bits, never above the threshold
        for j in (0..width).filter(|j| u[*j] == 0.0) {
            w[4 * width + j] = 0.3;
        }
        let net = Net {
            w,
            b,
            u,
            c: 0.0,
            d_in,
            width,
            act: Activation::Relu,
        };
        let x: Vec<f64> = (0..64)
            .flat_map(|s| (0..d_in).map(move |j| if s >> j & 1 == 1 { 1.0 } else { -1.0 }))
            .collect();
        let c = net.contributions(&x, 64);
        // the network computes the parity
        for (i, row) in c.chunks(width).enumerate() {
            let f: f64 = row.iter().sum();
            assert_eq!(f, x[i * 6] * x[i * 6 + 1] * x[i * 6 + 2]);
        }
        let (order, _) = net.ranking();
        assert_eq!(net.effective_sparsity(&c, 64, &order), 8);
        // faithfulness: all neurons 1, none 0 (every output is nonzero, the empty net gives 0)
        assert_eq!(net.faithfulness(&c, 64, &vec![true; width]), 1.0);
        assert_eq!(net.faithfulness(&c, 64, &vec![false; width]), 0.0);
        // each of the 3 relevant bits flips the parity; the others change nothing
        assert_eq!(net.sensitivity(&x, 64), 3.0);
    }
}
