//! What validation needs besides the body, and the warnings it gives back.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::codes::MethodId;
use crate::methods::Method;
use crate::organisation::OrganisationNumber;
use crate::organisation_register::Organisation;
use crate::pseudonym::PseudonymKey;

/// What validation needs that is not in the body. The caller looks up the organisations
/// and methods the body names; this module does no I/O.
pub struct ReportContext<'a> {
    pub today: NaiveDate,
    pub pseudonym_key: &'a PseudonymKey,
    pub accept_synthetic_identity_numbers: bool,
    pub organisations: &'a HashMap<OrganisationNumber, Organisation>,
    pub methods: &'a HashMap<MethodId, Method>,
}

/// Something worth telling the reporter that does not stop the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

impl Warning {
    pub(super) fn new(code: &str, message: String) -> Warning {
        Warning {
            code: code.to_string(),
            message,
        }
    }
}
