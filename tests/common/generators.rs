//! Generators of valid BigPeers (proptest), shared by the build layer's property tests and the
//! end-to-end admission property test.

#![allow(dead_code)]

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;
use proptest::prelude::*;

use smbp_operator::api::*;

pub fn dns_label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([-a-z0-9]{{0,{}}}[a-z0-9])?", max - 2)).unwrap()
}

pub fn store_spec() -> impl Strategy<Value = StoreSpec> {
    (1..9i32)
        .prop_flat_map(|replicas| (Just(replicas), 1..=replicas))
        .prop_flat_map(|(replicas, rf)| {
            (
                Just(replicas),
                Just(rf),
                1..=rf,
                1..4096i32,
                any::<bool>(),
                prop::sample::select(vec!["1Gi", "50Gi", "1Ti", "500M"]),
                prop::option::of(dns_label(20)),
            )
        })
        .prop_map(
            |(replicas, rf, min_rf, partitions, ipc_lock, size, class)| StoreSpec {
                replicas,
                partitions,
                replication_factor: rf,
                minimum_replication_factor: min_rf,
                ipc_lock,
                storage: StorageSpec {
                    size: size.into(),
                    storage_class_name: class,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
}

pub fn transaction_log() -> impl Strategy<Value = TransactionLogSpec> {
    prop_oneof![
        dns_label(30).prop_map(|k| TransactionLogSpec {
            strimzi: Some(StrimziSpec {
                kafka_ref: KafkaRef { name: k },
                listener: "tls".into(),
                topic_retention: RetentionPolicy::Retain
            }),
            external: None,
            topic: TopicSpec::default(),
        }),
        (
            prop::collection::vec("[a-z]{1,10}:9[0-9]{3}", 1..4),
            any::<bool>()
        )
            .prop_map(|(servers, sasl)| TransactionLogSpec {
                strimzi: None,
                external: Some(ExternalKafkaSpec {
                    bootstrap_servers: servers,
                    tls: Some(KafkaTlsSpec {
                        ca_secret_ref: SecretKeyRef {
                            name: "kafka-ca".into(),
                            key: "ca.crt".into()
                        }
                    }),
                    sasl: sasl.then(|| SaslSpec {
                        mechanism: SaslMechanism::ScramSha512,
                        secret_ref: LocalObjectReference {
                            name: "kafka-creds".into()
                        }
                    }),
                    mtls: (!sasl).then(|| LocalObjectReference {
                        name: "kafka-client".into()
                    }),
                }),
                topic: TopicSpec::default(),
            }),
    ]
}

pub fn keys() -> impl Strategy<Value = KeysSpec> {
    prop_oneof![
        Just(KeysSpec {
            cert_manager: Some(CertManagerKeys {
                issuer_ref: IssuerRef {
                    name: "ca".into(),
                    kind: IssuerKind::ClusterIssuer
                }
            }),
            secrets: None
        }),
        Just(KeysSpec {
            cert_manager: None,
            secrets: Some(KeySecrets {
                ca: LocalObjectReference {
                    name: "k-ca".into()
                },
                in_band: LocalObjectReference {
                    name: "k-in".into()
                },
                jwt: LocalObjectReference {
                    name: "k-jwt".into()
                },
            }),
        }),
    ]
}

/// Test range of `extraIngress`/`extraEgress` ports: clear of every Big Peer port.
pub const EXTRA_PORTS: std::ops::Range<i32> = 7000..8000;

pub fn selector(pairs: Vec<(String, String)>) -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: Some(pairs.into_iter().collect()),
        ..Default::default()
    })
}

/// A peer: a namespace, a namespace and pods in it, or an IPv4 block.
pub fn peer() -> impl Strategy<Value = NetworkPolicyPeer> {
    prop_oneof![
        dns_label(20).prop_map(|ns| NetworkPolicyPeer {
            namespace_selector: selector(vec![("kubernetes.io/metadata.name".into(), ns)]),
            ..Default::default()
        }),
        (dns_label(20), dns_label(10)).prop_map(|(ns, app)| NetworkPolicyPeer {
            namespace_selector: selector(vec![("kubernetes.io/metadata.name".into(), ns)]),
            pod_selector: selector(vec![("app".into(), app)]),
            ..Default::default()
        }),
        (1..=223u8, 0..=255u8).prop_map(|(a, b)| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: format!("{a}.{b}.0.0/16"),
                except: None,
            }),
            ..Default::default()
        }),
    ]
}

