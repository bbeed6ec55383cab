//! The exemption registry's types and rules: validation of identity numbers,
//! organisation numbers and codes, and pseudonymisation of patients.
//!
//! Architecture invariant: this crate does no I/O. No files, no network, no
//! environment variables, no clock: whoever needs "today" passes it in.

mod checksum;
pub mod codes;
pub mod identity;
pub mod organisation;
pub mod pseudonym;
