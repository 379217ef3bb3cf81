//! Ditto's `DataBridge` body and the `BigPeerDataBridge` resource, both ways: `bridge.kafka`
//! is `spec.kafka` (with this API's additions `consumers` and `external`),
//! `bridge.mongoConnector` is `spec.mongodb` (`connectionSecret.kubernetesSecret {name,
//! connectionString}` is `connectionStringSecretRef {name, key}`, `dittoTypes.settableCounters`
//! is `settableCounters`; AWS Secrets Manager is not supported), and the status is Ditto's
//! (`status.kafka` with the bootstrap servers as `endpoint` and the PKCS #12 files of the
//! cluster CA and user Secrets Strimzi makes).

use super::{app_object_meta, is_collection_name};
use crate::api::{
    self, AppRef, BigPeerDataBridge, BigPeerDataBridgeSpec, ConnectionStringRef, MongoBridge,
};
use crate::mgmt::error::ApiError;
use crate::mgmt::model::{
    BridgeKind, ConnectionSecret, DataBridge, DataBridgeStatus, DittoTypes, KafkaBridge,
    KafkaCertificates, KafkaConsumerInfo, KubernetesSecret, MongoCollection, MongoConnector,
    P12Secret,
};

use super::replication::check_link_name;

/// Key of the PKCS #12 file in Strimzi's cluster CA Secret.
pub const CLUSTER_P12: &str = "ca.p12";
/// Key of its password.
pub const CLUSTER_PASSWORD: &str = "ca.password";
/// Key of the PKCS #12 file in a Strimzi KafkaUser's Secret.
pub const USER_P12: &str = "user.p12";
/// Key of its password.
pub const USER_PASSWORD: &str = "user.password";

fn invalid(message: String) -> ApiError {
    ApiError::bad_request(format!("Invalid: {message}"))
}

fn kafka_to_cr(k: &KafkaBridge) -> Result<api::KafkaBridge, ApiError> {
    let partitions = k
        .topic_partitions
        .unwrap_or(api::KafkaBridge::DEFAULT_PARTITIONS);
    if !(1..=1000).contains(&partitions) {
        return Err(invalid(format!(
            "bridge.kafka.topicPartitions must be 1 to 1000, not {partitions}"
        )));
    }
    if k.source.len() > 64 {
        return Err(invalid(
            "bridge.kafka.source has more than 64 sources".into(),
        ));
    }
    for (i, s) in k.source.iter().enumerate() {
        if !is_collection_name(&s.collection) {
            return Err(invalid(format!(
                "bridge.kafka.source[{i}].collection {:?} is not a collection name (1 to 128 letters, digits, '_', '-' or '.')",
                s.collection
            )));
        }
        if s.query.is_empty() || s.query.len() > 4096 {
            return Err(invalid(format!(
                "bridge.kafka.source[{i}].query must be 1 to 4096 characters (true streams every document)"
            )));
        }
    }
    if k.extra_acls.len() > 16 {
        return Err(invalid(
            "bridge.kafka.extraAcls has more than 16 rules".into(),
        ));
    }
    Ok(api::KafkaBridge {
        source: k.source.clone(),
        stream_type: k.stream_type,
        topic_partitions: partitions,
        consumers: k.consumers.clone().unwrap_or_default(),
        extra_acls: k.extra_acls.clone(),
        external: k.external.clone(),
    })
}

fn kafka_to_api(k: &api::KafkaBridge) -> KafkaBridge {
    KafkaBridge {
        source: k.source.clone(),
        stream_type: k.stream_type,
        topic_partitions: Some(k.topic_partitions),
        extra_acls: k.extra_acls.clone(),
        consumers: (k.consumers != api::KafkaConsumers::default()).then(|| k.consumers.clone()),
        external: k.external.clone(),
    }
}

