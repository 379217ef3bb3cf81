//! The generated NetworkPolicies, proven with the evaluator: a table of connections over
//! several spec variants, each expected open or closed.
//!
//! The world: the BigPeer `prod` (namespace `bigpeer`, pods made from its own workload
//! templates), a second BigPeer `rival` in the same namespace, a pod wearing prod's labels in
//! another namespace, an unrelated pod next to prod, an NGINX ingress controller, Prometheus,
//! cluster DNS, Strimzi brokers of two Kafka clusters, and addresses outside the cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use smbp_operator::api::*;
use smbp_operator::build::{BuildInputs, DesiredObject, desired};
use smbp_operator::testing::{sample, sample_inputs};

use crate::netpol_eval::{Cluster, Endpoint, Pod, labels};

const NS: &str = "bigpeer";
const INTERNET: &str = "93.184.216.34";
const WEBHOOK: &str = "203.0.113.10";
const EXT_KAFKA: &str = "198.51.100.7";
const CLIENT: &str = "192.0.2.50";

/// The workload templates among desired objects, by component label.
pub fn templates_by_component(objects: &[DesiredObject]) -> BTreeMap<String, PodTemplateSpec> {
    objects
        .iter()
        .filter_map(|o| {
            let t = match o.resource.kind.as_str() {
                "StatefulSet" => {
                    serde_json::from_value::<StatefulSet>(o.body.clone())
                        .ok()?
                        .spec?
                        .template
                }
                "Deployment" => {
                    serde_json::from_value::<Deployment>(o.body.clone())
                        .ok()?
                        .spec?
                        .template
                }
                _ => return None,
            };
            let c = t.metadata.as_ref()?.labels.as_ref()?["app.kubernetes.io/component"].clone();
            Some((c, t))
        })
        .collect()
}

/// The NetworkPolicies among desired objects, as the API server receives them.
pub fn network_policies(objects: &[DesiredObject]) -> Vec<NetworkPolicy> {
    objects
        .iter()
        .filter(|o| o.resource.kind == "NetworkPolicy")
        .map(|o| serde_json::from_value(o.body.clone()).expect("a NetworkPolicy"))
        .collect()
}

fn ns_peer(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(match_labels(&[("kubernetes.io/metadata.name", name)])),
        ..Default::default()
    }
}

fn ip_peer(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: None,
        }),
        ..Default::default()
    }
}

fn match_labels(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels(pairs)),
        ..Default::default()
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        end_port: None,
    }
}

/// Spec variants of the sample (Strimzi Kafka `events`, token webhook on 443, no exposure).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    Default,
    IngressNginx,
    LoadBalancer,
    MetricsFromPrometheus,
    ExternalKafkaTo,
    ExternalKafkaAnywhere,
    WebhookNarrowed,
    NoWebhook,
    Extras,
    DnsNarrowed,
    Disabled,
}

