//! Writing case facts to their table in bulk, as a rebuild does.

use sqlx::PgConnection;

use crate::copy::{copy_binary, BinaryRow};
use crate::error::ProjectionError;
use crate::facts::CaseFact;

/// The columns of `case_facts`, in the order rows are written.
const CASE_FACT_COLUMNS: &[&str] = &[
    "case_id",
    "scheme",
    "method_id",
    "atc",
    "icd10",
    "icd10_category",
    "icd10_chapter",
    "deciding_org",
    "deciding_region",
    "applying_org",
    "applying_region",
    "residence_county",
    "residence_region",
    "birth_year",
    "age_at_application",
    "age_band",
    "sex",
    "expected_patients",
    "received_date",
    "decided_date",
    "outcome",
    "criteria",
    "criteria_complete",
    "refusal_reasons",
    "processing_days",
    "appeals_lodged",
    "appeals_decided",
    "appeals_overturned",
    "corrections",
    "retracted",
    "reported_at",
    "decision_reported_at",
    "patient_pseudonym",
];

/// Writes case facts into `table` (a `case_facts` copy), in COPY's binary format.
pub(crate) async fn copy_case_facts(
    connection: &mut PgConnection,
    table: &str,
    facts: &[&CaseFact],
) -> Result<(), ProjectionError> {
    copy_binary(connection, table, CASE_FACT_COLUMNS, facts, write_row).await
}

/// One case's row, in the order of `CASE_FACT_COLUMNS`.
fn write_row(row: &mut BinaryRow, fact: &&CaseFact) {
    row.uuid(fact.case_id);
    row.text(Some(&fact.scheme));
    row.text(Some(&fact.method_id));
    row.text(fact.atc.as_deref());
    row.text(Some(&fact.icd10));
    row.text(Some(&fact.icd10_category));
    row.text(Some(&fact.icd10_chapter));
    row.text(Some(&fact.deciding_org));
    row.text(fact.deciding_region.as_deref());
    row.text(Some(&fact.applying_org));
    row.text(fact.applying_region.as_deref());
    row.text(fact.residence_county.as_deref());
    row.text(fact.residence_region.as_deref());
    row.int4(fact.birth_year);
    row.int4(fact.age_at_application);
    row.text(fact.age_band.as_deref());
    row.text(fact.sex.as_deref());
    row.int4(fact.expected_patients);
    row.date(Some(fact.received_date));
    row.date(fact.decided_date);
    row.text(fact.outcome.as_deref());
    row.jsonb(fact.criteria.as_ref());
    row.boolean(fact.criteria_complete);
    row.text_array(&fact.refusal_reasons);
    row.int4(fact.processing_days);
    row.int4(Some(fact.appeals_lodged));
    row.int4(Some(fact.appeals_decided));
    row.int4(Some(fact.appeals_overturned));
    row.int4(Some(fact.corrections));
    row.boolean(Some(fact.retracted));
    row.timestamp(Some(fact.reported_at));
    row.timestamp(fact.decision_reported_at);
    row.text(fact.patient_pseudonym.as_deref());
}
