//! Grokking in linear estimators (Levi, Beck, Bar-Sinai 2023). Placeholder until the study lands.
