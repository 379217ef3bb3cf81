//! `smbp.io/v1alpha1` `BigPeerDataBridge`: one app's changes streamed out of a Big Peer, to a
//! Kafka topic (change data capture) or kept in sync with a MongoDB database.
//!
//! Two traps of other operators are designed out here: an external Kafka listener is never
//! requested by default (only `kafka.consumers.outsideCluster: true` asks for one, and the
//! operator never edits a Kafka it does not own), and a MongoDB connector is Ready only while
//! its own progress signal advances, not merely while its process answers probes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AppRef, LocalObjectReference};

/// A stream of one app's changes out of its Big Peer. Set exactly one of `kafka` (change data
/// capture to a topic consumers read) or `mongodb` (a connector that keeps a MongoDB database
/// in sync). What a consumer needs to connect is in status.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "smbp.io",
    version = "v1alpha1",
    kind = "BigPeerDataBridge",
    plural = "bigpeerdatabridges",
    singular = "bigpeerdatabridge",
    shortname = "bpbridge",
    category = "smbp",
    namespaced,
    status = "BigPeerDataBridgeStatus",
    cel,
    derive = "PartialEq",
    printcolumn(name = "App", type_ = "string", json_path = ".spec.appRef.name"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".status.kind"),
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Degraded", type_ = "string", json_path = r#".status.conditions[?(@.type=="Degraded")].status"#),
    printcolumn(name = "Topic", type_ = "string", json_path = ".status.kafka.topic", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 40 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS label of at most 40 lowercase letters, digits and '-' (the objects made for it are named after it)")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("self.appRef.name == oldSelf.appRef.name", ".appRef.name", "appRef cannot change: a data bridge streams one app's data; create a new BigPeerDataBridge for another app"),
    validation = Rule::new("has(self.kafka) != has(self.mongodb)").message("set exactly one of kafka or mongodb"),
    validation = Rule::new("has(self.kafka) == has(oldSelf.kafka)").message("a data bridge cannot change between kafka and mongodb: create a new BigPeerDataBridge"),
)]
pub struct BigPeerDataBridgeSpec {
    /// The BigPeerApp, in this namespace, whose changes are streamed. Cannot change. The bridge
    /// may be created before its app: it is not ready until the app exists.
    pub app_ref: AppRef,
    /// A name for people, such as `Completed orders`: at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub display_name: Option<String>,
    /// What the bridge is for: at most 1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Change data capture to a Kafka topic: the app's changes, as they happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaBridge>,
    /// A connector that keeps collections of a MongoDB database and the app in sync, both ways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongodb: Option<MongoBridge>,
}

/// A change data capture stream to a Kafka topic, on the BigPeer's transaction log Kafka.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::forbidden_at("!has(oldSelf.topicPartitions) || self.topicPartitions >= oldSelf.topicPartitions", ".topicPartitions", "kafka.topicPartitions cannot decrease: Kafka cannot take partitions away from a topic"))]
pub struct KafkaBridge {
    /// Which changes to stream, at most 64 sources, each a collection and a DQL query over
    /// it. Empty: every change to every document of the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64))]
    pub source: Vec<FilteredSource>,
    /// What each event carries: `untyped` (default: documents as JSON values), `typed` (values
    /// with their CRDT types) or `heartbeat` (only periodic heartbeats, to test a consumer).
    #[serde(default)]
    pub stream_type: StreamType,
    /// Partitions of the topic, 1 to 1000 (12 when left out). It may grow, never shrink.
    #[serde(default = "KafkaBridge::default_partitions")]
    #[schemars(
        default = "KafkaBridge::default_partitions",
        range(min = 1, max = 1000)
    )]
    pub topic_partitions: i32,
    /// Who consumes the topic. Left out: consumers inside the cluster, on the transaction log's
    /// listener.
    #[serde(default)]
    pub consumers: KafkaConsumers,
    /// More ACLs for the consumer's KafkaUser (Strimzi), at most 16, such as reading another
    /// topic of yours. The topic and the consumer groups of the bridge are always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16))]
    pub extra_acls: Vec<KafkaAcl>,
    /// With a Kafka not managed by Strimzi (the BigPeer's `transactionLog.external`): the topic
    /// you created and the credentials consumers use. Required then; not allowed with Strimzi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalKafkaBridge>,
}

