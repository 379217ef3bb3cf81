//! `smbp.io/v1alpha1` `BigPeer`.
//!
//! Doc comments on fields become `kubectl explain` text; every cross-field rule is a CEL rule
//! so that `kubectl apply` rejects a bad spec before the operator ever sees it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::monitoring::*;
pub use super::network::*;

/// A Self-Managed Big Peer cluster: the server side of Ditto sync (store, subscription and API
/// servers) with its transaction log and keys. The operator creates and keeps every part of it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "smbp.io",
    version = "v1alpha1",
    kind = "BigPeer",
    plural = "bigpeers",
    singular = "bigpeer",
    shortname = "bp",
    category = "smbp",
    namespaced,
    status = "BigPeerStatus",
    cel,
    derive = "PartialEq",
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Version", type_ = "string", json_path = ".status.version"),
    printcolumn(name = "Store", type_ = "string", json_path = ".status.store.summary"),
    printcolumn(name = "Subscription", type_ = "string", json_path = ".status.subscription.summary"),
    printcolumn(name = "API", type_ = "string", json_path = ".status.api.summary"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 40").message("metadata.name must be at most 40 characters: the operator derives object names (with suffixes such as '-subscription') from it"),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must start with a lowercase letter and hold only lowercase letters, digits and '-' (no '.'): the operator names Services after it, and Service names are DNS labels")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::at("self.store.minimumReplicationFactor <= self.store.replicationFactor", ".store.minimumReplicationFactor", "store.minimumReplicationFactor must not exceed store.replicationFactor: lower minimumReplicationFactor or raise replicationFactor"),
    validation = super::cel::at("self.store.replicationFactor <= self.store.replicas", ".store.replicationFactor", "store.replicationFactor must not exceed store.replicas: every copy of a partition needs its own store pod, so add store replicas or lower replicationFactor"),
)]
pub struct BigPeerSpec {
    /// Big Peer release to run, for example "1.59.0". Changing it rolls the pods one at a time.
    #[x_kube(validation = Rule::new(r"self.matches('^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$')").message("version must be a Big Peer release such as 1.59.0"))]
    #[schemars(length(min = 5, max = 64))]
    pub version: String,

    /// Where the Big Peer images come from. Defaults pull the vendor images for `version`;
    /// air-gapped clusters set `registry` or the operator's RELATED_IMAGE_* variables.
    #[serde(default)]
    pub image: ImageSpec,

    /// The partitioned, replicated document store (a StatefulSet with one volume per pod).
    #[serde(default)]
    pub store: StoreSpec,

    /// Subscription servers: small peers sync with them over WebSocket.
    #[serde(default = "ComponentSpec::subscription_default")]
    #[schemars(default = "ComponentSpec::subscription_default")]
    pub subscription: ComponentSpec,

    /// HTTP API servers.
    #[serde(default = "ComponentSpec::api_default")]
    #[schemars(default = "ComponentSpec::api_default")]
    pub api: ComponentSpec,

    /// The transaction log: a Kafka topic unique to this Big Peer.
    pub transaction_log: TransactionLogSpec,

    /// Keys (CA, in-band and JWT certificates) and the identity providers of small peers.
    pub auth: AuthSpec,

    /// How version and configuration changes are rolled out.
    #[serde(default)]
    pub rollout: RolloutSpec,

    /// How Big Peer is exposed (a public host name through a load balancer, node ports, an
    /// Ingress, Gateway API or OpenShift Routes) and the NetworkPolicies that fence it in.
    #[serde(default)]
    pub network: NetworkSpec,

    /// Scraping of the Big Peer components by the Prometheus Operator.
    #[serde(default)]
    pub monitoring: MonitoringSpec,
}

