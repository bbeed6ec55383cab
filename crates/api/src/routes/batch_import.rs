//! Batch import: up to 5 000 decisions in one request, answered with an import summary.
//! `atomic=true` (the default) writes nothing unless every row is valid; `dry_run=true`
//! validates and writes nothing.

use std::collections::HashSet;

use actix_web::{post, web, HttpResponse};
use domain::case::case_stream;
use domain::commands::CaseCommand;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{StoreError, StreamAppend};
use tracing_actix_web::RequestId;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body;
use crate::error::{ApiError, Problem, ProblemItem};
use crate::ingest::{case_id_in, method_in, Prepared};
use crate::openapi::DecisionReport;
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct BatchOptions {
    /// Validate only; write nothing.
    #[serde(default)]
    dry_run: bool,
    /// Write nothing unless every row is valid (default true).
    #[serde(default = "yes")]
    atomic: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    pub dry_run: bool,
    pub atomic: bool,
    /// Rows stored by this request (with dry_run: rows that would be).
    pub imported: usize,
    /// Rows whose report was stored before, with the same content: nothing written.
    pub already_present: usize,
    pub rejected: usize,
    /// Whether anything was written.
    pub written: bool,
    pub rejected_rows: Vec<RejectedRow>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RejectedRow {
    /// The row's index in the request, from 0.
    pub index: usize,
    pub report_id: Option<Uuid>,
    pub errors: Vec<ProblemItem>,
}

enum RowOutcome {
    Import(Box<Prepared>),
    AlreadyPresent,
    Rejected(Vec<ProblemItem>),
}

/// Report many decisions at once: a JSON array of bodies as for POST /api/v1/decisions.
#[utoipa::path(post, path = "/api/v1/decisions/batch", tag = "reporting", params(BatchOptions),
    request_body = Vec<DecisionReport>, security(("bearer" = [])), responses(
    (status = 200, description = "the import summary", body = ImportSummary),
    (status = 400, description = "not a JSON array", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "too large or too many rows", body = Problem, content_type = "application/problem+json")))]
#[post("/decisions/batch")]
pub async fn report_batch(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    options: web::Query<BatchOptions>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let body = body::read(payload, state.config.max_batch_bytes).await?;
    let Value::Array(rows) = body::json_value(&body)? else {
        return Err(ApiError::MalformedBody(
            "the body must be a JSON array of decisions".into(),
        ));
    };
    if rows.len() > state.config.max_batch_rows {
        return Err(ApiError::PayloadTooLarge(state.config.max_batch_rows));
    }
    let request_id = request_id.to_string();
    let mut summary = None;
    // A concurrent writer may take a case between classification and the atomic write;
    // classify again once, then the rows it took are already present or rejected.
    for _ in 0..2 {
        let outcomes = classify(&state, &caller, &request_id, &rows).await?;
        match import(&state, outcomes, &options).await? {
            Some(done) => {
                summary = Some(done);
                break;
            }
            None => continue,
        }
    }
    let summary = summary.ok_or_else(|| {
        ApiError::Conflict("the cases in this batch kept changing; send it again".into())
    })?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Decides for each row whether it is new, a replay or rejected, writing nothing.
async fn classify(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    rows: &[Value],
) -> Result<Vec<(Option<Uuid>, RowOutcome)>, ApiError> {
    let objects: Vec<Option<&serde_json::Map<String, Value>>> =
        rows.iter().map(Value::as_object).collect();
    let case_ids: Vec<Uuid> = objects
        .iter()
        .flatten()
        .filter_map(|o| case_id_in(o))
        .collect();
    let mut streams: Vec<String> = case_ids.iter().map(|id| case_stream(*id)).collect();
    streams.extend(
        objects
            .iter()
            .flatten()
            .filter_map(|o| method_in(o))
            .map(|m| domain::methods::method_stream(&m)),
    );
    streams.sort();
    streams.dedup();
    let loaded = state.load_streams(streams).await?;
    let mut seen_reports = HashSet::new();
    let mut seen_cases = HashSet::new();
    let mut outcomes = Vec::with_capacity(rows.len());
    for object in objects {
        let outcome = match object {
            None => (
                None,
                RowOutcome::Rejected(vec![item(
                    "row",
                    "object_expected",
                    "each row must be a JSON object",
                )]),
            ),
            Some(object) => {
                let report_id = body::report_id(object).ok();
                let outcome =
                    classify_row(state, caller, request_id, object, report_id, &loaded).await;
                let outcome = deduplicate(outcome, report_id, &mut seen_reports, &mut seen_cases);
                (report_id, outcome)
            }
        };
        outcomes.push(outcome);
    }
    reject_report_ids_used_elsewhere(state, &mut outcomes).await?;
    Ok(outcomes)
}

async fn classify_row(
    state: &AppState,
    caller: &Caller,
    request_id: &str,
    object: &serde_json::Map<String, Value>,
    report_id: Option<Uuid>,
    loaded: &crate::ingest::Loaded,
) -> RowOutcome {
    let command = CaseCommand::Report {
        body: object,
        with_decision: true,
    };
    let prepared = state
        .prepare(
            caller,
            request_id,
            report_id.unwrap_or_else(Uuid::nil),
            case_id_in(object),
            command,
            loaded,
        )
        .await;
    let report_id_problem = body::report_id(object).err();
    match (prepared, report_id_problem) {
        (Ok(prepared), None) if prepared.already_stored.is_empty() => {
            RowOutcome::Import(Box::new(prepared))
        }
        (Ok(prepared), None) => {
            let same = prepared.already_stored.len() == prepared.events.len()
                && prepared
                    .already_stored
                    .iter()
                    .zip(&prepared.events)
                    .all(|(stored, new)| {
                        stored.event_type == new.event_type && stored.payload == new.payload
                    });
            if same {
                RowOutcome::AlreadyPresent
            } else {
                RowOutcome::Rejected(vec![item(
                    "report_id",
                    "report_id_conflict",
                    "this report_id was already used for a different report",
                )])
            }
        }
        (prepared, report_id_problem) => {
            let mut errors: Vec<ProblemItem> = report_id_problem
                .map(|e| e.problem().errors)
                .unwrap_or_default();
            if let Err(error) = prepared {
                errors.extend(problem_items(error));
            }
            RowOutcome::Rejected(errors)
        }
    }
}

fn problem_items(error: ApiError) -> Vec<ProblemItem> {
    let problem = error.problem();
    if problem.errors.is_empty() {
        vec![item(
            "row",
            &problem.title.to_lowercase().replace(' ', "_"),
            &problem.detail,
        )]
    } else {
        problem.errors
    }
}

/// A second row with the same report or case as an earlier one in the batch is rejected.
fn deduplicate(
    outcome: RowOutcome,
    report_id: Option<Uuid>,
    seen_reports: &mut HashSet<Uuid>,
    seen_cases: &mut HashSet<Uuid>,
) -> RowOutcome {
    let RowOutcome::Import(prepared) = outcome else {
        return outcome;
    };
    let repeated_report = report_id.is_some_and(|id| !seen_reports.insert(id));
    let repeated_case = !seen_cases.insert(prepared.case_id);
    if repeated_report {
        RowOutcome::Rejected(vec![item(
            "report_id",
            "duplicate_in_batch",
            "an earlier row has the same report_id",
        )])
    } else if repeated_case {
        RowOutcome::Rejected(vec![item(
            "case_ref",
            "duplicate_in_batch",
            "an earlier row reports the same case_ref",
        )])
    } else {
        RowOutcome::Import(prepared)
    }
}

/// A report_id already stored for another case is a conflict.
async fn reject_report_ids_used_elsewhere(
    state: &AppState,
    outcomes: &mut [(Option<Uuid>, RowOutcome)],
) -> Result<(), ApiError> {
    let first_ids: Vec<Uuid> = outcomes
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            RowOutcome::Import(prepared) => Some(prepared.events[0].event_id),
            _ => None,
        })
        .collect();
    let stored: HashSet<Uuid> = state
        .store
        .find_events(&first_ids)
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    for (_, outcome) in outcomes.iter_mut() {
        if let RowOutcome::Import(prepared) = outcome {
            if stored.contains(&prepared.events[0].event_id) {
                *outcome = RowOutcome::Rejected(vec![item(
                    "report_id",
                    "report_id_conflict",
                    "this report_id was already used for a different report",
                )]);
            }
        }
    }
    Ok(())
}

