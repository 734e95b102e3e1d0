//! The command line, defined once: `main` parses it, and the man pages and
//! shell completions are generated from the same definitions.

use crate::store::ThreadOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// kura (蔵): a searchable archive of a shared mailbox.
///
/// kura imports Maildir and mbox exports of a shared address into an archive
/// (SQLite metadata, a full-text index that understands Japanese, and the
/// compressed originals), then searches, threads and exports customer histories.
#[derive(Debug, Parser)]
#[command(name = "kura", version, about, long_about, propagate_version = true)]
#[command(after_long_help = MAIN_LONG_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands whose arguments hold a query (not `tag`, whose `-TAG`
/// removes a tag).
const QUERY_COMMANDS: &[&str] = &[
    "search",
    "count",
    "thread",
    "customers",
    "pending",
    "answers",
    "export",
    "erase",
];

/// The command line `args` (program name first) with each negated query
/// term that clap would take for an option written with the full-width minus
/// the query language reads alike: `-has:attachment` (else `-h`, the help,
/// exit 0), `-tag:done` (else an unknown `-t`), `-"…"`, `-(…)` and a word
/// that starts with a character not in ASCII (`-請求書`) become
/// `－has:attachment`, …; so do a number (`-2023`) and a word that is not
/// the subcommand's short options (`-spam`, `-hold`: else `-h`, the help).
/// Only after a subcommand that takes a query and before `--`, and not the
/// value of an option but `thread --query` (`--customer -x`, `-o -x.json`
/// stay, for clap to refuse).
pub fn negated_terms_in_full_width(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The subcommand: the first argument after the program's name that is
    // neither an option nor the value of `--archive` or `--config` (which
    // may be a path not in UTF-8: `--archive=/tmp/arch\xEEv`).
    let mut i = 1;
    while let Some(s) = args.get(i).map(|a| a.to_string_lossy()) {
        if matches!(&*s, "--archive" | "--config") {
            i += 2;
        } else if s.starts_with('-') && s != "--" {
            i += 1;
        } else {
            break;
        }
    }
    let Some(command) = args
        .get(i)
        .and_then(|a| a.to_str())
        .filter(|c| QUERY_COMMANDS.contains(c))
        .map(str::to_string)
    else {
        return args;
    };
    let mut cli = <Cli as clap::CommandFactory>::command();
    cli.build();
    let Some(sub) = cli.find_subcommand(&command) else {
        return args;
    };
    // The option whose value the argument is (`--customer -x`: clap
    // refuses it, and says to write `--customer=-x`).
    let mut value_of: Option<&clap::Arg> = None;
    for arg in args.iter_mut().skip(i + 1) {
        // The value of `thread --query` is a query.
        if value_of.take().is_some_and(|o| o.get_id() != "query") {
            continue;
        }
        let Some(s) = arg.to_str() else {
            continue;
        };
        if s == "--" {
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            value_of = sub
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .filter(|a| a.get_action().takes_values());
            continue;
        }
        let Some(rest) = s.strip_prefix('-') else {
            continue;
        };
        let options = short_options(sub, rest);
        // A plain ASCII word or number that is no option. Not for `erase`:
        // there a mistyped option (`-dry`) would erase more, not fail.
        let plain = command != "erase"
            && (rest.starts_with(|c: char| c.is_ascii_digit())
                || (rest.len() >= 2 && rest.starts_with(|c: char| c.is_ascii_alphabetic())))
            && options.is_none();
        let negated = crate::query::parser::starts_with_field(rest)
            || rest.starts_with(['"', '('])
            || rest.chars().next().is_some_and(|c| !c.is_ascii())
            || plain;
        if negated {
            *arg = format!("\u{FF0D}{rest}").into();
        } else {
            value_of = options.flatten();
        }
    }
    args
}

/// How clap reads `cluster` (what follows a single `-`) among the options
/// of the subcommand `sub`: `None` when it is not short options; else the
/// option whose value the next argument is, if any. Short options are flags
/// (`-qy`), up to one that takes a value, the rest being the value
/// (`-ofile`; the next argument after `-o` or `-qo`), or a long option
/// written with one dash (`-quiet`). `-hold` is not (`-h` is the help, but
/// `o`, `l`, `d` are no options): a negated word.
fn short_options<'a>(sub: &'a clap::Command, cluster: &str) -> Option<Option<&'a clap::Arg>> {
    // A long option with one dash (`-quiet`) is a mistake clap reports.
    if sub.get_arguments().any(|a| a.get_long() == Some(cluster)) {
        return Some(None);
    }
    let mut chars = cluster.chars();
    while let Some(c) = chars.next() {
        let arg = sub.get_arguments().find(|a| a.get_short() == Some(c))?;
        if arg.get_action().takes_values() {
            return Some(chars.as_str().is_empty().then_some(arg));
        }
    }
    Some(None)
}

