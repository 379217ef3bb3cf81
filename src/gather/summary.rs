//! What a gather found unhealthy, and what it could not collect: pure functions of the
//! (already redacted) objects, rendered as `summary.md` and `summary.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Something that could not be collected, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatherError {
    /// What was asked for: a resource (`secrets`), `logs`, `metrics`, `discovery`.
    pub resource: String,
    /// Its namespace, when namespaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object or container, when one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why: the API server's reason (`forbidden`, `not found`) and message.
    pub reason: String,
}

/// One unhealthy thing found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Kind of the object.
    pub kind: String,
    /// Its namespace, when namespaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// What is wrong, with the reason the object gives.
    pub what: String,
}

/// The result of a gather.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// When the gather started (RFC 3339).
    pub started_at: String,
    /// The API server's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The namespaces gathered.
    pub namespaces: Vec<String>,
    /// The namespaces the operator was found in.
    pub operator_namespaces: Vec<String>,
    /// Objects collected, by `group/resource` (`core/pods`).
    pub collected: BTreeMap<String, usize>,
    /// Add-on API groups found through discovery, and those absent.
    pub addons: BTreeMap<String, bool>,
    /// What is unhealthy.
    pub problems: Vec<Problem>,
    /// What could not be collected.
    pub errors: Vec<GatherError>,
}

fn meta(v: &Value) -> (Option<String>, String) {
    let m = &v["metadata"];
    (
        m["namespace"].as_str().map(str::to_owned),
        m["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn condition<'a>(v: &'a Value, type_: &str) -> Option<&'a Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn reason_of(c: &Value) -> String {
    let reason = c["reason"].as_str().unwrap_or("no reason");
    match c["message"].as_str().filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason}: {m}"),
        None => reason.to_owned(),
    }
}

