//! Watch caches: what a reconcile reads comes from reflector-backed stores fed by one watch per
//! kind, so a reconcile with nothing to do makes no LIST and no GET. The same watches wake the
//! controllers (each feed is copied for every controller it wakes: [`fan_out`]). Objects are
//! cached without `managedFields`; BigPeers, apps and keys without the copy of themselves
//! `kubectl apply` keeps in an annotation; workloads without their pod template; Pods without
//! their spec or annotations; the owned kinds whose body is never read (ConfigMaps,
//! ServiceAccounts, PodDisruptionBudgets, NetworkPolicies) and every Secret as metadata only,
//! without annotations (one made with `kubectl apply` carries its data in its
//! `last-applied-configuration` annotation).
//!
//! The only Secrets cached with their data are the API keys' own (label `smbp.io/api-key`, one
//! label-selected watch): the servers' access configuration is rendered from their hashes. A
//! shared token an app names is read with one GET when its Secret's `resourceVersion` changes
//! ([`SecretMemo`]).
//!
//! One BigPeer's objects are found through an [`Index`] per kind (namespace and instance label
//! to names), fed by the same watch events as the stores, so a reconcile's reads cost the same
//! with ten BigPeers or a thousand.
//!
//! [`Reader`] reads through the caches when it has them, and from the API server otherwise:
//! before a step that removes a pod the pipeline decides again on fresh reads, and the
//! mock-API tests read without caches.

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, PartialObjectMeta, Selector, SelectorExt};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::error::{Context, Result};
use crate::api::{
    API_KEY_LABEL, BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication,
};
use crate::facts::MANAGER;

/// A stream of changed objects, for the controller's triggers.
pub type Changes<K> = std::pin::Pin<Box<dyn Stream<Item = Result<K, watcher::Error>> + Send>>;

/// The stores of every watched namespace, registered as the controllers start.
#[derive(Default)]
pub struct Caches(std::sync::RwLock<Vec<Stores>>);

impl Caches {
    /// Make `stores` serve reads.
    pub fn register(&self, stores: Stores) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(stores);
    }

    /// The stores that serve namespace `ns`, if any.
    pub fn serving(&self, ns: &str) -> Option<Stores> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|s| s.serve(ns))
            .cloned()
    }
}

/// The stores of one watched namespace (`None`: every namespace).
#[derive(Clone)]
pub struct Stores {
    /// The namespace watched, or `None` for all.
    pub namespace: Option<String>,
    /// Owned StatefulSets.
    pub statefulsets: Store<StatefulSet>,
    /// Owned Deployments.
    pub deployments: Store<Deployment>,
    /// Owned Services.
    pub services: Store<Service>,
    /// Owned Ingresses.
    pub ingresses: Store<Ingress>,
    /// Owned ConfigMaps (metadata).
    pub config_maps: Store<PartialObjectMeta<ConfigMap>>,
    /// Owned ServiceAccounts (metadata).
    pub service_accounts: Store<PartialObjectMeta<ServiceAccount>>,
    /// Owned PodDisruptionBudgets (metadata).
    pub disruption_budgets: Store<PartialObjectMeta<PodDisruptionBudget>>,
    /// Owned NetworkPolicies (metadata).
    pub network_policies: Store<PartialObjectMeta<NetworkPolicy>>,
    /// Big Peer pods, without their spec.
    pub pods: Store<Pod>,
    /// Every Secret's metadata (labels and owners, no annotations): whether the Secrets the
    /// pods mount exist, the owned `<bp>-access`, and the version of a shared token's Secret.
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// The store's volume claims.
    pub claims: Store<PersistentVolumeClaim>,
    /// BigPeers.
    pub bigpeers: Store<BigPeer>,
    /// BigPeerApps.
    pub apps: Store<BigPeerApp>,
    /// BigPeerApiKeys.
    pub api_keys: Store<BigPeerApiKey>,
    /// The API keys' Secrets (label `smbp.io/api-key`), with their data.
    pub key_secrets: Store<Secret>,
    /// BigPeerReplications.
    pub replications: Store<BigPeerReplication>,
    /// BigPeerDataBridges.
    pub bridges: Store<BigPeerDataBridge>,
    /// The MongoDB connectors' pods (by their labels), without their spec.
    pub bridge_pods: Store<Pod>,
    /// The stores' objects by namespace and instance label, per kind (apps by their BigPeer,
    /// keys by their app); without it (`None`), reads filter every cached object.
    pub indexes: Option<Indexes>,
}

/// The watch streams that feed [`Stores`]: polling them fills the stores. Every feed but the
/// claims' wakes a controller.
pub struct Feeds {
    /// The owned kinds and the pods: they wake the BigPeer controller only.
    pub owned: OwnedFeeds,
    /// Secrets' metadata.
    pub secrets: Changes<PartialObjectMeta<Secret>>,
    /// BigPeers.
    pub bigpeers: Changes<BigPeer>,
    /// BigPeerApps.
    pub apps: Changes<BigPeerApp>,
    /// BigPeerApiKeys.
    pub api_keys: Changes<BigPeerApiKey>,
    /// The API keys' Secrets.
    pub key_secrets: Changes<Secret>,
    /// BigPeerReplications.
    pub replications: Changes<BigPeerReplication>,
    /// BigPeerDataBridges.
    pub bridges: Changes<BigPeerDataBridge>,
    /// The MongoDB connectors' pods.
    pub bridge_pods: Changes<Pod>,
    /// Claims: read only, never a trigger.
    pub read_only: Vec<Changes<()>>,
}

