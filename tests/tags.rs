//! `kura tag` and `kura tags` end to end, on the bundled sample mailbox:
//! adding and removing, whole threads, `tag:` anywhere in a query, counts,
//! dump and restore between archives, re-imports, and the import lock.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The four-message thread of the ground truth (fixtures/expected.json).
const THREAD_OF_FOUR: [&str; 4] = [
    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d@minato-shokai.co.jp",
    "CY4PR1901MB22317A8B9C0D1E2F3A4B5C6D7E8F@CY4PR1901MB2231.namprd19.prod.outlook.com",
    "CY4PR1901MB2231E5C0A1B2C3D4E5F6A7B8C9D0@CY4PR1901MB2231.namprd19.prod.outlook.com",
    "e1d2c3b4-a596-4788-b9a0-c1d2e3f4a5b6@minato-shokai.co.jp",
];
/// The first message of the three-message 請求書 thread.
const INVOICE_ROOT: &str = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";

/// A fresh archive of the sample mailbox (tags change archives, so every
/// test has its own).
fn fixture_archive(tmp: &Path) -> PathBuf {
    let archive = tmp.join("a");
    let f = fixtures();
    import(
        &archive,
        &[&f.join("maildir"), &f.join("mbox"), &f.join("eml")],
    );
    archive
}

fn kura_ok(archive: &Path, args: &[&str]) -> Output {
    let o = run(kura(archive).args(args));
    assert!(
        o.status.success(),
        "kura {args:?} failed ({:?}): {}",
        o.status,
        stderr(&o)
    );
    o
}

fn tag(archive: &Path, args: &[&str]) -> String {
    let mut all = vec!["tag"];
    all.extend_from_slice(args);
    stderr(&kura_ok(archive, &all))
}

/// Message-ID -> tags of every message, from `search --format jsonl`.
fn tags_by_message(archive: &Path) -> BTreeMap<String, Vec<String>> {
    let o = kura_ok(archive, &["search", "--format", "jsonl", "*"]);
    stdout(&o)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let tags = v["tags"]
                .as_array()
                .unwrap_or_else(|| panic!("no tags field: {l}"))
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            (v["message_id"].as_str().unwrap().to_string(), tags)
        })
        .collect()
}

fn thread_of(archive: &Path, message_id: &str) -> String {
    let o = kura_ok(
        archive,
        &["search", "--format", "jsonl", &format!("id:{message_id}")],
    );
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    v["thread"].as_str().unwrap().to_string()
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn tags_are_added_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let invoice = ids(&a, "subject:請求書");
    assert!(invoice.len() >= 3, "{invoice:?}");
    let err = tag(&a, &["+todo", "+要対応", "subject:請求書"]);
    assert_eq!(
        err.trim(),
        format!("tag: {} messages changed", invoice.len())
    );
    assert_eq!(ids(&a, "tag:todo"), invoice);
    assert_eq!(ids(&a, "tag:要対応"), invoice);

    // +done -todo on one of them: only that message changes.
    let err = tag(&a, &["+done", "-todo", &format!("id:{INVOICE_ROOT}")]);
    assert_eq!(err.trim(), "tag: 1 messages changed");
    let all = tags_by_message(&a);
    assert_eq!(all[INVOICE_ROOT], vec!["done", "要対応"]);
    for id in invoice.iter().filter(|id| *id != INVOICE_ROOT) {
        assert_eq!(all[id], vec!["todo", "要対応"], "{id}");
    }
    // Untouched messages have no tags.
    let untagged = all.iter().filter(|(_, t)| t.is_empty()).count();
    assert_eq!(untagged, all.len() - invoice.len());

    // Doing it again changes nothing; so does adding and removing a tag at once.
    let err = tag(&a, &["+done", "-todo", &format!("id:{INVOICE_ROOT}")]);
    assert_eq!(err.trim(), "tag: 0 messages changed");
    let err = tag(&a, &["+tmp", "-tmp", "*"]);
    assert_eq!(err.trim(), "tag: 0 messages changed");
    assert_eq!(count(&a, "tag:tmp"), 0);

    // Removing everywhere; --quiet prints nothing.
    let o = kura_ok(&a, &["tag", "--quiet", "-todo", "-要対応", "-done", "*"]);
    assert!(o.stderr.is_empty() && o.stdout.is_empty());
    assert!(tags_by_message(&a).values().all(Vec::is_empty));

    // A query that starts with `-` after `--`.
    let err = tag(&a, &["+other", "--", "-customer:kyowa-shoji.co.jp"]);
    let kyowa = count(&a, "customer:kyowa-shoji.co.jp");
    assert!(kyowa >= 3, "{kyowa}");
    let n = all.len() as u64 - kyowa;
    assert_eq!(err.trim(), format!("tag: {n} messages changed"));
    assert_eq!(count(&a, "tag:other"), n);
    assert_eq!(count(&a, "tag:other customer:kyowa-shoji.co.jp"), 0);
}

