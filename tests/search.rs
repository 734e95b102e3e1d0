//! Search end to end, through the real binary: counts against the synthetic
//! corpus's ground truth, every part of the query language against the
//! fixture mailbox (fixtures/expected.json), Japanese matching in every
//! charset, kanji/kana runs of the real Japanese corpora, and the output
//! contract of `search` and `count` (formats, order, paging, threads, exit
//! statuses, error messages, snippets).

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

type Ids = BTreeSet<String>;

// ---------------------------------------------------------------------------
// Helpers

/// `kura ARGS...` on an archive.
fn kura_run(archive: &Path, args: &[&str]) -> Output {
    run(kura(archive).args(args))
}

/// Message-IDs matching a query, as a set.
fn hits(archive: &Path, query: &str) -> Ids {
    ids(archive, query).into_iter().collect()
}

/// Message-IDs matching a query read with the configuration file `config`
/// (for `is:` terms), as a set.
fn configured_hits(archive: &Path, config: &Path, query: &str) -> Ids {
    let o = run(kura(archive)
        .env("KURA_CONFIG", config)
        .args(["search", "--format", "ids", "--"])
        .arg(query));
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{query}: {}",
        stderr(&o)
    );
    stdout(&o).lines().map(str::to_string).collect()
}

/// `search --format json ARGS... -- QUERY` as its array.
fn search_json(archive: &Path, args: &[&str], query: &str) -> Vec<Value> {
    let o = run(kura(archive)
        .args(["search", "--format", "json"])
        .args(args)
        .arg("--")
        .arg(query));
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "search {args:?} {query}: {}",
        stderr(&o)
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!(
            "search {query}: not one JSON document ({e}): {}",
            stdout(&o)
        )
    });
    v.as_array()
        .unwrap_or_else(|| panic!("search {query}: not an array: {v}"))
        .clone()
}

/// `search --format ids ARGS... -- QUERY` in output order.
fn ordered_ids(archive: &Path, args: &[&str], query: &str) -> Vec<String> {
    let o = run(kura(archive)
        .args(["search", "--format", "ids"])
        .args(args)
        .arg("--")
        .arg(query));
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "search {args:?} {query}: {}",
        stderr(&o)
    );
    stdout(&o).lines().map(str::to_string).collect()
}

/// `count --utc QUERY`.
fn count_utc(archive: &Path, query: &str) -> u64 {
    let o = run(kura(archive).args(["count", "--utc", "--"]).arg(query));
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "count --utc {query}: {}",
        stderr(&o)
    );
    stdout(&o).trim().parse().expect("a number")
}

fn set<'a>(v: impl IntoIterator<Item = &'a str>) -> Ids {
    v.into_iter().map(str::to_string).collect()
}

fn rfc3339(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
}

// ---------------------------------------------------------------------------
// The synthetic corpus: ~3000 delivered files, one archive for all its tests.

struct Synthetic {
    _dir: tempfile::TempDir,
    archive: PathBuf,
    truth: Value,
}

fn synthetic_archive() -> Option<&'static Synthetic> {
    static S: OnceLock<Option<Synthetic>> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mail = dir.path().join("mail");
        let truth = synthetic(&mail, 3000, 7)?;
        let archive = dir.path().join("a");
        let s = import(&archive, &[&mail]);
        assert_accounted(&s);
        assert_eq!(s["new"], truth["unique_messages"], "import: {s}");
        Some(Synthetic {
            _dir: dir,
            archive,
            truth,
        })
    })
    .as_ref()
}

#[test]
fn synthetic_term_counts_equal_the_truth() {
    let Some(s) = synthetic_archive() else { return };
    let terms = s.truth["probes"]["terms"].as_object().unwrap();
    assert!(terms.len() >= 6, "probe terms: {terms:?}");
    for (term, want) in terms {
        let want = want["subject_or_body"].as_u64().unwrap();
        assert_eq!(count(&s.archive, term), want, "count {term}");
    }
    // `search` lists exactly as many as `count` says.
    let first = terms.keys().next().unwrap();
    assert_eq!(
        hits(&s.archive, first).len() as u64,
        count(&s.archive, first)
    );
}

#[test]
fn synthetic_dates_in_utc_equal_the_truth() {
    let Some(s) = synthetic_archive() else { return };
    let a = &s.archive;
    let range = &s.truth["probes"]["date_range"];
    assert_eq!(range["tz"], "UTC");
    let q = format!(
        "date:{}..{}",
        range["from"].as_str().unwrap(),
        range["to"].as_str().unwrap()
    );
    assert_eq!(count_utc(a, &q), range["messages"].as_u64().unwrap(), "{q}");

    let months: BTreeMap<String, u64> = s.truth["month_counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    // Every month, among them Decembers and Januaries (the year boundary).
    assert!(months.keys().any(|m| m.ends_with("-12")) && months.keys().any(|m| m.ends_with("-01")));
    let mut got = BTreeMap::new();
    for (month, want) in &months {
        let n = count_utc(a, &format!("date:{month}"));
        assert_eq!(n, *want, "date:{month}");
        got.insert(month.clone(), n);
    }
    // A December and the January after it, as one range, are their sum.
    let dec = months.keys().find(|m| m.ends_with("-12")).unwrap();
    let year: i32 = dec[..4].parse().unwrap();
    let jan = format!("{}-01", year + 1);
    assert_eq!(
        count_utc(a, &format!("date:{dec}..{jan}")),
        months[dec] + months[&jan],
        "date:{dec}..{jan}"
    );
    // A whole year is the sum of its months.
    let y2022: u64 = got
        .iter()
        .filter(|(m, _)| m.starts_with("2022-"))
        .map(|(_, n)| n)
        .sum();
    assert!(y2022 > 0);
    assert_eq!(count_utc(a, "date:2022"), y2022, "date:2022");
    assert_eq!(count_utc(a, "date:2022-01..2022-12"), y2022);
    // All months together are every message.
    assert_eq!(
        got.values().sum::<u64>(),
        s.truth["unique_messages"].as_u64().unwrap()
    );
}

#[test]
fn synthetic_senders_equal_the_truth() {
    let Some(s) = synthetic_archive() else { return };
    let probe = &s.truth["probes"]["from"];
    let address = probe["address"].as_str().unwrap();
    assert_eq!(
        count(&s.archive, &format!("from:{address}")),
        probe["messages"].as_u64().unwrap(),
        "from:{address}"
    );
    // Every sender: a whole address is that address only, not every address
    // ending in it (yamaguchi@ is not k.yamaguchi@ of the same company).
    let senders = s.truth["from_counts"].as_object().unwrap();
    let tails = senders
        .keys()
        .filter(|a| {
            senders.keys().any(|b| {
                b.strip_suffix(a.as_str())
                    .and_then(|head| head.chars().last())
                    .is_some_and(|c| !c.is_ascii_alphanumeric())
            })
        })
        .count();
    assert!(
        tails > 0,
        "no sender address is the tail of another: pick another seed"
    );
    for (address, want) in senders {
        assert_eq!(
            count(&s.archive, &format!("from:{address}")),
            want.as_u64().unwrap(),
            "from:{address}"
        );
    }
}

#[test]
fn synthetic_customers_equal_the_truth() {
    let Some(s) = synthetic_archive() else { return };
    let customers = s.truth["customers"].as_object().unwrap();
    let mut by_size: Vec<(&String, u64)> = customers
        .iter()
        .map(|(d, v)| (d, v["messages"].as_u64().unwrap()))
        .collect();
    by_size.sort_by_key(|&(d, n)| (std::cmp::Reverse(n), d.clone()));
    // The five busiest, three small ones and two without any mail.
    let mut picked: Vec<(&String, u64)> = by_size.iter().take(5).copied().collect();
    picked.extend(by_size.iter().filter(|(_, n)| (1..=3).contains(n)).take(3));
    picked.extend(by_size.iter().filter(|(_, n)| *n == 0).take(2));
    assert!(picked.len() >= 8, "{picked:?}");
    for (domain, want) in picked {
        assert_eq!(
            count(&s.archive, &format!("customer:{domain}")),
            want,
            "customer:{domain}"
        );
    }
}

#[test]
fn synthetic_largest_thread_is_whole() {
    let Some(s) = synthetic_archive() else { return };
    let probe = &s.truth["probes"]["thread"];
    let root = probe["root"].as_str().unwrap();
    let o = kura_run(
        &s.archive,
        &["search", "--format", "jsonl", &format!("id:{root}")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "id:{root}: {out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let thread = v["thread"].as_str().unwrap();
    let want = probe["messages"].as_u64().unwrap();
    assert_eq!(count(&s.archive, &format!("thread:{thread}")), want);
    // And they are the conversation's messages.
    let label = probe["thread"].as_str().unwrap();
    let members: Ids = s.truth["thread_of"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, t)| t.as_str() == Some(label))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(members.len() as u64, want);
    assert_eq!(hits(&s.archive, &format!("thread:{thread}")), members);
}

// ---------------------------------------------------------------------------
// The fixture mailbox and its ground truth.

fn expected() -> &'static Value {
    static E: OnceLock<Value> = OnceLock::new();
    E.get_or_init(|| {
        let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// One archive of all fixtures, shared by the tests of this file.
fn fixture_archive() -> PathBuf {
    static ARCHIVE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = import_fixtures(&dir.path().join("a"));
        assert_accounted(&s);
        dir
    });
    dir.path().join("a")
}

/// expected.json names a message without Message-ID `file:PATH`; kura gives it
/// an id of its own, found through the place it was imported from.
fn resolve(id: &str) -> String {
    let Some(path) = id.strip_prefix("file:") else {
        return id.to_string();
    };
    let conn = rusqlite::Connection::open(fixture_archive().join("kura.sqlite")).unwrap();
    conn.query_row(
        "SELECT m.message_id FROM locations l JOIN messages m ON m.id = l.message WHERE l.source LIKE '%' || ?1",
        [path],
        |r| r.get(0),
    )
    .unwrap_or_else(|e| panic!("no message imported from {path}: {e}"))
}

/// A unique message of expected.json (the first copy of a conflict, the one indexed).
#[derive(Debug, Clone)]
struct Msg {
    id: String,
    date: String,
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    attachments: Vec<String>,
}

fn messages() -> &'static [Msg] {
    static M: OnceLock<Vec<Msg>> = OnceLock::new();
    M.get_or_init(|| {
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for m in expected()["messages"].as_array().unwrap() {
            let id = resolve(m["id"].as_str().unwrap());
            if !seen.insert(id.clone()) {
                continue;
            }
            out.push(Msg {
                id,
                date: m["date"].as_str().unwrap().to_string(),
                from: strs(&m["from"]).concat(),
                to: strs(&m["to"]),
                cc: strs(&m["cc"]),
                subject: m["subject"].as_str().unwrap().to_string(),
                attachments: strs(&m["attachments"]),
            });
        }
        assert_eq!(
            out.len() as u64,
            expected()["unique_messages"].as_u64().unwrap()
        );
        out
    })
}

fn all_ids() -> Ids {
    messages().iter().map(|m| m.id.clone()).collect()
}

fn where_(pred: impl Fn(&Msg) -> bool) -> Ids {
    messages()
        .iter()
        .filter(|m| pred(m))
        .map(|m| m.id.clone())
        .collect()
}

/// The ids expected.json lists for a term.
fn term(t: &str) -> Ids {
    expected()["terms"][t]
        .as_array()
        .unwrap_or_else(|| panic!("expected.json has no term {t}"))
        .iter()
        .map(|x| resolve(x.as_str().unwrap()))
        .collect()
}

fn and(a: &Ids, b: &Ids) -> Ids {
    a.intersection(b).cloned().collect()
}
fn or(a: &Ids, b: &Ids) -> Ids {
    a.union(b).cloned().collect()
}
fn minus(a: &Ids, b: &Ids) -> Ids {
    a.difference(b).cloned().collect()
}

/// True when `part` is in `address` as whole dot/dash-separated words.
fn address_has_words(address: &str, part: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, p) = (words(address), words(part));
    !p.is_empty() && a.windows(p.len()).any(|w| w == p.as_slice())
}

