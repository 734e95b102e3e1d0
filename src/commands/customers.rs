//! `kura customers`: the customers of the archive or of a query's messages,
//! and one customer in detail (`--show`). See [`crate::customers`].

use crate::archive::ExitError;
use crate::cli::{CustomerSort, CustomersArgs, GlobalArgs, ListFormat};
use crate::customers::{self, Classifier, CustomerDetail, CustomerSummary, KeyKind};
use crate::output::{self, sanitize, truncate_columns};
use crate::store::{Store, format_date};
use anyhow::Result;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;

/// A staff member in a customer's threads.
#[derive(Debug, Serialize)]
pub struct StaffView {
    pub address: String,
    pub name: String,
    pub threads: usize,
}

/// A customer as printed (JSON schema version 1).
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub key: String,
    pub kind: KeyKind,
    pub name: String,
    /// The organisation most of its mail signs with, `null` when none does.
    pub organisation: Option<String>,
    pub messages: usize,
    pub inbound: usize,
    pub outbound: usize,
    pub threads: usize,
    pub first_contact: String,
    pub last_contact: String,
    pub last_inbound: Option<String>,
    pub last_outbound: Option<String>,
    pub staff: Vec<StaffView>,
}

impl CustomerView {
    fn new(s: &CustomerSummary, utc: bool) -> CustomerView {
        CustomerView {
            key: s.key.clone(),
            kind: s.kind,
            name: s.name.clone(),
            organisation: s.organisation.clone(),
            messages: s.messages,
            inbound: s.inbound,
            outbound: s.outbound,
            threads: s.threads,
            first_contact: format_date(s.first_contact, utc),
            last_contact: format_date(s.last_contact, utc),
            last_inbound: s.last_inbound.map(|t| format_date(t, utc)),
            last_outbound: s.last_outbound.map(|t| format_date(t, utc)),
            staff: s
                .staff
                .iter()
                .map(|(address, name, threads)| StaffView {
                    address: address.clone(),
                    name: name.clone(),
                    threads: *threads,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct AddressCount {
    address: String,
    name: String,
    messages: usize,
}

#[derive(Debug, Serialize)]
struct Person {
    name: String,
    address: String,
    count: usize,
}

/// Internal mail that mentions the customer.
#[derive(Debug, Serialize)]
struct Mention {
    message_id: String,
    thread: String,
    date: String,
    from: crate::store::AddressView,
    subject: String,
}

#[derive(Debug, Serialize)]
struct Month {
    month: String,
    messages: usize,
}

/// `--show`: the summary and the details.
#[derive(Debug, Serialize)]
struct DetailView {
    #[serde(flatten)]
    customer: CustomerView,
    addresses: Vec<AddressCount>,
    people: Vec<Person>,
    months: Vec<Month>,
    /// The names internal mail was searched for.
    mentioned_as: Vec<String>,
    /// The internal mail (visit and phone reports) with one of them, newest
    /// first; `None` when the index could not be searched.
    mentions: Option<Vec<Mention>>,
}

pub fn run(global: &GlobalArgs, args: &CustomersArgs) -> Result<i32> {
    let archive = super::archive(global)?;
    let config = super::config(global, Some(&archive))?;
    let classifier = Classifier::new(&config);
    let format = args.format.resolve();
    // With a query, the matching rows; the scan itself needs only the store.
    let (store, only) = super::store_and_matches(global, &archive, &args.query, args.utc)?;
    super::warn_unread_signatures(global, &store)?;
    if let Some(key) = &args.show {
        return show(
            &archive,
            &store,
            &classifier,
            key,
            only.as_ref(),
            ShowOptions {
                format,
                utc: args.utc,
                quiet: global.quiet,
            },
        );
    }
    let mut list = customers::summaries(&store, &classifier, only.as_ref())?;
    sort(&mut list, args.sort);
    let limit = args.limit.or(if output::stdout_is_terminal() {
        Some(50)
    } else {
        None
    });
    let found = !list.is_empty();
    if let Some(l) = limit {
        list.truncate(l);
    }
    // A reader that stops early does not change what the status says.
    output::unless_broken_pipe(print_list(&list, format, args.utc))?;
    Ok(if found { 0 } else { 1 })
}

/// Sorts customers: last contact newest first, most messages first, or by
/// name (customers without a name after those with one); ties by key.
pub fn sort(list: &mut [CustomerSummary], by: CustomerSort) {
    match by {
        CustomerSort::Last => list.sort_by(|a, b| {
            b.last_contact
                .cmp(&a.last_contact)
                .then_with(|| a.key.cmp(&b.key))
        }),
        CustomerSort::Messages => {
            list.sort_by(|a, b| b.messages.cmp(&a.messages).then_with(|| a.key.cmp(&b.key)))
        }
        CustomerSort::Name => list.sort_by(|a, b| {
            a.name
                .is_empty()
                .cmp(&b.name.is_empty())
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn short(ts: Option<i64>, utc: bool) -> String {
    ts.map_or_else(
        || "-".to_string(),
        |t| {
            output::short_date(t, utc)
                .get(..10)
                .unwrap_or("-")
                .to_string()
        },
    )
}

fn staff_label(staff: &[StaffView]) -> String {
    staff
        .iter()
        .map(|s| {
            if s.name.is_empty() {
                s.address.clone()
            } else {
                s.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_list(list: &[CustomerSummary], format: ListFormat, utc: bool) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        ListFormat::Json => {
            let views: Vec<CustomerView> = list.iter().map(|s| CustomerView::new(s, utc)).collect();
            serde_json::to_writer(&mut out, &views)?;
            writeln!(out)?;
        }
        ListFormat::Jsonl => {
            for s in list {
                serde_json::to_writer(&mut out, &CustomerView::new(s, utc))?;
                writeln!(out)?;
            }
        }
        ListFormat::Csv => {
            writeln!(
                out,
                "key,kind,name,messages,inbound,outbound,threads,first_contact,last_contact,last_inbound,last_outbound,staff,organisation"
            )?;
            for s in list {
                let v = CustomerView::new(s, utc);
                let staff: Vec<&str> = v.staff.iter().map(|s| s.address.as_str()).collect();
                let fields = [
                    v.key.clone(),
                    match v.kind {
                        KeyKind::Domain => "domain".into(),
                        KeyKind::Address => "address".into(),
                    },
                    sanitize(&v.name),
                    v.messages.to_string(),
                    v.inbound.to_string(),
                    v.outbound.to_string(),
                    v.threads.to_string(),
                    v.first_contact,
                    v.last_contact,
                    v.last_inbound.unwrap_or_default(),
                    v.last_outbound.unwrap_or_default(),
                    staff.join(" "),
                    sanitize(v.organisation.as_deref().unwrap_or_default()),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        ListFormat::Table | ListFormat::Auto => {
            let mut t = output::plain_table(vec![
                "customer", "name", "messages", "threads", "first", "last", "last in", "last out",
                "staff",
            ]);
            for s in list {
                let v = CustomerView::new(s, utc);
                t.add_row(vec![
                    truncate_columns(&sanitize(&s.key), 32),
                    truncate_columns(&sanitize(&s.name), 24),
                    s.messages.to_string(),
                    s.threads.to_string(),
                    short(Some(s.first_contact), utc),
                    short(Some(s.last_contact), utc),
                    short(s.last_inbound, utc),
                    short(s.last_outbound, utc),
                    truncate_columns(&sanitize(&staff_label(&v.staff)), 30),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        ListFormat::Text => {
            for s in list {
                writeln!(
                    out,
                    "{}  {}  {} messages  {} threads  {}",
                    short(Some(s.last_contact), utc),
                    sanitize(&s.key),
                    s.messages,
                    s.threads,
                    sanitize(&s.name)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// How `--show` prints.
struct ShowOptions {
    format: ListFormat,
    utc: bool,
    quiet: bool,
}

fn show(
    archive: &crate::archive::Archive,
    store: &Store,
    classifier: &Classifier,
    input: &str,
    only: Option<&HashSet<i64>>,
    options: ShowOptions,
) -> Result<i32> {
    let ShowOptions { format, utc, quiet } = options;
    if format == ListFormat::Csv {
        return Err(ExitError {
            code: 2,
            message: "--show prints table, text, json or jsonl, not csv".into(),
        }
        .into());
    }
    if let Some(why) = classifier.not_a_customer(input) {
        eprintln!("kura: {}", sanitize(&why));
        return Ok(1);
    }
    let Some(key) = classifier.key_from_input(input) else {
        return Err(ExitError {
            code: 2,
            message: format!(
                "{} is not a customer key, address or domain",
                sanitize(input)
            ),
        }
        .into());
    };
    let Some(d) = customers::detail(store, classifier, &key, only)? else {
        let among = match only {
            Some(_) => " among the messages the query matches",
            None => "",
        };
        eprintln!("kura: no customer {}{among}", sanitize(&key));
        // A prospect no mail was exchanged with yet may be in reports (a
        // hint, so not under --quiet; with a query, the customer may well
        // have mail outside it).
        if !quiet
            && only.is_none()
            && let Some(names) = classifier.configured_names(&key)
            && let Ok(hits) = super::mentions(archive, classifier, names)
            && !hits.is_empty()
        {
            let said = match hits.len() {
                1 => "1 internal message mentions".to_string(),
                n => format!("{n} internal messages mention"),
            };
            eprintln!(
                "kura: {said} it by its customer_names: kura search history:{}",
                sanitize(&key)
            );
        }
        return Ok(1);
    };
    let mut view = detail_view(&d, utc);
    // The customer is the store's; its mentions are the index's: without
    // an index to search, the rest is still shown.
    match super::mentions(archive, classifier, &d.mentioned_as) {
        Ok(hits) => {
            let mut mentions = Vec::new();
            for hit in hits
                .iter()
                .rev()
                .filter(|h| only.is_none_or(|o| o.contains(&h.id)))
            {
                if let Some(m) = store.message_view(hit.id, utc)? {
                    mentions.push(Mention {
                        message_id: m.message_id,
                        thread: m.thread,
                        date: m.date,
                        from: m.from,
                        subject: m.subject,
                    });
                }
            }
            view.mentions = Some(mentions);
        }
        Err(e) => eprintln!("kura: mentions not searched: {e:#}"),
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        ListFormat::Json | ListFormat::Jsonl => {
            serde_json::to_writer(&mut out, &view)?;
            writeln!(out)?;
        }
        _ => write_detail(&mut out, &view, format == ListFormat::Table)?,
    }
    out.flush()?;
    Ok(0)
}

fn detail_view(d: &CustomerDetail, utc: bool) -> DetailView {
    DetailView {
        customer: CustomerView::new(&d.summary, utc),
        addresses: d
            .addresses
            .iter()
            .map(|(address, name, messages)| AddressCount {
                address: address.clone(),
                name: name.clone(),
                messages: *messages,
            })
            .collect(),
        people: d
            .people
            .iter()
            .map(|(name, address, count)| Person {
                name: name.clone(),
                address: address.clone(),
                count: *count,
            })
            .collect(),
        months: customers::monthly(&d.messages.iter().map(|m| m.date).collect::<Vec<_>>(), utc)
            .into_iter()
            .map(|(month, messages)| Month { month, messages })
            .collect(),
        mentioned_as: d.mentioned_as.clone(),
        mentions: None,
    }
}

/// Mentions listed by the text and table formats (JSON lists all).
const MENTIONS_SHOWN: usize = 10;

fn write_detail(out: &mut impl Write, v: &DetailView, table: bool) -> Result<()> {
    let c = &v.customer;
    let date = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "customer:      {}", sanitize(&c.key))?;
    writeln!(out, "name:          {}", sanitize(&c.name))?;
    if let Some(org) = c.organisation.as_ref().filter(|o| **o != c.name) {
        writeln!(out, "signs as:      {}", sanitize(org))?;
    }
    writeln!(
        out,
        "messages:      {} in {} threads",
        c.messages, c.threads
    )?;
    writeln!(out, "first contact: {}", c.first_contact)?;
    writeln!(out, "last contact:  {}", c.last_contact)?;
    writeln!(out, "last inbound:  {}", date(&c.last_inbound))?;
    writeln!(out, "last outbound: {}", date(&c.last_outbound))?;
    let section = |out: &mut dyn Write,
                   title: &str,
                   header: [&str; 3],
                   rows: Vec<[String; 3]>|
     -> std::io::Result<()> {
        writeln!(out, "\n{title}:")?;
        if table {
            let mut t = output::plain_table(header.to_vec());
            for r in rows {
                t.add_row(r.to_vec());
            }
            writeln!(out, "{t}")
        } else {
            for r in rows {
                writeln!(out, "  {}", r.join("  "))?;
            }
            Ok(())
        }
    };
    section(
        out,
        "addresses",
        ["address", "messages", "name"],
        v.addresses
            .iter()
            .map(|a| {
                [
                    sanitize(&a.address),
                    a.messages.to_string(),
                    sanitize(&a.name),
                ]
            })
            .collect(),
    )?;
    section(
        out,
        "people",
        ["name", "address", "count"],
        v.people
            .iter()
            .map(|p| [sanitize(&p.name), sanitize(&p.address), p.count.to_string()])
            .collect(),
    )?;
    section(
        out,
        "staff",
        ["address", "threads", "name"],
        c.staff
            .iter()
            .map(|s| {
                [
                    sanitize(&s.address),
                    s.threads.to_string(),
                    sanitize(&s.name),
                ]
            })
            .collect(),
    )?;
    if !v.mentioned_as.is_empty() {
        let names: Vec<String> = v.mentioned_as.iter().map(|n| sanitize(n)).collect();
        match &v.mentions {
            None => writeln!(
                out,
                "\nmentioned in internal mail as {}: not searched",
                names.join(", ")
            )?,
            Some(mentions) => {
                let n = mentions.len();
                let shown = n.min(MENTIONS_SHOWN);
                let more = if shown < n {
                    format!(" (the latest {shown}; --format json lists all)")
                } else {
                    String::new()
                };
                section(
                    out,
                    &format!(
                        "mentioned in internal mail as {}: {n} message{}{more}",
                        names.join(", "),
                        if n == 1 { "" } else { "s" },
                    ),
                    ["date", "from", "subject"],
                    mentions[..shown]
                        .iter()
                        .map(|m| {
                            let from = if m.from.name.is_empty() {
                                &m.from.address
                            } else {
                                &m.from.name
                            };
                            [
                                m.date.get(..10).unwrap_or(&m.date).to_string(),
                                sanitize(from),
                                truncate_columns(&sanitize(&m.subject), 60),
                            ]
                        })
                        .collect(),
                )?;
            }
        }
    }
    section(
        out,
        "months",
        ["month", "messages", ""],
        v.months
            .iter()
            .map(|m| [m.month.clone(), m.messages.to_string(), String::new()])
            .collect(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("acme-corp.com"), "acme-corp.com");
        assert_eq!(csv_field("ACME Corp, Inc."), "\"ACME Corp, Inc.\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("協和商事 田中"), "協和商事 田中");
    }
}