/// Writes the rows to import as the options say. None when an atomic write lost a race.
async fn import(
    state: &AppState,
    outcomes: Vec<(Option<Uuid>, RowOutcome)>,
    options: &BatchOptions,
) -> Result<Option<ImportSummary>, ApiError> {
    let mut summary = ImportSummary {
        dry_run: options.dry_run,
        atomic: options.atomic,
        imported: 0,
        already_present: 0,
        rejected: 0,
        written: false,
        rejected_rows: Vec::new(),
    };
    let mut to_import = Vec::new();
    for (index, (report_id, outcome)) in outcomes.into_iter().enumerate() {
        match outcome {
            RowOutcome::Import(prepared) => to_import.push((index, report_id, prepared)),
            RowOutcome::AlreadyPresent => summary.already_present += 1,
            RowOutcome::Rejected(errors) => summary.rejected_rows.push(RejectedRow {
                index,
                report_id,
                errors,
            }),
        }
    }
    let blocked = options.atomic && !summary.rejected_rows.is_empty();
    if options.dry_run || blocked || to_import.is_empty() {
        summary.imported = if blocked { 0 } else { to_import.len() };
        summary.rejected = summary.rejected_rows.len();
        return Ok(Some(summary));
    }
    if options.atomic {
        let appends: Vec<StreamAppend> = to_import
            .iter()
            .map(|(_, _, p)| StreamAppend {
                stream_id: p.stream_id.clone(),
                expected: p.expected,
                events: p.events.clone(),
            })
            .collect();
        match state.store.append_all(&appends).await {
            Ok(_) => {}
            // Another writer took a case (or a report id) since classification: classify
            // again. Any other failure is the server's, not the batch's.
            Err((
                _,
                StoreError::WrongExpectedVersion { .. } | StoreError::EventIdConflict { .. },
            )) => return Ok(None),
            Err((_, other)) => return Err(other.into()),
        }
        let events: usize = appends.iter().map(|a| a.events.len()).sum();
        state.metrics.events_appended(events);
        summary.imported = appends.len();
    } else {
        for (index, report_id, prepared) in to_import {
            match state.write(*prepared).await {
                Ok(Some(written)) if written.replayed => summary.already_present += 1,
                Ok(Some(_)) => summary.imported += 1,
                Ok(None) => summary.rejected_rows.push(RejectedRow {
                    index,
                    report_id,
                    errors: vec![item(
                        "row",
                        "conflict",
                        "the case changed while the batch was written; send this row again",
                    )],
                }),
                Err(error) => summary.rejected_rows.push(RejectedRow {
                    index,
                    report_id,
                    errors: problem_items(error),
                }),
            }
        }
    }
    summary.rejected_rows.sort_by_key(|row| row.index);
    summary.rejected = summary.rejected_rows.len();
    summary.written = summary.imported > 0;
    Ok(Some(summary))
}

fn item(field: &str, code: &str, message: &str) -> ProblemItem {
    ProblemItem {
        field: field.to_string(),
        code: code.to_string(),
        message: message.to_string(),
    }
}
