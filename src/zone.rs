//! Wall-clock times and the instants they denote: the time zone a date
//! written without one is read in. Query dates (`date:2024-03-05`) and Date:
//! headers that name no zone are read in the local time zone (`TZ`), as the
//! user's mail client shows them; `--utc` reads query dates in UTC.

use chrono::{DateTime, FixedOffset, Local, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};

/// The time zone wall-clock times are read in.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    Utc,
    /// The local time zone (`TZ`, else the system's).
    Local,
    /// A fixed offset (the tests use Japan's).
    Fixed(FixedOffset),
}

impl Zone {
    /// Japan's zone (UTC+9, no daylight saving), for tests that need a zone
    /// other than the machine's.
    #[cfg(test)]
    pub(crate) fn japan() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(9 * 3600).expect("a valid offset"))
    }

    /// `now` as a wall-clock time in this zone.
    pub fn wall(self, now: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Utc => now.naive_utc(),
            Zone::Local => now.with_timezone(&Local).naive_local(),
            Zone::Fixed(off) => now.with_timezone(&off).naive_local(),
        }
    }

    /// The instant a wall-clock time in this zone denotes. An ambiguous time
    /// (clocks going back) is its earlier instant; a time in a gap (clocks
    /// going forward, in zones that do it at midnight) is the first valid
    /// time after it.
    pub fn instant(self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        fn pick<Tz: TimeZone>(tz: &Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
            let mut t = wall;
            // Gaps are at most a few hours; step through them a quarter hour at a time.
            for _ in 0..=4 * 24 {
                match tz.from_local_datetime(&t) {
                    LocalResult::Single(d) => return Some(d.with_timezone(&Utc)),
                    LocalResult::Ambiguous(a, b) => {
                        return Some(a.min(b).with_timezone(&Utc));
                    }
                    LocalResult::None => t = t.checked_add_signed(TimeDelta::minutes(15))?,
                }
            }
            None
        }
        match self {
            Zone::Utc => Some(wall.and_utc()),
            Zone::Local => pick(&Local, wall),
            Zone::Fixed(off) => pick(&off, wall),
        }
    }
}
