//! The webhook's decisions, pure: what Kubernetes' refusal of a built object means for the
//! BigPeer, the rules across BigPeers no schema can express, and the admission response. No
//! client here. (Changes an update can never carry out — topic name, partition decrease,
//! `loadBalancerClass` once set — are CEL transition rules in the CRD.)

use kube::ResourceExt;
use kube::core::Status;
use kube::core::admission::AdmissionResponse;
use kube::core::response::{StatusCause, StatusDetails, StatusSummary};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;

use super::fields;
use crate::api::reason::Reason;
use crate::api::{BigPeer, Component};
use crate::build::{BuildInputs, DesiredObject, config};
use crate::decide::observed::{Integrations, Observed, Part};
use crate::decide::plan;
use crate::images::RelatedImages;

/// Why a BigPeer is refused, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The refusal's category (the refusals metric's label).
    pub reason: Reason,
    /// The BigPeer field, e.g. `spec.store.pod.scheduling.tolerations[0].operator`.
    pub field: String,
    /// What is wrong and what to change (without the field, which the response puts in
    /// front of it); never holds a secret.
    pub message: String,
}

impl Cause {
    /// A cause at `field`; the message is redacted.
    pub fn new(reason: Reason, field: impl Into<String>, message: impl AsRef<str>) -> Self {
        Cause {
            reason,
            field: field.into(),
            message: redact(message.as_ref()),
        }
    }
}

/// Remove the user-info part (`user:password@`) of every URL in `s`.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#', quote or white space.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("REDACTED@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Kubernetes' refusal of the built object `obj` (the status of its dry run), as causes on
/// the BigPeer's fields. An error with no field (a value that cannot even be decoded, such as
/// a quantity `abc`) is put on the spec field holding a value of that type which does not
/// parse; failing that, on `spec` with the object named.
pub fn refused(bp: &BigPeer, obj: &DesiredObject, status: &Status) -> Vec<Cause> {
    let what = format!("{} {}", obj.resource.kind, obj.name);
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    let mut out = vec![];
    for c in causes.iter().filter(|c| !c.field.is_empty()) {
        let detail = strip_field(&c.message, &c.field);
        match fields::translate(bp, obj, &c.field) {
            Some(f) if f == "metadata.name" => out.push(Cause::new(
                Reason::ObjectRefused,
                "metadata.name",
                format!(
                    "the name {:?} makes the {what} that the operator derives from it invalid ({}: {detail}): choose a name of lowercase letters, digits and '-', starting with a letter, at most 40 characters",
                    bp.name_any(),
                    c.field
                ),
            )),
            Some(f) => out.push(Cause::new(
                Reason::ObjectRefused,
                f.clone(),
                format!("{detail} (refused by Kubernetes in the {what} built from this field): change it"),
            )),
            None => out.push(Cause::new(
                Reason::ObjectRefused,
                "spec",
                format!(
                    "Kubernetes refuses the {what} built from this BigPeer: {}: {detail}",
                    c.field
                ),
            )),
        }
    }
    if out.is_empty() {
        if status.message.contains("quantities must match") {
            out.extend(bad_quantities(bp, obj).into_iter().map(|(f, v)| {
                Cause::new(
                    Reason::ObjectRefused,
                    f.clone(),
                    format!(
                        "Invalid value: {v:?}: not a Kubernetes quantity (such as 500m, 2, 512Mi or 10Gi): change it"
                    ),
                )
            }));
        }
        if out.is_empty() {
            out.push(Cause::new(
                Reason::ObjectRefused,
                "spec",
                format!(
                    "Kubernetes refuses the {what} built from this BigPeer: {}",
                    status.message
                ),
            ));
        }
    }
    out
}

/// Whether a dry run's failure is the API server refusing the object: invalid (422), a bad
/// request (400), or a value that cannot be decoded, which it answers with a 500 saying it is
/// "unable to convert" the object (a quantity such as `abc`).
pub fn is_refusal(s: &Status) -> bool {
    s.code == 422 || s.code == 400 || (s.code == 500 && s.message.contains("unable to convert"))
}

/// The message without the field path the API server puts in front of it.
fn strip_field<'m>(message: &'m str, field: &str) -> &'m str {
    message
        .strip_prefix(field)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

