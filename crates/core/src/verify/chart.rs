//! The chart `verify --chart FILE.svg` writes: what the seed lab's notebook drew
//! (response time of every request, coloured by the region that answered, with the
//! mean as a line), and below it the observed against the expected share of each
//! backend. Hand-written SVG: no plotting crate, no script, opens in any browser.
//! A verify of several deployments stacks one such chart per deployment
//! (`super::deployments_chart`), drawn by the same [`draw`].

use std::fmt::Write;

use super::{Analysis, Sample, p_phrase};

pub(super) const WIDTH: f64 = 1000.0;
/// The height of one chart, and of each deployment's panel when several are stacked.
pub(super) const HEIGHT: f64 = 720.0;
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
    "#bab0ac", "#e15759",
];
const FAILED: &str = "#d62728";

/// Plot area of the response-time panel, then of the share panel.
const TOP: (f64, f64, f64, f64) = (80.0, 740.0, 80.0, 380.0);
const BOTTOM: (f64, f64, f64, f64) = (80.0, 740.0, 470.0, 640.0);
const LEGEND_X: f64 = 765.0;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour of the region at `row` of the analysis.
pub fn colour(row: usize) -> &'static str {
    PALETTE[row % PALETTE.len()]
}

/// A round number at or above `v` (1, 2, 2.5, 5 times a power of ten).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

/// An axis from 0 covering `max` in about five round steps: (top, step).
fn axis(max: f64) -> (f64, f64) {
    let step = nice_ceiling(max / 5.0);
    let top = (max / step).ceil().max(1.0) * step;
    (top, step)
}

fn tick_label(v: f64, step: f64) -> String {
    if step >= 1.0 || v == 0.0 {
        format!("{v:.0}")
    } else if step >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub(super) fn text(
    out: &mut String,
    x: f64,
    y: f64,
    size: u32,
    anchor: &str,
    extra: &str,
    content: &str,
) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" {extra}>{}</text>"#,
        esc(content)
    );
}

fn axes(out: &mut String, area: (f64, f64, f64, f64)) {
    let (x0, x1, y0, y1) = area;
    let _ = writeln!(
        out,
        r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="#fbfbfb" stroke="none"/>"##,
        x1 - x0,
        y1 - y0
    );
    let _ = writeln!(
        out,
        r##"<path d="M{x0},{y0} V{y1} H{x1}" fill="none" stroke="#333" stroke-width="1"/>"##
    );
}

/// The SVG document. `title` and `subtitle` are shown as given (escaped).
pub fn svg(title: &str, subtitle: &str, samples: &[Sample], analysis: &Analysis) -> String {
    let mut out = String::new();
    header(&mut out, title, subtitle);
    let colours: Vec<&str> = (0..analysis.rows.len()).map(colour).collect();
    draw(&mut out, samples, analysis, &colours);
    out.push_str("</svg>\n");
    out
}

/// Everything below the title and subtitle (y from 60 to [`HEIGHT`]): the response
/// times, the shares and the verdict of one deployment's traffic, each row of the
/// analysis in its colour of `colours`.
pub(super) fn draw(out: &mut String, samples: &[Sample], analysis: &Analysis, colours: &[&str]) {
    let scale = response_axes(out, samples);
    response_points(out, samples, analysis, scale, colours);
    response_legend(out, analysis, colours);
    share_panel(out, analysis, colours);
    share_legend(out);
    verdict(out, analysis);
}

