//! Response status: which conversations wait for a staff reply (`kura pending`)
//! and how quickly customers were answered (`kura report`).
//!
//! Both come from one walk over the store: every message's direction (by
//! [`crate::customers::Classifier`]), grouped by thread and ordered by date
//! (ties by row), then one pass per thread. Internal messages (staff to staff)
//! are ignored; only inbound (from a customer) and outbound (staff to a
//! customer) messages count, but not what a party staff consulted in the
//! thread (a supplier they forwarded a question to) writes back. Times are
//! measured by a [`Clock`]: wall-clock time, or the working hours the
//! configuration sets.

use crate::customers::{self, AddrId, Classifier, CustomerId, Direction};
use crate::hours::Clock;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use std::collections::{HashMap, HashSet};

/// The tag that closes a conversation for `pending`.
pub const DONE_TAG: &str = "done";

/// One inbound or outbound message of a thread, resolved.
#[derive(Debug, Clone)]
struct Turn {
    row: i64,
    date: i64,
    inbound: bool,
    /// The sender's address (lower case), if any.
    from: Option<String>,
    /// The customer key of the message (the sender's for inbound mail, else
    /// the first customer among the recipients).
    customer: Option<String>,
    /// `customer`, interned.
    customer_id: Option<CustomerId>,
    /// The customers among the addresses (outbound mail).
    addressed: Vec<CustomerId>,
}

/// A conversation whose latest customer message has no staff reply after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub thread: i64,
    /// Customer key of the first unanswered message.
    pub customer: String,
    /// Row of the first message of the thread (for its subject).
    pub first_row: i64,
    /// Date of the first inbound message after the last outbound one.
    pub waiting_since: i64,
    /// Date of the latest inbound message.
    pub last_inbound: i64,
    /// Inbound messages after the last outbound one.
    pub unanswered: usize,
    /// Sender of the last outbound message of the thread, if any.
    pub handled_by: Option<String>,
}

/// A staff message to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply's message row.
    pub row: i64,
    pub date: i64,
    /// The sender's address (lower case; empty when it has none).
    pub staff: String,
}

/// One inbound message and what followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub thread: i64,
    pub row: i64,
    pub date: i64,
    pub customer: String,
    /// The first reply to it after it in the thread (an outbound message
    /// addressed to its customer): the reply `report` times and
    /// `kura answers` shows.
    pub first_reply: Option<Reply>,
    /// Replies to it after it and before its customer's next message,
    /// within the window: two or more different senders make a double
    /// answer.
    pub window_replies: Vec<Reply>,
}

impl Inbound {
    /// Seconds to the first reply (never negative), by `clock`.
    pub fn response_time(&self, clock: Clock<'_>) -> Option<i64> {
        self.first_reply
            .as_ref()
            .map(|r| clock.elapsed(self.date, r.date))
    }

    /// True when two or more different staff replied within the window.
    pub fn is_double_answer(&self) -> bool {
        let mut seen: Vec<&str> = Vec::new();
        for r in &self.window_replies {
            if !seen.contains(&r.staff.as_str()) {
                seen.push(&r.staff);
            }
        }
        seen.len() >= 2
    }
}

/// Everything `pending` and `report` need.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Waiting conversations (threads tagged `done` excepted), in no order.
    pub pending: Vec<Pending>,
    /// Every inbound message, by thread and date.
    pub inbound: Vec<Inbound>,
}

/// Walks the store once and computes the status of every thread. `window` is
/// the double-answer window in seconds.
pub fn analyse(store: &Store, classifier: &Classifier, window: i64) -> Result<Analysis> {
    // (row, date, thread, inbound, from, customer) as interned ids.
    struct Raw {
        row: i64,
        date: i64,
        inbound: bool,
        from: Option<AddrId>,
        customer: Option<CustomerId>,
        addressed: Vec<CustomerId>,
    }
    let mut threads: HashMap<i64, Vec<Raw>> = HashMap::new();
    let scan = customers::scan(store, classifier, |sc, m| {
        let inbound = match m.direction {
            Direction::Inbound => true,
            Direction::Outbound => false,
            Direction::Internal => return,
        };
        let from_customer = m.from.and_then(|a| sc.address(a)).and_then(|a| a.customer);
        let customer = if inbound {
            from_customer.or_else(|| m.customers.first().copied())
        } else {
            m.customers.first().copied()
        };
        threads.entry(m.thread).or_default().push(Raw {
            row: m.row,
            date: m.date,
            inbound,
            from: m.from,
            customer,
            addressed: if inbound {
                Vec::new()
            } else {
                m.customers.to_vec()
            },
        });
    })
    .context("reading messages and addresses")?;
    let done = done_threads(store)?;
    let mut analysis = Analysis::default();
    let mut ids: Vec<i64> = threads.keys().copied().collect();
    ids.sort_unstable();
    for thread in ids {
        let Some(mut raw) = threads.remove(&thread) else {
            continue;
        };
        raw.sort_unstable_by_key(|r| (r.date, r.row));
        let turns: Vec<Turn> = raw
            .into_iter()
            .map(|r| Turn {
                row: r.row,
                date: r.date,
                inbound: r.inbound,
                from: r
                    .from
                    .and_then(|a| scan.address(a))
                    .map(|a| a.address.to_lowercase()),
                customer: r.customer.map(|c| scan.key(c).to_string()),
                customer_id: r.customer,
                addressed: r.addressed,
            })
            .collect();
        let turns = without_consulted(turns);
        if !done.contains(&thread)
            && let Some(p) = pending_of(thread, &turns)
        {
            analysis.pending.push(p);
        }
        inbound_of(thread, &turns, window, &mut analysis.inbound);
    }
    Ok(analysis)
}

