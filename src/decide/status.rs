//! Status: component counts and conditions, derived (purely) from what was observed and
//! decided in this reconcile.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};

use super::observed::{Observed, Volumes};
use super::plan::Plan;
use crate::api::conditions::{ConditionType as T, DesiredCondition as C};
use crate::api::reason::Reason;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions;
use crate::api::{
    BigPeer, BigPeerStatus, Component, ComponentStatus, ExposureStatus, TopologyStatus,
};
use crate::rollout::scale::Scale;
use crate::rollout::store::StoreStep;

/// Decisions of this reconcile that the status reports.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    /// Next store rollout step (None when there are no store pods yet).
    pub store_step: Option<StoreStep>,
    /// A store scale-down under way (one pod at a time, after any transition), or held back.
    pub scale_down: Option<Scale>,
    /// Pods (any component) stuck past the deadline: (pod, reason).
    pub stuck: Vec<(String, String)>,
    /// Workloads are held back until prerequisites are ready.
    pub workloads_waiting: bool,
    /// A topology transition is in progress.
    pub transition: bool,
    /// Workload controllers have not yet observed the applied spec.
    pub pending: bool,
    /// Store volumes whose capacity is below `store.storage.size`.
    pub volumes_resizing: Vec<String>,
    /// Why a store volume could not grow.
    pub volumes_failed: Option<String>,
}

impl Decisions {
    /// What the status reports of this reconcile's plan, of the workloads that have not yet
    /// taken up the applied spec, and of the store volumes.
    pub fn new(plan: &Plan, pending: bool, volumes: &Volumes) -> Self {
        Self {
            store_step: plan.store_step.clone(),
            scale_down: Some(plan.store_scale.clone()).filter(|s| s.message().is_some()),
            stuck: plan.stuck.clone(),
            workloads_waiting: !plan.workloads,
            pending,
            transition: plan.topology.transition.is_some(),
            volumes_resizing: volumes.resizing.clone(),
            volumes_failed: volumes.failed.clone(),
        }
    }
}

/// Replica counts of the store.
pub fn store_status(sts: Option<&StatefulSet>) -> ComponentStatus {
    let spec = sts.and_then(|s| s.spec.as_ref()).and_then(|s| s.replicas);
    let st = sts.and_then(|s| s.status.as_ref());
    counts(
        spec.unwrap_or(0),
        st.and_then(|s| s.ready_replicas).unwrap_or(0),
        st.and_then(|s| s.updated_replicas).unwrap_or(0),
    )
}

/// Replica counts of a Deployment.
pub fn deployment_status(d: Option<&Deployment>) -> ComponentStatus {
    let spec = d.and_then(|s| s.spec.as_ref()).and_then(|s| s.replicas);
    let st = d.and_then(|s| s.status.as_ref());
    counts(
        spec.unwrap_or(0),
        st.and_then(|s| s.ready_replicas).unwrap_or(0),
        st.and_then(|s| s.updated_replicas).unwrap_or(0),
    )
}

fn counts(desired: i32, ready: i32, updated: i32) -> ComponentStatus {
    ComponentStatus {
        desired,
        ready,
        updated,
        summary: format!("{ready}/{desired}"),
    }
}

fn component_condition(
    t: T,
    name: &str,
    s: &ComponentStatus,
    wanted: i32,
    stuck: &[(String, String)],
    prefix: &str,
) -> C {
    if let Some((pod, reason)) = stuck.iter().find(|(p, _)| p.starts_with(prefix)) {
        return C::new(
            t,
            false,
            Reason::PodStuck,
            format!("pod {pod} is stuck: {reason}"),
        );
    }
    if s.desired == wanted && s.ready == wanted && s.updated == wanted {
        C::new(
            t,
            true,
            Reason::AllReplicasReady,
            format!("{name}: {}/{wanted} ready and up to date", s.ready),
        )
    } else if s.updated < s.desired {
        C::new(
            t,
            false,
            Reason::RollingUpdate,
            format!(
                "{name}: {}/{} updated, {} ready",
                s.updated, s.desired, s.ready
            ),
        )
    } else {
        C::new(
            t,
            false,
            Reason::ReplicasNotReady,
            format!("{name}: {}/{wanted} ready", s.ready),
        )
    }
}

/// Names of a component's pods start with its workload's name and a dash.
fn pod_prefix(bp_name: &str, c: Component) -> String {
    format!("{}-", crate::build::names::component(bp_name, c))
}

/// Reasons of add-on conditions (Exposed, MonitoringReady) that need the user: they make the
/// BigPeer Degraded. Waiting for a controller does not.
fn needs_user(c: &C) -> bool {
    !c.status
        && (c.reason.is_missing_addon()
            || matches!(
                c.reason,
                Reason::RouteNotAccepted | Reason::RouteNotAdmitted | Reason::TLSSecretMissing
            ))
}

