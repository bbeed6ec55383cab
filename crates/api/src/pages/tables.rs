//! A table of figures on a page: a caption, column header cells, a header cell for each
//! row, numbers right-aligned, and a link to the same table as CSV. Cells are the
//! report's (`report::Cell`), so a page writes every figure as the report does and a
//! withheld one as ":".

use maud::{html, Markup};
use report::{table_element, withheld_note, Table};

/// `table`, and below it a link to `csv_href` if given.
pub fn table(table: &Table, csv_href: Option<&str>) -> Markup {
    html! {
        div class="table-wrap" { (table_element(table)) }
        (withheld_note(table))
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