/// Image sources.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Registry and path prefix that replaces the vendor default, for example
    /// "mirror.example.com/ditto" (a mirror). The image name is appended, then the digest the
    /// operator's release pins for this version (its RELATED_IMAGE_* variables), so the mirror
    /// must hold the same images by digest; without a pinned digest, the version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(REGISTRY_RULE).message("image.registry must be a registry host and path such as mirror.example.com/ditto or mirror.example.com:5000/ditto: no scheme (https://), no spaces, no tag"))]
    #[schemars(length(min = 1, max = 253))]
    pub registry: Option<String>,
    /// Full image reference for the store, overriding registry and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(IMAGE_RULE).message("image.store must be an image reference such as registry.example.com/ditto/store:1.59.0 or ...@sha256:<digest>: no scheme (https://), no spaces"))]
    #[schemars(length(min = 1, max = 512))]
    pub store: Option<String>,
    /// Full image reference for the subscription servers, overriding registry and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(IMAGE_RULE).message("image.subscription must be an image reference such as registry.example.com/ditto/subscription:1.59.0 or ...@sha256:<digest>: no scheme (https://), no spaces"))]
    #[schemars(length(min = 1, max = 512))]
    pub subscription: Option<String>,
    /// Full image reference for the API servers, overriding registry and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(IMAGE_RULE).message("image.api must be an image reference such as registry.example.com/ditto/api:1.59.0 or ...@sha256:<digest>: no scheme (https://), no spaces"))]
    #[schemars(length(min = 1, max = 512))]
    pub api: Option<String>,
    /// Image pull policy of every Big Peer container.
    #[serde(default)]
    pub pull_policy: PullPolicy,
    /// Secrets (in this namespace) used to pull the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub pull_secrets: Vec<LocalObjectReference>,
}

/// An image registry host (optionally with a port) and path, without scheme or tag.
const REGISTRY_RULE: &str = r"self.matches('^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$')";
/// An image reference: optional registry host and port, path, optional tag, optional digest.
const IMAGE_RULE: &str = r"self.matches('^([a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[a-z0-9]+([+._-][a-z0-9]+)*:[a-fA-F0-9]{32,})?$')";

/// Image pull policy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull only when the image is not on the node.
    #[default]
    IfNotPresent,
    /// Always pull.
    Always,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}

/// A reference to an object in the BigPeer's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct LocalObjectReference {
    /// Name of the object.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("name must be a DNS subdomain (lowercase letters, digits, '-' and '.')"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A key in a Secret of the BigPeer's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("name must be a DNS subdomain (lowercase letters, digits, '-' and '.')"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[x_kube(validation = Rule::new(r"self.matches('^[-._a-zA-Z0-9]+$')").message("key must be a Secret key: letters, digits, '-', '_' and '.' only (no '/')"))]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The store: partitioned, replicated document storage.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StoreSpec {
    /// Number of store pods. Never fewer than replicationFactor.
    #[serde(default = "StoreSpec::default_replicas")]
    #[schemars(range(min = 1, max = 99))]
    pub replicas: i32,
    /// Number of data partitions. Changing it starts a staged cluster configuration transition.
    #[serde(default = "StoreSpec::default_partitions")]
    #[schemars(range(min = 1, max = 4096))]
    pub partitions: i32,
    /// Copies kept of every partition. Changing it starts a staged cluster configuration transition.
    #[serde(default = "StoreSpec::default_replication_factor")]
    #[schemars(range(min = 1, max = 9))]
    pub replication_factor: i32,
    /// Copies that must acknowledge a write before it counts as durable.
    #[serde(default = "StoreSpec::default_minimum_replication_factor")]
    #[schemars(range(min = 1, max = 9))]
    pub minimum_replication_factor: i32,
    /// The volume of each store pod.
    #[serde(default)]
    pub storage: StorageSpec,
    /// Grant the store the IPC_LOCK capability so that it may lock memory. Off by default;
    /// it needs a Pod Security level or SCC that allows the capability.
    #[serde(default)]
    pub ipc_lock: bool,
    /// Resources, scheduling, pod template extras, security context and disruption budget.
    #[serde(default)]
    pub pod: PodOptions,
}

impl StoreSpec {
    fn default_replicas() -> i32 {
        3
    }
    fn default_partitions() -> i32 {
        12
    }
    fn default_replication_factor() -> i32 {
        3
    }
    fn default_minimum_replication_factor() -> i32 {
        2
    }
}

