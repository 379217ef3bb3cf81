//! Store volumes grow with `store.storage.size`: the claims are raised (the StatefulSet's
//! claim template, which Kubernetes does not let change, keeps its size), and a StorageClass
//! that refuses expansion gives a clear Degraded reason instead of a failing reconcile loop.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use smbp_operator::api::BigPeer;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(120);

fn request(p: &PersistentVolumeClaim) -> String {
    p.spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["storage"]
        .0
        .clone()
}

async fn allow_expansion(client: &kube::Client, allow: bool) {
    Api::<StorageClass>::all(client.clone())
        .patch(
            "standard",
            &PatchParams::default(),
            &Patch::Merge(json!({ "allowVolumeExpansion": allow })),
        )
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn store_volumes_grow_with_the_spec() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-volumes").await;
    let _op = Operator::start(&kubeconfig, "volumes", free_port(), false);
    let mut body = bigpeer("roomy", &ns);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "roomy", LONG).await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);

    // Grow: every claim is raised, the template keeps 1Gi, nothing fails.
    body["spec"]["store"]["storage"]["size"] = json!("2Gi");
    apply_bigpeer(&client, &body).await.unwrap();
    wait_for("claims raised to 2Gi", LONG, || async {
        let list = pvcs.list(&ListParams::default()).await.ok()?.items;
        (list.len() == 3 && list.iter().all(|p| request(p) == "2Gi")).then_some(())
    })
    .await;
    let sts = Api::<StatefulSet>::namespaced(client.clone(), &ns)
        .get("roomy-store")
        .await
        .unwrap();
    let template = &sts.spec.unwrap().volume_claim_templates.unwrap()[0];
    assert_eq!(
        request(template),
        "1Gi",
        "the claim template keeps its size"
    );
    let bp = wait_for("growth reported, not a failure", LONG, || async {
        let bp = api.get("roomy").await.ok()?;
        (bp.status.as_ref()?.observed_generation == bp.metadata.generation).then_some(bp)
    })
    .await;
    assert_eq!(
        condition(&bp, "Degraded").unwrap().0,
        "False",
        "{:?}",
        condition(&bp, "Degraded")
    );
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "VolumeExpansion")
    );
    assert!(
        !event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "ReconcileFailed")
    );

    // A StorageClass that refuses expansion: a clear reason, the rest keeps working.
    allow_expansion(&client, false).await;
    body["spec"]["store"]["storage"]["size"] = json!("3Gi");
    apply_bigpeer(&client, &body).await.unwrap();
    let bp = wait_for("VolumeExpansionFailed", LONG, || async {
        let bp = api.get("roomy").await.ok()?;
        (condition(&bp, "Degraded")?.1 == "VolumeExpansionFailed").then_some(bp)
    })
    .await;
    allow_expansion(&client, true).await;
    let (_, _, message) = condition(&bp, "Degraded").unwrap();
    assert!(message.contains("cannot grow to 3Gi"), "{message}");
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "VolumeExpansionFailed")
    );
    // Once the class allows it again, the claims follow.
    wait_for("claims raised to 3Gi", LONG, || async {
        let list = pvcs.list(&ListParams::default()).await.ok()?.items;
        list.iter().all(|p| request(p) == "3Gi").then_some(())
    })
    .await;
}
