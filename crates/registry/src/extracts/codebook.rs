//! The extract's codebook: a Frictionless Data Package descriptor (tabular-data-package)
//! with every column's name, type, definition in bokmål and English and allowed values,
//! and the disclosure control applied. docs/extracts.md describes the same catalogue.

use domain::case::{Criterion, Scheme};
use domain::codes::COUNTIES;
use domain::research::{ResearchProject, Variable};
use serde_json::{json, Value};

use super::rows::{age_bands, Qi, PROCESSING_DAYS_TOP};
use super::Plan;

/// The regional health authorities' organisation numbers (the region codes).
fn regions() -> Vec<&'static str> {
    let mut regions: Vec<&str> = COUNTIES
        .iter()
        .map(|c| c.health_authority_org_number)
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

/// The descriptor of the extract `plan` would deliver for `project`.
pub(crate) fn datapackage(project: &ResearchProject, plan: &Plan) -> Value {
    let fields: Vec<Value> = project
        .terms
        .variables
        .iter()
        .flat_map(|variable| fields_of(*variable, plan))
        .collect();
    let generalisations: serde_json::Map<String, Value> = plan
        .generalisations()
        .into_iter()
        .map(|(name, level)| (name, Value::String(level)))
        .collect();
    json!({
        "profile": "tabular-data-package",
        "name": format!("unntak-{}", project.project_id.as_str().to_ascii_lowercase()),
        "title": project.terms.title,
        "description": "Anonymised research extract from the national registry of exemptions (unntak). / Anonymisert forskningsuttrekk fra det nasjonale registeret over unntak.",
        "resources": [{
            "name": "cases",
            "path": "cases.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": true},
            "schema": {"fields": fields, "missingValues": [""]},
        }],
        "disclosure_control": {
            "k": plan.rules.k,
            "l": plan.rules.l,
            "l_applies_below_rows": plan.rules.diverse_below,
            "quasi_identifiers": plan.dimensions.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            "generalisations": generalisations,
            "rows": plan.choice.rows_kept,
            "rows_suppressed": plan.choice.rows_suppressed,
            "information_loss": plan.choice.loss,
        },
    })
}

