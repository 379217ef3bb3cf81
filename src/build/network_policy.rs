//! NetworkPolicies: one per component (`<bp>-store`, `<bp>-subscription`, `<bp>-api`), each
//! selecting exactly that component's pods and denying every connection in or out that is
//! not listed below (policy types Ingress and Egress).
//!
//! Ingress:
//! - the Big Peer to Big Peer port (`peer`: store, subscription) from pods of the same BigPeer;
//! - sync (subscription) and HTTP (api) from `ingressFrom` and from the MongoDB connectors of
//!   this BigPeer's data bridges (their pods, in its namespace); from anywhere when
//!   `ingressFrom` is empty or when the exposure mode is loadBalancer or nodePort, whose clients
//!   arrive through the nodes with addresses no selector can name;
//! - metrics (every component) from `metricsFrom`; from anywhere when it is empty;
//! - `extraIngress`.
//!
//! Nothing is opened for the operator: it talks only to the API server, never to a Big Peer
//! pod (observe, apply and status all go through the API server).
//!
//! Egress:
//! - DNS (53 and 5353, UDP and TCP; 5353 is what OpenShift's DNS pods listen on) to `dnsTo`;
//! - the `peer` port of the same BigPeer's pods;
//! - the Kafka brokers and the token webhook, for the components that use them ([`needs`]);
//! - `extraEgress`.
//!
//! The pods mount no ServiceAccount token, so they need no route to the API server.
//! Ports of Big Peer's own containers are named (`peer`, `sync`, `http`, `metrics`, as in
//! `build::pod`), so a policy follows the containers; ports of other services are numbers.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{BuildInputs, bridge, labels, names};
use crate::api::{BigPeer, Component, ExposureMode, NetworkPoliciesSpec};

/// Strimzi's label naming the Kafka cluster of a pod.
pub const STRIMZI_CLUSTER: &str = "strimzi.io/cluster";
/// Strimzi's label naming the kind of resource a pod belongs to (`Kafka` for brokers).
pub const STRIMZI_KIND: &str = "strimzi.io/kind";
/// DNS ports: 53, and 5353 where the DNS pods listen unprivileged (OpenShift).
pub const DNS_PORTS: [i32; 2] = [53, 5353];

/// What a component connects to outside its BigPeer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// The transaction log's Kafka brokers.
    pub kafka: bool,
    /// The token webhook, when one is configured.
    pub auth_webhook: bool,
}

/// Which components reach Kafka and the token webhook.
///
/// Kafka: every component. `build::config` renders one configuration for all of them, with
/// the brokers, the topic and the client credentials, and every pod mounts the Kafka
/// Secrets; the one KafkaUser may read and write the topic. Writes enter through the
/// subscription and api servers and are ordered by the log, which the store consumes.
///
/// Token webhook: the subscription servers only. They serve `/_ditto/auth`, where a small
/// peer's token is checked; the api servers verify the JWTs issued there with the JWT
/// certificate they mount, and the store serves no client at all.
pub fn needs(component: Component) -> Needs {
    Needs {
        kafka: true,
        auth_webhook: component == Component::Subscription,
    }
}

/// The NetworkPolicies of a BigPeer: one per component, none when `policies.enabled` is false.
pub fn policies(bp: &BigPeer, inputs: &BuildInputs) -> Vec<NetworkPolicy> {
    if !bp.spec.network.policies.enabled {
        return vec![];
    }
    Component::ALL
        .into_iter()
        .map(|c| policy(bp, c, inputs))
        .collect()
}

/// The NetworkPolicy of one component.
pub fn policy(bp: &BigPeer, component: Component, inputs: &BuildInputs) -> NetworkPolicy {
    NetworkPolicy {
        metadata: labels::meta(
            bp,
            names::network_policy(&bp.name_any(), component),
            component.as_str(),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(labels::selector(bp, component)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress(bp, component)),
            egress: Some(egress(bp, component, inputs)),
        }),
    }
}

