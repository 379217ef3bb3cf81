//! Kubernetes Events about a BigPeer. Reasons are CamelCase and listed here, so that the
//! catalogue of what the operator can say is in one place.

use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use tracing::warn;

use crate::api::BigPeer;

/// Event reasons.
pub mod reason {
    /// An owned object was created.
    pub const CREATED: &str = "Created";
    /// An owned object no longer desired was deleted.
    pub const PRUNED: &str = "Pruned";
    /// The store's replica count changes.
    pub const SCALING: &str = "Scaling";
    /// A store pod is replaced to move it to the current revision.
    pub const ROLLING_POD: &str = "RollingPod";
    /// The store rollout stopped on a stuck pod.
    pub const ROLLOUT_BLOCKED: &str = "RolloutBlocked";
    /// A pod is stuck (crash loop, image pull failure, unschedulable).
    pub const POD_STUCK: &str = "PodStuck";
    /// A store scale-down is held back.
    pub const SCALE_DOWN_BLOCKED: &str = "ScaleDownBlocked";
    /// An add-on the spec needs is not installed.
    pub const INTEGRATION_MISSING: &str = "IntegrationMissing";
    /// A topology transition started.
    pub const TOPOLOGY_TRANSITION_STARTED: &str = "TopologyTransitionStarted";
    /// A topology transition finished.
    pub const TOPOLOGY_TRANSITION_COMPLETED: &str = "TopologyTransitionCompleted";
    /// Reconciliation is paused.
    pub const PAUSED: &str = "ReconciliationPaused";
    /// Volumes were kept on delete.
    pub const VOLUMES_RETAINED: &str = "VolumesRetained";
    /// Volumes were deleted on delete.
    pub const VOLUMES_DELETED: &str = "VolumesDeleted";
    /// Store volume claims were raised to a larger `store.storage.size`.
    pub const VOLUME_EXPANSION: &str = "VolumeExpansion";
    /// A store volume claim could not be grown.
    pub const VOLUME_EXPANSION_FAILED: &str = "VolumeExpansionFailed";
    /// A reconcile failed.
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
}

/// One reason in the catalogue: what it means and what to do.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The Event's reason.
    pub reason: &'static str,
    /// Warning (true) or Normal.
    pub warning: bool,
    /// When the operator emits it.
    pub meaning: &'static str,
    /// What a user or support engineer should do.
    pub action: &'static str,
}

