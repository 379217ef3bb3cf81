//! Where a field of a built object comes from in the BigPeer: the one table that turns an API
//! server's field path (`spec.template.spec.tolerations[0].operator` of the store StatefulSet)
//! into the BigPeer field a user wrote (`spec.store.pod.scheduling.tolerations[0].operator`).
//! Pure.
//!
//! A row matches an object (kind, and which one of that kind) and a path prefix; the rest of
//! the path is carried over. In a pattern, `[*]` carries an index over unchanged, `[#]` finds
//! the index by value: the element of the BigPeer list that equals the built element (lists
//! the builders merge with their own entries, such as env vars or NetworkPolicy rules).
//! Target placeholders: `{c}` the workload's component (`store`, `subscription`, `api`),
//! `{mode}` the exposure mode, `{image}` the field the image reference comes from.

use kube::ResourceExt;
use serde_json::Value;

use crate::api::{BigPeer, Component};
use crate::build::{DesiredObject, labels, names};

/// Which objects of a kind a row applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Every object of the kind.
    Any,
    /// The public endpoint's object (the public Service, the public TLS Certificate).
    Public,
    /// Every object of the kind but the public one.
    NotPublic,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Kind of the built object.
    pub kind: &'static str,
    /// Which objects of the kind.
    pub which: Which,
    /// Path prefix in the built object.
    pub from: &'static str,
    /// Path prefix in the BigPeer.
    pub to: &'static str,
}

const fn row(kind: &'static str, which: Which, from: &'static str, to: &'static str) -> Row {
    Row {
        kind,
        which,
        from,
        to,
    }
}

use Which::{Any, NotPublic, Public};

