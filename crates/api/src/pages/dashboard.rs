//! `GET /`: the dashboard. A plain GET form (year, scheme, method, region basis) over the
//! published statistics, the same calls and the same suppression as the statistics API:
//! decisions and grant rates by region and by trust, applications (per 100 000 residents
//! by region of residence), processing times; each table also as CSV (`&csv=<table>`),
//! and a link to the year's report.

use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use domain::case::Scheme;
use maud::{html, Markup};
use registry::statistics::{ApplicationRow, DecisionRow, ProcessingTimeRow, StatisticsQuery};
use registry::{Actor, Registry};
use report::{Cell, Table};
use serde::Deserialize;

use super::error::PageError;
use super::layout::{self, SignedIn};
use super::session::Person;
use report::scheme_name;

use super::tables;
use super::url::query_value;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    aar: Option<String>,
    ordning: Option<String>,
    metode: Option<String>,
    grunnlag: Option<String>,
    /// A table to download as CSV instead of the page.
    csv: Option<String>,
}

/// The filter as chosen (empty: all).
struct Filter {
    year: i32,
    scheme: Option<String>,
    method: Option<String>,
    residence: bool,
}

impl Filter {
    fn from(query: &DashboardQuery, years: &[i32]) -> Filter {
        let chosen = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        Filter {
            year: query
                .aar
                .as_deref()
                .and_then(|y| y.parse().ok())
                .filter(|year| (2000..=2100).contains(year))
                .unwrap_or_else(|| default_year(years)),
            scheme: chosen(&query.ordning),
            method: chosen(&query.metode),
            residence: query.grunnlag.as_deref() == Some("residence"),
        }
    }

    fn statistics(&self, group_by: &str) -> StatisticsQuery {
        StatisticsQuery {
            from: NaiveDate::from_ymd_opt(self.year, 1, 1),
            to: NaiveDate::from_ymd_opt(self.year, 12, 31),
            scheme: self.scheme.clone(),
            method_id: self.method.clone(),
            region_basis: Some(
                if self.residence {
                    "residence"
                } else {
                    "deciding"
                }
                .into(),
            ),
            group_by: (!group_by.is_empty()).then(|| group_by.to_string()),
            ..StatisticsQuery::default()
        }
    }

    /// This filter's address, with `extra` parameters after it.
    fn href(&self, extra: &[(&str, &str)]) -> String {
        let year = self.year.to_string();
        let basis = if self.residence {
            "residence"
        } else {
            "deciding"
        };
        let mut pairs = vec![("aar", year.as_str()), ("grunnlag", basis)];
        if let Some(scheme) = &self.scheme {
            pairs.push(("ordning", scheme));
        }
        if let Some(method) = &self.method {
            pairs.push(("metode", method));
        }
        pairs.extend_from_slice(extra);
        let query: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", query_value(value)))
            .collect();
        format!("/?{}", query.join("&"))
    }
}

/// The latest year before this one with decisions (a whole year), else the latest.
fn default_year(years: &[i32]) -> i32 {
    let this_year = chrono::Utc::now().year();
    years
        .iter()
        .copied()
        .filter(|year| *year < this_year)
        .max()
        .or_else(|| years.iter().copied().max())
        .unwrap_or(this_year)
}

/// The years with decisions, newest first.
pub async fn years_with_decisions(
    registry: &Registry,
    actor: &Actor,
) -> Result<Vec<i32>, PageError> {
    let query = StatisticsQuery {
        group_by: Some("year".into()),
        ..StatisticsQuery::default()
    };
    let table = registry.decision_statistics(actor, &query).await?;
    let mut years: Vec<i32> = table
        .rows()
        .iter()
        .filter_map(|row| row.group.text("year")?.parse().ok())
        .collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    Ok(years)
}

/// The year the report link of the header goes to.
pub async fn report_year(registry: &Registry, actor: &Actor) -> Result<i32, PageError> {
    Ok(default_year(&years_with_decisions(registry, actor).await?))
}

