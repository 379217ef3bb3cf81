//! Status conditions in `metav1.Condition` form.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub use super::reason::Reason;

/// Condition types the operator maintains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConditionType {
    /// Every part is ready on the desired spec.
    Ready,
    /// A change is being carried out.
    Progressing,
    /// Something needs attention.
    Degraded,
    /// The Kafka topic (and user) are ready.
    TransactionLogReady,
    /// Keys are issued and present.
    KeysReady,
    /// Store pods are ready.
    StoreReady,
    /// Subscription pods are ready.
    SubscriptionReady,
    /// API pods are ready.
    ApiReady,
    /// The public endpoint is in place (exposure objects accepted, address assigned).
    Exposed,
    /// The ServiceMonitor or PodMonitor is in place (when monitoring is enabled).
    MonitoringReady,
    /// `smbp.io/paused` is set.
    ReconciliationPaused,
    /// A BigPeerApiKey is past its `expiresAt`.
    Expired,
}

impl ConditionType {
    /// The types of a BigPeer, in the order they are shown.
    pub const ALL: [ConditionType; 11] = [
        ConditionType::Ready,
        ConditionType::Progressing,
        ConditionType::Degraded,
        ConditionType::TransactionLogReady,
        ConditionType::KeysReady,
        ConditionType::StoreReady,
        ConditionType::SubscriptionReady,
        ConditionType::ApiReady,
        ConditionType::Exposed,
        ConditionType::MonitoringReady,
        ConditionType::ReconciliationPaused,
    ];

    /// The types of a BigPeerApp.
    pub const APP: [ConditionType; 1] = [ConditionType::Ready];

    /// The types of a BigPeerApiKey, in the order they are shown.
    pub const API_KEY: [ConditionType; 2] = [ConditionType::Ready, ConditionType::Expired];

    /// The types of a BigPeerReplication, in the order they are shown.
    pub const REPLICATION: [ConditionType; 2] = [ConditionType::Ready, ConditionType::Degraded];

    /// The types of a BigPeerDataBridge, in the order they are shown.
    pub const DATA_BRIDGE: [ConditionType; 2] = [ConditionType::Ready, ConditionType::Degraded];

    /// Name as it appears in `status.conditions[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::Progressing => "Progressing",
            ConditionType::Degraded => "Degraded",
            ConditionType::TransactionLogReady => "TransactionLogReady",
            ConditionType::KeysReady => "KeysReady",
            ConditionType::StoreReady => "StoreReady",
            ConditionType::SubscriptionReady => "SubscriptionReady",
            ConditionType::ApiReady => "ApiReady",
            ConditionType::Exposed => "Exposed",
            ConditionType::MonitoringReady => "MonitoringReady",
            ConditionType::ReconciliationPaused => "ReconciliationPaused",
            ConditionType::Expired => "Expired",
        }
    }
}

/// A condition the operator wants to show, before timestamps are attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCondition {
    /// Type.
    pub type_: ConditionType,
    /// True or False.
    pub status: bool,
    /// Why: a reason users and alerts can match on.
    pub reason: Reason,
    /// Human message.
    pub message: String,
}

impl DesiredCondition {
    /// New condition.
    pub fn new(
        type_: ConditionType,
        status: bool,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Merge desired conditions into existing ones: `lastTransitionTime` changes only when the
/// status flips, so a steady state writes an identical status.
pub fn merge(
    existing: &[Condition],
    desired: &[DesiredCondition],
    generation: i64,
    now: &Time,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = desired
        .iter()
        .map(|d| {
            let status = if d.status { "True" } else { "False" }.to_string();
            let previous = existing.iter().find(|c| c.type_ == d.type_.as_str());
            let last_transition_time = match previous {
                Some(p) if p.status == status => p.last_transition_time.clone(),
                _ => now.clone(),
            };
            Condition {
                type_: d.type_.as_str().to_string(),
                status,
                reason: d.reason.as_str().to_string(),
                message: truncate(&d.message, 32 * 1024),
                observed_generation: Some(generation),
                last_transition_time,
            }
        })
        .collect();
    sort(&mut out);
    out
}

/// Order conditions by type, as [`ConditionType::ALL`] lists them (then `Expired`).
pub fn sort(conditions: &mut [Condition]) {
    conditions.sort_by_key(|c| {
        ConditionType::ALL
            .iter()
            .chain(&[ConditionType::Expired])
            .position(|t| t.as_str() == c.type_)
            .unwrap_or(usize::MAX)
    });
}

/// Find a condition by type.
pub fn find(conditions: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == type_.as_str())
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_changes_only_on_flip() {
        let d = vec![DesiredCondition::new(
            ConditionType::Ready,
            true,
            Reason::AllPartsReady,
            "ok",
        )];
        let first = merge(&[], &d, 1, &t(10));
        let again = merge(&first, &d, 2, &t(20));
        assert_eq!(again[0].last_transition_time, t(10));
        assert_eq!(again[0].observed_generation, Some(2));
        let flipped = merge(
            &again,
            &[DesiredCondition::new(
                ConditionType::Ready,
                false,
                Reason::NotReady,
                "x",
            )],
            2,
            &t(30),
        );
        assert_eq!(flipped[0].last_transition_time, t(30));
    }

    #[test]
    fn ordered_by_type() {
        let d = vec![
            DesiredCondition::new(ConditionType::ApiReady, true, Reason::AllReplicasReady, ""),
            DesiredCondition::new(ConditionType::Ready, true, Reason::AllPartsReady, ""),
        ];
        let out = merge(&[], &d, 1, &t(1));
        assert_eq!(out[0].type_, "Ready");
        assert_eq!(out[1].type_, "ApiReady");
    }
}
