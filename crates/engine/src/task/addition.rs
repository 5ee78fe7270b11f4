//! Non-modular addition (Liu et al. 2022): the unordered pairs (i, j), i <= j < p, labelled i + j
//! (2p - 1 classes), split at random into train and validation by the seed.
//!
//! Keys: `p` (integers 0..p-1), `train` (a count of training pairs, or a fraction of all pairs),
//! `split`: `random` (a uniformly random subset), or `covered` (every sum appears in training:
//! with p = 10 and 45 of 55 pairs, a random split holds out the only pair of a sum such as 8 + 9
//! more than half the time, and that sum can never be learned, capping validation accuracy at 0.9).
//! `val_pairs = [[0, 2], [0, 4], ...]` names the validation pairs instead (the authors' split:
//! their `np.random.seed(58)` draw is not a stream groklab can replay), and then `train` is the rest.

use super::{Dataset, Features, Labels, Split, Task};
use crate::files::ExtraTable;
use crate::reader::{ConfigError, Reader};
use crate::seed::{Stream, rng};
use crate::shape::{DenseStack, Input, IoShape, Output};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::sync::Arc;
use toml::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Addition {
    /// Integers 0..p-1; p (p + 1) / 2 unordered pairs, 2p - 1 classes.
    pub p: usize,
    /// Training-set size: an integer count or a fraction of all pairs.
    pub train: TrainSize,
    pub split: SplitRule,
    /// These validation pairs (i <= j), whatever the seed; `split` is then unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_pairs: Option<Vec<(usize, usize)>>,
}

/// How the training pairs are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitRule {
    /// A uniformly random subset of the pairs.
    Random,
    /// One random pair of every sum first, then random pairs: every validation label is trained.
    Covered,
}

/// A count (TOML integer) or a fraction in (0, 1] (TOML float).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TrainSize {
    Count(usize),
    Fraction(f64),
}

impl TrainSize {
    /// The number of training samples out of `total`; a fraction rounds to the nearest count.
    pub fn count(self, total: usize) -> usize {
        match self {
            TrainSize::Count(n) => n,
            TrainSize::Fraction(f) => ((f * total as f64).round() as usize).clamp(1, total),
        }
    }

    /// Reads `key` as a count from 1 to `total` or a fraction in (0, 1].
    pub fn read(
        r: &mut Reader,
        key: &'static str,
        total: usize,
        default: TrainSize,
    ) -> Result<TrainSize, ConfigError> {
        let allowed =
            format!("an integer count from 1 to {total}, or a fraction in (0, 1] such as 0.8");
        match r.raw(key) {
            None => Ok(default),
            Some(Value::Integer(n)) if n >= 1 && n as usize <= total => {
                Ok(TrainSize::Count(n as usize))
            }
            Some(Value::Float(f)) if f > 0.0 && f <= 1.0 => Ok(TrainSize::Fraction(f)),
            Some(v) => Err(r.invalid(key, &v, allowed)),
        }
    }
}

/// Number of unordered pairs (i, j), i <= j < p.
pub fn pairs(p: usize) -> usize {
    p * (p + 1) / 2
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Task>, ConfigError> {
    let p = r.usize_or("p", 10, 2, 1000)?;
    let total = pairs(p);
    let split = match r
        .choice_or("split", "random", &["random", "covered"])?
        .as_str()
    {
        "covered" => SplitRule::Covered,
        _ => SplitRule::Random,
    };
    if let Some(v) = r.raw("val_pairs") {
        let given = read_pairs(r, &v, p)?;
        let train = TrainSize::Count(total - given.len());
        if let Some(t) = r
            .raw("train")
            .filter(|t| *t != Value::Integer((total - given.len()) as i64))
        {
            return Err(r.invalid(
                "train",
                &t,
                format!(
                    "no `train` beside `val_pairs` (the {} pairs not named train), or {}",
                    total - given.len(),
                    total - given.len()
                ),
            ));
        }
        return Ok(Arc::new(Addition {
            p,
            train,
            split,
            val_pairs: Some(given),
        }));
    }
    let train = TrainSize::read(r, "train", total, TrainSize::Count(total * 9 / 11))?;
    let classes = 2 * p - 1;
    if split == SplitRule::Covered && train.count(total) < classes {
        return Err(ConfigError::Invalid {
            key: r.key("split"),
            value: "\"covered\"".into(),
            allowed: format!(
                "\"random\", or \"covered\" with at least {classes} training pairs (one per sum); task.train gives {}",
                train.count(total)
            ),
        });
    }
    Ok(Arc::new(Addition {
        p,
        train,
        split,
        val_pairs: None,
    }))
}

/// `val_pairs`: distinct pairs [i, j] with i <= j < p, at least one, leaving at least one to train.
fn read_pairs(r: &Reader, v: &Value, p: usize) -> Result<Vec<(usize, usize)>, ConfigError> {
    let allowed = || {
        format!(
            "a list of distinct pairs [i, j] with 0 <= i <= j < {p}, at least one and fewer than \
             all {}",
            pairs(p)
        )
    };
    let bad = || r.invalid("val_pairs", v, allowed());
    let Value::Array(items) = v else {
        return Err(bad());
    };
    let mut out = Vec::new();
    for item in items {
        let pair = item.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
        let n = |x: &Value| x.as_integer().filter(|&k| k >= 0 && (k as usize) < p);
        let (Some(i), Some(j)) = (n(&pair[0]), n(&pair[1])) else {
            return Err(bad());
        };
        let (i, j) = (i as usize, j as usize);
        if i > j || out.contains(&(i, j)) {
            return Err(bad());
        }
        out.push((i, j));
    }
    if out.is_empty() || out.len() >= pairs(p) {
        return Err(bad());
    }
    Ok(out)
}

impl crate::choice::Kind for Addition {
    fn kind(&self) -> &'static str {
        "addition"
    }
}

