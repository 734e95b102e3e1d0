//! `kura show`, `kura thread` and `kura rejects` end to end, on the bundled
//! sample mailbox and on small hand-built Maildirs: exact originals, decoded
//! display, attachments saved safely whatever their names, thread trees with
//! placeholders and loops, and the list of rejected inputs.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const MBOX: &str = "mbox/2024-03.mbox";
/// ISO-2022-JP thread root.
const TANAKA: &str = "20240304101203.7F3A.TANAKA@kyowa-shoji.co.jp";
/// Last reply of the ISO-2022-JP thread.
const TANAKA_REPLY: &str = "20240305091544.7F51.TANAKA@kyowa-shoji.co.jp";
/// mbox message with the PDF named by RFC 2047 inside quotes.
const QUOTE_PDF: &str = "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3@minato-shokai.co.jp";
/// CRLF .eml with the PDF named by RFC 2231.
const INVOICE_EML: &str = "4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0@minato-shokai.co.jp";
const HTML_ONLY: &str = "20240314103015.4821.tsubame@tsubame-koki.co.jp";
const ANSI: &str = "20240315021142.1F3C9A@acc0unt-verify.com";
const CP932: &str = "000001da6f3c$4a2b1c00$de8e5400$@hokuto-seiki.co.jp";
/// First message of the 4-message English chain.
const ACME_ROOT: &str =
    "CY4PR1901MB2231E5C0A1B2C3D4E5F6A7B8C9D0@CY4PR1901MB2231.namprd19.prod.outlook.com";
const ACME_LAST: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d@minato-shokai.co.jp";

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// One archive of all fixtures, shared by the tests of this file.
fn archive() -> PathBuf {
    static ARCHIVE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        import_fixtures(&dir.path().join("a"));
        dir
    });
    dir.path().join("a")
}

/// Runs kura and asserts exit status 0.
fn ok(archive: &Path, args: &[&str]) -> Output {
    let o = run(kura(archive).args(args));
    assert!(
        o.status.success(),
        "kura {args:?} failed ({:?}): {}",
        o.status,
        stderr(&o)
    );
    o
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", stdout(o)))
}

/// The messages of the fixture mbox as kura's reader yields them (unquoted).
fn mbox_messages(path: &Path) -> Vec<kura::sources::MboxMessage> {
    kura::sources::MboxReader::open(path, false, 0)
        .unwrap()
        .collect::<anyhow::Result<Vec<_>>>()
        .unwrap()
}

fn message_id_of(raw: &[u8]) -> String {
    kura::parse::parse_message(raw, None).unwrap().message_id
}

/// A Maildir with `cur/`, `new/` and `tmp/` holding `messages` in `cur/`.
fn maildir(dir: &Path, messages: &[(&str, Vec<u8>)]) -> PathBuf {
    let md = empty_maildir(dir.join("Maildir"));
    for (i, (name, bytes)) in messages.iter().enumerate() {
        let file = format!("{}.M{i}P1Q{i}.{name}:2,S", 1_710_000_000 + i);
        std::fs::write(md.join("cur").join(file), bytes).unwrap();
    }
    md
}

/// A plain message: Message-ID, date (RFC 5322), subject, References.
fn plain(id: &str, date: &str, from: &str, subject: &str, refs: &[&str], body: &str) -> Vec<u8> {
    let mut h = format!(
        "From: {from}\nTo: support@minato-shokai.co.jp\nSubject: {subject}\n\
         Date: {date}\nMessage-ID: <{id}>\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    );
    if !refs.is_empty() {
        let list: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        h.push_str(&format!("References: {}\n", list.join(" ")));
        h.push_str(&format!("In-Reply-To: {}\n", list.last().unwrap()));
    }
    h.push('\n');
    h.push_str(body);
    h.into_bytes()
}

/// Runs `cmd`, killing it and failing after `limit`.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("kura did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut v = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    Output {
        status,
        stdout: read(out),
        stderr: read(err),
    }
}

// ---------------------------------------------------------------- show --raw

#[test]
fn raw_is_the_exact_original_even_after_the_source_is_gone() {
    let f = fixtures();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let md_name = "1709514725.M101P3021Q1.mx1.minato-shokai.co.jp:2,S";
    maildir(&src, &[]);
    let md_file = src.join("Maildir/cur").join(md_name);
    std::fs::copy(f.join("maildir/cur").join(md_name), &md_file).unwrap();
    let eml = src.join("invoice.eml");
    std::fs::copy(f.join("eml/invoice-rfc2231-crlf.eml"), &eml).unwrap();
    let mbox = src.join("2024-03.mbox");
    std::fs::copy(f.join(MBOX), &mbox).unwrap();

    let a = tmp.path().join("a");
    let s = import(&a, &[&src.join("Maildir"), &eml, &mbox]);
    assert_eq!(s["new"], 8, "{s}");

    let mut want: Vec<(String, Vec<u8>)> = vec![
        (TANAKA.into(), std::fs::read(&md_file).unwrap()),
        (INVOICE_EML.into(), std::fs::read(&eml).unwrap()),
    ];
    assert!(
        want[1].1.windows(2).any(|w| w == b"\r\n"),
        "the .eml fixture has CRLF line endings"
    );
    let mbox_msgs = mbox_messages(&mbox);
    assert_eq!(mbox_msgs.len(), 6);
    for m in &mbox_msgs {
        want.push((message_id_of(&m.bytes), m.bytes.clone()));
    }
    // The mboxrd-quoted line comes back with exactly one `>` removed.
    let acme = &want.iter().find(|(id, _)| id == ACME_LAST).unwrap().1;
    let acme_text = String::from_utf8_lossy(acme);
    assert!(acme_text.contains("\n>From the warehouse"), "{acme_text}");
    assert!(!acme_text.contains(">>From the warehouse"));
    assert!(!mbox_msgs[0].bytes.starts_with(b"From "));

    let check = |when: &str| {
        for (id, bytes) in &want {
            let o = ok(&a, &["show", "--raw", id]);
            assert!(
                o.stdout == *bytes,
                "{when}: show --raw {id} differs from the original ({} vs {} bytes)",
                o.stdout.len(),
                bytes.len()
            );
        }
    };
    check("with the sources present");
    std::fs::remove_dir_all(&src).unwrap();
    check("after the sources were deleted");
}

