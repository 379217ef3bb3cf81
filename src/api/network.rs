//! `spec.network`: how Big Peer is exposed, and the NetworkPolicies that fence it in.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::v1alpha1::{IssuerRef, LocalObjectReference};

/// Exposure and traffic policy.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::required_at("has(self.hostname) || !has(self.expose) || !(has(self.expose.ingress) || has(self.expose.gatewayAPI) || has(self.expose.route))", ".hostname", "network.hostname is required when Big Peer is exposed through an Ingress, Gateway API or OpenShift Route: set the public host name"),
)]
pub struct NetworkSpec {
    /// The public host name small peers and HTTP clients use, for example
    /// "bigpeer.example.com". Big Peer's routes on it: `/_ditto/auth` (auth) and `/_ditto`
    /// (WebSocket sync) go to the subscription servers, `/` to the HTTP API servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(
        validation = Rule::new(r"self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$')").message("network.hostname must be a fully qualified DNS name in lowercase with labels of at most 63 characters, such as bigpeer.example.com (no scheme, port or path)"),
        validation = Rule::new("!isIP(self)").message("network.hostname must be a DNS name, not an IP address: clients reach Big Peer by name (TLS and routing need it)"),
    )]
    #[schemars(length(min = 3, max = 253))]
    pub hostname: Option<String>,
    /// How Big Peer is reached from outside the cluster: exactly one mode, `none` (ClusterIP
    /// Services only) when unset. Switching modes removes the previous mode's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<ExposeSpec>,
    /// NetworkPolicies, on by default, that let each component accept and send only the
    /// traffic it needs. `enabled: false` removes them.
    #[serde(default)]
    pub policies: NetworkPoliciesSpec,
}

/// Exposure modes. Set at most one; none set means `none`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("[has(self.none), has(self.loadBalancer), has(self.nodePort), has(self.ingress), has(self.gatewayAPI), has(self.route)].filter(x, x).size() <= 1").message("set exactly one exposure mode in network.expose: none, loadBalancer, nodePort, ingress, gatewayAPI or route"),
)]
pub struct ExposeSpec {
    /// ClusterIP Services only: Big Peer is reachable inside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<NoExposure>,
    /// A Service of type LoadBalancer named `<name>-public` (sync and HTTP ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerExposure>,
    /// A Service of type NodePort named `<name>-public` (sync and HTTP ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<NodePortExposure>,
    /// An Ingress for the host name, served by the ingress controller of your choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressExposure>,
    /// An HTTPRoute attached to your Gateway. Nothing is created on the Gateway itself.
    #[serde(
        default,
        rename = "gatewayAPI",
        skip_serializing_if = "Option::is_none"
    )]
    pub gateway_api: Option<GatewayApiExposure>,
    /// OpenShift Routes for the host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteExposure>,
}

/// The exposure mode chosen, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExposureMode {
    /// ClusterIP only.
    None,
    /// Service type LoadBalancer.
    LoadBalancer,
    /// Service type NodePort.
    NodePort,
    /// Ingress.
    Ingress,
    /// Gateway API HTTPRoute.
    GatewayApi,
    /// OpenShift Route.
    Route,
}

impl ExposureMode {
    /// Spelling in `spec.network.expose` and in status.
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureMode::None => "none",
            ExposureMode::LoadBalancer => "loadBalancer",
            ExposureMode::NodePort => "nodePort",
            ExposureMode::Ingress => "ingress",
            ExposureMode::GatewayApi => "gatewayAPI",
            ExposureMode::Route => "route",
        }
    }
}

impl NetworkSpec {
    /// The exposure mode in force.
    pub fn mode(&self) -> ExposureMode {
        let Some(e) = &self.expose else {
            return ExposureMode::None;
        };
        if e.load_balancer.is_some() {
            ExposureMode::LoadBalancer
        } else if e.node_port.is_some() {
            ExposureMode::NodePort
        } else if e.ingress.is_some() {
            ExposureMode::Ingress
        } else if e.gateway_api.is_some() {
            ExposureMode::GatewayApi
        } else if e.route.is_some() {
            ExposureMode::Route
        } else {
            ExposureMode::None
        }
    }
}

/// No exposure beyond the ClusterIP Services.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct NoExposure {}