#[test]
fn address_fields_by_whole_address_part_and_name() {
    let a = fixture_archive();
    let msgs = messages();
    // Every sender, recipient and copy address, exactly.
    let froms: BTreeSet<&str> = msgs.iter().map(|m| m.from.as_str()).collect();
    for addr in &froms {
        assert_eq!(
            hits(&a, &format!("from:{addr}")),
            where_(|m| m.from == *addr),
            "from:{addr}"
        );
    }
    let tos: BTreeSet<&str> = msgs
        .iter()
        .flat_map(|m| m.to.iter().map(String::as_str))
        .collect();
    for addr in &tos {
        assert_eq!(
            hits(&a, &format!("to:{addr}")),
            where_(|m| m.to.iter().any(|t| t == addr)),
            "to:{addr}"
        );
    }
    let ccs: BTreeSet<&str> = msgs
        .iter()
        .flat_map(|m| m.cc.iter().map(String::as_str))
        .collect();
    assert!(!ccs.is_empty());
    for addr in &ccs {
        assert_eq!(
            hits(&a, &format!("cc:{addr}")),
            where_(|m| m.cc.iter().any(|t| t == addr)),
            "cc:{addr}"
        );
    }
    // Case and angle brackets do not matter.
    assert_eq!(
        hits(&a, "from:<TANAKA@Kyowa-Shoji.co.jp>"),
        where_(|m| m.from == "tanaka@kyowa-shoji.co.jp")
    );
    // Part of an address: whole words of it.
    for part in ["kyowa-shoji", "tanaka", "hikari-sys.co.jp", "acme-corp.com"] {
        let want = where_(|m| address_has_words(&m.from, part));
        assert!(!want.is_empty(), "{part}");
        assert_eq!(hits(&a, &format!("from:{part}")), want, "from:{part}");
    }
    assert_eq!(
        hits(&a, "to:minato-shokai"),
        where_(|m| m.to.iter().any(|t| address_has_words(t, "minato-shokai")))
    );
    // Display names (fixtures/README.md): 協和商事 田中 誠 is tanaka@kyowa-shoji.co.jp.
    let tanaka = where_(|m| m.from == "tanaka@kyowa-shoji.co.jp");
    assert_eq!(tanaka.len(), 2);
    assert_eq!(hits(&a, "from:田中"), tanaka);
    assert_eq!(hits(&a, "from:\"田中 誠\""), tanaka);
    // Typed without the space between family and given name.
    assert_eq!(hits(&a, "from:田中誠"), tanaka);
    assert_eq!(hits(&a, "from:協和商事田中誠"), tanaka);
    assert!(hits(&a, "from:誠田中").is_empty());
    assert_eq!(
        hits(&a, "from:協和商事"),
        where_(|m| m.from.ends_with("kyowa-shoji.co.jp"))
    );
    // from: looks at the sender only: 髙橋 is also a subject word elsewhere.
    assert_eq!(
        hits(&a, "from:髙橋"),
        where_(|m| m.from == "takahashi@hokuto-seiki.co.jp")
    );
    assert!(hits(&a, "髙橋").len() > 1);
    let nakamura = where_(|m| m.from == "nakamura@minato-shokai.co.jp");
    assert_eq!(hits(&a, "from:\"Misaki Nakamura\""), nakamura);
    assert!(
        hits(&a, "from:\"Nakamura Misaki\"").is_empty(),
        "order matters in a phrase"
    );
    assert_eq!(
        hits(&a, "to:\"John Miller\""),
        where_(|m| m.to.iter().any(|t| t == "j.miller@acme-corp.com"))
    );
    assert_eq!(
        hits(&a, "from:(tanaka OR kobayashi)"),
        or(
            &tanaka,
            &where_(|m| m.from == "kobayashi@minato-shokai.co.jp")
        )
    );
}

#[test]
fn customer_and_domain_in_any_role() {
    let a = fixture_archive();
    let in_any_role = |pred: &dyn Fn(&str) -> bool| {
        where_(|m| {
            std::iter::once(&m.from)
                .chain(&m.to)
                .chain(&m.cc)
                .any(|x| pred(x))
        })
    };
    for (key, want) in expected()["customers"].as_object().unwrap() {
        let computed = if key.contains('@') {
            in_any_role(&|x| x == key)
        } else {
            in_any_role(&|x| {
                x.rsplit_once('@')
                    .is_some_and(|(_, d)| d == key || d.ends_with(&format!(".{key}")))
            })
        };
        assert_eq!(
            computed.len() as u64,
            want.as_u64().unwrap(),
            "ground truth for {key}"
        );
        assert_eq!(
            hits(&a, &format!("customer:{key}")),
            computed,
            "customer:{key}"
        );
        if !key.contains('@') {
            assert_eq!(hits(&a, &format!("domain:{key}")), computed, "domain:{key}");
        }
    }
    // The subdomain alone, and a leading @.
    assert_eq!(
        hits(&a, "domain:tokyo.kyowa-shoji.co.jp"),
        in_any_role(&|x| x.ends_with("@tokyo.kyowa-shoji.co.jp"))
    );
    assert_eq!(
        hits(&a, "customer:@kyowa-shoji.co.jp"),
        hits(&a, "customer:kyowa-shoji.co.jp")
    );
    assert_eq!(
        hits(&a, "customer:TANAKA@KYOWA-SHOJI.CO.JP"),
        hits(&a, "customer:tanaka@kyowa-shoji.co.jp")
    );
}

#[test]
fn subject_body_and_attachment_fields() {
    let a = fixture_archive();
    for t in ["請求書", "日報", "配送", "invoice", "見積"] {
        let want = where_(|m| m.subject.to_lowercase().contains(t));
        assert!(!want.is_empty(), "{t}");
        assert_eq!(hits(&a, &format!("subject:{t}")), want, "subject:{t}");
    }
    // body: everything found for the term except what only its subject or
    // attachment names explain, and nothing outside the term's list.
    for t in ["請求書", "見積", "invoice", "展示会", "金型", "振込"] {
        let all = term(t);
        let body = hits(&a, &format!("body:{t}"));
        let elsewhere = where_(|m| {
            m.subject.to_lowercase().contains(t) || m.attachments.iter().any(|x| x.contains(t))
        });
        assert!(body.is_subset(&all), "body:{t}: {body:?} beyond {all:?}");
        assert!(
            minus(&all, &elsewhere).is_subset(&body),
            "body:{t} lacks some of {all:?}: {body:?}"
        );
    }
    // Words only in a body, or only in an attached message.
    assert_eq!(hits(&a, "body:展示会"), term("展示会"));
    assert!(hits(&a, "subject:展示会").is_empty());
    assert_eq!(hits(&a, "body:金型"), term("金型"));
    // The RFC 2231 name is the only place 請求書 appears in its message.
    let only_attachment = where_(|m| m.attachments.iter().any(|x| x.contains("請求書")));
    assert_eq!(only_attachment.len(), 1);
    assert!(hits(&a, "body:請求書").is_disjoint(&only_attachment));
    assert!(hits(&a, "subject:請求書").is_disjoint(&only_attachment));

    // Attachments by Japanese file name, has:attachment, mimetype:.
    for (t, want) in expected()["attachment_terms"].as_object().unwrap() {
        let want: Ids = want
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(hits(&a, &format!("attachment:{t}")), want, "attachment:{t}");
    }
    assert_eq!(
        hits(&a, "attachment:北斗精機"),
        where_(|m| m.attachments.iter().any(|x| x.contains("北斗精機")))
    );
    let pdfs = where_(|m| m.attachments.iter().any(|x| x.ends_with(".pdf")));
    assert_eq!(pdfs.len(), 3);
    assert_eq!(hits(&a, "mimetype:pdf"), pdfs);
    assert_eq!(hits(&a, "mimetype:application/pdf"), pdfs);
    assert_eq!(hits(&a, "mimetype:PDF"), pdfs);
    // A forwarded message/rfc822 is an attachment too (it has no file name,
    // so expected.json lists none for it).
    let forward = set(["9c8b7a6f-5e4d-4c3b-a2f1-0e9d8c7b6a5f@minato-shokai.co.jp"]);
    assert_eq!(
        hits(&a, "has:attachment"),
        or(&where_(|m| !m.attachments.is_empty()), &forward)
    );
    assert_eq!(hits(&a, "mimetype:message/rfc822"), forward);
}

