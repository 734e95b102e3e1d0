//! Japan's national holidays (国民の祝日), for working hours that leave
//! them out (`holidays = ["japan"]`, [`crate::hours`]). A company in Japan
//! is closed on them; listing twenty dates a year by hand, with the
//! equinoxes and the substitute holidays, is work nobody does right.
//!
//! They follow the rules of the law that sets them (国民の祝日に関する法律)
//! as amended over the years: the fixed days, the Mondays of the Happy
//! Monday system (2000 and 2003), the Emperor's birthday as it moved, the
//! one-off days (the 1989 funeral, the enthronements of 1990 and 2019, the
//! 1993 wedding), the days moved for the 2020 and 2021 Olympics, and the
//! two days that follow from the others: a substitute holiday (振替休日)
//! when a holiday falls on a Sunday and a citizens' holiday (国民の休日) on a
//! day between two holidays. The equinox days are only announced a year
//! ahead; they come from the formula the announcements have matched since
//! 1980, which holds to 2099. Years outside [`FIRST_YEAR`]..=[`LAST_YEAR`]
//! have none.

use chrono::{Datelike, NaiveDate, Weekday};

/// The first year whose holidays are known.
pub const FIRST_YEAR: i32 = 1980;
/// The last year the equinox formula holds for.
pub const LAST_YEAR: i32 = 2099;

/// The national holidays of `year` with their names, in date order; empty
/// outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn of_year(year: i32) -> Vec<(NaiveDate, &'static str)> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Vec::new();
    }
    let mut days = statutory(year);
    days.sort_by_key(|(d, _)| *d);
    let is_statutory = |d: NaiveDate| days.iter().any(|(h, _)| *h == d);
    let mut more: Vec<(NaiveDate, &'static str)> = Vec::new();
    // A holiday on a Sunday gives the next day off: until 2007 the Monday,
    // since then the first day that is no holiday itself.
    for (d, _) in &days {
        if d.weekday() != Weekday::Sun {
            continue;
        }
        let mut sub = d.succ_opt();
        while let Some(s) = sub {
            if year < 2007 || !is_statutory(s) {
                break;
            }
            sub = s.succ_opt();
        }
        if let Some(s) = sub.filter(|s| s.year() == year && !is_statutory(*s)) {
            more.push((s, "振替休日"));
        }
    }
    // A day between two holidays is one (since the 1985 amendment); until
    // 2007, only when it was no Sunday nor a substitute holiday (the
    // substitute's name is kept: it is the first of the two).
    if year >= 1986 {
        for (d, _) in &days {
            let (Some(next), Some(after)) = (d.succ_opt(), d.succ_opt().and_then(|n| n.succ_opt()))
            else {
                continue;
            };
            let sunday = next.weekday() == Weekday::Sun;
            if !is_statutory(next) && is_statutory(after) && (year >= 2007 || !sunday) {
                more.push((next, "国民の休日"));
            }
        }
    }
    days.extend(more);
    days.sort_by_key(|(d, _)| *d);
    days.dedup_by_key(|(d, _)| *d);
    days
}

/// The holidays the law names for `year` (no substitute or citizens'
/// holidays), in no particular order.
fn statutory(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::with_capacity(20);
    let mut add = |month: u32, day: Option<u32>, name: &'static str| {
        if let Some(d) = day.and_then(|day| NaiveDate::from_ymd_opt(year, month, day)) {
            out.push((d, name));
        }
    };
    let monday = |month: u32, n: u8| {
        NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n).map(|d| d.day())
    };
    add(1, Some(1), "元日");
    add(
        1,
        if year < 2000 { Some(15) } else { monday(1, 2) },
        "成人の日",
    );
    add(2, Some(11), "建国記念の日");
    match year {
        ..=1988 => add(4, Some(29), "天皇誕生日"),
        1989..=2018 => add(12, Some(23), "天皇誕生日"),
        2019 => {}
        _ => add(2, Some(23), "天皇誕生日"),
    }
    add(3, Some(equinox(year, 20_843_100)), "春分の日");
    match year {
        ..=1988 => {}
        1989..=2006 => add(4, Some(29), "みどりの日"),
        _ => {
            add(4, Some(29), "昭和の日");
            add(5, Some(4), "みどりの日");
        }
    }
    add(5, Some(3), "憲法記念日");
    add(5, Some(5), "こどもの日");
    match year {
        ..=1995 => {}
        1996..=2002 => add(7, Some(20), "海の日"),
        2020 => add(7, Some(23), "海の日"),
        2021 => add(7, Some(22), "海の日"),
        _ => add(7, monday(7, 3), "海の日"),
    }
    match year {
        ..=2015 => {}
        2020 => add(8, Some(10), "山の日"),
        2021 => add(8, Some(8), "山の日"),
        _ => add(8, Some(11), "山の日"),
    }
    add(
        9,
        if year < 2003 { Some(15) } else { monday(9, 3) },
        "敬老の日",
    );
    add(9, Some(equinox(year, 23_248_800)), "秋分の日");
    match year {
        ..=1999 => add(10, Some(10), "体育の日"),
        2000..=2019 => add(10, monday(10, 2), "体育の日"),
        2020 => add(7, Some(24), "スポーツの日"),
        2021 => add(7, Some(23), "スポーツの日"),
        _ => add(10, monday(10, 2), "スポーツの日"),
    }
    add(11, Some(3), "文化の日");
    add(11, Some(23), "勤労感謝の日");
    for (y, month, day, name) in [
        (1989, 2, 24, "昭和天皇の大喪の礼"),
        (1990, 11, 12, "即位の礼正殿の儀"),
        (1993, 6, 9, "皇太子徳仁親王の結婚の儀"),
        (2019, 5, 1, "天皇の即位の日"),
        (2019, 10, 22, "即位礼正殿の儀"),
    ] {
        if y == year {
            add(month, Some(day), name);
        }
    }
    out
}

