//! Survival analysis for processing times: how long an exemption
//! application waits for a decision, where applications still waiting are
//! censored observations.
//!
//! * [`KaplanMeier`]: the product-limit curve with pointwise confidence
//!   limits from Greenwood's variance, its median and quartiles with
//!   confidence intervals, and the share decided by a given day.
//! * [`log_rank_test`]: whether two or more groups (regions, say) share one
//!   survival curve, as R's `survdiff` with `rho = 0`.
//!
//! Confidence limits follow R's `survfit`. The default transform is
//! [`ConfidenceTransform::Log`], R's default `conf.type = "log"`:
//! S * exp(+/- z * se(log S)), with se(log S)^2 = sum d / (n (n - d)).
//! [`ConfidenceTransform::LogLog`] (R's `"log-log"`) is offered as well; it
//! keeps limits inside (0, 1) and behaves better in the tails.
//!
//! The confidence interval of a quantile (the median, say) is found as
//! Brookmeyer and Crowley (1982) proposed and R's `quantile.survfit` does:
//! the times at which the lower and upper pointwise limits cross the level.
//! A limit that never crosses gives no bound (R's `NA`), which is common for
//! the upper bound of a median when follow-up is short.
//!
//! Known limits: times are compared exactly (R first merges times that
//! differ by rounding error; day counts need no such care). Censoring is
//! assumed independent of the outcome: if long-waiting applications are
//! withdrawn, the curve is biased.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::numeric::{solve_linear, two_sided_z};

/// One application (or `count` applications alike): the days from receipt until the
/// decision, or until now when there is no decision yet (`event_observed` false: censored).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub time_days: f64,
    pub event_observed: bool,
    /// How many applications share this time and status; counted rather than repeated
    /// so that a year of a large registry fits in a few hundred observations.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

impl Observation {
    /// An application decided after `time_days`.
    pub fn event(time_days: f64) -> Observation {
        Observation {
            time_days,
            event_observed: true,
            count: 1,
        }
    }

    /// An application still waiting after `time_days`.
    pub fn censored(time_days: f64) -> Observation {
        Observation {
            time_days,
            event_observed: false,
            count: 1,
        }
    }

    /// The same observation standing for `count` applications.
    pub fn times(self, count: u64) -> Observation {
        Observation { count, ..self }
    }
}

/// How pointwise confidence limits for S(t) are formed (R's `conf.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConfidenceTransform {
    /// Symmetric on log S; R's default.
    #[default]
    Log,
    /// Symmetric on log(-log S).
    LogLog,
}

/// The curve at one distinct observed time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurvivalStep {
    pub time: f64,
    /// Number still under observation just before `time`.
    pub at_risk: u64,
    pub events: u64,
    pub censored: u64,
    /// S(t): the share without an event after `time`.
    pub survival: f64,
    /// Greenwood standard error of S(t); `None` once S(t) is 0.
    pub std_err: Option<f64>,
    /// Pointwise confidence limits of S(t); `None` where R gives `NA`.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A quantile of the event-time distribution with its confidence interval.
/// Any part is `None` when the curve (or its limit) never reaches the level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuantileEstimate {
    pub estimate: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A fitted Kaplan-Meier curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KaplanMeier {
    steps: Vec<SurvivalStep>,
    subjects: usize,
    events: u64,
}

impl KaplanMeier {
    /// Fits the curve with R's defaults: 95 % limits on the log scale.
    ///
    /// # Panics
    /// If a time is negative or not finite.
    pub fn fit(observations: &[Observation]) -> KaplanMeier {
        KaplanMeier::fit_with(observations, ConfidenceTransform::Log, 0.95)
    }

