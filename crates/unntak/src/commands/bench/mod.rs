//! `unntak bench`: measurements whose figures go into docs/benchmarks.md. Each compares
//! against a baseline measured in the same run on the same server.

mod database;
pub mod extracts;
pub mod ingest;
pub mod projections;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events per second when `clients` tasks repeat `operation` (each writing `batch` events)
/// for `duration`.
pub async fn rate<F, Fut>(
    clients: usize,
    duration: Duration,
    batch: usize,
    operation: F,
) -> anyhow::Result<f64>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let operation = Arc::new(operation);
    let progress = crate::progress::timed(duration, &format!("measuring, {clients} clients"));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let operation = operation.clone();
        tasks.push(tokio::spawn(async move {
            let mut operations = 0u64;
            while Instant::now() < deadline {
                operation().await?;
                operations += 1;
            }
            anyhow::Ok(operations)
        }));
    }
    let mut operations = 0;
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(done)) => operations += done,
            Ok(Err(error)) => failure = failure.or(Some(error)),
            Err(error) => failure = failure.or(Some(error.into())),
        }
    }
    progress.finish_and_clear();
    if let Some(error) = failure {
        return Err(error);
    }
    Ok((operations * batch as u64) as f64 / started.elapsed().as_secs_f64())
}
