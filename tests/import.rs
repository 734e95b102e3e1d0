//! `kura import`: accounting, incremental runs, locking, permissions and crash safety.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Number of messages a corpus folder holds (Maildir files, or mbox messages).
fn corpus_messages(dir: &Path) -> u64 {
    let cur = dir.join("cur");
    if cur.is_dir() {
        return std::fs::read_dir(cur).unwrap().count() as u64;
    }
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let r = kura::sources::MboxReader::open(&p, false, 0).unwrap();
        n += r.count() as u64;
    }
    n
}

#[test]
fn every_corpus_message_is_accounted_for() {
    let Some(corpora) = corpora() else { return };
    let mut dirs: Vec<_> = std::fs::read_dir(&corpora)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 7,
        "expected the corpora folders, got {dirs:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    for dir in dirs {
        let archive = tmp.path().join(dir.file_name().unwrap());
        let s = import(&archive, &[&dir]);
        assert_accounted(&s);
        let expected = corpus_messages(&dir);
        assert_eq!(s["seen"].as_u64(), Some(expected), "{}: {s}", dir.display());
        assert!(
            s["new"].as_u64().unwrap() > 0,
            "{}: nothing imported: {s}",
            dir.display()
        );
        // Every imported message is searchable exactly once.
        assert_eq!(
            count(&archive, "*"),
            s["new"].as_u64().unwrap(),
            "{}",
            dir.display()
        );
        // A second run reads nothing again.
        let again = import(&archive, &[&dir]);
        assert_accounted(&again);
        assert_eq!(again["new"], 0, "{}: {again}", dir.display());
        assert_eq!(again["unchanged"], s["seen"], "{}: {again}", dir.display());
    }
}

#[test]
fn archive_is_private_even_with_a_permissive_umask() {
    let Some(corpora) = corpora() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000 && exec {} --archive {} import {}",
            env!("CARGO_BIN_EXE_kura"),
            archive.display(),
            corpora.join("notmuch-default").display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for e in walkdir::WalkDir::new(&archive) {
        let e = e.unwrap();
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        if e.file_type().is_dir() {
            assert_eq!(mode, 0o700, "{}", e.path().display());
        } else {
            assert_eq!(mode, 0o600, "{}", e.path().display());
        }
    }
}

#[test]
fn a_second_import_exits_75_while_the_archive_is_locked() {
    let Some(corpora) = corpora() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    import(&archive, &[&corpora.join("notmuch-default")]);
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(archive.join("import.lock"))
        .unwrap();
    lock.lock().unwrap();
    let o = run(kura(&archive)
        .arg("import")
        .arg(corpora.join("notmuch-misc")));
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("--wait"), "{}", stderr(&o));
    // Searching keeps working while the lock is held.
    assert!(count(&archive, "*") > 0);
    drop(lock);
    let o = run(kura(&archive)
        .arg("import")
        .arg(corpora.join("notmuch-misc")));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_grown_mbox_is_resumed_and_a_rewritten_one_reread() {
    let Some(corpora) = corpora() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("box.mbox");
    let src = std::fs::read(corpora.join("sisimai-mbox/mbox-0.mbox")).unwrap();
    std::fs::write(&mbox, &src).unwrap();
    let first = import(&archive, &[&mbox]);
    assert_eq!(first["seen"], 37);
    // Grow it by one message.
    let mut grown = src.clone();
    grown.extend_from_slice(
        b"From someone@example.com Mon Mar  4 10:00:00 2024\r\nFrom: someone@example.com\r\nSubject: appended\r\nMessage-ID: <appended-1@example.com>\r\nDate: Mon, 4 Mar 2024 10:00:00 +0900\r\n\r\nnew body\r\n\r\n",
    );
    std::fs::write(&mbox, &grown).unwrap();
    let second = import(&archive, &[&mbox]);
    assert_accounted(&second);
    assert_eq!(second["new"], 1, "{second}");
    assert_eq!(second["unchanged"], 37, "{second}");
    assert_eq!(count(&archive, "id:appended-1@example.com"), 1);
    // Rewrite it (first message dropped): re-read, nothing new, nothing lost.
    let cut = {
        let mut r = kura::sources::MboxReader::open(&mbox, false, 0).unwrap();
        r.next().unwrap().unwrap();
        let second_offset = r.next().unwrap().unwrap().offset as usize;
        grown[second_offset..].to_vec()
    };
    std::fs::write(&mbox, &cut).unwrap();
    let third = import(&archive, &[&mbox]);
    assert_accounted(&third);
    assert_eq!(third["new"], 0, "{third}");
    assert_eq!(third["seen"], 37, "{third}");
}

#[test]
fn a_rewritten_mbox_holds_the_same_copies_not_new_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("shared.mbox");
    let mail = |id: &str, n: u32, body: &str| {
        format!(
            "From a@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a@x.example\nSubject: 件名 {n}\n\
             Message-ID: <{id}@x.example>\nDate: Mon, 4 Mar 2024 10:00:0{n} +0900\n\n{body}\n\n"
        )
    };
    let (m1, m2, m3) = (
        mail("m1", 1, "一"),
        mail("m2", 2, "二"),
        mail("m3", 3, "三"),
    );
    // m2 twice (cc'd and forwarded) and a conflicting copy of m3.
    let m3_other = mail("m3", 3, "三、別の本文");
    let pack_size = || -> u64 {
        std::fs::read_dir(archive.join("originals"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "zst"))
            .map(|p| p.metadata().unwrap().len())
            .sum()
    };
    let duplicates = || {
        let o = run(kura(&archive).args(["stats", "--format", "json"]));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        s["duplicates"].as_u64().unwrap()
    };
    let import_now = |text: &str| {
        std::fs::write(&mbox, text).unwrap();
        let s = import(&archive, &[&mbox]);
        assert_accounted(&s);
        let n = |k: &str| s[k].as_u64().unwrap();
        (n("new"), n("duplicates"), n("conflicts"), n("unchanged"))
    };
    let whole = [&m1, &m2, &m2, &m3, &m3_other].map(String::as_str).concat();
    assert_eq!(import_now(&whole), (3, 2, 1, 0));
    let (size, dups) = (pack_size(), duplicates());
    assert_eq!(dups, 2);
    // Only the modification time changes (a client opened it): the same
    // copies, no new duplicate or conflict, no bytes stored again.
    for hours in 1..=2 {
        set_mtime(&mbox, SystemTime::now() - Duration::from_secs(3600 * hours));
        let s = import(&archive, &[&mbox]);
        let n = |k: &str| s[k].as_u64().unwrap();
        assert_eq!(
            (n("new"), n("duplicates"), n("conflicts"), n("unchanged")),
            (0, 0, 0, 5),
            "{s}"
        );
        assert_eq!((pack_size(), duplicates()), (size, dups));
    }
    // m1 expunged: the others moved, and are still the same copies.
    let expunged = [&m2, &m2, &m3, &m3_other].map(String::as_str).concat();
    assert_eq!(import_now(&expunged), (0, 0, 0, 4));
    assert_eq!((pack_size(), duplicates()), (size, dups));
    assert_eq!(count(&archive, "id:m1@x.example"), 1, "stored for good");
    // The second copy of m2 and the conflicting m3 removed: they are no
    // longer places of those messages.
    let fewer = [&m2, &m3].map(String::as_str).concat();
    assert_eq!(import_now(&fewer), (0, 0, 0, 2));
    assert_eq!(duplicates(), 0);
}

