//! Teacher-student regression (Levi et al. 2023): Gaussian inputs x ~ N(0, I_din) labelled by a
//! random teacher, either a d_in x d_out matrix (`teacher = "linear"`) or a network of the student's
//! own architecture with weights drawn as Levi et al.'s at scale 1 (`teacher = "same"`), with a
//! fresh test set. A sample counts as correct when its mean-over-outputs squared error is below eps.
//!
//! The task never reads the model's config: for `"same"` it asks the built student for its
//! architecture ([`DenseStack`]).

use super::{Dataset, Features, Labels, Split, Task, Teacher};
use crate::init::{Init, normal};
use crate::ops::Activation;
use crate::reader::{ConfigError, Reader};
use crate::seed::{Stream, rng};
use crate::shape::{Correctness, DenseStack, Input, IoShape, Output};
use serde::Serialize;
use std::sync::Arc;
use toml::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherStudent {
    pub d_in: usize,
    pub d_out: usize,
    /// Training samples, when given as a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_train: Option<usize>,
    /// lambda = d_in / n_train, when the training set is given that way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Fresh samples for the test (validation) split.
    pub n_test: usize,
    /// Standard deviation of Gaussian noise added to training labels.
    pub label_noise: f64,
    pub teacher: TeacherKind,
    /// A sample is correct when its mean-over-outputs squared error is below eps.
    pub eps: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    /// A d_in x d_out matrix.
    Linear,
    /// The student's architecture, weights drawn as Levi et al.'s at init scale 1, no biases.
    Same,
}

impl TeacherStudent {
    pub fn n_train(&self) -> usize {
        match (self.n_train, self.lambda) {
            (Some(n), _) => n,
            (None, Some(l)) => ((self.d_in as f64 / l).round() as usize).max(1),
            (None, None) => self.d_in,
        }
    }
    /// lambda = d_in / n_train as realised (after rounding n_train).
    pub fn realised_lambda(&self) -> f64 {
        self.d_in as f64 / self.n_train() as f64
    }
}

const POSITIVE: &str = "a finite number > 0";
const NON_NEGATIVE: &str = "a finite number >= 0";

pub fn read(r: &mut Reader) -> Result<Arc<dyn Task>, ConfigError> {
    let d_in = r.usize_or("d_in", 1000, 1, 100_000)?;
    let d_out = r.usize_or("d_out", 1, 1, 100_000)?;
    let (n_train, lambda) = match (r.raw("n_train"), r.raw("lambda")) {
        (Some(_), Some(v)) => {
            return Err(r.invalid("lambda", &v, "either task.n_train or task.lambda, not both"));
        }
        (Some(Value::Integer(n)), None) if (1..=10_000_000).contains(&n) => {
            (Some(n as usize), None)
        }
        (Some(v), None) => {
            return Err(r.invalid("n_train", &v, "an integer from 1 to 10000000"));
        }
        (None, Some(v)) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
            Some(l) if l > 0.0 && l.is_finite() && d_in as f64 / l <= 1e7 => (None, Some(l)),
            _ => {
                return Err(r.invalid(
                    "lambda",
                    &v,
                    "a number > 0 (d_in / n_train, with n_train at most 10000000)",
                ));
            }
        },
        (None, None) => (None, Some(0.5)),
    };
    let n_test = r.usize_or("n_test", 10_000, 1, 10_000_000)?;
    let label_noise = r.f64_or("label_noise", 0.0, |x| x >= 0.0, NON_NEGATIVE)?;
    let teacher = match r
        .choice_or("teacher", "linear", &["linear", "same"])?
        .as_str()
    {
        "same" => TeacherKind::Same,
        _ => TeacherKind::Linear,
    };
    let eps = r.f64_or("eps", 1e-3, |x| x > 0.0, POSITIVE)?;
    Ok(Arc::new(TeacherStudent {
        d_in,
        d_out,
        n_train,
        lambda,
        n_test,
        label_noise,
        teacher,
        eps,
    }))
}

impl crate::choice::Kind for TeacherStudent {
    fn kind(&self) -> &'static str {
        "teacher-student"
    }
}

/// Runs a teacher on row-major inputs [n, d_in] (faer matrix products, f64).
pub fn teacher_outputs(t: &Teacher, x: &[f64], n: usize) -> Vec<f64> {
    use faer::Mat;
    let d_in = t.layers[0].1;
    let mut h = Mat::<f64>::from_fn(n, d_in, |i, j| x[i * d_in + j]);
    for (l, (w, a, b)) in t.layers.iter().enumerate() {
        let wm = Mat::<f64>::from_fn(*a, *b, |i, j| w[i * b + j]);
        h = &h * &wm;
        if l + 1 < t.layers.len() {
            h = Mat::from_fn(h.nrows(), h.ncols(), |i, j| t.act_fn.apply_f64(h[(i, j)]));
        }
    }
    let d_out = h.ncols();
    (0..n * d_out).map(|k| h[(k / d_out, k % d_out)]).collect()
}

