//! Property tests over the whole build layer: for any valid spec, every object is owned,
//! labelled, DNS-safe, deterministic and restricted, and no secret reaches a ConfigMap.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use kube::ResourceExt;
use proptest::prelude::*;

use smbp_operator::api::*;
use smbp_operator::build::*;
use smbp_operator::images::RelatedImages;
use smbp_operator::testing::{sample, sample_inputs};

use crate::generators::*;
use crate::netpol_eval::{self, Cluster, Direction, Endpoint, Pod};
use crate::netpol_table::{network_policies, templates_by_component};

/// The sample's inputs, on OpenShift or not.
fn inputs(bp: &BigPeer, openshift: bool) -> BuildInputs {
    BuildInputs {
        openshift,
        ..sample_inputs(bp)
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
        let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&data[config::CONFIG_FILE]).unwrap();
        fn walk(v: &serde_yaml_ng::Value, path: &str, out: &mut Vec<String>) {
            match v {
                serde_yaml_ng::Value::Mapping(m) => for (k, v) in m { walk(v, &format!("{path}.{}", k.as_str().unwrap_or("")), out) },
                serde_yaml_ng::Value::Sequence(s) => for v in s { walk(v, path, out) },
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

/// An endpoint that a generated peer admits: a pod in the selected namespace wearing the
/// selected labels, or an address inside the block.
fn source_for(peer: &NetworkPolicyPeer) -> Endpoint {
    if let Some(block) = &peer.ip_block {
        let base = block.cidr.split_once(".0.0/").expect("a /16 block").0;
        return Endpoint::external(&format!("{base}.0.1"));
    }
    let ns = peer
        .namespace_selector
        .as_ref()
        .unwrap()
        .match_labels
        .as_ref()
        .unwrap()["kubernetes.io/metadata.name"]
        .clone();
    let labels = peer
        .pod_selector
        .as_ref()
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_else(|| netpol_eval::labels(&[("app", "anything")]));
    Endpoint::Pod(Pod::new(&ns, labels, "10.9.0.1", &[]))
}

/// Sources an empty list admits: some pod elsewhere and some address outside.
fn anywhere() -> Vec<Endpoint> {
    vec![
        Endpoint::Pod(Pod::new(
            "anywhere",
            netpol_eval::labels(&[("app", "x")]),
            "10.9.0.2",
            &[],
        )),
        Endpoint::external("203.0.113.9"),
    ]
}

/// The component pods of a BigPeer (made from its templates) and the cluster of its policies.
fn fenced(bp: &BigPeer, openshift: bool) -> (Vec<(String, Pod)>, Cluster) {
    let objects = desired(bp, &inputs(bp, openshift));
    let ns = bp.namespace().unwrap();
    let pods = templates_by_component(&objects)
        .into_iter()
        .map(|(c, t)| (c, Pod::from_template(&ns, "10.8.0.1", &t)))
        .collect();
    let mut cluster = Cluster::default();
    cluster.policies = network_policies(&objects);
    (pods, cluster)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn each_component_pod_is_selected_by_exactly_its_policy(bp in bigpeer(), openshift in any::<bool>()) {
        let (pods, cluster) = fenced(&bp, openshift);
        prop_assert_eq!(pods.len(), 3);
        let enabled = bp.spec.network.policies.enabled;
        prop_assert_eq!(cluster.policies.len(), if enabled { 3 } else { 0 });
        for (component, pod) in &pods {
            for direction in [Direction::Ingress, Direction::Egress] {
                let selecting = cluster.selecting(pod, direction);
                if enabled {
                    prop_assert_eq!(selecting.len(), 1, "{} {:?}", component, direction);
                    prop_assert_eq!(selecting[0].name_any(), format!("{}-{component}", bp.name_any()));
                } else {
                    prop_assert!(selecting.is_empty());
                }
            }
        }
    }

    #[test]
    fn disabling_removes_every_policy(mut bp in bigpeer()) {
        bp.spec.network.policies.enabled = false;
        prop_assert!(network_policies(&desired(&bp, &inputs(&bp, false))).is_empty());
        bp.spec.network.policies.enabled = true;
        prop_assert_eq!(network_policies(&desired(&bp, &inputs(&bp, false))).len(), 3);
    }

    #[test]
    fn metrics_reachable_from_every_configured_source(bp in bigpeer()) {
        let (pods, cluster) = fenced(&bp, false);
        let from = &bp.spec.network.policies.metrics_from;
        let sources = if from.is_empty() { anywhere() } else { from.iter().map(source_for).collect() };
        for (component, pod) in &pods {
            for src in &sources {
                prop_assert!(
                    cluster.allows(src, &Endpoint::Pod(pod.clone()), ports::METRICS, "TCP"),
                    "{:?} cannot scrape {}", src, component
                );
            }
        }
    }

    #[test]
    fn clients_reach_sync_and_http_from_every_configured_source(bp in bigpeer()) {
        let (pods, cluster) = fenced(&bp, false);
        let network = &bp.spec.network;
        let through_nodes = matches!(network.mode(), ExposureMode::LoadBalancer | ExposureMode::NodePort);
        let sources = if through_nodes || network.policies.ingress_from.is_empty() {
            anywhere()
        } else {
            network.policies.ingress_from.iter().map(source_for).collect()
        };
        for (component, pod) in &pods {
            let port = match component.as_str() {
                "subscription" => ports::SYNC,
                "api" => ports::HTTP,
                _ => continue,
            };
            for src in &sources {
                prop_assert!(cluster.allows(src, &Endpoint::Pod(pod.clone()), port, "TCP"), "{:?} -> {}", src, component);
            }
        }
    }

    #[test]
    fn peer_port_never_reachable_from_another_namespace(bp in bigpeer()) {
        prop_assume!(bp.spec.network.policies.enabled);
        let (pods, cluster) = fenced(&bp, false);
        let elsewhere = if bp.namespace().as_deref() == Some("elsewhere") { "elsewhere-2" } else { "elsewhere" };
        let mut sources = vec![Endpoint::external("192.0.2.1")];
        // Every Big Peer pod's labels, worn in another namespace.
        for (_, pod) in &pods {
            sources.push(Endpoint::Pod(Pod { namespace: elsewhere.into(), ..pod.clone() }));
        }
        for src in bp.spec.network.policies.ingress_from.iter().chain(&bp.spec.network.policies.metrics_from) {
            let src = source_for(src);
            if matches!(&src, Endpoint::Pod(p) if Some(&p.namespace) != bp.namespace().as_ref()) {
                sources.push(src);
            }
        }
        for (component, pod) in pods.iter().filter(|(c, _)| c != "api") {
            for src in &sources {
                prop_assert!(
                    !cluster.allows(src, &Endpoint::Pod(pod.clone()), ports::PEER, "TCP"),
                    "{:?} reaches the peer port of {}", src, component
                );
            }
        }
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
    assert_eq!(topics.len(), 2);
    assert_eq!(topics[0]["resource"]["name"], "prod-bigpeer-transactions");
    assert_eq!(topics[0]["resource"]["patternType"], "literal");
    // The data bridges' topics: written (and described), never read, by prefix.
    assert_eq!(topics[1]["resource"]["name"], "prod-bigpeer-cdc-");
    assert_eq!(topics[1]["resource"]["patternType"], "prefix");
    assert_eq!(
        topics[1]["operations"],
        serde_json::json!(["Describe", "Write"])
    );
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
    // A mirror keeps the release's digest (under the mirror's repository name); a component
    // without a pinned image gets the version tag.
    assert_eq!(
        images.resolve(&other, Component::Store),
        "registry.internal/ditto/big-peer-store@sha256:abc"
    );
    assert_eq!(
        images.resolve(&other, Component::Api),
        "registry.internal/ditto/big-peer-api:1.59.0"
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

/// The claim template keeps the size the StatefulSet was created with (Kubernetes refuses a
/// change); a larger spec size is carried out on the claims.
#[test]
fn volume_template_keeps_the_existing_size() {
    let mut bp = sample();
    bp.spec.store.storage.size = "80Gi".into();
    let size = |inputs: &BuildInputs| {
        let sts = store::stateful_set(&bp, inputs, "h");
        sts.spec.unwrap().volume_claim_templates.unwrap()[0]
            .spec
            .clone()
            .unwrap()
            .resources
            .unwrap()
            .requests
            .unwrap()["storage"]
            .0
            .clone()
    };
    let mut inputs = sample_inputs(&bp);
    assert_eq!(
        size(&inputs),
        "80Gi",
        "a new StatefulSet takes the spec's size"
    );
    inputs.store_volume_template = Some("50Gi".into());
    assert_eq!(size(&inputs), "50Gi");
}

/// A MongoDB connector of a data bridge of `bp` (named `big_peer`, in `namespace`): its pod, as
/// its Deployment makes it, and its NetworkPolicy.
fn connector(
    bp: &BigPeer,
    big_peer: &str,
    namespace: &str,
) -> (Pod, k8s_openapi::api::networking::v1::NetworkPolicy) {
    use smbp_operator::build::bridge::{Owner, connection, mongodb};
    let mut bridge: BigPeerDataBridge = serde_json::from_value(serde_json::json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "sync", "namespace": namespace, "uid": "b-1"},
        "spec": {"appRef": {"name": "fleet"}, "mongodb": {
            "connectionStringSecretRef": {"name": "mongo"}, "database": "shop",
            "collections": {"orders": {"fields": ["_id"]}}}}
    }))
    .unwrap();
    bridge.metadata.uid = Some("b-1".into());
    let o = Owner {
        bridge: &bridge,
        big_peer,
        app_id: "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11",
    };
    let m = bridge.spec.mongodb.clone().unwrap();
    let rendered = mongodb::render(&o, &m);
    let d = mongodb::deployment(&o, &m, "img".into(), &rendered, false);
    let pod = Pod::from_template(namespace, "10.8.0.9", &d.spec.unwrap().template);
    let mongo = connection::parse("mongodb://mongo.example.net:27017").unwrap();
    (
        pod,
        mongodb::network_policy(&o, bp, &mongo, Some("smbp-system")),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The connectors of a BigPeer's data bridges call its api (HTTP) and subscription (sync)
    /// servers, whatever `ingressFrom` says, and that rule admits nothing else: a connector of
    /// another BigPeer, or of this one in another namespace, gets in exactly where it would
    /// without the rule (where `ingressFrom`, or the exposure mode, admits any such pod).
    #[test]
    fn a_bigpeers_mongodb_connectors_reach_its_api_and_subscription(bp in bigpeer()) {
        let (pods, mut cluster) = fenced(&bp, false);
        let ns = bp.namespace().unwrap();
        // Without the rule for connectors: the BigPeer's policies with that peer taken out.
        let connectors = smbp_operator::build::bridge::connector_pods_of(&bp.name_any());
        let mut without = cluster.clone();
        for np in &mut without.policies {
            for rule in np.spec.iter_mut().flat_map(|s| s.ingress.iter_mut().flatten()) {
                if let Some(from) = rule.from.as_mut() {
                    from.retain(|p| {
                        p.pod_selector.as_ref().and_then(|s| s.match_labels.as_ref()) != Some(&connectors)
                    });
                }
            }
        }
        let (own, own_policy) = connector(&bp, &bp.name_any(), &ns);
        // The others' own policies are left out: only the BigPeer's ingress rules may stop them.
        let (other_bp, _) = connector(&bp, "another-bigpeer", &ns);
        let (other_ns, _) = connector(&bp, &bp.name_any(), "elsewhere-ns");
        cluster.policies.push(own_policy);
        for (component, pod) in &pods {
            let port = match component.as_str() {
                "subscription" => ports::SYNC,
                "api" => ports::HTTP,
                _ => continue,
            };
            let to = Endpoint::Pod(pod.clone());
            prop_assert!(
                cluster.allows(&Endpoint::Pod(own.clone()), &to, port, "TCP"),
                "the BigPeer's connector -> {}", component
            );
            for (what, src) in [("another BigPeer's", &other_bp), ("another namespace's", &other_ns)] {
                let src = Endpoint::Pod(src.clone());
                prop_assert_eq!(
                    cluster.allows(&src, &to, port, "TCP"),
                    without.allows(&src, &to, port, "TCP"),
                    "{} connector -> {}", what, component
                );
            }
        }
    }
}
