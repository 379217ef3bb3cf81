//! The operator's RBAC rules: the single source for `config/rbac` and the CSV.
//! Least privilege: no wildcards, no CRD writes; Secrets are written only as the operator's own
//! (`<bp>-access`, the API keys' `<key>-api-key`), and read with their data only where the code
//! needs it (the keys' own Secrets, and the shared tokens apps name).
//! The management API acts with the operator's credentials only after a SubjectAccessReview
//! of its caller.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::facts::OWNED;

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

/// `MANAGE` on every kind the operator owns ([`OWNED`]), one rule per API group; Secrets have
/// a rule of their own (see [`namespaced_rules`]).
fn owned_rules() -> Vec<PolicyRule> {
    let mut groups: Vec<(String, Vec<String>)> = vec![];
    for kind in OWNED {
        let ar = (kind.resource)();
        if ar.group.is_empty() && ar.plural == "secrets" {
            continue;
        }
        match groups.iter_mut().find(|(g, _)| *g == ar.group) {
            Some((_, plurals)) => plurals.push(ar.plural),
            None => groups.push((ar.group, vec![ar.plural])),
        }
    }
    groups
        .into_iter()
        .map(|(g, plurals)| {
            let plurals: Vec<&str> = plurals.iter().map(String::as_str).collect();
            rule(&[g.as_str()], &plurals, MANAGE)
        })
        .collect()
}

/// Rules the controller needs in every namespace it watches.
pub fn namespaced_rules() -> Vec<PolicyRule> {
    let mut rules = vec![
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
        // Apps and keys: the controllers read them, patch the generated `spec.appId` in once
        // and write status; the management API creates, changes and deletes them for callers a
        // SubjectAccessReview allowed. A key owns its Secret with blockOwnerDeletion, which
        // needs `update` on the key's finalizers where OwnerReferencesPermissionEnforcement is
        // on (OpenShift).
        // Replications and data bridges likewise: read, status, and the management API's
        // writes; each owns the objects made for it (Services, ConfigMaps, NetworkPolicies,
        // KafkaTopics and KafkaUsers, the connector's Deployment) with blockOwnerDeletion.
        rule(
            &["smbp.io"],
            &[
                "bigpeerapps",
                "bigpeerapikeys",
                "bigpeerreplications",
                "bigpeerdatabridges",
            ],
            MANAGE,
        ),
        rule(
            &["smbp.io"],
            &[
                "bigpeerapps/status",
                "bigpeerapikeys/status",
                "bigpeerreplications/status",
                "bigpeerdatabridges/status",
            ],
            &["get", "update", "patch"],
        ),
        rule(
            &["smbp.io"],
            &[
                "bigpeerapikeys/finalizers",
                "bigpeerreplications/finalizers",
                "bigpeerdatabridges/finalizers",
            ],
            &["update"],
        ),
    ];
    rules.extend(owned_rules());
    rules.extend([
        rule(&[""], &["pods"], &["get", "list", "watch", "delete"]),
        rule(
            &[""],
            &["persistentvolumeclaims"],
            &["get", "list", "watch", "patch", "delete"],
        ),
        // Secrets: the operator writes its own — `<bp>-access` (apps and key hashes for the
        // servers, owned by the BigPeer) and each key's `<key>-api-key` (owned by the key):
        // `create`, `update`/`patch`, and `delete` to prune. It reads every Secret's metadata
        // (PartialObjectMetadata: do the Secrets the pods mount exist?), the data of the keys'
        // own Secrets only (one watch selected by the label smbp.io/api-key), and one GET of a
        // Secret an app names for its shared token, or a replication for its BigPeer's CA or a
        // trusted CA (certificates only are kept), when that Secret changes. The management API
        // also keeps an anonymous provider's shared token in a Secret owned by its app. RBAC
        // cannot narrow `get`/`list`/`watch` to those: the code does.
        rule(&[""], &["secrets"], MANAGE),
        rule(&["events.k8s.io"], &["events"], &["create", "patch"]),
        rule(&["kafka.strimzi.io"], &["kafkas"], READ),
        rule(&["gateway.networking.k8s.io"], &["gateways"], &["get"]),
        // A replication's in-cluster connections: whether the other side's Service has ready
        // endpoints (read where the operator's Role or ClusterRole reaches; elsewhere the
        // connection is reported Unknown).
        rule(&["discovery.k8s.io"], &["endpointslices"], &["get", "list"]),
        // Setting spec.host on a Route needs this subresource permission.
        rule(
            &["route.openshift.io"],
            &["routes/custom-host"],
            &["create"],
        ),
    ]);
    rules
}

/// Cluster-scoped rules: reviewing the bearer tokens of metrics readers (TokenReview) and
/// whether their users may read `/metrics` (SubjectAccessReview).
pub fn cluster_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["authorization.k8s.io"],
            &["subjectaccessreviews"],
            &["create"],
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

/// The controller's ClusterRole, bound cluster-wide: the namespaced rules plus the cluster
/// rules. (The CSV splits them into `permissions` and `clusterPermissions`.)
pub fn manager_cluster_role() -> ClusterRole {
    let mut rules = namespaced_rules();
    rules.extend(cluster_rules());
    ClusterRole {
        metadata: ObjectMeta {
            name: Some("smbp-operator-manager".into()),
            ..Default::default()
        },
        rules: Some(rules),
        ..Default::default()
    }
}

/// Name of the ClusterRole that lets a subject read the operator's metrics.
pub const METRICS_READER: &str = "smbp-operator-metrics-reader";

