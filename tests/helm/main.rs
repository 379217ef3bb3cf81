//! The Helm chart `charts/smbp-operator` with the real `helm` (built from its Go module by
//! `hack/olm/build-tools.sh`; `make helm-e2e` passes it in `SMBP_HELM_BIN`):
//!
//! - `helm lint --strict`;
//! - `helm template` with the default values renders the objects `kubectl kustomize
//!   config/default` does, but for the documented differences (no Namespace, the CRDs' keep
//!   annotation: see `src/olm/helm.rs`);
//! - values the generated `values.schema.json` does not allow are refused, and each value reaches
//!   the object it is for;
//! - on the local control plane (`KUBECONFIG`): `helm install`, `helm upgrade`, `helm uninstall`
//!   with a BigPeer reconciled across them by the operator running under the chart's RBAC, and
//!   kept afterwards with its PVCs, Secrets and the CRDs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde_json::{Value, json};

const CHART: &str = "charts/smbp-operator";
const NS: &str = smbp_operator::olm::release::SUGGESTED_NAMESPACE;

fn helm_bin() -> PathBuf {
    std::env::var("SMBP_HELM_BIN")
        .expect("SMBP_HELM_BIN: the helm binary (make helm-e2e sets it)")
        .into()
}

fn kubectl_bin() -> PathBuf {
    if let Ok(k) = std::env::var("SMBP_KUBECTL") {
        return k.into();
    }
    if let Ok(kc) = std::env::var("KUBECONFIG") {
        let k = PathBuf::from(kc).parent().unwrap().join("bin/kubectl");
        if k.exists() {
            return k;
        }
    }
    "kubectl".into()
}

