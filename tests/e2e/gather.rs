//! must-gather end to end, from a support engineer's point of view: `smbp-operator gather` run
//! as its own process against a cluster with a BigPeer, an app and an API key, a replication
//! and a Kafka data bridge (the Strimzi stand-in), whose Secrets, KafkaUser password, webhook
//! certificate and a ConfigMap hold distinctive planted values. The output (directory and
//! archive) holds none of them, nor any other Secret value of the gathered namespaces, and
//! holds every object of the kinds it collects; a ServiceAccount without Secret (or log)
//! access gets a finished run whose summary says Secrets were not collected.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use kube::api::{Api, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams};
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use smbp_operator::api::{BigPeerApp, BigPeerDataBridge};
use smbp_operator::{facts, gather, thirdparty};

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(150);

/// Planted values: each must never appear in the output.
const PLANTS: &[&str] = &[
    "PLANTsecretPasswordQ7x9",
    "PLANTapiKeyValueZ3k1",
    "PLANTprivateKeyBodyM4n8",
    "PLANTmongoPassW0rdR2",
    "PLANTbearerTokenT5y6",
    "PLANTdbPasswordEnvP1q2",
    "PLANTkafkaScramPwdK8j3",
    "PLANTwebhookKeyBodyW9e4",
    "PLANTlastAppliedOnlyL0a7",
];

async fn apply(client: &Client, ar: &ApiResource, body: Value) {
    let ns = body["metadata"]["namespace"].as_str().map(str::to_owned);
    let api: Api<DynamicObject> = match &ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(
        &name,
        &PatchParams::apply("e2e").force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"));
}

fn ar<K: kube::Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

fn kubectl() -> String {
    std::env::var("SMBP_CLUSTER_DIR")
        .map(|d| format!("{d}/bin/kubectl"))
        .unwrap_or_else(|_| "kubectl".into())
}

/// `kubectl apply` (client side): the object lands in the last-applied annotation too.
fn kubectl_apply(doc: &Value) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(kubectl())
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("kubectl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "kubectl apply");
}

fn pem(kind: &str, body: &str) -> String {
    format!("-----BEGIN {kind}-----\n{body}\nAAAA\n-----END {kind}-----\n")
}

/// Every file under `dir`, with its contents.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p, text));
            }
        }
    }
    out
}

/// No forbidden value (nor its base64) anywhere under `dir`.
fn assert_clean(dir: &Path, forbidden: &BTreeSet<String>) {
    let all = files(dir);
    assert!(!all.is_empty(), "{} is empty", dir.display());
    for (p, text) in &all {
        for f in forbidden {
            let b64 = base64::engine::general_purpose::STANDARD.encode(f);
            assert!(
                !text.contains(f.as_str()) && !text.contains(&b64),
                "{} holds a secret value ({}…)",
                p.display(),
                &f[..f.len().min(12)]
            );
        }
    }
}

