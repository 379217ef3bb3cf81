//! Third-party APIs the operator uses when installed: Strimzi, cert-manager, Gateway API,
//! OpenShift Routes and the Prometheus Operator.
//! Objects are built as JSON and applied as dynamic objects, so the operator neither
//! depends on those projects' crates nor breaks when their CRDs are absent.

use kube::core::ApiResource;

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Strimzi API group.
pub const STRIMZI_GROUP: &str = "kafka.strimzi.io";
/// cert-manager API group.
pub const CERT_MANAGER_GROUP: &str = "cert-manager.io";
/// Gateway API group.
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";
/// OpenShift's Route API group.
pub const OPENSHIFT_ROUTE_GROUP: &str = "route.openshift.io";
/// Prometheus Operator API group.
pub const PROMETHEUS_OPERATOR_GROUP: &str = "monitoring.coreos.com";
/// OpenShift's SCC API group, whose presence means the operator runs on OpenShift.
pub const OPENSHIFT_SECURITY_GROUP: &str = "security.openshift.io";

/// `kafka.strimzi.io/v1` Kafka.
pub fn kafka() -> ApiResource {
    resource(STRIMZI_GROUP, "v1", "Kafka", "kafkas")
}
/// `kafka.strimzi.io/v1` KafkaTopic.
pub fn kafka_topic() -> ApiResource {
    resource(STRIMZI_GROUP, "v1", "KafkaTopic", "kafkatopics")
}
/// `kafka.strimzi.io/v1` KafkaUser.
pub fn kafka_user() -> ApiResource {
    resource(STRIMZI_GROUP, "v1", "KafkaUser", "kafkausers")
}
/// `cert-manager.io/v1` Certificate.
pub fn certificate() -> ApiResource {
    resource(CERT_MANAGER_GROUP, "v1", "Certificate", "certificates")
}
/// `cert-manager.io/v1` Issuer.
pub fn issuer() -> ApiResource {
    resource(CERT_MANAGER_GROUP, "v1", "Issuer", "issuers")
}
/// `gateway.networking.k8s.io/v1` HTTPRoute.
pub fn http_route() -> ApiResource {
    resource(GATEWAY_API_GROUP, "v1", "HTTPRoute", "httproutes")
}
/// `gateway.networking.k8s.io/v1` TLSRoute (standard channel since Gateway API 1.5; TLS
/// passthrough by server name, for replication endpoints).
pub fn tls_route() -> ApiResource {
    resource(GATEWAY_API_GROUP, "v1", "TLSRoute", "tlsroutes")
}
/// `route.openshift.io/v1` Route.
pub fn openshift_route() -> ApiResource {
    resource(OPENSHIFT_ROUTE_GROUP, "v1", "Route", "routes")
}
/// `monitoring.coreos.com/v1` ServiceMonitor.
pub fn service_monitor() -> ApiResource {
    resource(
        PROMETHEUS_OPERATOR_GROUP,
        "v1",
        "ServiceMonitor",
        "servicemonitors",
    )
}
/// `monitoring.coreos.com/v1` PodMonitor.
pub fn pod_monitor() -> ApiResource {
    resource(PROMETHEUS_OPERATOR_GROUP, "v1", "PodMonitor", "podmonitors")
}
/// `gateway.networking.k8s.io/v1` Gateway (read only: its listeners' protocols).
pub fn gateway() -> ApiResource {
    resource(GATEWAY_API_GROUP, "v1", "Gateway", "gateways")
}
