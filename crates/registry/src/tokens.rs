//! API tokens: only a sha256 of each token is stored (table `api_tokens`, which this
//! module owns); the token itself is shown once, when created.

use chrono::{DateTime, NaiveDate, Utc};
use domain::free_text::{check_text, TextKind};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::organisation_stream;
use domain::problems::Problems;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::research::bindable_project;

/// What `unntak token create` asks for.
pub struct NewToken {
    pub role: Role,
    pub org: Option<OrganisationNumber>,
    pub project: Option<String>,
    pub label: String,
    pub expires: Option<NaiveDate>,
}

/// A token as listed: never the token itself.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub token_id: Uuid,
    pub label: String,
    pub role: String,
    pub org_number: Option<String>,
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const TOKEN_PREFIX: &str = "unntak_";

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token; returns its id and the token, which is never stored or shown again.
pub async fn create_token(pool: &PgPool, new: NewToken) -> Result<(Uuid, String), ServiceError> {
    check_new_token(pool, &new).await?;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let token_id = Uuid::new_v4();
    // A token works through its last day (UTC).
    let expires_at = new
        .expires
        .and_then(|last_day| last_day.succ_opt())
        .map(|day_after| {
            day_after
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
        });
    sqlx::query(
        "insert into api_tokens (token_id, token_hash, label, role, org_number, project, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token_id)
    .bind(token_hash(&token))
    .bind(&new.label)
    .bind(new.role.as_str())
    .bind(new.org.as_ref().map(|o| o.as_str().to_string()))
    .bind(&new.project)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok((token_id, token))
}

/// Every problem with a token about to be made: a reporter without an organisation, an
/// organisation the register does not know, an expiry already past, a label that is not
/// one clean line.
async fn check_new_token(pool: &PgPool, new: &NewToken) -> Result<(), ServiceError> {
    let mut problems = Problems::new();
    let today = chrono::Utc::now().date_naive();
    if new.role == Role::Reporter && new.org.is_none() {
        problems.add(
            "org",
            "required",
            "a reporter token needs --org: the organisation it reports for",
        );
    }
    if let Some(org) = &new.org {
        let known: bool =
            sqlx::query_scalar("select exists (select 1 from events where stream_id = $1)")
                .bind(organisation_stream(org))
                .fetch_one(pool)
                .await?;
        if !known {
            problems.add(
                "org",
                "unknown_organisation",
                format!("organisation {org} is not in the register (see `unntak migrate --organisations`)"),
            );
        }
    }
    check_project(pool, new, &mut problems).await?;
    if new.expires.is_some_and(|last_day| last_day < today) {
        problems.add(
            "expires",
            "date_in_past",
            "the last day of the token has passed",
        );
    }
    check_text(&new.label, "label", TextKind::Line, today, &mut problems);
    problems.finish(|| ()).map_err(ServiceError::Invalid)
}

/// A researcher token is bound to one approved project that has not ended; no other token
/// is bound to a project.
async fn check_project(
    pool: &PgPool,
    new: &NewToken,
    problems: &mut Problems,
) -> Result<(), ServiceError> {
    match (new.role, &new.project) {
        (Role::Researcher, None) => problems.add(
            "project",
            "required",
            "a researcher token needs --project: the approved research project it is for",
        ),
        (Role::Researcher, Some(project)) => {
            if let Some(why) = bindable_project(pool, project).await? {
                problems.add(
                    "project",
                    "unknown_project",
                    format!("research project {project}: {why} (approve it first with POST /api/v1/research-projects)"),
                );
            }
        }
        (_, Some(_)) => problems.add(
            "project",
            "not_allowed",
            "only a researcher token is bound to a research project",
        ),
        (_, None) => {}
    }
    Ok(())
}

pub async fn list_tokens(pool: &PgPool) -> Result<Vec<TokenInfo>, ServiceError> {
    let rows = sqlx::query(
        "select token_id, label, role, org_number, project, created_at, expires_at, revoked_at
           from api_tokens order by created_at",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| TokenInfo {
            token_id: row.get("token_id"),
            label: row.get("label"),
            role: row.get("role"),
            org_number: row.get("org_number"),
            project: row.get("project"),
            created_at: row.get("created_at"),
            expires_at: row.get("expires_at"),
            revoked_at: row.get("revoked_at"),
        })
        .collect())
}

/// Revokes a token; false when there is no such active token.
pub async fn revoke_token(pool: &PgPool, token_id: Uuid) -> Result<bool, ServiceError> {
    let revoked = sqlx::query(
        "update api_tokens set revoked_at = now() where token_id = $1 and revoked_at is null",
    )
    .bind(token_id)
    .execute(pool)
    .await?;
    Ok(revoked.rows_affected() == 1)
}

/// The actor a token's hash belongs to, if it is a valid, unrevoked, unexpired token.
pub async fn actor_of(pool: &PgPool, hash: &[u8]) -> Result<Option<Actor>, ServiceError> {
    let row = sqlx::query(
        "select token_id, role, org_number, project from api_tokens
          where token_hash = $1 and revoked_at is null
            and (expires_at is null or expires_at > now())",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|row| {
        let org = row
            .get::<Option<String>, _>("org_number")
            .and_then(|org| OrganisationNumber::parse(&org).ok());
        let mut actor = Actor::token(row.get("token_id"), Role::parse(row.get("role"))?, org);
        actor.project = row.get("project");
        Some(actor)
    }))
}
