//! The kustomize install end to end (`make install-e2e`): `kubectl apply -k config/default` on
//! the local control plane, the operator of this checkout standing in for the Deployment's pod
//! (kwok's pods never run): the pod's IP is put on `lo` and the operator listens there with the
//! Deployment's args and its ServiceAccount's identity, so the API server calls the webhook
//! through the generated Service and checks the certificate the operator keeps itself against
//! the `caBundle` it injected. Needs root (for `ip addr`) and a cluster of its own (the pod IP
//! must be free on this machine): see docs/contributing/testing.md.
//!
//! Deletes what it applied, CRD included, even when it fails (a ValidatingWebhookConfiguration
//! left behind with `failurePolicy: Fail` would refuse every later BigPeer write).

#[path = "../common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;
use smbp_operator::facts::{
    OPERATOR_DEPLOYMENT, OPERATOR_SERVICE_ACCOUNT, WEBHOOK_CERT_SECRET, WEBHOOK_CONFIGURATION,
    WEBHOOK_NAME, WEBHOOK_PORT,
};
use smbp_operator::olm::release::SUGGESTED_NAMESPACE as NS;

const KUSTOMIZATION: &str = "config/default";

/// The kubectl of the local control plane (hack/cluster-lib.sh: `<state dir>/bin/kubectl`,
/// next to the kubeconfig), or `SMBP_KUBECTL`.
fn kubectl_bin() -> PathBuf {
    if let Ok(k) = std::env::var("SMBP_KUBECTL") {
        return k.into();
    }
    let kc = PathBuf::from(std::env::var("KUBECONFIG").expect("KUBECONFIG"));
    let k = kc.parent().unwrap().join("bin/kubectl");
    assert!(k.exists(), "{} missing: set SMBP_KUBECTL", k.display());
    k
}

/// Run kubectl in the repository; its output, or a panic with it.
fn kubectl(args: &[&str]) -> String {
    let out = Command::new(kubectl_bin())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubectl {args:?} failed:\n{text}");
    text
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Everything the test set up, undone on drop whatever happened: the operator stopped, the
/// address removed from `lo`, the install and the test namespace deleted (finalizers of
/// BigPeers, apps and keys left behind are removed, or the CRDs would never go).
#[derive(Default)]
struct Install {
    applied: bool,
    address: Option<String>,
    operator: Option<Operator>,
    namespace: Option<String>,
}

impl Drop for Install {
    fn drop(&mut self) {
        let run = |args: &[&str]| {
            let _ = Command::new(kubectl_bin())
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output();
        };
        if self.applied {
            // The webhook configuration first: nothing may be refused from here on.
            run(&[
                "delete",
                "--ignore-not-found",
                "validatingwebhookconfiguration",
                WEBHOOK_CONFIGURATION,
            ]);
        }
        if let Some(ns) = &self.namespace {
            run(&[
                "delete",
                "namespace",
                ns,
                "--ignore-not-found",
                "--wait=false",
            ]);
            let out = Command::new(kubectl_bin())
                .args([
                    "get",
                    "bigpeers,bigpeerapps,bigpeerapikeys",
                    "-n",
                    ns,
                    "-o",
                    "name",
                ])
                .output();
            for name in out
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
                .lines()
            {
                run(&[
                    "patch",
                    "-n",
                    ns,
                    name,
                    "--type=merge",
                    "-p",
                    r#"{"metadata":{"finalizers":null}}"#,
                ]);
            }
        }
        if let Some(mut op) = self.operator.take() {
            op.kill();
        }
        if let Some(a) = &self.address {
            ip(&["addr", "del", &format!("{a}/32"), "dev", "lo"]);
        }
        if self.applied {
            run(&[
                "delete",
                "-k",
                KUSTOMIZATION,
                "--ignore-not-found",
                "--wait=false",
            ]);
        }
    }
}

/// The `caBundle` of the install's webhook (empty when unset).
async fn ca_bundle(client: &Client) -> Vec<u8> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    api.get_opt(WEBHOOK_CONFIGURATION)
        .await
        .unwrap()
        .and_then(|v| v.webhooks)
        .and_then(|w| w.into_iter().find(|w| w.name == WEBHOOK_NAME))
        .and_then(|w| w.client_config.ca_bundle)
        .map(|b| b.0)
        .unwrap_or_default()
}

