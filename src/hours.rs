//! Working hours: the part of the week the company answers mail in, for
//! `kura report` and `kura pending` to count response and waiting times in.
//! A mail that arrives on Friday at 19:00 and is answered on Monday at 9:30
//! waited 30 minutes of working time (with 9:00-18:00, Monday to Friday),
//! not 62 and a half hours. Configured by `working_hours` (one period of a
//! day or several: a lunch break; a night shift counts on the day it
//! starts), `working_days` and `holidays` (dates,
//! days off every year, Japan's national holidays from [`crate::holidays`])
//! in [`crate::config`]; without them, times are wall-clock.
//!
//! Times are counted on the local wall clock (`TZ`), which reports name: a
//! day's working hours are its periods (`09:00-12:00`, `13:00-18:00`) as the
//! office clock shows them. A daylight-saving change, at night, moves no office hour; working
//! hours that span the change (`00:00-24:00` on a Sunday in Europe) count
//! the hour the clock skips, or not the one it repeats.

use crate::config::Config;
use crate::parse::number_of;
use crate::zone::Zone;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use std::collections::BTreeSet;

/// How `report` and `pending` measure the time between two instants.
#[derive(Debug, Clone, Copy)]
pub enum Clock<'a> {
    /// Wall-clock time.
    Wall,
    /// Working time, on the local clock.
    Working(&'a WorkingHours),
}

impl<'a> Clock<'a> {
    /// Working time when `config` sets working hours, unless `wall_clock`
    /// (`--wall-clock`) asks for wall-clock time.
    pub fn of(config: &'a Config, wall_clock: bool) -> Clock<'a> {
        match &config.working_hours.value {
            Some(w) if !wall_clock => Clock::Working(w),
            _ => Clock::Wall,
        }
    }

    /// Seconds from `from` to `to` (0 when `to` is not after `from`).
    pub fn elapsed(self, from: i64, to: i64) -> i64 {
        match self {
            Clock::Wall => to.saturating_sub(from).max(0),
            Clock::Working(w) => w.elapsed(from, to, Zone::Local),
        }
    }

    /// Seconds in a day: a working day's for working time.
    fn day(self) -> i64 {
        match self {
            Clock::Wall => 86_400,
            Clock::Working(w) => w.day_length(),
        }
    }

    /// Parses a duration as [`crate::status::parse_duration`] does; in
    /// working time, a day (`3d`) is a working day and a week (`1w`) the
    /// working days of one.
    pub fn parse_duration(self, s: &str) -> anyhow::Result<i64> {
        let week = match self {
            Clock::Wall => 7 * 86_400,
            Clock::Working(w) => self.day() * w.days_a_week(),
        };
        crate::status::parse_duration_in(s, self.day(), week)
    }

    /// A duration for people (`3d 4h`); in working time, in working days.
    pub fn format(self, seconds: i64) -> String {
        crate::status::format_duration_in(seconds, self.day())
    }

    /// The working hours counted and the clock they are read on (`09:00-18:00
    /// Mon-Fri, 7 holidays, UTC+09:00`), `None` for wall-clock time.
    pub fn working_hours(self) -> Option<String> {
        match self {
            Clock::Wall => None,
            Clock::Working(w) => Some(format!(
                "{}, UTC{}",
                w.describe(),
                chrono::Local::now().offset()
            )),
        }
    }
}

/// The longest holiday range accepted (`2024-12-28..2025-01-05`): a longer
/// one is taken for a typing error.
const MAX_HOLIDAY_RANGE_DAYS: i64 = 366;

/// The longest range of days off every year (`12-29..01-03`): a longer
/// one is most likely typed the wrong way round (`08-16..08-13`, all year
/// but three days).
const MAX_YEARLY_RANGE_DAYS: i64 = 100;

/// How `holidays` names Japan's national holidays ([`crate::holidays`]).
const NATIONAL: [&str; 3] = ["japan", "jp", "祝日"];

/// A value of the configuration [`WorkingHours::parse`] refuses: which one
/// (for the configuration to name its line) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: Key,
    /// Why, naming the value as it was typed.
    pub message: String,
}

/// Which key of the configuration a [`Refusal`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `working_hours`.
    Hours,
    /// `working_days`, as a whole.
    Days,
    /// The item of `working_days` at this index.
    Day(usize),
    /// The item of `holidays` at this index.
    Holiday(usize),
}

