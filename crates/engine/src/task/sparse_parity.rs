//! Sparse parity (Merrill, Tsilivis, Shukla 2023; Barak et al. 2022): x uniform in {-1, +1}^n,
//! label y = the product of k relevant bits (the first k, or a random subset drawn from the seed),
//! +-1; a sample is correct when the sign of the output is the label's.
//!
//! Keys: `n`, `k`, `n_train`, `n_test` (0: the exact full test set of all 2^n inputs, for n <= 20),
//! `relevant` (`first` or `random`), `online` (a fresh batch every step; the `n_train` samples then
//! only measure training accuracy).

use super::{Dataset, Features, Labels, Split, Task};
use crate::reader::{ConfigError, Reader};
use crate::seed::{Stream, rng};
use crate::shape::{Correctness, DenseStack, Input, IoShape, Output};
use rand::RngExt;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SparseParity {
    pub n: usize,
    pub k: usize,
    pub n_train: usize,
    /// Fresh test samples; 0 means all 2^n inputs.
    pub n_test: usize,
    pub relevant: Relevant,
    pub online: bool,
    /// Draw the test set from this seed for every training seed (Merrill et al.: one test set,
    /// seed 2001), instead of from each run's seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relevant {
    /// Bits 0..k.
    First,
    /// k bits drawn from the seed.
    Random,
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Task>, ConfigError> {
    let n = r.usize_or("n", 40, 1, 100_000)?;
    let k = r.usize_or("k", 3, 1, n)?;
    let n_train = r.usize_or("n_train", 1000, 1, 10_000_000)?;
    let n_test = r.usize_or("n_test", 100, 0, 10_000_000)?;
    if n_test == 0 && n > 20 {
        return Err(r.invalid(
            "n_test",
            &toml::Value::Integer(0),
            format!(
                "a count from 1 to 10000000 (0, the full set of 2^n inputs, needs n <= 20; n = {n})"
            ),
        ));
    }
    let relevant = match r
        .choice_or("relevant", "first", &["first", "random"])?
        .as_str()
    {
        "random" => Relevant::Random,
        _ => Relevant::First,
    };
    let online = r.bool_or("online", false)?;
    let test_seed = match r.peek("test_seed") {
        None => None,
        Some(_) => Some(r.u64_or("test_seed", 0)?),
    };
    Ok(Arc::new(SparseParity {
        test_seed,
        n,
        k,
        n_train,
        n_test,
        relevant,
        online,
    }))
}

impl crate::choice::Kind for SparseParity {
    fn kind(&self) -> &'static str {
        "sparse-parity"
    }
}

impl SparseParity {
    /// The relevant bits of the run with this seed, sorted.
    pub fn relevant_bits(&self, seed: u64) -> Vec<usize> {
        match self.relevant {
            Relevant::First => (0..self.k).collect(),
            Relevant::Random => {
                let mut all: Vec<usize> = (0..self.n).collect();
                all.shuffle(&mut rng(seed, Stream::Relevant));
                let mut bits = all[..self.k].to_vec();
                bits.sort_unstable();
                bits
            }
        }
    }

    /// `count` samples drawn from `r`: inputs +-1 and their parity labels.
    fn draw(&self, r: &mut ChaCha8Rng, count: usize, bits: &[usize]) -> Split {
        let x: Vec<f64> = (0..count * self.n)
            .map(|_| if r.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        self.labelled(x, count, bits)
    }

    fn labelled(&self, x: Vec<f64>, count: usize, bits: &[usize]) -> Split {
        let y = (0..count)
            .map(|s| bits.iter().map(|&b| x[s * self.n + b]).product())
            .collect();
        Split {
            sample: (0..count).collect(),
            x: Features::Dense { x, dim: self.n },
            y: Labels::Dense { y, dim: 1 },
        }
    }

    /// All 2^n inputs, in binary order (bit j of the index set means x_j = +1).
    fn full(&self, bits: &[usize]) -> Split {
        let count = 1usize << self.n;
        let x = (0..count)
            .flat_map(|s| (0..self.n).map(move |j| if s >> j & 1 == 1 { 1.0 } else { -1.0 }))
            .collect();
        self.labelled(x, count, bits)
    }
}

impl Task for SparseParity {
    fn shape(&self) -> IoShape {
        IoShape::new(Input::Dense { dim: self.n }, Output::Values(1))
    }