async fn run_gather(
    kubeconfig: &Path,
    dest: &Path,
    archive: Option<&Path>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(current_bin());
    cmd.arg("gather")
        .arg("--dest")
        .arg(dest)
        .env("KUBECONFIG", kubeconfig);
    if let Some(a) = archive {
        cmd.arg("--archive").arg(a);
    }
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("gather runs");
    eprintln!(
        "gather ({:?}, exit {:?}): {}",
        started.elapsed(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn summary(dest: &Path) -> gather::Summary {
    serde_json::from_slice(&std::fs::read(dest.join("summary.json")).unwrap()).unwrap()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn gather_collects_everything_and_never_a_secret_value() {
    let _strimzi = Strimzi::up();
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-gather").await;
    let _op = Operator::start(&kubeconfig, "gather", 18290, true);

    // Planted values: Secrets (one applied by `kubectl apply`, so also in its last-applied
    // annotation), a TLS key, a KafkaUser's SCRAM password Secret, the webhook certificate
    // Secret, and a ConfigMap with a credential URL, a bearer token and a password variable.
    kubectl_apply(&json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "planted", "namespace": ns},
        "stringData": {"password": PLANTS[0], "api-key": PLANTS[1], "note": PLANTS[8]},
    }));
    apply(&client, &ar::<Secret>(), json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "planted-tls", "namespace": ns},
        "stringData": {"tls.crt": pem("CERTIFICATE", "MIIBcert"), "tls.key": pem("PRIVATE KEY", PLANTS[2])},
    })).await;
    apply(&client, &ar::<Secret>(), json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "scram-user", "namespace": ns, "labels": {"strimzi.io/kind": "KafkaUser"}},
        "stringData": {"password": PLANTS[6], "sasl.jaas.config": format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"scram-user\" password=\"{}\";", PLANTS[6])},
    })).await;
    apply(&client, &ar::<Secret>(), json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": facts::WEBHOOK_CERT_SECRET, "namespace": OPERATOR_NS},
        "stringData": {"tls.crt": pem("CERTIFICATE", "MIIBwebhook"), "tls.key": pem("EC PRIVATE KEY", PLANTS[7]),
                       "ca.key": pem("RSA PRIVATE KEY", PLANTS[7])},
    })).await;
    apply(&client, &ar::<k8s_openapi::api::core::v1::ConfigMap>(), json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-config", "namespace": ns},
        "data": {
            "config.yaml": format!("mongo:\n  uri: mongodb+srv://admin:{}@cluster0.example.net/db\nhttp:\n  headers: \"Authorization: Bearer {}\"\n", PLANTS[3], PLANTS[4]),
            "DB_PASSWORD": PLANTS[5],
        },
    })).await;
    apply(
        &client,
        &ar::<k8s_openapi::api::core::v1::ConfigMap>(),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "peer-ca", "namespace": ns},
            "data": {"ca.crt": pem("CERTIFICATE", "MIIBpeer")},
        }),
    )
    .await;

    // A BigPeer on the Strimzi stand-in, an app, an API key, a replication, a Kafka bridge.
    apply(&client, &thirdparty::kafka(), json!({
        "apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "events", "namespace": ns},
        "spec": {"kafka": {"listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": true, "authentication": {"type": "tls"}}]}}
    })).await;
    let mut body = bigpeer("gp", &ns);
    body["spec"]["transactionLog"] = json!({"strimzi": {"kafkaRef": {"name": "events"}}});
    apply_bigpeer(&client, &body).await.unwrap();
    let app_ar = ar::<BigPeerApp>();
    apply(&client, &app_ar, bigpeer_app("fleet", &ns, "gp")).await;
    let apps: Api<BigPeerApp> = Api::namespaced(client.clone(), &ns);
    wait_for("the app's generated ID", WAIT, || async {
        apps.get("fleet").await.ok()?.spec.app_id
    })
    .await;
    apply(
        &client,
        &ar::<smbp_operator::api::BigPeerApiKey>(),
        bigpeer_api_key("backend", &ns, "fleet"),
    )
    .await;
    apply(&client, &ar::<smbp_operator::api::BigPeerReplication>(), json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
        "metadata": {"name": "orders", "namespace": ns},
        "spec": {"appRef": {"name": "fleet"}, "connections": ["orders-replication.elsewhere.svc:4040"],
                 "queriesByCollection": {"cars": ["true"]}, "trustedCas": [{"configMapRef": {"name": "peer-ca"}}]},
    })).await;
    apply(&client, &ar::<BigPeerDataBridge>(), json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": "orders", "namespace": ns},
        "spec": {"appRef": {"name": "fleet"}, "kafka": {"source": [{"collection": "orders", "query": "true"}]}},
    })).await;
    // What the operator makes exists: the key's Secret, the bridge's topic and TLS user (and
    // its Secret with a private key from the stand-in), the servers' access Secret.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let users: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &thirdparty::kafka_user());
    wait_for(
        "the key Secret, the KafkaUser and its Secret",
        WAIT,
        || async {
            users.get("orders-consumer").await.ok()?;
            secrets.get("orders-consumer").await.ok()?;
            secrets.get("gp-access").await.ok()?;
            let keys = secrets.list(&ListParams::default()).await.ok()?;
            keys.items
                .iter()
                .any(|s| {
                    s.data
                        .as_ref()
                        .is_some_and(|d| d.values().any(|v| v.0.starts_with(b"bpk_")))
                })
                .then_some(())
        },
    )
    .await;

    // The BigPeer's pods and volumes.
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), &ns);
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &ns);
    wait_for("the BigPeer's six pods and three claims", WAIT, || async {
        let lp = ListParams::default().labels("app.kubernetes.io/instance=gp");
        let p = pods.list(&lp).await.ok()?.items.len();
        let c = pvcs.list(&ListParams::default()).await.ok()?.items.len();
        (p >= 6 && c >= 3).then_some(())
    })
    .await;

    // Every Secret value of the gathered namespaces is forbidden in the output too (but the
    // certificates, which are public and appear elsewhere, e.g. kube-root-ca.crt).
    let mut forbidden: BTreeSet<String> = PLANTS.iter().map(|s| s.to_string()).collect();
    for n in [ns.as_str(), OPERATOR_NS] {
        let all = Api::<Secret>::namespaced(client.clone(), n)
            .list(&ListParams::default())
            .await
            .unwrap();
        for s in all.items {
            for (k, v) in s.data.unwrap_or_default() {
                let text = String::from_utf8_lossy(&v.0).into_owned();
                // Certificates, and the key fingerprints and app IDs status and Events show by design.
                let public = k.ends_with(".crt")
                    || text.trim_start().starts_with("-----BEGIN CERTIFICATE")
                    || text.starts_with("sha256:")
                    || smbp_operator::access::key::is_app_id(&text);
                if !public && text.len() >= 12 {
                    forbidden.insert(text);
                }
            }
        }
    }

    // What exists before the run, to be found in its output.
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let mut expected: Vec<PathBuf> = Vec::new();
    let wanted: Vec<(&str, &str)> = vec![
        ("", "pods"),
        ("", "services"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "serviceaccounts"),
        ("", "persistentvolumeclaims"),
        ("", "events"),
        ("apps", "statefulsets"),
        ("apps", "deployments"),
        ("policy", "poddisruptionbudgets"),
        ("networking.k8s.io", "networkpolicies"),
        ("kafka.strimzi.io", "kafkatopics"),
        ("kafka.strimzi.io", "kafkausers"),
        ("kafka.strimzi.io", "kafkas"),
        ("smbp.io", "bigpeers"),
        ("smbp.io", "bigpeerapps"),
        ("smbp.io", "bigpeerapikeys"),
        ("smbp.io", "bigpeerreplications"),
        ("smbp.io", "bigpeerdatabridges"),
    ];
    let mut claims = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !wanted.contains(&(ar.group.as_str(), ar.plural.as_str()))
                || caps.scope != Scope::Namespaced
            {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
            for o in api.list(&ListParams::default()).await.unwrap() {
                let g = if ar.group.is_empty() {
                    "core"
                } else {
                    ar.group.as_str()
                };
                expected.push(PathBuf::from(format!(
                    "namespaces/{ns}/{g}/{}/{}.yaml",
                    ar.plural,
                    o.name_any()
                )));
                if ar.plural == "persistentvolumeclaims"
                    && let Some(v) = o.data["spec"]["volumeName"]
                        .as_str()
                        .filter(|v| !v.is_empty())
                {
                    claims.push(v.to_owned());
                }
            }
        }
    }
    for kind in [
        "bigpeers",
        "bigpeerapps",
        "bigpeerapikeys",
        "bigpeerreplications",
        "bigpeerdatabridges",
        "kafkatopics",
        "kafkausers",
        "pods",
        "events",
        "persistentvolumeclaims",
        "statefulsets",
    ] {
        assert!(
            expected.iter().any(|p| p.parent().unwrap().ends_with(kind)),
            "the test cluster has {kind}: {expected:?}"
        );
    }
    for pv in &claims {
        expected.push(PathBuf::from(format!(
            "cluster-scoped-resources/core/persistentvolumes/{pv}.yaml"
        )));
    }
    for crd in [
        "bigpeers.smbp.io",
        "bigpeerdatabridges.smbp.io",
        "kafkas.kafka.strimzi.io",
        "kafkausers.kafka.strimzi.io",
    ] {
        expected.push(PathBuf::from(format!(
            "cluster-scoped-resources/apiextensions.k8s.io/customresourcedefinitions/{crd}.yaml"
        )));
    }
    expected.extend(
        [
            "summary.md",
            "summary.json",
            "discovery/version.yaml",
            "discovery/api-groups.yaml",
            "discovery/api-resources.yaml",
            &format!(
                "namespaces/{OPERATOR_NS}/coordination.k8s.io/leases/{}.yaml",
                gather::LEADER_LEASE
            ),
            &format!(
                "namespaces/{OPERATOR_NS}/core/secrets/{}.yaml",
                facts::WEBHOOK_CERT_SECRET
            ),
            &format!("namespaces/{ns}/{ns}.yaml"),
        ]
        .map(PathBuf::from),
    );
    wait_for("the leader Lease", WAIT, || async {
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client.clone(), OPERATOR_NS)
            .get(gather::LEADER_LEASE)
            .await
            .ok()
    })
    .await;

    // The run, as the admin.
    let tmp = scratch_dir("gather");
    let dest = tmp.join(format!("{ns}-admin"));
    let archive = tmp.join(format!("{ns}-admin.tar.gz"));
    let admin_kubeconfig = PathBuf::from(std::env::var("KUBECONFIG").unwrap());
    let out = run_gather(&admin_kubeconfig, &dest, Some(&archive)).await;
    assert!(out.status.success());
    assert_clean(&dest, &forbidden);
    let unpacked = tmp.join(format!("{ns}-unpacked"));
    std::fs::create_dir_all(&unpacked).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&archive).unwrap(),
    ))
    .unpack(&unpacked)
    .unwrap();
    assert_clean(&unpacked, &forbidden);
    assert_eq!(
        files(&unpacked).len(),
        files(&dest).len(),
        "the archive holds every file"
    );
    let missing: Vec<&PathBuf> = expected.iter().filter(|p| !dest.join(p).exists()).collect();
    assert!(missing.is_empty(), "not gathered: {missing:?}");
    // Secrets keep their keys; the planted ConfigMap its shape.
    let planted =
        std::fs::read_to_string(dest.join(format!("namespaces/{ns}/core/secrets/planted.yaml")))
            .unwrap();
    assert!(
        planted.contains("password: REDACTED") && planted.contains("api-key: REDACTED"),
        "{planted}"
    );
    let cm = std::fs::read_to_string(
        dest.join(format!("namespaces/{ns}/core/configmaps/app-config.yaml")),
    )
    .unwrap();
    assert!(
        cm.contains("mongodb+srv://REDACTED@cluster0.example.net/db"),
        "{cm}"
    );
    let s = summary(&dest);
    assert!(
        s.namespaces.contains(&ns) && s.namespaces.contains(&OPERATOR_NS.to_string()),
        "{:?}",
        s.namespaces
    );
    assert_eq!(s.operator_namespaces, [OPERATOR_NS]);
    assert_eq!(s.addons.get("kafka.strimzi.io"), Some(&true));
    assert!(
        !s.errors.iter().any(|e| e.resource == "secrets"),
        "{:?}",
        s.errors
    );
    // No operator pod here (the operator runs as a process): the summary says why no metrics.
    assert!(
        s.errors.iter().any(|e| e.resource == "metrics"),
        "{:?}",
        s.errors
    );
    let md = std::fs::read_to_string(dest.join("summary.md")).unwrap();
    assert!(
        md.contains("## Unhealthy") && md.contains("## gather-errors"),
        "{md}"
    );

    // The same run as a ServiceAccount that may read neither Secrets nor logs.
    let sa = "gather-no-secrets";
    Api::<ServiceAccount>::namespaced(client.clone(), OPERATOR_NS)
        .patch(
            sa,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(sa.into()),
                    namespace: Some(OPERATOR_NS.into()),
                    ..Default::default()
                },
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let role = gather::rbac::reader_cluster_role();
    apply(
        &client,
        &ar::<k8s_openapi::api::rbac::v1::ClusterRole>(),
        serde_json::to_value(&role)
            .map(|mut v| {
                v["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
                v["kind"] = json!("ClusterRole");
                v
            })
            .unwrap(),
    )
    .await;
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(
            gather::rbac::READER,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&ClusterRoleBinding {
                metadata: ObjectMeta {
                    name: Some(gather::rbac::READER.into()),
                    ..Default::default()
                },
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: role.name_any(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: sa.into(),
                    namespace: Some(OPERATOR_NS.into()),
                    ..Default::default()
                }]),
            }),
        )
        .await
        .unwrap();
    let reader = token_kubeconfig(
        &client,
        OPERATOR_NS,
        sa,
        &tmp.join(format!("{ns}-reader.kubeconfig")),
    )
    .await;
    let dest2 = tmp.join(format!("{ns}-reader"));
    let out = run_gather(&reader, &dest2, None).await;
    assert!(out.status.success(), "a run without Secret access finishes");
    assert_clean(&dest2, &forbidden);
    let s2 = summary(&dest2);
    let secret_errors: Vec<_> = s2
        .errors
        .iter()
        .filter(|e| e.resource == "secrets")
        .collect();
    assert!(
        secret_errors
            .iter()
            .any(|e| e.namespace.as_deref() == Some(ns.as_str())
                && e.reason.starts_with("forbidden")),
        "{:?}",
        s2.errors
    );
    assert!(!dest2.join(format!("namespaces/{ns}/core/secrets")).exists());
    assert!(
        dest2
            .join(format!("namespaces/{ns}/smbp.io/bigpeers/gp.yaml"))
            .exists()
    );
    let md2 = std::fs::read_to_string(dest2.join("summary.md")).unwrap();
    assert!(
        md2.contains("- secrets (namespace ") && md2.contains("forbidden"),
        "{md2}"
    );
}
