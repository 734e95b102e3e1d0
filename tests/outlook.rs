//! Mail forwarded by Outlook "as an attachment": a `.msg` file (a Compound
//! File of MAPI properties, not MIME) attached to the mail that reaches the
//! shared address. Its words are found and shown like those of a forwarded
//! message/rfc822, whether Outlook wrote its strings in UTF-16 or in the
//! code page (Shift_JIS), and so are those of the mails attached to it in
//! turn; a Word document (also a Compound File) or a damaged `.msg` adds
//! nothing and loses nothing.
//!
//! The `.msg` files are written here with the `cfb` crate, laid out as
//! Outlook lays them out ([MS-OXMSG]).

mod common;
use base64::Engine as _;
use common::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A property stream of a `.msg`: (property id, value).
enum Prop<'a> {
    /// A UTF-16LE string (type 001F), as Outlook 2003 and later write them.
    Unicode(u16, &'a str),
    /// An 8-bit string (type 001E) in the message's code page.
    String8(u16, Vec<u8>),
    /// Binary (type 0102).
    Binary(u16, Vec<u8>),
}

const SUBJECT: u16 = 0x0037;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_EMAIL: u16 = 0x0C1F;
const SENDER_SMTP: u16 = 0x5D01;
const BODY: u16 = 0x1000;
const HTML: u16 = 0x1013;
const TRANSPORT_HEADERS: u16 = 0x007D;
const MESSAGE_CODEPAGE: u16 = 0x3FFD;
const INTERNET_CODEPAGE: u16 = 0x3FDE;

/// A `.msg` with `props`, the 32-bit `codepages` (PidTagMessageCodepage,
/// PidTagInternetCodepage) given, and `attached` messages embedded as
/// attachments.
fn msg(props: &[Prop<'_>], codepages: &[(u16, u32)], attached: &[Vec<Prop<'_>>]) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    write_message(&mut file, "/", 32, props, codepages);
    for (n, inner) in attached.iter().enumerate() {
        let storage = format!("/__attach_version1.0_#{n:08X}");
        file.create_storage(&storage).unwrap();
        // PidTagAttachMethod = 5: an embedded message.
        let mut props = vec![0u8; 8];
        props.extend_from_slice(&fixed(0x3705, 0x0003, 5));
        file.create_stream(format!("{storage}/__properties_version1.0"))
            .unwrap()
            .write_all(&props)
            .unwrap();
        let embedded = format!("{storage}/__substg1.0_3701000D");
        file.create_storage(&embedded).unwrap();
        write_message(&mut file, &embedded, 24, inner, codepages);
    }
    file.flush().unwrap();
    file.into_inner().into_inner()
}

