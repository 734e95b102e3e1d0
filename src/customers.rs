//! Who is a customer: customer keys of addresses, the direction of a message,
//! and per-customer summaries computed from the store in one pass.
//!
//! - An address at an **internal** domain (configured, see [`crate::config`];
//!   subdomains included) or the shared address is staff, never a customer.
//! - Any other address belongs to a customer **keyed** by its registrable
//!   domain (`tokyo.kyowa-shoji.co.jp` → `kyowa-shoji.co.jp`), or by the whole
//!   address for free-mail and carrier domains (`gmail.com`, `docomo.ne.jp`, ...),
//!   where one domain holds many unrelated people.
//! - A message is **inbound** when its From is external, **outbound** when its
//!   From is internal and some To/Cc is external, **internal** otherwise (a
//!   visit report sent to the shared address). But a message from staff to
//!   staff whose Reply-To is a customer's is inbound from that address, its
//!   **sender**: a web form's mail (`From: form@` the company, `Reply-To:` the
//!   customer who filled it in), or a list's that rewrote an outside From.
//!
//! Only From, To and Cc count, and the Reply-To a message is sent on behalf
//! of (not the addresses of an attached message). [`scan`] walks every
//! message's addresses once, in two sequential SQLite reads; [`summaries`]
//! and [`detail`] aggregate it, [`messages_of`] lists one customer's messages
//! (for an export of its history), and other views can run [`scan`] with
//! their own visitor.

use crate::config::Config;
use crate::store::{ROLE_CC, ROLE_FROM, ROLE_REPLY_TO, ROLE_TO, Store};
use anyhow::Result;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Free-mail and carrier domains, where the whole address is the customer key
/// (extended by `free_mail_domains` in the configuration).
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.co.jp",
    "ymail.ne.jp",
    "outlook.jp",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.jp",
    "live.jp",
    "icloud.com",
    "me.com",
    "mac.com",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "ymobile.ne.jp",
    "disney.ne.jp",
    "nifty.com",
    "biglobe.ne.jp",
    "so-net.ne.jp",
    "ocn.ne.jp",
];

/// Country-code domains under which organisations register at the third
/// level: `(top-level domain, second-level labels)`. A small table, not the
/// public suffix list: enough for the business mail a Japanese company gets.
const SECOND_LEVEL: &[(&str, &[&str])] = &[
    (
        "jp",
        &["co", "or", "ne", "ac", "go", "gr", "ed", "lg", "ad"],
    ),
    (
        "uk",
        &["co", "org", "ac", "gov", "ltd", "plc", "me", "net", "nhs"],
    ),
    ("au", &["com", "net", "org", "edu", "gov", "asn", "id"]),
    ("nz", &["co", "org", "net", "ac", "govt", "school", "geek"]),
    ("sg", &["com", "org", "net", "edu", "gov"]),
    ("kr", &["co", "or", "ne", "ac", "go", "re", "pe"]),
    ("tw", &["com", "org", "net", "edu", "gov", "idv"]),
    ("cn", &["com", "net", "org", "edu", "gov", "ac"]),
    ("hk", &["com", "org", "net", "edu", "gov", "idv"]),
    ("mo", &["com", "org", "net", "edu", "gov"]),
    ("my", &["com", "net", "org", "edu", "gov"]),
    ("ph", &["com", "net", "org", "edu", "gov"]),
    ("vn", &["com", "net", "org", "edu", "gov"]),
    ("th", &["co", "or", "ac", "go", "in", "net"]),
    ("id", &["co", "or", "ac", "go", "web", "net"]),
    (
        "in",
        &["co", "net", "org", "firm", "gen", "ind", "ac", "gov"],
    ),
    ("za", &["co", "org", "net", "gov", "ac"]),
    ("br", &["com", "net", "org", "gov", "edu"]),
    ("mx", &["com", "org", "gob", "edu", "net"]),
    ("ar", &["com", "org", "net", "gob", "edu"]),
    ("tr", &["com", "org", "net", "gen", "edu", "gov"]),
    ("il", &["co", "org", "ac", "net", "gov"]),
];

/// The registrable part of a domain: the last two labels, or three under a
/// known second-level suffix (`tokyo.kyowa-shoji.co.jp` → `kyowa-shoji.co.jp`,
/// `sales.acme.co.uk` → `acme.co.uk`, `mail.acme.com` → `acme.com`).
pub fn registrable_domain(domain: &str) -> &str {
    let domain = domain.trim_end_matches('.');
    let labels: Vec<&str> = domain.rsplitn(4, '.').collect();
    // labels: [tld, second, third, rest...] from the right.
    let keep = match labels.as_slice() {
        [tld, second, _, ..]
            if SECOND_LEVEL
                .iter()
                .any(|(t, s)| t.eq_ignore_ascii_case(tld) && s.contains(second)) =>
        {
            3
        }
        _ => 2,
    };
    let mut start = domain.len();
    let mut seen = 0;
    for (i, b) in domain.bytes().enumerate().rev() {
        if b == b'.' {
            seen += 1;
            if seen == keep {
                start = i + 1;
                break;
            }
        }
    }
    if seen < keep {
        domain
    } else {
        &domain[start..]
    }
}