fn variant(v: Variant) -> (BigPeer, BuildInputs) {
    let mut bp = sample();
    let mut inputs = sample_inputs(&bp);
    inputs.kafka_bootstrap = vec![format!("events-kafka-bootstrap.{NS}.svc:9093")];
    let p = &mut bp.spec.network.policies;
    let nginx = NetworkPolicyPeer {
        namespace_selector: Some(match_labels(&[(
            "kubernetes.io/metadata.name",
            "ingress-nginx",
        )])),
        pod_selector: Some(match_labels(&[("app.kubernetes.io/name", "ingress-nginx")])),
        ..Default::default()
    };
    match v {
        Variant::Default => {}
        Variant::IngressNginx => {
            bp.spec.network.hostname = Some("bigpeer.example.com".into());
            bp.spec.network.expose = Some(ExposeSpec {
                ingress: Some(IngressExposure::default()),
                ..Default::default()
            });
            bp.spec.network.policies.ingress_from = vec![nginx];
        }
        Variant::LoadBalancer => {
            bp.spec.network.expose = Some(ExposeSpec {
                load_balancer: Some(LoadBalancerExposure::default()),
                ..Default::default()
            });
            bp.spec.network.policies.ingress_from = vec![nginx];
        }
        Variant::MetricsFromPrometheus => {
            p.metrics_from = vec![NetworkPolicyPeer {
                namespace_selector: Some(match_labels(&[(
                    "kubernetes.io/metadata.name",
                    "monitoring",
                )])),
                pod_selector: Some(match_labels(&[("app.kubernetes.io/name", "prometheus")])),
                ..Default::default()
            }]
        }
        Variant::ExternalKafkaTo | Variant::ExternalKafkaAnywhere => {
            if v == Variant::ExternalKafkaTo {
                p.kafka_to = vec![ip_peer("198.51.100.0/24")];
            }
            bp.spec.transaction_log = TransactionLogSpec {
                strimzi: None,
                external: Some(ExternalKafkaSpec {
                    bootstrap_servers: vec!["kafka-1.example.net:9094".into()],
                    tls: None,
                    sasl: None,
                    mtls: None,
                }),
                topic: TopicSpec::default(),
            };
            inputs.kafka_bootstrap = vec!["kafka-1.example.net:9094".into()];
        }
        Variant::WebhookNarrowed => {
            p.auth_webhook_to = vec![ip_peer("203.0.113.0/24")];
            bp.spec.auth.providers.token_webhook = Some(TokenWebhookProvider {
                url: "https://auth.example.com:8443/ditto".into(),
            });
        }
        Variant::NoWebhook => bp.spec.auth.providers.token_webhook = None,
        Variant::Extras => {
            p.extra_ingress = vec![NetworkPolicyIngressRule {
                from: Some(vec![ns_peer("other")]),
                ports: Some(vec![tcp(7777)]),
            }];
            p.extra_egress = vec![NetworkPolicyEgressRule {
                to: Some(vec![ip_peer("93.184.216.34/32")]),
                ports: Some(vec![tcp(443)]),
            }];
        }
        Variant::DnsNarrowed => {
            p.dns_to = vec![NetworkPolicyPeer {
                namespace_selector: Some(match_labels(&[(
                    "kubernetes.io/metadata.name",
                    "kube-system",
                )])),
                pod_selector: Some(match_labels(&[("k8s-app", "kube-dns")])),
                ..Default::default()
            }]
        }
        Variant::Disabled => p.enabled = false,
    }
    (bp, inputs)
}

