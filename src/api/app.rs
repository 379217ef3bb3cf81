//! `smbp.io/v1alpha1` `BigPeerApp` and `BigPeerApiKey`: what a team creates to *use* a Big Peer.
//!
//! An app is a tenant of one BigPeer (its app ID, its identity providers); an API key lets a
//! server-side client call the Big Peer's HTTP API for one app. Names, references and bounds are
//! CEL rules so that `kubectl apply` refuses a bad object; what CEL cannot see (the clock, other
//! objects) is the admission webhook's and the management API's.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretKeyRef;

/// A Big Peer app ID: a UUID in its canonical lowercase or uppercase text form.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// An auth provider name: letters, digits, '_', '-' and '.', such as `__playgroundProvider`.
pub const PROVIDER_NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,63}$";
/// A Go-style duration of whole hours, minutes and seconds, such as `720h` or `1h30m`.
pub const DURATION_PATTERN: &str = "^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$";

/// An app served by a Big Peer: its app ID and the identity providers its small peers log in
/// with. Create it in the BigPeer's namespace; small peers then sync with the endpoints in its
/// status, and BigPeerApiKeys give server-side clients access to its data.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "smbp.io",
    version = "v1alpha1",
    kind = "BigPeerApp",
    plural = "bigpeerapps",
    singular = "bigpeerapp",
    shortname = "bpapp",
    category = "smbp",
    namespaced,
    status = "BigPeerAppStatus",
    cel,
    derive = "PartialEq",
    printcolumn(name = "BigPeer", type_ = "string", json_path = ".spec.bigPeerRef.name"),
    printcolumn(name = "App ID", type_ = "string", json_path = ".status.appId"),
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS label: at most 63 lowercase letters, digits and '-' (no '.'), as Ditto's API names apps")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("self.bigPeerRef.name == oldSelf.bigPeerRef.name", ".bigPeerRef.name", "bigPeerRef cannot change: an app's data lives in its BigPeer; create a new BigPeerApp for another BigPeer"),
    validation = super::cel::forbidden_at("!has(oldSelf.appId) || (has(self.appId) && self.appId == oldSelf.appId)", ".appId", "appId cannot change or be removed once set: small peers and stored data are bound to it"),
)]
pub struct BigPeerAppSpec {
    /// The BigPeer (in this namespace) that serves the app. Cannot change.
    pub big_peer_ref: BigPeerRef,

    /// The app ID small peers use (a UUID such as 3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11). Leave it
    /// out and the operator generates one and writes it here; once set it cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')").message("appId must be a UUID such as 3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11"))]
    #[schemars(length(min = 36, max = 36))]
    pub app_id: Option<String>,

    /// The identity providers of this app, by name (letters, digits, '_', '-', '.'; such as
    /// `__playgroundProvider` or `corp`). Small peers name the provider they log in with. The
    /// providers set on the BigPeer (`spec.auth.providers`) also apply to every app.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self.all(k, k.matches('^[A-Za-z0-9_.-]{1,63}$'))").message("authProviders names must be 1 to 63 letters, digits, '_', '-' or '.', such as __playgroundProvider"))]
    #[schemars(extend("maxProperties" = 16))]
    pub auth_providers: BTreeMap<String, AppAuthProvider>,
}

/// A reference to the BigPeer of this namespace that serves an app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct BigPeerRef {
    /// Name of the BigPeer.
    #[x_kube(validation = Rule::new("self.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')").message("bigPeerRef.name must be a BigPeer name: lowercase letters, digits and '-', starting with a letter"))]
    #[schemars(length(min = 1, max = 40))]
    pub name: String,
}

/// A reference to the BigPeerApp of this namespace a key belongs to.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AppRef {
    /// Name of the BigPeerApp.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("appRef.name must be a BigPeerApp name: a DNS label of lowercase letters, digits and '-'"))]
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
}

/// One identity provider of an app. Set exactly one of `anonymous` or `tokenWebhook`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.anonymous) != has(self.tokenWebhook)").message("each authProviders entry must set exactly one of anonymous or tokenWebhook"))]
pub struct AppAuthProvider {
    /// Let small peers in with a shared token, with a fixed permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<AppAnonymousProvider>,
    /// Ask a webhook to validate each small peer's token and return its permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_webhook: Option<AppTokenWebhook>,
}