/// Runs a command in the repository: (success, stdout, stderr).
fn run(bin: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HELM_CACHE_HOME", scratch("cache"))
        .env("HELM_CONFIG_HOME", scratch("config"))
        .env("HELM_DATA_HOME", scratch("data"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(what: &str) -> PathBuf {
    let base = std::env::var("SMBP_TEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let d = base.join("helm").join(what);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(bin: &std::path::Path, args: &[&str]) -> String {
    let (success, out, err) = run(bin, args);
    assert!(success, "{} {args:?} failed:\n{out}{err}", bin.display());
    out
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn key(v: &Value) -> String {
    format!(
        "{} {} {}/{}",
        v["apiVersion"].as_str().unwrap_or_default(),
        v["kind"].as_str().unwrap_or_default(),
        v["metadata"]["namespace"].as_str().unwrap_or_default(),
        v["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// The objects `helm template` renders with `args` (release `smbp-operator` in `smbp-system`).
fn template(args: &[&str]) -> BTreeMap<String, Value> {
    let mut a = vec!["template", "smbp-operator", CHART, "--namespace", NS];
    a.extend_from_slice(args);
    docs(&ok(&helm_bin(), &a))
        .into_iter()
        .map(|v| (key(&v), v))
        .collect()
}

fn template_err(args: &[&str]) -> String {
    let mut a = vec!["template", "smbp-operator", CHART, "--namespace", NS];
    a.extend_from_slice(args);
    let (success, out, err) = run(&helm_bin(), &a);
    assert!(!success, "{args:?} was accepted:\n{out}");
    err
}

#[test]
#[ignore = "needs helm: run `make helm-e2e`"]
fn helm_lint_strict_passes() {
    let out = ok(&helm_bin(), &["lint", "--strict", CHART]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
}

/// Numbers as the API server sees them: `1.0` (how the CRDs' YAML writes a float bound) is `1`
/// (how kustomize writes it back).
fn numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => json!(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(numbers).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, numbers(v))).collect()),
        other => other,
    }
}

/// Where two values first differ (a path), if they do.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys().filter(|k| !x.contains_key(*k)))
            .find_map(|k| {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                difference(p, q, &format!("{path}.{k}"))
            }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{path}[{i}]"))),
        _ => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

/// The documented differences removed: the Namespace (Helm installs into `--namespace`), and
/// the CRDs' `helm.sh/resource-policy: keep`.
fn normalize(v: Value) -> Value {
    let mut v = numbers(v);
    let meta = v["metadata"].as_object_mut().expect("metadata");
    if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        a.remove("helm.sh/resource-policy");
        if a.is_empty() {
            meta.remove("annotations");
        }
    }
    v
}

#[test]
#[ignore = "needs helm and kubectl: run `make helm-e2e`"]
fn default_values_render_what_kustomize_installs() {
    let kustomize: BTreeMap<String, Value> =
        docs(&ok(&kubectl_bin(), &["kustomize", "config/default"]))
            .into_iter()
            .filter(|v| v["kind"] != "Namespace")
            .map(|v| (key(&v), numbers(v)))
            .collect();
    let helm: BTreeMap<String, Value> = template(&[])
        .into_iter()
        .map(|(k, v)| (k, normalize(v)))
        .collect();
    let only_k: Vec<&String> = kustomize
        .keys()
        .filter(|k| !helm.contains_key(*k))
        .collect();
    let only_h: Vec<&String> = helm
        .keys()
        .filter(|k| !kustomize.contains_key(*k))
        .collect();
    assert!(
        only_k.is_empty() && only_h.is_empty(),
        "only in kustomize: {only_k:#?}\nonly in helm: {only_h:#?}"
    );
    let differences: Vec<String> = kustomize
        .iter()
        .filter_map(|(k, v)| difference(&helm[k], v, k))
        .collect();
    assert!(
        differences.is_empty(),
        "helm != kustomize at:\n{differences:#?}"
    );
    // The CRDs are kept on uninstall.
    let crds: Vec<Value> = template(&[])
        .into_values()
        .filter(|v| v["kind"] == "CustomResourceDefinition")
        .collect();
    assert_eq!(crds.len(), 5);
    for c in crds {
        assert_eq!(
            c["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
    }
}

#[test]
#[ignore = "needs helm: run `make helm-e2e`"]
fn the_schema_refuses_bad_values() {
    for (args, why) in [
        (vec!["--set", "replicas=0"], "replicas below 1"),
        (
            vec!["--set", "image.digest=latest"],
            "a digest that is not sha256",
        ),
        (vec!["--set", "nosuchvalue=1"], "an unknown value"),
        (vec!["--set", "image.registry=x"], "an unknown image field"),
        (vec!["--set", "watchNamespaces=a"], "a string for a list"),
        (vec!["--set", "crds.keep=maybe"], "a string for a boolean"),
        (
            vec!["--set-json", r#"tolerations=[{"tolerationSeconds":"x"}]"#],
            "a bad toleration",
        ),
        (
            vec!["--set-json", r#"relatedImages={"RELATED_IMAGE_X":1}"#],
            "a number for an image",
        ),
    ] {
        let err = template_err(&args);
        assert!(
            err.contains("values don't meet the specifications of the schema")
                || err.contains("schema"),
            "{why}: {err}"
        );
    }
}

fn deployment(objects: &BTreeMap<String, Value>) -> Value {
    objects
        .values()
        .find(|v| v["kind"] == "Deployment")
        .cloned()
        .expect("a Deployment")
}

fn env(d: &Value, name: &str) -> Value {
    d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].clone())
        .unwrap_or(Value::Null)
}

#[test]
#[ignore = "needs helm: run `make helm-e2e`"]
fn each_value_reaches_its_object() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let o = template(&[
        "--set",
        &format!("image.digest={digest}"),
        "--set",
        "replicas=2",
        "--set-json",
        r#"watchNamespaces=["a","b"]"#,
        "--set",
        "leaderElection.enabled=false",
        "--set-json",
        r#"imagePullSecrets=[{"name":"pull"}]"#,
        "--set-json",
        r#"nodeSelector={"kubernetes.io/os":"linux"}"#,
        "--set-json",
        r#"tolerations=[{"key":"k","operator":"Exists"}]"#,
        "--set-json",
        r#"affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"k","operator":"Exists"}]}]}}}"#,
        "--set-json",
        r#"resources={"requests":{"cpu":"1","memory":"1Gi"}}"#,
        "--set",
        "metrics.enabled=false",
        "--set",
        "monitoring.serviceMonitor=true",
        "--set",
        "monitoring.prometheusRule=true",
        "--set",
        "monitoring.dashboards=true",
        "--set",
        "crds.keep=false",
        "--namespace",
        "elsewhere",
    ]);
    let d = deployment(&o);
    assert_eq!(d["metadata"]["namespace"], "elsewhere");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["image"], format!("quay.io/smbp/smbp-operator@{digest}"));
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(env(&d, "WATCH_NAMESPACE"), "a,b");
    assert!(
        c["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--leader-elect=false"))
    );
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "pull"}]));
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert_eq!(pod["tolerations"][0]["operator"], "Exists");
    assert!(pod["affinity"]["nodeAffinity"].is_object());
    // Helm merges maps with the defaults: the limits stay.
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
    );
    let kinds: Vec<&str> = o.values().filter_map(|v| v["kind"].as_str()).collect();
    assert!(kinds.contains(&"ServiceMonitor") && kinds.contains(&"PrometheusRule"));
    assert!(!o.keys().any(|k| k.ends_with("/smbp-operator-metrics")));
    // The alert annotations keep their Go template text.
    let rule = o.values().find(|v| v["kind"] == "PrometheusRule").unwrap();
    assert!(serde_json::to_string(rule).unwrap().contains("{{ $labels."));
    for v in o.values() {
        if v["kind"] == "CustomResourceDefinition" {
            assert!(
                v["metadata"]["annotations"]
                    .get("helm.sh/resource-policy")
                    .is_none()
            );
        }
        for s in v["subjects"].as_array().into_iter().flatten() {
            assert_eq!(s["namespace"], "elsewhere", "{}", key(v));
        }
    }
    let vwc = o
        .values()
        .find(|v| v["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    assert_eq!(
        vwc["webhooks"][0]["clientConfig"]["service"]["namespace"],
        "elsewhere"
    );
    // Defaults: by tag, every related image set.
    let d = deployment(&template(&[]));
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("quay.io/smbp/smbp-operator:v{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        d["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with("RELATED_IMAGE_"))
            .all(|e| e["value"].as_str().is_some_and(|v| !v.is_empty()))
    );
}

