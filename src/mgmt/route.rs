//! The operations of the management API, in one table ([`OPERATIONS`]) that routing, access
//! checks and the OpenAPI document ([`super::openapi`]) all read: the paths of Ditto's
//! Operator Management API document under `/namespace/{namespace}/bigPeer/{big_peer_name}/app`
//! that issues #14 (apps, providers, keys) and #15 (replications, data bridges) cover, plus
//! `DELETE .../provider/{provider_name}` and `GET .../bigPeerReplication` (a list, paged like
//! the others).

use crate::telemetry::access::Attributes;

use super::error::ApiError;

/// API group of the custom resources.
pub const GROUP: &str = "smbp.io";
/// Resource of `BigPeerApp`.
pub const APPS: &str = "bigpeerapps";
/// Resource of `BigPeerApiKey`.
pub const KEYS: &str = "bigpeerapikeys";
/// Resource of `BigPeerReplication`.
pub const REPLICATIONS: &str = "bigpeerreplications";
/// Resource of `BigPeerDataBridge`.
pub const BRIDGES: &str = "bigpeerdatabridges";

/// Path of the API's own OpenAPI document.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// List the apps of a BigPeer.
    ListApps,
    /// Create an app.
    CreateApp,
    /// Read an app.
    GetApp,
    /// Replace an app's providers (PUT).
    ReplaceApp,
    /// Merge providers into an app (PATCH).
    PatchApp,
    /// Delete an app and its keys.
    DeleteApp,
    /// Add or replace one provider.
    AddProvider,
    /// Remove one provider (POST, as Ditto's document, or DELETE).
    DeleteProvider,
    /// List an app's keys.
    ListKeys,
    /// Create a key and return it.
    CreateKey,
    /// Read a key (never the key itself).
    GetKey,
    /// Delete a key.
    DeleteKey,
    /// List an app's replications (this API's addition).
    ListReplications,
    /// Create a replication.
    CreateReplication,
    /// Read a replication.
    GetReplication,
    /// Replace a replication's connections and queries (PUT).
    ReplaceReplication,
    /// Change the fields a body sets (PATCH).
    PatchReplication,
    /// Delete a replication.
    DeleteReplication,
    /// List an app's data bridges.
    ListBridges,
    /// Create a data bridge (201).
    CreateBridge,
    /// Read a data bridge.
    GetBridge,
    /// Delete a data bridge (204).
    DeleteBridge,
}

impl Op {
    /// The HTTP status of a success: 201 for createDataBridge, 204 (no body) for
    /// deleteDataBridge, as Ditto's document says; 200 otherwise.
    pub fn success_status(self) -> u16 {
        match self {
            Op::CreateBridge => 201,
            Op::DeleteBridge => 204,
            _ => 200,
        }
    }
}

/// Path templates.
pub mod paths {
    /// Apps of a BigPeer.
    pub const APPS: &str = "/namespace/{namespace}/bigPeer/{big_peer_name}/app";
    /// One app.
    pub const APP: &str = "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}";
    /// An app's providers.
    pub const PROVIDERS: &str =
        "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/provider";
    /// One provider.
    pub const PROVIDER: &str =
        "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/provider/{provider_name}";
    /// An app's keys.
    pub const KEYS: &str = "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/apiKey";
    /// One key.
    pub const KEY: &str =
        "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/apiKey/{api_key_name}";
    /// An app's replications.
    pub const REPLICATIONS: &str =
        "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/bigPeerReplication";
    /// One replication.
    pub const REPLICATION: &str = "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/bigPeerReplication/{replication_name}";
    /// An app's data bridges.
    pub const BRIDGES: &str =
        "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/dataBridge";
    /// One data bridge.
    pub const BRIDGE: &str = "/namespace/{namespace}/bigPeer/{big_peer_name}/app/{app_name}/dataBridge/{data_bridge_name}";
}