#[test]
fn ids_threads_and_tags() {
    let a = fixture_archive();
    for m in messages() {
        let one = set([m.id.as_str()]);
        assert_eq!(hits(&a, &format!("id:{}", m.id)), one, "id:{}", m.id);
        assert_eq!(hits(&a, &format!("id:<{}>", m.id)), one, "id:<{}>", m.id);
    }
    assert!(hits(&a, "id:no-such-id@example.com").is_empty());
    // thread: the id kura prints, and its zero-padded form.
    let conversation: Ids = expected()["threads"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let root = conversation.iter().next().unwrap();
    let v = search_json(&a, &[], &format!("id:{root}"));
    let t = v[0]["thread"].as_str().unwrap();
    assert_eq!(hits(&a, &format!("thread:{t}")), conversation);
    assert_eq!(hits(&a, &format!("thread:000{t}")), conversation);
    // No tags exist yet: nothing, and exit status 1.
    for args in [
        vec!["count", "tag:important"],
        vec!["search", "--format", "ids", "tag:important"],
    ] {
        let o = kura_run(&a, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.trim() == "0" || out.is_empty(), "{args:?}: {out}");
    }
    // A tag in an OR changes nothing.
    assert_eq!(hits(&a, "tag:important OR invoice"), term("invoice"));
}

#[test]
fn boolean_combinations_are_set_operations() {
    let a = fixture_archive();
    let all = all_ids();
    let (invoice, delivery) = (term("invoice"), term("delivery"));
    let (mitsumori, mitsumorisho) = (term("見積"), term("見積書"));
    let (seikyusho, nippo) = (term("請求書"), term("日報"));
    assert_eq!(hits(&a, "*"), all);
    assert_eq!(hits(&a, "invoice delivery"), and(&invoice, &delivery));
    assert_eq!(hits(&a, "invoice AND delivery"), and(&invoice, &delivery));
    assert_eq!(hits(&a, "invoice OR 見積"), or(&invoice, &mitsumori));
    assert_eq!(hits(&a, "NOT invoice"), minus(&all, &invoice));
    assert_eq!(hits(&a, "-invoice"), minus(&all, &invoice));
    assert_eq!(hits(&a, "* -invoice"), minus(&all, &invoice));
    assert_eq!(hits(&a, "見積 -見積書"), minus(&mitsumori, &mitsumorisho));
    assert_eq!(
        hits(&a, "見積 AND NOT 見積書"),
        minus(&mitsumori, &mitsumorisho)
    );
    assert_eq!(
        hits(&a, "(見積 OR 請求書) -見積書"),
        minus(&or(&mitsumori, &seikyusho), &mitsumorisho)
    );
    assert_eq!(
        hits(&a, "-(見積 OR 請求書)"),
        minus(&all, &or(&mitsumori, &seikyusho))
    );
    // NOT binds tighter than AND, AND tighter than OR.
    assert_eq!(
        hits(&a, "日報 OR 見積 見積書"),
        or(&nippo, &and(&mitsumori, &mitsumorisho))
    );
    assert_eq!(
        hits(&a, "(日報 OR 見積) 見積書"),
        and(&or(&nippo, &mitsumori), &mitsumorisho)
    );
    assert_eq!(
        hits(&a, "NOT invoice OR delivery"),
        or(&minus(&all, &invoice), &delivery)
    );
    assert_eq!(hits(&a, "NOT NOT invoice"), invoice);
    // Lower-case or/and are words, not operators.
    assert!(hits(&a, "invoice or delivery").is_empty());
    // Words given as separate arguments after `--`, the first one negated.
    let o = kura_run(&a, &["search", "--format", "ids", "--", "-見積書", "見積"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got: Ids = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(got, minus(&mitsumori, &mitsumorisho));
    // A full-width minus, as a Japanese input method types it, excludes
    // too; not an option's dash, it needs no `--`.
    assert_eq!(hits(&a, "見積 －見積書"), minus(&mitsumori, &mitsumorisho));
    let o = kura_run(&a, &["search", "--format", "ids", "－見積書", "見積"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got: Ids = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(got, minus(&mitsumori, &mitsumorisho));
    // Nor does a negated Japanese word, field, phrase or group: without
    // `--` they are the query's, not options (`-has:…` was `-h`, the help).
    for args in [
        &["-見積書", "見積"][..],
        &["見積", "-\"見積書\""],
        &["見積", "-(見積書)"],
        &["見積", "-body:見積書"],
    ] {
        let o = kura_run(&a, &[&["search", "--format", "ids"][..], args].concat());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let got: Ids = stdout(&o).lines().map(str::to_string).collect();
        assert_eq!(got, minus(&mitsumori, &mitsumorisho), "{args:?}");
    }
    // A plain word too, unless it is the command's options (`-hold` is not
    // `-h`, the help).
    for word in ["delivery", "hold"] {
        let o = kura_run(
            &a,
            &["search", "--format", "ids", "invoice", &format!("-{word}")],
        );
        assert_eq!(o.status.code(), Some(0), "{word}: {}", stderr(&o));
        let got: Ids = stdout(&o).lines().map(str::to_string).collect();
        assert_eq!(got, hits(&a, &format!("invoice -{word}")), "{word}");
    }
    let o = kura_run(&a, &["search", "invoice", "-quiet"]);
    assert_eq!(o.status.code(), Some(2), "a long option with one dash");
    let with_files = where_(|m| !m.attachments.is_empty());
    let o = kura_run(
        &a,
        &["search", "--format", "ids", "見積", "-has:attachment"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got: Ids = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(got, minus(&mitsumori, &with_files));
}

#[test]
fn negated_phrases_and_addresses() {
    // Excluding a phrase or an address (a phrase of its words) works, alone
    // and next to other terms; it used to abort the search.
    let a = fixture_archive();
    let all = all_ids();
    let support_from = where_(|m| m.from == "support@minato-shokai.co.jp");
    let support_cc = where_(|m| m.cc.iter().any(|c| c == "support@minato-shokai.co.jp"));
    assert!(!support_from.is_empty() && !support_cc.is_empty());
    assert_eq!(
        hits(&a, "-from:support@minato-shokai.co.jp"),
        minus(&all, &support_from)
    );
    assert_eq!(
        hits(
            &a,
            "cc:support@minato-shokai.co.jp -from:nakamura@minato-shokai.co.jp"
        ),
        minus(
            &support_cc,
            &where_(|m| m.from == "nakamura@minato-shokai.co.jp")
        )
    );
    let shipment = where_(|m| m.subject.contains("February shipment"));
    assert_eq!(shipment.len(), 4);
    assert_eq!(
        hits(&a, "-subject:\"February shipment\""),
        minus(&all, &shipment)
    );
    assert_eq!(
        hits(&a, "(invoice OR 請求書) -subject:\"February shipment\""),
        minus(&or(&term("invoice"), &term("請求書")), &shipment)
    );
    assert_eq!(
        hits(&a, "請求書 -subject:\"再発行のお願い\""),
        minus(
            &term("請求書"),
            &where_(|m| m.subject.contains("再発行のお願い"))
        )
    );
    let either = or(&hits(&a, "\"February shipment\""), &term("invoice"));
    assert_eq!(
        count(&a, "-\"February shipment\" -invoice"),
        minus(&all, &either).len() as u64
    );
}

#[test]
fn quoted_phrases_keep_word_order() {
    let a = fixture_archive();
    let shipment = where_(|m| m.subject.contains("February shipment"));
    let phrase = hits(&a, "\"February shipment\"");
    assert!(shipment.is_subset(&phrase), "{phrase:?}");
    assert!(phrase.is_subset(&hits(&a, "February shipment")));
    assert!(hits(&a, "\"shipment February\"").is_empty());
    assert!(!hits(&a, "shipment February").is_empty());
    let onegai = where_(|m| m.subject.contains("再発行のお願い"));
    assert_eq!(hits(&a, "\"再発行のお願い\""), onegai);
    assert_eq!(hits(&a, "「再発行のお願い」"), onegai);
    assert!(hits(&a, "\"お願いの再発行\"").is_empty());
    assert_eq!(hits(&a, "subject:\"Misaki Nakamura\""), Ids::new());
}

// ---------------------------------------------------------------------------
// Japanese

#[test]
fn japanese_near_misses_widths_and_single_kanji() {
    let a = fixture_archive();
    let (seikyusho, yokyusho) = (term("請求書"), term("要求書"));
    assert_eq!(hits(&a, "請求書"), seikyusho);
    assert_eq!(hits(&a, "要求書"), yokyusho);
    assert!(seikyusho.is_disjoint(&yokyusho));
    assert_eq!(hits(&a, "\"仕様要求書\""), yokyusho);
    assert!(hits(&a, "\"仕様請求書\"").is_empty());
    // Their common tail finds both.
    assert_eq!(hits(&a, "求書"), or(&seikyusho, &yokyusho));
    // Mixed Japanese and Latin, in one word or in a phrase.
    let cp932 = set(["000001da6f3c$4a2b1c00$de8e5400$@hokuto-seiki.co.jp"]);
    assert_eq!(hits(&a, "六角ボルトM8"), cp932);
    assert_eq!(hits(&a, "\"六角ボルト M8\""), cp932);
    let jis = set(["20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp"]);
    assert_eq!(hits(&a, "請求書番号：MS-2402-038"), jis);
    assert_eq!(hits(&a, "MS-2402-038"), jis);
    // Full width and half width are the same characters.
    assert_eq!(hits(&a, "ＭＳ－２４０２－０３８"), jis);
    assert_eq!(hits(&a, "ｾｲｷｭｳ"), term("セイキュウ"));
    assert_eq!(hits(&a, "セイキュウ"), term("セイキュウ"));
    assert_eq!(hits(&a, "ＩＮＶＯＩＣＥ"), term("invoice"));
    assert_eq!(
        hits(&a, "4月以降"),
        where_(|m| m.subject.contains("４月以降"))
    );
    // One kanji: every message containing it.
    assert_eq!(hits(&a, "鍮"), cp932);
    assert_eq!(hits(&a, "髙"), term("髙橋"));
    let sei = hits(&a, "請");
    assert!(seikyusho.is_subset(&sei) && !sei.contains("5f3e2d1c0b9a@hikari-sys.co.jp"));
}

#[test]
fn every_japanese_charset_is_searchable() {
    let a = fixture_archive();
    // (charset, Message-ID, a word of its body, a word of its subject)
    let cases = [
        (
            "ISO-2022-JP",
            "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp",
            "旧社名",
            "再発行",
        ),
        (
            "Shift_JIS (CP932)",
            "000001da6f3c$4a2b1c00$de8e5400$@hokuto-seiki.co.jp",
            "真鍮",
            "部品単価",
        ),
        (
            "cp932 with carrier emoji",
            "20240308171205.b7f3.takahashi.k-0707@docomo.ne.jp",
            "髙橋",
            "北斗精機",
        ),
        (
            "EUC-JP",
            "202403080930.MAA01234@maruei-logi.co.jp",
            "燃料費",
            "料金改定",
        ),
        (
            "EUC-JP without a label",
            "202403110830.IAA00417@sv1.kotobuki-print.co.jp",
            "紙の在庫",
            "増刷",
        ),
        (
            "UTF-8 base64",
            "TYCP286MB1234A5B6C7D8E9F0A1B2C3D4E5F6@TYCP286.prod.outlook.com",
            "ステンレス棚板",
            "東京支店",
        ),
        (
            "UTF-8 8bit",
            "5f3e2d1c0b9a@hikari-sys.co.jp",
            "要求書",
            "仕様要求書",
        ),
    ];
    for (charset, id, body, subject) in cases {
        assert!(
            messages()
                .iter()
                .any(|m| m.id == id && m.subject.contains(subject)),
            "{charset}: expected.json subject of {id} lacks {subject}"
        );
        for q in [body.to_string(), format!("body:{body}")] {
            assert!(
                hits(&a, &q).contains(id),
                "{charset}: {q} does not find {id}"
            );
        }
        for q in [subject.to_string(), format!("subject:{subject}")] {
            assert!(
                hits(&a, &q).contains(id),
                "{charset}: {q} does not find {id}"
            );
        }
    }
}

/// Hiragana, katakana (with ー) and kanji (with 々).
fn is_kanji_or_kana(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{30FC}' | '\u{3005}'
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

/// The longest run of kanji/kana in `text` (the first of equal length).
fn longest_run(text: &str) -> Vec<char> {
    let mut best: Vec<char> = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_kanji_or_kana(c) {
            cur.push(c);
        } else {
            if cur.len() > best.len() {
                best = cur.clone();
            }
            cur.clear();
        }
    }
    best
}

#[test]
fn real_japanese_mail_is_found_by_its_words() {
    let Some(corpora) = corpora() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for name in ["jpmobile-fixtures", "sisimai-bounces"] {
        let dir = corpora.join(name);
        if !dir.is_dir() {
            eprintln!("skipping {name}: absent");
            continue;
        }
        let archive = tmp.path().join(name);
        import(&archive, &[&dir]);
        let all = ordered_ids(&archive, &[], "*");
        assert!(!all.is_empty(), "{name}: nothing imported");
        let mut checked = 0;
        for id in &all {
            let o = kura_run(&archive, &["show", "--format", "json", id]);
            assert!(o.status.success(), "{name}: show {id}: {}", stderr(&o));
            let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
            let body = v["body"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: no body: {v}"));
            let run = longest_run(body);
            if run.len() < 3 {
                continue;
            }
            checked += 1;
            let head: String = run.iter().take(4).collect();
            let tail: String = run[run.len() - 3..].iter().collect();
            for q in [head, tail] {
                let found = ids(&archive, &q);
                assert!(
                    found.contains(id),
                    "{name}: {q:?} (from its text) does not find {id}"
                );
            }
        }
        assert!(checked > 0, "{name}: no Japanese text at all?");
        report.push(format!(
            "{name}: {checked} of {} messages checked",
            all.len()
        ));
    }
    eprintln!("{}", report.join("; "));
}

// ---------------------------------------------------------------------------
// Output contract

const MESSAGE_KEYS: &[&str] = &[
    "message_id",
    "thread",
    "date",
    "from",
    "to",
    "cc",
    "reply_to",
    "subject",
    "snippet",
    "attachments",
    "tags",
];

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn check_mailbox(v: &Value) -> String {
    assert_eq!(keys(v), BTreeSet::from(["name", "address"]), "{v}");
    assert!(v["name"].is_string(), "{v}");
    v["address"].as_str().unwrap().to_string()
}

#[test]
fn json_objects_have_exactly_the_documented_keys() {
    let a = fixture_archive();
    let all = search_json(&a, &[], "*");
    assert_eq!(all.len(), messages().len());
    let by_id: BTreeMap<&str, &Msg> = messages().iter().map(|m| (m.id.as_str(), m)).collect();
    for v in &all {
        assert_eq!(keys(v), MESSAGE_KEYS.iter().copied().collect(), "{v}");
        let id = v["message_id"].as_str().unwrap();
        let want = by_id
            .get(id)
            .unwrap_or_else(|| panic!("unknown message {id}"));
        assert!(v["thread"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
        assert!(v["snippet"].is_string() && v["subject"].is_string(), "{v}");
        assert_eq!(v["subject"].as_str().unwrap(), want.subject, "{id}");
        assert_eq!(
            rfc3339(v["date"].as_str().unwrap()),
            rfc3339(&want.date),
            "{id} date"
        );
        assert_eq!(check_mailbox(&v["from"]), want.from, "{id} from");
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap_or_else(|| panic!("{id}: {k} is not an array"))
                .iter()
                .map(check_mailbox)
                .collect()
        };
        assert_eq!(list("to"), want.to, "{id} to");
        assert_eq!(list("cc"), want.cc, "{id} cc");
        let atts = v["attachments"].as_array().unwrap();
        let named: Vec<&str> = atts
            .iter()
            .map(|x| {
                assert_eq!(keys(x), BTreeSet::from(["filename", "mime", "size"]), "{x}");
                assert!(x["mime"].as_str().is_some_and(|m| m.contains('/')), "{x}");
                assert!(x["size"].as_u64().is_some(), "{x}");
                x["filename"].as_str().unwrap()
            })
            .filter(|n| !n.is_empty())
            .collect();
        assert_eq!(named, want.attachments, "{id} attachments");
        assert_eq!(v["tags"], Value::Array(vec![]), "{id} tags");
    }
    // With --utc the same instants are written in UTC.
    for v in search_json(&a, &["--utc"], "*") {
        let d = v["date"].as_str().unwrap();
        assert!(d.ends_with('Z') || d.ends_with("+00:00"), "{d}");
    }
}

#[test]
fn formats_order_and_paging() {
    let a = fixture_archive();
    let json = search_json(&a, &[], "*");
    let json_ids: Vec<String> = json
        .iter()
        .map(|v| v["message_id"].as_str().unwrap().to_string())
        .collect();
    // jsonl: the same objects, one per line.
    let o = kura_run(&a, &["search", "--format", "jsonl", "*"]);
    assert_eq!(o.status.code(), Some(0));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines, json);
    // ids: one Message-ID per line, in the same order.
    let newest = ordered_ids(&a, &[], "*");
    assert_eq!(newest, json_ids);
    // text: one line per message.
    let o = kura_run(&a, &["search", "--format", "text", "*"]);
    assert_eq!(stdout(&o).lines().count(), newest.len());
    // Newest first by default, oldest first on request.
    let dates: Vec<_> = json
        .iter()
        .map(|v| rfc3339(v["date"].as_str().unwrap()))
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    let oldest = ordered_ids(&a, &["--sort", "oldest"], "*");
    let mut reversed = newest.clone();
    reversed.reverse();
    assert_eq!(oldest, reversed);
    assert_eq!(ordered_ids(&a, &["--sort", "newest"], "*"), newest);
    // Relevance lists the same messages.
    let rel: Ids = ordered_ids(&a, &["--sort", "relevance"], "請求書")
        .into_iter()
        .collect();
    assert_eq!(rel, term("請求書"));
    // Paging slices the full list.
    for (order, full) in [("newest", &newest), ("oldest", &oldest)] {
        let page = ordered_ids(&a, &["--sort", order, "--limit", "3", "--offset", "2"], "*");
        assert_eq!(page, full[2..5].to_vec(), "{order}");
        let tail = ordered_ids(&a, &["--sort", order, "--offset", "25"], "*");
        assert_eq!(tail, full[25..].to_vec(), "{order}");
    }
    let rel_full = ordered_ids(&a, &["--sort", "relevance"], "請求書");
    assert_eq!(
        ordered_ids(
            &a,
            &["--sort", "relevance", "--limit", "2", "--offset", "1"],
            "請求書"
        ),
        rel_full[1..3].to_vec()
    );
    // A limit as large as can be typed is no limit, also after an offset
    // (relevance added the two, which wrapped round: nothing was listed).
    let most = usize::MAX.to_string();
    for (order, full, q) in [
        ("newest", &newest, "*"),
        ("oldest", &oldest, "*"),
        ("relevance", &rel_full, "請求書"),
    ] {
        let page = ordered_ids(&a, &["--sort", order, "--limit", &most, "--offset", "1"], q);
        assert_eq!(page, full[1..].to_vec(), "{order}");
    }
    assert_eq!(search_json(&a, &["--limit", "2"], "*").len(), 2);
    // Past the end: nothing printed, but something matched (status 0).
    for args in [
        vec!["search", "--format", "ids", "--offset", "1000", "*"],
        vec!["search", "--format", "json", "--limit", "0", "*"],
    ] {
        let o = kura_run(&a, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(
            stdout(&o).trim().is_empty() || stdout(&o).trim() == "[]",
            "{args:?}"
        );
    }
}

#[test]
fn thread_listing() {
    let a = fixture_archive();
    for q in ["請求", "*", "invoice OR 見積"] {
        let o = kura_run(&a, &["search", "--threads", "--format", "json", "--", q]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let threads: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
        let o = kura_run(&a, &["count", "--threads", "--", q]);
        let n: usize = stdout(&o).trim().parse().unwrap();
        assert_eq!(threads.len(), n, "count --threads {q}");
        let mut matched = 0;
        let mut seen = BTreeSet::new();
        let mut last_dates = Vec::new();
        for t in &threads {
            assert_eq!(
                keys(t),
                BTreeSet::from([
                    "thread",
                    "first_date",
                    "last_date",
                    "matched",
                    "total",
                    "participants",
                    "subject"
                ]),
                "{t}"
            );
            let id = t["thread"].as_str().unwrap();
            assert!(seen.insert(id.to_string()), "thread {id} listed twice");
            let (first, last) = (
                rfc3339(t["first_date"].as_str().unwrap()),
                rfc3339(t["last_date"].as_str().unwrap()),
            );
            assert!(first <= last, "{t}");
            last_dates.push(last);
            let (m, total) = (t["matched"].as_u64().unwrap(), t["total"].as_u64().unwrap());
            assert!(m >= 1 && m <= total, "{t}");
            assert_eq!(total, count(&a, &format!("thread:{id}")), "{t}");
            assert_eq!(m, count(&a, &format!("thread:{id} ({q})")), "{t}");
            matched += m;
            let people = t["participants"].as_array().unwrap();
            assert!(
                !people.is_empty() && people.iter().all(|p| p.is_string()),
                "{t}"
            );
            assert!(t["subject"].is_string());
        }
        assert_eq!(matched, count(&a, q), "{q}: matched messages");
        assert!(
            last_dates.windows(2).all(|w| w[0] >= w[1]),
            "{q}: newest thread first"
        );
    }
    // The conversation of 請求書の再発行 is one thread of three.
    let o = kura_run(
        &a,
        &[
            "search",
            "--threads",
            "--format",
            "json",
            "subject:再発行のお願い",
        ],
    );
    let threads: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    let totals: BTreeSet<u64> = threads
        .iter()
        .map(|t| t["total"].as_u64().unwrap())
        .collect();
    assert_eq!(totals, BTreeSet::from([1, 3]), "{threads:?}");
    // Paging threads, and nothing matched.
    let o = kura_run(&a, &["search", "--threads", "--format", "ids", "*"]);
    let all: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    let o = kura_run(
        &a,
        &[
            "search",
            "--threads",
            "--format",
            "ids",
            "--limit",
            "2",
            "--offset",
            "1",
            "*",
        ],
    );
    let page: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(page, all[1..3].to_vec());
    // --sort oldest lists the same threads the other way round; relevance
    // puts the thread of the best match first.
    let o = kura_run(
        &a,
        &[
            "search",
            "--threads",
            "--sort",
            "oldest",
            "--format",
            "ids",
            "*",
        ],
    );
    let mut oldest: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_ne!(oldest, all);
    oldest.reverse();
    assert_eq!(oldest, all);
    let best = |threads: bool| {
        let mut args = vec!["search", "--sort", "relevance", "--limit", "1"];
        args.extend(if threads {
            ["--threads", "--format", "json"]
        } else {
            ["--format", "json", "--utc"]
        });
        args.push("請求書");
        let o = kura_run(&a, &args);
        let v: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
        v[0]["thread"].as_str().unwrap().to_string()
    };
    assert_eq!(best(true), best(false));
    let o = kura_run(
        &a,
        &[
            "search",
            "--threads",
            "--format",
            "json",
            "nosuchwordanywhere",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).trim(), "[]");
    let o = kura_run(&a, &["count", "--threads", "nosuchwordanywhere"]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "0"));
}

#[test]
fn exit_statuses() {
    let a = fixture_archive();
    for (args, code) in [
        (vec!["search", "--format", "ids", "invoice"], 0),
        (vec!["count", "invoice"], 0),
        (vec!["search", "--format", "ids", "nosuchwordanywhere"], 1),
        (vec!["search", "--format", "json", "nosuchwordanywhere"], 1),
        (vec!["count", "nosuchwordanywhere"], 1),
    ] {
        let o = kura_run(&a, &args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        if code == 1 {
            let out = stdout(&o);
            assert!(matches!(out.trim(), "" | "[]" | "0"), "{args:?}: {out}");
        }
    }
}

/// The bad query, the text the message must name, and where it is.
const BAD_QUERIES: &[(&str, &str, usize)] = &[
    ("from:", "from:", 0),
    ("(a", "(", 0),
    ("foo:bar", "foo:", 0),
    ("見積 foo:bar", "foo:", 7),
    ("a OR", "OR", 2),
    ("date:2023-02-30", "2023-02-30", 5),
    ("\"unterminated", "\"", 0),
    ("  ・ -、", "nothing to search for", 2),
    // Nothing stands for characters between two Japanese ones in the index.
    ("見積 請求*書", "two words: 請求 書", 13),
];

#[test]
fn bad_queries_are_status_2_with_the_bad_part_shown() {
    let a = fixture_archive();
    for &(q, part, _) in BAD_QUERIES {
        for cmd in ["search", "count"] {
            let o = kura_run(&a, &[cmd, "--", q]);
            assert_eq!(o.status.code(), Some(2), "{cmd} {q:?}: {}", stderr(&o));
            assert!(stdout(&o).is_empty(), "{cmd} {q:?}: {}", stdout(&o));
            let err = stderr(&o);
            assert!(err.contains("bad query"), "{q:?}: {err}");
            assert!(err.contains(part), "{q:?}: {err}");
            assert!(err.contains(q), "{q:?}: the query is not shown: {err}");
            assert!(
                err.contains('^'),
                "{q:?}: nothing marks the bad part: {err}"
            );
        }
    }
}

/// The marks stand under the bad part of the query, on the line below it.
#[test]
fn bad_query_marks_line_up_under_the_bad_part() {
    let a = fixture_archive();
    for &(q, _, col) in BAD_QUERIES {
        let o = kura_run(&a, &["search", "--", q]);
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        let at = lines
            .iter()
            .position(|l| *l == q)
            .unwrap_or_else(|| panic!("{q:?}: the query is not on a line of its own: {err:?}"));
        let marks = lines.get(at + 1).copied().unwrap_or("");
        let lead = marks.len() - marks.trim_start().len();
        // Display columns: CJK characters are two wide.
        let width: usize = q[..col]
            .chars()
            .map(|c| if is_kanji_or_kana(c) { 2 } else { 1 })
            .sum();
        assert_eq!(lead, width, "{q:?}: {err:?}");
        assert!(marks.trim_start().starts_with('^'), "{q:?}: {err:?}");
    }
}

#[test]
fn snippets_show_the_searched_word() {
    let a = fixture_archive();
    for word in [
        "warehouse",
        "展示会",
        "旧社名",
        "金型",
        "燃料費",
        "ステンレス棚板",
        "シャフト",
    ] {
        let found = search_json(&a, &[], word);
        assert!(!found.is_empty(), "{word}");
        for v in &found {
            let snippet = v["snippet"].as_str().unwrap();
            assert!(
                snippet.to_lowercase().contains(word),
                "{word}: snippet of {} lacks it: {snippet}",
                v["message_id"]
            );
            assert!(snippet.chars().count() <= 200, "{snippet}");
        }
    }
    // A half-width query marks the full-width text it matched.
    for v in search_json(&a, &[], "ｾｲｷｭｳ") {
        let s = v["snippet"].as_str().unwrap();
        assert!(s.contains("ｾｲｷｭｳ") || s.contains("セイキュウ"), "{s}");
    }
}

// ---------------------------------------------------------------------------
// A small mailbox of one company's addresses in different headers:
// tanaka@ and k.tanaka@ are two people, and each is in From, To or Cc of
// different messages.

/// The mails of [`header_archive`]: (Message-ID, headers, body).
const HEADER_MAILS: &[(&str, &str, &str)] = &[
    (
        "m1@kyowa.co.jp",
        "From: k.tanaka@kyowa.co.jp\nTo: info@sakura.co.jp\nCc: tanaka@kyowa.co.jp\n\
         Subject: invoice 請求書 見積\nDate: Mon, 4 Mar 2024 10:00:00 +0900",
        "Please find the invoice. 請求書と見積をお送りします。",
    ),
    (
        "m2@sakura.co.jp",
        "From: Info@Sakura.co.jp\nTo: =?UTF-8?B?55Sw5Lit?= <Tanaka@Kyowa.co.jp>\n\
         Cc: k.tanaka@kyowa.co.jp\nSubject: delivery schedule\n\
         Date: Tue, 5 Mar 2024 10:00:00 +0900",
        "The delivery is on Friday. 納品は金曜日です。",
    ),
    (
        "m3@hikari.co.jp",
        "From: suzuki@hikari.co.jp\nTo: k.tanaka@kyowa.co.jp, sales@sakura.co.jp\n\
         Cc: info@sakura.co.jp\nSubject: invoice question\n\
         Date: Wed, 6 Mar 2024 10:00:00 +0900",
        "A question about the invoice total.",
    ),
    (
        "m4@kyowa.co.jp",
        "From: tanaka@kyowa.co.jp\nTo: info@sakura.co.jp\nSubject: Re: invoice 請求書 見積\n\
         In-Reply-To: <m1@kyowa.co.jp>\nReferences: <m1@kyowa.co.jp>\n\
         Date: Thu, 7 Mar 2024 10:00:00 +0900",
        "Thank you. 見積の件、承知しました。",
    ),
];

/// An archive of [`HEADER_MAILS`], one .eml file each, built once.
fn header_archive() -> PathBuf {
    static A: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    A.get_or_init(new_header_archive).1.clone()
}

/// A new archive of [`HEADER_MAILS`] (their files are in `mail/` beside it).
fn new_header_archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    for (n, (id, headers, body)) in HEADER_MAILS.iter().enumerate() {
        let text = format!(
            "{headers}\nMessage-ID: <{id}>\nMIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\n\n{body}\n"
        );
        std::fs::write(mail.join(format!("{n}.eml")), text).unwrap();
    }
    let archive = dir.path().join("a");
    let s = import(&archive, &[&mail]);
    assert_eq!(s["new"], HEADER_MAILS.len(), "import: {s}");
    (dir, archive)
}

/// The Message-IDs of [`HEADER_MAILS`] numbered `n` (1-based).
fn mails(n: &[usize]) -> Ids {
    n.iter()
        .map(|&i| HEADER_MAILS[i - 1].0.to_string())
        .collect()
}

#[test]
fn a_whole_address_matches_in_its_own_header_only() {
    let a = header_archive();
    for (q, want) in [
        // k.tanaka@ sent 1, where tanaka@ is in Cc: 1 is not from tanaka@.
        ("from:tanaka@kyowa.co.jp", mails(&[4])),
        ("from:k.tanaka@kyowa.co.jp", mails(&[1])),
        ("from:<Tanaka@Kyowa.co.jp>", mails(&[4])),
        // The header's case does not matter either.
        ("from:info@sakura.co.jp", mails(&[2])),
        ("to:tanaka@kyowa.co.jp", mails(&[2])),
        ("to:k.tanaka@kyowa.co.jp", mails(&[3])),
        ("to:info@sakura.co.jp", mails(&[1, 4])),
        ("to:sales@sakura.co.jp", mails(&[3])),
        ("cc:tanaka@kyowa.co.jp", mails(&[1])),
        ("cc:k.tanaka@kyowa.co.jp", mails(&[2])),
        ("cc:info@sakura.co.jp", mails(&[3])),
        ("from:suzuki@hikari.co.jp", mails(&[3])),
        ("cc:suzuki@hikari.co.jp", mails(&[])),
        // Beside other terms, in OR, negated, in a field group.
        ("from:tanaka@kyowa.co.jp invoice", mails(&[4])),
        ("from:tanaka@kyowa.co.jp delivery", mails(&[])),
        (
            "from:tanaka@kyowa.co.jp OR cc:tanaka@kyowa.co.jp",
            mails(&[1, 4]),
        ),
        ("-from:tanaka@kyowa.co.jp", mails(&[1, 2, 3])),
        ("invoice -to:info@sakura.co.jp", mails(&[3])),
        (
            "-cc:tanaka@kyowa.co.jp -to:k.tanaka@kyowa.co.jp",
            mails(&[2, 4]),
        ),
        (
            "to:(tanaka@kyowa.co.jp OR sales@sakura.co.jp)",
            mails(&[2, 3]),
        ),
        // Part of an address is still its words, in that header.
        ("from:tanaka", mails(&[1, 4])),
        ("cc:tanaka", mails(&[1, 2])),
        // In any role, as before.
        ("customer:tanaka@kyowa.co.jp", mails(&[1, 2, 4])),
    ] {
        assert_eq!(hits(&a, q), want, "search {q}");
        assert_eq!(count(&a, q), want.len() as u64, "count {q}");
        let by_relevance: Ids = ordered_ids(&a, &["--sort", "relevance"], q)
            .into_iter()
            .collect();
        assert_eq!(by_relevance, want, "search --sort relevance {q}");
    }
    // Threads: 4 replies to 1; from:tanaka@ matches one message of it.
    let o = kura_run(
        &a,
        &[
            "search",
            "--threads",
            "--format",
            "json",
            "--",
            "from:tanaka@kyowa.co.jp",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let threads: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(threads[0]["matched"], 1, "{threads:?}");
    assert_eq!(threads[0]["total"], 2, "{threads:?}");
    for (q, n) in [
        ("from:tanaka@kyowa.co.jp", "1"),
        ("cc:suzuki@hikari.co.jp", "0"),
        ("-from:tanaka@kyowa.co.jp", "3"),
    ] {
        let o = kura_run(&a, &["count", "--threads", "--", q]);
        assert_eq!(stdout(&o).trim(), n, "count --threads {q}: {}", stderr(&o));
    }
}

/// A word that is an address with stars is a pattern of whole addresses:
/// in its header after from:, to: and cc:, in any header (and as words of
/// the text) without a field.
#[test]
fn an_address_with_stars_matches_whole_addresses() {
    let a = header_archive();
    for (q, want) in [
        ("from:*@kyowa.co.jp", mails(&[1, 4])),
        ("from:tanaka@*", mails(&[4])),
        ("from:*tanaka@*.co.jp", mails(&[1, 4])),
        ("from:tanaka@*.co.jp invoice", mails(&[4])),
        ("to:k.*@*", mails(&[3])),
        ("to:*@sakura.co.jp", mails(&[1, 3, 4])),
        ("to:<*@SAKURA.co.jp>", mails(&[1, 3, 4])),
        ("cc:*@*", mails(&[1, 2, 3])),
        ("-cc:*@*", mails(&[4])),
        ("cc:*@* -cc:*@sakura.co.jp", mails(&[1, 2])),
        ("to:(*@hikari.co.jp OR sales@*)", mails(&[3])),
        // Without a field: an address of any header.
        ("tanaka@*.co.jp", mails(&[1, 2, 4])),
        ("*@hikari.co.jp", mails(&[3])),
        // A star glued to a word of it is a word's wildcard, as elsewhere.
        ("from:tanak*", mails(&[1, 4])),
    ] {
        assert_eq!(hits(&a, q), want, "search {q}");
        assert_eq!(count(&a, q), want.len() as u64, "count {q}");
    }
}

/// Hits of the raw `addr` term `term`, read from the index directly.
fn raw_addr_hits(a: &Path, term: &str) -> usize {
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    let fields = kura::index::fields_of(&index).unwrap();
    let q = tantivy::query::TermQuery::new(
        tantivy::Term::from_field_text(fields.addr, term),
        tantivy::schema::IndexRecordOption::Basic,
    );
    let reader = index.reader().unwrap();
    reader
        .searcher()
        .search(&q, &tantivy::collector::Count)
        .unwrap()
}

/// `kura check [--repair] --format json`: (exit status, report).
fn check_report(a: &Path, repair: bool) -> (i32, Value) {
    let mut c = kura(a);
    c.args(["check", "--format", "json"]);
    if repair {
        c.arg("--repair");
    }
    let o = run(&mut c);
    let v = serde_json::from_str(&stdout(&o)).unwrap();
    (o.status.code().unwrap_or(-1), v)
}

/// Rewrites the index documents of the mail in `dir/mail` (imported into
/// `a`) as a kura without header terms wrote them; returns the row after
/// the last of them.
fn without_header_terms(dir: &Path, a: &Path) -> i64 {
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    let mut rows = Vec::new();
    change_index(a, |w, fields| {
        let mut docs = Vec::new();
        for e in std::fs::read_dir(dir.join("mail")).unwrap() {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            let m = kura::parse::parse_message(&raw, None).unwrap();
            let row: i64 = db
                .query_row(
                    "SELECT id FROM messages WHERE message_id = ?1",
                    [&m.message_id],
                    |r| r.get(0),
                )
                .unwrap();
            // The `addr` field held each address and its domains only.
            let mut old = tantivy::TantivyDocument::new();
            for (field, value) in kura::index::document(fields, &m).field_values() {
                if field != fields.addr {
                    old.add_field_value(field, value);
                }
            }
            let mut addr = Vec::new();
            for mb in m.from.iter().chain(&m.to).chain(&m.cc) {
                if !mb.address.is_empty() {
                    kura::index::addr_terms(&mb.address, &mut addr);
                }
            }
            addr.sort();
            addr.dedup();
            for a in &addr {
                old.add_text(fields.addr, a);
            }
            kura::index::set_id(&mut old, fields, row);
            rows.push(row);
            docs.push(old);
        }
        kura::index::delete_ids(w, &rows).unwrap();
        for doc in docs {
            w.add_document(doc).unwrap();
        }
    });
    rows.iter().max().unwrap() + 1
}

/// An index written before the terms that say which header an address is in
/// (a whole-address query is one such term) lacks them: the messages of
/// rows below the recorded `addr_roles_since` are checked in the store
/// instead, with the same results; `kura reindex` writes the terms for all.
/// Documents without them above that row (an older kura wrote to the
/// archive after this one) are found by `kura check` and rewritten by
/// `--repair`.
#[test]
fn whole_addresses_in_documents_written_without_their_header_terms() {
    let (dir, a) = new_header_archive();
    let queries = [
        "from:tanaka@kyowa.co.jp",
        "to:info@sakura.co.jp",
        "cc:k.tanaka@kyowa.co.jp",
        "-from:tanaka@kyowa.co.jp",
        "invoice -to:info@sakura.co.jp",
        "customer:tanaka@kyowa.co.jp",
        "from:*@kyowa.co.jp",
        "cc:*@*",
        "-to:k.*@*",
    ];
    let before: Vec<Ids> = queries.iter().map(|q| hits(&a, q)).collect();
    // Directions are read off the header terms too (sakura.co.jp is the
    // company: m2 is its reply, the rest come from outside).
    let config = dir.path().join("kura.toml");
    std::fs::write(&config, "internal_domains = [\"sakura.co.jp\"]\n").unwrap();
    let directions = || -> Vec<Ids> {
        [
            "is:inbound",
            "is:outbound",
            "is:internal",
            "delivery -is:inbound",
        ]
        .iter()
        .map(|q| configured_hits(&a, &config, q))
        .collect()
    };
    let directed = vec![mails(&[1, 3, 4]), mails(&[2]), Ids::new(), mails(&[2])];
    assert_eq!(directions(), directed);
    let term = kura::index::role_address_term(kura::index::AddressRole::From, "tanaka@kyowa.co.jp");
    assert_eq!(raw_addr_hits(&a, &term), 1);
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    let since = || -> String {
        db.query_row(
            "SELECT value FROM meta WHERE key = 'addr_roles_since'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(since(), "1", "a new archive has the terms throughout");

    // The documents as an earlier version wrote them, and the row id from
    // which this version would write them.
    let next_row = without_header_terms(dir.path(), &a);
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'addr_roles_since'",
        [next_row.to_string()],
    )
    .unwrap();
    assert_eq!(raw_addr_hits(&a, &term), 0, "the documents lack the terms");
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(
            &hits(&a, q),
            want,
            "search {q}, documents without the terms"
        );
        assert_eq!(count(&a, q), want.len() as u64, "count {q}");
    }
    assert_eq!(directions(), directed, "documents without the terms");
    // Unrecorded (no kura that writes the terms has opened the archive for
    // writing): every document is checked in the store.
    db.execute("DELETE FROM meta WHERE key = 'addr_roles_since'", [])
        .unwrap();
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&hits(&a, q), want, "search {q}, nothing recorded");
    }
    assert_eq!(directions(), directed, "nothing recorded");

    reindex(&a);
    assert_eq!(since(), "0");
    assert_eq!(raw_addr_hits(&a, &term), 1, "reindex writes the terms");
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&hits(&a, q), want, "search {q}, after reindex");
    }
    assert_eq!(directions(), directed, "after reindex");

    // An older kura writes the documents again, after this one recorded that
    // every row has the terms: whole-address queries miss them, and check
    // says so.
    without_header_terms(dir.path(), &a);
    db.execute(
        "UPDATE meta SET value = '1' WHERE key = 'addr_roles_since'",
        [],
    )
    .unwrap();
    assert!(hits(&a, queries[0]).is_empty(), "the gap check closes");
    let check = |repair: bool| check_report(&a, repair);
    let (code, r) = check(false);
    let stale: Vec<&serde_json::Value> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "index_stale")
        .collect();
    assert_eq!(code, 2, "{r}");
    assert_eq!(stale.len(), HEADER_MAILS.len(), "{r}");
    let (code, r) = check(true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(raw_addr_hits(&a, &term), 1, "repair writes the terms");
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&hits(&a, q), want, "search {q}, after check --repair");
    }
    let (code, r) = check(false);
    assert_eq!(
        (code, r["problems"].as_array().unwrap().len()),
        (0, 0),
        "{r}"
    );
}

/// `kura check` finds the documents without header terms whatever the
/// addresses: right after an import of odd address headers it finds
/// nothing (an address too long for an index term has no header term, and
/// none is asked for), and a document written without header terms is
/// found even when one of its addresses began with the control character
/// that header terms begin with (this version drops control characters
/// from addresses, but an earlier one stored them, and its plain address
/// term looked like a header term).
#[test]
fn check_tells_stale_documents_whatever_their_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let long = format!("{}@x.jp", "a".repeat(70_000));
    let mails = [
        ("long@x.jp", format!("From: {long}")),
        (
            "ctl@x.jp",
            "From: \u{1}from\u{1}victim@x.jp\nTo: z@x.jp".to_string(),
        ),
        (
            "plain@x.jp",
            "From: tanaka@kyowa.co.jp\nTo: info@sakura.co.jp".to_string(),
        ),
        (
            "odd@x.jp",
            "From: Just A Name\nTo: undisclosed-recipients:;\nCc: <>, \"a b\"@x.jp".to_string(),
        ),
    ];
    for (n, (id, headers)) in mails.iter().enumerate() {
        let text = format!(
            "{headers}\nSubject: s\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\
             Message-ID: <{id}>\n\nbody\n"
        );
        std::fs::write(mail.join(format!("{n}.eml")), text).unwrap();
    }
    let a = dir.path().join("a");
    let s = import(&a, &[&mail]);
    assert_eq!(s["new"], mails.len(), "import: {s}");
    let check = |repair: bool| -> (i32, Vec<String>) {
        let (code, r) = check_report(&a, repair);
        let problems = r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} {}", p["kind"], p["message_id"]))
            .collect();
        (code, problems)
    };
    assert_eq!(check(false), (0, vec![]), "after the import");

    without_header_terms(dir.path(), &a);
    assert!(
        hits(&a, "to:z@x.jp").is_empty(),
        "the documents lack the terms"
    );
    let (code, mut problems) = check(false);
    problems.sort();
    let stale = |id: &str| format!("\"index_stale\" \"{id}\"");
    assert_eq!(
        (code, problems),
        (
            2,
            vec![stale("ctl@x.jp"), stale("odd@x.jp"), stale("plain@x.jp")]
        )
    );
    assert_eq!(check(true).0, 0, "repair");
    assert_eq!(hits(&a, "to:z@x.jp"), ["ctl@x.jp".to_string()].into());
    assert_eq!(check(false), (0, vec![]), "after the repair");
}

#[test]
fn an_address_with_control_characters_cannot_pass_for_another_in_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let write = |n: usize, headers: &str| {
        let text = format!("{headers}\nSubject: s{n}\nMessage-ID: <c{n}@x.jp>\n\nbody\n");
        std::fs::write(mail.join(format!("{n}.eml")), text).unwrap();
    };
    // (Its From is its only address: check asks for its header term alone.)
    write(1, "From: <\u{1}from\u{1}victim@x.jp>");
    write(2, "From: Victim <victim@x.jp>\nTo: z@x.jp");
    let a = dir.path().join("a");
    assert_eq!(import(&a, &[&mail])["new"], 2);
    let want: Ids = ["c2@x.jp".to_string()].into_iter().collect();
    assert_eq!(hits(&a, "from:victim@x.jp"), want);
    assert_eq!(check_report(&a, false).0, 0);
    // As an earlier version stored the address: check reads it as this one
    // does, so a reindex leaves nothing to report.
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    let changed = db
        .execute(
            "UPDATE addresses SET address = ?1 WHERE address = 'fromvictim@x.jp'",
            ["\u{1}from\u{1}victim@x.jp"],
        )
        .unwrap();
    assert_eq!(changed, 1);
    reindex(&a);
    let (code, r) = check_report(&a, false);
    assert_eq!(code, 0, "{r}");
    assert_eq!(hits(&a, "from:victim@x.jp"), want);
}

#[test]
fn a_reindex_brings_the_recorded_addresses_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    std::fs::write(
        mail.join("1.eml"),
        "From: =?UTF-8?B?55Sw5LitIOiqoA==?= <tanaka@kyowa.co.jp>\nTo: info@sakura.co.jp\n\
         Cc: Suzuki <suzuki@kyowa.co.jp>\nSubject: s\nMessage-ID: <r1@x.jp>\n\nbody\n",
    )
    .unwrap();
    let a = dir.path().join("a");
    assert_eq!(import(&a, &[&mail])["new"], 1);
    let recorded = || {
        let json: Value = serde_json::from_str(&stdout(&run(
            kura(&a).args(["show", "--format", "json", "r1@x.jp"])
        )))
        .unwrap();
        (json["from"].clone(), json["to"].clone(), json["cc"].clone())
    };
    let right = recorded();
    assert_eq!(right.0["name"], "田中 誠", "{right:?}");

    // As an earlier version might have read the headers: another From name,
    // a To address it got wrong, the Cc not at all.
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET from_name = '=?UTF-8?B?55Sw5LitIOiqoA==?=';
         UPDATE addresses SET name = '=?UTF-8?B?55Sw5LitIOiqoA==?=' WHERE role = 0;
         UPDATE addresses SET address = 'info@sakura' WHERE role = 1;
         DELETE FROM addresses WHERE role = 2;",
    )
    .unwrap();
    drop(db);
    assert_ne!(recorded(), right);

    let said = reindex(&a);
    assert!(
        said.contains("1 messages indexed, the addresses of 1 brought up to date"),
        "{said}"
    );
    assert_eq!(recorded(), right);
    assert_eq!(check_report(&a, false).0, 0);
    assert_eq!(
        hits(&a, "cc:suzuki@kyowa.co.jp"),
        ["r1@x.jp".to_string()].into()
    );
    let said = reindex(&a);
    assert!(
        !said.contains("brought up to date"),
        "nothing left to update: {said}"
    );
}