/// The query language, shown in `search --help`, `count --help` and the man pages.
pub const QUERY_HELP: &str = "\
Query language:
  Words are ANDed; OR, NOT (upper case), -word, parentheses and \"quoted phrases\" work.
  * alone matches every message; a word ending in * is a prefix (invoi* finds invoice, invoices).
  -spam, -請求書, -tag:done, -\"phrase\" and -(group) need no --; only a word that is the
  command's own options (-q, -quiet) does: kura search -- invoice -quiet.
  from: to: cc:        address, part of it, or display name (Japanese too)
  subject: body:       the subject / the decoded text
  unquoted:            the text a message writes itself, not what it quotes (> lines and
                       their attribution, -----Original Message----- and below) or forwards
  quoted:              only what a message quotes or forwards
  customer:            an address or a domain (subdomains included), in any role
  history:             a customer's whole history, as kura export writes it: its mail, the
                       rest of its threads, internal mail naming it (history:kyowa-shoji.co.jp)
  domain:              a mail domain, in any role
  id:                  a Message-ID, with or without <>
  thread:              a thread id
  tag:                 a tag
  has:attachment       messages with attachments
  is:inbound           from a customer; is:outbound from staff to a customer; is:internal
                       among staff (by the configuration: see kura customers --help)
  attachment:          an attachment file name (Japanese too)
  mimetype:            an attachment type: pdf, application/pdf
  date:                2024-03-05, 2024-03, 2024, 2024-01..2024-03-31, 2024-06.., ..2023,
                       today, yesterday, 7d, 2w, 3m, 1y, 12h (within the last ...);
                       local time zone unless --utc
  Japanese is matched as written, in any width (ｾｲｷｭｳ = セイキュウ); one character works.
  Punctuation and symbols are not indexed: a word of only them (& ・ 、) is left out
  (invoice & 請求書 = invoice 請求書); a query of only such words is an error.

JSON output (schema version 1; fields are only ever added within a version):
  message: message_id, thread, date (RFC 3339), from {name, address}, to and cc
           [{name, address}], subject, snippet, attachments [{filename, mime, size}], tags
  thread (search --threads): thread, first_date, last_date, matched, total,
           participants, subject";

/// Exit statuses, files and environment, shown in `kura --help` and kura(1).
pub const MAIN_LONG_HELP: &str = "\
Exit status:
  0   success (search/count: something matched)
  1   search/count/thread: nothing matched
  2   error: bad arguments, bad query, unreadable input, damaged archive
  75  the archive is locked by another import (retry later, or --wait)

Files:
  ARCHIVE/kura.sqlite   metadata (SQLite): messages, locations, threads, rejects, tags
  ARCHIVE/index/        the full-text index (tantivy)
  ARCHIVE/originals/    the original messages, compressed (pack-NNNNNN.zst, with
                        the zstd dictionary dict-ID.zdict trained on the archive's mail)
  ARCHIVE/import.lock   held while kura writes (import, reindex, gc, erase, check --repair)
  The archive is created owner-only (0700/0600).

Environment:
  KURA_ARCHIVE    the archive directory (as --archive)
  KURA_CONFIG     the configuration file (as --config)
  XDG_CONFIG_HOME the configuration is $XDG_CONFIG_HOME/kura/config.toml
                  (else ~/.config/kura/config.toml, else ARCHIVE/config.toml)
  XDG_DATA_HOME   default archive is $XDG_DATA_HOME/kura (else ~/.local/share/kura)
  NO_COLOR        disables colour on a terminal

Query language and JSON output: see kura search --help, kura-search(1).";

/// Tag names and the dump format, shown in `tag --help` and kura-tag(1).
pub const TAG_HELP: &str = "\
Tag operations:
  +NAME adds the tag NAME, -NAME removes it, applied in order to every message
  matching the query (thread:ID tags a whole conversation); --add NAME and
  --remove NAME do the same as options, before the +NAME and -NAME words (a
  tag both added and removed by them is an error). Options go before the tag
  operations. A -- after an operation ends the operations, so that the query
  may start with - (kura tag +external -- -from:minato-shokai.co.jp,
  kura tag --remove urgent -- -tag:keep); a -- before any operation only ends
  the options (kura tag -- -q '*' removes the tag q, which -q alone, the
  option --quiet, cannot). A tag name is 1 to 64 bytes without whitespace or
  control characters. Tags are kept in the metadata store: they survive
  re-imports, and are found with the query tag:NAME.

Dump format (--dump, --restore):
  One line per tagged message, sorted by Message-ID:
    <message-id> tag1 tag2 ...
  Blank lines and lines starting with # are ignored. --restore replaces the
  tags of every message it lists (a line with no tags clears them) and leaves
  other messages alone; Message-IDs not in the archive are counted and
  reported, not an error. The whole restore is one transaction.

Examples:
  kura tag +urgent -todo from:tanaka@kyowa-shoji.co.jp subject:請求書
  kura tag +done thread:42
  kura tag --remove urgent '*'
  kura tag --dump tags.txt && kura --archive other tag --restore tags.txt";

/// Customer keys and directions, shown in `customers --help` and the man page.
pub const CUSTOMERS_HELP: &str = "\
Customers:
  Addresses at the internal domains of the configuration (and their subdomains), and
  the shared address, are staff; every other address belongs to a customer, keyed by
  its registrable domain (tokyo.kyowa-shoji.co.jp -> kyowa-shoji.co.jp; co.jp, or.jp,
  ne.jp, co.uk, com.au, ... keep three labels), or by the whole address at free-mail
  and carrier domains (gmail.com, yahoo.co.jp, docomo.ne.jp, ...; more with
  free_mail_domains). Only From, To and Cc count, and the Reply-To of a web form's
  mail (from staff to staff, or from a form service listed in form_senders, which is
  no customer). Without internal_domains every address is a customer's (see kura
  config).