impl KafkaBridge {
    /// Partitions of a bridge topic when `topicPartitions` is left out.
    pub const DEFAULT_PARTITIONS: i32 = 12;

    fn default_partitions() -> i32 {
        Self::DEFAULT_PARTITIONS
    }
}

/// A collection and the DQL query selecting the documents whose changes are streamed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilteredSource {
    /// The collection, such as `orders`.
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$')").message("source[].collection must be a collection name of 1 to 128 letters, digits, '_', '-' or '.'"))]
    #[schemars(length(min = 1, max = 128))]
    pub collection: String,
    /// A DQL condition over the collection's documents, such as `status = 'completed'`; `true`
    /// streams every document of the collection.
    #[schemars(length(min = 1, max = 4096))]
    pub query: String,
}

/// What the events of a Kafka bridge carry.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StreamType {
    /// Documents as plain JSON values.
    #[default]
    Untyped,
    /// Values with their CRDT types (registers, counters, maps).
    Typed,
    /// Only heartbeats, to check that a consumer is wired up.
    Heartbeat,
}

impl StreamType {
    /// The spelling in the Big Peer's configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Untyped => "untyped",
            StreamType::Typed => "typed",
            StreamType::Heartbeat => "heartbeat",
        }
    }
}

/// Where a Kafka bridge's consumers run.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::required_at("!self.outsideCluster || has(self.listener)", ".listener", "consumers.listener is required with consumers.outsideCluster: name the Kafka's external listener (type loadbalancer, nodeport, route or ingress, with TLS client authentication)"))]
pub struct KafkaConsumers {
    /// Whether consumers connect from outside the cluster (false when left out). Only then is
    /// an external listener used; the operator never adds one to your Kafka, it reports the
    /// listener's address (or that it is missing).
    #[serde(default)]
    pub outside_cluster: bool,
    /// The Strimzi listener consumers connect to, with TLS client authentication: the
    /// transaction log's listener when left out (inside the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]{1,11}$')").message("consumers.listener must be a Strimzi listener name: 1 to 11 lowercase letters and digits, such as external"))]
    #[schemars(length(min = 1, max = 11))]
    pub listener: Option<String>,
}

/// One ACL rule of a Strimzi KafkaUser (its `spec.authorization.acls[]`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaAcl {
    /// What the rule is about.
    pub resource: KafkaAclResource,
    /// What may be done, 1 to 12 of Read, Write, Create, Delete, Alter, Describe, ClusterAction,
    /// AlterConfigs, DescribeConfigs, IdempotentWrite and All.
    #[x_kube(validation = Rule::new("self.all(o, o in ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'AlterConfigs', 'DescribeConfigs', 'IdempotentWrite', 'All'])").message("extraAcls[].operations must be Kafka operations: Read, Write, Create, Delete, Alter, Describe, ClusterAction, AlterConfigs, DescribeConfigs, IdempotentWrite or All"))]
    #[schemars(extend("maxItems" = 12, "minItems" = 1, "x-kubernetes-list-type" = "set"))]
    #[schemars(inner(length(min = 1, max = 20)))]
    pub operations: Vec<String>,
    /// The host the rule applies to (`*`, every host, when left out).
    #[serde(default = "KafkaAcl::any_host")]
    #[schemars(default = "KafkaAcl::any_host", length(min = 1, max = 253))]
    pub host: String,
}

impl KafkaAcl {
    fn any_host() -> String {
        "*".into()
    }
}

