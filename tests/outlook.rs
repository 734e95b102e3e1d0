//! Mail forwarded by Outlook "as an attachment": a `.msg` file (a Compound
//! File of MAPI properties, not MIME) attached to the mail that reaches the
//! shared address. Its words are found and shown like those of a forwarded
//! message/rfc822, whether Outlook wrote its strings in UTF-16 or in the
//! code page (Shift_JIS), whether its body is text, HTML or RTF (compressed
//! or not, HTML encapsulated in it or not), and so are those of the mails
//! attached to it in turn; a sender known by an Exchange address alone gets
//! the SMTP address of the header it was received with. A Word document
//! (also a Compound File) or a damaged `.msg` adds nothing and loses
//! nothing.
//!
//! The `.msg` files are written here with the `cfb` crate, laid out as
//! Outlook lays them out ([MS-OXMSG]); compressed RTF as [MS-OXRTFCP]
//! specifies it.

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
const RTF_COMPRESSED: u16 = 0x1009;
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

/// What `kura show` prints of the message with Message-ID `id`.
fn shown(a: &Path, id: &str) -> String {
    let o = run(kura(a).args(["show", id]));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
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
    let shown = shown(&a, "fw1@hibiki-bussan.co.jp");
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
        let shown = shown(&a, &id(n)[0]);
        assert!(shown.lines().any(|l| l == line), "{line}:\n{shown}");
    }
}

/// The first bytes of [MS-OXRTFCP]'s dictionary.
const RTF_DICTIONARY: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}\
{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArial\
Times New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \
\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// [MS-OXRTFCP] 3.1.1, "Example 1: Simple Compressed RTF": the compressed
/// form of `{\rtf1\ansi\ansicpg1252\pard hello world}` and CRLF.
const SPEC_EXAMPLE: &[u8] = &[
    0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
    0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
    0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
    0xa0,
];

/// [MS-OXRTFCP]'s CRC: CRC-32's (reflected 0x04C11DB7), from 0, not
/// inverted at the end.
fn rtf_crc(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |crc, &b| {
        let mut c = (crc ^ u32::from(b)) & 0xFF;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        c ^ (crc >> 8)
    })
}

/// A PidTagRtfCompressed stream: the header, then `data`.
fn rtf_stream(kind: &[u8; 4], raw_size: usize, data: &[u8]) -> Vec<u8> {
    let crc = if kind == b"LZFu" { rtf_crc(data) } else { 0 };
    let mut s = Vec::new();
    s.extend_from_slice(&(data.len() as u32 + 12).to_le_bytes());
    s.extend_from_slice(&(raw_size as u32).to_le_bytes());
    s.extend_from_slice(kind);
    s.extend_from_slice(&crc.to_le_bytes());
    s.extend_from_slice(data);
    s
}

/// `rtf` in the uncompressed form ("MELA").
fn mela(rtf: &str) -> Vec<u8> {
    rtf_stream(b"MELA", rtf.len(), rtf.as_bytes())
}

/// `rtf` compressed ("LZFu"): each run a control byte and eight literals or
/// references (12-bit offset into the 4096-byte dictionary, length - 2 in
/// 4 bits, big-endian), ended by a reference to the write position. The
/// match tried is the last place of the next two bytes in the dictionary,
/// up to 17 bytes and short of the write position.
fn lzfu(rtf: &str) -> Vec<u8> {
    let rtf = rtf.as_bytes();
    let mut dictionary = [0u8; 4096];
    dictionary[..RTF_DICTIONARY.len()].copy_from_slice(RTF_DICTIONARY);
    let mut last = vec![usize::MAX; 1 << 16];
    let pair = |a: u8, b: u8| usize::from(a) << 8 | usize::from(b);
    for (at, w) in RTF_DICTIONARY.windows(2).enumerate() {
        last[pair(w[0], w[1])] = at;
    }
    let mut write = RTF_DICTIONARY.len();
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        let (mut control, mut run, mut end) = (0u8, Vec::new(), false);
        for bit in 0..8 {
            if at == rtf.len() {
                control |= 1 << bit;
                run.extend_from_slice(&((write as u16) << 4).to_be_bytes());
                end = true;
                break;
            }
            let candidate = rtf
                .get(at + 1)
                .map(|&next| last[pair(rtf[at], next)])
                .filter(|&c| c != usize::MAX);
            let len = candidate.map_or(0, |offset| {
                let room = (write + 4096 - offset) % 4096;
                let max = 17.min(rtf.len() - at).min(room);
                (0..max)
                    .take_while(|&i| dictionary[(offset + i) % 4096] == rtf[at + i])
                    .count()
            });
            let taken = if len >= 2 {
                control |= 1 << bit;
                let reference = (candidate.unwrap() << 4 | (len - 2)) as u16;
                run.extend_from_slice(&reference.to_be_bytes());
                len
            } else {
                run.push(rtf[at]);
                1
            };
            for &b in &rtf[at..at + taken] {
                dictionary[write] = b;
                let before = dictionary[(write + 4095) % 4096];
                last[pair(before, b)] = (write + 4095) % 4096;
                write = (write + 1) % 4096;
            }
            at += taken;
        }
        data.push(control);
        data.extend_from_slice(&run);
        if end {
            break;
        }
    }
    rtf_stream(b"LZFu", rtf.len(), &data)
}

