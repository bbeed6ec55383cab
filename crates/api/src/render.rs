//! Answers: statistics as JSON or, with `Accept: text/csv`, as CSV; accepted reports.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse};
use registry::cases::Written;
use registry::statistics::Table;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// The answer to an accepted report: 201 when stored now, 200 when it had been stored
/// before (a retry), with the same body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportAccepted {
    pub case_id: Uuid,
    pub report_id: Uuid,
    /// The global position of the last event the report wrote.
    pub position: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_id: Option<Uuid>,
    pub warnings: Vec<WarningItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarningItem {
    pub code: String,
    pub message: String,
}

pub fn accepted(written: Written) -> HttpResponse {
    let body = ReportAccepted {
        case_id: written.case_id,
        report_id: written.report_id,
        position: written.position,
        appeal_id: written.appeal_id,
        warnings: written
            .warnings
            .into_iter()
            .map(|w| WarningItem {
                code: w.code,
                message: w.message,
            })
            .collect(),
    };
    match written.replayed {
        true => HttpResponse::Ok().json(body),
        false => HttpResponse::Created().json(body),
    }
}

/// A statistic as JSON, or as CSV when the client accepts `text/csv`.
pub fn table<R: Serialize>(http: &HttpRequest, table: &Table<R>) -> Result<HttpResponse, ApiError> {
    let wants_csv = http
        .headers()
        .get("Accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    if !wants_csv {
        return Ok(HttpResponse::Ok().json(table));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("X-As-Of-Position", table.as_of_position().to_string()))
        .insert_header(("X-Generated-At", table.generated_at().to_rfc3339()))
        .body(to_csv(table.rows(), table.group_by())?))
}

/// Where a column goes in a CSV: the group keys first (each with its name beside it), in
/// the order asked for, then the counts, then rates, intervals and other estimates, and
/// whether the row was withheld last.
fn column_rank(name: &str, group_by: &[&str]) -> (usize, usize) {
    const ESTIMATES: [&str; 11] = [
        "rate",
        "ci95",
        "share",
        "per_100k",
        "median",
        "quartile",
        "limits",
        "p_value",
        "target",
        "days",
        "residents",
    ];
    if let Some(at) = group_by
        .iter()
        .position(|key| name == *key || name == format!("{key}_name"))
    {
        return (0, at);
    }
    match name {
        "suppressed" => (3, 0),
        "suppression" => (3, 1),
        "suppression_reason" => (3, 2),
        _ if ESTIMATES.iter().any(|part| name.contains(part)) => (2, 0),
        _ => (1, 0),
    }
}

/// Flat CSV: nested values (intervals) become `<field>_<part>` columns, ordered by
/// `column_rank`. Rows need not have the same fields (curves, standardised rates): the
/// header is every field of any row, in order of rank and then of first appearance, and
/// a row without a field leaves its cell empty.
fn to_csv<R: Serialize>(rows: &[R], group_by: &[&str]) -> Result<String, ApiError> {
    let flat: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|row| match serde_json::to_value(row) {
            Ok(Value::Object(fields)) => flatten(&fields, ""),
            _ => Vec::new(),
        })
        .collect();
    let header = union_of_columns(&flat, group_by);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).map_err(csv_failed)?;
    for row in flat {
        let cells: HashMap<String, String> = row.into_iter().collect();
        let in_order = header
            .iter()
            .map(|name| cells.get(name).map_or("", String::as_str));
        writer.write_record(in_order).map_err(csv_failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv_failed(e.into_error().into()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Every column of any row, ordered by `column_rank`, ties by first appearance.
fn union_of_columns(rows: &[Vec<(String, String)>], group_by: &[&str]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for (name, _) in rows.iter().flatten() {
        if !columns.contains(name) {
            columns.push(name.clone());
        }
    }
    // A stable sort keeps first appearance among equals.
    columns.sort_by_key(|name| column_rank(name, group_by));
    columns
}

fn csv_failed(error: csv::Error) -> ApiError {
    ApiError::Internal(Box::new(error))
}

fn flatten(row: &Map<String, Value>, prefix: &str) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    for (key, value) in row {
        let name = match prefix.is_empty() {
            true => key.clone(),
            false => format!("{prefix}_{key}"),
        };
        match value {
            Value::Object(inner) => cells.extend(flatten(inner, &name)),
            Value::Array(_) => {}
            Value::Null => cells.push((name, String::new())),
            // Names come from admins' input, and a supervisor opens the file in a spreadsheet.
            Value::String(text) => cells.push((name, report::csv_cell(text).into_owned())),
            other => cells.push((name, other.to_string())),
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Rows need not all have the same fields (a curve, a standardised rate, the number
    /// at risk are only in some): the header is every field any row has, and a row
    /// without one leaves its cell empty, in its own column.
    #[test]
    fn rows_with_different_fields_share_one_header() {
        let rows = vec![
            json!({"region": "r1", "applications": 10, "rate_basis": "crude"}),
            json!({"region": "r2", "applications": 12, "per_100k": 3.5, "rate_basis": "age_sex_standardised"}),
            json!({"region": "r3", "applications": 7}),
        ];
        let csv = to_csv(&rows, &["region"]).expect("a CSV");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "region,applications,rate_basis,per_100k");
        assert_eq!(lines[1], "r1,10,crude,");
        assert_eq!(lines[2], "r2,12,age_sex_standardised,3.5");
        assert_eq!(lines[3], "r3,7,,");
    }
}
