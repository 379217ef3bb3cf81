//! Checks of the shipped monitoring assets: every metric a rule, dashboard or documented query
//! reads exists — the operator registers it, a rule records it, or
//! `monitoring/external-metrics.txt` names its source — and the rules, runbooks, promtool tests
//! and dashboards stay in step with each other. Every query is parsed with `promql-parser`;
//! the metric names are read from its syntax tree.

use std::collections::BTreeSet;
use std::path::Path;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use serde_json::Value;
use smbp_operator::olm::monitoring::{DASHBOARDS, RULES};
use smbp_operator::telemetry::exposition::suffixes;
use smbp_operator::telemetry::reference;

const EXTERNAL: &str = include_str!("../../monitoring/external-metrics.txt");
const SOURCES: [&str; 5] = [
    "prometheus",
    "kube-state-metrics",
    "kubelet",
    "cadvisor",
    "cert-manager",
];
const RUNBOOK_BASE: &str = "https://github.com/smbp-io/smbp-operator/blob/main/docs/runbooks/";

/// The query with Grafana's variables replaced as hack/check-dashboards.sh does for promtool:
/// `$__rate_interval`, `$__interval` and `$__range` by durations, any other `$name` or
/// `${name}` by `x` (inside label values, where dashboards use them, that changes no name).
fn without_grafana_variables(expr: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after.find(|c| !is_ident(c)).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            // `$1` of label_replace, or a lone `$`.
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(match name {
            "__rate_interval" => "5m",
            "__interval" => "1m",
            "__range" => "1h",
            _ => "x",
        });
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The metric a selector reads: its name, or its `__name__="..."` matchers.
fn selector_names(vs: &VectorSelector, out: &mut Vec<String>) -> Result<(), String> {
    let by_name: Vec<&Matcher> = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten())
        .filter(|m| m.name == "__name__")
        .collect();
    if by_name.iter().any(|m| m.op != MatchOp::Equal) {
        return Err("__name__ matched by regex or negation cannot be checked".into());
    }
    match &vs.name {
        Some(name) => out.push(name.clone()),
        None => out.extend(by_name.into_iter().map(|m| m.value.clone())),
    }
    Ok(())
}

/// Metric names read under `e`, in the order they are written.
fn names_in(e: &Expr, out: &mut Vec<String>) -> Result<(), String> {
    match e {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                names_in(p, out)?;
            }
            names_in(&a.expr, out)
        }
        Expr::Unary(u) => names_in(&u.expr, out),
        Expr::Binary(b) => {
            names_in(&b.lhs, out)?;
            names_in(&b.rhs, out)
        }
        Expr::Paren(p) => names_in(&p.expr, out),
        Expr::Subquery(s) => names_in(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().try_for_each(|a| names_in(a, out)),
        Expr::VectorSelector(vs) => selector_names(vs, out),
        Expr::MatrixSelector(m) => selector_names(&m.vs, out),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::Extension(_) => Err("the parser made an extension node".into()),
    }
}

/// Metric names an expression reads, in order; an error when it is not PromQL.
fn metric_names(expr: &str) -> Result<Vec<String>, String> {
    let ast = promql_parser::parser::parse(&without_grafana_variables(expr))
        .map_err(|e| format!("{expr:?}: {e}"))?;
    let mut out = vec![];
    names_in(&ast, &mut out)?;
    Ok(out)
}

/// The expression of a Grafana query variable: `label_values(<expr>, <label>)` reads
/// `<expr>`, `label_values(<label>)` no metric.
fn variable_expr(query: &str) -> String {
    let q = query.trim();
    match q
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
    {
        Some(args) => match args.rfind(',') {
            Some(comma) => args[..comma].to_string(),
            None => String::new(),
        },
        None => q.to_string(),
    }
}

/// Series names the operator exposes (sample names of its encoding: `_total`, `_bucket`,
/// `_info` ... included), derived from the registry.
fn operator_series() -> BTreeSet<String> {
    reference::families()
        .iter()
        .flat_map(|f| {
            suffixes(&f.kind)
                .iter()
                .filter(|s| **s != "_created")
                .map(move |s| format!("{}{s}", f.name))
        })
        .collect()
}

fn rule_file() -> Value {
    serde_yaml_ng::from_str(RULES).expect("rule file parses")
}

