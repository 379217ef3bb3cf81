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
    /// A reconcile failed.
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
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