fn write_message<F: std::io::Read + std::io::Write + std::io::Seek>(
    file: &mut cfb::CompoundFile<F>,
    dir: &str,
    header: usize,
    props: &[Prop<'_>],
    codepages: &[(u16, u32)],
) {
    let dir = dir.trim_end_matches('/');
    let mut fixed_props = vec![0u8; header];
    for &(id, cp) in codepages {
        fixed_props.extend_from_slice(&fixed(id, 0x0003, cp));
    }
    file.create_stream(format!("{dir}/__properties_version1.0"))
        .unwrap()
        .write_all(&fixed_props)
        .unwrap();
    for p in props {
        let (name, bytes) = match p {
            Prop::Unicode(id, s) => {
                let mut b: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
                b.extend_from_slice(&[0, 0]);
                (format!("{id:04X}001F"), b)
            }
            Prop::String8(id, b) => (format!("{id:04X}001E"), [&b[..], &[0]].concat()),
            Prop::Binary(id, b) => (format!("{id:04X}0102"), b.clone()),
        };
        file.create_stream(format!("{dir}/__substg1.0_{name}"))
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
}

/// A fixed-size property entry: tag (type, id), flags, 8-byte value.
fn fixed(id: u16, kind: u16, value: u32) -> Vec<u8> {
    let mut e = ((u32::from(id) << 16) | u32::from(kind))
        .to_le_bytes()
        .to_vec();
    e.extend_from_slice(&6u32.to_le_bytes());
    e.extend_from_slice(&value.to_le_bytes());
    e.extend_from_slice(&[0; 4]);
    e
}

/// A mail from staff to the shared address with `attachment` attached as
/// `name` (base64, as Outlook sends it).
fn forward(n: u32, name: &str, mime: &str, attachment: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(attachment);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: 鈴木 一郎 <suzuki@hibiki-bussan.co.jp>\r\nTo: share@hibiki-bussan.co.jp\r\n\
Subject: FW: ご相談\r\nMessage-ID: <fw{n}@hibiki-bussan.co.jp>\r\n\
Date: Tue, 5 Mar 2024 09:3{n}:00 +0900\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\r\n転送します。ご確認ください。\r\n--b\r\n\
Content-Type: {mime}; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn unicode_msg() -> Vec<u8> {
    msg(
        &[
            Prop::Unicode(SUBJECT, "金型の修理見積について"),
            Prop::Unicode(SENDER_NAME, "青葉 次郎"),
            // Exchange writes its own address in PidTagSenderEmailAddress
            // and the SMTP one beside it.
            Prop::Unicode(
                SENDER_EMAIL,
                "/O=EXCHANGELABS/OU=EXCHANGE/CN=RECIPIENTS/CN=AOBA",
            ),
            Prop::Unicode(SENDER_SMTP, "J.Aoba@aoba-seisakusho.co.jp"),
            Prop::Unicode(
                BODY,
                "鈴木様\r\n\r\n焼入れ炉の修理費用をお知らせください。\r\n",
            ),
        ],
        &[],
        &[vec![
            Prop::Unicode(SUBJECT, "前回の点検報告"),
            Prop::Unicode(BODY, "冷却水の配管に漏れがありました。"),
        ]],
    )
}

fn shift_jis(s: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
}

/// An "ANSI" `.msg` (8-bit strings in code page 932) whose only body is HTML.
fn ansi_html_msg() -> Vec<u8> {
    msg(
        &[
            Prop::String8(SUBJECT, shift_jis("納期回答のお願い")),
            Prop::String8(SENDER_NAME, shift_jis("松本 花子")),
            Prop::String8(SENDER_EMAIL, b"matsumoto@kaede-denki.co.jp".to_vec()),
            Prop::Binary(
                HTML,
                shift_jis(
                    "<html><body><div>ご担当者様</div><div>継手の納期をご回答ください。</div></body></html>",
                ),
            ),
        ],
        &[(MESSAGE_CODEPAGE, 932)],
        &[],
    )
}

/// An "ANSI" `.msg` from a Western Outlook: code page 1252, which no guess
/// from the bytes would take (they read as Shift_JIS as well).
fn western_msg() -> Vec<u8> {
    let cp1252 = |s: &str| encoding_rs::WINDOWS_1252.encode(s).0.into_owned();
    msg(
        &[
            Prop::String8(SUBJECT, cp1252("Réclamation")),
            Prop::String8(SENDER_NAME, cp1252("Hélène Dubois")),
            Prop::String8(SENDER_SMTP, b"h.dubois@exemple.fr".to_vec()),
            Prop::String8(BODY, cp1252("Le café livré est arrivé froid.")),
        ],
        &[(MESSAGE_CODEPAGE, 1252)],
        &[],
    )
}

/// A Japanese Outlook's "ANSI" `.msg` of a mail from France: its strings in
/// code page 932, its body in the Internet code page, 1252.
fn french_body_msg() -> Vec<u8> {
    msg(
        &[
            Prop::String8(SUBJECT, shift_jis("仏国からの問い合わせ")),
            Prop::String8(SENDER_SMTP, b"m.leroy@exemple.fr".to_vec()),
            Prop::String8(
                BODY,
                encoding_rs::WINDOWS_1252
                    .encode("Votre thé vert est très apprécié à Lyon.")
                    .0
                    .into_owned(),
            ),
        ],
        &[(MESSAGE_CODEPAGE, 932), (INTERNET_CODEPAGE, 1252)],
        &[],
    )
}

#[test]
fn a_mail_forwarded_by_outlook_as_an_attachment_is_found_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write(
        &src,
        "1.eml",
        &forward(
            1,
            "金型の修理見積について.msg",
            "application/vnd.ms-outlook",
            &unicode_msg(),
        ),
    );
    write(
        &src,
        "2.eml",
        &forward(
            2,
            "納期回答.msg",
            "application/octet-stream",
            &ansi_html_msg(),
        ),
    );
    write(
        &src,
        "3.eml",
        &forward(
            3,
            "Réclamation.msg",
            "application/vnd.ms-outlook",
            &western_msg(),
        ),
    );
    write(
        &src,
        "4.eml",
        &forward(
            4,
            "問い合わせ.msg",
            "application/vnd.ms-outlook",
            &french_body_msg(),
        ),
    );
    let a = tmp.path().join("a");
    let s = import(&a, &[&src]);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(4), Some(0)),
        "{s}"
    );
    let fw4 = vec!["fw4@hibiki-bussan.co.jp".to_string()];
    let fw1 = vec!["fw1@hibiki-bussan.co.jp".to_string()];
    let fw2 = vec!["fw2@hibiki-bussan.co.jp".to_string()];
    let fw3 = vec!["fw3@hibiki-bussan.co.jp".to_string()];
    for (q, want) in [
        // The forwarded mail's body, subject and sender, in UTF-16 strings.
        ("焼入れ", &fw1),
        ("修理費用", &fw1),
        ("金型", &fw1),
        ("aoba-seisakusho", &fw1),
        ("青葉", &fw1),
        // The mail attached to the forwarded one.
        ("冷却水", &fw1),
        ("点検報告", &fw1),
        // Shift_JIS strings and an HTML-only body, its blocks apart.
        ("継手", &fw2),
        ("納期回答", &fw2),
        ("松本", &fw2),
        ("担当者様", &fw2),
        // Code page 1252.
        ("café", &fw3),
        ("livré", &fw3),
        ("hélène", &fw3),
        // A body in the Internet code page, the rest in the message's.
        ("apprécié", &fw4),
        ("thé", &fw4),
        ("問い合わせ", &fw4),
        ("kaede-denki", &fw2),
    ] {
        assert_eq!(&ids(&a, q), want, "{q}");
    }
    // What is forwarded is quoted text, not the forwarding mail's own.
    assert_eq!(count(&a, "unquoted:焼入れ"), 0);
    assert_eq!(count(&a, "quoted:焼入れ"), 1);
    assert_eq!(count(&a, "unquoted:転送"), 4);
    // Exchange's own address is no text of the mail, and no words are glued.
    assert_eq!(count(&a, "exchangelabs"), 0);
    assert_eq!(count(&a, "担当者様継手"), 0);
    let o = run(kura(&a).args(["show", "fw1@hibiki-bussan.co.jp"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = stdout(&o);
    for line in [
        "金型の修理見積について",
        "青葉 次郎 j.aoba@aoba-seisakusho.co.jp",
        "焼入れ炉の修理費用をお知らせください。",
        "冷却水の配管に漏れがありました。",
    ] {
        assert!(shown.lines().any(|l| l == line), "{line}:\n{shown}");
    }
    // The attachment is listed as sent.
    assert!(shown.contains("金型の修理見積について.msg"), "{shown}");
    assert_check_passes(&a, "after importing .msg attachments");
}

/// A Word 97 document is a Compound File too; a `.msg` cut short, or with
/// its streams' bytes damaged, is no longer one. Each is an attachment like
/// any other: the mail imports, its own text is found, nothing more.
#[test]
fn other_compound_files_and_damaged_msg_files_add_nothing_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let mut word = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    word.create_stream("/WordDocument")
        .unwrap()
        .write_all("見積書 本文".as_bytes())
        .unwrap();
    word.flush().unwrap();
    let word = word.into_inner().into_inner();
    write(
        &src,
        "1.eml",
        &forward(1, "見積書.doc", "application/msword", &word),
    );
    let good = unicode_msg();
    let mut damaged = Vec::new();
    for (n, cut) in [100, 512, 1024, 2048, good.len() - 1]
        .into_iter()
        .enumerate()
    {
        damaged.push(good[..cut.min(good.len())].to_vec());
        write(
            &src,
            &format!("cut{n}.eml"),
            &forward(
                2 + n as u32,
                "cut.msg",
                "application/vnd.ms-outlook",
                damaged.last().unwrap(),
            ),
        );
    }
    // Every sector after the header overwritten with 0xFF.
    let mut garbled = good.clone();
    for b in garbled.iter_mut().skip(512) {
        *b = 0xFF;
    }
    write(
        &src,
        "garbled.eml",
        &forward(8, "g.msg", "application/vnd.ms-outlook", &garbled),
    );
    let a = tmp.path().join("a");
    let s = import(&a, &[&src]);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(7), Some(0)),
        "{s}"
    );
    assert_eq!(count(&a, "転送"), 7);
    assert_eq!(count(&a, "本文"), 0);
    assert_eq!(count(&a, "attachment:見積書.doc"), 1);
    // A parse in the library too: no panic on any cut.
    for cut in (0..good.len()).step_by(97) {
        let raw = forward(9, "c.msg", "application/vnd.ms-outlook", &good[..cut]);
        assert!(
            kura::parse::parse_message(&raw, None).is_ok(),
            "cut at {cut}"
        );
    }
}

