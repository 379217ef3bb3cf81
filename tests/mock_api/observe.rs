//! `bigpeer::observe::observe`: reads the workloads, the pods and whether the Secrets the
//! pods mount exist, never a Secret's data.

use serde_json::{Value, json};
use smbp_operator::api::Component;
use smbp_operator::api::reason::Reason;
use smbp_operator::bigpeer::observe::observe;
use smbp_operator::controller::cache::Reader;
use smbp_operator::decide::observed::Integrations;

use crate::fixtures::{NS, PODS, bigpeer, bigpeer_without_addons, list, meta};
use crate::server::{Exchange, get, get_metadata, serve};

const STATEFULSET: &str = "/apis/apps/v1/namespaces/bigpeer/statefulsets/prod-store";
const SUBSCRIPTION: &str = "/apis/apps/v1/namespaces/bigpeer/deployments/prod-subscription";
const API: &str = "/apis/apps/v1/namespaces/bigpeer/deployments/prod-api";

/// The LIST of the BigPeer's pods, answered with `pods`.
fn pods(pods: Vec<Value>) -> Exchange {
    get("/api/v1/namespaces/bigpeer/pods")
        .query(&[("labelSelector", PODS)])
        .answer(list("Pod", pods))
}

/// A metadata-only read of a Secret: the request asks for `PartialObjectMetadata`, so the
/// API server never sends the Secret's data.
fn secret(name: &str, exists: bool) -> Exchange {
    let read = get_metadata(&format!("/api/v1/namespaces/bigpeer/secrets/{name}"));
    if exists {
        read.answer(meta(name, None))
    } else {
        read.not_found()
    }
}

fn object(api_version: &str, kind: &str, name: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS}})
}

/// A new BigPeer whose key Secrets are missing: no StatefulSet, KeysReady not ready with
/// KeySecretMissing naming each missing Secret, and only Secret metadata was read.
#[tokio::test]
async fn missing_key_secrets_are_named_and_only_their_metadata_is_read() {
    let (client, server) = serve(vec![
        get(STATEFULSET).not_found(),
        get(SUBSCRIPTION).not_found(),
        get(API).not_found(),
        pods(vec![]),
        secret("prod-ca-key", true),
        secret("prod-in-band-key", false),
        secret("prod-jwt-key", false),
    ]);

    let result = observe(
        &Reader::api(&client),
        &bigpeer_without_addons(),
        Integrations::default(),
    )
    .await;
    server.done(client).await;

    let observed = result.expect("observed");
    assert!(observed.statefulset.is_none());
    assert!(observed.deployments.is_empty());
    assert!(observed.pods.is_empty());
    assert!(!observed.keys.ready);
    assert_eq!(observed.keys.reason, Reason::KeySecretMissing);
    assert_eq!(
        observed.keys.message,
        "key Secrets not found: prod-in-band-key, prod-jwt-key"
    );
    assert!(
        observed.transaction_log.ready,
        "{:?}",
        observed.transaction_log
    );
    assert_eq!(observed.kafka_bootstrap, ["kafka-0.kafka:9093"]);
}

/// A running BigPeer: what exists is observed as it is.
#[tokio::test]
async fn existing_workloads_pods_and_secrets_are_observed() {
    let (client, server) = serve(vec![
        get(STATEFULSET).answer(object("apps/v1", "StatefulSet", "prod-store")),
        get(SUBSCRIPTION).answer(object("apps/v1", "Deployment", "prod-subscription")),
        get(API).not_found(),
        pods(vec![object("v1", "Pod", "prod-store-0")]),
        secret("prod-ca-key", true),
        secret("prod-in-band-key", true),
        secret("prod-jwt-key", true),
    ]);

    let result = observe(
        &Reader::api(&client),
        &bigpeer_without_addons(),
        Integrations::default(),
    )
    .await;
    server.done(client).await;

    let observed = result.expect("observed");
    let sts = observed.statefulset.expect("the StatefulSet");
    assert_eq!(sts.metadata.name.as_deref(), Some("prod-store"));
    assert_eq!(
        observed.deployments.keys().copied().collect::<Vec<_>>(),
        [Component::Subscription]
    );
    assert_eq!(observed.pods.len(), 1);
    assert!(observed.keys.ready, "{:?}", observed.keys);
    assert_eq!(observed.keys.reason, Reason::Ready);
}

/// The sample asks for cert-manager keys and a Strimzi Kafka; on a cluster without either,
/// observe reads no Certificate and no Kafka object, and says which add-on is missing.
#[tokio::test]
async fn without_the_add_ons_no_add_on_object_is_read() {
    let (client, server) = serve(vec![
        get(STATEFULSET).not_found(),
        get(SUBSCRIPTION).not_found(),
        get(API).not_found(),
        pods(vec![]),
        secret("prod-ca", false),
        secret("prod-in-band", false),
        secret("prod-jwt", false),
        secret("events-cluster-ca-cert", false),
        secret("prod-bigpeer", false),
    ]);

    let result = observe(&Reader::api(&client), &bigpeer(), Integrations::default()).await;
    server.done(client).await;

    let observed = result.expect("observed");
    assert_eq!(observed.keys.reason, Reason::CertManagerNotInstalled);
    assert_eq!(observed.transaction_log.reason, Reason::StrimziNotInstalled);
    assert!(observed.kafka_bootstrap.is_empty());
}
