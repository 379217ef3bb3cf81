//! Apps: which apps a BigPeer serves (an app ID is served once, by the oldest app that claims
//! it), an app's client endpoints, and its `Ready` condition and status. Pure.

use std::cmp::Ordering;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{AppEndpoints, BigPeer, BigPeerApp, BigPeerAppStatus};

/// What the app controller observed of an app's world.
#[derive(Clone, Debug, Default)]
pub struct AppObserved<'a> {
    /// The BigPeer named in `spec.bigPeerRef`, if it exists.
    pub big_peer: Option<&'a BigPeer>,
    /// The other apps of the namespace.
    pub others: Vec<&'a BigPeerApp>,
    /// Anonymous providers whose shared token is missing: (provider, Secret, key).
    pub missing_tokens: Vec<(String, String, String)>,
}

/// The app ID of `app`, as compared (UUIDs in any case are the same ID).
fn id(app: &BigPeerApp) -> Option<String> {
    app.spec.app_id.as_ref().map(|s| s.to_ascii_lowercase())
}

/// Older first: by creation time, then by name.
fn age(a: &BigPeerApp, b: &BigPeerApp) -> Ordering {
    let created = |x: &BigPeerApp| x.metadata.creation_timestamp.as_ref().map(|t| t.0);
    match (created(a), created(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => a.name_any().cmp(&b.name_any()),
    }
}

/// The older app of the same BigPeer that holds `app`'s ID, if any: then `app` is not served.
pub fn conflict<'a>(app: &BigPeerApp, others: &[&'a BigPeerApp]) -> Option<&'a BigPeerApp> {
    let mine = id(app)?;
    others
        .iter()
        .copied()
        .filter(|o| o.name_any() != app.name_any())
        .filter(|o| o.spec.big_peer_ref.name == app.spec.big_peer_ref.name)
        .filter(|o| id(o).as_ref() == Some(&mine))
        .filter(|o| age(o, app) == Ordering::Less)
        .min_by(|a, b| age(a, b))
}

/// Of the apps naming BigPeer `bp`, those the servers get, by name: each with an app ID, and
/// an app ID only once (the oldest app that claims it keeps it).
pub fn served<'a>(bp: &str, apps: &[&'a BigPeerApp]) -> Vec<&'a BigPeerApp> {
    let mine: Vec<&BigPeerApp> = apps
        .iter()
        .copied()
        .filter(|a| a.spec.big_peer_ref.name == bp && id(a).is_some())
        .collect();
    let mut out: Vec<&BigPeerApp> = mine
        .iter()
        .copied()
        .filter(|a| conflict(a, &mine).is_none())
        .collect();
    out.sort_by_key(|a| a.name_any());
    out
}

/// Whether one of `app`'s anonymous providers takes its shared token from Secret `secret`.
pub fn names_secret(app: &BigPeerApp, secret: &str) -> bool {
    app.spec
        .auth_providers
        .values()
        .filter_map(|p| p.anonymous.as_ref())
        .any(|a| a.shared_token_secret_ref.name == secret)
}

/// Where an app's clients connect: only when the BigPeer has a public host name.
pub fn endpoints(bp: &BigPeer) -> Option<AppEndpoints> {
    let host = bp.spec.network.hostname.as_deref()?;
    Some(AppEndpoints {
        sync: Some(format!("wss://{host}/_ditto")),
        http: Some(format!("https://{host}/api/v4/store")),
    })
}