fn mongo_to_cr(m: &MongoConnector) -> Result<MongoBridge, ApiError> {
    let what = "bridge.mongoConnector";
    if m.connection_secret.aws_secrets_manager.is_some() {
        return Err(invalid(format!(
            "{what}.connectionSecret.awsSecretsManager is not supported by this operator: put the connection string in a Secret of the namespace and use connectionSecret.kubernetesSecret {{name, connectionString}}"
        )));
    }
    let secret = m.connection_secret.kubernetes_secret.as_ref().ok_or_else(|| {
        invalid(format!(
            "{what}.connectionSecret needs kubernetesSecret {{name, connectionString}}: the Secret of the namespace holding the connection string"
        ))
    })?;
    let key = secret
        .connection_string
        .clone()
        .unwrap_or_else(|| "connectionString".into());
    let subdomain = |s: &str| {
        !s.is_empty() && s.len() <= 253 && s.split('.').all(|l| super::is_dns_label(l, 63))
    };
    if !subdomain(&secret.name) {
        return Err(invalid(format!(
            "{what}.connectionSecret.kubernetesSecret.name {:?} must be a Secret name: lowercase letters, digits, '-' and '.'",
            secret.name
        )));
    }
    if key.is_empty()
        || key.len() > 253
        || !key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Err(invalid(format!(
            "{what}.connectionSecret.kubernetesSecret.connectionString {key:?} must be a Secret key: letters, digits, '-', '_' or '.'"
        )));
    }
    if m.database.is_empty()
        || m.database.len() > 63
        || m.database.contains(['/', '\\', '.', ' ', '"', '$'])
    {
        return Err(invalid(format!(
            "{what}.database {:?} must be 1 to 63 characters without '/', '\\', '.', ' ', '\"' or '$'",
            m.database
        )));
    }
    if m.collections.is_empty() || m.collections.len() > 64 {
        return Err(invalid(format!(
            "{what}.collections must name 1 to 64 collections"
        )));
    }
    let mut collections = std::collections::BTreeMap::new();
    for (name, c) in &m.collections {
        if !is_collection_name(name) || name.starts_with("system.") {
            return Err(invalid(format!(
                "{what}.collections: {name:?} is not a collection name (1 to 128 letters, digits, '_', '-' or '.', not starting with system.)"
            )));
        }
        if c.fields.is_empty() || c.fields.len() > 8 {
            return Err(invalid(format!(
                "{what}.collections.{name}.fields must list 1 to 8 fields, such as [\"_id\"]"
            )));
        }
        collections.insert(
            name.clone(),
            api::MongoCollection {
                fields: c.fields.clone(),
                initial_sync: c.initial_sync,
                mode: c.mode,
                settable_counters: c
                    .ditto_types
                    .as_ref()
                    .map(|t| t.settable_counters.clone())
                    .unwrap_or_default(),
                dql_strict_mode: c.dql_strict_mode,
            },
        );
    }
    Ok(MongoBridge {
        connection_string_secret_ref: ConnectionStringRef {
            name: secret.name.clone(),
            key,
        },
        database: m.database.clone(),
        collections,
        stall_after: m
            .stall_after
            .clone()
            .unwrap_or_else(|| MongoBridge::DEFAULT_STALL_AFTER.into()),
        resources: m.resources.clone(),
    })
}

fn mongo_to_api(m: &MongoBridge) -> MongoConnector {
    MongoConnector {
        connection_secret: ConnectionSecret {
            kubernetes_secret: Some(KubernetesSecret {
                name: m.connection_string_secret_ref.name.clone(),
                connection_string: Some(m.connection_string_secret_ref.key.clone()),
            }),
            aws_secrets_manager: None,
        },
        database: m.database.clone(),
        collections: m
            .collections
            .iter()
            .map(|(name, c)| {
                (
                    name.clone(),
                    MongoCollection {
                        fields: c.fields.clone(),
                        initial_sync: c.initial_sync,
                        mode: c.mode,
                        ditto_types: (!c.settable_counters.is_empty()).then(|| DittoTypes {
                            settable_counters: c.settable_counters.clone(),
                        }),
                        dql_strict_mode: c.dql_strict_mode,
                    },
                )
            })
            .collect(),
        stall_after: Some(m.stall_after.clone()),
        resources: m.resources.clone(),
    }
}

