//! Writing many case-fact rows at once with COPY, in PostgreSQL's text format: several
//! times faster than an INSERT of the same rows, which matters when a projection is
//! rebuilt over millions of events.

use std::fmt::Write;

use sqlx::PgConnection;

use crate::facts::CaseFact;
use crate::ProjectionError;

/// The columns of `case_facts`, in the order rows are written.
const CASE_FACT_COLUMNS: &str = "case_id, scheme, method_id, atc, icd10, icd10_category, \
    icd10_chapter, deciding_org, deciding_region, applying_org, applying_region, \
    residence_county, residence_region, birth_year, age_at_application, age_band, sex, \
    expected_patients, received_date, decided_date, outcome, criteria, criteria_complete, \
    refusal_reasons, processing_days, appeals_lodged, appeals_decided, appeals_overturned, \
    corrections, retracted, reported_at, decision_reported_at";

pub(crate) async fn copy_case_facts(
    connection: &mut PgConnection,
    table: &str,
    facts: &[&CaseFact],
) -> Result<(), ProjectionError> {
    if facts.is_empty() {
        return Ok(());
    }
    let mut text = String::with_capacity(facts.len() * 512);
    for fact in facts {
        write_row(&mut text, fact);
    }
    let mut copy = connection
        .copy_in_raw(&format!("copy {table} ({CASE_FACT_COLUMNS}) from stdin"))
        .await?;
    copy.send(text.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn write_row(out: &mut String, fact: &CaseFact) {
    let refusal_reasons = format!("{{{}}}", fact.refusal_reasons.join(","));
    let fields: [Option<String>; 32] = [
        Some(fact.case_id.to_string()),
        Some(fact.scheme.clone()),
        Some(fact.method_id.clone()),
        fact.atc.clone(),
        Some(fact.icd10.clone()),
        Some(fact.icd10_category.clone()),
        Some(fact.icd10_chapter.clone()),
        Some(fact.deciding_org.clone()),
        fact.deciding_region.clone(),
        Some(fact.applying_org.clone()),
        fact.applying_region.clone(),
        fact.residence_county.clone(),
        fact.residence_region.clone(),
        fact.birth_year.map(|v| v.to_string()),
        fact.age_at_application.map(|v| v.to_string()),
        fact.age_band.clone(),
        fact.sex.clone(),
        fact.expected_patients.map(|v| v.to_string()),
        Some(fact.received_date.to_string()),
        fact.decided_date.map(|d| d.to_string()),
        fact.outcome.clone(),
        fact.criteria.as_ref().map(|c| c.to_string()),
        fact.criteria_complete
            .map(|b| if b { "t" } else { "f" }.to_string()),
        Some(refusal_reasons),
        fact.processing_days.map(|v| v.to_string()),
        Some(fact.appeals_lodged.to_string()),
        Some(fact.appeals_decided.to_string()),
        Some(fact.appeals_overturned.to_string()),
        Some(fact.corrections.to_string()),
        Some(if fact.retracted { "t" } else { "f" }.to_string()),
        Some(fact.reported_at.to_rfc3339()),
        fact.decision_reported_at.map(|t| t.to_rfc3339()),
    ];
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(value) => escape_into(out, value),
        }
    }
    out.push('\n');
}

/// COPY text format: backslash, tab, newline and carriage return are escaped.
fn escape_into(out: &mut String, value: &str) {
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => {
                let _ = out.write_char(other);
            }
        }
    }
}
