//! `GET /rapport/{year}`: the annual report (`report::annual_report`) as the person signed
//! in may see it, in the site's frame, each table with its CSV download at
//! `/rapport/{year}/{table}.csv`. The sections, charts and tables are the report's own;
//! `unntak report annual` writes the same report as one self-contained file.

use actix_web::{web, HttpResponse};
use maud::{html, Markup, PreEscaped};
use report::{AnnualReport, Section};

use super::dashboard::report_year;
use super::error::PageError;
use super::layout::{self, SignedIn};
use super::session::Person;
use super::tables;
use crate::AppState;

/// The year in the path, if it is one the registry could have.
fn year(text: &str) -> Result<i32, PageError> {
    text.parse::<i32>()
        .ok()
        .filter(|year| (2000..=2100).contains(year))
        .ok_or_else(PageError::not_found)
}

pub async fn report_page(
    person: Person,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let year = year(&path)?;
    let report = report::annual_report(&state.registry, &person.actor, year).await?;
    let latest = report_year(&state.registry, &person.actor).await?;
    let title = format!("Årsrapport {year}: unntak og individuell tilgang");
    let content = report_markup(&report, &title);
    let signed_in = SignedIn {
        csrf: &person.csrf,
        report_year: latest,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(layout::page(&title, Some(signed_in), content)))
}

pub async fn report_csv(
    person: Person,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (year_text, name) = path.into_inner();
    let year = year(&year_text)?;
    let report = report::annual_report(&state.registry, &person.actor, year).await?;
    let table = report
        .tables()
        .find(|table| table.name == name)
        .ok_or_else(PageError::not_found)?;
    let file = format!("{}-{year}.csv", table.name);
    Ok(tables::csv_response(&file, table.csv()))
}

fn report_markup(report: &AnnualReport, title: &str) -> Markup {
    html! {
        h1 { (title) }
        p class="meta" {
            "Nasjonalt register over unntak fra beslutninger i Nye metoder og individuell tilgang. "
            "Laget " (report.generated_at.format("%d.%m.%Y kl. %H:%M UTC"))
            " fra alle hendelser til og med nr. " (report.as_of_position) ". "
            "Ingen tall fra 1 til 4 vises."
        }
        nav class="contents" aria-label="Innhold i rapporten" {
            h2 { "Innhold" }
            ol {
                li { a href="#sammendrag" { "Sammendrag" } }
                @for section in &report.sections {
                    li { a href={ "#" (section.id) } { (section.title) } }
                }
            }
        }
        section aria-labelledby="sammendrag" {
            h2 id="sammendrag" { "Sammendrag" }
            ul class="summary" {
                @for sentence in &report.summary { li { (sentence) } }
            }
        }
        @for section in &report.sections { (section_markup(report.year, section)) }
    }
}

fn section_markup(year: i32, section: &Section) -> Markup {
    html! {
        section class="report-section" aria-labelledby=(section.id) {
            h2 id=(section.id) { (section.title) }
            @for paragraph in &section.paragraphs { p { (paragraph) } }
            @for chart in &section.charts {
                figure {
                    figcaption { (chart.title) }
                    // The report draws its charts as SVG from figures, escaping their text.
                    (PreEscaped(&chart.svg))
                    p class="meta" { (chart.description) }
                }
            }
            @for table in &section.tables {
                (tables::table(table, Some(&format!("/rapport/{year}/{}.csv", table.name))))
            }
        }
    }
}
