//! The management API's request and response bodies, as Ditto's Operator Management API
//! document names and shapes them (`App`, `ApiKey`, `ProviderConfig`, `Permission`,
//! `PermissionRules`, `BigPeerReplication`, `UpdateBigPeerReplicationRequest`, `DataBridge`,
//! `ListResponse_*`, `Error`). Pure data: what they mean for the custom resources is
//! [`super::convert`]'s. Where a custom resource has more than Ditto's body carries, the body
//! has it too under the resource's own field name (this API's additions, written only when set),
//! so that nothing set with kubectl is lost through the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An app (`App`): its name, app ID and own auth providers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// DNS label: the `BigPeerApp`'s name.
    pub name: String,
    /// UUID; made by the API when a create leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Auth providers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_providers: BTreeMap<String, ProviderConfig>,
}

/// `UpdateAppRequest` as PUT reads it: the app's providers, all of them.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceProviders {
    /// Every provider the app keeps.
    pub auth_providers: BTreeMap<String, ProviderConfig>,
}

/// `UpdateAppRequest` as PATCH reads it: providers to add or replace by name, and `null` for
/// those to remove.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MergeProviders {
    /// Providers by name; `None` (JSON `null`) removes one.
    pub auth_providers: BTreeMap<String, Option<ProviderConfig>>,
}

/// `AddProviderRequest`.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct AddProvider {
    /// Provider name.
    pub name: String,
    /// Its configuration.
    pub config: ProviderConfig,
}

/// `ProviderConfig`: internally tagged by `type` (`webhookUrl` or `anonymous`). Ditto's
/// document gives the `oneOf` no discriminator and requires nothing of a token webhook, so a
/// body without `type` is read as a token webhook; `type` is always written.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", try_from = "RawProvider")]
pub enum ProviderConfig {
    /// `TokenWebhook`: a webhook validates each device's token.
    #[serde(rename = "webhookUrl", rename_all = "camelCase")]
    TokenWebhook {
        /// The webhook's URL (HTTPS here).
        webhook_url: String,
    },
    /// `Anonymous`: devices log in with a shared token and get a fixed permission.
    #[serde(rename = "anonymous", rename_all = "camelCase")]
    Anonymous {
        /// What such a device may read and write.
        permission: Permission,
        /// Session length in seconds, 1 to 4294967295.
        session_length: i64,
        /// The shared token ("" in answers to callers who may not read its Secret; "" in a
        /// request keeps the provider's current token).
        shared_token: String,
    },
}

/// A provider as sent, before its `type` is known.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProvider {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    permission: Option<Permission>,
    #[serde(default)]
    session_length: Option<i64>,
    #[serde(default)]
    shared_token: Option<String>,
}

impl TryFrom<RawProvider> for ProviderConfig {
    type Error = String;

    fn try_from(r: RawProvider) -> Result<Self, String> {
        match r.kind.as_deref() {
            None | Some("webhookUrl") => {
                let webhook_url = r.webhook_url.ok_or(
                    "a token webhook provider (type webhookUrl) needs webhookUrl".to_string(),
                )?;
                Ok(ProviderConfig::TokenWebhook { webhook_url })
            }
            Some("anonymous") => {
                let missing = |f: &str| format!("an anonymous provider needs {f}");
                Ok(ProviderConfig::Anonymous {
                    permission: r.permission.ok_or_else(|| missing("permission"))?,
                    session_length: r.session_length.ok_or_else(|| missing("sessionLength"))?,
                    shared_token: r.shared_token.ok_or_else(|| missing("sharedToken"))?,
                })
            }
            Some(other) => Err(format!(
                "unknown provider type {other:?}: use webhookUrl or anonymous"
            )),
        }
    }
}

/// `Permission`: what a key or an anonymous device may read and write.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// What may be read.
    pub read: PermissionRules,
    /// What may be written.
    pub write: PermissionRules,
    /// Whether remote queries are allowed (needs `read.everything`).
    #[serde(default)]
    pub remote_query: bool,
    /// Query language of the queries: 0 legacy, 1 DQL. Written only when 1, as Ditto's
    /// example leaves the default out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ql_version: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `PermissionRules`: everything, or per collection the queries whose documents are allowed.
