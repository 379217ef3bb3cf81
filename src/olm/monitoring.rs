//! Monitoring assets: the operator's ServiceMonitor, a PrometheusRule wrapping
//! `monitoring/rules/`, and the Grafana dashboards as ConfigMaps, for `config/prometheus`
//! and the OLM bundles.

use serde_json::{Value, json};

use super::file::{File, value};
use super::flavour::Flavour;
use super::manager;

/// The rule file (Prometheus format), source of the PrometheusRule.
pub const RULES: &str = include_str!("../../monitoring/rules/smbp-operator.rules.yaml");

/// A Grafana dashboard shipped with the operator.
#[derive(Clone, Copy, Debug)]
pub struct Dashboard {
    /// File stem under `monitoring/dashboards/`, also the ConfigMap key's stem.
    pub name: &'static str,
    /// The dashboard JSON model.
    pub json: &'static str,
}

/// Every dashboard.
pub const DASHBOARDS: [Dashboard; 2] = [
    Dashboard {
        name: "smbp-operator",
        json: include_str!("../../monitoring/dashboards/smbp-operator.json"),
    },
    Dashboard {
        name: "bigpeer-overview",
        json: include_str!("../../monitoring/dashboards/bigpeer-overview.json"),
    },
];

/// ServiceMonitor name.
pub const SERVICE_MONITOR: &str = "smbp-operator-metrics-monitor";
/// PrometheusRule name.
pub const PROMETHEUS_RULE: &str = "smbp-operator-rules";
/// Label the Grafana dashboard sidecar (kube-prometheus-stack, grafana chart) looks for.
pub const GRAFANA_DASHBOARD_LABEL: &str = "grafana_dashboard";

const SERVICE_MONITOR_NOTE: &str = "\
# The operator's metrics endpoint, scraped by the Prometheus Operator.
# - scheme https + the Prometheus ServiceAccount's token: the endpoint checks the token with a
#   TokenReview and a SubjectAccessReview (bind Prometheus's ServiceAccount to the ClusterRole
#   smbp-operator-metrics-reader).
# - insecureSkipVerify: the operator serves a self-signed certificate unless it is given one
#   (--metrics-cert-dir); with a CA-signed certificate, replace it with tlsConfig.ca and
#   serverName smbp-operator-metrics.<namespace>.svc.
# - honorLabels: per-BigPeer series carry the BigPeer's `namespace` (and `bigpeer`); honouring
#   them keeps that namespace in `namespace`, as the shipped rules and dashboards expect,
#   instead of renaming it to exported_namespace. The endpoint only exposes labels the
#   operator defines (docs/metrics.md).
";

/// The Service the ServiceMonitor selects: the one in the bundle and `config/default`.
fn metrics_service() -> Value {
    value(&manager::metrics_service())
}

/// The operator's ServiceMonitor over the metrics Service.
pub fn service_monitor() -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": SERVICE_MONITOR, "labels": manager::labels()},
        "spec": {
            "selector": {"matchLabels": metrics_service()["metadata"]["labels"].clone()},
            "endpoints": [{
                "port": "metrics",
                "path": "/metrics",
                "scheme": "https",
                "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
                "tlsConfig": {"insecureSkipVerify": true},
                "honorLabels": true,
            }],
        },
    })
}

/// The rule file's groups as a PrometheusRule.
pub fn prometheus_rule() -> Value {
    let rules: Value = serde_yaml_ng::from_str(RULES).expect("monitoring/rules parses as YAML");
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": PROMETHEUS_RULE, "labels": manager::labels()},
        "spec": {"groups": rules["groups"].clone()},
    })
}

/// ConfigMap name of a dashboard.
pub fn dashboard_config_map_name(d: &Dashboard) -> String {
    format!("smbp-operator-dashboard-{}", d.name)
}

/// A dashboard as a ConfigMap for the Grafana sidecar.
pub fn dashboard_config_map(d: &Dashboard) -> Value {
    let mut labels = manager::labels();
    labels.insert(GRAFANA_DASHBOARD_LABEL.into(), "1".into());
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": dashboard_config_map_name(d), "labels": labels},
        "data": {format!("{}.json", d.name): d.json},
    })
}

fn y(v: &Value) -> String {
    serde_yaml_ng::to_string(v).expect("manifests serialize")
}

/// `config/prometheus/`: a kustomize directory that `config/default` can include.
pub fn kustomize_files() -> Vec<File> {
    let mut out = vec![
        (
            "config/prometheus/monitor.yaml".to_string(),
            format!("{SERVICE_MONITOR_NOTE}{}", y(&service_monitor())),
        ),
        (
            "config/prometheus/prometheus_rule.yaml".to_string(),
            format!(
                "# Generated from monitoring/rules/smbp-operator.rules.yaml; runbooks in docs/runbooks/.\n{}",
                y(&prometheus_rule())
            ),
        ),
    ];
    let mut resources = vec!["monitor.yaml".to_string(), "prometheus_rule.yaml".into()];
    for d in &DASHBOARDS {
        let file = format!("grafana_dashboard_{}.yaml", d.name);
        out.push((
            format!("config/prometheus/{file}"),
            format!(
                "# Generated from monitoring/dashboards/{}.json.\n{}",
                d.name,
                y(&dashboard_config_map(d))
            ),
        ));
        resources.push(file);
    }
    out.push((
        "config/prometheus/kustomization.yaml".into(),
        y(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        })),
    ));
    out
}

