//! Mail bodies decoded end to end, as `import`, `count` and `show` see them:
//! `format=flowed` text (RFC 3676), a multipart whose closing boundary is
//! missing, and Latin-1 text under a UTF-8 label or in a raw 8-bit header (and
//! the content hashes of archives that read it otherwise); Date: headers
//! with a zone RFC 5322 does not name, or none, or in another form; and the
//! line after a Date that mail-parser's date parser runs past.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn show(archive: &Path, args: &[&str]) -> String {
    let o = run(kura(archive).arg("show").args(args));
    assert!(o.status.success(), "show {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// An HTML-only reply as Outlook and web mailers send it: every line a
/// `<div>` or `<p>`, the earlier message below a rule and a header block or
/// in a `<blockquote>`. Words of two blocks are two words (they were glued:
/// `works.Mori`), and what the reply quotes is `quoted:`, not `unquoted:`.
#[test]
fn html_only_mail_keeps_its_blocks_apart_and_its_quotes_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let html = "<html><head><style>p{margin:0}</style></head><body>\
<div>Thanks, Friday works.</div><div>Mori</div><p class=MsoNormal>請求書は<b>来週</b>お送りします。</p>\
<div id=\"divRplyFwdMsg\"><hr><b>差出人:</b> 山田 太郎 &lt;yamada@minato-shokai.co.jp&gt;<br>\
<b>送信日時:</b> 2024年3月4日 9:00<br><b>宛先:</b> Mori<br><b>件名:</b> 出荷日</div>\
<div>Can we ship on Friday?</div><blockquote><div>Earlier question</div><div>cargo details</div></blockquote>\
<table><tr><td>Item</td><td>Qty</td></tr><tr><td>bolts</td><td>400</td></tr></table></body></html>";
    let raw = format!(
        "From: Ken Mori <mori@acme.example>\r\nTo: info@minato-shokai.co.jp\r\n\
Subject: Re: 出荷日\r\nMessage-ID: <html.reply@acme.example>\r\nDate: Mon, 4 Mar 2024 10:12:03 +0900\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n{html}\r\n"
    );
    let eml = write(&tmp.path().join("src"), "reply.eml", raw.as_bytes());
    let a = tmp.path().join("a");
    let s = import(&a, &[&eml]);
    assert_eq!(s["new"], 1, "{s}");
    for word in [
        "Mori",
        "works",
        "Friday",
        "details",
        "cargo",
        "bolts",
        "Qty",
        "請求書",
        "来週",
    ] {
        assert_eq!(count(&a, word), 1, "{word}");
    }
    assert_eq!(count(&a, "worksmori"), 0);
    assert_eq!(count(&a, "unquoted:Mori"), 1);
    assert_eq!(count(&a, "unquoted:請求書"), 1);
    for word in ["ship", "cargo", "bolts", "送信日時"] {
        assert_eq!(count(&a, &format!("unquoted:{word}")), 0, "{word}");
        assert_eq!(count(&a, &format!("quoted:{word}")), 1, "{word}");
    }
    let own = show(&a, &["--unquoted", "html.reply@acme.example"]);
    let own = own.split_once("\n\n").map_or("", |(_, b)| b.trim());
    assert_eq!(
        own,
        "Thanks, Friday works.\nMori\n請求書は来週お送りします。"
    );
    let all = show(&a, &["html.reply@acme.example"]);
    assert!(
        all.contains("\n> Earlier question\n> cargo details\n"),
        "{all}"
    );
    assert!(
        all.contains("\n差出人: 山田 太郎 <yamada@minato-shokai.co.jp>\n"),
        "{all}"
    );
}

/// What an HTML-only mail shows its reader is what is found and shown: an
/// image's alt text (a signature's logo, Gmail's emoji), the text after an
/// empty comment `<!-->` (it hid all up to the next `-->`), entities
/// written without their `;`; and a table whose cells are paragraphs, as
/// Outlook writes them, reads a row to a line.
#[test]
fn html_only_mail_shows_alt_text_text_after_an_empty_comment_and_a_row_to_a_line() {
    let tmp = tempfile::tempdir().unwrap();
    let html = "<html><body><p class=MsoNormal>お見積りを添付します<img alt=\"🙇\" src=\"https://x.example/1f647.png\"><o:p></o:p></p>\
<!--><p class=MsoNormal>納期は来週です。</p><!-- 旧版の文面 -->\
<table><tr><td><p class=MsoNormal>品名<o:p></o:p></p></td><td><p class=MsoNormal>数量<o:p></o:p></p></td></tr>\
<tr><td><p class=MsoNormal>ボルト<o:p></o:p></p></td><td><p class=MsoNormal>400<o:p></o:p></p></td></tr></table>\
<p class=MsoNormal>Tanaka &amp Sons&nbsp;&copy 2024</p>\
<p class=MsoNormal><img width=120 src=\"cid:image001.png@01DA6E2F.12345670\" alt=\"Minato Shokai\"></p></body></html>";
    let raw = format!(
        "From: Ken Mori <mori@acme.example>\r\nTo: info@minato-shokai.co.jp\r\n\
Subject: 見積\r\nMessage-ID: <html.quote@acme.example>\r\nDate: Mon, 4 Mar 2024 10:12:03 +0900\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n{html}\r\n"
    );
    let eml = write(&tmp.path().join("src"), "quote.eml", raw.as_bytes());
    let a = tmp.path().join("a");
    let s = import(&a, &[&eml]);
    assert_eq!(s["new"], 1, "{s}");
    for word in ["納期", "来週", "Shokai", "Sons", "ボルト"] {
        assert_eq!(count(&a, word), 1, "{word}");
    }
    assert_eq!(count(&a, "旧版"), 0);
    let body = show(&a, &["html.quote@acme.example"]);
    let body = body.split_once("\n\n").map_or("", |(_, b)| b.trim());
    // The tab between two cells is a space on the terminal.
    assert_eq!(
        body,
        "お見積りを添付します🙇\n納期は来週です。\n品名 数量\nボルト 400\n\
         Tanaka & Sons © 2024\nMinato Shokai"
    );
}

