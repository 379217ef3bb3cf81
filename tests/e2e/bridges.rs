//! Data bridges end to end, from a user's point of view.
//!
//! Kafka (with the Strimzi stand-in): a bridge gets its KafkaTopic and a mutual-TLS KafkaUser
//! reading only its topic and consumer groups, and status names everything a consumer needs;
//! the Kafka is never edited (no external listener unless asked, and then only reported
//! missing); the servers' `data-bridges.yaml` lists it; deleting it removes what it made.
//!
//! MongoDB: the connector's Deployment, ConfigMap and NetworkPolicy are made; its progress
//! signal is served from the fake pod's IP (put on `lo`) by this test; the bridge is Ready while
//! the heartbeat advances, Degraded `ConnectorStalled` when it stops (although the pod stays
//! ready), Ready again when it resumes; no store pod restarts; deleting the bridge removes what
//! it made and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use smbp_operator::api::{BigPeerApp, BigPeerDataBridge};
use smbp_operator::thirdparty;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::{pod_ready, pods};

const WAIT: Duration = Duration::from_secs(120);

/// The Strimzi stand-in, torn down again when dropped.
async fn apply(client: &Client, ns: &str, ar: &kube::core::ApiResource, body: Value) {
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

fn bridge_ar() -> kube::core::ApiResource {
    kube::core::ApiResource::erase::<BigPeerDataBridge>(&())
}

fn app_ar() -> kube::core::ApiResource {
    kube::core::ApiResource::erase::<BigPeerApp>(&())
}

/// The bridge once its Ready and Degraded say (ready, reason) at its generation.
async fn wait_bridge(
    client: &Client,
    ns: &str,
    name: &str,
    ready: &str,
    reason: &str,
    timeout: Duration,
) -> BigPeerDataBridge {
    let api: Api<BigPeerDataBridge> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("bridge {name} Ready={ready} reason {reason}"),
        timeout,
        || async {
            let b = api.get(name).await.ok()?;
            let s = b.status.as_ref()?;
            let c = s.conditions.iter().find(|c| c.type_ == "Ready")?;
            (c.status == ready
                && c.reason == reason
                && s.observed_generation == b.metadata.generation)
                .then_some(b)
        },
    )
    .await
}