// ---------------------------------------------------------------------------------------------
// On the local control plane: install the previous release's chart, upgrade to this one,
// uninstall; a BigPeer reconciled throughout and kept afterwards.

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{
    Operator, admin, apply_bigpeer, bigpeer, bigpeer_namespace, current_bin, free_port,
    remove_crds, scratch_dir, token_kubeconfig, wait_for, wait_ready,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ListParams, ResourceExt};
use smbp_operator::facts::{
    OPERATOR_DEPLOYMENT, OPERATOR_SERVICE_ACCOUNT, WEBHOOK_CONFIGURATION, WEBHOOK_PORT,
};

const RELEASE: &str = "smbp-operator";
const READY: Duration = Duration::from_secs(180);

/// The previous release: its version (the newest under `releases/`) and its operator binary
/// (built by hack/olm-up.sh into its cache, `SMBP_CACHE` or ~/.cache/smbp-operator; or
/// `SMBP_OPERATOR_PREVIOUS_BIN`).
fn previous() -> (String, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut versions: Vec<semver::Version> = std::fs::read_dir(root.join("releases"))
        .unwrap()
        .filter_map(|e| semver::Version::parse(&e.ok()?.file_name().to_string_lossy()).ok())
        .collect();
    versions.sort();
    let v = versions.last().expect("a release").to_string();
    // hack/olm-up.sh's cache: SMBP_CACHE when set (make test-cold sets it), else ~/.cache.
    let cache = std::env::var("SMBP_CACHE")
        .unwrap_or_else(|_| format!("{}/.cache/smbp-operator", std::env::var("HOME").unwrap()));
    let bin = std::env::var("SMBP_OPERATOR_PREVIOUS_BIN")
        .unwrap_or_else(|_| format!("{cache}/releases/{v}/target/debug/smbp-operator"));
    assert!(
        std::path::Path::new(&bin).exists(),
        "{bin} missing: hack/olm-up.sh builds it (make olm-e2e), or set SMBP_OPERATOR_PREVIOUS_BIN"
    );
    (v, bin)
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Undone on drop whatever happened: the operator stopped, the address off `lo`, the release
/// uninstalled, the webhook configuration, the test namespace, the kept CRDs and the operator
/// namespace deleted.
#[derive(Default)]
struct Cleanup {
    operator: Option<Operator>,
    address: Option<String>,
    namespace: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let k = |args: &[&str]| {
            let _ = run(&kubectl_bin(), args);
        };
        k(&[
            "delete",
            "--ignore-not-found",
            "validatingwebhookconfiguration",
            WEBHOOK_CONFIGURATION,
        ]);
        let _ = run(
            &helm_bin(),
            &[
                "uninstall",
                RELEASE,
                "--namespace",
                NS,
                "--ignore-not-found",
            ],
        );
        if let Some(mut op) = self.operator.take() {
            op.kill();
        }
        if let Some(a) = &self.address {
            ip(&["addr", "del", &format!("{a}/32"), "dev", "lo"]);
        }
        if let Some(ns) = &self.namespace {
            k(&[
                "delete",
                "namespace",
                ns,
                "--ignore-not-found",
                "--wait=false",
            ]);
            let (_, names, _) = run(&kubectl_bin(), &["get", "bigpeers", "-n", ns, "-o", "name"]);
            for name in names.lines() {
                k(&[
                    "patch",
                    "-n",
                    ns,
                    name,
                    "--type=merge",
                    "-p",
                    r#"{"metadata":{"finalizers":null}}"#,
                ]);
            }
        }
        k(&[
            "delete",
            "crd",
            "--ignore-not-found",
            "--wait=false",
            "bigpeers.smbp.io",
            "bigpeerapps.smbp.io",
            "bigpeerapikeys.smbp.io",
            "bigpeerreplications.smbp.io",
            "bigpeerdatabridges.smbp.io",
        ]);
        k(&[
            "delete",
            "namespace",
            NS,
            "--ignore-not-found",
            "--wait=false",
        ]);
    }
}

