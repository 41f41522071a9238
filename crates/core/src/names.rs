//! The naming rules ARM enforces, checked offline so a plan fails before any call.
//!
//! Each check returns `Err(reason)`, a [`NameError`] whose text completes "… is invalid: ".

/// Why a name breaks ARM's rule for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must be {min} to {max} characters long, not {len}")]
    Length { min: usize, max: usize, len: usize },
    #[error("must be at most {max} characters long, not {len}")]
    TooLong { max: usize, len: usize },
    #[error("must not be empty")]
    Empty,
    #[error("must start with {0}")]
    Start(&'static str),
    #[error("may only hold {allowed}, not `{found}`")]
    Char { allowed: &'static str, found: char },
    #[error("must be a DNS label: lower-case letters, digits and `-` only, not `{0}`")]
    DnsChar(char),
    #[error("must not contain `{0}`")]
    Contains(char),
    #[error("must not start or end with `{0}`")]
    Ends(char),
    #[error("must not end with `{0}`")]
    EndsWith(char),
    #[error("must not contain an empty segment (`//`)")]
    EmptySegment,
    #[error("must not contain a `{0}` segment")]
    DotSegment(&'static str),
    #[error("is not a valid HTTP header name: `{0}` is not allowed")]
    HeaderChar(char),
}

fn length(len: usize, min: usize, max: usize) -> Result<(), NameError> {
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(NameError::Length { min, max, len })
    }
}

pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Cognitive Services account: 2-64, `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`.
pub fn account_name(s: &str) -> Result<(), NameError> {
    let len = char_len(s);
    length(len, 2, 64)?;
    let mut chars = s.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(NameError::Start("a letter or a digit"));
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(NameError::Char {
            allowed: "letters, digits, `_`, `.` and `-`",
            found: c,
        });
    }
    Ok(())
}

/// A DNS label: 2-63 lower-case letters, digits and hyphens, no hyphen at either end.
pub fn dns_label(s: &str) -> Result<(), NameError> {
    let len = s.len();
    length(len, 2, 63)?;
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(NameError::DnsChar(c));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(NameError::Ends('-'));
    }
    Ok(())
}

/// Application Insights component: 1-260, none of `%&\?/` nor a control character, not
/// ending in a space or a period (learn.microsoft.com, resource-name-rules,
/// Microsoft.Insights components).
pub fn insights_component_name(s: &str) -> Result<(), NameError> {
    length(char_len(s), 1, 260)?;
    if let Some(c) = s
        .chars()
        .find(|c| matches!(c, '%' | '&' | '\\' | '?' | '/') || c.is_control())
    {
        return Err(NameError::Contains(c));
    }
    if let Some(c) = s.chars().last().filter(|c| matches!(c, ' ' | '.')) {
        return Err(NameError::EndsWith(c));
    }
    Ok(())
}

/// Resource group: 1-90, letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
pub fn resource_group_name(s: &str) -> Result<(), NameError> {
    let len = char_len(s);
    length(len, 1, 90)?;
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')))
    {
        return Err(NameError::Char {
            allowed: "letters, digits, `_`, `-`, `.`, `(` and `)`",
            found: c,
        });
    }
    if s.ends_with('.') {
        return Err(NameError::EndsWith('.'));
    }
    Ok(())
}

/// A deployment's name (aoai-lb's own): 1-128, ASCII letters, digits, `.`, `_`, `-`, `/`,
/// a letter or digit first; it is a tag value and goes in descriptions.
pub fn lb_deployment_name(s: &str) -> Result<(), NameError> {
    length(s.len(), 1, 128)?;
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(NameError::Start("a letter or a digit"));
    }
    if let Some(found) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return Err(NameError::Char {
            allowed: "letters, digits, `.`, `_`, `-` and `/`",
            found,
        });
    }
    Ok(())
}

/// API Management service: 1-50, a letter first, letters, digits and `-`, no `-` last.
pub fn apim_service_name(s: &str) -> Result<(), NameError> {
    let len = s.len();
    length(len, 1, 50)?;
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(NameError::Start("a letter"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(NameError::Char {
            allowed: "letters, digits and `-`",
            found: c,
        });
    }
    if s.ends_with('-') {
        return Err(NameError::EndsWith('-'));
    }
    Ok(())
}

/// An APIM entity id (API, backend, subscription): `1..=max` characters, none of `*#&+:<>?`
/// and no `/` or whitespace (it is a URL path segment).
pub fn apim_entity_id(s: &str, max: usize) -> Result<(), NameError> {
    let len = char_len(s);
    length(len, 1, max)?;
    if let Some(c) = s.chars().find(|c| {
        matches!(
            c,
            '*' | '#' | '&' | '+' | ':' | '<' | '>' | '?' | '/' | '\\'
        ) || c.is_whitespace()
    }) {
        return Err(NameError::Contains(c));
    }
    Ok(())
}

/// A deployment name: 2-64 letters, digits, `_`, `.`, `-`.
pub fn deployment_name(s: &str) -> Result<(), NameError> {
    let len = char_len(s);
    length(len, 2, 64)?;
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(NameError::Char {
            allowed: "letters, digits, `_`, `.` and `-`",
            found: c,
        });
    }
    Ok(())
}

