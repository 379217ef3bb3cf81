//! Subscription and API servers: Deployments. They hold no data, so the Deployment
//! controller's surge-first rolling update (never below the desired ready count) fits them.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{BuildInputs, labels, names, pod};
use crate::api::{BigPeer, Component, ComponentSpec};

/// The Deployment of a stateless component.
pub fn deployment(
    bp: &BigPeer,
    component: Component,
    spec: &ComponentSpec,
    inputs: &BuildInputs,
    config_hash: &str,
) -> Deployment {
    Deployment {
        metadata: labels::meta(
            bp,
            names::component(&bp.name_any(), component),
            component.as_str(),
        ),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.replicas),
            selector: LabelSelector {
                match_labels: Some(labels::selector(bp, component)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            progress_deadline_seconds: Some(bp.spec.rollout.progress_deadline_seconds),
            revision_history_limit: Some(5),
            template: pod::template(bp, component, &spec.pod, inputs, config_hash),
            ..Default::default()
        }),
        ..Default::default()
    }
}