/// The domain of an address (after the last `@`), or `None` when it has none.
pub fn domain_of(address: &str) -> Option<&str> {
    let (local, domain) = address.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// A customer as typed (a key, an address or a domain: `--show`,
/// `--customer`): trimmed, in lower case, without the `<>` of an address
/// copied from a header or the `@` before a domain.
pub fn typed_customer(input: &str) -> String {
    let s = input.trim();
    let s = s
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(s);
    s.trim().trim_start_matches('@').to_lowercase()
}

/// True when `domain` is `parent` or a subdomain of it (both lower case).
fn within(domain: &str, parent: &str) -> bool {
    domain == parent
        || (domain.len() > parent.len()
            && domain.ends_with(parent)
            && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.')
}

/// The direction of a message, from the company's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From an external address (or from staff to staff on behalf of an
    /// external Reply-To: a web form's mail).
    Inbound,
    /// From an internal address to at least one external To/Cc.
    Outbound,
    /// From an internal address to internal addresses only.
    Internal,
}

impl Direction {
    /// The direction named `name` (as [`Direction::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Direction> {
        [Direction::Inbound, Direction::Outbound, Direction::Internal]
            .into_iter()
            .find(|d| d.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
}

/// Whether a customer key is a domain or a single (free-mail) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    Domain,
    Address,
}

/// Tells staff from customers, by the configuration.
#[derive(Debug, Clone)]
pub struct Classifier {
    internal: Vec<String>,
    shared: Option<String>,
    free_mail: HashSet<String>,
    /// `customer_names` of the configuration, by customer key.
    names: HashMap<String, Vec<String>>,
    /// `form_senders`: addresses and domains.
    form_senders: Vec<String>,
}

impl Classifier {
    /// The classifier of a configuration.
    pub fn new(config: &Config) -> Classifier {
        let mut free_mail: HashSet<String> =
            FREE_MAIL_DOMAINS.iter().map(|d| d.to_string()).collect();
        free_mail.extend(config.extra_free_mail_domains.value.iter().cloned());
        let mut c = Classifier {
            internal: config.internal_domains.value.clone(),
            shared: config.shared_address.value.clone(),
            free_mail,
            names: HashMap::new(),
            form_senders: config.form_senders.value.clone(),
        };
        for (key, names) in &config.customer_names.value {
            if let Some(k) = c.key_from_input(key) {
                c.names.entry(k).or_default().extend(names.iter().cloned());
            }
        }
        c
    }

    /// The names the configuration gives customer `key` (`customer_names`),
    /// if any: the first is its name, each a form mail mentions it by.
    pub fn configured_names(&self, key: &str) -> Option<&[String]> {
        self.names.get(key).map(Vec::as_slice)
    }

    /// True when internal domains are configured (else every address but the
    /// shared one is a customer's and every message is inbound).
    pub fn has_internal(&self) -> bool {
        !self.internal.is_empty()
    }

    /// Refuses `what` (an `is:` term, a command) when the configuration
    /// names none of the company's own addresses: no direction can be told.
    pub fn require_company(&self, what: &str) -> anyhow::Result<()> {
        if !self.has_internal() && self.shared.is_none() {
            anyhow::bail!(
                "{what} needs to know the company's own addresses: set internal_domains (and shared_address) in the configuration (see `kura config`)"
            );
        }
        Ok(())
    }

    /// The shared address, if configured.
    pub fn shared_address(&self) -> Option<&str> {
        self.shared.as_deref()
    }

    /// True for the shared address.
    pub fn is_shared(&self, address: &str) -> bool {
        self.shared
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(address.trim()))
    }

    /// True for staff: an address at an internal domain or a subdomain of
    /// one, or the shared address.
    pub fn is_internal(&self, address: &str) -> bool {
        if self.is_shared(address) {
            return true;
        }
        let Some(domain) = domain_of(address) else {
            return false;
        };
        let domain = domain.to_ascii_lowercase();
        self.internal.iter().any(|d| within(&domain, d))
    }

    /// True for an address of a web form service outside (`form_senders`:
    /// the address, or one at the domain or a subdomain of it).
    pub fn is_form_sender(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        let Some(domain) = domain_of(&address) else {
            return false;
        };
        self.form_senders
            .iter()
            .any(|s| *s == address || (!s.contains('@') && within(domain, s)))
    }

    /// True for a free-mail or carrier domain (or a subdomain of one).
    pub fn is_free_mail(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        let mut d = domain.as_str();
        loop {
            if self.free_mail.contains(d) {
                return true;
            }
            match d.split_once('.') {
                Some((_, rest)) if rest.contains('.') => d = rest,
                _ => return false,
            }
        }
    }

    /// The customer key of an address: `None` for staff, a form service and
    /// text that is not an address; the whole address (lower case) at a
    /// free-mail domain; else the registrable domain.
    pub fn customer_key(&self, address: &str) -> Option<(String, KeyKind)> {
        let address = address.trim();
        let domain = domain_of(address)?;
        if self.is_internal(address) || self.is_form_sender(address) {
            return None;
        }
        if self.is_free_mail(domain) {
            return Some((address.to_lowercase(), KeyKind::Address));
        }
        Some((
            registrable_domain(&domain.to_lowercase()).to_string(),
            KeyKind::Domain,
        ))
    }

    /// Why `input` (a key, address or domain as a user typed it) names no
    /// customer, when it cannot: a staff address or domain, or a free-mail
    /// domain, whose addresses are each a customer of their own.
    pub fn not_a_customer(&self, input: &str) -> Option<String> {
        let typed = typed_customer(input);
        if typed.is_empty() {
            return None;
        }
        let address = match typed.contains('@') {
            true => typed.clone(),
            false => format!("staff@{typed}"),
        };
        if self.is_internal(&address) {
            return Some(format!("{typed} is staff, not a customer"));
        }
        if self.is_form_sender(&address) {
            return Some(format!(
                "{typed} is a web form service (form_senders): its mail is the customer's who filled the form in (its Reply-To)"
            ));
        }
        (!typed.contains('@') && self.is_free_mail(&typed)).then(|| {
            format!(
                "{typed} is a free-mail or carrier domain: each of its addresses is a customer of its own \
                 (customer:{typed} finds all their mail)"
            )
        })
    }

    /// The key a user typed (`--show`): an address becomes its customer key, a
    /// domain its registrable domain (or itself, for a free-mail domain: no
    /// customer has it as key, so nothing is found).
    pub fn key_from_input(&self, input: &str) -> Option<String> {
        let s = typed_customer(input);
        if s.contains('@') {
            return self.customer_key(&s).map(|(k, _)| k);
        }
        if s.is_empty() {
            return None;
        }
        if self.is_free_mail(&s) {
            return Some(s);
        }
        Some(registrable_domain(&s).to_string())
    }

    /// True for an address outside the company: an address (with a
    /// domain) that is not staff's; a form service's too.
    pub fn is_outside(&self, address: &str) -> bool {
        domain_of(address.trim()).is_some() && !self.is_internal(address)
    }

    /// What the direction rule asks of `address`.
    fn party(&self, address: &str) -> Party {
        Party {
            staff: self.is_internal(address),
            outside: self.is_outside(address),
            customer: self.customer_key(address).is_some(),
            form: self.is_form_sender(address),
        }
    }

    /// The direction of a message with sender `from`, To/Cc `recipients`
    /// and Reply-To `reply_to` (see [`Direction`]: one rule, that of the scan).
    pub fn direction<'a>(
        &self,
        from: Option<&'a str>,
        recipients: impl IntoIterator<Item = &'a str>,
        reply_to: impl IntoIterator<Item = &'a str>,
    ) -> Direction {
        direction_of(from, recipients, reply_to, |a| self.party(a)).0
    }
}

