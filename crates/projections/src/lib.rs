//! Read models built from the global event stream (issue: projections and the statistics
//! API). Nothing is projected yet: the read side starts with the next issue. The store's
//! `Subscription` is what a projector will follow, writing its checkpoint in the same
//! transaction as each read-model change.
