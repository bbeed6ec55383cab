//! Issue 12, finding 6: SIGTERM drains. Every request the server accepted before or
//! during the drain gets its answer (none a 500, no connection dropped), /readyz says not
//! ready meanwhile, and the process exits 0.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use domain::organisation::OrganisationNumber;
use harness::TestDatabase;
use registry::tokens::{create_token, NewToken};
use registry::Role;

const OUS: &str = "993467049";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sealing key for the server, written where the test's database name makes it unique.
fn signing_key(db: &TestDatabase) -> std::path::PathBuf {
    let file = std::env::temp_dir().join(format!("{}-seal.pem", db.name()));
    let generated = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(["seal", "--generate-key"])
        .env_remove("DATABASE_URL")
        .arg(&file)
        .output()
        .expect("generate a signing key");
    assert!(generated.status.success(), "{generated:?}");
    file
}

fn serve(db: &TestDatabase, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("UNNTAK_SEAL_SIGNING_KEY_FILE", signing_key(db))
        .env("DATABASE_URL", db.url())
        .env(
            "UNNTAK_PSEUDONYM_KEY",
            "a-test-key-of-at-least-32-bytes-long!",
        )
        .env("UNNTAK_DRAIN_DELAY", "2")
        .env("UNNTAK_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start unntak serve")
}

async fn until_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never answered");
}

#[tokio::test]
async fn sigterm_answers_every_request_in_flight_and_exits_0() {
    let db = TestDatabase::new().await;
    let port = free_port();
    let mut server = serve(&db, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    until_healthy(&client, &base).await;
    let reporter = NewToken {
        role: Role::Reporter,
        org: Some(OrganisationNumber::parse(OUS).unwrap()),
        project: None,
        label: "drain test".into(),
        expires: None,
    };
    let (_, token) = create_token(&db.pool, reporter).await.unwrap();

    // Requests that take a while: each waits up to 2 s for a position not yet written.
    let in_flight: Vec<_> = (0..45)
        .map(|_| {
            let request = client
                .get(format!(
                    "{base}/api/v1/stats/decisions?min_position=999999999"
                ))
                .bearer_auth(&token);
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "draining is not ready");

    for request in in_flight {
        let status = request
            .await
            .unwrap()
            .expect("an answer, not a dropped connection");
        assert!(status < 500, "an in-flight request got {status}");
    }
    let exit = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
