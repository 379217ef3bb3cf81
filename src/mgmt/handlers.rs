//! The management API's I/O: a request is routed ([`super::route`]), its caller reviewed
//! (TokenReview, then a SubjectAccessReview per [`Routed::access`]) before anything is looked
//! up, and the operation answered from the watch caches ([`Stores`]) and written to the custom
//! resources, with the decisions of the pure modules ([`super::check`], [`super::convert`]).
//! An object the caches do not hold yet (just created by another call) is read from the API
//! server; an answer right after a write comes from the object the write returned.
//! Replications and data bridges are [`links`]'s.

mod links;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api as Kube, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::check;
use super::convert::{self, APP_LABEL, Change, PROVIDER_ANNOTATION, SHARED_TOKEN_KEY, TokenSecret};
use super::error::{ApiError, Refusal, refused};
use super::merge;
use super::model::{AddProvider, ApiKey, App, MergeProviders, ReplaceProviders};
use super::openapi;
use super::paging;
use super::route::{OPENAPI_PATH, Op, Routed, Target, route};
use super::store::Stores;
use crate::api::BigPeer;
use crate::api::app::{BigPeerApiKey, BigPeerApp};
use crate::telemetry::access::{Attributes, CachePolicy, Decision, Gate, Reviewer};

/// Field manager of the API's writes (`kubectl get -o yaml --show-managed-fields` tells them
/// from the operator's and from users').
pub const FIELD_MANAGER: &str = "smbp-operator-api";
/// How long createApiKey waits for the controller to make the key's Secret.
pub const KEY_WAIT: Duration = Duration::from_secs(15);
/// How long a request waits for the caches' first list.
const CACHE_WAIT: Duration = Duration::from_secs(10);
use crate::api::API_KEY_LABEL;
use crate::build::apikey::API_KEY as KEY_DATA;

/// The API: a client for writes, the caches for reads, and the gate deciding who may call
/// (none: authentication turned off).
pub struct Api {
    /// Client (the operator's own credentials).
    pub client: Client,
    /// Watch caches of apps and keys.
    pub stores: Stores,
    /// Reviews callers; `None` serves everyone (`--api-insecure`).
    pub gate: Option<Gate>,
    /// How long createApiKey waits for the key's Secret.
    pub key_wait: Duration,
}

