//! Batches: one member's samples gathered on the host ([`HostBatch`], what a kernel reads), the
//! inputs and training targets of M members stacked from them along a leading member axis (what the
//! trainer and the probes' own forward passes feed a burn model), and the sampler that picks each
//! member's minibatches from its own batch stream.

use crate::head::{Encoding, Target, TargetKind};
use crate::loss::{HostTargets, TargetTensor};
use crate::model::Inputs;
use crate::model::kernel::HostInputs;
use crate::params::Precision;
use crate::real::Real;
use crate::seed::{Stream, rng};
use crate::task::{Features, Split};
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// One member's samples on the host, in precision `E`: token ids per position or dense features,
/// and each sample's training target. Both paths gather their batches here: a kernel reads it as
/// it is, burn's path stacks the members' into tensors ([`batch`]).
#[derive(Debug, Clone, Default)]
pub struct HostBatch<E> {
    /// Token ids per position, each [B] (empty for dense inputs).
    pub tokens: Vec<Vec<usize>>,
    /// Features, row-major [B, dim] (empty for token inputs).
    pub x: Vec<E>,
    pub dim: usize,
    /// Class targets [B r] (r rows per sample: the answer and the tokens after it), or vector
    /// targets [B, d_target].
    pub classes: Vec<usize>,
    pub vectors: Vec<f64>,
    pub d_target: usize,
    /// Samples B.
    pub len: usize,
}

impl<E: Real> HostBatch<E> {
    /// The samples `rows` of `split` (all of it with None), with each sample's target of the kind
    /// the loss wants when `targets` is given; the buffers are reused.
    pub fn gather(
        &mut self,
        split: &Split,
        rows: Option<&[usize]>,
        targets: Option<(&Encoding, TargetKind)>,
    ) {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..split.len()).collect();
                &all
            }
        };
        self.len = rows.len();
        self.x.clear();
        match &split.x {
            Features::Tokens(t) => {
                self.tokens.resize(t.len(), Vec::new());
                for (to, pos) in self.tokens.iter_mut().zip(t) {
                    to.clear();
                    to.extend(rows.iter().map(|&k| pos[k]));
                }
            }
            Features::Dense { x, dim } => {
                self.tokens.clear();
                self.dim = *dim;
                for &k in rows {
                    self.x
                        .extend(x[k * dim..(k + 1) * dim].iter().map(|&v| E::of(v)));
                }
            }
        }
        self.classes.clear();
        self.vectors.clear();
        self.d_target = 0;
        if let Some((enc, kind)) = targets {
            for &k in rows {
                match enc.target(split, k, kind) {
                    Target::Class(c) => {
                        // one target per row the model reads: the answer, then the tokens after it
                        self.classes.push(c);
                        self.classes.extend_from_slice(&enc.after);
                    }
                    Target::Vector(v) => {
                        self.d_target = v.len();
                        self.vectors.extend_from_slice(v);
                    }
                }
            }
        }
    }

    /// The whole of `split`, with targets of the kind the loss wants.
    pub fn of(split: &Split, enc: &Encoding, kind: TargetKind) -> HostBatch<E> {
        let mut b = HostBatch::default();
        b.gather(split, None, Some((enc, kind)));
        b
    }

    pub fn inputs(&self) -> HostInputs<'_, E> {
        if self.tokens.is_empty() {
            HostInputs::Dense(&self.x)
        } else {
            HostInputs::Tokens(&self.tokens)
        }
    }

    pub fn targets(&self) -> HostTargets<'_> {
        if self.d_target > 0 {
            HostTargets::Vectors(&self.vectors)
        } else {
            HostTargets::Classes(&self.classes)
        }
    }
}

/// Inputs and targets of all members for one split or minibatch.
pub struct Batch {
    pub inputs: Inputs,
    pub targets: TargetTensor,
}

/// Every member's samples `rows[m]` of `splits[m]` on the host, with targets when asked for.
fn gather(
    splits: &[&Split],
    rows: &[Vec<usize>],
    targets: Option<(&[&Encoding], TargetKind)>,
) -> Vec<HostBatch<f64>> {
    splits
        .iter()
        .zip(rows)
        .enumerate()
        .map(|(m, (s, r))| {
            let mut h = HostBatch::default();
            h.gather(s, Some(r), targets.map(|(e, kind)| (e[m], kind)));
            h
        })
        .collect()
}

/// The inputs of samples `rows[m]` of `splits[m]` for every member m, stacked [M, B, ...].
pub fn inputs(
    splits: &[&Split],
    rows: &[Vec<usize>],
    device: &Device,
    precision: Precision,
) -> Inputs {
    stack_inputs(&gather(splits, rows, None), device, precision)
}

fn stack_inputs(hosts: &[HostBatch<f64>], device: &Device, precision: Precision) -> Inputs {
    let (m, b) = (hosts.len(), hosts[0].len);
    if hosts[0].tokens.is_empty() {
        let v: Vec<f64> = hosts.iter().flat_map(|h| h.x.iter().copied()).collect();
        return Inputs::Dense(Tensor::from_data(
            TensorData::new(v, [m, b, hosts[0].dim]),
            (device, precision.dtype()),
        ));
    }
    Inputs::Tokens(
        (0..hosts[0].tokens.len())
            .map(|pos| {
                let v: Vec<i32> = hosts
                    .iter()
                    .flat_map(|h| h.tokens[pos].iter().map(|&t| t as i32))
                    .collect();
                Tensor::<2, Int>::from_data(TensorData::new(v, [m, b]), device)
            })
            .collect(),
    )
}

