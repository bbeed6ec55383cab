//! Tamper evidence against an intruder who owns the database (issue 12, finding 7): every
//! way of rewriting history the review found is found by `verify` against a checkpoint
//! kept outside the database, naming the event or the range, and the CLI exits with 1
//! (crates/unntak/tests/cli.rs).
//!
//! The sealer of a serving process seals within a second of an append becoming final
//! (`sealing.rs` proves it), so every tamper below happens after the events were sealed.

use sqlx::{Executor, Row};
use store::hash::{chain_hash, content_digest, event_hash, HashInput};
use store::{EventStore, ExpectedVersion, Trust, VerifyFailure, VerifyReport};
use uuid::Uuid;

use super::{numbered, sealing_key, tamper, TestDatabase};

/// Three streams of three events, a, b, c, sealed after each stream: checkpoints of tree
/// sizes 3, 6 and 9. Returns the store and the last checkpoint's note, kept outside.
async fn sealed_store(db: &TestDatabase) -> (EventStore, String) {
    let store = EventStore::new(db.pool.clone());
    let mut kept = String::new();
    for stream in ["a", "b", "c"] {
        let mut last = None;
        for n in 1..=3 {
            let appended = store
                .append(stream, ExpectedVersion::Any, &[numbered(n)])
                .await
                .unwrap();
            last = Some(appended.checkpoint);
        }
        let final_ = store
            .wait_until_final(last.unwrap(), std::time::Duration::from_secs(30))
            .await
            .unwrap();
        assert!(final_, "the horizon passed our writes within 30 s");
        let sealed = store.seal(sealing_key(), 100).await.unwrap();
        kept = sealed.latest.unwrap().note().to_string();
    }
    (store, kept)
}

async fn verify_against(store: &EventStore, kept: &str) -> VerifyReport {
    let public_key = sealing_key().public_key();
    let trust = Trust {
        public_key: Some(&public_key),
        kept_checkpoint: Some(kept),
    };
    store.verify_with(&trust).await.unwrap()
}

/// Runs `statement` with `table`'s immutability trigger off, as an owner could.
async fn tamper_with(db: &TestDatabase, table: &str, statement: &str) {
    let mut connection = db.pool.acquire().await.unwrap();
    let trigger = format!("{table}_immutable");
    connection
        .execute(format!("alter table {table} disable trigger {trigger}").as_str())
        .await
        .unwrap();
    connection.execute(statement).await.unwrap();
    connection
        .execute(format!("alter table {table} enable trigger {trigger}").as_str())
        .await
        .unwrap();
}

/// The event's place among the nine, in the global order.
async fn leaf_index(store: &EventStore, event: &store::RecordedEvent) -> u64 {
    let all = store
        .read_all(store::Checkpoint::ORIGIN, 100)
        .await
        .unwrap();
    all.iter()
        .position(|e| e.event_id == event.event_id)
        .unwrap() as u64
}

/// Asserts a changed tree whose named range holds leaf `index`, and that the failure
/// says so in words.
fn assert_range_holds(report: &VerifyReport, index: u64) {
    let Some(VerifyFailure::TreeChanged(change)) = &report.failure else {
        panic!("expected a changed tree: {report:?}");
    };
    assert!(
        (change.first_leaf..change.end_leaf).contains(&index),
        "leaf {index} outside {change:?}"
    );
    let said = report.failure.as_ref().unwrap().to_string();
    assert!(
        said.contains("leaves") && said.contains("position"),
        "{said}"
    );
}

async fn last_of(store: &EventStore, stream: &str) -> store::RecordedEvent {
    store.read_stream(stream).await.unwrap().pop().unwrap()
}

async fn delete_event(db: &TestDatabase, event: &store::RecordedEvent) {
    let statement = format!("delete from events where position = {}", event.position);
    tamper(db, &statement).await;
}

#[tokio::test]
async fn a_clean_store_verifies_against_the_kept_checkpoint() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let report = verify_against(&store, &kept).await;
    assert_eq!(report.failure, None);
    assert_eq!((report.checkpoints_checked, report.tree_size), (4, 9));
}