#[test]
fn show_lists_the_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    tag(&a, &["+urgent", "+要対応", &format!("id:{INVOICE_ROOT}")]);
    let text = stdout(&kura_ok(&a, &["show", "--format", "text", INVOICE_ROOT]));
    assert!(text.contains("\nTags:       urgent 要対応\n"), "{text}");
    let json: Value = serde_json::from_str(&stdout(&kura_ok(
        &a,
        &["show", "--format", "json", INVOICE_ROOT],
    )))
    .unwrap();
    assert_eq!(json["tags"], serde_json::json!(["urgent", "要対応"]));
    let other = THREAD_OF_FOUR[0];
    let text = stdout(&kura_ok(&a, &["show", "--format", "text", other]));
    assert!(!text.contains("Tags:"), "{text}");
}

#[test]
fn a_thread_is_tagged_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let t = thread_of(&a, THREAD_OF_FOUR[1]);
    let err = tag(&a, &["+urgent", &format!("thread:{t}")]);
    assert_eq!(err.trim(), "tag: 4 messages changed");
    assert_eq!(ids(&a, "tag:urgent"), sorted(&THREAD_OF_FOUR));
    assert_eq!(ids(&a, &format!("thread:{t}")), sorted(&THREAD_OF_FOUR));
    // Every thread of the ground truth, tagged through one of its messages.
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    for (i, group) in expected["threads"].as_array().unwrap().iter().enumerate() {
        let group: Vec<&str> = group
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let Some(last) = group.last() else { continue };
        let t = thread_of(&a, last);
        let name = format!("t{i}");
        tag(&a, &[&format!("+{name}"), &format!("thread:{t}")]);
        assert_eq!(ids(&a, &format!("tag:{name}")), sorted(&group), "{group:?}");
    }
}

