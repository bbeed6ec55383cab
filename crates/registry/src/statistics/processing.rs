//! Processing times per group: Kaplan-Meier from received to decided, pending cases
//! censored at the last day the cases know of (as the signals do: a decision reported late
//! does not count as waiting); medians and quartiles with intervals, and the share decided within
//! 14 and 30 days.

use std::collections::{BTreeMap, HashMap};

use analysis::survival::{KaplanMeier, Observation};
use chrono::{NaiveDate, Utc};
use projections::queries::{self, Processing};
use serde::Serialize;

use super::{
    is_small, GroupKeys, PartsWithheld, Publishable, Quantile, StatisticsQuery, StatisticsRequest,
    Table, Withheld,
};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

/// Fewest cases whose quantiles are published while decided and pending are withheld: a
/// quarter of them, the width of what a quantile reached or not tells, is then at least 10.
const MIN_CASES_FOR_QUANTILES_WITHOUT_SPLIT: u64 = 40;

/// Fewest decisions one published step of a suppressed curve stands for.
const DECISIONS_PER_PUBLISHED_STEP: u64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProcessingTimeRow {
    #[serde(flatten)]
    pub group: GroupKeys,
    #[serde(skip)]
    keys: Vec<Option<String>>,
    pub n: Option<u64>,
    pub decided: Option<u64>,
    /// Cases still pending, censored at the last day the cases know of.
    pub censored: Option<u64>,
    pub median_days: Quantile,
    pub quartile_1_days: Quantile,
    pub quartile_3_days: Quantile,
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub share_within_14_days: Option<f64>,
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub share_within_30_days: Option<f64>,
    /// The step function, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<Option<Vec<CurveStep>>>,
    #[serde(flatten)]
    pub withheld: Withheld,
    /// Decided by the day, and not decided by the day, for each share.
    #[serde(skip)]
    split_at: [(u64, u64); 2],
    /// Every decision of the row, whether published or not.
    #[serde(skip)]
    decided_total: u64,
}

/// One step of a processing-time curve.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CurveStep {
    #[serde(serialize_with = "super::groups::rounded::one_decimal_always")]
    pub day: f64,
    /// The share of cases still pending after `day`.
    #[serde(serialize_with = "super::groups::rounded::share_always")]
    pub still_pending: f64,
    /// Cases still pending just before `day`: only in unsuppressed answers, as it falls to
    /// single cases at the tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<u64>,
    #[serde(skip)]
    decisions: u64,
}

impl ProcessingTimeRow {
    fn new(
        group: GroupKeys,
        keys: Vec<Option<String>>,
        observations: &[Observation],
        with_curve: bool,
    ) -> ProcessingTimeRow {
        let fit = KaplanMeier::fit(observations);
        let n = observations.iter().map(|o| o.count).sum::<u64>();
        let decided = fit.events();
        let (q1, q3) = fit.quartiles();
        let curve = with_curve.then(|| {
            fit.steps()
                .iter()
                .map(|s| CurveStep {
                    day: s.time,
                    still_pending: s.survival,
                    at_risk: Some(s.at_risk),
                    decisions: s.events,
                })
                .collect()
        });
        ProcessingTimeRow {
            group,
            keys,
            n: Some(n),
            decided: Some(decided),
            censored: Some(n - decided),
            median_days: (&fit.median()).into(),
            quartile_1_days: (&q1).into(),
            quartile_3_days: (&q3).into(),
            share_within_14_days: Some(fit.share_with_event_by(14.0)),
            share_within_30_days: Some(fit.share_with_event_by(30.0)),
            curve: curve.map(Some),
            withheld: Withheld::default(),
            split_at: [split_at(observations, 14.0), split_at(observations, 30.0)],
            decided_total: decided,
        }
    }
}

/// Cases decided by `day`, and the others.
fn split_at(observations: &[Observation], day: f64) -> (u64, u64) {
    let n: u64 = observations.iter().map(|o| o.count).sum();
    let by_day: u64 = observations
        .iter()
        .filter(|o| o.event_observed && o.time_days <= day)
        .map(|o| o.count)
        .sum();
    (by_day, n - by_day)
}

