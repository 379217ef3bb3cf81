//! Per-BigPeer monitors with the Prometheus Operator's real CRDs: a missing API gives a
//! condition, the ServiceMonitor and PodMonitor are accepted by the API server, switching
//! between them and turning monitoring off removes what is no longer wanted.

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::thirdparty;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(120);

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn monitors_follow_the_spec_and_the_installed_api() {
    let client = admin().await;
    remove_crds(&client, thirdparty::PROMETHEUS_OPERATOR_GROUP).await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-monitoring").await;
    let _op = Operator::start(&kubeconfig, "monitoring", 18151, false);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    let reason = |want: &'static str| {
        let api = api.clone();
        async move {
            wait_for(&format!("MonitoringReady reason {want}"), LONG, || async {
                let bp = api.get("mon").await.ok()?;
                (condition(&bp, "MonitoringReady")?.1 == want).then_some(bp)
            })
            .await
        }
    };

    let mut body = bigpeer("mon", &ns);
    body["spec"]["monitoring"] =
        json!({"enabled": true, "labels": {"release": "prometheus"}, "interval": "15s"});
    apply_bigpeer(&client, &body).await.unwrap();
    let bp = reason("PrometheusOperatorNotInstalled").await;
    assert_eq!(
        condition(&bp, "Degraded").unwrap().1,
        "PrometheusOperatorNotInstalled"
    );
    wait_ready(&client, &ns, "mon", LONG).await;

    install_crds(&["prometheus"]);
    let sms: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::service_monitor());
    let pms: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::pod_monitor());
    let sm = wait_for("ServiceMonitor created", LONG, || async {
        sms.get_opt("mon").await.ok()?
    })
    .await;
    assert_eq!(
        sm.metadata.labels.as_ref().unwrap()["release"],
        "prometheus"
    );
    assert_eq!(sm.data["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(sm.data["spec"]["endpoints"][0]["interval"], "15s");
    let bp = reason("MonitorApplied").await;
    assert_eq!(condition(&bp, "Degraded").unwrap().0, "False");

    body["spec"]["monitoring"]["resource"] = json!("PodMonitor");
    apply_bigpeer(&client, &body).await.unwrap();
    wait_for("PodMonitor created", LONG, || async {
        pms.get_opt("mon").await.ok()?
    })
    .await;
    wait_for("ServiceMonitor pruned", LONG, || async {
        sms.get_opt("mon").await.ok()?.is_none().then_some(())
    })
    .await;

    body["spec"]["monitoring"] = json!({"enabled": false});
    apply_bigpeer(&client, &body).await.unwrap();
    wait_for("PodMonitor pruned", LONG, || async {
        pms.get_opt("mon").await.ok()?.is_none().then_some(())
    })
    .await;
    let bp = wait_ready(&client, &ns, "mon", LONG).await;
    assert!(
        condition(&bp, "MonitoringReady").is_none(),
        "no condition when off"
    );
    remove_crds(&client, thirdparty::PROMETHEUS_OPERATOR_GROUP).await;
}
