//! Issue 16: every command a newcomer is shown runs as shown. The README's code blocks and
//! the commands the demo prints are read from the README and from the demo's own output
//! (never copied here), so a changed README or demo is what is tested.
//!
//! The demo runs first, on a fresh database and a free port, and every command it prints
//! is run as printed. Then each README block runs in order, with the substitutions in
//! `SUBSTITUTIONS` and these exceptions, each for the reason given:
//! - `bash scripts/demo.sh` is `cargo build -p unntak` and then `unntak demo` through
//!   scripts/with-postgres.sh: the test runs that `unntak demo` itself (cargo cannot build
//!   while `cargo test` holds the build directory), with `UNNTAK_BIND` on a free port and a
//!   database of its own.
//! - `bash scripts/test.sh` runs this test: it cannot run itself.
//! - `bash scripts/with-postgres.sh stop` would stop the private cluster the tests may be
//!   running on.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Executor};

/// The set-up commands the test stands in for or cannot run (see the module's comment).
const NOT_RUN: [&str; 3] = [
    "bash scripts/demo.sh",
    "bash scripts/test.sh",
    "bash scripts/with-postgres.sh stop",
];

/// The pseudonym key of the README's `serve` (any 32 bytes or more will do).
const PSEUDONYM_KEY: &str = "readme-test-pseudonym-key-0123456789abcdef";

/// What stands in a README command for what only a reader can fill in: (as written, why,
/// what replaces it). Each is a placeholder or an address of the reader's own.
fn substitutions(run: &Run) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "./target/release/unntak",
            "the release build; the test runs the binary cargo built for it",
            run.binary.clone(),
        ),
        (
            "postgres://unntak@db.example:5432/unntak",
            "the reader's database: a fresh one on the test server",
            run.fresh_database_url.clone(),
        ),
        (
            "http://127.0.0.1:8080",
            "the demo's default address: the demo runs on a free port",
            run.demo_base.clone(),
        ),
        (
            "TOKEN=unntak_...",
            "the token the demo printed for Oslo universitetssykehus",
            format!("TOKEN={}", run.oslo_token),
        ),
        (
            "UNNTAK_PSEUDONYM_KEY=...",
            "the reader's secret key",
            format!("UNNTAK_PSEUDONYM_KEY={PSEUDONYM_KEY}"),
        ),
        (
            "/etc/unntak/",
            "the reader's key directory: a scratch directory",
            format!("{}/", run.scratch.display()),
        ),
        (
            "--bind 0.0.0.0:8080",
            "every interface, port 8080: a free port on loopback",
            format!("--bind {}", run.serve_address),
        ),
    ]
}

/// What a run of the README's commands knows.
struct Run {
    binary: String,
    fresh_database_url: String,
    demo_base: String,
    oslo_token: String,
    scratch: PathBuf,
    serve_address: String,
}

/// A database on the test server, dropped when this goes.
struct ScratchDatabase(String);

impl ScratchDatabase {
    async fn create(name: String) -> Self {
        let mut admin = harness::server_options("postgres").connect().await.unwrap();
        admin
            .execute(format!(r#"create database "{name}""#).as_str())
            .await
            .expect("create a fresh database");
        ScratchDatabase(name)
    }

    fn url(&self) -> String {
        harness::database_url(&self.0)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        harness::drop_database(&self.0);
    }
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One code block of the README: the heading it stands under, and its shell lines with
/// continuations joined.
#[derive(Debug)]
struct Block {
    heading: String,
    commands: Vec<String>,
}

/// The README's code blocks: fenced ones (```sh, ```bash, ```shell or bare) and ones
/// indented by four spaces after a blank line.
fn code_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut lines: Vec<String> = Vec::new();
    let (mut fenced, mut previous_blank) = (false, true);
    let mut finish = |lines: &mut Vec<String>, heading: &str| {
        if !lines.is_empty() {
            blocks.push(Block {
                heading: heading.to_string(),
                commands: joined(std::mem::take(lines)),
            });
        }
    };
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            if fenced {
                finish(&mut lines, &heading);
            }
            let language = trimmed.trim_start_matches('`').trim();
            fenced = !fenced && ["", "sh", "bash", "shell", "console"].contains(&language);
            previous_blank = false;
            continue;
        }
        if fenced {
            lines.push(line.to_string());
        } else if let Some(code) = line
            .strip_prefix("    ")
            .filter(|_| previous_blank || !lines.is_empty())
        {
            lines.push(code.to_string());
        } else if line.trim().is_empty() {
            previous_blank = true;
            continue;
        } else {
            finish(&mut lines, &heading);
            if let Some(title) = line.strip_prefix('#') {
                heading = title.trim_start_matches('#').trim().to_string();
            }
        }
        previous_blank = line.trim().is_empty();
    }
    finish(&mut lines, &heading);
    blocks
}

