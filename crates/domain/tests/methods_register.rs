//! The methods register: a method's statuses over time, and on which dates an individual
//! exemption is possible. Data-driven: one method's history, then a date and what holds on it.

mod common;

use common::*;
use domain::events::RegistryEvent;
use domain::methods::{Method, MethodStatus, StatusChange};

use MethodStatus::*;

const ID: &str = "ID2019_101";

fn method(events: &[RegistryEvent]) -> Method {
    Method::from_events(events).expect("a method")
}

/// `expected` is the status on `on` (or "none") and whether an individual exemption may be
/// decided that day.
fn check(method: &Method, on: &str, expected: (Option<MethodStatus>, bool)) {
    let actual = (
        method.status_on(date(on)),
        method.allows_individual_exemption_on(date(on)),
    );
    assert_eq!(actual, expected, "on {on}");
}

#[test]
fn a_method_without_events_does_not_exist() {
    assert_eq!(Method::from_events(&[]), None);
    // Events of other streams do not make a method.
    let case_events = [RegistryEvent::CaseRetracted {
        case_id: uuid::Uuid::nil(),
        reason: domain::case::RetractionReason::ReportedInError,
    }];
    assert_eq!(Method::from_events(&case_events), None);
}

#[test]
fn a_method_is_its_description_and_its_statuses_in_reported_order() {
    let events = [
        described(ID, "Gammelmab", &["L01XC"]),
        status(ID, UnderAssessment, "2019-05-01", None),
        described(ID, "Nymab", &["L01FF02", "L01XC"]),
        status(ID, Introduced, "2020-02-17", Some("2020-03-01")),
    ];
    let method = method(&events);
    assert_eq!(method.method_id, method_id(ID));
    let description = method.description.as_ref().unwrap();
    assert_eq!(description.name, "Nymab");
    assert_eq!(description.atc.len(), 2);
    assert_eq!(
        method.statuses,
        [
            StatusChange {
                status: UnderAssessment,
                decision_date: date("2019-05-01"),
                effective_from: None
            },
            StatusChange {
                status: Introduced,
                decision_date: date("2020-02-17"),
                effective_from: Some(date("2020-03-01"))
            },
        ]
    );
    assert_eq!(method.statuses[0].in_force_from(), date("2019-05-01"));
    assert_eq!(method.statuses[1].in_force_from(), date("2020-03-01"));
    assert_eq!(method.current_status(), Some(Introduced));
}

#[test]
fn a_status_alone_makes_a_method_without_a_description() {
    let method = method(&[status(ID, UnderAssessment, "2019-05-01", None)]);
    assert_eq!(method.description, None);
    assert_eq!(method.current_status(), Some(UnderAssessment));
}

#[test]
fn a_yes_ends_exemptions_when_the_method_can_be_used_not_at_the_meeting() {
    let method = method(&[
        status(ID, UnderAssessment, "2019-05-01", None),
        status(ID, Introduced, "2020-02-17", Some("2020-03-01")),
    ]);
    check(&method, "2019-04-30", (None, false));
    check(&method, "2019-05-01", (Some(UnderAssessment), true));
    check(&method, "2020-02-16", (Some(UnderAssessment), true));
    check(&method, "2020-02-17", (Some(UnderAssessment), true));
    check(&method, "2020-02-29", (Some(UnderAssessment), true));
    check(&method, "2020-03-01", (Some(Introduced), false));
    check(&method, "2024-01-01", (Some(Introduced), false));
}

#[test]
fn a_no_ends_exemptions_from_its_decision_date() {
    let method = method(&[
        status(ID, UnderAssessment, "2019-05-01", None),
        status(ID, NotIntroduced, "2020-02-17", None),
    ]);
    check(&method, "2020-02-16", (Some(UnderAssessment), true));
    check(&method, "2020-02-17", (Some(NotIntroduced), false));
}

#[test]
fn a_reassessment_opens_exemptions_again() {
    let method = method(&[
        status(ID, UnderAssessment, "2019-05-01", None),
        status(ID, NotIntroduced, "2020-02-17", None),
        status(ID, Reassessment, "2023-09-18", None),
        status(ID, Introduced, "2024-06-24", Some("2024-08-01")),
    ]);
    check(&method, "2021-01-01", (Some(NotIntroduced), false));
    check(&method, "2023-09-18", (Some(Reassessment), true));
    check(&method, "2024-07-31", (Some(Reassessment), true));
    check(&method, "2024-08-01", (Some(Introduced), false));
    assert_eq!(method.current_status(), Some(Introduced));
}

#[test]
fn the_status_in_force_does_not_depend_on_the_order_reported() {
    // The "yes" is reported before the earlier status, as a late back-fill would do.
    let method = method(&[
        status(ID, Introduced, "2020-02-17", Some("2020-03-01")),
        status(ID, UnderAssessment, "2019-05-01", None),
    ]);
    check(&method, "2019-06-01", (Some(UnderAssessment), true));
    check(&method, "2020-03-01", (Some(Introduced), false));
    assert_eq!(method.current_status(), Some(Introduced));
}

#[test]
fn of_two_statuses_in_force_from_one_day_the_later_decision_holds() {
    let method = method(&[
        status(ID, NotIntroduced, "2020-02-17", Some("2020-03-01")),
        status(ID, Introduced, "2020-02-24", Some("2020-03-01")),
    ]);
    check(&method, "2020-03-01", (Some(Introduced), false));
}

#[test]
fn the_fixture_register_has_its_three_kinds_of_method() {
    let fixture = Fixture::new();
    let get = |id: &str| &fixture.methods[&method_id(id)];
    check(get(UNDER_ASSESSMENT), TODAY, (Some(UnderAssessment), true));
    check(get(NOT_INTRODUCED), TODAY, (Some(NotIntroduced), false));
    check(
        get(INTRODUCED),
        INTRODUCED_DECIDED,
        (Some(UnderAssessment), true),
    );
    check(
        get(INTRODUCED),
        INTRODUCED_USABLE_FROM,
        (Some(Introduced), false),
    );
}

#[test]
fn a_method_has_a_stream_of_its_own() {
    assert_eq!(
        domain::methods::method_stream(&method_id("id2021_047")),
        "method-ID2021_047"
    );
}
