//! Admission: the operator's validating webhook, registered by a local operator process
//! (`--webhook-register-local`), refuses every object of the corpus (`tests/corpus/invalid`:
//! BigPeers, BigPeerApps, BigPeerApiKeys) through the real API server with a message naming the
//! field, admits every valid example, refuses a host name or topic another BigPeer holds, an app
//! ID another app of the BigPeer holds and a key expiring in the past, warns about an app or key
//! whose BigPeer or app is missing, and what it admits builds objects the API server accepts.
//! The registration goes away when the operator stops.

use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
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
/// messages write it, e.g. `store.storage.size cannot shrink`), with a map key written
/// `[k]` (a CEL rule's path) or `.k` (the schema's checks).
fn names_field(message: &str, field: &str) -> bool {
    let dotted = field.replace('[', ".").replace(']', "");
    [field, dotted.as_str()].iter().any(|f| {
        message.contains(f) || f.strip_prefix("spec.").is_some_and(|f| message.contains(f))
    })
}

/// The API of the object `body` (one of our kinds), in its namespace.
fn api_of(client: &Client, body: &Value) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "smbp.io",
        "v1alpha1",
        body["kind"].as_str().unwrap(),
    ));
    Api::namespaced_with(
        client.clone(),
        body["metadata"]["namespace"].as_str().unwrap(),
        &ar,
    )
}