/// What the direction rule asks of an address ([`direction_of`]).
#[derive(Debug, Clone, Copy, Default)]
struct Party {
    /// Staff ([`Classifier::is_internal`]).
    staff: bool,
    /// Outside the company ([`Classifier::is_outside`]): a form service too.
    outside: bool,
    /// A customer's ([`Classifier::customer_key`]): outside, and no form
    /// service's.
    customer: bool,
    /// A web form service's ([`Classifier::is_form_sender`]).
    form: bool,
}

/// The direction of a message by its From, To/Cc and Reply-To, as
/// [`Direction`] tells it, and the customer's Reply-To it was sent on
/// behalf of, if any (its sender then). The one rule every view follows:
/// the scan ([`emit`]) with interned addresses, [`Classifier::direction`]
/// with addresses as text; `party` says what an address is.
fn direction_of<A: Copy>(
    from: Option<A>,
    to_cc: impl IntoIterator<Item = A>,
    reply_to: impl IntoIterator<Item = A>,
    party: impl Fn(A) -> Party,
) -> (Direction, Option<A>) {
    let from = from.map(&party).unwrap_or_default();
    let mut reply_to = reply_to.into_iter();
    // The first Reply-To that is a customer's (of those not looked at yet).
    let mut customer_reply_to = || reply_to.find(|&a| party(a).customer);
    // A form service's mail (one outside, or the company's own form listed
    // in `form_senders`) is its Reply-To's, whoever else it goes to (a copy
    // to the customer who filled the form in).
    let form_for = if from.form { customer_reply_to() } else { None };
    if form_for.is_some() || !from.staff {
        (Direction::Inbound, form_for)
    } else if to_cc.into_iter().any(|a| party(a).outside) {
        (Direction::Outbound, None)
    } else {
        match customer_reply_to() {
            Some(sender) => (Direction::Inbound, Some(sender)),
            None => (Direction::Internal, None),
        }
    }
}

/// The rows of the messages from staff sent on behalf of a customer's
/// Reply-To (inbound: [`Direction::Inbound`]), for the views that tell
/// directions by From, To and Cc alone (the index has no Reply-To terms).
/// Reads only the messages that have a Reply-To.
pub fn sent_on_behalf(store: &Store, classifier: &Classifier) -> Result<Vec<i64>> {
    let mut q = store.conn.prepare(
        "SELECT message, role, address FROM addresses
         WHERE message IN (SELECT message FROM addresses WHERE role = ?1)
         ORDER BY message, role, position",
    )?;
    let mut rows = q.query([ROLE_REPLY_TO])?;
    let mut out = Vec::new();
    let mut current: Option<i64> = None;
    let mut headers: [Vec<String>; 4] = Default::default();
    let mut flush = |row: Option<i64>, headers: &mut [Vec<String>; 4]| {
        let [from, to, cc, reply_to] = headers;
        let from = from.first().map(String::as_str);
        if let Some(row) = row
            && from.is_some_and(|f| classifier.is_internal(f))
            && classifier.direction(
                from,
                to.iter().chain(cc.iter()).map(String::as_str),
                reply_to.iter().map(String::as_str),
            ) == Direction::Inbound
        {
            out.push(row);
        }
        headers.iter_mut().for_each(Vec::clear);
    };
    while let Some(r) = rows.next()? {
        let message: i64 = r.get(0)?;
        if current != Some(message) {
            flush(current, &mut headers);
            current = Some(message);
        }
        let role: i64 = r.get(1)?;
        if let Some(list) = usize::try_from(role).ok().and_then(|i| headers.get_mut(i)) {
            list.push(r.get(2)?);
        }
    }
    flush(current, &mut headers);
    Ok(out)
}

/// Index of an address in a [`Scan`].
pub type AddrId = u32;
/// Index of a customer key in a [`Scan`].
pub type CustomerId = u32;

/// An address seen by the scan.
#[derive(Debug, Clone)]
pub struct AddressInfo {
    pub address: String,
    /// Its customer, `None` for staff (and non-addresses).
    pub customer: Option<CustomerId>,
    pub internal: bool,
    pub shared: bool,
    /// Outside the company ([`Classifier::is_outside`]).
    pub outside: bool,
    /// A web form service's (`form_senders`).
    pub form: bool,
    /// Display names used with it, with the number of header fields.
    pub names: Vec<(String, u32)>,
}

impl AddressInfo {
    /// What the direction rule asks of the address.
    fn party(&self) -> Party {
        Party {
            staff: self.internal,
            outside: self.outside,
            customer: self.customer.is_some(),
            form: self.form,
        }
    }

    /// The display name used most often with the address ("" when none).
    pub fn name(&self) -> &str {
        most_used(&self.names).unwrap_or("")
    }
}

/// The name with the highest count (the first such on a tie), ignoring "".
fn most_used(names: &[(String, u32)]) -> Option<&str> {
    let mut best: Option<&(String, u32)> = None;
    for n in names.iter().filter(|n| !n.0.is_empty()) {
        if best.is_none_or(|b| n.1 > b.1) {
            best = Some(n);
        }
    }
    best.map(|b| b.0.as_str())
}

/// The scan's map of addresses is looked up once per header field: it uses
/// rustc's fast hash. Its keys come from the archive; a poor spread would
/// only cost time.
type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Addresses and customer keys interned by a scan.
#[derive(Debug, Default)]
pub struct Scan {
    pub addresses: Vec<AddressInfo>,
    /// Customer keys and their kind, by [`CustomerId`].
    pub customers: Vec<(String, KeyKind)>,
    by_address: FxMap<Box<[u8]>, AddrId>,
    by_key: HashMap<String, CustomerId>,
}

impl Scan {
    fn intern(&mut self, classifier: &Classifier, raw: &[u8]) -> AddrId {
        if let Some(&id) = self.by_address.get(raw) {
            return id;
        }
        let address = String::from_utf8_lossy(raw);
        let customer = classifier.customer_key(&address).map(|(key, kind)| {
            let next = self.customers.len() as CustomerId;
            *self.by_key.entry(key.clone()).or_insert_with(|| {
                self.customers.push((key, kind));
                next
            })
        });
        let id = self.addresses.len() as AddrId;
        self.addresses.push(AddressInfo {
            internal: classifier.is_internal(&address),
            shared: classifier.is_shared(&address),
            outside: classifier.is_outside(&address),
            form: classifier.is_form_sender(&address),
            address: address.into_owned(),
            customer,
            names: Vec::new(),
        });
        self.by_address.insert(raw.into(), id);
        id
    }

