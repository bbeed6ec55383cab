//! Research extracts: one CSV row per case of an open project's period and schemes, with
//! only its approved variables, under disclosure control (`analysis::disclosure`), with a
//! codebook (`codebook`) and an audit event for every delivery.
//!
//! Constant memory: a first pass counts the cases by their finest quasi-identifiers (one
//! GROUP BY, as many rows as there are combinations, not cases) and chooses the
//! generalisation; the second pass streams the rows from the database through the CSV
//! writer into a bounded channel, chunk by chunk. Both passes read one repeatable-read
//! snapshot, so the rows streamed are exactly the rows counted. The SHA-256 of the bytes
//! is taken as they go, and the `ExtractDelivered` event is appended before the last
//! chunk is sent: a client that receives the whole file has a delivery in the log.

mod codebook;
mod rows;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use analysis::disclosure::{choose, Choice, Dimension, Group, Rules};
use chrono::NaiveDate;
use domain::events::RegistryEvent;
use domain::free_text::csv_cell;
use domain::research::{Delivery, ProjectId, ResearchProject, Variable, PROJECT_KEY_LEN};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, Transaction};
use store::ExpectedVersion;
use tokio::sync::mpsc;

use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::research::{parse_project_id, project_key};
use crate::Registry;
use rows::{CaseRow, Finest, Qi};

/// The query the extract streams, for a benchmark's `COPY` of the same rows.
pub use rows::{CASES, PROCESSING_DAYS_TOP, ROW_COLUMNS};

/// About this many bytes go to the client at a time; at most `CHUNKS_AHEAD` wait.
const CHUNK_BYTES: usize = 64 * 1024;
const CHUNKS_AHEAD: usize = 4;

/// The extract's bytes as they are written; an error ends the file short.
pub type ExtractChunks = mpsc::Receiver<Result<Vec<u8>, ServiceError>>;

/// What the first pass decided: the quasi-identifiers, the generalisation and the groups
/// withheld.
pub(crate) struct Plan {
    variables: Vec<Variable>,
    qis: Vec<Qi>,
    dimensions: Vec<Dimension>,
    rules: Rules,
    choice: Choice,
}

impl Plan {
    fn level_of(&self, wanted: fn(&Qi) -> bool) -> Option<usize> {
        let index = self.qis.iter().position(wanted)?;
        Some(self.choice.levels[index])
    }

    fn generalisations(&self) -> std::collections::BTreeMap<String, String> {
        self.choice
            .described(&self.dimensions)
            .into_iter()
            .collect()
    }

    fn header(&self) -> Vec<String> {
        self.variables.iter().flat_map(|v| v.columns()).collect()
    }
}

impl Registry {
    /// The project's extract as CSV, streamed (the project's own researcher only).
    pub async fn extract_csv(
        &self,
        actor: &Actor,
        id: &str,
        today: NaiveDate,
    ) -> Result<ExtractChunks, ServiceError> {
        let id = parse_project_id(id)?;
        actor.require(&[Role::Researcher])?;
        let loaded = self.open_project_for(actor, &id, today).await?;
        let key = project_key(self.pool(), &id).await?.ok_or_else(|| {
            ServiceError::Forbidden(format!(
                "research project {id} has no pseudonym key any more (project_key_destroyed)"
            ))
        })?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        let plan = plan(&mut tx, &loaded.project).await?;
        let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
        let delivery = Delivering {
            registry: self.clone(),
            actor: actor.clone(),
            project: loaded.project,
            plan,
            key,
        };
        tokio::spawn(delivery.run(tx, sender));
        Ok(receiver)
    }

    /// The codebook of the extract the project would receive now (its researcher, admins).
    pub async fn extract_datapackage(
        &self,
        actor: &Actor,
        id: &str,
        today: NaiveDate,
    ) -> Result<serde_json::Value, ServiceError> {
        let id = parse_project_id(id)?;
        let loaded = self.open_project_for(actor, &id, today).await?;
        let mut connection = self.pool().acquire().await?;
        let plan = plan(&mut connection, &loaded.project).await?;
        Ok(codebook::datapackage(&loaded.project, &plan))
    }
}

/// Counts the project's cases by their finest quasi-identifiers and outcome, and chooses.
async fn plan(
    connection: &mut PgConnection,
    project: &ResearchProject,
) -> Result<Plan, ServiceError> {
    let terms = &project.terms;
    let qis = Qi::of(&terms.variables);
    let dimensions: Vec<Dimension> = qis.iter().map(|qi| qi.dimension()).collect();
    // Ages are counted in 5-year bands (90 and over as 90), dates by their quarter: the
    // finest level any hierarchy has, as `CaseRow::finest` normalises each row. A missing
    // age stays missing (least and greatest would pass over the null).
    let sql = format!(
        "select case when age_at_application is null then null
                     else greatest(least(age_at_application, 90), 0) / 5 * 5 end as age,
                sex, residence_county,
                residence_region, icd10_category, icd10_chapter,
                date_trunc('quarter', received_date)::date as received_date,
                coalesce(outcome, 'pending') as outcome, count(*) as rows
           {CASES}
          group by 1, 2, 3, 4, 5, 6, 7, 8"
    );
    type Counted = (
        Option<i32>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        NaiveDate,
        String,
        i64,
    );
    let counted: Vec<Counted> = sqlx::query_as(&sql)
        .bind(terms.period_from)
        .bind(terms.period_until)
        .bind(scheme_names(project))
        .fetch_all(&mut *connection)
        .await?;
    let groups: Vec<Group> = counted
        .into_iter()
        .map(
            |(age, sex, county, region, category, chapter, received_date, outcome, rows)| {
                let finest = Finest {
                    age,
                    sex,
                    county,
                    region,
                    icd10_category: category,
                    icd10_chapter: chapter,
                    received_date,
                };
                Group {
                    labels: finest.labels(&qis),
                    outcome,
                    rows: rows as u64,
                }
            },
        )
        .collect();
    let rules = Rules::new(u64::from(terms.k));
    let choice = choose(&dimensions, &groups, rules);
    Ok(Plan {
        variables: terms.variables.clone(),
        qis,
        dimensions,
        rules,
        choice,
    })
}

