//! The organisations and the method a report names, against their registers.

use chrono::NaiveDate;

use crate::case::{DecidingBody, Scheme};
use crate::codes::{AtcCode, MethodId};
use crate::methods::Method;
use crate::organisation::OrganisationNumber;
use crate::organisation_register::{Organisation, OrganisationKind};
use crate::problems::Problems;

use super::application::ApplicationDraft;
use super::context::{ReportContext, Warning};
use super::decision::DecisionDraft;

/// The organisations against the register, as far as they and the scheme were read.
pub(super) fn check_organisations(
    application: &ApplicationDraft,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) {
    let body = application.scheme.map(Scheme::deciding_body);
    if let Some(deciding_org) = &application.deciding_org {
        check_deciding_org(deciding_org, application.scheme, context, problems);
    }
    let Some(applying_org) = &application.applying_org else {
        return;
    };
    // Where a regional authority decides, the applicant is a trust, never the authority.
    // Without a scheme that cannot be told, and the deciding organisation is checked anyway.
    let same_as_deciding = application.deciding_org.as_ref() == Some(applying_org);
    if same_as_deciding && body != Some(DecidingBody::RegionalAuthority) {
        return;
    }
    match context.organisations.get(applying_org) {
        None => problems.add(
            "applying_org",
            "unknown_organisation",
            "applying_org is not in the organisation register",
        ),
        Some(org) if !org.kind.is_treating() => problems.add(
            "applying_org",
            "wrong_applying_organisation",
            format!("{} is not a health trust or hospital", org.name),
        ),
        Some(_) => {}
    }
}

fn check_deciding_org(
    deciding_org: &OrganisationNumber,
    scheme: Option<Scheme>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) {
    match (context.organisations.get(deciding_org), scheme) {
        (None, _) => problems.add(
            "deciding_org",
            "unknown_organisation",
            "deciding_org is not in the organisation register",
        ),
        (Some(org), _) if !org.active => problems.add(
            "deciding_org",
            "inactive_organisation",
            format!(
                "{} is no longer active in the organisation register",
                org.name
            ),
        ),
        (Some(org), Some(scheme)) if !decides(org, scheme.deciding_body()) => problems.add(
            "deciding_org",
            "wrong_deciding_organisation",
            format!(
                "{} cannot decide {} cases: {}",
                org.name,
                scheme.as_str(),
                deciding_body_text(scheme.deciding_body())
            ),
        ),
        (Some(_), _) => {}
    }
}

fn decides(org: &Organisation, body: DecidingBody) -> bool {
    match body {
        DecidingBody::Trust => org.kind.is_treating(),
        DecidingBody::RegionalAuthority => org.kind == OrganisationKind::Rhf,
        DecidingBody::Helfo => org.kind == OrganisationKind::NationalAgency,
    }
}

fn deciding_body_text(body: DecidingBody) -> &'static str {
    match body {
        DecidingBody::Trust => "the health trust or hospital decides",
        DecidingBody::RegionalAuthority => {
            "a regional health authority decides on behalf of the interregional body"
        }
        DecidingBody::Helfo => "Helsedirektoratet (Helfo) decides",
    }
}

/// The method against the register, as far as it and the fields it is compared with were
/// read.
pub(super) fn check_method(
    application: &ApplicationDraft,
    decision: Option<&DecisionDraft>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    let Some(method_id) = &application.method_id else {
        return;
    };
    let Some(method) = context.methods.get(method_id) else {
        problems.add(
            "method_id",
            "unknown_method",
            format!("{method_id} is not in the methods register"),
        );
        return;
    };
    if let Some(Some(atc)) = &application.atc {
        check_atc(atc, method_id, method, warnings);
    }
    let decided_date = decision.and_then(|decision| decision.decided_date);
    if let (Some(Scheme::IndividualExemption), Some(decided_date)) =
        (application.scheme, decided_date)
    {
        check_under_assessment(method_id, method, decided_date, warnings);
    }
}

/// The ATC code should be (a level of) one of the method's substances, when it has any.
fn check_atc(atc: &AtcCode, method_id: &MethodId, method: &Method, warnings: &mut Vec<Warning>) {
    let Some(description) = &method.description else {
        return;
    };
    let listed = description
        .atc
        .iter()
        .any(|m| atc.as_str().starts_with(m.as_str()) || m.as_str().starts_with(atc.as_str()));
    if !description.atc.is_empty() && !listed {
        warnings.push(Warning::new(
            "atc_not_in_method",
            format!("ATC {atc} is not among the substances of {method_id}"),
        ));
    }
}

/// Individual exemptions are for methods under assessment; outside it they are accepted
/// with a warning.
fn check_under_assessment(
    method_id: &MethodId,
    method: &Method,
    decided_date: NaiveDate,
    warnings: &mut Vec<Warning>,
) {
    if !method.allows_individual_exemption_on(decided_date) {
        warnings.push(Warning::new(
            "method_not_under_assessment",
            format!("{method_id} was not under assessment on {decided_date}: individual exemptions are only for methods under assessment"),
        ));
    }
}