pub async fn dashboard(
    person: Person,
    state: web::Data<AppState>,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, PageError> {
    let registry = &state.registry;
    let actor = &person.actor;
    let years = years_with_decisions(registry, actor).await?;
    let filter = Filter::from(&query, &years);
    let figures = Figures::gather(registry, actor, &filter).await?;
    let tables = figures.tables(&filter);
    if let Some(name) = &query.csv {
        let table = tables
            .iter()
            .find(|table| &table.name == name)
            .ok_or_else(PageError::not_found)?;
        let file = format!("{}-{}.csv", table.name, filter.year);
        return Ok(tables::csv_response(&file, table.csv()));
    }
    let methods: Vec<(String, String)> = registry
        .methods(actor)
        .await?
        .into_iter()
        .map(|m| {
            let id = m.method_id.as_str().to_string();
            let name = m.description.map(|d| d.name).unwrap_or_default();
            (id, name)
        })
        .collect();
    let content = html! {
        h1 { "Oversikt " (filter.year) }
        p class="meta" {
            "Publiserte tall fra registeret, med samme skjerming som statistikk-API-et: "
            "ingen tall fra 1 til 4 vises. Tall til og med hendelse nr. "
            (figures.as_of_position) "."
        }
        (filter_form(&filter, &years, &methods))
        (key_figures(&figures, &filter))
        p class="report-link" {
            a href={ "/rapport/" (filter.year) } { "Årsrapporten for " (filter.year) }
            " (hele landet, alle ordninger, med figurer og alle tabeller som CSV)"
        }
        @for table in &tables {
            section aria-labelledby={ "t-" (table.name) } {
                h2 id={ "t-" (table.name) } { (heading(&table.name)) }
                (tables::table(table, Some(&filter.href(&[("csv", &table.name)]))))
            }
        }
    };
    let signed_in = SignedIn {
        csrf: &person.csrf,
        report_year: default_year(&years),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(layout::page(
            &format!("Oversikt {}", filter.year),
            Some(signed_in),
            content,
        )))
}

fn heading(table: &str) -> &'static str {
    match table {
        "vedtak-region" => "Vedtak etter region",
        "soknader-region" => "Søknader etter region",
        "saksbehandlingstid-region" => "Saksbehandlingstid etter region",
        _ => "Vedtak etter helseforetak",
    }
}

