//! The pod template shared by every component: restricted security context, volumes for
//! configuration, keys and Kafka credentials, scheduling defaults.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    HTTPGetAction, LocalObjectReference as K8sLocalRef, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, SeccompProfile, SecretVolumeSource, SecurityContext,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::names::{self, Key};
use super::{BuildInputs, config, labels, paths, ports};
use crate::api::{BigPeer, Component, PodOptions};

/// UID/GID used on platforms that do not assign one (everything but OpenShift).
pub const DEFAULT_UID: i64 = 1000;

/// Name of the main container.
pub const CONTAINER: &str = "bigpeer";

/// Volume of the `<bp>-access` Secret (apps and API key hashes) in subscription and api pods.
pub const ACCESS_VOLUME: &str = "access";

/// Build the pod template of a component.
pub fn template(
    bp: &BigPeer,
    component: Component,
    opts: &PodOptions,
    inputs: &BuildInputs,
    config_hash: &str,
) -> PodTemplateSpec {
    let selector = labels::selector(bp, component);
    let mut pod_labels = opts.template.labels.clone();
    pod_labels.extend(labels::common(bp, component.as_str()));
    let mut annotations = opts.template.annotations.clone();
    annotations.insert(config::HASH_ANNOTATION.to_string(), config_hash.to_string());
    // A restart request (`kubectl smbp restart`) is a new revision: the pods roll.
    if let Some(at) = crate::rollout::restart::requested(bp.annotations(), component) {
        annotations.insert(crate::rollout::restart::RESTARTED_AT.to_string(), at);
    }

    let mut volumes = shared_volumes(bp);
    volumes.push(empty_dir("tmp"));
    let mut mounts = shared_mounts(bp);
    mounts.push(mount("tmp", "/tmp", false));
    if component == Component::Store {
        mounts.push(mount(super::store::DATA_VOLUME, paths::DATA, false));
    } else {
        // Apps and API keys, read in place: the whole directory (a subPath mount would never
        // see an update), in the servers that check them only.
        volumes.push(secret_volume(ACCESS_VOLUME, names::access(&bp.name_any())));
        mounts.push(mount(ACCESS_VOLUME, paths::ACCESS, true));
    }

    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(names::service_account(&bp.name_any())),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            security_context: Some(pod_security(opts, inputs)),
            containers: vec![Container {
                name: CONTAINER.to_string(),
                image: Some(inputs.images.resolve(&bp.spec, component)),
                image_pull_policy: Some(bp.spec.image.pull_policy.as_str().to_string()),
                args: Some(vec![
                    component.as_str().to_string(),
                    format!("--config={}/{}", paths::CONFIG, config::CONFIG_FILE),
                ]),
                env: Some(env(bp, opts)),
                ports: Some(container_ports(component)),
                readiness_probe: Some(probe("/_ready")),
                liveness_probe: Some(Probe {
                    failure_threshold: Some(6),
                    ..probe("/_health")
                }),
                resources: opts.resources.clone(),
                security_context: Some(container_security(component, bp.spec.store.ipc_lock)),
                volume_mounts: Some(mounts),
                ..Default::default()
            }],
            volumes: Some(volumes),
            image_pull_secrets: (!bp.spec.image.pull_secrets.is_empty()).then(|| {
                bp.spec
                    .image
                    .pull_secrets
                    .iter()
                    .map(|s| K8sLocalRef {
                        name: s.name.clone(),
                    })
                    .collect()
            }),
            node_selector: (!opts.scheduling.node_selector.is_empty())
                .then(|| opts.scheduling.node_selector.clone()),
            tolerations: (!opts.scheduling.tolerations.is_empty())
                .then(|| opts.scheduling.tolerations.clone()),
            affinity: opts.scheduling.affinity.clone(),
            topology_spread_constraints: Some(spread(opts, selector)),
            priority_class_name: opts.template.priority_class_name.clone(),
            termination_grace_period_seconds: Some(if component == Component::Store {
                120
            } else {
                30
            }),
            ..Default::default()
        }),
    }
}