fn scheme_names(project: &ResearchProject) -> Vec<String> {
    project
        .terms
        .schemes
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}

/// One delivery under way.
struct Delivering {
    registry: Registry,
    actor: Actor,
    project: ResearchProject,
    plan: Plan,
    key: [u8; PROJECT_KEY_LEN],
}

impl Delivering {
    async fn run(
        self,
        tx: Transaction<'static, Postgres>,
        sender: mpsc::Sender<Result<Vec<u8>, ServiceError>>,
    ) {
        if let Err(error) = self.stream(tx, &sender).await {
            tracing::warn!(error = %error, project = %self.project.project_id, "an extract ended short");
            let _ = sender.send(Err(error)).await;
        }
    }

    /// Writes every kept row; holds the last chunk back until the delivery is recorded.
    async fn stream(
        &self,
        mut tx: Transaction<'static, Postgres>,
        sender: &mpsc::Sender<Result<Vec<u8>, ServiceError>>,
    ) -> Result<(), ServiceError> {
        let mut writer = new_writer();
        writer
            .write_record(self.plan.header())
            .map_err(ServiceError::ExtractWrite)?;
        let mut digest = Sha256::new();
        let mut rows = 0u64;
        let sql = format!("select {ROW_COLUMNS} {CASES} order by case_id");
        let terms = &self.project.terms;
        let mut cases = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(terms.period_from)
            .bind(terms.period_until)
            .bind(scheme_names(&self.project))
            .fetch(&mut *tx);
        let mut chosen_labels = ChosenLabels::default();
        while let Some(case) = cases.try_next().await? {
            let Some(chosen) = chosen_labels.of(&case, &self.plan) else {
                continue; // its group is withheld
            };
            // A chunk leaves only before a row is written, so the last row always stays
            // for the final chunk, sent after the delivery is recorded.
            if writer.get_ref().len() >= CHUNK_BYTES {
                let chunk = take(&mut writer)?;
                digest.update(&chunk);
                if sender.send(Ok(chunk)).await.is_err() {
                    return Ok(()); // the client went away: nothing was delivered
                }
            }
            let cells = case.cells(
                &terms.variables,
                (&self.plan.qis, &chosen),
                &self.plan.choice.levels,
                &self.key,
            );
            write_row(&mut writer, &cells)?;
            rows += 1;
        }
        drop(cases);
        tx.commit().await?;
        let last = take(&mut writer)?;
        digest.update(&last);
        self.record(rows, hex::encode(digest.finalize())).await?;
        let _ = sender.send(Ok(last)).await;
        Ok(())
    }

    async fn record(&self, rows: u64, sha256: String) -> Result<(), ServiceError> {
        let id: &ProjectId = &self.project.project_id;
        let event = RegistryEvent::ExtractDelivered {
            project_id: id.clone(),
            delivery: Delivery {
                token_id: self.actor.token_id(),
                variables: self.project.terms.variables.clone(),
                rows,
                rows_suppressed: self.plan.choice.rows_suppressed,
                generalisations: self.plan.generalisations(),
                sha256,
            },
        };
        self.registry
            .append_project_event(&self.actor, id, ExpectedVersion::StreamExists, event)
            .await
    }
}

/// The quasi-identifiers' labels at the chosen levels, by the finest ones: worked out once
/// per combination (there are as many as the first pass counted groups), not per row.
#[derive(Default)]
struct ChosenLabels(HashMap<Finest, Option<Arc<[String]>>>);

impl ChosenLabels {
    /// The row's labels at the chosen levels, or None when its group is withheld.
    fn of(&mut self, case: &CaseRow, plan: &Plan) -> Option<Arc<[String]>> {
        self.0
            .entry(case.finest())
            .or_insert_with_key(|finest| {
                let labels = finest.labels(&plan.qis);
                plan.choice
                    .keeps(&labels)
                    .then(|| plan.choice.key(&labels).into())
            })
            .clone()
    }
}

/// One row, each cell neutralised against spreadsheet formulas.
fn write_row(
    writer: &mut csv::Writer<Vec<u8>>,
    cells: &[Cow<'_, str>],
) -> Result<(), ServiceError> {
    for cell in cells {
        writer
            .write_field(csv_cell(cell).as_bytes())
            .map_err(ServiceError::ExtractWrite)?;
    }
    // An empty record ends the row the fields began.
    writer
        .write_record(None::<&[u8]>)
        .map_err(ServiceError::ExtractWrite)
}

fn new_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(2 * CHUNK_BYTES))
}

/// The bytes written so far, leaving a fresh writer in place (the csv writer lends its
/// buffer out only by giving it up).
fn take(writer: &mut csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    std::mem::replace(writer, new_writer())
        .into_inner()
        .map_err(|e| ServiceError::ExtractWrite(csv::Error::from(e.into_error())))
}
