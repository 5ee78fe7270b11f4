//! Tasks: build a dataset (train and validation splits) deterministically from their parameters and
//! a seed, and say how a prediction counts as correct.
//!
//! - addition: the unordered pairs (i, j) of 0..p-1 labelled i + j, split at random;
//! - teacher-student: Gaussian inputs x ~ N(0, I_din) labelled by a random teacher (a d_in x d_out
//!   matrix, or a network of the student's architecture), with a fresh test set.

use crate::config::{
    AdditionTask, Head, Init, MlpModel, ModelConfig, TaskConfig, TeacherKind, TeacherStudentTask,
};
use crate::seed::{Stream, rng};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Number of unordered pairs (i, j), i <= j < p.
pub fn addition_pairs(p: usize) -> usize {
    p * (p + 1) / 2
}

/// How a prediction counts as correct.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Correctness {
    /// The argmax of the logits is the label.
    Argmax,
    /// The nearest (Euclidean) class target is the label's.
    NearestTarget,
    /// The mean over outputs of the squared error is below eps.
    Threshold(f64),
}

/// Inputs of a split.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Token ids per position: `tokens[position][sample]`.
    Tokens(Vec<Vec<usize>>),
    /// Row-major [samples, dim].
    Dense { x: Vec<f64>, dim: usize },
}

/// Labels of a split.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    Classes(Vec<usize>),
    /// Row-major [samples, dim].
    Dense {
        y: Vec<f64>,
        dim: usize,
    },
}

/// One split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Index of each sample in the task's full sample list (addition: into `pairs(p)`).
    pub sample: Vec<usize>,
    pub x: Features,
    pub y: Labels,
}

impl Split {
    pub fn len(&self) -> usize {
        self.sample.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sample.is_empty()
    }
    /// Class label of sample k (class tasks only).
    pub fn class(&self, k: usize) -> usize {
        match &self.y {
            Labels::Classes(c) => c[k],
            Labels::Dense { .. } => panic!("class() on a dense-label split"),
        }
    }
}

/// A teacher network: weights [d_in, d_out] per layer, row-major, and the activation between layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    pub layers: Vec<(Vec<f64>, usize, usize)>,
    pub act_fn: crate::config::Activation,
}

/// A built dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub train: Split,
    pub val: Split,
    /// Classes of a class task (0 for dense labels).
    pub n_classes: usize,
    /// Regression targets of a class task, row-major [n_classes, d_target]; empty otherwise.
    pub targets: Vec<f32>,
    pub d_target: usize,
    pub correctness: Correctness,
    /// Addition: whether each pair is in the training split (empty for other tasks).
    pub train_mask: Vec<bool>,
    /// Teacher-student: the teacher.
    pub teacher: Option<Teacher>,
}

