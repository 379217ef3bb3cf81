//! Helpers for the OLM tests: an admin client, OLM objects as dynamic objects, a kubeconfig for
//! the ServiceAccount OLM created, the operator as a local process, restricted namespaces.

use std::path::{Path, PathBuf};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use serde_json::{Value, json};
use smbp_operator::facts::{WEBHOOK_NAME, WEBHOOK_PATH, WEBHOOK_PORT};
use smbp_operator::olm::csv::WEBHOOK_SERVICE_PORT;

pub use crate::common::*;

pub const PACKAGE: &str = smbp_operator::olm::release::PACKAGE;
pub const SA: &str = smbp_operator::facts::OPERATOR_SERVICE_ACCOUNT;
pub const DEPLOYMENT: &str = smbp_operator::facts::OPERATOR_DEPLOYMENT;

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

/// The CatalogSource (name, namespace) serving the community bundle (bundle/), or with
/// `openshift` the OpenShift bundle (bundle-openshift/); both also serve the previous release.
pub fn catalog_source(openshift: bool) -> (String, String) {
    let key = if openshift {
        "SMBP_OLM_OPENSHIFT_CATALOG_SOURCE"
    } else {
        "SMBP_OLM_CATALOG_SOURCE"
    };
    (olm_env(key), olm_env("SMBP_OLM_NAMESPACE"))
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

/// Where logs and kubeconfigs go.
pub fn logs_dir() -> PathBuf {
    scratch_dir("olm")
}

/// A kubeconfig authenticating as ServiceAccount `ns/SA` (a fresh TokenRequest): the identity
/// OLM created for the CSV, bound to the RBAC OLM created from the CSV.
pub async fn sa_kubeconfig(client: &Client, ns: &str, tag: &str) -> PathBuf {
    let path = logs_dir().join(format!("{}.kubeconfig", tag.replace('/', "-")));
    token_kubeconfig(client, ns, SA, &path).await
}

impl Operator {
    /// The operator as a local process, standing in for the pod of the Deployment OLM created
    /// (whose kwok pod never runs): `bin run` with the given credentials, watching `watch`
    /// (WATCH_NAMESPACE as OLM sets it from the OperatorGroup: "" = all namespaces).
    /// `extra`: more environment (the webhook's address and certificate directory).
    pub fn start(
        bin: &str,
        kubeconfig: &Path,
        tag: &str,
        ns: &str,
        watch: &str,
        extra: &[(&str, &str)],
    ) -> Operator {
        let log = logs_dir().join(format!("{}.log", tag.replace('/', "-")));
        let _ = std::fs::remove_file(&log);
        let port = free_port();
        let mut env = vec![
            ("POD_NAMESPACE", ns),
            ("POD_NAME", tag),
            ("LEADER_ELECT", "false"),
            ("WATCH_NAMESPACE", watch),
        ];
        env.extend_from_slice(extra);
        Operator::spawn(bin, kubeconfig, log, format!("127.0.0.1:{port}"), &env)
    }
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

/// Name of the Service OLM puts in front of a CSV Deployment's webhook (`<deployment>-service`)
/// and of the Secret holding the certificate it makes for it (`<service>-cert`).
pub fn webhook_service() -> String {
    format!("{DEPLOYMENT}-service")
}
pub fn webhook_secret() -> String {
    format!("{}-cert", webhook_service())
}

/// Whether the CSV `ns/csv` declares webhooks (the previous release's does not).
pub async fn csv_has_webhooks(client: &Client, ns: &str, csv: &str) -> bool {
    csvs(client, ns).get(csv).await.unwrap().data["spec"]["webhookdefinitions"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
}

/// The ValidatingWebhookConfiguration OLM made for the CSV `ns/csv`, found by the labels OLM
/// puts on it (owner CSV, owner namespace, the webhook's generateName).
pub async fn olm_webhook_configuration(
    client: &Client,
    ns: &str,
    csv: &str,
) -> Option<ValidatingWebhookConfiguration> {
    let sel = format!(
        "olm.owner={csv},olm.owner.namespace={ns},olm.webhook-description-generate-name={WEBHOOK_NAME}"
    );
    let l = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .list(&ListParams::default().labels(&sel))
        .await
        .ok()?;
    assert!(l.items.len() <= 1, "one configuration per CSV: {sel}");
    l.items.into_iter().next()
}

/// OLM's webhook for the CSV Deployment in `ns`, made reachable for a local operator process:
/// OLM's certificate (from its Secret) in a directory of our own, and the IP of the
/// Deployment's kwok pod (which never runs) on `lo`, so that the API server, calling the
/// webhook at an endpoint of OLM's Service, reaches a process listening on `<pod IP>:9443`.
/// The address is removed when the last guard holding it drops (only if this process added it).
pub struct OlmWebhook {
    /// The Deployment pod's IP (an endpoint of OLM's Service).
    pub pod_ip: String,
    /// `tls.crt` and `tls.key` of OLM's certificate.
    pub cert_dir: PathBuf,
    /// The configuration OLM made.
    pub configuration: ValidatingWebhookConfiguration,
}

impl OlmWebhook {
    /// Wait for OLM's configuration, Service, certificate and the pod's endpoint, then put the
    /// pod IP on `lo`. Asserts the configuration points at OLM's Service with a caBundle.
    pub async fn prepare(client: &Client, ns: &str, csv: &str, tag: &str) -> OlmWebhook {
        let timeout = std::time::Duration::from_secs(120);
        let configuration = wait_for(
            &format!("OLM's ValidatingWebhookConfiguration for {ns}/{csv}"),
            timeout,
            || async { olm_webhook_configuration(client, ns, csv).await },
        )
        .await;
        let hooks = configuration.webhooks.clone().unwrap_or_default();
        assert_eq!(hooks.len(), 1, "{configuration:?}");
        let h = &hooks[0];
        assert_eq!(h.name, WEBHOOK_NAME);
        assert_eq!(h.failure_policy.as_deref(), Some("Fail"));
        let svc = h
            .client_config
            .service
            .as_ref()
            .expect("a Service reference");
        assert_eq!(
            (
                svc.name.as_str(),
                svc.namespace.as_str(),
                svc.path.as_deref()
            ),
            (webhook_service().as_str(), ns, Some(WEBHOOK_PATH)),
            "the webhook points at OLM's Service for the Deployment"
        );
        assert_eq!(svc.port, Some(WEBHOOK_SERVICE_PORT));
        assert!(h.client_config.url.is_none());
        assert!(
            h.client_config
                .ca_bundle
                .as_ref()
                .is_some_and(|b| b.0.starts_with(b"-----BEGIN CERTIFICATE")),
            "OLM injected its CA as caBundle"
        );
        let service = Api::<Service>::namespaced(client.clone(), ns)
            .get(&webhook_service())
            .await
            .expect("OLM's webhook Service");
        let port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap();
        assert!(
            port.iter().any(|p| p.port == WEBHOOK_SERVICE_PORT
                && p.target_port == Some(IntOrString::Int(WEBHOOK_PORT))),
            "OLM's Service forwards {WEBHOOK_SERVICE_PORT} to the container's {WEBHOOK_PORT}: {port:?}"
        );

        let secret = wait_for(
            &format!("OLM's certificate Secret {ns}/{}", webhook_secret()),
            timeout,
            || async {
                Api::<Secret>::namespaced(client.clone(), ns)
                    .get_opt(&webhook_secret())
                    .await
                    .ok()?
            },
        )
        .await;
        let data = secret.data.unwrap_or_default();
        let cert_dir = logs_dir().join(format!("{}-certs", tag.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&cert_dir);
        std::fs::create_dir_all(&cert_dir).unwrap();
        for k in ["tls.crt", "tls.key"] {
            let v = data.get(k).unwrap_or_else(|| panic!("{k} in OLM's Secret"));
            std::fs::write(cert_dir.join(k), &v.0).unwrap();
        }

        // The Deployment's one pod, as an endpoint of OLM's Service (what the API server calls).
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
        let pod_ip = wait_for(
            &format!("the pod of {ns}/{DEPLOYMENT} the only ready endpoint of OLM's Service"),
            timeout,
            || async {
                let l = pods
                    .list(&ListParams::default().labels(&selector(&service)))
                    .await
                    .ok()?;
                let live: Vec<&Pod> = l
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                let [pod] = live[..] else { return None };
                let ip = pod.status.as_ref()?.pod_ip.clone()?;
                let sel = format!("kubernetes.io/service-name={}", webhook_service());
                let ready: Vec<String> = slices
                    .list(&ListParams::default().labels(&sel))
                    .await
                    .ok()?
                    .items
                    .iter()
                    .flat_map(|s| s.endpoints.iter())
                    .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
                    .flat_map(|e| e.addresses.iter().cloned())
                    .collect();
                (ready == [ip.clone()]).then_some(ip)
            },
        )
        .await;
        hold_on_lo(&pod_ip);
        OlmWebhook {
            pod_ip,
            cert_dir,
            configuration,
        }
    }

    /// Where the operator serves the webhook: the pod's IP and the container port.
    pub fn bind_address(&self) -> String {
        format!("{}:{WEBHOOK_PORT}", self.pod_ip)
    }
}

impl Drop for OlmWebhook {
    fn drop(&mut self) {
        release_on_lo(&self.pod_ip);
    }
}

/// The pod IPs this test process put on `lo`: how many guards hold each, and whether this
/// process added it (an address left by an earlier run is used, never removed). kwok hands a
/// deleted pod's IP to the next pod at once, so while one test still holds the IP of its
/// uninstalled operator's pod, another test's new pod may get the same IP: the address must
/// stay until the last holder is gone.
static ON_LO: std::sync::Mutex<std::collections::BTreeMap<String, (usize, bool)>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn hold_on_lo(ip: &str) {
    let mut held = ON_LO.lock().unwrap();
    if let Some((n, _)) = held.get_mut(ip) {
        *n += 1;
        return;
    }
    let out = std::process::Command::new("ip")
        .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
        .output()
        .expect("ip addr add");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let added = out.status.success();
    assert!(
        added || stderr.contains("File exists"),
        "ip addr add {ip}/32 dev lo: {stderr}"
    );
    held.insert(ip.to_string(), (1, added));
}

fn release_on_lo(ip: &str) {
    let mut held = ON_LO.lock().unwrap();
    let Some((n, added)) = held.get_mut(ip) else {
        return;
    };
    *n -= 1;
    if *n > 0 {
        return;
    }
    if *added {
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", &format!("{ip}/32"), "dev", "lo"])
            .output();
    }
    held.remove(ip);
}

fn selector(service: &Service) -> String {
    service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .expect("OLM's Service selects the Deployment's pods")
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The operator as OLM's Deployment would run it: a local process (see [`Operator::start`])
/// that, when the CSV declares its webhook, also serves it where the API server calls OLM's
/// Service, with OLM's certificate. Drops the process first, then the `lo` address.
pub struct Served {
    pub op: Operator,
    pub webhook: Option<OlmWebhook>,
}

impl std::ops::Deref for Served {
    type Target = Operator;
    fn deref(&self) -> &Operator {
        &self.op
    }
}
impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Operator {
        &mut self.op
    }
}

impl Served {
    /// Start `bin` for the CSV `ns/csv` (see [`Operator::start`]); with a webhook in the CSV,
    /// wait until the API server's calls reach it (a server-side dry run of a valid BigPeer
    /// in a watched namespace is answered by the webhook: its request count moves).
    pub async fn start(
        client: &Client,
        bin: &str,
        kubeconfig: &Path,
        tag: &str,
        ns: &str,
        csv: &str,
        watch: &str,
    ) -> Served {
        Served::start_with_env(client, bin, kubeconfig, tag, ns, csv, watch, &[]).await
    }

    /// As [`Served::start`], with more environment: the `RELATED_IMAGE_*` variables of the
    /// CSV's Deployment, as its pod would have them.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_with_env(
        client: &Client,
        bin: &str,
        kubeconfig: &Path,
        tag: &str,
        ns: &str,
        csv: &str,
        watch: &str,
        env: &[(&str, &str)],
    ) -> Served {
        if !csv_has_webhooks(client, ns, csv).await {
            return Served {
                op: Operator::start(bin, kubeconfig, tag, ns, watch, env),
                webhook: None,
            };
        }
        let hook = OlmWebhook::prepare(client, ns, csv, tag).await;
        let bind = hook.bind_address();
        let dir = hook.cert_dir.display().to_string();
        let op = Operator::start(
            bin,
            kubeconfig,
            tag,
            ns,
            watch,
            &[
                &[
                    ("WEBHOOK_BIND_ADDRESS", bind.as_str()),
                    ("WEBHOOK_CERT_DIR", dir.as_str()),
                ],
                env,
            ]
            .concat(),
        );
        let mut served = Served {
            op,
            webhook: Some(hook),
        };
        let start = std::time::Instant::now();
        let timeout = std::time::Duration::from_secs(60);
        while tokio::net::TcpStream::connect(&bind).await.is_err() {
            let what = format!("the operator {tag} serving OLM's webhook at {bind}");
            assert!(served.alive(), "{what}: it exited:\n{}", served.logs());
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}:\n{}",
                served.logs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        served
    }
}
