//! Fourier progress measures of modular addition (Nanda et al. 2023), for token models with an
//! embedding table on `x+y mod p`:
//! - the spectrum of the embeddings: for each frequency k = 1..(p-1)/2 the share of the (centred)
//!   embedding power in cos(w_k x) and sin(w_k x), w_k = 2 pi k / p (Parseval: the shares sum to 1);
//! - the key frequencies: the [`KEY_FREQUENCIES`] largest shares (Nanda et al. found five);
//! - the spectrum of the logits over the p^2 inputs in the directions cos(w_k (a + b)) and
//!   sin(w_k (a + b)), as shares of the logits' centred power;
//! - restricted loss: the training loss of the logits projected (over the input grid, for every
//!   output) onto their mean plus the key frequencies' (a + b) directions; excluded loss: of the
//!   logits with those directions removed.
//!
//! Columns `key_power` (the key frequencies' share of the embedding power), `top_frequency`,
//! `restricted_loss`, `excluded_loss`; `fourier.csv` (step, source `embed` or `logits`, frequency,
//! share); summary fields `key_frequency_1` .. `key_frequency_5` at the end of the run.

use super::{EvalContext, Probe, ProbeSetup};
use crate::files::ExtraTable;
use crate::head::Target;
use crate::snapshot::Snapshot;
use crate::task::modular::Modular;
use std::f64::consts::PI;

/// How many of the strongest embedding frequencies count as key frequencies.
pub const KEY_FREQUENCIES: usize = 5;

pub fn make(s: &ProbeSetup<'_>) -> Option<Box<dyn Probe>> {
    let task = s.config.task.get::<Modular>()?;
    if task.op != "x+y" || task.y_nonzero || task.p < 3 || task.p % 2 == 0 {
        return None;
    }
    let spec = s.model.specs().iter().find(|p| p.name == "embed.W_E")?;
    Some(Box::new(Fourier {
        p: task.p,
        d: spec.shape[1],
        rows: Vec::new(),
        key: Vec::new(),
    }))
}

pub struct Fourier {
    p: usize,
    d: usize,
    /// Rows of `fourier.csv`.
    rows: Vec<Vec<f64>>,
    /// The key frequencies at the last evaluation.
    key: Vec<usize>,
}

/// Shares of the centred power of `rows` (p rows of width d, row x the value at x) at each
/// frequency 1..=(p-1)/2; index 0 is frequency 1.
pub fn spectrum(rows: &[Vec<f64>]) -> Vec<f64> {
    let p = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / p as f64)
        .collect();
    let total: f64 = rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&mean)
                .map(|(a, m)| (a - m).powi(2))
                .sum::<f64>()
        })
        .sum();
    let (cos, sin) = trig(p);
    let (mut c, mut sn) = (vec![0.0; d], vec![0.0; d]);
    (1..=(p - 1) / 2)
        .map(|k| {
            c.fill(0.0);
            sn.fill(0.0);
            for (x, r) in rows.iter().enumerate() {
                let t = k * x % p;
                for j in 0..d {
                    c[j] += r[j] * cos[t];
                    sn[j] += r[j] * sin[t];
                }
            }
            let power: f64 = c.iter().zip(&sn).map(|(a, b)| a * a + b * b).sum();
            if total > 0.0 {
                2.0 * power / (p as f64 * total)
            } else {
                0.0
            }
        })
        .collect()
}

/// cos and sin of 2 pi t / p for t = 0..p: every w_k x is one of them, at t = k x mod p.
fn trig(p: usize) -> (Vec<f64>, Vec<f64>) {
    (0..p)
        .map(|t| {
            let w = 2.0 * PI * t as f64 / p as f64;
            (w.cos(), w.sin())
        })
        .unzip()
}

/// The `n` frequencies (1-based) with the largest shares, strongest first.
pub fn top_frequencies(shares: &[f64], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]).then(a.cmp(&b)));
    order.into_iter().take(n).map(|i| i + 1).collect()
}

/// Logits over the whole input grid, `grid[a * p + b]` a row of `c` outputs: the shares of their
/// power (centred over the grid, per output) in the (a + b) directions of each frequency, and the
/// grid with those directions of `key` kept (`restricted`: plus the mean) or removed (`excluded`).
pub struct LogitFourier {
    pub shares: Vec<f64>,
    pub restricted: Vec<f64>,
    pub excluded: Vec<f64>,
}