/// Thunderbird's Japanese mail: ISO-2022-JP, `format=flowed; delsp=yes`,
/// long lines soft-broken with a trailing space that is not part of the
/// text. A word soft-broken is found and shown whole, in quoted lines too;
/// one broken by a hard line break is not joined (the line is too short for
/// the tokenizer to take it for a wrapped one); the original is kept as sent.
#[test]
fn a_word_soft_broken_by_format_flowed_is_found_and_shown_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let body = "見積と請求 \r\n書です。\r\n納品\r\n書は別送します。\r\n\r\n\
                > 前回の御見 \r\n> 積書\r\n-- \r\n山田\r\n";
    let (jis, _, unmappable) = encoding_rs::ISO_2022_JP.encode(body);
    assert!(!unmappable);
    let mut raw = b"From: yamada@example.jp\r\nTo: info@example.co.jp\r\n\
Subject: flowed\r\nMessage-ID: <flowed@example.jp>\r\nDate: Mon, 4 Mar 2024 10:12:03 +0900\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=ISO-2022-JP; format=flowed; delsp=yes\r\n\
Content-Transfer-Encoding: 7bit\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(&jis);
    let eml = write(&tmp.path().join("src"), "flowed.eml", &raw);
    let a = tmp.path().join("a");
    let s = import(&a, &[&eml]);
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(count(&a, "請求書"), 1);
    assert_eq!(count(&a, "御見積書"), 1);
    assert_eq!(count(&a, "納品書"), 0);
    let out = show(&a, &["flowed@example.jp"]);
    let body: Vec<&str> = out
        .split_once("\n\n")
        .map_or("", |(_, b)| b.trim_end())
        .lines()
        .map(str::trim_end)
        .collect();
    assert_eq!(
        body,
        [
            "見積と請求書です。",
            "納品",
            "書は別送します。",
            "",
            "> 前回の御見積書",
            "--",
            "山田"
        ],
        "{out}"
    );
    let o = run(kura(&a).args(["show", "--raw", "flowed@example.jp"]));
    assert_eq!(o.stdout, raw);
}

/// A multipart/mixed mail whose closing boundary is missing: mail-parser
/// lists its last part as a nameless attachment; kura indexes and shows it
/// as the text it is.
#[test]
fn the_text_of_a_multipart_left_open_is_found_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let open = "From: a@x.example\nSubject: u\nMessage-ID: <u@x.example>\n\
                Content-Type: multipart/mixed; boundary=Z\n\n--Z\n\
                Content-Type: text/plain; charset=utf-8\n\n請求書 です\n";
    let closed = format!(
        "{}\n--Z--\n",
        open.replace("<u@x.example>", "<closed@x.example>")
    );
    let src = tmp.path().join("src");
    let u = write(&src, "u.eml", open.as_bytes());
    let c = write(&src, "c.eml", closed.as_bytes());
    let a = tmp.path().join("a");
    let s = import(&a, &[&u, &c]);
    assert_eq!(s["new"], 2, "{s}");
    assert_eq!(
        ids(&a, "請求書"),
        ["closed@x.example", "u@x.example"],
        "both found"
    );
    assert_eq!(count(&a, "has:attachment"), 0);
    for id in ["u@x.example", "closed@x.example"] {
        let out = show(&a, &[id]);
        assert!(!out.contains("Attachment:"), "{id}: {out}");
        assert!(out.contains("\n請求書 です"), "{id}: {out}");
        let json: serde_json::Value =
            serde_json::from_str(&show(&a, &["--format", "json", id])).unwrap();
        assert_eq!(json["attachments"], serde_json::json!([]), "{id}: {json}");
        assert_eq!(
            json["body"].as_str().map(str::trim_end),
            Some("請求書 です")
        );
    }
}

