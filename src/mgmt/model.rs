//! The management API's request and response bodies, as Ditto's Operator Management API
//! document names and shapes them (`App`, `ApiKey`, `ProviderConfig`, `Permission`,
//! `PermissionRules`, `ListResponse_*`, `Error`). Pure data: what they mean for the custom
//! resources is [`super::convert`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An app (`App`): its name, app ID and own auth providers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// DNS label: the `BigPeerApp`'s name.
    pub name: String,
    /// UUID; made by the API when a create leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Auth providers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_providers: BTreeMap<String, ProviderConfig>,
}

/// `UpdateAppRequest` as PUT reads it: the app's providers, all of them.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceProviders {
    /// Every provider the app keeps.
    pub auth_providers: BTreeMap<String, ProviderConfig>,
}

/// `UpdateAppRequest` as PATCH reads it: providers to add or replace by name, and `null` for
/// those to remove.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MergeProviders {
    /// Providers by name; `None` (JSON `null`) removes one.
    pub auth_providers: BTreeMap<String, Option<ProviderConfig>>,
}

/// `AddProviderRequest`.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct AddProvider {
    /// Provider name.
    pub name: String,
    /// Its configuration.
    pub config: ProviderConfig,
}

/// `ProviderConfig`: internally tagged by `type` (`webhookUrl` or `anonymous`). Ditto's
/// document gives the `oneOf` no discriminator and requires nothing of a token webhook, so a
/// body without `type` is read as a token webhook; `type` is always written.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", try_from = "RawProvider")]
pub enum ProviderConfig {
    /// `TokenWebhook`: a webhook validates each device's token.
    #[serde(rename = "webhookUrl", rename_all = "camelCase")]
    TokenWebhook {
        /// The webhook's URL (HTTPS here).
        webhook_url: String,
    },
    /// `Anonymous`: devices log in with a shared token and get a fixed permission.
    #[serde(rename = "anonymous", rename_all = "camelCase")]
    Anonymous {
        /// What such a device may read and write.
        permission: Permission,
        /// Session length in seconds, 1 to 4294967295.
        session_length: i64,
        /// The shared token ("" in answers to callers who may not read its Secret; "" in a
        /// request keeps the provider's current token).
        shared_token: String,
    },
}

/// A provider as sent, before its `type` is known.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProvider {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    permission: Option<Permission>,
    #[serde(default)]
    session_length: Option<i64>,
    #[serde(default)]
    shared_token: Option<String>,
}

impl TryFrom<RawProvider> for ProviderConfig {
    type Error = String;

    fn try_from(r: RawProvider) -> Result<Self, String> {
        match r.kind.as_deref() {
            None | Some("webhookUrl") => {
                let webhook_url = r.webhook_url.ok_or(
                    "a token webhook provider (type webhookUrl) needs webhookUrl".to_string(),
                )?;
                Ok(ProviderConfig::TokenWebhook { webhook_url })
            }
            Some("anonymous") => {
                let missing = |f: &str| format!("an anonymous provider needs {f}");
                Ok(ProviderConfig::Anonymous {
                    permission: r.permission.ok_or_else(|| missing("permission"))?,
                    session_length: r.session_length.ok_or_else(|| missing("sessionLength"))?,
                    shared_token: r.shared_token.ok_or_else(|| missing("sharedToken"))?,
                })
            }
            Some(other) => Err(format!(
                "unknown provider type {other:?}: use webhookUrl or anonymous"
            )),
        }
    }
}

/// `Permission`: what a key or an anonymous device may read and write.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// What may be read.
    pub read: PermissionRules,
    /// What may be written.
    pub write: PermissionRules,
    /// Whether remote queries are allowed (needs `read.everything`).
    #[serde(default)]
    pub remote_query: bool,
    /// Query language of the queries: 0 legacy, 1 DQL. Written only when 1, as Ditto's
    /// example leaves the default out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ql_version: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `PermissionRules`: everything, or per collection the queries whose documents are allowed.
