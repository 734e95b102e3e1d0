//! Faults and hostile conditions: a crash at each step of a batch commit, a
//! full disk (also during an index merge), a read-only archive, no network,
//! and SQL in queries.
//!
//! Tests that need privileges (mounting, network namespaces, tracing) skip
//! with a message where the operation is not permitted.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const TANAKA: &str = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";

/// The state an archive should end in, whatever happened on the way.
fn archive_state(archive: &Path) -> (Vec<String>, u64) {
    (ids(archive, "*"), count(archive, "*"))
}

/// No panic message, no backtrace.
fn assert_no_panic(o: &std::process::Output, what: &str) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what} panicked: {err}"
    );
}

/// Runs a system command; true when it succeeded.
fn sys(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A mount point, unmounted when dropped (also when the test fails).
struct Mounted(PathBuf);

impl Mounted {
    /// Mounts with `mount ARGS... DIR`; None (and a message) when not permitted.
    fn new(dir: &Path, args: &[&str]) -> Option<Mounted> {
        std::fs::create_dir_all(dir).unwrap();
        let mut all: Vec<&str> = args.to_vec();
        let d = dir.to_str().unwrap();
        all.push(d);
        if sys("mount", &all) {
            Some(Mounted(dir.to_path_buf()))
        } else {
            eprintln!("skipping: `mount {}` is not permitted here", all.join(" "));
            None
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let d = self.0.to_string_lossy().into_owned();
        if !sys("umount", &[&d]) {
            // Busy (a failed assertion left a process behind): detach it.
            let _ = sys("umount", &["-l", &d]);
        }
    }
}

#[test]
fn a_crash_after_each_step_of_a_batch_commit_is_completed_by_the_next_import() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    import(&clean, &[&fixtures()]);
    let expected = archive_state(&clean);
    assert!(expected.1 > 10, "the fixtures hold more than 10 messages");

    for step in ["pack-synced", "store-committed", "index-committed"] {
        let archive = tmp.path().join(step);
        // Batches of 4: the first commit happens with most of the mail unread.
        let o = run(kura(&archive)
            .args(["import", "--batch-size", "4"])
            .arg(fixtures())
            .env("KURA_TEST_ABORT_AT", step));
        assert!(
            !o.status.success(),
            "the import should have been aborted after {step}"
        );
        // What a search sees right after the crash is at most the first batch.
        let o = run(kura(&archive).args(["count", "*"]));
        if let Ok(n) = stdout(&o).trim().parse::<u64>() {
            assert!(
                n <= 4,
                "after {step}: {n} messages found, at most 4 expected"
            );
        }
        let s = import(&archive, &[&fixtures()]);
        assert_accounted(&s);
        if step == "store-committed" {
            assert_eq!(s["recovered"], 4, "after {step}: {s}");
        } else {
            assert_eq!(s["recovered"], 0, "after {step}: {s}");
        }
        assert_eq!(archive_state(&archive), expected, "after a crash at {step}");
        assert_check_passes(&archive, &format!("after a crash at {step} and a rerun"));
        let again = import(&archive, &[&fixtures()]);
        assert_eq!(again["new"], 0, "after {step}: {again}");
    }
}

/// A database with a hot rollback journal, as a process killed in the
/// middle of a write leaves it: written by a transaction whose pages spill
/// to the file before it commits, both files copied while it is open.
fn hot_journal(db: &Path) {
    let scratch = db.with_extension("scratch");
    let c = rusqlite::Connection::open(&scratch).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    c.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
    c.pragma_update(None, "cache_size", 1).unwrap();
    c.execute_batch(
        "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO t SELECT randomblob(1000) FROM n",
    )
    .unwrap();
    let journal = |p: &Path| PathBuf::from(format!("{}-journal", p.display()));
    std::fs::copy(&scratch, db).unwrap();
    std::fs::copy(journal(&scratch), journal(db)).unwrap();
}

#[test]
fn an_archive_whose_creation_was_killed_says_so_and_the_next_import_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    import(&clean, &[&fixtures()]);
    let expected = archive_state(&clean);
    // The first import killed right after it created the database file,
    // and while it wrote its first pages (before the switch to WAL).
    for state in ["empty", "hot journal"] {
        let a = tmp.path().join(state);
        std::fs::create_dir_all(a.join("index")).unwrap();
        std::fs::create_dir_all(a.join("originals")).unwrap();
        match state {
            "empty" => std::fs::write(a.join("kura.sqlite"), b"").unwrap(),
            _ => hot_journal(&a.join("kura.sqlite")),
        }
        for args in [
            &["search", "*"][..],
            &["count", "請求書"],
            &["show", TANAKA],
            &["stats"],
            &["check"],
            &["log"],
            &["rejects"],
            &["tags"],
        ] {
            let o = run(kura(&a).args(args));
            assert_no_panic(&o, &format!("{args:?}"));
            assert_eq!(o.status.code(), Some(2), "{state}, {args:?}");
            let err = stderr(&o);
            assert!(
                err.contains("`kura import") && !err.contains("Error code"),
                "{state}, {args:?}: {err}"
            );
        }
        let s = import(&a, &[&fixtures()]);
        assert_accounted(&s);
        assert_eq!(archive_state(&a), expected, "{state}");
        assert_check_passes(&a, state);
    }
}

