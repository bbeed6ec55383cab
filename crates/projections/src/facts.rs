//! Case facts: one row per case as corrected, derived from the case's events in order.
//! Pure: the projector loads rows, applies events here and writes the rows back.

use analysis::calendar;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::case::{age_at, age_band, Application, Decision, Outcome};
use domain::events::RegistryEvent;
use domain::organisation_register::Organisation;
use serde_json::Value;
use uuid::Uuid;

/// Regions of organisations, as the projection knows them.
pub trait RegionOf {
    /// The regional health authority an organisation belongs to.
    fn region_of(&self, org_number: &str) -> Option<String>;
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct CaseFact {
    pub case_id: Uuid,
    pub scheme: String,
    pub method_id: String,
    pub atc: Option<String>,
    pub icd10: String,
    pub icd10_category: String,
    pub icd10_chapter: String,
    pub deciding_org: String,
    pub deciding_region: Option<String>,
    pub applying_org: String,
    pub applying_region: Option<String>,
    pub residence_county: Option<String>,
    pub residence_region: Option<String>,
    pub birth_year: Option<i32>,
    pub age_at_application: Option<i32>,
    pub age_band: Option<String>,
    pub sex: Option<String>,
    pub expected_patients: Option<i32>,
    pub received_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
    pub outcome: Option<String>,
    pub criteria: Option<Value>,
    pub criteria_complete: Option<bool>,
    pub refusal_reasons: Vec<String>,
    pub processing_days: Option<i32>,
    pub appeals_lodged: i32,
    pub appeals_decided: i32,
    pub appeals_overturned: i32,
    pub corrections: i32,
    pub retracted: bool,
    pub reported_at: DateTime<Utc>,
    pub decision_reported_at: Option<DateTime<Utc>>,
    /// The registry's keyed pseudonym of the patient, for research extracts only (which
    /// hash it again under a project's own key); never in a statistic.
    pub patient_pseudonym: Option<String>,
}

/// One appeal as statistics need it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct AppealFact {
    pub appeal_id: Uuid,
    pub case_id: Uuid,
    pub lodged_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
    pub outcome: Option<String>,
    pub duration_days: Option<i32>,
}

/// The key a decided case is counted under in `decision_counts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DecisionKey {
    pub year: i32,
    pub quarter: i32,
    pub deciding_region: String,
    pub deciding_org: String,
    pub residence_region: String,
    pub scheme: String,
    pub method_id: String,
    pub icd10_category: String,
    pub outcome: String,
}

/// Stands for an unknown region in count keys (the key columns are not nullable).
pub const UNKNOWN: &str = "";

impl CaseFact {
    /// A new case, from its application.
    pub fn received(
        case_id: Uuid,
        application: &Application,
        reported_at: DateTime<Utc>,
        regions: &impl RegionOf,
    ) -> CaseFact {
        let mut fact = CaseFact {
            case_id,
            scheme: String::new(),
            method_id: String::new(),
            atc: None,
            icd10: String::new(),
            icd10_category: String::new(),
            icd10_chapter: String::new(),
            deciding_org: String::new(),
            deciding_region: None,
            applying_org: String::new(),
            applying_region: None,
            residence_county: None,
            residence_region: None,
            birth_year: None,
            age_at_application: None,
            age_band: None,
            sex: None,
            expected_patients: None,
            received_date: application.received_date,
            decided_date: None,
            outcome: None,
            criteria: None,
            criteria_complete: None,
            refusal_reasons: Vec::new(),
            processing_days: None,
            appeals_lodged: 0,
            appeals_decided: 0,
            appeals_overturned: 0,
            corrections: 0,
            retracted: false,
            reported_at,
            decision_reported_at: None,
            patient_pseudonym: None,
        };
        fact.set_application(application, regions);
        fact
    }

    fn set_application(&mut self, application: &Application, regions: &impl RegionOf) {
        self.scheme = application.scheme.as_str().to_string();
        self.method_id = application.method_id.as_str().to_string();
        self.atc = application.atc.as_ref().map(|a| a.as_str().to_string());
        self.icd10 = application.indication_icd10.as_str().to_string();
        self.icd10_category = application.indication_icd10.category().to_string();
        self.icd10_chapter = application.indication_icd10.chapter().to_string();
        self.deciding_org = application.deciding_org.as_str().to_string();
        self.deciding_region = regions.region_of(&self.deciding_org);
        self.applying_org = application.applying_org.as_str().to_string();
        self.applying_region = regions.region_of(&self.applying_org);
        self.received_date = application.received_date;
        let patient = application.patient.as_ref();
        self.patient_pseudonym = patient
            .and_then(|p| p.pseudonym.as_ref())
            .map(|pseudonym| pseudonym.as_str().to_string());
        self.residence_county = patient.map(|p| p.residence_county.as_str().to_string());
        self.residence_region = patient.map(|p| {
            p.residence_county
                .county()
                .health_authority_org_number
                .to_string()
        });
        self.birth_year = patient.map(|p| p.birth_year);
        self.age_at_application = patient.map(|p| age_at(p.birth_year, application.received_date));
        self.age_band = self.age_at_application.map(|age| age_band(age).to_string());
        self.sex = patient.and_then(|p| p.sex).map(|sex| {
            serde_json::to_value(sex)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        });
        self.expected_patients = application
            .group
            .as_ref()
            .map(|g| g.expected_patients as i32);
        self.update_processing_days();
    }

