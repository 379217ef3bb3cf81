//! The app and API key controllers against the mock API server: the one write to an app's
//! spec (its generated ID, by server-side apply, with the app's uid as precondition), a key
//! made with `create`, and the race where someone made the key's Secret first (the key then
//! is the one in that Secret: never overwritten).

use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use smbp_operator::access::key::{HashRecord, fingerprint, is_app_id};
use smbp_operator::api::{BigPeerApiKey, BigPeerApp};
use smbp_operator::apps::AppContext;
use smbp_operator::controller::Context;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;

use crate::fixtures::{NS, recorder};
use crate::server::{Exchange, apply, get, post, serve};

const APPS: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapps";
const KEYS: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapikeys";
const SECRETS: &str = "/api/v1/namespaces/bigpeer/secrets";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/bigpeer/events";
const APP_ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";
/// A key someone else's write put in the Secret first.
const THEIRS: &str = "bpk_made-by-the-earlier-write-of-this-operator-000";

fn context(client: kube::Client) -> Arc<Context> {
    Arc::new(Context::new(
        client.clone(),
        recorder(&client),
        Arc::new(Metrics::default()),
        RelatedImages::default(),
    ))
}

fn app(app_id: Option<&str>, ready: bool) -> Value {
    let mut a = json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "fleet", "namespace": NS, "uid": "uid-fleet", "generation": 1,
                     "resourceVersion": "5"},
        "spec": {"bigPeerRef": {"name": "prod"}},
    });
    if let Some(id) = app_id {
        a["spec"]["appId"] = json!(id);
    }
    if ready {
        a["status"] = json!({"appId": app_id, "conditions": [{
            "type": "Ready", "status": "True", "reason": "AppServed", "message": "served",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    }
    a
}

fn key() -> BigPeerApiKey {
    serde_json::from_value(json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApiKey",
        "metadata": {"name": "backend", "namespace": NS, "uid": "uid-backend", "generation": 1},
        "spec": {"appRef": {"name": "fleet"}, "expiresAt": "2100-01-01T00:00:00Z",
                 "permissions": {"read": {"everything": true}}},
    }))
    .unwrap()
}

/// The Secret of the key, as an earlier write of the operator made it.
fn their_secret() -> Value {
    let s = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("backend-api-key".into()),
            namespace: Some(NS.into()),
            owner_references: Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "smbp.io/v1alpha1".into(),
                    kind: "BigPeerApiKey".into(),
                    name: "backend".into(),
                    uid: "uid-backend".into(),
                    controller: Some(true),
                    ..Default::default()
                },
            ]),
            annotations: Some(
                [(
                    "smbp.io/rotated-at".to_string(),
                    "2026-01-01T00:00:00Z".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        data: Some(
            [
                ("apiKey".to_string(), ByteString(THEIRS.into())),
                (
                    "hash".to_string(),
                    ByteString(
                        serde_json::to_vec(&HashRecord::with_salt(THEIRS, &[7; 16])).unwrap(),
                    ),
                ),
            ]
            .into(),
        ),
        ..Default::default()
    };
    serde_json::to_value(s).unwrap()
}

fn event(reason: &'static str, check: impl FnOnce(&str) + Send + 'static) -> Exchange {
    post(EVENTS)
        .body(move |e| {
            assert_eq!(e["reason"], reason, "{e}");
            check(e["note"].as_str().unwrap_or_default());
        })
        .echo()
}

/// An app without `spec.appId` gets one: a random UUID, server-side applied with the
/// operator's field manager (not forced: a value someone else set is never overwritten) and
/// the app's uid (a deleted and re-created app is never written), announced by an Event.
#[tokio::test]
async fn an_app_without_an_id_gets_a_generated_one_once() {
    let (client, server) = serve(vec![
        apply(&format!("{APPS}/fleet"))
            .query(&[("fieldManager", "smbp-operator")])
            .body(|b| {
                assert_eq!(b["metadata"]["uid"], "uid-fleet", "{b}");
                assert!(is_app_id(b["spec"]["appId"].as_str().unwrap()), "{b}");
                assert_eq!(
                    b["spec"].as_object().unwrap().len(),
                    1,
                    "only spec.appId: {b}"
                );
            })
            .answer(app(Some(APP_ID), false)),
        event("AppIdGenerated", |note| {
            let id = note
                .trim_start_matches("generated app ID ")
                .trim_end_matches(" (spec.appId)");
            assert!(is_app_id(id), "{note}");
        }),
        // Observe: the BigPeer is not there.
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod").not_found(),
        get(APPS).answer(
            json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerAppList",
                                "metadata": {}, "items": [app(Some(APP_ID), false)]}),
        ),
        event("BigPeerNotFound", |note| {
            assert!(note.contains("prod"), "{note}")
        }),
        apply(&format!("{APPS}/fleet/status"))
            .body(|b| {
                assert_eq!(b["status"]["appId"], APP_ID, "{b}");
                assert_eq!(
                    b["status"]["conditions"][0]["reason"], "BigPeerNotFound",
                    "{b}"
                );
            })
            .answer(app(Some(APP_ID), false)),
    ]);
    let ctx = context(client);
    let app: BigPeerApp = serde_json::from_value(app(None, false)).unwrap();

    let result =
        smbp_operator::apps::reconcile(Arc::new(app), Arc::new(AppContext::new(ctx.clone()))).await;
    server.done(ctx).await;

    assert_ne!(result.expect("reconciled"), Action::await_change());
}