/// What is wrong with one object, if anything (`group` is its API group, `""` for core).
pub fn problems_of(group: &str, kind: &str, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let status = &v["status"];
    match (group, kind) {
        ("smbp.io", _) => {
            match condition(v, "Ready") {
                Some(c) if c["status"] == "True" => {}
                Some(c) => out.push(format!("not Ready ({})", reason_of(c))),
                None => out.push("no Ready condition yet".into()),
            }
            if let Some(c) = condition(v, "Degraded").filter(|c| c["status"] == "True") {
                out.push(format!("Degraded ({})", reason_of(c)));
            }
        }
        ("", "Pod") => {
            let phase = status["phase"].as_str().unwrap_or("Unknown");
            if !matches!(phase, "Running" | "Succeeded") {
                let why = status["reason"].as_str().unwrap_or_default();
                out.push(format!("phase {phase} {why}").trim_end().to_owned());
            }
            for cs in status["containerStatuses"].as_array().into_iter().flatten() {
                let name = cs["name"].as_str().unwrap_or_default();
                if let Some(reason) = cs["state"]["waiting"]["reason"].as_str() {
                    out.push(format!("container {name} waiting: {reason}"));
                } else if phase == "Running" && cs["ready"] == false {
                    out.push(format!("container {name} not ready"));
                }
                let restarts = cs["restartCount"].as_i64().unwrap_or(0);
                if restarts > 0 {
                    let last = cs["lastState"]["terminated"]["reason"]
                        .as_str()
                        .unwrap_or("unknown");
                    out.push(format!(
                        "container {name} restarted {restarts} times (last: {last})"
                    ));
                }
            }
        }
        ("", "Event") if v["type"] == "Warning" => {
            let o = &v["involvedObject"];
            out.push(format!(
                "Warning {} on {}/{}: {} (x{})",
                v["reason"].as_str().unwrap_or_default(),
                o["kind"].as_str().unwrap_or_default(),
                o["name"].as_str().unwrap_or_default(),
                v["message"].as_str().unwrap_or_default().trim(),
                v["count"].as_i64().unwrap_or(1)
            ));
        }
        ("", "PersistentVolumeClaim") => {
            let phase = status["phase"].as_str().unwrap_or("Unknown");
            if phase != "Bound" {
                out.push(format!("PVC {phase}"));
            }
        }
        ("apps", "Deployment" | "StatefulSet") => {
            let want = v["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = status["readyReplicas"].as_i64().unwrap_or(0);
            if ready < want {
                out.push(format!("{ready}/{want} replicas ready"));
            }
        }
        ("operators.coreos.com", "ClusterServiceVersion") => {
            let phase = status["phase"].as_str().unwrap_or("Unknown");
            if phase != "Succeeded" {
                out.push(format!(
                    "CSV phase {phase} ({}: {})",
                    status["reason"].as_str().unwrap_or_default(),
                    status["message"].as_str().unwrap_or_default()
                ));
            }
        }
        ("operators.coreos.com", "InstallPlan") if status["phase"] == "Failed" => {
            let why = condition(v, "Installed").map(reason_of).unwrap_or_default();
            out.push(format!("InstallPlan Failed {why}").trim_end().to_owned());
        }
        ("operators.coreos.com", "Subscription") => {
            for c in status["conditions"].as_array().into_iter().flatten() {
                let bad = c["status"] == "True"
                    && matches!(
                        c["type"].as_str(),
                        Some("ResolutionFailed" | "InstallPlanFailed" | "CatalogSourcesUnhealthy")
                    );
                if bad {
                    out.push(format!(
                        "{} ({})",
                        c["type"].as_str().unwrap_or_default(),
                        reason_of(c)
                    ));
                }
            }
        }
        ("cert-manager.io", "Certificate" | "Issuer")
        | ("kafka.strimzi.io", "Kafka" | "KafkaTopic" | "KafkaUser") => {
            if let Some(c) = condition(v, "Ready").filter(|c| c["status"] != "True") {
                out.push(format!("not Ready ({})", reason_of(c)));
            }
        }
        _ => {}
    }
    out
}

/// The problems of every object.
pub fn problems(objects: &[(String, String, Value)]) -> Vec<Problem> {
    objects
        .iter()
        .flat_map(|(group, kind, v)| {
            let (namespace, name) = meta(v);
            problems_of(group, kind, v)
                .into_iter()
                .map(move |what| Problem {
                    kind: kind.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    what,
                })
        })
        .collect()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `summary.md`.
pub fn markdown(s: &Summary) -> String {
    let mut out = String::from("# smbp-operator must-gather summary\n\n");
    out.push_str(&format!("- Gathered at: {}\n", s.started_at));
    if let Some(v) = &s.server_version {
        out.push_str(&format!("- Kubernetes: {v}\n"));
    }
    out.push_str(&format!("- Namespaces: {}\n", s.namespaces.join(", ")));
    out.push_str(&format!(
        "- Operator found in: {}\n",
        if s.operator_namespaces.is_empty() {
            "(not found)".to_owned()
        } else {
            s.operator_namespaces.join(", ")
        }
    ));
    let addons: Vec<String> = s
        .addons
        .iter()
        .map(|(g, present)| format!("{g} ({})", if *present { "present" } else { "absent" }))
        .collect();
    out.push_str(&format!("- Add-ons: {}\n", addons.join(", ")));
    out.push_str("\n## Unhealthy\n\n");
    if s.problems.is_empty() {
        out.push_str("Nothing unhealthy found.\n");
    } else {
        out.push_str("| Kind | Namespace | Name | What |\n|---|---|---|---|\n");
        for p in &s.problems {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                p.kind,
                p.namespace.as_deref().unwrap_or("-"),
                cell(&p.name),
                cell(&p.what)
            ));
        }
    }
    out.push_str("\n## Collected\n\n");
    for (r, n) in &s.collected {
        out.push_str(&format!("- {r}: {n}\n"));
    }
    out.push_str("\n## gather-errors\n\nWhat could not be collected, and why.\n\n");
    if s.errors.is_empty() {
        out.push_str("None.\n");
    } else {
        for e in &s.errors {
            let place = match (&e.namespace, &e.name) {
                (Some(ns), Some(n)) => format!(" ({ns}/{n})"),
                (Some(ns), None) => format!(" (namespace {ns})"),
                (None, Some(n)) => format!(" ({n})"),
                (None, None) => String::new(),
            };
            out.push_str(&format!("- {}{place}: {}\n", e.resource, cell(&e.reason)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bigpeer_not_ready_and_degraded_is_named_with_reasons() {
        let bp = json!({"metadata": {"name": "bp", "namespace": "n"}, "status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "RolloutStuck", "message": "pod bp-store-1 Pending"},
            {"type": "Degraded", "status": "True", "reason": "StoreUnavailable"}]}});
        let p = problems(&[("smbp.io".into(), "BigPeer".into(), bp)]);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].what,
            "not Ready (RolloutStuck: pod bp-store-1 Pending)"
        );
        assert_eq!(p[1].what, "Degraded (StoreUnavailable)");
        let ok = json!({"metadata": {"name": "bp"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(problems_of("smbp.io", "BigPeer", &ok).is_empty());
    }

    #[test]
    fn crashlooping_and_pending_pods() {
        let crash = json!({"status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": false,
            "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "Error"}}}]}});
        assert_eq!(
            problems_of("", "Pod", &crash),
            [
                "container c waiting: CrashLoopBackOff",
                "container c restarted 4 times (last: Error)"
            ]
        );
        let pending = json!({"status": {"phase": "Pending"}});
        assert_eq!(problems_of("", "Pod", &pending), ["phase Pending"]);
        let fine = json!({"status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        assert!(problems_of("", "Pod", &fine).is_empty());
    }

    #[test]
    fn warnings_pvcs_workloads_and_olm() {
        let ev = json!({"type": "Warning", "reason": "FailedMount", "message": "no", "count": 3,
            "involvedObject": {"kind": "Pod", "name": "p"}});
        assert_eq!(
            problems_of("", "Event", &ev),
            ["Warning FailedMount on Pod/p: no (x3)"]
        );
        assert!(problems_of("", "Event", &json!({"type": "Normal"})).is_empty());
        assert_eq!(
            problems_of(
                "",
                "PersistentVolumeClaim",
                &json!({"status": {"phase": "Pending"}})
            ),
            ["PVC Pending"]
        );
        assert_eq!(
            problems_of(
                "apps",
                "StatefulSet",
                &json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 1}})
            ),
            ["1/3 replicas ready"]
        );
        assert_eq!(
            problems_of(
                "operators.coreos.com",
                "ClusterServiceVersion",
                &json!({"status": {"phase": "Failed", "reason": "InstallCheckFailed", "message": "m"}})
            ),
            ["CSV phase Failed (InstallCheckFailed: m)"]
        );
        let ip = json!({"status": {"phase": "Failed", "conditions": [{"type": "Installed", "status": "False", "reason": "InstallComponentFailed"}]}});
        assert_eq!(
            problems_of("operators.coreos.com", "InstallPlan", &ip),
            ["InstallPlan Failed InstallComponentFailed"]
        );
    }

    #[test]
    fn markdown_lists_problems_and_gather_errors() {
        let s = Summary {
            started_at: "t".into(),
            namespaces: vec!["n".into()],
            problems: vec![Problem {
                kind: "Pod".into(),
                namespace: Some("n".into()),
                name: "p".into(),
                what: "a | b".into(),
            }],
            errors: vec![GatherError {
                resource: "secrets".into(),
                namespace: Some("n".into()),
                name: None,
                reason: "forbidden: no".into(),
            }],
            ..Default::default()
        };
        let md = markdown(&s);
        assert!(md.contains("| Pod | n | p | a \\| b |"), "{md}");
        assert!(md.contains("## gather-errors"));
        assert!(
            md.contains("- secrets (namespace n): forbidden: no"),
            "{md}"
        );
    }
}
