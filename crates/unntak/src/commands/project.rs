//! `unntak project`: the projector on its own (it also runs inside `serve`), or a rebuild.

use std::process::ExitCode;

use anyhow::anyhow;
use projections::projector::REBUILD_BATCH_SIZE;
use projections::{Projection, Projector};

use super::{connect, prepare_database, registry_for_tools};
use crate::cli::DatabaseArgs;

pub async fn run(database: &DatabaseArgs, rebuild: Option<String>) -> anyhow::Result<ExitCode> {
    let registry = registry_for_tools(&connect(database).await?);
    prepare_database(&registry).await?;
    let projector = Projector::new(registry.store().clone());
    let Some(name) = rebuild else {
        tracing::info!("projecting; stop with Ctrl-C");
        tokio::select! {
            _ = projector.run() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return Ok(ExitCode::SUCCESS);
    };
    let chosen: Vec<Projection> = match name.as_str() {
        "all" => Projection::ALL.to_vec(),
        one => vec![Projection::parse(one)
            .ok_or_else(|| anyhow!("unknown projection {one}: cases, population or all"))?],
    };
    let rebuilder = projector.with_batch_size(REBUILD_BATCH_SIZE);
    for projection in chosen {
        let rebuilding = format!("rebuilding {} from the events", projection.name());
        let events = crate::progress::spinning(&rebuilding, rebuilder.rebuild(projection)).await?;
        println!("rebuilt {} from {events} events", projection.name());
    }
    Ok(ExitCode::SUCCESS)
}
