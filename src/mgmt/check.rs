//! What a request may go on with, given what was looked up: the app or key the path names
//! exists and belongs to the path's BigPeer and app, an app ID is not taken, and which apps and
//! keys a list shows. Pure: the lookups are arguments. Ditto's operator ties an app to its
//! BigPeer by a label and answers 400 "mismatch" when the path names another; here the ties
//! are `spec.bigPeerRef` and `spec.appRef`, with the same answers. Replications and data
//! bridges are judged as keys are ([`linked_of`]).

use super::convert::{self, BIG_PEER_LABEL};
use super::error::ApiError;
use crate::api::app::{BigPeerApiKey, BigPeerApp};
use crate::api::{BigPeerDataBridge, BigPeerReplication};

/// An object of an app (a replication, a data bridge): its `spec.appRef`.
pub trait OfApp: kube::Resource {
    /// What it is called in messages.
    const NOUN: &'static str;
    /// The error name of a 404 (Ditto's).
    const MISSING: &'static str;
    /// The app it names.
    fn app_name(&self) -> &str;
}

impl OfApp for BigPeerReplication {
    const NOUN: &'static str = "big peer replication";
    const MISSING: &'static str = "BigPeerReplicationNotFound";
    fn app_name(&self) -> &str {
        &self.spec.app_ref.name
    }
}

impl OfApp for BigPeerDataBridge {
    const NOUN: &'static str = "data bridge";
    const MISSING: &'static str = "DataBridgeNotFound";
    fn app_name(&self) -> &str {
        &self.spec.app_ref.name
    }
}

/// The object `name` of app `app` of BigPeer `big_peer`, as [`key_of`] judges keys: 404
/// `BigPeerReplicationNotFound` or `DataBridgeNotFound` when absent, 400
/// `AppNameMismatch` when its `spec.appRef` names another app, 400 `BigPeerNameMismatch` when
/// its app (or, the app gone, its `smbp.io/big-peer` label) names another BigPeer.
pub fn linked_of<'a, K: OfApp>(
    big_peer: &str,
    app: &str,
    name: &str,
    found: Option<&'a K>,
    its_app: Option<&BigPeerApp>,
) -> Result<&'a K, ApiError> {
    let (what, missing) = (K::NOUN, K::MISSING);
    let o =
        found.ok_or_else(|| ApiError::not_found(format!("{missing}: {what} {name} not found")))?;
    let owner = o.app_name();
    if owner != app {
        return Err(ApiError::bad_request(format!(
            "AppNameMismatch: {what} {name} belongs to app {owner}, not {app}"
        )));
    }
    let bp = match its_app {
        Some(a) => Some(a.spec.big_peer_ref.name.as_str()),
        None => o
            .meta()
            .labels
            .as_ref()
            .and_then(|l| l.get(BIG_PEER_LABEL))
            .map(String::as_str),
    };
    match bp {
        Some(bp) if bp != big_peer => Err(ApiError::bad_request(format!(
            "BigPeerNameMismatch: app {app} belongs to BigPeer {bp}, not {big_peer}"
        ))),
        _ => Ok(o),
    }
}

/// The objects of app `app` (replications, data bridges), by name.
pub fn linked_to<'a, K: OfApp>(app: &str, all: impl IntoIterator<Item = &'a K>) -> Vec<&'a K> {
    let mut v: Vec<&K> = all.into_iter().filter(|o| o.app_name() == app).collect();
    v.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
    v
}

/// The app `name` of BigPeer `big_peer`: 404 `AppNotFound` when absent, 400
/// `BigPeerNameMismatch` when it belongs to another BigPeer.
pub fn app_of<'a>(
    big_peer: &str,
    name: &str,
    found: Option<&'a BigPeerApp>,
) -> Result<&'a BigPeerApp, ApiError> {
    let app = found.ok_or_else(|| {
        ApiError::not_found(format!("AppNotFound: big peer app {name} not found"))
    })?;
    let owner = &app.spec.big_peer_ref.name;
    if owner != big_peer {
        return Err(ApiError::bad_request(format!(
            "BigPeerNameMismatch: app {name} belongs to BigPeer {owner}, not {big_peer}"
        )));
    }
    Ok(app)
}