fn ingress(bp: &BigPeer, component: Component) -> Vec<NetworkPolicyIngressRule> {
    let p = &bp.spec.network.policies;
    let rule = |from: Option<Vec<NetworkPolicyPeer>>, port: &str| NetworkPolicyIngressRule {
        from,
        ports: Some(vec![named(port)]),
    };
    let mut rules = vec![];
    if matches!(component, Component::Store | Component::Subscription) {
        rules.push(rule(Some(vec![own_pods(bp)]), "peer"));
    }
    match component {
        Component::Subscription => rules.push(rule(client_sources(bp), "sync")),
        Component::Api => rules.push(rule(client_sources(bp), "http")),
        Component::Store => {}
    }
    rules.push(rule(any_if_empty(&p.metrics_from), "metrics"));
    rules.extend(p.extra_ingress.iter().cloned());
    rules
}

fn egress(
    bp: &BigPeer,
    component: Component,
    inputs: &BuildInputs,
) -> Vec<NetworkPolicyEgressRule> {
    let p = &bp.spec.network.policies;
    let needs = needs(component);
    let mut rules = vec![
        NetworkPolicyEgressRule {
            to: any_if_empty(&p.dns_to),
            ports: Some(
                DNS_PORTS
                    .into_iter()
                    .flat_map(|port| [numbered(port, "UDP"), numbered(port, "TCP")])
                    .collect(),
            ),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![own_pods(bp)]),
            ports: Some(vec![named("peer")]),
        },
    ];
    if needs.kafka {
        rules.extend(kafka(bp, inputs, p));
    }
    if needs.auth_webhook
        && let Some(webhook) = &bp.spec.auth.providers.token_webhook
    {
        rules.push(NetworkPolicyEgressRule {
            to: any_if_empty(&p.auth_webhook_to),
            ports: Some(vec![numbered(url_port(&webhook.url), "TCP")]),
        });
    }
    rules.extend(p.extra_egress.iter().cloned());
    rules
}

/// Egress to the brokers. Strimzi: the Kafka's pods (by label, in this namespace) plus
/// `kafkaTo`, on the ports of the bootstrap addresses once known (all ports before).
/// External: `kafkaTo` (anywhere when empty) on the bootstrap servers' ports.
fn kafka(
    bp: &BigPeer,
    inputs: &BuildInputs,
    p: &NetworkPoliciesSpec,
) -> Option<NetworkPolicyEgressRule> {
    let tl = &bp.spec.transaction_log;
    if let Some(strimzi) = &tl.strimzi {
        let brokers = NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(
                    [
                        (STRIMZI_CLUSTER.to_string(), strimzi.kafka_ref.name.clone()),
                        (STRIMZI_KIND.to_string(), "Kafka".to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut to = vec![brokers];
        to.extend(p.kafka_to.iter().cloned());
        let ports = tcp_ports(&inputs.kafka_bootstrap);
        return Some(NetworkPolicyEgressRule {
            to: Some(to),
            ports: (!ports.is_empty()).then_some(ports),
        });
    }
    let ext = tl.external.as_ref()?;
    let ports = tcp_ports(&ext.bootstrap_servers);
    (!ports.is_empty()).then(|| NetworkPolicyEgressRule {
        to: any_if_empty(&p.kafka_to),
        ports: Some(ports),
    })
}

/// TCP ports of `host:port` addresses, sorted, without duplicates.
fn tcp_ports(addresses: &[String]) -> Vec<NetworkPolicyPort> {
    let mut ports: Vec<i32> = addresses
        .iter()
        .filter_map(|a| a.rsplit_once(':')?.1.parse().ok())
        .filter(|p| (1..=65535).contains(p))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports.into_iter().map(|p| numbered(p, "TCP")).collect()
}

/// Port of a URL: the explicit one, else 80 for http and 443 for anything else.
pub fn url_port(url: &str) -> i32 {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':')),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    port.and_then(|p| p.parse().ok())
        .filter(|p| (1..=65535).contains(p))
        .unwrap_or(if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            443
        })
}