    /// Counts one header field naming address `id` with display name `name`.
    fn count_name(&mut self, id: AddrId, name: &[u8]) {
        if let Some(info) = self.addresses.get_mut(id as usize) {
            match info.names.iter_mut().find(|n| n.0.as_bytes() == name) {
                Some(n) => n.1 += 1,
                None => info
                    .names
                    .push((String::from_utf8_lossy(name).into_owned(), 1)),
            }
        }
    }

    /// The id of a customer key, if the scan saw it.
    pub fn customer_id(&self, key: &str) -> Option<CustomerId> {
        self.by_key.get(key).copied()
    }

    /// The key of a customer id.
    pub fn key(&self, id: CustomerId) -> &str {
        self.customers
            .get(id as usize)
            .map_or("", |(k, _)| k.as_str())
    }

    /// An address by id.
    pub fn address(&self, id: AddrId) -> Option<&AddressInfo> {
        self.addresses.get(id as usize)
    }
}

/// One message as the scan hands it to its visitor.
#[derive(Debug)]
pub struct ScannedMessage<'a> {
    /// Message row id.
    pub row: i64,
    /// Unix seconds.
    pub date: i64,
    pub thread: i64,
    pub direction: Direction,
    /// The sender's address, if the message has one: its From, or the
    /// Reply-To it was sent on behalf of (see [`Direction::Inbound`]).
    pub from: Option<AddrId>,
    /// Every address of From/To/Cc as (role, address), in header order, and
    /// last the Reply-To sender of a message sent on its behalf.
    pub addresses: &'a [(i64, AddrId)],
    /// The customers among them, each once, in order of appearance.
    pub customers: &'a [CustomerId],
    /// The staff among them, each once (not the shared address).
    pub staff: &'a [AddrId],
}

/// Walks every message's From/To/Cc (and Reply-To) once, in row order,
/// calling `visit` for each message with addresses. Two sequential reads
/// (the messages' dates and threads from a covering index, then the
/// addresses table in key order), no per-message query.
pub fn scan(
    store: &Store,
    classifier: &Classifier,
    mut visit: impl FnMut(&Scan, &ScannedMessage<'_>),
) -> Result<Scan> {
    let conn = &store.conn;
    // (date, thread) of every message by row id (row ids are dense).
    let max_id: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
        r.get(0)
    })?;
    let slots = usize::try_from(max_id).unwrap_or(0).saturating_add(1);
    // A message's slot holds (date, thread); thread -1: no such message.
    let mut meta: Vec<(i64, i64)> = vec![(0, -1); slots];
    {
        let mut q = conn.prepare("SELECT id, date, thread FROM messages")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if let Some(slot) = usize::try_from(id).ok().and_then(|i| meta.get_mut(i)) {
                *slot = (r.get(1)?, r.get(2)?);
            }
        }
    }
    let mut sc = Scan::default();
    let mut stmt = conn.prepare(
        "SELECT message, role, name, address FROM addresses WHERE role <= ?1
         ORDER BY message, role, position",
    )?;
    let mut rows = stmt.query([ROLE_REPLY_TO])?;
    let mut current: i64 = i64::MIN;
    let mut addrs: Vec<(i64, AddrId)> = Vec::new();
    let mut scratch = Scratch::default();
    // The Reply-To names of the message read, counted for the one it is
    // sent on behalf of only: another Reply-To names no one in the views.
    let mut reply_names: Vec<(AddrId, Vec<u8>)> = Vec::new();
    let mut flush = |sc: &mut Scan,
                     row: i64,
                     addrs: &[(i64, AddrId)],
                     scratch: &mut Scratch,
                     reply_names: &mut Vec<(AddrId, Vec<u8>)>| {
        let slot = usize::try_from(row).ok().and_then(|i| meta.get(i));
        if let Some(&(date, thread)) = slot.filter(|m| m.1 >= 0)
            && let Some(sender) = emit(sc, row, date, thread, addrs, scratch, &mut visit)
            && let Some((_, name)) = reply_names.iter().find(|n| n.0 == sender)
        {
            sc.count_name(sender, name);
        }
        reply_names.clear();
    };
    while let Some(r) = rows.next()? {
        let message: i64 = r.get(0)?;
        if message != current {
            if !addrs.is_empty() {
                flush(&mut sc, current, &addrs, &mut scratch, &mut reply_names);
            }
            addrs.clear();
            current = message;
        }
        let address = r.get_ref(3)?.as_bytes()?;
        if address.is_empty() {
            continue;
        }
        let role: i64 = r.get(1)?;
        let id = sc.intern(classifier, address);
        let name = r.get_ref(2)?.as_bytes()?;
        if role == ROLE_REPLY_TO {
            reply_names.push((id, name.to_vec()));
        } else {
            sc.count_name(id, name);
        }
        addrs.push((role, id));
    }
    if !addrs.is_empty() {
        flush(&mut sc, current, &addrs, &mut scratch, &mut reply_names);
    }
    drop(rows);
    Ok(sc)
}

/// Buffers reused from message to message.
#[derive(Default)]
struct Scratch {
    customers: Vec<CustomerId>,
    staff: Vec<AddrId>,
}