#[test]
fn tag_works_everywhere_in_a_query() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let total = count(&a, "*");
    let t = thread_of(&a, THREAD_OF_FOUR[0]);
    tag(&a, &["+a", &format!("thread:{t}")]);
    tag(&a, &["+b", &format!("id:{INVOICE_ROOT}")]);
    tag(&a, &["+done", &format!("id:{}", THREAD_OF_FOUR[0])]);
    let four = sorted(&THREAD_OF_FOUR);
    let mut a_or_b = four.clone();
    a_or_b.push(INVOICE_ROOT.to_string());
    a_or_b.sort();
    let not_done: Vec<String> = four
        .iter()
        .filter(|id| *id != THREAD_OF_FOUR[0])
        .cloned()
        .collect();

    assert_eq!(ids(&a, "tag:a"), four);
    assert_eq!(ids(&a, "tag:a OR tag:b"), a_or_b);
    assert_eq!(ids(&a, "tag:b OR tag:a"), a_or_b);
    assert_eq!(ids(&a, "tag:a -tag:done"), not_done);
    assert_eq!(ids(&a, "tag:a NOT tag:done"), not_done);
    assert_eq!(ids(&a, "tag:a AND tag:done"), vec![THREAD_OF_FOUR[0]]);
    assert_eq!(count(&a, "-tag:done"), total - 1);
    assert_eq!(count(&a, "NOT tag:a"), total - 4);
    assert_eq!(ids(&a, "(tag:a OR tag:b) -tag:done"), {
        let mut v = not_done.clone();
        v.push(INVOICE_ROOT.to_string());
        v.sort();
        v
    });
    assert_eq!(
        ids(&a, "subject:請求書 (tag:a OR tag:b)"),
        vec![INVOICE_ROOT]
    );
    assert_eq!(ids(&a, "tag:(a OR b)"), a_or_b);
    assert_eq!(count(&a, "tag:nosuchtag"), 0);
    assert_eq!(count(&a, "tag:nosuchtag OR tag:b"), 1);
    // Tags and text and threads combine.
    assert_eq!(
        ids(&a, &format!("thread:{t} -tag:done")),
        not_done,
        "thread and tag"
    );
    // A search for tags exits 1 when nothing is tagged so.
    let o = run(kura(&a).args(["search", "tag:nosuchtag"]));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn tags_lists_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let empty = stdout(&kura_ok(&a, &["tags", "--format", "json"]));
    assert_eq!(empty.trim(), "[]");
    let invoice = count(&a, "subject:請求書");
    tag(&a, &["+要対応", "subject:請求書"]);
    tag(
        &a,
        &[
            "+urgent",
            &format!("thread:{}", thread_of(&a, THREAD_OF_FOUR[0])),
        ],
    );
    tag(&a, &["+done", &format!("id:{INVOICE_ROOT}")]);
    let json: Value =
        serde_json::from_str(&stdout(&kura_ok(&a, &["tags", "--format", "json"]))).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"tag": "done", "messages": 1},
            {"tag": "urgent", "messages": 4},
            {"tag": "要対応", "messages": invoice},
        ])
    );
    let text = stdout(&kura_ok(&a, &["tags", "--format", "text"]));
    assert_eq!(text, format!("done\t1\nurgent\t4\n要対応\t{invoice}\n"));
    // Removing the last one removes the tag from the list.
    tag(&a, &["-done", "*"]);
    let text = stdout(&kura_ok(&a, &["tags", "--format", "text"]));
    assert_eq!(text, format!("urgent\t4\n要対応\t{invoice}\n"));
}

#[test]
fn a_tag_is_removed_before_or_after_the_separator_and_by_option() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let all = count(&a, "*");
    let kyowa = count(&a, "customer:kyowa-shoji.co.jp");
    let changed = |n: u64| format!("tag: {n} messages changed");
    // A `--` before the operations only ends the options: -urgent removes.
    tag(&a, &["+urgent", "*"]);
    assert_eq!(tag(&a, &["--", "-urgent", "*"]).trim(), changed(all));
    assert_eq!(count(&a, "tag:urgent"), 0);
    // So a tag named like an option (-q is --quiet) can be removed.
    tag(&a, &["+q", "*"]);
    assert_eq!(tag(&a, &["--", "-q", "*"]).trim(), changed(all));
    assert_eq!(count(&a, "tag:q"), 0);
    // --add and --remove, with a query that starts with `-` after `--`.
    tag(&a, &["+urgent", "+q", "*"]);
    let err = tag(
        &a,
        &["--remove", "urgent", "--", "-customer:kyowa-shoji.co.jp"],
    );
    assert_eq!(err.trim(), changed(all - kyowa));
    assert_eq!(ids(&a, "tag:urgent"), ids(&a, "customer:kyowa-shoji.co.jp"));
    assert_eq!(tag(&a, &["--remove", "q", "*"]).trim(), changed(all));
    assert_eq!(count(&a, "tag:q"), 0);
    // Options and words together: the options first, then the words.
    let err = tag(&a, &["--add", "done", "-urgent", "+要対応", "*"]);
    assert_eq!(err.trim(), changed(all));
    assert_eq!(count(&a, "tag:done tag:要対応 -tag:urgent"), all);
    // The documented form: operations, `--`, a query that starts with `-`.
    let err = tag(&a, &["-done", "--", "-customer:kyowa-shoji.co.jp"]);
    assert_eq!(err.trim(), changed(all - kyowa));
    assert_eq!(ids(&a, "tag:done"), ids(&a, "customer:kyowa-shoji.co.jp"));
}

