//! Reads through the watch caches (`controller::cache`): with the caches filled, observing a
//! BigPeer reads nothing from the API server, and a reconcile with nothing to do makes no
//! request at all (no LIST, no GET, no write).

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use smbp_operator::api::{BigPeerApiKey, BigPeerApp};
use smbp_operator::bigpeer::observe::observe;
use smbp_operator::build::labels::instance_selector;
use smbp_operator::build::{BuildInputs, DesiredObject, desired, pod};
use smbp_operator::controller::apply::{LastApplied, apply_and_prune};
use smbp_operator::controller::cache::{Index, Indexes, Reader, Stores};
use smbp_operator::decide::observed::Integrations;

use crate::fixtures::{NAME, NS, bigpeer_without_addons, collection};
use crate::server::{apply, serve};

/// Stores and the writers that fill them, as the watches would.
struct Caches {
    stores: Stores,
    statefulsets: Writer<StatefulSet>,
    deployments: Writer<Deployment>,
    services: Writer<Service>,
    ingresses: Writer<Ingress>,
    config_maps: Writer<PartialObjectMeta<ConfigMap>>,
    service_accounts: Writer<PartialObjectMeta<ServiceAccount>>,
    disruption_budgets: Writer<PartialObjectMeta<PodDisruptionBudget>>,
    network_policies: Writer<PartialObjectMeta<NetworkPolicy>>,
    secrets: Writer<PartialObjectMeta<Secret>>,
    apps: Writer<BigPeerApp>,
    key_secrets: Writer<Secret>,
    /// The reads go through the indexes, fed the same events as the stores.
    indexes: Indexes,
}

fn caches() -> Caches {
    let (statefulsets, sts) = reflector::store();
    let (deployments, dep) = reflector::store();
    let (services, svc) = reflector::store();
    let (ingresses, ing) = reflector::store();
    let (config_maps, cm) = reflector::store();
    let (service_accounts, sa) = reflector::store();
    let (disruption_budgets, pdb) = reflector::store();
    let (network_policies, np) = reflector::store();
    let (pods, _) = reflector::store::<Pod>();
    let (secrets, sec) = reflector::store();
    let (claims, _) = reflector::store::<PersistentVolumeClaim>();
    let (bigpeers, _) = reflector::store();
    let (apps, app) = reflector::store();
    let (api_keys, _) = reflector::store();
    let (key_secrets, key_sec) = reflector::store();
    let (replications, _) = reflector::store();
    let (bridges, _) = reflector::store();
    let (bridge_pods, _) = reflector::store();
    let mut indexes = Indexes::default();
    for kind in [
        "StatefulSet",
        "Deployment",
        "Service",
        "Ingress",
        "ConfigMap",
        "ServiceAccount",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Pod",
        "Secret",
        "PersistentVolumeClaim",
        "BigPeerApp",
        "BigPeerApiKey",
    ] {
        indexes.of(kind);
    }
    Caches {
        stores: Stores {
            namespace: Some(NS.into()),
            statefulsets,
            deployments,
            services,
            ingresses,
            config_maps,
            service_accounts,
            disruption_budgets,
            network_policies,
            pods,
            secrets,
            claims,
            bigpeers,
            apps,
            api_keys,
            key_secrets,
            replications,
            bridges,
            bridge_pods,
            indexes: Some(indexes.clone()),
        },
        statefulsets: sts,
        deployments: dep,
        services: svc,
        ingresses: ing,
        config_maps: cm,
        service_accounts: sa,
        disruption_budgets: pdb,
        network_policies: np,
        secrets: sec,
        apps: app,
        key_secrets: key_sec,
        indexes,
    }
}

fn put<K: Resource + DeserializeOwned + Clone>(w: &mut Writer<K>, body: Value)
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    put_indexed(w, None, body);
}

fn put_indexed<K: Resource + DeserializeOwned + Clone>(
    w: &mut Writer<K>,
    index: Option<Index>,
    body: Value,
) where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let obj: K = serde_json::from_value(body).expect("a cached object");
    let event = Event::Apply(obj);
    if let Some(index) = index {
        index.observe(&event);
    }
    w.apply_watcher_event(&event);
}

fn metadata(body: &Value) -> Value {
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
           "metadata": body["metadata"]})
}

impl Caches {
    /// The object as the API server would have it after our apply, at `resourceVersion` 7.
    fn hold(&mut self, o: &DesiredObject) {
        let mut body = o.body.clone();
        body["metadata"]["resourceVersion"] = json!("7");
        let kind = o.resource.kind.as_str();
        let index = Some(self.indexes.of(kind));
        match kind {
            "StatefulSet" => put_indexed(&mut self.statefulsets, index, body),
            "Deployment" => put_indexed(&mut self.deployments, index, body),
            "Service" => put_indexed(&mut self.services, index, body),
            "Ingress" => put_indexed(&mut self.ingresses, index, body),
            "ConfigMap" => put_indexed(&mut self.config_maps, index, metadata(&body)),
            "ServiceAccount" => put_indexed(&mut self.service_accounts, index, metadata(&body)),
            "PodDisruptionBudget" => {
                put_indexed(&mut self.disruption_budgets, index, metadata(&body))
            }
            "NetworkPolicy" => put_indexed(&mut self.network_policies, index, metadata(&body)),
            other => panic!("{other} is not cached"),
        }
    }
}

/// What the BigPeer without add-ons asks for.
fn objects() -> Vec<DesiredObject> {
    let bp = bigpeer_without_addons();
    let mut inputs = BuildInputs::offline(&bp, vec!["kafka:9093".into()]);
    inputs.cert_manager = false;
    inputs.strimzi = false;
    inputs.gateway_api = false;
    inputs.openshift_route = false;
    inputs.prometheus_operator = false;
    desired(&bp, &inputs)
}