/// Builds the dataset for a task and the model's head.
pub fn build(task: &TaskConfig, model: &ModelConfig, seed: u64) -> Dataset {
    match task {
        TaskConfig::Addition(t) => addition(t, model, seed),
        TaskConfig::TeacherStudent(t) => teacher_student(t, model, seed),
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
    // Samples stay in their natural order inside each split: batches then depend on the seed only
    // through the split and the batch stream.
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
    let n_classes = 2 * t.p - 1;
    let head = match model {
        ModelConfig::Toy(m) => Some((m.head, m.d_target)),
        ModelConfig::Mlp(_) => None,
    };
    let (targets, d_target, correctness) = match head {
        Some((Head::Regression, d)) => {
            let mut r = rng(seed, Stream::Targets);
            let v: Vec<f32> = (0..n_classes * d).map(|_| normal(&mut r) as f32).collect();
            (v, d, Correctness::NearestTarget)
        }
        _ => (Vec::new(), 0, Correctness::Argmax),
    };
    Dataset {
        train: split(true),
        val: split(false),
        n_classes,
        targets,
        d_target,
        correctness,
        train_mask,
        teacher: None,
    }
}

fn normal(r: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(r)
}

/// Runs a teacher on row-major inputs [n, d_in] (faer matrix products).
pub fn teacher_outputs(t: &Teacher, x: &[f64], n: usize) -> Vec<f64> {
    use faer::Mat;
    let d_in = t.layers[0].1;
    let mut h = Mat::<f64>::from_fn(n, d_in, |i, j| x[i * d_in + j]);
    for (l, (w, a, b)) in t.layers.iter().enumerate() {
        let wm = Mat::<f64>::from_fn(*a, *b, |i, j| w[i * b + j]);
        h = &h * &wm;
        if l + 1 < t.layers.len() {
            let f: fn(f64) -> f64 = match t.act_fn {
                crate::config::Activation::Tanh => f64::tanh,
                crate::config::Activation::Relu => |v| v.max(0.0),
                crate::config::Activation::Identity => |v| v,
            };
            h = Mat::from_fn(h.nrows(), h.ncols(), |i, j| f(h[(i, j)]));
        }
    }
    let d_out = h.ncols();
    (0..n * d_out).map(|k| h[(k / d_out, k % d_out)]).collect()
}

fn teacher_student(t: &TeacherStudentTask, model: &ModelConfig, seed: u64) -> Dataset {
    let student = match model {
        ModelConfig::Mlp(m) => m.clone(),
        ModelConfig::Toy(_) => MlpModel {
            d_hidden: Vec::new(),
            act_fn: crate::config::Activation::Identity,
            bias: false,
            init: Init::Levi,
            init_scale: 1.0,
        },
    };
    let mut tr = rng(seed, Stream::Teacher);
    let widths: Vec<usize> = match t.teacher {
        TeacherKind::Linear => vec![t.d_in, t.d_out],
        TeacherKind::Same => std::iter::once(t.d_in)
            .chain(student.d_hidden.iter().copied())
            .chain([t.d_out])
            .collect(),
    };
    let layers = widths
        .windows(2)
        .map(|w| {
            (
                crate::model::mlp::init_layer(&mut tr, Init::Levi, w[0], w[1], 1.0, false).0,
                w[0],
                w[1],
            )
        })
        .collect();
    let act_fn = match t.teacher {
        TeacherKind::Linear => crate::config::Activation::Identity,
        TeacherKind::Same => student.act_fn,
    };
    let teacher = Teacher { layers, act_fn };
    // Train and test inputs draw from their own streams, so label noise never shifts the test set.
    let make = |n: usize, noise: f64, stream: Stream| {
        let mut dr = rng(seed, stream);
        let x: Vec<f64> = (0..n * t.d_in).map(|_| normal(&mut dr)).collect();
        let mut y = teacher_outputs(&teacher, &x, n);
        if noise > 0.0 {
            for v in &mut y {
                *v += noise * normal(&mut dr);
            }
        }
        Split {
            sample: (0..n).collect(),
            x: Features::Dense { x, dim: t.d_in },
            y: Labels::Dense { y, dim: t.d_out },
        }
    };
    let train = make(t.n_train(), t.label_noise, Stream::Data);
    let val = make(t.n_test, 0.0, Stream::Test);
    Dataset {
        train,
        val,
        n_classes: 0,
        targets: Vec::new(),
        d_target: 0,
        correctness: Correctness::Threshold(t.eps),
        train_mask: Vec::new(),
        teacher: Some(teacher),
    }
}

/// The split as a table (`split.csv`) for token tasks: every sample with its tokens, label and
/// whether it trains. None for dense tasks (their inputs are reproducible from the seed).
pub fn split_table(d: &Dataset) -> Option<crate::probe::ExtraTable> {
    let mut rows = Vec::new();
    for (s, is_train) in [(&d.train, 1.0), (&d.val, 0.0)] {
        let Features::Tokens(tok) = &s.x else {
            return None;
        };
        for (k, (&a, &b)) in tok[0].iter().zip(&tok[1]).enumerate() {
            rows.push(vec![
                s.sample[k] as f64,
                a as f64,
                b as f64,
                s.class(k) as f64,
                is_train,
            ]);
        }
    }
    rows.sort_by(|x, y| x[0].total_cmp(&y[0]));
    Some(crate::probe::ExtraTable {
        file: "split.csv".into(),
        header: ["sample", "a", "b", "label", "train"]
            .map(String::from)
            .to_vec(),
        rows,
    })
}

/// The regression targets of a class task as a table (`targets.csv`: class, t0, t1, ...); None when
/// the task has none.
pub fn targets_table(d: &Dataset) -> Option<crate::probe::ExtraTable> {
    if d.targets.is_empty() {
        return None;
    }
    let mut header = vec!["class".to_string()];
    header.extend((0..d.d_target).map(|k| format!("t{k}")));
    let rows = d
        .targets
        .chunks(d.d_target)
        .enumerate()
        .map(|(c, t)| {
            std::iter::once(c as f64)
                .chain(t.iter().map(|&x| x as f64))
                .collect()
        })
        .collect();
    Some(crate::probe::ExtraTable {
        file: "targets.csv".into(),
        header,
        rows,
    })
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
            let Features::Tokens(t) = &s.x else {
                panic!("tokens expected")
            };
            for (k, (&a, &b)) in t[0].iter().zip(&t[1]).enumerate() {
                assert!(a <= b);
                assert_eq!(s.class(k), a + b);
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

    fn ts(teacher: TeacherKind, noise: f64) -> TaskConfig {
        TaskConfig::TeacherStudent(TeacherStudentTask {
            d_in: 40,
            d_out: 3,
            n_train: None,
            lambda: Some(0.5),
            n_test: 2000,
            label_noise: noise,
            teacher,
            eps: 1e-3,
        })
    }

    fn student(hidden: Vec<usize>, act_fn: Activation) -> ModelConfig {
        ModelConfig::Mlp(MlpModel {
            d_hidden: hidden,
            act_fn,
            bias: false,
            init: Init::Levi,
            init_scale: 1.0,
        })
    }

    #[test]
    fn teacher_student_labels_follow_the_teacher_with_the_papers_variance() {
        let d = build(
            &ts(TeacherKind::Linear, 0.0),
            &student(vec![], Activation::Identity),
            1,
        );
        assert_eq!((d.train.len(), d.val.len()), (80, 2000));
        let t = d.teacher.as_ref().unwrap();
        let (w, din, dout) = &t.layers[0];
        assert_eq!((*din, *dout), (40, 3));
        // ||T||_F^2 has expectation din dout / (2 din dout) = 1/2
        let norm: f64 = w.iter().map(|v| v * v).sum();
        assert!((norm - 0.5).abs() < 0.25, "||T||^2 = {norm}");
        let (Features::Dense { x, dim }, Labels::Dense { y, .. }) = (&d.val.x, &d.val.y) else {
            panic!()
        };
        for k in [0, 7, 1999] {
            for o in 0..3 {
                let direct: f64 = (0..*dim).map(|i| x[k * dim + i] * w[i * 3 + o]).sum();
                assert!((direct - y[k * 3 + o]).abs() < 1e-12);
            }
        }
        // inputs are standard normal
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02);
        assert!(
            d == build(
                &ts(TeacherKind::Linear, 0.0),
                &student(vec![], Activation::Identity),
                1
            )
        );
        // noise touches training labels only
        let n = build(
            &ts(TeacherKind::Linear, 0.1),
            &student(vec![], Activation::Identity),
            1,
        );
        assert!(n.val == d.val, "label noise changed the test split");
        assert!(n.train.y != d.train.y && n.train.x == d.train.x);
    }

    #[test]
    fn same_architecture_teacher_is_a_network() {
        let d = build(
            &ts(TeacherKind::Same, 0.0),
            &student(vec![7], Activation::Tanh),
            2,
        );
        let t = d.teacher.unwrap();
        assert_eq!(
            t.layers.iter().map(|l| (l.1, l.2)).collect::<Vec<_>>(),
            vec![(40, 7), (7, 3)]
        );
        assert_eq!(t.act_fn, Activation::Tanh);
    }
}
