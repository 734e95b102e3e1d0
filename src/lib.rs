//! kura (蔵, "storehouse"): a searchable archive of a company's shared mailbox.
//!
//! The library owns the data model; `main.rs` only parses the command line and
//! dispatches to one module per subcommand under [`commands`].
//!
//! Module map (one concept each):
//! - [`archive`]: the archive directory, its permissions, lock and layout.
//! - [`sources`]: finding and reading Maildir folders, mbox files and `.eml` files.
//! - [`charset`]: charset labels and Japanese decoding that mail-parser gets wrong.
//! - [`parse`]: one raw message to the metadata and text kura stores and indexes.
//! - [`html`]: HTML mail to text, blocks on lines of their own, blockquotes quoted.
//! - [`outlook`]: the mail in an Outlook `.msg` attachment (MAPI properties in a Compound File).
//! - [`rtf`]: Outlook's compressed RTF bodies, and their text.
//! - [`signature`]: the organisation a message's signature names, and how other mail mentions it.
//! - [`quotes`]: which lines of a message's text quote earlier mail (`quoted:`, `unquoted:`).
//! - [`pack`]: the compressed originals, appended to pack files.
//! - [`store`]: the SQLite metadata store (schema, queries, migrations).
//! - [`tokenizer`]: the tantivy tokenizer that makes Japanese and English searchable.
//! - [`index`]: the tantivy schema, writer and reader.
//! - [`erase`]: erasing messages for good (rows, index documents, original bytes).
//! - [`repack`]: rewriting the packs of originals with a new dictionary (`gc --repack`).
//! - [`import`]: the import pipeline (parse on all cores, write from one thread).
//! - [`query`]: the query language, parsed to an AST and run against index and store.
//! - [`threads`]: JWZ threading, subject normalisation and thread trees.
//! - [`output`]: JSON/JSONL/text/table rendering shared by commands.
//! - [`config`]: the configuration file (internal domains, shared address).
//! - [`customers`]: who is a customer, message directions, customer summaries.
//! - [`status`]: pending conversations and response times.
//! - [`hours`]: working hours, the clock `status` may count in.
//! - [`holidays`]: Japan's national holidays, days off for working hours.
//! - [`export`]: one customer's history as mbox, JSON, CSV or HTML; redaction; the audit trail.
//! - [`zone`]: the time zone wall-clock times (query dates, zone-less Date: headers) are read in.

#![forbid(unsafe_code)]

pub mod archive;
pub mod charset;
pub mod cli;
pub mod commands;
pub mod config;
pub mod customers;
pub mod docs;
pub mod erase;
pub mod export;
pub mod holidays;
pub mod hours;
pub mod html;
pub mod import;
pub mod index;
pub mod outlook;
pub mod output;
pub mod pack;
pub mod parse;
pub mod query;
pub mod quotes;
pub mod repack;
pub mod rtf;
pub mod signature;
pub mod sources;
pub mod status;
pub mod store;
pub mod threads;
pub mod tokenizer;
pub mod zone;