/// Hands message `row` to `visit`; returns the Reply-To it is sent on
/// behalf of, if any.
fn emit(
    sc: &Scan,
    row: i64,
    date: i64,
    thread: i64,
    addrs: &[(i64, AddrId)],
    scratch: &mut Scratch,
    visit: &mut impl FnMut(&Scan, &ScannedMessage<'_>),
) -> Option<AddrId> {
    let info = |id: AddrId| sc.addresses.get(id as usize);
    // In role order: From, To and Cc, then Reply-To.
    let (headers, reply_to) = addrs.split_at(addrs.partition_point(|a| a.0 < ROLE_REPLY_TO));
    if headers.is_empty() {
        return None;
    }
    let from = headers
        .iter()
        .find(|(role, _)| *role == ROLE_FROM)
        .map(|(_, id)| *id);
    let (direction, on_behalf) = direction_of(
        from,
        headers
            .iter()
            .filter(|a| a.0 == ROLE_TO || a.0 == ROLE_CC)
            .map(|a| a.1),
        reply_to.iter().map(|a| a.1),
        |id| info(id).map(AddressInfo::party).unwrap_or_default(),
    );
    let with_sender: Vec<(i64, AddrId)>;
    let addresses = match on_behalf {
        Some(id) => {
            with_sender = headers
                .iter()
                .copied()
                .chain([(ROLE_REPLY_TO, id)])
                .collect();
            &with_sender[..]
        }
        None => headers,
    };
    // A form's From is no one on the staff.
    let form = on_behalf.and(from);
    scratch.customers.clear();
    scratch.staff.clear();
    for &(_, id) in addresses {
        let Some(a) = info(id) else { continue };
        if let Some(c) = a.customer {
            if !scratch.customers.contains(&c) {
                scratch.customers.push(c);
            }
        } else if a.internal && !a.shared && !scratch.staff.contains(&id) && Some(id) != form {
            scratch.staff.push(id);
        }
    }
    visit(
        sc,
        &ScannedMessage {
            row,
            date,
            thread,
            direction,
            from: on_behalf.or(from),
            addresses,
            customers: &scratch.customers,
            staff: &scratch.staff,
        },
    );
    on_behalf
}

/// A customer over a set of messages.
#[derive(Debug, Clone)]
pub struct CustomerSummary {
    pub key: String,
    pub kind: KeyKind,
    /// The name it goes by: the first of `customer_names` in the
    /// configuration; else, for a domain, the organisation its mail signs
    /// with, else a company-like display name; else the most used display
    /// name (for a free-mail address, before the organisation).
    pub name: String,
    /// The organisation most of its mail signs with ([`crate::signature`]).
    pub organisation: Option<String>,
    /// Messages with the customer in From, To or Cc.
    pub messages: usize,
    /// Messages from the customer.
    pub inbound: usize,
    /// Messages from staff with the customer in To/Cc.
    pub outbound: usize,
    /// Threads of those messages.
    pub threads: usize,
    /// Unix seconds of the first and last of those messages.
    pub first_contact: i64,
    pub last_contact: i64,
    /// Last message from the customer.
    pub last_inbound: Option<i64>,
    /// Last message from staff to the customer.
    pub last_outbound: Option<i64>,
    /// Staff seen in the customer's threads: (address, name, number of those
    /// threads they appear in); most threads first.
    pub staff: Vec<(String, String, usize)>,
}

/// One customer in detail (`kura customers --show`).
#[derive(Debug, Clone)]
pub struct CustomerDetail {
    pub summary: CustomerSummary,
    /// The customer's addresses: (address, most used name, messages), most messages first.
    pub addresses: Vec<(String, String, usize)>,
    /// The people: (name, address, header fields with that name), most first.
    pub people: Vec<(String, String, usize)>,
    /// The customer's messages (in `only`), oldest first (ties by row).
    pub messages: Vec<CustomerMessage>,
    /// What internal mail (visit and phone reports) writes for it: the
    /// configured names; else the organisation without its legal form
    /// ([`crate::signature::mention_form`]), or whole when that is part of
    /// another customer's organisation or of the company's own names
    /// (`Evergreen Machinery` of `… Pty Ltd` and `… Co., Ltd.`, `みなと` in
    /// `株式会社みなと商会`), or nothing when the whole is too.
    pub mentioned_as: Vec<String>,
}

/// Per-customer accumulator.
#[derive(Debug)]
struct Acc {
    messages: usize,
    inbound: usize,
    outbound: usize,
    /// Threads of the messages, in row order with repeats (sorted at the end).
    threads: Vec<i64>,
    first: i64,
    last: i64,
    last_in: Option<i64>,
    last_out: Option<i64>,
    /// (address, messages of this customer with it).
    addresses: Vec<(AddrId, usize)>,
    /// The messages, for the customer [`detail`] is about only.
    mine: Vec<CustomerMessage>,
    /// Organisations its mail signs with: (organisation, messages, last date).
    orgs: Vec<(OrgId, u32, i64)>,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            messages: 0,
            inbound: 0,
            outbound: 0,
            threads: Vec::new(),
            first: i64::MAX,
            last: i64::MIN,
            last_in: None,
            last_out: None,
            addresses: Vec::new(),
            mine: Vec::new(),
            orgs: Vec::new(),
        }
    }
}

/// Which messages a summary covers: `None` all, else those rows.
pub type RowFilter<'a> = Option<&'a HashSet<i64>>;

/// Summaries of every customer of the messages in `only` (all when `None`),
/// in no particular order. Staff are collected from whole threads.
pub fn summaries(
    store: &Store,
    classifier: &Classifier,
    only: RowFilter<'_>,
) -> Result<Vec<CustomerSummary>> {
    let (sc, accs, thread_staff, signed) = aggregate(store, classifier, only, None)?;
    Ok(accs
        .iter()
        .enumerate()
        .filter_map(|(c, acc)| {
            summary(
                &sc,
                classifier,
                c as CustomerId,
                acc,
                &thread_staff,
                &signed,
            )
        })
        .collect())
}

/// One customer in detail, `None` when no message in `only` has it.
pub fn detail(
    store: &Store,
    classifier: &Classifier,
    key: &str,
    only: RowFilter<'_>,
) -> Result<Option<CustomerDetail>> {
    let (sc, accs, thread_staff, signed) = aggregate(store, classifier, only, Some(key))?;
    let Some(c) = sc.customer_id(key) else {
        return Ok(None);
    };
    let Some(acc) = accs.get(c as usize) else {
        return Ok(None);
    };
    let Some(summary) = summary(&sc, classifier, c, acc, &thread_staff, &signed) else {
        return Ok(None);
    };
    let mut addresses: Vec<(String, String, usize)> = acc
        .addresses
        .iter()
        .filter_map(|&(id, n)| {
            let a = sc.address(id)?;
            Some((a.address.clone(), a.name().to_string(), n))
        })
        .collect();
    addresses.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let mut people: Vec<(String, String, usize)> = Vec::new();
    for &(id, _) in &acc.addresses {
        if let Some(a) = sc.address(id) {
            for (name, n) in a.names.iter().filter(|n| !n.0.is_empty()) {
                people.push((name.clone(), a.address.clone(), *n as usize));
            }
        }
    }
    people.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then_with(|| a.0.cmp(&b.0))
            .then_with(|| a.1.cmp(&b.1))
    });
    let mut messages = acc.mine.clone();
    messages.sort_unstable_by_key(|m| (m.date, m.row));
    let mentioned_as = match classifier.configured_names(key) {
        Some(names) => names.to_vec(),
        None => summary
            .organisation
            .as_deref()
            .map(|org| mention_names(org, c, &accs, &signed))
            .unwrap_or_default(),
    };
    Ok(Some(CustomerDetail {
        summary,
        addresses,
        people,
        messages,
        mentioned_as,
    }))
}

