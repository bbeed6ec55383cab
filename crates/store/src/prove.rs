//! `prove`: the inclusion proof of one event in a signed tree (RFC 9162 §2.1.3).

use uuid::Uuid;

use crate::merkle::{self, Hash};
use crate::note::{PublicKey, TreeCheckpoint};
use crate::verify::final_leaves;
use crate::{EventStore, StoreError};

/// That one event is leaf `leaf_index` of the tree the checkpoint signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub event_id: Uuid,
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    /// The audit path, from the leaf's sibling up.
    pub path: Vec<Hash>,
    pub checkpoint: TreeCheckpoint,
    /// Whether the path leads from the leaf to the checkpoint's root.
    pub verified: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("event {event_id} is not among the {tree_size} events of the signed tree")]
    NotInTree { event_id: Uuid, tree_size: u64 },
    #[error("the store has no checkpoint yet")]
    NoCheckpoint,
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EventStore {
    /// The inclusion proof of `event_id` in the tree of `kept` (a checkpoint note kept
    /// outside), or of the store's latest checkpoint; either must open with `key`.
    pub async fn prove(
        &self,
        event_id: Uuid,
        key: &PublicKey,
        kept: Option<&str>,
    ) -> Result<InclusionProof, ProveError> {
        let note = match kept {
            Some(note) => note.to_string(),
            None => {
                let latest = self.latest_tree_checkpoint().await?;
                latest.ok_or(ProveError::NoCheckpoint)?.note
            }
        };
        let checkpoint = TreeCheckpoint::open(&note, key)
            .map_err(|error| ProveError::Checkpoint(error.to_string()))?;
        let leaves = final_leaves(&self.pool).await.map_err(StoreError::from)?;
        let tree_size = checkpoint.tree_size;
        let in_tree = &leaves[..leaves.len().min(tree_size as usize)];
        let not_in_tree = ProveError::NotInTree {
            event_id,
            tree_size,
        };
        let index = in_tree
            .iter()
            .position(|leaf| leaf.event_id == event_id)
            .ok_or(not_in_tree)?;
        let hashes: Vec<Hash> = in_tree.iter().map(|leaf| leaf.hash).collect();
        // With events deleted, the tree is short: the path cannot verify, and says so.
        let path = merkle::inclusion_path(&hashes, index);
        let leaf_hash = hashes[index];
        let verified =
            merkle::verify_inclusion(&leaf_hash, index as u64, tree_size, &path, &checkpoint.root);
        Ok(InclusionProof {
            event_id,
            leaf_index: index as u64,
            leaf_hash,
            path,
            checkpoint,
            verified,
        })
    }
}
