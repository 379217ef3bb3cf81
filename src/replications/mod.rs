//! The BigPeerReplication controller: a short pipeline over the shared machinery of
//! [`crate::controller`] and the pure [`crate::build::replication`] and
//! [`crate::decide::replication`].
//!
//! observe (the app, its BigPeer and whether it serves the app, from the watch caches; this
//! BigPeer's CA and the trusted CA Secrets through the Secret memo, which reads a Secret's data
//! only when its `resourceVersion` changes; trusted CA ConfigMaps with one GET each) → build
//! (Service, CA ConfigMap, NetworkPolicy, TLSRoute or Route) → apply and prune (server-side
//! apply, the replication's own kinds only) → observe the endpoint and each in-cluster
//! connection's Service and EndpointSlices (where the operator may read them: elsewhere
//! `Unknown`, never an error) → decide (status and conditions) → tell (Events) → status and
//! metrics. What the servers get of the replication is the BigPeer controller's
//! ([`crate::bigpeer::access`]): a change of the replication (its status included) wakes its
//! BigPeer, which renders `<bp>-access` again without touching a pod template.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use tracing::{info, info_span};

use crate::api::conditions::{ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{BigPeer, BigPeerApp, BigPeerReplication, TrustedCa};
use crate::build::replication::{self as build, Apis, Exposure, trust};
use crate::controller::apply;
use crate::controller::cache::{Changes, Reader, Stores};
use crate::controller::error::{Context as _, Error, Result};
use crate::controller::events::{on_new_trouble, publish};
use crate::controller::{Context, reconcile as around, status as status_writer};
use crate::decide::app::served;
use crate::decide::replication::{self as decide, AppState, Observed, Seen, TrustedSource};
use crate::facts::{OWNED, OwnedKind};
use crate::telemetry::metrics::ReplicationState;

/// Periodic resync: connection states and trusted CA ConfigMaps (not watched) are read again.
const IDLE: Duration = Duration::from_secs(60);
/// While the exposure waits for an address from a controller the operator does not watch.
const WAITING: Duration = Duration::from_secs(15);

/// The kinds a replication makes.
fn kinds() -> Vec<OwnedKind> {
    OWNED
        .iter()
        .filter(|k| {
            matches!(
                (k.resource)().kind.as_str(),
                "Service" | "ConfigMap" | "NetworkPolicy" | "TLSRoute" | "Route"
            )
        })
        .copied()
        .collect()
}

/// Reconcile one replication (entry point for the controller).
pub async fn reconcile(r: Arc<BigPeerReplication>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        bigpeerreplication = %around::key(r.as_ref()),
        generation = r.metadata.generation.unwrap_or_default(),
        trace_id = tracing::field::Empty,
    );
    around::timed(&ctx, r.as_ref(), span, sync(&r, &ctx)).await
}

/// Retry with backoff (see [`crate::controller::backoff`]) and a `ReconcileFailed` Event.
pub fn error_policy(r: Arc<BigPeerReplication>, err: &Error, ctx: Arc<Context>) -> Action {
    around::retry(r, err, &ctx)
}

/// The app, and whether its BigPeer serves it.
async fn app_state(
    reader: &Reader<'_>,
    ns: &str,
    app: Option<&BigPeerApp>,
) -> Result<(AppState, Option<BigPeer>)> {
    let Some(app) = app else {
        return Ok((AppState::Missing, None));
    };
    let bp_name = &app.spec.big_peer_ref.name;
    let Some(bp) = reader.bigpeer(ns, bp_name).await? else {
        return Ok((AppState::NoBigPeer(bp_name.clone()), None));
    };
    let apps = reader.apps(ns, Some(bp_name)).await?;
    let refs: Vec<&BigPeerApp> = apps.iter().collect();
    let is_served = served(bp_name, &refs)
        .iter()
        .any(|a| a.name_any() == app.name_any());
    let state = match (&app.spec.app_id, is_served) {
        (Some(id), true) => AppState::Served(bp_name.clone(), id.clone()),
        (None, _) => AppState::NotServed("its app ID is not set yet".into()),
        (Some(_), false) => AppState::NotServed(
            app.status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.message.clone())
                .unwrap_or_else(|| "another app of the BigPeer has its app ID".into()),
        ),
    };
    Ok((state, Some(bp)))
}

/// The text under `key` of a ConfigMap (`data`, or `binaryData` as UTF-8).
async fn config_map_value(
    client: &Client,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<Option<String>> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .ctx(|| format!("reading ConfigMap {name}"))?;
    Ok(cm.and_then(|cm| {
        cm.data
            .as_ref()
            .and_then(|d| d.get(key).cloned())
            .or_else(|| {
                cm.binary_data
                    .as_ref()
                    .and_then(|d| d.get(key))
                    .and_then(|b| String::from_utf8(b.0.clone()).ok())
            })
    }))
}

