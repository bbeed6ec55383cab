//! The synthetic methods register: about 25 methods with Nye metoder style ids, real
//! substance names and ATC codes, and status histories laid out relative to the
//! scenario's years, so that any range of years has methods under assessment (for
//! individual exemptions), methods not introduced (for individual access) and methods in
//! re-assessment throughout. The histories are invented; only the substances are real.
//!
//! A register comes in two histories ([`History`]): a changing one, where methods enter
//! assessment, are introduced or refused and re-assessed during the years, and a steady
//! one, where every status was decided before the years begin and holds throughout. A
//! method has the same id in both.
//!
//! The register depends on the years alone, never on the seed, so a scenario file can
//! name its methods by id; `methods_register` lists them.

use std::ops::RangeInclusive;

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};
use domain::codes::{AtcCode, MethodId};
use domain::methods::{Method, MethodDescription, MethodStatus, StatusChange};

use crate::SyntheticMethod;

/// What kind of patients a method treats: decides who applies, how often, and where
/// individual exemptions for it come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Cancer,
    Somatic,
    Psychiatric,
    /// Obesity drugs: Helfo's individual reimbursement, never an exemption.
    Obesity,
}

/// The shape of a method's status history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Under assessment from the year before the range to its end: a long assessment
    /// (price negotiations, awaited data). These carry the planted effects by default.
    LongRunning,
    /// Under assessment for 10 to 24 months somewhere in the range, then introduced or
    /// not; the starts are spread evenly over the range.
    Rotating,
    /// Not introduced before the range starts.
    NotIntroducedEarly,
    /// Not introduced before the range, then re-assessed.
    Reassessed,
}

pub(crate) struct Template {
    pub name: &'static str,
    pub atc: &'static str,
    pub indication: &'static str,
    pub icd10: &'static [&'static str],
    pub class: Class,
    /// Share of female patients.
    pub female: f64,
    /// Age at application: lowest, most common, highest.
    pub age: (f64, f64, f64),
    /// Offered through Helfo's individual reimbursement (blue prescription section 3).
    pub helfo: bool,
    role: Role,
}

#[allow(clippy::too_many_arguments)]
const fn t(
    name: &'static str,
    atc: &'static str,
    indication: &'static str,
    icd10: &'static [&'static str],
    class: Class,
    female: f64,
    age: (f64, f64, f64),
    helfo: bool,
    role: Role,
) -> Template {
    Template {
        name,
        atc,
        indication,
        icd10,
        class,
        female,
        age,
        helfo,
        role,
    }
}

use Class::*;
use Role::*;

/// Index of the long-running methods the default effects use.
pub(crate) const PEMBROLIZUMAB: usize = 0;
pub(crate) const TRASTUZUMAB_DERUXTECAN: usize = 1;
pub(crate) const OLAPARIB: usize = 2;

