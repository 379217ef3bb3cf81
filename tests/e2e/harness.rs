//! Test harness: a client for the local control plane, the operator as its own process
//! with only its own RBAC, restricted test namespaces and polling helpers.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::olm;

/// Namespace the operator's ServiceAccount and Lease live in.
pub const OPERATOR_NS: &str = "smbp-system";
const SA: &str = smbp_operator::olm::manager::SERVICE_ACCOUNT;
const FM: &str = "e2e";

/// Admin client (system:masters) for setting up and asserting.
pub async fn admin() -> Client {
    Client::try_default()
        .await
        .expect("KUBECONFIG points at the local control plane (run `make e2e`)")
}

fn sa_subject() -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: SA.into(),
        namespace: Some(OPERATOR_NS.into()),
        ..Default::default()
    }
}

async fn apply<K>(api: &Api<K>, obj: &K)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let mut v = serde_json::to_value(obj).unwrap();
    v.as_object_mut().unwrap().remove("status");
    api.patch(
        &obj.name_any(),
        &PatchParams::apply(FM).force(),
        &Patch::Apply(&v),
    )
    .await
    .expect("apply");
}

/// Install the CRDs and the operator's RBAC exactly as generated, and return a kubeconfig
/// that authenticates as the operator's ServiceAccount.
pub async fn install(client: &Client) -> PathBuf {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in olm::crd::crds() {
        apply(&crds, &crd).await;
        wait_for("CRD established", Duration::from_secs(30), || async {
            let c = crds.get(&crd.name_any()).await.ok()?;
            c.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await;
    }
    let ns: Api<Namespace> = Api::all(client.clone());
    apply(
        &ns,
        &Namespace {
            metadata: ObjectMeta {
                name: Some(OPERATOR_NS.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), OPERATOR_NS);
    apply(
        &sas,
        &ServiceAccount {
            metadata: ObjectMeta {
                name: Some(SA.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let crs: Api<ClusterRole> = Api::all(client.clone());
    let cr = olm::rbac::manager_cluster_role();
    apply(&crs, &cr).await;
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    apply(
        &crbs,
        &ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some(cr.name_any()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: cr.name_any(),
            },
            subjects: Some(vec![sa_subject()]),
        },
    )
    .await;
    let roles: Api<Role> = Api::namespaced(client.clone(), OPERATOR_NS);
    let role = olm::rbac::leader_election_role();
    apply(&roles, &role).await;
    let rbs: Api<RoleBinding> = Api::namespaced(client.clone(), OPERATOR_NS);
    apply(
        &rbs,
        &RoleBinding {
            metadata: ObjectMeta {
                name: Some(role.name_any()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: role.name_any(),
            },
            subjects: Some(vec![sa_subject()]),
        },
    )
    .await;

    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(6 * 3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token: TokenRequest = sas
        .create_subresource("token", SA, &PostParams::default(), &tr)
        .await
        .expect("token for the operator's ServiceAccount");
    let token = token.status.expect("token status").token;

    let admin_path = std::env::var("KUBECONFIG").expect("KUBECONFIG");
    let admin_cfg = kube::config::Kubeconfig::read_from(&admin_path).expect("admin kubeconfig");
    let cluster = admin_cfg.clusters[0].cluster.clone().expect("cluster");
    let ca = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(d), _) => json!({"certificate-authority-data": d}),
        (None, Some(f)) => json!({"certificate-authority": f}),
        _ => json!({}),
    };
    let mut cl = json!({"server": cluster.server});
    cl.as_object_mut()
        .unwrap()
        .extend(ca.as_object().unwrap().clone());
    let cfg = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": cl}],
        "users": [{"name": SA, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": SA}}],
        "current-context": "operator",
    });
    let path = logs_dir().join("operator.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    path
}

/// Where operator logs go.
pub fn logs_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The operator as a separate process. Killed (SIGKILL) on drop.
pub struct Operator {
    child: Child,
    /// Log file.
    pub log: PathBuf,
    /// Metrics address.
    pub metrics: String,
}

impl Operator {
    /// Start `smbp-operator run` with the operator's own credentials.
    pub fn start(kubeconfig: &PathBuf, name: &str, port: u16, leader_elect: bool) -> Operator {
        let bin = std::env::var("SMBP_OPERATOR_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smbp-operator").to_string());
        let log = logs_dir().join(format!("{name}.log"));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let metrics = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .arg("run")
            .env("KUBECONFIG", kubeconfig)
            .env("METRICS_BIND_ADDRESS", &metrics)
            .env("POD_NAMESPACE", OPERATOR_NS)
            .env("POD_NAME", name)
            .env("LEADER_ELECT", leader_elect.to_string())
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info,smbp_operator=debug")
            .env_remove("WATCH_NAMESPACE")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start the operator");
        Operator {
            child,
            log,
            metrics,
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the operator logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a path of the metrics/health server.
    pub async fn http_get(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Empty until the server listens, so that callers can poll.
        let Ok(mut s) = tokio::net::TcpStream::connect(&self.metrics).await else {
            return String::new();
        };
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// SIGTERM, then wait (bounded) for the process to exit; returns whether it exited cleanly.
    pub async fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        for _ in 0..120 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the operator did not exit within 30s of SIGTERM");
    }

    /// Still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
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

/// A fresh namespace enforcing the restricted Pod Security Standard, with the Secrets a
/// BigPeer using existing keys and an external Kafka needs.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    // Unique per run: a namespace of an earlier run may still be terminating.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = &format!("{prefix}-{:06x}", nanos % 0xffffff);
    let ns: Api<Namespace> = Api::all(client.clone());
    if ns.get_opt(name).await.unwrap().is_some() {
        let _ = ns.delete(name, &DeleteParams::default()).await;
        wait_for("old namespace gone", Duration::from_secs(120), || async {
            ns.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    let labels = json!({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    });
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), name);
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
    for (n, k) in [
        ("kafka-ca", "ca.crt"),
        ("kafka-creds", "username"),
        ("kafka-creds", "password"),
    ] {
        let s = Secret {
            metadata: ObjectMeta {
                name: Some(n.into()),
                ..Default::default()
            },
            string_data: Some([(k.into(), "s3cr3t-value-never-logged".into())].into()),
            ..Default::default()
        };
        let _ = secrets.create(&PostParams::default(), &s).await;
        secrets
            .patch(
                n,
                &PatchParams::default(),
                &Patch::Merge(json!({"stringData": {k: "s3cr3t-value-never-logged"}})),
            )
            .await
            .unwrap();
    }
    name.to_string()
}

/// A BigPeer that needs no add-on: keys from Secrets, an external Kafka.
pub fn bigpeer(name: &str, ns: &str) -> serde_json::Value {
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
pub async fn apply_bigpeer(
    client: &Client,
    body: &serde_json::Value,
) -> Result<BigPeer, kube::Error> {
    let ns = body["metadata"]["namespace"].as_str().unwrap();
    let name = body["metadata"]["name"].as_str().unwrap();
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    api.patch(
        name,
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(body),
    )
    .await
}

/// Condition status of a BigPeer, e.g. ("True", reason, message).
pub fn condition(bp: &BigPeer, type_: &str) -> Option<(String, String, String)> {
    bp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Reasons of the Events recorded in a namespace.
pub async fn event_reasons(client: &Client, ns: &str) -> Vec<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    events
        .list(&kube::api::ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect()
}

/// Wait until Ready=True with observedGeneration equal to the current generation.
pub async fn wait_ready(client: &Client, ns: &str, name: &str, timeout: Duration) -> BigPeer {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    let what = format!("BigPeer {ns}/{name} Ready at its generation");
    wait_for(&what, timeout, || async {
        let bp = api.get(name).await.ok()?;
        let ready = condition(&bp, "Ready").is_some_and(|c| c.0 == "True");
        let fresh = bp.status.as_ref()?.observed_generation == bp.metadata.generation;
        (ready && fresh).then_some(bp)
    })
    .await
}
