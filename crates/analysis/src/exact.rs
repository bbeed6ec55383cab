//! Tests for whether grant rates differ between regions, and a correction
//! for testing many things at once.
//!
//! * [`fisher_exact_2x2`]: Fisher's exact test for a 2 x 2 table, two-sided
//!   as R's `fisher.test`.
//! * [`homogeneity_test`]: granted/refused by region (a 2 x k table). Small
//!   tables get the Freeman-Halton exact test (Fisher's test extended to k
//!   columns) by full enumeration; larger ones Pearson's chi-square test.
//!   The result says which was used.
//! * [`benjamini_hochberg`]: false-discovery-rate adjusted p-values (q-values),
//!   as R's `p.adjust(method = "BH")`.
//!
//! The exact tests condition on both margins. "Two-sided" means, as in R,
//! summing the probabilities of every table no more likely than the one
//! observed, with a relative tolerance of 1e-7 so that tables equal in exact
//! arithmetic are not split by rounding.
//!
//! Known limits: the exact test is a test of any difference, not of a trend
//! or of one region against the rest; and with many small regions it has
//! little power. No Monte Carlo is used, so results are reproducible.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::factorial::ln_binomial;

/// Largest grand total for which [`homogeneity_test`] enumerates exactly.
pub const EXACT_MAX_TOTAL: u64 = 200;
/// Largest number of non-empty regions for which it enumerates exactly.
pub const EXACT_MAX_REGIONS: usize = 6;

/// R's tolerance for "no more likely than the observed table".
const RELATIVE_TOLERANCE: f64 = 1e-7;

/// Decisions in one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCounts {
    pub granted: u64,
    pub refused: u64,
}

impl GrantCounts {
    pub fn total(&self) -> u64 {
        self.granted + self.refused
    }
}

/// Which test [`homogeneity_test`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HomogeneityMethod {
    FreemanHaltonExact,
    PearsonChiSquare,
}

/// The outcome of a test of equal grant rates across regions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HomogeneityTest {
    pub method: HomogeneityMethod,
    pub p_value: f64,
    /// Pearson's X^2, reported whichever method gave the p-value.
    pub chi_square: f64,
    /// Non-empty regions minus one.
    pub degrees_of_freedom: usize,
}

/// Two-sided Fisher exact test for the table `[[a, b], [c, d]]`.
///
/// Example: R's tea-tasting table `matrix(c(3, 1, 1, 3), 2)` gives 0.4857.
/// Runs in time proportional to the smaller margin, so large tables are fine.
pub fn fisher_exact_2x2(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    let (first_row, first_column, total) = (a + b, a + c, a + b + c + d);
    // Given the margins, `a` is hypergeometric; every table is fixed by it.
    let ln_probability = |x: u64| {
        ln_binomial(first_column, x) + ln_binomial(total - first_column, first_row - x)
            - ln_binomial(total, first_row)
    };
    let cutoff = ln_probability(a) + RELATIVE_TOLERANCE.ln_1p();
    let support = first_row.saturating_sub(total - first_column)..=first_row.min(first_column);
    let p_value: f64 = support
        .map(ln_probability)
        .filter(|&ln_p| ln_p <= cutoff)
        .map(f64::exp)
        .sum();
    p_value.min(1.0)
}

/// Tests whether the grant rate is the same in every region.
///
/// Regions with no decisions carry no information and are ignored. With
/// fewer than two non-empty regions, or when every decision went the same
/// way, there is nothing to compare and the p-value is 1.
pub fn homogeneity_test(regions: &[GrantCounts]) -> HomogeneityTest {
    let regions: Vec<GrantCounts> = regions.iter().copied().filter(|r| r.total() > 0).collect();
    let total: u64 = regions.iter().map(GrantCounts::total).sum();
    let chi_square = pearson_chi_square(&regions);
    let degrees_of_freedom = regions.len().saturating_sub(1);
    if total <= EXACT_MAX_TOTAL && regions.len() <= EXACT_MAX_REGIONS {
        return HomogeneityTest {
            method: HomogeneityMethod::FreemanHaltonExact,
            p_value: freeman_halton(&regions),
            chi_square,
            degrees_of_freedom,
        };
    }
    let p_value = if degrees_of_freedom == 0 {
        1.0
    } else {
        ChiSquared::new(degrees_of_freedom as f64)
            .expect("positive degrees of freedom")
            .sf(chi_square)
    };
    HomogeneityTest {
        method: HomogeneityMethod::PearsonChiSquare,
        p_value,
        chi_square,
        degrees_of_freedom,
    }
}