/// Read one trusted CA source: its certificates, or `None` when it (or its key) is missing.
/// Only certificates leave this function; a Secret's other content is never kept.
pub async fn read_trusted(
    ctx: &Context,
    reader: &Reader<'_>,
    ns: &str,
    t: &TrustedCa,
) -> Result<TrustedSource> {
    if let Some(s) = &t.secret_ref {
        let text = reader
            .secret_value(&ctx.secret_data, ns, &s.name, &s.key)
            .await?;
        return Ok(TrustedSource {
            source: format!("Secret {} (key {})", s.name, s.key),
            found: text.map(|t| trust::parse(&t)),
        });
    }
    if let Some(c) = &t.config_map_ref {
        let text = config_map_value(reader.client, ns, &c.name, &c.key).await?;
        return Ok(TrustedSource {
            source: format!("ConfigMap {} (key {})", c.name, c.key),
            found: text.map(|t| trust::parse(&t)),
        });
    }
    Ok(TrustedSource {
        source: "an entry with neither secretRef nor configMapRef".into(),
        found: None,
    })
}

/// This BigPeer's CA certificate, from its CA Secret's `tls.crt`.
async fn own_ca(
    ctx: &Context,
    reader: &Reader<'_>,
    bp: &BigPeer,
) -> Result<Option<trust::Certificate>> {
    let ns = bp.namespace().unwrap_or_default();
    let text = reader
        .secret_value(
            &ctx.secret_data,
            &ns,
            &build::ca_secret(bp),
            build::CA_SECRET_KEY,
        )
        .await?;
    Ok(text.and_then(|t| trust::parse(&t).certificates.into_iter().next()))
}

fn unknown(ns: &str, what: &str, e: &kube::Error) -> Seen {
    match e {
        kube::Error::Api(s) if s.code == 403 => Seen::Unknown(format!(
            "the operator may not read {what} in namespace {ns}"
        )),
        other => Seen::Unknown(format!("could not read {what} in namespace {ns}: {other}")),
    }
}

/// What an in-cluster connection's Service looks like: its EndpointSlices' ready endpoints.
async fn see(client: &Client, svc: &str, ns: &str) -> Seen {
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    match services.get_metadata_opt(svc).await {
        Ok(None) => return Seen::NotFound,
        Ok(Some(_)) => {}
        Err(e) => return unknown(ns, "Services", &e),
    }
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={svc}"));
    match slices.list(&lp).await {
        Ok(list) => {
            let ready = list
                .items
                .iter()
                .flat_map(|s| &s.endpoints)
                .any(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false));
            if ready { Seen::Ready } else { Seen::NotReady }
        }
        Err(e) => unknown(ns, "EndpointSlices", &e),
    }
}

/// Each in-cluster connection, seen (each Service once).
async fn observe_connections(client: &Client, r: &BigPeerReplication) -> Vec<(String, Seen)> {
    use crate::build::replication::network_policy::{Target, connection};
    let mut seen_by_service: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut out = vec![];
    for address in &r.spec.connections {
        let Some(Target::Service { name, namespace }) = connection(address).map(|c| c.target)
        else {
            continue;
        };
        let key = (namespace.clone(), name.clone());
        let s = match seen_by_service.get(&key) {
            Some(s) => s.clone(),
            None => {
                let s = see(client, &name, &namespace).await;
                seen_by_service.insert(key, s.clone());
                s
            }
        };
        out.push((address.clone(), s));
    }
    out
}

/// The TLSRoute or Route of the exposure, as it is (`None` when absent or not served).
async fn route(
    client: &Client,
    r: &BigPeerReplication,
    exposure: &Exposure,
    apis: Apis,
) -> Result<Option<serde_json::Value>> {
    let ar = match exposure {
        Exposure::Gateway { .. } if apis.tls_route => crate::thirdparty::tls_route(),
        Exposure::Route(_) if apis.openshift_route => crate::thirdparty::openshift_route(),
        _ => return Ok(None),
    };
    let ns = r.namespace().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
    let name = build::service_name(&r.name_any());
    Ok(api
        .get_opt(&name)
        .await
        .ctx(|| format!("reading {} {name}", ar.kind))?
        .map(|o| serde_json::to_value(o).unwrap_or_default()))
}