impl Api {
    /// An API asking `reviewer` about callers, or serving everyone when `None`.
    pub fn new(client: Client, stores: Stores, reviewer: Option<Arc<dyn Reviewer>>) -> Api {
        Api {
            client,
            stores,
            gate: reviewer.map(|r| Gate::new(r, CachePolicy::default())),
            key_wait: KEY_WAIT,
        }
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// The response for `e`: `{"error": ...}`, with `WWW-Authenticate: Bearer` on a 401 and
/// `Allow` on a 405.
pub fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json_response(status, &e.body());
    if e.status == 401 {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(allow) = e.allow {
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    r
}

/// Answer one request.
pub async fn handle(
    api: &Api,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if uri.path() == OPENAPI_PATH {
        return if method == Method::GET {
            json_response(StatusCode::OK, &openapi::document())
        } else {
            error_response(&ApiError::method_not_allowed("GET"))
        };
    }
    let routed = match route(method.as_str(), uri.path()) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let started = Instant::now();
    let call = Call {
        api,
        authorization: headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
        target: &routed.target,
        user: std::sync::Mutex::new(None),
    };
    let result = call.serve(&routed, uri.query(), body).await;
    let t = &routed.target;
    let user = call.user.lock().map(|u| u.clone()).unwrap_or_default();
    let (operation, ms) = (routed.operation.operation_id, started.elapsed().as_millis());
    match &result {
        Err(e) if e.status >= 500 => {
            warn!(operation, namespace = %t.namespace, big_peer = %t.big_peer, app = ?t.app, key = ?t.key, status = e.status, error = %e.message, ms, "management API request failed")
        }
        Ok(_) if method != Method::GET => {
            info!(operation, namespace = %t.namespace, big_peer = %t.big_peer, app = ?t.app, key = ?t.key, provider = ?t.provider, replication = ?t.replication, data_bridge = ?t.bridge, user = ?user, ms, "management API write")
        }
        r => {
            debug!(operation, namespace = %t.namespace, status = r.as_ref().map_or_else(|e| e.status, |_| 200), user = ?user, ms, "management API request")
        }
    }
    match result {
        Ok(_) if routed.operation.op.success_status() == 204 => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(v) => json_response(
            StatusCode::from_u16(routed.operation.op.success_status()).unwrap_or(StatusCode::OK),
            &v,
        ),
        Err(e) => error_response(&e),
    }
}

fn to_json(v: &impl Serialize) -> Value {
    serde_json::to_value(v).expect("API bodies serialize")
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("InvalidBody: {e}")))
}

fn read_failed(what: &str, e: &kube::Error) -> ApiError {
    ApiError::internal(format!("reading {what}: {e}"))
}

/// The owner reference of an object `app` owns.
fn owned_by_app(app: &BigPeerApp) -> OwnerReference {
    OwnerReference {
        api_version: "smbp.io/v1alpha1".into(),
        kind: "BigPeerApp".into(),
        name: app.name_any(),
        uid: app.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

/// Whether Secret `s` is the one this API keeps for provider `provider` of app `app`.
fn keeps_token(s: &ObjectMeta, app: &str, provider: Option<&str>) -> bool {
    let label = s.labels.as_ref().and_then(|l| l.get(APP_LABEL));
    let annotation = s
        .annotations
        .as_ref()
        .and_then(|a| a.get(PROVIDER_ANNOTATION));
    label.map(String::as_str) == Some(app)
        && annotation.is_some_and(|p| provider.is_none_or(|want| p == want))
}

/// Whether Secret `s` is the one the controller made for key `key` (uid `uid`): owned by it,
/// or, without owner, labelled with its name. A Secret left by an earlier key of the same
/// name (owned by another uid) is not.
fn holds_key(s: &Secret, key: &str, uid: &str) -> bool {
    match s.metadata.owner_references.as_deref() {
        Some(refs) if !refs.is_empty() => refs.iter().any(|r| r.uid == uid),
        _ => s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(API_KEY_LABEL))
            .is_some_and(|k| k == key),
    }
}

/// One request in flight.
struct Call<'a> {
    api: &'a Api,
    authorization: Option<&'a [u8]>,
    target: &'a Target,
    /// The user the token named, when it was reviewed now (for the log).
    user: std::sync::Mutex<Option<String>>,
}

impl Call<'_> {
    fn ns(&self) -> &str {
        &self.target.namespace
    }

    fn apps(&self) -> Kube<BigPeerApp> {
        Kube::namespaced(self.api.client.clone(), self.ns())
    }

    fn keys(&self) -> Kube<BigPeerApiKey> {
        Kube::namespaced(self.api.client.clone(), self.ns())
    }

    fn secrets(&self) -> Kube<Secret> {
        Kube::namespaced(self.api.client.clone(), self.ns())
    }