/// Both fields are always written, as Ditto's example does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRules {
    /// Every document.
    #[serde(default)]
    pub everything: bool,
    /// Collection name to queries.
    #[serde(default)]
    pub queries_by_collection: BTreeMap<String, Vec<String>>,
}

/// `ApiKey`: a key's name, expiry, permissions and description. `rotation` is this API's
/// addition (Ditto's keys never rotate); written only when set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// DNS label of at most 53 characters: the `BigPeerApiKey`'s name.
    pub name: String,
    /// RFC 3339 time the key stops working.
    pub expires_at: String,
    /// What the key may read and write.
    pub permissions: Permission,
    /// What the key is for; `null` when none.
    #[serde(default)]
    pub description: Option<String>,
    /// Scheduled rotation (this API's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
}

/// Scheduled rotation of a key, as the `BigPeerApiKey` takes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// How often a new key replaces the current one, such as `720h`.
    pub every: String,
    /// How long the previous key keeps working, such as `24h` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
}

/// `ListResponseMeta`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The page (1-based) answered.
    pub page: u32,
    /// Items on this page.
    pub size: u32,
    /// Pages in all at the asked page size; 0 for an empty list.
    pub total_pages: u32,
}

/// `ListResponse_App`, `ListResponse_ApiKey`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ListResponse<T> {
    /// Paging.
    pub meta: ListMeta,
    /// The page's items, ordered by name.
    pub data: Vec<T>,
}

/// `Error`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn providers_read_by_type_and_default_to_a_token_webhook() {
        let hook: ProviderConfig = serde_json::from_value(
            json!({"type": "webhookUrl", "webhookUrl": "https://a.example/x"}),
        )
        .unwrap();
        assert_eq!(
            hook,
            ProviderConfig::TokenWebhook {
                webhook_url: "https://a.example/x".into()
            }
        );
        let untyped: ProviderConfig =
            serde_json::from_value(json!({"webhookUrl": "https://a.example/x"})).unwrap();
        assert_eq!(untyped, hook);
        assert_eq!(
            serde_json::to_value(&hook).unwrap(),
            json!({"type": "webhookUrl", "webhookUrl": "https://a.example/x"})
        );
        let anon: ProviderConfig = serde_json::from_value(json!({
            "type": "anonymous", "sessionLength": 600, "sharedToken": "t",
            "permission": {"read": {"everything": true}, "write": {}}
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&anon).unwrap(),
            json!({"type": "anonymous", "sessionLength": 600, "sharedToken": "t",
                   "permission": {"read": {"everything": true, "queriesByCollection": {}},
                                  "write": {"everything": false, "queriesByCollection": {}},
                                  "remoteQuery": false}})
        );
    }

    #[test]
    fn incomplete_or_unknown_providers_are_refused_with_the_missing_field() {
        let err = |v| {
            serde_json::from_value::<ProviderConfig>(v)
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({})).contains("needs webhookUrl"));
        assert!(
            err(json!({"type": "anonymous", "sessionLength": 1, "sharedToken": "t"}))
                .contains("needs permission")
        );
        assert!(err(json!({"type": "jwt"})).contains("unknown provider type"));
    }

    #[test]
    fn a_key_without_description_writes_null() {
        let k = ApiKey {
            name: "k".into(),
            expires_at: "2100-04-13T12:00:00Z".into(),
            permissions: Permission::default(),
            description: None,
            rotation: None,
        };
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v["description"], serde_json::Value::Null);
        assert!(v.get("rotation").is_none());
    }

    #[test]
    fn patch_bodies_read_null_as_removal() {
        let m: MergeProviders = serde_json::from_value(
            json!({"authProviders": {"a": null, "b": {"webhookUrl": "https://b.example"}}}),
        )
        .unwrap();
        assert_eq!(m.auth_providers["a"], None);
        assert!(m.auth_providers["b"].is_some());
        assert!(
            serde_json::from_value::<ReplaceProviders>(json!({"authProviders": {"a": null}}))
                .is_err()
        );
    }
}