#[tokio::test]
async fn deleting_a_streams_last_event_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let victim = last_of(&store, "b").await;
    let index = leaf_index(&store, &victim).await;
    delete_event(&db, &victim).await;
    let report = verify_against(&store, &kept).await;
    assert_range_holds(&report, index);
    let Some(VerifyFailure::TreeChanged(change)) = &report.failure else {
        unreachable!()
    };
    assert_eq!((change.first_leaf, change.end_leaf), (4, 6), "{change:?}");
}

#[tokio::test]
async fn deleting_the_global_last_event_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let victim = last_of(&store, "c").await;
    delete_event(&db, &victim).await;
    let report = verify_against(&store, &kept).await;
    assert_range_holds(&report, 8);
    let said = report.failure.unwrap().to_string();
    assert!(
        said.contains(&format!("position {}", victim.position)),
        "{said}"
    );
    assert!(said.contains("1 fewer"), "{said}");
}

#[tokio::test]
async fn deleting_a_whole_case_stream_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    tamper(&db, "delete from events where stream_id = 'a'").await;
    let report = verify_against(&store, &kept).await;
    assert_range_holds(&report, 0);
}

#[tokio::test]
async fn rehashing_a_chain_after_altering_an_event_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let altered = store.read_stream("b").await.unwrap()[1].clone();
    let statement = format!(
        "update events set payload = '{{\"n\": 99}}' where position = {}",
        altered.position
    );
    tamper(&db, &statement).await;
    rehash_stream(&db, "b").await;
    let report = verify_against(&store, &kept).await;
    assert_range_holds(&report, leaf_index(&store, &altered).await);
}

/// Recomputes a stream's hash chain as `append_events` would, as an intruder who
/// altered an event would.
async fn rehash_stream(db: &TestDatabase, stream: &str) {
    let rows = sqlx::query(
        "select position, event_id, stream_version, event_type, schema_version, payload,
                metadata, (extract(epoch from recorded_at) * 1000000)::bigint as micros
           from events where stream_id = $1 order by stream_version",
    )
    .bind(stream)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut previous: Option<Vec<u8>> = None;
    for row in rows {
        let digest = content_digest(
            row.get("event_id"),
            stream,
            row.get("event_type"),
            row.get("schema_version"),
            &row.get("payload"),
            &row.get("metadata"),
        );
        let hash = chain_hash(
            previous.as_deref(),
            &digest,
            row.get("stream_version"),
            row.get("micros"),
        );
        let position: i64 = row.get("position");
        let statement = format!(
            "update events set hash = '\\x{}' where position = {position}",
            hex::encode(hash)
        );
        tamper(db, &statement).await;
        previous = Some(hash.to_vec());
    }
}

/// Inserts the next event of stream `b` by hand, with a correct hash of `scheme` chained
/// to b's last event, in the transaction `transaction_id` (None: the inserting one).
async fn forge_next_of_b(db: &TestDatabase, scheme: i16, transaction_id: Option<i64>) -> Uuid {
    let head = sqlx::query(
        "select hash, now() as now,
                (extract(epoch from now()) * 1000000)::bigint as micros
           from events where stream_id = 'b' order by stream_version desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let previous: Vec<u8> = head.get("hash");
    let micros: i64 = head.get("micros");
    let event_id = Uuid::new_v4();
    let payload = serde_json::json!({"n": 4});
    let metadata = serde_json::json!({});
    let hash = match scheme {
        1 => event_hash(&HashInput {
            previous: Some(&previous),
            event_id,
            stream_id: "b",
            stream_version: 4,
            event_type: "Numbered",
            schema_version: 1,
            payload_text: r#"{"n": 4}"#,
            metadata_text: "{}",
            recorded_at_micros: micros,
        }),
        _ => {
            let digest = content_digest(event_id, "b", "Numbered", 1, &payload, &metadata);
            chain_hash(Some(&previous), &digest, 4, micros).to_vec()
        }
    };
    sqlx::query(
        "insert into events (transaction_id, stream_id, stream_version, event_id, event_type,
             schema_version, payload, metadata, recorded_at, hash, hash_scheme)
         values (coalesce($1, pg_current_xact_id()::text::bigint), 'b', 4, $2, 'Numbered', 1,
                 $3, $4, to_timestamp($5::double precision / 1000000), $6, $7)",
    )
    .bind(transaction_id)
    .bind(event_id)
    .bind(payload)
    .bind(metadata)
    .bind(micros)
    .bind(hash)
    .bind(scheme)
    .execute(&db.pool)
    .await
    .unwrap();
    event_id
}

