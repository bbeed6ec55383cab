//! Batch import: many decisions in one call, answered with an import summary. `atomic`
//! writes nothing unless every row is valid; `dry_run` validates and writes nothing.

use std::collections::HashSet;

use domain::case::case_stream;
use domain::commands::{CaseCommand, Subject};
use domain::methods::method_stream;
use domain::problems::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::{StoreError, StreamAppend};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::cases::{report_id_in, Loaded, Prepared, ReportId};
use crate::error::ServiceError;
use crate::Registry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Validate only; write nothing.
    pub dry_run: bool,
    /// Write nothing unless every row is valid.
    pub atomic: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
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

impl ImportSummary {
    /// Whether rows were refused so that nothing was written though writing was asked for:
    /// an atomic import with a rejected row.
    pub fn refused_for_rejected_rows(&self) -> bool {
        self.atomic && !self.dry_run && self.rejected > 0
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectedRow {
    /// The row's index in the request, from 0.
    pub index: usize,
    pub report_id: Option<Uuid>,
    pub errors: Vec<RowProblem>,
}

/// One problem with a row, as in a problem document's `errors`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl From<FieldError> for RowProblem {
    fn from(error: FieldError) -> Self {
        RowProblem {
            field: error.field,
            code: error.code,
            message: error.message,
        }
    }
}

enum RowOutcome {
    Import(Box<Prepared>),
    AlreadyPresent,
    Rejected(Vec<RowProblem>),
}

type Classified = Vec<(Option<Uuid>, RowOutcome)>;

fn problem(field: &str, code: &str, message: &str) -> Vec<RowProblem> {
    vec![RowProblem {
        field: field.to_string(),
        code: code.to_string(),
        message: message.to_string(),
    }]
}

fn problems_of(error: ServiceError) -> Vec<RowProblem> {
    if error.is_internal() {
        tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "a batch row failed");
    }
    error
        .into_problems("row")
        .into_iter()
        .map(RowProblem::from)
        .collect()
}

const REPORT_ID_CONFLICT: &str = "this report_id was already used for a different report";

impl Registry {
    /// Reports many decisions at once: each row a body as for a single report.
    pub async fn import_decisions(
        &self,
        actor: &Actor,
        rows: &[Value],
        options: BatchOptions,
    ) -> Result<ImportSummary, ServiceError> {
        actor.require(&[Role::Reporter])?;
        // A concurrent writer may take a case between classification and the atomic
        // write; classify again once, then the rows it took are already present or
        // rejected.
        for _ in 0..2 {
            let outcomes = self.classify(actor, rows).await?;
            if let Some(summary) = self.import(outcomes, options).await? {
                return Ok(summary);
            }
        }
        Err(ServiceError::Conflict(
            "the cases in this batch kept changing; send it again".into(),
        ))
    }

    /// Decides for each row whether it is new, a replay or rejected, writing nothing.
    async fn classify(&self, actor: &Actor, rows: &[Value]) -> Result<Classified, ServiceError> {
        // Each row's subject, read once: it names the streams to load and the case to fold.
        let subjects: Vec<Option<(&Map<String, Value>, Subject)>> = rows
            .iter()
            .map(|row| {
                row.as_object()
                    .map(|object| (object, report_of(object).subject()))
            })
            .collect();
        let loaded = self.load_streams(streams_named(&subjects)).await?;
        let mut seen_reports = HashSet::new();
        let mut seen_cases = HashSet::new();
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in subjects {
            let Some((object, subject)) = row else {
                let rejected = problem("row", "object_expected", "each row must be a JSON object");
                outcomes.push((None, RowOutcome::Rejected(rejected)));
                continue;
            };
            let report_id = report_id_in(object);
            let id = report_id.as_ref().ok().copied();
            let outcome = self
                .classify_row(actor, object, &subject, report_id, &loaded)
                .await;
            let outcome = deduplicate(outcome, id, &mut seen_reports, &mut seen_cases);
            outcomes.push((id, outcome));
        }
        self.reject_report_ids_used_elsewhere(&mut outcomes).await?;
        Ok(outcomes)
    }

    async fn classify_row(
        &self,
        actor: &Actor,
        object: &Map<String, Value>,
        subject: &Subject,
        report_id: ReportId,
        loaded: &Loaded,
    ) -> RowOutcome {
        let id = *report_id.as_ref().unwrap_or(&Uuid::nil());
        let command = report_of(object);
        let prepared = self
            .prepare(actor, id, subject.case_id, subject, command, loaded)
            .await;
        match (prepared, report_id) {
            (Ok(prepared), Ok(_)) if prepared.already_stored.is_empty() => {
                RowOutcome::Import(Box::new(prepared))
            }
            (Ok(prepared), Ok(_)) if is_same_report(&prepared) => RowOutcome::AlreadyPresent,
            (Ok(_), Ok(_)) => RowOutcome::Rejected(problem(
                "report_id",
                "report_id_conflict",
                REPORT_ID_CONFLICT,
            )),
            (prepared, report_id) => {
                let mut errors: Vec<RowProblem> = match report_id {
                    Err(problems) => problems.into_iter().map(RowProblem::from).collect(),
                    Ok(_) => Vec::new(),
                };
                if let Err(error) = prepared {
                    errors.extend(problems_of(error));
                }
                RowOutcome::Rejected(errors)
            }
        }
    }

