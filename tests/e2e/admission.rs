//! Admission: the operator's validating webhook, registered by a local operator process
//! (`--webhook-register-local`), refuses every BigPeer of the corpus (`tests/corpus/invalid`)
//! through the real API server with a message naming the BigPeer field, admits every valid
//! example, refuses a host name or topic another BigPeer holds, and what it admits builds
//! objects the API server accepts. The registration goes away when the operator stops.

use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams};
use kube::{Client, ResourceExt};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;
use smbp_operator::facts::{MANAGER, OPERATOR_SERVICE_ACCOUNT, WEBHOOK_LOCAL_CONFIGURATION};

use crate::corpus;
use crate::harness::*;

const LOCAL_WEBHOOK_ROLE: &str = "e2e-smbp-operator-local-webhook";

/// Let the operator's ServiceAccount manage ValidatingWebhookConfigurations: only a local run
/// registers one itself, so this is not in the generated RBAC.
async fn grant_local_registration(client: &Client) {
    let cr = ClusterRole {
        metadata: ObjectMeta {
            name: Some(LOCAL_WEBHOOK_ROLE.into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["admissionregistration.k8s.io".into()]),
            resources: Some(vec!["validatingwebhookconfigurations".into()]),
            verbs: ["get", "create", "patch", "delete"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let pp = PatchParams::apply("e2e").force();
    Api::<ClusterRole>::all(client.clone())
        .patch(LOCAL_WEBHOOK_ROLE, &pp, &Patch::Apply(&cr))
        .await
        .unwrap();
    let crb = ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(LOCAL_WEBHOOK_ROLE.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: LOCAL_WEBHOOK_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: OPERATOR_SERVICE_ACCOUNT.into(),
            namespace: Some(OPERATOR_NS.into()),
            ..Default::default()
        }]),
    };
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(LOCAL_WEBHOOK_ROLE, &pp, &Patch::Apply(&crb))
        .await
        .unwrap();
}

fn vwcs(client: &Client) -> Api<ValidatingWebhookConfiguration> {
    Api::all(client.clone())
}

/// The operator with its webhook registered, once the API server calls it.
async fn start(client: &Client, test: &str) -> (Operator, String) {
    let kubeconfig = install(client).await;
    grant_local_registration(client).await;
    // Monitors, HTTPRoutes and Routes are checked by their CRDs' schemas too.
    install_crds(&["prometheus", "gatewayapi", "openshiftroute"]);
    let _ = vwcs(client)
        .delete(WEBHOOK_LOCAL_CONFIGURATION, &DeleteParams::default())
        .await;
    let ns = namespace(client, test).await;
    let addr = format!("127.0.0.1:{}", free_port());
    let op = Operator::start_with(
        &kubeconfig,
        test,
        free_port(),
        false,
        &[
            ("WEBHOOK_BIND_ADDRESS", addr.as_str()),
            ("WEBHOOK_REGISTER_LOCAL", "true"),
        ],
    );
    // Live once the API server calls it: a dry run of a valid BigPeer (nothing stored) shows up
    // in the webhook's request count. (A bad one could be refused by a CEL rule first.)
    let valid = bigpeer("probe", &ns);
    wait_for(
        "the API server to call the webhook",
        Duration::from_secs(60),
        || async {
            let _ = Api::<BigPeer>::namespaced(client.clone(), &ns)
                .patch(
                    "probe",
                    &PatchParams::apply("e2e").force().dry_run(),
                    &Patch::Apply(&valid),
                )
                .await;
            op.http_get("/metrics")
                .await
                .contains("smbp_operator_webhook_requests_total{")
                .then_some(())
        },
    )
    .await;
    (op, ns)
}

/// Stop the operator and check that it took its registration with it.
async fn stop(client: &Client, mut op: Operator) {
    assert!(op.terminate().await, "the operator exits cleanly");
    let left = vwcs(client)
        .get_opt(WEBHOOK_LOCAL_CONFIGURATION)
        .await
        .unwrap();
    assert!(
        left.is_none(),
        "the local ValidatingWebhookConfiguration is removed when the operator stops"
    );
}

fn short(i: usize) -> String {
    format!("w{i}")
}

