//! Ditto's `BigPeerReplication` body and the `BigPeerReplication` resource, both ways. Ditto's
//! body carries `connections` and `queriesByCollection`; the resource's other fields
//! (`acceptFrom`, `trustedCas`, `expose`) travel under their own names, and its status is
//! answered as it is. Inputs are checked with the CRD's rules first, so that a refusal names
//! the field in the API's terms.

use std::collections::BTreeMap;

use super::{app_object_meta, is_collection_name, is_dns_label};
use crate::api::{AppRef, BigPeerReplication, BigPeerReplicationSpec};
use crate::mgmt::error::ApiError;
use crate::mgmt::model::{Replication, UpdateReplication};

/// Longest replication or data bridge name (objects made for it are named after it).
pub const MAX_LINK_NAME: usize = 40;

fn invalid(message: String) -> ApiError {
    ApiError::bad_request(format!("Invalid: {message}"))
}

/// Whether `c` is a `host:port` replication address as the CRD takes it: a lowercase DNS
/// name or IPv4 address, and a port from 1 to 65535.
pub fn is_connection(c: &str) -> bool {
    let Some((host, port)) = c.rsplit_once(':') else {
        return false;
    };
    let port_ok = (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    port_ok && (3..=259).contains(&c.len()) && host.split('.').all(|l| is_dns_label(l, 63))
}

/// The checked name of a new replication or data bridge.
pub fn check_link_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if is_dns_label(name, MAX_LINK_NAME) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{kind} name {name:?} must be a DNS label of at most {MAX_LINK_NAME} lowercase letters, digits and '-' (the objects made for it are named after it)"
        )))
    }
}

fn check_connections(c: &[String]) -> Result<(), ApiError> {
    if c.len() > 32 {
        return Err(invalid("connections has more than 32 addresses".into()));
    }
    for (i, a) in c.iter().enumerate() {
        if !is_connection(a) {
            return Err(invalid(format!(
                "connections[{i}] {a:?} must be a host:port address (lowercase DNS name or IPv4 address, port 1 to 65535), such as orders-replication.team-b.svc:4040"
            )));
        }
        if c[..i].contains(a) {
            return Err(invalid(format!("connections lists {a:?} twice")));
        }
    }
    Ok(())
}

fn check_queries(q: &BTreeMap<String, Vec<String>>) -> Result<(), ApiError> {
    if q.len() > 64 {
        return Err(invalid(
            "queriesByCollection has more than 64 collections".into(),
        ));
    }
    for (collection, queries) in q {
        if !is_collection_name(collection) {
            return Err(invalid(format!(
                "queriesByCollection: {collection:?} is not a collection name (1 to 128 letters, digits, '_', '-' or '.')"
            )));
        }
        if queries.len() > 32 || queries.iter().any(|q| q.is_empty() || q.len() > 4096) {
            return Err(invalid(format!(
                "queriesByCollection.{collection}: at most 32 queries of 1 to 4096 characters"
            )));
        }
    }
    Ok(())
}

fn check_spec(spec: &BigPeerReplicationSpec) -> Result<(), ApiError> {
    check_connections(&spec.connections)?;
    check_queries(&spec.queries_by_collection)?;
    if spec.accept_from.len() > 32 {
        return Err(invalid("acceptFrom has more than 32 entries".into()));
    }
    if let Some(i) = spec
        .accept_from
        .iter()
        .position(|p| p.namespace.is_some() == p.cidr.is_some())
    {
        return Err(invalid(format!(
            "acceptFrom[{i}] must set exactly one of namespace or cidr"
        )));
    }
    if spec.trusted_cas.len() > 16 {
        return Err(invalid("trustedCas has more than 16 entries".into()));
    }
    if let Some(i) = spec
        .trusted_cas
        .iter()
        .position(|t| t.secret_ref.is_some() == t.config_map_ref.is_some())
    {
        return Err(invalid(format!(
            "trustedCas[{i}] must set exactly one of secretRef or configMapRef"
        )));
    }
    Ok(())
}

/// The `BigPeerReplication` a createReplication body asks for, for app `app` of BigPeer
/// `big_peer` in `ns`.
pub fn new_replication(
    ns: &str,
    big_peer: &str,
    app: &str,
    body: &Replication,
) -> Result<BigPeerReplication, ApiError> {
    check_link_name("replication", &body.name)?;
    let spec = BigPeerReplicationSpec {
        app_ref: AppRef { name: app.into() },
        connections: body.connections.clone().unwrap_or_default(),
        queries_by_collection: body.queries_by_collection.clone().unwrap_or_default(),
        accept_from: body.accept_from.clone(),
        trusted_cas: body.trusted_cas.clone(),
        expose: body.expose.clone(),
    };
    check_spec(&spec)?;
    Ok(BigPeerReplication {
        metadata: app_object_meta(&body.name, ns, big_peer, app),
        spec,
        status: None,
    })
}

