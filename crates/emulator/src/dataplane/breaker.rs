//! Circuit breakers and pools, as API Management runs them: a backend's first
//! `circuitBreaker` rule counts responses whose status is in its ranges within its
//! interval and, at the count, takes the backend out for `tripDuration` (or for the
//! backend's `Retry-After` when `acceptRetryAfter`). A pool sends each request to its
//! lowest priority group with an available member, weighted at random inside it.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;
use serde_json::Value;

/// An ISO 8601 duration in seconds, read the way API Management reads a backend's
/// `interval` and `tripDuration`: with .NET's `XmlConvert.ToTimeSpan`, whose parser is
/// `XsdDuration` (dotnet/runtime, src/libraries/System.Private.Xml/src/System/Xml/Schema/
/// XsdDuration.cs: `TryParse` and `TryToTimeSpan`). Its rules: white space around is
/// ignored; an optional leading `-`; `P`; date designators `Y`, `M`, `D`, then `T` and time
/// designators `H`, `M`, `S`, each at most once and in that order, upper case, no `W`;
/// each number is whole, at most 2147483647, except seconds, which may carry a fraction
/// (read to the nanosecond); at least one designator. A year is 365 days, a month 30
/// (twelve months are a year), and the total must fit a `TimeSpan` (2^63-1 ticks of
/// 100 ns), else `XmlConvert` throws an `OverflowException`. `None` when it would throw.
pub fn iso_duration_seconds(text: &str) -> Option<f64> {
    const TICK: i128 = 10_000_000; // 100-ns ticks per second
    let text = text.trim();
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1i128, rest),
        None => (1i128, text),
    };
    let body = body.strip_prefix('P')?;
    // `P1DT` and `PT` are refused: a `T` needs a time designator after it.
    let parts: Vec<(&str, bool)> = match body.split_once('T') {
        Some((_, "")) => return None,
        Some((d, t)) => vec![(d, false), (t, true)],
        None => vec![(body, false)],
    };
    // (designator, its length in 100-ns ticks; years and months are counted apart)
    const DATE: [(char, i128); 3] = [('Y', 0), ('M', 0), ('D', 86_400 * TICK)];
    const TIME: [(char, i128); 3] = [('H', 3_600 * TICK), ('M', 60 * TICK), ('S', TICK)];
    let (mut years, mut months) = (0i128, 0i128);
    let mut ticks: i128 = 0;
    let mut seen = 0;
    for (part, is_time) in parts {
        let units = if is_time { &TIME } else { &DATE };
        let mut next = 0; // designators are ordered: only those after the last one read
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let k = next + units[next..].iter().position(|(u, _)| *u == c)?;
            let is_seconds = is_time && c == 'S';
            let (whole, fraction) = match number.split_once('.') {
                Some((w, f)) if is_seconds && !f.contains('.') => (w, Some(f)),
                Some(_) => return None,
                None if number.is_empty() => return None,
                None => (number.as_str(), None),
            };
            let whole: i128 = if whole.is_empty() {
                0
            } else {
                whole.parse().ok()?
            };
            if whole > i32::MAX as i128 {
                return None;
            }
            // Nanoseconds from the first nine digits of the fraction; 100-ns ticks from those.
            let nanos: i128 = fraction
                .map(|f| format!("{:0<9}", &f[..f.len().min(9)]).parse().unwrap_or(0))
                .unwrap_or(0);
            match (is_time, c) {
                (false, 'Y') => years = whole,
                (false, 'M') => months = whole,
                _ => ticks += whole * units[k].1 + nanos / 100,
            }
            seen += 1;
            next = k + 1;
            number.clear();
        }
        if !number.is_empty() {
            return None;
        }
    }
    if seen == 0 {
        return None;
    }
    ticks += ((years + months / 12) * 365 + (months % 12) * 30) * 86_400 * TICK;
    let limit = i64::MAX as i128 + i128::from(sign < 0);
    if ticks > limit {
        return None;
    }
    Some((sign * ticks) as f64 / TICK as f64)
}

/// A backend's circuit-breaker rule, durations in Azure seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub count: u32,
    pub interval_seconds: f64,
    pub ranges: Vec<(u16, u16)>,
    pub trip_seconds: f64,
    pub accept_retry_after: bool,
}