async fn sync(r: &BigPeerReplication, ctx: &Context) -> Result<Action> {
    let ns = r
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = r.name_any();
    let stores = ctx.caches.serving(&ns);
    let reader = match &stores {
        Some(s) => Reader::cached(&ctx.client, s),
        None => Reader::api(&ctx.client),
    };
    let integrations = ctx.integrations.get(&ctx.client).await?;
    let apis = Apis {
        tls_route: integrations.tls_route,
        openshift_route: integrations.openshift_route,
    };
    let app = reader.app(&ns, &r.spec.app_ref.name).await?;
    let (app_state, bp) = app_state(&reader, &ns, app.as_ref()).await?;
    let bp = bp.filter(|_| matches!(app_state, AppState::Served(..)));

    let mut trusted = vec![];
    for t in &r.spec.trusted_cas {
        trusted.push(read_trusted(ctx, &reader, &ns, t).await?);
    }
    let (ca, exposure, desired) = match &bp {
        Some(bp) => {
            let ca = own_ca(ctx, &reader, bp).await?;
            let pem = ca.as_ref().map(trust::Certificate::pem);
            let desired = build::desired(r, bp, pem.as_deref(), apis);
            (ca, Some(build::exposure(r, bp)), desired)
        }
        // Not served: nothing of the replication should exist.
        None => (None, None, vec![]),
    };
    let applied = apply::apply_and_prune_kinds(
        &reader,
        &ctx.last_applied,
        r,
        &build::selector(&name),
        integrations,
        &kinds(),
        &desired,
    )
    .await?;

    let service = reader
        .service(&ns, &build::service_name(&name), "the endpoint Service")
        .await?;
    let route = match &exposure {
        Some(e) => route(&ctx.client, r, e, apis).await?,
        None => None,
    };
    let observed = Observed {
        app: app_state,
        exposure_api: exposure.as_ref().is_none_or(|e| apis.serve(e)),
        exposure,
        ca,
        ca_secret: bp.as_ref().map(build::ca_secret).unwrap_or_default(),
        trusted,
        seen: observe_connections(&ctx.client, r).await,
        service,
        route,
    };

    let now = Timestamp::now();
    let status = decide::status(r, &observed, now);
    let previous = r.status.clone().unwrap_or_default();
    tell(
        ctx,
        r,
        &previous,
        &status,
        &applied,
        &decide::conditions(r, &observed),
    )
    .await;
    let api: Api<BigPeerReplication> = Api::namespaced(ctx.client.clone(), &ns);
    status_writer::write(&api, r, r.status.as_ref(), &status).await?;

    let mut connections = BTreeMap::new();
    for c in &status.connections {
        *connections.entry(c.state.clone()).or_insert(0) += 1;
    }
    ctx.metrics.set_replication(
        &ns,
        &name,
        ReplicationState {
            bigpeer: bp.as_ref().map(|b| b.name_any()).unwrap_or_default(),
            conditions: status
                .conditions
                .iter()
                .map(|c| (c.type_.clone(), c.status.clone()))
                .collect(),
            connections,
        },
    );
    let pending = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.reason == Reason::ExposurePending.as_str());
    Ok(Action::requeue(if pending { WAITING } else { IDLE }))
}

/// Events: objects created, this side's CA or the trusted certificates changed, and new
/// trouble (a Warning when `Ready` turns False or `Degraded` True with a new reason).
async fn tell(
    ctx: &Context,
    r: &BigPeerReplication,
    previous: &crate::api::BigPeerReplicationStatus,
    status: &crate::api::BigPeerReplicationStatus,
    applied: &apply::Applied,
    wanted: &[DesiredCondition; 2],
) {
    if !applied.created.is_empty() {
        info!(replication = %around::key(r), created = ?applied.created, "made replication objects");
        publish(
            &ctx.recorder,
            r,
            Reason::ReplicationEndpointCreated,
            "Create",
            format!("created {}", applied.created.join(", ")),
        )
        .await;
    }
    if let (Some(before), Some(now)) = (&previous.ca_fingerprint, &status.ca_fingerprint)
        && before != now
    {
        publish(
            &ctx.recorder,
            r,
            Reason::CaChanged,
            "Rotate",
            format!(
                "this BigPeer's CA changed from {before} to {now}: copy ConfigMap {} to the other sides again",
                build::ca_config_map_name(&r.name_any())
            ),
        )
        .await;
    }
    if previous.observed_generation.is_some()
        && previous.trusted_ca_fingerprints != status.trusted_ca_fingerprints
    {
        publish(
            &ctx.recorder,
            r,
            Reason::CaChanged,
            "Trust",
            format!(
                "the certificates trusted changed from [{}] to [{}]",
                previous.trusted_ca_fingerprints.join(", "),
                status.trusted_ca_fingerprints.join(", ")
            ),
        )
        .await;
    }
    let [ready, degraded] = wanted;
    on_new_trouble(&ctx.recorder, r, &previous.conditions, ready).await;
    if degraded.status && degraded.reason.event().is_some() && degraded.reason != ready.reason {
        let before = previous
            .conditions
            .iter()
            .find(|c| c.type_ == ConditionType::Degraded.as_str());
        let same = before.is_some_and(|b| {
            b.status == "True"
                && b.reason == degraded.reason.as_str()
                && b.message == degraded.message
        });
        if !same {
            publish(
                &ctx.recorder,
                r,
                degraded.reason,
                "Reconcile",
                degraded.message.clone(),
            )
            .await;
        }
    }
}

