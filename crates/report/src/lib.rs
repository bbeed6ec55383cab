//! The annual summary for the interregional medical directors' meeting and the supervisory
//! authorities, in bokmål: the year's published statistics and signals as one
//! self-contained HTML page (inline CSS and SVG, no external request) and each of its
//! tables as CSV.
//!
//! Every figure comes from the registry's published statistics (`registry::statistics`,
//! the same code and the same suppression as the statistics API) or its signals; this
//! crate only arranges and draws them. A withheld count stays withheld: it is shown as
//! ":" (Statistics Norway's mark for a figure not published), never as a number.

mod build;
mod charts;
mod format;
mod html;
mod sections;
mod table;

pub use build::annual_report;
pub use html::{table_element, withheld_note};
pub use sections::scheme_name;
pub use table::{csv_cell, Cell, Table};

use chrono::{DateTime, Utc};

/// The report of one year.
#[derive(Debug, Clone)]
pub struct AnnualReport {
    pub year: i32,
    pub generated_at: DateTime<Utc>,
    /// Every event up to this position is counted.
    pub as_of_position: i64,
    /// The summary: a handful of sentences written from the figures.
    pub summary: Vec<String>,
    pub sections: Vec<Section>,
}

/// One section: its heading, a few sentences, tables and charts.
#[derive(Debug, Clone)]
pub struct Section {
    /// The anchor of the section in the page.
    pub id: &'static str,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub charts: Vec<Chart>,
    pub tables: Vec<Table>,
}

/// A chart as inline SVG, with its title and a description for screen readers; the table
/// beside it says the same in figures.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub description: String,
    pub svg: String,
}

impl AnnualReport {
    /// The report as one HTML page.
    pub fn html(&self) -> String {
        html::page(self)
    }

    /// Every table of the report, by its file name (`<name>.csv`), as CSV.
    pub fn csv_files(&self) -> Vec<(String, String)> {
        self.sections
            .iter()
            .flat_map(|section| &section.tables)
            .map(|table| (format!("{}.csv", table.name), table.csv()))
            .collect()
    }

    /// Every table of the report.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.sections.iter().flat_map(|section| &section.tables)
    }
}
