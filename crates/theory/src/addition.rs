//! Effective theory of representation learning for (non-modular) addition, after Liu, Kitouni, Nolte,
//! Michaud, Tegmark and Williams (NeurIPS 2022, arXiv 2205.10343).
//!
//! This module owns the combinatorics and linear algebra of parallelograms: the sample set of unordered
//! pairs, the parallelograms P0 and P0(D), the representation quality index (RQI), the predicted
//! accuracy Acc_hat, the effective loss and its gradient flow, and the linear system A(P0(D)) whose
//! nullity says whether a training set pins the embeddings down to E_k = a + k b.
//!
//! Embeddings are passed as `&[Vec<f64>]` of length p (one d-dimensional vector per token).

use faer::{Mat, Side};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// The default RQI tolerance: the authors' code counts a parallelogram as satisfied when the mean over
/// dimensions of the squared residual of standardised embeddings is below 0.01.
pub const RQI_DELTA: f64 = 0.01;

/// All unordered pairs (i, j) with i <= j < p, in lexicographic order: the samples of the task.
/// Their index in this list is the sample index used everywhere else.
pub fn pairs(p: usize) -> Vec<(usize, usize)> {
    (0..p).flat_map(|i| (i..p).map(move |j| (i, j))).collect()
}

/// A parallelogram (i, j, m, n): i + j = m + n with (i, j) != (m, n), stored as token indices and as
/// the sample indices of its two pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelogram {
    pub tokens: [usize; 4],
    pub samples: [usize; 2],
}

/// Parallelograms whose two pairs are both in `in_set` (indexed like [`pairs`]). With every sample in
/// the set this is P0, otherwise P0(D). Each unordered couple of pairs appears once.
pub fn parallelograms(p: usize, in_set: &[bool]) -> Vec<Parallelogram> {
    let ps = pairs(p);
    assert_eq!(
        in_set.len(),
        ps.len(),
        "membership mask must cover all {} pairs",
        ps.len()
    );
    let mut by_sum: Vec<Vec<usize>> = vec![Vec::new(); 2 * p - 1];
    for (k, &(i, j)) in ps.iter().enumerate() {
        if in_set[k] {
            by_sum[i + j].push(k);
        }
    }
    let mut out = Vec::new();
    for group in &by_sum {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                let ((i, j), (m, n)) = (ps[a], ps[b]);
                out.push(Parallelogram {
                    tokens: [i, j, m, n],
                    samples: [a, b],
                });
            }
        }
    }
    out
}

/// P0 over the full data set.
pub fn all_parallelograms(p: usize) -> Vec<Parallelogram> {
    parallelograms(p, &vec![true; p * (p + 1) / 2])
}

/// Embeddings centred per dimension and divided by that dimension's standard deviation over tokens
/// (a constant dimension is only centred).
pub fn standardise(emb: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let p = emb.len();
    let d = emb.first().map_or(0, Vec::len);
    let mut out = emb.to_vec();
    for k in 0..d {
        let mean = emb.iter().map(|e| e[k]).sum::<f64>() / p as f64;
        let var = emb.iter().map(|e| (e[k] - mean).powi(2)).sum::<f64>() / p as f64;
        let sd = var.sqrt();
        for e in &mut out {
            e[k] -= mean;
            if sd > 0.0 {
                e[k] /= sd;
            }
        }
    }
    out
}

fn residual_sq_mean(std_emb: &[Vec<f64>], t: [usize; 4]) -> f64 {
    let d = std_emb[0].len();
    let s: f64 = (0..d)
        .map(|k| {
            (std_emb[t[0]][k] + std_emb[t[1]][k] - std_emb[t[2]][k] - std_emb[t[3]][k]).powi(2)
        })
        .sum();
    s / d as f64
}

/// Which parallelograms of `paras` the embeddings satisfy: mean over dimensions of the squared
/// residual E_i + E_j - E_m - E_n of standardised embeddings below `delta`.
pub fn satisfied(emb: &[Vec<f64>], paras: &[Parallelogram], delta: f64) -> Vec<bool> {
    let z = standardise(emb);
    paras
        .iter()
        .map(|q| residual_sq_mean(&z, q.tokens) < delta)
        .collect()
}

/// Representation quality index: the fraction of P0 (full data set) that the embeddings satisfy.
pub fn rqi(emb: &[Vec<f64>], delta: f64) -> f64 {
    let paras = all_parallelograms(emb.len());
    if paras.is_empty() {
        return 1.0;
    }
    satisfied(emb, &paras, delta).iter().filter(|&&s| s).count() as f64 / paras.len() as f64
}

