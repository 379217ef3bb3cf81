//! The rendered Big Peer configuration (one ConfigMap). It holds topology, connection
//! settings and file paths, never a secret value: secrets reach pods as mounted files.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::names::{self, Key};
use super::{BuildInputs, labels, paths, ports};
use crate::api::{BigPeer, Topology, TopologyStatus};

/// Key of the static configuration file; its hash rolls the pods when it changes.
pub const CONFIG_FILE: &str = "bigpeer.yaml";
/// Key of the live topology-transition file; pods read it in place, it never rolls them.
pub const TRANSITION_FILE: &str = "transition.yaml";
/// Pod template annotation carrying the configuration hash.
pub const HASH_ANNOTATION: &str = "smbp.io/config-hash";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rendered<'a> {
    cluster: Cluster<'a>,
    version: &'a str,
    topology: Topology,
    ports: Ports,
    peer_discovery: PeerDiscovery,
    store: Store,
    transaction_log: TransactionLog,
    keys: Keys,
    auth: Auth,
}

#[derive(Serialize)]
struct Cluster<'a> {
    name: String,
    namespace: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ports {
    sync: i32,
    peer: i32,
    http: i32,
    metrics: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PeerDiscovery {
    headless_service: String,
    port: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Store {
    data_dir: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransactionLog {
    bootstrap_servers: Vec<String>,
    topic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sasl: Option<Sasl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtls: Option<CertPair>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sasl {
    mechanism: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username_file: Option<String>,
    password_file: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertPair {
    cert_file: String,
    key_file: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Keys {
    ca_file: String,
    in_band: CertPair,
    jwt: CertPair,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Auth {
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous_token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_webhook_url: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Transition<'a> {
    current: Option<&'a Topology>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a Topology>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
}

fn pair(dir: &str) -> CertPair {
    CertPair {
        cert_file: format!("{dir}/tls.crt"),
        key_file: format!("{dir}/tls.key"),
    }
}

/// Render `bigpeer.yaml`.
pub fn render(bp: &BigPeer, inputs: &BuildInputs) -> String {
    let ns = bp.namespace().unwrap_or_default();
    let name = bp.name_any();
    let spec = &bp.spec;
    let tl = &spec.transaction_log;
    let (sasl, mtls) = match (&tl.strimzi, &tl.external) {
        (Some(_), _) => (
            Some(Sasl {
                mechanism: "SCRAM-SHA-512",
                username: Some(names::kafka_user(&name)),
                username_file: None,
                password_file: format!("{}/password", paths::KAFKA_USER),
            }),
            None,
        ),
        (None, Some(ext)) => (
            ext.sasl.as_ref().map(|s| Sasl {
                mechanism: s.mechanism.as_str(),
                username: None,
                username_file: Some(format!("{}/username", paths::KAFKA_USER)),
                password_file: format!("{}/password", paths::KAFKA_USER),
            }),
            ext.mtls.as_ref().map(|_| pair(paths::KAFKA_USER)),
        ),
        (None, None) => (None, None),
    };
    let tls_ca_file = match (&tl.strimzi, &tl.external) {
        (Some(_), _) => Some(format!("{}/ca.crt", paths::KAFKA_CA)),
        (None, Some(ext)) => ext
            .tls
            .as_ref()
            .map(|t| format!("{}/{}", paths::KAFKA_CA, t.ca_secret_ref.key)),
        _ => None,
    };
    let rendered = Rendered {
        cluster: Cluster {
            name: name.clone(),
            namespace: &ns,
        },
        version: &spec.version,
        topology: spec.topology(),
        ports: Ports {
            sync: ports::SYNC,
            peer: ports::PEER,
            http: ports::HTTP,
            metrics: ports::METRICS,
        },
        peer_discovery: PeerDiscovery {
            headless_service: format!("{}.{ns}.svc", names::store_headless(&name)),
            port: ports::PEER,
        },
        store: Store {
            data_dir: paths::DATA,
        },
        transaction_log: TransactionLog {
            bootstrap_servers: inputs.kafka_bootstrap.clone(),
            topic: topic_name(bp),
            tls_ca_file,
            sasl,
            mtls,
        },
        keys: Keys {
            ca_file: format!("{}/{}/ca.crt", paths::KEYS, Key::Ca.dir()),
            in_band: pair(&format!("{}/{}", paths::KEYS, Key::InBand.dir())),
            jwt: pair(&format!("{}/{}", paths::KEYS, Key::Jwt.dir())),
        },
        auth: Auth {
            anonymous_token_file: spec.auth.providers.anonymous.as_ref().map(|a| {
                format!(
                    "{}/{}",
                    paths::ANONYMOUS_TOKEN,
                    a.shared_token_secret_ref.key
                )
            }),
            token_webhook_url: spec
                .auth
                .providers
                .token_webhook
                .as_ref()
                .map(|w| w.url.clone()),
        },
    };
    serde_yaml_ng::to_string(&rendered).expect("rendered configuration serializes")
}

/// Render `transition.yaml` from the topology status.
pub fn render_transition(topology: Option<&TopologyStatus>) -> String {
    let t = Transition {
        current: topology.map(|t| &t.current),
        target: topology
            .and_then(|t| t.transition.as_ref())
            .map(|t| &t.target),
        phase: topology
            .and_then(|t| t.transition.as_ref())
            .map(|t| match t.phase {
                crate::api::TransitionPhase::ConfigPublished => "ConfigPublished",
                crate::api::TransitionPhase::RollingPods => "RollingPods",
            }),
    };
    serde_yaml_ng::to_string(&t).expect("transition serializes")
}

/// The topic this BigPeer writes its transaction log to.
pub fn topic_name(bp: &BigPeer) -> String {
    bp.spec
        .transaction_log
        .topic
        .name
        .clone()
        .unwrap_or_else(|| {
            names::default_topic(&bp.name_any(), &bp.namespace().unwrap_or_default())
        })
}

/// SHA-256 of the static configuration, hex.
pub fn hash(config: &str) -> String {
    hex::encode(Sha256::digest(config.as_bytes()))
}

/// The ConfigMap.
pub fn config_map(bp: &BigPeer, config: &str, inputs: &BuildInputs) -> ConfigMap {
    ConfigMap {
        metadata: labels::meta(bp, names::config(&bp.name_any()), "config"),
        data: Some(BTreeMap::from([
            (CONFIG_FILE.to_string(), config.to_string()),
            (
                TRANSITION_FILE.to_string(),
                render_transition(inputs.topology.as_ref()),
            ),
        ])),
        ..Default::default()
    }
}
