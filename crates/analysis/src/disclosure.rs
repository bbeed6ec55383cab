//! Disclosure control of a research extract: k-anonymity over the quasi-identifiers, with
//! ℓ-diversity of the outcome in small groups, reached by generalisation first and
//! suppression last. Pure: the caller counts the rows by their finest quasi-identifiers
//! (one GROUP BY), `choose` picks the generalisation, and the rows are then streamed
//! through `Choice::keeps`, so the extract never needs to be held in memory.
//!
//! Each quasi-identifier has a hierarchy of levels, finest first (age: 5-, 10-, 20-year
//! bands; ICD-10: category, block, chapter; period: quarter, year; residence: county,
//! region). A generalisation is one level per dimension: the lattice is every combination
//! (at most 3 × 3 × 2 × 2 = 36 today), small enough to search whole. At each node the rows
//! are grouped by their generalised key; a group is kept when it has at least k rows and,
//! if it has fewer than `diverse_below` rows, at least ℓ distinct outcomes; the rows of the
//! other groups are suppressed. Every node is therefore admissible, and the one chosen has
//! the least information loss:
//!
//!   loss = Σ over kept rows of the mean, over the dimensions, of level / highest level
//!        + 1 for each suppressed row (a suppressed row loses everything),
//!
//! ties broken by fewer suppressed rows, then by the lower levels in dimension order.
//! Suppressing whole groups keeps the property for the groups that remain: no row of a
//! kept group is ever removed.

use std::collections::{BTreeSet, HashMap, HashSet};

/// One quasi-identifier and the names of its levels, finest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub name: String,
    pub levels: Vec<String>,
}

impl Dimension {
    pub fn new(name: &str, levels: &[&str]) -> Dimension {
        Dimension {
            name: name.to_string(),
            levels: levels.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn height(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }
}

/// Rows that share their finest quasi-identifiers and their outcome. `labels[d][l]` is the
/// value of dimension `d` at level `l` (so the caller decides what a block or a band is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub labels: Vec<Vec<String>>,
    pub outcome: String,
    pub rows: u64,
}

/// The rules an extract must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Every kept group has at least k rows.
    pub k: u64,
    /// A kept group smaller than `diverse_below` has at least ℓ distinct outcomes.
    pub l: usize,
    pub diverse_below: u64,
}

impl Rules {
    pub fn new(k: u64) -> Rules {
        Rules {
            k,
            l: 2,
            diverse_below: 10,
        }
    }

    fn admits(&self, rows: u64, outcomes: usize) -> bool {
        rows >= self.k && (rows >= self.diverse_below || outcomes >= self.l)
    }
}

/// The generalisation chosen and the groups whose rows are suppressed under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The level of each dimension, as an index into its `levels`.
    pub levels: Vec<usize>,
    /// The generalised keys of the groups that are withheld.
    pub suppressed: HashSet<Vec<String>>,
    pub rows_kept: u64,
    pub rows_suppressed: u64,
    pub loss: f64,
}

impl Choice {
    /// The key of a row with these labels under the chosen levels.
    pub fn key(&self, labels: &[Vec<String>]) -> Vec<String> {
        key_at(labels, &self.levels)
    }

    /// Whether a row with these labels is delivered.
    pub fn keeps(&self, labels: &[Vec<String>]) -> bool {
        !self.suppressed.contains(&self.key(labels))
    }

    /// Each dimension's name with the name of the level chosen for it.
    pub fn described(&self, dimensions: &[Dimension]) -> Vec<(String, String)> {
        dimensions
            .iter()
            .zip(&self.levels)
            .map(|(d, level)| (d.name.clone(), d.levels[*level].clone()))
            .collect()
    }
}

/// The generalised key: each dimension's label at its level.
pub fn key_at(labels: &[Vec<String>], levels: &[usize]) -> Vec<String> {
    labels
        .iter()
        .zip(levels)
        .map(|(label, level)| label[*level].clone())
        .collect()
}

/// Every combination of levels, in lexicographic order.
pub fn lattice(dimensions: &[Dimension]) -> Vec<Vec<usize>> {
    dimensions
        .iter()
        .fold(vec![Vec::new()], |nodes, dimension| {
            nodes
                .iter()
                .flat_map(|node| {
                    (0..dimension.levels.len()).map(move |level| {
                        let mut next = node.clone();
                        next.push(level);
                        next
                    })
                })
                .collect()
        })
}

/// The generalisation of least information loss (see the module's description).
pub fn choose(dimensions: &[Dimension], groups: &[Group], rules: Rules) -> Choice {
    lattice(dimensions)
        .into_iter()
        .map(|levels| evaluate(dimensions, groups, rules, levels))
        .min_by(|a, b| {
            a.loss
                .total_cmp(&b.loss)
                .then(a.rows_suppressed.cmp(&b.rows_suppressed))
                .then(a.levels.cmp(&b.levels))
        })
        .expect("the lattice has at least its bottom")
}

/// The groups, rows and loss of one node of the lattice.
pub fn evaluate(
    dimensions: &[Dimension],
    groups: &[Group],
    rules: Rules,
    levels: Vec<usize>,
) -> Choice {
    let mut generalised: HashMap<Vec<String>, (u64, BTreeSet<&str>)> = HashMap::new();
    for group in groups {
        let entry = generalised
            .entry(key_at(&group.labels, &levels))
            .or_default();
        entry.0 += group.rows;
        entry.1.insert(&group.outcome);
    }
    let mut choice = Choice {
        suppressed: HashSet::new(),
        rows_kept: 0,
        rows_suppressed: 0,
        loss: 0.0,
        levels,
    };
    for (key, (rows, outcomes)) in generalised {
        if rules.admits(rows, outcomes.len()) {
            choice.rows_kept += rows;
        } else {
            choice.rows_suppressed += rows;
            choice.suppressed.insert(key);
        }
    }
    choice.loss = choice.rows_kept as f64 * generalisation_loss(dimensions, &choice.levels)
        + choice.rows_suppressed as f64;
    choice
}

