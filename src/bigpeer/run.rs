//! The BigPeer controller's triggers: BigPeers, the kinds they own (by the operator's
//! `managed-by` label and their owner references, `<bp>-access` among the Secrets), Big Peer
//! pods, and what the servers' access configuration is made of: the apps naming a BigPeer,
//! their keys and the keys' Secrets, and the Secrets holding the apps' shared tokens.

use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;

use super::{error_policy, reconcile};
use crate::api::{
    BIG_PEER_LABEL, BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication,
};
use crate::build::labels;
use crate::controller::Context;
use crate::controller::cache::{Changes, OwnedFeeds, Stores};
use crate::decide::app::names_secret;

/// Triggers of one BigPeer this close together make one reconcile: a new BigPeer's objects
/// appearing one by one, or its pods and workloads reporting in a burst, are read once, from
/// caches that have caught up with them, and its status is written once.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What wakes the BigPeer controller, besides the owned kinds and pods ([`OwnedFeeds`]).
pub struct Triggers {
    /// BigPeers.
    pub bigpeers: Changes<BigPeer>,
    /// Secrets' metadata: `<bp>-access` (owned), shared tokens (named by apps).
    pub secrets: Changes<PartialObjectMeta<Secret>>,
    /// Apps: their BigPeer.
    pub apps: Changes<BigPeerApp>,
    /// Keys: their app's BigPeer.
    pub api_keys: Changes<BigPeerApiKey>,
    /// Keys' Secrets: the BigPeer of their label.
    pub key_secrets: Changes<Secret>,
    /// Replications (their spec, and their status: the certificates they trust): their
    /// app's BigPeer.
    pub replications: Changes<BigPeerReplication>,
    /// Data bridges: their app's BigPeer (its `data-bridges.yaml`).
    pub bridges: Changes<BigPeerDataBridge>,
}

/// The BigPeer controller of one watched namespace, until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    stores: Stores,
    feeds: OwnedFeeds,
    t: Triggers,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send {
    let (for_keys, for_secrets, for_repls, for_bridges) = (
        stores.clone(),
        stores.clone(),
        stores.clone(),
        stores.clone(),
    );
    Controller::for_stream(t.bigpeers, stores.bigpeers.clone())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(DEBOUNCE),
        )
        // One watch per kind both fills the caches reconciles read and wakes the BigPeer that
        // owns the object (or, for a pod, whose instance label it carries).
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
        .watches_stream(t.secrets, move |s| {
            let ns = s.namespace().unwrap_or_default();
            let owner = s
                .owner_references()
                .iter()
                .filter(|o| o.kind == "BigPeer" && o.api_version.starts_with("smbp.io/"))
                .map(|o| ObjectRef::new(&o.name).within(&ns))
                .collect::<Vec<_>>();
            let name = s.name_any();
            let named_by = for_secrets
                .apps_in(&ns)
                .into_iter()
                .filter(|a| names_secret(a, &name))
                .map(|a| ObjectRef::new(&a.spec.big_peer_ref.name).within(&ns));
            // A trusted CA Secret of a replication: the BigPeer of its app.
            let trusted_by = for_secrets
                .replications_in(&ns)
                .into_iter()
                .filter(|r| crate::replications::names_secret(r, &name))
                .filter_map(|r| {
                    let app = for_secrets
                        .apps
                        .get(&ObjectRef::new(&r.spec.app_ref.name).within(&ns))?;
                    Some(ObjectRef::new(&app.spec.big_peer_ref.name).within(&ns))
                });
            owner
                .into_iter()
                .chain(named_by)
                .chain(trusted_by)
                .collect::<Vec<_>>()
        })
        .watches_stream(t.apps, |app| {
            Some(ObjectRef::new(&app.spec.big_peer_ref.name).within(&app.namespace()?))
        })
        .watches_stream(t.api_keys, move |key| {
            let ns = key.namespace()?;
            let app = for_keys
                .apps
                .get(&ObjectRef::new(&key.spec.app_ref.name).within(&ns))?;
            Some(ObjectRef::new(&app.spec.big_peer_ref.name).within(&ns))
        })
        .watches_stream(t.replications, move |r| {
            let ns = r.namespace()?;
            let app = for_repls
                .apps
                .get(&ObjectRef::new(&r.spec.app_ref.name).within(&ns))?;
            Some(ObjectRef::new(&app.spec.big_peer_ref.name).within(&ns))
        })
        .watches_stream(t.key_secrets, |s| {
            let bp = s.labels().get(BIG_PEER_LABEL)?.clone();
            Some(ObjectRef::new(&bp).within(&s.namespace()?))
        })
        .watches_stream(t.bridges, move |b| {
            let ns = b.namespace()?;
            let app = for_bridges
                .apps
                .get(&ObjectRef::new(&b.spec.app_ref.name).within(&ns))?;
            Some(ObjectRef::new(&app.spec.big_peer_ref.name).within(&ns))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
}
