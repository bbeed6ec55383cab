//! Shared helpers for the synthetic data tests: a fixed "today", the domain's validation
//! context built from the reference list and a generated methods register, and counting.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use domain::codes::MethodId;
use domain::methods::Method;
use domain::organisation::OrganisationNumber;
use domain::organisation_register::Organisation;
use domain::pseudonym::PseudonymKey;
use domain::report::{validate_case, ReportContext};
use synthetic::{Generated, Scenario, SyntheticCase};
use uuid::Uuid;

pub const YEARS: RangeInclusive<i32> = 2020..=2025;

pub fn today() -> NaiveDate {
    date(2026, 2, 2)
}

pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

pub fn realistic(seed: u64) -> Generated {
    synthetic::generate(&Scenario::realistic(YEARS, seed, 1.0), today())
}

pub fn planted(seed: u64) -> Generated {
    synthetic::generate(&Scenario::with_default_effects(YEARS, seed, 1.0), today())
}

/// Validates every case's report body as the API would on `today`; returns the failures
/// and the warnings, one line each.
pub fn validation_problems(generated: &Generated, today: NaiveDate) -> Vec<String> {
    let key = PseudonymKey::new("k1", b"test secret for unntak pseudonyms").unwrap();
    let organisations: HashMap<OrganisationNumber, Organisation> =
        synthetic::reference::organisation_register();
    let methods: HashMap<MethodId, Method> = generated
        .methods
        .iter()
        .map(|m| {
            let method = m.domain_method();
            (method.method_id.clone(), method)
        })
        .collect();
    let context = ReportContext {
        today,
        pseudonym_key: &key,
        accept_synthetic_identity_numbers: false,
        organisations: &organisations,
        methods: &methods,
    };
    let mut problems = Vec::new();
    for case in &generated.cases {
        let body = case.report_body(Uuid::from_u128(7));
        let body = body.as_object().expect("a JSON object");
        match validate_case(body, case.decision.is_some(), &["report_id"], &context) {
            Ok(valid) if valid.warnings.is_empty() => {}
            Ok(valid) => problems.push(format!("{}: warnings {:?}", case.case_ref, valid.warnings)),
            Err(errors) => problems.push(format!("{}: {errors:?} in {body:?}", case.case_ref)),
        }
    }
    problems
}

pub fn of_scheme<'a>(
    generated: &'a Generated,
    scheme: &'a str,
) -> impl Iterator<Item = &'a SyntheticCase> + 'a {
    generated.cases.iter().filter(move |c| c.scheme == scheme)
}

pub fn in_year(case: &SyntheticCase, year: i32) -> bool {
    case.received_date.year() == year
}

/// (granted, decided) among the cases.
pub fn grants<'a>(cases: impl IntoIterator<Item = &'a SyntheticCase>) -> (usize, usize) {
    cases
        .into_iter()
        .filter_map(|c| c.decision.as_ref())
        .fold((0, 0), |(granted, decided), d| {
            (granted + usize::from(d.granted), decided + 1)
        })
}

pub fn rate<'a>(cases: impl IntoIterator<Item = &'a SyntheticCase>) -> f64 {
    let (granted, decided) = grants(cases);
    granted as f64 / decided.max(1) as f64
}

/// Processing times in days of the decided cases, sorted.
pub fn processing_days<'a>(cases: impl IntoIterator<Item = &'a SyntheticCase>) -> Vec<i64> {
    let mut days: Vec<i64> = cases
        .into_iter()
        .filter_map(|c| {
            c.decision
                .as_ref()
                .map(|d| (d.decided_date - c.received_date).num_days())
        })
        .collect();
    days.sort_unstable();
    days
}

pub fn median(sorted: &[i64]) -> f64 {
    sorted[sorted.len() / 2] as f64
}

pub fn region_of(org: &str) -> &'static str {
    synthetic::reference::organisation(org)
        .and_then(|o| o.region)
        .unwrap_or("")
}

pub fn county_region(county: &str) -> &'static str {
    synthetic::reference::counties()
        .iter()
        .find(|c| c.number == county)
        .unwrap()
        .region
}