/// `externalTrafficPolicy` of a LoadBalancer or NodePort Service.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// Spread traffic over every pod (the client source address is not kept).
    #[default]
    Cluster,
    /// Send traffic only to pods on the receiving node, keeping the client source address.
    Local,
}

impl TrafficPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficPolicy::Cluster => "Cluster",
            TrafficPolicy::Local => "Local",
        }
    }
}

/// LoadBalancer Service options. The load balancer works at layer 4: WebSocket sync (and
/// auth) on the sync port, the HTTP API on the HTTP port, without TLS termination.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::forbidden_at("has(self.loadBalancerClass) == has(oldSelf.loadBalancerClass) && (!has(self.loadBalancerClass) || self.loadBalancerClass == oldSelf.loadBalancerClass)", ".loadBalancerClass", "network.expose.loadBalancer.loadBalancerClass cannot be set, changed or removed once the load balancer exists (Kubernetes keeps it immutable): switch to another exposure mode first, or keep the class"))]
pub struct LoadBalancerExposure {
    /// `loadBalancerClass` of the Service: which load balancer implementation serves it.
    /// Unset uses the cluster's default implementation. Immutable once set by Kubernetes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::is_qualified_name("self")).message("network.expose.loadBalancer.loadBalancerClass must be a label-style name such as internal-vip or example.com/internal-vip"))]
    #[schemars(length(min = 1, max = 317))]
    pub load_balancer_class: Option<String>,
    /// Client CIDRs allowed through the load balancer, for example "203.0.113.0/24".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("self.all(c, isCIDR(c))").message("every loadBalancerSourceRanges entry must be a CIDR such as 203.0.113.0/24"))]
    #[schemars(length(max = 64), inner(length(max = 64)))]
    pub load_balancer_source_ranges: Vec<String>,
    /// `externalTrafficPolicy` of the Service.
    #[serde(default)]
    pub external_traffic_policy: TrafficPolicy,
    /// Annotations put on the Service as given, for your load balancer implementation
    /// (for example `service.beta.kubernetes.io/aws-load-balancer-type`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::service_annotations)]
    pub annotations: BTreeMap<String, String>,
}

/// NodePort Service options.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::at("!has(self.syncNodePort) || !has(self.httpNodePort) || self.syncNodePort != self.httpNodePort", ".httpNodePort", "network.expose.nodePort.httpNodePort must differ from syncNodePort: give each port its own node port, or leave one unset"))]
pub struct NodePortExposure {
    /// Node port of WebSocket sync and auth; Kubernetes picks one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub sync_node_port: Option<i32>,
    /// Node port of the HTTP API; Kubernetes picks one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub http_node_port: Option<i32>,
    /// `externalTrafficPolicy` of the Service.
    #[serde(default)]
    pub external_traffic_policy: TrafficPolicy,
    /// Annotations put on the Service as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::service_annotations)]
    pub annotations: BTreeMap<String, String>,
}

/// Ingress options. Controller-specific behaviour (WebSocket timeouts, body sizes, sticky
/// sessions) is set through `annotations`; the operator adds none of its own.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressExposure {
    /// IngressClass that serves the Ingress; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("network.expose.ingress.ingressClassName must be an IngressClass name: lowercase letters, digits, '-' and '.', such as nginx"))]
    #[schemars(length(min = 1, max = 253))]
    pub ingress_class_name: Option<String>,
    /// Annotations put on the Ingress as given, for your ingress controller.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::ingress_annotations)]
    pub annotations: BTreeMap<String, String>,
    /// TLS for the host name; plain HTTP when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ExposureTls>,
}

/// Where the host's TLS certificate comes from. Set exactly one.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretName) != has(self.certManager)").message("set exactly one of tls.secretName or tls.certManager"))]
pub struct ExposureTls {
    /// An existing TLS Secret (tls.crt, tls.key) in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("tls.secretName must be a DNS subdomain"))]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: Option<String>,
    /// Have cert-manager issue a certificate for the host name into `<name>-public-tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<PublicCertManager>,
}

/// cert-manager issuance of the public certificate.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicCertManager {
    /// Issuer or ClusterIssuer that signs the host's certificate (for example an ACME
    /// ClusterIssuer).
    pub issuer_ref: IssuerRef,
}

