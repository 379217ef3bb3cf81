//! `kubectl smbp` end to end: the built `kubectl-smbp` binary run as a process against the
//! local control plane, as a user would run it (`KUBECONFIG`, `-n`), with the operator running.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use smbp_operator::api::BigPeer;
use smbp_operator::plugin::report::StatusReport;

use super::*;

/// The plugin binary: `SMBP_PLUGIN_BIN`, else this checkout's.
fn plugin_bin() -> String {
    std::env::var("SMBP_PLUGIN_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubectl-smbp").to_string())
}

/// Run `kubectl smbp <args>` with `kubeconfig` (the admin's by default).
fn smbp(kubeconfig: Option<&std::path::Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(plugin_bin());
    cmd.args(args).env_remove("NO_COLOR");
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().expect("kubectl-smbp runs");
    eprintln!(
        "$ kubectl smbp {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn store_uids(client: &Client, ns: &str, name: &str) -> Vec<(String, String)> {
    pods(client, ns, &store_pods_selector(name))
        .await
        .iter()
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect()
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn plugin_status_pause_resume_and_restart() {
    let (client, _op, ns) = setup("e2e-plugin", 18300).await;
    let mut body = bigpeer("plug", &ns);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "plug", LONG).await;

    // status: one screen, and a typed document.
    let text = ok(&smbp(None, &["status", "plug", "-n", &ns]));
    assert!(text.contains(&format!("BigPeer {ns}/plug")), "{text}");
    assert!(text.contains("plug-store-2"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let doc: StatusReport = serde_json::from_str(&ok(&smbp(
        None,
        &["status", "plug", "-n", &ns, "-o", "json"],
    )))
    .unwrap();
    assert_eq!(doc.version.running.as_deref(), Some("1.59.0"));
    assert_eq!((doc.components[0].desired, doc.components[0].ready), (3, 3));
    assert!(doc.events.iter().any(|e| e.reason == "Created"));
    let yaml = ok(&smbp(None, &["status", "plug", "-n", &ns, "-o", "yaml"]));
    assert!(yaml.contains("name: plug"), "{yaml}");

    // report: the must-gather collection of this namespace as one archive, secrets redacted.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("report.tar.gz");
    let out = ok(&smbp(
        None,
        &["report", "-n", &ns, "-f", archive.to_str().unwrap()],
    ));
    assert!(out.contains("report.tar.gz"), "{out}");
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("summary.md"), "{list}");
    assert!(
        list.contains(&format!("namespaces/{ns}/smbp.io/bigpeers/plug.yaml")),
        "{list}"
    );
    assert!(
        list.contains(&format!("namespaces/{ns}/core/pods/plug-store-0.yaml")),
        "{list}"
    );

    // pause: the operator changes nothing; resume: it catches up.
    let out = ok(&smbp(None, &["pause", "plug", "-n", &ns]));
    assert!(out.contains("paused"), "{out}");
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    wait_for("ReconciliationPaused", LONG, || async {
        let bp = api.get("plug").await.ok()?;
        condition(&bp, "ReconciliationPaused")
            .is_some_and(|c| c.0 == "True")
            .then_some(())
    })
    .await;
    body["spec"]["api"]["replicas"] = json!(2);
    apply_bigpeer(&client, &body).await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let replicas = |d: Deployment| d.spec.and_then(|s| s.replicas);
    assert_eq!(
        replicas(deployments.get("plug-api").await.unwrap()),
        Some(1),
        "a paused BigPeer is left alone"
    );
    let out = ok(&smbp(None, &["status", "plug", "-n", &ns]));
    assert!(out.contains("Paused:"), "{out}");
    let out = ok(&smbp(None, &["resume", "plug", "-n", &ns]));
    assert!(out.contains("resumed"), "{out}");
    wait_for("the api Deployment scaled after resume", LONG, || async {
        (replicas(deployments.get("plug-api").await.ok()?) == Some(2)).then_some(())
    })
    .await;
    wait_ready(&client, &ns, "plug", LONG).await;

    // restart the store: the annotation lands on the pod template, the operator replaces the
    // pods one at a time, never more than one down.
    let before = store_uids(&client, &ns, "plug").await;
    let out = ok(&smbp(
        None,
        &["restart", "plug", "-n", &ns, "--component", "store"],
    ));
    assert!(out.contains("smbp.io/restart-store="), "{out}");
    let requested = api
        .get("plug")
        .await
        .unwrap()
        .annotations()
        .get("smbp.io/restart-store")
        .cloned()
        .expect("the plugin set the annotation");
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let template_stamp = |s: StatefulSet| {
        s.spec?
            .template
            .metadata?
            .annotations?
            .get("smbp.io/restarted-at")
            .cloned()
    };
    wait_for("the request on the store pod template", LONG, || async {
        (template_stamp(sts.get("plug-store").await.ok()?)? == requested).then_some(())
    })
    .await;
    let start = Instant::now();
    let mut order: Vec<String> = vec![];
    loop {
        let ps = pods(&client, &ns, &store_pods_selector("plug")).await;
        let down = ps
            .iter()
            .filter(|p| !pod_ready(p) || p.metadata.deletion_timestamp.is_some())
            .count()
            + 3usize.saturating_sub(ps.len());
        assert!(down <= 1, "{down} store pods down at once");
        for p in &ps {
            if p.metadata.deletion_timestamp.is_some() && !order.contains(&p.name_any()) {
                order.push(p.name_any());
            }
        }
        let replaced = ps.len() == 3
            && ps.iter().all(|p| {
                pod_ready(p)
                    && !before.iter().any(|(_, uid)| Some(uid) == p.uid().as_ref())
                    && p.annotations().get("smbp.io/restarted-at") == Some(&requested)
            });
        if replaced {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "restart did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("store pods seen terminating, in order: {order:?}");
    // One at a time, highest ordinal first: each new pod was created after the one before it.
    let created = |name: &str, ps: &[k8s_openapi::api::core::v1::Pod]| {
        ps.iter()
            .find(|p| p.name_any() == name)
            .and_then(|p| p.metadata.creation_timestamp.clone())
            .map(|t| t.0)
            .unwrap()
    };
    let now = pods(&client, &ns, &store_pods_selector("plug")).await;
    let times: Vec<_> = ["plug-store-2", "plug-store-1", "plug-store-0"]
        .iter()
        .map(|n| created(n, &now))
        .collect();
    eprintln!("new store pods created at: {times:?}");
    assert!(
        times[0] <= times[1] && times[1] <= times[2],
        "store pods replaced highest ordinal first, one after the other: {times:?}"
    );
    if order.len() == 3 {
        assert_eq!(order, ["plug-store-2", "plug-store-1", "plug-store-0"]);
    }
    // The other components were not restarted.
    let api_template = deployments.get("plug-api").await.unwrap();
    assert!(
        !api_template
            .spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .annotations
            .unwrap_or_default()
            .contains_key("smbp.io/restarted-at")
    );
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "RestartRequested")
    );
    let bp = wait_ready(&client, &ns, "plug", LONG).await;
    let text = ok(&smbp(None, &["status", "plug", "-n", &ns]));
    assert!(
        text.contains(&format!("requested {requested} (3/3 pods restarted)")),
        "{text}"
    );

    // The same request again restarts nothing.
    let generation = sts.get("plug-store").await.unwrap().metadata.generation;
    let after = store_uids(&client, &ns, "plug").await;
    api.patch(
        "plug",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"smbp.io/restart-store": requested}}})),
    )
    .await
    .unwrap();
    // A spec-less change (a label) makes the operator reconcile again.
    api.patch(
        "plug",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        sts.get("plug-store").await.unwrap().metadata.generation,
        generation
    );
    assert_eq!(store_uids(&client, &ns, "plug").await, after);
    assert_eq!(condition(&bp, "Ready").unwrap().0, "True");
}

