//! The report's sections, from the published figures: pure functions, so the report can be
//! checked against the tables it was made from.

use std::collections::BTreeMap;

use analysis::signals::{Signal, SignalKind};
use analysis::suppression::{suppress_grouped_rows, DEFAULT_THRESHOLD};
use registry::statistics::{
    AppealRow, ApplicationRow, Bounds, DecisionRow, FunnelTable, ProcessingTimeRow, RateBasis,
    ReportingQualityRow, Table as Published,
};

use crate::charts::{self, Bar, FunnelUnit};
use crate::format;
use crate::table::{Cell, Table};
use crate::Section;

/// Everything the report is made from, as published to its reader.
pub struct Figures {
    pub year: i32,
    pub national: Published<DecisionRow>,
    pub applications_national: Published<ApplicationRow>,
    pub by_scheme: Published<DecisionRow>,
    pub applications_by_scheme: Published<ApplicationRow>,
    pub applications_by_quarter: Published<ApplicationRow>,
    pub by_region: Published<DecisionRow>,
    pub residence: Published<ApplicationRow>,
    pub by_org: Published<DecisionRow>,
    pub funnel: FunnelTable,
    pub applications_by_method: Published<ApplicationRow>,
    pub decisions_by_method: Published<DecisionRow>,
    pub method_names: BTreeMap<String, String>,
    pub processing: Published<ProcessingTimeRow>,
    pub processing_national: Published<ProcessingTimeRow>,
    pub appeals: Published<AppealRow>,
    /// Decisions by scheme and each refusal reason they cite.
    pub refusal_reasons: Published<DecisionRow>,
    /// Decisions by scheme and each criterion as documented (`key=value`).
    pub criteria: Published<DecisionRow>,
    pub quality: Published<ReportingQualityRow>,
    pub signals: Vec<Signal>,
}

/// A scheme's name in bokmål.
pub fn scheme_name(code: &str) -> &str {
    match code {
        "individual_exemption" => "Individuelle unntak",
        "group_exemption" => "Gruppeunntak",
        "individual_access" => "Individuell tilgang",
        "reassessment_access" => "Tilgang under revurdering",
        "helfo_individual" => "Individuell stønad (Helfo)",
        "early_access" => "Tidlig tilgang",
        other => other,
    }
}

/// A table cell naming a scheme in bokmål.
fn scheme_cell(code: &str) -> Cell {
    Cell::Text(scheme_name(code).to_string())
}

/// A region's name, or what a row without one stands for.
fn region_label(name: Option<String>, number: Option<String>, national: &str) -> String {
    name.or(number).unwrap_or_else(|| national.to_string())
}

fn decision_cells(row: &DecisionRow) -> Vec<Cell> {
    vec![
        Cell::Count(row.decided),
        Cell::Count(row.granted),
        Cell::Count(row.refused),
        Cell::Share(row.grant_rate),
        Cell::ShareInterval(row.grant_rate_ci95.lower, row.grant_rate_ci95.upper),
    ]
}

const DECISION_COLUMNS: [&str; 5] = [
    "Vedtak",
    "Innvilget",
    "Avslått",
    "Andel innvilget",
    "95 % KI",
];

fn with_columns(first: &str, rest: &[&str]) -> Vec<String> {
    std::iter::once(first)
        .chain(rest.iter().copied())
        .map(str::to_string)
        .collect()
}

fn national_rate(figures: &Figures) -> Option<(u64, u64, f64)> {
    let row = figures.national.rows().first()?;
    Some((row.decided?, row.granted?, row.grant_rate?))
}

