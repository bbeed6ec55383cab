//! End-to-end tests against a real PostgreSQL; each test has a database of its own.
//! The `api_*` modules drive the real HTTP server that `harness::app::spawn_app` starts.

mod api_authorisation;
mod api_batch;
mod api_cases;
mod api_contract;
mod api_hardening;
mod api_operations;
mod api_privacy;
mod api_registers;
mod api_reporting;
mod api_scoping;
mod api_standardised_rates;
mod api_stats;
mod event_store;
mod poison;
mod projections;
mod research_extracts;
mod web;
