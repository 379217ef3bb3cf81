//! Test harness: a client for the local control plane, the operator as its own process
//! with only its own RBAC, restricted test namespaces and polling helpers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::api::{DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use smbp_operator::olm;
use smbp_operator::olm::rbac::METRICS_READER;

pub use crate::common::*;

/// Namespace the operator's ServiceAccount and Lease live in.
pub const OPERATOR_NS: &str = "smbp-system";
const SA: &str = smbp_operator::facts::OPERATOR_SERVICE_ACCOUNT;
const FM: &str = "e2e";

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

/// Install the CRDs and the operator's RBAC (and the metrics-reader ClusterRole) exactly as
/// generated, and return a kubeconfig
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
    apply(&crs, &olm::rbac::metrics_reader_cluster_role()).await;
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

    token_kubeconfig(
        client,
        OPERATOR_NS,
        SA,
        &logs_dir().join("operator.kubeconfig"),
    )
    .await
}

/// Where operator logs go.
pub fn logs_dir() -> PathBuf {
    scratch_dir("e2e")
}

impl Operator {
    /// Start `smbp-operator run` with the operator's own credentials, watching all namespaces.
    pub fn start(kubeconfig: &Path, name: &str, port: u16, leader_elect: bool) -> Operator {
        Operator::start_with(kubeconfig, name, port, leader_elect, &[])
    }

    /// [`Operator::start`] with extra environment, e.g. `METRICS_SECURE=true`.
    pub fn start_with(
        kubeconfig: &Path,
        name: &str,
        port: u16,
        leader_elect: bool,
        extra: &[(&str, &str)],
    ) -> Operator {
        let log = logs_dir().join(format!("{name}.log"));
        let port = port + port_offset();
        let le = leader_elect.to_string();
        let mut env = vec![
            ("POD_NAMESPACE", OPERATOR_NS),
            ("POD_NAME", name),
            ("LEADER_ELECT", le.as_str()),
        ];
        env.extend_from_slice(extra);
        Operator::spawn(
            &current_bin(),
            kubeconfig,
            log,
            format!("127.0.0.1:{port}"),
            &env,
        )
    }
}

/// What `SMBP_E2E_PORT_OFFSET` adds to the fixed metrics ports of the operators the tests
/// start (18081 and up), so that two suites can run side by side on one machine, each against
/// its own control plane (0 when unset).
pub fn port_offset() -> u16 {
    std::env::var("SMBP_E2E_PORT_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A fresh restricted namespace with the Secrets the test BigPeer needs.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    bigpeer_namespace(client, prefix).await
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

/// The Strimzi add-on (its CRDs and the stand-in) for the life of the guard.
pub struct Strimzi;

impl Strimzi {
    pub fn up() -> Self {
        run_addons("up", &["strimzi"]);
        Strimzi
    }
}

impl Drop for Strimzi {
    fn drop(&mut self) {
        run_addons("down", &["strimzi"]);
    }
}

/// Run `hack/addons.sh <action> <addon>...` (up or down) against the test cluster.
pub fn run_addons(action: &str, which: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hack/addons.sh");
    let out = std::process::Command::new(script)
        .arg(action)
        .args(which)
        .output()
        .expect("hack/addons.sh runs");
    assert!(
        out.status.success(),
        "addons {action} {which:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Install third-party CRDs with `hack/install-crds.sh <kind>...`.
pub fn install_crds(kinds: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hack/install-crds.sh");
    let out = std::process::Command::new(script)
        .args(kinds)
        .output()
        .expect("hack/install-crds.sh runs");
    assert!(
        out.status.success(),
        "install-crds {kinds:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Tokens of two ServiceAccounts: `scraper`, bound to the metrics-reader ClusterRole, and
/// `stranger`, bound to nothing.
pub struct Readers {
    /// Token of `scraper`.
    pub scraper: String,
    /// Token of `stranger`.
    pub stranger: String,
    /// The ClusterRoleBinding to remove afterwards.
    pub binding: String,
}

pub async fn readers(client: &Client, ns: &str) -> Readers {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    for name in ["scraper", "stranger"] {
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        sas.create(&PostParams::default(), &sa).await.unwrap();
    }
    let binding = unique("e2e-metrics-reader");
    let crb = ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(binding.clone()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: METRICS_READER.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "scraper".into(),
            namespace: Some(ns.into()),
            ..Default::default()
        }]),
    };
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &crb)
        .await
        .unwrap();
    Readers {
        scraper: service_account_token(client, ns, "scraper").await,
        stranger: service_account_token(client, ns, "stranger").await,
        binding,
    }
}

/// Remove the binding and the namespace of [`readers`].
pub async fn cleanup_readers(client: &Client, ns: &str, r: &Readers) {
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete(&r.binding, &DeleteParams::default())
        .await;
    let _ = Api::<Namespace>::all(client.clone())
        .delete(ns, &DeleteParams::default())
        .await;
}
