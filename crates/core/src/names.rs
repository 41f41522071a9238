//! The naming rules ARM enforces, checked offline so a plan fails before any call.
//!
//! Each check returns `Err(reason)` with a sentence that completes "… is invalid: ".

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
pub fn account_name(s: &str) -> Result<(), String> {
    let len = char_len(s);
    if !(2..=64).contains(&len) {
        return Err(format!("must be 2 to 64 characters long, not {len}"));
    }
    let mut chars = s.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit".into());
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!(
            "may only hold letters, digits, `_`, `.` and `-`, not `{c}`"
        ));
    }
    Ok(())
}

/// A DNS label: 2-63 lower-case letters, digits and hyphens, no hyphen at either end.
pub fn dns_label(s: &str) -> Result<(), String> {
    let len = s.len();
    if !(2..=63).contains(&len) {
        return Err(format!("must be 2 to 63 characters long, not {len}"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "must be a DNS label: lower-case letters, digits and `-` only, not `{c}`"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must not start or end with `-`".into());
    }
    Ok(())
}

/// Resource group: 1-90, letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
pub fn resource_group_name(s: &str) -> Result<(), String> {
    let len = char_len(s);
    if !(1..=90).contains(&len) {
        return Err(format!("must be 1 to 90 characters long, not {len}"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')')))
    {
        return Err(format!(
            "may only hold letters, digits, `_`, `-`, `.`, `(` and `)`, not `{c}`"
        ));
    }
    if s.ends_with('.') {
        return Err("must not end with `.`".into());
    }
    Ok(())
}

/// API Management service: 1-50, a letter first, letters, digits and `-`, no `-` last.
pub fn apim_service_name(s: &str) -> Result<(), String> {
    let len = s.len();
    if !(1..=50).contains(&len) {
        return Err(format!("must be 1 to 50 characters long, not {len}"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!("may only hold letters, digits and `-`, not `{c}`"));
    }
    if s.ends_with('-') {
        return Err("must not end with `-`".into());
    }
    Ok(())
}

/// An APIM entity id (API, backend, subscription): `1..=max` characters, none of `*#&+:<>?`
/// and no `/` or whitespace (it is a URL path segment).
pub fn apim_entity_id(s: &str, max: usize) -> Result<(), String> {
    let len = char_len(s);
    if !(1..=max).contains(&len) {
        return Err(format!("must be 1 to {max} characters long, not {len}"));
    }
    if let Some(c) = s.chars().find(|c| {
        matches!(
            c,
            '*' | '#' | '&' | '+' | ':' | '<' | '>' | '?' | '/' | '\\'
        ) || c.is_whitespace()
    }) {
        return Err(format!("must not contain `{c}`"));
    }
    Ok(())
}

/// A deployment name: 2-64 letters, digits, `_`, `.`, `-`.
pub fn deployment_name(s: &str) -> Result<(), String> {
    let len = char_len(s);
    if !(2..=64).contains(&len) {
        return Err(format!("must be 2 to 64 characters long, not {len}"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "may only hold letters, digits, `_`, `.` and `-`, not `{c}`"
        ));
    }
    Ok(())
}

/// An API URL suffix: at most 400 characters, no leading `/`, none of `*#&+:<>?` or spaces.
pub fn api_path(s: &str) -> Result<(), String> {
    let len = char_len(s);
    if len > 400 {
        return Err(format!("must be at most 400 characters long, not {len}"));
    }
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.starts_with('/') || s.ends_with('/') {
        return Err("must not start or end with `/`".into());
    }
    if let Some(c) = s.chars().find(|c| {
        matches!(c, '*' | '#' | '&' | '+' | ':' | '<' | '>' | '?' | '\\') || c.is_whitespace()
    }) {
        return Err(format!("must not contain `{c}`"));
    }
    Ok(())
}

/// An HTTP header name (RFC 9110 token).
pub fn header_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))
    {
        return Err(format!(
            "is not a valid HTTP header name: `{c}` is not allowed"
        ));
    }
    Ok(())
}

/// An ISO-8601 duration as APIM reads it (`PT1M`, `PT30S`, `P1DT2H`, `PT0.5S`).
/// Returns its length in seconds.
pub fn iso8601_duration(s: &str) -> Result<f64, String> {
    let bad = || "is not an ISO-8601 duration (for example PT1M, PT30S, P1DT2H)".to_string();
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return Err(bad());
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut seconds = 0.0;
    let mut any = false;
    let mut parse = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let idx = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .map(|i| i + next_unit)
                .ok_or_else(bad)?;
            let value: f64 = number.parse().map_err(|_| bad())?;
            seconds += value * units[idx].1;
            any = true;
            number.clear();
            next_unit = idx + 1;
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    parse(
        date,
        &[
            ('Y', 365.0 * 86400.0),
            ('M', 30.0 * 86400.0),
            ('W', 7.0 * 86400.0),
            ('D', 86400.0),
        ],
    )?;
    if let Some(t) = time {
        parse(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if !any {
        return Err(bad());
    }
    Ok(seconds)
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
    fn durations() {
        assert_eq!(iso8601_duration("PT1M"), Ok(60.0));
        assert_eq!(iso8601_duration("PT30S"), Ok(30.0));
        assert_eq!(iso8601_duration("P1DT2H"), Ok(93600.0));
        assert_eq!(iso8601_duration("PT0.5S"), Ok(0.5));
        for bad in [
            "1M", "P", "PT", "PT1", "PTM", "P1H", "PT1S1M", "pt1m", "PT-1M",
        ] {
            assert!(iso8601_duration(bad).is_err(), "{bad}");
        }
    }
}