pub fn logit_fourier(grid: &[f64], p: usize, c: usize, key: &[usize]) -> LogitFourier {
    let n = p * p;
    // sums over the inputs with a + b = s (mod p), per output: the (a + b) directions see only these
    let mut by_sum = vec![0.0; p * c];
    let mut mean = vec![0.0; c];
    for a in 0..p {
        for b in 0..p {
            let s = (a + b) % p;
            for o in 0..c {
                let v = grid[(a * p + b) * c + o];
                by_sum[s * c + o] += v;
                mean[o] += v / n as f64;
            }
        }
    }
    let total: f64 = (0..n)
        .map(|i| {
            (0..c)
                .map(|o| (grid[i * c + o] - mean[o]).powi(2))
                .sum::<f64>()
        })
        .sum();
    let half = (p - 1) / 2;
    let (cos, sin) = trig(p);
    // coefficients of cos and sin (w_k (a + b)) per output; each direction has squared norm p^2 / 2
    let mut coef = vec![[0.0f64; 2]; (half + 1) * c];
    let mut shares = vec![0.0; half];
    for k in 1..=half {
        let mut power = 0.0;
        for o in 0..c {
            let (mut cs, mut sn) = (0.0, 0.0);
            for s in 0..p {
                cs += by_sum[s * c + o] * cos[k * s % p];
                sn += by_sum[s * c + o] * sin[k * s % p];
            }
            let norm = n as f64 / 2.0;
            coef[k * c + o] = [cs / norm, sn / norm];
            power += (cs * cs + sn * sn) / norm;
        }
        shares[k - 1] = if total > 0.0 { power / total } else { 0.0 };
    }
    // the key directions' part of the logits depends on a + b alone
    let mut part = vec![0.0; p * c];
    for s in 0..p {
        for o in 0..c {
            part[s * c + o] = key
                .iter()
                .map(|&k| {
                    let [cc, ss] = coef[k * c + o];
                    cc * cos[k * s % p] + ss * sin[k * s % p]
                })
                .sum();
        }
    }
    let mut restricted = vec![0.0; n * c];
    let mut excluded = grid.to_vec();
    for a in 0..p {
        for b in 0..p {
            let s = (a + b) % p;
            for o in 0..c {
                let i = (a * p + b) * c + o;
                restricted[i] = mean[o] + part[s * c + o];
                excluded[i] -= part[s * c + o];
            }
        }
    }
    LogitFourier {
        shares,
        restricted,
        excluded,
    }
}

impl Probe for Fourier {
    fn columns(&self) -> Vec<String> {
        [
            "key_power",
            "top_frequency",
            "restricted_loss",
            "excluded_loss",
        ]
        .map(String::from)
        .to_vec()
    }

    fn compute(&mut self, ctx: &EvalContext<'_>) -> Vec<f64> {
        let (p, d) = (self.p, self.d);
        let Some(e) = ctx.params.get("embed.W_E") else {
            return vec![f64::NAN; 4];
        };
        let rows: Vec<Vec<f64>> = (0..p).map(|x| e[x * d..(x + 1) * d].to_vec()).collect();
        let shares = spectrum(&rows);
        self.key = top_frequencies(&shares, KEY_FREQUENCIES.min(shares.len()));
        let key_power: f64 = self.key.iter().map(|&k| shares[k - 1]).sum();
        let step = ctx.step as f64;
        for (i, s) in shares.iter().enumerate() {
            self.rows.push(vec![step, 0.0, (i + 1) as f64, *s]);
        }
        // the answer's logits of every input, train and validation together, in table order
        // (a * p + b); a sample's output may hold rows for tokens after the answer too
        let w = ctx.d_out;
        let c = w / ctx.encoding.reads();
        let mut grid = vec![0.0; p * p * c];
        for (split, out) in [
            (&ctx.data.train, ctx.train_out),
            (&ctx.data.val, ctx.val_out),
        ] {
            for (k, &e) in split.sample.iter().enumerate() {
                grid[e * c..(e + 1) * c].copy_from_slice(&out[k * w..k * w + c]);
            }
        }
        let lf = logit_fourier(&grid, p, c, &self.key);
        for (i, s) in lf.shares.iter().enumerate() {
            self.rows.push(vec![step, 1.0, (i + 1) as f64, *s]);
        }
        let train = &ctx.data.train;
        let loss_of = |g: &[f64]| {
            let total: f64 = (0..train.len())
                .map(|k| {
                    let e = train.sample[k];
                    let label = train.class(k).unwrap_or(0);
                    ctx.loss.eval(&g[e * c..(e + 1) * c], Target::Class(label))
                })
                .sum();
            total / train.len().max(1) as f64
        };
        vec![
            key_power,
            self.key.first().map_or(f64::NAN, |&k| k as f64),
            loss_of(&lf.restricted),
            loss_of(&lf.excluded),
        ]
    }