impl Default for StoreSpec {
    fn default() -> Self {
        Self {
            replicas: Self::default_replicas(),
            partitions: Self::default_partitions(),
            replication_factor: Self::default_replication_factor(),
            minimum_replication_factor: Self::default_minimum_replication_factor(),
            storage: StorageSpec::default(),
            ipc_lock: false,
            pod: PodOptions::default(),
        }
    }
}

/// Persistent storage of the store pods.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)", ".storageClassName", "store.storage.storageClassName cannot be set, changed or removed after creation: create a new BigPeer to move to another storage class"),
    validation = super::cel::forbidden_at("!isQuantity(self.size) || !isQuantity(oldSelf.size) || quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0", ".size", "store.storage.size cannot shrink: volumes can only grow, so set a size at least the current one"),
)]
pub struct StorageSpec {
    /// Size of each store volume, for example "50Gi". It may grow but never shrink: the
    /// operator raises each volume claim, and the storage system resizes the volume where its
    /// StorageClass allows expansion (otherwise the BigPeer reports VolumeExpansionFailed).
    #[serde(default = "StorageSpec::default_size")]
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))").message("store.storage.size must be a positive quantity such as 50Gi"))]
    #[schemars(length(min = 1, max = 32))]
    pub size: String,
    /// Storage class of the store volumes; the cluster default when unset. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("store.storage.storageClassName must be a StorageClass name: lowercase letters, digits, '-' and '.', such as fast-ssd"))]
    #[schemars(length(min = 1, max = 253))]
    pub storage_class_name: Option<String>,
    /// What happens to the volumes when the store scales down or the BigPeer is deleted.
    #[serde(default)]
    pub retention: RetentionSpec,
}

impl StorageSpec {
    fn default_size() -> String {
        "10Gi".to_string()
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            size: Self::default_size(),
            storage_class_name: None,
            retention: RetentionSpec::default(),
        }
    }
}

/// Volume retention. `Retain` keeps the PersistentVolumeClaims (and so the data); `Delete`
/// removes them.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSpec {
    /// On store scale-down.
    #[serde(default)]
    pub when_scaled: RetentionPolicy,
    /// When the BigPeer is deleted.
    #[serde(default)]
    pub when_deleted: RetentionPolicy,
}

/// Keep or delete volumes.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Keep the PersistentVolumeClaims.
    #[default]
    Retain,
    /// Delete the PersistentVolumeClaims.
    Delete,
}

impl RetentionPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionPolicy::Retain => "Retain",
            RetentionPolicy::Delete => "Delete",
        }
    }
}

/// A stateless Big Peer component.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Number of pods.
    #[schemars(range(min = 0, max = 999))]
    pub replicas: i32,
    /// Resources, scheduling, pod template extras, security context and disruption budget.
    #[serde(default)]
    pub pod: PodOptions,
}

impl ComponentSpec {
    /// Default of `spec.subscription`.
    pub fn subscription_default() -> Self {
        Self {
            replicas: 2,
            pod: PodOptions::default(),
        }
    }
    /// Default of `spec.api`.
    pub fn api_default() -> Self {
        Self {
            replicas: 2,
            pod: PodOptions::default(),
        }
    }
}

/// Pod-level options shared by every component.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::cel::pod_options)]
pub struct PodOptions {
    /// CPU and memory requests and limits of the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Where the pods may run.
    #[serde(default)]
    pub scheduling: SchedulingSpec,
    /// Extra labels, annotations, environment and priority class of the pods.
    #[serde(default)]
    pub template: PodTemplateExtras,
    /// Security context overrides, within the restricted Pod Security Standard.
    #[serde(default)]
    pub security_context: SecurityContextOverrides,
    /// The PodDisruptionBudget of the component.
    #[serde(default)]
    pub disruption_budget: DisruptionBudgetSpec,
}

