//! Small numerical tools shared by the public modules: root finding for
//! monotone functions, discrete quantiles and a tiny linear solver.
//!
//! Kept private: callers should never need them, and keeping them here means
//! each statistical module reads as statistics rather than as numerics.

use statrs::distribution::{ContinuousCDF, Normal};

/// The two-sided standard normal critical value for `confidence`, e.g.
/// 1.959964 for 0.95.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub(crate) fn two_sided_z(confidence: f64) -> f64 {
    assert_probability(confidence, "confidence");
    Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Panics with a readable message unless `value` lies strictly inside (0, 1).
pub(crate) fn assert_probability(value: f64, name: &str) {
    assert!(
        value > 0.0 && value < 1.0,
        "{name} must lie strictly between 0 and 1, got {value}"
    );
}

/// Solves `f(x) = target` for an increasing `f` on `[lo, hi]` by bisection.
///
/// Bisection is slow next to Newton's method but it cannot diverge, and the
/// functions inverted here (incomplete beta and gamma functions) are cheap.
/// It stops when the bracket can no longer be split in floating point.
pub(crate) fn bisect_increasing(f: impl Fn(f64) -> f64, target: f64, lo: f64, hi: f64) -> f64 {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The smallest `r` in `0..=max` with `cdf(r) >= prob`, by binary search.
///
/// Returns `max` when no smaller value qualifies, so callers must pass a
/// `max` at which the distribution has (numerically) all of its mass.
pub(crate) fn discrete_quantile(cdf: impl Fn(u64) -> f64, prob: f64, max: u64) -> u64 {
    let (mut lo, mut hi) = (0_u64, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cdf(mid) >= prob {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Spiegelhalter's (2005, appendix) smooth control limit for a discrete
/// distribution: the quantile `r` minus the fraction `alpha` of the last
/// step that overshoots `prob`.
///
/// Without the interpolation a funnel drawn over `n` is a staircase; with it
/// the limit moves continuously while keeping the exact tail probability at
/// the integer points.
pub(crate) fn interpolated_quantile(cdf: impl Fn(u64) -> f64, prob: f64, max: u64) -> f64 {
    let r = discrete_quantile(&cdf, prob, max);
    let at_r = cdf(r);
    let below_r = if r == 0 { 0.0 } else { cdf(r - 1) };
    let alpha = (at_r - prob) / (at_r - below_r);
    r as f64 - alpha
}

/// Solves the square system `a x = b` by Gaussian elimination with partial
/// pivoting. Returns `None` for a (numerically) singular matrix: a pivot
/// below 1e-12, which is tiny next to the event-count variances solved here.
pub(crate) fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let factor = a[row][col] / pivot_row[col];
            for (entry, above) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *entry -= factor * above;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_a_square_root() {
        let root = bisect_increasing(|x| x * x, 2.0, 0.0, 2.0);
        assert!((root - std::f64::consts::SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn discrete_quantile_is_the_smallest_value_reaching_the_probability() {
        // A fair die: P(X <= r) = (r + 1) / 6 for r in 0..=5.
        let die = |r: u64| (r as f64 + 1.0) / 6.0;
        assert_eq!(discrete_quantile(die, 0.5, 5), 2);
        assert_eq!(discrete_quantile(die, 0.51, 5), 3);
        assert_eq!(discrete_quantile(die, 0.01, 5), 0);
    }

    #[test]
    fn linear_solver_solves_a_small_system_and_refuses_a_singular_one() {
        let x = solve_linear(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve_linear(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }
}
