//! Operating an archive: `stats`, `check` (and `--repair`), `reindex`, `gc`,
//! `log`, `rejects --retry`, and a quiet import for cron. Real binary, the
//! bundled sample mailbox imported into a temporary archive.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Queries whose results must not change when the index is rebuilt or compacted.
const QUERIES: &[&str] = &[
    "*",
    "請求書",
    "セイキュウ",
    "customer:kyowa-shoji.co.jp",
    "from:tanaka",
    "has:attachment",
    "date:2024-03",
    "subject:見積",
    "金型",
    "invoice OR 振込",
    "-請求書",
];

/// A fresh archive holding the fixtures; returns (tempdir guard, archive, summary).
fn archive() -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    let s = import(&a, &[&fixtures()]);
    (tmp, a, s)
}

/// `(ids, count)` of every query in [`QUERIES`].
fn results(a: &Path) -> Vec<(Vec<String>, u64)> {
    QUERIES.iter().map(|q| (ids(a, q), count(a, q))).collect()
}

fn db(a: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(a.join("kura.sqlite")).unwrap()
}

/// Runs `kura ARGS --format json` and returns (exit status, parsed stdout).
fn json(a: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let o = run(kura(a).args(args).args(["--format", "json"]));
    let code = o.status.code().unwrap_or(-1);
    let v = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {} / {}", stdout(&o), stderr(&o)));
    (code, v)
}

/// (kind, row) of every problem of a check report.
fn problems(report: &serde_json::Value) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["row"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    v.sort();
    v
}

fn message_row(a: &Path, message_id: &str) -> i64 {
    db(a)
        .query_row(
            "SELECT id FROM messages WHERE message_id = ?1",
            [message_id],
            |r| r.get(0),
        )
        .unwrap()
}

/// Changes the index behind kura's back: deletes message `delete`'s document
/// and adds a document for a row that does not exist.
fn tamper_index(a: &Path, delete: i64, orphan: i64) {
    change_index(a, |w, fields| {
        kura::index::delete_ids(w, &[delete]).unwrap();
        w.add_document(stray_document(fields, orphan, "幽霊のドキュメント"))
            .unwrap();
    });
}

/// A document for row `row` whose only text is `subject`.
fn stray_document(
    fields: &kura::index::Fields,
    row: i64,
    subject: &str,
) -> tantivy::TantivyDocument {
    let mut doc = tantivy::TantivyDocument::new();
    doc.add_u64(fields.id, row as u64);
    doc.add_i64(fields.date, 1_709_251_200);
    doc.add_text(fields.subject, subject);
    doc
}

