//! How each stream's events fold into what they describe: a case, a method of the
//! methods register, an organisation of the organisation register, a research project.
//! Apart from the types themselves, so the types know nothing of the events that carry
//! them.

use crate::case::{Appeal, Case};
use crate::events::RegistryEvent;
use crate::methods::{Method, StatusChange};
use crate::organisation_register::Organisation;
use crate::research::ResearchProject;

impl Case {
    /// Folds a case's events, oldest first; None when the case was never received.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a RegistryEvent>) -> Option<Case> {
        let mut case: Option<Case> = None;
        for event in events {
            match (&mut case, event) {
                (
                    None,
                    RegistryEvent::CaseReceived {
                        case_id,
                        application,
                    },
                ) => {
                    case = Some(Case {
                        case_id: *case_id,
                        application: application.clone(),
                        decision: None,
                        appeals: Vec::new(),
                        corrections: 0,
                        retracted: false,
                    });
                }
                (Some(case), event) => case.apply(event),
                (None, _) => {}
            }
        }
        case
    }

    fn apply(&mut self, event: &RegistryEvent) {
        match event {
            RegistryEvent::DecisionReported { decision, .. } => {
                self.decision = Some(decision.clone());
            }
            RegistryEvent::CaseCorrected {
                application,
                decision,
                ..
            } => {
                self.application = application.clone();
                self.decision = decision.clone();
                self.corrections += 1;
            }
            RegistryEvent::CaseRetracted { .. } => self.retracted = true,
            RegistryEvent::AppealLodged {
                appeal_id,
                lodged_date,
                ..
            } => self.appeals.push(Appeal {
                appeal_id: *appeal_id,
                lodged_date: *lodged_date,
                decided_date: None,
                outcome: None,
            }),
            RegistryEvent::AppealDecided {
                appeal_id,
                decided_date,
                outcome,
                ..
            } => {
                if let Some(appeal) = self.appeals.iter_mut().find(|a| a.appeal_id == *appeal_id) {
                    appeal.decided_date = Some(*decided_date);
                    appeal.outcome = Some(*outcome);
                }
            }
            RegistryEvent::CaseReceived { .. }
            | RegistryEvent::MethodDescribed { .. }
            | RegistryEvent::MethodStatusChanged { .. }
            | RegistryEvent::OrganisationRegistered { .. }
            | RegistryEvent::PopulationImported { .. }
            | RegistryEvent::ResearchProjectApproved { .. }
            | RegistryEvent::ResearchProjectChanged { .. }
            | RegistryEvent::ResearchProjectEnded { .. }
            | RegistryEvent::ExtractDelivered { .. } => {}
        }
    }
}

impl Method {
    /// Folds a method's events; None when there are none.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a RegistryEvent>) -> Option<Method> {
        let mut method: Option<Method> = None;
        for event in events {
            match event {
                RegistryEvent::MethodDescribed {
                    method_id,
                    description,
                } => {
                    let m = method.get_or_insert_with(|| Method::new(method_id.clone()));
                    m.description = Some(description.clone());
                }
                RegistryEvent::MethodStatusChanged {
                    method_id,
                    status,
                    decision_date,
                    effective_from,
                } => {
                    let m = method.get_or_insert_with(|| Method::new(method_id.clone()));
                    m.statuses.push(StatusChange {
                        status: *status,
                        decision_date: *decision_date,
                        effective_from: *effective_from,
                    });
                }
                _ => {}
            }
        }
        method
    }
}

impl Organisation {
    /// The latest entry among an organisation's events.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a RegistryEvent>,
    ) -> Option<Organisation> {
        events
            .into_iter()
            .filter_map(|event| match event {
                RegistryEvent::OrganisationRegistered { organisation } => Some(organisation),
                _ => None,
            })
            .last()
            .cloned()
    }
}

impl ResearchProject {
    /// The project its stream's events describe, if it was ever approved.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a RegistryEvent>) -> Option<Self> {
        let mut project: Option<ResearchProject> = None;
        for event in events {
            match (event, project.as_mut()) {
                (RegistryEvent::ResearchProjectApproved { project_id, terms }, None) => {
                    project = Some(ResearchProject {
                        project_id: project_id.clone(),
                        terms: terms.clone(),
                        ended_on: None,
                        extracts_delivered: 0,
                    })
                }
                (RegistryEvent::ResearchProjectChanged { terms, .. }, Some(current)) => {
                    current.terms = terms.clone()
                }
                (RegistryEvent::ResearchProjectEnded { ended_on, .. }, Some(current)) => {
                    current.ended_on = Some(*ended_on)
                }
                (RegistryEvent::ExtractDelivered { .. }, Some(current)) => {
                    current.extracts_delivered += 1
                }
                _ => {}
            }
        }
        project
    }
}
