//! Research projects (admin): approve, change, end; and who may take a project's extracts.
//! A project lives in its own event stream; its pseudonym key lives in
//! `research_project_keys` (which this module owns), outside the stream, so that ending
//! the project can destroy it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::case::Scheme;
use domain::events::RegistryEvent;
use domain::research::{
    project_stream, Delivery, ProjectClosed, ProjectId, ResearchProject, TermsInput, Variable,
    PROJECT_KEY_LEN,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use store::ExpectedVersion;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::codec::{decode, new_event};
use crate::error::ServiceError;
use crate::Registry;

/// A project's terms as an admin gives them. To approve a project, `project_id` and every
/// field but `k` (default 5) are required, and each one missing is named with every other
/// problem; a change (PATCH) names only what changes, and no `project_id`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ResearchProjectRequest {
    /// 3 to 64 ASCII letters, digits, '-', '_' or '.'.
    pub project_id: Option<String>,
    pub title: Option<String>,
    pub institution: Option<String>,
    /// The approval's reference, e.g. the REK number.
    pub approval_ref: Option<String>,
    pub valid_from: Option<NaiveDate>,
    /// The last day the project may receive extracts.
    pub valid_until: Option<NaiveDate>,
    /// Names from the catalogue (docs/extracts.md).
    pub variables: Option<Vec<String>>,
    /// Cases received from this day through `period_until`.
    pub period_from: Option<NaiveDate>,
    pub period_until: Option<NaiveDate>,
    pub schemes: Option<Vec<String>>,
    /// Each quasi-identifier combination occurs at least k times (5 to 100, default 5).
    pub k: Option<u32>,
}

impl From<ResearchProjectRequest> for TermsInput {
    fn from(request: ResearchProjectRequest) -> TermsInput {
        TermsInput {
            title: request.title,
            institution: request.institution,
            approval_ref: request.approval_ref,
            valid_from: request.valid_from,
            valid_until: request.valid_until,
            variables: request.variables,
            period_from: request.period_from,
            period_until: request.period_until,
            schemes: request.schemes,
            k: request.k,
        }
    }
}

/// A project as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub project_id: String,
    pub title: String,
    pub institution: String,
    pub approval_ref: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub variables: Vec<String>,
    pub period_from: NaiveDate,
    pub period_until: NaiveDate,
    pub schemes: Vec<String>,
    pub k: u32,
    pub ended_on: Option<NaiveDate>,
    pub extracts_delivered: u32,
}

impl From<&ResearchProject> for ProjectView {
    fn from(project: &ResearchProject) -> ProjectView {
        let terms = &project.terms;
        ProjectView {
            project_id: project.project_id.to_string(),
            title: terms.title.clone(),
            institution: terms.institution.clone(),
            approval_ref: terms.approval_ref.clone(),
            valid_from: terms.valid_from,
            valid_until: terms.valid_until,
            variables: terms.variables.iter().map(|v| v.as_str().into()).collect(),
            period_from: terms.period_from,
            period_until: terms.period_until,
            schemes: terms
                .schemes
                .iter()
                .map(|s| Scheme::as_str(*s).into())
                .collect(),
            k: terms.k,
            ended_on: project.ended_on,
            extracts_delivered: project.extracts_delivered,
        }
    }
}

/// One delivery in a project's audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub delivered_at: DateTime<Utc>,
    pub token_id: Option<Uuid>,
    pub variables: Vec<String>,
    pub rows: u64,
    pub rows_suppressed: u64,
    pub generalisations: std::collections::BTreeMap<String, String>,
    /// SHA-256 of the file as sent, lowercase hex.
    pub sha256: String,
}

/// A project with the version of its stream, for the next append.
pub(crate) struct Loaded {
    pub project: ResearchProject,
    pub version: i64,
    pub deliveries: Vec<DeliveryView>,
}

pub(crate) fn parse_project_id(text: &str) -> Result<ProjectId, ServiceError> {
    ProjectId::parse(text).ok_or_else(|| {
        ServiceError::NotFound(
            "no such research project: a project id is 3 to 64 letters, digits, '-', '_' or '.'"
                .into(),
        )
    })
}