/// The feeds of the kinds a BigPeer owns, and of its pods.
pub struct OwnedFeeds {
    /// Owned StatefulSets.
    pub statefulsets: Changes<StatefulSet>,
    /// Owned Deployments.
    pub deployments: Changes<Deployment>,
    /// Owned Services.
    pub services: Changes<Service>,
    /// Owned Ingresses.
    pub ingresses: Changes<Ingress>,
    /// Owned ConfigMaps.
    pub config_maps: Changes<PartialObjectMeta<ConfigMap>>,
    /// Owned ServiceAccounts.
    pub service_accounts: Changes<PartialObjectMeta<ServiceAccount>>,
    /// Owned PodDisruptionBudgets.
    pub disruption_budgets: Changes<PartialObjectMeta<PodDisruptionBudget>>,
    /// Owned NetworkPolicies.
    pub network_policies: Changes<PartialObjectMeta<NetworkPolicy>>,
    /// Big Peer pods.
    pub pods: Changes<Pod>,
}

/// How an object is filed in its kind's [`Index`]: the instance it belongs to, if any.
pub type FileBy<K> = fn(&K) -> Option<String>;

/// An app is filed under the BigPeer it names.
fn app_big_peer(a: &BigPeerApp) -> Option<String> {
    Some(a.spec.big_peer_ref.name.clone())
}

/// A key is filed under the app it names.
fn key_app(k: &BigPeerApiKey) -> Option<String> {
    Some(k.spec.app_ref.name.clone())
}

/// A replication is filed under the app it names.
fn replication_app(r: &BigPeerReplication) -> Option<String> {
    Some(r.spec.app_ref.name.clone())
}

/// A data bridge is filed under the app it names.
fn bridge_app(b: &BigPeerDataBridge) -> Option<String> {
    Some(b.spec.app_ref.name.clone())
}

/// Filed by the `app.kubernetes.io/instance` label.
fn by_instance<K: Resource>(o: &K) -> Option<String> {
    o.labels().get(crate::build::labels::INSTANCE).cloned()
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match ns {
        Some(n) => Api::namespaced(client.clone(), n),
        None => Api::all(client.clone()),
    }
}

/// A reflector store of kind `K` in `ns` (`None`: every namespace) fed by a watch with `cfg`,
/// its objects without `managedFields` and trimmed by `trim`; the [`Index`] of its instance
/// labels; and the stream that fills both when polled.
pub fn full<K>(
    client: &Client,
    ns: Option<&str>,
    cfg: watcher::Config,
    trim: fn(&mut K),
    file_by: FileBy<K>,
) -> (Store<K>, Index, Changes<K>)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let index = Index::default();
    let filing = index.clone();
    let stream = watcher(api::<K>(client, ns), cfg)
        .default_backoff()
        .modify(move |o: &mut K| {
            o.managed_fields_mut().clear();
            trim(o);
        })
        .map_ok(move |event| {
            filing.observe_by(&event, file_by);
            event
        })
        .reflect(writer)
        .touched_objects();
    (reader, index, Box::pin(stream))
}

fn metadata<K>(
    client: &Client,
    ns: Option<&str>,
    cfg: watcher::Config,
) -> (
    Store<PartialObjectMeta<K>>,
    Index,
    Changes<PartialObjectMeta<K>>,
)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    // An `Api<PartialObjectMeta<K>>` watches metadata only. Annotations are never read from
    // these kinds, and can be large (`kubectl apply` keeps the whole last applied object in one).
    full::<PartialObjectMeta<K>>(
        client,
        ns,
        cfg,
        |o| o.metadata.annotations = None,
        by_instance,
    )
}

/// The annotation in which `kubectl apply` keeps the whole object last applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn without_last_applied<K: Resource>(o: &mut K) {
    o.annotations_mut().remove(LAST_APPLIED);
}

fn nothing<K>(_: &mut K) {}

fn read_only<K: Send + 'static>(s: Changes<K>) -> Changes<()> {
    Box::pin(s.map(|r| r.map(|_| ())))
}

