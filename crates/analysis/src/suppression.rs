//! Small-cell suppression for published tables, so that no published figure
//! lets a reader single out a handful of patients.
//!
//! Rules, for a table whose row and column totals are published:
//!
//! 1. Primary suppression: a count from 1 to `threshold - 1` is hidden.
//!    Zero is published: "nobody" discloses nothing about a person.
//! 2. Secondary (complementary) suppression: a hidden cell must not be
//!    recoverable from the published totals. First every row and column
//!    holding a hidden cell gets at least two; the complement chosen is the
//!    smallest published cell of that line, preferring non-zero cells (a
//!    hidden zero protects only on paper: anyone who guesses it recovers the
//!    primary cell).
//! 3. Two per line is not always enough: hidden cells forming two separate
//!    loops joined by a single hidden cell let that cell be computed. Seen
//!    as a graph (rows and columns are nodes, hidden cells are edges), a
//!    hidden cell can be recovered exactly when it is a bridge. Such a cell
//!    gets one more complement that closes a loop through it. Steps 2 and 3
//!    repeat until nothing changes.
//!
//! A line with a single cell: the cell equals the line's total, so hiding
//! the cell means hiding that total too. A table with one column (or one
//! row) is therefore treated as one line, [`suppress_line`], whose per-row
//! totals share their cell's status.
//!
//! The result is a mask; the counts are never altered. Callers render a
//! suppressed cell as a symbol (for example "<5" or "–"), never as 0.
//!
//! Known limits: this guards against exact recovery only.
//! `suppress_grouped_rows` also solves across the coarser answers of up to four
//! dimensions, each suppressed on its own; it cannot see a recovery that needs a finer
//! answer's rows and a coarser answer's totals whose own suppression was chosen apart from
//! it (linked tables): one pattern for the whole cube of a statistic would be needed. Bounds from
//! non-negativity (a hidden pair summing to 3 means each is at most 3) are
//! not audited, nor is recovery by differencing two published tables.
//! Totals are published as given, even when they are small themselves.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// The customary threshold: counts from 1 to 4 are hidden.
pub const DEFAULT_THRESHOLD: u64 = 5;

/// Whether a cell may be published and, if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellStatus {
    Published,
    /// A small count, hidden for its own sake.
    Primary,
    /// Hidden so that a primary cell cannot be worked out.
    Complementary,
}

impl CellStatus {
    pub fn is_suppressed(self) -> bool {
        self != CellStatus::Published
    }
}

/// The mask of a list of cells with one published total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineMask {
    pub cells: Vec<CellStatus>,
    pub total: CellStatus,
}

/// The mask of a table with published row and column totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMask {
    /// `cells[row][column]`.
    pub cells: Vec<Vec<CellStatus>>,
    pub row_totals: Vec<CellStatus>,
    pub column_totals: Vec<CellStatus>,
}

/// Suppression for a list of cells whose total is published.
pub fn suppress_line(counts: &[u64], threshold: u64) -> LineMask {
    let mut cells: Vec<CellStatus> = counts
        .iter()
        .map(|&c| primary_status(c, threshold))
        .collect();
    let hidden = cells.iter().filter(|s| s.is_suppressed()).count();
    let mut total = CellStatus::Published;
    if hidden == 1 {
        if counts.len() == 1 {
            // The only cell equals the total: hide the total with it.
            total = CellStatus::Complementary;
        } else {
            let all: Vec<usize> = (0..counts.len()).collect();
            let pick = smallest_published(&all, |i| (counts[i], cells[i]));
            if let Some(i) = pick {
                cells[i] = CellStatus::Complementary;
            }
        }
    }
    LineMask { cells, total }
}

