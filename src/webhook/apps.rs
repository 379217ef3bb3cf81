//! The webhook's decisions for BigPeerApps and BigPeerApiKeys, pure: what their CRDs' CEL rules
//! cannot see, the clock and the other objects of the namespace. No client here.
//!
//! - A key's `spec.expiresAt` must be in the future when the key is created and whenever it is
//!   changed (refused otherwise): CEL has no clock. An update that leaves it as it was is never
//!   refused for it, so an expired key can still be labelled, described or deleted.
//! - An app's `spec.appId` must not be the app ID of another app of the same BigPeer (refused),
//!   when the app is created with one or the ID is set (by a user or the operator, which writes
//!   the one it generates). An update that leaves it as it was is never refused for it.
//! - An app whose BigPeer, or a key whose app, does not exist (yet) is **admitted with a
//!   warning**: a GitOps sync applies all of them at once, in an order of its own, and refusing
//!   one would fail the sync until someone re-ran it. The object waits, not Ready, until what it
//!   names exists; the warning tells a `kubectl apply` user about a typo at once.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::decide::Cause;
use crate::api::reason::Reason;
use crate::api::{BigPeerApiKey, BigPeerApp};

/// The app ID `app` has: the one in its spec, or the one the operator generated (status).
pub fn app_id(app: &BigPeerApp) -> Option<&str> {
    app.spec
        .app_id
        .as_deref()
        .or_else(|| app.status.as_ref()?.app_id.as_deref())
}

/// Whether an app with `new` as its object (and `old` before, on an update) needs the other
/// apps of its namespace read: it sets an app ID that it did not have.
pub fn needs_other_apps(new: &BigPeerApp, old: Option<&BigPeerApp>) -> bool {
    new.spec.app_id.is_some()
        && old.and_then(|o| o.spec.app_id.as_deref()) != new.spec.app_id.as_deref()
}

/// The other app of the same BigPeer that already has `app`'s app ID (compared without case:
/// a UUID's hex digits may be written either way). Apps being deleted give their ID up.
pub fn app_id_in_use(
    app: &BigPeerApp,
    old: Option<&BigPeerApp>,
    others: &[BigPeerApp],
) -> Option<Cause> {
    if !needs_other_apps(app, old) {
        return None;
    }
    let id = app.spec.app_id.as_deref()?;
    let other = others.iter().find(|o| {
        o.name_any() != app.name_any()
            && o.namespace() == app.namespace()
            && o.metadata.deletion_timestamp.is_none()
            && o.spec.big_peer_ref.name == app.spec.big_peer_ref.name
            && app_id(o).is_some_and(|i| i.eq_ignore_ascii_case(id))
    })?;
    Some(Cause::new(
        Reason::AppIdInUse,
        "spec.appId",
        format!(
            "{id:?} is already the app ID of BigPeerApp {}/{} on BigPeer {:?}: every app of a BigPeer needs an ID of its own; choose another, or leave appId out and the operator generates one",
            other.namespace().unwrap_or_default(),
            other.name_any(),
            app.spec.big_peer_ref.name
        ),
    ))
}

/// A key whose `spec.expiresAt` is not in the future at `now`, when the key is created or the
/// time changed.
pub fn expires_at_passed(
    key: &BigPeerApiKey,
    old: Option<&BigPeerApiKey>,
    now: Timestamp,
) -> Option<Cause> {
    let at = key.spec.expires_at.0;
    if old.is_some_and(|o| o.spec.expires_at.0 == at) || at > now {
        return None;
    }
    let when = if old.is_some() { "changed" } else { "created" };
    Some(Cause::new(
        Reason::ExpiresAtInPast,
        "spec.expiresAt",
        format!(
            "{at} is not in the future (the time is now {}): a key's expiry must be later than the moment it is {when}; set a later time, such as {}",
            now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now),
            suggestion(now)
        ),
    ))
}

/// A time a year from `now`, at midnight UTC, for messages.
fn suggestion(now: Timestamp) -> String {
    let year = 365 * 24 * 3600;
    let t = Timestamp::from_second(
        now.as_second() + year - (now.as_second() + year).rem_euclid(86_400),
    )
    .unwrap_or(now);
    t.to_string()
}

/// The warning for an app created for a BigPeer that does not exist.
pub fn missing_big_peer(app: &BigPeerApp) -> String {
    format!(
        "BigPeer {:?} does not exist in namespace {:?} (yet): the app is not served until it does",
        app.spec.big_peer_ref.name,
        app.namespace().unwrap_or_default()
    )
}

