//! The BigPeer controller: a short pipeline over the shared machinery of [`crate::controller`]
//! and the pure modules.
//!
//! observe (I/O: [`observe`], [`exposure`]) → decide (pure: [`crate::decide::plan`]) →
//! build (pure: [`crate::build`]) → apply and prune ([`crate::controller::apply`]), replace a
//! store pod, grow volumes ([`volumes`]) → tell (Events: [`tell`]) → status (pure:
//! [`crate::decide::status`], written by [`crate::controller::status`]).

pub mod access;
pub mod exposure;
pub mod finalize;
pub mod observe;
mod run;
pub mod tell;
pub mod volumes;

pub use run::{Triggers, controller};

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::Action;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{BigPeer, BigPeerStatus, FINALIZER, PAUSED_ANNOTATION};
use crate::build::{self, labels};
use crate::controller::cache::Reader;
use crate::controller::error::{Error, Result};
use crate::controller::events::{publish, publish_about};
use crate::controller::{Context, apply, finalizer, status as status_writer};
use crate::decide::observed::Volumes;
use crate::decide::status::{self, Decisions};
use crate::decide::{exposure as exposure_status, plan};
use crate::rollout::store::StoreStep;
use crate::telemetry::metrics::BigPeerState;

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
            reason = %e.reason(),
            "reconcile failed"
        ),
    });
    ctx.metrics.reconciled(
        elapsed.as_secs_f64(),
        result.as_ref().err().map(|e| e.reason().as_str()),
        trace_id.as_deref(),
    );
    if result.is_ok()
        && let Some(uid) = bp.uid()
    {
        ctx.backoffs.reset(&uid);
    }
    result
}

async fn reconcile_inner(bp: Arc<BigPeer>, ctx: Arc<Context>) -> Result<Action> {
    let ns = bp
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<BigPeer> = Api::namespaced(ctx.client.clone(), &ns);
    if !finalizer::deleting(bp.as_ref()) && is_paused(&bp) {
        return pause(&api, &bp, &ctx).await;
    }
    let (c, c2) = (ctx.clone(), ctx.clone());
    finalizer::run(
        &api,
        FINALIZER,
        bp,
        |bp| async move { sync(&bp, &c).await },
        |bp| async move {
            let integrations = c2.integrations.get(&c2.client).await?;
            finalize::cleanup(&c2.client, &c2.recorder, &bp, integrations.strimzi).await?;
            c2.metrics
                .forget_bigpeer(&bp.namespace().unwrap_or_default(), &bp.name_any());
            c2.last_applied.forget(&bp.uid().unwrap_or_default());
            Ok(Action::await_change())
        },
    )
    .await
}