/// Predicted accuracy from the representation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PredictedAccuracy {
    /// |D_bar| / |D0|: the fraction of all samples the representation lets the model infer.
    pub all: f64,
    /// |D_bar \ D| / |D0 \ D|: the same restricted to samples outside the training set (1 if none).
    pub val: f64,
}

/// Acc_hat: D_bar is D plus every pair that forms a satisfied parallelogram with a pair of D.
pub fn predicted_accuracy(emb: &[Vec<f64>], train: &[bool], delta: f64) -> PredictedAccuracy {
    let paras = all_parallelograms(emb.len());
    let ok = satisfied(emb, &paras, delta);
    let mut inferred = train.to_vec();
    for (q, &s) in paras.iter().zip(&ok) {
        let [a, b] = q.samples;
        if s && (train[a] || train[b]) {
            inferred[a] = true;
            inferred[b] = true;
        }
    }
    let n = train.len();
    let n_val = train.iter().filter(|&&t| !t).count();
    let got = inferred.iter().filter(|&&x| x).count();
    let got_val = inferred
        .iter()
        .zip(train)
        .filter(|&(&x, &t)| x && !t)
        .count();
    PredictedAccuracy {
        all: got as f64 / n as f64,
        val: if n_val == 0 {
            1.0
        } else {
            got_val as f64 / n_val as f64
        },
    }
}

/// The effective loss l_eff = [sum_{P0(D)} |E_i + E_j - E_m - E_n|^2 / |P0(D)|] / sum_k |E_k - mean|^2.
/// It is invariant to translating and scaling the embeddings, so centring is the only normalisation
/// that matters. Zero when `paras` is empty.
pub fn effective_loss(emb: &[Vec<f64>], paras: &[Parallelogram]) -> f64 {
    effective_loss_and_grad(emb, paras).0
}

fn centred(emb: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let p = emb.len() as f64;
    let d = emb[0].len();
    let mean: Vec<f64> = (0..d)
        .map(|k| emb.iter().map(|e| e[k]).sum::<f64>() / p)
        .collect();
    emb.iter()
        .map(|e| e.iter().zip(&mean).map(|(x, m)| x - m).collect())
        .collect()
}

/// l_eff and its gradient with respect to every embedding.
pub fn effective_loss_and_grad(emb: &[Vec<f64>], paras: &[Parallelogram]) -> (f64, Vec<Vec<f64>>) {
    let d = emb[0].len();
    let mut grad = vec![vec![0.0; d]; emb.len()];
    if paras.is_empty() {
        return (0.0, grad);
    }
    let c = centred(emb);
    let denom: f64 = c.iter().flatten().map(|x| x * x).sum();
    let np = paras.len() as f64;
    let mut num = 0.0;
    // grad of the numerator: each residual r pushes +2r/|P| into E_i, E_j and -2r/|P| into E_m, E_n.
    let mut gnum = vec![vec![0.0; d]; emb.len()];
    for q in paras {
        let [i, j, m, n] = q.tokens;
        for k in 0..d {
            let r = emb[i][k] + emb[j][k] - emb[m][k] - emb[n][k];
            num += r * r;
            let g = 2.0 * r / np;
            gnum[i][k] += g;
            gnum[j][k] += g;
            gnum[m][k] -= g;
            gnum[n][k] -= g;
        }
    }
    num /= np;
    for (t, g) in grad.iter_mut().enumerate() {
        for k in 0..d {
            // d(denom)/dE_t = 2 (E_t - mean): the mean's own derivative sums to zero.
            g[k] = (gnum[t][k] * denom - num * 2.0 * c[t][k]) / (denom * denom);
        }
    }
    (num / denom, grad)
}

/// One point of an effective-theory trajectory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowPoint {
    pub time: f64,
    pub loss: f64,
    pub rqi: f64,
    pub embeddings: Vec<Vec<f64>>,
}

