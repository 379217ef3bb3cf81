//! Replication end to end: two BigPeers in two namespaces (NetworkPolicies on), one app with the
//! same app ID on each side, replicating both ways. Each side gets its endpoint Service and its
//! CA ConfigMap; the CAs are copied across as a user would (the ConfigMap's data only) and
//! trusted (rendered into the other side's `<bp>-access`); the configuration is rendered; the
//! NetworkPolicies let one side's subscription pods reach the other's on 4040 and an unrelated
//! namespace not (checked by the NetworkPolicy evaluator on the policies the API server holds);
//! no store or subscription pod restarts. Then the exposure follows `spec.expose`
//! (LoadBalancer, a Gateway API TLSRoute), and deleting one replication removes what it made
//! and nothing else.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use smbp_operator::api::{BigPeerApp, BigPeerReplication};
use smbp_operator::thirdparty;

use crate::harness::*;
use crate::netpol_eval::{Cluster, Endpoint, Pod as EvalPod, labels};
use crate::{LONG, pods};

const APP_ID: &str = "7d1f0c2e-5b3a-4e8f-9a61-2c4d8e0b1f37";
const SHORT: Duration = Duration::from_secs(90);

/// A CA certificate of our own (self-signed), PEM.
fn ca_pem(cn: &str) -> String {
    let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// Put a real CA certificate into the BigPeer's CA Secret (the namespace's `keys-ca`).
async fn real_ca(client: &Client, ns: &str, cn: &str) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut s = secrets.get("keys-ca").await.unwrap();
    s.data
        .as_mut()
        .unwrap()
        .insert("tls.crt".into(), ByteString(ca_pem(cn).into_bytes()));
    secrets
        .replace("keys-ca", &PostParams::default(), &s)
        .await
        .unwrap();
}

fn app_doc(ns: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "fleet", "namespace": ns},
        "spec": {"bigPeerRef": {"name": "peer"}, "appId": APP_ID},
    })
}

fn replication_doc(ns: &str, other: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
        "metadata": {"name": "orders", "namespace": ns},
        "spec": {
            "appRef": {"name": "fleet"},
            "connections": [format!("orders-replication.{other}.svc:4040")],
            "queriesByCollection": {"cars": ["true"]},
            "trustedCas": [{"configMapRef": {"name": "peer-ca"}}],
        },
    })
}

async fn apply_doc(client: &Client, ns: &str, ar: &kube::core::ApiResource, doc: &Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let name = doc["metadata"]["name"].as_str().unwrap();
    api.patch(
        name,
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(doc),
    )
    .await
    .unwrap();
}

fn condition(r: &BigPeerReplication, type_: &str) -> (String, String) {
    r.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

async fn wait_replication(
    client: &Client,
    ns: &str,
    what: &str,
    ok: impl Fn(&BigPeerReplication) -> bool,
) -> BigPeerReplication {
    let api: Api<BigPeerReplication> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("replication {ns}/orders: {what}"),
        SHORT,
        || async {
            let r = api.get("orders").await.ok()?;
            let s = r.status.as_ref()?;
            (s.observed_generation == r.metadata.generation && ok(&r)).then_some(r)
        },
    )
    .await
}

fn text(s: &Secret, key: &str) -> Option<String> {
    String::from_utf8(s.data.as_ref()?.get(key)?.0.clone()).ok()
}

/// `replications.yaml` and the data keys of `<bp>-access`.
async fn access(client: &Client, ns: &str) -> (Value, Secret) {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get("peer-access")
        .await
        .expect("the servers' Secret");
    let file = text(&s, "replications.yaml").expect("replications.yaml");
    (serde_yaml_ng::from_str(&file).unwrap(), s)
}

/// What a restart or a rollout changes: pod uids, workload generations and pod templates.
async fn workloads(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = pods(client, ns, "app.kubernetes.io/instance=peer")
        .await
        .iter()
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect();
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        let spec = s.spec.clone().unwrap();
        m.insert(
            format!("sts/{}", s.name_any()),
            format!(
                "{:?} {}",
                s.metadata.generation,
                serde_json::to_string(&spec.template).unwrap()
            ),
        );
    }
    for d in Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        let spec = d.spec.clone().unwrap();
        m.insert(
            format!("deploy/{}", d.name_any()),
            format!(
                "{:?} {}",
                d.metadata.generation,
                serde_json::to_string(&spec.template).unwrap()
            ),
        );
    }
    m
}

