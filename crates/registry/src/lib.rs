//! The application layer of the registry, with no HTTP in it. Every way into the registry
//! (the REST API, the command line, the tests) calls this crate, so each rule is kept once:
//! who may do what (`Actor`), how a report becomes events and is appended (`cases`,
//! `batch`), the registers (`registers`, `population`), the tokens (`tokens`), what the
//! signals read (`analysis_input`), and what a statistic may publish (`statistics`).
//!
//! Architecture invariant: a statistic leaves this crate only as a `statistics::Table`,
//! and the only way to make one applies small-cell suppression.

pub mod actor;
pub mod analysis_input;
pub mod batch;
pub mod case_view;
pub mod cases;
pub mod codec;
pub mod error;
pub mod extracts;
pub mod operations;
pub mod population;
pub mod registers;
pub mod research;
pub mod statistics;
pub mod tokens;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use domain::pseudonym::PseudonymKey;
use sqlx::PgPool;
use store::EventStore;

pub use actor::{Actor, Role};
pub use error::ServiceError;

/// How the registry validates reports.
#[derive(Clone)]
pub struct RegistrySettings {
    /// The key of the patient pseudonyms: from configuration, never from the database.
    pub pseudonym_key: PseudonymKey,
    /// Whether synthetic test identity numbers are accepted (test environments only).
    pub accept_synthetic_identity_numbers: bool,
}

impl RegistrySettings {
    pub fn new(pseudonym_key: PseudonymKey) -> Self {
        Self {
            pseudonym_key,
            accept_synthetic_identity_numbers: false,
        }
    }
}

/// The registry's services over one event store. Cheap to clone: clones share the store
/// (and so its wake-ups of the projector), the register cache and the counters.
#[derive(Clone)]
pub struct Registry {
    store: EventStore,
    registers: Arc<registers::Registers>,
    settings: Arc<RegistrySettings>,
    events_appended: Arc<AtomicU64>,
    /// Set when the process has been asked to stop: it still answers, but no longer says
    /// it is ready, so load balancers send new work elsewhere.
    draining: Arc<AtomicBool>,
}

impl Registry {
    pub fn new(store: EventStore, settings: RegistrySettings) -> Self {
        Self {
            registers: Arc::new(registers::Registers::new(store.clone())),
            store,
            settings: Arc::new(settings),
            events_appended: Arc::new(AtomicU64::new(0)),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn pool(&self) -> &PgPool {
        self.store.pool()
    }

    pub fn registers(&self) -> &registers::Registers {
        &self.registers
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// Events this process appended on behalf of callers since it started.
    pub fn events_appended(&self) -> u64 {
        self.events_appended.load(Ordering::Relaxed)
    }

    /// From now on /readyz says not ready: the process is stopping.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    fn count_appended(&self, events: usize) {
        self.events_appended
            .fetch_add(events as u64, Ordering::Relaxed);
    }
}
