//! Binary operations mod p (Power et al. 2022): every equation `x op y = c (mod p)` over
//! 0 <= x, y < p (y != 0 for the operations that divide), split at random into train and validation.
//!
//! Keys: `p`, `op` (one of [`OPS`], written as Power et al. write them), `train` (a count or a
//! fraction of all equations, default 0.5), `noise` (fraction of training labels made wrong),
//! `format` (see [`super::binary_op`]; default `"a op b ="`). Division needs p prime (the inverse
//! of y is y^(p-2)).

use super::binary_op::{SplitSettings, Table};
use super::{Dataset, Task};
use crate::files::ExtraTable;
use crate::reader::{ConfigError, Reader};
use crate::shape::{DenseStack, IoShape};
use serde::Serialize;
use std::sync::Arc;

/// The operations, by the names configs use.
pub const OPS: &[&str] = &[
    "x+y",
    "x-y",
    "x*y",
    "x/y",
    "x^2+y^2",
    "x^2+xy+y^2",
    "x^2+xy+y^2+x",
    "x^3+xy",
    "x^3+xy^2+y",
    "(x//y)if(y%2==1)else(x-y)",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Modular {
    pub p: usize,
    pub op: String,
    /// y runs over 1..p instead of 0..p (Grokfast's x * y; always so for division).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub y_nonzero: bool,
    #[serde(flatten)]
    pub split: SplitSettings,
}

fn divides(op: &str) -> bool {
    op.contains('/')
}

fn is_prime(p: usize) -> bool {
    p >= 2
        && (2..)
            .take_while(|d| d * d <= p)
            .all(|d| !p.is_multiple_of(d))
}

/// x^e mod p.
fn pow_mod(x: u64, mut e: u64, p: u64) -> u64 {
    let (mut base, mut acc) = (x % p, 1 % p);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        e >>= 1;
    }
    acc
}

/// The answer of `x op y` mod p (p prime for division; y != 0 there).
pub fn apply(op: &str, x: usize, y: usize, p: usize) -> usize {
    let (x, y, m) = (x as u64, y as u64, p as u64);
    let r = match op {
        "x+y" => x + y,
        "x-y" => x + m - y,
        "x*y" => x * y,
        "x/y" => x * pow_mod(y, m - 2, m),
        "x^2+y^2" => x * x + y * y,
        "x^2+xy+y^2" => x * x + x * y + y * y,
        "x^2+xy+y^2+x" => x * x + x * y + y * y + x,
        "x^3+xy" => x * x * x + x * y,
        "x^3+xy^2+y" => x * x * x + x * y * y + y,
        "(x//y)if(y%2==1)else(x-y)" => {
            if y % 2 == 1 {
                x / y
            } else {
                x + m - y
            }
        }
        _ => unreachable!("operations are checked when the config is read"),
    };
    (r % m) as usize
}

/// Every equation of `op` mod p, x-major; y from 1 when `y_nonzero` or the operation divides.
pub fn table(op: &str, p: usize, y_nonzero: bool) -> Table {
    let y0 = usize::from(divides(op) || y_nonzero);
    let equations = (0..p)
        .flat_map(|x| (y0..p).map(move |y| (x, y)))
        .map(|(x, y)| (x, y, apply(op, x, y, p)))
        .collect();
    Table {
        equations,
        v: p,
        c: p,
    }
}

pub fn read(r: &mut Reader) -> Result<Arc<dyn Task>, ConfigError> {
    // p^3 stays far below u64 for p <= 10^4, and p^2 equations must fit in memory
    let p = r.usize_or("p", 97, 2, 10_000)?;
    let op = r.choice_or("op", "x+y", OPS)?;
    if divides(&op) && !is_prime(p) {
        return Err(r.invalid(
            "p",
            &toml::Value::Integer(p as i64),
            format!("a prime for op = {op:?} (division needs every y != 0 to be invertible)"),
        ));
    }
    let y_nonzero = r.bool_or("y_nonzero", false)?;
    let total = p * (p - usize::from(divides(&op) || y_nonzero));
    let split = SplitSettings::read(r, total, "a op b =")?;
    Ok(Arc::new(Modular {
        p,
        op,
        y_nonzero,
        split,
    }))
}

impl crate::choice::Kind for Modular {
    fn kind(&self) -> &'static str {
        "modular"
    }
}

impl Modular {
    fn total(&self) -> usize {
        self.p * (self.p - usize::from(divides(&self.op) || self.y_nonzero))
    }
}

impl Task for Modular {
    fn shape(&self) -> IoShape {
        self.split.format.shape(self.p, self.p)
    }

    fn n_train(&self) -> usize {
        self.split.train.count(self.total())
    }

    fn n_val(&self) -> usize {
        self.total() - self.n_train()
    }