#[test]
fn a_rewritten_mbox_records_every_new_copy_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("shared.mbox");
    let mail = |id: &str, n: u32| {
        format!(
            "From a@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a@x.example\nSubject: 件名 {n}\n\
             Message-ID: <{id}@x.example>\nDate: Mon, 4 Mar 2024 10:00:0{n} +0900\n\n本文 {n}\n\n"
        )
    };
    let m0 = mail("m0", 0).replace("本文 0", "expunged later, so the others move");
    let (m1, m2) = (mail("m1", 1), mail("m2", 2));
    std::fs::write(&mbox, [&m0, &m1].map(String::as_str).concat()).unwrap();
    assert_eq!(import(&archive, &[&mbox])["new"], 2);
    // Rewritten: m0 expunged, m1 moved and delivered twice more, m2 new and
    // delivered twice. Each copy the file did not hold before is one more
    // place of its message, not the copy met just before it moved.
    let copies = [&m1, &m1, &m1, &m2, &m2];
    std::fs::write(&mbox, copies.map(String::as_str).concat()).unwrap();
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    let n = |s: &serde_json::Value, k: &str| s[k].as_u64().unwrap();
    assert_eq!(
        (n(&s, "new"), n(&s, "duplicates"), n(&s, "unchanged")),
        (1, 3, 1),
        "{s}"
    );
    let offsets: Vec<u64> = copies
        .iter()
        .scan(0, |at, m| {
            let here = *at;
            *at += m.len() as u64;
            Some(here)
        })
        .collect();
    let places = |id: &str| {
        let o = run(kura(&archive).args(["show", "--format", "json", id]));
        let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let mut offsets: Vec<u64> = m["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["offset"].as_u64().unwrap())
            .collect();
        offsets.sort();
        offsets
    };
    // m1's first place stays where it was imported from (m0's length).
    let mut m1_places = vec![m0.len() as u64, offsets[1], offsets[2]];
    m1_places.sort();
    assert_eq!(places("m1@x.example"), m1_places);
    assert_eq!(places("m2@x.example"), offsets[3..]);
    // Read again unchanged: the same five copies.
    set_mtime(&mbox, SystemTime::now() - Duration::from_secs(3600));
    let s = import(&archive, &[&mbox]);
    assert_eq!(
        (n(&s, "new"), n(&s, "duplicates"), n(&s, "unchanged")),
        (0, 0, 5),
        "{s}"
    );
    assert_eq!(places("m2@x.example"), offsets[3..]);
}

#[test]
fn an_mbox_read_while_a_message_is_appended_is_resumed_at_that_message() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("shared.mbox");
    let message = |n: u32, body: &str| {
        format!(
            "From sender{n}@example.co.jp Mon Mar  4 10:00:0{n} 2024\nFrom: sender{n}@example.co.jp\n\
             Subject: message {n}\nMessage-ID: <append-{n}@example.co.jp>\n\
             Date: Mon, 4 Mar 2024 10:00:0{n} +0900\n\n{body}"
        )
    };
    // A delivery has written half of the second message so far.
    let whole_second = message(2, "前半です。\n後半に請求書の件があります。\n\n");
    let cut = whole_second.find("後半").unwrap() + "後半".len();
    let mut text = message(1, "first body\n\n") + &whole_second[..cut];
    std::fs::write(&mbox, &text).unwrap();
    let first = import(&archive, &[&mbox]);
    assert_accounted(&first);
    assert_eq!(
        (&first["seen"], &first["new"], &first["incomplete"]),
        (&1.into(), &1.into(), &1.into()),
        "{first}"
    );
    // Nothing rejected or stored from the cut message.
    assert_eq!(count(&archive, "*"), 1);
    assert_eq!(listed_rejects(&archive), Vec::<serde_json::Value>::new());
    // The import log keeps the count too.
    let o = run(kura(&archive).args(["log", "--format", "json"]));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&log[0]["seen"], &log[0]["incomplete"]),
        (&1.into(), &1.into()),
        "{log}"
    );
    let o = run(kura(&archive).args(["log", "--format", "text"]));
    assert!(
        stdout(&o).contains(", 1 left for the next import\t"),
        "{}",
        stdout(&o)
    );

    // The delivery finishes and another message arrives.
    text = message(1, "first body\n\n") + &whole_second + &message(3, "third body\n\n");
    std::fs::write(&mbox, &text).unwrap();
    let second = import(&archive, &[&mbox]);
    assert_accounted(&second);
    assert_eq!(
        (&second["new"], &second["unchanged"], &second["incomplete"]),
        (&2.into(), &1.into(), &0.into()),
        "{second}"
    );
    // The second message is whole: its end is searchable.
    assert_eq!(ids(&archive, "請求書"), ["append-2@example.co.jp"]);
    assert_eq!(count(&archive, "*"), 3);
    let again = import(&archive, &[&mbox]);
    assert_eq!(
        (&again["new"], &again["seen"]),
        (&0.into(), &3.into()),
        "{again}"
    );

    // A file that ends mid-line but has not changed for a while is complete
    // as it is: its last message is imported, not left waiting forever.
    let stale = tmp.path().join("stale.mbox");
    std::fs::write(&stale, message(4, "no newline at the end")).unwrap();
    let s = import(&archive, &[&stale]);
    assert_eq!((&s["new"], &s["incomplete"]), (&0.into(), &1.into()), "{s}");
    let hours_ago = SystemTime::now() - Duration::from_secs(7200);
    set_mtime(&stale, hours_ago);
    let s = import(&archive, &[&stale]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["incomplete"]), (&1.into(), &0.into()), "{s}");
    assert_eq!(count(&archive, "id:append-4@example.co.jp"), 1);

    // A delivery caught at the end of a line: no blank line ends the
    // message yet, so it is left for the next import too.
    let lines = tmp.path().join("lines.mbox");
    let whole = message(5, "本文の前半です。\n請求書を送ります。\n\n");
    let cut = whole.find("請求書").unwrap();
    std::fs::write(&lines, &whole[..cut]).unwrap();
    let s = import(&archive, &[&lines]);
    assert_eq!(
        (&s["seen"], &s["incomplete"]),
        (&0.into(), &1.into()),
        "{s}"
    );
    std::fs::write(&lines, &whole).unwrap();
    let s = import(&archive, &[&lines]);
    assert_eq!((&s["new"], &s["incomplete"]), (&1.into(), &0.into()), "{s}");
    assert_eq!(
        ids(&archive, "請求書"),
        ["append-2@example.co.jp", "append-5@example.co.jp"]
    );

    // A message imported cut short (its file had not changed for an hour)
    // that then grows is read again, not resumed in its middle: the rest is
    // not imported as a message of its own.
    let stalled = tmp.path().join("stalled.mbox");
    std::fs::write(&stalled, message(6, "前半です。\n")).unwrap();
    set_mtime(&stalled, hours_ago);
    assert_eq!(import(&archive, &[&stalled])["new"], 1);
    let all = count(&archive, "*");
    std::fs::write(&stalled, message(6, "前半です。\n後半に見積書の件。\n\n")).unwrap();
    let s = import(&archive, &[&stalled]);
    assert_accounted(&s);
    assert_eq!(
        (&s["new"], &s["duplicates"], &s["conflicts"]),
        (&0.into(), &1.into(), &1.into()),
        "{s}"
    );
    assert_eq!(count(&archive, "*"), all);
    assert_eq!(listed_rejects(&archive), Vec::<serde_json::Value>::new());
}

