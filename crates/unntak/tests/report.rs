//! The annual report (issue 14) for a synthetic world: its key numbers are the statistics
//! API's for the same year and the same reader, and no count from 1 to 4 is shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use harness::TestDatabase;
use serde_json::Value;
use uuid::Uuid;

const YEAR: &str = "2025";
const PERIOD: &str = "from=2025-01-01&to=2025-12-31";

fn unntak(db: &TestDatabase, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_LOG", "warn")
        .output()
        .expect("run unntak");
    assert!(output.status.success(), "unntak {args:?}: {output:?}");
    output
}

/// A CSV file of the report as rows of (column -> value).
fn csv_rows(dir: &Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(name)).expect("the report wrote the table");
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            headers
                .iter()
                .map(str::to_string)
                .zip(record.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(db: &TestDatabase) -> Server {
    let dir = std::env::temp_dir().join(format!("unntak-report-keys-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("seal.pem");
    unntak(db, &["seal", "--generate-key", key.to_str().unwrap()]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_unntak"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("UNNTAK_SEAL_SIGNING_KEY_FILE", &key)
        .env("UNNTAK_BIND", format!("127.0.0.1:{port}"))
        .env(
            "UNNTAK_PSEUDONYM_KEY",
            "a-test-key-of-at-least-thirty-two-bytes",
        )
        .env("UNNTAK_DRAIN_DELAY", "0")
        .env("UNNTAK_LOG", "warn")
        .spawn()
        .expect("start unntak serve");
    // Owned by `Server` from here, so a failed start is killed and reaped too.
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if let Ok(answer) = reqwest::get(format!("{}/readyz", server.base)).await {
            if answer.status().is_success() {
                return server;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("unntak serve did not become ready");
}

async fn rows(server: &Server, token: &str, path: &str) -> Vec<Value> {
    let answer: Value = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = answer.get("rows").or(answer.get("signals"));
    rows.and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("{path}: {answer}"))
}

/// The counties, and a population by age band and sex in which Oslo (03) has twice the
/// children of any other county, so standardised rates differ from the crude ones.
const COUNTIES: [&str; 15] = [
    "03", "31", "32", "33", "34", "39", "40", "42", "11", "46", "15", "50", "18", "55", "56",
];
const BANDS: [&str; 6] = ["0-17", "18-39", "40-59", "60-69", "70-79", "80+"];

async fn import_stratified_population(db: &TestDatabase, server: &Server, reader: &str) {
    let admin = String::from_utf8(
        unntak(
            db,
            &[
                "token",
                "create",
                "--role",
                "admin",
                "--label",
                "report test admin",
            ],
        )
        .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let mut csv = String::from("county_number,age_band,sex,population\n");
    for county in COUNTIES {
        for band in BANDS {
            for sex in ["female", "male"] {
                let residents = if county == "03" && band == "0-17" {
                    60_000
                } else {
                    30_000
                };
                csv.push_str(&format!("{county},{band},{sex},{residents}\n"));
            }
        }
    }
    let answer = reqwest::Client::new()
        .put(format!("{}/api/v1/population/{YEAR}", server.base))
        .bearer_auth(&admin)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let position = answer.json::<Value>().await.unwrap()["position"]
        .as_i64()
        .unwrap();
    // The report reads the read models directly: wait for the projector to have it.
    let path = format!(
        "/api/v1/stats/applications?{PERIOD}&group_by=region&region_basis=residence&min_position={position}"
    );
    let rows = rows(server, reader, &path).await;
    assert!(
        rows.iter()
            .any(|r| r["rate_basis"] == "age_sex_standardised"),
        "{rows:?}"
    );
}

fn number(text: &str) -> Option<f64> {
    (!text.is_empty()).then(|| text.parse().expect("a number in the CSV"))
}

fn label(row: &Value, field: &str, national: &str) -> String {
    row[format!("{field}_name")]
        .as_str()
        .or(row[field].as_str())
        .unwrap_or(national)
        .to_string()
}

/// The columns of the report's CSV files that hold counts.
const COUNT_COLUMNS: [&str; 15] = [
    "Søknader",
    "Vedtak",
    "Innvilget",
    "Avslått",
    "Avslag",
    "Saker",
    "Avgjort",
    "Til behandling",
    "Klager",
    "Stadfestet",
    "Omgjort",
    "Delvis omgjort",
    "Rettelser",
    "Tilbaketrekkinger",
    "Innbyggere",
];

#[tokio::test]
async fn the_annual_report_shows_the_statistics_apis_figures_and_no_small_count() {
    let db = TestDatabase::new().await;
    unntak(&db, &["migrate"]);
    unntak(
        &db,
        &[
            "seed",
            "--synthetic",
            "--years",
            "2023-2025",
            "--scale",
            "0.5",
            "--plant",
            "--ground-truth",
            std::env::temp_dir()
                .join(format!("truth-{}.json", Uuid::new_v4()))
                .to_str()
                .unwrap(),
        ],
    );
    unntak(&db, &["project", "--rebuild", "all"]);
    let token = String::from_utf8(
        unntak(
            &db,
            &[
                "token",
                "create",
                "--role",
                "supervisor",
                "--label",
                "report test",
            ],
        )
        .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let server = serve(&db).await;
    // The year's residents by age band and sex, so the report standardises its rates.
    import_stratified_population(&db, &server, &token).await;
    let out: PathBuf = std::env::temp_dir().join(format!("unntak-report-{}", Uuid::new_v4()));
    unntak(
        &db,
        &[
            "report",
            "annual",
            "--year",
            YEAR,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(out.join(format!("rapport-{YEAR}.html"))).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"nb\">"),
        "{}",
        &html[..80]
    );
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    for external in ["<script", "<link", "src=", "href=\"http", "url("] {
        assert!(!html.contains(external), "the report holds {external}");
    }

    // Decisions by region: counts and grant rates.
    let api = rows(
        &server,
        &token,
        &format!("/api/v1/stats/decisions?{PERIOD}&group_by=region"),
    )
    .await;
    let report = csv_rows(&out, "regioner.csv");
    assert_eq!(report.len(), api.len(), "one row per region");
    for row in &api {
        let region = label(row, "region", "Nasjonalt (Helfo og Helsedirektoratet)");
        let shown = report
            .iter()
            .find(|r| r["Region"] == region)
            .unwrap_or_else(|| panic!("{region} in {report:?}"));
        assert_eq!(
            number(&shown["Vedtak"]),
            row["decided"].as_f64(),
            "{region}"
        );
        assert_eq!(
            number(&shown["Innvilget"]),
            row["granted"].as_f64(),
            "{region}"
        );
        let rate = number(&shown["Andel innvilget"]);
        match row["grant_rate"].as_f64() {
            Some(api_rate) => assert!((rate.unwrap() - api_rate).abs() <= 1.5e-4, "{region}"),
            None => assert_eq!(rate, None),
        }
    }

    // Applications per 100 000 by region of residence.
    let api = rows(
        &server,
        &token,
        &format!("/api/v1/stats/applications?{PERIOD}&group_by=region&region_basis=residence"),
    )
    .await;
    let report = csv_rows(&out, "rater.csv");
    assert_eq!(report.len(), api.len());
    for row in &api {
        let region = label(row, "region", "Uten bostedsregion (gruppeunntak)");
        let shown = report
            .iter()
            .find(|r| r["Bostedsregion"] == region)
            .unwrap();
        assert_eq!(
            number(&shown["Søknader"]),
            row["applications"].as_f64(),
            "{region}"
        );
        let rate = number(&shown["Per 100 000 per år"]);
        match row["per_100k"].as_f64() {
            Some(api_rate) => assert!((rate.unwrap() - api_rate).abs() <= 0.05, "{region}"),
            None => assert_eq!(rate, None),
        }
        let standardised = number(&shown["Standardisert per 100 000 per år"]);
        match row["per_100k_standardised"].as_f64() {
            Some(api_rate) => assert!((standardised.unwrap() - api_rate).abs() <= 0.05, "{region}"),
            None => assert_eq!(standardised, None, "{region}"),
        }
    }
    assert!(
        api.iter().any(|r| r["per_100k_standardised"].is_f64()),
        "some region has a standardised rate: {api:?}"
    );
    assert!(html.contains("alders- og kjønnsstandardiserte rater"));

    // Median processing times by region.
    let api = rows(
        &server,
        &token,
        &format!("/api/v1/stats/processing-times?{PERIOD}&group_by=region"),
    )
    .await;
    let report = csv_rows(&out, "saksbehandlingstid.csv");
    for row in &api {
        let region = label(row, "region", "Nasjonalt (Helfo og Helsedirektoratet)");
        let shown = report.iter().find(|r| r["Region"] == region).unwrap();
        assert_eq!(
            number(&shown["Median (dager)"]),
            row["median_days"]["estimate"].as_f64().map(f64::round),
            "{region}"
        );
    }

    // Signals: one line per finding, every signal of the year counted.
    let signals = rows(&server, &token, &format!("/api/v1/signals?year={YEAR}")).await;
    let groups: std::collections::BTreeSet<&str> = signals
        .iter()
        .map(|s| s["group"].as_str().unwrap())
        .collect();
    let report = csv_rows(&out, "signaler.csv");
    assert_eq!(report.len(), groups.len());
    let counted: usize = report
        .iter()
        .map(|r| r["Signaler"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(counted, signals.len());
    assert!(!signals.is_empty(), "the planted effects give signals");

    // Compliance: one line per trust and method with exemptions decided outside
    // assessment, its count the signal's unless withheld.
    let outside: Vec<&Value> = signals
        .iter()
        .filter(|s| s["effect_measure"] == "decisions_outside_assessment")
        .collect();
    let report = csv_rows(&out, "etterlevelse.csv");
    assert_eq!(report.len(), outside.len());
    for (shown, signal) in report.iter().zip(&outside) {
        assert_eq!(shown["Metode"], signal["method_id"].as_str().unwrap());
        let count = signal["counts"]["decisions"].as_f64().unwrap();
        match number(&shown["Vedtak"]) {
            Some(published) => assert_eq!(published, count),
            None => assert!(
                report.len() > 1 || count < 5.0,
                "withheld only for a reason"
            ),
        }
    }

    // No count from 1 to 4 in any table.
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            for row in csv_rows(&out, &name) {
                for column in COUNT_COLUMNS {
                    if let Some(value) = row.get(column).and_then(|v| number(v)) {
                        assert!(!(1.0..=4.0).contains(&value), "{name}: {column} = {value}");
                    }
                }
            }
        }
    }
}
