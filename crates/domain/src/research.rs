//! Research projects: what an approved project may receive, and whether it may receive it
//! today. A project is event sourced in its own stream (`research-project-{id}`): approved,
//! changed (the whole terms again), ended; every extract delivered is an event there too.
//!
//! The variables come from a fixed catalogue (`Variable`): nothing outside it can ever be
//! approved, so case references, organisations' case numbers, identity numbers and free
//! text cannot reach an extract whatever a project asks for.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::case::{Criterion, Scheme};
use crate::free_text::{check_text, TextKind};
use crate::problems::{FieldError, Problems};

/// The smallest k a project may have: the registry's small-count threshold.
pub const MIN_K: u32 = 5;
/// The k of a project that names none.
pub const DEFAULT_K: u32 = 5;
/// The largest k accepted (beyond it, nearly every row would be suppressed).
pub const MAX_K: u32 = 100;

/// A project's id as the admin gives it: 3 to 64 ASCII letters, digits, '-', '_' or '.',
/// so that it fits a path segment and a stream id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    pub fn parse(text: &str) -> Option<ProjectId> {
        let fits = (3..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        fits.then(|| ProjectId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ProjectId::parse(&text).ok_or_else(|| "not a project id".to_string())
    }
}

impl From<ProjectId> for String {
    fn from(id: ProjectId) -> String {
        id.0
    }
}

impl std::fmt::Display for ProjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stream that holds a project's life and its deliveries.
pub fn project_stream(id: &ProjectId) -> String {
    format!("research-project-{id}")
}

/// The catalogue of what an extract may carry, in the order of its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variable {
    PatientPseudonym,
    ApplicationYear,
    ApplicationQuarter,
    DecisionYear,
    DecisionQuarter,
    ProcessingDays,
    AgeBand,
    Sex,
    Residence,
    DecidingRegion,
    Scheme,
    MethodId,
    Atc,
    Icd10,
    Outcome,
    Criteria,
    RefusalReasons,
    AppealOutcome,
}

impl Variable {
    pub const ALL: [Variable; 18] = [
        Variable::PatientPseudonym,
        Variable::ApplicationYear,
        Variable::ApplicationQuarter,
        Variable::DecisionYear,
        Variable::DecisionQuarter,
        Variable::ProcessingDays,
        Variable::AgeBand,
        Variable::Sex,
        Variable::Residence,
        Variable::DecidingRegion,
        Variable::Scheme,
        Variable::MethodId,
        Variable::Atc,
        Variable::Icd10,
        Variable::Outcome,
        Variable::Criteria,
        Variable::RefusalReasons,
        Variable::AppealOutcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variable::PatientPseudonym => "patient_pseudonym",
            Variable::ApplicationYear => "application_year",
            Variable::ApplicationQuarter => "application_quarter",
            Variable::DecisionYear => "decision_year",
            Variable::DecisionQuarter => "decision_quarter",
            Variable::ProcessingDays => "processing_days",
            Variable::AgeBand => "age_band",
            Variable::Sex => "sex",
            Variable::Residence => "residence",
            Variable::DecidingRegion => "deciding_region",
            Variable::Scheme => "scheme",
            Variable::MethodId => "method_id",
            Variable::Atc => "atc",
            Variable::Icd10 => "icd10",
            Variable::Outcome => "outcome",
            Variable::Criteria => "criteria",
            Variable::RefusalReasons => "refusal_reasons",
            Variable::AppealOutcome => "appeal_outcome",
        }
    }

    pub fn parse(text: &str) -> Option<Variable> {
        Variable::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The CSV columns the variable fills: one, except the criteria (one per criterion).
    pub fn columns(self) -> Vec<String> {
        match self {
            Variable::Criteria => Criterion::ALL
                .iter()
                .map(|criterion| format!("criterion_{}", criterion.as_str()))
                .collect(),
            other => vec![other.as_str().to_string()],
        }
    }
}

