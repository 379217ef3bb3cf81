//! Property tests over the whole build layer: for any valid spec, every object is owned,
//! labelled, DNS-safe, deterministic and restricted, and no secret reaches a ConfigMap.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::ObjectMeta;
use proptest::prelude::*;

use super::*;
use crate::api::*;

fn dns_label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([-a-z0-9]{{0,{}}}[a-z0-9])?", max - 2)).unwrap()
}

fn store_spec() -> impl Strategy<Value = StoreSpec> {
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

fn transaction_log() -> impl Strategy<Value = TransactionLogSpec> {
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

fn keys() -> impl Strategy<Value = KeysSpec> {
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

prop_compose! {
    fn bigpeer()(
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
            network: NetworkSpec::default(),
            monitoring: MonitoringSpec::default(),
        });
        bp.metadata = ObjectMeta { name: Some(name), namespace: Some(ns), uid: Some(uid), ..Default::default() };
        bp
    }
}

fn inputs(bp: &BigPeer, openshift: bool) -> BuildInputs {
    BuildInputs {
        images: RelatedImages::default(),
        openshift,
        kafka_bootstrap: vec!["kafka:9093".into()],
        store_replicas: bp.spec.store.replicas,
        topology: None,
        workloads: true,
        cert_manager: true,
        strimzi: true,
        gateway_api: true,
        openshift_route: true,
        prometheus_operator: true,
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn templates(objects: &[DesiredObject]) -> Vec<PodTemplateSpec> {
    objects
        .iter()
        .filter_map(|o| match o.resource.kind.as_str() {
            "StatefulSet" => serde_json::from_value::<StatefulSet>(o.body.clone())
                .ok()?
                .spec
                .map(|s| s.template),
            "Deployment" => serde_json::from_value::<Deployment>(o.body.clone())
                .ok()?
                .spec
                .map(|s| s.template),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_object_is_owned_and_labelled(bp in bigpeer(), openshift in any::<bool>()) {
        let objects = desired(&bp, &inputs(&bp, openshift));
        for o in &objects {
            let refs = o.body["metadata"]["ownerReferences"].as_array().expect("owner references");
            prop_assert_eq!(refs.len(), 1, "{}", o.key());
            prop_assert_eq!(refs[0]["uid"].as_str(), bp.metadata.uid.as_deref());
            prop_assert_eq!(refs[0]["controller"].as_bool(), Some(true));
            prop_assert_eq!(refs[0]["kind"].as_str(), Some("BigPeer"));
            let l = &o.body["metadata"]["labels"];
            for key in ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"] {
                prop_assert!(l[key].is_string(), "{} lacks {}", o.key(), key);
            }
            prop_assert_eq!(o.body["metadata"]["namespace"].as_str(), bp.metadata.namespace.as_deref());
        }
    }

    #[test]
    fn names_fit_dns_limits(bp in bigpeer()) {
        let objects = desired(&bp, &inputs(&bp, false));
        for o in &objects {
            prop_assert!(is_dns_label(&o.name), "{} is not a DNS label", o.name);
            if o.resource.kind == "StatefulSet" {
                // Pod names (<sts>-<ordinal>) and the revision label (<sts>-<10 char hash>).
                prop_assert!(o.name.len() + 11 <= 63, "{} leaves no room for pod revisions", o.name);
            }
        }
    }

    #[test]
    fn build_is_deterministic(bp in bigpeer()) {
        let i = inputs(&bp, false);
        prop_assert_eq!(desired(&bp, &i), desired(&bp, &i));
    }

    #[test]
    fn pods_are_always_restricted(bp in bigpeer(), openshift in any::<bool>()) {
        let objects = desired(&bp, &inputs(&bp, openshift));
        let ts = templates(&objects);
        prop_assert_eq!(ts.len(), 3);
        for t in ts {
            let spec = t.spec.unwrap();
            let psc = spec.security_context.unwrap();
            prop_assert_eq!(psc.run_as_non_root, Some(true));
            prop_assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
            if openshift {
                prop_assert!(psc.run_as_user.is_none() && psc.fs_group.is_none(), "fixed IDs on OpenShift");
            }
            prop_assert!(spec.host_network.is_none() && spec.host_pid.is_none() && spec.host_ipc.is_none());
            for v in spec.volumes.unwrap() {
                prop_assert!(v.host_path.is_none());
            }
            for c in spec.containers {
                let sc = c.security_context.unwrap();
                prop_assert_eq!(sc.allow_privilege_escalation, Some(false));
                prop_assert_eq!(sc.read_only_root_filesystem, Some(true));
                prop_assert_eq!(sc.run_as_non_root, Some(true));
                let caps = sc.capabilities.unwrap();
                prop_assert_eq!(caps.drop, Some(vec!["ALL".to_string()]));
                let added = caps.add.unwrap_or_default();
                prop_assert!(added.is_empty() || (bp.spec.store.ipc_lock && added == vec!["IPC_LOCK".to_string()]));
            }
        }
    }

    #[test]
    fn config_holds_paths_not_secrets(bp in bigpeer()) {
        let objects = desired(&bp, &inputs(&bp, false));
        let cm: ConfigMap = serde_json::from_value(objects.iter().find(|o| o.resource.kind == "ConfigMap").unwrap().body.clone()).unwrap();
        let data = cm.data.unwrap();
        let parsed: serde_yaml::Value = serde_yaml::from_str(&data[config::CONFIG_FILE]).unwrap();
        fn walk(v: &serde_yaml::Value, path: &str, out: &mut Vec<String>) {
            match v {
                serde_yaml::Value::Mapping(m) => for (k, v) in m { walk(v, &format!("{path}.{}", k.as_str().unwrap_or("")), out) },
                serde_yaml::Value::Sequence(s) => for v in s { walk(v, path, out) },
                _ => out.push(path.to_string()),
            }
        }
        let mut leaves = vec![];
        walk(&parsed, "", &mut leaves);
        for leaf in leaves {
            let last = leaf.rsplit('.').next().unwrap().to_ascii_lowercase();
            prop_assert!(!["password", "token", "secret", "key", "privatekey"].contains(&last.as_str()), "secret-like field {}", leaf);
        }
        prop_assert!(cm.binary_data.is_none());
    }

    #[test]
    fn config_change_changes_the_pod_hash(bp in bigpeer()) {
        let i = inputs(&bp, false);
        let mut other = bp.clone();
        other.spec.store.partitions = if bp.spec.store.partitions == 1 { 2 } else { 1 };
        let h = |b: &BigPeer| templates(&desired(b, &i))[0].metadata.as_ref().unwrap().annotations.as_ref().unwrap()[config::HASH_ANNOTATION].clone();
        prop_assert_ne!(h(&bp), h(&other));
    }

    #[test]
    fn scaling_does_not_change_the_pod_template(bp in bigpeer()) {
        let mut i = inputs(&bp, false);
        let before = templates(&desired(&bp, &i));
        i.store_replicas += 1;
        let mut other = bp.clone();
        other.spec.subscription.replicas += 1;
        prop_assert_eq!(before, templates(&desired(&other, &i)));
    }
}

#[test]
fn operator_version_never_reaches_pod_templates() {
    let bp = sample();
    let objects = desired(&bp, &inputs(&bp, false));
    let text = serde_json::to_string(&templates(&objects)).unwrap();
    assert!(
        !text.contains(env!("CARGO_PKG_VERSION")) || bp.spec.version == env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn workloads_held_back_until_prerequisites() {
    let bp = sample();
    let mut i = inputs(&bp, false);
    i.workloads = false;
    let kinds: Vec<String> = desired(&bp, &i)
        .iter()
        .map(|o| o.resource.kind.clone())
        .collect();
    assert!(
        !kinds.contains(&"StatefulSet".to_string()) && !kinds.contains(&"Deployment".to_string())
    );
    assert!(kinds.contains(&"ConfigMap".to_string()));
}

#[test]
fn missing_integrations_build_no_third_party_objects() {
    let bp = sample();
    let mut i = inputs(&bp, false);
    i.cert_manager = false;
    i.strimzi = false;
    assert!(desired(&bp, &i).iter().all(
        |o| !o.resource.group.contains("strimzi") && !o.resource.group.contains("cert-manager")
    ));
}

#[test]
fn kafka_user_acls_cover_only_its_topic() {
    let bp = sample();
    let objects = desired(&bp, &inputs(&bp, false));
    let user = objects
        .iter()
        .find(|o| o.resource.kind == "KafkaUser")
        .unwrap();
    let acls = user.body["spec"]["authorization"]["acls"]
        .as_array()
        .unwrap();
    let topics: Vec<&serde_json::Value> = acls
        .iter()
        .filter(|a| a["resource"]["type"] == "topic")
        .collect();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0]["resource"]["name"], "prod-bigpeer-transactions");
    assert_eq!(topics[0]["resource"]["patternType"], "literal");
    let topic = objects
        .iter()
        .find(|o| o.resource.kind == "KafkaTopic")
        .unwrap();
    assert_eq!(topic.body["spec"]["config"]["cleanup.policy"], "delete");
    assert_eq!(
        topic.body["spec"]["config"]["max.message.bytes"],
        "104857600"
    );
    assert_eq!(
        topic.body["metadata"]["labels"]["strimzi.io/cluster"],
        "events"
    );
}

#[test]
fn related_images_override_defaults_per_version() {
    let bp = sample();
    let mut images = RelatedImages::default();
    images.0.insert(
        "RELATED_IMAGE_STORE_1_59_0".into(),
        "mirror.local/store@sha256:abc".into(),
    );
    assert_eq!(
        images.resolve(&bp.spec, Component::Store),
        "mirror.local/store@sha256:abc"
    );
    assert_eq!(
        images.resolve(&bp.spec, Component::Api),
        "quay.io/ditto/big-peer-api:1.59.0"
    );
    let mut other = bp.spec.clone();
    other.image.registry = Some("registry.internal/ditto/".into());
    assert_eq!(
        images.resolve(&other, Component::Store),
        "registry.internal/ditto/big-peer-store:1.59.0"
    );
    other.image.store = Some("x/y:z".into());
    assert_eq!(images.resolve(&other, Component::Store), "x/y:z");
}

#[test]
fn store_pdb_never_exceeds_spare_replicas() {
    let mut bp = sample();
    bp.spec.store.pod.disruption_budget.max_unavailable = 5;
    let pdb = disruption::budget(&bp, Component::Store, &bp.spec.store.pod, 3).unwrap();
    assert_eq!(
        pdb.spec.unwrap().max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
    bp.spec.store.pod.disruption_budget.enabled = false;
    assert!(disruption::budget(&bp, Component::Store, &bp.spec.store.pod, 3).is_none());
}

/// The sample from config/samples, parsed.
pub fn sample() -> BigPeer {
    let mut bp: BigPeer = serde_yaml::from_str(include_str!(
        "../../config/samples/smbp_v1alpha1_bigpeer.yaml"
    ))
    .unwrap();
    bp.metadata.uid = Some("u-1".into());
    bp
}