/// Suppression for a table (`counts[row][column]`) whose row and column
/// totals are published.
///
/// # Panics
/// If the rows are not all of the same length.
pub fn suppress_table(counts: &[Vec<u64>], threshold: u64) -> TableMask {
    let columns = counts.first().map_or(0, Vec::len);
    assert!(
        counts.iter().all(|row| row.len() == columns),
        "table rows differ in length"
    );
    if columns == 1 {
        return one_column_mask(counts, threshold);
    }
    if counts.len() == 1 {
        return one_row_mask(&counts[0], threshold);
    }
    let mut grid = Grid::new(counts, threshold);
    while grid.protect_lines() || grid.protect_one_bridge() {}
    TableMask {
        cells: grid.status,
        row_totals: vec![CellStatus::Published; counts.len()],
        column_totals: vec![CellStatus::Published; columns],
    }
}

/// A one-column table is a single line: each row total equals its only
/// cell and shares its status, and the column total is the line's total.
fn one_column_mask(counts: &[Vec<u64>], threshold: u64) -> TableMask {
    let line: Vec<u64> = counts.iter().map(|row| row[0]).collect();
    let mask = suppress_line(&line, threshold);
    TableMask {
        cells: mask.cells.iter().map(|&status| vec![status]).collect(),
        row_totals: mask.cells,
        column_totals: vec![mask.total],
    }
}

/// A one-row table is a single line, the transpose of [`one_column_mask`].
fn one_row_mask(row: &[u64], threshold: u64) -> TableMask {
    let mask = suppress_line(row, threshold);
    TableMask {
        cells: vec![mask.cells.clone()],
        row_totals: vec![mask.total],
        column_totals: mask.cells,
    }
}

/// Suppressed cells of a table mask that can still be computed exactly from
/// the published cells and totals. Empty for a safe mask; a check for
/// callers that build or edit masks themselves.
pub fn recoverable_cells(mask: &TableMask) -> Vec<(usize, usize)> {
    let hidden = hidden_cells(&mask.cells);
    hidden
        .iter()
        .copied()
        .filter(|&cell| is_bridge(&mask.cells, cell))
        .collect()
}

fn primary_status(count: u64, threshold: u64) -> CellStatus {
    if count > 0 && count < threshold {
        CellStatus::Primary
    } else {
        CellStatus::Published
    }
}

/// Among `candidates`, the published one with the smallest count, non-zero
/// counts first; ties go to the earliest candidate.
fn smallest_published<T: Copy>(
    candidates: &[T],
    cell: impl Fn(T) -> (u64, CellStatus),
) -> Option<T> {
    candidates
        .iter()
        .copied()
        .filter(|&c| !cell(c).1.is_suppressed())
        .min_by_key(|&c| {
            let count = cell(c).0;
            (count == 0, count)
        })
}

/// Working state of the two-dimensional procedure.
struct Grid<'a> {
    counts: &'a [Vec<u64>],
    status: Vec<Vec<CellStatus>>,
}