    /// Fits the curve with the given limit transform and confidence level.
    ///
    /// # Panics
    /// If a time is negative or not finite, or `confidence` is not strictly
    /// between 0 and 1.
    pub fn fit_with(
        observations: &[Observation],
        transform: ConfidenceTransform,
        confidence: f64,
    ) -> KaplanMeier {
        let z = two_sided_z(confidence);
        let sorted = sorted_by_time(observations);
        let mut steps = Vec::new();
        let mut at_risk: u64 = sorted.iter().map(|o| o.count).sum();
        let (mut survival, mut greenwood) = (1.0, 0.0);
        for tied in sorted.chunk_by(|a, b| a.time_days == b.time_days) {
            let leaving: u64 = tied.iter().map(|o| o.count).sum();
            let events: u64 = tied
                .iter()
                .filter(|o| o.event_observed)
                .map(|o| o.count)
                .sum();
            survival *= 1.0 - events as f64 / at_risk as f64;
            greenwood += greenwood_term(at_risk, events);
            let (lower, upper) = pointwise_limits(survival, greenwood.sqrt(), z, transform);
            steps.push(SurvivalStep {
                time: tied[0].time_days,
                at_risk,
                events,
                censored: leaving - events,
                survival,
                std_err: (survival > 0.0).then(|| survival * greenwood.sqrt()),
                lower,
                upper,
            });
            at_risk -= leaving;
        }
        KaplanMeier {
            events: steps.iter().map(|step| step.events).sum(),
            subjects: observations.iter().map(|o| o.count as usize).sum(),
            steps,
        }
    }

    /// The curve at every distinct observed time, in time order.
    pub fn steps(&self) -> &[SurvivalStep] {
        &self.steps
    }

    /// Number of observations the curve was fitted to.
    pub fn subjects(&self) -> usize {
        self.subjects
    }

    /// Number of observed events.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// S(t): the estimated share still without an event after day `t`.
    pub fn survival_at(&self, t: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|step| step.time <= t)
            .last()
            .map_or(1.0, |step| step.survival)
    }

    /// 1 - S(t): the estimated share with an event (a decision) by day `t`.
    pub fn share_with_event_by(&self, t: f64) -> f64 {
        1.0 - self.survival_at(t)
    }

    /// The time by which a share `p` of subjects has had the event (0.5 is
    /// the median), with its confidence interval, as R's `quantile.survfit`.
    ///
    /// # Panics
    /// If `p` is outside [0, 1].
    pub fn quantile(&self, p: f64) -> QuantileEstimate {
        assert!((0.0..=1.0).contains(&p), "p must lie in [0, 1], got {p}");
        QuantileEstimate {
            estimate: self.curve_quantile(|step| Some(step.survival), p),
            lower: self.curve_quantile(|step| step.lower, p),
            upper: self.curve_quantile(|step| step.upper, p),
        }
    }

    /// The median time to the event with its confidence interval.
    pub fn median(&self) -> QuantileEstimate {
        self.quantile(0.5)
    }

    /// The first and third quartiles: the times by which 25 % and 75 % have
    /// had the event.
    pub fn quartiles(&self) -> (QuantileEstimate, QuantileEstimate) {
        (self.quantile(0.25), self.quantile(0.75))
    }

    /// Where one curve (the estimate or a limit) first reaches the
    /// cumulative share `p`, following `findq` in R's `quantile.survfit.R`:
    /// censoring times (repeated levels) and undefined limits are dropped,
    /// and a curve lying exactly at `p` over an interval gives the midpoint
    /// of that interval (the last observed time if the curve ends there).
    fn curve_quantile(&self, curve: impl Fn(&SurvivalStep) -> Option<f64>, p: f64) -> Option<f64> {
        // R's default tolerance: sqrt(.Machine$double.eps).
        const TOLERANCE: f64 = 1.490_116_119_384_765_6e-8;
        if p == 0.0 {
            return Some(0.0);
        }
        let points = self.cumulative_levels(curve);
        if points
            .iter()
            .filter_map(|point| point.1)
            .all(|level| level < p)
        {
            return None;
        }
        let last_time = points.last().map_or(0.0, |point| point.0);
        let points = first_of_each_level(points);
        let ends_defined = points.last().is_some_and(|point| point.1.is_some());
        let defined: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|&(t, y)| y.map(|y| (t, y)))
            .collect();

        let reached = first_time_at_or_above(&defined, p - TOLERANCE)?;
        let (_, last_level) = *defined.last()?;
        if ends_defined && (p - last_level).abs() < TOLERANCE {
            // The curve ends flat at exactly p: midpoint to the last time seen.
            return Some((reached + last_time) / 2.0);
        }
        let passed = first_time_at_or_above(&defined, p + TOLERANCE)?;
        Some((reached + passed) / 2.0)
    }

    /// The cumulative share 1 - curve at time 0 and at every step; `None`
    /// where the curve is undefined.
    fn cumulative_levels(
        &self,
        curve: impl Fn(&SurvivalStep) -> Option<f64>,
    ) -> Vec<(f64, Option<f64>)> {
        let start = (0.0, Some(0.0));
        let steps = self
            .steps
            .iter()
            .map(|step| (step.time, curve(step).map(|s| 1.0 - s)));
        std::iter::once(start).chain(steps).collect()
    }
}

