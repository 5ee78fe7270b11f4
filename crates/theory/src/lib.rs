//! Analytic and numeric predictions of grokking. Pure functions over plain numbers and matrices:
//! nothing here depends on the training engine, so theory builds and tests on its own.
//!
//! - [`addition`]: the effective theory of representation learning (parallelograms, RQI, Acc_hat,
//!   effective loss, the linear system A(P0(D)) and its nullity).
//! - [`linear`]: grokking in linear estimators (exact dynamics, Marchenko-Pastur theory).

pub mod addition;
pub mod linear;
