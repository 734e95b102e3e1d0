//! The bundled sample mailbox against its ground truth (fixtures/expected.json):
//! import counts, Japanese and English search, attachments, threads,
//! customers and decoding of every Japanese charset.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// One archive of all fixtures, shared by the tests of this file.
fn archive() -> PathBuf {
    static ARCHIVE: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    let (dir, _) = ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = import_fixtures(&dir.path().join("a"));
        (dir, s)
    });
    dir.path().join("a")
}

fn strings(v: &Value) -> Vec<String> {
    let set: BTreeSet<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| resolve(x.as_str().unwrap()))
        .collect();
    set.into_iter().collect()
}

/// expected.json names a message without Message-ID as `file:PATH`; kura gives
/// it a stable id of its own, found here through the place it was imported from.
fn resolve(id: &str) -> String {
    let Some(path) = id.strip_prefix("file:") else {
        return id.to_string();
    };
    let conn = rusqlite::Connection::open(archive().join("kura.sqlite")).unwrap();
    conn.query_row(
        "SELECT m.message_id FROM locations l JOIN messages m ON m.id = l.message WHERE l.source LIKE '%' || ?1",
        [path],
        |r| r.get(0),
    )
    .unwrap_or_else(|e| panic!("no message imported from {path}: {e}"))
}

