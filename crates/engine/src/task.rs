//! Tasks: build a dataset (train and validation splits) deterministically from their parameters and
//! a seed, and say how a prediction counts as correct.

use crate::config::{AdditionTask, Head, ModelConfig, TaskConfig};
use crate::seed::{Stream, rng};
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};

/// Number of unordered pairs (i, j), i <= j < p.
pub fn addition_pairs(p: usize) -> usize {
    p * (p + 1) / 2
}

/// How a prediction counts as correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correctness {
    /// The argmax of the logits is the label.
    Argmax,
    /// The nearest (Euclidean) class target is the label's.
    NearestTarget,
}

/// One split of a token-pair task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Split {
    /// Sample index into the task's full sample list (for the addition task, into `pairs(p)`).
    pub sample: Vec<usize>,
    /// First and second token of each sample.
    pub a: Vec<usize>,
    pub b: Vec<usize>,
    /// Class label of each sample.
    pub label: Vec<usize>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.label.len()
    }
    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }
}

/// A built dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub train: Split,
    pub val: Split,
    /// Tokens in the vocabulary (p for addition).
    pub n_tokens: usize,
    pub n_classes: usize,
    /// Regression targets, row-major [n_classes, d_target]; empty for classification.
    pub targets: Vec<f32>,
    pub d_target: usize,
    pub correctness: Correctness,
    /// Whether each of the task's samples is in the training split.
    pub train_mask: Vec<bool>,
}

/// Builds the dataset for a task and the model's head.
pub fn build(task: &TaskConfig, model: &ModelConfig, seed: u64) -> Dataset {
    match task {
        TaskConfig::Addition(t) => addition(t, model, seed),
    }
}

fn addition(t: &AdditionTask, model: &ModelConfig, seed: u64) -> Dataset {
    let pairs = groklab_theory::addition::pairs(t.p);
    let n_train = t.train.count(pairs.len());
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.shuffle(&mut rng(seed, Stream::Split));
    let mut train_mask = vec![false; pairs.len()];
    for &k in &order[..n_train] {
        train_mask[k] = true;
    }
    // Keep samples in their natural order inside each split: batches then depend on the seed only
    // through the split and the batch stream.
    let split = |keep: bool| {
        let mut s = Split::default();
        for (k, &(i, j)) in pairs.iter().enumerate() {
            if train_mask[k] == keep {
                s.sample.push(k);
                s.a.push(i);
                s.b.push(j);
                s.label.push(i + j);
            }
        }
        s
    };
    let n_classes = 2 * t.p - 1;
    let ModelConfig::Toy(m) = model;
    let (targets, d_target, correctness) = match m.head {
        Head::Regression => {
            let mut r = rng(seed, Stream::Targets);
            let v: Vec<f32> = (0..n_classes * m.d_target)
                .map(|_| StandardNormal.sample(&mut r))
                .collect::<Vec<f64>>()
                .iter()
                .map(|&x| x as f32)
                .collect();
            (v, m.d_target, Correctness::NearestTarget)
        }
        Head::Classification => (Vec::new(), 0, Correctness::Argmax),
    };
    Dataset {
        train: split(true),
        val: split(false),
        n_tokens: t.p,
        n_classes,
        targets,
        d_target,
        correctness,
        train_mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, ToyModel, TrainSize};

    fn toy(head: Head) -> ModelConfig {
        ModelConfig::Toy(ToyModel {
            d_embed: 1,
            init_scale: 1.0,
            d_hidden: vec![200, 200],
            act_fn: Activation::Tanh,
            head,
            d_target: 30,
        })
    }

    #[test]
    fn split_sizes_labels_and_determinism() {
        let task = TaskConfig::Addition(AdditionTask {
            p: 10,
            train: TrainSize::Count(45),
        });
        let d = build(&task, &toy(Head::Regression), 3);
        assert_eq!((d.train.len(), d.val.len(), d.n_classes), (45, 10, 19));
        assert_eq!(d.targets.len(), 19 * 30);
        for s in [&d.train, &d.val] {
            for k in 0..s.len() {
                assert!(s.a[k] <= s.b[k]);
                assert_eq!(s.label[k], s.a[k] + s.b[k]);
            }
        }
        assert_eq!(d, build(&task, &toy(Head::Regression), 3));
        assert_ne!(d.train, build(&task, &toy(Head::Regression), 4).train);
        // the split does not depend on the head
        assert_eq!(d.train, build(&task, &toy(Head::Classification), 3).train);
        let frac = TaskConfig::Addition(AdditionTask {
            p: 10,
            train: TrainSize::Fraction(0.4),
        });
        assert_eq!(build(&frac, &toy(Head::Classification), 0).train.len(), 22);
    }
}

/// The split as a table (`split.csv`): every sample with its tokens, label and whether it trains.
pub fn split_table(d: &Dataset) -> crate::probe::ExtraTable {
    let mut rows = Vec::new();
    for (s, is_train) in [(&d.train, 1.0), (&d.val, 0.0)] {
        for k in 0..s.len() {
            rows.push(vec![s.sample[k] as f64, s.a[k] as f64, s.b[k] as f64, s.label[k] as f64, is_train]);
        }
    }
    rows.sort_by(|x, y| x[0].total_cmp(&y[0]));
    crate::probe::ExtraTable {
        file: "split.csv".into(),
        header: ["sample", "a", "b", "label", "train"].map(String::from).to_vec(),
        rows,
    }
}
