//! The pure build layer: from a BigPeer and what was observed, the objects that should
//! exist. No client here; everything is tested without a cluster.

pub mod access;
pub mod apikey;
pub mod bridge;
pub mod config;
pub mod disruption;
pub mod exposure;
pub mod kafka;
pub mod keys;
pub mod labels;
pub mod monitoring;
pub mod names;
pub mod network_policy;
pub mod pod;
pub mod replication;
pub mod services;
pub mod stateless;
pub mod store;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::ResourceExt;
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;

use crate::api::{BigPeer, Component, TopologyStatus};
use crate::images::RelatedImages;

/// Container ports.
pub mod ports {
    /// WebSocket sync of small peers.
    pub const SYNC: i32 = 8080;
    /// Big Peer to Big Peer.
    pub const PEER: i32 = 4040;
    /// HTTP API.
    pub const HTTP: i32 = 10080;
    /// Prometheus metrics and health.
    pub const METRICS: i32 = 9100;
}

/// Paths inside the pods.
pub mod paths {
    /// Rendered configuration.
    pub const CONFIG: &str = "/etc/bigpeer/config";
    /// Keys, one directory per key.
    pub const KEYS: &str = "/etc/bigpeer/keys";
    /// CA that signs the Kafka brokers.
    pub const KAFKA_CA: &str = "/etc/bigpeer/kafka/ca";
    /// Kafka client credentials.
    pub const KAFKA_USER: &str = "/etc/bigpeer/kafka/user";
    /// Shared token of the anonymous provider.
    pub const ANONYMOUS_TOKEN: &str = "/etc/bigpeer/auth/anonymous";
    /// Apps and API key hashes (the `<bp>-access` Secret), in subscription and api pods.
    pub const ACCESS: &str = "/etc/bigpeer/access";
    /// Store data.
    pub const DATA: &str = "/var/lib/bigpeer";
}

/// What the builders need besides the spec: observations and decisions made elsewhere.
#[derive(Clone, Debug)]
pub struct BuildInputs {
    /// Image overrides from the operator's environment.
    pub images: RelatedImages,
    /// Running on OpenShift (let the SCC assign user and group IDs).
    pub openshift: bool,
    /// Kafka bootstrap servers (from the spec, or from the Strimzi Kafka's status).
    pub kafka_bootstrap: Vec<String>,
    /// Store replicas to apply (the spec's, unless a scale-down is held back).
    pub store_replicas: i32,
    /// Volume size in the existing StatefulSet's claim template, which Kubernetes does not let
    /// change (a larger spec size is carried out on the claims); None for a new StatefulSet.
    pub store_volume_template: Option<String>,
    /// Topology status to publish in the live transition file.
    pub topology: Option<TopologyStatus>,
    /// Create the workloads. False until keys and transaction log are ready for a new
    /// BigPeer; once workloads exist they are always kept.
    pub workloads: bool,
    /// cert-manager is installed (needed for `auth.keys.certManager`).
    pub cert_manager: bool,
    /// Strimzi is installed (needed for `transactionLog.strimzi`).
    pub strimzi: bool,
    /// The Gateway API is installed (needed for `network.expose.gatewayAPI`).
    pub gateway_api: bool,
    /// OpenShift Routes are served (needed for `network.expose.route`).
    pub openshift_route: bool,
    /// The Prometheus Operator's API is installed (needed for `monitoring`).
    pub prometheus_operator: bool,
}

impl BuildInputs {
    /// Inputs for rendering a BigPeer outside a live cluster (benchmarks, checks of examples):
    /// every optional API installed, not OpenShift, workloads allowed, the spec's store
    /// replicas and the given Kafka bootstrap servers.
    pub fn offline(bp: &BigPeer, kafka_bootstrap: Vec<String>) -> Self {
        Self {
            images: RelatedImages::default(),
            openshift: false,
            kafka_bootstrap,
            store_replicas: bp.spec.store.replicas,
            store_volume_template: None,
            topology: None,
            workloads: true,
            cert_manager: true,
            strimzi: true,
            gateway_api: true,
            openshift_route: true,
            prometheus_operator: true,
        }
    }
}

/// One object to server-side apply.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredObject {
    /// Its API type.
    pub resource: ApiResource,
    /// Its name.
    pub name: String,
    /// The full object, as sent to the API server.
    pub body: Value,
}

impl DesiredObject {
    /// Wrap a JSON object.
    pub fn new(resource: ApiResource, body: Value) -> Self {
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Self {
            resource,
            name,
            body,
        }
    }

    /// Wrap a typed Kubernetes object.
    pub fn typed<K>(obj: &K) -> Self
    where
        K: kube::Resource<DynamicType = ()> + Serialize,
    {
        let mut body = serde_json::to_value(obj).expect("Kubernetes objects serialize");
        body["apiVersion"] = Value::String(K::api_version(&()).into_owned());
        body["kind"] = Value::String(K::kind(&()).into_owned());
        Self::new(ApiResource::erase::<K>(&()), body)
    }

    /// `Kind/name`, for messages.
    pub fn key(&self) -> String {
        format!("{}/{}", self.resource.kind, self.name)
    }
}

/// The ServiceAccount of the Big Peer pods (no API token is mounted).
pub fn service_account(bp: &BigPeer) -> ServiceAccount {
    ServiceAccount {
        metadata: labels::meta(bp, names::service_account(&bp.name_any()), "bigpeer"),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Every object the BigPeer should have, in apply order (configuration before workloads).
pub fn desired(bp: &BigPeer, inputs: &BuildInputs) -> Vec<DesiredObject> {
    let spec = &bp.spec;
    let mut out = vec![DesiredObject::typed(&service_account(bp))];
    // Traffic policy first: it is in force before any pod starts.
    out.extend(
        network_policy::policies(bp, inputs)
            .iter()
            .map(DesiredObject::typed),
    );

    if let (Some(cm), true) = (&spec.auth.keys.cert_manager, inputs.cert_manager) {
        out.extend(keys::objects(bp, cm));
    }
    if let (Some(s), true) = (&spec.transaction_log.strimzi, inputs.strimzi) {
        out.push(kafka::topic(bp, s));
        out.push(kafka::user(bp, s));
    }

    let rendered = config::render(bp, inputs);
    let hash = config::hash(&rendered);
    out.push(DesiredObject::typed(&config::config_map(
        bp, &rendered, inputs,
    )));

    out.push(DesiredObject::typed(&services::store_headless(bp)));
    for c in Component::ALL {
        out.push(DesiredObject::typed(&services::client(bp, c)));
    }
    out.extend(exposure::objects(bp, inputs));
    out.extend(monitoring::monitor(bp, inputs.prometheus_operator));
    if inputs.workloads {
        out.push(DesiredObject::typed(&store::stateful_set(
            bp, inputs, &hash,
        )));
        out.push(DesiredObject::typed(&stateless::deployment(
            bp,
            Component::Subscription,
            &spec.subscription,
            inputs,
            &hash,
        )));
        out.push(DesiredObject::typed(&stateless::deployment(
            bp,
            Component::Api,
            &spec.api,
            inputs,
            &hash,
        )));
    }
    let budgets = [
        (Component::Store, &spec.store.pod, inputs.store_replicas),
        (
            Component::Subscription,
            &spec.subscription.pod,
            spec.subscription.replicas,
        ),
        (Component::Api, &spec.api.pod, spec.api.replicas),
    ];
    for (c, opts, replicas) in budgets {
        if let Some(pdb) = disruption::budget(bp, c, opts, replicas) {
            out.push(DesiredObject::typed(&pdb));
        }
    }
    out
}
