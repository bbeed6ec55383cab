//! Authentication: a caller sends `Authorization: Bearer <token>`; the registry keeps only
//! a sha256 of each token. A known token is looked up on every request (one indexed
//! lookup), so a revoked token stops working at once on every instance. Unknown tokens
//! are remembered for a while in a bounded cache, so that guessing costs no lookups.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use registry::tokens::{actor_of, token_hash};
use registry::Actor;
use sqlx::PgPool;
use tracing_actix_web::RequestId;

use crate::error::ApiError;

/// How long an unknown token is remembered as unknown. Tokens are random, so one that is
/// unknown now is not about to be created.
const UNKNOWN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// How many unknown tokens are remembered at most; a flood of guesses forgets the oldest.
const UNKNOWN_TOKENS_REMEMBERED: usize = 10_000;

/// Looks tokens up, remembering the unknown ones for a while.
pub struct Authenticator {
    pool: PgPool,
    unknown: Mutex<HashMap<Vec<u8>, Instant>>,
}

impl Authenticator {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            unknown: Mutex::new(HashMap::new()),
        }
    }

    pub async fn authenticate(&self, token: &str) -> Result<Actor, ApiError> {
        let hash = token_hash(token);
        if self.known_to_be_unknown(&hash) {
            return Err(ApiError::Unauthenticated);
        }
        match actor_of(&self.pool, &hash).await? {
            Some(actor) => Ok(actor),
            None => {
                self.remember_unknown(hash);
                Err(ApiError::Unauthenticated)
            }
        }
    }

    fn known_to_be_unknown(&self, hash: &[u8]) -> bool {
        let unknown = self.unknown.lock().expect("unknown-token cache lock");
        unknown
            .get(hash)
            .is_some_and(|at| at.elapsed() < UNKNOWN_TOKEN_TTL)
    }

    fn remember_unknown(&self, hash: Vec<u8>) {
        let mut unknown = self.unknown.lock().expect("unknown-token cache lock");
        if unknown.len() >= UNKNOWN_TOKENS_REMEMBERED {
            unknown.retain(|_, at| at.elapsed() < UNKNOWN_TOKEN_TTL);
        }
        if unknown.len() >= UNKNOWN_TOKENS_REMEMBERED {
            let oldest = unknown
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(h, _)| h.clone());
            unknown.remove(&oldest.expect("the cache is full, so not empty"));
        }
        unknown.insert(hash, Instant::now());
    }
}

/// The authenticated caller of a request, as the registry's `Actor`, with the request's
/// id for the audit trail.
pub struct Caller(pub Actor);

impl std::ops::Deref for Caller {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
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
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string());
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthenticated)?;
            let actor = authenticator.authenticate(&token).await?;
            Ok(Caller(match request_id {
                Some(id) => actor.with_request_id(id),
                None => actor,
            }))
        })
    }
}

pub(crate) fn bearer_token(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get("Authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}
