//! The disclosure rule, proved over random tables of every statistic: no published count
//! is from 1 to 4, and no count worked out from a published total (the answer to any
//! coarser grouping) and its published parts is from 1 to 4 either.

use std::collections::HashMap;

use analysis::proportion::Interval;
use analysis::signals::FunnelPoint;
use chrono::{Days, NaiveDate};
use projections::queries::{AppealRow, DecisionGroup, Dimension, Processing, ReportingQuality};
use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::appeals::appeal_table;
use super::applications::application_table;
use super::decisions::decision_table;
use super::funnel::funnel_table;
use super::processing::processing_table;
use super::quality::reporting_quality_table;
use super::request::OrgRegions;
use super::{is_small, Publishable, StatisticsRequest, Table};

/// A random grouped table: each row its group (one value per dimension) and four counts,
/// mostly small so that suppression has work to do.
#[derive(Debug, Clone)]
struct RandomTable {
    dimensions: Vec<Dimension>,
    rows: Vec<(Vec<Option<String>>, [u64; 4])>,
}

fn random_table() -> impl Strategy<Value = RandomTable> {
    let dimensions = Just(vec![
        Dimension::Region,
        Dimension::Scheme,
        Dimension::MethodId,
    ]);
    (dimensions, 0usize..=3)
        .prop_flat_map(|(all, used)| {
            let dimensions: Vec<Dimension> = all[..used].to_vec();
            let count = prop_oneof![3 => 0u64..6, 1 => 0u64..40];
            let row = (
                proptest::collection::vec(0u8..3, used),
                [count.clone(), count.clone(), count.clone(), count],
            );
            (Just(dimensions), proptest::collection::vec(row, 1..14))
        })
        .prop_map(|(dimensions, rows)| {
            let mut seen = HashMap::new();
            for (key, counts) in rows {
                let key: Vec<Option<String>> = key.iter().map(|k| Some(format!("v{k}"))).collect();
                seen.entry(key).or_insert(counts);
            }
            let mut rows: Vec<_> = seen.into_iter().collect();
            rows.sort();
            RandomTable { dimensions, rows }
        })
}

fn request(dimensions: &[Dimension], suppress: bool) -> StatisticsRequest {
    StatisticsRequest {
        filter: Default::default(),
        dimensions: dimensions.to_vec(),
        suppress,
        curve: true,
        min_position: None,
        org_regions: Default::default(),
        slices: Vec::new(),
    }
}

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date") + Days::new(offset)
}

/// A table of one statistic, unsuppressed and suppressed, from the same input.
struct Published<R> {
    raw: Vec<R>,
    published: Vec<R>,
    /// The fields of a row that are counts of cases.
    count_fields: &'static [&'static str],
    /// The field of the row's total, if it may be published while the parts are withheld.
    total_field: Option<&'static str>,
}

fn both<R: Publishable>(
    build: impl Fn(bool) -> Table<R>,
    count_fields: &'static [&'static str],
) -> Published<R> {
    Published {
        raw: build(false).rows,
        published: build(true).rows,
        count_fields,
        total_field: R::PARTS_APART.map(|_| count_fields[0]),
    }
}

/// Checks the rule on a published table whose rows `raw` (unsuppressed, same order) had.
fn check<R: Publishable + Serialize>(
    table: &Published<R>,
    keys: &[Vec<Option<String>>],
) -> Result<(), TestCaseError> {
    let dimensions = keys.first().map_or(0, Vec::len);
    prop_assert_eq!(table.raw.len(), table.published.len());
    for row in &table.published {
        let json = serde_json::to_value(row).expect("a row serialises");
        for field in table.count_fields {
            if let Some(count) = json[field].as_u64() {
                prop_assert!(
                    !is_small(count),
                    "{} = {} published in {}",
                    field,
                    count,
                    json
                );
            }
        }
        let suppressed = json["suppressed"] == Value::Bool(true);
        prop_assert_eq!(
            suppressed,
            json["suppression_reason"].is_string() && json["suppression"].is_string(),
            "a withheld row says why, a published one does not: {}",
            &json
        );
        if suppressed {
            for field in table.count_fields {
                prop_assert!(
                    json[field].is_null() || Some(*field) == table.total_field,
                    "a withheld row shows {}: {}",
                    field,
                    json
                );
            }
        } else {
            prop_assert!(
                row.counts().iter().all(|&c| !is_small(c)),
                "a published part is small: {}",
                json
            );
        }
    }
    let json: Vec<Value> = table
        .published
        .iter()
        .map(|row| serde_json::to_value(row).expect("a row"))
        .collect();
    let parts_hidden: Vec<bool> = json
        .iter()
        .map(|row| row["suppressed"] == Value::Bool(true))
        .collect();
    let total_hidden: Vec<bool> = json
        .iter()
        .zip(&parts_hidden)
        .map(|(row, &hidden)| hidden && table.total_field.is_none_or(|f| row[f].is_null()))
        .collect();
    let total = |row: &R| vec![row.counts().iter().sum::<u64>()];
    for kept in 0..(1usize << dimensions) - 1 {
        check_coarser_grouping(&table.raw, keys, &parts_hidden, kept, Publishable::counts)?;
        check_coarser_grouping(&table.raw, keys, &total_hidden, kept, total)?;
    }
    Ok(())
}

