//! The management API's handlers against the mock API server: who may call (401, 403 before
//! any lookup), what each operation reads and writes, and what it answers (404, 400, paging).
//! Every response is validated against Ditto's published document and the operator's own
//! `/openapi.json`; requests are built from the examples of Ditto's document.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use smbp_operator::api::app::{BigPeerApiKey, BigPeerApp};
use smbp_operator::api::{BigPeerDataBridge, BigPeerReplication};
use smbp_operator::mgmt::handlers::{Api, handle};
use smbp_operator::mgmt::openapi;
use smbp_operator::mgmt::route::OPERATIONS;
use smbp_operator::mgmt::store::Stores;
use smbp_operator::telemetry::access::{Attributes, ReviewError, Reviewer, User};
use smbp_operator::telemetry::review::KubeReviewer;

use crate::ditto::Doc;
use crate::server::{Exchange, delete, get, get_metadata, merge_patch, post, serve};

const NS: &str = "team";
const P: &str = "/namespace/team/bigPeer/prod/app";
const APPS: &str = "/apis/smbp.io/v1alpha1/namespaces/team/bigpeerapps";
const KEYS: &str = "/apis/smbp.io/v1alpha1/namespaces/team/bigpeerapikeys";
const SECRETS: &str = "/api/v1/namespaces/team/secrets";
const REPLICATIONS: &str = "/apis/smbp.io/v1alpha1/namespaces/team/bigpeerreplications";
const BRIDGES: &str = "/apis/smbp.io/v1alpha1/namespaces/team/bigpeerdatabridges";
const BP: &str = "/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/prod";
const ID: &str = "cb692760-9786-44c3-b040-019bec5a1b77";
const FM: [(&str, &str); 1] = [("fieldManager", "smbp-operator-api")];

/// Tokens: `admin` may do anything; `reader` may get and list apps and keys but not read
/// Secrets; `stranger` may do nothing; any other token is not accepted.
#[derive(Default)]
struct Fake {
    asked: Mutex<Vec<Attributes>>,
}

impl Reviewer for Fake {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        Box::pin(async move {
            Ok(["admin", "reader", "stranger"]
                .contains(&token)
                .then(|| User {
                    username: token.into(),
                    ..Default::default()
                }))
        })
    }
    fn authorize<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(attributes.clone());
            Ok(match (user.username.as_str(), attributes) {
                ("admin", _) => true,
                ("reader", Attributes::Resource(r)) => {
                    r.group == "smbp.io" && (r.verb == "get" || r.verb == "list")
                }
                _ => false,
            })
        })
    }
}

fn app(name: &str, bp: &str, rv: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApp",
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"), "resourceVersion": rv,
                     "labels": {"smbp.io/big-peer": bp}},
        "spec": {"bigPeerRef": {"name": bp}, "appId": ID}
    })
}

fn with_providers(mut a: Value, providers: Value) -> Value {
    a["spec"]["authProviders"] = providers;
    a
}

fn anonymous_cr(secret: &str) -> Value {
    json!({"anonymous": {
        "permission": {"read": {"everything": true, "queriesByCollection": {}},
                       "write": {"everything": false, "queriesByCollection": {"cars": ["true"]}},
                       "remoteQuery": false, "qlVersion": 1},
        "sessionLength": 604800,
        "sharedTokenSecretRef": {"name": secret, "key": "sharedToken"}}})
}

fn key(name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerApiKey",
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"), "resourceVersion": "7",
                     "labels": {"smbp.io/app": app, "smbp.io/big-peer": "prod"}},
        "spec": {"appRef": {"name": app}, "expiresAt": "2100-04-13T12:00:00Z",
                 "permissions": {"read": {"everything": true, "queriesByCollection": {}},
                                 "write": {"everything": true, "queriesByCollection": {}},
                                 "remoteQuery": true, "qlVersion": 0}}
    })
}

fn stores(apps: &[Value], keys: &[Value]) -> Stores {
    let apps: Vec<BigPeerApp> = apps
        .iter()
        .map(|a| serde_json::from_value(a.clone()).unwrap())
        .collect();
    let keys: Vec<BigPeerApiKey> = keys
        .iter()
        .map(|k| serde_json::from_value(k.clone()).unwrap())
        .collect();
    Stores::fixed(apps, keys)
}

struct Fixture {
    api: Api,
    fake: Arc<Fake>,
    server: crate::server::Server,
}

fn fixture(scenario: Vec<Exchange>, apps: &[Value], keys: &[Value]) -> Fixture {
    let (client, server) = serve(scenario);
    let fake = Arc::new(Fake::default());
    let mut api = Api::new(client, stores(apps, keys), Some(fake.clone()));
    api.key_wait = Duration::from_secs(2);
    Fixture { api, fake, server }
}

impl Fixture {
    async fn done(self) {
        self.server.done(self.api).await;
    }
}

/// What a call got.
struct Got {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

fn docs() -> &'static (Doc, Doc) {
    static DOCS: std::sync::OnceLock<(Doc, Doc)> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| (Doc::ditto(), Doc::new(openapi::document())))
}

