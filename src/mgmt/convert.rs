//! The API's bodies and the custom resources, both ways: an `App` is a `BigPeerApp`, an
//! `ApiKey` a `BigPeerApiKey`. The API's provider is internally tagged (`type: anonymous |
//! webhookUrl`), the resource's is a one-of (`anonymous` / `tokenWebhook`); an anonymous
//! provider's shared token, inline in the API, lives in a Secret `<app>-provider-<name>`
//! owned by the app, which the resource refers to. Inputs are checked here with the rules of
//! the CRD (so that a refusal names the field in the API's terms) before the API server
//! checks them again. Pure: the time is an argument. Replications and data bridges are
//! [`replication`]'s and [`bridge`]'s.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::model::{self, ApiKey, App, Permission, ProviderConfig};
use crate::access::duration;
use crate::api::SecretKeyRef;
use crate::api::app::{
    AppAnonymousProvider, AppAuthProvider, AppRef, AppTokenWebhook, BigPeerApiKey,
    BigPeerApiKeySpec, BigPeerApp, BigPeerAppSpec, BigPeerRef, KeyRotation, PermissionRules,
    Permissions,
};

pub mod bridge;
pub mod replication;

pub use bridge::{bridge_status_to_api, bridge_to_api, new_bridge};
pub use replication::{new_replication, replication_to_api, update_replication};

pub use crate::api::APP_LABEL;
pub use crate::api::BIG_PEER_LABEL;
/// Annotation naming the provider whose shared token a Secret holds (provider names need
/// not be label values, e.g. `__playgroundProvider`).
pub const PROVIDER_ANNOTATION: &str = "smbp.io/provider";
/// Key of the shared token in its Secret.
pub const SHARED_TOKEN_KEY: &str = "sharedToken";
/// Most providers an app has (the CRD's bound).
pub const MAX_PROVIDERS: usize = 16;
/// Longest key name: its Secret is `<name>-api-key`.
pub const MAX_KEY_NAME: usize = 53;
/// Longest shared token accepted.
pub const MAX_SHARED_TOKEN: usize = 4096;

/// Whether `s` is a DNS label of at most `max` characters.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is a UUID in its text form (either case).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `s` is a provider name: 1 to 63 letters, digits, '_', '-', '.'.
pub fn is_provider_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// Whether `s` is a collection name: 1 to 128 letters, digits, '_', '-' or '.', not starting
/// with '-' or '.'.
pub fn is_collection_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// The name of the Secret holding the shared token of provider `provider` of app `app`:
/// `<app>-provider-<provider>` when the provider's name fits a Secret's name as it is, else
/// its lowercase letters and digits and the first 8 hex digits of its SHA-256, so that names
/// such as `__playgroundProvider` get a valid, distinct Secret.
pub fn shared_token_secret_name(app: &str, provider: &str) -> String {
    if is_dns_label(provider, 63) {
        return format!("{app}-provider-{provider}");
    }
    let mut slug = String::new();
    for c in provider.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let hash = hex::encode(&Sha256::digest(provider.as_bytes())[..4]);
    if slug.is_empty() {
        format!("{app}-provider-{hash}")
    } else {
        format!("{app}-provider-{slug}-{hash}")
    }
}

/// A shared token to keep in its Secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret {
    /// Secret name.
    pub name: String,
    /// The provider it belongs to.
    pub provider: String,
    /// The token.
    pub token: String,
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSecret")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

fn rules_to_cr(r: &model::PermissionRules, what: &str) -> Result<PermissionRules, ApiError> {
    if r.queries_by_collection.len() > 64 {
        return Err(ApiError::bad_request(format!(
            "Invalid: {what}.queriesByCollection has more than 64 collections"
        )));
    }
    for (collection, queries) in &r.queries_by_collection {
        if !is_collection_name(collection) {
            return Err(ApiError::bad_request(format!(
                "Invalid: {what}.queriesByCollection: {collection:?} is not a collection name (1 to 128 letters, digits, '_', '-' or '.')"
            )));
        }
        if queries.iter().any(|q| q.is_empty() || q.len() > 4096) {
            return Err(ApiError::bad_request(format!(
                "Invalid: {what}.queriesByCollection.{collection}: queries must be 1 to 4096 characters"
            )));
        }
    }
    Ok(PermissionRules {
        everything: r.everything,
        queries_by_collection: r.queries_by_collection.clone(),
    })
}

