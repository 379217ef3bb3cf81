//! `smbp.io/v1alpha1` `BigPeerReplication`: one app's data replicated between Big Peers.
//!
//! Each side declares a replication for the same app ID: what it subscribes to from the others
//! (`queriesByCollection`), whom it connects to (`connections`), whom it accepts connections
//! from (`acceptFrom`) and which certificate authorities it trusts. The operator gives the
//! replication an endpoint Service on the peer port, renders it into the servers' mounted
//! access configuration (no store restart), and publishes this side's endpoint and CA in status
//! for the other side.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AppRef;
use super::network::{GatewayParentRef, TrafficPolicy};

/// The Big Peer to Big Peer (replication) port, on the subscription servers.
pub const PEER_PORT: i32 = 4040;

/// Label on every object made for a replication, naming it.
pub const REPLICATION_LABEL: &str = "smbp.io/replication";

/// A `host:port` replication address: a DNS name (or IPv4 address) and a port.
pub const CONNECTION_PATTERN: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:[0-9]{1,5}$";

/// Replication of one app's data between this namespace's BigPeer and other Big Peers. Create
/// one on each side, for apps with the same app ID. This side connects to the addresses in
/// `connections` and accepts connections from `acceptFrom`; it receives what
/// `queriesByCollection` subscribes to. The endpoint and CA the other side needs are in status.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "smbp.io",
    version = "v1alpha1",
    kind = "BigPeerReplication",
    plural = "bigpeerreplications",
    singular = "bigpeerreplication",
    shortname = "bprepl",
    category = "smbp",
    namespaced,
    status = "BigPeerReplicationStatus",
    cel,
    derive = "PartialEq",
    printcolumn(name = "App", type_ = "string", json_path = ".spec.appRef.name"),
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".status.endpoint.inCluster"),
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "External", type_ = "string", json_path = ".status.endpoint.external", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 40 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS label of at most 40 lowercase letters, digits and '-' (the endpoint Service is named <name>-replication)")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("self.appRef.name == oldSelf.appRef.name", ".appRef.name", "appRef cannot change: a replication carries one app's data; create a new BigPeerReplication for another app"),
)]
pub struct BigPeerReplicationSpec {
    /// The BigPeerApp, in this namespace, whose data is replicated. Cannot change. The
    /// replication may be created before its app: it is not ready until the app exists.
    pub app_ref: AppRef,

    /// Replication endpoints of the other Big Peers this side connects to, as `host:port`,
    /// such as `orders-replication.team-b.svc:4040` (the other side's `status.endpoint`), at
    /// most 32, each once. Empty: this side only accepts connections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new(r"self.all(c, c.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:[0-9]{1,5}$') && int(c.split(':')[1]) >= 1 && int(c.split(':')[1]) <= 65535)").message("connections must be host:port addresses (lowercase DNS name or IPv4 address, port 1 to 65535), such as orders-replication.team-b.svc:4040"))]
    #[schemars(extend("maxItems" = 32, "x-kubernetes-list-type" = "set"))]
    #[schemars(inner(length(min = 3, max = 259)))]
    pub connections: Vec<String>,

    /// What this side subscribes to from the others, per collection the DQL queries whose
    /// matching documents flow in, such as `{cars: ["true"]}` (every car): at most 64
    /// collections and 32 queries each. Empty: nothing flows in (this side only serves).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self.all(k, k.matches('^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'))").message("queriesByCollection keys must be collection names of 1 to 128 letters, digits, '_', '-' or '.'"))]
    #[schemars(extend("maxProperties" = 64))]
    #[schemars(transform = super::cel::queries_by_collection)]
    pub queries_by_collection: BTreeMap<String, Vec<String>>,

    /// Who may connect to this side's endpoint when the BigPeer's NetworkPolicies are on: at
    /// most 32 entries, each a namespace of this cluster (its Big Peer pods) or a CIDR block.
    /// The namespaces of in-cluster `connections` are always allowed. Empty with an external
    /// exposure: any address may connect (the peers still need a trusted certificate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 32))]
    pub accept_from: Vec<ReplicationPeer>,

    /// Certificate authorities of the other Big Peers to trust, at most 16: each the PEM of a
    /// key of a Secret or ConfigMap in this namespace (copy the other side's
    /// `status.caConfigMapName` here). The servers trust them in addition to this BigPeer's CA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16))]
    pub trusted_cas: Vec<TrustedCa>,

    /// How the endpoint is reached from outside the cluster. Left out, it follows the BigPeer's
    /// `network.expose`: loadBalancer and nodePort give a Service of that type; gatewayAPI a
    /// TLSRoute (passthrough) for `<name>-replication.<network.hostname>` on the same
    /// Gateways; route an OpenShift passthrough Route; none and ingress (which cannot carry
    /// the peer protocol) keep the endpoint inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<ReplicationExpose>,
}

/// A source of replication connections. Set exactly one of `namespace` or `cidr`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.__namespace__) != has(self.cidr)").message("each acceptFrom entry must set exactly one of namespace or cidr"))]
pub struct ReplicationPeer {
    /// A namespace of this cluster whose Big Peer pods may connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("acceptFrom[].namespace must be a namespace name (a DNS label)"))]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// A block of addresses that may connect, such as 203.0.113.0/24.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isCIDR(self)").message("acceptFrom[].cidr must be a CIDR block such as 203.0.113.0/24"))]
    #[schemars(length(min = 3, max = 43))]
    pub cidr: Option<String>,
}

