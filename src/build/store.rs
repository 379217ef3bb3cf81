//! The store: a StatefulSet with one volume per pod, a headless Service for stable peer
//! names, and a client Service.

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;
use std::collections::BTreeMap;

use super::{BuildInputs, labels, names, pod};
use crate::api::{BigPeer, Component};

/// Name of the data volume claim template.
pub const DATA_VOLUME: &str = "data";

/// The store StatefulSet. Updates use `OnDelete`: the operator replaces pods one at a time
/// (see `rollout`), so a bad version never takes down more than one store pod.
pub fn stateful_set(bp: &BigPeer, inputs: &BuildInputs, config_hash: &str) -> StatefulSet {
    let name = bp.name_any();
    let store = &bp.spec.store;
    let selector = labels::selector(bp, Component::Store);
    let mut pvc_labels = selector.clone();
    pvc_labels.insert(
        "app.kubernetes.io/managed-by".into(),
        labels::MANAGER.into(),
    );
    StatefulSet {
        metadata: labels::meta(
            bp,
            names::component(&name, Component::Store),
            Component::Store.as_str(),
        ),
        spec: Some(StatefulSetSpec {
            replicas: Some(inputs.store_replicas),
            service_name: Some(names::store_headless(&name)),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            },
            pod_management_policy: Some("OrderedReady".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                rolling_update: None,
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_scaled: Some(store.storage.retention.when_scaled.as_str().into()),
                    // The finalizer carries out `whenDeleted` itself, so that it also holds when the
                    // StatefulSet is deleted by someone else.
                    when_deleted: Some("Retain".into()),
                },
            ),
            revision_history_limit: Some(10),
            template: pod::template(bp, Component::Store, &store.pod, inputs, config_hash),
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(DATA_VOLUME.into()),
                    labels: Some(pvc_labels),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: store.storage.storage_class_name.clone(),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_string(),
                            Quantity(
                                inputs
                                    .store_volume_template
                                    .clone()
                                    .unwrap_or_else(|| store.storage.size.clone()),
                            ),
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
