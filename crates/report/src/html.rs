//! The report as one self-contained HTML page: inline CSS, inline SVG, no script and no
//! external request. maud escapes every text. Built for WCAG 2.1 AA: `lang="nb"`, headings
//! in order, header cells with scope, captions, visible focus, dark text on light ground;
//! and a print stylesheet for a clean A4 report.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::format;
use crate::table::Cell;
use crate::{AnnualReport, Section, Table};

const STYLE: &str = r#"
:root { color: #1a1a1a; background: #ffffff; font-family: "Source Sans Pro", Arial, sans-serif; }
body { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; line-height: 1.5; }
h1 { font-size: 2rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.5rem; margin-top: 2.5rem; border-bottom: 2px solid #1f4e79; }
h3 { font-size: 1.15rem; margin-top: 1.5rem; }
a { color: #1f4e79; }
a:focus, a:hover { outline: 3px solid #f5b800; outline-offset: 2px; }
.skip { position: absolute; left: -999rem; }
.skip:focus { left: 1rem; top: 1rem; background: #ffffff; padding: 0.5rem; }
.meta { color: #444444; }
table { border-collapse: collapse; margin: 0.75rem 0 1.5rem; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.25rem; }
th, td { border-bottom: 1px solid #cccccc; padding: 0.25rem 0.6rem; }
th { text-align: left; background: #eef3f8; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; }
svg.chart { width: 100%; max-width: 40rem; height: auto; }
.summary li { margin-bottom: 0.4rem; }
nav ol { columns: 2; }
@media print {
  @page { size: A4; margin: 18mm 15mm; }
  nav, .skip { display: none; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-before: page; }
  table, figure { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

pub fn page(report: &AnnualReport) -> String {
    let title = format!("Unntak og individuell tilgang {}: årsoversikt", report.year);
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a class="skip" href="#innhold" { "Gå til innholdet" }
                header {
                    h1 { (title) }
                    p class="meta" {
                        "Nasjonalt register over unntak fra beslutninger i Nye metoder og individuell tilgang. "
                        "Laget " (report.generated_at.format("%d.%m.%Y kl. %H:%M UTC"))
                        " fra alle hendelser til og med posisjon " (report.as_of_position) "."
                    }
                }
                nav aria-label="Innhold" {
                    h2 { "Innhold" }
                    ol {
                        li { a href="#sammendrag" { "Sammendrag" } }
                        @for section in &report.sections {
                            li { a href={ "#" (section.id) } { (section.title) } }
                        }
                    }
                }
                main id="innhold" {
                    section aria-labelledby="sammendrag" {
                        h2 id="sammendrag" { "Sammendrag" }
                        ul class="summary" {
                            @for sentence in &report.summary { li { (sentence) } }
                        }
                    }
                    @for section in &report.sections { (section_markup(section)) }
                }
            }
        }
    }
    .into_string()
}

fn section_markup(section: &Section) -> Markup {
    html! {
        section aria-labelledby=(section.id) {
            h2 id=(section.id) { (section.title) }
            @for paragraph in &section.paragraphs { p { (paragraph) } }
            @for chart in &section.charts {
                figure {
                    figcaption { (chart.title) }
                    (PreEscaped(&chart.svg))
                    p class="meta" { (chart.description) }
                }
            }
            @for table in &section.tables { (table_markup(table)) }
        }
    }
}

fn table_markup(table: &Table) -> Markup {
    html! {
        (table_element(table))
        (withheld_note(table))
    }
}

/// A table as HTML: its caption, column header cells, a header cell for each row, and
/// numbers right-aligned. Pages that show report tables use it too.
pub fn table_element(table: &Table) -> Markup {
    html! {
        table {
            caption { (table.caption) }
            thead {
                tr { @for column in &table.columns { th scope="col" { (column) } } }
            }
            tbody {
                @for row in &table.rows {
                    tr {
                        @for (index, cell) in row.iter().enumerate() {
                            @if index == 0 {
                                th scope="row" { (cell.shown()) }
                            } @else if matches!(cell, Cell::Text(_)) {
                                td { (cell.shown()) }
                            } @else {
                                td class="number" { (cell.shown()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What ":" means, below a table that has a figure not published (nothing otherwise).
pub fn withheld_note(table: &Table) -> Markup {
    html! {
        @if table.rows.iter().flatten().any(|c| c.shown() == format::NOT_PUBLISHED) {
            p class="meta" {
                ": ikke publisert (færre enn 5 saker, eller skjult så det ikke kan regnes ut fra andre tall)."
            }
        }
    }
}