impl<'a> Grid<'a> {
    fn new(counts: &'a [Vec<u64>], threshold: u64) -> Grid<'a> {
        let status = counts
            .iter()
            .map(|row| row.iter().map(|&c| primary_status(c, threshold)).collect())
            .collect();
        Grid { counts, status }
    }

    /// Gives every row and column with exactly one hidden cell a second one.
    /// Returns whether anything changed.
    fn protect_lines(&mut self) -> bool {
        let mut changed = false;
        let (rows, columns) = (self.counts.len(), self.counts[0].len());
        for r in 0..rows {
            let line: Vec<(usize, usize)> = (0..columns).map(|c| (r, c)).collect();
            changed |= self.protect_line(&line);
        }
        for c in 0..columns {
            let line: Vec<(usize, usize)> = (0..rows).map(|r| (r, c)).collect();
            changed |= self.protect_line(&line);
        }
        changed
    }

    fn protect_line(&mut self, line: &[(usize, usize)]) -> bool {
        let hidden = line
            .iter()
            .filter(|&&(r, c)| self.status[r][c].is_suppressed())
            .count();
        if hidden != 1 {
            return false;
        }
        self.hide_smallest(line)
    }

    /// Finds one hidden cell that is still recoverable and hides one more
    /// cell to close a loop through it. Returns whether anything changed.
    fn protect_one_bridge(&mut self) -> bool {
        let Some(bridge) = hidden_cells(&self.status)
            .into_iter()
            .find(|&cell| is_bridge(&self.status, cell))
        else {
            return false;
        };
        // Without the bridge, its row and its column fall into two parts.
        // Any cell joining a row of one part to a column of the other makes
        // a second path between them, hence a loop through the bridge.
        let row_side = reachable(&self.status, Node::Row(bridge.0), bridge);
        let candidates: Vec<(usize, usize)> = self
            .all_cells()
            .filter(|&(r, c)| {
                row_side.contains(&Node::Row(r)) != row_side.contains(&Node::Column(c))
            })
            .collect();
        self.hide_smallest(&candidates)
    }

    fn hide_smallest(&mut self, candidates: &[(usize, usize)]) -> bool {
        let pick = smallest_published(candidates, |(r, c)| (self.counts[r][c], self.status[r][c]));
        match pick {
            Some((r, c)) => {
                self.status[r][c] = CellStatus::Complementary;
                true
            }
            None => false,
        }
    }

    fn all_cells(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let columns = self.counts[0].len();
        (0..self.counts.len()).flat_map(move |r| (0..columns).map(move |c| (r, c)))
    }
}

/// A row or a column, as a node of the graph whose edges are hidden cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Row(usize),
    Column(usize),
}

fn hidden_cells(status: &[Vec<CellStatus>]) -> Vec<(usize, usize)> {
    let mut cells = Vec::new();
    for (r, row) in status.iter().enumerate() {
        for (c, s) in row.iter().enumerate() {
            if s.is_suppressed() {
                cells.push((r, c));
            }
        }
    }
    cells
}

/// A hidden cell is a bridge when its row and column are connected by no
/// other path of hidden cells; then the published totals determine it.
fn is_bridge(status: &[Vec<CellStatus>], cell: (usize, usize)) -> bool {
    !reachable(status, Node::Row(cell.0), cell).contains(&Node::Column(cell.1))
}

/// The nodes reachable from `start` along hidden cells other than `skip`.
fn reachable(status: &[Vec<CellStatus>], start: Node, skip: (usize, usize)) -> Vec<Node> {
    let mut seen = vec![start];
    let mut frontier = vec![start];
    while let Some(node) = frontier.pop() {
        for next in neighbours(status, node, skip) {
            if !seen.contains(&next) {
                seen.push(next);
                frontier.push(next);
            }
        }
    }
    seen
}

fn neighbours(status: &[Vec<CellStatus>], node: Node, skip: (usize, usize)) -> Vec<Node> {
    let hidden = |r: usize, c: usize| (r, c) != skip && status[r][c].is_suppressed();
    match node {
        Node::Row(r) => (0..status[r].len())
            .filter(|&c| hidden(r, c))
            .map(Node::Column)
            .collect(),
        Node::Column(c) => (0..status.len())
            .filter(|&r| hidden(r, c))
            .map(Node::Row)
            .collect(),
    }
}

/// Whole-row suppression for a grouped answer whose rows each hold several related counts
/// (decided, granted and refused, where decided = granted + refused), and whose column
/// totals a reader can get from the same query without grouping.
///
/// A row is hidden when any of its counts is from 1 to `threshold - 1`; all of its counts
/// are withheld together, so the row's own arithmetic reveals nothing. If that leaves one
/// hidden row with a non-zero count, the column totals would give it away, so the smallest
/// other non-zero row is hidden with it.
pub fn suppress_rows(rows: &[Vec<u64>], threshold: u64) -> Vec<CellStatus> {
    let is_small = |count: &u64| *count > 0 && *count < threshold;
    let mut status: Vec<CellStatus> = rows
        .iter()
        .map(|row| match row.iter().any(is_small) {
            true => CellStatus::Primary,
            false => CellStatus::Published,
        })
        .collect();
    let total = |row: &Vec<u64>| row.iter().sum::<u64>();
    let hidden_non_zero = rows
        .iter()
        .zip(&status)
        .filter(|(row, s)| s.is_suppressed() && total(row) > 0)
        .count();
    if hidden_non_zero == 1 {
        let complement = rows
            .iter()
            .enumerate()
            .filter(|(i, row)| !status[*i].is_suppressed() && total(row) > 0)
            .min_by_key(|(_, row)| total(row))
            .map(|(i, _)| i);
        if let Some(i) = complement {
            status[i] = CellStatus::Complementary;
        }
    }
    status
}

