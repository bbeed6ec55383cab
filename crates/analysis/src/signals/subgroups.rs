//! Subgroups: recurring applications for the same method and indication across trusts
//! (a candidate for a group exemption or a national assessment), and the same subgroup
//! granted in one region and refused in another more often than chance allows.

use std::collections::BTreeMap;

use super::tallies::PATIENT_SCHEMES;
use super::{
    grant_rate, lowest_and_highest, nb, nb_p, region_counts, region_tables, with_q_values,
    AnalysisInput, Signal, SignalKind,
};
use crate::exact::{homogeneity_test, GrantCounts};

/// Schemes where one patient's exemption is decided: where subgroups show up.
pub(super) fn recurring(input: &AnalysisInput) -> Vec<Signal> {
    let mut signals = Vec::new();
    for window in &input.tallies.subgroup_windows {
        let trusts = &window.trusts;
        let applications = window.applications;
        if applications < input.settings.recurring_subgroup_min as u64 || trusts.len() < 2 {
            continue;
        }
        let (method, category) = (&window.method_id, &window.icd10_category);
        let (granted, refused, pending) = (window.granted, window.refused, window.pending);
        signals.push(Signal {
            kind: SignalKind::RecurringSubgroup,
            unit_type: "subgroup".into(),
            unit: None,
            unit_name: None,
            scheme: None,
            method_id: Some(method.clone()),
            indication: Some(category.clone()),
            effect_measure: "applications_in_12_months".into(),
            effect_size: Some(applications as f64),
            counts: BTreeMap::from([
                ("applications".into(), applications as f64),
                ("trusts".into(), trusts.len() as f64),
                ("granted".into(), granted as f64),
                ("refused".into(), refused as f64),
                ("pending".into(), pending as f64),
            ]),
            p_value: None,
            q_value: None,
            message: format!(
                "{} søknader om {method} ved {category} innen 12 måneder, fra {} helseforetak \
                 ({granted} innvilget, {refused} avslått, {pending} til behandling): \
                 kandidat for gruppeunntak eller nasjonal metodevurdering. Helseforetak: {}.",
                applications,
                trusts.len(),
                trusts
                    .iter()
                    .map(|t| input.name_of(t))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        });
    }
    signals
}

struct Comparison {
    method_id: String,
    category: String,
    regions: Vec<(String, GrantCounts)>,
    p_value: f64,
}

fn comparisons(input: &AnalysisInput) -> Vec<Comparison> {
    let patient_cases = input
        .tallies
        .decisions
        .iter()
        .filter(|c| PATIENT_SCHEMES.contains(&c.scheme.as_str()));
    region_tables(patient_cases, |c| {
        (c.method_id.clone(), c.icd10_category.clone())
    })
    .into_iter()
    .filter(|(_, regions)| {
        regions.len() >= 2
            && regions
                .values()
                .filter(|c| c.granted + c.refused >= 3)
                .count()
                >= 2
    })
    .map(|((method_id, category), regions)| {
        let counts: Vec<GrantCounts> = regions.values().copied().collect();
        Comparison {
            method_id,
            category,
            p_value: homogeneity_test(&counts).p_value,
            regions: regions.into_iter().collect(),
        }
    })
    .collect()
}

pub(super) fn subgroups_tested(input: &AnalysisInput) -> usize {
    comparisons(input).len()
}

pub(super) fn unequal(input: &AnalysisInput) -> Vec<Signal> {
    let comparisons = comparisons(input);
    let q_values = with_q_values(&comparisons.iter().map(|c| c.p_value).collect::<Vec<_>>());
    comparisons
        .iter()
        .zip(q_values)
        .filter(|(_, q)| *q < input.settings.false_discovery_rate)
        .map(|(comparison, q)| {
            let rate = grant_rate;
            let (refusing, granting) = lowest_and_highest(&comparison.regions);
            Signal {
                kind: SignalKind::UnequalTreatment,
                unit_type: "region".into(),
                unit: Some(refusing.0.clone()),
                unit_name: Some(input.name_of(&refusing.0)),
                scheme: None,
                method_id: Some(comparison.method_id.clone()),
                indication: Some(comparison.category.clone()),
                effect_measure: "grant_rate_difference".into(),
                effect_size: Some(rate(&granting.1) - rate(&refusing.1)),
                counts: region_counts(&comparison.regions),
                p_value: Some(comparison.p_value),
                q_value: Some(q),
                message: format!(
                    "Samme undergruppe ({} ved {}) ble innvilget i {} % av sakene i {}, men i {} % i {} ({}). \
                     Forskjellen er større enn tilfeldigheter tilsier (eksakt test, q {}): mulig ulik behandling av like saker.",
                    comparison.method_id,
                    comparison.category,
                    nb(rate(&granting.1) * 100.0, 0),
                    input.name_of(&granting.0),
                    nb(rate(&refusing.1) * 100.0, 0),
                    input.name_of(&refusing.0),
                    input.year,
                    nb_p(q),
                ),
            }
        })
        .collect()
}