/// The app's `Ready` condition.
pub fn ready(app: &BigPeerApp, o: &AppObserved) -> DesiredCondition {
    let bp = &app.spec.big_peer_ref.name;
    let not = |reason, message: String| {
        DesiredCondition::new(ConditionType::Ready, false, reason, message)
    };
    let Some(app_id) = &app.spec.app_id else {
        return not(
            Reason::AppIdPending,
            "the operator is generating the app ID".into(),
        );
    };
    if o.big_peer.is_none() {
        return not(
            Reason::BigPeerNotFound,
            format!(
                "BigPeer {bp} does not exist in this namespace: the app is kept and served once it does"
            ),
        );
    }
    if let Some(older) = conflict(app, &o.others) {
        return not(
            Reason::AppIdConflict,
            format!(
                "app {} of BigPeer {bp} already has app ID {app_id}: this app is not served; delete it and create it again without spec.appId",
                older.name_any()
            ),
        );
    }
    if !o.missing_tokens.is_empty() {
        let list: Vec<String> = o
            .missing_tokens
            .iter()
            .map(|(p, s, k)| format!("{p} (Secret {s}, key {k})"))
            .collect();
        return not(
            Reason::SharedTokenSecretNotFound,
            format!(
                "shared token not found for provider {}: the app is served without it",
                list.join(", ")
            ),
        );
    }
    DesiredCondition::new(
        ConditionType::Ready,
        true,
        Reason::AppServed,
        format!("served by BigPeer {bp} with app ID {app_id}"),
    )
}

