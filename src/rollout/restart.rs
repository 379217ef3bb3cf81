//! Restarts on request: `kubectl smbp restart` (or anyone) sets a restart annotation on the
//! BigPeer with a timestamp, and the operator copies the latest request that applies to a
//! component into that component's pod template ([`RESTARTED_AT`]). A changed template is a
//! new revision, so the pods roll through the ordinary machinery: the Deployments' rolling
//! update, and the store's pod-by-pod rollout under its rules ([`super::store`]).
//!
//! Idempotent by construction: the template carries the request's value, so the same value
//! builds the same template and rolls nothing; a new value rolls once. The request lives in
//! the BigPeer, so it survives operator restarts.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use crate::api::Component;

/// BigPeer annotation: restart every component (an RFC 3339 time, usually "now").
pub const RESTART_ANNOTATION: &str = "smbp.io/restart";

/// Pod template annotation holding the restart request the pods were built for.
pub const RESTARTED_AT: &str = "smbp.io/restarted-at";

/// BigPeer annotation that restarts one component: `smbp.io/restart-store`,
/// `smbp.io/restart-subscription` or `smbp.io/restart-api`.
pub fn component_annotation(c: Component) -> String {
    format!("{RESTART_ANNOTATION}-{}", c.as_str())
}

/// A restart annotation's value, if it is an RFC 3339 time.
fn parse(v: &str) -> Option<Timestamp> {
    v.trim().parse::<Timestamp>().ok()
}

/// The restart request in force for a component: the later of the BigPeer-wide and the
/// component's own annotation, as written (values that are not RFC 3339 times are ignored;
/// see [`invalid`]).
pub fn requested(annotations: &BTreeMap<String, String>, c: Component) -> Option<String> {
    [
        annotations.get(RESTART_ANNOTATION),
        annotations.get(&component_annotation(c)),
    ]
    .into_iter()
    .flatten()
    .filter_map(|v| parse(v).map(|t| (t, v)))
    .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
    .map(|(_, v)| v.trim().to_string())
}

/// Restart annotations whose value is not an RFC 3339 time (and so restart nothing).
pub fn invalid(annotations: &BTreeMap<String, String>) -> Vec<String> {
    std::iter::once(RESTART_ANNOTATION.to_string())
        .chain(Component::ALL.into_iter().map(component_annotation))
        .filter(|k| annotations.get(k).is_some_and(|v| parse(v).is_none()))
        .collect()
}

/// The restart requests not yet carried out: the components whose workload exists and whose
/// pod template holds another request than the one in force (`current` maps a component
/// to its workload's [`RESTARTED_AT`], `None` for a workload that does not exist).
pub fn new_requests(
    annotations: &BTreeMap<String, String>,
    current: &BTreeMap<Component, Option<Option<String>>>,
) -> Vec<(Component, String)> {
    Component::ALL
        .into_iter()
        .filter_map(|c| {
            let want = requested(annotations, c)?;
            let Some(Some(existing)) = current.get(&c) else {
                return None;
            };
            (existing.as_deref() != Some(want.as_str())).then_some((c, want))
        })
        .collect()
}