/// The observations in time order.
///
/// # Panics
/// If a time is negative or not finite: such a time is a bug upstream, and
/// sorting it silently would hide it.
fn sorted_by_time(observations: &[Observation]) -> Vec<Observation> {
    for observation in observations {
        let t = observation.time_days;
        assert!(
            t.is_finite() && t >= 0.0,
            "times must be finite and non-negative, got {t}"
        );
    }
    let mut sorted = observations.to_vec();
    sorted.sort_by(|a, b| a.time_days.total_cmp(&b.time_days));
    sorted
}

/// Greenwood's increment d / (n (n - d)); infinite once everyone has failed.
fn greenwood_term(at_risk: u64, events: u64) -> f64 {
    if events == 0 {
        0.0
    } else if events == at_risk {
        f64::INFINITY
    } else {
        events as f64 / (at_risk as f64 * (at_risk - events) as f64)
    }
}

/// Pointwise limits for S from the standard error of log S, as R's
/// `survfit_confint`; `None` where R returns `NA`.
fn pointwise_limits(
    survival: f64,
    se_log: f64,
    z: f64,
    transform: ConfidenceTransform,
) -> (Option<f64>, Option<f64>) {
    match transform {
        ConfidenceTransform::Log if survival > 0.0 => {
            let lower = (survival.ln() - z * se_log).exp();
            let upper = (survival.ln() + z * se_log).exp().min(1.0);
            (Some(lower), Some(upper))
        }
        ConfidenceTransform::LogLog if survival > 0.0 && survival < 1.0 => {
            let centre = (-survival.ln()).ln();
            let half_width = z * se_log / survival.ln().abs();
            let lower = (-(centre + half_width).exp()).exp();
            let upper = (-(centre - half_width).exp()).exp();
            (Some(lower), Some(upper))
        }
        _ => (None, None),
    }
}

/// Keeps the first point of each distinct level, as R's `duplicated` does
/// (undefined levels count as one level, like R's `NA`).
fn first_of_each_level(points: Vec<(f64, Option<f64>)>) -> Vec<(f64, Option<f64>)> {
    let mut kept: Vec<(f64, Option<f64>)> = Vec::with_capacity(points.len());
    for point in points {
        if !kept.iter().any(|k| k.1 == point.1) {
            kept.push(point);
        }
    }
    kept
}

/// The first time at which the level is at least `threshold`.
///
/// This is where a horizontal line meets the curve, as R documents for the
/// median. The pointwise upper limit need not be monotone (at the end of
/// `aml` it rises from 0.458 to 0.462), so "first time" matters: R reports
/// the first crossing (45 weeks for `aml`), not the lowest level above.
fn first_time_at_or_above(points: &[(f64, f64)], threshold: f64) -> Option<f64> {
    points
        .iter()
        .find(|point| point.1 >= threshold)
        .map(|point| point.0)
}

/// The result of a log-rank test across groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRankTest {
    /// Chi-square statistic (O - E)' V^-1 (O - E).
    pub statistic: f64,
    /// Number of groups with any expected events, minus one.
    pub degrees_of_freedom: usize,
    pub p_value: f64,
    /// Observed and expected events per group, in input order.
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
}

/// The log-rank test that all `groups` share one survival curve, as R's
/// `survdiff(Surv(time, status) ~ group)`.
///
/// As in R, groups with no expected events (empty groups, or groups whose
/// members all left before the first event) are left out of the statistic
/// and the degrees of freedom. Returns `None` when fewer than two groups
/// remain or the variance matrix is singular.
pub fn log_rank_test<G: AsRef<[Observation]>>(groups: &[G]) -> Option<LogRankTest> {
    let tally = LogRankTally::count(groups);
    let kept: Vec<usize> = (0..groups.len())
        .filter(|&g| tally.expected[g] > 0.0)
        .collect();
    if kept.len() < 2 {
        return None;
    }
    // The deviations sum to zero, so one group is redundant: drop the first.
    let free = &kept[1..];
    let deviation: Vec<f64> = free
        .iter()
        .map(|&g| tally.observed[g] - tally.expected[g])
        .collect();
    let variance: Vec<Vec<f64>> = free
        .iter()
        .map(|&g| free.iter().map(|&h| tally.variance[g][h]).collect())
        .collect();
    let solved = solve_linear(variance, deviation.clone())?;
    let statistic: f64 = solved.iter().zip(&deviation).map(|(x, d)| x * d).sum();
    let degrees_of_freedom = free.len();
    let chi_square = ChiSquared::new(degrees_of_freedom as f64).expect("at least one degree");
    Some(LogRankTest {
        statistic,
        degrees_of_freedom,
        p_value: chi_square.sf(statistic),
        observed: tally.observed,
        expected: tally.expected,
    })
}

