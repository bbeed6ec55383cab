//! What `verify` found wrong, each naming the event, the range or the checkpoint.

use uuid::Uuid;

use crate::Checkpoint;

/// Where an event is, in its stream and in the global order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPlace {
    pub position: i64,
    pub transaction_id: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
}

/// The events of a signed tree changed: removed, inserted, reordered or re-hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeChange {
    /// The size of the signed checkpoint the events no longer give.
    pub tree_size: u64,
    /// The last event that checkpoint signed.
    pub signed_last: Checkpoint,
    /// The change lies in the leaves `first_leaf..end_leaf` of the global order.
    pub first_leaf: u64,
    pub end_leaf: u64,
    /// The last event of the largest checkpoint that still matches, before the range.
    pub matched_last: Option<Checkpoint>,
    /// The events the store now has at the first and last leaf of the range, if any.
    pub now_at_range: Option<(Checkpoint, Checkpoint)>,
    /// How many final events the store has now.
    pub final_events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyFailure {
    /// The event's stored hash is not the hash of its content and its predecessor.
    EventHashMismatch {
        position: i64,
        event_id: Uuid,
        stream_id: String,
        stream_version: i64,
    },
    /// A stream's versions do not run 1, 2, 3, ... without gaps.
    StreamVersionGap {
        stream_id: String,
        expected_version: i64,
        found_version: i64,
    },
    /// A seal of the `seals` table (before migration 0009) does not match.
    SealMismatch { seal_no: i64, reason: String },
    /// An event hashed by scheme 1 in a transaction after the first scheme 2 event:
    /// `append_events` no longer writes scheme 1, so it was written by hand.
    WrittenByHand(EventPlace),
    /// The checkpoint kept outside does not open with the public key.
    KeptCheckpointUnsigned { reason: String },
    /// A stored checkpoint is not signed by the key, or its columns differ from its note.
    StoredCheckpointUnsigned { tree_size: u64, reason: String },
    /// The events no longer give a signed tree.
    TreeChanged(TreeChange),
    /// The kept checkpoint is not among the store's: checkpoints were deleted.
    CheckpointMissing { tree_size: u64, latest_stored: u64 },
    /// No consistency proof joins the kept checkpoint to the store's latest.
    Inconsistent { old_size: u64, new_size: u64 },
}

impl std::fmt::Display for EventPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event at position {} (id {}, stream {} version {}, transaction {})",
            self.position, self.event_id, self.stream_id, self.stream_version, self.transaction_id
        )
    }
}

fn place(checkpoint: &Checkpoint) -> String {
    format!(
        "position {} (transaction {})",
        checkpoint.position, checkpoint.transaction_id
    )
}

impl std::fmt::Display for TreeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the events no longer give the signed checkpoint of tree size {}, whose last \
             event is at {}: the first change lies in leaves {} to {} of the global order",
            self.tree_size,
            place(&self.signed_last),
            self.first_leaf,
            self.end_leaf - 1
        )?;
        if let Some(matched) = &self.matched_last {
            write!(
                f,
                ", after the event at {}, which still matches",
                place(matched)
            )?;
        }
        if let Some((first, last)) = &self.now_at_range {
            write!(
                f,
                "; the store now has the events at {} to {} there",
                place(first),
                place(last)
            )?;
        }
        if self.final_events < self.tree_size {
            write!(
                f,
                "; it has {} final events, {} fewer than the checkpoint covers",
                self.final_events,
                self.tree_size - self.final_events
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyFailure::EventHashMismatch {
                position,
                event_id,
                stream_id,
                stream_version,
            } => write!(
                f,
                "event at position {position} (id {event_id}, stream {stream_id} version \
                 {stream_version}) does not match its hash"
            ),
            VerifyFailure::StreamVersionGap {
                stream_id,
                expected_version,
                found_version,
            } => write!(
                f,
                "stream {stream_id} jumps from version {} to {found_version}",
                expected_version - 1
            ),
            VerifyFailure::SealMismatch { seal_no, reason } => {
                write!(f, "seal {seal_no} does not match: {reason}")
            }
            VerifyFailure::WrittenByHand(event) => write!(
                f,
                "{event} carries a hash of the old scheme, which no append has written \
                 since migration 0009: it was written by hand"
            ),
            VerifyFailure::KeptCheckpointUnsigned { reason } => {
                write!(f, "the checkpoint given does not verify: {reason}")
            }
            VerifyFailure::StoredCheckpointUnsigned { tree_size, reason } => write!(
                f,
                "the stored checkpoint of tree size {tree_size} is not the sealer's: {reason}"
            ),
            VerifyFailure::TreeChanged(change) => change.fmt(f),
            VerifyFailure::CheckpointMissing {
                tree_size,
                latest_stored,
            } => write!(
                f,
                "the checkpoint of tree size {tree_size} given is not in the store, whose \
                 signed checkpoints end at tree size {latest_stored}: seals were deleted"
            ),
            VerifyFailure::Inconsistent { old_size, new_size } => write!(
                f,
                "no consistency proof joins the checkpoint of tree size {old_size} to the \
                 store's of tree size {new_size}"
            ),
        }
    }
}