/// The refusal names the field: its path, or the path without `spec.` (as the CRD's CEL
/// messages write it, e.g. `store.storage.size cannot shrink`).
fn names_field(message: &str, field: &str) -> bool {
    message.contains(field)
        || field
            .strip_prefix("spec.")
            .is_some_and(|f| message.contains(f))
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn every_corpus_case_is_refused_naming_its_field_and_every_example_is_admitted() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission").await;
    let cases = corpus::load();
    let mut failures = vec![];
    let (mut creates, mut updates) = (0, 0);
    let started = Instant::now();
    for (i, (file, c)) in cases.iter().enumerate() {
        let name = short(i);
        if let Some(updated) = c.updated(&name, &ns) {
            updates += 1;
            if let Err(e) = apply_bigpeer(&client, &c.created(&name, &ns)).await {
                failures.push(format!("{file} {}: the create was refused: {e}", c.name));
                continue;
            }
            match apply_bigpeer(&client, &updated).await {
                Ok(_) => failures.push(format!("{file} {}: the update was admitted", c.name)),
                Err(kube::Error::Api(s)) if names_field(&s.message, &c.field) => {}
                Err(e) => failures.push(format!(
                    "{file} {}: the refusal does not name {}: {e}",
                    c.name, c.field
                )),
            }
            let _ = Api::<BigPeer>::namespaced(client.clone(), &ns)
                .delete(&name, &DeleteParams::default())
                .await;
        } else {
            creates += 1;
            let body = c.created(&name, &ns);
            match apply_bigpeer(&client, &body).await {
                Ok(_) => {
                    failures.push(format!("{file} {}: admitted", c.name));
                    // Out of the way of the cases after it (host names are one per cluster).
                    let _ = Api::<BigPeer>::namespaced(client.clone(), &ns)
                        .delete(&name, &DeleteParams::default())
                        .await;
                }
                Err(kube::Error::Api(s)) if names_field(&s.message, &c.field) => {
                    if s.message.contains("s3cr3t") {
                        failures.push(format!("{file} {}: the refusal repeats a secret", c.name));
                    }
                }
                Err(e) => failures.push(format!(
                    "{file} {}: the refusal does not name {}: {e}",
                    c.name, c.field
                )),
            }
        }
    }
    eprintln!(
        "admission corpus: {} cases ({creates} creates, {updates} updates), {} refused as expected, in {:.1}s",
        cases.len(),
        cases.len() - failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Every valid example is admitted (one at a time: several share a host name).
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    for (i, mut ex) in examples().into_iter().enumerate() {
        let name = format!("ex{i}");
        ex["metadata"]["name"] = json!(name);
        ex["metadata"]["namespace"] = json!(ns);
        if let Err(e) = apply_bigpeer(&client, &ex).await {
            panic!("example {i} was refused: {e}");
        }
        api.delete(&name, &DeleteParams::default()).await.unwrap();
        wait_for(
            &format!("example {name} deleted"),
            Duration::from_secs(60),
            || async { api.get_opt(&name).await.unwrap().is_none().then_some(()) },
        )
        .await;
    }
    stop(&client, op).await;
}

/// The BigPeers of config/samples and docs/examples.
fn examples() -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{root}/config/samples/smbp_v1alpha1_bigpeer.yaml")];
    let mut dirs = vec![std::path::PathBuf::from(format!("{root}/docs/examples"))];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p.display().to_string());
            }
        }
    }
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc).unwrap();
            if v["kind"] == "BigPeer" {
                out.push(v);
            }
        }
    }
    assert!(out.len() >= 7, "{} examples", out.len());
    out
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn a_host_name_or_topic_another_bigpeer_holds_is_refused_naming_it() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission-x").await;
    let host = |name: &str| {
        let mut b = bigpeer(name, &ns);
        // Unique per run: BigPeers of an earlier run may still hold theirs.
        b["spec"]["network"] = json!({"hostname": format!("{ns}.e2e.example.com")});
        b
    };
    apply_bigpeer(&client, &host("first")).await.unwrap();
    let err = apply_bigpeer(&client, &host("second")).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("spec.network.hostname") && msg.contains(&format!("{ns}/first")),
        "{msg}"
    );
    // Updating the holder itself is fine.
    let mut again = host("first");
    again["spec"]["api"]["replicas"] = json!(2);
    apply_bigpeer(&client, &again).await.unwrap();

    let topic = |name: &str| {
        let mut b = bigpeer(name, &ns);
        b["spec"]["transactionLog"]["topic"] = json!({"name": format!("{ns}-shared")});
        b
    };
    apply_bigpeer(&client, &topic("third")).await.unwrap();
    let err = apply_bigpeer(&client, &topic("fourth")).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("spec.transactionLog.topic.name") && msg.contains(&format!("{ns}/third")),
        "{msg}"
    );
    // Another Kafka cluster may have a topic of the same name.
    let mut elsewhere = topic("fifth");
    elsewhere["spec"]["transactionLog"]["external"]["bootstrapServers"] =
        json!(["other-kafka.example:9093"]);
    apply_bigpeer(&client, &elsewhere).await.unwrap();
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    for name in ["first", "third", "fifth"] {
        let _ = api.delete(name, &DeleteParams::default()).await;
    }
    stop(&client, op).await;
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn what_the_webhook_admits_builds_objects_the_api_server_accepts() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission-p").await;
    let mut runner = TestRunner::deterministic();
    let strategy = crate::generators::bigpeer();
    let (mut admitted, n) = (0, 24);
    for i in 0..n {
        let mut bp = strategy.new_tree(&mut runner).unwrap().current();
        bp.metadata = ObjectMeta {
            name: Some(format!("p{i}")),
            namespace: Some(ns.clone()),
            ..Default::default()
        };
        let mut body = serde_json::to_value(&bp).unwrap();
        body["apiVersion"] = json!("smbp.io/v1alpha1");
        body["kind"] = json!("BigPeer");
        // Dry run: the webhook is asked, nothing is stored (many share a host name).
        let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
        let answer = api
            .patch(
                &bp.name_any(),
                &PatchParams::apply("e2e").force().dry_run(),
                &Patch::Apply(&body),
            )
            .await;
        let Ok(stored) = answer else {
            eprintln!("generated BigPeer {i} refused: {}", answer.unwrap_err());
            continue;
        };
        admitted += 1;
        // What the operator builds for it is accepted by the API server.
        let mut stored = stored;
        stored.metadata.uid = Some("00000000-0000-0000-0000-000000000001".into());
        let inputs = smbp_operator::build::BuildInputs::offline(&stored, vec!["kafka:9093".into()]);
        for obj in smbp_operator::build::desired(&stored, &inputs) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &obj.resource);
            match api
                .patch(
                    &obj.name,
                    &PatchParams::apply(MANAGER).force().dry_run(),
                    &Patch::Apply(&obj.body),
                )
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => panic!(
                    "BigPeer {i} was admitted but its {} is refused: {e}\n{}",
                    obj.key(),
                    serde_json::to_string(&body).unwrap()
                ),
            }
        }
    }
    eprintln!(
        "property: {admitted} of {n} generated BigPeers admitted, all their objects accepted"
    );
    assert!(
        admitted * 2 >= n,
        "most generated BigPeers are valid: {admitted} of {n}"
    );
    stop(&client, op).await;
}