/// The `BigPeerDataBridge` a createDataBridge body asks for, for app `app` of BigPeer
/// `big_peer` in `ns`: 400 `WebhookNotSupported` for a webhook destination, 400 for AWS
/// Secrets Manager, for both kinds or none, and for values the CRD refuses.
pub fn new_bridge(
    ns: &str,
    big_peer: &str,
    app: &str,
    body: &DataBridge,
) -> Result<BigPeerDataBridge, ApiError> {
    check_link_name("data bridge", &body.name)?;
    let BridgeKind {
        kafka,
        mongo_connector,
        webhook,
    } = &body.bridge;
    if webhook.is_some() {
        return Err(ApiError::bad_request(
            "WebhookNotSupported: webhook destinations are not supported: use bridge.kafka or bridge.mongoConnector",
        ));
    }
    if kafka.is_some() == mongo_connector.is_some() {
        return Err(invalid(
            "bridge must set exactly one of kafka or mongoConnector".into(),
        ));
    }
    if body.display_name.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(invalid("displayName is longer than 256 characters".into()));
    }
    if body.description.as_ref().is_some_and(|d| d.len() > 1024) {
        return Err(invalid("description is longer than 1024 characters".into()));
    }
    let spec = BigPeerDataBridgeSpec {
        app_ref: AppRef { name: app.into() },
        display_name: body.display_name.clone(),
        description: body.description.clone(),
        kafka: kafka.as_ref().map(kafka_to_cr).transpose()?,
        mongodb: mongo_connector.as_ref().map(mongo_to_cr).transpose()?,
    };
    Ok(BigPeerDataBridge {
        metadata: app_object_meta(&body.name, ns, big_peer, app),
        spec,
        status: None,
    })
}

/// Ditto's status of a bridge: its conditions, and `kafka` once the operator knows the
/// topic, the bootstrap servers and both Secrets (Ditto's document requires all of them).
pub fn bridge_status_to_api(s: &api::BigPeerDataBridgeStatus) -> DataBridgeStatus {
    let kafka = s.kafka.as_ref().and_then(|k| {
        Some(KafkaConsumerInfo {
            topic: k.topic.clone(),
            consumer_group_prefix: k.consumer_group_prefix.clone(),
            endpoint: k.bootstrap_servers.clone()?,
            certificate_secret_ref: KafkaCertificates {
                cluster: P12Secret {
                    name: k.cluster_ca_secret_name.clone()?,
                    certificate: CLUSTER_P12.into(),
                    password: CLUSTER_PASSWORD.into(),
                    key: None,
                },
                user: P12Secret {
                    name: k.user_secret_name.clone()?,
                    certificate: USER_P12.into(),
                    password: USER_PASSWORD.into(),
                    key: None,
                },
            },
        })
    });
    DataBridgeStatus {
        conditions: s.conditions.clone(),
        kafka,
        kind: s.kind.clone(),
        app_id: s.app_id.clone(),
        mongodb: s.mongodb.clone(),
    }
}

/// The API's view of a bridge (`DataBridgeObject`).
pub fn bridge_to_api(b: &BigPeerDataBridge) -> DataBridge {
    DataBridge {
        name: b.metadata.name.clone().unwrap_or_default(),
        display_name: b.spec.display_name.clone(),
        description: b.spec.description.clone(),
        bridge: BridgeKind {
            kafka: b.spec.kafka.as_ref().map(kafka_to_api),
            mongo_connector: b.spec.mongodb.as_ref().map(mongo_to_api),
            webhook: None,
        },
        status: b.status.as_ref().map(bridge_status_to_api),
    }
}

#[cfg(test)]
mod tests;
