//! The webhook's decisions for BigPeerReplications and BigPeerDataBridges, pure: what their
//! CRDs' CEL rules cannot see, the other objects of the namespace. No client here.
//!
//! - A replication's `connections` must not hold its own in-cluster endpoint
//!   (`<name>-replication.<namespace>.svc[.cluster.local]:4040`): it would connect to itself.
//!   Refused when the replication is created or its connections change.
//! - A Kafka bridge of a BigPeer whose transaction log is `external` needs `kafka.external`
//!   (the topic and the consumer's credentials come from it); with a Strimzi transaction log
//!   `kafka.external` is refused (the operator makes the topic and the user). Refused only when
//!   the BigPeer exists; when it does not (yet), a warning says what was not checked.
//! - What GitOps may apply later is **admitted with a warning**, never refused: a missing app
//!   or BigPeer, a missing trusted CA source (Secret or ConfigMap, or its key), a missing
//!   MongoDB connection Secret or key. Keys are checked only when the object can be read.

use kube::ResourceExt;

use super::decide::Cause;
use crate::api::reason::Reason;
use crate::api::{BigPeer, BigPeerDataBridge, BigPeerReplication, PEER_PORT};

/// What was found of a key of a Secret or ConfigMap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// No such object.
    Missing,
    /// The object exists without the key.
    NoKey,
    /// The key is there.
    Present,
}

impl Found {
    /// From the keys of the object read (`None`: no such object).
    pub fn of<'a>(keys: Option<impl IntoIterator<Item = &'a String>>, key: &str) -> Found {
        match keys {
            None => Found::Missing,
            Some(k) => {
                if k.into_iter().any(|k| k == key) {
                    Found::Present
                } else {
                    Found::NoKey
                }
            }
        }
    }
}

/// The addresses at which replication `name` of namespace `ns` is reached in the cluster.
pub fn own_endpoints(name: &str, ns: &str) -> [String; 2] {
    let service = crate::build::replication::service_name(name);
    [
        format!("{service}.{ns}.svc:{PEER_PORT}"),
        format!("{service}.{ns}.svc.cluster.local:{PEER_PORT}"),
    ]
}

/// A replication whose `connections` hold its own endpoint, when they are new or changed.
pub fn connects_to_itself(
    r: &BigPeerReplication,
    old: Option<&BigPeerReplication>,
) -> Option<Cause> {
    if old.is_some_and(|o| o.spec.connections == r.spec.connections) {
        return None;
    }
    let ns = r.namespace().unwrap_or_default();
    let own = own_endpoints(&r.name_any(), &ns);
    let (i, c) = r
        .spec
        .connections
        .iter()
        .enumerate()
        .find(|(_, c)| own.contains(c))?;
    Some(Cause::new(
        Reason::ReplicationConnectsToItself,
        format!("spec.connections[{i}]"),
        format!(
            "{c:?} is this replication's own endpoint: list the other Big Peers' endpoints (their status.endpoint), such as {}.<their namespace>.svc:{PEER_PORT}",
            crate::build::replication::service_name(&r.name_any())
        ),
    ))
}

/// The warning for a replication or data bridge (`kind`) whose app does not exist.
pub fn missing_app(kind: &str, app: &str, ns: &str) -> String {
    format!(
        "spec.appRef.name: BigPeerApp {app:?} does not exist in namespace {ns:?} (yet): the {kind} is not ready until it does"
    )
}

/// The warning for a replication or data bridge (`kind`) whose app's BigPeer does not exist.
pub fn missing_big_peer(kind: &str, app: &str, big_peer: &str, ns: &str) -> String {
    format!(
        "spec.appRef.name: app {app:?} belongs to BigPeer {big_peer:?}, which does not exist in namespace {ns:?} (yet): the {kind} is not ready until it does"
    )
}

