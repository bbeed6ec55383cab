//! Signals on small inputs built by hand: each kind finds what is there and stays quiet
//! where nothing is.

use std::collections::BTreeMap;

use analysis::signals::{
    all_signals, signals_of_kind, AnalysisInput, CaseRecord, Day, MethodRecord, SignalKind, Tallies,
};

const TRUSTS: [(&str, &str); 6] = [
    ("t1", "r1"),
    ("t2", "r1"),
    ("t3", "r2"),
    ("t4", "r2"),
    ("t5", "r3"),
    ("t6", "r3"),
];

/// Day number of a date in 2024 or 2025 (approximate calendar: 30-day months).
fn day(year: i32, month: u32, day_of_month: u32) -> Day {
    let days = i64::from(year - 1970) * 365 + i64::from(month - 1) * 30 + i64::from(day_of_month);
    Day {
        days,
        year,
        quarter: ((month - 1) / 3 + 1) as u8,
    }
}

fn case(
    org: &str,
    region: &str,
    method: &str,
    received: Day,
    decided_after: i64,
    granted: bool,
) -> CaseRecord {
    CaseRecord {
        scheme: "individual_exemption".into(),
        method_id: method.into(),
        icd10_category: "C64".into(),
        deciding_org: org.into(),
        deciding_region: Some(region.into()),
        applying_org: org.into(),
        residence_region: Some(region.into()),
        received,
        decided: Some(Day {
            days: received.days + decided_after,
            ..received
        }),
        granted: Some(granted),
        criteria_complete: true,
        refusal_reasons: if granted {
            vec![]
        } else {
            vec!["criteria_not_met".into()]
        },
    }
}

/// Cases and methods as a test builds them; the signals see their tallies.
struct Registry {
    cases: Vec<CaseRecord>,
    methods: Vec<MethodRecord>,
}

impl Registry {
    fn analysed(&self) -> AnalysisInput {
        AnalysisInput {
            year: 2025,
            tallies: Tallies::count(2025, &self.cases, &self.methods),
            population: BTreeMap::from([
                ((2025, "r1".into()), 1_000_000),
                ((2025, "r2".into()), 1_000_000),
                ((2025, "r3".into()), 1_000_000),
            ]),
            names: BTreeMap::from([("t3".to_string(), "Helse Bergen HF".to_string())]),
            settings: Default::default(),
        }
    }
}

/// `per_trust` decisions a trust on `method` in 2025, every fourth refused, except
/// `low` which grants only `low_grants` of them.
fn input(per_trust: usize, low: Option<(&str, usize)>) -> Registry {
    let mut cases = Vec::new();
    for (org, region) in TRUSTS {
        for n in 0..per_trust {
            let granted = match low {
                Some((low_org, grants)) if low_org == org => n < grants,
                _ => n % 4 != 0,
            };
            let received = day(2025, 1 + (n % 11) as u32, 1 + (n % 28) as u32);
            cases.push(case(
                org,
                region,
                "ID2023_045",
                received,
                20 + (n % 15) as i64,
                granted,
            ));
        }
    }
    Registry {
        cases,
        methods: vec![MethodRecord {
            method_id: "ID2023_045".into(),
            statuses: vec![(day(2023, 1, 1), "under_assessment".into())],
        }],
    }
}

fn kinds(registry: &Registry, kind: SignalKind) -> Vec<analysis::signals::Signal> {
    signals_of_kind(&registry.analysed(), kind)
}

#[test]
fn a_trust_that_grants_far_less_than_the_others_is_signalled_and_named() {
    let input = input(40, Some(("t3", 10)));
    let signals = kinds(&input, SignalKind::GrantRateVariation);
    let trust = signals
        .iter()
        .find(|s| s.unit.as_deref() == Some("t3"))
        .expect("t3 signalled");
    assert!(trust.effect_size.unwrap() < -0.4, "{trust:?}");
    assert!(trust.q_value.unwrap() < 0.05);
    assert!(
        trust
            .message
            .starts_with("Helse Bergen HF innvilget 25 % av 40 saker"),
        "{}",
        trust.message
    );
    assert!(
        signals.iter().all(|s| s.unit.as_deref() != Some("t1")),
        "the others are not signalled"
    );
}

#[test]
fn equal_practice_gives_no_grant_rate_signal() {
    let input = input(40, None);
    assert!(kinds(&input, SignalKind::GrantRateVariation).is_empty());
    assert!(kinds(&input, SignalKind::UnequalTreatment).is_empty());
}