Directions:
  inbound   From is external; or From and every To/Cc are internal but a Reply-To is
            a customer's (a web form's mail), or From is in form_senders and a Reply-To
            is a customer's: then its sender is the Reply-To
  outbound  From is internal and some To/Cc is external
  internal  From is internal and every To/Cc too (e.g. a visit report to the shared address)

Columns and JSON fields (schema version 1):
  key, kind (domain | address), name (most used display name; for a domain a company
  name when one is used), messages (with the customer in From/To/Cc), inbound (from
  the customer), outbound (from staff to the customer), threads,
  first_contact, last_contact, last_inbound (last from the customer), last_outbound
  (last from staff to the customer), staff [{address, name, threads}] (staff seen in
  the customer's threads).
  --show adds addresses [{address, name, messages}], people [{name, address, count}]
  and months [{month, messages}] (every month from the first contact to the last).";

/// The configuration file, shown in `config --help` and the man page.
pub const CONFIG_HELP: &str = "\
Configuration file (TOML), the first found of: --config FILE (or KURA_CONFIG, which
must exist), $XDG_CONFIG_HOME/kura/config.toml (else ~/.config/kura/config.toml),
ARCHIVE/config.toml. No file is fine; a malformed one is an error naming the file
and line.

  internal_domains = [\"minato-shokai.co.jp\"]        # staff (subdomains too)
  shared_address = \"support@minato-shokai.co.jp\"    # the shared mailbox, also staff
  free_mail_domains = [\"example-mail.jp\"]           # keyed by address, added to the built-in list
  form_senders = [\"noreply@formzu.net\", \"form.run\"] # web form services: mail is the Reply-To's";

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The archive directory (created on first import).
    #[arg(long, global = true, env = "KURA_ARCHIVE", value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Print nothing but errors (for cron).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The configuration file (default: $XDG_CONFIG_HOME/kura/config.toml,
    /// else ~/.config/kura/config.toml, else config.toml in the archive).
    #[arg(long, global = true, env = "KURA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import Maildir folders, mbox files (.mbox, .mbox.gz) and .eml files.
    Import(ImportArgs),
    /// Search messages (or threads with --threads).
    #[command(after_long_help = QUERY_HELP)]
    Search(SearchArgs),
    /// Count messages (or threads) matching a query.
    #[command(after_long_help = QUERY_HELP)]
    Count(CountArgs),
    /// Show one message: decoded headers, where it was found, text and attachments, or the raw original.
    Show(ShowArgs),
    /// Show a conversation as a tree.
    Thread(ThreadArgs),
    /// Add or remove tags on the messages matching a query; dump or restore all tags.
    #[command(
        override_usage = "kura tag [OPTIONS] +TAG|-TAG... [--] QUERY...\n       kura tag [OPTIONS] --add TAG|--remove TAG... [+TAG|-TAG...] [--] QUERY...\n       kura tag --dump FILE\n       kura tag --restore FILE",
        after_long_help = TAG_HELP
    )]
    Tag(TagArgs),
    /// List the tags in use, with their message counts.
    Tags(TagsArgs),
    /// List inputs that could not be imported, with the reason (--retry: try them again).
    Rejects(RejectsArgs),
    /// Archive statistics: messages, threads, duplicates, sizes, messages per month.
    Stats(StatsArgs),
    /// Verify the archive (database, index, originals, threads); --repair fixes what it can.
    Check(CheckArgs),
    /// Rebuild the full-text index from the stored originals, and group the messages into threads anew.
    Reindex(ReindexArgs),
    /// Compact the archive: merge index segments, vacuum the database.
    Gc(GcArgs),
    /// Erase the messages matching a query for good: metadata, index entries, stored originals.
    #[command(after_long_help = ERASE_HELP)]
    Erase(EraseArgs),
    /// The import history, newest first.
    Log(LogArgs),
    /// List the customers of the archive (or of the messages matching a query).
    #[command(after_long_help = CUSTOMERS_HELP)]
    Customers(CustomersArgs),
    /// Export one customer's complete history (mbox, JSON, CSV or one HTML file).
    #[command(after_long_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// List the exports and erasures made in the archive (who, when, what, where).
    Audit(AuditArgs),
    /// List conversations waiting for a staff reply (exit status 1 when there are any).
    #[command(after_long_help = PENDING_HELP)]
    Pending(PendingArgs),
    /// Response times: inbound messages, answered, unanswered, late replies, double answers.
    #[command(after_long_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Past staff answers to customer messages matching a query: the replies to reuse.
    #[command(after_long_help = ANSWERS_HELP)]
    Answers(AnswersArgs),
    /// Print the effective configuration and where each value came from.
    #[command(after_long_help = CONFIG_HELP)]
    Config(ConfigArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Maildir folders, mbox files or .eml files (folders are walked).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Wait for a running import to finish instead of exiting with status 75.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub threading: ThreadingArgs,
    /// Parse threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub jobs: usize,
    /// New messages per commit.
    #[arg(long, default_value_t = crate::import::DEFAULT_BATCH, value_name = "N", hide = true)]
    pub batch_size: usize,
    /// List the files that were not taken for mail, and why; say how long threading took.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// How messages are grouped into threads (`import`, `reindex`).
#[derive(Debug, Args)]
pub struct ThreadingArgs {
    /// Do not join reference-less replies to threads by subject.
    #[arg(long, conflicts_with_all = ["subject_window", "subject_threading"])]
    pub no_subject_threading: bool,
    /// Join reference-less replies to threads by subject within the archive's
    /// last window, which it keeps while --no-subject-threading has this off.
    #[arg(long, conflicts_with = "no_subject_threading")]
    pub subject_threading: bool,
    /// Join reference-less replies to threads by subject within this window,
    /// in days [default: 30; reindex: the archive's].
    #[arg(long, value_name = "DAYS", conflicts_with = "no_subject_threading")]
    pub subject_window: Option<u32>,
}

impl ThreadingArgs {
    /// The options these flags give, and `otherwise`'s where they say
    /// nothing; `--subject-threading` alone takes the window of `archive`'s
    /// (the options the archive recorded, read only then).
    pub fn options(
        &self,
        otherwise: ThreadOptions,
        archive: impl FnOnce() -> anyhow::Result<ThreadOptions>,
    ) -> anyhow::Result<ThreadOptions> {
        Ok(match (self.no_subject_threading, self.subject_window) {
            (true, _) => ThreadOptions {
                subject_fallback: false,
                ..otherwise
            },
            (false, Some(days)) => ThreadOptions {
                subject_fallback: true,
                window: i64::from(days) * 86_400,
            },
            (false, None) if self.subject_threading => ThreadOptions {
                subject_fallback: true,
                window: archive()?.window,
            },
            (false, None) => otherwise,
        })
    }
}

/// Output formats of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table on a terminal, text lines otherwise.
    Auto,
    /// A table (comfy-table).
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line, streamed.
    Jsonl,
    /// One line per item.
    Text,
    /// Message-IDs (or thread ids), one per line.
    Ids,
}

/// Output formats of `kura show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// The same as text.
    Auto,
    /// Headers, attachments, then the decoded text.
    Text,
    /// One JSON object: the message, with `body`.
    Json,
    /// The same object as json, on one line.
    Jsonl,
}

