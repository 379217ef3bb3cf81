//! Operator metrics (Prometheus text format via prometheus-client).

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabel {
    condition: String,
    status: String,
}

/// What one BigPeer contributes to the gauges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BigPeerState {
    /// (condition type, status) pairs.
    pub conditions: Vec<(String, String)>,
    /// Paused by annotation.
    pub paused: bool,
}

/// All operator metrics.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabel, Counter>,
    duration: Histogram,
    errors: Family<ReasonLabel, Counter>,
    by_condition: Family<ConditionLabel, Gauge>,
    paused: Gauge,
    leader: Gauge,
    states: Mutex<HashMap<String, BigPeerState>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("smbp_operator");
        let reconciles = Family::<ResultLabel, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        let errors = Family::<ReasonLabel, Counter>::default();
        let by_condition = Family::<ConditionLabel, Gauge>::default();
        let paused = Gauge::default();
        let leader = Gauge::default();
        registry.register(
            "reconciles",
            "Reconciles by result (success, error)",
            reconciles.clone(),
        );
        registry.register_with_unit(
            "reconcile_duration",
            "Duration of reconciles",
            prometheus_client::registry::Unit::Seconds,
            duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconciles by reason",
            errors.clone(),
        );
        registry.register(
            "bigpeers",
            "Managed BigPeers by condition type and status",
            by_condition.clone(),
        );
        registry.register(
            "bigpeers_paused",
            "BigPeers with reconciliation paused",
            paused.clone(),
        );
        registry.register(
            "leader",
            "1 when this process holds the leader Lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            duration,
            errors,
            by_condition,
            paused,
            leader,
            states: Mutex::new(HashMap::new()),
        }
    }
}

impl Metrics {
    /// Count a reconcile.
    pub fn reconciled(&self, seconds: f64, error_reason: Option<&str>) {
        self.duration.observe(seconds);
        let result = if error_reason.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.into(),
            })
            .inc();
        if let Some(r) = error_reason {
            self.errors
                .get_or_create(&ReasonLabel { reason: r.into() })
                .inc();
        }
    }

    /// Record a BigPeer's state (key: namespace/name); `None` forgets it.
    pub fn set_state(&self, key: &str, state: Option<BigPeerState>) {
        let mut states = self.states.lock().expect("metrics lock");
        match state {
            Some(s) => {
                states.insert(key.to_string(), s);
            }
            None => {
                states.remove(key);
            }
        }
        self.by_condition.clear();
        let mut paused = 0;
        for s in states.values() {
            paused += i64::from(s.paused);
            for (c, st) in &s.conditions {
                self.by_condition
                    .get_or_create(&ConditionLabel {
                        condition: c.clone(),
                        status: st.clone(),
                    })
                    .inc();
            }
        }
        self.paused.set(paused);
    }

    /// Leadership changed.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding metrics to a string");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_counts_and_states() {
        let m = Metrics::default();
        m.reconciled(0.2, None);
        m.reconciled(0.1, Some("Forbidden"));
        m.set_state(
            "ns/a",
            Some(BigPeerState {
                conditions: vec![("Ready".into(), "True".into())],
                paused: true,
            }),
        );
        m.set_state(
            "ns/b",
            Some(BigPeerState {
                conditions: vec![("Ready".into(), "False".into())],
                paused: false,
            }),
        );
        let text = m.encode();
        assert!(
            text.contains(r#"smbp_operator_reconciles_total{result="success"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"smbp_operator_reconcile_errors_total{reason="Forbidden"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"smbp_operator_bigpeers{condition="Ready",status="True"} 1"#),
            "{text}"
        );
        assert!(text.contains("smbp_operator_bigpeers_paused 1"), "{text}");
        assert!(
            text.contains("smbp_operator_reconcile_duration_seconds_count 2"),
            "{text}"
        );
        m.set_state("ns/a", None);
        assert!(m.encode().contains("smbp_operator_bigpeers_paused 0"));
    }
}