/// The table, first match wins: specific rows before generic ones.
#[rustfmt::skip]
pub const TABLE: &[Row] = &[
    // Workloads: the pod template of each component.
    row("*workload", Any, "spec.template.spec.tolerations", "spec.{c}.pod.scheduling.tolerations"),
    row("*workload", Any, "spec.template.spec.affinity", "spec.{c}.pod.scheduling.affinity"),
    row("*workload", Any, "spec.template.spec.topologySpreadConstraints", "spec.{c}.pod.scheduling.topologySpreadConstraints"),
    row("*workload", Any, "spec.template.spec.nodeSelector", "spec.{c}.pod.scheduling.nodeSelector"),
    row("*workload", Any, "spec.template.spec.priorityClassName", "spec.{c}.pod.template.priorityClassName"),
    row("*workload", Any, "spec.template.spec.imagePullSecrets", "spec.image.pullSecrets"),
    row("*workload", Any, "spec.template.spec.securityContext.runAsUser", "spec.{c}.pod.securityContext.runAsUser"),
    row("*workload", Any, "spec.template.spec.securityContext.runAsGroup", "spec.{c}.pod.securityContext.runAsGroup"),
    row("*workload", Any, "spec.template.spec.securityContext.fsGroup", "spec.{c}.pod.securityContext.fsGroup"),
    row("*workload", Any, "spec.template.spec.containers[0].env[#]", "spec.{c}.pod.template.env[#]"),
    row("*workload", Any, "spec.template.spec.containers[0].resources", "spec.{c}.pod.resources"),
    row("*workload", Any, "spec.template.spec.containers[0].image", "{image}"),
    row("*workload", Any, "spec.template.spec.containers[0].imagePullPolicy", "spec.image.pullPolicy"),
    row("*workload", Any, "spec.template.metadata.labels", "spec.{c}.pod.template.labels"),
    row("*workload", Any, "spec.template.metadata.annotations", "spec.{c}.pod.template.annotations"),
    // The API server reports the template's metadata without `metadata`.
    row("*workload", Any, "spec.template.labels", "spec.{c}.pod.template.labels"),
    row("*workload", Any, "spec.template.annotations", "spec.{c}.pod.template.annotations"),
    row("*workload", Any, "spec.replicas", "spec.{c}.replicas"),
    row("StatefulSet", Any, "spec.volumeClaimTemplates[0].spec.storageClassName", "spec.store.storage.storageClassName"),
    row("StatefulSet", Any, "spec.volumeClaimTemplates[0].spec.resources", "spec.store.storage.size"),
    row("PodDisruptionBudget", Any, "spec.maxUnavailable", "spec.{c}.pod.disruptionBudget.maxUnavailable"),
    // NetworkPolicies: the user's extra rules whole, else the user's peers inside built rules.
    row("NetworkPolicy", Any, "spec.ingress[#]", "spec.network.policies.extraIngress[#]"),
    row("NetworkPolicy", Any, "spec.egress[#]", "spec.network.policies.extraEgress[#]"),
    row("NetworkPolicy", Any, "spec.ingress[*].from[#]", "spec.network.policies.ingressFrom[#]"),
    row("NetworkPolicy", Any, "spec.ingress[*].from[#]", "spec.network.policies.metricsFrom[#]"),
    row("NetworkPolicy", Any, "spec.egress[*].to[#]", "spec.network.policies.dnsTo[#]"),
    row("NetworkPolicy", Any, "spec.egress[*].to[#]", "spec.network.policies.kafkaTo[#]"),
    row("NetworkPolicy", Any, "spec.egress[*].to[#]", "spec.network.policies.authWebhookTo[#]"),
    // The public endpoint.
    row("Service", Public, "metadata.annotations", "spec.network.expose.{mode}.annotations"),
    row("Service", Public, "spec.loadBalancerClass", "spec.network.expose.loadBalancer.loadBalancerClass"),
    row("Service", Public, "spec.loadBalancerSourceRanges", "spec.network.expose.loadBalancer.loadBalancerSourceRanges"),
    row("Service", Public, "spec.externalTrafficPolicy", "spec.network.expose.{mode}.externalTrafficPolicy"),
    row("Service", Public, "spec.ports[0].nodePort", "spec.network.expose.nodePort.syncNodePort"),
    row("Service", Public, "spec.ports[1].nodePort", "spec.network.expose.nodePort.httpNodePort"),
    row("Ingress", Any, "metadata.annotations", "spec.network.expose.ingress.annotations"),
    row("Ingress", Any, "spec.ingressClassName", "spec.network.expose.ingress.ingressClassName"),
    row("Ingress", Any, "spec.rules[0].host", "spec.network.hostname"),
    row("Ingress", Any, "spec.tls[0].hosts", "spec.network.hostname"),
    row("Ingress", Any, "spec.tls[0].secretName", "spec.network.expose.ingress.tls.secretName"),
    row("HTTPRoute", Any, "metadata.annotations", "spec.network.expose.gatewayAPI.annotations"),
    row("HTTPRoute", Any, "spec.parentRefs[*]", "spec.network.expose.gatewayAPI.parentRefs[*]"),
    row("HTTPRoute", Any, "spec.hostnames", "spec.network.hostname"),
    row("HTTPRoute", Any, "spec.rules[*].timeouts", "spec.network.expose.gatewayAPI.syncRequestTimeout"),
    row("Route", Any, "metadata.annotations", "spec.network.expose.route.annotations"),
    row("Route", Any, "spec.host", "spec.network.hostname"),
    row("Route", Any, "spec.tls.externalCertificate", "spec.network.expose.route.tls.externalCertificate"),
    row("Route", Any, "spec.tls.destinationCACertificate", "spec.network.expose.route.tls.destinationCACertificate"),
    row("Certificate", Public, "spec.dnsNames", "spec.network.hostname"),
    row("Certificate", Public, "spec.issuerRef", "spec.network.expose.ingress.tls.certManager.issuerRef"),
    row("Certificate", NotPublic, "spec.issuerRef", "spec.auth.keys.certManager.issuerRef"),
    // Add-on objects.
    row("KafkaTopic", Any, "spec.topicName", "spec.transactionLog.topic.name"),
    row("KafkaTopic", Any, "spec.partitions", "spec.transactionLog.topic.partitions"),
    row("KafkaTopic", Any, "spec.replicas", "spec.transactionLog.topic.replicas"),
    row("KafkaTopic", Any, "spec.config", "spec.transactionLog.topic.config"),
    row("KafkaTopic", Any, "metadata.labels[strimzi.io/cluster]", "spec.transactionLog.strimzi.kafkaRef.name"),
    row("KafkaUser", Any, "metadata.labels[strimzi.io/cluster]", "spec.transactionLog.strimzi.kafkaRef.name"),
    row("KafkaUser", Any, "spec.authorization.acls", "spec.transactionLog.topic.name"),
    row("ServiceMonitor", Any, "metadata.labels", "spec.monitoring.labels"),
    row("ServiceMonitor", Any, "spec.endpoints[*].interval", "spec.monitoring.interval"),
    row("PodMonitor", Any, "metadata.labels", "spec.monitoring.labels"),
    row("PodMonitor", Any, "spec.podMetricsEndpoints[*].interval", "spec.monitoring.interval"),
    // Names and labels derived from the BigPeer's name.
    row("*", Any, "metadata.name", "metadata.name"),
    row("*", Any, "metadata.labels", "metadata.name"),
    row("*", Any, "metadata.generateName", "metadata.name"),
    row("*workload", Any, "spec.serviceName", "metadata.name"),
    row("*workload", Any, "spec.selector", "metadata.name"),
    row("*", Any, "spec.selector", "metadata.name"),
    row("*", Any, "spec.podSelector", "metadata.name"),
];