/// Output formats of `kura thread`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThreadFormat {
    /// The same as text.
    Auto,
    /// Each thread as an indented tree.
    Text,
    /// One JSON object per thread; with --query, one JSON array of them.
    Json,
    /// One JSON object per thread per line, streamed.
    Jsonl,
    /// Message-IDs of each thread's messages, oldest first, one per line.
    Ids,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    Newest,
    Oldest,
    Relevance,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query (words are joined by spaces); `*` matches everything.
    /// `-word` excludes a word, unless it is the command's own options
    /// (`-q`): put `--` before such a query (`kura search -- -q`).
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Interpret calendar dates in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// List threads instead of messages.
    #[arg(long)]
    pub threads: bool,
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Newest or oldest first (threads: by their latest message), or the best
    /// match first.
    #[arg(long, value_enum, default_value_t = Sort::Newest)]
    pub sort: Sort,
    /// At most this many results (default: 50 on a terminal, all otherwise).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Skip this many results.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: usize,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Count threads instead of messages.
    #[arg(long)]
    pub threads: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A Message-ID, with or without <>, or `id:...`.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print the exact original bytes.
    #[arg(long, conflicts_with_all = ["part", "format"])]
    pub raw: bool,
    /// Save attachment N (as listed by show) to --output.
    #[arg(long, value_name = "N", requires = "output")]
    pub part: Option<usize>,
    /// Where --part writes (a file, a directory to put the sanitised file name
    /// in, or `-`: standard output).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ShowFormat::Auto)]
    pub format: ShowFormat,
    /// Only the text the message writes itself, not what it quotes or forwards
    /// (the rules of `unquoted:`): a past answer to reuse.
    #[arg(long, conflicts_with_all = ["raw", "part"])]
    pub unquoted: bool,
}

