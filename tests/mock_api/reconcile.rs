//! `bigpeer::reconcile` end to end against the mock API server, and `error_policy`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::core::Status;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;
use smbp_operator::bigpeer::{error_policy, reconcile};
use smbp_operator::build::{BuildInputs, DesiredObject, access, desired};
use smbp_operator::controller::Context;
use smbp_operator::controller::error::Error;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;

use crate::fixtures::{
    CORE, PODS, SELECTOR, bigpeer_without_addons, collection, event, list, meta, metadata_list,
    recorder,
};
use crate::server::{Exchange, apply, get, get_metadata, json_patch, serve};

const BIGPEER: &str = "/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeers/prod";

/// The operator's context, every client in it the mock's.
fn context(client: kube::Client) -> Arc<Context> {
    Arc::new(Context::new(
        client.clone(),
        recorder(&client),
        Arc::new(Metrics::default()),
        RelatedImages::default(),
    ))
}

fn with_finalizer(mut bp: BigPeer) -> BigPeer {
    bp.metadata.finalizers = Some(vec!["smbp.io/cleanup".into()]);
    bp
}

/// A new BigPeer first gets the operator's finalizer (so that its volumes are dealt with
/// when it is deleted), and nothing else happens until that change comes back.
#[tokio::test]
async fn a_new_bigpeer_first_gets_the_finalizer() {
    let bp = bigpeer_without_addons();
    let (client, server) = serve(vec![
        json_patch(BIGPEER)
            .body_eq(json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["smbp.io/cleanup"]},
            ]))
            .answer(serde_json::to_value(with_finalizer(bp.clone())).unwrap()),
    ]);
    let ctx = context(client);

    let result = reconcile(Arc::new(bp), ctx.clone()).await;
    server.done(ctx).await;

    assert_eq!(result.expect("reconciled"), Action::await_change());
}

/// The steps of one reconcile of a new BigPeer whose key Secrets are not there yet.
fn first_sync(bp: &BigPeer) -> Vec<Exchange> {
    let no_addons_no_workloads = BuildInputs {
        workloads: false,
        cert_manager: false,
        strimzi: false,
        gateway_api: false,
        openshift_route: false,
        prometheus_operator: false,
        ..BuildInputs::offline(bp, vec![])
    };
    let mut objects = desired(bp, &no_addons_no_workloads);
    // The servers' access configuration, with no app yet, beside the configuration.
    let no_apps = access::Access {
        shared: access::shared(bp),
        ..Default::default()
    };
    let at = 1 + objects
        .iter()
        .position(|o| o.resource.kind == "ConfigMap")
        .expect("a ConfigMap");
    objects.insert(
        at,
        DesiredObject::typed(&access::secret(
            bp,
            &access::render(&no_apps, Timestamp::now()),
        )),
    );
    let mut steps = vec![
        // Discovery: no add-on installed.
        get("/apis").answer(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})),
        // Observe: nothing exists yet, and two key Secrets are missing.
        get("/apis/apps/v1/namespaces/bigpeer/statefulsets/prod-store").not_found(),
        get("/apis/apps/v1/namespaces/bigpeer/deployments/prod-subscription").not_found(),
        get("/apis/apps/v1/namespaces/bigpeer/deployments/prod-api").not_found(),
        get("/api/v1/namespaces/bigpeer/pods")
            .query(&[("labelSelector", PODS)])
            .answer(list("Pod", vec![])),
        get_metadata("/api/v1/namespaces/bigpeer/secrets/prod-ca-key")
            .answer(meta("prod-ca-key", None)),
        get_metadata("/api/v1/namespaces/bigpeer/secrets/prod-in-band-key").not_found(),
        get_metadata("/api/v1/namespaces/bigpeer/secrets/prod-jwt-key").not_found(),
        // The apps of the BigPeer's namespace: none.
        get("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapps").answer(json!({
            "apiVersion": "smbp.io/v1alpha1",
            "kind": "BigPeerAppList",
            "metadata": {"resourceVersion": "1"},
            "items": [],
        })),
    ];
    // Apply: the inventory finds nothing; every object but the workloads is applied.
    steps.extend(CORE.iter().map(|path| {
        get_metadata(path)
            .query(&[("labelSelector", SELECTOR)])
            .answer(metadata_list(vec![]))
    }));
    for o in &objects {
        assert!(
            !matches!(o.resource.kind.as_str(), "StatefulSet" | "Deployment"),
            "no workload before the keys are there: {}",
            o.key()
        );
        let (kind, name) = (o.resource.kind.clone(), o.name.clone());
        steps.push(
            apply(&format!("{}/{}", collection(&o.resource), o.name))
                .body(move |b| {
                    assert_eq!(
                        (&b["kind"], &b["metadata"]["name"]),
                        (&json!(kind), &json!(name))
                    );
                })
                .echo(),
        );
    }
    // Tell: one Created Event naming every object, the first as its related object.
    let keys: Vec<String> = objects.iter().map(|o| o.key()).collect();
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (kind, name) = (objects[0].resource.kind.clone(), objects[0].name.clone());
    steps.push(event("Created", &names).body(move |e| {
        assert_eq!(
            (&e["related"]["kind"], &e["related"]["name"]),
            (&json!(kind), &json!(name)),
            "{e}"
        );
    }));
    // Status: not ready, because of the missing keys.
    steps.push(
        apply(&format!("{BIGPEER}/status"))
            .body(|b| {
                let keys = condition(b, "KeysReady");
                assert_eq!(keys["status"], "False", "{b}");
                assert_eq!(keys["reason"], "KeySecretMissing", "{b}");
                let ready = condition(b, "Ready");
                assert_eq!(ready["status"], "False", "{b}");
                let message = ready["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("prod-in-band-key, prod-jwt-key"),
                    "{message}"
                );
            })
            .answer(serde_json::to_value(bp).unwrap()),
    );
    steps
}

