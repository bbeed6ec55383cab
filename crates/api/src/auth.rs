//! Authentication and roles. A caller sends `Authorization: Bearer <token>`; only a sha256
//! of each token is stored (table `api_tokens`, which this module owns).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, NaiveDate, Utc};
use domain::organisation::OrganisationNumber;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A health trust, hospital, RHF or Helfo reporting its own decisions.
    Reporter,
    /// The interregional medical directors' meeting and its secretariat.
    Reviewer,
    /// Statens helsetilsyn and the county governors.
    Supervisor,
    /// A researcher under an approved project: anonymised extracts only.
    Researcher,
    /// Operates the registry: registers, tokens, population figures.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Reviewer => "reviewer",
            Role::Supervisor => "supervisor",
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [
            Role::Reporter,
            Role::Reviewer,
            Role::Supervisor,
            Role::Researcher,
            Role::Admin,
        ]
        .into_iter()
        .find(|role| role.as_str() == text)
    }
}

/// Who is calling, as their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: Uuid,
    pub role: Role,
    /// The organisation a reporter reports for.
    pub org: Option<OrganisationNumber>,
    pub project: Option<String>,
}

impl Caller {
    /// Forbids the call unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} token may not do this",
                self.role.as_str()
            )))
        }
    }

    /// Forbids the call unless the caller reports for `org`.
    pub fn require_org(&self, org: &OrganisationNumber) -> Result<(), ApiError> {
        match &self.org {
            Some(own) if own == org => Ok(()),
            _ => Err(ApiError::Forbidden(format!(
                "this token does not report for organisation {org}"
            ))),
        }
    }
}

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

/// How long a token lookup is trusted. A revoked token stops working within this time on
/// every instance.
const CACHE_TTL: Duration = Duration::from_secs(30);

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token; returns its id and the token, which is never stored or shown again.
pub async fn create_token(pool: &PgPool, new: NewToken) -> Result<(Uuid, String), ApiError> {
    if new.role == Role::Reporter && new.org.is_none() {
        return Err(ApiError::invalid(
            "org",
            "required",
            "a reporter token needs --org",
        ));
    }
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

pub async fn list_tokens(pool: &PgPool) -> Result<Vec<TokenInfo>, ApiError> {
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
pub async fn revoke_token(pool: &PgPool, token_id: Uuid) -> Result<bool, ApiError> {
    let revoked = sqlx::query(
        "update api_tokens set revoked_at = now() where token_id = $1 and revoked_at is null",
    )
    .bind(token_id)
    .execute(pool)
    .await?;
    Ok(revoked.rows_affected() == 1)
}

/// Token hash to when it was looked up and who it belongs to (None: no valid token).
type TokenCache = HashMap<Vec<u8>, (Instant, Option<Caller>)>;

/// Looks tokens up, remembering answers for a short while.
pub struct Authenticator {
    pool: PgPool,
    cache: Mutex<TokenCache>,
}

impl Authenticator {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let hash = token_hash(token);
        if let Some(cached) = self.cached(&hash) {
            return cached.ok_or(ApiError::Unauthenticated);
        }
        let caller = self.look_up(&hash).await?;
        let mut cache = self.cache.lock().expect("token cache lock");
        cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        cache.insert(hash, (Instant::now(), caller.clone()));
        caller.ok_or(ApiError::Unauthenticated)
    }

    fn cached(&self, hash: &[u8]) -> Option<Option<Caller>> {
        let cache = self.cache.lock().expect("token cache lock");
        cache
            .get(hash)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, caller)| caller.clone())
    }

    async fn look_up(&self, hash: &[u8]) -> Result<Option<Caller>, ApiError> {
        let row = sqlx::query(
            "select token_id, role, org_number, project from api_tokens
              where token_hash = $1 and revoked_at is null
                and (expires_at is null or expires_at > now())",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| {
            Some(Caller {
                token_id: row.get("token_id"),
                role: Role::parse(row.get("role"))?,
                org: row
                    .get::<Option<String>, _>("org_number")
                    .and_then(|org| OrganisationNumber::parse(&org).ok()),
                project: row.get("project"),
            })
        }))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let authenticator = request
            .app_data::<web::Data<Authenticator>>()
            .expect("the Authenticator is registered as app data")
            .clone();
        let token = bearer_token(request);
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthenticated)?;
            authenticator.authenticate(&token).await
        })
    }
}

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get("Authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}
