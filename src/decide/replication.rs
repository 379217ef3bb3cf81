//! Replications: a replication's status (app ID, endpoint, the CA to share, what is trusted,
//! each connection's state) and its `Ready` and `Degraded` conditions, from what the
//! controller observed. Pure.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde_json::Value;

use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{
    BigPeerReplication, BigPeerReplicationStatus, ConnectionStatus, PEER_PORT, ReplicationEndpoint,
};
use crate::build::replication::network_policy::{Target, connection};
use crate::build::replication::trust::{Certificate, Parsed};
use crate::build::replication::{self as build, Exposure};

/// What became of a `spec.trustedCas` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedSource {
    /// The source, in words: `ConfigMap bigpeer-eu-ca (key ca.crt)`.
    pub source: String,
    /// Its certificates, or `None` when the object or key does not exist.
    pub found: Option<Parsed>,
}

/// What the controller saw of an in-cluster connection's Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The Service has ready endpoints.
    Ready,
    /// The Service exists with no ready endpoint.
    NotReady,
    /// No such Service.
    NotFound,
    /// The operator may not read there (why).
    Unknown(String),
}

/// The app as the replication sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppState {
    /// No such app.
    Missing,
    /// The app exists but its BigPeer does not.
    NoBigPeer(String),
    /// The app exists and its BigPeer too, but does not serve it (why).
    NotServed(String),
    /// Served by BigPeer `.0` with app ID `.1`.
    Served(String, String),
}

/// Everything the replication's status is decided from.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// The app.
    pub app: AppState,
    /// The exposure (resolved against the BigPeer, when it exists).
    pub exposure: Option<Exposure>,
    /// Whether the exposure's API is served.
    pub exposure_api: bool,
    /// This BigPeer's CA certificate, once its Secret has one.
    pub ca: Option<Certificate>,
    /// The CA Secret, for messages.
    pub ca_secret: String,
    /// The trusted sources, in `spec.trustedCas` order.
    pub trusted: Vec<TrustedSource>,
    /// Per connection address, what was seen of it (in-cluster ones only).
    pub seen: Vec<(String, Seen)>,
    /// The endpoint Service as it is.
    pub service: Option<Service>,
    /// The TLSRoute or Route as it is.
    pub route: Option<Value>,
}

/// The address peers outside the cluster use, or what it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum External {
    /// Inside the cluster only.
    None,
    /// `host:port`.
    Address(String),
    /// The node port, on every node's address.
    NodePort(i32),
    /// Not yet: why.
    Pending(String),
}

fn accepted(route: &Value, list: &str, condition: &str) -> bool {
    route
        .pointer(&format!("/status/{list}"))
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items.iter().any(|i| {
                i["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == condition && c["status"] == "True")
                })
            })
        })
}

/// The external address of the exposure, from the Service and route as observed.
pub fn external(exposure: &Exposure, service: Option<&Service>, route: Option<&Value>) -> External {
    match exposure {
        Exposure::ClusterIp(_) => External::None,
        Exposure::LoadBalancer(_) => {
            let ingress = service
                .and_then(|s| s.status.as_ref())
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .and_then(|i| i.first());
            match ingress.and_then(|i| i.hostname.clone().or_else(|| i.ip.clone())) {
                Some(host) => External::Address(format!("{host}:{PEER_PORT}")),
                None => External::Pending(
                    "the load balancer has not given the Service an address yet".into(),
                ),
            }
        }
        Exposure::NodePort(_) => {
            let port = service
                .and_then(|s| s.spec.as_ref())
                .and_then(|s| s.ports.as_ref())
                .and_then(|p| p.first())
                .and_then(|p| p.node_port);
            match port {
                Some(p) => External::NodePort(p),
                None => External::Pending("the Service has no node port yet".into()),
            }
        }
        Exposure::Gateway { hostname, parents } => match route {
            Some(r) if accepted(r, "parents", "Accepted") => {
                let port = parents.iter().find_map(|p| p.port).unwrap_or(443);
                External::Address(format!("{hostname}:{port}"))
            }
            _ => External::Pending(format!(
                "no Gateway has accepted TLSRoute {} yet: its Gateway needs a TLS listener in Passthrough mode that allows routes from this namespace",
                route
                    .and_then(|r| r["metadata"]["name"].as_str())
                    .unwrap_or("(not created)")
            )),
        },
        Exposure::Route(_) => {
            let host = route
                .filter(|r| accepted(r, "ingress", "Admitted"))
                .and_then(|r| r.pointer("/status/ingress/0/host"))
                .and_then(Value::as_str)
                .or_else(|| {
                    route
                        .filter(|r| accepted(r, "ingress", "Admitted"))
                        .and_then(|r| r.pointer("/spec/host"))
                        .and_then(Value::as_str)
                });
            match host {
                Some(h) => External::Address(format!("{h}:443")),
                None => External::Pending("the router has not admitted the Route yet".into()),
            }
        }
    }
}