impl Rule {
    /// `properties.circuitBreaker.rules[0]` of a backend, if it has one that parses.
    pub fn of_backend(backend: &Value) -> Option<Rule> {
        let r = backend.pointer("/properties/circuitBreaker/rules/0")?;
        let fc = &r["failureCondition"];
        let ranges = fc["statusCodeRanges"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| Some((x["min"].as_u64()? as u16, x["max"].as_u64()? as u16)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Rule {
            count: fc["count"].as_u64().unwrap_or(1).max(1) as u32,
            interval_seconds: fc["interval"]
                .as_str()
                .and_then(iso_duration_seconds)
                .unwrap_or(60.0),
            ranges,
            trip_seconds: r["tripDuration"]
                .as_str()
                .and_then(iso_duration_seconds)
                .unwrap_or(60.0),
            accept_retry_after: r["acceptRetryAfter"].as_bool().unwrap_or(false),
        })
    }

    pub fn counts(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

/// The breaker of one backend. Times are ms since the emulator started.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Breaker {
    /// When counted failures happened, within the rule's interval.
    pub failures: Vec<u64>,
    /// Out of rotation until then.
    pub tripped_until_ms: Option<u64>,
}

impl Breaker {
    pub fn available(&self, now: u64) -> bool {
        self.tripped_until_ms.is_none_or(|until| now >= until)
    }

    /// Records a response. `scale` turns Azure ms into real ms; `retry_after_ms` is
    /// real. Returns the trip's end when this response tripped the breaker.
    pub fn record(
        &mut self,
        rule: &Rule,
        status: u16,
        retry_after_ms: Option<u64>,
        now: u64,
        scale: f64,
    ) -> Option<u64> {
        if !rule.counts(status) || !self.available(now) {
            return None;
        }
        let interval = (rule.interval_seconds * 1000.0 * scale).round() as u64;
        self.failures
            .retain(|t| now.saturating_sub(*t) < interval.max(1));
        self.failures.push(now);
        if (self.failures.len() as u32) < rule.count {
            return None;
        }
        self.failures.clear();
        let trip = match retry_after_ms {
            Some(ms) if rule.accept_retry_after => ms,
            _ => (rule.trip_seconds * 1000.0 * scale).round() as u64,
        };
        let until = now + trip.max(1);
        self.tripped_until_ms = Some(until);
        Some(until)
    }
}

/// A pool member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The backend's id, as the pool lists it.
    pub id: String,
    pub priority: u32,
    pub weight: u32,
}

impl Member {
    /// The members of a pool backend (`properties.pool.services`).
    pub fn of_pool(pool: &Value) -> Vec<Member> {
        pool.pointer("/properties/pool/services")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| {
                        Some(Member {
                            id: m["id"].as_str()?.to_string(),
                            priority: m["priority"].as_u64().unwrap_or(1) as u32,
                            weight: m["weight"].as_u64().unwrap_or(1) as u32,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The member a request goes to: the lowest priority group with an available member,
/// then weights at random among its available members (equal when all weights are 0).
pub fn choose<R: Rng>(
    members: &[Member],
    available: impl Fn(&Member) -> bool,
    rng: &mut R,
) -> Option<usize> {
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        if available(m) {
            groups.entry(m.priority).or_default().push(i);
        }
    }
    let (_, group) = groups.into_iter().next()?;
    let total: u64 = group.iter().map(|i| members[*i].weight as u64).sum();
    if total == 0 {
        return Some(group[rng.random_range(0..group.len())]);
    }
    let mut pick = rng.random_range(0..total);
    for i in &group {
        let w = members[*i].weight as u64;
        if pick < w {
            return Some(*i);
        }
        pick -= w;
    }
    group.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(iso_duration_seconds("PT1M"), Some(60.0));
        assert_eq!(iso_duration_seconds("PT30S"), Some(30.0));
        assert_eq!(iso_duration_seconds("PT0.5S"), Some(0.5));
        // XsdDuration compares designators case-sensitively: lower case is refused.
        assert_eq!(iso_duration_seconds("pt0.5s"), None);
        assert_eq!(iso_duration_seconds("P1DT2H"), Some(93_600.0));
        assert_eq!(iso_duration_seconds("PT1H30M"), Some(5400.0));
        for bad in ["", "P", "PT", "1M", "PT1X", "PT1"] {
            assert_eq!(iso_duration_seconds(bad), None, "{bad}");
        }
    }

    fn rule(accept: bool) -> Rule {
        Rule::of_backend(&json!({"properties": {"circuitBreaker": {"rules": [{
            "name": "r",
            "failureCondition": {"count": 2, "interval": "PT1M", "statusCodeRanges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}]},
            "tripDuration": "PT1M",
            "acceptRetryAfter": accept
        }]}}}))
        .unwrap()
    }

    #[test]
    fn trips_at_the_count_within_the_interval() {
        let r = rule(false);
        let mut b = Breaker::default();
        // scale 0.01: interval and trip are 600 ms.
        assert_eq!(b.record(&r, 200, None, 0, 0.01), None);
        assert_eq!(b.record(&r, 429, None, 0, 0.01), None);
        assert_eq!(
            b.record(&r, 503, None, 700, 0.01),
            None,
            "the first fell out of the interval"
        );
        assert_eq!(b.record(&r, 503, None, 800, 0.01), Some(1400));
        assert!(!b.available(1399));
        assert!(b.available(1400));
    }

    #[test]
    fn retry_after_sets_the_trip_when_accepted() {
        let mut b = Breaker::default();
        b.record(&rule(true), 429, Some(250), 0, 0.01);
        assert_eq!(b.record(&rule(true), 429, Some(250), 10, 0.01), Some(260));
        let mut b = Breaker::default();
        b.record(&rule(false), 429, Some(250), 0, 0.01);
        assert_eq!(b.record(&rule(false), 429, Some(250), 10, 0.01), Some(610));
    }

    #[test]
    fn pools_prefer_the_lowest_priority_and_follow_weights() {
        let members = vec![
            Member {
                id: "a".into(),
                priority: 1,
                weight: 2,
            },
            Member {
                id: "b".into(),
                priority: 1,
                weight: 1,
            },
            Member {
                id: "c".into(),
                priority: 2,
                weight: 1,
            },
        ];
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0; 3];
        for _ in 0..3000 {
            counts[choose(&members, |_| true, &mut rng).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((1850..2150).contains(&counts[0]), "{counts:?}");
        assert_eq!(choose(&members, |m| m.id == "c", &mut rng), Some(2));
        assert_eq!(choose(&members, |_| false, &mut rng), None);
        let zero = vec![
            Member {
                id: "a".into(),
                priority: 1,
                weight: 0,
            },
            Member {
                id: "b".into(),
                priority: 1,
                weight: 0,
            },
        ];
        assert!(choose(&zero, |_| true, &mut rng).is_some());
    }
}
