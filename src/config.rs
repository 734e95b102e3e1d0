//! The configuration file: which mail domains are the company's own
//! (internal, staff), the shared address, and extra free-mail domains.
//!
//! One TOML file is read, the first found of: `--config FILE` (or
//! `KURA_CONFIG`), `$XDG_CONFIG_HOME/kura/config.toml` (else
//! `~/.config/kura/config.toml`), `ARCHIVE/config.toml`. No file is fine: then
//! nothing is internal and every address counts as a customer's. A file that
//! cannot be read or parsed is an error naming the file and the line.
//!
//! ```toml
//! internal_domains = ["minato-shokai.co.jp"]
//! shared_address = "support@minato-shokai.co.jp"
//! free_mail_domains = ["example-mail.jp"]   # added to the built-in list
//! working_hours = "09:00-12:00, 13:00-18:00"   # response and waiting times count these only
//! working_days = ["mon", "tue", "wed", "thu", "fri"]   # the default
//! holidays = ["japan", "12-29..01-03", "2025-08-13", "2024-12-28..2025-01-05"]
//!
//! # The names customers go by, where their mail's signatures do not say
//! # it well: the first is shown, each is looked for in internal mail
//! # (reports) as the customer's mention. Keys: a domain or a free-mail address.
//! [customer_names]
//! "meisei-kensetsu.co.jp" = "明星建設"
//! "k.tanaka@gmail.com" = ["田中工務店", "田中建築"]
//! ```

use crate::archive::Archive;
use crate::hours::{Key, WorkingHours};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file name looked for in the configuration directory and the archive.
pub const FILE_NAME: &str = "config.toml";

/// The file as written (every key optional; unknown keys are an error, so
/// that a misspelt key is not silently ignored). Values keep their place in
/// the file (`Spanned`), for an error about one to name its line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    internal_domains: Option<Vec<Spanned<String>>>,
    shared_address: Option<Spanned<String>>,
    free_mail_domains: Option<Vec<Spanned<String>>>,
    working_hours: Option<Spanned<String>>,
    working_days: Option<Spanned<Vec<Spanned<String>>>>,
    /// Dates as strings (`"2024-01-01"`, `"2024-12-28..2025-01-05"`) or as
    /// TOML dates (`2024-01-01`, unquoted).
    holidays: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    customer_names: Option<std::collections::BTreeMap<String, Spanned<Names>>>,
    form_senders: Option<Vec<Spanned<String>>>,
}

/// A customer's names as written: one, or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Not set anywhere: the built-in default.
    Default,
    /// Set in this file.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// How the configuration file was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `--config` or `KURA_CONFIG`.
    Option,
    /// `$XDG_CONFIG_HOME/kura/config.toml` or `~/.config/kura/config.toml`.
    UserConfig,
    /// `ARCHIVE/config.toml`.
    Archive,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file read, and how it was found; `None` when there was none.
    pub file: Option<(PathBuf, Origin)>,
    /// The places looked at, in order (for `kura config`).
    pub searched: Vec<PathBuf>,
    /// The company's own mail domains, lower case, without `@`; their
    /// subdomains are internal too.
    pub internal_domains: Setting<Vec<String>>,
    /// The shared mailbox's address, lower case (always internal).
    pub shared_address: Setting<Option<String>>,
    /// Free-mail and carrier domains added to [`crate::customers::FREE_MAIL_DOMAINS`].
    pub extra_free_mail_domains: Setting<Vec<String>>,
    /// When response and waiting times count (`working_hours`,
    /// `working_days`, `holidays`); `None`: always.
    pub working_hours: Setting<Option<WorkingHours>>,
    /// Names customers go by, by customer key as written (a domain or an
    /// address): the first is shown, each is looked for in internal mail.
    pub customer_names: Setting<Vec<(String, Vec<String>)>>,
    /// Addresses and domains (lower case, without `@`) of web form services
    /// outside: their mail is the Reply-To's, and they are no customer.
    pub form_senders: Setting<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            searched: Vec::new(),
            internal_domains: Setting {
                value: Vec::new(),
                source: Source::Default,
            },
            shared_address: Setting {
                value: None,
                source: Source::Default,
            },
            extra_free_mail_domains: Setting {
                value: Vec::new(),
                source: Source::Default,
            },
            working_hours: Setting {
                value: None,
                source: Source::Default,
            },
            customer_names: Setting {
                value: Vec::new(),
                source: Source::Default,
            },
            form_senders: Setting {
                value: Vec::new(),
                source: Source::Default,
            },
        }
    }
}