/// Start the watches of one namespace (`None`: all): the stores, and the streams that fill
/// them (to be polled by the controllers, through [`fan_out`], and [`drive`]).
pub fn watch(client: &Client, ns: Option<&str>) -> (Stores, Feeds) {
    let owned =
        || watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let big_peer = || {
        watcher::Config::default().labels(&format!(
            "app.kubernetes.io/name={}",
            crate::build::labels::APP_NAME
        ))
    };
    let all = watcher::Config::default;
    // A workload's pod template, most of its body, is never read back: what the operator
    // wants there is applied, and drift shows as a new generation.
    let (statefulsets, i_sts, sts) = full::<StatefulSet>(
        client,
        ns,
        owned(),
        |s| {
            if let Some(spec) = s.spec.as_mut() {
                spec.template = Default::default();
            }
        },
        by_instance,
    );
    let (deployments, i_dep, dep) = full::<Deployment>(
        client,
        ns,
        owned(),
        |d| {
            if let Some(spec) = d.spec.as_mut() {
                spec.template = Default::default();
            }
        },
        by_instance,
    );
    let (services, i_svc, svc) = full::<Service>(client, ns, owned(), nothing, by_instance);
    let (ingresses, i_ing, ing) = full::<Ingress>(client, ns, owned(), nothing, by_instance);
    let (config_maps, i_cm, cm) = metadata::<ConfigMap>(client, ns, owned());
    let (service_accounts, i_sa, sa) = metadata::<ServiceAccount>(client, ns, owned());
    let (disruption_budgets, i_pdb, pdb) = metadata::<PodDisruptionBudget>(client, ns, owned());
    let (network_policies, i_np, np) = metadata::<NetworkPolicy>(client, ns, owned());
    let (pods, i_pod, pod) = full::<Pod>(
        client,
        ns,
        big_peer(),
        |p| {
            p.spec = None;
            p.metadata.annotations = None;
        },
        by_instance,
    );
    // Every Secret's metadata, filed by instance for the inventory of the owned `<bp>-access`.
    let (secrets, i_sec, sec) = metadata::<Secret>(client, ns, all());
    let (claims, i_pvc, pvc) =
        full::<PersistentVolumeClaim>(client, ns, big_peer(), nothing, by_instance);
    let (bigpeers, _, bps) = full::<BigPeer>(client, ns, all(), without_last_applied, |_| None);
    let (apps, i_app, app) =
        full::<BigPeerApp>(client, ns, all(), without_last_applied, app_big_peer);
    let (api_keys, i_key, key) =
        full::<BigPeerApiKey>(client, ns, all(), without_last_applied, key_app);
    // The keys' own Secrets, with their data: selected by their label, nothing else.
    let (key_secrets, _, key_sec) = full::<Secret>(
        client,
        ns,
        watcher::Config::default().labels(API_KEY_LABEL),
        without_last_applied,
        |_| None,
    );
    let (replications, i_repl, repl) =
        full::<BigPeerReplication>(client, ns, all(), without_last_applied, replication_app);
    let (bridges, i_bridge, bridge) =
        full::<BigPeerDataBridge>(client, ns, all(), without_last_applied, bridge_app);
    // The connectors' pods: their status (ready, IP) is read, their spec never.
    let (bridge_pods, i_bridge_pod, bridge_pod) = full::<Pod>(
        client,
        ns,
        watcher::Config::default().labels(&crate::build::bridge::connector_pods_watch()),
        |p| {
            p.spec = None;
            p.metadata.annotations = None;
        },
        by_instance,
    );
    (
        Stores {
            namespace: ns.map(str::to_string),
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
            indexes: Some(Indexes(
                [
                    ("StatefulSet", i_sts),
                    ("Deployment", i_dep),
                    ("Service", i_svc),
                    ("Ingress", i_ing),
                    ("ConfigMap", i_cm),
                    ("ServiceAccount", i_sa),
                    ("PodDisruptionBudget", i_pdb),
                    ("NetworkPolicy", i_np),
                    ("Pod", i_pod),
                    ("Secret", i_sec),
                    ("PersistentVolumeClaim", i_pvc),
                    ("BigPeerApp", i_app),
                    ("BigPeerApiKey", i_key),
                    ("BigPeerReplication", i_repl),
                    ("BigPeerDataBridge", i_bridge),
                    ("ConnectorPod", i_bridge_pod),
                ]
                .into_iter()
                .map(|(kind, index)| (kind.to_string(), index))
                .collect(),
            )),
        },
        Feeds {
            owned: OwnedFeeds {
                statefulsets: sts,
                deployments: dep,
                services: svc,
                ingresses: ing,
                config_maps: cm,
                service_accounts: sa,
                disruption_budgets: pdb,
                network_policies: np,
                pods: pod,
            },
            secrets: sec,
            bigpeers: bps,
            apps: app,
            api_keys: key,
            key_secrets: key_sec,
            replications: repl,
            bridges: bridge,
            bridge_pods: bridge_pod,
            read_only: vec![read_only(pvc)],
        },
    )
}

/// A task to spawn.
pub type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// `n` copies of a feed, for the controllers it wakes, and the task that polls the feed (and
/// so fills its store) and hands every changed object to each copy. Errors of the watch (it
/// retries with backoff) are logged, not copied.
pub fn fan_out<K: Clone + Send + 'static>(source: Changes<K>, n: usize) -> (Task, Vec<Changes<K>>) {
    let (senders, copies): (Vec<_>, Vec<_>) = (0..n)
        .map(|_| {
            let (tx, rx) = futures::channel::mpsc::unbounded::<K>();
            let copy: Changes<K> = Box::pin(rx.map(Ok));
            (tx, copy)
        })
        .unzip();
    let task = source.for_each(move |r| {
        match r {
            Ok(o) => {
                for tx in &senders {
                    let _ = tx.unbounded_send(o.clone());
                }
            }
            Err(e) => tracing::debug!(error = %e, "watch"),
        }
        futures::future::ready(())
    });
    (Box::pin(task), copies)
}

/// Poll read-only feeds until they end (with the process).
pub async fn drive(feeds: Vec<Changes<()>>) {
    futures::stream::select_all(feeds)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "watch");
            }
        })
        .await;
}

