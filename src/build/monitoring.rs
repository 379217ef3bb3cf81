//! The Prometheus Operator's ServiceMonitor or PodMonitor for the Big Peer components, when
//! `spec.monitoring.enabled`. The user's labels let their Prometheus select it.

use serde_json::{Value, json};

use super::{DesiredObject, labels};
use crate::api::{BigPeer, Component, MonitorKind};
use crate::thirdparty;
use kube::ResourceExt;

/// Name of the monitor: the BigPeer's name.
pub fn name(bp: &BigPeer) -> String {
    bp.name_any()
}

/// The monitor the spec asks for, if the Prometheus Operator's API is installed.
pub fn monitor(bp: &BigPeer, api_installed: bool) -> Option<DesiredObject> {
    let m = &bp.spec.monitoring;
    if !m.enabled || !api_installed {
        return None;
    }
    let mut meta_labels = m.labels.clone();
    meta_labels.extend(labels::common(bp, "monitoring"));
    let components: Vec<&str> = Component::ALL.iter().map(|c| c.as_str()).collect();
    let selector = json!({
        "matchLabels": {
            "app.kubernetes.io/name": labels::APP_NAME,
            labels::INSTANCE: bp.name_any(),
        },
        "matchExpressions": [{"key": labels::COMPONENT, "operator": "In", "values": components}],
    });
    let mut endpoint = json!({"port": "metrics", "path": "/metrics", "scheme": "http"});
    if let Some(i) = &m.interval {
        endpoint["interval"] = json!(i);
    }
    // Keep which BigPeer and component a series belongs to.
    let keep = [labels::INSTANCE, labels::COMPONENT];
    let (resource, kind, spec): (_, &str, Value) = match m.resource {
        MonitorKind::ServiceMonitor => (
            thirdparty::service_monitor(),
            "ServiceMonitor",
            json!({
                "selector": selector,
                "namespaceSelector": {"matchNames": [bp.namespace()]},
                "endpoints": [endpoint],
                "targetLabels": keep,
            }),
        ),
        MonitorKind::PodMonitor => (
            thirdparty::pod_monitor(),
            "PodMonitor",
            json!({
                "selector": selector,
                "namespaceSelector": {"matchNames": [bp.namespace()]},
                "podMetricsEndpoints": [endpoint],
                "podTargetLabels": keep,
            }),
        ),
    };
    Some(DesiredObject::new(
        resource,
        json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": kind,
            "metadata": {
                "name": name(bp),
                "namespace": bp.namespace(),
                "labels": meta_labels,
                "ownerReferences": [labels::owner(bp)],
            },
            "spec": spec,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample;
    use std::collections::BTreeMap;

    #[test]
    fn nothing_unless_enabled_and_installed() {
        let mut bp = sample();
        assert!(monitor(&bp, true).is_none());
        bp.spec.monitoring.enabled = true;
        assert!(monitor(&bp, false).is_none());
        assert!(monitor(&bp, true).is_some());
    }

    #[test]
    fn service_monitor_selects_the_component_services_with_the_users_labels() {
        let mut bp = sample();
        bp.spec.monitoring.enabled = true;
        bp.spec.monitoring.interval = Some("30s".into());
        bp.spec.monitoring.labels = BTreeMap::from([
            ("release".into(), "prometheus".into()),
            // The operator's own labels win: selectors must keep working.
            ("app.kubernetes.io/instance".into(), "other".into()),
        ]);
        let m = monitor(&bp, true).unwrap();
        assert_eq!(m.resource.kind, "ServiceMonitor");
        let b = &m.body;
        assert_eq!(b["metadata"]["labels"]["release"], "prometheus");
        assert_eq!(
            b["metadata"]["labels"]["app.kubernetes.io/instance"],
            "prod"
        );
        assert_eq!(b["spec"]["endpoints"][0]["port"], "metrics");
        assert_eq!(b["spec"]["endpoints"][0]["interval"], "30s");
        assert_eq!(
            b["spec"]["namespaceSelector"]["matchNames"],
            json!(["bigpeer"])
        );
        assert_eq!(
            b["spec"]["selector"]["matchExpressions"][0]["values"],
            json!(["store", "subscription", "api"])
        );
    }

    #[test]
    fn pod_monitor_on_request() {
        let mut bp = sample();
        bp.spec.monitoring.enabled = true;
        bp.spec.monitoring.resource = MonitorKind::PodMonitor;
        let m = monitor(&bp, true).unwrap();
        assert_eq!(m.resource.kind, "PodMonitor");
        assert_eq!(m.body["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
        assert!(
            m.body["spec"]["podMetricsEndpoints"][0]
                .get("interval")
                .is_none()
        );
    }
}