impl Task for TeacherStudent {
    fn shape(&self) -> IoShape {
        IoShape::new(Input::Dense { dim: self.d_in }, Output::Values(self.d_out))
    }

    fn n_train(&self) -> usize {
        TeacherStudent::n_train(self)
    }

    fn n_val(&self) -> usize {
        self.n_test
    }

    fn correctness(&self) -> Option<Correctness> {
        Some(Correctness::Threshold(self.eps))
    }

    fn default_model(&self) -> &'static str {
        "mlp"
    }

    fn check_student(&self, student: Option<&DenseStack>) -> Result<(), ConfigError> {
        if self.teacher == TeacherKind::Same && student.is_none() {
            return Err(ConfigError::Invalid {
                key: "task.teacher".into(),
                value: "\"same\"".into(),
                allowed: "\"linear\", or \"same\" with a dense student (model.kind = \"mlp\")"
                    .into(),
            });
        }
        Ok(())
    }

    fn build(&self, seed: u64, student: Option<&DenseStack>) -> Dataset {
        let mut tr = rng(seed, Stream::Teacher);
        let (widths, act_fn) = match (self.teacher, student) {
            (TeacherKind::Same, Some(s)) => (s.widths.clone(), s.act_fn),
            _ => (vec![self.d_in, self.d_out], Activation::Identity),
        };
        let layers = widths
            .windows(2)
            .map(|w| {
                (
                    crate::init::layer(&mut tr, Init::Levi, w[0], w[1], 1.0, false).0,
                    w[0],
                    w[1],
                )
            })
            .collect();
        let teacher = Teacher { layers, act_fn };
        // Train and test inputs draw from their own streams, so label noise never shifts the test set.
        let make = |n: usize, noise: f64, stream: Stream| {
            let mut dr = rng(seed, stream);
            let x: Vec<f64> = (0..n * self.d_in).map(|_| normal(&mut dr)).collect();
            let mut y = teacher_outputs(&teacher, &x, n);
            if noise > 0.0 {
                for v in &mut y {
                    *v += noise * normal(&mut dr);
                }
            }
            Split {
                sample: (0..n).collect(),
                x: Features::Dense { x, dim: self.d_in },
                y: Labels::Dense { y, dim: self.d_out },
            }
        };
        let train = make(self.n_train(), self.label_noise, Stream::Data);
        let val = make(self.n_test, 0.0, Stream::Test);
        Dataset {
            train,
            val,
            teacher: Some(teacher),
        }
    }

    fn data_bytes(&self) -> f64 {
        // inputs and labels of both splits in f64, and the teacher's matrix products on them
        let samples = (self.n_train() + self.n_test) as f64;
        samples * (self.d_in + 2 * self.d_out) as f64 * 8.0 * 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(teacher: TeacherKind, noise: f64) -> TeacherStudent {
        TeacherStudent {
            d_in: 40,
            d_out: 3,
            n_train: None,
            lambda: Some(0.5),
            n_test: 2000,
            label_noise: noise,
            teacher,
            eps: 1e-3,
        }
    }

    #[test]
    fn teacher_student_labels_follow_the_teacher_with_the_papers_variance() {
        let d = ts(TeacherKind::Linear, 0.0).build(1, None);
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
        assert!(d == ts(TeacherKind::Linear, 0.0).build(1, None));
        // noise touches training labels only
        let n = ts(TeacherKind::Linear, 0.1).build(1, None);
        assert!(n.val == d.val, "label noise changed the test split");
        assert!(n.train.y != d.train.y && n.train.x == d.train.x);
    }

    #[test]
    fn same_architecture_teacher_is_a_network() {
        let student = DenseStack {
            widths: vec![40, 7, 3],
            act_fn: Activation::Tanh,
        };
        let task = ts(TeacherKind::Same, 0.0);
        let t = task.build(2, Some(&student)).teacher.unwrap();
        assert_eq!(
            t.layers.iter().map(|l| (l.1, l.2)).collect::<Vec<_>>(),
            vec![(40, 7), (7, 3)]
        );
        assert_eq!(t.act_fn, Activation::Tanh);
        assert!(task.check_student(None).is_err());
        assert!(task.check_student(Some(&student)).is_ok());
    }
}
