//! When to evaluate: log-spaced steps (dense early, where grokking curves change fastest) and/or every
//! K steps, always including step 0 (the initial state) and the last step.

/// Sorted, unique evaluation steps in 0..=steps.
pub fn eval_steps(steps: usize, log_points: usize, every: usize) -> Vec<usize> {
    let mut out = vec![0, steps];
    if log_points > 0 && steps > 0 {
        let top = (steps as f64).log10();
        for k in 0..log_points {
            let f = if log_points == 1 {
                1.0
            } else {
                k as f64 / (log_points - 1) as f64
            };
            out.push((10f64.powf(f * top).round() as usize).clamp(1, steps));
        }
    }
    if every > 0 {
        out.extend((every..=steps).step_by(every));
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spaced_unique_and_bounded() {
        let s = eval_steps(5000, 60, 0);
        assert_eq!(s[0], 0);
        assert_eq!(s[1], 1);
        assert_eq!(*s.last().unwrap(), 5000);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        // rounding merges some early points, but most survive
        assert!(s.len() > 45 && s.len() <= 61, "{}", s.len());
        assert_eq!(eval_steps(10, 0, 3), vec![0, 3, 6, 9, 10]);
        assert_eq!(eval_steps(1, 5, 0), vec![0, 1]);
    }
}