/// The cached objects in `ns` that match `selector`: through the index when there is one and
/// the selector names an instance, else by filtering every cached object.
fn select<K: Resource<DynamicType = ()> + Clone + 'static>(
    s: &Store<K>,
    ns: &str,
    selector: &Selector,
    index: Option<&Index>,
) -> Vec<std::sync::Arc<K>> {
    let candidates = match (index, instance_of(selector)) {
        (Some(index), Some(instance)) => index
            .names(ns, &instance)
            .iter()
            .filter_map(|n| s.get(&ObjectRef::new(n).within(ns)))
            .collect(),
        _ => s.state(),
    };
    candidates
        .into_iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(ns) && selector.matches(o.labels()))
        .collect()
}

/// The instance a selector asks for (`app.kubernetes.io/instance=<name>`), if it does.
fn instance_of(selector: &Selector) -> Option<String> {
    let text = selector.to_string();
    let prefix = format!("{}=", crate::build::labels::INSTANCE);
    text.split(',')
        .find_map(|part| part.trim().strip_prefix(&prefix))
        .map(str::to_string)
}

/// The store's readiness signal wakes only its most recent waiter (a controller's own runner
/// may be one), so ask again every second instead of waiting once.
pub async fn ready<K>(store: &Store<K>) -> bool
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(1), store.wait_until_ready())
            .await
        {
            Ok(Ok(())) => return true,
            Ok(Err(_)) => return false,
            Err(_) => continue,
        }
    }
}

/// The objects of `ns` filed under `under`, through the index when there is one.
fn filed<K: Resource<DynamicType = ()> + Clone + 'static>(
    store: &Store<K>,
    index: Option<&Index>,
    ns: &str,
    under: &str,
    file_by: FileBy<K>,
) -> Vec<std::sync::Arc<K>> {
    match index {
        Some(index) => index
            .names(ns, under)
            .iter()
            .filter_map(|n| store.get(&ObjectRef::new(n).within(ns)))
            .collect(),
        None => store
            .state()
            .into_iter()
            .filter(|o| {
                o.meta().namespace.as_deref() == Some(ns) && file_by(o).as_deref() == Some(under)
            })
            .collect(),
    }
}

/// One [`Index`] per cached kind, by kind name.
#[derive(Clone, Default)]
pub struct Indexes(std::collections::HashMap<String, Index>);

impl Indexes {
    /// The index of `kind`, made if there is none yet.
    pub fn of(&mut self, kind: &str) -> Index {
        self.0.entry(kind.to_string()).or_default().clone()
    }
}

/// Names of one kind's cached objects by namespace and instance label, kept from the same
/// watch events that fill its store: a reconcile finds one BigPeer's objects without looking
/// at every cached object. A relist is filed apart and takes over when complete, as the
/// store's does.
#[derive(Clone, Default)]
pub struct Index(std::sync::Arc<std::sync::Mutex<Filing>>);

#[derive(Default)]
struct Filing {
    live: Folders,
    relist: Option<Folders>,
}

#[derive(Default)]
struct Folders {
    /// (namespace, instance) -> names.
    names: std::collections::HashMap<(String, String), std::collections::BTreeSet<String>>,
    /// (namespace, name) -> instance.
    instance: std::collections::HashMap<(String, String), String>,
}

impl Folders {
    fn file(&mut self, ns: String, name: String, instance: Option<String>) {
        self.unfile(&ns, &name);
        if let Some(i) = instance {
            self.names
                .entry((ns.clone(), i.clone()))
                .or_default()
                .insert(name.clone());
            self.instance.insert((ns, name), i);
        }
    }

    fn unfile(&mut self, ns: &str, name: &str) {
        if let Some(i) = self.instance.remove(&(ns.to_string(), name.to_string())) {
            let key = (ns.to_string(), i);
            if let Some(names) = self.names.get_mut(&key) {
                names.remove(name);
                if names.is_empty() {
                    self.names.remove(&key);
                }
            }
        }
    }
}

impl Index {
    /// Follow one watch event, filing objects by their instance label.
    pub fn observe<K: Resource>(&self, event: &watcher::Event<K>) {
        self.observe_by(event, by_instance);
    }