/// The resource's permissions for the API's, checked as the CRD does.
pub fn permissions_to_cr(p: &Permission, what: &str) -> Result<Permissions, ApiError> {
    if !(0..=1).contains(&p.ql_version) {
        return Err(ApiError::bad_request(format!(
            "Invalid: {what}.qlVersion must be 0 (legacy query builder) or 1 (DQL)"
        )));
    }
    if p.remote_query && !p.read.everything {
        return Err(ApiError::bad_request(format!(
            "Invalid: {what}.remoteQuery needs read.everything: true (a remote query can read any document)"
        )));
    }
    Ok(Permissions {
        read: rules_to_cr(&p.read, &format!("{what}.read"))?,
        write: rules_to_cr(&p.write, &format!("{what}.write"))?,
        remote_query: p.remote_query,
        ql_version: p.ql_version as i32,
    })
}

/// The API's permissions for the resource's.
pub fn permissions_to_api(p: &Permissions) -> Permission {
    let rules = |r: &PermissionRules| model::PermissionRules {
        everything: r.everything,
        queries_by_collection: r.queries_by_collection.clone(),
    };
    Permission {
        read: rules(&p.read),
        write: rules(&p.write),
        remote_query: p.remote_query,
        ql_version: i64::from(p.ql_version),
    }
}

fn check_webhook_url(url: &str, what: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        Err(ApiError::bad_request(format!(
            "Invalid: {what}.webhookUrl {why}"
        )))
    };
    let Some(rest) = url.strip_prefix("https://") else {
        return bad("must start with https:// (this API refuses plain HTTP webhooks)");
    };
    if url.len() > 2048 {
        return bad("is longer than 2048 characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("must not carry credentials (user:password@)");
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return bad(
            "must be an absolute URL with a host name, such as https://auth.example.com/ditto",
        );
    }
    Ok(())
}

/// Whether `p` refers to the Secret this API keeps for provider `name` of app `app`.
fn keeps_token_of(app: &str, name: &str, p: &AppAuthProvider) -> Option<String> {
    let r = &p.anonymous.as_ref()?.shared_token_secret_ref;
    let ours = shared_token_secret_name(app, name);
    (r.name == ours && r.key == SHARED_TOKEN_KEY).then_some(ours)
}

/// Provider `name` of app `app` as the resource takes it, and the shared token to keep when
/// one was sent. An anonymous provider sent with an empty `sharedToken` keeps the token of
/// the provider it replaces (what a caller who may not read tokens got from a GET).
pub fn provider_to_cr(
    app: &str,
    name: &str,
    config: &ProviderConfig,
    current: Option<&AppAuthProvider>,
) -> Result<(AppAuthProvider, Option<TokenSecret>), ApiError> {
    if !is_provider_name(name) {
        return Err(ApiError::bad_request(format!(
            "Invalid: provider name {name:?} must be 1 to 63 letters, digits, '_', '-' or '.'"
        )));
    }
    let what = format!("authProviders.{name}");
    match config {
        ProviderConfig::TokenWebhook { webhook_url } => {
            check_webhook_url(webhook_url, &what)?;
            Ok((
                AppAuthProvider {
                    anonymous: None,
                    token_webhook: Some(AppTokenWebhook {
                        url: webhook_url.clone(),
                    }),
                },
                None,
            ))
        }
        ProviderConfig::Anonymous {
            permission,
            session_length,
            shared_token,
        } => {
            if !(1..=i64::from(u32::MAX)).contains(session_length) {
                return Err(ApiError::bad_request(format!(
                    "Invalid: {what}.sessionLength must be 1 to 4294967295 seconds"
                )));
            }
            let permission = permissions_to_cr(permission, &format!("{what}.permission"))?;
            let (secret_ref, write) = if shared_token.is_empty() {
                let kept = current
                    .and_then(|c| c.anonymous.as_ref())
                    .map(|a| a.shared_token_secret_ref.clone())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "Invalid: {what}.sharedToken must not be empty for a new anonymous provider (an empty token keeps an existing provider's token)"
                        ))
                    })?;
                (kept, None)
            } else {
                if shared_token.len() > MAX_SHARED_TOKEN {
                    return Err(ApiError::bad_request(format!(
                        "Invalid: {what}.sharedToken is longer than {MAX_SHARED_TOKEN} characters"
                    )));
                }
                let secret = shared_token_secret_name(app, name);
                (
                    SecretKeyRef {
                        name: secret.clone(),
                        key: SHARED_TOKEN_KEY.into(),
                    },
                    Some(TokenSecret {
                        name: secret,
                        provider: name.into(),
                        token: shared_token.clone(),
                    }),
                )
            };
            Ok((
                AppAuthProvider {
                    anonymous: Some(AppAnonymousProvider {
                        permission,
                        session_length: *session_length,
                        shared_token_secret_ref: secret_ref,
                    }),
                    token_webhook: None,
                },
                write,
            ))
        }
    }
}

