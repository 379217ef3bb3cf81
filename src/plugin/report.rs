//! The status report of one BigPeer: a typed document (`kubectl smbp status -o json|yaml`
//! prints it as is; [`super::render`] turns it into one screen), and the pure functions that
//! derive its parts from API objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;

use crate::api::{
    BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication, Component,
    ExposureStatus, PAUSED_ANNOTATION, Topology, TopologyStatus,
};
use crate::build::labels;
use crate::rollout::pods::{failure_reason, is_ready};
use crate::rollout::restart;

/// Everything `kubectl smbp status` knows about one BigPeer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// BigPeer name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// When the report was made (RFC 3339); ages are counted from it.
    pub generated_at: String,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`: the operator has acted on the spec when equal.
    pub observed_generation: Option<i64>,
    /// The `smbp.io/paused` annotation is "true".
    pub paused: bool,
    /// The Big Peer version asked for and the one every pod runs.
    pub version: VersionLine,
    /// Conditions, Ready first.
    pub conditions: Vec<ConditionLine>,
    /// Replicas per component.
    pub components: Vec<ComponentLine>,
    /// The rollout in progress (the Progressing condition's message), if any.
    pub rollout: Option<String>,
    /// The topology in force, any transition, and the spec's.
    pub topology: Option<TopologyLine>,
    /// The BigPeer's pods, with why each unready one is not ready.
    pub pods: Vec<PodLine>,
    /// Exposure mode, URLs and TLS state.
    pub exposure: Option<ExposureStatus>,
    /// Certificates of the keys and the public endpoint (validity only, never key material).
    pub certificates: Vec<CertificateLine>,
    /// BigPeerApps of this BigPeer.
    pub apps: Vec<RelatedLine>,
    /// BigPeerApiKeys of those apps.
    pub api_keys: Vec<ApiKeyLine>,
    /// BigPeerReplications of those apps.
    pub replications: Vec<RelatedLine>,
    /// BigPeerDataBridges of those apps.
    pub data_bridges: Vec<RelatedLine>,
    /// Recent Events of the BigPeer and its pods, newest last.
    pub events: Vec<EventLine>,
    /// What could not be read, and why (a missing permission names it).
    pub unavailable: Vec<String>,
}

/// Desired and running version.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VersionLine {
    /// `spec.version`.
    pub desired: String,
    /// `status.version` (unset while pods run mixed versions).
    pub running: Option<String>,
}

/// One condition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConditionLine {
    /// Condition type.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Last transition (RFC 3339).
    pub since: Option<String>,
}

/// Replica counts of one component.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLine {
    /// store, subscription or api.
    pub component: String,
    /// Pods wanted.
    pub desired: i32,
    /// Pods ready.
    pub ready: i32,
    /// Pods on the current revision.
    pub updated: i32,
    /// A restart request in force for the component, if any.
    pub restart: Option<RestartLine>,
}

/// A restart request and how far it got.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestartLine {
    /// The request (RFC 3339).
    pub requested_at: String,
    /// Pods of the component already restarted for it.
    pub pods_restarted: usize,
    /// Pods of the component.
    pub pods: usize,
}

/// Topology in force, transition and the spec's.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TopologyLine {
    /// `status.topology`.
    pub status: TopologyStatus,
    /// The spec's topology.
    pub desired: Topology,
}

/// One pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodLine {
    /// Pod name.
    pub name: String,
    /// store, subscription or api.
    pub component: String,
    /// Pod phase.
    pub phase: String,
    /// Ready condition is True.
    pub ready: bool,
    /// Container restarts.
    pub restarts: i32,
    /// Node, once scheduled.
    pub node: Option<String>,
    /// Being deleted.
    pub terminating: bool,
    /// Why it is not ready (image pull, crash loop, unschedulable, ...).
    pub problem: Option<String>,
}

/// Validity of one certificate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateLine {
    /// What it is for: ca, in-band, jwt or public-tls.
    pub purpose: String,
    /// The Secret holding it.
    pub secret: String,
    /// Subject.
    pub subject: Option<String>,
    /// End of validity (RFC 3339).
    pub not_after: Option<String>,
    /// Why the validity is not shown (no Secret, no certificate in it, ...).
    pub problem: Option<String>,
}

/// An object that refers to the BigPeer (app, replication, data bridge).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RelatedLine {
    /// Name.
    pub name: String,
    /// The app it belongs to (the app ID for an app).
    pub detail: String,
    /// Its Ready condition: status, reason.
    pub ready: String,
}

/// One API key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyLine {
    /// Name.
    pub name: String,
    /// Its app.
    pub app: String,
    /// `spec.expiresAt` (RFC 3339).
    pub expires_at: String,
    /// Its Ready condition: status, reason.
    pub ready: String,
}

/// One Event.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventLine {
    /// Last seen (RFC 3339).
    pub last_seen: Option<String>,
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// `Kind/name` it is about.
    pub object: String,
    /// Note.
    pub message: String,
    /// Occurrences.
    pub count: i32,
}

/// Conditions, Ready, Progressing and Degraded first.
pub fn conditions(bp: &BigPeer) -> Vec<ConditionLine> {
    let order = |t: &str| match t {
        "Ready" => 0,
        "Progressing" => 1,
        "Degraded" => 2,
        _ => 3,
    };
    let mut out: Vec<ConditionLine> = bp
        .status
        .iter()
        .flat_map(|s| s.conditions.iter())
        .map(|c| ConditionLine {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            since: Some(c.last_transition_time.0.to_string()),
        })
        .collect();
    out.sort_by(|a, b| {
        order(&a.type_)
            .cmp(&order(&b.type_))
            .then_with(|| a.type_.cmp(&b.type_))
    });
    out
}

fn component_of(pod: &Pod) -> Option<String> {
    pod.metadata
        .labels
        .as_ref()?
        .get(labels::COMPONENT)
        .cloned()
}

/// Replicas per component from the status, with the restart request in force.
pub fn components(bp: &BigPeer, pods: &[Pod]) -> Vec<ComponentLine> {
    let status = bp.status.clone().unwrap_or_default();
    let annotations = bp.metadata.annotations.clone().unwrap_or_default();
    Component::ALL
        .into_iter()
        .map(|c| {
            let s = match c {
                Component::Store => status.store.clone(),
                Component::Subscription => status.subscription.clone(),
                Component::Api => status.api.clone(),
            }
            .unwrap_or_default();
            let mine: Vec<&Pod> = pods
                .iter()
                .filter(|p| component_of(p).as_deref() == Some(c.as_str()))
                .collect();
            let restart = restart::requested(&annotations, c).map(|at| RestartLine {
                pods_restarted: mine
                    .iter()
                    .filter(|p| {
                        p.metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(restart::RESTARTED_AT))
                            == Some(&at)
                    })
                    .count(),
                pods: mine.len(),
                requested_at: at,
            });
            ComponentLine {
                component: c.as_str().to_string(),
                desired: s.desired,
                ready: s.ready,
                updated: s.updated,
                restart,
            }
        })
        .collect()
}

/// The Progressing condition's message while it is True.
pub fn rollout(bp: &BigPeer) -> Option<String> {
    bp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Progressing" && c.status == "True")
        .map(|c| c.message.clone())
}

/// Why a pod is not ready: a known failure (image pull, crash loop, unschedulable, ...),
/// otherwise the first container's waiting reason or last termination, otherwise its phase.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    if is_ready(pod) && pod.metadata.deletion_timestamp.is_none() {
        return None;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return Some("Terminating".into());
    }
    if let Some(r) = failure_reason(pod) {
        return Some(r);
    }
    let status = pod.status.as_ref()?;
    for c in status.conditions.iter().flatten() {
        if c.type_ == "PodScheduled" && c.status == "False" {
            let why = c.reason.clone().unwrap_or_else(|| "NotScheduled".into());
            return Some(format!("{why}: {}", c.message.clone().unwrap_or_default()));
        }
    }
    for cs in status.container_statuses.iter().flatten() {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.clone().unwrap_or_else(|| "Waiting".into());
            return Some(match &w.message {
                Some(m) => format!("{reason}: {m}"),
                None => reason,
            });
        }
        if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            return Some(format!(
                "not ready; last exit: {} (exit code {})",
                t.reason.clone().unwrap_or_else(|| "Terminated".into()),
                t.exit_code
            ));
        }
    }
    Some(format!(
        "not ready (phase {})",
        status.phase.clone().unwrap_or_else(|| "Unknown".into())
    ))
}

/// One line per pod, sorted by component then name.
pub fn pods(pods: &[Pod]) -> Vec<PodLine> {
    let mut out: Vec<PodLine> = pods
        .iter()
        .map(|p| {
            let status = p.status.clone().unwrap_or_default();
            PodLine {
                name: p.metadata.name.clone().unwrap_or_default(),
                component: component_of(p).unwrap_or_default(),
                phase: status.phase.clone().unwrap_or_else(|| "Unknown".into()),
                ready: is_ready(p),
                restarts: status
                    .container_statuses
                    .iter()
                    .flatten()
                    .map(|c| c.restart_count)
                    .sum(),
                node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                terminating: p.metadata.deletion_timestamp.is_some(),
                problem: pod_problem(p),
            }
        })
        .collect();
    let rank = |c: &str| {
        Component::ALL
            .iter()
            .position(|x| x.as_str() == c)
            .unwrap_or(9)
    };
    out.sort_by(|a, b| {
        rank(&a.component)
            .cmp(&rank(&b.component))
            .then_with(|| natural(&a.name).cmp(&natural(&b.name)))
    });
    out
}

/// Sort key that puts `x-store-2` before `x-store-10`.
fn natural(name: &str) -> (String, u64) {
    match name.rsplit_once('-') {
        Some((head, n)) if n.parse::<u64>().is_ok() => (head.to_string(), n.parse().unwrap_or(0)),
        _ => (name.to_string(), 0),
    }
}

/// The topology line: status and the spec's.
pub fn topology(bp: &BigPeer) -> Option<TopologyLine> {
    let status = bp.status.as_ref()?.topology.clone()?;
    Some(TopologyLine {
        status,
        desired: bp.spec.topology(),
    })
}

/// The `smbp.io/paused` annotation is "true".
pub fn paused(bp: &BigPeer) -> bool {
    bp.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PAUSED_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// The certificate in a TLS Secret's `tls.crt` (the first PEM block): subject and end of
/// validity. Only the certificate is parsed; the key is never read.
pub fn certificate(purpose: &str, secret: &str, tls_crt: Option<&[u8]>) -> CertificateLine {
    let mut line = CertificateLine {
        purpose: purpose.into(),
        secret: secret.into(),
        ..Default::default()
    };
    let Some(pem) = tls_crt else {
        line.problem = Some("no tls.crt in the Secret".into());
        return line;
    };
    let parsed = x509_parser::pem::parse_x509_pem(pem)
        .ok()
        .and_then(|(_, pem)| {
            let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents).ok()?;
            let not_after = cert.validity().not_after.timestamp();
            Some((cert.subject().to_string(), not_after))
        });
    match parsed {
        Some((subject, not_after)) => {
            line.subject = Some(subject);
            line.not_after = Timestamp::from_second(not_after)
                .ok()
                .map(|t| t.to_string());
        }
        None => line.problem = Some("tls.crt holds no readable certificate".into()),
    }
    line
}

/// The Ready condition of a related object as "status (reason)".
pub fn ready_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> String {
    conditions.iter().find(|c| c.type_ == "Ready").map_or_else(
        || "Unknown".to_string(),
        |c| format!("{} ({})", c.status, c.reason),
    )
}

/// Events about the BigPeer or one of its pods (`Kind/name` in `objects`), the newest
/// `limit`, oldest first.
pub fn recent_events(
    mut events: Vec<EventLine>,
    objects: &[String],
    limit: usize,
) -> Vec<EventLine> {
    events.retain(|e| objects.contains(&e.object));
    events.sort_by(|a, b| a.last_seen.cmp(&b.last_seen));
    let skip = events.len().saturating_sub(limit);
    events.split_off(skip)
}

/// Annotations of a BigPeer (empty map when none).
pub fn annotations(bp: &BigPeer) -> BTreeMap<String, String> {
    bp.metadata.annotations.clone().unwrap_or_default()
}

/// What [`assemble`] makes a report of: the objects read from the cluster (every list of the
/// namespace; `assemble` keeps what refers to the BigPeer).
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// The BigPeer.
    pub bigpeer: BigPeer,
    /// Its pods.
    #[serde(default)]
    pub pods: Vec<Pod>,
    /// Its certificates, already read.
    #[serde(default)]
    pub certificates: Vec<CertificateLine>,
    /// The namespace's apps.
    #[serde(default)]
    pub apps: Vec<BigPeerApp>,
    /// The namespace's API keys.
    #[serde(default)]
    pub api_keys: Vec<BigPeerApiKey>,
    /// The namespace's replications.
    #[serde(default)]
    pub replications: Vec<BigPeerReplication>,
    /// The namespace's data bridges.
    #[serde(default)]
    pub data_bridges: Vec<BigPeerDataBridge>,
    /// The namespace's Events.
    #[serde(default)]
    pub events: Vec<Event>,
    /// What could not be read.
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// The time of the report (RFC 3339).
    #[serde(default)]
    pub now: String,
    /// Events kept, at most.
    #[serde(default = "default_event_limit")]
    pub event_limit: usize,
}

fn default_event_limit() -> usize {
    20
}

/// One Event as a line.
pub fn event_line(e: &Event) -> EventLine {
    let regarding = e.regarding.clone().unwrap_or_default();
    let last_seen = e
        .series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
    EventLine {
        last_seen: last_seen.map(|t| {
            Timestamp::from_second(t.as_second())
                .unwrap_or(t)
                .to_string()
        }),
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            regarding.kind.unwrap_or_default(),
            regarding.name.unwrap_or_default()
        ),
        message: e.note.clone().unwrap_or_default(),
        count: e
            .series
            .as_ref()
            .map(|s| s.count)
            .or(e.deprecated_count)
            .unwrap_or(1),
    }
}

/// The report of what was read.
pub fn assemble(i: Inputs) -> StatusReport {
    let bp = &i.bigpeer;
    let name = bp.name_any();
    let apps: Vec<&BigPeerApp> = i
        .apps
        .iter()
        .filter(|a| a.spec.big_peer_ref.name == name)
        .collect();
    let app_names: Vec<String> = apps.iter().map(|a| a.name_any()).collect();
    let mine = |app: &str| app_names.iter().any(|a| a == app);
    let conditions_of = |c: Option<
        &Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    >| { ready_of(c.map_or(&[][..], |c| c.as_slice())) };
    let api_keys = i
        .api_keys
        .iter()
        .filter(|k| mine(&k.spec.app_ref.name))
        .map(|k| ApiKeyLine {
            name: k.name_any(),
            app: k.spec.app_ref.name.clone(),
            expires_at: k.spec.expires_at.0.to_string(),
            ready: conditions_of(k.status.as_ref().map(|s| &s.conditions)),
        })
        .collect();
    let replications = i
        .replications
        .iter()
        .filter(|r| mine(&r.spec.app_ref.name))
        .map(|r| RelatedLine {
            name: r.name_any(),
            detail: r.spec.app_ref.name.clone(),
            ready: conditions_of(r.status.as_ref().map(|s| &s.conditions)),
        })
        .collect();
    let data_bridges = i
        .data_bridges
        .iter()
        .filter(|b| mine(&b.spec.app_ref.name))
        .map(|b| RelatedLine {
            name: b.name_any(),
            detail: b.spec.app_ref.name.clone(),
            ready: conditions_of(b.status.as_ref().map(|s| &s.conditions)),
        })
        .collect();
    let app_lines = apps
        .iter()
        .map(|a| RelatedLine {
            name: a.name_any(),
            detail: a
                .status
                .as_ref()
                .and_then(|s| s.app_id.clone())
                .or_else(|| a.spec.app_id.clone())
                .unwrap_or_else(|| "(pending)".into()),
            ready: conditions_of(a.status.as_ref().map(|s| &s.conditions)),
        })
        .collect();
    let mut objects = vec![format!("BigPeer/{name}")];
    objects.extend(i.pods.iter().map(|p| format!("Pod/{}", p.name_any())));
    let events = recent_events(
        i.events.iter().map(event_line).collect(),
        &objects,
        i.event_limit,
    );
    let status = bp.status.clone().unwrap_or_default();
    StatusReport {
        name,
        namespace: bp.namespace().unwrap_or_default(),
        generated_at: i.now.clone(),
        generation: bp.metadata.generation,
        observed_generation: status.observed_generation,
        paused: paused(bp),
        version: VersionLine {
            desired: bp.spec.version.clone(),
            running: status.version.clone(),
        },
        conditions: conditions(bp),
        components: components(bp, &i.pods),
        rollout: rollout(bp),
        topology: topology(bp),
        pods: pods(&i.pods),
        exposure: status.exposure.clone(),
        certificates: i.certificates.clone(),
        apps: app_lines,
        api_keys,
        replications,
        data_bridges,
        events,
        unavailable: i.unavailable.clone(),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use super::*;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn pod_problems_say_why() {
        let ready =
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(pod_problem(&ready), None);
        let pending = pod(json!({"phase": "Pending"}));
        assert_eq!(
            pod_problem(&pending).as_deref(),
            Some("not ready (phase Pending)")
        );
        let creating = pod(
            json!({"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
        );
        assert_eq!(pod_problem(&creating).as_deref(), Some("ContainerCreating"));
        let crashed = pod(
            json!({"phase": "Running", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "image": "", "imageID": "", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        );
        assert_eq!(
            pod_problem(&crashed).as_deref(),
            Some("not ready; last exit: OOMKilled (exit code 137)")
        );
        let gated = pod(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": "gated"}]}),
        );
        assert_eq!(
            pod_problem(&gated).as_deref(),
            Some("SchedulingGated: gated")
        );
    }

    #[test]
    fn certificates_show_dates_or_say_why_not() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["alpha".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        let line = certificate("ca", "keys-ca", Some(cert.pem().as_bytes()));
        assert_eq!(line.not_after.as_deref(), Some("2030-01-02T00:00:00Z"));
        assert!(line.problem.is_none());
        let bad = certificate(
            "ca",
            "keys-ca",
            Some(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        );
        assert_eq!(
            bad.problem.as_deref(),
            Some("tls.crt holds no readable certificate")
        );
        assert!(certificate("ca", "keys-ca", None).problem.is_some());
    }

    #[test]
    fn recent_events_keep_the_newest_of_the_bigpeer_and_its_pods() {
        let e = |o: &str, t: &str| EventLine {
            object: o.into(),
            last_seen: Some(t.into()),
            ..Default::default()
        };
        let all = vec![
            e("BigPeer/a", "2026-01-01T00:00:03Z"),
            e("BigPeer/b", "2026-01-01T00:00:04Z"),
            e("Pod/a-store-0", "2026-01-01T00:00:01Z"),
            e("BigPeer/a", "2026-01-01T00:00:02Z"),
        ];
        let kept = recent_events(all, &["BigPeer/a".into(), "Pod/a-store-0".into()], 2);
        assert_eq!(
            kept,
            [
                e("BigPeer/a", "2026-01-01T00:00:02Z"),
                e("BigPeer/a", "2026-01-01T00:00:03Z")
            ]
        );
    }

    #[test]
    fn pods_sort_by_component_then_ordinal() {
        let p = |name: &str, c: &str| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"name": name, "labels": {"app.kubernetes.io/component": c}}}),
            )
            .unwrap()
        };
        let lines = pods(&[
            p("a-api-x", "api"),
            p("a-store-10", "store"),
            p("a-store-2", "store"),
        ]);
        let names: Vec<_> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a-store-2", "a-store-10", "a-api-x"]);
    }
}
