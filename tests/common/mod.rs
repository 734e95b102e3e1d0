//! Test harness: runs the real `kura` binary against temporary archives.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample mailbox.
pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// The four folders of the sample mailbox (`maildir`, `mbox`, `eml`, `broken`).
pub fn fixture_folders() -> Vec<PathBuf> {
    ["maildir", "mbox", "eml", "broken"]
        .iter()
        .map(|d| fixtures().join(d))
        .collect()
}

/// Imports the whole sample mailbox into `archive`; returns the summary.
pub fn import_fixtures(archive: &Path) -> serde_json::Value {
    let folders = fixture_folders();
    let paths: Vec<&Path> = folders.iter().map(PathBuf::as_path).collect();
    import(archive, &paths)
}

/// The shared real-mail corpora beside the repository, when present.
pub fn corpora() -> Option<PathBuf> {
    let p = root().join("../shared/corpora");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/corpora is absent");
        None
    }
}

/// The synthetic corpus generator of ../shared/tools, when present (needs python3).
pub fn gen_corpus() -> Option<PathBuf> {
    let p = root().join("../shared/tools/gen_corpus.py");
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if p.is_file() && python {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/tools/gen_corpus.py or python3 is absent");
        None
    }
}

/// Writes a synthetic mailbox of `n` messages into `dir` (maildir) with its
/// truth file beside it; returns the truth JSON.
pub fn synthetic(dir: &Path, n: usize, seed: u64) -> Option<serde_json::Value> {
    let gen_py = gen_corpus()?;
    let out = Command::new("python3")
        .arg(gen_py)
        .args(["--out"])
        .arg(dir)
        .args([
            "--messages",
            &n.to_string(),
            "--format",
            "maildir",
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .expect("run gen_corpus.py");
    assert!(
        out.status.success(),
        "gen_corpus failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth =
        std::fs::read_to_string(format!("{}.truth.json", dir.display())).expect("truth file");
    Some(serde_json::from_str(&truth).expect("truth json"))
}

/// A `kura` command on `archive`, with a clean environment. The local time
/// zone is Japan's, spelled as a POSIX rule (`JST-9`) so that it needs no
/// time zone database on the machine.
pub fn kura(archive: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kura"));
    c.arg("--archive").arg(archive);
    c.env_remove("KURA_ARCHIVE")
        .env("NO_COLOR", "1")
        .env("TZ", "JST-9");
    c
}

/// Runs and returns the output, whatever the status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run kura")
}

/// Runs `kura reindex` on `archive`, asserts that it succeeded, and returns
/// what it said (its summary line).
pub fn reindex(archive: &Path) -> String {
    let o = run(kura(archive).arg("reindex"));
    assert!(o.status.success(), "reindex failed: {}", stderr(&o));
    stderr(&o)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The rows of `kura rejects --format json`; panics on failure.
pub fn listed_rejects(archive: &Path) -> Vec<serde_json::Value> {
    let o = run(kura(archive).args(["rejects", "--format", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("rejects JSON");
    list.as_array().expect("a JSON array").clone()
}

/// Runs `kura import --json PATHS` and returns the summary; panics on failure.
pub fn import(archive: &Path, paths: &[&Path]) -> serde_json::Value {
    import_cmd(kura(archive), paths)
}

/// [`import`] with one environment variable set (the testing aids).
pub fn import_with_env(
    archive: &Path,
    (key, value): (&str, &str),
    paths: &[&Path],
) -> serde_json::Value {
    let mut c = kura(archive);
    c.env(key, value);
    import_cmd(c, paths)
}

fn import_cmd(mut cmd: Command, paths: &[&Path]) -> serde_json::Value {
    let o = run(cmd.arg("import").arg("--json").args(paths));
    assert!(
        o.status.success(),
        "import failed ({:?}): {}",
        o.status,
        stderr(&o)
    );
    serde_json::from_str(&stdout(&o)).expect("summary json")
}

/// Every message of the archive `cmd` (a [`kura`] command) runs on, as
/// pairs of its `key` field and its date in UTC, sorted (`kura search --utc`).
pub fn dates_by(mut cmd: Command, key: &str) -> Vec<(String, String)> {
    let o = run(cmd.args(["search", "--format", "json", "--utc", "*"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("search JSON");
    let mut dates: Vec<(String, String)> = v
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|m| {
            let field = |name: &str| m[name].as_str().unwrap_or_default().to_string();
            (field(key), field("date"))
        })
        .collect();
    dates.sort();
    dates
}

/// `kura count QUERY` as a number.
pub fn count(archive: &Path, query: &str) -> u64 {
    let o = run(kura(archive).arg("count").arg("--").arg(query));
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "count {query}: {}",
        stderr(&o)
    );
    stdout(&o).trim().parse().expect("a number")
}

/// Message-IDs matching a query, sorted.
pub fn ids(archive: &Path, query: &str) -> Vec<String> {
    let o = run(kura(archive)
        .args(["search", "--format", "ids", "--"])
        .arg(query));
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "search {query}: {}",
        stderr(&o)
    );
    let mut v: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Summary counts add up: seen == new + duplicates + rejected + unchanged + erased.
pub fn assert_accounted(s: &serde_json::Value) {
    let g = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary has no {k}: {s}"))
    };
    assert_eq!(
        g("seen"),
        g("new") + g("duplicates") + g("rejected") + g("unchanged") + g("erased"),
        "counts do not add up: {s}"
    );
}

/// `kura check` on `archive` exits 0 (`when` says at which point, if it fails).
pub fn assert_check_passes(archive: &Path, when: &str) {
    let o = run(kura(archive).arg("check"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "check failed {when}: {}{}",
        stdout(&o),
        stderr(&o)
    );
}

/// Changes the index of archive `a` behind kura's back with `change`,
/// committed as kura commits (the same batch payload).
pub fn change_index(a: &Path, change: impl FnOnce(&tantivy::IndexWriter, &kura::index::Fields)) {
    let index = kura::index::open_existing(&a.join("index")).unwrap();
    let fields = kura::index::fields_of(&index).unwrap();
    let batch = kura::index::committed_batch(&index).unwrap();
    let mut w = index.writer_with_num_threads(1, 32 << 20).unwrap();
    change(&w, &fields);
    kura::index::commit(&mut w, batch).unwrap();
    w.wait_merging_threads().unwrap();
}

/// Sets the modification time of the file at `path`.
pub fn set_mtime(path: &Path, when: std::time::SystemTime) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(when).unwrap();
}

/// Makes `md` an empty Maildir (`cur/`, `new/`, `tmp/`) and returns it.
pub fn empty_maildir(md: PathBuf) -> PathBuf {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    md
}

/// Stores `raw` as a reject of the archive, as an import of an older kura
/// whose parser refused it would have; returns where its bytes are.
pub fn add_reject(a: &Path, source: &str, raw: &[u8]) -> (u32, u64, u32) {
    let db = rusqlite::Connection::open(a.join("kura.sqlite")).unwrap();
    let meta = |key: &str| -> u64 {
        db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .parse()
        .unwrap()
    };
    let (pack, len) = (meta("pack") as u32, meta("pack_len"));
    let c = kura::pack::compress(raw).unwrap();
    let mut w = kura::pack::PackWriter::open(&a.join("originals"), pack, len).unwrap();
    let at = w.append(&c.frame).unwrap();
    let (pack, len) = w.sync().unwrap();
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'pack_len'",
        [len.to_string()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO rejects (source, mbox_offset, reason, size, raw_hash, pack, pack_offset, pack_len, time, batch)
         VALUES (?1, NULL, 'old parser bug', ?2, ?3, ?4, ?5, ?6, 0, 1)",
        rusqlite::params![source, raw.len() as i64, c.hash.to_vec(), pack, at.offset as i64, at.len],
    )
    .unwrap();
    (at.pack, at.offset, at.len)
}
