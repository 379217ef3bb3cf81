//! Tell: the Events of one reconcile (what was created, pruned, scaled, transitioned).

use std::collections::BTreeMap;

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
use crate::rollout::restart;
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

/// The longest Event note the API server accepts.
const NOTE_MAX: usize = 1024;

/// `"<verb> A, B and C<tail>"`, cut to what an Event note holds (`and N more`).
fn listing(verb: &str, items: &[String], tail: &str) -> String {
    let mut note = verb.to_string();
    for (i, item) in items.iter().enumerate() {
        let rest = items.len() - i;
        let sep = match i {
            0 => " ",
            _ if rest == 1 => " and ",
            _ => ", ",
        };
        // Room for this item and, if more follow, for " and N more".
        let reserve = if rest > 1 { 20 } else { 0 };
        if note.len() + sep.len() + item.len() + reserve + tail.len() > NOTE_MAX {
            note.push_str(&format!(" and {rest} more"));
            break;
        }
        note.push_str(sep);
        note.push_str(item);
    }
    note.push_str(tail);
    note
}

fn deployment_replicas(observed: &Observed, c: Component) -> Option<i32> {
    observed
        .deployments
        .get(&c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
}

/// The restart request each existing workload's pod template carries (`None` for a
/// workload that does not exist).
fn restarted_at(observed: &Observed) -> BTreeMap<Component, Option<Option<String>>> {
    let of = |t: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>| {
        t.and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(restart::RESTARTED_AT).cloned())
    };
    let mut out = BTreeMap::new();
    out.insert(
        Component::Store,
        observed
            .statefulset
            .as_ref()
            .map(|s| of(s.spec.as_ref().map(|s| &s.template))),
    );
    for c in [Component::Subscription, Component::Api] {
        out.insert(
            c,
            observed
                .deployments
                .get(&c)
                .map(|d| of(d.spec.as_ref().map(|s| &s.template))),
        );
    }
    out
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
    // One Event for all the objects a reconcile created (or pruned), naming them; the first
    // is its related object, which keeps it apart from an earlier Event of the same reason
    // (the recorder would fold them into one series that keeps the first note).
    if let Some(first) = applied.created.first() {
        let note = listing("created", &applied.created, "");
        let related = owned_reference(bp, first);
        publish_about(r, bp, related, Reason::Created, "Create", note).await;
    }
    if let Some(first) = applied.pruned.first() {
        let note = listing("deleted", &applied.pruned, ", no longer desired");
        let related = owned_reference(bp, first);
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
    for (component, at) in restart::new_requests(bp.annotations(), &restarted_at(observed)) {
        let how = match component {
            Component::Store => "one pod at a time",
            _ => "by a rolling update",
        };
        let note = format!(
            "restarting the {} pods {how} (restart requested at {at})",
            component.as_str()
        );
        publish(r, bp, Reason::RestartRequested, "Restart", note).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:0len$}")).collect()
    }

    #[test]
    fn listing_names_every_object_that_fits() {
        assert_eq!(listing("created", &items(1, 1), ""), "created 0");
        assert_eq!(
            listing("deleted", &items(3, 1), ", no longer desired"),
            "deleted 0, 1 and 2, no longer desired"
        );
    }

    #[test]
    fn listing_never_exceeds_an_event_note() {
        for n in [1, 5, 15, 40, 200] {
            for len in [1, 30, 63, 253, 1100] {
                let note = listing("created", &items(n, len), ", tail");
                assert!(
                    note.len() <= NOTE_MAX || (n == 1 && len > NOTE_MAX),
                    "{n} {len}: {}",
                    note.len()
                );
                assert!(note.ends_with(", tail"));
            }
        }
        assert!(listing("created", &items(200, 30), "").ends_with("more"));
    }
}