/// All conditions, from observations and decisions. `addons` are the conditions of parts
/// that do not decide readiness (Exposed, MonitoringReady).
pub fn conditions(bp: &BigPeer, o: &Observed, d: &Decisions, addons: &[C]) -> Vec<C> {
    let [store_c, sub_c, api_c] = component_conditions(bp, o, d);
    let keys_c = C::new(
        T::KeysReady,
        o.keys.ready,
        o.keys.reason,
        o.keys.message.clone(),
    );
    let tl_c = C::new(
        T::TransactionLogReady,
        o.transaction_log.ready,
        o.transaction_log.reason,
        o.transaction_log.message.clone(),
    );
    let ready = ready_condition(d, &[&keys_c, &tl_c, &store_c, &sub_c, &api_c]);
    let degraded = degraded_condition(o, d, addons);
    let progressing = progressing_condition(bp, d, ready.status);
    let paused = C::new(
        T::ReconciliationPaused,
        false,
        Reason::NotPaused,
        format!(
            "set annotation {}=\"true\" to pause",
            crate::api::PAUSED_ANNOTATION
        ),
    );
    let mut out = vec![
        ready,
        progressing,
        degraded,
        tl_c,
        keys_c,
        store_c,
        sub_c,
        api_c,
    ];
    out.extend(addons.iter().cloned());
    out.push(paused);
    out
}

/// StoreReady, SubscriptionReady and ApiReady. The store's also tells a scale-down under way
/// or held back, and a blocked rollout.
fn component_conditions(bp: &BigPeer, o: &Observed, d: &Decisions) -> [C; 3] {
    let name = bp.metadata.name.clone().unwrap_or_default();
    let store = store_status(o.statefulset.as_ref());
    let sub = deployment_status(o.deployments.get(&Component::Subscription));
    let api = deployment_status(o.deployments.get(&Component::Api));
    let mut store_c = component_condition(
        T::StoreReady,
        "store",
        &store,
        bp.spec.store.replicas,
        &d.stuck,
        &pod_prefix(&name, Component::Store),
    );
    if let Some(s) = &d.scale_down
        && let Some(msg) = s.message()
    {
        let reason = match s {
            Scale::Held { .. } => Reason::ScaleDownBlocked,
            _ => Reason::ScalingDown,
        };
        store_c = C::new(T::StoreReady, false, reason, msg);
    } else if let Some(StoreStep::Blocked { pod, reason }) = &d.store_step {
        store_c = C::new(
            T::StoreReady,
            false,
            Reason::RolloutBlocked,
            format!("rollout stopped at pod {pod}: {reason}; fix the spec to continue"),
        );
    }
    let sub_c = component_condition(
        T::SubscriptionReady,
        "subscription",
        &sub,
        bp.spec.subscription.replicas,
        &d.stuck,
        &pod_prefix(&name, Component::Subscription),
    );
    let api_c = component_condition(
        T::ApiReady,
        "api",
        &api,
        bp.spec.api.replicas,
        &d.stuck,
        &pod_prefix(&name, Component::Api),
    );
    [store_c, sub_c, api_c]
}

/// Ready: every part ready on the desired spec, and no transition running.
fn ready_condition(d: &Decisions, parts: &[&C]) -> C {
    let not_ready: Vec<&&C> = parts.iter().filter(|c| !c.status).collect();
    if d.pending {
        C::new(
            T::Ready,
            false,
            Reason::RolloutPending,
            "workloads are taking up the new spec",
        )
    } else if not_ready.is_empty() && !d.transition {
        C::new(
            T::Ready,
            true,
            Reason::AllPartsReady,
            "every part is ready on the desired spec",
        )
    } else if let Some(first) = not_ready.first() {
        C::new(
            T::Ready,
            false,
            Reason::NotReady,
            format!(
                "{} is False ({}): {}",
                first.type_.as_str(),
                first.reason,
                first.message
            ),
        )
    } else {
        C::new(
            T::Ready,
            false,
            Reason::TopologyTransition,
            "a cluster configuration transition is in progress",
        )
    }
}

