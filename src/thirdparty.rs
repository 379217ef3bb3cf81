//! Third-party APIs the operator uses when installed: Strimzi and cert-manager.
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