#[derive(Debug, Args)]
pub struct ThreadArgs {
    /// A thread id or a Message-ID.
    #[arg(value_name = "ID", required_unless_present = "query")]
    pub id: Option<String>,
    /// Show the thread of each message matching this query.
    #[arg(long, value_name = "QUERY", conflicts_with = "id")]
    pub query: Option<String>,
    /// Include the decoded text of each message (quoted lines dimmed on a terminal).
    #[arg(long)]
    pub body: bool,
    /// Include only the text each message writes itself, not what it quotes or
    /// forwards (implies --body): a long conversation without its repeated quotes.
    #[arg(long)]
    pub unquoted: bool,
    #[arg(long, value_enum, default_value_t = ThreadFormat::Auto)]
    pub format: ThreadFormat,
    #[arg(long)]
    pub utc: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// Tag operations (+NAME adds, -NAME removes), then the query.
    #[arg(
        value_name = "+TAG|-TAG|QUERY",
        allow_hyphen_values = true,
        required_unless_present_any = ["dump", "restore", "after_separator"],
        conflicts_with_all = ["dump", "restore"]
    )]
    pub words: Vec<String>,
    /// The words after a `--` that comes before any other word, which the
    /// parser keeps apart from `words` (a later `--` stays among them).
    #[arg(
        last = true,
        hide = true,
        value_name = "WORDS",
        conflicts_with_all = ["dump", "restore"]
    )]
    pub after_separator: Vec<String>,
    /// Add the tag TAG (may be repeated), as +TAG does.
    #[arg(long, value_name = "TAG", conflicts_with_all = ["dump", "restore"])]
    pub add: Vec<String>,
    /// Remove the tag TAG (may be repeated), as -TAG does; also a tag named like an option (--remove q).
    #[arg(long, value_name = "TAG", conflicts_with_all = ["dump", "restore"])]
    pub remove: Vec<String>,
    /// Interpret calendar dates of the query in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
    /// Write the tags of every tagged message to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE", conflicts_with = "restore")]
    pub dump: Option<PathBuf>,
    /// Replace the tags of the messages listed in FILE (`-`: standard input), as written by --dump.
    #[arg(long, value_name = "FILE")]
    pub restore: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TagsArgs {
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RejectsArgs {
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Parse every reject again (after an upgrade of kura): those that are mail
    /// now are imported and leave the list.
    #[arg(long)]
    pub retry: bool,
    /// With --retry: wait for a running import instead of exiting with status 75.
    #[arg(long, requires = "retry")]
    pub wait: bool,
}

/// Output formats of reports (stats, check, gc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Lines for people (a bar chart on a terminal).
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Interpret months in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Fix what can be fixed: re-index missing and stale messages from their
    /// originals, drop stray index documents, restore thread links.
    #[arg(long)]
    pub repair: bool,
    /// Wait for a running import instead of exiting with status 75.
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Wait for a running import instead of exiting with status 75.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub threading: ThreadingArgs,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Wait for a running import instead of exiting with status 75.
    #[arg(long)]
    pub wait: bool,
    /// Also rewrite the originals into new packs, compressed with a dictionary
    /// trained afresh: reclaims the room of erased originals and drops the old
    /// dictionary (pieces of the mail it was trained on).
    #[arg(long)]
    pub repack: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// At most this many imports (newest first).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output formats of `kura customers`, `kura pending` and `kura report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table on a terminal, text lines otherwise.
    Auto,
    /// A table (comfy-table).
    Table,
    /// One line per item.
    Text,
    /// One JSON array; one object for report and for customers --show.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
}

impl ListFormat {
    /// `Auto` resolved: a table on a terminal, text lines otherwise.
    pub fn resolve(self) -> ListFormat {
        match self {
            ListFormat::Auto if crate::output::stdout_is_terminal() => ListFormat::Table,
            ListFormat::Auto => ListFormat::Text,
            f => f,
        }
    }
}

/// Orders of `kura customers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CustomerSort {
    /// Last contact, newest first.
    Last,
    /// Number of messages, most first.
    Messages,
    /// Name (else key), alphabetically.
    Name,
}

#[derive(Debug, Args)]
pub struct CustomersArgs {
    /// Only the customers of messages matching this query (default: every message).
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// One customer in detail: a key, an address or a domain (subdomains fold).
    #[arg(long, value_name = "KEY")]
    pub show: Option<String>,
    #[arg(long, value_enum, default_value_t = CustomerSort::Last)]
    pub sort: CustomerSort,
    #[arg(long, value_enum, default_value_t = ListFormat::Auto)]
    pub format: ListFormat,
    /// At most this many customers (default: 50 on a terminal, all otherwise).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Dates and months in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

/// Output formats of `kura config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// Lines of `key = value  # source`.
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[arg(long, value_enum, default_value_t = ConfigFormat::Text)]
    pub format: ConfigFormat,
    /// Lists the days off of YEAR (1980 to 2099) on which the company would
    /// otherwise work (national holidays, days off every year, dates
    /// listed), instead of the configuration.
    #[arg(
        long,
        value_name = "YEAR",
        value_parser = clap::value_parser!(i32).range(
            i64::from(crate::holidays::FIRST_YEAR)..=i64::from(crate::holidays::LAST_YEAR)
        )
    )]
    pub days_off: Option<i32>,
}

/// What an export contains, shown in `export --help` and the man page.
pub const EXPORT_HELP: &str = "\
History:
  Every message with the customer in From, To or Cc, plus every other message of
  the same threads (internal forwards and reports), oldest first. QUERY (the query
  language of kura search), --since and --until (as date:, e.g. 2024-03, 2024-01-15,
  3m) narrow it. The customer is a key, an address or a domain, as in customers --show.

