//! The BigPeer controller's watches: BigPeers, the kinds it owns (by the operator's
//! `managed-by` label) and Big Peer pods (metadata only).

use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tracing::info;

use super::{error_policy, reconcile};
use crate::api::BigPeer;
use crate::build::labels;
use crate::controller::Context;
use crate::facts::{MANAGER, OWNED};

/// Run the controller for the given namespaces (`None` = all) until `shutdown` resolves.
/// `synced` is set once every controller's BigPeer cache has been filled.
pub async fn run(
    ctx: Arc<Context>,
    namespaces: Vec<Option<String>>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    synced: Arc<std::sync::atomic::AtomicBool>,
) {
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let mut stores = vec![];
    let controllers: Vec<_> = namespaces
        .into_iter()
        .map(|ns| {
            let client = ctx.client.clone();
            let api = |c: &Client| -> (Api<BigPeer>, Api<PartialObjectMeta<Pod>>) {
                match &ns {
                    Some(n) => (Api::namespaced(c.clone(), n), Api::namespaced(c.clone(), n)),
                    None => (Api::all(c.clone()), Api::all(c.clone())),
                }
            };
            let (bps, pods) = api(&client);
            let owned_cfg = || {
                watcher::Config::default()
                    .labels(&format!("app.kubernetes.io/managed-by={MANAGER}"))
            };
            let mut controller = Controller::new(bps, watcher::Config::default());
            stores.push(controller.store());
            // The kinds built into Kubernetes are watched; add-on kinds are read at reconcile.
            for kind in OWNED.iter().filter(|k| k.needs.is_none()) {
                let ar = (kind.resource)();
                let api = match &ns {
                    Some(n) => Api::<DynamicObject>::namespaced_with(client.clone(), n, &ar),
                    None => Api::<DynamicObject>::all_with(client.clone(), &ar),
                };
                controller = controller.owns_with(api, ar, owned_cfg());
            }
            controller
                // Pods are watched metadata-only: a change of any Big Peer pod wakes its BigPeer.
                .watches(
                    pods,
                    watcher::Config::default()
                        .labels(&format!("app.kubernetes.io/name={}", labels::APP_NAME)),
                    |pod| {
                        let name = pod.labels().get(labels::INSTANCE)?.clone();
                        Some(ObjectRef::new(&name).within(&pod.namespace()?))
                    },
                )
                .graceful_shutdown_on(shutdown.clone())
                .run(reconcile, error_policy, ctx.clone())
                .for_each(|res| async move {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "controller event");
                    }
                })
        })
        .collect();
    tokio::spawn(async move {
        for store in stores {
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
        synced.store(true, std::sync::atomic::Ordering::Relaxed);
        info!("caches synced");
    });
    futures::future::join_all(controllers).await;
}
