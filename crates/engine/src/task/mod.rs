//! Tasks: one file each, registered in [`TASKS`]. A task builds its dataset (train and validation
//! splits) deterministically from its settings and a seed, says the [`IoShape`] of its data and,
//! for real-valued labels, how a prediction counts as correct. It never reads a model's config.

pub mod addition;
pub mod binary_op;
pub mod modular;
pub mod permutation;
pub mod sparse_parity;
pub mod teacher_student;

use crate::choice::{Choice, Entry, Kind};
use crate::files::ExtraTable;
use crate::reader::ConfigError;
use crate::shape::{Correctness, DenseStack, IoShape};

/// Every task, by kind (one line each).
pub const TASKS: &[Entry<dyn Task>] = &[
    Entry {
        kind: "addition",
        read: addition::read,
    },
    Entry {
        kind: "teacher-student",
        read: teacher_student::read,
    },
    Entry {
        kind: "sparse-parity",
        read: sparse_parity::read,
    },
    Entry {
        kind: "modular",
        read: modular::read,
    },
    Entry {
        kind: "permutation",
        read: permutation::read,
    },
];

/// The `[task]` table of a config.
pub type TaskConfig = Choice<dyn Task>;

pub trait Task: Kind {
    /// Inputs and labels as a model sees them.
    fn shape(&self) -> IoShape;
    /// Training-set size (batch sizes are checked against it).
    fn n_train(&self) -> usize;
    /// Validation-set size.
    fn n_val(&self) -> usize;
    /// The rule for real-valued labels; None for class labels, whose rule the model's head decides.
    fn correctness(&self) -> Option<Correctness> {
        None
    }
    /// The model kind a config gets when it names none.
    fn default_model(&self) -> &'static str;
    /// Refuses a student it cannot work with (a task whose labels come from a network of the
    /// student's architecture needs a student that describes itself as a dense stack).
    fn check_student(&self, _student: Option<&DenseStack>) -> Result<(), ConfigError> {
        Ok(())
    }
    /// The dataset of one seed. `student` is the model's architecture where it has one.
    fn build(&self, seed: u64, student: Option<&DenseStack>) -> Dataset;
    /// Bytes the built dataset will hold, estimated before building (the memory check).
    fn data_bytes(&self) -> f64;
    /// Tables a run writes about its data (`split.csv`).
    fn tables(&self, _data: &Dataset) -> Vec<ExtraTable> {
        Vec::new()
    }
    /// Binary-operation tasks (a table of `a op b = c`): the number of operands, which are tokens
    /// 0..n of the inputs (probes of those tasks read their embeddings); None for other tasks.
    fn operands(&self) -> Option<usize> {
        None
    }
    /// Online tasks: a fresh training batch of `b` samples for step `step` of the run with this
    /// seed (None: the task trains on its fixed training split).
    fn fresh_batch(&self, _seed: u64, _step: usize, _b: usize) -> Option<Split> {
        None
    }
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
    /// Class label of sample k, None for real-valued labels.
    pub fn class(&self, k: usize) -> Option<usize> {
        match &self.y {
            Labels::Classes(c) => Some(c[k]),
            Labels::Dense { .. } => None,
        }
    }
}

/// A network that labelled the data (the teacher of the teacher-student task): weights
/// [d_in, d_out] per layer, row-major, and the activation between layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    pub layers: Vec<(Vec<f64>, usize, usize)>,
    pub act_fn: crate::ops::Activation,
}

/// A built dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub train: Split,
    pub val: Split,
    /// The network that labelled the data, for tasks that have one.
    pub teacher: Option<Teacher>,
}

impl Dataset {
    /// Whether each sample of the task's full list trains, for tasks whose two splits partition
    /// one list (addition: indexed like `pairs(p)`).
    pub fn train_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.train.len() + self.val.len()];
        for &s in &self.train.sample {
            if let Some(m) = mask.get_mut(s) {
                *m = true;
            }
        }
        mask
    }
}