/// What a project is approved for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTerms {
    pub title: String,
    pub institution: String,
    /// The approval's reference, e.g. the REK number.
    pub approval_ref: String,
    pub valid_from: NaiveDate,
    /// The last day the project may receive extracts.
    pub valid_until: NaiveDate,
    /// The approved variables, in catalogue order, each once.
    pub variables: Vec<Variable>,
    /// Cases received from this day ...
    pub period_from: NaiveDate,
    /// ... through this day.
    pub period_until: NaiveDate,
    /// The schemes whose cases the project may see, in catalogue order.
    pub schemes: Vec<Scheme>,
    /// Every quasi-identifier combination in an extract occurs at least k times.
    pub k: u32,
}

/// Terms as asked for: every field may be missing (a change names only what changes), and
/// variables and schemes are names still to be checked against their catalogues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermsInput {
    pub title: Option<String>,
    pub institution: Option<String>,
    pub approval_ref: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub variables: Option<Vec<String>>,
    pub period_from: Option<NaiveDate>,
    pub period_until: Option<NaiveDate>,
    pub schemes: Option<Vec<String>>,
    pub k: Option<u32>,
}

impl TermsInput {
    /// `self` with every field it leaves out taken from `current`.
    pub fn over(self, current: &ProjectTerms) -> TermsInput {
        let names = |items: Vec<&'static str>| items.into_iter().map(String::from).collect();
        TermsInput {
            title: self.title.or_else(|| Some(current.title.clone())),
            institution: self
                .institution
                .or_else(|| Some(current.institution.clone())),
            approval_ref: self
                .approval_ref
                .or_else(|| Some(current.approval_ref.clone())),
            valid_from: self.valid_from.or(Some(current.valid_from)),
            valid_until: self.valid_until.or(Some(current.valid_until)),
            variables: self.variables.or_else(|| {
                Some(names(
                    current.variables.iter().map(|v| v.as_str()).collect(),
                ))
            }),
            period_from: self.period_from.or(Some(current.period_from)),
            period_until: self.period_until.or(Some(current.period_until)),
            schemes: self
                .schemes
                .or_else(|| Some(names(current.schemes.iter().map(|s| s.as_str()).collect()))),
            k: self.k.or(Some(current.k)),
        }
    }

    /// The terms, or every problem with them.
    pub fn validate(self, today: NaiveDate) -> Result<ProjectTerms, Vec<FieldError>> {
        let mut problems = Problems::new();
        let title = required_line(self.title, "title", today, &mut problems);
        let institution = required_line(self.institution, "institution", today, &mut problems);
        let approval_ref = required_line(self.approval_ref, "approval_ref", today, &mut problems);
        let valid_from = required(self.valid_from, "valid_from", &mut problems);
        let valid_until = required(self.valid_until, "valid_until", &mut problems);
        let period_from = required(self.period_from, "period_from", &mut problems);
        let period_until = required(self.period_until, "period_until", &mut problems);
        ordered(valid_from, valid_until, "valid_until", &mut problems);
        ordered(period_from, period_until, "period_until", &mut problems);
        let variables = catalogued(self.variables, "variables", Variable::parse, &mut problems);
        let schemes = catalogued(self.schemes, "schemes", Scheme::parse, &mut problems);
        let k = self.k.unwrap_or(DEFAULT_K);
        if !(MIN_K..=MAX_K).contains(&k) {
            problems.add(
                "k",
                "out_of_range",
                format!("k must be from {MIN_K} to {MAX_K}"),
            );
        }
        problems.finish(|| ProjectTerms {
            title: title.unwrap_or_default(),
            institution: institution.unwrap_or_default(),
            approval_ref: approval_ref.unwrap_or_default(),
            valid_from: valid_from.unwrap_or(today),
            valid_until: valid_until.unwrap_or(today),
            variables,
            period_from: period_from.unwrap_or(today),
            period_until: period_until.unwrap_or(today),
            schemes,
            k,
        })
    }
}

