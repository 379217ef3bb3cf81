//! The API's own OpenAPI 3.1 document, served at `/openapi.json`: the operations of
//! [`OPERATIONS`] with the bodies of Ditto's Operator Management API document, the schemas
//! Ditto's document refers to but does not define (`Permission`, `PermissionRules`,
//! `ProviderConfig`, `Dns1123Label`) filled in, path and paging parameters declared, bearer
//! authentication and the 401 and 403 answers. Written here, once; a test checks it against
//! Ditto's document and every answer of the tests against it.

use serde_json::{Map, Value, json};

use super::paging::{DEFAULT_SIZE, MAX_SIZE};
use super::route::{OPERATIONS, Op, Operation};

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema("Error")}}})
}

fn ok(description: &str, body: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": body}}})
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn parameters(o: &Operation) -> Vec<Value> {
    let mut p = vec![
        path_parameter(
            "namespace",
            "Namespace of the BigPeer and its apps and keys.",
        ),
        path_parameter("big_peer_name", "Name of the BigPeer."),
    ];
    for (name, what) in [
        ("{app_name}", "Name of the app (its BigPeerApp)."),
        ("{provider_name}", "Name of the auth provider."),
        ("{api_key_name}", "Name of the API key (its BigPeerApiKey)."),
    ] {
        if o.template.contains(name) {
            p.push(path_parameter(name.trim_matches(['{', '}']), what));
        }
    }
    if matches!(o.op, Op::ListApps | Op::ListKeys) {
        p.push(json!({"name": "page", "in": "query", "required": false,
            "description": "Page to return, from 1.",
            "schema": {"type": "integer", "minimum": 1, "default": 1}}));
        p.push(json!({"name": "size", "in": "query", "required": false,
            "description": "Items per page. Items are ordered by name.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE, "default": DEFAULT_SIZE}}));
    }
    p
}

/// (request body schema, 200 description and schema, the 400 and 404 descriptions).
fn shape(
    op: Op,
) -> (
    Option<Value>,
    (&'static str, Value),
    &'static str,
    &'static str,
) {
    let null = json!({"type": "null"});
    match op {
        Op::ListApps => (
            None,
            (
                "The BigPeer's apps (none for a BigPeer that does not exist).",
                schema("ListResponse_App"),
            ),
            "InvalidParameter: page or size out of range",
            "not used",
        ),
        Op::CreateApp => (
            Some(schema("App")),
            ("The app created.", schema("App")),
            "AppIdNotUnique, or an invalid app (name, appId, providers), or a name taken",
            "BigPeerNotFound",
        ),
        Op::GetApp => (
            None,
            (
                "The app. An anonymous provider's sharedToken is \"\" unless the caller may get its Secret.",
                schema("App"),
            ),
            "BigPeerNameMismatch",
            "AppNotFound",
        ),
        Op::ReplaceApp => (
            Some(schema("UpdateAppRequest")),
            ("The app, with exactly these providers.", schema("App")),
            "BigPeerNameMismatch, or an invalid provider",
            "AppNotFound",
        ),
        Op::PatchApp => (
            Some(schema("PatchAppRequest")),
            (
                "The app, with these providers added or replaced and those set to null removed.",
                schema("App"),
            ),
            "BigPeerNameMismatch, or an invalid provider",
            "AppNotFound",
        ),
        Op::DeleteApp => (
            None,
            ("The app and its API keys are deleted.", null),
            "BigPeerNameMismatch",
            "AppNotFound",
        ),
        Op::AddProvider => (
            Some(schema("AddProviderRequest")),
            (
                "The app, with the provider added or replaced.",
                schema("App"),
            ),
            "BigPeerNameMismatch, or an invalid provider",
            "AppNotFound",
        ),
        Op::DeleteProvider => (
            None,
            ("The provider is removed.", null),
            "BigPeerNameMismatch",
            "AppNotFound, AuthProviderNotFound",
        ),
        Op::ListKeys => (
            None,
            (
                "The app's API keys (never the keys themselves).",
                schema("ListResponse_ApiKey"),
            ),
            "BigPeerNameMismatch, InvalidParameter",
            "AppNotFound",
        ),
        Op::CreateKey => (
            Some(schema("ApiKey")),
            (
                "The plaintext API key, as a JSON string. Returned once here; it is also in the Secret <name>-api-key.",
                json!({"type": "string"}),
            ),
            "BigPeerNameMismatch, InvalidApiKeyExpiryDate, or an invalid key, or a name taken",
            "AppNotFound",
        ),
        Op::GetKey => (
            None,
            ("The API key's settings (never the key).", schema("ApiKey")),
            "AppNameMismatch, BigPeerNameMismatch",
            "ApiKeyNotFound",
        ),
        Op::DeleteKey => (
            None,
            ("The API key is deleted.", null),
            "AppNameMismatch, BigPeerNameMismatch",
            "ApiKeyNotFound",
        ),
    }
}

fn operation(o: &Operation) -> Value {
    let (request, (ok_description, ok_schema), bad, missing) = shape(o.op);
    let tag = match o.op {
        Op::ListKeys | Op::CreateKey | Op::GetKey | Op::DeleteKey => "API Keys",
        _ => "Apps",
    };
    let mut responses = Map::new();
    responses.insert("200".into(), ok(ok_description, ok_schema));
    responses.insert("400".into(), error(bad));
    responses.insert(
        "401".into(),
        json!({"description": "No bearer token, or one the Kubernetes API server does not accept.",
               "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
               "content": {"application/json": {"schema": schema("Error")}}}),
    );
    responses.insert(
        "403".into(),
        error("The token's user may not do this (a SubjectAccessReview of the operation's verb on bigpeerapps or bigpeerapikeys.smbp.io in the path's namespace)."),
    );
    if o.op != Op::ListApps {
        responses.insert("404".into(), error(missing));
    }
    if o.op == Op::CreateKey {
        responses.insert(
            "504".into(),
            error("The key was created but the operator did not make its Secret within 15 seconds; read it later from the Secret <name>-api-key."),
        );
    }
    let mut v = json!({
        "tags": [tag],
        "summary": o.summary,
        "operationId": o.operation_id,
        "parameters": parameters(o),
        "responses": responses,
    });
    if let Some(body) = request {
        v["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": body}}});
    }
    v
}

fn dns_label(max: u32) -> Value {
    json!({"type": "string", "title": "Dns1123Label",
           "description": "An RFC 1123 DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit.",
           "minLength": 1, "maxLength": max, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"})
}

fn schemas() -> Value {
    let providers = json!({"type": "object", "title": "AuthProviders",
        "description": "Auth providers of the app, by name (1 to 63 letters, digits, '_', '-' or '.'; at most 16).",
        "propertyNames": {"pattern": "^[A-Za-z0-9_.-]{1,63}$"},
        "additionalProperties": schema("ProviderConfig")});
    json!({
        "Dns1123Label": dns_label(63),
        "App": {
            "type": "object", "required": ["name"],
            "properties": {
                "name": schema("Dns1123Label"),
                "appId": {"type": "string", "title": "AppId", "format": "uuid",
                          "description": "The app ID small peers use; made when a create leaves it out, then fixed."},
                "authProviders": providers,
            }
        },
        "UpdateAppRequest": {"type": "object", "required": ["authProviders"], "properties": {"authProviders": providers}},
        "PatchAppRequest": {
            "type": "object", "required": ["authProviders"],
            "description": "Providers to add or replace by name; null removes one.",
            "properties": {"authProviders": {"type": "object",
                "additionalProperties": {"oneOf": [schema("ProviderConfig"), {"type": "null"}]}}}
        },
        "AddProviderRequest": {
            "type": "object", "required": ["name", "config"],
            "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,63}$"}, "config": schema("ProviderConfig")}
        },
        "ProviderConfig": {
            "title": "ProviderConfig",
            "description": "An auth provider of an app: a token webhook, or anonymous devices with a shared token. Without type, a token webhook.",
            "oneOf": [
                {"type": "object", "title": "TokenWebhook", "required": ["webhookUrl"],
                 "properties": {"type": {"type": "string", "enum": ["webhookUrl"]},
                                "webhookUrl": {"type": "string", "format": "uri", "pattern": "^https://",
                                               "description": "HTTPS URL of the webhook, without credentials."}}},
                {"type": "object", "title": "Anonymous", "required": ["permission", "sessionLength", "sharedToken", "type"],
                 "properties": {"permission": schema("Permission"),
                                "sessionLength": {"type": "integer", "minimum": 1, "maximum": 4294967295u64,
                                                  "description": "Session length in seconds."},
                                "sharedToken": {"type": "string", "maxLength": 4096,
                                                "description": "The shared token, kept in the Secret <app>-provider-<name>. Answers show \"\" to callers who may not get that Secret; \"\" in a request keeps the current token."},
                                "type": {"type": "string", "enum": ["anonymous"]}}}
            ]
        },
        "Permission": {
            "type": "object", "title": "Permission", "required": ["read", "write"],
            "description": "What an API key or an anonymous device may read and write.",
            "properties": {
                "read": schema("PermissionRules"),
                "write": schema("PermissionRules"),
                "remoteQuery": {"type": "boolean", "default": false, "description": "Remote queries; needs read.everything."},
                "qlVersion": {"type": "integer", "enum": [0, 1], "default": 0, "description": "0: legacy query builder, 1: DQL."}
            }
        },
        "PermissionRules": {
            "type": "object", "title": "PermissionRules",
            "properties": {
                "everything": {"type": "boolean", "default": false},
                "queriesByCollection": {"type": "object", "maxProperties": 64,
                    "additionalProperties": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 4096}}}
            }
        },
        "ApiKey": {
            "type": "object", "required": ["name", "expiresAt", "permissions"],
            "properties": {
                "name": dns_label(53),
                "expiresAt": {"type": "string", "format": "date-time", "description": "When the key stops working; in the future when created."},
                "permissions": schema("Permission"),
                "description": {"type": ["string", "null"], "maxLength": 1024},
                "rotation": schema("Rotation"),
            }
        },
        "Rotation": {
            "type": "object", "required": ["every"],
            "description": "This API's addition: rotate the key on a schedule, the previous key working for gracePeriod.",
            "properties": {
                "every": {"type": "string", "pattern": "^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$", "description": "At least 1h, such as 720h."},
                "gracePeriod": {"type": "string", "pattern": "^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$", "default": "24h"}
            }
        },
        "ListResponseMeta": {
            "type": "object", "required": ["page", "size", "totalPages"],
            "properties": {
                "page": {"type": "integer", "minimum": 0},
                "size": {"type": "integer", "minimum": 0, "description": "Items on this page."},
                "totalPages": {"type": "integer", "minimum": 0}
            }
        },
        "ListResponse_App": {
            "type": "object", "required": ["meta", "data"],
            "properties": {"data": {"type": "array", "items": schema("App")}, "meta": schema("ListResponseMeta")}
        },
        "ListResponse_ApiKey": {
            "type": "object", "required": ["meta", "data"],
            "properties": {"data": {"type": "array", "items": schema("ApiKey")}, "meta": schema("ListResponseMeta")}
        },
        "Error": {
            "type": "object", "title": "Error", "required": ["error"],
            "properties": {"error": {"type": "string", "description": "What went wrong; starts with a name such as AppNotFound."}}
        }
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let entry = paths
            .entry(o.template.to_string())
            .or_insert_with(|| json!({}));
        entry[o.method.to_ascii_lowercase()] = operation(o);
    }
    paths.insert(
        super::route::OPENAPI_PATH.into(),
        json!({"get": {"summary": "This document", "operationId": "openapi", "security": [],
                       "responses": {"200": {"description": "OpenAPI 3.1 document",
                                             "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "smbp-operator management API",
            "description": "Apps, auth providers and API keys of Self-Managed Big Peers, compatible with Ditto's Operator Management API. Every call reads and writes the BigPeerApp and BigPeerApiKey custom resources. Calls need a Kubernetes bearer token whose user Kubernetes RBAC allows the operation's verb on bigpeerapps or bigpeerapikeys.smbp.io in the path's namespace.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{"url": "https://localhost:9444", "description": "The operator's default --api-bind-address"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "Apps", "description": "Big Peer apps and their auth providers"},
            {"name": "API Keys", "description": "Big Peer HTTP API keys"}
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A Kubernetes bearer token (e.g. `kubectl create token <serviceaccount>`), checked with a TokenReview."}},
            "schemas": schemas(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_document_with_its_parameters() {
        let doc = document();
        for o in OPERATIONS {
            let op = &doc["paths"][o.template][o.method.to_ascii_lowercase()];
            assert_eq!(op["operationId"], o.operation_id, "{o:?}");
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let wanted: Vec<&str> = o
                .template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(names, wanted, "{o:?}");
            for code in ["200", "400", "401", "403"] {
                assert!(op["responses"].get(code).is_some(), "{o:?} {code}");
            }
        }
    }

    #[test]
    fn every_reference_is_defined() {
        let doc = document();
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &r[..r.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is not defined"
            );
        }
    }
}