    fn default_model(&self) -> &'static str {
        self.split.format.default_model()
    }

    fn operands(&self) -> Option<usize> {
        Some(self.p)
    }

    fn build(&self, seed: u64, _student: Option<&DenseStack>) -> Dataset {
        table(&self.op, self.p, self.y_nonzero).dataset(&self.split, seed)
    }

    fn data_bytes(&self) -> f64 {
        super::binary_op::data_bytes(self.split.format, self.p, self.total())
    }

    fn tables(&self, d: &Dataset) -> Vec<ExtraTable> {
        vec![table(&self.op, self.p, self.y_nonzero).split_table(d)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Features;
    use crate::task::binary_op::Format;

    /// Each operation's table on small p against a direct computation in signed integers.
    #[test]
    fn every_operation_matches_a_direct_computation() {
        for p in [5usize, 7, 11] {
            let pi = p as i64;
            let md = |v: i64| v.rem_euclid(pi) as usize;
            for op in OPS {
                let t = table(op, p, false);
                let expected = if divides(op) { p * (p - 1) } else { p * p };
                assert_eq!(t.equations.len(), expected, "{op}");
                for &(x, y, c) in &t.equations {
                    let (xi, yi) = (x as i64, y as i64);
                    let direct = match *op {
                        "x+y" => md(xi + yi),
                        "x-y" => md(xi - yi),
                        "x*y" => md(xi * yi),
                        // the c with c * y = x
                        "x/y" => (0..p).find(|&c| md(c as i64 * yi) == x).unwrap(),
                        "x^2+y^2" => md(xi * xi + yi * yi),
                        "x^2+xy+y^2" => md(xi * xi + xi * yi + yi * yi),
                        "x^2+xy+y^2+x" => md(xi * xi + xi * yi + yi * yi + xi),
                        "x^3+xy" => md(xi * xi * xi + xi * yi),
                        "x^3+xy^2+y" => md(xi * xi * xi + xi * yi * yi + yi),
                        "(x//y)if(y%2==1)else(x-y)" => {
                            if yi % 2 == 1 {
                                md(xi / yi)
                            } else {
                                md(xi - yi)
                            }
                        }
                        _ => unreachable!(),
                    };
                    assert_eq!(c, direct, "{op} with x = {x}, y = {y}, p = {p}");
                }
            }
        }
        // spot values by hand: 3 / 4 mod 7 = 6 (6 * 4 = 24 = 3 mod 7); 5 - 6 mod 7 = 6
        assert_eq!(apply("x/y", 3, 4, 7), 6);
        assert_eq!(apply("x-y", 5, 6, 7), 6);
        assert_eq!(apply("(x//y)if(y%2==1)else(x-y)", 6, 3, 7), 2);
    }

    #[test]
    fn formats_splits_noise_and_determinism() {
        let read = |extra: &str| {
            let text = format!(
                "[task]\nkind = \"modular\"\np = 7\n{extra}\n[optim.all]\nparams = [\"*\"]\n"
            );
            crate::Config::from_toml(&text, "t").map(|c| c.task)
        };
        let task = read("train = 0.5\nformat = \"a op b =\"\nmodel = 0").unwrap_err();
        assert!(task.to_string().contains("task.model"), "{task}");
        let t = read("train = 0.5").unwrap();
        let d = t.build(1, None);
        assert_eq!((d.train.len(), d.val.len()), (25, 24));
        let Features::Tokens(tok) = &d.train.x else {
            panic!("tokens")
        };
        assert_eq!(tok.len(), 4);
        assert!(tok[1].iter().all(|&o| o == 7) && tok[3].iter().all(|&e| e == 8));
        for (k, (a, b)) in tok[0].iter().zip(&tok[2]).enumerate() {
            assert_eq!(d.train.class(k), Some((a + b) % 7));
        }
        assert_eq!(d, t.build(1, None));
        assert_ne!(d.train.sample, t.build(2, None).train.sample);
        // noise changes only training labels, and every changed label is wrong
        let noisy = read("train = 0.5\nnoise = 0.5").unwrap().build(1, None);
        assert_eq!(noisy.val, d.val);
        assert_eq!(noisy.train.sample, d.train.sample);
        let wrong = (0..d.train.len())
            .filter(|&k| noisy.train.class(k) != d.train.class(k))
            .count();
        assert!((6..=19).contains(&wrong), "{wrong} of 25 labels changed");
        // dense formats
        let oh = read("format = \"one-hot\"").unwrap().build(1, None);
        let Features::Dense { x, dim } = &oh.train.x else {
            panic!("dense")
        };
        assert_eq!(*dim, 14);
        let (a, b, _) = table("x+y", 7, false).equations[oh.train.sample[0]];
        let row = &x[..14];
        assert_eq!(row.iter().sum::<f64>(), 2.0);
        assert_eq!((row[a], row[7 + b]), (1.0, 1.0));
        assert_eq!(
            Format::TwoHot.shape(7, 7).input,
            crate::shape::Input::Dense { dim: 7 }
        );
        // bad input names its key
        let text = "[task]\nkind = \"modular\"\np = 8\nop = \"x/y\"\n";
        let e = crate::Config::from_toml(text, "t").unwrap_err().to_string();
        assert!(e.contains("task.p") && e.contains("prime"), "{e}");
        let e = read("op = \"x%y\"").unwrap_err().to_string();
        assert!(e.contains("task.op") && e.contains("x^3+xy"), "{e}");
        let e = read("train = 1.0").unwrap_err().to_string();
        assert!(e.contains("task.train"), "{e}");
    }
}
