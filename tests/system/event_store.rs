//! The event store's promises: optimistic concurrency, idempotency, a global order that
//! never skips a late commit, immutability and tamper evidence.

use std::collections::HashSet;
use std::time::Duration;

use harness::TestDatabase;
use serde_json::json;
use sqlx::Executor;
use store::{
    Checkpoint, EventStore, ExpectedVersion, NewEvent, SealingKey, StoreError, VerifyFailure,
};
use uuid::Uuid;

fn event(kind: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: kind.into(),
        schema_version: 1,
        payload,
        metadata: json!({"actor": "test", "request_id": Uuid::new_v4()}),
    }
}

fn numbered(n: i64) -> NewEvent {
    event("Numbered", json!({ "n": n }))
}

/// Every final event. Other tests' transactions hold the cluster-wide horizon back for a
/// moment, so callers first wait for what they wrote (`settle`).
async fn read_everything(store: &EventStore) -> Vec<store::RecordedEvent> {
    store.read_all(Checkpoint::ORIGIN, 1_000_000).await.unwrap()
}

/// Waits until everything committed so far is final.
async fn settle(store: &EventStore) {
    let marker = store
        .append("settle", ExpectedVersion::Any, &[numbered(0)])
        .await
        .unwrap();
    assert!(
        store
            .wait_until_final(marker.checkpoint, Duration::from_secs(30))
            .await
            .unwrap(),
        "the horizon passed our writes within 30 s"
    );
}

/// The final events, leaving out the marker events `settle` writes.
async fn read_settled(store: &EventStore) -> Vec<store::RecordedEvent> {
    settle(store).await;
    let mut events = read_everything(store).await;
    events.retain(|e| e.stream_id != "settle");
    events
}

#[tokio::test]
async fn appends_number_stream_versions_from_one() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let first = store
        .append(
            "case-1",
            ExpectedVersion::NoStream,
            &[numbered(1), numbered(2)],
        )
        .await
        .unwrap();
    let second = store
        .append("case-1", ExpectedVersion::Exact(2), &[numbered(3)])
        .await
        .unwrap();
    assert_eq!(first.last_version, 2);
    assert_eq!(second.last_version, 3);
    assert!(second.positions[0] > first.positions[1]);
    let versions: Vec<i64> = store
        .read_stream("case-1")
        .await
        .unwrap()
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(versions, [1, 2, 3]);
}

#[tokio::test]
async fn expected_version_mismatches_are_typed_errors_with_the_actual_version() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    store
        .append("s", ExpectedVersion::NoStream, &[numbered(1), numbered(2)])
        .await
        .unwrap();
    let cases = [
        (ExpectedVersion::NoStream, "s", 2),
        (ExpectedVersion::Exact(1), "s", 2),
        (ExpectedVersion::Exact(5), "s", 2),
        (ExpectedVersion::StreamExists, "empty", 0),
        (ExpectedVersion::Exact(3), "empty", 0),
    ];
    for (expected, stream, actual_version) in cases {
        match store.append(stream, expected, &[numbered(9)]).await {
            Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                assert_eq!(actual, actual_version, "{expected:?} on {stream}")
            }
            other => panic!("{expected:?} on {stream}: expected a version error, got {other:?}"),
        }
    }
    assert_eq!(
        read_settled(&store).await.len(),
        2,
        "nothing more was written"
    );
}

#[tokio::test]
async fn sixteen_racing_writers_get_exactly_one_winner_per_version() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let writers = 16;
    let appends_per_writer = 5;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for n in 0..appends_per_writer {
                loop {
                    let head = store.stream_version("raced").await.unwrap();
                    let mine = event("Raced", json!({"writer": writer, "n": n}));
                    match store
                        .append("raced", ExpectedVersion::Exact(head), &[mine])
                        .await
                    {
                        Ok(_) => break,
                        Err(StoreError::WrongExpectedVersion { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let events = store.read_stream("raced").await.unwrap();
    let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
    let expected: Vec<i64> = (1..=(writers * appends_per_writer) as i64).collect();
    assert_eq!(versions, expected, "one event per version, no gaps");
    let distinct: HashSet<_> = events.iter().map(|e| e.payload.clone()).collect();
    assert_eq!(
        distinct.len(),
        events.len(),
        "no writer's event stored twice"
    );
    assert!(conflicts > 0, "the writers did race");
}

#[tokio::test]
async fn retrying_an_append_returns_the_original_positions_and_writes_nothing() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let events = [numbered(1), numbered(2)];
    let original = store
        .append("case-7", ExpectedVersion::NoStream, &events)
        .await
        .unwrap();
    let mut retried_events = events.clone();
    retried_events[0].metadata = json!({"request_id": "a retry carries a new request id"});
    for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
        let retry = store
            .append("case-7", expected, &retried_events)
            .await
            .unwrap();
        assert!(retry.replayed);
        assert_eq!(retry.positions, original.positions);
        assert_eq!(retry.checkpoint, original.checkpoint);
    }
    assert_eq!(read_settled(&store).await.len(), 2);
}

#[tokio::test]
async fn fifty_concurrent_identical_appends_store_the_events_once() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let events = vec![numbered(1)];
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (store, events) = (store.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            store
                .append("once", ExpectedVersion::NoStream, &events)
                .await
        }));
    }
    let mut positions = HashSet::new();
    for task in tasks {
        positions.insert(task.await.unwrap().unwrap().positions);
    }
    assert_eq!(positions.len(), 1, "every caller got the same positions");
    assert_eq!(read_settled(&store).await.len(), 1);
}