/// Delete the object `body` names, if it is there.
async fn delete_object(client: &Client, body: &Value) {
    let _ = api_of(client, body)
        .delete(
            body["metadata"]["name"].as_str().unwrap(),
            &DeleteParams::default(),
        )
        .await;
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn every_corpus_case_is_refused_naming_its_field_and_every_example_is_admitted() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission").await;
    let cases = corpus::load();
    let mut failures = vec![];
    let (mut creates, mut updates) = (0, 0);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let started = Instant::now();
    for (i, (file, c)) in cases.iter().enumerate() {
        let name = short(i);
        *kinds.entry(c.kind().to_string()).or_insert(0) += 1;
        if let Some(updated) = c.updated(&name, &ns) {
            updates += 1;
            let created = c.created(&name, &ns);
            if let Err(e) = apply_object(&client, &created).await {
                failures.push(format!("{file} {}: the create was refused: {e}", c.name));
                continue;
            }
            match apply_object(&client, &updated).await {
                Ok(_) => failures.push(format!("{file} {}: the update was admitted", c.name)),
                Err(kube::Error::Api(s)) if names_field(&s.message, &c.field) => {}
                Err(e) => failures.push(format!(
                    "{file} {}: the refusal does not name {}: {e}",
                    c.name, c.field
                )),
            }
            delete_object(&client, &created).await;
        } else {
            creates += 1;
            let body = c.created(&name, &ns);
            match apply_object(&client, &body).await {
                Ok(_) => {
                    failures.push(format!("{file} {}: admitted", c.name));
                    // Out of the way of the cases after it (host names are one per cluster).
                    delete_object(&client, &body).await;
                }
                Err(kube::Error::Api(s)) if names_field(&s.message, &c.field) => {
                    if s.message.contains("s3cr3t") || s.message.contains("s3cret") {
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
        "admission corpus: {} cases ({creates} creates, {updates} updates; {kinds:?}), {} refused as expected, in {:.1}s",
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
    for (i, mut ex) in examples().into_iter().enumerate() {
        let name = format!("ex{i}");
        ex["metadata"]["name"] = json!(name);
        ex["metadata"]["namespace"] = json!(ns);
        if let Err(e) = apply_object(&client, &ex).await {
            panic!("example {i} ({}) was refused: {e}", ex["kind"]);
        }
        let api = api_of(&client, &ex);
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

/// The BigPeers, BigPeerApps and BigPeerApiKeys of config/samples and docs/examples.
fn examples() -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![
        format!("{root}/config/samples/smbp_v1alpha1_bigpeer.yaml"),
        format!("{root}/config/samples/smbp_v1alpha1_bigpeerapp.yaml"),
        format!("{root}/config/samples/smbp_v1alpha1_bigpeerapikey.yaml"),
        format!("{root}/config/samples/smbp_v1alpha1_bigpeerreplication.yaml"),
        format!("{root}/config/samples/smbp_v1alpha1_bigpeerdatabridge.yaml"),
    ];
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
            if smbp_operator::api::KINDS
                .iter()
                .any(|(k, _)| v["kind"] == *k)
            {
                out.push(v);
            }
        }
    }
    assert!(out.len() >= 9, "{} examples", out.len());
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

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn apps_and_keys_are_checked_against_each_other_and_the_clock() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission-a").await;
    const ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";
    let app = |name: &str, bigpeer: &str, id: Option<&str>| {
        let mut a = bigpeer_app(name, &ns, bigpeer);
        if let Some(id) = id {
            a["spec"]["appId"] = json!(id);
        }
        a
    };
    let refused = |r: Result<(Value, Vec<String>), kube::Error>, field: &str| -> String {
        match r {
            Err(kube::Error::Api(s)) if s.message.contains(field) => s.message.clone(),
            other => panic!("expected a refusal naming {field}: {other:?}"),
        }
    };

    // Apps and keys may come before what they name (a GitOps sync applies them in one go):
    // admitted, with a warning.
    let (_, w) = apply_object(&client, &app("early", "bp", None))
        .await
        .unwrap();
    assert!(
        w.iter()
            .any(|w| w.contains("BigPeer \"bp\" does not exist")),
        "{w:?}"
    );
    let (_, w) = apply_object(&client, &bigpeer_api_key("early-key", &ns, "nope"))
        .await
        .unwrap();
    assert!(
        w.iter()
            .any(|w| w.contains("BigPeerApp \"nope\" does not exist")),
        "{w:?}"
    );
    // ... and without one once it exists.
    apply_bigpeer(&client, &bigpeer("bp", &ns)).await.unwrap();
    let (_, w) = apply_object(&client, &app("holder", "bp", Some(ID)))
        .await
        .unwrap();
    assert!(w.is_empty(), "{w:?}");
    let (_, w) = apply_object(&client, &bigpeer_api_key("k1", &ns, "holder"))
        .await
        .unwrap();
    assert!(w.is_empty(), "{w:?}");

    // One app ID per BigPeer: refused at create (in either case) and when set by an update;
    // another BigPeer's app may have it.
    let m = refused(
        apply_object(&client, &app("second", "bp", Some(&ID.to_uppercase()))).await,
        "spec.appId",
    );
    assert!(m.contains(&format!("{ns}/holder")), "{m}");
    apply_object(&client, &app("later", "bp", None))
        .await
        .unwrap();
    refused(
        apply_object(&client, &app("later", "bp", Some(ID))).await,
        "spec.appId",
    );
    apply_object(&client, &app("other-bp", "bp2", Some(ID)))
        .await
        .unwrap();
    // The holder itself may be updated.
    let mut again = app("holder", "bp", Some(ID));
    again["spec"]["authProviders"]["second"] =
        json!({"tokenWebhook": {"url": "https://auth2.example.com/ditto"}});
    apply_object(&client, &again).await.unwrap();

    // A key's expiry is in the future when created and when changed; other changes of an
    // expired-looking key are not refused for it.
    let mut past = bigpeer_api_key("k2", &ns, "holder");
    past["spec"]["expiresAt"] = json!("2020-01-01T00:00:00Z");
    let m = refused(apply_object(&client, &past).await, "spec.expiresAt");
    assert!(m.contains("is not in the future"), "{m}");
    let mut moved = bigpeer_api_key("k1", &ns, "holder");
    moved["spec"]["expiresAt"] = json!("2020-01-01T00:00:00Z");
    refused(apply_object(&client, &moved).await, "spec.expiresAt");
    let mut later = bigpeer_api_key("k1", &ns, "holder");
    later["spec"]["expiresAt"] = json!("2101-01-01T00:00:00Z");
    later["spec"]["description"] = json!("moved later");
    apply_object(&client, &later).await.unwrap();
    // Server-side dry runs are checked too (the webhook has no side effects).
    let dry = api_of(&client, &past)
        .patch(
            "k2",
            &PatchParams::apply("kubectl").force().dry_run(),
            &Patch::Apply(&past),
        )
        .await;
    assert!(dry.is_err(), "a dry run of a past expiry is refused");

    let metrics = op.http_get("/metrics").await;
    for kind in ["BigPeerApp", "BigPeerApiKey"] {
        assert!(
            metrics.contains(&format!("kind=\"{kind}\"")),
            "reviews of {kind} counted"
        );
    }
    for r in ["AppIdInUse", "ExpiresAtInPast"] {
        assert!(metrics.contains(&format!("refusal=\"{r}\"")), "{r} counted");
    }
    for (kind, name) in [
        ("BigPeerApiKey", "k1"),
        ("BigPeerApiKey", "early-key"),
        ("BigPeerApp", "early"),
        ("BigPeerApp", "holder"),
        ("BigPeerApp", "later"),
        ("BigPeerApp", "other-bp"),
    ] {
        delete_object(
            &client,
            &json!({"kind": kind, "metadata": {"name": name, "namespace": ns}}),
        )
        .await;
    }
    let _ = Api::<BigPeer>::namespaced(client.clone(), &ns)
        .delete("bp", &DeleteParams::default())
        .await;
    stop(&client, op).await;
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn replications_and_bridges_are_checked_against_what_they_name() {
    let client = admin().await;
    let (op, ns) = start(&client, "e2e-admission-l").await;
    let replication = |name: &str, app: &str, spec: Value| {
        let mut v = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
                           "metadata": {"name": name, "namespace": ns},
                           "spec": {"appRef": {"name": app}}});
        smbp_operator::testing::merge_patch(&mut v["spec"], &spec);
        v
    };
    let bridge = |name: &str, app: &str, spec: Value| {
        let mut v = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
                           "metadata": {"name": name, "namespace": ns},
                           "spec": {"appRef": {"name": app}}});
        smbp_operator::testing::merge_patch(&mut v["spec"], &spec);
        v
    };
    let refused = |r: Result<(Value, Vec<String>), kube::Error>, field: &str| -> String {
        match r {
            Err(kube::Error::Api(s)) if s.message.contains(field) => s.message.clone(),
            other => panic!("expected a refusal naming {field}: {other:?}"),
        }
    };
    let warned = |w: &[String], what: &str| {
        assert!(
            w.iter().any(|w| w.contains(what)),
            "no warning {what:?}: {w:?}"
        );
    };

    // Before their app and BigPeer (GitOps order): admitted, with warnings naming the field.
    let (_, w) = apply_object(
        &client,
        &replication(
            "early",
            "nope",
            json!({"trustedCas": [{"configMapRef": {"name": "peer-ca"}}]}),
        ),
    )
    .await
    .unwrap();
    warned(&w, "spec.appRef.name: BigPeerApp \"nope\" does not exist");
    warned(
        &w,
        "spec.trustedCas[0].configMapRef.name: ConfigMap \"peer-ca\" does not exist",
    );
    let (_, w) = apply_object(&client, &bridge("early-cdc", "nope", json!({"kafka": {}})))
        .await
        .unwrap();
    warned(&w, "BigPeerApp \"nope\" does not exist");
    apply_object(&client, &bigpeer_app("lonely", &ns, "gone"))
        .await
        .unwrap();
    let (_, w) = apply_object(
        &client,
        &bridge("lonely-cdc", "lonely", json!({"kafka": {}})),
    )
    .await
    .unwrap();
    warned(&w, "BigPeer \"gone\", which does not exist");
    warned(&w, "spec.kafka.external: not checked");

    // A replication never connects to its own endpoint.
    let own = format!("self-replication.{ns}.svc:4040");
    let m = refused(
        apply_object(
            &client,
            &replication(
                "self",
                "nope",
                json!({"connections": ["peer.example.com:4040", own]}),
            ),
        )
        .await,
        "spec.connections[1]",
    );
    assert!(m.contains("own endpoint"), "{m}");

    // The harness's BigPeer uses an external Kafka: a Kafka bridge needs kafka.external.
    apply_bigpeer(&client, &bigpeer("bp", &ns)).await.unwrap();
    apply_object(&client, &bigpeer_app("app", &ns, "bp"))
        .await
        .unwrap();
    let m = refused(
        apply_object(&client, &bridge("cdc", "app", json!({"kafka": {}}))).await,
        "spec.kafka.external",
    );
    assert!(m.contains("transactionLog.external"), "{m}");
    let external = json!({"kafka": {"external": {"topic": "orders-cdc", "userSecretRef": {"name": "consumer"}}}});
    let (_, w) = apply_object(&client, &bridge("cdc", "app", external))
        .await
        .unwrap();
    assert!(w.is_empty(), "{w:?}");

    // A MongoDB bridge: its connection Secret and key, when missing, are warnings.
    let mongo = json!({"mongodb": {"connectionStringSecretRef": {"name": "mongo-uri"}, "database": "shop",
                                   "collections": {"orders": {"fields": ["_id"]}}}});
    let (_, w) = apply_object(&client, &bridge("mongo", "app", mongo.clone()))
        .await
        .unwrap();
    warned(
        &w,
        "spec.mongodb.connectionStringSecretRef.name: Secret \"mongo-uri\" does not exist",
    );
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mongo-uri2"},
               "stringData": {"uri": "mongodb://mongo.example.com:27017"}}),
    )
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns)
        .create(&Default::default(), &secret)
        .await
        .unwrap();
    let mut other_key = mongo.clone();
    other_key["mongodb"]["connectionStringSecretRef"] = json!({"name": "mongo-uri2"});
    let (_, w) = apply_object(&client, &bridge("mongo2", "app", other_key))
        .await
        .unwrap();
    warned(
        &w,
        "spec.mongodb.connectionStringSecretRef.key: Secret \"mongo-uri2\" has no key \"connectionString\"",
    );
    assert!(
        !w.iter().any(|w| w.contains("mongo.example.com")),
        "never a Secret's value"
    );

    let metrics = op.http_get("/metrics").await;
    for kind in ["BigPeerReplication", "BigPeerDataBridge"] {
        assert!(
            metrics.contains(&format!("kind=\"{kind}\"")),
            "reviews of {kind} counted"
        );
    }
    for r in ["ReplicationConnectsToItself", "KafkaExternalRequired"] {
        assert!(metrics.contains(&format!("refusal=\"{r}\"")), "{r} counted");
    }
    for (kind, name) in [
        ("BigPeerReplication", "early"),
        ("BigPeerDataBridge", "early-cdc"),
        ("BigPeerDataBridge", "lonely-cdc"),
        ("BigPeerDataBridge", "cdc"),
        ("BigPeerDataBridge", "mongo"),
        ("BigPeerDataBridge", "mongo2"),
        ("BigPeerApp", "lonely"),
        ("BigPeerApp", "app"),
    ] {
        delete_object(
            &client,
            &json!({"kind": kind, "metadata": {"name": name, "namespace": ns}}),
        )
        .await;
    }
    let _ = Api::<BigPeer>::namespaced(client.clone(), &ns)
        .delete("bp", &DeleteParams::default())
        .await;
    stop(&client, op).await;
}
