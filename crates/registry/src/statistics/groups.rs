//! The parts every statistic's rows share: the group's keys as named fields, intervals
//! and quantiles.

use std::collections::{BTreeMap, HashMap};

use analysis::proportion::Interval;
use analysis::survival::QuantileEstimate;
use projections::queries::Dimension;
use serde::Serialize;
use serde_json::Value;

/// The name of the rows with no region: decisions made nationally (a region is always
/// known for residence).
pub const NATIONAL: &str = "Nasjonalt (Helfo og Helsedirektoratet)";

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
                Dimension::Region | Dimension::Org | Dimension::ApplyingOrg | Dimension::MethodId
            ) {
                let name = match (dimension, key.as_deref()) {
                    (Dimension::Region, None | Some("")) => Some(NATIONAL.to_string()),
                    (_, key) => key.and_then(|k| names.get(k)).cloned(),
                };
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

    /// Leaves out a dimension's field, and its name beside it.
    pub fn remove(&mut self, dimension: &str) {
        self.0.remove(dimension);
        self.0.remove(&format!("{dimension}_name"));
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
    #[serde(serialize_with = "rounded::share")]
    pub lower: Option<f64>,
    #[serde(serialize_with = "rounded::share")]
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
    #[serde(serialize_with = "rounded::one_decimal")]
    pub estimate: Option<f64>,
    #[serde(serialize_with = "rounded::one_decimal")]
    pub lower: Option<f64>,
    #[serde(serialize_with = "rounded::one_decimal")]
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

/// Whether a row was withheld, which of its figures, and why: written beside the figures,
/// so a reader of the CSV knows why a cell of 10 is empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Withheld {
    /// Whether any figure of the row is withheld.
    pub suppressed: bool,
    /// `primary` (a count of the row is from 1 to 4) or `complementary` (withheld so that
    /// another withheld row cannot be worked out from a published total); null when
    /// nothing is withheld.
    pub suppression: Option<Suppression>,
    /// In words (bokmål): which figures are withheld, and why.
    pub suppression_reason: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    Primary,
    Complementary,
}

/// What to say when a row's total is published and its parts are withheld, for each
/// reason: the rows that allow it name their parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartsWithheld {
    pub primary: &'static str,
    pub complementary: &'static str,
}

impl Withheld {
    /// Every figure of the row withheld.
    pub(crate) fn row(why: Suppression) -> Withheld {
        Withheld::because(
            why,
            match why {
                Suppression::Primary => "Holdt tilbake: et antall i raden er fra 1 til 4.",
                Suppression::Complementary => {
                    "Holdt tilbake i tillegg: ellers kunne en annen tilbakeholdt rad regnes ut \
                     fra en publisert total."
                }
            },
        )
    }

    /// The row's parts withheld, its total published.
    pub(crate) fn parts(why: Suppression, reasons: PartsWithheld) -> Withheld {
        Withheld::because(
            why,
            match why {
                Suppression::Primary => reasons.primary,
                Suppression::Complementary => reasons.complementary,
            },
        )
    }

    fn because(why: Suppression, reason: &'static str) -> Withheld {
        Withheld {
            suppressed: true,
            suppression: Some(why),
            suppression_reason: Some(reason),
        }
    }
}

/// Figures rounded at output to what their uncertainty supports: shares to 0.01 percentage
/// point (4 decimals, so interval bounds near 0 or 1 keep their meaning), days and rates per
/// 100 000 to one decimal. The figures are computed
/// unrounded; only what is written is rounded.
pub(crate) mod rounded {
    use serde::Serializer;

    fn to(value: f64, decimals: i32) -> f64 {
        let scale = 10f64.powi(decimals);
        (value * scale).round() / scale
    }

    fn optional<S: Serializer>(
        value: &Option<f64>,
        decimals: i32,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_f64(to(*v, decimals)),
            None => serializer.serialize_none(),
        }
    }

    pub fn share<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        optional(value, 4, serializer)
    }

    pub fn one_decimal<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        optional(value, 1, serializer)
    }

    pub fn share_always<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(to(*value, 4))
    }

    pub fn one_decimal_always<S: Serializer>(
        value: &f64,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(to(*value, 1))
    }

    /// A rate that is absent (not by residence) or withheld/unavailable (null).
    pub fn nested_one_decimal<S: Serializer>(
        value: &Option<Option<f64>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => optional(inner, 1, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_without_a_region_are_named_national_and_methods_by_their_names() {
        let names = HashMap::from([("ID2023_045".to_string(), "Pembrolizumab".to_string())]);
        let keys = GroupKeys::new(
            &[Dimension::Region, Dimension::MethodId],
            &[None, Some("ID2023_045".into())],
            &names,
        );
        assert_eq!(keys.text("region"), None);
        assert_eq!(keys.text("region_name").as_deref(), Some(NATIONAL));
        assert_eq!(
            keys.text("method_id_name").as_deref(),
            Some("Pembrolizumab")
        );
    }
}
