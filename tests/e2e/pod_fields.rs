//! The CRD's rules for container fields (src/api/cel.rs) against Kubernetes' own pod
//! validation, on the API server of the cluster under test (of any supported version).

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;

use crate::harness::*;

/// The container fields the CRD's rules check as Kubernetes' pod validation does (resource
/// names, env `value`/`valueFrom`, `fieldRef`, `resourceFieldRef.resource`; src/api/cel.rs),
/// with edge cases of each: for every one, the API server refuses a dry-run Pod
/// with it exactly when it refuses a dry-run BigPeer with it in its store's pod options. Pods
/// are validated on every Kubernetes version (a 1.31 StatefulSet's template is not).
#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn pod_field_rules_agree_with_pod_validation() {
    let client = admin().await;
    install(&client).await;
    let ns = "smbp-cel-pod-fields";
    let apply = |v: Value| {
        let api: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &ApiResource::from_gvk(&GroupVersionKind::gvk(
                "",
                "v1",
                v["kind"].as_str().unwrap(),
            )),
        );
        async move {
            api.patch(
                v["metadata"]["name"].as_str().unwrap(),
                &PatchParams::apply("cel-pod-fields-test"),
                &Patch::Apply(&v),
            )
            .await
            .unwrap();
        }
    };
    apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})).await;
    let sas: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ServiceAccount")),
    );
    let _ = sas
        .patch(
            "default",
            &PatchParams::apply("cel-pod-fields-test"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
            ),
        )
        .await;
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Pod")),
    );
    let bigpeers: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<BigPeer>(&()));
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };

    // (what, the container's resources, the container's env)
    let mut cases: Vec<(String, Value, Value)> = vec![];
    let prefixes = [
        "".to_string(),
        "example.com/".into(),
        "Example.com/".into(),
        "a..b/".into(),
        "-a/".into(),
        "a/b/".into(),
        "/".into(),
        "kubernetes.io/".into(),
        "x.kubernetes.io/".into(),
        "requests.example.com/".into(),
        "requests.kubernetes.io/".into(),
        "hugepages-".into(),
        format!("{}.io/", "a".repeat(241)),
        format!("{}.io/", "a".repeat(242)),
        format!("{}.kubernetes.io/", "a".repeat(239)),
        format!("{}.kubernetes.io/", "a".repeat(240)),
    ];
    let names = [
        "gpu".to_string(),
        "cpu".into(),
        "memory".into(),
        "ephemeral-storage".into(),
        "pods".into(),
        "storage".into(),
        "requests.cpu".into(),
        "hugepages-2Mi".into(),
        "hugepages-1Gi".into(),
        "hugepages-1.5Ki".into(),
        "hugepages-0".into(),
        "hugepages-1500m".into(),
        "hugepages-x".into(),
        "hugepages-".into(),
        "a_b.c-D".into(),
        "_a".into(),
        "a.".into(),
        "".into(),
        "a".repeat(63),
        "a".repeat(64),
    ];
    for p in &prefixes {
        for n in &names {
            let r = format!("{p}{n}");
            // Zero is a multiple of every page size; hugepages need cpu or memory.
            let mut limits = json!({"cpu": "1", "memory": "1Gi"});
            limits[&r] = json!("0");
            cases.push((
                format!("resources.limits[{r}]"),
                json!({"limits": limits}),
                json!([]),
            ));
        }
    }
    for r in ["gpu", "example.com/gpu", "hugepages-2Mi", "Example.com/gpu"] {
        cases.push((
            format!("resources.requests[{r}]"),
            json!({"requests": {r: "0", "cpu": "1", "memory": "1Gi"}, "limits": {r: "0", "cpu": "1", "memory": "1Gi"}}),
            json!([]),
        ));
    }
    let long = |n: usize| "a".repeat(n);
    let field_paths = [
        "metadata.name".to_string(),
        "metadata.namespace".into(),
        "metadata.uid".into(),
        "spec.nodeName".into(),
        "spec.host".into(),
        "spec.serviceAccountName".into(),
        "spec.restartPolicy".into(),
        "spec.schedulerName".into(),
        "status.phase".into(),
        "status.hostIP".into(),
        "status.hostIPs".into(),
        "status.podIP".into(),
        "status.podIPs".into(),
        "metadata.labels".into(),
        "metadata.annotations".into(),
        "metadata.labels['a']".into(),
        "metadata.labels['A_b.c-d']".into(),
        "metadata.labels['a b']".into(),
        "metadata.labels['example.com/tier']".into(),
        "metadata.labels['Example.com/tier']".into(),
        "metadata.annotations['Example.COM/Tier']".into(),
        "metadata.annotations['a..b/c']".into(),
        "metadata.labels['example.com/']".into(),
        "metadata.labels['']".into(),
        "metadata.labels['a']']".into(),
        "metadata.labels[\"a\"]".into(),
        "metadata.labels['a']x".into(),
        "metadata.name['a']".into(),
        "['a']".into(),
        "Metadata.name".into(),
        "metadata.name ".into(),
        "".into(),
        format!("metadata.labels['{}.io/{}']", long(250), long(63)),
        format!("metadata.labels['{}.io/a']", long(251)),
        format!("metadata.annotations['{}']", long(64)),
    ];
    for p in &field_paths {
        cases.push((
            format!("fieldRef.fieldPath {p}"),
            json!({}),
            json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": p}}}]),
        ));
    }
    for v in ["", "v1", "v2", "apps/v1"] {
        cases.push((
            format!("fieldRef.apiVersion {v}"),
            json!({}),
            json!([{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": v, "fieldPath": "metadata.name"}}}]),
        ));
    }
    for r in [
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.hugepages-2Mi",
        "requests.hugepages-",
        "limits.hugepages-x",
        "limits.foo",
        "limits.example.com/gpu",
        "requests.storage",
        "cpu",
        "",
    ] {
        cases.push((
            format!("resourceFieldRef.resource {r}"),
            json!({}),
            json!([{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": r}}}]),
        ));
    }
    let field_ref = json!({"fieldPath": "metadata.name"});
    let secret = json!({"name": "s", "key": "k"});
    for (what, env) in [
        ("value", json!({"name": "A", "value": "x"})),
        ("nothing", json!({"name": "A"})),
        (
            "empty value and valueFrom",
            json!({"name": "A", "value": "", "valueFrom": {"fieldRef": field_ref}}),
        ),
        (
            "value and valueFrom",
            json!({"name": "A", "value": "x", "valueFrom": {"fieldRef": field_ref}}),
        ),
        (
            "value and empty valueFrom",
            json!({"name": "A", "value": "x", "valueFrom": {}}),
        ),
        ("empty valueFrom", json!({"name": "A", "valueFrom": {}})),
        (
            "secretKeyRef",
            json!({"name": "A", "valueFrom": {"secretKeyRef": secret}}),
        ),
        (
            "configMapKeyRef",
            json!({"name": "A", "valueFrom": {"configMapKeyRef": secret}}),
        ),
        (
            "two sources",
            json!({"name": "A", "valueFrom": {"fieldRef": field_ref, "secretKeyRef": secret}}),
        ),
        (
            "three sources",
            json!({"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}, "configMapKeyRef": secret, "secretKeyRef": secret}}),
        ),
    ] {
        cases.push((format!("env {what}"), json!({}), json!([env])));
    }

    let mut mismatches = vec![];
    for (what, resources, env) in &cases {
        let pod: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "pod-fields", "namespace": ns},
            "spec": {"automountServiceAccountToken": false, "containers": [
                {"name": "c", "image": "busybox", "resources": resources, "env": env}]}
        }))
        .unwrap();
        let mut bp = smbp_operator::testing::sample_of_with(
            "BigPeer",
            &json!({"spec": {"store": {"pod": {"resources": resources, "template": {"env": env}}}}}),
        );
        bp["metadata"]["namespace"] = json!(ns);
        let bp: DynamicObject = serde_json::from_value(bp).unwrap();
        let pod_verdict = pods.create(&dry, &pod).await;
        let bp_verdict = bigpeers.create(&dry, &bp).await;
        if pod_verdict.is_ok() != bp_verdict.is_ok() {
            mismatches.push(format!(
                "{what}: Pod {}, BigPeer {}",
                pod_verdict.map_or_else(|e| e.to_string(), |_| "accepted".into()),
                bp_verdict.map_or_else(|e| e.to_string(), |_| "accepted".into()),
            ));
        }
    }
    let nss: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")),
    );
    let _ = nss.delete(ns, &DeleteParams::default()).await;
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    println!("{} cases: the BigPeer and the Pod agree", cases.len());
}
