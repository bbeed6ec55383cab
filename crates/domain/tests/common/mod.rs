//! Shared fixtures for the domain tests: a fixed "today", an organisation register taken
//! from `shared/reference/organisations.csv`, a small methods register, one valid report
//! body per scheme, and a way to build identity numbers with the right check digits.
//!
//! Every test file includes this module but uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use domain::case::Case;
use domain::codes::{AtcCode, MethodId};
use domain::commands::{handle, Accepted, CaseCommand, CommandError};
use domain::events::RegistryEvent;
use domain::methods::{Method, MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::{Organisation, OrganisationKind};
use domain::pseudonym::PseudonymKey;
use domain::report::ReportContext;

// ---- Organisations (numbers from the reference list) -----------------------------------

pub const HELSE_SOR_OST: &str = "991324968";
pub const HELSE_VEST: &str = "983658725";
pub const HELSE_MIDT_NORGE: &str = "983658776";
pub const HELSE_NORD: &str = "883658752";
pub const OSLO_UNIVERSITETSSYKEHUS: &str = "993467049";
pub const HELSE_BERGEN: &str = "983974724";
pub const ST_OLAVS: &str = "883974832";
pub const UNN: &str = "983974899";
pub const LOVISENBERG: &str = "965985166";
pub const HELSEDIREKTORATET: &str = "983544622";
/// In the reference list, but marked inactive here, as if it had merged into another trust.
pub const INACTIVE_TRUST: &str = "983974791";
/// A real, well-formed organisation number that is not in this register.
pub const NOT_REGISTERED: &str = "983975259";

// ---- Methods ---------------------------------------------------------------------------

/// Under assessment since 2023; its substance is L01FF02.
pub const UNDER_ASSESSMENT: &str = "ID2023_045";
/// Introduced by a decision on 2025-04-22 that could be used from 2025-05-15.
pub const INTRODUCED: &str = "ID2022_010";
pub const INTRODUCED_DECIDED: &str = "2025-04-22";
pub const INTRODUCED_USABLE_FROM: &str = "2025-05-15";
/// Not introduced, by a decision on 2024-01-22.
pub const NOT_INTRODUCED: &str = "ID2021_047";
/// Well-formed, but not in the register.
pub const UNKNOWN_METHOD: &str = "ID2020_001";

// ---- Dates -----------------------------------------------------------------------------

pub const TODAY: &str = "2025-06-15";
pub const RECEIVED: &str = "2025-03-03";
pub const DECIDED: &str = "2025-03-20";

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

// ---- Identity numbers ------------------------------------------------------------------

/// A classic fødselsnummer: born 12 March 1985, female (pseudonym.rs uses it too).
pub const FNR_FEMALE_1985: &str = "12038512437";
/// A D-number for the same birth date: female, 1985.
pub const D_NUMBER_FEMALE_1985: &str = "52038512420";
/// Skatteetaten's example of a number under the 2032 rule: born 1982, no sex.
pub const FNR_2032_RULE_1982: &str = "30108299939";
/// Skatteetaten's twin example whose K1 fits the classic rule: male, 1982.
pub const FNR_MALE_1982: &str = "30108299920";

/// Completes nine digits with check digits so that K1 leaves `k1_remainder` (0 for the
/// classic rule, 1 to 3 for the 2032 rule).
pub fn complete_identity_number(first_nine: &str, k1_remainder: u32) -> String {
    const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let mut digits: Vec<u32> = first_nine
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let sum1: u32 = digits.iter().zip(K1).map(|(d, w)| d * w).sum();
    let k1 = (k1_remainder + 11 - sum1 % 11) % 11;
    assert!(k1 < 10, "no K1 for {first_nine}");
    digits.push(k1);
    let sum2: u32 = digits.iter().zip(K2).map(|(d, w)| d * w).sum();
    let k2 = (11 - sum2 % 11) % 11;
    assert!(k2 < 10, "no K2 for {first_nine}");
    format!("{first_nine}{k1}{k2}")
}

pub fn classic_identity_number(first_nine: &str) -> String {
    complete_identity_number(first_nine, 0)
}

/// One of Skatteetaten's synthetic test numbers (month + 80): born 1985, female.
pub fn synthetic_identity_number() -> String {
    classic_identity_number("128385122")
}

// ---- The register and the context ------------------------------------------------------

pub struct Fixture {
    pub today: NaiveDate,
    pub key: PseudonymKey,
    pub accept_synthetic: bool,
    pub organisations: HashMap<OrganisationNumber, Organisation>,
    pub methods: HashMap<MethodId, Method>,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            today: date(TODAY),
            key: PseudonymKey::new("k1", b"test secret for unntak pseudonyms").unwrap(),
            accept_synthetic: false,
            organisations: organisations(),
            methods: methods(),
        }
    }

    pub fn accepting_synthetic_numbers() -> Fixture {
        Fixture {
            accept_synthetic: true,
            ..Fixture::new()
        }
    }

    pub fn context(&self) -> ReportContext<'_> {
        ReportContext {
            today: self.today,
            pseudonym_key: &self.key,
            accept_synthetic_identity_numbers: self.accept_synthetic,
            organisations: &self.organisations,
            methods: &self.methods,
        }
    }
}

