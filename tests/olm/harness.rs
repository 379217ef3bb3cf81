//! Helpers for the OLM tests: an admin client, OLM objects as dynamic objects, a kubeconfig for
//! the ServiceAccount OLM created, the operator as a local process, restricted namespaces.
//! (Small copies of tests/e2e/harness.rs: this is its own test target.)

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ObjectMeta, Patch,
    PatchParams, PostParams,
};
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;

pub const PACKAGE: &str = "smbp-operator";
pub const SA: &str = "smbp-operator-controller-manager";
pub const DEPLOYMENT: &str = "smbp-operator-controller-manager";

/// Admin client (system:masters) for setting up and asserting.
pub async fn admin() -> Client {
    Client::try_default()
        .await
        .expect("KUBECONFIG points at the local control plane (run `make olm-e2e`)")
}

/// The cluster's state dir: where KUBECONFIG lives (hack/cluster-up.sh).
pub fn state_dir() -> PathBuf {
    let kc = PathBuf::from(std::env::var("KUBECONFIG").expect("KUBECONFIG"));
    kc.parent().unwrap().to_path_buf()
}

/// A setting from the environment, else from <state>/olm/env (written by hack/olm-up.sh).
pub fn olm_env(key: &str) -> String {
    if let Ok(v) = std::env::var(key) {
        return v;
    }
    let f = state_dir().join("olm/env");
    let text = std::fs::read_to_string(&f)
        .unwrap_or_else(|_| panic!("{} missing: run hack/olm-up.sh", f.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("{key} not in {}", f.display()))
}

pub fn catalog_source() -> (String, String) {
    (
        olm_env("SMBP_OLM_CATALOG_SOURCE"),
        olm_env("SMBP_OLM_NAMESPACE"),
    )
}

/// Kinds of operators.coreos.com.
pub fn olm_api(client: &Client, ns: Option<&str>, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("operators.coreos.com", version, kind);
    let ar = ApiResource::from_gvk(&gvk);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}
pub fn csvs(client: &Client, ns: &str) -> Api<DynamicObject> {
    olm_api(client, Some(ns), "v1alpha1", "ClusterServiceVersion")
}
pub fn subscriptions(client: &Client, ns: &str) -> Api<DynamicObject> {
    olm_api(client, Some(ns), "v1alpha1", "Subscription")
}
pub fn install_plans(client: &Client, ns: &str) -> Api<DynamicObject> {
    olm_api(client, Some(ns), "v1alpha1", "InstallPlan")
}
pub fn operator_groups(client: &Client, ns: &str) -> Api<DynamicObject> {
    olm_api(client, Some(ns), "v1", "OperatorGroup")
}

pub fn dynamic(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

/// Poll until `f` returns Some, or panic after `timeout` naming what was awaited.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A namespace name unique per run.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{:06x}", nanos % 0xffffff)
}

/// A plain namespace (where OLM installs the operator).
pub async fn plain_namespace(client: &Client, prefix: &str) -> String {
    let name = unique(prefix);
    let ns: Api<Namespace> = Api::all(client.clone());
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
    name
}

/// Delete namespaces without waiting.
pub async fn delete_namespaces(client: &Client, names: &[String]) {
    let ns: Api<Namespace> = Api::all(client.clone());
    for n in names {
        let _ = ns.delete(n, &DeleteParams::background()).await;
    }
}

/// A fresh namespace enforcing the restricted Pod Security Standard, with the Secrets a
/// BigPeer using existing keys and an external Kafka needs.
pub async fn bigpeer_namespace(client: &Client, prefix: &str) -> String {
    let name = unique(prefix);
    let labels = json!({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    });
    let ns: Api<Namespace> = Api::all(client.clone());
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &name);
    let pem = |s: &str| {
        ByteString(format!("-----BEGIN {s}-----\nMIIB\n-----END {s}-----\n").into_bytes())
    };
    for key in ["keys-ca", "keys-in-band", "keys-jwt"] {
        let s = Secret {
            metadata: ObjectMeta {
                name: Some(key.into()),
                ..Default::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(
                [
                    ("tls.crt".into(), pem("CERTIFICATE")),
                    ("tls.key".into(), pem("PRIVATE KEY")),
                    ("ca.crt".into(), pem("CERTIFICATE")),
                ]
                .into(),
            ),
            ..Default::default()
        };
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    let kafka = [
        ("kafka-ca", json!({"ca.crt": "s3cr3t-value-never-logged"})),
        (
            "kafka-creds",
            json!({"username": "s3cr3t-value-never-logged", "password": "s3cr3t-value-never-logged"}),
        ),
    ];
    for (n, data) in kafka {
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": n}, "stringData": data})).unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    name
}

/// A BigPeer that needs no add-on: keys from Secrets, an external Kafka.
pub fn bigpeer(name: &str, ns: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1",
        "kind": "BigPeer",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "version": "1.59.0",
            "store": {"replicas": 3, "partitions": 12, "replicationFactor": 2, "minimumReplicationFactor": 1,
                      "storage": {"size": "1Gi", "retention": {"whenDeleted": "Retain"}}},
            "subscription": {"replicas": 2},
            "api": {"replicas": 1},
            "transactionLog": {"external": {
                "bootstrapServers": ["kafka-0.kafka.example:9093"],
                "tls": {"caSecretRef": {"name": "kafka-ca", "key": "ca.crt"}},
                "sasl": {"secretRef": {"name": "kafka-creds"}}
            }},
            "auth": {
                "keys": {"secrets": {"ca": {"name": "keys-ca"}, "inBand": {"name": "keys-in-band"}, "jwt": {"name": "keys-jwt"}}},
                "providers": {"tokenWebhook": {"url": "https://auth.example.com/ditto"}}
            },
            "rollout": {"progressDeadlineSeconds": 15}
        }
    })
}