/// What wakes the replication controller.
pub struct Triggers {
    /// Replications.
    pub replications: Changes<BigPeerReplication>,
    /// Apps: the replications naming them.
    pub apps: Changes<BigPeerApp>,
    /// BigPeers: the replications of their apps.
    pub bigpeers: Changes<BigPeer>,
    /// Secrets' metadata: a BigPeer's CA Secret, a trusted CA Secret.
    pub secrets: Changes<PartialObjectMeta<Secret>>,
    /// Owned Services (a load balancer's address).
    pub services: Changes<Service>,
    /// Owned ConfigMaps (restored when changed or deleted).
    pub config_maps: Changes<PartialObjectMeta<ConfigMap>>,
    /// Owned NetworkPolicies (restored when changed or deleted).
    pub network_policies:
        Changes<PartialObjectMeta<k8s_openapi::api::networking::v1::NetworkPolicy>>,
}

/// Whether replication `r` reads Secret `secret` (a trusted CA).
pub fn names_secret(r: &BigPeerReplication, secret: &str) -> bool {
    r.spec
        .trusted_cas
        .iter()
        .filter_map(|t| t.secret_ref.as_ref())
        .any(|s| s.name == secret)
}

/// How often what was last applied for deleted replications is forgotten.
const SWEEP: Duration = Duration::from_secs(30);

/// Forget, every [`SWEEP`], what was last applied for the replications of `stores` that were
/// deleted (a replication has no finalizer, so nothing else does; BigPeers forget theirs in
/// theirs). Only uids seen here as replications are ever forgotten.
async fn sweep(ctx: Arc<Context>, stores: Stores) {
    let mut seen = std::collections::HashSet::new();
    loop {
        tokio::time::sleep(SWEEP).await;
        let live: std::collections::HashSet<String> = stores
            .replications
            .state()
            .iter()
            .filter_map(|r| r.uid())
            .collect();
        for gone in seen.difference(&live) {
            ctx.last_applied.forget(gone);
        }
        seen = live;
    }
}

/// The replication controller of one watched namespace, until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    stores: Stores,
    t: Triggers,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send {
    tokio::spawn(sweep(ctx.clone(), stores.clone()));
    let (for_apps, for_bps, for_secrets) = (stores.clone(), stores.clone(), stores.clone());
    let refs = |rs: Vec<Arc<BigPeerReplication>>| {
        rs.iter()
            .map(|r| ObjectRef::from_obj(r.as_ref()))
            .collect::<Vec<_>>()
    };
    Controller::for_stream(t.replications, stores.replications.clone())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(Duration::from_millis(300)),
        )
        .owns_stream(t.services)
        .owns_stream(t.config_maps)
        .owns_stream(t.network_policies)
        .watches_stream(t.apps, move |app| {
            refs(for_apps.replications_of(&app.namespace().unwrap_or_default(), &app.name_any()))
        })
        .watches_stream(t.bigpeers, move |bp| {
            let ns = bp.namespace().unwrap_or_default();
            let mut out = vec![];
            for app in for_bps.apps_of(&ns, &bp.name_any()) {
                out.extend(refs(for_bps.replications_of(&ns, &app.name_any())));
            }
            out
        })
        .watches_stream(t.secrets, move |s| {
            let ns = s.namespace().unwrap_or_default();
            let name = s.name_any();
            let mut out = vec![];
            for r in for_secrets.replications_in(&ns) {
                let own_ca = for_secrets
                    .apps
                    .get(&ObjectRef::new(&r.spec.app_ref.name).within(&ns))
                    .and_then(|a| {
                        for_secrets
                            .bigpeers
                            .get(&ObjectRef::new(&a.spec.big_peer_ref.name).within(&ns))
                    })
                    .is_some_and(|bp| build::ca_secret(&bp) == name);
                if own_ca || names_secret(&r, &name) {
                    out.push(ObjectRef::from_obj(r.as_ref()));
                }
            }
            out
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replication_lists_only_its_own_kinds() {
        let mut k: Vec<String> = kinds().iter().map(|k| (k.resource)().kind).collect();
        k.sort();
        assert_eq!(
            k,
            ["ConfigMap", "NetworkPolicy", "Route", "Service", "TLSRoute"]
        );
    }
}