pub fn org(number: &str) -> OrganisationNumber {
    OrganisationNumber::parse(number).expect("a valid organisation number")
}

fn organisations() -> HashMap<OrganisationNumber, Organisation> {
    use OrganisationKind::*;
    let entries = [
        (
            HELSE_SOR_OST,
            "Helse Sør-Øst RHF",
            Rhf,
            Some(HELSE_SOR_OST),
            true,
        ),
        (HELSE_VEST, "Helse Vest RHF", Rhf, Some(HELSE_VEST), true),
        (
            HELSE_MIDT_NORGE,
            "Helse Midt-Norge RHF",
            Rhf,
            Some(HELSE_MIDT_NORGE),
            true,
        ),
        (HELSE_NORD, "Helse Nord RHF", Rhf, Some(HELSE_NORD), true),
        (
            OSLO_UNIVERSITETSSYKEHUS,
            "Oslo universitetssykehus HF",
            Hf,
            Some(HELSE_SOR_OST),
            true,
        ),
        (HELSE_BERGEN, "Helse Bergen HF", Hf, Some(HELSE_VEST), true),
        (
            ST_OLAVS,
            "St. Olavs hospital HF",
            Hf,
            Some(HELSE_MIDT_NORGE),
            true,
        ),
        (
            UNN,
            "Universitetssykehuset Nord-Norge HF",
            Hf,
            Some(HELSE_NORD),
            true,
        ),
        (
            LOVISENBERG,
            "Lovisenberg Diakonale Sykehus",
            PrivateNonprofit,
            Some(HELSE_SOR_OST),
            true,
        ),
        (
            HELSEDIREKTORATET,
            "Helsedirektoratet (Helfo)",
            NationalAgency,
            None,
            true,
        ),
        (
            INACTIVE_TRUST,
            "Helse Nord-Trøndelag HF",
            Hf,
            Some(HELSE_MIDT_NORGE),
            false,
        ),
    ];
    entries
        .into_iter()
        .map(|(number, name, kind, region, active)| {
            let organisation = Organisation {
                org_number: org(number),
                name: name.to_string(),
                kind,
                region_org_number: region.map(org),
                active,
            };
            (org(number), organisation)
        })
        .collect()
}

pub fn method_id(id: &str) -> MethodId {
    MethodId::parse(id).expect("a valid method id")
}

pub fn described(id: &str, name: &str, atc: &[&str]) -> RegistryEvent {
    RegistryEvent::MethodDescribed {
        method_id: method_id(id),
        description: MethodDescription {
            name: name.to_string(),
            atc: atc
                .iter()
                .map(|code| AtcCode::parse(code).unwrap())
                .collect(),
            indication: "test indication".to_string(),
        },
    }
}