// ----------------------------------------------------------- show, decoded

#[test]
fn show_prints_decoded_headers_attachments_and_text() {
    let a = archive();
    let o = ok(&a, &["show", TANAKA]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"Subject:    請求書の再発行のお願い"),
        "{out}"
    );
    assert!(
        lines.contains(&"From:       協和商事 田中 誠 <tanaka@kyowa-shoji.co.jp>"),
        "{out}"
    );
    assert!(lines.contains(&"Date:       2024-03-04T10:12:03+09:00"));
    assert!(lines.contains(&format!("Message-ID: <{TANAKA}>").as_str()));
    // ISO-2022-JP body, decoded, after a blank line that ends the headers.
    let blank = lines.iter().position(|l| l.is_empty()).unwrap();
    assert!(
        lines[blank + 1..].contains(&"請求書番号：MS-2402-038"),
        "{out}"
    );
    assert!(!out.contains("Attachment:"));

    // CP932 name and body (Shift_JIS label).
    let out = stdout(&ok(&a, &["show", CP932]));
    assert!(
        out.contains("From:       北斗精機 髙橋 健一 <takahashi@hokuto-seiki.co.jp>"),
        "{out}"
    );
    for s in ["①", "髙橋", "～"] {
        assert!(out.contains(s), "{s} missing: {out}");
    }

    // Attachments are numbered from 1, with decoded names.
    let out = stdout(&ok(&a, &["show", QUOTE_PDF]));
    let att: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Attachment:"))
        .collect();
    assert_eq!(
        att,
        ["Attachment: [1] 御見積書_北斗精機様.pdf (application/pdf, 1047 bytes)"],
        "{out}"
    );
    let out = stdout(&ok(&a, &["show", INVOICE_EML]));
    assert!(
        out.contains("Attachment: [1] 請求書.pdf (application/pdf, "),
        "{out}"
    );

    // HTML-only mail: text, without markup or script.
    let out = stdout(&ok(&a, &["show", HTML_ONLY]));
    assert!(out.contains("展示会"), "{out}");
    assert!(out.contains("Subject:    春のご案内"));
    let body = out.split_once("\n\n").unwrap().1;
    for bad in ["<", ">", "alert", "steal", "cookie", "font-family", "&amp;"] {
        assert!(!body.contains(bad), "{bad} shown: {out}");
    }
}

/// A CRLF mail (the fixture `.eml`, as Windows clients save it; Gmail's
/// exports are CRLF too) shows with LF line ends: no CR in the JSON body, no
/// CR shown as a space at the end of each line of the text, and the same
/// body as an LF copy of the same mail.
#[test]
fn a_crlf_mail_shows_with_lf_line_ends() {
    let a = archive();
    let raw = ok(&a, &["show", "--raw", INVOICE_EML]).stdout;
    assert!(raw.windows(2).any(|w| w == b"\r\n"), "the fixture is CRLF");
    let body = |archive: &Path| -> String {
        let json = json_of(&ok(archive, &["show", "--format", "json", INVOICE_EML]));
        json["body"].as_str().unwrap().to_owned()
    };
    let crlf = body(&a);
    assert!(crlf.lines().count() > 3 && !crlf.contains('\r'), "{crlf:?}");
    let text = stdout(&ok(&a, &["show", INVOICE_EML]));
    assert!(!text.lines().any(|l| l.ends_with(' ')), "{text}");

    let tmp = tempfile::tempdir().unwrap();
    let lf = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let md = maildir(tmp.path(), &[("lf", lf.into_bytes())]);
    let copy = tmp.path().join("a");
    assert_eq!(import(&copy, &[&md])["new"], 1);
    assert_eq!(body(&copy), crlf);
}