/// Whole-row suppression for an answer grouped by several dimensions, whose coarser
/// groupings (any subset of the dimensions, down to the grand total) a reader can ask for
/// as well, and so subtract the published rows of a coarser group from its total.
///
/// `keys[i]` are row i's values of the dimensions, `rows[i]` its counts. A row is hidden
/// when any count is from 1 to `threshold - 1`. Then, for every coarser group, the hidden
/// rows' counts summed column by column must not be from 1 to `threshold - 1` either, or
/// that sum could be worked out; while one is, the group's smallest published non-zero
/// row is hidden too. Where no such row is left, the hidden sum is the coarser group's own
/// total, which the coarser answer withholds itself as a small count.
pub fn suppress_grouped_rows<K: Eq + Hash + Clone>(
    keys: &[Vec<K>],
    rows: &[Vec<u64>],
    threshold: u64,
) -> Vec<CellStatus> {
    let is_small = |count: u64| count > 0 && count < threshold;
    let mut status: Vec<CellStatus> = rows
        .iter()
        .map(|row| match row.iter().any(|&c| is_small(c)) {
            true => CellStatus::Primary,
            false => CellStatus::Published,
        })
        .collect();
    let dimensions = keys.first().map_or(0, Vec::len);
    let coarser: Vec<Vec<usize>> = (0..(1usize << dimensions) - 1)
        .map(|mask| (0..dimensions).filter(|d| mask & (1 << d) != 0).collect())
        .collect();
    // The rows of each group of each coarser grouping, found once: only statuses change.
    let groupings: Vec<Vec<Group<K>>> = coarser
        .iter()
        .map(|kept| coarser_groups(keys, kept))
        .collect();
    let known = known_coarser_totals(rows, &groupings, dimensions, threshold);
    let next_complement = |status: &[CellStatus]| {
        groupings
            .iter()
            .find_map(|groups| complement_needed(rows, status, groups, threshold))
            .or_else(|| complement_for_recoverable(keys, rows, status, &known, threshold))
    };
    while let Some(row) = next_complement(&status) {
        status[row] = CellStatus::Complementary;
    }
    release_needless_complements(rows, &mut status, next_complement);
    status
}

/// Complements are chosen one at a time, so one chosen early may no longer be needed
/// once later ones are in. Each is released again, largest first, if the mask stays safe
/// without it: no complement is left that the rules do not require.
fn release_needless_complements(
    rows: &[Vec<u64>],
    status: &mut [CellStatus],
    next_complement: impl Fn(&[CellStatus]) -> Option<usize>,
) {
    let total = |i: usize| rows[i].iter().sum::<u64>();
    let mut complements: Vec<usize> = (0..rows.len())
        .filter(|&i| status[i] == CellStatus::Complementary)
        .collect();
    complements.sort_by_key(|&i| (std::cmp::Reverse(total(i)), i));
    for row in complements {
        status[row] = CellStatus::Published;
        if next_complement(status).is_some() {
            status[row] = CellStatus::Complementary;
        }
    }
}

