//! `config/` in the kubebuilder layout, so that `kubectl apply -k config/default` installs the
//! operator without OLM. Generated from the same RBAC rules and Deployment as the CSV.

use serde_json::{Value, json};

use super::release::{self, Release};
use super::{bundle, crd, manager, rbac, scorecard};

fn y(v: &impl serde::Serialize) -> String {
    serde_yaml::to_string(v).expect("manifests serialize")
}

fn kustomization(resources: &[&str]) -> String {
    y(
        &json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}),
    )
}

fn binding(kind: &str, name: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": format!("{kind}Binding"),
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": manager::SERVICE_ACCOUNT, "namespace": release::SUGGESTED_NAMESPACE}],
    })
}

/// Every generated file under `config/`.
pub fn files(r: &Release) -> Vec<(String, String)> {
    let cluster_role = rbac::manager_cluster_role();
    let le_role = rbac::leader_election_role();
    let cr_name = cluster_role.metadata.name.clone().unwrap_or_default();
    let le_name = le_role.metadata.name.clone().unwrap_or_default();
    let mut deployment =
        serde_json::to_value(manager::deployment(r, false)).expect("deployment serializes");
    deployment["apiVersion"] = json!("apps/v1");
    deployment["kind"] = json!("Deployment");
    let mut cluster_role = serde_json::to_value(cluster_role).expect("role serializes");
    cluster_role["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
    cluster_role["kind"] = json!("ClusterRole");
    let mut le_role = serde_json::to_value(le_role).expect("role serializes");
    le_role["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
    le_role["kind"] = json!("Role");
    let namespace = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": release::SUGGESTED_NAMESPACE, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
        }},
    });
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": manager::SERVICE_ACCOUNT}});
    let default = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": release::SUGGESTED_NAMESPACE,
        "resources": ["../crd", "../rbac", "../manager", "metrics_service.yaml"],
    });
    let mut out = vec![
        (
            "config/crd/bases/smbp.io_bigpeers.yaml".to_string(),
            crd::yaml(),
        ),
        (
            "config/crd/kustomization.yaml".into(),
            kustomization(&["bases/smbp.io_bigpeers.yaml"]),
        ),
        ("config/rbac/role.yaml".into(), y(&cluster_role)),
        (
            "config/rbac/role_binding.yaml".into(),
            y(&binding("ClusterRole", &cr_name)),
        ),
        ("config/rbac/leader_election_role.yaml".into(), y(&le_role)),
        (
            "config/rbac/leader_election_role_binding.yaml".into(),
            y(&binding("Role", &le_name)),
        ),
        ("config/rbac/service_account.yaml".into(), y(&sa)),
        (
            "config/rbac/metrics_reader_role.yaml".into(),
            y(&bundle::value(&rbac::metrics_reader_cluster_role())),
        ),
        (
            "config/rbac/kustomization.yaml".into(),
            kustomization(&[
                "service_account.yaml",
                "role.yaml",
                "role_binding.yaml",
                "leader_election_role.yaml",
                "leader_election_role_binding.yaml",
                "metrics_reader_role.yaml",
            ]),
        ),
        ("config/manager/namespace.yaml".into(), y(&namespace)),
        ("config/manager/manager.yaml".into(), y(&deployment)),
        (
            "config/manager/kustomization.yaml".into(),
            kustomization(&["namespace.yaml", "manager.yaml"]),
        ),
        ("config/default/kustomization.yaml".into(), y(&default)),
        (
            "config/default/metrics_service.yaml".into(),
            y(&bundle::value(&manager::metrics_service())),
        ),
        (
            "config/samples/kustomization.yaml".into(),
            kustomization(&["smbp_v1alpha1_bigpeer.yaml"]),
        ),
        (
            "config/manifests/kustomization.yaml".into(),
            kustomization(&["../default", "../samples", "../scorecard"]),
        ),
    ];
    out.extend(
        scorecard::layout()
            .into_iter()
            .filter(|(p, _)| p.starts_with("config/")),
    );
    out
}
