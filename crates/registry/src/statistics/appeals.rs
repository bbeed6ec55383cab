//! Appeals per group: lodged, decided, outcomes, and the median duration (Kaplan-Meier,
//! pending appeals censored at today).

use std::collections::{BTreeMap, HashMap};

use analysis::survival::{KaplanMeier, Observation};
use chrono::{NaiveDate, Utc};
use projections::queries;
use serde::Serialize;

use super::processing::days_until;
use super::{
    GroupKeys, PartsWithheld, Publishable, Quantile, StatisticsQuery, StatisticsRequest, Table,
    Withheld,
};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AppealRow {
    #[serde(flatten)]
    pub group: GroupKeys,
    #[serde(skip)]
    keys: Vec<Option<String>>,
    pub lodged: Option<u64>,
    pub decided: Option<u64>,
    pub upheld: Option<u64>,
    pub overturned: Option<u64>,
    pub partly_overturned: Option<u64>,
    pub median_duration_days: Quantile,
    #[serde(flatten)]
    pub withheld: Withheld,
    #[serde(skip)]
    pending: u64,
}

impl AppealRow {
    fn new(
        group: GroupKeys,
        keys: Vec<Option<String>>,
        appeals: &[queries::AppealRow],
        today: NaiveDate,
    ) -> Self {
        let outcome_count = |outcome: &str| {
            appeals
                .iter()
                .filter(|a| a.outcome.as_deref() == Some(outcome))
                .count() as u64
        };
        let (upheld, overturned, partly) = (
            outcome_count("upheld"),
            outcome_count("overturned"),
            outcome_count("partly_overturned"),
        );
        let durations: Vec<Observation> = appeals
            .iter()
            .map(|a| days_until(a.lodged_date, a.decided_date, today))
            .collect();
        AppealRow {
            group,
            keys,
            lodged: Some(appeals.len() as u64),
            decided: Some(upheld + overturned + partly),
            upheld: Some(upheld),
            overturned: Some(overturned),
            partly_overturned: Some(partly),
            median_duration_days: (&KaplanMeier::fit(&durations).median()).into(),
            withheld: Withheld::default(),
            pending: appeals.iter().filter(|a| a.outcome.is_none()).count() as u64,
        }
    }
}

impl Publishable for AppealRow {
    const PARTS_APART: Option<PartsWithheld> = Some(PartsWithheld {
        primary: "Antall klager vises; utfallene og klagetiden holdes tilbake fordi et av \
                  dem, eller antall ventende, er fra 1 til 4.",
        complementary: "Antall klager vises; utfallene og klagetiden holdes tilbake i \
                        tillegg, ellers kunne en annen rads utfall regnes ut fra en publisert \
                        total.",
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
        vec![
            self.upheld.unwrap_or(0),
            self.overturned.unwrap_or(0),
            self.partly_overturned.unwrap_or(0),
            self.pending,
        ]
    }

    fn withhold(&mut self) {
        self.lodged = None;
        self.withhold_parts();
    }

    fn withhold_parts(&mut self) {
        self.decided = None;
        self.upheld = None;
        self.overturned = None;
        self.partly_overturned = None;
        self.median_duration_days = Quantile::default();
    }
}

/// The appeals table from the appeals lodged in the period.
pub fn appeal_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    appeals: Vec<queries::AppealRow>,
    names: &HashMap<String, String>,
    today: NaiveDate,
) -> Table<AppealRow> {
    let mut groups: BTreeMap<Vec<Option<String>>, Vec<queries::AppealRow>> = BTreeMap::new();
    for appeal in appeals {
        groups.entry(appeal.keys.clone()).or_default().push(appeal);
    }
    let rows = groups
        .into_iter()
        .map(|(keys, appeals)| {
            let group = GroupKeys::new(&request.dimensions, &keys, names);
            AppealRow::new(group, keys, &appeals, today)
        })
        .collect();
    Table::publish(request, as_of_position, rows)
}

impl Registry {
    /// Appeals per group, as the actor may see them.
    pub async fn appeal_statistics(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<Table<AppealRow>, ServiceError> {
        let request = self.statistics_request(actor, query).await?;
        let as_of_position = self.as_of(request.min_position).await?;
        let appeals = queries::appeals(self.pool(), &request.filter, &request.dimensions).await?;
        let names = self.group_names(&request).await?;
        let today = Utc::now().date_naive();
        super::published_apart(move || {
            appeal_table(&request, as_of_position, appeals, &names, today)
        })
        .await
    }
}
