//! The query language: parsed to an AST ([`ast`], [`parser`]) and run against
//! the index and the store ([`exec`]).

pub mod ast;
pub mod exec;
pub mod parser;

pub use ast::{DateBound, Field, Query};
pub use parser::{ParseError, parse};

use anyhow::{Result, bail};

/// The instants (unix seconds) the `--since` and `--until` of `export` and
/// `report` stand for: the start of the `since` period, and the end of the
/// `until` period (exclusive; a day, month or year given is included). The
/// forms are those of the query language's `date:` (2024-03-05, 2024-03,
/// 2024, 3m, ...), in local time unless `utc`.
pub fn date_range(
    since: Option<&str>,
    until: Option<&str>,
    utc: bool,
) -> Result<(Option<i64>, Option<i64>)> {
    let now = chrono::Utc::now();
    let bound = |text: String, which: &str| -> Result<(Option<i64>, Option<i64>)> {
        match parse(&text, now, utc) {
            Ok(Query::Date { start, end }) => {
                Ok((start.map(|d| d.timestamp()), end.map(|d| d.timestamp())))
            }
            Ok(_) => bail!("--{which} takes one date, e.g. 2024-03-05, 2024-03 or 3m"),
            Err(e) => bail!(
                "bad --{which}: {}",
                e.message.replace(parser::RANGE_HINT, "")
            ),
        }
    };
    // One date each: a range was read as a broken one (`A..B..`), or
    // quietly as its end. `〜` and `～` are `..` typed on a Japanese keyboard.
    for (value, which) in [(since, "since"), (until, "until")] {
        let range = |v: &str| {
            let v = crate::hours::half_width(v);
            v.contains("..") || v.contains(['〜', '～'])
        };
        if value.is_some_and(range) {
            bail!(
                "--{which} takes one date, e.g. 2024-03-05, 2024-03 or 3m, not a range (--since A --until B)"
            );
        }
    }
    let start = match since {
        Some(s) => bound(format!("date:{}..", s.trim()), "since")?.0,
        None => None,
    };
    let end = match until {
        Some(s) => {
            let (s0, e0) = bound(format!("date:{}", s.trim()), "until")?;
            // A relative date ("3m") is an instant: until then.
            e0.or(s0)
        }
        None => None,
    };
    check_range(start, end)?;
    Ok((start, end))
}

/// A `--since`/`--until` range that ends before it starts (instants, the
/// end exclusive) is an error: it could match nothing.
fn check_range(start: Option<i64>, end: Option<i64>) -> Result<()> {
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        bail!("--until ends before --since starts: nothing could match");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::date_range;

    #[test]
    fn since_and_until_take_the_forms_of_date_and_include_the_until_period() {
        let day = |s: &str| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp()
        };
        let r = |s: Option<&str>, u: Option<&str>| date_range(s, u, true);
        assert_eq!(
            r(Some("2024-03-05"), Some("2024-03-05")).unwrap(),
            (Some(day("2024-03-05")), Some(day("2024-03-06")))
        );
        assert_eq!(
            r(Some("2024-03"), Some("2024-04")).unwrap(),
            (Some(day("2024-03-01")), Some(day("2024-05-01")))
        );
        assert_eq!(
            r(None, Some("2024")).unwrap(),
            (None, Some(day("2025-01-01")))
        );
        // A relative date is an instant, for either bound.
        let (s, u) = r(Some("3m"), Some("1d")).unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!((now - 100 * 86_400..now - 80 * 86_400).contains(&s.unwrap()));
        assert!((now - 86_400 - 60..=now - 86_400 + 60).contains(&u.unwrap()));
        for (s, u, why) in [
            (Some("2024-13-01"), None, "bad --since"),
            (None, Some("yesterday-ish"), "bad --until"),
            (Some("2024-03-05 from:a"), None, "--since takes one date"),
            (Some("from:a"), None, "bad --since"),
            (Some("2024-03-06"), Some("2024-03-05"), "ends before"),
        ] {
            let e = format!("{:#}", r(s, u).unwrap_err());
            assert!(e.contains(why), "{s:?} {u:?}: {e}");
        }
        // A bad date's hint names no range, which --since does not take.
        let e = format!("{:#}", r(Some("foo"), None).unwrap_err());
        assert!(e.ends_with("(12h, 7d, 2w, 3m, 1y)"), "{e}");
    }

    /// A range typed with a wave dash (`〜`, as `..` in a query) is refused
    /// like one typed with `..`: `--until 2023〜2024` was read quietly as
    /// the end of 2024.
    #[test]
    fn since_and_until_refuse_a_range_typed_with_a_wave_dash() {
        let r = |s: Option<&str>, u: Option<&str>| date_range(s, u, true);
        for (s, u) in [
            (None, Some("２０２３〜２０２４")),
            (None, Some("2023～2024")),
            (Some("２０２４〜"), None),
            (Some("2023〜2024"), None),
            (None, Some("２０２３．．２０２４")),
        ] {
            let e = format!("{:#}", r(s, u).unwrap_err());
            assert!(e.contains("not a range"), "{s:?} {u:?}: {e}");
        }
        assert_eq!(
            r(Some("２０２４－０３"), Some("２０２４－０３")).unwrap(),
            r(Some("2024-03"), Some("2024-03")).unwrap()
        );
    }

    /// A bad date typed in full width is quoted as typed.
    #[test]
    fn since_and_until_quote_a_full_width_date_as_typed() {
        for (s, u, quoted) in [
            (Some("２０２４－１３"), None, "'２０２４－１３'"),
            (None, Some("２０２４／０２／３０"), "'２０２４／０２／３０'"),
        ] {
            let e = format!("{:#}", date_range(s, u, true).unwrap_err());
            assert!(e.contains(quoted), "{s:?} {u:?}: {e}");
        }
    }
}
