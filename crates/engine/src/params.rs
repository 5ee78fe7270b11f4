//! The host-side parameter store: the truth of a run's (or an ensemble's) weights, in f32 or f64.
//!
//! Each parameter is one contiguous buffer laid out [member, element], so a member's slice is
//! contiguous: the optimiser updates it in one fused pass with that member's own hyperparameters,
//! probes read it without touching burn, and the trainer hands it to burn as a [M, rows, cols] tensor.

use crate::model::ParamSpec;
use burn::prelude::*;
use burn::tensor::DType;

/// Floating-point precision of parameters and computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F64 => DType::F64,
        }
    }
}

/// A buffer of either precision.
#[derive(Debug, Clone, PartialEq)]
pub enum Buf {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Buf {
    pub fn from_f64(v: Vec<f64>, precision: Precision) -> Buf {
        match precision {
            Precision::F32 => Buf::F32(v.into_iter().map(|x| x as f32).collect()),
            Precision::F64 => Buf::F64(v),
        }
    }
    pub fn zeros_like(&self) -> Buf {
        match self {
            Buf::F32(v) => Buf::F32(vec![0.0; v.len()]),
            Buf::F64(v) => Buf::F64(vec![0.0; v.len()]),
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Buf::F32(v) => v.len(),
            Buf::F64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Elements `range` as f64.
    pub fn to_f64(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        match self {
            Buf::F32(v) => v[range].iter().map(|&x| x as f64).collect(),
            Buf::F64(v) => v[range].to_vec(),
        }
    }
    fn tensor(&self, shape: [usize; 3], device: &Device) -> Tensor<3> {
        match self {
            Buf::F32(v) => {
                Tensor::from_data(TensorData::new(v.clone(), shape), (device, DType::F32))
            }
            Buf::F64(v) => {
                Tensor::from_data(TensorData::new(v.clone(), shape), (device, DType::F64))
            }
        }
    }
}

/// Parameters of M members of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub specs: Vec<ParamSpec>,
    pub members: usize,
    pub precision: Precision,
    /// One buffer per spec, [members * numel].
    pub values: Vec<Buf>,
}

impl Params {
    /// Stacks per-member initial values (`inits[member][param]`).
    pub fn from_members(
        specs: Vec<ParamSpec>,
        inits: Vec<Vec<Vec<f64>>>,
        precision: Precision,
    ) -> Params {
        let members = inits.len();
        let values = (0..specs.len())
            .map(|k| {
                let mut all = Vec::with_capacity(members * specs[k].numel());
                for m in &inits {
                    assert_eq!(
                        m[k].len(),
                        specs[k].numel(),
                        "initial values of {} have the wrong size",
                        specs[k].name
                    );
                    all.extend_from_slice(&m[k]);
                }
                Buf::from_f64(all, precision)
            })
            .collect();
        Params {
            specs,
            members,
            precision,
            values,
        }
    }

    /// Every parameter as a [M, rows, cols] tensor on `device`.
    pub fn tensors(&self, device: &Device) -> Vec<Tensor<3>> {
        self.specs
            .iter()
            .zip(&self.values)
            .map(|(s, b)| {
                let [r, c] = s.rows_cols();
                b.tensor([self.members, r, c], device)
            })
            .collect()
    }

    /// One member's values of parameter `k`, as f64.
    pub fn member(&self, k: usize, member: usize) -> Vec<f64> {
        let n = self.specs[k].numel();
        self.values[k].to_f64(member * n..(member + 1) * n)
    }

    /// Squared Frobenius norm of one member's parameter `k`.
    pub fn norm_sq(&self, k: usize, member: usize) -> f64 {
        let n = self.specs[k].numel();
        match &self.values[k] {
            Buf::F32(v) => v[member * n..(member + 1) * n]
                .iter()
                .map(|&x| (x as f64) * (x as f64))
                .sum(),
            Buf::F64(v) => v[member * n..(member + 1) * n].iter().map(|x| x * x).sum(),
        }
    }

    /// Index of a parameter by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// True when every value of a member is finite.
    pub fn member_finite(&self, member: usize) -> bool {
        (0..self.specs.len()).all(|k| {
            let n = self.specs[k].numel();
            match &self.values[k] {
                Buf::F32(v) => v[member * n..(member + 1) * n]
                    .iter()
                    .all(|x| x.is_finite()),
                Buf::F64(v) => v[member * n..(member + 1) * n]
                    .iter()
                    .all(|x| x.is_finite()),
            }
        })
    }
}
