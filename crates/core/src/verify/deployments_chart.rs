//! The chart of a whole verify, one panel per deployment checked. A plan with a pool per
//! deployment is verified deployment by deployment (each against its own pool's split),
//! and the user who asked for `--chart` wants to see every one of those splits, not the
//! first alone: this stacks, under one title and one overall verdict, the verify chart of
//! each deployment ([`super::chart`]: response time per request coloured by region, then
//! observed against expected share per backend, then its verdict). A region keeps one
//! colour in every panel. With one deployment the document is exactly
//! [`super::chart::svg`]'s.

use std::fmt::Write;

use super::chart::{self, HEIGHT, WIDTH, esc, text};
use super::{Analysis, Sample};

/// Height of the document's own header (title, subtitle, overall verdict) above the
/// first panel.
const HEAD: f64 = 90.0;
const PASSED: &str = "#2e7d32";
const FAILED: &str = "#c62828";

/// What every deployment of one verify shares.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// `{gateway}/{api path}`.
    pub api_url: &'a str,
    pub api_version: &'a str,
    pub concurrency: u16,
}

/// One deployment's traffic and its analysis.
#[derive(Clone, Copy, Debug)]
pub struct Panel<'a> {
    pub deployment: &'a str,
    /// How long its traffic took.
    pub seconds: f64,
    pub samples: &'a [Sample],
    pub analysis: &'a Analysis,
}

/// The SVG document: with one panel, the verify chart of that deployment; with more, a
/// header naming them all and the deployments that failed, then a panel each, in order.
pub fn svg(run: &Run, panels: &[Panel]) -> String {
    if let [one] = panels {
        let title = format!(
            "aoai-lb verify: {} requests through {}",
            one.analysis.requests, run.api_url
        );
        let subtitle = format!(
            "deployment {} · api-version {} · concurrency {} · {:.1} s",
            one.deployment, run.api_version, run.concurrency, one.seconds
        );
        return chart::svg(&title, &subtitle, one.samples, one.analysis);
    }
    let height = HEAD + HEIGHT * panels.len() as f64;
    let mut out = String::new();
    header(&mut out, run, panels, height);
    let regions = regions(panels);
    for (i, p) in panels.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<g transform="translate(0,{:.0})">"#,
            HEAD + HEIGHT * i as f64
        );
        panel_heading(&mut out, p);
        let colours: Vec<&str> = p
            .analysis
            .rows
            .iter()
            .map(|r| chart::colour(position(&regions, &r.region)))
            .collect();
        chart::draw(&mut out, p.samples, p.analysis, &colours);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Every region of every panel, in order of first appearance: a region's colour is
/// its place here, the same in each panel.
fn regions<'a>(panels: &[Panel<'a>]) -> Vec<&'a str> {
    let mut all: Vec<&str> = Vec::new();
    for r in panels.iter().flat_map(|p| &p.analysis.rows) {
        if !all.iter().any(|a| a.eq_ignore_ascii_case(&r.region)) {
            all.push(&r.region);
        }
    }
    all
}

fn position(regions: &[&str], region: &str) -> usize {
    regions
        .iter()
        .position(|r| r.eq_ignore_ascii_case(region))
        .unwrap_or(regions.len())
}

