//! The quota periods of API Management's token limits and where each one starts: "The
//! start time of a quota period is calculated using the UTC timestamp truncated to the
//! unit (hour, day, etc.) used for the period" (llm-token-limit and
//! azure-openai-token-limit policy references, `token-quota-period`, learn.microsoft.com,
//! MicrosoftDocs/azure-docs since April 2026). An hourly quota resets on the hour, a
//! monthly one on the first of the month, whenever the first request came.
//!
//! The docs do not say which day a week starts on: the emulator takes Monday, as ISO 8601
//! does (written down in docs/emulator.md).

use serde::Serialize;

use crate::clock::{civil_from_days, days_from_civil};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A `token-quota-period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Period {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::Hourly,
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Yearly,
    ];

    pub fn parse(s: &str) -> Option<Period> {
        Period::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Hourly => "Hourly",
            Period::Daily => "Daily",
            Period::Weekly => "Weekly",
            Period::Monthly => "Monthly",
            Period::Yearly => "Yearly",
        }
    }

    /// The period holding the UTC time `unix_ms`: a number that grows by one from each
    /// period to the next, and the Unix time (ms) at which the next period starts.
    pub fn holding(self, unix_ms: i64) -> (i64, i64) {
        let days = unix_ms.div_euclid(DAY_MS);
        match self {
            Period::Hourly => {
                let n = unix_ms.div_euclid(HOUR_MS);
                (n, (n + 1) * HOUR_MS)
            }
            Period::Daily => (days, (days + 1) * DAY_MS),
            Period::Weekly => {
                // 1970-01-01 was a Thursday: Monday 1969-12-29 is 3 days before day 0.
                let n = (days + 3).div_euclid(7);
                (n, ((n + 1) * 7 - 3) * DAY_MS)
            }
            Period::Monthly => {
                let (y, m, _) = civil_from_days(days);
                let (ny, nm) = if m == 12 {
                    (y + 1, 1)
                } else {
                    (y, i64::from(m) + 1)
                };
                (
                    y * 12 + i64::from(m) - 1,
                    days_from_civil(ny, nm, 1) * DAY_MS,
                )
            }
            Period::Yearly => {
                let (y, _, _) = civil_from_days(days);
                (y, days_from_civil(y + 1, 1, 1) * DAY_MS)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix ms of an ISO date-time `YYYY-MM-DDTHH:MM`.
    fn at(s: &str) -> i64 {
        let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
        (days_from_civil(n(0..4), n(5..7), n(8..10)) * 24 + n(11..13)) * HOUR_MS
            + n(14..16) * 60_000
    }

    #[test]
    fn each_period_ends_at_the_start_of_the_next_utc_unit() {
        let t = at("2026-12-02T16:40");
        for (p, next) in [
            (Period::Hourly, "2026-12-02T17:00"),
            (Period::Daily, "2026-12-03T00:00"),
            // 2026-12-02 is a Wednesday.
            (Period::Weekly, "2026-12-07T00:00"),
            (Period::Monthly, "2027-01-01T00:00"),
            (Period::Yearly, "2027-01-01T00:00"),
        ] {
            assert_eq!(p.holding(t).1, at(next), "{}", p.name());
        }
        assert_eq!(
            Period::Monthly.holding(at("2024-02-10T00:00")).1,
            at("2024-03-01T00:00")
        );
    }

    #[test]
    fn a_period_turns_exactly_at_its_boundary() {
        for p in Period::ALL {
            let (n, next) = p.holding(at("2026-12-31T23:59"));
            assert_eq!(p.holding(next - 1).0, n, "{}", p.name());
            assert_eq!(p.holding(next).0, n + 1, "{}", p.name());
        }
        // Monday 2026-12-07 00:00 starts a week; Sunday night is the week before.
        let (monday, _) = Period::Weekly.holding(at("2026-12-07T00:00"));
        assert_eq!(Period::Weekly.holding(at("2026-12-06T23:59")).0, monday - 1);
    }
}