fn header(out: &mut String, title: &str, subtitle: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Segoe UI, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(
        out,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    text(out, 40.0, 32.0, 18, "start", r#"font-weight="bold""#, title);
    text(out, 40.0, 54.0, 12, "start", r##"fill="#555""##, subtitle);
}

/// Axes, grid and labels of the response-time panel; returns its (x, y) maxima.
fn response_axes(out: &mut String, samples: &[Sample]) -> (f64, f64) {
    // Response time per request.
    let (x0, x1, y0, y1) = TOP;
    axes(out, TOP);
    let n = samples.len().max(1) as f64;
    let max_ms = samples.iter().map(|s| s.latency_ms).fold(0.0, f64::max);
    let (y_max, y_step) = axis(max_ms * 1.05);
    let (x_max, x_step) = axis(n);
    let sx = |i: f64| x0 + (i / x_max) * (x1 - x0);
    let sy = |ms: f64| y1 - (ms / y_max) * (y1 - y0);
    let mut v = 0.0;
    while v <= y_max + y_step / 1000.0 {
        let y = sy(v);
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e3e3e3"/>"##
        );
        text(
            out,
            x0 - 8.0,
            y + 4.0,
            11,
            "end",
            "",
            &tick_label(v, y_step),
        );
        v += y_step;
    }
    let mut v = 0.0;
    while v <= x_max + x_step / 1000.0 {
        let x = sx(v);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{}" stroke="#333"/>"##,
            y1 + 5.0
        );
        text(out, x, y1 + 18.0, 11, "middle", "", &tick_label(v, x_step));
        v += x_step;
    }
    text(
        out,
        (x0 + x1) / 2.0,
        y1 + 38.0,
        12,
        "middle",
        "",
        "request #",
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 {} {})">response time (ms)</text>"#,
        x0 - 50.0,
        (y0 + y1) / 2.0,
        x0 - 50.0,
        (y0 + y1) / 2.0
    );
    (x_max, y_max)
}

/// One dot per request (a cross when it failed) and the mean as a dashed line.
fn response_points(
    out: &mut String,
    samples: &[Sample],
    analysis: &Analysis,
    scale: (f64, f64),
    colours: &[&str],
) {
    let (x0, x1, y0, y1) = TOP;
    let (x_max, y_max) = scale;
    let sx = |i: f64| x0 + (i / x_max) * (x1 - x0);
    let sy = |ms: f64| y1 - (ms / y_max) * (y1 - y0);
    let r = if samples.len() > 1500 { 1.5 } else { 2.6 };
    for s in samples {
        let (cx, cy) = (sx(s.index as f64), sy(s.latency_ms));
        let row = s.region.as_ref().and_then(|reg| {
            analysis
                .rows
                .iter()
                .position(|r| r.region.eq_ignore_ascii_case(reg))
        });
        if s.ok() {
            let c = row.and_then(|r| colours.get(r).copied()).unwrap_or("#777");
            let _ = writeln!(
                out,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" fill="{c}" fill-opacity="0.85"/>"#
            );
        } else {
            let d = r + 0.8;
            let _ = writeln!(
                out,
                r#"<path d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}" stroke="{FAILED}" stroke-width="1.4"/>"#,
                cx - d,
                cy - d,
                cx + d,
                cy + d,
                cx - d,
                cy + d,
                cx + d,
                cy - d
            );
        }
    }
    if let Some(mean) = analysis.mean_ms {
        let y = sy(mean);
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"/>"##
        );
        text(
            out,
            x1 - 4.0,
            y - 6.0,
            11,
            "end",
            r##"fill="#222" font-weight="bold" stroke="#ffffff" stroke-width="4" paint-order="stroke""##,
            &format!("mean {mean:.1} ms"),
        );
    }
}

