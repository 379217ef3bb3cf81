//! A model of Kubernetes NetworkPolicy semantics, for tests: given namespaces, policies and
//! endpoints, is a connection allowed?
//!
//! - A policy selects pods of its own namespace by `podSelector` (matchLabels and
//!   matchExpressions In, NotIn, Exists, DoesNotExist; absent or empty selects every pod).
//! - `policyTypes`, when absent, is Ingress, plus Egress when the policy has egress rules.
//! - A pod selected by no policy for a direction is open in that direction; otherwise a
//!   connection passes when any rule of any of those policies matches it.
//! - Peers: `podSelector` alone is pods of the policy's namespace; `namespaceSelector` alone
//!   is every pod of the matching namespaces; both is their intersection; `ipBlock` matches
//!   the endpoint's IP (pod or external) inside `cidr` and outside every `except`.
//! - Ports: numbers (with `endPort` a range), names resolved against the destination pod's
//!   container ports, protocol TCP unless given; an absent port is every port of the
//!   protocol. Absent or empty `from`/`to` is any peer; absent or empty `ports` is all ports.
//! - A connection from a source to a destination is allowed when the source's egress allows
//!   it (sources outside the cluster have no egress policy) and the destination's ingress
//!   allows it (destinations outside the cluster have no ingress policy).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Labels of a pod or namespace.
pub type Labels = BTreeMap<String, String>;

/// Labels from `(key, value)` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A container port of a pod.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    /// Port name, if any.
    pub name: Option<String>,
    /// Number.
    pub number: i32,
    /// TCP, UDP or SCTP.
    pub protocol: String,
}

/// A pod in the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: Labels,
    /// Pod IP.
    pub ip: IpAddr,
    /// Container ports.
    pub ports: Vec<Port>,
}

impl Pod {
    /// A pod with labels and container ports `(name, number, protocol)`.
    pub fn new(namespace: &str, labels: Labels, ip: &str, ports: &[(&str, i32, &str)]) -> Pod {
        Pod {
            namespace: namespace.into(),
            labels,
            ip: ip.parse().expect("pod IP"),
            ports: ports
                .iter()
                .map(|(n, p, proto)| Port {
                    name: (!n.is_empty()).then(|| n.to_string()),
                    number: *p,
                    protocol: proto.to_string(),
                })
                .collect(),
        }
    }

    /// The pod a workload's template makes: its labels and every container's ports.
    pub fn from_template(namespace: &str, ip: &str, template: &PodTemplateSpec) -> Pod {
        let labels = template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let ports = template
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .flat_map(|c| c.ports.iter().flatten())
            .map(|p| Port {
                name: p.name.clone(),
                number: p.container_port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect();
        Pod {
            namespace: namespace.into(),
            labels,
            ip: ip.parse().expect("pod IP"),
            ports,
        }
    }
}

/// One end of a connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Endpoint {
    /// A pod in the cluster.
    Pod(Pod),
    /// Anything outside the cluster, known by its IP.
    External(IpAddr),
}

impl Endpoint {
    /// An endpoint outside the cluster.
    pub fn external(ip: &str) -> Endpoint {
        Endpoint::External(ip.parse().expect("external IP"))
    }

    fn ip(&self) -> IpAddr {
        match self {
            Endpoint::Pod(p) => p.ip,
            Endpoint::External(ip) => *ip,
        }
    }

    fn pod(&self) -> Option<&Pod> {
        match self {
            Endpoint::Pod(p) => Some(p),
            Endpoint::External(_) => None,
        }
    }
}

/// Direction of traffic relative to a selected pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Into the pod.
    Ingress,
    /// Out of the pod.
    Egress,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

/// The peers and ports of one ingress or egress rule.
type Rule<'a> = (
    Option<&'a Vec<NetworkPolicyPeer>>,
    Option<&'a Vec<NetworkPolicyPort>>,
);

/// Namespaces and the NetworkPolicies in force.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    namespaces: BTreeMap<String, Labels>,
    /// Every NetworkPolicy, each with its namespace set.
    pub policies: Vec<NetworkPolicy>,
}

impl Cluster {
    /// Add a namespace; it carries `kubernetes.io/metadata.name` like every real one.
    pub fn namespace(&mut self, name: &str, mut labels: Labels) -> &mut Self {
        labels.insert("kubernetes.io/metadata.name".into(), name.into());
        self.namespaces.insert(name.into(), labels);
        self
    }