/// Syntax of a Kubernetes quantity: a signed decimal number and a suffix (binary `Ki`..`Ei`,
/// decimal `n`, `u`, `m`, `k`, `M`..`E`, or an exponent `e3`).
pub fn is_quantity(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(digits_end);
    let dots = num.matches('.').count();
    if num.is_empty() || num == "." || dots > 1 {
        return false;
    }
    const SUFFIXES: [&str; 16] = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    if SUFFIXES.contains(&suffix) {
        return true;
    }
    match suffix.strip_prefix(['e', 'E']) {
        Some(exp) => {
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Quantity fields of the spec that go into `obj` and do not parse: (field, value).
fn bad_quantities(bp: &BigPeer, obj: &DesiredObject) -> Vec<(String, String)> {
    let spec = &bp.spec;
    let mut out = vec![];
    let component = Component::ALL.into_iter().find(|c| {
        obj.body["metadata"]["labels"][crate::build::labels::COMPONENT].as_str() == Some(c.as_str())
    });
    if let Some(c) = component {
        let opts = match c {
            Component::Store => &spec.store.pod,
            Component::Subscription => &spec.subscription.pod,
            Component::Api => &spec.api.pod,
        };
        if let Some(r) = &opts.resources {
            for (which, map) in [("limits", &r.limits), ("requests", &r.requests)] {
                for (k, q) in map.iter().flatten() {
                    if !is_quantity(&q.0) {
                        out.push((
                            format!("spec.{}.pod.resources.{which}[{k}]", c.as_str()),
                            q.0.clone(),
                        ));
                    }
                }
            }
        }
        if c == Component::Store && !is_quantity(&spec.store.storage.size) {
            out.push((
                "spec.store.storage.size".into(),
                spec.store.storage.size.clone(),
            ));
        }
    }
    out
}

/// The host name another BigPeer of the cluster already uses.
pub fn hostname_in_use(bp: &BigPeer, others: &[BigPeer]) -> Option<Cause> {
    let host = bp.spec.network.hostname.as_deref()?;
    let other = others
        .iter()
        .filter(|o| !same(o, bp))
        .find(|o| o.spec.network.hostname.as_deref() == Some(host))?;
    Some(Cause::new(
        Reason::HostnameInUse,
        "spec.network.hostname",
        format!(
            "{host:?} is already the host name of BigPeer {}/{}: every BigPeer needs a host name of its own; choose another",
            other.namespace().unwrap_or_default(),
            other.name_any()
        ),
    ))
}

/// `a` is `b`, or is on its way out (a BigPeer being deleted gives its host name and topic up).
fn same(a: &BigPeer, b: &BigPeer) -> bool {
    (a.namespace() == b.namespace() && a.name_any() == b.name_any())
        || a.metadata.deletion_timestamp.is_some()
}

/// What identifies the Kafka cluster a BigPeer writes to: a Strimzi Kafka, or the bootstrap
/// servers of an external one (two lists naming one server are one cluster).
fn kafka_ids(bp: &BigPeer) -> Vec<String> {
    let tl = &bp.spec.transaction_log;
    if let Some(s) = &tl.strimzi {
        return vec![format!(
            "strimzi:{}/{}",
            bp.namespace().unwrap_or_default(),
            s.kafka_ref.name
        )];
    }
    tl.external
        .iter()
        .flat_map(|e| e.bootstrap_servers.iter())
        .map(|s| format!("external:{}", s.to_ascii_lowercase()))
        .collect()
}

/// The transaction-log topic another BigPeer already uses on the same Kafka cluster.
pub fn topic_in_use(bp: &BigPeer, others: &[BigPeer]) -> Option<Cause> {
    let topic = config::topic_name(bp);
    let ids = kafka_ids(bp);
    let other = others
        .iter()
        .filter(|o| !same(o, bp))
        .find(|o| config::topic_name(o) == topic && kafka_ids(o).iter().any(|i| ids.contains(i)))?;
    Some(Cause::new(
        Reason::TopicInUse,
        "spec.transactionLog.topic.name",
        format!(
            "BigPeer {}/{} already uses the topic {topic:?} on the same Kafka cluster: every BigPeer needs a transaction log of its own; set another spec.transactionLog.topic.name",
            other.namespace().unwrap_or_default(),
            other.name_any()
        ),
    ))
}

/// The build inputs of an admission: those a reconcile would use (the same plan), with the
/// add-ons discovered and the existing store StatefulSet, and with the workloads built even
/// where the reconcile would still wait for keys and transaction log, so that every object
/// the BigPeer will ever have is checked now.
pub fn inputs(
    bp: &BigPeer,
    images: &RelatedImages,
    integrations: Integrations,
    statefulset: Option<StatefulSet>,
    now: Timestamp,
) -> BuildInputs {
    let ready = || Part {
        ready: true,
        reason: Reason::Ready,
        message: String::new(),
    };
    let observed = Observed {
        integrations,
        statefulset,
        deployments: Default::default(),
        pods: vec![],
        keys: ready(),
        transaction_log: ready(),
        kafka_bootstrap: bp
            .spec
            .transaction_log
            .external
            .as_ref()
            .map(|e| e.bootstrap_servers.clone())
            .unwrap_or_default(),
        exposure: Default::default(),
    };
    let previous = bp.status.clone().unwrap_or_default();
    let plan = plan::decide(bp, &observed, &previous, now);
    let mut inputs = plan.inputs(images, &observed);
    inputs.workloads = true;
    inputs
}

/// Longest message the response carries; the causes hold every detail.
const MAX_MESSAGE: usize = 3000;

/// The admission response for the object `kind`/`name` with `causes` (allowed when there are
/// none), one cause per field.
pub fn response(
    base: AdmissionResponse,
    kind: &str,
    name: &str,
    causes: &[Cause],
) -> AdmissionResponse {
    let mut causes: Vec<&Cause> = causes.iter().collect();
    let mut seen = std::collections::BTreeSet::new();
    causes.retain(|c| seen.insert(c.field.clone()));
    if causes.is_empty() {
        return base;
    }
    let mut message = format!(
        "{kind} {name:?} is invalid: {}",
        causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" ...");
    }
    let mut r = base.deny(redact(&message));
    r.result = Status {
        status: Some(StatusSummary::Failure),
        code: 422,
        message: r.result.message.clone(),
        reason: "Invalid".into(),
        details: Some(StatusDetails {
            name: name.into(),
            group: crate::api::GROUP.into(),
            kind: kind.into(),
            causes: causes
                .iter()
                .map(|c| StatusCause {
                    reason: c.reason.as_str().into(),
                    message: c.message.clone(),
                    field: c.field.clone(),
                })
                .collect(),
            uid: String::new(),
            retry_after_seconds: 0,
        }),
        ..Default::default()
    };
    r
}

#[cfg(test)]
mod tests;
