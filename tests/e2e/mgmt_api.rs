//! The management API against the real API server: TokenReview and SubjectAccessReview decide
//! who may call (401 without a token, 403 for a ServiceAccount without RBAC on the kinds, 200
//! with it); apps made over HTTP are BigPeerApps kubectl sees and the other way round; a key
//! made over HTTP is returned once and equals its Secret's; replications and data bridges made,
//! changed and deleted over HTTP are the custom resources kubectl sees, and RBAC decides per
//! kind. Every answer is validated against Ditto's published document.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use rustls::ClientConfig;
use serde_json::{Value, json};
use smbp_operator::api::app::{BigPeerApiKey, BigPeerApp};

use crate::ditto::Doc;
use crate::harness::*;

const WAIT: Duration = Duration::from_secs(60);

struct Setup {
    client: Client,
    ns: String,
    op: Operator,
    api: String,
    user: String,
    stranger: String,
    tls: Arc<ClientConfig>,
    ditto: Doc,
}

fn kubectl() -> PathBuf {
    if let Ok(k) = std::env::var("SMBP_KUBECTL") {
        return k.into();
    }
    let kc = PathBuf::from(std::env::var("KUBECONFIG").expect("KUBECONFIG"));
    kc.parent().unwrap().join("bin/kubectl")
}