/// The names internal mail mentions the customer `c` signing with `org` by
/// ([`CustomerDetail::mentioned_as`]): its [`crate::signature::mention_form`]
/// unless that is part of another organisation (then the whole name, unless
/// that is too; the same name but for spaces and width is the same
/// company): of another customer's, or one of the company's own (what
/// staff sign their mail to customers with that no customer does, but for
/// another form of `org`).
fn mention_names(org: &str, c: CustomerId, accs: &[Acc], signed: &Signed) -> Vec<String> {
    let Some(form) = crate::signature::mention_form(org) else {
        return Vec::new();
    };
    let customers: HashSet<&str> = accs
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != c as usize)
        .filter_map(|(_, a)| signed.organisation_of(a))
        .collect();
    let folded_form = folded(&form);
    let own = signed
        .staff
        .keys()
        .filter_map(|&id| signed.names.get(id as usize))
        .map(String::as_str)
        .filter(|o| !customers.contains(o) && *o != org)
        .filter(|o| crate::signature::mention_form(o).is_none_or(|f| folded(&f) != folded_form));
    // The same name written otherwise (`株式会社 明星建設`) is the same
    // company: at another of its domains.
    let folded_org = folded(org);
    let others: Vec<String> = customers
        .iter()
        .copied()
        .chain(own)
        .map(folded)
        .filter(|o| *o != folded_org)
        .collect();
    let clashes = |name: &str| {
        let name = folded(name);
        name.is_empty() || others.iter().any(|o| o.contains(&name))
    };
    if !clashes(&form) {
        vec![form]
    } else if form != org && !clashes(org) {
        vec![org.to_string()]
    } else {
        Vec::new()
    }
}

/// `name` as a search for it compares it: its letters and digits, lower
/// case, full-width Latin ones as ASCII.
fn folded(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '！'..='～' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A message of one customer, for an export of its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerMessage {
    pub row: i64,
    pub thread: i64,
    /// Unix seconds.
    pub date: i64,
    pub direction: Direction,
}

/// What the history of customer `key` is gathered from, in one pass over
/// the store: its messages ([`messages_of`]), and the names internal mail
/// mentions it by: those of [`CustomerDetail::mentioned_as`], or, for a
/// customer no mail was exchanged with yet (a prospect staff visited), those
/// the configuration gives it.
pub fn messages_and_names(
    store: &Store,
    classifier: &Classifier,
    key: &str,
) -> Result<(Vec<CustomerMessage>, Vec<String>)> {
    Ok(match detail(store, classifier, key, None)? {
        Some(d) => (d.messages, d.mentioned_as),
        None => (
            Vec::new(),
            classifier
                .configured_names(key)
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
        ),
    })
}

/// The messages with customer `key` in From/To/Cc, or as the sender a
/// Reply-To names ([`Direction::Inbound`]), oldest first (ties by row).
pub fn messages_of(
    store: &Store,
    classifier: &Classifier,
    key: &str,
) -> Result<Vec<CustomerMessage>> {
    let mut out = Vec::new();
    let mut id: Option<CustomerId> = None;
    scan(store, classifier, |sc, m| {
        if id.is_none() {
            id = sc.customer_id(key);
        }
        if id.is_some_and(|c| m.customers.contains(&c)) {
            out.push(CustomerMessage {
                row: m.row,
                thread: m.thread,
                date: m.date,
                direction: m.direction,
            });
        }
    })?;
    out.sort_unstable_by_key(|m| (m.date, m.row));
    Ok(out)
}

/// (thread, staff address) pairs, sorted and unique.
type ThreadStaff = Vec<(i64, AddrId)>;

/// An organisation interned by [`Signed`].
type OrgId = u32;

/// The organisations the signatures of the archive name
/// ([`crate::signature`]), by message row.
#[derive(Debug, Default)]
struct Signed {
    names: Vec<String>,
    by_row: FxMap<i64, OrgId>,
    /// How many staff messages to customers (outbound) sign with each: the
    /// company's own names are never a customer's (a customer's mail that
    /// names its recipient at the bottom), unless the customer signs with it
    /// more often. Internal mail does not count: a report that ends by
    /// naming the customers visited, without a signature, is not signed with
    /// their names, however many there are.
    staff: FxMap<OrgId, u32>,
}

impl Signed {
    /// Reads the `signatures` table (empty in an archive no kura that
    /// reads signatures has written to).
    fn read(store: &Store) -> Result<Signed> {
        let mut s = Signed::default();
        if !store.has_column("signatures", "organisation")? {
            return Ok(s);
        }
        let mut ids: HashMap<String, OrgId> = HashMap::new();
        let mut q = store
            .conn
            .prepare("SELECT message, organisation FROM signatures")?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let org: String = r.get(1)?;
            let next = s.names.len() as OrgId;
            let id = *ids.entry(org).or_insert_with_key(|org| {
                s.names.push(org.clone());
                next
            });
            s.by_row.insert(r.get(0)?, id);
        }
        Ok(s)
    }

    /// The organisation customer `acc` signs with most (the latest of
    /// equals), not one staff sign with more often.
    fn organisation_of(&self, acc: &Acc) -> Option<&str> {
        acc.orgs
            .iter()
            .filter(|o| self.staff.get(&o.0).is_none_or(|&n| n <= o.1))
            .max_by_key(|o| (o.1, o.2))
            .and_then(|o| self.names.get(o.0 as usize))
            .map(String::as_str)
    }
}