/// One method on one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// What it does.
    pub op: Op,
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub template: &'static str,
    /// `operationId` (Ditto's; Ditto uses `updateApp` for PUT and PATCH, PATCH is `patchApp`
    /// here, likewise `updateReplication` for PUT and `patchReplication` for PATCH; this
    /// API's additions are `deleteProvider` and `listReplications`).
    pub operation_id: &'static str,
    /// One line.
    pub summary: &'static str,
}

const fn operation(
    op: Op,
    method: &'static str,
    template: &'static str,
    operation_id: &'static str,
    summary: &'static str,
) -> Operation {
    Operation {
        op,
        method,
        template,
        operation_id,
        summary,
    }
}

/// Every operation the API serves.
pub const OPERATIONS: &[Operation] = &[
    operation(Op::ListApps, "GET", paths::APPS, "listApps", "List Apps"),
    operation(
        Op::CreateApp,
        "POST",
        paths::APPS,
        "createApp",
        "Create App",
    ),
    operation(Op::GetApp, "GET", paths::APP, "getApp", "Get App"),
    operation(Op::ReplaceApp, "PUT", paths::APP, "updateApp", "Update App"),
    operation(
        Op::PatchApp,
        "PATCH",
        paths::APP,
        "patchApp",
        "Update App (merge providers)",
    ),
    operation(
        Op::DeleteApp,
        "DELETE",
        paths::APP,
        "deleteApp",
        "Delete App",
    ),
    operation(
        Op::AddProvider,
        "POST",
        paths::PROVIDERS,
        "createProvider",
        "Add Auth Provider",
    ),
    operation(
        Op::DeleteProvider,
        "POST",
        paths::PROVIDER,
        "deleteProviderPost",
        "Delete Auth Provider",
    ),
    operation(
        Op::DeleteProvider,
        "DELETE",
        paths::PROVIDER,
        "deleteProvider",
        "Delete Auth Provider",
    ),
    operation(
        Op::ListKeys,
        "GET",
        paths::KEYS,
        "listApiKeys",
        "List API Keys",
    ),
    operation(
        Op::CreateKey,
        "POST",
        paths::KEYS,
        "createApiKey",
        "Create API Key",
    ),
    operation(Op::GetKey, "GET", paths::KEY, "getApiKey", "Get API Key"),
    operation(
        Op::DeleteKey,
        "DELETE",
        paths::KEY,
        "deleteApiKey",
        "Delete API Key",
    ),
    operation(
        Op::ListReplications,
        "GET",
        paths::REPLICATIONS,
        "listReplications",
        "List Replications",
    ),
    operation(
        Op::CreateReplication,
        "POST",
        paths::REPLICATIONS,
        "createReplication",
        "Create Replication",
    ),
    operation(
        Op::GetReplication,
        "GET",
        paths::REPLICATION,
        "getReplication",
        "Get Replication",
    ),
    operation(
        Op::ReplaceReplication,
        "PUT",
        paths::REPLICATION,
        "updateReplication",
        "Update Replication",
    ),
    operation(
        Op::PatchReplication,
        "PATCH",
        paths::REPLICATION,
        "patchReplication",
        "Update Replication (the fields sent)",
    ),
    operation(
        Op::DeleteReplication,
        "DELETE",
        paths::REPLICATION,
        "deleteReplication",
        "Delete Replication",
    ),
    operation(
        Op::ListBridges,
        "GET",
        paths::BRIDGES,
        "listDataBridges",
        "List Data Bridges",
    ),
    operation(
        Op::CreateBridge,
        "POST",
        paths::BRIDGES,
        "createDataBridge",
        "Create Data Bridge",
    ),
    operation(
        Op::GetBridge,
        "GET",
        paths::BRIDGE,
        "getDataBridge",
        "Get Data Bridge",
    ),
    operation(
        Op::DeleteBridge,
        "DELETE",
        paths::BRIDGE,
        "deleteDataBridge",
        "Delete Data Bridge",
    ),
];