fn degraded(b: &BigPeerDataBridge) -> (String, String, String) {
    let c = b
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

async fn app_with_id(client: &Client, ns: &str, bp: &str) {
    apply(client, ns, &app_ar(), bigpeer_app("fleet", ns, bp)).await;
    let apps: Api<BigPeerApp> = Api::namespaced(client.clone(), ns);
    wait_for("the app's generated ID", WAIT, || async {
        apps.get("fleet").await.ok()?.spec.app_id
    })
    .await;
}

async fn data_bridges_yaml(client: &Client, ns: &str, bp: &str) -> Value {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get(&format!("{bp}-access"))
        .await
        .expect("the servers' access Secret");
    serde_yaml_ng::from_slice(&s.data.unwrap()["data-bridges.yaml"].0).unwrap()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn kafka_bridge_gets_a_topic_a_tls_user_and_connection_details() {
    let _strimzi = Strimzi::up();
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-cdc").await;
    let _op = Operator::start(&kubeconfig, "cdc", 18270, false);

    let kafka = json!({
        "apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "events", "namespace": ns},
        "spec": {"kafka": {"listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": true, "authentication": {"type": "tls"}}]}}
    });
    apply(&client, &ns, &thirdparty::kafka(), kafka).await;
    let mut body = bigpeer("cdc", &ns);
    body["spec"]["transactionLog"] = json!({"strimzi": {"kafkaRef": {"name": "events"}}});
    apply_bigpeer(&client, &body).await.unwrap();
    app_with_id(&client, &ns, "cdc").await;
    let kafkas: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka());
    let kafka_spec = kafkas.get("events").await.unwrap().data["spec"].clone();

    // The BigPeer's own KafkaUser may write every bridge topic of the BigPeer.
    let users: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_user());
    let prefix = format!("cdc-{ns}-cdc-");
    wait_for(
        "the BigPeer's KafkaUser writing the bridge prefix",
        WAIT,
        || async {
            let u = users.get("cdc-bigpeer").await.ok()?;
            u.data["spec"]["authorization"]["acls"]
                .as_array()?
                .iter()
                .any(|a| {
                    a["resource"]["name"] == prefix.as_str()
                        && a["resource"]["patternType"] == "prefix"
                        && a["operations"] == json!(["Describe", "Write"])
                })
                .then_some(())
        },
    )
    .await;

    apply(
        &client,
        &ns,
        &bridge_ar(),
        json!({
            "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
            "metadata": {"name": "orders", "namespace": ns},
            "spec": {"appRef": {"name": "fleet"}, "kafka": {
                "source": [{"collection": "orders", "query": "status = 'done'"}],
                "topicPartitions": 6,
            }},
        }),
    )
    .await;
    let b = wait_bridge(&client, &ns, "orders", "True", "Streaming", WAIT).await;
    let topic = format!("cdc-{ns}-cdc-orders");
    let k = b.status.as_ref().unwrap().kafka.clone().unwrap();
    assert_eq!(k.topic, topic);
    assert_eq!(k.consumer_group_prefix, topic);
    assert_eq!(
        k.bootstrap_servers.as_deref(),
        Some(format!("events-kafka-bootstrap.{ns}.svc:9093").as_str())
    );
    assert_eq!(
        k.cluster_ca_secret_name.as_deref(),
        Some("events-cluster-ca-cert")
    );
    assert_eq!(k.user_secret_name.as_deref(), Some("orders-consumer"));
    assert_eq!(degraded(&b).0, "False");

    // The topic, and a TLS user that reads only it and its consumer groups.
    let topics: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_topic());
    let t = topics.get("orders-cdc").await.unwrap();
    assert_eq!(t.data["spec"]["topicName"], topic.as_str());
    assert_eq!(t.data["spec"]["partitions"], 6);
    assert_eq!(t.labels()["strimzi.io/cluster"], "events");
    let u = users.get("orders-consumer").await.unwrap();
    assert_eq!(u.data["spec"]["authentication"]["type"], "tls");
    assert_eq!(
        u.data["spec"]["authorization"]["acls"],
        json!([
            {"resource": {"type": "topic", "name": topic, "patternType": "literal"}, "operations": ["Read", "Describe"], "host": "*"},
            {"resource": {"type": "group", "name": topic, "patternType": "prefix"}, "operations": ["Read", "Describe"], "host": "*"},
        ])
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let user_secret = secrets.get("orders-consumer").await.unwrap();
    for key in ["ca.crt", "user.crt", "user.key"] {
        assert!(
            user_secret.data.as_ref().unwrap().contains_key(key),
            "{key}"
        );
    }
    assert!(
        secrets
            .get_opt("events-cluster-ca-cert")
            .await
            .unwrap()
            .is_some()
    );

    // The servers get the bridge.
    let files = wait_for("data-bridges.yaml listing orders", WAIT, || async {
        let f = data_bridges_yaml(&client, &ns, "cdc").await;
        (f["dataBridges"].as_array()?.len() == 1).then_some(f)
    })
    .await;
    let entry = &files["dataBridges"][0];
    assert_eq!(entry["name"], "orders");
    assert_eq!(entry["topic"], topic.as_str());
    assert_eq!(entry["streamType"], "untyped");
    assert_eq!(entry["sources"][0]["collection"], "orders");

    // Consumers outside the cluster on a listener the Kafka lacks: reported, never added.
    apply(&client, &ns, &bridge_ar(), json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "outside", "namespace": ns},
        "spec": {"appRef": {"name": "fleet"}, "kafka": {"consumers": {"outsideCluster": true, "listener": "external"}}},
    }))
    .await;
    let o = wait_bridge(
        &client,
        &ns,
        "outside",
        "False",
        "ConsumerListenerNotFound",
        WAIT,
    )
    .await;
    let (d, reason, message) = degraded(&o);
    assert_eq!(
        (d.as_str(), reason.as_str()),
        ("True", "ConsumerListenerNotFound")
    );
    assert!(
        message.contains("name: external") && message.contains("never edits"),
        "{message}"
    );
    assert!(o.status.unwrap().kafka.unwrap().bootstrap_servers.is_none());
    wait_for("a ConsumerListenerNotFound Event", WAIT, || async {
        event_reasons(&client, &ns)
            .await
            .contains(&"ConsumerListenerNotFound".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(kafkas.get("events").await.unwrap().data["spec"], kafka_spec);

    // Deleting a bridge removes its topic, its user (and Strimzi's Secret with it), and its
    // entry for the servers; nothing else.
    let bridges: Api<BigPeerDataBridge> = Api::namespaced(client.clone(), &ns);
    bridges
        .delete("orders", &DeleteParams::foreground())
        .await
        .unwrap();
    wait_for("the bridge's Strimzi objects gone", WAIT, || async {
        (topics.get_opt("orders-cdc").await.ok()?.is_none()
            && users.get_opt("orders-consumer").await.ok()?.is_none())
        .then_some(())
    })
    .await;
    wait_for("data-bridges.yaml without orders", WAIT, || async {
        let f = data_bridges_yaml(&client, &ns, "cdc").await;
        f["dataBridges"]
            .as_array()?
            .iter()
            .all(|e| e["name"] != "orders")
            .then_some(())
    })
    .await;
    assert!(users.get_opt("cdc-bigpeer").await.unwrap().is_some());
    assert!(topics.get_opt("cdc-transactions").await.unwrap().is_some());
    assert!(
        Api::<BigPeerApp>::namespaced(client.clone(), &ns)
            .get_opt("fleet")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(kafkas.get("events").await.unwrap().data["spec"], kafka_spec);
    bridges
        .delete("outside", &DeleteParams::default())
        .await
        .unwrap();
}

/// The connector's progress signal, served from its pod's IP on `lo` while the test runs.
struct FakeConnector {
    ip: String,
    alive: Arc<AtomicBool>,
    frozen_at: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeConnector {
    async fn serve(ip: &str) -> Self {
        let out = std::process::Command::new("ip")
            .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
            .output()
            .expect("ip addr add");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("File exists"),
            "ip addr add {ip}/32 dev lo: {stderr}"
        );
        let listener = tokio::net::TcpListener::bind(format!("{ip}:9102"))
            .await
            .expect("binding the fake connector's metrics port");
        let alive = Arc::new(AtomicBool::new(true));
        let frozen_at = Arc::new(AtomicI64::new(0));
        let (a, f) = (alive.clone(), frozen_at.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let now = k8s_openapi::jiff::Timestamp::now().as_second();
                // Alive: the heartbeat is now. Stalled: it stays where it stopped.
                let beat = if a.load(Ordering::SeqCst) {
                    f.store(now, Ordering::SeqCst);
                    now
                } else {
                    f.load(Ordering::SeqCst)
                };
                let body = format!(
                    "# TYPE mongodb_connector_last_progress_timestamp_seconds gauge\nmongodb_connector_last_progress_timestamp_seconds{{stream=\"orders\"}} {beat}\n"
                );
                let _ = s
                    .write_all(
                        format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}")
                            .as_bytes(),
                    )
                    .await;
            }
        });
        FakeConnector {
            ip: ip.to_string(),
            alive,
            frozen_at,
            task,
        }
    }
}