    fn namespace_labels(&self, name: &str) -> Labels {
        self.namespaces
            .get(name)
            .cloned()
            .unwrap_or_else(|| labels(&[("kubernetes.io/metadata.name", name)]))
    }

    /// Policies that select `pod` for `direction`.
    pub fn selecting(&self, pod: &Pod, direction: Direction) -> Vec<&NetworkPolicy> {
        self.policies
            .iter()
            .filter(|np| np.metadata.namespace.as_deref() == Some(pod.namespace.as_str()))
            .filter(|np| {
                let spec = np.spec.as_ref();
                let selector = spec.and_then(|s| s.pod_selector.as_ref());
                selector.is_none_or(|s| selects(s, &pod.labels))
                    && types(np).contains(&direction.as_str())
            })
            .collect()
    }

    /// Whether `from` may open a connection to `to` on `port`/`protocol`.
    pub fn allows(&self, from: &Endpoint, to: &Endpoint, port: i32, protocol: &str) -> bool {
        let egress = from.pod().is_none_or(|src| {
            self.direction_allows(Direction::Egress, src, to, to, port, protocol)
        });
        let ingress = to.pod().is_none_or(|dst| {
            self.direction_allows(Direction::Ingress, dst, from, to, port, protocol)
        });
        egress && ingress
    }

    /// Whether the policies selecting `subject` let traffic with `peer` (the other end)
    /// through, `dst` being the destination that named ports resolve against.
    fn direction_allows(
        &self,
        direction: Direction,
        subject: &Pod,
        peer: &Endpoint,
        dst: &Endpoint,
        port: i32,
        protocol: &str,
    ) -> bool {
        let policies = self.selecting(subject, direction);
        if policies.is_empty() {
            return true;
        }
        policies.into_iter().any(|np| {
            let ns = np.metadata.namespace.as_deref().unwrap_or_default();
            let spec = np.spec.as_ref().expect("policy spec");
            let rules: Vec<Rule> = match direction {
                Direction::Ingress => spec
                    .ingress
                    .iter()
                    .flatten()
                    .map(|r| (r.from.as_ref(), r.ports.as_ref()))
                    .collect(),
                Direction::Egress => spec
                    .egress
                    .iter()
                    .flatten()
                    .map(|r| (r.to.as_ref(), r.ports.as_ref()))
                    .collect(),
            };
            rules.into_iter().any(|(peers, ports)| {
                let peer_ok = match peers {
                    None => true,
                    Some(list) if list.is_empty() => true,
                    Some(list) => list.iter().any(|p| self.peer_matches(ns, p, peer)),
                };
                peer_ok && ports_match(ports, dst, port, protocol)
            })
        })
    }

    fn peer_matches(&self, policy_ns: &str, peer: &NetworkPolicyPeer, ep: &Endpoint) -> bool {
        if let Some(block) = &peer.ip_block {
            let ip = ep.ip();
            return cidr_contains(&block.cidr, ip)
                && !block.except.iter().flatten().any(|e| cidr_contains(e, ip));
        }
        let Some(pod) = ep.pod() else {
            return false;
        };
        match (&peer.pod_selector, &peer.namespace_selector) {
            (None, None) => false,
            (Some(ps), None) => pod.namespace == policy_ns && selects(ps, &pod.labels),
            (None, Some(ns)) => selects(ns, &self.namespace_labels(&pod.namespace)),
            (Some(ps), Some(ns)) => {
                selects(ns, &self.namespace_labels(&pod.namespace)) && selects(ps, &pod.labels)
            }
        }
    }
}

/// Effective policy types of a policy.
fn types(np: &NetworkPolicy) -> Vec<&str> {
    let spec = np.spec.as_ref();
    match spec.and_then(|s| s.policy_types.as_ref()) {
        Some(t) => t.iter().map(String::as_str).collect(),
        None => {
            let has_egress = spec
                .and_then(|s| s.egress.as_ref())
                .is_some_and(|e| !e.is_empty());
            let mut t = vec!["Ingress"];
            if has_egress {
                t.push("Egress");
            }
            t
        }
    }
}

/// Whether a label selector matches a set of labels.
pub fn selects(selector: &LabelSelector, labels: &Labels) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