/// The objects a request names, from its path.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Target {
    /// Namespace.
    pub namespace: String,
    /// BigPeer name.
    pub big_peer: String,
    /// App name.
    pub app: Option<String>,
    /// Provider name.
    pub provider: Option<String>,
    /// Key name.
    pub key: Option<String>,
    /// Replication name.
    pub replication: Option<String>,
    /// Data bridge name.
    pub bridge: Option<String>,
}

impl Target {
    /// The app name (routes that have one).
    pub fn app(&self) -> &str {
        self.app.as_deref().unwrap_or_default()
    }
    /// The key name (routes that have one).
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }
    /// The provider name (routes that have one).
    pub fn provider(&self) -> &str {
        self.provider.as_deref().unwrap_or_default()
    }
    /// The replication name (routes that have one).
    pub fn replication(&self) -> &str {
        self.replication.as_deref().unwrap_or_default()
    }
    /// The data bridge name (routes that have one).
    pub fn bridge(&self) -> &str {
        self.bridge.as_deref().unwrap_or_default()
    }
}

/// A request matched to its operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    /// The operation.
    pub operation: Operation,
    /// What it names.
    pub target: Target,
}

/// `%XX` escapes decoded; `None` when they do not make UTF-8.
fn decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_string());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The operation `method` on `path` asks for; 404 for a path the API does not have, 405 for a
/// method its path does not take.
pub fn route(method: &str, path: &str) -> Result<Routed, ApiError> {
    let unknown = || ApiError::not_found(format!("NotFound: no such path {path:?}"));
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let raw: Vec<&str> = trimmed.strip_prefix('/').unwrap_or("").split('/').collect();
    let mut seg = Vec::with_capacity(raw.len());
    for s in &raw {
        let d = decode(s).ok_or_else(unknown)?;
        if d.is_empty() {
            return Err(unknown());
        }
        seg.push(d);
    }
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let (template, target) = match s.as_slice() {
        ["namespace", ns, "bigPeer", bp, "app", rest @ ..] => {
            let mut t = Target {
                namespace: ns.to_string(),
                big_peer: bp.to_string(),
                ..Default::default()
            };
            let template = match rest {
                [] => paths::APPS,
                [app] => {
                    t.app = Some(app.to_string());
                    paths::APP
                }
                [app, "provider"] => {
                    t.app = Some(app.to_string());
                    paths::PROVIDERS
                }
                [app, "provider", p] => {
                    t.app = Some(app.to_string());
                    t.provider = Some(p.to_string());
                    paths::PROVIDER
                }
                [app, "apiKey"] => {
                    t.app = Some(app.to_string());
                    paths::KEYS
                }
                [app, "apiKey", k] => {
                    t.app = Some(app.to_string());
                    t.key = Some(k.to_string());
                    paths::KEY
                }
                [app, "bigPeerReplication"] => {
                    t.app = Some(app.to_string());
                    paths::REPLICATIONS
                }
                [app, "bigPeerReplication", r] => {
                    t.app = Some(app.to_string());
                    t.replication = Some(r.to_string());
                    paths::REPLICATION
                }
                [app, "dataBridge"] => {
                    t.app = Some(app.to_string());
                    paths::BRIDGES
                }
                [app, "dataBridge", b] => {
                    t.app = Some(app.to_string());
                    t.bridge = Some(b.to_string());
                    paths::BRIDGE
                }
                _ => return Err(unknown()),
            };
            (template, t)
        }
        _ => return Err(unknown()),
    };
    let on_path = || OPERATIONS.iter().filter(|o| o.template == template);
    match on_path().find(|o| o.method.eq_ignore_ascii_case(method)) {
        Some(operation) => Ok(Routed {
            operation: *operation,
            target,
        }),
        None => Err(ApiError::method_not_allowed(allowed(template))),
    }
}

/// The methods of a path template, for `Allow`.
fn allowed(template: &str) -> &'static str {
    match template {
        paths::APPS => "GET, POST",
        paths::APP => "GET, PUT, PATCH, DELETE",
        paths::PROVIDERS => "POST",
        paths::PROVIDER => "POST, DELETE",
        paths::KEYS | paths::REPLICATIONS | paths::BRIDGES => "GET, POST",
        paths::REPLICATION => "GET, PUT, PATCH, DELETE",
        _ => "GET, DELETE",
    }
}