/// Observed and expected events and their covariance, summed over the
/// distinct event times of all groups together.
struct LogRankTally {
    observed: Vec<f64>,
    expected: Vec<f64>,
    variance: Vec<Vec<f64>>,
}

impl LogRankTally {
    fn count<G: AsRef<[Observation]>>(groups: &[G]) -> LogRankTally {
        let k = groups.len();
        let mut tally = LogRankTally {
            observed: vec![0.0; k],
            expected: vec![0.0; k],
            variance: vec![vec![0.0; k]; k],
        };
        let mut pooled: Vec<(f64, usize, bool, f64)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| {
                group
                    .as_ref()
                    .iter()
                    .map(move |o| (o.time_days, g, o.event_observed, o.count as f64))
            })
            .collect();
        pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut at_risk: Vec<f64> = groups
            .iter()
            .map(|g| g.as_ref().iter().map(|o| o.count as f64).sum())
            .collect();
        for tied in pooled.chunk_by(|a, b| a.0 == b.0) {
            let mut events = vec![0.0; k];
            for &(_, g, event, count) in tied {
                if event {
                    events[g] += count;
                }
            }
            tally.add_time(&at_risk, &events);
            for &(_, g, _, count) in tied {
                at_risk[g] -= count;
            }
        }
        tally
    }

    /// Adds one distinct time: hypergeometric mean and covariance of the
    /// events among the groups, given the total at risk and total events.
    fn add_time(&mut self, at_risk: &[f64], events: &[f64]) {
        let n: f64 = at_risk.iter().sum();
        let d: f64 = events.iter().sum();
        if d == 0.0 {
            return;
        }
        let spread = if n > 1.0 {
            d * (n - d) / (n - 1.0)
        } else {
            0.0
        };
        for (g, &at_risk_g) in at_risk.iter().enumerate() {
            let share = at_risk_g / n;
            self.observed[g] += events[g];
            self.expected[g] += d * share;
            for (h, &at_risk_h) in at_risk.iter().enumerate() {
                let same = if g == h { 1.0 } else { 0.0 };
                self.variance[g][h] += spread * share * (same - at_risk_h / n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    /// The `aml` data of R's survival package (Miller 1981): weeks in
    /// remission for acute myelogenous leukaemia; `+` marks censoring.
    /// Maintained: 9, 13, 13+, 18, 23, 28+, 31, 34, 45+, 48, 161+.
    fn maintained() -> Vec<Observation> {
        let e = Observation::event;
        let c = Observation::censored;
        vec![
            e(9.0),
            e(13.0),
            c(13.0),
            e(18.0),
            e(23.0),
            c(28.0),
            e(31.0),
            e(34.0),
            c(45.0),
            e(48.0),
            c(161.0),
        ]
    }

    /// Nonmaintained: 5, 5, 8, 8, 12, 16+, 23, 27, 30, 33, 43, 45.
    fn nonmaintained() -> Vec<Observation> {
        let e = Observation::event;
        let c = Observation::censored;
        vec![
            e(5.0),
            e(5.0),
            e(8.0),
            e(8.0),
            e(12.0),
            c(16.0),
            e(23.0),
            e(27.0),
            e(30.0),
            e(33.0),
            e(43.0),
            e(45.0),
        ]
    }

    fn aml() -> Vec<Observation> {
        [maintained(), nonmaintained()].concat()
    }

    fn check_quantile(actual: QuantileEstimate, expected: (Option<f64>, Option<f64>, Option<f64>)) {
        assert_eq!((actual.estimate, actual.lower, actual.upper), expected);
    }

    #[test]
    fn aml_curve_matches_r_summary_survfit() {
        // R: summary(survfit(Surv(time, status) ~ 1, data = aml)), as
        // printed in public R transcripts:
        //  time n.risk n.event survival std.err lower 95% CI upper 95% CI
        //     5     23       2   0.9130  0.0588       0.8049        1.000
        //     8     21       2   0.8261  0.0790       0.6848        0.996
        //     9     19       1   0.7826  0.0860       0.6310        0.971
        //    12     18       1   0.7391  0.0916       0.5798        0.942
        //    13     17       1   0.6957  0.0959       0.5309        0.912
        //    18     14       1   0.6460  0.1011       0.4753        0.878
        //    23     13       2   0.5466  0.1073       0.3721        0.803
        let expected = [
            (5.0, 23, 2, 0.9130, 0.0588, 0.8049, 1.000),
            (8.0, 21, 2, 0.8261, 0.0790, 0.6848, 0.996),
            (9.0, 19, 1, 0.7826, 0.0860, 0.6310, 0.971),
            (12.0, 18, 1, 0.7391, 0.0916, 0.5798, 0.942),
            (13.0, 17, 1, 0.6957, 0.0959, 0.5309, 0.912),
            (18.0, 14, 1, 0.6460, 0.1011, 0.4753, 0.878),
            (23.0, 13, 2, 0.5466, 0.1073, 0.3721, 0.803),
        ];
        let fit = KaplanMeier::fit(&aml());
        for (time, at_risk, events, survival, std_err, lower, upper) in expected {
            let step = fit
                .steps()
                .iter()
                .find(|s| s.time == time)
                .expect("an event time");
            assert_eq!((step.at_risk, step.events), (at_risk, events), "at {time}");
            assert_close(step.survival, survival, 5e-5);
            assert_close(step.std_err.unwrap(), std_err, 5e-5);
            assert_close(step.lower.unwrap(), lower, 5e-5);
            assert_close(step.upper.unwrap(), upper, 5e-4);
        }
        assert_eq!((fit.subjects(), fit.events()), (23, 18));
    }

    #[test]
    fn aml_median_matches_r_survfit() {
        // R: survfit(Surv(time, status) ~ 1, data = aml)
        //       n events median 0.95LCL 0.95UCL
        //  [1,] 23     18     27      18      45
        let fit = KaplanMeier::fit(&aml());
        check_quantile(fit.median(), (Some(27.0), Some(18.0), Some(45.0)));
    }

    #[test]
    fn aml_medians_by_group_match_r_survfit() {
        // R: survfit(Surv(time, status) ~ x, data = aml)
        //                   n events median 0.95LCL 0.95UCL
        //  x=Maintained    11      7     31      18      NA
        //  x=Nonmaintained 12     11     23       8      NA
        check_quantile(
            KaplanMeier::fit(&maintained()).median(),
            (Some(31.0), Some(18.0), None),
        );
        check_quantile(
            KaplanMeier::fit(&nonmaintained()).median(),
            (Some(23.0), Some(8.0), None),
        );
    }

    #[test]
    fn aml_quartiles_read_off_the_curve() {
        // Computed by hand from the R table above (not from an R run):
        // S first falls to 0.75 or below at 12 (0.7391), so 25 % by week 12.
        // Continuing the product limit: 27 -> 0.4969, 30 (n 9) -> 0.4417,
        // 31 (n 8) -> 0.3865, 33 (n 7) -> 0.3313, 34 (n 6) -> 0.2761,
        // 43 (n 5) -> 0.2208 <= 0.25, so 75 % by week 43.
        let (first, third) = KaplanMeier::fit(&aml()).quartiles();
        assert_eq!(first.estimate, Some(12.0));
        assert_eq!(third.estimate, Some(43.0));
    }

    #[test]
    fn a_curve_lying_exactly_at_the_level_takes_the_midpoint() {
        // Four events at 1, 2, 3, 4: S = 0.5 on [2, 3), so the median is 2.5
        // (the rule R's quantile.survfit documents, like the sample median).
        let fit = KaplanMeier::fit(&[1.0, 2.0, 3.0, 4.0].map(Observation::event));
        assert_eq!(fit.median().estimate, Some(2.5));
    }

    #[test]
    fn share_with_an_event_is_one_minus_survival() {
        // From the R table: S(9) = 0.7826, constant until the event at 12.
        let fit = KaplanMeier::fit(&aml());
        assert_close(fit.share_with_event_by(10.0), 1.0 - 0.7826, 5e-5);
        assert_eq!(fit.share_with_event_by(4.0), 0.0);
    }

    #[test]
    fn no_events_means_no_median() {
        let fit = KaplanMeier::fit(&[Observation::censored(10.0), Observation::censored(20.0)]);
        check_quantile(fit.median(), (None, None, None));
        assert_eq!(fit.survival_at(30.0), 1.0);
    }

    #[test]
    fn log_log_limits_stay_inside_the_unit_interval_and_around_the_estimate() {
        let fit = KaplanMeier::fit_with(&aml(), ConfidenceTransform::LogLog, 0.95);
        for step in fit
            .steps()
            .iter()
            .filter(|s| s.survival > 0.0 && s.survival < 1.0)
        {
            let (lower, upper) = (step.lower.unwrap(), step.upper.unwrap());
            assert!(0.0 < lower && lower < step.survival && step.survival < upper && upper < 1.0);
        }
    }

    #[test]
    fn log_rank_matches_r_survdiff_on_aml() {
        // R: survdiff(Surv(time, status) ~ x, data = aml)
        //                   N Observed Expected (O-E)^2/E (O-E)^2/V
        //  x=Maintained    11        7    10.69      1.27       3.4
        //  x=Nonmaintained 12       11     7.31      1.86       3.4
        //  Chisq= 3.4  on 1 degrees of freedom, p= 0.0653
        let test = log_rank_test(&[maintained(), nonmaintained()]).unwrap();
        assert_eq!(test.observed, vec![7.0, 11.0]);
        assert_close(test.expected[0], 10.69, 5e-3);
        assert_close(test.expected[1], 7.31, 5e-3);
        assert_close(test.statistic, 3.396, 5e-4);
        assert_close(test.p_value, 0.0653, 5e-5);
        assert_eq!(test.degrees_of_freedom, 1);
    }

    #[test]
    fn log_rank_ignores_groups_without_expected_events_as_r_does() {
        let with_empty = log_rank_test(&[maintained(), vec![], nonmaintained()]).unwrap();
        let without = log_rank_test(&[maintained(), nonmaintained()]).unwrap();
        assert_eq!(with_empty.degrees_of_freedom, 1);
        assert_close(with_empty.statistic, without.statistic, 1e-12);
    }

    #[test]
    fn log_rank_for_three_groups_does_not_depend_on_their_order() {
        // Independent check of the k-group algebra: the quadratic form must
        // not change when groups are relabelled, whichever group is dropped.
        let (a, b) = (maintained(), nonmaintained());
        let c: Vec<Observation> = [4.0, 10.0, 20.0, 35.0, 60.0]
            .map(Observation::event)
            .to_vec();
        let one = log_rank_test(&[a.clone(), b.clone(), c.clone()]).unwrap();
        let other = log_rank_test(&[c, a, b]).unwrap();
        assert_eq!(one.degrees_of_freedom, 2);
        assert_close(one.statistic, other.statistic, 1e-9);
    }

    #[test]
    fn log_rank_needs_two_groups_with_events_at_risk() {
        assert!(log_rank_test(&[maintained()]).is_none());
        assert!(log_rank_test::<Vec<Observation>>(&[]).is_none());
    }

    /// Equal observations merged into one with a count, as a whole year is loaded.
    fn counted(observations: &[Observation]) -> Vec<Observation> {
        let mut merged: Vec<Observation> = Vec::new();
        for observation in observations {
            match merged.iter_mut().find(|m| {
                m.time_days == observation.time_days
                    && m.event_observed == observation.event_observed
            }) {
                Some(m) => m.count += 1,
                None => merged.push(*observation),
            }
        }
        merged
    }

    #[test]
    fn counted_observations_give_the_curve_and_test_of_repeated_ones() {
        let repeated: Vec<Observation> = aml()
            .into_iter()
            .chain(maintained())
            .chain(maintained())
            .collect();
        let merged = counted(&repeated);
        assert!(merged.len() < repeated.len());
        let (plain, weighted) = (KaplanMeier::fit(&repeated), KaplanMeier::fit(&merged));
        assert_eq!(plain.steps(), weighted.steps());
        assert_eq!(plain.subjects(), weighted.subjects());
        assert_eq!(plain.median(), weighted.median());
        let doubled: Vec<Observation> = maintained().into_iter().chain(maintained()).collect();
        let plain = log_rank_test(&[doubled.clone(), nonmaintained()]).expect("two groups");
        let weighted =
            log_rank_test(&[counted(&doubled), counted(&nonmaintained())]).expect("two groups");
        assert_close(weighted.statistic, plain.statistic, 1e-12);
        assert_close(weighted.p_value, plain.p_value, 1e-12);
    }
}