/// A published row to hide when a hidden row with a small count can be solved exactly from
/// the coarser totals taken together (the grouping by year less the published rows, minus
/// the grouping by region less its published rows, ...): the smallest published non-zero
/// row that shares a coarser group with it, preferring one that shares all dimensions but
/// one.
fn complement_for_recoverable<K: Eq + Hash + Clone>(
    keys: &[Vec<K>],
    rows: &[Vec<u64>],
    status: &[CellStatus],
    known: &[Vec<usize>],
    threshold: u64,
) -> Option<usize> {
    let is_small = |count: u64| count > 0 && count < threshold;
    let exposed = recoverable_rows(status, known)
        .into_iter()
        .find(|&row| rows[row].iter().any(|&c| is_small(c)))?;
    let shared = |other: usize| {
        keys[exposed]
            .iter()
            .zip(&keys[other])
            .filter(|(a, b)| a == b)
            .count()
    };
    let total = |i: usize| rows[i].iter().sum::<u64>();
    (0..rows.len())
        .filter(|&i| !status[i].is_suppressed() && total(i) > 0)
        .min_by_key(|&i| (std::cmp::Reverse(shared(i)), total(i), i))
}

/// Groupings with more dimensions than this are checked group by group only: solving
/// across coarser groupings is checked up to here (each coarser answer is suppressed in
/// turn to know which of its totals a reader has, which grows as 3 to the dimensions).
const MAX_DIMENSIONS_SOLVED_ACROSS: usize = 4;

/// The coarser totals a reader has: for each coarser grouping, its answer suppressed as
/// this function suppresses, and of each group it publishes, the rows of this answer that
/// fall in it.
fn known_coarser_totals<K: Eq + Hash + Clone>(
    rows: &[Vec<u64>],
    groupings: &[Vec<Group<K>>],
    dimensions: usize,
    threshold: u64,
) -> Vec<Vec<usize>> {
    if dimensions > MAX_DIMENSIONS_SOLVED_ACROSS {
        return Vec::new();
    }
    let columns = rows.first().map_or(0, Vec::len);
    let mut known = Vec::new();
    for groups in groupings {
        let group_keys: Vec<Vec<K>> = groups.iter().map(|(g, _)| g.clone()).collect();
        let group_rows: Vec<Vec<u64>> = groups
            .iter()
            .map(|(_, members)| {
                (0..columns)
                    .map(|c| members.iter().map(|&i| rows[i][c]).sum())
                    .collect()
            })
            .collect();
        let statuses = suppress_grouped_rows(&group_keys, &group_rows, threshold);
        for ((_, members), status) in groups.iter().zip(statuses) {
            if !status.is_suppressed() {
                known.push(members.clone());
            }
        }
    }
    known
}

/// The hidden rows whose counts a reader can solve for exactly: the published rows are
/// known, and so is each `known` group's total (the rows of a coarser group that its own
/// answer publishes); each such total less its published rows is a sum of hidden rows. A
/// hidden row is solved when no change to the hidden rows that keeps every such sum can
/// move it: when every vector of the constraints' null space is zero at it.
pub fn recoverable_rows(status: &[CellStatus], known: &[Vec<usize>]) -> Vec<usize> {
    let hidden: Vec<usize> = (0..status.len())
        .filter(|&i| status[i].is_suppressed())
        .collect();
    if hidden.is_empty() {
        return Vec::new();
    }
    let constraints: Vec<Vec<f64>> = known
        .iter()
        .map(|members| {
            hidden
                .iter()
                .map(|h| f64::from(u8::from(members.contains(h))))
                .collect::<Vec<f64>>()
        })
        .filter(|constraint| constraint.iter().any(|&x| x != 0.0))
        .collect();
    solved_unknowns(constraints, hidden.len())
        .into_iter()
        .map(|at| hidden[at])
        .collect()
}