    fn save(&self, s: &mut Snapshot, name: &str) {
        s.put_rows(&format!("{name}.rows"), &self.rows);
        s.put(
            format!("{name}.key"),
            self.key.iter().map(|&k| k as f64).collect(),
        );
    }

    fn load(&mut self, s: &mut Snapshot, name: &str) -> Result<(), String> {
        self.rows = s.take_rows(&format!("{name}.rows"))?;
        self.key = s
            .take(&format!("{name}.key"))?
            .into_iter()
            .map(|k| k as usize)
            .collect();
        Ok(())
    }

    fn tables(&self) -> Vec<ExtraTable> {
        vec![ExtraTable {
            file: "fourier.csv".into(),
            header: ["step", "source", "frequency", "share"]
                .map(String::from)
                .to_vec(),
            rows: self.rows.clone(),
        }]
    }

    fn summary(&self) -> Vec<(String, Option<f64>)> {
        (0..KEY_FREQUENCIES)
            .map(|i| {
                (
                    format!("key_frequency_{}", i + 1),
                    self.key.get(i).map(|&k| k as f64),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Embeddings built from planted frequencies 3 and 7 (p = 23): the spectrum puts all power there.
    #[test]
    fn the_spectrum_recovers_planted_frequencies() {
        let p = 23;
        let w = |k: f64, x: usize| 2.0 * PI * k * x as f64 / p as f64;
        let rows: Vec<Vec<f64>> = (0..p)
            .map(|x| {
                vec![
                    (w(3.0, x)).cos() + 0.5,
                    2.0 * (w(7.0, x)).sin(),
                    (w(3.0, x)).sin() - 1.0,
                ]
            })
            .collect();
        let s = spectrum(&rows);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12, "Parseval");
        assert_eq!(top_frequencies(&s, 2), vec![7, 3]);
        // power 2 (cos^2 + sin^2 of frequency 3) against 4 (2 sin of frequency 7)
        assert!((s[2] - 2.0 / 6.0).abs() < 1e-12 && (s[6] - 4.0 / 6.0).abs() < 1e-12);
    }

    /// Logits made of key frequencies alone, cos(w_k (a + b - c)) summed over k in {2, 5}: the
    /// restricted logits are the logits (so the restricted loss is the full loss) and the excluded
    /// ones are constant per output.
    #[test]
    fn restricted_logits_of_a_network_built_from_key_frequencies_are_its_logits() {
        let p = 11;
        let key = [2, 5];
        let mut grid = vec![0.0; p * p * p];
        for a in 0..p {
            for b in 0..p {
                for c in 0..p {
                    grid[(a * p + b) * p + c] = key
                        .iter()
                        .map(|&k| {
                            let w = 2.0 * PI * k as f64 / p as f64;
                            (w * (a + b) as f64 - w * c as f64).cos()
                        })
                        .sum::<f64>()
                        + 0.3 * c as f64;
                }
            }
        }
        let lf = logit_fourier(&grid, p, p, &key);
        for (r, g) in lf.restricted.iter().zip(&grid) {
            assert!((r - g).abs() < 1e-10, "{r} vs {g}");
        }
        for (i, e) in lf.excluded.iter().enumerate() {
            assert!((e - 0.3 * (i % p) as f64).abs() < 1e-10);
        }
        assert!(
            (lf.shares[1] + lf.shares[4] - 1.0).abs() < 1e-10,
            "{:?}",
            lf.shares
        );
        let ce = crate::loss::cross_entropy::CrossEntropy { f64: false };
        use crate::loss::Loss;
        let loss = |g: &[f64]| -> f64 {
            (0..p * p)
                .map(|i| {
                    ce.eval(
                        &g[i * p..(i + 1) * p],
                        Target::Class(((i / p) + (i % p)) % p),
                    )
                })
                .sum()
        };
        assert!((loss(&lf.restricted) - loss(&grid)).abs() < 1e-9);
        assert!(loss(&lf.excluded) > loss(&grid) + 0.1);
    }
}
