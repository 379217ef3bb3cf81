//! Crash and leadership scenarios: SIGKILL at chosen points of create, scale and rollout,
//! and two operators sharing one Lease.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use smbp_operator::api::BigPeer;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(180);

async fn owned_names<K>(
    client: &Client,
    ns: &str,
    name: &str,
    uid: &str,
) -> (Vec<String>, Vec<String>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let items = api
        .list(&ListParams::default().labels(&format!(
            "app.kubernetes.io/managed-by=smbp-operator,app.kubernetes.io/instance={name}"
        )))
        .await
        .unwrap()
        .items;
    let (owned, orphans): (Vec<K>, Vec<K>) = items
        .into_iter()
        .partition(|o| o.owner_references().iter().any(|r| r.uid == uid));
    (
        owned.iter().map(|o| o.name_any()).collect(),
        orphans.iter().map(|o| o.name_any()).collect(),
    )
}

/// Exactly the objects a BigPeer should have, each once, each owned; no orphans.
async fn assert_converged(client: &Client, ns: &str, name: &str) {
    let bp = wait_ready(client, ns, name, LONG).await;
    let uid = bp.uid().unwrap();
    let mut found = BTreeMap::new();
    macro_rules! check {
        ($t:ty, $kind:expr) => {{
            let (owned, orphans) = owned_names::<$t>(client, ns, name, &uid).await;
            assert!(orphans.is_empty(), "orphaned {}: {orphans:?}", $kind);
            found.insert($kind, owned);
        }};
    }
    check!(StatefulSet, "StatefulSet");
    check!(Deployment, "Deployment");
    check!(Service, "Service");
    check!(ConfigMap, "ConfigMap");
    check!(ServiceAccount, "ServiceAccount");
    check!(PodDisruptionBudget, "PodDisruptionBudget");
    check!(NetworkPolicy, "NetworkPolicy");
    let s = |v: &[&str]| v.iter().map(|x| format!("{name}-{x}")).collect::<Vec<_>>();
    assert_eq!(found["StatefulSet"], s(&["store"]));
    assert_eq!(found["Deployment"], s(&["api", "subscription"]));
    assert_eq!(
        found["Service"],
        s(&["api", "store", "store-headless", "subscription"])
    );
    assert_eq!(found["ConfigMap"], s(&["config"]));
    assert_eq!(found["ServiceAccount"], s(&["bigpeer"]));
    assert_eq!(
        found["PodDisruptionBudget"],
        s(&["api", "store", "subscription"])
    );
    assert_eq!(found["NetworkPolicy"], s(&["api", "store", "subscription"]));
    let spec = bp.spec.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let count = |c: &'static str| {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(&format!(
                "app.kubernetes.io/instance={name},app.kubernetes.io/component={c}"
            )))
            .await
            .unwrap()
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count()
        }
    };
    wait_for("pod counts match the spec", LONG, || async {
        (count("store").await == spec.store.replicas as usize
            && count("subscription").await == spec.subscription.replicas as usize
            && count("api").await == spec.api.replicas as usize)
            .then_some(())
    })
    .await;
}