#[test]
fn show_lists_every_place_a_message_was_found() {
    let a = archive();
    let duplicate =
        "CY4PR1901MB22317A8B9C0D1E2F3A4B5C6D7E8F@CY4PR1901MB2231.namprd19.prod.outlook.com";
    let conflict = "notice.0001@maruei-logi.co.jp";
    let maildir_copy = "maildir/cur/1710202507.M1515P3021Q15.mx1.minato-shokai.co.jp:2,S";
    let places = |id: &str| -> Vec<(String, String, Value, String)> {
        let v = json_of(&ok(&a, &["show", "--format", "json", id]));
        v["locations"]
            .as_array()
            .unwrap_or_else(|| panic!("no locations: {v}"))
            .iter()
            .map(|l| {
                let path = PathBuf::from(l["path"].as_str().unwrap());
                let file = path
                    .strip_prefix(fixtures())
                    .unwrap_or_else(|_| panic!("{} is not a fixture", path.display()));
                (
                    file.to_str().unwrap().to_owned(),
                    l["kind"].as_str().unwrap().to_owned(),
                    l["offset"].clone(),
                    l["copy"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let place = |file: &str, kind: &str, offset: Value, copy: &str| {
        (file.to_owned(), kind.to_owned(), offset, copy.to_owned())
    };
    // The copy imported first, then the same message again in the mbox.
    assert_eq!(
        places(duplicate),
        [
            place(maildir_copy, "maildir", Value::Null, "imported"),
            place(MBOX, "mbox", 1633.into(), "duplicate"),
        ]
    );
    let conflicting = places(conflict);
    assert_eq!(conflicting.len(), 2, "{conflicting:?}");
    assert_eq!(conflicting[1], place(MBOX, "mbox", 9093.into(), "conflict"));
    // An mbox offset is where the message's `From ` line starts.
    let mbox = std::fs::read(fixtures().join(MBOX)).unwrap();
    for offset in [1633, 9093] {
        assert!(mbox[offset..].starts_with(b"From "), "{offset}");
    }
    let tanaka = "maildir/cur/1709514725.M101P3021Q1.mx1.minato-shokai.co.jp:2,S";
    assert_eq!(
        places(TANAKA),
        [place(tanaka, "maildir", Value::Null, "imported")]
    );
    assert_eq!(
        places(QUOTE_PDF),
        [place(MBOX, "mbox", 4557.into(), "imported")]
    );
    // The text form: one line for each.
    let out = stdout(&ok(&a, &["show", duplicate]));
    let found: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Found in:   "))
        .collect();
    let root = fixtures();
    assert_eq!(
        found,
        [
            format!("{}", root.join(maildir_copy).display()),
            format!("{} at byte 1633 (duplicate)", root.join(MBOX).display()),
        ],
        "{out}"
    );
}

#[test]
fn show_matches_the_ground_truth_for_every_message() {
    let e = expected();
    let a = archive();
    let mut seen = BTreeSet::new();
    for m in e["messages"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        // Unnamed messages get kura's own id; the second half of a conflict
        // is not the message shown.
        if id.starts_with("file:") || !seen.insert(id) {
            continue;
        }
        let v = json_of(&ok(&a, &["show", "--format", "json", id]));
        assert_eq!(v["message_id"], id);
        assert_eq!(v["subject"], m["subject"], "{id}");
        assert_eq!(v["from"]["address"], m["from"][0], "{id}");
        let addrs = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    x["address"]
                        .as_str()
                        .unwrap_or(x.as_str().unwrap_or(""))
                        .into()
                })
                .collect()
        };
        assert_eq!(addrs(&v["to"]), addrs(&m["to"]), "{id} To");
        assert_eq!(addrs(&v["cc"]), addrs(&m["cc"]), "{id} Cc");
        let got = chrono::DateTime::parse_from_rfc3339(v["date"].as_str().unwrap()).unwrap();
        let exp = chrono::DateTime::parse_from_rfc3339(m["date"].as_str().unwrap()).unwrap();
        assert_eq!(got, exp, "{id} date");
        let names: Vec<&str> = v["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["filename"].as_str().filter(|n| !n.is_empty()))
            .collect();
        assert_eq!(names, m["attachments"].as_array().unwrap().clone(), "{id}");
        assert!(v["body"].is_string(), "{id}");

        // The text form shows the same subject, made terminal-safe.
        let text = stdout(&ok(&a, &["show", id]));
        let subject = kura::output::sanitize(m["subject"].as_str().unwrap());
        assert!(
            text.lines().any(|l| l == format!("Subject:    {subject}")),
            "{id}: {text}"
        );
    }
}

#[test]
fn show_never_writes_an_escape_to_stdout() {
    let a = archive();
    let o = ok(&a, &["show", ANSI]);
    assert!(!o.stdout.contains(&0x1b), "raw ESC: {:?}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Subject:    [URGENT] Your mailbox will be suspended"),
        "{out}"
    );
    // JSON keeps the real subject, escaped by JSON itself.
    let o = ok(&a, &["show", "--format", "json", ANSI]);
    assert!(!o.stdout.contains(&0x1b));
    assert_eq!(
        json_of(&o)["subject"],
        "\u{1b}[31m[URGENT]\u{1b}[0m Your mailbox will be suspended"
    );
    // An unknown id is echoed in the error without its escapes.
    let o = run(kura(&a).args(["show", "\u{1b}]0;pwned\u{7}x@y"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(!o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07));
}

#[test]
fn show_accepts_every_form_of_id_and_rejects_unknown_ones() {
    let a = archive();
    let plain = ok(&a, &["show", TANAKA]).stdout;
    for form in [
        format!("<{TANAKA}>"),
        format!("id:{TANAKA}"),
        format!("id:<{TANAKA}>"),
        format!(" {TANAKA} "),
    ] {
        assert_eq!(ok(&a, &["show", &form]).stdout, plain, "show {form:?}");
    }
    let raw = ok(&a, &["show", "--raw", &format!("<{TANAKA}>")]).stdout;
    assert_eq!(raw, ok(&a, &["show", "--raw", TANAKA]).stdout);

    for unknown in ["nobody@example.invalid", "<nobody@example.invalid>"] {
        let o = run(kura(&a).args(["show", unknown]));
        assert_eq!(o.status.code(), Some(2), "{unknown}");
        assert!(o.stdout.is_empty());
        let err = stderr(&o);
        assert!(
            err.contains("no message with Message-ID <nobody@example.invalid>"),
            "{err}"
        );
    }
    let o = run(kura(&a).args(["show", "--raw", "nobody@example.invalid"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

// --------------------------------------------------------------- show --part

#[test]
fn part_saves_the_decoded_attachment_under_its_name() {
    let a = archive();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let dir_s = dir.to_str().unwrap();

    let o = ok(&a, &["show", QUOTE_PDF, "--part", "1", "--output", dir_s]);
    let pdf = dir.join("御見積書_北斗精機様.pdf");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "{:?}", &bytes[..16]);
    assert!(bytes.trim_ascii_end().ends_with(b"%%EOF"));
    assert_eq!(bytes.len(), 1047, "size as listed by show");
    assert!(stderr(&o).contains(pdf.to_str().unwrap()), "{}", stderr(&o));

    // RFC 2231 name, CRLF message.
    ok(&a, &["show", INVOICE_EML, "--part", "1", "--output", dir_s]);
    let invoice = std::fs::read(dir.join("請求書.pdf")).unwrap();
    assert!(invoice.starts_with(b"%PDF-"));

    // Saving again never replaces the first file.
    ok(&a, &["show", QUOTE_PDF, "--part", "1", "--output", dir_s]);
    assert_eq!(
        std::fs::read(dir.join("御見積書_北斗精機様-1.pdf")).unwrap(),
        bytes
    );

    // --output FILE writes exactly that file.
    let file = tmp.path().join("見積.pdf");
    ok(
        &a,
        &[
            "show",
            QUOTE_PDF,
            "--part",
            "1",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // --output - writes it to standard output (not to a file named -).
    let o = run(kura(&a)
        .current_dir(tmp.path())
        .args(["show", QUOTE_PDF, "--part", "1", "--output", "-"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout, bytes);
    assert!(!tmp.path().join("-").exists());

    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "御見積書_北斗精機様.pdf",
            "御見積書_北斗精機様-1.pdf",
            "請求書.pdf"
        ]
        .map(String::from)
        .into()
    );

    // A forwarded message without a name is saved as a mail file that
    // parses as the inner message.
    let fwd = "9c8b7a6f-5e4d-4c3b-a2f1-0e9d8c7b6a5f@minato-shokai.co.jp";
    let listing = stdout(&ok(&a, &["show", fwd]));
    assert!(
        listing.contains("Attachment: [1]  (message/rfc822, "),
        "{listing}"
    );
    let fwd_dir = tmp.path().join("fwd");
    std::fs::create_dir(&fwd_dir).unwrap();
    ok(
        &a,
        &[
            "show",
            fwd,
            "--part",
            "1",
            "--output",
            fwd_dir.to_str().unwrap(),
        ],
    );
    let inner = std::fs::read(fwd_dir.join("attachment-1.eml")).unwrap();
    let inner = kura::parse::parse_message(&inner, None).unwrap();
    assert_eq!(inner.subject, "金型修理の日程について");
    assert!(inner.text.contains("焼入れ"), "{}", inner.text);

    // No such attachment: exit 2, nothing written.
    for n in ["0", "2"] {
        let o = run(kura(&a).args(["show", QUOTE_PDF, "--part", n, "--output", dir_s]));
        assert_eq!(o.status.code(), Some(2), "--part {n}");
        assert!(stderr(&o).contains("no attachment"), "{}", stderr(&o));
    }
    let o = run(kura(&a).args(["show", TANAKA, "--part", "1", "--output", dir_s]));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
}

/// A message with one attachment whose Content-Disposition parameters are
/// `params` (raw header bytes) and whose content is `payload`.
fn with_attachment(id: &str, params: &[u8], ctype_params: &[u8], payload: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(
        format!(
            "From: Sender <sender@example.jp>\nTo: support@minato-shokai.co.jp\n\
             Subject: attachment {id}\nDate: 1 Mar 2024 10:00:00 +0900\n\
             Message-ID: <{id}>\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n\
             --BOUNDARY\nContent-Type: text/plain; charset=utf-8\n\nsee attached\n\
             --BOUNDARY\nContent-Type: application/octet-stream"
        )
        .as_bytes(),
    );
    m.extend_from_slice(ctype_params);
    m.extend_from_slice(b"\nContent-Disposition: attachment");
    m.extend_from_slice(params);
    m.extend_from_slice(
        format!("\nContent-Transfer-Encoding: 7bit\n\n{payload}\n--BOUNDARY--\n").as_bytes(),
    );
    m
}

#[test]
fn part_saves_under_the_name_show_lists() {
    let tmp = tempfile::tempdir().unwrap();
    // Old Japanese mailers put raw ISO-2022-JP in the quoted file name.
    let jis = b"; filename=\"\x1b$B@A5a=q\x1b(B.pdf\"";
    let utf8 = "; filename=\"見積書 2024年3月.pdf\"".as_bytes();
    let md = maildir(
        &tmp.path().join("src"),
        &[
            (
                "jis",
                with_attachment("jis@example.jp", jis, b"", "%PDF-1.4 jis"),
            ),
            (
                "utf8",
                with_attachment("utf8@example.jp", utf8, b"", "%PDF-1.4 utf8"),
            ),
        ],
    );
    let a = tmp.path().join("a");
    import(&a, &[&md]);
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    for (id, name) in [
        ("jis@example.jp", "請求書.pdf"),
        ("utf8@example.jp", "見積書 2024年3月.pdf"),
    ] {
        let listing = stdout(&ok(&a, &["show", id]));
        assert!(
            listing.contains(&format!(
                "Attachment: [1] {name} (application/octet-stream, "
            )),
            "{listing}"
        );
        ok(
            &a,
            &["show", id, "--part", "1", "--output", dir.to_str().unwrap()],
        );
        let saved = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{id}: {name} not saved ({e}): {:?}", snapshot(&dir)));
        assert!(saved.starts_with(b"%PDF-1.4"));
    }
}

/// Every path below `root` (not following symlinks), with its file type and content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let v = if md.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                stack.push(p.clone());
                "dir".into()
            } else {
                format!("file {:?}", std::fs::read(&p).unwrap())
            };
            out.insert(p, v);
        }
    }
    out
}

#[test]
fn hostile_attachment_names_never_escape_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // (attachment name parameters, Content-Type parameters, setup in DIR)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&[u8], &[u8], &str)> = vec![
        (b"; filename=\"../../evil.txt\"", b"", ""),
        (b"; filename=\"/etc/passwd\"", b"", ""),
        (b"; filename=\"C:\\\\evil.exe\"", b"", ""),
        (b"; filename=\"C:\\evil.exe\"", b"", ""),
        (b"; filename=\"a\0b.txt\"", b"", ""),
        (b"; filename*=UTF-8''a%00b.txt", b"", ""),
        (b"; filename=\"\x1b[31mred\x07\x08.txt\"", b"", ""),
        (
            b"; filename*=UTF-8''x%0D%0Ay%1B%5D0%3Btitle%07.txt",
            b"",
            "",
        ),
        (b"; filename*=UTF-8''..%2F..%2Fx", b"", ""),
        (b"; filename*=UTF-8''%2E%2E", b"", ""),
        (b"; filename=\"=?UTF-8?B?Li4vLi4vZXZpbC50eHQ=?=\"", b"", ""),
        (b"", b"; name=\"../../ctype.txt\"", ""),
        (b"; filename=\"..\"", b"", ""),
        (b"; filename=\".bashrc\"", b"", ""),
        (b"; filename=\"\xe2\x80\xaetxt.exe\"", b"", ""),
        (b"; filename=\"report.txt\"", b"", "symlink report.txt"),
        (b"; filename=\"dangling.txt\"", b"", "dangling dangling.txt"),
        (b"; filename=\"sub\"", b"", "dir sub"),
    ];
    let long = format!("; filename=\"{}.txt\"", "あ".repeat(300));
    let mut cases = cases;
    cases.push((long.as_bytes(), b"", ""));

    let msgs: Vec<(String, Vec<u8>)> = cases
        .iter()
        .enumerate()
        .map(|(i, (params, ct, _))| {
            let id = format!("hostile-{i}@example.jp");
            let payload = format!("payload {i}");
            (format!("h{i}"), with_attachment(&id, params, ct, &payload))
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = msgs.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let md = maildir(&tmp.path().join("src"), &refs);
    let a = tmp.path().join("a");
    let s = import(&a, &[&md]);
    assert_eq!(s["new"], cases.len(), "{s}");

    let passwd = std::fs::read("/etc/passwd").ok();
    for (i, (params, _, setup)) in cases.iter().enumerate() {
        let id = format!("hostile-{i}@example.jp");
        let what = String::from_utf8_lossy(params);
        // root/x/y/out: `../../` from DIR still lands inside root, which is watched.
        let root = tmp.path().join(format!("case{i}"));
        let outside = root.join("outside");
        let dir = root.join("x/y/out");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let victim = outside.join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        match setup.split_once(' ') {
            Some(("symlink", name)) => std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap(),
            Some(("dangling", name)) => {
                std::os::unix::fs::symlink(outside.join("created.txt"), dir.join(name)).unwrap()
            }
            Some(("dir", name)) => std::fs::create_dir(dir.join(name)).unwrap(),
            _ => {}
        }

        // The listing is terminal-safe.
        let o = ok(&a, &["show", &id]);
        let listing = stdout(&o);
        assert!(
            !listing.chars().any(|c| c.is_control() && c != '\n'),
            "{what}: control character listed: {listing:?}"
        );
        assert!(listing.contains("Attachment: [1] "), "{what}: {listing}");

        let before = snapshot(&root);
        let o = run(kura(&a)
            .current_dir(&dir)
            .args(["show", &id, "--part", "1", "--output"])
            .arg(&dir));
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        let after = snapshot(&root);

        let new: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
        assert_eq!(new.len(), 1, "{what}: exactly one new file: {new:?}");
        let written = new[0];
        assert_eq!(written.parent(), Some(dir.as_path()), "{what}: {written:?}");
        assert_eq!(
            after[written],
            format!("file {:?}", format!("payload {i}").into_bytes()),
            "{what}: content of {written:?}"
        );
        for (p, v) in &before {
            assert_eq!(after.get(p), Some(v), "{what}: {p:?} changed");
        }
        let name = written.file_name().unwrap().to_str().unwrap();
        assert!(
            !name.starts_with('.')
                && !name.contains(['/', '\\', ':'])
                && !name.chars().any(char::is_control)
                && !name.contains('\u{202e}')
                && name.len() <= 255,
            "{what}: unsafe name {name:?}"
        );
        assert!(
            stderr(&o).contains(written.to_str().unwrap()),
            "{what}: {}",
            stderr(&o)
        );
        match *setup {
            "symlink report.txt" => assert_eq!(name, "report-1.txt"),
            "dangling dangling.txt" => assert_eq!(name, "dangling-1.txt"),
            "dir sub" => assert_eq!(name, "sub-1"),
            _ => {}
        }
        if *params == b"; filename=\"..\"" {
            assert_eq!(name, "attachment-1");
        }
        if params.len() > 300 {
            // Cut to a length the file system takes, keeping the extension.
            assert!(
                name.starts_with("あああ") && name.ends_with(".txt"),
                "{name}"
            );
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert!(!outside.join("created.txt").exists());
    }
    assert_eq!(std::fs::read("/etc/passwd").ok(), passwd);
    assert!(!Path::new("/etc/passwd-1").exists() || passwd.is_none());
}

// ------------------------------------------------------------------- thread

/// Indentation depth (two spaces per level) and the rest of each line.
fn tree_lines(out: &str) -> Vec<(usize, String)> {
    out.lines()
        .filter(|l| !l.starts_with("thread "))
        .map(|l| {
            let t = l.trim_start_matches(' ');
            let n = l.len() - t.len();
            assert_eq!(n % 2, 0, "odd indentation: {l:?}");
            (n / 2, t.to_string())
        })
        .collect()
}

/// The search JSON object of one message.
fn search_object(a: &Path, id: &str) -> Value {
    let o = ok(a, &["search", "--format", "jsonl", &format!("id:{id}")]);
    serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap()
}

/// Nodes of a JSON tree in pre-order, with depth.
fn walk_json(nodes: &Value, depth: usize, out: &mut Vec<(usize, Value)>) {
    for n in nodes.as_array().unwrap() {
        out.push((depth, n.clone()));
        walk_json(&n["children"], depth + 1, out);
    }
}

#[test]
fn thread_by_thread_id_or_message_id_is_the_same_tree() {
    let a = archive();
    let t = search_object(&a, ACME_ROOT)["thread"]
        .as_str()
        .unwrap()
        .to_string();
    let by_thread = ok(&a, &["thread", &t]).stdout;
    for id in [
        ACME_ROOT.to_string(),
        format!("<{ACME_LAST}>"),
        format!("id:{ACME_LAST}"),
    ] {
        assert_eq!(ok(&a, &["thread", &id]).stdout, by_thread, "thread {id}");
    }
    let json_thread = json_of(&ok(&a, &["thread", "--format", "json", &t]));
    let json_id = json_of(&ok(&a, &["thread", "--format", "json", ACME_LAST]));
    assert_eq!(json_thread, json_id);
    assert_eq!(json_thread["thread"], t.as_str());
    assert_eq!(json_thread["messages"], 4);
    // What a query finds is an array, even of one thread.
    let q = format!("id:{ACME_LAST}");
    let found = json_of(&ok(&a, &["thread", "--query", &q, "--format", "json"]));
    assert_eq!(found, Value::Array(vec![json_thread.clone()]));
    // `--format ids`: the thread's Message-IDs, oldest first.
    let ids = stdout(&ok(&a, &["thread", "--format", "ids", &t]));
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(
        (ids.len(), ids[0], ids[3]),
        (4, ACME_ROOT, ACME_LAST),
        "{ids:?}"
    );
    // Formats a command does not have are refused, not ignored.
    for (cmd, format) in [("show", "ids"), ("show", "table"), ("thread", "table")] {
        let o = run(kura(&a).args([cmd, "--format", format, ACME_LAST]));
        assert_eq!(o.status.code(), Some(2), "{cmd} --format {format}");
    }

    // A References chain of four: one line per message, one level deeper each,
    // in date order.
    let out = stdout(&ok(&a, &["thread", &t]));
    assert!(
        out.starts_with(&format!("thread {t} (4 messages)\n")),
        "{out}"
    );
    let lines = tree_lines(&out);
    assert_eq!(
        lines.iter().map(|l| l.0).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{out}"
    );
    let dates: Vec<&str> = lines.iter().map(|l| &l.1[..16]).collect();
    assert_eq!(
        dates,
        [
            "2024-02-27 01:14",
            "2024-02-27 10:02",
            "2024-03-12 09:14",
            "2024-03-12 11:40"
        ]
    );
    assert!(
        lines[0]
            .1
            .ends_with("John Miller  Invoice INV-2024-0117 for February shipment")
    );

    // --utc: dates in UTC, in text and JSON.
    let out = stdout(&ok(&a, &["thread", "--utc", &t]));
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("2024-02-26 16:14  "),
        "{out}"
    );
    let v = json_of(&ok(&a, &["thread", "--utc", "--format", "json", &t]));
    let d = chrono::DateTime::parse_from_rfc3339(v["tree"][0]["date"].as_str().unwrap()).unwrap();
    assert_eq!(d.offset().local_minus_utc(), 0);
    assert_eq!(d.to_rfc3339(), "2024-02-26T16:14:33+00:00");

    for unknown in ["999999", "nobody@example.invalid"] {
        let o = run(kura(&a).args(["thread", unknown]));
        assert_eq!(o.status.code(), Some(2), "{unknown}");
        assert!(
            stderr(&o).contains("no thread or message"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn thread_json_nests_message_objects_like_search() {
    let e = expected();
    let a = archive();
    for group in e["threads"].as_array().unwrap() {
        let ids: BTreeSet<&str> = group
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let first = *ids.iter().next().unwrap();
        let v = json_of(&ok(&a, &["thread", "--format", "json", first]));
        assert_eq!(v["messages"], ids.len());
        let mut nodes = Vec::new();
        walk_json(&v["tree"], 0, &mut nodes);
        let got: BTreeSet<&str> = nodes
            .iter()
            .map(|(_, n)| n["message_id"].as_str().unwrap())
            .collect();
        assert_eq!(got, ids, "thread of {first}");
        assert_eq!(nodes.len(), ids.len(), "each message once");
        for (_, n) in &nodes {
            assert!(n["children"].is_array());
            assert!(n.get("missing").is_none());
            let mut want = search_object(&a, n["message_id"].as_str().unwrap());
            let mut n = n.clone();
            n.as_object_mut().unwrap().remove("children");
            // Only search has a query to centre a snippet on.
            n.as_object_mut().unwrap().remove("snippet");
            want.as_object_mut().unwrap().remove("snippet");
            assert_eq!(n, want);
        }
        // Children in date order, each after its parent.
        for (_, n) in &nodes {
            let kids: Vec<&str> = n["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["date"].as_str().unwrap())
                .collect();
            assert!(kids.windows(2).all(|w| w[0] <= w[1]), "{kids:?}");
            assert!(kids.iter().all(|d| *d >= n["date"].as_str().unwrap()));
        }
    }
    let v = json_of(&ok(&a, &["thread", "--format", "json", TANAKA]));
    let root = &v["tree"][0];
    assert_eq!(root["message_id"], TANAKA);
    assert_eq!(
        root["children"][0]["children"][0]["message_id"],
        TANAKA_REPLY
    );
}

/// A Maildir of made-up conversations: replies to a root that was never
/// imported, a reference loop, and a message that references itself.
fn odd_threads(dir: &Path) -> PathBuf {
    let p = |id, date, from, subject, refs: &[&str], body| {
        (id, plain(id, date, from, subject, refs, body))
    };
    let msgs = [
        p(
            "reply-late@example.jp",
            "4 Mar 2024 12:00:00 +0900",
            "山本 <yamamoto@example.jp>",
            "Re: 納品日のご連絡",
            &["lost-root@example.jp"],
            "承知しました。\n> 納品日は３月８日です。\n",
        ),
        p(
            "reply-early@example.jp",
            "4 Mar 2024 10:00:00 +0900",
            "中村 <nakamura@minato-shokai.co.jp>",
            "Re: 納品日のご連絡",
            &["lost-root@example.jp"],
            "ご連絡ありがとうございます。\n",
        ),
        p(
            "reply-deep@example.jp",
            "4 Mar 2024 13:00:00 +0900",
            "中村 <nakamura@minato-shokai.co.jp>",
            "Re: 納品日のご連絡",
            &["lost-root@example.jp", "reply-late@example.jp"],
            "よろしくお願いします。\n",
        ),
        p(
            "loop-a@example.jp",
            "5 Mar 2024 10:00:00 +0900",
            "Loop A <a@example.jp>",
            "ループ一",
            &["loop-b@example.jp"],
            "a\n",
        ),
        p(
            "loop-b@example.jp",
            "5 Mar 2024 11:00:00 +0900",
            "Loop B <b@example.jp>",
            "ループ二",
            &["loop-a@example.jp"],
            "b\n",
        ),
        p(
            "self@example.jp",
            "6 Mar 2024 10:00:00 +0900",
            "Self <self@example.jp>",
            "自己参照",
            &["self@example.jp", "self@example.jp"],
            "me\n",
        ),
    ];
    let refs: Vec<(&str, Vec<u8>)> = msgs
        .iter()
        .map(|(id, b)| (id.split('@').next().unwrap(), b.clone()))
        .collect();
    maildir(dir, &refs)
}

fn odd_archive() -> PathBuf {
    static ARCHIVE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let md = odd_threads(&dir.path().join("src"));
        let s = import(&dir.path().join("a"), &[&md]);
        assert_eq!(s["new"], 6, "{s}");
        dir
    });
    dir.path().join("a")
}

#[test]
fn a_missing_parent_shows_as_a_placeholder() {
    let a = odd_archive();
    let out = stdout(&ok(&a, &["thread", "reply-late@example.jp"]));
    assert!(out.starts_with("thread "), "{out}");
    assert!(
        out.lines().next().unwrap().ends_with("(3 messages)"),
        "{out}"
    );
    let lines = tree_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        (0, "[missing: <lost-root@example.jp>]".to_string())
    );
    // Siblings in date order: the earlier reply first although imported second.
    assert_eq!(lines[1].0, 1);
    assert!(
        lines[1]
            .1
            .starts_with("2024-03-04 10:00  中村  Re: 納品日のご連絡"),
        "{out}"
    );
    assert_eq!(lines[2].0, 1);
    assert!(lines[2].1.starts_with("2024-03-04 12:00  山本  "), "{out}");
    assert_eq!(lines[3].0, 2);
    assert!(lines[3].1.starts_with("2024-03-04 13:00  中村  "), "{out}");

    let v = json_of(&ok(
        &a,
        &["thread", "--format", "json", "reply-early@example.jp"],
    ));
    assert_eq!(v["messages"], 3);
    let tree = v["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0]["missing"], true);
    assert_eq!(tree[0]["message_id"], "lost-root@example.jp");
    let kids: Vec<&str> = tree[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["reply-early@example.jp", "reply-late@example.jp"]);
    let late = &tree[0]["children"][1];
    assert!(late.get("missing").is_none());
    assert_eq!(late["subject"], "Re: 納品日のご連絡");
    assert_eq!(late["children"][0]["message_id"], "reply-deep@example.jp");

    // The absent root is not a message of the archive.
    let o = run(kura(&a).args(["show", "lost-root@example.jp"]));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn reference_loops_and_self_references_terminate() {
    let a = odd_archive();
    let limit = Duration::from_secs(20);
    for (id, members) in [
        (
            "loop-a@example.jp",
            &["loop-a@example.jp", "loop-b@example.jp"][..],
        ),
        (
            "loop-b@example.jp",
            &["loop-a@example.jp", "loop-b@example.jp"][..],
        ),
        ("self@example.jp", &["self@example.jp"][..]),
    ] {
        let o = run_within(kura(&a).args(["thread", "--format", "json", id]), limit);
        assert!(o.status.success(), "thread {id}: {}", stderr(&o));
        let v = json_of(&o);
        let mut nodes = Vec::new();
        walk_json(&v["tree"], 0, &mut nodes);
        let mut got: Vec<&str> = nodes
            .iter()
            .map(|(_, n)| n["message_id"].as_str().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, members, "thread {id}: every message exactly once");
        assert_eq!(v["tree"].as_array().unwrap().len(), 1, "one root: {v}");
        assert!(nodes.iter().all(|(_, n)| n.get("missing").is_none()));

        let o = run_within(kura(&a).args(["thread", "--body", id]), limit);
        assert!(o.status.success(), "thread --body {id}: {}", stderr(&o));
        assert_eq!(
            tree_lines(&stdout(&o))
                .iter()
                .filter(|(_, l)| l.starts_with("2024-03-0"))
                .count(),
            members.len(),
            "{}",
            stdout(&o)
        );
    }
    // A self-reference makes no placeholder of the message itself.
    let out = stdout(&ok(&a, &["thread", "self@example.jp"]));
    assert!(!out.contains("[missing"), "{out}");
}

#[test]
fn a_very_deep_thread_is_flat_past_the_depth_limit() {
    // Each reply references its three predecessors; 205 levels, past the text
    // limit of 200.
    const N: usize = 205;
    let id = |i: usize| format!("deep{i}@example.jp");
    let msgs: Vec<(String, Vec<u8>)> = (0..N)
        .map(|i| {
            let refs: Vec<String> = (i.saturating_sub(3)..i).map(id).collect();
            let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
            let date = format!("1 Mar 2024 {:02}:{:02}:00 +0900", 8 + i / 60, i % 60);
            let subject = if i == 0 { "長い話" } else { "Re: 長い話" };
            let body = format!("本文 {i}\n");
            (
                format!("d{i}"),
                plain(&id(i), &date, "a@example.jp", subject, &refs, &body),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = msgs.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let tmp = tempfile::tempdir().unwrap();
    let md = maildir(&tmp.path().join("src"), &refs);
    let a = tmp.path().join("a");
    import(&a, &[&md]);

    let v = json_of(&ok(&a, &["thread", "--body", "--format", "json", &id(0)]));
    assert_eq!(v["messages"], N);
    let mut nodes = Vec::new();
    walk_json(&v["tree"], 0, &mut nodes);
    let got: Vec<&str> = nodes
        .iter()
        .map(|(_, n)| {
            n["message_id"]
                .as_str()
                .unwrap_or_else(|| panic!("not a node: {n}"))
        })
        .collect();
    let want: Vec<String> = (0..N).map(id).collect();
    assert_eq!(got, want, "every message once, in order");
    // JSON nests 50 levels, then lists the rest of the branch flat.
    for (depth, n) in &nodes {
        let i: usize = n["message_id"].as_str().unwrap()[4..]
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(*depth, i.min(51), "{n}");
        assert!(
            n["body"].as_str().unwrap().contains(&format!("本文 {i}")),
            "{n}"
        );
    }

    let out = stdout(&ok(&a, &["thread", &id(0)]));
    let lines = tree_lines(&out);
    assert_eq!(lines.len(), N);
    let depths: Vec<usize> = lines.iter().map(|l| l.0).collect();
    let want: Vec<usize> = (0..N).map(|i| i.min(200)).collect();
    assert_eq!(depths, want);
}

#[test]
fn thread_query_prints_the_thread_of_each_match() {
    let a = archive();
    let o = ok(&a, &["search", "--format", "jsonl", "請求書"]);
    let mut want: BTreeSet<String> = BTreeSet::new();
    let mut matched: BTreeSet<String> = BTreeSet::new();
    for l in stdout(&o).lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        want.insert(v["thread"].as_str().unwrap().to_string());
        matched.insert(v["message_id"].as_str().unwrap().to_string());
    }
    assert!(want.len() >= 3, "{want:?}");

    let out = stdout(&ok(&a, &["thread", "--query", "請求書"]));
    let headers: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("thread "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(headers.len(), want.len(), "each thread once: {out}");
    assert_eq!(headers.into_iter().collect::<BTreeSet<_>>(), want);

    let v = json_of(&ok(
        &a,
        &["thread", "--query", "請求書", "--format", "json"],
    ));
    let threads = v.as_array().expect("an array of threads");
    let got: BTreeSet<String> = threads
        .iter()
        .map(|t| t["thread"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    let mut nodes = Vec::new();
    for t in threads {
        walk_json(&t["tree"], 0, &mut nodes);
    }
    let shown: BTreeSet<String> = nodes
        .iter()
        .map(|(_, n)| n["message_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        shown.is_superset(&matched),
        "{matched:?} not all in {shown:?}"
    );

    // jsonl: one thread per line.
    let o = ok(&a, &["thread", "--query", "請求書", "--format", "jsonl"]);
    assert_eq!(stdout(&o).lines().count(), want.len());

    // Nothing matches: status 1, nothing printed.
    let o = run(kura(&a).args(["thread", "--query", "存在しない語句xyzzy"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    // As JSON, still an array (empty), as search prints it: a script reads
    // what it reads when something matched.
    let o = run(kura(&a).args([
        "thread",
        "--query",
        "存在しない語句xyzzy",
        "--format",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).trim(), "[]");
    let o = run(kura(&a).args([
        "thread",
        "--query",
        "存在しない語句xyzzy",
        "--format",
        "jsonl",
    ]));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

#[test]
fn thread_body_includes_the_decoded_text() {
    let a = archive();
    let out = stdout(&ok(&a, &["thread", "--body", TANAKA]));
    // The ISO-2022-JP root's text, indented below its header line.
    assert!(out.contains("\n    請求書番号：MS-2402-038\n"), "{out}");
    let plain = stdout(&ok(&a, &["thread", TANAKA]));
    assert!(!plain.contains("MS-2402-038"));
    // Every header line of the plain tree is in the body form, in the same order.
    let heads: Vec<&str> = plain.lines().skip(1).collect();
    let mut pos = 0;
    for h in &heads {
        let at = out[pos..]
            .find(&format!("{h}\n"))
            .unwrap_or_else(|| panic!("{h} missing"));
        pos += at + h.len();
    }
    // No escape from mail on stdout, even with colour off.
    let out = ok(&a, &["thread", "--body", ANSI]);
    assert!(!out.stdout.contains(&0x1b), "{}", stdout(&out));

    let v = json_of(&ok(&a, &["thread", "--body", "--format", "json", CP932]));
    let mut nodes = Vec::new();
    walk_json(&v["tree"], 0, &mut nodes);
    let root = &nodes[0].1;
    assert_eq!(root["message_id"], CP932);
    let body = root["body"].as_str().unwrap();
    for s in ["①", "髙橋", "～"] {
        assert!(body.contains(s), "{s}: {body}");
    }
    assert!(nodes.iter().all(|(_, n)| n["body"].is_string()));
    let v = json_of(&ok(&a, &["thread", "--format", "json", CP932]));
    assert!(v["tree"][0].get("body").is_none());
}

// ------------------------------------------------------------------ rejects

#[test]
fn rejects_lists_the_empty_and_garbage_files_with_reasons() {
    let a = archive();
    let out = stdout(&ok(&a, &["rejects"]));
    let lines: Vec<(&str, &str)> = out
        .lines()
        .map(|l| l.split_once('\t').expect("source TAB reason"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].0.ends_with("fixtures/broken/empty.eml"), "{out}");
    assert!(lines[1].0.ends_with("fixtures/broken/garbage.eml"), "{out}");
    assert!(lines[0].1.contains("empty"), "{out}");
    assert!(!lines[1].1.trim().is_empty());
    assert!(!out.contains("truncated-multipart"));

    let v = json_of(&ok(&a, &["rejects", "--format", "json"]));
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let by_name: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["source"].as_str().unwrap().rsplit('/').next().unwrap(), r))
        .collect();
    assert_eq!(by_name["empty.eml"]["size"], 0);
    assert_eq!(by_name["garbage.eml"]["size"], 2048);
    for r in rows {
        assert!(r["mbox_offset"].is_null());
        assert!(!r["reason"].as_str().unwrap().is_empty());
        assert!(
            chrono::DateTime::parse_from_rfc3339(r["time"].as_str().unwrap()).is_ok(),
            "{r}"
        );
        // The text line carries the same reason.
        assert!(
            out.contains(&format!("\t{}\n", r["reason"].as_str().unwrap())),
            "{out}"
        );
    }
}

#[test]
fn rejects_of_a_clean_archive_and_hostile_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("ok.eml"),
        plain(
            "ok@example.jp",
            "1 Mar 2024 10:00:00 +0900",
            "a@example.jp",
            "ok",
            &[],
            "hi\n",
        ),
    )
    .unwrap();
    let a = tmp.path().join("a");
    import(&a, &[&src]);
    let o = ok(&a, &["rejects"]);
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert_eq!(
        json_of(&ok(&a, &["rejects", "--format", "json"])),
        Value::Array(vec![])
    );

    // A rejected file whose name holds a terminal escape is listed without it.
    let bad = src.join("bad\u{1b}[2Jname\u{7}.eml");
    std::fs::write(&bad, b"\0\x01\x02 not mail at all").unwrap();
    import(&a, &[&src]);
    let o = ok(&a, &["rejects"]);
    assert!(!o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07));
    assert!(stdout(&o).contains("/badname.eml\t"), "{}", stdout(&o));
    let v = json_of(&ok(&a, &["rejects", "--format", "json"]));
    assert_eq!(v[0]["source"], bad.to_str().unwrap());
}