/// For each group of the coarser grouping `kept` (a mask of dimensions), a reader who
/// subtracts the published rows from the group's total learns the hidden rows' sum, column
/// by column: it must be 0, at least 5, or the whole group total (which that grouping's
/// answer withholds itself when small).
fn check_coarser_grouping<R: Publishable>(
    raw: &[R],
    keys: &[Vec<Option<String>>],
    hidden: &[bool],
    kept: usize,
    columns: impl Fn(&R) -> Vec<u64>,
) -> Result<(), TestCaseError> {
    // Each coarser group's total and its hidden rows' sum, column by column.
    let mut groups: HashMap<Vec<Option<String>>, Sums> = HashMap::new();
    for ((row, row_keys), &is_hidden) in raw.iter().zip(keys).zip(hidden) {
        let group: Vec<Option<String>> = row_keys
            .iter()
            .enumerate()
            .filter(|(d, _)| kept & (1 << d) != 0)
            .map(|(_, key)| key.clone())
            .collect();
        let counts = columns(row);
        let (total, hidden_sum) = groups
            .entry(group)
            .or_insert_with(|| (vec![0; counts.len()], vec![0; counts.len()]));
        for (c, count) in counts.iter().enumerate() {
            total[c] += count;
            if is_hidden {
                hidden_sum[c] += count;
            }
        }
    }
    for (group, (total, hidden_sum)) in groups {
        for (c, (&sum, &all)) in hidden_sum.iter().zip(&total).enumerate() {
            prop_assert!(
                !is_small(sum) || sum == all,
                "grouping {:b}, group {:?}, column {}: hidden rows sum to {} of {}",
                kept,
                group,
                c,
                sum,
                all
            );
        }
    }
    Ok(())
}

/// A group's total and its hidden rows' sum, column by column.
type Sums = (Vec<u64>, Vec<u64>);

/// The rows' groups, as a reader can regroup them.
fn own_keys<R: Publishable>(rows: &[R]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|row| row.group().to_vec()).collect()
}

/// Trusts in two regions, and a national body in none (Helfo).
fn org_regions() -> OrgRegions {
    let region = |r: &str| Some(r.to_string());
    OrgRegions::from([
        ("t0".to_string(), region("r0")),
        ("t1".to_string(), region("r0")),
        ("t2".to_string(), region("r1")),
        ("t3".to_string(), region("r1")),
        ("t4".to_string(), region("r1")),
        ("helfo".to_string(), None),
    ])
}

/// Random decisions by trust and method: each row a trust (of `org_regions`), a method
/// and granted and refused, mostly small.
fn random_trust_table() -> impl Strategy<Value = Vec<DecisionGroup>> {
    let org = prop_oneof![
        Just("t0"),
        Just("t1"),
        Just("t2"),
        Just("t3"),
        Just("t4"),
        Just("helfo")
    ];
    let count = prop_oneof![3 => 0i64..6, 1 => 0i64..40];
    let row = (org, 0u8..3, count.clone(), count);
    proptest::collection::vec(row, 1..18).prop_map(|rows| {
        let mut seen = HashMap::new();
        for (org, method, granted, refused) in rows {
            seen.entry(vec![Some(org.to_string()), Some(format!("m{method}"))])
                .or_insert((granted, refused));
        }
        let mut groups: Vec<DecisionGroup> = seen
            .into_iter()
            .map(|(keys, (granted, refused))| DecisionGroup {
                keys,
                granted,
                refused,
            })
            .collect();
        groups.sort_by(|a, b| a.keys.cmp(&b.keys));
        groups
    })
}