/// `kura check` finds a document whose header terms are only partly what
/// the database records (its From right, its To read otherwise), either
/// way round, and `--repair` makes the two agree with the original as this
/// version reads it: the document rebuilt, and the database's addresses
/// brought up to date.
#[test]
fn check_finds_documents_whose_addresses_are_partly_not_the_recorded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let raw = "From: Tanaka <tanaka@kyowa.co.jp>\nTo: info@sakura.co.jp\n\
               Cc: Suzuki <suzuki@kyowa.co.jp>\nSubject: s\nMessage-ID: <p1@x.jp>\n\nbody\n";
    std::fs::write(mail.join("1.eml"), raw).unwrap();
    let a = dir.path().join("a");
    assert_eq!(import(&a, &[&mail])["new"], 1);
    let stale = || -> Vec<String> {
        let (_, r) = check_report(&a, false);
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} {}", p["kind"].as_str().unwrap(), p["detail"]))
            .collect()
    };
    assert_eq!(stale(), Vec::<String>::new());
    let to = || hits(&a, "to:info@sakura.co.jp");
    let found: Ids = ["p1@x.jp".to_string()].into();
    assert_eq!(to(), found);

    // The index read the To otherwise (as an earlier version might have).
    change_index(&a, |w, fields| {
        let mut m = kura::parse::parse_message(raw.as_bytes(), None).unwrap();
        m.to[0].address = "info@sakura".into();
        let mut doc = kura::index::document(fields, &m);
        kura::index::set_id(&mut doc, fields, 1);
        kura::index::delete_ids(w, &[1]).unwrap();
        w.add_document(doc).unwrap();
    });
    assert!(to().is_empty());
    let problems = stale();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("index_stale") && problems[0].contains("lacks 1 of the 3"),
        "{problems:?}"
    );
    let (code, r) = check_report(&a, true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(to(), found);
    assert_eq!(stale(), Vec::<String>::new());

    // The database read the Cc otherwise: the index is the original's
    // reading, and the repair brings the database to it.
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    db.execute(
        "UPDATE addresses SET address = 'suzuki@kyowa' WHERE role = 2",
        [],
    )
    .unwrap();
    drop(db);
    assert_eq!(stale().len(), 1);
    let (code, r) = check_report(&a, true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(stale(), Vec::<String>::new());
    let json: Value = serde_json::from_str(&stdout(&run(
        kura(&a).args(["show", "--format", "json", "p1@x.jp"])
    )))
    .unwrap();
    assert_eq!(json["cc"][0]["address"], "suzuki@kyowa.co.jp", "{json}");
}

#[test]
fn words_with_nothing_searchable_are_left_out() {
    let a = header_archive();
    let invoice = mails(&[1, 3, 4]);
    assert_eq!(hits(&a, "invoice"), invoice);
    for q in [
        "invoice &",
        "& invoice",
        "invoice -&",
        "invoice OR &",
        "invoice AND ・",
        "invoice / 、",
        "invoice \"、\"",
        "invoice 「・」",
        "subject:・ invoice",
        "invoice from:(& OR /)",
        "invoice -(& OR ・)",
        "invoice NOT &",
    ] {
        assert_eq!(hits(&a, q), invoice, "search {q}");
        assert_eq!(count(&a, q), invoice.len() as u64, "count {q}");
        let o = kura_run(&a, &["count", "--threads", "--", q]);
        assert_eq!(
            stdout(&o).trim(),
            "2",
            "count --threads {q}: {}",
            stderr(&o)
        );
    }
    let both = mails(&[1, 4]);
    assert_eq!(hits(&a, "請求書 見積"), both);
    assert_eq!(hits(&a, "請求書 ・ 見積"), both);
    assert_eq!(hits(&a, "請求書　、　見積"), both);
    // Left out of a group, the rest of the group stays.
    assert_eq!(hits(&a, "from:(& OR suzuki)"), mails(&[3]));
    assert_eq!(hits(&a, "delivery OR ・"), mails(&[2]));
    assert_eq!(hits(&a, "* -&"), mails(&[1, 2, 3, 4]));
    // A word too long to be indexed is text, not punctuation: it matches nothing.
    let long = "x".repeat(100);
    assert_eq!(count(&a, &format!("invoice {long}")), 0);
}

#[test]
fn a_query_of_only_unsearchable_words_is_an_error() {
    let a = header_archive();
    for q in [
        "&",
        "・ 、",
        "-&",
        "NOT /",
        "\"、\"",
        "subject:・",
        "(& OR /)",
        "from:(& OR ・) -、",
    ] {
        for args in [
            vec!["search", "--", q],
            vec!["count", "--", q],
            vec!["search", "--threads", "--", q],
        ] {
            let o = kura_run(&a, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
            let err = stderr(&o);
            assert!(err.contains("bad query"), "{args:?}: {err}");
            assert!(err.contains("nothing to search for"), "{args:?}: {err}");
            assert!(err.contains(q) && err.contains('^'), "{args:?}: {err}");
        }
    }
}

/// `mails` written to `TMP/mail` as `.eml` files; returns the folder.
fn write_emls(tmp: &Path, mails: &[impl AsRef<[u8]>]) -> PathBuf {
    let dir = tmp.join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    for (n, mail) in mails.iter().enumerate() {
        std::fs::write(dir.join(format!("{n}.eml")), mail).unwrap();
    }
    dir
}

/// An archive of `mails` imported as a folder of `.eml` files (kept while
/// the returned guard lives).
fn eml_archive(mails: &[impl AsRef<[u8]>]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_emls(tmp.path(), mails);
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&dir]);
    assert_eq!(s["new"], mails.len(), "import: {s}");
    (tmp, archive)
}

