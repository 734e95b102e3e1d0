//! `kura pending` and `kura report` end to end: a small hand-made mailbox
//! with known answers, and the synthetic corpus checked against an
//! independent computation from `kura search` output.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const CONFIG: &str = "\
internal_domains = [\"minato-shokai.co.jp\"]
shared_address = \"support@minato-shokai.co.jp\"
";

/// A customer and two staff of the hand-made conversations.
const TANAKA: &str = "tanaka@kyowa-shoji.co.jp";
const SATO: &str = "sato@minato-shokai.co.jp";
const SUZUKI: &str = "suzuki@minato-shokai.co.jp";

/// A kura command with the given configuration file and nothing else.
fn kura_cfg(archive: &Path, config: &Path) -> Command {
    let mut c = kura(archive);
    c.env_remove("KURA_CONFIG")
        .env("XDG_CONFIG_HOME", archive.join("no-such-home"))
        .arg("--config")
        .arg(config);
    c
}

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// (id, date, from, to, subject, in-reply-to)
type Mail<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);

const MAILS: &[Mail<'static>] = &[
    // Thread A: answered by sato, then by suzuki, then the customer writes
    // twice; an internal note after that is no answer.
    (
        "a1",
        "Mon, 01 Apr 2024 09:00:00 +0900",
        "田中 誠 <tanaka@kyowa-shoji.co.jp>",
        "support@minato-shokai.co.jp",
        "見積のお願い",
        None,
    ),
    (
        "a2",
        "Mon, 01 Apr 2024 11:00:00 +0900",
        "佐藤 花子 <sato@minato-shokai.co.jp>",
        "tanaka@kyowa-shoji.co.jp",
        "Re: 見積のお願い",
        Some("a1"),
    ),
    (
        "a3",
        "Tue, 02 Apr 2024 10:00:00 +0900",
        "tanaka@kyowa-shoji.co.jp",
        "sato@minato-shokai.co.jp",
        "Re: 見積のお願い",
        Some("a2"),
    ),
    (
        "a4",
        "Tue, 02 Apr 2024 16:00:00 +0900",
        "鈴木 一郎 <suzuki@minato-shokai.co.jp>",
        "tanaka@kyowa-shoji.co.jp",
        "Re: 見積のお願い",
        Some("a3"),
    ),
    (
        "a5",
        "Wed, 03 Apr 2024 09:00:00 +0900",
        "tanaka@kyowa-shoji.co.jp",
        "suzuki@minato-shokai.co.jp",
        "Re: 見積のお願い",
        Some("a4"),
    ),
    (
        "a6",
        "Wed, 03 Apr 2024 12:00:00 +0900",
        "tanaka@kyowa-shoji.co.jp",
        "suzuki@minato-shokai.co.jp",
        "Re: 見積のお願い（再送）",
        Some("a5"),
    ),
    (
        "a7",
        "Wed, 03 Apr 2024 13:00:00 +0900",
        "sato@minato-shokai.co.jp",
        "suzuki@minato-shokai.co.jp",
        "Re: 見積のお願い",
        Some("a6"),
    ),
    // Thread B: two staff answer the same message within a day.
    (
        "b1",
        "Fri, 05 Apr 2024 10:00:00 +0900",
        "伊藤 <ito@hikari-sys.co.jp>",
        "support@minato-shokai.co.jp",
        "納期の確認",
        None,
    ),
    (
        "b2",
        "Fri, 05 Apr 2024 11:00:00 +0900",
        "sato@minato-shokai.co.jp",
        "ito@hikari-sys.co.jp",
        "Re: 納期の確認",
        Some("b1"),
    ),
    (
        "b3",
        "Fri, 05 Apr 2024 15:00:00 +0900",
        "suzuki@minato-shokai.co.jp",
        "ito@hikari-sys.co.jp",
        "Re: 納期の確認",
        Some("b1"),
    ),
    // Thread C: never answered.
    (
        "c1",
        "Sat, 06 Apr 2024 10:00:00 +0900",
        "渡辺健太 <kenta@gmail.com>",
        "support@minato-shokai.co.jp",
        "カタログ送付のお願い",
        None,
    ),
];

struct Small {
    _dir: tempfile::TempDir,
    archive: PathBuf,
    config: PathBuf,
}

fn small() -> Small {
    archive_of(MAILS)
}

/// An archive of `mails`, and [`CONFIG`] beside it.
fn archive_of(mails: &[Mail]) -> Small {
    let with_text: Vec<(Mail, &str)> = mails
        .iter()
        .map(|&m| (m, "いつもお世話になっております。"))
        .collect();
    archive_with_text(&with_text)
}