/// Threads with a message tagged `done`.
fn done_threads(store: &Store) -> Result<HashSet<i64>> {
    let mut q = store.conn.prepare(
        "SELECT DISTINCT m.thread FROM tags t JOIN messages m ON m.id = t.message WHERE t.tag = ?1",
    )?;
    let rows = q.query_map([DONE_TAG], |r| r.get::<_, i64>(0))?;
    let mut set = HashSet::new();
    for r in rows {
        set.insert(r.context("reading tagged threads")?);
    }
    Ok(set)
}

/// The turns of a thread, ordered by date, without those of the parties
/// staff consulted: outside parties first addressed by a staff message that
/// went to none of the thread's customers so far (a forward asking a
/// supplier), once a customer had written or been written to. What they
/// write back answers staff, not a question of a customer: it neither waits
/// for a reply (`pending`) nor counts as a customer's message (`report`).
/// A party that wrote before it was consulted stays a customer.
fn without_consulted(turns: Vec<Turn>) -> Vec<Turn> {
    let mut customers: Vec<CustomerId> = Vec::new();
    let mut consulted: Vec<CustomerId> = Vec::new();
    let mut kept = Vec::with_capacity(turns.len());
    for t in turns {
        if t.inbound {
            if let Some(c) = t.customer_id {
                if consulted.contains(&c) {
                    continue;
                }
                if !customers.contains(&c) {
                    customers.push(c);
                }
            }
        } else if customers.is_empty() {
            customers.extend(t.addressed.iter().copied());
        } else if !t.addressed.iter().any(|c| customers.contains(c)) {
            consulted.extend(t.addressed.iter().copied());
        }
        kept.push(t);
    }
    kept
}

/// Whether `t` is a staff reply to the customers `askers`: an outbound
/// message addressed to one of them (a forward asking a supplier is not),
/// or any outbound message when none of them is known.
fn replies_to(t: &Turn, askers: &[CustomerId]) -> bool {
    !t.inbound && (askers.is_empty() || t.addressed.iter().any(|c| askers.contains(c)))
}

/// The pending entry of a thread whose turns are ordered by date: the
/// customers' messages after the last reply to any of them.
fn pending_of(thread: i64, turns: &[Turn]) -> Option<Pending> {
    let mut askers: Vec<CustomerId> = turns
        .iter()
        .filter(|t| t.inbound)
        .filter_map(|t| t.customer_id)
        .collect();
    askers.sort_unstable();
    askers.dedup();
    let last_reply = turns.iter().rposition(|t| replies_to(t, &askers));
    let last_out = turns.iter().rposition(|t| !t.inbound);
    let waiting: Vec<&Turn> = match last_reply {
        Some(i) => turns.get(i + 1..).unwrap_or_default(),
        None => turns,
    }
    .iter()
    .filter(|t| t.inbound)
    .collect();
    let first = *waiting.first()?;
    let last = *waiting.last()?;
    Some(Pending {
        thread,
        customer: first
            .customer
            .clone()
            .or_else(|| waiting.iter().find_map(|t| t.customer.clone()))
            .unwrap_or_default(),
        first_row: turns.first().map_or(first.row, |t| t.row),
        waiting_since: first.date,
        last_inbound: last.date,
        unanswered: waiting.len(),
        handled_by: last_out
            .and_then(|i| turns.get(i))
            .and_then(|t| t.from.clone()),
    })
}

