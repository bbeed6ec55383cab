//! The unplanted baseline is realistic: volumes, grant rates, processing times,
//! residence, appeals and the methods register as `shared/domain.md` describes them, and
//! every case passes the registry's own validation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;
use common::*;
use synthetic::{generate, Scenario};

#[test]
fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
    let first = planted(11);
    assert_eq!(first, planted(11));
    assert_eq!(realistic(11), realistic(11));
    assert_ne!(first.cases, planted(12).cases);
    // Methods depend on the years alone.
    assert_eq!(first.methods, planted(12).methods);
}

#[test]
fn yearly_volumes_per_scheme_are_realistic_over_several_seeds() {
    for seed in 1..=3 {
        let generated = realistic(seed);
        let mut individual = Vec::new();
        for year in YEARS {
            let count = |scheme| {
                of_scheme(&generated, scheme)
                    .filter(|c| in_year(c, year))
                    .count()
            };
            individual.push(count("individual_exemption"));
            let helfo = count("helfo_individual");
            assert!(
                (2300..=2700).contains(&helfo),
                "seed {seed}, {year}: {helfo} Helfo cases"
            );
            let individual_count = count("individual_exemption");
            assert!(
                (130..=225).contains(&individual_count),
                "seed {seed}, {year}: {individual_count}"
            );
            assert!(count("individual_access") <= 30 && count("early_access") <= 25);
        }
        let mean = individual.iter().sum::<usize>() as f64 / individual.len() as f64;
        assert!(
            (150.0..=200.0).contains(&mean),
            "seed {seed}: {mean} a year"
        );
        for scheme in [
            "group_exemption",
            "individual_access",
            "reassessment_access",
            "early_access",
        ] {
            let total = of_scheme(&generated, scheme).count();
            assert!((5..=120).contains(&total), "seed {seed}: {total} {scheme}");
        }
    }
}

#[test]
fn grant_rates_and_cancer_share_match_the_seeds() {
    let all: Vec<_> = (1..=3).map(realistic).collect();
    let cases = || all.iter().flat_map(|g| g.cases.iter());
    let individual = || cases().filter(|c| c.scheme == "individual_exemption");
    let individual_rate = rate(individual());
    assert!(
        (0.71..=0.79).contains(&individual_rate),
        "{individual_rate}"
    );
    let cancer = individual()
        .filter(|c| c.indication_icd10.starts_with('C'))
        .count() as f64
        / individual().count() as f64;
    assert!((0.44..=0.56).contains(&cancer), "cancer share {cancer}");
    let obesity = || {
        cases().filter(|c| c.scheme == "helfo_individual" && c.indication_icd10.starts_with("E66"))
    };
    let obesity_rate = rate(obesity());
    assert!((0.045..=0.075).contains(&obesity_rate), "{obesity_rate}");
    let helfo = cases().filter(|c| c.scheme == "helfo_individual").count() as f64;
    let obesity_share = obesity().count() as f64 / helfo;
    assert!((0.82..=0.88).contains(&obesity_share), "{obesity_share}");
    let early = rate(cases().filter(|c| c.scheme == "early_access"));
    assert!(early > 0.8, "{early}");
}

#[test]
fn processing_times_are_skewed_and_recent_cases_still_pending() {
    let today = date(2025, 6, 16);
    let generated = generate(&Scenario::realistic(2020..=2025, 5, 1.0), today);
    let days = processing_days(of_scheme(&generated, "individual_exemption"));
    let median = median(&days);
    let mean = days.iter().sum::<i64>() as f64 / days.len() as f64;
    let p95 = days[days.len() * 95 / 100] as f64;
    assert!((18.0..=28.0).contains(&median), "median {median}");
    assert!(
        mean > median * 1.15 && p95 > 2.5 * median,
        "mean {mean}, p95 {p95}"
    );
    assert!(days.iter().all(|&d| d >= 1));
    for case in &generated.cases {
        assert!(case.received_date <= today);
        if let Some(decision) = &case.decision {
            assert!(decision.decided_date <= today && decision.decided_date >= case.received_date);
        }
    }
    let pending = |since| {
        let recent: Vec<_> = generated
            .cases
            .iter()
            .filter(|c| c.received_date >= since)
            .collect();
        recent.iter().filter(|c| c.decision.is_none()).count() as f64 / recent.len() as f64
    };
    let recent = pending(date(2025, 5, 16));
    let overall = pending(date(2020, 1, 1));
    assert!(recent > 0.3, "pending in the last month: {recent}");
    assert!(
        overall > 0.005 && overall < 0.05,
        "pending overall: {overall}"
    );
}

#[test]
fn patients_come_from_counties_by_population_and_mostly_apply_at_home() {
    let generated = realistic(3);
    let helfo: Vec<_> = of_scheme(&generated, "helfo_individual").collect();
    let population: u32 = synthetic::reference::counties()
        .iter()
        .map(|c| c.population)
        .sum();
    for county in synthetic::reference::counties() {
        let expected = f64::from(county.population) / f64::from(population);
        let seen = helfo
            .iter()
            .filter(|c| c.residence_county.as_deref() == Some(county.number))
            .count() as f64
            / helfo.len() as f64;
        assert!(
            (seen - expected).abs() < 0.015,
            "county {}: {seen} against {expected}",
            county.number
        );
    }
    let individual: Vec<_> = of_scheme(&generated, "individual_exemption").collect();
    let at_home = individual
        .iter()
        .filter(|c| {
            region_of(&c.deciding_org) == county_region(c.residence_county.as_deref().unwrap())
        })
        .count() as f64
        / individual.len() as f64;
    assert!((0.85..=0.97).contains(&at_home), "at home {at_home}");
    let deciding: BTreeSet<&str> = individual.iter().map(|c| c.deciding_org.as_str()).collect();
    assert!(deciding.len() >= 20, "{} deciding trusts", deciding.len());
}