#[tokio::test]
async fn reusing_an_event_id_with_other_content_is_a_conflict() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let original = numbered(1);
    store
        .append(
            "a",
            ExpectedVersion::NoStream,
            std::slice::from_ref(&original),
        )
        .await
        .unwrap();
    let mut changed_payload = original.clone();
    changed_payload.payload = json!({"n": 2});
    let mut changed_type = original.clone();
    changed_type.event_type = "Other".into();
    let cases = [
        ("a", vec![changed_payload.clone()]),
        ("a", vec![changed_type]),
        ("b", vec![original.clone()]),
        ("a", vec![original.clone(), numbered(2)]),
    ];
    for (stream, events) in cases {
        let result = store.append(stream, ExpectedVersion::Any, &events).await;
        assert!(
            matches!(result, Err(StoreError::EventIdConflict { event_id }) if event_id == original.event_id),
            "{stream}: {result:?}"
        );
    }
    assert_eq!(read_settled(&store).await.len(), 1);
}

/// The sealer's key of every test: one per test process.
fn sealing_key() -> &'static SealingKey {
    static KEY: std::sync::OnceLock<SealingKey> = std::sync::OnceLock::new();
    KEY.get_or_init(SealingKey::generate)
}

/// Appends inside an explicit transaction that the test keeps open.
async fn append_in(transaction: &mut sqlx::PgConnection, stream: &str) -> i64 {
    store::append_with(
        transaction,
        stream,
        ExpectedVersion::NoStream,
        &[numbered(0)],
    )
    .await
    .unwrap()
    .positions[0]
}

#[tokio::test]
async fn a_reader_never_skips_an_earlier_position_that_commits_late() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut held_open = db.pool.begin().await.unwrap();
    let early_position = append_in(&mut held_open, "slow").await;
    let late = store
        .append("fast", ExpectedVersion::NoStream, &[numbered(1)])
        .await
        .unwrap();
    assert!(late.positions[0] > early_position);

    let seen_while_open = read_everything(&store).await;
    assert!(
        seen_while_open.is_empty(),
        "nothing is final while an older transaction runs"
    );
    held_open.commit().await.unwrap();

    let positions: Vec<i64> = read_settled(&store)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, [early_position, late.positions[0]]);
}

async fn old_xid(store: &EventStore, position: i64) -> i64 {
    sqlx::query_scalar("select transaction_id from events where position = $1")
        .bind(position)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reader_never_skips_an_old_transaction_that_takes_a_later_position() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    // The old transaction takes its id first, then its position last.
    let mut old = db.pool.begin().await.unwrap();
    old.execute("select pg_current_xact_id()").await.unwrap();
    let mut young = db.pool.begin().await.unwrap();
    let young_position = append_in(&mut young, "young").await;
    let old_position = append_in(&mut old, "old").await;
    assert!(old_position > young_position);
    old.commit().await.unwrap();
    assert!(store
        .wait_until_final(
            Checkpoint {
                transaction_id: old_xid(&store, old_position).await,
                position: old_position
            },
            Duration::from_secs(30)
        )
        .await
        .unwrap());

    // A reader ordering by position alone would read `old_position` now and later skip
    // `young_position` for ever.
    let first = read_everything(&store).await;
    assert_eq!(
        first.iter().map(|e| e.position).collect::<Vec<_>>(),
        [old_position]
    );
    young.commit().await.unwrap();
    settle(&store).await;
    let mut rest = store.read_all(first[0].checkpoint(), 100).await.unwrap();
    rest.retain(|e| e.stream_id != "settle");
    assert_eq!(
        rest.iter().map(|e| e.position).collect::<Vec<_>>(),
        [young_position]
    );
}

#[tokio::test]
async fn a_subscription_delivers_every_event_once_in_order_including_late_commits() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut subscription = store
        .subscribe(Checkpoint::ORIGIN)
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(50));
    let mut held_open = db.pool.begin().await.unwrap();
    let late_position = append_in(&mut held_open, "late").await;
    let mut expected = HashSet::from([late_position]);
    for n in 0..20 {
        let stream = format!("s-{n}");
        let appended = store
            .append(&stream, ExpectedVersion::NoStream, &[numbered(n)])
            .await
            .unwrap();
        expected.insert(appended.positions[0]);
    }
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        held_open.commit().await.unwrap();
    });
    let mut delivered = Vec::new();
    while delivered.len() < expected.len() {
        let batch = tokio::time::timeout(Duration::from_secs(10), subscription.next_batch(7))
            .await
            .expect("the subscription delivers within 10 s")
            .unwrap();
        delivered.extend(batch);
    }
    releaser.await.unwrap();
    let positions: HashSet<i64> = delivered.iter().map(|e| e.position).collect();
    assert_eq!(positions, expected, "every event delivered");
    assert_eq!(delivered.len(), expected.len(), "none delivered twice");
    assert_eq!(
        delivered[0].position, late_position,
        "the oldest transaction comes first"
    );
    let checkpoints: Vec<Checkpoint> = delivered.iter().map(|e| e.checkpoint()).collect();
    assert!(
        checkpoints.windows(2).all(|w| w[0] < w[1]),
        "checkpoints only grow"
    );
}

