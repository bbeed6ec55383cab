//! The SQL builder of the statistics over the case facts: the asked-for dimensions as
//! columns k0, k1, ..., the common filters as $1..$5, the lateral joins of the
//! multi-valued dimensions.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::grouping::{Dimension, Filter};

/// A query over the case facts, with the asked-for dimensions as columns k0, k1, ... and
/// the common filters on `date` as $1..$5 (bind them with `bind_filter`).
pub(super) struct FactsQuery {
    /// The date the period filters on.
    pub(super) date: &'static str,
    /// The columns after the group keys.
    pub(super) columns: &'static str,
    /// The FROM clause; the case facts are aliased `f`.
    pub(super) from: &'static str,
    pub(super) condition: &'static str,
    /// Whether to group (and order) by the dimensions.
    pub(super) grouped: bool,
    /// How many of the leading `columns` are grouped by as well, after the dimensions.
    pub(super) grouped_columns: usize,
}

impl FactsQuery {
    pub(super) fn sql(&self, filter: &Filter, dimensions: &[Dimension]) -> String {
        let expressions: Vec<String> = dimensions
            .iter()
            .map(|d| d.facts_expression(self.date, filter.region_basis))
            .collect();
        let keys: Vec<&str> = expressions.iter().map(String::as_str).collect();
        let grouping = match self.grouped {
            true => format!(
                "{} order by {}",
                group_list(keys.len() + self.grouped_columns),
                order_list(keys.len() + self.grouped_columns)
            ),
            false => String::new(),
        };
        format!(
            "select {select_keys} {columns}
               from {from} {joins}
              where {condition} {filters}
              {grouping}",
            select_keys = select_list(&keys),
            columns = self.columns,
            from = self.from,
            joins = lateral_joins(dimensions),
            condition = self.condition,
            filters = facts_filters(self.date),
        )
    }
}

pub(super) fn select_list(keys: &[&str]) -> String {
    keys.iter()
        .enumerate()
        .map(|(i, key)| format!("{key} as k{i},"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn group_list(count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    format!(
        "group by {}",
        (1..=count)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub(super) fn order_list(count: usize) -> String {
    if count == 0 {
        return "1".into();
    }
    (1..=count)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn lateral_joins(dimensions: &[Dimension]) -> String {
    let mut joins = String::new();
    if dimensions.contains(&Dimension::RefusalReason) {
        joins.push_str(" left join lateral unnest(f.refusal_reasons) as reason(value) on true");
    }
    if dimensions.contains(&Dimension::Criterion) {
        joins.push_str(
            " left join lateral (select key, value from jsonb_each_text(f.criteria)
                                  where key <> 'exceptional_on') as criterion on true",
        );
    }
    joins
}

pub(super) fn facts_filters(date: &str) -> String {
    // The period as a range even when open, so that a plan made for any values (a
    // prepared statement's generic plan) can still use the date's index.
    format!(
        "and {date} >= coalesce($1::date, '-infinity') and {date} <= coalesce($2::date, 'infinity')
         and ($3::text is null or f.scheme = $3) and ($4::text is null or f.method_id = $4)
         and ($5::text is null or f.deciding_org = $5)"
    )
}

pub(super) fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(filter.from)
        .bind(filter.to)
        .bind(&filter.scheme)
        .bind(&filter.method_id)
        .bind(&filter.deciding_org)
}

pub(super) fn group_keys(row: &PgRow, count: usize) -> Vec<Option<String>> {
    (0..count)
        .map(|i| row.get(format!("k{i}").as_str()))
        .collect()
}