/// The legend beside the response-time panel: regions, failures, mean.
fn response_legend(out: &mut String, analysis: &Analysis, colours: &[&str]) {
    let (_, _, y0, _) = TOP;
    // Legend: regions, failures, mean.
    let mut ly = y0 + 6.0;
    text(
        out,
        LEGEND_X,
        ly,
        12,
        "start",
        r#"font-weight="bold""#,
        "answered by",
    );
    ly += 20.0;
    for (i, row) in analysis.rows.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<circle cx="{}" cy="{}" r="5" fill="{}"/>"#,
            LEGEND_X + 6.0,
            ly - 4.0,
            colours.get(i).copied().unwrap_or("#777")
        );
        text(
            out,
            LEGEND_X + 18.0,
            ly,
            12,
            "start",
            "",
            &format!("{} ({})", row.region, row.count),
        );
        text(
            out,
            LEGEND_X + 18.0,
            ly + 14.0,
            10,
            "start",
            r##"fill="#666""##,
            &row.label(),
        );
        ly += 34.0;
    }
    if analysis.failed > 0 {
        let _ = writeln!(
            out,
            r#"<path d="M{a},{b} L{c},{d} M{a},{d} L{c},{b}" stroke="{FAILED}" stroke-width="1.6"/>"#,
            a = LEGEND_X + 2.0,
            b = ly - 8.0,
            c = LEGEND_X + 10.0,
            d = ly
        );
        text(
            out,
            LEGEND_X + 18.0,
            ly,
            12,
            "start",
            "",
            &format!("failed ({})", analysis.failed),
        );
        ly += 22.0;
    }
    if analysis.mean_ms.is_some() {
        let _ = writeln!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
            LEGEND_X,
            ly - 4.0,
            LEGEND_X + 14.0,
            ly - 4.0
        );
        text(
            out,
            LEGEND_X + 18.0,
            ly,
            12,
            "start",
            "",
            "mean response time",
        );
    }
}

/// Observed against expected share per backend.
fn share_panel(out: &mut String, analysis: &Analysis, colours: &[&str]) {
    // Observed against expected share per backend.
    let (x0, x1, y0, y1) = BOTTOM;
    text(
        out,
        40.0,
        y0 - 22.0,
        14,
        "start",
        r#"font-weight="bold""#,
        "Share of successful responses: observed vs expected",
    );
    axes(out, BOTTOM);
    let top_share = analysis
        .rows
        .iter()
        .flat_map(|r| [r.observed_share, r.expected_share])
        .fold(0.0, f64::max);
    let s_max = if top_share > 0.5 {
        1.0
    } else {
        nice_ceiling(top_share * 1.15).min(1.0)
    };
    let sy = |share: f64| y1 - (share / s_max) * (y1 - y0);
    for k in 0..=4 {
        let v = s_max * k as f64 / 4.0;
        let y = sy(v);
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e3e3e3"/>"##
        );
        text(
            out,
            x0 - 8.0,
            y + 4.0,
            11,
            "end",
            "",
            &format!("{:.0}%", v * 100.0),
        );
    }
    let groups = analysis.rows.len().max(1) as f64;
    let gw = (x1 - x0) / groups;
    let bw = (gw * 0.3).min(70.0);
    for (i, row) in analysis.rows.iter().enumerate() {
        let cx = x0 + gw * (i as f64 + 0.5);
        for (share, dx, observed) in [
            (row.observed_share, -bw - 2.0, true),
            (row.expected_share, 2.0, false),
        ] {
            let y = sy(share);
            let h = y1 - y;
            let style = if observed {
                format!(r#"fill="{}""#, colours.get(i).copied().unwrap_or("#777"))
            } else {
                r##"fill="#e9e9e9" stroke="#555" stroke-width="1.2" stroke-dasharray="4 3""##
                    .to_string()
            };
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{h:.1}" {style}/>"#,
                cx + dx
            );
            text(
                out,
                cx + dx + bw / 2.0,
                y - 5.0,
                11,
                "middle",
                "",
                &format!("{:.1}%", share * 100.0),
            );
        }
        text(
            out,
            cx,
            y1 + 18.0,
            12,
            "middle",
            r#"font-weight="bold""#,
            &row.region,
        );
        text(
            out,
            cx,
            y1 + 33.0,
            10,
            "middle",
            r##"fill="#666""##,
            &row.label(),
        );
    }
}

