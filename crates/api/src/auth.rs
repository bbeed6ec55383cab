//! Authentication: a caller sends `Authorization: Bearer <token>`; the registry keeps only
//! a sha256 of each token. Lookups are cached briefly.

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

/// How long a token lookup is trusted. A revoked token stops working within this time on
/// every instance.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Token hash to when it was looked up and whose it is (None: no valid token).
type TokenCache = HashMap<Vec<u8>, (Instant, Option<Actor>)>;

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

    pub async fn authenticate(&self, token: &str) -> Result<Actor, ApiError> {
        let hash = token_hash(token);
        if let Some(cached) = self.cached(&hash) {
            return cached.ok_or(ApiError::Unauthenticated);
        }
        let actor = actor_of(&self.pool, &hash).await?;
        let mut cache = self.cache.lock().expect("token cache lock");
        cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        cache.insert(hash, (Instant::now(), actor.clone()));
        actor.ok_or(ApiError::Unauthenticated)
    }

    fn cached(&self, hash: &[u8]) -> Option<Option<Actor>> {
        let cache = self.cache.lock().expect("token cache lock");
        cache
            .get(hash)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, actor)| actor.clone())
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

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get("Authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}
