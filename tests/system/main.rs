//! End-to-end tests against a real PostgreSQL; each test has a database of its own.

mod event_store;