fn required<T>(value: Option<T>, field: &str, problems: &mut Problems) -> Option<T> {
    if value.is_none() {
        problems.required(field);
    }
    value
}

fn required_line(
    value: Option<String>,
    field: &str,
    today: NaiveDate,
    problems: &mut Problems,
) -> Option<String> {
    let text = required(value, field, problems)?;
    if text.trim().is_empty() || text.chars().count() > 200 {
        problems.add(
            field,
            "length",
            format!("{field} must be 1 to 200 characters"),
        );
    }
    check_text(&text, field, TextKind::Line, today, problems);
    Some(text)
}

fn ordered(
    from: Option<NaiveDate>,
    until: Option<NaiveDate>,
    field: &str,
    problems: &mut Problems,
) {
    if let (Some(from), Some(until)) = (from, until) {
        if until < from {
            problems.add(
                field,
                "before_start",
                format!("{field} is before the start"),
            );
        }
    }
}

/// The names parsed against their catalogue, sorted and each once; every unknown name and
/// an empty list are problems.
fn catalogued<T: Ord + Copy>(
    names: Option<Vec<String>>,
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
    problems: &mut Problems,
) -> Vec<T> {
    let Some(names) = required(names, field, problems) else {
        return Vec::new();
    };
    if names.is_empty() {
        problems.add(field, "empty", format!("{field} must name at least one"));
    }
    let mut parsed = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match parse(name) {
            Some(value) => parsed.push(value),
            None => problems.add(
                format!("{field}[{index}]"),
                "unknown",
                format!("not in the catalogue of {field} (see docs/extracts.md)"),
            ),
        }
    }
    parsed.sort();
    parsed.dedup();
    parsed
}

/// A project as its events leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResearchProject {
    pub project_id: ProjectId,
    pub terms: ProjectTerms,
    pub ended_on: Option<NaiveDate>,
    pub extracts_delivered: u32,
}

/// Why a project may not receive an extract today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectClosed {
    NotYetValid,
    Expired,
    Ended,
}

impl ProjectClosed {
    pub fn code(self) -> &'static str {
        match self {
            ProjectClosed::NotYetValid => "project_not_yet_valid",
            ProjectClosed::Expired => "project_expired",
            ProjectClosed::Ended => "project_ended",
        }
    }
}

impl ResearchProject {
    /// Whether the project may receive an extract on `today`.
    pub fn open_on(&self, today: NaiveDate) -> Result<(), ProjectClosed> {
        match () {
            _ if self.ended_on.is_some() => Err(ProjectClosed::Ended),
            _ if today < self.terms.valid_from => Err(ProjectClosed::NotYetValid),
            _ if today > self.terms.valid_until => Err(ProjectClosed::Expired),
            _ => Ok(()),
        }
    }

    pub fn approves(&self, variable: Variable) -> bool {
        self.terms.variables.contains(&variable)
    }
}

/// The length of a project's pseudonym key, in bytes.
pub const PROJECT_KEY_LEN: usize = 32;