fn share_legend(out: &mut String) {
    let (_, _, y0, _) = BOTTOM;
    let ly = y0 + 6.0;
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="{}" width="14" height="12" fill="#888"/>"##,
        LEGEND_X,
        ly - 10.0
    );
    text(
        out,
        LEGEND_X + 20.0,
        ly,
        12,
        "start",
        "",
        "observed (colour of the region)",
    );
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="{}" width="14" height="12" fill="#e9e9e9" stroke="#555" stroke-dasharray="4 3"/>"##,
        LEGEND_X,
        ly + 12.0
    );
    text(
        out,
        LEGEND_X + 20.0,
        ly + 22.0,
        12,
        "start",
        "",
        "expected (from the plan)",
    );
}

/// The verdict line at the bottom.
fn verdict(out: &mut String, analysis: &Analysis) {
    // The verdict.
    let verdict = match &analysis.chi_square {
        Some(c) => format!(
            "chi-square {} ({} df): {} · {} requests, {} failed",
            p_phrase(c.p_value),
            c.degrees_of_freedom,
            if analysis.split_ok {
                "the split matches the plan"
            } else {
                "the split does not match the plan"
            },
            analysis.requests,
            analysis.failed
        ),
        None => format!(
            "no successful response · {} requests, {} failed",
            analysis.requests, analysis.failed
        ),
    };
    let colour = if analysis.ok { "#2e7d32" } else { "#c62828" };
    text(
        out,
        40.0,
        HEIGHT - 16.0,
        13,
        "start",
        &format!(r#"fill="{colour}" font-weight="bold""#),
        &verdict,
    );
}

#[cfg(test)]
mod tests {
    use super::super::{Expected, ExpectedRow, analyse};
    use super::*;

    #[test]
    fn nice_numbers() {
        assert_eq!(axis(300.0), (300.0, 100.0));
        assert_eq!(axis(600.0), (600.0, 200.0));
        assert_eq!(axis(29.4), (30.0, 10.0));
        assert_eq!(axis(23.0), (25.0, 5.0));
        assert_eq!(axis(0.0), (1.0, 1.0));
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(1.5), 2.0);
        assert_eq!(nice_ceiling(230.0), 250.0);
        assert_eq!(nice_ceiling(600.0), 1000.0);
    }

    #[test]
    fn the_chart_is_well_formed_and_has_its_parts() {
        let expected = Expected {
            rows: vec![
                ExpectedRow {
                    backends: vec!["a<1>".into()],
                    accounts: vec!["x".into()],
                    region: "West US".into(),
                    priorities: vec![1],
                    weights: vec![2],
                    share: 2.0 / 3.0,
                },
                ExpectedRow {
                    backends: vec!["b".into()],
                    accounts: vec!["y".into()],
                    region: "East US".into(),
                    priorities: vec![1],
                    weights: vec![1],
                    share: 1.0 / 3.0,
                },
            ],
            notes: vec![],
        };
        let samples: Vec<Sample> = (0..30)
            .map(|i| Sample {
                index: i,
                start_ms: i as f64,
                latency_ms: 5.0 + (i % 7) as f64,
                status: Some(if i == 3 { 429 } else { 200 }),
                region: Some(if i % 3 == 0 { "East US" } else { "West US" }.into()),
                error: None,
            })
            .collect();
        let a = analyse(&expected, &samples);
        let svg = svg("t & t", "sub", &samples, &a);
        let root = crate::policy_xml::parse(&svg, crate::policy_xml::Format::Xml)
            .expect("well-formed XML");
        assert_eq!(root.name, "svg");
        for part in [
            "mean ",
            "response time (ms)",
            "request #",
            "observed",
            "expected",
            "failed (1)",
            "a&lt;1&gt;",
            "t &amp; t",
            "chi-square p",
        ] {
            assert!(svg.contains(part), "{part}");
        }
        assert_eq!(
            svg.matches("<circle").count(),
            29 + 2,
            "one dot per success, one legend dot per region"
        );
    }
}