    /// Follow one watch event, filing objects under what `file_by` says.
    pub fn observe_by<K: Resource>(&self, event: &watcher::Event<K>, file_by: FileBy<K>) {
        let id = |o: &K| {
            (
                o.meta().namespace.clone().unwrap_or_default(),
                o.meta().name.clone().unwrap_or_default(),
                file_by(o),
            )
        };
        let mut f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            watcher::Event::Apply(o) => {
                let (ns, name, instance) = id(o);
                f.live.file(ns, name, instance);
            }
            watcher::Event::Delete(o) => {
                let (ns, name, _) = id(o);
                f.live.unfile(&ns, &name);
            }
            watcher::Event::Init => f.relist = Some(Folders::default()),
            watcher::Event::InitApply(o) => {
                let (ns, name, instance) = id(o);
                f.relist
                    .get_or_insert_with(Folders::default)
                    .file(ns, name, instance);
            }
            watcher::Event::InitDone => {
                if let Some(done) = f.relist.take() {
                    f.live = done;
                }
            }
        }
    }

    /// Names of the objects in `ns` filed under `instance`.
    pub fn names(&self, ns: &str, instance: &str) -> Vec<String> {
        let f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f.live
            .names
            .get(&(ns.to_string(), instance.to_string()))
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Stores {
    fn index(&self, kind: &str) -> Option<&Index> {
        self.indexes.as_ref()?.0.get(kind)
    }

    /// Whether this namespace's stores serve `ns`.
    pub fn serve(&self, ns: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == ns)
    }

    /// Wait until every store has had its first list.
    pub async fn ready(&self) -> bool {
        let waits = [
            ready(&self.statefulsets).await,
            ready(&self.deployments).await,
            ready(&self.services).await,
            ready(&self.ingresses).await,
            ready(&self.config_maps).await,
            ready(&self.service_accounts).await,
            ready(&self.disruption_budgets).await,
            ready(&self.network_policies).await,
            ready(&self.pods).await,
            ready(&self.secrets).await,
            ready(&self.claims).await,
            ready(&self.bigpeers).await,
            ready(&self.apps).await,
            ready(&self.api_keys).await,
            ready(&self.key_secrets).await,
            ready(&self.replications).await,
            ready(&self.bridges).await,
            ready(&self.bridge_pods).await,
        ];
        waits.iter().all(|r| *r)
    }

    /// The apps of `ns` that name BigPeer `bp` (for the controllers' triggers).
    pub fn apps_of(&self, ns: &str, bp: &str) -> Vec<std::sync::Arc<BigPeerApp>> {
        filed(&self.apps, self.index("BigPeerApp"), ns, bp, app_big_peer)
    }

    /// The keys of `ns` that name app `app` (for the controllers' triggers).
    pub fn keys_of(&self, ns: &str, app: &str) -> Vec<std::sync::Arc<BigPeerApiKey>> {
        filed(
            &self.api_keys,
            self.index("BigPeerApiKey"),
            ns,
            app,
            key_app,
        )
    }

    /// The replications of `ns` that name app `app` (for the controllers' triggers).
    pub fn replications_of(&self, ns: &str, app: &str) -> Vec<std::sync::Arc<BigPeerReplication>> {
        filed(
            &self.replications,
            self.index("BigPeerReplication"),
            ns,
            app,
            replication_app,
        )
    }

    /// Every replication of `ns` (for the controllers' triggers).
    pub fn replications_in(&self, ns: &str) -> Vec<std::sync::Arc<BigPeerReplication>> {
        self.replications
            .state()
            .into_iter()
            .filter(|r| r.meta().namespace.as_deref() == Some(ns))
            .collect()
    }

    /// The data bridges of `ns` that name app `app` (for the controllers' triggers).
    pub fn bridges_of(&self, ns: &str, app: &str) -> Vec<std::sync::Arc<BigPeerDataBridge>> {
        filed(
            &self.bridges,
            self.index("BigPeerDataBridge"),
            ns,
            app,
            bridge_app,
        )
    }

    /// Every data bridge of `ns` (for the controllers' triggers).
    pub fn bridges_in(&self, ns: &str) -> Vec<std::sync::Arc<BigPeerDataBridge>> {
        self.bridges
            .state()
            .into_iter()
            .filter(|b| b.meta().namespace.as_deref() == Some(ns))
            .collect()
    }

    /// Every app of `ns` (for the controllers' triggers).
    pub fn apps_in(&self, ns: &str) -> Vec<std::sync::Arc<BigPeerApp>> {
        self.apps
            .state()
            .into_iter()
            .filter(|a| a.meta().namespace.as_deref() == Some(ns))
            .collect()
    }

    /// The objects of an owned kind in `ns` that match `selector`; `None` for a kind not
    /// cached here (the add-on kinds).
    fn owned(&self, kind: &str, ns: &str, selector: &Selector) -> Option<Vec<Owned>> {
        let index = self.index(kind);
        fn pick<K: Resource<DynamicType = ()> + Clone + 'static>(
            s: &Store<K>,
            ns: &str,
            sel: &Selector,
            observed: fn(&K) -> Option<i64>,
            index: Option<&Index>,
        ) -> Vec<Owned> {
            select(s, ns, sel, index)
                .iter()
                .map(|o| Owned {
                    meta: o.meta().clone(),
                    observed_generation: observed(o),
                })
                .collect()
        }
        fn sts_observed(o: &StatefulSet) -> Option<i64> {
            Some(
                o.status
                    .as_ref()
                    .and_then(|s| s.observed_generation)
                    .unwrap_or(0),
            )
        }
        fn deploy_observed(o: &Deployment) -> Option<i64> {
            Some(
                o.status
                    .as_ref()
                    .and_then(|s| s.observed_generation)
                    .unwrap_or(0),
            )
        }
        fn none<K>(_: &K) -> Option<i64> {
            None
        }
        Some(match kind {
            // A workload its controller has not reported on yet has observed nothing (0).
            "StatefulSet" => pick(&self.statefulsets, ns, selector, sts_observed, index),
            "Deployment" => pick(&self.deployments, ns, selector, deploy_observed, index),
            "Service" => pick(&self.services, ns, selector, none, index),
            "Ingress" => pick(&self.ingresses, ns, selector, none, index),
            "ConfigMap" => pick(&self.config_maps, ns, selector, none, index),
            "ServiceAccount" => pick(&self.service_accounts, ns, selector, none, index),
            "PodDisruptionBudget" => pick(&self.disruption_budgets, ns, selector, none, index),
            "NetworkPolicy" => pick(&self.network_policies, ns, selector, none, index),
            "Secret" => pick(&self.secrets, ns, selector, none, index),
            _ => return None,
        })
    }
}

