//! The operator's own Deployment, ServiceAccount and metrics Service: one definition for the
//! CSV and for `config/manager`.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use super::release::Release;

/// Deployment name.
pub const NAME: &str = "smbp-operator-controller-manager";
/// ServiceAccount name.
pub const SERVICE_ACCOUNT: &str = "smbp-operator-controller-manager";

/// Labels of the operator pods.
pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "smbp-operator".to_string(),
        ),
        (
            "control-plane".to_string(),
            "controller-manager".to_string(),
        ),
    ])
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn probe(path: &str, delay: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("metrics".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(delay),
        period_seconds: Some(10),
        ..Default::default()
    }
}

/// The operator Deployment. `olm` sets WATCH_NAMESPACE from OLM's target-namespaces annotation.
pub fn deployment(release: &Release, olm: bool) -> Deployment {
    let mut env = vec![
        if olm {
            field_env(
                "WATCH_NAMESPACE",
                "metadata.annotations['olm.targetNamespaces']",
            )
        } else {
            EnvVar {
                name: "WATCH_NAMESPACE".into(),
                value: Some(String::new()),
                ..Default::default()
            }
        },
        field_env("POD_NAMESPACE", "metadata.namespace"),
        field_env("POD_NAME", "metadata.name"),
    ];
    env.extend(
        release
            .related_images()
            .into_iter()
            .filter(|(n, _)| n.starts_with("RELATED_IMAGE_"))
            .map(|(name, image)| EnvVar {
                name,
                value: Some(image),
                ..Default::default()
            }),
    );
    let resources = ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), Quantity("50m".into())),
            ("memory".into(), Quantity("64Mi".into())),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".into(), Quantity("500m".into())),
            ("memory".into(), Quantity("256Mi".into())),
        ])),
        ..Default::default()
    };
    Deployment {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            labels: Some(labels()),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(labels()),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    annotations: Some(BTreeMap::from([(
                        "kubectl.kubernetes.io/default-container".into(),
                        "manager".into(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(SERVICE_ACCOUNT.into()),
                    termination_grace_period_seconds: Some(30),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers: vec![Container {
                        name: "manager".into(),
                        image: Some(release.operator_image.clone()),
                        args: Some(vec!["run".into()]),
                        env: Some(env),
                        ports: Some(vec![ContainerPort {
                            name: Some("metrics".into()),
                            container_port: 8080,
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        }]),
                        liveness_probe: Some(probe("/healthz", 15)),
                        readiness_probe: Some(probe("/readyz", 5)),
                        resources: Some(resources),
                        security_context: Some(SecurityContext {
                            allow_privilege_escalation: Some(false),
                            read_only_root_filesystem: Some(true),
                            run_as_non_root: Some(true),
                            capabilities: Some(Capabilities {
                                drop: Some(vec!["ALL".into()]),
                                add: None,
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}