/// Degraded: the first thing that needs a user, in order of urgency.
fn degraded_condition(o: &Observed, d: &Decisions, addons: &[C]) -> C {
    let missing_addon = |p: &super::observed::Part| !p.ready && p.reason.is_missing_addon();
    let degraded_by: Option<(Reason, String)> =
        if let Some(StoreStep::Blocked { pod, reason }) = &d.store_step {
            Some((
                Reason::RolloutBlocked,
                format!("store rollout stopped at pod {pod}: {reason}"),
            ))
        } else if let Some((pod, reason)) = d.stuck.first() {
            Some((Reason::PodStuck, format!("pod {pod} is stuck: {reason}")))
        } else if missing_addon(&o.keys) {
            Some((o.keys.reason, o.keys.message.clone()))
        } else if missing_addon(&o.transaction_log) {
            Some((o.transaction_log.reason, o.transaction_log.message.clone()))
        } else if let Some(m) = &d.volumes_failed {
            Some((Reason::VolumeExpansionFailed, m.clone()))
        } else if let Some(c) = addons.iter().find(|c| needs_user(c)) {
            Some((c.reason, c.message.clone()))
        } else {
            d.scale_down
                .as_ref()
                .filter(|s| matches!(s, Scale::Held { .. }))
                .and_then(Scale::message)
                .map(|m| (Reason::ScaleDownBlocked, m))
        };
    match degraded_by {
        Some((reason, msg)) => C::new(T::Degraded, true, reason, msg),
        None => C::new(
            T::Degraded,
            false,
            Reason::AsExpected,
            "nothing needs attention",
        ),
    }
}

/// Progressing: what is moving, if anything.
fn progressing_condition(bp: &BigPeer, d: &Decisions, ready: bool) -> C {
    let (reason, message) = if d.workloads_waiting {
        (
            Reason::WaitingForPrerequisites,
            "workloads are created once keys and transaction log are ready".to_string(),
        )
    } else if d.pending {
        (
            Reason::RolloutPending,
            "workloads are taking up the new spec".to_string(),
        )
    } else if d.transition {
        (
            Reason::TopologyTransition,
            "store pods are moving to the new topology".to_string(),
        )
    } else if let Some(msg) = d.scale_down.as_ref().and_then(Scale::message) {
        (Reason::ScalingDown, msg)
    } else if matches!(
        d.store_step,
        Some(StoreStep::Replace(_)) | Some(StoreStep::Wait(_))
    ) || !ready
    {
        (
            Reason::Reconciling,
            "bringing the cluster to the desired spec".to_string(),
        )
    } else if !d.volumes_resizing.is_empty() {
        (
            Reason::VolumesResizing,
            format!(
                "waiting for the storage system to resize {} to {}",
                d.volumes_resizing.join(", "),
                bp.spec.store.storage.size
            ),
        )
    } else {
        return C::new(
            T::Progressing,
            false,
            Reason::Complete,
            "the cluster matches the spec",
        );
    };
    C::new(T::Progressing, true, reason, message)
}

/// The whole new status: counts, merged conditions (transition times kept while a status
/// does not flip), version, topology and exposure.
pub fn assemble(
    bp: &BigPeer,
    previous: &BigPeerStatus,
    o: &Observed,
    d: &Decisions,
    wanted: &[C],
    (topology, exposure): (TopologyStatus, ExposureStatus),
    now: Timestamp,
) -> BigPeerStatus {
    let generation = bp.metadata.generation.unwrap_or_default();
    BigPeerStatus {
        observed_generation: Some(generation),
        conditions: conditions::merge(&previous.conditions, wanted, generation, &Time(now)),
        version: running_version(bp, o, d).or_else(|| previous.version.clone()),
        store: Some(store_status(o.statefulset.as_ref())),
        subscription: Some(deployment_status(
            o.deployments.get(&Component::Subscription),
        )),
        api: Some(deployment_status(o.deployments.get(&Component::Api))),
        topology: Some(topology),
        exposure: Some(exposure),
    }
}

/// The version every pod runs, if all run the spec's.
pub fn running_version(bp: &BigPeer, o: &Observed, d: &Decisions) -> Option<String> {
    let store = store_status(o.statefulset.as_ref());
    let settled = !d.pending
        && matches!(d.store_step, Some(StoreStep::Done))
        && store.updated == store.desired
        && o.deployments.values().all(|dep| {
            let s = deployment_status(Some(dep));
            s.updated == s.desired && s.ready == s.desired
        });
    settled.then(|| bp.spec.version.clone())
}

/// `MonitoringReady` when `spec.monitoring.enabled`; nothing otherwise.
pub fn monitoring_condition(bp: &BigPeer, prometheus_operator: bool) -> Option<C> {
    let m = &bp.spec.monitoring;
    if !m.enabled {
        return None;
    }
    let kind = match m.resource {
        crate::api::MonitorKind::ServiceMonitor => "ServiceMonitor",
        crate::api::MonitorKind::PodMonitor => "PodMonitor",
    };
    Some(if prometheus_operator {
        C::new(
            T::MonitoringReady,
            true,
            Reason::MonitorApplied,
            format!(
                "{kind} {} selects the components' metrics port",
                crate::build::monitoring::name(bp)
            ),
        )
    } else {
        C::new(
            T::MonitoringReady,
            false,
            Reason::PrometheusOperatorNotInstalled,
            format!(
                "spec.monitoring needs the Prometheus Operator's API (monitoring.coreos.com/v1) for its {kind}; install it or set monitoring.enabled=false"
            ),
        )
    })
}