/// When the company works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    /// The working periods of a day (`09:00-12:00`, `13:00-18:00`), seconds
    /// after midnight, in order, none overlapping another; a night shift
    /// ends after the day does (`22:00-06:00` is 79200..108000), and before
    /// the next day's first period starts.
    periods: Vec<(u32, u32)>,
    /// Working weekdays, Monday first.
    days: [bool; 7],
    /// Days off that would be working days by their weekday, or not: the
    /// dates listed, those of every year and the national holidays, from
    /// [`crate::holidays::FIRST_YEAR`] to [`crate::holidays::LAST_YEAR`].
    holidays: BTreeSet<NaiveDate>,
    /// What `holidays` listed, for [`WorkingHours::describe`] and
    /// [`WorkingHours::days_off`]: the national holidays or not, the days
    /// off every year (month, day), the dates.
    national: bool,
    yearly: BTreeSet<(u32, u32)>,
    dated: BTreeSet<NaiveDate>,
}

impl WorkingHours {
    /// Reads the configuration's values: `hours` as `09:00-18:00` (also
    /// `9-18`, `8:30-17:15`; the end at most `24:00`), or several periods
    /// of a day (`09:00-12:00, 13:00-18:00`: a lunch break), a period that
    /// ends before it starts being a night shift (`22:00-06:00`); `days` as
    /// weekday names (`mon`, `Monday`, `月`; Monday to Friday when `None`);
    /// `holidays` as dates (`2024-01-01`) or ranges of them, both ends
    /// included (`2024-12-28..2025-01-05`), days off every year (`05-01`,
    /// `12-29..01-03`), and `japan` for the national holidays. The error
    /// says which value is wrong and why.
    pub fn parse(
        hours: &str,
        days: Option<&[String]>,
        holidays: &[String],
    ) -> Result<WorkingHours, Refusal> {
        let refuse = |key, message| Refusal { key, message };
        let refuse_hours = |message| refuse(Key::Hours, message);
        // As typed on a Japanese keyboard: `０９：００〜１８：００`.
        let ascii = half_width(hours).replace(['〜', '～', '~'], "-");
        let mut periods: Vec<(u32, u32)> = Vec::new();
        for period in ascii.split(',') {
            let (start, end) = period
                .split_once('-')
                .and_then(|(s, e)| Some((time_of_day(s)?, time_of_day(e)?)))
                .ok_or_else(|| {
                    refuse_hours(format!(
                        "working_hours {hours:?} is not like \"09:00-18:00\" or \"09:00-12:00, 13:00-18:00\""
                    ))
                })?;
            if start == end {
                return Err(refuse_hours(format!(
                    "working_hours {hours:?} has a period that ends when it starts"
                )));
            }
            // 24:00 ends a day; a period starting then would be counted on
            // the day before (`24:00-06:00` is meant as `00:00-06:00`).
            if start == DAY {
                return Err(refuse_hours(format!(
                    "working_hours {hours:?} has a period that starts at 24:00 (write 00:00)"
                )));
            }
            // A period that ends before it starts is a night shift: it
            // ends the next morning (`22:00-06:00`).
            let end = if end < start { end + DAY } else { end };
            periods.push((start, end));
        }
        periods.sort_unstable();
        // A night shift must also end before the next day's first period.
        let into_next_day = match (periods.first(), periods.last()) {
            (Some(first), Some(last)) => last.1 > first.0 + DAY,
            _ => false,
        };
        if into_next_day || periods.windows(2).any(|p| p[1].0 < p[0].1) {
            return Err(refuse_hours(format!(
                "working_hours {hours:?} has periods that overlap"
            )));
        }
        // Periods that touch are one: `9-12, 12-18` is `9-18`.
        periods.dedup_by(|next, prev| {
            let touch = next.0 == prev.1;
            if touch {
                prev.1 = next.1;
            }
            touch
        });
        let days = match days {
            None => [true, true, true, true, true, false, false],
            Some(names) => {
                let mut days = [false; 7];
                for (i, name) in names.iter().enumerate() {
                    let day = weekday(name).ok_or_else(|| {
                        refuse(
                            Key::Day(i),
                            format!("working_days has {name:?}, which is no weekday"),
                        )
                    })?;
                    days[day] = true;
                }
                if !days.contains(&true) {
                    return Err(refuse(Key::Days, "working_days is empty".to_string()));
                }
                days
            }
        };
        let mut w = WorkingHours {
            periods,
            days,
            holidays: BTreeSet::new(),
            national: false,
            yearly: BTreeSet::new(),
            dated: BTreeSet::new(),
        };
        for (i, typed) in holidays.iter().enumerate() {
            let refuse_holiday = |message| refuse(Key::Holiday(i), message);
            // `２０２５－０１－１３`, `１２－２９〜０１－０３` as typed in Japanese.
            let h = &half_width(typed).replace(['〜', '～'], "..");
            let bad = || {
                refuse_holiday(format!(
                    "holidays has {typed:?}, which is not a date like \"2024-01-01\", a range like \"2024-12-28..2025-01-05\", a day of every year like \"05-01\" or \"12-29..01-03\", or \"japan\""
                ))
            };
            let (a, b) = h.split_once("..").unwrap_or((h, h));
            if NATIONAL.contains(&h.trim().to_lowercase().as_str()) {
                w.national = true;
            } else if let (Some(first), Some(last)) = (date(a), date(b)) {
                let span = (last - first).num_days();
                if !(0..MAX_HOLIDAY_RANGE_DAYS).contains(&span) {
                    return Err(refuse_holiday(format!(
                        "holidays has {typed:?}, a range that ends before it starts or is longer than a year"
                    )));
                }
                let listed = first.iter_days().take(span as usize + 1);
                w.dated.extend(listed.clone());
                w.holidays.extend(listed);
            } else if let (Some(first), Some(last)) = (month_day(a), month_day(b)) {
                // A day of every year; a range may go on into the next year.
                // The span is counted on a leap year's calendar, round its
                // end when the range wraps: 02-29 is one of its days.
                let in_year = |y: i32, (m, d): (u32, u32)| NaiveDate::from_ymd_opt(y, m, d);
                let (Some(from), Some(to)) = (in_year(2024, first), in_year(2024, last)) else {
                    return Err(bad());
                };
                let wraps = to < from;
                let span = (to - from).num_days() + if wraps { 366 } else { 0 };
                if span >= MAX_YEARLY_RANGE_DAYS {
                    return Err(refuse_holiday(format!(
                        "holidays has {typed:?}, a range of every year longer than {MAX_YEARLY_RANGE_DAYS} days (the wrong way round?)"
                    )));
                }
                let start = i64::from(from.ordinal0());
                w.yearly.extend((start..=start + span).filter_map(|i| {
                    let d = NaiveDate::from_yo_opt(2024, (i % 366) as u32 + 1)?;
                    Some((d.month(), d.day()))
                }));
            } else {
                return Err(bad());
            }
        }
        // The national holidays and the days off every year, each listed
        // once however often it was: in every year from the first to the
        // last (02-29 in leap years only).
        for year in crate::holidays::FIRST_YEAR..=crate::holidays::LAST_YEAR {
            if w.national {
                w.holidays
                    .extend(crate::holidays::of_year(year).into_iter().map(|(d, _)| d));
            }
            w.holidays.extend(
                w.yearly
                    .iter()
                    .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d)),
            );
        }
        Ok(w)
    }

    /// Seconds of working time from `from` to `to` (unix seconds; 0 when
    /// `to` is not after `from`), on `zone`'s wall clock.
    pub fn elapsed(&self, from: i64, to: i64, zone: Zone) -> i64 {
        let wall = |t: i64| DateTime::from_timestamp(t, 0).map(|d| zone.wall(d));
        match (wall(from), wall(to)) {
            (Some(a), Some(b)) if a < b => self.between(a, b),
            _ => 0,
        }
    }

    /// Working seconds between two wall-clock times, `a` before `b`. A
    /// period counts on the day it starts (a night shift that starts on a
    /// working Friday goes on into Saturday morning): the periods of the
    /// days at either end (and of the day before `a`, whose night shift may
    /// still run) are cut at `a` and `b`, the days between count whole.
    fn between(&self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        let (da, db) = (a.date(), b.date());
        let before = da.pred_opt().unwrap_or(da);
        // The days between count whole: from the day after `a`'s to the
        // one before `b`'s day before (a shift that starts then ends by
        // `b`'s midnight).
        let (edges, whole_days) = match (da.succ_opt(), db.pred_opt()) {
            (Some(d1), Some(db1)) if (db - da).num_days() >= 3 => {
                let d2 = db1.pred_opt().unwrap_or(db1);
                (vec![before, da, db1, db], self.working_days(d1, d2))
            }
            _ => (before.iter_days().take_while(|d| *d <= db).collect(), 0),
        };
        let cut: i64 = edges
            .iter()
            .map(|&d| {
                let midnight = d.and_time(chrono::NaiveTime::MIN);
                let secs = |t: NaiveDateTime| (t - midnight).num_seconds();
                self.within_day(d, secs(a), secs(b))
            })
            .sum();
        cut + whole_days * self.day_length()
    }

    /// Working seconds of a working day.
    fn day_length(&self) -> i64 {
        self.periods.iter().map(|(s, e)| i64::from(e - s)).sum()
    }

    /// Working seconds of the periods that start on day `d` between `lo`
    /// and `hi` (seconds after its midnight: before it, or past its end for
    /// a night shift's morning).
    fn within_day(&self, d: NaiveDate, lo: i64, hi: i64) -> i64 {
        if !self.works_on(d) {
            return 0;
        }
        self.periods
            .iter()
            .map(|&(start, end)| (hi.min(end.into()) - lo.max(start.into())).max(0))
            .sum()
    }

    fn days_a_week(&self) -> i64 {
        self.days.iter().filter(|&&d| d).count() as i64
    }

    /// Whether `d` is a working day by its weekday (holidays aside).
    fn works_on_weekday(&self, d: NaiveDate) -> bool {
        self.days[d.weekday().num_days_from_monday() as usize]
    }

    fn works_on(&self, d: NaiveDate) -> bool {
        self.works_on_weekday(d) && !self.holidays.contains(&d)
    }

    /// Working days from `d1` to `d2`, both included (`d1 <= d2`): whole
    /// weeks by count, the rest one by one, less the holidays among them.
    fn working_days(&self, d1: NaiveDate, d2: NaiveDate) -> i64 {
        let n = (d2 - d1).num_days() + 1;
        let per_week = self.days_a_week();
        let monday_first = d1.weekday().num_days_from_monday() as i64;
        let rest = (0..n % 7)
            .filter(|i| self.days[((monday_first + i) % 7) as usize])
            .count() as i64;
        let off = self
            .holidays
            .range(d1..=d2)
            .filter(|h| self.works_on_weekday(**h))
            .count() as i64;
        n / 7 * per_week + rest - off
    }

    /// The days off of `year` that fall on working days, in order, each with
    /// why it is one: its name (a national holiday), `every year` or
    /// `listed` (`kura config --days-off`).
    pub fn days_off(&self, year: i32) -> Vec<(NaiveDate, String)> {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return Vec::new();
        };
        let national = if self.national {
            crate::holidays::of_year(year)
        } else {
            Vec::new()
        };
        self.holidays
            .range(first..=last)
            .filter(|d| self.works_on_weekday(**d))
            .map(|&d| {
                let why = match national.iter().find(|(h, _)| *h == d) {
                    Some((_, name)) => name.to_string(),
                    None if self.yearly.contains(&(d.month(), d.day())) => "every year".into(),
                    None => "listed".into(),
                };
                (d, why)
            })
            .collect()
    }

    /// `09:00-18:00 Mon-Fri, 16 holidays`, for reports and `kura config`.
    pub fn describe(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        // A night shift ends the next day: `22:00-06:00`.
        let hm = |s: u32| {
            let s = if s > DAY { s - DAY } else { s };
            format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
        };
        // Runs of consecutive working days: `Mon-Fri`, `Mon-Wed,Fri`.
        let mut runs: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.days[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] {
                j += 1;
            }
            runs.push(match j - i {
                0 => NAMES[i].to_string(),
                _ => format!("{}-{}", NAMES[i], NAMES[j]),
            });
            i = j + 1;
        }
        // The holidays listed: the national ones, the days off every year,
        // and the dated ones that are days off (those on working days).
        let mut holidays = String::new();
        if self.national {
            holidays.push_str(", Japan's national holidays");
        }
        match self.yearly.len() {
            0 => {}
            1 => holidays.push_str(", 1 day off every year"),
            n => holidays.push_str(&format!(", {n} days off every year")),
        }
        let off = self
            .dated
            .iter()
            .filter(|d| self.works_on_weekday(**d))
            .count();
        match off {
            0 => {}
            1 => holidays.push_str(", 1 holiday"),
            n => holidays.push_str(&format!(", {n} holidays")),
        }
        let periods: Vec<String> = self
            .periods
            .iter()
            .map(|&(start, end)| format!("{}-{}", hm(start), hm(end)))
            .collect();
        format!("{} {}{holidays}", periods.join(","), runs.join(","))
    }
}