/// The manager pod, once Ready with an IP and not going: (name, IP).
async fn manager_pod(client: &Client, not: Option<&str>) -> (String, String) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    wait_for("the manager pod Ready with an IP", READY, || async {
        let list = pods
            .list(&ListParams::default().labels("control-plane=controller-manager"))
            .await
            .ok()?;
        list.items.into_iter().find_map(|p| {
            let name = p.metadata.name.clone()?;
            if Some(name.as_str()) == not || p.metadata.deletion_timestamp.is_some() {
                return None;
            }
            let status = p.status?;
            let ready = status
                .conditions?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let ip = status.pod_ip.filter(|ip| !ip.is_empty())?;
            ready.then_some((name, ip))
        })
    })
    .await
}

/// The operator `bin` as the chart's Deployment runs it (its args and env, loopback ports for
/// metrics and probes, the webhook on the pod IP), as the chart's ServiceAccount.
async fn start_operator(
    client: &Client,
    bin: &str,
    pod: &str,
    address: &str,
    tag: &str,
) -> Operator {
    let d: Deployment = Api::namespaced(client.clone(), NS)
        .get(OPERATOR_DEPLOYMENT)
        .await
        .unwrap();
    let c = d.spec.unwrap().template.spec.unwrap().containers[0].clone();
    let metrics = format!("127.0.0.1:{}", free_port());
    let health = format!("127.0.0.1:{}", free_port());
    // Bind addresses moved to free loopback ports, only where the Deployment sets them (0.1.0
    // has no --health-probe-bind-address and serves metrics on its default address).
    let has = |flag: &str| c.args.iter().flatten().any(|a| a.starts_with(flag));
    let mut args: Vec<String> = c
        .args
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            !a.starts_with("--metrics-bind-address=")
                && !a.starts_with("--health-probe-bind-address=")
        })
        .collect();
    args.push(format!("--metrics-bind-address={metrics}"));
    if has("--health-probe-bind-address=") {
        args.push(format!("--health-probe-bind-address={health}"));
    }
    let webhook = c
        .ports
        .unwrap_or_default()
        .iter()
        .any(|p| p.name.as_deref() == Some("webhook"));
    if webhook {
        args.push(format!("--webhook-bind-address={address}:{WEBHOOK_PORT}"));
    }
    let watch = c
        .env
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.name == "WATCH_NAMESPACE")
        .and_then(|e| e.value)
        .unwrap_or_default();
    let dir = scratch_dir("helm");
    let kubeconfig = token_kubeconfig(
        client,
        NS,
        OPERATOR_SERVICE_ACCOUNT,
        &dir.join(format!("{tag}.kubeconfig")),
    )
    .await;
    let log = dir.join(format!("{tag}.log"));
    let _ = std::fs::remove_file(&log);
    Operator::spawn_args(
        bin,
        &kubeconfig,
        log,
        &args,
        metrics,
        health,
        &[
            ("POD_NAMESPACE", NS),
            ("POD_NAME", pod),
            ("WATCH_NAMESPACE", watch.as_str()),
            ("WEBHOOK_BIND_ADDRESS", ""),
        ],
    )
}

