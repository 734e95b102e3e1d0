//! Generates a reproducible synthetic shared mailbox for benchmarks and load tests.
//!
//! ```text
//! cargo run --release --example gen_mailbox -- --out DIR --messages N --seed S [--format maildir|mbox]
//! ```
//!
//! The mailbox is `info@hibiki-bussan.co.jp`, the shared address of a made-up
//! trading company (株式会社ひびき物産, 15 staff) and about 200 customer domains
//! (Japanese companies, some with branch subdomains, English-speaking companies
//! and free-mail users). Mail is Japanese and English, in conversations of 1-10
//! messages with In-Reply-To/References (a few replies lose them, as some mailers
//! do), plus inline forwards between staff and staff daily reports (日報).
//!
//! Each sender keeps one mail client, which decides the charset and transfer
//! encoding: ISO-2022-JP (about 40%), UTF-8 in base64, quoted-printable or 8bit,
//! Shift_JIS (some labelled `cp932`), EUC-JP; RFC 2047 subjects and names, HTML
//! alternatives, PDF-like attachments (~5%) named by RFC 2231 or RFC 2047, and
//! about 2% duplicate deliveries (the same message again, with extra headers).
//! Dates span 2021-04-01 to 2024-03-31 (JST).
//!
//! `N` counts written messages, duplicate deliveries included. Output is a
//! function of the seed only: the same seed gives byte-identical files.
//! `maildir` writes `DIR/{cur,new,tmp}` (files named `TIME.Mseq.host:2,S`;
//! the newest 1% unread in `new/`); `mbox` writes one mboxrd file per year,
//! `DIR/YYYY.mbox`. A summary line goes to stdout.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Offset, Utc};
use encoding_rs::{EUC_JP, ISO_2022_JP, SHIFT_JIS};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const OUR_DOMAIN: &str = "hibiki-bussan.co.jp";
const SHARED: &str = "info@hibiki-bussan.co.jp";
const COMPANY_JA: &str = "株式会社ひびき物産";
const COMPANY_SHORT: &str = "ひびき物産";
const COMPANY_EN: &str = "Hibiki Bussan Co., Ltd.";
const MX: &str = "mx1.hibiki-bussan.co.jp";
/// 2021-04-01 00:00 JST.
const T_START: i64 = 1_617_202_800;
/// 2024-03-31 00:00 JST (threads start before it; late replies may run over).
const T_END: i64 = 1_711_810_800;
const JST: i32 = 9 * 3600;

