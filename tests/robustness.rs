//! Bad input: mutated real mail through the parser and the mbox reader, and
//! pathological inputs (deep nesting, huge headers, a million recipients, a
//! base64 bomb, NUL bytes, bare CR line ends...) imported with the real
//! binary. Every input ends imported or rejected with a reason, nothing
//! crashes, time and memory stay bounded.

mod common;
use common::*;
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Longest a single parse may take (debug build).
const PARSE_BOUND: Duration = Duration::from_secs(2);

/// Real messages: every fixture, and a deterministic sample of the corpora.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut out = Vec::new();
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(fixtures())
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "md")))
            .collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "mbox") {
                for m in kura::sources::MboxReader::open(&f, false, 0).unwrap() {
                    out.push(m.unwrap().bytes);
                }
            } else {
                out.push(std::fs::read(&f).unwrap());
            }
        }
        let corpora = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora"));
        if corpora.is_dir() {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpora)
                .unwrap()
                .map(|e| e.unwrap().path().join("cur"))
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            for d in dirs {
                let mut names: Vec<PathBuf> = std::fs::read_dir(&d)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect();
                names.sort();
                // Every n-th file: about six per corpus, at most 256 KiB each.
                let step = (names.len() / 6).max(1);
                for p in names.iter().step_by(step) {
                    let raw = std::fs::read(p).unwrap();
                    if raw.len() <= 256 << 10 {
                        out.push(raw);
                    }
                }
            }
        } else {
            eprintln!("note: ../shared/corpora is absent; mutating the fixtures only");
        }
        assert!(out.len() >= 10, "too few sample messages: {}", out.len());
        out
    })
}

/// One change to a message.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    FlipBit(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// Splices the head of this message with the tail of another.
    Splice(usize, usize, usize),
    /// Repeats the header line at this position n times.
    DuplicateLine(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting: Vec<&'static [u8]> = vec![
        b"\n",
        b"\r",
        b"\r\n\r\n",
        b"\0",
        b"\xff\xfe",
        b"\x1b$B",
        b"=?",
        b"=?utf-8?b?",
        b"--",
        b"\nFrom x@y Mon Jan  1 00:00:00 2024\n",
        b"\nContent-Type: multipart/mixed; boundary=x\n\n--x\n",
        b"\nContent-Type: message/rfc822\n\n",
        b"\nContent-Transfer-Encoding: base64\n",
        b";\tname*0*=utf-8''%E8%AB",
        b"<",
        b"\"",
        b"(",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..16),
                proptest::sample::select(interesting).prop_map(|s| s.to_vec()),
            ]
        )
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(o, a, b)| Mutation::Splice(o, a, b)),
        (any::<usize>(), 1usize..50).prop_map(|(p, n)| Mutation::DuplicateLine(p, n)),
    ]
}

