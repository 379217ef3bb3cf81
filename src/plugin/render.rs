//! `kubectl smbp status` as one screen: pure text from a [`StatusReport`], colour only when
//! asked (the caller asks when stdout is a terminal and `NO_COLOR` is unset).

use k8s_openapi::jiff::Timestamp;

use super::report::StatusReport;

/// Text colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paint {
    Good,
    Bad,
    Warn,
    Bold,
}

/// Rendering options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours.
    pub colour: bool,
}

impl Style {
    fn paint(self, p: Paint, s: &str) -> String {
        if !self.colour || s.is_empty() {
            return s.to_string();
        }
        let code = match p {
            Paint::Good => "32",
            Paint::Bad => "31",
            Paint::Warn => "33",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
pub fn use_colour(is_terminal: bool, no_color: Option<&str>) -> bool {
    is_terminal && no_color.is_none_or(str::is_empty)
}

/// "3d", "5h", "12m", "40s": how long ago `at` was, seen from `now` (negative: in the future).
pub fn age(at: &str, now: &str) -> String {
    let (Ok(at), Ok(now)) = (at.parse::<Timestamp>(), now.parse::<Timestamp>()) else {
        return "?".into();
    };
    span(now.as_second() - at.as_second())
}

fn span(secs: i64) -> String {
    let (sign, s) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let text = match s {
        s if s >= 2 * 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    };
    format!("{sign}{text}")
}

/// Whole days from `now` until `at`.
pub fn days_until(at: &str, now: &str) -> Option<i64> {
    let at = at.parse::<Timestamp>().ok()?;
    let now = now.parse::<Timestamp>().ok()?;
    Some((at.as_second() - now.as_second()).div_euclid(86_400))
}

/// A table: the header, then rows, columns padded to their widest cell (by characters, not
/// by escape codes: cells are painted after padding). The last column is not padded.
fn table(style: Style, header: &[&str], rows: &[Vec<(String, Option<Paint>)>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (cell, _)) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<(String, Option<Paint>)>| {
        let n = cells.len();
        let mut out = String::from("  ");
        for (i, (cell, paint)) in cells.into_iter().enumerate() {
            let pad = if i + 1 < n {
                " ".repeat(widths[i] - cell.chars().count() + 2)
            } else {
                String::new()
            };
            let cell = match paint {
                Some(p) => style.paint(p, &cell),
                None => cell,
            };
            out.push_str(&cell);
            out.push_str(&pad);
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| (h.to_string(), None)).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

fn plain(s: impl Into<String>) -> (String, Option<Paint>) {
    (s.into(), None)
}

fn section(style: Style, out: &mut String, title: &str) {
    out.push('\n');
    out.push_str(&style.paint(Paint::Bold, title));
    out.push('\n');
}

/// Render the report.
pub fn render(r: &StatusReport, style: Style) -> String {
    let now = r.generated_at.as_str();
    let mut out = String::new();
    out.push_str(&style.paint(Paint::Bold, &format!("BigPeer {}/{}", r.namespace, r.name)));
    out.push('\n');
    let running = r
        .version
        .running
        .clone()
        .unwrap_or_else(|| "mixed (rolling)".into());
    let version = if r.version.running.as_deref() == Some(r.version.desired.as_str()) {
        running.clone()
    } else {
        format!("{running} running, {} desired", r.version.desired)
    };
    out.push_str(&format!("  Version:     {version}\n"));
    let generation = match (r.generation, r.observed_generation) {
        (Some(g), Some(o)) if g == o => format!("{g} (observed)"),
        (Some(g), Some(o)) => format!("{g} (operator has observed {o})"),
        (Some(g), None) => format!("{g} (not yet observed)"),
        _ => "?".into(),
    };
    out.push_str(&format!("  Generation:  {generation}\n"));
    if r.paused {
        out.push_str(&format!(
            "  Paused:      {}\n",
            style.paint(
                Paint::Warn,
                "yes: the operator changes nothing until `kubectl smbp resume`"
            )
        ));
    }

    section(style, &mut out, "Conditions:");
    if r.conditions.is_empty() {
        out.push_str("  none reported yet\n");
    } else {
        let rows: Vec<_> = r
            .conditions
            .iter()
            .map(|c| {
                // Degraded and ReconciliationPaused are bad when True; the rest when False.
                let bad_when_true = matches!(c.type_.as_str(), "Degraded" | "ReconciliationPaused");
                let paint = match (c.status.as_str(), bad_when_true) {
                    ("True", false) | ("False", true) => Paint::Good,
                    ("Unknown", _) => Paint::Warn,
                    _ => Paint::Bad,
                };
                let paint = if c.type_ == "Progressing" {
                    Paint::Warn
                } else {
                    paint
                };
                let paint = (c.type_ != "Progressing" || c.status == "True").then_some(paint);
                vec![
                    plain(&c.type_),
                    (c.status.clone(), paint),
                    plain(&c.reason),
                    plain(c.since.as_deref().map(|s| age(s, now)).unwrap_or_default()),
                    plain(&c.message),
                ]
            })
            .collect();
        out.push_str(&table(
            style,
            &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
            &rows,
        ));
    }

    section(style, &mut out, "Components:");
    let rows: Vec<_> = r
        .components
        .iter()
        .map(|c| {
            let ok = c.ready == c.desired && c.updated == c.desired;
            vec![
                plain(&c.component),
                plain(c.desired.to_string()),
                (
                    c.ready.to_string(),
                    Some(if ok { Paint::Good } else { Paint::Warn }),
                ),
                plain(c.updated.to_string()),
                plain(c.restart.as_ref().map_or_else(String::new, |x| {
                    format!(
                        "requested {} ({}/{} pods restarted)",
                        x.requested_at, x.pods_restarted, x.pods
                    )
                })),
            ]
        })
        .collect();
    out.push_str(&table(
        style,
        &["COMPONENT", "DESIRED", "READY", "UPDATED", "RESTART"],
        &rows,
    ));
    out.push_str(&format!(
        "  Rollout:     {}\n",
        r.rollout.as_deref().unwrap_or("none in progress")
    ));
    if let Some(t) = &r.topology {
        let cur = &t.status.current;
        out.push_str(&format!(
            "  Topology:    {} partitions, replication factor {} (minimum {})\n",
            cur.partitions, cur.replication_factor, cur.minimum_replication_factor
        ));
        match &t.status.transition {
            Some(tr) => out.push_str(&format!(
                "  Transition:  {} to {} partitions, replication factor {} (minimum {}), started {} ago\n",
                style.paint(Paint::Warn, &format!("{:?}", tr.phase)),
                tr.target.partitions,
                tr.target.replication_factor,
                tr.target.minimum_replication_factor,
                age(&tr.started_at, now)
            )),
            None if &t.desired != cur => out.push_str(&format!(
                "  Transition:  pending, to {} partitions, replication factor {} (minimum {})\n",
                t.desired.partitions, t.desired.replication_factor, t.desired.minimum_replication_factor
            )),
            None => out.push_str("  Transition:  none\n"),
        }
    }

    section(style, &mut out, "Pods:");
    if r.pods.is_empty() {
        out.push_str("  none\n");
    } else {
        let rows: Vec<_> = r
            .pods
            .iter()
            .map(|p| {
                vec![
                    plain(&p.name),
                    plain(&p.phase),
                    (
                        if p.ready { "yes" } else { "no" }.to_string(),
                        Some(if p.ready { Paint::Good } else { Paint::Bad }),
                    ),
                    (
                        p.restarts.to_string(),
                        (p.restarts > 0).then_some(Paint::Warn),
                    ),
                    plain(p.node.clone().unwrap_or_else(|| "-".into())),
                ]
            })
            .collect();
        out.push_str(&table(
            style,
            &["NAME", "PHASE", "READY", "RESTARTS", "NODE"],
            &rows,
        ));
        let stuck: Vec<_> = r.pods.iter().filter(|p| p.problem.is_some()).collect();
        if !stuck.is_empty() {
            out.push_str(&format!("  {}\n", style.paint(Paint::Bad, "Not ready:")));
            for p in stuck {
                out.push_str(&format!(
                    "    {}: {}\n",
                    p.name,
                    p.problem.as_deref().unwrap_or_default()
                ));
            }
        }
    }

    section(style, &mut out, "Exposure:");
    match &r.exposure {
        None => out.push_str("  not reported yet\n"),
        Some(e) => {
            out.push_str(&format!("  Mode: {}, TLS: {}\n", e.mode, e.tls));
            for ep in &e.endpoints {
                out.push_str(&format!("  {:<6} {}\n", ep.name, ep.url));
            }
            if e.endpoints.is_empty() {
                out.push_str("  no client URL yet\n");
            }
        }
    }

    section(style, &mut out, "Certificates:");
    if r.certificates.is_empty() && unread(r, "certificates") {
        out.push_str("  not read (see below)\n");
    } else if r.certificates.is_empty() {
        out.push_str("  none read\n");
    } else {
        let rows: Vec<_> = r
            .certificates
            .iter()
            .map(|c| {
                let (expiry, paint) = match (&c.not_after, &c.problem) {
                    (Some(at), _) => {
                        let days = days_until(at, now).unwrap_or_default();
                        let paint = match days {
                            d if d < 0 => Paint::Bad,
                            d if d < 30 => Paint::Warn,
                            _ => Paint::Good,
                        };
                        let when = if days < 0 {
                            format!("{at} (EXPIRED {} days ago)", -days)
                        } else {
                            format!("{at} (in {days} days)")
                        };
                        (when, Some(paint))
                    }
                    (None, Some(p)) => (p.clone(), Some(Paint::Warn)),
                    (None, None) => ("?".into(), None),
                };
                vec![
                    plain(&c.purpose),
                    plain(&c.secret),
                    (expiry, paint),
                    plain(c.subject.clone().unwrap_or_default()),
                ]
            })
            .collect();
        out.push_str(&table(
            style,
            &["PURPOSE", "SECRET", "EXPIRES", "SUBJECT"],
            &rows,
        ));
    }

    let related = [
        ("Apps:", "APP ID", &r.apps),
        ("Replications:", "APP", &r.replications),
        ("Data bridges:", "APP", &r.data_bridges),
    ];
    for (title, detail, items) in related {
        section(style, &mut out, title);
        if items.is_empty() {
            out.push_str("  none\n");
            continue;
        }
        let rows: Vec<_> = items
            .iter()
            .map(|a| vec![plain(&a.name), plain(&a.detail), ready_cell(&a.ready)])
            .collect();
        out.push_str(&table(style, &["NAME", detail, "READY"], &rows));
        if title == "Apps:" {
            section(style, &mut out, "API keys:");
            if r.api_keys.is_empty() {
                out.push_str("  none\n");
            } else {
                let rows: Vec<_> = r
                    .api_keys
                    .iter()
                    .map(|k| {
                        let days = days_until(&k.expires_at, now).unwrap_or_default();
                        let paint = match days {
                            d if d < 0 => Paint::Bad,
                            d if d < 14 => Paint::Warn,
                            _ => Paint::Good,
                        };
                        let when = if days < 0 {
                            format!("{} (expired)", k.expires_at)
                        } else {
                            format!("{} (in {days} days)", k.expires_at)
                        };
                        vec![
                            plain(&k.name),
                            plain(&k.app),
                            (when, Some(paint)),
                            ready_cell(&k.ready),
                        ]
                    })
                    .collect();
                out.push_str(&table(style, &["NAME", "APP", "EXPIRES", "READY"], &rows));
            }
        }
    }

    section(style, &mut out, "Events:");
    if r.events.is_empty() && unread(r, "events") {
        out.push_str("  not read (see below)\n");
    } else if r.events.is_empty() {
        out.push_str("  none\n");
    } else {
        let rows: Vec<_> = r
            .events
            .iter()
            .map(|e| {
                let count = if e.count > 1 {
                    format!(" (x{})", e.count)
                } else {
                    String::new()
                };
                vec![
                    plain(
                        e.last_seen
                            .as_deref()
                            .map(|s| age(s, now))
                            .unwrap_or_else(|| "?".into()),
                    ),
                    (
                        e.type_.clone(),
                        (e.type_ == "Warning").then_some(Paint::Warn),
                    ),
                    plain(&e.reason),
                    plain(&e.object),
                    plain(format!("{}{count}", e.message)),
                ]
            })
            .collect();
        out.push_str(&table(
            style,
            &["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            &rows,
        ));
    }

    if !r.unavailable.is_empty() {
        section(style, &mut out, "Not shown:");
        for u in &r.unavailable {
            out.push_str(&format!("  - {}\n", style.paint(Paint::Warn, u)));
        }
    }
    out
}

/// A part of the report could not be read (its entry in `unavailable` starts with `what:`).
fn unread(r: &StatusReport, what: &str) -> bool {
    r.unavailable
        .iter()
        .any(|u| u.starts_with(&format!("{what}:")))
}

fn ready_cell(ready: &str) -> (String, Option<Paint>) {
    let paint = if ready.starts_with("True") {
        Paint::Good
    } else {
        Paint::Bad
    };
    (ready.to_string(), Some(paint))
}

#[cfg(test)]
mod tests {
    //! Golden outputs: `tests/plugin/fixtures/<case>.json` (what the plugin reads) gives
    //! `tests/plugin/golden/<case>.txt` (the screen), `<case>.json` (`-o json`) and, for one case,
    //! `<case>.colour.txt`. `SMBP_BLESS=1 cargo test --lib plugin::` rewrites them.

    use std::path::PathBuf;

    use super::*;
    use crate::plugin::report::{Inputs, assemble};

    const CASES: [&str; 4] = ["healthy", "stuck-rollout", "transition", "no-permissions"];

    fn dir(sub: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/plugin")
            .join(sub)
    }

    fn report(case: &str) -> StatusReport {
        let text = std::fs::read_to_string(dir("fixtures").join(format!("{case}.json"))).unwrap();
        let inputs: Inputs = serde_json::from_str(&text).unwrap();
        assemble(inputs)
    }

    fn golden(file: &str, actual: &str) {
        let path = dir("golden").join(file);
        if std::env::var_os("SMBP_BLESS").is_some() {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} missing: run with SMBP_BLESS=1", path.display()));
        assert_eq!(
            actual, expected,
            "{file} differs from the golden output (SMBP_BLESS=1 rewrites it after review)"
        );
    }

    #[test]
    fn status_screens_match_their_goldens() {
        for case in CASES {
            let r = report(case);
            golden(&format!("{case}.txt"), &render(&r, Style { colour: false }));
            let json = serde_json::to_string_pretty(&r).unwrap() + "\n";
            golden(&format!("{case}.json"), &json);
            // The machine-readable document reads back as the same report.
            assert_eq!(serde_json::from_str::<StatusReport>(&json).unwrap(), r);
        }
        golden(
            "stuck-rollout.colour.txt",
            &render(&report("stuck-rollout"), Style { colour: true }),
        );
    }

    #[test]
    fn a_stuck_rollout_names_each_pod_and_why() {
        let text = render(&report("stuck-rollout"), Style { colour: false });
        for needle in [
            "alpha-store-2: ImagePullBackOff: Back-off pulling image",
            "alpha-subscription-7d9f-abcde: CrashLoopBackOff",
            "alpha-api-6e5d-pqrst: Unschedulable: 0/3 nodes are available: 3 Insufficient memory",
            "1.60.0 desired",
        ] {
            assert!(text.contains(needle), "{needle} not in:\n{text}");
        }
    }

    #[test]
    fn events_of_other_objects_are_left_out_and_permissions_are_named() {
        let text = render(&report("healthy"), Style { colour: false });
        assert!(!text.contains("unrelated"), "{text}");
        assert!(!text.contains("other-bp-app"), "{text}");
        let text = render(&report("no-permissions"), Style { colour: false });
        assert!(text.contains("missing permission: list events.events.k8s.io in namespace shop"));
        assert!(text.contains("Paused:"));
    }

    #[test]
    fn no_colour_without_a_terminal_or_with_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
        let plain = render(&report("healthy"), Style { colour: false });
        assert!(!plain.contains('\x1b'));
    }

    #[test]
    fn ages_and_days() {
        assert_eq!(age("2026-11-30T11:58:00Z", "2026-11-30T12:00:00Z"), "2m");
        assert_eq!(age("2026-11-27T12:00:00Z", "2026-11-30T12:00:00Z"), "3d");
        assert_eq!(age("2026-11-30T13:00:00Z", "2026-11-30T12:00:00Z"), "-1h");
        assert_eq!(age("junk", "2026-11-30T12:00:00Z"), "?");
        assert_eq!(
            days_until("2026-12-20T12:00:00Z", "2026-11-30T12:00:00Z"),
            Some(20)
        );
        assert_eq!(
            days_until("2026-11-29T12:00:00Z", "2026-11-30T12:00:00Z"),
            Some(-1)
        );
    }
}