/// Both fields are always written, as Ditto's example does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRules {
    /// Every document.
    #[serde(default)]
    pub everything: bool,
    /// Collection name to queries.
    #[serde(default)]
    pub queries_by_collection: BTreeMap<String, Vec<String>>,
}

/// `ApiKey`: a key's name, expiry, permissions and description. `rotation` is this API's
/// addition (Ditto's keys never rotate); written only when set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// DNS label of at most 53 characters: the `BigPeerApiKey`'s name.
    pub name: String,
    /// RFC 3339 time the key stops working.
    pub expires_at: String,
    /// What the key may read and write.
    pub permissions: Permission,
    /// What the key is for; `null` when none.
    #[serde(default)]
    pub description: Option<String>,
    /// Scheduled rotation (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
}

/// Scheduled rotation of a key, as the `BigPeerApiKey` takes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// How often a new key replaces the current one, such as `720h`.
    pub every: String,
    /// How long the previous key keeps working, such as `24h` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
}

/// `ListResponseMeta`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The page (1-based) answered.
    pub page: u32,
    /// Items on this page.
    pub size: u32,
    /// Pages in all at the asked page size; 0 for an empty list.
    pub total_pages: u32,
}

/// `ListResponse_App`, `ListResponse_ApiKey`, `ListResponse_DataBridgeObject` and the list of
/// replications.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ListResponse<T> {
    /// Paging.
    pub meta: ListMeta,
    /// The page's items, ordered by name.
    pub data: Vec<T>,
}

/// `Error`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// A field of a PATCH body: absent (`None`), `null` (`Some(None)`: cleared) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `BigPeerReplication`: a replication's name, connections and queries, this API's additions
/// (`acceptFrom`, `trustedCas`, `expose`) and, in answers, the resource's `status` (its
/// endpoint and CA for the other side).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Replication {
    /// DNS label of at most 40 characters: the `BigPeerReplication`'s name.
    pub name: String,
    /// `host:port` replication endpoints of the other Big Peers; `null` or empty: only accept.
    #[serde(default)]
    pub connections: Option<Vec<String>>,
    /// Collection to DQL queries this side subscribes to; `null` or empty: nothing flows in.
    #[serde(default)]
    pub queries_by_collection: Option<BTreeMap<String, Vec<String>>>,
    /// Who may connect (this API's addition: `spec.acceptFrom`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_from: Vec<crate::api::ReplicationPeer>,
    /// The other sides' CAs to trust (this API's addition: `spec.trustedCas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_cas: Vec<crate::api::TrustedCa>,
    /// Exposure outside the cluster (this API's addition: `spec.expose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<crate::api::ReplicationExpose>,
    /// What the operator observed (answers only; ignored in requests).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::api::BigPeerReplicationStatus>,
}

/// `UpdateBigPeerReplicationRequest`, as PUT and PATCH read it: each field absent, `null` or
/// a value. PUT sets `connections` and `queriesByCollection` (absent or `null`: empty) and
/// the additions it carries; PATCH sets the fields it carries (`null` clears one).
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReplication {
    /// Connections.
    #[serde(default, deserialize_with = "present")]
    pub connections: Option<Option<Vec<String>>>,
    /// Queries by collection.
    #[serde(default, deserialize_with = "present")]
    pub queries_by_collection: Option<Option<BTreeMap<String, Vec<String>>>>,
    /// `spec.acceptFrom`.
    #[serde(default, deserialize_with = "present")]
    pub accept_from: Option<Option<Vec<crate::api::ReplicationPeer>>>,
    /// `spec.trustedCas`.
    #[serde(default, deserialize_with = "present")]
    pub trusted_cas: Option<Option<Vec<crate::api::TrustedCa>>>,
    /// `spec.expose`.
    #[serde(default, deserialize_with = "present")]
    pub expose: Option<Option<crate::api::ReplicationExpose>>,
}