#[test]
fn messages_stored_while_the_index_commits_are_indexed_and_survive_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    import(&clean, &[&fixtures()]);
    let expected = archive_state(&clean);

    // Each index commit starts late: the messages after a batch are stored
    // while it runs, and their documents wait for it.
    let slow = tmp.path().join("slow");
    let o = run(kura(&slow)
        .args(["import", "--json", "--batch-size", "4"])
        .arg(fixtures())
        .env("KURA_TEST_INDEX_COMMIT_DELAY_MS", "300"));
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_accounted(&s);
    assert_eq!(archive_state(&slow), expected);
    assert_check_passes(&slow, "after an import with slow index commits");

    // A crash while the first batch's index commit is still running, with
    // the next messages stored in an open transaction: the rerun indexes the
    // first batch from the store and imports the rest.
    let crashed = tmp.path().join("crashed");
    let o = run(kura(&crashed)
        .args(["import", "--batch-size", "4"])
        .arg(fixtures())
        .env("KURA_TEST_INDEX_COMMIT_DELAY_MS", "5000")
        .env("KURA_TEST_ABORT_AFTER", "8"));
    assert!(!o.status.success(), "the import should have been aborted");
    let s = import(&crashed, &[&fixtures()]);
    assert_accounted(&s);
    assert_eq!(s["recovered"], 4, "the first batch is re-indexed: {s}");
    assert_eq!(archive_state(&crashed), expected);
    assert_check_passes(&crashed, "after a crash during an index commit");
}

#[test]
fn a_full_disk_fails_cleanly_and_the_rerun_completes_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let Some(_truth) = synthetic(&mail, 2000, 21) else {
        return;
    };
    let clean = tmp.path().join("clean");
    import(&clean, &[&mail]);
    let expected = archive_state(&clean);
    // The disk fills up in the store, the packs or the index, depending on its size.
    for size in ["2m", "4m"] {
        let Some(disk) = Mounted::new(
            &tmp.path().join(format!("disk-{size}")),
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        ) else {
            return;
        };
        full_disk(&disk, &mail, &expected);
    }
}

/// Imports `mail` into an archive on the small `disk` until it is full, then
/// grows the disk and imports again.
fn full_disk(disk: &Mounted, mail: &Path, expected: &(Vec<String>, u64)) {
    let archive = disk.path().join("a");
    let o = run(kura(&archive)
        .args(["import", "--batch-size", "200"])
        .arg(mail));
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "the import should not fit in {}: {}",
        disk.path().display(),
        stdout(&o)
    );
    assert_no_panic(&o, "an import on a full disk");
    assert!(
        err.to_lowercase().contains("no space left"),
        "the error should say the disk is full: {err}"
    );
    assert!(
        err.contains(disk.path().to_str().unwrap()),
        "the error should name the file: {err}"
    );
    assert!(err.contains("kura: "), "a kura error message: {err}");
    eprintln!("full disk: {}", err.trim());

    // What was committed before the disk filled up is consistent. When the
    // disk filled up during the index commit, the last batch is stored but
    // not yet indexed (as after a kill between the two commits): check passes
    // and counts exactly those messages as pending; the next import indexes them.
    let o = run(kura(&archive).args(["check", "--format", "json"]));
    assert_no_panic(&o, "check on a full disk");
    let report: serde_json::Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("check --format json: {e}: {}", stderr(&o)));
    let partial = count(&archive, "*");
    assert!(partial < expected.1, "{partial} of {}", expected.1);
    let problems = report["problems"].as_array().unwrap();
    if err.contains("stored but not indexed") {
        assert_eq!(
            o.status.code(),
            Some(0),
            "check after a full disk: {report}"
        );
        assert!(problems.is_empty(), "{report}");
        assert_eq!(
            report["checked"]["pending_index"], 200,
            "one batch is not indexed yet: {report}"
        );
    } else {
        assert_eq!(
            o.status.code(),
            Some(0),
            "check after a full disk: {report}"
        );
        assert!(problems.is_empty(), "{report}");
    }

    // More room: the rerun completes the archive.
    let d = disk.path().to_str().unwrap().to_string();
    assert!(
        sys("mount", &["-o", "remount,size=200m", &d]),
        "remount to 200 MB"
    );
    let s = import(&archive, &[mail]);
    assert_accounted(&s);
    assert_eq!(&archive_state(&archive), expected, "after the rerun: {s}");
    assert_check_passes(&archive, "after the rerun");
}