impl Config {
    /// Finds and reads the configuration: `explicit` (`--config`/`KURA_CONFIG`,
    /// which must exist), else the user's configuration directory, else the
    /// archive's `config.toml`, else the defaults.
    pub fn load(explicit: Option<&Path>, archive: Option<&Archive>) -> Result<Config> {
        if let Some(p) = explicit {
            if !p.is_file() {
                bail!(
                    "configuration file {} does not exist (named by --config or KURA_CONFIG)",
                    p.display()
                );
            }
            let mut c = Config::from_file(p, Origin::Option)?;
            c.searched = vec![p.to_path_buf()];
            return Ok(c);
        }
        let mut candidates = Vec::new();
        if let Some(p) = user_config_path() {
            candidates.push((p, Origin::UserConfig));
        }
        if let Some(a) = archive {
            candidates.push((a.root.join(FILE_NAME), Origin::Archive));
        }
        let searched: Vec<PathBuf> = candidates.iter().map(|(p, _)| p.clone()).collect();
        for (p, origin) in candidates {
            if p.is_file() {
                let mut c = Config::from_file(&p, origin)?;
                c.searched = searched;
                return Ok(c);
            }
        }
        Ok(Config {
            searched,
            ..Config::default()
        })
    }

    /// Reads one configuration file.
    pub fn from_file(path: &Path, origin: Origin) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut c = Config::parse(&text, path)?;
        c.file = Some((path.to_path_buf(), origin));
        Ok(c)
    }

    /// Parses configuration text; `path` names it in errors and sources.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        // `FILE:LINE: bad configuration: ...`, the line of the byte `at`.
        let bad = |at: Option<usize>, msg: &str| {
            let line = at.map(|at| text.get(..at).unwrap_or(text).matches('\n').count() + 1);
            match line {
                Some(l) => anyhow::anyhow!("{}:{l}: bad configuration: {msg}", path.display()),
                None => anyhow::anyhow!("{}: bad configuration: {msg}", path.display()),
            }
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| bad(e.span().map(|s| s.start), e.message().trim()))?;
        let from_file = Source::File(path.to_path_buf());
        let mut c = Config::default();
        if let Some(v) = raw.internal_domains {
            c.internal_domains = Setting {
                value: domains(&v, "internal_domains").map_err(|(at, m)| bad(Some(at), &m))?,
                source: from_file.clone(),
            };
        }
        if let Some(a) = raw.shared_address {
            let at = a.span().start;
            let a = a.into_inner().trim().to_lowercase();
            let valid = a
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'));
            if !valid {
                return Err(bad(
                    Some(at),
                    &format!("shared_address {a:?} is not a mail address"),
                ));
            }
            c.shared_address = Setting {
                value: Some(a),
                source: from_file.clone(),
            };
        }
        if let Some(v) = raw.free_mail_domains {
            c.extra_free_mail_domains = Setting {
                value: domains(&v, "free_mail_domains").map_err(|(at, m)| bad(Some(at), &m))?,
                source: from_file.clone(),
            };
        }
        if let Some(v) = raw.form_senders {
            c.form_senders = Setting {
                value: senders(&v).map_err(|(at, m)| bad(Some(at), &m))?,
                source: from_file.clone(),
            };
        }
        if let Some(table) = raw.customer_names {
            let mut value = Vec::with_capacity(table.len());
            for (key, names) in table {
                let at = names.span().start;
                let names: Vec<String> = match names.into_inner() {
                    Names::One(n) => vec![n],
                    Names::Many(v) => v,
                };
                let names: Vec<String> = names
                    .iter()
                    .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                if names.is_empty() || names.iter().any(String::is_empty) {
                    return Err(bad(
                        Some(at),
                        &format!("customer_names has an empty name for {key:?}"),
                    ));
                }
                // Each is searched for in internal mail: one character
                // (`A`, `光`) would be found in nearly all of it.
                if let Some(short) = names.iter().find(|n| n.chars().count() < 2) {
                    return Err(bad(
                        Some(at),
                        &format!(
                            "customer_names has {short:?} for {key:?}: a name of one character \
                             would be found in nearly every mail"
                        ),
                    ));
                }
                let k = key.trim().trim_start_matches('@').to_lowercase();
                if k.is_empty() || k.contains(char::is_whitespace) || !k.contains('.') {
                    return Err(bad(
                        Some(at),
                        &format!(
                            "customer_names has {key:?}, which is not a domain or a mail address"
                        ),
                    ));
                }
                value.push((k, names));
            }
            c.customer_names = Setting {
                value,
                source: from_file.clone(),
            };
        }
        match (raw.working_hours, raw.working_days, raw.holidays) {
            (Some(hours), days, holidays) => {
                let day_items: Option<&[Spanned<String>]> = days.as_ref().map(|d| &d.get_ref()[..]);
                let day_names: Option<Vec<String>> =
                    day_items.map(|d| d.iter().map(|s| s.get_ref().clone()).collect());
                let holiday_items: &[Spanned<toml::Value>] =
                    holidays.as_ref().map_or(&[], |h| h.get_ref());
                // A TOML date (`2024-01-01`, unquoted) is its text; anything
                // else not a string is refused by its TOML text.
                let holiday_texts: Vec<String> = holiday_items
                    .iter()
                    .map(|v| match v.get_ref() {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                let w = WorkingHours::parse(hours.get_ref(), day_names.as_deref(), &holiday_texts)
                    .map_err(|e| {
                        let at = match e.key {
                            Key::Hours => Some(hours.span().start),
                            Key::Days => days.as_ref().map(|d| d.span().start),
                            Key::Day(i) => day_items.and_then(|d| d.get(i)).map(|d| d.span().start),
                            Key::Holiday(i) => holiday_items.get(i).map(|h| h.span().start),
                        };
                        bad(at, &e.message)
                    })?;
                c.working_hours = Setting {
                    value: Some(w),
                    source: from_file,
                };
            }
            (None, days, holidays) => {
                if let Some(at) = days
                    .map(|d| d.span().start)
                    .or(holidays.map(|h| h.span().start))
                {
                    return Err(bad(
                        Some(at),
                        "working_days and holidays need working_hours (\"09:00-18:00\")",
                    ));
                }
            }
        }
        Ok(c)
    }
}