/// `DataBridgeRequest` and `DataBridgeObject` (Ditto's `DataBridge`): a bridge's name,
/// display name, description, kind, and, in answers, its status.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataBridge {
    /// DNS label of at most 40 characters: the `BigPeerDataBridge`'s name.
    pub name: String,
    /// A name for people.
    #[serde(default)]
    pub display_name: Option<String>,
    /// What the bridge is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `{"kafka": ...}` or `{"mongoConnector": ...}`.
    pub bridge: BridgeKind,
    /// What the operator observed (answers only; ignored in requests).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub status: Option<DataBridgeStatus>,
}

/// `DataBridgeKind`: exactly one of `kafka` or `mongoConnector` (checked by
/// [`super::convert`], which also answers `webhook` with `WebhookNotSupported`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BridgeKind {
    /// Change data capture to a Kafka topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaBridge>,
    /// A MongoDB connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongo_connector: Option<MongoConnector>,
    /// A webhook destination: not supported (400 `WebhookNotSupported`).
    #[serde(default, skip_serializing)]
    pub webhook: Option<serde_json::Value>,
}

/// Ditto's `Kafka` bridge, with this API's additions `consumers` and `external` (the
/// resource's `spec.kafka` fields of the same names).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBridge {
    /// Collections and DQL queries to stream; empty: every change.
    #[serde(default)]
    pub source: Vec<crate::api::FilteredSource>,
    /// `heartbeat`, `typed` or `untyped` (default).
    #[serde(default)]
    pub stream_type: crate::api::StreamType,
    /// Partitions, 1 to 1000 (12 when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_partitions: Option<i32>,
    /// More ACLs for the consumer's KafkaUser (Strimzi's ACL schema).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_acls: Vec<crate::api::KafkaAcl>,
    /// Where consumers run (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<crate::api::KafkaConsumers>,
    /// Topic and credentials on a Kafka not managed by Strimzi (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<crate::api::ExternalKafkaBridge>,
}

/// Ditto's `MongoConnector`, with this API's additions `stallAfter` and `resources`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MongoConnector {
    /// Where the connection string is.
    pub connection_secret: ConnectionSecret,
    /// The MongoDB database.
    pub database: String,
    /// Collections to sync, by name.
    pub collections: BTreeMap<String, MongoCollection>,
    /// How long without progress before Degraded (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_after: Option<String>,
    /// The connector's CPU and memory (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
}

/// `MongoConnectionSecretReference`: `kubernetesSecret` (supported) or `awsSecretsManager`
/// (400: not supported by this operator).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSecret {
    /// A Secret of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_secret: Option<KubernetesSecret>,
    /// AWS Secrets Manager: refused.
    #[serde(default, skip_serializing)]
    pub aws_secrets_manager: Option<serde_json::Value>,
}

/// `KubernetesSecret`: the Secret and its key holding the connection string.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSecret {
    /// The Secret's name.
    pub name: String,
    /// The key (`connectionString` when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
}

/// `MongoCollection`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MongoCollection {
    /// MongoDB fields making the Ditto document ID.
    pub fields: Vec<String>,
    /// Copy existing documents at start.
    #[serde(default)]
    pub initial_sync: bool,
    /// `native` or `ejson`.
    #[serde(default)]
    pub mode: crate::api::MongoMode,
    /// CRDT types of field paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ditto_types: Option<DittoTypes>,
    /// DQL strict mode.
    #[serde(default)]
    pub dql_strict_mode: bool,
}

/// `dittoTypes`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DittoTypes {
    /// Field paths that are settable counters.
    #[serde(default)]
    pub settable_counters: Vec<String>,
}

/// `BigPeerDataBridgeStatus`: conditions and, for a Kafka bridge whose connection details are
/// known, `kafka`; this API's additions `kind`, `appId` and `mongodb`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataBridgeStatus {
    /// `Ready` and `Degraded`.
    pub conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    /// What a consumer needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaConsumerInfo>,
    /// `Kafka` or `MongoDB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The app ID streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The MongoDB connector's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mongodb: Option<crate::api::MongoConnectorStatus>,
}

/// `KafkaConsumerInfo`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConsumerInfo {
    /// The topic.
    pub topic: String,
    /// Consumer group IDs start with it.
    pub consumer_group_prefix: String,
    /// Bootstrap servers, comma-separated.
    pub endpoint: String,
    /// The Secrets of the cluster CA and the consumer's certificate.
    pub certificate_secret_ref: KafkaCertificates,
}