fn names() -> HashMap<String, String> {
    HashMap::new()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Trust -> region -> national: a reader who adds up a region's trusts, or the whole
    /// country's, and compares with the region's or the national answer learns nothing
    /// hidden, whether the trusts are asked alone or by method.
    #[test]
    fn decisions_by_trust_give_nothing_away_to_the_regions_and_the_nation(groups in random_trust_table()) {
        for dimensions in [vec![Dimension::Org, Dimension::MethodId], vec![Dimension::Org]] {
            let groups = by_dimensions(&groups, dimensions.len());
            let mut request = request(&dimensions, true);
            request.org_regions = org_regions();
            let build = |suppress: bool| {
                let mut request = request.clone();
                request.suppress = suppress;
                decision_table(&request, 0, &groups, &names())
            };
            let published = both(build, &["decided", "granted", "refused"]);
            let keys = request.suppression_keys(own_keys(&published.raw));
            prop_assert_eq!(keys[0].len(), dimensions.len() + 1, "the region is a key");
            check(&published, &keys)?;
        }
    }

    #[test]
    fn reporting_quality_by_trust_gives_nothing_away_to_the_regions_and_the_nation(groups in random_trust_table()) {
        // Cases and decisions by trust (the method a slice), as the regions' other
        // statistics publish them.
        for dimensions in [vec![Dimension::Org, Dimension::MethodId], vec![Dimension::Org]] {
            let qualities: Vec<ReportingQuality> = by_dimensions(&groups, dimensions.len())
                .into_iter()
                .map(|g| ReportingQuality {
                    keys: g.keys, cases: g.granted + g.refused, decisions: g.granted,
                    median_report_delay_days: Some(3.0), corrections: 0, retractions: 0,
                    share_complete_criteria: Some(1.0),
                })
                .collect();
            let mut request = request(&dimensions, true);
            request.org_regions = org_regions();
            let build = |suppress: bool| {
                let mut request = request.clone();
                request.suppress = suppress;
                reporting_quality_table(&request, 0, qualities.clone(), &names())
            };
            let published = both(build, &["cases", "decisions"]);
            let keys = request.suppression_keys(own_keys(&published.raw));
            prop_assert_eq!(keys[0].len(), dimensions.len() + 1, "the region is a key");
            check(&published, &keys)?;
        }
    }

    #[test]
    fn decisions_never_show_or_give_away_a_small_count(table in random_table()) {
        let groups: Vec<DecisionGroup> = table.rows.iter().map(|(keys, c)| DecisionGroup {
            keys: keys.clone(), granted: c[0] as i64, refused: c[1] as i64,
        }).collect();
        let published = both(|s| decision_table(&request(&table.dimensions, s), 0, &groups, &names()),
            &["decided", "granted", "refused"]);
        check(&published, &own_keys(&published.raw))?;
    }

    #[test]
    fn applications_never_show_or_give_away_a_small_count(table in random_table()) {
        let groups: Vec<(Vec<Option<String>>, i64)> =
            table.rows.iter().map(|(keys, c)| (keys.clone(), c[0] as i64)).collect();
        let published = both(|s| application_table(&request(&table.dimensions, s), 0, &groups, &names(), None, None),
            &["applications"]);
        check(&published, &own_keys(&published.raw))?;
    }

    #[test]
    fn processing_times_never_show_or_give_away_a_small_count(table in random_table()) {
        let mut cases = Vec::new();
        for (keys, c) in &table.rows {
            for i in 0..c[0] {
                cases.push(Processing { keys: keys.clone(), days: 3 + 4 * i as i32, decided: true, cases: 1 });
            }
            if c[1] > 0 {
                cases.push(Processing { keys: keys.clone(), days: 390, decided: false, cases: c[1] as i64 });
            }
        }
        let published = both(|s| processing_table(&request(&table.dimensions, s), 0, cases.clone(), &names()),
            &["n", "decided", "censored"]);
        check(&published, &own_keys(&published.raw))?;
        for row in &published.published {
            check_shares_and_curve(row)?;
        }
    }

    #[test]
    fn appeals_never_show_or_give_away_a_small_count(table in random_table()) {
        let mut appeals = Vec::new();
        for (keys, c) in &table.rows {
            for (outcome, n) in [("upheld", c[0]), ("overturned", c[1]), ("partly_overturned", c[2])] {
                for _ in 0..n {
                    appeals.push(AppealRow { keys: keys.clone(), lodged_date: day(0), decided_date: Some(day(20)), outcome: Some(outcome.into()) });
                }
            }
            for _ in 0..c[3] {
                appeals.push(AppealRow { keys: keys.clone(), lodged_date: day(0), decided_date: None, outcome: None });
            }
        }
        let published = both(|s| appeal_table(&request(&table.dimensions, s), 0, appeals.clone(), &names(), day(400)),
            &["lodged", "decided", "upheld", "overturned", "partly_overturned"]);
        check(&published, &own_keys(&published.raw))?;
    }

    #[test]
    fn reporting_quality_never_shows_or_gives_away_a_small_count(table in random_table()) {
        let qualities: Vec<ReportingQuality> = table.rows.iter().enumerate().map(|(i, (_, c))| ReportingQuality {
            keys: vec![Some(format!("org{i}"))], cases: (c[0] + c[1]) as i64, decisions: c[0] as i64,
            median_report_delay_days: Some(3.0), corrections: c[2] as i64, retractions: c[3].min(c[0] + c[1]) as i64,
            share_complete_criteria: Some(1.0),
        }).collect();
        let published = both(|s| reporting_quality_table(&request(&[Dimension::Org], s), 0, qualities.clone(), &names()),
            &["cases", "decisions", "corrections", "retractions"]);
        check(&published, &own_keys(&published.raw))?;
        // Cases less decisions are the pending ones, cases less retractions the ones that
        // stand: a row shows neither difference small.
        for row in &published.published {
            let json = serde_json::to_value(row).expect("a row serialises");
            let (Some(cases), Some(decisions), Some(retractions)) =
                (json["cases"].as_u64(), json["decisions"].as_u64(), json["retractions"].as_u64())
            else {
                continue;
            };
            prop_assert!(!is_small(cases - decisions), "pending {} in {}", cases - decisions, json);
            prop_assert!(!is_small(cases - retractions), "standing {} in {}", cases - retractions, json);
        }
    }

    #[test]
    fn the_funnel_never_shows_or_gives_away_a_small_count(table in random_table()) {
        let limits = Interval { lower: 0.1, upper: 0.9 };
        let points: Vec<FunnelPoint> = table.rows.iter().enumerate().map(|(i, (_, c))| FunnelPoint {
            unit: format!("unit{i}"), unit_name: format!("Unit {i}"), decided: c[0] + c[1], granted: c[0],
            grant_rate: 0.5, target: 0.5, limits_95: limits, limits_998: limits,
            overdispersion_adjusted: false, p_value: 0.5, outside_998: false,
        }).collect();
        let published = Published {
            raw: funnel_table(points.clone(), false),
            published: funnel_table(points, true),
            count_fields: &["decided", "granted"],
            total_field: None,
        };
        check(&published, &own_keys(&published.raw))?;
    }
}