#[test]
fn a_phrase_does_not_run_from_one_value_of_a_field_into_the_next() {
    let part = |name: &str| {
        format!(
            "--B\nContent-Type: application/octet-stream\n\
             Content-Disposition: attachment; filename*=UTF-8''{}\n\
             Content-Transfer-Encoding: base64\n\naGVsbG8=\n",
            name.bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        )
    };
    let mail = format!(
        "From: a@x.example\nTo: =?UTF-8?B?5p2x5Lqs?= <t@x.example>, =?UTF-8?B?5Lqs6YO9?= <k@x.example>\n\
         Subject: files\nMessage-ID: <values@x.example>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=B\n\n\
         --B\nContent-Type: text/plain; charset=utf-8\n\nbody\n{}{}--B--\n",
        part("東京"),
        part("京都")
    );
    let (_tmp, archive) = eml_archive(&[mail]);
    // Each value is found (the To names 東京 and 京都, the files 東京 and 京都)...
    for q in ["attachment:東京", "attachment:京都", "to:東京", "to:京都"] {
        assert_eq!(count(&archive, q), 1, "{q}");
    }
    // ...but not a phrase that would start in one and end in the next.
    for q in ["attachment:東京都", "to:東京都", "東京都"] {
        assert_eq!(count(&archive, q), 0, "{q}");
    }
}