/// Integrates the gradient flow dE/dt = -eta grad l_eff from `emb0` with classical Runge-Kutta steps
/// of size `dt` (in units of optimiser steps), recording every `record_every` steps and the last.
pub fn effective_flow(
    emb0: &[Vec<f64>],
    paras: &[Parallelogram],
    eta: f64,
    steps: usize,
    dt: f64,
    record_every: usize,
) -> Vec<FlowPoint> {
    let record_every = record_every.max(1);
    let mut e = emb0.to_vec();
    let point = |e: &Vec<Vec<f64>>, s: usize| FlowPoint {
        time: s as f64 * dt,
        loss: effective_loss(e, paras),
        rqi: rqi(e, RQI_DELTA),
        embeddings: e.clone(),
    };
    let mut out = vec![point(&e, 0)];
    let axpy = |e: &[Vec<f64>], g: &[Vec<f64>], h: f64| -> Vec<Vec<f64>> {
        e.iter()
            .zip(g)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - h * eta * y).collect())
            .collect()
    };
    for s in 1..=steps {
        let k1 = effective_loss_and_grad(&e, paras).1;
        let k2 = effective_loss_and_grad(&axpy(&e, &k1, dt / 2.0), paras).1;
        let k3 = effective_loss_and_grad(&axpy(&e, &k2, dt / 2.0), paras).1;
        let k4 = effective_loss_and_grad(&axpy(&e, &k3, dt), paras).1;
        for t in 0..e.len() {
            for k in 0..e[t].len() {
                let g = (k1[t][k] + 2.0 * k2[t][k] + 2.0 * k3[t][k] + k4[t][k]) / 6.0;
                e[t][k] -= dt * eta * g;
            }
        }
        if s % record_every == 0 || s == steps {
            out.push(point(&e, s));
        }
    }
    out
}

/// The linear system A(P0(D)): one row per parallelogram, +1 at i and j, -1 at m and n (a token that
/// appears twice counts twice). Its null space holds the embeddings that satisfy every parallelogram.
pub fn system_matrix(p: usize, paras: &[Parallelogram]) -> Mat<f64> {
    let mut a = Mat::<f64>::zeros(paras.len(), p);
    for (r, q) in paras.iter().enumerate() {
        let [i, j, m, n] = q.tokens;
        a[(r, i)] += 1.0;
        a[(r, j)] += 1.0;
        a[(r, m)] -= 1.0;
        a[(r, n)] -= 1.0;
    }
    a
}

/// Spectrum of A^T A (the Hessian of the effective loss up to normalisation) and what follows from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// Eigenvalues of A^T A in nondecreasing order (p of them).
    pub eigenvalues: Vec<f64>,
    /// p - rank(A): always at least 2 (translation and scale).
    pub nullity: usize,
    /// The third smallest eigenvalue, the first that can be non-zero: the "grokking rate".
    pub lambda3: f64,
}

/// Eigenvalues below this (relative to the largest) count as zero. A^T A has small integer entries, so
/// its non-zero eigenvalues stay far above rounding error for the sizes this toolkit uses.
const RANK_TOL: f64 = 1e-9;

/// Nullity and spectrum of A(P0(D)) by a faer self-adjoint eigendecomposition of A^T A.
pub fn spectrum(p: usize, paras: &[Parallelogram]) -> Spectrum {
    let a = system_matrix(p, paras);
    let ata = a.transpose() * &a;
    let eig = ata
        .self_adjoint_eigenvalues(Side::Lower)
        .expect("eigendecomposition of a small symmetric integer matrix converges");
    let top = eig.iter().cloned().fold(0.0_f64, f64::max);
    let tol = RANK_TOL * top.max(1.0);
    let nullity = eig.iter().filter(|&&x| x.abs() <= tol).count();
    let lambda3 = eig.get(2).copied().unwrap_or(0.0).max(0.0);
    Spectrum {
        eigenvalues: eig,
        nullity,
        lambda3,
    }
}

/// Expected number of optimiser steps for the representation to form, 1 / (lambda_3 eta); infinite when
/// lambda_3 is zero (the training set leaves more than translation and scale free).
pub fn predicted_steps(lambda3: f64, eta: f64) -> f64 {
    if lambda3 > 0.0 {
        1.0 / (lambda3 * eta)
    } else {
        f64::INFINITY
    }
}

/// How likely a random training set is to determine the generalising representation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalFraction {
    pub p: usize,
    pub pairs: usize,
    pub parallelograms: usize,
    pub samples: usize,
    pub seed: u64,
    /// Training-set size -> fraction of sampled training sets whose A(P0(D)) has nullity exactly 2.
    pub p_nullity2: BTreeMap<usize, f64>,
    /// Training-set size -> median lambda_3 over the sampled sets that have nullity exactly 2.
    pub median_lambda3: BTreeMap<usize, Option<f64>>,
    /// The training fraction where p_nullity2 first crosses 1/2 (linear interpolation between sizes);
    /// None if it never does.
    pub critical_fraction: Option<f64>,
}