Formats:
  mbox   the original bytes, mboxrd-quoted; kura import reads it back unchanged
  jsonl  one message object per line (the search fields plus direction and body)
  json   the same objects in one array
  csv    date, direction, from, to, subject, thread, attachments (RFC 4180 quoting;
         cells starting with = + - @ get a leading '; --excel adds a BOM and CRLF)
  html   one self-contained page: a summary with a chart per month, then the
         conversations newest first; no scripts, no remote resources

--redact (text formats only) masks e-mail addresses, phone numbers (03-1234-5678,
090-1234-5678, +81 ..., full-width digits too) and postal codes (〒123-4567).
--attachments DIR saves every attachment under a sanitised, unique file name.
Each export is recorded in the archive (see kura audit).";

/// What `pending` lists, shown in `pending --help` and the man page.
pub const PENDING_HELP: &str = "\
Pending conversations:
  A thread is pending when its latest inbound message (from a customer) has no
  staff reply after it: an outbound message addressed to that customer (a forward
  asking a supplier is none, and what a supplier so consulted writes back waits
  for nothing); internal messages do not count (see kura customers
  --help for directions). Threads with a message tagged
  done are left out (kura tag +done thread:ID); a customer's thank-you is not
  guessed. Ages are wall-clock time, or working time when the configuration sets
  working_hours (see kura config; --wall-clock: wall-clock time all the same).

Columns and JSON fields (schema version 1):
  thread, customer (key of the first unanswered message), subject (of the first
  message of the thread), waiting_since (RFC 3339: the first inbound message after
  the last outbound one), last_inbound, age_seconds (now - waiting_since), age,
  unanswered (inbound messages waiting), handled_by (sender of the last outbound
  message, or null), working_hours (the hours ages count, or null: wall-clock
  time). csv: the same columns but age.

Exit status: 0 when nothing is pending, 1 when something is, 2 on error.";

/// What `report` computes, shown in `report --help` and the man page.
pub const REPORT_HELP: &str = "\
Report:
  For every inbound message dated within --since/--until (local days unless --utc;
  --until is inclusive): answered when a staff reply follows it in the same
  thread, an outbound message addressed to its customer (a forward asking a
  supplier is none; the first reply is its reply), else unanswered; what a
  supplier so consulted writes back is not counted. Response
  times are wall-clock time, or working time when the configuration sets
  working_hours (--wall-clock: wall-clock time all the same): median (mean of the
  two middle values for an even count) and 90th percentile (nearest rank); late
  counts replies that took longer than --late. A double answer is an inbound message that
  got replies from two or more different staff addresses within --window,
  before the customer wrote again.
  --by staff groups by the sender of the first reply (- for unanswered), --by
  customer by customer key, --by month by the month of the inbound message.

JSON (one object): since, until, late_seconds, window_seconds, working_hours
  (the hours counted, or null: wall-clock time), total, groups
  [{group, inbound, answered, unanswered, median_seconds, p90_seconds, late,
  double_answers}], double_answers [{thread, customer, inbound_date,
  replies [{staff, date}]}]. jsonl: one object per group, then the total (group
  \"total\"), each with working_hours, then one per double answer (with
  \"double_answer\": true). csv: the groups and the total, working_hours last.";

/// What `answers` shows, shown in `answers --help` and the man page.
pub const ANSWERS_HELP: &str = "\
Answers:
  The query finds customers' (inbound) messages, newest first, by what the
  customer wrote: a word without a field is looked for in the subject, the
  message's own text, addresses and attachment names, not in what it quotes (a
  reply quoting staff's earlier answer asks nothing about its words; body: and
  quoted: reach quotes). Each is shown with the first staff reply after it in its
  conversation that is addressed to that customer (a forward to a supplier is
  passed over), and of that reply only what it writes itself, not the question
  it quotes (the rules of unquoted:). A reply answering several matching messages
  is shown once, under the newest. Unanswered messages are left out. Needs
  internal_domains or shared_address in the configuration (exit status 2 without).
  kura answers 納期 遅延       how staff answered customers asking about late delivery
  kura answers subject:見積 --limit 5

JSON (schema version 1): question (a message object as in search, with its
  snippet), answer (a message object, snippet empty), answer_text (the reply's own
  text). jsonl: one such object per line.

Exit status: 0 when something was answered, 1 when nothing was, 2 on error.";

/// Output formats of `kura answers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnswersFormat {
    /// The same as text.
    Auto,
    /// Each question (date, sender, subject, snippet), then the answer's text.
    Text,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct AnswersArgs {
    /// The query the customers' messages must match.
    #[command(flatten)]
    pub query: QueryArgs,
    /// At most this many answers (default: 10 on a terminal, all otherwise).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = AnswersFormat::Auto)]
    pub format: AnswersFormat,
}

/// Orders of `kura pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PendingSort {
    /// Waiting longest first.
    Oldest,
    /// Waiting shortest first.
    Newest,
}

#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Only threads with a message matching this query (default: every thread).
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only conversations waiting at least this long: 30m, 24h, 3d, 2w (of working time when working_hours is configured).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Count wall-clock time even when working_hours is configured.
    #[arg(long)]
    pub wall_clock: bool,
    #[arg(long, value_enum, default_value_t = PendingSort::Oldest)]
    pub sort: PendingSort,
    #[arg(long, value_enum, default_value_t = ListFormat::Auto)]
    pub format: ListFormat,
    /// Dates in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

