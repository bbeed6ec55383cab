//! Authentication: a caller sends `Authorization: Bearer <token>`; the registry keeps only
//! a sha256 of each token. A known token is looked up on every request (one indexed
//! lookup), so a revoked token stops working at once on every instance. Unknown tokens
//! are remembered for a while in a bounded cache, so that guessing costs no lookups.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

/// How fast callers may go: requests per second per token and per client address, and
/// failed authentications per minute per address (after which the address waits, so
/// that guessing tokens is slow and costs the database nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_token_per_second: u32,
    pub per_address_per_second: u32,
    pub failed_authentications_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_token_per_second: 1_000,
            per_address_per_second: 2_000,
            failed_authentications_per_minute: 30,
        }
    }
}

/// Keys the limiters forget once their quota is full again, checked this often.
const FORGET_EVERY_CHECKS: u64 = 10_000;

struct Limiters {
    per_token: DefaultKeyedRateLimiter<Vec<u8>>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    failed_authentications: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses that failed too often, and until when they are refused.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    checks: AtomicU64,
}

impl Limiters {
    fn new(limits: RateLimits) -> Self {
        let per_second =
            |n: u32| Quota::per_second(nonzero(n)).allow_burst(nonzero(n.saturating_mul(2)));
        Limiters {
            per_token: RateLimiter::keyed(per_second(limits.per_token_per_second)),
            per_address: RateLimiter::keyed(per_second(limits.per_address_per_second)),
            failed_authentications: RateLimiter::keyed(
                Quota::per_minute(nonzero(limits.failed_authentications_per_minute))
                    .allow_burst(nonzero(limits.failed_authentications_per_minute)),
            ),
            blocked: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }

    fn forget_now_and_then(&self) {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(FORGET_EVERY_CHECKS)
        {
            self.per_token.retain_recent();
            self.per_address.retain_recent();
            self.failed_authentications.retain_recent();
            let mut blocked = self.blocked.lock().expect("blocked-address lock");
            blocked.retain(|_, until| *until > Instant::now());
        }
    }

    /// Refuses an address that failed to authenticate too often, for as long as it must wait.
    fn check_not_blocked(&self, address: IpAddr) -> Result<(), ApiError> {
        let blocked = self.blocked.lock().expect("blocked-address lock");
        match blocked.get(&address) {
            Some(until) if *until > Instant::now() => Err(too_many(*until - Instant::now())),
            _ => Ok(()),
        }
    }

    fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        self.forget_now_and_then();
        self.check_not_blocked(address)?;
        self.per_address
            .check_key(&address)
            .map_err(|wait| too_many(wait.wait_time_from(DefaultClock::default().now())))
    }

    fn check_token(&self, hash: &[u8]) -> Result<(), ApiError> {
        self.per_token
            .check_key(&hash.to_vec())
            .map_err(|wait| too_many(wait.wait_time_from(DefaultClock::default().now())))
    }

    /// Counts a failed authentication; past the quota, the address is blocked until the
    /// quota refills, and this failure is already answered 429.
    fn count_failure(&self, address: IpAddr) -> Result<(), ApiError> {
        let Err(wait) = self.failed_authentications.check_key(&address) else {
            return Ok(());
        };
        let wait = wait.wait_time_from(DefaultClock::default().now());
        let until = Instant::now() + wait;
        self.blocked
            .lock()
            .expect("blocked-address lock")
            .insert(address, until);
        Err(too_many(wait))
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

fn too_many(wait: Duration) -> ApiError {
    ApiError::TooManyRequests(wait.as_secs().max(1))
}

/// Looks tokens up, remembering the unknown ones for a while, and limits how fast each
/// token and each address may go.
pub struct Authenticator {
    pool: PgPool,
    unknown: Mutex<HashMap<Vec<u8>, Instant>>,
    limiters: Limiters,
}

impl Authenticator {
    pub fn new(pool: PgPool, limits: RateLimits) -> Self {
        Self {
            pool,
            unknown: Mutex::new(HashMap::new()),
            limiters: Limiters::new(limits),
        }
    }

    /// The actor of `token`, sent from `address`: 429 when the address or the token goes
    /// too fast, or the address has failed too often; 401 for an unknown token.
    pub async fn authenticate(
        &self,
        token: &str,
        address: Option<IpAddr>,
    ) -> Result<Actor, ApiError> {
        if let Some(address) = address {
            self.limiters.check_address(address)?;
        }
        let hash = token_hash(token);
        let actor = match self.known_to_be_unknown(&hash) {
            true => None,
            false => actor_of(&self.pool, &hash).await?,
        };
        let Some(actor) = actor else {
            self.remember_unknown(hash);
            if let Some(address) = address {
                self.limiters.count_failure(address)?;
            }
            return Err(ApiError::Unauthenticated);
        };
        self.limiters.check_token(&hash)?;
        Ok(actor)
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
        let address = request.peer_addr().map(|peer| peer.ip());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string());
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthenticated)?;
            let actor = authenticator.authenticate(&token, address).await?;
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