/// With every Secret the pods mount in the cache, observing reads nothing from the API server
/// (an empty scenario fails on any request) and finds the keys ready.
#[tokio::test]
async fn observing_from_the_caches_makes_no_request() {
    let bp = bigpeer_without_addons();
    let mut c = caches();
    for (_, secret, _) in pod::mounted_secrets(&bp) {
        put(
            &mut c.secrets,
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                   "metadata": {"name": secret, "namespace": NS}}),
        );
    }
    let (client, server) = serve(vec![]);

    let observed = observe(
        &Reader::cached(&client, &c.stores),
        &bp,
        Integrations::default(),
    )
    .await;
    server.done(client).await;

    let observed = observed.expect("observed");
    assert!(observed.keys.ready, "{:?}", observed.keys);
    assert!(observed.statefulset.is_none() && observed.pods.is_empty());
}

/// The inventory comes from the caches: the first apply after a start writes each object
/// once (no LIST), and the next reconcile, with every object still at the `resourceVersion`
/// that apply returned, makes no request at all.
#[tokio::test]
async fn a_reconcile_with_nothing_to_do_makes_no_request() {
    let objects = objects();
    let mut c = caches();
    for o in &objects {
        c.hold(o);
    }
    let scenario = objects
        .iter()
        .map(|o| {
            let mut answer = o.body.clone();
            answer["metadata"]["resourceVersion"] = json!("7");
            apply(&format!("{}/{}", collection(&o.resource), o.name))
                .body_eq(o.body.clone())
                .answer(answer)
        })
        .collect();
    let (client, server) = serve(scenario);
    let (last, bp, selector) = (
        LastApplied::default(),
        bigpeer_without_addons(),
        instance_selector(NAME),
    );
    let reader = Reader::cached(&client, &c.stores);

    let first = apply_and_prune(
        &reader,
        &last,
        &bp,
        &selector,
        Integrations::default(),
        &objects,
    )
    .await
    .expect("applied");
    let quiet = apply_and_prune(
        &reader,
        &last,
        &bp,
        &selector,
        Integrations::default(),
        &objects,
    )
    .await
    .expect("nothing to do");
    server.done(client).await;

    assert!(
        first.created.is_empty(),
        "all were in the cache: {:?}",
        first.created
    );
    assert!(quiet.created.is_empty() && quiet.pruned.is_empty() && quiet.pending.is_empty());
}

/// The operator's context reading through `stores`, every client in it the mock's.
fn cached_context(
    client: kube::Client,
    stores: &Stores,
) -> std::sync::Arc<smbp_operator::controller::Context> {
    let ctx = smbp_operator::controller::Context::new(
        client.clone(),
        crate::fixtures::recorder(&client),
        std::sync::Arc::new(smbp_operator::telemetry::metrics::Metrics::default()),
        Default::default(),
    );
    ctx.caches.register(stores.clone());
    std::sync::Arc::new(ctx)
}

/// A settled API key (its app served, its Secret as the operator wrote it, its status
/// written) costs no request at all: the Secret is not written again, nor the status.
#[tokio::test]
async fn a_settled_key_makes_no_request() {
    use smbp_operator::build::apikey;
    use smbp_operator::decide::apikey::{OsMint, plan};
    use std::sync::Arc;

    let mut c = caches();
    let app: BigPeerApp = serde_json::from_value(json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "fleet", "namespace": NS, "uid": "uid-fleet"},
        "spec": {"bigPeerRef": {"name": NAME}, "appId": "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "AppServed",
                   "message": "served", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    }))
    .unwrap();
    let mut key: BigPeerApiKey = serde_json::from_value(json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApiKey",
        "metadata": {"name": "backend", "namespace": NS, "uid": "uid-backend", "generation": 1},
        "spec": {"appRef": {"name": "fleet"}, "expiresAt": "2100-01-01T00:00:00Z",
                 "permissions": {}, "rotation": {"every": "720h", "gracePeriod": "1h"}},
    }))
    .unwrap();
    let now = k8s_openapi::jiff::Timestamp::now();
    let made = plan(&key.spec, None, None, now, &mut OsMint).material;
    let owner = apikey::Owner {
        app: "fleet",
        app_id: app.spec.app_id.as_deref().unwrap(),
        big_peer: NAME,
    };
    let mut secret = apikey::secret(&key, &owner, &made);
    secret.metadata.resource_version = Some("3".into());
    put(&mut c.apps, serde_json::to_value(&app).unwrap());
    put(&mut c.key_secrets, serde_json::to_value(&secret).unwrap());

    let written = Arc::new(std::sync::Mutex::new(Value::Null));
    let keep = written.clone();
    let (client, server) = serve(vec![
        apply("/apis/smbp.io/v1alpha1/namespaces/bigpeer/bigpeerapikeys/backend/status")
            .body(move |b| *keep.lock().unwrap() = b.clone())
            .answer(serde_json::to_value(&key).unwrap()),
    ]);
    let ctx = cached_context(client, &c.stores);
    let first = smbp_operator::apikeys::reconcile(Arc::new(key.clone()), ctx.clone()).await;
    server.done(ctx).await;
    first.expect("the status is written once");

    key.status = serde_json::from_value(written.lock().unwrap()["status"].clone()).unwrap();
    let (client, server) = serve(vec![]);
    let ctx = cached_context(client, &c.stores);
    let again = smbp_operator::apikeys::reconcile(Arc::new(key), ctx.clone()).await;
    server.done(ctx).await;
    again.expect("nothing to do");
}
