//! Issue 16: long work (`seed`, `project --rebuild`, `verify`, `bench`) shows its progress
//! on a terminal, and only there: with stderr piped, as in a test or a CI log, nothing is
//! drawn, and stdout carries the results alone either way.

use std::process::{Command, Output};

use harness::TestDatabase;

const SEED: &[&str] = &[
    "seed",
    "--synthetic",
    "--years",
    "2025",
    "--scale",
    "0.3",
    "--seed",
    "5",
];

fn unntak(db: &TestDatabase, args: &[&str], ground_truth: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(args)
        .current_dir(ground_truth.parent().unwrap())
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run unntak")
}

/// Runs unntak with a pseudo-terminal for its stdout and stderr (util-linux `script`),
/// as an operator at a terminal runs it; returns what the terminal showed.
fn unntak_on_a_terminal(db: &TestDatabase, args: &[&str], dir: &std::path::Path) -> String {
    let command = std::iter::once(env!("CARGO_BIN_EXE_unntak"))
        .chain(args.iter().copied())
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_LOG", "warn")
        .env("TERM", "xterm")
        .output()
        .expect("run unntak under script(1), from util-linux");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("unntak-progress-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn long_work_draws_progress_on_a_terminal_and_nothing_when_piped() {
    let dir = scratch_dir();
    let ground_truth = dir.join("synthetic-ground-truth.json");

    let piped_db = TestDatabase::new().await;
    for args in [SEED, &["project", "--rebuild", "all"], &["verify"]] {
        let output = unntak(&piped_db, args, &ground_truth);
        assert!(output.status.success(), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.is_empty(),
            "{args:?}: nothing on a piped stderr, got {stderr:?}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !stdout.contains('\r') && !stdout.contains('\u{1b}'),
            "{args:?}: the results carry no drawing: {stdout:?}"
        );
    }

    let terminal_db = TestDatabase::new().await;
    let shown = unntak_on_a_terminal(&terminal_db, SEED, &dir);
    assert!(
        shown.contains("reporting synthetic cases") && shown.contains('['),
        "a terminal shows the seeding's bar: {shown:?}"
    );
    assert!(shown.contains("seeded "), "and then the result: {shown:?}");
    std::fs::remove_dir_all(dir).ok();
}