/// Earlier versions listed the text of a multipart left open as a nameless
/// attachment, and recorded it so. `kura reindex` reads every original
/// anew: the attachments recorded follow the new reading (`show` lists what
/// it can extract), and so do the index's `has:attachment` and the text.
/// A list that was right is left alone; a second rebuild changes nothing.
#[test]
fn reindex_brings_attachments_recorded_by_an_earlier_version_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let open = write(
        &src,
        "open.eml",
        b"From: a@x.example\nSubject: u\nMessage-ID: <u@x.example>\n\
Content-Type: multipart/mixed; boundary=Z\n\n--Z\n\
Content-Type: text/plain; charset=utf-8\n\n\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8 \xe3\x81\xa7\xe3\x81\x99\n",
    );
    let pdf = write(
        &src,
        "pdf.eml",
        b"From: a@x.example\nSubject: p\nMessage-ID: <p@x.example>\n\
Content-Type: multipart/mixed; boundary=Z\n\n--Z\n\
Content-Type: text/plain\n\nsee the file\n--Z\n\
Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n\
JVBERi0xLjQK\n--Z--\n",
    );
    let a = tmp.path().join("a");
    let s = import(&a, &[&open, &pdf]);
    assert_eq!(s["new"], 2, "{s}");
    let attachments = |id: &str| {
        let json: serde_json::Value =
            serde_json::from_str(&show(&a, &["--format", "json", id])).unwrap();
        json["attachments"].clone()
    };
    let pdf_list = attachments("p@x.example");
    assert_eq!(pdf_list[0]["filename"], "a.pdf", "{pdf_list}");

    // As an earlier version recorded the open multipart, and indexed it
    // (an index rebuilt from those rows would have it under has:attachment).
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    let row: i64 = db
        .query_row(
            "SELECT id FROM messages WHERE message_id = 'u@x.example'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute_batch(&format!(
        "INSERT INTO attachments (message, position, filename, mime, size) \
         VALUES ({row}, 0, '', 'text/plain', 16);
         UPDATE messages SET attachments = 1 WHERE id = {row};"
    ))
    .unwrap();
    drop(db);
    assert_eq!(
        attachments("u@x.example")[0]["mime"],
        "text/plain",
        "the stale row is what show lists"
    );

    let said = reindex(&a);
    assert!(
        said.contains("2 messages indexed, the attachments of 1 brought up to date"),
        "{said}"
    );
    assert_eq!(attachments("u@x.example"), serde_json::json!([]));
    assert_eq!(attachments("p@x.example"), pdf_list, "a right list stays");
    assert_eq!(ids(&a, "has:attachment"), ["p@x.example"]);
    assert_eq!(ids(&a, "請求書"), ["u@x.example"]);
    let n: i64 = rusqlite::Connection::open(a.join("kura.sqlite"))
        .unwrap()
        .query_row(
            "SELECT attachments FROM messages WHERE id = ?1",
            [row],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0, "the count follows the list");

    let said = reindex(&a);
    assert!(
        !said.contains("attachments"),
        "nothing left to update: {said}"
    );
    let o = run(kura(&a).arg("check"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// A German mail with a raw 8-bit Latin-1 Subject.
fn hasen(dir: &Path) -> PathBuf {
    write(
        &dir.join("cur"),
        "1.host:2,S",
        b"From: Doug <d@example.com>\r\nTo: s@example.com\r\n\
          Subject: Die Hasen und die Fr\xF6sche\r\nMessage-ID: <hasen@example.com>\r\n\
          Date: Wed, 17 May 2000 23:30:41 -0400\r\nMIME-Version: 1.0\r\n\
          Content-Type: text/plain; charset=UTF-8\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\n\
          Die Hasen klagten einst =FCber ihre mi=DFliche Lage.\r\n",
    );
    dir.to_path_buf()
}

/// An old client's German mail: Latin-1 body under a UTF-8 label, and a raw
/// 8-bit Latin-1 Subject. Neither is UTF-8 nor Japanese; read as Latin-1,
/// its words are found and shown, not lost to U+FFFD. Japanese raw 8-bit
/// text (Shift_JIS) beside it still reads as Japanese.
#[test]
fn latin1_under_a_utf8_label_and_in_raw_headers_is_found_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let md = hasen(&tmp.path().join("md"));
    let mut sjis = b"From: a@x.example\r\nSubject: ".to_vec();
    sjis.extend(encoding_rs::SHIFT_JIS.encode("お見積もりの件").0.iter());
    sjis.extend(b"\r\nMessage-ID: <mitsumori@x.example>\r\n\r\nbody\r\n");
    write(&md.join("cur"), "2.host:2,S", &sjis);
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&md])["new"], 2);
    for word in ["Frösche", "über", "mißliche"] {
        assert_eq!(ids(&archive, word), ["hasen@example.com"], "{word}");
    }
    assert_eq!(ids(&archive, "見積"), ["mitsumori@x.example"]);
    let out = show(&archive, &["hasen@example.com"]);
    assert!(
        out.contains("Subject:    Die Hasen und die Frösche"),
        "{out}"
    );
    assert!(
        out.contains("Die Hasen klagten einst über ihre mißliche Lage."),
        "{out}"
    );
    assert!(!out.contains('\u{FFFD}'), "{out}");
}