/// Groupings of `kura report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    /// The staff address of the first reply.
    Staff,
    /// The customer key.
    Customer,
    /// The month of the inbound message.
    Month,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only inbound messages from this date on (2024-03-05, 2024-03, 2024, 3m, ...).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only inbound messages up to and including this date.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Group the counts.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<ReportBy>,
    /// Replies slower than this are late: 30m, 4h, 3d, 2w (of working time when working_hours is configured).
    #[arg(long, default_value = "4h", value_name = "DURATION")]
    pub late: String,
    /// Count wall-clock time even when working_hours is configured.
    #[arg(long)]
    pub wall_clock: bool,
    /// Two staff replying within this time after a message make a double answer.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub window: String,
    #[arg(long, value_enum, default_value_t = ListFormat::Auto)]
    pub format: ListFormat,
    /// Days and months in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

/// Formats of `kura export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The original messages, mboxrd-quoted.
    Mbox,
    /// One JSON object per message and line.
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header line.
    Csv,
    /// One self-contained HTML page.
    Html,
}

impl ExportFormat {
    /// The name as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Mbox => "mbox",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Html => "html",
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The customer: a key, an address or a domain (subdomains fold).
    #[arg(long, value_name = "KEY")]
    pub customer: String,
    /// Only the messages of the history matching this query.
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only messages from this date on (2024-03-05, 2024-03, 2024, 3m, ...).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only messages up to and including this date.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The file to write, created owner-only (default, or `-`: standard output).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// CSV for spreadsheet programs: a UTF-8 byte order mark and CRLF line ends.
    #[arg(long)]
    pub excel: bool,
    /// Mask e-mail addresses, phone numbers and postal codes (not with mbox).
    #[arg(long)]
    pub redact: bool,
    /// Save the attachments into this directory (created if needed).
    #[arg(long, value_name = "DIR")]
    pub attachments: Option<PathBuf>,
    /// Leave out the internal mail (visit and phone reports) that mentions the
    /// customer by name without being addressed to it.
    #[arg(long)]
    pub no_mentions: bool,
    /// Dates in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
}