impl Task for Addition {
    fn shape(&self) -> IoShape {
        IoShape::new(
            Input::Tokens {
                vocab: self.p,
                positions: 2,
            },
            Output::Classes(2 * self.p - 1),
        )
    }

    fn n_train(&self) -> usize {
        self.train.count(pairs(self.p))
    }

    fn n_val(&self) -> usize {
        pairs(self.p) - self.n_train()
    }

    fn default_model(&self) -> &'static str {
        "toy"
    }

    fn build(&self, seed: u64, _student: Option<&DenseStack>) -> Dataset {
        let pairs = groklab_theory::addition::pairs(self.p);
        let n_train = self.n_train();
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.shuffle(&mut rng(seed, Stream::Split));
        if let Some(val) = &self.val_pairs {
            order = (0..pairs.len())
                .filter(|&k| !val.contains(&pairs[k]))
                .collect();
        } else if self.split == SplitRule::Covered {
            // the first pair of each sum in the shuffled order moves to the front (a uniformly
            // random pair per sum), the rest keep their random order
            let mut seen = vec![false; 2 * self.p - 1];
            let (first, rest): (Vec<usize>, Vec<usize>) = order.iter().partition(|&&k| {
                let (i, j) = pairs[k];
                !std::mem::replace(&mut seen[i + j], true)
            });
            order = first.into_iter().chain(rest).collect();
        }
        let mut train_mask = vec![false; pairs.len()];
        for &k in &order[..n_train] {
            train_mask[k] = true;
        }
        // Samples stay in their natural order inside each split: batches then depend on the seed
        // only through the split and the batch stream.
        let split = |keep: bool| {
            let (mut sample, mut a, mut b, mut label) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (k, &(i, j)) in pairs.iter().enumerate() {
                if train_mask[k] == keep {
                    sample.push(k);
                    a.push(i);
                    b.push(j);
                    label.push(i + j);
                }
            }
            Split {
                sample,
                x: Features::Tokens(vec![a, b]),
                y: Labels::Classes(label),
            }
        };
        Dataset {
            train: split(true),
            val: split(false),
            teacher: None,
        }
    }

    fn data_bytes(&self) -> f64 {
        // tokens and labels of every pair, a few words each
        pairs(self.p) as f64 * 5.0 * 8.0
    }

    /// `split.csv`: every pair with its tokens, label and whether it trains.
    fn tables(&self, d: &Dataset) -> Vec<ExtraTable> {
        let mut rows = Vec::new();
        for (s, is_train) in [(&d.train, 1.0), (&d.val, 0.0)] {
            let (Features::Tokens(tok), Labels::Classes(label)) = (&s.x, &s.y) else {
                continue;
            };
            for (k, (&a, &b)) in tok[0].iter().zip(&tok[1]).enumerate() {
                rows.push(vec![
                    s.sample[k] as f64,
                    a as f64,
                    b as f64,
                    label[k] as f64,
                    is_train,
                ]);
            }
        }
        rows.sort_by(|x, y| x[0].total_cmp(&y[0]));
        vec![ExtraTable {
            file: "split.csv".into(),
            header: ["sample", "a", "b", "label", "train"]
                .map(String::from)
                .to_vec(),
            rows,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_labels_and_determinism() {
        let task = Addition {
            p: 10,
            train: TrainSize::Count(45),
            split: SplitRule::Random,
            val_pairs: None,
        };
        let d = task.build(3, None);
        assert_eq!((d.train.len(), d.val.len()), (45, 10));
        assert_eq!(task.shape().output, Output::Classes(19));
        for s in [&d.train, &d.val] {
            let Features::Tokens(t) = &s.x else {
                panic!("tokens expected")
            };
            for (k, (&a, &b)) in t[0].iter().zip(&t[1]).enumerate() {
                assert!(a <= b);
                assert_eq!(s.class(k), Some(a + b));
            }
        }
        assert_eq!(d, task.build(3, None));
        assert_ne!(d.train, task.build(4, None).train);
        let mask = d.train_mask();
        assert_eq!(mask.iter().filter(|&&m| m).count(), 45);
        assert!(d.val.sample.iter().all(|&s| !mask[s]));
        let frac = Addition {
            p: 10,
            train: TrainSize::Fraction(0.4),
            split: SplitRule::Random,
            val_pairs: None,
        };
        assert_eq!(frac.build(0, None).train.len(), 22);
    }

    #[test]
    fn covered_splits_train_every_sum() {
        let labels =
            |s: &Split| -> Vec<usize> { (0..s.len()).filter_map(|k| s.class(k)).collect() };
        let (mut random_misses, mut covered_misses) = (0, 0);
        for seed in 0..40 {
            for (rule, misses) in [
                (SplitRule::Random, &mut random_misses),
                (SplitRule::Covered, &mut covered_misses),
            ] {
                let task = Addition {
                    p: 10,
                    train: TrainSize::Count(45),
                    split: rule,
                    val_pairs: None,
                };
                let d = task.build(seed, None);
                assert_eq!(d.train.len(), 45);
                let trained = labels(&d.train);
                if labels(&d.val).iter().any(|c| !trained.contains(c)) {
                    *misses += 1;
                }
            }
        }
        assert_eq!(covered_misses, 0);
        // about 56% of random 45/55 splits hold out a sum's only pair; the rule matters
        assert!(random_misses > 10, "{random_misses}");
        let text = "[task]\nkind = \"addition\"\ntrain = 10\nsplit = \"covered\"\n";
        let e = crate::Config::from_toml(text, "t").unwrap_err().to_string();
        assert!(e.contains("task.split") && e.contains("19"), "{e}");
    }

    #[test]
    fn named_validation_pairs_are_the_split_whatever_the_seed() {
        // the authors' split (toy/train_add.py: np.random.seed(58), choice(55, 45))
        let val =
            "[[0, 2], [0, 4], [1, 5], [1, 7], [2, 4], [4, 4], [4, 6], [5, 5], [5, 8], [5, 9]]";
        let value =
            |t: &str| -> Value { format!("v = {t}").parse::<toml::Table>().unwrap()["v"].clone() };
        let toy = crate::presets::load("liu2022-toy").unwrap();
        let c = toy.with(&[("task.val_pairs", value(val))]).unwrap();
        let pairs_of = |s: &Split| -> Vec<(usize, usize)> {
            let Features::Tokens(t) = &s.x else {
                panic!("tokens expected")
            };
            t[0].iter().copied().zip(t[1].iter().copied()).collect()
        };
        for seed in [0, 58] {
            let d = c.task.build(seed, None);
            assert_eq!((d.train.len(), d.val.len()), (45, 10));
            assert_eq!(pairs_of(&d.val)[..3], [(0, 2), (0, 4), (1, 5)]);
            assert!(!pairs_of(&d.train).contains(&(5, 9)));
        }
        // the resolved config says the same split
        let again = crate::Config::from_toml(&c.to_toml(), "again").unwrap();
        assert_eq!(again.to_toml(), c.to_toml());
        assert_eq!(again.task.build(1, None), c.task.build(1, None));
        for (bad, key) in [
            ("[[2, 1]]", "task.val_pairs"),
            ("[[0, 10]]", "task.val_pairs"),
            ("[[0, 1], [0, 1]]", "task.val_pairs"),
            ("[]", "task.val_pairs"),
        ] {
            let e = toy
                .with(&[("task.val_pairs", value(bad))])
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{bad}: {e}");
        }
        let sets = [
            ("task.val_pairs", value("[[0, 1]]")),
            ("task.train", Value::Integer(40)),
        ];
        let e = toy.with(&sets).unwrap_err().to_string();
        assert!(e.contains("task.train"), "{e}");
    }
}