/// Appends the inbound messages of a thread with their replies.
fn inbound_of(thread: i64, turns: &[Turn], window: i64, out: &mut Vec<Inbound>) {
    for (i, t) in turns.iter().enumerate() {
        if !t.inbound {
            continue;
        }
        let after = turns.get(i + 1..).unwrap_or_default();
        let reply = |t: &Turn| Reply {
            row: t.row,
            date: t.date,
            staff: t.from.clone().unwrap_or_default(),
        };
        let askers = t.customer_id.as_slice();
        let first_reply = after.iter().find(|a| replies_to(a, askers)).map(reply);
        let limit = t.date.saturating_add(window);
        // Up to the customer's next message (any inbound one when its
        // customer is unknown): another customer of the conversation
        // writing in between is not this one writing again.
        let wrote_again =
            |a: &Turn| a.inbound && (t.customer_id.is_none() || a.customer_id == t.customer_id);
        let window_replies = after
            .iter()
            .take_while(|a| !wrote_again(a))
            .filter(|a| a.date <= limit && replies_to(a, askers))
            .map(reply)
            .collect();
        out.push(Inbound {
            thread,
            row: t.row,
            date: t.date,
            customer: t.customer.clone().unwrap_or_default(),
            first_reply,
            window_replies,
        });
    }
}

/// The median of sorted values (the mean of the two middle ones, rounded
/// down, for an even count).
pub fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let hi = *sorted.get(n / 2)?;
    if n % 2 == 1 {
        return Some(hi);
    }
    let lo = *sorted.get(n / 2 - 1)?;
    Some(lo + (hi - lo) / 2)
}