/// Estimates, for every training-set size 0..=|pairs|, the probability that a uniformly random training
/// set of that size has nullity exactly 2. Deterministic in `seed` whatever the thread count: each size
/// draws from its own stream.
pub fn critical_fraction(p: usize, samples: usize, seed: u64) -> CriticalFraction {
    let n_pairs = p * (p + 1) / 2;
    let per_size: Vec<(f64, Option<f64>)> = (0..=n_pairs)
        .into_par_iter()
        .map(|size| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed ^ (size as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut idx: Vec<usize> = (0..n_pairs).collect();
            let mut hits = 0usize;
            let mut l3 = Vec::new();
            for _ in 0..samples {
                idx.shuffle(&mut rng);
                let mut mask = vec![false; n_pairs];
                for &k in &idx[..size] {
                    mask[k] = true;
                }
                let s = spectrum(p, &parallelograms(p, &mask));
                if s.nullity == 2 {
                    hits += 1;
                    l3.push(s.lambda3);
                }
            }
            let median = if l3.is_empty() {
                None
            } else {
                l3.sort_by(f64::total_cmp);
                Some(l3[l3.len() / 2])
            };
            (hits as f64 / samples.max(1) as f64, median)
        })
        .collect();
    let p_nullity2: BTreeMap<usize, f64> =
        per_size.iter().enumerate().map(|(s, v)| (s, v.0)).collect();
    let median_lambda3 = per_size.iter().enumerate().map(|(s, v)| (s, v.1)).collect();
    let critical = crossing(&p_nullity2, 0.5).map(|size| size / n_pairs as f64);
    CriticalFraction {
        p,
        pairs: n_pairs,
        parallelograms: all_parallelograms(p).len(),
        samples,
        seed,
        p_nullity2,
        median_lambda3,
        critical_fraction: critical,
    }
}