/// Flips a byte in the middle of message `row`'s compressed original.
fn corrupt_original(a: &Path, row: i64) {
    let (pack, off, len): (i64, i64, i64) = db(a)
        .query_row(
            "SELECT pack, pack_offset, pack_len FROM messages WHERE id = ?1",
            [row],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let path = a.join(format!("originals/pack-{pack:06}.zst"));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = (off + len / 2) as usize;
    bytes[at] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn check_passes_on_a_fresh_archive() {
    let (_tmp, a, s) = archive();
    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["ok"], true);
    assert_eq!(problems(&r), vec![]);
    let new = s["new"].as_u64().unwrap();
    assert_eq!(r["checked"]["messages"].as_u64(), Some(new));
    assert_eq!(r["checked"]["index_documents"].as_u64(), Some(new));
    // Every message, the conflicting copy and both rejects.
    assert_eq!(
        r["checked"]["originals"].as_u64(),
        Some(new + s["conflicts"].as_u64().unwrap() + s["rejected"].as_u64().unwrap())
    );
    // Text output: one summary line, exit 0.
    let o = run(kura(&a).arg("check"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("no problems"), "{}", stdout(&o));
    // Quiet: nothing at all when all is well.
    let o = run(kura(&a).args(["--quiet", "check"]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
}

#[test]
fn check_finds_damage_and_repair_fixes_what_can_be_fixed() {
    let (_tmp, a, _) = archive();
    let invoice = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";
    let deleted = message_row(&a, invoice);
    let damaged = message_row(&a, "notice.0001@maruei-logi.co.jp");
    let orphan = 999_999;
    assert_eq!(count(&a, &format!("id:{invoice}")), 1);
    tamper_index(&a, deleted, orphan);
    corrupt_original(&a, damaged);
    assert_eq!(count(&a, &format!("id:{invoice}")), 0);

    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 2, "{r}");
    assert_eq!(r["ok"], false);
    assert_eq!(
        problems(&r),
        vec![
            ("index_missing".to_string(), deleted),
            ("index_orphan".to_string(), orphan),
            ("original".to_string(), damaged),
        ],
        "{r}"
    );
    // The text report names each problem, one per line.
    let o = run(kura(&a).arg("check"));
    assert_eq!(o.status.code(), Some(2));
    let text = stdout(&o);
    assert!(text.contains(invoice), "{text}");
    assert!(text.contains("999999"), "{text}");
    assert!(text.contains("3 problems"), "{text}");
    // The status says so also to a reader that stopped reading
    // (`set -o pipefail; kura check | head -1`).
    for format in ["text", "json"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = kura(&a)
            .args(["check", "--format", format])
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{format}: {}", stderr(&o));
    }
    // A damaged original is never handed out as if it were intact.
    let o = run(kura(&a).args(["show", "--raw", "notice.0001@maruei-logi.co.jp"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not match its recorded BLAKE3 hash"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    let out = a.with_extension("export.mbox");
    let o = run(kura(&a)
        .args([
            "export",
            "--customer",
            "maruei-logi.co.jp",
            "--format",
            "mbox",
            "-o",
        ])
        .arg(&out));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not match its recorded BLAKE3 hash"),
        "{}",
        stderr(&o)
    );

    // Repair: the index is fixed from the originals; the damaged original is not.
    let (code, r) = json(&a, &["check", "--repair"]);
    assert_eq!(code, 2, "a damaged original remains: {r}");
    let repaired: Vec<(String, bool)> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["repaired"] == true,
            )
        })
        .collect();
    assert!(repaired.contains(&("index_missing".into(), true)), "{r}");
    assert!(repaired.contains(&("index_orphan".into(), true)), "{r}");
    assert!(repaired.contains(&("original".into(), false)), "{r}");

    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 2);
    assert_eq!(problems(&r), vec![("original".to_string(), damaged)], "{r}");
    assert_eq!(count(&a, &format!("id:{invoice}")), 1);
    assert_eq!(count(&a, "幽霊"), 0, "the orphan document is gone");
    assert!(ids(&a, "請求書").contains(&invoice.to_string()));
}

#[test]
fn repair_alone_leaves_a_clean_archive() {
    let (_tmp, a, s) = archive();
    let before = results(&a);
    let row = message_row(&a, "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp");
    tamper_index(&a, row, 123_456);
    // A thread link gone wrong too: its Message-ID recorded as a ghost of
    // another thread.
    db(&a)
        .execute(
            "INSERT OR REPLACE INTO thread_ids (msgid, thread)
             VALUES ('20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp', 999999)",
            [],
        )
        .unwrap();
    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 2);
    assert_eq!(
        problems(&r),
        vec![
            ("index_missing".to_string(), row),
            ("index_orphan".to_string(), 123_456),
            ("thread_mismatch".to_string(), row),
        ]
    );
    let o = run(kura(&a).args(["check", "--repair"]));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("[repaired]"), "{}", stdout(&o));
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
    assert_eq!(results(&a), before);
    assert_eq!(count(&a, "*"), s["new"].as_u64().unwrap());
}

/// An older kura's erase deletes the rows it knows of a message; those of a
/// table added since (the organisations signatures name) stay, and say
/// something of the erased mail: check finds them, --repair deletes them
/// and nothing else.
#[test]
fn rows_left_of_messages_that_are_gone_are_found_and_deleted() {
    let (_tmp, a, _) = archive();
    let before = results(&a);
    let rows = |table: &str| -> i64 {
        db(&a)
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let signed = rows("signatures");
    let addresses = rows("addresses");
    assert!(signed > 5, "{signed}");
    // As an older kura's erase leaves them: rows of messages that are gone.
    db(&a)
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO signatures (message, organisation) VALUES (900001, '株式会社消えた商事');
             INSERT INTO tags (message, tag) VALUES (900002, 'gone');",
        )
        .unwrap();
    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 2, "{r}");
    assert_eq!(
        problems(&r),
        vec![
            ("database_orphan".to_string(), -1),
            ("database_orphan".to_string(), -1)
        ]
    );
    let o = run(kura(&a).args(["check", "--repair"]));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
    assert_eq!(rows("signatures"), signed);
    assert_eq!(rows("addresses"), addresses);
    assert_eq!(rows("tags"), 0);
    assert_eq!(results(&a), before);
}

