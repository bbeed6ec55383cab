//! A table of figures on a page: a caption, column header cells, a header cell for each
//! row, numbers right-aligned, and a link to the same table as CSV. Cells are the
//! report's (`report::Cell`), so a page writes every figure as the report does and a
//! withheld one as ":".

use maud::{html, Markup};
use report::{Cell, Table};

/// How the report marks a figure that is not published.
const NOT_PUBLISHED: &str = ":";

/// `table`, and below it a link to `csv_href` if given.
pub fn table(table: &Table, csv_href: Option<&str>) -> Markup {
    html! {
        div class="table-wrap" {
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
        @if table.rows.iter().flatten().any(|cell| cell.shown() == NOT_PUBLISHED) {
            p class="meta" {
                ": ikke publisert (færre enn 5 saker, eller skjult så det ikke kan regnes ut fra andre tall)."
            }
        }
        @if let Some(href) = csv_href {
            p class="download" {
                a href=(href) download {
                    "Last ned tabellen som CSV"
                    span class="visually-hidden" { ": " (table.caption) }
                }
            }
        }
    }
}

/// The body of a CSV download named `file`.
pub fn csv_response(file: &str, csv: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .body(csv)
}

/// A scheme's name in bokmål, as the report gives it.
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
