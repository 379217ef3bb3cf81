//! `controller::apply::apply_and_prune`: one inventory LIST per owned kind, one server-side
//! apply per desired object, one DELETE per owned object no longer desired.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::core::ApiResource;
use serde_json::{Value, json};
use smbp_operator::api::reason::Reason;
use smbp_operator::build::labels::instance_selector;
use smbp_operator::build::{BuildInputs, DesiredObject, desired};
use smbp_operator::controller::apply::{LastApplied, apply_and_prune};
use smbp_operator::controller::cache::Reader;
use smbp_operator::decide::observed::Integrations;

use crate::fixtures::{CORE, NAME, NS, SELECTOR, UID, bigpeer, collection, meta, metadata_list};
use crate::server::{Exchange, apply, delete, get_metadata, serve};

const CERT_MANAGER: [&str; 2] = [
    "/apis/cert-manager.io/v1/namespaces/bigpeer/certificates",
    "/apis/cert-manager.io/v1/namespaces/bigpeer/issuers",
];
const GATEWAY_API: [&str; 1] = ["/apis/gateway.networking.k8s.io/v1/namespaces/bigpeer/httproutes"];
const PROMETHEUS_OPERATOR: [&str; 2] = [
    "/apis/monitoring.coreos.com/v1/namespaces/bigpeer/servicemonitors",
    "/apis/monitoring.coreos.com/v1/namespaces/bigpeer/podmonitors",
];
const OPENSHIFT_ROUTE: [&str; 1] = ["/apis/route.openshift.io/v1/namespaces/bigpeer/routes"];
const STRIMZI: [&str; 2] = [
    "/apis/kafka.strimzi.io/v1/namespaces/bigpeer/kafkatopics",
    "/apis/kafka.strimzi.io/v1/namespaces/bigpeer/kafkausers",
];

/// TLSRoutes (Gateway API 1.5 and later), owned by replications.
const TLS_ROUTE: [&str; 1] = ["/apis/gateway.networking.k8s.io/v1/namespaces/bigpeer/tlsroutes"];

use smbp_operator::testing::all_addons;

/// Every owned kind's collection when every add-on is installed, in inventory order.
fn every_kind() -> Vec<&'static str> {
    [
        &CORE[..],
        &CERT_MANAGER,
        &GATEWAY_API,
        &PROMETHEUS_OPERATOR,
        &OPENSHIFT_ROUTE,
        &STRIMZI,
        &TLS_ROUTE,
    ]
    .concat()
}

/// The BigPeer's label selector, as the pipeline passes it.
fn selector() -> kube::core::Selector {
    let s = instance_selector(NAME);
    assert_eq!(s.to_string(), SELECTOR);
    s
}

/// The inventory LIST of one kind (metadata only, by the BigPeer's labels), answered with
/// `items`.
fn inventory(path: &str, items: Vec<Value>) -> Exchange {
    get_metadata(path)
        .query(&[("labelSelector", SELECTOR)])
        .answer(metadata_list(items))
}

/// The server-side apply of `obj`, answered with the object as sent.
fn applied(obj: &DesiredObject) -> Exchange {
    apply(&format!("{}/{}", collection(&obj.resource), obj.name))
        .body_eq(obj.body.clone())
        .echo()
}

fn config_map(name: &str) -> DesiredObject {
    DesiredObject::new(
        ApiResource::erase::<ConfigMap>(&()),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": NS}, "data": {"k": "v"}}),
    )
}

fn service_account(name: &str) -> DesiredObject {
    DesiredObject::new(
        ApiResource::erase::<ServiceAccount>(&()),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": name, "namespace": NS}}),
    )
}

/// Everything the sample BigPeer asks for, with every add-on installed.
fn sample_objects() -> Vec<DesiredObject> {
    let bp = bigpeer();
    let objects = desired(&bp, &BuildInputs::offline(&bp, vec!["kafka:9093".into()]));
    let kinds: Vec<&str> = objects.iter().map(|o| o.resource.kind.as_str()).collect();
    for kind in [
        "StatefulSet",
        "Deployment",
        "ConfigMap",
        "Certificate",
        "KafkaTopic",
    ] {
        assert!(
            kinds.contains(&kind),
            "the sample asks for a {kind}: {kinds:?}"
        );
    }
    objects
}

fn keys(objects: &[DesiredObject]) -> Vec<String> {
    objects.iter().map(DesiredObject::key).collect()
}

/// A new BigPeer: nothing in the inventory, so every object is applied (as the operator's
/// field manager, forcing) and reported created; nothing is deleted.
#[tokio::test]
async fn first_reconcile_applies_every_object_and_reports_it_created() {
    let objects = sample_objects();
    let mut scenario: Vec<Exchange> = every_kind()
        .into_iter()
        .map(|path| inventory(path, vec![]))
        .collect();
    scenario.extend(objects.iter().map(applied));
    let (client, server) = serve(scenario);

    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        all_addons(),
        &objects,
    )
    .await;
    server.done(client).await;

    let out = result.expect("applied");
    assert_eq!(out.created, keys(&objects));
    assert!(out.pruned.is_empty(), "{:?}", out.pruned);
    assert!(out.pending.is_empty(), "{:?}", out.pending);
}

