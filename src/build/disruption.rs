//! PodDisruptionBudgets, one per component when enabled.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{labels, names};
use crate::api::{BigPeer, Component, PodOptions};

/// The budget of a component, or `None` when disabled or the component runs no pods.
pub fn budget(
    bp: &BigPeer,
    component: Component,
    opts: &PodOptions,
    replicas: i32,
) -> Option<PodDisruptionBudget> {
    if !opts.disruption_budget.enabled || replicas == 0 {
        return None;
    }
    // The store never lets a drain take more pods than the replication factor can spare.
    let max = match component {
        Component::Store => opts.disruption_budget.max_unavailable.min(
            (bp.spec.store.replication_factor - bp.spec.store.minimum_replication_factor).max(1),
        ),
        _ => opts.disruption_budget.max_unavailable,
    };
    Some(PodDisruptionBudget {
        metadata: labels::meta(
            bp,
            names::pdb(&bp.name_any(), component),
            component.as_str(),
        ),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(max)),
            selector: Some(LabelSelector {
                match_labels: Some(labels::selector(bp, component)),
                ..Default::default()
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..Default::default()
        }),
        ..Default::default()
    })
}
