//! Server-side apply of the desired objects, and pruning of owned objects no longer desired.
//! One inventory read per kind serves both: it tells what is new and what is left over.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use kube::{Client, ResourceExt};
use tracing::{Instrument, info_span};

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

/// An owned object found in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: String,
    name: String,
    prunable: bool,
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

/// Kinds the operator owns, and whether it may prune them. The store StatefulSet is never
/// pruned: it is kept even when the spec no longer asks for it, so that no store pod or
/// volume is lost by mistake. A KafkaTopic is pruned only when the spec moves away from
/// Strimzi; topic retention on delete is the finalizer's job.
fn owned_kinds(integrations: Integrations) -> Vec<(ApiResource, bool)> {
    let mut kinds = vec![
        (ApiResource::erase::<StatefulSet>(&()), false),
        (ApiResource::erase::<ServiceAccount>(&()), true),
        (ApiResource::erase::<ConfigMap>(&()), true),
        (ApiResource::erase::<Service>(&()), true),
        (ApiResource::erase::<Deployment>(&()), true),
        (ApiResource::erase::<PodDisruptionBudget>(&()), true),
        (ApiResource::erase::<Ingress>(&()), true),
        (ApiResource::erase::<NetworkPolicy>(&()), true),
    ];
    if integrations.cert_manager {
        kinds.extend([
            (thirdparty::certificate(), true),
            (thirdparty::issuer(), true),
        ]);
    }
    if integrations.gateway_api {
        kinds.push((thirdparty::http_route(), true));
    }
    if integrations.prometheus_operator {
        kinds.extend([
            (thirdparty::service_monitor(), true),
            (thirdparty::pod_monitor(), true),
        ]);
    }
    if integrations.openshift_route {
        kinds.push((thirdparty::openshift_route(), true));
    }
    if integrations.strimzi {
        kinds.extend([
            (thirdparty::kafka_topic(), true),
            (thirdparty::kafka_user(), true),
        ]);
    }
    kinds
}

/// Owned objects of this BigPeer (matched by labels and owner uid), metadata only.
async fn inventory(
    client: &Client,
    bp: &BigPeer,
    integrations: Integrations,
) -> Result<BTreeSet<Found>> {
    let ns = bp.namespace().unwrap_or_default();
    let uid = labels::uid(bp);
    let selector = labels::instance_selector(&bp.name_any());
    let mut found = BTreeSet::new();
    for (ar, prunable) in owned_kinds(integrations) {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .ctx(|| format!("listing {}", ar.plural))?;
        for obj in list.items {
            if obj
                .owner_references()
                .iter()
                .any(|o| Some(&o.uid) == uid.as_ref())
                && obj.metadata.deletion_timestamp.is_none()
            {
                found.insert(Found {
                    kind: ar.kind.clone(),
                    name: obj.name_any(),
                    prunable,
                });
            }
        }
    }
    Ok(found)
}

/// Apply every desired object with one field manager (forcing ownership of our fields), then
/// delete owned objects that are no longer desired.
pub async fn apply_and_prune(
    client: &Client,
    bp: &BigPeer,
    integrations: Integrations,
    objects: &[DesiredObject],
) -> Result<Applied> {
    let ns = bp.namespace().unwrap_or_default();
    let existing = inventory(client, bp, integrations)
        .instrument(info_span!("inventory"))
        .await?;
    let exists = |kind: &str, name: &str| existing.iter().any(|f| f.kind == kind && f.name == name);
    let params = PatchParams::apply(labels::MANAGER).force();
    let mut applied = Applied::default();
    for obj in objects {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &obj.resource);
        let after = api
            .patch(&obj.name, &params, &Patch::Apply(&obj.body))
            .instrument(info_span!("apply", kind = %obj.resource.kind, name = %obj.name))
            .await
            .ctx(|| format!("applying {}", obj.key()))?;
        if matches!(obj.resource.kind.as_str(), "StatefulSet" | "Deployment")
            && not_yet_observed(&after)
        {
            applied.pending.push(obj.key());
        }
        if !exists(&obj.resource.kind, &obj.name) {
            applied.created.push(obj.key());
        }
    }
    let keep: BTreeSet<(&str, &str)> = objects
        .iter()
        .map(|d| (d.resource.kind.as_str(), d.name.as_str()))
        .collect();
    for (ar, _) in owned_kinds(integrations) {
        for f in existing.iter().filter(|f| {
            f.prunable && f.kind == ar.kind && !keep.contains(&(f.kind.as_str(), f.name.as_str()))
        }) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
            api.delete(&f.name, &DeleteParams::background())
                .instrument(info_span!("prune", kind = %f.kind, name = %f.name))
                .await
                .ctx(|| format!("pruning {}/{}", f.kind, f.name))?;
            applied.pruned.push(format!("{}/{}", f.kind, f.name));
        }
    }
    Ok(applied)
}