/// The data of the Secrets a reconcile read (shared tokens), by namespace and name, with the
/// `resourceVersion` read: read again only when it changes.
#[derive(Default)]
pub struct SecretMemo(std::sync::Mutex<std::collections::HashMap<SecretId, (String, Data)>>);

/// A Secret's namespace and name.
type SecretId = (String, String);
/// A Secret's data.
type Data = BTreeMap<String, ByteString>;

impl SecretMemo {
    fn get(&self, id: &(String, String), version: &str) -> Option<BTreeMap<String, ByteString>> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(id)
            .filter(|(v, _)| v == version)
            .map(|(_, d)| d.clone())
    }

    fn put(&self, id: (String, String), version: String, data: BTreeMap<String, ByteString>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (version, data));
    }

    fn forget(&self, id: &(String, String)) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// An owned object as the inventory sees it: its metadata (from a metadata-only cache:
/// without annotations) and, for a workload, the generation its controller has observed.
#[derive(Clone, Debug)]
pub struct Owned {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// A workload's `status.observedGeneration` (0 before its controller reports), when the
    /// cache holds the status.
    pub observed_generation: Option<i64>,
}

/// Reads of one reconcile: from the watch caches when given, from the API server otherwise.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    /// The client, for writes and for what is not cached.
    pub client: &'a Client,
    stores: Option<&'a Stores>,
}

fn cached<K: Resource<DynamicType = ()> + Clone>(s: &Store<K>, ns: &str, name: &str) -> Option<K> {
    s.get(&ObjectRef::new(name).within(ns))
        .map(|o| (*o).clone())
}

impl<'a> Reader<'a> {
    /// Read from the API server.
    pub fn api(client: &'a Client) -> Self {
        Self {
            client,
            stores: None,
        }
    }

    /// Read from `stores`.
    pub fn cached(client: &'a Client, stores: &'a Stores) -> Self {
        Self {
            client,
            stores: Some(stores),
        }
    }

    /// The same reads, from the API server.
    pub fn fresh(self) -> Self {
        Self::api(self.client)
    }

    async fn get<K>(
        &self,
        store: impl FnOnce(&Stores) -> &Store<K>,
        ns: &str,
        name: &str,
        what: &str,
    ) -> Result<Option<K>>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Debug
            + 'static,
    {
        match self.stores {
            Some(s) => Ok(cached(store(s), ns, name)),
            None => Api::<K>::namespaced(self.client.clone(), ns)
                .get_opt(name)
                .await
                .ctx(|| format!("reading {what}")),
        }
    }

    /// A StatefulSet.
    pub async fn statefulset(
        &self,
        ns: &str,
        name: &str,
        what: &str,
    ) -> Result<Option<StatefulSet>> {
        self.get(|s| &s.statefulsets, ns, name, what).await
    }

    /// A Deployment.
    pub async fn deployment(&self, ns: &str, name: &str, what: &str) -> Result<Option<Deployment>> {
        self.get(|s| &s.deployments, ns, name, what).await
    }

    /// A Service.
    pub async fn service(&self, ns: &str, name: &str, what: &str) -> Result<Option<Service>> {
        self.get(|s| &s.services, ns, name, what).await
    }

    /// An Ingress.
    pub async fn ingress(&self, ns: &str, name: &str, what: &str) -> Result<Option<Ingress>> {
        self.get(|s| &s.ingresses, ns, name, what).await
    }

    /// Whether a Secret exists (its metadata only is ever read).
    pub async fn secret_exists(&self, ns: &str, name: &str, what: &str) -> Result<bool> {
        match self.stores {
            Some(s) => Ok(cached(&s.secrets, ns, name).is_some()),
            None => Ok(Api::<Secret>::namespaced(self.client.clone(), ns)
                .get_metadata_opt(name)
                .await
                .ctx(|| format!("checking {what}"))?
                .is_some()),
        }
    }

    /// A BigPeer.
    pub async fn bigpeer(&self, ns: &str, name: &str) -> Result<Option<BigPeer>> {
        self.get(|s| &s.bigpeers, ns, name, &format!("BigPeer {name}"))
            .await
    }

    /// A BigPeerApp.
    pub async fn app(&self, ns: &str, name: &str) -> Result<Option<BigPeerApp>> {
        self.get(|s| &s.apps, ns, name, &format!("BigPeerApp {name}"))
            .await
    }

    /// A key's Secret (with its data).
    pub async fn key_secret(&self, ns: &str, name: &str) -> Result<Option<Secret>> {
        self.get(|s| &s.key_secrets, ns, name, &format!("Secret {name}"))
            .await
    }