/// Copy the other side's CA ConfigMap as the docs say: its `ca.crt` only, under our name.
async fn copy_ca(client: &Client, from: &str, name: &str, to: &str) {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), from)
        .get(name)
        .await
        .unwrap();
    let pem = cm.data.unwrap()["ca.crt"].clone();
    let copy: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "peer-ca"}, "data": {"ca.crt": pem},
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), to)
        .create(&PostParams::default(), &copy)
        .await
        .unwrap();
}

/// The evaluator's pod for a real pod: its labels and IP, the ports of its workload's template.
async fn eval_pod(client: &Client, p: &Pod) -> EvalPod {
    let ns = p.namespace().unwrap();
    let component = p.labels()["app.kubernetes.io/component"].clone();
    let template = if component == "store" {
        Api::<StatefulSet>::namespaced(client.clone(), &ns)
            .get("peer-store")
            .await
            .unwrap()
            .spec
            .unwrap()
            .template
    } else {
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .get(&format!("peer-{component}"))
            .await
            .unwrap()
            .spec
            .unwrap()
            .template
    };
    let mut pod = EvalPod::from_template(
        &ns,
        p.status.as_ref().unwrap().pod_ip.as_deref().unwrap(),
        &template,
    );
    pod.labels = p.labels().clone();
    pod
}

async fn cluster_of(client: &Client, namespaces: &[&str]) -> Cluster {
    let mut c = Cluster::default();
    for ns in namespaces {
        c.namespace(ns, labels(&[]));
        c.policies.extend(
            Api::<NetworkPolicy>::namespaced(client.clone(), ns)
                .list(&ListParams::default())
                .await
                .unwrap()
                .items,
        );
    }
    c
}