/// Gateway API options.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayApiExposure {
    /// Gateways (or listeners of them) the HTTPRoute attaches to. The Gateway's listener
    /// must allow routes from this namespace.
    #[schemars(length(min = 1, max = 32))]
    pub parent_refs: Vec<GatewayParentRef>,
    /// `timeouts.request` of the HTTPRoute rules for WebSocket sync and auth (`/_ditto`),
    /// for example "0s" to lift the deadline on long-lived sync sessions: some
    /// implementations (Envoy-based ones end requests after 15 s) otherwise cut them. The
    /// implementation must support HTTPRoute timeouts (an extended Gateway API feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"self.matches('^([0-9]{1,5}(h|m|s|ms)){1,4}$')").message("gatewayAPI.syncRequestTimeout must be a Gateway API duration such as 0s, 3600s or 1h"))]
    #[schemars(length(min = 2, max = 32))]
    pub sync_request_timeout: Option<String>,
    /// Annotations put on the HTTPRoute as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::route_annotations)]
    pub annotations: BTreeMap<String, String>,
}

/// A Gateway (or one of its listeners).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayParentRef {
    /// Name of the Gateway.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("parentRefs[].name must be a DNS subdomain"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Gateway; the BigPeer's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("parentRefs[].namespace must be a DNS label"))]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// Listener of the Gateway to attach to; every listener that allows the route when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("parentRefs[].sectionName must be a Gateway listener name: lowercase letters, digits, '-' and '.'"))]
    #[schemars(length(min = 1, max = 253))]
    pub section_name: Option<String>,
    /// Listener port to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
}

/// OpenShift Route options.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteExposure {
    /// TLS at the router; plain HTTP when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouteTls>,
    /// Annotations put on the Routes as given (for example
    /// `haproxy.router.openshift.io/timeout`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::route_annotations)]
    pub annotations: BTreeMap<String, String>,
}

/// TLS of an OpenShift Route.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::required_at("self.termination != 'Reencrypt' || has(self.destinationCACertificate)", ".destinationCACertificate", "route.tls.destinationCACertificate is required for Reencrypt: the router must verify the Big Peer pods' certificate"),
    validation = super::cel::forbidden_at("self.termination == 'Reencrypt' || !has(self.destinationCACertificate)", ".destinationCACertificate", "route.tls.destinationCACertificate applies only to Reencrypt termination: remove it, or use Reencrypt"),
    validation = super::cel::forbidden_at("self.termination != 'Passthrough'", ".termination", "route.tls.termination Passthrough cannot be used: a passthrough Route cannot route by path, and Big Peer needs /_ditto and / sent to different servers; use Edge or Reencrypt, or the loadBalancer mode for TLS end to end"),
)]
pub struct RouteTls {
    /// Where TLS ends: at the router (Edge), or at the router and again at the pods
    /// (Reencrypt, which needs the Big Peer servers to serve TLS themselves). Passthrough
    /// is refused: it cannot route by path.
    #[serde(default)]
    pub termination: RouteTermination,
    /// What the router does with plain HTTP requests (Edge and Reencrypt only).
    #[serde(default)]
    pub insecure_edge_termination_policy: InsecureEdgePolicy,
    /// A TLS Secret (tls.crt, tls.key) in this namespace with the host's certificate; the
    /// router's default certificate when unset. The router needs read access to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_certificate: Option<LocalObjectReference>,
    /// PEM CA certificate that signs the Big Peer pods' serving certificate (Reencrypt).
    #[serde(
        default,
        rename = "destinationCACertificate",
        skip_serializing_if = "Option::is_none"
    )]
    #[x_kube(validation = Rule::new("self.contains('-----BEGIN CERTIFICATE-----')").message("route.tls.destinationCACertificate must be a PEM CA certificate (-----BEGIN CERTIFICATE----- ...)"))]
    #[schemars(length(min = 1, max = 65536))]
    pub destination_ca_certificate: Option<String>,
}

/// Route TLS termination.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteTermination {
    /// TLS ends at the router.
    #[default]
    Edge,
    /// The router terminates TLS and opens a new TLS connection to the pods.
    Reencrypt,
    /// The router passes TLS through by SNI. Refused with an explanation: a passthrough
    /// Route cannot carry a path, so it cannot split `/_ditto` and `/`.
    Passthrough,
}