/// Seconds in a day (on the wall clock).
const DAY: u32 = 86_400;

/// Digits, colons, hyphens, commas and full stops typed full-width (on a
/// Japanese keyboard) as their ASCII twins.
pub(crate) fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            // The full-width forms of ASCII (`０`, `ｄ`, `：`, `－`, `．`).
            '\u{FF01}'..='\u{FF5D}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            // Hyphen, and the minus sign macOS input methods type.
            '‐' | '−' => '-',
            '、' => ',',
            c => c,
        })
        .collect()
}

/// `9`, `09:00`, `8:30`, `24:00`: seconds after midnight.
fn time_of_day(s: &str) -> Option<u32> {
    let s = s.trim();
    let (h, m) = s.split_once(':').unwrap_or((s, "0"));
    let (h, m) = (number_of(h, 1..=2)?, number_of(m, 1..=2)?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 3600 + m * 60)
}

/// A weekday's index, Monday 0, by its English name (whole or its first
/// three letters, any case) or its Japanese one (`月`, `月曜`, `月曜日`).
fn weekday(name: &str) -> Option<usize> {
    const JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    let n = name.trim().to_lowercase();
    crate::parse::WEEKDAYS
        .iter()
        .position(|d| n == *d || (n.len() == 3 && d.starts_with(&n)))
        .or_else(|| {
            let ja = n.trim_end_matches("日").trim_end_matches("曜");
            let ja = if ja.is_empty() { n.as_str() } else { ja };
            JA.iter().position(|d| ja == *d)
        })
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// `12-29`, `5-1`: a month and a day of it (of a leap year: `02-29` too).
fn month_day(s: &str) -> Option<(u32, u32)> {
    let (m, d) = s.trim().split_once('-')?;
    let (m, d) = (number_of(m, 1..=2)?, number_of(d, 1..=2)?);
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nine_to_six(holidays: &[&str]) -> WorkingHours {
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        WorkingHours::parse("09:00-18:00", None, &holidays).unwrap()
    }

    /// Unix seconds of a wall-clock time in Japan.
    fn jst(s: &str) -> i64 {
        let wall = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Zone::japan().instant(wall).unwrap().timestamp()
    }

    fn hours(w: &WorkingHours, from: &str, to: &str) -> f64 {
        w.elapsed(jst(from), jst(to), Zone::japan()) as f64 / 3600.0
    }

    #[test]
    fn only_working_hours_of_working_days_count() {
        let w = nine_to_six(&[]);
        // 2024-03-01 is a Friday.
        assert_eq!(hours(&w, "2024-03-01 10:00", "2024-03-01 12:30"), 2.5);
        assert_eq!(hours(&w, "2024-03-01 07:00", "2024-03-01 20:00"), 9.0);
        assert_eq!(hours(&w, "2024-03-01 19:00", "2024-03-04 09:30"), 0.5);
        assert_eq!(hours(&w, "2024-03-02 10:00", "2024-03-03 18:00"), 0.0);
        assert_eq!(hours(&w, "2024-03-01 17:00", "2024-03-05 10:00"), 11.0);
        // Four whole weeks and a day: 21 working days, 9 hours each.
        assert_eq!(hours(&w, "2024-03-01 00:00", "2024-03-30 00:00"), 189.0);
        assert_eq!(hours(&w, "2024-03-04 12:00", "2024-03-04 11:00"), 0.0);
    }

    #[test]
    fn a_night_shift_counts_on_the_day_it_starts() {
        let w = WorkingHours::parse("22:00-06:00", None, &[]).unwrap();
        assert_eq!(w.describe(), "22:00-06:00 Mon-Fri");
        // 2024-03-01 is a Friday: its shift goes on into Saturday morning.
        assert_eq!(hours(&w, "2024-03-01 23:00", "2024-03-02 05:00"), 6.0);
        // Saturday's and Sunday's nights are off, Monday's starts at 22:00.
        assert_eq!(hours(&w, "2024-03-02 22:00", "2024-03-04 07:00"), 0.0);
        assert_eq!(hours(&w, "2024-03-04 21:00", "2024-03-05 08:00"), 8.0);
        // A week: five shifts of 8 hours, Friday's ending on Saturday.
        assert_eq!(hours(&w, "2024-03-04 00:00", "2024-03-11 00:00"), 40.0);
        // Friday a holiday: its night is off, Saturday morning too.
        let off = WorkingHours::parse("22:00-06:00", None, &["2024-03-08".into()]).unwrap();
        assert_eq!(hours(&off, "2024-03-04 00:00", "2024-03-11 00:00"), 32.0);
        assert_eq!(hours(&off, "2024-03-08 23:00", "2024-03-09 05:00"), 0.0);
        // Against counting minute by minute, with a day shift beside the
        // night one, over any two times of three weeks.
        let w =
            WorkingHours::parse("09:00-12:00, 21:30-02:15", None, &["2024-03-13".into()]).unwrap();
        assert_eq!(w.describe(), "09:00-12:00,21:30-02:15 Mon-Fri, 1 holiday");
        let start = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let at = |minute: i64| {
            start.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes(minute)
        };
        let works = |minute: i64| {
            // The shift holding this minute started today or yesterday.
            let t = at(minute);
            let secs = i64::from(chrono::Timelike::num_seconds_from_midnight(&t));
            let today = w.works_on(t.date())
                && w.periods
                    .iter()
                    .any(|&(s, e)| i64::from(s) <= secs && secs < i64::from(e));
            let yesterday = t.date().pred_opt().is_some_and(|y| w.works_on(y))
                && w.periods
                    .iter()
                    .any(|&(s, e)| i64::from(s) <= secs + 86_400 && secs + 86_400 < i64::from(e));
            today || yesterday
        };
        let minutes = 21 * 24 * 60;
        let mut worked = vec![0i64; minutes + 1];
        for m in 0..minutes {
            worked[m + 1] = worked[m] + i64::from(works(m as i64));
        }
        let mut x: u64 = 0x2545F4914F6CDD1D;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (p, q) = (
                (x % minutes as u64) as usize,
                ((x >> 32) % minutes as u64) as usize,
            );
            let (p, q) = (p.min(q), p.max(q));
            assert_eq!(
                w.between(at(p as i64), at(q as i64)),
                (worked[q] - worked[p]) * 60,
                "{} .. {}",
                at(p as i64),
                at(q as i64)
            );
        }
    }

    #[test]
    fn holidays_are_days_off() {
        // 2024-05-03 (Friday) and 05-06 (Monday) are holidays.
        let w = nine_to_six(&["2024-05-03", "2024-05-06", "2024-05-04"]);
        assert_eq!(hours(&w, "2024-05-02 17:00", "2024-05-07 10:00"), 2.0);
        assert_eq!(hours(&w, "2024-05-03 10:00", "2024-05-03 12:00"), 0.0);
        let w = nine_to_six(&["2024-12-28..2025-01-05"]);
        assert_eq!(w.holidays.len(), 9);
        assert_eq!(hours(&w, "2024-12-27 17:00", "2025-01-06 09:30"), 1.5);
    }

    #[test]
    fn a_lunch_break_is_no_working_time() {
        let w = WorkingHours::parse("09:00-12:00、13:00-18:00", None, &[]).unwrap();
        // 2024-03-01 is a Friday.
        assert_eq!(
            hours(&w, "2024-03-01 11:50", "2024-03-01 13:10"),
            20.0 / 60.0
        );
        assert_eq!(hours(&w, "2024-03-01 12:10", "2024-03-01 12:50"), 0.0);
        assert_eq!(hours(&w, "2024-03-01 07:00", "2024-03-01 20:00"), 8.0);
        assert_eq!(
            hours(&w, "2024-03-01 17:00", "2024-03-05 12:30"),
            1.0 + 8.0 + 3.0
        );
        assert_eq!(Clock::Working(&w).parse_duration("1d").unwrap(), 8 * 3600);
        assert_eq!(w.describe(), "09:00-12:00,13:00-18:00 Mon-Fri");
        // In any order; periods that touch are fine, overlapping ones not.
        let w2 = WorkingHours::parse("13-18, 9-12", None, &[]).unwrap();
        assert_eq!(w2, w);
        // Periods that touch are one.
        assert_eq!(
            WorkingHours::parse("9-12,12-18", None, &[]).unwrap(),
            nine_to_six(&[])
        );
        let e = WorkingHours::parse("09:00-12:30, 12:00-18:00", None, &[])
            .unwrap_err()
            .message;
        assert!(e.contains("overlap"), "{e}");
    }

    #[test]
    fn national_holidays_and_days_off_every_year() {
        let list = |h: &[&str]| h.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let w = WorkingHours::parse("9-18", None, &list(&["japan"])).unwrap();
        // 2025-01-13, a Monday, is 成人の日; Golden Week 2025 is 5/3 to 5/6.
        assert_eq!(hours(&w, "2025-01-10 17:00", "2025-01-14 10:00"), 2.0);
        assert_eq!(hours(&w, "2025-05-02 17:00", "2025-05-07 10:00"), 2.0);
        // A substitute holiday (2024-02-12) and a citizens' holiday
        // (2026-09-22), as well as any other national holiday.
        assert_eq!(hours(&w, "2024-02-09 17:00", "2024-02-13 10:00"), 2.0);
        assert_eq!(hours(&w, "2026-09-18 17:00", "2026-09-24 10:00"), 2.0);
        assert_eq!(hours(&w, "2024-03-01 17:00", "2024-03-04 10:00"), 2.0);
        assert_eq!(
            w.describe(),
            "09:00-18:00 Mon-Fri, Japan's national holidays"
        );

        let w = WorkingHours::parse(
            "9-18",
            None,
            &list(&["祝日", "12-29..01-03", "8-13..8-15", "02-29", "2024-03-01"]),
        )
        .unwrap();
        // Every year's closing days, over the year's end too.
        assert_eq!(hours(&w, "2024-12-27 17:00", "2025-01-06 09:30"), 1.5);
        assert_eq!(hours(&w, "2030-12-27 17:00", "2031-01-06 09:30"), 1.5);
        assert_eq!(hours(&w, "2025-08-12 17:00", "2025-08-18 09:30"), 1.5);
        // 02-29 is a day off in leap years; the 28th stays a working day.
        assert_eq!(hours(&w, "2028-02-29 10:00", "2028-02-29 12:00"), 0.0);
        assert_eq!(hours(&w, "2027-02-26 17:00", "2027-03-01 10:00"), 2.0);
        assert_eq!(hours(&w, "2027-02-26 17:00", "2027-02-28 10:00"), 1.0);
        assert_eq!(
            w.describe(),
            "09:00-18:00 Mon-Fri, Japan's national holidays, 10 days off every year, 1 holiday"
        );
        // Those of a year that fall on working days, and why.
        let off: Vec<String> = w
            .days_off(2024)
            .into_iter()
            .filter(|(d, _)| d.month() <= 3 || d.month() == 12)
            .map(|(d, why)| format!("{} {why}", d.format("%m-%d %a")))
            .collect();
        assert_eq!(
            off,
            [
                "01-01 Mon 元日",
                "01-02 Tue every year",
                "01-03 Wed every year",
                "01-08 Mon 成人の日",
                "02-12 Mon 振替休日",
                "02-23 Fri 天皇誕生日",
                "02-29 Thu every year",
                "03-01 Fri listed",
                "03-20 Wed 春分の日",
                "12-30 Mon every year",
                "12-31 Tue every year",
            ]
        );
    }

    #[test]
    fn a_range_of_every_year_may_wrap_round_to_the_end_of_february() {
        let list = |h: &[&str]| h.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let w = WorkingHours::parse("9-18", None, &list(&["12-25..02-29"])).unwrap();
        // 12-25 to 12-31 and 01-01 to 02-29: 67 days of a leap year.
        assert_eq!(w.describe(), "09:00-18:00 Mon-Fri, 67 days off every year");
        // 2024-02-29 (a Thursday) is off; so is 2027-02-26 (a Friday), and
        // the next working day is 2027-03-01 (a Monday) as it is in 2028.
        assert_eq!(hours(&w, "2024-02-28 10:00", "2024-03-01 10:00"), 1.0);
        assert_eq!(hours(&w, "2027-02-26 10:00", "2027-03-01 10:00"), 1.0);
        assert_eq!(hours(&w, "2027-12-24 17:00", "2028-03-01 10:00"), 2.0);
        let e = WorkingHours::parse("9-18", None, &list(&["03-01..02-29"]))
            .unwrap_err()
            .message;
        assert!(e.contains("the wrong way round"), "{e}");
    }

    #[test]
    fn days_off_every_year_are_off_in_the_first_year_too() {
        let list = |h: &[&str]| h.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let w =
            WorkingHours::parse("9-18", None, &list(&["12-29..01-03", "12-29..01-03"])).unwrap();
        // 1980-01-02 and 01-03 (Wednesday, Thursday) are off as in any
        // other year; 1980-01-04 is a working Friday.
        assert_eq!(hours(&w, "1980-01-02 10:00", "1980-01-04 10:00"), 1.0);
        assert_eq!(hours(&w, "2099-12-28 17:00", "2099-12-31 18:00"), 1.0);
        assert_eq!(w.describe(), "09:00-18:00 Mon-Fri, 6 days off every year");
    }

    #[test]
    fn whole_days_are_counted_as_a_day_by_day_walk_counts_them() {
        let w = WorkingHours::parse(
            "8:30-17:15",
            Some(&["mon", "Tuesday", "水", "木曜日", "sat"].map(String::from)),
            &["2024-02-12".to_string(), "2024-02-17".to_string()],
        )
        .unwrap();
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        for len in 0..40 {
            for offset in 0..9 {
                let d1 = start + chrono::Days::new(offset);
                let d2 = d1 + chrono::Days::new(len);
                let walked = d1
                    .iter_days()
                    .take(len as usize + 1)
                    .filter(|d| w.works_on(*d))
                    .count();
                assert_eq!(w.working_days(d1, d2), walked as i64, "{d1} {d2}");
            }
        }
    }

    #[test]
    fn a_working_clock_counts_days_and_weeks_in_working_ones() {
        let w = WorkingHours::parse("10:00-12:00", None, &[]).unwrap();
        let clock = Clock::Working(&w);
        assert_eq!(clock.parse_duration("1d").unwrap(), 7200);
        assert_eq!(clock.parse_duration("1w").unwrap(), 5 * 7200);
        assert_eq!(clock.parse_duration("90m").unwrap(), 5400);
        assert_eq!(clock.format(3 * 7200 + 3600), "3d 1h");
        assert_eq!(Clock::Wall.parse_duration("1d").unwrap(), 86_400);
        assert_eq!(Clock::Wall.format(3 * 7200 + 3600), "7h 0m");
        assert_eq!(Clock::Wall.elapsed(100, 40), 0);
    }

    #[test]
    fn settings_are_read_or_refused_with_the_reason() {
        let w = WorkingHours::parse("9-18", None, &[]).unwrap();
        assert_eq!(w, nine_to_six(&[]));
        let typed_holidays = ["２０２５－０１－１３", "１２－２９〜０１－０３"].map(String::from);
        assert_eq!(
            WorkingHours::parse("9-18", None, &typed_holidays),
            WorkingHours::parse(
                "9-18",
                None,
                &["2025-01-13", "12-29..01-03"].map(String::from)
            )
        );
        for typed in ["０９：００〜１８：００", "9:00～18:00", " 09:00 - 18:00 "] {
            assert_eq!(
                WorkingHours::parse(typed, None, &[]).as_ref(),
                Ok(&w),
                "{typed}"
            );
        }
        assert_eq!(w.describe(), "09:00-18:00 Mon-Fri");
        let w = WorkingHours::parse(
            "08:30-24:00",
            Some(&["月", "火", "木", "金", "土"].map(String::from)),
            &["2024-01-01".to_string()],
        )
        .unwrap();
        assert_eq!(w.describe(), "08:30-24:00 Mon-Tue,Thu-Sat, 1 holiday");
        for (hours, days, holidays, why) in [
            ("12-12", None, "", "ends when it starts"),
            // 24:00 ends a day: this would be the next morning, counted on
            // the day before.
            ("24:00-06:00", None, "", "starts at 24:00 (write 00:00)"),
            // A night shift running into the next day's first period.
            ("09:00-18:00, 20:00-10:00", None, "", "overlap"),
            ("9:00", None, "", "not like"),
            ("25:00-26:00", None, "", "not like"),
            ("09:60-18:00", None, "", "not like"),
            ("9-18", Some("someday"), "", "no weekday"),
            ("9-18", None, "2024-13-01", "not a date"),
            (
                "9-18",
                None,
                "2025-01-05..2024-12-28",
                "ends before it starts",
            ),
            ("9-18", None, "2024-01-01..2026-01-01", "longer than a year"),
            ("9-18", None, "08-16..08-13", "the wrong way round"),
            ("9-18", None, "02-30", "not a date"),
            ("9-18", None, "2024-12-28..01-03", "not a date"),
            ("9-18", None, "japanese", "not a date"),
        ] {
            let days: Option<Vec<String>> = days.map(|d: &str| vec![d.to_string()]);
            let holidays: Vec<String> = (!holidays.is_empty())
                .then(|| holidays.to_string())
                .into_iter()
                .collect();
            let e = WorkingHours::parse(hours, days.as_deref(), &holidays)
                .unwrap_err()
                .message;
            assert!(e.contains(why), "{hours} {days:?} {holidays:?}: {e}");
        }
        assert!(WorkingHours::parse("9-18", Some(&[]), &[]).is_err());
    }
}
