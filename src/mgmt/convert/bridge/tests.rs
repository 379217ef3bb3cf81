use super::*;
use crate::api::{
    ExternalKafkaBridge, FilteredSource, KafkaAcl, KafkaAclResource, KafkaConsumerInfo as CrInfo,
    KafkaConsumers, LocalObjectReference, MongoMode, StreamType,
};
use crate::mgmt::convert::{APP_LABEL, BIG_PEER_LABEL};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::prelude::*;
use serde_json::json;

fn body(v: serde_json::Value) -> DataBridge {
    serde_json::from_value(v).unwrap()
}

fn err(v: serde_json::Value) -> ApiError {
    new_bridge("ns", "prod", "my-app", &body(v)).unwrap_err()
}

#[test]
fn a_kafka_bridge_from_dittos_fields() {
    let b = new_bridge(
        "ns",
        "prod",
        "my-app",
        &body(json!({"name": "orders", "displayName": "test data bridge",
            "description": "Stream of completed production orders",
            "bridge": {"kafka": {"source": [{"collection": "orders", "query": "status = 'completed'"}],
                                 "streamType": "typed"}}})),
    )
    .unwrap();
    assert_eq!(b.spec.app_ref.name, "my-app");
    assert_eq!(
        b.metadata.labels.as_ref().unwrap()["smbp.io/big-peer"],
        "prod"
    );
    let k = b.spec.kafka.as_ref().unwrap();
    assert_eq!(k.topic_partitions, 12, "the CRD's default, not Ditto's 10");
    assert_eq!(k.stream_type, StreamType::Typed);
    assert_eq!(k.consumers, KafkaConsumers::default());
    assert_eq!(b.spec.display_name.as_deref(), Some("test data bridge"));
    assert!(b.spec.mongodb.is_none());
}

#[test]
fn a_mongo_connector_maps_its_secret_and_counters() {
    let b = new_bridge(
        "ns",
        "prod",
        "my-app",
        &body(json!({"name": "mongo", "bridge": {"mongoConnector": {
            "connectionSecret": {"kubernetesSecret": {"name": "mongo-uri"}},
            "database": "shop",
            "collections": {"orders": {"fields": ["_id"], "initialSync": true, "mode": "ejson",
                                       "dittoTypes": {"settableCounters": ["stock.count"]}}}}}})),
    )
    .unwrap();
    let m = b.spec.mongodb.unwrap();
    assert_eq!(m.connection_string_secret_ref.name, "mongo-uri");
    assert_eq!(m.connection_string_secret_ref.key, "connectionString");
    assert_eq!(m.stall_after, "5m");
    let c = &m.collections["orders"];
    assert_eq!(c.settable_counters, ["stock.count"]);
    assert_eq!((c.initial_sync, c.mode), (true, MongoMode::Ejson));
}

#[test]
fn refusals_name_the_field() {
    let mongo = |secret: serde_json::Value| {
        json!({"name": "m", "bridge": {"mongoConnector": {"connectionSecret": secret,
            "database": "shop", "collections": {"orders": {"fields": ["_id"], "initialSync": false, "mode": "native"}}}}})
    };
    let e = err(mongo(
        json!({"awsSecretsManager": {"secretId": "x", "roleArn": "arn:aws:iam::1:role/x", "region": "eu-west-1"}}),
    ));
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("awsSecretsManager is not supported"),
        "{}",
        e.message
    );
    assert!(err(mongo(json!({}))).message.contains("kubernetesSecret"));
    assert!(
        err(mongo(json!({"kubernetesSecret": {"name": "Bad_Name"}})))
            .message
            .contains("kubernetesSecret.name")
    );
    let w = err(json!({"name": "w", "bridge": {"webhook": {"url": "https://x"}}}));
    assert!(
        w.message.starts_with("WebhookNotSupported"),
        "{}",
        w.message
    );
    assert!(
        err(json!({"name": "n", "bridge": {}}))
            .message
            .contains("exactly one")
    );
    assert!(
        err(json!({"name": "n", "bridge": {"kafka": {"topicPartitions": 0}}}))
            .message
            .contains("bridge.kafka.topicPartitions")
    );
    assert!(
        err(json!({"name": "n", "bridge": {"kafka": {"source": [{"collection": "a b", "query": "true"}]}}}))
            .message
            .contains("bridge.kafka.source[0].collection")
    );
    assert!(
        err(json!({"name": "N", "bridge": {"kafka": {}}}))
            .message
            .contains("data bridge name")
    );
    let m = json!({"name": "m", "bridge": {"mongoConnector": {"connectionSecret": {"kubernetesSecret": {"name": "s"}},
        "database": "a.b", "collections": {"orders": {"fields": ["_id"]}}}}});
    assert!(err(m).message.contains("mongoConnector.database"));
    let m = json!({"name": "m", "bridge": {"mongoConnector": {"connectionSecret": {"kubernetesSecret": {"name": "s"}},
        "database": "d", "collections": {"orders": {"fields": []}}}}});
    assert!(err(m).message.contains("collections.orders.fields"));
}