fn filter_form(filter: &Filter, years: &[i32], methods: &[(String, String)]) -> Markup {
    let selected_year = filter.year;
    let mut years = years.to_vec();
    if !years.contains(&selected_year) {
        years.push(selected_year);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    html! {
        form class="filters" method="get" action="/" aria-label="Utvalg" {
            div class="field" {
                label for="aar" { "År" }
                select id="aar" name="aar" {
                    @for year in &years {
                        option value=(year) selected[*year == selected_year] { (year) }
                    }
                }
            }
            div class="field" {
                label for="ordning" { "Ordning" }
                select id="ordning" name="ordning" {
                    option value="" selected[filter.scheme.is_none()] { "Alle ordninger" }
                    @for scheme in Scheme::ALL {
                        option value=(scheme.as_str())
                            selected[filter.scheme.as_deref() == Some(scheme.as_str())] {
                            (scheme_name(scheme.as_str()))
                        }
                    }
                }
            }
            div class="field" {
                label for="metode" { "Metode" }
                select id="metode" name="metode" {
                    option value="" selected[filter.method.is_none()] { "Alle metoder" }
                    @for (id, name) in methods {
                        option value=(id) selected[filter.method.as_deref() == Some(id.as_str())] {
                            (id) @if !name.is_empty() { " – " (name) }
                        }
                    }
                }
            }
            div class="field" {
                label for="grunnlag" { "Region etter" }
                select id="grunnlag" name="grunnlag" {
                    option value="deciding" selected[!filter.residence] { "regionen som vedtok" }
                    option value="residence" selected[filter.residence] { "pasientens bostedsregion" }
                }
            }
            div class="field" { button type="submit" { "Vis" } }
        }
    }
}

fn key_figures(figures: &Figures, filter: &Filter) -> Markup {
    let national = figures.national.first();
    let applications = figures.applications_national.first();
    let processing = figures.processing_national.first();
    let interval = national.map(|row| {
        Cell::ShareInterval(row.grant_rate_ci95.lower, row.grant_rate_ci95.upper).shown()
    });
    html! {
        h2 { "Nøkkeltall" }
        p {
            (filter.scheme.as_deref().map_or("Alle ordninger", scheme_name)) ", "
            (filter.method.as_deref().unwrap_or("alle metoder")) ", "
            (if filter.residence { "etter pasientens bostedsregion." } else { "etter regionen som vedtok." })
        }
        dl class="key-figures" {
            div {
                dt { "Søknader mottatt" }
                dd { (Cell::Count(applications.and_then(|r| r.applications)).shown()) }
            }
            div {
                dt { "Vedtak" }
                dd { (Cell::Count(national.and_then(|r| r.decided)).shown()) }
            }
            div {
                dt { "Andel innvilget" }
                dd {
                    (Cell::Share(national.and_then(|r| r.grant_rate)).shown())
                    @if let Some(interval) = interval { " (95 % KI " (interval) ")" }
                }
            }
            div {
                dt { "Median saksbehandlingstid" }
                dd {
                    @match processing.and_then(|r| r.median_days.estimate) {
                        Some(days) => { (Cell::Days(Some(days)).shown()) " dager" },
                        None => (Cell::Days(None).shown()),
                    }
                }
            }
        }
    }
}

/// The published figures behind the dashboard, for one filter.
struct Figures {
    as_of_position: i64,
    national: Vec<DecisionRow>,
    applications_national: Vec<ApplicationRow>,
    processing_national: Vec<ProcessingTimeRow>,
    by_region: Vec<DecisionRow>,
    applications: Vec<ApplicationRow>,
    processing: Vec<ProcessingTimeRow>,
    by_org: Vec<DecisionRow>,
}

impl Figures {
    async fn gather(
        registry: &Registry,
        actor: &Actor,
        filter: &Filter,
    ) -> Result<Figures, PageError> {
        let national = registry
            .decision_statistics(actor, &filter.statistics(""))
            .await?;
        Ok(Figures {
            as_of_position: national.as_of_position(),
            national: national.rows().to_vec(),
            applications_national: rows(
                registry
                    .application_statistics(actor, &filter.statistics(""))
                    .await?,
            ),
            processing_national: rows(
                registry
                    .processing_time_statistics(actor, &filter.statistics(""))
                    .await?,
            ),
            by_region: rows(
                registry
                    .decision_statistics(actor, &filter.statistics("region"))
                    .await?,
            ),
            applications: rows(
                registry
                    .application_statistics(actor, &filter.statistics("region"))
                    .await?,
            ),
            processing: rows(
                registry
                    .processing_time_statistics(actor, &filter.statistics("region"))
                    .await?,
            ),
            by_org: rows(
                registry
                    .decision_statistics(actor, &filter.statistics("org"))
                    .await?,
            ),
        })
    }

    fn tables(&self, filter: &Filter) -> Vec<Table> {
        let basis = if filter.residence {
            "pasientens bostedsregion"
        } else {
            "regionen som vedtok"
        };
        let year = filter.year;
        let mut decisions = Table::new(
            "vedtak-region",
            format!("Vedtak og andel innvilget etter {basis}, {year}"),
            &DECISION_COLUMNS,
        );
        for row in &self.by_region {
            decisions.push(decision_cells(
                region(
                    row.group.text("region_name"),
                    row.group.text("region"),
                    filter.residence,
                ),
                row,
            ));
        }
        let mut applications = match filter.residence {
            true => Table::new(
                "soknader-region",
                format!("Søknader mottatt etter {basis}, {year}, og per 100 000 innbyggere"),
                &["Region", "Søknader", "Per 100 000", "95 % KI"],
            ),
            false => Table::new(
                "soknader-region",
                format!("Søknader mottatt etter {basis}, {year}"),
                &["Region", "Søknader"],
            ),
        };
        for row in &self.applications {
            let mut cells = vec![
                region(
                    row.group.text("region_name"),
                    row.group.text("region"),
                    filter.residence,
                ),
                Cell::Count(row.applications),
            ];
            if filter.residence {
                let bounds = row.per_100k_ci95.unwrap_or_default();
                let interval = match (bounds.lower, bounds.upper) {
                    (Some(lower), Some(upper)) => format!(
                        "{}–{}",
                        Cell::Decimal(Some(lower), 1).shown(),
                        Cell::Decimal(Some(upper), 1).shown()
                    ),
                    _ => ":".into(),
                };
                cells.push(Cell::Decimal(row.per_100k.flatten(), 1));
                cells.push(Cell::Text(interval));
            }
            applications.push(cells);
        }
        let mut processing = Table::new(
            "saksbehandlingstid-region",
            format!("Saksbehandlingstid i dager etter {basis}, søknader mottatt {year}"),
            &[
                "Region",
                "Søknader",
                "Avgjort",
                "Median (dager)",
                "Innen 14 dager",
                "Innen 30 dager",
            ],
        );
        for row in &self.processing {
            processing.push(vec![
                region(
                    row.group.text("region_name"),
                    row.group.text("region"),
                    filter.residence,
                ),
                Cell::Count(row.n),
                Cell::Count(row.decided),
                Cell::Days(row.median_days.estimate),
                Cell::Share(row.share_within_14_days),
                Cell::Share(row.share_within_30_days),
            ]);
        }
        let mut by_org = Table::new(
            "vedtak-helseforetak",
            format!("Vedtak og andel innvilget etter organisasjonen som vedtok, {year}"),
            &with_first("Organisasjon"),
        );
        for row in &self.by_org {
            let name = row.group.text("org_name").or_else(|| row.group.text("org"));
            by_org.push(decision_cells(
                Cell::Text(name.unwrap_or_else(|| "Uten organisasjon".into())),
                row,
            ));
        }
        vec![decisions, applications, processing, by_org]
    }
}

fn rows<R: Clone>(table: registry::statistics::Table<R>) -> Vec<R> {
    table.rows().to_vec()
}

const DECISION_COLUMNS: [&str; 6] = [
    "Region",
    "Vedtak",
    "Innvilget",
    "Avslått",
    "Andel innvilget",
    "95 % KI",
];

fn with_first(first: &'static str) -> [&'static str; 6] {
    let mut columns = DECISION_COLUMNS;
    columns[0] = first;
    columns
}

/// A row's region, or what a row without one stands for (as the report names it).
fn region(name: Option<String>, number: Option<String>, residence: bool) -> Cell {
    let without = match residence {
        true => "Uten bostedsregion (gruppeunntak)",
        false => "Nasjonalt (Helfo og Helsedirektoratet)",
    };
    Cell::Text(name.or(number).unwrap_or_else(|| without.into()))
}

fn decision_cells(first: Cell, row: &DecisionRow) -> Vec<Cell> {
    vec![
        first,
        Cell::Count(row.decided),
        Cell::Count(row.granted),
        Cell::Count(row.refused),
        Cell::Share(row.grant_rate),
        Cell::ShareInterval(row.grant_rate_ci95.lower, row.grant_rate_ci95.upper),
    ]
}
