//! Generated cases as the report contract of the ingest API writes them (issue 4), so that
//! synthetic data enters through the same append path as real reports.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{SyntheticAppeal, SyntheticCase};

impl SyntheticCase {
    /// The JSON body for `POST /api/v1/decisions`, or `POST /api/v1/cases` when the case
    /// is still pending, with the given `report_id`.
    pub fn report_body(&self, report_id: Uuid) -> Value {
        let mut body = Map::new();
        body.insert("report_id".into(), json!(report_id));
        body.insert("case_ref".into(), json!(self.case_ref));
        body.insert("deciding_org".into(), json!(self.deciding_org));
        if self.applying_org != self.deciding_org {
            body.insert("applying_org".into(), json!(self.applying_org));
        }
        body.insert("scheme".into(), json!(self.scheme));
        body.insert("method_id".into(), json!(self.method_id));
        body.insert("indication_icd10".into(), json!(self.indication_icd10));
        if let Some(atc) = &self.atc {
            body.insert("atc".into(), json!(atc));
        }
        match self.group_expected_patients {
            Some(expected_patients) => {
                body.insert(
                    "group".into(),
                    json!({
                        "expected_patients": expected_patients,
                        "description": self.group_description(),
                    }),
                );
            }
            None => {
                body.insert(
                    "patient".into(),
                    json!({
                        "birth_year": self.birth_year,
                        "sex": self.sex,
                        "residence_county": self.residence_county,
                    }),
                );
            }
        }
        body.insert("received_date".into(), json!(self.received_date));
        if let Some(decision) = &self.decision {
            body.insert("decided_date".into(), json!(decision.decided_date));
            let outcome = if decision.granted {
                "granted"
            } else {
                "refused"
            };
            body.insert("outcome".into(), json!(outcome));
            body.insert("criteria".into(), Value::Object(decision.criteria.clone()));
            if !decision.refusal_reasons.is_empty() {
                body.insert("refusal_reasons".into(), json!(decision.refusal_reasons));
            }
        }
        Value::Object(body)
    }

    /// A one-line description of the group, about the group and never a patient.
    fn group_description(&self) -> String {
        format!(
            "Pasientgruppe med diagnose {} aktuell for metode {}",
            self.indication_icd10, self.method_id
        )
    }
}

impl SyntheticAppeal {
    /// The body of `POST /api/v1/cases/{case_id}/appeals`.
    pub fn lodge_body(&self, report_id: Uuid) -> Value {
        json!({ "report_id": report_id, "lodged_date": self.lodged })
    }

    /// The body of `POST /api/v1/cases/{case_id}/appeals/{appeal_id}/decision`, once the
    /// appeal is decided.
    pub fn decision_body(&self, report_id: Uuid) -> Option<Value> {
        self.decided.as_ref().map(|(decided_date, outcome)| {
            json!({ "report_id": report_id, "decided_date": decided_date, "outcome": outcome })
        })
    }
}