/// Call the API as `token` and validate the answer against both documents.
async fn call(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Got {
    let uri: Uri = path.parse().unwrap();
    let mut headers = HeaderMap::new();
    if let Some(t) = token {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    }
    let bytes = body.map_or(Bytes::new(), |b| Bytes::from(b.to_string()));
    let method: Method = method.parse().unwrap();
    let r = handle(api, &method, &uri, &headers, &bytes).await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let raw = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
    let body: Value = if status == 204 {
        assert!(raw.is_empty(), "a 204 has no body");
        Value::Null
    } else {
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        serde_json::from_slice(&raw).expect("a JSON body")
    };
    let (ditto, ours) = docs();
    let bare = uri.path();
    if ditto.template_of(bare).is_some()
        && ditto
            .operation(method.as_str(), &ditto.template_of(bare).unwrap())
            .is_some()
    {
        ditto
            .validate_response(method.as_str(), bare, status, &body)
            .unwrap_or_else(|e| panic!("Ditto's document: {method} {path} {status}: {e}"));
    }
    if status != 405 && ours.template_of(bare).is_some() {
        ours.validate_response(method.as_str(), bare, status, &body)
            .unwrap_or_else(|e| panic!("our document: {method} {path} {status}: {e}"));
    }
    Got {
        status,
        headers,
        body,
    }
}

fn example(operation_id: &str, name: &str) -> Value {
    let (ditto, _) = docs();
    ditto
        .response_examples()
        .into_iter()
        .find(|e| {
            ditto.operation(&e.0, &e.1).unwrap()["operationId"] == operation_id && e.3 == name
        })
        .unwrap_or_else(|| panic!("no example {name} of {operation_id}"))
        .4
}

fn concrete(template: &str) -> String {
    template
        .replace("{namespace}", NS)
        .replace("{big_peer_name}", "prod")
        .replace("{app_name}", "no-such-app")
        .replace("{provider_name}", "p")
        .replace("{api_key_name}", "no-such-key")
        .replace("{replication_name}", "no-such-replication")
        .replace("{data_bridge_name}", "no-such-bridge")
}

#[tokio::test]
async fn without_a_good_token_every_operation_is_401_and_reads_nothing() {
    let f = fixture(vec![], &[], &[]);
    for o in OPERATIONS {
        for token in [None, Some("forged")] {
            let got = call(
                &f.api,
                o.method,
                &concrete(o.template),
                token,
                Some(json!({})),
            )
            .await;
            assert_eq!(got.status, 401, "{o:?} {token:?}: {}", got.body);
            assert_eq!(got.headers[header::WWW_AUTHENTICATE], "Bearer");
            assert!(
                got.body["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("Unauthorized")
            );
        }
    }
    assert!(
        f.fake.asked.lock().unwrap().is_empty(),
        "no authorization asked"
    );
    f.done().await;
}

#[tokio::test]
async fn a_user_without_access_gets_403_before_any_lookup() {
    // No request reaches the API server: a missing app or key would otherwise be 404.
    let f = fixture(vec![], &[], &[]);
    for o in OPERATIONS {
        let got = call(
            &f.api,
            o.method,
            &concrete(o.template),
            Some("stranger"),
            Some(json!({})),
        )
        .await;
        assert_eq!(got.status, 403, "{o:?}: {}", got.body);
        assert!(got.body["error"].as_str().unwrap().starts_with("Forbidden"));
    }
    let asked = f.fake.asked.lock().unwrap().clone();
    // One question per operation, the first refused (equal questions answered from the
    // cache: several operations need `patch` of the app).
    assert!(!asked.is_empty() && asked.len() <= OPERATIONS.len());
    for a in asked {
        match a {
            Attributes::Resource(r) => {
                assert_eq!((r.group.as_str(), r.namespace.as_str()), ("smbp.io", NS));
                assert!(
                    [
                        "bigpeerapps",
                        "bigpeerapikeys",
                        "bigpeerreplications",
                        "bigpeerdatabridges"
                    ]
                    .contains(&r.resource.as_str()),
                    "{r:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    f.done().await;
}

#[tokio::test]
async fn the_kube_reviewer_asks_for_the_resource_verb_in_the_paths_namespace() {
    let (client, server) = serve(vec![
        post("/apis/authentication.k8s.io/v1/tokenreviews")
            .body(|b| assert_eq!(b["spec"]["token"], "t0k"))
            .answer(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                           "spec": {"token": "t0k"},
                           "status": {"authenticated": true, "user": {"username": "alice", "groups": ["devs"]}}})),
        post("/apis/authorization.k8s.io/v1/subjectaccessreviews")
            .body(|b| {
                assert_eq!(b["spec"]["user"], "alice");
                assert_eq!(
                    b["spec"]["resourceAttributes"],
                    json!({"group": "smbp.io", "resource": "bigpeerapikeys", "namespace": NS,
                           "name": "my-key", "verb": "delete"})
                );
                assert!(b["spec"].get("nonResourceAttributes").is_none());
            })
            .answer(json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                           "spec": {}, "status": {"allowed": false}})),
    ]);
    let reviewer = Arc::new(KubeReviewer::new(client.clone()));
    let api = Api::new(client, stores(&[], &[]), Some(reviewer));
    let got = call(
        &api,
        "DELETE",
        &format!("{P}/my-app/apiKey/my-key"),
        Some("t0k"),
        None,
    )
    .await;
    assert_eq!(got.status, 403, "{}", got.body);
    server.done(api).await;
}

#[tokio::test]
async fn list_apps_pages_the_big_peers_apps_by_name() {
    let mut apps: Vec<Value> = ["e", "a", "d", "b", "c"]
        .iter()
        .map(|n| app(n, "prod", "1"))
        .collect();
    apps.push(app("x", "other", "1"));
    let f = fixture(vec![], &apps, &[]);
    let got = call(
        &f.api,
        "GET",
        &format!("{P}?page=2&size=2"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body["meta"],
        json!({"page": 2, "size": 2, "totalPages": 3})
    );
    assert_eq!(
        got.body["data"],
        json!([{"name": "c", "appId": ID}, {"name": "d", "appId": ID}])
    );
    let all = call(&f.api, "GET", P, Some("reader"), None).await;
    assert_eq!(
        all.body["meta"],
        json!({"page": 1, "size": 5, "totalPages": 1})
    );
    let none = call(
        &f.api,
        "GET",
        "/namespace/team/bigPeer/gone/app",
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(none.status, 200, "an unknown BigPeer has no apps");
    assert_eq!(
        none.body,
        json!({"meta": {"page": 1, "size": 0, "totalPages": 0}, "data": []})
    );
    let bad = call(
        &f.api,
        "GET",
        &format!("{P}?size=5000"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    f.done().await;
}

#[tokio::test]
async fn create_app_from_the_documents_example() {
    let body = example("createApp", "App");
    let f = fixture(
        vec![
            get_metadata("/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/prod").answer(
                json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                               "metadata": {"name": "prod", "namespace": NS}}),
            ),
            post(APPS)
                .query(&FM)
                .body(|b| {
                    assert_eq!(b["metadata"]["name"], "my-app");
                    assert_eq!(b["metadata"]["labels"]["smbp.io/big-peer"], "prod");
                    assert_eq!(
                        b["spec"],
                        json!({"bigPeerRef": {"name": "prod"}, "appId": ID})
                    );
                })
                .echo(),
        ],
        &[],
        &[],
    );
    let (ditto, _) = docs();
    ditto.validate_request("POST", P, &body).unwrap();
    let got = call(&f.api, "POST", P, Some("admin"), Some(body.clone())).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, body);
    f.done().await;
}

#[tokio::test]
async fn create_app_makes_an_id_and_keeps_a_shared_token_in_a_secret_owned_by_the_app() {
    let f = fixture(
        vec![
            get_metadata("/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/prod").answer(
                json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                               "metadata": {"name": "prod", "namespace": NS}}),
            ),
            post(APPS)
                .query(&FM)
                .body(|b| {
                    let id = b["spec"]["appId"].as_str().unwrap();
                    assert_eq!(id.len(), 36, "a UUID made by the API");
                    assert_eq!(
                        b["spec"]["authProviders"]["corp"]["anonymous"]["sharedTokenSecretRef"],
                        json!({"name": "web-provider-corp", "key": "sharedToken"})
                    );
                    assert!(!b.to_string().contains("s3cr3t-token"));
                })
                .answer(with_providers(
                    app("web", "prod", "1"),
                    json!({"corp": anonymous_cr("web-provider-corp")}),
                )),
            get_metadata(&format!("{SECRETS}/web-provider-corp")).not_found(),
            post(SECRETS)
                .query(&FM)
                .body(|s| {
                    assert_eq!(s["metadata"]["name"], "web-provider-corp");
                    assert_eq!(s["metadata"]["labels"]["smbp.io/app"], "web");
                    assert_eq!(s["metadata"]["annotations"]["smbp.io/provider"], "corp");
                    assert_eq!(s["metadata"]["ownerReferences"][0]["uid"], "uid-web");
                    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "BigPeerApp");
                    // base64 of s3cr3t-token
                    assert_eq!(s["data"]["sharedToken"], "czNjcjN0LXRva2Vu");
                })
                .echo(),
        ],
        &[],
        &[],
    );
    let body = json!({"name": "web", "authProviders": {"corp": {
        "type": "anonymous", "sessionLength": 604800, "sharedToken": "s3cr3t-token",
        "permission": {"read": {"everything": true}, "write": {"queriesByCollection": {"cars": ["true"]}}, "qlVersion": 1}}}});
    let got = call(&f.api, "POST", P, Some("admin"), Some(body)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["authProviders"]["corp"]["sharedToken"],
        "s3cr3t-token"
    );
    assert_eq!(got.body["authProviders"]["corp"]["type"], "anonymous");
    f.done().await;
}

