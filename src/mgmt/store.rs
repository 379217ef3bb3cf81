//! What the management API reads: watch caches of `BigPeerApp`s, `BigPeerApiKey`s,
//! `BigPeerReplication`s and `BigPeerDataBridge`s, one set per watched namespace, made with the controllers' cache machinery
//! ([`crate::controller::cache::full`]). Every replica keeps them, leader or not, since every
//! replica serves the API. Objects are cached without `managedFields` and annotations: the
//! API writes with merge patches of the spec, never by sending a cached object back.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;

use crate::api::app::{BigPeerApiKey, BigPeerApp};
use crate::api::{BigPeerDataBridge, BigPeerReplication};
use crate::controller::cache::{self, Changes};

/// The caches of one watched namespace (`None`: all).
#[derive(Clone)]
struct Scope {
    namespace: Option<String>,
    apps: Store<BigPeerApp>,
    keys: Store<BigPeerApiKey>,
    replications: Store<BigPeerReplication>,
    bridges: Store<BigPeerDataBridge>,
}

/// The caches the API reads.
#[derive(Clone)]
pub struct Stores {
    scopes: Vec<Scope>,
}

fn no_annotations<K: kube::Resource>(o: &mut K) {
    o.meta_mut().annotations = None;
}

impl Stores {
    /// Watch apps, keys, replications and data bridges in each of `namespaces` (`[None]`: all): the stores, and the
    /// streams that fill them (poll them with [`cache::drive`]).
    pub fn watch(client: &Client, namespaces: &[Option<String>]) -> (Stores, Vec<Changes<()>>) {
        let mut scopes = vec![];
        let mut feeds: Vec<Changes<()>> = vec![];
        for ns in namespaces {
            let (apps, _, a) = cache::full::<BigPeerApp>(
                client,
                ns.as_deref(),
                watcher::Config::default(),
                no_annotations,
                |_| None,
            );
            let (keys, _, k) = cache::full::<BigPeerApiKey>(
                client,
                ns.as_deref(),
                watcher::Config::default(),
                no_annotations,
                |_| None,
            );
            let (replications, _, r) = cache::full::<BigPeerReplication>(
                client,
                ns.as_deref(),
                watcher::Config::default(),
                no_annotations,
                |_| None,
            );
            let (bridges, _, b) = cache::full::<BigPeerDataBridge>(
                client,
                ns.as_deref(),
                watcher::Config::default(),
                no_annotations,
                |_| None,
            );
            feeds.push(Box::pin(futures::StreamExt::map(a, |r| r.map(|_| ()))));
            feeds.push(Box::pin(futures::StreamExt::map(k, |r| r.map(|_| ()))));
            feeds.push(Box::pin(futures::StreamExt::map(r, |r| r.map(|_| ()))));
            feeds.push(Box::pin(futures::StreamExt::map(b, |r| r.map(|_| ()))));
            scopes.push(Scope {
                namespace: ns.clone(),
                apps,
                keys,
                replications,
                bridges,
            });
        }
        (Stores { scopes }, feeds)
    }

    /// Stores holding these apps and keys, for every namespace (tests).
    pub fn fixed(apps: Vec<BigPeerApp>, keys: Vec<BigPeerApiKey>) -> Stores {
        Stores::fixed_all(apps, keys, vec![], vec![])
    }

    /// Stores holding these objects, for every namespace (tests).
    pub fn fixed_all(
        apps: Vec<BigPeerApp>,
        keys: Vec<BigPeerApiKey>,
        replications: Vec<BigPeerReplication>,
        bridges: Vec<BigPeerDataBridge>,
    ) -> Stores {
        fn filled<K>(objects: Vec<K>) -> Store<K>
        where
            K: kube::Resource<DynamicType = ()> + Clone + 'static,
        {
            let (store, mut writer) = reflector::store();
            writer.apply_watcher_event(&watcher::Event::Init);
            for o in objects {
                writer.apply_watcher_event(&watcher::Event::InitApply(o));
            }
            writer.apply_watcher_event(&watcher::Event::InitDone);
            store
        }
        Stores {
            scopes: vec![Scope {
                namespace: None,
                apps: filled(apps),
                keys: filled(keys),
                replications: filled(replications),
                bridges: filled(bridges),
            }],
        }
    }

    fn scope(&self, ns: &str) -> Option<&Scope> {
        self.scopes
            .iter()
            .find(|s| s.namespace.as_deref().is_none_or(|n| n == ns))
    }

    /// Whether namespace `ns` is watched.
    pub fn serves(&self, ns: &str) -> bool {
        self.scope(ns).is_some()
    }

    /// Whether the caches of `ns` have had their first list, waiting at most `wait`.
    pub async fn ready(&self, ns: &str, wait: Duration) -> bool {
        let Some(s) = self.scope(ns) else {
            return false;
        };
        let all = async {
            s.apps.wait_until_ready().await.is_ok()
                && s.keys.wait_until_ready().await.is_ok()
                && s.replications.wait_until_ready().await.is_ok()
                && s.bridges.wait_until_ready().await.is_ok()
        };
        tokio::time::timeout(wait, all).await.unwrap_or(false)
    }

    /// App `name` in `ns`, as cached.
    pub fn app(&self, ns: &str, name: &str) -> Option<Arc<BigPeerApp>> {
        self.scope(ns)?.apps.get(&ObjectRef::new(name).within(ns))
    }

    /// Key `name` in `ns`, as cached.
    pub fn key(&self, ns: &str, name: &str) -> Option<Arc<BigPeerApiKey>> {
        self.scope(ns)?.keys.get(&ObjectRef::new(name).within(ns))
    }

    /// Every cached app in `ns`.
    pub fn apps(&self, ns: &str) -> Vec<Arc<BigPeerApp>> {
        self.scope(ns).map_or(vec![], |s| {
            s.apps
                .state()
                .into_iter()
                .filter(|a| a.metadata.namespace.as_deref() == Some(ns))
                .collect()
        })
    }

    /// Every cached key in `ns`.
    pub fn keys(&self, ns: &str) -> Vec<Arc<BigPeerApiKey>> {
        self.scope(ns).map_or(vec![], |s| {
            s.keys
                .state()
                .into_iter()
                .filter(|k| k.metadata.namespace.as_deref() == Some(ns))
                .collect()
        })
    }

    /// Replication `name` in `ns`, as cached.
    pub fn replication(&self, ns: &str, name: &str) -> Option<Arc<BigPeerReplication>> {
        self.scope(ns)?
            .replications
            .get(&ObjectRef::new(name).within(ns))
    }

    /// Data bridge `name` in `ns`, as cached.
    pub fn bridge(&self, ns: &str, name: &str) -> Option<Arc<BigPeerDataBridge>> {
        self.scope(ns)?
            .bridges
            .get(&ObjectRef::new(name).within(ns))
    }

    /// Every cached replication in `ns`.
    pub fn replications(&self, ns: &str) -> Vec<Arc<BigPeerReplication>> {
        self.scope(ns).map_or(vec![], |s| {
            s.replications
                .state()
                .into_iter()
                .filter(|r| r.metadata.namespace.as_deref() == Some(ns))
                .collect()
        })
    }

    /// Every cached data bridge in `ns`.
    pub fn bridges(&self, ns: &str) -> Vec<Arc<BigPeerDataBridge>> {
        self.scope(ns).map_or(vec![], |s| {
            s.bridges
                .state()
                .into_iter()
                .filter(|b| b.metadata.namespace.as_deref() == Some(ns))
                .collect()
        })
    }
}