/// The day of March (vernal) or September (autumnal) of the equinox in
/// `year` (1980 to 2099), from its day in 1980 in millionths (`base`):
/// the year is 0.242194 days longer than 365, less a day every leap year.
fn equinox(year: i32, base: i64) -> u32 {
    let n = i64::from(year - FIRST_YEAR);
    ((base + 242_194 * n) / 1_000_000 - n / 4) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(year: i32) -> Vec<String> {
        of_year(year)
            .into_iter()
            .map(|(d, name)| format!("{} {name}", d.format("%m-%d")))
            .collect()
    }

    #[test]
    fn the_holidays_of_recent_years_are_those_the_cabinet_office_lists() {
        assert_eq!(
            listed(2019),
            [
                "01-01 元日",
                "01-14 成人の日",
                "02-11 建国記念の日",
                "03-21 春分の日",
                "04-29 昭和の日",
                "04-30 国民の休日",
                "05-01 天皇の即位の日",
                "05-02 国民の休日",
                "05-03 憲法記念日",
                "05-04 みどりの日",
                "05-05 こどもの日",
                "05-06 振替休日",
                "07-15 海の日",
                "08-11 山の日",
                "08-12 振替休日",
                "09-16 敬老の日",
                "09-23 秋分の日",
                "10-14 体育の日",
                "10-22 即位礼正殿の儀",
                "11-03 文化の日",
                "11-04 振替休日",
                "11-23 勤労感謝の日",
            ]
        );
        assert_eq!(
            listed(2021),
            [
                "01-01 元日",
                "01-11 成人の日",
                "02-11 建国記念の日",
                "02-23 天皇誕生日",
                "03-20 春分の日",
                "04-29 昭和の日",
                "05-03 憲法記念日",
                "05-04 みどりの日",
                "05-05 こどもの日",
                "07-22 海の日",
                "07-23 スポーツの日",
                "08-08 山の日",
                "08-09 振替休日",
                "09-20 敬老の日",
                "09-23 秋分の日",
                "11-03 文化の日",
                "11-23 勤労感謝の日",
            ]
        );
        assert_eq!(
            listed(2026),
            [
                "01-01 元日",
                "01-12 成人の日",
                "02-11 建国記念の日",
                "02-23 天皇誕生日",
                "03-20 春分の日",
                "04-29 昭和の日",
                "05-03 憲法記念日",
                "05-04 みどりの日",
                "05-05 こどもの日",
                "05-06 振替休日",
                "07-20 海の日",
                "08-11 山の日",
                "09-21 敬老の日",
                "09-22 国民の休日",
                "09-23 秋分の日",
                "10-12 スポーツの日",
                "11-03 文化の日",
                "11-23 勤労感謝の日",
            ]
        );
    }

    #[test]
    fn counts_and_days_of_other_years() {
        let count = |y| of_year(y).len();
        // 2020: the Olympic days; 2024: four substitute holidays.
        assert_eq!(count(2020), 18);
        assert_eq!(count(2024), 21);
        assert_eq!(count(2025), 19);
        let has = |y, m, d| {
            of_year(y)
                .iter()
                .any(|(h, _)| *h == NaiveDate::from_ymd_opt(y, m, d).unwrap())
        };
        // Before the Happy Monday system, and before 2007's substitute rule.
        assert!(has(1995, 1, 16)); // 成人の日 on Sunday the 15th, Monday off
        assert!(has(1998, 5, 4)); // between 5/3 and 5/5
        // The rule for a day between two holidays dates from the end of 1985;
        // in 1987 the day was a substitute for Sunday 5/3.
        assert!(!has(1985, 5, 4) && has(1988, 5, 4));
        assert!(listed(1987).contains(&"05-04 振替休日".to_string()));
        assert!(has(1989, 2, 24) && has(1989, 12, 23) && !has(1989, 4, 30));
        // 2008: 5/4 (みどりの日) a Sunday gives 5/6, past 5/5.
        assert!(has(2008, 5, 6) && !has(2008, 5, 7));
        // The equinoxes of 2012 and 2099 (22 September for the first time
        // in 116 years; the formula's last year).
        assert!(has(2012, 9, 22) && has(2099, 3, 20) && has(2099, 9, 23));
        assert!(of_year(1979).is_empty() && of_year(2100).is_empty());
    }
}