/// Pods are moving to a new revision or topology: the store is being rolled (or is held on
/// a stuck pod), a topology transition runs, workload controllers have not yet taken up the
/// applied spec, or a component has pods not on its current revision.
pub fn rollout_in_progress(d: &Decisions, components: &[&ComponentStatus]) -> bool {
    d.pending
        || d.transition
        || matches!(
            d.store_step,
            Some(StoreStep::Replace(_) | StoreStep::Wait(_) | StoreStep::Blocked { .. })
        )
        || components.iter().any(|c| c.updated < c.desired)
}

#[cfg(test)]
mod rollout_tests {
    use super::*;

    #[test]
    fn rollout_in_progress_follows_the_decisions_and_counts() {
        let settled = counts(3, 3, 3);
        let rolling = counts(3, 3, 1);
        let quiet = Decisions {
            store_step: Some(StoreStep::Done),
            ..Default::default()
        };
        assert!(!rollout_in_progress(&quiet, &[&settled, &settled]));
        assert!(!rollout_in_progress(&Decisions::default(), &[]));
        assert!(rollout_in_progress(&quiet, &[&settled, &rolling]));
        for d in [
            Decisions {
                pending: true,
                ..Default::default()
            },
            Decisions {
                transition: true,
                ..Default::default()
            },
            Decisions {
                store_step: Some(StoreStep::Replace("bp-store-2".into())),
                ..Default::default()
            },
            Decisions {
                store_step: Some(StoreStep::Wait("pod bp-store-2 is terminating".into())),
                ..Default::default()
            },
            Decisions {
                store_step: Some(StoreStep::Blocked {
                    pod: "bp-store-2".into(),
                    reason: "CrashLoopBackOff".into(),
                }),
                ..Default::default()
            },
        ] {
            assert!(rollout_in_progress(&d, &[&settled]), "{d:?}");
        }
        // Unready but all on the current revision (e.g. a node lost): not a rollout.
        assert!(!rollout_in_progress(&quiet, &[&counts(3, 1, 3)]));
    }
}

#[cfg(test)]
mod scale_down_tests {
    use super::*;
    use crate::testing::observed as fixture;

    fn find(cs: &[C], t: T) -> &C {
        cs.iter().find(|c| c.type_ == t).unwrap()
    }

    /// A scale-down that goes in order (after a transition, one pod at a time) is progress,
    /// not a problem; one held back by an unready pod makes the BigPeer Degraded.
    #[test]
    fn a_scale_down_in_order_is_progress_and_a_held_one_is_degraded() {
        let bp = crate::testing::sample();
        let waiting = Scale::Waiting {
            from: 3,
            target: 1,
            reason: "follows the topology transition".into(),
        };
        let removing = Scale::RemoveOne { from: 3, target: 1 };
        for s in [waiting, removing] {
            let d = Decisions {
                store_step: Some(StoreStep::Done),
                scale_down: Some(s.clone()),
                ..Default::default()
            };
            let cs = conditions(&bp, &fixture(true, true), &d, &[]);
            let store = find(&cs, T::StoreReady);
            assert!(!store.status);
            assert_eq!(store.reason.as_str(), "ScalingDown", "{s:?}");
            assert!(store.message.contains("from 3 to 1"), "{}", store.message);
            assert!(!find(&cs, T::Degraded).status, "{s:?}");
            let progressing = find(&cs, T::Progressing);
            assert!(progressing.status);
            assert_eq!(progressing.reason.as_str(), "ScalingDown");
            assert!(!find(&cs, T::Ready).status);
        }
        let held = Scale::Held {
            from: 3,
            target: 1,
            reason: "waits until every store pod is ready (bp-store-1 is not)".into(),
        };
        let d = Decisions {
            store_step: Some(StoreStep::Done),
            scale_down: Some(held),
            ..Default::default()
        };
        let cs = conditions(&bp, &fixture(true, true), &d, &[]);
        assert_eq!(find(&cs, T::StoreReady).reason.as_str(), "ScaleDownBlocked");
        let degraded = find(&cs, T::Degraded);
        assert!(degraded.status);
        assert_eq!(degraded.reason.as_str(), "ScaleDownBlocked");
        assert!(degraded.message.contains("bp-store-1"));
    }
}
