//! Strimzi KafkaTopic and KafkaUser for the transaction log.

use serde_json::{Value, json};

use super::{DesiredObject, config, labels, names};
use crate::api::{BigPeer, StrimziSpec};
use crate::thirdparty;
use kube::ResourceExt;

/// Topic configuration Big Peer needs, before user overrides.
pub fn topic_config(bp: &BigPeer) -> serde_json::Map<String, Value> {
    let mut cfg = serde_json::Map::new();
    cfg.insert("cleanup.policy".into(), json!("delete"));
    cfg.insert("max.message.bytes".into(), json!("104857600"));
    for (k, v) in &bp.spec.transaction_log.topic.config {
        cfg.insert(k.clone(), json!(v));
    }
    cfg
}

fn metadata(bp: &BigPeer, name: String, strimzi: &StrimziSpec) -> Value {
    let mut l = labels::common(bp, "transaction-log");
    l.insert("strimzi.io/cluster".into(), strimzi.kafka_ref.name.clone());
    json!({
        "name": name,
        "namespace": bp.namespace(),
        "labels": l,
        "ownerReferences": [labels::owner(bp)],
    })
}

/// The KafkaTopic.
pub fn topic(bp: &BigPeer, strimzi: &StrimziSpec) -> DesiredObject {
    let t = &bp.spec.transaction_log.topic;
    let mut spec = serde_json::Map::new();
    spec.insert("topicName".into(), json!(config::topic_name(bp)));
    if let Some(p) = t.partitions {
        spec.insert("partitions".into(), json!(p));
    }
    if let Some(r) = t.replicas {
        spec.insert("replicas".into(), json!(r));
    }
    spec.insert("config".into(), Value::Object(topic_config(bp)));
    DesiredObject::new(
        thirdparty::kafka_topic(),
        json!({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": metadata(bp, names::kafka_topic_object(&bp.name_any()), strimzi),
            "spec": spec,
        }),
    )
}

/// The KafkaUser: SCRAM-SHA-512 credentials whose ACLs allow only this Big Peer's topic and
/// consumer groups, and writing to its data bridges' topics (the prefix `<bp>-<ns>-cdc-`).
pub fn user(bp: &BigPeer, strimzi: &StrimziSpec) -> DesiredObject {
    let topic = config::topic_name(bp);
    let group_prefix = format!("{}-{}", bp.name_any(), bp.namespace().unwrap_or_default());
    let cdc_prefix =
        super::bridge::topic_prefix(&bp.name_any(), &bp.namespace().unwrap_or_default());
    DesiredObject::new(
        thirdparty::kafka_user(),
        json!({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": metadata(bp, names::kafka_user(&bp.name_any()), strimzi),
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {"resource": {"type": "topic", "name": topic, "patternType": "literal"},
                         "operations": ["Describe", "DescribeConfigs", "Read", "Write"], "host": "*"},
                        {"resource": {"type": "group", "name": group_prefix, "patternType": "prefix"},
                         "operations": ["Describe", "Read"], "host": "*"},
                        // The data bridges' topics (`<bp>-<ns>-cdc-<bridge>`), all at once, so
                        // that a bridge never changes this user.
                        {"resource": {"type": "topic", "name": cdc_prefix, "patternType": "prefix"},
                         "operations": ["Describe", "Write"], "host": "*"},
                    ]
                }
            }
        }),
    )
}
