//! The NetworkPolicy `<name>-replication`: made only when the BigPeer's NetworkPolicies are
//! on (on a BigPeer without them, a policy selecting its pods would isolate them). It adds to
//! the BigPeer's own `<bp>-subscription` policy, selecting the same subscription pods, and
//! opens exactly:
//!
//! - ingress on the peer port (4040) from the namespaces of `acceptFrom` and of in-cluster
//!   `connections`, and from the `acceptFrom` CIDR blocks; from anywhere when the endpoint is
//!   exposed outside the cluster and no CIDR block is listed (peers then arrive through nodes,
//!   load balancers or gateways no selector can name);
//! - egress on each connection's port: to the namespace of an in-cluster Service name
//!   (`<svc>.<ns>.svc[.cluster.local]`), to the `/32` of an IPv4 address, or to any address
//!   for other DNS names (their addresses are not known ahead). DNS itself is already open in
//!   the BigPeer's policy.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{Exposure, meta, service_name};
use crate::api::{BigPeer, BigPeerReplication, Component, PEER_PORT};
use crate::build::labels;

/// Where a connection goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// An in-cluster Service: its name and namespace.
    Service {
        /// The Service.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// Another DNS name.
    Host(String),
}

/// A parsed `host:port` connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connection {
    /// Where it goes.
    pub target: Target,
    /// Its port.
    pub port: i32,
}

/// Parse a connection address (`None` for one the CRD would refuse).
pub fn connection(address: &str) -> Option<Connection> {
    let (host, port) = address.rsplit_once(':')?;
    let port: i32 = port.parse().ok().filter(|p| (1..=65535).contains(p))?;
    if host.is_empty() {
        return None;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(Connection {
            target: Target::Ipv4(ip),
            port,
        });
    }
    let labels: Vec<&str> = host.split('.').collect();
    let target = match labels.as_slice() {
        [svc, ns, "svc"] | [svc, ns, "svc", "cluster", "local"]
            if !svc.is_empty() && !ns.is_empty() =>
        {
            Target::Service {
                name: svc.to_string(),
                namespace: ns.to_string(),
            }
        }
        _ => Target::Host(host.to_string()),
    };
    Some(Connection { target, port })
}

fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(
                [("kubernetes.io/metadata.name".to_string(), ns.to_string())].into(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A CIDR block in canonical form (host bits cleared), which newer API servers require of a
/// NetworkPolicy's `ipBlock` while CEL's `isCIDR` accepts `10.0.0.1/24`. Left as written
/// when it does not parse (the CRD refuses those).
pub fn canonical_cidr(cidr: &str) -> String {
    let Some((addr, bits)) = cidr.split_once('/') else {
        return cidr.to_string();
    };
    let Ok(bits) = bits.parse::<u32>() else {
        return cidr.to_string();
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            format!("{}/{bits}", Ipv4Addr::from(u32::from(a) & mask))
        }
        Ok(std::net::IpAddr::V6(a)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            format!("{}/{bits}", std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
        _ => cidr.to_string(),
    }
}

fn cidr_peer(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: canonical_cidr(cidr),
            except: None,
        }),
        ..Default::default()
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// Who may connect to the endpoint: `None` is anyone.
fn sources(r: &BigPeerReplication, exposure: &Exposure) -> Option<Vec<NetworkPolicyPeer>> {
    let mut namespaces = BTreeSet::new();
    let mut cidrs = BTreeSet::new();
    for p in &r.spec.accept_from {
        if let Some(ns) = &p.namespace {
            namespaces.insert(ns.clone());
        }
        if let Some(c) = &p.cidr {
            cidrs.insert(canonical_cidr(c));
        }
    }
    if exposure.external() && cidrs.is_empty() {
        return None;
    }
    for c in r.spec.connections.iter().filter_map(|c| connection(c)) {
        if let Target::Service { namespace, .. } = c.target {
            namespaces.insert(namespace);
        }
    }
    Some(
        namespaces
            .iter()
            .map(|n| namespace_peer(n))
            .chain(cidrs.iter().map(|c| cidr_peer(c)))
            .collect(),
    )
}

/// One egress rule per destination, each with its ports, in a stable order.
fn egress(r: &BigPeerReplication) -> Vec<NetworkPolicyEgressRule> {
    let conns: BTreeSet<Connection> = r
        .spec
        .connections
        .iter()
        .filter_map(|c| connection(c))
        .collect();
    // Destinations: a namespace, an address, or anywhere (`None`), each with its ports.
    let mut rules: std::collections::BTreeMap<Option<(u8, String)>, BTreeSet<i32>> =
        Default::default();
    for c in conns {
        let key = match c.target {
            Target::Service { namespace, .. } => Some((0, namespace)),
            Target::Ipv4(ip) => Some((1, format!("{ip}/32"))),
            Target::Host(_) => None,
        };
        rules.entry(key).or_default().insert(c.port);
    }
    rules
        .into_iter()
        .map(|(to, ports)| NetworkPolicyEgressRule {
            to: to.map(|(kind, v)| {
                vec![if kind == 0 {
                    namespace_peer(&v)
                } else {
                    cidr_peer(&v)
                }]
            }),
            ports: Some(ports.into_iter().map(tcp).collect()),
        })
        .collect()
}

/// The replication's NetworkPolicy, when the BigPeer's NetworkPolicies are on.
pub fn policy(r: &BigPeerReplication, bp: &BigPeer, exposure: &Exposure) -> Option<NetworkPolicy> {
    if !bp.spec.network.policies.enabled {
        return None;
    }
    let ingress = match sources(r, exposure) {
        Some(from) if from.is_empty() => vec![],
        from => vec![NetworkPolicyIngressRule {
            from,
            ports: Some(vec![tcp(PEER_PORT)]),
        }],
    };
    Some(NetworkPolicy {
        metadata: meta(r, &bp.name_any(), service_name(&r.name_any())),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::selector(bp, Component::Subscription)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress(r)),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::exposure;
    use super::super::tests::replication;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn connections_are_read_by_kind() {
        let svc = |n: &str, ns: &str| Target::Service {
            name: n.into(),
            namespace: ns.into(),
        };
        assert_eq!(
            connection("a-replication.team-b.svc:4040"),
            Some(Connection {
                target: svc("a-replication", "team-b"),
                port: 4040
            })
        );
        assert_eq!(
            connection("a.team-b.svc.cluster.local:4041").map(|c| c.target),
            Some(svc("a", "team-b"))
        );
        assert_eq!(
            connection("10.1.2.3:4040").map(|c| c.target),
            Some(Target::Ipv4("10.1.2.3".parse().unwrap()))
        );
        assert_eq!(
            connection("peer.example.com:443").map(|c| c.target),
            Some(Target::Host("peer.example.com".into()))
        );
        assert_eq!(
            connection("a.b.svc.example:1").map(|c| c.target),
            Some(Target::Host("a.b.svc.example".into()))
        );
        for bad in ["nope", "a:0", "a:70000", ":4040", "a:x"] {
            assert_eq!(connection(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidrs_are_made_canonical() {
        assert_eq!(canonical_cidr("10.1.2.3/8"), "10.0.0.0/8");
        assert_eq!(canonical_cidr("10.1.2.3/32"), "10.1.2.3/32");
        assert_eq!(canonical_cidr("10.1.2.3/0"), "0.0.0.0/0");
        assert_eq!(canonical_cidr("2001:db8::1/32"), "2001:db8::/32");
        assert_eq!(canonical_cidr("junk"), "junk");
    }

    #[test]
    fn the_policy_opens_the_listed_paths_only() {
        let bp = crate::testing::sample();
        let r = replication(
            "orders",
            json!({
                "connections": ["orders-replication.team-b.svc:4040", "10.0.0.9:4040", "peer.example.com:443", "x.team-b.svc:4041"],
                "acceptFrom": [{"namespace": "team-c"}, {"cidr": "203.0.113.0/24"}],
            }),
        );
        let np = policy(&r, &bp, &exposure(&r, &bp)).unwrap();
        let spec = np.spec.unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            v["ingress"],
            json!([{
                "from": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}},
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-c"}}},
                    {"ipBlock": {"cidr": "203.0.113.0/24"}},
                ],
                "ports": [{"port": 4040, "protocol": "TCP"}],
            }])
        );
        assert_eq!(
            v["egress"],
            json!([
                {"ports": [{"port": 443, "protocol": "TCP"}]},
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}],
                 "ports": [{"port": 4040, "protocol": "TCP"}, {"port": 4041, "protocol": "TCP"}]},
                {"to": [{"ipBlock": {"cidr": "10.0.0.9/32"}}], "ports": [{"port": 4040, "protocol": "TCP"}]},
            ])
        );
        assert_eq!(
            spec.pod_selector.unwrap().match_labels,
            Some(labels::selector(&bp, Component::Subscription))
        );
    }

    #[test]
    fn external_endpoints_accept_from_anywhere_unless_cidrs_are_listed() {
        let mut bp = crate::testing::sample();
        bp.spec.network.expose = serde_json::from_value(json!({"loadBalancer": {}})).unwrap();
        let r = replication("orders", json!({"acceptFrom": [{"namespace": "team-c"}]}));
        let np = policy(&r, &bp, &exposure(&r, &bp)).unwrap();
        let ingress = np.spec.unwrap().ingress.unwrap();
        assert_eq!(ingress.len(), 1);
        assert_eq!(ingress[0].from, None);
        let r = replication(
            "orders",
            json!({"acceptFrom": [{"cidr": "198.51.100.0/24"}]}),
        );
        let np = policy(&r, &bp, &exposure(&r, &bp)).unwrap();
        let from = np.spec.unwrap().ingress.unwrap()[0].from.clone().unwrap();
        assert_eq!(from, [cidr_peer("198.51.100.0/24")]);
        // Inside the cluster and nobody listed: nothing comes in.
        let bp = crate::testing::sample();
        let r = replication("orders", json!({}));
        let spec = policy(&r, &bp, &exposure(&r, &bp)).unwrap().spec.unwrap();
        assert_eq!(spec.ingress, Some(vec![]));
        assert_eq!(spec.egress, Some(vec![]));
    }

    fn address() -> impl Strategy<Value = String> {
        prop_oneof![
            ("[a-z]{1,8}", "[a-z]{1,8}", 1i32..65536, any::<bool>()).prop_map(|(s, n, p, long)| {
                format!(
                    "{s}.{n}.svc{}:{p}",
                    if long { ".cluster.local" } else { "" }
                )
            }),
            (any::<[u8; 4]>(), 1i32..65536)
                .prop_map(|(ip, p)| format!("{}:{p}", Ipv4Addr::from(ip))),
            ("[a-z]{1,8}(\\.[a-z]{1,8}){0,2}", 1i32..65536).prop_map(|(h, p)| format!("{h}:{p}")),
        ]
    }

    fn peer() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            "[a-z]{1,10}".prop_map(|n| json!({"namespace": n})),
            (any::<[u8; 4]>(), 8u8..33)
                .prop_map(|(ip, m)| json!({"cidr": format!("{}/{m}", Ipv4Addr::from(ip))})),
        ]
    }

    proptest! {
        /// For any spec: ingress only on 4040 TCP, egress only on the connections' ports;
        /// the policy selects only the subscription pods; its name is a DNS label; and it
        /// does not depend on the order of the lists.
        #[test]
        fn only_the_peer_port_in_and_connection_ports_out(
            name in "[a-z]([-a-z0-9]{0,38}[a-z0-9])?",
            conns in proptest::collection::btree_set(address(), 0..8),
            accept in proptest::collection::vec(peer(), 0..6),
            expose in prop_oneof![Just(json!(null)), Just(json!({"loadBalancer": {}})), Just(json!({"nodePort": {}})), Just(json!({"none": {}}))],
        ) {
            let mut bp = crate::testing::sample();
            bp.spec.network.expose = serde_json::from_value(expose).unwrap();
            let conns: Vec<String> = conns.into_iter().collect();
            let r = replication(&name, json!({"connections": conns, "acceptFrom": accept}));
            let np = policy(&r, &bp, &exposure(&r, &bp)).unwrap();
            let np_name = np.name_any();
            prop_assert!(np_name.len() <= 63 && np_name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            let spec = np.spec.clone().unwrap();
            prop_assert_eq!(spec.pod_selector.unwrap().match_labels, Some(labels::selector(&bp, Component::Subscription)));
            for rule in spec.ingress.unwrap() {
                prop_assert_eq!(rule.ports, Some(vec![tcp(PEER_PORT)]));
            }
            let wanted: BTreeSet<i32> = conns.iter().filter_map(|c| connection(c)).map(|c| c.port).collect();
            let mut opened = BTreeSet::new();
            for rule in spec.egress.unwrap() {
                for p in rule.ports.unwrap() {
                    prop_assert_eq!(p.protocol.as_deref(), Some("TCP"));
                    let IntOrString::Int(n) = p.port.unwrap() else { panic!("numbered ports") };
                    prop_assert!(p.end_port.is_none());
                    opened.insert(n);
                }
            }
            prop_assert_eq!(opened, wanted);
            let mut shuffled = r.clone();
            shuffled.spec.connections.reverse();
            shuffled.spec.accept_from.reverse();
            prop_assert_eq!(policy(&shuffled, &bp, &exposure(&shuffled, &bp)), Some(np));
        }
    }
}