/// A certificate authority to trust, by the key of a Secret or ConfigMap. Set exactly one of
/// `secretRef` or `configMapRef`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretRef) != has(self.configMapRef)").message("each trustedCas entry must set exactly one of secretRef or configMapRef"))]
pub struct TrustedCa {
    /// A key of a Secret in this namespace holding PEM certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<CaKeyRef>,
    /// A key of a ConfigMap in this namespace holding PEM certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<CaKeyRef>,
}

/// The key of a Secret or ConfigMap that holds PEM certificates.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CaKeyRef {
    /// Name of the Secret or ConfigMap, in this namespace.
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("the name must be a DNS subdomain: lowercase letters, digits, '-' and '.'"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key holding the PEM certificates (`ca.crt` when left out).
    #[serde(default = "CaKeyRef::default_key")]
    #[schemars(default = "CaKeyRef::default_key")]
    #[x_kube(validation = Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("key must be letters, digits, '-', '_' or '.'"))]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

impl CaKeyRef {
    fn default_key() -> String {
        "ca.crt".into()
    }
}

/// How a replication endpoint is reached from outside the cluster. Set at most one; `none`
/// keeps it inside the cluster.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.none), has(self.loadBalancer), has(self.nodePort), has(self.gatewayAPI), has(self.route)].filter(x, x).size() <= 1").message("expose must set at most one of none, loadBalancer, nodePort, gatewayAPI or route"))]
pub struct ReplicationExpose {
    /// Inside the cluster only (a ClusterIP Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<super::network::NoExposure>,
    /// A Service of type LoadBalancer on the peer port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<ReplicationLoadBalancer>,
    /// A Service of type NodePort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<ReplicationNodePort>,
    /// A Gateway API TLSRoute (TLS passthrough) attached to your Gateway's TLS listener.
    /// Spelled `gatewayAPI`, as in the BigPeer's `network.expose`.
    #[serde(
        default,
        rename = "gatewayAPI",
        skip_serializing_if = "Option::is_none"
    )]
    pub gateway_api: Option<ReplicationGateway>,
    /// An OpenShift Route with passthrough TLS termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<ReplicationRoute>,
}

/// A load balancer in front of a replication endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationLoadBalancer {
    /// The load balancer implementation, such as `service.k8s.aws/nlb`; the cluster's default
    /// when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub load_balancer_class: Option<String>,
    /// Client address ranges the load balancer lets in, such as 203.0.113.0/24 (every address
    /// when empty), at most 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("self.all(c, isCIDR(c))").message("loadBalancerSourceRanges must be CIDR blocks such as 203.0.113.0/24"))]
    #[schemars(extend("maxItems" = 32))]
    #[schemars(inner(length(min = 3, max = 43)))]
    pub load_balancer_source_ranges: Vec<String>,
    /// `Cluster` (default) or `Local` (keeps client addresses).
    #[serde(default)]
    pub external_traffic_policy: TrafficPolicy,
    /// Annotations of the Service, for the cloud's load balancer settings, at most 64.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub annotations: BTreeMap<String, String>,
}

/// A node port for a replication endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationNodePort {
    /// The node port, from the cluster's node port range (30000 to 32767 by default); chosen by
    /// Kubernetes when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub node_port: Option<i32>,
    /// `Cluster` (default) or `Local`.
    #[serde(default)]
    pub external_traffic_policy: TrafficPolicy,
}

/// A TLSRoute for a replication endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationGateway {
    /// The host name peers connect to (the TLS server name), such as repl.example.com.
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("gatewayAPI.hostname must be a DNS name such as repl.example.com"))]
    #[schemars(length(min = 1, max = 253))]
    pub hostname: String,
    /// The Gateways (and their TLS passthrough listeners) to attach to, 1 to 8.
    #[schemars(length(min = 1, max = 8))]
    pub parent_refs: Vec<GatewayParentRef>,
}

/// An OpenShift passthrough Route for a replication endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationRoute {
    /// The host name peers connect to; the router's generated one when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("route.hostname must be a DNS name such as repl.apps.example.com"))]
    #[schemars(length(min = 1, max = 253))]
    pub hostname: Option<String>,
}

/// What the operator observed of a replication.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerReplicationStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The app ID replicated (the app's `status.appId`): the other side's app must have it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Where the other Big Peers connect to this side: put it in their `connections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<ReplicationEndpoint>,
    /// The ConfigMap in this namespace (key `ca.crt`) holding this BigPeer's CA certificate:
    /// copy it to the other side and list it in its `trustedCas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_config_map_name: Option<String>,
    /// Identifies this side's CA certificate: `sha256:` and the SHA-256 of its DER, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_fingerprint: Option<String>,
    /// The certificates the servers trust for this replication (from `spec.trustedCas`), each
    /// as `sha256:` and the SHA-256 of its DER in hex: the other side's `caFingerprint`
    /// must be among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_ca_fingerprints: Vec<String>,
    /// Each connection as far as the operator can see it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionStatus>,
    /// `Ready` (configuration rendered, endpoint in place) and `Degraded`, and when not
    /// ready, why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The endpoint of a replication.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationEndpoint {
    /// `host:port` inside the cluster, such as orders-replication.team-a.svc:4040.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_cluster: Option<String>,
    /// `host:port` outside the cluster, once the exposure has an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
}

/// One connection of a replication.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    /// The address, as in `spec.connections`.
    pub address: String,
    /// `Ready` (an in-cluster Service with ready endpoints), `NotReady` (the Service has no
    /// ready endpoint), `NotFound` (no such Service), `External` (outside the cluster: the
    /// operator cannot see it) or `Unknown` (the operator may not read that namespace).
    pub state: String,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