/// A web form's inquiry from a misconfigured form mailer: Shift_JIS text,
/// name and Subject, all labelled ISO-8859-1 (which reads any bytes, so
/// mail-parser showed `‚¨Œ©Ï‚è`), and EUC-JP text so labelled. Read as
/// Japanese: found by 請求書 and shown as written, not found by 要求書. A
/// German mail under the same label beside them stays Latin-1.
#[test]
fn japanese_under_a_latin_label_is_found_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = tmp.path().join("md/cur");
    // An RFC 2047 Q-encoded word of `text` in `charset`, labelled ISO-8859-1.
    let word = |text: &str, charset: &'static encoding_rs::Encoding| {
        let bytes = charset.encode(text).0;
        let hex: String = bytes.iter().map(|b| format!("={b:02X}")).collect();
        format!("=?ISO-8859-1?Q?{hex}?=")
    };
    let mail = |name: &str, from: String, subject: String, id: &str, body: &[u8]| {
        let mut raw = format!(
            "From: {from}\r\nTo: info@minato.example\r\nSubject: {subject}\r\n\
             Message-ID: <{id}>\r\nDate: Mon, 15 Jan 2024 10:00:00 +0900\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=ISO-8859-1\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(body);
        write(&cur, name, &raw);
    };
    let sjis = encoding_rs::SHIFT_JIS;
    mail(
        "1.host:2,S",
        format!("{} <yamada@kyowa.example>", word("山田 太郎", sjis)),
        // Bytes windows-1252 reads all (no U+FFFD to give it away).
        word("納期について", sjis),
        "form@kyowa.example",
        &sjis
            .encode("お世話になっております。先月分の請求書を再発行していただけますか。\r\n")
            .0,
    );
    // EUC-JP, from an old Unix form mailer: every byte reads as Latin-1.
    mail(
        "3.host:2,S",
        "form@tohoku.example".to_string(),
        "Inquiry".to_string(),
        "euc@tohoku.example",
        &encoding_rs::EUC_JP.encode("見積書をお送りください。\r\n").0,
    );
    let latin = encoding_rs::WINDOWS_1252;
    mail(
        "2.host:2,S",
        format!("{} <j@koeln.example>", word("Jürgen Schmürgen", latin)),
        word("Grüße aus Köln", latin),
        "gruesse@koeln.example",
        &latin
            .encode("Die Hasen klagten einst über ihre mißliche Lage.\r\n")
            .0,
    );
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&tmp.path().join("md")])["new"], 3);
    assert_eq!(ids(&archive, "請求書"), ["form@kyowa.example"]);
    assert_eq!(ids(&archive, "見積書"), ["euc@tohoku.example"]);
    assert_eq!(ids(&archive, "subject:納期"), ["form@kyowa.example"]);
    assert_eq!(ids(&archive, "from:山田太郎"), ["form@kyowa.example"]);
    assert_eq!(count(&archive, "要求書"), 0);
    let out = show(&archive, &["form@kyowa.example"]);
    for shown in [
        "Subject:    納期について",
        "山田 太郎 <yamada@kyowa.example>",
        "先月分の請求書を再発行していただけますか。",
    ] {
        assert!(out.contains(shown), "{shown}: {out}");
    }
    for word in ["mißliche", "subject:Grüße", "from:Schmürgen"] {
        assert_eq!(ids(&archive, word), ["gruesse@koeln.example"], "{word}");
    }
    let out = show(&archive, &["gruesse@koeln.example"]);
    assert!(out.contains("Subject:    Grüße aus Köln"), "{out}");
}

/// A Subject an earlier version read otherwise (U+FFFD for the Latin-1
/// byte), and the content hash computed from it: `reindex` brings both up to
/// date, so that `show` and search results list the Subject as it reads now,
/// and a later copy of the message is a duplicate, not a conflict.
#[test]
fn a_reindex_brings_a_subject_read_otherwise_before_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    assert_eq!(
        import(&archive, &[&hasen(&tmp.path().join("md"))])["new"],
        1
    );
    let subject = |archive: &Path| -> String {
        let json: serde_json::Value =
            serde_json::from_str(&show(archive, &["--format", "json", "hasen@example.com"]))
                .unwrap();
        json["subject"].as_str().unwrap().to_owned()
    };
    assert_eq!(subject(&archive), "Die Hasen und die Frösche");
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET subject = 'Die Hasen und die Fr\u{FFFD}sche',
             subject_norm = 'die hasen und die fr\u{FFFD}sche', content_hash = zeroblob(32);",
    )
    .unwrap();
    drop(db);
    assert_eq!(subject(&archive), "Die Hasen und die Fr\u{FFFD}sche");

    let said = reindex(&archive);
    assert!(
        said.contains("1 messages indexed, the subjects of 1 brought up to date"),
        "{said}"
    );
    assert_eq!(subject(&archive), "Die Hasen und die Frösche");
    let o = run(kura(&archive).args(["search", "--format", "json", "subject:Frösche"]));
    assert!(
        stdout(&o).contains("\"subject\":\"Die Hasen und die Frösche\""),
        "{}",
        stdout(&o)
    );
    // The same mail again, from another export: a duplicate.
    let s = import(&archive, &[&hasen(&tmp.path().join("other"))]);
    assert_eq!(
        (&s["duplicates"], &s["conflicts"]),
        (&1.into(), &0.into()),
        "{s}"
    );
    let said = reindex(&archive);
    assert!(
        !said.contains("brought up to date"),
        "nothing left to update: {said}"
    );
}

/// An archive written before its Latin-1 Subject read as Latin-1 (version 2
/// of the content hash, which read it with U+FFFD) has its hashes
/// recomputed by the first command that writes to it: a later copy of the
/// mail (another Received line, from another export) is a duplicate, not a
/// conflict, without a `kura reindex` first.
#[test]
fn content_hashes_of_headers_read_otherwise_before_are_upgraded() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    assert_eq!(
        import(&archive, &[&hasen(&tmp.path().join("md"))])["new"],
        1
    );
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET content_hash = zeroblob(32);
         UPDATE meta SET value = '2' WHERE key = 'content_hash'",
    )
    .unwrap();
    drop(db);
    let original = std::fs::read(hasen(&tmp.path().join("md")).join("cur/1.host:2,S")).unwrap();
    let mut copy = b"Received: from relay.example.com by mx.example.com;\r\n \
                     Wed, 17 May 2000 23:31:02 -0400\r\n"
        .to_vec();
    copy.extend(original);
    let other = tmp.path().join("other");
    write(&other.join("cur"), "2.host:2,S", &copy);
    let s = import(&archive, &[&other]);
    assert_eq!(
        (&s["duplicates"], &s["conflicts"]),
        (&1.into(), &0.into()),
        "{s}"
    );
}