/// Pearson's X^2 for a 2 x k table; 0 when a row is empty (no variation).
fn pearson_chi_square(regions: &[GrantCounts]) -> f64 {
    let granted: u64 = regions.iter().map(|r| r.granted).sum();
    let total: u64 = regions.iter().map(GrantCounts::total).sum();
    if granted == 0 || granted == total {
        return 0.0;
    }
    let share_granted = granted as f64 / total as f64;
    regions
        .iter()
        .map(|r| {
            let expected_granted = r.total() as f64 * share_granted;
            let expected_refused = r.total() as f64 - expected_granted;
            let deviation = r.granted as f64 - expected_granted;
            // Both cells of a column deviate by the same amount.
            deviation * deviation * (1.0 / expected_granted + 1.0 / expected_refused)
        })
        .sum()
}

/// The Freeman-Halton exact p-value for a 2 x k table, by enumeration.
/// Meant for the sizes [`homogeneity_test`] sends it (N <= 200): the bounds
/// table costs k N^2 steps.
///
/// Given the margins, the granted counts x_j have probability
/// prod C(n_j, x_j) / C(N, G). Enumerating every table can take tens of
/// millions of steps at N = 200, so this prunes as the network algorithm of
/// Mehta and Patel does: for the columns not yet filled it knows the largest
/// and smallest achievable log-probability, and it adds or skips a whole
/// branch at once when all of its tables fall on one side of the observed.
fn freeman_halton(columns: &[GrantCounts]) -> f64 {
    let sizes: Vec<u64> = columns
        .iter()
        .map(GrantCounts::total)
        .filter(|&n| n > 0)
        .collect();
    let granted: u64 = columns.iter().map(|c| c.granted).sum();
    if sizes.len() < 2 {
        return 1.0;
    }
    let observed: f64 = columns
        .iter()
        .filter(|c| c.total() > 0)
        .map(|c| ln_binomial(c.total(), c.granted))
        .sum();
    let enumeration = Enumeration::new(sizes, granted);
    let threshold = observed + RELATIVE_TOLERANCE.ln_1p();
    let mass = enumeration.mass_at_most(0, granted, 0.0, threshold);
    mass.min(1.0)
}

/// The tables of one 2 x k enumeration and the bounds used for pruning.
struct Enumeration {
    /// Column totals n_j.
    sizes: Vec<u64>,
    /// suffix_sizes[j] = n_j + ... + n_{k-1}, with a trailing 0.
    suffix_sizes: Vec<u64>,
    /// Largest and smallest sum of ln C(n_i, x_i) over columns j.. for each
    /// remaining granted count s (index [j][s]); -inf/inf when infeasible.
    most_likely: Vec<Vec<f64>>,
    least_likely: Vec<Vec<f64>>,
    /// ln C(N, G): the normalising constant.
    ln_total: f64,
}

