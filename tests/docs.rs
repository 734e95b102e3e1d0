//! The committed man pages and completions are what the code generates.
//! `KURA_UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::path::Path;

fn check(dir: &str, files: Vec<(String, Vec<u8>)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let update = std::env::var_os("KURA_UPDATE_DOCS").is_some();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, contents) in &files {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, contents).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(contents) {
            stale.push(name.clone());
        }
    }
    // No committed file that the code no longer generates.
    let known: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !known.contains(&name.as_str()) {
            if update {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{dir:?} is out of date: {stale:?}; run KURA_UPDATE_DOCS=1 cargo test --test docs"
    );
}

#[test]
fn man_pages_are_up_to_date() {
    let pages = kura::docs::man_pages().unwrap();
    assert!(pages.iter().any(|(n, _)| n == "kura-search.1"));
    let main = String::from_utf8(pages[0].1.clone()).unwrap();
    for needle in ["Exit status", "KURA_ARCHIVE", "kura.sqlite"] {
        assert!(main.contains(needle), "kura.1 lacks {needle}");
    }
    let search = pages.iter().find(|(n, _)| n == "kura-search.1").unwrap();
    let search = String::from_utf8_lossy(&search.1);
    for needle in ["customer:", "date:", "message_id"] {
        assert!(search.contains(needle), "kura-search.1 lacks {needle}");
    }
    check("man", pages);
}

#[test]
fn completions_are_up_to_date() {
    check("completions", kura::docs::completions());
}

/// The formats `--help` lists say what each command prints: `report
/// --format json` prints one object, but `report --help` (and `pending
/// --help`, which has no `--show`) said "One JSON array (one object with
/// --show)", the words of `customers`, whose list of formats they share.
#[test]
fn the_json_format_says_which_commands_print_an_object() {
    let pages = kura::docs::man_pages().unwrap();
    for name in ["kura-customers.1", "kura-pending.1", "kura-report.1"] {
        let (_, text) = pages.iter().find(|(n, _)| n == name).unwrap();
        let text = String::from_utf8_lossy(text);
        let line = text
            .lines()
            .find(|l| l.starts_with("json:"))
            .unwrap_or_else(|| panic!("{name} lists no json format"));
        assert!(
            line.contains("array") && line.contains("object for report"),
            "{name}: {line}"
        );
    }
}