fn apply(mut m: Vec<u8>, op: &Mutation, all: &[Vec<u8>]) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match op {
        Mutation::Truncate(p) => {
            let p = at(*p, m.len());
            m.truncate(p);
        }
        Mutation::FlipBit(p, b) => {
            if !m.is_empty() {
                let p = p % m.len();
                m[p] ^= 1 << b;
            }
        }
        Mutation::Insert(p, bytes) => {
            let p = at(*p, m.len());
            m.splice(p..p, bytes.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let p = at(*p, m.len());
            let end = (p + n).min(m.len());
            m.drain(p..end);
        }
        Mutation::Splice(other, a, b) => {
            let o = &all[other % all.len()];
            let a = at(*a, m.len());
            let b = at(*b, o.len());
            m.truncate(a);
            m.extend_from_slice(&o[b..]);
        }
        Mutation::DuplicateLine(p, n) => {
            // A line of the header (before the first blank line).
            let head_end = m.windows(2).position(|w| w == b"\n\n").unwrap_or(m.len());
            let p = at(*p, head_end);
            let start = m[..p]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let end = m[p..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(m.len(), |i| p + i + 1);
            let line = m[start..end].to_vec();
            for _ in 0..*n {
                m.splice(start..start, line.iter().copied());
            }
        }
    }
    m
}

/// Parses and checks the time bound; any panic fails the test.
fn parse_bounded(raw: &[u8]) {
    let t = Instant::now();
    let r = kura::parse::parse_message(raw, Some(1_700_000_000));
    let took = t.elapsed();
    assert!(
        took < PARSE_BOUND,
        "a parse of {} bytes took {took:?}",
        raw.len()
    );
    if let Err(e) = r {
        assert!(!e.reason.is_empty());
    }
}

/// Reads `bytes` as an mbox file and checks that every message lies inside the
/// file: offsets increase, and a message's bytes are no more than the span up
/// to the next separator (unquoting and separators only remove bytes).
fn mbox_accounted(dir: &Path, bytes: &[u8]) {
    let path = dir.join("m.mbox");
    std::fs::write(&path, bytes).unwrap();
    let msgs: Vec<_> = kura::sources::MboxReader::open(&path, false, 0)
        .unwrap()
        .collect::<anyhow::Result<Vec<_>>>()
        .unwrap();
    let total: usize = msgs.iter().map(|m| m.bytes.len()).sum();
    assert!(
        total <= bytes.len(),
        "{total} message bytes > {}",
        bytes.len()
    );
    let ends = msgs
        .iter()
        .skip(1)
        .map(|m| m.offset as usize)
        .chain([bytes.len()]);
    for (m, end) in msgs.iter().zip(ends) {
        let start = m.offset as usize;
        assert!(start < end && end <= bytes.len(), "offset {start}..{end}");
        assert!(
            m.bytes.len() <= end - start,
            "message at {start} has {} bytes in a span of {}",
            m.bytes.len(),
            end - start
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_mail_never_crashes(
        pick in any::<usize>(),
        ops in proptest::collection::vec(mutation(), 1..6),
    ) {
        let all = samples();
        let mut m = all[pick % all.len()].clone();
        for op in &ops {
            m = apply(m, op, all);
        }
        parse_bounded(&m);
        let tmp = tempfile::tempdir().unwrap();
        mbox_accounted(tmp.path(), &m);
        let mut boxed = b"From x@example.jp Mon Jan  1 00:00:00 2024\n".to_vec();
        boxed.extend_from_slice(&m);
        boxed.extend_from_slice(b"\n\nFrom y@example.jp Mon Jan  1 00:00:00 2024\n");
        boxed.extend_from_slice(&m);
        mbox_accounted(tmp.path(), &boxed);
    }
}

#[test]
fn every_sample_parses_within_the_bound() {
    for m in samples() {
        parse_bounded(m);
    }
}

// ---------------------------------------------------------------------------
// Pathological inputs, imported with the real binary.

/// `kura rejects --format json` as (source, reason) pairs.
fn rejects(archive: &Path) -> Vec<(String, String)> {
    let o = run(kura(archive).args(["rejects", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Imports `paths` into a fresh archive under `dir`; the counts must add up.
fn import_checked(dir: &Path, paths: &[&Path]) -> (PathBuf, serde_json::Value) {
    let archive = dir.join("archive");
    let s = import(&archive, paths);
    assert_accounted(&s);
    (archive, s)
}

/// Peak RSS in KiB of `kura import` of `path` into a new archive, measured by
/// `/usr/bin/time -f %M`; `None` when that is not available. The counts of the
/// summary must add up.
fn import_peak_rss(dir: &Path, path: &Path) -> Option<(u64, serde_json::Value)> {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        eprintln!("skipping the memory check: /usr/bin/time is absent");
        return None;
    }
    let archive = dir.join("rss-archive");
    let o = run(std::process::Command::new(time)
        .args(["-f", "RSS=%M"])
        .arg(env!("CARGO_BIN_EXE_kura"))
        .arg("--archive")
        .arg(&archive)
        .args(["import", "--json"])
        .arg(path)
        .env_remove("KURA_ARCHIVE"));
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let kib = err
        .lines()
        .find_map(|l| l.strip_prefix("RSS="))
        .and_then(|n| n.trim().parse().ok())?;
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_accounted(&s);
    Some((kib, s))
}

const ONE_GIB_IN_KIB: u64 = 1 << 20;

fn deep_multipart(depth: usize) -> Vec<u8> {
    let mut m = String::from(
        "From: a@example.jp\nSubject: deep multipart\nMessage-ID: <deep-multipart@example.jp>\nMIME-Version: 1.0\n",
    );
    for i in 0..depth {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    m.push_str("Content-Type: text/plain\n\ndeep\n");
    for i in (0..depth).rev() {
        m.push_str(&format!("--b{i}--\n"));
    }
    m.into_bytes()
}

fn deep_rfc822(depth: usize) -> Vec<u8> {
    let mut m = String::from(
        "From: a@example.jp\nSubject: deep forward\nMessage-ID: <deep-rfc822@example.jp>\nMIME-Version: 1.0\n",
    );
    for i in 0..depth {
        m.push_str(&format!(
            "Content-Type: message/rfc822\n\nSubject: level {i}\n"
        ));
    }
    m.push_str("Content-Type: text/plain\n\ndeep\n");
    m.into_bytes()
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() / 3 * 4 + 4);
    for (i, chunk) in bytes.chunks(3).enumerate() {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * j)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
        if i % 19 == 18 {
            out.push('\n');
        }
    }
    out
}

#[test]
fn deep_mime_nesting_is_rejected_or_imported_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    // 100,000 levels of each: about 5 MB and 3 MB.
    std::fs::write(dir.join("multipart.eml"), deep_multipart(100_000)).unwrap();
    std::fs::write(dir.join("rfc822.eml"), deep_rfc822(100_000)).unwrap();
    // Within the limits: imported.
    std::fs::write(dir.join("ok-multipart.eml"), deep_multipart(50)).unwrap();
    std::fs::write(
        dir.join("ok-rfc822.eml"),
        deep_rfc822(kura::parse::MAX_NESTING),
    )
    .unwrap();
    // Deep nesting hidden inside a base64 forwarded message.
    let inner = deep_rfc822(20_000);
    let hidden = format!(
        "From: b@example.jp\nSubject: hidden\nMIME-Version: 1.0\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{}\n",
        b64(&inner)
    );
    std::fs::write(dir.join("hidden.eml"), hidden).unwrap();

    let t = Instant::now();
    let (archive, s) = import_checked(tmp.path(), &[&dir]);
    eprintln!("deep nesting import: {:?}: {s}", t.elapsed());
    assert_eq!(s["seen"], 5, "{s}");
    assert_eq!(s["new"], 2, "{s}");
    assert_eq!(s["rejected"], 3, "{s}");
    let rej = rejects(&archive);
    let reason = |name: &str| {
        rej.iter()
            .find(|(src, _)| src.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not rejected: {rej:?}"))
    };
    assert!(reason("/multipart.eml").contains("MIME parts"), "{rej:?}");
    assert!(reason("/rfc822.eml").contains("nested"), "{rej:?}");
    assert!(reason("/hidden.eml").contains("nest"), "{rej:?}");
    assert_eq!(count(&archive, "subject:\"deep forward\""), 1);
    assert_eq!(count(&archive, "subject:\"deep multipart\""), 1);

    if let Some((kib, s)) = import_peak_rss(tmp.path(), &dir) {
        eprintln!("deep nesting import: peak RSS {} MiB", kib >> 10);
        assert_eq!(s["rejected"], 3, "{s}");
        assert!(kib < ONE_GIB_IN_KIB, "peak RSS {kib} KiB");
    }
}

#[test]
fn a_million_recipients() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("many.eml");
    let mut m = String::from(
        "From: a@example.jp\nSubject: everyone\nMessage-ID: <everyone@example.jp>\nTo: ",
    );
    for i in 0..1_000_000 {
        if i > 0 {
            m.push_str(",\n ");
        }
        m.push_str(&format!("u{i}@example.jp"));
    }
    m.push_str("\n\nhello all\n");
    assert!(m.len() > 18 << 20);
    std::fs::write(&path, &m).unwrap();
    let t = Instant::now();
    let (archive, s) = import_checked(tmp.path(), &[&path]);
    eprintln!(
        "million recipients: {} bytes, {:?}: {s}",
        m.len(),
        t.elapsed()
    );
    assert_eq!(s["seen"], 1);
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(count(&archive, "subject:everyone"), 1);
    assert_eq!(count(&archive, "to:u999999@example.jp"), 1);
    if let Some((kib, _)) = import_peak_rss(tmp.path(), &path) {
        eprintln!("million recipients: peak RSS {} MiB", kib >> 10);
        assert!(kib < ONE_GIB_IN_KIB, "peak RSS {kib} KiB");
    }
}

/// An address whose domain is a run of 100,000 dots (or labels) is imported:
/// its parent domains in the index were a copy of the domain for each dot,
/// gigabytes for one message, and the indexer panicked.
#[test]
fn an_address_with_a_domain_of_100000_labels_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    let dots = ".".repeat(100_000);
    let labels = "a.".repeat(50_000);
    std::fs::write(
        dir.join("dots.eml"),
        format!("From: a@{dots}\nSubject: dots\nMessage-ID: <dots@example.jp>\n\nbody\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("labels.eml"),
        format!(
            "From: a@{labels}example.jp\nTo: b@{labels}jp\nSubject: labels\nMessage-ID: <labels@example.jp>\n\nbody\n"
        ),
    )
    .unwrap();
    let t = Instant::now();
    let (archive, s) = import_checked(tmp.path(), &[&dir]);
    eprintln!("domains of 100,000 labels: {:?}: {s}", t.elapsed());
    assert_eq!(s["new"], 2, "{s}");
    assert_eq!(count(&archive, "subject:dots"), 1);
    assert_eq!(count(&archive, "customer:example.jp"), 1);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

/// 40,000 copies of one Message-ID (a form mailer that sends every mail
/// with the same one), in an mbox and in a Maildir: each was checked
/// against every copy recorded before, and the import took minutes.
#[test]
fn copies_of_one_message_id_import_in_linear_time() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 20_000;
    let mbox = tmp.path().join("same-id.mbox");
    let mut m = String::new();
    let mut second = 0;
    for i in 0..n {
        if i == 1 {
            second = m.len();
        }
        m.push_str(&format!(
            "From form@example.jp Mon Jan 15 10:00:00 2024\nFrom: form@example.jp\nMessage-ID: <form@example.jp>\nSubject: inquiry {i}\n\nbody {i}\n\n"
        ));
    }
    std::fs::write(&mbox, &m).unwrap();
    let md = empty_maildir(tmp.path().join("maildir"));
    for i in 0..n {
        std::fs::write(
            md.join("cur").join(format!("{i}.form:2,S")),
            format!("From: form@example.jp\nMessage-ID: <form@example.jp>\nSubject: inquiry {i}\n\nbody {i}\n"),
        )
        .unwrap();
    }
    let t = Instant::now();
    let (_, s) = import_checked(tmp.path(), &[&mbox, &md]);
    eprintln!("{} copies of one id: {:?}: {s}", 2 * n, t.elapsed());
    assert_eq!(s["seen"], 2 * n, "{s}");
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(s["duplicates"], 2 * n - 1, "{s}");
    // The Maildir's first copy is the mbox's first, byte for byte.
    assert_eq!(s["conflicts"], 2 * n - 2, "{s}");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    // The mbox rewritten without its first message: re-read, each copy is
    // found again among those recorded from it, each in constant time.
    std::fs::write(&mbox, &m[second..]).unwrap();
    let t = Instant::now();
    let (_, s) = import_checked(tmp.path(), &[&mbox]);
    eprintln!("{} copies of one id re-read: {:?}: {s}", n - 1, t.elapsed());
    assert_eq!(
        (&s["seen"], &s["unchanged"]),
        (&(n - 1).into(), &(n - 1).into()),
        "{s}"
    );
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

#[test]
fn a_50_mb_header_line_is_rejected_by_size() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("long.eml");
    let mut m = b"From: a@example.jp\nSubject: long\nX-Long: ".to_vec();
    m.resize(m.len() + (50 << 20), b'x');
    m.extend_from_slice(b"\n\nbody\n");
    // 50 MB is under the 64 MiB limit: the message is parsed, and quickly.
    std::fs::write(&path, &m).unwrap();
    let t = Instant::now();
    let (archive, s) = import_checked(tmp.path(), &[&path]);
    eprintln!("50 MB header line: {:?}: {s}", t.elapsed());
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(count(&archive, "subject:long"), 1);
    // 70 MB is over it: rejected with the reason.
    m.splice(40..40, std::iter::repeat_n(b'y', 20 << 20));
    std::fs::write(&path, &m).unwrap();
    let archive2 = tmp.path().join("archive2");
    let s = import(&archive2, &[&path]);
    assert_accounted(&s);
    assert_eq!(s["rejected"], 1, "{s}");
    let rej = rejects(&archive2);
    assert!(rej[0].1.contains("64 MiB"), "{rej:?}");
}

#[test]
fn a_huge_mbox_message_is_rejected_without_being_held_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge.mbox");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let line = [b"x".repeat(999), b"\n".to_vec()].concat();
    writeln!(
        f,
        "From a Thu Jan  1 00:00:00 2024\nFrom: a@example.jp\nSubject: before\n\nsmall\n"
    )
    .unwrap();
    writeln!(
        f,
        "From b Thu Jan  1 00:00:00 2024\nFrom: b@example.jp\nSubject: huge\n"
    )
    .unwrap();
    // 256 MiB of body: four times the limit.
    for _ in 0..(256 << 20) / line.len() {
        f.write_all(&line).unwrap();
    }
    writeln!(
        f,
        "\nFrom c Thu Jan  1 00:00:00 2024\nFrom: c@example.jp\nSubject: after\n\nsmall\n"
    )
    .unwrap();
    drop(f);
    let Some((kib, s)) = import_peak_rss(tmp.path(), &path) else {
        return;
    };
    eprintln!("256 MiB mbox message: peak RSS {} MiB: {s}", kib >> 10);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{s}"
    );
    let archive = tmp.path().join("rss-archive");
    assert_eq!(count(&archive, "subject:before OR subject:after"), 2);
    let rej = rejects(&archive);
    assert!(rej[0].1.contains("64 MiB limit"), "{rej:?}");
    // Held whole, the message alone would be 256 MiB.
    assert!(kib < 200 << 10, "peak RSS {kib} KiB");
}

#[test]
fn a_base64_bomb_is_imported_and_its_text_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bomb.eml");
    // 30 MB of `A` base64-encoded: 40 MB of mail that decodes to 30 MB of text.
    let body = vec![b'A'; 30 << 20];
    let m = format!(
        "From: a@example.jp\nSubject: bomb\nMessage-ID: <bomb@example.jp>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{}\n",
        b64(&body)
    );
    assert!(m.len() < kura::parse::MAX_MESSAGE_SIZE);
    std::fs::write(&path, &m).unwrap();
    let t = Instant::now();
    let (archive, s) = import_checked(tmp.path(), &[&path]);
    let took = t.elapsed();
    eprintln!("base64 bomb: {} bytes, {took:?}: {s}", m.len());
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(count(&archive, "subject:bomb"), 1);
    let parsed = kura::parse::parse_message(m.as_bytes(), None).unwrap();
    assert_eq!(parsed.text.len(), kura::parse::MAX_INDEXED_TEXT);
}

#[test]
fn nul_bytes_and_invalid_utf8_in_headers_and_body() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nul.eml"),
        b"From: a\0b@example.jp\nSubject: nul\0here\nMessage-ID: <nul@example.jp>\n\nbody\0with\0nuls\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad-utf8.eml"),
        b"From: \xff\xfe <c@example.jp>\nSubject: bad \xc3\x28 utf8 \xe8\xab\nMessage-ID: <bad-utf8@example.jp>\n\n\xed\xa0\x80 body\n",
    )
    .unwrap();
    let (archive, s) = import_checked(tmp.path(), &[&dir]);
    assert_eq!(s["new"], 2, "{s}");
    assert_eq!(count(&archive, "id:nul@example.jp"), 1);
    assert_eq!(count(&archive, "from:c@example.jp"), 1);
    // Shown without a control character reaching the terminal.
    let o = run(kura(&archive).args(["show", "nul@example.jp"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!o.stdout.contains(&0), "a NUL byte reached the output");
}

#[test]
fn mbox_from_lines_inside_bodies() {
    // mboxo: an unquoted `From ` line after a non-empty line is body text
    // unless it is a complete From_ line (sender, weekday, month, day, time,
    // year: as mutt and Python read it); a From_-like line after a blank line
    // is a separator, even inside what the writer meant as one body (mboxo
    // cannot tell; mboxrd writers quote it).
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("box.mbox");
    let file = b"From a@example.jp Mon Jan  1 00:00:00 2024\n\
Subject: one\nMessage-ID: <one@example.jp>\n\nfirst line\nFrom here on, body\nFrom x@y at 10:00 in 2024\n\n\
From x@y Mon Jan 1 00:00:00 2024\nSubject: two\nMessage-ID: <two@example.jp>\n\nsecond\n\
From z@y Mon Jan 1 00:00:00 2024\nSubject: three\nMessage-ID: <three@example.jp>\n\nthird\n\n";
    std::fs::write(&path, file).unwrap();
    let msgs: Vec<_> = kura::sources::MboxReader::open(&path, false, 0)
        .unwrap()
        .map(|m| m.unwrap())
        .collect();
    assert_eq!(msgs.len(), 3);
    assert!(
        msgs[0]
            .bytes
            .ends_with(b"first line\nFrom here on, body\nFrom x@y at 10:00 in 2024\n")
    );
    assert_eq!(
        msgs[1].bytes,
        b"Subject: two\nMessage-ID: <two@example.jp>\n\nsecond\n"
    );
    assert!(msgs[2].bytes.starts_with(b"Subject: three\n"));
    let (archive, s) = import_checked(tmp.path(), &[&path]);
    assert_eq!(s["new"], 3, "{s}");
    assert_eq!(count(&archive, "body:\"from here on\""), 1);
}

/// An export whose separators have no date (`From sender` alone) is read
/// message by message, not as one message holding all the others; a message
/// appended later the same way is picked up where the last import stopped.
#[test]
fn an_mbox_of_dateless_separators_imports_each_message() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("export.mbox");
    let one = "From tanaka@kyowa.co.jp\nFrom: tanaka@kyowa.co.jp\nSubject: one\n\
               Message-ID: <d1@kyowa.co.jp>\n\n請求書を送ります\n\nFrom Tanaka\nThanks\n\n";
    let two = "From suzuki@kyowa.co.jp\nReturn-Path: <suzuki@kyowa.co.jp>\nFrom: suzuki@kyowa.co.jp\n\
               Subject: two\nMessage-ID: <d2@kyowa.co.jp>\n\n見積書です\n\n";
    std::fs::write(&path, format!("{one}{two}")).unwrap();
    // Not "being written": the file was not changed in the last minute.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    set_mtime(&path, old);
    let (archive, s) = import_checked(tmp.path(), &[&path]);
    assert_eq!(
        (s["seen"].as_u64(), s["new"].as_u64()),
        (Some(2), Some(2)),
        "{s}"
    );
    assert_eq!(ids(&archive, "請求書"), ["d1@kyowa.co.jp"]);
    assert_eq!(ids(&archive, "見積書"), ["d2@kyowa.co.jp"]);
    assert_eq!(count(&archive, "thanks"), 1, "a `From Tanaka` line is text");

    let three = "From sato@kyowa.co.jp\nSubject: three\nMessage-ID: <d3@kyowa.co.jp>\n\n納品書\n\n";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, three.as_bytes()).unwrap();
    drop(f);
    set_mtime(&path, old + std::time::Duration::from_secs(60));
    let s = import(&archive, &[&path]);
    assert_accounted(&s);
    assert_eq!(
        (s["new"].as_u64(), s["unchanged"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    assert_eq!(ids(&archive, "納品書"), ["d3@kyowa.co.jp"]);
    assert_eq!(count(&archive, "*"), 3);
}

#[test]
fn an_empty_mbox_and_an_empty_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.mbox"), b"").unwrap();
    std::fs::write(dir.join("blank.eml"), b"\n\r\n  \n").unwrap();
    // An empty mbox holds no message (named, or found in a folder); an empty
    // message file is rejected.
    let (archive, s) = import_checked(tmp.path(), &[&dir.join("empty.mbox"), &dir]);
    assert_eq!(s["seen"], 1, "{s}");
    assert_eq!(s["rejected"], 1, "{s}");
    let rej = rejects(&archive);
    assert!(rej[0].0.ends_with("blank.eml"), "{rej:?}");
    assert_eq!(rej[0].1, "empty message");
}

#[test]
fn cr_only_and_mixed_line_endings() {
    // CRLF and LF lines mixed; a bare CR inside an LF line stays in the line.
    let mixed = b"From: a@example.jp\r\nSubject: mixed endings\nMessage-ID: <mixed@example.jp>\r\n\r\nbody\nmore\rend\r\n";
    let p = kura::parse::parse_message(mixed, None).unwrap();
    assert_eq!(p.message_id, "mixed@example.jp");
    assert_eq!(p.subject, "mixed endings");
    assert!(p.text.contains("body"), "{:?}", p.text);
    let cr = b"From: a@example.jp\rSubject: old mac\rMessage-ID: <mac@example.jp>\r\rbody text\r";
    let p = kura::parse::parse_message(cr, None).unwrap();
    assert_eq!(p.subject, "old mac");
    assert_eq!(p.message_id, "mac@example.jp");
    assert!(p.text.contains("body text"), "{:?}", p.text);

    let Some(corpora) = corpora() else { return };
    // The corpus holds each message twice: CRLF (`_dos_`) and CR-only (`_mac_`).
    let dir = corpora.join("sisimai-crlf-cr/cur");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut pairs = 0;
    for mac in names
        .iter()
        .filter(|p| p.to_string_lossy().contains("_mac_"))
    {
        let name = mac.file_name().unwrap().to_string_lossy().into_owned();
        let tail = &name[name.find("_mac_").unwrap() + 5..];
        let Some(dos) = names.iter().find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.contains("_dos_") && n.ends_with(tail)
        }) else {
            continue;
        };
        let m = kura::parse::parse_message(&std::fs::read(mac).unwrap(), None)
            .unwrap_or_else(|e| panic!("{name}: {}", e.reason));
        let d = kura::parse::parse_message(&std::fs::read(dos).unwrap(), None).unwrap();
        assert!(!m.subject.is_empty(), "{name}: no subject");
        assert_eq!(m.subject, d.subject, "{name}");
        assert_eq!(m.from, d.from, "{name}");
        assert_eq!(m.message_id, d.message_id, "{name}");
        assert_eq!(m.date, d.date, "{name}");
        pairs += 1;
    }
    assert!(pairs >= 70, "only {pairs} CR/CRLF pairs");
}

