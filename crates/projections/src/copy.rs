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
