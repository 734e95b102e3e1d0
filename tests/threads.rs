//! Threading: equal to notmuch on its own corpora, equal to the synthetic
//! ground truth, and independent of import order.

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Partition = BTreeSet<BTreeSet<String>>;

/// kura's threads as sets of source file names.
fn kura_partition_by_file(archive: &Path) -> Partition {
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    let mut q = conn
        .prepare("SELECT l.source, m.thread FROM locations l JOIN messages m ON m.id = l.message")
        .unwrap();
    let mut by: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for row in q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (src, t) = row.unwrap();
        let name = Path::new(&src)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        by.entry(t).or_default().insert(name);
    }
    by.into_values().collect()
}

/// kura's threads as sets of Message-IDs.
fn kura_partition_by_id(archive: &Path) -> BTreeMap<String, String> {
    let o = run(kura(archive).args(["search", "--format", "jsonl", "*"]));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["message_id"].as_str().unwrap().to_string(),
                v["thread"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn partition_of(map: &BTreeMap<String, String>) -> Partition {
    let mut by: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, t) in map {
        by.entry(t.as_str()).or_default().insert(id.clone());
    }
    by.into_values().collect()
}

fn notmuch_available() -> bool {
    let ok = Command::new("notmuch")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: notmuch is not installed");
    }
    ok
}

