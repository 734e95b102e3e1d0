//! `kura config`: the effective configuration and where each value came from.

use crate::cli::{ConfigArgs, ConfigFormat, GlobalArgs};
use crate::config::{Config, Origin, Source};
use crate::customers::FREE_MAIL_DOMAINS;
use crate::output::sanitize;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Value<T: Serialize> {
    value: T,
    source: Source,
}

#[derive(Serialize)]
struct FreeMail {
    /// Built-in and extra, the effective list.
    value: Vec<String>,
    built_in: Vec<&'static str>,
    extra: Vec<String>,
    /// Where the extra ones came from ("default": none).
    source: Source,
}

#[derive(Serialize)]
struct View {
    /// The file read, `null` when none was found.
    file: Option<String>,
    /// How it was found: option (--config/KURA_CONFIG), user_config, archive.
    found_by: Option<Origin>,
    /// The places looked at, in order.
    searched: Vec<String>,
    internal_domains: Value<Vec<String>>,
    shared_address: Value<Option<String>>,
    free_mail_domains: FreeMail,
    /// When response and waiting times count (`09:00-18:00 Mon-Fri, 16
    /// holidays`), `null`: always (wall-clock time).
    working_hours: Value<Option<String>>,
    /// Names customers go by, by key as written (`{}` when none).
    customer_names: Value<std::collections::BTreeMap<String, Vec<String>>>,
    /// Web form services outside, whose mail is its Reply-To's.
    form_senders: Value<Vec<String>>,
    /// Consequences worth knowing (no internal domains, ...).
    notes: Vec<String>,
}

/// What the configuration implies that a reader may not expect.
pub fn notes(c: &Config) -> Vec<String> {
    let mut notes = Vec::new();
    if c.internal_domains.value.is_empty() {
        notes.push(
            "no internal_domains: every address is taken for a customer's (except the shared \
             address) and every message is inbound"
                .to_string(),
        );
    }
    if let Some(shared) = &c.shared_address.value
        && !c.internal_domains.value.is_empty()
        && !c.internal_domains.value.iter().any(|d| {
            shared
                .rsplit_once('@')
                .is_some_and(|(_, sd)| sd == d || sd.ends_with(&format!(".{d}")))
        })
    {
        notes.push(format!(
            "shared_address {shared} is not at an internal domain (it is staff all the same)"
        ));
    }
    let classifier = crate::customers::Classifier::new(c);
    for (key, _) in &c.customer_names.value {
        let staff = if key.contains('@') {
            classifier.is_internal(key)
        } else {
            classifier.is_internal(&format!("staff@{key}"))
        };
        if staff {
            notes.push(format!(
                "customer_names names {key}, which is staff, not a customer (ignored)"
            ));
        }
    }
    notes
}

pub fn run(global: &GlobalArgs, args: &ConfigArgs) -> Result<i32> {
    let archive = super::archive(global).ok();
    let c = super::config(global, archive.as_ref())?;
    if let Some(year) = args.days_off {
        return days_off(&c, year, args.format);
    }
    let mut value: Vec<String> = FREE_MAIL_DOMAINS.iter().map(|d| d.to_string()).collect();
    for d in &c.extra_free_mail_domains.value {
        if !value.contains(d) {
            value.push(d.clone());
        }
    }
    let view = View {
        file: c.file.as_ref().map(|(p, _)| p.display().to_string()),
        found_by: c.file.as_ref().map(|(_, o)| *o),
        searched: c.searched.iter().map(|p| p.display().to_string()).collect(),
        internal_domains: Value {
            value: c.internal_domains.value.clone(),
            source: c.internal_domains.source.clone(),
        },
        shared_address: Value {
            value: c.shared_address.value.clone(),
            source: c.shared_address.source.clone(),
        },
        free_mail_domains: FreeMail {
            value,
            built_in: FREE_MAIL_DOMAINS.to_vec(),
            extra: c.extra_free_mail_domains.value.clone(),
            source: c.extra_free_mail_domains.source.clone(),
        },
        working_hours: Value {
            value: c.working_hours.value.as_ref().map(|w| w.describe()),
            source: c.working_hours.source.clone(),
        },
        customer_names: Value {
            value: c.customer_names.value.iter().cloned().collect(),
            source: c.customer_names.source.clone(),
        },
        form_senders: Value {
            value: c.form_senders.value.clone(),
            source: c.form_senders.source.clone(),
        },
        notes: notes(&c),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        ConfigFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &view)?;
            writeln!(out)?;
        }
        ConfigFormat::Text => write_text(&mut out, &view)?,
    }
    out.flush()?;
    Ok(0)
}