/// The app's new status: its ID, endpoints and `Ready`, at `now`.
pub fn status(app: &BigPeerApp, o: &AppObserved, now: Timestamp) -> BigPeerAppStatus {
    let previous = app.status.clone().unwrap_or_default();
    let generation = app.metadata.generation.unwrap_or_default();
    BigPeerAppStatus {
        observed_generation: Some(generation),
        app_id: app.spec.app_id.clone(),
        endpoints: app.spec.app_id.as_ref().and(o.big_peer).and_then(endpoints),
        conditions: conditions::merge(
            &previous.conditions,
            &[ready(app, o)],
            generation,
            &Time(now),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BigPeerAppSpec, BigPeerRef};
    use proptest::prelude::*;

    fn app(name: &str, bp: &str, id: Option<&str>, created: i64) -> BigPeerApp {
        let mut a = BigPeerApp::new(
            name,
            BigPeerAppSpec {
                big_peer_ref: BigPeerRef { name: bp.into() },
                app_id: id.map(str::to_string),
                auth_providers: Default::default(),
            },
        );
        a.metadata.namespace = Some("ns".into());
        a.metadata.generation = Some(1);
        a.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created).unwrap()));
        a
    }

    const ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";

    #[test]
    fn the_younger_of_two_apps_with_one_id_is_not_served() {
        let old = app("b-old", "prod", Some(ID), 10);
        let young = app("a-young", "prod", Some(&ID.to_uppercase()), 20);
        let elsewhere = app("c", "other", Some(ID), 5);
        let all = [&old, &young, &elsewhere];
        assert_eq!(
            conflict(&young, &all).map(|a| a.name_any()),
            Some("b-old".into())
        );
        assert!(conflict(&old, &all).is_none());
        let served: Vec<String> = served("prod", &all).iter().map(|a| a.name_any()).collect();
        assert_eq!(served, ["b-old"]);
        let bp = crate::testing::sample();
        let o = AppObserved {
            big_peer: Some(&bp),
            others: all.to_vec(),
            missing_tokens: vec![],
        };
        let c = ready(&young, &o);
        assert_eq!((c.status, c.reason), (false, Reason::AppIdConflict));
        assert!(c.message.contains("b-old"), "{}", c.message);
        assert_eq!(ready(&old, &o).reason, Reason::AppServed);
    }

    #[test]
    fn same_second_apps_are_ordered_by_name() {
        let a = app("a", "prod", Some(ID), 10);
        let b = app("b", "prod", Some(ID), 10);
        assert!(conflict(&a, &[&a, &b]).is_none());
        assert_eq!(
            conflict(&b, &[&a, &b]).map(|x| x.name_any()),
            Some("a".into())
        );
    }

    #[test]
    fn conditions_say_what_is_missing_first() {
        let bp = crate::testing::sample();
        let pending = app("a", "prod", None, 1);
        let o = AppObserved::default();
        assert_eq!(ready(&pending, &o).reason, Reason::AppIdPending);
        let a = app("a", "prod", Some(ID), 1);
        assert_eq!(ready(&a, &o).reason, Reason::BigPeerNotFound);
        let o = AppObserved {
            big_peer: Some(&bp),
            others: vec![],
            missing_tokens: vec![("p".into(), "tok".into(), "token".into())],
        };
        let c = ready(&a, &o);
        assert_eq!(
            (c.status, c.reason),
            (false, Reason::SharedTokenSecretNotFound)
        );
        assert!(c.message.contains("p (Secret tok, key token)"));
    }

    #[test]
    fn endpoints_follow_the_public_host() {
        let mut bp = crate::testing::sample();
        bp.spec.network.hostname = None;
        assert_eq!(endpoints(&bp), None);
        bp.spec.network.hostname = Some("bp.example.com".into());
        let e = endpoints(&bp).unwrap();
        assert_eq!(e.sync.as_deref(), Some("wss://bp.example.com/_ditto"));
        assert_eq!(
            e.http.as_deref(),
            Some("https://bp.example.com/api/v4/store")
        );
        let a = app("a", "prod", Some(ID), 1);
        let s = status(
            &a,
            &AppObserved {
                big_peer: Some(&bp),
                ..Default::default()
            },
            Timestamp::from_second(5).unwrap(),
        );
        assert_eq!(s.endpoints, Some(e));
        assert_eq!(s.app_id.as_deref(), Some(ID));
        let s = status(
            &a,
            &AppObserved::default(),
            Timestamp::from_second(5).unwrap(),
        );
        assert_eq!(s.endpoints, None, "no BigPeer, no endpoints");
    }

    #[test]
    fn a_steady_app_writes_the_same_status() {
        let bp = crate::testing::sample();
        let mut a = app("a", "prod", Some(ID), 1);
        let o = AppObserved {
            big_peer: Some(&bp),
            ..Default::default()
        };
        let first = status(&a, &o, Timestamp::from_second(5).unwrap());
        a.status = Some(first.clone());
        assert_eq!(status(&a, &o, Timestamp::from_second(500).unwrap()), first);
    }

    proptest! {
        /// Whatever the apps, every app ID of a BigPeer is served at most once, by the oldest
        /// app that has it, and an app is served exactly when its condition says so.
        #[test]
        fn each_id_is_served_once_by_its_oldest_app(
            specs in proptest::collection::vec((0usize..3, 0usize..2, 0i64..5), 0..8)
        ) {
            let ids = [ID, "0b6f2a3e-6c49-4c7e-9d0c-3f4d7e9a1b20", "0B6F2A3E-6C49-4C7E-9D0C-3F4D7E9A1B20"];
            let apps: Vec<BigPeerApp> = specs.iter().enumerate().map(|(i, (id, bp, created))| {
                app(&format!("app-{i}"), ["prod", "other"][*bp], Some(ids[*id]), *created)
            }).collect();
            let refs: Vec<&BigPeerApp> = apps.iter().collect();
            let bp = crate::testing::sample();
            let served = served("prod", &refs);
            let mut seen = std::collections::BTreeSet::new();
            for s in &served {
                prop_assert!(seen.insert(id(s).unwrap()), "an ID served twice");
                prop_assert_eq!(&s.spec.big_peer_ref.name, "prod");
            }
            for a in apps.iter().filter(|a| a.spec.big_peer_ref.name == "prod") {
                let oldest = refs.iter().filter(|o| o.spec.big_peer_ref.name == "prod" && id(o) == id(a)).min_by(|x, y| age(x, y)).unwrap();
                let is_served = served.iter().any(|s| s.name_any() == a.name_any());
                prop_assert_eq!(is_served, oldest.name_any() == a.name_any());
                let o = AppObserved { big_peer: Some(&bp), others: refs.clone(), missing_tokens: vec![] };
                prop_assert_eq!(ready(a, &o).status, is_served);
            }
        }
    }
}