    fn post() -> PostParams {
        PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        }
    }

    fn patch() -> PatchParams {
        PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        }
    }

    /// Whether the caller may do what `attributes` say (always, with authentication off).
    async fn decide(&self, attributes: &Attributes) -> Result<Decision, ApiError> {
        let Some(gate) = &self.api.gate else {
            return Ok(Decision::Allowed);
        };
        let reviewed = gate
            .review(self.authorization, attributes, Instant::now())
            .await
            .map_err(|e| {
                warn!(error = %e, "could not review a management API request");
                ApiError::internal(format!(
                    "could not review the request with the Kubernetes API server: {e}"
                ))
            })?;
        if let Some(u) = reviewed.user
            && let Ok(mut slot) = self.user.lock()
        {
            *slot = Some(u);
        }
        Ok(reviewed.decision)
    }

    async fn require(&self, attributes: &Attributes) -> Result<(), ApiError> {
        match self.decide(attributes).await? {
            Decision::Allowed => Ok(()),
            Decision::Unauthenticated => Err(ApiError::unauthenticated()),
            Decision::Forbidden => Err(ApiError::forbidden(&attributes.to_string())),
        }
    }

    async fn serve(
        &self,
        routed: &Routed,
        query: Option<&str>,
        body: &Bytes,
    ) -> Result<Value, ApiError> {
        for a in routed.access() {
            self.require(&a).await?;
        }
        let ns = self.ns();
        if !self.api.stores.serves(ns) {
            return Err(ApiError::not_found(format!(
                "NotFound: namespace {ns} is not watched by this operator"
            )));
        }
        if !self.api.stores.ready(ns, CACHE_WAIT).await {
            return Err(ApiError::unavailable(
                "the operator's caches are not filled yet: try again in a moment",
            ));
        }
        let t = self.target;
        match routed.operation.op {
            Op::ListApps => self.list_apps(query),
            Op::CreateApp => self.create_app(parse(body)?).await,
            Op::GetApp => self.get_app().await,
            Op::ReplaceApp | Op::PatchApp | Op::AddProvider => {
                let change = match routed.operation.op {
                    Op::ReplaceApp => {
                        Change::Replace(parse::<ReplaceProviders>(body)?.auth_providers)
                    }
                    Op::PatchApp => Change::Merge(parse::<MergeProviders>(body)?.auth_providers),
                    _ => {
                        let a: AddProvider = parse(body)?;
                        Change::Merge([(a.name, Some(a.config))].into())
                    }
                };
                let (app, written) = self.update_app(change, None).await?;
                self.answer_app(&app, &written).await
            }
            Op::DeleteProvider => {
                let change = Change::Merge([(t.provider().to_string(), None)].into());
                self.update_app(change, Some(t.provider())).await?;
                Ok(Value::Null)
            }
            Op::DeleteApp => self.delete_app().await,
            Op::ListKeys => self.list_keys(query).await,
            Op::CreateKey => self.create_key(parse(body)?).await,
            Op::GetKey => self
                .get_key()
                .await
                .map(|k| to_json(&convert::key_to_api(&k))),
            Op::DeleteKey => self.delete_key().await,
            Op::ListReplications => self.list_replications(query).await,
            Op::CreateReplication => self.create_replication(parse(body)?).await,
            Op::GetReplication => self
                .get_replication()
                .await
                .map(|r| to_json(&convert::replication_to_api(&r))),
            Op::ReplaceReplication => self.update_replication(parse(body)?, true).await,
            Op::PatchReplication => self.update_replication(parse(body)?, false).await,
            Op::DeleteReplication => self.delete_replication().await,
            Op::ListBridges => self.list_bridges(query).await,
            Op::CreateBridge => self.create_bridge(parse(body)?).await,
            Op::GetBridge => self
                .get_bridge()
                .await
                .map(|b| to_json(&convert::bridge_to_api(&b))),
            Op::DeleteBridge => self.delete_bridge().await,
        }
    }

    /// App `name`: cached, else from the API server (created a moment ago by another call).
    async fn find_app(&self, name: &str) -> Result<Option<BigPeerApp>, ApiError> {
        if let Some(a) = self.api.stores.app(self.ns(), name) {
            return Ok(Some((*a).clone()));
        }
        self.apps()
            .get_opt(name)
            .await
            .map_err(|e| read_failed(&format!("app {name}"), &e))
    }

    /// Key `name`: cached, else from the API server.
    async fn find_key(&self, name: &str) -> Result<Option<BigPeerApiKey>, ApiError> {
        if let Some(k) = self.api.stores.key(self.ns(), name) {
            return Ok(Some((*k).clone()));
        }
        self.keys()
            .get_opt(name)
            .await
            .map_err(|e| read_failed(&format!("api key {name}"), &e))
    }

    /// The app of the path, checked against the path's BigPeer.
    async fn the_app(&self) -> Result<BigPeerApp, ApiError> {
        let name = self.target.app();
        let found = self.find_app(name).await?;
        check::app_of(&self.target.big_peer, name, found.as_ref()).cloned()
    }

    fn list_apps(&self, query: Option<&str>) -> Result<Value, ApiError> {
        let paging = paging::parse(query)?;
        let cached = self.api.stores.apps(self.ns());
        let apps = check::apps_of(&self.target.big_peer, cached.iter().map(|a| a.as_ref()));
        let none = BTreeMap::new();
        let data: Vec<App> = apps
            .into_iter()
            .map(|a| convert::app_to_api(a, &none))
            .collect();
        Ok(to_json(&paging::page(data, paging)))
    }

    /// The shared tokens of `app`'s anonymous providers the caller may see: those in `known`
    /// (sent in this request), and those whose Secret the caller may `get`.
    async fn visible_tokens(
        &self,
        app: &BigPeerApp,
        known: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let mut tokens = BTreeMap::new();
        for (name, p) in &app.spec.auth_providers {
            let Some(a) = &p.anonymous else { continue };
            if let Some(t) = known.get(name) {
                tokens.insert(name.clone(), t.clone());
                continue;
            }
            let r = &a.shared_token_secret_ref;
            let may = Attributes::resource("", "secrets", self.ns(), Some(&r.name), "get");
            if self.decide(&may).await? != Decision::Allowed {
                continue;
            }
            match self.secrets().get_opt(&r.name).await {
                Ok(Some(s)) => {
                    let value = s.data.as_ref().and_then(|d| d.get(&r.key));
                    if let Some(Ok(t)) = value.map(|v| String::from_utf8(v.0.clone())) {
                        tokens.insert(name.clone(), t);
                    }
                }
                Ok(None) => {}
                Err(e) => warn!(secret = %r.name, error = %e, "could not read a shared token"),
            }
        }
        Ok(tokens)
    }

    async fn answer_app(
        &self,
        app: &BigPeerApp,
        written: &[TokenSecret],
    ) -> Result<Value, ApiError> {
        let known = written
            .iter()
            .map(|t| (t.provider.clone(), t.token.clone()))
            .collect();
        let tokens = self.visible_tokens(app, &known).await?;
        Ok(to_json(&convert::app_to_api(app, &tokens)))
    }

    async fn get_app(&self) -> Result<Value, ApiError> {
        let app = self.the_app().await?;
        self.answer_app(&app, &[]).await
    }

    /// 404 `BigPeerNotFound` unless the path's BigPeer exists.
    async fn big_peer_exists(&self) -> Result<(), ApiError> {
        let bp = &self.target.big_peer;
        let bps: Kube<BigPeer> = Kube::namespaced(self.api.client.clone(), self.ns());
        if bps
            .get_metadata_opt(bp)
            .await
            .map_err(|e| read_failed(&format!("BigPeer {bp}"), &e))?
            .is_none()
        {
            return Err(ApiError::not_found(format!(
                "BigPeerNotFound: big peer {bp} not found"
            )));
        }
        Ok(())
    }

    async fn create_app(&self, body: App) -> Result<Value, ApiError> {
        let bp = &self.target.big_peer;
        self.big_peer_exists().await?;
        let made = uuid::Uuid::new_v4().to_string();
        let (app, tokens) = convert::new_app(self.ns(), bp, &body, &made)?;
        let id = app.spec.app_id.clone().unwrap_or_default();
        let cached = self.api.stores.apps(self.ns());
        check::app_id_free(bp, &id, &body.name, cached.iter().map(|a| a.as_ref()))?;
        let what = format!("app {}", body.name);
        let created = self
            .apps()
            .create(&Self::post(), &app)
            .await
            .map_err(|e| refused(&what, &Refusal::of(&e), "AppNameNotUnique", "NotFound"))?;
        if let Err(e) = self.keep_tokens(&created, &tokens).await {
            // No app without its tokens: undo the create.
            let _ = self
                .apps()
                .delete(&body.name, &DeleteParams::default())
                .await;
            return Err(e);
        }
        self.answer_app(&created, &tokens).await
    }

    /// Keep each shared token in its Secret, owned by `app`. A Secret of that name that this
    /// API does not keep for that provider is left alone: 400.
    async fn keep_tokens(&self, app: &BigPeerApp, tokens: &[TokenSecret]) -> Result<(), ApiError> {
        let name = app.name_any();
        for t in tokens {
            let what = format!("Secret {}", t.name);
            let existing = self
                .secrets()
                .get_metadata_opt(&t.name)
                .await
                .map_err(|e| read_failed(&what, &e))?;
            let data = BTreeMap::from([(
                SHARED_TOKEN_KEY.to_string(),
                ByteString(t.token.clone().into_bytes()),
            )]);
            let metadata = ObjectMeta {
                name: Some(t.name.clone()),
                namespace: Some(self.ns().to_string()),
                labels: Some([(APP_LABEL.to_string(), name.clone())].into()),
                annotations: Some([(PROVIDER_ANNOTATION.to_string(), t.provider.clone())].into()),
                owner_references: Some(vec![owned_by_app(app)]),
                ..Default::default()
            };
            let result = match existing {
                None => self
                    .secrets()
                    .create(
                        &Self::post(),
                        &Secret {
                            metadata,
                            type_: Some("Opaque".into()),
                            data: Some(data),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                Some(s) if keeps_token(&s.metadata, &name, Some(&t.provider)) => {
                    let patch = json!({
                        "metadata": {"ownerReferences": metadata.owner_references},
                        "data": data,
                    });
                    self.secrets()
                        .patch(&t.name, &Self::patch(), &Patch::Merge(&patch))
                        .await
                        .map(|_| ())
                }
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid: Secret {} exists and does not hold the shared token of provider {} of app {name}: name the provider differently",
                        t.name, t.provider
                    )));
                }
            };
            result.map_err(|e| refused(&what, &Refusal::of(&e), "Conflict", "NotFound"))?;
        }
        Ok(())
    }

    /// Delete the shared-token Secrets this API kept for app `app` that are no longer used.
    async fn drop_tokens(&self, app: &str, names: &[String]) {
        for n in names {
            match self.secrets().get_metadata_opt(n).await {
                Ok(Some(s)) if keeps_token(&s.metadata, app, None) => {
                    if let Err(e) = self.secrets().delete(n, &DeleteParams::default()).await
                        && !Refusal::of(&e).is_not_found()
                    {
                        warn!(secret = %n, error = %e, "could not delete an unused shared-token Secret");
                    }
                }
                Ok(_) => {}
                Err(e) => warn!(secret = %n, error = %e, "could not read a shared-token Secret"),
            }
        }
    }

    /// Change the providers of the path's app: read it (the cache first, the API server after
    /// a conflict), plan, keep the tokens, then merge-patch its spec with the
    /// `resourceVersion` read, so that a change made meanwhile is never undone. `removing`:
    /// the provider must exist (404 `AuthProviderNotFound`).
    async fn update_app(
        &self,
        change: Change,
        removing: Option<&str>,
    ) -> Result<(BigPeerApp, Vec<TokenSecret>), ApiError> {
        let name = self.target.app();
        let what = format!("app {name}");
        for attempt in 0..3 {
            let current = if attempt == 0 {
                self.find_app(name).await?
            } else {
                self.apps()
                    .get_opt(name)
                    .await
                    .map_err(|e| read_failed(&what, &e))?
            };
            let app = check::app_of(&self.target.big_peer, name, current.as_ref())?;
            if let Some(p) = removing
                && !app.spec.auth_providers.contains_key(p)
            {
                return Err(ApiError::not_found(format!(
                    "AuthProviderNotFound: app auth provider {p} not found in app {name}"
                )));
            }
            let plan = convert::plan_providers(name, &app.spec.auth_providers, &change)?;
            self.keep_tokens(app, &plan.write).await?;
            let mut spec = app.spec.clone();
            spec.auth_providers = plan.providers.clone();
            let patch = json!({
                "metadata": {"resourceVersion": app.resource_version()},
                "spec": merge::diff(&to_json(&app.spec), &to_json(&spec)),
            });
            match self
                .apps()
                .patch(name, &Self::patch(), &Patch::Merge(&patch))
                .await
            {
                Ok(patched) => {
                    self.drop_tokens(name, &plan.delete).await;
                    return Ok((patched, plan.write));
                }
                Err(e) if Refusal::of(&e).is_conflict() => {
                    debug!(app = %name, "the app changed meanwhile: reading it again");
                }
                Err(e) => return Err(refused(&what, &Refusal::of(&e), "Conflict", "AppNotFound")),
            }
        }
        Err(ApiError::internal(format!(
            "{what} kept changing while this request updated it: try again"
        )))
    }

    async fn delete_app(&self) -> Result<Value, ApiError> {
        let app = self.the_app().await?;
        let name = app.name_any();
        let cached = self.api.stores.keys(self.ns());
        for k in check::keys_of(&name, cached.iter().map(|k| k.as_ref())) {
            let key = k.name_any();
            if let Err(e) = self.keys().delete(&key, &DeleteParams::default()).await
                && !Refusal::of(&e).is_not_found()
            {
                return Err(refused(
                    &format!("api key {key}"),
                    &Refusal::of(&e),
                    "Conflict",
                    "ApiKeyNotFound",
                ));
            }
        }
        self.apps()
            .delete(&name, &DeleteParams::default())
            .await
            .map_err(|e| {
                refused(
                    &format!("app {name}"),
                    &Refusal::of(&e),
                    "Conflict",
                    "AppNotFound",
                )
            })?;
        Ok(Value::Null)
    }

    async fn list_keys(&self, query: Option<&str>) -> Result<Value, ApiError> {
        let paging = paging::parse(query)?;
        let app = self.the_app().await?;
        let cached = self.api.stores.keys(self.ns());
        let keys = check::keys_of(&app.name_any(), cached.iter().map(|k| k.as_ref()));
        let data: Vec<ApiKey> = keys.into_iter().map(convert::key_to_api).collect();
        Ok(to_json(&paging::page(data, paging)))
    }

    async fn create_key(&self, body: ApiKey) -> Result<Value, ApiError> {
        let app = self.the_app().await?;
        let key = convert::new_key(
            self.ns(),
            &self.target.big_peer,
            &app.name_any(),
            &body,
            Timestamp::now(),
        )?;
        let what = format!("api key {}", body.name);
        let created = self.keys().create(&Self::post(), &key).await.map_err(|e| {
            refused(
                &what,
                &Refusal::of(&e),
                "ApiKeyNameNotUnique",
                "AppNotFound",
            )
        })?;
        self.wait_for_key(&created).await.map(Value::String)
    }

    /// The plaintext of `key` once the controller has put it in the key's Secret.
    async fn wait_for_key(&self, key: &BigPeerApiKey) -> Result<String, ApiError> {
        let name = key.name_any();
        let uid = key.uid().unwrap_or_default();
        let secret = crate::build::names::api_key_secret(&name);
        let deadline = Instant::now() + self.api.key_wait;
        let mut delay = Duration::from_millis(100);
        loop {
            match self.secrets().get_opt(&secret).await {
                Ok(Some(s)) if holds_key(&s, &name, &uid) => {
                    let value = s.data.as_ref().and_then(|d| d.get(KEY_DATA));
                    if let Some(Ok(k)) = value.map(|v| String::from_utf8(v.0.clone())) {
                        return Ok(k);
                    }
                }
                Ok(_) => {}
                Err(e) => debug!(secret = %secret, error = %e, "waiting for an API key's Secret"),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ApiError::timeout(format!(
                    "KeyNotReady: api key {name} was created, but its Secret {secret} was not made within {}s: read the key from the Secret (data key {KEY_DATA}) once the operator has made it",
                    self.api.key_wait.as_secs()
                )));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    async fn get_key(&self) -> Result<BigPeerApiKey, ApiError> {
        let (app_name, key_name) = (self.target.app(), self.target.key());
        let key = self.find_key(key_name).await?;
        let app = self.find_app(app_name).await?;
        check::key_of(
            &self.target.big_peer,
            app_name,
            key_name,
            key.as_ref(),
            app.as_ref(),
        )
        .cloned()
    }

    async fn delete_key(&self) -> Result<Value, ApiError> {
        let key = self.get_key().await?;
        let name = key.name_any();
        self.keys()
            .delete(&name, &DeleteParams::default())
            .await
            .map_err(|e| {
                refused(
                    &format!("api key {name}"),
                    &Refusal::of(&e),
                    "Conflict",
                    "ApiKeyNotFound",
                )
            })?;
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_keys_own_secret_is_read() {
        let mut s = Secret::default();
        s.metadata.owner_references = Some(vec![OwnerReference {
            uid: "old".into(),
            ..Default::default()
        }]);
        assert!(
            !holds_key(&s, "k", "new"),
            "a Secret left by an earlier key"
        );
        assert!(holds_key(&s, "k", "old"));
        let mut bare = Secret::default();
        assert!(!holds_key(&bare, "k", "new"));
        bare.metadata.labels = Some([(API_KEY_LABEL.to_string(), "k".to_string())].into());
        assert!(holds_key(&bare, "k", "new"));
    }

    #[test]
    fn only_secrets_this_api_keeps_are_touched() {
        let meta = |app: &str, provider: Option<&str>| ObjectMeta {
            labels: Some([(APP_LABEL.to_string(), app.to_string())].into()),
            annotations: provider
                .map(|p| [(PROVIDER_ANNOTATION.to_string(), p.to_string())].into()),
            ..Default::default()
        };
        assert!(keeps_token(&meta("a", Some("p")), "a", Some("p")));
        assert!(keeps_token(&meta("a", Some("p")), "a", None));
        assert!(!keeps_token(&meta("a", Some("p")), "a", Some("q")));
        assert!(!keeps_token(&meta("b", Some("p")), "a", Some("p")));
        assert!(!keeps_token(&meta("a", None), "a", None));
        assert!(!keeps_token(&ObjectMeta::default(), "a", None));
    }

    #[test]
    fn errors_carry_their_headers() {
        let r = error_response(&ApiError::unauthenticated());
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let r = error_response(&ApiError::method_not_allowed("GET, POST"));
        assert_eq!(r.headers()[header::ALLOW], "GET, POST");
    }
}