#[tokio::test]
async fn events_cannot_be_updated_deleted_or_truncated() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let appended = store
        .append("s", ExpectedVersion::NoStream, &[numbered(1)])
        .await
        .unwrap();
    assert!(store
        .wait_until_final(appended.checkpoint, Duration::from_secs(30))
        .await
        .unwrap());
    let sealed = store.seal(sealing_key(), 100).await.unwrap();
    assert_eq!(sealed.events_sealed, 1);
    for statement in [
        "update events set payload = '{}'",
        "delete from events",
        "truncate events",
        "update tree_checkpoints set root = '\\x00'",
        "delete from tree_checkpoints",
        "truncate tree_checkpoints",
        "truncate seals",
    ] {
        let error = db.pool.execute(statement).await.expect_err(statement);
        let code = error.as_database_error().and_then(|e| e.code()).unwrap();
        assert_eq!(code, "UX003", "{statement}");
    }
    assert_eq!(read_settled(&store).await.len(), 1);
}

/// Nine events in three streams, all final when this returns.
async fn append_some(store: &EventStore) {
    let mut last = None;
    for stream in ["a", "b", "c"] {
        for n in 1..=3 {
            let appended = store
                .append(stream, ExpectedVersion::Any, &[numbered(n)])
                .await
                .unwrap();
            last = Some(appended.checkpoint);
        }
    }
    let last = last.expect("appended");
    assert!(store
        .wait_until_final(last, Duration::from_secs(30))
        .await
        .unwrap());
}

/// Runs `statement` with the immutability trigger switched off, as an intruder might.
async fn tamper(db: &TestDatabase, statement: &str) {
    let mut connection = db.pool.acquire().await.unwrap();
    connection
        .execute("alter table events disable trigger events_immutable")
        .await
        .unwrap();
    connection.execute(statement).await.unwrap();
    connection
        .execute("alter table events enable trigger events_immutable")
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_passes_on_an_untouched_store() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    append_some(&store).await;
    let sealed = store.seal(sealing_key(), 4).await.unwrap();
    assert_eq!((sealed.seals_written, sealed.events_sealed), (3, 9));
    let report = store.verify().await.unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(
        (
            report.events_checked,
            report.streams_checked,
            report.checkpoints_checked,
            report.tree_size
        ),
        (9, 3, 3, 9)
    );
}

#[tokio::test]
async fn verify_names_the_event_whose_payload_was_altered() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    append_some(&store).await;
    let target = &store.read_stream("b").await.unwrap()[1];
    tamper(
        &db,
        &format!(
            "update events set payload = '{{\"n\": 99}}' where position = {}",
            target.position
        ),
    )
    .await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        report.failure,
        Some(VerifyFailure::EventHashMismatch {
            position: target.position,
            event_id: target.event_id,
            stream_id: "b".into(),
            stream_version: 2,
        })
    );
}

#[tokio::test]
async fn verify_notices_a_deleted_last_event_through_its_seal() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    append_some(&store).await;
    store.seal(sealing_key(), 100).await.unwrap();
    let last_of_c = store.read_stream("c").await.unwrap().pop().unwrap();
    tamper(
        &db,
        &format!("delete from events where position = {}", last_of_c.position),
    )
    .await;
    let report = store.verify().await.unwrap();
    assert!(
        matches!(
            &report.failure,
            Some(VerifyFailure::TreeChanged(change)) if change.tree_size == 9
        ),
        "{:?}",
        report.failure
    );
}

#[tokio::test]
async fn sealing_covers_late_commits_without_skipping_them() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut held_open = db.pool.begin().await.unwrap();
    append_in(&mut held_open, "late").await;
    for n in 1..=9 {
        store
            .append("after", ExpectedVersion::Any, &[numbered(n)])
            .await
            .unwrap();
    }
    let while_open = store.seal(sealing_key(), 100).await.unwrap();
    assert_eq!(
        while_open.events_sealed, 0,
        "nothing is sealed above the horizon"
    );
    held_open.commit().await.unwrap();
    settle(&store).await;
    let after = store.seal(sealing_key(), 100).await.unwrap();
    assert!(
        after.events_sealed >= 10,
        "the late event and the nine after it"
    );
    assert!(store.verify().await.unwrap().is_ok());
}

mod sealing;
mod tamper;