#[test]
fn organisations_decide_the_schemes_they_may() {
    let generated = planted(2);
    for case in &generated.cases {
        let deciding = synthetic::reference::organisation(&case.deciding_org).unwrap();
        let applying = synthetic::reference::organisation(&case.applying_org).unwrap();
        match case.scheme.as_str() {
            "individual_exemption" | "early_access" => {
                assert!(deciding.kind.is_treating());
                assert_eq!(case.applying_org, case.deciding_org);
            }
            "helfo_individual" => assert_eq!(case.deciding_org, "983544622"),
            _ => {
                assert_eq!(deciding.region, Some(deciding.org_number), "{case:?}");
                assert!(applying.kind.is_treating());
                assert_eq!(applying.region, Some(deciding.org_number));
            }
        }
        assert_eq!(
            case.scheme == "group_exemption",
            case.group_expected_patients.is_some()
        );
        assert_eq!(case.scheme == "group_exemption", case.birth_year.is_none());
    }
}

#[test]
fn appeals_follow_refusals_and_end_in_outcomes() {
    let generated = realistic(4);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for case in generated.cases.iter().filter(|c| !c.appeals.is_empty()) {
        let decision = case.decision.as_ref().expect("appeals follow decisions");
        assert!(!decision.granted);
        for appeal in &case.appeals {
            assert!(appeal.lodged >= decision.decided_date && appeal.lodged <= today());
            if let Some((decided, outcome)) = &appeal.decided {
                assert!(*decided >= appeal.lodged && *decided <= today());
                *outcomes.entry(outcome.as_str()).or_default() += 1;
            }
        }
    }
    let individual_appeals = of_scheme(&generated, "individual_exemption")
        .filter(|c| !c.appeals.is_empty())
        .count();
    // "Several tens" in the 2.75 years the seeds cover: about 13 a year.
    assert!(
        (40..=120).contains(&individual_appeals),
        "{individual_appeals} in six years"
    );
    assert_eq!(
        outcomes.keys().copied().collect::<Vec<_>>(),
        ["overturned", "partly_overturned", "upheld"]
    );
    assert!(outcomes["upheld"] > outcomes["overturned"]);
}

#[test]
fn every_report_body_passes_the_registry_validation_without_warnings() {
    for seed in 1..=3 {
        let generated = generate(&Scenario::realistic(YEARS, seed, 0.3), today());
        let problems = validation_problems(&generated, today());
        assert!(
            problems.is_empty(),
            "seed {seed}: {} problems, first {:?}",
            problems.len(),
            &problems[..problems.len().min(3)]
        );
    }
    // Mid-year, with pending cases, and with every effect planted.
    let today = date(2025, 11, 20);
    let generated = generate(&Scenario::with_default_effects(YEARS, 4, 1.0), today);
    assert!(generated.cases.iter().any(|c| c.decision.is_none()));
    let problems = validation_problems(&generated, today);
    assert!(
        problems.is_empty(),
        "{} problems, first {:?}",
        problems.len(),
        &problems[..problems.len().min(3)]
    );
}

#[test]
fn case_refs_are_unique_per_deciding_organisation() {
    let generated = planted(5);
    let refs: BTreeSet<(&str, &str)> = generated
        .cases
        .iter()
        .map(|c| (c.deciding_org.as_str(), c.case_ref.as_str()))
        .collect();
    assert_eq!(refs.len(), generated.cases.len());
    assert!(generated
        .cases
        .windows(2)
        .all(|w| w[0].received_date <= w[1].received_date));
}

#[test]
fn scale_multiplies_the_ordinary_volume() {
    let small = generate(&Scenario::realistic(2024..=2024, 9, 0.5), today());
    let large = generate(&Scenario::realistic(2024..=2024, 9, 2.0), today());
    let ratio = large.cases.len() as f64 / small.cases.len() as f64;
    assert!((3.7..=4.3).contains(&ratio), "{ratio}");
}

#[test]
fn the_methods_register_changes_over_the_years() {
    let generated = realistic(1);
    assert!((20..=30).contains(&generated.methods.len()));
    let statuses: BTreeSet<&str> = generated
        .methods
        .iter()
        .flat_map(|m| m.statuses.iter().map(|s| s.0.as_str()))
        .collect();
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    for method in &generated.methods {
        for (status, decided, usable) in &method.statuses {
            assert!(*decided <= today());
            if status == "introduced" {
                assert!(usable.is_some_and(|u| u > *decided));
            }
        }
    }
    let introduced_in_range = generated
        .methods
        .iter()
        .filter(|m| {
            m.statuses
                .iter()
                .any(|s| s.0 == "introduced" && YEARS.contains(&s.1.year()))
        })
        .count();
    assert!(introduced_in_range >= 5);
    let used: BTreeSet<&str> = of_scheme(&generated, "individual_exemption")
        .map(|c| c.method_id.as_str())
        .collect();
    assert!(
        used.len() >= 12,
        "{} methods with individual exemptions",
        used.len()
    );
}
