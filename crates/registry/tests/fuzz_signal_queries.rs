//! Properties of what the signals and the funnel are asked (`GET /api/v1/signals`,
//! `GET /api/v1/stats/funnel`), over generated years and kinds: a year outside the
//! registry's is refused with a problem before anything is read (it once overflowed the
//! tallies' arithmetic and dropped the connection, found by schemathesis with
//! `year=-2147483648`), and an unknown kind is named without its digit runs.
//!
//! Both are checked before the database is touched, so the service is called here over a
//! pool that never connects.

use std::time::Duration;

use domain::pseudonym::PseudonymKey;
use proptest::prelude::*;
use registry::statistics::FunnelQuery;
use registry::{Actor, Registry, RegistrySettings, Role, ServiceError};
use sqlx::postgres::PgPoolOptions;
use store::EventStore;

fn unconnected_registry() -> Registry {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("a lazy pool");
    let key = PseudonymKey::new("fuzz", b"fuzz-only pseudonym key, not for any use").unwrap();
    Registry::new(EventStore::new(pool), RegistrySettings::new(key))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn codes(answer: Result<impl std::fmt::Debug, ServiceError>) -> Vec<(String, String, String)> {
    match answer {
        Err(ServiceError::Invalid(errors)) => errors
            .into_iter()
            .map(|e| (e.field, e.code, e.message))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_year_outside_the_registrys_is_refused(
        year in prop_oneof![Just(i32::MIN), Just(i32::MAX), i32::MIN..1990, 2101..=i32::MAX],
        role in prop::sample::select(vec![Role::Admin, Role::Reviewer, Role::Supervisor]),
    ) {
        let runtime = runtime();
        let registry = runtime.block_on(async { unconnected_registry() });
        let actor = Actor::client("fuzz", role, None);
        let signals = codes(runtime.block_on(registry.signals(&actor, year, None)));
        prop_assert_eq!(signals[0].1.as_str(), "year_range");
        let query = FunnelQuery::default();
        let funnel = codes(runtime.block_on(registry.funnel(&actor, &query, year)));
        prop_assert_eq!(funnel[0].1.as_str(), "year_range");
    }

    #[test]
    fn an_unknown_kind_is_named_without_its_digits(
        kind in prop_oneof!["[a-z_]{0,12}", "[a-z]{0,4}[0-9]{10,13}", Just("041161 01292".to_string())],
    ) {
        let runtime = runtime();
        let registry = runtime.block_on(async { unconnected_registry() });
        let actor = Actor::client("fuzz", Role::Reviewer, None);
        let answer = runtime.block_on(registry.signals(&actor, 2025, Some(&kind)));
        if analysis::signals::SignalKind::parse(&kind).is_none() {
            let problems = codes(answer);
            prop_assert_eq!(problems[0].1.as_str(), "unknown_kind");
            let digits = |text: &str| text.chars().filter(char::is_ascii_digit).count();
            prop_assert!(digits(&problems[0].2) < 10, "{:?}", problems);
        }
    }
}
