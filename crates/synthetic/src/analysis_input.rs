//! A generated registry as the signals see it: the analysis input the read models would
//! give for it, and whether a signal reports a planted effect. The bridge that lets the
//! planted-pattern tests and `unntak calibrate` compute signals without a database.
//!
//! Architecture invariant: `analysis` does not depend on this crate (only its tests do),
//! so the statistics stay free of the generator.

use std::collections::BTreeMap;

use analysis::signals::{
    AnalysisInput, CaseRecord, Day, MethodRecord, Settings, Signal, SignalKind, Tallies,
};
use chrono::{Datelike, NaiveDate};
use domain::case::Scheme;
use domain::codes::{CountyNumber, Icd10Code};

use crate::{reference, Generated, PlantedEffect, SyntheticCase, SyntheticMethod};

/// The input of `analysis::signals` for `year` of a generated registry, as the read
/// models would hold it once every case is reported: the tallies counted from the cases
/// (`Tallies::count`, the same keys the projection counts), the methods' statuses, the
/// residents of each region for the year and the two before it, the organisations'
/// names, and the default settings.
pub fn analysis_input(generated: &Generated, year: i32) -> AnalysisInput {
    let cases: Vec<CaseRecord> = generated.cases.iter().map(case_record).collect();
    let methods: Vec<MethodRecord> = generated.methods.iter().map(method_record).collect();
    let mut population = BTreeMap::new();
    for county in reference::counties() {
        let region = county_region(county.number).expect("a county of the registry's list");
        for year in year - 2..=year {
            *population.entry((year, region.to_string())).or_insert(0) +=
                u64::from(county.population);
        }
    }
    let names = reference::organisations()
        .iter()
        .map(|o| (o.org_number.to_string(), o.name.to_string()))
        .collect();
    AnalysisInput {
        year,
        tallies: Tallies::count(year, &cases, &methods),
        population,
        names,
        settings: Settings::default(),
    }
}

/// A case as `case_facts` holds it.
pub fn case_record(case: &SyntheticCase) -> CaseRecord {
    let scheme = Scheme::parse(&case.scheme).expect("a known scheme");
    let decision = case.decision.as_ref();
    let documented = |criterion: &str| {
        decision.is_some_and(|d| d.criteria.get(criterion).is_some_and(|v| v.is_boolean()))
    };
    CaseRecord {
        scheme: case.scheme.clone(),
        method_id: case.method_id.clone(),
        icd10_category: Icd10Code::parse(&case.indication_icd10)
            .expect("a valid ICD-10 code")
            .category()
            .to_string(),
        deciding_org: case.deciding_org.clone(),
        deciding_region: reference::region_of(&case.deciding_org).map(str::to_string),
        applying_org: case.applying_org.clone(),
        residence_region: case
            .residence_county
            .as_deref()
            .and_then(county_region)
            .map(str::to_string),
        received: day(case.received_date),
        decided: decision.map(|d| day(d.decided_date)),
        granted: decision.map(|d| d.granted),
        criteria_complete: scheme.criteria().iter().all(|c| documented(c.as_str())),
        refusal_reasons: decision
            .map(|d| d.refusal_reasons.clone())
            .unwrap_or_default(),
    }
}

/// A method's statuses, each from the day it is in force.
pub fn method_record(method: &SyntheticMethod) -> MethodRecord {
    MethodRecord {
        method_id: method.method_id.clone(),
        statuses: method
            .statuses
            .iter()
            .map(|(status, decided, effective)| {
                (day(effective.unwrap_or(*decided)), status.clone())
            })
            .collect(),
    }
}

/// The RHF serving a county, as the registry's own county list has it.
fn county_region(county: &str) -> Option<&'static str> {
    CountyNumber::parse(county)
        .ok()
        .map(|number| number.county().health_authority_org_number)
}

fn day(date: NaiveDate) -> Day {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    Day {
        days: (date - epoch).num_days(),
        year: date.year(),
        quarter: (date.month0() / 3 + 1) as u8,
    }
}

impl PlantedEffect {
    /// Whether a signal reports this effect: the kind of signal that should find it,
    /// about the unit (and method, indication or scheme) it was planted at. A volume jump
    /// is reported by any trend signal of its organisation.
    pub fn is_reported_by(&self, signal: &Signal) -> bool {
        let region = |name: &str| reference::region_number(name).unwrap_or(name).to_string();
        match self {
            PlantedEffect::LowGrantRate { org, method_id, .. } => {
                signal.kind == SignalKind::GrantRateVariation
                    && signal.unit.as_deref() == Some(org)
                    && signal.method_id.as_deref() == Some(method_id)
            }
            PlantedEffect::SlowRegion {
                region: slow,
                scheme,
                ..
            } => {
                signal.kind == SignalKind::ProcessingTimeVariation
                    && signal.unit.as_deref() == Some(&region(slow))
                    && signal.scheme.as_deref() == Some(scheme)
            }
            PlantedEffect::Cluster {
                method_id,
                icd10_category,
                ..
            } => {
                signal.kind == SignalKind::RecurringSubgroup
                    && signal.method_id.as_deref() == Some(method_id)
                    && signal.indication.as_deref() == Some(icd10_category)
            }
            PlantedEffect::UnequalSubgroup {
                method_id,
                icd10_category,
                refusing_region,
                ..
            } => {
                signal.kind == SignalKind::UnequalTreatment
                    && signal.method_id.as_deref() == Some(method_id)
                    && signal.indication.as_deref() == Some(icd10_category)
                    && signal.unit.as_deref() == Some(&region(refusing_region))
            }
            PlantedEffect::VolumeJump { org, .. } => {
                signal.kind == SignalKind::Trend && signal.unit.as_deref() == Some(org)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, Scenario};

    #[test]
    fn every_patients_application_of_the_year_is_counted_once_with_the_regions_population() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let generated = generate(&Scenario::realistic(2023..=2025, 3, 0.3), today);
        let input = analysis_input(&generated, 2025);
        let received: u64 = input.tallies.applications.iter().map(|c| c.cases).sum();
        let in_year = generated
            .cases
            .iter()
            .filter(|c| c.received_date.year() == 2025 && c.residence_county.is_some())
            .count() as u64;
        assert_eq!(received, in_year);
        let residents: u64 = reference::counties()
            .iter()
            .map(|c| u64::from(c.population))
            .sum();
        for year in 2023..=2025 {
            let population: u64 = input
                .population
                .iter()
                .filter(|((y, _), _)| *y == year)
                .map(|(_, n)| n)
                .sum();
            assert_eq!(population, residents);
        }
        assert_eq!(
            input
                .names
                .get(reference::OSLO_UNIVERSITETSSYKEHUS)
                .map(String::as_str),
            Some("Oslo universitetssykehus HF")
        );
    }

    #[test]
    fn a_case_keeps_its_regions_and_its_criteria() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let generated = generate(&Scenario::realistic(2025..=2025, 1, 0.2), today);
        for case in &generated.cases {
            let record = case_record(case);
            assert_eq!(record.icd10_category, case.indication_icd10[..3]);
            assert_eq!(
                record.residence_region.is_some(),
                case.residence_county.is_some()
            );
            assert_eq!(record.granted, case.decision.as_ref().map(|d| d.granted));
            if case.decision.is_some() {
                assert!(record.criteria_complete, "{case:?}");
            }
        }
    }
}