async fn service_account_with(client: &Client, ns: &str, sa: &str, rules: Vec<PolicyRule>) {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: meta(sa),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    if rules.is_empty() {
        return;
    }
    Api::<Role>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &Role {
                metadata: meta(sa),
                rules: Some(rules),
            },
        )
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &RoleBinding {
                metadata: meta(sa),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: sa.into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: sa.into(),
                    namespace: Some(ns.into()),
                    ..Default::default()
                }]),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn plugin_status_names_the_stuck_pod_and_missing_permissions() {
    let (client, _op, ns) = setup("e2e-plugin-stuck", 18301).await;
    let mut body = bigpeer("stucky", &ns);
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "stucky", LONG).await;
    body["spec"]["image"] = json!({"store": "registry.example/fail-store:1.59.0"});
    apply_bigpeer(&client, &body).await.unwrap();
    let api: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    wait_for("the rollout blocked", LONG, || async {
        let bp = api.get("stucky").await.ok()?;
        let d = condition(&bp, "Degraded")?;
        (d.0 == "True" && d.1 == "RolloutBlocked").then_some(())
    })
    .await;
    let text = ok(&smbp(None, &["status", "stucky", "-n", &ns]));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("stucky-store-2:"))
        .unwrap_or_else(|| panic!("no reason line for the stuck pod:\n{text}"));
    assert!(
        line.contains("ImagePull") || line.contains("ErrImagePull"),
        "{line}"
    );
    assert!(text.contains("RolloutBlocked"), "{text}");

    // A user who may read nothing: the error names the permission.
    service_account_with(&client, &ns, "nobody", vec![]).await;
    let dir = scratch_dir("e2e");
    let nobody = token_kubeconfig(
        &client,
        &ns,
        "nobody",
        &dir.join(format!("{ns}-nobody.kubeconfig")),
    )
    .await;
    let out = smbp(Some(&nobody), &["status", "stucky", "-n", &ns]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "missing permission: get bigpeers.smbp.io in namespace {ns}"
        )),
        "{err}"
    );
    let out = smbp(Some(&nobody), &["pause", "stucky", "-n", &ns]);
    assert!(!out.status.success());

    // A user who may read the BigPeer and its pods only: the screen says what it lacks.
    let rule = |group: &str, resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    };
    service_account_with(
        &client,
        &ns,
        "viewer",
        vec![
            rule("smbp.io", &["bigpeers"], &["get"]),
            rule("", &["pods"], &["list"]),
        ],
    )
    .await;
    let viewer = token_kubeconfig(
        &client,
        &ns,
        "viewer",
        &dir.join(format!("{ns}-viewer.kubeconfig")),
    )
    .await;
    let text = ok(&smbp(Some(&viewer), &["status", "stucky", "-n", &ns]));
    assert!(text.contains("stucky-store-2:"), "{text}");
    for missing in [
        format!("missing permission: list events.events.k8s.io in namespace {ns}"),
        format!("missing permission: get secrets in namespace {ns}"),
    ] {
        assert!(text.contains(&missing), "{missing} not in:\n{text}");
    }
    let out = smbp(Some(&viewer), &["restart", "stucky", "-n", &ns]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "missing permission: patch bigpeers.smbp.io in namespace {ns}"
    )));

    // versions: the plugin, the cluster, the CRDs and this BigPeer.
    let text = ok(&smbp(None, &["versions", "-n", &ns]));
    assert!(text.contains("Kubernetes:"), "{text}");
    assert!(
        text.contains("bigpeers.smbp.io: served v1alpha1, stored v1alpha1"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{ns}/stucky: 1.59.0 desired")),
        "{text}"
    );
}