/// Puts the pod's IP on `lo` (replacing the previous one).
fn take_address(cleanup: &mut Cleanup, address: &str) {
    if let Some(old) = cleanup.address.take() {
        ip(&["addr", "del", &format!("{old}/32"), "dev", "lo"]);
    }
    assert!(
        ip(&["addr", "add", &format!("{address}/32"), "dev", "lo"]),
        "ip addr add {address}/32 dev lo (root needed; the address must be free)"
    );
    cleanup.address = Some(address.to_string());
}

/// What must survive an operator upgrade and uninstall: store pods, claims and Secrets by UID.
async fn kept(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        if p.name_any().contains("-store-") {
            out.insert(format!("pod/{}", p.name_any()), p.uid().unwrap());
        }
    }
    for c in Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        out.insert(format!("pvc/{}", c.name_any()), c.uid().unwrap());
    }
    for s in Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        out.insert(format!("secret/{}", s.name_any()), s.uid().unwrap());
    }
    out
}

/// Delete the cluster-scoped objects of the operator (ClusterRoles, their bindings, webhook
/// configurations) that earlier suites made without Helm: Helm refuses to adopt them.
async fn remove_unmanaged_cluster_objects(client: &Client) {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    async fn sweep<K>(client: &Client)
    where
        K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::all(client.clone());
        for o in api.list(&ListParams::default()).await.unwrap().items {
            let helm = o
                .labels()
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str)
                == Some("Helm");
            if o.name_any().starts_with("smbp-operator") && !helm {
                let _ = api.delete(&o.name_any(), &Default::default()).await;
            }
        }
    }
    sweep::<ClusterRole>(client).await;
    sweep::<ClusterRoleBinding>(client).await;
    sweep::<ValidatingWebhookConfiguration>(client).await;
}