impl Registry {
    /// Approves a project (admin) and makes its pseudonym key.
    pub async fn approve_project(
        &self,
        actor: &Actor,
        request: ResearchProjectRequest,
        today: NaiveDate,
    ) -> Result<ProjectView, ServiceError> {
        actor.require(&[Role::Admin])?;
        let given = request.project_id.is_some();
        let id = request.project_id.as_deref().and_then(ProjectId::parse);
        let terms = TermsInput::from(request).validate(today);
        let (id, terms) = match (id, terms) {
            (Some(id), Ok(terms)) => (id, terms),
            (id, terms) => {
                let mut problems = terms.err().unwrap_or_default();
                if id.is_none() {
                    problems.insert(0, project_id_problem(given));
                }
                return Err(ServiceError::Invalid(problems));
            }
        };
        if self.load_project(&id).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "research project {id} exists already; change it with PATCH"
            )));
        }
        let created_key = create_key(self.pool(), &id).await?;
        let event = RegistryEvent::ResearchProjectApproved {
            project_id: id.clone(),
            terms,
        };
        if let Err(error) = self
            .append_project_event(actor, &id, ExpectedVersion::NoStream, event)
            .await
        {
            if created_key {
                destroy_key(self.pool(), &id).await?;
            }
            return Err(error);
        }
        self.project_view(&id).await
    }

    /// Changes a project's terms (admin): the fields named replace the old ones.
    pub async fn change_project(
        &self,
        actor: &Actor,
        id: &str,
        change: ResearchProjectRequest,
        today: NaiveDate,
    ) -> Result<ProjectView, ServiceError> {
        actor.require(&[Role::Admin])?;
        let id = parse_project_id(id)?;
        if change.project_id.is_some() {
            return Err(ServiceError::invalid(
                "project_id",
                "not_allowed",
                "a project's id cannot change",
            ));
        }
        let loaded = self.known_project(&id).await?;
        if loaded.project.ended_on.is_some() {
            return Err(ServiceError::Conflict(format!(
                "research project {id} has ended and cannot change"
            )));
        }
        let terms = TermsInput::from(change)
            .over(&loaded.project.terms)
            .validate(today)
            .map_err(ServiceError::Invalid)?;
        if terms != loaded.project.terms {
            let event = RegistryEvent::ResearchProjectChanged {
                project_id: id.clone(),
                terms,
            };
            let expected = ExpectedVersion::Exact(loaded.version);
            self.append_project_event(actor, &id, expected, event)
                .await?;
        }
        self.project_view(&id).await
    }

    /// Ends a project (admin) and destroys its pseudonym key; ending it again only makes
    /// sure the key is gone.
    pub async fn end_project(
        &self,
        actor: &Actor,
        id: &str,
        today: NaiveDate,
    ) -> Result<ProjectView, ServiceError> {
        actor.require(&[Role::Admin])?;
        let id = parse_project_id(id)?;
        let loaded = self.known_project(&id).await?;
        if loaded.project.ended_on.is_none() {
            let event = RegistryEvent::ResearchProjectEnded {
                project_id: id.clone(),
                ended_on: today,
            };
            let expected = ExpectedVersion::Exact(loaded.version);
            self.append_project_event(actor, &id, expected, event)
                .await?;
        }
        destroy_key(self.pool(), &id).await?;
        self.project_view(&id).await
    }

    /// A project's deliveries, oldest first (admin, and the project's own researcher).
    pub async fn extract_log(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<DeliveryView>, ServiceError> {
        let id = parse_project_id(id)?;
        let loaded = self.project_for(actor, &id).await?;
        Ok(loaded.deliveries)
    }

    /// The project `actor` may see: any known project for an admin, only its own for a
    /// researcher (answered 403 naming why otherwise), none for any other role.
    pub(crate) async fn project_for(
        &self,
        actor: &Actor,
        id: &ProjectId,
    ) -> Result<Loaded, ServiceError> {
        actor.require(&[Role::Researcher, Role::Admin])?;
        if actor.role == Role::Researcher && actor.project.as_deref() != Some(id.as_str()) {
            return Err(ServiceError::Forbidden(format!(
                "this token is for another research project than {id}"
            )));
        }
        match self.load_project(id).await? {
            Some(loaded) => Ok(loaded),
            None if actor.role == Role::Researcher => Err(ServiceError::Forbidden(format!(
                "research project {id} is unknown"
            ))),
            None => Err(ServiceError::NotFound(format!("no research project {id}"))),
        }
    }

    /// The project, if it may receive an extract on `today`; else 403 saying why.
    pub(crate) async fn open_project_for(
        &self,
        actor: &Actor,
        id: &ProjectId,
        today: NaiveDate,
    ) -> Result<Loaded, ServiceError> {
        let loaded = self.project_for(actor, id).await?;
        loaded.project.open_on(today).map_err(|closed| {
            let why = match closed {
                ProjectClosed::NotYetValid => "is not valid yet",
                ProjectClosed::Expired => "has expired",
                ProjectClosed::Ended => "has ended",
            };
            ServiceError::Forbidden(format!("research project {id} {why} ({})", closed.code()))
        })?;
        Ok(loaded)
    }

    pub(crate) async fn load_project(
        &self,
        id: &ProjectId,
    ) -> Result<Option<Loaded>, ServiceError> {
        let records = self.store().read_stream(&project_stream(id)).await?;
        let mut events = Vec::with_capacity(records.len());
        let mut deliveries = Vec::new();
        for record in &records {
            let event = decode(record)?;
            if let RegistryEvent::ExtractDelivered { delivery, .. } = &event {
                deliveries.push(delivery_view(delivery, record.recorded_at));
            }
            events.push(event);
        }
        let version = records.last().map_or(0, |r| r.stream_version);
        Ok(ResearchProject::fold(&events).map(|project| Loaded {
            project,
            version,
            deliveries,
        }))
    }

    async fn known_project(&self, id: &ProjectId) -> Result<Loaded, ServiceError> {
        self.load_project(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no research project {id}")))
    }

    async fn project_view(&self, id: &ProjectId) -> Result<ProjectView, ServiceError> {
        Ok(ProjectView::from(&self.known_project(id).await?.project))
    }

    pub(crate) async fn append_project_event(
        &self,
        actor: &Actor,
        id: &ProjectId,
        expected: ExpectedVersion,
        event: RegistryEvent,
    ) -> Result<(), ServiceError> {
        let event_id = Uuid::new_v4();
        let new = new_event(&event, event_id, actor.metadata(event_id));
        self.store()
            .append(&project_stream(id), expected, &[new])
            .await
            .map_err(|error| match error {
                store::StoreError::WrongExpectedVersion { .. } => ServiceError::Conflict(format!(
                    "research project {id} changed meanwhile; try again"
                )),
                other => ServiceError::from(other),
            })?;
        self.count_appended(1);
        Ok(())
    }
}

fn project_id_problem(given: bool) -> domain::problems::FieldError {
    let mut problems = domain::problems::Problems::new();
    match given {
        true => problems.add(
            "project_id",
            "format",
            "project_id must be 3 to 64 ASCII letters, digits, '-', '_' or '.'",
        ),
        false => problems.required("project_id"),
    }
    problems.into_vec().remove(0)
}

fn delivery_view(delivery: &Delivery, delivered_at: DateTime<Utc>) -> DeliveryView {
    DeliveryView {
        delivered_at,
        token_id: delivery.token_id,
        variables: delivery
            .variables
            .iter()
            .map(|v| Variable::as_str(*v).to_string())
            .collect(),
        rows: delivery.rows,
        rows_suppressed: delivery.rows_suppressed,
        generalisations: delivery.generalisations.clone(),
        sha256: delivery.sha256.clone(),
    }
}

/// Makes the project's key unless it has one; true when it made one.
async fn create_key(pool: &PgPool, id: &ProjectId) -> Result<bool, ServiceError> {
    let mut secret = [0u8; PROJECT_KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let inserted = sqlx::query(
        "insert into research_project_keys (project_id, secret) values ($1, $2)
         on conflict (project_id) do nothing",
    )
    .bind(id.as_str())
    .bind(&secret[..])
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

async fn destroy_key(pool: &PgPool, id: &ProjectId) -> Result<(), ServiceError> {
    sqlx::query("delete from research_project_keys where project_id = $1")
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// The project's key, or `None` once it is destroyed.
pub(crate) async fn project_key(
    pool: &PgPool,
    id: &ProjectId,
) -> Result<Option<[u8; PROJECT_KEY_LEN]>, ServiceError> {
    let secret: Option<Vec<u8>> =
        sqlx::query_scalar("select secret from research_project_keys where project_id = $1")
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(secret.and_then(|bytes| bytes.try_into().ok()))
}

/// Whether a researcher token may be bound to `project`: known and not ended.
pub(crate) async fn bindable_project(
    pool: &PgPool,
    project: &str,
) -> Result<Option<&'static str>, ServiceError> {
    let Some(id) = ProjectId::parse(project) else {
        return Ok(Some("not a project id"));
    };
    let types: Vec<String> = sqlx::query_scalar(
        "select event_type from events where stream_id = $1 order by stream_version",
    )
    .bind(project_stream(&id))
    .fetch_all(pool)
    .await?;
    Ok(match () {
        _ if !types.iter().any(|t| t == "ResearchProjectApproved") => Some("unknown"),
        _ if types.iter().any(|t| t == "ResearchProjectEnded") => Some("ended"),
        _ => None,
    })
}