impl RouteTermination {
    /// OpenShift's spelling in `spec.tls.termination`.
    pub fn as_route(self) -> &'static str {
        match self {
            RouteTermination::Edge => "edge",
            RouteTermination::Reencrypt => "reencrypt",
            RouteTermination::Passthrough => "passthrough",
        }
    }
}

/// Route `insecureEdgeTerminationPolicy`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InsecureEdgePolicy {
    /// Redirect HTTP to HTTPS.
    #[default]
    Redirect,
    /// Refuse plain HTTP.
    None,
    /// Serve plain HTTP too.
    Allow,
}

impl InsecureEdgePolicy {
    /// OpenShift's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InsecureEdgePolicy::Redirect => "Redirect",
            InsecureEdgePolicy::None => "None",
            InsecureEdgePolicy::Allow => "Allow",
        }
    }
}

/// NetworkPolicies, on by default: one per component (`<name>-store`, `<name>-subscription`,
/// `<name>-api`) admitting only Big Peer to Big Peer traffic from this BigPeer's own pods,
/// client traffic on the sync and HTTP ports and metrics scrapes, and sending only DNS,
/// Kafka, token webhook and Big Peer to Big Peer traffic. An empty list means any source
/// or destination on the ports concerned; set it to narrow. The operator itself never
/// connects to Big Peer pods, so nothing is opened for it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::cel::network_policies)]
pub struct NetworkPoliciesSpec {
    /// Create the NetworkPolicies. Turn off only where another tool manages traffic policy.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Where client traffic to the sync (8080, subscription) and HTTP (10080, api) ports
    /// may come from: your ingress controller's, gateway's or router's pods, for example a
    /// namespaceSelector for `kubernetes.io/metadata.name: ingress-nginx`. In-cluster
    /// clients of the Services must be listed too, except this BigPeer's MongoDB connectors,
    /// which are always admitted. Any source when empty, and always in the loadBalancer and
    /// nodePort modes, whose clients arrive through the nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub ingress_from: Vec<NetworkPolicyPeer>,
    /// Where metrics scrapes (port 9100, which also serves the health probes) may come
    /// from, for example your Prometheus namespace. Any source when empty. Where your
    /// network plugin applies policies to kubelet probes, add the nodes' addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub metrics_from: Vec<NetworkPolicyPeer>,
    /// Where DNS queries (ports 53 and 5353, UDP and TCP) may go, for example the cluster
    /// DNS pods. Any destination when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub dns_to: Vec<NetworkPolicyPeer>,
    /// Where the Kafka brokers are, for example an ipBlock. External transaction log: any
    /// destination on the bootstrap servers' ports when empty. Strimzi: the Kafka's pods in
    /// this namespace (labels `strimzi.io/cluster` and `strimzi.io/kind: Kafka`), plus these
    /// peers, on the listener's port (every port until the Kafka reports its address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub kafka_to: Vec<NetworkPolicyPeer>,
    /// Where the token webhook runs; only the subscription servers call it. Any
    /// destination on the webhook URL's port (443 unless the URL names one) when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub auth_webhook_to: Vec<NetworkPolicyPeer>,
    /// Extra ingress rules added to every component's policy, for example for a mesh
    /// sidecar or a debugging tool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub extra_ingress: Vec<NetworkPolicyIngressRule>,
    /// Extra egress rules added to every component's policy, for example to Kafka brokers
    /// that advertise ports other than the bootstrap servers'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub extra_egress: Vec<NetworkPolicyEgressRule>,
}

impl Default for NetworkPoliciesSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            ingress_from: vec![],
            metrics_from: vec![],
            dns_to: vec![],
            kafka_to: vec![],
            auth_webhook_to: vec![],
            extra_ingress: vec![],
            extra_egress: vec![],
        }
    }
}

fn default_true() -> bool {
    true
}

/// Exposure as observed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExposureStatus {
    /// Exposure mode in force: none, loadBalancer, nodePort, ingress, gatewayAPI or route.
    pub mode: String,
    /// URLs clients use, once known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointStatus>,
    /// TLS state of the public endpoint: Disabled, Pending, Ready, or External (terminated
    /// by a Gateway or Route the operator does not manage the certificate of).
    pub tls: String,
}

/// One client endpoint.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// What it serves: sync, auth or api.
    pub name: String,
    /// URL.
    pub url: String,
}
