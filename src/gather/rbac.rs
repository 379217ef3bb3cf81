//! The RBAC `gather` needs, as one ClusterRole: read everything it collects except Secrets
//! and pod logs (a run without them finishes and lists them under gather-errors; bind
//! `view`-like access to Secrets and `pods/log` as well for a complete gather).

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::ObjectMeta;

/// Name of the ClusterRole.
pub const READER: &str = "smbp-operator-gather-reader";

fn rule(groups: &[&str], resources: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|s| (*s).to_owned()).collect()),
        resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
        verbs: vec!["get".into(), "list".into()],
        ..Default::default()
    }
}

/// Read access to what `gather` collects, without Secrets or pod logs.
pub fn reader_cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(READER.into()),
            labels: Some(
                [(
                    "app.kubernetes.io/name".to_owned(),
                    "smbp-operator".to_owned(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        rules: Some(vec![
            rule(
                &[""],
                &[
                    "pods",
                    "services",
                    "endpoints",
                    "configmaps",
                    "serviceaccounts",
                    "persistentvolumeclaims",
                    "persistentvolumes",
                    "events",
                    "namespaces",
                    "nodes",
                ],
            ),
            rule(&["apps"], &["statefulsets", "deployments", "replicasets"]),
            rule(&["policy"], &["poddisruptionbudgets"]),
            rule(&["networking.k8s.io"], &["networkpolicies", "ingresses"]),
            rule(&["coordination.k8s.io"], &["leases"]),
            rule(&["rbac.authorization.k8s.io"], &["roles", "rolebindings"]),
            rule(&["storage.k8s.io"], &["storageclasses"]),
            rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"]),
            rule(
                &["admissionregistration.k8s.io"],
                &[
                    "validatingwebhookconfigurations",
                    "mutatingwebhookconfigurations",
                ],
            ),
            rule(&[crate::api::GROUP], &["*"]),
            rule(
                &[
                    crate::thirdparty::STRIMZI_GROUP,
                    crate::thirdparty::CERT_MANAGER_GROUP,
                    crate::thirdparty::GATEWAY_API_GROUP,
                    crate::thirdparty::OPENSHIFT_ROUTE_GROUP,
                    crate::thirdparty::PROMETHEUS_OPERATOR_GROUP,
                    "operators.coreos.com",
                ],
                &["*"],
            ),
        ]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_never_reads_secrets_or_logs() {
        for r in reader_cluster_role().rules.unwrap() {
            let res = r.resources.unwrap();
            assert!(
                !res.iter().any(|x| x == "secrets" || x == "pods/log"),
                "{res:?}"
            );
            if r.api_groups.unwrap().iter().any(|g| g.is_empty()) {
                assert!(!res.iter().any(|x| x == "*"));
            }
            assert_eq!(r.verbs, ["get", "list"]);
        }
    }
}
