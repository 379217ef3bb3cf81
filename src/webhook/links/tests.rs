use serde_json::json;

use super::*;
use crate::testing::sample_of_with;

fn replication(patch: serde_json::Value) -> BigPeerReplication {
    serde_json::from_value(sample_of_with("BigPeerReplication", &patch)).unwrap()
}

fn bridge(patch: serde_json::Value) -> BigPeerDataBridge {
    serde_json::from_value(sample_of_with("BigPeerDataBridge", &patch)).unwrap()
}

fn big_peer(patch: serde_json::Value) -> BigPeer {
    serde_json::from_value(sample_of_with("BigPeer", &patch)).unwrap()
}

#[test]
fn a_replication_may_not_connect_to_its_own_endpoint() {
    // The sample is my-app in bigpeer.
    for own in [
        "my-app-replication.bigpeer.svc:4040",
        "my-app-replication.bigpeer.svc.cluster.local:4040",
    ] {
        let r = replication(json!({"spec": {"connections": ["peer.example.com:4040", own]}}));
        let c = connects_to_itself(&r, None).unwrap();
        assert_eq!(c.field, "spec.connections[1]");
        assert_eq!(c.reason, Reason::ReplicationConnectsToItself);
        assert!(c.message.contains("own endpoint"), "{}", c.message);
        // An update that keeps the connections is not refused for them.
        assert_eq!(connects_to_itself(&r, Some(&r)), None);
    }
    // The same name in another namespace, another name, another port: someone else.
    for other in [
        "my-app-replication.bigpeer-eu.svc:4040",
        "other-replication.bigpeer.svc:4040",
        "my-app-replication.bigpeer.svc:4041",
    ] {
        let r = replication(json!({"spec": {"connections": [other]}}));
        assert_eq!(connects_to_itself(&r, None), None, "{other}");
    }
    assert_eq!(connects_to_itself(&replication(json!({})), None), None);
}

#[test]
fn missing_trusted_ca_sources_are_warnings_naming_the_field() {
    let r = replication(json!({"spec": {"trustedCas": [
        {"configMapRef": {"name": "eu-ca"}},
        {"secretRef": {"name": "us-ca", "key": "tls.crt"}},
        {"secretRef": {"name": "ok-ca"}},
        {"configMapRef": {"name": "unreadable"}}]}}));
    let w = trusted_ca_warnings(
        &r,
        None,
        &[
            Some(Found::Missing),
            Some(Found::NoKey),
            Some(Found::Present),
            None,
        ],
    );
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("spec.trustedCas[0].configMapRef.name: ConfigMap \"eu-ca\""),
        "{}",
        w[0]
    );
    assert!(
        w[1].starts_with(
            "spec.trustedCas[1].secretRef.key: Secret \"us-ca\" has no key \"tls.crt\""
        ),
        "{}",
        w[1]
    );
    assert!(trusted_ca_warnings(&r, Some(&r), &[Some(Found::Missing); 4]).is_empty());
}

#[test]
fn found_reads_keys() {
    let keys = ["ca.crt".to_string()];
    assert_eq!(Found::of(Some(keys.iter()), "ca.crt"), Found::Present);
    assert_eq!(Found::of(Some(keys.iter()), "tls.crt"), Found::NoKey);
    assert_eq!(
        Found::of(None::<std::slice::Iter<String>>, "ca.crt"),
        Found::Missing
    );
}

#[test]
fn kafka_external_follows_the_big_peers_transaction_log() {
    let strimzi = big_peer(json!({}));
    assert!(
        strimzi.spec.transaction_log.strimzi.is_some(),
        "the sample uses Strimzi"
    );
    let external = big_peer(json!({"spec": {"transactionLog": {"strimzi": null,
        "external": {"bootstrapServers": ["kafka.example.com:9093"]}}}}));
    let plain = bridge(json!({}));
    let with_external = bridge(json!({"spec": {"kafka": {"external": {
        "topic": "orders-cdc", "userSecretRef": {"name": "orders-consumer"}}}}}));
    assert_eq!(kafka_external(&plain, None, &strimzi), None);
    let c = kafka_external(&plain, None, &external).unwrap();
    assert_eq!(
        (c.field.as_str(), c.reason),
        ("spec.kafka.external", Reason::KafkaExternalRequired)
    );
    assert!(
        c.message.contains("transactionLog.external"),
        "{}",
        c.message
    );
    assert_eq!(kafka_external(&with_external, None, &external), None);
    let c = kafka_external(&with_external, None, &strimzi).unwrap();
    assert_eq!(c.reason, Reason::KafkaExternalNotAllowed);
    // An update that keeps spec.kafka is not refused (the BigPeer may have changed since).
    assert_eq!(kafka_external(&plain, Some(&plain), &external), None);
    // A MongoDB bridge has no Kafka.
    let mongo = bridge(json!({"spec": {"kafka": null, "mongodb": {
        "connectionStringSecretRef": {"name": "mongo"}, "database": "shop",
        "collections": {"orders": {"fields": ["_id"]}}}}}));
    assert_eq!(kafka_external(&mongo, None, &external), None);
    assert_eq!(kafka_external_unchecked(&mongo, "prod"), None);
    assert!(
        kafka_external_unchecked(&plain, "prod")
            .unwrap()
            .starts_with("spec.kafka.external: not checked")
    );
}

#[test]
fn a_missing_connection_secret_is_a_warning() {
    let mongo = bridge(json!({"spec": {"kafka": null, "mongodb": {
        "connectionStringSecretRef": {"name": "mongo"}, "database": "shop",
        "collections": {"orders": {"fields": ["_id"]}}}}}));
    let w = connection_secret_warning(&mongo, None, Some(Found::Missing)).unwrap();
    assert!(
        w.starts_with("spec.mongodb.connectionStringSecretRef.name: Secret \"mongo\""),
        "{w}"
    );
    let w = connection_secret_warning(&mongo, None, Some(Found::NoKey)).unwrap();
    assert!(w.contains("no key \"connectionString\""), "{w}");
    assert_eq!(
        connection_secret_warning(&mongo, None, Some(Found::Present)),
        None
    );
    assert_eq!(
        connection_secret_warning(&mongo, None, None),
        None,
        "unreadable: nothing said"
    );
    assert_eq!(
        connection_secret_warning(&mongo, Some(&mongo), Some(Found::Missing)),
        None
    );
    assert_eq!(
        connection_secret_warning(&bridge(json!({})), None, Some(Found::Missing)),
        None
    );
}

#[test]
fn missing_app_and_big_peer_warnings_name_the_field() {
    assert!(
        missing_app("replication", "a", "ns").starts_with("spec.appRef.name: BigPeerApp \"a\"")
    );
    assert!(missing_big_peer("data bridge", "a", "prod", "ns").contains("BigPeer \"prod\""));
}