/// The `p`th percentile of sorted values, nearest rank (the smallest value
/// with at least p% of the values at or below it).
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (n * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Parses a duration: a number and a unit, `m` (minutes), `h`, `d` or `w`
/// (`30m`, `24h`, `3d`, `2w`); returns seconds.
pub fn parse_duration(s: &str) -> Result<i64> {
    parse_duration_in(s, 86_400, 7 * 86_400)
}

/// [`parse_duration`] with days of `day` seconds and weeks of `week` (a
/// working day and week: [`Clock`]).
pub fn parse_duration_in(s: &str, day: i64, week: i64) -> Result<i64> {
    let s = s.trim();
    let Some(unit) = s.chars().last() else {
        bail!("empty duration (use e.g. 30m, 24h, 3d, 2w)");
    };
    let seconds = match unit.to_ascii_lowercase() {
        'm' => 60,
        'h' => 3600,
        'd' => day,
        'w' => week,
        _ => bail!("{s:?} is not a duration (use e.g. 30m, 24h, 3d, 2w)"),
    };
    let n: i64 = s
        .get(..s.len() - unit.len_utf8())
        .unwrap_or_default()
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .with_context(|| format!("{s:?} is not a duration (use e.g. 30m, 24h, 3d, 2w)"))?;
    n.checked_mul(seconds)
        .with_context(|| format!("{s:?} is too long"))
}

/// A duration for people: `45m`, `5h 12m`, `3d 4h`.
pub fn format_duration(seconds: i64) -> String {
    format_duration_in(seconds, 86_400)
}

/// [`format_duration`] with days of `day` seconds (a working day: [`Clock`]).
pub fn format_duration_in(seconds: i64, day: i64) -> String {
    let s = seconds.max(0);
    let day = day.max(1);
    let (d, h, m) = (s / day, s % day / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(row: i64, date: i64, inbound: bool, from: &str) -> Turn {
        Turn {
            row,
            date,
            inbound,
            from: Some(from.to_string()),
            customer: inbound.then(|| "kyowa-shoji.co.jp".to_string()),
            customer_id: inbound.then_some(0),
            addressed: if inbound { Vec::new() } else { vec![0] },
        }
    }

    #[test]
    fn a_thread_waits_from_the_first_unanswered_message() {
        let turns = [
            turn(1, 100, true, "tanaka@kyowa-shoji.co.jp"),
            turn(2, 200, false, "sato@minato-shokai.co.jp"),
            turn(3, 300, true, "tanaka@kyowa-shoji.co.jp"),
            turn(4, 400, true, "tanaka@kyowa-shoji.co.jp"),
        ];
        let p = pending_of(7, &turns).unwrap();
        assert_eq!(p.waiting_since, 300);
        assert_eq!(p.last_inbound, 400);
        assert_eq!(p.unanswered, 2);
        assert_eq!(p.first_row, 1);
        assert_eq!(p.handled_by.as_deref(), Some("sato@minato-shokai.co.jp"));
        assert_eq!(p.customer, "kyowa-shoji.co.jp");
        // Answered: nothing waits.
        assert_eq!(pending_of(7, turns.get(..2).unwrap()), None);
        // Never answered: waiting since the first message, nobody handled it.
        let p = pending_of(7, turns.get(..1).unwrap()).unwrap();
        assert_eq!((p.waiting_since, p.handled_by), (100, None));
    }

    #[test]
    fn replies_and_double_answers() {
        let turns = [
            turn(1, 0, true, "tanaka@kyowa-shoji.co.jp"),
            turn(2, 3600, true, "tanaka@kyowa-shoji.co.jp"),
            turn(3, 7200, false, "sato@minato-shokai.co.jp"),
            turn(4, 9000, false, "suzuki@minato-shokai.co.jp"),
            turn(5, 200_000, false, "ito@minato-shokai.co.jp"),
        ];
        let mut v = Vec::new();
        inbound_of(1, &turns, 86_400, &mut v);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].response_time(Clock::Wall), Some(7200));
        assert_eq!(v[1].response_time(Clock::Wall), Some(3600));
        // The first message's replies come after the second: only the
        // second one counts the double answer, and the late third reply is
        // outside the window.
        assert!(!v[0].is_double_answer());
        assert!(v[1].is_double_answer());
        assert_eq!(v[1].window_replies.len(), 2);
        // The same staff member twice is not a double answer.
        let same = [
            turn(1, 0, true, "tanaka@kyowa-shoji.co.jp"),
            turn(2, 10, false, "sato@minato-shokai.co.jp"),
            turn(3, 20, false, "sato@minato-shokai.co.jp"),
        ];
        let mut v = Vec::new();
        inbound_of(1, &same, 86_400, &mut v);
        assert!(!v[0].is_double_answer());
    }

    /// A turn of customer `c` (inbound) or to customers `to` (outbound).
    fn party(row: i64, inbound: bool, c: CustomerId, to: &[CustomerId]) -> Turn {
        Turn {
            row,
            date: row * 600,
            inbound,
            from: Some(format!("{row}@x")),
            customer: Some(format!("c{c}")),
            customer_id: Some(c),
            addressed: to.to_vec(),
        }
    }

    #[test]
    fn a_consulted_suppliers_answer_is_no_customer_message() {
        // Customer 0 asks, staff forward to supplier 1, who answers staff.
        let asked = [
            party(1, true, 0, &[]),
            party(2, false, 0, &[1]),
            party(3, true, 1, &[]),
        ];
        let kept = without_consulted(asked.to_vec());
        assert_eq!(kept.iter().map(|t| t.row).collect::<Vec<_>>(), [1, 2]);
        // The customer still waits, since its own message.
        let p = pending_of(9, &kept).unwrap();
        assert_eq!((p.customer.as_str(), p.waiting_since), ("c0", 600));
        let mut v = Vec::new();
        inbound_of(9, &kept, 86_400, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].customer, "c0");
        // Answered: nothing waits, and the one question has its reply.
        let mut answered = asked.to_vec();
        answered.push(party(4, false, 0, &[0]));
        let kept = without_consulted(answered);
        assert_eq!(pending_of(9, &kept), None);
        let mut v = Vec::new();
        inbound_of(9, &kept, 86_400, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].first_reply.as_ref().map(|r| r.row), Some(4));
        // A reply to the customer with the supplier in Cc consults nobody,
        // and a party who wrote first stays a customer: both are kept.
        for turns in [
            [
                party(1, true, 0, &[]),
                party(2, false, 0, &[0, 1]),
                party(3, true, 1, &[]),
            ],
            [
                party(1, true, 0, &[]),
                party(2, true, 1, &[]),
                party(3, false, 0, &[1]),
            ],
        ] {
            assert_eq!(without_consulted(turns.to_vec()).len(), 3);
        }
        // A conversation staff began: those they wrote to are its customers.
        let ours = [party(1, false, 0, &[1]), party(2, true, 1, &[])];
        let kept = without_consulted(ours.to_vec());
        assert_eq!(pending_of(9, &kept).map(|p| p.customer), Some("c1".into()));
    }

    #[test]
    fn median_and_percentile() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 3, 10]), Some(3));
        assert_eq!(median(&[1, 3, 10, 20]), Some(6));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 90), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("24h").unwrap(), 86_400);
        assert_eq!(parse_duration("3d").unwrap(), 259_200);
        assert_eq!(parse_duration("2w").unwrap(), 1_209_600);
        for bad in ["", "h", "3", "-1h", "3x", "１h", "99999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(59), "0m");
        assert_eq!(format_duration(5 * 3600 + 12 * 60), "5h 12m");
        assert_eq!(format_duration(3 * 86_400 + 4 * 3600), "3d 4h");
    }
}