/// The columns a variable fills.
fn fields_of(variable: Variable, plan: &Plan) -> Vec<Value> {
    let level = |qi: fn(&Qi) -> bool| plan.level_of(qi).unwrap_or(0);
    match variable {
        Variable::PatientPseudonym => vec![field(
            "patient_pseudonym",
            "string",
            "Pasientens pseudonym i dette prosjektet (HMAC-SHA256 under prosjektets nøkkel); tom for gruppeunntak.",
            "The patient's pseudonym in this project (HMAC-SHA256 under the project's key); empty for group exemptions.",
            json!({"pattern": "[0-9a-f]{64}"}),
        )],
        Variable::ApplicationYear => vec![year_field("application_year", "søknaden kom inn", "the application was received")],
        Variable::ApplicationQuarter => vec![quarter_field("application_quarter", "søknaden kom inn", "the application was received")],
        Variable::DecisionYear => vec![year_field("decision_year", "vedtaket ble fattet", "the decision was made")],
        Variable::DecisionQuarter => vec![quarter_field("decision_quarter", "vedtaket ble fattet", "the decision was made")],
        Variable::ProcessingDays => vec![field(
            "processing_days",
            "integer",
            &format!("Saksbehandlingstid i dager fra mottak til vedtak, toppkodet: {PROCESSING_DAYS_TOP} betyr {PROCESSING_DAYS_TOP} eller flere."),
            &format!("Processing time in days from receipt to decision, top-coded: {PROCESSING_DAYS_TOP} means {PROCESSING_DAYS_TOP} or more."),
            json!({"minimum": 0, "maximum": PROCESSING_DAYS_TOP}),
        )],
        Variable::AgeBand => vec![field(
            "age_band",
            "string",
            "Pasientens alder da søknaden kom inn, i aldersgrupper (bredden står under disclosure_control).",
            "The patient's age when the application was received, in bands (their width is under disclosure_control).",
            json!({"enum": age_bands(level(|qi| *qi == Qi::Age))}),
        )],
        Variable::Sex => vec![field("sex", "string", "Pasientens kjønn.", "The patient's sex.", json!({"enum": ["female", "male"]}))],
        Variable::Residence => vec![residence_field(level(|qi| *qi == Qi::Residence))],
        Variable::DecidingRegion => vec![field(
            "deciding_region",
            "string",
            "Organisasjonsnummeret til det regionale helseforetaket som vedtaksorganet hører til.",
            "The organisation number of the regional health authority the deciding body belongs to.",
            json!({"enum": regions()}),
        )],
        Variable::Scheme => vec![field(
            "scheme",
            "string",
            "Ordningen søknaden gjelder.",
            "The scheme the application belongs to.",
            json!({"enum": Scheme::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
        )],
        Variable::MethodId => vec![field("method_id", "string", "Metodens ID i Nye metoder.", "The method's Nye metoder id.", json!({"pattern": "ID[0-9]{4}_[0-9]{3}"}))],
        Variable::Atc => vec![field("atc", "string", "Legemidlets ATC-kode.", "The drug's ATC code.", json!({"pattern": "[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?"}))],
        Variable::Icd10 => vec![icd10_field(level(|qi| *qi == Qi::Icd10))],
        Variable::Outcome => vec![field(
            "outcome",
            "string",
            "Utfallet: innvilget, avslått, eller ikke avgjort ennå.",
            "The outcome: granted, refused, or not decided yet.",
            json!({"enum": ["granted", "refused", "pending"]}),
        )],
        Variable::Criteria => Criterion::ALL
            .iter()
            .map(|criterion| {
                field(
                    &format!("criterion_{}", criterion.as_str()),
                    "boolean",
                    &format!("Om kriteriet {} var oppfylt; tom når det ikke ble vurdert.", criterion.as_str()),
                    &format!("Whether the criterion {} was met; empty when not assessed.", criterion.as_str()),
                    json!({}),
                )
            })
            .collect(),
        Variable::RefusalReasons => vec![field(
            "refusal_reasons",
            "string",
            "Avslagsgrunner, skilt med semikolon: criteria_not_met, no_expected_added_effect, not_under_assessment, insufficient_documentation, other.",
            "Refusal reasons separated by semicolons: criteria_not_met, no_expected_added_effect, not_under_assessment, insufficient_documentation, other.",
            json!({"pattern": "[a-z_]+(;[a-z_]+)*"}),
        )],
        Variable::AppealOutcome => vec![field(
            "appeal_outcome",
            "string",
            "Klage: ingen, ikke avgjort, opprettholdt, eller omgjort (helt eller delvis).",
            "Appeal: none, pending, upheld, or overturned (wholly or partly).",
            json!({"enum": ["none", "pending", "upheld", "overturned"]}),
        )],
    }
}

fn field(name: &str, kind: &str, nb: &str, en: &str, constraints: Value) -> Value {
    let mut field = json!({
        "name": name,
        "type": kind,
        "description": en,
        "descriptions": {"nb": nb, "en": en},
    });
    if constraints.as_object().is_some_and(|c| !c.is_empty()) {
        field["constraints"] = constraints;
    }
    field
}

fn year_field(name: &str, nb: &str, en: &str) -> Value {
    field(
        name,
        "integer",
        &format!("Året {nb}."),
        &format!("The year {en}."),
        json!({"minimum": 1990, "maximum": 2100}),
    )
}

fn quarter_field(name: &str, nb: &str, en: &str) -> Value {
    field(
        name,
        "integer",
        &format!("Kvartalet {nb}; tomt når perioden er grovere inndelt (år)."),
        &format!("The quarter {en}; empty when the period is generalised to the year."),
        json!({"enum": [1, 2, 3, 4]}),
    )
}

fn residence_field(level: usize) -> Value {
    let (values, nb, en) = match level {
        0 => (
            COUNTIES.iter().map(|c| c.number).collect::<Vec<_>>(),
            "Pasientens bostedsfylke (fylkesnummer fra 2024).",
            "The patient's county of residence (county number from 2024).",
        ),
        _ => (
            regions(),
            "Pasientens bostedsregion (organisasjonsnummeret til det regionale helseforetaket).",
            "The patient's region of residence (the regional health authority's organisation number).",
        ),
    };
    field("residence", "string", nb, en, json!({"enum": values}))
}

fn icd10_field(level: usize) -> Value {
    let (pattern, nb, en) = match level {
        0 => (
            "[A-Z][0-9]{2}",
            "ICD-10-kategorien for indikasjonen (tre tegn).",
            "The indication's ICD-10 category (three characters).",
        ),
        1 => (
            "[A-Z][0-9]{2}(-[A-Z][0-9]{2})?",
            "ICD-10-blokken for indikasjonen (WHO).",
            "The indication's ICD-10 block (WHO).",
        ),
        _ => (
            "[IVX]+",
            "ICD-10-kapitlet for indikasjonen (romertall).",
            "The indication's ICD-10 chapter (roman numeral).",
        ),
    };
    field("icd10", "string", nb, en, json!({"pattern": pattern}))
}