/// The API's view of a replication, with its status.
pub fn replication_to_api(r: &BigPeerReplication) -> Replication {
    Replication {
        name: r.metadata.name.clone().unwrap_or_default(),
        connections: Some(r.spec.connections.clone()),
        queries_by_collection: Some(r.spec.queries_by_collection.clone()),
        accept_from: r.spec.accept_from.clone(),
        trusted_cas: r.spec.trusted_cas.clone(),
        expose: r.spec.expose.clone(),
        status: r.status.clone(),
    }
}

/// The spec after an update of `current`: PUT (`replace`) sets `connections` and
/// `queriesByCollection` to the body's (absent or `null`: empty), PATCH only those the body
/// carries (`null`: empty); both set the additions the body carries (`null` clears one) and
/// keep the others, so that a Ditto client, which knows nothing of them, never drops the CAs a
/// replication trusts.
pub fn update_replication(
    current: &BigPeerReplicationSpec,
    body: &UpdateReplication,
    replace: bool,
) -> Result<BigPeerReplicationSpec, ApiError> {
    fn set<T: Default + Clone>(field: &mut T, sent: &Option<Option<T>>, replace: bool) {
        match sent {
            Some(v) => *field = v.clone().unwrap_or_default(),
            None if replace => *field = T::default(),
            None => {}
        }
    }
    let mut spec = current.clone();
    set(&mut spec.connections, &body.connections, replace);
    set(
        &mut spec.queries_by_collection,
        &body.queries_by_collection,
        replace,
    );
    set(&mut spec.accept_from, &body.accept_from, false);
    set(&mut spec.trusted_cas, &body.trusted_cas, false);
    if let Some(expose) = &body.expose {
        spec.expose = expose.clone();
    }
    check_spec(&spec)?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CaKeyRef, ReplicationPeer, TrustedCa};
    use crate::mgmt::convert::{APP_LABEL, BIG_PEER_LABEL};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use proptest::prelude::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> Replication {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn connections_are_host_and_port() {
        for ok in [
            "a:1",
            "orders-replication.team-b.svc:4040",
            "10.0.0.1:65535",
            "x.svc.cluster.local:4040",
        ] {
            assert!(is_connection(ok), "{ok}");
        }
        for bad in [
            "a",
            "a:0",
            "a:65536",
            "A.b:1",
            "a:123456",
            "a:-1",
            ":4040",
            "a..b:1",
            "https://a:1",
        ] {
            assert!(!is_connection(bad), "{bad}");
        }
    }

    #[test]
    fn dittos_example_makes_a_replication_of_the_paths_app() {
        let r = new_replication(
            "ns",
            "prod",
            "my-app",
            &body(
                json!({"name": "eu", "connections": ["big-peer-2.ditto.svc.cluster.local:4040"],
                         "queriesByCollection": {"cars": ["true"]}}),
            ),
        )
        .unwrap();
        assert_eq!(r.spec.app_ref.name, "my-app");
        assert_eq!(r.labels()["smbp.io/app"], "my-app");
        assert_eq!(r.labels()["smbp.io/big-peer"], "prod");
        assert_eq!(
            r.spec.connections,
            ["big-peer-2.ditto.svc.cluster.local:4040"]
        );
        let nulls = new_replication(
            "ns",
            "prod",
            "a",
            &body(json!({"name": "x", "connections": null, "queriesByCollection": null})),
        )
        .unwrap();
        assert!(nulls.spec.connections.is_empty() && nulls.spec.queries_by_collection.is_empty());
    }

    use kube::ResourceExt;

    #[test]
    fn refusals_name_the_field() {
        let err = |v| {
            new_replication("ns", "bp", "a", &body(v))
                .unwrap_err()
                .message
        };
        assert!(err(json!({"name": "A"})).contains("replication name"));
        assert!(err(json!({"name": "a".repeat(41)})).contains("at most 40"));
        assert!(err(json!({"name": "a", "connections": ["x"]})).contains("connections[0]"));
        assert!(err(json!({"name": "a", "connections": ["x:1", "x:1"]})).contains("twice"));
        assert!(
            err(json!({"name": "a", "queriesByCollection": {"a b": ["true"]}}))
                .contains("queriesByCollection")
        );
        assert!(
            err(json!({"name": "a", "queriesByCollection": {"c": [""]}}))
                .contains("queriesByCollection.c")
        );
        assert!(
            err(json!({"name": "a", "acceptFrom": [{"namespace": "x", "cidr": "10.0.0.0/8"}]}))
                .contains("acceptFrom[0]")
        );
        assert!(err(json!({"name": "a", "trustedCas": [{}]})).contains("trustedCas[0]"));
    }

    #[test]
    fn put_replaces_dittos_fields_and_keeps_the_trust_patch_sets_what_is_sent() {
        let current = BigPeerReplicationSpec {
            app_ref: AppRef { name: "a".into() },
            connections: vec!["x:1".into()],
            queries_by_collection: [("cars".to_string(), vec!["true".to_string()])].into(),
            accept_from: vec![ReplicationPeer {
                namespace: Some("b".into()),
                cidr: None,
            }],
            trusted_cas: vec![TrustedCa {
                secret_ref: None,
                config_map_ref: Some(CaKeyRef {
                    name: "ca".into(),
                    key: "ca.crt".into(),
                }),
            }],
            expose: None,
        };
        let u = |v| serde_json::from_value::<UpdateReplication>(v).unwrap();
        let put = update_replication(&current, &u(json!({"connections": ["y:2"]})), true).unwrap();
        assert_eq!(put.connections, ["y:2"]);
        assert!(put.queries_by_collection.is_empty(), "PUT: absent is empty");
        assert_eq!(put.trusted_cas, current.trusted_cas, "kept");
        assert_eq!(put.accept_from, current.accept_from, "kept");
        let patch =
            update_replication(&current, &u(json!({"connections": ["y:2"]})), false).unwrap();
        assert_eq!(patch.queries_by_collection, current.queries_by_collection);
        let cleared = update_replication(
            &current,
            &u(json!({"queriesByCollection": null, "trustedCas": null})),
            false,
        )
        .unwrap();
        assert!(cleared.queries_by_collection.is_empty() && cleared.trusted_cas.is_empty());
        assert_eq!(cleared.connections, current.connections);
        assert!(update_replication(&current, &u(json!({"connections": ["bad"]})), false).is_err());
    }

    fn spec() -> impl Strategy<Value = BigPeerReplicationSpec> {
        let host = "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z][a-z0-9]{0,5}){0,3}";
        (
            proptest::collection::btree_set((host, 1u32..65536), 0..5),
            proptest::collection::btree_map(
                "[A-Za-z_][A-Za-z0-9_.-]{0,10}",
                proptest::collection::vec("[ -~]{1,20}", 0..3),
                0..4,
            ),
            proptest::collection::vec(
                prop_oneof![
                    "[a-z][a-z0-9-]{0,10}[a-z0-9]".prop_map(|n| ReplicationPeer {
                        namespace: Some(n),
                        cidr: None
                    }),
                    (0u8..=255, 8u8..=32).prop_map(|(a, m)| ReplicationPeer {
                        namespace: None,
                        cidr: Some(format!("10.{a}.0.0/{m}"))
                    }),
                ],
                0..3,
            ),
            proptest::collection::vec(
                (
                    "[a-z][a-z0-9.-]{0,10}[a-z0-9]",
                    "[a-z.]{1,8}",
                    any::<bool>(),
                )
                    .prop_map(|(name, key, secret)| {
                        let r = Some(CaKeyRef { name, key });
                        if secret {
                            TrustedCa {
                                secret_ref: r,
                                config_map_ref: None,
                            }
                        } else {
                            TrustedCa {
                                secret_ref: None,
                                config_map_ref: r,
                            }
                        }
                    }),
                0..3,
            ),
            any::<bool>(),
        )
            .prop_map(|(c, q, a, t, none)| BigPeerReplicationSpec {
                app_ref: AppRef {
                    name: "my-app".into(),
                },
                connections: c.into_iter().map(|(h, p)| format!("{h}:{p}")).collect(),
                queries_by_collection: q,
                accept_from: a,
                trusted_cas: t,
                expose: none.then(|| crate::api::ReplicationExpose {
                    none: Some(Default::default()),
                    ..Default::default()
                }),
            })
    }

    proptest! {
        /// A replication read through the API and created from that body is the same
        /// resource; a PUT or PATCH of the body read changes nothing.
        #[test]
        fn round_trip(spec in spec(), name in "[a-z][a-z0-9-]{0,38}[a-z0-9]") {
            let cr = BigPeerReplication {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some("ns".into()),
                    labels: Some([
                        (APP_LABEL.to_string(), "my-app".to_string()),
                        (BIG_PEER_LABEL.to_string(), "prod".to_string()),
                    ].into()),
                    ..Default::default()
                },
                spec: spec.clone(),
                status: None,
            };
            let api = replication_to_api(&cr);
            let json = serde_json::to_value(&api).unwrap();
            let read: Replication = serde_json::from_value(json.clone()).unwrap();
            let again = new_replication("ns", "prod", "my-app", &read).unwrap();
            prop_assert_eq!(&again, &cr);
            let update: UpdateReplication = serde_json::from_value(json).unwrap();
            for replace in [true, false] {
                prop_assert_eq!(&update_replication(&spec, &update, replace).unwrap(), &spec);
            }
        }
    }
}
