//! What a task's data looks like to a model: the one thing tasks and models share. A task says
//! its [`IoShape`] and its [`Correctness`] rule; a model is built from its own config and that
//! shape, and never sees the task's config. This module depends only on the leaf `ops` (for
//! [`Activation`]), so neither side imports the other.

use crate::ops::Activation;

/// How a prediction counts as correct.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Correctness {
    /// The argmax of the logits is the label (the first maximum, as PyTorch's argmax).
    Argmax,
    /// The nearest (Euclidean) class target is the label's.
    NearestTarget,
    /// The mean over outputs of the squared error is below eps.
    Threshold(f64),
    /// The sign of the (first) output is the label's sign (labels +-1).
    Sign,
}

/// The inputs and labels of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoShape {
    pub input: Input,
    pub output: Output,
    /// Tokens predicted after the answer, each at the position after the one before, with the
    /// answer itself an input token (teacher forcing): Power et al.'s closing `<eos>`. A model that
    /// takes them reads one row of logits per answer position (the answer, then each of these), and a
    /// sample counts as correct only when every row is. Empty for every other format.
    pub after: Vec<usize>,
}

impl IoShape {
    /// A shape with one answer per sample.
    pub fn new(input: Input, output: Output) -> IoShape {
        IoShape {
            input,
            output,
            after: Vec::new(),
        }
    }

    /// Rows of logits a model reads per sample: the answer and the tokens after it.
    pub fn reads(&self) -> usize {
        1 + self.after.len()
    }
}

/// Inputs of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `positions` token ids, each in 0..vocab.
    Tokens { vocab: usize, positions: usize },
    /// A real vector of `dim` features.
    Dense { dim: usize },
}

/// Labels of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One class out of `n`.
    Classes(usize),
    /// A real vector of `dim` values.
    Values(usize),
}

impl Output {
    /// Words for error messages.
    pub fn describe(self) -> String {
        match self {
            Output::Classes(n) => format!("class labels ({n} classes)"),
            Output::Values(d) => format!("real-valued labels (dimension {d})"),
        }
    }
}

impl Input {
    /// Words for error messages.
    pub fn describe(self) -> String {
        match self {
            Input::Tokens { vocab, positions } => {
                format!("{positions} tokens from a vocabulary of {vocab}")
            }
            Input::Dense { dim } => format!("dense vectors of dimension {dim}"),
        }
    }
}

/// A stack of dense layers, as a built model describes itself to a task that needs a network of
/// the student's architecture (the teacher-student task's `teacher = "same"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseStack {
    /// Layer widths d_in -> hidden... -> d_out.
    pub widths: Vec<usize>,
    /// Activation between layers.
    pub act_fn: Activation,
}