/// An archive of `mails`, each with its text, and [`CONFIG`] beside it.
fn archive_with_text(mails: &[(Mail, &str)]) -> Small {
    let dir = tempfile::tempdir().unwrap();
    let md = empty_maildir(dir.path().join("mail"));
    for (i, ((id, date, from, to, subject, parent), text)) in mails.iter().enumerate() {
        let mut m = format!(
            "Message-ID: <{id}@test.example>\r\nDate: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        );
        if let Some(p) = parent {
            m.push_str(&format!(
                "In-Reply-To: <{p}@test.example>\r\nReferences: <{p}@test.example>\r\n"
            ));
        }
        m.push_str(&format!("\r\n{}\r\n", text.replace('\n', "\r\n")));
        std::fs::write(md.join("cur").join(format!("{i}.{id}:2,S")), m).unwrap();
    }
    let archive = dir.path().join("archive");
    import(&archive, &[&md]);
    let config = dir.path().join("kura.toml");
    std::fs::write(&config, CONFIG).unwrap();
    Small {
        _dir: dir,
        archive,
        config,
    }
}

/// The thread id of a message.
fn thread_of(archive: &Path, id: &str) -> String {
    let o = run(kura(archive)
        .args(["search", "--format", "json", "--"])
        .arg(format!("id:{id}@test.example")));
    let v = json_of(&o);
    v[0]["thread"].as_str().unwrap().to_string()
}

#[test]
fn pending_lists_waiting_threads_and_done_removes_them() {
    let s = small();
    let a = thread_of(&s.archive, "a1");
    let b = thread_of(&s.archive, "b1");
    let c = thread_of(&s.archive, "c1");
    assert!(a != b && b != c && a != c);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json", "--utc"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o);
    let list = v.as_array().unwrap();
    let threads: Vec<&str> = list.iter().map(|p| p["thread"].as_str().unwrap()).collect();
    // Oldest first: A waits since a5, C since c1; B was answered.
    assert_eq!(threads, [a.as_str(), c.as_str()]);
    let pa = &list[0];
    assert_eq!(pa["customer"], "kyowa-shoji.co.jp");
    assert_eq!(pa["subject"], "見積のお願い");
    // The customer wrote twice: waiting since the first of the two.
    assert_eq!(pa["waiting_since"], "2024-04-03T00:00:00Z");
    assert_eq!(pa["last_inbound"], "2024-04-03T03:00:00Z");
    assert_eq!(pa["unanswered"], 2);
    // Handled last by suzuki, not by sato who answered first (and whose
    // internal note does not count).
    assert_eq!(pa["handled_by"], "suzuki@minato-shokai.co.jp");
    assert!(pa["age_seconds"].as_i64().unwrap() > 86_400 * 300);
    // Ages in wall-clock time, as every row says.
    assert_eq!(pa["working_hours"], Value::Null);
    let pc = &list[1];
    assert_eq!(pc["customer"], "kenta@gmail.com");
    assert_eq!(pc["handled_by"], Value::Null);

    // --sort newest reverses; --older-than with a huge threshold empties.
    let o =
        run(kura_cfg(&s.archive, &s.config)
            .args(["pending", "--format", "jsonl", "--sort", "newest"]));
    let ts: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["thread"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ts, [c.clone(), a.clone()]);
    let o = run(kura_cfg(&s.archive, &s.config).args([
        "pending",
        "--older-than",
        "5200w",
        "--format",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_of(&o), serde_json::json!([]));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--older-than", "3x"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--older-than"), "{}", stderr(&o));

    // A query restricts to threads with a matching message.
    let o = run(kura_cfg(&s.archive, &s.config).args([
        "pending",
        "--format",
        "json",
        "from:ito@hikari-sys.co.jp",
    ]));
    assert_eq!(o.status.code(), Some(0));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "csv", "カタログ"]));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("thread,customer,subject,"), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("kenta@gmail.com"), "{out}");
    assert!(
        out.lines()
            .all(|l| l.ends_with(",working_hours") || l.ends_with(',')),
        "{out}"
    );
    // In working hours, every row of jsonl and csv says which.
    let hours = s.archive.join("hours.toml");
    std::fs::write(&hours, format!("{CONFIG}working_hours = \"9-18\"\n")).unwrap();
    let o = run(kura_cfg(&s.archive, &hours)
        .env("TZ", "Asia/Tokyo")
        .args(["pending", "--format", "jsonl"]));
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", stdout(&o));
    for r in &rows {
        assert_eq!(r["working_hours"], "09:00-18:00 Mon-Fri, UTC+09:00", "{r}");
    }
    let o = run(kura_cfg(&s.archive, &hours)
        .env("TZ", "Asia/Tokyo")
        .args(["pending", "--format", "csv"]));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .skip(1)
            .all(|l| l.ends_with(",\"09:00-18:00 Mon-Fri, UTC+09:00\"")),
        "{out}"
    );

    // Tagging C done removes it; then nothing with カタログ is pending.
    let o = run(kura(&s.archive)
        .args(["tag", "+done"])
        .arg(format!("thread:{c}")));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json", "カタログ"]));
    assert_eq!(o.status.code(), Some(0));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o);
    let threads: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["thread"].as_str().unwrap())
        .collect();
    assert_eq!(threads, [a.as_str()]);
    // Text and table print the thread.
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "text"]));
    assert!(
        stdout(&o).contains(&format!("thread:{a}")),
        "{}",
        stdout(&o)
    );
    // `kura pending -q --older-than 3d || mail-the-team`: with --quiet, the
    // status alone says it (a format asked for by name is still printed).
    for format in ["text", "table"] {
        let o = run(kura_cfg(&s.archive, &s.config).args([
            "pending",
            "-q",
            "--older-than",
            "3d",
            "--format",
            format,
        ]));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stdout(&o));
    }
    let o = run(kura_cfg(&s.archive, &s.config).args(["-q", "pending"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "-q", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o).as_array().map(Vec::len), Some(1));
}

/// `set -o pipefail; kura pending | head -3`: a reader that stops early
/// does not turn "something is waiting" (1) into "nothing is" (0).
#[test]
fn pending_says_something_waits_to_a_reader_that_stopped_reading() {
    let s = small();
    for format in ["text", "table", "json", "jsonl", "csv"] {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before kura writes a byte: every write fails with EPIPE.
        drop(reader);
        let o = kura_cfg(&s.archive, &s.config)
            .args(["pending", "--format", format])
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert!(o.stderr.is_empty(), "{format}: {}", stderr(&o));
    }
}

