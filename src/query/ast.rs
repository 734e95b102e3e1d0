//! The query AST: what a parsed query means, independent of how it is run.

use crate::customers::{Classifier, Direction};
use chrono::{DateTime, Utc};

/// A text field a term can be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// No prefix: subject, body, addresses and names, attachment names.
    Any,
    /// `from:` the sender's address and display name.
    From,
    /// `to:` recipients' addresses and names.
    To,
    /// `cc:` carbon-copy addresses and names.
    Cc,
    /// `subject:` the subject line.
    Subject,
    /// `body:` the message text, quotes included.
    Body,
    /// `unquoted:` the message's own text, without what it quotes or
    /// forwards ([`crate::quotes`]).
    Unquoted,
    /// `quoted:` the text it quotes from earlier mail or forwards.
    Quoted,
    /// `attachment:` file names.
    Attachment,
}

/// One end of a date range, already resolved to an instant.
pub type DateBound = Option<DateTime<Utc>>;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// `*`: every message.
    All,
    /// Every part matches.
    And(Vec<Query>),
    /// At least one part matches.
    Or(Vec<Query>),
    /// The part does not match. In a parsed query a `Not` is always a direct
    /// child of an `And` that has a non-negated child (`All` if nothing else),
    /// so it can be run as "minus".
    Not(Box<Query>),
    /// A bare word or `field:word`. The text is as typed (not folded); the
    /// parser leaves out text with nothing searchable in it, here and in
    /// `Phrase`.
    Term { field: Field, text: String },
    /// A "quoted phrase", with or without a field prefix.
    Phrase { field: Field, text: String },
    /// `date:`: messages with `start <= date < end` (either end open).
    Date { start: DateBound, end: DateBound },
    /// `customer:` an address or a domain, in any role (from/to/cc).
    Customer(String),
    /// `history:` a customer's whole history, as `kura export` writes it:
    /// its messages, the rest of their threads, and the internal mail that
    /// mentions it. The value is as typed: a customer key, an address or a
    /// domain.
    History(String),
    /// `domain:` a mail domain (subdomains included), in any role.
    Domain(String),
    /// `id:` a Message-ID without angle brackets.
    Id(String),
    /// `thread:` a thread id.
    Thread(String),
    /// `tag:` a tag name.
    Tag(String),
    /// `has:attachment`.
    HasAttachment,
    /// `is:inbound`, `is:outbound`, `is:internal`: the message's direction,
    /// by the configuration ([`crate::customers`]).
    Direction(Direction),
    /// `mimetype:` e.g. `application/pdf` or `pdf`.
    MimeType(String),
}

impl Query {
    /// Internal mail (`is:internal`) with any of `names` in it as a phrase:
    /// the visit and phone reports that mention a customer by its names
    /// ([`crate::customers::CustomerDetail::mentioned_as`]). `None` without a name, or
    /// when `classifier` knows none of the company's own addresses: then no
    /// mail is internal (and `is:internal` refuses to run), so none
    /// mentions the customer.
    pub fn mentioning(classifier: &Classifier, names: &[String]) -> Option<Query> {
        classifier.require_company("mentions").ok()?;
        let phrases: Vec<Query> = names
            .iter()
            .filter(|n| n.chars().any(char::is_alphanumeric))
            .map(|n| Query::Phrase {
                field: Field::Any,
                text: n.clone(),
            })
            .collect();
        if phrases.is_empty() {
            return None;
        }
        Some(Query::And(vec![
            Query::Direction(Direction::Internal),
            Query::Or(phrases),
        ]))
    }

    /// Whether an `is:` or `history:` term is in the query (they need the
    /// configuration).
    pub fn needs_configuration(&self) -> bool {
        self.has_term(&|t| matches!(t, Query::Direction(_) | Query::History(_)))
    }

    /// Whether a `history:` term is in the query.
    pub fn has_history(&self) -> bool {
        self.has_term(&|t| matches!(t, Query::History(_)))
    }

    /// The customers its `history:` terms name (negated ones too), as typed.
    pub fn histories(&self) -> Vec<&str> {
        let mut found = Vec::new();
        self.each_term(&mut |t| {
            if let Query::History(v) = t {
                found.push(v.as_str());
            }
        });
        found
    }

    /// Calls `f` with each term of the query (negated ones too).
    fn each_term<'a>(&'a self, f: &mut impl FnMut(&'a Query)) {
        match self {
            Query::And(parts) | Query::Or(parts) => parts.iter().for_each(|p| p.each_term(f)),
            Query::Not(inner) => inner.each_term(f),
            term => f(term),
        }
    }

    /// Whether the query has a term (negated too) that `is` says yes to.
    fn has_term(&self, is: &impl Fn(&Query) -> bool) -> bool {
        let mut found = false;
        self.each_term(&mut |t| found = found || is(t));
        found
    }
}