/// Scheduling constraints.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingSpec {
    /// Node labels the pods require.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Node and pod affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// How pods spread over failure domains. When empty the operator spreads them over zones
    /// and nodes (best effort); set your own constraints to replace that default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

/// Pod template extras.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateExtras {
    /// Extra pod labels. Labels the operator sets itself win over these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::pod_labels)]
    pub labels: BTreeMap<String, String>,
    /// Extra pod annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::pod_annotations)]
    pub annotations: BTreeMap<String, String>,
    /// Extra environment variables of the main container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("template.priorityClassName must be a PriorityClass name: lowercase letters, digits, '-' and '.', such as high-priority"))]
    #[schemars(length(min = 1, max = 253))]
    pub priority_class_name: Option<String>,
}

/// Security context overrides. Pods always run as non-root with every capability dropped,
/// no privilege escalation, a read-only root filesystem and the RuntimeDefault seccomp profile.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContextOverrides {
    /// User ID to run as; unset lets the platform choose (OpenShift assigns one per namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub run_as_user: Option<i64>,
    /// Group ID to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub run_as_group: Option<i64>,
    /// Group that owns mounted volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub fs_group: Option<i64>,
}

/// PodDisruptionBudget settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DisruptionBudgetSpec {
    /// Create a PodDisruptionBudget. Turn off where single-replica budgets would block node drains.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Pods of the component that voluntary disruptions (drains) may take down at once.
    #[serde(default = "default_one")]
    #[schemars(range(min = 1, max = 99))]
    pub max_unavailable: i32,
}

impl Default for DisruptionBudgetSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            max_unavailable: 1,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_one() -> i32 {
    1
}

/// The transaction log. Set exactly one of `strimzi` or `external`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.strimzi) != has(self.external)").message("set exactly one of transactionLog.strimzi or transactionLog.external"))]
pub struct TransactionLogSpec {
    /// Use a Kafka cluster managed by Strimzi: the operator creates the topic and a user that
    /// may use only that topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strimzi: Option<StrimziSpec>,
    /// Use a Kafka cluster managed elsewhere; the topic must exist or be auto-created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalKafkaSpec>,
    /// The topic.
    #[serde(default)]
    pub topic: TopicSpec,
}

/// A Strimzi-managed Kafka cluster.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StrimziSpec {
    /// The Strimzi `Kafka` resource, in the BigPeer's namespace. The KafkaTopic and KafkaUser
    /// are created there too, so Strimzi's entity operator must watch this namespace.
    pub kafka_ref: KafkaRef,
    /// Name of the Kafka listener (as in the Kafka's `spec.kafka.listeners`) the Big Peer
    /// connects to. It must use TLS and SCRAM-SHA-512 authentication.
    #[serde(default = "StrimziSpec::default_listener")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]{1,11}$')").message("transactionLog.strimzi.listener must be a Strimzi listener name: 1 to 11 lowercase letters and digits, such as tls"))]
    #[schemars(length(min = 1, max = 11))]
    pub listener: String,
    /// Keep (Retain) or delete (Delete) the Kafka topic and its data when the BigPeer is deleted.
    #[serde(default)]
    pub topic_retention: RetentionPolicy,
}

impl StrimziSpec {
    fn default_listener() -> String {
        "tls".into()
    }
}

/// Reference to a Strimzi `Kafka`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KafkaRef {
    /// Name of the Kafka resource.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("kafkaRef.name must be a DNS label"))]
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
}

/// A Kafka cluster not managed by this operator.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::forbidden_at("!(has(self.sasl) && has(self.mtls))", ".mtls", "choose one client authentication: transactionLog.external.sasl or transactionLog.external.mtls, not both"))]
pub struct ExternalKafkaSpec {
    /// Bootstrap servers as host:port.
    #[x_kube(validation = Rule::new(r"self.all(s, s.matches('^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|\\[[0-9a-fA-F:.]+\\]):(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})$'))").message("transactionLog.external.bootstrapServers entries must be host:port with a port from 1 to 65535 and host labels of at most 63 characters, for example kafka-0.kafka:9093"))]
    #[schemars(length(min = 1, max = 32), inner(length(max = 260)))]
    pub bootstrap_servers: Vec<String>,
    /// Verify the brokers with this CA (PEM) instead of the system trust store; TLS is on when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTlsSpec>,
    /// SASL/SCRAM credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslSpec>,
    /// Mutual TLS client certificate: a Secret with tls.crt and tls.key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<LocalObjectReference>,
}