    fn n_train(&self) -> usize {
        self.n_train
    }

    fn n_val(&self) -> usize {
        if self.n_test == 0 {
            1 << self.n
        } else {
            self.n_test
        }
    }

    fn correctness(&self) -> Option<Correctness> {
        Some(Correctness::Sign)
    }

    fn default_model(&self) -> &'static str {
        "mlp"
    }

    fn build(&self, seed: u64, _student: Option<&DenseStack>) -> Dataset {
        let bits = self.relevant_bits(seed);
        let train = self.draw(&mut rng(seed, Stream::Data), self.n_train, &bits);
        let val = if self.n_test == 0 {
            self.full(&bits)
        } else {
            self.draw(
                &mut rng(self.test_seed.unwrap_or(seed), Stream::Test),
                self.n_test,
                &bits,
            )
        };
        Dataset {
            train,
            val,
            teacher: None,
        }
    }

    fn data_bytes(&self) -> f64 {
        ((self.n_train + self.n_val()) * (self.n + 1)) as f64 * 8.0
    }

    fn fresh_batch(&self, seed: u64, step: usize, b: usize) -> Option<Split> {
        if !self.online {
            return None;
        }
        let mut r =
            ChaCha8Rng::seed_from_u64(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.set_stream(Stream::Online as u64);
        Some(self.draw(&mut r, b, &self.relevant_bits(seed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(relevant: Relevant, n_test: usize) -> SparseParity {
        SparseParity {
            n: 6,
            k: 3,
            n_train: 50,
            n_test,
            relevant,
            online: false,
            test_seed: None,
        }
    }

    #[test]
    fn labels_are_the_parity_of_the_relevant_bits() {
        let t = task(Relevant::First, 0);
        // hand-made inputs: x = (+1, -1, -1, +1, +1, -1) has x0 x1 x2 = +1
        let s = t.labelled(
            vec![
                1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
            ],
            2,
            &[0, 1, 2],
        );
        assert_eq!(
            s.y,
            Labels::Dense {
                y: vec![1.0, -1.0],
                dim: 1
            }
        );
        let d = t.build(3, None);
        assert_eq!((d.train.len(), d.val.len()), (50, 64));
        let (Features::Dense { x, .. }, Labels::Dense { y, .. }) = (&d.val.x, &d.val.y) else {
            panic!()
        };
        // the full test set: every input once, and half the labels +1
        assert_eq!(y.iter().filter(|&&v| v > 0.0).count(), 32);
        for s in 0..64 {
            assert!(x[s * 6..(s + 1) * 6].iter().all(|v| v.abs() == 1.0));
            assert_eq!(y[s], x[s * 6] * x[s * 6 + 1] * x[s * 6 + 2]);
        }
        assert_eq!(d, t.build(3, None), "deterministic from the seed");
        assert_ne!(d.train, t.build(4, None).train);
        let r = task(Relevant::Random, 10);
        let bits = r.relevant_bits(5);
        assert_eq!(bits.len(), 3);
        assert_eq!(bits, r.relevant_bits(5));
        let d = r.build(5, None);
        let (Features::Dense { x, .. }, Labels::Dense { y, .. }) = (&d.train.x, &d.train.y) else {
            panic!()
        };
        for s in 0..50 {
            assert_eq!(y[s], bits.iter().map(|&b| x[s * 6 + b]).product::<f64>());
        }
        // online batches are fresh per step and reproducible
        let online = SparseParity {
            online: true,
            ..task(Relevant::First, 10)
        };
        let a = online.fresh_batch(1, 7, 32).unwrap();
        assert_eq!(a, online.fresh_batch(1, 7, 32).unwrap());
        assert_ne!(a, online.fresh_batch(1, 8, 32).unwrap());
        assert!(t.fresh_batch(1, 7, 32).is_none());
    }
}