fn ports_match(
    ports: Option<&Vec<NetworkPolicyPort>>,
    dst: &Endpoint,
    port: i32,
    protocol: &str,
) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|p| {
        if p.protocol.as_deref().unwrap_or("TCP") != protocol {
            return false;
        }
        match &p.port {
            None => true,
            Some(IntOrString::Int(n)) => match p.end_port {
                Some(end) => *n <= port && port <= end,
                None => *n == port,
            },
            Some(IntOrString::String(name)) => dst.pod().is_some_and(|pod| {
                pod.ports.iter().any(|cp| {
                    cp.name.as_deref() == Some(name.as_str())
                        && cp.protocol == protocol
                        && cp.number == port
                })
            }),
        }
    })
}

/// Whether `cidr` ("192.0.2.0/24", "2001:db8::/32") contains `ip` (same family only).
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((base, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(len)) = (base.parse::<IpAddr>(), len.parse::<u32>()) else {
        return false;
    };
    let (a, b, width) = match (base, ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if len > width {
        return false;
    }
    let shift = width - len;
    len == 0 || (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::networking::v1::{
        IPBlock, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicySpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, ObjectMeta};

    use super::*;

    fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs).into_iter().collect()),
            ..Default::default()
        }
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: op.into(),
                values: (!values.is_empty())
                    .then(|| values.iter().map(|v| v.to_string()).collect()),
            }]),
            ..Default::default()
        }
    }

    fn policy(ns: &str, spec: NetworkPolicySpec) -> NetworkPolicy {
        NetworkPolicy {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            spec: Some(spec),
        }
    }

    fn port(p: IntOrString, protocol: Option<&str>, end: Option<i32>) -> NetworkPolicyPort {
        NetworkPolicyPort {
            port: Some(p),
            protocol: protocol.map(String::from),
            end_port: end,
        }
    }

    fn allow_in(
        ns: &str,
        target: LabelSelector,
        from: Option<Vec<NetworkPolicyPeer>>,
        ports: Option<Vec<NetworkPolicyPort>>,
    ) -> NetworkPolicy {
        policy(
            ns,
            NetworkPolicySpec {
                pod_selector: Some(target),
                ingress: Some(vec![NetworkPolicyIngressRule { from, ports }]),
                ..Default::default()
            },
        )
    }

    fn pods_peer(pairs: &[(&str, &str)]) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: Some(sel(pairs)),
            ..Default::default()
        }
    }

    fn ns_peer(name: &str) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            namespace_selector: Some(sel(&[("kubernetes.io/metadata.name", name)])),
            ..Default::default()
        }
    }

    fn world() -> Cluster {
        let mut c = Cluster::default();
        c.namespace("a", labels(&[("team", "x")]))
            .namespace("b", labels(&[("team", "y")]));
        c
    }

    fn web(ns: &str) -> Endpoint {
        Endpoint::Pod(Pod::new(
            ns,
            labels(&[("app", "web")]),
            "10.1.0.1",
            &[("http", 8080, "TCP"), ("dns", 53, "UDP")],
        ))
    }

    fn client(ns: &str, app: &str) -> Endpoint {
        Endpoint::Pod(Pod::new(ns, labels(&[("app", app)]), "10.1.0.2", &[]))
    }

    #[test]
    fn no_policy_means_open() {
        let c = world();
        assert!(c.allows(&client("b", "x"), &web("a"), 8080, "TCP"));
        assert!(c.allows(&web("a"), &Endpoint::external("8.8.8.8"), 1, "UDP"));
    }

    #[test]
    fn a_selecting_policy_without_rules_denies_its_direction_only() {
        let mut c = world();
        c.policies.push(policy(
            "a",
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Ingress".into()]),
                ..Default::default()
            },
        ));
        assert!(!c.allows(&client("b", "x"), &web("a"), 8080, "TCP"));
        assert!(
            c.allows(&web("a"), &client("b", "x"), 9999, "TCP"),
            "egress open"
        );
        assert!(
            c.allows(&client("b", "x"), &web("b"), 8080, "TCP"),
            "other namespace untouched"
        );
    }

    #[test]
    fn policy_types_default_from_the_rules_present() {
        let mut c = world();
        let mut np = allow_in("a", sel(&[("app", "web")]), None, None);
        np.spec.as_mut().unwrap().egress = Some(vec![NetworkPolicyEgressRule {
            to: Some(vec![ns_peer("a")]),
            ports: None,
        }]);
        c.policies.push(np);
        assert!(c.allows(&web("a"), &client("a", "y"), 1, "TCP"));
        assert!(
            !c.allows(&web("a"), &client("b", "y"), 1, "TCP"),
            "egress inferred"
        );
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![ns_peer("b")]),
            None,
        ));
        assert!(
            c.allows(&web("a"), &client("a", "y"), 1, "TCP"),
            "no egress rules: egress not affected"
        );
    }

    #[test]
    fn pod_selector_alone_is_the_policy_namespace_only() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![pods_peer(&[("app", "api")])]),
            None,
        ));
        assert!(c.allows(&client("a", "api"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&client("b", "api"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&client("a", "other"), &web("a"), 8080, "TCP"));
    }

    #[test]
    fn namespace_selector_alone_and_both_together() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(sel(&[("team", "y")])),
                ..Default::default()
            }]),
            None,
        ));
        assert!(c.allows(&client("b", "anything"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&client("a", "anything"), &web("a"), 8080, "TCP"));

        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(sel(&[("team", "y")])),
                pod_selector: Some(sel(&[("app", "api")])),
                ..Default::default()
            }]),
            None,
        ));
        assert!(c.allows(&client("b", "api"), &web("a"), 8080, "TCP"));
        assert!(
            !c.allows(&client("b", "other"), &web("a"), 8080, "TCP"),
            "AND"
        );
        assert!(
            !c.allows(&client("a", "api"), &web("a"), 8080, "TCP"),
            "AND"
        );
        assert!(
            !c.allows(&Endpoint::external("10.1.0.2"), &web("a"), 8080, "TCP"),
            "selectors never match outside endpoints"
        );
    }

    #[test]
    fn two_entries_in_from_are_a_union() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![ns_peer("b"), pods_peer(&[("app", "api")])]),
            None,
        ));
        assert!(c.allows(&client("b", "x"), &web("a"), 8080, "TCP"));
        assert!(c.allows(&client("a", "api"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&client("a", "x"), &web("a"), 8080, "TCP"));
    }

    #[test]
    fn ip_block_with_except() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: "192.0.2.0/24".into(),
                    except: Some(vec!["192.0.2.128/25".into()]),
                }),
                ..Default::default()
            }]),
            None,
        ));
        assert!(c.allows(&Endpoint::external("192.0.2.7"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&Endpoint::external("192.0.2.200"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&Endpoint::external("198.51.100.1"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&Endpoint::external("2001:db8::1"), &web("a"), 8080, "TCP"));
    }

    #[test]
    fn cidr_arithmetic() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(cidr_contains("0.0.0.0/0", ip("203.0.113.9")));
        assert!(cidr_contains("203.0.113.9/32", ip("203.0.113.9")));
        assert!(!cidr_contains("203.0.113.9/32", ip("203.0.113.8")));
        assert!(cidr_contains("2001:db8::/32", ip("2001:db8:1::5")));
        assert!(!cidr_contains("2001:db8::/32", ip("2001:db9::5")));
        assert!(!cidr_contains("10.0.0.0/33", ip("10.0.0.1")));
        assert!(!cidr_contains("garbage", ip("10.0.0.1")));
    }

    #[test]
    fn named_ports_resolve_on_the_destination_pod_with_protocol() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            None,
            Some(vec![port(IntOrString::String("http".into()), None, None)]),
        ));
        assert!(c.allows(&client("b", "x"), &web("a"), 8080, "TCP"));
        assert!(!c.allows(&client("b", "x"), &web("a"), 8081, "TCP"));
        assert!(
            !c.allows(&client("b", "x"), &web("a"), 8080, "UDP"),
            "TCP by default"
        );

        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            None,
            Some(vec![port(IntOrString::String("dns".into()), None, None)]),
        ));
        assert!(
            !c.allows(&client("b", "x"), &web("a"), 53, "TCP"),
            "the named port is UDP, the rule TCP"
        );
    }

    #[test]
    fn named_egress_ports_never_match_outside_endpoints() {
        let mut c = world();
        c.policies.push(policy(
            "a",
            NetworkPolicySpec {
                pod_selector: Some(sel(&[("app", "web")])),
                policy_types: Some(vec!["Egress".into()]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: None,
                    ports: Some(vec![port(IntOrString::String("http".into()), None, None)]),
                }]),
                ..Default::default()
            },
        ));
        assert!(c.allows(&web("a"), &web("b"), 8080, "TCP"));
        assert!(!c.allows(&web("a"), &Endpoint::external("192.0.2.1"), 8080, "TCP"));
    }

    #[test]
    fn numeric_ports_protocols_and_ranges() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            None,
            Some(vec![
                port(IntOrString::Int(53), Some("UDP"), None),
                port(IntOrString::Int(9000), None, Some(9010)),
            ]),
        ));
        assert!(c.allows(&client("b", "x"), &web("a"), 53, "UDP"));
        assert!(!c.allows(&client("b", "x"), &web("a"), 53, "TCP"));
        assert!(c.allows(&client("b", "x"), &web("a"), 9000, "TCP"));
        assert!(c.allows(&client("b", "x"), &web("a"), 9010, "TCP"));
        assert!(!c.allows(&client("b", "x"), &web("a"), 9011, "TCP"));
        assert!(!c.allows(&client("b", "x"), &web("a"), 8999, "TCP"));

        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            None,
            Some(vec![NetworkPolicyPort {
                protocol: Some("UDP".into()),
                ..Default::default()
            }]),
        ));
        assert!(
            c.allows(&client("b", "x"), &web("a"), 1234, "UDP"),
            "every UDP port"
        );
        assert!(!c.allows(&client("b", "x"), &web("a"), 1234, "TCP"));
    }

    #[test]
    fn empty_lists_mean_any() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![]),
            Some(vec![]),
        ));
        assert!(c.allows(&Endpoint::external("203.0.113.1"), &web("a"), 1, "SCTP"));
    }

    #[test]
    fn policies_add_up() {
        let mut c = world();
        c.policies.push(allow_in(
            "a",
            sel(&[("app", "web")]),
            Some(vec![ns_peer("b")]),
            None,
        ));
        assert!(!c.allows(&client("a", "x"), &web("a"), 8080, "TCP"));
        c.policies.push(allow_in(
            "a",
            LabelSelector::default(),
            Some(vec![ns_peer("a")]),
            None,
        ));
        assert!(c.allows(&client("a", "x"), &web("a"), 8080, "TCP"));
        assert!(c.allows(&client("b", "x"), &web("a"), 8080, "TCP"));
    }

    #[test]
    fn both_ends_must_agree() {
        let mut c = world();
        c.policies.push(policy(
            "b",
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Egress".into()]),
                ..Default::default()
            },
        ));
        assert!(
            !c.allows(&client("b", "x"), &web("a"), 8080, "TCP"),
            "egress denied"
        );
        assert!(c.allows(&client("a", "x"), &web("a"), 8080, "TCP"));
        assert!(
            c.allows(
                &Endpoint::external("10.1.0.2"),
                &client("b", "x"),
                80,
                "TCP"
            ),
            "outside sources have no egress policy"
        );
    }

    #[test]
    fn pods_from_templates_carry_labels_and_every_container_port() {
        use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec};
        let port = |name: &str, n: i32, protocol: Option<&str>| ContainerPort {
            name: Some(name.into()),
            container_port: n,
            protocol: protocol.map(String::from),
            ..Default::default()
        };
        let t = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels(&[("app", "web")])),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![
                    Container {
                        name: "main".into(),
                        ports: Some(vec![port("http", 8080, None)]),
                        ..Default::default()
                    },
                    Container {
                        name: "sidecar".into(),
                        ports: Some(vec![port("dns", 53, Some("UDP"))]),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        };
        assert_eq!(
            Endpoint::Pod(Pod::from_template("a", "10.1.0.1", &t)),
            web("a")
        );
    }

    #[test]
    fn selector_expressions() {
        let l = labels(&[("tier", "db"), ("env", "prod")]);
        assert!(selects(&LabelSelector::default(), &l));
        assert!(selects(&expr("tier", "In", &["db", "cache"]), &l));
        assert!(!selects(&expr("tier", "In", &["web"]), &l));
        assert!(!selects(&expr("zone", "In", &["a"]), &l));
        assert!(selects(&expr("tier", "NotIn", &["web"]), &l));
        assert!(!selects(&expr("tier", "NotIn", &["db"]), &l));
        assert!(selects(&expr("zone", "NotIn", &["a"]), &l), "absent key");
        assert!(selects(&expr("env", "Exists", &[]), &l));
        assert!(!selects(&expr("zone", "Exists", &[]), &l));
        assert!(selects(&expr("zone", "DoesNotExist", &[]), &l));
        assert!(!selects(&expr("env", "DoesNotExist", &[]), &l));
        assert!(!selects(&expr("env", "Bogus", &[]), &l));
        let mut both = expr("env", "Exists", &[]);
        both.match_labels = Some(labels(&[("tier", "web")]).into_iter().collect());
        assert!(!selects(&both, &l), "labels and expressions are ANDed");
    }
}
