//! A table of the report: a caption, column headings and typed cells, rendered as HTML
//! and as CSV from the same cells.

use crate::format::{self, NOT_PUBLISHED};

/// One cell. A `None` figure is withheld or missing and shows as ":".
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(Option<u64>),
    /// A share from 0 to 1, shown in percent.
    Share(Option<f64>),
    /// A 95 % interval of a share.
    ShareInterval(Option<f64>, Option<f64>),
    Days(Option<f64>),
    Decimal(Option<f64>, usize),
}

impl Cell {
    /// The cell as the report shows it.
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Count(count) => format::optional(count.map(format::count)),
            Cell::Share(share) => format::optional(share.map(format::percent)),
            Cell::ShareInterval(Some(lower), Some(upper)) => format!(
                "{}–{}",
                format::decimal(lower * 100.0, 0),
                format::percent(*upper)
            ),
            Cell::ShareInterval(..) => NOT_PUBLISHED.to_string(),
            Cell::Days(days) => format::optional(days.map(|d| format::decimal(d.round(), 0))),
            Cell::Decimal(value, decimals) => {
                format::optional(value.map(|v| format::decimal(v, *decimals)))
            }
        }
    }

    /// The cell in CSV: plain numbers (a decimal point, shares as fractions), withheld
    /// figures empty, text neutralised against spreadsheet formulas.
    fn csv(&self) -> Vec<String> {
        let number = |value: Option<f64>| value.map_or(String::new(), |v| format!("{v:.4}"));
        match self {
            Cell::Text(text) => vec![csv_cell(text).into_owned()],
            Cell::Count(count) => vec![count.map_or(String::new(), |c| c.to_string())],
            Cell::Share(share) => vec![number(*share)],
            Cell::ShareInterval(lower, upper) => vec![number(*lower), number(*upper)],
            Cell::Days(days) => vec![days.map_or(String::new(), |d| d.round().to_string())],
            Cell::Decimal(value, _) => vec![number(*value)],
        }
    }

    /// Whether the cell is a published count from 1 to 4: never in a report.
    pub fn is_small_count(&self) -> bool {
        matches!(self, Cell::Count(Some(1..=4)))
    }
}

/// The one formula-neutralising rule, kept in `domain` so that the registry's research
/// extracts (below this crate) use it too.
pub use domain::free_text::csv_cell;

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The CSV file's name, without `.csv`.
    pub name: String,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, caption: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            caption: caption.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    /// The table as CSV: a header row (an interval takes two columns, `lower` and
    /// `upper`), then one line per row.
    pub fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let first = self.rows.first();
        let header: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .flat_map(|(index, column)| match first.map(|row| &row[index]) {
                Some(Cell::ShareInterval(..)) => {
                    vec![format!("{column} (nedre)"), format!("{column} (øvre)")]
                }
                _ => vec![column.clone()],
            })
            .map(|heading| csv_cell(&heading).into_owned())
            .collect();
        writer.write_record(&header).expect("writing to memory");
        for row in &self.rows {
            let cells: Vec<String> = row.iter().flat_map(Cell::csv).collect();
            writer.write_record(&cells).expect("writing to memory");
        }
        String::from_utf8(writer.into_inner().expect("flushing to memory")).expect("UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_run_as_formulas_are_neutralised() {
        for formula in [
            "=HYPERLINK(\"http://evil.example/x\",\"Klikk\")",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(csv_cell(formula), format!("'{formula}"));
        }
        for plain in ["Oslo universitetssykehus HF", "a=b", "", "'quoted"] {
            assert_eq!(csv_cell(plain), plain);
        }
    }

    #[test]
    fn a_withheld_count_shows_as_a_colon_and_stays_empty_in_csv() {
        let mut table = Table::new("t", "T", &["Region", "Vedtak", "Innvilget"]);
        table.push(vec![
            Cell::Text("=HYPERLINK(\"x\")".into()),
            Cell::Count(None),
            Cell::Share(Some(0.5)),
        ]);
        assert_eq!(table.rows[0][1].shown(), ":");
        assert_eq!(
            table.csv(),
            "Region,Vedtak,Innvilget\n\"'=HYPERLINK(\"\"x\"\")\",,0.5000\n"
        );
    }
}