#[test]
fn a_rewritten_mbox_lists_an_unreadable_message_once_where_it_now_is() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("box.mbox");
    let good = |n: u32| {
        format!(
            "From s@example.com Mon Mar  4 10:00:0{n} 2024\nFrom: s@example.com\n\
             Subject: good {n}\nMessage-ID: <good-{n}@example.com>\n\nbody {n}\n\n"
        )
    };
    // No header at all: rejected.
    let junk = "From s@example.com Mon Mar  4 10:00:09 2024\nthis is not a mail at all\n\n";
    let rejects = |archive: &Path| -> Vec<u64> {
        listed_rejects(archive)
            .iter()
            .map(|r| r["mbox_offset"].as_u64().unwrap())
            .collect()
    };
    std::fs::write(&mbox, good(1) + junk + &good(2)).unwrap();
    let s = import(&archive, &[&mbox]);
    assert_eq!((&s["new"], &s["rejected"]), (&2.into(), &1.into()), "{s}");
    assert_eq!(rejects(&archive), [good(1).len() as u64]);

    // The first message is deleted from the file: the unreadable one moves up.
    // It is the same reject, listed once, where it now is (and the good
    // message that moved too is the same copy).
    std::fs::write(&mbox, junk.to_string() + &good(2)).unwrap();
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    assert_eq!(
        (&s["rejected"], &s["duplicates"], &s["unchanged"]),
        (&0.into(), &0.into(), &2.into()),
        "{s}"
    );
    assert_eq!(rejects(&archive), [0]);
    // Two copies of it in the file are two rejects.
    std::fs::write(&mbox, junk.to_string() + junk + &good(2)).unwrap();
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    assert_eq!(s["rejected"], 1, "{s}");
    assert_eq!(rejects(&archive), [0, junk.len() as u64]);
    // Once the file no longer holds it, the reject stays listed (its bytes
    // are in the archive), as the first place of a message stays recorded.
    std::fs::write(&mbox, good(2) + &good(3)).unwrap();
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(rejects(&archive), [0, junk.len() as u64]);
}

/// The state an archive should end in, whatever happened on the way.
fn archive_state(archive: &Path) -> (Vec<String>, u64) {
    (ids(archive, "*"), count(archive, "*"))
}

#[test]
fn killed_imports_rerun_to_the_same_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(_truth) = synthetic(&mail, 600, 7) else {
        return;
    };

    let clean = tmp.path().join("clean");
    let s = import(&clean, &[&mail]);
    assert_accounted(&s);
    let expected = archive_state(&clean);
    assert_eq!(expected.0.len() as u64, s["new"].as_u64().unwrap());

    // Abort (as kill -9 would: no unwinding, no cleanup) at several points,
    // with small batches so that some batches are committed before the crash.
    for (i, point) in [1u64, 57, 100, 250, 599].into_iter().enumerate() {
        let archive = tmp.path().join(format!("crash{i}"));
        let o = run(kura(&archive)
            .args(["import", "--batch-size", "50"])
            .arg(&mail)
            .env("KURA_TEST_ABORT_AFTER", point.to_string()));
        assert!(
            !o.status.success(),
            "the import should have been aborted at {point}"
        );
        let s = import(&archive, &[&mail]);
        assert_accounted(&s);
        assert_eq!(
            archive_state(&archive),
            expected,
            "after a crash at message {point}"
        );
        // And a third run changes nothing.
        let s = import(&archive, &[&mail]);
        assert_eq!(s["new"], 0);
    }

    // A real SIGKILL at arbitrary moments.
    for (i, delay_ms) in [30u64, 120, 400].into_iter().enumerate() {
        let archive = tmp.path().join(format!("kill{i}"));
        let mut child = kura(&archive)
            .args(["import", "--batch-size", "40"])
            .arg(&mail)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let s = import(&archive, &[&mail]);
        assert_accounted(&s);
        assert_eq!(
            archive_state(&archive),
            expected,
            "after SIGKILL at {delay_ms} ms"
        );
    }
}

#[test]
fn searches_during_an_import_always_see_a_consistent_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(_) = synthetic(&mail, 3000, 13) else {
        return;
    };
    let archive = tmp.path().join("a");
    let mut child = kura(&archive)
        .args(["import", "--quiet", "--batch-size", "300"])
        .arg(&mail)
        .spawn()
        .unwrap();
    let mut last = 0u64;
    let mut searches = 0;
    loop {
        let done = child.try_wait().unwrap().is_some();
        // Search once the archive and its index exist.
        if archive.join("index/meta.json").exists() {
            let o = run(kura(&archive).args(["count", "*"]));
            let code = o.status.code();
            assert!(
                code == Some(0) || code == Some(1),
                "count failed during import: {}",
                stderr(&o)
            );
            let n: u64 = stdout(&o).trim().parse().unwrap();
            assert!(n >= last, "the number of messages went down: {last} -> {n}");
            last = n;
            // Every message the index finds has its metadata and original.
            let o = run(kura(&archive).args([
                "search", "--format", "jsonl", "--limit", "20", "--sort", "newest", "*",
            ]));
            assert!(
                o.status.code() == Some(0) || o.status.code() == Some(1),
                "{}",
                stderr(&o)
            );
            for line in stdout(&o).lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert!(!v["message_id"].as_str().unwrap().is_empty());
            }
            searches += 1;
        }
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    assert!(searches > 0);
    let final_count = count(&archive, "*");
    assert!(final_count >= last);
    eprintln!("{searches} searches ran during the import");
}

/// The dictionary files in an archive's originals folder.
fn dictionaries(archive: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(archive.join("originals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "zdict"))
        .collect();
    v.sort();
    v
}

fn show_raw(archive: &Path, id: &str) -> std::process::Output {
    run(kura(archive).args(["show", "--raw", "--"]).arg(id))
}

#[test]
fn originals_compressed_with_a_trained_dictionary_read_back_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    let dict = tmp.path().join("dict");
    let folders = fixture_folders();
    let paths: Vec<&Path> = folders.iter().map(|p| p.as_path()).collect();
    let s = import(&plain, &paths);
    // Too few messages for the default number of samples: no dictionary.
    assert!(dictionaries(&plain).is_empty());
    let d = import_with_env(&dict, ("KURA_TEST_DICT_SAMPLES", "8"), &paths);
    assert_eq!(d["new"], s["new"]);
    let files = dictionaries(&dict);
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", files[0].display());

    // Every original reads back byte for byte, with or without a dictionary.
    let all = ids(&dict, "*");
    assert_eq!(all.len() as u64, s["new"].as_u64().unwrap());
    for id in &all {
        let a = show_raw(&plain, id);
        let b = show_raw(&dict, id);
        assert!(b.status.success(), "{id}: {}", stderr(&b));
        assert_eq!(a.stdout, b.stdout, "{id}");
    }
    let o = run(kura(&dict).arg("check"));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // A later import keeps the dictionary it has.
    let eml = root().join("fixtures/eml");
    import_with_env(&dict, ("KURA_TEST_DICT_SAMPLES", "2"), &[&eml]);
    assert_eq!(dictionaries(&dict), files);

    // The messages after the training need it: without it, a clear error.
    std::fs::remove_file(&files[0]).unwrap();
    let failed: Vec<_> = all
        .iter()
        .map(|id| show_raw(&dict, id))
        .filter(|o| !o.status.success())
        .collect();
    assert!(!failed.is_empty(), "no original used the dictionary");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr(&failed[0]).contains(&name), "{}", stderr(&failed[0]));
}

