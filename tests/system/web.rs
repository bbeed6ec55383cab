//! The pages for people (issue 14): signing in with a reviewer's, supervisor's or admin's
//! token, the session cookie, CSRF on every form that changes state, and the redirects to
//! the sign-in page. A plain HTTP client that follows no redirect and keeps cookies by
//! hand, so every header the browser would act on is checked as sent.

use harness::app::{spawn_app, TestApp};
use registry::tokens::{create_token, list_tokens, revoke_token, NewToken};
use registry::Role;

/// An answer, with the headers a browser acts on.
struct Page {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    csp: String,
    body: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

async fn read(response: reqwest::Response) -> Page {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (location, csp) = (header("location"), header("content-security-policy"));
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    Page {
        status: response.status().as_u16(),
        location,
        cookies,
        csp: csp.unwrap_or_default(),
        body: response.text().await.expect("a body"),
    }
}

impl Page {
    /// The value the answer sets for cookie `name`, if it sets one.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
    }

    /// The full `Set-Cookie` line for cookie `name`.
    fn cookie_line(&self, name: &str) -> String {
        self.cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .cloned()
            .unwrap_or_else(|| panic!("no cookie {name} in {:?}", self.cookies))
    }

    /// The value of the hidden field `name` in the page's form.
    fn hidden(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = start + self.body[start..].find('"').expect("a closing quote");
        self.body[start..end].to_string()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(key, value)| {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{key}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Page {
    let mut request = client().get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    read(request.send().await.expect("an answer")).await
}

async fn post(app: &TestApp, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Page {
    let mut request = client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(fields));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    read(request.send().await.expect("an answer")).await
}

/// Opens the sign-in form and posts `token` with its CSRF token; the answer.
async fn sign_in(app: &TestApp, token: &str, next: &str) -> Page {
    let form_page = get(app, &format!("/logg-inn?neste={next}"), None).await;
    assert_eq!(form_page.status, 200, "{}", form_page.body);
    let csrf = form_page.cookie("unntak_csrf").expect("a CSRF cookie");
    assert_eq!(form_page.hidden("csrf"), csrf);
    let cookie = format!("unntak_csrf={csrf}");
    let fields = [("nokkel", token), ("csrf", csrf.as_str()), ("neste", next)];
    post(app, "/logg-inn", Some(&cookie), &fields).await
}

/// Signs in as `token`: the session cookie to send.
async fn session(app: &TestApp, token: &str) -> String {
    let signed_in = sign_in(app, token, "/").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    format!(
        "unntak_okt={}",
        signed_in.cookie("unntak_okt").expect("a session cookie")
    )
}

async fn token(app: &TestApp, role: Role, org: Option<&str>, project: Option<&str>) -> String {
    let new = NewToken {
        role,
        org: org.map(|o| domain::organisation::OrganisationNumber::parse(o).expect("an org")),
        project: project.map(str::to_string),
        label: format!("web {}", role.as_str()),
        expires: None,
    };
    create_token(&app.db.pool, new).await.expect("a token").1
}

#[tokio::test]
async fn without_a_session_every_page_redirects_to_the_sign_in_page_and_back() {
    let app = spawn_app().await;
    for (path, location) in [
        ("/rapport/2025", "/logg-inn?neste=/rapport/2025"),
        (
            "/rapport/2025/regioner.csv",
            "/logg-inn?neste=/rapport/2025/regioner.csv",
        ),
        ("/", "/logg-inn?neste=/"),
        (
            "/?aar=2025&ordning=group_exemption",
            "/logg-inn?neste=/%3Faar%3D2025%26ordning%3Dgroup_exemption",
        ),
    ] {
        let page = get(&app, path, None).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location.as_deref(), Some(location), "{path}");
    }
    let unknown = get(&app, "/", Some("unntak_okt=unntak_not_a_token")).await;
    assert_eq!(unknown.status, 303);
    let open = get(&app, "/tilgjengelighet", None).await;
    assert_eq!(open.status, 200);
    assert!(open.body.contains("Tilgjengelighetserklæring"));
}

#[tokio::test]
async fn a_reviewer_signs_in_with_a_strict_http_only_cookie_and_sees_the_dashboard_and_the_report()
{
    let app = spawn_app().await;
    let signed_in = sign_in(&app, &app.tokens.reviewer, "/rapport/2025").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location.as_deref(), Some("/rapport/2025"));
    let line = signed_in.cookie_line("unntak_okt");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(line.contains(attribute), "{line}");
    }
    // The test server is bound to loopback, where a browser would drop a Secure cookie
    // sent over plain HTTP.
    assert!(!line.contains("Secure"), "{line}");
    let cookie = format!("unntak_okt={}", signed_in.cookie("unntak_okt").unwrap());