/// `KafkaCertificateSecretReference`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct KafkaCertificates {
    /// The cluster CA.
    pub cluster: P12Secret,
    /// The consumer's certificate.
    pub user: P12Secret,
}

/// `P12SecretReference`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct P12Secret {
    /// Secret name.
    pub name: String,
    /// Key of the PKCS #12 file.
    pub certificate: String,
    /// Key of its password.
    pub password: String,
    /// Key of a private key (PEM), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn update_bodies_tell_absent_from_null() {
        let u: UpdateReplication =
            serde_json::from_value(json!({"connections": null, "trustedCas": []})).unwrap();
        assert_eq!(u.connections, Some(None));
        assert_eq!(u.queries_by_collection, None);
        assert_eq!(u.trusted_cas, Some(Some(vec![])));
        assert_eq!(u.expose, None);
    }

    #[test]
    fn status_is_never_read_from_a_request() {
        let r: Replication = serde_json::from_value(
            json!({"name": "a", "status": {"appId": "x"}, "connections": null}),
        )
        .unwrap();
        assert_eq!(r.status, None);
        assert_eq!(r.connections, None);
        let b: DataBridge = serde_json::from_value(
            json!({"name": "b", "bridge": {"kafka": {}}, "status": {"conditions": []}}),
        )
        .unwrap();
        assert_eq!(b.status, None);
        assert_eq!(b.bridge.kafka, Some(KafkaBridge::default()));
    }

    #[test]
    fn providers_read_by_type_and_default_to_a_token_webhook() {
        let hook: ProviderConfig = serde_json::from_value(
            json!({"type": "webhookUrl", "webhookUrl": "https://a.example/x"}),
        )
        .unwrap();
        assert_eq!(
            hook,
            ProviderConfig::TokenWebhook {
                webhook_url: "https://a.example/x".into()
            }
        );
        let untyped: ProviderConfig =
            serde_json::from_value(json!({"webhookUrl": "https://a.example/x"})).unwrap();
        assert_eq!(untyped, hook);
        assert_eq!(
            serde_json::to_value(&hook).unwrap(),
            json!({"type": "webhookUrl", "webhookUrl": "https://a.example/x"})
        );
        let anon: ProviderConfig = serde_json::from_value(json!({
            "type": "anonymous", "sessionLength": 600, "sharedToken": "t",
            "permission": {"read": {"everything": true}, "write": {}}
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&anon).unwrap(),
            json!({"type": "anonymous", "sessionLength": 600, "sharedToken": "t",
                   "permission": {"read": {"everything": true, "queriesByCollection": {}},
                                  "write": {"everything": false, "queriesByCollection": {}},
                                  "remoteQuery": false}})
        );
    }

    #[test]
    fn incomplete_or_unknown_providers_are_refused_with_the_missing_field() {
        let err = |v| {
            serde_json::from_value::<ProviderConfig>(v)
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({})).contains("needs webhookUrl"));
        assert!(
            err(json!({"type": "anonymous", "sessionLength": 1, "sharedToken": "t"}))
                .contains("needs permission")
        );
        assert!(err(json!({"type": "jwt"})).contains("unknown provider type"));
    }

    #[test]
    fn a_key_without_description_writes_null() {
        let k = ApiKey {
            name: "k".into(),
            expires_at: "2100-04-13T12:00:00Z".into(),
            permissions: Permission::default(),
            description: None,
            rotation: None,
        };
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v["description"], serde_json::Value::Null);
        assert!(v.get("rotation").is_none());
    }

    #[test]
    fn patch_bodies_read_null_as_removal() {
        let m: MergeProviders = serde_json::from_value(
            json!({"authProviders": {"a": null, "b": {"webhookUrl": "https://b.example"}}}),
        )
        .unwrap();
        assert_eq!(m.auth_providers["a"], None);
        assert!(m.auth_providers["b"].is_some());
        assert!(
            serde_json::from_value::<ReplaceProviders>(json!({"authProviders": {"a": null}}))
                .is_err()
        );
    }
}
