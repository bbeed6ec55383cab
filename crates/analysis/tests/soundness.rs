//! What a meeting must be able to trust in a signal (issue 13): it points the way its own
//! numbers point, it does not blame a unit for what the whole country does or for ordinary
//! spread, and the year's tests share one false-discovery budget. Each test here failed
//! before its fix.

use std::collections::BTreeMap;

use analysis::exact::benjamini_hochberg;
use analysis::signals::{
    all_signals, tests_of_year, AnalysisInput, CaseRecord, Day, MethodRecord, Signal, SignalKind,
    Tallies,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const REGIONS: [&str; 4] = ["r1", "r2", "r3", "r4"];

fn day(days: i64) -> Day {
    // 2025-01-01 is day 20 089; the tests stay inside 2025 and early 2026.
    let of_year = days - 20_089;
    Day {
        days,
        year: if of_year < 365 { 2025 } else { 2026 },
        quarter: (of_year.clamp(0, 364) / 92 + 1) as u8,
    }
}

const JANUARY_2025: i64 = 20_089;

struct Case {
    org: String,
    region: String,
    method: String,
    received: i64,
    /// Days to the decision; None while pending.
    wait: Option<i64>,
    granted: bool,
}

fn record(case: &Case) -> CaseRecord {
    CaseRecord {
        scheme: "individual_exemption".into(),
        method_id: case.method.clone(),
        icd10_category: "C64".into(),
        deciding_org: case.org.clone(),
        deciding_region: Some(case.region.clone()),
        applying_org: case.org.clone(),
        residence_region: Some(case.region.clone()),
        received: day(case.received),
        decided: case.wait.map(|w| day(case.received + w)),
        granted: case.wait.map(|_| case.granted),
        criteria_complete: true,
        refusal_reasons: vec![],
    }
}

fn analysed(cases: &[Case], methods: &[&str]) -> AnalysisInput {
    let records: Vec<CaseRecord> = cases.iter().map(record).collect();
    let methods: Vec<MethodRecord> = methods
        .iter()
        .map(|m| MethodRecord {
            method_id: m.to_string(),
            statuses: vec![(day(JANUARY_2025 - 1000), "under_assessment".into())],
        })
        .collect();
    AnalysisInput {
        year: 2025,
        tallies: Tallies::count(2025, &records, &methods),
        population: REGIONS
            .iter()
            .map(|r| ((2025, r.to_string()), 1_000_000))
            .collect(),
        names: BTreeMap::new(),
        settings: Default::default(),
    }
}

/// `n` cases of one region, received through the year, decided after `wait(i)` days.
fn region_cases(region: &str, n: usize, wait: impl Fn(usize) -> Option<i64>) -> Vec<Case> {
    (0..n)
        .map(|i| Case {
            org: format!("{region}-trust"),
            region: region.into(),
            method: "M".into(),
            received: JANUARY_2025 + (i as i64 * 7) % 300,
            wait: wait(i),
            granted: i % 4 != 0,
        })
        .collect()
}

fn of_kind(signals: &[Signal], kind: SignalKind) -> Vec<&Signal> {
    signals.iter().filter(|s| s.kind == kind).collect()
}

#[test]
fn a_region_whose_median_is_not_reached_is_called_slower_and_over_the_limit() {
    let mut cases = Vec::new();
    for region in ["r1", "r2", "r3"] {
        cases.extend(region_cases(region, 40, |i| Some(15 + (i as i64 % 10))));
    }
    // r4: most cases still pending, the few decided took long.
    cases.extend(region_cases("r4", 40, |i| (i % 8 == 0).then_some(120)));
    let signals = all_signals(&analysed(&cases, &["M"]));
    let about_r4: Vec<&Signal> = of_kind(&signals, SignalKind::ProcessingTimeVariation)
        .into_iter()
        .filter(|s| s.unit.as_deref() == Some("r4"))
        .collect();
    assert!(
        about_r4
            .iter()
            .any(|s| s.p_value.is_some() && s.message.contains("lengre")),
        "{about_r4:#?}"
    );
    assert!(
        about_r4.iter().all(|s| !s.message.contains("kortere")),
        "{about_r4:#?}"
    );
    assert!(
        about_r4.iter().any(|s| s.effect_measure == "median_days"),
        "the 60-day rule fires for a median not reached: {about_r4:#?}"
    );
}

#[test]
fn one_slow_region_does_not_make_the_others_faster_than_the_rest() {
    let mut cases = Vec::new();
    for region in ["r1", "r2", "r3"] {
        cases.extend(region_cases(region, 60, |i| Some(10 + (i as i64 % 20))));
    }
    cases.extend(region_cases("r4", 60, |i| Some(50 + (i as i64 % 30))));
    let signals = all_signals(&analysed(&cases, &["M"]));
    let timing = of_kind(&signals, SignalKind::ProcessingTimeVariation);
    assert!(
        timing.iter().any(|s| s.unit.as_deref() == Some("r4")),
        "{timing:#?}"
    );
    assert!(
        timing
            .iter()
            .all(|s| s.unit.as_deref() == Some("r4") || s.p_value.is_none()),
        "only the slow region is named: {timing:#?}"
    );
}

#[test]
fn the_median_limit_needs_enough_cases_and_an_interval_above_it() {
    let mut cases = Vec::new();
    for region in ["r1", "r2", "r3"] {
        cases.extend(region_cases(region, 40, |i| Some(15 + (i as i64 % 10))));
    }
    // Five cases with a median of 70 days: too few to say the median is over 60.
    cases.extend(region_cases("r4", 5, |i| Some(65 + i as i64 * 3)));
    let signals = all_signals(&analysed(&cases, &["M"]));
    assert!(
        !signals.iter().any(|s| s.effect_measure == "median_days"),
        "{signals:#?}"
    );
}

/// A year of binomial draws: `n` decisions at `rate`.
fn decisions(
    rng: &mut StdRng,
    org: &str,
    region: &str,
    method: &str,
    n: usize,
    rate: f64,
) -> Vec<Case> {
    (0..n)
        .map(|i| Case {
            org: org.into(),
            region: region.into(),
            method: method.into(),
            received: JANUARY_2025 + (i as i64 * 5) % 300,
            wait: Some(20),
            granted: rng.gen::<f64>() < rate,
        })
        .collect()
}

#[test]
fn a_method_refused_everywhere_does_not_blame_the_trust_that_decides_most_of_it() {
    const YEARS: usize = 200;
    let mut rng = StdRng::seed_from_u64(13);
    let mut blamed = 0;
    for _ in 0..YEARS {
        let mut cases = Vec::new();
        // The ordinary method, granted 75 % everywhere; method M 35 % everywhere, and the
        // largest trust decides most of M.
        for (t, region) in ["r1", "r1", "r2", "r2", "r3", "r4"].iter().enumerate() {
            let org = format!("t{t}");
            cases.extend(decisions(&mut rng, &org, region, "ORD", 60, 0.75));
            let of_m = if t == 0 { 80 } else { 10 };
            cases.extend(decisions(&mut rng, &org, region, "M", of_m, 0.35));
        }
        let signals = all_signals(&analysed(&cases, &["ORD", "M"]));
        blamed += usize::from(signals.iter().any(|s| {
            s.kind == SignalKind::GrantRateVariation
                && s.unit.as_deref() == Some("t0")
                && s.method_id.as_deref() == Some("M")
        }));
    }
    println!("the largest trust blamed in {blamed} of {YEARS} years");
    assert!(
        blamed * 100 <= YEARS * 5,
        "the largest trust was blamed in {blamed} of {YEARS} years"
    );
}

fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[test]
fn ordinary_spread_between_trusts_does_not_flag_the_large_ones() {
    // A random-effects truth: each trust's grant rate is 0.75 moved by a logit offset with
    // SD 0.4. None of them is an outlier from that distribution. With the spread estimated
    // from 14 trusts a year (so sometimes underestimated) the additive funnel flags about
    // 2.4 % of the large trust-years; the multiplicative one flagged 5.1 %.
    const YEARS: usize = 100;
    let sizes = [
        20, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500,
    ];
    let mut rng = StdRng::seed_from_u64(4);
    let (mut flagged_large, mut large) = (0, 0);
    for _ in 0..YEARS {
        let mut cases = Vec::new();
        for (t, n) in sizes.iter().enumerate() {
            let offset = 0.4 * normal(&mut rng);
            let rate = 1.0 / (1.0 + (-(3.0_f64.ln() + offset)).exp());
            let region = REGIONS[t % 4];
            cases.extend(decisions(
                &mut rng,
                &format!("t{t}"),
                region,
                "ORD",
                *n,
                rate,
            ));
        }
        let signals = all_signals(&analysed(&cases, &["ORD"]));
        for (t, n) in sizes.iter().enumerate() {
            if *n < 80 {
                continue;
            }
            large += 1;
            let unit = format!("t{t}");
            flagged_large += usize::from(signals.iter().any(|s| {
                s.kind == SignalKind::GrantRateVariation
                    && s.unit.as_deref() == Some(unit.as_str())
                    && s.method_id.is_none()
            }));
        }
    }
    println!("{flagged_large} of {large} large trust-years flagged");
    assert!(
        flagged_large * 100 <= large * 3,
        "{flagged_large} of {large} large trust-years flagged"
    );
}

#[test]
fn every_statistical_signal_takes_its_q_value_from_one_budget_over_every_test_of_the_year() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut cases = Vec::new();
    for (t, region) in ["r1", "r2", "r3", "r4", "r1", "r2"].iter().enumerate() {
        let rate = if t == 2 { 0.3 } else { 0.75 };
        cases.extend(decisions(
            &mut rng,
            &format!("t{t}"),
            region,
            "ORD",
            80,
            rate,
        ));
    }
    let input = analysed(&cases, &["ORD"]);
    let tests = tests_of_year(&input);
    let kinds: std::collections::BTreeSet<SignalKind> = tests.iter().map(|t| t.0).collect();
    assert!(kinds.len() >= 3, "tests of several kinds: {kinds:?}");
    let q_values = benjamini_hochberg(&tests.iter().map(|t| t.1).collect::<Vec<_>>());
    let signals = all_signals(&input);
    let statistical: Vec<&Signal> = signals.iter().filter(|s| s.p_value.is_some()).collect();
    assert!(!statistical.is_empty());
    for signal in statistical {
        let p = signal.p_value.unwrap();
        let index = tests
            .iter()
            .position(|t| t.0 == signal.kind && t.1 == p)
            .expect("the signal's test is among the year's tests");
        assert_eq!(signal.q_value, Some(q_values[index]), "{signal:#?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the waits, a processing-time signal says "lengre" exactly when its region
    /// decided fewer cases than expected, and "kortere" exactly when more.
    #[test]
    fn a_processing_time_sentence_states_the_direction_of_its_own_numbers(
        waits in proptest::collection::vec(
            proptest::collection::vec(proptest::option::weighted(0.8, 1i64..200), 8..40),
            4,
        )
    ) {
        let cases: Vec<Case> = waits
            .iter()
            .zip(REGIONS)
            .flat_map(|(region_waits, region)| {
                region_waits.iter().enumerate().map(move |(i, wait)| Case {
                    org: format!("{region}-trust"),
                    region: region.into(),
                    method: "M".into(),
                    received: JANUARY_2025 + (i as i64 * 9) % 200,
                    wait: *wait,
                    granted: true,
                })
            })
            .collect();
        let signals = all_signals(&analysed(&cases, &["M"]));
        for signal in of_kind(&signals, SignalKind::ProcessingTimeVariation) {
            if signal.p_value.is_none() {
                continue;
            }
            let observed = signal.counts["observed_decisions"];
            let expected = signal.counts["expected_decisions"];
            prop_assert_eq!(signal.message.contains("lengre"), observed < expected, "{:?}", signal);
            prop_assert_eq!(signal.message.contains("kortere"), observed > expected, "{:?}", signal);
        }
    }
}