pub fn peers() -> impl Strategy<Value = Vec<NetworkPolicyPeer>> {
    prop::collection::vec(peer(), 0..3)
}

pub fn extra_port() -> impl Strategy<Value = Option<Vec<NetworkPolicyPort>>> {
    EXTRA_PORTS.prop_map(|p| {
        Some(vec![NetworkPolicyPort {
            port: Some(IntOrString::Int(p)),
            ..Default::default()
        }])
    })
}

pub fn policies_spec() -> impl Strategy<Value = NetworkPoliciesSpec> {
    (
        prop::bool::weighted(0.8),
        (peers(), peers(), peers(), peers(), peers()),
        prop::collection::vec(
            (prop::option::of(peers()), extra_port())
                .prop_map(|(from, ports)| NetworkPolicyIngressRule { from, ports }),
            0..2,
        ),
        prop::collection::vec(
            (prop::option::of(peers()), extra_port())
                .prop_map(|(to, ports)| NetworkPolicyEgressRule { to, ports }),
            0..2,
        ),
    )
        .prop_map(
            |(
                enabled,
                (ingress_from, metrics_from, dns_to, kafka_to, auth_webhook_to),
                extra_ingress,
                extra_egress,
            )| {
                NetworkPoliciesSpec {
                    enabled,
                    ingress_from,
                    metrics_from,
                    dns_to,
                    kafka_to,
                    auth_webhook_to,
                    extra_ingress,
                    extra_egress,
                }
            },
        )
}

pub fn network() -> impl Strategy<Value = NetworkSpec> {
    let expose = prop_oneof![
        Just(None),
        Just(Some(ExposeSpec {
            none: Some(NoExposure {}),
            ..Default::default()
        })),
        Just(Some(ExposeSpec {
            load_balancer: Some(LoadBalancerExposure::default()),
            ..Default::default()
        })),
        Just(Some(ExposeSpec {
            node_port: Some(NodePortExposure::default()),
            ..Default::default()
        })),
        Just(Some(ExposeSpec {
            ingress: Some(IngressExposure::default()),
            ..Default::default()
        })),
    ];
    (expose, policies_spec()).prop_map(|(expose, policies)| NetworkSpec {
        hostname: Some("bigpeer.example.com".into()),
        expose,
        policies,
    })
}

prop_compose! {
    pub fn bigpeer()(
        name in dns_label(40),
        ns in dns_label(63),
        store in store_spec(),
        sub in 0..20i32,
        api in 0..20i32,
        tl in transaction_log(),
        keys in keys(),
        anonymous in any::<bool>(),
        webhook in any::<bool>(),
        version in "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        uid in "[0-9a-f]{8}",
        network in network(),
    ) -> BigPeer {
        let mut bp = BigPeer::new(&name, BigPeerSpec {
            version,
            image: ImageSpec::default(),
            store,
            subscription: ComponentSpec { replicas: sub, pod: PodOptions::default() },
            api: ComponentSpec { replicas: api, pod: PodOptions::default() },
            transaction_log: tl,
            auth: AuthSpec {
                keys,
                providers: ProvidersSpec {
                    anonymous: anonymous.then(|| AnonymousProvider { shared_token_secret_ref: SecretKeyRef { name: "anon".into(), key: "token".into() } }),
                    token_webhook: webhook.then(|| TokenWebhookProvider { url: "https://auth.example.com/ditto".into() }),
                },
            },
            rollout: RolloutSpec::default(),
            network,
            monitoring: MonitoringSpec::default(),
        });
        bp.metadata = ObjectMeta { name: Some(name), namespace: Some(ns), uid: Some(uid), ..Default::default() };
        bp
    }
}