#[test]
fn a_message_indexed_twice_is_repaired_to_one_document() {
    let (_tmp, a, s) = archive();
    let before = results(&a);
    let invoice = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";
    let row = message_row(&a, invoice);
    // A second document for the same row, with text of its own.
    change_index(&a, |w, fields| {
        w.add_document(stray_document(fields, row, "二重登録のドキュメント"))
            .unwrap();
    });
    assert_eq!(count(&a, &format!("id:{invoice}")), 2);

    let (code, r) = json(&a, &["check"]);
    assert_eq!(code, 2, "{r}");
    assert_eq!(problems(&r), vec![("index_duplicate".to_string(), row)]);
    let (code, r) = json(&a, &["check", "--repair"]);
    assert_eq!(code, 0, "{r}");
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
    assert_eq!(count(&a, &format!("id:{invoice}")), 1);
    assert_eq!(count(&a, "二重登録"), 0, "the stray copy is gone");
    assert_eq!(results(&a), before);
    assert_eq!(count(&a, "*"), s["new"].as_u64().unwrap());
}

#[test]
fn reindex_gives_identical_results_and_clears_a_version_mismatch() {
    let (_tmp, a, _) = archive();
    let before = results(&a);
    assert!(
        before[0].1 > 20,
        "the fixtures are imported: {:?}",
        before[0]
    );
    reindex(&a);
    assert_eq!(results(&a), before);
    for leftover in ["index.new", "index.old"] {
        assert!(!a.join(leftover).exists(), "{leftover} left behind");
    }
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");

    // An index built by another version is refused until rebuilt.
    db(&a)
        .execute(
            "UPDATE meta SET value = '0' WHERE key = 'index_version'",
            [],
        )
        .unwrap();
    let o = run(kura(&a).args(["search", "請求書"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("kura reindex"), "{}", stderr(&o));
    let o = run(kura(&a).args(["--quiet", "reindex"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let v: String = db(&a)
        .query_row(
            "SELECT value FROM meta WHERE key = 'index_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, kura::index::INDEX_VERSION.to_string());
    assert_eq!(results(&a), before);
    // The index still covers every batch: a later import re-indexes nothing.
    let s = import(&a, &[&fixtures()]);
    assert_eq!(s["recovered"], 0, "{s}");
    assert_eq!(s["new"], 0, "{s}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_swap_cut_short_leaves_a_usable_index() {
    let (_tmp, a, _) = archive();
    let before = results(&a);
    // Killed between the two renames of the swap: the rebuilt index.new/ is
    // complete, the current one was renamed to index.old/, index/ is missing.
    copy_dir(&a.join("index"), &a.join("index.new"));
    std::fs::rename(a.join("index"), a.join("index.old")).unwrap();
    assert_eq!(results(&a), before, "searches go on meanwhile");
    // The next writer finishes the swap.
    let s = import(&a, &[&fixtures()]);
    assert_eq!(
        (s["new"].as_u64(), s["recovered"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(a.join("index/meta.json").is_file());
    assert!(!a.join("index.old").exists() && !a.join("index.new").exists());
    assert_eq!(results(&a), before);
}

#[test]
fn a_rebuild_cut_short_is_ignored_then_removed() {
    let (_tmp, a, _) = archive();
    let before = results(&a);
    // Killed while building: a half-made index.new/ beside the current index.
    std::fs::create_dir(a.join("index.new")).unwrap();
    std::fs::write(a.join("index.new/meta.json"), b"{").unwrap();
    assert_eq!(results(&a), before);
    reindex(&a);
    assert!(!a.join("index.old").exists() && !a.join("index.new").exists());
    assert_eq!(results(&a), before);
}

#[test]
fn gc_keeps_results_and_reports_sizes() {
    let (_tmp, a, _) = archive();
    // A second, tiny import makes more segments and a longer log.
    import(&a, &[&fixtures().join("eml")]);
    let before = results(&a);
    let (code, r) = json(&a, &["gc"]);
    assert_eq!(code, 0, "{r}");
    for part in ["sqlite", "index", "originals", "total"] {
        assert!(r["before"][part].as_u64().unwrap() > 0, "{part}: {r}");
        assert!(r["after"][part].as_u64().unwrap() > 0, "{part}: {r}");
    }
    assert_eq!(r["before"]["originals"], r["after"]["originals"]);
    assert!(
        !a.join("kura.sqlite-wal").exists()
            || std::fs::metadata(a.join("kura.sqlite-wal")).unwrap().len() == 0,
        "the WAL is truncated"
    );
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    assert_eq!(index.searchable_segment_ids().unwrap().len(), 1);
    assert_eq!(results(&a), before);
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
}

/// The segments of the archive's index.
fn segments(a: &Path) -> usize {
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    index.searchable_segment_ids().unwrap().len()
}

#[test]
fn an_import_merges_the_small_segments_its_commits_made() {
    let (_tmp, a, s) = archive();
    let want = results(&a);
    // One commit per new message: a segment each, and no merge in the
    // background (the writers leave merging to the end of the command).
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("archive");
    let o = run(kura(&b)
        .args(["import", "--batch-size", "1", "--json"])
        .arg(fixtures()));
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(t["new"], s["new"]);
    assert!(t["new"].as_u64().unwrap() >= 8, "{t}");
    assert_eq!(segments(&b), 1, "eight or more small segments become one");
    assert_eq!(results(&b), want);
    // A nightly import adds one small segment: left until there are eight.
    let eml = tmp.path().join("new.eml");
    std::fs::write(
        &eml,
        "From: a@example.jp\nTo: b@example.jp\nSubject: nightly\nMessage-ID: <n@example.jp>\n\nbody\n",
    )
    .unwrap();
    assert_eq!(import(&b, &[&eml])["new"], 1);
    assert_eq!(segments(&b), 2);
    assert_eq!(count(&b, "nightly"), 1);
    let (code, r) = json(&b, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
}

#[test]
fn log_lists_the_imports_newest_first() {
    let (_tmp, a, s) = archive();
    import(&a, &[&fixtures()]);
    let (code, r) = json(&a, &["log"]);
    assert_eq!(code, 0);
    let entries = r.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{r}");
    assert_eq!(entries[0]["new"], 0);
    assert_eq!(entries[0]["unchanged"], s["seen"]);
    assert_eq!(entries[1]["new"], s["new"]);
    assert_eq!(entries[1]["rejected"], s["rejected"]);
    assert!(entries.iter().all(|e| e["status"] == "ok"), "{r}");
    assert!(entries[0]["id"].as_i64() > entries[1]["id"].as_i64());
    let (_, r) = json(&a, &["log", "--limit", "1"]);
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["new"], 0);
    let o = run(kura(&a).arg("log"));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
}

#[test]
fn an_archive_without_the_newer_log_column_is_read_then_upgraded() {
    let (_tmp, a, s) = archive();
    // As an archive written before `import_log.incomplete` existed.
    db(&a)
        .execute_batch("ALTER TABLE import_log DROP COLUMN incomplete")
        .unwrap();
    let (code, r) = json(&a, &["log"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!((&r[0]["new"], &r[0]["incomplete"]), (&s["new"], &0.into()));
    // The next import adds the column and records its count there.
    import(&a, &[&fixtures()]);
    let has_column: bool = db(&a)
        .query_row(
            "SELECT count(*) FROM pragma_table_info('import_log') WHERE name = 'incomplete'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(has_column);
    let (code, r) = json(&a, &["log"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r.as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(
        (&r[0]["unchanged"], &r[0]["incomplete"]),
        (&s["seen"], &0.into())
    );
}

#[test]
fn content_hashes_of_an_earlier_version_are_upgraded_before_comparing_copies() {
    let (tmp, a, s) = archive();
    // As an archive whose hashes were computed another way.
    db(&a)
        .execute_batch(
            "UPDATE messages SET content_hash = zeroblob(32);
             UPDATE meta SET value = '1' WHERE key = 'content_hash'",
        )
        .unwrap();
    // The same mail exported again elsewhere: every message is a duplicate,
    // and only the copies that differ are conflicts, as the first time.
    let copy = tmp.path().join("export-2");
    let o = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(o.success());
    let again = import(&a, &[&copy]);
    assert_accounted(&again);
    assert_eq!(again["new"], 0, "{again}");
    assert_eq!(
        (&again["conflicts"], &again["duplicates"]),
        (
            &s["conflicts"],
            &(s["new"].as_u64().unwrap() + s["duplicates"].as_u64().unwrap()).into()
        ),
        "each conflicting copy again, and nothing more: {again}"
    );
    let zeroed: i64 = db(&a)
        .query_row(
            "SELECT count(*) FROM messages WHERE content_hash = zeroblob(32)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(zeroed, 0);
}

#[test]
fn stats_count_what_the_import_reported() {
    let (_tmp, a, s) = archive();
    let (code, r) = json(&a, &["stats"]);
    assert_eq!(code, 0);
    assert_eq!(r["messages"], s["new"]);
    assert_eq!(r["rejected"], s["rejected"]);
    assert_eq!(r["conflicts"], s["conflicts"]);
    assert_eq!(r["duplicates"], s["duplicates"]);
    assert!(r["conflicts"].as_u64() > Some(0), "{r}");
    let months = r["months"].as_array().unwrap();
    let names: Vec<&str> = months
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2024-02", "2024-03"], "{r}");
    let sum: u64 = months.iter().map(|m| m["messages"].as_u64().unwrap()).sum();
    assert_eq!(sum, s["new"].as_u64().unwrap());
    assert!(r["threads"].as_u64().unwrap() < sum);
    assert!(r["first_date"].as_str().unwrap().starts_with("2024-02"));
    let size = &r["size"];
    assert_eq!(
        size["total"].as_u64().unwrap(),
        size["sqlite"].as_u64().unwrap()
            + size["index"].as_u64().unwrap()
            + size["originals"].as_u64().unwrap()
    );
    // Not on a terminal: plain numbers, no bar characters.
    let o = run(kura(&a).arg("stats"));
    let text = stdout(&o);
    assert!(text.contains("2024-03 "), "{text}");
    assert!(!text.contains('█'), "{text}");
}

#[test]
fn rejects_retry_keeps_what_is_still_not_mail() {
    let (_tmp, a, s) = archive();
    assert_eq!(s["rejected"], 2);
    let (code, r) = json(&a, &["rejects", "--retry"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        (r["retried"].as_u64(), r["imported"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    assert_eq!(r["still_rejected"], 2);
    let (_, list) = json(&a, &["rejects"]);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(count(&a, "*"), s["new"].as_u64().unwrap());
}

#[test]
fn rejects_retry_imports_what_parses_now() {
    // A reject whose bytes are mail (as after a parser fix): simulated by
    // recording a stored message's bytes as a reject.
    let (_tmp, a, s) = archive();
    let invoice = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";
    let row = message_row(&a, invoice);
    {
        let c = db(&a);
        c.execute(
            "INSERT INTO rejects (source, mbox_offset, reason, size, raw_hash, pack, pack_offset, pack_len, time, batch)
             SELECT '/old/export/invoice.eml', NULL, 'old parser bug', size, raw_hash, pack, pack_offset, pack_len, 0, batch
             FROM messages WHERE id = ?1",
            [row],
        )
        .unwrap();
    }
    let (code, r) = json(&a, &["rejects", "--retry"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["imported"], 1, "{r}");
    assert_eq!(
        r["duplicates"], 1,
        "the same message again is a duplicate: {r}"
    );
    assert_eq!(r["new"], 0);
    let (_, list) = json(&a, &["rejects"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(count(&a, "*"), s["new"].as_u64().unwrap());
    let (code, r) = json(&a, &["check"]);
    assert_eq!((code, problems(&r)), (0, vec![]), "{r}");
}

#[test]
fn quiet_import_prints_nothing_on_success() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    let o = run(kura(&a).arg("--quiet").arg("import").arg(fixtures()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
    assert!(count(&a, "*") > 20);
    // The import is logged all the same.
    let (_, r) = json(&a, &["log"]);
    assert_eq!(r.as_array().unwrap().len(), 1);
}

#[test]
fn maintenance_commands_respect_the_import_lock() {
    let (_tmp, a, _) = archive();
    let archive = kura::archive::Archive {
        root: a.to_path_buf(),
    };
    let _held = archive.lock_for_writing(false).unwrap();
    for args in [
        &["reindex"][..],
        &["gc"],
        &["check", "--repair"],
        &["rejects", "--retry"],
    ] {
        let o = run(kura(&a).args(args));
        assert_eq!(o.status.code(), Some(75), "{args:?}: {}", stderr(&o));
    }
    // Reading does not need the lock.
    assert!(count(&a, "*") > 20);
    let o = run(kura(&a).arg("stats"));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn stats_utc_months_do_not_depend_on_the_local_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let mail = tmp.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    // 2024-03-31T20:00Z and 2024-04-01T03:00Z: March and April in UTC, both
    // April in Japan, both March in New York.
    for (n, date) in [
        (1, "Sun, 31 Mar 2024 20:00:00 +0000"),
        (2, "Mon, 1 Apr 2024 12:00:00 +0900"),
    ] {
        std::fs::write(
            mail.join(format!("{n}.eml")),
            format!("From: a@x.example\nSubject: m{n}\nMessage-ID: <m{n}@x.example>\nDate: {date}\n\nbody\n"),
        )
        .unwrap();
    }
    import(&a, &[&mail]);
    let months = |tz: &str, utc: bool| {
        let mut cmd = kura(&a);
        cmd.env("TZ", tz).args(["stats", "--format", "json"]);
        if utc {
            cmd.arg("--utc");
        }
        let v: serde_json::Value = serde_json::from_str(&stdout(&run(&mut cmd))).unwrap();
        v["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m["month"].as_str().unwrap(), m["messages"]))
            .collect::<Vec<_>>()
    };
    // POSIX zone strings: no time zone database needed.
    for tz in ["UTC0", "JST-9", "EST5", "NZST-12"] {
        assert_eq!(
            months(tz, true),
            ["2024-03 1", "2024-04 1"],
            "--utc, TZ={tz}"
        );
    }
    assert_eq!(months("JST-9", false), ["2024-04 2"]);
    assert_eq!(months("EST5", false), ["2024-03 2"]);
}

#[test]
fn a_database_that_is_not_sqlite_is_named_in_the_error() {
    let (_tmp, a, _) = archive();
    let db = a.join("kura.sqlite");
    for extra in ["kura.sqlite-wal", "kura.sqlite-shm"] {
        let _ = std::fs::remove_file(a.join(extra));
    }
    std::fs::write(
        &db,
        "this is not a database, it was overwritten by mistake\n".repeat(100),
    )
    .unwrap();
    for args in [
        &["search", "請求書"][..],
        &["stats"],
        &["check"],
        &["import", "--quiet"],
    ] {
        let mut cmd = kura(&a);
        cmd.args(args);
        if args[0] == "import" {
            cmd.arg(fixtures().join("maildir"));
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{} is not a readable kura database", db.display())),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_rejected_file_is_listed_as_it_is_now_and_no_longer_once_it_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    let file = tmp.path().join("inbox.eml");
    let listed = || {
        listed_rejects(&a)
            .iter()
            .map(|r| r["size"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let import_now = |content: &[u8]| {
        std::fs::write(&file, content).unwrap();
        let s = import(&a, &[&file]);
        assert_accounted(&s);
        (s["new"].as_u64().unwrap(), s["rejected"].as_u64().unwrap())
    };
    assert_eq!(import_now(b""), (0, 1));
    assert_eq!(listed(), [0]);
    // Rewritten, still not mail: listed as it is now, once.
    let garbage = b"\x00\x01\x02 not mail at all \xff\xfe";
    assert_eq!(import_now(garbage), (0, 1));
    assert_eq!(listed(), [garbage.len() as u64]);
    // Fixed: imported, and no longer listed.
    let mail = "From: a@x.example\nSubject: 請求書\nMessage-ID: <fixed@x.example>\n\nbody\n";
    assert_eq!(import_now(mail.as_bytes()), (1, 0));
    assert_eq!(listed(), Vec::<u64>::new());
    assert_eq!(count(&a, "請求書"), 1);
}

#[test]
fn a_rewritten_mbox_with_other_unreadable_bytes_at_a_rejected_offset_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    let mbox = tmp.path().join("shared.mbox");
    let good = "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\nSubject: 請求書\nMessage-ID: <good@x.example>\n\nbody\n\n";
    let listed = || {
        listed_rejects(&a)
            .iter()
            .map(|r| {
                (
                    r["mbox_offset"].as_u64().unwrap(),
                    r["size"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let import_now = |bad: &str| {
        std::fs::write(
            &mbox,
            format!("{good}From b@x.example Mon Mar  4 11:00:00 2024\n{bad}\n"),
        )
        .unwrap();
        let s = import(&a, &[&mbox]);
        assert_accounted(&s);
        s["rejected"].as_u64().unwrap()
    };
    assert_eq!(import_now("not a header line\n"), 1);
    let first = listed();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, good.len() as u64);
    // Rewritten: other bytes, still not mail, at the same offset. They are
    // what the mbox holds now, so they are what is kept and listed.
    assert_eq!(import_now("still not a header line, and a longer one\n"), 1);
    let second = listed();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].0, first[0].0);
    assert!(second[0].1 > first[0].1, "{first:?} then {second:?}");
    // Read again unchanged (a new modification time): known, nothing new.
    let again = import_now("still not a header line, and a longer one\n");
    assert_eq!(again, 0);
    assert_eq!(listed(), second);
}