fn rules() -> Vec<Value> {
    rule_file()["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect()
}

fn recorded() -> BTreeSet<String> {
    rules()
        .iter()
        .filter_map(|r| r["record"].as_str().map(String::from))
        .collect()
}

/// (name, source) pairs of the external list.
fn external() -> Vec<(String, String)> {
    EXTERNAL
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let source = parts.next().unwrap_or_default().to_string();
            assert!(parts.next().is_none(), "{l:?}: name and source only");
            (name, source)
        })
        .collect()
}

fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        Value::Object(o) => o.values().for_each(|x| walk(x, out)),
        _ => {}
    }
}

fn dashboard(json: &str) -> Value {
    serde_json::from_str(json).expect("dashboard is JSON")
}

/// ```promql blocks of the Markdown files under docs/, one query per line.
fn doc_queries() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut files = vec![root.join("metrics.md")];
    let mut runbooks: Vec<_> = std::fs::read_dir(root.join("runbooks"))
        .expect("docs/runbooks")
        .map(|e| e.unwrap().path())
        .collect();
    runbooks.sort();
    files.extend(runbooks);
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).expect("doc readable");
        let mut on = false;
        for line in text.lines() {
            let t = line.trim();
            if t == "```promql" {
                on = true;
            } else if t.starts_with("```") {
                on = false;
            } else if on && !t.is_empty() {
                out.push((f.display().to_string(), t.to_string()));
            }
        }
    }
    out
}

/// Every PromQL expression shipped: (where, expression).
fn all_queries() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rules()
        .iter()
        .map(|r| {
            let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
            (
                format!("rule {name}"),
                r["expr"].as_str().expect("expr").to_string(),
            )
        })
        .collect();
    for d in &DASHBOARDS {
        let model = dashboard(d.json);
        let mut nodes = vec![];
        walk(&model, &mut nodes);
        for n in nodes {
            if let Some(e) = n.get("expr").and_then(Value::as_str) {
                out.push((format!("dashboard {}", d.name), e.to_string()));
            }
        }
        for var in model["templating"]["list"].as_array().expect("templating") {
            if var["type"] == "query" {
                let q = var["query"]["query"]
                    .as_str()
                    .or(var["query"].as_str())
                    .expect("variable query");
                out.push((format!("dashboard {} variable", d.name), variable_expr(q)));
            }
        }
    }
    for (what, q) in reference::EXAMPLE_QUERIES {
        out.push((format!("metrics reference: {what}"), q.to_string()));
    }
    out.extend(doc_queries());
    out
}

/// Names the queries read that nobody provides, as "where: name" lines.
fn unknown_metrics(queries: &[(String, String)]) -> Vec<String> {
    let mut known = operator_series();
    known.extend(recorded());
    known.extend(external().into_iter().map(|(n, _)| n));
    let mut bad = vec![];
    for (at, q) in queries {
        match metric_names(q) {
            Ok(names) => bad.extend(
                names
                    .into_iter()
                    .filter(|n| !known.contains(n))
                    .map(|n| format!("{at}: {n}")),
            ),
            Err(e) => bad.push(format!("{at}: {e}")),
        }
    }
    bad
}

fn promtool_tests() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/rules/tests");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("monitoring/rules/tests")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let v = serde_yaml_ng::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.display().to_string(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn alert_names() -> BTreeSet<String> {
    rules()
        .iter()
        .filter_map(|r| r["alert"].as_str().map(String::from))
        .collect()
}

