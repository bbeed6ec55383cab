//! `spawn_app()`: the real API server on a random port, over a fresh database with the
//! organisation register and a few methods seeded, and a token for each kind of caller.
//!
//! Every server in the test process logs into one shared buffer (`captured_logs`), so a
//! test can check that something never reaches a log line.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Mutex, Once};

use api::ApiConfig;
use chrono::NaiveDate;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::methods::{MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::pseudonym::PseudonymKey;
use registry::tokens::{create_token, NewToken};
use registry::{Actor, Registry, RegistrySettings, Role};
use serde_json::{json, Value};
use sqlx::Row;
use store::EventStore;
use uuid::Uuid;

use crate::TestDatabase;

/// Oslo universitetssykehus HF.
pub const OUS: &str = "993467049";
/// Helse Bergen HF.
pub const BERGEN: &str = "983974724";
/// Helse Vest RHF: decides for the interregional committee.
pub const HELSE_VEST: &str = "983658725";
/// Helsedirektoratet, where Helfo decides.
pub const HELFO: &str = "983544622";

/// Under assessment since 2021: individual exemptions are allowed.
pub const METHOD_UNDER_ASSESSMENT: &str = "ID2021_047";
/// "No" from Beslutningsforum in 2023: individual access may be sought.
pub const METHOD_NOT_INTRODUCED: &str = "ID2022_012";
/// An obesity drug for Helfo's individual reimbursement.
pub const METHOD_OBESITY: &str = "ID2023_045";

/// One token per kind of caller.
pub struct Tokens {
    pub admin: String,
    /// Reporter for Oslo universitetssykehus HF.
    pub ous: String,
    /// Reporter for Helse Bergen HF.
    pub bergen: String,
    /// Reporter for Helse Vest RHF.
    pub helse_vest: String,
    /// Reporter for Helsedirektoratet (Helfo).
    pub helfo: String,
    pub reviewer: String,
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
    pub tokens: Tokens,
    /// The registry service the server calls, over the server's own event store.
    pub registry: Registry,
    pub db: TestDatabase,
}

/// A response read in full.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    /// The body as JSON; `Value::Null` when it is not JSON.
    pub body: Value,
}

impl Answer {
    /// Asserts an RFC 7807 problem document with `status`, and returns its `errors`.
    pub fn assert_problem(&self, status: u16) -> Vec<Value> {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {} of {}",
            self.content_type,
            self.text
        );
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].is_string(),
                "problem field {field} missing: {}",
                self.text
            );
        }
        assert_eq!(self.body["status"], json!(status), "{}", self.text);
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("problem without an errors list: {}", self.text))
            .clone()
    }

    /// The `code` of every listed problem, as `field:code`.
    pub fn problem_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{}:{}",
                            e["field"].as_str().unwrap_or_default(),
                            e["code"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ApiConfig::default()).await
}

/// `spawn_app` with the server's limits set by the test.
pub async fn spawn_app_with(config: ApiConfig) -> TestApp {
    capture_logs();
    let db = TestDatabase::new().await;
    let key = PseudonymKey::new("t1", &[7u8; 32]).expect("a valid pseudonym key");
    let registry = Registry::new(EventStore::new(db.pool.clone()), RegistrySettings::new(key));
    registry
        .seed_organisations(include_str!("../../deploy/reference/organisations.csv"))
        .await
        .expect("seed the organisation register");
    seed_methods(&registry).await;
    let tokens = Tokens {
        admin: token(&db, Role::Admin, None).await,
        ous: token(&db, Role::Reporter, Some(OUS)).await,
        bergen: token(&db, Role::Reporter, Some(BERGEN)).await,
        helse_vest: token(&db, Role::Reporter, Some(HELSE_VEST)).await,
        helfo: token(&db, Role::Reporter, Some(HELFO)).await,
        reviewer: token(&db, Role::Reviewer, None).await,
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    let port = listener.local_addr().expect("a local address").port();
    let server = api::build(registry.clone(), config, listener).expect("build the server");
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        tokens,
        registry,
        db,
    }
}

