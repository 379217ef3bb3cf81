//! What a pod's status says about it: ready, terminating, or stuck and why.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// Container waiting reasons that will not clear on their own.
const STUCK_REASONS: [&str; 6] = [
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// The facts about one pod that rollout decisions use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    /// Pod name.
    pub name: String,
    /// StatefulSet ordinal, if any.
    pub ordinal: Option<u32>,
    /// Runs the current revision of its workload.
    pub updated: bool,
    /// Ready condition is True.
    pub ready: bool,
    /// Being deleted.
    pub terminating: bool,
    /// Unready past the deadline, with the reason found.
    pub stuck: Option<String>,
}

/// Why a pod is not progressing, from its status, if it shows a known failure.
pub fn failure_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    for c in status.conditions.iter().flatten() {
        if c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
        {
            return Some(format!(
                "Unschedulable: {}",
                c.message.clone().unwrap_or_default()
            ));
        }
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in containers {
        if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.clone().unwrap_or_default();
            if STUCK_REASONS.contains(&reason.as_str()) {
                return Some(
                    format!("{reason}: {}", w.message.clone().unwrap_or_default())
                        .trim_end_matches([':', ' '])
                        .to_string(),
                );
            }
        }
    }
    None
}

/// Pod Ready condition.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Since when the pod has been unready: the Ready condition's last transition, or creation.
fn unready_since(pod: &Pod) -> Option<Timestamp> {
    let cond = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (cond, created) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Build the view of a pod. `current_revision` is the workload's update revision (for a
/// StatefulSet, `status.updateRevision`; for a Deployment's pods, the newest ReplicaSet's
/// pod-template-hash).
pub fn view(
    pod: &Pod,
    revision_label: &str,
    current_revision: Option<&str>,
    now: Timestamp,
    deadline_secs: i64,
) -> PodView {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ordinal = name.rsplit('-').next().and_then(|s| s.parse().ok());
    let revision = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(revision_label))
        .map(String::as_str);
    let ready = is_ready(pod);
    let stuck = if ready {
        None
    } else {
        let overdue =
            unready_since(pod).is_some_and(|t| now.as_second() - t.as_second() >= deadline_secs);
        if overdue {
            Some(
                failure_reason(pod)
                    .unwrap_or_else(|| "NotReady: the pod has not become ready".into()),
            )
        } else {
            None
        }
    };
    PodView {
        name,
        ordinal,
        updated: current_revision.is_some_and(|c| revision == Some(c)),
        ready,
        terminating: pod.metadata.deletion_timestamp.is_some(),
        stuck,
    }
}