/// The first key is made with `create` and announced by its fingerprint only.
#[tokio::test]
async fn a_new_key_is_created_and_only_its_fingerprint_told() {
    let made = Arc::new(std::sync::Mutex::new(String::new()));
    let (seen, told, statused) = (made.clone(), made.clone(), made.clone());
    let (client, server) = serve(vec![
        get(&format!("{APPS}/fleet")).answer(app(Some(APP_ID), true)),
        get(&format!("{SECRETS}/backend-api-key")).not_found(),
        post(SECRETS)
            .body(move |b| {
                let s: Secret = serde_json::from_value(b.clone()).unwrap();
                let data = s.data.unwrap();
                let key = String::from_utf8(data["apiKey"].0.clone()).unwrap();
                assert!(key.starts_with("bpk_") && key.len() == 47, "{key}");
                assert_eq!(String::from_utf8(data["appId"].0.clone()).unwrap(), APP_ID);
                let labels = s.metadata.labels.unwrap();
                assert_eq!(labels["smbp.io/api-key"], "backend");
                assert_eq!(labels["smbp.io/app"], "fleet");
                assert_eq!(labels["smbp.io/big-peer"], "prod");
                assert_eq!(s.metadata.owner_references.unwrap()[0].uid, "uid-backend");
                *seen.lock().unwrap() = key;
            })
            .echo(),
        event("ApiKeyCreated", move |note| {
            let key = told.lock().unwrap().clone();
            assert!(
                note.contains(&fingerprint(&key)) && !note.contains(&key),
                "{note}"
            );
        }),
        apply(&format!("{KEYS}/backend/status"))
            .body(move |b| {
                let key = statused.lock().unwrap().clone();
                assert!(!b.to_string().contains(&key), "{b}");
                assert_eq!(b["status"]["fingerprint"], fingerprint(&key), "{b}");
                assert_eq!(b["status"]["secretName"], "backend-api-key", "{b}");
                assert_eq!(b["status"]["conditions"][0]["reason"], "KeyActive", "{b}");
            })
            .answer(serde_json::to_value(key()).unwrap()),
    ]);
    let ctx = context(client);

    let result = smbp_operator::apikeys::reconcile(Arc::new(key()), ctx.clone()).await;
    server.done(ctx).await;

    result.expect("reconciled");
    assert!(!made.lock().unwrap().is_empty());
}

/// The cache had no Secret, but one was made meanwhile (`create` answers AlreadyExists): the
/// operator reads it, and it being the key's own, the key is the one in it. Nothing is
/// overwritten and nothing is announced as made.
#[tokio::test]
async fn a_key_whose_secret_was_made_first_is_that_secrets_key() {
    let (client, server) = serve(vec![
        get(&format!("{APPS}/fleet")).answer(app(Some(APP_ID), true)),
        get(&format!("{SECRETS}/backend-api-key")).not_found(),
        post(SECRETS).fail(
            409,
            "AlreadyExists",
            "secrets \"backend-api-key\" already exists",
        ),
        get(&format!("{SECRETS}/backend-api-key")).answer(their_secret()),
        apply(&format!("{KEYS}/backend/status"))
            .body(|b| {
                assert_eq!(b["status"]["fingerprint"], fingerprint(THEIRS), "{b}");
                assert!(!b.to_string().contains(THEIRS), "{b}");
            })
            .answer(serde_json::to_value(key()).unwrap()),
    ]);
    let ctx = context(client);

    let result = smbp_operator::apikeys::reconcile(Arc::new(key()), ctx.clone()).await;
    server.done(ctx).await;

    result.expect("reconciled");
}

/// A Secret of that name that is not the key's own is left alone: the key says so.
#[tokio::test]
async fn a_secret_of_the_keys_name_made_by_someone_else_is_left_alone() {
    let mut theirs = their_secret();
    theirs["metadata"]["ownerReferences"] = json!(null);
    let (client, server) = serve(vec![
        get(&format!("{APPS}/fleet")).answer(app(Some(APP_ID), true)),
        get(&format!("{SECRETS}/backend-api-key")).answer(theirs),
        event("SecretNameInUse", |_| {}),
        apply(&format!("{KEYS}/backend/status"))
            .body(|b| {
                assert_eq!(
                    b["status"]["conditions"][0]["reason"], "SecretNameInUse",
                    "{b}"
                );
                assert!(b["status"].get("fingerprint").is_none(), "{b}");
                assert!(b["status"].get("secretName").is_none(), "{b}");
            })
            .answer(serde_json::to_value(key()).unwrap()),
    ]);
    let ctx = context(client);

    let result = smbp_operator::apikeys::reconcile(Arc::new(key()), ctx.clone()).await;
    server.done(ctx).await;

    result.expect("reconciled");
}