/// Endpoints by name, and the cluster with every policy the two BigPeers generate.
fn world(v: Variant) -> (Cluster, BTreeMap<&'static str, Endpoint>) {
    let (bp, inputs) = variant(v);
    let objects = desired(&bp, &inputs);
    let mut rival = bp.clone();
    rival.metadata.name = Some("rival".into());
    rival.metadata.uid = Some("u-2".into());
    let rival_objects = desired(&rival, &sample_inputs(&rival));

    let mut cluster = Cluster::default();
    for ns in [NS, "other", "ingress-nginx", "monitoring", "kube-system"] {
        cluster.namespace(ns, BTreeMap::new());
    }
    cluster.policies = network_policies(&objects);
    cluster.policies.extend(network_policies(&rival_objects));

    let ours = templates_by_component(&objects);
    let theirs = templates_by_component(&rival_objects);
    let mut eps = BTreeMap::new();
    let mut pod = |name: &'static str, p: Pod| {
        eps.insert(name, Endpoint::Pod(p));
    };
    pod(
        "store-0",
        Pod::from_template(NS, "10.244.0.10", &ours["store"]),
    );
    pod(
        "store-1",
        Pod::from_template(NS, "10.244.0.11", &ours["store"]),
    );
    pod(
        "subscription",
        Pod::from_template(NS, "10.244.0.12", &ours["subscription"]),
    );
    pod("api", Pod::from_template(NS, "10.244.0.13", &ours["api"]));
    pod(
        "rival-subscription",
        Pod::from_template(NS, "10.244.0.20", &theirs["subscription"]),
    );
    pod(
        "forged-store",
        Pod::from_template("other", "10.244.1.10", &ours["store"]),
    );
    pod(
        "random",
        Pod::new(NS, labels(&[("app", "random")]), "10.244.0.30", &[]),
    );
    pod(
        "nginx",
        Pod::new(
            "ingress-nginx",
            labels(&[("app.kubernetes.io/name", "ingress-nginx")]),
            "10.244.2.10",
            &[],
        ),
    );
    pod(
        "prometheus",
        Pod::new(
            "monitoring",
            labels(&[("app.kubernetes.io/name", "prometheus")]),
            "10.244.3.10",
            &[],
        ),
    );
    pod(
        "grafana",
        Pod::new(
            "monitoring",
            labels(&[("app.kubernetes.io/name", "grafana")]),
            "10.244.3.11",
            &[],
        ),
    );
    pod(
        "kube-dns",
        Pod::new(
            "kube-system",
            labels(&[("k8s-app", "kube-dns")]),
            "10.244.4.10",
            &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
        ),
    );
    pod(
        "openshift-dns",
        Pod::new(
            "kube-system",
            labels(&[("k8s-app", "kube-dns")]),
            "10.244.4.11",
            &[("dns", 5353, "UDP"), ("dns-tcp", 5353, "TCP")],
        ),
    );
    let broker = |cluster: &str, ip: &str| {
        Pod::new(
            NS,
            labels(&[
                ("strimzi.io/cluster", cluster),
                ("strimzi.io/kind", "Kafka"),
                ("strimzi.io/name", &format!("{cluster}-kafka")),
            ]),
            ip,
            &[("tcp-replication", 9091, "TCP"), ("tcp-tls", 9093, "TCP")],
        )
    };
    pod("events-kafka", broker("events", "10.244.0.40"));
    pod("logs-kafka", broker("logs", "10.244.0.41"));
    for (name, ip) in [
        ("internet", INTERNET),
        ("webhook", WEBHOOK),
        ("ext-kafka", EXT_KAFKA),
        ("client", CLIENT),
    ] {
        eps.insert(name, Endpoint::external(ip));
    }
    (cluster, eps)
}

/// (variant, from, to, port, protocol, expected open, why)
type Case = (
    Variant,
    &'static str,
    &'static str,
    i32,
    &'static str,
    bool,
    &'static str,
);

const OPEN: bool = true;
const CLOSED: bool = false;