impl Drop for FakeConnector {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", &format!("{}/32", self.ip), "dev", "lo"])
            .output();
    }
}

/// Store pod uids and workload generations: what a restart changes.
async fn store_state(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = pods(
        client,
        ns,
        "app.kubernetes.io/instance=sync,app.kubernetes.io/name=bigpeer",
    )
    .await
    .iter()
    .map(|p| (p.name_any(), p.uid().unwrap()))
    .collect();
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        m.insert(s.name_any(), format!("{:?}", s.metadata.generation));
    }
    m
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn mongodb_connector_is_ready_only_while_it_makes_progress() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-mongo").await;
    let _op = Operator::start(&kubeconfig, "mongo", 18280, false);
    apply_bigpeer(&client, &bigpeer("sync", &ns)).await.unwrap();
    wait_ready(&client, &ns, "sync", WAIT).await;
    app_with_id(&client, &ns, "sync").await;
    let before = store_state(&client, &ns).await;

    let bridge = json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "orders-sync", "namespace": ns},
        "spec": {"appRef": {"name": "fleet"}, "mongodb": {
            "connectionStringSecretRef": {"name": "mongo"},
            "database": "shop",
            "collections": {"orders": {"fields": ["_id"], "initialSync": true}},
            "stallAfter": "30s",
        }},
    });
    apply(&client, &ns, &bridge_ar(), bridge).await;
    // Without its Secret: nothing can start.
    wait_bridge(
        &client,
        &ns,
        "orders-sync",
        "False",
        "ConnectionSecretNotFound",
        WAIT,
    )
    .await;
    let password = "pa55-w0rd-never-copied";
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "mongo"},
        "stringData": {"connectionString": format!("mongodb://app:{password}@mongo-0.mongo.example:27018,mongo-1.mongo.example:27018/shop?replicaSet=rs0")},
    }))
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();

    // The connector's objects, the string never copied into them.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let d = wait_for("the connector's Deployment", WAIT, || async {
        deployments
            .get_opt("orders-sync-mongodb-connector")
            .await
            .ok()?
    })
    .await;
    let spec = d.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
    let pod_spec = spec.template.spec.unwrap();
    assert_eq!(pod_spec.automount_service_account_token, Some(false));
    let c = &pod_spec.containers[0];
    assert_eq!(
        c.security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem,
        Some(true)
    );
    assert_eq!(
        c.image.as_deref(),
        Some("quay.io/ditto/big-peer-mongodb-connector:1.59.0")
    );
    let env = &c.env.as_ref().unwrap()[0];
    assert_eq!(
        env.value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap()
            .name,
        "mongo"
    );
    let cm = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("orders-sync-mongodb-connector")
        .await
        .unwrap();
    let config = &cm.data.unwrap()["connector.yaml"];
    assert!(
        config.contains("database: shop") && !config.contains(password),
        "{config}"
    );
    // Once the Secret exists, the policy opens MongoDB's port (read from the string).
    let nps: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    let np_text = wait_for("the connector's policy opening 27018", WAIT, || async {
        let np = nps.get_opt("orders-sync-mongodb-connector").await.ok()??;
        let text = serde_json::to_string(&np.spec).ok()?;
        text.contains("27018").then_some(text)
    })
    .await;
    assert!(!np_text.contains(password), "{np_text}");

    // The pod's IP serves the progress signal: Ready while it advances.
    let pod: Pod = wait_for("the connector's pod, ready, with an IP", WAIT, || async {
        pods(&client, &ns, "smbp.io/data-bridge=orders-sync")
            .await
            .into_iter()
            .find(|p| pod_ready(p) && p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some())
    })
    .await;
    let ip = pod.status.unwrap().pod_ip.unwrap();
    let fake = FakeConnector::serve(&ip).await;
    let b = wait_bridge(&client, &ns, "orders-sync", "True", "Syncing", WAIT).await;
    assert_eq!(degraded(&b).0, "False");
    let st = b.status.unwrap();
    let m = st.mongodb.unwrap();
    assert_eq!(
        m.deployment.as_deref(),
        Some("orders-sync-mongodb-connector")
    );
    assert!(m.last_progress_time.is_some());
    assert!(st.app_id.is_some());

    // The heartbeat stops, the pod stays ready: Degraded ConnectorStalled within stallAfter
    // and one probe interval.
    fake.alive.store(false, Ordering::SeqCst);
    let stalled = wait_bridge(
        &client,
        &ns,
        "orders-sync",
        "False",
        "ConnectorStalled",
        Duration::from_secs(90),
    )
    .await;
    let (d, reason, message) = degraded(&stalled);
    assert_eq!((d.as_str(), reason.as_str()), ("True", "ConnectorStalled"));
    let since = k8s_openapi::jiff::Timestamp::from_second(fake.frozen_at.load(Ordering::SeqCst))
        .unwrap()
        .to_string();
    assert!(
        message.contains(&since) && message.contains("stallAfter 30s"),
        "{message}"
    );
    assert!(
        pods(&client, &ns, "smbp.io/data-bridge=orders-sync")
            .await
            .iter()
            .any(pod_ready),
        "the pod itself still reports ready"
    );
    assert!(
        event_reasons(&client, &ns)
            .await
            .contains(&"ConnectorStalled".to_string())
    );

    // It resumes: Ready again, and an Event says so.
    fake.alive.store(true, Ordering::SeqCst);
    wait_bridge(
        &client,
        &ns,
        "orders-sync",
        "True",
        "Syncing",
        Duration::from_secs(60),
    )
    .await;
    wait_for("a ConnectorRecovered Event", WAIT, || async {
        event_reasons(&client, &ns)
            .await
            .contains(&"ConnectorRecovered".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        store_state(&client, &ns).await,
        before,
        "no store pod restarted"
    );

    // Deleting the bridge removes the connector's objects; the Secret, the app, the BigPeer
    // and its volumes stay.
    let claims_before: Vec<String> = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.uid().unwrap())
        .collect();
    Api::<BigPeerDataBridge>::namespaced(client.clone(), &ns)
        .delete("orders-sync", &DeleteParams::foreground())
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    wait_for("the connector's objects gone", WAIT, || async {
        (deployments
            .get_opt("orders-sync-mongodb-connector")
            .await
            .ok()?
            .is_none()
            && cms
                .get_opt("orders-sync-mongodb-connector")
                .await
                .ok()?
                .is_none()
            && nps
                .get_opt("orders-sync-mongodb-connector")
                .await
                .ok()?
                .is_none())
        .then_some(())
    })
    .await;
    drop(fake);
    assert!(secrets.get_opt("mongo").await.unwrap().is_some());
    assert!(
        Api::<BigPeerApp>::namespaced(client.clone(), &ns)
            .get_opt("fleet")
            .await
            .unwrap()
            .is_some()
    );
    assert!(deployments.get_opt("sync-api").await.unwrap().is_some());
    let claims_after: Vec<String> = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.uid().unwrap())
        .collect();
    assert_eq!(claims_before, claims_after);
    assert_eq!(
        store_state(&client, &ns).await,
        before,
        "no store pod restarted"
    );
}