async fn token(db: &TestDatabase, role: Role, org: Option<&str>) -> String {
    let new = NewToken {
        role,
        org: org.map(|o| OrganisationNumber::parse(o).expect("a valid organisation number")),
        project: None,
        label: format!("test {}", role.as_str()),
        expires: None,
    };
    create_token(&db.pool, new).await.expect("create a token").1
}

async fn seed_methods(registry: &Registry) {
    let seeder = Actor::client("test seed", Role::Admin, None);
    let methods = [
        (
            METHOD_UNDER_ASSESSMENT,
            "Eksempelmab",
            "L01FX02",
            "Ikke-småcellet lungekreft",
            MethodStatus::UnderAssessment,
            "2021-06-14",
        ),
        (
            METHOD_NOT_INTRODUCED,
            "Prøvetinib",
            "L01EX01",
            "Metastatisk brystkreft",
            MethodStatus::NotIntroduced,
            "2023-01-23",
        ),
        (
            METHOD_OBESITY,
            "Semaglutid",
            "A10BJ06",
            "Fedme",
            MethodStatus::NotIntroduced,
            "2023-10-23",
        ),
    ];
    for (id, name, atc, indication, status, date) in methods {
        let method_id = MethodId::parse(id).expect("a valid method id");
        let described = RegistryEvent::MethodDescribed {
            method_id: method_id.clone(),
            description: MethodDescription {
                name: name.into(),
                atc: vec![AtcCode::parse(atc).expect("a valid ATC code")],
                indication: indication.into(),
            },
        };
        let status = RegistryEvent::MethodStatusChanged {
            method_id: method_id.clone(),
            status,
            decision_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date"),
            effective_from: None,
        };
        for event in [described, status] {
            let event_id = Uuid::new_v4();
            registry
                .registers()
                .record_method_event(&method_id, event, event_id, seeder.metadata(event_id))
                .await
                .expect("seed a method");
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("the server answers")).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(token), body.to_string())
            .await
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(token), body.to_string())
            .await
    }

    /// Sends `body` as it is, declared as JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("the server answers")).await
    }

    /// Reports a case with its decision as OUS and asserts it was stored; returns the
    /// case id.
    pub async fn reported_case(&self, body: &Value) -> String {
        let answer = self
            .post_json("/api/v1/decisions", &self.tokens.ous, body)
            .await;
        assert_eq!(answer.status, 201, "report: {}", answer.text);
        answer.body["case_id"]
            .as_str()
            .expect("a case_id")
            .to_string()
    }

    /// The event types of a case's stream, straight from the database.
    pub async fn stored_event_types(&self, case_id: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select event_type from events where stream_id = $1 order by stream_version",
        )
        .bind(format!("case-{case_id}"))
        .fetch_all(&self.db.pool)
        .await
        .expect("read the case's events")
    }

    /// How many case events the database holds.
    pub async fn case_event_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from events where stream_id like 'case-%'")
            .fetch_one(&self.db.pool)
            .await
            .expect("count the case events")
    }

    /// Every stored event's payload and metadata as text.
    pub async fn stored_event_text(&self) -> String {
        let rows = sqlx::query("select payload::text as p, metadata::text as m from events")
            .fetch_all(&self.db.pool)
            .await
            .expect("read every event");
        rows.iter()
            .map(|row| {
                format!(
                    "{}\n{}\n",
                    row.get::<String, _>("p"),
                    row.get::<String, _>("m")
                )
            })
            .collect()
    }
}

pub async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("a readable body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        text,
        body,
    }
}

// ---- Report bodies -----------------------------------------------------------------------

/// An individual exemption granted by OUS: valid, complete, no warnings.
pub fn individual_exemption(case_ref: &str) -> Value {
    json!({
        "report_id": Uuid::new_v4(),
        "case_ref": case_ref,
        "deciding_org": OUS,
        "scheme": "individual_exemption",
        "method_id": METHOD_UNDER_ASSESSMENT,
        "indication_icd10": "C341",
        "atc": "L01FX02",
        "patient": {"birth_year": 1961, "sex": "female", "residence_county": "03"},
        "received_date": "2024-03-01",
        "decided_date": "2024-03-20",
        "outcome": "granted",
        "criteria": {
            "marketing_authorisation": true,
            "standard_treatment_unsuitable": true,
            "substantially_larger_effect": true
        }
    })
}