#[rustfmt::skip]
const CASES: &[Case] = {
    use Variant::*;
    &[
        // Big Peer to Big Peer.
        (Default, "store-0", "store-1", 4040, "TCP", OPEN, "store replicas"),
        (Default, "subscription", "store-0", 4040, "TCP", OPEN, "subscription reads the store"),
        (Default, "api", "store-0", 4040, "TCP", OPEN, "api reads the store"),
        (Default, "store-0", "subscription", 4040, "TCP", OPEN, "store to subscription peer port"),
        (Default, "api", "subscription", 4040, "TCP", OPEN, "api to subscription peer port"),
        (Default, "random", "store-0", 4040, "TCP", CLOSED, "unrelated pod next door"),
        (Default, "rival-subscription", "store-0", 4040, "TCP", CLOSED, "another BigPeer"),
        (Default, "forged-store", "store-0", 4040, "TCP", CLOSED, "our labels in another namespace"),
        (Default, "client", "store-0", 4040, "TCP", CLOSED, "outside the cluster"),
        (Default, "store-0", "rival-subscription", 4040, "TCP", CLOSED, "to another BigPeer"),
        (Default, "subscription", "api", 10080, "TCP", CLOSED, "components never call the HTTP API"),
        (Default, "store-0", "subscription", 8080, "TCP", CLOSED, "store never syncs as a client"),
        // Exposure.
        (Default, "nginx", "subscription", 8080, "TCP", OPEN, "sync from anywhere by default"),
        (Default, "client", "api", 10080, "TCP", OPEN, "HTTP from anywhere by default"),
        (Default, "client", "subscription", 8080, "UDP", CLOSED, "sync is TCP"),
        (Default, "nginx", "subscription", 9999, "TCP", CLOSED, "unlisted port"),
        (Default, "nginx", "store-0", 4040, "TCP", CLOSED, "ingress controller to peer port"),
        (IngressNginx, "nginx", "subscription", 8080, "TCP", OPEN, "controller to sync"),
        (IngressNginx, "nginx", "api", 10080, "TCP", OPEN, "controller to HTTP"),
        (IngressNginx, "random", "subscription", 8080, "TCP", CLOSED, "not the controller"),
        (IngressNginx, "client", "api", 10080, "TCP", CLOSED, "bypassing the controller"),
        (IngressNginx, "nginx", "subscription", 4040, "TCP", CLOSED, "controller to peer port"),
        (LoadBalancer, "client", "subscription", 8080, "TCP", OPEN, "load balancer clients"),
        (LoadBalancer, "random", "api", 10080, "TCP", OPEN, "ingressFrom ignored for nodes' traffic"),
        (LoadBalancer, "client", "store-0", 4040, "TCP", CLOSED, "the store stays private"),
        // Metrics.
        (Default, "prometheus", "store-0", 9100, "TCP", OPEN, "scrapes from anywhere by default"),
        (Default, "random", "api", 9100, "TCP", OPEN, "scrapes from anywhere by default"),
        (MetricsFromPrometheus, "prometheus", "store-0", 9100, "TCP", OPEN, "Prometheus"),
        (MetricsFromPrometheus, "prometheus", "subscription", 9100, "TCP", OPEN, "Prometheus"),
        (MetricsFromPrometheus, "prometheus", "api", 9100, "TCP", OPEN, "Prometheus"),
        (MetricsFromPrometheus, "grafana", "api", 9100, "TCP", CLOSED, "namespace AND pod selector"),
        (MetricsFromPrometheus, "nginx", "store-0", 9100, "TCP", CLOSED, "controller to metrics"),
        (MetricsFromPrometheus, "prometheus", "store-0", 4040, "TCP", CLOSED, "Prometheus to peer port"),
        (Default, "store-0", "api", 9100, "TCP", CLOSED, "components scrape nothing"),
        // DNS.
        (Default, "store-0", "kube-dns", 53, "UDP", OPEN, "DNS over UDP"),
        (Default, "api", "kube-dns", 53, "TCP", OPEN, "DNS over TCP"),
        (Default, "subscription", "openshift-dns", 5353, "UDP", OPEN, "OpenShift DNS port"),
        (Default, "store-0", "internet", 53, "UDP", OPEN, "any resolver when dnsTo is empty"),
        (DnsNarrowed, "store-0", "kube-dns", 53, "UDP", OPEN, "cluster DNS"),
        (DnsNarrowed, "store-0", "internet", 53, "UDP", CLOSED, "outside dnsTo"),
        // Kafka.
        (Default, "store-0", "events-kafka", 9093, "TCP", OPEN, "store consumes the log"),
        (Default, "subscription", "events-kafka", 9093, "TCP", OPEN, "subscription writes"),
        (Default, "api", "events-kafka", 9093, "TCP", OPEN, "api writes"),
        (Default, "store-0", "events-kafka", 9091, "TCP", CLOSED, "broker replication port"),
        (Default, "api", "logs-kafka", 9093, "TCP", CLOSED, "another Kafka cluster"),
        (Default, "store-0", "ext-kafka", 9093, "TCP", CLOSED, "Strimzi: nothing outside"),
        (ExternalKafkaTo, "store-0", "ext-kafka", 9094, "TCP", OPEN, "external brokers"),
        (ExternalKafkaTo, "api", "ext-kafka", 9094, "TCP", OPEN, "external brokers"),
        (ExternalKafkaTo, "store-0", "internet", 9094, "TCP", CLOSED, "outside kafkaTo"),
        (ExternalKafkaTo, "store-0", "ext-kafka", 443, "TCP", CLOSED, "not a bootstrap port"),
        (ExternalKafkaTo, "store-0", "events-kafka", 9093, "TCP", CLOSED, "Strimzi pods not in use"),
        (ExternalKafkaAnywhere, "store-0", "internet", 9094, "TCP", OPEN, "any host, bootstrap port"),
        (ExternalKafkaAnywhere, "store-0", "internet", 9093, "TCP", CLOSED, "other ports stay shut"),
        // Token webhook.
        (Default, "subscription", "webhook", 443, "TCP", OPEN, "auth is served by subscription"),
        (Default, "api", "webhook", 443, "TCP", CLOSED, "api checks JWTs locally"),
        (Default, "store-0", "webhook", 443, "TCP", CLOSED, "the store serves no client"),
        (Default, "store-0", "internet", 443, "TCP", CLOSED, "store to the internet"),
        (Default, "subscription", "internet", 80, "TCP", CLOSED, "no plain HTTP out"),
        (WebhookNarrowed, "subscription", "webhook", 8443, "TCP", OPEN, "explicit URL port"),
        (WebhookNarrowed, "subscription", "webhook", 443, "TCP", CLOSED, "only the URL's port"),
        (WebhookNarrowed, "subscription", "internet", 8443, "TCP", CLOSED, "outside authWebhookTo"),
        (NoWebhook, "subscription", "webhook", 443, "TCP", CLOSED, "no webhook configured"),
        // Extra rules.
        (Extras, "forged-store", "store-0", 7777, "TCP", OPEN, "extraIngress"),
        (Extras, "forged-store", "api", 7777, "TCP", OPEN, "extraIngress on every component"),
        (Extras, "forged-store", "store-0", 4040, "TCP", CLOSED, "extras open nothing else"),
        (Extras, "store-0", "internet", 443, "TCP", OPEN, "extraEgress"),
        (Extras, "store-0", "webhook", 443, "TCP", CLOSED, "extraEgress is exactly its peers"),
        // Policies off: nothing is fenced.
        (Disabled, "forged-store", "store-0", 4040, "TCP", OPEN, "no policy"),
        (Disabled, "store-0", "internet", 443, "TCP", OPEN, "no policy"),
    ]
};