/// An app's providers after a change, and the shared-token Secrets to write and to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderPlan {
    /// Every provider the app has after the change.
    pub providers: BTreeMap<String, AppAuthProvider>,
    /// Shared tokens to keep in their Secrets.
    pub write: Vec<TokenSecret>,
    /// Secrets this API kept for providers that no longer use them.
    pub delete: Vec<String>,
}

/// How the providers of a request change the app's.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// PUT: these are all the providers.
    Replace(BTreeMap<String, ProviderConfig>),
    /// PATCH, add, remove: by name; `None` removes.
    Merge(BTreeMap<String, Option<ProviderConfig>>),
}

/// The providers of app `app` after `change` of `current`.
pub fn plan_providers(
    app: &str,
    current: &BTreeMap<String, AppAuthProvider>,
    change: &Change,
) -> Result<ProviderPlan, ApiError> {
    let mut providers = match change {
        Change::Replace(_) => BTreeMap::new(),
        Change::Merge(_) => current.clone(),
    };
    let mut write = vec![];
    let entries: Vec<(&String, Option<&ProviderConfig>)> = match change {
        Change::Replace(m) => m.iter().map(|(k, v)| (k, Some(v))).collect(),
        Change::Merge(m) => m.iter().map(|(k, v)| (k, v.as_ref())).collect(),
    };
    for (name, config) in entries {
        match config {
            None => {
                providers.remove(name);
            }
            Some(config) => {
                let (p, token) = provider_to_cr(app, name, config, current.get(name))?;
                providers.insert(name.clone(), p);
                write.extend(token);
            }
        }
    }
    if providers.len() > MAX_PROVIDERS {
        return Err(ApiError::bad_request(format!(
            "Invalid: an app has at most {MAX_PROVIDERS} auth providers"
        )));
    }
    let still_used: Vec<&String> = providers
        .values()
        .filter_map(|p| p.anonymous.as_ref())
        .map(|a| &a.shared_token_secret_ref.name)
        .collect();
    let delete = current
        .iter()
        .filter_map(|(name, p)| keeps_token_of(app, name, p))
        .filter(|s| !still_used.contains(&s))
        .collect();
    Ok(ProviderPlan {
        providers,
        write,
        delete,
    })
}

/// The `BigPeerApp` a createApp body asks for in `ns` for BigPeer `big_peer`, with the app ID
/// `made_id` when the body gives none, and the shared tokens to keep.
pub fn new_app(
    ns: &str,
    big_peer: &str,
    body: &App,
    made_id: &str,
) -> Result<(BigPeerApp, Vec<TokenSecret>), ApiError> {
    if !is_dns_label(&body.name, 63) {
        return Err(ApiError::bad_request(format!(
            "Invalid: app name {:?} must be a DNS label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
            body.name
        )));
    }
    let app_id = match &body.app_id {
        Some(id) if !is_uuid(id) => {
            return Err(ApiError::bad_request(format!(
                "Invalid: appId {id:?} must be a UUID such as 3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11"
            )));
        }
        Some(id) => id.clone(),
        None => made_id.to_string(),
    };
    let change = Change::Replace(body.auth_providers.clone());
    let plan = plan_providers(&body.name, &BTreeMap::new(), &change)?;
    let app = BigPeerApp {
        metadata: ObjectMeta {
            name: Some(body.name.clone()),
            namespace: Some(ns.into()),
            labels: Some([(BIG_PEER_LABEL.to_string(), big_peer.to_string())].into()),
            ..Default::default()
        },
        spec: BigPeerAppSpec {
            big_peer_ref: BigPeerRef {
                name: big_peer.into(),
            },
            app_id: Some(app_id),
            auth_providers: plan.providers,
        },
        status: None,
    };
    Ok((app, plan.write))
}

/// An app's ID: the spec's, else the one the operator reported.
pub fn app_id(app: &BigPeerApp) -> Option<String> {
    app.spec
        .app_id
        .clone()
        .or_else(|| app.status.as_ref().and_then(|s| s.app_id.clone()))
}

