//! Helpers shared by the end-to-end test targets (`tests/e2e`, `tests/olm`): a client for the
//! local control plane, polling, restricted namespaces with the Secrets a BigPeer needs, the
//! BigPeer used everywhere, ServiceAccount kubeconfigs and the operator as a process.

#![allow(dead_code)]

#[path = "../../src/telemetry/test_clients.rs"]
mod test_clients;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
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

/// A BigPeerApp of BigPeer `bigpeer`, with a token webhook provider (the app ID left to the
/// operator).
pub fn bigpeer_app(name: &str, ns: &str, bigpeer: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1",
        "kind": "BigPeerApp",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "bigPeerRef": {"name": bigpeer},
            "authProviders": {"corp": {"tokenWebhook": {"url": "https://auth.example.com/ditto"}}}
        }
    })
}

/// A BigPeerApiKey of app `app` that reads everything, expiring in 2100.
pub fn bigpeer_api_key(name: &str, ns: &str, app: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1",
        "kind": "BigPeerApiKey",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "appRef": {"name": app},
            "expiresAt": "2100-01-01T00:00:00Z",
            "permissions": {"read": {"everything": true}}
        }
    })
}

/// Apply an object of one of our kinds as `kubectl apply --server-side` does (field manager
/// `kubectl`): what the API server stored, and the warnings it sent back (the admission
/// webhook's among them), as `kubectl` would print them after `Warning: `.
pub async fn apply_object(
    client: &Client,
    body: &Value,
) -> Result<(Value, Vec<String>), kube::Error> {
    let kind = body["kind"].as_str().expect("a kind");
    let plural = smbp_operator::api::KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("{kind} is not a kind of smbp.io"));
    let ns = body["metadata"]["namespace"].as_str().expect("a namespace");
    let name = body["metadata"]["name"].as_str().expect("a name");
    let req = kube::core::Request::new(format!("/apis/smbp.io/v1alpha1/namespaces/{ns}/{plural}"))
        .patch(
            name,
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(body),
        )
        .map_err(kube::Error::BuildRequest)?;
    let res = client.send(req.map(kube::client::Body::from)).await?;
    let warnings = res
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(warning_text)
        .collect();
    let ok = res.status().is_success();
    let bytes = res.into_body().collect_bytes().await?;
    if ok {
        Ok((
            serde_json::from_slice(&bytes).expect("the stored object"),
            warnings,
        ))
    } else {
        let status: kube::core::Status =
            serde_json::from_slice(&bytes).expect("a Status in an error response");
        Err(kube::Error::Api(Box::new(status)))
    }
}