/// The key `name` of app `app` of BigPeer `big_peer`: 404 `ApiKeyNotFound` when absent, 400
/// `AppNameMismatch` when it belongs to another app, 400 `BigPeerNameMismatch` when its app
/// belongs to another BigPeer. A key whose app is gone (deleted with kubectl) is judged by its
/// `smbp.io/big-peer` label, so that it can still be read and deleted.
pub fn key_of<'a>(
    big_peer: &str,
    app: &str,
    name: &str,
    found: Option<&'a BigPeerApiKey>,
    its_app: Option<&BigPeerApp>,
) -> Result<&'a BigPeerApiKey, ApiError> {
    let key = found
        .ok_or_else(|| ApiError::not_found(format!("ApiKeyNotFound: api key {name} not found")))?;
    let owner = &key.spec.app_ref.name;
    if owner != app {
        return Err(ApiError::bad_request(format!(
            "AppNameMismatch: api key {name} belongs to app {owner}, not {app}"
        )));
    }
    let bp = match its_app {
        Some(a) => Some(a.spec.big_peer_ref.name.as_str()),
        None => key
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(BIG_PEER_LABEL))
            .map(String::as_str),
    };
    match bp {
        Some(bp) if bp != big_peer => Err(ApiError::bad_request(format!(
            "BigPeerNameMismatch: app {app} belongs to BigPeer {bp}, not {big_peer}"
        ))),
        _ => Ok(key),
    }
}

/// The apps of BigPeer `big_peer`, by name.
pub fn apps_of<'a>(
    big_peer: &str,
    apps: impl IntoIterator<Item = &'a BigPeerApp>,
) -> Vec<&'a BigPeerApp> {
    let mut v: Vec<&BigPeerApp> = apps
        .into_iter()
        .filter(|a| a.spec.big_peer_ref.name == big_peer)
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

/// The keys of app `app`, by name.
pub fn keys_of<'a>(
    app: &str,
    keys: impl IntoIterator<Item = &'a BigPeerApiKey>,
) -> Vec<&'a BigPeerApiKey> {
    let mut v: Vec<&BigPeerApiKey> = keys
        .into_iter()
        .filter(|k| k.spec.app_ref.name == app)
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