/// Domains as configured, normalised: lower case, no `@` or trailing dot.
/// A bad one is refused with its place in the file.
fn domains(v: &[Spanned<String>], key: &str) -> Result<Vec<String>, (usize, String)> {
    let mut out = Vec::with_capacity(v.len());
    for spanned in v {
        let d = spanned.get_ref();
        let n = d
            .trim()
            .trim_start_matches('@')
            .trim_end_matches('.')
            .to_lowercase();
        if n.is_empty() || n.contains('@') || n.contains(char::is_whitespace) {
            return Err((
                spanned.span().start,
                format!("{key} has {d:?}, which is not a domain"),
            ));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// `form_senders` as configured: each a mail address (lower case) or a
/// domain (normalised as [`domains`] does).
fn senders(v: &[Spanned<String>]) -> Result<Vec<String>, (usize, String)> {
    let mut out = Vec::with_capacity(v.len());
    for spanned in v {
        let s = spanned.get_ref().trim().to_lowercase();
        let sender = match s.split_once('@') {
            Some((local, domain)) if !local.is_empty() => {
                let ok = !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !s.contains(char::is_whitespace);
                ok.then(|| s.clone())
            }
            _ => domains(std::slice::from_ref(spanned), "form_senders")
                .ok()
                .and_then(|d| d.into_iter().next())
                .filter(|d| d.contains('.')),
        };
        let Some(sender) = sender else {
            return Err((
                spanned.span().start,
                format!(
                    "form_senders has {:?}, which is not a mail address or a domain",
                    spanned.get_ref()
                ),
            ));
        };
        if !out.contains(&sender) {
            out.push(sender);
        }
    }
    Ok(out)
}

/// `$XDG_CONFIG_HOME/kura/config.toml`, else `~/.config/kura/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("kura").join(FILE_NAME));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/kura").join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let p = Path::new("/etc/kura.toml");
        let c = Config::parse(
            "internal_domains = [\"Minato-Shokai.co.jp\", \"@minato.example.\"]\n\
             shared_address = \" Support@Minato-Shokai.co.jp\"\n\
             free_mail_domains = [\"mail.example.jp\"]\n",
            p,
        )
        .unwrap();
        assert_eq!(
            c.internal_domains.value,
            ["minato-shokai.co.jp", "minato.example"]
        );
        assert_eq!(c.internal_domains.source, Source::File(p.to_path_buf()));
        assert_eq!(
            c.shared_address.value.as_deref(),
            Some("support@minato-shokai.co.jp")
        );
        assert_eq!(c.extra_free_mail_domains.value, ["mail.example.jp"]);
    }

    #[test]
    fn unset_keys_are_defaults() {
        let c = Config::parse("shared_address = \"info@x.co.jp\"\n", Path::new("a.toml")).unwrap();
        assert!(c.internal_domains.value.is_empty());
        assert_eq!(c.internal_domains.source, Source::Default);
        assert_eq!(c.shared_address.source.to_string(), "a.toml");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = Config::parse(
            "# kura\ninternal_domains = [\"a.co.jp\"]\nshared_address = \n",
            Path::new("/x/config.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("/x/config.toml:3:"), "{e}");
        let e = Config::parse("internal_domain = [\"a.jp\"]\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:1:") && e.contains("internal_domain"),
            "{e}"
        );
        let e = Config::parse("shared_address = \"nobody\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a mail address"), "{e}");
        let e = Config::parse("internal_domains = \"a.jp\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1:"), "{e}");
    }

    #[test]
    fn a_value_refused_after_the_toml_parses_is_named_by_its_line() {
        let p = Path::new("c.toml");
        for (text, line, why) in [
            (
                "internal_domains = [\n  \"a.jp\",\n  \"x y\",\n]\n",
                3,
                "not a domain",
            ),
            ("\nshared_address = \"nobody\"\n", 2, "not a mail address"),
            ("\n\nworking_hours = \"12-12\"\n", 3, "ends when it starts"),
            (
                "working_hours = \"9-18\"\nworking_days = [\"mon\",\n \"someday\"]\n",
                3,
                "no weekday",
            ),
            (
                "working_hours = \"9-18\"\n\nworking_days = []\n",
                3,
                "working_days is empty",
            ),
            (
                "working_hours = \"9-18\"\nholidays = [\n  \"japan\",\n  \"08-16..08-13\",\n]\n",
                4,
                "the wrong way round",
            ),
            ("\nholidays = [\"japan\"]\n", 2, "need working_hours"),
            (
                "form_senders = [\n  \"form.run\",\n  \"noreply@\",\n]\n",
                3,
                "not a mail address or a domain",
            ),
            (
                "form_senders = [\"localhost\"]\n",
                1,
                "not a mail address or a domain",
            ),
        ] {
            let e = Config::parse(text, p).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("c.toml:{line}: bad configuration: ")) && e.contains(why),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn form_senders_are_addresses_or_domains() {
        let c = Config::parse(
            "form_senders = [\" NoReply@Formzu.net \", \"@form.run\", \"form.run.\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.form_senders.value, ["noreply@formzu.net", "form.run"]);
    }

    #[test]
    fn holidays_may_be_toml_dates() {
        let p = Path::new("c.toml");
        let c = Config::parse(
            "working_hours = \"9-18\"\nholidays = [2024-01-01, \"2024-12-28..2025-01-05\"]\n",
            p,
        )
        .unwrap();
        let w = WorkingHours::parse(
            "9-18",
            None,
            &[
                "2024-01-01".to_string(),
                "2024-12-28..2025-01-05".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(c.working_hours.value, Some(w));
        for (holiday, shown) in [
            ("20240101", "\"20240101\""),
            ("2024-01-01T09:00:00", "2024-01-01T09:00:00"),
        ] {
            let e = Config::parse(
                &format!("working_hours = \"9-18\"\nholidays = [{holiday}]\n"),
                p,
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(shown) && e.contains("not a date"), "{e}");
        }
    }

    #[test]
    fn missing_explicit_file_is_an_error_missing_default_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(Config::load(Some(&missing), None).is_err());
        let archive = Archive {
            root: dir.path().to_path_buf(),
        };
        // The user's configuration directory may hold a file; only check the
        // archive's when it does not.
        if user_config_path().is_none_or(|p| !p.is_file()) {
            let c = Config::load(None, Some(&archive)).unwrap();
            assert!(c.file.is_none());
            std::fs::write(
                dir.path().join(FILE_NAME),
                "internal_domains = [\"a.co.jp\"]\n",
            )
            .unwrap();
            let c = Config::load(None, Some(&archive)).unwrap();
            assert_eq!(c.file.map(|f| f.1), Some(Origin::Archive));
            assert_eq!(c.internal_domains.value, ["a.co.jp"]);
        }
    }
}