/// A `.msg` file among the exports is not taken for mail, nor lost: it is
/// rejected with a reason that says what it is and what to do.
#[test]
fn a_msg_file_among_the_exports_is_rejected_with_what_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write(&src, "金型の修理見積について.msg", &unicode_msg());
    let a = tmp.path().join("a");
    let s = import(&a, &[&src]);
    assert_eq!(
        (s["seen"].as_u64(), s["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let rejects = listed_rejects(&a);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("an Outlook message (.msg)"), "{reason}");
}

/// A mail from inside the sender's Exchange organisation names its sender
/// by an Exchange address alone; the From of the header it was received
/// with (PidTagTransportMessageHeaders) has the SMTP one, and the name when
/// the message has none. An SMTP address of the message's own is kept.
#[test]
fn an_exchange_sender_gets_the_address_of_the_header_it_was_received_with() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let exchange =
        "/O=SAKURA/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=YAMADA";
    let internal = msg(
        &[
            Prop::Unicode(SUBJECT, "在庫確認のお願い"),
            Prop::Unicode(SENDER_NAME, "山田 太郎"),
            Prop::Unicode(SENDER_EMAIL, exchange),
            Prop::Unicode(
                TRANSPORT_HEADERS,
                "Microsoft Mail Internet Headers Version 2.0\r\n\
                 Received: from EX01.sakura-koki.local by EX02.sakura-koki.local\r\n\
                 From: =?iso-2022-jp?B?GyRCOzNFRBsoQiAbJEJCQE86GyhC?=\r\n\
                 \t<T.Yamada@Sakura-Koki.co.jp>\r\n\
                 To: =?iso-2022-jp?B?GyRCMUQ2SEl0GyhC?= <eigyo@hibiki-bussan.co.jp>\r\n\
                 Subject: =?iso-2022-jp?B?GyRCOl84SzRJTX0bKEI=?=\r\n\r\n",
            ),
            Prop::Unicode(BODY, "倉庫の棚卸しをお願いします。"),
        ],
        &[],
        &[],
    );
    // No name in the message, and the header's in 8 bits, as an "ANSI"
    // file keeps it (code page 932).
    let nameless = msg(
        &[
            Prop::String8(SUBJECT, shift_jis("出荷日の件")),
            Prop::String8(
                SENDER_EMAIL,
                b"/O=SAKURA/OU=EXCHANGE/CN=RECIPIENTS/CN=ITO".to_vec(),
            ),
            Prop::String8(
                TRANSPORT_HEADERS,
                shift_jis("Subject: x\r\nFrom: 伊藤 健二 <k.ito@sakura-koki.co.jp>\r\n\r\n"),
            ),
            Prop::String8(BODY, shift_jis("出荷日を変更します。")),
        ],
        &[(MESSAGE_CODEPAGE, 932)],
        &[],
    );
    // The message's own SMTP address is the sender's, whatever the header
    // (of a mail sent on behalf of another) says.
    let smtp = msg(
        &[
            Prop::Unicode(SUBJECT, "代理送信"),
            Prop::Unicode(SENDER_NAME, "森 花子"),
            Prop::Unicode(SENDER_SMTP, "h.mori@sakura-koki.co.jp"),
            Prop::Unicode(
                TRANSPORT_HEADERS,
                "From: Delegate <delegate@elsewhere.example>\r\n\r\n",
            ),
            Prop::Unicode(BODY, "代理で送ります。"),
        ],
        &[],
        &[],
    );
    for (n, m) in [(1, &internal), (2, &nameless), (3, &smtp)] {
        write(
            &src,
            &format!("{n}.eml"),
            &forward(n, "fw.msg", "application/vnd.ms-outlook", m),
        );
    }
    let a = tmp.path().join("a");
    let s = import(&a, &[&src]);
    assert_eq!(s["new"].as_u64(), Some(3), "{s}");
    let id = |n: u32| vec![format!("fw{n}@hibiki-bussan.co.jp")];
    for (q, want) in [
        ("t.yamada@sakura-koki.co.jp", id(1)),
        ("k.ito@sakura-koki.co.jp", id(2)),
        ("伊藤", id(2)),
        ("h.mori@sakura-koki.co.jp", id(3)),
        ("棚卸し", id(1)),
    ] {
        assert_eq!(ids(&a, q), want, "{q}");
    }
    // Only the From of the header is read: not its recipients, subject
    // or Received lines, nor the From of a message with an address.
    for q in [
        "elsewhere",
        "delegate",
        "ex01",
        "eigyo",
        "営業部",
        "在庫管理",
    ] {
        assert_eq!(count(&a, q), 0, "{q}");
    }
    for (n, line) in [
        (1, "山田 太郎 t.yamada@sakura-koki.co.jp"),
        (2, "伊藤 健二 k.ito@sakura-koki.co.jp"),
        (3, "森 花子 h.mori@sakura-koki.co.jp"),
    ] {
        let o = run(kura(&a).args(["show", &id(n)[0]]));
        assert!(o.status.success(), "{}", stderr(&o));
        let shown = stdout(&o);
        assert!(shown.lines().any(|l| l == line), "{line}:\n{shown}");
    }
}