// One method a line, read as a table: name, ATC, indication, ICD-10 codes, class, share
// of women, age (lowest, most common, highest), Helfo, role.
#[rustfmt::skip]
const TEMPLATES: &[Template] = &[
    t("Pembrolizumab (Keytruda)", "L01FF02", "Adjuvant behandling av ikke-småcellet lungekreft etter fullstendig reseksjon", &["C34.1", "C34.3", "C34.9"], Cancer, 0.45, (40.0, 68.0, 85.0), false, LongRunning),
    t("Trastuzumab deruxtekan (Enhertu)", "L01FD04", "HER2-lav ikke-resekterbar eller metastatisk brystkreft", &["C50.4", "C50.9"], Cancer, 0.99, (30.0, 58.0, 85.0), false, LongRunning),
    t("Olaparib (Lynparza)", "L01XK01", "Vedlikeholdsbehandling av BRCA-mutert avansert eggstokkreft", &["C56"], Cancer, 1.0, (35.0, 60.0, 85.0), false, LongRunning),
    t("Lekanemab (Leqembi)", "N06DX04", "Mild kognitiv svikt og mild demens ved Alzheimers sykdom", &["G30.0", "G30.1", "G30.9"], Somatic, 0.6, (55.0, 72.0, 85.0), false, LongRunning),
    t("Esketamin (Spravato)", "N06AX27", "Behandlingsresistent depressiv lidelse", &["F32.2", "F33.2"], Psychiatric, 0.65, (18.0, 45.0, 75.0), false, LongRunning),
    t("Nivolumab (Opdivo)", "L01FF01", "Adjuvant behandling av melanom", &["C43.5", "C43.7", "C43.9"], Cancer, 0.45, (25.0, 62.0, 85.0), false, Rotating),
    t("Durvalumab (Imfinzi)", "L01FF03", "Lokalavansert eller metastatisk galleveiskreft", &["C22.1", "C24.0"], Cancer, 0.5, (40.0, 68.0, 85.0), false, Rotating),
    t("Osimertinib (Tagrisso)", "L01EB04", "Adjuvant behandling av EGFR-mutert ikke-småcellet lungekreft", &["C34.1", "C34.9"], Cancer, 0.6, (35.0, 66.0, 85.0), false, Rotating),
    t("Daratumumab (Darzalex)", "L01FC01", "Nydiagnostisert myelomatose hos pasienter som ikke er aktuelle for autolog stamcelletransplantasjon", &["C90.0"], Cancer, 0.45, (50.0, 72.0, 90.0), false, Rotating),
    t("Teklistamab (Tecvayli)", "L01FX24", "Residiverende og refraktær myelomatose", &["C90.0"], Cancer, 0.45, (45.0, 68.0, 85.0), false, Rotating),
    t("Aksikabtagen ciloleucel (Yescarta)", "L01XL03", "Residiverende diffust storcellet B-cellelymfom", &["C83.3"], Cancer, 0.4, (18.0, 60.0, 80.0), false, Rotating),
    t("Enfortumab vedotin (Padcev)", "L01FX13", "Lokalavansert eller metastatisk urotelialt karsinom", &["C67.9", "C68.0"], Cancer, 0.25, (45.0, 72.0, 90.0), false, Rotating),
    t("Lutetium (177Lu) vipivotidtetraksetan (Pluvicto)", "V10XX05", "PSMA-positiv metastatisk kastrasjonsresistent prostatakreft", &["C61"], Cancer, 0.0, (50.0, 72.0, 90.0), false, Rotating),
    t("Risdiplam (Evrysdi)", "M09AX10", "Spinal muskelatrofi", &["G12.0", "G12.1"], Somatic, 0.5, (0.0, 8.0, 40.0), false, Rotating),
    t("Elexakaftor/tezakaftor/ivakaftor (Kaftrio)", "R07AX32", "Cystisk fibrose hos pasienter med minst én F508del-mutasjon", &["E84.0", "E84.8"], Somatic, 0.5, (6.0, 20.0, 50.0), false, Rotating),
    t("Vutrisiran (Amvuttra)", "N07XX21", "Hereditær transtyretinamyloidose med polynevropati", &["E85.1"], Somatic, 0.4, (30.0, 62.0, 85.0), false, Rotating),
    t("Faricimab (Vabysmo)", "S01LA09", "Neovaskulær (våt) aldersrelatert makuladegenerasjon", &["H35.3"], Somatic, 0.6, (55.0, 78.0, 95.0), false, Rotating),
    t("Aripiprazol, depotinjeksjon hver 2. måned (Abilify Maintena)", "N05AX12", "Vedlikeholdsbehandling av schizofreni", &["F20.0", "F20.9"], Psychiatric, 0.4, (18.0, 38.0, 70.0), false, Rotating),
    t("Paliperidon, depotinjeksjon hver 6. måned (Byannli)", "N05AX13", "Vedlikeholdsbehandling av schizofreni", &["F20.0"], Psychiatric, 0.4, (18.0, 38.0, 70.0), false, Rotating),
    t("Semaglutid (Wegovy)", "A10BJ06", "Vektregulering ved fedme", &["E66.0", "E66.9"], Obesity, 0.7, (18.0, 45.0, 75.0), true, NotIntroducedEarly),
    t("Tirzepatid (Mounjaro)", "A10BX16", "Vektregulering ved fedme", &["E66.0", "E66.9"], Obesity, 0.7, (18.0, 45.0, 75.0), true, NotIntroducedEarly),
    t("Inklisiran (Leqvio)", "C10AX16", "Primær hyperkolesterolemi eller blandet dyslipidemi", &["E78.0", "E78.2"], Somatic, 0.45, (35.0, 62.0, 85.0), true, NotIntroducedEarly),
    t("Erenumab (Aimovig)", "N02CD01", "Forebyggende behandling av migrene", &["G43.0", "G43.1"], Somatic, 0.8, (18.0, 42.0, 70.0), true, NotIntroducedEarly),
    t("Onasemnogen abeparvovek (Zolgensma)", "M09AX09", "Spinal muskelatrofi hos små barn", &["G12.0"], Somatic, 0.5, (0.0, 1.0, 4.0), false, NotIntroducedEarly),
    t("Atezolizumab (Tecentriq)", "L01FF05", "Ikke-resekterbart hepatocellulært karsinom, i kombinasjon med bevacizumab", &["C22.0"], Cancer, 0.25, (40.0, 68.0, 85.0), false, Reassessed),
    t("Sotorasib (Lumykras)", "L01XX73", "KRAS G12C-mutert avansert ikke-småcellet lungekreft", &["C34.1", "C34.9"], Cancer, 0.5, (40.0, 68.0, 85.0), false, Reassessed),
];