fn aggregate(
    store: &Store,
    classifier: &Classifier,
    only: RowFilter<'_>,
    messages_of_key: Option<&str>,
) -> Result<(Scan, Vec<Acc>, ThreadStaff, Signed)> {
    let mut accs: Vec<Acc> = Vec::new();
    let mut thread_staff: ThreadStaff = Vec::new();
    let mut listed: Option<CustomerId> = None;
    let mut signed = Signed::read(store)?;
    let sc = scan(store, classifier, |sc, m| {
        for s in m.staff {
            thread_staff.push((m.thread, *s));
        }
        let from = m.from.and_then(|f| sc.address(f));
        let from_customer = from.and_then(|a| a.customer);
        // What a customer's mail signs with counts whatever the query.
        if let Some(&org) = signed.by_row.get(&m.row) {
            match from_customer {
                Some(c) => {
                    if accs.len() <= c as usize {
                        accs.resize_with(c as usize + 1, Acc::default);
                    }
                    if let Some(acc) = accs.get_mut(c as usize) {
                        match acc.orgs.iter_mut().find(|o| o.0 == org) {
                            Some(o) => {
                                o.1 += 1;
                                o.2 = o.2.max(m.date);
                            }
                            None => acc.orgs.push((org, 1, m.date)),
                        }
                    }
                }
                None if m.direction == Direction::Outbound && from.is_some_and(|a| a.internal) => {
                    *signed.staff.entry(org).or_insert(0) += 1;
                }
                None => {}
            }
        }
        if only.is_some_and(|set| !set.contains(&m.row)) {
            return;
        }
        if listed.is_none() {
            listed = messages_of_key.and_then(|k| sc.customer_id(k));
        }
        for &c in m.customers {
            if accs.len() <= c as usize {
                accs.resize_with(c as usize + 1, Acc::default);
            }
            let Some(acc) = accs.get_mut(c as usize) else {
                continue;
            };
            acc.messages += 1;
            if acc.threads.last() != Some(&m.thread) {
                acc.threads.push(m.thread);
            }
            acc.first = acc.first.min(m.date);
            acc.last = acc.last.max(m.date);
            if from_customer == Some(c) {
                acc.inbound += 1;
                acc.last_in = acc.last_in.max(Some(m.date));
            } else if m.direction == Direction::Outbound {
                acc.outbound += 1;
                acc.last_out = acc.last_out.max(Some(m.date));
            }
            for (i, &(_, id)) in m.addresses.iter().enumerate() {
                let mine = sc.address(id).and_then(|a| a.customer) == Some(c);
                // Each address once per message.
                if mine
                    && !m
                        .addresses
                        .get(..i)
                        .is_some_and(|p| p.iter().any(|x| x.1 == id))
                {
                    match acc.addresses.iter_mut().find(|x| x.0 == id) {
                        Some(x) => x.1 += 1,
                        None => acc.addresses.push((id, 1)),
                    }
                }
            }
            if listed == Some(c) {
                acc.mine.push(CustomerMessage {
                    row: m.row,
                    thread: m.thread,
                    date: m.date,
                    direction: m.direction,
                });
            }
        }
    })?;
    for acc in &mut accs {
        acc.threads.sort_unstable();
        acc.threads.dedup();
    }
    thread_staff.sort_unstable();
    thread_staff.dedup();
    Ok((sc, accs, thread_staff, signed))
}

fn summary(
    sc: &Scan,
    classifier: &Classifier,
    c: CustomerId,
    acc: &Acc,
    thread_staff: &ThreadStaff,
    signed: &Signed,
) -> Option<CustomerSummary> {
    let (key, kind) = sc.customers.get(c as usize)?.clone();
    if acc.messages == 0 {
        return None;
    }
    let mut staff: Vec<(AddrId, usize)> = Vec::new();
    for &t in &acc.threads {
        let start = thread_staff.partition_point(|x| x.0 < t);
        for &(_, s) in thread_staff.get(start..)?.iter().take_while(|x| x.0 == t) {
            match staff.iter_mut().find(|x| x.0 == s) {
                Some(x) => x.1 += 1,
                None => staff.push((s, 1)),
            }
        }
    }
    let mut staff: Vec<(String, String, usize)> = staff
        .into_iter()
        .filter_map(|(id, n)| {
            let a = sc.address(id)?;
            Some((a.address.clone(), a.name().to_string(), n))
        })
        .collect();
    staff.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let organisation = signed.organisation_of(acc).map(str::to_string);
    let configured = classifier.configured_names(&key);
    let name = match configured.and_then(|n| n.first()) {
        Some(n) => n.clone(),
        None => customer_name(sc, kind, acc, organisation.as_deref()),
    };
    Some(CustomerSummary {
        key,
        kind,
        name,
        organisation,
        messages: acc.messages,
        inbound: acc.inbound,
        outbound: acc.outbound,
        threads: acc.threads.len(),
        first_contact: acc.first,
        last_contact: acc.last,
        last_inbound: acc.last_in,
        last_outbound: acc.last_out,
        staff,
    })
}

/// The customer's name when none is configured: for a domain, the
/// organisation its mail signs with, else a company-like display name, else
/// the most used display name; for a free-mail address, the most used
/// display name (a person's), else the organisation.
fn customer_name(sc: &Scan, kind: KeyKind, acc: &Acc, organisation: Option<&str>) -> String {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for &(id, _) in &acc.addresses {
        if let Some(a) = sc.address(id) {
            for (name, n) in a.names.iter().filter(|n| !n.0.trim().is_empty()) {
                *counts.entry(name.as_str()).or_insert(0) += n;
            }
        }
    }
    let best = |company: bool| {
        counts
            .iter()
            .filter(|(n, _)| !company || crate::signature::has_legal_form(n))
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(n, _)| n.to_string())
    };
    let org = || organisation.map(str::to_string);
    if kind == KeyKind::Domain {
        org().or_else(|| best(true)).or_else(|| best(false))
    } else {
        best(false).or_else(org)
    }
    .unwrap_or_default()
}