/// An old Mac mbox (Eudora, Mac OS 9) ends its lines with a bare CR. Read
/// as one long line, it was one `From ` line: every message in it was lost
/// (one empty message rejected). Each message is imported, found, and shown;
/// a second import finds the file unchanged, and one grown since is resumed.
#[test]
fn an_old_mac_mbox_with_bare_cr_line_ends_is_read_message_by_message() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("eudora.mbx");
    let message = |n: u32| {
        format!(
            "From ???@??? Mon Mar  4 10:0{n}:00 2024\rFrom: tanaka{n}@x.example\r\
             Subject: mac {n}\rMessage-ID: <mac{n}@x.example>\r\
             Date: Mon, 4 Mar 2024 10:0{n}:00 +0900\r\rline one\rFrom the desk of Tanaka\r\r"
        )
    };
    std::fs::write(&mbox, (1..=3).map(message).collect::<String>()).unwrap();
    set_mtime(
        &mbox,
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["rejected"]), (&3.into(), &0.into()), "{s}");
    for n in 1..=3 {
        assert_eq!(
            ids(&archive, &format!("subject:\"mac {n}\"")),
            [format!("mac{n}@x.example")]
        );
    }
    let o = run(kura(&archive).args(["show", "mac2@x.example"]));
    assert!(
        stdout(&o).contains("From the desk of Tanaka"),
        "{}",
        stdout(&o)
    );
    let s = import(&archive, &[&mbox]);
    assert_eq!((&s["new"], &s["unchanged"]), (&0.into(), &3.into()), "{s}");

    std::fs::write(&mbox, (1..=4).map(message).collect::<String>()).unwrap();
    set_mtime(
        &mbox,
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_100),
    );
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    // Resumed: the three before it are not read again.
    assert_eq!(
        (&s["new"], &s["duplicates"], &s["unchanged"]),
        (&1.into(), &0.into(), &3.into()),
        "{s}"
    );
}

#[test]
fn mbox_messages_without_a_header_date_take_their_from_line_date_else_the_file_time() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let mbox = tmp.path().join("box.mbox");
    // Joined with cat (no blank line before the second separator); the third
    // separator has no complete date.
    std::fs::write(
        &mbox,
        "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\nSubject: one\nMessage-ID: <d1@x.example>\n\nbody\n\
         From b@x.example Tue Mar  5 19:30:00 +0900 2024\nFrom: b@x.example\nSubject: two\nMessage-ID: <d2@x.example>\n\nbody\n\n\
         From c@x.example 2024\nFrom: c@x.example\nSubject: three\nMessage-ID: <d3@x.example>\n\nbody\n",
    )
    .unwrap();
    set_mtime(
        &mbox,
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let s = import(&archive, &[&mbox]);
    assert_accounted(&s);
    assert_eq!(s["new"], 3, "{s}");
    assert_eq!(
        dates_by(kura(&archive), "subject"),
        [
            ("one".to_string(), "2024-03-04T10:00:00Z".to_string()),
            ("three".to_string(), "2023-11-14T22:13:20Z".to_string()),
            ("two".to_string(), "2024-03-05T10:30:00Z".to_string()),
        ]
    );
}

#[test]
fn files_that_are_not_mail_are_counted_and_listed_with_verbose() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "shopping list\n").unwrap();
    std::fs::write(
        dir.join("one.eml"),
        "From: a@x.example\nSubject: s\nMessage-ID: <one@x.example>\n\nbody\n",
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"From: a@x.example\nSubject: gz\n\nbody\n").unwrap();
    std::fs::write(dir.join("two.eml.gz"), gz.finish().unwrap()).unwrap();

    let o = run(kura(&tmp.path().join("a")).arg("import").arg(&dir));
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stderr(&o);
    assert!(line.contains("1 new"), "{line}");
    assert!(
        line.contains(", 2 files or folders passed over (-v says why)"),
        "{line}"
    );

    let o = run(kura(&tmp.path().join("b"))
        .args(["import", "-v", "--json"])
        .arg(&dir));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["ignored_files"], 2, "{s}");
    let err = stderr(&o);
    assert!(err.contains("notes.txt: not mail"), "{err}");
    assert!(
        err.contains("two.eml.gz: gzip-compressed single message"),
        "{err}"
    );
}

