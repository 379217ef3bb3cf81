//! The API's own OpenAPI 3.1 document, served at `/openapi.json`: the operations of
//! [`OPERATIONS`] with the bodies of Ditto's Operator Management API document, the schemas
//! Ditto's document refers to but does not define (`Permission`, `PermissionRules`,
//! `ProviderConfig`, `Dns1123Label`, `DataBridgeRequest`, `DataBridgeObject`,
//! `ListResponse_DataBridgeObject`) filled in, this API's additions to the bodies declared, path and paging parameters declared, bearer
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
        (
            "{replication_name}",
            "Name of the replication (its BigPeerReplication).",
        ),
        (
            "{data_bridge_name}",
            "Name of the data bridge (its BigPeerDataBridge).",
        ),
    ] {
        if o.template.contains(name) {
            p.push(path_parameter(name.trim_matches(['{', '}']), what));
        }
    }
    if matches!(
        o.op,
        Op::ListApps | Op::ListKeys | Op::ListReplications | Op::ListBridges
    ) {
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
        Op::ListReplications => (
            None,
            (
                "The app's replications (this API's addition), paged like the other lists.",
                schema("ListResponse_BigPeerReplication"),
            ),
            "BigPeerNameMismatch, InvalidParameter",
            "AppNotFound",
        ),
        Op::CreateReplication => (
            Some(schema("BigPeerReplication")),
            (
                "The replication created (its status follows once the operator has made its endpoint).",
                schema("BigPeerReplication"),
            ),
            "BigPeerNameMismatch, or an invalid replication, or a name taken (BigPeerReplicationNameNotUnique)",
            "BigPeerNotFound, AppNotFound",
        ),
        Op::GetReplication => (
            None,
            (
                "The replication, with its status: the endpoint and CA the other side needs.",
                schema("BigPeerReplication"),
            ),
            "AppNameMismatch, BigPeerNameMismatch",
            "BigPeerReplicationNotFound",
        ),
        Op::ReplaceReplication => (
            Some(schema("UpdateBigPeerReplicationRequest")),
            (
                "The replication, with connections and queriesByCollection as sent (absent or null: empty); acceptFrom, trustedCas and expose are changed only when sent.",
                schema("BigPeerReplication"),
            ),
            "AppNameMismatch, BigPeerNameMismatch, or an invalid value",
            "BigPeerReplicationNotFound",
        ),
        Op::PatchReplication => (
            Some(schema("UpdateBigPeerReplicationRequest")),
            (
                "The replication, with the fields sent set (null clears one) and the others kept.",
                schema("BigPeerReplication"),
            ),
            "AppNameMismatch, BigPeerNameMismatch, or an invalid value",
            "BigPeerReplicationNotFound",
        ),
        Op::DeleteReplication => (
            None,
            ("The replication is deleted.", null),
            "AppNameMismatch, BigPeerNameMismatch",
            "BigPeerReplicationNotFound",
        ),
        Op::ListBridges => (
            None,
            (
                "The app's data bridges.",
                schema("ListResponse_DataBridgeObject"),
            ),
            "BigPeerNameMismatch, InvalidParameter",
            "AppNotFound",
        ),
        Op::CreateBridge => (
            Some(schema("DataBridgeRequest")),
            ("The data bridge created.", schema("DataBridgeObject")),
            "WebhookNotSupported, awsSecretsManager (not supported), BigPeerNameMismatch, or an invalid bridge, or a name taken (DataBridgeNameNotUnique)",
            "BigPeerNotFound, AppNotFound",
        ),
        Op::GetBridge => (
            None,
            (
                "The data bridge, with its status: for Kafka, what a consumer needs.",
                schema("DataBridgeObject"),
            ),
            "AppNameMismatch, BigPeerNameMismatch",
            "DataBridgeNotFound",
        ),
        Op::DeleteBridge => (
            None,
            ("The data bridge is deleted (no body).", null),
            "AppNameMismatch, BigPeerNameMismatch",
            "DataBridgeNotFound",
        ),
    }
}

