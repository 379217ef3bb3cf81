//! The operator's RBAC rules: the single source for `config/rbac` and the CSV.
//! Least privilege: no wildcards, no CRD writes, Secrets read by metadata only in code.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const MANAGE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// Rules the controller needs in every namespace it watches.
pub fn namespaced_rules() -> Vec<PolicyRule> {
    vec![
        rule(
            &["smbp.io"],
            &["bigpeers"],
            &["get", "list", "watch", "update", "patch"],
        ),
        rule(
            &["smbp.io"],
            &["bigpeers/status"],
            &["get", "update", "patch"],
        ),
        rule(&["smbp.io"], &["bigpeers/finalizers"], &["update"]),
        rule(&["apps"], &["statefulsets", "deployments"], MANAGE),
        rule(
            &[""],
            &["services", "configmaps", "serviceaccounts"],
            MANAGE,
        ),
        rule(&[""], &["pods"], &["get", "list", "watch", "delete"]),
        rule(
            &[""],
            &["persistentvolumeclaims"],
            &["get", "list", "watch", "patch", "delete"],
        ),
        rule(&[""], &["secrets"], &["get"]),
        rule(&["policy"], &["poddisruptionbudgets"], MANAGE),
        rule(&["networking.k8s.io"], &["networkpolicies"], MANAGE),
        rule(&["events.k8s.io"], &["events"], &["create", "patch"]),
        rule(&["cert-manager.io"], &["certificates", "issuers"], MANAGE),
        rule(
            &["kafka.strimzi.io"],
            &["kafkatopics", "kafkausers"],
            MANAGE,
        ),
        rule(&["kafka.strimzi.io"], &["kafkas"], READ),
        rule(&["networking.k8s.io"], &["ingresses"], MANAGE),
        rule(&["gateway.networking.k8s.io"], &["httproutes"], MANAGE),
        rule(&["gateway.networking.k8s.io"], &["gateways"], &["get"]),
        rule(&["route.openshift.io"], &["routes"], MANAGE),
        // Setting spec.host on a Route needs this subresource permission.
        rule(
            &["route.openshift.io"],
            &["routes/custom-host"],
            &["create"],
        ),
        rule(
            &["monitoring.coreos.com"],
            &["servicemonitors", "podmonitors"],
            MANAGE,
        ),
    ]
}

/// Rules for leader election, in the operator's own namespace.
pub fn leader_election_rules() -> Vec<PolicyRule> {
    vec![rule(
        &["coordination.k8s.io"],
        &["leases"],
        &["get", "list", "watch", "create", "update", "patch"],
    )]
}

/// The controller's ClusterRole (bound cluster-wide for AllNamespaces, or per namespace).
pub fn manager_cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some("smbp-operator-manager".into()),
            ..Default::default()
        },
        rules: Some(namespaced_rules()),
        ..Default::default()
    }
}

/// Leader election Role.
pub fn leader_election_role() -> Role {
    Role {
        metadata: ObjectMeta {
            name: Some("smbp-operator-leader-election".into()),
            ..Default::default()
        },
        rules: Some(leader_election_rules()),
    }
}

/// Discovery needs no RBAC (every authenticated user may read it); documented here so the
/// absence is deliberate.
pub const DISCOVERY_NOTE: &str =
    "API discovery is allowed to all authenticated users by system:discovery";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wildcards_and_no_crd_writes() {
        for r in namespaced_rules()
            .iter()
            .chain(leader_election_rules().iter())
        {
            assert!(!r.verbs.iter().any(|v| v == "*"));
            assert!(!r.resources.iter().flatten().any(|v| v == "*"));
            assert!(
                !r.api_groups
                    .iter()
                    .flatten()
                    .any(|g| g == "*" || g == "apiextensions.k8s.io")
            );
        }
    }

    #[test]
    fn secrets_are_read_only() {
        let r = namespaced_rules()
            .into_iter()
            .find(|r| r.resources.iter().flatten().any(|x| x == "secrets"))
            .unwrap();
        assert_eq!(r.verbs, vec!["get".to_string()]);
    }
}