#[test]
fn an_archive_kept_beside_the_exports_is_passed_over_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    std::fs::write(
        mail.join("one.eml"),
        "From: a@x.example\nSubject: s\nMessage-ID: <one@x.example>\n\nbody\n",
    )
    .unwrap();
    // The archive lives in the folder the nightly job imports.
    let archive = mail.join("kura");
    for _ in 0..2 {
        let o = run(kura(&archive).args(["import", "-v", "--json"]).arg(&mail));
        assert!(o.status.success(), "{}", stderr(&o));
        let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let err = stderr(&o);
        assert!(err.contains("kura: a kura archive (not walked)"), "{err}");
        assert_eq!(s["ignored_files"], 1, "{s}\n{err}");
    }
    assert_eq!(count(&archive, "*"), 1);
    // A folder that merely holds a file of that name is mail all the same
    // (the empty file is passed over as not mail).
    let notes = mail.join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("kura.sqlite"), "").unwrap();
    std::fs::write(
        notes.join("two.eml"),
        "From: a@x.example\nSubject: s\nMessage-ID: <two@x.example>\n\nbody\n",
    )
    .unwrap();
    let s = import(&archive, &[&mail]);
    assert_eq!(
        (s["new"].as_u64(), s["ignored_files"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    let s = import(&archive, &[&notes]);
    assert_eq!(s["unchanged"].as_u64(), Some(1), "{s}");
    // Named as the mail to import, it is a mistake said at once, before an
    // archive is made for it.
    let other = tmp.path().join("other");
    let o = run(kura(&other).arg("import").arg(&archive));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is a kura archive, not mail to import"),
        "{}",
        stderr(&o)
    );
    assert!(!other.exists());
}

#[test]
fn file_names_in_shift_jis_are_shown_in_japanese() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    // A Windows zip unpacked as it was: its names are Shift_JIS bytes.
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let sjis = |name: &str| {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(name);
        dir.join(std::ffi::OsStr::from_bytes(&bytes))
    };
    std::fs::write(
        sjis("受信トレイ.mbox"),
        "From a@x.example Mon Jan  1 00:00:00 2024\nFrom: a@x.example\nSubject: s\nMessage-ID: <sj@x.example>\n\nbody\n",
    )
    .unwrap();
    // Written an hour ago: not an mbox still being written to.
    set_mtime(
        &sjis("受信トレイ.mbox"),
        std::time::SystemTime::now() - std::time::Duration::from_secs(3600),
    );
    std::fs::write(sjis("メモ.txt"), "買い物\n").unwrap();
    let archive = tmp.path().join("a");
    let o = run(kura(&archive).args(["import", "-v"]).arg(&dir));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("/メモ.txt: not mail"), "{}", stderr(&o));
    let o = run(kura(&archive).args(["show", "--format", "json", "sj@x.example"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let path = v["locations"][0]["path"].as_str().unwrap();
    assert!(path.ends_with("/export/受信トレイ.mbox"), "{path}");
    // The file itself is known by its bytes: nothing new the next night.
    let again = import(&archive, &[&dir]);
    assert_eq!(
        (again["new"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    // Named on the command line, it is in the import history in Japanese.
    import(&archive, &[&sjis("受信トレイ.mbox")]);
    let o = run(kura(&archive).args(["log", "--format", "json"]));
    let log: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let paths = log[0]["paths"].to_string();
    assert!(paths.contains("/export/受信トレイ.mbox"), "{paths}");
}

#[test]
fn a_file_rewritten_with_other_content_is_a_conflict_not_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let eml = tmp.path().join("m.eml");
    let write = |body: &str| {
        std::fs::write(
            &eml,
            format!("From: a@x.example\nSubject: s\nMessage-ID: <same@x.example>\n\n{body}\n"),
        )
        .unwrap()
    };
    write("versionone");
    assert_eq!(import(&archive, &[&eml])["new"], 1);
    write("versiontwo, longer");
    let s = import(&archive, &[&eml]);
    assert_accounted(&s);
    assert_eq!(
        (
            s["duplicates"].as_u64(),
            s["conflicts"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{s}"
    );
    let nothing_new = || {
        let s = import(&archive, &[&eml]);
        assert_eq!(
            (s["unchanged"].as_u64(), s["duplicates"].as_u64()),
            (Some(1), Some(0)),
            "{s}"
        );
    };
    // The same bytes read again (the file touched): nothing new.
    set_mtime(&eml, SystemTime::now() + Duration::from_secs(5));
    nothing_new();
    // Same content in other bytes (a header a mail client rewrites) is the
    // same copy, not another duplicate.
    std::fs::write(
        &eml,
        "From: a@x.example\nSubject: s\nMessage-ID: <same@x.example>\nStatus: RO\n\nversionone\n",
    )
    .unwrap();
    nothing_new();
    let o = run(kura(&archive).args(["stats", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (r["duplicates"].as_u64(), r["conflicts"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
}

#[test]
fn maildir_files_renamed_by_a_mail_client_are_the_same_places_not_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let md = empty_maildir(tmp.path().join("shared"));
    let mail = |n: u32| {
        format!(
            "From: a@x.example\nTo: b@y.example\nSubject: 請求書 {n}\nMessage-ID: <m{n}@x.example>\n\nbody {n}\n"
        )
    };
    for n in 1..=3 {
        std::fs::write(
            md.join("new").join(format!("1700000000.M{n}P1.host")),
            mail(n),
        )
        .unwrap();
    }
    std::fs::write(md.join("cur/1700000000.M4P1.host:2,"), mail(4)).unwrap();
    let s = import(&archive, &[&md]);
    assert_eq!(s["new"], 4, "{s}");

    // Read by a mail client: new/ -> cur/ with flags, and a flag changed in cur/.
    std::fs::rename(
        md.join("new/1700000000.M1P1.host"),
        md.join("cur/1700000000.M1P1.host:2,S"),
    )
    .unwrap();
    std::fs::rename(
        md.join("cur/1700000000.M4P1.host:2,"),
        md.join("cur/1700000000.M4P1.host:2,RS"),
    )
    .unwrap();
    // A real second copy under another unique name stays a duplicate, and a
    // renamed file whose old name still exists is a copy, not a move.
    std::fs::copy(
        md.join("new/1700000000.M2P1.host"),
        md.join("cur/1700000000.M9P1.host:2,S"),
    )
    .unwrap();
    std::fs::copy(
        md.join("new/1700000000.M3P1.host"),
        md.join("cur/1700000000.M3P1.host:2,S"),
    )
    .unwrap();
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!(
        (
            s["seen"].as_u64(),
            s["new"].as_u64(),
            s["duplicates"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(6), Some(0), Some(2), Some(4)),
        "{s}"
    );
    // The places name the files where they are now.
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    let names = |table: &str, column: &str| -> Vec<String> {
        let mut q = conn
            .prepare(&format!("SELECT {column} FROM {table}"))
            .unwrap();
        let mut names: Vec<String> = q
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|p| {
                let p = p.unwrap();
                p.rsplit('/').take(2).collect::<Vec<_>>().join("<")
            })
            .collect();
        names.sort();
        names
    };
    let expected = [
        "1700000000.M1P1.host:2,S<cur",
        "1700000000.M3P1.host:2,S<cur",
        "1700000000.M4P1.host:2,RS<cur",
        "1700000000.M9P1.host:2,S<cur",
        "1700000000.M2P1.host<new",
        "1700000000.M3P1.host<new",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names("locations", "source"), expected);
    assert_eq!(names("files", "path"), expected);
    // Nothing is new the next night either.
    let s = import(&archive, &[&md]);
    assert_eq!(
        (s["unchanged"].as_u64(), s["seen"].as_u64()),
        (Some(6), Some(6)),
        "{s}"
    );
    assert_eq!(count(&archive, "請求書"), 4);
}

#[test]
fn maildir_files_renamed_under_a_windows_info_separator_are_the_same_places() {
    // Copied through Windows, whose file names cannot hold a `:`, a Maildir's
    // info follows a `!` or a `;` (`u!2,S`); a mail client that changes the
    // flags renames the file the same way.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let md = empty_maildir(tmp.path().join("shared"));
    let mail = |n: u32| {
        format!(
            "From: a@x.example\r\nSubject: 見積 {n}\r\nMessage-ID: <w{n}@x.example>\r\n\r\nbody {n}\r\n"
        )
    };
    let names = [
        "cur/1700000000.M1P1.host!2,S",
        "cur/1700000000.M2P1.host;2,S",
        "new/1700000000.M3P1.host",
    ];
    for (n, name) in (1..).zip(names) {
        std::fs::write(md.join(name), mail(n)).unwrap();
    }
    assert_eq!(import(&archive, &[&md])["new"], 3);
    for (from, to) in [
        (names[0], "cur/1700000000.M1P1.host!2,RS"),
        (names[1], "cur/1700000000.M2P1.host;2,FS"),
        (names[2], "cur/1700000000.M3P1.host;2,S"),
    ] {
        std::fs::rename(md.join(from), md.join(to)).unwrap();
    }
    let unchanged = || {
        for _ in 0..2 {
            let s = import(&archive, &[&md]);
            assert_accounted(&s);
            assert_eq!(
                (s["seen"].as_u64(), s["unchanged"].as_u64()),
                (Some(3), Some(3)),
                "{s}"
            );
        }
    };
    unchanged();
    // Back to a colon (the Maildir copied back from Windows), or from one
    // Windows separator to the other.
    for (from, to) in [
        (
            "cur/1700000000.M2P1.host;2,FS",
            "cur/1700000000.M2P1.host:2,FS",
        ),
        (
            "cur/1700000000.M3P1.host;2,S",
            "cur/1700000000.M3P1.host!2,S",
        ),
    ] {
        std::fs::rename(md.join(from), md.join(to)).unwrap();
    }
    unchanged();
    let o = run(kura(&archive).args(["stats", "--format", "json"]));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(stats["duplicates"], 0, "{stats}");
    // Each message is found where its file is now, and only there.
    for (n, name) in [(1, "host!2,RS"), (2, "host:2,FS"), (3, "host!2,S")] {
        let o = run(kura(&archive).args(["show", "--format", "json", &format!("w{n}@x.example")]));
        let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let places = m["locations"].as_array().unwrap();
        assert_eq!(places.len(), 1, "{m}");
        assert!(places[0]["path"].as_str().unwrap().ends_with(name), "{m}");
    }
}

#[test]
fn apple_mail_emlx_files_are_imported_without_their_wrapping() {
    // An `.emlx` holds a line with the message's length, the message, and a
    // property list of Apple Mail's flags.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let dir = tmp.path().join("INBOX.mbox/Data/1/Messages");
    std::fs::create_dir_all(&dir).unwrap();
    let plist = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n\
        <dict>\n\t<key>flags</key>\n\t<integer>8590195713</integer>\n</dict>\n</plist>\n";
    let mail = |n: u32| {
        format!(
            "From: Suzuki <suzuki@x.example>\nSubject: 見積 {n}\nDate: Wed, 07 Feb 2024 10:00:00 +0900\n\
             Message-Id: <apple{n}@x.example>\n\napple body {n}\n"
        )
    };
    let (one, two) = (mail(1), mail(2));
    std::fs::write(
        dir.join("1.emlx"),
        format!("{:<10}\n{one}{plist}", one.len()),
    )
    .unwrap();
    std::fs::write(
        dir.join("2.partial.emlx"),
        format!("{}\n{two}{plist}", two.len()),
    )
    .unwrap();
    let inbox = tmp.path().join("INBOX.mbox");
    let s = import(&archive, &[&inbox]);
    assert_accounted(&s);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    assert!(listed_rejects(&archive).is_empty());
    assert_eq!(
        ids(&archive, "apple"),
        ["apple1@x.example", "apple2@x.example"]
    );
    assert_eq!(
        count(&archive, "integer"),
        0,
        "the property list is not mail"
    );
    // The original kept is the message.
    let o = run(kura(&archive).args(["show", "--raw", "apple1@x.example"]));
    assert_eq!(stdout(&o), one);
    let s = import(&archive, &[&inbox]);
    assert_eq!(s["unchanged"], 2, "{s}");
}

#[test]
fn files_of_a_maildir_cur_and_new_named_as_arguments_are_maildir_files() {
    // `kura import Maildir/cur Maildir/new`: a file a mail client renames
    // there is the same place, as when the Maildir itself is named.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let md = empty_maildir(tmp.path().join("shared"));
    let mail = |n: u32| {
        format!("From: a@x.example\nSubject: s {n}\nMessage-ID: <c{n}@x.example>\n\nbody {n}\n")
    };
    std::fs::write(md.join("new/1700000000.M1P1.host"), mail(1)).unwrap();
    std::fs::write(md.join("cur/1700000000.M2P1.host:2,"), mail(2)).unwrap();
    let (cur, new) = (md.join("cur"), md.join("new"));
    assert_eq!(import(&archive, &[&cur, &new])["new"], 2);
    std::fs::rename(
        md.join("new/1700000000.M1P1.host"),
        md.join("cur/1700000000.M1P1.host:2,S"),
    )
    .unwrap();
    std::fs::rename(
        md.join("cur/1700000000.M2P1.host:2,"),
        md.join("cur/1700000000.M2P1.host:2,RS"),
    )
    .unwrap();
    let s = import(&archive, &[&cur, &new]);
    assert_accounted(&s);
    assert_eq!(
        (s["unchanged"].as_u64(), s["duplicates"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    let o = run(kura(&archive).args(["show", "--format", "json", "c1@x.example"]));
    let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let places = m["locations"].as_array().unwrap();
    assert_eq!(places.len(), 1, "{m}");
    assert_eq!(places[0]["kind"], "maildir", "{m}");
    assert!(
        places[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("cur/1700000000.M1P1.host:2,S")
    );
}

#[test]
fn an_mbox_that_starts_with_nul_padding_is_an_mbox() {
    // A mail client that crashed while rewriting the file leaves NUL bytes
    // before the first `From ` line: the file is still an mbox, its messages
    // each their own, not one file rejected (named) or passed over (walked).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let message = |n: u32| {
        format!(
            "From a{n}@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a{n}@x.example\n\
             Subject: s {n}\nMessage-ID: <z{n}@x.example>\n\nbody {n}\n\n"
        )
    };
    let mut file = vec![0u8; 3000];
    file.extend((1..=2).map(message).collect::<String>().into_bytes());
    std::fs::write(dir.join("Inbox"), &file).unwrap();
    for (archive, path) in [("a", dir.clone()), ("b", dir.join("Inbox"))] {
        let archive = tmp.path().join(archive);
        let s = import(&archive, &[&path]);
        assert_accounted(&s);
        assert_eq!((&s["new"], &s["rejected"]), (&2.into(), &0.into()), "{s}");
        let mut found = ids(&archive, "body");
        found.sort();
        assert_eq!(found, ["z1@x.example", "z2@x.example"]);
    }
}

/// How message `id` was first found (`maildir`, `mbox`, `eml`), as `show`
/// lists its locations.
fn first_location_kind(archive: &Path, id: &str) -> String {
    let o = run(kura(archive).args(["show", "--format", "json", id]));
    let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    m["locations"][0]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_folder_merely_named_new_is_walked_as_any_folder() {
    // `kura import exports/new`, where `new` is just where the latest
    // exports are kept (an mbox, a subfolder of messages), not a Maildir's
    // `new/`: each message of the mbox is its own, and the subfolder is read.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let new = tmp.path().join("exports/new");
    std::fs::create_dir_all(new.join("sub")).unwrap();
    let message = |n: u32| {
        format!(
            "From a{n}@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a{n}@x.example\n\
             Subject: s {n}\nMessage-ID: <n{n}@x.example>\n\nbody {n}\n\n"
        )
    };
    std::fs::write(
        new.join("2024.mbox"),
        (1..=3).map(message).collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        new.join("sub/one.eml"),
        "From: a4@x.example\nSubject: s 4\nMessage-ID: <n4@x.example>\n\nbody 4\n",
    )
    .unwrap();
    let s = import(&archive, &[&new]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["rejected"]), (&4.into(), &0.into()), "{s}");
    let mut found = ids(&archive, "body");
    found.sort();
    assert_eq!(
        found,
        [
            "n1@x.example",
            "n2@x.example",
            "n3@x.example",
            "n4@x.example"
        ]
    );

    // `kura import exports`, with last year's mbox beside `new/`: a folder
    // that holds `new/` among other files is no Maildir either.
    let exports = tmp.path().join("exports");
    std::fs::write(
        exports.join("2023.mbox"),
        (5..=6).map(message).collect::<String>(),
    )
    .unwrap();
    let archive = tmp.path().join("b");
    let s = import(&archive, &[&exports]);
    assert_accounted(&s);
    assert_eq!(
        (&s["new"], &s["rejected"], &s["ignored_files"]),
        (&6.into(), &0.into(), &0.into()),
        "{s}"
    );
    assert_eq!(ids(&archive, "body").len(), 6);

    // A Maildir exported without its empty `cur/` and `tmp/` (`new/` alone,
    // hidden entries aside) is still a Maildir: its files are Maildir files.
    let bare = tmp.path().join("bare");
    std::fs::create_dir_all(bare.join("new")).unwrap();
    std::fs::create_dir_all(bare.join(".Sent/cur")).unwrap();
    std::fs::write(
        bare.join("new/1700000000.1.host"),
        "From: a7@x.example\nSubject: s 7\nMessage-ID: <n7@x.example>\n\nbody 7\n",
    )
    .unwrap();
    std::fs::write(
        bare.join(".Sent/cur/1700000001.2.host:2,S"),
        "From: a8@x.example\nSubject: s 8\nMessage-ID: <n8@x.example>\n\nbody 8\n",
    )
    .unwrap();
    let o = run(kura(&archive).args(["import", "--json"]).arg(&bare));
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["new"], 2, "{s}");
    for id in ["n7@x.example", "n8@x.example"] {
        assert_eq!(first_location_kind(&archive, id), "maildir", "{id}");
    }
}

#[test]
fn a_maildir_exported_without_cur_and_tmp_is_one_beside_its_servers_files() {
    // A Dovecot Maildir whose empty `cur/` and `tmp/` were not exported:
    // the server's files beside `new/` do not make it a folder of files,
    // whose Maildir++ folders (hidden) would be passed over.
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("shared");
    std::fs::create_dir_all(md.join("new")).unwrap();
    std::fs::create_dir_all(md.join(".Sent/cur")).unwrap();
    std::fs::create_dir_all(md.join("courierimapkeywords")).unwrap();
    for f in [
        "dovecot-uidlist",
        "dovecot-uidvalidity",
        "dovecot.index.log",
        "subscriptions",
        ".Sent/maildirfolder",
    ] {
        std::fs::write(md.join(f), "3 V1 N2\n").unwrap();
    }
    std::fs::write(
        md.join("new/1700000000.1.host"),
        "From: a1@x.example\nSubject: s 1\nMessage-ID: <n1@x.example>\n\nbody 1\n",
    )
    .unwrap();
    std::fs::write(
        md.join(".Sent/cur/1700000001.2.host:2,S"),
        "From: a2@x.example\nSubject: s 2\nMessage-ID: <n2@x.example>\n\nbody 2\n",
    )
    .unwrap();
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!((&s["seen"], &s["new"]), (&2.into(), &2.into()), "{s}");
    for id in ["n1@x.example", "n2@x.example"] {
        assert_eq!(first_location_kind(&archive, id), "maildir", "{id}");
    }
}

#[test]
fn an_mbox_put_in_a_maildirs_new_is_read_as_an_mbox() {
    // Someone saved an export into the shared Maildir's `new/`: its three
    // messages are three messages, not one with the others as its body.
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("Maildir");
    std::fs::create_dir_all(md.join("cur")).unwrap();
    std::fs::create_dir_all(md.join("new")).unwrap();
    let message = |n: u32| {
        format!(
            "From a{n}@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a{n}@x.example\n\
             Subject: s {n}\nMessage-ID: <m{n}@x.example>\n\nbody {n}\n\n"
        )
    };
    std::fs::write(
        md.join("new/2024-03.MBOX"),
        (1..=3).map(message).collect::<String>(),
    )
    .unwrap();
    // A Maildir file that starts with a `From ` line is still one message.
    std::fs::write(md.join("cur/1700000000.1.host:2,S"), message(4)).unwrap();
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["rejected"]), (&4.into(), &0.into()), "{s}");
    assert_eq!(count(&archive, "body"), 4);
    assert_eq!(count(&archive, "\"body 2\""), 1);
    assert_eq!(first_location_kind(&archive, "m4@x.example"), "maildir");
}

#[test]
fn an_mbox_in_a_maildir_an_earlier_version_read_as_one_message_is_read_again() {
    // Earlier versions read an mbox in a Maildir's `new/` as one message (the
    // others its body) and a gzipped one as a reject. The file has not
    // changed since, but it is read now as an mbox: its other messages are
    // imported, not left out with the file counted unchanged.
    let tmp = tempfile::tempdir().unwrap();
    let md = empty_maildir(tmp.path().join("Maildir"));
    let message = |n: u32| {
        format!(
            "From a{n}@x.example Mon Mar  4 10:00:0{n} 2024\nFrom: a{n}@x.example\n\
             Subject: s {n}\nMessage-ID: <m{n}@x.example>\n\nbody {n}\n\n"
        )
    };
    std::fs::write(md.join("new/a"), (1..=3).map(message).collect::<String>()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, (4..=5).map(message).collect::<String>().as_bytes())
        .unwrap();
    std::fs::write(md.join("new/b"), gz.finish().unwrap()).unwrap();
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&md]);
    assert_eq!((&s["new"], &s["rejected"]), (&1.into(), &1.into()), "{s}");
    // What an earlier version recorded of them by their names (a rename
    // keeps the size and modification time).
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    for (old, new) in [
        ("new/a", "new/2024-03.mbox"),
        ("new/b", "new/2024-04.mbox.gz"),
    ] {
        let (old, new) = (md.join(old), md.join(new));
        std::fs::rename(&old, &new).unwrap();
        let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
        for table in [
            "files SET path",
            "locations SET source",
            "rejects SET source",
        ] {
            let column = table.rsplit(' ').next().unwrap();
            conn.execute(
                &format!("UPDATE {table} = ?1 WHERE {column} = ?2"),
                [new, old],
            )
            .unwrap();
        }
    }
    drop(conn);
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    // The first message, stored with the others as its body, conflicts.
    assert_eq!(
        (&s["seen"], &s["new"], &s["duplicates"]),
        (&5.into(), &4.into(), &1.into()),
        "{s}"
    );
    assert_eq!(count(&archive, "body"), 5);
    assert_eq!(listed_rejects(&archive).len(), 0);
    let s = import(&archive, &[&md]);
    assert_eq!((&s["seen"], &s["unchanged"]), (&5.into(), &5.into()), "{s}");
}

#[test]
fn a_renamed_maildir_file_is_matched_by_its_whole_unique_name() {
    // Known files are looked up by the renamed file's unique name as a path
    // prefix: `new/u0` shares the prefix of `new/u:2,`, has the same size and
    // time, and is gone too, but it is another message.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let md = empty_maildir(tmp.path().join("shared"));
    let time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for (name, n) in [("u:2,", 1), ("u0", 2)] {
        let path = md.join("new").join(name);
        std::fs::write(
            &path,
            format!("From: a@x.example\nSubject: s\nMessage-ID: <r{n}@x.example>\n\nbody\n"),
        )
        .unwrap();
        set_mtime(&path, time);
    }
    assert_eq!(import(&archive, &[&md])["new"], 2);
    std::fs::rename(md.join("new/u:2,"), md.join("cur/u:2,S")).unwrap();
    std::fs::remove_file(md.join("new/u0")).unwrap();
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!(
        (s["unchanged"].as_u64(), s["new"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    let found_in: String = conn
        .query_row(
            "SELECT m.message_id FROM locations l JOIN messages m ON m.id = l.message
             WHERE l.source LIKE '%/cur/u:2,S'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found_in, "r1@x.example");
}

#[test]
fn a_renamed_file_of_a_maildir_whose_folder_name_is_not_utf8_is_the_same_place() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    // A Latin-1 folder name ("Boîte"), as older systems wrote them.
    let md = empty_maildir(tmp.path().join(std::ffi::OsStr::from_bytes(b"Bo\xeete")));
    std::fs::write(
        md.join("new/1700000000.M1P1.host"),
        "From: a@x.example\nSubject: s\nMessage-ID: <l1@x.example>\n\nbody\n",
    )
    .unwrap();
    assert_eq!(import(&archive, &[&md])["new"], 1);
    std::fs::rename(
        md.join("new/1700000000.M1P1.host"),
        md.join("cur/1700000000.M1P1.host:2,S"),
    )
    .unwrap();
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!(
        (s["unchanged"].as_u64(), s["duplicates"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    let s = import(&archive, &[&md]);
    assert_eq!(s["unchanged"].as_u64(), Some(1), "{s}");
}

/// The paths an archive records in `column` of `table`, as the bytes
/// they are recorded with.
fn recorded_paths(archive: &Path, table: &str, column: &str) -> Vec<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    let mut q = conn
        .prepare(&format!("SELECT {column} FROM {table} ORDER BY 1"))
        .unwrap();
    q.query_map([], |r| {
        let bytes = r.get_ref(0)?.as_bytes()?;
        Ok(std::ffi::OsStr::from_bytes(bytes).into())
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Asserts that every path the archive records (of its files and of its
/// messages' places) opens the file.
fn assert_recorded_paths_open(archive: &Path) {
    let files = recorded_paths(archive, "files", "path");
    for path in files
        .iter()
        .chain(&recorded_paths(archive, "locations", "source"))
    {
        assert!(path.is_file(), "{} is not the file", path.display());
    }
}

/// Records every path of the archive's files and places as the lossy text
/// an earlier version recorded a path that is not UTF-8 by.
fn record_paths_lossily(archive: &Path) {
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    for (table, column) in [("files", "path"), ("locations", "source")] {
        for path in recorded_paths(archive, table, column) {
            use std::os::unix::ffi::OsStrExt;
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"),
                rusqlite::params![path.to_string_lossy(), path.as_os_str().as_bytes()],
            )
            .unwrap();
        }
    }
}

/// An mbox of one message for each subject, its Message-ID
/// `<SUBJECT@x.example>`.
fn mbox_of(subjects: &[&str]) -> String {
    subjects
        .iter()
        .map(|subject| {
            format!(
                "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\n\
                 Subject: {subject}\nMessage-ID: <{subject}@x.example>\n\nbody\n\n"
            )
        })
        .collect()
}

/// `dir/exports` with two mbox files named in CP932 (請求.mbox and
/// 見積.mbox), as a zip made on Windows unpacks them: read as UTF-8 with
/// U+FFFD for each bad byte, the two names are the same text. The invoices
/// hold `seikyu` and `nyukin`, the quotes `mitsumori` ([`mbox_of`]).
/// Returns (exports, invoices, quotes).
fn cp932_mboxes(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::ffi::OsStrExt;
    let exports = dir.join("exports");
    std::fs::create_dir(&exports).unwrap();
    let invoices = exports.join(std::ffi::OsStr::from_bytes(b"\x90\xbf\x8b\x81.mbox"));
    let quotes = exports.join(std::ffi::OsStr::from_bytes(b"\x8c\xa9\x90\xcf.mbox"));
    assert_eq!(
        invoices.to_string_lossy(),
        quotes.to_string_lossy(),
        "the test needs names that read as the same text"
    );
    std::fs::write(&quotes, mbox_of(&["mitsumori"])).unwrap();
    std::fs::write(&invoices, mbox_of(&["seikyu", "nyukin"])).unwrap();
    (exports, invoices, quotes)
}

#[test]
fn file_names_that_are_not_utf8_are_recorded_as_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let (exports, _, quotes) = cp932_mboxes(tmp.path());
    let s = import(&archive, &[&exports]);
    assert_eq!(s["new"], 3, "{s}");
    // Each place names its own file, which opens.
    let files = recorded_paths(&archive, "files", "path");
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(recorded_paths(&archive, "locations", "source").len(), 3);
    assert_recorded_paths_open(&archive);
    // Unchanged files are passed over (before, each re-read the other's
    // record as changed), and one that grows is resumed.
    let s = import(&archive, &[&exports]);
    assert_eq!((&s["seen"], &s["unchanged"]), (&3.into(), &3.into()), "{s}");
    std::fs::write(&quotes, mbox_of(&["mitsumori", "teisei"])).unwrap();
    let s = import(&archive, &[&exports]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["unchanged"]), (&1.into(), &3.into()), "{s}");
    let listed = stdout(&run(
        kura(&archive).args(["search", "--format", "json", "teisei"])
    ));
    assert!(listed.contains("teisei@x.example"), "{listed}");
}

#[test]
fn a_path_an_earlier_version_recorded_lossily_is_taken_over_not_imported_again() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let md = empty_maildir(
        tmp.path()
            .join(std::ffi::OsStr::from_bytes(b"\x90\xbf\x8b\x81")),
    );
    for n in 1..=2 {
        std::fs::write(
            md.join(format!("new/1700000000.M{n}P1.host")),
            format!("From: a@x.example\nSubject: s\nMessage-ID: <t{n}@x.example>\n\nbody\n"),
        )
        .unwrap();
    }
    assert_eq!(import(&archive, &[&md])["new"], 2);
    // As a kura that recorded paths as lossy text left them.
    record_paths_lossily(&archive);
    // Then, before this version's first import, a mail client reads one:
    // its old place is looked for under the lossy text too. The other is
    // where it was.
    std::fs::rename(
        md.join("new/1700000000.M1P1.host"),
        md.join("cur/1700000000.M1P1.host:2,S"),
    )
    .unwrap();
    let s = import(&archive, &[&md]);
    assert_accounted(&s);
    assert_eq!(
        (&s["unchanged"], &s["duplicates"], &s["new"]),
        (&2.into(), &0.into(), &0.into()),
        "{s}"
    );
    assert_eq!(recorded_paths(&archive, "locations", "source").len(), 2);
    assert_recorded_paths_open(&archive);
}

#[test]
fn a_lossy_record_two_files_read_as_is_taken_over_by_neither() {
    use std::os::unix::ffi::OsStrExt;
    // Two mbox files whose CP932 names read as the same text: an earlier
    // version recorded them as one file, under that text, with the places
    // of the messages of both.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let (exports, invoices, quotes) = cp932_mboxes(tmp.path());
    assert_eq!(import(&archive, &[&exports])["new"], 3);
    let lossy = invoices.to_string_lossy().into_owned();
    {
        // The files row of the one recorded last (invoices, whose size and
        // modification time it holds).
        let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
        conn.execute(
            "DELETE FROM files WHERE path = ?1",
            [quotes.as_os_str().as_bytes()],
        )
        .unwrap();
        conn.execute("UPDATE files SET path = ?1", [&lossy])
            .unwrap();
        conn.execute("UPDATE locations SET source = ?1", [&lossy])
            .unwrap();
    }
    let s = import(&archive, &[&exports]);
    assert_accounted(&s);
    assert_eq!(s["new"], 0, "{s}");
    // No message is said to be in the other file.
    let conn = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    for (id, own) in [
        ("mitsumori@x.example", &quotes),
        ("seikyu@x.example", &invoices),
        ("nyukin@x.example", &invoices),
    ] {
        let mut q = conn
            .prepare(
                "SELECT l.source FROM locations l JOIN messages m ON m.id = l.message
                 WHERE m.message_id = ?1",
            )
            .unwrap();
        let sources: Vec<Vec<u8>> = q
            .query_map([id], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec()))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for source in sources {
            assert!(
                source == lossy.as_bytes() || source == own.as_os_str().as_bytes(),
                "{id} is said to be in {:?}",
                std::ffi::OsStr::from_bytes(&source)
            );
        }
    }
    // Each file is known by its own name now.
    let s = import(&archive, &[&exports]);
    assert_eq!((&s["seen"], &s["unchanged"]), (&3.into(), &3.into()), "{s}");
}

#[test]
fn the_same_files_reached_by_another_path_are_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let exports = tmp.path().join("exports");
    let md = exports.join("shared");
    std::fs::create_dir_all(md.join("cur")).unwrap();
    std::fs::write(
        md.join("cur/1700000000.M1P1.host:2,S"),
        "From: a@x.example\nSubject: 請求書\nMessage-ID: <p1@x.example>\n\nbody\n",
    )
    .unwrap();
    let mbox = exports.join("2024.mbox");
    std::fs::write(
        &mbox,
        "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\nSubject: 見積\n\
         Message-ID: <p2@x.example>\n\nbody\n\n",
    )
    .unwrap();
    let s = import(&archive, &[&md, &mbox]);
    assert_eq!(s["new"], 2, "{s}");
    // Through `..` and through a symbolic link to the export folder, as a
    // cron job started elsewhere or a `current` link would name them.
    let link = tmp.path().join("current");
    std::os::unix::fs::symlink(&exports, &link).unwrap();
    let dotted = exports.join("..").join("exports");
    for root in [dotted, link] {
        let s = import(&archive, &[&root.join("shared"), &root.join("2024.mbox")]);
        assert_accounted(&s);
        assert_eq!(
            (&s["seen"], &s["unchanged"], &s["duplicates"]),
            (&2.into(), &2.into(), &0.into()),
            "{}: {s}",
            root.display()
        );
    }
}
