//! The authorisation matrix (issue 12): every documented route, asked by every kind of
//! caller, from one table. The table is checked against the server's own OpenAPI
//! description first, so a new route without a row (or a row for a route that is gone)
//! fails here, named.
//!
//! The expectations come from the registry's checks, not from what the server answers:
//! `Actor::require` with `Role::ALL`, `STATISTICS_READERS` (no researchers), `ANALYSTS`
//! (reviewers, supervisors, admins), reporters only for case commands and batches, admins
//! only for the registers, projections, population and metrics; reading a case for its
//! reporter and admins (`case_view`); unsuppressed statistics for reviewers and admins;
//! and the one scoping rule (`cases::scope`): a body naming another organisation is
//! refused (403), another organisation's existing case answers as a missing one (404).
//!
//! Every fixture and every body belongs to Oslo universitetssykehus: "own" is its reporter,
//! "other" Helse Bergen's. Each row gets fresh fixtures, so no row depends on another.

use std::collections::BTreeSet;

use api::auth::RateLimits;
use api::ApiConfig;
use harness::app::{
    application_only, decision_only, individual_exemption, spawn_app_with, Answer, TestApp, BERGEN,
    HELSE_VEST, METHOD_OBESITY, OUS,
};
use registry::tokens::{create_token, NewToken};
use registry::Role;
use serde_json::{json, Value};
use uuid::Uuid;

/// What a caller is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Allowed: the route's own success status.
    Ok(u16),
    /// The role may not, or the body names another organisation: 403.
    Refused,
    /// Another organisation's case answers as a missing one: 404, naming nothing of it.
    Hidden,
    /// A batch is taken, but each row naming another organisation is refused in it:
    /// 422 with every row rejected as `forbidden`, nothing written.
    RowsRefused,
    /// No token, or an unknown one: 401.
    Unauthenticated,
}

use Expect::{Hidden as HIDE, Refused as NO, RowsRefused as ROWS, Unauthenticated as AUTH};
const OK200: Expect = Expect::Ok(200);
const OK201: Expect = Expect::Ok(201);

/// The table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// A reporter for the organisation the fixtures and bodies belong to (OUS).
    Own,
    /// A reporter for another organisation (Helse Bergen).
    Other,
    Reviewer,
    Supervisor,
    Researcher,
    Admin,
    NoToken,
}

const CALLERS: [Caller; 7] = [
    Caller::Own,
    Caller::Other,
    Caller::Reviewer,
    Caller::Supervisor,
    Caller::Researcher,
    Caller::Admin,
    Caller::NoToken,
];

/// What a request's body carries; the fixture it needs follows from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Nothing,
    Decision,
    Application,
    Batch,
    DecisionOnCase,
    Correction,
    Retraction,
    Appeal,
    AppealDecision,
    MethodDescription,
    MethodStatus,
    NewOrganisation,
    OrganisationChange,
    Population,
    ResearchProject,
    ProjectChange,
}

/// The project the matrix's researcher token is bound to.
const MATRIX_PROJECT: &str = "matrix-project";

struct Row {
    method: &'static str,
    /// The documented path template, with a query where the query decides.
    path: &'static str,
    body: Body,
    /// One per `CALLERS`. An unknown token is answered as no token.
    expect: [Expect; 7],
}