/// `kubectl -n <ns> <args>` as the admin; its stdout.
fn kubectl_in(ns: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(kubectl())
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn setup(name: &str) -> Setup {
    let client = admin().await;
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, name).await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    for sa in ["api-user", "api-stranger"] {
        let s = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(sa.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        sas.create(&PostParams::default(), &s).await.unwrap();
    }
    // What a team's Role would grant: the kinds, and reading Secrets (shared tokens).
    let role = Role {
        metadata: ObjectMeta {
            name: Some("bigpeer-apps".into()),
            ..Default::default()
        },
        rules: Some(vec![
            PolicyRule {
                api_groups: Some(vec!["smbp.io".into()]),
                resources: Some(vec!["bigpeerapps".into(), "bigpeerapikeys".into()]),
                verbs: [
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            },
            PolicyRule {
                api_groups: Some(vec!["".into()]),
                resources: Some(vec!["secrets".into()]),
                verbs: vec!["get".into()],
                ..Default::default()
            },
        ]),
    };
    Api::<Role>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("bigpeer-apps".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "bigpeer-apps".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "api-user".into(),
            namespace: Some(ns.clone()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    apply_bigpeer(&client, &bigpeer("prod", &ns)).await.unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let op = Operator::start_with(
        &kubeconfig,
        name,
        free_port(),
        false,
        &[("API_BIND_ADDRESS", api.as_str())],
    );
    let s = Setup {
        user: service_account_token(&client, &ns, "api-user").await,
        stranger: service_account_token(&client, &ns, "api-stranger").await,
        client,
        ns,
        op,
        api,
        tls: tls_any_certificate(),
        ditto: Doc::ditto(),
    };
    wait_for("the management API answers", WAIT, || async {
        let r = s.call("GET", "/openapi.json", None, None).await;
        (r.status == 200).then_some(())
    })
    .await;
    s
}

impl Setup {
    fn base(&self) -> String {
        format!("/namespace/{}/bigPeer/prod/app", self.ns)
    }

    /// One call; the answer validated against Ditto's document.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> JsonReply {
        let r = https_json(
            &self.api,
            method,
            path,
            token,
            body.as_ref(),
            self.tls.clone(),
        )
        .await
        .unwrap_or_else(|e| JsonReply {
            status: 0,
            headers: vec![],
            body: json!(e.to_string()),
        });
        if r.status != 0 && path.starts_with("/namespace/") {
            let bare = path.split('?').next().unwrap();
            if let Some(t) = self.ditto.template_of(bare)
                && self.ditto.operation(method, &t).is_some()
            {
                self.ditto
                    .validate_response(method, bare, r.status, &r.body)
                    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            }
        }
        r
    }

    fn apps(&self) -> Api<BigPeerApp> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    fn assert_no_secret_in_logs(&self, secrets: &[&str]) {
        let logs = self.op.logs();
        for s in secrets {
            assert!(
                !logs.contains(s),
                "a token or key reached the operator's logs"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn management_api_answers_what_rbac_allows_and_writes_the_custom_resources() {
    let s = setup("e2e-mgmt").await;
    let base = s.base();

    let anonymous = s.call("GET", &base, None, None).await;
    assert_eq!(anonymous.status, 401, "{:?}", anonymous.body);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    let forged = s.call("GET", &base, Some("not-a-token"), None).await;
    assert_eq!(forged.status, 401);
    let stranger = s.call("GET", &base, Some(&s.stranger), None).await;
    assert_eq!(stranger.status, 403, "{:?}", stranger.body);
    // No leak: the stranger gets 403 for an app that does not exist, not 404.
    let nothing = s
        .call("GET", &format!("{base}/nope"), Some(&s.stranger), None)
        .await;
    assert_eq!(nothing.status, 403);
    let empty = s.call("GET", &base, Some(&s.user), None).await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    assert_eq!(empty.body["meta"]["totalPages"], 0);

    // Created over HTTP: a BigPeerApp kubectl sees, with its shared token in a Secret.
    let web = json!({"name": "web", "authProviders": {
        "__playgroundProvider": {"type": "anonymous", "sessionLength": 600, "sharedToken": "e2e-shared-token-1",
                                 "permission": {"read": {"everything": true}, "write": {"everything": true}}},
        "corp": {"type": "webhookUrl", "webhookUrl": "https://auth.example.com/ditto"}}});
    let created = s.call("POST", &base, Some(&s.user), Some(web)).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let app_id = created.body["appId"].as_str().unwrap().to_string();
    assert_eq!(
        created.body["authProviders"]["__playgroundProvider"]["sharedToken"],
        "e2e-shared-token-1"
    );
    let seen: Value = serde_json::from_str(&kubectl_in(
        &s.ns,
        &["get", "bigpeerapp", "web", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(seen["spec"]["bigPeerRef"]["name"], "prod");
    assert_eq!(seen["spec"]["appId"], app_id.as_str());
    assert_eq!(
        seen["spec"]["authProviders"]["corp"]["tokenWebhook"]["url"],
        "https://auth.example.com/ditto"
    );
    let secret_name =
        seen["spec"]["authProviders"]["__playgroundProvider"]["anonymous"]["sharedTokenSecretRef"]
            ["name"]
            .as_str()
            .unwrap()
            .to_string();
    let secret = Api::<Secret>::namespaced(s.client.clone(), &s.ns)
        .get(&secret_name)
        .await
        .unwrap();
    assert_eq!(secret.data.unwrap()["sharedToken"].0, b"e2e-shared-token-1");
    let app_uid = s.apps().get("web").await.unwrap().uid().unwrap();
    assert!(
        secret
            .metadata
            .owner_references
            .unwrap()
            .iter()
            .any(|r| r.uid == app_uid)
    );
    assert!(
        !seen.to_string().contains("e2e-shared-token-1"),
        "the token is only in its Secret"
    );

    // Read back right away: the token, since the user may get that Secret.
    let got = s
        .call("GET", &format!("{base}/web"), Some(&s.user), None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body["authProviders"]["__playgroundProvider"]["sharedToken"],
        "e2e-shared-token-1"
    );

    // Made with kubectl: listed over HTTP.
    let mine = json!({"apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": "kubectl-made", "namespace": s.ns},
        "spec": {"bigPeerRef": {"name": "prod"}, "appId": "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11"}});
    let out = std::process::Command::new(kubectl())
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(mine.to_string().as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(out.success());
    let listed = wait_for("the kubectl-made app is listed over HTTP", WAIT, || async {
        let r = s.call("GET", &base, Some(&s.user), None).await;
        (r.body["meta"]["totalPages"] == 1 && r.body["data"].as_array()?.len() == 2).then_some(r)
    })
    .await;
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kubectl-made", "web"]);

    // The same app ID again, a duplicate name, an unknown BigPeer: refused.
    let dup = s
        .call(
            "POST",
            &base,
            Some(&s.user),
            Some(json!({"name": "again", "appId": app_id})),
        )
        .await;
    assert_eq!(dup.status, 400, "{:?}", dup.body);
    let taken = s
        .call("POST", &base, Some(&s.user), Some(json!({"name": "web"})))
        .await;
    assert_eq!(taken.status, 400, "{:?}", taken.body);
    let gone = s
        .call(
            "POST",
            &format!("/namespace/{}/bigPeer/gone/app", s.ns),
            Some(&s.user),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(gone.status, 404);

    // PATCH removes a provider (null); the Secret this API kept for it goes.
    let patched = s
        .call(
            "PATCH",
            &format!("{base}/web"),
            Some(&s.user),
            Some(json!({"authProviders": {"__playgroundProvider": null}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert!(
        patched.body["authProviders"]
            .get("__playgroundProvider")
            .is_none()
    );
    wait_for(
        "the unused shared-token Secret is deleted",
        WAIT,
        || async {
            Api::<Secret>::namespaced(s.client.clone(), &s.ns)
                .get_opt(&secret_name)
                .await
                .ok()?
                .is_none()
                .then_some(())
        },
    )
    .await;

    // Delete over HTTP: gone for kubectl too.
    let deleted = s
        .call(
            "DELETE",
            &format!("{base}/kubectl-made"),
            Some(&s.user),
            None,
        )
        .await;
    assert_eq!((deleted.status, &deleted.body), (200, &Value::Null));
    wait_for("the app is deleted", WAIT, || async {
        s.apps()
            .get_opt("kubectl-made")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let after = s
        .call("GET", &format!("{base}/kubectl-made"), Some(&s.user), None)
        .await;
    assert_eq!(after.status, 404);

    // Keys: refused before the controller is needed.
    let past = s
        .call("POST", &format!("{base}/web/apiKey"), Some(&s.user),
              Some(json!({"name": "old", "expiresAt": "2001-01-01T00:00:00Z", "permissions": {"read": {}, "write": {}}})))
        .await;
    assert_eq!(past.status, 400);
    let stranger_key = s
        .call("POST", &format!("{base}/web/apiKey"), Some(&s.stranger),
              Some(json!({"name": "k", "expiresAt": "2100-01-01T00:00:00Z", "permissions": {"read": {}, "write": {}}})))
        .await;
    assert_eq!(stranger_key.status, 403);
    assert!(
        Api::<BigPeerApiKey>::namespaced(s.client.clone(), &s.ns)
            .get_opt("k")
            .await
            .unwrap()
            .is_none()
    );

    let logs = s.op.logs();
    assert!(
        logs.contains("serving the management API over HTTPS"),
        "{logs}"
    );
    assert!(logs.contains("management API write"), "{logs}");
    s.assert_no_secret_in_logs(&[&s.user, &s.stranger, "e2e-shared-token-1"]);
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn a_key_created_over_http_is_returned_once_and_equals_its_secret() {
    let s = setup("e2e-mgmt-key").await;
    let base = s.base();
    let created = s
        .call("POST", &base, Some(&s.user), Some(json!({"name": "app"})))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let body = json!({"name": "my-key", "expiresAt": "2100-04-13T12:00:00Z", "description": null,
        "permissions": {"remoteQuery": true, "read": {"everything": true, "queriesByCollection": {}},
                        "write": {"everything": true, "queriesByCollection": {}}}});
    let key = s
        .call(
            "POST",
            &format!("{base}/app/apiKey"),
            Some(&s.user),
            Some(body.clone()),
        )
        .await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let plaintext = key.body.as_str().expect("a JSON string").to_string();
    let secret = Api::<Secret>::namespaced(s.client.clone(), &s.ns)
        .get("my-key-api-key")
        .await
        .unwrap();
    assert_eq!(secret.data.unwrap()["apiKey"].0, plaintext.as_bytes());
    // Afterwards the key is described, never returned.
    let read = s
        .call(
            "GET",
            &format!("{base}/app/apiKey/my-key"),
            Some(&s.user),
            None,
        )
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, body);
    assert!(!read.body.to_string().contains(&plaintext));
    let list = s
        .call("GET", &format!("{base}/app/apiKey"), Some(&s.user), None)
        .await;
    assert!(!list.body.to_string().contains(&plaintext));
    let again = s
        .call(
            "POST",
            &format!("{base}/app/apiKey"),
            Some(&s.user),
            Some(body),
        )
        .await;
    assert_eq!(again.status, 400, "a duplicate name: {:?}", again.body);
    let deleted = s
        .call(
            "DELETE",
            &format!("{base}/app/apiKey/my-key"),
            Some(&s.user),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    s.assert_no_secret_in_logs(&[&plaintext, &s.user]);
}

/// A ServiceAccount of `s`'s namespace allowed everything on `resources` of smbp.io: its token.
async fn user_of(s: &Setup, name: &str, resources: &[&str]) -> String {
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(s.client.clone(), &s.ns)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let role = Role {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["smbp.io".into()]),
            resources: Some(resources.iter().map(|r| r.to_string()).collect()),
            verbs: [
                "get", "list", "watch", "create", "update", "patch", "delete",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(s.client.clone(), &s.ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: name.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: Some(s.ns.clone()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(s.client.clone(), &s.ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    service_account_token(&s.client, &s.ns, name).await
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn replications_and_data_bridges_over_http_are_the_custom_resources() {
    let s = setup("e2e-mgmt-links").await;
    let base = s.base();
    let links = user_of(
        &s,
        "links-user",
        &["bigpeerapps", "bigpeerreplications", "bigpeerdatabridges"],
    )
    .await;
    let created = s
        .call("POST", &base, Some(&links), Some(json!({"name": "web"})))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let repls = format!("{base}/web/bigPeerReplication");
    let bridges = format!("{base}/web/dataBridge");

    // No token: 401; a token whose user has RBAC on apps and keys but not on these kinds: 403,
    // before anything is looked up.
    for path in [&repls, &bridges] {
        let anonymous = s.call("GET", path, None, None).await;
        assert_eq!(anonymous.status, 401, "{path}");
        let no_rbac = s.call("GET", path, Some(&s.user), None).await;
        assert_eq!(no_rbac.status, 403, "{path}: {:?}", no_rbac.body);
        assert!(
            no_rbac.body["error"]
                .as_str()
                .unwrap()
                .contains(if path == &repls {
                    "bigpeerreplications.smbp.io"
                } else {
                    "bigpeerdatabridges.smbp.io"
                }),
            "{:?}",
            no_rbac.body
        );
    }
    let refused = s
        .call("POST", &repls, Some(&s.user), Some(json!({"name": "eu"})))
        .await;
    assert_eq!(refused.status, 403);
    let replications: Api<smbp_operator::api::BigPeerReplication> =
        Api::namespaced(s.client.clone(), &s.ns);
    assert!(replications.get_opt("eu").await.unwrap().is_none());

    // A replication: created, read, replaced, patched, deleted over HTTP; the custom resource
    // follows.
    let eu = json!({"name": "eu", "connections": ["web-replication.bigpeer-eu.svc:4040"],
                    "queriesByCollection": {"cars": ["true"]}});
    let made = s.call("POST", &repls, Some(&links), Some(eu.clone())).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body, eu);
    let cr: Value = serde_json::from_str(&kubectl_in(
        &s.ns,
        &["get", "bigpeerreplication", "eu", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(cr["spec"]["appRef"]["name"], "web");
    assert_eq!(cr["metadata"]["labels"]["smbp.io/big-peer"], "prod");
    assert_eq!(cr["spec"]["connections"], eu["connections"]);
    let got = s
        .call("GET", &format!("{repls}/eu"), Some(&links), None)
        .await;
    assert_eq!((got.status, &got.body["name"]), (200, &json!("eu")));
    let list = wait_for("the replication is listed", WAIT, || async {
        let r = s.call("GET", &repls, Some(&links), None).await;
        (r.body["data"].as_array()?.len() == 1).then_some(r)
    })
    .await;
    assert_eq!(
        list.body["meta"],
        json!({"page": 1, "size": 1, "totalPages": 1})
    );
    let put = s
        .call(
            "PUT",
            &format!("{repls}/eu"),
            Some(&links),
            Some(json!({"connections": ["web-replication.bigpeer-us.svc:4040"]})),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["queriesByCollection"], json!({}));
    let patched = s
        .call(
            "PATCH",
            &format!("{repls}/eu"),
            Some(&links),
            Some(json!({"queriesByCollection": {"trucks": ["true"]}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let now = replications.get("eu").await.unwrap();
    assert_eq!(
        now.spec.connections,
        ["web-replication.bigpeer-us.svc:4040"]
    );
    assert_eq!(
        now.spec.queries_by_collection,
        [("trucks".to_string(), vec!["true".to_string()])].into()
    );
    let bad = s
        .call(
            "PATCH",
            &format!("{repls}/eu"),
            Some(&links),
            Some(json!({"connections": ["no port"]})),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    let deleted = s
        .call("DELETE", &format!("{repls}/eu"), Some(&links), None)
        .await;
    assert_eq!((deleted.status, &deleted.body), (200, &Value::Null));
    wait_for("the replication is deleted", WAIT, || async {
        replications
            .get_opt("eu")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let missing = s
        .call("GET", &format!("{repls}/eu"), Some(&links), None)
        .await;
    assert_eq!(missing.status, 404);

    // A data bridge: 201 with Ditto's body, visible to kubectl, deleted with 204.
    let orders = json!({"name": "orders", "displayName": "test data bridge",
        "description": "Stream of completed production orders",
        "bridge": {"kafka": {"source": [{"collection": "orders", "query": "status = 'completed'"}],
                             "streamType": "untyped", "topicPartitions": 10}}});
    let made = s
        .call("POST", &bridges, Some(&links), Some(orders.clone()))
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["bridge"]["kafka"]["topicPartitions"], 10);
    let cr: Value = serde_json::from_str(&kubectl_in(
        &s.ns,
        &["get", "bigpeerdatabridge", "orders", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(cr["spec"]["appRef"]["name"], "web");
    assert_eq!(cr["spec"]["kafka"]["source"][0]["collection"], "orders");
    let aws = json!({"name": "mongo", "bridge": {"mongoConnector": {
        "connectionSecret": {"awsSecretsManager": {"secretId": "a/b", "roleArn": "arn:aws:iam::1:role/x", "region": "eu-west-1"}},
        "database": "shop", "collections": {"orders": {"fields": ["_id"], "initialSync": false, "mode": "native"}}}}});
    let refused = s.call("POST", &bridges, Some(&links), Some(aws)).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("awsSecretsManager is not supported"),
        "{:?}",
        refused.body
    );
    let listed = wait_for("the data bridge is listed", WAIT, || async {
        let r = s.call("GET", &bridges, Some(&links), None).await;
        (r.body["data"].as_array()?.len() == 1).then_some(r)
    })
    .await;
    assert_eq!(listed.body["data"][0]["name"], "orders");
    let deleted = s
        .call("DELETE", &format!("{bridges}/orders"), Some(&links), None)
        .await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let bridges_api: Api<smbp_operator::api::BigPeerDataBridge> =
        Api::namespaced(s.client.clone(), &s.ns);
    wait_for("the data bridge is deleted", WAIT, || async {
        bridges_api
            .get_opt("orders")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    s.assert_no_secret_in_logs(&[&links, &s.user]);
}
