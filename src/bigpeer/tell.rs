//! Tell: the Events of one reconcile (what was created, pruned, scaled, transitioned).

use k8s_openapi::api::core::v1::ObjectReference;
use kube::ResourceExt;

use crate::api::reason::Reason;
use crate::api::{BigPeer, Component};
use crate::controller::Context;
use crate::controller::apply::Applied;
use crate::controller::events::{publish, publish_about};
use crate::decide::observed::{Observed, Volumes};
use crate::decide::plan::Plan;
use crate::facts::OWNED;
use crate::rollout::topology::TopologyEvent;

/// A reference to an owned object named `Kind/name`, in the BigPeer's namespace.
fn owned_reference(bp: &BigPeer, key: &str) -> Option<ObjectReference> {
    let (kind, name) = key.split_once('/')?;
    let ar = OWNED
        .iter()
        .map(|k| (k.resource)())
        .find(|ar| ar.kind == kind)?;
    Some(ObjectReference {
        api_version: Some(ar.api_version),
        kind: Some(ar.kind),
        name: Some(name.to_string()),
        namespace: bp.namespace(),
        ..Default::default()
    })
}

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
        let related = owned_reference(bp, created);
        publish_about(r, bp, related, Reason::Created, "Create", note).await;
    }
    for p in &applied.pruned {
        let note = format!("deleted {p}, no longer desired");
        let related = owned_reference(bp, p);
        publish_about(r, bp, related, Reason::Pruned, "Delete", note).await;
    }
    if !volumes.raised.is_empty() {
        let note = format!(
            "raised {} to {}",
            volumes.raised.join(", "),
            bp.spec.store.storage.size
        );
        publish(r, bp, Reason::VolumeExpansion, "Resize", note).await;
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
            publish(r, bp, Reason::Scaling, "Scale", note).await;
        }
    }
    let (why, t, what) = match &plan.topology_event {
        Some(TopologyEvent::Started(t)) => (Reason::TopologyTransitionStarted, t, "moving to"),
        Some(TopologyEvent::Completed(t)) => (Reason::TopologyTransitionCompleted, t, "now on"),
        None => return,
    };
    let note = format!(
        "{what} {} partitions, replication factor {}",
        t.partitions, t.replication_factor
    );
    publish(r, bp, why, "Transition", note).await;
}
