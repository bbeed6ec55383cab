//! The null worlds: stationary volumes in every kind, a register that holds still where it
//! should, the ordinary spread of `RandomEffects`, and nothing else.

mod common;

use std::collections::BTreeMap;

use chrono::Datelike;
use common::*;
use synthetic::{generate, Generated, NullWorld, Scenario, SyntheticCase};

fn world(kind: NullWorld, seed: u64) -> Generated {
    generate(&Scenario::null(kind, 2023..=2025, seed, 1.0), today())
}

fn quarter(case: &SyntheticCase) -> (i32, u32) {
    (
        case.received_date.year(),
        case.received_date.month0() / 3 + 1,
    )
}

/// Individual exemptions per (method, year, quarter).
fn volumes(generated: &Generated) -> BTreeMap<(String, (i32, u32)), usize> {
    let mut volumes = BTreeMap::new();
    for case in of_scheme(generated, "individual_exemption") {
        *volumes
            .entry((case.method_id.clone(), quarter(case)))
            .or_insert(0) += 1;
    }
    volumes
}

#[test]
fn in_the_steady_worlds_no_status_changes_during_the_years() {
    for kind in [NullWorld::Homogeneous, NullWorld::RandomEffects] {
        let generated = world(kind, 1);
        for method in &generated.methods {
            let domain = method.domain_method();
            let first = domain.status_on(date(2023, 1, 1));
            assert!(first.is_some(), "{}", method.method_id);
            assert_eq!(domain.status_on(date(2025, 12, 31)), first);
        }
    }
}

#[test]
fn in_the_homogeneous_world_each_method_has_the_same_volume_every_year() {
    let mut per_year: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for seed in 1..=10 {
        for ((method, (year, _)), count) in volumes(&world(NullWorld::Homogeneous, seed)) {
            *per_year.entry((method, year)).or_insert(0) += count;
        }
    }
    let methods: Vec<&String> = per_year.keys().map(|(m, _)| m).collect();
    assert!(methods.len() >= 12 * 3, "{} method-years", methods.len());
    for ((method, year), count) in &per_year {
        let mean = (2023..=2025)
            .map(|y| per_year.get(&(method.clone(), y)).copied().unwrap_or(0))
            .sum::<usize>() as f64
            / 3.0;
        // Four Poisson SDs of a year's count about the three years' mean.
        let allowed = 4.0 * mean.sqrt() + 2.0;
        assert!(
            (*count as f64 - mean).abs() <= allowed,
            "{method} {year}: {count} against a mean of {mean}"
        );
    }
}

#[test]
fn every_quarter_expects_as_many_applications_whatever_its_holidays() {
    // Helfo's 2 500 a year, received on working days: the second quarter (Easter, May)
    // has about 10 % fewer working days than the third. Its volume must not follow.
    let mut per_quarter = [0usize; 4];
    for seed in 1..=4 {
        for case in of_scheme(&world(NullWorld::Homogeneous, seed), "helfo_individual") {
            per_quarter[quarter(case).1 as usize - 1] += 1;
        }
    }
    let mean = per_quarter.iter().sum::<usize>() as f64 / 4.0;
    for (q, count) in per_quarter.iter().enumerate() {
        // About 7 500 a quarter over the seeds: a Poisson SD of 87, 2 % of the mean.
        let ratio = *count as f64 / mean;
        assert!(
            (0.96..=1.04).contains(&ratio),
            "Q{}: {count} against {mean}",
            q + 1
        );
    }
}

#[test]
fn a_new_method_does_not_dilute_the_others() {
    // Lekanemab is under assessment throughout; in the changing register other methods
    // enter and leave assessment around it. Its volume stays the same.
    let (mut early, mut late) = (0, 0);
    for seed in 1..=10 {
        let generated = world(NullWorld::MethodLifecycle, seed);
        let lekanemab = generated
            .methods
            .iter()
            .find(|m| m.name.starts_with("Lekanemab"))
            .map(|m| m.method_id.clone())
            .unwrap();
        for ((method, (year, _)), count) in volumes(&generated) {
            if method == lekanemab {
                match year {
                    2023 => early += count,
                    2025 => late += count,
                    _ => {}
                }
            }
        }
    }
    let ratio = late as f64 / early as f64;
    assert!(early >= 100, "{early} in 2023");
    assert!((0.8..=1.25).contains(&ratio), "{late} against {early}");
}

#[test]
fn in_the_lifecycle_world_a_methods_exemptions_follow_its_status() {
    let generated = world(NullWorld::MethodLifecycle, 3);
    let changing = generated
        .methods
        .iter()
        .filter(|m| {
            m.statuses
                .iter()
                .any(|(_, decided, _)| (2023..=2025).contains(&decided.year()))
        })
        .count();
    assert!(changing >= 10, "{changing} methods change status");
    for case in of_scheme(&generated, "individual_exemption") {
        let method = generated
            .methods
            .iter()
            .find(|m| m.method_id == case.method_id)
            .unwrap()
            .domain_method();
        assert!(method.allows_individual_exemption_on(case.received_date));
        if let Some(decision) = &case.decision {
            assert!(method.allows_individual_exemption_on(decision.decided_date));
        }
    }
}