#[tokio::test]
async fn a_forged_event_with_a_correct_hash_placed_in_sealed_history_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let first = &store.read_stream("a").await.unwrap()[0];
    let forged = forge_next_of_b(&db, 2, Some(first.transaction_id)).await;
    let report = verify_against(&store, &kept).await;
    let forged_event = store.find_events(&[forged]).await.unwrap().pop().unwrap();
    let all = store
        .read_all(store::Checkpoint::ORIGIN, 100)
        .await
        .unwrap();
    let index = all.iter().position(|e| e.event_id == forged).unwrap() as u64;
    assert_range_holds(&report, index);
    assert_eq!(forged_event.stream_version, 4);
}

#[tokio::test]
async fn a_forged_event_appended_with_the_old_schemes_hash_is_named() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let forged = forge_next_of_b(&db, 1, None).await;
    let report = verify_against(&store, &kept).await;
    let Some(VerifyFailure::WrittenByHand(place)) = &report.failure else {
        panic!("expected the forged event named: {report:?}");
    };
    assert_eq!(place.event_id, forged);
    assert!(report.failure.unwrap().to_string().contains("position"));
}

#[tokio::test]
async fn deleting_the_last_seal_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    tamper_with(
        &db,
        "tree_checkpoints",
        "delete from tree_checkpoints where tree_size = (select max(tree_size) from tree_checkpoints)",
    )
    .await;
    let report = verify_against(&store, &kept).await;
    assert_eq!(
        report.failure,
        Some(VerifyFailure::CheckpointMissing {
            tree_size: 9,
            latest_stored: 6
        })
    );
}

#[tokio::test]
async fn deleting_the_last_event_and_the_last_seal_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let victim = last_of(&store, "c").await;
    delete_event(&db, &victim).await;
    tamper_with(
        &db,
        "tree_checkpoints",
        "delete from tree_checkpoints where tree_size = (select max(tree_size) from tree_checkpoints)",
    )
    .await;
    let report = verify_against(&store, &kept).await;
    assert_range_holds(&report, 8);
}

#[tokio::test]
async fn a_stored_checkpoint_the_key_did_not_sign_is_found() {
    let db = TestDatabase::new().await;
    let (store, kept) = sealed_store(&db).await;
    let intruder = store::SealingKey::generate();
    tamper(&db, "delete from events where stream_id = 'c'").await;
    tamper_with(
        &db,
        "tree_checkpoints",
        "delete from tree_checkpoints where tree_size = 9",
    )
    .await;
    // The intruder signs a checkpoint of the shortened history with a key of their own.
    let root = [0x5a; 32];
    let last = store
        .read_stream("b")
        .await
        .unwrap()
        .pop()
        .unwrap()
        .checkpoint();
    let forged = store::TreeCheckpoint::sign(&intruder, 9, root, last);
    sqlx::query(
        "insert into tree_checkpoints
             (tree_size, root, last_transaction_id, last_position, frontier, note)
         values (9, $1, $2, $3, $4, $5)",
    )
    .bind(root.to_vec())
    .bind(last.transaction_id)
    .bind(last.position)
    .bind([root, root].concat())
    .bind(forged.note())
    .execute(&db.pool)
    .await
    .unwrap();
    let refused = store.seal(sealing_key(), 100).await;
    assert!(
        matches!(
            refused,
            Err(store::StoreError::Checkpoint { tree_size: 9, .. })
        ),
        "the sealer never signs over a checkpoint it did not sign: {refused:?}"
    );
    let report = verify_against(&store, &kept).await;
    assert!(
        matches!(
            &report.failure,
            Some(VerifyFailure::StoredCheckpointUnsigned { .. })
        ),
        "{report:?}"
    );
}
