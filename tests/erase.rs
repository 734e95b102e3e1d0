//! `kura erase`: a customer's messages erased for good from the metadata,
//! the index and the stored originals; imports that meet them again skip
//! them; a killed erase is finished by the next import. Real binary, the
//! bundled sample mailbox.

mod common;
use common::*;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const CUSTOMER: &str = "customer:kyowa-shoji.co.jp";

/// In the erased mails' headers, not in the query (the audit keeps that).
const TRACE: &[u8] = b"tanaka@kyowa-shoji.co.jp";

fn archive() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    import(&a, &[&fixtures()]);
    (tmp, a)
}

/// (pack, offset, len) of every stored copy of the customer's messages.
fn frames_of_customer(a: &Path) -> Vec<(u32, u64, u32)> {
    let db = rusqlite::Connection::open_with_flags(
        a.join("kura.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut q = db
        .prepare(
            "WITH rows AS (SELECT DISTINCT message FROM addresses WHERE address LIKE '%kyowa-shoji.co.jp')
             SELECT pack, pack_offset, pack_len FROM messages WHERE id IN rows
             UNION ALL
             SELECT pack, pack_offset, pack_len FROM locations
             WHERE message IN rows AND pack IS NOT NULL",
        )
        .unwrap();
    q.query_map([], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Whether every byte of those frames is zero.
fn all_zero(a: &Path, frames: &[(u32, u64, u32)]) -> bool {
    frames.iter().all(|&(pack, offset, len)| {
        let f = std::fs::File::open(a.join(format!("originals/pack-{pack:06}.zst"))).unwrap();
        let mut buf = vec![1u8; len as usize];
        f.read_exact_at(&mut buf, offset).unwrap();
        buf.iter().all(|&b| b == 0)
    })
}

/// Whether the database's files (with its WAL) hold `needle` anywhere,
/// in live rows or in stale bytes of free pages.
fn database_holds(a: &Path, needle: &[u8]) -> bool {
    ["kura.sqlite", "kura.sqlite-wal"].iter().any(|name| {
        std::fs::read(a.join(name))
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

/// The index's address terms (every segment) that contain `needle`.
fn address_terms_with(a: &Path, needle: &str) -> Vec<String> {
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    let fields = kura::index::fields_of(&index).unwrap();
    let reader = index.reader().unwrap();
    let mut found = Vec::new();
    for seg in reader.searcher().segment_readers() {
        let inverted = seg.inverted_index(fields.addr).unwrap();
        let mut terms = inverted.terms().stream().unwrap();
        while terms.advance() {
            let term = String::from_utf8_lossy(terms.key()).into_owned();
            if term.contains(needle) {
                found.push(term);
            }
        }
    }
    found
}

#[test]
fn erase_removes_a_customer_for_good_and_imports_skip_them_after() {
    let (tmp, a) = archive();
    let total = count(&a, "*");
    let erased_ids = ids(&a, CUSTOMER);
    assert_eq!(erased_ids.len(), 6, "{erased_ids:?}");
    let frames = frames_of_customer(&a);
    assert!(frames.len() >= 6, "{frames:?}");
    assert!(!all_zero(&a, &frames));
    assert!(database_holds(&a, TRACE));
    // The organisation its mail signs with (recorded for its names).
    let signed = "株式会社協和商事".as_bytes();
    assert!(database_holds(&a, signed));
    assert!(!address_terms_with(&a, "kyowa").is_empty());

    // Off a terminal, nothing happens without --yes.
    let o = run(kura(&a).args(["erase", CUSTOMER]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("6 messages match; pass --yes"),
        "{}",
        stderr(&o)
    );
    // --dry-run lists them, oldest first, and erases nothing.
    let o = run(kura(&a).args(["erase", "--dry-run", CUSTOMER]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(listed.len(), 6, "{}", stdout(&o));
    assert!(
        listed[0].starts_with("2024-03-04T10:12:03+09:00"),
        "{listed:?}"
    );
    assert!(
        stderr(&o).contains("would be erased; nothing was"),
        "{}",
        stderr(&o)
    );
    // With --format json, stdout is one JSON object that lists them.
    let o = run(kura(&a).args(["erase", "--dry-run", "--format", "json", CUSTOMER]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dry: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(dry["messages"], 6, "{dry}");
    let listed = dry["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 6, "{dry}");
    assert!(listed.iter().all(|m| m["message_id"].is_string()), "{dry}");
    assert_eq!(count(&a, CUSTOMER), 6);
    // A query that matches nothing: exit 1, and with --format json the same
    // object, with nothing in it.
    let o = run(kura(&a).args(["erase", "--yes", "customer:nobody.example"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for dry_run in [false, true] {
        let mut cmd = kura(&a);
        cmd.args(["erase", "--format", "json"]);
        cmd.arg(if dry_run { "--dry-run" } else { "--yes" });
        let o = run(cmd.arg("customer:nobody.example"));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let none: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            (&none["messages"], &none["dry_run"]),
            (&0.into(), &dry_run.into()),
            "{none}"
        );
        assert_eq!(none.get("listed").is_some(), dry_run, "{none}");
        // Also to a reader that stopped reading.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = kura(&a);
        cmd.args(["erase", "--format", "json"]);
        cmd.arg(if dry_run { "--dry-run" } else { "--yes" });
        let o = cmd
            .arg("customer:nobody.example")
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }

    let o = run(kura(&a).args(["erase", "--yes", "--format", "json", CUSTOMER]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let done: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(done["messages"], 6, "{done}");
    assert_eq!(done["copies"], 6, "{done}");
    assert_eq!(done["dry_run"], false, "{done}");
    assert!(done["original_bytes"].as_u64().unwrap() > 1000, "{done}");

    // Gone from every part of the archive, and nothing else with them.
    assert_eq!(count(&a, CUSTOMER), 0);
    assert_eq!(count(&a, "*"), total - 6);
    let o = run(kura(&a).args(["show", erased_ids[0].as_str()]));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(all_zero(&a, &frames), "the originals were not overwritten");
    assert!(!database_holds(&a, TRACE), "the database keeps a trace");
    assert!(
        !database_holds(&a, signed),
        "the database keeps its signature"
    );
    assert_eq!(address_terms_with(&a, "kyowa"), Vec::<String>::new());
    assert_eq!(stale_index_files(&a), Vec::<String>::new());
    assert_check_passes(&a, "after the erase");
    // Staff's own messages stay, also the one forwarding the customer's mail.
    assert_eq!(count(&a, "subject:\"Fwd: Re: 請求書の再発行のお願い\""), 1);

    // The audit says who erased what.
    let o = run(kura(&a).args(["audit", "--format", "json"]));
    let audit: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(audit[0]["format"], "erase", "{audit}");
    assert_eq!(audit[0]["query"], CUSTOMER, "{audit}");
    assert_eq!(audit[0]["count"], 6, "{audit}");

    // The same export again, from elsewhere: read again, and the erased
    // messages are counted as such, not brought back.
    let copy = tmp.path().join("again");
    copy_dir(&fixtures(), &copy);
    let s = import(&a, &[&copy]);
    assert_accounted(&s);
    assert_eq!(s["erased"], 6, "{s}");
    assert_eq!(s["new"], 0, "{s}");
    assert_eq!(count(&a, CUSTOMER), 0);
    assert!(!database_holds(&a, TRACE));
    let o = run(kura(&a).args(["log", "--format", "json"]));
    let log: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(log[0]["erased"], 6, "{log}");
    let o = run(kura(&a).args(["log", "--format", "text"]));
    assert!(stdout(&o).contains(", 6 erased before"), "{}", stdout(&o));
}

#[test]
fn a_killed_erase_is_finished_by_the_next_import() {
    let (_tmp, a) = archive();
    let total = count(&a, "*");
    let frames = frames_of_customer(&a);
    let o = run(kura(&a)
        .env("KURA_TEST_ABORT_AT", "erase-committed")
        .args(["erase", "--yes", CUSTOMER]));
    assert!(!o.status.success(), "the erase was not killed");
    // The audit records the erasure with the rows' deletion.
    let o = run(kura(&a).args(["audit", "--format", "json"]));
    let audit: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(audit[0]["format"], "erase", "{audit}");
    assert_eq!(audit[0]["count"], 6, "{audit}");

    // The rows are gone, the documents and the originals are not: searches
    // leave the documents out, check says what is unfinished.
    assert!(!all_zero(&a, &frames));
    assert_eq!(count(&a, CUSTOMER), 0);
    assert_eq!(count(&a, "*"), total - 6);
    assert!(ids(&a, "請求書").iter().all(|id| !id.contains("kyowa")));
    let o = run(kura(&a).arg("check"));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains("erase_pending"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("index_orphan"), "{}", stdout(&o));

    let s = import(&a, &[&fixtures()]);
    assert_accounted(&s);
    assert!(
        all_zero(&a, &frames),
        "the import did not finish the erasure"
    );
    assert_eq!(address_terms_with(&a, "kyowa"), Vec::<String>::new());
    assert_eq!(stale_index_files(&a), Vec::<String>::new());
    assert!(!database_holds(&a, TRACE));
    assert_check_passes(&a, "after the import that finished the erasure");
}

#[test]
fn check_repair_finishes_a_killed_erase() {
    let (_tmp, a) = archive();
    let frames = frames_of_customer(&a);
    let o = run(kura(&a)
        .env("KURA_TEST_ABORT_AT", "erase-committed")
        .args(["erase", "--yes", CUSTOMER]));
    assert!(!o.status.success(), "the erase was not killed");
    let o = run(kura(&a).args(["check", "--repair"]));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("erase_pending"), "{}", stdout(&o));
    assert!(all_zero(&a, &frames));
    assert_eq!(address_terms_with(&a, "kyowa"), Vec::<String>::new());
    assert_eq!(stale_index_files(&a), Vec::<String>::new());
    assert_check_passes(&a, "after check --repair");
}

#[test]
fn an_index_commit_killed_after_writing_its_deletes_does_not_stop_the_next_writer() {
    // A kill inside the index commit that deletes the erased messages'
    // documents, once the file of the segment's deletes is written and before
    // meta.json names it, leaves that file behind: the next commit of the
    // same deletes writes a file of the same name.
    let (_tmp, a) = archive();
    let o = run(kura(&a)
        .env("KURA_TEST_ABORT_AT", "erase-committed")
        .args(["erase", "--yes", CUSTOMER]));
    assert!(!o.status.success(), "the erase was not killed");
    let meta = std::fs::read(a.join("index/meta.json")).unwrap();
    let o = run(kura(&a)
        .env("KURA_TEST_ABORT_AT", "erase-index-committed")
        .args(["check", "--repair"]));
    assert!(!o.status.success(), "check --repair was not killed");
    // That commit but for its meta.json (written last, by a rename).
    std::fs::write(a.join("index/meta.json"), meta).unwrap();
    let deletes = std::fs::read_dir(a.join("index"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".del")
        })
        .count();
    assert!(deletes > 0, "no file of deletes left behind");
    let o = run(kura(&a).args(["check", "--repair"]));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(count(&a, CUSTOMER), 0);
    assert_eq!(stale_index_files(&a), Vec::<String>::new());
    assert_check_passes(&a, "after check --repair");
}

#[test]
fn message_ids_only_erased_mail_referenced_go_too() {
    let tmp = tempfile::tempdir().unwrap();
    let md = empty_maildir(tmp.path().join("mail"));
    let mails = [
        // A customer's reply to a message the archive never received.
        "Message-ID: <q1@acme.example>\nReferences: <lost@acme.example>\nFrom: Ken Mori <mori@acme.example>\nTo: info@minato-shokai.co.jp\nSubject: Re: order 4711\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\nPlease ship on Friday.\n",
        // Staff's answer: erased too (the customer is in To).
        "Message-ID: <a1@minato-shokai.co.jp>\nIn-Reply-To: <q1@acme.example>\nReferences: <lost@acme.example> <q1@acme.example>\nFrom: yamada@minato-shokai.co.jp\nTo: mori@acme.example\nSubject: Re: order 4711\nDate: Mon, 4 Mar 2024 11:00:00 +0900\n\nWe will.\n",
        // Staff's note to each other, in the same conversation: it stays,
        // and so does the id it references.
        "Message-ID: <n1@minato-shokai.co.jp>\nReferences: <a1@minato-shokai.co.jp>\nFrom: yamada@minato-shokai.co.jp\nTo: sato@minato-shokai.co.jp\nSubject: Fwd: order 4711\nDate: Mon, 4 Mar 2024 12:00:00 +0900\n\nFriday, please.\n",
    ];
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(md.join(format!("cur/{i}.host:2,S")), m).unwrap();
    }
    let a = tmp.path().join("archive");
    import(&a, &[&md]);
    assert!(database_holds(&a, b"lost@acme.example"));
    let o = run(kura(&a).args(["erase", "--yes", "customer:acme.example"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&a, "*"), 1);
    assert!(!database_holds(&a, b"lost@acme.example"));
    assert!(!database_holds(&a, b"q1@acme.example"));
    assert!(!database_holds(&a, b"mori@"));
    // The note still references the staff answer: that id stays its thread's.
    assert!(database_holds(&a, b"a1@minato-shokai.co.jp"));
    assert_check_passes(&a, "after the erase");
}

/// Files in the index directory of segments the index no longer uses
/// (what a segment rewritten away would leave, erased terms and all).
fn stale_index_files(a: &Path) -> Vec<String> {
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    let live: Vec<String> = index
        .searchable_segment_ids()
        .unwrap()
        .iter()
        .map(|id| id.uuid_string())
        .collect();
    std::fs::read_dir(a.join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !name.starts_with('.')
                && name != "meta.json"
                && !live.iter().any(|l| name.starts_with(l))
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the customer's first mail that an older kura rejected, from
/// `/old/export/invoice.eml`, then the customer erased: the reject's frame.
fn an_erased_customers_reject(a: &Path) -> (u32, u64, u32) {
    let raw = std::fs::read(
        fixtures().join("maildir/cur/1709514725.M101P3021Q1.mx1.minato-shokai.co.jp:2,S"),
    )
    .unwrap();
    let frame = add_reject(a, "/old/export/invoice.eml", &raw);
    let o = run(kura(a).args(["erase", "--yes", CUSTOMER]));
    assert!(o.status.success(), "{}", stderr(&o));
    frame
}

#[test]
fn rejects_retry_does_not_bring_back_an_erased_message() {
    let (_tmp, a) = archive();
    let frame = an_erased_customers_reject(&a);

    let o = run(kura(&a).args(["rejects", "--retry", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["imported"], 0, "{r}");
    assert_eq!(r["erased"], 1, "{r}");
    assert_eq!(count(&a, CUSTOMER), 0);
    // Its bytes go too, with the reject.
    assert!(all_zero(&a, &[frame]), "the reject's original was kept");
    assert!(
        listed_rejects(&a)
            .iter()
            .all(|r| r["source"] != "/old/export/invoice.eml")
    );
    assert_check_passes(&a, "after rejects --retry");
}

#[test]
fn a_retry_killed_while_it_drops_an_erased_reject_is_finished_by_the_next_writer() {
    let (_tmp, a) = archive();
    let frame = an_erased_customers_reject(&a);
    // Killed once it dropped the reject, before its bytes are zeroed.
    let o = run(kura(&a)
        .env("KURA_TEST_ABORT_AT", "retry-committed")
        .args(["rejects", "--retry"]));
    assert!(!o.status.success(), "the retry was not killed");
    let o = run(kura(&a).args(["check"]));
    assert!(
        stdout(&o).contains("erase_pending: the originals of 1 rejects of erased messages"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("damaged"), "{}", stdout(&o));
    let o = run(kura(&a).args(["rejects", "--retry"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(all_zero(&a, &[frame]), "the reject's original was kept");
    assert!(
        listed_rejects(&a)
            .iter()
            .all(|r| r["source"] != "/old/export/invoice.eml")
    );
    assert_check_passes(&a, "after the retry that followed the killed one");
}

#[test]
fn rejects_retry_finishes_a_killed_erase_before_importing() {
    // The newest message is erased by a killed erase: the row id it had is
    // the one the next message gets.
    let (_tmp, a) = archive();
    let newest: String = rusqlite::Connection::open(a.join("kura.sqlite"))
        .unwrap()
        .query_row(
            "SELECT message_id FROM messages ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    add_reject(
        &a,
        "/old/export/late.eml",
        b"Message-ID: <late@acme.example>\nFrom: Ken Mori <mori@acme.example>\nTo: info@minato-shokai.co.jp\nSubject: late order\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\nPlease ship on Friday.\n",
    );
    let o = run(kura(&a).env("KURA_TEST_ABORT_AT", "erase-committed").args([
        "erase",
        "--yes",
        &format!("id:{newest}"),
    ]));
    assert!(!o.status.success(), "the erase was not killed");
    let o = run(kura(&a).args(["rejects", "--retry", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["new"], 1, "{r}");
    assert_eq!(count(&a, "id:late@acme.example"), 1);
    assert_check_passes(&a, "after rejects --retry");
    // The next import has nothing left to finish that could take the new
    // message's document with it.
    import(&a, &[&fixtures()]);
    assert_eq!(count(&a, "id:late@acme.example"), 1);
}

#[test]
fn a_reader_keeping_the_old_pages_leaves_the_erasure_to_finish() {
    let (_tmp, a) = archive();
    // A search still reading (its output not yet consumed) holds a snapshot
    // of the database from before the erasure.
    let reader = rusqlite::Connection::open_with_flags(
        a.join("kura.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM messages;")
        .unwrap();
    let o = run(kura(&a).args(["erase", "--yes", CUSTOMER]));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another process was reading"),
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&a, CUSTOMER), 0);
    drop(reader);
    assert!(database_holds(&a, TRACE));
    let o = run(kura(&a).arg("check"));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains("erase_pending"), "{}", stdout(&o));

    // Once it is done, the next import finishes the erasure.
    import(&a, &[&fixtures()]);
    assert!(!database_holds(&a, TRACE), "the database keeps a trace");
    assert_check_passes(&a, "after the import that finished the erasure");
}

#[test]
fn the_names_of_the_erased_messages_files_go_too() {
    // Mail programs name a saved message after its subject.
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let name = "Re_ 森様ご注文の件.eml";
    std::fs::write(
        mail.join(name),
        "Message-ID: <q1@acme.example>\nFrom: Ken Mori <mori@acme.example>\nTo: info@minato-shokai.co.jp\nSubject: Re: order 4711\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\nPlease ship on Friday.\n",
    )
    .unwrap();
    std::fs::write(
        mail.join("other.eml"),
        "Message-ID: <n1@minato-shokai.co.jp>\nFrom: yamada@minato-shokai.co.jp\nTo: sato@minato-shokai.co.jp\nSubject: lunch\nDate: Mon, 4 Mar 2024 12:00:00 +0900\n\nNoon?\n",
    )
    .unwrap();
    let a = tmp.path().join("archive");
    import(&a, &[&mail]);
    assert!(database_holds(&a, "森様ご注文".as_bytes()));
    let o = run(kura(&a).args(["erase", "--yes", "customer:acme.example"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!database_holds(&a, "森様ご注文".as_bytes()));
    assert!(database_holds(&a, b"other.eml"));
    // Met again, the file is read again and its message counted as erased.
    let s = import(&a, &[&mail]);
    assert_accounted(&s);
    assert_eq!(
        (s["erased"].as_u64(), s["new"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(count(&a, "*"), 1);
    assert_check_passes(&a, "after the import");
}

/// The files in the originals folder, by name.
fn originals(a: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(a.join("originals"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `kura show --raw` of every message, by Message-ID.
fn raw_originals(a: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    ids(a, "*")
        .into_iter()
        .map(|id| {
            let o = run(kura(a).args(["show", "--raw", "--"]).arg(&id));
            assert!(o.status.success(), "{id}: {}", stderr(&o));
            (id, o.stdout)
        })
        .collect()
}

/// `n` messages are left, each reading back byte for byte as in `before`.
fn assert_left_as_before(a: &Path, before: &std::collections::BTreeMap<String, Vec<u8>>, n: usize) {
    let left = raw_originals(a);
    assert_eq!(left.len(), n);
    for (id, raw) in &left {
        assert_eq!(Some(raw), before.get(id), "{id}");
    }
}

/// A mailbox whose first messages (the dictionary's samples) are all from
/// one customer, whose address is in every header and so in the dictionary.
fn mailbox_led_by_one_customer(dir: &Path) -> PathBuf {
    let md = empty_maildir(dir.join("mail"));
    for i in 0..40 {
        let (from, to) = if i < 30 {
            (
                "Hanako Kimura <hanako.kimura@kimura-seimitsu.example>",
                "info@minato-shokai.co.jp",
            )
        } else {
            ("yamada@minato-shokai.co.jp", "orders@acme.example")
        };
        let mail = format!(
            "Return-Path: <{from}>\nMessage-ID: <m{i}@mail.example>\nFrom: {from}\nTo: {to}\n\
             Reply-To: {from}\nSubject: order {i}\nDate: Mon, 4 Mar 2024 1{}:00:00 +0900\n\n\
             Order {i}: 400 bolts, 300 nuts. Regards.\n",
            i % 10
        );
        std::fs::write(md.join(format!("cur/{i:02}.host:2,S")), mail).unwrap();
    }
    md
}

#[test]
fn a_dictionary_holding_the_erased_addresses_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let md = mailbox_led_by_one_customer(tmp.path());
    let a = tmp.path().join("archive");
    import_with_env(&a, ("KURA_TEST_DICT_SAMPLES", "16"), &[&md]);
    let dict_of = |a: &Path| -> Vec<u8> {
        originals(a)
            .iter()
            .filter(|n| n.ends_with(".zdict"))
            .flat_map(|n| std::fs::read(a.join("originals").join(n)).unwrap())
            .collect()
    };
    let needle = b"hanako.kimura@kimura-seimitsu.example";
    let holds = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        holds(&dict_of(&a)),
        "the test needs a dictionary holding the address"
    );
    let kept_before = raw_originals(&a);
    // A second name for the dictionary's file shows what its removal
    // leaves of its bytes on the disk.
    let linked = tmp.path().join("dictionary-bytes");
    std::fs::create_dir(&linked).unwrap();
    for n in originals(&a).iter().filter(|n| n.ends_with(".zdict")) {
        std::fs::hard_link(a.join("originals").join(n), linked.join(n)).unwrap();
    }

    let o = run(kura(&a).args([
        "erase",
        "--yes",
        "--format",
        "json",
        "customer:kimura-seimitsu.example",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let done: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(done["messages"], 30, "{done}");
    assert_eq!(done["dictionary_replaced"], true, "{done}");
    assert!(!holds(&dict_of(&a)));
    for e in std::fs::read_dir(&linked).unwrap() {
        let left = std::fs::read(e.unwrap().path()).unwrap();
        assert!(
            !holds(&left),
            "the removed dictionary's bytes are still on the disk"
        );
    }
    assert_left_as_before(&a, &kept_before, 10);
    assert_check_passes(&a, "after the erase and its repack");
    // Erasing what the new dictionary does not hold leaves it alone.
    let o = run(kura(&a).args(["erase", "--yes", "--format", "json", "id:m39@mail.example"]));
    let done: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(done["dictionary_replaced"], false, "{done}");
}

#[test]
fn gc_repack_reclaims_erased_originals_and_keeps_every_other_byte() {
    let (tmp, a) = archive();
    let o = run(kura(&a).args(["erase", "--yes", CUSTOMER]));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = raw_originals(&a);
    let rejects_before = listed_rejects(&a);
    let size = |a: &Path| -> u64 {
        originals(a)
            .iter()
            .map(|n| {
                std::fs::metadata(a.join("originals").join(n))
                    .unwrap()
                    .len()
            })
            .sum()
    };
    let bytes_before = size(&a);

    let o = run(kura(&a).args(["gc", "--repack", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // Every message, the conflicting copy and the two rejects.
    assert_eq!(r["repack"]["originals"], before.len() + 1 + 2, "{r}");
    assert!(size(&a) < bytes_before, "{} >= {bytes_before}", size(&a));
    assert_eq!(
        originals(&a)
            .iter()
            .filter(|n| n.starts_with("pack-"))
            .count(),
        1
    );
    assert!(!originals(&a).contains(&"pack-000001.zst".to_string()));
    assert_eq!(raw_originals(&a), before);
    assert_eq!(listed_rejects(&a), rejects_before);
    assert_check_passes(&a, "after the repack");

    // Imports go on after it: new mail is written after the new pack.
    let more = empty_maildir(tmp.path().join("more"));
    std::fs::write(
        more.join("cur/1.host:2,S"),
        "Message-ID: <after.repack@acme.example>\nFrom: x@acme.example\nTo: info@minato-shokai.co.jp\n\
         Subject: after\nDate: Mon, 4 Mar 2024 10:00:00 +0900\n\nhello\n",
    )
    .unwrap();
    let s = import(&a, &[&more]);
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(raw_originals(&a).len(), before.len() + 1);
    assert_check_passes(&a, "after the import that followed the repack");
}

#[test]
fn a_repack_killed_before_or_after_its_commit_leaves_a_whole_archive() {
    for step in ["repack-written", "repack-committed"] {
        let (_tmp, a) = archive();
        let before = raw_originals(&a);
        let dictionaries = |a: &Path| -> Vec<String> {
            originals(a)
                .into_iter()
                .filter(|n| n.ends_with(".zdict"))
                .collect()
        };
        let dictionaries_before = dictionaries(&a);
        let o = run(kura(&a)
            .env("KURA_TEST_ABORT_AT", step)
            .args(["gc", "--repack"]));
        assert!(!o.status.success(), "{step}: the repack was not killed");
        // Whatever the files, every original reads back as it was.
        assert_eq!(raw_originals(&a), before, "{step}");
        // The next writer removes what the repack left.
        let s = import(&a, &[&fixtures()]);
        assert_accounted(&s);
        let packs: Vec<String> = originals(&a)
            .into_iter()
            .filter(|n| n.starts_with("pack-"))
            .collect();
        assert_eq!(packs.len(), 1, "{step}: {packs:?}");
        // The dictionary of a repack that did not commit goes with its
        // packs; that of one that did is the only one left.
        if step == "repack-written" {
            assert_eq!(dictionaries(&a), dictionaries_before, "{step}");
        } else {
            assert!(dictionaries(&a).len() <= 1, "{step}");
        }
        assert_eq!(raw_originals(&a), before, "{step}");
        assert_check_passes(&a, step);
    }
}

/// The address the first messages of [`mailbox_led_by_one_customer`] share.
const LEADING_ADDRESS: &[u8] = b"hanako.kimura@kimura-seimitsu.example";

/// Whether a dictionary file of the archive holds [`LEADING_ADDRESS`].
fn dictionary_holds_leading_address(a: &Path) -> bool {
    originals(a)
        .iter()
        .filter(|n| n.ends_with(".zdict"))
        .map(|n| std::fs::read(a.join("originals").join(n)).unwrap())
        .any(|d| {
            d.windows(LEADING_ADDRESS.len())
                .any(|w| w == LEADING_ADDRESS)
        })
}

#[test]
fn an_erase_killed_before_replacing_the_dictionary_leaves_it_to_check_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let md = mailbox_led_by_one_customer(tmp.path());
    let a = tmp.path().join("archive");
    import_with_env(&a, ("KURA_TEST_DICT_SAMPLES", "16"), &[&md]);
    assert!(
        dictionary_holds_leading_address(&a),
        "the test needs a dictionary holding the address"
    );
    let before = raw_originals(&a);
    let o = run(kura(&a).env("KURA_TEST_ABORT_AT", "erase-committed").args([
        "erase",
        "--yes",
        "customer:kimura-seimitsu.example",
    ]));
    assert!(!o.status.success(), "the erase was not killed");
    // The next import finishes the erasure; the dictionary is still owed.
    import(&a, &[&md]);
    let o = run(kura(&a).args(["check", "--format", "json"]));
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("compression dictionary"),
        "{}",
        stdout(&o)
    );
    let o = run(kura(&a).args(["check", "--repair"]));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(!dictionary_holds_leading_address(&a));
    assert_left_as_before(&a, &before, 10);
    assert_check_passes(&a, "after check --repair");
}

/// Adds a reject whose stored bytes are damaged: a repack reads it after
/// every message, and fails there.
fn add_damaged_reject(a: &Path) {
    let raw = b"Subject: only a subject\n";
    let (pack, offset, len) = add_reject(a, "/old/reject.eml", raw);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(a.join(format!("originals/pack-{pack:06}.zst")))
        .unwrap();
    f.write_all_at(&vec![0xff; len as usize / 2], offset + u64::from(len) / 4)
        .unwrap();
}

#[test]
fn a_repack_failing_on_a_damaged_original_leaves_the_originals_as_they_were() {
    let (_tmp, a) = archive();
    add_damaged_reject(&a);
    let files_before = originals(&a);
    let before = raw_originals(&a);
    let o = run(kura(&a).args(["gc", "--repack"]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot repack"), "{}", stderr(&o));
    // Nothing it wrote is left (its packs, its dictionary), nothing it
    // replaced is gone.
    assert_eq!(originals(&a), files_before);
    assert_eq!(raw_originals(&a), before);
}

#[test]
fn a_dictionary_that_cannot_be_replaced_keeps_no_erasure_from_being_done() {
    let tmp = tempfile::tempdir().unwrap();
    let md = mailbox_led_by_one_customer(tmp.path());
    let a = tmp.path().join("archive");
    import_with_env(&a, ("KURA_TEST_DICT_SAMPLES", "16"), &[&md]);
    add_damaged_reject(&a);
    let o = run(kura(&a).args(["erase", "--yes", "customer:kimura-seimitsu.example"]));
    assert!(!o.status.success(), "the repack cannot read the reject");
    assert!(stderr(&o).contains("cannot repack"), "{}", stderr(&o));
    assert!(dictionary_holds_leading_address(&a));
    // The next erasure is done all the same, and says what is left.
    let o = run(kura(&a).args(["erase", "--yes", "id:m39@mail.example"]));
    assert!(stderr(&o).contains("cannot repack"), "{}", stderr(&o));
    assert_eq!(count(&a, "id:m39@mail.example"), 0);
    // check --repair reports what it could not repair.
    let o = run(kura(&a).args(["check", "--repair"]));
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("compression dictionary"),
        "{out}{}",
        stderr(&o)
    );
    assert!(out.contains("cannot repack"), "{out}{}", stderr(&o));
}

/// The thread of the message `id`, as `search` shows it.
fn thread_of(a: &Path, id: &str) -> String {
    let o = run(kura(a).args(["search", "--format", "json", &format!("id:{id}")]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v[0]["thread"].as_str().unwrap().to_string()
}

#[test]
fn an_erased_thread_id_is_not_given_to_a_later_conversation() {
    // A user noted thread:N of the conversation erased; a conversation
    // imported afterwards (or split off by a reindex) must not come to be
    // thread:N.
    let tmp = tempfile::tempdir().unwrap();
    let mail = |id: &str, from: &str, subject: &str, date: &str| {
        format!(
            "Message-ID: <{id}>\nFrom: {from}\nTo: info@minato-shokai.co.jp\nSubject: {subject}\nDate: {date}\n\nbody\n"
        )
    };
    let md = empty_maildir(tmp.path().join("mail"));
    for (i, m) in [
        mail(
            "k1@kaiyo.example",
            "sato@kaiyo.example",
            "納期",
            "Mon, 4 Mar 2024 10:00:00 +0900",
        ),
        mail(
            "q1@acme.example",
            "mori@acme.example",
            "見積",
            "Mon, 4 Mar 2024 11:00:00 +0900",
        ),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(md.join(format!("cur/{i}.host:2,S")), m).unwrap();
    }
    let a = tmp.path().join("archive");
    import(&a, &[&md]);
    let erased = thread_of(&a, "q1@acme.example");
    assert_ne!(thread_of(&a, "k1@kaiyo.example"), erased);
    let o = run(kura(&a).args(["erase", "--yes", "customer:acme.example"]));
    assert!(o.status.success(), "{}", stderr(&o));

    let later = empty_maildir(tmp.path().join("later"));
    std::fs::write(
        later.join("cur/0.host:2,S"),
        mail(
            "n1@kaiyo.example",
            "ito@nansei.example",
            "請求書",
            "Tue, 5 Mar 2024 10:00:00 +0900",
        ),
    )
    .unwrap();
    import(&a, &[&later]);
    assert_ne!(thread_of(&a, "n1@kaiyo.example"), erased);
}
