//! `unntak serve`: migrate, then serve the API until SIGTERM, with the projector and the
//! sealer running in the background, all over one event store.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use api::ApiConfig;
use domain::pseudonym::PseudonymKey;
use registry::{Registry, RegistrySettings};
use secrecy::ExposeSecret;
use store::EventStore;

use super::store_admin::read_signing_key;
use super::{connect_waiting, prepare_database};
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let key = PseudonymKey::new(
        &args.pseudonym_key_id,
        args.pseudonym_key.expose_secret().as_bytes(),
    )
    .map_err(|e| anyhow!("UNNTAK_PSEUDONYM_KEY: {e}"))?;
    let acquire_timeout = Duration::from_secs(args.limits.database_acquire_timeout);
    let pool = connect_waiting(&args.database, args.limits.pool_size, acquire_timeout).await?;
    let mut settings = RegistrySettings::new(key);
    settings.accept_synthetic_identity_numbers = args.accept_synthetic_ids;
    let registry = Registry::new(EventStore::new(pool), settings);
    prepare_database(&registry).await?;
    let listener =
        TcpListener::bind(&args.bind).with_context(|| format!("binding {}", args.bind))?;
    let sealer = Sealer {
        key: read_signing_key(&args.seal_signing_key_file)?,
        interval: Duration::from_secs(args.seal_interval),
    };
    serve(registry, args.limits.api_config(), listener, sealer).await?;
    Ok(ExitCode::SUCCESS)
}

/// Serves until SIGTERM or SIGINT, then lets in-flight requests finish. The API, the
/// projector and the sealer share the registry's one event store, so an append through the
/// API wakes the projector in this process at once.
pub async fn serve(
    registry: Registry,
    config: ApiConfig,
    listener: TcpListener,
    sealer: Sealer,
) -> anyhow::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "serving");
    let store = registry.store().clone();
    tokio::spawn({
        let store = store.clone();
        async move {
            if let Err(error) = store.run_sealer(sealer.key, sealer.interval).await {
                tracing::error!(%error, "the sealer stopped: events are no longer sealed");
            }
        }
    });
    let projector = projections::Projector::new(store);
    tokio::spawn(async move { projector.run().await });
    let drain_delay = Duration::from_secs(config.drain_delay_seconds);
    let server = api::build(registry.clone(), config, listener)?;
    let handle = server.handle();
    let running = tokio::spawn(server);
    stop_requested().await;
    drain(&registry, drain_delay, handle).await;
    running.await??;
    // Every answer is sent; only now may the runtime (and the pool's connections) go.
    registry.pool().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT.
async fn stop_requested() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: draining"),
    }
}

/// Stops without dropping a request: /readyz says not ready at once, so load balancers
/// send new work elsewhere, while requests keep being served for `delay`; then the server
/// stops accepting and waits (up to its shutdown timeout) for every request in flight.
async fn drain(registry: &Registry, delay: Duration, handle: actix_web::dev::ServerHandle) {
    registry.start_draining();
    tokio::time::sleep(delay).await;
    handle.stop(true).await;
}

/// The sealer of a serving process: its signing key, and how often it seals at most.
pub struct Sealer {
    pub key: store::SealingKey,
    pub interval: Duration,
}
