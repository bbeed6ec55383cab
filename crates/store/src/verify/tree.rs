//! The tree part of `verify`: the final events' leaves against the trusted checkpoints.

use futures::TryStreamExt;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::failure::TreeChange;
use super::{Reference, VerifyFailure, VerifyReport};
use crate::hash::leaf_hash;
use crate::merkle::{self, Frontier, Hash};
use crate::note::{PublicKey, TreeCheckpoint};
use crate::seal::StoredCheckpoint;
use crate::Checkpoint;

/// One final event as a leaf of the tree.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub place: Checkpoint,
    pub event_id: Uuid,
    pub hash: Hash,
}

/// Every final event in the global order, as leaves (64 bytes each in memory).
pub(crate) async fn final_leaves(pool: &PgPool) -> Result<Vec<Leaf>, sqlx::Error> {
    let mut rows = sqlx::query(
        "select transaction_id, position, event_id, hash from events
          where transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
          order by transaction_id, position",
    )
    .fetch(pool);
    let mut leaves = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let place = Checkpoint {
            transaction_id: row.get("transaction_id"),
            position: row.get("position"),
        };
        let hash: Vec<u8> = row.get("hash");
        leaves.push(Leaf {
            place,
            event_id: row.get("event_id"),
            hash: leaf_hash(place.transaction_id, place.position, &hash),
        });
    }
    Ok(leaves)
}

/// The checkpoints to compare the tree with, by size: the kept one, and every stored one
/// (with a key, only those it signed: a stored row that does not open is a failure).
pub(super) fn references(
    stored: &[StoredCheckpoint],
    kept: Option<&TreeCheckpoint>,
    key: Option<&PublicKey>,
) -> Result<Vec<Reference>, VerifyFailure> {
    let mut references = Vec::with_capacity(stored.len() + 1);
    for row in stored {
        let unsigned = |reason: String| VerifyFailure::StoredCheckpointUnsigned {
            tree_size: row.tree_size,
            reason,
        };
        if let Some(key) = key {
            let note = TreeCheckpoint::open(&row.note, key).map_err(|e| unsigned(e.to_string()))?;
            if note.tree_size != row.tree_size
                || note.root[..] != row.root[..]
                || note.last != row.last
            {
                return Err(unsigned("its columns differ from its signed note".into()));
            }
        }
        references.push(
            Reference::of_stored(row).ok_or_else(|| unsigned("its root is not 32 bytes".into()))?,
        );
    }
    if let Some(kept) = kept {
        references.push(Reference {
            tree_size: kept.tree_size,
            root: kept.root,
            last: kept.last,
            frontier: None,
            stored: false,
        });
    }
    // The kept checkpoint before a stored one of its size: it is the one that counts.
    references.sort_by_key(|r| (r.tree_size, r.stored));
    Ok(references)
}

/// Recomputes the root at every reference's size; the first that differs is named, with
/// the range of leaves the change lies in.
pub(super) fn compare(
    leaves: &[Leaf],
    references: &[Reference],
    report: &mut VerifyReport,
) -> Option<VerifyFailure> {
    let mut frontier = Frontier::default();
    let mut matched: Option<&Reference> = None;
    for reference in references {
        if reference.tree_size > leaves.len() as u64 {
            return Some(changed(leaves, matched, reference));
        }
        while frontier.size() < reference.tree_size {
            frontier.push(leaves[frontier.size() as usize].hash);
        }
        if frontier.root() != reference.root {
            return Some(changed(leaves, matched, reference));
        }
        report.checkpoints_checked += 1;
        report.tree_size = reference.tree_size;
        matched = Some(reference);
    }
    None
}

/// The failure for a reference the leaves no longer give: the change lies after the last
/// matching checkpoint, and, where the reference's frontier is known, in the first of its
/// subtrees the leaves no longer give.
fn changed(leaves: &[Leaf], matched: Option<&Reference>, bad: &Reference) -> VerifyFailure {
    let mut first_leaf = matched.map_or(0, |r| r.tree_size);
    let mut end_leaf = bad.tree_size;
    if let Some(frontier) = &bad.frontier {
        let hashes: Vec<Hash> = leaves.iter().map(|leaf| leaf.hash).collect();
        let subtrees = frontier.ranges().into_iter().zip(frontier.nodes());
        for ((start, end), signed) in subtrees {
            if end as usize > hashes.len() {
                first_leaf = first_leaf.max(start);
                break;
            }
            if merkle::root_of(&hashes[start as usize..end as usize]) != *signed {
                first_leaf = first_leaf.max(start);
                end_leaf = end_leaf.min(end);
                break;
            }
        }
    }
    let now_at = |leaf: u64| leaves.get(leaf as usize).map(|leaf| leaf.place);
    let last_there = end_leaf.min(leaves.len() as u64).saturating_sub(1);
    let now_at_range = match (now_at(first_leaf), now_at(last_there)) {
        (Some(first), Some(last)) if last_there >= first_leaf => Some((first, last)),
        _ => None,
    };
    VerifyFailure::TreeChanged(TreeChange {
        tree_size: bad.tree_size,
        signed_last: bad.last,
        first_leaf,
        end_leaf,
        matched_last: matched.map(|r| r.last),
        now_at_range,
        final_events: leaves.len() as u64,
    })
}
