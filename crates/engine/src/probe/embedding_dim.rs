//! `eff_dim`, the effective dimension of the operand embeddings (Liu et al. 2022, fig. 7):
//! e^S with S = -sum_i s_i ln s_i over the explained-variance ratios s_i of a PCA of the embedding
//! rows of the task's operand tokens (the p numbers, the n! permutations). For token tasks on the
//! binary-operation tables with an `embed.W_E` table.

use super::{EvalContext, Probe, ProbeSetup};
use faer::Mat;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let operands = s.config.task.operands()?;
    let spec = s.model.specs().iter().find(|p| p.name == "embed.W_E")?;
    Some(Box::new(EmbeddingDim {
        operands,
        d: spec.shape[1],
    }))
}

pub struct EmbeddingDim {
    operands: usize,
    d: usize,
}

/// e^(entropy of the PCA explained-variance ratios) of `rows` (n rows of width d).
pub fn effective_dimension(rows: &[Vec<f64>]) -> f64 {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    if n < 2 || d == 0 {
        return f64::NAN;
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
        .collect();
    // the covariance's eigenvalues are the variances along the principal axes
    let cov = Mat::<f64>::from_fn(d, d, |i, j| {
        rows.iter()
            .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
            .sum::<f64>()
            / n as f64
    });
    let Ok(eig) = cov.self_adjoint_eigenvalues(faer::Side::Lower) else {
        return f64::NAN;
    };
    let total: f64 = eig.iter().map(|&x| x.max(0.0)).sum();
    if total <= 0.0 {
        return f64::NAN;
    }
    let entropy: f64 = eig
        .iter()
        .map(|&x| x.max(0.0) / total)
        .filter(|&s| s > 0.0)
        .map(|s| -s * s.ln())
        .sum();
    entropy.exp()
}

impl Probe for EmbeddingDim {
    fn columns(&self) -> Vec<String> {
        vec!["eff_dim".into()]
    }
    fn compute(&mut self, c: &EvalContext<'_>) -> Vec<f64> {
        let Some(e) = c.params.get("embed.W_E") else {
            return vec![f64::NAN];
        };
        let rows: Vec<Vec<f64>> = (0..self.operands)
            .map(|x| e[x * self.d..(x + 1) * self.d].to_vec())
            .collect();
        vec![effective_dimension(&rows)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_dimension_counts_equal_directions() {
        // points spread equally along 3 orthogonal axes of R^5: e^(ln 3) = 3
        let mut rows = Vec::new();
        for axis in 0..3 {
            for sign in [-1.0, 1.0] {
                let mut r = vec![0.0; 5];
                r[axis] = sign;
                rows.push(r);
            }
        }
        assert!((effective_dimension(&rows) - 3.0).abs() < 1e-10);
        // a line: 1; unequal variances 4:1 on two axes: e^H(0.8, 0.2)
        let line: Vec<Vec<f64>> = (0..7).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert!((effective_dimension(&line) - 1.0).abs() < 1e-10);
        let two: Vec<Vec<f64>> = vec![
            vec![2.0, 0.0],
            vec![-2.0, 0.0],
            vec![0.0, 1.0],
            vec![0.0, -1.0],
        ];
        let h: f64 = -(0.8f64 * 0.8f64.ln() + 0.2 * 0.2f64.ln());
        assert!((effective_dimension(&two) - h.exp()).abs() < 1e-10);
    }
}