/// One step of a field path: a name and its subscripts (`env[0]`, `labels[a/b]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The field name.
    pub name: String,
    /// Subscripts: list indexes or map keys, as written.
    pub subs: Vec<String>,
}

/// Split a field path as the API server writes it. Dots inside brackets belong to the key.
pub fn parse(path: &str) -> Vec<Step> {
    let mut steps = vec![];
    let mut cur = Step {
        name: String::new(),
        subs: vec![],
    };
    let mut depth = 0usize;
    let mut sub = String::new();
    for ch in path.chars() {
        match ch {
            '[' if depth == 0 => {
                depth = 1;
                sub.clear();
            }
            ']' if depth == 1 => {
                depth = 0;
                cur.subs.push(std::mem::take(&mut sub));
            }
            '.' if depth == 0 => {
                steps.push(std::mem::replace(
                    &mut cur,
                    Step {
                        name: String::new(),
                        subs: vec![],
                    },
                ));
            }
            c if depth == 1 => sub.push(c),
            c => cur.name.push(c),
        }
    }
    if depth == 1 {
        // An unclosed bracket: keep what was read as a key.
        cur.subs.push(sub);
    }
    if !cur.name.is_empty() || !cur.subs.is_empty() {
        steps.push(cur);
    }
    steps
}

/// Write steps back as a path.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&s.name);
        for sub in &s.subs {
            out.push('[');
            out.push_str(sub);
            out.push(']');
        }
    }
    out
}

/// The value at `steps` in `v` (numeric subscripts index lists, others key maps).
fn at<'v>(v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let mut cur = v;
    for s in steps {
        cur = cur.get(&s.name)?;
        for sub in &s.subs {
            cur = match cur {
                Value::Array(a) => a.get(sub.parse::<usize>().ok()?)?,
                other => other.get(sub)?,
            };
        }
    }
    Some(cur)
}

/// The component a workload, budget or policy belongs to, from its component label.
fn component(obj: &DesiredObject) -> Option<Component> {
    let c = obj.body["metadata"]["labels"][labels::COMPONENT].as_str()?;
    Component::ALL.into_iter().find(|x| x.as_str() == c)
}

fn is_public(bp: &BigPeer, obj: &DesiredObject) -> bool {
    let name = bp.name_any();
    obj.name == names::public_service(&name) || obj.name == names::public_tls(&name)
}

fn kind_matches(row: &Row, obj: &DesiredObject, bp: &BigPeer) -> bool {
    let kind = obj.resource.kind.as_str();
    let kind_ok = match row.kind {
        "*" => true,
        "*workload" => matches!(kind, "StatefulSet" | "Deployment"),
        k => k == kind,
    };
    kind_ok
        && match row.which {
            Any => true,
            Public => is_public(bp, obj),
            NotPublic => !is_public(bp, obj),
        }
}

/// The field the image reference of a component's pods comes from.
fn image_field(bp: &BigPeer, c: Component) -> &'static str {
    let img = &bp.spec.image;
    let explicit = match c {
        Component::Store => img.store.is_some(),
        Component::Subscription => img.subscription.is_some(),
        Component::Api => img.api.is_some(),
    };
    match (explicit, c, img.registry.is_some()) {
        (true, Component::Store, _) => "spec.image.store",
        (true, Component::Subscription, _) => "spec.image.subscription",
        (true, Component::Api, _) => "spec.image.api",
        (false, _, true) => "spec.image.registry",
        (false, _, false) => "spec.version",
    }
}

/// Fill the placeholders of a row's target; None when one cannot be filled for this object.
fn target(row: &Row, bp: &BigPeer, obj: &DesiredObject) -> Option<String> {
    let mut to = row.to.to_string();
    if to.contains("{c}") || to == "{image}" {
        let c = component(obj)?;
        if to == "{image}" {
            return Some(image_field(bp, c).to_string());
        }
        to = to.replace("{c}", c.as_str());
    }
    if to.contains("{mode}") {
        to = to.replace("{mode}", bp.spec.network.mode().as_str());
    }
    Some(to)
}