/// Five sentences from the figures.
pub fn summary(figures: &Figures) -> Vec<String> {
    let year = figures.year;
    let mut sentences = Vec::new();
    if let Some(applications) = figures
        .applications_national
        .rows()
        .first()
        .and_then(|r| r.applications)
    {
        sentences.push(format!(
            "I {year} mottok registeret {} søknader om unntak og individuell tilgang.",
            format::count(applications)
        ));
    }
    if let (Some((decided, _, rate)), Some(row)) =
        (national_rate(figures), figures.national.rows().first())
    {
        sentences.push(format!(
            "Det ble fattet {} vedtak, og {} ble innvilget (95 % KI {}).",
            format::count(decided),
            format::percent(rate),
            Cell::ShareInterval(row.grant_rate_ci95.lower, row.grant_rate_ci95.upper).shown(),
        ));
    }
    let regions: Vec<(String, f64)> = figures
        .by_region
        .rows()
        .iter()
        .filter(|r| r.group.text("region").is_some())
        .filter_map(|r| {
            Some((
                region_label(r.group.text("region_name"), r.group.text("region"), ""),
                r.grant_rate?,
            ))
        })
        .collect();
    let lowest = regions.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let highest = regions.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(lowest), Some(highest)) = (lowest, highest) {
        sentences.push(format!(
            "Andelen innvilget varierte mellom regionene fra {} i {} til {} i {}.",
            format::percent(lowest.1),
            lowest.0,
            format::percent(highest.1),
            highest.0
        ));
    }
    if let Some(median) = figures
        .processing_national
        .rows()
        .first()
        .and_then(|r| r.median_days.estimate)
    {
        sentences.push(format!(
            "Median saksbehandlingstid var {} dager fra søknaden kom inn til vedtak.",
            format::decimal(median, 0)
        ));
    }
    let findings = signal_groups(&figures.signals);
    sentences.push(format!(
        "Analysen fant {} mulige funn ({} signaler) som møtet bør se på; de er forklart under «Signaler».",
        findings.len(),
        figures.signals.len()
    ));
    sentences
}

pub fn all(figures: &Figures) -> Vec<Section> {
    vec![
        schemes(figures),
        regions(figures),
        application_rates(figures),
        trusts(figures),
        methods(figures),
        processing_times(figures),
        appeals(figures),
        grounds(figures),
        signals(figures),
        compliance(figures),
        reporting_quality(figures),
        definitions(),
    ]
}

