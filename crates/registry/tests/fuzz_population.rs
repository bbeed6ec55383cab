//! Properties of the population import (`PUT /api/v1/population/{year}`, CSV
//! `county_number,population`), over generated files: arbitrary bytes never panic and are
//! refused with problems; a whole file reads back exactly; a figure out of bounds, a
//! county listed twice or missing, and a year out of bounds are each refused with a
//! problem naming the line, and no problem repeats a long digit run from the file.
//!
//! The year and the file are checked before anything is written, so the service is
//! called here over a pool that never connects. Short by default; `PROPTEST_CASES=100000`
//! runs them long.

use std::time::Duration;

use domain::codes::COUNTIES;
use domain::free_text::{contains_identity_number, digit_value};
use domain::problems::FieldError;
use domain::pseudonym::PseudonymKey;
use proptest::prelude::*;
use registry::population::parse_population;
use registry::{Actor, Registry, RegistrySettings, Role, ServiceError};
use sqlx::postgres::PgPoolOptions;
use store::EventStore;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

const MAX_RESIDENTS: u64 = 6_000_000;

// ---- What no problem may carry --------------------------------------------------------------

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | '-' | '\u{2010}'..='\u{2014}' | '\u{2212}')
}

fn longest_digit_run(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut longest, mut current) = (0, 0);
    for (at, c) in chars.iter().enumerate() {
        if digit_value(*c).is_some() {
            current += 1;
            longest = longest.max(current);
        } else if !(current > 0
            && is_separator(*c)
            && chars
                .get(at + 1)
                .is_some_and(|next| digit_value(*next).is_some()))
        {
            current = 0;
        }
    }
    longest
}

fn check_problems(errors: &[FieldError]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "refused without a problem");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    for error in errors {
        for text in [&error.field, &error.message] {
            prop_assert!(longest_digit_run(text) < 10, "{:?}", text);
            prop_assert!(!contains_identity_number(text, today), "{:?}", text);
        }
    }
    Ok(())
}

fn problems_of(csv: &[u8]) -> Result<Vec<FieldError>, TestCaseError> {
    match parse_population(csv) {
        Ok(_) => Ok(Vec::new()),
        Err(ServiceError::Invalid(errors)) => {
            check_problems(&errors)?;
            Ok(errors)
        }
        Err(other) => Err(TestCaseError::fail(format!("unexpected {other:?}"))),
    }
}

// ---- Generated files ------------------------------------------------------------------------

/// Every county once, in some order, each with a plausible figure.
fn whole_file() -> impl Strategy<Value = Vec<(String, u64)>> {
    let counties: Vec<String> = COUNTIES.iter().map(|c| c.number.to_string()).collect();
    (
        Just(counties).prop_shuffle(),
        prop::collection::vec(1..=MAX_RESIDENTS, COUNTIES.len()),
    )
        .prop_map(|(counties, figures)| counties.into_iter().zip(figures).collect())
}

/// A file's text: the header, one line per row (a cell padded with spaces here and there),
/// LF or CRLF line ends.
fn render(rows: &[(String, String)], crlf: bool, padded: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("county_number,population{end}");
    for (county, population) in rows {
        match padded {
            true => text.push_str(&format!(" {county} , {population} {end}")),
            false => text.push_str(&format!("{county},{population}{end}")),
        }
    }
    text
}

/// A figure that is not a whole number of residents from 1 to 6 000 000.
fn bad_figure() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        (MAX_RESIDENTS + 1..=u64::MAX).prop_map(|n| n.to_string()),
        Just("99999999999999999999999".to_string()),
        Just("12038512437".to_string()),
        Just("120385 12437".to_string()),
        Just("-5".to_string()),
        Just("1e6".to_string()),
        Just("12 000".to_string()),
        Just("5.5".to_string()),
        Just(String::new()),
        "[a-zA-Z ]{1,8}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_read_or_are_refused_with_problems(
        csv in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            prop::collection::vec("[0-9a-z,\" \\n]{0,20}", 0..20).prop_map(|lines| lines.join("\n").into_bytes()),
            prop::collection::vec(("[0-9]{1,3}", "[0-9]{0,12}"), 0..20).prop_map(|rows| {
                let rows: Vec<(String, String)> = rows;
                render(&rows, false, false).into_bytes()
            }),
        ],
    ) {
        problems_of(&csv)?;
    }

    #[test]
    fn a_whole_file_reads_back_exactly(rows in whole_file(), crlf in any::<bool>(), padded in any::<bool>()) {
        let text: Vec<(String, String)> = rows.iter().map(|(c, n)| (c.clone(), n.to_string())).collect();
        let read = parse_population(render(&text, crlf, padded).as_bytes());
        let read = read.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(read.len(), COUNTIES.len());
        for ((county, population), row) in rows.iter().zip(&read) {
            prop_assert_eq!(row.county_number.as_str(), county.as_str());
            prop_assert_eq!(row.population, *population);
        }
    }

    #[test]
    fn a_figure_out_of_bounds_is_refused_on_its_line(
        rows in whole_file(),
        at in 0..COUNTIES.len(),
        figure in bad_figure(),
    ) {
        let mut text: Vec<(String, String)> = rows.iter().map(|(c, n)| (c.clone(), n.to_string())).collect();
        text[at].1 = figure;
        let errors = problems_of(render(&text, false, false).as_bytes())?;
        let line = format!("line {}", at + 2);
        prop_assert!(
            errors.iter().any(|e| e.field == line
                && ["population_range", "population_value", "csv_format"].contains(&e.code.as_str())),
            "{:?}", errors
        );
    }

    #[test]
    fn a_county_listed_twice_or_missing_or_unknown_is_refused(
        rows in whole_file(),
        at in 0..COUNTIES.len(),
        other in 0..COUNTIES.len(),
        change in 0..3u8,
    ) {
        let mut text: Vec<(String, String)> = rows.iter().map(|(c, n)| (c.clone(), n.to_string())).collect();
        let expected = match change {
            0 => {
                text.remove(at);
                "county_missing"
            }
            1 => {
                prop_assume!(at != other);
                text[at].0 = text[other].0.clone();
                "duplicate_county"
            }
            _ => {
                text[at].0 = "01".to_string();
                "county_unknown"
            }
        };
        let errors = problems_of(render(&text, false, false).as_bytes())?;
        prop_assert!(errors.iter().any(|e| e.code == expected), "{:?}", errors);
    }
}

/// A registry whose pool never connects: the import checks its year and its file first.
fn unconnected_registry() -> Registry {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("a lazy pool");
    let key = PseudonymKey::new("fuzz", b"fuzz-only pseudonym key, not for any use").unwrap();
    Registry::new(EventStore::new(pool), RegistrySettings::new(key))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_year_out_of_bounds_is_refused_before_the_file_is_read(
        year in prop_oneof![i32::MIN..1990, 2101..=i32::MAX],
        csv in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let registry = runtime.block_on(async { unconnected_registry() });
        let admin = Actor::client("fuzz", Role::Admin, None);
        let answer = runtime.block_on(registry.import_population(&admin, year, &csv));
        match answer {
            Err(ServiceError::Invalid(errors)) => {
                check_problems(&errors)?;
                prop_assert_eq!(errors[0].code.as_str(), "year_range");
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
        // Only admins import, whatever the year.
        let reviewer = Actor::client("fuzz", Role::Reviewer, None);
        let answer = runtime.block_on(registry.import_population(&reviewer, year, &csv));
        prop_assert!(matches!(answer, Err(ServiceError::Forbidden(_))), "{:?}", answer);
    }
}
