//! `spec.monitoring`: scraping of the Big Peer components by the Prometheus Operator.

use std::collections::BTreeMap;

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Prometheus Operator integration.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Create a ServiceMonitor (or PodMonitor) for the Big Peer components. Needs the
    /// Prometheus Operator's API (`monitoring.coreos.com/v1`); without it the BigPeer reports
    /// `MonitoringReady=False` and runs unmonitored.
    #[serde(default)]
    pub enabled: bool,
    /// The kind of monitor to create.
    #[serde(default)]
    pub resource: MonitorKind,
    /// Labels put on the monitor so that your Prometheus's `serviceMonitorSelector` (or
    /// `podMonitorSelector`) picks it, for example `release: prometheus`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::cel::monitor_labels)]
    pub labels: BTreeMap<String, String>,
    /// Scrape interval, for example "30s", "1h30m" or "1d"; Prometheus's own default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"self.matches('^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$') && self.matches('[0-9]')").message("monitoring.interval must be a Prometheus duration: units from largest to smallest among y, w, d, h, m, s and ms, such as 30s, 1h30m or 1d"))]
    #[schemars(length(min = 2, max = 16))]
    pub interval: Option<String>,
}

/// ServiceMonitor or PodMonitor.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MonitorKind {
    /// One ServiceMonitor over the components' Services (port `metrics`).
    #[default]
    ServiceMonitor,
    /// One PodMonitor over the components' pods (port `metrics`).
    PodMonitor,
}