    fn set_decision(&mut self, decision: Option<&Decision>) {
        self.decided_date = decision.map(|d| d.decided_date);
        self.outcome = decision.map(|d| match d.outcome {
            Outcome::Granted => "granted".to_string(),
            Outcome::Refused => "refused".to_string(),
        });
        self.criteria =
            decision.map(|d| serde_json::to_value(&d.criteria).expect("criteria serialise"));
        self.criteria_complete = decision.and_then(|d| {
            domain::case::Scheme::parse(&self.scheme)
                .map(|scheme| d.criteria.is_complete_for(scheme))
        });
        self.refusal_reasons = decision
            .map(|d| {
                d.refusal_reasons
                    .iter()
                    .filter_map(|r| serde_json::to_value(r).ok()?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.update_processing_days();
    }

    fn update_processing_days(&mut self) {
        self.processing_days = self
            .decided_date
            .map(|decided| (decided - self.received_date).num_days() as i32);
    }

    /// Applies one of the case's later events.
    pub fn apply(
        &mut self,
        event: &RegistryEvent,
        recorded_at: DateTime<Utc>,
        regions: &impl RegionOf,
        appeals: &mut Vec<AppealFact>,
    ) {
        match event {
            RegistryEvent::DecisionReported { decision, .. } => {
                self.set_decision(Some(decision));
                self.decision_reported_at.get_or_insert(recorded_at);
            }
            RegistryEvent::CaseCorrected {
                application,
                decision,
                ..
            } => {
                self.set_application(application, regions);
                self.set_decision(decision.as_ref());
                self.corrections += 1;
            }
            RegistryEvent::CaseRetracted { .. } => self.retracted = true,
            RegistryEvent::AppealLodged {
                appeal_id,
                lodged_date,
                ..
            } => {
                self.appeals_lodged += 1;
                appeals.push(AppealFact {
                    appeal_id: *appeal_id,
                    case_id: self.case_id,
                    lodged_date: *lodged_date,
                    decided_date: None,
                    outcome: None,
                    duration_days: None,
                });
            }
            RegistryEvent::AppealDecided {
                appeal_id,
                decided_date,
                outcome,
                ..
            } => {
                self.appeals_decided += 1;
                if !matches!(outcome, domain::case::AppealOutcome::Upheld) {
                    self.appeals_overturned += 1;
                }
                if let Some(appeal) = appeals.iter_mut().find(|a| a.appeal_id == *appeal_id) {
                    appeal.decided_date = Some(*decided_date);
                    appeal.outcome = serde_json::to_value(outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string));
                    appeal.duration_days =
                        Some((*decided_date - appeal.lodged_date).num_days() as i32);
                }
            }
            _ => {}
        }
    }

    /// The key this case is counted under, if it counts: decided and not retracted.
    pub fn decision_key(&self) -> Option<DecisionKey> {
        if self.retracted {
            return None;
        }
        let decided = self.decided_date?;
        Some(DecisionKey {
            year: decided.year(),
            quarter: quarter_of(decided),
            deciding_region: self
                .deciding_region
                .clone()
                .unwrap_or_else(|| UNKNOWN.into()),
            deciding_org: self.deciding_org.clone(),
            residence_region: self
                .residence_region
                .clone()
                .unwrap_or_else(|| UNKNOWN.into()),
            scheme: self.scheme.clone(),
            method_id: self.method_id.clone(),
            icd10_category: self.icd10_category.clone(),
            outcome: self.outcome.clone()?,
        })
    }
}

impl CaseFact {
    /// The case as the signals count it, if it counts: not retracted.
    pub fn signal_record(&self) -> Option<analysis::signals::CaseRecord> {
        if self.retracted {
            return None;
        }
        Some(analysis::signals::CaseRecord {
            scheme: self.scheme.clone(),
            method_id: self.method_id.clone(),
            icd10_category: self.icd10_category.clone(),
            deciding_org: self.deciding_org.clone(),
            deciding_region: self.deciding_region.clone(),
            applying_org: self.applying_org.clone(),
            residence_region: self.residence_region.clone(),
            received: calendar::day(self.received_date),
            decided: self.decided_date.map(calendar::day),
            granted: self.outcome.as_deref().map(|outcome| outcome == "granted"),
            criteria_complete: self.criteria_complete.unwrap_or(false),
            refusal_reasons: self.refusal_reasons.clone(),
        })
    }

    /// Everything this case is counted under.
    pub fn counted(&self) -> Counted {
        Counted {
            decision: self.decision_key(),
            signals: self
                .signal_record()
                .map(|record| analysis::signals::case_keys(&record))
                .unwrap_or_default(),
        }
    }
}

/// The keys a case is counted under in `decision_counts` and in `signal_counts`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counted {
    pub decision: Option<DecisionKey>,
    pub signals: Vec<analysis::signals::CaseKey>,
}

/// The quarter (1 to 4) a date falls in.
pub fn quarter_of(date: NaiveDate) -> i32 {
    i32::from(calendar::quarter_of(date))
}

/// The region an organisation belongs to, from its register entry (itself for an RHF).
pub fn region_of_organisation(organisation: &Organisation) -> Option<String> {
    organisation
        .region_org_number
        .as_ref()
        .map(|region| region.as_str().to_string())
}

/// Case facts by case. Boxed: a rebuild holds millions, and a map of the facts themselves
/// would copy them all each time it grows.
pub(crate) type Facts = std::collections::HashMap<uuid::Uuid, Box<CaseFact>>;