/// What matching a pattern found: the indexes `[*]` and `[#]` stand for in the path (in
/// order), and how many steps (and subscripts of the last) were matched.
struct Matched {
    stars: Vec<String>,
    hashes: Vec<String>,
    steps: usize,
    subs: usize,
}

/// Match `pattern` as a prefix of `path`; None when it does not match.
fn prefix(pattern: &[Step], path: &[Step]) -> Option<Matched> {
    let mut hashes = vec![];
    let mut stars = vec![];
    if pattern.len() > path.len() {
        return None;
    }
    let mut used_subs = 0;
    for (i, (p, s)) in pattern.iter().zip(path).enumerate() {
        if p.name != s.name || p.subs.len() > s.subs.len() {
            return None;
        }
        // Only the last step of the pattern may leave subscripts of the path unmatched.
        if i + 1 < pattern.len() && p.subs.len() != s.subs.len() {
            return None;
        }
        for (ps, ss) in p.subs.iter().zip(&s.subs) {
            match ps.as_str() {
                "*" => stars.push(ss.clone()),
                "#" => hashes.push(ss.clone()),
                lit if lit == ss => {}
                _ => return None,
            }
        }
        used_subs = p.subs.len();
    }
    Some(Matched {
        stars,
        hashes,
        steps: pattern.len(),
        subs: used_subs,
    })
}

/// The BigPeer field `path` of the built object `obj` comes from, or None when no row says.
pub fn translate(bp: &BigPeer, obj: &DesiredObject, path: &str) -> Option<String> {
    let steps = parse(path);
    let spec_json = serde_json::to_value(bp).ok()?;
    for row in TABLE {
        if !kind_matches(row, obj, bp) {
            continue;
        }
        let pattern = parse(row.from);
        let Some(Matched {
            stars,
            hashes,
            steps: n,
            subs: used,
        }) = prefix(&pattern, &steps)
        else {
            continue;
        };
        let Some(to) = target(row, bp, obj) else {
            continue;
        };
        let mut to_steps = parse(&to);
        // `[*]` of the target takes the path's indexes in order.
        let mut stars = stars.into_iter();
        for s in to_steps.iter_mut().flat_map(|s| s.subs.iter_mut()) {
            if s == "*" {
                *s = stars.next()?;
            }
        }
        if !hashes.is_empty() {
            // One `[#]` per row: the element of the BigPeer list equal to the built one.
            let mut built_prefix = pattern.clone();
            let idx = pattern
                .iter()
                .rposition(|s| s.subs.iter().any(|x| x == "#"))?;
            built_prefix.truncate(idx + 1);
            // The built prefix with the real indexes of the path.
            for (b, s) in built_prefix.iter_mut().zip(&steps) {
                b.subs = s.subs[..b.subs.len()].to_vec();
            }
            let Some(built) = at(&obj.body, &built_prefix) else {
                continue;
            };
            let t = to_steps
                .iter()
                .rposition(|s| s.subs.iter().any(|x| x == "#"))?;
            let mut list_path = to_steps[..=t].to_vec();
            list_path[t].subs.pop();
            let Some(Value::Array(list)) = at(&spec_json, &list_path) else {
                continue;
            };
            let Some(k) = list.iter().position(|e| e == built) else {
                continue;
            };
            for s in &mut to_steps[t].subs {
                if s == "#" {
                    *s = k.to_string();
                }
            }
        }
        // Carry the rest over: unmatched subscripts of the last matched step, then the steps.
        let last = &steps[n - 1];
        if let Some(t) = to_steps.last_mut() {
            t.subs.extend(last.subs[used..].iter().cloned());
        }
        to_steps.extend(steps[n..].iter().cloned());
        // A scalar target takes no subscripts of its own (size, names, the host name).
        if row.to == "{image}" || is_scalar_target(row.to) {
            to_steps = parse(&to);
        }
        return Some(render(&to_steps));
    }
    None
}

/// Targets that are one scalar in the BigPeer while the built field is a structure or list
/// (the storage size becomes `resources.requests.storage`, the host name a list of hosts).
fn is_scalar_target(to: &str) -> bool {
    matches!(
        to,
        "spec.store.storage.size"
            | "spec.network.hostname"
            | "metadata.name"
            | "spec.monitoring.interval"
            | "spec.network.expose.gatewayAPI.syncRequestTimeout"
            | "spec.transactionLog.topic.name"
            | "spec.transactionLog.strimzi.kafkaRef.name"
    )
}

#[cfg(test)]
mod tests;
