//! Permutation groups S_n (Power et al. 2022: S5): every equation `a op b = c` over the n!
//! permutations, each a token, split at random into train and validation.
//!
//! Keys: `n` (3, 4 or 5), `op`: `"ab"` (composition, (ab)(i) = a(b(i))), `"aba^-1"` (conjugation) or
//! `"aba"`; `train`, `noise`, `format` as for every binary operation (see [`super::binary_op`];
//! default `"a op b ="`). Permutations are numbered in lexicographic order of their images
//! (0 is the identity).

use super::binary_op::{SplitSettings, Table};
use super::{Dataset, Task};
use crate::files::ExtraTable;
use crate::reader::{ConfigError, Reader};
use crate::shape::{DenseStack, IoShape};
use serde::Serialize;
use std::sync::Arc;

pub const OPS: &[&str] = &["ab", "aba^-1", "aba"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permutation {
    pub n: usize,
    pub op: String,
    #[serde(flatten)]
    pub split: SplitSettings,
}

/// The n! permutations of 0..n in lexicographic order of their images.
pub fn elements(n: usize) -> Vec<Vec<usize>> {
    fn rec(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                rec(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    rec(&mut Vec::new(), n, &mut out);
    out
}

/// (a b)(i) = a(b(i)).
pub fn compose(a: &[usize], b: &[usize]) -> Vec<usize> {
    b.iter().map(|&i| a[i]).collect()
}

pub fn inverse(a: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; a.len()];
    for (i, &ai) in a.iter().enumerate() {
        inv[ai] = i;
    }
    inv
}

/// Every equation of `op` in S_n, a-major.
pub fn table(op: &str, n: usize) -> Table {
    let el = elements(n);
    let index = |p: &[usize]| {
        el.binary_search_by(|q| q.as_slice().cmp(p))
            .expect("a permutation")
    };
    let mut equations = Vec::with_capacity(el.len() * el.len());
    for (i, a) in el.iter().enumerate() {
        for (j, b) in el.iter().enumerate() {
            let c = match op {
                "ab" => compose(a, b),
                "aba^-1" => compose(&compose(a, b), &inverse(a)),
                "aba" => compose(&compose(a, b), a),
                _ => unreachable!("operations are checked when the config is read"),
            };
            equations.push((i, j, index(&c)));
        }
    }
    Table {
        equations,
        v: el.len(),
        c: el.len(),
    }
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Task>, ConfigError> {
    let n = r.usize_or("n", 5, 3, 5)?;
    let op = r.choice_or("op", "ab", OPS)?;
    let order: usize = (1..=n).product();
    let split = SplitSettings::read(r, order * order, "a op b =")?;
    Ok(Arc::new(Permutation { n, op, split }))
}

impl crate::choice::Kind for Permutation {
    fn kind(&self) -> &'static str {
        "permutation"
    }
}

impl Permutation {
    fn order(&self) -> usize {
        (1..=self.n).product()
    }
}

impl Task for Permutation {
    fn shape(&self) -> IoShape {
        self.split.format.shape(self.order(), self.order())
    }

    fn n_train(&self) -> usize {
        self.split.train.count(self.order().pow(2))
    }

    fn n_val(&self) -> usize {
        self.order().pow(2) - self.n_train()
    }

    fn default_model(&self) -> &'static str {
        self.split.format.default_model()
    }

    fn operands(&self) -> Option<usize> {
        Some(self.order())
    }

    fn build(&self, seed: u64, _student: Option<&DenseStack>) -> Dataset {
        table(&self.op, self.n).dataset(&self.split, seed)
    }

    fn data_bytes(&self) -> f64 {
        super::binary_op::data_bytes(self.split.format, self.order(), self.order().pow(2))
    }

    fn tables(&self, d: &Dataset) -> Vec<ExtraTable> {
        vec![table(&self.op, self.n).split_table(d)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composition_is_associative_with_a_latin_square_cayley_table() {
        for n in [3, 4] {
            let el = elements(n);
            let order: usize = (1..=n).product();
            assert_eq!(el.len(), order);
            assert_eq!(el[0], (0..n).collect::<Vec<_>>(), "0 is the identity");
            let t = table("ab", n);
            let mul = |a: usize, b: usize| t.equations[a * order + b].2;
            for a in 0..order {
                for b in 0..order {
                    for c in 0..order {
                        assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
                    }
                }
                // every row and column of the Cayley table is a permutation of the group
                let mut row: Vec<usize> = (0..order).map(|b| mul(a, b)).collect();
                let mut col: Vec<usize> = (0..order).map(|b| mul(b, a)).collect();
                row.sort();
                col.sort();
                assert_eq!(row, (0..order).collect::<Vec<_>>());
                assert_eq!(col, row);
                assert_eq!(mul(0, a), a);
            }
        }
        // S3 is not abelian; conjugation fixes the identity and aba = (ab)a
        let t = table("ab", 3);
        assert!(
            (0..6).any(|a| (0..6).any(|b| t.equations[a * 6 + b].2 != t.equations[b * 6 + a].2))
        );
        let conj = table("aba^-1", 3);
        assert!((0..6).all(|a| conj.equations[a * 6].2 == 0));
        let aba = table("aba", 3);
        for a in 0..6 {
            for b in 0..6 {
                let ab = t.equations[a * 6 + b].2;
                assert_eq!(aba.equations[a * 6 + b].2, t.equations[ab * 6 + a].2);
            }
        }
    }

    #[test]
    fn s5_task_reads_and_splits() {
        let text =
            "[task]\nkind = \"permutation\"\nn = 5\ntrain = 0.3\n[optim.all]\nparams = [\"*\"]\n";
        let c = crate::Config::from_toml(text, "t").unwrap();
        assert_eq!(c.task.n_train() + c.task.n_val(), 14400);
        assert_eq!(c.task.n_train(), 4320);
        let e = crate::Config::from_toml("[task]\nkind = \"permutation\"\nn = 6\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("task.n"), "{e}");
    }
}
