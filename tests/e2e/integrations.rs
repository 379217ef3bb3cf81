//! With the add-ons installed (real cert-manager; Strimzi's CRDs with a stand-in for its
//! operators): keys are issued, the transaction log is provisioned, and a BigPeer that was
//! waiting for a missing add-on recovers once it is installed.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::thirdparty;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(240);

fn addons(action: &str) {
    run_addons(action, &["certmanager", "strimzi"]);
}

/// cert-manager and Strimzi, torn down again when dropped.
struct Addons;

impl Addons {
    fn up() -> Self {
        addons("up");
        Addons
    }
}

impl Drop for Addons {
    fn drop(&mut self) {
        addons("down");
    }
}

async fn apply_dynamic(client: &kube::Client, ns: &str, ar: &ApiResource, body: serde_json::Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(
        &name,
        &PatchParams::apply("e2e").force(),
        &Patch::Apply(&body),
    )
    .await
    .expect("apply");
}

fn ready(obj: &DynamicObject) -> bool {
    obj.data["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn addons_issue_keys_and_provision_the_transaction_log() {
    addons("down");
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-addons").await;
    let _op = Operator::start(&kubeconfig, "addons", 18140, false);

    // First without the add-ons: the BigPeer waits, reporting what is missing.
    let mut body = bigpeer("full", &ns);
    body["spec"]["transactionLog"] = json!({"strimzi": {"kafkaRef": {"name": "events"}}});
    body["spec"]["auth"]["keys"] =
        json!({"certManager": {"issuerRef": {"name": "selfsigned", "kind": "Issuer"}}});
    apply_bigpeer(&client, &body).await.unwrap();
    let bps: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    wait_for("waiting for Strimzi", LONG, || async {
        condition(&bps.get("full").await.ok()?, "TransactionLogReady")
            .filter(|c| c.1 == "StrimziNotInstalled")
            .map(|_| ())
    })
    .await;

    // Then install them: discovery notices, keys get issued, topic and user get created.
    let _addons = Addons::up();
    apply_dynamic(&client, &ns, &thirdparty::issuer(), json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}
    }))
    .await;
    apply_dynamic(&client, &ns, &thirdparty::kafka(), json!({
        "apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "events", "namespace": ns},
        "spec": {"kafka": {"listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": true, "authentication": {"type": "scram-sha-512"}}]}}
    }))
    .await;
    let bp = wait_ready(&client, &ns, "full", LONG).await;
    assert_eq!(condition(&bp, "KeysReady").unwrap().0, "True");
    assert_eq!(condition(&bp, "TransactionLogReady").unwrap().0, "True");

    let certs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::certificate());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for c in ["full-ca", "full-in-band", "full-jwt"] {
        assert!(
            ready(&certs.get(c).await.unwrap()),
            "Certificate {c} not Ready"
        );
        let s = secrets.get(c).await.unwrap();
        let data = s.data.unwrap();
        assert!(
            data.contains_key("tls.crt")
                && data.contains_key("tls.key")
                && data.contains_key("ca.crt"),
            "{c}"
        );
    }
    let topics: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_topic());
    let topic = topics.get("full-transactions").await.unwrap();
    assert_eq!(
        topic.data["spec"]["topicName"],
        format!("full-{ns}-transactions")
    );
    assert_eq!(topic.data["spec"]["config"]["cleanup.policy"], "delete");
    assert_eq!(
        topic.metadata.labels.as_ref().unwrap()["strimzi.io/cluster"],
        "events"
    );
    let users: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_user());
    let user = users.get("full-bigpeer").await.unwrap();
    assert!(ready(&user));
    let acls = user.data["spec"]["authorization"]["acls"]
        .as_array()
        .unwrap();
    // Its own topic, and the prefix of its data bridges' topics (write only).
    assert!(
        acls.iter()
            .filter(|a| a["resource"]["type"] == "topic")
            .all(
                |a| a["resource"]["name"] == format!("full-{ns}-transactions")
                    || (a["resource"]["name"] == format!("full-{ns}-cdc-")
                        && a["resource"]["patternType"] == "prefix"
                        && a["operations"] == serde_json::json!(["Describe", "Write"]))
            )
    );

    let cm = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("full-config")
        .await
        .unwrap();
    let config = &cm.data.unwrap()["bigpeer.yaml"];
    assert!(
        config.contains(&format!("events-kafka-bootstrap.{ns}.svc:9093")),
        "{config}"
    );
    assert!(config.contains("SCRAM-SHA-512"), "{config}");
}
