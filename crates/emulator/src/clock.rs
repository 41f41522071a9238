//! Time as the emulator sees it: milliseconds since start (monotonic, for operations
//! and the request log) and wall-clock timestamps in ARM's ISO 8601 form (for
//! `systemData`, `createdOn`, ...). No dependency on a date crate for one format.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    /// The wall clock at start, Unix milliseconds.
    start_unix_ms: i64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
            start_unix_ms: unix_ms(),
        }
    }

    /// Milliseconds since the emulator started.
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// The wall clock (Unix milliseconds) when the emulator started.
    pub fn start_unix_ms(&self) -> i64 {
        self.start_unix_ms
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Now, as `2024-05-01T12:34:56.789Z`.
pub fn iso_now() -> String {
    iso(unix_ms())
}

/// A Unix time in milliseconds as ISO 8601 UTC.
pub fn iso(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An ISO 8601 UTC time as [`iso`] writes it, `hours` later (None if it is not one).
pub fn iso_plus_hours(at: &str, hours: i64) -> Option<String> {
    let n = |r: std::ops::Range<usize>| at.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, min, s, ms) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..23).unwrap_or(0));
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + h * 3600 + min * 60 + s + hours * 3600;
    Some(iso(secs * 1000 + ms))
}

/// Howard Hinnant's civil-to-days algorithm (the inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_eight_hours_later() {
        assert_eq!(
            iso_plus_hours("2024-02-28T10:00:00.250Z", 48).as_deref(),
            Some("2024-03-01T10:00:00.250Z")
        );
        assert_eq!(
            iso_plus_hours("2026-12-31T23:59:59.000Z", 48).as_deref(),
            Some("2027-01-02T23:59:59.000Z")
        );
        assert_eq!(iso_plus_hours("not a date", 1), None);
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_714_566_896_789), "2024-05-01T12:34:56.789Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