async fn cert_secret(client: &Client) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), NS)
        .get_opt(WEBHOOK_CERT_SECRET)
        .await
        .unwrap()
}

/// The manager pod, once Ready with an IP: (name, IP).
async fn manager_pod(client: &Client) -> (String, String) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    wait_for(
        "the manager pod Ready with an IP",
        Duration::from_secs(180),
        || async {
            let list = pods
                .list(&ListParams::default().labels("control-plane=controller-manager"))
                .await
                .ok()?;
            list.items.into_iter().find_map(|p| {
                let status = p.status?;
                let ready = status
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                let ip = status.pod_ip.filter(|ip| !ip.is_empty())?;
                (ready && p.metadata.deletion_timestamp.is_none())
                    .then(|| (p.metadata.name.unwrap(), ip))
            })
        },
    )
    .await
}

/// The operator as the Deployment runs it: its args (bind addresses moved to the pod IP for
/// the webhook and to free loopback ports for metrics and probes), its env, its
/// ServiceAccount's identity.
async fn start_operator(client: &Client, pod: &str, address: &str, tag: &str) -> Operator {
    let d: Deployment = Api::namespaced(client.clone(), NS)
        .get(OPERATOR_DEPLOYMENT)
        .await
        .unwrap();
    let c = d.spec.unwrap().template.spec.unwrap().containers[0].clone();
    let metrics = format!("127.0.0.1:{}", free_port());
    let health = format!("127.0.0.1:{}", free_port());
    let mut args: Vec<String> = c
        .args
        .unwrap()
        .into_iter()
        .map(|a| {
            if a.starts_with("--metrics-bind-address=") {
                format!("--metrics-bind-address={metrics}")
            } else if a.starts_with("--health-probe-bind-address=") {
                format!("--health-probe-bind-address={health}")
            } else {
                a
            }
        })
        .collect();
    assert!(
        !args.iter().any(|a| a.starts_with("--webhook-bind-address")),
        "the Deployment uses the default webhook address: {args:?}"
    );
    args.push(format!("--webhook-bind-address={address}:{WEBHOOK_PORT}"));
    let watch = c
        .env
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.name == "WATCH_NAMESPACE")
        .and_then(|e| e.value)
        .unwrap_or_default();
    let dir = scratch_dir("install");
    let kubeconfig = token_kubeconfig(
        client,
        NS,
        OPERATOR_SERVICE_ACCOUNT,
        &dir.join("operator.kubeconfig"),
    )
    .await;
    let log = dir.join(format!("{tag}.log"));
    let _ = std::fs::remove_file(&log);
    Operator::spawn_args(
        &current_bin(),
        &kubeconfig,
        log,
        &args,
        metrics,
        health,
        &[
            ("POD_NAMESPACE", NS),
            ("POD_NAME", pod),
            ("WATCH_NAMESPACE", watch.as_str()),
            // The Deployment's flags pick the webhook address; not the harness' default.
            ("WEBHOOK_BIND_ADDRESS", ""),
        ],
    )
}

