//! The query language: parsed to an AST ([`ast`], [`parser`]) and run against
//! the index and the store ([`exec`]).

pub mod ast;
pub mod exec;
pub mod parser;

pub use ast::{DateBound, Field, Query};
pub use parser::{ParseError, parse};
