//! `bigpeer::finalize::cleanup`, run when a BigPeer is deleted: the store's volumes are
//! deleted or released as `store.storage.retention.whenDeleted` says, and a retained Kafka
//! topic is handed back to Kafka.

use serde_json::json;
use smbp_operator::api::RetentionPolicy;
use smbp_operator::bigpeer::finalize::cleanup;

use crate::fixtures::{UID, bigpeer, event, meta, metadata_list, recorder};
use crate::server::{Exchange, delete, get_metadata, merge_patch, serve};

const PVCS: &str = "/api/v1/namespaces/bigpeer/persistentvolumeclaims";
const TOPIC: &str = "/apis/kafka.strimzi.io/v1/namespaces/bigpeer/kafkatopics/prod-transactions";

/// The LIST of the store's volumes (metadata only, by the store pods' labels).
fn store_volumes(items: Vec<serde_json::Value>) -> Exchange {
    get_metadata(PVCS)
        .query(&[(
            "labelSelector",
            "app.kubernetes.io/component=store,app.kubernetes.io/instance=prod,app.kubernetes.io/name=bigpeer",
        )])
        .answer(metadata_list(items))
}

fn pvc(name: &str, owned: bool) -> serde_json::Value {
    let mut m = meta(name, owned.then_some(UID));
    m["apiVersion"] = json!("v1");
    m["kind"] = json!("PersistentVolumeClaim");
    m
}

/// Retention Delete: each store volume is deleted and one Event says which. A topic whose
/// retention is Delete is left to its owner reference (no request).
#[tokio::test]
async fn delete_retention_deletes_the_store_volumes_and_says_so() {
    let mut bp = bigpeer();
    bp.spec.store.storage.retention.when_deleted = RetentionPolicy::Delete;
    bp.spec
        .transaction_log
        .strimzi
        .as_mut()
        .unwrap()
        .topic_retention = RetentionPolicy::Delete;
    let deleted = |name: &str| {
        delete(&format!("{PVCS}/{name}"))
            .body(|b| assert_eq!(b["propagationPolicy"], "Background", "{b}"))
            .deleted()
    };
    let (client, server) = serve(vec![
        store_volumes(vec![
            pvc("data-prod-store-0", false),
            pvc("data-prod-store-1", false),
        ]),
        deleted("data-prod-store-0"),
        deleted("data-prod-store-1"),
        event(
            "VolumesDeleted",
            &["data-prod-store-0", "data-prod-store-1"],
        ),
    ]);
    let events = recorder(&client);

    let result = cleanup(&client, &events, &bp, true).await;
    server.done((client, events)).await;

    result.expect("cleaned up");
}

/// Retention Retain: no volume is deleted; those with owner references lose them (a merge
/// patch), so the garbage collector cannot take them; one Event says which are kept.
#[tokio::test]
async fn retain_retention_releases_the_store_volumes_and_deletes_none() {
    let bp = bigpeer();
    assert_eq!(
        bp.spec.store.storage.retention.when_deleted,
        RetentionPolicy::Retain
    );
    let (client, server) = serve(vec![
        store_volumes(vec![
            pvc("data-prod-store-0", true),
            pvc("data-prod-store-1", false),
        ]),
        merge_patch(&format!("{PVCS}/data-prod-store-0"))
            .body_eq(json!({"metadata": {"ownerReferences": null}}))
            .answer(pvc("data-prod-store-0", false)),
        event(
            "VolumesRetained",
            &["data-prod-store-0", "data-prod-store-1"],
        ),
    ]);
    let events = recorder(&client);

    let result = cleanup(&client, &events, &bp, false).await;
    server.done((client, events)).await;

    result.expect("cleaned up");
}

/// A retained topic is unmanaged (Strimzi then leaves the Kafka topic and its data alone
/// when the KafkaTopic goes); with no store volume there is no volume Event.
#[tokio::test]
async fn retained_topic_is_unmanaged_before_it_goes() {
    let (client, server) = serve(vec![
        store_volumes(vec![]),
        get_metadata(TOPIC).answer(meta("prod-transactions", Some(UID))),
        merge_patch(TOPIC)
            .body_eq(json!({"metadata": {"annotations": {"strimzi.io/managed": "false"}}}))
            .answer(json!({
                "apiVersion": "kafka.strimzi.io/v1",
                "kind": "KafkaTopic",
                "metadata": {"name": "prod-transactions", "namespace": "bigpeer",
                             "annotations": {"strimzi.io/managed": "false"}},
            })),
    ]);
    let events = recorder(&client);

    let result = cleanup(&client, &events, &bigpeer(), true).await;
    server.done((client, events)).await;

    result.expect("cleaned up");
}