    /// The BigPeerApps of `ns`: those filed under `filed` (the name of the BigPeer they
    /// name), or all.
    pub async fn apps(&self, ns: &str, filed: Option<&str>) -> Result<Vec<BigPeerApp>> {
        self.list(
            |s| &s.apps,
            ("BigPeerApp", app_big_peer),
            ns,
            filed,
            "listing BigPeerApps",
        )
        .await
    }

    /// The BigPeerApiKeys of `ns`: those filed under `filed` (the name of the app they name),
    /// or all.
    pub async fn api_keys(&self, ns: &str, filed: Option<&str>) -> Result<Vec<BigPeerApiKey>> {
        self.list(
            |s| &s.api_keys,
            ("BigPeerApiKey", key_app),
            ns,
            filed,
            "listing BigPeerApiKeys",
        )
        .await
    }

    /// The BigPeerReplications of `ns`: those filed under `filed` (the name of the app they
    /// name), or all.
    pub async fn replications(
        &self,
        ns: &str,
        filed: Option<&str>,
    ) -> Result<Vec<BigPeerReplication>> {
        self.list(
            |s| &s.replications,
            ("BigPeerReplication", replication_app),
            ns,
            filed,
            "listing BigPeerReplications",
        )
        .await
    }

    /// The metadata of Secret `ns/name` (from the metadata cache when there is one).
    pub async fn secret_meta(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<PartialObjectMeta<Secret>>> {
        match self.stores {
            Some(s) => Ok(cached(&s.secrets, ns, name)),
            None => Api::<Secret>::namespaced(self.client.clone(), ns)
                .get_metadata_opt(name)
                .await
                .ctx(|| format!("reading Secret {name}")),
        }
    }

    async fn list<K>(
        &self,
        store: impl FnOnce(&Stores) -> &Store<K>,
        (kind, file_by): (&str, FileBy<K>),
        ns: &str,
        filed: Option<&str>,
        what: &str,
    ) -> Result<Vec<K>>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Debug
            + 'static,
    {
        let mut out: Vec<K> = match self.stores {
            Some(s) => match (filed, s.index(kind), store(s)) {
                (Some(f), Some(index), st) => index
                    .names(ns, f)
                    .iter()
                    .filter_map(|n| cached(st, ns, n))
                    .collect(),
                (_, _, st) => st
                    .state()
                    .iter()
                    .filter(|o| o.meta().namespace.as_deref() == Some(ns))
                    .map(|o| (**o).clone())
                    .collect(),
            },
            None => {
                Api::<K>::namespaced(self.client.clone(), ns)
                    .list(&ListParams::default())
                    .await
                    .ctx(|| what.into())?
                    .items
            }
        };
        if let Some(f) = filed {
            out.retain(|o| file_by(o).as_deref() == Some(f));
        }
        out.sort_by_key(|o| o.meta().name.clone());
        Ok(out)
    }

    /// The BigPeerDataBridges of `ns`: those filed under `filed` (the name of the app they
    /// name), or all.
    pub async fn data_bridges(
        &self,
        ns: &str,
        filed: Option<&str>,
    ) -> Result<Vec<BigPeerDataBridge>> {
        self.list(
            |s| &s.bridges,
            ("BigPeerDataBridge", bridge_app),
            ns,
            filed,
            "listing BigPeerDataBridges",
        )
        .await
    }

    /// A MongoDB connector's pods (by the bridge's name).
    pub async fn connector_pods(&self, ns: &str, bridge: &str) -> Result<Vec<Pod>> {
        let selector: Selector = crate::build::bridge::pod_selector(bridge)
            .into_iter()
            .collect();
        match self.stores {
            Some(s) => Ok(
                select(&s.bridge_pods, ns, &selector, s.index("ConnectorPod"))
                    .iter()
                    .map(|p| (**p).clone())
                    .collect(),
            ),
            None => Ok(Api::<Pod>::namespaced(self.client.clone(), ns)
                .list(&ListParams::default().labels(&selector.to_string()))
                .await
                .ctx(|| "listing the connector's pods".into())?
                .items),
        }
    }

    /// The data of Secret `ns/name`, `None` when it does not exist. With the caches, it is
    /// read from the API server only when the Secret's `resourceVersion` (from the metadata
    /// cache) is not the one last read: a settled reconcile makes no request.
    pub async fn secret_data(
        &self,
        memo: &SecretMemo,
        ns: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, ByteString>>> {
        let id = (ns.to_string(), name.to_string());
        if let Some(s) = self.stores {
            let Some(version) =
                cached(&s.secrets, ns, name).and_then(|m| m.metadata.resource_version)
            else {
                memo.forget(&id);
                return Ok(None);
            };
            if let Some(data) = memo.get(&id, &version) {
                return Ok(Some(data));
            }
        }
        let secret = Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .ctx(|| format!("reading Secret {name}"))?;
        let Some(secret) = secret else {
            memo.forget(&id);
            return Ok(None);
        };
        let data = secret.data.unwrap_or_default();
        if let Some(version) = secret.metadata.resource_version {
            memo.put(id, version, data.clone());
        }
        Ok(Some(data))
    }

    /// The text under `key` of Secret `ns/name`, if both exist (read as [`Self::secret_data`]).
    pub async fn secret_value(
        &self,
        memo: &SecretMemo,
        ns: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>> {
        Ok(self
            .secret_data(memo, ns, name)
            .await?
            .and_then(|d| d.get(key).cloned())
            .and_then(|v| String::from_utf8(v.0).ok()))
    }

    /// Pods matching `selector`.
    pub async fn pods(&self, ns: &str, selector: &Selector) -> Result<Vec<Pod>> {
        match self.stores {
            Some(s) => Ok(select(&s.pods, ns, selector, s.index("Pod"))
                .iter()
                .map(|p| (**p).clone())
                .collect()),
            None => Ok(Api::<Pod>::namespaced(self.client.clone(), ns)
                .list(&ListParams::default().labels(&selector.to_string()))
                .await
                .ctx(|| "listing pods".into())?
                .items),
        }
    }

    /// Volume claims matching `selector`.
    pub async fn claims(
        &self,
        ns: &str,
        selector: &Selector,
    ) -> Result<Vec<PersistentVolumeClaim>> {
        match self.stores {
            Some(s) => Ok(
                select(&s.claims, ns, selector, s.index("PersistentVolumeClaim"))
                    .iter()
                    .map(|p| (**p).clone())
                    .collect(),
            ),
            None => Ok(
                Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), ns)
                    .list(&ListParams::default().labels(&selector.to_string()))
                    .await
                    .ctx(|| "listing store volumes".into())?
                    .items,
            ),
        }
    }

    /// The objects of kind `ar` in `ns` that match `selector`.
    pub async fn owned(
        &self,
        ar: &ApiResource,
        ns: &str,
        selector: &Selector,
    ) -> Result<Vec<Owned>> {
        if let Some(found) = self.stores.and_then(|s| s.owned(&ar.kind, ns, selector)) {
            return Ok(found);
        }
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, ar);
        Ok(api
            .list_metadata(&ListParams::default().labels(&selector.to_string()))
            .await
            .ctx(|| format!("listing {}", ar.plural))?
            .items
            .into_iter()
            .map(|o| Owned {
                meta: o.metadata,
                observed_generation: None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use watcher::Event;

    fn cm(ns: &str, name: &str, instance: Option<&str>) -> ConfigMap {
        let mut c = ConfigMap::default();
        c.metadata.namespace = Some(ns.into());
        c.metadata.name = Some(name.into());
        c.metadata.labels =
            instance.map(|i| [(crate::build::labels::INSTANCE.to_string(), i.to_string())].into());
        c
    }

    #[test]
    fn objects_are_filed_by_namespace_and_instance() {
        let ix = Index::default();
        ix.observe(&Event::Apply(cm("a", "x-1", Some("x"))));
        ix.observe(&Event::Apply(cm("a", "x-2", Some("x"))));
        ix.observe(&Event::Apply(cm("b", "x-1", Some("x"))));
        ix.observe(&Event::Apply(cm("a", "loose", None)));
        assert_eq!(ix.names("a", "x"), ["x-1", "x-2"]);
        assert_eq!(ix.names("b", "x"), ["x-1"]);
        // Relabelled: filed under its new instance only; deleted: gone.
        ix.observe(&Event::Apply(cm("a", "x-2", Some("y"))));
        assert_eq!(ix.names("a", "x"), ["x-1"]);
        assert_eq!(ix.names("a", "y"), ["x-2"]);
        ix.observe(&Event::Delete(cm("a", "x-1", Some("x"))));
        assert!(ix.names("a", "x").is_empty());
    }

    #[test]
    fn a_relist_takes_over_when_complete() {
        let ix = Index::default();
        ix.observe(&Event::Apply(cm("a", "old", Some("x"))));
        ix.observe(&Event::<ConfigMap>::Init);
        ix.observe(&Event::InitApply(cm("a", "new", Some("x"))));
        // Until the relist is done, reads see what was there.
        assert_eq!(ix.names("a", "x"), ["old"]);
        ix.observe(&Event::<ConfigMap>::InitDone);
        assert_eq!(ix.names("a", "x"), ["new"]);
    }

    #[test]
    fn the_instance_is_read_from_the_selector() {
        let sel = crate::build::labels::instance_selector("prod");
        assert_eq!(instance_of(&sel).as_deref(), Some("prod"));
        let none: Selector = Selector::default();
        assert_eq!(instance_of(&none), None);
    }

    #[test]
    fn reads_through_the_index_find_what_a_scan_finds() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let ix = Index::default();
        for (ns, name, i) in [
            ("a", "x-1", Some("x")),
            ("a", "x-2", Some("x")),
            ("a", "y-1", Some("y")),
            ("b", "x-1", Some("x")),
            ("a", "z", None),
        ] {
            let e = Event::Apply(cm(ns, name, i));
            ix.observe(&e);
            writer.apply_watcher_event(&e);
        }
        let sel: Selector = [(crate::build::labels::INSTANCE.to_string(), "x".to_string())]
            .into_iter()
            .collect();
        let names = |v: Vec<std::sync::Arc<ConfigMap>>| {
            let mut n: Vec<_> = v.iter().map(|o| o.name_any()).collect();
            n.sort();
            n
        };
        assert_eq!(
            names(select(&store, "a", &sel, Some(&ix))),
            names(select(&store, "a", &sel, None))
        );
        assert_eq!(names(select(&store, "a", &sel, Some(&ix))), ["x-1", "x-2"]);
    }
}