/// An API URL suffix: at most 400 characters, no leading `/`, none of `*#&+:<>?` or spaces.
pub fn api_path(s: &str) -> Result<(), NameError> {
    let len = char_len(s);
    if len > 400 {
        return Err(NameError::TooLong { max: 400, len });
    }
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.starts_with('/') || s.ends_with('/') {
        return Err(NameError::Ends('/'));
    }
    if let Some(c) = s.chars().find(|c| {
        matches!(
            c,
            '*' | '#' | '&' | '+' | ':' | '<' | '>' | '?' | '\\' | '%'
        ) || c.is_whitespace()
            || c.is_control()
    }) {
        return Err(NameError::Contains(c));
    }
    // A relative segment would make the gateway URL point somewhere else than the API
    // (`../../admin`), and an empty one is not a path APIM can route.
    for segment in s.split('/') {
        match segment {
            "" => return Err(NameError::EmptySegment),
            "." => return Err(NameError::DotSegment(".")),
            ".." => return Err(NameError::DotSegment("..")),
            _ => {}
        }
    }
    Ok(())
}

/// An HTTP header name (RFC 9110 token).
pub fn header_name(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))
    {
        return Err(NameError::HeaderChar(c));
    }
    Ok(())
}

/// Why a duration is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("is not an ISO-8601 duration (for example PT1M, PT30S, P1DT2H)")]
    Format,
    #[error(
        "is longer than Azure accepts (a component over 2147483647, or more than 10675199 days in all)"
    )]
    TooLong,
}

/// 100-nanosecond ticks, .NET's `TimeSpan` unit.
const TICKS_PER_SECOND: u64 = 10_000_000;

/// An ISO-8601 duration (`PT1M`, `PT30S`, `P1DT2H`, `PT0.5S`) as APIM and ARM read the
/// `duration` fields of a backend: .NET's `XmlConvert.ToTimeSpan`, i.e. `XsdDuration`
/// (dotnet/runtime, src/libraries/System.Private.Xml/src/System/Xml/Schema/XsdDuration.cs).
/// That means: surrounding white space ignored; an optional `-`; `P`, then `Y`, `M`, `D`
/// in that order; `T`, then `H`, `M`, `S`; whole numbers up to 2147483647 each, a fraction
/// only on seconds (beyond 9 digits ignored); upper case only, no weeks; at least one
/// part. `TryToTimeSpan` counts a year as 365 days and a month as 30 (12 months make a
/// year), and refuses a total over `TimeSpan.MaxValue` (2^63-1 ticks of 100 ns).
/// Returns the signed length in seconds.
pub fn iso8601_duration(s: &str) -> Result<f64, DurationError> {
    let ticks = duration_ticks(s)?;
    Ok(ticks as f64 / TICKS_PER_SECOND as f64)
}

/// The duration in signed 100-ns ticks; see [`iso8601_duration`].
pub fn duration_ticks(s: &str) -> Result<i64, DurationError> {
    let mut p = DurationReader {
        b: s.trim().as_bytes(),
        pos: 0,
    };
    let negative = p.eat(b'-');
    if !p.eat(b'P') {
        return Err(DurationError::Format);
    }
    let parts = p.parts()?;
    let [y, mo, d, h, mi, sec] = parts.whole.map(u64::from);
    let days = (|| (y.checked_add(mo / 12)?.checked_mul(365)?).checked_add((mo % 12) * 30 + d))();
    let ticks = (|| {
        let t = days?.checked_mul(24)?.checked_add(h)?;
        let t = t.checked_mul(60)?.checked_add(mi)?;
        let t = t.checked_mul(60)?.checked_add(sec)?;
        t.checked_mul(TICKS_PER_SECOND)?
            .checked_add(u64::from(parts.nanos / 100))
    })()
    .ok_or(DurationError::TooLong)?;
    match (negative, i64::try_from(ticks)) {
        (false, Ok(t)) => Ok(t),
        (true, Ok(t)) => Ok(-t),
        (true, Err(_)) if ticks == 1 << 63 => Ok(i64::MIN),
        _ => Err(DurationError::TooLong),
    }
}

/// The parts of a duration after `P`: years, months, days, hours, minutes, seconds,
/// and the fraction of a second in nanoseconds.
struct DurationParts {
    whole: [u32; 6],
    nanos: u32,
}