/// A day off, in `kura config --days-off --format json`.
#[derive(Serialize)]
struct DayOff {
    date: String,
    weekday: String,
    /// The national holiday's name, `every year` or `listed`.
    why: String,
}

/// `kura config --days-off YEAR`: the days off of a year on working days.
fn days_off(c: &Config, year: i32, format: ConfigFormat) -> Result<i32> {
    let Some(w) = &c.working_hours.value else {
        anyhow::bail!(
            "no working hours are configured, so there are no days off (see working_hours and holidays in kura config)"
        );
    };
    let days: Vec<DayOff> = w
        .days_off(year)
        .into_iter()
        .map(|(d, why)| DayOff {
            date: d.format("%Y-%m-%d").to_string(),
            weekday: d.format("%a").to_string(),
            why,
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        ConfigFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &days)?;
            writeln!(out)?;
        }
        ConfigFormat::Text => {
            for d in &days {
                writeln!(out, "{} {} {}", d.date, d.weekday, d.why)?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(", "))
}

fn write_text(out: &mut impl Write, v: &View) -> Result<()> {
    match (&v.file, v.found_by) {
        (Some(f), Some(o)) => {
            let how = match o {
                Origin::Option => "--config or KURA_CONFIG",
                Origin::UserConfig => "user configuration",
                Origin::Archive => "in the archive",
            };
            writeln!(out, "# file: {} ({how})", sanitize(f))?;
        }
        _ => writeln!(
            out,
            "# file: none found (looked for {})",
            sanitize(&v.searched.join(", "))
        )?,
    }
    writeln!(
        out,
        "internal_domains = {}  # {}",
        sanitize(&toml_list(&v.internal_domains.value)),
        sanitize(&v.internal_domains.source.to_string())
    )?;
    match &v.shared_address.value {
        Some(a) => writeln!(
            out,
            "shared_address = {:?}  # {}",
            sanitize(a),
            sanitize(&v.shared_address.source.to_string())
        )?,
        None => writeln!(out, "# shared_address is not set  # default")?,
    }
    let fm = &v.free_mail_domains;
    let source = if fm.extra.is_empty() {
        "default".to_string()
    } else {
        format!("default, plus {} from {}", toml_list(&fm.extra), fm.source)
    };
    writeln!(
        out,
        "free_mail_domains = {}  # {}",
        sanitize(&toml_list(&fm.value)),
        sanitize(&source)
    )?;
    if !v.form_senders.value.is_empty() {
        writeln!(
            out,
            "form_senders = {}  # {}",
            sanitize(&toml_list(&v.form_senders.value)),
            sanitize(&v.form_senders.source.to_string())
        )?;
    }
    match &v.working_hours.value {
        Some(w) => writeln!(
            out,
            "# working hours: {}  # {}",
            sanitize(w),
            sanitize(&v.working_hours.source.to_string())
        )?,
        None => writeln!(
            out,
            "# working_hours is not set: response and waiting times are wall-clock  # default"
        )?,
    }
    if !v.customer_names.value.is_empty() {
        writeln!(
            out,
            "[customer_names]  # {}",
            sanitize(&v.customer_names.source.to_string())
        )?;
        for (key, names) in &v.customer_names.value {
            writeln!(out, "{:?} = {}", sanitize(key), sanitize(&toml_list(names)))?;
        }
    }
    for n in &v.notes {
        writeln!(out, "# note: {}", sanitize(n))?;
    }
    Ok(())
}
