//! `docs/metrics.md`: the metrics reference, read off the registry's own encoding so that
//! it lists exactly what `/metrics` serves.

use super::exposition::{self, Family, suffixes};
use super::metrics::{Integration, Metrics};
use crate::api::conditions::ConditionType;
use crate::api::reason::Reason;

/// Where bundle-gen writes the reference.
pub const PATH: &str = "docs/metrics.md";

/// Queries shown in the reference (checked against the registry like the dashboards).
pub const EXAMPLE_QUERIES: [(&str, &str); 11] = [
    (
        "Share of failing reconciles",
        "sum(rate(smbp_operator_reconcile_errors_total[5m])) / sum(rate(smbp_operator_reconciles_total[5m]))",
    ),
    (
        "99th percentile reconcile duration",
        "histogram_quantile(0.99, sum by (le) (rate(smbp_operator_reconcile_duration_seconds_bucket[5m])))",
    ),
    (
        "BigPeers that are not Ready",
        r#"smbp_operator_bigpeer_condition{condition="Ready"} == 0"#,
    ),
    (
        "BigPeers with stuck pods",
        "smbp_operator_bigpeer_stuck_pods > 0",
    ),
    (
        "BigPeers in a rollout",
        "sum(smbp_operator_bigpeer_rollout_in_progress)",
    ),
    (
        "Add-ons the cluster lacks",
        "smbp_operator_integration_available == 0",
    ),
    (
        "API keys that expire within 7 days (negative: already expired), in seconds",
        "min by (namespace, app, api_key) (smbp_operator_api_key_expiry_timestamp_seconds) - time() < 7 * 86400",
    ),
    (
        "Replications that need attention",
        "smbp_operator_replication_condition{condition=\"Degraded\"} == 1",
    ),
    (
        "Data bridges that need attention, by reason",
        "sum by (namespace, data_bridge, degraded_reason) (smbp_operator_data_bridge_degraded)",
    ),
    (
        "Seconds since each MongoDB connector's last progress, as the operator last read it",
        "time() - smbp_operator_mongo_connector_last_progress_timestamp_seconds",
    ),
    (
        "Operator versions running",
        "count by (version) (smbp_operator_build_info)",
    ),
];

/// What a label means; every label the registry uses must be listed.
pub fn label_doc(label: &str) -> Option<String> {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(match label {
        "result" => "`success` or `error`.".into(),
        "reason" => {
            "Why a reconcile failed: `Forbidden` (403), `Conflict` (409), `Invalid` (422), \
             `ApiError` (another API error), `ApiUnreachable`, `FinalizerFailed`, `InvalidObject`."
                .into()
        }
        "condition" => format!(
            "A condition type of the BigPeer's `status.conditions`: {} (of a BigPeerReplication's: `Ready`, `Degraded`).",
            list(&ConditionType::ALL.map(ConditionType::as_str))
        ),
        "status" => "The condition's status: `True`, `False` or `Unknown`.".into(),
        "namespace" => {
            "The namespace of the BigPeer (or of the app and API key, or of the data bridge) (see *Labels and scraping* below)."
                .into()
        }
        "bigpeer" => "The BigPeer's name.".into(),
        "app" => "The name of the API key's BigPeerApp (`spec.appRef.name`).".into(),
        "api_key" => "The BigPeerApiKey's name.".into(),
        "integration" => format!(
            "An optional add-on found through API discovery: {}.",
            list(&Integration::ALL.map(Integration::as_str))
        ),
        "version" => "The operator's version.".into(),
        "operation" => "The admission request's operation: `CREATE` or `UPDATE`.".into(),
        "decision" => {
            "The webhook's answer: `allowed`, `refused`, or `error` (a request it could not read)."
                .into()
        }
        "refusal" => format!(
            "Why the webhook refused a field: {}.",
            list(&Reason::ADMISSION_REFUSALS.map(Reason::as_str))
        ),
        "kind" => format!(
            "The kind of the object reviewed: {}.",
            list(&crate::api::KINDS.map(|(kind, _)| kind))
        ),
        "le" => "Histogram bucket: upper bound in seconds.".into(),
        "replication" => "The BigPeerReplication's name.".into(),
        "state" => "A replication connection's state: `Ready`, `NotReady`, `NotFound`, `External` (outside the cluster) or `Unknown` (in a namespace the operator may not read).".into(),
        "data_bridge" => "The BigPeerDataBridge's name.".into(),
        "bridge_type" => "`Kafka` (change data capture) or `MongoDB` (connector).".into(),
        "degraded_reason" => "The reason of the data bridge's `Degraded` condition, such as `ConnectorStalled`, `ConnectorNotReady`, `ConsumerListenerNotFound` (see docs/events.md).".into(),
        _ => return None,
    })
}

