//! Helpers for the OLM tests: an admin client, OLM objects as dynamic objects, a kubeconfig for
//! the ServiceAccount OLM created, the operator as a local process, restricted namespaces.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

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
    pub fn start(bin: &str, kubeconfig: &Path, tag: &str, ns: &str, watch: &str) -> Operator {
        let log = logs_dir().join(format!("{}.log", tag.replace('/', "-")));
        let _ = std::fs::remove_file(&log);
        let port = free_port();
        let env = [
            ("POD_NAMESPACE", ns),
            ("POD_NAME", tag),
            ("LEADER_ELECT", "false"),
            ("WATCH_NAMESPACE", watch),
        ];
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
