//! What happens when a BigPeer is deleted: volume and topic retention. Everything else goes
//! with the BigPeer through owner references.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::api::reason::Reason;
use crate::api::{BigPeer, Component, RetentionPolicy};
use crate::build::{labels, names};
use crate::controller::error::{Context, Result};
use crate::controller::events::publish;
use crate::thirdparty;

/// Carry out `store.storage.retention.whenDeleted` and `transactionLog.strimzi.topicRetention`.
pub async fn cleanup(
    client: &Client,
    recorder: &kube::runtime::events::Recorder,
    bp: &BigPeer,
    strimzi: bool,
) -> Result<()> {
    let ns = bp.namespace().unwrap_or_default();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let selector = labels::component_selector(bp, Component::Store).to_string();
    let list = pvcs
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .ctx(|| "listing store volumes".into())?;
    let names_: Vec<String> = list.items.iter().map(|p| p.name_any()).collect();
    match bp.spec.store.storage.retention.when_deleted {
        RetentionPolicy::Delete => {
            for n in &names_ {
                pvcs.delete(n, &DeleteParams::background())
                    .await
                    .ctx(|| format!("deleting volume {n}"))?;
            }
            if !names_.is_empty() {
                publish(
                    recorder,
                    bp,
                    Reason::VolumesDeleted,
                    "Delete",
                    format!("deleted volumes {}", names_.join(", ")),
                )
                .await;
            }
        }
        RetentionPolicy::Retain => {
            for p in &list.items {
                // Owner references would let the garbage collector take retained volumes.
                if !p.owner_references().is_empty() {
                    let patch = json!({"metadata": {"ownerReferences": null}});
                    pvcs.patch(
                        &p.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                    .ctx(|| format!("releasing volume {}", p.name_any()))?;
                }
            }
            if !names_.is_empty() {
                publish(
                    recorder,
                    bp,
                    Reason::VolumesRetained,
                    "Delete",
                    format!("kept volumes {} (retention Retain)", names_.join(", ")),
                )
                .await;
            }
        }
    }
    if let (Some(s), true) = (&bp.spec.transaction_log.strimzi, strimzi)
        && s.topic_retention == RetentionPolicy::Retain
    {
        {
            // Strimzi leaves the Kafka topic (and its data) alone when an unmanaged KafkaTopic goes.
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_topic());
            let topic = names::kafka_topic_object(&bp.name_any());
            if api
                .get_metadata_opt(&topic)
                .await
                .ctx(|| format!("reading KafkaTopic {topic}"))?
                .is_some()
            {
                let patch = json!({"metadata": {"annotations": {"strimzi.io/managed": "false"}}});
                api.patch(&topic, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .ctx(|| format!("unmanaging KafkaTopic {topic}"))?;
            }
        }
    }
    Ok(())
}
