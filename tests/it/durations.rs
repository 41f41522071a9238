//! The product's ISO-8601 duration parser (`core::names::iso8601_duration`, which
//! validates a plan's circuit-breaker `interval` and `tripDuration`) and the emulator's
//! own (`emulator::dataplane::breaker::iso_duration_seconds`, which runs the breaker)
//! are two implementations of one rule, .NET's `XmlConvert.ToTimeSpan` that APIM
//! applies to these fields. They must agree on every case: both accept with the same
//! length, or both refuse. Before, the product accepted `P1M` and the emulator silently
//! read it as 60 s.

use aoai_lb::core::names::iso8601_duration;
use aoai_lb::emulator::dataplane::breaker::iso_duration_seconds;

const DAY: f64 = 86_400.0;

/// Each case and its length in seconds (`None`: refused).
const CASES: &[(&str, Option<f64>)] = &[
    ("PT1M", Some(60.0)),
    ("PT30S", Some(30.0)),
    ("PT1.5S", Some(1.5)),
    ("PT0.5S", Some(0.5)),
    ("PT.5S", Some(0.5)),
    ("PT1.S", Some(1.0)),
    ("PT0.1234567891S", Some(0.1234567)),
    ("PT0S", Some(0.0)),
    ("P1D", Some(DAY)),
    ("PT1H30M", Some(5_400.0)),
    ("P1DT2H", Some(93_600.0)),
    ("P1M", Some(30.0 * DAY)),
    ("P11M", Some(330.0 * DAY)),
    ("P12M", Some(365.0 * DAY)),
    ("P1Y", Some(365.0 * DAY)),
    (
        "P1Y2M3DT4H5M6.7S",
        Some(365.0 * DAY + 60.0 * DAY + 3.0 * DAY + 14_706.7),
    ),
    (" PT1M ", Some(60.0)),
    ("-PT1S", Some(-1.0)),
    ("PT2147483647S", Some(2_147_483_647.0)),
    ("P10675199DT2H48M5.4775807S", Some(922_337_203_685.477_6)),
    // refused
    ("P1W", None),
    ("PT", None),
    ("P", None),
    ("", None),
    ("1M", None),
    ("PT-1S", None),
    ("--PT1S", None),
    ("+PT1S", None),
    ("pt1m", None),
    ("Pt1M", None),
    ("PT1m", None),
    ("P1DT", None),
    ("PT1", None),
    ("P1", None),
    ("PTS", None),
    ("PTM", None),
    ("P1H", None),
    ("PT1D", None),
    ("P1.5D", None),
    ("PT1.5M", None),
    ("PT1..5S", None),
    ("PT1S1M", None),
    ("P1M1Y", None),
    ("P1Y1Y", None),
    ("P1T1H", None),
    ("PT1HT1M", None),
    ("PT1M ago", None),
    ("1 minute", None),
    ("P99999999999999999999Y", None),
    ("PT2147483648S", None),
    ("P2147483647D", None),
    ("P10675199DT2H48M5.4775808S", None),
    ("P29247Y", Some(29_247.0 * 365.0 * DAY)),
    ("P29248Y", None),
];

#[test]
fn product_and_emulator_read_every_duration_alike() {
    let mut disagreements = Vec::new();
    for (text, want) in CASES {
        let product = iso8601_duration(text).ok();
        let emulator = iso_duration_seconds(text);
        let close = |got: Option<f64>| match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() <= 1e-6 * w.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        if !close(product) || !close(emulator) || product != emulator {
            disagreements.push(format!(
                "{text:?}: want {want:?}, product {product:?}, emulator {emulator:?}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