#[test]
fn the_same_subgroup_granted_in_one_region_and_refused_in_another_is_unequal_treatment() {
    let mut input = input(20, None);
    for case in input
        .cases
        .iter_mut()
        .filter(|c| c.deciding_region.as_deref() == Some("r2"))
    {
        case.granted = Some(false);
    }
    let signals = kinds(&input, SignalKind::UnequalTreatment);
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].unit.as_deref(), Some("r2"));
    assert_eq!(signals[0].indication.as_deref(), Some("C64"));
}

#[test]
fn recurring_applications_across_trusts_make_a_subgroup_candidate() {
    let mut input = input(0, None);
    for (n, (org, region)) in TRUSTS.iter().enumerate() {
        let mut rare = case(
            org,
            region,
            "ID2024_099",
            day(2025, 3 + n as u32, 5),
            30,
            true,
        );
        rare.icd10_category = "G12".into();
        input.cases.push(rare);
    }
    let signals = kinds(&input, SignalKind::RecurringSubgroup);
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].counts["applications"], 6.0);
    assert_eq!(signals[0].counts["trusts"], 6.0);
    input.cases.truncate(4);
    assert!(
        kinds(&input, SignalKind::RecurringSubgroup).is_empty(),
        "four is below the default of five"
    );
}

#[test]
fn an_exemption_for_a_method_no_longer_under_assessment_is_a_compliance_signal() {
    let mut input = input(5, None);
    input.methods[0]
        .statuses
        .push((day(2025, 3, 1), "introduced".into()));
    let late = input
        .cases
        .iter()
        .filter(|c| c.decided.unwrap().days >= day(2025, 3, 1).days)
        .count();
    let signals = kinds(&input, SignalKind::Compliance);
    let counted: f64 = signals
        .iter()
        .filter(|s| s.effect_measure == "decisions_outside_assessment")
        .map(|s| s.counts["decisions"])
        .sum();
    assert_eq!(counted as usize, late);
    assert!(late > 0);
}

#[test]
fn a_region_much_slower_than_the_others_is_signalled() {
    let mut input = input(30, None);
    for case in input
        .cases
        .iter_mut()
        .filter(|c| c.deciding_region.as_deref() == Some("r3"))
    {
        let decided = case.decided.as_mut().unwrap();
        decided.days += 70;
    }
    let signals = kinds(&input, SignalKind::ProcessingTimeVariation);
    assert!(
        signals
            .iter()
            .any(|s| s.effect_measure == "decided_over_expected"
                && s.unit.as_deref() == Some("r3")
                && s.effect_size.unwrap() < 1.0
                && s.message.contains("lengre")),
        "{signals:?}"
    );
    assert!(
        signals
            .iter()
            .any(|s| s.effect_measure == "median_days" && s.unit.as_deref() == Some("r3")),
        "over 60 days"
    );
}

#[test]
fn a_jump_in_volume_against_earlier_quarters_is_a_trend() {
    let mut input = input(0, None);
    for year in [2023, 2024] {
        for quarter in 0..4u32 {
            for n in 0..6 {
                input.cases.push(case(
                    "t1",
                    "r1",
                    "ID2023_045",
                    day(year, 1 + quarter * 3, 1 + n),
                    20,
                    true,
                ));
            }
        }
    }
    for n in 0..24 {
        input.cases.push(case(
            "t1",
            "r1",
            "ID2023_045",
            day(2025, 10, 1 + n % 28),
            20,
            true,
        ));
    }
    let signals = kinds(&input, SignalKind::Trend);
    assert!(
        signals.iter().any(|s| s.unit_type == "method"
            && s.counts["quarter"] == 4.0
            && s.effect_size.unwrap() > 3.0),
        "{signals:?}"
    );
}

#[test]
fn every_signal_has_a_sentence_and_kinds_come_in_order() {
    let input = input(40, Some(("t3", 10)));
    let signals = all_signals(&input.analysed());
    assert!(!signals.is_empty());
    assert!(signals.iter().all(|s| !s.message.is_empty()));
    assert!(signals.windows(2).all(|w| w[0].kind <= w[1].kind));
}

#[test]
fn a_method_refused_everywhere_is_not_one_trusts_doing() {
    // Method M: granted 20 % across the country, with enough decisions to show it; the
    // scheme as a whole grants 75 %. Trust t1 grants 15 % of M: in line with the rest.
    let mut input = input(40, None);
    for (org, region) in TRUSTS {
        for n in 0..20 {
            let granted = if org == "t1" { n < 3 } else { n < 4 };
            input.cases.push(case(
                org,
                region,
                "M",
                day(2025, 1 + (n % 11) as u32, 2),
                20,
                granted,
            ));
        }
    }
    let signals = kinds(&input, SignalKind::GrantRateVariation);
    assert!(
        !signals
            .iter()
            .any(|s| s.unit.as_deref() == Some("t1") && s.method_id.as_deref() == Some("M")),
        "{signals:?}"
    );
}