/// A shared-token provider of an app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppAnonymousProvider {
    /// What a small peer logged in with the shared token may read and write.
    pub permission: Permissions,
    /// How long, in seconds, a login lasts before the small peer must log in again.
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub session_length: i64,
    /// The Secret key (in this namespace) holding the shared token.
    pub shared_token_secret_ref: SecretKeyRef,
}

/// A token webhook provider of an app. The rules of `url` sit on this object with a
/// `fieldPath`: the API server echoes the value of a string whose own rule fails, and a refused
/// URL may carry a password.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::at("self.url.startsWith('https://')", ".url", "authProviders[].tokenWebhook.url must start with https://"),
    validation = super::cel::forbidden_at("!self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@')", ".url", "authProviders[].tokenWebhook.url must not carry credentials (user:password@): put secrets in a Secret, not in the URL"),
    validation = super::cel::at("isURL(self.url) && self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#@]*@)?[^/?#@:]') && url(self.url).getHostname() != ''", ".url", "authProviders[].tokenWebhook.url must be an absolute URL with a host name, such as https://auth.example.com/ditto"),
)]
pub struct AppTokenWebhook {
    /// HTTPS URL of the webhook. It must not carry credentials.
    #[schemars(length(min = 9, max = 2048))]
    pub url: String,
}

/// What a holder may read and write: each of `read` and `write` is everything, or the
/// documents of some collections matching queries.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::forbidden_at("!self.remoteQuery || self.read.everything", ".remoteQuery", "remoteQuery needs read.everything: true (a remote query can read any document)"))]
pub struct Permissions {
    /// What may be read.
    #[serde(default)]
    pub read: PermissionRules,
    /// What may be written.
    #[serde(default)]
    pub write: PermissionRules,
    /// Whether remote queries (queries run by the Big Peer on small peers) are allowed. Needs
    /// `read.everything`.
    #[serde(default)]
    pub remote_query: bool,
    /// The query language of the queries in `queriesByCollection`: 0 the legacy query builder,
    /// 1 DQL.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub ql_version: i32,
}

/// Either everything, or per collection the queries whose matching documents are allowed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRules {
    /// Every document of every collection.
    #[serde(default)]
    pub everything: bool,
    /// Per collection name, queries whose matching documents are allowed, such as
    /// `{cars: ["true"]}` (every car) or `{orders: ["storeId == 'a'"]}`.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self.all(k, k.matches('^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'))").message("queriesByCollection keys must be collection names of 1 to 128 letters, digits, '_', '-' or '.'"))]
    #[schemars(extend("maxProperties" = 64))]
    #[schemars(inner(length(min = 1, max = 4096)))]
    pub queries_by_collection: BTreeMap<String, Vec<String>>,
}

/// What the operator observed of an app.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerAppStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The app ID small peers use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Where clients of this app connect, when the BigPeer has a public host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<AppEndpoints>,
    /// `Ready` and, when not ready, why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Client endpoints of an app.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppEndpoints {
    /// WebSocket URL small peers sync with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// Base URL of the app's HTTP API (called with an API key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}