/// Each connection's state, in `spec.connections` order.
pub fn connections(r: &BigPeerReplication, seen: &[(String, Seen)]) -> Vec<ConnectionStatus> {
    r.spec
        .connections
        .iter()
        .map(|address| {
            let in_cluster =
                connection(address).is_some_and(|c| matches!(c.target, Target::Service { .. }));
            let (state, message) = if !in_cluster {
                (
                    "External",
                    Some("outside the cluster: the operator cannot see it".to_string()),
                )
            } else {
                match seen.iter().find(|(a, _)| a == address).map(|(_, s)| s) {
                    Some(Seen::Ready) => ("Ready", None),
                    Some(Seen::NotReady) => (
                        "NotReady",
                        Some("the Service has no ready endpoint".to_string()),
                    ),
                    Some(Seen::NotFound) => ("NotFound", Some("no such Service".to_string())),
                    Some(Seen::Unknown(why)) => ("Unknown", Some(why.clone())),
                    None => ("Unknown", Some("not observed yet".to_string())),
                }
            };
            ConnectionStatus {
                address: address.clone(),
                state: state.into(),
                message,
            }
        })
        .collect()
}

fn trust_troubles(o: &Observed) -> (Vec<String>, Vec<String>) {
    let mut missing = vec![];
    let mut invalid = vec![];
    for t in &o.trusted {
        match &t.found {
            None => missing.push(t.source.clone()),
            Some(p) => {
                let mut why = vec![];
                if p.certificates.is_empty() {
                    why.push("no valid certificate".to_string());
                }
                if p.invalid > 0 {
                    why.push(format!(
                        "{} unreadable CERTIFICATE block(s) dropped",
                        p.invalid
                    ));
                }
                if !p.dropped.is_empty() {
                    why.push(format!(
                        "{} dropped (only certificates reach the servers)",
                        p.dropped.join(", ")
                    ));
                }
                if !why.is_empty() {
                    invalid.push(format!("{}: {}", t.source, why.join("; ")));
                }
            }
        }
    }
    (missing, invalid)
}

fn api_missing(e: &Exposure) -> Reason {
    match e {
        Exposure::Route(_) => Reason::RouteAPINotInstalled,
        _ => Reason::GatewayAPINotInstalled,
    }
}

fn api_message(e: &Exposure) -> String {
    match e {
        Exposure::Route(_) => "the exposure is an OpenShift Route, but the cluster does not serve route.openshift.io/v1: the endpoint stays inside the cluster".into(),
        _ => "the exposure is a Gateway API TLSRoute, but the cluster does not serve tlsroutes in gateway.networking.k8s.io/v1 (Gateway API 1.5 or later, standard channel): the endpoint stays inside the cluster; install it, or set spec.expose".into(),
    }
}