/// `text` as RTF text in code page 932: Shift_JIS bytes as `\'hh` (both of
/// a double-byte character, as Outlook writes them), lines as `\par`.
fn rtf_932(text: &str) -> String {
    let mut out = String::new();
    let bytes = shift_jis(text);
    let mut trail = false;
    for &b in &bytes {
        if b >= 0x80 || trail {
            out.push_str(&format!("\\'{b:02x}"));
            trail = !trail && ((0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b));
        } else if b == b'\n' {
            out.push_str("\\par\r\n");
        } else {
            if matches!(b, b'\\' | b'{' | b'}') {
                out.push('\\');
            }
            out.push(char::from(b));
        }
    }
    out
}

/// A Japanese mail's RTF as a Japanese Outlook writes it (RichEdit).
fn japanese_rtf(text: &str) -> String {
    format!(
        "{{\\rtf1\\ansi\\ansicpg932\\deff0\\nouicompat\\deflang1033\\deflangfe1041\
{{\\fonttbl{{\\f0\\fnil\\fcharset128 {};}}{{\\f1\\fswiss\\fcharset0 Calibri;}}}}\r\n\
{{\\colortbl ;\\red0\\green0\\blue255;}}\r\n{{\\*\\generator Riched20 16.0.17928}}\
\\viewkind4\\uc1 \r\n\\pard\\f0\\fs22\\lang1041 {}\\f1\\lang1033\\par\r\n}}\r\n",
        rtf_932("ＭＳ Ｐゴシック"),
        rtf_932(text)
    )
}

/// An HTML mail as Outlook keeps it in RTF ([MS-OXRTFEX]): the HTML's tags
/// in `\*\htmltag` groups, its text between them, the RTF only for RTF
/// readers marked `\htmlrtf`.
fn encapsulated_html_rtf() -> String {
    format!(
        "{{\\rtf1\\ansi\\ansicpg932\\fromhtml1 \\fbidis \\deff0{{\\fonttbl\r\n\
{{\\f0\\fswiss\\fcharset128 {gothic};}}\r\n{{\\f1\\fmodern Courier New;}}\r\n\
{{\\f2\\fnil\\fcharset2 Symbol;}}}}\r\n{{\\colortbl\\red0\\green0\\blue0;\\red5\\green99\\blue193;}}\r\n\
\\uc1\\pard\\plain\\deftab360 \\f0\\fs24 \r\n\
{{\\*\\htmltag19 <html>}}\r\n{{\\*\\htmltag34 <head>}}\r\n\
{{\\*\\htmltag241 <style>}}\r\n{{\\*\\htmltag241 p.MsoNormal \\{{margin:0mm;font-family:\"Yu Gothic\";\\}}}}\r\n\
{{\\*\\htmltag249 </style>}}\r\n{{\\*\\htmltag41 </head>}}\r\n{{\\*\\htmltag50 <body lang=JA>}}\r\n\
{{\\*\\htmltag96 <div class=WordSection1>}}\\htmlrtf {{\\htmlrtf0 \r\n\
{{\\*\\htmltag64}}\\htmlrtf {{\\htmlrtf0 {{\\*\\htmltag148 <p class=MsoNormal>}}{first}\
\\htmlrtf\\par}}\\htmlrtf0\r\n{{\\*\\htmltag244 </p>}}\r\n\
{{\\*\\htmltag64}}\\htmlrtf {{\\htmlrtf0 {{\\*\\htmltag148 <p class=MsoNormal>}}{second}\
{{\\*\\htmltag84 &nbsp;}}\\htmlrtf\\'a0\\htmlrtf0 {{\\*\\htmltag84 &lt;}}\\htmlrtf <\\htmlrtf0 \
{third}\\htmlrtf\\par}}\\htmlrtf0\r\n{{\\*\\htmltag244 </p>}}\r\n\
{{\\*\\htmltag104 </div>}}\\htmlrtf }}\\htmlrtf0 \r\n{{\\*\\htmltag58 </body>}}\r\n\
{{\\*\\htmltag27 </html>}}\r\n}}\r\n",
        gothic = rtf_932("ＭＳ Ｐゴシック"),
        first = rtf_932("ご担当者様"),
        second = rtf_932("金型の補修部品について、再見積をお送りします。"),
        third = rtf_932("有効期限"),
    )
}