/// Poll fast until `milestone` holds, then SIGKILL the operator and start a fresh one.
async fn kill_at<F, Fut>(
    op: &mut Operator,
    kubeconfig: &std::path::Path,
    name: &str,
    port: u16,
    what: &str,
    milestone: F,
) -> Operator
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for(what, LONG, || async { milestone().await.then_some(()) }).await;
    op.kill();
    Operator::start(kubeconfig, name, port, false)
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn sigkill_during_create_scale_and_rollout_converges() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-sigkill").await;
    let mut port = 18100;
    let mut op = Operator::start(&kubeconfig, "sigkill", port, false);
    let bps: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    // Create: killed as soon as the finalizer is on, as soon as the ConfigMap exists, and as
    // soon as the StatefulSet exists (three BigPeers, one kill point each).
    let points: [(&str, &str); 3] = [
        ("k1", "finalizer added"),
        ("k2", "ConfigMap created"),
        ("k3", "StatefulSet created"),
    ];
    for (name, point) in points {
        apply_bigpeer(&client, &bigpeer(name, &ns)).await.unwrap();
        port += 1;
        op = kill_at(&mut op, &kubeconfig, "sigkill", port, point, || async {
            match point {
                "finalizer added" => bps
                    .get(name)
                    .await
                    .is_ok_and(|b| !b.finalizers().is_empty()),
                "ConfigMap created" => cms
                    .get_opt(&format!("{name}-config"))
                    .await
                    .unwrap()
                    .is_some(),
                _ => sts
                    .get_opt(&format!("{name}-store"))
                    .await
                    .unwrap()
                    .is_some(),
            }
        })
        .await;
        assert_converged(&client, &ns, name).await;
    }

    // Scale: killed right after the StatefulSet was resized, before pods exist.
    let mut body = bigpeer("k1", &ns);
    body["spec"]["store"]["replicas"] = json!(5);
    body["spec"]["subscription"]["replicas"] = json!(3);
    apply_bigpeer(&client, &body).await.unwrap();
    port += 1;
    op = kill_at(
        &mut op,
        &kubeconfig,
        "sigkill",
        port,
        "StatefulSet resized",
        || async {
            sts.get("k1-store")
                .await
                .is_ok_and(|s| s.spec.and_then(|s| s.replicas) == Some(5))
        },
    )
    .await;
    assert_converged(&client, &ns, "k1").await;

    // Rollout: killed when the first store pod is being replaced, then when the second is.
    body["spec"]["version"] = json!("1.60.0");
    apply_bigpeer(&client, &body).await.unwrap();
    for replaced in [1usize, 2] {
        port += 1;
        op =
            kill_at(
                &mut op,
                &kubeconfig,
                "sigkill",
                port,
                "store pods replaced",
                || async {
                    let ps = pods
                        .list(&ListParams::default().labels(
                            "app.kubernetes.io/instance=k1,app.kubernetes.io/component=store",
                        ))
                        .await
                        .unwrap();
                    let on_new = ps
                        .items
                        .iter()
                        .filter(|p| {
                            p.spec.as_ref().unwrap().containers[0]
                                .image
                                .as_deref()
                                .unwrap_or("")
                                .ends_with(":1.60.0")
                        })
                        .count();
                    on_new >= replaced
                },
            )
            .await;
    }
    assert_converged(&client, &ns, "k1").await;
    let bp = wait_for("rolled onto 1.60.0", LONG, || async {
        let b = bps.get("k1").await.ok()?;
        (b.status.as_ref()?.version.as_deref() == Some("1.60.0")).then_some(b)
    })
    .await;
    assert_eq!(condition(&bp, "Ready").unwrap().0, "True");
    let ps = pods
        .list(
            &ListParams::default()
                .labels("app.kubernetes.io/instance=k1,app.kubernetes.io/component=store"),
        )
        .await
        .unwrap();
    assert_eq!(ps.items.len(), 5);
    assert!(ps.items.iter().all(|p| {
        p.spec.as_ref().unwrap().containers[0]
            .image
            .as_deref()
            .unwrap()
            .ends_with(":1.60.0")
    }));
    drop(op);
}

async fn holder(client: &Client) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), OPERATOR_NS);
    leases
        .get_opt("smbp-operator-leader")
        .await
        .ok()??
        .spec?
        .holder_identity
}

async fn reporters(client: &Client, ns: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reporting_controller.as_deref() == Some("smbp-operator"))
        .filter_map(|e| e.reporting_instance)
        .collect()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn only_the_lease_holder_writes_and_killing_it_hands_over() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-leader").await;
    let mut a = Operator::start(&kubeconfig, "leader-a", 18120, true);
    wait_for("leader-a holds the Lease", LONG, || async {
        (holder(&client).await.as_deref() == Some("leader-a")).then_some(())
    })
    .await;
    let mut b = Operator::start(&kubeconfig, "leader-b", 18121, true);
    // The stand-by is ready (it serves probes) but not leading.
    wait_for("leader-b ready while standing by", LONG, || async {
        b.http_get("/readyz").await.contains(" 200 ").then_some(())
    })
    .await;

    let mut body = bigpeer("led", &ns);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "led", LONG).await;
    let rs = reporters(&client, &ns).await;
    assert!(
        !rs.is_empty() && rs.iter().all(|r| r == "leader-a"),
        "events from a non-leader: {rs:?}"
    );
    assert!(
        b.http_get("/metrics")
            .await
            .contains("smbp_operator_leader 0")
    );
    assert!(
        a.http_get("/metrics")
            .await
            .contains("smbp_operator_leader 1")
    );
    assert!(b.alive());

    a.kill();
    wait_for("leader-b takes the Lease", LONG, || async {
        (holder(&client).await.as_deref() == Some("leader-b")).then_some(())
    })
    .await;
    body["spec"]["subscription"]["replicas"] = json!(3);
    apply_bigpeer(&client, &body).await.unwrap();
    let bp = wait_ready(&client, &ns, "led", LONG).await;
    assert_eq!(bp.status.unwrap().subscription.unwrap().summary, "3/3");
    assert!(
        reporters(&client, &ns)
            .await
            .iter()
            .any(|r| r == "leader-b"),
        "the new leader did not take over"
    );
    assert!(
        b.http_get("/metrics")
            .await
            .contains("smbp_operator_leader 1")
    );
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn sigterm_shuts_down_cleanly() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-sigterm").await;
    let mut op = Operator::start(&kubeconfig, "sigterm", 18150, false);
    wait_for("ready once caches are synced", LONG, || async {
        op.http_get("/readyz").await.contains(" 200 ").then_some(())
    })
    .await;
    apply_bigpeer(&client, &bigpeer("term", &ns)).await.unwrap();
    wait_ready(&client, &ns, "term", LONG).await;
    assert!(
        op.terminate().await,
        "the operator exited with an error on SIGTERM"
    );
    assert!(
        op.logs().contains("stopped"),
        "no orderly shutdown in the logs"
    );
}
