//! Writing many rows at once with COPY, in PostgreSQL's text format: several times faster
//! than an INSERT of the same rows, which matters when a projection is rebuilt over
//! millions of events: a rebuild writes its case facts and counts so.

use std::fmt::Write;

use sqlx::PgConnection;

use crate::counts::{CountDeltas, SignalDeltas};
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
    // In messages of some thousand rows: the server parses one while the next is written.
    let mut copy = connection
        .copy_in_raw(&format!("copy {table} ({CASE_FACT_COLUMNS}) from stdin"))
        .await?;
    for chunk in facts.chunks(ROWS_PER_MESSAGE) {
        let mut text = String::with_capacity(chunk.len() * 512);
        for fact in chunk {
            write_row(&mut text, fact);
        }
        copy.send(text.into_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

const ROWS_PER_MESSAGE: usize = 5_000;

/// Writes decision counts into `table` (a `decision_counts` copy).
pub(crate) async fn copy_decision_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &CountDeltas,
) -> Result<(), ProjectionError> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut text = String::with_capacity(counts.len() * 128);
    for (key, decisions) in counts {
        let mut row = Row {
            out: &mut text,
            fields: 0,
        };
        row.display(Some(key.year));
        row.display(Some(key.quarter));
        for value in [
            &key.deciding_region,
            &key.deciding_org,
            &key.residence_region,
            &key.scheme,
            &key.method_id,
            &key.icd10_category,
            &key.outcome,
        ] {
            row.text(Some(value));
        }
        row.display(Some(decisions));
        row.out.push('\n');
    }
    let columns = "year, quarter, deciding_region, deciding_org, residence_region, scheme, \
                   method_id, icd10_category, outcome, decisions";
    copy_in(connection, table, columns, text).await
}

/// Writes the signals' counts into `table` (a `signal_counts` copy).
pub(crate) async fn copy_signal_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &SignalDeltas,
) -> Result<(), ProjectionError> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut text = String::with_capacity(counts.len() * 64);
    for ((kind, period, key), cases) in counts {
        let mut row = Row {
            out: &mut text,
            fields: 0,
        };
        row.text(Some(kind));
        row.display(Some(period));
        row.text(Some(key));
        row.display(Some(cases));
        row.out.push('\n');
    }
    copy_in(connection, table, "kind, period, key, cases", text).await
}

async fn copy_in(
    connection: &mut PgConnection,
    table: &str,
    columns: &str,
    rows: String,
) -> Result<(), ProjectionError> {
    let mut copy = connection
        .copy_in_raw(&format!("copy {table} ({columns}) from stdin"))
        .await?;
    copy.send(rows.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn write_row(out: &mut String, fact: &CaseFact) {
    let mut row = Row { out, fields: 0 };
    row.display(Some(fact.case_id));
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
    row.display(fact.birth_year);
    row.display(fact.age_at_application);
    row.text(fact.age_band.as_deref());
    row.text(fact.sex.as_deref());
    row.display(fact.expected_patients);
    row.display(Some(fact.received_date));
    row.display(fact.decided_date);
    row.text(fact.outcome.as_deref());
    row.text(fact.criteria.as_ref().map(|c| c.to_string()).as_deref());
    row.display(fact.criteria_complete.map(pg_bool));
    row.text(Some(&format!("{{{}}}", fact.refusal_reasons.join(","))));
    row.display(fact.processing_days);
    row.display(Some(fact.appeals_lodged));
    row.display(Some(fact.appeals_decided));
    row.display(Some(fact.appeals_overturned));
    row.display(Some(fact.corrections));
    row.display(Some(pg_bool(fact.retracted)));
    row.text(Some(&fact.reported_at.to_rfc3339()));
    row.text(fact.decision_reported_at.map(|t| t.to_rfc3339()).as_deref());
    row.out.push('\n');
}

fn pg_bool(value: bool) -> char {
    if value {
        't'
    } else {
        'f'
    }
}

/// One row being written, field by field, tab-separated, `\N` for null.
struct Row<'a> {
    out: &'a mut String,
    fields: usize,
}

impl Row<'_> {
    fn separate(&mut self) {
        if self.fields > 0 {
            self.out.push('\t');
        }
        self.fields += 1;
    }

    /// Free text, escaped.
    fn text(&mut self, value: Option<&str>) {
        self.separate();
        match value {
            None => self.out.push_str("\\N"),
            Some(value) => escape_into(self.out, value),
        }
    }

    /// Numbers, dates, identifiers and booleans: nothing in them needs escaping.
    fn display(&mut self, value: Option<impl std::fmt::Display>) {
        self.separate();
        match value {
            None => self.out.push_str("\\N"),
            Some(value) => {
                let _ = write!(self.out, "{value}");
            }
        }
    }
}

/// COPY text format: backslash, tab, newline and carriage return are escaped.
fn escape_into(out: &mut String, value: &str) {
    if !value.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(value);
        return;
    }
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