fn condition<'a>(status_patch: &'a Value, type_: &str) -> &'a Value {
    status_patch["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition in {status_patch}"))
}

/// The pipeline, once the finalizer is there, for a BigPeer whose key Secrets are missing:
/// what can exist without them is created and announced, the workloads wait, the status
/// says why, and the BigPeer is looked at again soon.
#[tokio::test]
async fn a_bigpeer_without_its_keys_gets_everything_but_the_workloads() {
    let bp = with_finalizer(bigpeer_without_addons());
    let (client, server) = serve(first_sync(&bp));
    let ctx = context(client);

    let result = reconcile(Arc::new(bp), ctx.clone()).await;
    server.done(ctx).await;

    assert_eq!(
        result.expect("reconciled"),
        Action::requeue(Duration::from_secs(5))
    );
}

/// A failed reconcile is told to the user as a `ReconcileFailed` Event whose message starts
/// with the category and says what the operator was doing, and it is retried.
#[tokio::test]
async fn a_failure_becomes_a_reconcile_failed_event_led_by_its_category() {
    let bp = with_finalizer(bigpeer_without_addons());
    let forbidden = Status {
        message: "configmaps \"prod-config\" is forbidden".into(),
        reason: "Forbidden".into(),
        code: 403,
        ..Status::default()
    };
    let err = Error::kube(
        "applying ConfigMap/prod-config",
        kube::Error::Api(Box::new(forbidden)),
    );
    let (client, server) = serve(vec![
        event(
            "ReconcileFailed",
            &["configmaps \"prod-config\" is forbidden"],
        )
        .body(|e| {
            let note = e["note"].as_str().unwrap_or_default();
            assert!(
                note.starts_with("Forbidden: applying ConfigMap/prod-config: "),
                "{note}"
            );
        }),
    ]);
    let ctx = context(client);

    let action = error_policy(Arc::new(bp), &err, ctx.clone());
    server.done(ctx).await;

    assert_ne!(action, Action::await_change(), "a failure is retried");
}