pub const ERASE_HELP: &str = "\
Erasing is for good, for a customer's request to delete their data, a retention
period, or mail that should never have been kept. Of every matching message kura
deletes the metadata (SQLite's secure_delete zeroes the freed pages), its index
entries (the index segments that held them are rewritten) and every stored copy of
the original (overwritten with zeros in the packs). Nothing in the archive can bring
it back.

What is kept: a hash of each erased Message-ID, so that an import meeting the message
again in an export skips it (counted as \"erased before\"), and an entry in kura audit:
who, when, the query and how many messages.

The compression dictionary of the originals, trained on the archive's first messages,
holds pieces of them (addresses, Message-IDs, header lines): when it holds an address
or Message-ID of the erased messages that no kept message has, every original is
recompressed with a new dictionary trained on the mail that stays (kura gc --repack).

Not erased: the exports imported from (delete the mail there too), what was exported
earlier (kura audit lists it), and rejects (kura rejects).
Replies and forwards quote a customer's words: kura search --threads customer:KEY and a
search for their name or address find those messages too.

On a terminal kura asks before erasing; elsewhere pass --yes. --dry-run lists the
messages and erases nothing. A killed erase is finished by the next kura import or
kura erase; a new dictionary it still owes (killed, or an original that cannot be
read) by the next kura erase, kura gc or kura check --repair.

Examples:
  kura erase --dry-run customer:tanaka@kyowa-shoji.co.jp
  kura erase --yes customer:tanaka@kyowa-shoji.co.jp
  kura erase --yes -- -date:7y                  mail older than seven years (a retention
                                                period, nightly from cron)

Exit status: 0 erased (or listed, with --dry-run); 1 nothing matched, or the question
was answered no; 2 error (and --yes missing off a terminal); 75 the archive is locked, or
erased but a process reading the database (a search) kept the old bytes of its rows from
being overwritten: the next kura erase, import or check --repair does it.";

#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Erase without asking (needed when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// List the messages that would be erased; erase nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Wait for a running import instead of exiting with status 75.
    #[arg(long)]
    pub wait: bool,
    /// The summary's format (json: {messages, copies, original_bytes, segments_rewritten, dry_run}).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// At most this many entries (newest first).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn rewritten(args: &[&str]) -> Vec<String> {
        let args = args.iter().map(std::ffi::OsString::from).collect();
        negated_terms_in_full_width(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn negated_terms_of_a_query_are_not_options() {
        for (args, want) in [
            (
                &["kura", "search", "見積", "-has:attachment"][..],
                &["kura", "search", "見積", "－has:attachment"][..],
            ),
            (
                &[
                    "kura",
                    "--archive",
                    "a",
                    "count",
                    "-TAG:done",
                    "-\"至急\"",
                    "-(a OR b)",
                ],
                &[
                    "kura",
                    "--archive",
                    "a",
                    "count",
                    "－TAG:done",
                    "－\"至急\"",
                    "－(a OR b)",
                ],
            ),
            (
                &["kura", "thread", "--query", "-請求書"],
                &["kura", "thread", "--query", "－請求書"],
            ),
            // A plain word that is not short options (`-h` is the help).
            (
                &["kura", "search", "invoice", "-spam", "-hold", "-qx"],
                &["kura", "search", "invoice", "－spam", "－hold", "－qx"],
            ),
            // Options, after `--`, and `kura tag` stay.
            (
                &[
                    "kura",
                    "export",
                    "-q",
                    "-o",
                    "-",
                    "-ofile",
                    "--format=json",
                    "-quiet",
                ],
                &[
                    "kura",
                    "export",
                    "-q",
                    "-o",
                    "-",
                    "-ofile",
                    "--format=json",
                    "-quiet",
                ],
            ),
            (
                &["kura", "erase", "-qy", "-y", "-h"],
                &["kura", "erase", "-qy", "-y", "-h"],
            ),
            // In `erase`, a mistyped option is refused, not a word to spare.
            (
                &[
                    "kura",
                    "erase",
                    "--yes",
                    "-dry",
                    "-2023",
                    "customer:x",
                    "-tag:keep",
                ],
                &[
                    "kura",
                    "erase",
                    "--yes",
                    "-dry",
                    "-2023",
                    "customer:x",
                    "－tag:keep",
                ],
            ),
            (
                &["kura", "search", "--", "-tag:done"],
                &["kura", "search", "--", "-tag:done"],
            ),
            (
                &["kura", "tag", "+done", "-要対応", "tag:x"],
                &["kura", "tag", "+done", "-要対応", "tag:x"],
            ),
            // An archive named like a subcommand is a value, not one.
            (
                &["kura", "--archive", "search", "tag", "-tag:x", "y"],
                &["kura", "--archive", "search", "tag", "-tag:x", "y"],
            ),
        ] {
            assert_eq!(rewritten(args), want, "{args:?}");
        }
    }

    #[test]
    fn a_negated_field_is_part_of_the_query() {
        let cli = Cli::parse_from(rewritten(&["kura", "search", "見積", "-has:attachment"]));
        let Command::Search(a) = cli.command else {
            panic!("not search");
        };
        assert_eq!(a.query.query, ["見積", "－has:attachment"]);
        let now = chrono::Utc::now();
        let q = crate::query::parse(&a.query.query.join(" "), now, false).unwrap();
        let plain = crate::query::parse("見積 -has:attachment", now, false).unwrap();
        assert_eq!(q, plain);
    }

    /// The value of an option is the option's, not a query term: clap
    /// refuses one that starts with `-` (and says to join it with `=`), where
    /// rewritten it was taken (customer `－kansai`, a file `－report.json`).
    #[test]
    fn option_values_are_not_query_terms() {
        for args in [
            &[
                "kura",
                "export",
                "--customer",
                "-kansai",
                "--format",
                "jsonl",
            ][..],
            &["kura", "export", "--customer", "x", "-o", "-report.json"],
            &["kura", "export", "--customer", "x", "-qo", "-report.json"],
            &["kura", "search", "--format", "-json", "x"],
            &["kura", "customers", "--show", "-meisei.example"],
            &["kura", "pending", "--older-than", "-three"],
            &["kura", "count", "--archive", "-tag:x", "y"],
        ] {
            assert_eq!(rewritten(args), args, "{args:?}");
            assert!(Cli::try_parse_from(rewritten(args)).is_err(), "{args:?}");
        }
        // The words after a value are as before; `thread --query` takes a
        // query.
        assert_eq!(
            rewritten(&[
                "kura",
                "search",
                "--archive",
                "a",
                "-tag:x",
                "--format",
                "ids",
                "-spam"
            ]),
            [
                "kura",
                "search",
                "--archive",
                "a",
                "－tag:x",
                "--format",
                "ids",
                "－spam"
            ]
        );
        assert_eq!(
            rewritten(&["kura", "thread", "--query", "-tag:done"]),
            ["kura", "thread", "--query", "－tag:done"]
        );
    }

    /// A negated number is a negated word too: no option is a digit (`見積
    /// -2023` was refused as an unexpected `-2`).
    #[test]
    fn a_negated_number_is_a_query_term() {
        for (args, want) in [
            (
                &["kura", "search", "見積", "-2023", "-5"][..],
                &["kura", "search", "見積", "－2023", "－5"][..],
            ),
            (
                &["kura", "search", "--limit", "-5", "-2023"],
                &["kura", "search", "--limit", "-5", "－2023"],
            ),
        ] {
            assert_eq!(rewritten(args), want, "{args:?}");
        }
        let cli = Cli::parse_from(rewritten(&["kura", "search", "見積", "-2023"]));
        let Command::Search(a) = cli.command else {
            panic!("not search");
        };
        let now = chrono::Utc::now();
        let q = crate::query::parse(&a.query.query.join(" "), now, false).unwrap();
        assert_eq!(q, crate::query::parse("見積 -2023", now, false).unwrap());
    }

    /// An archive path that is not UTF-8 (`--archive=` a Latin-1 name) does
    /// not hide the subcommand: its negated terms were left for clap to
    /// refuse (`-tag:x` as an unknown `-t`).
    #[test]
    fn a_path_not_in_utf8_before_the_subcommand() {
        use std::os::unix::ffi::OsStringExt;
        let archive = std::ffi::OsString::from_vec(b"--archive=/tmp/arch\xEEv".to_vec());
        let args = vec![
            "kura".into(),
            archive.clone(),
            "search".into(),
            "-tag:x".into(),
        ];
        let want: Vec<std::ffi::OsString> =
            vec!["kura".into(), archive, "search".into(), "－tag:x".into()];
        assert_eq!(negated_terms_in_full_width(args), want);
    }
}
