//! `make bench`: the admission webhook's latency for a realistic BigPeer. The pure part (build
//! every object, translate a refusal to its field) always; one whole review (discovery, the
//! store StatefulSet read, the list of BigPeers and the parallel server-side dry runs of every
//! object) against the local control plane when KUBECONFIG reaches one, and there too the
//! review of a BigPeerApp with an app ID (a GET of its BigPeer and a list of the namespace's
//! apps, in parallel, among 50 apps) and of a BigPeerApiKey (a GET of its app). Prints p50/p99;
//! asserts nothing about time.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams};
use kube::core::admission::AdmissionReview;
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::build::desired;
use smbp_operator::controller::integrations::IntegrationCache;
use smbp_operator::images::RelatedImages;
use smbp_operator::telemetry::metrics::Metrics;
use smbp_operator::testing::{sample_inputs, sample_with};
use smbp_operator::webhook::{Webhook, decide, fields};

const NS: &str = "smbp-bench-webhook";

/// The sample with what a production BigPeer carries: scheduling, resources, env, extra
/// NetworkPolicy rules, a load balancer and monitoring.
fn realistic() -> BigPeer {
    let pod = json!({
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "8Gi"}},
        "scheduling": {
            "nodeSelector": {"node.kubernetes.io/instance-type": "m6i.2xlarge"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "bigpeer", "effect": "NoSchedule"}],
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "prod"}}}}]}}
        },
        "template": {"labels": {"team": "sync"}, "annotations": {"owner": "platform"}, "env": [{"name": "RUST_LOG", "value": "info"}]}
    });
    let mut v = sample_with(&json!({"spec": {
        "store": {"pod": pod},
        "subscription": {"pod": pod},
        "api": {"pod": pod},
        "monitoring": {"enabled": true, "labels": {"release": "prometheus"}},
        "network": {
            "hostname": "bigpeer.example.com",
            "expose": {"loadBalancer": {"loadBalancerClass": "service.k8s.aws/nlb", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}}},
            "policies": {
                "metricsFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                "extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 7000}]}]
            }
        }
    }}));
    v["metadata"]["namespace"] = json!(NS);
    let mut bp: BigPeer = serde_json::from_value(v).unwrap();
    bp.metadata.uid = Some("00000000-0000-0000-0000-00000000b001".into());
    bp
}

fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |q: f64| {
        d[((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1].as_secs_f64() * 1e3
    };
    (at(0.50), at(0.99))
}

fn pure(bp: &BigPeer) {
    let inputs = sample_inputs(bp);
    let objects = desired(bp, &inputs);
    let sts = objects
        .iter()
        .find(|o| o.resource.kind == "StatefulSet")
        .unwrap()
        .clone();
    let n = 2_000;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let objs = desired(black_box(bp), &inputs);
        black_box(fields::translate(
            bp,
            &sts,
            "spec.template.spec.tolerations[0].operator",
        ));
        black_box(decide::redact("https://u:p@auth.example.com/x"));
        black_box(objs);
        times.push(t.elapsed());
    }
    let (p50, p99) = percentiles(times);
    println!(
        "webhook pure part (build {} objects + translate one refusal): p50 {p50:.3} ms, p99 {p99:.3} ms ({n} iterations)",
        objects.len()
    );
}