/// Drop the finalizers of every object of `group`'s CRDs: objects earlier suites left behind,
/// whose operators are gone (test clean-up only; a user's operator removes its own).
async fn release_leftovers(client: &Client, group: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds.list(&ListParams::default()).await.unwrap().items {
        if crd.spec.group != group {
            continue;
        }
        let Some(ar) = common::served_resource(&crd) else {
            continue;
        };
        let all: Api<kube::api::DynamicObject> = Api::all_with(client.clone(), &ar);
        let Ok(list) = all.list(&ListParams::default()).await else {
            continue;
        };
        for o in list.items.iter().filter(|o| !o.finalizers().is_empty()) {
            let api: Api<kube::api::DynamicObject> =
                Api::namespaced_with(client.clone(), &o.namespace().unwrap_or_default(), &ar);
            let _ = api
                .patch(
                    &o.name_any(),
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await;
        }
    }
}

#[tokio::test]
#[ignore = "needs helm, the local control plane and root: run `make helm-e2e`"]
async fn install_the_previous_chart_upgrade_to_this_one_and_uninstall_keeping_the_bigpeers() {
    let client = admin().await;
    let (prev_version, prev_bin) = previous();
    let mut cleanup = Cleanup::default();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // Earlier suites (e2e, install, OLM) leave the CRDs or the operator's namespace behind:
    // Helm installs only objects it owns. Their BigPeers keep the cleanup finalizer of an
    // operator that no longer runs, which would hold the CRDs' deletion: release them first.
    release_leftovers(&client, "smbp.io").await;
    remove_crds(&client, "smbp.io").await;
    remove_unmanaged_cluster_objects(&client).await;
    let _ = run(
        &kubectl_bin(),
        &[
            "delete",
            "namespace",
            NS,
            "--ignore-not-found",
            "--wait=false",
        ],
    );
    wait_for("the namespace of an earlier run gone", READY, || async {
        namespaces.get_opt(NS).await.ok()?.is_none().then_some(())
    })
    .await;

    // The previous release's chart, made from its bundle by the same code.
    let prev_dir = scratch("charts");
    let files = smbp_operator::olm::helm::chart_from_bundle(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("releases/{prev_version}/bundle")),
        "smbp-operator",
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(prev_dir.join("smbp-operator"));
    smbp_operator::olm::generate::write(&prev_dir, &files).unwrap();
    let prev_chart = prev_dir.join("smbp-operator").display().to_string();
    ok(&helm_bin(), &["lint", "--strict", &prev_chart]);

    let t = Instant::now();
    let out = ok(
        &helm_bin(),
        &[
            "install",
            RELEASE,
            &prev_chart,
            "--namespace",
            NS,
            "--create-namespace",
        ],
    );
    eprintln!(
        "helm: {prev_version} installed in {:?}:\n{out}",
        t.elapsed()
    );
    let (pod, address) = manager_pod(&client, None).await;
    take_address(&mut cleanup, &address);
    cleanup.operator = Some(start_operator(&client, &prev_bin, &pod, &address, "previous").await);
    let ns = bigpeer_namespace(&client, "helm-e2e").await;
    cleanup.namespace = Some(ns.clone());
    apply_bigpeer(&client, &bigpeer("kept", &ns))
        .await
        .expect("apply BigPeer");
    let bp = wait_ready(&client, &ns, "kept", READY).await;
    let before = kept(&client, &ns).await;
    assert!(before.keys().any(|k| k.starts_with("pvc/")), "{before:?}");
    assert!(before.keys().any(|k| k.starts_with("pod/")), "{before:?}");
    eprintln!(
        "helm: BigPeer Ready under {prev_version} after {:?}",
        t.elapsed()
    );

    // The upgrade to this release's chart.
    let mut old = cleanup.operator.take().unwrap();
    old.kill();
    let out = ok(&helm_bin(), &["upgrade", RELEASE, CHART, "--namespace", NS]);
    eprintln!("helm: upgraded after {:?}:\n{out}", t.elapsed());
    let status = ok(
        &helm_bin(),
        &["status", RELEASE, "--namespace", NS, "-o", "json"],
    );
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["version"], 2, "{status}");
    assert_eq!(status["info"]["status"], "deployed", "{status}");
    let crd = crds
        .get("bigpeerapps.smbp.io")
        .await
        .expect("the new kinds' CRDs");
    assert_eq!(
        crd.annotations()
            .get("helm.sh/resource-policy")
            .map(String::as_str),
        Some("keep")
    );
    let (pod2, address2) = manager_pod(&client, Some(&pod)).await;
    take_address(&mut cleanup, &address2);
    cleanup.operator =
        Some(start_operator(&client, &current_bin(), &pod2, &address2, "current").await);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let bp2 = wait_ready(&client, &ns, "kept", READY).await;
    assert_eq!(bp2.metadata.generation, bp.metadata.generation);
    let after = kept(&client, &ns).await;
    for (k, uid) in &before {
        assert_eq!(
            after.get(k),
            Some(uid),
            "{k} was replaced or deleted by the upgrade"
        );
    }
    // The webhook of this release answers through the chart's Service: a bad BigPeer is refused.
    let mut bad = bigpeer("bad", &ns);
    bad["spec"]["store"]["replicas"] = json!(1);
    let refused = wait_for(
        "the webhook or the CRD refusing a bad BigPeer",
        READY,
        || async { apply_bigpeer(&client, &bad).await.err() },
    )
    .await;
    eprintln!("helm: after the upgrade a bad BigPeer is refused: {refused}");
    eprintln!("helm: upgrade checked after {:?}", t.elapsed());

    // Uninstall: the operator goes; the CRDs (keep), the BigPeer, its claims and Secrets stay.
    let mut op = cleanup.operator.take().unwrap();
    assert!(op.terminate().await, "clean exit:\n{}", op.logs());
    drop(op);
    ok(&helm_bin(), &["uninstall", RELEASE, "--namespace", NS]);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    wait_for("the operator Deployment gone", READY, || async {
        deployments
            .get_opt(OPERATOR_DEPLOYMENT)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    for name in [
        "bigpeers.smbp.io",
        "bigpeerapps.smbp.io",
        "bigpeerapikeys.smbp.io",
        "bigpeerreplications.smbp.io",
        "bigpeerdatabridges.smbp.io",
    ] {
        let c = crds
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{name} deleted: {e}"));
        assert!(
            c.metadata.deletion_timestamp.is_none(),
            "{name} is being deleted"
        );
    }
    let bps: Api<smbp_operator::api::BigPeer> = Api::namespaced(client.clone(), &ns);
    assert!(bps.get("kept").await.is_ok(), "the BigPeer is kept");
    let left = kept(&client, &ns).await;
    for (k, uid) in before.iter().filter(|(k, _)| !k.starts_with("pod/")) {
        assert_eq!(left.get(k), Some(uid), "{k} was deleted by the uninstall");
    }
    eprintln!(
        "helm: uninstalled, CRDs, BigPeer, claims and Secrets kept, after {:?}",
        t.elapsed()
    );
}

// `images` and `mirror-config` through the binary, with the real kubectl and helm.
mod mirror;
