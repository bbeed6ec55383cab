//! Decisions per group: decided, granted, refused, the grant rate and its Wilson interval.

use std::collections::HashMap;

use analysis::proportion::wilson_interval;
use projections::queries::{self, DecisionGroup, Dimension};
use serde::Serialize;

use super::{
    Bounds, GroupKeys, PartsWithheld, Publishable, StatisticsQuery, StatisticsRequest, Table,
    Withheld,
};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DecisionRow {
    #[serde(flatten)]
    pub group: GroupKeys,
    #[serde(skip)]
    keys: Vec<Option<String>>,
    pub decided: Option<u64>,
    pub granted: Option<u64>,
    pub refused: Option<u64>,
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub grant_rate: Option<f64>,
    pub grant_rate_ci95: Bounds,
    /// Whether the row's figures are withheld.
    #[serde(flatten)]
    pub withheld: Withheld,
}

impl DecisionRow {
    pub fn new(
        dimensions: &[Dimension],
        group: &DecisionGroup,
        names: &HashMap<String, String>,
    ) -> DecisionRow {
        let (granted, refused) = (group.granted.max(0) as u64, group.refused.max(0) as u64);
        let decided = granted + refused;
        DecisionRow {
            group: GroupKeys::new(dimensions, &group.keys, names),
            keys: group.keys.clone(),
            decided: Some(decided),
            granted: Some(granted),
            refused: Some(refused),
            grant_rate: (decided > 0).then(|| granted as f64 / decided as f64),
            grant_rate_ci95: wilson_interval(granted, decided, 0.95).into(),
            withheld: Withheld::default(),
        }
    }
}

impl Publishable for DecisionRow {
    const PARTS_APART: Option<PartsWithheld> = Some(PartsWithheld {
        primary: "Antall avgjort vises; innvilget, avslått og innvilgelsesandelen holdes \
                  tilbake fordi innvilget eller avslått er fra 1 til 4.",
        complementary: "Antall avgjort vises; innvilget, avslått og innvilgelsesandelen \
                        holdes tilbake i tillegg, ellers kunne en annen rads fordeling regnes \
                        ut fra en publisert total.",
    });

    fn group(&self) -> &[Option<String>] {
        &self.keys
    }

    fn withheld_mut(&mut self) -> &mut Withheld {
        &mut self.withheld
    }

    fn drop_key(&mut self, at: usize, name: &str) {
        self.keys.remove(at);
        self.group.remove(name);
    }

    fn counts(&self) -> Vec<u64> {
        vec![self.granted.unwrap_or(0), self.refused.unwrap_or(0)]
    }

    fn withhold(&mut self) {
        self.decided = None;
        self.withhold_parts();
    }

    fn withhold_parts(&mut self) {
        self.granted = None;
        self.refused = None;
        self.grant_rate = None;
        self.grant_rate_ci95 = Bounds::default();
    }
}

/// The decisions table from its counted groups.
pub fn decision_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    groups: &[DecisionGroup],
    names: &HashMap<String, String>,
) -> Table<DecisionRow> {
    let rows = groups
        .iter()
        .map(|group| DecisionRow::new(&request.dimensions, group, names))
        .collect();
    Table::publish(request, as_of_position, rows)
}

impl Registry {
    /// Decisions per group, as the actor may see them.
    pub async fn decision_statistics(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<Table<DecisionRow>, ServiceError> {
        let request = self.statistics_request(actor, query).await?;
        let as_of_position = self.as_of(request.min_position).await?;
        let groups = queries::decisions(self.pool(), &request.filter, &request.dimensions).await?;
        let names = self.group_names(&request).await?;
        super::published_apart(move || decision_table(&request, as_of_position, &groups, &names))
            .await
    }
}