/// `Ready` and `Degraded`.
pub fn conditions(r: &BigPeerReplication, o: &Observed) -> [DesiredCondition; 2] {
    let not = |reason, message: String| {
        DesiredCondition::new(ConditionType::Ready, false, reason, message)
    };
    let app = &r.spec.app_ref.name;
    let (missing, invalid) = trust_troubles(o);
    let bad_connections: Vec<String> = connections(r, &o.seen)
        .into_iter()
        .filter(|c| c.state == "NotReady" || c.state == "NotFound")
        .map(|c| format!("{} ({})", c.address, c.message.unwrap_or_default()))
        .collect();
    let exposure_missing = o
        .exposure
        .as_ref()
        .filter(|e| !o.exposure_api && e.external());
    let degraded = if !missing.is_empty() {
        Some((
            Reason::TrustedCaNotFound,
            format!("trusted CA not found: {}", missing.join(", ")),
        ))
    } else if !invalid.is_empty() {
        Some((Reason::TrustedCaInvalid, invalid.join("; ")))
    } else if let Some(e) = exposure_missing {
        Some((api_missing(e), api_message(e)))
    } else if !bad_connections.is_empty() {
        Some((
            Reason::ConnectionNotReady,
            format!("cannot connect to {}", bad_connections.join(", ")),
        ))
    } else {
        None
    };
    let degraded_condition = match &degraded {
        Some((reason, message)) => {
            DesiredCondition::new(ConditionType::Degraded, true, *reason, message.clone())
        }
        None => DesiredCondition::new(
            ConditionType::Degraded,
            false,
            Reason::AsExpected,
            "nothing needs attention",
        ),
    };
    let ready = match &o.app {
        AppState::Missing => not(
            Reason::AppNotFound,
            format!(
                "BigPeerApp {app} does not exist in this namespace: the replication starts once it does"
            ),
        ),
        AppState::NoBigPeer(bp) => not(
            Reason::BigPeerNotFound,
            format!("BigPeer {bp} of app {app} does not exist in this namespace"),
        ),
        AppState::NotServed(why) => not(
            Reason::AppNotReady,
            format!("app {app} is not served: {why}"),
        ),
        AppState::Served(bp, _) => {
            let endpoint =
                build::in_cluster_endpoint(&r.name_any(), &r.namespace().unwrap_or_default());
            let ext = o
                .exposure
                .as_ref()
                .map(|e| external(e, o.service.as_ref(), o.route.as_ref()));
            if o.ca.is_none() {
                not(
                    Reason::KeySecretMissing,
                    format!(
                        "BigPeer {bp}'s CA Secret {} has no certificate (tls.crt) yet: the CA to share is not known",
                        o.ca_secret
                    ),
                )
            } else if let Some((
                reason @ (Reason::TrustedCaNotFound | Reason::TrustedCaInvalid),
                message,
            )) = &degraded
            {
                not(*reason, message.clone())
            } else if let Some(e) = exposure_missing {
                not(api_missing(e), api_message(e))
            } else if let Some(External::Pending(why)) = &ext {
                not(
                    Reason::ExposurePending,
                    format!(
                        "reachable inside the cluster at {endpoint}; from outside not yet: {why}"
                    ),
                )
            } else {
                let outside = match &ext {
                    Some(External::Address(a)) => format!(" and {a} from outside"),
                    Some(External::NodePort(p)) => {
                        format!(" and node port {p} of every node from outside")
                    }
                    _ => String::new(),
                };
                DesiredCondition::new(
                    ConditionType::Ready,
                    true,
                    Reason::Replicating,
                    format!(
                        "the subscription servers of BigPeer {bp} replicate app {app} at {endpoint}{outside}, with {} connection(s) and {} trusted certificate(s)",
                        r.spec.connections.len(),
                        fingerprints(o).len()
                    ),
                )
            }
        }
    };
    [ready, degraded_condition]
}

