//! The data bridge controller against the mock API server: a bridge before its app reports
//! why it waits and writes nothing else; a MongoDB bridge whose Secret is missing still gets
//! its connector's objects (owned by the bridge, found by the bridge's labels), reads no pod
//! metrics, says what is missing in a Warning Event and in its status, and never touches
//! anything of the BigPeer.
//!
//! (The connector's health against a live metrics endpoint is the e2e test's: it needs a pod
//! IP.)

use std::sync::Arc;

use kube::core::Selector;
use serde_json::{Value, json};
use smbp_operator::api::BigPeerDataBridge;
use smbp_operator::bridges::{BridgeContext, reconcile};
use smbp_operator::build::bridge;
use smbp_operator::controller::Context;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;

use crate::fixtures::{CORE, NS, bigpeer, metadata_list, recorder};
use crate::server::{Exchange, apply, get, get_metadata, post, serve};

const BRIDGES: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerdatabridges";
const APP_ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";

fn context(client: kube::Client) -> Arc<BridgeContext> {
    Arc::new(BridgeContext {
        ctx: Arc::new(Context::new(
            client.clone(),
            recorder(&client),
            Arc::new(Metrics::default()),
            RelatedImages::default(),
        )),
        operator_namespace: Some("smbp-system".into()),
    })
}

fn mongo_bridge() -> BigPeerDataBridge {
    serde_json::from_value(json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "orders-sync", "namespace": NS, "uid": "uid-bridge", "generation": 2},
        "spec": {"appRef": {"name": "fleet"}, "mongodb": {
            "connectionStringSecretRef": {"name": "mongo"},
            "database": "shop",
            "collections": {"orders": {"fields": ["_id"]}},
        }},
    }))
    .unwrap()
}

fn app() -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "fleet", "namespace": NS, "uid": "uid-fleet", "generation": 1},
        "spec": {"bigPeerRef": {"name": "prod"}, "appId": APP_ID},
    })
}

fn status(check: impl FnOnce(&Value) + Send + 'static) -> Exchange {
    apply(&format!("{BRIDGES}/orders-sync/status"))
        .query(&[("fieldManager", "smbp-operator"), ("force", "true")])
        .body(check)
        .answer(serde_json::to_value(mongo_bridge()).unwrap())
}

/// Before its app exists, a bridge says so, is not Degraded (GitOps applies in any order), and
/// makes nothing.
#[tokio::test]
async fn a_bridge_before_its_app_waits_and_makes_nothing() {
    let (client, server) = serve(vec![
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapps/fleet").not_found(),
        status(|b| {
            let c = &b["status"]["conditions"];
            assert_eq!(c[0]["type"], "Ready", "{b}");
            assert_eq!(c[0]["status"], "False", "{b}");
            assert_eq!(c[0]["reason"], "AppNotFound", "{b}");
            assert_eq!(c[1]["type"], "Degraded", "{b}");
            assert_eq!(c[1]["status"], "False", "{b}");
            assert_eq!(b["status"]["kind"], "MongoDB", "{b}");
            assert_eq!(b["status"]["observedGeneration"], 2, "{b}");
        }),
    ]);
    let c = context(client);
    let result = reconcile(Arc::new(mongo_bridge()), c.clone()).await;
    server.done(c).await;
    result.expect("reconciled");
}

/// The connector's objects are applied even before its Secret exists (the policy then opens no
/// MongoDB port), the pod is not probed (there is none), and the missing Secret is a Warning
/// Event and `Degraded`.
#[tokio::test]
async fn a_connector_without_its_secret_is_built_and_reported() {
    let selector: Selector = bridge::selector("orders-sync");
    let pods: Selector = bridge::pod_selector("orders-sync").into_iter().collect();
    let mut scenario = vec![
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapps/fleet").answer(app()),
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod")
            .answer(serde_json::to_value(bigpeer()).unwrap()),
        get("/apis").answer(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})),
        get("/api/v1/namespaces/bigpeer/secrets/mongo").not_found(),
    ];
    // The inventory: the built-in kinds only, by the bridge's labels (no add-on kind).
    for path in CORE {
        scenario.push(
            get_metadata(path)
                .query(&[("labelSelector", &selector.to_string())])
                .answer(metadata_list(vec![])),
        );
    }
    scenario.push(
        apply("/api/v1/namespaces/bigpeer/configmaps/orders-sync-mongodb-connector")
            .query(&[("fieldManager", "smbp-operator"), ("force", "true")])
            .body(|b| {
                let r = &b["metadata"]["ownerReferences"][0];
                assert_eq!(
                    (r["kind"].as_str(), r["uid"].as_str()),
                    (Some("BigPeerDataBridge"), Some("uid-bridge")),
                    "{b}"
                );
                assert_eq!(r["blockOwnerDeletion"], true, "{b}");
                assert!(
                    b["data"]["connector.yaml"]
                        .as_str()
                        .unwrap()
                        .contains(APP_ID),
                    "{b}"
                );
            })
            .echo(),
    );
    scenario.push(
        apply("/apis/networking.k8s.io/v1/namespaces/bigpeer/networkpolicies/orders-sync-mongodb-connector")
            .body(|b| {
                let egress = b["spec"]["egress"].as_array().unwrap();
                // DNS, then the BigPeer's api and subscription pods: no MongoDB port yet.
                assert_eq!(egress.len(), 3, "{b}");
                // The sample BigPeer limits no metrics scrapers: the metrics port is open to all
                // (the operator included), and only it.
                assert!(b["spec"]["ingress"][0].get("from").is_none(), "{b}");
                assert_eq!(b["spec"]["ingress"][0]["ports"], json!([{"port": 9102, "protocol": "TCP"}]), "{b}");
            })
            .echo(),
    );
    scenario.push(
        apply("/apis/apps/v1/namespaces/bigpeer/deployments/orders-sync-mongodb-connector")
            .body(|b| {
                assert_eq!(b["spec"]["replicas"], 1, "{b}");
                assert_eq!(
                    b["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"],
                    "mongo",
                    "{b}"
                );
                assert_eq!(
                    b["spec"]["template"]["spec"]["containers"][0]["image"],
                    "quay.io/ditto/big-peer-mongodb-connector:1.59.0",
                    "{b}"
                );
            })
            .echo(),
    );
    scenario.push(
        get("/api/v1/namespaces/bigpeer/pods")
            .query(&[("labelSelector", &pods.to_string())])
            .answer(json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": []})),
    );
    scenario.push(
        post("/apis/events.k8s.io/v1/namespaces/bigpeer/events")
            .body(|e| {
                assert_eq!(e["reason"], "ConnectionSecretNotFound", "{e}");
                assert_eq!(e["type"], "Warning", "{e}");
                assert_eq!(e["regarding"]["kind"], "BigPeerDataBridge", "{e}");
            })
            .echo(),
    );
    scenario.push(status(|b| {
        let c = &b["status"]["conditions"];
        assert_eq!(c[0]["reason"], "ConnectionSecretNotFound", "{b}");
        assert_eq!(c[1]["type"], "Degraded", "{b}");
        assert_eq!(c[1]["status"], "True", "{b}");
        assert_eq!(b["status"]["appId"], APP_ID, "{b}");
        assert_eq!(
            b["status"]["mongodb"]["deployment"], "orders-sync-mongodb-connector",
            "{b}"
        );
    }));
    let (client, server) = serve(scenario);
    let c = context(client);
    let result = reconcile(Arc::new(mongo_bridge()), c.clone()).await;
    server.done(c).await;
    result.expect("reconciled");
}
