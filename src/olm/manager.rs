//! The operator's own Deployment, ServiceAccount and metrics Service: one definition for the
//! CSV and for `config/manager`.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecurityContext, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use super::release::Release;
use crate::facts::{
    API_PORT, API_SERVICE, HEALTH_PORT, METRICS_PORT, METRICS_SERVICE, OPERATOR_DEPLOYMENT as NAME,
    OPERATOR_SERVICE_ACCOUNT as SERVICE_ACCOUNT, WEBHOOK_CERT_SECRET, WEBHOOK_CONFIGURATION,
    WEBHOOK_PORT, WEBHOOK_SERVICE,
};

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
            port: IntOrString::String("health".into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(delay),
        period_seconds: Some(10),
        ..Default::default()
    }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// Arguments of the operator container: metrics over HTTPS for authorized readers only,
/// probes in plain HTTP on their own port.
pub fn args() -> Vec<String> {
    vec![
        "run".into(),
        "--metrics-secure=true".into(),
        format!("--metrics-bind-address=0.0.0.0:{METRICS_PORT}"),
        format!("--health-probe-bind-address=0.0.0.0:{HEALTH_PORT}"),
    ]
}

/// Arguments the kustomize install adds (not OLM's, which mounts a certificate it makes): the
/// operator keeps its own webhook certificate and sets the `caBundle` of the install's
/// ValidatingWebhookConfiguration (see [`super::kustomize_webhook`]).
pub fn kustomize_webhook_args() -> Vec<String> {
    vec![
        format!("--webhook-cert-secret={WEBHOOK_CERT_SECRET}"),
        format!("--webhook-service={WEBHOOK_SERVICE}"),
        format!("--webhook-configuration={WEBHOOK_CONFIGURATION}"),
    ]
}

/// The Service in front of the metrics port (scraped by a ServiceMonitor with a bearer token).
pub fn metrics_service() -> Service {
    service(METRICS_SERVICE, "metrics", METRICS_PORT)
}

/// The Service in front of the management API (HTTPS; callers bring a bearer token).
pub fn api_service() -> Service {
    service(API_SERVICE, "api", API_PORT)
}

/// A Service `name` in front of the operator's pods: `port` to their container port named
/// `port_name`.
pub fn service(name: &str, port_name: &str, port: i32) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(labels()),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                target_port: Some(IntOrString::String(port_name.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The operator Deployment. `olm` sets WATCH_NAMESPACE from OLM's target-namespaces annotation;
/// without it (kustomize) the operator keeps its own webhook certificate.
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
                        args: Some(if olm {
                            args()
                        } else {
                            [args(), kustomize_webhook_args()].concat()
                        }),
                        env: Some(env),
                        ports: Some(vec![
                            port("metrics", METRICS_PORT),
                            port("health", HEALTH_PORT),
                            port("webhook", WEBHOOK_PORT),
                            port("api", API_PORT),
                        ]),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::olm::release::Release;

    fn container() -> Container {
        let d = deployment(
            &Release::with_defaults("1.2.3", "2026-01-01T00:00:00Z"),
            true,
        );
        d.spec.unwrap().template.spec.unwrap().containers[0].clone()
    }

    #[test]
    fn metrics_are_secure_and_probes_plain_on_their_own_port() {
        let c = container();
        let args = c.args.clone().unwrap();
        assert!(args.contains(&"--metrics-secure=true".to_string()));
        assert!(args.contains(&format!("--metrics-bind-address=0.0.0.0:{METRICS_PORT}")));
        assert!(args.contains(&format!(
            "--health-probe-bind-address=0.0.0.0:{HEALTH_PORT}"
        )));
        let ports: Vec<(String, i32)> = c
            .ports
            .unwrap()
            .into_iter()
            .map(|p| (p.name.unwrap(), p.container_port))
            .collect();
        assert_eq!(
            ports,
            vec![
                ("metrics".into(), 8443),
                ("health".into(), 8081),
                ("webhook".into(), 9443),
                ("api".into(), 9444)
            ]
        );
        for p in [c.liveness_probe.unwrap(), c.readiness_probe.unwrap()] {
            let get = p.http_get.unwrap();
            assert_eq!(get.port, IntOrString::String("health".into()));
            assert_eq!(get.scheme, None, "probes are plain HTTP");
        }
    }

    #[test]
    fn only_the_kustomize_deployment_keeps_its_own_webhook_certificate() {
        let r = Release::with_defaults("1.2.3", "2026-01-01T00:00:00Z");
        let args = |olm| {
            deployment(&r, olm)
                .spec
                .unwrap()
                .template
                .spec
                .unwrap()
                .containers[0]
                .args
                .clone()
                .unwrap()
        };
        assert_eq!(args(true), super::args(), "OLM provides the certificate");
        let k = args(false);
        assert_eq!(k[..super::args().len()], super::args()[..]);
        assert!(k.contains(&"--webhook-cert-secret=smbp-operator-webhook-cert".to_string()));
        assert!(k.contains(&"--webhook-service=smbp-operator-webhook-service".to_string()));
        assert!(k.contains(
            &"--webhook-configuration=smbp-operator-validating-webhook-configuration".to_string()
        ));
    }

    #[test]
    fn the_metrics_service_targets_the_metrics_port() {
        let svc = metrics_service();
        assert_eq!(svc.metadata.name.as_deref(), Some("smbp-operator-metrics"));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.selector, Some(labels()));
        let port = &spec.ports.unwrap()[0];
        assert_eq!(port.name.as_deref(), Some("metrics"));
        assert_eq!(port.port, METRICS_PORT);
        assert_eq!(
            port.target_port,
            Some(IntOrString::String("metrics".into()))
        );
    }
}