/// Messages whose only body is RTF, compressed or not, plain or HTML
/// encapsulated: their text is found and shown as a forwarded mail's; a
/// message with a plain-text body is read by it, not by its RTF.
#[test]
fn an_rtf_body_is_found_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let plain = "青葉製作所の加藤です。\n先日ご依頼の焼結部品について、試作品の寸法検査が完了しました。\n\
                 検査成績書を添付いたします。";
    let rtf_msg = |subject: &str, stream: Vec<u8>, codepages: &[(u16, u32)]| {
        msg(
            &[
                Prop::Unicode(SUBJECT, subject),
                Prop::Unicode(SENDER_NAME, "加藤 誠"),
                Prop::Unicode(SENDER_SMTP, "m.kato@aoba-seisakusho.co.jp"),
                Prop::Binary(RTF_COMPRESSED, stream),
            ],
            codepages,
            &[],
        )
    };
    let with_body = msg(
        &[
            Prop::Unicode(SUBJECT, "本文つき"),
            Prop::Unicode(BODY, "梱包材の件です。"),
            Prop::Binary(RTF_COMPRESSED, lzfu(&japanese_rtf("緩衝材の件です。"))),
        ],
        &[],
        &[],
    );
    let mails = [
        rtf_msg("試作品の検査", mela(&japanese_rtf(plain)), &[]),
        rtf_msg("spec", SPEC_EXAMPLE.to_vec(), &[]),
        rtf_msg(
            "再見積",
            lzfu(&encapsulated_html_rtf()),
            &[(INTERNET_CODEPAGE, 932)],
        ),
        rtf_msg(
            "圧縮",
            lzfu(&japanese_rtf("納品書の再発行をお願いします。")),
            &[],
        ),
        with_body,
    ];
    for (n, m) in mails.iter().enumerate() {
        let n = n as u32 + 1;
        write(
            &src,
            &format!("{n}.eml"),
            &forward(n, "fw.msg", "application/vnd.ms-outlook", m),
        );
    }
    let a = tmp.path().join("a");
    let s = import(&a, &[&src]);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(5), Some(0)),
        "{s}"
    );
    let id = |n: u32| vec![format!("fw{n}@hibiki-bussan.co.jp")];
    for (q, want) in [
        // Shift_JIS in \'hh escapes, uncompressed.
        ("寸法検査", id(1)),
        ("焼結部品", id(1)),
        ("検査成績書", id(1)),
        ("quoted:試作品", id(1)),
        // The specification's example, compressed.
        ("hello", id(2)),
        ("world", id(2)),
        // Encapsulated HTML, compressed: its text, not its markup.
        ("再見積", id(3)),
        ("補修部品", id(3)),
        ("担当者様", id(3)),
        ("有効期限", id(3)),
        ("納品書", id(4)),
        // A plain-text body is read before the RTF.
        ("梱包材", id(5)),
    ] {
        assert_eq!(ids(&a, q), want, "{q}");
    }
    for q in [
        "緩衝材",
        "msonormal",
        "margin",
        "htmltag",
        "fonttbl",
        "ゴシック",
        "calibri",
        "riched20",
        "ansicpg932",
    ] {
        assert_eq!(count(&a, q), 0, "{q}");
    }
    let shown = |n: u32| shown(&a, &id(n)[0]);
    let one = shown(1);
    for line in [
        "試作品の検査",
        "加藤 誠 m.kato@aoba-seisakusho.co.jp",
        "青葉製作所の加藤です。",
        "先日ご依頼の焼結部品について、試作品の寸法検査が完了しました。",
        "検査成績書を添付いたします。",
    ] {
        assert!(one.lines().any(|l| l == line), "{line}:\n{one}");
    }
    assert!(shown(2).lines().any(|l| l == "hello world"), "{}", shown(2));
    let three = shown(3);
    for line in [
        "ご担当者様",
        "金型の補修部品について、再見積をお送りします。 <有効期限",
    ] {
        assert!(
            three.lines().any(|l| l.trim_end() == line),
            "{line}:\n{three}"
        );
    }
    assert_check_passes(&a, "after importing RTF bodies");
}