struct DurationReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl DurationReader<'_> {
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.pos) == Some(&c);
        self.pos += usize::from(hit);
        hit
    }

    /// Leading digits as a number that fits an `i32`, and how many digits there were.
    /// Digits past that are an error, or skipped when `fraction` (they are below 1 ns).
    fn number(&mut self, fraction: bool) -> Result<(u32, usize), DurationError> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(c) = self.b.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let digit = u32::from(c - b'0');
            if value > (i32::MAX as u32 - digit) / 10 {
                if !fraction {
                    return Err(DurationError::TooLong);
                }
                let count = self.pos - start;
                while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                return Ok((value, count));
            }
            value = value * 10 + digit;
            self.pos += 1;
        }
        Ok((value, self.pos - start))
    }

    fn parts(&mut self) -> Result<DurationParts, DurationError> {
        let mut out = DurationParts {
            whole: [0; 6],
            nanos: 0,
        };
        let mut any = false;
        let (mut value, mut digits) = self.number(false)?;
        // Each designator needs digits before it; once one is read, the next number follows.
        for (slot, designator) in [(0, b'Y'), (1, b'M'), (2, b'D')] {
            if self.pos < self.b.len() && self.b[self.pos] == designator {
                if digits == 0 {
                    return Err(DurationError::Format);
                }
                out.whole[slot] = value;
                any = true;
                self.pos += 1;
                (value, digits) = self.number(false)?;
            }
        }
        if self.eat(b'T') {
            if digits != 0 {
                return Err(DurationError::Format);
            }
            (value, digits) = self.number(false)?;
            if self.pos >= self.b.len() {
                return Err(DurationError::Format);
            }
            for (slot, designator) in [(3, b'H'), (4, b'M')] {
                if self.b.get(self.pos) == Some(&designator) {
                    if digits == 0 {
                        return Err(DurationError::Format);
                    }
                    out.whole[slot] = value;
                    any = true;
                    self.pos += 1;
                    (value, digits) = self.number(false)?;
                }
            }
            if self.eat(b'.') {
                out.whole[5] = value;
                any = true;
                let (mut frac, n) = self.number(true)?;
                frac = if n > 9 {
                    frac / 10u32.pow((n - 9) as u32)
                } else {
                    frac * 10u32.pow((9 - n) as u32)
                };
                out.nanos = frac;
                if !self.eat(b'S') {
                    return Err(DurationError::Format);
                }
                digits = 0;
            } else if self.b.get(self.pos) == Some(&b'S') {
                if digits == 0 {
                    return Err(DurationError::Format);
                }
                out.whole[5] = value;
                any = true;
                self.pos += 1;
                digits = 0;
            }
        }
        if digits != 0 || self.pos != self.b.len() || !any {
            return Err(DurationError::Format);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(is_guid("5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"));
        assert!(!is_guid("5e0bd9bd7b934f28af8719fc36ad61bd"));
        assert!(!is_guid("5e0bd9bd-7b93-4f28-af87-19fc36ad61bz"));
    }

    #[test]
    fn account_names() {
        assert!(account_name("aoai-nov26-instance1").is_ok());
        assert!(account_name("a").is_err());
        assert!(account_name("-abc").is_err());
        assert!(account_name("ab c").is_err());
        assert!(account_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn dns_labels() {
        assert!(dns_label("aoai-1").is_ok());
        assert!(dns_label("Aoai").is_err());
        assert!(dns_label("a_b").is_err());
        assert!(dns_label("ab-").is_err());
    }

    #[test]
    fn api_paths() {
        assert_eq!(api_path("openai"), Ok(()));
        assert_eq!(api_path("team/openai.v1"), Ok(()));
        assert_eq!(api_path("../../admin"), Err(NameError::DotSegment("..")));
        assert_eq!(api_path("a/./b"), Err(NameError::DotSegment(".")));
        assert_eq!(api_path("a//b"), Err(NameError::EmptySegment));
        assert_eq!(api_path("/openai"), Err(NameError::Ends('/')));
        assert_eq!(api_path("%2e%2e/admin"), Err(NameError::Contains('%')));
        assert_eq!(
            api_path("../x").unwrap_err().to_string(),
            "must not contain a `..` segment"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(iso8601_duration("PT1M"), Ok(60.0));
        assert_eq!(iso8601_duration("PT30S"), Ok(30.0));
        assert_eq!(iso8601_duration("P1DT2H"), Ok(93600.0));
        assert_eq!(iso8601_duration("PT0.5S"), Ok(0.5));
        assert_eq!(iso8601_duration("P1M"), Ok(30.0 * 86400.0));
        assert_eq!(iso8601_duration("P12M"), Ok(365.0 * 86400.0));
        assert_eq!(iso8601_duration("-PT1S"), Ok(-1.0));
        for bad in [
            "1M", "P", "PT", "PT1", "PTM", "P1H", "PT1S1M", "pt1m", "PT-1M", "P1W", "P1DT",
            "P1.5D", "P1Y1Y",
        ] {
            assert_eq!(iso8601_duration(bad), Err(DurationError::Format), "{bad}");
        }
        assert_eq!(
            iso8601_duration("P99999999999999999999Y"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            iso8601_duration("P2147483647D"),
            Err(DurationError::TooLong)
        );
        assert_eq!(duration_ticks("P10675199DT2H48M5.4775807S"), Ok(i64::MAX));
        assert_eq!(
            duration_ticks("P10675199DT2H48M5.4775808S"),
            Err(DurationError::TooLong)
        );
    }
}