fn operation(o: &Operation) -> Value {
    let (request, (ok_description, ok_schema), bad, missing) = shape(o.op);
    let tag = match o.op {
        Op::ListKeys | Op::CreateKey | Op::GetKey | Op::DeleteKey => "API Keys",
        Op::ListReplications
        | Op::CreateReplication
        | Op::GetReplication
        | Op::ReplaceReplication
        | Op::PatchReplication
        | Op::DeleteReplication => "BigPeerReplication",
        Op::ListBridges | Op::CreateBridge | Op::GetBridge | Op::DeleteBridge => "Data Bridge",
        _ => "Apps",
    };
    let mut responses = Map::new();
    let success = o.op.success_status();
    if success == 204 {
        responses.insert("204".into(), json!({"description": ok_description}));
    } else {
        responses.insert(success.to_string(), ok(ok_description, ok_schema));
    }
    responses.insert("400".into(), error(bad));
    responses.insert(
        "401".into(),
        json!({"description": "No bearer token, or one the Kubernetes API server does not accept.",
               "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
               "content": {"application/json": {"schema": schema("Error")}}}),
    );
    responses.insert(
        "403".into(),
        error("The token's user may not do this (a SubjectAccessReview of the operation's verb on bigpeerapps, bigpeerapikeys, bigpeerreplications or bigpeerdatabridges.smbp.io in the path's namespace)."),
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

fn connections() -> Value {
    json!({"type": ["array", "null"], "maxItems": 32, "uniqueItems": true,
           "description": "host:port replication endpoints of the other Big Peers (their status.endpoint); empty: only accept.",
           "items": {"type": "string", "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:[0-9]{1,5}$"}})
}

fn queries() -> Value {
    json!({"type": ["object", "null"], "maxProperties": 64,
           "description": "Collection to the DQL queries this side subscribes to; empty: nothing flows in.",
           "additionalProperties": {"type": "array", "maxItems": 32, "items": {"type": "string", "minLength": 1, "maxLength": 4096}}})
}

fn key_ref() -> Value {
    json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "key": {"type": "string", "default": "ca.crt"}}})
}

/// The schemas of replications (this API's additions and Ditto's bodies).
fn replication_schemas() -> Value {
    json!({
        "BigPeerReplication": {
            "type": "object", "required": ["name"],
            "description": "A replication of the path's app. acceptFrom, trustedCas and expose are this API's additions (the BigPeerReplication's spec fields of the same names); status is answered, never read.",
            "properties": {
                "name": dns_label(40),
                "connections": connections(),
                "queriesByCollection": queries(),
                "acceptFrom": {"type": "array", "maxItems": 32, "description": "Who may connect: each {namespace} or {cidr}.",
                    "items": {"type": "object", "properties": {"namespace": {"type": "string"}, "cidr": {"type": "string"}}}},
                "trustedCas": {"type": "array", "maxItems": 16, "description": "CAs of the other sides to trust: each {secretRef} or {configMapRef} {name, key (default ca.crt)}.",
                    "items": {"type": "object", "properties": {"secretRef": key_ref(), "configMapRef": key_ref()}}},
                "expose": {"type": "object", "description": "How the endpoint is reached from outside the cluster (spec.expose of the BigPeerReplication); follows the BigPeer's exposure when left out."},
                "status": {"type": "object", "readOnly": true,
                    "description": "The BigPeerReplication's status: appId, endpoint {inCluster, external}, caConfigMapName, caFingerprint, connections, conditions."}
            }
        },
        "UpdateBigPeerReplicationRequest": {
            "type": "object",
            "description": "PUT sets connections and queriesByCollection (absent or null: empty); PATCH sets the fields sent (null: empty). acceptFrom, trustedCas and expose (this API's additions) change only when sent.",
            "properties": {
                "connections": connections(),
                "queriesByCollection": queries(),
                "acceptFrom": {"type": ["array", "null"]},
                "trustedCas": {"type": ["array", "null"]},
                "expose": {"type": ["object", "null"]}
            }
        },
        "ListResponse_BigPeerReplication": {
            "type": "object", "required": ["meta", "data"],
            "properties": {"data": {"type": "array", "items": schema("BigPeerReplication")}, "meta": schema("ListResponseMeta")}
        },
        "DataBridgeRequest": {
            "type": "object", "required": ["name", "bridge"],
            "properties": {
                "name": dns_label(40),
                "displayName": {"type": ["string", "null"], "maxLength": 256},
                "description": {"type": ["string", "null"], "maxLength": 1024},
                "bridge": schema("DataBridgeKind")
            }
        },
        "DataBridgeObject": {
            "type": "object", "required": ["name", "bridge"],
            "properties": {
                "name": dns_label(40),
                "displayName": {"type": ["string", "null"]},
                "description": {"type": ["string", "null"]},
                "bridge": schema("DataBridgeKind"),
                "status": schema("BigPeerDataBridgeStatus")
            }
        },
        "ListResponse_DataBridgeObject": {
            "type": "object", "required": ["meta", "data"],
            "properties": {"data": {"type": "array", "items": schema("DataBridgeObject")}, "meta": schema("ListResponseMeta")}
        }
    })
}