/// A folder of `n` small messages with ids and words of their own.
fn small_mailbox(dir: &Path, tag: usize, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let words: String = (0..40)
            .map(|w| format!("w{tag}x{i}x{w} 請求書{w} "))
            .collect();
        std::fs::write(
            dir.join(format!("{i}.eml")),
            format!(
                "From: a{tag}@example.jp\nTo: b@example.jp\nSubject: s{tag} {i}\n\
                 Message-ID: <{tag}.{i}@example.jp>\nDate: Mon, 4 Mar 2024 10:12:03 +0900\n\n{words}\n"
            ),
        )
        .unwrap();
    }
}

/// The files of an archive's index, by name.
fn index_files(archive: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(archive.join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_merge_that_finds_the_disk_full_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Mounted::new(
        &tmp.path().join("disk"),
        &["-t", "tmpfs", "-o", "size=64m", "tmpfs"],
    ) else {
        return;
    };
    let a = disk.path().join("a");
    // Eight imports, each stopped as by `kill -9` once its index commit is
    // done: eight segments of one size, not merged yet.
    for tag in 0..8 {
        let mail = tmp.path().join(format!("mail{tag}"));
        small_mailbox(&mail, tag, 150);
        let o = run(kura(&a)
            .env("KURA_TEST_ABORT_AT", "index-committed")
            .arg("import")
            .arg(&mail));
        assert!(!o.status.success(), "the import should have stopped");
    }
    let want = archive_state(&a);
    assert_eq!(want.1, 8 * 150);
    let files = index_files(&a);
    // Fill the disk, then give back less than the merge needs.
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
    }
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - (64 << 10))
        .unwrap();
    let o = run(kura(&a).arg("import").arg(tmp.path().join("mail0")));
    assert_no_panic(&o, "an import whose merge fills the disk");
    let err = stderr(&o);
    assert!(!o.status.success(), "the merge should not fit: {err}");
    assert!(
        err.contains("merge") && err.to_lowercase().contains("no space left"),
        "{err}"
    );
    // What the merge wrote is gone: the disk is not left full.
    assert_eq!(index_files(&a), files);
    assert_eq!(archive_state(&a), want);
    // With room again, the next command merges.
    std::fs::remove_file(&filler).unwrap();
    let o = run(kura(&a).arg("gc"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(archive_state(&a), want);
    assert_check_passes(&a, "after gc");
}

#[test]
fn a_read_only_archive_can_be_searched_but_not_imported_into() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    import(&a, &[&fixtures()]);
    let b = tmp.path().join("b");
    let a_str = a.to_str().unwrap().to_string();
    let Some(ro) = Mounted::new(&b, &["--bind", &a_str]) else {
        return;
    };
    let b_str = b.to_str().unwrap().to_string();
    if !sys("mount", &["-o", "remount,bind,ro", &b_str]) {
        eprintln!("skipping: a read-only bind remount is not permitted here");
        return;
    }
    // Really read-only (root ignores permission bits, not a read-only mount).
    assert!(
        std::fs::write(ro.path().join("probe"), b"x").is_err(),
        "the bind mount should be read-only"
    );

    assert_eq!(archive_state(&b), archive_state(&a));
    for q in ["from:tanaka", "請求書", "tag:inbox OR subject:invoice"] {
        assert_eq!(ids(&b, q), ids(&a, q), "{q}");
    }
    for args in [
        &["show", TANAKA][..],
        &["show", "--raw", TANAKA],
        &["thread", TANAKA],
        &["search", "--format", "json", "*"],
    ] {
        let on_b = run(kura(&b).args(args));
        let on_a = run(kura(&a).args(args));
        assert_eq!(
            on_b.status.code(),
            Some(0),
            "{args:?} on a read-only archive: {}",
            stderr(&on_b)
        );
        assert_eq!(stdout(&on_b), stdout(&on_a), "{args:?}");
    }

    let o = run(kura(&b).arg("import").arg(fixtures()));
    assert!(!o.status.success(), "import into a read-only archive");
    assert_no_panic(&o, "import into a read-only archive");
    let err = stderr(&o);
    assert!(
        err.contains("kura: ") && err.to_lowercase().contains("read-only"),
        "the error should say the archive is read-only: {err}"
    );
    assert!(
        err.contains(&b_str),
        "the error should name the archive: {err}"
    );
    // The archive is unchanged.
    assert_check_passes(&a, "after an import into its read-only view");
}