pub fn status(
    id: &str,
    status: MethodStatus,
    decision_date: &str,
    effective_from: Option<&str>,
) -> RegistryEvent {
    RegistryEvent::MethodStatusChanged {
        method_id: method_id(id),
        status,
        decision_date: date(decision_date),
        effective_from: effective_from.map(date),
    }
}

/// The events of the three methods in the register.
pub fn method_events() -> Vec<Vec<RegistryEvent>> {
    use MethodStatus::*;
    vec![
        vec![
            described(UNDER_ASSESSMENT, "Pembrolizumab", &["L01FF02"]),
            status(UNDER_ASSESSMENT, UnderAssessment, "2023-03-06", None),
        ],
        vec![
            described(INTRODUCED, "Introdusertmab", &[]),
            status(INTRODUCED, UnderAssessment, "2022-01-24", None),
            status(
                INTRODUCED,
                Introduced,
                INTRODUCED_DECIDED,
                Some(INTRODUCED_USABLE_FROM),
            ),
        ],
        vec![
            status(NOT_INTRODUCED, UnderAssessment, "2021-04-12", None),
            status(NOT_INTRODUCED, NotIntroduced, "2024-01-22", None),
        ],
    ]
}

fn methods() -> HashMap<MethodId, Method> {
    method_events()
        .iter()
        .map(|events| {
            let method = Method::from_events(events).expect("a method");
            (method.method_id.clone(), method)
        })
        .collect()
}

// ---- Report bodies ---------------------------------------------------------------------

/// A report body, changed one field at a time. Paths are dotted: `patient.fnr`.
#[derive(Debug, Clone)]
pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn set(mut self, path: &str, value: Value) -> Body {
        let (parents, last) = split_path(path);
        let mut object = &mut self.0;
        for parent in parents {
            object = object
                .entry(parent.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("an object on the path");
        }
        object.insert(last.to_string(), value);
        self
    }

    pub fn without(mut self, path: &str) -> Body {
        let (parents, last) = split_path(path);
        let mut object = &mut self.0;
        for parent in parents {
            object = object
                .get_mut(parent)
                .and_then(Value::as_object_mut)
                .expect("an object on the path");
        }
        object.remove(last);
        self
    }

    /// The body without its decision, as `POST /cases` takes it.
    pub fn application_only(self) -> Body {
        ["decided_date", "outcome", "criteria", "refusal_reasons"]
            .into_iter()
            .fold(self, Body::without)
    }

    pub fn map(&self) -> &Map<String, Value> {
        &self.0
    }
}

fn split_path(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("a path");
    (parts, last)
}

fn body(value: Value) -> Body {
    match value {
        Value::Object(map) => Body(map),
        _ => unreachable!(),
    }
}