/// A settled BigPeer the operator has not applied since it started: every object is in the
/// inventory, so each is applied again (a no-op for the API server) but none is reported
/// created, and nothing is deleted.
#[tokio::test]
async fn steady_state_creates_nothing_and_deletes_nothing() {
    let objects = sample_objects();
    let mut scenario: Vec<Exchange> = every_kind()
        .into_iter()
        .map(|path| {
            let owned = objects
                .iter()
                .filter(|o| collection(&o.resource) == path)
                .map(|o| meta(&o.name, Some(UID)))
                .collect();
            inventory(path, owned)
        })
        .collect();
    scenario.extend(objects.iter().map(applied));
    let (client, server) = serve(scenario);

    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        all_addons(),
        &objects,
    )
    .await;
    server.done(client).await;

    let out = result.expect("applied");
    assert!(out.created.is_empty(), "{:?}", out.created);
    assert!(out.pruned.is_empty(), "{:?}", out.pruned);
}

/// The inventory of a settled BigPeer whose objects all have `resourceVersion` `rv`.
fn settled_inventory(objects: &[DesiredObject], rv: &str) -> Vec<Exchange> {
    every_kind()
        .into_iter()
        .map(|path| {
            let owned = objects
                .iter()
                .filter(|o| collection(&o.resource) == path)
                .map(|o| {
                    let mut m = meta(&o.name, Some(UID));
                    m["metadata"]["resourceVersion"] = json!(rv);
                    m
                })
                .collect();
            inventory(path, owned)
        })
        .collect()
}

/// The server-side apply of `obj`, answered with the object at `resourceVersion` `rv`.
fn applied_at(obj: &DesiredObject, rv: &str) -> Exchange {
    let mut answer = obj.body.clone();
    answer["metadata"]["resourceVersion"] = json!(rv);
    apply(&format!("{}/{}", collection(&obj.resource), obj.name))
        .body_eq(obj.body.clone())
        .answer(answer)
}

/// Only what differs is written: after one apply, a reconcile that finds every object at the
/// `resourceVersion` that apply returned applies nothing; a desired object that changed, or
/// an object changed in the cluster (its `resourceVersion` moved: drift, or its status), is
/// applied again; and a deleted BigPeer's records go.
#[tokio::test]
async fn unchanged_objects_are_not_applied_again_and_drift_is() {
    let objects = sample_objects();
    let last = LastApplied::default();
    let bp = bigpeer();

    let mut scenario = settled_inventory(&objects, "7");
    scenario.extend(objects.iter().map(|o| applied_at(o, "7")));
    // Nothing changed: the inventory only.
    scenario.extend(settled_inventory(&objects, "7"));
    // The first object was edited in the cluster: it alone is applied again.
    let mut drifted = settled_inventory(&objects, "7");
    let first = &objects[0];
    let path = collection(&first.resource);
    let i = every_kind().iter().position(|p| *p == path).unwrap();
    drifted[i] = inventory(&path, {
        let mut m = meta(&first.name, Some(UID));
        m["metadata"]["resourceVersion"] = json!("8");
        objects
            .iter()
            .filter(|o| collection(&o.resource) == path && o.name != first.name)
            .map(|o| {
                let mut m = meta(&o.name, Some(UID));
                m["metadata"]["resourceVersion"] = json!("7");
                m
            })
            .chain(std::iter::once(m))
            .collect()
    });
    scenario.extend(drifted);
    scenario.push(applied_at(first, "9"));
    let (client, server) = serve(scenario);

    let run = |objects: Vec<DesiredObject>| {
        let (client, last, bp) = (client.clone(), &last, &bp);
        async move {
            apply_and_prune(
                &Reader::api(&client),
                last,
                bp,
                &selector(),
                all_addons(),
                &objects,
            )
            .await
        }
    };
    let first_run = run(objects.clone()).await.expect("applied");
    assert!(first_run.created.is_empty());
    assert_eq!(last.len(), objects.len());
    let quiet = run(objects.clone()).await.expect("nothing to apply");
    assert!(quiet.created.is_empty() && quiet.pruned.is_empty() && quiet.pending.is_empty());
    run(objects.clone()).await.expect("drift restored");
    server.done(client).await;

    last.forget("someone-else");
    assert_eq!(last.len(), objects.len());
    last.forget(UID);
    assert!(last.is_empty());
}