/// A patient as one project sees them: HMAC-SHA256 of the registry's pseudonym under the
/// project's own random key, in lowercase hex. Two projects' keys differ, so their files
/// cannot be linked; once the key is destroyed nobody can compute these again.
pub fn project_pseudonym(key: &[u8; PROJECT_KEY_LEN], registry_pseudonym: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(registry_pseudonym.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What an `ExtractDelivered` event records of one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The token the extract was delivered to, when a token asked.
    pub token_id: Option<uuid::Uuid>,
    pub variables: Vec<Variable>,
    pub rows: u64,
    pub rows_suppressed: u64,
    /// Each quasi-identifier with the level it was generalised to.
    pub generalisations: std::collections::BTreeMap<String, String>,
    /// SHA-256 of the file's bytes as sent, in lowercase hex.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::RegistryEvent;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn input() -> TermsInput {
        TermsInput {
            title: Some("Variasjon i unntak".into()),
            institution: Some("Universitetet i Oslo".into()),
            approval_ref: Some("REK 2025/123".into()),
            valid_from: Some(day("2025-01-01")),
            valid_until: Some(day("2026-12-31")),
            variables: Some(vec!["outcome".into(), "age_band".into(), "outcome".into()]),
            period_from: Some(day("2024-01-01")),
            period_until: Some(day("2025-12-31")),
            schemes: Some(vec!["individual_exemption".into()]),
            k: None,
        }
    }

    #[test]
    fn terms_take_catalogue_order_each_variable_once_and_default_k() {
        let terms = input().validate(day("2025-06-01")).expect("valid");
        assert_eq!(terms.variables, vec![Variable::AgeBand, Variable::Outcome]);
        assert_eq!(terms.k, DEFAULT_K);
    }

    #[test]
    fn every_problem_with_terms_is_named() {
        let bad = TermsInput {
            title: None,
            valid_until: Some(day("2024-01-01")),
            variables: Some(vec!["case_ref".into(), "fodselsnummer".into()]),
            schemes: Some(vec![]),
            k: Some(2),
            ..input()
        };
        let problems = bad.validate(day("2025-06-01")).expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "valid_until",
                "variables[0]",
                "variables[1]",
                "schemes",
                "k"
            ]
        );
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let terms = input().validate(day("2025-06-01")).expect("valid");
        let change = TermsInput {
            k: Some(10),
            ..TermsInput::default()
        };
        let changed = change
            .over(&terms)
            .validate(day("2025-06-01"))
            .expect("valid");
        assert_eq!(changed, ProjectTerms { k: 10, ..terms });
    }

    #[test]
    fn a_project_is_open_only_within_its_validity_and_until_it_ends() {
        let terms = input().validate(day("2025-06-01")).expect("valid");
        let id = ProjectId::parse("rek-2025-123").expect("an id");
        let approved = RegistryEvent::ResearchProjectApproved {
            project_id: id.clone(),
            terms,
        };
        let project = ResearchProject::fold([&approved]).expect("a project");
        assert_eq!(project.open_on(day("2025-06-01")), Ok(()));
        assert_eq!(
            project.open_on(day("2024-12-31")),
            Err(ProjectClosed::NotYetValid)
        );
        assert_eq!(
            project.open_on(day("2027-01-01")),
            Err(ProjectClosed::Expired)
        );
        let ended = RegistryEvent::ResearchProjectEnded {
            project_id: id,
            ended_on: day("2025-07-01"),
        };
        let project = ResearchProject::fold([&approved, &ended]).expect("a project");
        assert_eq!(
            project.open_on(day("2025-06-01")),
            Err(ProjectClosed::Ended)
        );
    }

    proptest::proptest! {
        #[test]
        fn pseudonyms_are_stable_within_a_project_and_differ_between_projects(
            one in proptest::array::uniform32(0u8..), other in proptest::array::uniform32(0u8..),
            patient in "k1:[0-9a-f]{64}",
        ) {
            proptest::prop_assume!(one != other);
            let first = project_pseudonym(&one, &patient);
            proptest::prop_assert_eq!(&first, &project_pseudonym(&one, &patient));
            proptest::prop_assert_ne!(&first, &project_pseudonym(&other, &patient));
            proptest::prop_assert!(!first.contains(&patient[3..]));
            proptest::prop_assert_eq!(first.len(), 64);
        }
    }

    #[test]
    fn project_ids_fit_a_path_segment() {
        for (text, valid) in [
            ("rek-2025-123", true),
            ("P1.a_b", true),
            ("ab", false),
            ("REK 2024/1234", false),
            ("a/b/c", false),
        ] {
            assert_eq!(ProjectId::parse(text).is_some(), valid, "{text}");
        }
    }
}