const fn row(method: &'static str, path: &'static str, body: Body, expect: [Expect; 7]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

use Body as B;

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //                                                                                  own    other  review superv resear admin  no token
    row("GET",  "/healthz",                                              B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, OK200]),
    row("GET",  "/readyz",                                               B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, OK200]),
    row("GET",  "/metrics",                                              B::Nothing,          [NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/openapi.json",                                  B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, OK200]),
    // Reporting: reporters only, for their own organisation.
    row("POST", "/api/v1/decisions",                                     B::Decision,         [OK201, NO,    NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/decisions/batch",                               B::Batch,            [OK200, ROWS,  NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases",                                         B::Application,      [OK201, NO,    NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases/{case_id}/decision",                      B::DecisionOnCase,   [OK201, HIDE,  NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases/{case_id}/corrections",                   B::Correction,       [OK201, HIDE,  NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases/{case_id}/retraction",                    B::Retraction,       [OK201, HIDE,  NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases/{case_id}/appeals",                       B::Appeal,           [OK201, HIDE,  NO,    NO,    NO,    NO,    AUTH ]),
    row("POST", "/api/v1/cases/{case_id}/appeals/{appeal_id}/decision",  B::AppealDecision,   [OK201, HIDE,  NO,    NO,    NO,    NO,    AUTH ]),
    // Reading a case: its reporter and admins.
    row("GET",  "/api/v1/cases/{case_id}",                               B::Nothing,          [OK200, HIDE,  NO,    NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/cases/{case_id}/history",                       B::Nothing,          [OK200, HIDE,  NO,    NO,    NO,    OK200, AUTH ]),
    // The registers: read by every role, kept by admins.
    row("GET",  "/api/v1/methods",                                       B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, AUTH ]),
    row("GET",  "/api/v1/methods/{method_id}",                           B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, AUTH ]),
    row("PUT",  "/api/v1/methods/{method_id}",                           B::MethodDescription,[NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    row("POST", "/api/v1/methods/{method_id}/status",                    B::MethodStatus,     [NO,    NO,    NO,    NO,    NO,    OK201, AUTH ]),
    row("GET",  "/api/v1/organisations",                                 B::Nothing,          [OK200, OK200, OK200, OK200, OK200, OK200, AUTH ]),
    row("POST", "/api/v1/organisations",                                 B::NewOrganisation,  [NO,    NO,    NO,    NO,    NO,    OK201, AUTH ]),
    row("PUT",  "/api/v1/organisations/{org_number}",                    B::OrganisationChange,[NO,   NO,    NO,    NO,    NO,    OK200, AUTH ]),
    // Statistics: every role but researchers; unsuppressed for reviewers and admins only.
    row("GET",  "/api/v1/stats/decisions",                               B::Nothing,          [OK200, OK200, OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/decisions?suppress=false",                B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/applications",                            B::Nothing,          [OK200, OK200, OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/applications?suppress=false",             B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/processing-times",                        B::Nothing,          [OK200, OK200, OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/processing-times?suppress=false",         B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/appeals",                                 B::Nothing,          [OK200, OK200, OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/appeals?suppress=false",                  B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/reporting-quality",                       B::Nothing,          [OK200, OK200, OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/reporting-quality?suppress=false",        B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    // Detection: reviewers, supervisors and admins; unsuppressed for reviewers and admins.
    row("GET",  "/api/v1/signals",                                       B::Nothing,          [NO,    NO,    OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/funnel",                                  B::Nothing,          [NO,    NO,    OK200, OK200, NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/stats/funnel?suppress=false",                   B::Nothing,          [NO,    NO,    OK200, NO,    NO,    OK200, AUTH ]),
    // Operating the read side: admins.
    row("GET",  "/api/v1/projections",                                   B::Nothing,          [NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    row("PUT",  "/api/v1/population/{year}",                             B::Population,       [NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    // Research projects: kept by admins; extracts for the project's own researcher, the
    // codebook and the delivery log for admins too.
    row("POST", "/api/v1/research-projects",                             B::ResearchProject,  [NO,    NO,    NO,    NO,    NO,    OK201, AUTH ]),
    row("PATCH","/api/v1/research-projects/{project_id}",                B::ProjectChange,    [NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    row("POST", "/api/v1/research-projects/{project_id}/end",            B::Nothing,          [NO,    NO,    NO,    NO,    NO,    OK200, AUTH ]),
    row("GET",  "/api/v1/extracts/{project_id}/cases.csv",               B::Nothing,          [NO,    NO,    NO,    NO,    OK200, NO,    AUTH ]),
    row("GET",  "/api/v1/extracts/{project_id}/datapackage.json",        B::Nothing,          [NO,    NO,    NO,    NO,    OK200, OK200, AUTH ]),
    row("GET",  "/api/v1/extracts/{project_id}/log",                     B::Nothing,          [NO,    NO,    NO,    NO,    OK200, OK200, AUTH ]),
];

/// A valid organisation number that is not in the register.
const NEW_ORGANISATION: &str = "998877903";
const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test]
async fn every_documented_route_answers_every_role_and_organisation_as_the_table_says() {
    // Unknown tokens are sent to every route: more than the default quota of failed
    // authentications per address and minute.
    let app = spawn_app_with(ApiConfig {
        rate_limits: RateLimits {
            failed_authentications_per_minute: 10_000,
            ..RateLimits::default()
        },
        ..ApiConfig::default()
    })
    .await;
    let description = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(description.status, 200, "{}", description.text);
    let mut failures = coverage_problems(&description.body);
    let tokens = CallerTokens::new(&app).await;

    for row in TABLE {
        let fixture = Fixture::for_row(&app, row).await;
        let path = fixture.fill(row.path);
        if path.contains('{') {
            failures.push(format!(
                "{} {}: a placeholder the test cannot fill",
                row.method, row.path
            ));
            continue;
        }
        let unknown = row.expect[CALLERS.len() - 1];
        let callers = CALLERS.iter().zip(row.expect).map(|(c, e)| {
            let name = format!("{c:?}");
            (name, tokens.of(*c), e)
        });
        let forged = (
            "UnknownToken".to_string(),
            Some(tokens.unknown.as_str()),
            unknown,
        );
        for (name, token, expect) in callers.chain([forged]) {
            let body = row.body.text();
            let method = reqwest::Method::from_bytes(row.method.as_bytes()).expect("a method");
            let answer = app.send(method, &path, token, body).await;
            if let Err(why) = check(&answer, expect) {
                failures.push(format!("{} {} as {name}: {why}", row.method, row.path));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} failure(s) of the authorisation matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every documented (method, path) has a row, every row names a documented route, and a
/// route the table opens to callers without a token is the one the description leaves
/// without a security requirement.
fn coverage_problems(description: &Value) -> Vec<String> {
    let paths = description["paths"]
        .as_object()
        .expect("the description lists its paths");
    let mut documented = BTreeSet::new();
    let mut open = BTreeSet::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let key = (method.to_uppercase(), path.clone());
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if !secured {
                open.insert(key.clone());
            }
            documented.insert(key);
        }
    }
    let tabled: BTreeSet<(String, String)> = TABLE.iter().map(route_of).collect();
    let mut problems = Vec::new();
    for (method, path) in documented.difference(&tabled) {
        problems.push(format!(
            "{method} {path} is documented but has no row in the authorisation table"
        ));
    }
    for (method, path) in tabled.difference(&documented) {
        problems.push(format!(
            "{method} {path} has a row in the authorisation table but is not documented"
        ));
    }
    for row in TABLE {
        let without_token = row.expect[CALLERS.len() - 1];
        let opened = matches!(without_token, Expect::Ok(_));
        if opened != open.contains(&route_of(row)) && documented.contains(&route_of(row)) {
            problems.push(format!(
                "{} {}: the table expects {without_token:?} without a token, but the description {} a bearer token",
                row.method,
                row.path,
                if opened { "requires" } else { "does not require" }
            ));
        }
    }
    problems
}

/// A row's route as documented: its method and path without the query.
fn route_of(row: &Row) -> (String, String) {
    let path = row.path.split('?').next().unwrap_or(row.path);
    (row.method.to_string(), path.to_string())
}

/// Whether `answer` is what `expect` says; if not, what it was instead.
fn check(answer: &Answer, expect: Expect) -> Result<(), String> {
    let status = match expect {
        Expect::Ok(status) => status,
        Expect::Refused => 403,
        Expect::Hidden => 404,
        Expect::RowsRefused => 422,
        Expect::Unauthenticated => 401,
    };
    let shown: String = answer.text.chars().take(300).collect();
    if answer.status != status {
        return Err(format!(
            "expected {expect:?} ({status}), answered {}: {shown}",
            answer.status
        ));
    }
    let is_problem = answer.content_type.starts_with("application/problem+json");
    match expect {
        Expect::Ok(_) => Ok(()),
        Expect::Refused | Expect::Unauthenticated if !is_problem => {
            Err(format!("not a problem document: {shown}"))
        }
        Expect::Refused | Expect::Unauthenticated => Ok(()),
        Expect::Hidden if !is_problem || answer.text.contains(OUS) => Err(format!(
            "another organisation's case must read as a missing one, naming nobody: {shown}"
        )),
        Expect::Hidden => Ok(()),
        Expect::RowsRefused => rows_refused(answer),
    }
}

/// A batch whose every row was refused for its organisation, and nothing written.
fn rows_refused(answer: &Answer) -> Result<(), String> {
    let summary = &answer.body;
    let refused = summary["rejected_rows"].as_array().is_some_and(|rejected| {
        !rejected.is_empty()
            && rejected.iter().all(|row| {
                row["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["code"] == json!("forbidden")))
            })
    });
    match refused && summary["written"] == json!(false) && summary["imported"] == json!(0) {
        true => Ok(()),
        false => Err(format!(
            "every row refused as forbidden, nothing written: {}",
            answer.text
        )),
    }
}

/// A token for each column, and one the registry never issued.
struct CallerTokens {
    own: String,
    other: String,
    reviewer: String,
    supervisor: String,
    researcher: String,
    admin: String,
    unknown: String,
}

impl CallerTokens {
    async fn new(app: &TestApp) -> Self {
        let token = |role: Role, project: Option<&str>| {
            let new = NewToken {
                role,
                org: None,
                project: project.map(str::to_string),
                label: format!("authorisation matrix {}", role.as_str()),
                expires: None,
            };
            create_token(&app.db.pool, new)
        };
        CallerTokens {
            own: app.tokens.ous.clone(),
            other: app.tokens.bergen.clone(),
            reviewer: app.tokens.reviewer.clone(),
            supervisor: token(Role::Supervisor, None).await.expect("a token").1,
            researcher: token(
                Role::Researcher,
                Some(approved_project(app, MATRIX_PROJECT).await),
            )
            .await
            .expect("a token")
            .1,
            admin: app.tokens.admin.clone(),
            unknown: format!("unntak_{}", "cd".repeat(32)),
        }
    }

    fn of(&self, caller: Caller) -> Option<&str> {
        Some(match caller {
            Caller::Own => &self.own,
            Caller::Other => &self.other,
            Caller::Reviewer => &self.reviewer,
            Caller::Supervisor => &self.supervisor,
            Caller::Researcher => &self.researcher,
            Caller::Admin => &self.admin,
            Caller::NoToken => return None,
        })
    }
}

/// Approves a research project as the admin and returns its id.
async fn approved_project(app: &TestApp, id: &str) -> &'static str {
    let mut body = Body::ResearchProject.json();
    body["project_id"] = json!(id);
    let answer = app
        .post_json("/api/v1/research-projects", &app.tokens.admin, &body)
        .await;
    assert_eq!(answer.status, 201, "fixture: {}", answer.text);
    Box::leak(id.to_string().into_boxed_str())
}

/// The case (and appeal) a row's path names, reported by OUS for that row alone; the
/// research project (the researcher's own, or a fresh one for a row that changes one).
struct Fixture {
    case_id: Option<String>,
    appeal_id: Option<String>,
    project_id: Option<String>,
}

impl Fixture {
    async fn for_row(app: &TestApp, row: &Row) -> Fixture {
        let mut fixture = Fixture {
            case_id: None,
            appeal_id: None,
            project_id: None,
        };
        if row.path.contains("{project_id}") {
            let changes = row.method == "PATCH" || row.path.ends_with("/end");
            fixture.project_id = Some(match changes {
                true => approved_project(app, &format!("matrix-{}", Uuid::new_v4().simple()))
                    .await
                    .to_string(),
                false => MATRIX_PROJECT.to_string(),
            });
        }
        if !row.path.contains("{case_id}") {
            return fixture;
        }
        let case_id = match row.body {
            Body::DecisionOnCase => {
                let answer = app
                    .post_json(
                        "/api/v1/cases",
                        &app.tokens.ous,
                        &application_only(&case_ref()),
                    )
                    .await;
                assert_eq!(answer.status, 201, "fixture: {}", answer.text);
                answer.body["case_id"]
                    .as_str()
                    .expect("a case_id")
                    .to_string()
            }
            _ => app.reported_case(&individual_exemption(&case_ref())).await,
        };
        if row.path.contains("{appeal_id}") {
            let path = format!("/api/v1/cases/{case_id}/appeals");
            let answer = app
                .post_json(&path, &app.tokens.ous, &Body::Appeal.json())
                .await;
            assert_eq!(answer.status, 201, "fixture: {}", answer.text);
            let appeal_id = answer.body["appeal_id"].as_str().expect("an appeal_id");
            fixture.appeal_id = Some(appeal_id.to_string());
        }
        fixture.case_id = Some(case_id);
        fixture
    }

    /// The path with every placeholder the test knows filled in.
    fn fill(&self, template: &str) -> String {
        let mut path = template
            .replace("{method_id}", METHOD_OBESITY)
            .replace("{org_number}", BERGEN)
            .replace("{year}", "2024");
        for (placeholder, value) in [
            ("{case_id}", &self.case_id),
            ("{appeal_id}", &self.appeal_id),
            ("{project_id}", &self.project_id),
        ] {
            if let Some(value) = value {
                path = path.replace(placeholder, value);
            }
        }
        path
    }
}

/// A case_ref no other request uses.
fn case_ref() -> String {
    format!("AUTH-{}", Uuid::new_v4().simple())
}

impl Body {
    /// A minimal, valid body, so that only authorisation decides; fresh ids every time.
    fn text(self) -> String {
        match self {
            Body::Nothing => String::new(),
            Body::Population => {
                let counties = [
                    "03", "31", "32", "33", "34", "39", "40", "42", "11", "46", "15", "50", "18",
                    "55", "56",
                ];
                let lines: String = counties.iter().map(|c| format!("{c},100000\n")).collect();
                format!("county_number,population\n{lines}")
            }
            json => json.json().to_string(),
        }
    }

    fn json(self) -> Value {
        let report_id = Uuid::new_v4();
        match self {
            Body::Nothing | Body::Population => Value::Null,
            Body::ResearchProject => json!({
                "project_id": format!("matrix-{}", Uuid::new_v4().simple()),
                "title": "Matrise",
                "institution": "Universitetet i Oslo",
                "approval_ref": "REK 2025/1",
                "valid_from": "2024-01-01",
                "valid_until": "2099-12-31",
                "variables": ["outcome", "scheme"],
                "period_from": "2024-01-01",
                "period_until": "2024-12-31",
                "schemes": ["individual_exemption"]
            }),
            Body::ProjectChange => json!({"k": 6}),
            Body::Decision => individual_exemption(&case_ref()),
            Body::Application => application_only(&case_ref()),
            Body::Batch => json!([individual_exemption(&case_ref())]),
            Body::DecisionOnCase => decision_only(),
            Body::Correction => json!({
                "report_id": report_id,
                "changes": {"indication_icd10": "C349"},
                "reason": "registration_error"
            }),
            Body::Retraction => json!({"report_id": report_id, "reason": "reported_in_error"}),
            Body::Appeal => json!({"report_id": report_id, "lodged_date": "2024-04-02"}),
            Body::AppealDecision => json!({
                "report_id": report_id,
                "decided_date": "2024-05-02",
                "outcome": "upheld"
            }),
            Body::MethodDescription => json!({
                "name": "Semaglutid",
                "atc": ["A10BJ06"],
                "indication": "Fedme med KMI over 35"
            }),
            Body::MethodStatus => json!({"status": "introduced", "decision_date": "2024-02-01"}),
            Body::NewOrganisation => json!({
                "org_number": NEW_ORGANISATION,
                "name": "Testsykehuset HF",
                "kind": "hf",
                "region_org_number": "991324968"
            }),
            Body::OrganisationChange => json!({
                "org_number": BERGEN,
                "name": "Helse Bergen HF",
                "kind": "hf",
                "region_org_number": HELSE_VEST
            }),
        }
    }
}
