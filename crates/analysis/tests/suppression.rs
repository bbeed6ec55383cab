//! Complementary suppression hides no more than the rules require: every complement a
//! mask holds is needed, for releasing it alone would let a reader work out a withheld
//! small count (a coarser group's hidden rows summing to 1-4, or a hidden small row solved
//! exactly from the coarser totals).

use std::collections::HashMap;

use analysis::suppression::{
    recoverable_rows, suppress_grouped_rows, CellStatus, DEFAULT_THRESHOLD,
};
use proptest::prelude::*;

fn is_small(count: u64) -> bool {
    count > 0 && count < DEFAULT_THRESHOLD
}

/// Rows grouped by two dimensions of three values each, with two counts, mostly small.
fn random_table() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<Vec<u64>>)> {
    let count = prop_oneof![3 => 0u64..6, 2 => 0u64..30];
    let row = (0u8..3, 0u8..3, count.clone(), count);
    proptest::collection::vec(row, 1..10).prop_map(|rows| {
        let mut seen: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
        for (a, b, x, y) in rows {
            seen.entry(vec![a, b]).or_insert(vec![x, y]);
        }
        let mut rows: Vec<(Vec<u8>, Vec<u64>)> = seen.into_iter().collect();
        rows.sort();
        rows.into_iter().unzip()
    })
}

/// Each coarser group (by the first key, by the second, all rows) as its rows.
fn coarser_groups(keys: &[Vec<u8>]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<(Option<u8>, Option<u8>), Vec<usize>> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        for group in [(Some(key[0]), None), (None, Some(key[1])), (None, None)] {
            groups.entry(group).or_default().push(i);
        }
    }
    groups.into_values().collect()
}

/// Whether a reader who knows every coarser group's total can work out a withheld small
/// count: a group's hidden rows summing to 1-4 in a column or in all (unless they are the
/// whole group), or a hidden small row solved exactly.
fn gives_away(keys: &[Vec<u8>], rows: &[Vec<u64>], status: &[CellStatus]) -> bool {
    let groups = coarser_groups(keys);
    // Column `columns` is the rows' totals, which an answer may publish on their own.
    let columns = rows[0].len();
    let count = |i: usize, c: usize| match c == columns {
        true => rows[i].iter().sum::<u64>(),
        false => rows[i][c],
    };
    let small_hidden_sum = groups.iter().any(|members| {
        (0..=columns).any(|c| {
            let hidden: u64 = members
                .iter()
                .filter(|&&i| status[i].is_suppressed())
                .map(|&i| count(i, c))
                .sum();
            let all: u64 = members.iter().map(|&i| count(i, c)).sum();
            is_small(hidden) && hidden != all
        })
    });
    let solved_small = recoverable_rows(status, &groups)
        .into_iter()
        .any(|i| rows[i].iter().any(|&c| is_small(c)));
    small_hidden_sum || solved_small
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn every_complement_is_needed((keys, rows) in random_table()) {
        let status = suppress_grouped_rows(&keys, &rows, DEFAULT_THRESHOLD);
        for (i, s) in status.iter().enumerate() {
            if *s != CellStatus::Complementary {
                continue;
            }
            let mut released = status.clone();
            released[i] = CellStatus::Published;
            prop_assert!(
                gives_away(&keys, &rows, &released),
                "row {} ({:?}: {:?}) is withheld for nothing in {:?} / {:?} / {:?}",
                i, keys[i], rows[i], keys, rows, status
            );
        }
    }
}
