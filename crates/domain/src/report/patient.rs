//! The patient an application concerns: named by identity number (then pseudonymised
//! here, before anything is stored) or by birth year and sex, and their county.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use crate::case::PatientFacts;
use crate::codes::CountyNumber;
use crate::identity::{validate_identity_number, Sex};
use crate::problems::Problems;
use crate::pseudonym::PatientPseudonym;

use super::context::ReportContext;
use super::fields::{object, parsed, required_in};

/// The patient field, read into the facts stored about a patient.
pub(super) fn patient(
    value: &Value,
    received_date: Option<NaiveDate>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> Option<PatientFacts> {
    let object = object(value, "patient", problems)?;
    reject_unknown_patient_fields(object, problems);
    let county = required_in(
        object,
        "patient.residence_county",
        "residence_county",
        problems,
    )
    .and_then(|v| parsed(v, "patient.residence_county", CountyNumber::parse, problems));
    let given_sex = object.get("sex").and_then(|v| sex(v, problems));
    let given_birth_year = object
        .get("birth_year")
        .and_then(|v| birth_year(v, context.today, problems));
    let facts = match object.get("fnr") {
        Some(fnr) => identified_patient(fnr, given_birth_year, given_sex, context, problems),
        None => anonymous_patient(object, given_birth_year, given_sex, problems),
    };
    // The birth year is checked even when the rest of the patient failed: the identity
    // number's when it was read, else the one given.
    let known_birth_year = facts
        .as_ref()
        .map(|(_, year, _)| *year)
        .or(given_birth_year);
    if let Some(year) = known_birth_year {
        check_born_by(year, received_date, problems);
    }
    let (pseudonym, birth_year, sex) = facts?;
    Some(PatientFacts {
        pseudonym,
        birth_year,
        sex,
        residence_county: county?,
    })
}

/// A patient is only ever these facts: anything else could be free text about them.
fn reject_unknown_patient_fields(object: &Map<String, Value>, problems: &mut Problems) {
    let allowed = ["fnr", "birth_year", "sex", "residence_county"];
    for field in object.keys().filter(|f| !allowed.contains(&f.as_str())) {
        problems.add(
            format!("patient.{field}"),
            "unknown_field",
            format!(
                "patient.{field} is not a known field; no free text about a patient is accepted"
            ),
        );
    }
}

/// The patient cannot be born after the application was received.
pub(super) fn check_born_by(
    birth_year: i32,
    received_date: Option<NaiveDate>,
    problems: &mut Problems,
) {
    if received_date.is_some_and(|received| birth_year > received.year()) {
        problems.add(
            "patient.birth_year",
            "birth_year_after_application",
            "the patient's birth year is after the application was received",
        );
    }
}

/// The pseudonym (when an identity number was given), birth year and sex of a patient.
type PatientIdentity = (Option<PatientPseudonym>, i32, Option<Sex>);

/// A patient reported with an identity number: it is checked, birth year and sex are read
/// from it, and it is replaced by its pseudonym here, before anything is stored.
fn identified_patient(
    fnr: &Value,
    given_birth_year: Option<i32>,
    given_sex: Option<Sex>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> Option<PatientIdentity> {
    let Some(number) = fnr.as_str() else {
        problems.add(
            "patient.fnr",
            "identity_number_format",
            "patient.fnr must be a string of 11 digits",
        );
        return None;
    };
    let identity = match validate_identity_number(
        number,
        context.today,
        context.accept_synthetic_identity_numbers,
    ) {
        Ok(identity) => identity,
        Err(error) => {
            problems.add("patient.fnr", error.code(), error.to_string());
            return None;
        }
    };
    if given_birth_year.is_some_and(|year| year != identity.birth_year()) {
        problems.add(
            "patient.birth_year",
            "birth_year_mismatch",
            "birth_year differs from the birth year in the identity number",
        );
    }
    let sex = match (identity.sex, given_sex) {
        (Some(derived), Some(given)) if derived != given => {
            problems.add(
                "patient.sex",
                "sex_mismatch",
                "sex differs from the sex the identity number gives",
            );
            None
        }
        (Some(derived), _) => Some(derived),
        (None, given) => given,
    };
    Some((
        Some(context.pseudonym_key.pseudonymise(&identity)),
        identity.birth_year(),
        sex,
    ))
}

fn anonymous_patient(
    object: &Map<String, Value>,
    given_birth_year: Option<i32>,
    given_sex: Option<Sex>,
    problems: &mut Problems,
) -> Option<PatientIdentity> {
    if !object.contains_key("birth_year") {
        problems.add(
            "patient.birth_year",
            "required",
            "patient needs either fnr or birth_year and sex",
        );
    }
    if !object.contains_key("sex") {
        problems.add(
            "patient.sex",
            "required",
            "patient needs either fnr or birth_year and sex",
        );
    }
    Some((None, given_birth_year?, Some(given_sex?)))
}

fn birth_year(value: &Value, today: NaiveDate, problems: &mut Problems) -> Option<i32> {
    if !value.is_i64() && !value.is_u64() {
        problems.add(
            "patient.birth_year",
            "invalid_type",
            "birth_year must be a whole number (e.g. 1966), not text or a fraction",
        );
        return None;
    }
    let year = value
        .as_i64()
        .filter(|y| (1890..=i64::from(today.year())).contains(y));
    if year.is_none() {
        problems.add(
            "patient.birth_year",
            "birth_year_range",
            format!(
                "birth_year must be a whole year from 1890 to {}",
                today.year()
            ),
        );
    }
    year.map(|y| y as i32)
}

fn sex(value: &Value, problems: &mut Problems) -> Option<Sex> {
    let sex = serde_json::from_value::<Sex>(value.clone()).ok();
    if sex.is_none() {
        problems.add(
            "patient.sex",
            "sex_value",
            "sex must be \"female\" or \"male\"",
        );
    }
    sex
}