impl Enumeration {
    fn new(sizes: Vec<u64>, granted: u64) -> Enumeration {
        let k = sizes.len();
        let mut suffix_sizes = vec![0; k + 1];
        for j in (0..k).rev() {
            suffix_sizes[j] = suffix_sizes[j + 1] + sizes[j];
        }
        let width = granted as usize + 1;
        let mut most_likely = vec![vec![f64::NEG_INFINITY; width]; k + 1];
        let mut least_likely = vec![vec![f64::INFINITY; width]; k + 1];
        most_likely[k][0] = 0.0;
        least_likely[k][0] = 0.0;
        for j in (0..k).rev() {
            for s in 0..width {
                for x in 0..=sizes[j].min(s as u64) {
                    let here = ln_binomial(sizes[j], x);
                    let rest = s - x as usize;
                    most_likely[j][s] = most_likely[j][s].max(here + most_likely[j + 1][rest]);
                    least_likely[j][s] = least_likely[j][s].min(here + least_likely[j + 1][rest]);
                }
            }
        }
        let ln_total = ln_binomial(suffix_sizes[0], granted);
        Enumeration {
            sizes,
            suffix_sizes,
            most_likely,
            least_likely,
            ln_total,
        }
    }

    /// Probability of all tables whose columns j.. hold `remaining` granted
    /// decisions and whose log-numerator `so_far + ...` is at most `threshold`.
    fn mass_at_most(&self, j: usize, remaining: u64, so_far: f64, threshold: f64) -> f64 {
        let s = remaining as usize;
        if so_far + self.least_likely[j][s] > threshold {
            return 0.0;
        }
        if so_far + self.most_likely[j][s] <= threshold {
            // Every completion qualifies; by Vandermonde's identity their
            // numerators sum to C(n_j + ... + n_k, remaining).
            let branch = ln_binomial(self.suffix_sizes[j], remaining);
            return (so_far + branch - self.ln_total).exp();
        }
        let fewest = remaining.saturating_sub(self.suffix_sizes[j + 1]);
        let most = self.sizes[j].min(remaining);
        (fewest..=most)
            .map(|x| {
                let here = ln_binomial(self.sizes[j], x);
                self.mass_at_most(j + 1, remaining - x, so_far + here, threshold)
            })
            .sum()
    }
}