/// TLS to the Kafka brokers.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTlsSpec {
    /// CA certificate (PEM) that signs the brokers' certificates.
    pub ca_secret_ref: SecretKeyRef,
}

/// SASL credentials.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SaslSpec {
    /// SASL mechanism.
    #[serde(default)]
    pub mechanism: SaslMechanism,
    /// Secret with the keys `username` and `password`.
    pub secret_ref: LocalObjectReference,
}

/// SASL mechanisms.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaslMechanism {
    /// SCRAM-SHA-512.
    #[default]
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// SCRAM-SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
}

impl SaslMechanism {
    /// Kafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }
}

/// The transaction log topic.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("has(self.name) == has(oldSelf.name) && (!has(self.name) || self.name == oldSelf.name)", ".name", "transactionLog.topic.name cannot be set, changed or removed after creation: the Big Peer's data is in the topic it started with"),
    validation = super::cel::forbidden_at("!has(oldSelf.partitions) || (has(self.partitions) && self.partitions >= oldSelf.partitions)", ".partitions", "transactionLog.topic.partitions cannot decrease or be removed: Kafka cannot take partitions away from a topic, so keep at least the current count"),
)]
pub struct TopicSpec {
    /// Topic name; `<name>-<namespace>-transactions` when unset. It must be unique per Big Peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-zA-Z0-9._-]+$') && self != '.' && self != '..'").message("transactionLog.topic.name may use only letters, digits, '.', '_' and '-' (and is not '.' or '..')"))]
    #[schemars(length(min = 1, max = 249))]
    pub name: Option<String>,
    /// Number of topic partitions (Strimzi only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub partitions: Option<i32>,
    /// Topic replicas (Strimzi only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 9))]
    pub replicas: Option<i32>,
    /// Topic configuration that overrides the defaults (cleanup.policy=delete,
    /// max.message.bytes=104857600).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new(r"self.all(k, k.matches('^[a-z][a-z0-9]*([._-][a-z0-9]+)*$'))").message("transactionLog.topic.config keys must be Kafka topic configuration names such as retention.ms"))]
    #[schemars(extend("maxProperties" = 64))]
    pub config: BTreeMap<String, String>,
}

/// Keys and identity providers.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Where the CA, in-band and JWT signing certificates come from.
    pub keys: KeysSpec,
    /// How small peers prove who they are.
    #[serde(default)]
    pub providers: ProvidersSpec,
}

/// Key source. Set exactly one of `certManager` or `secrets`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.certManager) != has(self.secrets)").message("set exactly one of auth.keys.certManager or auth.keys.secrets"))]
pub struct KeysSpec {
    /// Issue the certificates with cert-manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<CertManagerKeys>,
    /// Use existing TLS Secrets (tls.crt, tls.key, ca.crt) in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<KeySecrets>,
}

/// cert-manager issued keys.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerKeys {
    /// Issuer or ClusterIssuer that signs the Big Peer CA.
    pub issuer_ref: IssuerRef,
}

/// A cert-manager issuer.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    /// Issuer name.
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("issuerRef.name must be an Issuer or ClusterIssuer name: lowercase letters, digits, '-' and '.', such as smbp-ca"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `Issuer` (this namespace) or `ClusterIssuer`.
    #[serde(default)]
    pub kind: IssuerKind,
}

/// Issuer kinds.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IssuerKind {
    /// A namespaced Issuer.
    #[default]
    Issuer,
    /// A ClusterIssuer.
    ClusterIssuer,
}