/// notmuch's threads of a Maildir, as sets of file names.
fn notmuch_partition(maildir: &Path, work: &Path) -> Partition {
    let mail = work.join("mail");
    std::fs::create_dir_all(mail.join("cur")).unwrap();
    std::fs::create_dir_all(mail.join("new")).unwrap();
    std::fs::create_dir_all(mail.join("tmp")).unwrap();
    for e in std::fs::read_dir(maildir.join("cur")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, mail.join("cur").join(p.file_name().unwrap())).unwrap();
    }
    let cfg = work.join("notmuch-config");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath={}\n[user]\nname=Test\nprimary_email=test@example.com\n[new]\ntags=\n[maildir]\nsynchronize_flags=false\n",
            mail.display()
        ),
    )
    .unwrap();
    let nm = |args: &[&str]| {
        let o = Command::new("notmuch")
            .arg(format!("--config={}", cfg.display()))
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "notmuch {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    nm(&["new", "--quiet"]);
    let threads = nm(&["search", "--output=threads", "*"]);
    let mut out = Partition::new();
    for t in threads.lines() {
        let files = nm(&["search", "--output=files", "--duplicate=1", t]);
        let mut set = BTreeSet::new();
        for f in nm(&["search", "--output=files", t])
            .lines()
            .chain(files.lines())
        {
            set.insert(
                Path::new(f)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        out.insert(set);
    }
    out
}

#[test]
fn threads_equal_notmuch_on_its_corpora() {
    let Some(corpora) = corpora() else { return };
    if !notmuch_available() {
        return;
    }
    for name in ["notmuch-default", "notmuch-lkml", "notmuch-misc"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = corpora.join(name);
        let archive = tmp.path().join("a");
        // notmuch threads by references only; so does kura without the subject fallback.
        let o = run(kura(&archive)
            .args(["import", "--no-subject-threading"])
            .arg(&dir));
        assert!(o.status.success(), "{}", stderr(&o));
        let theirs = notmuch_partition(&dir, tmp.path());
        // notmuch ignores files it does not take for mail (e.g. a single message
        // in mbox form, which kura imports): compare on the files both indexed.
        let indexed: BTreeSet<String> = theirs.iter().flatten().cloned().collect();
        let ours: Partition = kura_partition_by_file(&archive)
            .into_iter()
            .map(|t| t.intersection(&indexed).cloned().collect::<BTreeSet<_>>())
            .filter(|t| !t.is_empty())
            .collect();
        let in_ours: BTreeSet<String> = ours.iter().flatten().cloned().collect();
        assert_eq!(in_ours, indexed, "{name}: kura lacks files notmuch indexed");
        let only_ours: Vec<_> = ours.difference(&theirs).collect();
        let only_theirs: Vec<_> = theirs.difference(&ours).collect();
        assert!(
            only_ours.is_empty() && only_theirs.is_empty(),
            "{name}: threads differ\nkura only: {only_ours:#?}\nnotmuch only: {only_theirs:#?}"
        );
        // With the subject fallback on (the default) nothing changes on these corpora.
        let archive2 = tmp.path().join("b");
        import(&archive2, &[&dir]);
        let with_fallback: Partition = kura_partition_by_file(&archive2)
            .into_iter()
            .map(|t| t.intersection(&indexed).cloned().collect::<BTreeSet<_>>())
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(
            with_fallback, ours,
            "{name}: the subject fallback merged threads"
        );
    }
}

#[test]
fn every_synthetic_conversation_is_one_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(truth) = synthetic(&mail, 1500, 11) else {
        return;
    };
    let archive = tmp.path().join("a");
    import(&archive, &[&mail]);
    let ours = kura_partition_by_id(&archive);
    let thread_of: BTreeMap<String, String> = truth["thread_of"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(ours.len(), thread_of.len(), "unique messages");
    assert_eq!(partition_of(&ours), partition_of(&thread_of));
    // Replies without any reference header are among them.
    assert!(!truth["no_thread_headers"].as_array().unwrap().is_empty());
}

/// The files of a Maildir (cur/ and new/), oldest first (names start with the delivery time).
fn maildir_files(maildir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = ["cur", "new"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(maildir.join(d))
                .unwrap()
                .map(|e| e.unwrap().path())
        })
        .collect();
    files.sort_by_key(|p| p.file_name().unwrap().to_os_string());
    files
}

/// Writes the messages of a Maildir into an mbox, newest first.
fn reversed_mbox(maildir: &Path, out: &Path) {
    let mut files = maildir_files(maildir);
    files.reverse();
    let mut buf = Vec::new();
    for f in files {
        buf.extend_from_slice(b"From sender@example.com Mon Jan  1 00:00:00 2024\n");
        kura::sources::mboxrd_quote(&std::fs::read(&f).unwrap(), &mut buf);
        if !buf.ends_with(b"\n") {
            buf.push(b'\n');
        }
        buf.push(b'\n');
    }
    std::fs::write(out, buf).unwrap();
}

#[test]
fn import_order_does_not_change_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(_) = synthetic(&mail, 800, 5) else {
        return;
    };
    let in_order = tmp.path().join("in-order");
    import(&in_order, &[&mail]);
    let expected = partition_of(&kura_partition_by_id(&in_order));

    // Newest first, in one import.
    let mbox = tmp.path().join("reversed.mbox");
    reversed_mbox(&mail, &mbox);
    let reversed = tmp.path().join("reversed");
    import(&reversed, &[&mbox]);
    assert_eq!(partition_of(&kura_partition_by_id(&reversed)), expected);

    // Children in a first import, their parents in a second.
    let files = maildir_files(&mail);
    let (old, new) = files.split_at(files.len() / 2);
    for (name, part) in [("old", old), ("new", new)] {
        let d = tmp.path().join(name).join("cur");
        std::fs::create_dir_all(&d).unwrap();
        for f in part {
            std::fs::copy(f, d.join(f.file_name().unwrap())).unwrap();
        }
    }
    let two = tmp.path().join("two-imports");
    import(&two, &[&tmp.path().join("new")]);
    import(&two, &[&tmp.path().join("old")]);
    assert_eq!(partition_of(&kura_partition_by_id(&two)), expected);
}

