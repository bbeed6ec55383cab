//! Reading query strings. Every parameter that is unknown, malformed, given twice or
//! missing is named in its own problem (422), all at once; no value sent is repeated, and
//! a parameter name's digit runs are masked (`Problems` does that), since a name is the
//! client's and could be a patient's number.

use actix_web::{dev, FromRequest, HttpRequest};
use domain::problems::Problems;
use serde::de::DeserializeOwned;

use crate::body::without_values;
use crate::error::ApiError;

/// The query string read as `T`; in place of `actix_web::web::Query`, whose error names no
/// parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        std::future::ready(parse_query(request.query_string()).map(Query))
    }
}

/// Reads `query` as `T`. serde stops at the first problem: it is recorded, its parameter
/// taken out, and the rest read again, until what is left reads or nothing more can be
/// taken out.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut problems = Problems::new();
    let mut named: Vec<String> = Vec::new();
    loop {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let error = match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) if problems.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error,
        };
        let problem = QueryProblem::of(&error.path().to_string(), &error.inner().to_string());
        // A parameter taken out for its problem is then missing: it is named once.
        if problem.code == "required" && named.contains(&problem.parameter) {
            break;
        }
        problems.add(&problem.parameter, problem.code, problem.message);
        named.push(problem.parameter.clone());
        let before = pairs.len();
        pairs.retain(|(name, _)| *name != problem.parameter);
        if problem.code == "required" || pairs.len() == before {
            break;
        }
    }
    Err(ApiError::Invalid(problems.into_vec()))
}

/// One problem, for the parameter serde names in its path or its message.
struct QueryProblem {
    parameter: String,
    code: &'static str,
    message: String,
}

impl QueryProblem {
    fn of(path: &str, message: &str) -> Self {
        let quoted = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string)
        };
        if let Some(parameter) = quoted("unknown field `") {
            let message = format!("{parameter} is not a parameter of this resource");
            return Self::new(parameter, "unknown_parameter", message);
        }
        if let Some(parameter) = quoted("duplicate field `") {
            let message = format!("{parameter} is given more than once");
            return Self::new(parameter, "duplicate_parameter", message);
        }
        if let Some(parameter) = quoted("missing field `") {
            let message = format!("{parameter} is required");
            return Self::new(parameter, "required", message);
        }
        let parameter = match path {
            "" | "." => "query".to_string(),
            path => path.to_string(),
        };
        let message = format!("{parameter}: {}", without_values(message));
        Self::new(parameter, "invalid_value", message)
    }

    fn new(parameter: String, code: &'static str, message: String) -> Self {
        Self {
            parameter,
            code,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        year: Option<i32>,
        flag: Option<bool>,
        from: Option<chrono::NaiveDate>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Required {
        year: i32,
    }

    fn problems<T: DeserializeOwned + std::fmt::Debug>(query: &str) -> Vec<String> {
        match parse_query::<T>(query) {
            Err(ApiError::Invalid(errors)) => errors
                .into_iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect(),
            other => panic!("{query}: unexpected {other:?}"),
        }
    }

    #[test]
    fn every_problem_of_a_query_names_its_parameter() {
        let check = |query: &str, expected: &[&str]| {
            assert_eq!(problems::<Example>(query), expected, "{query}");
        };
        check("year=abc", &["year:invalid_value"]);
        check(
            "year=abc&flag=maybe",
            &["year:invalid_value", "flag:invalid_value"],
        );
        check(
            "from=2025-13-01&colour=red",
            &["from:invalid_value", "colour:unknown_parameter"],
        );
        check("year=1&year=2", &["year:duplicate_parameter"]);
        check("12345678901=1", &["###########:unknown_parameter"]);
        assert_eq!(problems::<Required>(""), ["year:required"]);
        assert_eq!(problems::<Required>("year=x"), ["year:invalid_value"]);
    }

    #[test]
    fn a_query_that_reads_is_read() {
        let read: Example = parse_query("year=2025&flag=true&from=2025-01-01").unwrap();
        assert_eq!(read.year, Some(2025));
        assert_eq!(read.flag, Some(true));
        let empty: Example = parse_query("").unwrap();
        assert_eq!(empty.year, None);
    }

    #[test]
    fn no_value_sent_comes_back() {
        let Err(ApiError::Invalid(errors)) =
            parse_query::<Example>("year=15056112313&flag=15056112313")
        else {
            panic!("refused");
        };
        for error in errors {
            assert!(!error.message.contains("15056112313"), "{}", error.message);
        }
    }
}