    /// A report_id already stored for another case is a conflict.
    async fn reject_report_ids_used_elsewhere(
        &self,
        outcomes: &mut Classified,
    ) -> Result<(), ServiceError> {
        let first_ids: Vec<Uuid> = outcomes
            .iter()
            .filter_map(|(_, outcome)| match outcome {
                RowOutcome::Import(prepared) => Some(prepared.events[0].event_id),
                _ => None,
            })
            .collect();
        let stored: HashSet<Uuid> = self
            .store
            .find_events(&first_ids)
            .await?
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        for (_, outcome) in outcomes.iter_mut() {
            if let RowOutcome::Import(prepared) = outcome {
                if stored.contains(&prepared.events[0].event_id) {
                    *outcome = RowOutcome::Rejected(problem(
                        "report_id",
                        "report_id_conflict",
                        REPORT_ID_CONFLICT,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Writes the rows to import as the options say. None when an atomic write lost a race.
    async fn import(
        &self,
        outcomes: Classified,
        options: BatchOptions,
    ) -> Result<Option<ImportSummary>, ServiceError> {
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
        } else if options.atomic {
            let prepared: Vec<Prepared> = to_import.into_iter().map(|(_, _, p)| *p).collect();
            if !self.write_all(&prepared).await? {
                return Ok(None);
            }
            summary.imported = prepared.len();
        } else {
            self.write_each(to_import, &mut summary).await;
        }
        summary.rejected_rows.sort_by_key(|row| row.index);
        summary.rejected = summary.rejected_rows.len();
        summary.written = !options.dry_run && summary.imported > 0;
        Ok(Some(summary))
    }

    /// Appends every row in one transaction; false when another writer took a case (or a
    /// report id) since classification.
    async fn write_all(&self, prepared: &[Prepared]) -> Result<bool, ServiceError> {
        let appends: Vec<StreamAppend> = prepared
            .iter()
            .map(|p| StreamAppend {
                stream_id: p.stream_id.clone(),
                expected: p.expected,
                events: p.events.clone(),
            })
            .collect();
        match self.store.append_all(&appends).await {
            Ok(_) => {
                self.count_appended(appends.iter().map(|a| a.events.len()).sum());
                Ok(true)
            }
            Err((
                _,
                StoreError::WrongExpectedVersion { .. } | StoreError::EventIdConflict { .. },
            )) => Ok(false),
            Err((_, other)) => Err(ServiceError::Store(other)),
        }
    }

    /// Appends row by row: each row stands or falls alone.
    async fn write_each(
        &self,
        to_import: Vec<(usize, Option<Uuid>, Box<Prepared>)>,
        summary: &mut ImportSummary,
    ) {
        for (index, report_id, prepared) in to_import {
            let errors = match self.write(*prepared).await {
                Ok(Some(written)) if written.replayed => {
                    summary.already_present += 1;
                    continue;
                }
                Ok(Some(_)) => {
                    summary.imported += 1;
                    continue;
                }
                Ok(None) => problem(
                    "row",
                    "conflict",
                    "the case changed while the batch was written; send this row again",
                ),
                Err(error) => problems_of(error),
            };
            summary.rejected_rows.push(RejectedRow {
                index,
                report_id,
                errors,
            });
        }
    }
}

/// A batch row as the command it is: a case reported with its decision.
fn report_of(object: &Map<String, Value>) -> CaseCommand<'_> {
    CaseCommand::Report {
        body: object,
        with_decision: true,
    }
}

/// The case and method streams the rows name, each once.
fn streams_named(subjects: &[Option<(&Map<String, Value>, Subject)>]) -> Vec<String> {
    let mut streams = Vec::new();
    for (_, subject) in subjects.iter().flatten() {
        streams.extend(subject.case_id.map(case_stream));
        streams.extend(subject.method_id.as_ref().map(method_stream));
    }
    streams.sort();
    streams.dedup();
    streams
}

/// Whether a retried row's stored events say what the row says now.
fn is_same_report(prepared: &Prepared) -> bool {
    prepared.already_stored.len() == prepared.events.len()
        && prepared
            .already_stored
            .iter()
            .zip(&prepared.events)
            .all(|(stored, new)| {
                stored.event_type == new.event_type && stored.payload == new.payload
            })
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
        RowOutcome::Rejected(problem(
            "report_id",
            "duplicate_in_batch",
            "an earlier row has the same report_id",
        ))
    } else if repeated_case {
        RowOutcome::Rejected(problem(
            "case_ref",
            "duplicate_in_batch",
            "an earlier row reports the same case_ref",
        ))
    } else {
        RowOutcome::Import(prepared)
    }
}