impl Publishable for ProcessingTimeRow {
    const PARTS_APART: Option<PartsWithheld> = Some(PartsWithheld {
        primary: "Antall saker og kvartilene vises; avgjort, ventende og kurven holdes \
                  tilbake fordi avgjort eller ventende er fra 1 til 4.",
        complementary: "Antall saker og kvartilene vises; avgjort, ventende og kurven holdes \
                        tilbake i tillegg, ellers kunne en annen rads fordeling regnes ut fra \
                        en publisert total.",
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

    // Both parts of n are published, so both are checked.
    fn counts(&self) -> Vec<u64> {
        vec![self.decided.unwrap_or(0), self.censored.unwrap_or(0)]
    }

    fn withhold(&mut self) {
        self.n = None;
        self.decided = None;
        self.censored = None;
        self.median_days = Quantile::default();
        self.quartile_1_days = Quantile::default();
        self.quartile_3_days = Quantile::default();
        self.share_within_14_days = None;
        self.share_within_30_days = None;
        if self.curve.is_some() {
            self.curve = Some(None);
        }
    }

    // The number of cases and the quantiles stand; the split between decided and pending
    // goes, and the curve with it (its last step times n could tell the pending ones).
    // Whether a quantile is reached bounds the decided cases to a quarter of n: with few
    // cases that is one number, so the quantiles go too.
    fn withhold_parts(&mut self) {
        self.decided = None;
        self.censored = None;
        if self.curve.is_some() {
            self.curve = Some(None);
        }
        if self.n.unwrap_or(0) < MIN_CASES_FOR_QUANTILES_WITHOUT_SPLIT {
            self.median_days = Quantile::default();
            self.quartile_1_days = Quantile::default();
            self.quartile_3_days = Quantile::default();
        }
        self.withhold_small_details();
    }

    /// A share times n is a count: withheld when either part is small, or when it lies 1
    /// to 4 decisions from the other share or from the decided total, as their
    /// difference would tell. A curve's steps are merged until each stands for at least
    /// five decisions and none lies 1 to 4 decisions from a published share or the
    /// total; the number at risk, which falls to single cases at the tail, is left out.
    fn withhold_small_details(&mut self) {
        let [within_14, within_30] = self.split_at;
        let total = self.decided_total;
        let mut known_14 = !(is_small(within_14.0) || is_small(within_14.1));
        let mut known_30 = !(is_small(within_30.0) || is_small(within_30.1));
        if known_14 && known_30 && is_small(within_30.0.saturating_sub(within_14.0)) {
            known_30 = false;
        }
        if known_30 && is_small(total.saturating_sub(within_30.0)) {
            known_30 = false;
        }
        if known_14 && !known_30 && is_small(total.saturating_sub(within_14.0)) {
            known_14 = false;
        }
        if !known_14 {
            self.share_within_14_days = None;
        }
        if !known_30 {
            self.share_within_30_days = None;
        }
        let mut fixed: Vec<(f64, u64)> = Vec::new();
        if known_14 {
            fixed.push((14.0, within_14.0));
        }
        if known_30 {
            fixed.push((30.0, within_30.0));
        }
        if let Some(Some(steps)) = &self.curve {
            self.curve = Some(Some(coarsened(steps, &fixed)));
        }
    }
}

/// A cumulative count of decisions a reader knows: a published step's (which may be
/// merged away) or a fixed one (the start, a published share, the total).
struct Known {
    decided: u64,
    step: Option<CurveStep>,
}

/// The steps of a curve merged so that between any two cumulative counts a reader knows
/// (the published steps, the `fixed` ones at their days, the start and the decided total)
/// lie no fewer than `DECISIONS_PER_PUBLISHED_STEP` decisions, or none.
fn coarsened(steps: &[CurveStep], fixed: &[(f64, u64)]) -> Vec<CurveStep> {
    let mut known = vec![Known {
        decided: 0,
        step: None,
    }];
    let mut fixed = fixed.iter().peekable();
    let mut decided = 0;
    for step in steps.iter().filter(|s| s.decisions > 0) {
        while let Some(&(_, at)) = fixed.next_if(|(day, _)| *day < step.day) {
            settle(&mut known, at);
        }
        decided += step.decisions;
        let last = known.last().map_or(0, |k| k.decided);
        if decided - last >= DECISIONS_PER_PUBLISHED_STEP {
            known.push(Known {
                decided,
                step: Some(CurveStep {
                    at_risk: None,
                    decisions: decided - last,
                    ..step.clone()
                }),
            });
        }
    }
    for &(_, at) in fixed {
        settle(&mut known, at);
    }
    settle(&mut known, decided);
    known.into_iter().filter_map(|k| k.step).collect()
}

/// A fixed count `at` comes next: published steps are merged away, latest first, until
/// the decisions since the last one left are not from 1 to 4.
fn settle(known: &mut Vec<Known>, at: u64) {
    while let Some(last) = known.last() {
        if !is_small(at.abs_diff(last.decided)) || last.step.is_none() {
            break;
        }
        known.pop();
    }
    // The step after a merged one now stands for the decisions of both.
    let decided = known.last().map_or(0, |k| k.decided);
    known.push(Known {
        decided: at.max(decided),
        step: None,
    });
}

/// Days from `start` until `end`, or, while there is no end yet, censored at `today`.
pub fn days_until(start: NaiveDate, end: Option<NaiveDate>, today: NaiveDate) -> Observation {
    match end {
        Some(end) => Observation::event((end - start).num_days() as f64),
        None => Observation::censored((today - start).num_days().max(0) as f64),
    }
}

/// The processing-time table from the cases received in the period, counted by days
/// (pending cases by days until the day they are censored at).
pub fn processing_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    cases: Vec<Processing>,
    names: &HashMap<String, String>,
) -> Table<ProcessingTimeRow> {
    let mut groups: BTreeMap<Vec<Option<String>>, Vec<Observation>> = BTreeMap::new();
    for counted in cases {
        let days = f64::from(counted.days);
        let observation = match counted.decided {
            true => Observation::event(days),
            false => Observation::censored(days),
        };
        let cases = u64::try_from(counted.cases).unwrap_or(0);
        groups
            .entry(counted.keys)
            .or_default()
            .push(observation.times(cases));
    }
    let rows = groups
        .into_iter()
        .map(|(keys, observations)| {
            let group = GroupKeys::new(&request.dimensions, &keys, names);
            ProcessingTimeRow::new(group, keys, &observations, request.curve)
        })
        .collect();
    // Published rows' curves are coarsened without the number at risk by
    // `withhold_small_details`, withheld rows' curves withheld with them.
    Table::publish(request, as_of_position, rows)
}

impl Registry {
    /// Processing times per group, as the actor may see them.
    pub async fn processing_time_statistics(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<Table<ProcessingTimeRow>, ServiceError> {
        let request = self.statistics_request(actor, query).await?;
        let as_of_position = self.as_of(request.min_position).await?;
        let censored_at = queries::last_day_known(self.pool())
            .await?
            .unwrap_or_else(|| Utc::now().date_naive());
        let pool = self.pool();
        let cases =
            queries::processing(pool, &request.filter, &request.dimensions, censored_at).await?;
        let names = self.group_names(&request).await?;
        super::published_apart(move || processing_table(&request, as_of_position, cases, &names))
            .await
    }
}