/// The ClusterRole users bind to their Prometheus' ServiceAccount: `get` on `/metrics`.
pub fn metrics_reader_cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(METRICS_READER.into()),
            labels: Some(
                [(
                    "app.kubernetes.io/name".to_string(),
                    "smbp-operator".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            non_resource_urls: Some(vec![crate::facts::METRICS_PATH.to_string()]),
            verbs: vec!["get".into()],
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// The levels of the aggregated user ClusterRoles, with the verbs each adds on the five kinds
/// (Kubernetes folds `view` into `edit` and `edit` into `admin`, as OLM's own per-API roles
/// expect).
const USER_LEVELS: [(&str, &[&str]); 3] = [
    (
        "admin",
        &["create", "update", "patch", "delete", "deletecollection"],
    ),
    (
        "edit",
        &["create", "update", "patch", "delete", "deletecollection"],
    ),
    ("view", &["get", "list", "watch"]),
];

/// ClusterRoles that add the five kinds to Kubernetes' `admin`, `edit` and `view` roles (by
/// their `rbac.authorization.k8s.io/aggregate-to-*` labels), so that a namespace's admins
/// and editors manage BigPeers, apps, keys, replications and data bridges, and its viewers
/// read them (never a Secret). For the kustomize install only: OLM makes the same roles
/// itself for the CRDs a CSV owns (`<plural>.smbp.io-v1alpha1-admin|edit|view`), so the CSV
/// does not list them.
pub fn user_cluster_roles() -> Vec<ClusterRole> {
    let plurals: Vec<&str> = crate::api::KINDS.iter().map(|(_, p)| *p).collect();
    USER_LEVELS
        .iter()
        .map(|(level, verbs)| {
            let mut resources = plurals.clone();
            let status: Vec<String> = plurals.iter().map(|p| format!("{p}/status")).collect();
            if *level == "view" {
                resources.extend(status.iter().map(String::as_str));
            }
            ClusterRole {
                metadata: ObjectMeta {
                    name: Some(format!("smbp-operator-{level}")),
                    labels: Some(
                        [
                            (
                                format!("rbac.authorization.k8s.io/aggregate-to-{level}"),
                                "true".to_string(),
                            ),
                            (
                                "app.kubernetes.io/name".to_string(),
                                "smbp-operator".to_string(),
                            ),
                        ]
                        .into(),
                    ),
                    ..Default::default()
                },
                rules: Some(vec![rule(&[crate::api::GROUP], &resources, verbs)]),
                ..Default::default()
            }
        })
        .collect()
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
            .chain(cluster_rules().iter())
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
    fn cluster_rules_only_create_reviews() {
        let rules = cluster_rules();
        assert_eq!(rules.len(), 2);
        for r in &rules {
            assert_eq!(r.verbs, vec!["create".to_string()]);
        }
        let resources: Vec<String> = rules
            .iter()
            .flat_map(|r| r.resources.clone().unwrap_or_default())
            .collect();
        assert_eq!(resources, vec!["tokenreviews", "subjectaccessreviews"]);
        let manager = manager_cluster_role().rules.unwrap();
        assert!(rules.iter().all(|r| manager.contains(r)));
    }

    #[test]
    fn metrics_reader_may_only_get_metrics() {
        let role = metrics_reader_cluster_role();
        assert_eq!(role.metadata.name.as_deref(), Some(METRICS_READER));
        let rules = role.rules.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].non_resource_urls, Some(vec!["/metrics".into()]));
        assert_eq!(rules[0].verbs, vec!["get".to_string()]);
        assert!(rules[0].resources.is_none() && rules[0].api_groups.is_none());
    }

    #[test]
    fn secrets_have_one_rule_of_their_own() {
        // Written (the operator's own Secrets) and read, in the namespaces it watches only: no
        // cluster rule names Secrets, and one namespaced rule does, naming nothing else.
        let naming: Vec<PolicyRule> = namespaced_rules()
            .into_iter()
            .filter(|r| r.resources.iter().flatten().any(|x| x == "secrets"))
            .collect();
        assert_eq!(naming.len(), 1, "{naming:?}");
        assert_eq!(naming[0].resources, Some(vec!["secrets".to_string()]));
        assert_eq!(naming[0].verbs, MANAGE);
        assert!(naming[0].resource_names.is_none());
        assert!(
            !cluster_rules()
                .iter()
                .any(|r| r.resources.iter().flatten().any(|x| x == "secrets"))
        );
    }

    #[test]
    fn apps_and_keys_are_managed_and_have_their_status_written() {
        let rules = namespaced_rules();
        let verbs = |resource: &str| -> Vec<String> {
            rules
                .iter()
                .filter(|r| r.api_groups == Some(vec!["smbp.io".into()]))
                .filter(|r| r.resources.iter().flatten().any(|x| x == resource))
                .flat_map(|r| r.verbs.clone())
                .collect()
        };
        for kind in ["bigpeerapps", "bigpeerapikeys"] {
            assert_eq!(verbs(kind), MANAGE, "{kind}");
            assert_eq!(
                verbs(&format!("{kind}/status")),
                ["get", "update", "patch"],
                "{kind}"
            );
        }
        assert_eq!(verbs("bigpeerapikeys/finalizers"), ["update"]);
        assert!(verbs("bigpeerapps/finalizers").is_empty());
    }

    #[test]
    fn every_owned_kind_is_managed() {
        let rules = namespaced_rules();
        for kind in OWNED {
            let ar = (kind.resource)();
            assert!(
                rules
                    .iter()
                    .any(|r| r.api_groups == Some(vec![ar.group.clone()])
                        && r.resources.iter().flatten().any(|x| *x == ar.plural)
                        && r.verbs == MANAGE),
                "{}",
                ar.plural
            );
        }
    }
}