/// The warning for a key created for an app that does not exist.
pub fn missing_app(key: &BigPeerApiKey) -> String {
    format!(
        "BigPeerApp {:?} does not exist in namespace {:?} (yet): the key works once it does",
        key.spec.app_ref.name,
        key.namespace().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::sample_of_with;

    fn app(name: &str, patch: serde_json::Value) -> BigPeerApp {
        let mut v = sample_of_with("BigPeerApp", &patch);
        v["metadata"]["name"] = json!(name);
        serde_json::from_value(v).unwrap()
    }

    fn key(patch: serde_json::Value) -> BigPeerApiKey {
        serde_json::from_value(sample_of_with("BigPeerApiKey", &patch)).unwrap()
    }

    const ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";

    #[test]
    fn an_app_id_another_app_of_the_bigpeer_holds_is_refused() {
        let holder = app("holder", json!({"spec": {"appId": ID}}));
        let new = app("new", json!({"spec": {"appId": ID.to_uppercase()}}));
        let c = app_id_in_use(&new, None, std::slice::from_ref(&holder)).unwrap();
        assert_eq!(c.field, "spec.appId");
        assert_eq!(c.reason, Reason::AppIdInUse);
        assert!(c.message.contains("bigpeer/holder"), "{}", c.message);

        // The ID the operator generated (status) counts too.
        let mut generated = app("generated", json!({}));
        generated.status = Some(crate::api::BigPeerAppStatus {
            app_id: Some(ID.into()),
            ..Default::default()
        });
        assert!(app_id_in_use(&new, None, &[generated]).is_some());

        // Not: the app itself, another BigPeer's app, another namespace, an app being deleted,
        // an app without an ID, an update that keeps the ID.
        assert_eq!(
            app_id_in_use(&holder, None, std::slice::from_ref(&holder)),
            None
        );
        let elsewhere = app(
            "e",
            json!({"spec": {"appId": ID, "bigPeerRef": {"name": "staging"}}}),
        );
        assert_eq!(app_id_in_use(&new, None, &[elsewhere]), None);
        let other_ns = app(
            "o",
            json!({"metadata": {"namespace": "other"}, "spec": {"appId": ID}}),
        );
        assert_eq!(app_id_in_use(&new, None, &[other_ns]), None);
        let mut going = holder.clone();
        going.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::UNIX_EPOCH),
        );
        assert_eq!(app_id_in_use(&new, None, &[going]), None);
        assert_eq!(
            app_id_in_use(&app("n", json!({})), None, std::slice::from_ref(&holder)),
            None
        );
        assert_eq!(
            app_id_in_use(&new, Some(&new), std::slice::from_ref(&holder)),
            None
        );
        // An update that sets the ID is checked.
        assert!(
            app_id_in_use(
                &new,
                Some(&app("new", json!({}))),
                std::slice::from_ref(&holder)
            )
            .is_some()
        );
    }

    #[test]
    fn other_apps_are_read_only_when_an_id_is_set() {
        let with = app("a", json!({"spec": {"appId": ID}}));
        let without = app("a", json!({}));
        assert!(needs_other_apps(&with, None));
        assert!(needs_other_apps(&with, Some(&without)));
        assert!(!needs_other_apps(&with, Some(&with)));
        assert!(!needs_other_apps(&without, None));
    }

    #[test]
    fn expires_at_must_be_in_the_future_when_created_or_changed() {
        let now: Timestamp = "2030-06-01T12:00:00Z".parse().unwrap();
        let past = key(json!({"spec": {"expiresAt": "2030-06-01T11:59:59Z"}}));
        let at_now = key(json!({"spec": {"expiresAt": "2030-06-01T12:00:00Z"}}));
        let future = key(json!({"spec": {"expiresAt": "2030-06-01T12:00:01Z"}}));
        let c = expires_at_passed(&past, None, now).unwrap();
        assert_eq!(c.field, "spec.expiresAt");
        assert_eq!(c.reason, Reason::ExpiresAtInPast);
        assert!(
            c.message
                .contains("2030-06-01T11:59:59Z is not in the future"),
            "{}",
            c.message
        );
        assert!(c.message.contains("2031-06-01T00:00:00Z"), "{}", c.message);
        assert!(expires_at_passed(&at_now, None, now).is_some());
        assert_eq!(expires_at_passed(&future, None, now), None);
        // Updates: only a changed time is checked, so an expired key can still be edited.
        assert_eq!(expires_at_passed(&past, Some(&past), now), None);
        assert!(
            expires_at_passed(&past, Some(&future), now)
                .unwrap()
                .message
                .contains("changed")
        );
        assert_eq!(expires_at_passed(&future, Some(&past), now), None);
    }

    #[test]
    fn warnings_name_what_is_missing_and_stay_short() {
        let w = missing_big_peer(&app("a", json!({})));
        assert!(w.contains("\"prod\"") && w.contains("\"bigpeer\""), "{w}");
        let k = missing_app(&key(json!({})));
        assert!(k.contains("\"my-app\""), "{k}");
        // Kubernetes asks for warnings of at most 120 characters where possible.
        assert!(w.len() <= 120 && k.len() <= 120, "{w} / {k}");
    }
}
