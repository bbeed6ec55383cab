//! The `unntak` command as an operator runs it, against a real database.

use std::process::{Command, Output};

use harness::TestDatabase;
use serde_json::json;
use sqlx::Executor;
use store::{EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

fn unntak(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run unntak")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A sealing key pair made by `unntak seal --generate-key`, in a directory of its own:
/// (private key file, public key file).
fn generate_key(db: &TestDatabase) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("unntak-keys-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let private = dir.join("seal.pem");
    let generated = unntak(db, &["seal", "--generate-key", private.to_str().unwrap()]);
    assert!(generated.status.success(), "{generated:?}");
    assert!(stdout(&generated).contains("BEGIN PUBLIC KEY"));
    (private, dir.join("seal.pem.pub"))
}

async fn append_numbered(store: &EventStore, count: i64) -> Vec<(i64, Uuid)> {
    let mut appended = Vec::new();
    let mut last = None;
    for n in 0..count {
        let event = NewEvent {
            event_id: Uuid::new_v4(),
            event_type: "Numbered".into(),
            schema_version: 1,
            payload: json!({ "n": n }),
            metadata: json!({}),
        };
        let id = event.event_id;
        let result = store
            .append("cli", ExpectedVersion::Any, &[event])
            .await
            .unwrap();
        appended.push((result.positions[0], id));
        last = Some(result.checkpoint);
    }
    let timeout = std::time::Duration::from_secs(30);
    let final_ = store.wait_until_final(last.unwrap(), timeout).await;
    assert!(final_.unwrap(), "the horizon passed our writes within 30 s");
    appended
}

#[tokio::test]
async fn verify_passes_on_a_clean_store_and_names_the_altered_event_with_exit_code_1() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let positions: Vec<i64> = append_numbered(&store, 3)
        .await
        .into_iter()
        .map(|(position, _)| position)
        .collect();
    let (private, _) = generate_key(&db);
    let seal = unntak(&db, &["seal", "--signing-key", private.to_str().unwrap()]);
    assert!(seal.status.success(), "{seal:?}");

    let clean = unntak(&db, &["verify"]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(
        stdout(&clean).contains("verified: 3 events"),
        "{}",
        stdout(&clean)
    );

    let altered = positions[1];
    let mut connection = db.pool.acquire().await.unwrap();
    connection
        .execute("alter table events disable trigger events_immutable")
        .await
        .unwrap();
    connection
        .execute(
            format!("update events set payload = '{{\"n\": 7}}' where position = {altered}")
                .as_str(),
        )
        .await
        .unwrap();
    connection
        .execute("alter table events enable trigger events_immutable")
        .await
        .unwrap();

    let tampered = unntak(&db, &["verify"]);
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
    let said = stdout(&tampered);
    assert!(
        said.contains(&format!("event at position {altered}")),
        "{said}"
    );
}

#[tokio::test]
async fn token_create_prints_the_token_alone_and_stores_only_its_hash() {
    let db = TestDatabase::new().await;
    // A reporter token is made only for an organisation in the register, which migrate seeds.
    let migrated = unntak(&db, &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let refused = unntak(
        &db,
        &[
            "token",
            "create",
            "--role",
            "reporter",
            "--org",
            "999999999",
            "--label",
            "x",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("org: organisation 999999999 is not in the register"),
        "{said}"
    );
    let created = unntak(
        &db,
        &[
            "token",
            "create",
            "--role",
            "reporter",
            "--org",
            "993467049",
            "--label",
            "OUS case system",
        ],
    );
    assert!(created.status.success(), "{created:?}");
    let token = stdout(&created).trim().to_string();
    assert!(
        token.starts_with("unntak_") && !token.contains(char::is_whitespace),
        "{token}"
    );
    let stored: i64 =
        sqlx::query_scalar("select count(*) from api_tokens where token_hash = sha256($1::bytea)")
            .bind(token.as_bytes())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 1);
    let listed = stdout(&unntak(&db, &["token", "list"]));
    assert!(
        listed.contains("OUS case system") && !listed.contains(&token),
        "{listed}"
    );

    let reporter_without_org = unntak(
        &db,
        &["token", "create", "--role", "reporter", "--label", "x"],
    );
    assert!(!reporter_without_org.status.success());
}

#[tokio::test]
async fn serve_runs_the_projector_beside_the_api() {
    let db = TestDatabase::new().await;
    let (private, _) = generate_key(&db);
    let mut server = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_SEAL_SIGNING_KEY_FILE", &private)
        .env("UNNTAK_BIND", "127.0.0.1:0")
        .env(
            "UNNTAK_PSEUDONYM_KEY",
            "a-test-key-of-at-least-thirty-two-bytes",
        )
        .env("UNNTAK_LOG", "warn")
        .spawn()
        .expect("start unntak serve");
    // Serve seeds the organisation register (32 organisations); the projector must pick
    // every one of those events up.
    let seeded = 32;
    let mut projected = 0i64;
    for _ in 0..300 {
        projected = sqlx::query_scalar("select count(*) from projected_organisations")
            .fetch_one(&db.pool)
            .await
            .unwrap_or(0);
        if projected >= seeded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The sealer seals within a second or so of the events becoming final.
    let mut sealed = 0i64;
    for _ in 0..50 {
        sealed = sqlx::query_scalar("select coalesce(max(tree_size), 0) from tree_checkpoints")
            .fetch_one(&db.pool)
            .await
            .unwrap_or(0);
        if sealed >= seeded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.kill().expect("stop the server");
    server.wait().expect("reap the server");
    assert!(
        projected >= 30,
        "the organisation register reached the read models: {projected}"
    );
    assert!(sealed >= seeded, "the sealer sealed the register: {sealed}");
}

#[tokio::test]
async fn seal_exports_the_checkpoint_that_verify_checks_and_prove_proves_against() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let events = append_numbered(&store, 5).await;
    let (private, public) = generate_key(&db);
    let (private, public) = (private.to_str().unwrap(), public.to_str().unwrap());
    let kept = private.replace("seal.pem", "checkpoint.txt");
    let seal = unntak(
        &db,
        &["seal", "--signing-key", private, "--checkpoint-out", &kept],
    );
    assert!(seal.status.success(), "{seal:?}");
    let note = std::fs::read_to_string(&kept).unwrap();
    assert!(note.starts_with("unntak/event-store\n5\n"), "{note}");
    assert!(stdout(&seal).contains(&note), "seal prints the checkpoint");

    let verify = |db: &TestDatabase| {
        unntak(
            db,
            &["verify", "--checkpoint", &kept, "--public-key", public],
        )
    };
    let clean = verify(&db);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(
        stdout(&clean).contains("signed checkpoints"),
        "{}",
        stdout(&clean)
    );

    let (_, third) = events[2];
    let proven = unntak(&db, &["prove", &third.to_string(), "--public-key", public]);
    assert_eq!(proven.status.code(), Some(0), "{proven:?}");
    let said = stdout(&proven);
    assert!(
        said.contains("leaf index 2") && said.contains("tree size 5"),
        "{said}"
    );
    assert!(said.contains("proven:"), "{said}");
    let unknown = Uuid::new_v4().to_string();
    let refused = unntak(&db, &["prove", &unknown, "--public-key", public]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");

    let (last_position, _) = events[4];
    let mut connection = db.pool.acquire().await.unwrap();
    for statement in [
        "alter table events disable trigger events_immutable".to_string(),
        format!("delete from events where position = {last_position}"),
        "alter table events enable trigger events_immutable".to_string(),
    ] {
        connection.execute(statement.as_str()).await.unwrap();
    }
    let tampered = verify(&db);
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
    let said = stdout(&tampered);
    assert!(
        said.contains(&format!("position {last_position}")),
        "{said}"
    );
}

#[tokio::test]
async fn migrate_names_a_malformed_organisation_row_and_its_reason() {
    let db = TestDatabase::new().await;
    let file = std::env::temp_dir().join(format!("organisations-{}.csv", Uuid::new_v4()));
    std::fs::write(
        &file,
        "org_number,name,kind,region_org_number,region\n\
         983658725,Helse Vest RHF,rhf,983658725,Helse Vest\n\
         983974724,Helse Bergen HF,sykehus,983658725,Helse Vest\n",
    )
    .unwrap();

    let migrated = unntak(&db, &["migrate", "--organisations", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();

    assert_eq!(migrated.status.code(), Some(2), "{migrated:?}");
    let said = String::from_utf8_lossy(&migrated.stderr);
    assert!(said.contains("line 3"), "{said}");
    assert!(said.contains("983974724"), "{said}");
    assert!(said.contains("sykehus"), "{said}");
    assert!(!said.contains("internal error"), "{said}");
}

/// Runs `unntak` with DATABASE_URL set to `url`, timing it.
fn unntak_at(url: &str, args: &[&str]) -> (Output, std::time::Duration) {
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run unntak");
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_database_port_with_nothing_listening_is_named_at_once_with_the_fix() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (output, took) = unntak_at(
        &format!("postgres://postgres@127.0.0.1:{port}/x"),
        &["migrate"],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = stderr(&output);
    assert!(
        said.contains(&format!("nothing answers at 127.0.0.1:{port}")),
        "{said}"
    );
    assert!(
        said.contains("is PostgreSQL running") && said.contains("DATABASE_URL"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "said once: {said}");
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn an_unknown_database_and_an_unmigrated_one_say_what_to_do() {
    let db = TestDatabase::new().await;
    let missing = db
        .url()
        .replace(db.name(), &format!("{}_missing", db.name()));
    let (output, _) = unntak_at(&missing, &["migrate"]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        said.contains("has no database") && said.contains("createdb"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "said once: {said}");

    let bare = format!("{}_bare", db.name());
    db.pool
        .execute(format!("create database {bare}").as_str())
        .await
        .unwrap();
    let (output, _) = unntak_at(&db.url().replace(db.name(), &bare), &["token", "list"]);
    db.pool
        .execute(format!("drop database {bare}").as_str())
        .await
        .unwrap();
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(said.contains("run `unntak migrate`"), "{said}");
}

#[tokio::test]
async fn the_demo_checks_its_port_before_it_touches_the_database() {
    let db = TestDatabase::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let demo_database = format!("{}_demo", db.name());
    let output = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(["demo", "--database-name", &demo_database])
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_BIND", &address)
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run unntak demo");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = stderr(&output);
    assert!(
        said.contains(&format!("cannot listen on {address}")),
        "{said}"
    );
    assert!(said.contains("UNNTAK_BIND"), "{said}");
    let created: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
        .bind(&demo_database)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(created, 0, "no demo database was made");
}