/// How the methods' statuses move during the scenario's years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    /// Methods enter assessment, are introduced or refused, and are re-assessed during
    /// the years, as Nye metoder's register does.
    Changing,
    /// Every status in force on the first day of the years holds to the last: methods
    /// that rotate through assessment in the changing history are under assessment (or,
    /// every third, not introduced) since before the years begin, and re-assessments
    /// began before them and do not end.
    Steady,
}

/// One method of the register, with what the generator needs to know about it.
pub(crate) struct CatalogueMethod {
    pub template: &'static Template,
    pub method: SyntheticMethod,
    /// The same method as the domain sees it, for its status rules.
    pub domain: Method,
}

impl CatalogueMethod {
    pub fn id(&self) -> &str {
        &self.method.method_id
    }

    pub fn allows_individual_exemption(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.domain.allows_individual_exemption_on(from)
            && self.domain.allows_individual_exemption_on(to)
    }

    pub fn status_on(&self, date: NaiveDate) -> Option<MethodStatus> {
        self.domain.status_on(date)
    }
}

/// The register as it stands on `today`: status changes decided after it are not known
/// yet, and a method with no status yet is left out.
pub(crate) fn catalogue(
    years: &RangeInclusive<i32>,
    history: History,
    today: NaiveDate,
) -> Vec<CatalogueMethod> {
    TEMPLATES
        .iter()
        .zip(full_register(years, history))
        .filter_map(|(template, mut method)| {
            method.statuses.retain(|(_, decided, _)| *decided <= today);
            (!method.statuses.is_empty()).then(|| CatalogueMethod {
                template,
                domain: method.domain_method(),
                method,
            })
        })
        .collect()
}

/// The methods register for a range of years, in its changing history, with every status
/// change it will have (some may lie after the day the data is generated for; `generate`
/// leaves those out). The steady history's methods have the same ids.
pub fn methods_register(years: &RangeInclusive<i32>) -> Vec<SyntheticMethod> {
    full_register(years, History::Changing)
}

fn full_register(years: &RangeInclusive<i32>, history: History) -> Vec<SyntheticMethod> {
    let first = *years.start();
    let span_months = 12 * (years.end() - first + 1).max(1);
    let rotating = TEMPLATES.iter().filter(|t| t.role == Rotating).count() as i32;
    let mut counters = [0i32; 4];
    TEMPLATES
        .iter()
        .enumerate()
        .map(|(index, template)| {
            let role_index = match template.role {
                LongRunning => 0,
                Rotating => 1,
                NotIntroducedEarly => 2,
                Reassessed => 3,
            };
            let k = counters[role_index];
            counters[role_index] += 1;
            let changing = changing_statuses(template.role, first, span_months, rotating, k);
            // The id comes from the changing history, so that it is the same in both.
            let id_year = changing[0].1.year().clamp(2013, 2099);
            let statuses = match history {
                History::Changing => changing,
                History::Steady => steady_statuses(template.role, first, k),
            };
            SyntheticMethod {
                method_id: format!("ID{id_year}_{:03}", (index * 53) % 197 + 1),
                name: template.name.to_string(),
                atc: vec![template.atc.to_string()],
                indication: template.indication.to_string(),
                statuses,
            }
        })
        .collect()
}

