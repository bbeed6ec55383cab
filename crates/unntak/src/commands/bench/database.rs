//! A throwaway database for one benchmark run, on the server DATABASE_URL names.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};

/// A throwaway database with the migrations and the baseline table.
pub struct BenchDatabase {
    pub pool: PgPool,
    /// The registry over the benchmark's one event store.
    pub registry: registry::Registry,
    server: PgConnectOptions,
    name: String,
}

impl BenchDatabase {
    pub async fn create(url: &str) -> anyhow::Result<Self> {
        let server = PgConnectOptions::from_str(url)?;
        let name = format!("unntak_bench_{}", std::process::id());
        let mut admin = server.clone().connect().await?;
        admin
            .execute(format!(r#"drop database if exists "{name}""#).as_str())
            .await?;
        admin
            .execute(format!(r#"create database "{name}""#).as_str())
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(40)
            .connect_with(server.clone().database(&name))
            .await?;
        let registry = crate::commands::registry_for_tools(&pool);
        crate::commands::prepare_database(&registry).await?;
        Ok(BenchDatabase {
            pool,
            registry,
            server,
            name,
        })
    }

    /// A database an earlier run kept, as it is.
    pub async fn existing(url: &str, name: &str) -> anyhow::Result<Self> {
        let server = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(40)
            .connect_with(server.clone().database(name))
            .await?;
        let registry = crate::commands::registry_for_tools(&pool);
        crate::commands::prepare_database(&registry).await?;
        Ok(BenchDatabase {
            pool,
            registry,
            server,
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        self.pool.close().await;
        let mut admin = self.server.connect().await?;
        admin
            .execute(format!(r#"drop database "{}" with (force)"#, self.name).as_str())
            .await?;
        Ok(())
    }
}