#[test]
fn a_word_ending_in_a_star_is_a_prefix() {
    let mails = [
        (1, "Invoice for March", "the monthly invoice"),
        (2, "Invoices", "two monthly invoices attached"),
        (3, "Re: invoicing", "請求書の件"),
        (4, "Meeting", "this will involve everyone"),
    ]
    .map(|(n, subject, body)| {
        format!(
            "From: a@x.example\nSubject: {subject}\nMessage-ID: <p{n}@x.example>\n\
             Content-Type: text/plain; charset=utf-8\n\n{body}\n"
        )
    });
    let (_tmp, archive) = eml_archive(&mails);
    let ids = |q: &str| -> Vec<String> {
        let mut v = ids(&archive, q);
        v.sort();
        v
    };
    let p = |ns: &[u32]| -> Vec<String> { ns.iter().map(|n| format!("p{n}@x.example")).collect() };
    for (q, want) in [
        ("invoi*", p(&[1, 2, 3])),
        ("INVOICE*", p(&[1, 2])),
        ("invol*", p(&[4])),
        ("subject:invoic*", p(&[1, 2, 3])),
        ("body:invoic*", p(&[1, 2])),
        // In quotes, a star is punctuation: the phrase is `monthly invoice`.
        ("\"monthly invoice*\"", p(&[1])),
        ("monthly invoices*", p(&[2])),
        // Words joined by punctuation are a phrase; its last word a prefix.
        ("monthly-invoic*", p(&[1, 2])),
        ("inv* -invoices", p(&[1, 3, 4])),
        // A star after Japanese adds nothing: it matches inside words anyway.
        ("請求*", p(&[3])),
        // Without the star, a word is a word.
        ("invoi", p(&[])),
    ] {
        assert_eq!(ids(q), want, "{q}");
    }
}