#[test]
fn import_counts_match_the_ground_truth() {
    let e = expected();
    let tmp = tempfile::tempdir().unwrap();
    let s = import_fixtures(&tmp.path().join("a"));
    assert_accounted(&s);
    for k in ["seen", "new", "duplicates", "conflicts", "rejected"] {
        assert_eq!(s[k], e["import_all"][k], "{k}: {s}");
    }
    for (folder, want) in e["import_per_folder"].as_object().unwrap() {
        let s = import(&tmp.path().join(folder), &[&fixtures().join(folder)]);
        assert_accounted(&s);
        for k in ["seen", "new", "duplicates", "rejected"] {
            assert_eq!(s[k], want[k], "{folder} {k}: {s}");
        }
    }
    // The rejects are listed with their reasons.
    let o = run(kura(&tmp.path().join("a")).args(["rejects", "--format", "json"]));
    let rejects: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let sources: Vec<String> = rejects
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["source"]
                .as_str()
                .unwrap()
                .rsplit("fixtures/")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sources, strings(&e["rejected"]));
    assert!(
        rejects
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["reason"].as_str().unwrap().is_empty())
    );
    // Rejects have no Message-ID: `--format ids` is a usage error, as for
    // the export audit, not text lines that look like ids.
    for cmd in ["rejects", "audit"] {
        let o = run(kura(&tmp.path().join("a")).args([cmd, "--format", "ids"]));
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(stdout(&o).is_empty(), "{cmd}: {}", stdout(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("kura {cmd} has no ids")),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn every_term_finds_exactly_its_messages() {
    let e = expected();
    let a = archive();
    for (term, want) in e["terms"].as_object().unwrap() {
        assert_eq!(ids(&a, term), strings(want), "search {term}");
    }
    for term in e["absent_terms"].as_array().unwrap() {
        let term = term.as_str().unwrap();
        assert_eq!(
            count(&a, term),
            0,
            "{term} comes only from markup and must not be found"
        );
    }
    for (term, want) in e["attachment_terms"].as_object().unwrap() {
        assert_eq!(
            ids(&a, &format!("attachment:{term}")),
            strings(want),
            "attachment:{term}"
        );
    }
}

#[test]
fn near_misses_and_widths() {
    let a = archive();
    let seikyu = ids(&a, "請求書");
    let yokyu = ids(&a, "要求書");
    assert!(!seikyu.is_empty() && !yokyu.is_empty());
    assert!(
        seikyu.iter().all(|id| !yokyu.contains(id)),
        "要求書 is not 請求書"
    );
    // Half-width and full-width katakana find each other.
    assert_eq!(ids(&a, "ｾｲｷｭｳ"), ids(&a, "セイキュウ"));
    assert!(!ids(&a, "セイキュウ").is_empty());
    // Full-width Latin finds ASCII.
    assert_eq!(ids(&a, "ＩＮＶＯＩＣＥ"), ids(&a, "invoice"));
    // A single kanji matches every message containing it, and more than the word.
    assert!(ids(&a, "請").len() >= seikyu.len());
}

#[test]
fn conversations_are_threads() {
    let e = expected();
    let a = archive();
    let thread_of = |id: &str| {
        let o = run(kura(&a)
            .args(["search", "--format", "jsonl"])
            .arg(format!("id:{id}")));
        let v: Value = serde_json::from_str(
            stdout(&o)
                .lines()
                .next()
                .unwrap_or_else(|| panic!("no message {id}")),
        )
        .unwrap();
        v["thread"].as_str().unwrap().to_string()
    };
    for group in e["threads"].as_array().unwrap() {
        let ts: BTreeSet<String> = strings(group).iter().map(|id| thread_of(id)).collect();
        assert_eq!(ts.len(), 1, "one conversation, one thread: {group}");
        // And the thread holds nothing else.
        let t = ts.into_iter().next().unwrap();
        assert_eq!(
            ids(&a, &format!("thread:{t}")),
            strings(group),
            "thread {t}"
        );
    }
    for pair in e["not_same_thread"].as_array().unwrap() {
        let p = strings(pair);
        assert_ne!(
            thread_of(&p[0]),
            thread_of(&p[1]),
            "{pair} must be separate threads"
        );
    }
}

#[test]
fn customers_are_found_in_any_role() {
    let e = expected();
    let a = archive();
    for (key, want) in e["customers"].as_object().unwrap() {
        assert_eq!(
            count(&a, &format!("customer:{key}")),
            want.as_u64().unwrap(),
            "customer:{key}"
        );
    }
}

#[test]
fn every_charset_decodes() {
    let e = expected();
    let a = archive();
    for (id, check) in e["decoded"].as_object().unwrap() {
        let o = run(kura(&a).args(["show", "--format", "json", id]));
        assert!(o.status.success(), "show {id}: {}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let field = check["field"].as_str().unwrap();
        if field == "attachments" {
            let names: Vec<&str> = v["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["filename"].as_str().unwrap())
                .collect();
            let want: Vec<&str> = check["equals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            assert_eq!(names, want, "{id} attachment names");
            continue;
        }
        let text = v[field].as_str().unwrap();
        if let Some(eq) = check.get("equals") {
            assert_eq!(text, eq.as_str().unwrap(), "{id} {field}");
        }
        for c in check
            .get("contains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let c = c.as_str().unwrap();
            assert!(
                text.contains(c),
                "{id} {field} should contain {c:?}: {text}"
            );
        }
    }
}

#[test]
fn messages_without_message_id_or_date_are_kept() {
    let e = expected();
    let a = archive();
    // The message without Message-ID got a stable id and is searchable.
    assert_eq!(count(&a, "カタログ送付"), 1);
    for id in strings(&e["date_from_received"]) {
        let o = run(kura(&a)
            .args(["search", "--format", "jsonl"])
            .arg(format!("id:{id}")));
        let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let want = e["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["message_id"] == id.as_str())
            .unwrap();
        let got = chrono::DateTime::parse_from_rfc3339(v["date"].as_str().unwrap()).unwrap();
        let exp = chrono::DateTime::parse_from_rfc3339(want["date"].as_str().unwrap()).unwrap();
        assert_eq!(got, exp, "{id}: date from Received");
    }
}

#[test]
fn escape_sequences_never_reach_the_terminal() {
    let a = archive();
    for args in [
        vec!["search", "--format", "text", "URGENT"],
        vec!["search", "--format", "table", "URGENT"],
    ] {
        let o = run(kura(&a).args(&args));
        assert!(o.status.success());
        let out = stdout(&o);
        assert!(out.contains("URGENT"), "{out}");
        assert!(!out.contains('\u{1b}'), "raw escape in {args:?}: {out:?}");
    }
    // JSON keeps the real subject (escaped by JSON itself).
    let o = run(kura(&a).args(["search", "--format", "json", "URGENT"]));
    assert!(stdout(&o).contains("\\u001b[31m"));
}