#[tokio::test]
async fn create_app_refusals() {
    let bp = || {
        get_metadata("/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/prod").answer(
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": "prod"}}),
        )
    };
    let f = fixture(
        vec![
            get_metadata("/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/gone").not_found(),
            bp(),
            bp(),
            bp(),
            post(APPS).query(&FM).fail(
                409,
                "AlreadyExists",
                "bigpeerapps.smbp.io \"taken\" already exists",
            ),
        ],
        &[app("first", "prod", "1")],
        &[],
    );
    let got = call(
        &f.api,
        "POST",
        "/namespace/team/bigPeer/gone/app",
        Some("admin"),
        Some(json!({"name": "a"})),
    )
    .await;
    assert_eq!(got.status, 404);
    assert!(
        got.body["error"]
            .as_str()
            .unwrap()
            .starts_with("BigPeerNotFound")
    );
    let got = call(
        &f.api,
        "POST",
        P,
        Some("admin"),
        Some(json!({"name": "second", "appId": ID})),
    )
    .await;
    assert_eq!(got.status, 400);
    assert!(
        got.body["error"]
            .as_str()
            .unwrap()
            .starts_with("AppIdNotUnique"),
        "{}",
        got.body
    );
    let got = call(
        &f.api,
        "POST",
        P,
        Some("admin"),
        Some(json!({"name": "Bad_Name"})),
    )
    .await;
    assert_eq!(got.status, 400);
    let got = call(
        &f.api,
        "POST",
        P,
        Some("admin"),
        Some(json!({"name": "taken"})),
    )
    .await;
    assert_eq!(got.status, 400);
    assert!(
        got.body["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    // Not JSON, or not an App: 400 before anything is read.
    let got = call(&f.api, "POST", P, Some("admin"), None).await;
    assert_eq!(got.status, 400);
    assert!(
        got.body["error"]
            .as_str()
            .unwrap()
            .starts_with("InvalidBody")
    );
    f.done().await;
}

#[tokio::test]
async fn get_app_shows_a_shared_token_only_to_who_may_read_its_secret() {
    let a = with_providers(
        app("web", "prod", "1"),
        json!({"corp": anonymous_cr("web-provider-corp"), "hook": {"tokenWebhook": {"url": "https://auth.example.com/ditto"}}}),
    );
    let f = fixture(
        vec![
            get(&format!("{SECRETS}/web-provider-corp")).answer(json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-provider-corp"},
                "data": {"sharedToken": "czNjcjN0LXRva2Vu"}})),
            get(&format!("{APPS}/missing")).not_found(),
        ],
        &[a, app("elsewhere", "other", "1")],
        &[],
    );
    let admin = call(&f.api, "GET", &format!("{P}/web"), Some("admin"), None).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(
        admin.body["authProviders"]["corp"]["sharedToken"],
        "s3cr3t-token"
    );
    assert_eq!(
        admin.body["authProviders"]["hook"],
        json!({"type": "webhookUrl", "webhookUrl": "https://auth.example.com/ditto"})
    );
    let reader = call(&f.api, "GET", &format!("{P}/web"), Some("reader"), None).await;
    assert_eq!(reader.status, 200);
    assert_eq!(reader.body["authProviders"]["corp"]["sharedToken"], "");
    assert!(f.fake.asked.lock().unwrap().iter().any(|a| matches!(a,
        Attributes::Resource(r) if r.resource == "secrets" && r.name.as_deref() == Some("web-provider-corp") && r.verb == "get")));
    let missing = call(&f.api, "GET", &format!("{P}/missing"), Some("reader"), None).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body["error"]
            .as_str()
            .unwrap()
            .starts_with("AppNotFound")
    );
    let mismatch = call(
        &f.api,
        "GET",
        &format!("{P}/elsewhere"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(mismatch.status, 400);
    assert!(
        mismatch.body["error"]
            .as_str()
            .unwrap()
            .starts_with("BigPeerNameMismatch")
    );
    f.done().await;
}

#[tokio::test]
async fn put_replaces_providers_with_the_resource_version_read_and_retries_a_conflict() {
    let current = with_providers(
        app("web", "prod", "5"),
        json!({"old": anonymous_cr("web-provider-old")}),
    );
    let fresh = with_providers(
        app("web", "prod", "6"),
        json!({"old": anonymous_cr("web-provider-old")}),
    );
    let after = with_providers(
        app("web", "prod", "7"),
        json!({"hook": {"tokenWebhook": {"url": "https://h.example"}}}),
    );
    let expected_patch = |rv: &str| {
        json!({"metadata": {"resourceVersion": rv},
               "spec": {"authProviders": {"old": null, "hook": {"tokenWebhook": {"url": "https://h.example"}}}}})
    };
    let (p5, p6) = (expected_patch("5"), expected_patch("6"));
    let f = fixture(
        vec![
            merge_patch(&format!("{APPS}/web"))
                .query(&FM)
                .body_eq(p5)
                .fail(409, "Conflict", "the object has been modified"),
            get(&format!("{APPS}/web")).answer(fresh),
            merge_patch(&format!("{APPS}/web"))
                .query(&FM)
                .body_eq(p6)
                .answer(after),
            // The Secret this API kept for the removed provider goes.
            get_metadata(&format!("{SECRETS}/web-provider-old")).answer(json!({
                "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                "metadata": {"name": "web-provider-old", "labels": {"smbp.io/app": "web"},
                             "annotations": {"smbp.io/provider": "old"}}})),
            delete(&format!("{SECRETS}/web-provider-old")).deleted(),
        ],
        &[current],
        &[],
    );
    let body = json!({"authProviders": {"hook": {"type": "webhookUrl", "webhookUrl": "https://h.example"}}});
    let (ditto, _) = docs();
    ditto
        .validate_request("PUT", &format!("{P}/web"), &body)
        .unwrap();
    let got = call(
        &f.api,
        "PUT",
        &format!("{P}/web"),
        Some("admin"),
        Some(body),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["authProviders"],
        json!({"hook": {"type": "webhookUrl", "webhookUrl": "https://h.example"}})
    );
    f.done().await;
}

