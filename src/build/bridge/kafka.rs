//! A Kafka bridge's Strimzi objects: the KafkaTopic `<bridge>-cdc` (topic
//! `<bp>-<ns>-cdc-<bridge>`) and the KafkaUser `<bridge>-consumer` of its consumers (mutual
//! TLS, reading only that topic and its consumer groups, then the spec's `extraAcls`), both in
//! the bridge's namespace (the BigPeer's), labelled `strimzi.io/cluster`.

use serde_json::{Value, json};

use super::{KAFKA_COMPONENT, Owner, kafka_topic_object, kafka_user, labels, owner_ref, topic};
use crate::api::{KafkaAcl, KafkaBridge, StrimziSpec};
use crate::build::DesiredObject;
use crate::build::network_policy::STRIMZI_CLUSTER;
use crate::thirdparty;

fn metadata(o: &Owner<'_>, name: String, strimzi: &StrimziSpec) -> Value {
    let mut l = labels(o, KAFKA_COMPONENT);
    l.insert(STRIMZI_CLUSTER.into(), strimzi.kafka_ref.name.clone());
    json!({
        "name": name,
        "namespace": o.namespace(),
        "labels": l,
        "ownerReferences": [owner_ref(o.bridge)],
    })
}

/// The bridge's topic name.
pub fn topic_name(o: &Owner<'_>) -> String {
    topic(o.big_peer, &o.namespace(), &o.name())
}

/// The consumer groups the bridge's consumers may use: those starting with the topic name.
pub fn group_prefix(o: &Owner<'_>) -> String {
    topic_name(o)
}

/// The KafkaTopic, with `topicPartitions` partitions and the transaction log topic's replicas
/// (when the BigPeer sets them).
pub fn kafka_topic(
    o: &Owner<'_>,
    k: &KafkaBridge,
    strimzi: &StrimziSpec,
    replicas: Option<i32>,
) -> DesiredObject {
    let mut spec = serde_json::Map::new();
    spec.insert("topicName".into(), json!(topic_name(o)));
    spec.insert("partitions".into(), json!(k.topic_partitions));
    if let Some(r) = replicas {
        spec.insert("replicas".into(), json!(r));
    }
    spec.insert("config".into(), json!({"cleanup.policy": "delete"}));
    DesiredObject::new(
        thirdparty::kafka_topic(),
        json!({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": metadata(o, kafka_topic_object(&o.name()), strimzi),
            "spec": spec,
        }),
    )
}

/// The ACLs of the consumer: the topic (literal) Read and Describe, the consumer groups with
/// the topic's name as prefix Read and Describe, then `extraAcls` in their order.
pub fn consumer_acls(o: &Owner<'_>, extra: &[KafkaAcl]) -> Vec<Value> {
    let mut acls = vec![
        json!({"resource": {"type": "topic", "name": topic_name(o), "patternType": "literal"},
               "operations": ["Read", "Describe"], "host": "*"}),
        json!({"resource": {"type": "group", "name": group_prefix(o), "patternType": "prefix"},
               "operations": ["Read", "Describe"], "host": "*"}),
    ];
    acls.extend(extra.iter().map(|a| {
        let mut resource =
            json!({"type": a.resource.type_, "patternType": a.resource.pattern_type});
        if let Some(n) = &a.resource.name {
            resource["name"] = json!(n);
        }
        json!({"resource": resource, "operations": a.operations, "host": a.host})
    }));
    acls
}

/// The consumer's KafkaUser: TLS client authentication (Strimzi issues `user.crt`/`user.key`
/// and `user.p12` in the Secret of the same name) and simple authorization.
pub fn kafka_user_object(o: &Owner<'_>, k: &KafkaBridge, strimzi: &StrimziSpec) -> DesiredObject {
    DesiredObject::new(
        thirdparty::kafka_user(),
        json!({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": metadata(o, kafka_user(&o.name()), strimzi),
            "spec": {
                "authentication": {"type": "tls"},
                "authorization": {"type": "simple", "acls": consumer_acls(o, &k.extra_acls)},
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{KAFKA, bridge};
    use super::*;
    use crate::api::{KafkaAclResource, KafkaRef, RetentionPolicy};

    fn strimzi() -> StrimziSpec {
        StrimziSpec {
            kafka_ref: KafkaRef {
                name: "events".into(),
            },
            listener: "tls".into(),
            topic_retention: RetentionPolicy::default(),
        }
    }

    #[test]
    fn the_topic_is_the_bridges_with_its_partitions() {
        let b = bridge(KAFKA);
        let o = Owner {
            bridge: &b,
            big_peer: "prod",
            app_id: "id",
        };
        let k = b.spec.kafka.clone().unwrap();
        let t = kafka_topic(&o, &k, &strimzi(), Some(3));
        assert_eq!(t.name, "orders-cdc");
        assert_eq!(t.body["spec"]["topicName"], "prod-shop-cdc-orders");
        assert_eq!(t.body["spec"]["partitions"], 12);
        assert_eq!(t.body["spec"]["replicas"], 3);
        assert_eq!(t.body["metadata"]["labels"]["strimzi.io/cluster"], "events");
        assert_eq!(t.body["metadata"]["namespace"], "shop");
        assert_eq!(t.body["metadata"]["ownerReferences"][0]["uid"], "b-1");
        let none = kafka_topic(&o, &k, &strimzi(), None);
        assert!(none.body["spec"].get("replicas").is_none());
    }

    #[test]
    fn the_user_reads_only_its_topic_and_groups_then_the_extra_acls() {
        let b = bridge(KAFKA);
        let o = Owner {
            bridge: &b,
            big_peer: "prod",
            app_id: "id",
        };
        let mut k = b.spec.kafka.clone().unwrap();
        k.extra_acls.push(KafkaAcl {
            resource: KafkaAclResource {
                type_: "topic".into(),
                name: Some("audit".into()),
                pattern_type: "prefix".into(),
            },
            operations: vec!["Read".into()],
            host: "*".into(),
        });
        let u = kafka_user_object(&o, &k, &strimzi());
        assert_eq!(u.name, "orders-consumer");
        assert_eq!(u.body["spec"]["authentication"]["type"], "tls");
        let acls = u.body["spec"]["authorization"]["acls"].as_array().unwrap();
        assert_eq!(
            acls[0],
            json!({"resource": {"type": "topic", "name": "prod-shop-cdc-orders", "patternType": "literal"}, "operations": ["Read", "Describe"], "host": "*"})
        );
        assert_eq!(
            acls[1],
            json!({"resource": {"type": "group", "name": "prod-shop-cdc-orders", "patternType": "prefix"}, "operations": ["Read", "Describe"], "host": "*"})
        );
        assert_eq!(
            acls[2],
            json!({"resource": {"type": "topic", "name": "audit", "patternType": "prefix"}, "operations": ["Read"], "host": "*"})
        );
        assert_eq!(acls.len(), 3);
        // Nothing writes, and nothing but the topic and its groups without extraAcls.
        let plain = consumer_acls(&o, &[]);
        assert_eq!(plain.len(), 2);
        assert!(!plain.iter().any(|a| a.to_string().contains("Write")));
    }
}
