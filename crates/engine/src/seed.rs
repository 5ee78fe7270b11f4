//! One seed fixes everything: each use of randomness draws from its own ChaCha stream, so changing
//! how much one part draws (a bigger model, say) never shifts another part (the data split).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The independent random streams of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Split = 1,
    Targets = 2,
    Init = 3,
    Batches = 4,
    Data = 5,
    Teacher = 6,
    Test = 7,
    /// Fresh batches of an online task.
    Online = 8,
    /// Which input bits are relevant (sparse parity).
    Relevant = 9,
    /// Random control subsets of probes.
    Control = 10,
}

/// A generator for one stream of one seed.
pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream as u64);
    r
}