/// A compressed RTF body cut short, or with bytes of it changed, at many
/// places: the mail parses (no panic), and keeps its subject.
#[test]
fn a_damaged_rtf_body_never_crashes_the_parser() {
    let streams = [
        SPEC_EXAMPLE.to_vec(),
        lzfu(&encapsulated_html_rtf()),
        lzfu(&japanese_rtf("納品書の再発行をお願いします。")),
    ];
    let parse = |stream: &[u8]| {
        let m = msg(
            &[
                Prop::Unicode(SUBJECT, "損傷"),
                Prop::Binary(RTF_COMPRESSED, stream.to_vec()),
            ],
            &[],
            &[],
        );
        let raw = forward(1, "d.msg", "application/vnd.ms-outlook", &m);
        let parsed = kura::parse::parse_message(&raw, None);
        let parsed = parsed.unwrap_or_else(|r| panic!("{}", r.reason));
        assert!(parsed.text.contains("損傷"), "{}", parsed.text);
    };
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut tried = 0;
    for stream in &streams {
        // Every cut of the header, then every 7th byte.
        for cut in (0..16).chain((16..stream.len()).step_by(7)) {
            parse(&stream[..cut]);
            tried += 1;
        }
        // A byte changed at every 5th place, to a few values.
        for at in (0..stream.len()).step_by(5) {
            for value in [0x00, 0xFF, stream[at] ^ 0x10, next() as u8] {
                let mut m = stream.clone();
                m[at] = value;
                parse(&m);
                tried += 1;
            }
        }
        // Random bytes changed in the data.
        for _ in 0..100 {
            let mut m = stream.clone();
            for _ in 0..1 + next() % 8 {
                let at = 16 + next() as usize % (m.len() - 16);
                m[at] = next() as u8;
            }
            parse(&m);
            tried += 1;
        }
    }
    assert!(tried > 500, "{tried}");
}

/// An RTF body far larger than the text indexed is read only so far: in
/// little time, the text capped.
#[test]
fn a_large_rtf_body_is_read_within_the_text_limit() {
    let line = "焼結部品の寸法検査が完了しました。検査成績書を添付いたします。\n";
    let text = line.repeat(40_000);
    let rtf = japanese_rtf(&text);
    let stream = lzfu(&rtf);
    let m = msg(
        &[
            Prop::Unicode(SUBJECT, "大きな本文"),
            Prop::Binary(RTF_COMPRESSED, stream.clone()),
        ],
        &[],
        &[],
    );
    let started = std::time::Instant::now();
    let read = kura::outlook::read(&m, 0).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "{} bytes of RTF ({} compressed, {} of text) read in {elapsed:?}",
        rtf.len(),
        stream.len(),
        text.len()
    );
    assert!(elapsed.as_secs() < 2, "{elapsed:?}");
    let limit = kura::parse::MAX_INDEXED_TEXT;
    assert!(read.text.len() <= limit, "{}", read.text.len());
    assert!(read.text.len() > limit / 2, "{}", read.text.len());
    assert!(read.text.starts_with(line), "{}", &read.text[..200]);
}