#[tokio::test]
async fn patch_and_provider_calls_merge_by_name() {
    let current = with_providers(
        app("web", "prod", "5"),
        json!({"hook": {"tokenWebhook": {"url": "https://h.example"}}}),
    );
    let f = fixture(
        vec![
            // PATCH: hook removed (null), corp added with its token kept in a Secret.
            get_metadata(&format!("{SECRETS}/web-provider-corp")).not_found(),
            post(SECRETS).query(&FM).echo(),
            merge_patch(&format!("{APPS}/web"))
                .query(&FM)
                .body(|b| {
                    assert_eq!(b["metadata"]["resourceVersion"], "5");
                    assert_eq!(b["spec"]["authProviders"]["hook"], Value::Null);
                    assert_eq!(b["spec"]["authProviders"]["corp"]["anonymous"]["sessionLength"], 60);
                })
                .answer(with_providers(app("web", "prod", "6"), json!({"corp": anonymous_cr("web-provider-corp")}))),
            // POST provider: added.
            merge_patch(&format!("{APPS}/web"))
                .query(&FM)
                .body_eq(json!({"metadata": {"resourceVersion": "5"},
                                "spec": {"authProviders": {"sso": {"tokenWebhook": {"url": "https://sso.example"}}}}}))
                .answer(with_providers(app("web", "prod", "8"), json!({
                    "hook": {"tokenWebhook": {"url": "https://h.example"}},
                    "sso": {"tokenWebhook": {"url": "https://sso.example"}}}))),
            // DELETE provider/hook.
            merge_patch(&format!("{APPS}/web"))
                .query(&FM)
                // The last provider gone: the map goes (the resource leaves it out when empty).
                .body_eq(json!({"metadata": {"resourceVersion": "5"}, "spec": {"authProviders": null}}))
                .answer(app("web", "prod", "9")),
        ],
        &[current],
        &[],
    );
    let body = json!({"authProviders": {"hook": null, "corp": {"type": "anonymous", "sessionLength": 60,
        "sharedToken": "tok", "permission": {"read": {"everything": true}, "write": {}}}}});
    let got = call(
        &f.api,
        "PATCH",
        &format!("{P}/web"),
        Some("admin"),
        Some(body),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["authProviders"]["corp"]["sharedToken"], "tok");

    let add = json!({"name": "sso", "config": {"type": "webhookUrl", "webhookUrl": "https://sso.example"}});
    let (ditto, _) = docs();
    ditto
        .validate_request("POST", &format!("{P}/web/provider"), &add)
        .unwrap();
    let got = call(
        &f.api,
        "POST",
        &format!("{P}/web/provider"),
        Some("admin"),
        Some(add),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["authProviders"]["sso"]["webhookUrl"],
        "https://sso.example"
    );

    let missing = call(
        &f.api,
        "POST",
        &format!("{P}/web/provider/nope"),
        Some("admin"),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body["error"]
            .as_str()
            .unwrap()
            .starts_with("AuthProviderNotFound")
    );
    let gone = call(
        &f.api,
        "DELETE",
        &format!("{P}/web/provider/hook"),
        Some("admin"),
        None,
    )
    .await;
    assert_eq!((gone.status, &gone.body), (200, &Value::Null));
    let http = json!({"name": "x", "config": {"type": "webhookUrl", "webhookUrl": "http://plain.example"}});
    let refused = call(
        &f.api,
        "POST",
        &format!("{P}/web/provider"),
        Some("admin"),
        Some(http),
    )
    .await;
    assert_eq!(refused.status, 400);
    f.done().await;
}

