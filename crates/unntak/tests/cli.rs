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

#[tokio::test]
async fn verify_passes_on_a_clean_store_and_names_the_altered_event_with_exit_code_1() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut positions = Vec::new();
    for n in 0..3 {
        let event = NewEvent {
            event_id: Uuid::new_v4(),
            event_type: "Numbered".into(),
            schema_version: 1,
            payload: json!({ "n": n }),
            metadata: json!({}),
        };
        let appended = store
            .append("cli", ExpectedVersion::Any, &[event])
            .await
            .unwrap();
        positions.push(appended.positions[0]);
    }
    let seal = unntak(&db, &["seal"]);
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
    let mut server = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
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
    server.kill().expect("stop the server");
    server.wait().expect("reap the server");
    assert!(
        projected >= 30,
        "the organisation register reached the read models: {projected}"
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