#[test]
fn a_star_before_or_inside_a_word_is_a_wildcard() {
    let filler = "The weather was fine and nothing else happened that day. ".repeat(6);
    let mails = [
        (
            1,
            "a@x.example",
            "Station",
            format!("{filler}Your invitation is attached."),
        ),
        (
            2,
            "b@mail.shop.example",
            "Invoice for March",
            "the monthly invoice".into(),
        ),
        (
            3,
            "c@shop.example",
            "Invoices",
            "two monthly invoices attached".into(),
        ),
        (
            4,
            "tanaka@kyowa.example",
            "Meeting",
            "this will involve everyone".into(),
        ),
        (
            5,
            "k.tanaka@kyowa.example",
            "請求書",
            "請求書をお送りします".into(),
        ),
    ]
    .map(|(n, from, subject, body)| {
        let (head, part) = if n == 5 {
            (
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n",
                "\n--B\nContent-Type: image/png; name=logo.png\n\
                 Content-Transfer-Encoding: base64\n\niVBORw0K\n--B--\n",
            )
        } else {
            ("", "")
        };
        format!(
            "From: {from}\nTo: info@sakura.example\nSubject: {subject}\n\
             Message-ID: <w{n}@x.example>\n{head}\
             Content-Type: text/plain; charset=utf-8\n\n{body}\n{part}"
        )
    });
    let (_tmp, archive) = eml_archive(&mails);
    let ids = |q: &str| -> Vec<String> {
        let mut v = ids(&archive, q);
        v.sort();
        v
    };
    let w = |ns: &[u32]| -> Vec<String> { ns.iter().map(|n| format!("w{n}@x.example")).collect() };
    for (q, want) in [
        // A star before a word: the words that end with it.
        ("*tion", w(&[1])),
        ("*TATION", w(&[1])),
        ("*voice", w(&[2])),
        ("subject:*voices", w(&[3])),
        ("body:*volve", w(&[4])),
        // Stars on both sides, or inside: the words that hold it.
        ("*voic*", w(&[2, 3])),
        ("in*ces", w(&[3])),
        ("in*ce", w(&[2])),
        ("i*v*ce*", w(&[2, 3])),
        ("monthly *voices", w(&[3])),
        ("-*voice*", w(&[1, 4, 5])),
        // In quotes, a star is punctuation.
        ("\"*tion\"", w(&[])),
        // Japanese needs no star: it matches inside words anyway.
        ("*求書", w(&[5])),
        // Addresses: any address at a domain, in a header or anywhere.
        ("from:*@kyowa.example", w(&[4, 5])),
        ("from:*tanaka@kyowa.example", w(&[4, 5])),
        ("from:tanaka@kyowa.example", w(&[4])),
        ("*@shop.example", w(&[2, 3])),
        ("customer:*@kyowa.example", w(&[4, 5])),
        ("customer:*.shop.example", w(&[2])),
        ("customer:k.*", w(&[5])),
        ("domain:*shop*", w(&[2, 3])),
        ("mimetype:image/*", w(&[5])),
        ("mimetype:*/pdf", w(&[])),
    ] {
        assert_eq!(ids(q), want, "{q}");
    }
    // The snippet is cut around the word a wildcard found.
    for q in ["*tation", "invitat*", "inv*tion"] {
        let found = search_json(&archive, &[], q);
        assert_eq!(found.len(), 1, "{q}");
        let snippet = found[0]["snippet"].as_str().unwrap();
        assert!(snippet.contains("invitation"), "{q}: {snippet}");
    }
}

