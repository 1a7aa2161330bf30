//! Query parameters of the list routes: each at most once, unknown ones refused, every problem collected
//! into one 400; the readers of the parameters both lists share.

use lambda_http::{Request, RequestExt};

use crate::{
    field::FieldError,
    names::{valid_principal, valid_zone_name},
    problem::Problem,
};

/// The page size of a list when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` a list accepts.
pub const MAX_LIMIT: usize = 200;

pub(super) struct Params<'r> {
    query: Option<&'r lambda_http::aws_lambda_events::query_map::QueryMap>,
    known: &'r [&'static str],
    pub errors: Vec<FieldError>,
}

impl<'r> Params<'r> {
    pub fn new(req: &'r Request, known: &'r [&'static str]) -> Self {
        let query = req.query_string_parameters_ref();
        let mut errors = Vec::new();
        for (name, _) in query.into_iter().flat_map(|q| q.iter()) {
            if !known.contains(&name) {
                errors.push(FieldError::new(
                    name,
                    "unknown_parameter",
                    format!("known parameters: {}", known.join(", ")),
                ));
            }
        }
        Self { query, known, errors }
    }

    /// The parameter's one value, if given (a repeated one is an error).
    pub fn one(&mut self, name: &'static str) -> Option<String> {
        debug_assert!(self.known.contains(&name));
        let all = self.query?.all(name)?;
        if all.len() > 1 {
            self.errors
                .push(FieldError::new(name, "repeated", "give this parameter at most once"));
            return None;
        }
        Some(all[0].to_owned())
    }

    /// A value checked by `valid`, or an `invalid` error with `detail`.
    pub fn checked(&mut self, name: &'static str, valid: impl Fn(&str) -> bool, detail: &str) -> Option<String> {
        let v = self.one(name)?;
        if valid(&v) {
            return Some(v);
        }
        self.errors.push(FieldError::new(name, "invalid", detail));
        None
    }

    pub fn principal(&mut self) -> Option<String> {
        self.checked(
            "principal",
            valid_principal,
            "1-1024 characters, no whitespace or control characters",
        )
    }

    pub fn zone(&mut self) -> Option<String> {
        self.checked("zone", valid_zone_name, "1-64 characters of a-z, 0-9 and `-`")
    }

    /// A value of a named set (`allowed` lists the names for the error).
    pub fn parsed<T: std::str::FromStr>(&mut self, name: &'static str, allowed: &str) -> Option<T> {
        let v = self.one(name)?;
        match v.parse() {
            Ok(t) => Some(t),
            Err(_) => {
                self.errors
                    .push(FieldError::new(name, "invalid", format!("one of {allowed}")));
                None
            }
        }
    }

    pub fn limit(&mut self) -> usize {
        match self.one("limit").map(|v| v.parse::<usize>()) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                self.errors.push(FieldError::new(
                    "limit",
                    "invalid",
                    format!("an integer from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        }
    }

    pub fn cursor(&mut self) -> Option<String> {
        self.checked(
            "cursor",
            |v| !v.is_empty() && v.len() <= 1024,
            "not a cursor issued by this API",
        )
    }

    pub fn finish(self) -> Result<(), Problem> {
        match self.errors.is_empty() {
            true => Ok(()),
            false => Err(Problem::invalid("the query has invalid parameters", self.errors)),
        }
    }
}