/// Server-side apply of a BigPeer (as `kubectl apply --server-side`); the error message.
async fn apply(client: &Client, body: &Value) -> Result<(), String> {
    apply_bigpeer(client, body)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Poll until a write goes through the webhook: a valid BigPeer's dry run is admitted.
async fn webhook_answers(client: &Client, ns: &str, what: &str) {
    let probe = bigpeer("probe", ns);
    wait_for(what, Duration::from_secs(90), || async {
        Api::<BigPeer>::namespaced(client.clone(), ns)
            .patch(
                "probe",
                &PatchParams::apply("install-e2e").force().dry_run(),
                &Patch::Apply(&probe),
            )
            .await
            .ok()
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the local control plane and root: run `make install-e2e`"]
async fn kubectl_apply_k_installs_a_webhook_with_the_operators_own_certificate() {
    let client = admin().await;
    let mut install = Install::default();
    let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());

    // An earlier run's CRDs and namespace may still be going (their objects being deleted):
    // applying them again then leaves them terminating, and every create is refused.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_for(
        "the CRDs and namespace of an earlier run gone",
        Duration::from_secs(180),
        || async {
            let l = crds.list(&ListParams::default()).await.ok()?;
            let crds_going = l
                .items
                .iter()
                .any(|c| c.spec.group == "smbp.io" && c.metadata.deletion_timestamp.is_some());
            let ns_going = namespaces
                .get_opt(NS)
                .await
                .ok()?
                .is_some_and(|n| n.metadata.deletion_timestamp.is_some());
            (!crds_going && !ns_going).then_some(())
        },
    )
    .await;

    let t = std::time::Instant::now();
    install.applied = true;
    kubectl(&["apply", "-k", KUSTOMIZATION]);
    let vwc = vwcs.get(WEBHOOK_CONFIGURATION).await.unwrap();
    assert!(
        vwc.webhooks.unwrap()[0].client_config.ca_bundle.is_none(),
        "applied without a caBundle"
    );
    let (pod, address) = manager_pod(&client).await;
    assert!(
        ip(&["addr", "add", &format!("{address}/32"), "dev", "lo"]),
        "ip addr add {address}/32 dev lo (root needed; the address must be free)"
    );
    install.address = Some(address.clone());
    eprintln!(
        "install: applied, pod {pod} at {address} after {:?}",
        t.elapsed()
    );

    install.operator = Some(start_operator(&client, &pod, &address, "first").await);
    let bundle = wait_for("the caBundle", Duration::from_secs(60), || async {
        Some(ca_bundle(&client).await).filter(|b| !b.is_empty())
    })
    .await;
    let secret = cert_secret(&client).await.expect("the certificate Secret");
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let data = secret.data.clone().unwrap();
    assert_eq!(
        data["ca-bundle.crt"].0, bundle,
        "the Secret's bundle is injected"
    );
    assert!(
        !install
            .operator
            .as_ref()
            .unwrap()
            .logs()
            .contains("PRIVATE KEY"),
        "key material logged"
    );

    let ns = bigpeer_namespace(&client, "install-e2e").await;
    install.namespace = Some(ns.clone());
    webhook_answers(
        &client,
        &ns,
        "the API server to call the webhook through the Service",
    )
    .await;
    eprintln!("install: webhook answers after {:?}", t.elapsed());

    // A bad BigPeer is refused, naming its field (the CRD's schema knows the operators)...
    let mut bad = bigpeer("bad", &ns);
    bad["spec"]["store"]["pod"] =
        json!({"scheduling": {"tolerations": [{"key": "a", "operator": "Maybe"}]}});
    let err = apply(&client, &bad)
        .await
        .expect_err("a toleration operator Maybe");
    assert!(
        err.contains("spec.store.pod.scheduling.tolerations[0].operator"),
        "{err}"
    );
    // ... and one only the webhook can see: a host name another BigPeer holds.
    let host = |name: &str| {
        let mut b = bigpeer(name, &ns);
        b["spec"]["network"] = json!({"hostname": format!("{ns}.install.example.com")});
        b
    };
    apply(&client, &host("first"))
        .await
        .unwrap_or_else(|e| panic!("the first host name was refused: {e}"));
    let err = apply(&client, &host("second"))
        .await
        .expect_err("a host name in use");
    assert!(
        err.contains(&format!(
            "admission webhook \"{WEBHOOK_NAME}\" denied the request"
        )),
        "{err}"
    );
    assert!(err.contains("spec.network.hostname"), "{err}");

    // The sample is admitted.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/samples/smbp_v1alpha1_bigpeer.yaml"
    ))
    .unwrap();
    let mut sample: Value = serde_yaml_ng::from_str(&text).unwrap();
    sample["metadata"]["namespace"] = json!(ns);
    apply(&client, &sample)
        .await
        .unwrap_or_else(|e| panic!("the sample was refused: {e}"));

    // So are the app and key samples (of that BigPeer and that app: no warning), through the
    // same webhook with the kustomize RBAC. A key of a missing app is admitted with a warning
    // (the webhook could read that the app is not there), one expiring in the past is refused.
    for file in [
        "smbp_v1alpha1_bigpeerapp.yaml",
        "smbp_v1alpha1_bigpeerapikey.yaml",
    ] {
        let text = std::fs::read_to_string(format!(
            "{}/config/samples/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut sample: Value = serde_yaml_ng::from_str(&text).unwrap();
        sample["metadata"]["namespace"] = json!(ns);
        let (_, warnings) = apply_object(&client, &sample)
            .await
            .unwrap_or_else(|e| panic!("{file} was refused: {e}"));
        assert!(warnings.is_empty(), "{file}: {warnings:?}");
    }
    let (_, warnings) = apply_object(&client, &bigpeer_api_key("orphan", &ns, "no-such-app"))
        .await
        .unwrap_or_else(|e| panic!("a key of a missing app was refused: {e}"));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("BigPeerApp \"no-such-app\" does not exist")),
        "{warnings:?}"
    );
    let mut past = bigpeer_api_key("past", &ns, "my-app");
    past["spec"]["expiresAt"] = json!("2020-01-01T00:00:00Z");
    let err = apply_object(&client, &past)
        .await
        .expect_err("a key expiring in the past")
        .to_string();
    assert!(
        err.contains(&format!(
            "admission webhook \"{WEBHOOK_NAME}\" denied the request"
        )) && err.contains("spec.expiresAt"),
        "{err}"
    );

    // Someone clears the caBundle: it is set again.
    vwcs.patch(
        WEBHOOK_CONFIGURATION,
        &PatchParams::default(),
        &Patch::Strategic(
            json!({"webhooks": [{"name": WEBHOOK_NAME, "clientConfig": {"caBundle": null}}]}),
        ),
    )
    .await
    .unwrap();
    let again = wait_for(
        "the caBundle set again",
        Duration::from_secs(30),
        || async { Some(ca_bundle(&client).await).filter(|b| !b.is_empty()) },
    )
    .await;
    assert_eq!(again, bundle);

    // Restarted, the operator serves the same certificate: nothing is made anew.
    let mut first = install.operator.take().unwrap();
    assert!(first.terminate().await, "clean exit:\n{}", first.logs());
    drop(first);
    install.operator = Some(start_operator(&client, &pod, &address, "second").await);
    webhook_answers(&client, &ns, "the restarted operator's webhook").await;
    // A look of the keeper has happened (it serves what it read).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = cert_secret(&client).await.unwrap();
    assert_eq!(after.data, secret.data, "the Secret is unchanged");
    assert_eq!(
        after.metadata.resource_version, secret.metadata.resource_version,
        "the Secret was not written"
    );
    assert_eq!(
        ca_bundle(&client).await,
        bundle,
        "the caBundle is unchanged"
    );
    let logs = install.operator.as_ref().unwrap().logs();
    assert!(
        !logs.contains("wrote the webhook certificate Secret"),
        "{logs}"
    );
    eprintln!("install: restart checked after {:?}", t.elapsed());

    // The BigPeers go while the operator (their finalizer) and the webhook still run.
    let bps: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    bps.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .unwrap();
    wait_for("the BigPeers deleted", Duration::from_secs(90), || async {
        bps.list(&ListParams::default())
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&ns, &DeleteParams::background())
        .await;

    kubectl(&[
        "delete",
        "-k",
        KUSTOMIZATION,
        "--ignore-not-found",
        "--wait=false",
    ]);
    install.applied = false;
    assert!(
        vwcs.get_opt(WEBHOOK_CONFIGURATION).await.unwrap().is_none(),
        "the webhook configuration is removed"
    );
    eprintln!("install: deleted after {:?}", t.elapsed());
}
