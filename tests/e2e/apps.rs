//! Apps and API keys end to end: a BigPeer Ready, an app created with kubectl gets its app ID,
//! a key is made into its Secret while the servers' `<bp>-access` holds only its hash, no pod is
//! restarted, a rotation by annotation keeps the old hash until the grace period ends, an
//! expired key leaves the servers' file, app ID conflicts and deletions are reported.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use smbp_operator::access::key::{HashRecord, fingerprint, is_app_id};
use smbp_operator::api::{BigPeer, BigPeerApiKey, BigPeerApp};

use crate::harness::*;
use crate::{LONG, pods, setup};

const SHARED_TOKEN: &str = "s3cr3t-shared-token-of-the-app";
const SHORT: Duration = Duration::from_secs(60);

fn kubectl() -> String {
    std::env::var("SMBP_CLUSTER_DIR")
        .map(|d| format!("{d}/bin/kubectl"))
        .unwrap_or_else(|_| "kubectl".into())
}

/// Run kubectl with `args`, `input` on stdin; its stdout.
fn kubectl_run(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new(kubectl())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kubectl_apply(doc: &Value) {
    kubectl_run(
        &["apply", "-f", "-"],
        Some(&serde_yaml_ng::to_string(doc).unwrap()),
    );
}

fn app_doc(ns: &str, name: &str, app_id: Option<&str>) -> Value {
    let mut v = json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "bigPeerRef": {"name": "apps"},
            "authProviders": {
                "__playgroundProvider": {"anonymous": {
                    "permission": {"read": {"everything": true}, "write": {"queriesByCollection": {"cars": ["true"]}}},
                    "sessionLength": 3600,
                    "sharedTokenSecretRef": {"name": "fleet-token", "key": "token"},
                }},
                "corp": {"tokenWebhook": {"url": "https://sso.example.com/ditto"}},
            },
        },
    });
    if let Some(id) = app_id {
        v["spec"]["appId"] = json!(id);
    }
    v
}

fn key_doc(ns: &str, name: &str, expires: Timestamp) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApiKey",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "appRef": {"name": "fleet"},
            "expiresAt": Timestamp::from_second(expires.as_second()).unwrap().to_string(),
            "description": "e2e",
            "permissions": {"read": {"everything": true}, "remoteQuery": true, "qlVersion": 1},
            "rotation": {"every": "720h", "gracePeriod": "20s"},
        },
    })
}

