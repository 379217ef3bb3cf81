//! The operations of the management API, in one table ([`OPERATIONS`]) that routing, access
//! checks and the OpenAPI document ([`super::openapi`]) all read: the paths of Ditto's
//! Operator Management API document under `/namespace/{namespace}/bigPeer/{big_peer_name}/app`
//! that issue #14 covers, plus `DELETE .../provider/{provider_name}`.

use crate::telemetry::access::Attributes;

use super::error::ApiError;

/// API group of the custom resources.
pub const GROUP: &str = "smbp.io";
/// Resource of `BigPeerApp`.
pub const APPS: &str = "bigpeerapps";
/// Resource of `BigPeerApiKey`.
pub const KEYS: &str = "bigpeerapikeys";

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
    /// here, and the DELETE of a provider, this API's addition, is `deleteProvider`).
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
        paths::KEYS => "GET, POST",
        _ => "GET, DELETE",
    }
}

impl Routed {
    /// What the caller must be allowed, checked before anything is looked up: the verb of the
    /// operation on `bigpeerapps` or `bigpeerapikeys` in the path's namespace, on the named
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
                .replace("{api_key_name}", "my-key");
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
            "/namespace/ns/bigPeer/prod/app/a/dataBridge",
            "/namespace/ns/bigPeer/prod/app/a/bigPeerReplication",
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
                    .replace("{api_key_name}", &key);
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
