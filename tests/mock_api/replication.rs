//! The replication controller against the mock API server: what one reconcile reads (the app,
//! its BigPeer, the trusted CA ConfigMap, this BigPeer's CA Secret), what it applies (the
//! Service, the CA ConfigMap and the NetworkPolicy, nothing else), how it looks at the
//! connections (another namespace's Service and EndpointSlices; a namespace it may not read is
//! `Unknown`, not an error), and what it tells (an Event, the status).

use std::sync::Arc;

use kube::runtime::controller::Action;
use serde_json::{Value, json};
use smbp_operator::api::BigPeerReplication;
use smbp_operator::controller::Context;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;

use crate::fixtures::{NS, bigpeer, metadata_list, recorder};
use crate::server::{Exchange, apply, get, get_metadata, post, serve};

const APPS: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapps";
const REPLS: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerreplications";
const APP_ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";
/// The selector a replication's objects are found by (labels in key order).
const SELECTOR: &str = concat!(
    "app.kubernetes.io/instance=orders,",
    "app.kubernetes.io/managed-by=smbp-operator,",
    "app.kubernetes.io/name=bigpeer-replication",
);

/// A throwaway self-signed CA certificate (the contract page's example).
fn ca() -> String {
    smbp_operator::build::access::EXAMPLE_CA.to_string()
}

fn context(client: kube::Client) -> Arc<Context> {
    Arc::new(Context::new(
        client.clone(),
        recorder(&client),
        Arc::new(Metrics::default()),
        RelatedImages::default(),
    ))
}

fn app() -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "fleet", "namespace": NS, "uid": "uid-fleet", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"bigPeerRef": {"name": "prod"}, "appId": APP_ID},
    })
}

fn replication() -> BigPeerReplication {
    serde_json::from_value(json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
        "metadata": {"name": "orders", "namespace": NS, "uid": "uid-orders", "generation": 1},
        "spec": {
            "appRef": {"name": "fleet"},
            "connections": ["orders-replication.team-b.svc:4040", "orders-replication.locked.svc:4040", "peer.example.com:4040"],
            "acceptFrom": [{"namespace": "team-c"}],
            "trustedCas": [{"configMapRef": {"name": "team-b-ca"}}],
        },
    }))
    .unwrap()
}

fn secret(name: &str, data: &[(&str, &str)]) -> Value {
    use base64::Engine;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": NS, "resourceVersion": "7"},
           "data": data})
}

fn applied(
    kind: &'static str,
    path: &str,
    check: impl FnOnce(&Value) + Send + 'static,
) -> Exchange {
    apply(path)
        .body(move |b| {
            assert_eq!(b["kind"], kind, "{b}");
            let owner = &b["metadata"]["ownerReferences"][0];
            assert_eq!(
                (
                    &owner["kind"],
                    &owner["uid"],
                    &owner["controller"],
                    &owner["blockOwnerDeletion"]
                ),
                (
                    &json!("BigPeerReplication"),
                    &json!("uid-orders"),
                    &json!(true),
                    &json!(true)
                ),
                "{b}"
            );
            assert_eq!(
                b["metadata"]["labels"]["smbp.io/replication"], "orders",
                "{b}"
            );
            assert_eq!(b["metadata"]["labels"]["smbp.io/big-peer"], "prod", "{b}");
            assert_eq!(b["metadata"]["labels"]["smbp.io/app"], "fleet", "{b}");
            check(b);
        })
        .echo()
}