/// The application part of `individual_exemption`: for POST /api/v1/cases.
pub fn application_only(case_ref: &str) -> Value {
    let mut body = individual_exemption(case_ref);
    let object = body.as_object_mut().expect("an object");
    for field in ["decided_date", "outcome", "criteria", "refusal_reasons"] {
        object.remove(field);
    }
    body
}

/// The decision part: for POST /api/v1/cases/{case_id}/decision.
pub fn decision_only() -> Value {
    json!({
        "report_id": Uuid::new_v4(),
        "decided_date": "2024-03-20",
        "outcome": "refused",
        "criteria": {
            "marketing_authorisation": true,
            "standard_treatment_unsuitable": false,
            "substantially_larger_effect": false
        },
        "refusal_reasons": ["criteria_not_met"]
    })
}

/// Individual reimbursement refused by Helfo (Helsedirektoratet).
pub fn helfo_individual(case_ref: &str) -> Value {
    json!({
        "report_id": Uuid::new_v4(),
        "case_ref": case_ref,
        "deciding_org": HELFO,
        "scheme": "helfo_individual",
        "method_id": METHOD_OBESITY,
        "indication_icd10": "E66",
        "atc": "A10BJ06",
        "patient": {"birth_year": 1980, "sex": "male", "residence_county": "46"},
        "received_date": "2023-09-01",
        "decided_date": "2023-11-15",
        "outcome": "refused",
        "criteria": {"differs_clearly_from_group": false},
        "refusal_reasons": ["criteria_not_met"]
    })
}

/// Individual access after a "no", decided by Helse Vest RHF on Helse Bergen's application.
pub fn individual_access(case_ref: &str) -> Value {
    json!({
        "report_id": Uuid::new_v4(),
        "case_ref": case_ref,
        "deciding_org": HELSE_VEST,
        "applying_org": BERGEN,
        "scheme": "individual_access",
        "method_id": METHOD_NOT_INTRODUCED,
        "indication_icd10": "C50",
        "patient": {"birth_year": 1975, "sex": "female", "residence_county": "46"},
        "received_date": "2024-02-01",
        "decided_date": "2024-04-10",
        "outcome": "granted",
        "criteria": {
            "benefit": true,
            "resource_use": true,
            "severity": true,
            "exceptional_on": ["severity"]
        }
    })
}

/// A valid fødselsnummer (check digits computed) for a birth date `DDMMYY` and a
/// three-digit individual number; None when no check digit fits.
pub fn fodselsnummer(ddmmyy: &str, individual: &str) -> Option<String> {
    let mut digits: Vec<u32> = format!("{ddmmyy}{individual}")
        .chars()
        .map(|c| c.to_digit(10).expect("digits"))
        .collect();
    assert_eq!(
        digits.len(),
        9,
        "six date digits and three individual digits"
    );
    for weights in [
        &[3, 7, 6, 1, 8, 9, 4, 5, 2][..],
        &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2][..],
    ] {
        let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        if check == 10 {
            return None;
        }
        digits.push(check);
    }
    Some(digits.iter().map(|d| d.to_string()).collect())
}

// ---- Captured logs -----------------------------------------------------------------------

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Everything every server in this process has logged so far. Waits a moment first: a
/// request's own span closes (and logs) just after its answer has been sent.
pub async fn captured_logs() -> String {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    String::from_utf8_lossy(&LOGS.lock().expect("log buffer lock")).into_owned()
}

struct BufferWriter;

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .expect("log buffer lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per process, a subscriber that logs more than production does (debug
/// for the registry's own crates, every span as it closes with its fields) into `LOGS`.
fn capture_logs() {
    INSTALL.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new(
            "info,api=trace,domain=trace,store=debug,tracing_actix_web=trace,sqlx=warn",
        );
        let installed = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(|| BufferWriter)
            .try_init();
        if installed.is_err() {
            eprintln!("another global subscriber was installed first: logs are not captured");
        }
    });
}