#[test]
fn generated_policies_open_exactly_the_intended_paths() {
    let mut worlds = BTreeMap::new();
    let mut failures = vec![];
    for &(v, from, to, port, protocol, expected, why) in CASES {
        let (cluster, eps) = worlds.entry(v).or_insert_with(|| world(v));
        let got = cluster.allows(&eps[from], &eps[to], port, protocol);
        if got != expected {
            failures.push(format!(
                "{v:?}: {from} -> {to} {port}/{protocol}: expected {}, got {} ({why})",
                if expected { "open" } else { "closed" },
                if got { "open" } else { "closed" },
            ));
        }
    }
    assert!(CASES.len() >= 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_variant_both_ways() {
    use Variant::*;
    let all = [
        Default,
        IngressNginx,
        LoadBalancer,
        MetricsFromPrometheus,
        ExternalKafkaTo,
        ExternalKafkaAnywhere,
        WebhookNarrowed,
        NoWebhook,
        Extras,
        DnsNarrowed,
        Disabled,
    ];
    for v in all {
        let count = |open: bool| CASES.iter().filter(|c| c.0 == v && c.5 == open).count();
        // Without a webhook there is nothing new to open; without policies nothing is shut.
        assert!(v == NoWebhook || count(OPEN) > 0, "{v:?} has no open case");
        assert!(
            v == Disabled || count(CLOSED) > 0,
            "{v:?} has no closed case"
        );
    }
}

#[test]
fn disabled_generates_nothing_and_default_generates_three() {
    let (bp, inputs) = variant(Variant::Disabled);
    assert!(network_policies(&desired(&bp, &inputs)).is_empty());
    let (bp, inputs) = variant(Variant::Default);
    assert_eq!(network_policies(&desired(&bp, &inputs)).len(), 3);
}