fn label_names(f: &Family) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    for s in &f.samples {
        for (k, _) in &s.labels {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

/// Families of a fully populated registry.
pub fn families() -> Vec<Family> {
    exposition::parse(&Metrics::example().encode()).expect("the registry encodes OpenMetrics")
}

/// The reference as Markdown.
pub fn markdown() -> String {
    let fams = families();
    let mut out = String::from(
        "<!-- Generated by `smbp-operator bundle-gen` from the metrics registry \
         (src/telemetry/metrics.rs, src/telemetry/reference.rs); do not edit. -->\n\
         # Operator metrics\n\n\
         The operator serves these metrics at `/metrics` on its metrics Service \
         (`smbp-operator-metrics`, port `metrics`) in the OpenMetrics text format \
         (`application/openmetrics-text; version=1.0.0`). Names follow the Prometheus conventions: \
         the prefix `smbp_operator_`, base units in the name (`_seconds`), counters end in `_total`, \
         0/1 gauges for yes/no states, and one `_info` series carrying the version. \
         Alerts and dashboards built on them are described in [runbooks/README.md](runbooks/README.md).\n\n\
         ## Metrics\n\n\
         | Metric | Type | Labels | Description |\n|---|---|---|---|\n",
    );
    for f in &fams {
        let labels = label_names(f)
            .into_iter()
            .filter(|l| l != "le")
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let series = suffixes(&f.kind)
            .iter()
            .filter(|sfx| **sfx != "_created")
            .map(|sfx| format!("`{}{sfx}`", f.name))
            .collect::<Vec<_>>()
            .join("<br>");
        let kind = match &f.unit {
            Some(u) => format!("{} ({u})", f.kind),
            None => f.kind.clone(),
        };
        out.push_str(&format!("| {series} | {kind} | {labels} | {} |\n", f.help));
    }
    out.push_str("\n## Labels\n\n| Label | Meaning |\n|---|---|\n");
    let mut all: Vec<String> = vec![];
    for f in &fams {
        for l in label_names(f) {
            if !all.contains(&l) {
                all.push(l);
            }
        }
    }
    for l in &all {
        out.push_str(&format!(
            "| `{l}` | {} |\n",
            label_doc(l).unwrap_or_default()
        ));
    }
    out.push_str(
        "\n## Labels and scraping\n\n\
         Per-BigPeer series carry `namespace` (the BigPeer's) and `bigpeer`; per-key series \
         `namespace` (the key's), `app` and `api_key`. Prometheus adds its own \
         `namespace` target label (the operator's namespace) to every scraped series; the operator's \
         ServiceMonitor (`config/prometheus`) sets `honorLabels: true` so that the exposed `namespace` \
         wins and the BigPeer's namespace lines up with kube-state-metrics, kubelet and cAdvisor \
         series, which is what the shipped rules and dashboards expect. Operator-wide series have no \
         `namespace` label of their own and keep the operator's namespace. A Prometheus that forces \
         `honorLabels` off (`overrideHonorLabels`, or an enforced namespace label as in OpenShift \
         user-workload monitoring) renames the BigPeer's namespace to `exported_namespace`; point \
         those queries at `exported_namespace` instead.\n\n\
         ## Exemplars\n\n\
         Observations of `smbp_operator_reconcile_duration_seconds` carry the reconcile's trace id as \
         an exemplar (`trace_id`) when tracing is on (`--otlp-endpoint`). Exemplars exist only in the \
         OpenMetrics format, which the operator always serves; Prometheus stores them when started \
         with `--enable-feature=exemplar-storage` (Prometheus Operator: `spec.enableFeatures: \
         [exemplar-storage]`), and Grafana links them to the trace in Tempo or Jaeger.\n\n\
         ## Example queries\n\n",
    );
    for (what, q) in EXAMPLE_QUERIES {
        out.push_str(&format!("{what}:\n\n```promql\n{q}\n```\n\n"));
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_and_label_is_documented() {
        let md = markdown();
        let fams = families();
        assert!(fams.len() >= 11, "{}", fams.len());
        for f in &fams {
            assert!(md.contains(&format!("`{}", f.name)), "{} missing", f.name);
            assert!(!f.help.is_empty(), "{} has no HELP", f.name);
            for l in label_names(f) {
                assert!(
                    label_doc(&l).is_some(),
                    "label {l} of {} is undocumented",
                    f.name
                );
            }
        }
        for series in [
            "smbp_operator_reconciles_total",
            "smbp_operator_reconcile_duration_seconds_bucket",
            "smbp_operator_build_info",
            "smbp_operator_bigpeer_condition",
        ] {
            assert!(md.contains(&format!("`{series}`")), "{series}");
        }
        assert!(md.contains("| `smbp_operator_bigpeer_condition` | gauge | `namespace`, `bigpeer`, `condition` |"), "{md}");
    }

    #[test]
    fn generation_is_stable() {
        assert_eq!(markdown(), markdown());
    }
}