fn env(bp: &BigPeer, opts: &PodOptions) -> Vec<EnvVar> {
    let mut env = vec![
        EnvVar {
            name: "BIGPEER_CLUSTER".into(),
            value: Some(bp.name_any()),
            ..Default::default()
        },
        EnvVar {
            name: "POD_NAME".into(),
            value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                field_ref: Some(k8s_openapi::api::core::v1::ObjectFieldSelector {
                    field_path: "metadata.name".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let ours: Vec<String> = env.iter().map(|e| e.name.clone()).collect();
    env.extend(
        opts.template
            .env
            .iter()
            .filter(|e| !ours.contains(&e.name))
            .cloned(),
    );
    env
}

fn container_ports(component: Component) -> Vec<ContainerPort> {
    let port = |name: &str, p: i32| ContainerPort {
        name: Some(name.into()),
        container_port: p,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mut out = match component {
        Component::Store => vec![port("peer", ports::PEER)],
        Component::Subscription => vec![port("sync", ports::SYNC), port("peer", ports::PEER)],
        Component::Api => vec![port("http", ports::HTTP)],
    };
    out.push(port("metrics", ports::METRICS));
    out
}

fn probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("metrics".into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// Pod security context: non-root, RuntimeDefault seccomp; fixed IDs only off OpenShift
/// (whose restricted-v2 SCC assigns them per namespace) or when the spec asks for them.
pub fn pod_security(opts: &PodOptions, inputs: &BuildInputs) -> PodSecurityContext {
    let o = &opts.security_context;
    let default_id = (!inputs.openshift).then_some(DEFAULT_UID);
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: o.run_as_user.or(default_id),
        run_as_group: o.run_as_group.or(default_id),
        fs_group: o.fs_group.or(default_id),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container security context of the restricted Pod Security Standard. The store may add
/// IPC_LOCK when the spec asks for it.
pub fn container_security(component: Component, ipc_lock: bool) -> SecurityContext {
    let add = (component == Component::Store && ipc_lock).then(|| vec!["IPC_LOCK".to_string()]);
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread over zones and nodes unless the user gave constraints.
fn spread(opts: &PodOptions, selector: BTreeMap<String, String>) -> Vec<TopologySpreadConstraint> {
    if !opts.scheduling.topology_spread_constraints.is_empty() {
        return opts.scheduling.topology_spread_constraints.clone();
    }
    ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        .into_iter()
        .map(|key| TopologySpreadConstraint {
            max_skew: 1,
            topology_key: key.into(),
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: String) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..Default::default()
    }
}

/// Names of the Secrets holding the keys.
pub fn key_secrets(bp: &BigPeer) -> [(Key, String); 3] {
    let name = bp.name_any();
    match &bp.spec.auth.keys.secrets {
        Some(s) => [
            (Key::Ca, s.ca.name.clone()),
            (Key::InBand, s.in_band.name.clone()),
            (Key::Jwt, s.jwt.name.clone()),
        ],
        None => Key::ALL.map(|k| (k, names::key_secret(&name, k))),
    }
}

/// Secrets the pods mount, in a stable order: (volume name, secret name, mount path).
pub fn mounted_secrets(bp: &BigPeer) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = key_secrets(bp)
        .into_iter()
        .map(|(k, s)| {
            (
                format!("key-{}", k.dir()),
                s,
                format!("{}/{}", paths::KEYS, k.dir()),
            )
        })
        .collect();
    let tl = &bp.spec.transaction_log;
    if let Some(strimzi) = &tl.strimzi {
        out.push((
            "kafka-ca".into(),
            format!("{}-cluster-ca-cert", strimzi.kafka_ref.name),
            paths::KAFKA_CA.into(),
        ));
        out.push((
            "kafka-user".into(),
            names::kafka_user(&bp.name_any()),
            paths::KAFKA_USER.into(),
        ));
    }
    if let Some(ext) = &tl.external {
        if let Some(tls) = &ext.tls {
            out.push((
                "kafka-ca".into(),
                tls.ca_secret_ref.name.clone(),
                paths::KAFKA_CA.into(),
            ));
        }
        if let Some(sasl) = &ext.sasl {
            out.push((
                "kafka-user".into(),
                sasl.secret_ref.name.clone(),
                paths::KAFKA_USER.into(),
            ));
        }
        if let Some(mtls) = &ext.mtls {
            out.push((
                "kafka-user".into(),
                mtls.name.clone(),
                paths::KAFKA_USER.into(),
            ));
        }
    }
    if let Some(anon) = &bp.spec.auth.providers.anonymous {
        out.push((
            "anonymous-token".into(),
            anon.shared_token_secret_ref.name.clone(),
            paths::ANONYMOUS_TOKEN.into(),
        ));
    }
    out
}

fn shared_volumes(bp: &BigPeer) -> Vec<Volume> {
    let mut v = vec![Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: names::config(&bp.name_any()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    v.extend(
        mounted_secrets(bp)
            .into_iter()
            .map(|(vol, secret, _)| secret_volume(&vol, secret)),
    );
    v
}

fn shared_mounts(bp: &BigPeer) -> Vec<VolumeMount> {
    let mut m = vec![mount("config", paths::CONFIG, true)];
    m.extend(
        mounted_secrets(bp)
            .into_iter()
            .map(|(vol, _, path)| mount(&vol, &path, true)),
    );
    m
}
