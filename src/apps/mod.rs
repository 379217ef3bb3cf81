//! The BigPeerApp controller: a short pipeline over the shared machinery of
//! [`crate::controller`] and the pure [`crate::decide::app`].
//!
//! app ID (the one write to the spec: a generated `spec.appId`, server-side applied once) →
//! observe (the BigPeer, the other apps of that BigPeer, the shared tokens, all from the watch
//! caches) → decide (status and `Ready`) → tell (Events) → status (written only when it
//! changed). What the servers get of the app is the BigPeer controller's
//! ([`crate::bigpeer::access`]): an app change wakes its BigPeer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::info_span;

use crate::access::key::new_app_id;
use crate::api::reason::Reason;
use crate::api::{BigPeer, BigPeerApp};
use crate::controller::cache::{Changes, Reader, Stores};
use crate::controller::error::{Context as _, Error, Result};
use crate::controller::events::{on_new_trouble, publish};
use crate::controller::{Context, reconcile as around, status as status_writer};
use crate::decide::app::{self as decide, AppObserved, names_secret};
use crate::facts::MANAGER;

/// Periodic resync of an app (free when nothing changed: no request).
const IDLE: Duration = Duration::from_secs(300);

/// The app controller's context: the shared one, and the app IDs generated but maybe not yet
/// seen back in the cache (by uid), so that a reconcile reading a stale app writes the same ID.
pub struct AppContext {
    /// The shared context.
    pub ctx: Arc<Context>,
    generated: Mutex<HashMap<String, String>>,
}

impl AppContext {
    /// Around the shared context.
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            generated: Mutex::default(),
        }
    }
}

/// Reconcile one app (entry point for the controller).
pub async fn reconcile(app: Arc<BigPeerApp>, c: Arc<AppContext>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        bigpeerapp = %around::key(app.as_ref()),
        generation = app.metadata.generation.unwrap_or_default(),
    );
    around::timed(&c.ctx, app.as_ref(), span, sync(app.clone(), &c)).await
}

/// Retry with backoff (see [`crate::controller::backoff`]) and a `ReconcileFailed` Event.
pub fn error_policy(app: Arc<BigPeerApp>, err: &Error, c: Arc<AppContext>) -> Action {
    around::retry(app, err, &c.ctx)
}

/// Write the generated app ID to `spec.appId` (server-side apply with the operator's field
/// manager, the uid as precondition), once.
async fn generate_id(
    api: &Api<BigPeerApp>,
    app: &BigPeerApp,
    c: &AppContext,
) -> Result<BigPeerApp> {
    let uid = app.uid().ok_or(Error::MissingField("metadata.uid"))?;
    let id = c
        .generated
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(uid.clone())
        .or_insert_with(new_app_id)
        .clone();
    let patch = json!({
        "apiVersion": BigPeerApp::api_version(&()),
        "kind": BigPeerApp::kind(&()),
        "metadata": {"name": app.name_any(), "uid": uid},
        "spec": {"appId": id},
    });
    let written = api
        .patch(
            &app.name_any(),
            &PatchParams::apply(MANAGER),
            &Patch::Apply(&patch),
        )
        .await
        .ctx(|| "writing the generated spec.appId".into())?;
    publish(
        &c.ctx.recorder,
        &written,
        Reason::AppIdGenerated,
        "Generate",
        format!("generated app ID {id} (spec.appId)"),
    )
    .await;
    Ok(written)
}

async fn sync(app: Arc<BigPeerApp>, c: &AppContext) -> Result<Action> {
    let ctx = &c.ctx;
    let ns = app
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<BigPeerApp> = Api::namespaced(ctx.client.clone(), &ns);
    let mut app = (*app).clone();
    if app.spec.app_id.is_none() {
        app = generate_id(&api, &app, c).await?;
    } else if let Some(uid) = app.uid() {
        c.generated
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid);
    }

    let stores = ctx.caches.serving(&ns);
    let reader = match &stores {
        Some(s) => Reader::cached(&ctx.client, s),
        None => Reader::api(&ctx.client),
    };
    let bp_name = &app.spec.big_peer_ref.name;
    let big_peer: Option<BigPeer> = reader.bigpeer(&ns, bp_name).await?;
    let others = reader.apps(&ns, Some(bp_name)).await?;
    let mut missing_tokens = vec![];
    for (provider, p) in &app.spec.auth_providers {
        if let Some(anon) = &p.anonymous {
            let r = &anon.shared_token_secret_ref;
            if reader
                .secret_value(&ctx.secret_data, &ns, &r.name, &r.key)
                .await?
                .is_none()
            {
                missing_tokens.push((provider.clone(), r.name.clone(), r.key.clone()));
            }
        }
    }
    let observed = AppObserved {
        big_peer: big_peer.as_ref(),
        others: others.iter().collect(),
        missing_tokens,
    };

    let status = decide::status(&app, &observed, Timestamp::now());
    let previous = app.status.clone().unwrap_or_default();
    let ready = decide::ready(&app, &observed);
    on_new_trouble(&ctx.recorder, &app, &previous.conditions, &ready).await;
    status_writer::write(&api, &app, app.status.as_ref(), &status).await?;
    Ok(Action::requeue(IDLE))
}

/// What wakes the app controller.
pub struct Triggers {
    /// Apps (the app itself).
    pub apps: Changes<BigPeerApp>,
    /// Apps (the other apps of the same BigPeer and ID: a conflict starts or ends).
    pub peers: Changes<BigPeerApp>,
    /// BigPeers: the apps naming them.
    pub bigpeers: Changes<BigPeer>,
    /// Secrets' metadata: the apps whose shared token they hold.
    pub secrets: Changes<PartialObjectMeta<Secret>>,
}

/// The app controller of one watched namespace, until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    stores: Stores,
    t: Triggers,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send {
    let (for_peers, for_bps, for_secrets) = (stores.clone(), stores.clone(), stores.clone());
    let refs = |apps: Vec<Arc<BigPeerApp>>| {
        apps.iter()
            .map(|a| ObjectRef::from_obj(a.as_ref()))
            .collect::<Vec<_>>()
    };
    Controller::for_stream(t.apps, stores.apps.clone())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(Duration::from_millis(300)),
        )
        .watches_stream(t.peers, move |app| {
            let ns = app.namespace().unwrap_or_default();
            let mut peers = for_peers.apps_of(&ns, &app.spec.big_peer_ref.name);
            let id = |a: &BigPeerApp| a.spec.app_id.as_ref().map(|i| i.to_ascii_lowercase());
            peers
                .retain(|p| p.name_any() != app.name_any() && id(p) == id(&app) && id(p).is_some());
            refs(peers)
        })
        .watches_stream(t.bigpeers, move |bp| {
            refs(for_bps.apps_of(&bp.namespace().unwrap_or_default(), &bp.name_any()))
        })
        .watches_stream(t.secrets, move |s| {
            let name = s.name_any();
            let mut apps = for_secrets.apps_in(&s.namespace().unwrap_or_default());
            apps.retain(|a| names_secret(a, &name));
            refs(apps)
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::new(AppContext::new(ctx)))
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
}
