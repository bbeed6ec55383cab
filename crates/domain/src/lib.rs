//! The exemption registry's types and rules: validation of identity numbers,
//! organisation numbers and codes, pseudonymisation of patients, the registry's events,
//! and the rules that turn a report into events.
//!
//! Architecture invariant: this crate does no I/O. No files, no network, no
//! environment variables, no clock: whoever needs "today" passes it in.

pub mod case;
mod checksum;
pub mod codes;
pub mod commands;
mod digits;
pub mod events;
mod folds;
pub mod free_text;
pub mod icd10_blocks;
pub mod identity;
pub mod methods;
pub mod organisation;
pub mod organisation_register;
pub mod problems;
pub mod pseudonym;
pub mod report;
pub mod research;
