//! The parts every statistic's rows share: the group's keys as named fields, intervals
//! and quantiles.

use std::collections::{BTreeMap, HashMap};

use analysis::proportion::Interval;
use analysis::survival::QuantileEstimate;
use projections::queries::Dimension;
use serde::Serialize;
use serde_json::Value;

/// A row's group as named fields (`region`, `region_name`, `year`, ...), one per
/// dimension grouped by, with the names of organisations and regions beside their numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct GroupKeys(BTreeMap<String, Value>);

impl GroupKeys {
    pub fn new(
        dimensions: &[Dimension],
        keys: &[Option<String>],
        names: &HashMap<String, String>,
    ) -> GroupKeys {
        let mut fields = BTreeMap::new();
        for (dimension, key) in dimensions.iter().zip(keys) {
            let value = match (dimension, key) {
                (Dimension::Year | Dimension::Quarter, Some(k)) => {
                    k.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                }
                (_, Some(k)) if k.is_empty() => Value::Null,
                (_, Some(k)) => Value::String(k.clone()),
                (_, None) => Value::Null,
            };
            if matches!(
                dimension,
                Dimension::Region | Dimension::Org | Dimension::ApplyingOrg
            ) {
                let name = key.as_ref().and_then(|k| names.get(k)).cloned();
                fields.insert(
                    format!("{}_name", dimension.name()),
                    name.map_or(Value::Null, Value::String),
                );
            }
            fields.insert(dimension.name().to_string(), value);
        }
        GroupKeys(fields)
    }

    /// A field's value as text (a number written out), or None when the field is absent
    /// or null.
    pub fn text(&self, field: &str) -> Option<String> {
        match self.0.get(field)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    /// One named field, for rows grouped by a fixed unit (an organisation).
    pub fn of(fields: impl IntoIterator<Item = (&'static str, Option<String>)>) -> GroupKeys {
        GroupKeys(
            fields
                .into_iter()
                .map(|(name, value)| (name.to_string(), value.map_or(Value::Null, Value::String)))
                .collect(),
        )
    }
}

/// An interval whose bounds are null when there is none, so every row of an answer has
/// the same shape (and its CSV the same columns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bounds {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<Option<Interval>> for Bounds {
    fn from(interval: Option<Interval>) -> Self {
        match interval {
            Some(i) => Bounds {
                lower: Some(i.lower),
                upper: Some(i.upper),
            },
            None => Bounds::default(),
        }
    }
}

/// A quantile of a Kaplan-Meier curve, in days, with its 95 % interval; null where the
/// curve does not reach it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Quantile {
    pub estimate: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<&QuantileEstimate> for Quantile {
    fn from(q: &QuantileEstimate) -> Self {
        Quantile {
            estimate: q.estimate,
            lower: q.lower,
            upper: q.upper,
        }
    }
}