/// Bundle manifests: dashboards in every flavour (ConfigMaps install anywhere); the
/// ServiceMonitor and PrometheusRule only in flavours for clusters that always serve
/// `monitoring.coreos.com/v1`, because OLM fails the whole InstallPlan elsewhere.
pub fn bundle_files(dir: &str, flavour: Flavour) -> Vec<File> {
    let mut out: Vec<File> = DASHBOARDS
        .iter()
        .map(|d| {
            (
                format!(
                    "{dir}/manifests/{}_v1_configmap.yaml",
                    dashboard_config_map_name(d)
                ),
                y(&dashboard_config_map(d)),
            )
        })
        .collect();
    if flavour.ships_prometheus_operator_objects() {
        out.push((
            format!(
                "{dir}/manifests/{SERVICE_MONITOR}_monitoring.coreos.com_v1_servicemonitor.yaml"
            ),
            y(&service_monitor()),
        ));
        out.push((
            format!(
                "{dir}/manifests/{PROMETHEUS_RULE}_monitoring.coreos.com_v1_prometheusrule.yaml"
            ),
            y(&prometheus_rule()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_monitor_scrapes_the_metrics_service_port() {
        let sm = service_monitor();
        let svc = metrics_service();
        let selector = sm["spec"]["selector"]["matchLabels"].as_object().unwrap();
        assert!(!selector.is_empty());
        for (k, v) in selector {
            assert_eq!(&svc["metadata"]["labels"][k], v, "{k}");
        }
        let port = &sm["spec"]["endpoints"][0]["port"];
        assert!(
            svc["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| &p["name"] == port),
            "{port} is not a port of the metrics Service"
        );
        let ep = &sm["spec"]["endpoints"][0];
        assert_eq!(ep["scheme"], "https");
        assert_eq!(ep["honorLabels"], true);
        assert_eq!(ep["tlsConfig"]["insecureSkipVerify"], true);
    }

    #[test]
    fn the_rules_job_is_the_metrics_service() {
        // Prometheus Operator names the job after the Service; the rules match on it.
        let job = format!(
            "job=\"{}\"",
            metrics_service()["metadata"]["name"].as_str().unwrap()
        );
        assert!(RULES.contains(&job), "rules do not select {job}");
        for d in &DASHBOARDS {
            if d.json.contains("job=") {
                assert!(d.json.contains(&job.replace('"', "\\\"")), "{}", d.name);
            }
        }
    }

    #[test]
    fn prometheus_rule_carries_every_group_of_the_rule_file() {
        let pr = prometheus_rule();
        let file: Value = serde_yaml_ng::from_str(RULES).unwrap();
        assert_eq!(pr["spec"]["groups"], file["groups"]);
        assert!(pr["spec"]["groups"].as_array().unwrap().len() >= 3);
    }

    #[test]
    fn dashboards_become_labelled_config_maps() {
        for d in &DASHBOARDS {
            let cm = dashboard_config_map(d);
            assert_eq!(cm["metadata"]["labels"][GRAFANA_DASHBOARD_LABEL], "1");
            let key = format!("{}.json", d.name);
            let body: Value = serde_json::from_str(cm["data"][&key].as_str().unwrap()).unwrap();
            assert!(body["uid"].is_string(), "{}", d.name);
            // ConfigMaps are capped at 1 MiB; stay far below (kubectl apply's annotation too).
            assert!(
                d.json.len() < 200_000,
                "{} is {} bytes",
                d.name,
                d.json.len()
            );
        }
    }

    #[test]
    fn only_the_openshift_bundle_carries_prometheus_operator_objects() {
        let kinds = |files: Vec<File>| -> Vec<String> {
            files
                .iter()
                .map(|(_, c)| {
                    serde_yaml_ng::from_str::<Value>(c).unwrap()["kind"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        assert_eq!(
            kinds(bundle_files("b", Flavour::Community)),
            ["ConfigMap", "ConfigMap"]
        );
        assert_eq!(
            kinds(bundle_files("b", Flavour::OpenShift)),
            ["ConfigMap", "ConfigMap", "ServiceMonitor", "PrometheusRule"]
        );
    }

    #[test]
    fn kustomization_lists_every_file_it_ships() {
        let files = kustomize_files();
        let k: Value = serde_yaml_ng::from_str(
            &files
                .iter()
                .find(|(p, _)| p.ends_with("kustomization.yaml"))
                .unwrap()
                .1,
        )
        .unwrap();
        let listed: Vec<&str> = k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let shipped: Vec<String> = files
            .iter()
            .map(|(p, _)| p.trim_start_matches("config/prometheus/").to_string())
            .filter(|p| p != "kustomization.yaml")
            .collect();
        assert_eq!(listed, shipped);
    }
}
