//! Helpers shared by the end-to-end test targets (`tests/e2e`, `tests/olm`): a client for the
//! local control plane, polling, restricted namespaces with the Secrets a BigPeer needs, the
//! BigPeer used everywhere, ServiceAccount kubeconfigs and the operator as a process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::Client;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;

/// Admin client (system:masters) for setting up and asserting.
pub async fn admin() -> Client {
    Client::try_default()
        .await
        .expect("KUBECONFIG points at the local control plane (run `make e2e`)")
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

/// A name unique per run: a namespace of an earlier run may still be terminating.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{:06x}", nanos % 0xffffff)
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
pub async fn apply_bigpeer(client: &Client, body: &Value) -> Result<BigPeer, kube::Error> {
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

/// A condition of a BigPeer as (status, reason, message).
pub fn condition(bp: &BigPeer, type_: &str) -> Option<(String, String, String)> {
    bp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
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

/// A directory under the test target's scratch space.
pub fn scratch_dir(sub: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(sub);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write to `path` a kubeconfig that authenticates as ServiceAccount `ns/sa` with a fresh
/// TokenRequest, against the cluster of the admin KUBECONFIG.
pub async fn token_kubeconfig(client: &Client, ns: &str, sa: &str, path: &Path) -> PathBuf {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let tr = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(6 * 3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token: TokenRequest = sas
        .create_subresource("token", sa, &PostParams::default(), &tr)
        .await
        .expect("token for the operator's ServiceAccount");
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
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": sa}}],
        "current-context": "operator",
    });
    std::fs::write(path, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    path.to_path_buf()
}

/// The current operator binary (this checkout).
pub fn current_bin() -> String {
    std::env::var("SMBP_OPERATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smbp-operator").to_string())
}

/// The operator as a separate process. Killed (SIGKILL) on drop.
pub struct Operator {
    child: Child,
    /// Log file.
    pub log: PathBuf,
    /// Metrics and health address.
    pub metrics: String,
}

impl Operator {
    /// Run `bin run` with a kubeconfig, its output appended to `log`, serving metrics on
    /// `metrics`, with extra environment.
    pub fn spawn(
        bin: &str,
        kubeconfig: &Path,
        log: PathBuf,
        metrics: String,
        env: &[(&str, &str)],
    ) -> Operator {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("run")
            .env("KUBECONFIG", kubeconfig)
            .env("METRICS_BIND_ADDRESS", &metrics)
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info,smbp_operator=debug")
            .env_remove("WATCH_NAMESPACE")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the operator");
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

    /// Everything the operator logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a path of the metrics/health server; empty until the server listens.
    pub async fn http_get(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