/// Benjamini-Hochberg adjusted p-values, in input order, as R's
/// `p.adjust(p, method = "BH")`: q_(i) = min over j >= i of n p_(j) / j,
/// capped at 1.
///
/// NaN entries are treated as R treats `NA`: they stay NaN and do not count
/// towards n.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len())
        .filter(|&i| !p_values[i].is_nan())
        .collect();
    order.sort_by(|&a, &b| p_values[b].total_cmp(&p_values[a]));
    let n = order.len() as f64;
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running_min = 1.0_f64;
    // Walk from the largest p-value down, so the running minimum is the
    // minimum over all larger ranks.
    for (from_top, &i) in order.iter().enumerate() {
        let rank = n - from_top as f64;
        running_min = running_min.min(n / rank * p_values[i]);
        adjusted[i] = running_min;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    fn regions(counts: &[(u64, u64)]) -> Vec<GrantCounts> {
        counts
            .iter()
            .map(|&(granted, refused)| GrantCounts { granted, refused })
            .collect()
    }

    #[test]
    fn fisher_matches_r_examples() {
        // R `?fisher.test`, TeaTasting = matrix(c(3, 1, 1, 3), 2):
        // p-value = 0.4857 (exactly 34/70).
        assert_close(fisher_exact_2x2([[3, 1], [1, 3]]), 34.0 / 70.0, 1e-12);
        // R `?fisher.test`, Convictions = matrix(c(2, 10, 15, 3), 2),
        // i.e. rows (2, 15) and (10, 3): p-value = 0.0005367.
        assert_close(fisher_exact_2x2([[2, 15], [10, 3]]), 0.0005367, 5e-8);
        // Wikipedia "Fisher's exact test" (dieting by sex), rows (1, 9) and
        // (11, 3): two-sided p = 0.002759 as R's fisher.test.
        assert_close(fisher_exact_2x2([[1, 9], [11, 3]]), 0.002759, 5e-7);
    }

    #[test]
    fn fisher_on_a_table_without_variation_is_one() {
        assert_eq!(fisher_exact_2x2([[0, 0], [4, 7]]), 1.0);
        assert_eq!(fisher_exact_2x2([[5, 0], [3, 0]]), 1.0);
    }

    #[test]
    fn freeman_halton_on_two_regions_is_fisher() {
        // The two functions share no code: the 2 x k enumeration on two
        // columns must reproduce Fisher's test on the same table.
        for [[a, b], [c, d]] in [[[3, 1], [1, 3]], [[2, 15], [10, 3]], [[7, 0], [2, 9]]] {
            let test = homogeneity_test(&regions(&[(a, c), (b, d)]));
            assert_close(test.p_value, fisher_exact_2x2([[a, b], [c, d]]), 1e-12);
        }
    }

    #[test]
    fn fisher_handles_large_tables() {
        // Same proportions in both rows: the observed table is the most
        // likely one, so every table is at most as likely and p = 1.
        assert_close(
            fisher_exact_2x2([[5_000, 5_000], [5_000, 5_000]]),
            1.0,
            1e-9,
        );
    }

    #[test]
    fn freeman_halton_agrees_with_brute_force_enumeration() {
        // Independent method: list every table with the observed margins
        // and sum the probabilities of those no more likely than observed.
        let cases: [&[(u64, u64)]; 4] = [
            &[(3, 1), (1, 3), (2, 2)],
            &[(10, 2), (4, 8), (6, 6), (1, 9)],
            &[(0, 5), (5, 0), (2, 3), (1, 1), (7, 2)],
            &[(3, 4), (5, 2), (2, 5), (1, 6), (4, 3), (3, 3)],
        ];
        for case in cases {
            let regions = regions(case);
            let test = homogeneity_test(&regions);
            assert_eq!(test.method, HomogeneityMethod::FreemanHaltonExact);
            assert_close(test.p_value, brute_force_p(&regions), 1e-10);
        }
    }

    fn brute_force_p(regions: &[GrantCounts]) -> f64 {
        let sizes: Vec<u64> = regions.iter().map(GrantCounts::total).collect();
        let granted: u64 = regions.iter().map(|r| r.granted).sum();
        let probability = |xs: &[u64]| -> f64 {
            let numerator: f64 = xs
                .iter()
                .zip(&sizes)
                .map(|(&x, &n)| ln_binomial(n, x))
                .sum();
            (numerator - ln_binomial(sizes.iter().sum(), granted)).exp()
        };
        let observed: Vec<u64> = regions.iter().map(|r| r.granted).collect();
        let cutoff = probability(&observed) * (1.0 + 1e-7);
        let mut total = 0.0;
        let mut xs = vec![0_u64; sizes.len()];
        loop {
            if xs.iter().sum::<u64>() == granted && probability(&xs) <= cutoff {
                total += probability(&xs);
            }
            // Odometer over 0..=n_j in every column.
            let mut j = 0;
            while j < xs.len() && xs[j] == sizes[j] {
                xs[j] = 0;
                j += 1;
            }
            if j == xs.len() {
                return total;
            }
            xs[j] += 1;
        }
    }

    #[test]
    fn exact_test_at_the_size_limit_is_close_to_the_chi_square_approximation() {
        // 200 decisions in 6 regions is too many tables to list one by one
        // in a test; the pruned enumeration must still finish, and at this
        // size the exact p-value should be near Pearson's (about 0.0004).
        let regions = regions(&[(12, 20), (25, 10), (18, 15), (9, 30), (20, 20), (10, 11)]);
        let test = homogeneity_test(&regions);
        assert_eq!(test.method, HomogeneityMethod::FreemanHaltonExact);
        let approximate = ChiSquared::new(5.0).unwrap().sf(test.chi_square);
        assert!(
            (test.p_value / approximate).ln().abs() < 0.5,
            "exact {} against approximate {approximate}",
            test.p_value
        );
    }

    #[test]
    fn a_balanced_table_at_the_size_limit_is_unremarkable() {
        // The hardest case for pruning: nearly every table is as likely as
        // the observed one. Pearson's X^2 here is 0.12 on 5 df.
        let regions = regions(&[(17, 16), (16, 17), (17, 17), (16, 17), (17, 16), (17, 17)]);
        let test = homogeneity_test(&regions);
        assert_eq!(test.method, HomogeneityMethod::FreemanHaltonExact);
        assert!(
            test.p_value > 0.99 && test.p_value <= 1.0,
            "p = {}",
            test.p_value
        );
    }

    #[test]
    fn large_tables_fall_back_to_pearson_chi_square() {
        // Hand-computed: 2 regions of 150, granted 90 and 60 (pooled 0.5).
        // Expected 75 everywhere, X^2 = 4 * 15^2 / 75 = 12 on 1 df;
        // P(chi2_1 > 12) = erfc(sqrt(6)) = 5.3205e-4.
        let test = homogeneity_test(&regions(&[(90, 60), (60, 90)]));
        assert_eq!(test.method, HomogeneityMethod::PearsonChiSquare);
        assert_close(test.chi_square, 12.0, 1e-12);
        assert_eq!(test.degrees_of_freedom, 1);
        assert_close(test.p_value, 5.320_5e-4, 1e-7);
    }

    #[test]
    fn many_regions_fall_back_to_pearson_even_when_small() {
        let test = homogeneity_test(&regions(&[(1, 1); 7]));
        assert_eq!(test.method, HomogeneityMethod::PearsonChiSquare);
        assert_eq!(test.p_value, 1.0);
    }

    #[test]
    fn empty_regions_are_ignored_and_one_region_is_no_comparison() {
        let test = homogeneity_test(&regions(&[(3, 4), (0, 0)]));
        assert_eq!((test.p_value, test.degrees_of_freedom), (1.0, 0));
    }

    #[test]
    fn benjamini_hochberg_matches_the_1995_paper_and_r() {
        // Benjamini & Hochberg (1995), JRSS B 57:289, section 4: fifteen
        // p-values; at q = 0.05 the procedure rejects the four smallest.
        let p = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
            0.5719, 0.6528, 0.7590, 1.0000,
        ];
        let q = benjamini_hochberg(&p);
        let rejected: Vec<bool> = q.iter().map(|&q| q <= 0.05).collect();
        assert_eq!(rejected, [[true; 4].as_slice(), &[false; 11]].concat());
        // By the definition (hand-computed): q_1 = 15 * 0.0001 / 1 = 0.0015;
        // q_4 = 15 * 0.0095 / 4 = 0.035625; q_6 (p = 0.0278) takes the
        // smaller later value q_7 = 15 * 0.0298 / 7 = 0.0638571;
        // q_8 = 15 * 0.0344 / 8 = 0.0645; q_9 = 15 * 0.0459 / 9 = 0.0765.
        assert_close(q[0], 0.0015, 1e-12);
        assert_close(q[3], 0.035625, 1e-12);
        assert_close(q[5], 15.0 * 0.0298 / 7.0, 1e-12);
        assert_close(q[6], 15.0 * 0.0298 / 7.0, 1e-12);
        assert_close(q[7], 0.0645, 1e-12);
        assert_close(q[8], 0.0765, 1e-12);
        assert_close(q[14], 1.0, 1e-12);
    }

    #[test]
    fn benjamini_hochberg_keeps_input_order_and_skips_nan() {
        // Hand-computed, as p.adjust(c(0.04, NA, 0.01, 0.03), "BH"):
        // n = 3; sorted 0.01, 0.03, 0.04 -> 0.03, 0.045, 0.04 -> cummin from
        // the top: 0.04, 0.04, 0.03.
        let q = benjamini_hochberg(&[0.04, f64::NAN, 0.01, 0.03]);
        assert_close(q[0], 0.04, 1e-12);
        assert!(q[1].is_nan());
        assert_close(q[2], 0.03, 1e-12);
        assert_close(q[3], 0.04, 1e-12);
    }
}