/// The annotations `kubectl smbp restart` merges into a BigPeer: the component's own, or the
/// BigPeer-wide one, set to `at`.
pub fn request(component: Option<Component>, at: Timestamp) -> (String, String) {
    let key = component.map_or_else(|| RESTART_ANNOTATION.to_string(), component_annotation);
    (key, at.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const T1: &str = "2026-01-01T10:00:00Z";
    const T2: &str = "2026-01-01T11:00:00Z";

    #[test]
    fn no_annotation_requests_nothing() {
        for c in Component::ALL {
            assert_eq!(requested(&BTreeMap::new(), c), None);
        }
    }

    #[test]
    fn the_later_of_the_global_and_the_component_request_wins() {
        let a = ann(&[("smbp.io/restart", T1), ("smbp.io/restart-store", T2)]);
        assert_eq!(requested(&a, Component::Store).as_deref(), Some(T2));
        assert_eq!(requested(&a, Component::Api).as_deref(), Some(T1));
        let a = ann(&[("smbp.io/restart", T2), ("smbp.io/restart-store", T1)]);
        assert_eq!(requested(&a, Component::Store).as_deref(), Some(T2));
    }

    #[test]
    fn a_component_request_touches_that_component_only() {
        let a = ann(&[("smbp.io/restart-api", T1)]);
        assert_eq!(requested(&a, Component::Api).as_deref(), Some(T1));
        assert_eq!(requested(&a, Component::Store), None);
        assert_eq!(requested(&a, Component::Subscription), None);
    }

    #[test]
    fn values_that_are_not_times_are_ignored_and_named() {
        let a = ann(&[("smbp.io/restart", "now"), ("smbp.io/restart-api", T1)]);
        assert_eq!(requested(&a, Component::Store), None);
        assert_eq!(requested(&a, Component::Api).as_deref(), Some(T1));
        assert_eq!(invalid(&a), ["smbp.io/restart"]);
        assert!(invalid(&ann(&[("smbp.io/restart", T1)])).is_empty());
    }

    #[test]
    fn new_requests_are_those_the_templates_do_not_carry_yet() {
        let a = ann(&[("smbp.io/restart", T1), ("smbp.io/restart-store", T2)]);
        let current: BTreeMap<_, _> = [
            (Component::Store, Some(Some(T1.to_string()))),
            (Component::Subscription, Some(Some(T1.to_string()))),
            (Component::Api, Some(None)),
        ]
        .into();
        assert_eq!(
            new_requests(&a, &current),
            [
                (Component::Store, T2.to_string()),
                (Component::Api, T1.to_string())
            ]
        );
        // A workload that does not exist yet is built with the request: nothing to tell.
        let none: BTreeMap<_, _> = [(Component::Store, None)].into();
        assert!(new_requests(&a, &none).is_empty());
    }

    #[test]
    fn request_writes_the_component_or_global_annotation() {
        let t: Timestamp = T1.parse().unwrap();
        assert_eq!(request(None, t), ("smbp.io/restart".into(), T1.into()));
        assert_eq!(
            request(Some(Component::Subscription), t),
            ("smbp.io/restart-subscription".into(), T1.into())
        );
    }

    fn component() -> impl Strategy<Value = Option<Component>> {
        prop_oneof![
            Just(None),
            Just(Some(Component::Store)),
            Just(Some(Component::Subscription)),
            Just(Some(Component::Api)),
        ]
    }

    proptest! {
        /// Carrying out every request, then asking again with the same annotations, asks for
        /// nothing (idempotence); a later request for a component asks for exactly the
        /// components it covers.
        #[test]
        fn requests_are_idempotent_and_scoped(
            reqs in proptest::collection::vec((component(), 0i64..1_000_000), 0..6),
            next in (component(), 1_000_000i64..2_000_000),
        ) {
            let mut a = BTreeMap::new();
            for (c, s) in &reqs {
                let (k, v) = request(*c, Timestamp::from_second(*s).unwrap());
                a.insert(k, v);
            }
            let carried: BTreeMap<_, _> = Component::ALL
                .into_iter()
                .map(|c| (c, Some(requested(&a, c))))
                .collect();
            prop_assert!(new_requests(&a, &carried).is_empty());
            let (c, s) = next;
            let (k, v) = request(c, Timestamp::from_second(s).unwrap());
            a.insert(k, v.clone());
            let asked: Vec<Component> = new_requests(&a, &carried).into_iter().map(|(c, w)| {
                assert_eq!(w, v);
                c
            }).collect();
            let expected: Vec<Component> = match c {
                None => Component::ALL.to_vec(),
                Some(c) => vec![c],
            };
            prop_assert_eq!(asked, expected);
        }
    }
}