/// The schemas of data bridges Ditto's document refers to and this API fills in.
fn bridge_schemas() -> Value {
    json!({
        "DataBridgeKind": {
            "title": "DataBridgeKind",
            "description": "Exactly one of kafka (change data capture to a topic) or mongoConnector. A webhook destination is refused (WebhookNotSupported).",
            "oneOf": [
                {"type": "object", "title": "Kafka", "required": ["kafka"], "properties": {"kafka": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "array", "maxItems": 64, "items": {"type": "object", "title": "FilteredSource",
                            "required": ["collection", "query"],
                            "properties": {"collection": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
                                           "query": {"type": "string", "minLength": 1, "maxLength": 4096}}}},
                        "streamType": {"type": "string", "enum": ["heartbeat", "typed", "untyped"], "default": "untyped"},
                        "topicPartitions": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 12,
                                            "description": "Partitions of the topic (12 when left out, where Ditto's document says 10); may grow, never shrink."},
                        "extraAcls": {"type": "array", "maxItems": 16, "items": {"type": "object", "description": "A Strimzi KafkaUser ACL rule: resource {type, name, patternType}, operations, host."}},
                        "consumers": {"type": "object", "description": "This API's addition: {outsideCluster, listener}; consumers inside the cluster when left out.",
                            "properties": {"outsideCluster": {"type": "boolean"}, "listener": {"type": "string"}}},
                        "external": {"type": "object", "description": "This API's addition, required with an external transaction-log Kafka: {topic, userSecretRef {name}, clusterCaSecretRef {name}}."}
                    }
                }}},
                {"type": "object", "title": "MongoConnector", "required": ["mongoConnector"], "properties": {"mongoConnector": {
                    "type": "object", "required": ["connectionSecret", "database", "collections"],
                    "properties": {
                        "connectionSecret": {"type": "object", "required": ["kubernetesSecret"],
                            "description": "kubernetesSecret only: awsSecretsManager is not supported by this operator (400).",
                            "properties": {"kubernetesSecret": {"type": "object", "required": ["name"], "properties": {
                                "name": {"type": "string", "minLength": 1, "maxLength": 253},
                                "connectionString": {"type": "string", "default": "connectionString", "description": "The Secret's key holding the connection string."}}}}},
                        "database": {"type": "string", "minLength": 1, "maxLength": 63},
                        "collections": {"type": "object", "minProperties": 1, "maxProperties": 64,
                            "additionalProperties": {"type": "object", "title": "MongoCollection", "required": ["fields", "initialSync", "mode"],
                                "properties": {
                                    "fields": {"type": "array", "minItems": 1, "maxItems": 8, "items": {"type": "string"}},
                                    "initialSync": {"type": "boolean", "default": false},
                                    "mode": {"type": "string", "enum": ["native", "ejson"], "default": "native"},
                                    "dittoTypes": {"type": "object", "properties": {"settableCounters": {"type": "array", "items": {"type": "string"}}}},
                                    "dqlStrictMode": {"type": "boolean", "default": false}}}},
                        "stallAfter": {"type": "string", "default": "5m", "description": "This API's addition: how long the connector may go without progress before the bridge is Degraded."},
                        "resources": {"type": "object", "description": "This API's addition: the connector's CPU and memory (Kubernetes ResourceRequirements)."}
                    }
                }}}
            ]
        },
        "BigPeerDataBridgeStatus": {
            "type": "object", "required": ["conditions"], "readOnly": true,
            "properties": {
                "conditions": {"type": "array", "items": {"type": "object", "required": ["type", "status", "lastTransitionTime", "reason", "message"],
                    "properties": {"type": {"type": "string", "minLength": 1}, "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                                   "lastTransitionTime": {"type": "string", "format": "date-time"}, "reason": {"type": "string", "minLength": 1},
                                   "message": {"type": "string"}, "observedGeneration": {"type": "integer"}}}},
                "kafka": {"type": "object", "title": "KafkaConsumerInfo", "required": ["topic", "consumerGroupPrefix", "endpoint", "certificateSecretRef"],
                    "description": "Present once the topic, the bootstrap servers and both Secrets are known.",
                    "properties": {
                        "topic": {"type": "string"}, "consumerGroupPrefix": {"type": "string"},
                        "endpoint": {"type": "string", "description": "Bootstrap servers, comma-separated."},
                        "certificateSecretRef": {"type": "object", "required": ["cluster", "user"], "properties": {
                            "cluster": schema("P12SecretReference"), "user": schema("P12SecretReference")}}}},
                "kind": {"type": "string", "enum": ["Kafka", "MongoDB"], "description": "This API's addition."},
                "appId": {"type": "string", "description": "This API's addition."},
                "mongodb": {"type": "object", "description": "This API's addition: the connector's deployment and lastProgressTime."}
            }
        },
        "P12SecretReference": {
            "type": "object", "required": ["name", "certificate", "password"],
            "properties": {"name": {"type": "string"}, "certificate": {"type": "string"}, "password": {"type": "string"}, "key": {"type": "string"}}
        }
    })
}

