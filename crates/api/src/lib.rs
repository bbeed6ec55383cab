//! The HTTP API (actix-web): health trusts, hospitals, RHFs and Helfo report decisions;
//! admins keep the registers; operators probe health and metrics.
//!
//! Handlers parse, authorise and call the store or the domain; SQL lives with the data it
//! owns (the store crate for events, `auth` for tokens).

pub mod auth;
mod body;
pub mod detection;
pub mod error;
mod ingest;
pub mod metrics;
pub mod openapi;
pub mod registers;
mod routes;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use domain::pseudonym::PseudonymKey;
use sqlx::PgPool;
use store::EventStore;
use tracing_actix_web::TracingLogger;

pub use ingest::{appeal_id_for, report_event_ids};

/// Settings of the API, from the command line or `UNNTAK_*` environment variables.
pub struct ApiConfig {
    /// The key of the patient pseudonyms: from configuration, never from the database.
    pub pseudonym_key: PseudonymKey,
    /// Whether synthetic test identity numbers are accepted (test environments only).
    pub accept_synthetic_identity_numbers: bool,
    /// The largest single report body, in bytes.
    pub max_report_bytes: usize,
    /// The largest batch body, in bytes.
    pub max_batch_bytes: usize,
    /// The most decisions in one batch.
    pub max_batch_rows: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// /readyz reports unready while a projection lags more events than this behind.
    pub max_projection_lag: i64,
}

impl ApiConfig {
    pub fn new(pseudonym_key: PseudonymKey) -> Self {
        Self {
            pseudonym_key,
            accept_synthetic_identity_numbers: false,
            max_report_bytes: 64 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
            max_batch_rows: 5_000,
            shutdown_timeout_seconds: 30,
            max_projection_lag: 10_000,
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub store: EventStore,
    pub pool: PgPool,
    pub config: ApiConfig,
    pub registers: registers::Registers,
    pub metrics: metrics::Metrics,
}

/// Builds the server on `listener` (port 0 in tests). Migrations must already be applied.
pub fn build(config: ApiConfig, pool: PgPool, listener: TcpListener) -> std::io::Result<Server> {
    let store = EventStore::new(pool.clone());
    let shutdown_timeout = config.shutdown_timeout_seconds;
    let state = web::Data::new(AppState {
        registers: registers::Registers::new(store.clone()),
        store,
        pool: pool.clone(),
        config,
        metrics: metrics::Metrics::new(),
    });
    let authenticator = web::Data::new(auth::Authenticator::new(pool));
    let server = HttpServer::new(move || {
        App::new()
            .wrap(metrics::RecordMetrics(state.metrics.clone()))
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .app_data(authenticator.clone())
            .configure(routes::configure)
    })
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)?
    .run();
    Ok(server)
}