/// The statuses of the `k`th method of a role in the changing history.
fn changing_statuses(
    role: Role,
    first: i32,
    span_months: i32,
    rotating: i32,
    k: i32,
) -> Vec<Status> {
    match role {
        LongRunning => vec![under_assessment(first, -11 + k, k)],
        NotIntroducedEarly => vec![
            under_assessment(first, -33 + k, k),
            not_introduced(first, -22 + k, k),
        ],
        Rotating => {
            // The templates are listed by kind of patient; started in that order,
            // every cancer method would be assessed in the first half of the years
            // and the psychiatric ones at the end, and each kind's volume would
            // follow. A stride coprime to the count interleaves the kinds.
            let slot = k * stride(rotating) % rotating;
            let start = -6 + slot * (span_months + 6) / rotating;
            let duration = 10 + (k * 7) % 15;
            let assessed = under_assessment(first, start, k);
            if k % 3 == 2 {
                vec![assessed, not_introduced(first, start + duration, k)]
            } else {
                vec![assessed, introduced(first, start + duration, k)]
            }
        }
        Reassessed if k == 0 => {
            let mut statuses = vec![
                under_assessment(first, -46, k),
                not_introduced(first, -31, k),
                reassessment(first, -3, k),
            ];
            if span_months >= 24 {
                statuses.push(introduced(first, span_months - 6, k));
            }
            statuses
        }
        Reassessed => vec![
            under_assessment(first, -23, k),
            not_introduced(first, -9, k),
            reassessment(first, span_months / 2, k),
        ],
    }
}

/// The statuses of the `k`th method of a role in the steady history: all decided before
/// the years begin. Rotating methods are under assessment, every third one not introduced
/// (as in the changing history); both re-assessed methods are in re-assessment.
fn steady_statuses(role: Role, first: i32, k: i32) -> Vec<Status> {
    match role {
        LongRunning => vec![under_assessment(first, -11 + k, k)],
        NotIntroducedEarly => vec![
            under_assessment(first, -33 + k, k),
            not_introduced(first, -22 + k, k),
        ],
        Rotating if k % 3 == 2 => vec![
            under_assessment(first, -40 + k, k),
            not_introduced(first, -26 + k, k),
        ],
        Rotating => vec![under_assessment(first, -24 + k, k)],
        Reassessed => vec![
            under_assessment(first, -46 + 23 * k, k),
            not_introduced(first, -31 + 22 * k, k),
            reassessment(first, -3 + k, k),
        ],
    }
}

type Status = (String, NaiveDate, Option<NaiveDate>);

/// The smallest step of at least a third of `count` that visits every slot of `count`.
fn stride(count: i32) -> i32 {
    let gcd = |mut a: i32, mut b: i32| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    (count / 3..count)
        .find(|&step| step > 1 && gcd(step, count) == 1)
        .unwrap_or(1)
}

/// A meeting date: the Monday on or after a day in the month `month` months after
/// January of `first` (the day varies with `k` so meetings do not all fall together).
fn meeting(first: i32, month: i32, k: i32) -> NaiveDate {
    let january = NaiveDate::from_ymd_opt(first, 1, 1).expect("a valid year");
    let month_start = if month >= 0 {
        january + Months::new(month as u32)
    } else {
        january - Months::new(month.unsigned_abs())
    };
    let day = month_start + Duration::days(i64::from((k * 5) % 20));
    let to_monday = (7 - day.weekday().num_days_from_monday()) % 7;
    let monday = day + Duration::days(i64::from(to_monday));
    debug_assert_eq!(monday.weekday(), Weekday::Mon);
    monday
}

fn under_assessment(first: i32, month: i32, k: i32) -> Status {
    ("under_assessment".into(), meeting(first, month, k), None)
}

fn not_introduced(first: i32, month: i32, k: i32) -> Status {
    ("not_introduced".into(), meeting(first, month, k), None)
}

fn reassessment(first: i32, month: i32, k: i32) -> Status {
    ("reassessment".into(), meeting(first, month, k), None)
}

/// Introduced: usable from the first of the month after a fortnight has passed, so the
/// exemption possibility ends later than the meeting.
fn introduced(first: i32, month: i32, k: i32) -> Status {
    let decided = meeting(first, month, k);
    let after = decided + Duration::days(14);
    let usable =
        NaiveDate::from_ymd_opt(after.year(), after.month(), 1).expect("a day") + Months::new(1);
    ("introduced".into(), decided, Some(usable))
}