impl Routed {
    /// What the caller must be allowed, checked before anything is looked up: the verb of the
    /// operation on its kind's resource (`bigpeerapps`, `bigpeerapikeys`,
    /// `bigpeerreplications`, `bigpeerdatabridges`) in the path's namespace, on the named
    /// object where there is one. Deleting an app also deletes its keys, so it needs `delete`
    /// on `bigpeerapikeys` as well.
    pub fn access(&self) -> Vec<Attributes> {
        let t = &self.target;
        let on = |resource: &str, name: Option<&str>, verb: &str| {
            Attributes::resource(GROUP, resource, &t.namespace, name, verb)
        };
        let app = t.app.as_deref();
        match self.operation.op {
            Op::ListApps => vec![on(APPS, None, "list")],
            Op::CreateApp => vec![on(APPS, None, "create")],
            Op::GetApp => vec![on(APPS, app, "get")],
            Op::ReplaceApp => vec![on(APPS, app, "update")],
            Op::PatchApp | Op::AddProvider | Op::DeleteProvider => vec![on(APPS, app, "patch")],
            Op::DeleteApp => vec![on(APPS, app, "delete"), on(KEYS, None, "delete")],
            Op::ListKeys => vec![on(KEYS, None, "list")],
            Op::CreateKey => vec![on(KEYS, None, "create")],
            Op::GetKey => vec![on(KEYS, t.key.as_deref(), "get")],
            Op::DeleteKey => vec![on(KEYS, t.key.as_deref(), "delete")],
            Op::ListReplications => vec![on(REPLICATIONS, None, "list")],
            Op::CreateReplication => vec![on(REPLICATIONS, None, "create")],
            Op::GetReplication => vec![on(REPLICATIONS, t.replication.as_deref(), "get")],
            Op::ReplaceReplication => vec![on(REPLICATIONS, t.replication.as_deref(), "update")],
            Op::PatchReplication => vec![on(REPLICATIONS, t.replication.as_deref(), "patch")],
            Op::DeleteReplication => vec![on(REPLICATIONS, t.replication.as_deref(), "delete")],
            Op::ListBridges => vec![on(BRIDGES, None, "list")],
            Op::CreateBridge => vec![on(BRIDGES, None, "create")],
            Op::GetBridge => vec![on(BRIDGES, t.bridge.as_deref(), "get")],
            Op::DeleteBridge => vec![on(BRIDGES, t.bridge.as_deref(), "delete")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: &str = "/namespace/ns/bigPeer/prod/app";

    fn ok(method: &str, path: &str) -> Routed {
        route(method, path).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    #[test]
    fn every_operation_routes_from_its_template() {
        for o in OPERATIONS {
            let path = o
                .template
                .replace("{namespace}", "ns")
                .replace("{big_peer_name}", "prod")
                .replace("{app_name}", "my-app")
                .replace("{provider_name}", "__playgroundProvider")
                .replace("{api_key_name}", "my-key")
                .replace("{replication_name}", "my-repl")
                .replace("{data_bridge_name}", "my-bridge");
            let r = ok(o.method, &path);
            assert_eq!(r.operation, *o);
            assert_eq!(r.target.namespace, "ns");
            assert_eq!(r.target.big_peer, "prod");
            if o.template.contains("{app_name}") {
                assert_eq!(r.target.app(), "my-app");
            }
            if o.template.contains("{provider_name}") {
                assert_eq!(r.target.provider(), "__playgroundProvider");
            }
            if o.template.contains("{api_key_name}") {
                assert_eq!(r.target.key(), "my-key");
            }
            if o.template.contains("{replication_name}") {
                assert_eq!(r.target.replication(), "my-repl");
            }
            if o.template.contains("{data_bridge_name}") {
                assert_eq!(r.target.bridge(), "my-bridge");
            }
        }
    }

    #[test]
    fn operation_ids_are_unique_and_each_method_and_path_is_served_once() {
        let mut ids: Vec<_> = OPERATIONS.iter().map(|o| o.operation_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), OPERATIONS.len());
        let mut pairs: Vec<_> = OPERATIONS.iter().map(|o| (o.method, o.template)).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), OPERATIONS.len());
        for o in OPERATIONS {
            assert!(allowed(o.template).contains(o.method), "{o:?}");
        }
    }

    #[test]
    fn methods_are_matched_in_any_case_and_a_trailing_slash_is_fine() {
        assert_eq!(ok("get", &format!("{P}/")).operation.op, Op::ListApps);
        assert_eq!(
            ok("DELETE", &format!("{P}/a/provider/p")).operation.op,
            Op::DeleteProvider
        );
        assert_eq!(
            ok("POST", &format!("{P}/a/provider/p")).operation.op,
            Op::DeleteProvider
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        for p in [
            "/",
            "/namespace/ns",
            "/namespace/ns/bigPeer/prod",
            "/namespace/ns/bigPeer/prod/apps",
            "/namespace//bigPeer/prod/app",
            "/namespace/ns/bigPeer/prod/app/a/dataBridges",
            "/namespace/ns/bigPeer/prod/app/a/bigPeerReplication/r/x",
            "/namespace/ns/bigPeer/prod/app/a/apiKey/k/x",
            "/namespace/ns/bigPeer/prod/app/%ff",
        ] {
            assert_eq!(route("GET", p).unwrap_err().status, 404, "{p}");
        }
        let e = route("DELETE", P).unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, POST")));
        assert_eq!(
            route("PUT", &format!("{P}/a/apiKey/k")).unwrap_err().allow,
            Some("GET, DELETE")
        );
        assert_eq!(
            route("GET", &format!("{P}/a/provider")).unwrap_err().status,
            405
        );
        assert_eq!(
            route("PUT", &format!("{P}/a/dataBridge/b"))
                .unwrap_err()
                .allow,
            Some("GET, DELETE")
        );
        assert_eq!(
            route("POST", &format!("{P}/a/bigPeerReplication/r"))
                .unwrap_err()
                .allow,
            Some("GET, PUT, PATCH, DELETE")
        );
    }

    #[test]
    fn success_statuses_are_the_documents() {
        for o in OPERATIONS {
            let want = match o.operation_id {
                "createDataBridge" => 201,
                "deleteDataBridge" => 204,
                _ => 200,
            };
            assert_eq!(o.op.success_status(), want, "{o:?}");
        }
    }

    #[test]
    fn escapes_are_decoded() {
        let r = ok("POST", &format!("{P}/a/provider/corp%2Esso"));
        assert_eq!(r.target.provider(), "corp.sso");
        assert_eq!(decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(decode("a%2").as_deref(), None);
        assert_eq!(decode("a%zz").as_deref(), None);
    }

    #[test]
    fn access_is_the_operations_verb_on_its_kind_in_the_paths_namespace() {
        let verbs = |method: &str, path: &str| -> Vec<String> {
            ok(method, path)
                .access()
                .iter()
                .map(|a| a.to_string())
                .collect()
        };
        assert_eq!(verbs("GET", P), ["list bigpeerapps.smbp.io in ns"]);
        assert_eq!(verbs("POST", P), ["create bigpeerapps.smbp.io in ns"]);
        assert_eq!(
            verbs("GET", &format!("{P}/a")),
            ["get bigpeerapps.smbp.io in ns named a"]
        );
        assert_eq!(
            verbs("PUT", &format!("{P}/a")),
            ["update bigpeerapps.smbp.io in ns named a"]
        );
        assert_eq!(
            verbs("PATCH", &format!("{P}/a")),
            ["patch bigpeerapps.smbp.io in ns named a"]
        );
        assert_eq!(
            verbs("DELETE", &format!("{P}/a")),
            [
                "delete bigpeerapps.smbp.io in ns named a",
                "delete bigpeerapikeys.smbp.io in ns"
            ]
        );
        assert_eq!(
            verbs("POST", &format!("{P}/a/provider")),
            ["patch bigpeerapps.smbp.io in ns named a"]
        );
        assert_eq!(
            verbs("DELETE", &format!("{P}/a/provider/p")),
            ["patch bigpeerapps.smbp.io in ns named a"]
        );
        assert_eq!(
            verbs("GET", &format!("{P}/a/apiKey")),
            ["list bigpeerapikeys.smbp.io in ns"]
        );
        assert_eq!(
            verbs("POST", &format!("{P}/a/apiKey")),
            ["create bigpeerapikeys.smbp.io in ns"]
        );
        assert_eq!(
            verbs("GET", &format!("{P}/a/apiKey/k")),
            ["get bigpeerapikeys.smbp.io in ns named k"]
        );
        assert_eq!(
            verbs("DELETE", &format!("{P}/a/apiKey/k")),
            ["delete bigpeerapikeys.smbp.io in ns named k"]
        );
        let r = format!("{P}/a/bigPeerReplication");
        assert_eq!(verbs("GET", &r), ["list bigpeerreplications.smbp.io in ns"]);
        assert_eq!(
            verbs("POST", &r),
            ["create bigpeerreplications.smbp.io in ns"]
        );
        for (method, verb) in [
            ("GET", "get"),
            ("PUT", "update"),
            ("PATCH", "patch"),
            ("DELETE", "delete"),
        ] {
            assert_eq!(
                verbs(method, &format!("{r}/x")),
                [format!("{verb} bigpeerreplications.smbp.io in ns named x")]
            );
        }
        let b = format!("{P}/a/dataBridge");
        assert_eq!(verbs("GET", &b), ["list bigpeerdatabridges.smbp.io in ns"]);
        assert_eq!(
            verbs("POST", &b),
            ["create bigpeerdatabridges.smbp.io in ns"]
        );
        assert_eq!(
            verbs("GET", &format!("{b}/x")),
            ["get bigpeerdatabridges.smbp.io in ns named x"]
        );
        assert_eq!(
            verbs("DELETE", &format!("{b}/x")),
            ["delete bigpeerdatabridges.smbp.io in ns named x"]
        );
    }

    proptest! {
        /// Whatever the names, a routed request names them back, and its access checks are in
        /// the path's namespace.
        #[test]
        fn names_round_trip(
            ns in "[a-z0-9-]{1,20}",
            bp in "[a-z0-9-]{1,20}",
            app in "[a-z0-9-]{1,20}",
            key in "[A-Za-z0-9_.-]{1,20}",
        ) {
            for o in OPERATIONS {
                let path = o.template
                    .replace("{namespace}", &ns)
                    .replace("{big_peer_name}", &bp)
                    .replace("{app_name}", &app)
                    .replace("{provider_name}", &key)
                    .replace("{api_key_name}", &key)
                    .replace("{replication_name}", &key)
                    .replace("{data_bridge_name}", &key);
                // "." and ".." are not names a client can send as a path segment.
                prop_assume!(key != "." && key != "..");
                let r = route(o.method, &path).unwrap();
                prop_assert_eq!(r.operation, *o);
                prop_assert_eq!(&r.target.namespace, &ns);
                for a in r.access() {
                    match a {
                        Attributes::Resource(ra) => {
                            prop_assert_eq!(&ra.namespace, &ns);
                            prop_assert_eq!(&ra.group, GROUP);
                        }
                        Attributes::NonResource { .. } => prop_assert!(false),
                    }
                }
            }
        }

        /// Any path either routes, or is answered 404 or 405: never a panic.
        #[test]
        fn any_path_gets_an_answer(method in "(GET|POST|PUT|PATCH|DELETE|HEAD)", path in "(/[a-zA-Z%0-9]{0,8}){0,9}") {
            match route(&method, &path) {
                Ok(_) => {}
                Err(e) => prop_assert!(e.status == 404 || e.status == 405),
            }
        }
    }
}