#[test]
fn bad_tag_commands_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let long = format!("+{}", "x".repeat(65));
    let cases: &[(&[&str], &str)] = &[
        (&["tag", "thread:1"], "no tag operation"),
        (&["tag", "+done"], "no query"),
        (&["tag", "+done", "--"], "no query"),
        (&["tag", "+", "*"], "empty"),
        (&["tag", &long, "*"], "65 bytes"),
        (&["tag", "+a\u{1}b", "*"], "control"),
        (&["tag", "+done", "*", "--quiet"], "options go before"),
        (&["tag", "+done", "subject:(請求書"], "bad query"),
        (&["tag"], "required"),
        (&["tag", "--dump", "-", "+a", "*"], "cannot be used with"),
        (
            &["tag", "--dump", "-", "--remove", "a"],
            "cannot be used with",
        ),
        (&["tag", "--add", "a", "--remove", "a", "*"], "both added"),
        (&["tag", "--add", "a b", "*"], "whitespace"),
        (&["tag", "--add", "done"], "required"),
        (&["tag", "--remove", "done", "-spam"], "no query"),
        (&["tag", "--", "thread:1"], "no tag operation"),
        (&["tag", "-q", "*"], "or --remove q"),
        (&["tag", "+done", "*", "--add", "x"], "options go before"),
    ];
    for (args, needle) in cases {
        let o = run(kura(&a).args(*args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(tags_by_message(&a).values().all(Vec::is_empty));
}

#[test]
fn dump_and_restore_carry_tags_to_another_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    tag(&a, &["+要対応", "+todo", "subject:請求書"]);
    tag(
        &a,
        &[
            "+urgent",
            &format!("thread:{}", thread_of(&a, THREAD_OF_FOUR[0])),
        ],
    );
    tag(&a, &["+done", "-todo", &format!("id:{INVOICE_ROOT}")]);
    let dump_file = tmp.path().join("tags.txt");
    let err = tag(&a, &["--dump", dump_file.to_str().unwrap()]);
    let tagged = count(&a, "tag:要対応 OR tag:urgent OR tag:done OR tag:todo");
    assert!(
        err.contains(&format!("dumped the tags of {tagged} messages")),
        "{err}"
    );
    let text = std::fs::read_to_string(&dump_file).unwrap();
    // One line per tagged message, sorted by Message-ID, tags sorted.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, tagged);
    let mut keys: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let before = keys.clone();
    keys.sort();
    assert_eq!(keys, before);
    assert!(
        lines.contains(&format!("<{INVOICE_ROOT}> done 要対応").as_str()),
        "{text}"
    );
    // `--dump -` is the same on stdout.
    let o = kura_ok(&a, &["tag", "--dump", "-"]);
    assert_eq!(stdout(&o), text);

    // Into a fresh archive of the same mail.
    let tmp2 = tempfile::tempdir().unwrap();
    let b = fixture_archive(tmp2.path());
    assert!(tags_by_message(&b).values().all(Vec::is_empty));
    let err = tag(&b, &["--restore", dump_file.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "restored the tags of {tagged} messages, 0 unknown"
        )),
        "{err}"
    );
    assert_eq!(tags_by_message(&b), tags_by_message(&a));
    assert_eq!(
        stdout(&kura_ok(&b, &["tags", "--format", "json"])),
        stdout(&kura_ok(&a, &["tags", "--format", "json"]))
    );

    // Restore replaces the tags of the listed messages and leaves others alone;
    // from stdin too.
    tag(&b, &["+keep", "*"]);
    let mut cmd = kura(&b);
    cmd.args(["tag", "--restore", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(
            stdin,
            "# two messages\n\n<{INVOICE_ROOT}> fixed\n{}",
            THREAD_OF_FOUR[0]
        )
        .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let all = tags_by_message(&b);
    assert_eq!(all[INVOICE_ROOT], vec!["fixed"]);
    assert_eq!(all[THREAD_OF_FOUR[0]], Vec::<String>::new());
    assert_eq!(all[THREAD_OF_FOUR[1]], vec!["keep", "urgent"]);
}

#[test]
fn restore_reports_unknown_message_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let file = tmp.path().join("tags.txt");
    std::fs::write(
        &file,
        format!(
            "<not-here-1@example.com> done\n<{INVOICE_ROOT}> done\n<not-here-2@example.com> x\n"
        ),
    )
    .unwrap();
    let err = tag(&a, &["--restore", file.to_str().unwrap()]);
    assert!(
        err.contains("restored the tags of 1 messages, 2 unknown Message-IDs"),
        "{err}"
    );
    assert!(err.contains("<not-here-1@example.com>"), "{err}");
    assert!(err.contains("<not-here-2@example.com>"), "{err}");
    assert_eq!(ids(&a, "tag:done"), vec![INVOICE_ROOT]);
    assert_eq!(count(&a, "tag:x"), 0);
}

#[test]
fn a_malformed_dump_line_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let file = tmp.path().join("tags.txt");
    // Line 4 has an unterminated Message-ID; nothing is restored.
    std::fs::write(
        &file,
        format!("# dump\n<{INVOICE_ROOT}> done\n\n<broken@example.com urgent\n"),
    )
    .unwrap();
    let o = run(kura(&a).args(["tag", "--restore"]).arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 4:"), "{}", stderr(&o));
    assert_eq!(count(&a, "tag:done"), 0);
    // A tag name that is too long, on line 2.
    let long = "x".repeat(65);
    std::fs::write(
        &file,
        format!("<{INVOICE_ROOT}> done\n<{INVOICE_ROOT}> {long}\n"),
    )
    .unwrap();
    let o = run(kura(&a).args(["tag", "--restore"]).arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2:"), "{}", stderr(&o));
    assert_eq!(count(&a, "tag:done"), 0);
}

#[test]
fn tags_survive_a_reimport_of_a_grown_mailbox() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let mbox = tmp.path().join("box.mbox");
    let original = std::fs::read(fixtures().join("mbox/2024-03.mbox")).unwrap();
    std::fs::write(&mbox, &original).unwrap();
    let maildir = fixtures().join("maildir");
    import(&a, &[&mbox, &maildir]);
    tag(&a, &["+seen", "*"]);
    tag(
        &a,
        &[
            "+urgent",
            &format!("thread:{}", thread_of(&a, INVOICE_ROOT)),
        ],
    );
    let before = tags_by_message(&a);
    let invoice_thread = ids(&a, &format!("thread:{}", thread_of(&a, INVOICE_ROOT)));

    // A reply in the 請求書 thread and an unrelated message arrive.
    let mut grown = original.clone();
    if !grown.ends_with(b"\n\n") {
        grown.extend_from_slice(b"\n");
    }
    grown.extend_from_slice(
        format!(
            "From tanaka@kyowa-shoji.co.jp Mon Mar 18 10:00:00 2024\n\
             From: tanaka@kyowa-shoji.co.jp\n\
             To: support@minato-shokai.co.jp\n\
             Subject: Re: request\n\
             Message-ID: <grown-reply@kyowa-shoji.co.jp>\n\
             In-Reply-To: <{INVOICE_ROOT}>\n\
             References: <{INVOICE_ROOT}>\n\
             Date: Mon, 18 Mar 2024 10:00:00 +0900\n\
             \n\
             Thank you for the reissued invoice.\n\
             \n\
             From someone@example.com Mon Mar 18 11:00:00 2024\n\
             From: someone@example.com\n\
             Subject: unrelated\n\
             Message-ID: <grown-new@example.com>\n\
             Date: Mon, 18 Mar 2024 11:00:00 +0900\n\
             \n\
             new body\n\n"
        )
        .as_bytes(),
    );
    std::fs::write(&mbox, &grown).unwrap();
    let s = import(&a, &[&mbox, &maildir]);
    assert_eq!(s["new"], 2, "{s}");
    let after = tags_by_message(&a);
    for (id, tags) in &before {
        assert_eq!(after.get(id), Some(tags), "{id}");
    }
    assert_eq!(after["grown-reply@kyowa-shoji.co.jp"], Vec::<String>::new());
    assert_eq!(after["grown-new@example.com"], Vec::<String>::new());
    assert_eq!(count(&a, "tag:seen"), before.len() as u64);
    assert_eq!(ids(&a, "tag:urgent"), invoice_thread);
    // The reply joined the thread; tagging the thread again reaches it.
    let t = thread_of(&a, INVOICE_ROOT);
    assert_eq!(thread_of(&a, "grown-reply@kyowa-shoji.co.jp"), t);
    let err = tag(&a, &["+urgent", &format!("thread:{t}")]);
    assert_eq!(err.trim(), "tag: 1 messages changed");

    // Importing the very same files again keeps everything too.
    let again = tags_by_message(&a);
    import(&a, &[&mbox, &maildir, &fixtures().join("eml")]);
    let last = tags_by_message(&a);
    for (id, tags) in &again {
        assert_eq!(last.get(id), Some(tags), "{id}");
    }
}

#[test]
fn tagging_does_not_wait_for_the_import_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    let archive = kura::archive::Archive { root: a.clone() };
    let _lock = archive.lock_for_writing(false).unwrap();
    // An import now exits 75 at once; tagging goes ahead.
    let o = run(kura(&a)
        .args(["import", "--quiet"])
        .arg(fixtures().join("eml")));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    let started = std::time::Instant::now();
    let err = tag(&a, &["+locked", &format!("id:{INVOICE_ROOT}")]);
    assert_eq!(err.trim(), "tag: 1 messages changed");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(ids(&a, "tag:locked"), vec![INVOICE_ROOT]);
}