/// The unknowns a system of linear equations (one row of coefficients each) fixes: reduced
/// to row echelon form, an unknown is fixed when its pivot row has no free unknown in it.
fn solved_unknowns(mut matrix: Vec<Vec<f64>>, unknowns: usize) -> Vec<usize> {
    const EPSILON: f64 = 1e-9;
    let mut pivots: Vec<(usize, usize)> = Vec::new();
    let mut next_row = 0;
    for col in 0..unknowns {
        let Some(pivot) = (next_row..matrix.len())
            .max_by(|&a, &b| matrix[a][col].abs().total_cmp(&matrix[b][col].abs()))
        else {
            break;
        };
        if matrix[pivot][col].abs() < EPSILON {
            continue;
        }
        matrix.swap(next_row, pivot);
        let lead = matrix[next_row][col];
        matrix[next_row].iter_mut().for_each(|x| *x /= lead);
        let pivot_row = matrix[next_row].clone();
        for (r, row) in matrix.iter_mut().enumerate() {
            if r != next_row && row[col].abs() > EPSILON {
                let factor = row[col];
                row.iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(x, p)| *x -= factor * p);
            }
        }
        pivots.push((next_row, col));
        next_row += 1;
    }
    let pivot_columns: Vec<usize> = pivots.iter().map(|&(_, col)| col).collect();
    pivots
        .into_iter()
        .filter(|&(row, _)| {
            (0..unknowns)
                .filter(|c| !pivot_columns.contains(c))
                .all(|free| matrix[row][free].abs() < EPSILON)
        })
        .map(|(_, col)| col)
        .collect()
}

/// A group of a coarser grouping: its keys, and the rows of the answer that fall in it.
type Group<K> = (Vec<K>, Vec<usize>);