/// 400 `AppIdNotUnique` when another app of BigPeer `big_peer` (not named `except`) has app
/// ID `id` (compared without case, as UUIDs are).
pub fn app_id_free<'a>(
    big_peer: &str,
    id: &str,
    except: &str,
    apps: impl IntoIterator<Item = &'a BigPeerApp>,
) -> Result<(), ApiError> {
    let taken = apps_of(big_peer, apps).into_iter().find(|a| {
        a.metadata.name.as_deref() != Some(except)
            && convert::app_id(a).is_some_and(|other| other.eq_ignore_ascii_case(id))
    });
    match taken {
        Some(a) => Err(ApiError::bad_request(format!(
            "AppIdNotUnique: app {} of BigPeer {big_peer} already has app ID {id}",
            a.metadata.name.as_deref().unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::app::{AppRef, BigPeerApiKeySpec, BigPeerAppSpec, BigPeerRef, Permissions};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use proptest::prelude::*;

    fn app(name: &str, bp: &str, id: Option<&str>) -> BigPeerApp {
        BigPeerApp {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            spec: BigPeerAppSpec {
                big_peer_ref: BigPeerRef { name: bp.into() },
                app_id: id.map(String::from),
                auth_providers: Default::default(),
            },
            status: None,
        }
    }

    fn key(name: &str, app: &str, bp_label: Option<&str>) -> BigPeerApiKey {
        BigPeerApiKey {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                labels: bp_label.map(|b| [(BIG_PEER_LABEL.to_string(), b.to_string())].into()),
                ..Default::default()
            },
            spec: BigPeerApiKeySpec {
                app_ref: AppRef { name: app.into() },
                permissions: Permissions::default(),
                expires_at: Time(k8s_openapi::jiff::Timestamp::from_second(4_000_000_000).unwrap()),
                description: None,
                rotation: None,
            },
            status: None,
        }
    }

    #[test]
    fn apps_are_found_only_under_their_big_peer() {
        let a = app("a", "prod", None);
        assert!(app_of("prod", "a", Some(&a)).is_ok());
        let e = app_of("prod", "b", None).unwrap_err();
        assert_eq!(
            (e.status, e.message.starts_with("AppNotFound")),
            (404, true)
        );
        let e = app_of("staging", "a", Some(&a)).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message.starts_with("BigPeerNameMismatch"),
            "{}",
            e.message
        );
    }

    #[test]
    fn keys_are_found_only_under_their_app_and_big_peer() {
        let a = app("a", "prod", None);
        let k = key("k", "a", Some("prod"));
        assert!(key_of("prod", "a", "k", Some(&k), Some(&a)).is_ok());
        let e = key_of("prod", "a", "x", None, Some(&a)).unwrap_err();
        assert!(e.status == 404 && e.message.starts_with("ApiKeyNotFound"));
        let e = key_of("prod", "b", "k", Some(&k), None).unwrap_err();
        assert!(e.status == 400 && e.message.starts_with("AppNameMismatch"));
        let e = key_of("staging", "a", "k", Some(&k), Some(&a)).unwrap_err();
        assert!(e.status == 400 && e.message.starts_with("BigPeerNameMismatch"));
        // The app is gone: the key's label decides; without one, the key is found.
        assert!(key_of("prod", "a", "k", Some(&k), None).is_ok());
        assert_eq!(
            key_of("staging", "a", "k", Some(&k), None)
                .unwrap_err()
                .status,
            400
        );
        let bare = key("k", "a", None);
        assert!(key_of("staging", "a", "k", Some(&bare), None).is_ok());
    }

    #[test]
    fn app_ids_are_unique_per_big_peer_whatever_their_case() {
        let id = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";
        let apps = [
            app("a", "prod", Some(id)),
            app("b", "other", Some("00000000-0000-0000-0000-000000000001")),
        ];
        let e = app_id_free("prod", &id.to_uppercase(), "new", &apps).unwrap_err();
        assert!(e.status == 400 && e.message.starts_with("AppIdNotUnique"));
        assert!(app_id_free("prod", id, "a", &apps).is_ok(), "its own ID");
        assert!(
            app_id_free("other", id, "new", &apps).is_ok(),
            "another BigPeer"
        );
        // An ID the operator reported in status counts too.
        let mut reported = app("c", "prod", None);
        reported.status = Some(crate::api::app::BigPeerAppStatus {
            app_id: Some("00000000-0000-0000-0000-00000000000c".into()),
            ..Default::default()
        });
        assert!(
            app_id_free(
                "prod",
                "00000000-0000-0000-0000-00000000000c",
                "new",
                [&reported]
            )
            .is_err()
        );
    }

    fn replication(name: &str, app: &str, bp_label: Option<&str>) -> BigPeerReplication {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "smbp.io/v1alpha1", "kind": "BigPeerReplication",
            "metadata": {"name": name, "namespace": "ns",
                         "labels": bp_label.map(|b| serde_json::json!({BIG_PEER_LABEL: b}))},
            "spec": {"appRef": {"name": app}}
        }))
        .unwrap()
    }

    #[test]
    fn replications_and_bridges_are_found_only_under_their_app_and_big_peer() {
        let a = app("a", "prod", None);
        let r = replication("r", "a", Some("prod"));
        let of =
            |bp: &str, app: &str, found: Option<&BigPeerReplication>, its: Option<&BigPeerApp>| {
                linked_of(bp, app, "r", found, its).map(|_| ())
            };
        assert!(of("prod", "a", Some(&r), Some(&a)).is_ok());
        let e = of("prod", "a", None, Some(&a)).unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(
            e.message,
            "BigPeerReplicationNotFound: big peer replication r not found"
        );
        let e = of("prod", "b", Some(&r), None).unwrap_err();
        assert!(
            e.status == 400 && e.message.starts_with("AppNameMismatch"),
            "{e}"
        );
        let e = of("staging", "a", Some(&r), Some(&a)).unwrap_err();
        assert!(e.status == 400 && e.message.starts_with("BigPeerNameMismatch"));
        // The app is gone: the label decides.
        assert!(of("prod", "a", Some(&r), None).is_ok());
        assert!(of("staging", "a", Some(&r), None).is_err());
        let bare = replication("r", "a", None);
        assert!(of("staging", "a", Some(&bare), None).is_ok());
        let listed = [
            replication("z", "a", None),
            replication("b", "a", None),
            replication("c", "x", None),
        ];
        let names: Vec<_> = linked_to("a", &listed)
            .iter()
            .map(|r| r.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["b", "z"]);
    }

    proptest! {
        /// Lists hold exactly the objects of the BigPeer (the app), sorted by name.
        #[test]
        fn lists_filter_and_sort(specs in proptest::collection::vec(("[a-z]{1,6}", 0u8..3), 0..30)) {
            let apps: Vec<BigPeerApp> = specs.iter().map(|(n, b)| app(n, &format!("bp{b}"), None)).collect();
            let keys: Vec<BigPeerApiKey> = specs.iter().map(|(n, b)| key(n, &format!("app{b}"), None)).collect();
            for b in 0..3u8 {
                let listed = apps_of(&format!("bp{b}"), &apps);
                prop_assert_eq!(listed.len(), specs.iter().filter(|s| s.1 == b).count());
                prop_assert!(listed.windows(2).all(|w| w[0].metadata.name <= w[1].metadata.name));
                let listed = keys_of(&format!("app{b}"), &keys);
                prop_assert_eq!(listed.len(), specs.iter().filter(|s| s.1 == b).count());
                prop_assert!(listed.windows(2).all(|w| w[0].metadata.name <= w[1].metadata.name));
            }
        }
    }
}