/// Not a timed assertion: prints how long tagging 10,000+ messages takes.
#[test]
fn tagging_ten_thousand_messages_is_quick() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(_) = synthetic(&mail, 10_500, 13) else {
        return;
    };
    let a = tmp.path().join("a");
    import(&a, &[&mail]);
    let total = count(&a, "*");
    assert!(total >= 10_000, "{total}");
    let started = std::time::Instant::now();
    let err = tag(&a, &["+bulk", "+要確認", "*"]);
    let add = started.elapsed();
    assert_eq!(err.trim(), format!("tag: {total} messages changed"));
    let started = std::time::Instant::now();
    let err = tag(&a, &["-bulk", "*"]);
    let remove = started.elapsed();
    assert_eq!(err.trim(), format!("tag: {total} messages changed"));
    assert_eq!(count(&a, "tag:要確認"), total);
    assert_eq!(count(&a, "tag:bulk"), 0);
    eprintln!(
        "tagging {total} messages (two tags): {:.3} s; untagging: {:.3} s",
        add.as_secs_f64(),
        remove.as_secs_f64()
    );
}

#[test]
fn tags_survive_an_index_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_archive(tmp.path());
    tag(&a, &["+urgent", "+要対応", "請求書"]);
    let before = tags_by_message(&a);
    let tagged = ids(&a, "tag:要対応");
    assert!(!tagged.is_empty());
    kura_ok(&a, &["reindex"]);
    assert_eq!(tags_by_message(&a), before);
    assert_eq!(ids(&a, "tag:要対応"), tagged);
    assert_eq!(ids(&a, "tag:urgent"), tagged);
}
