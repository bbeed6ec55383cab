//! Test harness: every test gets a fresh database of its own, created from a template that
//! already has the migrations, and dropped when the test ends.
//!
//! The template, `unntak_template_<digest of the migrations>`, outlives the test process so
//! the next run need not migrate again; `scripts/test.sh` drops it when the run is over
//! and no other run is under way (`scripts/lib/drop-test-template.sh`). A template of older
//! migrations is dropped by the next run that builds a new one.
//!
//! The server is the one `DATABASE_URL` names (scripts/with-postgres.sh sets it).
//! `app::spawn_app()` adds the API server on top of such a database.

pub mod app;

use sha2::{Digest, Sha256};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

/// A database that lives as long as this value.
pub struct TestDatabase {
    pub pool: PgPool,
    /// How to connect to this database, e.g. for a second pool or a child process.
    pub options: PgConnectOptions,
    name: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let name = format!("unntak_test_{}", Uuid::new_v4().simple());
        let mut admin = server_options("postgres")
            .connect()
            .await
            .expect("connect to the PostgreSQL server named by DATABASE_URL");
        // Under the template lock, so a clean-up that drops the template (which takes the
        // same lock) never drops it between the check and the copy.
        lock_templates(&mut admin).await;
        let template = ensure_template(&mut admin).await;
        admin
            .execute(format!(r#"create database "{name}" template "{template}""#).as_str())
            .await
            .expect("create the test database from the template");
        unlock_templates(&mut admin).await;
        let options = server_options(&name);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(40)
            .connect_with(options.clone())
            .await
            .expect("connect to the test database");
        TestDatabase {
            pool,
            options,
            name,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database, for a child process: DATABASE_URL with its database
    /// name replaced.
    pub fn url(&self) -> String {
        database_url(&self.name)
    }
}

/// DATABASE_URL with its database name replaced by `name`.
pub fn database_url(name: &str) -> String {
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL is set");
    let (address, query) = match server.split_once('?') {
        Some((address, query)) => (address, format!("?{query}")),
        None => (server.as_str(), String::new()),
    };
    let after_scheme = address.find("://").map_or(0, |at| at + 3);
    let host_end = address[after_scheme..]
        .find('/')
        .map_or(address.len(), |at| after_scheme + at);
    format!("{}/{name}{query}", &address[..host_end])
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database(&self.name);
    }
}

/// Drops the database `name` on the server, forcing its connections closed; says so on
/// stderr when it cannot. Callable from a `Drop` inside an async test.
pub fn drop_database(name: &str) {
    let statement = format!(r#"drop database if exists "{name}" with (force)"#);
    // Drop may run inside an async test; dropping needs a runtime of its own.
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to drop the test database");
        runtime.block_on(async move {
            let mut admin = server_options("postgres").connect().await?;
            admin.execute(statement.as_str()).await.map(|_| ())
        })
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("could not drop test database {name}");
    }
}

/// The server named by `DATABASE_URL`, connected to `database`.
pub fn server_options(database: &str) -> PgConnectOptions {
    let url = std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: run the tests through scripts/test.sh, which finds or starts PostgreSQL",
    );
    PgConnectOptions::from_str(&url)
        .expect("DATABASE_URL is a PostgreSQL URL")
        .database(database)
}

/// The advisory lock every test process takes to build or copy the template, and
/// `scripts/lib/drop-test-template.sh` takes to drop it: "unntak" in ASCII.
const TEMPLATE_LOCK: i64 = 0x756e_6e74_616b;

async fn lock_templates(admin: &mut PgConnection) {
    sqlx::query("select pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(admin)
        .await
        .expect("take the template lock");
}

async fn unlock_templates(admin: &mut PgConnection) {
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(admin)
        .await
        .expect("release the template lock");
}

/// Creates the template database for the current migrations once per server, safely
/// across test processes running at the same time (the caller holds the template lock).
async fn ensure_template(admin: &mut PgConnection) -> String {
    let mut fingerprint = Sha256::new();
    for migration in store::MIGRATOR.iter() {
        fingerprint.update(migration.version.to_be_bytes());
        fingerprint.update(&migration.checksum);
    }
    let template = format!(
        "unntak_template_{}",
        &hex::encode(fingerprint.finalize())[..16]
    );
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&template)
            .fetch_one(&mut *admin)
            .await
            .expect("look up the template");
    if !exists {
        build_template(admin, &template).await;
    }
    template
}

/// Builds under a temporary name and renames at the end, so a crash never leaves a
/// half-migrated template behind.
async fn build_template(admin: &mut PgConnection, template: &str) {
    let building = format!("{template}_building");
    for statement in [
        format!(r#"drop database if exists "{building}" with (force)"#),
        format!(r#"create database "{building}""#),
    ] {
        admin
            .execute(statement.as_str())
            .await
            .expect("prepare the template");
    }
    let mut connection = server_options(&building)
        .connect()
        .await
        .expect("connect to the template");
    store::MIGRATOR
        .run(&mut connection)
        .await
        .expect("migrate the template");
    connection
        .close()
        .await
        .expect("close the template connection");
    admin
        .execute(format!(r#"alter database "{building}" rename to "{template}""#).as_str())
        .await
        .expect("publish the template");
    drop_stale_templates(admin, template).await;
}

/// Templates of earlier migrations are of no further use: drop them, so test runs leave
/// nothing behind across migration changes either.
async fn drop_stale_templates(admin: &mut PgConnection, current: &str) {
    let stale: Vec<String> = sqlx::query_scalar(
        "select datname from pg_database
          where datname like 'unntak\\_template\\_%' and datname <> $1
            and datname not like '%\\_building'",
    )
    .bind(current)
    .fetch_all(&mut *admin)
    .await
    .expect("list the templates");
    for name in stale {
        let dropped = admin
            .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
            .await;
        if dropped.is_err() {
            eprintln!("could not drop the stale template {name}");
        }
    }
}
