//! Hook points, as TransformerLens has them: every activation of interest passes
//! [`Hooks::point`] under its name (`hook_embed`, `decoder.0.hook_post`, `mlp.0.hook_pre`, ...).
//! A point can record the activation (for probes that read intermediate activations) and can
//! multiply it by a mask (for probes that switch hidden units off). With nothing asked for, a point
//! returns its input untouched, so the training step pays one empty check per point.

use burn::prelude::*;

/// Which activations to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Capture {
    #[default]
    Nothing,
    All,
    Only(Vec<String>),
}

/// What a forward pass should record and where it should mask.
#[derive(Default)]
pub struct Hooks {
    capture: Capture,
    /// Recorded activations [M, B, width], in the order the forward pass met them.
    cache: Vec<(String, Tensor<3>)>,
    /// Host masks by hook name: `width` values (every member) or `M * width` (one row per member),
    /// multiplied into the activation broadcast over the batch.
    masks: Vec<(String, Vec<f64>)>,
    /// A training step's dropout (models with dropout draw their masks from it).
    dropout: Option<crate::dropout::Dropout>,
}

impl Hooks {
    /// Records nothing and masks nothing (the training step).
    pub fn none() -> Hooks {
        Hooks::default()
    }

    /// A training step: records nothing, and models with dropout drop units for these members'
    /// seeds at this step.
    pub fn training(seeds: Vec<u64>, step: u64) -> Hooks {
        Hooks {
            dropout: Some(crate::dropout::Dropout { seeds, step }),
            ..Hooks::default()
        }
    }

    /// The training step's dropout, None at evaluation.
    pub fn dropout(&self) -> Option<&crate::dropout::Dropout> {
        self.dropout.as_ref()
    }

    /// Records every hook point.
    pub fn capture_all() -> Hooks {
        Hooks {
            capture: Capture::All,
            ..Hooks::default()
        }
    }

    /// Records the named hook points.
    pub fn capture(names: &[&str]) -> Hooks {
        Hooks {
            capture: Capture::Only(names.iter().map(|s| s.to_string()).collect()),
            ..Hooks::default()
        }
    }

    /// Multiplies the activation at hook point `name` by `mask` (length `width` for every member,
    /// or `M * width`, one row per member).
    pub fn with_mask(mut self, name: &str, mask: Vec<f64>) -> Hooks {
        self.masks.push((name.to_string(), mask));
        self
    }

    /// Whether every point returns its input untouched (callers skip reshaping for it).
    pub fn idle(&self) -> bool {
        self.capture == Capture::Nothing && self.masks.is_empty()
    }

    /// The hook point `name`: records and masks as asked, and returns the (masked) activation.
    pub fn point(&mut self, name: &str, t: Tensor<3>) -> Tensor<3> {
        if self.idle() {
            return t;
        }
        let mut t = t;
        if let Some((_, mask)) = self.masks.iter().find(|(n, _)| n == name) {
            let [m, _, w] = t.dims();
            let rows = if mask.len() == w { 1 } else { m };
            assert_eq!(
                mask.len(),
                rows * w,
                "mask for {name} has {} values for width {w} and {m} members",
                mask.len()
            );
            let mt = Tensor::<3>::from_data(
                TensorData::new(mask.clone(), [rows, 1, w]),
                (&t.device(), t.dtype()),
            );
            t = t * mt;
        }
        let wanted = match &self.capture {
            Capture::Nothing => false,
            Capture::All => true,
            Capture::Only(names) => names.iter().any(|n| n == name),
        };
        if wanted {
            self.cache.push((name.to_string(), t.clone()));
        }
        t
    }

    /// A recorded activation.
    pub fn get(&self, name: &str) -> Option<&Tensor<3>> {
        self.cache.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// A recorded activation as host f64 values, row-major [M, B, width].
    pub fn host(&self, name: &str) -> Option<Vec<f64>> {
        self.get(name)
            .map(|t| t.clone().into_data().iter::<f64>().collect())
    }

    /// Names of the recorded activations, in the order the forward pass met them.
    pub fn recorded(&self) -> Vec<&str> {
        self.cache.iter().map(|(n, _)| n.as_str()).collect()
    }
}
