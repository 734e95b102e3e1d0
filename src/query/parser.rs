//! The query parser: text typed by staff or scripts to a [`Query`].

use super::ast::Query;
use chrono::{DateTime, Utc};

/// A query that cannot be parsed: a message and the byte range of the bad part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// Parses a query. `now` resolves relative dates (`today`, `7d`, ...); `utc`
/// chooses UTC instead of the local time zone for calendar dates.
pub fn parse(_input: &str, _now: DateTime<Utc>, _utc: bool) -> Result<Query, ParseError> {
    todo!()
}