async fn first_pod(client: &Client, ns: &str, component: &str) -> Pod {
    let sel = format!("app.kubernetes.io/instance=peer,app.kubernetes.io/component={component}");
    pods(client, ns, &sel)
        .await
        .into_iter()
        .next()
        .expect("a pod")
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn two_bigpeers_replicate_one_app_both_ways() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let a = namespace(&client, "e2e-repl-a").await;
    let b = namespace(&client, "e2e-repl-b").await;
    let stranger = namespace(&client, "e2e-repl-x").await;
    let _op = Operator::start(&kubeconfig, "replication", 18210, false);
    real_ca(&client, &a, "peer-a CA").await;
    real_ca(&client, &b, "peer-b CA").await;
    let repl_ar = kube::core::ApiResource::erase::<BigPeerReplication>(&());
    let app_ar = kube::core::ApiResource::erase::<BigPeerApp>(&());
    for ns in [&a, &b] {
        apply_bigpeer(&client, &bigpeer("peer", ns)).await.unwrap();
    }
    for ns in [&a, &b] {
        wait_ready(&client, ns, "peer", LONG).await;
        apply_doc(&client, ns, &app_ar, &app_doc(ns)).await;
    }
    let before_a = workloads(&client, &a).await;
    let before_b = workloads(&client, &b).await;
    let secrets_before: Vec<String> = {
        let mut v: Vec<String> = Api::<Secret>::namespaced(client.clone(), &a)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|s| s.name_any())
            .collect();
        v.sort();
        v
    };

    // Both replications, before either CA is copied: endpoints and CAs are published, and
    // each says which trusted CA it waits for.
    apply_doc(&client, &a, &repl_ar, &replication_doc(&a, &b)).await;
    apply_doc(&client, &b, &repl_ar, &replication_doc(&b, &a)).await;
    for ns in [&a, &b] {
        let r = wait_replication(&client, ns, "TrustedCaNotFound", |r| {
            condition(r, "Ready").1 == "TrustedCaNotFound"
        })
        .await;
        let s = r.status.unwrap();
        assert_eq!(s.app_id.as_deref(), Some(APP_ID));
        assert_eq!(
            s.endpoint.unwrap().in_cluster,
            Some(format!("orders-replication.{ns}.svc:4040"))
        );
        assert_eq!(
            s.ca_config_map_name.as_deref(),
            Some("orders-replication-ca")
        );
        assert!(s.ca_fingerprint.unwrap().starts_with("sha256:"));
        assert_eq!(
            condition_of(&s.conditions, "Degraded"),
            ("True".into(), "TrustedCaNotFound".into())
        );
    }
    let svc = Api::<Service>::namespaced(client.clone(), &a)
        .get("orders-replication")
        .await
        .unwrap();
    let spec = svc.spec.clone().unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(
        spec.selector.unwrap()["app.kubernetes.io/component"],
        "subscription"
    );
    assert_eq!(spec.ports.unwrap()[0].port, 4040);
    let repl_a: BigPeerReplication = Api::namespaced(client.clone(), &a)
        .get("orders")
        .await
        .unwrap();
    assert!(
        svc.owner_references()
            .iter()
            .any(|o| o.uid == repl_a.uid().unwrap() && o.controller == Some(true))
    );

    // The CAs copied across: both Ready, each trusting the other's CA, connections Ready.
    copy_ca(&client, &a, "orders-replication-ca", &b).await;
    copy_ca(&client, &b, "orders-replication-ca", &a).await;
    let mut fingerprints = BTreeMap::new();
    for ns in [&a, &b] {
        let r = wait_replication(&client, ns, "Replicating with its connection Ready", |r| {
            condition(r, "Ready") == ("True".into(), "Replicating".into())
                && condition(r, "Degraded").0 == "False"
                && r.status
                    .as_ref()
                    .is_some_and(|s| s.connections.iter().all(|c| c.state == "Ready"))
        })
        .await;
        let s = r.status.unwrap();
        fingerprints.insert(
            ns.clone(),
            (s.ca_fingerprint.unwrap(), s.trusted_ca_fingerprints),
        );
    }
    assert_eq!(
        fingerprints[&a].1,
        [fingerprints[&b].0.clone()],
        "A trusts B's CA"
    );
    assert_eq!(
        fingerprints[&b].1,
        [fingerprints[&a].0.clone()],
        "B trusts A's CA"
    );

    // Rendered into the servers' Secret: the replication and the other side's CA.
    for (ns, other) in [(&a, &b), (&b, &a)] {
        let (file, secret) = wait_for("the replication in <bp>-access", SHORT, || async {
            let (file, secret) = access(&client, ns).await;
            (file["replications"].as_array()?.len() == 1
                && text(&secret, "replication-orders-ca.pem").is_some())
            .then_some((file, secret))
        })
        .await;
        let e = &file["replications"][0];
        assert_eq!(e["name"], "orders");
        assert_eq!(e["appId"], APP_ID);
        assert_eq!(
            e["connections"],
            json!([format!("orders-replication.{other}.svc:4040")])
        );
        assert_eq!(e["queriesByCollection"], json!({"cars": ["true"]}));
        assert_eq!(
            e["trustedCaFile"],
            "/etc/bigpeer/access/replication-orders-ca.pem"
        );
        let pem = text(&secret, "replication-orders-ca.pem").unwrap();
        let certs = smbp_operator::build::replication::trust::parse(&pem).certificates;
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].fingerprint, fingerprints[other].0);
    }

    // The NetworkPolicies, as the API server holds them: A's subscription pods reach B's on
    // 4040 and B's reach A's; a pod of an unrelated namespace, or A's store, does not.
    let c = cluster_of(&client, &[&a, &b, &stranger]).await;
    let sub_a =
        Endpoint::Pod(eval_pod(&client, &first_pod(&client, &a, "subscription").await).await);
    let sub_b =
        Endpoint::Pod(eval_pod(&client, &first_pod(&client, &b, "subscription").await).await);
    let store_a = Endpoint::Pod(eval_pod(&client, &first_pod(&client, &a, "store").await).await);
    let outsider = Endpoint::Pod(EvalPod::new(
        &stranger,
        labels(&[("app", "curious")]),
        "10.245.250.1",
        &[],
    ));
    assert!(c.allows(&sub_a, &sub_b, 4040, "TCP"), "A -> B on 4040");
    assert!(c.allows(&sub_b, &sub_a, 4040, "TCP"), "B -> A on 4040");
    assert!(
        !c.allows(&outsider, &sub_b, 4040, "TCP"),
        "an unrelated namespace reached B"
    );
    assert!(
        !c.allows(&store_a, &sub_b, 4040, "TCP"),
        "A's store reached B"
    );
    assert!(
        !c.allows(&sub_a, &sub_b, 8081, "TCP"),
        "another port opened"
    );

    // Nothing restarted: same pods, same workload generations and pod templates.
    assert_eq!(
        workloads(&client, &a).await,
        before_a,
        "a pod or workload of A changed"
    );
    assert_eq!(
        workloads(&client, &b).await,
        before_b,
        "a pod or workload of B changed"
    );

    // Exposure: a LoadBalancer on request (no load balancer runs here: pending), and the
    // NetworkPolicy then accepts from anywhere.
    let mut doc = replication_doc(&b, &a);
    doc["spec"]["expose"] = json!({"loadBalancer": {}});
    apply_doc(&client, &b, &repl_ar, &doc).await;
    wait_replication(&client, &b, "ExposurePending", |r| {
        condition(r, "Ready").1 == "ExposurePending"
    })
    .await;
    let svc = Api::<Service>::namespaced(client.clone(), &b)
        .get("orders-replication")
        .await
        .unwrap();
    assert_eq!(svc.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));
    let np = Api::<NetworkPolicy>::namespaced(client.clone(), &b)
        .get("orders-replication")
        .await
        .unwrap();
    assert_eq!(np.spec.unwrap().ingress.unwrap()[0].from, None);
    // Gateway API (its CRDs, TLSRoute among them): a passthrough TLSRoute to the Service.
    install_crds(&["gatewayapi"]);
    doc["spec"]["expose"] = json!({"gatewayAPI": {"hostname": "orders.b.example.com", "parentRefs": [{"name": "tls", "sectionName": "passthrough"}]}});
    apply_doc(&client, &b, &repl_ar, &doc).await;
    let routes: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &b, &thirdparty::tls_route());
    let route = wait_for("the TLSRoute", SHORT, || async {
        routes.get("orders-replication").await.ok()
    })
    .await;
    assert_eq!(
        route.data["spec"]["hostnames"],
        json!(["orders.b.example.com"])
    );
    let backend = &route.data["spec"]["rules"][0]["backendRefs"][0];
    assert_eq!(
        (&backend["name"], &backend["port"]),
        (&json!("orders-replication"), &json!(4040))
    );
    let svc = Api::<Service>::namespaced(client.clone(), &b)
        .get("orders-replication")
        .await
        .unwrap();
    assert_eq!(svc.spec.unwrap().type_.as_deref(), Some("ClusterIP"));
    // Back inside the cluster: the TLSRoute goes.
    apply_doc(&client, &b, &repl_ar, &replication_doc(&b, &a)).await;
    wait_for("the TLSRoute pruned", SHORT, || async {
        routes
            .get_opt("orders-replication")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    // Deleting A's replication removes its Service, ConfigMap and NetworkPolicy and its
    // entries in A's access Secret, and nothing else; B sees its connection go.
    Api::<BigPeerReplication>::namespaced(client.clone(), &a)
        .delete("orders", &DeleteParams::foreground())
        .await
        .unwrap();
    wait_for("A's replication objects gone", SHORT, || async {
        let svc = Api::<Service>::namespaced(client.clone(), &a)
            .get_opt("orders-replication")
            .await
            .ok()?;
        let cm = Api::<ConfigMap>::namespaced(client.clone(), &a)
            .get_opt("orders-replication-ca")
            .await
            .ok()?;
        let np = Api::<NetworkPolicy>::namespaced(client.clone(), &a)
            .get_opt("orders-replication")
            .await
            .ok()?;
        let r = Api::<BigPeerReplication>::namespaced(client.clone(), &a)
            .get_opt("orders")
            .await
            .ok()?;
        (svc.is_none() && cm.is_none() && np.is_none() && r.is_none()).then_some(())
    })
    .await;
    wait_for("A's access without the replication", SHORT, || async {
        let (file, secret) = access(&client, &a).await;
        (file["replications"] == json!([]) && text(&secret, "replication-orders-ca.pem").is_none())
            .then_some(())
    })
    .await;
    wait_replication(&client, &b, "its connection NotFound", |r| {
        condition(r, "Degraded").1 == "ConnectionNotReady"
            && r.status
                .as_ref()
                .is_some_and(|s| s.connections[0].state == "NotFound")
    })
    .await;
    assert!(
        Api::<ConfigMap>::namespaced(client.clone(), &a)
            .get_opt("peer-ca")
            .await
            .unwrap()
            .is_some(),
        "the user's copy is theirs"
    );
    assert!(
        Api::<BigPeerApp>::namespaced(client.clone(), &a)
            .get_opt("fleet")
            .await
            .unwrap()
            .is_some()
    );
    let mut secrets_after: Vec<String> = Api::<Secret>::namespaced(client.clone(), &a)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| s.name_any())
        .collect();
    secrets_after.sort();
    assert_eq!(secrets_after, secrets_before);
    assert_eq!(
        Api::<PersistentVolumeClaim>::namespaced(client.clone(), &a)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        workloads(&client, &a).await,
        before_a,
        "a pod or workload of A changed"
    );
    assert_eq!(
        workloads(&client, &b).await,
        before_b,
        "a pod or workload of B changed"
    );
    let reasons = event_reasons(&client, &a).await;
    assert!(
        reasons.iter().any(|r| r == "ReplicationEndpointCreated"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r == "TrustedCaNotFound"),
        "{reasons:?}"
    );
}

fn condition_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> (String, String) {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}