fn schemes(figures: &Figures) -> Section {
    let applications: BTreeMap<Option<String>, Option<u64>> = figures
        .applications_by_scheme
        .rows()
        .iter()
        .map(|r| (r.group.text("scheme"), r.applications))
        .collect();
    let mut table = Table::new(
        "ordninger",
        format!("Søknader og vedtak etter ordning, {}", figures.year),
        &with_columns(
            "Ordning",
            &[&["Søknader"][..], &DECISION_COLUMNS[..]].concat(),
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    for row in figures.by_scheme.rows() {
        let scheme = row.group.text("scheme");
        let mut cells = vec![
            scheme_cell(scheme.as_deref().unwrap_or("")),
            Cell::Count(applications.get(&scheme).copied().flatten()),
        ];
        cells.extend(decision_cells(row));
        table.push(cells);
    }
    let quarters: Vec<(String, Option<u64>)> = figures
        .applications_by_quarter
        .rows()
        .iter()
        .map(|r| {
            (
                format!("{}. kv.", r.group.text("quarter").unwrap_or_default()),
                r.applications,
            )
        })
        .collect();
    let mut quarter_table = Table::new(
        "kvartal",
        format!("Søknader per kvartal, {}", figures.year),
        &["Kvartal", "Søknader"],
    );
    for (quarter, count) in &quarters {
        quarter_table.push(vec![Cell::Text(quarter.clone()), Cell::Count(*count)]);
    }
    Section {
        id: "ordninger",
        title: "Søknader og vedtak etter ordning".into(),
        paragraphs: vec![
            "Søknader telles i året de kom inn, vedtak i året de ble fattet. Andel innvilget er innvilgede av alle vedtak, med 95 % konfidensintervall (Wilson).".into(),
        ],
        charts: vec![charts::columns(
            "kvartal-diagram",
            &format!("Søknader per kvartal, {}", figures.year),
            "Søknader per kvartal i hele landet; tallene står i tabellen under.",
            "Kvartal",
            &quarters,
        )],
        tables: vec![table, quarter_table],
    }
}

fn regions(figures: &Figures) -> Section {
    let mut table = Table::new(
        "regioner",
        format!("Vedtak etter besluttende region, {}", figures.year),
        &with_columns("Region", &DECISION_COLUMNS)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let mut bars = Vec::new();
    for row in figures.by_region.rows() {
        let label = region_label(
            row.group.text("region_name"),
            row.group.text("region"),
            "Nasjonalt (Helfo og Helsedirektoratet)",
        );
        bars.push(Bar {
            label: label.clone(),
            share: row.grant_rate,
            lower: row.grant_rate_ci95.lower,
            upper: row.grant_rate_ci95.upper,
        });
        let mut cells = vec![Cell::Text(label)];
        cells.extend(decision_cells(row));
        table.push(cells);
    }
    Section {
        id: "regioner",
        title: "Vedtak etter region".into(),
        paragraphs: vec!["Regionen er det regionale helseforetaket som det besluttende foretaket hører til. Helfo og Helsedirektoratet avgjør nasjonalt og står for seg.".into()],
        charts: vec![charts::bars_with_intervals(
            "region-diagram",
            &format!("Andel innvilget etter region, {}", figures.year),
            "Andel innvilget per region med 95 % konfidensintervall som strek; tallene står i tabellen under.",
            "Andel innvilget",
            &bars,
        )],
        tables: vec![table],
    }
}

/// Helseatlas' variation measures over the regions' rates: the highest against the lowest
/// (FT1), the second highest against the second lowest (FT2), the third (FT3), and the
/// coefficient of variation.
fn variation_measures(rates: &[f64]) -> Vec<(String, Option<f64>)> {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let ratio =
        |k: usize| (n >= 2 * k && sorted[k - 1] > 0.0).then(|| sorted[n - k] / sorted[k - 1]);
    let mean = sorted.iter().sum::<f64>() / n.max(1) as f64;
    let cv = (n >= 2 && mean > 0.0).then(|| {
        let variance = sorted.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        variance.sqrt() / mean
    });
    vec![
        ("FT1 (høyeste / laveste)".into(), ratio(1)),
        ("FT2 (nest høyeste / nest laveste)".into(), ratio(2)),
        ("FT3 (tredje høyeste / tredje laveste)".into(), ratio(3)),
        ("Variasjonskoeffisient".into(), cv),
    ]
}

/// An interval of rates as the report shows it, or the not-published mark.
fn rate_interval(bounds: Option<Bounds>) -> Cell {
    Cell::Text(match bounds.map_or((None, None), |b| (b.lower, b.upper)) {
        (Some(l), Some(u)) => format!("{}–{}", format::decimal(l, 1), format::decimal(u, 1)),
        _ => format::NOT_PUBLISHED.to_string(),
    })
}

fn application_rates(figures: &Figures) -> Section {
    let standardised = figures
        .residence
        .rows()
        .iter()
        .any(|r| r.rate_basis == Some(RateBasis::AgeSexStandardised));
    let mut columns = vec![
        "Bostedsregion",
        "Søknader",
        "Innbyggere",
        "Per 100 000 per år",
        "95 % KI",
    ];
    if standardised {
        columns.extend([
            "Standardisert per 100 000 per år",
            "95 % KI (standardisert)",
        ]);
    }
    let mut table = Table::new(
        "rater",
        format!(
            "Søknader per 100 000 innbyggere per år etter bostedsregion, {}",
            figures.year
        ),
        &columns,
    );
    let (mut crude_rates, mut standardised_rates) = (Vec::new(), Vec::new());
    let mut regions = 0;
    for row in figures.residence.rows() {
        let label = region_label(
            row.group.text("region_name"),
            row.group.text("region"),
            "Uten bostedsregion (gruppeunntak)",
        );
        let rate = row.per_100k.flatten();
        let standardised_rate = row.per_100k_standardised.flatten();
        if row.group.text("region").is_some() {
            regions += 1;
            crude_rates.extend(rate);
            standardised_rates.extend(standardised_rate);
        }
        let mut cells = vec![
            Cell::Text(label),
            Cell::Count(row.applications),
            Cell::Count(row.residents.flatten().map(|r| r.max(0) as u64)),
            Cell::Decimal(rate, 1),
            rate_interval(row.per_100k_ci95),
        ];
        if standardised {
            cells.push(Cell::Decimal(standardised_rate, 1));
            cells.push(rate_interval(row.per_100k_standardised_ci95));
        }
        table.push(cells);
    }
    // The variation measures compare like with like: standardised rates when every region
    // has one, else the crude rates.
    let measured_standardised = standardised && standardised_rates.len() == regions;
    let mut measures = Table::new(
        "variasjon",
        match measured_standardised {
            true => "Variasjon mellom bostedsregionene (som i Helseatlas), standardiserte rater",
            false => "Variasjon mellom bostedsregionene (som i Helseatlas), ujusterte rater",
        },
        &["Mål", "Verdi"],
    );
    let rates = match measured_standardised {
        true => &standardised_rates,
        false => &crude_rates,
    };
    for (name, value) in variation_measures(rates) {
        measures.push(vec![Cell::Text(name), Cell::Decimal(value, 2)]);
    }
    Section {
        id: "rater",
        title: "Søknader per 100 000 innbyggere".into(),
        paragraphs: vec![
            rate_basis_text(standardised).into(),
            "FT-målene sammenligner høyeste og laveste rate; med fire regioner finnes ikke FT3. Signalene om søknadsrater bruker i tillegg den systematiske variasjonskomponenten (SCV).".into(),
        ],
        charts: vec![],
        tables: vec![table, measures],
    }
}

/// What the rates are, in the report's words.
fn rate_basis_text(standardised: bool) -> &'static str {
    match standardised {
        true => "Ujusterte rater: søknader etter pasientens bostedsregion per 100 000 innbyggere per år (personår). Befolkningsimporten for året har alder og kjønn, så tabellen viser også alders- og kjønnsstandardiserte rater (direkte standardisering; standardbefolkningen er hele landets befolkning samme år, etter aldersgruppe og kjønn). De standardiserte ratene viser hvor mange søknader regionen ville hatt om innbyggerne hadde landets alders- og kjønnssammensetning. Rader med færre enn 20 søknader får ingen standardisert rate.",
        false => "Ujusterte rater: søknader etter pasientens bostedsregion per 100 000 innbyggere per år (personår). Befolkningsimporten for året har ikke alder og kjønn, så ratene er ikke standardisert.",
    }
}

fn trusts(figures: &Figures) -> Section {
    let mut table = Table::new(
        "helseforetak",
        format!("Vedtak etter besluttende organisasjon, {}", figures.year),
        &with_columns("Organisasjon", &DECISION_COLUMNS)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    for row in figures.by_org.rows() {
        let label = region_label(row.group.text("org_name"), row.group.text("org"), "Ukjent");
        let mut cells = vec![Cell::Text(label)];
        cells.extend(decision_cells(row));
        table.push(cells);
    }
    let units: Vec<FunnelUnit> = figures
        .funnel
        .points
        .iter()
        .filter_map(|p| {
            Some(FunnelUnit {
                label: p.unit_name.clone(),
                decided: p.decided?,
                rate: p.grant_rate?,
                limits_95: (p.limits_95.lower?, p.limits_95.upper?),
                limits_998: (p.limits_998.lower?, p.limits_998.upper?),
            })
        })
        .collect();
    let target = figures
        .funnel
        .points
        .first()
        .and_then(|p| p.target)
        .unwrap_or(0.0);
    Section {
        id: "helseforetak",
        title: "Helseforetak og andre besluttende organisasjoner".into(),
        paragraphs: vec![format!(
            "Traktplottet viser hvert helseforetaks andel innvilgede individuelle unntak mot antall vedtak, med landets andel ({}) som linje og 95 % og 99,8 % kontrollgrenser{}. Et foretak utenfor 99,8 %-grensen er markert med firkant.",
            format::percent(target),
            if figures.funnel.points.iter().any(|p| p.overdispersion_adjusted) { ", justert for vanlig variasjon mellom foretakene (tilfeldige effekter)" } else { "" },
        )],
        charts: vec![charts::funnel(
            "trakt-diagram",
            &format!("Traktplott: andel innvilget per helseforetak, individuelle unntak {}", figures.year),
            "Hvert punkt er et helseforetak; stiplede linjer er 95 % og prikkede 99,8 % kontrollgrenser. Tallene står i tabellen under.",
            target,
            &units,
        )],
        tables: vec![table],
    }
}

fn methods(figures: &Figures) -> Section {
    let decisions: BTreeMap<Option<String>, &DecisionRow> = figures
        .decisions_by_method
        .rows()
        .iter()
        .map(|r| (r.group.text("method_id"), r))
        .collect();
    let mut ranked: Vec<&ApplicationRow> = figures.applications_by_method.rows().iter().collect();
    ranked.sort_by_key(|row| std::cmp::Reverse(row.applications.unwrap_or(0)));
    let mut table = Table::new(
        "metoder",
        format!("De ti metodene med flest søknader, {}", figures.year),
        &["Metode", "Navn", "Søknader", "Vedtak", "Andel innvilget"],
    );
    for row in ranked.into_iter().take(10) {
        let id = row.group.text("method_id");
        let decided = id.as_ref().and_then(|_| decisions.get(&id));
        table.push(vec![
            Cell::Text(id.clone().unwrap_or_default()),
            Cell::Text(
                id.and_then(|i| figures.method_names.get(&i).cloned())
                    .unwrap_or_default(),
            ),
            Cell::Count(row.applications),
            Cell::Count(decided.and_then(|d| d.decided)),
            Cell::Share(decided.and_then(|d| d.grant_rate)),
        ]);
    }
    Section {
        id: "metoder",
        title: "Metodene med flest søknader".into(),
        paragraphs: vec!["Metodene er oppgitt med ID i Nye metoder. En metode med mange søknader i samme region kan være kandidat for en kohort eller en raskere nasjonal vurdering (NHS' tommelfingerregel: flere enn fem søknader om samme metode i en region).".into()],
        charts: vec![],
        tables: vec![table],
    }
}

fn processing_times(figures: &Figures) -> Section {
    let mut table = Table::new(
        "saksbehandlingstid",
        format!(
            "Saksbehandlingstid etter besluttende region, søknader mottatt {}",
            figures.year
        ),
        &[
            "Region",
            "Saker",
            "Avgjort",
            "Til behandling",
            "Median (dager)",
            "95 % KI (dager)",
            "Innen 14 dager",
            "Innen 30 dager",
        ],
    );
    let mut series = Vec::new();
    for row in figures.processing.rows() {
        let label = region_label(
            row.group.text("region_name"),
            row.group.text("region"),
            "Nasjonalt (Helfo og Helsedirektoratet)",
        );
        if let Some(Some(curve)) = &row.curve {
            series.push((
                label.clone(),
                curve.iter().map(|s| (s.day, s.still_pending)).collect(),
            ));
        }
        let median = &row.median_days;
        table.push(vec![
            Cell::Text(label),
            Cell::Count(row.n),
            Cell::Count(row.decided),
            Cell::Count(row.censored),
            Cell::Days(median.estimate),
            Cell::Text(match (median.lower, median.upper) {
                (Some(l), Some(u)) => {
                    format!("{}–{}", format::decimal(l, 0), format::decimal(u, 0))
                }
                (Some(l), None) => format!("{}–", format::decimal(l, 0)),
                _ => format::NOT_PUBLISHED.to_string(),
            }),
            Cell::Share(row.share_within_14_days),
            Cell::Share(row.share_within_30_days),
        ]);
    }
    Section {
        id: "saksbehandlingstid",
        title: "Saksbehandlingstid".into(),
        paragraphs: vec!["Tid fra søknaden kom inn til vedtak (Kaplan-Meier). Saker som fortsatt er til behandling teller med til den siste dagen registeret kjenner (sensurert), slik signalene også regner.".into()],
        charts: vec![charts::step_curves(
            "tid-diagram",
            &format!("Andel saker ennå ikke avgjort, etter dager, {}", figures.year),
            "Én trappekurve per region, skilt med linjemønster og forklaring; tallene står i tabellen under.",
            &series,
            120.0,
        )],
        tables: vec![table],
    }
}

fn appeals(figures: &Figures) -> Section {
    let mut table = Table::new(
        "klager",
        format!("Klager etter ordning, klaget {}", figures.year),
        &[
            "Ordning",
            "Klager",
            "Avgjort",
            "Stadfestet",
            "Omgjort",
            "Delvis omgjort",
            "Median varighet (dager)",
        ],
    );
    for row in figures.appeals.rows() {
        table.push(vec![
            scheme_cell(row.group.text("scheme").as_deref().unwrap_or("")),
            Cell::Count(row.lodged),
            Cell::Count(row.decided),
            Cell::Count(row.upheld),
            Cell::Count(row.overturned),
            Cell::Count(row.partly_overturned),
            Cell::Days(row.median_duration_days.estimate),
        ]);
    }
    Section {
        id: "klager",
        title: "Klager".into(),
        paragraphs: vec!["Klager på vedtak, etter året klagen kom inn.".into()],
        charts: vec![],
        tables: vec![table],
    }
}

/// A refusal reason's or criterion's code in words, where the registry knows it.
fn ground_name(code: &str) -> String {
    match code {
        "criteria_not_met" => "Kriteriene ikke oppfylt".into(),
        "no_expected_added_effect" => "Ingen forventet merverdi".into(),
        "not_under_assessment" => "Metoden er ikke til metodevurdering".into(),
        "insufficient_documentation" => "Mangelfull dokumentasjon".into(),
        "other" => "Annet".into(),
        "marketing_authorisation" => "Markedsføringstillatelse".into(),
        "standard_treatment_unsuitable" => "Standardbehandling egner seg ikke".into(),
        "substantially_larger_effect" => "Vesentlig større effekt".into(),
        "benefit" => "Nytte".into(),
        "resource_use" => "Ressursbruk".into(),
        "severity" => "Alvorlighet".into(),
        "differs_clearly_from_group" => "Skiller seg klart fra gruppen".into(),
        other => other.replace('_', " "),
    }
}

fn grounds(figures: &Figures) -> Section {
    let mut reasons = Table::new(
        "avslagsgrunner",
        format!("Avslag etter ordning og avslagsgrunn, {}", figures.year),
        &["Ordning", "Avslagsgrunn", "Avslag"],
    );
    for row in figures.refusal_reasons.rows() {
        let Some(reason) = row.group.text("refusal_reason") else {
            continue;
        };
        reasons.push(vec![
            scheme_cell(row.group.text("scheme").as_deref().unwrap_or("")),
            Cell::Text(ground_name(&reason)),
            Cell::Count(row.refused),
        ]);
    }
    let mut criteria = Table::new(
        "kriterier",
        format!("Vedtak etter dokumenterte kriterier, {}", figures.year),
        &[
            "Ordning",
            "Kriterium",
            "Vedtak",
            "Innvilget",
            "Andel innvilget",
        ],
    );
    for row in figures.criteria.rows() {
        let Some(criterion) = row.group.text("criterion") else {
            continue;
        };
        let (key, value) = criterion.split_once('=').unwrap_or((&criterion, ""));
        let met = match value {
            "true" => "oppfylt",
            "false" => "ikke oppfylt",
            other => other,
        };
        criteria.push(vec![
            scheme_cell(row.group.text("scheme").as_deref().unwrap_or("")),
            Cell::Text(format!("{}: {met}", ground_name(key))),
            Cell::Count(row.decided),
            Cell::Count(row.granted),
            Cell::Share(row.grant_rate),
        ]);
    }
    Section {
        id: "begrunnelser",
        title: "Begrunnelser".into(),
        paragraphs: vec!["Et vedtak kan vise til flere avslagsgrunner og dokumentere flere kriterier, så radene summerer ikke til antall vedtak.".into()],
        charts: vec![],
        tables: vec![reasons, criteria],
    }
}

/// What a signal kind is about, and what the meeting could do about it.
fn kind_text(kind: SignalKind) -> (&'static str, &'static str) {
    match kind {
        SignalKind::GrantRateVariation => (
            "Ulik andel innvilget",
            "Be regionene gå gjennom sakene sammen; vurder felles kriterier for metoden.",
        ),
        SignalKind::ApplicationRateVariation => (
            "Ulik søknadsrate",
            "Undersøk om pasienter i regionen får tilbud om å søke på like vilkår.",
        ),
        SignalKind::ProcessingTimeVariation => (
            "Ulik saksbehandlingstid",
            "Be regionen se på rutinene for saksbehandling og frister.",
        ),
        SignalKind::RecurringSubgroup => (
            "Gjentatte søknader i samme undergruppe",
            "Vurder gruppeunntak eller en rask nasjonal metodevurdering i Nye metoder.",
        ),
        SignalKind::UnequalTreatment => (
            "Mulig ulik behandling av like saker",
            "Sammenlign sakene på tvers av regionene; vurder felles retningslinjer.",
        ),
        SignalKind::Compliance => (
            "Etterlevelse",
            "Be foretaket rette registreringen eller praksisen.",
        ),
        SignalKind::Trend => (
            "Uventet utvikling",
            "Undersøk om endringen har en kjent årsak (ny metode, endret status).",
        ),
    }
}

/// Signals grouped by what they say (`Signal::group`), in the order of their first signal.
fn signal_groups(signals: &[Signal]) -> Vec<(&str, Vec<&Signal>)> {
    let mut groups: Vec<(&str, Vec<&Signal>)> = Vec::new();
    for signal in signals {
        match groups.iter_mut().find(|(group, _)| *group == signal.group) {
            Some((_, members)) => members.push(signal),
            None => groups.push((&signal.group, vec![signal])),
        }
    }
    groups
}

fn signals(figures: &Figures) -> Section {
    let mut table = Table::new(
        "signaler",
        format!("Signaler {}, ett funn per linje", figures.year),
        &[
            "Funn",
            "Gjelder",
            "Metode",
            "Ordning",
            "Signaler",
            "Laveste q-verdi",
            "Hva møtet kan gjøre",
        ],
    );
    for (_, members) in signal_groups(&figures.signals) {
        let first = members[0];
        let (what, action) = kind_text(first.kind);
        let lowest_q = members
            .iter()
            .filter_map(|s| s.q_value)
            .min_by(f64::total_cmp);
        table.push(vec![
            Cell::Text(what.to_string()),
            Cell::Text(
                first
                    .unit_name
                    .clone()
                    .or(first.unit.clone())
                    .unwrap_or_else(|| first.indication.clone().unwrap_or_default()),
            ),
            Cell::Text(first.method_id.clone().unwrap_or_default()),
            Cell::Text(
                first
                    .scheme
                    .as_deref()
                    .map(scheme_name)
                    .unwrap_or_default()
                    .to_string(),
            ),
            Cell::Text(members.len().to_string()),
            Cell::Text(lowest_q.map_or("regel".to_string(), |q| {
                if q < 0.001 {
                    "< 0,001".into()
                } else {
                    format::decimal(q, 3)
                }
            })),
            Cell::Text(action.to_string()),
        ]);
    }
    Section {
        id: "signaler",
        title: "Signaler".into(),
        paragraphs: vec![
            "Signalene er mønstre som er verdt et blikk, ikke konklusjoner. Alle statistiske signaler i året deler ett budsjett for falske funn (Benjamini-Hochberg, 5 %): q-verdien er andelen falske funn man må regne med blant signaler så sterke som dette. Signaler som sier det samme er slått sammen til ett funn.".into(),
            "Gjentatte undergrupper og etterlevelse er regler, ikke tester, og har ingen q-verdi.".into(),
        ],
        charts: vec![],
        tables: vec![table],
    }
}

/// Individual exemptions decided for a method that was not under assessment on the day:
/// after Beslutningsforum's "yes" once the method could be used (innført), or after a "no"
/// (ikke innført). From the compliance signals, one row per trust and method; a count from
/// 1 to 4 is withheld, and with it what would give it away, as in the statistics API.
fn compliance(figures: &Figures) -> Section {
    let findings: Vec<&Signal> = figures
        .signals
        .iter()
        .filter(|s| {
            s.kind == SignalKind::Compliance && s.effect_measure == "decisions_outside_assessment"
        })
        .collect();
    let keys: Vec<Vec<Option<String>>> = findings
        .iter()
        .map(|s| vec![s.unit.clone(), s.method_id.clone()])
        .collect();
    let counts: Vec<Vec<u64>> = findings
        .iter()
        .map(|s| vec![s.counts.get("decisions").copied().unwrap_or(0.0).max(0.0) as u64])
        .collect();
    let statuses = suppress_grouped_rows(&keys, &counts, DEFAULT_THRESHOLD);
    let mut table = Table::new(
        "etterlevelse",
        format!(
            "Individuelle unntak avgjort da metoden ikke var til metodevurdering, {}",
            figures.year
        ),
        &["Helseforetak", "Metode", "Navn", "Vedtak"],
    );
    for ((finding, count), status) in findings.iter().zip(&counts).zip(&statuses) {
        let method = finding.method_id.clone().unwrap_or_default();
        table.push(vec![
            Cell::Text(
                finding
                    .unit_name
                    .clone()
                    .or(finding.unit.clone())
                    .unwrap_or_default(),
            ),
            Cell::Text(method.clone()),
            Cell::Text(
                figures
                    .method_names
                    .get(&method)
                    .cloned()
                    .unwrap_or_default(),
            ),
            Cell::Count((!status.is_suppressed()).then_some(count[0])),
        ]);
    }
    let summary = match findings.len() {
        0 => format!(
            "Ingen individuelle unntak i {} ble avgjort for en metode som ikke var til metodevurdering.",
            figures.year
        ),
        n => format!(
            "I {} ble det avgjort individuelle unntak for en metode som ikke var til metodevurdering i {} kombinasjoner av helseforetak og metode. Et unntak skal ikke gis etter at en innført metode kan tas i bruk, og ikke etter at Beslutningsforum har sagt nei.",
            figures.year,
            format::count(n as u64)
        ),
    };
    Section {
        id: "etterlevelse",
        title: "Etterlevelse".into(),
        paragraphs: vec![
            summary,
            "Metodens status på vedtaksdagen kommer fra metoderegisteret (Nye metoder): unntaksmuligheten slutter den dagen metoden faktisk kan tas i bruk etter et ja, ikke på møtedatoen, og finnes ikke etter et nei. Hvert funn er en sak å sjekke, ikke et estimat: det kan være en feilregistrering. Antall under 5 vises som kolon (:), og det samme gjelder tall som ellers ville avslørt dem.".into(),
        ],
        charts: vec![],
        tables: vec![table],
    }
}

fn reporting_quality(figures: &Figures) -> Section {
    let mut table = Table::new(
        "kvalitet",
        format!("Rapporteringskvalitet per organisasjon, {}", figures.year),
        &[
            "Organisasjon",
            "Saker",
            "Vedtak",
            "Median forsinkelse (dager)",
            "Rettelser",
            "Tilbaketrekkinger",
            "Kriterier dokumentert",
        ],
    );
    for row in figures.quality.rows() {
        table.push(vec![
            Cell::Text(region_label(
                row.group.text("org_name"),
                row.group.text("org"),
                "Ukjent",
            )),
            Cell::Count(row.cases),
            Cell::Count(row.decisions),
            Cell::Days(row.median_report_delay_days),
            Cell::Count(row.corrections),
            Cell::Count(row.retractions),
            Cell::Share(row.share_complete_criteria),
        ]);
    }
    Section {
        id: "kvalitet",
        title: "Rapporteringskvalitet".into(),
        paragraphs: vec!["Forsinkelse er dager fra vedtaket til rapporten kom til registeret. Et signal kan skyldes hvordan et foretak registrerer, ikke hvordan det beslutter.".into()],
        charts: vec![],
        tables: vec![table],
    }
}

fn definitions() -> Section {
    Section {
        id: "metode",
        title: "Definisjoner og metode".into(),
        paragraphs: vec![
            "Alle tall kommer fra registerets publiserte statistikk, med samme skjerming som statistikk-APIet: ingen telling fra 1 til 4 vises, og tall som ville gjort det mulig å regne ut en skjult telling, er også skjult (:).".into(),
            "Konfidensintervall for andeler er Wilson-intervaller; for rater Garwood (eksakt Poisson). Saksbehandlingstid er Kaplan-Meier med log-log-intervaller for medianen.".into(),
            "Signalene er beskrevet i docs/analysis.md: metode, forutsetninger, målt andel falske signaler per år og styrke ved de dokumenterte effektstørrelsene.".into(),
        ],
        charts: vec![],
        tables: vec![],
    }
}