#[test]
fn an_unreadable_maildir_file_is_reported_not_fatal_and_retried() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("Mail");
    std::fs::create_dir_all(md.join("cur")).unwrap();
    std::fs::create_dir_all(md.join("new")).unwrap();
    let ok = md.join("cur/1.host:2,S");
    let locked = md.join("cur/2.host:2,S");
    std::fs::write(&ok, b"From: a@example.jp\nSubject: fine\n\nok\n").unwrap();
    std::fs::write(&locked, b"From: a@example.jp\nSubject: locked\n\nno\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything: then kura runs as `nobody`, in folders it may use.
    let as_root = std::fs::read(&locked).is_ok();
    if as_root {
        for dir in [tmp.path(), &md, &md.join("cur"), &md.join("new")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        std::fs::set_permissions(&ok, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let archive = tmp.path().join("archive");
    let import = || {
        let mut c = kura(&archive);
        c.args(["import", "--json"]).arg(&md);
        if as_root {
            c.uid(65534).gid(65534);
        }
        let o = run(&mut c);
        let s: serde_json::Value =
            serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        (s, stderr(&o))
    };
    let (s, err) = import();
    assert!(err.contains("2.host"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_accounted(&s);
    assert_eq!(s["new"], 1, "{s}");
    assert_eq!(s["errors"], 1, "{s}");
    // Its status says so also when the reader of the summary stopped
    // reading (`kura import --json DIR | head -0`).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = kura(&archive);
    c.args(["import", "--json"]).arg(&md).stdout(writer);
    if as_root {
        c.uid(65534).gid(65534);
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Not recorded as imported: once readable, the next import takes it.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (s, err) = import();
    assert_eq!(s["new"], 1, "{s} {err}");
    assert_eq!(s["unchanged"], 1, "{s}");
    assert_eq!(s["errors"], 0, "{s} {err}");
    assert_accounted(&s);
}

#[test]
fn random_queries_never_crash_count() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    import(&archive, &[&fixtures().join("eml")]);
    let pieces: &[&str] = &[
        "請求書",
        "a",
        "\"",
        "(",
        ")",
        "-",
        "OR",
        "NOT",
        "AND",
        ":",
        "from:",
        "date:",
        "date:..",
        "2024-13-45",
        "*",
        "\\",
        "'",
        "id:<",
        ">",
        "attachment:",
        "tag:",
        "thread:",
        "ｾｲｷｭｳ",
        " ",
        "\t",
        "\u{1b}[31m",
        "\u{FFFD}",
        "🎉",
        "..",
        "7d",
        "99999999999y",
        "customer:",
        "mimetype:",
        "has:",
        "subject:\"",
        "((((",
        "))))",
        "--",
        "=?utf-8?b?",
        "\u{0}",
    ];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..200 {
        let n = 1 + next() % 8;
        let mut q = String::new();
        for _ in 0..n {
            if next() % 4 == 0 {
                // A random character, control characters included.
                let c = char::from_u32((next() % 0x3100) as u32).unwrap_or('x');
                q.push(c);
            } else {
                q.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
        }
        // Arguments cannot hold NUL bytes.
        let q = q.replace('\0', "");
        let o = run(kura(&archive).arg("count").arg("--").arg(&q));
        let code = o.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "query #{i} {q:?}: status {:?}: {}",
            o.status,
            stderr(&o)
        );
        let err = stderr(&o);
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "query #{i} {q:?}: {err}"
        );
    }
}

#[test]
fn a_damaged_mbox_gz_gives_its_readable_messages_and_an_error() {
    // Three messages of incompressible text, gzipped, cut at three quarters:
    // the damage is within the first few KB that decide what a file is.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = || {
        (0..600)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let c = (b'a' + (state % 26) as u8) as char;
                if i % 60 == 59 { '\n' } else { c }
            })
            .collect::<String>()
    };
    let mut mbox = String::new();
    for i in 0..3 {
        mbox.push_str(&format!(
            "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\nSubject: part {i}\nMessage-ID: <gz{i}@x.example>\n\n{}\n\n",
            noise()
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(mbox.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    assert!(
        gz.len() < 4096,
        "small enough to be damaged where it is sniffed"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("box.mbox.gz");
    std::fs::write(&file, &gz[..gz.len() * 3 / 4]).unwrap();
    // Found in a folder or named: the same, never passed over in silence.
    for (n, path) in [&dir, &file].into_iter().enumerate() {
        let o = run(kura(&tmp.path().join(format!("a{n}")))
            .args(["import", "--json"])
            .arg(path));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("box.mbox.gz: cannot read mbox at byte"),
            "{}",
            stderr(&o)
        );
        let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_accounted(&s);
        assert_eq!(
            (s["new"].as_u64(), s["rejected"].as_u64()),
            (Some(2), Some(0)),
            "{s}"
        );
    }
}

#[test]
fn a_padded_gzip_mbox_is_read_whole_and_a_pipe_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut mbox = String::new();
    for i in 0..2 {
        mbox.push_str(&format!(
            "From a@x.example Mon Mar  4 10:00:00 2024\nFrom: a@x.example\nSubject: part {i}\n\
             Message-ID: <pad{i}@x.example>\n\n請求書 {i}\n\n"
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(mbox.as_bytes()).unwrap();
    let mut gz = gz.finish().unwrap();
    // Tape padding after the gzip data: gzip -d reads past it.
    gz.extend([0u8; 512]);
    let file = tmp.path().join("padded.mbox.gz");
    std::fs::write(&file, &gz).unwrap();
    let archive = tmp.path().join("a");
    let s = import(&archive, &[&file]);
    assert_accounted(&s);
    assert_eq!((&s["new"], &s["errors"]), (&2.into(), &0.into()), "{s}");
    assert_eq!(count(&archive, "請求書"), 2);

    // A pipe (as `<(zcat x.mbox.gz)` gives) cannot be read again: named on
    // the command line, it is an error that names it, not passed over.
    let fifo = tmp.path().join("pipe.mbox");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo failed");
        return;
    }
    let o = run(kura(&archive).args(["import", "--quiet"]).arg(&fifo));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("pipe.mbox is not a regular file or folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mail_after_a_byte_order_mark_or_blank_lines_is_imported_and_kept_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("export");
    std::fs::create_dir_all(&src).unwrap();
    let mail = |id: &str| {
        format!(
            "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\nTo: info@example.co.jp\r\n\
             Subject: =?UTF-8?B?6KuL5rGC5pu4?=\r\nMessage-ID: <{id}@example.jp>\r\n\
             Date: Mon, 4 Mar 2024 10:00:00 +0900\r\n\r\n請求書をお送りします。\r\n"
        )
    };
    let sep = "From yamada@example.jp Mon Mar  4 10:00:00 2024\r\n";
    let files: [(&str, Vec<u8>); 4] = [
        (
            "bom.eml",
            [&b"\xEF\xBB\xBF"[..], mail("bom").as_bytes()].concat(),
        ),
        (
            "blank.eml",
            [&b"\r\n\r\n"[..], mail("blank").as_bytes()].concat(),
        ),
        (
            "bom.mbox",
            format!(
                "\u{feff}{sep}{}\r\n{sep}{}\r\n",
                mail("mbox-bom-1"),
                mail("mbox-bom-2")
            )
            .into_bytes(),
        ),
        (
            "blank.mbox",
            format!(
                "\n\n{sep}{}\r\n{sep}{}\r\n",
                mail("mbox-blank-1"),
                mail("mbox-blank-2")
            )
            .into_bytes(),
        ),
    ];
    for (name, bytes) in &files {
        std::fs::write(src.join(name), bytes).unwrap();
    }
    let (archive, s) = import_checked(tmp.path(), &[&src]);
    assert_eq!(
        (s["new"].as_u64(), s["rejected"].as_u64()),
        (Some(6), Some(0)),
        "{s}"
    );
    assert_eq!(rejects(&archive), vec![]);
    assert_eq!(count(&archive, "請求書"), 6);
    assert_eq!(count(&archive, "from:山田"), 6);
    // The originals are kept byte for byte, byte order mark included.
    let o = run(kura(&archive).args(["show", "--raw", "bom@example.jp"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, files[0].1);
}