/// First x where a sampled curve reaches `level`, interpolating linearly between neighbours.
fn crossing(curve: &BTreeMap<usize, f64>, level: f64) -> Option<f64> {
    let mut prev: Option<(usize, f64)> = None;
    for (&x, &y) in curve {
        if y >= level {
            return Some(match prev {
                Some((x0, y0)) if y > y0 => x0 as f64 + (level - y0) / (y - y0) * (x - x0) as f64,
                _ => x as f64,
            });
        }
        prev = Some((x, y));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(p: usize, a: f64, b: f64) -> Vec<Vec<f64>> {
        (0..p).map(|k| vec![a + b * k as f64]).collect()
    }

    fn random_emb(p: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..p)
            .map(|_| (0..d).map(|_| rng.random_range(-0.5..0.5)).collect())
            .collect()
    }

    #[test]
    fn counts_for_p10() {
        assert_eq!(pairs(10).len(), 55);
        // by sum s the pair counts are 1,1,2,2,3,3,4,4,5,5,5,4,4,3,3,2,2,1,1: sum of C(c,2) = 70.
        assert_eq!(all_parallelograms(10).len(), 70);
        let paras = all_parallelograms(10);
        for q in &paras {
            let [i, j, m, n] = q.tokens;
            assert_eq!(i + j, m + n);
            assert_ne!((i, j), (m, n));
        }
    }

    #[test]
    fn rqi_is_one_on_a_line_and_low_for_random() {
        assert_eq!(rqi(&line(10, 0.3, -0.7), RQI_DELTA), 1.0);
        // a line in 3-d with different offsets per dimension is still perfectly structured
        let e: Vec<Vec<f64>> = (0..10)
            .map(|k| vec![k as f64, 1.0 - 2.0 * k as f64, 5.0])
            .collect();
        assert_eq!(rqi(&e, RQI_DELTA), 1.0);
        let r = rqi(&random_emb(10, 1, 7), RQI_DELTA);
        assert!(r < 0.3, "random embeddings gave RQI {r}");
    }

    #[test]
    fn acc_hat_is_one_for_perfect_embeddings() {
        let mut train = vec![true; 55];
        for k in [3, 10, 20, 33, 50] {
            train[k] = false;
        }
        let acc = predicted_accuracy(&line(10, 1.0, 2.0), &train, RQI_DELTA);
        assert_eq!(acc, PredictedAccuracy { all: 1.0, val: 1.0 });
        // with random embeddings nothing beyond the training set is inferred for most seeds
        let acc = predicted_accuracy(&random_emb(10, 1, 3), &train, RQI_DELTA);
        assert!(acc.all < 1.0 && acc.all >= 50.0 / 55.0);
    }

    #[test]
    fn acc_hat_counts_exactly_the_inferable_pairs() {
        // Only pair (0,3) is held out; the satisfied parallelogram (0,3)~(1,2) makes it inferable.
        let ps = pairs(10);
        let held = ps.iter().position(|&x| x == (0, 3)).unwrap();
        let mut train = vec![true; 55];
        train[held] = false;
        let acc = predicted_accuracy(&line(10, 0.0, 1.0), &train, RQI_DELTA);
        assert_eq!(acc.val, 1.0);
        // Holding out a pair with no partner of the same sum ((0,0), sum 0) cannot be inferred.
        let mut train = vec![true; 55];
        train[0] = false;
        let acc = predicted_accuracy(&line(10, 0.0, 1.0), &train, RQI_DELTA);
        assert_eq!(acc.val, 0.0);
        assert!((acc.all - 54.0 / 55.0).abs() < 1e-15);
    }

    #[test]
    fn nullity_two_on_full_data_and_larger_on_tiny_sets() {
        let s = spectrum(10, &all_parallelograms(10));
        assert_eq!(s.nullity, 2);
        assert!(s.lambda3 > 0.1);
        // the null space is spanned by the constant and the linear embedding
        let a = system_matrix(10, &all_parallelograms(10));
        let lin = faer::Col::<f64>::from_fn(10, |k| k as f64);
        let ones = faer::Col::<f64>::from_fn(10, |_| 1.0);
        assert!((&a * &lin).norm_l2() < 1e-12 && (&a * &ones).norm_l2() < 1e-12);
        let mut mask = vec![false; 55];
        for k in [0, 1, 2, 12] {
            mask[k] = true;
        }
        let s = spectrum(10, &parallelograms(10, &mask));
        assert!(s.nullity > 2, "tiny set gave nullity {}", s.nullity);
        assert_eq!(spectrum(10, &[]).nullity, 10);
    }

    #[test]
    fn effective_loss_zero_on_line_and_invariant() {
        let paras = all_parallelograms(10);
        assert!(effective_loss(&line(10, 2.0, 3.0), &paras) < 1e-28);
        let e = random_emb(10, 2, 1);
        let l = effective_loss(&e, &paras);
        let moved: Vec<Vec<f64>> = e
            .iter()
            .map(|v| vec![3.0 * v[0] + 1.0, 3.0 * v[1] - 2.0])
            .collect();
        assert!((effective_loss(&moved, &paras) - l).abs() < 1e-12 * l.max(1.0));
    }

    #[test]
    fn effective_gradient_matches_finite_differences() {
        let paras = all_parallelograms(6);
        let e = random_emb(6, 2, 5);
        let (_, g) = effective_loss_and_grad(&e, &paras);
        let h = 1e-6;
        for t in 0..6 {
            for k in 0..2 {
                let mut up = e.clone();
                up[t][k] += h;
                let mut dn = e.clone();
                dn[t][k] -= h;
                let fd = (effective_loss(&up, &paras) - effective_loss(&dn, &paras)) / (2.0 * h);
                assert!(
                    (fd - g[t][k]).abs() < 1e-7,
                    "t={t} k={k}: fd {fd} vs {}",
                    g[t][k]
                );
            }
        }
    }

    #[test]
    fn effective_flow_reaches_the_line() {
        let paras = all_parallelograms(10);
        let e0 = random_emb(10, 1, 11);
        let traj = effective_flow(&e0, &paras, 1.0, 400, 0.5, 100);
        let first = &traj[0];
        let last = traj.last().unwrap();
        assert!(
            last.loss < 1e-3 * first.loss,
            "{} -> {}",
            first.loss,
            last.loss
        );
        assert_eq!(last.rqi, 1.0);
    }

    #[test]
    fn critical_fraction_is_monotone_enough_and_deterministic() {
        let a = critical_fraction(10, 200, 1);
        let b = critical_fraction(10, 200, 1);
        assert_eq!(a, b);
        assert_eq!(a.p_nullity2[&0], 0.0);
        assert_eq!(a.p_nullity2[&55], 1.0);
        let c = a.critical_fraction.unwrap();
        // the paper places it near 0.4 for p = 10
        assert!((0.2..0.6).contains(&c), "critical fraction {c}");
    }

    #[test]
    fn crossing_interpolates() {
        let curve: BTreeMap<usize, f64> = [(0, 0.0), (10, 0.2), (20, 0.8), (30, 1.0)].into();
        assert!((crossing(&curve, 0.5).unwrap() - 15.0).abs() < 1e-12);
        assert_eq!(crossing(&curve, 2.0), None);
    }
}