#[test]
fn the_import_reports_the_time_spent_threading() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let s = import_fixtures(&a);
    let threading = s["threading_seconds"].as_f64().expect("threading_seconds");
    let total = s["seconds"].as_f64().expect("seconds");
    assert!(
        threading > 0.0 && threading < total,
        "threading {threading} s of {total} s"
    );
    // Nothing new: no threading at all.
    let again = import_fixtures(&a);
    assert_eq!(again["threading_seconds"].as_f64(), Some(0.0));

    let b = tmp.path().join("b");
    let o = run(kura(&b).arg("import").arg("--verbose").arg(fixtures()));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("import: threading took "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_benchmark_switch_gives_every_message_a_thread_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let folders = fixture_folders();
    let paths: Vec<&Path> = folders.iter().map(|p| p.as_path()).collect();
    import_with_env(&a, ("KURA_BENCH_NO_THREADING", "1"), &paths);
    let messages = count(&a, "*");
    let threads = stdout(&run(kura(&a).args(["count", "--threads", "*"])));
    assert_eq!(threads.trim().parse::<u64>().unwrap(), messages);
    // The real import threads the replies.
    let b = tmp.path().join("b");
    import_fixtures(&b);
    let threads = stdout(&run(kura(&b).args(["count", "--threads", "*"])));
    assert!(threads.trim().parse::<u64>().unwrap() < messages);
}

/// A message for the subject-fallback tests: `refs` is its In-Reply-To
/// (empty: none), `to` and `cc` comma-separated.
fn shared_mail(
    id: &str,
    date: &str,
    from: &str,
    to: &str,
    cc: &str,
    subject: &str,
    refs: &str,
) -> String {
    let mut m = format!(
        "From: {from}\nTo: {to}\nCc: {cc}\nSubject: {subject}\nDate: {date}\nMessage-ID: <{id}>\n"
    );
    if !refs.is_empty() {
        m.push_str(&format!("In-Reply-To: <{refs}>\nReferences: <{refs}>\n"));
    }
    m.push_str("Content-Type: text/plain; charset=utf-8\n\nbody\n");
    m
}

/// Makes `dir` a Maildir holding each `(name, mail)` of `mails` as
/// `cur/NAME:2,S`, and returns it.
fn maildir_with(dir: PathBuf, mails: &[(&str, &str)]) -> PathBuf {
    let md = empty_maildir(dir);
    for (name, m) in mails {
        std::fs::write(md.join("cur").join(format!("{name}:2,S")), m).unwrap();
    }
    md
}

#[test]
fn a_reply_without_references_joins_the_conversation_with_the_person_it_is_addressed_to() {
    // One member of staff answers two customers under the same subject, the
    // shared address in Cc of everything; the answer to the second has no
    // references. It belongs with the second customer's mail, not with the
    // answer the same member of staff wrote the first customer just before.
    let shared = "support@minato-shokai.co.jp";
    let staff = "yamada@minato-shokai.co.jp";
    let mails = [
        (
            "1.a1",
            shared_mail(
                "a1@acme.example",
                "Mon, 1 Apr 2024 10:00:00 +0900",
                "hannah@acme.example",
                staff,
                shared,
                "Quotation for copper cable",
                "",
            ),
        ),
        (
            "2.b1",
            shared_mail(
                "b1@bolt.example",
                "Mon, 1 Apr 2024 11:00:00 +0900",
                "carlos@bolt.example",
                staff,
                shared,
                "Quotation for copper cable",
                "",
            ),
        ),
        (
            "3.a2",
            shared_mail(
                "a2@minato-shokai.co.jp",
                "Mon, 1 Apr 2024 12:00:00 +0900",
                staff,
                "hannah@acme.example",
                shared,
                "RE: Quotation for copper cable",
                "a1@acme.example",
            ),
        ),
        (
            "4.b2",
            shared_mail(
                "b2@minato-shokai.co.jp",
                "Mon, 1 Apr 2024 13:00:00 +0900",
                staff,
                "carlos@bolt.example",
                shared,
                "RE: Quotation for copper cable",
                "",
            ),
        ),
        // A customer's follow-up to their own mail, with one more person in
        // Cc, still joins it.
        (
            "5.c1",
            shared_mail(
                "c1@cedar.example",
                "Tue, 2 Apr 2024 09:00:00 +0900",
                "dora@cedar.example",
                shared,
                "",
                "納期の件",
                "",
            ),
        ),
        (
            "6.c2",
            shared_mail(
                "c2@cedar.example",
                "Tue, 2 Apr 2024 15:00:00 +0900",
                "dora@cedar.example",
                shared,
                "boss@cedar.example",
                "Re: 納期の件",
                "",
            ),
        ),
    ];
    let expected: Partition = [
        vec!["a1@acme.example", "a2@minato-shokai.co.jp"],
        vec!["b1@bolt.example", "b2@minato-shokai.co.jp"],
        vec!["c1@cedar.example", "c2@cedar.example"],
    ]
    .iter()
    .map(|t| t.iter().map(|s| s.to_string()).collect())
    .collect();

    let tmp = tempfile::tempdir().unwrap();
    let named: Vec<(&str, &str)> = mails.iter().map(|(n, m)| (*n, m.as_str())).collect();
    let all = maildir_with(tmp.path().join("all"), &named);
    let a = tmp.path().join("a");
    import(&a, &[&all]);
    assert_eq!(partition_of(&kura_partition_by_id(&a)), expected);

    // The replies first, their originals in a later import: the same threads.
    let replies = empty_maildir(tmp.path().join("replies"));
    let originals = empty_maildir(tmp.path().join("originals"));
    for (name, m) in &mails {
        let dir = if name.ends_with('2') {
            &replies
        } else {
            &originals
        };
        std::fs::write(dir.join("cur").join(format!("{name}:2,S")), m).unwrap();
    }
    let b = tmp.path().join("b");
    import(&b, &[&replies]);
    import(&b, &[&originals]);
    assert_eq!(partition_of(&kura_partition_by_id(&b)), expected);
}

