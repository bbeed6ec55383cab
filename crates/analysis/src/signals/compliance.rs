//! Compliance: individual exemptions decided for a method that was not under assessment on
//! the decision date (including after the date an introduced method could be used), and
//! decisions with criteria not documented. Counts per organisation; no test: each case is
//! a fact to check, not an estimate.

use std::collections::BTreeMap;

use super::{nb, AnalysisInput, Signal, SignalKind};

/// The status of a method on a day, from its status changes.
pub(super) fn signals(input: &AnalysisInput) -> Vec<Signal> {
    let outside_assessment = input.tallies.outside_assessment.iter().map(|cell| {
        (
            (cell.deciding_org.clone(), cell.method_id.clone()),
            cell.cases,
        )
    });
    let mut undocumented: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for cell in &input.tallies.decisions {
        let entry = undocumented
            .entry(cell.deciding_org.clone())
            .or_insert((0, 0));
        entry.1 += cell.cases;
        if !cell.criteria_complete {
            entry.0 += cell.cases;
        }
    }
    let mut signals: Vec<Signal> = outside_assessment
        .map(|((org, method), count)| Signal {
            kind: SignalKind::Compliance,
            unit_type: "organisation".into(),
            unit: Some(org.clone()),
            unit_name: Some(input.name_of(&org)),
            scheme: Some("individual_exemption".into()),
            method_id: Some(method.clone()),
            indication: None,
            effect_measure: "decisions_outside_assessment".into(),
            effect_size: Some(count as f64),
            counts: BTreeMap::from([("decisions".into(), count as f64)]),
            p_value: None,
            q_value: None,
            group: format!("compliance/{org}/{method}"),
            message: format!(
                "{} avgjorde {count} individuelle unntak for {method} i {} da metoden ikke var til metodevurdering \
                 (etter en beslutning, eller etter datoen metoden kunne tas i bruk).",
                input.name_of(&org),
                input.year,
            ),
        })
        .collect();
    signals.extend(undocumented.into_iter().filter(|(_, (missing, _))| *missing > 0).map(|(org, (missing, decided))| Signal {
        kind: SignalKind::Compliance,
        unit_type: "organisation".into(),
        unit: Some(org.clone()),
        unit_name: Some(input.name_of(&org)),
        scheme: None,
        method_id: None,
        indication: None,
        effect_measure: "share_criteria_undocumented".into(),
        effect_size: Some(missing as f64 / decided as f64),
        counts: BTreeMap::from([("undocumented".into(), missing as f64), ("decided".into(), decided as f64)]),
        p_value: None,
        q_value: None,
        group: format!("compliance/{org}/criteria"),
        message: format!(
            "{} rapporterte {missing} av {decided} vedtak i {} uten at alle kriteriene var dokumentert ({} %).",
            input.name_of(&org),
            input.year,
            nb(missing as f64 / decided as f64 * 100.0, 0),
        ),
    }));
    signals
}