/// Every command whose exit status says whether it found something keeps
/// it when the reader stops before it wrote a byte (`set -o pipefail; kura
/// search X | head -0`), reports no error, and does not panic.
#[test]
fn exit_statuses_survive_a_reader_that_stopped_reading() {
    let s = small();
    let closed = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = kura_cfg(&s.archive, &s.config)
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        // No error (export says on stderr that it found nothing).
        let err = stderr(&o);
        assert!(
            !err.contains("kura:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        o.status.code()
    };
    for (found, nothing) in [
        (vec!["search", "見積"], vec!["search", "請求書"]),
        (
            vec!["search", "--format", "json", "見積"],
            vec!["search", "--format", "json", "請求書"],
        ),
        (
            vec!["search", "--threads", "--format", "json", "見積"],
            vec!["search", "--threads", "--format", "json", "請求書"],
        ),
        (vec!["count", "見積"], vec!["count", "請求書"]),
        (
            vec!["answers", "--format", "json", "見積"],
            vec!["answers", "--format", "json", "請求書"],
        ),
        (
            vec!["customers", "--format", "json", "見積"],
            vec!["customers", "--format", "json", "請求書"],
        ),
        (
            vec!["thread", "--format", "json", "--query", "見積"],
            vec!["thread", "--format", "json", "--query", "請求書"],
        ),
        (
            vec![
                "export",
                "--customer",
                "kyowa-shoji.co.jp",
                "--format",
                "jsonl",
            ],
            // json, whose empty document is `[]`: jsonl's is nothing at all.
            vec!["export", "--customer", "nowhere.co.jp", "--format", "json"],
        ),
    ] {
        assert_eq!(closed(&found), Some(0), "{found:?}");
        assert_eq!(closed(&nothing), Some(1), "{nothing:?}");
    }
}

#[test]
fn report_counts_times_and_double_answers() {
    let s = small();
    let b = thread_of(&s.archive, "b1");
    let o = run(kura_cfg(&s.archive, &s.config)
        .args(["report", "--format", "json", "--by", "staff", "--utc"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    let t = &v["total"];
    // a1, a3, a5, a6, b1, c1; answered a1 (2h), a3 (6h), b1 (1h).
    assert_eq!(t["inbound"], 6);
    assert_eq!(t["answered"], 3);
    assert_eq!(t["unanswered"], 3);
    assert_eq!(t["median_seconds"], 7200);
    assert_eq!(t["p90_seconds"], 21600);
    assert_eq!(t["late"], 1);
    assert_eq!(t["double_answers"], 1);
    let groups: BTreeMap<String, (u64, u64)> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_string(),
                (
                    g["inbound"].as_u64().unwrap(),
                    g["answered"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let want: BTreeMap<String, (u64, u64)> = [
        ("-".to_string(), (3, 0)),
        ("sato@minato-shokai.co.jp".to_string(), (2, 2)),
        ("suzuki@minato-shokai.co.jp".to_string(), (1, 1)),
    ]
    .into_iter()
    .collect();
    assert_eq!(groups, want);
    let d = &v["double_answers"];
    assert_eq!(d.as_array().unwrap().len(), 1);
    assert_eq!(d[0]["thread"], b.as_str());
    assert_eq!(d[0]["customer"], "hikari-sys.co.jp");
    assert_eq!(d[0]["inbound_date"], "2024-04-05T01:00:00Z");
    let staff: Vec<&str> = d[0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["staff"].as_str().unwrap())
        .collect();
    assert_eq!(
        staff,
        ["sato@minato-shokai.co.jp", "suzuki@minato-shokai.co.jp"]
    );

    // A window shorter than suzuki's 5 hours: no double answer.
    let o =
        run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json", "--window", "3h"]));
    assert_eq!(json_of(&o)["total"]["double_answers"], 0);
    // --since/--until select inbound messages by day; --late moves the count.
    let o = run(kura_cfg(&s.archive, &s.config).args([
        "report",
        "--format",
        "json",
        "--utc",
        "--since",
        "2024-04-02",
        "--until",
        "2024-04-05",
        "--late",
        "30m",
    ]));
    let t = json_of(&o)["total"].clone();
    assert_eq!(
        (t["inbound"].as_u64(), t["answered"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(t["late"], 2);
    // By customer and month, csv.
    let o = run(
        kura_cfg(&s.archive, &s.config).args(["report", "--format", "csv", "--by", "customer"])
    );
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("kyowa-shoji.co.jp,4,2,2,")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("total,6,3,3,7200,21600,1,1")),
        "{out}"
    );
    let o =
        run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "text", "--by", "month"]));
    assert!(stdout(&o).contains("2024-04  inbound 6"), "{}", stdout(&o));
    assert!(stdout(&o).contains("double answers:"), "{}", stdout(&o));
    let o = run(kura_cfg(&s.archive, &s.config).args(["report", "--since", "April"]));
    assert_eq!(o.status.code(), Some(2));
    // The same date forms as export: a month, inclusive.
    let o = run(kura_cfg(&s.archive, &s.config).args([
        "report", "--format", "json", "--utc", "--since", "2024-04", "--until", "2024-04",
    ]));
    let v = json_of(&o);
    assert_eq!(v["total"]["inbound"], 6, "{}", stdout(&o));
    // The bounds as instants: `until` is the first one not counted.
    assert_eq!(v["since"], "2024-04-01T00:00:00Z");
    assert_eq!(v["until"], "2024-05-01T00:00:00Z");
    let o = run(kura_cfg(&s.archive, &s.config)
        .args(["report", "--format", "json", "--utc", "--since", "2024-05"]));
    assert_eq!(json_of(&o)["total"]["inbound"], 0, "{}", stdout(&o));
    // A reversed range is a usage error, not a report of zeros; one day is fine.
    let args = [
        "report",
        "--utc",
        "--since",
        "2024-04-05",
        "--until",
        "2024-04-02",
    ];
    let o = run(kura_cfg(&s.archive, &s.config).args(args));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--until ends before --since"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let args = [
        "report",
        "--utc",
        "--since",
        "2024-04-02",
        "--until",
        "2024-04-02",
    ];
    let o = run(kura_cfg(&s.archive, &s.config).args(args));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// With `working_hours` configured, response and waiting times count only
/// working time (here 10:00-12:00 on weekdays, in Japan), and durations
/// given or printed in days are working days; `--wall-clock` counts every
/// hour.
#[test]
fn working_hours_count_only_working_time() {
    let s = small();
    let config = s.archive.join("hours.toml");
    std::fs::write(
        &config,
        format!("{CONFIG}working_hours = \"10:00-12:00\"\nholidays = [\"2024-04-04\"]\n"),
    )
    .unwrap();
    // Working hours are read on the office's clock.
    let in_tokyo = || {
        let mut c = kura_cfg(&s.archive, &config);
        c.env("TZ", "Asia/Tokyo");
        c
    };
    let report = |extra: &[&str]| {
        let o = run(in_tokyo().args(["report", "--format", "json"]).args(extra));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json_of(&o)
    };
    // a1 09:00 -> 11:00 is 1h of working time, a3 10:00 -> 16:00 2h, b1
    // 10:00 -> 11:00 1h.
    let v = report(&[]);
    assert_eq!(
        v["working_hours"],
        "10:00-12:00 Mon-Fri, 1 holiday, UTC+09:00"
    );
    let t = &v["total"];
    assert_eq!(
        (&t["median_seconds"], &t["p90_seconds"]),
        (&3600.into(), &7200.into())
    );
    assert_eq!(t["late"], 0, "4h of working time is two working days");
    assert_eq!(report(&["--late", "1h"])["total"]["late"], 1);
    assert_eq!(report(&["--late", "1d"])["total"]["late"], 0);
    let v = report(&["--wall-clock"]);
    assert_eq!(v["working_hours"], Value::Null);
    assert_eq!(v["total"]["p90_seconds"], 21600);
    let o = run(in_tokyo().args(["report", "--format", "text"]));
    assert!(
        stdout(&o).contains("times in working hours: 10:00-12:00 Mon-Fri, 1 holiday, UTC+09:00"),
        "{}",
        stdout(&o)
    );

    // A waits since Wednesday 09:00, C since Saturday 10:00: Wednesday's
    // and Friday's working hours apart (Thursday is a holiday).
    let ages = |extra: &[&str]| {
        let o = run(in_tokyo().args(["pending", "--format", "json"]).args(extra));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let v = json_of(&o);
        let age = |i: usize| v[i]["age_seconds"].as_i64().unwrap();
        (age(0) - age(1), v[0]["age"].as_str().unwrap().to_string())
    };
    let (apart, age) = ages(&[]);
    assert_eq!(apart, 4 * 3600);
    let days: i64 = age.split_once("d ").unwrap().0.parse().unwrap();
    assert!(days > 400, "{age}: working days, not 24-hour ones");
    assert_eq!(ages(&["--wall-clock"]).0, 3 * 86_400 + 3600);
    let o = run(in_tokyo().args(["pending", "--format", "table"]));
    assert!(
        stdout(&o).contains("ages in working hours: 10:00-12:00 Mon-Fri, 1 holiday, UTC+09:00"),
        "{}",
        stdout(&o)
    );

    // Days and holidays need the hours; a bad value names the file.
    for (text, why) in [
        ("holidays = [\"2024-01-01\"]\n", "need working_hours"),
        ("working_hours = \"9-18, 17-9\"\n", "overlap"),
    ] {
        std::fs::write(&config, format!("{CONFIG}{text}")).unwrap();
        let o = run(kura_cfg(&s.archive, &config).arg("report"));
        assert_ne!(o.status.code(), Some(0));
        assert!(
            stderr(&o).contains("hours.toml") && stderr(&o).contains(why),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn national_holidays_days_off_every_year_and_a_lunch_break_are_no_working_time() {
    const CUSTOMER: &str = "ito@hikari-sys.co.jp";
    const STAFF: &str = "sato@minato-shokai.co.jp";
    let s = archive_of(&[
        // Answered after a long weekend: Monday 13 January 2025 is 成人の日.
        (
            "n1",
            "Fri, 10 Jan 2025 17:30:00 +0900",
            CUSTOMER,
            STAFF,
            "見積の件",
            None,
        ),
        (
            "n2",
            "Tue, 14 Jan 2025 09:30:00 +0900",
            STAFF,
            CUSTOMER,
            "Re: 見積の件",
            Some("n1"),
        ),
        // Answered after lunch.
        (
            "l1",
            "Wed, 15 Jan 2025 11:50:00 +0900",
            CUSTOMER,
            STAFF,
            "納期の件",
            None,
        ),
        (
            "l2",
            "Wed, 15 Jan 2025 13:10:00 +0900",
            STAFF,
            CUSTOMER,
            "Re: 納期の件",
            Some("l1"),
        ),
        // Answered after the company's year-end closing.
        (
            "y1",
            "Fri, 27 Dec 2024 17:00:00 +0900",
            CUSTOMER,
            STAFF,
            "請求書の件",
            None,
        ),
        (
            "y2",
            "Mon, 06 Jan 2025 09:30:00 +0900",
            STAFF,
            CUSTOMER,
            "Re: 請求書の件",
            Some("y1"),
        ),
    ]);
    let config = s.archive.join("calendar.toml");
    let report = |holidays: &str| {
        std::fs::write(
            &config,
            format!(
                "{CONFIG}working_hours = \"09:00-12:00, 13:00-18:00\"\nholidays = [{holidays}]\n"
            ),
        )
        .unwrap();
        let o = run(kura_cfg(&s.archive, &config)
            .env("TZ", "Asia/Tokyo")
            .args(["report", "--format", "json", "--late", "1h"]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json_of(&o);
        let t = &v["total"];
        (
            v["working_hours"].as_str().unwrap().to_string(),
            [&t["median_seconds"], &t["p90_seconds"], &t["late"]].map(|x| x.as_i64().unwrap()),
        )
    };
    // 20 minutes around lunch; 30 + 30 minutes around the long weekend; 1
    // hour and a half around the closing.
    let (hours, [median, p90, late]) = report("\"japan\", \"12-29..01-03\"");
    assert_eq!((median, p90, late), (3600, 5400, 1));
    assert_eq!(
        hours,
        "09:00-12:00,13:00-18:00 Mon-Fri, Japan's national holidays, 6 days off every year, UTC+09:00"
    );
    // Without the national holidays, 成人の日 is 8 working hours; without
    // the closing, New Year's Day alone is off (four working days of 8
    // hours from 30 December to 3 January).
    assert_eq!(report("\"12-29..01-03\"").1, [5400, 32_400, 2]);
    let closing = 3600 + 4 * 8 * 3600 + 1800;
    let (hours, times) = report("\"japan\"");
    assert_eq!(times, [3600, closing, 1]);
    // jsonl and csv say on each line which clock counted.
    let lines = |format: &str| {
        let o = run(kura_cfg(&s.archive, &config)
            .env("TZ", "Asia/Tokyo")
            .args(["report", "--format", format]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o).lines().map(str::to_string).collect::<Vec<_>>()
    };
    for line in lines("jsonl") {
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["working_hours"], hours.as_str(), "{line}");
    }
    let csv = lines("csv");
    assert!(csv[0].ends_with(",double_answers,working_hours"), "{csv:?}");
    let quoted = format!(",\"{hours}\"");
    assert!(csv[1..].iter().all(|l| l.ends_with(&quoted)), "{csv:?}");

    // The days off a year has on working days, and why, to check the
    // configuration by.
    std::fs::write(
        &config,
        format!("{CONFIG}working_hours = \"9-18\"\nholidays = [\"japan\", \"12-29..01-03\", 2025-08-13]\n"),
    )
    .unwrap();
    let o = run(kura_cfg(&s.archive, &config).args([
        "config",
        "--days-off",
        "2025",
        "--format",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let days = json_of(&o);
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 21, "{days:?}");
    assert_eq!(days[3]["date"], "2025-01-13");
    assert_eq!(days[3]["weekday"], "Mon");
    assert_eq!(days[3]["why"], "成人の日");
    let why = |date: &str| {
        days.iter()
            .find(|d| d["date"] == date)
            .map(|d| d["why"].as_str().unwrap().to_string())
    };
    assert_eq!(why("2025-11-24").as_deref(), Some("振替休日"));
    assert_eq!(why("2025-12-30").as_deref(), Some("every year"));
    assert_eq!(why("2025-08-13").as_deref(), Some("listed"));
    assert_eq!(why("2025-11-23"), None, "a Sunday is no working day anyway");
    let o = run(kura_cfg(&s.archive, &config).args(["config", "--days-off", "2025"]));
    assert!(
        stdout(&o).starts_with("2025-01-01 Wed 元日\n2025-01-02 Thu every year\n"),
        "{}",
        stdout(&o)
    );
    // Days off are known from 1980 to 2099: a year past them is refused,
    // not listed as having none.
    for year in ["1979", "2100"] {
        let o = run(kura_cfg(&s.archive, &config).args(["config", "--days-off", year]));
        assert_eq!(o.status.code(), Some(2), "{year}: {}", stdout(&o));
        assert!(stderr(&o).contains("1980..=2099"), "{}", stderr(&o));
    }
    std::fs::write(&config, CONFIG).unwrap();
    let o = run(kura_cfg(&s.archive, &config).args(["config", "--days-off", "2025"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no working hours"), "{}", stderr(&o));
}

/// Staff as the test sees it: the company domain (or a subdomain) or the
/// shared address.
fn is_staff(addr: &str, domain: &str, shared: &str) -> bool {
    let a = addr.to_ascii_lowercase();
    a == shared.to_ascii_lowercase()
        || a.rsplit_once('@')
            .is_some_and(|(_, d)| d == domain || d.ends_with(&format!(".{domain}")))
}

#[test]
fn synthetic_pending_and_report_equal_an_independent_count() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    let Some(truth) = synthetic(&mail, 1500, 23) else {
        return;
    };
    let archive = dir.path().join("archive");
    import(&archive, &[&mail]);
    let domain = truth["company_domain"].as_str().unwrap().to_string();
    let shared = truth["shared_address"].as_str().unwrap().to_string();
    let config = dir.path().join("kura.toml");
    std::fs::write(
        &config,
        format!("internal_domains = [{domain:?}]\nshared_address = {shared:?}\n"),
    )
    .unwrap();
    // Every message, oldest first (ties by row, as kura orders a thread).
    let o = run(kura(&archive).args(["search", "--format", "jsonl", "--sort", "oldest", "*"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // thread -> [(date, inbound)], inbound/outbound only.
    let mut threads: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
    let mut internal = 0;
    for line in stdout(&o).lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let from = m["from"]["address"].as_str().unwrap_or("");
        let rcpts: Vec<String> = ["to", "cc"]
            .iter()
            .flat_map(|k| m[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["address"].as_str().map(str::to_string))
            .filter(|a| a.contains('@'))
            .collect();
        if from.is_empty() && rcpts.is_empty() {
            continue;
        }
        let inbound = !is_staff(from, &domain, &shared);
        if !inbound && rcpts.iter().all(|r| is_staff(r, &domain, &shared)) {
            internal += 1;
            continue;
        }
        let date = chrono::DateTime::parse_from_rfc3339(m["date"].as_str().unwrap())
            .unwrap()
            .timestamp();
        threads
            .entry(m["thread"].as_str().unwrap().to_string())
            .or_default()
            .push((date, inbound));
    }
    let want: BTreeSet<String> = threads
        .iter()
        .filter(|(_, v)| v.last().is_some_and(|(_, inbound)| *inbound))
        .map(|(t, _)| t.clone())
        .collect();
    assert!(
        want.len() > 20 && want.len() < threads.len(),
        "a real mix: {} of {} threads pending",
        want.len(),
        threads.len()
    );
    let o = run(kura_cfg(&archive, &config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let have: BTreeSet<String> = json_of(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["thread"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(have, want, "({internal} internal messages ignored)");

    // Report: every inbound message, answered by the next outbound one.
    let (mut inbound, mut times) = (0u64, Vec::new());
    for v in threads.values() {
        for (i, (date, is_in)) in v.iter().enumerate() {
            if !is_in {
                continue;
            }
            inbound += 1;
            if let Some((reply, _)) = v.iter().skip(i + 1).find(|(_, x)| !x) {
                times.push((reply - date).max(0));
            }
        }
    }
    times.sort_unstable();
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    };
    let o = run(kura_cfg(&archive, &config).args(["report", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let t = json_of(&o)["total"].clone();
    assert!(inbound > 500 && n > 100, "{inbound} inbound, {n} answered");
    assert_eq!(t["inbound"].as_u64(), Some(inbound));
    assert_eq!(t["answered"].as_u64(), Some(n as u64));
    assert_eq!(t["unanswered"].as_u64(), Some(inbound - n as u64));
    assert_eq!(t["median_seconds"].as_i64(), Some(median));
}

/// `answers` shows each customer message matching the query with the first
/// staff reply after it, cut to what the reply writes itself; a reply to
/// two matching messages once, under the newer; unanswered messages and
/// internal mail not at all.
#[test]
fn answers_pair_customer_messages_with_the_staff_reply_to_reuse() {
    const SHARED: &str = "support@minato-shokai.co.jp";
    let s = archive_with_text(&[
        (
            (
                "q1",
                "Wed, 01 May 2024 10:00:00 +0900",
                TANAKA,
                SHARED,
                "納期のご確認",
                None,
            ),
            "発注した部品の納期が遅れていると聞きました。いつ届きますか。",
        ),
        (
            (
                "r1",
                "Wed, 01 May 2024 13:00:00 +0900",
                SATO,
                TANAKA,
                "Re: 納期のご確認",
                Some("q1"),
            ),
            "ご迷惑をおかけしております。来週月曜に出荷いたします。\n\n\
             2024年5月1日(水) 10:00 田中 <tanaka@kyowa-shoji.co.jp>:\n\
             > 発注した部品の納期が遅れていると聞きました。\n",
        ),
        (
            (
                "r1b",
                "Wed, 01 May 2024 14:00:00 +0900",
                "suzuki@minato-shokai.co.jp",
                TANAKA,
                "Re: 納期のご確認",
                Some("q1"),
            ),
            "重ねて失礼いたします。",
        ),
        (
            (
                "q2",
                "Sat, 01 Jun 2024 10:00:00 +0900",
                "ito@hikari-sys.co.jp",
                SHARED,
                "納期について",
                None,
            ),
            "納期が遅れる場合は早めにご連絡ください。",
        ),
        (
            (
                "q3",
                "Mon, 01 Jul 2024 10:00:00 +0900",
                TANAKA,
                SHARED,
                "請求書の件",
                None,
            ),
            "請求書を再発行してください。",
        ),
        (
            (
                "r3",
                "Mon, 01 Jul 2024 11:00:00 +0900",
                SATO,
                TANAKA,
                "Re: 請求書の件",
                Some("q3"),
            ),
            "再発行いたしました。",
        ),
        (
            (
                "q4",
                "Thu, 01 Aug 2024 09:00:00 +0900",
                TANAKA,
                SHARED,
                "納期再確認",
                None,
            ),
            "納期はまだでしょうか。",
        ),
        (
            (
                "q5",
                "Thu, 01 Aug 2024 10:00:00 +0900",
                TANAKA,
                SHARED,
                "Re: 納期再確認",
                Some("q4"),
            ),
            "納期の件、至急ご確認ください。",
        ),
        (
            (
                "r5",
                "Thu, 01 Aug 2024 11:00:00 +0900",
                SATO,
                TANAKA,
                "Re: 納期再確認",
                Some("q5"),
            ),
            "明日出荷します。",
        ),
        (
            (
                "i1",
                "Thu, 01 Aug 2024 12:00:00 +0900",
                SATO,
                "suzuki@minato-shokai.co.jp",
                "納期の社内メモ",
                None,
            ),
            "納期は明日です。",
        ),
    ]);
    let answers = |args: &[&str]| run(kura_cfg(&s.archive, &s.config).arg("answers").args(args));
    let o = answers(&["--format", "json", "納期"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    let id = |x: &Value| x["message_id"].as_str().unwrap().to_string();
    let pairs: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (id(&a["question"]), id(&a["answer"])))
        .collect();
    let pair = |q: &str, a: &str| (format!("{q}@test.example"), format!("{a}@test.example"));
    assert_eq!(pairs, [pair("q5", "r5"), pair("q1", "r1")]);
    assert_eq!(v[0]["answer_text"], "明日出荷します。\n");
    assert_eq!(
        v[1]["answer_text"],
        "ご迷惑をおかけしております。来週月曜に出荷いたします。\n"
    );
    assert!(
        v[1]["question"]["snippet"]
            .as_str()
            .unwrap()
            .contains("納期"),
        "{v}"
    );

    // As text: the question, then the answer's own text without its quote.
    let o = answers(&["納期"]);
    let text = stdout(&o);
    assert!(text.contains("  answer: 2024-05-01"), "{text}");
    assert!(
        text.contains("\n    ご迷惑をおかけしております。来週月曜に出荷いたします。\n"),
        "{text}"
    );
    // jsonl and --limit.
    let o = answers(&["--format", "jsonl", "--limit", "1", "納期"]);
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(stdout(&o).contains("q5@test.example"));
    // --limit 0 prints nothing, but something was answered.
    let o = answers(&["--format", "jsonl", "--limit", "0", "納期"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // Nothing answered matches: exit 1.
    let o = answers(&["--", "納期", "-tanaka"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // Without the company's addresses, staff replies cannot be told.
    let bare = s.archive.join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let o = run(kura_cfg(&s.archive, &bare).args(["answers", "納期"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("internal_domains"), "{}", stderr(&o));
}

/// With a query of unquoted: words the question's snippet comes from what
/// the customer writes, not from the staff mail the customer quotes above it
/// (as in search).
#[test]
fn answers_cut_the_snippet_as_search_does() {
    let quoted = format!(
        "2024年4月30日 佐藤 <sato@minato-shokai.co.jp>:\n> ポンプの新しいカタログをお送りします。\n{}",
        "> 仕様の詳細は添付資料をご覧ください。よろしくお願いいたします。\n".repeat(6)
    );
    let body = format!("{quoted}\nポンプは急ぎで必要です。\n");
    let s = archive_with_text(&[
        (
            (
                "q1",
                "Wed, 01 May 2024 10:00:00 +0900",
                TANAKA,
                "support@minato-shokai.co.jp",
                "Re: カタログ",
                None,
            ),
            &body,
        ),
        (
            (
                "r1",
                "Wed, 01 May 2024 11:00:00 +0900",
                "sato@minato-shokai.co.jp",
                TANAKA,
                "Re: カタログ",
                Some("q1"),
            ),
            "明日出荷いたします。",
        ),
    ]);
    let snippet = |q: &str| {
        let o = run(kura_cfg(&s.archive, &s.config).args(["answers", "--format", "json", q]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json_of(&o)[0]["question"]["snippet"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A question is what the customer wrote: its snippet too.
    for q in ["ポンプ", "unquoted:ポンプ"] {
        let own = snippet(q);
        assert!(
            own.contains("急ぎ") && !own.contains("カタログ"),
            "{q}: {own}"
        );
    }
    assert!(snippet("quoted:ポンプ").contains("カタログ"));
}

/// A customer's reply that quotes staff's answer in full (as Outlook does,
/// without `>`) asks nothing about the words of that answer: `answers`
/// looks for words in what the customer wrote, and `body:` or `quoted:`
/// still reach the quote.
#[test]
fn answers_look_for_words_in_what_the_customer_wrote() {
    let outlook_quote = "\n\n-----Original Message-----\n差出人: 佐藤 <sato@minato-shokai.co.jp>\n\
                         送信日時: 2024年5月1日 11:00\n件名: RE: ポンプ\n\n在庫がございます。明日出荷いたします。\n";
    let s = archive_with_text(&[
        (
            (
                "q1",
                "Wed, 01 May 2024 10:00:00 +0900",
                TANAKA,
                "support@minato-shokai.co.jp",
                "ポンプ",
                None,
            ),
            "ポンプの在庫はありますか。",
        ),
        (
            (
                "r1",
                "Wed, 01 May 2024 11:00:00 +0900",
                SATO,
                TANAKA,
                "RE: ポンプ",
                Some("q1"),
            ),
            "在庫がございます。明日出荷いたします。",
        ),
        (
            (
                "q2",
                "Thu, 02 May 2024 09:00:00 +0900",
                TANAKA,
                SATO,
                "RE: ポンプ",
                Some("r1"),
            ),
            &format!("数量を20台に変更させてください。{outlook_quote}"),
        ),
        (
            (
                "r2",
                "Thu, 02 May 2024 10:00:00 +0900",
                SATO,
                TANAKA,
                "RE: ポンプ",
                Some("q2"),
            ),
            "承知いたしました。20台で手配いたします。",
        ),
    ]);
    let questions = |q: &str| {
        let o = run(kura_cfg(&s.archive, &s.config).args(["answers", "--format", "json", q]));
        assert!(o.status.code().is_some_and(|c| c < 2), "{}", stderr(&o));
        json_of(&o)
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["question"]["message_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(questions("在庫"), ["q1@test.example"]);
    assert_eq!(questions("出荷"), Vec::<String>::new());
    assert_eq!(questions("数量"), ["q2@test.example"]);
    // The subject is the customer's too.
    assert_eq!(questions("ポンプ"), ["q2@test.example", "q1@test.example"]);
    assert_eq!(
        questions("body:在庫"),
        ["q2@test.example", "q1@test.example"]
    );
    assert_eq!(questions("quoted:出荷"), ["q2@test.example"]);
    // `search` still finds the word wherever it is.
    let o = run(kura_cfg(&s.archive, &s.config).args(["count", "is:inbound", "出荷"]));
    assert_eq!(stdout(&o).trim(), "1");
}

/// A forward asking a supplier is no reply to the customer: the
/// conversation stays pending, handled by the one who forwarded, and its
/// response time runs to the reply the customer got; two staff each
/// forwarding to a supplier make no double answer; `answers` shows the
/// reply, not the forward.
#[test]
fn a_forward_to_a_supplier_is_no_reply_to_the_customer() {
    let question: (Mail, &str) = (
        (
            "q1",
            "Wed, 01 May 2024 10:00:00 +0900",
            TANAKA,
            "support@minato-shokai.co.jp",
            "ポンプの在庫",
            None,
        ),
        "ポンプの在庫はありますか。",
    );
    let forwards: [(Mail, &str); 2] = [
        (
            (
                "f1",
                "Wed, 01 May 2024 10:30:00 +0900",
                SATO,
                "eigyo@buhin-maker.co.jp",
                "FW: ポンプの在庫",
                Some("q1"),
            ),
            "在庫の確認をお願いします。",
        ),
        (
            (
                "f2",
                "Wed, 01 May 2024 10:40:00 +0900",
                "suzuki@minato-shokai.co.jp",
                "sales@other-maker.co.jp",
                "FW: ポンプの在庫",
                Some("q1"),
            ),
            "在庫の確認をお願いします。",
        ),
    ];
    let reply: (Mail, &str) = (
        (
            "r1",
            "Wed, 01 May 2024 13:00:00 +0900",
            SATO,
            TANAKA,
            "Re: ポンプの在庫",
            Some("q1"),
        ),
        "在庫がございます。明日出荷いたします。",
    );
    let total = |s: &Small| {
        let o = run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json"]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json_of(&o)["total"].clone()
    };
    // Forwarded only: still waiting for a reply.
    let s = archive_with_text(&[question, forwards[0], forwards[1]]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["customer"], "kyowa-shoji.co.jp");
    assert_eq!(v[0]["unanswered"], 1);
    assert_eq!(v[0]["handled_by"], "suzuki@minato-shokai.co.jp");
    let t = total(&s);
    assert_eq!(
        (t["answered"].as_u64(), t["unanswered"].as_u64()),
        (Some(0), Some(1)),
        "{t}"
    );
    assert_eq!(t["double_answers"], 0, "{t}");
    // Answered three hours after the question, not at the forward.
    let s = archive_with_text(&[question, forwards[0], forwards[1], reply]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let t = total(&s);
    assert_eq!(t["answered"], 1, "{t}");
    assert_eq!(t["median_seconds"], 3 * 3600, "{t}");
    let o =
        run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json", "--by", "staff"]));
    let groups = json_of(&o)["groups"].clone();
    assert_eq!(groups[0]["group"], SATO, "{groups}");
    // The answer to reuse is the reply, not the note to the supplier.
    let o = run(kura_cfg(&s.archive, &s.config).args(["answers", "--format", "json", "ポンプ"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["question"]["message_id"], "q1@test.example");
    assert_eq!(v[0]["answer"]["message_id"], "r1@test.example");
    assert_eq!(
        v[0]["answer_text"],
        "在庫がございます。明日出荷いたします。\n"
    );
}

/// A double answer is two staff replying to a customer before the customer
/// writes again: the supplier's answer to a forward in between is not the
/// customer writing again.
#[test]
fn a_suppliers_answer_in_between_does_not_hide_a_double_answer() {
    let mails: [Mail; 5] = [
        (
            "q1",
            "Wed, 01 May 2024 10:00:00 +0900",
            TANAKA,
            "support@minato-shokai.co.jp",
            "ポンプの在庫",
            None,
        ),
        (
            "f1",
            "Wed, 01 May 2024 10:30:00 +0900",
            SATO,
            "eigyo@buhin-maker.co.jp",
            "FW: ポンプの在庫",
            Some("q1"),
        ),
        (
            "s1",
            "Wed, 01 May 2024 11:00:00 +0900",
            "eigyo@buhin-maker.co.jp",
            SATO,
            "RE: FW: ポンプの在庫",
            Some("f1"),
        ),
        (
            "r1",
            "Wed, 01 May 2024 13:00:00 +0900",
            SATO,
            TANAKA,
            "Re: ポンプの在庫",
            Some("q1"),
        ),
        (
            "r2",
            "Wed, 01 May 2024 14:00:00 +0900",
            SUZUKI,
            TANAKA,
            "Re: ポンプの在庫",
            Some("q1"),
        ),
    ];
    let s = archive_of(&mails);
    let o = run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json", "--utc"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    let doubles = v["double_answers"].as_array().unwrap();
    assert_eq!(doubles.len(), 1, "{v}");
    assert_eq!(doubles[0]["customer"], "kyowa-shoji.co.jp", "{v}");
    assert_eq!(doubles[0]["inbound_date"], "2024-05-01T01:00:00Z", "{v}");
    let staff: Vec<&str> = doubles[0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["staff"].as_str().unwrap())
        .collect();
    assert_eq!(staff, [SATO, SUZUKI], "{v}");
    let by_staff =
        run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json", "--by", "staff"]));
    let groups = json_of(&by_staff)["groups"].clone();
    let sato = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == SATO)
        .unwrap_or_else(|| panic!("{groups}"));
    assert_eq!(sato["double_answers"], 1, "{groups}");
    // The customer writing again does end the window: sato answers, the
    // customer writes again, suzuki answers that: no double answer.
    let again: Mail = (
        "q2",
        "Wed, 01 May 2024 13:30:00 +0900",
        TANAKA,
        SATO,
        "Re: ポンプの在庫",
        Some("r1"),
    );
    let s = archive_of(&[mails[0], mails[3], again, mails[4]]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["report", "--format", "json"]));
    let v = json_of(&o);
    assert_eq!(v["total"]["double_answers"], 0, "{v}");
}

/// A waiting message without a From names no customer: the table and the
/// text show `-` there (an empty field shifted the text's columns), JSON an
/// empty string; `report --by customer` groups it under `-`.
#[test]
fn a_message_without_a_sender_is_shown_with_a_dash() {
    let s = archive_of(&[(
        "n1",
        "Mon, 01 Apr 2024 09:00:00 +0900",
        "",
        "support@minato-shokai.co.jp",
        "差出人なしの問い合わせ",
        None,
    )]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_of(&o)[0]["customer"], "", "{}", stdout(&o));
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "text", "--utc"]));
    let line = stdout(&o);
    let fields: Vec<&str> = line.trim_end().split("  ").collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(fields[2], "-", "{line}");
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "table"]));
    let row = stdout(&o).lines().nth(1).unwrap_or_default().to_string();
    assert!(row.trim_start().starts_with("- "), "{}", stdout(&o));
    let o =
        run(kura_cfg(&s.archive, &s.config)
            .args(["report", "--by", "customer", "--format", "json"]));
    let groups = json_of(&o)["groups"].clone();
    assert_eq!(groups[0]["group"], "-", "{groups}");
    assert_eq!(groups[0]["inbound"], 1, "{groups}");
}

/// A supplier staff forwarded a customer's question to is consulted, no
/// customer of the conversation: its answer waits for no reply, and the
/// customer's question still does; `report` counts the question only.
#[test]
fn a_consulted_suppliers_answer_is_not_waiting_nor_counted() {
    let question: Mail = (
        "q1",
        "Wed, 01 May 2024 10:00:00 +0900",
        TANAKA,
        "support@minato-shokai.co.jp",
        "ポンプの在庫",
        None,
    );
    let forward: Mail = (
        "f1",
        "Wed, 01 May 2024 10:30:00 +0900",
        SATO,
        "eigyo@buhin-maker.co.jp",
        "FW: ポンプの在庫",
        Some("q1"),
    );
    let answer: Mail = (
        "s1",
        "Wed, 01 May 2024 11:00:00 +0900",
        "eigyo@buhin-maker.co.jp",
        SATO,
        "RE: FW: ポンプの在庫",
        Some("f1"),
    );
    let reply: Mail = (
        "r1",
        "Wed, 01 May 2024 13:00:00 +0900",
        SATO,
        TANAKA,
        "Re: ポンプの在庫",
        Some("q1"),
    );
    let s = archive_of(&[question, forward, answer]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json", "--utc"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["customer"], "kyowa-shoji.co.jp", "{v}");
    assert_eq!(v[0]["waiting_since"], "2024-05-01T01:00:00Z", "{v}");
    assert_eq!(v[0]["unanswered"], 1, "{v}");
    assert_eq!(v[0]["handled_by"], SATO, "{v}");
    let by_customer = |s: &Small| {
        let o = run(kura_cfg(&s.archive, &s.config)
            .args(["report", "--by", "customer", "--format", "json"]));
        json_of(&o)
    };
    let v = by_customer(&s);
    assert_eq!(v["groups"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["groups"][0]["group"], "kyowa-shoji.co.jp", "{v}");
    assert_eq!(v["total"]["inbound"], 1, "{v}");
    assert_eq!(v["total"]["unanswered"], 1, "{v}");
    // Answered: nothing waits, and the question has its reply.
    let s = archive_of(&[question, forward, answer, reply]);
    let o = run(kura_cfg(&s.archive, &s.config).args(["pending", "--format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = by_customer(&s);
    assert_eq!(v["total"]["inbound"], 1, "{v}");
    assert_eq!(v["total"]["answered"], 1, "{v}");
    // A supplier who wrote first is the conversation's customer, waiting
    // like any other.
    let offer: Mail = (
        "o1",
        "Wed, 01 May 2024 09:00:00 +0900",
        "eigyo@buhin-maker.co.jp",
        "support@minato-shokai.co.jp",
        "新製品のご案内",
        None,
    );
    let s = archive_of(&[offer, question]);
    let v = by_customer(&s);
    assert_eq!(v["total"]["inbound"], 2, "{v}");
    assert_eq!(v["groups"][0]["group"], "buhin-maker.co.jp", "{v}");
}