/// The warnings for `r`'s trusted CAs, each with what was found of its source (`None`: not
/// readable, nothing said), when they are new or changed.
pub fn trusted_ca_warnings(
    r: &BigPeerReplication,
    old: Option<&BigPeerReplication>,
    found: &[Option<Found>],
) -> Vec<String> {
    if old.is_some_and(|o| o.spec.trusted_cas == r.spec.trusted_cas) {
        return vec![];
    }
    r.spec
        .trusted_cas
        .iter()
        .zip(found)
        .enumerate()
        .filter_map(|(i, (ca, found))| {
            let (field, kind, k) = match (&ca.secret_ref, &ca.config_map_ref) {
                (Some(s), _) => ("secretRef", "Secret", s),
                (None, Some(c)) => ("configMapRef", "ConfigMap", c),
                (None, None) => return None,
            };
            let at = format!("spec.trustedCas[{i}].{field}");
            match (*found)? {
                Found::Present => None,
                Found::Missing => Some(format!(
                    "{at}.name: {kind} {:?} does not exist (yet): the servers do not trust that CA until it does (copy the other side's status.caConfigMapName here)",
                    k.name
                )),
                Found::NoKey => Some(format!(
                    "{at}.key: {kind} {:?} has no key {:?} (yet): the servers do not trust that CA until it does",
                    k.name, k.key
                )),
            }
        })
        .collect()
}

/// Whether a data bridge's `kafka.external` fits its BigPeer's transaction log, checked when
/// the bridge is created or its `kafka` changes and the BigPeer exists (`bp`).
pub fn kafka_external(
    b: &BigPeerDataBridge,
    old: Option<&BigPeerDataBridge>,
    bp: &BigPeer,
) -> Option<Cause> {
    let kafka = b.spec.kafka.as_ref()?;
    if old.is_some_and(|o| o.spec.kafka.as_ref() == Some(kafka)) {
        return None;
    }
    let log = &bp.spec.transaction_log;
    match (
        &kafka.external,
        log.external.is_some(),
        log.strimzi.is_some(),
    ) {
        (None, true, _) => Some(Cause::new(
            Reason::KafkaExternalRequired,
            "spec.kafka.external",
            format!(
                "is required: BigPeer {:?} uses an external Kafka (transactionLog.external), whose topic and users the operator cannot make: create the topic and a consumer user, and name them in kafka.external {{topic, userSecretRef, clusterCaSecretRef}}",
                bp.name_any()
            ),
        )),
        (Some(_), _, true) => Some(Cause::new(
            Reason::KafkaExternalNotAllowed,
            "spec.kafka.external",
            format!(
                "is not allowed: BigPeer {:?} uses Strimzi (transactionLog.strimzi), and the operator makes the bridge's KafkaTopic and KafkaUser itself: remove kafka.external",
                bp.name_any()
            ),
        )),
        _ => None,
    }
}

/// The warning for a Kafka bridge whose BigPeer does not exist (yet): `kafka.external` could
/// not be checked against its transaction log.
pub fn kafka_external_unchecked(b: &BigPeerDataBridge, big_peer: &str) -> Option<String> {
    b.spec.kafka.as_ref()?;
    Some(format!(
        "spec.kafka.external: not checked, BigPeer {big_peer:?} does not exist (yet): it is required when the BigPeer's transaction log is external and not allowed with Strimzi"
    ))
}

/// The warning for a MongoDB bridge whose connection Secret or key is missing (`None`: not
/// readable, nothing said), when it is new or changed.
pub fn connection_secret_warning(
    b: &BigPeerDataBridge,
    old: Option<&BigPeerDataBridge>,
    found: Option<Found>,
) -> Option<String> {
    let r = &b.spec.mongodb.as_ref()?.connection_string_secret_ref;
    let before = old
        .and_then(|o| o.spec.mongodb.as_ref())
        .map(|m| &m.connection_string_secret_ref);
    if before == Some(r) {
        return None;
    }
    let at = "spec.mongodb.connectionStringSecretRef";
    match found? {
        Found::Present => None,
        Found::Missing => Some(format!(
            "{at}.name: Secret {:?} does not exist (yet): the connector does not start until it does",
            r.name
        )),
        Found::NoKey => Some(format!(
            "{at}.key: Secret {:?} has no key {:?} (yet): the connector does not start until it does",
            r.name, r.key
        )),
    }
}

#[cfg(test)]
mod tests;