// ---------------------------------------------------------------- PRNG

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as usize) as i64
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u32) -> bool {
        self.below(1000) < (pct as usize) * 10
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A uniformly chosen element of a non-empty slice.
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Mixes two values into a seed for an independent stream.
fn mix(a: u64, b: u64) -> u64 {
    Rng::new(a ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

// ---------------------------------------------------------------- encodings

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Charset {
    Iso2022Jp,
    ShiftJis,
    EucJp,
    Utf8,
    Ascii,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cte {
    SevenBit,
    EightBit,
    Base64,
    QuotedPrintable,
}

impl Cte {
    fn name(self) -> &'static str {
        match self {
            Cte::SevenBit => "7bit",
            Cte::EightBit => "8bit",
            Cte::Base64 => "base64",
            Cte::QuotedPrintable => "quoted-printable",
        }
    }
}

/// How attachment file names are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameStyle {
    Rfc2231,
    Rfc2047,
}

/// A mail client: it fixes charset, encodings and header style of what a sender writes.
struct Mailer {
    header: &'static str,
    charset: Charset,
    label: &'static str,
    cte: Cte,
    html_pct: u32,
    q_words: bool,
    names: NameStyle,
}

#[rustfmt::skip]
const MAILERS: &[Mailer] = &[
    // 0 Becky!
    Mailer { header: "X-Mailer: Becky! ver. 2.81.04", charset: Charset::Iso2022Jp, label: "ISO-2022-JP", cte: Cte::SevenBit, html_pct: 0, q_words: false, names: NameStyle::Rfc2047, },
    // 1 Outlook, Japanese legacy setting
    Mailer { header: "X-Mailer: Microsoft Outlook 16.0", charset: Charset::Iso2022Jp, label: "iso-2022-jp", cte: Cte::SevenBit, html_pct: 30, q_words: false, names: NameStyle::Rfc2047, },
    // 2 Gmail
    Mailer { header: "", charset: Charset::Utf8, label: "UTF-8", cte: Cte::Base64, html_pct: 100, q_words: false, names: NameStyle::Rfc2047, },
    // 3 Outlook / Microsoft 365
    Mailer { header: "X-MS-Has-Attach: \nX-MS-TNEF-Correlator: ", charset: Charset::Utf8, label: "utf-8", cte: Cte::Base64, html_pct: 35, q_words: false, names: NameStyle::Rfc2231, },
    // 4 Apple Mail
    Mailer { header: "X-Mailer: Apple Mail (2.3774.500.171.1.1)", charset: Charset::Utf8, label: "utf-8", cte: Cte::QuotedPrintable, html_pct: 30, q_words: true, names: NameStyle::Rfc2231, },
    // 5 Thunderbird
    Mailer { header: "User-Agent: Mozilla Thunderbird", charset: Charset::Utf8, label: "UTF-8", cte: Cte::EightBit, html_pct: 0, q_words: false, names: NameStyle::Rfc2231, },
    // 6 Windows Live Mail
    Mailer { header: "X-Mailer: Microsoft Windows Live Mail 16.4.3528.331", charset: Charset::ShiftJis, label: "Shift_JIS", cte: Cte::EightBit, html_pct: 20, q_words: false, names: NameStyle::Rfc2047, },
    // 7 an old Windows client that labels CP932 as such
    Mailer { header: "X-Mailer: Microsoft Outlook Express 6.00.2900.5931", charset: Charset::ShiftJis, label: "cp932", cte: Cte::QuotedPrintable, html_pct: 0, q_words: false, names: NameStyle::Rfc2047, },
    // 8 a Unix client writing EUC-JP
    Mailer { header: "X-Mailer: Sylpheed 3.7.0 (GTK+ 2.24.30; x86_64-pc-linux-gnu)", charset: Charset::EucJp, label: "euc-jp", cte: Cte::EightBit, html_pct: 0, q_words: false, names: NameStyle::Rfc2047, },
    // 9 docomo handset
    Mailer { header: "", charset: Charset::ShiftJis, label: "Shift_JIS", cte: Cte::EightBit, html_pct: 0, q_words: false, names: NameStyle::Rfc2047, },
    // 10 English Outlook
    Mailer { header: "X-MS-Has-Attach: ", charset: Charset::Ascii, label: "us-ascii", cte: Cte::SevenBit, html_pct: 40, q_words: false, names: NameStyle::Rfc2231, },
    // 11 English Apple Mail / other UTF-8 client
    Mailer { header: "X-Mailer: Apple Mail (2.3774.500.171.1.1)", charset: Charset::Utf8, label: "utf-8", cte: Cte::QuotedPrintable, html_pct: 50, q_words: true, names: NameStyle::Rfc2231, },
];

/// Weights (per 100) of the mail clients of Japanese customer contacts.
const JA_MAILER_WEIGHTS: &[(usize, u32)] = &[
    (0, 15),
    (1, 25),
    (2, 10),
    (3, 12),
    (4, 10),
    (5, 6),
    (6, 14),
    (7, 3),
    (8, 5),
];

/// Encodes text in a charset. Vocabulary is chosen so nothing is unmappable;
/// `unmappable` counts it if that ever changes.
fn encode(s: &str, cs: Charset, unmappable: &mut u64) -> Vec<u8> {
    let enc = match cs {
        Charset::Iso2022Jp => ISO_2022_JP,
        Charset::ShiftJis => SHIFT_JIS,
        Charset::EucJp => EUC_JP,
        Charset::Utf8 | Charset::Ascii => return s.as_bytes().to_vec(),
    };
    let (bytes, _, bad) = enc.encode(s);
    if bad {
        *unmappable += 1;
    }
    bytes.into_owned()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 without line breaks.
fn base64_into(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// Base64 body: 76-character lines, each ended by LF.
fn base64_body(data: &[u8], out: &mut Vec<u8>) {
    let mut line = Vec::with_capacity(80);
    for chunk in data.chunks(57) {
        line.clear();
        base64_into(chunk, &mut line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
}

/// Quoted-printable body (RFC 2045): lines of at most 76 characters, soft breaks.
fn qp_body(data: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for line in data.split_inclusive(|&b| b == b'\n') {
        let (text, nl) = match line.strip_suffix(b"\n") {
            Some(t) => (t, true),
            None => (line, false),
        };
        let mut len = 0;
        for (i, &b) in text.iter().enumerate() {
            let last = i + 1 == text.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let width = if literal { 1 } else { 3 };
            if len + width > 75 {
                out.extend_from_slice(b"=\n");
                len = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            len += width;
        }
        if nl {
            out.push(b'\n');
        }
    }
}

/// Writes `text` as a header value: ASCII as is, otherwise RFC 2047 encoded
/// words (each holding whole characters, folded onto continuation lines).
fn header_words(text: &str, m: &Mailer, out: &mut String, unmappable: &mut u64) {
    if text.is_ascii() {
        out.push_str(text);
        return;
    }
    let cs = if m.charset == Charset::Ascii {
        Charset::Utf8
    } else {
        m.charset
    };
    let label = if cs == Charset::Utf8 {
        "UTF-8"
    } else if m.label == "cp932" {
        "Shift_JIS"
    } else {
        m.label
    };
    let per_word = match (cs, m.q_words) {
        (Charset::Utf8, true) => 6,
        (Charset::Utf8, false) => 12,
        (Charset::Iso2022Jp, _) => 10,
        _ => 16,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut buf = String::new();
    let mut bytes = Vec::new();
    for (i, piece) in chars.chunks(per_word).enumerate() {
        buf.clear();
        buf.extend(piece);
        let enc = encode(&buf, cs, unmappable);
        if i > 0 {
            out.push_str("\n ");
        }
        bytes.clear();
        if m.q_words && cs == Charset::Utf8 {
            let _ = write!(out, "=?{label}?Q?");
            for &b in &enc {
                match b {
                    b' ' => out.push('_'),
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => {
                        out.push(char::from(b))
                    }
                    _ => {
                        let _ = write!(out, "={b:02X}");
                    }
                }
            }
        } else {
            let _ = write!(out, "=?{label}?B?");
            base64_into(&enc, &mut bytes);
            out.push_str(std::str::from_utf8(&bytes).unwrap_or_default());
        }
        out.push_str("?=");
    }
}

/// `Name <addr>` with the name encoded as the mailer does.
fn mailbox(name: &str, addr: &str, m: &Mailer, out: &mut String, unmappable: &mut u64) {
    if name.is_ascii() {
        let _ = write!(out, "\"{name}\" <{addr}>");
    } else {
        header_words(name, m, out, unmappable);
        let _ = write!(out, " <{addr}>");
    }
}

/// Percent-encodes UTF-8 for an RFC 2231 parameter value.
fn rfc2231(name: &str) -> String {
    let mut s = String::from("UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

// ---------------------------------------------------------------- the world

#[rustfmt::skip]
const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
    ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
    ("吉田", "yoshida"), ("山田", "yamada"), ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"),
    ("井上", "inoue"), ("木村", "kimura"), ("林", "hayashi"), ("清水", "shimizu"), ("山崎", "yamazaki"),
    ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"), ("阿部", "abe"), ("石川", "ishikawa"),
    ("前田", "maeda"), ("藤田", "fujita"), ("小川", "ogawa"), ("岡田", "okada"), ("後藤", "goto"),
    ("長谷川", "hasegawa"), ("村上", "murakami"), ("近藤", "kondo"), ("石井", "ishii"), ("坂本", "sakamoto"),
    ("遠藤", "endo"), ("青木", "aoki"), ("藤井", "fujii"), ("西村", "nishimura"), ("福田", "fukuda"),
];
#[rustfmt::skip]
const GIVEN: &[(&str, &str)] = &[
    ("太郎", "taro"), ("花子", "hanako"), ("一郎", "ichiro"), ("美咲", "misaki"), ("健", "ken"),
    ("直樹", "naoki"), ("由美", "yumi"), ("誠", "makoto"), ("陽子", "yoko"), ("大輔", "daisuke"),
    ("恵", "megumi"), ("翔太", "shota"), ("綾", "aya"), ("拓也", "takuya"), ("真理子", "mariko"),
    ("浩二", "koji"), ("さくら", "sakura"), ("修", "osamu"), ("智子", "tomoko"), ("亮", "ryo"),
];
#[rustfmt::skip]
const STEMS: &[(&str, &str)] = &[
    ("協栄", "kyoei"), ("東洋", "toyo"), ("三光", "sanko"), ("日進", "nisshin"), ("北陸", "hokuriku"),
    ("中央", "chuo"), ("旭", "asahi"), ("丸山", "maruyama"), ("富士見", "fujimi"), ("青葉", "aoba"),
    ("白石", "shiraishi"), ("松風", "matsukaze"), ("若葉", "wakaba"), ("光明", "komyo"), ("昭和", "showa"),
    ("大成", "taisei"), ("平和", "heiwa"), ("共立", "kyoritsu"), ("明星", "myojo"), ("千代田", "chiyoda"),
    ("高砂", "takasago"), ("浜松", "hamamatsu"), ("新栄", "shinei"), ("日の出", "hinode"), ("泉", "izumi"),
    ("双葉", "futaba"), ("常盤", "tokiwa"), ("菱和", "ryowa"), ("太陽", "taiyo"), ("港南", "konan"),
    ("緑川", "midorikawa"), ("岩崎", "iwasaki"),
];
#[rustfmt::skip]
const KINDS: &[(&str, &str)] = &[
    ("商事", "shoji"), ("工業", "kogyo"), ("製作所", "ss"), ("電機", "denki"), ("物流", "logi"), ("精機", "seiki"),
    ("産業", "sangyo"), ("化成", "kasei"), ("建設", "kensetsu"), ("印刷", "print"), ("食品", "foods"), ("技研", "giken"),
];
const BRANCHES: &[(&str, &str)] = &[
    ("東京支店", "tokyo"),
    ("大阪支店", "osaka"),
    ("名古屋営業所", "nagoya"),
];
#[rustfmt::skip]
const EN_STEMS: &[&str] = &[
    "Northwind", "Bluefield", "Redstone", "Silverline", "Summit", "Harbor", "Pioneer", "Evergreen",
    "Granite", "Lakeside", "Crescent", "Atlas", "Beacon", "Cedar", "Falcon",
];
const EN_KINDS: &[&str] = &[
    "Trading",
    "Industries",
    "Supply",
    "Logistics",
    "Components",
    "Systems",
];
#[rustfmt::skip]
const EN_FIRST: &[&str] = &[
    "John", "Sarah", "Michael", "Emily", "David", "Laura", "James", "Anna", "Robert", "Linda", "Daniel", "Grace",
];
#[rustfmt::skip]
const EN_LAST: &[&str] = &[
    "Miller", "Chen", "Smith", "Johnson", "Brown", "Garcia", "Wilson", "Taylor", "Lee", "Walker", "Hall", "Young",
];
/// Free-mail domains and the mail client their users have.
const FREEMAIL: &[(&str, usize)] = &[
    ("gmail.com", 2),
    ("yahoo.co.jp", 1),
    ("docomo.ne.jp", 9),
    ("ezweb.ne.jp", 9),
    ("icloud.com", 4),
    ("outlook.jp", 3),
];

struct Person {
    name: String,
    surname: String,
    addr: String,
    mailer: usize,
    english: bool,
}

struct Company {
    /// Full name, e.g. 株式会社協栄商事 / Northwind Trading Inc. (empty for free mail).
    name: String,
    /// Short name used in greetings.
    short: String,
    contacts: Vec<Person>,
    english: bool,
}

struct World {
    staff: Vec<Person>,
    companies: Vec<Company>,
    /// Cumulative popularity of companies (a few customers write most of the mail).
    cumulative: Vec<f64>,
}

impl World {
    /// The world is the same for every seed, so benchmarks can name staff addresses.
    fn new() -> World {
        let mut rng = Rng::new(0x6869_6269_6b69);
        let staff = SURNAMES[..15]
            .iter()
            .enumerate()
            .map(|(i, &(sn, romaji))| {
                let (gn, _) = GIVEN[i % GIVEN.len()];
                Person {
                    name: format!("{sn} {gn}"),
                    surname: sn.to_string(),
                    addr: format!("{romaji}@{OUR_DOMAIN}"),
                    mailer: if i % 3 == 0 { 1 } else { 3 },
                    english: false,
                }
            })
            .collect();
        let mut companies = Vec::new();
        let mut combos: Vec<(usize, usize)> = (0..STEMS.len())
            .flat_map(|s| (0..KINDS.len()).map(move |k| (s, k)))
            .collect();
        for i in (1..combos.len()).rev() {
            combos.swap(i, rng.below(i + 1));
        }
        for &(s, k) in combos.iter().take(164) {
            let (stem, stem_r) = STEMS[s];
            let (kind, kind_r) = KINDS[k];
            let prefix = if rng.pct(80) {
                "株式会社"
            } else {
                "有限会社"
            };
            let domain = format!("{stem_r}-{kind_r}.co.jp");
            let n = 1 + rng.below(4);
            let contacts = (0..n)
                .map(|_| {
                    let (sn, snr) = rng.pick(SURNAMES);
                    let (gn, gnr) = rng.pick(GIVEN);
                    let host = if rng.pct(12) {
                        format!("{}.{domain}", rng.pick(BRANCHES).1)
                    } else {
                        domain.clone()
                    };
                    let local = if rng.pct(50) {
                        snr.to_string()
                    } else {
                        format!("{}.{snr}", &gnr[..1])
                    };
                    Person {
                        name: format!("{stem}{kind} {sn} {gn}"),
                        surname: sn.to_string(),
                        addr: format!("{local}@{host}"),
                        mailer: weighted(&mut rng, JA_MAILER_WEIGHTS),
                        english: false,
                    }
                })
                .collect();
            companies.push(Company {
                name: format!("{prefix}{stem}{kind}"),
                short: format!("{stem}{kind}"),
                contacts,
                english: false,
            });
        }
        for i in 0..30 {
            let stem = EN_STEMS[i % EN_STEMS.len()];
            let kind = EN_KINDS[(i * 7 + i / EN_STEMS.len()) % EN_KINDS.len()];
            let domain = format!("{}-{}.com", stem.to_lowercase(), kind.to_lowercase());
            let n = 1 + rng.below(3);
            let contacts = (0..n)
                .map(|_| {
                    let first = rng.pick(EN_FIRST);
                    let last = rng.pick(EN_LAST);
                    Person {
                        name: format!("{first} {last}"),
                        surname: last.to_string(),
                        addr: format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()),
                        mailer: if rng.pct(60) { 10 } else { 11 },
                        english: true,
                    }
                })
                .collect();
            companies.push(Company {
                name: format!("{stem} {kind} Inc."),
                short: format!("{stem} {kind}"),
                contacts,
                english: true,
            });
        }
        for &(domain, mailer) in FREEMAIL {
            let contacts = (0..12)
                .map(|_| {
                    let (sn, snr) = rng.pick(SURNAMES);
                    let (gn, gnr) = rng.pick(GIVEN);
                    Person {
                        name: format!("{sn}{gn}"),
                        surname: sn.to_string(),
                        addr: format!("{gnr}.{snr}{}@{domain}", 1960 + rng.below(45)),
                        mailer,
                        english: false,
                    }
                })
                .collect();
            companies.push(Company {
                name: String::new(),
                short: String::new(),
                contacts,
                english: false,
            });
        }
        let mut cumulative = Vec::with_capacity(companies.len());
        let mut total = 0.0;
        for i in 0..companies.len() {
            // Zipf-like popularity over a shuffled order.
            total += 1.0 / ((mix(7, i as u64) % companies.len() as u64) as f64 + 3.0);
            cumulative.push(total);
        }
        World {
            staff,
            companies,
            cumulative,
        }
    }

    fn pick_company(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.companies.len() - 1)
    }
}

fn weighted(rng: &mut Rng, table: &[(usize, u32)]) -> usize {
    let total: u32 = table.iter().map(|&(_, w)| w).sum();
    let mut x = rng.below(total as usize) as u32;
    for &(v, w) in table {
        if x < w {
            return v;
        }
        x -= w;
    }
    table[0].0
}

// ---------------------------------------------------------------- what mail says

struct Topic {
    subjects: &'static [&'static str],
    lines: &'static [&'static str],
    attachments: &'static [&'static str],
}

const JA_TOPICS: &[Topic] = &[
    Topic {
        subjects: &[
            "{month}月分請求書の件",
            "請求書の再発行のお願い",
            "請求書送付のご案内（{month}月分）",
            "ご請求金額の確認",
        ],
        lines: &[
            "{month}月分の請求書をお送りいたします。",
            "ご請求金額は{amount}円（税込）となっております。",
            "お支払期日は{month}月末日となっておりますので、ご確認ください。",
            "請求書の宛名を新しい部署名に変更していただけますでしょうか。",
            "先日お送りした請求書に記載の誤りがございました。大変失礼いたしました。",
            "請求書番号 {order} の件、経理にて確認いたします。",
            "振込手数料は貴社ご負担にてお願いいたします。",
            "請求書の原本は本日郵送いたしました。",
        ],
        attachments: &["請求書_{order}.pdf", "ご請求書（{month}月分）.pdf"],
    },
    Topic {
        subjects: &[
            "お見積りのお願い（{item}）",
            "{item}のお見積りについて",
            "見積書送付の件",
            "再見積のお願い",
        ],
        lines: &[
            "下記の品目について、お見積りをお願いいたします。",
            "・{item} {qty}個",
            "希望納期は{month}月{day}日です。",
            "お見積書を添付いたしましたので、ご査収ください。",
            "単価は{price}円にて承ります。",
            "数量により単価が変わりますので、ご相談ください。",
            "見積の有効期限は発行日より30日間です。",
            "社内で検討のうえ、改めてご連絡いたします。",
        ],
        attachments: &["御見積書_{order}.pdf", "見積書_{item}.pdf"],
    },
    Topic {
        subjects: &[
            "注文番号 {order} の納期について",
            "納期回答のお願い",
            "出荷日のご連絡",
            "納品日程の調整",
        ],
        lines: &[
            "ご注文いただいた{item}の納期についてご連絡いたします。",
            "出荷は{month}月{day}日を予定しております。",
            "誠に申し訳ございませんが、部材の入荷遅れにより納期が一週間ほど遅れる見込みです。",
            "分納でも差し支えございませんので、先に{qty}個だけ出荷いただけますでしょうか。",
            "納品先は大阪の倉庫でお願いいたします。",
            "運送会社の追跡番号は {order} です。",
            "納期の前倒しが可能かどうか、ご確認をお願いいたします。",
        ],
        attachments: &["納品書_{order}.pdf"],
    },
    Topic {
        subjects: &[
            "発注書送付の件（{order}）",
            "{item}の追加発注",
            "注文内容の変更について",
        ],
        lines: &[
            "下記のとおり発注いたします。",
            "・{item} {qty}個 単価{price}円",
            "発注書を添付いたしますので、ご確認をお願いいたします。",
            "先日の注文の数量を{qty}個に変更させてください。",
            "注文請書のご返送をお願いいたします。",
            "発注番号は {order} です。",
        ],
        attachments: &["注文書_{order}.pdf", "発注書_{month}月.pdf"],
    },
    Topic {
        subjects: &[
            "{item}の在庫確認",
            "在庫状況のお問い合わせ",
            "欠品についてのご連絡",
        ],
        lines: &[
            "{item}の在庫は現在{qty}個ございます。",
            "在庫が少なくなっておりますので、お早めにご注文ください。",
            "次回の入荷は{month}月中旬の予定です。",
            "代替品として同等の仕様の製品もご用意できます。",
        ],
        attachments: &["在庫一覧_{month}月.pdf"],
    },
    Topic {
        subjects: &["納品物の不具合について", "返品のご相談", "検品結果のご報告"],
        lines: &[
            "納品いただいた{item}のうち、{qty}個に傷が見つかりました。",
            "写真を添付いたしますので、ご確認いただけますでしょうか。",
            "ご迷惑をおかけし、誠に申し訳ございません。",
            "代替品を至急手配いたします。",
            "不良品は着払いにてご返送ください。",
            "原因を調査のうえ、改めてご報告いたします。",
        ],
        attachments: &["検品報告書_{order}.pdf"],
    },
    Topic {
        subjects: &["打ち合わせ日程のご相談", "ご訪問のお礼", "新製品のご案内"],
        lines: &[
            "先日はお忙しいところお時間をいただき、誠にありがとうございました。",
            "次回の打ち合わせは{month}月{day}日の午後はいかがでしょうか。",
            "新製品のカタログを添付いたします。",
            "ご都合のよい日時を二、三お知らせください。",
            "当日は弊社の担当者も同席いたします。",
        ],
        attachments: &["製品カタログ.pdf", "会議資料_{month}月{day}日.pdf"],
    },
];

const JA_GENERIC: &[&str] = &[
    "ご確認のほどよろしくお願いいたします。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。",
    "お手数をおかけしますが、よろしくお願いいたします。",
    "取り急ぎご連絡まで。",
    "引き続き何卒よろしくお願い申し上げます。",
    "詳細は担当の者より改めてご連絡いたします。",
    "ご多忙のところ恐れ入りますが、ご対応のほどお願いいたします。",
    "本件について、社内で確認しております。",
    "前回の打ち合わせでご相談した件も併せてご検討ください。",
    "昨年度の実績を踏まえて、数量を見直しております。",
];

const EN_TOPICS: &[Topic] = &[
    Topic {
        subjects: &[
            "Invoice {order} for {monthname} shipment",
            "Question about invoice {order}",
            "Payment for invoice {order}",
        ],
        lines: &[
            "We received invoice {order} for the {monthname} shipment.",
            "The unit price for {itemen} does not match our purchase order.",
            "Could you please send us a corrected invoice?",
            "Payment will be made by wire transfer by the end of the month.",
            "Please find the invoice attached.",
            "The total amount is USD {price}.00.",
        ],
        attachments: &["Invoice_{order}.pdf"],
    },
    Topic {
        subjects: &[
            "Delivery schedule for PO {order}",
            "Delivery delay",
            "Shipment of {itemen}",
        ],
        lines: &[
            "Could you confirm the delivery date for PO {order}?",
            "The delivery to our warehouse is scheduled for {monthname} {day}.",
            "From the warehouse side we heard the shipment leaves on {monthname} {day}.",
            "We apologize for the delay in delivery.",
            "Partial delivery of {qty} units is fine for us.",
            "The tracking number will follow once the carrier picks up the pallets.",
        ],
        attachments: &["Packing_list_{order}.pdf"],
    },
    Topic {
        subjects: &[
            "Request for quotation: {itemen}",
            "Quotation {order}",
            "Price update",
        ],
        lines: &[
            "Please send us a quotation for {qty} units of {itemen}.",
            "Our target price is USD {price} per unit.",
            "Attached is our quotation, valid for 30 days.",
            "Lead time is about four weeks after order confirmation.",
            "Could you offer a volume discount for orders above {qty} units?",
        ],
        attachments: &["Quotation_{order}.pdf"],
    },
];

const EN_GENERIC: &[&str] = &[
    "Please let me know if you have any questions.",
    "Thank you for your quick response.",
    "I will check with our team and get back to you.",
    "We appreciate your continued support.",
    "Looking forward to hearing from you.",
];

#[rustfmt::skip]
const ITEMS_JA: &[&str] = &[
    "ステンレス棚板", "固定金具セット", "六角ボルト", "アルミフレーム", "樹脂ケース", "制御基板",
    "配線ユニット", "梱包資材", "作業用手袋", "防錆スプレー", "センサー部品", "搬送用台車",
];
const ITEMS_EN: &[&str] = &[
    "steel shelf boards",
    "mounting brackets",
    "hex bolts",
    "aluminium frames",
    "control boards",
    "sensor units",
];
#[rustfmt::skip]
const MONTHS_EN: &[&str] = &[
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
];
const VISIT_LINES: &[&str] = &[
    "新年度の発注計画についてヒアリング。",
    "納期遅延の件でお詫びと今後の対策を説明。",
    "新製品のサンプルをお渡しし、評価を依頼。",
    "価格改定について説明し、ご了承をいただいた。",
    "来月の展示会へのご来場をご案内。",
    "請求書の送付先変更について確認。",
];

/// A line from the topic's lines (`topic_pct` percent of the time) or the generic
/// ones, avoiding the last few lines used so the text does not stutter.
fn pick_line(
    rng: &mut Rng,
    topic: &[&'static str],
    generic: &[&'static str],
    topic_pct: u32,
    recent: &mut [&'static str; 4],
) -> &'static str {
    let mut line = "";
    for _ in 0..4 {
        line = if rng.pct(topic_pct) {
            rng.pick(topic)
        } else {
            rng.pick(generic)
        };
        if !recent.contains(&line) {
            break;
        }
    }
    recent.rotate_right(1);
    recent[0] = line;
    line
}

/// Fills `{month}`, `{item}`, ... in a template.
fn fill(template: &str, rng: &mut Rng, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return;
        };
        let key = &rest[open + 1..open + close];
        match key {
            "month" => {
                let _ = write!(out, "{}", 1 + rng.below(12));
            }
            "day" => {
                let _ = write!(out, "{}", 1 + rng.below(28));
            }
            "qty" => {
                let _ = write!(out, "{}", [10, 20, 50, 100, 200, 500, 1000][rng.below(7)]);
            }
            "price" => {
                let _ = write!(out, "{}", 50 * (1 + rng.below(200)));
            }
            "amount" => {
                let _ = write!(out, "{}", 1000 * (10 + rng.below(2000)));
            }
            "order" => {
                let _ = write!(
                    out,
                    "{}-{:05}",
                    ["A", "PO", "HB", "INV"][rng.below(4)],
                    rng.below(100_000)
                );
            }
            "item" => out.push_str(rng.pick(ITEMS_JA)),
            "itemen" => out.push_str(rng.pick(ITEMS_EN)),
            "monthname" => out.push_str(rng.pick(MONTHS_EN)),
            _ => out.push_str(key),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
}

// ---------------------------------------------------------------- the plan

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customer,
    /// An inline forward, staff to staff (Cc the shared address), of the first message of a thread.
    Forward {
        of: u32,
    },
    /// A staff daily report to the shared address.
    Report,
}

struct Thread {
    kind: Kind,
    company: usize,
    contact: usize,
    staff: usize,
    staff2: usize,
    topic: usize,
    staff_starts: bool,
    seed: u64,
    /// Subject without reply prefix.
    subject: String,
    /// Dates of the thread's planned messages, in order.
    dates: Vec<i64>,
}

#[derive(Clone, Copy)]
struct Planned {
    date: i64,
    thread: u32,
    k: u8,
    dup: bool,
    drop_refs: bool,
}

fn plan(world: &World, seed: u64, n: usize) -> (Vec<Thread>, Vec<Planned>) {
    let mut rng = Rng::new(mix(seed, 1));
    let mut threads: Vec<Thread> = Vec::new();
    let mut msgs: Vec<Planned> = Vec::with_capacity(n);
    let mut starts: Vec<i64> = Vec::new();
    let mut files = 0;
    while files < n {
        let t = threads.len() as u32;
        let roll = rng.below(100);
        let kind = if roll < 3 {
            Kind::Report
        } else if roll < 5 && !threads.is_empty() {
            Kind::Forward {
                of: rng.below(threads.len()) as u32,
            }
        } else {
            Kind::Customer
        };
        let kind = match kind {
            Kind::Forward { of } if threads[of as usize].kind != Kind::Customer => Kind::Customer,
            k => k,
        };
        let company = world.pick_company(&mut rng);
        let english = world.companies[company].english;
        let contact = rng.below(world.companies[company].contacts.len());
        let staff = rng.below(world.staff.len());
        let staff2 = (staff + 1 + rng.below(world.staff.len() - 1)) % world.staff.len();
        let topic = if english {
            rng.below(EN_TOPICS.len())
        } else {
            rng.below(JA_TOPICS.len())
        };
        let len = match kind {
            Kind::Customer => {
                // 1-10, mostly short; about one in 800 is a long negotiation
                // of 45-60 messages (drawn from its own generator, so the
                // rest of the mailbox does not depend on it).
                let x = rng.unit();
                let mut long = Rng::new(mix(seed, 5000 + u64::from(t)));
                if long.below(800) == 0 {
                    45 + long.below(16) as u8
                } else {
                    (1.0 + 10.0 * x * x * x).floor().min(10.0) as u8
                }
            }
            _ => 1,
        };
        let start = match kind {
            Kind::Forward { of } => starts[of as usize] + rng.range(600, 2 * 86_400),
            _ => rng.range(T_START, T_END),
        };
        let tseed = mix(seed, 1000 + u64::from(t));
        let mut srng = Rng::new(mix(tseed, 99));
        let mut subject = String::new();
        match kind {
            Kind::Customer => {
                let subjects = if english {
                    EN_TOPICS[topic].subjects
                } else {
                    JA_TOPICS[topic].subjects
                };
                fill(srng.pick(subjects), &mut srng, &mut subject);
            }
            Kind::Report => {
                let d = date_in(start, JST);
                let _ = write!(
                    subject,
                    "【日報】{} {}",
                    d.format("%Y/%m/%d"),
                    world.staff[staff].surname
                );
            }
            Kind::Forward { of } => {
                let prefix = if srng.pct(60) { "Fwd: " } else { "転送: " };
                let _ = write!(subject, "{prefix}{}", threads[of as usize].subject);
            }
        }
        let mut date = start;
        let mut dates = Vec::with_capacity(usize::from(len));
        for k in 0..len {
            if files >= n {
                break;
            }
            if k > 0 {
                date += rng.range(600, 3 * 86_400);
            }
            let dup = files + 1 < n && rng.pct(2);
            let drop_refs = k > 0 && rng.pct(3);
            msgs.push(Planned {
                date,
                thread: t,
                k,
                dup,
                drop_refs,
            });
            dates.push(date);
            files += 1 + usize::from(dup);
        }
        starts.push(start);
        threads.push(Thread {
            kind,
            company,
            contact,
            staff,
            staff2,
            topic,
            staff_starts: rng.pct(15),
            seed: tseed,
            subject,
            dates,
        });
    }
    msgs.sort_by_key(|m| (m.date, m.thread, m.k));
    (threads, msgs)
}

/// The instant `t` (Unix seconds) in the time zone `offset` seconds east of UTC.
fn date_in(t: i64, offset: i32) -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(offset).unwrap_or_else(|| Utc.fix());
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
}

// ---------------------------------------------------------------- rendering

struct Renderer<'a> {
    world: &'a World,
    threads: &'a [Thread],
    unmappable: u64,
}

/// Who sends message k of a thread, and to whom.
struct Roles<'a> {
    from: &'a Person,
    from_org: String,
    to: Vec<&'a Person>,
    to_shared: bool,
    cc_shared: bool,
    customer_sends: bool,
}

impl<'a> Renderer<'a> {
    fn roles(&self, th: &Thread, k: u8) -> Roles<'a> {
        let w = self.world;
        let company = &w.companies[th.company];
        let contact = &company.contacts[th.contact];
        let staff = &w.staff[th.staff];
        match th.kind {
            Kind::Report => Roles {
                from: staff,
                from_org: COMPANY_SHORT.into(),
                to: vec![],
                to_shared: true,
                cc_shared: false,
                customer_sends: false,
            },
            Kind::Forward { .. } => Roles {
                from: staff,
                from_org: COMPANY_SHORT.into(),
                to: vec![&w.staff[th.staff2]],
                to_shared: false,
                cc_shared: true,
                customer_sends: false,
            },
            Kind::Customer => {
                let customer_sends = k.is_multiple_of(2) != th.staff_starts;
                if customer_sends {
                    let first_to_shared = k == 0 && (th.seed % 10) < 7;
                    Roles {
                        from: contact,
                        from_org: company.short.clone(),
                        to: if first_to_shared { vec![] } else { vec![staff] },
                        to_shared: first_to_shared,
                        cc_shared: !first_to_shared,
                        customer_sends,
                    }
                } else {
                    let sender = if k >= 3 && (th.seed >> 8).is_multiple_of(4) {
                        &w.staff[th.staff2]
                    } else {
                        staff
                    };
                    Roles {
                        from: sender,
                        from_org: COMPANY_SHORT.into(),
                        to: vec![contact],
                        to_shared: false,
                        cc_shared: true,
                        customer_sends,
                    }
                }
            }
        }
    }

    fn message_id(&self, t: u32, k: u8) -> String {
        let th = &self.threads[t as usize];
        let date = th.dates.get(usize::from(k)).copied().unwrap_or(T_START);
        let from = self.roles(th, k).from;
        let h = mix(th.seed, 500 + u64::from(k));
        let domain = from.addr.rsplit('@').next().unwrap_or(OUR_DOMAIN);
        let d = date_in(date, JST);
        match from.mailer {
            0 | 8 => format!(
                "{}.{:04X}.{:X}@{domain}",
                d.format("%Y%m%d%H%M%S"),
                h & 0xFFFF,
                h >> 16
            ),
            2 => format!("CA{:016x}{:08x}@mail.gmail.com", h, t),
            3 | 10 => format!(
                "TY{:X}{:04X}@TYCP286MB{:04}.JPNP286.PROD.OUTLOOK.COM",
                h,
                k,
                t % 10_000
            ),
            _ => {
                let x = mix(h, 3);
                format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}@{domain}",
                    h >> 32,
                    (h >> 16) & 0xFFFF,
                    h & 0xFFF,
                    0x8000 | (x & 0x3FFF),
                    (x >> 16) & 0xFFFF_FFFF_FFFF
                )
            }
        }
    }

    /// The text a message's author wrote (without the quoted previous message).
    fn own_text(&self, t: u32, k: u8) -> String {
        let th = &self.threads[t as usize];
        let w = self.world;
        let company = &w.companies[th.company];
        let roles = self.roles(th, k);
        let mut rng = Rng::new(mix(th.seed, 200 + u64::from(k)));
        let english = th.kind == Kind::Customer && company.english;
        // Log-uniform target between ~0.4 and ~6 KB of text.
        let target = (400.0 * 15f64.powf(rng.unit())) as usize;
        let mut s = String::with_capacity(target + 512);
        if th.kind == Kind::Report {
            let _ = writeln!(s, "{}\n", th.subject);
            while s.len() < target {
                let c = &w.companies[w.pick_company(&mut rng)];
                let name = if c.name.is_empty() {
                    "個人のお客様"
                } else {
                    &c.name
                };
                let _ = writeln!(s, "■ 訪問先\n  {name}\n■ 内容");
                for _ in 0..1 + rng.below(3) {
                    let _ = writeln!(s, "  ・{}", rng.pick(VISIT_LINES));
                }
                s.push('\n');
            }
            s.push_str("以上\n");
            return s;
        }
        if let Kind::Forward { of } = th.kind {
            let staff2 = &w.staff[th.staff2];
            let _ = writeln!(
                s,
                "{}さん\n\n下記の件、対応をお願いします。\n",
                staff2.surname
            );
            let orig = &self.threads[of as usize];
            let o_roles = self.roles(orig, 0);
            let _ = writeln!(
                s,
                "-------- Forwarded Message --------\n件名: {}\n差出人: {} <{}>\n",
                orig.subject, o_roles.from.name, o_roles.from.addr
            );
            s.push_str(&self.own_text(of, 0));
            return s;
        }
        let recipient = roles.to.first().copied();
        if english {
            let name = recipient.map_or("team", |p| p.surname.as_str());
            let _ = writeln!(s, "Dear {name},\n");
            let topic = &EN_TOPICS[th.topic % EN_TOPICS.len()];
            let mut recent = [""; 4];
            while s.len() < target {
                let line = pick_line(&mut rng, topic.lines, EN_GENERIC, 75, &mut recent);
                fill(line, &mut rng, &mut s);
                s.push('\n');
                if rng.pct(30) {
                    s.push('\n');
                }
            }
            let org = if roles.customer_sends {
                company.name.as_str()
            } else {
                COMPANY_EN
            };
            let _ = writeln!(s, "\nBest regards,\n{}\n{org}", roles.from.name);
            return s;
        }
        match recipient {
            Some(p) if roles.customer_sends => {
                let _ = writeln!(s, "{COMPANY_JA}\n{}様\n", p.surname);
            }
            Some(p) if company.name.is_empty() => {
                let _ = writeln!(s, "{}様\n", p.name);
            }
            Some(p) => {
                let _ = writeln!(s, "{}\n{}様\n", company.name, p.surname);
            }
            None => {
                let _ = writeln!(s, "{COMPANY_JA}\nご担当者様\n");
            }
        }
        let org = if roles.from_org.is_empty() {
            ""
        } else {
            roles.from_org.as_str()
        };
        let _ = writeln!(
            s,
            "いつもお世話になっております。\n{org}の{}です。\n",
            roles.from.surname
        );
        let topic = &JA_TOPICS[th.topic % JA_TOPICS.len()];
        let mut recent = [""; 4];
        let windows = MAILERS[roles.from.mailer].charset == Charset::ShiftJis;
        let mut n = 0;
        while s.len() < target {
            let line = pick_line(&mut rng, topic.lines, JA_GENERIC, 70, &mut recent);
            if windows && line.starts_with('・') {
                // Windows writers number items with circled digits (CP932 only).
                s.push(['①', '②', '③', '④', '⑤'][n % 5]);
                fill(&line['・'.len_utf8()..], &mut rng, &mut s);
            } else {
                fill(line, &mut rng, &mut s);
            }
            n += 1;
            s.push('\n');
            if rng.pct(35) {
                s.push('\n');
            }
        }
        s.push_str("\nよろしくお願いいたします。\n\n--\n");
        let full_org = if roles.customer_sends {
            company.name.as_str()
        } else {
            COMPANY_JA
        };
        let _ = writeln!(s, "{full_org}\n{}\n{}", roles.from.name, roles.from.addr);
        s
    }

    /// Renders one message to `out`. Returns (charset, has_html, has_attachment).
    fn render(&mut self, p: &Planned, out: &mut Vec<u8>) -> (Charset, bool, bool) {
        let th = &self.threads[p.thread as usize];
        let roles = self.roles(th, p.k);
        let m = &MAILERS[roles.from.mailer];
        let mut rng = Rng::new(mix(th.seed, 300 + u64::from(p.k)));
        let english_sender = roles.from.english;
        let offset = if english_sender {
            [-5 * 3600, -8 * 3600, 0][(th.seed % 3) as usize]
        } else {
            JST
        };
        let date = date_in(p.date, offset);

        // Body text: own words plus the quoted previous message.
        let mut text = self.own_text(p.thread, p.k);
        if p.k > 0 {
            let prev = self.own_text(p.thread, p.k - 1);
            let prev_from = self.roles(th, p.k - 1).from;
            let english = self.world.companies[th.company].english;
            if english {
                let _ = writeln!(
                    text,
                    "\nOn {}, {} wrote:",
                    date.format("%a, %b %e, %Y"),
                    prev_from.name
                );
            } else {
                let _ = writeln!(
                    text,
                    "\n{} {} wrote:",
                    date_in(p.date - 3600, JST).format("%Y/%m/%d %H:%M"),
                    prev_from.name
                );
            }
            let mut quoted = 0;
            for line in prev.lines() {
                if quoted > 1500 {
                    break;
                }
                quoted += line.len();
                let _ = writeln!(text, "> {line}");
            }
        }
        let cs = if m.charset == Charset::Ascii && !text.is_ascii() {
            Charset::Utf8
        } else {
            m.charset
        };
        let label = if cs != m.charset { "utf-8" } else { m.label };
        let cte = if cs != m.charset {
            Cte::QuotedPrintable
        } else {
            m.cte
        };
        let html = rng.pct(m.html_pct);
        let attach = th.kind == Kind::Customer && rng.pct(5);

        // Headers.
        let mut h = String::with_capacity(2048);
        let from_domain = roles.from.addr.rsplit('@').next().unwrap_or(OUR_DOMAIN);
        let _ = writeln!(h, "Return-Path: <{}>", roles.from.addr);
        let _ = writeln!(h, "Delivered-To: {SHARED}");
        let ip = mix(th.seed, u64::from(p.k));
        let _ = writeln!(
            h,
            "Received: from mail.{from_domain} (mail.{from_domain} [198.51.100.{}])\n\tby {MX} (Postfix) with ESMTPS id {:X}\n\tfor <{SHARED}>; {}",
            ip % 250 + 1,
            ip >> 20,
            date_in(p.date + 2, JST).to_rfc2822()
        );
        let _ = writeln!(h, "Date: {}", date.to_rfc2822());
        h.push_str("From: ");
        mailbox(
            &roles.from.name,
            &roles.from.addr,
            m,
            &mut h,
            &mut self.unmappable,
        );
        h.push('\n');
        h.push_str("To: ");
        if roles.to_shared {
            h.push_str(SHARED);
        }
        for (i, r) in roles.to.iter().enumerate() {
            if i > 0 || roles.to_shared {
                h.push_str(",\n ");
            }
            mailbox(&r.name, &r.addr, m, &mut h, &mut self.unmappable);
        }
        h.push('\n');
        if roles.cc_shared {
            let _ = writeln!(h, "Cc: {SHARED}");
        }
        h.push_str("Subject: ");
        if p.k > 0 {
            h.push_str(if english_sender || roles.from.mailer != 3 {
                "Re: "
            } else {
                "RE: "
            });
        }
        header_words(&th.subject, m, &mut h, &mut self.unmappable);
        h.push('\n');
        let _ = writeln!(h, "Message-ID: <{}>", self.message_id(p.thread, p.k));
        if p.k > 0 && !p.drop_refs {
            let _ = writeln!(h, "In-Reply-To: <{}>", self.message_id(p.thread, p.k - 1));
            h.push_str("References:");
            for j in 0..p.k {
                let _ = write!(
                    h,
                    "{}<{}>",
                    if j == 0 { " " } else { "\n " },
                    self.message_id(p.thread, j)
                );
            }
            h.push('\n');
        }
        if !m.header.is_empty() {
            let _ = writeln!(h, "{}", m.header);
        }
        h.push_str("MIME-Version: 1.0\n");
        out.extend_from_slice(h.as_bytes());

        let body = encode(&text, cs, &mut self.unmappable);
        let mut html_bytes = Vec::new();
        if html {
            let mut hs = String::with_capacity(text.len() * 2);
            let _ = write!(
                hs,
                "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset={label}\"></head>\n<body>\n"
            );
            for line in text.lines() {
                for c in line.chars() {
                    match c {
                        '<' => hs.push_str("&lt;"),
                        '>' => hs.push_str("&gt;"),
                        '&' => hs.push_str("&amp;"),
                        c => hs.push(c),
                    }
                }
                hs.push_str("<br>\n");
            }
            hs.push_str("</body></html>\n");
            html_bytes = encode(&hs, cs, &mut self.unmappable);
        }
        let b1 = format!(
            "----=_Part_{:x}_{:x}",
            mix(th.seed, 7 + u64::from(p.k)),
            p.date
        );
        let b2 = format!("----=_Alt_{:x}", mix(th.seed, 8 + u64::from(p.k)));
        let text_part = |out: &mut Vec<u8>, ctype: &str, bytes: &[u8]| {
            let _ = writeln!(
                out,
                "Content-Type: {ctype}; charset=\"{label}\"\nContent-Transfer-Encoding: {}\n",
                cte.name()
            );
            match cte {
                Cte::Base64 => base64_body(bytes, out),
                Cte::QuotedPrintable => qp_body(bytes, out),
                _ => out.extend_from_slice(bytes),
            }
        };
        let alternative = |out: &mut Vec<u8>| {
            if html {
                let _ = writeln!(
                    out,
                    "Content-Type: multipart/alternative;\n\tboundary=\"{b2}\"\n\n--{b2}"
                );
                text_part(out, "text/plain", &body);
                let _ = writeln!(out, "\n--{b2}");
                text_part(out, "text/html", &html_bytes);
                let _ = writeln!(out, "\n--{b2}--");
            } else {
                text_part(out, "text/plain", &body);
            }
        };
        if attach {
            let _ = writeln!(
                out,
                "Content-Type: multipart/mixed;\n\tboundary=\"{b1}\"\n\nThis is a multi-part message in MIME format.\n\n--{b1}"
            );
            alternative(out);
            let english = self.world.companies[th.company].english;
            let names = if english {
                EN_TOPICS[th.topic % EN_TOPICS.len()].attachments
            } else {
                JA_TOPICS[th.topic % JA_TOPICS.len()].attachments
            };
            let mut name = String::new();
            fill(rng.pick(names), &mut rng, &mut name);
            let _ = writeln!(out, "\n--{b1}");
            if name.is_ascii() {
                let _ = writeln!(
                    out,
                    "Content-Type: application/pdf; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\""
                );
            } else if m.names == NameStyle::Rfc2231 {
                let _ = writeln!(
                    out,
                    "Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*={}",
                    rfc2231(&name)
                );
            } else {
                let mut enc = String::new();
                header_words(&name, m, &mut enc, &mut self.unmappable);
                let enc = enc.replace("\n ", "\n\t");
                let _ = writeln!(
                    out,
                    "Content-Type: application/pdf;\n\tname=\"{enc}\"\nContent-Disposition: attachment;\n\tfilename=\"{enc}\""
                );
            }
            out.extend_from_slice(b"Content-Transfer-Encoding: base64\n\n");
            let size = 1024 + rng.below(15 * 1024);
            let mut blob = Vec::with_capacity(size + 64);
            blob.extend_from_slice(
                b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\nstream\n",
            );
            while blob.len() < size {
                blob.extend_from_slice(&rng.next_u64().to_le_bytes());
            }
            blob.extend_from_slice(b"\nendstream\n%%EOF\n");
            base64_body(&blob, out);
            let _ = writeln!(out, "\n--{b1}--");
        } else {
            alternative(out);
        }
        (cs, html, attach)
    }
}