impl SyntheticMethod {
    /// The method as the domain's register holds it, for validation and status rules.
    pub fn domain_method(&self) -> Method {
        Method {
            method_id: MethodId::parse(&self.method_id).expect("a valid method id"),
            description: Some(self.description()),
            statuses: self
                .statuses
                .iter()
                .map(|(status, decision_date, effective_from)| StatusChange {
                    status: serde_json::from_value(serde_json::Value::String(status.clone()))
                        .expect("a known status"),
                    decision_date: *decision_date,
                    effective_from: *effective_from,
                })
                .collect(),
        }
    }

    /// The body of `PUT /api/v1/methods/{method_id}` in the domain's terms.
    pub fn description(&self) -> MethodDescription {
        MethodDescription {
            name: self.name.clone(),
            atc: self
                .atc
                .iter()
                .map(|code| AtcCode::parse(code).expect("a valid ATC code"))
                .collect(),
            indication: self.indication.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ids_are_unique_well_formed_and_codes_valid() {
        for years in [2017..=2017, 2020..=2025, 2015..=2030] {
            let register = methods_register(&years);
            assert_eq!(register.len(), TEMPLATES.len());
            let ids: BTreeSet<&str> = register.iter().map(|m| m.method_id.as_str()).collect();
            assert_eq!(ids.len(), register.len(), "{years:?}");
            for method in &register {
                let domain = method.domain_method();
                assert!(domain.current_status().is_some());
                assert!(method.statuses.windows(2).all(|w| w[0].1 < w[1].1));
                for (_, decided, usable) in &method.statuses {
                    assert!(usable.is_none_or(|u| u > *decided));
                    assert_eq!(decided.weekday(), Weekday::Mon);
                }
            }
        }
    }

    #[test]
    fn every_day_of_the_range_has_methods_for_every_scheme() {
        let years = 2020..=2025;
        let methods = catalogue(&years, History::Changing, day(2026, 3, 1));
        let mut date = day(2020, 1, 1);
        while date <= day(2025, 12, 31) {
            let status = |m: &&CatalogueMethod| m.status_on(date);
            for class in [Cancer, Somatic, Psychiatric] {
                let open = methods
                    .iter()
                    .filter(|m| m.template.class == class)
                    .filter(|m| m.domain.allows_individual_exemption_on(date))
                    .count();
                assert!(open >= 1, "{class:?} on {date}");
            }
            let not_introduced = methods
                .iter()
                .filter(|m| status(m) == Some(MethodStatus::NotIntroduced))
                .count();
            let reassessed = methods
                .iter()
                .filter(|m| status(m) == Some(MethodStatus::Reassessment))
                .count();
            assert!(not_introduced >= 3 && reassessed >= 1, "{date}");
            date += Duration::days(7);
        }
    }

    #[test]
    fn status_changes_after_today_are_not_known_yet() {
        let today = day(2022, 6, 30);
        for method in catalogue(&(2020..=2025), History::Changing, today) {
            assert!(method.method.statuses.iter().all(|s| s.1 <= today));
        }
    }

    #[test]
    fn the_steady_history_holds_every_status_through_the_years_with_the_same_ids() {
        for years in [2017..=2017, 2023..=2025, 2020..=2025] {
            let (first, last) = (day(*years.start(), 1, 1), day(*years.end(), 12, 31));
            let steady = catalogue(&years, History::Steady, day(2099, 1, 1));
            let changing = methods_register(&years);
            for (method, other) in steady.iter().zip(&changing) {
                assert_eq!(method.id(), other.method_id);
                assert!(method.method.statuses.windows(2).all(|w| w[0].1 < w[1].1));
                let status = method.status_on(first);
                assert!(status.is_some(), "{}", method.id());
                let mut date = first;
                while date <= last {
                    assert_eq!(method.status_on(date), status, "{} on {date}", method.id());
                    date += Duration::days(7);
                }
            }
            let count = |status| {
                steady
                    .iter()
                    .filter(|m| m.status_on(first) == Some(status))
                    .count()
            };
            assert!(count(MethodStatus::UnderAssessment) >= 10, "{years:?}");
            assert!(count(MethodStatus::NotIntroduced) >= 3, "{years:?}");
            assert!(count(MethodStatus::Reassessment) >= 1, "{years:?}");
        }
    }
}