/// Of the objects found by label, only those this BigPeer owns, that are not already being
/// deleted and that the spec no longer asks for are deleted; the store StatefulSet never is.
#[tokio::test]
async fn prunes_only_owned_leftovers_and_never_the_store() {
    let objects = [service_account("prod-bigpeer"), config_map("prod-config")];
    let mut leaving = meta("prod-leaving", Some(UID));
    leaving["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
    let mut scenario = vec![
        inventory(CORE[0], vec![meta("prod-store", Some(UID))]),
        inventory(CORE[1], vec![meta("prod-bigpeer", Some(UID))]),
        inventory(
            CORE[2],
            vec![
                meta("prod-config", Some(UID)),
                meta("prod-old", Some(UID)),
                meta("another-bigpeers", Some("uid-other")),
                meta("made-by-hand", None),
            ],
        ),
        inventory(CORE[3], vec![leaving]),
    ];
    scenario.extend(CORE[4..].iter().map(|path| inventory(path, vec![])));
    scenario.extend(objects.iter().map(applied));
    scenario.push(
        delete("/api/v1/namespaces/bigpeer/configmaps/prod-old")
            .body(|b| assert_eq!(b["propagationPolicy"], "Background", "{b}"))
            .deleted(),
    );
    let (client, server) = serve(scenario);

    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        Integrations::default(),
        &objects,
    )
    .await;
    server.done(client).await;

    let out = result.expect("applied");
    assert!(out.created.is_empty(), "{:?}", out.created);
    assert_eq!(out.pruned, ["ConfigMap/prod-old"]);
}

/// Add-on kinds are listed only when the cluster serves the add-on: with none, the nine
/// built-in kinds; with cert-manager and Strimzi, theirs as well and no others.
#[tokio::test]
async fn lists_add_on_kinds_only_when_the_add_on_is_installed() {
    let (client, server) = serve(CORE.iter().map(|p| inventory(p, vec![])).collect());
    let none = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        Integrations::default(),
        &[],
    )
    .await;
    server.done(client).await;
    none.expect("applied");

    let some = Integrations {
        cert_manager: true,
        strimzi: true,
        ..Integrations::default()
    };
    let paths = [&CORE[..], &CERT_MANAGER, &STRIMZI].concat();
    let (client, server) = serve(paths.iter().map(|p| inventory(p, vec![])).collect());
    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        some,
        &[],
    )
    .await;
    server.done(client).await;
    result.expect("applied");
}

/// A workload whose controller has not yet observed the applied spec is reported pending.
#[tokio::test]
async fn reports_a_workload_not_yet_observed_as_pending() {
    let sts = DesiredObject::new(
        ApiResource::erase::<StatefulSet>(&()),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "prod-store", "namespace": NS}}),
    );
    let mut after = sts.body.clone();
    after["metadata"]["generation"] = json!(2);
    after["status"] = json!({"observedGeneration": 1});
    let mut scenario: Vec<Exchange> = CORE
        .iter()
        .map(|p| {
            let found = if p.ends_with("/statefulsets") {
                vec![meta("prod-store", Some(UID))]
            } else {
                vec![]
            };
            inventory(p, found)
        })
        .collect();
    scenario.push(
        apply("/apis/apps/v1/namespaces/bigpeer/statefulsets/prod-store")
            .body_eq(sts.body.clone())
            .answer(after),
    );
    let (client, server) = serve(scenario);

    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        Integrations::default(),
        &[sts],
    )
    .await;
    server.done(client).await;

    let out = result.expect("applied");
    assert_eq!(out.pending, ["StatefulSet/prod-store"]);
    assert!(out.created.is_empty());
}

/// An apply the API server forbids stops the reconcile with the category Forbidden and a
/// message naming the object; nothing after it is applied and nothing is pruned.
#[tokio::test]
async fn forbidden_apply_names_the_object() {
    let objects = [config_map("prod-config"), service_account("prod-bigpeer")];
    let mut scenario: Vec<Exchange> = CORE.iter().map(|p| inventory(p, vec![])).collect();
    scenario.push(
        apply("/api/v1/namespaces/bigpeer/configmaps/prod-config").fail(
            403,
            "Forbidden",
            "configmaps \"prod-config\" is forbidden: User \"system:serviceaccount:smbp-system:smbp-operator-controller-manager\" cannot patch resource \"configmaps\"",
        ),
    );
    let (client, server) = serve(scenario);

    let result = apply_and_prune(
        &Reader::api(&client),
        &LastApplied::default(),
        &bigpeer(),
        &selector(),
        Integrations::default(),
        &objects,
    )
    .await;
    server.done(client).await;

    let err = result.expect_err("the apply is forbidden");
    assert_eq!(err.reason(), Reason::Forbidden);
    let message = err.to_string();
    assert!(
        message.starts_with("applying ConfigMap/prod-config: "),
        "{message}"
    );
    assert!(message.contains("cannot patch"), "{message}");
}