/// The API's view of an app; an anonymous provider's token is taken from `tokens` (by
/// provider name), "" when not there.
pub fn app_to_api(app: &BigPeerApp, tokens: &BTreeMap<String, String>) -> App {
    let auth_providers = app
        .spec
        .auth_providers
        .iter()
        .filter_map(|(name, p)| {
            let config = if let Some(a) = &p.anonymous {
                ProviderConfig::Anonymous {
                    permission: permissions_to_api(&a.permission),
                    session_length: a.session_length,
                    shared_token: tokens.get(name).cloned().unwrap_or_default(),
                }
            } else {
                ProviderConfig::TokenWebhook {
                    webhook_url: p.token_webhook.as_ref()?.url.clone(),
                }
            };
            Some((name.clone(), config))
        })
        .collect();
    App {
        name: app.metadata.name.clone().unwrap_or_default(),
        app_id: app_id(app),
        auth_providers,
    }
}

/// The `BigPeerApiKey` a createApiKey body asks for, for app `app` of BigPeer `big_peer` in
/// `ns`, at `now`.
pub fn new_key(
    ns: &str,
    big_peer: &str,
    app: &str,
    body: &ApiKey,
    now: Timestamp,
) -> Result<BigPeerApiKey, ApiError> {
    if !is_dns_label(&body.name, MAX_KEY_NAME) {
        return Err(ApiError::bad_request(format!(
            "Invalid: API key name {:?} must be a DNS label of at most {MAX_KEY_NAME} lowercase letters, digits and '-' (its Secret is <name>-api-key)",
            body.name
        )));
    }
    let expires: Timestamp = body.expires_at.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "InvalidApiKeyExpiryDate: expiresAt {:?} is not an RFC 3339 time such as 2100-04-13T12:00:00Z",
            body.expires_at
        ))
    })?;
    if expires <= now {
        return Err(ApiError::bad_request(format!(
            "InvalidApiKeyExpiryDate: expiresAt {} is not in the future",
            body.expires_at
        )));
    }
    if body.description.as_ref().is_some_and(|d| d.len() > 1024) {
        return Err(ApiError::bad_request(
            "Invalid: description is longer than 1024 characters",
        ));
    }
    let rotation = body.rotation.as_ref().map(rotation_to_cr).transpose()?;
    Ok(BigPeerApiKey {
        metadata: app_object_meta(&body.name, ns, big_peer, app),
        spec: BigPeerApiKeySpec {
            app_ref: AppRef { name: app.into() },
            permissions: permissions_to_cr(&body.permissions, "permissions")?,
            expires_at: Time(expires),
            description: body.description.clone(),
            rotation,
        },
        status: None,
    })
}

fn rotation_to_cr(r: &model::Rotation) -> Result<KeyRotation, ApiError> {
    let every = duration::parse(&r.every)
        .filter(|d| d.as_secs() >= 3600)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid: rotation.every {:?} must be a duration of at least 1h written with h, m and s, such as 720h",
                r.every
            ))
        })?;
    let grace = r.grace_period.clone().unwrap_or_else(|| "24h".into());
    match duration::parse(&grace) {
        Some(g) if g < every => Ok(KeyRotation {
            every: r.every.clone(),
            grace_period: grace,
        }),
        _ => Err(ApiError::bad_request(format!(
            "Invalid: rotation.gracePeriod {grace:?} must be a duration such as 24h, shorter than rotation.every"
        ))),
    }
}

/// The API's view of a key (never the key itself).
pub fn key_to_api(key: &BigPeerApiKey) -> ApiKey {
    ApiKey {
        name: key.metadata.name.clone().unwrap_or_default(),
        expires_at: key.spec.expires_at.0.to_string(),
        permissions: permissions_to_api(&key.spec.permissions),
        description: key.spec.description.clone(),
        rotation: key.spec.rotation.as_ref().map(|r| model::Rotation {
            every: r.every.clone(),
            grace_period: Some(r.grace_period.clone()),
        }),
    }
}

/// The metadata of an app's key, replication or data bridge created through the API: its name
/// and namespace, labelled with its app and the app's BigPeer.
pub(crate) fn app_object_meta(name: &str, ns: &str, big_peer: &str, app: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.into()),
        labels: Some(
            [
                (APP_LABEL.to_string(), app.to_string()),
                (BIG_PEER_LABEL.to_string(), big_peer.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