/// The trust-by-method groups summed to their first `dimensions` keys.
fn by_dimensions(groups: &[DecisionGroup], dimensions: usize) -> Vec<DecisionGroup> {
    let mut summed: Vec<DecisionGroup> = Vec::new();
    for group in groups {
        let keys = group.keys[..dimensions].to_vec();
        match summed.iter_mut().find(|g| g.keys == keys) {
            Some(g) => {
                g.granted += group.granted;
                g.refused += group.refused;
            }
            None => summed.push(DecisionGroup {
                keys,
                ..group.clone()
            }),
        }
    }
    summed
}

/// A published share times n, and a published curve step, never stand for 1 to 4 cases.
fn check_shares_and_curve(row: &super::ProcessingTimeRow) -> Result<(), TestCaseError> {
    let json = serde_json::to_value(row).expect("a row");
    if json["suppressed"] == Value::Bool(true) {
        return Ok(());
    }
    let n = json["n"].as_f64().expect("n");
    for share in ["share_within_14_days", "share_within_30_days"] {
        if let Some(share) = json[share].as_f64() {
            let decided = (share * n).round() as u64;
            prop_assert!(
                !is_small(decided) && !is_small(n as u64 - decided),
                "{} of {}: {}",
                share,
                n,
                json
            );
        }
    }
    // Every cumulative count a reader can read off the row (the curve's steps, the
    // shares at 14 and 30 days, the decided total), in order of day: no two that follow
    // each other differ by 1 to 4 decisions.
    let mut known: Vec<(f64, u64)> = vec![(0.0, 0)];
    for (day, share) in [
        (14.0, "share_within_14_days"),
        (30.0, "share_within_30_days"),
    ] {
        if let Some(share) = json[share].as_f64() {
            known.push((day, (share * n).round() as u64));
        }
    }
    for step in json["curve"].as_array().into_iter().flatten() {
        let pending = step["still_pending"].as_f64().expect("a share");
        let day = step["day"].as_f64().expect("a day");
        known.push((day, ((1.0 - pending) * n).round() as u64));
    }
    if let Some(decided) = json["decided"].as_u64() {
        known.push((f64::INFINITY, decided));
    }
    known.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for pair in known.windows(2) {
        let between = pair[1].1.abs_diff(pair[0].1);
        prop_assert!(
            !is_small(between),
            "{} decisions between day {} and day {}: {}",
            between,
            pair[0].0,
            pair[1].0,
            json
        );
    }
    if let Some(steps) = json["curve"].as_array() {
        let mut before = 1.0;
        for step in steps {
            prop_assert!(
                step.get("at_risk").is_none(),
                "a published curve shows at_risk"
            );
            let after = step["still_pending"].as_f64().expect("a share");
            let decisions = ((before - after) * n).round() as u64;
            prop_assert!(
                !is_small(decisions),
                "a step of {} decisions: {}",
                decisions,
                json
            );
            before = after;
        }
    }
    Ok(())
}