/// The title (all requests, the API), the subtitle (the deployments, api-version,
/// concurrency, time) and the overall verdict, as the text report's last line says it.
fn header(out: &mut String, run: &Run, panels: &[Panel], height: f64) {
    let requests: u64 = panels.iter().map(|p| p.analysis.requests).sum();
    let seconds: f64 = panels.iter().map(|p| p.seconds).sum();
    let names: Vec<&str> = panels.iter().map(|p| p.deployment).collect();
    let title = format!(
        "aoai-lb verify: {requests} requests through {}",
        run.api_url
    );
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Segoe UI, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(
        out,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    text(
        out,
        40.0,
        32.0,
        18,
        "start",
        r#"font-weight="bold""#,
        &title,
    );
    let subtitle = format!(
        "{} deployments, each against its own pool: {} · api-version {} · concurrency {} · {seconds:.1} s",
        panels.len(),
        names.join(", "),
        run.api_version,
        run.concurrency
    );
    text(out, 40.0, 54.0, 12, "start", r##"fill="#555""##, &subtitle);
    let failed: Vec<&str> = panels
        .iter()
        .filter(|p| !p.analysis.ok)
        .map(|p| p.deployment)
        .collect();
    let (verdict, colour) = if failed.is_empty() {
        (
            format!(
                "Every deployment passed ({}): each one's split matches its pool",
                panels.len()
            ),
            PASSED,
        )
    } else {
        (
            format!(
                "{} of {} deployments failed: {}",
                failed.len(),
                panels.len(),
                failed.join(", ")
            ),
            FAILED,
        )
    };
    text(
        out,
        40.0,
        78.0,
        13,
        "start",
        &format!(r#"fill="{colour}" font-weight="bold""#),
        &verdict,
    );
}

/// A rule above the panel, the deployment's name where a lone chart has its title, its
/// requests and time below, and passed or failed on the right.
fn panel_heading(out: &mut String, p: &Panel) {
    let _ = writeln!(
        out,
        r##"<line x1="40" y1="6" x2="{}" y2="6" stroke="#bbbbbb" stroke-width="1"/>"##,
        WIDTH - 40.0
    );
    text(
        out,
        40.0,
        32.0,
        16,
        "start",
        r#"font-weight="bold""#,
        &format!("deployment {}", p.deployment),
    );
    let a = p.analysis;
    text(
        out,
        40.0,
        54.0,
        12,
        "start",
        r##"fill="#555""##,
        &format!(
            "{} requests · {} succeeded, {} failed · {:.1} s",
            a.requests, a.succeeded, a.failed, p.seconds
        ),
    );
    let (word, colour) = if a.ok {
        ("passed", PASSED)
    } else {
        ("failed", FAILED)
    };
    text(
        out,
        WIDTH - 40.0,
        32.0,
        14,
        "end",
        &format!(r#"fill="{colour}" font-weight="bold""#),
        word,
    );
}

#[cfg(test)]
mod tests {
    use super::super::{Expected, ExpectedRow, analyse};
    use super::*;

    fn row(backend: &str, region: &str, weight: u8, share: f64) -> ExpectedRow {
        ExpectedRow {
            backends: vec![backend.into()],
            accounts: vec![format!("acct-{backend}")],
            region: region.into(),
            priorities: vec![1],
            weights: vec![weight],
            share,
        }
    }

    /// `n` successes, every `every`-th from `odd` and the rest from `even`.
    fn samples(n: usize, every: usize, odd: &str, even: &str) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                index: i,
                start_ms: i as f64,
                latency_ms: 4.0 + (i % 5) as f64,
                status: Some(200),
                region: Some(if i % every == 0 { odd } else { even }.into()),
                error: None,
            })
            .collect()
    }

    const RUN: Run = Run {
        api_url: "http://127.0.0.1:1/gateway/x/openai",
        api_version: "2024-10-21",
        concurrency: 8,
    };

    #[test]
    fn one_deployment_is_the_verify_chart_as_before() {
        let expected = Expected {
            rows: vec![
                row("w", "West US", 2, 2.0 / 3.0),
                row("e", "East US", 1, 1.0 / 3.0),
            ],
            notes: vec![],
        };
        let s = samples(30, 3, "East US", "West US");
        let a = analyse(&expected, &s);
        let panel = Panel {
            deployment: "gpt-4o",
            seconds: 1.25,
            samples: &s,
            analysis: &a,
        };
        let title = "aoai-lb verify: 30 requests through http://127.0.0.1:1/gateway/x/openai";
        let subtitle = "deployment gpt-4o · api-version 2024-10-21 · concurrency 8 · 1.2 s";
        assert_eq!(svg(&RUN, &[panel]), chart::svg(title, subtitle, &s, &a));
    }

    #[test]
    fn several_deployments_get_a_panel_each_under_one_verdict() {
        let four = Expected {
            rows: vec![
                row("many-eastus2", "East US 2", 2, 0.5),
                row("many-westus", "West US", 2, 0.5),
            ],
            notes: vec![],
        };
        let five = Expected {
            rows: vec![
                row("many-eastus2", "East US 2", 1, 0.25),
                row("many-swedencentral", "Sweden Central", 3, 0.75),
            ],
            notes: vec![],
        };
        // gpt-4.1 split 1:1 as planned; gpt-5.1 split 1:1 where the plan says 1:3.
        let s4 = samples(200, 2, "East US 2", "West US");
        let s5 = samples(200, 2, "East US 2", "Sweden Central");
        let (a4, a5) = (analyse(&four, &s4), analyse(&five, &s5));
        assert!(a4.ok && !a5.ok);
        let panels = [
            Panel {
                deployment: "gpt-4.1",
                seconds: 1.0,
                samples: &s4,
                analysis: &a4,
            },
            Panel {
                deployment: "gpt-5.1 <&>",
                seconds: 2.0,
                samples: &s5,
                analysis: &a5,
            },
        ];
        let doc = svg(&RUN, &panels);
        let root = crate::policy_xml::parse(&doc, crate::policy_xml::Format::Xml)
            .expect("well-formed XML");
        assert_eq!(root.name, "svg");
        assert!(doc.contains(r#"height="1530""#), "90 + 2 x 720");
        for part in [
            "aoai-lb verify: 400 requests through http://127.0.0.1:1/gateway/x/openai",
            "2 deployments, each against its own pool: gpt-4.1, gpt-5.1 &lt;&amp;&gt; · api-version 2024-10-21 · concurrency 8 · 3.0 s",
            "1 of 2 deployments failed: gpt-5.1 &lt;&amp;&gt;",
        ] {
            assert!(doc.contains(part), "missing `{part}`:\n{doc}");
        }
        // A panel per deployment, in order, each with its own regions, counts and shares.
        let parts: Vec<&str> = doc.split(r#"<g transform="translate(0,"#).collect();
        assert_eq!(parts.len(), 3, "{doc}");
        assert!(parts[1].starts_with(r#"90)">"#) && parts[2].starts_with(r#"810)">"#));
        let (p4, p5) = (parts[1], parts[2]);
        for (panel, name, verdict, regions) in [
            (
                p4,
                "deployment gpt-4.1",
                "passed",
                ["East US 2 (100)", "West US (100)"],
            ),
            (
                p5,
                "deployment gpt-5.1 &lt;&amp;&gt;",
                "failed",
                ["East US 2 (100)", "Sweden Central (100)"],
            ),
        ] {
            assert!(panel.contains(name), "{panel}");
            assert!(panel.contains(&format!(">{verdict}</text>")), "{panel}");
            for r in regions {
                assert!(panel.contains(r), "missing `{r}`:\n{panel}");
            }
            assert!(panel.contains("200 requests · 200 succeeded, 0 failed"));
            assert!(panel.contains("Share of successful responses: observed vs expected"));
            assert_eq!(
                panel.matches("<circle").count(),
                200 + 2,
                "one dot per request and one legend dot per region"
            );
        }
        assert!(p4.contains("the split matches the plan"));
        assert!(p5.contains("the split does not match the plan") && p5.contains(">75.0%<"));
        assert!(!p4.contains("Sweden Central") && !p5.contains("West US"));
    }

    #[test]
    fn every_deployment_passing_says_so() {
        let expected = Expected {
            rows: vec![row("a", "West US", 1, 0.5), row("b", "East US", 1, 0.5)],
            notes: vec![],
        };
        let s = samples(100, 2, "East US", "West US");
        let a = analyse(&expected, &s);
        let p = |deployment| Panel {
            deployment,
            seconds: 0.5,
            samples: &s,
            analysis: &a,
        };
        let doc = svg(&RUN, &[p("one"), p("two"), p("three")]);
        assert!(doc.contains("Every deployment passed (3): each one's split matches its pool"));
        assert!(doc.contains(r#"height="2250""#));
        assert_eq!(doc.matches(">passed</text>").count(), 3);
        assert!(!doc.contains(">failed</text>"));
    }

    #[test]
    fn a_region_has_one_colour_in_every_panel() {
        let both = Expected {
            rows: vec![row("w", "West US", 1, 0.5), row("e", "East US", 1, 0.5)],
            notes: vec![],
        };
        let east = Expected {
            rows: vec![row("e", "East US", 1, 1.0)],
            notes: vec![],
        };
        let s2 = samples(40, 2, "East US", "West US");
        let s1 = samples(40, 1, "East US", "East US");
        let (a2, a1) = (analyse(&both, &s2), analyse(&east, &s1));
        let panel = |deployment, samples, analysis| Panel {
            deployment,
            seconds: 0.1,
            samples,
            analysis,
        };
        let doc = svg(&RUN, &[panel("d1", &s2, &a2), panel("d2", &s1, &a1)]);
        let second = doc.split(r#"<g transform="translate(0,"#).nth(2).unwrap();
        let (west, east) = (chart::colour(0), chart::colour(1));
        assert!(second.contains(&format!(r#"fill="{east}""#)), "{second}");
        assert!(!second.contains(&format!(r#"fill="{west}""#)), "{second}");
        // Alone, East US would be the first colour.
        let alone = svg(&RUN, &[panel("d2", &s1, &a1)]);
        assert!(alone.contains(&format!(r#"fill="{west}""#)));
    }
}
