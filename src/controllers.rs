//! The operator's controllers, started together per watched namespace on one set of watch
//! caches: BigPeers ([`crate::bigpeer`]), BigPeerApps ([`crate::apps`]), BigPeerApiKeys
//! ([`crate::apikeys`]), BigPeerReplications ([`crate::replications`]) and BigPeerDataBridges
//! ([`crate::bridges`]). Each watch fills one store that every controller reads, and its
//! changes are copied to each controller they wake ([`cache::fan_out`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{Future, FutureExt};
use kube::ResourceExt;
use tracing::info;

use crate::controller::{Context, cache};
use crate::{apikeys, apps, bigpeer, bridges, replications};

/// How often the series of deleted API keys are removed from the metrics.
const SWEEP: Duration = Duration::from_secs(30);

/// One copy of a fanned-out feed.
fn take<T>(copies: &mut Vec<T>) -> T {
    copies.pop().expect("one copy per consumer")
}

/// Run every controller for the given namespaces (`None` = all) until `shutdown` resolves.
/// `synced` is set once every cache has been filled.
pub async fn run(
    ctx: Arc<Context>,
    namespaces: Vec<Option<String>>,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    synced: Arc<AtomicBool>,
) {
    let shutdown = Box::pin(shutdown).shared();
    let mut controllers: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> = vec![];
    let mut caches = vec![];
    let mut read_only = vec![];
    for ns in namespaces {
        let (stores, feeds) = cache::watch(&ctx.client, ns.as_deref());
        let (t1, mut bigpeers) = cache::fan_out(feeds.bigpeers, 4);
        let (t2, mut apps) = cache::fan_out(feeds.apps, 6);
        let (t3, mut keys) = cache::fan_out(feeds.api_keys, 2);
        let (t4, mut key_secrets) = cache::fan_out(feeds.key_secrets, 2);
        let (t5, mut secrets) = cache::fan_out(feeds.secrets, 4);
        let (t6, mut repls) = cache::fan_out(feeds.replications, 2);
        let (t10, mut bridges) = cache::fan_out(feeds.bridges, 2);
        // Replications own Services, ConfigMaps and NetworkPolicies, data bridges Deployments,
        // ConfigMaps and NetworkPolicies: the BigPeer controller and theirs each get a copy of
        // those feeds.
        let mut owned = feeds.owned;
        let (t7, mut services) = cache::fan_out(owned.services, 2);
        let (t8, mut config_maps) = cache::fan_out(owned.config_maps, 3);
        let (t9, mut network_policies) = cache::fan_out(owned.network_policies, 3);
        let (t11, mut deployments) = cache::fan_out(owned.deployments, 2);
        owned.services = take(&mut services);
        owned.config_maps = take(&mut config_maps);
        owned.network_policies = take(&mut network_policies);
        owned.deployments = take(&mut deployments);
        for task in [t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11] {
            tokio::spawn(task);
        }
        controllers.push(Box::pin(replications::controller(
            ctx.clone(),
            stores.clone(),
            replications::Triggers {
                replications: take(&mut repls),
                apps: take(&mut apps),
                bigpeers: take(&mut bigpeers),
                secrets: take(&mut secrets),
                services: take(&mut services),
                config_maps: take(&mut config_maps),
                network_policies: take(&mut network_policies),
            },
            concurrency,
            shutdown.clone(),
        )));
        controllers.push(Box::pin(bigpeer::controller(
            ctx.clone(),
            stores.clone(),
            owned,
            bigpeer::Triggers {
                replications: take(&mut repls),
                bigpeers: take(&mut bigpeers),
                secrets: take(&mut secrets),
                apps: take(&mut apps),
                api_keys: take(&mut keys),
                key_secrets: take(&mut key_secrets),
                bridges: take(&mut bridges),
            },
            concurrency,
            shutdown.clone(),
        )));
        controllers.push(Box::pin(bridges::controller(
            bridges::BridgeContext {
                ctx: ctx.clone(),
                operator_namespace: std::env::var("POD_NAMESPACE").ok(),
            },
            stores.clone(),
            bridges::Triggers {
                bridges: take(&mut bridges),
                apps: take(&mut apps),
                bigpeers: take(&mut bigpeers),
                secrets: take(&mut secrets),
                deployments: take(&mut deployments),
                config_maps: take(&mut config_maps),
                network_policies: take(&mut network_policies),
                pods: feeds.bridge_pods,
            },
            concurrency,
            shutdown.clone(),
        )));
        controllers.push(Box::pin(apps::controller(
            ctx.clone(),
            stores.clone(),
            apps::Triggers {
                apps: take(&mut apps),
                peers: take(&mut apps),
                bigpeers: take(&mut bigpeers),
                secrets: take(&mut secrets),
            },
            concurrency,
            shutdown.clone(),
        )));
        controllers.push(Box::pin(apikeys::controller(
            ctx.clone(),
            stores.clone(),
            apikeys::Triggers {
                api_keys: take(&mut keys),
                key_secrets: take(&mut key_secrets),
                apps: take(&mut apps),
            },
            concurrency,
            shutdown.clone(),
        )));
        read_only.extend(feeds.read_only);
        caches.push(stores);
    }
    tokio::spawn(cache::drive(read_only));
    let discovery = ctx.clone();
    tokio::spawn(async move { discovery.integrations.keep_fresh(&discovery.client).await });
    let c = ctx.clone();
    tokio::spawn(async move {
        // Until its caches are filled, a namespace's reconciles read from the API server.
        for stores in &caches {
            if !stores.ready().await {
                return;
            }
            c.caches.register(stores.clone());
        }
        synced.store(true, Ordering::Relaxed);
        info!("caches synced");
        // The expiry series of deleted keys go (a deleted key is never reconciled).
        loop {
            let live: HashSet<(String, String)> = caches
                .iter()
                .flat_map(|s| s.api_keys.state())
                .map(|k| (k.namespace().unwrap_or_default(), k.name_any()))
                .collect();
            c.metrics.retain_api_keys(&live);
            let live: HashSet<(String, String)> = caches
                .iter()
                .flat_map(|s| s.replications.state())
                .map(|r| (r.namespace().unwrap_or_default(), r.name_any()))
                .collect();
            c.metrics.retain_replications(&live);
            let bridges: HashSet<(String, String)> = caches
                .iter()
                .flat_map(|s| s.bridges.state())
                .map(|b| (b.namespace().unwrap_or_default(), b.name_any()))
                .collect();
            c.metrics.retain_data_bridges(&bridges);
            tokio::time::sleep(SWEEP).await;
        }
    });
    futures::future::join_all(controllers).await;
}
