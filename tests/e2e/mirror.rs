//! `spec.image.registry` (a mirror) keeps the digests the operator's release pins: through the
//! real API server, with an operator whose `RELATED_IMAGE_*` pin the store and API images by
//! digest and leave the subscription image unpinned.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use kube::api::{Api, ListParams};
use serde_json::json;

use crate::harness::*;

const MIRROR: &str = "mirror.example.com:5000/air/ditto";
const LONG: std::time::Duration = std::time::Duration::from_secs(180);

fn image(t: &PodTemplateSpec) -> String {
    t.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn a_mirror_registry_keeps_the_release_digests() {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-mirror").await;
    let store = format!("sha256:{}", "5".repeat(64));
    let api = format!("sha256:{}", "a".repeat(64));
    let pinned_store = format!("quay.io/ditto/big-peer-store@{store}");
    let pinned_api = format!("quay.io/ditto/big-peer-api:1.59.0@{api}");
    let _op = Operator::start_with(
        &kubeconfig,
        "mirror",
        free_port(),
        false,
        &[
            ("WATCH_NAMESPACE", ns.as_str()),
            ("RELATED_IMAGE_STORE_1_59_0", pinned_store.as_str()),
            ("RELATED_IMAGE_API_1_59_0", pinned_api.as_str()),
        ],
    );
    let mut body = bigpeer("mirrored", &ns);
    body["spec"]["image"] = json!({"registry": MIRROR});
    apply_bigpeer(&client, &body).await.unwrap();

    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let deps: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let want = [
        ("store", format!("{MIRROR}/big-peer-store@{store}")),
        ("api", format!("{MIRROR}/big-peer-api@{api}")),
        // Not pinned by the release: the version tag.
        (
            "subscription",
            format!("{MIRROR}/big-peer-subscription:1.59.0"),
        ),
    ];
    for (component, expected) in &want {
        let name = format!("mirrored-{component}");
        let got = wait_for(&format!("{name} applied"), LONG, || async {
            if *component == "store" {
                sts.get(&name).await.ok()?.spec.map(|s| image(&s.template))
            } else {
                deps.get(&name).await.ok()?.spec.map(|d| image(&d.template))
            }
        })
        .await;
        assert_eq!(&got, expected, "{component}");
    }
    // The pods run them.
    wait_ready(&client, &ns, "mirrored", LONG).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for (component, expected) in &want {
        let list = pods
            .list(&ListParams::default().labels(&format!(
                "app.kubernetes.io/instance=mirrored,app.kubernetes.io/component={component}"
            )))
            .await
            .unwrap();
        assert!(!list.items.is_empty(), "{component}: no pod");
        for p in list.items {
            assert_eq!(
                p.spec.unwrap().containers[0].image.as_deref(),
                Some(expected.as_str()),
                "{component}"
            );
        }
    }
}