fn ready(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> (String, String) {
    conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

async fn wait_app(client: &Client, ns: &str, name: &str, reason: &str) -> BigPeerApp {
    let api: Api<BigPeerApp> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("app {name} Ready reason {reason}"),
        SHORT,
        || async {
            let a = api.get(name).await.ok()?;
            let s = a.status.as_ref()?;
            (ready(&s.conditions).1 == reason && s.observed_generation == a.metadata.generation)
                .then_some(a)
        },
    )
    .await
}

async fn wait_key(client: &Client, ns: &str, name: &str, reason: &str) -> BigPeerApiKey {
    let api: Api<BigPeerApiKey> = Api::namespaced(client.clone(), ns);
    wait_for(
        &format!("key {name} Ready reason {reason}"),
        SHORT,
        || async {
            let k = api.get(name).await.ok()?;
            (ready(&k.status.as_ref()?.conditions).1 == reason).then_some(k)
        },
    )
    .await
}

fn text(s: &Secret, key: &str) -> String {
    String::from_utf8(s.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

/// The servers' two files.
async fn access(client: &Client, ns: &str) -> (Value, Value, String) {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get("apps-access")
        .await
        .expect("the servers' Secret");
    let raw = format!("{}{}", text(&s, "apps.yaml"), text(&s, "api-keys.yaml"));
    (
        serde_yaml_ng::from_str(&text(&s, "apps.yaml")).unwrap(),
        serde_yaml_ng::from_str(&text(&s, "api-keys.yaml")).unwrap(),
        raw,
    )
}

/// The `api-keys.yaml` entries of these fingerprints, once the file has exactly them for `key`.
async fn wait_entries(client: &Client, ns: &str, key: &str, fingerprints: &[String]) -> Vec<Value> {
    let mut want = fingerprints.to_vec();
    want.sort();
    wait_for(
        &format!("api-keys.yaml holding {fingerprints:?} for {key}"),
        SHORT,
        || async {
            let (_, keys, _) = access(client, ns).await;
            let entries: Vec<Value> = keys["keys"]
                .as_array()?
                .iter()
                .filter(|e| e["name"] == key)
                .cloned()
                .collect();
            let mut got: Vec<String> = entries
                .iter()
                .map(|e| e["fingerprint"].as_str().unwrap_or_default().to_string())
                .collect();
            got.sort();
            (got == want).then_some(entries)
        },
    )
    .await
}

fn record(e: &Value) -> HashRecord {
    HashRecord {
        algorithm: e["algorithm"].as_str().unwrap().into(),
        salt: e["salt"].as_str().unwrap().into(),
        hash: e["hash"].as_str().unwrap().into(),
    }
}

/// Pod uids and workload generations: what a restart or rollout changes.
async fn workloads(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = pods(client, ns, "app.kubernetes.io/instance=apps")
        .await
        .iter()
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect();
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        m.insert(
            format!("sts/{}", s.name_any()),
            format!("{:?}", s.metadata.generation),
        );
    }
    for d in Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        m.insert(
            format!("deploy/{}", d.name_any()),
            format!("{:?}", d.metadata.generation),
        );
    }
    m
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn apps_and_keys_reach_the_servers_in_place() {
    let (client, op, ns) = setup("e2e-apps", 18190).await;
    let mut body = bigpeer("apps", &ns);
    body["spec"]["network"] = json!({"hostname": "apps.example.com"});
    apply_bigpeer(&client, &body).await.unwrap();
    wait_ready(&client, &ns, "apps", LONG).await;
    let (apps_yaml, keys_yaml, _) = access(&client, &ns).await;
    assert_eq!(apps_yaml["apps"], json!([]));
    assert_eq!(keys_yaml["keys"], json!([]));
    let before = workloads(&client, &ns).await;

    // An app without its shared token's Secret: it gets an app ID, is served without that
    // provider, and says so; with the Secret, it is Ready.
    kubectl_apply(&app_doc(&ns, "fleet", None));
    let app = wait_app(&client, &ns, "fleet", "SharedTokenSecretNotFound").await;
    let app_id = app.spec.app_id.clone().expect("a generated spec.appId");
    assert!(is_app_id(&app_id), "{app_id}");
    assert_eq!(app.status.as_ref().unwrap().app_id.as_ref(), Some(&app_id));
    let token: Secret = serde_json::from_value(json!({
        "metadata": {"name": "fleet-token"}, "stringData": {"token": SHARED_TOKEN}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &token)
        .await
        .unwrap();
    let app = wait_app(&client, &ns, "fleet", "AppServed").await;
    let endpoints = app.status.unwrap().endpoints.unwrap();
    assert_eq!(
        endpoints.sync.as_deref(),
        Some("wss://apps.example.com/_ditto")
    );
    assert_eq!(
        endpoints.http.as_deref(),
        Some("https://apps.example.com/api/v4/store")
    );
    let served = wait_for("the app in apps.yaml with its token", SHORT, || async {
        let (apps, _, _) = access(&client, &ns).await;
        let a = apps["apps"].as_array()?.first()?.clone();
        (a["providers"]["__playgroundProvider"]["anonymous"]["sharedToken"] == SHARED_TOKEN)
            .then_some(a)
    })
    .await;
    assert_eq!(served["name"], "fleet");
    assert_eq!(served["appId"], app_id.as_str());
    assert_eq!(
        served["providers"]["corp"]["tokenWebhook"]["url"],
        "https://sso.example.com/ditto"
    );
    let (apps, _, _) = access(&client, &ns).await;
    assert_eq!(
        apps["sharedProviders"]["tokenWebhook"]["url"],
        "https://auth.example.com/ditto"
    );

    // A key: made into its own Secret; the servers get only its hash.
    let day = Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(24))
        .unwrap();
    kubectl_apply(&key_doc(&ns, "backend", day));
    let key = wait_key(&client, &ns, "backend", "KeyActive").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let secret = secrets.get("backend-api-key").await.unwrap();
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(secret.labels()["smbp.io/api-key"], "backend");
    assert_eq!(secret.labels()["smbp.io/app"], "fleet");
    assert_eq!(secret.labels()["smbp.io/big-peer"], "apps");
    assert_eq!(secret.owner_references()[0].uid, key.uid().unwrap());
    assert_eq!(text(&secret, "appId"), app_id);
    let first = text(&secret, "apiKey");
    assert!(first.starts_with("bpk_") && first.len() == 47);
    let status = key.status.clone().unwrap();
    assert_eq!(
        status.fingerprint.as_deref(),
        Some(fingerprint(&first).as_str())
    );
    assert_eq!(status.secret_name.as_deref(), Some("backend-api-key"));
    let entries = wait_entries(&client, &ns, "backend", &[fingerprint(&first)]).await;
    assert!(record(&entries[0]).verify(&first));
    assert_eq!(entries[0]["appId"], app_id.as_str());
    assert_eq!(entries[0]["permissions"]["remoteQuery"], true);
    let hash = text(&secret, "hash");
    let (_, _, raw) = access(&client, &ns).await;
    assert!(
        !raw.contains(&first),
        "the key itself reached the servers' Secret"
    );
    let key_json = serde_json::to_string(&key).unwrap();
    assert!(!key_json.contains(&first) && !key_json.contains(&record(&entries[0]).hash));
    assert!(!hash.is_empty());

    // Nothing restarted or rolled by an app or a key.
    assert_eq!(
        workloads(&client, &ns).await,
        before,
        "a pod or workload changed"
    );

    // Rotation by annotation: a new key; the old hash stays until the grace period ends.
    kubectl_run(
        &[
            "annotate",
            "bpkey",
            "-n",
            &ns,
            "backend",
            "smbp.io/rotate=1",
            "--overwrite",
        ],
        None,
    );
    let second = wait_for("a rotated key in the Secret", SHORT, || async {
        let k = text(&secrets.get("backend-api-key").await.ok()?, "apiKey");
        (k != first).then_some(k)
    })
    .await;
    let entries = wait_entries(
        &client,
        &ns,
        "backend",
        &[fingerprint(&first), fingerprint(&second)],
    )
    .await;
    for (k, e) in [(&first, &entries), (&second, &entries)] {
        assert!(
            e.iter().any(|e| record(e).verify(k)),
            "{} has no valid entry",
            fingerprint(k)
        );
    }
    let rotated = wait_for("status.previous", SHORT, || async {
        let k = Api::<BigPeerApiKey>::namespaced(client.clone(), &ns)
            .get("backend")
            .await
            .ok()?;
        let s = k.status?;
        (s.fingerprint.as_deref() == Some(&fingerprint(&second))).then_some(s)
    })
    .await;
    assert_eq!(
        rotated.previous.as_ref().map(|p| p.fingerprint.clone()),
        Some(fingerprint(&first))
    );
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "ApiKeyRotated")
    );
    // The grace period (20 s) ends: only the new key's hash is left.
    wait_entries(&client, &ns, "backend", &[fingerprint(&second)]).await;
    wait_for("status.previous gone", SHORT, || async {
        let k = Api::<BigPeerApiKey>::namespaced(client.clone(), &ns)
            .get("backend")
            .await
            .ok()?;
        k.status?.previous.is_none().then_some(())
    })
    .await;
    assert_eq!(
        text(&secrets.get("backend-api-key").await.unwrap(), "apiKey"),
        second
    );

    // A key that expires in a few seconds: served, then gone from the servers and Expired.
    let soon = Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(15))
        .unwrap();
    kubectl_apply(&key_doc(&ns, "short", soon));
    let short = wait_key(&client, &ns, "short", "KeyActive").await;
    let short_fp = short.status.unwrap().fingerprint.unwrap();
    wait_entries(&client, &ns, "short", &[short_fp]).await;
    let expired = wait_key(&client, &ns, "short", "Expired").await;
    let c = expired.status.unwrap().conditions;
    assert!(c.iter().any(|c| c.type_ == "Expired" && c.status == "True"));
    wait_entries(&client, &ns, "short", &[]).await;
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "ApiKeyExpired")
    );
    let metrics = op.http_get("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "smbp_operator_api_key_expiry_timestamp_seconds{{namespace=\"{ns}\",app=\"fleet\",api_key=\"short\"}} {}",
            soon.as_second()
        )),
        "{metrics}"
    );

    // A second app with the same app ID: the younger is not served.
    tokio::time::sleep(Duration::from_secs(1)).await;
    kubectl_apply(&app_doc(&ns, "twin", Some(&app_id)));
    wait_app(&client, &ns, "twin", "AppIdConflict").await;
    let (apps, _, _) = access(&client, &ns).await;
    let names: Vec<&str> = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fleet"]);

    // Still nothing restarted.
    assert_eq!(
        workloads(&client, &ns).await,
        before,
        "a pod or workload changed"
    );

    // Deleting the app with kubectl keeps its keys (AppNotFound), and the twin takes the ID.
    kubectl_run(&["delete", "bpapp", "-n", &ns, "fleet"], None);
    wait_key(&client, &ns, "backend", "AppNotFound").await;
    assert!(secrets.get_opt("backend-api-key").await.unwrap().is_some());
    wait_app(&client, &ns, "twin", "AppServed").await;

    // Deleting the BigPeer keeps its apps (BigPeerNotFound); its servers' Secret goes with it.
    Api::<BigPeer>::namespaced(client.clone(), &ns)
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap();
    wait_app(&client, &ns, "twin", "BigPeerNotFound").await;
    wait_for("apps-access deleted with its BigPeer", LONG, || async {
        secrets
            .get_opt("apps-access")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;

    let logs = op.logs();
    for secret in [first.as_str(), second.as_str(), SHARED_TOKEN] {
        assert!(
            !logs.contains(secret),
            "a secret value reached the operator's logs"
        );
    }
    // Leave no app or key behind for the operators of later tests.
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .delete(&ns, &DeleteParams::default())
        .await
        .unwrap();
}
