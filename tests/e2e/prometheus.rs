//! A real Prometheus (Debian's package, on loopback) scrapes the operator's secure metrics
//! endpoint the way the shipped ServiceMonitor does (HTTPS, a ServiceAccount token bound to
//! the metrics-reader role) and evaluates the shipped rules. A BigPeer made stuck raises the
//! stuck-rollout alert, pending then firing; the fix clears it. Everything is asserted through
//! Prometheus's HTTP API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

const LONG: Duration = Duration::from_secs(180);
/// The shipped rule file (the PrometheusRule in config/prometheus and the bundle wraps it).
const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/monitoring/rules/smbp-operator.rules.yaml"
);
const STUCK_ALERT: &str = "SmbpBigPeerRolloutStuck";

/// A Prometheus server in its own scratch directory, stopped on drop.
struct Prometheus {
    child: Child,
    addr: String,
}

impl Prometheus {
    fn start(dir: &Path, target: &str, token: &str) -> Prometheus {
        let bin = std::env::var("SMBP_PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let token_file = dir.join("token");
        std::fs::write(&token_file, token).unwrap();
        let config = json!({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [RULES],
            "scrape_configs": [{
                "job_name": "smbp-operator",
                "scheme": "https",
                "authorization": {"credentials_file": token_file},
                // The operator serves a self-signed certificate unless given one, as the
                // shipped ServiceMonitor's tlsConfig says.
                "tls_config": {"insecure_skip_verify": true},
                "static_configs": [{"targets": [target]}],
            }],
        });
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, serde_yaml_ng::to_string(&config).unwrap()).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{bin} starts (install Debian's prometheus package): {e}"));
        Prometheus { child, addr }
    }

    async fn api(&self, path_and_query: &str) -> Value {
        let reply = http_get(&self.addr, path_and_query).await;
        let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    /// Result vector of an instant query.
    async fn query(&self, promql: &str) -> Vec<Value> {
        let q: String = promql
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.api(&format!("/api/v1/query?query={q}")).await["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// State of an alert for one BigPeer: "pending", "firing", or None.
    async fn alert_state(&self, alert: &str, bigpeer: &str) -> Option<String> {
        self.api("/api/v1/alerts").await["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == alert && a["labels"]["bigpeer"] == bigpeer)
            .and_then(|a| a["state"].as_str().map(String::from))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    scratch_dir("prometheus").join(name)
}

#[tokio::test]
#[ignore = "needs the local control plane and Debian's prometheus: run `make e2e`"]
async fn stuck_rollout_alert_fires_and_clears() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-alerts").await;
    let readers = readers(&client, &ns).await;
    let op = Operator::start_with(
        &kubeconfig,
        "alerts",
        free_port(),
        false,
        &[("METRICS_SECURE", "true")],
    );
    let prom = Prometheus::start(&scratch("alerts"), &op.metrics, &readers.scraper);
    wait_for("Prometheus scrapes the operator", LONG, || async {
        let up = prom.query(r#"up{job="smbp-operator"}"#).await;
        (up.first()?["value"][1] == "1").then_some(())
    })
    .await;
    // The rule file loaded and is being evaluated.
    let groups = prom.api("/api/v1/rules").await;
    assert!(
        groups["data"]["groups"]
            .as_array()
            .is_some_and(|g| !g.is_empty()),
        "no rule groups loaded: {groups}"
    );

    let mut body = bigpeer("sticky", &ns);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "sticky", LONG).await;
    assert_eq!(prom.alert_state(STUCK_ALERT, "sticky").await, None);

    // An image that cannot be pulled: the first replaced store pod is stuck past the
    // rollout deadline (15 s in the test BigPeer).
    body["spec"]["image"] = json!({"store": "registry.example/fail-store:1.59.0"});
    apply_bigpeer(&client, &body).await.unwrap();
    let mut seen: Vec<String> = vec![];
    let start = std::time::Instant::now();
    while seen.last().map(String::as_str) != Some("firing") {
        assert!(
            start.elapsed() < LONG,
            "{STUCK_ALERT} not firing after {LONG:?}; states seen: {seen:?}"
        );
        if let Some(s) = prom.alert_state(STUCK_ALERT, "sticky").await
            && seen.last() != Some(&s)
        {
            seen.push(s);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        seen,
        vec!["pending", "firing"],
        "the alert went pending, then firing"
    );
    let stuck = prom
        .query(r#"smbp_operator_bigpeer_stuck_pods{bigpeer="sticky"}"#)
        .await;
    assert_eq!(stuck[0]["metric"]["namespace"], ns.as_str());

    // The fix: the alert clears.
    body["spec"].as_object_mut().unwrap().remove("image");
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "sticky", LONG).await;
    wait_for(&format!("{STUCK_ALERT} cleared"), LONG, || async {
        prom.alert_state(STUCK_ALERT, "sticky")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Reconcile durations carry trace-id exemplars, and that trace id is in the logs.
    let exemplars = prom
        .api("/api/v1/query_exemplars?query=smbp_operator_reconcile_duration_seconds_bucket&start=0&end=9999999999")
        .await;
    let trace_id = exemplars["data"].as_array().and_then(|series| {
        series.iter().find_map(|s| {
            s["exemplars"]
                .as_array()?
                .iter()
                .find_map(|e| e["labels"]["trace_id"].as_str().map(String::from))
        })
    });
    let id = trace_id.unwrap_or_else(|| panic!("no trace-id exemplar: {exemplars}"));
    assert!(
        op.logs().contains(&id),
        "exemplar trace id {id} not in the logs"
    );
    drop(prom);
    cleanup_readers(&client, &ns, &readers).await;
}
