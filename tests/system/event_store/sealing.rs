//! The sealer, the checkpoints it signs, inclusion proofs, and the hash schemes.

use std::time::Duration;

use serde_json::json;
use store::{EventStore, ExpectedVersion, ProveError, Trust};

use super::{event, numbered, sealing_key, settle, TestDatabase};

fn trust<'a>(public_key: &'a store::PublicKey, kept: &'a str) -> Trust<'a> {
    Trust {
        public_key: Some(public_key),
        kept_checkpoint: Some(kept),
    }
}

#[tokio::test]
async fn the_running_sealer_seals_an_append_within_two_seconds_of_it_becoming_final() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let sealer = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .run_sealer(sealing_key().clone(), store::DEFAULT_SEAL_INTERVAL)
                .await
        }
    });
    // Let the sealer's first round (nothing to seal) pass.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let appended = store
        .append("s", ExpectedVersion::NoStream, &[numbered(1)])
        .await
        .unwrap();
    assert!(store
        .wait_until_final(appended.checkpoint, Duration::from_secs(30))
        .await
        .unwrap());
    let became_final = std::time::Instant::now();
    let mut sealed = 0i64;
    while became_final.elapsed() < Duration::from_secs(2) {
        sealed = sqlx::query_scalar("select coalesce(max(tree_size), 0) from tree_checkpoints")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if sealed >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sealer.abort();
    assert_eq!(sealed, 1, "sealed within 2 s of the append becoming final");
}

#[tokio::test]
async fn verify_proves_the_store_extends_the_kept_checkpoint() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    for n in 1..=3 {
        store
            .append("s", ExpectedVersion::Any, &[numbered(n)])
            .await
            .unwrap();
    }
    settle(&store).await;
    let kept = store
        .seal(sealing_key(), 100)
        .await
        .unwrap()
        .latest
        .unwrap();
    for n in 4..=9 {
        store
            .append("s", ExpectedVersion::Any, &[numbered(n)])
            .await
            .unwrap();
    }
    settle(&store).await;
    let latest = store
        .seal(sealing_key(), 100)
        .await
        .unwrap()
        .latest
        .unwrap();
    let key = sealing_key().public_key();
    let report = store.verify_with(&trust(&key, kept.note())).await.unwrap();
    assert_eq!(report.failure, None);
    let proof = report.consistency.expect("a consistency proof was checked");
    assert_eq!(
        (proof.old_size, proof.new_size),
        (kept.tree_size, latest.tree_size)
    );
    assert!(!proof.proof.is_empty());
    assert_eq!(report.unsealed_events, 0);

    let stranger = store::SealingKey::generate().public_key();
    let report = store
        .verify_with(&trust(&stranger, kept.note()))
        .await
        .unwrap();
    assert!(
        matches!(
            report.failure,
            Some(store::VerifyFailure::KeptCheckpointUnsigned { .. })
        ),
        "{report:?}"
    );
}

#[tokio::test]
async fn prove_gives_a_checked_inclusion_proof_and_refuses_an_unsealed_event() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut ids = Vec::new();
    for n in 1..=5 {
        let e = numbered(n);
        ids.push(e.event_id);
        store.append("s", ExpectedVersion::Any, &[e]).await.unwrap();
    }
    settle(&store).await;
    let sealed = store.seal(sealing_key(), 100).await.unwrap();
    let key = sealing_key().public_key();
    let proof = store.prove(ids[2], &key, None).await.unwrap();
    assert!(proof.verified);
    assert_eq!(proof.leaf_index, 2);
    assert_eq!(proof.checkpoint, sealed.latest.unwrap());
    assert_eq!(
        proof.path.len(),
        3,
        "a tree of six leaves (with the settle marker)"
    );

    let unsealed = numbered(6);
    store
        .append("s", ExpectedVersion::Any, std::slice::from_ref(&unsealed))
        .await
        .unwrap();
    assert!(matches!(
        store.prove(unsealed.event_id, &key, None).await,
        Err(ProveError::NotInTree { .. })
    ));
}

#[tokio::test]
async fn content_digests_survive_the_round_trip_through_jsonb() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let payloads = [
        json!({"float": 0.1, "big": 1e16, "tiny": 1e-7, "huge": 1e300, "negative_zero": -0.0}),
        json!({"ints": [0, -1, 9007199254740993_u64, 18446744073709551615_u64, i64::MIN]}),
        json!({"text": "æøå \" \\ \n \t \u{1} \u{7f} 😀 </script>", "": null, "b": true}),
        json!({"z": {"nested": [{"b": 1, "a": 2}], "aa": 1.5}, "a": []}),
        json!(1.0),
        json!("a string payload"),
    ];
    for (n, payload) in payloads.into_iter().enumerate() {
        let mut e = event("Tricky", payload);
        e.metadata = json!({"n": n, "scale": 2.50});
        store
            .append("tricky", ExpectedVersion::Any, &[e])
            .await
            .unwrap();
    }
    let report = store.verify().await.unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.events_checked, 6);
}

#[tokio::test]
async fn events_of_the_old_scheme_still_verify_beside_the_new() {
    let db = TestDatabase::new().await;
    // Two events as the store wrote them before migration 0009 (scheme 1, hashed in the
    // database), then appends of scheme 2.
    sqlx::query(
        "do $$ declare previous bytea := null; begin
           for v in 1..2 loop
             previous := sha256(
                 int4send(coalesce(octet_length(previous), 0)) || coalesce(previous, ''::bytea)
                 || uuid_send(('00000000-0000-0000-0000-00000000000' || v)::uuid)
                 || int4send(3) || convert_to('old', 'UTF8') || int8send(v::bigint)
                 || int4send(3) || convert_to('Old', 'UTF8') || int4send(1)
                 || int4send(octet_length(('{\"n\": ' || v || '}')::jsonb::text))
                 || convert_to(('{\"n\": ' || v || '}')::jsonb::text, 'UTF8')
                 || int4send(2) || convert_to('{}', 'UTF8')
                 || int8send(1700000000000000));
             insert into events (stream_id, stream_version, event_id, event_type, schema_version,
                                 payload, metadata, recorded_at, hash)
             values ('old', v, ('00000000-0000-0000-0000-00000000000' || v)::uuid, 'Old', 1,
                     ('{\"n\": ' || v || '}')::jsonb, '{}', to_timestamp(1700000000), previous);
           end loop; end $$",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let store = EventStore::new(db.pool.clone());
    store
        .append("old", ExpectedVersion::Exact(2), &[numbered(3)])
        .await
        .unwrap();
    store
        .append("new", ExpectedVersion::NoStream, &[numbered(1)])
        .await
        .unwrap();
    settle(&store).await;
    let kept = store
        .seal(sealing_key(), 100)
        .await
        .unwrap()
        .latest
        .unwrap();
    let key = sealing_key().public_key();
    let report = store.verify_with(&trust(&key, kept.note())).await.unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.events_checked, 5);
    let schemes: Vec<i16> = sqlx::query_scalar(
        "select hash_scheme from events where stream_id = 'old' order by stream_version",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(schemes, [1, 1, 2]);
}
