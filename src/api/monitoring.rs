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
    pub labels: BTreeMap<String, String>,
    /// Scrape interval, for example "30s"; Prometheus's own default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"self.matches('^([0-9]+(ms|s|m|h))+$')").message("monitoring.interval must be a Prometheus duration such as 30s or 1m"))]
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