#[tokio::test]
async fn delete_app_deletes_its_keys_then_the_app() {
    let f = fixture(
        vec![
            delete(&format!("{KEYS}/k1")).deleted(),
            delete(&format!("{KEYS}/k2")).not_found(),
            delete(&format!("{APPS}/web")).deleted(),
        ],
        &[app("web", "prod", "1")],
        &[
            key("k2", "web"),
            key("k1", "web"),
            key("other", "another-app"),
        ],
    );
    let got = call(&f.api, "DELETE", &format!("{P}/web"), Some("admin"), None).await;
    assert_eq!((got.status, &got.body), (200, &Value::Null));
    let asked = f.fake.asked.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|a| a.to_string() == "delete bigpeerapikeys.smbp.io in team")
    );
    f.done().await;
}

#[tokio::test]
async fn keys_list_get_and_delete() {
    let f = fixture(
        vec![
            get(&format!("{APPS}/gone")).not_found(),
            delete(&format!("{KEYS}/my-key")).deleted(),
        ],
        &[app("my-app", "prod", "1"), app("other", "other", "1")],
        &[key("my-key", "my-app"), key("their-key", "other")],
    );
    let list = call(
        &f.api,
        "GET",
        &format!("{P}/my-app/apiKey"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body,
        example("listApiKeys", "ApiKeys"),
        "Ditto's own example"
    );
    let one = call(
        &f.api,
        "GET",
        &format!("{P}/my-app/apiKey/my-key"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(one.body, example("listApiKeys", "ApiKeys")["data"][0]);
    let wrong_app = call(
        &f.api,
        "GET",
        &format!("{P}/my-app/apiKey/their-key"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(wrong_app.status, 400);
    assert!(
        wrong_app.body["error"]
            .as_str()
            .unwrap()
            .starts_with("AppNameMismatch")
    );
    let wrong_bp = call(
        &f.api,
        "GET",
        &format!("{P}/other/apiKey"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(wrong_bp.status, 400);
    let no_app = call(
        &f.api,
        "GET",
        &format!("{P}/gone/apiKey"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(no_app.status, 404);
    let deleted = call(
        &f.api,
        "DELETE",
        &format!("{P}/my-app/apiKey/my-key"),
        Some("admin"),
        None,
    )
    .await;
    assert_eq!((deleted.status, &deleted.body), (200, &Value::Null));
    f.done().await;
}

#[tokio::test]
async fn create_api_key_from_the_documents_example_returns_the_key_from_its_secret() {
    let body = example("listApiKeys", "ApiKeys")["data"][0].clone();
    let secret = format!("{SECRETS}/my-key-api-key");
    let f = fixture(
        vec![
            post(KEYS)
                .query(&FM)
                .body(|k| {
                    assert_eq!(k["spec"]["appRef"]["name"], "my-app");
                    assert_eq!(k["metadata"]["labels"]["smbp.io/app"], "my-app");
                    assert_eq!(k["spec"]["expiresAt"], "2100-04-13T12:00:00Z");
                })
                .answer(key("my-key", "my-app")),
            // Not made yet; then a Secret left by an earlier key of the same name; then its own.
            get(&secret).not_found(),
            get(&secret).answer(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "my-key-api-key", "ownerReferences": [{"apiVersion": "smbp.io/v1alpha1",
                    "kind": "BigPeerApiKey", "name": "my-key", "uid": "uid-earlier"}]},
                "data": {"apiKey": "b2xk"}})),
            get(&secret).answer(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "my-key-api-key", "ownerReferences": [{"apiVersion": "smbp.io/v1alpha1",
                    "kind": "BigPeerApiKey", "name": "my-key", "uid": "uid-my-key"}]},
                "data": {"apiKey": "YnBrX3NlY3JldA=="}})),
        ],
        &[app("my-app", "prod", "1")],
        &[],
    );
    let (ditto, _) = docs();
    ditto
        .validate_request("POST", &format!("{P}/my-app/apiKey"), &body)
        .unwrap();
    let got = call(
        &f.api,
        "POST",
        &format!("{P}/my-app/apiKey"),
        Some("admin"),
        Some(body),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, json!("bpk_secret"));
    f.done().await;
}

#[tokio::test]
async fn create_api_key_refusals_and_a_late_secret() {
    let f = {
        let mut f = fixture(
            vec![
                get(&format!("{APPS}/nope")).not_found(),
                post(KEYS).query(&FM).fail(409, "AlreadyExists", "exists"),
                post(KEYS).query(&FM).answer(key("slow", "my-app")),
                get(&format!("{SECRETS}/slow-api-key")).not_found(),
            ],
            &[app("my-app", "prod", "1")],
            &[],
        );
        f.api.key_wait = Duration::ZERO;
        f
    };
    let k = |name: &str, expires: &str| json!({"name": name, "expiresAt": expires, "permissions": {"read": {"everything": true}, "write": {}}});
    let past = call(
        &f.api,
        "POST",
        &format!("{P}/my-app/apiKey"),
        Some("admin"),
        Some(k("a", "2001-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(past.status, 400);
    assert!(
        past.body["error"]
            .as_str()
            .unwrap()
            .starts_with("InvalidApiKeyExpiryDate")
    );
    let missing = call(
        &f.api,
        "POST",
        "/namespace/team/bigPeer/prod/app/nope/apiKey",
        Some("admin"),
        Some(k("a", "2100-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let taken = call(
        &f.api,
        "POST",
        &format!("{P}/my-app/apiKey"),
        Some("admin"),
        Some(k("dup", "2100-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(taken.status, 400);
    let late = call(
        &f.api,
        "POST",
        &format!("{P}/my-app/apiKey"),
        Some("admin"),
        Some(k("slow", "2100-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(late.status, 504, "{}", late.body);
    assert!(
        late.body["error"]
            .as_str()
            .unwrap()
            .contains("slow-api-key")
    );
    f.done().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_and_the_document() {
    let f = fixture(vec![], &[], &[]);
    let got = call(
        &f.api,
        "GET",
        "/namespace/team/bigPeer/prod/app/a/dataBridges",
        Some("admin"),
        None,
    )
    .await;
    assert_eq!(got.status, 404);
    let got = call(&f.api, "DELETE", P, Some("admin"), None).await;
    assert_eq!(got.status, 405);
    assert_eq!(got.headers[header::ALLOW], "GET, POST");
    let got = call(
        &f.api,
        "GET",
        "/namespace/elsewhere/bigPeer/prod/app",
        Some("admin"),
        None,
    )
    .await;
    assert_eq!(got.status, 200, "a fixed store serves every namespace");
    let doc = call(&f.api, "GET", "/openapi.json", None, None).await;
    assert_eq!(doc.status, 200, "the document needs no token");
    assert_eq!(doc.body, openapi::document());
    f.done().await;
}

fn replication(name: &str, app: &str, rv: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"), "resourceVersion": rv,
                     "labels": {"smbp.io/app": app, "smbp.io/big-peer": "prod"}},
        "spec": {"appRef": {"name": app}, "connections": ["big-peer-2.ditto.svc.cluster.local:4040"],
                 "queriesByCollection": {"cars": ["true"]},
                 "trustedCas": [{"configMapRef": {"name": "peer-ca", "key": "ca.crt"}}]},
        "status": {"appId": ID, "endpoint": {"inCluster": format!("{name}-replication.team.svc:4040")},
                   "caConfigMapName": format!("{name}-replication-ca")}
    })
}

fn bridge(name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerDataBridge",
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"), "resourceVersion": "3",
                     "labels": {"smbp.io/app": app, "smbp.io/big-peer": "prod"}},
        "spec": {"appRef": {"name": app}, "displayName": "Completed orders",
                 "kafka": {"source": [{"collection": "orders", "query": "status = 'completed'"}],
                           "streamType": "untyped", "topicPartitions": 12, "consumers": {"outsideCluster": false}}},
        "status": {"kind": "Kafka", "appId": ID,
                   "kafka": {"topic": format!("prod-team-cdc-{name}"), "consumerGroupPrefix": format!("prod-team-cdc-{name}"),
                             "bootstrapServers": "events-kafka-bootstrap.kafka.svc:9093",
                             "clusterCaSecretName": "events-cluster-ca-cert", "userSecretName": format!("{name}-consumer")},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Streaming", "message": "streaming",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}
    })
}

fn fixture_all(
    scenario: Vec<Exchange>,
    apps: &[Value],
    replications: &[Value],
    bridges: &[Value],
) -> Fixture {
    let (client, server) = serve(scenario);
    let fake = Arc::new(Fake::default());
    let parse = |v: &[Value]| -> Vec<Value> { v.to_vec() };
    let stores = Stores::fixed_all(
        parse(apps)
            .into_iter()
            .map(|a| serde_json::from_value::<BigPeerApp>(a).unwrap())
            .collect(),
        vec![],
        parse(replications)
            .into_iter()
            .map(|r| serde_json::from_value::<BigPeerReplication>(r).unwrap())
            .collect(),
        parse(bridges)
            .into_iter()
            .map(|b| serde_json::from_value::<BigPeerDataBridge>(b).unwrap())
            .collect(),
    );
    let api = Api::new(client, stores, Some(fake.clone()));
    Fixture { api, fake, server }
}

fn bp_exists() -> Exchange {
    get_metadata(BP).answer(
        json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                                   "metadata": {"name": "prod", "namespace": NS}}),
    )
}

fn error_name(got: &Got) -> &str {
    got.body["error"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
}

#[tokio::test]
async fn create_replication_from_dittos_schema_example_and_refusals() {
    let body = json!({"name": "eu", "connections": ["big-peer-2.ditto.svc.cluster.local:4040"],
                      "queriesByCollection": {"cars": ["true"]}});
    let f = fixture_all(
        vec![
            bp_exists(),
            post(REPLICATIONS)
                .query(&FM)
                .body(|b| {
                    assert_eq!(b["metadata"]["name"], "eu");
                    assert_eq!(b["metadata"]["labels"]["smbp.io/app"], "my-app");
                    assert_eq!(b["metadata"]["labels"]["smbp.io/big-peer"], "prod");
                    assert_eq!(
                        b["spec"],
                        json!({"appRef": {"name": "my-app"},
                               "connections": ["big-peer-2.ditto.svc.cluster.local:4040"],
                               "queriesByCollection": {"cars": ["true"]}})
                    );
                })
                .echo(),
            get_metadata("/apis/smbp.io/v1alpha1/namespaces/team/bigpeers/gone").not_found(),
            bp_exists(),
            get(&format!("{APPS}/nope")).not_found(),
            bp_exists(),
            post(REPLICATIONS)
                .query(&FM)
                .fail(409, "AlreadyExists", "exists"),
            bp_exists(),
        ],
        &[app("my-app", "prod", "1")],
        &[],
        &[],
    );
    let p = format!("{P}/my-app/bigPeerReplication");
    let (ditto, _) = docs();
    ditto.validate_request("POST", &p, &body).unwrap();
    let got = call(&f.api, "POST", &p, Some("admin"), Some(body.clone())).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, body);
    let gone = call(
        &f.api,
        "POST",
        "/namespace/team/bigPeer/gone/app/my-app/bigPeerReplication",
        Some("admin"),
        Some(body.clone()),
    )
    .await;
    assert_eq!((gone.status, error_name(&gone)), (404, "BigPeerNotFound"));
    let no_app = call(
        &f.api,
        "POST",
        &format!("{P}/nope/bigPeerReplication"),
        Some("admin"),
        Some(body.clone()),
    )
    .await;
    assert_eq!((no_app.status, error_name(&no_app)), (404, "AppNotFound"));
    let taken = call(&f.api, "POST", &p, Some("admin"), Some(body.clone())).await;
    assert_eq!(
        (taken.status, error_name(&taken)),
        (400, "BigPeerReplicationNameNotUnique")
    );
    let bad = call(
        &f.api,
        "POST",
        &p,
        Some("admin"),
        Some(json!({"name": "x", "connections": ["not an address"]})),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap()
            .contains("connections[0]"),
        "{}",
        bad.body
    );
    f.done().await;
}

#[tokio::test]
async fn replications_get_list_update_and_delete() {
    let f = fixture_all(
        vec![
            // PUT: Ditto's fields replaced, trustedCas kept (not in the patch).
            merge_patch(&format!("{REPLICATIONS}/eu"))
                .query(&FM)
                .body_eq(json!({"metadata": {"resourceVersion": "4"},
                                "spec": {"connections": ["b:4040"], "queriesByCollection": null}}))
                .fail(409, "Conflict", "the object has been modified"),
            get(&format!("{REPLICATIONS}/eu")).answer(replication("eu", "my-app", "5")),
            merge_patch(&format!("{REPLICATIONS}/eu"))
                .query(&FM)
                .body_eq(json!({"metadata": {"resourceVersion": "5"},
                                "spec": {"connections": ["b:4040"], "queriesByCollection": null}}))
                .answer({
                    let mut r = replication("eu", "my-app", "6");
                    r["spec"]["connections"] = json!(["b:4040"]);
                    r["spec"]
                        .as_object_mut()
                        .unwrap()
                        .remove("queriesByCollection");
                    r
                }),
            // PATCH: only the queries.
            merge_patch(&format!("{REPLICATIONS}/eu"))
                .query(&FM)
                .body_eq(json!({"metadata": {"resourceVersion": "4"},
                                "spec": {"queriesByCollection": {"trucks": ["true"]}}}))
                .answer(replication("eu", "my-app", "7")),
            delete(&format!("{REPLICATIONS}/eu")).deleted(),
            get(&format!("{REPLICATIONS}/missing")).not_found(),
        ],
        &[app("my-app", "prod", "1"), app("other", "other", "1")],
        &[
            replication("eu", "my-app", "4"),
            replication("us", "my-app", "4"),
            replication("theirs", "other", "4"),
        ],
        &[],
    );
    let p = format!("{P}/my-app/bigPeerReplication");
    let list = call(&f.api, "GET", &format!("{p}?size=1"), Some("reader"), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.body["meta"],
        json!({"page": 1, "size": 1, "totalPages": 2})
    );
    assert_eq!(list.body["data"][0]["name"], "eu");
    let one = call(&f.api, "GET", &format!("{p}/eu"), Some("reader"), None).await;
    assert_eq!(one.status, 200);
    assert_eq!(
        one.body["status"]["endpoint"]["inCluster"],
        "eu-replication.team.svc:4040"
    );
    assert_eq!(
        one.body["trustedCas"],
        json!([{"configMapRef": {"name": "peer-ca", "key": "ca.crt"}}])
    );
    let wrong = call(&f.api, "GET", &format!("{p}/theirs"), Some("reader"), None).await;
    assert_eq!((wrong.status, error_name(&wrong)), (400, "AppNameMismatch"));
    let put = call(
        &f.api,
        "PUT",
        &format!("{p}/eu"),
        Some("admin"),
        Some(json!({"connections": ["b:4040"]})),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["connections"], json!(["b:4040"]));
    assert_eq!(put.body["queriesByCollection"], json!({}));
    assert_eq!(
        put.body["trustedCas"][0]["configMapRef"]["name"], "peer-ca",
        "kept"
    );
    let patch = call(
        &f.api,
        "PATCH",
        &format!("{p}/eu"),
        Some("admin"),
        Some(json!({"queriesByCollection": {"cars": ["true"], "trucks": ["true"]}})),
    )
    .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let deleted = call(&f.api, "DELETE", &format!("{p}/eu"), Some("admin"), None).await;
    assert_eq!((deleted.status, &deleted.body), (200, &Value::Null));
    let missing = call(
        &f.api,
        "DELETE",
        &format!("{p}/missing"),
        Some("admin"),
        None,
    )
    .await;
    assert_eq!(
        (missing.status, error_name(&missing)),
        (404, "BigPeerReplicationNotFound")
    );
    let wrong_bp = call(
        &f.api,
        "GET",
        &format!("{P}/other/bigPeerReplication"),
        Some("reader"),
        None,
    )
    .await;
    assert_eq!(
        (wrong_bp.status, error_name(&wrong_bp)),
        (400, "BigPeerNameMismatch")
    );
    f.done().await;
}

#[tokio::test]
async fn data_bridges_create_201_get_list_and_delete_204() {
    let body = json!({"name": "orders", "displayName": "test data bridge",
        "description": "Stream of completed production orders",
        "bridge": {"kafka": {"source": [{"collection": "orders", "query": "status = 'completed' AND type = 'order'"}],
                             "streamType": "untyped", "topicPartitions": 10}}});
    let mongo = json!({"name": "mongo", "bridge": {"mongoConnector": {
        "connectionSecret": {"kubernetesSecret": {"name": "mongo-uri", "connectionString": "uri"}},
        "database": "shop",
        "collections": {"orders": {"fields": ["_id"], "initialSync": true, "mode": "ejson",
                                   "dittoTypes": {"settableCounters": ["stock.count"]}}}}}});
    let f = fixture_all(
        vec![
            bp_exists(),
            post(BRIDGES)
                .query(&FM)
                .body(|b| {
                    assert_eq!(b["spec"]["appRef"]["name"], "my-app");
                    assert_eq!(b["spec"]["kafka"]["topicPartitions"], 10);
                })
                .echo(),
            bp_exists(),
            post(BRIDGES)
                .query(&FM)
                .body(|b| {
                    assert_eq!(
                        b["spec"]["mongodb"]["connectionStringSecretRef"],
                        json!({"name": "mongo-uri", "key": "uri"})
                    );
                    assert_eq!(
                        b["spec"]["mongodb"]["collections"]["orders"]["settableCounters"],
                        json!(["stock.count"])
                    );
                })
                .echo(),
            bp_exists(),
            bp_exists(),
            delete(&format!("{BRIDGES}/cdc")).deleted(),
            get(&format!("{BRIDGES}/nope")).not_found(),
        ],
        &[app("my-app", "prod", "1")],
        &[],
        &[bridge("cdc", "my-app"), bridge("theirs", "other")],
    );
    let p = format!("{P}/my-app/dataBridge");
    let (ditto, _) = docs();
    ditto.validate_request("POST", &p, &body).unwrap();
    ditto.validate_request("POST", &p, &mongo).unwrap();
    let got = call(&f.api, "POST", &p, Some("admin"), Some(body.clone())).await;
    assert_eq!(got.status, 201, "{}", got.body);
    assert_eq!(got.body["bridge"]["kafka"]["topicPartitions"], 10);
    let got = call(&f.api, "POST", &p, Some("admin"), Some(mongo.clone())).await;
    assert_eq!(got.status, 201, "{}", got.body);
    assert_eq!(
        got.body["bridge"],
        json!({"mongoConnector": {
        "connectionSecret": {"kubernetesSecret": {"name": "mongo-uri", "connectionString": "uri"}},
        "database": "shop", "stallAfter": "5m",
        "collections": {"orders": {"fields": ["_id"], "initialSync": true, "mode": "ejson", "dqlStrictMode": false,
                                   "dittoTypes": {"settableCounters": ["stock.count"]}}}}})
    );
    let aws = json!({"name": "aws", "bridge": {"mongoConnector": {
        "connectionSecret": {"awsSecretsManager": {"secretId": "a/b", "roleArn": "arn:aws:iam::1:role/x", "region": "eu-west-1"}},
        "database": "shop", "collections": {"orders": {"fields": ["_id"], "initialSync": false, "mode": "native"}}}}});
    let refused = call(&f.api, "POST", &p, Some("admin"), Some(aws)).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("awsSecretsManager is not supported"),
        "{}",
        refused.body
    );
    let webhook = call(
        &f.api,
        "POST",
        &p,
        Some("admin"),
        Some(json!({"name": "w", "bridge": {"webhook": {}}})),
    )
    .await;
    assert_eq!(
        (webhook.status, error_name(&webhook)),
        (400, "WebhookNotSupported")
    );
    let list = call(&f.api, "GET", &p, Some("reader"), None).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["meta"],
        json!({"page": 1, "size": 1, "totalPages": 1})
    );
    let one = call(&f.api, "GET", &format!("{p}/cdc"), Some("reader"), None).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(
        one.body["status"]["kafka"],
        json!({
        "topic": "prod-team-cdc-cdc", "consumerGroupPrefix": "prod-team-cdc-cdc",
        "endpoint": "events-kafka-bootstrap.kafka.svc:9093",
        "certificateSecretRef": {
            "cluster": {"name": "events-cluster-ca-cert", "certificate": "ca.p12", "password": "ca.password"},
            "user": {"name": "cdc-consumer", "certificate": "user.p12", "password": "user.password"}}})
    );
    let wrong = call(&f.api, "GET", &format!("{p}/theirs"), Some("reader"), None).await;
    assert_eq!((wrong.status, error_name(&wrong)), (400, "AppNameMismatch"));
    let deleted = call(&f.api, "DELETE", &format!("{p}/cdc"), Some("admin"), None).await;
    assert_eq!(deleted.status, 204);
    let missing = call(&f.api, "GET", &format!("{p}/nope"), Some("reader"), None).await;
    assert_eq!(
        (missing.status, error_name(&missing)),
        (404, "DataBridgeNotFound")
    );
    f.done().await;
}