/// The messages of `archive` grouped by thread (Message-IDs, sorted), and
/// its reference-less replies (Message-ID and normalised subject).
fn threads_and_refless(archive: &Path) -> (Vec<Vec<String>>, Vec<(String, String)>) {
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    let mut by_thread: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    let mut q = db
        .prepare("SELECT thread, message_id FROM messages ORDER BY message_id")
        .unwrap();
    for row in q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap() {
        let (thread, id): (i64, String) = row.unwrap();
        by_thread.entry(thread).or_default().push(id);
    }
    let mut threads: Vec<Vec<String>> = by_thread.into_values().collect();
    threads.sort();
    let mut q = db
        .prepare(
            "SELECT m.message_id, r.subject_norm FROM refless_replies r
             JOIN messages m ON m.id = r.message ORDER BY 1",
        )
        .unwrap();
    let refless = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (threads, refless)
}

/// A Subject brought up to date leaves the recorded date, and where it came
/// from, alone when this version's reading of the original gives no date of
/// its own (an earlier version read a Received line this one does not).
#[test]
fn a_subject_brought_up_to_date_keeps_the_recorded_date() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    write(
        &md.join("cur"),
        "1.host:2,S",
        b"From: d@example.com\r\nSubject: Die Hasen und die Fr\xF6sche\r\n\
          Message-ID: <nodate@example.com>\r\n\r\nhi\r\n",
    );
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&md])["new"], 1);
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET subject = 'Die Hasen und die Fr\u{FFFD}sche',
             subject_norm = 'die hasen und die fr\u{FFFD}sche', date = 1000000000,
             date_source = 'received';",
    )
    .unwrap();
    let said = reindex(&archive);
    assert!(
        said.contains("the subjects of 1 brought up to date"),
        "{said}"
    );
    assert!(!said.contains("dates"), "{said}");
    let (subject, date, source): (String, i64, String) = db
        .query_row("SELECT subject, date, date_source FROM messages", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (subject.as_str(), date, source.as_str()),
        ("Die Hasen und die Frösche", 1_000_000_000, "received")
    );
}

