//! The host-side parameter store: the truth of a run's (or an ensemble's) weights, in f32 or f64.
//!
//! Each parameter is one contiguous buffer laid out [member, element], so a member's slice is
//! contiguous: the optimiser updates it in one fused pass with that member's own hyperparameters,
//! probes read it without touching burn, and the trainer hands it to burn as a [M, rows, cols] tensor.
//! Parameters are found by name (TransformerLens words: `embed.W_E`, `decoder.0.W`), never by
//! position: [`ParamTensors::get`] for models, [`MemberParams::get`] for probes.

use burn::prelude::*;
use burn::tensor::DType;

/// One parameter of one member: its name and shape as written to checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl ParamSpec {
    pub fn new(name: &str, shape: &[usize]) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// The compute view of one member: all leading dimensions folded into rows.
    pub fn rows_cols(&self) -> [usize; 2] {
        let cols = *self.shape.last().unwrap_or(&1);
        [self.numel() / cols.max(1), cols]
    }
}

/// Every parameter of M members as [M, rows, cols] tensors, looked up by name.
pub struct ParamTensors<'a> {
    specs: &'a [ParamSpec],
    tensors: Vec<Tensor<3>>,
}

impl<'a> ParamTensors<'a> {
    /// Tensors in `specs` order.
    pub fn new(specs: &'a [ParamSpec], tensors: Vec<Tensor<3>>) -> ParamTensors<'a> {
        assert_eq!(specs.len(), tensors.len(), "one tensor per parameter");
        ParamTensors { specs, tensors }
    }

    /// The parameter called `name`. A model asking for a name it did not declare in its specs is a
    /// bug in the model, hence the panic.
    pub fn get(&self, name: &str) -> &Tensor<3> {
        match self.specs.iter().position(|s| s.name == name) {
            Some(k) => &self.tensors[k],
            None => panic!("no parameter named {name}"),
        }
    }

    /// The tensors in spec order (to collect gradients).
    pub fn tensors(&self) -> &[Tensor<3>] {
        &self.tensors
    }

    /// Marks every tensor as an autodiff leaf.
    pub fn require_grad(self) -> ParamTensors<'a> {
        ParamTensors {
            specs: self.specs,
            tensors: self.tensors.into_iter().map(Tensor::require_grad).collect(),
        }
    }
}

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
    pub fn tensors(&self, device: &Device) -> ParamTensors<'_> {
        let tensors = self
            .specs
            .iter()
            .zip(&self.values)
            .map(|(s, b)| {
                let [r, c] = s.rows_cols();
                b.tensor([self.members, r, c], device)
            })
            .collect();
        ParamTensors::new(&self.specs, tensors)
    }

    /// One member's view, by name.
    pub fn member_view(&self, member: usize) -> MemberParams<'_> {
        MemberParams {
            params: self,
            member,
        }
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

/// One member's parameters, looked up by name (what a probe reads).
#[derive(Clone, Copy)]
pub struct MemberParams<'a> {
    params: &'a Params,
    member: usize,
}

impl<'a> MemberParams<'a> {
    /// Names and shapes, in spec order.
    pub fn specs(&self) -> &'a [ParamSpec] {
        &self.params.specs
    }

    /// The values of `name` as f64, None when the model has no such parameter.
    pub fn get(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.params.index(name)?;
        Some(self.params.member(k, self.member))
    }

    /// Squared Frobenius norm of parameter `k` (spec order).
    pub fn norm_sq(&self, k: usize) -> f64 {
        self.params.norm_sq(k, self.member)
    }

    /// Every parameter's values, in spec order.
    pub fn all(&self) -> Vec<Vec<f64>> {
        (0..self.params.specs.len())
            .map(|k| self.params.member(k, self.member))
            .collect()
    }
}
