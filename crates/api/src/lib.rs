//! The HTTP API (actix-web): health trusts, hospitals, RHFs and Helfo report decisions;
//! admins keep the registers; reviewers and supervisors read statistics and signals;
//! operators probe health and metrics.
//!
//! Adapters only: a handler reads the request (path, query, body within its size limit,
//! the caller's token), calls the `registry` service, and renders the answer or the
//! problem. Rules, SQL and register lookups live in `registry`.

mod api_docs;
pub mod auth;
pub mod body;
pub mod error;
pub mod metrics;
pub mod openapi;
mod pages;
pub mod query;
mod render;
mod request_span;
mod routes;
mod security_headers;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use registry::Registry;
use tracing_actix_web::TracingLogger;

/// The HTTP layer's operating limits, from the command line or `UNNTAK_*` variables.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The largest single report body, in bytes.
    pub max_report_bytes: usize,
    /// The largest batch body, in bytes.
    pub max_batch_bytes: usize,
    /// The most decisions in one batch.
    pub max_batch_rows: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// Seconds a stopping process keeps serving (not ready) before it stops accepting.
    pub drain_delay_seconds: u64,
    /// /readyz reports unready while a projection lags more events than this behind.
    pub max_projection_lag: i64,
    /// The sha256 of the token a metrics scraper sends for /metrics, if one is set
    /// (`UNNTAK_METRICS_TOKEN`); without it, /metrics needs an admin token.
    pub metrics_token_hash: Option<Vec<u8>>,
    pub rate_limits: auth::RateLimits,
    /// How long a client may take to send a request body, in seconds.
    pub body_timeout_seconds: u64,
}

impl ApiConfig {
    /// The limits of a single report's or a register change's body.
    pub fn report_body(&self) -> body::BodyLimit {
        body::BodyLimit {
            max_bytes: self.max_report_bytes,
            timeout: std::time::Duration::from_secs(self.body_timeout_seconds),
        }
    }

    /// The limits of a batch's body.
    pub fn batch_body(&self) -> body::BodyLimit {
        body::BodyLimit {
            max_bytes: self.max_batch_bytes,
            timeout: std::time::Duration::from_secs(self.body_timeout_seconds),
        }
    }

    /// Whether `token` is the metrics token. Hashes are compared, so the comparison's
    /// time says nothing about the token.
    pub fn is_metrics_token(&self, token: Option<&str>) -> bool {
        match (&self.metrics_token_hash, token) {
            (Some(expected), Some(token)) => registry::tokens::token_hash(token) == *expected,
            _ => false,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_report_bytes: 64 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
            max_batch_rows: 5_000,
            shutdown_timeout_seconds: 30,
            drain_delay_seconds: 0,
            max_projection_lag: 10_000,
            metrics_token_hash: None,
            rate_limits: auth::RateLimits::default(),
            body_timeout_seconds: 30,
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub registry: Registry,
    pub config: ApiConfig,
    pub metrics: metrics::Metrics,
}

/// Builds the server on `listener` (port 0 in tests) over the process's one `registry`,
/// whose event store the projector shares, so an append here wakes it in process.
/// Migrations must already be applied.
pub fn build(
    registry: Registry,
    config: ApiConfig,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let shutdown_timeout = config.shutdown_timeout_seconds;
    let authenticator = web::Data::new(auth::Authenticator::new(
        registry.pool().clone(),
        config.rate_limits,
    ));
    let state = web::Data::new(AppState {
        registry,
        config,
        metrics: metrics::Metrics::new(),
    });
    // Cookies go only over HTTPS, unless the server is bound to loopback (a demo, a test).
    let cookies = pages::CookiePolicy {
        secure: !listener.local_addr()?.ip().is_loopback(),
    };
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(security_headers::add))
            .wrap(metrics::RecordMetrics(state.metrics.clone()))
            .wrap(TracingLogger::<request_span::RouteOnlySpan>::new())
            .app_data(state.clone())
            .app_data(authenticator.clone())
            .configure(|config| pages::configure(config, cookies))
            .configure(routes::configure)
    })
    .shutdown_timeout(shutdown_timeout)
    // The caller decides when to stop (`unntak serve` drains first, see its SIGTERM
    // handling); actix's own signal handling would stop at once.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
