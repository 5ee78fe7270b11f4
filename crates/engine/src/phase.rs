//! Phase of one run (Liu et al. 2022): comprehension, grokking, memorisation or confusion, from the
//! first steps at which train and validation accuracy reach a threshold within a budget.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Train and validation both fitted within the budget, less than `gap` steps apart.
    Comprehension,
    /// Both fitted within the budget, validation at least `gap` steps after train.
    Grokking,
    /// Train fitted, validation not within the budget.
    Memorization,
    /// Train not fitted within the budget.
    Confusion,
    /// The loss became NaN or infinite.
    Diverged,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Comprehension => "comprehension",
            Phase::Grokking => "grokking",
            Phase::Memorization => "memorization",
            Phase::Confusion => "confusion",
            Phase::Diverged => "diverged",
        }
    }
}

/// Classifies a run. A threshold first reached after `budget` counts as never reached. Validation
/// fitted without train (rare) counts as confusion: the table has no row for it.
pub fn classify(
    steps_to_train: Option<usize>,
    steps_to_val: Option<usize>,
    budget: usize,
    gap: usize,
    diverged: bool,
) -> Phase {
    if diverged {
        return Phase::Diverged;
    }
    let within = |s: Option<usize>| s.filter(|&s| s <= budget);
    match (within(steps_to_train), within(steps_to_val)) {
        (Some(t), Some(v)) if v.saturating_sub(t) >= gap => Phase::Grokking,
        (Some(_), Some(_)) => Phase::Comprehension,
        (Some(_), None) => Phase::Memorization,
        (None, _) => Phase::Confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_the_paper() {
        assert_eq!(
            classify(Some(100), Some(500), 10_000, 1000, false),
            Phase::Comprehension
        );
        assert_eq!(
            classify(Some(100), Some(1100), 10_000, 1000, false),
            Phase::Grokking
        );
        assert_eq!(
            classify(Some(100), Some(1099), 10_000, 1000, false),
            Phase::Comprehension
        );
        assert_eq!(
            classify(Some(100), None, 10_000, 1000, false),
            Phase::Memorization
        );
        assert_eq!(
            classify(Some(100), Some(20_000), 10_000, 1000, false),
            Phase::Memorization
        );
        assert_eq!(classify(None, None, 10_000, 1000, false), Phase::Confusion);
        assert_eq!(
            classify(Some(20_000), Some(20_000), 10_000, 1000, false),
            Phase::Confusion
        );
        assert_eq!(classify(Some(1), Some(1), 10, 0, true), Phase::Diverged);
        // validation before train is not grokking
        assert_eq!(
            classify(Some(900), Some(100), 10_000, 10, false),
            Phase::Comprehension
        );
    }
}