/// Where client traffic to sync and HTTP may come from; `None` is anywhere. A restricted list
/// also admits the BigPeer's own MongoDB connectors, which call its api and subscription
/// servers.
fn client_sources(bp: &BigPeer) -> Option<Vec<NetworkPolicyPeer>> {
    let network = &bp.spec.network;
    match network.mode() {
        ExposureMode::LoadBalancer | ExposureMode::NodePort => None,
        _ => any_if_empty(&network.policies.ingress_from).map(|mut peers| {
            peers.push(NetworkPolicyPeer {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(bridge::connector_pods_of(&bp.name_any())),
                    ..Default::default()
                }),
                ..Default::default()
            });
            peers
        }),
    }
}

/// Every pod of this BigPeer (a pod selector alone: this namespace only).
fn own_pods(bp: &BigPeer) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels::instance(bp)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `None` (any peer) for an empty list, else the list.
fn any_if_empty(peers: &[NetworkPolicyPeer]) -> Option<Vec<NetworkPolicyPeer>> {
    (!peers.is_empty()).then(|| peers.to_vec())
}

fn named(name: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn numbered(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample, sample_inputs};

    #[test]
    fn url_port_defaults_by_scheme_and_reads_explicit_ports() {
        assert_eq!(url_port("https://auth.example.com/ditto"), 443);
        assert_eq!(url_port("https://auth.example.com:8443/ditto?x=1"), 8443);
        assert_eq!(url_port("https://auth.example.com?next=a:1"), 443);
        assert_eq!(url_port("https://[2001:db8::1]:9443/"), 9443);
        assert_eq!(url_port("https://[2001:db8::1]/"), 443);
        assert_eq!(url_port("http://auth.internal/"), 80);
        assert_eq!(url_port("https://auth.example.com:0/"), 443);
    }

    #[test]
    fn bootstrap_ports_are_deduplicated_and_sorted() {
        let ports = tcp_ports(&[
            "b:9094".into(),
            "a:9093".into(),
            "c:9093".into(),
            "broken".into(),
        ]);
        let numbers: Vec<_> = ports.iter().map(|p| p.port.clone().unwrap()).collect();
        assert_eq!(numbers, [IntOrString::Int(9093), IntOrString::Int(9094)]);
    }

    #[test]
    fn one_policy_per_component_named_after_it_selecting_its_pods() {
        let bp = sample();
        let nps = policies(&bp, &sample_inputs(&bp));
        let names: Vec<_> = nps.iter().map(|n| n.name_any()).collect();
        assert_eq!(names, ["prod-store", "prod-subscription", "prod-api"]);
        for (np, c) in nps.iter().zip(Component::ALL) {
            let spec = np.spec.as_ref().unwrap();
            assert_eq!(
                spec.pod_selector.as_ref().unwrap().match_labels,
                Some(labels::selector(&bp, c))
            );
            assert_eq!(
                spec.policy_types.as_deref(),
                Some(&["Ingress".to_string(), "Egress".to_string()][..])
            );
        }
    }

    #[test]
    fn strimzi_ports_wait_for_the_bootstrap_address() {
        let bp = sample();
        let mut inputs = sample_inputs(&bp);
        inputs.kafka_bootstrap = vec![];
        let rule = kafka(&bp, &inputs, &bp.spec.network.policies).unwrap();
        assert!(rule.ports.is_none(), "every port of the broker pods");
        inputs.kafka_bootstrap = vec!["events-kafka-bootstrap.bigpeer.svc:9093".into()];
        let rule = kafka(&bp, &inputs, &bp.spec.network.policies).unwrap();
        assert_eq!(rule.ports.unwrap(), [numbered(9093, "TCP")]);
    }

    #[test]
    fn only_the_subscription_servers_call_the_webhook() {
        assert!(needs(Component::Subscription).auth_webhook);
        assert!(!needs(Component::Api).auth_webhook);
        assert!(!needs(Component::Store).auth_webhook);
        assert!(Component::ALL.into_iter().all(|c| needs(c).kafka));
    }
}
