//! Subgroups: recurring applications for the same method and indication across trusts
//! (a candidate for a group exemption or a national assessment), and the same subgroup
//! granted in one region and refused in another more often than chance allows.

use std::collections::BTreeMap;

use super::tallies::PATIENT_SCHEMES;
use super::{
    grant_rate, lowest_and_highest, nb, nb_p, region_counts, region_tables, AnalysisInput, Signal,
    SignalKind, Tested,
};
use crate::exact::{homogeneity_test, GrantCounts};

/// A method's applications in the analysed year (all schemes), from the quarterly volumes.
fn method_volume(input: &AnalysisInput, method: &str) -> u64 {
    let first = crate::calendar::quarter_index(input.year, 1);
    input
        .tallies
        .volumes
        .iter()
        .filter(|cell| cell.unit_type == "method" && cell.unit == method)
        .filter(|cell| (first..first + 4).contains(&cell.quarter_index))
        .map(|cell| cell.cases)
        .sum()
}

/// Recurring subgroups, in the schemes where one patient's exemption is decided: the same
/// method and indication applied for again and again across trusts within 12 months (a
/// candidate for a group exemption or a national assessment). A rule, not a test. Ranked
/// by applications, then by how large a share of the method's own volume they are (a
/// subgroup that is most of a method's use says more than one of its many indications),
/// so a meeting can read the top of the list and leave the rest to the table.
pub(super) fn recurring(input: &AnalysisInput) -> Vec<Signal> {
    let mut windows: Vec<(&super::SubgroupWindow, u64)> = input
        .tallies
        .subgroup_windows
        .iter()
        .filter(|w| {
            w.applications >= input.settings.recurring_subgroup_min as u64 && w.trusts.len() >= 2
        })
        .map(|w| (w, method_volume(input, &w.method_id).max(w.applications)))
        .collect();
    let share =
        |(w, volume): &(&super::SubgroupWindow, u64)| w.applications as f64 / *volume as f64;
    windows.sort_by(|a, b| {
        b.0.applications
            .cmp(&a.0.applications)
            .then(share(b).total_cmp(&share(a)))
            .then(a.0.method_id.cmp(&b.0.method_id))
            .then(a.0.icd10_category.cmp(&b.0.icd10_category))
    });
    let listed = windows.len();
    windows
        .iter()
        .enumerate()
        .map(|(index, entry)| recurring_signal(input, entry.0, entry.1, index + 1, listed))
        .collect()
}

fn recurring_signal(
    input: &AnalysisInput,
    window: &super::SubgroupWindow,
    method_volume: u64,
    rank: usize,
    listed: usize,
) -> Signal {
    let (method, category) = (&window.method_id, &window.icd10_category);
    let (granted, refused, pending) = (window.granted, window.refused, window.pending);
    let applications = window.applications;
    let share = applications as f64 / method_volume as f64;
    Signal {
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
            ("trusts".into(), window.trusts.len() as f64),
            ("granted".into(), granted as f64),
            ("refused".into(), refused as f64),
            ("pending".into(), pending as f64),
            ("method_applications_in_year".into(), method_volume as f64),
            ("share_of_method".into(), share),
            ("rank".into(), rank as f64),
            ("ranked".into(), listed as f64),
        ]),
        p_value: None,
        q_value: None,
        group: format!("subgroup/{method}/{category}"),
        message: format!(
            "Nr. {rank} av {listed}: {applications} søknader om {method} ved {category} innen 12 måneder, fra {} helseforetak \
             ({granted} innvilget, {refused} avslått, {pending} til behandling), {} % av metodens {method_volume} søknader i {}: \
             kandidat for gruppeunntak eller nasjonal metodevurdering. Helseforetak: {}.",
            window.trusts.len(),
            nb(share * 100.0, 0),
            input.year,
            window
                .trusts
                .iter()
                .map(|t| input.name_of(t))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
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

pub(super) fn unequal_tests(input: &AnalysisInput) -> Vec<Tested<'_>> {
    comparisons(input)
        .into_iter()
        .map(|comparison| {
            Tested::new(
                SignalKind::UnequalTreatment,
                comparison.p_value,
                true,
                move |q| unequal_signal(input, &comparison, q),
            )
        })
        .collect()
}

fn unequal_signal(input: &AnalysisInput, comparison: &Comparison, q: f64) -> Signal {
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
        group: format!("grant_rate/{}", comparison.method_id),
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
}