/// Every Event reason the operator emits; `docs/events.md` is generated from it.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        reason: reason::CREATED,
        warning: false,
        meaning: "An object of the BigPeer (Service, workload, ConfigMap, Certificate, NetworkPolicy, Ingress, ...) was created.",
        action: "Nothing: informational.",
    },
    Entry {
        reason: reason::PRUNED,
        warning: false,
        meaning: "An owned object the spec no longer asks for was deleted, for example the Ingress after switching `network.expose` to `gatewayAPI`, or a PodDisruptionBudget that was turned off. The store StatefulSet and volumes are never pruned.",
        action: "Nothing, if the spec change was intended.",
    },
    Entry {
        reason: reason::SCALING,
        warning: false,
        meaning: "A component's replica count changes to follow the spec.",
        action: "Nothing: watch `kubectl get bigpeer` until the counts match.",
    },
    Entry {
        reason: reason::ROLLING_POD,
        warning: false,
        meaning: "A store pod is deleted so that the StatefulSet recreates it on the current revision (new version or configuration), one pod at a time.",
        action: "Nothing: the rollout continues when the new pod is ready.",
    },
    Entry {
        reason: reason::ROLLOUT_BLOCKED,
        warning: true,
        meaning: "The store rollout stopped because a replaced pod did not become ready within `spec.rollout.progressDeadlineSeconds`; no further pod is touched.",
        action: "Read the message for the pod and cause (image pull, crash loop, unschedulable), fix the spec (for example the image), and the rollout resumes. See docs/runbooks/SmbpBigPeerRolloutStuck.md.",
    },
    Entry {
        reason: reason::POD_STUCK,
        warning: true,
        meaning: "A Big Peer pod stayed unready past the progress deadline (crash loop, image pull failure, unschedulable).",
        action: "`kubectl describe pod <pod>` and its logs; fix the cause (image, resources, node capacity, scheduling constraints).",
    },
    Entry {
        reason: reason::SCALE_DOWN_BLOCKED,
        warning: true,
        meaning: "A store scale-down is held back because a store pod is not ready: removing another pod then could take two copies of a partition away at once. (A scale-down that waits for a topology transition, or for the previous pod's removal, is not held back: it shows as `ScalingDown` in StoreReady and Progressing.)",
        action: "Find out why the pod named in the message is not ready (`kubectl describe pod`); once it is, the scale-down proceeds by itself, one pod at a time.",
    },
    Entry {
        reason: reason::INTEGRATION_MISSING,
        warning: true,
        meaning: "The spec needs an API that is not installed: Strimzi, cert-manager, the Gateway API, OpenShift Routes or the Prometheus Operator. The message names it; the BigPeer is Degraded and the part concerned waits.",
        action: "Install the add-on (it is noticed within 30 seconds) or change the spec to not need it.",
    },
    Entry {
        reason: reason::TOPOLOGY_TRANSITION_STARTED,
        warning: false,
        meaning: "A staged cluster configuration transition (partitions or replication factor) started.",
        action: "Nothing: follow `status.topology.transition`.",
    },
    Entry {
        reason: reason::TOPOLOGY_TRANSITION_COMPLETED,
        warning: false,
        meaning: "The store runs on the new topology.",
        action: "Nothing: informational.",
    },
    Entry {
        reason: reason::PAUSED,
        warning: false,
        meaning: "Reconciliation is paused by the `smbp.io/paused: \"true\"` annotation; nothing is changed until it is removed.",
        action: "Remove the annotation (or set it to \"false\") to resume.",
    },
    Entry {
        reason: reason::VOLUMES_RETAINED,
        warning: false,
        meaning: "The BigPeer was deleted and its store volumes were kept (`store.storage.retention.whenDeleted: Retain`).",
        action: "Delete the PersistentVolumeClaims yourself when the data is no longer needed, or reuse them with a BigPeer of the same name.",
    },
    Entry {
        reason: reason::VOLUMES_DELETED,
        warning: false,
        meaning: "The BigPeer was deleted and its store volumes were deleted (`whenDeleted: Delete`).",
        action: "Nothing: the data is gone as requested.",
    },
    Entry {
        reason: reason::VOLUME_EXPANSION,
        warning: false,
        meaning: "`store.storage.size` grew: the store's volume claims were raised to it. The StatefulSet's claim template keeps its original size (Kubernetes does not let it change); the storage system resizes each volume.",
        action: "Nothing, unless a claim stays below its request: then check the claim's events and the CSI driver's resizer.",
    },
    Entry {
        reason: reason::VOLUME_EXPANSION_FAILED,
        warning: true,
        meaning: "A store volume claim could not be grown; the message has the API server's answer (typically a StorageClass without `allowVolumeExpansion`). Nothing else is held back.",
        action: "Allow expansion on the StorageClass (if its driver supports it), or set `store.storage.size` back to the claims' size. See docs/runbooks/SmbpStoreVolumeFillingUp.md for other ways to free space.",
    },
    Entry {
        reason: reason::RECONCILE_FAILED,
        warning: true,
        meaning: "A reconcile failed (API error, conflict, permission). The message says what failed; the operator retries with exponential backoff (5 s up to 5 minutes).",
        action: "If it repeats: check the operator's RBAC (`Forbidden`), admission webhooks or quotas (`Invalid`), and the operator logs (search for the BigPeer and the trace id). See docs/runbooks/SmbpOperatorReconcileErrors.md.",
    },
];

/// The Event catalogue as Markdown (`docs/events.md`).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Events\n\n<!-- Generated by `smbp-operator bundle-gen` from src/reconcile/events.rs; do not edit. -->\n\n\
         The operator records Kubernetes Events on the BigPeer they concern \
         (`kubectl events --for bigpeer/<name>` or `kubectl describe bigpeer <name>`). \
         Every reason it can emit is listed here. Warnings also show in the BigPeer's \
         `Degraded` condition.\n\n| Reason | Type | Meaning | What to do |\n|---|---|---|---|\n",
    );
    for e in CATALOGUE {
        let type_ = if e.warning { "Warning" } else { "Normal" };
        out.push_str(&format!(
            "| `{}` | {type_} | {} | {} |\n",
            e.reason, e.meaning, e.action
        ));
    }
    out
}

/// Publish an Event; failures are logged, never fatal.
pub async fn publish(
    recorder: &Recorder,
    bp: &BigPeer,
    warning: bool,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &bp.object_ref(&())).await {
        warn!(bigpeer = %bp.name_any(), error = %e, "could not publish event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason constant is in the catalogue exactly once, so the generated document
    /// cannot miss one.
    #[test]
    fn catalogue_covers_every_reason() {
        let source = include_str!("events.rs");
        let module = &source[source.find("pub mod reason").unwrap()
            ..source.find("/// One reason in the catalogue").unwrap()];
        let constants: Vec<&str> = module
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub const "))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert!(constants.len() >= 14);
        for c in &constants {
            assert_eq!(
                CATALOGUE.iter().filter(|e| e.reason == *c).count(),
                1,
                "{c} must be catalogued once"
            );
        }
        assert_eq!(constants.len(), CATALOGUE.len());
        let md = markdown();
        assert!(constants.iter().all(|c| md.contains(&format!("| `{c}` |"))));
    }
}
