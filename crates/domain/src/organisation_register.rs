//! The organisation register: regional health authorities, health trusts, private
//! hospitals with agreements, and Helsedirektoratet (for Helfo). Event sourced, so
//! mergers and renames are part of the record.

use serde::{Deserialize, Serialize};

use crate::organisation::OrganisationNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// Regional health authority (RHF).
    Rhf,
    /// Health trust (HF).
    Hf,
    /// Private non-profit hospital with an agreement.
    PrivateNonprofit,
    /// A national agency: Helsedirektoratet, where Helfo decides individual reimbursement.
    NationalAgency,
}

impl OrganisationKind {
    pub fn parse(text: &str) -> Option<OrganisationKind> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }

    /// Trusts and private hospitals treat patients and apply on their behalf.
    pub fn is_treating(self) -> bool {
        matches!(
            self,
            OrganisationKind::Hf | OrganisationKind::PrivateNonprofit
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub org_number: OrganisationNumber,
    pub name: String,
    pub kind: OrganisationKind,
    /// The regional health authority the organisation belongs to (itself for an RHF);
    /// none for a national agency.
    pub region_org_number: Option<OrganisationNumber>,
    /// False once the organisation has merged into another or closed: it may no longer
    /// report, but its past cases stay.
    pub active: bool,
}

/// The stream that holds an organisation's events.
pub fn organisation_stream(org_number: &OrganisationNumber) -> String {
    format!("organisation-{}", org_number.as_str())
}