fn schemas() -> Value {
    let mut all = core_schemas();
    for more in [replication_schemas(), bridge_schemas()] {
        if let (Some(all), Value::Object(more)) = (all.as_object_mut(), more) {
            all.extend(more);
        }
    }
    all
}

fn core_schemas() -> Value {
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
            "description": "Apps, auth providers, API keys, replications and data bridges of Self-Managed Big Peers, compatible with Ditto's Operator Management API. Every call reads and writes the BigPeerApp, BigPeerApiKey, BigPeerReplication and BigPeerDataBridge custom resources. Calls need a Kubernetes bearer token whose user Kubernetes RBAC allows the operation's verb on the kind's resource (bigpeerapps, bigpeerapikeys, bigpeerreplications or bigpeerdatabridges.smbp.io) in the path's namespace.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{"url": "https://localhost:9444", "description": "The operator's default --api-bind-address"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "Apps", "description": "Big Peer apps and their auth providers"},
            {"name": "API Keys", "description": "Big Peer HTTP API keys"},
            {"name": "BigPeerReplication", "description": "Big Peer to Big Peer replication of an app's data"},
            {"name": "Data Bridge", "description": "Apps' data bridges: change data capture to Kafka, MongoDB connector"}
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
            let success = o.op.success_status().to_string();
            for code in [success.as_str(), "400", "401", "403"] {
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
