//! NetworkPolicies on the real API server, which validates them: three per BigPeer, each
//! fencing its component, restored when deleted, pruned when `policies.enabled` is false.

use std::time::Duration;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(120);

fn ports(np: &NetworkPolicy, egress: bool) -> Vec<Vec<NetworkPolicyPort>> {
    let spec = np.spec.clone().unwrap();
    if egress {
        spec.egress
            .unwrap()
            .into_iter()
            .map(|r| r.ports.unwrap_or_default())
            .collect()
    } else {
        spec.ingress
            .unwrap()
            .into_iter()
            .map(|r| r.ports.unwrap_or_default())
            .collect()
    }
}

fn has_port(rules: &[Vec<NetworkPolicyPort>], port: IntOrString) -> bool {
    rules
        .iter()
        .flatten()
        .any(|p| p.port.as_ref() == Some(&port))
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn network_policies_fence_each_component_and_are_pruned_when_disabled() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-netpol").await;
    let _op = Operator::start(&kubeconfig, "netpol", 18163, false);
    let mut body = bigpeer("fenced", &ns);
    body["spec"]["network"] = json!({"policies": {
        "ingressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        "extraEgress": [{
            "to": [{"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.128/25"]}}],
            "ports": [{"protocol": "TCP", "port": 7000, "endPort": 7010}]
        }]
    }});
    let bp = apply_bigpeer(&client, &body).await.unwrap();
    let uid = bp.uid().unwrap();
    let nps: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    let mine = ListParams::default().labels("app.kubernetes.io/instance=fenced");
    let list = |nps: Api<NetworkPolicy>, lp: ListParams| async move {
        let mut items = nps.list(&lp).await.ok()?.items;
        items.sort_by_key(|n| n.name_any());
        Some(items)
    };
    let found = wait_for("three NetworkPolicies", LONG, || async {
        list(nps.clone(), mine.clone())
            .await
            .filter(|items| items.len() == 3)
    })
    .await;
    let names: Vec<String> = found.iter().map(|n| n.name_any()).collect();
    assert_eq!(names, ["fenced-api", "fenced-store", "fenced-subscription"]);
    for np in &found {
        assert!(
            np.owner_references()
                .iter()
                .any(|r| r.uid == uid && r.controller == Some(true)),
            "{} is not owned",
            np.name_any()
        );
        let spec = np.spec.as_ref().unwrap();
        let component = np.name_any().trim_start_matches("fenced-").to_string();
        let selector = spec.pod_selector.as_ref().unwrap().match_labels.clone();
        assert_eq!(
            selector.unwrap().get("app.kubernetes.io/component"),
            Some(&component)
        );
        assert_eq!(
            spec.policy_types.as_deref(),
            Some(&["Ingress".to_string(), "Egress".to_string()][..])
        );
        let egress = ports(np, true);
        assert!(
            has_port(&egress, IntOrString::Int(53)) && has_port(&egress, IntOrString::Int(9093)),
            "{component}: DNS and the Kafka bootstrap port"
        );
        assert_eq!(
            has_port(&egress, IntOrString::Int(443)),
            component == "subscription",
            "{component}: only subscription calls the token webhook"
        );
        let extra = spec.egress.as_ref().unwrap().last().unwrap();
        assert_eq!(extra.ports.as_ref().unwrap()[0].end_port, Some(7010));
        let ingress = ports(np, false);
        assert!(has_port(&ingress, IntOrString::String("metrics".into())));
        assert_eq!(
            has_port(&ingress, IntOrString::String("peer".into())),
            component != "api"
        );
        // Clients: the narrowed ingressFrom, plus this BigPeer's MongoDB connectors.
        let client_port = match component.as_str() {
            "api" => Some("http"),
            "subscription" => Some("sync"),
            _ => None,
        };
        if let Some(port) = client_port {
            let rule = spec
                .ingress
                .iter()
                .flatten()
                .find(|r| {
                    has_port(
                        &[r.ports.clone().unwrap_or_default()],
                        IntOrString::String(port.into()),
                    )
                })
                .unwrap();
            let from = rule.from.as_ref().unwrap();
            assert_eq!(from.len(), 2, "{component}: {from:?}");
            let connectors = from[1]
                .pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .clone()
                .unwrap();
            assert_eq!(connectors["smbp.io/big-peer"], "fenced");
            assert_eq!(
                connectors["app.kubernetes.io/component"],
                "mongodb-connector"
            );
            assert!(
                from[1].namespace_selector.is_none(),
                "the BigPeer's namespace only"
            );
        }
    }
    let store = &found[1];
    let metrics = store
        .spec
        .as_ref()
        .unwrap()
        .ingress
        .iter()
        .flatten()
        .find(|r| {
            has_port(
                &[r.ports.clone().unwrap_or_default()],
                IntOrString::String("metrics".into()),
            )
        })
        .unwrap();
    assert_eq!(
        metrics.from.as_ref().unwrap()[0]
            .namespace_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["kubernetes.io/metadata.name"],
        "monitoring"
    );
    wait_ready(&client, &ns, "fenced", LONG).await;

    // A deleted policy comes back.
    nps.delete("fenced-api", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("fenced-api restored", LONG, || async {
        let np = nps.get_opt("fenced-api").await.ok()??;
        (np.uid() != found[0].uid()).then_some(())
    })
    .await;

    // Turned off: every policy is pruned, the BigPeer stays Ready.
    body["spec"]["network"]["policies"]["enabled"] = json!(false);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_for("NetworkPolicies pruned", LONG, || async {
        list(nps.clone(), mine.clone())
            .await
            .filter(|items| items.is_empty())
    })
    .await;
    wait_ready(&client, &ns, "fenced", LONG).await;
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "Pruned")
    );
}