/// The patterns of a query (the one-character kanji of a phrase, a word
/// with a star) are compiled once each, however many text fields and
/// spellings of a phrase they are searched in: 400 copies of a phrase of
/// five single kanji (a 10 KB query) took 31 s on the sample mailbox, as
/// each of its patterns was compiled again for every field and every
/// spelling with its spaces left out. 400 phrases that differ but share
/// their kanji took 4.9 s (release build); a copy repeated is now searched
/// once (the parser's `without_repeats`), so only phrases that differ
/// still test the compiled patterns kept.
#[test]
fn a_query_of_many_patterns_is_answered_in_bounded_time() {
    let a = fixture_archive();
    let mut phrases: Vec<String> = (0..400).map(|i| format!("\"株 式 会 社 {i}\"")).collect();
    phrases.push("\"株 式 会 社 ひ\"".into());
    for (what, query) in [
        ("phrases sharing single kanji", phrases.join(" OR ")),
        (
            "phrases of single kanji",
            ["\"株 式 会 社 ひ\""; 400].join(" OR "),
        ),
        ("one kanji", ["株"; 1400].join(" OR ")),
        ("a star before a word", ["*voice"; 1400].join(" ")),
    ] {
        assert!(query.len() <= 10_000, "{what}: {}", query.len());
        let t = Instant::now();
        let o = run(kura(&a).args(["count", "--"]).arg(&query));
        let took = t.elapsed();
        eprintln!("{what}: {took:?}");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
    }
}

/// The mails of the quoting tests: a customer's complaint, and what the
/// company wrote back about it in the ways mailers quote (Gmail's `>` under
/// an attribution, Outlook's banner in ISO-2022-JP, a forward as an
/// attachment, an answer between quoted lines).
fn quoting_mails() -> Vec<Vec<u8>> {
    let head = |n: u32, from: &str, subject: &str| {
        format!(
            "From: {from}\nTo: info@sakura.example\nSubject: {subject}\n\
             Message-ID: <q{n}@x.example>\nDate: Wed, 10 Apr 2024 1{n}:00:00 +0900\nMIME-Version: 1.0\n"
        )
    };
    let utf8 = |n: u32, from: &str, body: &str| {
        format!(
            "{}Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}",
            head(n, from, "Re: 検品結果")
        )
        .into_bytes()
    };
    let complaint = "青木です。\n納品いただいた部品に不良品が混入しておりました。\n";
    let outlook_body = format!(
        "承知いたしました。返品をお受けいたします。\n\n-----Original Message-----\n\
         差出人: 青木 亮 <r.aoki@myojo.example>\n送信日時: 2024年4月10日 10:00\n\
         件名: 検品結果\n\n{complaint}"
    );
    let (outlook, _, _) = encoding_rs::ISO_2022_JP.encode(&outlook_body);
    let mut outlook_mail = format!(
        "{}Content-Type: text/plain; charset=iso-2022-jp\nContent-Transfer-Encoding: 7bit\n\n",
        head(3, "Suzuki <suzuki@sakura.example>", "RE: 検品結果")
    )
    .into_bytes();
    outlook_mail.extend_from_slice(&outlook);
    vec![
        utf8(1, "青木 亮 <r.aoki@myojo.example>", complaint),
        utf8(
            2,
            "Tanaka <tanaka@sakura.example>",
            &format!(
                "代替品を至急手配いたします。\n\n\
                 2024年4月10日(水) 10:00 青木 亮 <r.aoki@myojo.example>:\n{}",
                complaint
                    .lines()
                    .map(|l| format!("> {l}\n"))
                    .collect::<String>()
            ),
        ),
        outlook_mail,
        format!(
            "{}Content-Type: multipart/mixed; boundary=B\n\n\
             --B\nContent-Type: text/plain; charset=utf-8\n\nご確認ください。\n\
             --B\nContent-Type: message/rfc822\n\n\
             From: r.aoki@myojo.example\nSubject: 検品結果\nContent-Type: text/plain; charset=utf-8\n\n\
             {complaint}--B--\n",
            head(4, "Tanaka <tanaka@sakura.example>", "FW: 検品結果")
        )
        .into_bytes(),
        utf8(
            5,
            "Sato <sato@sakura.example>",
            "> Could you tell us when the order will ship? We need it before the end of \
             the month for our customer.\nIt will ship next Monday.\n> And the invoice?\nAttached.\n",
        ),
        // The complaint quoted below an attribution without `>` markers.
        utf8(
            6,
            "Suzuki <suzuki@sakura.example>",
            &format!(
                "交換品を本日発送いたしました。\n\n\
                 2024/04/10 10:00、青木 亮 <r.aoki@myojo.example>のメール:\n\n{complaint}"
            ),
        ),
    ]
}

/// Which of the quoting mails (by number) each query finds.
fn quoting_queries() -> Vec<(&'static str, Vec<u32>)> {
    vec![
        ("不良品", vec![1, 2, 3, 4, 6]),
        ("body:不良品", vec![1, 2, 3, 4, 6]),
        ("unquoted:不良品", vec![1]),
        ("quoted:不良品", vec![2, 3, 4, 6]),
        ("is:outbound unquoted:不良品", vec![]),
        ("unquoted:代替品", vec![2]),
        ("unquoted:返品", vec![3]),
        ("unquoted:確認", vec![4]),
        ("quoted:確認", vec![]),
        ("unquoted:交換品", vec![6]),
        // The attribution, Outlook's header block and the forwarded
        // message's sender are quoted.
        ("unquoted:aoki", vec![]),
        ("quoted:aoki", vec![2, 3, 4, 6]),
        ("quoted:送信日時", vec![3]),
        // Answers between quoted lines are the message's own.
        ("unquoted:\"next monday\"", vec![5]),
        ("unquoted:attached", vec![5]),
        ("quoted:ship", vec![5]),
        ("unquoted:ship", vec![5]),
        ("unquoted:customer", vec![]),
        ("ship -unquoted:customer", vec![5]),
    ]
}

fn assert_quoting_queries(archive: &Path, config: &Path) {
    for (q, want) in quoting_queries() {
        let want: Ids = want.iter().map(|n| format!("q{n}@x.example")).collect();
        assert_eq!(configured_hits(archive, config, q), want, "{q}");
    }
}

#[test]
fn unquoted_finds_what_a_message_says_and_quoted_what_it_quotes() {
    let (tmp, archive) = eml_archive(&quoting_mails());
    let config = tmp.path().join("kura.toml");
    std::fs::write(&config, "internal_domains = [\"sakura.example\"]\n").unwrap();
    assert_quoting_queries(&archive, &config);
    // A snippet shows the words where the query found them: an answer given
    // below the question it quotes is shown from the answer.
    let snippet = |q: &str| search_json(&archive, &[], q)[0]["snippet"].to_string();
    let any = snippet("ship");
    assert!(any.contains("the order will ship"), "{any}");
    let own = snippet("unquoted:ship");
    assert!(
        own.contains("It will ship") && !own.contains("order"),
        "{own}"
    );
    // A word on a header beside it leaves the snippet to the own lines.
    let own = snippet("from:sato unquoted:ship");
    assert!(
        own.contains("It will ship") && !own.contains("order"),
        "{own}"
    );
    let quoted = snippet("quoted:不良品");
    assert!(quoted.contains("不良品"), "{quoted}");

    // `show --unquoted` and `thread --unquoted` print the own text alone:
    // under a Gmail attribution, above Outlook's banner, beside a forward.
    let out = |args: &[&str]| {
        let o = run(kura(&archive).args(args));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    for (id, own) in [
        ("q2@x.example", "代替品を至急手配いたします。"),
        ("q3@x.example", "承知いたしました。返品をお受けいたします。"),
        ("q4@x.example", "ご確認ください。"),
        ("q6@x.example", "交換品を本日発送いたしました。"),
    ] {
        let whole = out(&["show", id]);
        assert!(whole.contains(own) && whole.contains("不良品"), "{whole}");
        let text = out(&["show", id, "--unquoted"]);
        assert!(text.trim_end().ends_with(&format!("\n{own}")), "{text}");
        assert!(!text.contains("不良品"), "{text}");
        let json: Value =
            serde_json::from_str(&out(&["show", "--format", "json", "--unquoted", id])).unwrap();
        assert_eq!(json["body"], format!("{own}\n"));
        let thread = out(&["thread", id, "--unquoted"]);
        assert!(
            thread.contains(own) && !thread.contains("不良品"),
            "{thread}"
        );
        assert!(out(&["thread", id, "--body"]).contains("不良品"));
    }
    let inline = out(&["show", "q5@x.example", "--unquoted"]);
    assert!(
        inline
            .trim_end()
            .ends_with("\nIt will ship next Monday.\nAttached."),
        "{inline}"
    );
}

/// The quoting mails imported into an archive whose index was created
/// with today's schema without `quoted`, as earlier builds wrote it:
/// (guard, the mail folder, the archive).
fn archive_with_an_older_index() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let mails = quoting_mails();
    let dir = write_emls(tmp.path(), &mails);
    let archive = tmp.path().join("a");
    let index_dir = archive.join("index");
    std::fs::create_dir_all(&index_dir).unwrap();
    let mut older = tantivy::schema::Schema::builder();
    for (_, entry) in kura::index::schema().0.fields() {
        if entry.name() != "quoted" {
            older.add_field(entry.clone());
        }
    }
    tantivy::Index::create_in_dir(&index_dir, older.build()).unwrap();
    let s = import(&archive, &[&dir]);
    assert_eq!(s["new"], mails.len(), "import: {s}");
    (tmp, dir, archive)
}

/// The index version the archive records.
fn index_version(archive: &Path) -> String {
    rusqlite::Connection::open(archive.join("kura.sqlite"))
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'index_version'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// An index written before quoted text had a field of its own: every query
/// works as before, `quoted:` and `unquoted:` exit 2 asking for a reindex,
/// which makes them work.
#[test]
fn quoted_and_unquoted_ask_an_older_index_for_a_reindex() {
    let (tmp, _, archive) = archive_with_an_older_index();
    for (q, n) in [("不良品", 5), ("body:不良品", 5), ("ship", 1), ("返品", 1)] {
        assert_eq!(count(&archive, q), n, "{q}");
    }
    // The archive says its index is of version 2, which builds that know
    // nothing of `quoted` read and write alike; after the reindex, 3, which
    // they refuse rather than write all text in `body`.
    assert_eq!(index_version(&archive), "2");
    for q in ["unquoted:不良品", "quoted:aoki"] {
        let o = run(kura(&archive).args(["count", q]));
        assert_eq!(o.status.code(), Some(2), "{q}");
        assert!(stderr(&o).contains("kura reindex"), "{q}: {}", stderr(&o));
    }
    reindex(&archive);
    assert_eq!(
        index_version(&archive),
        kura::index::INDEX_VERSION.to_string()
    );
    assert_eq!(index_version(&archive), "3");
    let config = tmp.path().join("kura.toml");
    std::fs::write(&config, "internal_domains = [\"sakura.example\"]\n").unwrap();
    assert_quoting_queries(&archive, &config);
}

/// An archive of version 2 whose index has gone: the import that builds a
/// new one (with the `quoted` field) records version 3, so that builds that
/// know only version 2 refuse the archive instead of writing quoted text
/// into `body`.
#[test]
fn an_index_built_afresh_records_its_own_version() {
    let (_tmp, dir, archive) = archive_with_an_older_index();
    assert_eq!(index_version(&archive), "2");
    std::fs::remove_dir_all(archive.join("index")).unwrap();
    import(&archive, &[&dir]);
    assert_eq!(index_version(&archive), "3");
    assert_eq!(count(&archive, "不良品"), 5);
    assert_eq!(count(&archive, "unquoted:不良品"), 1);
}