/// The text of a `Warning` header (`299 - "text"`).
fn warning_text(h: &str) -> String {
    let t = h.splitn(3, ' ').nth(2).unwrap_or(h).trim();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
        .replace("\\\"", "\"")
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

/// A directory under the test target's scratch space (`target/tmp`), or under
/// `SMBP_TEST_TMPDIR` when set: checkouts sharing one `CARGO_TARGET_DIR` while each runs its own
/// cluster would otherwise overwrite each other's kubeconfigs and logs there.
pub fn scratch_dir(sub: &str) -> PathBuf {
    let root = std::env::var_os("SMBP_TEST_TMPDIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let d = root.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fresh token of ServiceAccount `ns/sa` from the TokenRequest API (API server audience).
pub async fn service_account_token(client: &Client, ns: &str, sa: &str) -> String {
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
        .unwrap_or_else(|e| panic!("token for ServiceAccount {ns}/{sa}: {e}"));
    token.status.expect("token status").token
}

/// Write to `path` a kubeconfig that authenticates as ServiceAccount `ns/sa` with a fresh
/// TokenRequest, against the cluster of the admin KUBECONFIG.
pub async fn token_kubeconfig(client: &Client, ns: &str, sa: &str, path: &Path) -> PathBuf {
    let token = service_account_token(client, ns, sa).await;
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
    std::fs::write(path, serde_yaml_ng::to_string(&cfg).unwrap()).unwrap();
    path.to_path_buf()
}

/// The current operator binary (this checkout).
pub fn current_bin() -> String {
    std::env::var("SMBP_OPERATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smbp-operator").to_string())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator as a separate process. Killed (SIGKILL) on drop.
pub struct Operator {
    child: Child,
    /// Log file.
    pub log: PathBuf,
    /// Metrics address (plain HTTP unless METRICS_SECURE=true was passed).
    pub metrics: String,
    /// Health probe address (`/healthz`, `/readyz`; plain HTTP). Releases before 0.2.0 ignore
    /// it and serve the probes on the metrics address.
    pub health: String,
}

impl Operator {
    /// Run `bin run` with a kubeconfig, its output appended to `log`, serving metrics on
    /// `metrics` and the probes on a free loopback port, with extra environment.
    pub fn spawn(
        bin: &str,
        kubeconfig: &Path,
        log: PathBuf,
        metrics: String,
        env: &[(&str, &str)],
    ) -> Operator {
        let health = format!("127.0.0.1:{}", free_port());
        Operator::spawn_args(bin, kubeconfig, log, &["run".into()], metrics, health, env)
    }

    /// As [`Operator::spawn`], with the given command line (e.g. a Deployment's `args`, whose
    /// flags win over the environment set here) and probe address.
    pub fn spawn_args(
        bin: &str,
        kubeconfig: &Path,
        log: PathBuf,
        args: &[String],
        metrics: String,
        health: String,
        env: &[(&str, &str)],
    ) -> Operator {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("METRICS_BIND_ADDRESS", &metrics)
            .env("HEALTH_PROBE_BIND_ADDRESS", &health)
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "info,smbp_operator=debug")
            .env_remove("WATCH_NAMESPACE")
            .env_remove("METRICS_SECURE")
            .env_remove("METRICS_CERT_DIR")
            // Several operators may run at once: the webhook only where a test asks for it.
            .env("WEBHOOK_BIND_ADDRESS", "0")
            .env_remove("WEBHOOK_REGISTER_LOCAL")
            // Likewise the management API (its default port would be shared).
            .env("API_BIND_ADDRESS", "0")
            .env_remove("API_INSECURE")
            .env_remove("API_CERT_DIR")
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
            health,
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

    /// Plain HTTP GET: `/metrics` from the metrics address, anything else from the health
    /// address; empty until the server listens.
    pub async fn http_get(&self, path: &str) -> String {
        let addr = if path == "/metrics" {
            &self.metrics
        } else {
            &self.health
        };
        http_get(addr, path).await
    }

    /// HTTPS GET of a path of the metrics server, with a bearer token when given.
    pub async fn https_get(
        &self,
        path: &str,
        token: Option<&str>,
        tls: Arc<ClientConfig>,
    ) -> std::io::Result<HttpsReply> {
        https_get(&self.metrics, path, token, tls).await
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

async fn exchange<S>(mut s: S, path: &str, token: Option<&str>) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n").as_bytes())
        .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Plain HTTP GET of `path` at `addr` (host:port): the whole response, empty when nothing
/// listens or the exchange fails.
pub async fn http_get(addr: &str, path: &str) -> String {
    let Ok(s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    exchange(s, path, None).await.unwrap_or_default()
}

/// What an HTTPS GET got.
#[derive(Debug)]
pub struct HttpsReply {
    /// HTTP status code (0 when the response could not be read as HTTP).
    pub status: u16,
    /// The whole response: status line, headers and body.
    pub text: String,
    /// DER of the certificate the server presented (the leaf).
    pub cert: Vec<u8>,
}

/// HTTPS GET of `path` at `addr` (host:port), as server name `localhost`, with a bearer token
/// when given.
pub async fn https_get(
    addr: &str,
    path: &str,
    token: Option<&str>,
    tls: Arc<ClientConfig>,
) -> std::io::Result<HttpsReply> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    let cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let text = exchange(stream, path, token).await?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok(HttpsReply { status, text, cert })
}

/// What an HTTPS request got, its body read as JSON.
#[derive(Debug)]
pub struct JsonReply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
}

impl JsonReply {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTPS request (HTTP/1.0, server name `localhost`) with a JSON body when given and a
/// bearer token when given.
pub async fn https_json(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    tls: Arc<ClientConfig>,
) -> std::io::Result<JsonReply> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    s.write_all(
        format!(
            "{method} {path} HTTP/1.0\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        )
        .as_bytes(),
    )
    .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(JsonReply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    })
}

/// A TLS client trusting only the CA in `ca_pem`.
pub fn tls_trusting(ca_pem: &str) -> Arc<ClientConfig> {
    test_clients::trusting(ca_pem)
}

/// A TLS client that accepts any server certificate (like Prometheus' `insecureSkipVerify`)
/// but still checks the handshake signatures: for the operator's self-signed certificate.
pub fn tls_any_certificate() -> Arc<ClientConfig> {
    test_clients::any_certificate()
}

/// The resource of a CRD's first served version, to list its objects dynamically.
pub fn served_resource(crd: &CustomResourceDefinition) -> Option<kube::core::ApiResource> {
    let v = crd.spec.versions.iter().find(|v| v.served)?;
    let group = &crd.spec.group;
    Some(kube::core::ApiResource {
        group: group.clone(),
        version: v.name.clone(),
        api_version: format!("{group}/{}", v.name),
        kind: crd.spec.names.kind.clone(),
        plural: crd.spec.names.plural.clone(),
    })
}

/// Delete every CRD of an API group and wait until the group is gone.
///
/// Each kind is first listed until the API server's cache of it is ready: the API server's
/// CRD finalizer cannot list the instances of a kind whose cache is still initializing and
/// retries with a growing backoff, which kept a just-installed CRD Terminating for a minute.
pub async fn remove_crds(client: &Client, group: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let list_of_group = || async {
        crds.list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|c| c.spec.group == group)
            .collect::<Vec<_>>()
    };
    for crd in list_of_group().await {
        if let Some(ar) = served_resource(&crd) {
            let api: Api<kube::api::DynamicObject> = Api::all_with(client.clone(), &ar);
            let lp = kube::api::ListParams::default().limit(1);
            // Best effort: deletion goes ahead after 20 s in any case.
            for _ in 0..40 {
                if api.list(&lp).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        let _ = crds.delete(&crd.name_any(), &Default::default()).await;
    }
    let of_group = || async {
        list_of_group()
            .await
            .into_iter()
            .map(|c| c.name_any())
            .collect::<Vec<_>>()
    };
    wait_for(
        &format!("CRDs of {group} deleted"),
        Duration::from_secs(60),
        || async { of_group().await.is_empty().then_some(()) },
    )
    .await;
}