/// The groups of the coarser grouping that keeps the dimensions `kept`, in the order their
/// first rows come.
fn coarser_groups<K: Eq + Hash + Clone>(keys: &[Vec<K>], kept: &[usize]) -> Vec<Group<K>> {
    let mut groups: Vec<Group<K>> = Vec::new();
    let mut index: HashMap<Vec<K>, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let group: Vec<K> = kept.iter().map(|&d| key[d].clone()).collect();
        let at = *index.entry(group.clone()).or_insert_with(|| {
            groups.push((group, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    groups
}

/// A published row to hide with the hidden rows of one of `groups`, if their sum in some
/// column, or their sum over all columns (a row's total, which another answer may publish
/// while withholding its parts), is small: the smallest published row with a count there
/// (a row with none would leave the sum as it is). Where no such row is left, the hidden
/// sum is the group's own, which the coarser answer withholds itself.
fn complement_needed<K>(
    rows: &[Vec<u64>],
    status: &[CellStatus],
    groups: &[Group<K>],
    threshold: u64,
) -> Option<usize> {
    let columns = rows.first().map_or(0, Vec::len);
    let total = |i: usize| rows[i].iter().sum::<u64>();
    // Column `columns` stands for the rows' totals.
    let count = |i: usize, c: usize| if c == columns { total(i) } else { rows[i][c] };
    groups.iter().find_map(|(_, members)| {
        (0..=columns).find_map(|c| {
            let hidden: u64 = members
                .iter()
                .filter(|&&i| status[i].is_suppressed())
                .map(|&i| count(i, c))
                .sum();
            if hidden == 0 || hidden >= threshold {
                return None;
            }
            members
                .iter()
                .copied()
                .filter(|&i| !status[i].is_suppressed() && count(i, c) > 0)
                .min_by_key(|&i| (total(i), i))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellStatus::{Complementary as C, Primary as P, Published as O};

    fn check_line(counts: &[u64], cells: &[CellStatus], total: CellStatus) {
        let mask = suppress_line(counts, DEFAULT_THRESHOLD);
        assert_eq!(
            mask,
            LineMask {
                cells: cells.to_vec(),
                total
            },
            "for {counts:?}"
        );
    }

    #[test]
    fn a_small_row_solvable_from_two_coarser_groupings_together_gets_a_complement() {
        // year × region: 2, 10 / 10, 50. Hiding the 2 and its two line partners leaves each
        // coarser group's hidden sum at 0 or 12 or 10, yet region r1's total less 50 gives
        // (y0, r1) = 10 and then year y0's total less that gives the 2: all four go.
        let keys = vec![
            vec!["y0", "r0"],
            vec!["y0", "r1"],
            vec!["y1", "r0"],
            vec!["y1", "r1"],
        ];
        let rows = vec![vec![2], vec![10], vec![10], vec![50]];
        let status = suppress_grouped_rows(&keys, &rows, DEFAULT_THRESHOLD);
        assert!(status.iter().all(|s| s.is_suppressed()), "{status:?}");
        let groupings: Vec<Vec<Group<&str>>> = [vec![], vec![0], vec![1]]
            .iter()
            .map(|kept| coarser_groups(&keys, kept))
            .collect();
        let known = known_coarser_totals(&rows, &groupings, 2, DEFAULT_THRESHOLD);
        assert!(recoverable_rows(&status, &known).is_empty());
    }

    #[test]
    fn lines_hide_small_counts_and_one_complement() {
        check_line(&[10, 20, 30], &[O, O, O], O);
        check_line(&[0, 20, 30], &[O, O, O], O);
        check_line(&[3, 20, 30], &[P, C, O], O);
        check_line(&[3, 0, 30, 12], &[P, O, O, C], O);
        check_line(&[3, 4, 30], &[P, P, O], O);
        check_line(&[5, 4, 30], &[C, P, O], O);
        check_line(&[3, 0], &[P, C], O);
        check_line(&[2], &[P], C);
        check_line(&[7], &[O], O);
        check_line(&[], &[], O);
    }

    #[test]
    fn a_custom_threshold_moves_the_line() {
        let mask = suppress_line(&[9, 10, 40], 10);
        assert_eq!(mask.cells, vec![P, C, O]);
    }

    fn counts(rows: &[&[u64]]) -> Vec<Vec<u64>> {
        rows.iter().map(|row| row.to_vec()).collect()
    }

    fn statuses(mask: &TableMask) -> Vec<Vec<CellStatus>> {
        mask.cells.clone()
    }

    #[test]
    fn a_single_small_cell_gets_a_rectangle_of_complements() {
        let table = counts(&[&[2, 10, 30], &[15, 12, 40], &[20, 25, 50]]);
        let mask = suppress_table(&table, DEFAULT_THRESHOLD);
        // Row 0 adds its smallest other cell (10), column 0 its smallest
        // other cell (15), and the corner (12) closes the rectangle.
        assert_eq!(
            statuses(&mask),
            vec![vec![P, C, O], vec![C, C, O], vec![O, O, O]]
        );
        assert!(recoverable_cells(&mask).is_empty());
        assert!(mask
            .row_totals
            .iter()
            .chain(&mask.column_totals)
            .all(|s| !s.is_suppressed()));
    }

    #[test]
    fn zeros_are_published_and_avoided_as_complements() {
        let table = counts(&[&[3, 0, 9], &[0, 0, 8], &[11, 0, 6]]);
        let mask = suppress_table(&table, DEFAULT_THRESHOLD);
        assert_eq!(mask.cells[0][1], O);
        assert_eq!(
            statuses(&mask),
            vec![vec![P, O, C], vec![O, O, O], vec![C, O, C]]
        );
        assert!(recoverable_cells(&mask).is_empty());
    }

    #[test]
    fn two_loops_joined_by_one_cell_get_the_bridge_broken() {
        // Hand-built mask: two 2 x 2 loops (rows 0-1 x columns 0-1 and rows
        // 2-3 x columns 2-3) joined by cell (1, 2). Every line has two hidden
        // cells, yet (1, 2) is the difference of published totals.
        let mut cells = vec![vec![O; 4]; 4];
        for (r, c) in [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (2, 2),
            (2, 3),
            (3, 2),
            (3, 3),
            (1, 2),
        ] {
            cells[r][c] = P;
        }
        let mask = TableMask {
            cells,
            row_totals: vec![O; 4],
            column_totals: vec![O; 4],
        };
        assert_eq!(recoverable_cells(&mask), vec![(1, 2)]);

        // The same primaries through suppress_table: the result is safe.
        let table = counts(&[
            &[1, 2, 50, 60],
            &[3, 4, 2, 70],
            &[80, 90, 1, 2],
            &[95, 85, 3, 4],
        ]);
        let safe = suppress_table(&table, DEFAULT_THRESHOLD);
        assert!(recoverable_cells(&safe).is_empty());
        // Cells joining rows 0-1 to columns 2-3, or rows 2-3 to columns 0-1,
        // close a loop through (1, 2); the smallest of them is 50 at (0, 2).
        assert_eq!(safe.cells[0][2], C);
    }

    #[test]
    fn a_one_column_table_is_a_line_and_hides_totals_with_cells() {
        let table = counts(&[&[3], &[20], &[30]]);
        let mask = suppress_table(&table, DEFAULT_THRESHOLD);
        assert_eq!(mask.cells, vec![vec![P], vec![C], vec![O]]);
        assert_eq!(mask.row_totals, vec![P, C, O]);
        assert_eq!(mask.column_totals, vec![O]);
    }

    #[test]
    fn a_one_row_table_is_a_line_too() {
        let mask = suppress_table(&counts(&[&[30, 2, 9]]), DEFAULT_THRESHOLD);
        assert_eq!(mask.cells, vec![vec![O, P, C]]);
        assert_eq!(mask.column_totals, vec![O, P, C]);
        assert_eq!(mask.row_totals, vec![O]);
    }

    #[test]
    fn a_one_by_one_table_hides_everything_or_nothing() {
        let hidden = suppress_table(&counts(&[&[4]]), DEFAULT_THRESHOLD);
        assert_eq!(
            (
                hidden.cells[0][0],
                hidden.row_totals[0],
                hidden.column_totals[0]
            ),
            (P, P, C)
        );
        let shown = suppress_table(&counts(&[&[40]]), DEFAULT_THRESHOLD);
        assert_eq!(
            (
                shown.cells[0][0],
                shown.row_totals[0],
                shown.column_totals[0]
            ),
            (O, O, O)
        );
    }

    #[test]
    fn random_tables_never_leave_a_cell_recoverable() {
        // Property check over many pseudo-random tables (a fixed linear
        // congruential sequence, so the test is reproducible).
        let mut state = 12_345_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % 12
        };
        for _ in 0..300 {
            let rows = 2 + (next() % 4) as usize;
            let columns = 2 + (next() % 4) as usize;
            let table: Vec<Vec<u64>> = (0..rows)
                .map(|_| (0..columns).map(|_| next()).collect())
                .collect();
            let mask = suppress_table(&table, DEFAULT_THRESHOLD);
            for (r, row) in table.iter().enumerate() {
                for (c, &count) in row.iter().enumerate() {
                    if count > 0 && count < DEFAULT_THRESHOLD {
                        assert!(mask.cells[r][c].is_suppressed());
                    }
                }
            }
            assert!(recoverable_cells(&mask).is_empty(), "{table:?} -> {mask:?}");
        }
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn ragged_tables_are_a_programming_error() {
        suppress_table(&counts(&[&[1, 2], &[3]]), DEFAULT_THRESHOLD);
    }

    #[test]
    fn suppress_rows_hides_small_rows_whole_and_never_leaves_one_alone() {
        use CellStatus::*;
        let cases: &[(&[&[u64]], &[CellStatus])] = &[
            (
                &[&[10, 6, 4], &[20, 10, 10], &[30, 15, 15]],
                &[Primary, Complementary, Published],
            ),
            (
                &[&[10, 6, 4], &[3, 3, 0], &[30, 15, 15]],
                &[Primary, Primary, Published],
            ),
            (&[&[10, 5, 5], &[20, 10, 10]], &[Published, Published]),
            (&[&[0, 0, 0], &[2, 1, 1]], &[Published, Primary]),
            (
                &[&[9, 9, 0], &[7, 5, 2], &[0, 0, 0]],
                &[Complementary, Primary, Published],
            ),
        ];
        for (rows, expected) in cases {
            let rows: Vec<Vec<u64>> = rows.iter().map(|r| r.to_vec()).collect();
            assert_eq!(
                suppress_rows(&rows, DEFAULT_THRESHOLD),
                expected.to_vec(),
                "{rows:?}"
            );
        }
    }
}