async fn whole(bp: &BigPeer) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    tokio::time::timeout(Duration::from_secs(5), client.apiserver_version()).await??;
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NS.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .patch(NS, &PatchParams::apply("bench").force(), &Patch::Apply(&ns))
        .await?;
    let hook = Arc::new(Webhook {
        client: client.clone(),
        images: RelatedImages::default(),
        integrations: IntegrationCache::default(),
        namespaces: vec![None],
        metrics: Arc::new(Metrics::default()),
    });
    let object: DynamicObject = serde_json::from_value(serde_json::to_value(bp)?)?;
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "kind": {"group": "smbp.io", "version": "v1alpha1", "kind": "BigPeer"},
            "resource": {"group": "smbp.io", "version": "v1alpha1", "resource": "bigpeers"},
            "name": "prod", "namespace": NS, "operation": "CREATE",
            "userInfo": {"username": "bench"}, "object": object, "dryRun": false
        }
    }))?;
    let objects = hook.objects(bp, NS).await.len();
    for _ in 0..5 {
        hook.review(review.clone()).await;
    }
    let n = 100;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let answer = hook.review(review.clone()).await;
        times.push(t.elapsed());
        let allowed = answer.response.as_ref().is_some_and(|r| r.allowed);
        anyhow::ensure!(
            allowed,
            "the realistic BigPeer was refused: {:?}",
            answer.response.map(|r| r.result.message)
        );
    }
    let (p50, p99) = percentiles(times);
    println!(
        "webhook review against the local control plane ({objects} objects dry-run in parallel): p50 {p50:.1} ms, p99 {p99:.1} ms ({n} reviews)"
    );
    apps_and_keys(&client, &hook).await?;
    let _ = Api::<Namespace>::all(client)
        .delete(NS, &Default::default())
        .await;
    Ok(())
}

/// An AdmissionReview of the CREATE of `object` (one of our kinds) in [`NS`].
fn review_of(object: serde_json::Value) -> anyhow::Result<AdmissionReview<DynamicObject>> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let plural = smbp_operator::api::KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .unwrap_or_default();
    Ok(serde_json::from_value(json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "kind": {"group": "smbp.io", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "smbp.io", "version": "v1alpha1", "resource": plural},
            "name": object["metadata"]["name"], "namespace": NS, "operation": "CREATE",
            "userInfo": {"username": "bench"}, "object": object, "dryRun": false
        }
    }))?)
}

/// Reviews of an app with an app ID among 50 apps of the namespace, and of a key of one.
async fn apps_and_keys(client: &kube::Client, hook: &Webhook) -> anyhow::Result<()> {
    let apps: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        NS,
        &kube::core::ApiResource::erase::<smbp_operator::api::BigPeerApp>(&()),
    );
    let app = |name: &str, id: String| {
        json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
               "metadata": {"name": name, "namespace": NS},
               "spec": {"bigPeerRef": {"name": "prod"}, "appId": id,
                        "authProviders": {"corp": {"tokenWebhook": {"url": "https://auth.example.com/ditto"}}}}})
    };
    for i in 0..50 {
        let name = format!("app-{i}");
        apps.patch(
            &name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(app(&name, format!("00000000-0000-4000-8000-{i:012}"))),
        )
        .await?;
    }
    let key = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApiKey",
        "metadata": {"name": "key", "namespace": NS},
        "spec": {"appRef": {"name": "app-0"}, "expiresAt": "2100-01-01T00:00:00Z",
                 "permissions": {"read": {"everything": true}}}});
    for (what, review) in [
        (
            "BigPeerApp with an app ID (GET BigPeer + list of 50 apps)",
            review_of(app(
                "new-app",
                "00000000-0000-4000-8000-999999999999".into(),
            ))?,
        ),
        ("BigPeerApiKey (GET app)", review_of(key)?),
    ] {
        for _ in 0..5 {
            hook.review(review.clone()).await;
        }
        let n = 200;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let answer = hook.review(review.clone()).await;
            times.push(t.elapsed());
            anyhow::ensure!(
                answer.response.as_ref().is_some_and(|r| r.allowed),
                "{what} refused: {:?}",
                answer.response.map(|r| r.result.message)
            );
        }
        let (p50, p99) = percentiles(times);
        println!(
            "webhook review of a {what} against the local control plane: p50 {p50:.1} ms, p99 {p99:.1} ms ({n} reviews)"
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let bp = realistic();
    pure(&bp);
    if let Err(e) = whole(&bp).await {
        println!(
            "webhook review against a control plane: skipped ({e}); start one with `make cluster-up`"
        );
    }
}