/// Apply a BigPeer as a user would (`kubectl apply --server-side`).
pub async fn apply_bigpeer(client: &Client, body: &Value) -> BigPeer {
    let ns = body["metadata"]["namespace"].as_str().unwrap();
    let name = body["metadata"]["name"].as_str().unwrap();
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    api.patch(
        name,
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(body),
    )
    .await
    .expect("apply BigPeer")
}

/// Condition status of a BigPeer.
pub fn condition(bp: &BigPeer, type_: &str) -> Option<String> {
    bp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

/// Wait until Ready=True with observedGeneration equal to the current generation.
pub async fn wait_ready(client: &Client, ns: &str, name: &str, timeout: Duration) -> BigPeer {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    let what = format!("BigPeer {ns}/{name} Ready at its generation");
    wait_for(&what, timeout, || async {
        let bp = api.get(name).await.ok()?;
        let ready = condition(&bp, "Ready").is_some_and(|c| c == "True");
        let fresh = bp.status.as_ref()?.observed_generation == bp.metadata.generation;
        (ready && fresh).then_some(bp)
    })
    .await
}

/// Where logs and kubeconfigs go.
pub fn logs_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("olm");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A kubeconfig authenticating as ServiceAccount `ns/SA` (a fresh TokenRequest): the identity
/// OLM created for the CSV, bound to the RBAC OLM created from the CSV.
pub async fn sa_kubeconfig(client: &Client, ns: &str, tag: &str) -> PathBuf {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token: TokenRequest = sas
        .create_subresource("token", SA, &PostParams::default(), &tr)
        .await
        .expect("token for the operator's ServiceAccount created by OLM");
    let token = token.status.expect("token status").token;
    let admin_path = std::env::var("KUBECONFIG").expect("KUBECONFIG");
    let admin_cfg = kube::config::Kubeconfig::read_from(&admin_path).expect("admin kubeconfig");
    let cluster = admin_cfg.clusters[0].cluster.clone().expect("cluster");
    let mut cl = json!({"server": cluster.server});
    if let Some(d) = &cluster.certificate_authority_data {
        cl["certificate-authority-data"] = json!(d);
    } else if let Some(f) = &cluster.certificate_authority {
        cl["certificate-authority"] = json!(f);
    }
    let cfg = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": cl}],
        "users": [{"name": SA, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": SA}}],
        "current-context": "operator",
    });
    let path = logs_dir().join(format!("{}.kubeconfig", tag.replace('/', "-")));
    std::fs::write(&path, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    path
}

/// The operator as a local process, standing in for the pod of the Deployment OLM created (whose
/// kwok pod never runs). Killed (SIGKILL) on drop.
pub struct Operator {
    child: Child,
    pub log: PathBuf,
}

impl Operator {
    /// `bin run` with the given credentials, watching `watch` (WATCH_NAMESPACE, as OLM sets it
    /// from the OperatorGroup: "" = all namespaces).
    pub fn start(bin: &str, kubeconfig: &PathBuf, tag: &str, ns: &str, watch: &str) -> Operator {
        let log = logs_dir().join(format!("{}.log", tag.replace('/', "-")));
        let out = std::fs::File::create(&log).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg("run")
            .env("KUBECONFIG", kubeconfig)
            .env("METRICS_BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .env("POD_NAMESPACE", ns)
            .env("POD_NAME", tag)
            .env("LEADER_ELECT", "false")
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info,smbp_operator=debug")
            .env("WATCH_NAMESPACE", watch)
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start the operator");
        Operator { child, log }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The current operator binary (this checkout).
pub fn current_bin() -> String {
    std::env::var("SMBP_OPERATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smbp-operator").to_string())
}

/// The previous release's binary (built by hack/olm-up.sh).
pub fn previous_bin() -> String {
    let b = olm_env("SMBP_OPERATOR_PREVIOUS_BIN");
    assert!(
        std::path::Path::new(&b).exists(),
        "{b} missing: run hack/olm-up.sh without SMBP_OLM_SKIP_PREVIOUS"
    );
    b
}
