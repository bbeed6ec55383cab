//! The methods register: Nye metoder's methods, their statuses over time, and what that
//! means for exemptions.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::{AtcCode, MethodId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodStatus {
    UnderAssessment,
    Introduced,
    NotIntroduced,
    Reassessment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDescription {
    pub name: String,
    pub atc: Vec<AtcCode>,
    pub indication: String,
}

/// One status and the dates that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: MethodStatus,
    pub decision_date: NaiveDate,
    /// The date from which the decision applies; for "introduced", the date the method can
    /// actually be used, which is when the exemption possibility ends (not the meeting date).
    pub effective_from: Option<NaiveDate>,
}

impl StatusChange {
    pub fn in_force_from(&self) -> NaiveDate {
        self.effective_from.unwrap_or(self.decision_date)
    }
}

/// A method as its events describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Method {
    pub method_id: MethodId,
    pub description: Option<MethodDescription>,
    /// In the order they were reported.
    pub statuses: Vec<StatusChange>,
}

impl Method {
    pub(crate) fn new(method_id: MethodId) -> Method {
        Method {
            method_id,
            description: None,
            statuses: Vec::new(),
        }
    }

    /// The status in force on `date`: the latest change in force by then.
    pub fn status_on(&self, date: NaiveDate) -> Option<MethodStatus> {
        self.statuses
            .iter()
            .filter(|change| change.in_force_from() <= date)
            .max_by_key(|change| (change.in_force_from(), change.decision_date))
            .map(|change| change.status)
    }

    /// The latest status reported.
    pub fn current_status(&self) -> Option<MethodStatus> {
        self.statuses
            .iter()
            .max_by_key(|change| (change.in_force_from(), change.decision_date))
            .map(|change| change.status)
    }

    /// Whether an individual exemption may be decided on `date` under today's rules: only
    /// while the method is under assessment (or re-assessment), which for a "yes" lasts
    /// until the method can actually be used.
    pub fn allows_individual_exemption_on(&self, date: NaiveDate) -> bool {
        matches!(
            self.status_on(date),
            Some(MethodStatus::UnderAssessment | MethodStatus::Reassessment)
        )
    }
}

/// The stream that holds a method's events.
pub fn method_stream(method_id: &MethodId) -> String {
    format!("method-{}", method_id.as_str())
}