/// An API key of an app: the operator generates it, keeps it in a Secret owned by this object
/// (`status.secretName`, key `apiKey`) for applications to mount, and gives the Big Peer servers
/// only a salted hash of it. It stops working at `expiresAt`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "smbp.io",
    version = "v1alpha1",
    kind = "BigPeerApiKey",
    plural = "bigpeerapikeys",
    singular = "bigpeerapikey",
    shortname = "bpkey",
    category = "smbp",
    namespaced,
    status = "BigPeerApiKeyStatus",
    cel,
    derive = "PartialEq",
    printcolumn(name = "App", type_ = "string", json_path = ".spec.appRef.name"),
    printcolumn(name = "Expires", type_ = "string", json_path = ".spec.expiresAt"),
    printcolumn(name = "Ready", type_ = "string", json_path = r#".status.conditions[?(@.type=="Ready")].status"#),
    printcolumn(name = "Fingerprint", type_ = "string", json_path = ".status.fingerprint", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 53 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("metadata.name must be a DNS label of at most 53 lowercase letters, digits and '-' (the key's Secret is named <name>-api-key)")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = super::cel::forbidden_at("self.appRef.name == oldSelf.appRef.name", ".appRef.name", "appRef cannot change: a key belongs to one app; create a new BigPeerApiKey for another app"),
)]
pub struct BigPeerApiKeySpec {
    /// The BigPeerApp (in this namespace) the key gives access to. Cannot change.
    pub app_ref: AppRef,
    /// What the key may read and write.
    pub permissions: Permissions,
    /// When the key stops working (RFC 3339, such as 2027-06-30T00:00:00Z): no generation of
    /// the key, current or previous, is accepted after it. Must be in the future when the key
    /// is created; it may be moved later (to extend the key) or earlier.
    pub expires_at: Time,
    /// What the key is for, shown to people listing keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Rotate the key on a schedule. Without it the key lasts until `expiresAt`; the annotation
    /// `smbp.io/rotate` (any new value) rotates it at once either way, the previous key then
    /// working for `rotation.gracePeriod` (24h without `rotation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<KeyRotation>,
}

/// Scheduled rotation of an API key.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = super::cel::at("!self.every.matches('^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$') || !self.gracePeriod.matches('^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$') || duration(self.gracePeriod) < duration(self.every)", ".gracePeriod", "rotation.gracePeriod must be shorter than rotation.every, or two old keys would be valid at once"))]
pub struct KeyRotation {
    /// How often a new key replaces the current one, as hours, minutes and seconds such as
    /// `720h` (30 days). At least one hour.
    #[x_kube(validation = Rule::new("self.matches('^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$') && self != '' && duration(self) >= duration('1h')").message("rotation.every must be a duration of at least 1h written with h, m and s, such as 720h or 1h30m"))]
    #[schemars(length(min = 2, max = 24))]
    pub every: String,
    /// How long the previous key keeps working after a rotation, such as `24h`, so that every
    /// application picks up the new key from its Secret first. `0s` ends it at once.
    #[serde(default = "KeyRotation::default_grace")]
    #[schemars(default = "KeyRotation::default_grace")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$') && self != ''").message("rotation.gracePeriod must be a duration written with h, m and s, such as 24h or 0s"))]
    #[schemars(length(min = 2, max = 24))]
    pub grace_period: String,
}

impl KeyRotation {
    fn default_grace() -> String {
        DEFAULT_GRACE_PERIOD.into()
    }
}

/// What the operator observed of an API key. Never the key or its hash.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerApiKeyStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Secret (in this namespace) holding the key under `apiKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// When the key stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// When the current key was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotation_time: Option<Time>,
    /// Identifies the current key without revealing it: `sha256:` and the first 16 hex digits
    /// of the SHA-256 of the key. Compare with `sha256sum` of the Secret's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The previous key, while it still works after a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousKey>,
    /// `Ready` (the servers accept the key) and `Expired`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A previous key in its grace period.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreviousKey {
    /// Fingerprint of the previous key.
    pub fingerprint: String,
    /// When the previous key stops working.
    pub valid_until: Time,
}

/// Annotation that rotates a key at once when its value changes.
pub const ROTATE_ANNOTATION: &str = "smbp.io/rotate";

/// Label on a key's Secret: the key's name. The operator watches only Secrets with this label
/// (with their data: the servers' configuration is rendered from their hashes).
pub const API_KEY_LABEL: &str = "smbp.io/api-key";
/// Label on a key's Secret: the name of the key's BigPeerApp.
pub const APP_LABEL: &str = "smbp.io/app";
/// Label on a key's Secret: the name of the BigPeer of the key's app.
pub const BIG_PEER_LABEL: &str = "smbp.io/big-peer";

/// The grace period of a rotation by annotation of a key without `spec.rotation`.
pub const DEFAULT_GRACE_PERIOD: &str = "24h";