/// Subjects an earlier version read otherwise: a raw Latin-1 Subject (read
/// with U+FFFD, so that a reference-less reply whose Subject is an RFC 2047
/// word was not taken for a reply to it), and a reply whose `Re:` that
/// version did not read. Once `reindex` brings the subjects up to date, the
/// threads and the reference-less replies are those a fresh import makes:
/// the reply joins its original, a message of the same Subject between
/// other people stays apart, and the reply whose prefix is read now is
/// found by the subject fallback of a later import.
#[test]
fn a_reindex_threads_the_subjects_it_brings_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let cur = md.join("cur");
    write(
        &cur,
        "1.host:2,S",
        b"From: a@x.example\r\nTo: b@y.example\r\n\
          Subject: Die Hasen und die Fr\xF6sche\r\nMessage-ID: <orig@x.example>\r\n\
          Date: Wed, 17 May 2000 10:00:00 +0000\r\n\r\nhi\r\n",
    );
    write(
        &cur,
        "2.host:2,S",
        b"From: b@y.example\r\nTo: a@x.example\r\n\
          Subject: Re: =?iso-8859-1?Q?Die_Hasen_und_die_Fr=F6sche?=\r\n\
          Message-ID: <reply@y.example>\r\n\
          Date: Wed, 17 May 2000 11:00:00 +0000\r\n\r\nho\r\n",
    );
    write(
        &cur,
        "3.host:2,S",
        b"From: c@z.example\r\nTo: d@w.example\r\n\
          Subject: Re: Die Hasen und die Fr\xF6sche\r\nMessage-ID: <other@z.example>\r\n\
          Date: Wed, 17 May 2000 12:00:00 +0000\r\n\r\nelsewhere\r\n",
    );
    write(
        &cur,
        "4.host:2,S",
        b"From: e@v.example\r\nTo: f@u.example\r\nSubject: Re: Angebot\r\n\
          Message-ID: <angebot-re@v.example>\r\n\
          Date: Thu, 18 May 2000 10:00:00 +0000\r\n\r\nja\r\n",
    );
    let fresh = tmp.path().join("fresh");
    assert_eq!(import(&fresh, &[&md])["new"], 4);
    let want = threads_and_refless(&fresh);
    assert_eq!(want.0.len(), 3, "{want:?}");

    // As the earlier version recorded them: each message in a thread of its
    // own, the subjects read otherwise.
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&md])["new"], 4);
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET thread = 100 + id;
         UPDATE messages SET subject = 'Die Hasen und die Fr\u{FFFD}sche',
             subject_norm = 'die hasen und die fr\u{FFFD}sche'
             WHERE message_id = 'orig@x.example';
         UPDATE messages SET subject = 'Re: Die Hasen und die Fr\u{FFFD}sche',
             subject_norm = 'die hasen und die fr\u{FFFD}sche'
             WHERE message_id = 'other@z.example';
         UPDATE refless_replies SET subject_norm = 'die hasen und die fr\u{FFFD}sche'
             WHERE message = (SELECT id FROM messages WHERE message_id = 'other@z.example');
         UPDATE messages SET subject = '=?x?Q?Re:_Angebot?=',
             subject_norm = '=?x?q?re:_angebot?=', is_reply = 0
             WHERE message_id = 'angebot-re@v.example';
         DELETE FROM refless_replies
             WHERE message = (SELECT id FROM messages WHERE message_id = 'angebot-re@v.example');",
    )
    .unwrap();
    drop(db);
    assert_ne!(threads_and_refless(&archive), want);

    let said = reindex(&archive);
    assert!(
        said.contains("the subjects of 3 brought up to date"),
        "{said}"
    );
    assert_eq!(threads_and_refless(&archive), want);
    let o = run(kura(&archive).arg("check"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// Customer inquiries from web forms carry dates as PHP writes them: a zone
/// named outside RFC 5322's list (`JST`, which mail-parser reads as +0000,
/// nine hours late) or no zone at all (which it cannot read: the file time
/// stood in). Both are read as the sender meant: `JST` as +0900, no zone as
/// the local time zone (`TZ`). A search by day finds them on the day they
/// were sent, and a reference-less reply a day later joins the zone-less
/// inquiry's thread. An archive an earlier version wrote with those dates
/// read otherwise is brought up to date by `kura reindex`.
#[test]
fn dates_with_a_named_zone_or_none_are_read_as_the_sender_meant() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let cur = md.join("cur");
    let mail = |name: &str, from: &str, to: &str, subject: &str, id: &str, date: &str| {
        let p = write(
            &cur,
            name,
            format!(
                "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
                 Date: {date}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nbody\r\n"
            )
            .as_bytes(),
        );
        // Years before the mail: a date taken from the file time is far off.
        set_mtime(
            &p,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800),
        );
    };
    let (customer, shop) = ("form@kyowa.example", "info@minato.example");
    mail(
        "1.host:2,S",
        customer,
        shop,
        "お見積りのお願い",
        "named@kyowa.example",
        "Mon, 15 Jan 2024 23:30:00 JST",
    );
    mail(
        "2.host:2,S",
        customer,
        shop,
        "納期について",
        "zoneless@kyowa.example",
        "Mon, 15 Jan 2024 23:30:00",
    );
    mail(
        "3.host:2,S",
        shop,
        customer,
        "Re: 納期について",
        "reply@minato.example",
        "Tue, 16 Jan 2024 09:00:00 +0900",
    );
    mail(
        "4.host:2,S",
        customer,
        shop,
        "カタログ送付",
        "numeric@kyowa.example",
        "Mon, 15 Jan 2024 23:30:00 +0900 (JST)",
    );
    let dates = |archive: &Path, tz: &str| {
        let mut cmd = kura(archive);
        cmd.env("TZ", tz);
        dates_by(cmd, "message_id")
    };
    let want = |zoneless: &str| -> Vec<(String, String)> {
        [
            ("named@kyowa.example", "2024-01-15T14:30:00Z"),
            ("numeric@kyowa.example", "2024-01-15T14:30:00Z"),
            ("reply@minato.example", "2024-01-16T00:00:00Z"),
            ("zoneless@kyowa.example", zoneless),
        ]
        .map(|(id, date)| (id.to_string(), date.to_string()))
        .to_vec()
    };

    // Imported in Japan (the tests' TZ): the three were sent on 15 January.
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&md])["new"], 4);
    assert_eq!(dates(&archive, "JST-9"), want("2024-01-15T14:30:00Z"));
    assert_eq!(count(&archive, "date:2024-01-15"), 3);
    let fresh = threads_and_refless(&archive);
    assert!(
        fresh.0.contains(&vec![
            "reply@minato.example".to_string(),
            "zoneless@kyowa.example".to_string()
        ]),
        "{fresh:?}"
    );
    // Imported where the local zone is UTC, the zone-less date is UTC's.
    let utc = tmp.path().join("utc");
    let o = run(kura(&utc).env("TZ", "UTC0").arg("import").arg(&md));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(dates(&utc, "UTC0"), want("2024-01-15T23:30:00Z"));

    // As an earlier version recorded them: `JST` read as +0000, the zone-less
    // date taken from the file time, each message in a thread of its own.
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET thread = 100 + id;
         UPDATE messages SET date = 1705361400 WHERE message_id = 'named@kyowa.example';
         UPDATE messages SET date = 1577836800, date_source = 'file'
             WHERE message_id = 'zoneless@kyowa.example';",
    )
    .unwrap();
    drop(db);
    let before = dates(&archive, "JST-9");
    assert_eq!(before[0].1, "2024-01-15T23:30:00Z");
    assert_eq!(before[3].1, "2020-01-01T00:00:00Z");
    let said = reindex(&archive);
    assert!(said.contains("the dates of 2 brought up to date"), "{said}");
    assert_eq!(dates(&archive, "JST-9"), want("2024-01-15T14:30:00Z"));
    assert_eq!(count(&archive, "date:2024-01-15"), 3);
    assert_eq!(threads_and_refless(&archive), fresh);
    let o = run(kura(&archive).arg("check"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let said = reindex(&archive);
    assert!(!said.contains("brought up to date"), "nothing left: {said}");
    // A reindex where the local zone is another keeps the zone-less date
    // as the import read it (the one with a Received: date never moved).
    let o = run(kura(&archive).env("TZ", "UTC0").arg("reindex"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("brought up to date"), "{}", stderr(&o));
    assert_eq!(dates(&archive, "JST-9"), want("2024-01-15T14:30:00Z"));
    assert_eq!(count(&archive, "date:2024-01-15"), 3);
}

/// Dates scripts and older mailers write outside RFC 5322's form: a PHP form
/// mailer's `date('Y/m/d H:i:s')` (no zone: the local one), date(1) in a
/// shell script, ISO 8601, a Java mailer's `GMT+09:00`. Each is the date
/// it says, from the Date header, not the file's time; a copy whose Date a
/// gateway rewrote in RFC 5322's form is a duplicate, not a conflict; and
/// an archive an earlier version wrote with those dates taken from the
/// file time is brought up to date by `kura reindex`.
#[test]
fn dates_outside_rfc_5322s_form_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = tmp.path().join("md").join("cur");
    let forms = [
        ("slashed", "2024/01/15(月) 23:30:00"),
        ("date1", "Mon Jan 15 23:30:00 JST 2024"),
        ("iso", "2024-01-15T23:30:00+09:00"),
        ("java", "Mon, 15 Jan 2024 23:30:00 GMT+09:00"),
        ("rewritten", "Mon, 15 Jan 2024 14:30:00 +0000"),
    ];
    for (n, (id, date)) in forms.iter().enumerate() {
        // The gateway's copy is of date(1)'s mail. (A date without a zone
        // is not the same as one with: it depends on whose clock it is.)
        let id = if *id == "rewritten" { "date1" } else { id };
        let p = write(
            &cur,
            &format!("{n}.host:2,S"),
            format!(
                "From: form@kyowa.example\r\nTo: info@minato.example\r\n\
                 Subject: =?UTF-8?B?5ZWP44GE5ZCI44KP44Gb?=\r\nMessage-ID: <{id}@kyowa.example>\r\n\
                 Date: {date}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nbody\r\n"
            )
            .as_bytes(),
        );
        set_mtime(
            &p,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800),
        );
    }
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&tmp.path().join("md")]);
    assert_eq!(
        (
            s["new"].as_u64(),
            s["duplicates"].as_u64(),
            s["conflicts"].as_u64()
        ),
        (Some(4), Some(1), Some(0)),
        "{s}"
    );
    let want: Vec<(String, String)> = ["date1", "iso", "java", "slashed"]
        .map(|id| {
            (
                format!("{id}@kyowa.example"),
                "2024-01-15T14:30:00Z".to_string(),
            )
        })
        .to_vec();
    assert_eq!(dates_by(kura(&archive), "message_id"), want);
    assert_eq!(count(&archive, "date:2024-01-15"), 4);

    // As an earlier version recorded them: dated by the file.
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute(
        "UPDATE messages SET date = 1577836800, date_source = 'file'",
        [],
    )
    .unwrap();
    let said = reindex(&archive);
    assert!(said.contains("the dates of 4 brought up to date"), "{said}");
    assert_eq!(dates_by(kura(&archive), "message_id"), want);
    let sources: Vec<String> = db
        .prepare("SELECT date_source FROM messages")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The form mailer's has no zone, and no Received: date to place it by.
    let mut sources = sources;
    sources.sort();
    assert_eq!(
        sources,
        ["date", "date", "date", "date-local"],
        "taken from the Date header"
    );
}

