//! The reconcile pipeline: observe -> decide -> build -> apply -> status.

pub mod apply;
pub mod decide;
pub mod error;
pub mod events;
pub mod exposure;
pub mod exposure_status;
pub mod finalize;
pub mod integrations;
pub mod observe;
pub mod status;
pub mod tell;
pub mod volumes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Future, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::Mutex;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::{BigPeer, BigPeerStatus, FINALIZER, PAUSED_ANNOTATION};
use crate::build::{self, labels};
use crate::images::RelatedImages;
use crate::rollout::store::StoreStep;
use crate::telemetry::metrics::{BigPeerState, Metrics};
use error::{Context as _, Error, Result};
use events::{publish, reason};
use integrations::IntegrationCache;
use status::Decisions;

/// Shared by every reconcile.
pub struct Context {
    /// API client.
    pub client: Client,
    /// One Event recorder for the process.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// `RELATED_IMAGE_*` overrides.
    pub images: RelatedImages,
    /// Discovery cache.
    pub integrations: IntegrationCache,
    /// Consecutive failures per BigPeer uid, for exponential backoff.
    pub failures: Mutex<HashMap<String, u32>>,
}

/// Requeue while something is moving.
const BUSY: Duration = Duration::from_secs(5);
/// Periodic resync of a settled BigPeer.
const IDLE: Duration = Duration::from_secs(300);
/// Ready, but waiting on something outside the operator's watches: an add-on API to be
/// installed (discovery is cached for 30 s), or a controller whose objects are not watched
/// (Gateway, router, cert-manager) to report.
const WAITING: Duration = Duration::from_secs(15);

fn is_paused(bp: &BigPeer) -> bool {
    bp.annotations()
        .get(PAUSED_ANNOTATION)
        .is_some_and(|v| v == "true")
}

fn key(bp: &BigPeer) -> String {
    format!("{}/{}", bp.namespace().unwrap_or_default(), bp.name_any())
}

/// Reconcile one BigPeer (entry point for the controller).
pub async fn reconcile(bp: Arc<BigPeer>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        bigpeer = %key(&bp),
        generation = bp.metadata.generation.unwrap_or_default(),
        trace_id = tracing::field::Empty,
    );
    let trace_id = crate::telemetry::tracing_setup::trace_id(&span);
    if let Some(id) = &trace_id {
        span.record("trace_id", tracing::field::display(id));
    }
    let started = Instant::now();
    let result = reconcile_inner(bp.clone(), ctx.clone())
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    span.in_scope(|| match &result {
        Ok(action) => debug!(elapsed_ms = elapsed.as_millis(), ?action, "reconciled"),
        Err(e) => debug!(
            elapsed_ms = elapsed.as_millis(),
            reason = e.reason(),
            "reconcile failed"
        ),
    });
    ctx.metrics.reconciled(
        elapsed.as_secs_f64(),
        result.as_ref().err().map(Error::reason),
        trace_id.as_deref(),
    );
    if result.is_ok()
        && let Some(uid) = bp.uid()
    {
        ctx.failures.lock().await.remove(&uid);
    }
    result
}

