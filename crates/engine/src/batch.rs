//! Batches: the inputs and training targets of M members stacked along a leading member axis
//! (what the trainer and the probes' own forward passes feed a model), and the sampler that picks
//! each member's minibatches from its own batch stream.

use crate::head::{Encoding, Target, TargetKind};
use crate::loss::TargetTensor;
use crate::model::Inputs;
use crate::params::Precision;
use crate::seed::{Stream, rng};
use crate::task::{Features, Split};
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Inputs and targets of all members for one split or minibatch.
pub struct Batch {
    pub inputs: Inputs,
    pub targets: TargetTensor,
}

/// The inputs of samples `rows[m]` of `splits[m]` for every member m.
pub fn inputs(
    splits: &[&Split],
    rows: &[Vec<usize>],
    device: &Device,
    precision: Precision,
) -> Inputs {
    let m = splits.len();
    let b = rows[0].len();
    match &splits[0].x {
        Features::Tokens(tok) => Inputs::Tokens(
            (0..tok.len())
                .map(|pos| {
                    let v: Vec<i32> = splits
                        .iter()
                        .zip(rows)
                        .flat_map(|(s, r)| {
                            let Features::Tokens(t) = &s.x else {
                                unreachable!("members share a task")
                            };
                            r.iter().map(move |&k| t[pos][k] as i32)
                        })
                        .collect();
                    Tensor::<2, Int>::from_data(TensorData::new(v, [m, b]), device)
                })
                .collect(),
        ),
        Features::Dense { dim, .. } => {
            let mut v = Vec::with_capacity(m * b * dim);
            for (s, r) in splits.iter().zip(rows) {
                let Features::Dense { x, dim } = &s.x else {
                    unreachable!("members share a task")
                };
                for &k in r {
                    v.extend_from_slice(&x[k * dim..(k + 1) * dim]);
                }
            }
            Inputs::Dense(Tensor::from_data(
                TensorData::new(v, [m, b, *dim]),
                (device, precision.dtype()),
            ))
        }
    }
}

/// The training targets of samples `rows[m]` of `splits[m]`, of the kind the loss wants.
pub fn targets(
    splits: &[&Split],
    encodings: &[&Encoding],
    rows: &[Vec<usize>],
    kind: TargetKind,
    device: &Device,
    precision: Precision,
) -> TargetTensor {
    let m = splits.len();
    let b = rows[0].len();
    match kind {
        TargetKind::Class => {
            let v: Vec<i32> = splits
                .iter()
                .zip(encodings)
                .zip(rows)
                .flat_map(|((s, e), r)| {
                    r.iter().map(move |&k| match e.target(s, k, kind) {
                        Target::Class(c) => c as i32,
                        Target::Vector(_) => unreachable!("class targets were asked for"),
                    })
                })
                .collect();
            TargetTensor::Classes(Tensor::from_data(TensorData::new(v, [m, b, 1]), device))
        }
        TargetKind::Vector => {
            let mut v = Vec::new();
            let mut dim = 0;
            for ((s, e), r) in splits.iter().zip(encodings).zip(rows) {
                for &k in r {
                    let Target::Vector(t) = e.target(s, k, kind) else {
                        unreachable!("vector targets were asked for")
                    };
                    dim = t.len();
                    v.extend_from_slice(t);
                }
            }
            TargetTensor::Vectors(Tensor::from_data(
                TensorData::new(v, [m, b, dim]),
                (device, precision.dtype()),
            ))
        }
    }
}

/// Inputs and targets together.
pub fn batch(
    splits: &[&Split],
    encodings: &[&Encoding],
    rows: &[Vec<usize>],
    kind: TargetKind,
    device: &Device,
    precision: Precision,
) -> Batch {
    Batch {
        inputs: inputs(splits, rows, device, precision),
        targets: targets(splits, encodings, rows, kind, device, precision),
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