/// Granted and decided per deciding trust, individual exemptions.
fn trust_rates(generated: &Generated) -> BTreeMap<&str, (usize, usize)> {
    let mut rates: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in of_scheme(generated, "individual_exemption") {
        if let Some(decision) = &case.decision {
            let entry = rates.entry(case.deciding_org.as_str()).or_default();
            entry.0 += usize::from(decision.granted);
            entry.1 += 1;
        }
    }
    rates
}

/// Pearson's χ² of equal grant rates over the trusts with 20 or more decisions, divided
/// by its degrees of freedom: about 1 with no spread beyond chance.
fn dispersion(generated: &Generated) -> f64 {
    let rates: Vec<(usize, usize)> = trust_rates(generated)
        .into_values()
        .filter(|(_, n)| *n >= 20)
        .collect();
    let (granted, decided) = rates
        .iter()
        .fold((0, 0), |(g, n), (gi, ni)| (g + gi, n + ni));
    let p = granted as f64 / decided as f64;
    let chi2: f64 = rates
        .iter()
        .map(|&(g, n)| {
            let expected = n as f64 * p;
            (g as f64 - expected).powi(2) / (expected * (1.0 - p))
        })
        .sum();
    chi2 / (rates.len() - 1) as f64
}

#[test]
fn random_effects_spread_the_trusts_grant_rates_beyond_chance() {
    let (mut homogeneous, mut random) = (0.0, 0.0);
    let seeds = 1..=6;
    for seed in seeds.clone() {
        homogeneous += dispersion(&world(NullWorld::Homogeneous, seed));
        random += dispersion(&world(NullWorld::RandomEffects, seed));
    }
    let n = seeds.count() as f64;
    let (homogeneous, random) = (homogeneous / n, random / n);
    assert!((0.6..=1.5).contains(&homogeneous), "{homogeneous}");
    // A logit SD of 0.35 to 0.5 on about 60 decisions a trust: χ²/df near 3.
    assert!(random > 1.8, "{random} against {homogeneous}");
}

/// Helfo applications per resident of each region, relative to the country's.
fn application_rates(generated: &Generated) -> Vec<f64> {
    let mut per_region: BTreeMap<&str, usize> = BTreeMap::new();
    for case in of_scheme(generated, "helfo_individual") {
        *per_region
            .entry(county_region(case.residence_county.as_deref().unwrap()))
            .or_insert(0) += 1;
    }
    let mut population: BTreeMap<&str, f64> = BTreeMap::new();
    for county in synthetic::reference::counties() {
        *population.entry(county.region).or_insert(0.0) += f64::from(county.population);
    }
    let total = per_region.values().sum::<usize>() as f64 / population.values().sum::<f64>();
    per_region
        .iter()
        .map(|(region, count)| *count as f64 / population[region] / total)
        .collect()
}

#[test]
fn random_effects_move_regions_application_rates_by_about_ten_percent() {
    let spread = |kind| {
        let deviations: Vec<f64> = (1..=8)
            .flat_map(|seed| application_rates(&world(kind, seed)))
            .map(|rate: f64| rate.ln().powi(2))
            .collect();
        (deviations.iter().sum::<f64>() / deviations.len() as f64).sqrt()
    };
    let homogeneous = spread(NullWorld::Homogeneous);
    let random = spread(NullWorld::RandomEffects);
    assert!(homogeneous < 0.04, "{homogeneous}");
    assert!((0.05..=0.16).contains(&random), "{random}");
}

#[test]
fn random_effects_leave_volumes_and_overall_rates_realistic() {
    let generated = world(NullWorld::RandomEffects, 2);
    for year in 2023..=2025 {
        let count = of_scheme(&generated, "individual_exemption")
            .filter(|c| in_year(c, year))
            .count();
        assert!((130..=225).contains(&count), "{year}: {count}");
    }
    let rate = rate(of_scheme(&generated, "individual_exemption"));
    assert!((0.65..=0.85).contains(&rate), "{rate}");
    let days = processing_days(of_scheme(&generated, "individual_exemption"));
    assert!((16.0..=28.0).contains(&median(&days)), "{}", median(&days));
}

#[test]
fn a_scenario_file_may_name_its_world() {
    let scenario =
        Scenario::from_toml("years = \"2023-2025\"\nworld = \"random_effects\"").unwrap();
    assert_eq!(scenario.world, NullWorld::RandomEffects);
    let default = Scenario::from_toml("years = 2025").unwrap();
    assert_eq!(default.world, NullWorld::MethodLifecycle);
    assert!(Scenario::from_toml("years = 2025\nworld = \"flat\"").is_err());
    for kind in NullWorld::ALL {
        let text = format!("years = 2025\nworld = \"{}\"", kind.as_str());
        assert_eq!(Scenario::from_toml(&text).unwrap().world, kind);
    }
}