/// The loss of a kept row at these levels: the mean of level / highest level over the
/// dimensions that can be generalised (0 at the finest, 1 at the coarsest).
pub fn generalisation_loss(dimensions: &[Dimension], levels: &[usize]) -> f64 {
    let shares: Vec<f64> = dimensions
        .iter()
        .zip(levels)
        .filter(|(d, _)| d.height() > 0)
        .map(|(d, level)| *level as f64 / d.height() as f64)
        .collect();
    match shares.len() {
        0 => 0.0,
        n => shares.iter().sum::<f64>() / n as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dimensions() -> Vec<Dimension> {
        vec![
            Dimension::new("age_band", &["5-year", "10-year", "20-year"]),
            Dimension::new("sex", &["sex"]),
            Dimension::new("icd10", &["category", "block", "chapter"]),
        ]
    }

    /// A group from an age, a sex and a category number in C00-C99.
    fn group(age: u32, sex: &str, category: u32, outcome: &str, rows: u64) -> Group {
        let band = |width: u32| format!("{}", age / width * width);
        Group {
            labels: vec![
                vec![band(5), band(10), band(20)],
                vec![sex.to_string()],
                vec![
                    format!("C{category:02}"),
                    format!("C{}", category / 10),
                    "II".to_string(),
                ],
            ],
            outcome: outcome.to_string(),
            rows,
        }
    }

    #[test]
    fn the_lattice_is_every_combination_of_levels() {
        let nodes = lattice(&dimensions());
        assert_eq!(nodes.len(), 9);
        assert_eq!(nodes[0], vec![0, 0, 0]);
        assert_eq!(nodes[8], vec![2, 0, 2]);
    }

    #[test]
    fn groups_large_and_mixed_enough_are_kept_at_the_finest_level() {
        let groups = vec![
            group(42, "female", 50, "granted", 6),
            group(42, "female", 50, "refused", 6),
        ];
        let choice = choose(&dimensions(), &groups, Rules::new(5));
        assert_eq!(choice.levels, vec![0, 0, 0]);
        assert_eq!((choice.rows_kept, choice.rows_suppressed), (12, 0));
    }

    #[test]
    fn small_groups_are_generalised_before_rows_are_suppressed() {
        // Two 5-year bands of 3 rows each make one 10-year band of 6.
        let groups = vec![
            group(40, "male", 50, "granted", 2),
            group(40, "male", 50, "refused", 1),
            group(45, "male", 50, "granted", 1),
            group(45, "male", 50, "refused", 2),
        ];
        let choice = choose(&dimensions(), &groups, Rules::new(5));
        assert_eq!(choice.levels, vec![1, 0, 0]);
        assert_eq!(choice.rows_suppressed, 0);
    }

    #[test]
    fn a_small_group_of_one_outcome_is_suppressed_however_large_k_is_met() {
        let groups = vec![
            group(40, "male", 50, "refused", 7),
            group(60, "female", 20, "granted", 30),
            group(60, "female", 20, "refused", 30),
        ];
        let choice = choose(&dimensions(), &groups, Rules::new(5));
        assert_eq!(choice.rows_suppressed, 7);
        assert_eq!(choice.rows_kept, 60);
    }

    fn arbitrary_groups() -> impl Strategy<Value = Vec<Group>> {
        let one = (
            0u32..100,
            prop_oneof![Just("male"), Just("female")],
            0u32..100,
            prop_oneof![Just("granted"), Just("refused"), Just("pending")],
            1u64..8,
        )
            .prop_map(|(age, sex, category, outcome, rows)| {
                group(age, sex, category, outcome, rows)
            });
        proptest::collection::vec(one, 0..60)
    }

    proptest! {
        #[test]
        fn every_kept_group_has_k_rows_and_is_diverse_when_small(
            groups in arbitrary_groups(), k in 2u64..12,
        ) {
            let rules = Rules::new(k);
            let choice = choose(&dimensions(), &groups, rules);
            let mut kept: HashMap<Vec<String>, (u64, BTreeSet<String>)> = HashMap::new();
            let mut kept_rows = 0;
            for g in groups.iter().filter(|g| choice.keeps(&g.labels)) {
                let entry = kept.entry(choice.key(&g.labels)).or_default();
                entry.0 += g.rows;
                entry.1.insert(g.outcome.clone());
                kept_rows += g.rows;
            }
            for (key, (rows, outcomes)) in &kept {
                prop_assert!(*rows >= k, "{key:?} has {rows} rows");
                prop_assert!(*rows >= 10 || outcomes.len() >= 2, "{key:?} is homogeneous");
            }
            let total: u64 = groups.iter().map(|g| g.rows).sum();
            prop_assert_eq!(kept_rows, choice.rows_kept);
            prop_assert_eq!(choice.rows_kept + choice.rows_suppressed, total);
        }

        #[test]
        fn no_node_of_the_lattice_loses_less_than_the_one_chosen(groups in arbitrary_groups()) {
            let rules = Rules::new(5);
            let chosen = choose(&dimensions(), &groups, rules);
            for levels in lattice(&dimensions()) {
                let other = evaluate(&dimensions(), &groups, rules, levels);
                prop_assert!(chosen.loss <= other.loss);
            }
        }
    }
}