/// A command under `unshare -n` (no network at all).
fn offline(archive: &Path) -> Command {
    let mut c = Command::new("unshare");
    c.arg("-n")
        .arg(env!("CARGO_BIN_EXE_kura"))
        .arg("--archive")
        .arg(archive)
        .env_remove("KURA_ARCHIVE")
        .env("NO_COLOR", "1")
        .env("TZ", "Asia/Tokyo");
    c
}

#[test]
fn everything_works_without_a_network() {
    if !sys("unshare", &["-n", "true"]) {
        eprintln!("skipping: `unshare -n` is not available or not permitted here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let o = run(offline(&a).arg("import").arg("--json").arg(fixtures()));
    assert!(o.status.success(), "offline import: {}", stderr(&o));
    let clean = tmp.path().join("clean");
    import(&clean, &[&fixtures()]);
    assert_eq!(archive_state(&a), archive_state(&clean));
    for args in [
        &["count", "*"][..],
        &["search", "--format", "ids", "from:tanaka"],
        &["show", TANAKA],
        &["thread", TANAKA],
    ] {
        let o = run(offline(&a).args(args));
        assert_eq!(o.status.code(), Some(0), "offline {args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&run(kura(&a).args(args))), "{args:?}");
    }
}

#[test]
fn an_import_opens_no_network_socket() {
    if !sys("strace", &["-f", "-o", "/dev/null", "true"]) {
        eprintln!("skipping: strace is not installed or may not trace here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let trace = tmp.path().join("trace");
    let o = run(Command::new("strace")
        .args(["-f", "-e", "trace=connect,socket", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_kura"))
        .arg("--archive")
        .arg(&a)
        .arg("import")
        .arg(fixtures())
        .env_remove("KURA_ARCHIVE"));
    assert!(o.status.success(), "traced import: {}", stderr(&o));
    let log = std::fs::read_to_string(&trace).unwrap();
    assert!(
        log.contains("+++ exited with 0 +++"),
        "the trace covers the whole import: {log}"
    );
    for line in log.lines() {
        assert!(
            !line.contains("AF_INET") && !line.contains("AF_INET6"),
            "an import opened a network socket: {line}"
        );
    }
    assert!(count(&a, "*") > 10);
}

#[test]
fn sql_in_queries_is_only_text() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    import(&a, &[&fixtures()]);
    let before = archive_state(&a);
    let tags_before = stdout(&run(kura(&a).args(["search", "--format", "json", "*"])));
    for q in [
        r#"from:"x' OR 1=1 --""#,
        r#"tag:"'; DROP TABLE messages; --""#,
        "thread:1;DELETE",
        r#"subject:"') UNION SELECT message_id FROM messages --""#,
        r#"to:"%' OR '%'='""#,
        "customer:\"x'); DELETE FROM messages; --\"",
    ] {
        for args in [&["count", "--"][..], &["search", "--format", "ids", "--"]] {
            let o = run(kura(&a).args(args).arg(q));
            assert_no_panic(&o, q);
            assert_eq!(o.status.code(), Some(1), "{args:?} {q}: {}", stderr(&o));
            if args[0] == "count" {
                assert_eq!(stdout(&o).trim(), "0", "{q}");
            } else {
                assert_eq!(stdout(&o), "", "{q}");
            }
        }
    }
    // Tagging by such a query touches nothing, and such a tag is only a name.
    let o = run(kura(&a)
        .args(["tag", "+x'); DROP TABLE tags; --", "--"])
        .arg(r#"from:"x' OR 1=1 --""#));
    assert_no_panic(&o, "tag");
    assert_eq!(archive_state(&a), before);
    assert_eq!(
        stdout(&run(kura(&a).args(["search", "--format", "json", "*"]))),
        tags_before
    );
    assert_check_passes(&a, "after SQL in queries");
}
