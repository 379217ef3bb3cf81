//! The BigPeer controller's watches: BigPeers, and the watch caches of the kinds it owns (by
//! the operator's `managed-by` label), Big Peer pods, Secrets' metadata and the store's volume
//! claims, whose changes wake the BigPeer concerned.

use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use tracing::info;

use super::{error_policy, reconcile};
use crate::api::BigPeer;
use crate::build::labels;
use crate::controller::{Context, cache};

/// Triggers of one BigPeer this close together make one reconcile: a new BigPeer's objects
/// appearing one by one, or its pods and workloads reporting in a burst, are read once, from
/// caches that have caught up with them, and its status is written once.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The annotation in which `kubectl apply` keeps the whole object last applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Run the controller for the given namespaces (`None` = all) until `shutdown` resolves.
/// `synced` is set once every controller's caches have been filled.
pub async fn run(
    ctx: Arc<Context>,
    namespaces: Vec<Option<String>>,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    synced: Arc<std::sync::atomic::AtomicBool>,
) {
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let mut bigpeer_stores = vec![];
    let mut caches = vec![];
    let mut read_only = vec![];
    let controllers: Vec<_> = namespaces
        .into_iter()
        .map(|ns| {
            let bps: Api<BigPeer> = match &ns {
                Some(n) => Api::namespaced(ctx.client.clone(), n),
                None => Api::all(ctx.client.clone()),
            };
            let (stores, feeds) = cache::watch(&ctx.client, ns.as_deref());
            caches.push(stores);
            read_only.extend(feeds.read_only);
            // BigPeers are cached without what a reconcile never reads: `managedFields` and
            // the copy of the whole object `kubectl apply` keeps in an annotation.
            let (reader, writer) = reflector::store();
            let trigger = watcher(bps, watcher::Config::default())
                .default_backoff()
                .modify(|bp: &mut BigPeer| {
                    bp.managed_fields_mut().clear();
                    bp.annotations_mut().remove(LAST_APPLIED);
                })
                .reflect(writer)
                .applied_objects();
            let controller = Controller::for_stream(trigger, reader).with_config(
                controller::Config::default()
                    .concurrency(concurrency)
                    .debounce(DEBOUNCE),
            );
            bigpeer_stores.push(controller.store());
            // One watch per kind both fills the caches reconciles read and wakes the BigPeer
            // that owns the object (or, for a pod, whose instance label it carries).
            controller
                .owns_stream(feeds.statefulsets)
                .owns_stream(feeds.deployments)
                .owns_stream(feeds.services)
                .owns_stream(feeds.ingresses)
                .owns_stream(feeds.config_maps)
                .owns_stream(feeds.service_accounts)
                .owns_stream(feeds.disruption_budgets)
                .owns_stream(feeds.network_policies)
                .watches_stream(feeds.pods, |pod| {
                    let name = pod.labels().get(labels::INSTANCE)?.clone();
                    Some(ObjectRef::new(&name).within(&pod.namespace()?))
                })
                .graceful_shutdown_on(shutdown.clone())
                .run(reconcile, error_policy, ctx.clone())
                .for_each(|res| async move {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "controller event");
                    }
                })
        })
        .collect();
    tokio::spawn(cache::drive(read_only));
    let discovery = ctx.clone();
    tokio::spawn(async move { discovery.integrations.keep_fresh(&discovery.client).await });
    let c = ctx.clone();
    tokio::spawn(async move {
        for store in bigpeer_stores {
            // The store's readiness signal wakes only its most recent waiter (the controller's
            // own runner), so ask again every second instead of waiting once.
            loop {
                match tokio::time::timeout(Duration::from_secs(1), store.wait_until_ready()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(_)) => return,
                    Err(_) => continue,
                }
            }
        }
        // Until its caches are filled, a namespace's reconciles read from the API server.
        for stores in caches {
            if !stores.ready().await {
                return;
            }
            c.caches.register(stores);
        }
        synced.store(true, std::sync::atomic::Ordering::Relaxed);
        info!("caches synced");
    });
    futures::future::join_all(controllers).await;
}