/// Paused: change nothing but the ReconciliationPaused condition.
async fn pause(api: &Api<BigPeer>, bp: &BigPeer, ctx: &Context) -> Result<Action> {
    let existing = bp.status.clone().unwrap_or_default();
    let already = conditions::find(&existing.conditions, ConditionType::ReconciliationPaused)
        .is_some_and(|c| c.status == "True");
    if !already {
        let now = Time(Timestamp::now());
        let generation = existing.observed_generation.unwrap_or_default();
        let paused = DesiredCondition::new(
            ConditionType::ReconciliationPaused,
            true,
            Reason::PausedByAnnotation,
            format!(
                "{PAUSED_ANNOTATION} is \"true\": the operator changes nothing until it is removed"
            ),
        );
        // Every other condition stays as it is (of the types this operator maintains).
        let mut kept: Vec<_> = existing
            .conditions
            .iter()
            .filter(|c| c.type_ != ConditionType::ReconciliationPaused.as_str())
            .filter(|c| ConditionType::ALL.iter().any(|t| t.as_str() == c.type_))
            .cloned()
            .map(|mut c| {
                c.observed_generation = Some(generation);
                c
            })
            .collect();
        kept.extend(conditions::merge(
            &existing.conditions,
            &[paused],
            generation,
            &now,
        ));
        conditions::sort(&mut kept);
        let status = BigPeerStatus {
            conditions: kept,
            ..existing
        };
        status_writer::write(api, bp, bp.status.as_ref(), &status).await?;
        publish(
            &ctx.recorder,
            bp,
            Reason::ReconciliationPaused,
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

/// The pipeline for a live BigPeer.
async fn sync(bp: &BigPeer, ctx: &Context) -> Result<Action> {
    let ns = bp.namespace().unwrap_or_default();
    let api: Api<BigPeer> = Api::namespaced(ctx.client.clone(), &ns);
    let previous = bp.status.clone().unwrap_or_default();
    let now = Timestamp::now();

    let integrations = ctx.integrations.get(&ctx.client).await?;
    ctx.metrics.set_integrations(integrations.availability());
    let stores = ctx.caches.serving(&ns);
    let reader = match &stores {
        Some(s) => Reader::cached(&ctx.client, s),
        None => Reader::api(&ctx.client),
    };
    let mut observed = observe::observe(&reader, bp, integrations)
        .instrument(info_span!("observe"))
        .await?;
    let mut plan = plan::decide(bp, &observed, &previous, now);
    if stores.is_some() && plan.removes_a_pod() {
        // A cache may lag what just happened (a pod that just went unready): a step that
        // takes a store pod away is decided again on fresh reads.
        observed = observe::observe(&reader.fresh(), bp, integrations)
            .instrument(info_span!("observe_fresh"))
            .await?;
        plan = plan::decide(bp, &observed, &previous, now);
    }

    let inputs = plan.inputs(&ctx.images, &observed);
    let mut desired = info_span!("build").in_scope(|| build::desired(bp, &inputs));
    // Apps and API keys for the servers, beside the configuration (never in its hash).
    let (access, next_expiry) = access::desired(ctx, &reader, bp, now)
        .instrument(info_span!("observe_access"))
        .await?;
    let at = desired
        .iter()
        .position(|o| o.resource.kind == "ConfigMap")
        .map_or(desired.len(), |i| i + 1);
    desired.insert(at, access);

    let selector = labels::instance_selector(&bp.name_any());
    let applied = apply::apply_and_prune(
        &reader,
        &ctx.last_applied,
        bp,
        &selector,
        integrations,
        &desired,
    )
    .instrument(info_span!("apply_and_prune", objects = desired.len()))
    .await?;
    plan.wait_for(&applied.pending);
    if let Some(StoreStep::Replace(pod)) = &plan.store_step {
        replace_pod(ctx, bp, &observed.pods, pod).await?;
    }
    let volumes = match plan.sts_replicas {
        Some(_) => {
            volumes::grow(&reader, bp)
                .instrument(info_span!("grow_volumes"))
                .await?
        }
        None => Volumes::default(),
    };

    tell::tell(ctx, bp, &observed, &plan, &applied, &volumes).await;

    let decisions = Decisions::new(&plan, !applied.pending.is_empty(), &volumes);
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
    status_writer::write(&api, bp, bp.status.as_ref(), &new_status)
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
    let mut after = requeue_after(&wanted, applied.created.is_empty());
    if let Some(next) = next_expiry {
        // Render again when the next key entry expires (a second late: it is then gone).
        let secs = next.as_second().saturating_sub(now.as_second()).max(0) + 1;
        after = after.min(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)));
    }
    Ok(Action::requeue(after))
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
            uid: uid.clone(),
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
            let pod = k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(name.to_string()),
                namespace: Some(ns.clone()),
                uid: uid.clone(),
                ..Default::default()
            };
            publish_about(
                &ctx.recorder,
                bp,
                Some(pod),
                Reason::RollingPod,
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
    if before.is_some_and(|b| {
        b.status == "True" && b.reason == d.reason.as_str() && b.message == d.message
    }) {
        return;
    }
    let r = d.reason.degraded_event();
    publish(&ctx.recorder, bp, r, "Reconcile", d.message.clone()).await;
}

/// Retry with backoff (see [`crate::controller::backoff`]). The failure is also shown as a
/// `ReconcileFailed` Event whose message starts with the error's category.
pub fn error_policy(bp: Arc<BigPeer>, err: &Error, ctx: Arc<Context>) -> Action {
    let reason = err.reason();
    warn!(bigpeer = %key(&bp), reason = %reason, error = %err, "reconcile failed");
    let delay = ctx.backoffs.next(&bp.uid().unwrap_or_default());
    let message = format!("{reason}: {err}");
    tokio::spawn(async move {
        publish(
            &ctx.recorder,
            bp.as_ref(),
            Reason::ReconcileFailed,
            "Reconcile",
            message,
        )
        .await;
    });
    Action::requeue(delay)
}