async fn reconcile_inner(bp: Arc<BigPeer>, ctx: Arc<Context>) -> Result<Action> {
    let ns = bp
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<BigPeer> = Api::namespaced(ctx.client.clone(), &ns);
    if bp.metadata.deletion_timestamp.is_none() && is_paused(&bp) {
        return pause(&api, &bp, &ctx).await;
    }
    let c = ctx.clone();
    finalizer(&api, FINALIZER, bp, |event| async move {
        match event {
            Finalizer::Apply(bp) => sync(&bp, &c).await,
            Finalizer::Cleanup(bp) => {
                let integrations = c.integrations.get(&c.client).await?;
                finalize::cleanup(&c.client, &c.recorder, &bp, integrations.strimzi).await?;
                c.metrics
                    .forget_bigpeer(&bp.namespace().unwrap_or_default(), &bp.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

/// Paused: change nothing but the ReconciliationPaused condition.
async fn pause(api: &Api<BigPeer>, bp: &BigPeer, ctx: &Context) -> Result<Action> {
    let existing = bp.status.clone().unwrap_or_default();
    let already = conditions::find(&existing.conditions, ConditionType::ReconciliationPaused)
        .is_some_and(|c| c.status == "True");
    if !already {
        let now = Time(Timestamp::now());
        let mut desired: Vec<DesiredCondition> = existing
            .conditions
            .iter()
            .filter(|c| c.type_ != ConditionType::ReconciliationPaused.as_str())
            .filter_map(|c| {
                ConditionType::ALL
                    .iter()
                    .find(|t| t.as_str() == c.type_)
                    .map(|t| {
                        DesiredCondition::new(*t, c.status == "True", &c.reason, c.message.clone())
                    })
            })
            .collect();
        desired.push(DesiredCondition::new(
            ConditionType::ReconciliationPaused,
            true,
            "PausedByAnnotation",
            format!(
                "{PAUSED_ANNOTATION} is \"true\": the operator changes nothing until it is removed"
            ),
        ));
        let generation = existing.observed_generation.unwrap_or_default();
        let status = BigPeerStatus {
            conditions: conditions::merge(&existing.conditions, &desired, generation, &now),
            ..existing
        };
        write_status(api, bp, &status).await?;
        publish(
            &ctx.recorder,
            bp,
            false,
            reason::PAUSED,
            "Pause",
            "reconciliation paused by annotation".into(),
        )
        .await;
    }
    ctx.metrics.set_bigpeer(
        &bp.namespace().unwrap_or_default(),
        &bp.name_any(),
        state_of(&bp.status.clone().unwrap_or_default(), true),
    );
    Ok(Action::await_change())
}

fn state_of(status: &BigPeerStatus, paused: bool) -> BigPeerState {
    BigPeerState {
        conditions: status
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect(),
        paused,
        ..Default::default()
    }
}

async fn write_status(api: &Api<BigPeer>, bp: &BigPeer, status: &BigPeerStatus) -> Result<()> {
    if bp.status.as_ref() == Some(status) {
        return Ok(());
    }
    let patch = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeer", "status": status});
    api.patch_status(
        &bp.name_any(),
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .ctx(|| "writing status".into())?;
    Ok(())
}

/// The pipeline for a live BigPeer.
async fn sync(bp: &BigPeer, ctx: &Context) -> Result<Action> {
    let ns = bp.namespace().unwrap_or_default();
    let api: Api<BigPeer> = Api::namespaced(ctx.client.clone(), &ns);
    let previous = bp.status.clone().unwrap_or_default();
    let now = Timestamp::now();

    let integrations = ctx.integrations.get(&ctx.client).await?;
    ctx.metrics.set_integrations(integrations.availability());
    let observed = observe::observe(&ctx.client, bp, integrations)
        .instrument(info_span!("observe"))
        .await?;

    let mut plan = decide::decide(bp, &observed, &previous, now);

    let inputs = plan.inputs(&ctx.images, &observed);
    let desired = info_span!("build").in_scope(|| build::desired(bp, &inputs));

    let applied = apply::apply_and_prune(&ctx.client, bp, integrations, &desired)
        .instrument(info_span!("apply_and_prune", objects = desired.len()))
        .await?;
    plan.wait_for(&applied.pending);
    if let Some(StoreStep::Replace(pod)) = &plan.store_step {
        replace_pod(ctx, bp, &observed.pods, pod).await?;
    }

    let volumes = match plan.sts_replicas {
        Some(_) => {
            volumes::grow(&ctx.client, bp)
                .instrument(info_span!("grow_volumes"))
                .await?
        }
        None => volumes::Volumes::default(),
    };

    tell::tell(ctx, bp, &observed, &plan, &applied, &volumes).await;

    let decisions = Decisions {
        store_step: plan.store_step.clone(),
        scale_down: Some(plan.store_scale.clone()).filter(|s| s.message().is_some()),
        stuck: plan.stuck.clone(),
        workloads_waiting: !plan.workloads,
        pending: !applied.pending.is_empty(),
        transition: plan.topology.transition.is_some(),
        volumes_resizing: volumes.resizing,
        volumes_failed: volumes.failed,
    };
    let (exposure_status, exposed) = exposure_status::assess(bp, integrations, &observed.exposure);
    let addons: Vec<DesiredCondition> = std::iter::once(exposed)
        .chain(status::monitoring_condition(
            bp,
            integrations.prometheus_operator,
        ))
        .collect();
    let wanted = status::conditions(bp, &observed, &decisions, &addons);
    warn_on_new_trouble(ctx, bp, &previous, &wanted).await;
    let new_status = status::assemble(
        bp,
        &previous,
        &observed,
        &decisions,
        &wanted,
        (plan.topology, exposure_status),
        now,
    );
    write_status(&api, bp, &new_status)
        .instrument(info_span!("write_status"))
        .await?;
    let parts = [&new_status.store, &new_status.subscription, &new_status.api];
    let parts: Vec<_> = parts.into_iter().flatten().collect();
    ctx.metrics.set_bigpeer(
        &ns,
        &bp.name_any(),
        BigPeerState {
            rollout_in_progress: status::rollout_in_progress(&decisions, &parts),
            stuck_pods: u32::try_from(decisions.stuck.len()).unwrap_or(u32::MAX),
            ..state_of(&new_status, false)
        },
    );
    Ok(Action::requeue(requeue_after(
        &wanted,
        applied.created.is_empty(),
    )))
}

/// Idle when Ready with every add-on part in place and nothing Degraded; every 15 s when
/// Ready but waiting on an add-on, an unwatched controller or a fix outside the BigPeer (a
/// StorageClass, say); every 5 s while anything moves.
fn requeue_after(wanted: &[DesiredCondition], nothing_created: bool) -> Duration {
    let is = |t: ConditionType| wanted.iter().any(|c| c.type_ == t && c.status);
    let ready = is(ConditionType::Ready) && nothing_created;
    let addons_done = !is(ConditionType::Degraded)
        && wanted
            .iter()
            .filter(|c| {
                matches!(
                    c.type_,
                    ConditionType::Exposed | ConditionType::MonitoringReady
                )
            })
            .all(|c| c.status);
    match (ready, addons_done) {
        (true, true) => IDLE,
        (true, false) => WAITING,
        (false, _) => BUSY,
    }
}

/// Delete one store pod so that the StatefulSet recreates it on the current revision. The
/// uid precondition makes sure the pod deleted is the one the decision was about.
async fn replace_pod(ctx: &Context, bp: &BigPeer, pods: &[Pod], name: &str) -> Result<()> {
    let ns = bp.namespace().unwrap_or_default();
    let uid = pods
        .iter()
        .find(|p| p.name_any() == name)
        .and_then(|p| p.uid());
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => {
            info!(
                pod = name,
                "replacing store pod to roll it onto the current revision"
            );
            publish(
                &ctx.recorder,
                bp,
                false,
                reason::ROLLING_POD,
                "Roll",
                format!("replacing store pod {name} to roll it onto the current revision"),
            )
            .await;
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(Error::kube(format!("deleting pod {name}"), e)),
    }
}

/// Warning Events when Degraded changes to a new reason or message.
async fn warn_on_new_trouble(
    ctx: &Context,
    bp: &BigPeer,
    previous: &BigPeerStatus,
    wanted: &[DesiredCondition],
) {
    let Some(d) = wanted
        .iter()
        .find(|c| c.type_ == ConditionType::Degraded && c.status)
    else {
        return;
    };
    let before = conditions::find(&previous.conditions, ConditionType::Degraded);
    if before.is_some_and(|b| b.status == "True" && b.reason == d.reason && b.message == d.message)
    {
        return;
    }
    let r = match d.reason.as_str() {
        "RolloutBlocked" => reason::ROLLOUT_BLOCKED,
        "VolumeExpansionFailed" => reason::VOLUME_EXPANSION_FAILED,
        "PodStuck" => reason::POD_STUCK,
        "ScaleDownBlocked" => reason::SCALE_DOWN_BLOCKED,
        r if r.ends_with("NotInstalled") => reason::INTEGRATION_MISSING,
        _ => reason::RECONCILE_FAILED,
    };
    publish(&ctx.recorder, bp, true, r, "Reconcile", d.message.clone()).await;
}

/// Exponential backoff per BigPeer: 5s, 10s, 20s ... up to 5 minutes. The failure is also
/// shown in status and as an Event.
pub fn error_policy(bp: Arc<BigPeer>, err: &Error, ctx: Arc<Context>) -> Action {
    warn!(bigpeer = %key(&bp), reason = err.reason(), error = %err, "reconcile failed");
    let uid = bp.uid().unwrap_or_default();
    let n = {
        let mut f = ctx.failures.try_lock();
        match f.as_mut() {
            Ok(map) => {
                let n = map.entry(uid).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        }
    };
    let (reason_, message) = (err.reason().to_string(), err.to_string());
    tokio::spawn(async move {
        publish(
            &ctx.recorder,
            &bp,
            true,
            reason::RECONCILE_FAILED,
            "Reconcile",
            format!("{reason_}: {message}"),
        )
        .await;
    });
    Action::requeue(backoff(n))
}

/// Delay after `n` consecutive failures.
pub fn backoff(n: u32) -> Duration {
    Duration::from_secs(
        5u64.saturating_mul(1u64 << n.saturating_sub(1).min(6))
            .min(300),
    )
}

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
            macro_rules! owned {
                ($t:ty) => {
                    match &ns {
                        Some(n) => Api::<$t>::namespaced(client.clone(), n),
                        None => Api::<$t>::all(client.clone()),
                    }
                };
            }
            let owned_cfg = || {
                watcher::Config::default()
                    .labels(&format!("app.kubernetes.io/managed-by={}", labels::MANAGER))
            };
            let controller = Controller::new(bps, watcher::Config::default());
            stores.push(controller.store());
            controller
                .owns(owned!(StatefulSet), owned_cfg())
                .owns(owned!(Deployment), owned_cfg())
                .owns(owned!(Service), owned_cfg())
                .owns(owned!(ConfigMap), owned_cfg())
                .owns(owned!(ServiceAccount), owned_cfg())
                .owns(owned!(PodDisruptionBudget), owned_cfg())
                .owns(owned!(Ingress), owned_cfg())
                .owns(owned!(NetworkPolicy), owned_cfg())
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

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
        assert_eq!(backoff(0), Duration::from_secs(5));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
