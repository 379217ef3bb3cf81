//! Server-side apply of the desired objects, and pruning of owned objects no longer desired.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use kube::{Client, ResourceExt};

use super::error::{Context, Result};
use super::integrations::Integrations;
use crate::api::BigPeer;
use crate::build::{DesiredObject, labels};
use crate::thirdparty;

/// Outcome of applying.
#[derive(Debug, Default)]
pub struct Applied {
    /// Objects that did not exist before (`Kind/name`).
    pub created: Vec<String>,
    /// Objects deleted because they are no longer desired (`Kind/name`).
    pub pruned: Vec<String>,
    /// Workloads whose controller has not yet observed the applied spec (`Kind/name`):
    /// their status still describes the previous spec.
    pub pending: Vec<String>,
}

fn not_yet_observed(obj: &DynamicObject) -> bool {
    let generation = obj.metadata.generation.unwrap_or_default();
    let observed = obj
        .data
        .pointer("/status/observedGeneration")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_default();
    observed < generation
}

/// Apply every desired object with one field manager, forcing ownership of our fields.
pub async fn apply(client: &Client, ns: &str, objects: &[DesiredObject]) -> Result<Applied> {
    let params = PatchParams::apply(labels::MANAGER).force();
    let mut applied = Applied::default();
    for obj in objects {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &obj.resource);
        let before = api
            .get_metadata_opt(&obj.name)
            .await
            .ctx(|| format!("reading {}", obj.key()))?;
        let after = api
            .patch(&obj.name, &params, &Patch::Apply(&obj.body))
            .await
            .ctx(|| format!("applying {}", obj.key()))?;
        if matches!(obj.resource.kind.as_str(), "StatefulSet" | "Deployment")
            && not_yet_observed(&after)
        {
            applied.pending.push(obj.key());
        }
        if before.is_none() {
            applied.created.push(obj.key());
        }
    }
    Ok(applied)
}

/// Kinds the operator may prune. The store StatefulSet is never pruned: it is kept even when
/// the spec no longer asks for it, so that no store pod or volume is lost by mistake.
fn prunable(integrations: Integrations) -> Vec<ApiResource> {
    let mut kinds = vec![
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<PodDisruptionBudget>(&()),
    ];
    if integrations.cert_manager {
        kinds.extend([thirdparty::certificate(), thirdparty::issuer()]);
    }
    if integrations.strimzi {
        // A KafkaTopic is pruned only when the spec moves away from Strimzi; topic retention
        // on delete is the finalizer's job.
        kinds.extend([thirdparty::kafka_topic(), thirdparty::kafka_user()]);
    }
    kinds
}

/// Delete objects of this BigPeer (matched by labels and owner uid) that are not desired.
pub async fn prune(
    client: &Client,
    bp: &BigPeer,
    integrations: Integrations,
    desired: &[DesiredObject],
) -> Result<Vec<String>> {
    let ns = bp.namespace().unwrap_or_default();
    let uid = labels::uid(bp);
    let keep: BTreeSet<(String, String)> = desired
        .iter()
        .map(|d| (d.resource.kind.clone(), d.name.clone()))
        .collect();
    let selector = labels::instance_selector(&bp.name_any());
    let mut pruned = vec![];
    for ar in prunable(integrations) {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .ctx(|| format!("listing {}", ar.plural))?;
        for obj in list.items {
            let name = obj.name_any();
            let owned = obj
                .owner_references()
                .iter()
                .any(|o| Some(&o.uid) == uid.as_ref());
            if owned
                && !keep.contains(&(ar.kind.clone(), name.clone()))
                && obj.metadata.deletion_timestamp.is_none()
            {
                api.delete(&name, &DeleteParams::background())
                    .await
                    .ctx(|| format!("pruning {}/{name}", ar.kind))?;
                pruned.push(format!("{}/{name}", ar.kind));
            }
        }
    }
    Ok(pruned)
}