#[test]
fn parsed_queries_yield_metrics_and_nothing_else() {
    let cases: [(&str, &[&str]); 12] = [
        ("up", &["up"]),
        (
            r#"sum by (namespace, reason) (increase(smbp_operator_reconcile_errors_total{job="x"}[10m])) > 0"#,
            &["smbp_operator_reconcile_errors_total"],
        ),
        (
            "sum(rate(a_total[5m])) by (le) / ignoring (le) group_left (x) b offset 1h",
            &["a_total", "b"],
        ),
        (
            r#"label_replace(x{name=~".+-(ca|jwt)"}, "bigpeer", "$1", "name", "(.+)-(?:ca)") and on (namespace) group by (namespace) (y)"#,
            &["x", "y"],
        ),
        (
            "histogram_quantile(0.99, sum without (pod) (rate(h_bucket[$__rate_interval])))",
            &["h_bucket"],
        ),
        ("x - time() < 7 * 86400 or vector(0)", &["x"]),
        ("max_over_time(x[1h:5m] @ end()) > bool 1e3", &["x"]),
        (
            r#"{__name__="by_name", job="j"} unless topk(5, ns:rec:ratio)"#,
            &["by_name", "ns:rec:ratio"],
        ),
        (
            r#"count_values("version", build_info{a="}"}) # a comment naming fake_metric"#,
            &["build_info"],
        ),
        (
            r#"x{namespace="$namespace", pod=~"${bigpeer}-store-[0-9]+"} * on (pod) group_right kube_y"#,
            &["x", "kube_y"],
        ),
        ("sum by(le)(rate(z[5m])) < Inf or vector(NaN)", &["z"]),
        ("absent(up{job=\"a\"} == 1)", &["up"]),
    ];
    for (expr, want) in cases {
        assert_eq!(metric_names(expr).unwrap(), want, "{expr}");
    }
    assert!(metric_names(r#"{__name__=~"smbp_.*"}"#).is_err());
    // A real parser: a syntax error is reported here too, not only by promtool.
    assert!(metric_names("rate(x[5m]").is_err());
    assert!(metric_names("x{a=\"b}").is_err());
    assert!(metric_names("x ; y").is_err());
    assert_eq!(
        variable_expr(r#"label_values(m{namespace="$namespace"}, bigpeer)"#),
        r#"m{namespace="$namespace"}"#
    );
    assert_eq!(variable_expr("label_values(namespace)"), "");
    assert_eq!(
        without_grafana_variables(
            r#"rate(m{ns="$namespace", pod=~"${bigpeer}-.+", x="$1"}[$__rate_interval])"#
        ),
        r#"rate(m{ns="x", pod=~"x-.+", x="$1"}[5m])"#
    );
}

#[test]
fn a_misspelled_metric_is_caught() {
    let q = |e: &str| vec![("synthetic".to_string(), e.to_string())];
    assert_eq!(
        unknown_metrics(&q(
            "sum(rate(smbp_operator_reconcile_error_total[5m])) / sum(rate(smbp_operator_reconciles_total[5m]))"
        )),
        ["synthetic: smbp_operator_reconcile_error_total"]
    );
    // A family name without its series suffix is not a series Prometheus stores.
    assert_eq!(
        unknown_metrics(&q("rate(smbp_operator_reconciles[5m])")),
        ["synthetic: smbp_operator_reconciles"]
    );
    assert_eq!(
        unknown_metrics(&q("smbp_operator_reconcile_duration_seconds > 1")),
        ["synthetic: smbp_operator_reconcile_duration_seconds"]
    );
    assert_eq!(
        unknown_metrics(&q("kube_pod_container_status_restart_total")),
        ["synthetic: kube_pod_container_status_restart_total"]
    );
    assert!(
        unknown_metrics(&q(
            "histogram_quantile(0.5, sum by (le) (rate(smbp_operator_reconcile_duration_seconds_bucket[5m]))) + smbp_operator_build_info * on () group_left up"
        ))
        .is_empty()
    );
}

#[test]
fn every_shipped_query_reads_known_metrics() {
    let queries = all_queries();
    assert!(queries.len() > 40, "{}", queries.len());
    let bad = unknown_metrics(&queries);
    assert!(bad.is_empty(), "unknown metrics:\n{}", bad.join("\n"));
}

#[test]
fn external_metrics_are_sourced_used_and_not_the_operators() {
    let list = external();
    let mut used = BTreeSet::new();
    for (_, q) in all_queries() {
        used.extend(metric_names(&q).unwrap());
    }
    let ours = operator_series();
    let mut seen = BTreeSet::new();
    for (name, source) in &list {
        assert!(
            SOURCES.contains(&source.as_str()),
            "{name}: source {source:?}"
        );
        assert!(
            used.contains(name),
            "{name} is listed but no query reads it"
        );
        assert!(!ours.contains(name), "{name} is the operator's own");
        assert!(seen.insert(name), "{name} listed twice");
    }
}

#[test]
fn alerts_are_complete_and_have_runbooks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let index = std::fs::read_to_string(root.join("docs/runbooks/README.md")).unwrap();
    let alerts: Vec<Value> = rules()
        .into_iter()
        .filter(|r| r.get("alert").is_some())
        .collect();
    assert!(alerts.len() >= 8);
    for a in &alerts {
        let name = a["alert"].as_str().unwrap();
        assert!(name.starts_with("Smbp"), "{name}");
        assert!(
            matches!(
                a["labels"]["severity"].as_str(),
                Some("warning" | "critical")
            ),
            "{name}: severity"
        );
        assert!(a["for"].is_string(), "{name}: no for");
        for key in ["summary", "description"] {
            assert!(
                a["annotations"][key].as_str().is_some_and(|s| s.len() > 20),
                "{name}: {key}"
            );
        }
        assert_eq!(
            a["annotations"]["runbook_url"],
            format!("{RUNBOOK_BASE}{name}.md"),
            "{name}"
        );
        let page = std::fs::read_to_string(root.join(format!("docs/runbooks/{name}.md")))
            .unwrap_or_else(|_| panic!("docs/runbooks/{name}.md is missing"));
        for section in [
            "## Meaning",
            "## Impact",
            "## Diagnosis",
            "## Mitigation",
            "## Escalation",
        ] {
            assert!(page.contains(section), "{name}.md lacks {section}");
        }
        assert!(
            index.contains(&format!("[{name}]({name}.md)")),
            "index lacks {name}"
        );
    }
    // No runbook without an alert.
    for e in std::fs::read_dir(root.join("docs/runbooks")).unwrap() {
        let file = e.unwrap().file_name().to_string_lossy().to_string();
        let stem = file.trim_end_matches(".md");
        assert!(
            file == "README.md" || alert_names().contains(stem),
            "{file}"
        );
    }
}

#[test]
fn the_stuck_rollout_alert_waits_one_minute() {
    // The operator already waits spec.rollout.progressDeadlineSeconds before counting a pod
    // as stuck; the e2e test waits for this alert with that in mind.
    let stuck = rules()
        .into_iter()
        .find(|r| r["alert"] == "SmbpBigPeerRolloutStuck")
        .unwrap();
    assert_eq!(stuck["for"], "1m");
    assert_eq!(
        metric_names(stuck["expr"].as_str().unwrap()).unwrap(),
        ["smbp_operator_bigpeer_stuck_pods"]
    );
}

#[test]
fn promtool_tests_cover_every_alert_firing_and_silent() {
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for (path, t) in promtool_tests() {
        assert_eq!(
            t["rule_files"],
            serde_json::json!(["../smbp-operator.rules.yaml"]),
            "{path}"
        );
        for case in t["tests"].as_array().unwrap() {
            for a in case["alert_rule_test"].as_array().into_iter().flatten() {
                let name = a["alertname"].as_str().unwrap().to_string();
                let exp = a["exp_alerts"].as_array().unwrap();
                if exp.is_empty() {
                    silent.insert(name);
                } else {
                    for e in exp {
                        assert!(
                            e["exp_annotations"]["runbook_url"].is_string(),
                            "{path}: {name}: annotations are not checked"
                        );
                    }
                    firing.insert(name);
                }
            }
        }
    }
    let alerts = alert_names();
    assert_eq!(firing, alerts, "alerts with a firing test");
    assert_eq!(silent, alerts, "alerts with a not-firing test");
}

#[test]
fn dashboards_use_the_datasource_variable_only() {
    let mut uids = BTreeSet::new();
    for d in &DASHBOARDS {
        let model = dashboard(d.json);
        assert!(uids.insert(model["uid"].as_str().unwrap().to_string()));
        assert!(model["title"].as_str().is_some_and(|t| !t.is_empty()));
        let vars = model["templating"]["list"].as_array().unwrap();
        let ds = vars
            .iter()
            .find(|v| v["name"] == "datasource")
            .unwrap_or_else(|| panic!("{}: no datasource variable", d.name));
        assert_eq!(
            (&ds["type"], &ds["query"]),
            (&"datasource".into(), &"prometheus".into())
        );
        let mut nodes = vec![];
        walk(&model, &mut nodes);
        for n in &nodes {
            if let Some(src) = n.get("datasource")
                && src["type"] != "grafana"
            {
                assert_eq!(
                    (&src["type"], &src["uid"]),
                    (&"prometheus".into(), &"${datasource}".into()),
                    "{}: hard-coded datasource {src}",
                    d.name
                );
            }
        }
        let mut ids = BTreeSet::new();
        let mut panels = vec![];
        for p in model["panels"].as_array().unwrap() {
            panels.push(p);
            panels.extend(p["panels"].as_array().into_iter().flatten());
        }
        for p in panels {
            assert!(
                ids.insert(p["id"].as_i64().unwrap()),
                "{}: id {}",
                d.name,
                p["id"]
            );
            let g = &p["gridPos"];
            assert!(
                g["w"].as_i64().unwrap() + g["x"].as_i64().unwrap() <= 24,
                "{}",
                d.name
            );
            if p["type"] != "row" {
                assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
                let targets = p["targets"].as_array().unwrap();
                assert!(
                    !targets.is_empty(),
                    "{}: {} has no query",
                    d.name,
                    p["title"]
                );
                for t in targets {
                    assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()));
                }
            }
        }
    }
}
