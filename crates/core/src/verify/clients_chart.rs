//! The chart of the demo's clients step (`demo --chart demo.svg` writes it beside, as
//! `demo-clients.svg`): one bar per client, its answered requests stacked under the ones
//! its token limit refused (429), so a limited client's wall and an unlimited client's
//! full bar show side by side. Hand-written SVG like the verify chart.

use std::fmt::Write;

use super::chart::colour;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
/// Plot area: left, right, top, bottom.
const AREA: (f64, f64, f64, f64) = (80.0, 560.0, 80.0, 360.0);
const THROTTLED: &str = "#d62728";

/// One client's bar.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientBar {
    pub name: String,
    /// Its per-minute token limit, if any (shown under its name).
    pub tokens_per_minute: Option<u32>,
    pub answered: usize,
    pub throttled: usize,
    pub failed: usize,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(out: &mut String, x: f64, y: f64, size: u32, anchor: &str, content: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
        esc(content)
    );
}

fn rect(out: &mut String, (x, y, w, h): (f64, f64, f64, f64), fill: &str, title: &str) {
    let _ = writeln!(
        out,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"><title>{}</title></rect>"#,
        esc(title)
    );
}

/// The SVG document: `title` shown as given (escaped), a bar per client.
pub fn svg(title: &str, bars: &[ClientBar]) -> String {
    let (left, right, top, bottom) = AREA;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    text(&mut out, WIDTH / 2.0, 30.0, 18, "middle", title);
    text(
        &mut out,
        WIDTH / 2.0,
        52.0,
        13,
        "middle",
        "requests per client: answered, and refused by its token limit (429)",
    );
    let max = bars
        .iter()
        .map(|b| b.answered + b.throttled + b.failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>"##
    );
    text(&mut out, left - 8.0, bottom + 4.0, 11, "end", "0");
    text(
        &mut out,
        left - 8.0,
        top + 4.0,
        11,
        "end",
        &format!("{max}"),
    );
    let slot = (right - left) / bars.len().max(1) as f64;
    let height = |n: usize| n as f64 / max * (bottom - top);
    for (i, b) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.2;
        let w = slot * 0.6;
        let mut y = bottom;
        for (n, fill, what) in [
            (b.answered, colour(i), "answered"),
            (b.throttled, THROTTLED, "throttled (429)"),
            (b.failed, "#7f7f7f", "failed"),
        ] {
            if n == 0 {
                continue;
            }
            let h = height(n);
            y -= h;
            rect(
                &mut out,
                (x, y, w, h),
                fill,
                &format!("{}: {n} {what}", b.name),
            );
        }
        let label = format!("{} answered, {} throttled", b.answered, b.throttled);
        text(&mut out, x + w / 2.0, y - 6.0, 12, "middle", &label);
        text(&mut out, x + w / 2.0, bottom + 18.0, 13, "middle", &b.name);
        let limit = b
            .tokens_per_minute
            .map_or_else(|| "no limit".to_string(), |t| format!("{t} tokens/min"));
        text(&mut out, x + w / 2.0, bottom + 34.0, 11, "middle", &limit);
    }
    let lx = right + 20.0;
    rect(&mut out, (lx, top, 14.0, 14.0), colour(0), "answered");
    text(&mut out, lx + 20.0, top + 12.0, 12, "start", "answered");
    rect(
        &mut out,
        (lx, top + 22.0, 14.0, 14.0),
        THROTTLED,
        "throttled",
    );
    text(
        &mut out,
        lx + 20.0,
        top + 34.0,
        12,
        "start",
        "throttled (429)",
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_a_bar_with_its_counts() {
        let bars = [
            ClientBar {
                name: "capped <a>".into(),
                tokens_per_minute: Some(3000),
                answered: 5,
                throttled: 15,
                failed: 0,
            },
            ClientBar {
                name: "open".into(),
                tokens_per_minute: None,
                answered: 20,
                throttled: 0,
                failed: 0,
            },
        ];
        let s = svg("t", &bars);
        assert!(s.contains("capped &lt;a&gt;: 15 throttled (429)"), "{s}");
        assert!(s.contains("open: 20 answered"));
        assert!(s.contains("5 answered, 15 throttled"));
        assert!(s.contains("20 answered, 0 throttled"));
        assert!(s.contains("3000 tokens/min") && s.contains("no limit"));
        assert!(!s.contains("open: 0 throttled"), "no empty segments");
    }
}
