//! Read models built from the global event stream, and the queries that read them.
//!
//! Architecture invariant: a read model can be dropped and rebuilt from events alone.
//! Architecture invariant: a projection's checkpoint moves in the same transaction as the
//! read-model change it covers.

mod copy;
mod counts;
mod error;
pub mod facts;
mod facts_table;
pub mod projector;
pub mod queries;
pub mod rebuild;
pub mod status;

pub use error::ProjectionError;
pub use projector::{Projection, Projector, Target, WakeUps};