    let dashboard = get(&app, "/?aar=2025&grunnlag=residence", Some(&cookie)).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains(r#"<html lang="nb">"#));
    assert!(dashboard.body.contains("Oversikt 2025"));
    assert!(dashboard.body.contains(r#"href="/tilgjengelighet""#));
    assert!(
        dashboard.csp.contains("style-src 'self'"),
        "{}",
        dashboard.csp
    );
    assert!(
        !dashboard.csp.contains("unsafe-inline"),
        "{}",
        dashboard.csp
    );
    assert!(!dashboard.body.contains("<script"), "no script on a page");

    let csv = get(&app, "/?aar=2025&csv=vedtak-region", Some(&cookie)).await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("Region,Vedtak"), "{}", csv.body);

    let report = get(&app, "/rapport/2025", Some(&cookie)).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(report.body.contains("Årsrapport 2025"));
    assert!(report.body.contains(r#"href="/rapport/2025/regioner.csv""#));
    let table = get(&app, "/rapport/2025/regioner.csv", Some(&cookie)).await;
    assert_eq!(table.status, 200, "{}", table.body);
    assert_eq!(
        get(&app, "/rapport/2025/nope.csv", Some(&cookie))
            .await
            .status,
        404
    );
    assert_eq!(get(&app, "/rapport/tjue", Some(&cookie)).await.status, 404);
}

#[tokio::test]
async fn a_reporter_or_researcher_token_is_refused_sign_in_and_sees_no_page() {
    let app = spawn_app().await;
    let project = serde_json::json!({
        "project_id": "prosjekt-1",
        "title": "Prosjekt",
        "institution": "Universitetet i Oslo",
        "approval_ref": "REK 2025/1",
        "valid_from": "2024-01-01",
        "valid_until": "2099-12-31",
        "variables": ["outcome"],
        "period_from": "2024-01-01",
        "period_until": "2024-12-31",
        "schemes": ["individual_exemption"]
    });
    let approved = app
        .post_json("/api/v1/research-projects", &app.tokens.admin, &project)
        .await;
    assert_eq!(approved.status, 201, "{}", approved.text);
    let researcher = token(&app, Role::Researcher, None, Some("prosjekt-1")).await;
    for token in [app.tokens.ous.as_str(), researcher.as_str()] {
        let refused = sign_in(&app, token, "/").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("Rapportører og"), "{}", refused.body);
        assert!(refused.cookie("unntak_okt").is_none());
        // A cookie made by hand does not get further.
        let page = get(&app, "/", Some(&format!("unntak_okt={token}"))).await;
        assert_eq!(page.status, 403, "{}", page.body);
    }
    let unknown = sign_in(&app, "unntak_0000", "/").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("ukjent"));
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    let reviewer = app.tokens.reviewer.as_str();
    // Sign-in: no CSRF field, and one that does not match its cookie.
    let missing = post(&app, "/logg-inn", None, &[("nokkel", reviewer)]).await;
    assert_eq!(missing.status, 403);
    assert!(missing.cookie("unntak_okt").is_none());
    let mismatched = post(
        &app,
        "/logg-inn",
        Some(&format!("unntak_csrf={}", "a".repeat(64))),
        &[("nokkel", reviewer), ("csrf", &"b".repeat(64))],
    )
    .await;
    assert_eq!(mismatched.status, 403);

    // Sign-out: the session's own CSRF token, from the page, and nothing else.
    let cookie = session(&app, reviewer).await;
    let dashboard = get(&app, "/", Some(&cookie)).await;
    let csrf = dashboard.hidden("csrf");
    for fields in [vec![], vec![("csrf", "0".repeat(64))]] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = post(&app, "/logg-ut", Some(&cookie), &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
        assert!(refused.cookie("unntak_okt").is_none());
    }
    // Another session's CSRF token does not sign this one out either.
    let other = session(&app, &app.tokens.admin).await;
    let other_csrf = get(&app, "/", Some(&other)).await.hidden("csrf");
    let crossed = post(&app, "/logg-ut", Some(&cookie), &[("csrf", &other_csrf)]).await;
    assert_eq!(crossed.status, 403);

    let signed_out = post(&app, "/logg-ut", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(signed_out.status, 303);
    assert_eq!(signed_out.location.as_deref(), Some("/logg-inn?ut=1"));
    assert!(signed_out.cookie_line("unntak_okt").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_revoked_token_ends_its_session_at_once() {
    let app = spawn_app().await;
    let supervisor = token(&app, Role::Supervisor, None, None).await;
    let cookie = session(&app, &supervisor).await;
    assert_eq!(get(&app, "/", Some(&cookie)).await.status, 200);
    let id = list_tokens(&app.db.pool)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.label == "web supervisor")
        .expect("the supervisor's token")
        .token_id;
    assert!(revoke_token(&app.db.pool, id).await.expect("revoked"));
    let after = get(&app, "/", Some(&cookie)).await;
    assert_eq!(after.status, 303);
    assert_eq!(after.location.as_deref(), Some("/logg-inn?neste=/"));
}

#[tokio::test]
async fn the_sign_in_page_sends_nobody_to_another_site() {
    let app = spawn_app().await;
    for next in ["//evil.example/", "https://evil.example/", "/api/v1/cases"] {
        let signed_in = sign_in(&app, &app.tokens.reviewer, next).await;
        assert_eq!(signed_in.status, 303);
        assert_eq!(signed_in.location.as_deref(), Some("/"), "{next}");
    }
}