/// Existing key Secrets.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeySecrets {
    /// TLS Secret of the Big Peer CA.
    pub ca: LocalObjectReference,
    /// TLS Secret of the in-band certificate.
    pub in_band: LocalObjectReference,
    /// TLS Secret of the JWT signing certificate.
    pub jwt: LocalObjectReference,
}

/// Identity providers.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersSpec {
    /// Let small peers in with a shared token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<AnonymousProvider>,
    /// Ask a webhook to validate the token of each small peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_webhook: Option<TokenWebhookProvider>,
}

/// Shared-token provider.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnonymousProvider {
    /// Secret key holding the shared token.
    pub shared_token_secret_ref: SecretKeyRef,
}

/// Token webhook provider. The rules of `url` sit on this object with a `fieldPath`: the API
/// server echoes the value of a string whose own rule fails, and a refused URL may carry a
/// password.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::at(super::cel::URL_IS_HTTPS, ".url", "auth.providers.tokenWebhook.url must start with https://"),
    validation = super::cel::forbidden_at(super::cel::URL_HAS_NO_CREDENTIALS, ".url", "auth.providers.tokenWebhook.url must not carry credentials (user:password@): put secrets in a Secret, not in the URL"),
    validation = super::cel::at(super::cel::URL_HAS_HOST, ".url", "auth.providers.tokenWebhook.url must be an absolute URL with a host name, such as https://auth.example.com/ditto"),
    validation = super::cel::at(super::cel::URL_PORT_IN_RANGE, ".url", "auth.providers.tokenWebhook.url port must be from 1 to 65535 (or left out for 443)"),
)]
pub struct TokenWebhookProvider {
    /// HTTPS URL of the webhook. It must not carry credentials.
    #[schemars(length(min = 9, max = 2048))]
    pub url: String,
}

/// Rollout behaviour.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Seconds a pod may stay unready (crash loop, image pull failure, unschedulable) before
    /// the rollout stops and the BigPeer reports Degraded.
    #[serde(default = "RolloutSpec::default_deadline")]
    #[schemars(range(min = 10, max = 86400))]
    pub progress_deadline_seconds: i32,
}

impl RolloutSpec {
    fn default_deadline() -> i32 {
        600
    }
}

impl Default for RolloutSpec {
    fn default() -> Self {
        Self {
            progress_deadline_seconds: Self::default_deadline(),
        }
    }
}

/// Observed state.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing, Degraded and one condition per part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The Big Peer version every pod runs; unset while pods run mixed versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Store replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<ComponentStatus>,
    /// Subscription replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<ComponentStatus>,
    /// API replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ComponentStatus>,
    /// The store topology in force and any transition in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<TopologyStatus>,
    /// How Big Peer is exposed: mode, client URLs and TLS state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<ExposureStatus>,
}

/// Replica counts of one component.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// Pods wanted.
    pub desired: i32,
    /// Pods ready.
    pub ready: i32,
    /// Pods on the current revision.
    pub updated: i32,
    /// "ready/desired", for `kubectl get`.
    pub summary: String,
}

/// Store topology.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    /// Partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i32,
    /// Minimum replication factor.
    pub minimum_replication_factor: i32,
}

/// Topology in force and transition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TopologyStatus {
    /// The topology the cluster runs.
    pub current: Topology,
    /// A cluster configuration transition in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<TopologyTransition>,
}

/// A staged cluster configuration transition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TopologyTransition {
    /// The topology being moved to.
    pub target: Topology,
    /// Stage reached.
    pub phase: TransitionPhase,
    /// When the transition started (RFC 3339).
    pub started_at: String,
}

/// Stages of a topology transition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionPhase {
    /// The new topology is in the rendered configuration.
    ConfigPublished,
    /// Store pods are restarting onto it.
    RollingPods,
}

impl BigPeerSpec {
    /// Topology the spec asks for.
    pub fn topology(&self) -> Topology {
        Topology {
            partitions: self.store.partitions,
            replication_factor: self.store.replication_factor,
            minimum_replication_factor: self.store.minimum_replication_factor,
        }
    }
}
