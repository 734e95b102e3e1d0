//! `kura export` and `kura audit` end to end on the fixture archive (plus a few
//! hostile messages): the mbox round trip, JSON/CSV/HTML contents, narrowing,
//! redaction, attachments and the audit trail.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE_CONFIG: &str = "\
internal_domains = [\"minato-shokai.co.jp\"]
shared_address = \"support@minato-shokai.co.jp\"
";

/// A customer mail with markup and script in its headers and text, and
/// personal data to redact.
const HOSTILE: &str =
    "From: =?UTF-8?B?44OE44OQ44OhIDxiPuWkquWtlzwvYj4=?= <eigyo@tsubame-koki.co.jp>\r
To: support@minato-shokai.co.jp\r
Subject: <script>alert(\"x\")</script> =?UTF-8?B?5bGV56S65Lya?=\r
Date: Fri, 15 Mar 2024 09:00:00 +0900\r
Message-ID: <hostile.1@tsubame-koki.co.jp>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=UTF-8\r
Content-Transfer-Encoding: 8bit\r
\r
<a href=\"javascript:alert(1)\" onclick=\"steal()\">詳細</a>\r
<script>alert(2)</script>\r
TEL 03-1234-5678 携帯 090-8765-4321 〒940-0001\r
展示会は 2024-03-05 から、注文番号 INV-2024-0117 です。\r
担当 eigyo@tsubame-koki.co.jp\r
";

/// A customer mail whose subject is a spreadsheet formula.
const FORMULA: &str = "From: tanaka@kyowa-shoji.co.jp
To: support@minato-shokai.co.jp
Subject: =HYPERLINK(\"http://evil.example\",\"click\"), please
Date: Sun, 10 Mar 2024 10:00:00 +0900
Message-ID: <formula.1@kyowa-shoji.co.jp>
Content-Type: text/plain; charset=UTF-8

=1+2
";

/// An internal note in a customer thread (no customer address).
const INTERNAL: &str = "From: yamada@minato-shokai.co.jp
To: sato@minato-shokai.co.jp
Subject: Re: =?UTF-8?B?6KuL5rGC5pu444Gu5YaN55m66KGM44Gu44GK6aGY44GE?=
Date: Tue, 05 Mar 2024 12:00:00 +0900
Message-ID: <internal.1@minato-shokai.co.jp>
In-Reply-To: <20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp>
References: <20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp>
Content-Type: text/plain; charset=UTF-8

社内メモ: 田中様の件は対応済みです。
";

struct Fixture {
    dir: tempfile::TempDir,
    archive: PathBuf,
    config: PathBuf,
}

impl Fixture {
    fn kura(&self) -> Command {
        let mut c = kura(&self.archive);
        c.env_remove("KURA_CONFIG")
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env("USER", "auditor")
            .arg("--config")
            .arg(&self.config);
        c
    }

    fn export(&self, args: &[&str]) -> Output {
        run(self.kura().arg("export").args(args))
    }

    /// `export ARGS` to standard output, which must succeed.
    fn export_ok(&self, args: &[&str]) -> Vec<u8> {
        let o = self.export(args);
        assert!(o.status.success(), "export {args:?}: {}", stderr(&o));
        o.stdout
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn fixture_archive() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let config = dir.path().join("kura.toml");
    std::fs::write(&config, FIXTURE_CONFIG).unwrap();
    let extra = dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("hostile.eml"), HOSTILE).unwrap();
    std::fs::write(extra.join("formula.eml"), FORMULA).unwrap();
    std::fs::write(extra.join("internal.eml"), INTERNAL).unwrap();
    let f = fixtures();
    import(
        &archive,
        &[
            &f.join("maildir"),
            &f.join("mbox"),
            &f.join("eml"),
            &f.join("broken"),
            &extra,
        ],
    );
    Fixture {
        dir,
        archive,
        config,
    }
}

fn jsonl(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn ids_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["message_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn history_holds_the_customers_threads_in_date_order() {
    let fx = fixture_archive();
    let rows = jsonl(&fx.export_ok(&["--customer", "kyowa-shoji.co.jp", "--format", "jsonl"]));
    // 6 fixture messages, the formula mail, the internal note of thread 1,
    // and the internal mail naming the customer (協和商事) outside its
    // threads: the visit report, and the inline forward between staff.
    assert_eq!(rows.len(), 10, "{:#?}", ids_of(&rows));
    for id in [
        "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d@minato-shokai.co.jp",
        "7d0c6a1e-2b9f-4e3a-8c51-0a9e8f7d6c5b@minato-shokai.co.jp",
    ] {
        let m = rows.iter().find(|r| r["message_id"] == id).expect(id);
        assert_eq!(m["direction"], "internal");
    }
    let without = jsonl(&fx.export_ok(&[
        "--customer",
        "kyowa-shoji.co.jp",
        "--format",
        "jsonl",
        "--no-mentions",
    ]));
    assert_eq!(without.len(), 8, "{:#?}", ids_of(&without));
    let dates: Vec<&str> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "oldest first");
    let note = rows
        .iter()
        .find(|r| r["message_id"] == "internal.1@minato-shokai.co.jp")
        .expect("the internal note of the customer's thread");
    assert_eq!(note["direction"], "internal");
    assert!(note["body"].as_str().unwrap().contains("社内メモ"));
    let first = &rows[0];
    assert_eq!(
        first["message_id"],
        "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp"
    );
    assert_eq!(first["direction"], "inbound");
    assert_eq!(first["subject"], "請求書の再発行のお願い");
    assert!(
        first["body"]
            .as_str()
            .unwrap()
            .contains("請求書番号：MS-2402-038")
    );
    assert_eq!(first["from"]["address"], "tanaka@kyowa-shoji.co.jp");
    let outbound = rows.iter().filter(|r| r["direction"] == "outbound").count();
    assert_eq!(outbound, 3);
    // The address form of the key, and --format json, give the same messages.
    let arr: Value = serde_json::from_slice(&fx.export_ok(&[
        "--customer",
        "ito@tokyo.kyowa-shoji.co.jp",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(ids_of(arr.as_array().unwrap()), ids_of(&rows));
}

#[test]
fn query_and_dates_narrow_the_history() {
    let fx = fixture_archive();
    let kyowa = |args: &[&'static str]| {
        let mut a = vec!["--customer", "kyowa-shoji.co.jp", "--format", "jsonl"];
        a.extend_from_slice(args);
        a
    };
    let n = |args: &[&'static str]| jsonl(&fx.export_ok(&kyowa(args))).len();
    let code = |args: &[&'static str]| {
        let o = fx.export(&kyowa(args));
        (o.status.code(), stderr(&o))
    };
    assert_eq!(n(&["subject:見積"]), 2);
    // 2024-03-06T02:20Z onwards (Tokyo time): 請求書送付, the visit
    // report, 見積 x2, formula.
    assert_eq!(n(&["--since", "2024-03-06"]), 5);
    // Up to the 5th: the request, the reply, the answer, the forward.
    assert_eq!(n(&["--until", "2024-03-05"]), 5);
    assert_eq!(n(&["--since", "2024-03-05", "--until", "2024-03-05"]), 3);
    let (c, err) = code(&["--since", "2025-01"]);
    assert_eq!(c, Some(1), "{err}");
    let (c, err) = code(&["--since", "2024-13"]);
    assert_eq!(c, Some(2), "{err}");
    // Reversed: a usage error (2), not an empty history (1).
    let (c, err) = code(&["--since", "2024-03-06", "--until", "2024-03-05"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("--until ends before --since"), "{err}");
    // A range is not one date: said so, not read as a broken range
    // (`2024-03..2024-04..`) or quietly as its end.
    for args in [
        ["--since", "2024-03..2024-04"],
        ["--until", "2024-03-01..2024-03-05"],
        ["--until", "2024-03.."],
    ] {
        let (c, err) = code(&args);
        assert_eq!(c, Some(2), "{args:?}: {err}");
        assert!(err.contains("not a range"), "{args:?}: {err}");
        assert!(!err.contains("...") && !err.contains("..'"), "{err}");
    }
}

#[test]
fn mbox_round_trip_is_byte_identical() {
    let fx = fixture_archive();
    let customers = [
        "kyowa-shoji.co.jp",
        "acme-corp.com",
        "hokuto-seiki.co.jp",
        "himawari-engei.jp",
        "kenta.watanabe.1987@gmail.com",
        "tsubame-koki.co.jp",
        "hikari-sys.co.jp",
        "maruei-logi.co.jp",
        "kotobuki-print.co.jp",
    ];
    let out = fx.path("mbox");
    std::fs::create_dir_all(&out).unwrap();
    let mut expected = BTreeSet::new();
    for c in customers {
        let file = out.join(format!("{c}.mbox"));
        let o = fx.export(&[
            "--customer",
            c,
            "--format",
            "mbox",
            "--output",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{c}: {}", stderr(&o));
        let rows = jsonl(&fx.export_ok(&["--customer", c, "--format", "jsonl"]));
        expected.extend(ids_of(&rows));
        let text = std::fs::read(&file).unwrap();
        assert!(text.starts_with(b"From "), "{c}");
    }
    let copy = fx.path("copy");
    let summary = import(&copy, &[&out]);
    assert_eq!(summary["rejected"], 0, "{summary}");
    let got: BTreeSet<String> = ids(&copy, "*").into_iter().collect();
    assert_eq!(got, expected);
    assert!(expected.len() >= 20, "{}", expected.len());
    let mut unterminated = 0;
    for id in &expected {
        let a = run(kura(&fx.archive).args(["show", "--raw", id]));
        let b = run(kura(&copy).args(["show", "--raw", id]));
        assert!(a.status.success() && b.status.success(), "{id}");
        if a.stdout.ends_with(b"\n") {
            assert!(a.stdout == b.stdout, "{id}: the original changed");
        } else {
            // An mbox cannot tell a missing final line end from one the
            // writer added (the truncated multipart fixture has none).
            unterminated += 1;
            assert_eq!([&a.stdout[..], b"\n"].concat(), b.stdout, "{id}");
        }
    }
    assert_eq!(unterminated, 1);
}

#[test]
fn csv_is_quoted_and_defused() {
    let fx = fixture_archive();
    let csv =
        String::from_utf8(fx.export_ok(&["--customer", "kyowa-shoji.co.jp", "--format", "csv"]))
            .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "date,direction,from,to,subject,thread,attachments"
    );
    assert_eq!(lines.len(), 11, "{csv}");
    assert!(!csv.contains('\r'));
    let formula = lines
        .iter()
        .find(|l| l.contains("HYPERLINK"))
        .expect("the formula mail");
    assert!(
        formula.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\"), please\","),
        "{formula}"
    );
    assert!(csv.contains(",請求書.pdf\n"), "{csv}");
    assert!(csv.contains(",internal,"), "{csv}");
    let excel = fx.export_ok(&[
        "--customer",
        "kyowa-shoji.co.jp",
        "--format",
        "csv",
        "--excel",
    ]);
    assert!(excel.starts_with("\u{feff}date,".as_bytes()));
    let text = String::from_utf8(excel).unwrap();
    assert_eq!(text.matches("\r\n").count(), 11);
    assert_eq!(text.matches('\n').count(), 11);
    let o = fx.export(&[
        "--customer",
        "kyowa-shoji.co.jp",
        "--format",
        "json",
        "--excel",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn html_is_self_contained_and_escaped() {
    let fx = fixture_archive();
    let file = fx.path("tsubame.html");
    let o = fx.export(&[
        "--customer",
        "tsubame-koki.co.jp",
        "--format",
        "html",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    assert_eq!(html.matches("<article class=\"message").count(), 2);
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 展示会"));
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;太字&lt;/b&gt;"));
    assert!(!html.to_lowercase().contains("<script"));
    // Every literal `<` opens markup kura wrote (text from mail is escaped):
    // no tag may run a script, link anywhere or load anything.
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap().to_lowercase();
        if tag.starts_with("meta http-equiv=\"content-security-policy\"") {
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or_default();
        for bad in [
            "script", "img", "iframe", "a", "link", "object", "embed", "base",
        ] {
            assert_ne!(name, bad, "markup from mail: <{tag}>");
        }
        for bad in ["javascript:", "onclick", "href=", " src="] {
            assert!(!tag.contains(bad), "markup from mail: <{tag}>");
        }
    }
    // The summary: counts, the chart, the staff seen.
    assert!(html.contains("<svg class=\"months\""));
    assert_eq!(html.matches("<rect").count(), 1);
    assert!(html.contains("<dt>inbound</dt><dd>2</dd>"), "{html}");
    // The HTML mail's own text is there, its script is not.
    assert!(html.contains("春季展示会"));
    assert!(!html.contains("steal(document"));
    // Newest conversation first.
    let hostile = html.find("展示会 <span").unwrap();
    let spring = html.find("春のご案内").unwrap();
    assert!(hostile < spring);
    chromium_check(&file, 2);
}

/// In the HTML page, what a reply quotes is greyed (a span of its own) and
/// what it says is not.
#[test]
fn html_greys_the_quoted_lines_of_replies() {
    let fx = fixture_archive();
    // Without the inline forward that mentions the customer: all it
    // forwards is grey, banner and headers too.
    let html = String::from_utf8(fx.export_ok(&[
        "--customer",
        "kyowa-shoji.co.jp",
        "--format",
        "html",
        "--no-mentions",
    ]))
    .unwrap();
    let quoted: Vec<&str> = html
        .split("<span class=\"quoted\">")
        .skip(1)
        .map(|s| s.split("</span>").next().unwrap())
        .collect();
    assert!(!quoted.is_empty(), "{html}");
    for q in &quoted {
        assert!(
            q.lines().all(|l| l.trim_start().starts_with("&gt;")
                || l.ends_with(':')
                || l.trim().is_empty()),
            "only quoted lines and their attribution are grey: {q}"
        );
    }
    // Every `>` line of every body is in a grey span.
    for body in html.split("<pre class=\"body\">").skip(1) {
        let body = body.split("</pre>").next().unwrap();
        let mut outside = body.to_string();
        for q in &quoted {
            outside = outside.replace(q, "");
        }
        assert!(
            !outside.lines().any(|l| l.trim_start().starts_with("&gt;")),
            "a quoted line not grey: {body}"
        );
    }
}

/// Loads the page in a headless Chromium, when one is installed.
fn chromium_check(file: &Path, messages: usize) {
    let Some(bin) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("skipping the browser check: no chromium installed");
        return;
    };
    let o = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dom = stdout(&o);
    assert_eq!(dom.matches("<article class=\"message").count(), messages);
    assert!(dom.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(!dom.to_lowercase().contains("<script"));
}

#[test]
fn redaction_masks_personal_data_only() {
    let fx = fixture_archive();
    let o = fx.export(&[
        "--customer",
        "tsubame-koki.co.jp",
        "--format",
        "mbox",
        "--redact",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("mbox"), "{}", stderr(&o));
    for format in ["jsonl", "csv", "html"] {
        let out = String::from_utf8(fx.export_ok(&[
            "--customer",
            "tsubame-koki.co.jp",
            "--format",
            format,
            "--redact",
        ]))
        .unwrap();
        assert!(!out.contains("eigyo@tsubame"), "{format}: {out}");
        assert!(!out.contains("tsubame@tsubame"), "{format}: {out}");
        assert!(!out.contains("support@minato"), "{format}");
        assert!(out.contains("[email]"), "{format}");
        if format != "csv" {
            assert!(!out.contains("03-1234-5678") && !out.contains("090-8765-4321"));
            assert!(!out.contains("940-0001"));
            assert!(out.contains("[phone]") && out.contains("〒[postal code]"));
            assert!(out.contains("2024-03-05") && out.contains("INV-2024-0117"));
        }
    }
}

#[test]
fn attachments_are_saved_with_unique_names() {
    let fx = fixture_archive();
    let dir = fx.path("files");
    for _ in 0..2 {
        fx.export_ok(&[
            "--customer",
            "kyowa-shoji.co.jp",
            "--format",
            "csv",
            "--attachments",
            dir.to_str().unwrap(),
        ]);
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["請求書-1.pdf", "請求書.pdf"]);
    let pdf = std::fs::read(dir.join("請求書.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "{:?}", &pdf[..8.min(pdf.len())]);
    fx.export_ok(&[
        "--customer",
        "hokuto-seiki.co.jp",
        "--format",
        "jsonl",
        "--attachments",
        dir.to_str().unwrap(),
    ]);
    assert!(dir.join("御見積書_北斗精機様.pdf").is_file());
}

#[test]
fn every_export_is_audited() {
    let fx = fixture_archive();
    let o = run(fx.kura().args(["audit", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "[]");
    let file = fx.path("k.csv");
    fx.export_ok(&[
        "--customer",
        "kyowa-shoji.co.jp",
        "--format",
        "csv",
        "subject:見積",
        "--since",
        "2024-03",
        "-o",
        file.to_str().unwrap(),
    ]);
    fx.export_ok(&[
        "--customer",
        "acme-corp.com",
        "--format",
        "jsonl",
        "--redact",
    ]);
    let o = run(fx.kura().args(["audit", "--format", "json"]));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let (newest, oldest) = (&rows[0], &rows[1]);
    assert_eq!(newest["customer"], "acme-corp.com");
    assert_eq!(newest["format"], "jsonl redacted");
    assert_eq!(newest["destination"], "-");
    assert_eq!(oldest["customer"], "kyowa-shoji.co.jp");
    assert_eq!(oldest["os_user"], "auditor");
    assert_eq!(oldest["query"], "subject:見積 --since 2024-03");
    assert_eq!(oldest["count"], 2);
    assert_eq!(oldest["destination"], file.to_str().unwrap());
    let o = run(fx.kura().args(["audit", "--format", "text"]));
    assert_eq!(stdout(&o).lines().count(), 2);
}

#[test]
fn output_dash_is_standard_output() {
    let fx = fixture_archive();
    let args = ["--customer", "kyowa-shoji.co.jp", "--format", "csv"];
    let plain = fx.export_ok(&args);
    let cwd = fx.path("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let o = run(fx
        .kura()
        .current_dir(&cwd)
        .arg("export")
        .args(args)
        .args(["-o", "-"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, plain);
    assert!(!cwd.join("-").exists(), "a file named - was written");
    let o = run(fx.kura().args(["audit", "--format", "json"]));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["destination"], "-", "{v}");
}

#[test]
fn an_empty_history_is_the_formats_empty_document_and_status_1() {
    let fx = fixture_archive();
    let empty = |format: &str, extra: &[&str]| {
        let mut args = vec![
            "--customer",
            "kyowa-shoji.co.jp",
            "--format",
            format,
            "--since",
            "2030-01",
        ];
        args.extend_from_slice(extra);
        let o = fx.export(&args);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert!(stderr(&o).contains("no messages"), "{}", stderr(&o));
        o.stdout
    };
    // As search --format json prints [] when nothing matches.
    let json: Value = serde_json::from_slice(&empty("json", &[])).unwrap();
    assert_eq!(json, serde_json::json!([]));
    assert_eq!(
        empty("csv", &[]),
        b"date,direction,from,to,subject,thread,attachments\n"
    );
    assert_eq!(
        empty("csv", &["--excel"]),
        "\u{feff}date,direction,from,to,subject,thread,attachments\r\n".as_bytes()
    );
    assert!(empty("jsonl", &[]).is_empty());
    assert!(empty("mbox", &[]).is_empty());
    let html = String::from_utf8(empty("html", &[])).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<dt>Messages</dt><dd>0</dd>") && html.ends_with("</html>\n"),
        "{html}"
    );
    // The same with --output; no attachment folder, nothing audited; --quiet
    // says nothing.
    let file = fx.path("empty.json");
    let dir = fx.path("attachments");
    let o = run(fx.kura().arg("--quiet").arg("export").args([
        "--customer",
        "nobody.example",
        "--format",
        "json",
        "-o",
        file.to_str().unwrap(),
        "--attachments",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "[]\n");
    assert!(!dir.exists());
    let o = run(fx.kura().args(["audit", "--format", "json"]));
    assert_eq!(stdout(&o).trim(), "[]");
}