/// A replication of a served app: one reconcile makes its three objects, reads the other
/// namespaces' Services where it may, and writes the status; no other request is made (no
/// workload, no pod template, no other kind listed).
#[tokio::test]
async fn a_new_replication_makes_its_endpoint_and_reports_what_it_sees() {
    let own_ca = ca();
    let (client, server) = serve(vec![
        get("/apis").answer(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})),
        get(&format!("{APPS}/fleet")).answer(app()),
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod")
            .answer(serde_json::to_value(bigpeer()).unwrap()),
        get(APPS).answer(json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerAppList",
                                "metadata": {}, "items": [app()]})),
        // The trusted CA, copied from the other side: a certificate and a key pasted by
        // mistake.
        get("/api/v1/namespaces/bigpeer/configmaps/team-b-ca").answer(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "team-b-ca", "namespace": NS},
            "data": {"ca.crt": format!("{}-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0\n-----END EC PRIVATE KEY-----\n", ca())},
        })),
        // This BigPeer's CA (cert-manager's Secret): read for its certificate only.
        get("/api/v1/namespaces/bigpeer/secrets/prod-ca")
            .answer(secret("prod-ca", &[("tls.crt", &own_ca), ("tls.key", "never-copied")])),
        // Inventory of the replication's own kinds only.
        get_metadata("/api/v1/namespaces/bigpeer/configmaps")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        get_metadata("/api/v1/namespaces/bigpeer/services")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        get_metadata("/apis/networking.k8s.io/v1/namespaces/bigpeer/networkpolicies")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        applied("Service", "/api/v1/namespaces/bigpeer/services/orders-replication", |b| {
            assert_eq!(b["spec"]["type"], "ClusterIP", "{b}");
            assert_eq!(b["spec"]["ports"], json!([{"name": "peer", "port": 4040, "targetPort": 4040, "protocol": "TCP"}]));
            assert_eq!(b["spec"]["selector"]["app.kubernetes.io/component"], "subscription");
        }),
        applied("ConfigMap", "/api/v1/namespaces/bigpeer/configmaps/orders-replication-ca", |b| {
            let pem = b["data"]["ca.crt"].as_str().unwrap();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
            assert!(!b.to_string().contains("never-copied") && !b.to_string().contains("PRIVATE"));
        }),
        applied(
            "NetworkPolicy",
            "/apis/networking.k8s.io/v1/namespaces/bigpeer/networkpolicies/orders-replication",
            |b| {
                let from: Vec<&str> = b["spec"]["ingress"][0]["from"].as_array().unwrap().iter()
                    .map(|p| p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str().unwrap())
                    .collect();
                assert_eq!(from, ["locked", "team-b", "team-c"]);
                assert_eq!(b["spec"]["ingress"][0]["ports"], json!([{"port": 4040, "protocol": "TCP"}]));
            },
        ),
        get("/api/v1/namespaces/bigpeer/services/orders-replication").not_found(),
        // The connections: team-b's Service is there with a ready endpoint; the operator may
        // not read namespace locked; peer.example.com is outside the cluster.
        get_metadata("/api/v1/namespaces/team-b/services/orders-replication").answer(json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {"name": "orders-replication", "namespace": "team-b"}})),
        get("/apis/discovery.k8s.io/v1/namespaces/team-b/endpointslices")
            .query(&[("labelSelector", "kubernetes.io/service-name=orders-replication")])
            .answer(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {},
                "items": [{"metadata": {"name": "orders-replication-x"}, "addressType": "IPv4",
                    "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": true}}]}]})),
        get_metadata("/api/v1/namespaces/locked/services/orders-replication").fail(
            403,
            "Forbidden",
            "services \"orders-replication\" is forbidden",
        ),
        post("/apis/events.k8s.io/v1/namespaces/bigpeer/events")
            .body(|e| {
                assert_eq!(e["reason"], "ReplicationEndpointCreated", "{e}");
                let note = e["note"].as_str().unwrap();
                for n in ["Service/orders-replication", "ConfigMap/orders-replication-ca", "NetworkPolicy/orders-replication"] {
                    assert!(note.contains(n), "{note}");
                }
            })
            .echo(),
        post("/apis/events.k8s.io/v1/namespaces/bigpeer/events")
            .body(|e| {
                assert_eq!(e["reason"], "TrustedCaInvalid", "{e}");
                assert_eq!(e["type"], "Warning", "{e}");
                let note = e["note"].as_str().unwrap();
                assert!(note.contains("EC PRIVATE KEY dropped") && !note.contains("c2VjcmV0"), "{note}");
            })
            .echo(),
        apply(&format!("{REPLS}/orders/status"))
            .body(|b| {
                let s = &b["status"];
                assert_eq!(s["appId"], APP_ID, "{b}");
                assert_eq!(s["endpoint"], json!({"inCluster": "orders-replication.bigpeer.svc:4040"}));
                assert_eq!(s["caConfigMapName"], "orders-replication-ca");
                assert!(s["caFingerprint"].as_str().unwrap().starts_with("sha256:"));
                assert_eq!(s["trustedCaFingerprints"].as_array().unwrap().len(), 1);
                let states: Vec<&str> = s["connections"].as_array().unwrap().iter().map(|c| c["state"].as_str().unwrap()).collect();
                assert_eq!(states, ["Ready", "Unknown", "External"]);
                assert!(s["connections"][1]["message"].as_str().unwrap().contains("may not read Services in namespace locked"));
                let reasons: Vec<(&str, &str, &str)> = s["conditions"].as_array().unwrap().iter()
                    .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap(), c["reason"].as_str().unwrap()))
                    .collect();
                assert_eq!(reasons, [("Ready", "False", "TrustedCaInvalid"), ("Degraded", "True", "TrustedCaInvalid")]);
                assert!(!b.to_string().contains("c2VjcmV0") && !b.to_string().contains("never-copied"));
            })
            .answer(serde_json::to_value(replication()).unwrap()),
    ]);
    let ctx = context(client);

    let result = smbp_operator::replications::reconcile(Arc::new(replication()), ctx.clone()).await;
    server.done(ctx).await;

    assert!(result.is_ok(), "{result:?}");
    assert_ne!(result.unwrap(), Action::await_change());
}

/// A replication whose app does not exist makes nothing (and removes what it made): it says
/// why in its status and an Event, and waits.
#[tokio::test]
async fn a_replication_without_its_app_makes_nothing() {
    let mut r = replication();
    r.spec.connections.clear();
    r.spec.trusted_cas.clear();
    let (client, server) = serve(vec![
        get("/apis").answer(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})),
        get(&format!("{APPS}/fleet")).not_found(),
        get_metadata("/api/v1/namespaces/bigpeer/configmaps")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        get_metadata("/api/v1/namespaces/bigpeer/services")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        get_metadata("/apis/networking.k8s.io/v1/namespaces/bigpeer/networkpolicies")
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![])),
        get("/api/v1/namespaces/bigpeer/services/orders-replication").not_found(),
        post("/apis/events.k8s.io/v1/namespaces/bigpeer/events")
            .body(|e| assert_eq!(e["reason"], "AppNotFound", "{e}"))
            .echo(),
        apply(&format!("{REPLS}/orders/status"))
            .body(|b| {
                assert_eq!(b["status"]["conditions"][0]["reason"], "AppNotFound", "{b}");
                assert!(b["status"].get("endpoint").is_none(), "{b}");
            })
            .answer(serde_json::to_value(replication()).unwrap()),
    ]);
    let ctx = context(client);
    let result = smbp_operator::replications::reconcile(Arc::new(r), ctx.clone()).await;
    server.done(ctx).await;
    result.expect("reconciled");
}