/// The fingerprints of the certificates trusted, each once, in the order found.
pub fn fingerprints(o: &Observed) -> Vec<String> {
    let parsed: Vec<&Parsed> = o.trusted.iter().filter_map(|t| t.found.as_ref()).collect();
    crate::build::replication::trust::bundle(parsed)
        .into_iter()
        .map(|c| c.fingerprint)
        .collect()
}

/// The replication's new status at `now`.
pub fn status(r: &BigPeerReplication, o: &Observed, now: Timestamp) -> BigPeerReplicationStatus {
    let previous = r.status.clone().unwrap_or_default();
    let generation = r.metadata.generation.unwrap_or_default();
    let served = matches!(o.app, AppState::Served(..));
    let ns = r.namespace().unwrap_or_default();
    let endpoint = served.then(|| ReplicationEndpoint {
        in_cluster: Some(build::in_cluster_endpoint(&r.name_any(), &ns)),
        external: o.exposure.as_ref().and_then(|e| {
            match external(e, o.service.as_ref(), o.route.as_ref()) {
                External::Address(a) => Some(a),
                _ => None,
            }
        }),
    });
    let ca = o.ca.as_ref().filter(|_| served);
    BigPeerReplicationStatus {
        observed_generation: Some(generation),
        app_id: match &o.app {
            AppState::Served(_, id) => Some(id.clone()),
            _ => None,
        },
        endpoint,
        ca_config_map_name: ca.map(|_| build::ca_config_map_name(&r.name_any())),
        ca_fingerprint: ca.map(|c| c.fingerprint.clone()),
        trusted_ca_fingerprints: fingerprints(o),
        connections: connections(r, &o.seen),
        conditions: conditions::merge(
            &previous.conditions,
            &conditions(r, o),
            generation,
            &Time(now),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::replication::tests::replication;
    use crate::build::replication::trust::{parse, tests::ca_pem};
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    use serde_json::json;

    const ID: &str = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11";

    fn served() -> AppState {
        AppState::Served("prod".into(), ID.into())
    }

    fn observed(r: &BigPeerReplication) -> Observed {
        let bp = crate::testing::sample();
        Observed {
            app: served(),
            exposure: Some(build::exposure(r, &bp)),
            exposure_api: true,
            ca: parse(&ca_pem("own")).certificates.pop(),
            ca_secret: "prod-ca".into(),
            trusted: vec![],
            seen: vec![],
            service: None,
            route: None,
        }
    }

    fn reasons(c: &[DesiredCondition; 2]) -> (bool, Reason, bool, Reason) {
        (c[0].status, c[0].reason, c[1].status, c[1].reason)
    }

    #[test]
    fn ready_says_what_is_missing_first() {
        let r = replication("orders", json!({}));
        let mut o = observed(&r);
        let ok = conditions(&r, &o);
        assert_eq!(
            reasons(&ok),
            (true, Reason::Replicating, false, Reason::AsExpected)
        );
        assert!(
            ok[0]
                .message
                .contains("orders-replication.bigpeer.svc:4040"),
            "{}",
            ok[0].message
        );
        o.app = AppState::Missing;
        assert_eq!(conditions(&r, &o)[0].reason, Reason::AppNotFound);
        o.app = AppState::NoBigPeer("prod".into());
        assert_eq!(conditions(&r, &o)[0].reason, Reason::BigPeerNotFound);
        o.app = AppState::NotServed("app ID conflict".into());
        let c = conditions(&r, &o);
        assert_eq!(c[0].reason, Reason::AppNotReady);
        assert!(c[0].message.contains("app ID conflict"));
        o.app = served();
        o.ca = None;
        assert_eq!(conditions(&r, &o)[0].reason, Reason::KeySecretMissing);
    }

    #[test]
    fn trust_troubles_are_not_ready_and_degraded() {
        let r = replication("orders", json!({}));
        let mut o = observed(&r);
        o.trusted = vec![TrustedSource {
            source: "ConfigMap peer-ca (key ca.crt)".into(),
            found: None,
        }];
        let c = conditions(&r, &o);
        assert_eq!(
            reasons(&c),
            (
                false,
                Reason::TrustedCaNotFound,
                true,
                Reason::TrustedCaNotFound
            )
        );
        assert!(c[0].message.contains("ConfigMap peer-ca (key ca.crt)"));
        // A key pasted beside the certificate: dropped, named by its label, and reported.
        let secret_body = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";
        let text = format!(
            "{}-----BEGIN PRIVATE KEY-----\n{secret_body}\n-----END PRIVATE KEY-----\n",
            ca_pem("peer")
        );
        o.trusted = vec![TrustedSource {
            source: "Secret peer-ca (key ca.crt)".into(),
            found: Some(parse(&text)),
        }];
        let c = conditions(&r, &o);
        assert_eq!(
            reasons(&c),
            (
                false,
                Reason::TrustedCaInvalid,
                true,
                Reason::TrustedCaInvalid
            )
        );
        assert!(
            c[1].message.contains("PRIVATE KEY dropped"),
            "{}",
            c[1].message
        );
        assert!(!c[1].message.contains(secret_body));
        let s = status(&r, &o, Timestamp::from_second(1).unwrap());
        assert_eq!(s.trusted_ca_fingerprints.len(), 1);
        assert!(!serde_json::to_string(&s).unwrap().contains(secret_body));
        // No certificate at all.
        o.trusted[0].found = Some(parse("nothing"));
        assert!(
            conditions(&r, &o)[1]
                .message
                .contains("no valid certificate")
        );
    }

    #[test]
    fn connections_are_seen_where_the_operator_may_look() {
        let r = replication(
            "orders",
            json!({"connections": ["a.team-b.svc:4040", "b.team-c.svc:4040", "c.team-d.svc.cluster.local:4040", "d.secret.svc:4040", "peer.example.com:4040", "10.0.0.1:4040"]}),
        );
        let mut o = observed(&r);
        o.seen = vec![
            ("a.team-b.svc:4040".into(), Seen::Ready),
            ("b.team-c.svc:4040".into(), Seen::NotReady),
            ("c.team-d.svc.cluster.local:4040".into(), Seen::NotFound),
            (
                "d.secret.svc:4040".into(),
                Seen::Unknown("the operator may not read Services in namespace secret".into()),
            ),
        ];
        let states: Vec<String> = connections(&r, &o.seen)
            .into_iter()
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states,
            [
                "Ready", "NotReady", "NotFound", "Unknown", "External", "External"
            ]
        );
        let c = conditions(&r, &o);
        assert_eq!(
            reasons(&c),
            (true, Reason::Replicating, true, Reason::ConnectionNotReady)
        );
        assert!(c[1].message.contains("b.team-c.svc:4040"));
        assert!(c[1].message.contains("c.team-d.svc.cluster.local:4040"));
        assert!(
            !c[1].message.contains("d.secret.svc"),
            "Unknown is not trouble"
        );
        // Nothing observed yet: Unknown, not an error.
        o.seen.clear();
        assert_eq!(
            reasons(&conditions(&r, &o)),
            (true, Reason::Replicating, false, Reason::AsExpected)
        );
    }

    #[test]
    fn external_addresses_come_from_the_exposure_once_known() {
        let mut bp = crate::testing::sample();
        bp.spec.network.expose = serde_json::from_value(json!({"loadBalancer": {}})).unwrap();
        let r = replication("orders", json!({}));
        let mut o = observed(&r);
        o.exposure = Some(build::exposure(&r, &bp));
        let c = conditions(&r, &o);
        assert_eq!(c[0].reason, Reason::ExposurePending);
        let mut svc = build::service(&r, &bp, o.exposure.as_ref().unwrap());
        svc.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![LoadBalancerIngress {
                    ip: Some("203.0.113.7".into()),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        });
        o.service = Some(svc);
        let s = status(&r, &o, Timestamp::from_second(1).unwrap());
        let e = s.endpoint.unwrap();
        assert_eq!(e.external.as_deref(), Some("203.0.113.7:4040"));
        assert_eq!(
            e.in_cluster.as_deref(),
            Some("orders-replication.bigpeer.svc:4040")
        );
        assert_eq!(s.conditions[0].reason, "Replicating");
        // Gateway: accepted by a parent; not served: not installed, degraded.
        bp.spec.network.expose = serde_json::from_value(
            json!({"gatewayAPI": {"parentRefs": [{"name": "gw", "port": 8443}]}}),
        )
        .unwrap();
        bp.spec.network.hostname = Some("bp.example.com".into());
        o.exposure = Some(build::exposure(&r, &bp));
        o.service = None;
        assert_eq!(conditions(&r, &o)[0].reason, Reason::ExposurePending);
        o.route = Some(
            json!({"metadata": {"name": "orders-replication"}, "status": {"parents": [{"conditions": [{"type": "Accepted", "status": "True"}]}]}}),
        );
        let s = status(&r, &o, Timestamp::from_second(1).unwrap());
        assert_eq!(
            s.endpoint.unwrap().external.as_deref(),
            Some("orders-replication.bp.example.com:443"),
            "the BigPeer's listener port is not the TLS listener's"
        );
        o.exposure_api = false;
        assert_eq!(
            reasons(&conditions(&r, &o)),
            (
                false,
                Reason::GatewayAPINotInstalled,
                true,
                Reason::GatewayAPINotInstalled
            )
        );
        // Route: admitted, with the router's host.
        let route = Exposure::Route(None);
        let admitted = json!({"status": {"ingress": [{"host": "r.apps.example.com", "conditions": [{"type": "Admitted", "status": "True"}]}]}});
        assert_eq!(
            external(&route, None, Some(&admitted)),
            External::Address("r.apps.example.com:443".into())
        );
        assert!(matches!(external(&route, None, None), External::Pending(_)));
        // NodePort: the port once allocated.
        bp.spec.network.expose = serde_json::from_value(json!({"nodePort": {}})).unwrap();
        let e = build::exposure(&r, &bp);
        let mut svc = build::service(&r, &bp, &e);
        assert!(matches!(
            external(&e, Some(&svc), None),
            External::Pending(_)
        ));
        svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(31000);
        assert_eq!(external(&e, Some(&svc), None), External::NodePort(31000));
    }

    #[test]
    fn the_status_shares_the_ca_only_when_served() {
        let r = replication("orders", json!({}));
        let mut o = observed(&r);
        let s = status(&r, &o, Timestamp::from_second(1).unwrap());
        assert_eq!(s.app_id.as_deref(), Some(ID));
        assert_eq!(
            s.ca_config_map_name.as_deref(),
            Some("orders-replication-ca")
        );
        assert_eq!(
            s.ca_fingerprint.as_deref(),
            Some(o.ca.as_ref().unwrap().fingerprint.as_str())
        );
        assert!(s.ca_fingerprint.unwrap().starts_with("sha256:"));
        o.app = AppState::Missing;
        let s = status(&r, &o, Timestamp::from_second(1).unwrap());
        assert_eq!(
            (s.app_id, s.endpoint, s.ca_config_map_name),
            (None, None, None)
        );
    }

    #[test]
    fn a_steady_replication_writes_the_same_status() {
        let mut r = replication("orders", json!({"connections": ["a.b.svc:4040"]}));
        let o = Observed {
            seen: vec![("a.b.svc:4040".into(), Seen::Ready)],
            ..observed(&r)
        };
        let first = status(&r, &o, Timestamp::from_second(5).unwrap());
        r.status = Some(first.clone());
        assert_eq!(status(&r, &o, Timestamp::from_second(500).unwrap()), first);
    }
}
