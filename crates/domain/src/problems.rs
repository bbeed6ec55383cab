//! Validation problems: every problem found in a report, each tied to a field, so a
//! reporting system can fix them all in one go.

use serde::Serialize;

use crate::digits::mask_digit_runs;

/// One problem with one field. `field` is a dotted path into the request body
/// (`patient.residence_county`, `criteria.benefit`); `code` is stable and machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The problems found so far. Messages must never quote a submitted identity number; as a
/// net under that rule, every long digit run in a field path or message is masked (a
/// client-chosen field name such as `{"04116101292": 1}` is repeated as `###########`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: mask_digit_runs(&field.into()),
            code: code.to_string(),
            message: mask_digit_runs(&message.into()),
        });
    }

    pub fn required(&mut self, field: &str) {
        self.add(field, "required", format!("{field} is required"));
    }

    pub fn not_allowed(&mut self, field: &str, why: &str) {
        self.add(
            field,
            "not_allowed",
            format!("{field} is not allowed {why}"),
        );
    }

    /// Takes the value of a parse, or records its error against `field`.
    pub fn take<T, E>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T>
    where
        E: CodedError,
    {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.code(), error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when no problem was found, else every problem.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

/// An error with a stable machine-readable code, for `Problems::take`.
pub trait CodedError: std::fmt::Display {
    fn code(&self) -> &'static str;
}

macro_rules! coded {
    ($($error:ty),*) => {$(
        impl CodedError for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        }
    )*};
}

coded!(
    crate::codes::CodeError,
    crate::identity::IdentityError,
    crate::organisation::OrganisationNumberError
);