/// `ids` as a partition (for comparing with [`partition_of`]).
fn partition(ids: &[&[&str]]) -> Partition {
    ids.iter()
        .map(|t| t.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn reindex_groups_the_threads_as_an_import_in_date_order_does() {
    // One customer asks twice under one subject, two days apart; the answer
    // to the second has no references. Imported answer first, then the first
    // question, then the second, the answer joins the first question (the
    // only mail it could answer then), and the second too when it comes:
    // an import merges threads and never splits them.
    let shared = "eigyo@minato-shokai.co.jp";
    let staff = "yamada@minato-shokai.co.jp";
    let customer = "sato@kaiyo.example";
    let mails = [
        (
            "q1",
            shared_mail(
                "q1@kaiyo.example",
                "Mon, 1 Apr 2024 10:00:00 +0900",
                customer,
                shared,
                "",
                "見積のお願い",
                "",
            ),
        ),
        (
            "q2",
            shared_mail(
                "q2@kaiyo.example",
                "Wed, 3 Apr 2024 10:00:00 +0900",
                customer,
                shared,
                "",
                "見積のお願い",
                "",
            ),
        ),
        (
            "a2",
            shared_mail(
                "a2@minato-shokai.co.jp",
                "Thu, 4 Apr 2024 10:00:00 +0900",
                staff,
                customer,
                shared,
                "Re: 見積のお願い",
                "",
            ),
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir_of = |name: &str| {
        let (_, m) = mails.iter().find(|(n, _)| *n == name).unwrap();
        maildir_with(tmp.path().join(name), &[(name, m)])
    };
    let (q1, q2, a2) = (dir_of("q1"), dir_of("q2"), dir_of("a2"));

    let by_date = tmp.path().join("by-date");
    import(&by_date, &[&q1, &q2, &a2]);
    let expected = partition(&[
        &["q1@kaiyo.example"],
        &["q2@kaiyo.example", "a2@minato-shokai.co.jp"],
    ]);
    assert_eq!(partition_of(&kura_partition_by_id(&by_date)), expected);

    let a = tmp.path().join("a");
    for dir in [&a2, &q1, &q2] {
        import(&a, &[dir]);
    }
    let before = kura_partition_by_id(&a);
    assert_eq!(partition_of(&before).len(), 1, "{before:?}");
    let said = reindex(&a);
    assert!(
        said.contains("the threads of 1 brought up to date"),
        "{said}"
    );
    let after = kura_partition_by_id(&a);
    assert_eq!(partition_of(&after), expected);
    // The thread of the first message imported keeps its id.
    assert_eq!(
        after["a2@minato-shokai.co.jp"],
        before["a2@minato-shokai.co.jp"]
    );
    assert_check_passes(&a, "after the reindex");
    // Nothing more to change: the second reindex moves nothing.
    assert!(!reindex(&a).contains("threads"));
    assert_eq!(kura_partition_by_id(&a), after);

    // Without the subject fallback the answer is on its own; the archive
    // stays so at the next reindex, until a window turns the fallback on.
    let reindex_with = |args: &[&str]| {
        let o = run(kura(&a).arg("reindex").args(args));
        assert!(o.status.success(), "{}", stderr(&o));
        partition_of(&kura_partition_by_id(&a)).len()
    };
    assert_eq!(reindex_with(&["--no-subject-threading"]), 3);
    assert_eq!(reindex_with(&[]), 3);
    assert_eq!(reindex_with(&["--subject-window", "30"]), 2);
    assert_eq!(kura_partition_by_id(&a), after);
    // A window shorter than the day between the second question and the
    // answer leaves the answer on its own, at the next reindex too.
    assert_eq!(reindex_with(&["--subject-window", "0"]), 3);
    assert_eq!(reindex_with(&[]), 3);
    assert_eq!(reindex_with(&["--subject-window", "1"]), 2);
    assert_eq!(kura_partition_by_id(&a), after);
}

#[test]
fn reindex_threads_as_the_last_import_did() {
    // An archive imported without the subject fallback keeps it off at a
    // plain reindex (as after an upgrade); the next import with it on
    // turns it on for the reindex after.
    let shared = "eigyo@minato-shokai.co.jp";
    let tmp = tempfile::tempdir().unwrap();
    let mails = [
        shared_mail(
            "q@kaiyo.example",
            "Mon, 1 Apr 2024 10:00:00 +0900",
            "sato@kaiyo.example",
            shared,
            "",
            "見積のお願い",
            "",
        ),
        shared_mail(
            "a@minato-shokai.co.jp",
            "Mon, 1 Apr 2024 12:00:00 +0900",
            "yamada@minato-shokai.co.jp",
            "sato@kaiyo.example",
            shared,
            "Re: 見積のお願い",
            "",
        ),
    ];
    let md = maildir_with(tmp.path().join("md"), &[("0", &mails[0]), ("1", &mails[1])]);
    let a = tmp.path().join("a");
    let o = run(kura(&a).args(["import", "--no-subject-threading"]).arg(&md));
    assert!(o.status.success(), "{}", stderr(&o));
    let threads = || partition_of(&kura_partition_by_id(&a)).len();
    assert_eq!(threads(), 2);
    reindex(&a);
    assert_eq!(threads(), 2);

    let later = maildir_with(
        tmp.path().join("later"),
        &[(
            "2",
            &shared_mail(
                "n@kaiyo.example",
                "Tue, 2 Apr 2024 10:00:00 +0900",
                "sato@kaiyo.example",
                shared,
                "",
                "別件",
                "",
            ),
        )],
    );
    import(&a, &[&later]);
    assert_eq!(threads(), 3);
    reindex(&a);
    assert_eq!(threads(), 2);

    // An import that stores nothing (a nightly run with no new mail) leaves
    // what the archive recorded as it was.
    let o = run(kura(&a).args(["reindex", "--no-subject-threading"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(threads(), 3);
    import(&a, &[&md, &later]);
    reindex(&a);
    assert_eq!(threads(), 3);
}

#[test]
fn no_subject_threading_refuses_a_window() {
    // A window without the fallback it is the window of means nothing: the
    // combination is a usage error, not a window quietly ignored.
    let tmp = tempfile::tempdir().unwrap();
    let md = maildir_with(
        tmp.path().join("md"),
        &[(
            "0",
            &shared_mail(
                "q@kaiyo.example",
                "Mon, 1 Apr 2024 10:00:00 +0900",
                "sato@kaiyo.example",
                "eigyo@minato-shokai.co.jp",
                "",
                "見積のお願い",
                "",
            ),
        )],
    );
    let a = tmp.path().join("a");
    let flags = ["--no-subject-threading", "--subject-window", "7"];
    let o = run(kura(&a).arg("import").args(flags).arg(&md));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    assert!(!a.join("kura.sqlite").exists());

    import(&a, &[&md]);
    let o = run(kura(&a).arg("reindex").args(flags));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    // Nor is the fallback both on and off.
    let o = run(kura(&a).args(["reindex", "--subject-threading", "--no-subject-threading"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

/// A question to the shared address and, a day later, staff's answer with
/// its subject but no references: apart within a window of 0 days, one
/// thread within the default 30.
fn question_and_late_answer(shared: &str) -> [String; 2] {
    [
        shared_mail(
            "q@kaiyo.example",
            "Mon, 1 Apr 2024 10:00:00 +0900",
            "sato@kaiyo.example",
            shared,
            "",
            "見積のお願い",
            "",
        ),
        shared_mail(
            "a@minato-shokai.co.jp",
            "Tue, 2 Apr 2024 10:00:00 +0900",
            "yamada@minato-shokai.co.jp",
            "sato@kaiyo.example",
            shared,
            "Re: 見積のお願い",
            "",
        ),
    ]
}

#[test]
fn subject_threading_turns_the_fallback_back_on_with_the_window_used_before() {
    // The window is kept while the fallback is off, by a reindex or an
    // import: --subject-threading turns it back on with that window, not
    // the default one.
    let shared = "eigyo@minato-shokai.co.jp";
    let tmp = tempfile::tempdir().unwrap();
    let [question, answer] = question_and_late_answer(shared);
    let md = maildir_with(tmp.path().join("md"), &[("0", &question), ("1", &answer)]);
    let a = tmp.path().join("a");
    let threads = || partition_of(&kura_partition_by_id(&a)).len();
    let kura_ok = |args: &[&str], path: Option<&Path>| {
        let o = run(kura(&a).args(args).args(path));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };

    kura_ok(&["import", "--subject-window", "0"], Some(&md));
    assert_eq!(threads(), 2);
    kura_ok(&["reindex", "--no-subject-threading"], None);
    assert_eq!(threads(), 2);
    kura_ok(&["reindex", "--subject-threading"], None);
    assert_eq!(threads(), 2, "the window of 0 days, not the default");
    kura_ok(&["reindex"], None);
    assert_eq!(threads(), 2);
    kura_ok(
        &["reindex", "--subject-threading", "--subject-window", "1"],
        None,
    );
    assert_eq!(threads(), 1);

    // An import that turns the fallback off keeps the window of 1 day.
    let other = maildir_with(
        tmp.path().join("other"),
        &[(
            "2",
            &shared_mail(
                "n@kaiyo.example",
                "Wed, 3 Apr 2024 10:00:00 +0900",
                "sato@kaiyo.example",
                shared,
                "",
                "別件",
                "",
            ),
        )],
    );
    kura_ok(&["import", "--no-subject-threading"], Some(&other));
    kura_ok(&["reindex"], None);
    assert_eq!(threads(), 3);
    kura_ok(&["reindex", "--subject-threading"], None);
    assert_eq!(threads(), 2);

    // An import given --subject-threading threads by the archive's window
    // (a plain one, by the default).
    kura_ok(&["reindex", "--subject-window", "0"], None);
    kura_ok(&["reindex", "--no-subject-threading"], None);
    assert_eq!(threads(), 3);
    let follow_up = maildir_with(
        tmp.path().join("follow-up"),
        &[(
            "3",
            &shared_mail(
                "f@minato-shokai.co.jp",
                "Thu, 4 Apr 2024 10:00:00 +0900",
                "yamada@minato-shokai.co.jp",
                "sato@kaiyo.example",
                shared,
                "Re: 見積のお願い",
                "",
            ),
        )],
    );
    kura_ok(&["import", "--subject-threading"], Some(&follow_up));
    assert_eq!(threads(), 4);
    kura_ok(&["reindex"], None);
    assert_eq!(threads(), 4);
}

#[test]
fn subject_threading_reads_what_earlier_versions_recorded() {
    // An earlier version recorded `off` alone (the window lost: the
    // default one), or the window alone (kept when the fallback is then
    // turned off).
    let tmp = tempfile::tempdir().unwrap();
    let [question, answer] = question_and_late_answer("eigyo@minato-shokai.co.jp");
    let md = maildir_with(tmp.path().join("md"), &[("0", &question), ("1", &answer)]);
    let a = tmp.path().join("a");
    import(&a, &[&md]);
    let threads = || partition_of(&kura_partition_by_id(&a)).len();
    let reindex_with = |args: &[&str]| {
        let o = run(kura(&a).arg("reindex").args(args));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        threads()
    };
    let recorded = |value: &str| {
        let conn = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
        conn.execute("DELETE FROM meta WHERE key = 'subject_window'", [])
            .unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'subject_threading'",
            [value],
        )
        .unwrap();
    };

    recorded("0");
    assert_eq!(reindex_with(&[]), 2);
    assert_eq!(reindex_with(&["--no-subject-threading"]), 2);
    assert_eq!(reindex_with(&["--subject-threading"]), 2);

    recorded("off");
    assert_eq!(reindex_with(&[]), 2);
    assert_eq!(reindex_with(&["--subject-threading"]), 1);
}

#[test]
fn reindex_splits_what_an_earlier_version_merged_and_keeps_the_ids_never_received() {
    // Two customers' conversations, as an earlier version left them in one
    // thread (and without the references of the second's answer). The first references a mail never received (a ghost): a reply
    // to that mail arriving after the reindex joins the first conversation.
    let shared = "eigyo@minato-shokai.co.jp";
    let tmp = tempfile::tempdir().unwrap();
    let mails = [
        shared_mail(
            "k1@kaiyo.example",
            "Mon, 1 Apr 2024 10:00:00 +0900",
            "sato@kaiyo.example",
            shared,
            "",
            "Re: 納期の件",
            "lost@minato-shokai.co.jp",
        ),
        shared_mail(
            "b1@bolt.example",
            "Mon, 1 Apr 2024 11:00:00 +0900",
            "carlos@bolt.example",
            shared,
            "",
            "Delivery of order 778",
            "",
        ),
        shared_mail(
            "b2@minato-shokai.co.jp",
            "Mon, 1 Apr 2024 12:00:00 +0900",
            "yamada@minato-shokai.co.jp",
            "carlos@bolt.example",
            shared,
            "Order 778 leaves on Friday",
            "b1@bolt.example",
        ),
    ];
    let md = maildir_with(
        tmp.path().join("md"),
        &[("0", &mails[0]), ("1", &mails[1]), ("2", &mails[2])],
    );
    let a = tmp.path().join("a");
    import(&a, &[&md]);
    let fresh = kura_partition_by_id(&a);
    let expected = partition(&[
        &["k1@kaiyo.example"],
        &["b1@bolt.example", "b2@minato-shokai.co.jp"],
    ]);
    assert_eq!(partition_of(&fresh), expected);
    let kaiyo: i64 = fresh["k1@kaiyo.example"].parse().unwrap();
    let bolt: i64 = fresh["b1@bolt.example"].parse().unwrap();
    {
        let conn = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
        conn.execute(
            "UPDATE messages SET thread = ?1 WHERE thread = ?2",
            [kaiyo, bolt],
        )
        .unwrap();
        conn.execute(
            "UPDATE thread_ids SET thread = ?1 WHERE thread = ?2",
            [kaiyo, bolt],
        )
        .unwrap();
        // Nor had it read the answer's references: only they join it.
        conn.execute(
            "UPDATE messages SET refs = '', in_reply_to = '' WHERE message_id = ?1",
            ["b2@minato-shokai.co.jp"],
        )
        .unwrap();
    }
    assert_eq!(partition_of(&kura_partition_by_id(&a)).len(), 1);

    let said = reindex(&a);
    assert!(
        said.contains("the references of 1 brought up to date"),
        "{said}"
    );
    assert!(
        said.contains("the threads of 2 brought up to date"),
        "{said}"
    );
    let after = kura_partition_by_id(&a);
    assert_eq!(partition_of(&after), expected);
    assert_eq!(after["k1@kaiyo.example"], kaiyo.to_string());
    assert_check_passes(&a, "after the reindex");

    let later = maildir_with(
        tmp.path().join("later"),
        &[(
            "3",
            &shared_mail(
                "k2@kaiyo.example",
                "Tue, 2 Apr 2024 10:00:00 +0900",
                "sato@kaiyo.example",
                shared,
                "",
                "Re: 納期の件",
                "lost@minato-shokai.co.jp",
            ),
        )],
    );
    import(&a, &[&later]);
    let last = kura_partition_by_id(&a);
    assert_eq!(last["k2@kaiyo.example"], last["k1@kaiyo.example"]);
    assert_ne!(last["k2@kaiyo.example"], last["b1@bolt.example"]);
}

#[test]
fn reindex_gives_the_same_threads_whatever_the_order_of_mail_sent_in_the_same_second() {
    // A customer's mailer sent one inquiry twice in the same second, under
    // two Message-IDs; the answer has no references and can answer either.
    // Which one it joins must not depend on which came first.
    let shared = "eigyo@minato-shokai.co.jp";
    let customer = "sato@kaiyo.example";
    let date = "Mon, 1 Apr 2024 10:00:00 +0900";
    let twin = |id: &str| shared_mail(id, date, customer, shared, "", "見積のお願い", "");
    let answer = shared_mail(
        "a@minato-shokai.co.jp",
        "Tue, 2 Apr 2024 10:00:00 +0900",
        "yamada@minato-shokai.co.jp",
        customer,
        shared,
        "Re: 見積のお願い",
        "",
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut partitions = Vec::new();
    for (name, first, second) in [("ab", "q-a", "q-b"), ("ba", "q-b", "q-a")] {
        let md = maildir_with(
            tmp.path().join(format!("md-{name}")),
            &[
                ("1", &twin(&format!("{first}@kaiyo.example"))),
                ("2", &twin(&format!("{second}@kaiyo.example"))),
                ("3", &answer),
            ],
        );
        let a = tmp.path().join(name);
        import(&a, &[&md]);
        reindex(&a);
        partitions.push(partition_of(&kura_partition_by_id(&a)));
    }
    assert_eq!(partitions[0].len(), 2, "{:?}", partitions[0]);
    assert_eq!(partitions[0], partitions[1]);
}

#[test]
fn rejects_retry_threads_by_subject_as_the_archive_does() {
    // An archive imported without the subject fallback: a reply without
    // references that an older kura rejected, retried, stays a thread of
    // its own, as the import would have left it.
    let shared = "eigyo@minato-shokai.co.jp";
    let tmp = tempfile::tempdir().unwrap();
    let md = maildir_with(
        tmp.path().join("md"),
        &[(
            "0",
            &shared_mail(
                "q@kaiyo.example",
                "Mon, 1 Apr 2024 10:00:00 +0900",
                "sato@kaiyo.example",
                shared,
                "",
                "見積のお願い",
                "",
            ),
        )],
    );
    let a = tmp.path().join("a");
    let o = run(kura(&a).args(["import", "--no-subject-threading"]).arg(&md));
    assert!(o.status.success(), "{}", stderr(&o));

    // Stored as a reject, as an import of an older kura would have.
    let raw = shared_mail(
        "a@minato-shokai.co.jp",
        "Mon, 1 Apr 2024 12:00:00 +0900",
        "yamada@minato-shokai.co.jp",
        "sato@kaiyo.example",
        shared,
        "Re: 見積のお願い",
        "",
    );
    let source = md.join("cur").join("1:2,S");
    add_reject(&a, &source.to_string_lossy(), raw.as_bytes());
    let o = run(kura(&a).args(["rejects", "--retry", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&a, "*"), 2);
    assert_eq!(partition_of(&kura_partition_by_id(&a)).len(), 2);
}