/// Decided by the trust (Oslo universitetssykehus) for a patient named by fødselsnummer.
pub fn individual_exemption() -> Body {
    body(json!({
        "report_id": "0b6f3f4e-5a2b-4c1d-9e8f-7a6b5c4d3e2f",
        "case_ref": "OUS-2025/0117",
        "deciding_org": OSLO_UNIVERSITETSSYKEHUS,
        "scheme": "individual_exemption",
        "method_id": UNDER_ASSESSMENT,
        "indication_icd10": "C34.1",
        "atc": "L01FF02",
        "patient": {"fnr": FNR_FEMALE_1985, "residence_county": "03"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "granted",
        "criteria": {
            "marketing_authorisation": true,
            "standard_treatment_unsuitable": true,
            "substantially_larger_effect": true
        }
    }))
}

/// Decided by the interregional meeting through Helse Vest, applied for via Helse Bergen.
pub fn group_exemption() -> Body {
    body(json!({
        "case_ref": "HV-GU-2025-3",
        "deciding_org": HELSE_VEST,
        "applying_org": HELSE_BERGEN,
        "scheme": "group_exemption",
        "method_id": UNDER_ASSESSMENT,
        "indication_icd10": "C34",
        "group": {"expected_patients": 12, "description": "ikke-småcellet lungekreft, PD-L1 under 1 %"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "granted",
        "criteria": {"benefit": true, "resource_use": true, "severity": true}
    }))
}

/// Decided after a "no" by the committee through Helse Sør-Øst, applied for via OUS.
pub fn individual_access() -> Body {
    body(json!({
        "case_ref": "HSO-IT-2025-017",
        "deciding_org": HELSE_SOR_OST,
        "applying_org": OSLO_UNIVERSITETSSYKEHUS,
        "scheme": "individual_access",
        "method_id": NOT_INTRODUCED,
        "indication_icd10": "G12.1",
        "patient": {"birth_year": 2019, "sex": "male", "residence_county": "32"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "granted",
        "criteria": {
            "benefit": true, "resource_use": false, "severity": true,
            "exceptional_on": ["severity", "added_effect"]
        }
    }))
}

/// Decided during a re-assessment by Helse Nord, applied for via UNN; refused.
pub fn reassessment_access() -> Body {
    body(json!({
        "case_ref": "HN-RV-9",
        "deciding_org": HELSE_NORD,
        "applying_org": UNN,
        "scheme": "reassessment_access",
        "method_id": NOT_INTRODUCED,
        "indication_icd10": "E75.2",
        "patient": {"fnr": FNR_MALE_1982, "residence_county": "55"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "refused",
        "criteria": {"benefit": false, "resource_use": false, "severity": true},
        "refusal_reasons": ["criteria_not_met"]
    }))
}

/// Decided by Helsedirektoratet (Helfo) on blue prescription section 3.
pub fn helfo_individual() -> Body {
    body(json!({
        "case_ref": "HELFO-2025-88812",
        "deciding_org": HELSEDIREKTORATET,
        "scheme": "helfo_individual",
        "method_id": UNDER_ASSESSMENT,
        "indication_icd10": "E66.0",
        "patient": {"birth_year": 1971, "sex": "female", "residence_county": "46"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "refused",
        "criteria": {"differs_clearly_from_group": false},
        "refusal_reasons": ["criteria_not_met", "insufficient_documentation"]
    }))
}

/// Compassionate use decided by a private hospital with an agreement.
pub fn early_access() -> Body {
    body(json!({
        "case_ref": "LDS-CUP-4",
        "deciding_org": LOVISENBERG,
        "scheme": "early_access",
        "method_id": UNDER_ASSESSMENT,
        "indication_icd10": "C91.1",
        "patient": {"fnr": D_NUMBER_FEMALE_1985, "residence_county": "03"},
        "received_date": RECEIVED,
        "decided_date": DECIDED,
        "outcome": "granted",
        "criteria": {}
    }))
}

pub fn all_schemes() -> Vec<(&'static str, Body)> {
    vec![
        ("individual_exemption", individual_exemption()),
        ("group_exemption", group_exemption()),
        ("individual_access", individual_access()),
        ("reassessment_access", reassessment_access()),
        ("helfo_individual", helfo_individual()),
        ("early_access", early_access()),
    ]
}

// ---- Commands --------------------------------------------------------------------------

/// The case as these past events leave it.
pub fn given(events: &[RegistryEvent]) -> Option<Case> {
    Case::from_events(events)
}

pub fn when(
    fixture: &Fixture,
    case: Option<&Case>,
    command: CaseCommand<'_>,
) -> Result<Accepted, CommandError> {
    handle(case, command, &fixture.context())
}

/// The events a valid report of `body` produces (with its decision when it has one).
pub fn reported(fixture: &Fixture, body: &Body) -> Vec<RegistryEvent> {
    let with_decision = body.0.contains_key("outcome");
    let command = CaseCommand::Report {
        body: body.map(),
        with_decision,
    };
    match handle(None, command, &fixture.context()) {
        Ok(accepted) => accepted.events,
        Err(error) => panic!("the fixture body is valid, but: {error:?}"),
    }
}

/// The field errors of a refused command, as "field code" strings, sorted.
pub fn field_errors(result: Result<Accepted, CommandError>) -> Vec<String> {
    match result {
        Err(CommandError::Invalid(errors)) => {
            let mut found: Vec<String> = errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.code))
                .collect();
            found.sort();
            found
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}