/// mail-parser's date parser runs past a Date ending in a one-letter zone
/// (`Z`) and, on LF-ended mail, in a two-letter word (`UT`, `am`), and takes
/// the next line for part of the date. Earlier versions lost that line: the
/// From after such a Date, a Message-ID (the message got a synthetic id),
/// or, when the Date was the last header, the body's first lines. kura reads
/// them; a copy of such a message stored by an earlier version, under the id
/// it gave, is a duplicate of it, and `reindex` brings what it recorded up
/// to date.
#[test]
fn the_line_after_a_date_ending_in_a_short_zone_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let mails = [
        "From: Tanaka <tanaka@kyowa.example>\nTo: info@minato.example\nSubject: invoice\n\
         Date: Mon, 15 Jan 2024 10:00:00 Z\nMessage-ID: <run-past@kyowa.example>\n\n\
         Please send the invoice.\n",
        "Date: Tue, 16 Jan 2024 09:30:00 UT\nFrom: Suzuki <suzuki@kyowa.example>\n\
         To: info@minato.example\nSubject: no id\n\nNo Message-ID here.\n",
        "From: Sato <sato@kyowa.example>\nTo: info@minato.example\nSubject: last\n\
         Message-ID: <date-last@kyowa.example>\nDate: Wed, 17 Jan 2024 08:00:00 am\n\n\
         納品書を送ります。\nsecond line\n",
    ];
    for (n, mail) in mails.iter().enumerate() {
        write(&md.join("cur"), &format!("{n}.host:2,S"), mail.as_bytes());
    }
    let archive = tmp.path().join("a");
    assert_eq!(import(&archive, &[&md])["new"], 3);
    let mut listed = ids(&archive, "*");
    listed.sort();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed[1..],
        ["date-last@kyowa.example", "run-past@kyowa.example"]
    );
    assert_eq!(count(&archive, "from:suzuki@kyowa.example"), 1);
    assert_eq!(count(&archive, "納品書 \"second line\""), 1);

    // As an earlier version recorded them (the ids are those it gave, the
    // From and the body it lost).
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET message_id = '71ec7f5c4ee10eb9a8f57900325bf863@kura.invalid',
           synthetic_id = 1
           WHERE message_id = 'run-past@kyowa.example';
         UPDATE messages SET message_id = '9fe5d5a5517e22bd06597ee258a4bab0@kura.invalid',
           from_name = '', from_addr = '' WHERE subject = 'no id';
         DELETE FROM addresses WHERE address = 'suzuki@kyowa.example';",
    )
    .unwrap();
    drop(db);
    let copies = tmp.path().join("copies");
    for (n, mail) in mails.iter().enumerate() {
        write(
            &copies.join("cur"),
            &format!("{n}.other:2,S"),
            mail.as_bytes(),
        );
    }
    write(
        &copies.join("cur"),
        "reply.other:2,S",
        b"From: info@minato.example\nTo: tanaka@kyowa.example\nSubject: Re: invoice\n\
          Date: Mon, 15 Jan 2024 11:00:00 +0900\nMessage-ID: <reply@minato.example>\n\
          In-Reply-To: <run-past@kyowa.example>\n\nAttached.\n",
    );
    let s = import(&archive, &[&copies]);
    assert_eq!(
        (&s["new"], &s["duplicates"], &s["conflicts"]),
        (&1.into(), &3.into(), &0.into()),
        "{s}"
    );
    let thread_of = |id: &str| {
        let o = run(kura(&archive).args(["search", "--format", "jsonl", &format!("id:{id}")]));
        let m: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        m["thread"].clone()
    };
    assert_ne!(
        thread_of("reply@minato.example"),
        thread_of("71ec7f5c4ee10eb9a8f57900325bf863@kura.invalid")
    );

    // The reindex records the From and the Message-ID, which joins the
    // reply's thread. The message without one keeps its name.
    let said = reindex(&archive);
    assert!(
        said.contains("the Message-IDs of 1 brought up to date")
            && said.contains("the addresses of 1 brought up to date"),
        "{said}"
    );
    assert_eq!(
        thread_of("reply@minato.example"),
        thread_of("run-past@kyowa.example")
    );
    let o = run(kura(&archive).args(["search", "--format", "jsonl", "subject:id"]));
    let m: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (&m["message_id"], &m["from"]["address"]),
        (
            &"9fe5d5a5517e22bd06597ee258a4bab0@kura.invalid".into(),
            &"suzuki@kyowa.example".into()
        )
    );
    let o = run(kura(&archive).arg("check"));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A message whose Message-ID an earlier version lost (after a Date it ran
/// past) was stored under the synthetic id it gave, and another message
/// with that Message-ID under it: a later copy of the first is a duplicate
/// of the row it was stored as, not a conflict of the other, before a
/// reindex and after it (which leaves the first under its synthetic id, as
/// the Message-ID is taken).
#[test]
fn a_copy_of_a_message_stored_under_its_earlier_id_is_no_conflict_of_another() {
    let tmp = tempfile::tempdir().unwrap();
    let first = "Subject: order\nFrom: A <a@kyowa.example>\n\
                 Date: Mon, 15 Jan 2024 10:00:00 UT\nMessage-ID: <shared@kyowa.example>\n\
                 To: info@minato.example\n\nfirst version\n";
    let other = "Subject: order (corrected)\r\nFrom: A <a@kyowa.example>\r\n\
                 Date: Mon, 15 Jan 2024 10:05:00 +0000\r\nMessage-ID: <shared@kyowa.example>\r\n\
                 To: info@minato.example\r\n\r\nsecond version\r\n";
    let archive = tmp.path().join("a");
    write(&tmp.path().join("a1/cur"), "1.host:2,S", first.as_bytes());
    assert_eq!(import(&archive, &[&tmp.path().join("a1")])["new"], 1);
    // As an earlier version named it.
    let db = rusqlite::Connection::open(archive.join("kura.sqlite")).unwrap();
    db.execute_batch(
        "UPDATE messages SET message_id = '48786f69fa651e71f334b9da2a534853@kura.invalid',
           synthetic_id = 1",
    )
    .unwrap();
    drop(db);
    write(&tmp.path().join("a2/cur"), "2.host:2,S", other.as_bytes());
    assert_eq!(import(&archive, &[&tmp.path().join("a2")])["new"], 1);
    for round in ["b", "c"] {
        let copies = tmp.path().join(round);
        write(&copies.join("cur"), "1.other:2,S", first.as_bytes());
        write(&copies.join("cur"), "2.other:2,S", other.as_bytes());
        let s = import(&archive, &[&copies]);
        assert_eq!(
            (&s["new"], &s["duplicates"], &s["conflicts"]),
            (&0.into(), &2.into(), &0.into()),
            "{round}: {s}"
        );
        let said = reindex(&archive);
        assert!(!said.contains("Message-IDs"), "{said}");
    }
    let mut listed = ids(&archive, "*");
    listed.sort();
    assert_eq!(
        listed,
        [
            "48786f69fa651e71f334b9da2a534853@kura.invalid",
            "shared@kyowa.example"
        ]
    );
    let o = run(kura(&archive).arg("check"));
    assert!(o.status.success(), "{}", stderr(&o));
}