fn stack_targets(
    hosts: &[HostBatch<f64>],
    kind: TargetKind,
    device: &Device,
    precision: Precision,
) -> TargetTensor {
    let (m, b) = (hosts.len(), hosts[0].len);
    match kind {
        TargetKind::Class => {
            let v: Vec<i32> = hosts
                .iter()
                .flat_map(|h| h.classes.iter().map(|&c| c as i32))
                .collect();
            // rows: b, or b r with tokens after the answer
            let rows = v.len() / m.max(1);
            TargetTensor::Classes(Tensor::from_data(TensorData::new(v, [m, rows, 1]), device))
        }
        TargetKind::Vector => {
            let v: Vec<f64> = hosts
                .iter()
                .flat_map(|h| h.vectors.iter().copied())
                .collect();
            let dim = hosts.iter().map(|h| h.d_target).max().unwrap_or(0);
            TargetTensor::Vectors(Tensor::from_data(
                TensorData::new(v, [m, b, dim]),
                (device, precision.dtype()),
            ))
        }
    }
}

/// Inputs and training targets (of the kind the loss wants) of samples `rows[m]` of `splits[m]`
/// for every member m, stacked [M, B, ...].
pub fn batch(
    splits: &[&Split],
    encodings: &[&Encoding],
    rows: &[Vec<usize>],
    kind: TargetKind,
    device: &Device,
    precision: Precision,
) -> Batch {
    let hosts = gather(splits, rows, Some((encodings, kind)));
    Batch {
        inputs: stack_inputs(&hosts, device, precision),
        targets: stack_targets(&hosts, kind, device, precision),
    }
}

/// Picks each member's next minibatch, reshuffling its training set whenever it runs out.
pub struct Sampler {
    rngs: Vec<ChaCha8Rng>,
    order: Vec<Vec<usize>>,
    pos: Vec<usize>,
    /// Epoch mode: an epoch's last batch is the remainder, never filled from the next epoch.
    epochs: bool,
}

impl Sampler {
    /// One batch stream per member seed, over `n` training samples; `epochs` makes every epoch's
    /// last batch the remainder.
    pub fn new(seeds: &[u64], n: usize, epochs: bool) -> Sampler {
        Sampler {
            order: vec![(0..n).collect(); seeds.len()],
            pos: vec![n; seeds.len()],
            rngs: seeds.iter().map(|&s| rng(s, Stream::Batches)).collect(),
            epochs,
        }
    }

    /// Into a run's saved state: each member's order, position and place in its random stream.
    pub fn save(&self, s: &mut crate::snapshot::Snapshot) {
        for (m, (order, rng)) in self.order.iter().zip(&self.rngs).enumerate() {
            s.put(
                format!("sampler.{m}.order"),
                order.iter().map(|&i| i as f64).collect(),
            );
            s.set(format!("sampler.{m}.pos"), self.pos[m]);
            s.set(format!("sampler.{m}.word_pos"), rng.get_word_pos());
        }
    }

    pub fn load(&mut self, s: &mut crate::snapshot::Snapshot) -> Result<(), String> {
        for m in 0..self.rngs.len() {
            self.order[m] = s
                .take(&format!("sampler.{m}.order"))?
                .into_iter()
                .map(|i| i as usize)
                .collect();
            self.pos[m] = s.get(&format!("sampler.{m}.pos"))?;
            self.rngs[m].set_word_pos(s.get(&format!("sampler.{m}.word_pos"))?);
        }
        Ok(())
    }

    pub fn next(&mut self, b: usize) -> Vec<Vec<usize>> {
        (0..self.rngs.len())
            .map(|m| {
                let mut out = Vec::with_capacity(b);
                if self.epochs {
                    if self.pos[m] == self.order[m].len() {
                        self.order[m].shuffle(&mut self.rngs[m]);
                        self.pos[m] = 0;
                    }
                    let end = (self.pos[m] + b).min(self.order[m].len());
                    out.extend_from_slice(&self.order[m][self.pos[m]..end]);
                    self.pos[m] = end;
                    return out;
                }
                while out.len() < b {
                    if self.pos[m] == self.order[m].len() {
                        self.order[m].shuffle(&mut self.rngs[m]);
                        self.pos[m] = 0;
                    }
                    out.push(self.order[m][self.pos[m]]);
                    self.pos[m] += 1;
                }
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_visit_every_sample_once_with_a_partial_last_batch() {
        let mut s = Sampler::new(&[3], 10, true);
        let mut epoch = Vec::new();
        let sizes: Vec<usize> = (0..3)
            .map(|_| {
                let b = s.next(4).remove(0);
                epoch.extend(b.iter().copied());
                b.len()
            })
            .collect();
        assert_eq!(sizes, [4, 4, 2]);
        epoch.sort_unstable();
        assert_eq!(epoch, (0..10).collect::<Vec<_>>());
        // the next epoch is a fresh order
        let next: Vec<usize> = (0..3).flat_map(|_| s.next(4).remove(0)).collect();
        assert_eq!(next.len(), 10);
        // without epochs, batches are always full
        let mut s = Sampler::new(&[3], 10, false);
        assert!((0..5).all(|_| s.next(4)[0].len() == 4));
    }
}