/// Message counts by month (`YYYY-MM`, local time or UTC) of sorted dates,
/// every month from the first to the last included.
pub fn monthly(dates: &[i64], utc: bool) -> Vec<(String, usize)> {
    use chrono::{Datelike, TimeZone};
    let month = |ts: i64| -> Option<(i32, u32)> {
        let d = chrono::Utc.timestamp_opt(ts, 0).single()?;
        Some(if utc {
            (d.year(), d.month())
        } else {
            let l = d.with_timezone(&chrono::Local);
            (l.year(), l.month())
        })
    };
    let mut counts: std::collections::BTreeMap<(i32, u32), usize> = Default::default();
    for &d in dates {
        if let Some(m) = month(d) {
            *counts.entry(m).or_insert(0) += 1;
        }
    }
    let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut y, mut m) = first;
    while (y, m) <= last {
        out.push((
            format!("{y:04}-{m:02}"),
            counts.get(&(y, m)).copied().unwrap_or(0),
        ));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Setting, Source};

    fn classifier() -> Classifier {
        Classifier::new(&config())
    }

    /// The sample company's configuration.
    fn config() -> Config {
        Config {
            internal_domains: Setting {
                value: vec!["minato-shokai.co.jp".into()],
                source: Source::Default,
            },
            shared_address: Setting {
                value: Some("support@minato-shokai.co.jp".into()),
                source: Source::Default,
            },
            extra_free_mail_domains: Setting {
                value: vec!["freemail.example".into()],
                source: Source::Default,
            },
            ..Config::default()
        }
    }

    #[test]
    fn registrable_domains() {
        for (d, r) in [
            ("tokyo.kyowa-shoji.co.jp", "kyowa-shoji.co.jp"),
            ("kyowa-shoji.co.jp", "kyowa-shoji.co.jp"),
            ("a.b.himawari-engei.jp", "himawari-engei.jp"),
            ("mail.acme-corp.com", "acme-corp.com"),
            ("acme-corp.com", "acme-corp.com"),
            ("sales.brightgear.co.uk", "brightgear.co.uk"),
            ("x.y.brightgear.com.au", "brightgear.com.au"),
            ("hana.co.kr", "hana.co.kr"),
            ("univ.ac.jp", "univ.ac.jp"),
            ("www.city.lg.jp", "city.lg.jp"),
            ("localhost", "localhost"),
            ("co.jp", "co.jp"),
            ("example.de.", "example.de"),
        ] {
            assert_eq!(registrable_domain(d), r, "{d}");
        }
    }

    #[test]
    fn customer_keys() {
        let c = classifier();
        let key = |a: &str| c.customer_key(a).map(|k| k.0);
        assert_eq!(
            key("ito@tokyo.kyowa-shoji.co.jp").as_deref(),
            Some("kyowa-shoji.co.jp")
        );
        assert_eq!(
            key("Kenta.Watanabe.1987@GMAIL.com").as_deref(),
            Some("kenta.watanabe.1987@gmail.com")
        );
        assert_eq!(
            key("takahashi.k-0707@docomo.ne.jp").as_deref(),
            Some("takahashi.k-0707@docomo.ne.jp")
        );
        assert_eq!(key("x@i.softbank.jp").as_deref(), Some("x@i.softbank.jp"));
        assert_eq!(
            key("x@mail.freemail.example").as_deref(),
            Some("x@mail.freemail.example")
        );
        assert_eq!(key("yamada@minato-shokai.co.jp"), None);
        assert_eq!(key("ops@mx1.minato-shokai.co.jp"), None);
        assert_eq!(key("undisclosed-recipients"), None);
        // Not a subdomain, only a similar name.
        assert_eq!(
            key("a@notminato-shokai.co.jp").as_deref(),
            Some("notminato-shokai.co.jp")
        );
        assert_eq!(
            c.key_from_input("tokyo.kyowa-shoji.co.jp").as_deref(),
            Some("kyowa-shoji.co.jp")
        );
        assert_eq!(
            c.key_from_input("Tanaka@Kyowa-Shoji.co.jp").as_deref(),
            Some("kyowa-shoji.co.jp")
        );
    }

    #[test]
    fn directions() {
        let c = classifier();
        let shared = ["support@minato-shokai.co.jp"];
        let customer = ["tanaka@kyowa-shoji.co.jp"];
        assert_eq!(
            c.direction(Some("tanaka@kyowa-shoji.co.jp"), shared, []),
            Direction::Inbound
        );
        assert_eq!(
            c.direction(
                Some("support@minato-shokai.co.jp"),
                ["kenta@gmail.com", "yamada@minato-shokai.co.jp"],
                shared,
            ),
            Direction::Outbound
        );
        assert_eq!(
            c.direction(Some("kobayashi@minato-shokai.co.jp"), shared, []),
            Direction::Internal
        );
        // A web form's mail: from staff to staff for an outside Reply-To.
        assert_eq!(
            c.direction(Some("form@minato-shokai.co.jp"), shared, customer),
            Direction::Inbound
        );
        assert_eq!(
            c.direction(Some("kobayashi@minato-shokai.co.jp"), shared, shared),
            Direction::Internal
        );
        // A reply's Reply-To changes nothing: staff wrote to the customer.
        assert_eq!(
            c.direction(Some("sato@minato-shokai.co.jp"), customer, customer),
            Direction::Outbound
        );
        // Form services: outside, no customer; a listed form's mail is its
        // Reply-To's, also with a copy to the customer.
        let forms = Classifier::new(&Config {
            form_senders: Setting {
                value: vec!["form.run".into(), "form@minato-shokai.co.jp".into()],
                source: Source::Default,
            },
            ..config()
        });
        let form = Some("form@minato-shokai.co.jp");
        let copied = ["support@minato-shokai.co.jp", "tanaka@kyowa-shoji.co.jp"];
        assert_eq!(forms.direction(form, copied, customer), Direction::Inbound);
        assert_eq!(forms.direction(form, copied, []), Direction::Outbound);
        assert_eq!(c.direction(form, copied, customer), Direction::Outbound);
        let staff = Some("sato@minato-shokai.co.jp");
        assert_eq!(
            forms.direction(staff, ["noreply@form.run"], []),
            Direction::Outbound
        );
        assert_eq!(
            forms.direction(staff, shared, ["noreply@form.run"]),
            Direction::Internal
        );
        // Without configuration everything is external: inbound.
        let none = Classifier::new(&Config::default());
        assert!(!none.has_internal());
        assert_eq!(
            none.direction(Some("kobayashi@minato-shokai.co.jp"), ["a@b.co.jp"], []),
            Direction::Inbound
        );
    }

    #[test]
    fn months_fill_gaps() {
        // 2024-01-15, 2024-01-20, 2024-03-01 (UTC).
        let m = monthly(&[1705276800, 1705708800, 1709251200], true);
        assert_eq!(
            m,
            [
                ("2024-01".to_string(), 2),
                ("2024-02".to_string(), 0),
                ("2024-03".to_string(), 1)
            ]
        );
    }

    #[test]
    fn company_names_are_preferred_for_domains() {
        use crate::signature::has_legal_form;
        assert!(has_legal_form("株式会社 協和商事"));
        assert!(has_legal_form("協和商事(株) 田中"));
        assert!(has_legal_form("ACME Corp. Billing"));
        assert!(has_legal_form("Kyowa Trading Co., Ltd."));
        assert!(!has_legal_form("田中 誠"));
        // A form inside a word is none (`inc` in Vincent).
        assert!(!has_legal_form("Vincent Lambert"));
    }
}