// ---------------------------------------------------------------- output

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Maildir,
    Mbox,
}

struct Args {
    out: PathBuf,
    messages: usize,
    seed: u64,
    format: Format,
}

const USAGE: &str = "usage: gen_mailbox --out DIR --messages N --seed S [--format maildir|mbox]";

fn parse_args() -> Result<Args> {
    let mut out = None;
    let mut messages = None;
    let mut seed = None;
    let mut format = Format::Maildir;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--messages" => {
                let v = value()?;
                messages = Some(
                    v.parse::<usize>()
                        .with_context(|| format!("--messages {v}: not a number"))?,
                );
            }
            "--seed" => {
                let v = value()?;
                seed = Some(
                    v.parse::<u64>()
                        .with_context(|| format!("--seed {v}: not a number"))?,
                );
            }
            "--format" => {
                format = match value()?.as_str() {
                    "maildir" => Format::Maildir,
                    "mbox" => Format::Mbox,
                    other => bail!("--format {other}: expected maildir or mbox"),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(Args {
        out: out.context(USAGE)?,
        messages: messages.context(USAGE)?,
        seed: seed.unwrap_or(1),
        format,
    })
}

/// Adds mboxrd quoting (`>` before lines matching `^>*From `).
fn mboxrd_quote(msg: &[u8], out: &mut Vec<u8>) {
    for line in msg.split_inclusive(|&b| b == b'\n') {
        let rest = &line[line.iter().take_while(|&&b| b == b'>').count()..];
        if rest.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
}

/// Where messages go.
enum Sink {
    Maildir {
        root: PathBuf,
        seq: u64,
    },
    Mbox {
        root: PathBuf,
        year: i32,
        file: Option<std::io::BufWriter<fs::File>>,
        buf: Vec<u8>,
    },
}

impl Sink {
    fn new(root: &Path, format: Format) -> Result<Sink> {
        if root.exists()
            && fs::read_dir(root)
                .with_context(|| format!("reading {}", root.display()))?
                .next()
                .is_some()
        {
            bail!("{} exists and is not empty", root.display());
        }
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        Ok(match format {
            Format::Maildir => {
                for sub in ["cur", "new", "tmp"] {
                    let d = root.join(sub);
                    fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
                }
                Sink::Maildir {
                    root: root.to_path_buf(),
                    seq: 0,
                }
            }
            Format::Mbox => Sink::Mbox {
                root: root.to_path_buf(),
                year: 0,
                file: None,
                buf: Vec::new(),
            },
        })
    }

    fn write(&mut self, msg: &[u8], date: i64, envelope_from: &str, unread: bool) -> Result<()> {
        match self {
            Sink::Maildir { root, seq } => {
                *seq += 1;
                let name = if unread {
                    format!("new/{date}.M{seq}.{MX}")
                } else {
                    format!("cur/{date}.M{seq}.{MX}:2,S")
                };
                let path = root.join(name);
                fs::write(&path, msg).with_context(|| format!("writing {}", path.display()))
            }
            Sink::Mbox {
                root,
                year,
                file,
                buf,
            } => {
                let d = date_in(date, 0);
                let y = d.format("%Y").to_string().parse::<i32>().unwrap_or(0);
                if file.is_none() || y != *year {
                    if let Some(mut f) = file.take() {
                        f.flush().context("writing mbox")?;
                    }
                    let path = root.join(format!("{y}.mbox"));
                    let f = fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    *file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
                    *year = y;
                }
                buf.clear();
                let _ = writeln!(
                    buf,
                    "From {envelope_from} {}",
                    d.format("%a %b %e %H:%M:%S %Y")
                );
                mboxrd_quote(msg, buf);
                buf.push(b'\n');
                match file {
                    Some(f) => f.write_all(buf).context("writing mbox"),
                    None => Ok(()),
                }
            }
        }
    }

    fn finish(self) -> Result<()> {
        if let Sink::Mbox {
            file: Some(mut f), ..
        } = self
        {
            f.flush().context("writing mbox")?;
        }
        Ok(())
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let started = Instant::now();
    let world = World::new();
    let (threads, msgs) = plan(&world, args.seed, args.messages);
    let mut r = Renderer {
        world: &world,
        threads: &threads,
        unmappable: 0,
    };
    let mut sink = Sink::new(&args.out, args.format)?;
    let unread_from = msgs.len() - msgs.len() / 100;
    let (mut files, mut dups, mut bytes, mut html_n, mut attach_n) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut charsets = [0u64; 5];
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut copy = Vec::with_capacity(64 * 1024);
    for (i, p) in msgs.iter().enumerate() {
        buf.clear();
        let (cs, html, attach) = r.render(p, &mut buf);
        let th = &threads[p.thread as usize];
        let from = r.roles(th, p.k).from.addr.clone();
        let unread = i >= unread_from;
        sink.write(&buf, p.date, &from, unread)?;
        files += 1;
        bytes += buf.len() as u64;
        charsets[cs as usize] += 1;
        html_n += u64::from(html);
        attach_n += u64::from(attach);
        if p.dup {
            // The same message again: delivered to a staff mailbox and forwarded by the server.
            let staff = &world.staff[th.staff].addr;
            copy.clear();
            let _ = write!(
                copy,
                "Received: from {MX} (localhost [127.0.0.1])\n\tby {MX} (Postfix) with ESMTP id {:X}\n\tfor <{SHARED}>; {}\nX-Forwarded-To: {SHARED}\nX-Forwarded-For: {staff} {SHARED}\n",
                mix(th.seed, 4242 + u64::from(p.k)) >> 24,
                date_in(p.date + 5, JST).to_rfc2822()
            );
            copy.extend_from_slice(&buf);
            sink.write(&copy, p.date + 5, &from, unread)?;
            files += 1;
            dups += 1;
            bytes += copy.len() as u64;
        }
    }
    sink.finish()?;
    let secs = started.elapsed().as_secs_f64();
    let unique = files - dups;
    let pct = |n: u64| 100.0 * n as f64 / unique.max(1) as f64;
    let names = ["iso-2022-jp", "shift_jis", "euc-jp", "utf-8", "us-ascii"];
    let mix_text: Vec<String> = names
        .iter()
        .zip(charsets)
        .map(|(n, c)| format!("{n} {:.1}%", pct(c)))
        .collect();
    println!(
        "gen_mailbox: {files} messages ({unique} unique + {dups} duplicate deliveries, {} threads) to {} as {}, {:.1} MB; {}; html {:.1}%, attachments {:.1}%; {}seed {}, {:.2} s, {:.0} msg/s",
        threads.len(),
        args.out.display(),
        if args.format == Format::Maildir {
            "maildir"
        } else {
            "mbox"
        },
        bytes as f64 / 1e6,
        mix_text.join(", "),
        pct(html_n),
        pct(attach_n),
        if r.unmappable > 0 {
            format!("{} UNMAPPABLE texts, ", r.unmappable)
        } else {
            String::new()
        },
        args.seed,
        secs,
        files as f64 / secs.max(1e-9),
    );
    Ok(())
}