#[test]
fn the_status_is_dittos_once_a_consumer_can_connect() {
    let mut s = crate::api::BigPeerDataBridgeStatus {
        kind: Some("Kafka".into()),
        kafka: Some(CrInfo {
            topic: "prod-ns-cdc-orders".into(),
            consumer_group_prefix: "prod-ns-cdc-orders".into(),
            bootstrap_servers: Some("events-kafka-bootstrap.kafka.svc:9093".into()),
            cluster_ca_secret_name: Some("events-cluster-ca-cert".into()),
            user_secret_name: Some("orders-consumer".into()),
        }),
        ..Default::default()
    };
    let v = serde_json::to_value(bridge_status_to_api(&s)).unwrap();
    assert_eq!(
        v["kafka"],
        json!({"topic": "prod-ns-cdc-orders", "consumerGroupPrefix": "prod-ns-cdc-orders",
               "endpoint": "events-kafka-bootstrap.kafka.svc:9093",
               "certificateSecretRef": {
                   "cluster": {"name": "events-cluster-ca-cert", "certificate": "ca.p12", "password": "ca.password"},
                   "user": {"name": "orders-consumer", "certificate": "user.p12", "password": "user.password"}}})
    );
    assert_eq!(v["conditions"], json!([]));
    s.kafka.as_mut().unwrap().bootstrap_servers = None;
    assert_eq!(bridge_status_to_api(&s).kafka, None, "not known yet");
}

fn kafka() -> impl Strategy<Value = api::KafkaBridge> {
    (
        proptest::collection::vec(
            ("[A-Za-z_][A-Za-z0-9_.-]{0,10}", "[ -~]{1,30}")
                .prop_map(|(collection, query)| FilteredSource { collection, query }),
            0..4,
        ),
        prop_oneof![
            Just(StreamType::Untyped),
            Just(StreamType::Typed),
            Just(StreamType::Heartbeat)
        ],
        1i32..=1000,
        (any::<bool>(), proptest::option::of("[a-z0-9]{1,11}")).prop_map(|(o, l)| KafkaConsumers {
            outside_cluster: o,
            listener: l,
        }),
        proptest::collection::vec(
            (
                "topic|group|cluster",
                proptest::option::of("[a-z*.-]{1,10}"),
                "literal|prefix",
                "[a-z*.]{1,8}",
            )
                .prop_map(|(t, name, p, host)| KafkaAcl {
                    resource: KafkaAclResource {
                        type_: t,
                        name,
                        pattern_type: p,
                    },
                    operations: vec!["Read".into(), "Describe".into()],
                    host,
                }),
            0..3,
        ),
        proptest::option::of(
            ("[a-z0-9._-]{1,20}", "[a-z][a-z0-9-]{0,10}", any::<bool>()).prop_map(
                |(topic, user, ca)| ExternalKafkaBridge {
                    topic,
                    user_secret_ref: LocalObjectReference { name: user.clone() },
                    cluster_ca_secret_ref: ca.then(|| LocalObjectReference {
                        name: format!("{user}-ca"),
                    }),
                },
            ),
        ),
    )
        .prop_map(
            |(source, stream_type, topic_partitions, consumers, extra_acls, external)| {
                api::KafkaBridge {
                    source,
                    stream_type,
                    topic_partitions,
                    consumers,
                    extra_acls,
                    external,
                }
            },
        )
}

fn mongo() -> impl Strategy<Value = MongoBridge> {
    (
        "[a-z]([a-z0-9-]{0,9}[a-z0-9])?(\\.[a-z0-9]{1,5})?",
        "[A-Za-z0-9_.-]{1,12}",
        "[A-Za-z0-9_-]{1,20}",
        proptest::collection::btree_map(
            "[A-Za-z0-9_][A-Za-z0-9_-]{0,10}",
            (
                proptest::collection::btree_set("[a-zA-Z_.]{1,10}", 1..4),
                any::<bool>(),
                any::<bool>(),
                proptest::collection::btree_set("[a-z.]{1,10}", 0..3),
                any::<bool>(),
            )
                .prop_map(|(f, sync, ejson, counters, strict)| api::MongoCollection {
                    fields: f.into_iter().collect(),
                    initial_sync: sync,
                    mode: if ejson {
                        MongoMode::Ejson
                    } else {
                        MongoMode::Native
                    },
                    settable_counters: counters.into_iter().collect(),
                    dql_strict_mode: strict,
                }),
            1..4,
        ),
        "[1-9][0-9]?m|30s|1h",
    )
        .prop_map(
            |(name, key, database, collections, stall_after)| MongoBridge {
                connection_string_secret_ref: ConnectionStringRef { name, key },
                database,
                collections,
                stall_after,
                resources: None,
            },
        )
}

proptest! {
    /// A bridge read through the API and created from that body is the same resource.
    #[test]
    fn round_trip(
        name in "[a-z][a-z0-9-]{0,38}[a-z0-9]",
        display_name in proptest::option::of("[ -~]{0,40}"),
        description in proptest::option::of("[ -~]{0,80}"),
        which in prop_oneof![kafka().prop_map(|k| (Some(k), None)), mongo().prop_map(|m| (None, Some(m)))],
    ) {
        let cr = BigPeerDataBridge {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some("ns".into()),
                labels: Some([
                    (APP_LABEL.to_string(), "my-app".to_string()),
                    (BIG_PEER_LABEL.to_string(), "prod".to_string()),
                ].into()),
                ..Default::default()
            },
            spec: BigPeerDataBridgeSpec {
                app_ref: AppRef { name: "my-app".into() },
                display_name,
                description,
                kafka: which.0,
                mongodb: which.1,
            },
            status: None,
        };
        let json = serde_json::to_value(bridge_to_api(&cr)).unwrap();
        let read: DataBridge = serde_json::from_value(json).unwrap();
        prop_assert_eq!(new_bridge("ns", "prod", "my-app", &read).unwrap(), cr);
    }
}