/// The resource of an ACL rule.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::required_at("self.type == 'cluster' || has(self.name)", ".name", "extraAcls[].resource.name is required for topic, group and transactionalId resources"))]
pub struct KafkaAclResource {
    /// `topic`, `group`, `cluster` or `transactionalId`.
    #[serde(rename = "type")]
    #[x_kube(validation = Rule::new("self in ['topic', 'group', 'cluster', 'transactionalId']").message("extraAcls[].resource.type must be topic, group, cluster or transactionalId"))]
    #[schemars(length(min = 1, max = 15))]
    pub type_: String,
    /// Name (or prefix) of the topic, group or transactional ID; `*` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 249))]
    pub name: Option<String>,
    /// `literal` (default) or `prefix`.
    #[serde(default = "KafkaAclResource::literal")]
    #[x_kube(validation = Rule::new("self in ['literal', 'prefix']").message("extraAcls[].resource.patternType must be literal or prefix"))]
    #[schemars(default = "KafkaAclResource::literal", length(min = 1, max = 7))]
    pub pattern_type: String,
}

impl KafkaAclResource {
    fn literal() -> String {
        "literal".into()
    }
}

/// The topic and credentials of a bridge on a Kafka not managed by Strimzi. The operator checks
/// that the Secrets exist; it cannot create the topic or the user.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalKafkaBridge {
    /// The topic you created for the bridge, with `topicPartitions` partitions.
    #[x_kube(validation = Rule::new("self.matches('^[a-zA-Z0-9._-]+$') && self != '.' && self != '..'").message("kafka.external.topic may use only letters, digits, '.', '_' and '-' (and is not '.' or '..')"))]
    #[schemars(length(min = 1, max = 249))]
    pub topic: String,
    /// The Secret, in this namespace, with the consumer's credentials (a client certificate
    /// `user.p12` with `user.password`, or `tls.crt` and `tls.key`): what consumers mount.
    pub user_secret_ref: LocalObjectReference,
    /// The Secret, in this namespace, with the CA that signs the brokers' certificates
    /// (`ca.crt`); the transaction log's CA when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ca_secret_ref: Option<LocalObjectReference>,
}

/// A MongoDB connector: the operator runs it as its own Deployment (one pod), with its own
/// NetworkPolicy.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MongoBridge {
    /// The key of a Secret, in this namespace, holding the MongoDB connection string
    /// (`mongodb://` or `mongodb+srv://`). It is never copied or logged.
    pub connection_string_secret_ref: ConnectionStringRef,
    /// The MongoDB database to sync with: 1 to 63 characters, none of `/\. "$`.
    #[x_kube(validation = Rule::new(r#"self.matches('^[^/\\\\. "$]{1,63}$')"#).message(r#"mongodb.database must be 1 to 63 characters without '/', '\', '.', ' ', '"' or '$'"#))]
    #[schemars(length(min = 1, max = 63))]
    pub database: String,
    /// The collections to sync, 1 to 64, by name (the same name in MongoDB and in the app).
    #[x_kube(validation = Rule::new("self.all(k, k.matches('^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$') && !k.startsWith('system.'))").message("mongodb.collections keys must be collection names of 1 to 128 letters, digits, '_', '-' or '.', not starting with system."))]
    #[schemars(extend("maxProperties" = 64, "minProperties" = 1))]
    pub collections: BTreeMap<String, MongoCollection>,
    /// How long the connector may go without progress (its heartbeat not advancing) before
    /// the bridge is reported Degraded: at least 30s, `5m` when left out, written with h, m
    /// and s such as `2m30s`.
    #[serde(default = "MongoBridge::default_stall_after")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$') && self != '' && duration(self) >= duration('30s')").message("mongodb.stallAfter must be a duration of at least 30s written with h, m and s, such as 5m"))]
    #[schemars(
        default = "MongoBridge::default_stall_after",
        length(min = 2, max = 24)
    )]
    pub stall_after: String,
    /// CPU and memory of the connector (requests 100m and 256Mi, memory limit 512Mi when left
    /// out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = super::cel::container_resources)]
    pub resources: Option<ResourceRequirements>,
}

