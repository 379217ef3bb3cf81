//! Watch caches: what a reconcile reads comes from reflector-backed stores fed by one watch per
//! kind, so a reconcile with nothing to do makes no LIST and no GET. The same watches wake the
//! controller. Objects are cached without `managedFields`; workloads without their pod
//! template; Pods without their spec or annotations, Secrets and the owned kinds whose body is never read (ConfigMaps,
//! ServiceAccounts, PodDisruptionBudgets, NetworkPolicies) as metadata only, without
//! annotations. A Secret keeps nothing but its name and identity: one made with
//! `kubectl apply` carries its data in its `last-applied-configuration` annotation, and the
//! operator never holds a Secret's data.
//!
//! One BigPeer's objects are found through an [`Index`] per kind (namespace and instance label
//! to names), fed by the same watch events as the stores, so a reconcile's reads cost the same
//! with ten BigPeers or a thousand.
//!
//! [`Reader`] reads through the caches when it has them, and from the API server otherwise:
//! before a step that removes a pod the pipeline decides again on fresh reads, and the
//! mock-API tests read without caches.

use std::fmt::Debug;

use futures::{Stream, StreamExt, TryStreamExt};
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
    /// Every Secret's metadata: the operator never reads a Secret's data.
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// The store's volume claims.
    pub claims: Store<PersistentVolumeClaim>,
    /// The stores' objects by namespace and instance label, per kind; without it (`None`),
    /// reads filter every cached object.
    pub indexes: Option<Indexes>,
}

/// The watch streams that feed [`Stores`]: polling them fills the stores. The owned kinds and
/// the pods wake the controller; Secrets and claims are only read.
pub struct Feeds {
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
    /// Secrets and claims: read only, never a trigger.
    pub read_only: Vec<Changes<()>>,
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
            filing.observe(&event);
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
    full::<PartialObjectMeta<K>>(client, ns, cfg, |o| o.metadata.annotations = None)
}

fn nothing<K>(_: &mut K) {}

fn read_only<K: Send + 'static>(s: Changes<K>) -> Changes<()> {
    Box::pin(s.map(|r| r.map(|_| ())))
}

/// Start the watches of one namespace (`None`: all): the stores, and the streams that fill
/// them (to be polled by the controller and [`drive`]).
pub fn watch(client: &Client, ns: Option<&str>) -> (Stores, Feeds) {
    let owned =
        || watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let big_peer = || {
        watcher::Config::default().labels(&format!(
            "app.kubernetes.io/name={}",
            crate::build::labels::APP_NAME
        ))
    };
    // A workload's pod template, most of its body, is never read back: what the operator
    // wants there is applied, and drift shows as a new generation.
    let (statefulsets, i_sts, sts) = full::<StatefulSet>(client, ns, owned(), |s| {
        if let Some(spec) = s.spec.as_mut() {
            spec.template = Default::default();
        }
    });
    let (deployments, i_dep, dep) = full::<Deployment>(client, ns, owned(), |d| {
        if let Some(spec) = d.spec.as_mut() {
            spec.template = Default::default();
        }
    });
    let (services, i_svc, svc) = full::<Service>(client, ns, owned(), nothing);
    let (ingresses, i_ing, ing) = full::<Ingress>(client, ns, owned(), nothing);
    let (config_maps, i_cm, cm) = metadata::<ConfigMap>(client, ns, owned());
    let (service_accounts, i_sa, sa) = metadata::<ServiceAccount>(client, ns, owned());
    let (disruption_budgets, i_pdb, pdb) = metadata::<PodDisruptionBudget>(client, ns, owned());
    let (network_policies, i_np, np) = metadata::<NetworkPolicy>(client, ns, owned());
    let (pods, i_pod, pod) = full::<Pod>(client, ns, big_peer(), |p| {
        p.spec = None;
        p.metadata.annotations = None;
    });
    // Only whether a Secret exists is read, so nothing else is kept: a Secret made with
    // `kubectl apply` carries its own data in an annotation.
    let (secrets, _, sec) =
        full::<PartialObjectMeta<Secret>>(client, ns, watcher::Config::default(), |s| {
            s.metadata.annotations = None;
            s.metadata.labels = None;
            s.metadata.owner_references = None;
        });
    let (claims, i_pvc, pvc) = full::<PersistentVolumeClaim>(client, ns, big_peer(), nothing);
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
                    ("PersistentVolumeClaim", i_pvc),
                ]
                .into_iter()
                .map(|(kind, index)| (kind.to_string(), index))
                .collect(),
            )),
        },
        Feeds {
            statefulsets: sts,
            deployments: dep,
            services: svc,
            ingresses: ing,
            config_maps: cm,
            service_accounts: sa,
            disruption_budgets: pdb,
            network_policies: np,
            pods: pod,
            read_only: vec![read_only(sec), read_only(pvc)],
        },
    )
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
    /// Follow one watch event.
    pub fn observe<K: Resource>(&self, event: &watcher::Event<K>) {
        let id = |o: &K| {
            (
                o.meta().namespace.clone().unwrap_or_default(),
                o.meta().name.clone().unwrap_or_default(),
                o.labels().get(crate::build::labels::INSTANCE).cloned(),
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

    /// Names of the objects in `ns` with instance label `instance`.
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
            self.statefulsets.wait_until_ready().await,
            self.deployments.wait_until_ready().await,
            self.services.wait_until_ready().await,
            self.ingresses.wait_until_ready().await,
            self.config_maps.wait_until_ready().await,
            self.service_accounts.wait_until_ready().await,
            self.disruption_budgets.wait_until_ready().await,
            self.network_policies.wait_until_ready().await,
            self.pods.wait_until_ready().await,
            self.secrets.wait_until_ready().await,
            self.claims.wait_until_ready().await,
        ];
        waits.iter().all(Result::is_ok)
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
            _ => return None,
        })
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