/// Lines ending in a backslash joined with the next; blank lines dropped.
fn joined(lines: Vec<String>) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in lines {
        match line.trim_end().strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(&line);
                if !current.trim().is_empty() {
                    commands.push(current.trim().to_string());
                }
                current.clear();
            }
        }
    }
    commands
}

/// The demo, serving: its base address, what it printed until it served, and the process.
struct Demo {
    base: String,
    printed: Vec<String>,
    process: Child,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Starts `unntak demo` on a free port over `database` and reads its output until it
/// says it serves.
fn start_demo(database: &str) -> Demo {
    let address = free_address();
    let mut process = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(["demo", "--database-name", database])
        .current_dir(repository_root())
        .env("UNNTAK_BIND", &address)
        .env("UNNTAK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start unntak demo");
    let mut printed = Vec::new();
    let mut output = BufReader::new(process.stdout.take().unwrap()).lines();
    let base = loop {
        let line = output
            .next()
            .unwrap_or_else(|| panic!("the demo stopped before serving: {printed:#?}"))
            .unwrap();
        if let Some(rest) = line.strip_prefix("serving on ") {
            break rest.split(';').next().unwrap().trim().to_string();
        }
        printed.push(line);
    };
    // The rest of its output is not read; a thread keeps the pipe from filling.
    std::thread::spawn(move || output.for_each(drop));
    assert_eq!(
        base,
        format!("http://{address}"),
        "the demo serves on UNNTAK_BIND"
    );
    Demo {
        base,
        printed,
        process,
    }
}

/// The commands the demo printed: its indented lines that start with a program (`curl`, a
/// path) or an environment assignment, with continuations joined.
fn printed_commands(printed: &[String]) -> Vec<String> {
    let indented: Vec<String> = printed
        .iter()
        .filter(|line| line.starts_with("  "))
        .map(|line| line.trim().to_string())
        .collect();
    joined(indented)
        .into_iter()
        .filter(|command| {
            let first = command.split_whitespace().next().unwrap_or_default();
            first == "curl" || first.starts_with('/') || is_assignment(first)
        })
        .collect()
}

/// A line of shell variables alone (`TOKEN=...   # a comment`), for the lines after it.
fn sets_variables(command: &str) -> bool {
    let code = command.split(" #").next().unwrap_or_default();
    let mut words = code.split_whitespace().peekable();
    words.peek().is_some() && words.all(is_assignment)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// The token the demo printed for Oslo universitetssykehus's reporter.
fn oslo_token(printed: &[String]) -> String {
    printed
        .iter()
        .find(|line| line.contains("demo: Oslo universitetssykehus"))
        .and_then(|line| line.split_whitespace().last())
        .expect("the demo prints the Oslo universitetssykehus token")
        .to_string()
}

/// Runs `command` with bash in `dir`, with `environment`; panics naming it unless it
/// succeeds. A `curl` command succeeds when the API answered with a stored case.
fn run_as_printed(command: &str, dir: &Path, environment: &[(String, String)]) {
    let started = Instant::now();
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", command])
        .current_dir(dir)
        .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run bash");
    let said = format!(
        "{command}\nexit {:?} after {:.1} s\nstdout: {}\nstderr: {}",
        output.status.code(),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "failed as printed: {said}");
    if command.contains("curl ") {
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("curl's answer is not JSON: {said}"));
        assert!(
            answer["case_id"].is_string(),
            "the decision was not stored: {said}"
        );
    }
    eprintln!("ran: {command} ({:.1} s)", started.elapsed().as_secs_f64());
}

/// `unntak serve`, as the README starts it: in the background until it is ready, then
/// stopped.
fn serve_until_ready(command: &str, dir: &Path, environment: &[(String, String)], address: &str) {
    // In a process group of its own, so stopping bash stops the server it started.
    let mut server = Command::new("bash")
        .args(["-euo", "pipefail", "-c", command])
        .process_group(0)
        .current_dir(dir)
        .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("UNNTAK_LOG", "warn")
        .spawn()
        .expect("start serve");
    let readiness = format!("http://{address}/readyz");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("{command}: stopped with {status} before it was ready");
        }
        let answered = http_status::get(&readiness);
        if answered.is_some_and(|status| status == 200) || Instant::now() > deadline {
            break answered;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let group = format!("-{}", server.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let _ = server.wait();
    assert_eq!(ready, Some(200), "{command}: not ready within 60 s");
    eprintln!("ran: {command} (ready, then stopped)");
}

/// A GET without an async runtime: the status, or None when nothing answers.
mod http_status {
    use std::io::{Read, Write};

    pub fn get(url: &str) -> Option<u16> {
        let rest = url.strip_prefix("http://")?;
        let (host, path) = rest.split_once('/')?;
        let mut stream = std::net::TcpStream::connect(host).ok()?;
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.split_whitespace().nth(1)?.parse().ok()
    }
}

/// `export NAME=value` sets NAME for the commands after it.
fn exported(command: &str) -> Option<(String, String)> {
    let (name, value) = command.strip_prefix("export ")?.split_once('=')?;
    let value = value.split(" #").next().unwrap().trim();
    Some((
        name.to_string(),
        value.trim_matches(['\'', '"']).to_string(),
    ))
}

#[tokio::test]
async fn every_command_the_readme_and_the_demo_print_runs_as_printed() {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let demo_database = ScratchDatabase(format!("unntak_readme_demo_{unique}"));
    let fresh = ScratchDatabase::create(format!("unntak_readme_{unique}")).await;
    let scratch = std::env::temp_dir().join(format!("unntak-readme-{unique}"));
    std::fs::create_dir_all(&scratch).unwrap();
    let root = repository_root();

    let demo = start_demo(&demo_database.0);
    let demo_commands = printed_commands(&demo.printed);
    assert!(
        demo_commands.len() >= 3,
        "the demo prints its commands: {:#?}",
        demo.printed
    );
    for command in &demo_commands {
        run_as_printed(command, &root, &[]);
    }

    let run = Run {
        binary: env!("CARGO_BIN_EXE_unntak").to_string(),
        fresh_database_url: fresh.url(),
        demo_base: demo.base.clone(),
        oslo_token: oslo_token(&demo.printed),
        scratch: scratch.clone(),
        serve_address: free_address(),
    };
    let substitutions = substitutions(&run);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = code_blocks(&readme);
    let mut ran = 0;
    for block in &blocks {
        let in_scratch = block.commands.iter().any(|c| c.contains("--out "));
        let mut environment: Vec<(String, String)> = Vec::new();
        let mut script = Vec::new();
        for command in &block.commands {
            if NOT_RUN.contains(&command.as_str()) {
                eprintln!("not run ({}): {command}", block.heading);
                continue;
            }
            let mut command = command.clone();
            for (written, _why, replacement) in &substitutions {
                command = command.replace(written, replacement);
            }
            script.push(command);
        }
        // A block's lines run one by one (an export holds for the lines after it), but a
        // block of shell variables and the command that uses them runs as one script.
        let one_script = script.iter().any(|command| sets_variables(command));
        if one_script {
            run_as_printed(&script.join("\n"), &root, &environment);
            ran += script.len();
            continue;
        }
        let dir = if in_scratch { &scratch } else { &root };
        for command in script {
            if let Some(variable) = exported(&command) {
                environment.push(variable);
            } else if command.contains(" serve") {
                serve_until_ready(&command, dir, &environment, &run.serve_address);
            } else {
                run_as_printed(&command, dir, &environment);
            }
            ran += 1;
        }
    }
    assert!(ran >= 10, "the README's blocks were found: {blocks:#?}");
    drop(demo);
    std::fs::remove_dir_all(&scratch).ok();
}