impl MongoBridge {
    /// `stallAfter` when left out.
    pub const DEFAULT_STALL_AFTER: &str = "5m";

    fn default_stall_after() -> String {
        Self::DEFAULT_STALL_AFTER.into()
    }
}

/// The key of a Secret holding a connection string.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStringRef {
    /// Name of the Secret, in this namespace.
    #[x_kube(validation = Rule::new(super::cel::DNS_SUBDOMAIN_RULE).message("connectionStringSecretRef.name must be a Secret name: lowercase letters, digits, '-' and '.'"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key holding the connection string (`connectionString` when left out).
    #[serde(default = "ConnectionStringRef::default_key")]
    #[x_kube(validation = Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("connectionStringSecretRef.key must be letters, digits, '-', '_' or '.'"))]
    #[schemars(
        default = "ConnectionStringRef::default_key",
        length(min = 1, max = 253)
    )]
    pub key: String,
}

impl ConnectionStringRef {
    fn default_key() -> String {
        "connectionString".into()
    }
}

/// How one collection is synced with MongoDB.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MongoCollection {
    /// The MongoDB fields that make a Ditto document ID, 1 to 8, such as `["_id"]` (MongoDB's
    /// ID as the document ID) or `["storeId", "orderId"]`.
    #[schemars(extend("minItems" = 1, "maxItems" = 8, "x-kubernetes-list-type" = "set"))]
    #[schemars(inner(length(min = 1, max = 256)))]
    pub fields: Vec<String>,
    /// Copy the collection's existing documents when the connector starts (false when left
    /// out: only changes from then on).
    #[serde(default)]
    pub initial_sync: bool,
    /// How BSON values are converted: `native` (default: compact, some BSON types become plain
    /// values) or `ejson` (every BSON type kept, as MongoDB Extended JSON).
    #[serde(default)]
    pub mode: MongoMode,
    /// Field paths that are settable counters in Ditto (CRDT counters), at most 64, such as
    /// `inventory.count`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "set"))]
    #[schemars(inner(length(min = 1, max = 256)))]
    pub settable_counters: Vec<String>,
    /// Run the collection's DQL in strict mode (false when left out): documents must match
    /// the collection's declared types.
    #[serde(default)]
    pub dql_strict_mode: bool,
}

/// How a MongoDB collection's BSON values are converted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MongoMode {
    /// Compact CBOR storage; some BSON types become plain values.
    #[default]
    Native,
    /// Every BSON type kept, as MongoDB Extended JSON.
    Ejson,
}

impl MongoMode {
    /// The connector's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MongoMode::Native => "native",
            MongoMode::Ejson => "ejson",
        }
    }
}

/// What the operator observed of a data bridge.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerDataBridgeStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Kafka` or `MongoDB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The app ID whose changes are streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// What a Kafka consumer needs to read the bridge's topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaConsumerInfo>,
    /// The MongoDB connector's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongodb: Option<MongoConnectorStatus>,
    /// `Ready` (streaming) and `Degraded` (needs attention), with actionable reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// What a consumer of a Kafka bridge needs.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConsumerInfo {
    /// The topic to read.
    pub topic: String,
    /// Consumer group IDs must start with this prefix (the ACLs allow only those groups).
    pub consumer_group_prefix: String,
    /// Bootstrap servers, `host:port` separated by commas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<String>,
    /// The Secret with the CA that signs the brokers' certificates (`ca.crt`, and `ca.p12`
    /// with `ca.password` under Strimzi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ca_secret_name: Option<String>,
    /// The Secret with the consumer's client certificate (`user.crt`, `user.key`, and
    /// `user.p12` with `user.password` under Strimzi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_secret_name: Option<String>,
}

/// The MongoDB connector's progress, from its own health signal.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MongoConnectorStatus {
    /// The connector's Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// When the connector last reported progress (its heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_progress_time: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
}
