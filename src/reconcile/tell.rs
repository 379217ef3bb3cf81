//! Tell: the Events of one reconcile (what was created, pruned, scaled, transitioned).

use super::Context;
use super::apply::Applied;
use super::decide::Plan;
use super::events::{publish, reason};
use super::observe::Observed;
use super::volumes::Volumes;
use crate::api::{BigPeer, Component};
use crate::rollout::topology::TopologyEvent;

fn deployment_replicas(observed: &Observed, c: Component) -> Option<i32> {
    observed
        .deployments
        .get(&c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
}

/// Publish the Events of what this reconcile changed.
pub async fn tell(
    ctx: &Context,
    bp: &BigPeer,
    observed: &Observed,
    plan: &Plan,
    applied: &Applied,
    volumes: &Volumes,
) {
    let r = &ctx.recorder;
    for created in &applied.created {
        let note = format!("created {created}");
        publish(r, bp, false, reason::CREATED, "Create", note).await;
    }
    for p in &applied.pruned {
        let note = format!("deleted {p}, no longer desired");
        publish(r, bp, false, reason::PRUNED, "Delete", note).await;
    }
    if !volumes.raised.is_empty() {
        let note = format!(
            "raised {} to {}",
            volumes.raised.join(", "),
            bp.spec.store.storage.size
        );
        publish(r, bp, false, reason::VOLUME_EXPANSION, "Resize", note).await;
    }
    let scaled = [
        (
            Component::Store,
            plan.sts_replicas,
            plan.store_scale.replicas(),
        ),
        (
            Component::Subscription,
            deployment_replicas(observed, Component::Subscription),
            bp.spec.subscription.replicas,
        ),
        (
            Component::Api,
            deployment_replicas(observed, Component::Api),
            bp.spec.api.replicas,
        ),
    ];
    for (component, current, wanted) in scaled {
        if let Some(cur) = current.filter(|c| *c != wanted) {
            let note = format!("scaling {} from {cur} to {wanted} pods", component.as_str());
            publish(r, bp, false, reason::SCALING, "Scale", note).await;
        }
    }
    let (why, t, what) = match &plan.topology_event {
        Some(TopologyEvent::Started(t)) => (reason::TOPOLOGY_TRANSITION_STARTED, t, "moving to"),
        Some(TopologyEvent::Completed(t)) => (reason::TOPOLOGY_TRANSITION_COMPLETED, t, "now on"),
        None => return,
    };
    let note = format!(
        "{what} {} partitions, replication factor {}",
        t.partitions, t.replication_factor
    );
    publish(r, bp, false, why, "Transition", note).await;
}
