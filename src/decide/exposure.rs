//! From the exposure objects' status, purely: the `Exposed` condition and `status.exposure`
//! (mode, client URLs, TLS state). One function per exposure mode.

use kube::ResourceExt;
use kube::api::DynamicObject;
use serde_json::Value;

use super::observed::{ExposureObserved, Integrations, condition_in};
use crate::api::conditions::{ConditionType as T, DesiredCondition as C};
use crate::api::reason::Reason;
use crate::api::{
    BigPeer, EndpointStatus, ExposureMode, ExposureStatus, ExposureTls, RouteTermination,
};
use crate::build::exposure::{PATHS, PublicPath, tls_secret};
use crate::build::names;

/// TLS states reported in `status.exposure.tls`.
pub mod tls_state {
    /// No TLS on the public endpoint.
    pub const DISABLED: &str = "Disabled";
    /// The certificate is not there yet.
    pub const PENDING: &str = "Pending";
    /// The certificate is in place.
    pub const READY: &str = "Ready";
    /// TLS is terminated by a Gateway whose certificate the operator does not manage.
    pub const EXTERNAL: &str = "External";
}

fn urls(scheme_tls: bool, authority: &str, paths: &[(&PublicPath, String)]) -> Vec<EndpointStatus> {
    paths
        .iter()
        .map(|(p, auth)| {
            let ws = p.name == "sync";
            let scheme = match (ws, scheme_tls) {
                (true, true) => "wss",
                (true, false) => "ws",
                (false, true) => "https",
                (false, false) => "http",
            };
            let authority = if auth.is_empty() { authority } else { auth };
            EndpointStatus {
                name: p.name.into(),
                url: format!("{scheme}://{authority}{}", p.path),
            }
        })
        .collect()
}

/// Client URLs on one host name (the path routing of Ingress, HTTPRoute and Route).
fn host_urls(tls: bool, host: &str) -> Vec<EndpointStatus> {
    let paths: Vec<(&PublicPath, String)> = PATHS.iter().map(|p| (p, String::new())).collect();
    urls(tls, host, &paths)
}

/// Client URLs on a host and per-path ports (layer-4 modes: no path routing).
fn port_urls(host: &str, port_of: impl Fn(&PublicPath) -> Option<i32>) -> Vec<EndpointStatus> {
    let paths: Vec<(&PublicPath, String)> = PATHS
        .iter()
        .filter_map(|p| port_of(p).map(|n| (p, format!("{host}:{n}"))))
        .collect();
    urls(false, host, &paths)
}

fn lb_address(
    ingress: Option<&Vec<k8s_openapi::api::core::v1::LoadBalancerIngress>>,
) -> Option<String> {
    ingress?
        .iter()
        .find_map(|i| i.hostname.clone().or_else(|| i.ip.clone()))
}

/// What one mode's objects say: client URLs, TLS state and the `Exposed` verdict.
struct Verdict {
    endpoints: Vec<EndpointStatus>,
    tls: &'static str,
    exposed: bool,
    reason: Reason,
    message: String,
}

impl Verdict {
    fn yes(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            endpoints: vec![],
            tls: tls_state::DISABLED,
            exposed: true,
            reason,
            message: message.into(),
        }
    }
    fn no(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            exposed: false,
            ..Self::yes(reason, message)
        }
    }
    fn at(mut self, endpoints: Vec<EndpointStatus>, tls: &'static str) -> Self {
        self.endpoints = endpoints;
        self.tls = tls;
        self
    }
}

/// `status.exposure` and the `Exposed` condition.
pub fn assess(
    bp: &BigPeer,
    integrations: Integrations,
    o: &ExposureObserved,
) -> (ExposureStatus, C) {
    let mode = bp.spec.network.mode();
    let v = match mode {
        ExposureMode::None => in_cluster(bp),
        ExposureMode::LoadBalancer => load_balancer(bp, o),
        ExposureMode::NodePort => node_port(bp, o),
        ExposureMode::Ingress => ingress(bp, integrations, o),
        ExposureMode::GatewayApi => gateway(bp, integrations, o),
        ExposureMode::Route => routes(bp, integrations, o),
    };
    let status = ExposureStatus {
        mode: mode.as_str().into(),
        endpoints: v.endpoints,
        tls: v.tls.into(),
    };
    (status, C::new(T::Exposed, v.exposed, v.reason, v.message))
}

fn host(bp: &BigPeer) -> String {
    bp.spec.network.hostname.clone().unwrap_or_default()
}

fn in_cluster(bp: &BigPeer) -> Verdict {
    let (name, ns) = (bp.name_any(), bp.namespace().unwrap_or_default());
    let paths: Vec<(&PublicPath, String)> = PATHS
        .iter()
        .map(|p| {
            let svc = names::component(&name, p.component);
            (p, format!("{svc}.{ns}.svc:{}", p.port))
        })
        .collect();
    Verdict::yes(
        Reason::ClusterIPOnly,
        "reachable inside the cluster only; set network.expose to publish it",
    )
    .at(urls(false, "", &paths), tls_state::DISABLED)
}

fn load_balancer(bp: &BigPeer, o: &ExposureObserved) -> Verdict {
    let svc = names::public_service(&bp.name_any());
    let address = o
        .service
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| lb_address(l.ingress.as_ref()));
    let Some(addr) = address else {
        return Verdict::no(
            Reason::WaitingForLoadBalancer,
            format!(
                "Service {svc} has no load balancer address yet; check that a load balancer implementation serves it (loadBalancerClass) and its events"
            ),
        );
    };
    let h = Some(host(bp))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| addr.clone());
    Verdict::yes(
        Reason::LoadBalancerReady,
        format!("Service {svc} has load balancer address {addr}"),
    )
    .at(port_urls(&h, |p| Some(p.port)), tls_state::DISABLED)
}

fn node_port(bp: &BigPeer, o: &ExposureObserved) -> Verdict {
    let svc = names::public_service(&bp.name_any());
    let node_port = |pname: &str| {
        o.service
            .as_ref()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.ports.as_ref())
            .and_then(|ps| ps.iter().find(|p| p.name.as_deref() == Some(pname)))
            .and_then(|p| p.node_port)
    };
    let h = Some(host(bp))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "<node-address>".into());
    let eps = port_urls(&h, |p| node_port(p.port_name));
    if eps.len() < PATHS.len() {
        return Verdict::no(
            Reason::WaitingForNodePorts,
            format!("Service {svc} has no node ports yet"),
        );
    }
    Verdict::yes(
        Reason::NodePortsAssigned,
        format!("Service {svc} has its node ports"),
    )
    .at(eps, tls_state::DISABLED)
}

/// TLS state of the Ingress, and the problem to report when it is not ready.
fn ingress_tls(
    bp: &BigPeer,
    tls: Option<&ExposureTls>,
    integrations: Integrations,
    o: &ExposureObserved,
) -> (&'static str, Option<Verdict>) {
    let Some(t) = tls else {
        return (tls_state::DISABLED, None);
    };
    let cert = names::public_tls(&bp.name_any());
    let problem = if t.cert_manager.is_some() && !integrations.cert_manager {
        Verdict::no(
            Reason::CertManagerNotInstalled,
            "network.expose.ingress.tls.certManager needs cert-manager (cert-manager.io/v1), which is not installed; install it or give tls.secretName",
        )
    } else if t.cert_manager.is_some() {
        let ready = o
            .certificate
            .as_ref()
            .and_then(|c| condition_in(&c.data["status"]["conditions"], "Ready"));
        match ready {
            Some((true, _)) => return (tls_state::READY, None),
            Some((false, m)) => Verdict::no(
                Reason::CertificateNotReady,
                format!("Certificate {cert} is not ready: {m}"),
            ),
            None => Verdict::no(
                Reason::CertificateNotReady,
                format!("waiting for cert-manager to issue Certificate {cert}"),
            ),
        }
    } else if o.tls_secret_exists {
        return (tls_state::READY, None);
    } else {
        Verdict::no(
            Reason::TLSSecretMissing,
            format!(
                "TLS Secret {} does not exist in namespace {}",
                tls_secret(bp, t),
                bp.namespace().unwrap_or_default()
            ),
        )
    };
    (tls_state::PENDING, Some(problem))
}

fn ingress(bp: &BigPeer, integrations: Integrations, o: &ExposureObserved) -> Verdict {
    let name = bp.name_any();
    let spec = bp
        .spec
        .network
        .expose
        .as_ref()
        .and_then(|e| e.ingress.clone())
        .unwrap_or_default();
    let (tls, problem) = ingress_tls(bp, spec.tls.as_ref(), integrations, o);
    let eps = host_urls(spec.tls.is_some(), &host(bp));
    let address = o
        .ingress
        .as_ref()
        .and_then(|i| i.status.as_ref())
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| {
            l.ingress
                .as_ref()?
                .iter()
                .find_map(|i| i.hostname.clone().or_else(|| i.ip.clone()))
        });
    let verdict = match (problem, address) {
        (Some(p), _) => p,
        (None, Some(addr)) => Verdict::yes(
            Reason::IngressReady,
            format!("Ingress {name} is served at {addr}"),
        ),
        (None, None) => Verdict::no(
            Reason::WaitingForIngressController,
            format!(
                "Ingress {name} has no address yet; check that an ingress controller serves class {}",
                spec.ingress_class_name
                    .as_deref()
                    .unwrap_or("(cluster default)")
            ),
        ),
    };
    verdict.at(eps, tls)
}

fn gateway(bp: &BigPeer, integrations: Integrations, o: &ExposureObserved) -> Verdict {
    if !integrations.gateway_api {
        return Verdict::no(
            Reason::GatewayAPINotInstalled,
            "network.expose.gatewayAPI needs the Gateway API (gateway.networking.k8s.io/v1), which is not installed; install its CRDs and a Gateway controller, or choose another exposure mode",
        );
    }
    let name = bp.name_any();
    let https = o.gateway_protocols.iter().any(|p| p == "HTTPS");
    let tls = if https {
        tls_state::EXTERNAL
    } else {
        tls_state::DISABLED
    };
    let eps = host_urls(https, &host(bp));
    let parents = o
        .http_route
        .as_ref()
        .and_then(|r| r.data.pointer("/status/parents"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rejected = parents.iter().find_map(|p| {
        ["Accepted", "ResolvedRefs"]
            .iter()
            .find_map(|t| match condition_in(&p["conditions"], t) {
                Some((false, m)) => Some(format!("{t} is False: {m}")),
                _ => None,
            })
    });
    let verdict = match rejected {
        _ if parents.is_empty() => Verdict::no(
            Reason::WaitingForGateway,
            format!(
                "HTTPRoute {name} is not yet accepted by a Gateway; check the parentRefs and the Gateway's allowedRoutes"
            ),
        ),
        Some(m) => Verdict::no(Reason::RouteNotAccepted, format!("HTTPRoute {name}: {m}")),
        None => Verdict::yes(
            Reason::RouteAccepted,
            format!("HTTPRoute {name} is accepted by its Gateways"),
        ),
    };
    verdict.at(eps, tls)
}

fn routes(bp: &BigPeer, integrations: Integrations, o: &ExposureObserved) -> Verdict {
    if !integrations.openshift_route {
        return Verdict::no(
            Reason::RouteAPINotInstalled,
            "network.expose.route needs OpenShift Routes (route.openshift.io/v1), which this cluster does not serve; choose another exposure mode",
        );
    }
    let route_tls = bp
        .spec
        .network
        .expose
        .as_ref()
        .and_then(|e| e.route.as_ref())
        .and_then(|r| r.tls.as_ref());
    let eps = host_urls(route_tls.is_some(), &host(bp));
    let tls = match route_tls {
        None => tls_state::DISABLED,
        Some(t) if t.termination == RouteTermination::Passthrough => tls_state::EXTERNAL,
        Some(_) => tls_state::READY,
    };
    let admitted = |r: &DynamicObject| {
        r.data
            .pointer("/status/ingress")
            .and_then(Value::as_array)?
            .iter()
            .find_map(|i| condition_in(&i["conditions"], "Admitted"))
    };
    let refused = o.routes.iter().find_map(|r| match admitted(r) {
        Some((false, m)) => Some(format!("Route {} is not admitted: {m}", r.name_any())),
        _ => None,
    });
    let waiting = o
        .routes
        .iter()
        .find(|r| admitted(r).is_none())
        .map(|r| r.name_any());
    let verdict = match (refused, waiting) {
        _ if o.routes.len() < PATHS.len() => {
            Verdict::no(Reason::WaitingForRouter, "the Routes are being created")
        }
        (Some(m), _) => Verdict::no(Reason::RouteNotAdmitted, m),
        (None, Some(r)) => Verdict::no(
            Reason::WaitingForRouter,
            format!("Route {r} is not yet admitted by a router"),
        ),
        (None, None) => Verdict::yes(
            Reason::RoutesAdmitted,
            "every Route is admitted by the router",
        ),
    };
    verdict.at(eps, tls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::*;
    use crate::thirdparty;
    use k8s_openapi::api::core::v1::{
        LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus,
    };
    use serde_json::json;

    fn bp(expose: Option<ExposeSpec>) -> BigPeer {
        let mut bp = crate::testing::sample();
        bp.spec.network.hostname = Some("bp.example.com".into());
        bp.spec.network.expose = expose;
        bp
    }

    use crate::testing::all_addons as all;

    fn dynamic(ar: kube::core::ApiResource, name: &str, status: Value) -> DynamicObject {
        let mut o = DynamicObject::new(name, &ar);
        o.data = json!({ "status": status });
        o
    }

    fn urls_of(s: &ExposureStatus) -> Vec<&str> {
        s.endpoints.iter().map(|e| e.url.as_str()).collect()
    }

    #[test]
    fn none_reports_in_cluster_urls() {
        let (s, c) = assess(&bp(None), all(), &ExposureObserved::default());
        assert!(c.status);
        assert_eq!(c.reason.as_str(), "ClusterIPOnly");
        assert_eq!(s.mode, "none");
        assert_eq!(
            urls_of(&s),
            vec![
                "http://prod-subscription.bigpeer.svc:8080/_ditto/auth",
                "ws://prod-subscription.bigpeer.svc:8080/_ditto",
                "http://prod-api.bigpeer.svc:10080/",
            ]
        );
    }

    #[test]
    fn load_balancer_waits_for_an_address_then_reports_it() {
        let b = bp(Some(ExposeSpec {
            load_balancer: Some(LoadBalancerExposure::default()),
            ..Default::default()
        }));
        let (s, c) = assess(&b, all(), &ExposureObserved::default());
        assert!(!c.status);
        assert_eq!(c.reason.as_str(), "WaitingForLoadBalancer");
        assert!(s.endpoints.is_empty());
        let svc = Service {
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(vec![LoadBalancerIngress {
                        ip: Some("203.0.113.7".into()),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let o = ExposureObserved {
            service: Some(svc),
            ..Default::default()
        };
        let (s, c) = assess(&b, all(), &o);
        assert!(c.status, "{c:?}");
        assert!(c.message.contains("203.0.113.7"));
        assert_eq!(urls_of(&s)[1], "ws://bp.example.com:8080/_ditto");
        assert_eq!(urls_of(&s)[2], "http://bp.example.com:10080/");
    }

    #[test]
    fn missing_apis_are_named_and_make_no_endpoints() {
        let gw = bp(Some(ExposeSpec {
            gateway_api: Some(GatewayApiExposure::default()),
            ..Default::default()
        }));
        let mut none = all();
        none.gateway_api = false;
        none.openshift_route = false;
        none.cert_manager = false;
        let (s, c) = assess(&gw, none, &ExposureObserved::default());
        assert_eq!(
            (c.status, c.reason.as_str()),
            (false, "GatewayAPINotInstalled")
        );
        assert!(s.endpoints.is_empty());
        let route = bp(Some(ExposeSpec {
            route: Some(RouteExposure::default()),
            ..Default::default()
        }));
        let (_, c) = assess(&route, none, &ExposureObserved::default());
        assert_eq!(c.reason.as_str(), "RouteAPINotInstalled");
        let ing = bp(Some(ExposeSpec {
            ingress: Some(IngressExposure {
                tls: Some(ExposureTls {
                    secret_name: None,
                    cert_manager: Some(PublicCertManager {
                        issuer_ref: IssuerRef {
                            name: "acme".into(),
                            kind: IssuerKind::ClusterIssuer,
                        },
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }));
        let (s, c) = assess(&ing, none, &ExposureObserved::default());
        assert_eq!(c.reason.as_str(), "CertManagerNotInstalled");
        assert_eq!(s.tls, tls_state::PENDING);
        // With cert-manager: pending until the Certificate is Ready, then TLS is Ready and
        // the Ingress address decides.
        let cert = |ready: &str| {
            dynamic(
                thirdparty::certificate(),
                "prod-public-tls",
                json!({"conditions": [{"type": "Ready", "status": ready, "message": "issuing"}]}),
            )
        };
        let o = ExposureObserved {
            certificate: Some(cert("False")),
            ..Default::default()
        };
        let (s, c) = assess(&ing, all(), &o);
        assert_eq!(
            (c.reason.as_str(), s.tls.as_str()),
            ("CertificateNotReady", "Pending")
        );
        let o = ExposureObserved {
            certificate: Some(cert("True")),
            ..Default::default()
        };
        let (s, c) = assess(&ing, all(), &o);
        assert_eq!(
            (c.reason.as_str(), s.tls.as_str()),
            ("WaitingForIngressController", "Ready")
        );
        assert_eq!(urls_of(&s)[1], "wss://bp.example.com/_ditto");
    }

    #[test]
    fn http_route_follows_the_gateways_verdict() {
        let gw = bp(Some(ExposeSpec {
            gateway_api: Some(GatewayApiExposure::default()),
            ..Default::default()
        }));
        let route = |accepted: &str| {
            dynamic(
                thirdparty::http_route(),
                "prod",
                json!({"parents": [{"conditions": [
                    {"type": "Accepted", "status": accepted, "message": "not allowed by listener"},
                    {"type": "ResolvedRefs", "status": "True", "message": ""}]}]}),
            )
        };
        let (_, c) = assess(&gw, all(), &ExposureObserved::default());
        assert_eq!(c.reason.as_str(), "WaitingForGateway");
        let o = ExposureObserved {
            http_route: Some(route("False")),
            ..Default::default()
        };
        let (_, c) = assess(&gw, all(), &o);
        assert_eq!(c.reason.as_str(), "RouteNotAccepted");
        assert!(c.message.contains("not allowed by listener"));
        let o = ExposureObserved {
            http_route: Some(route("True")),
            gateway_protocols: vec!["HTTPS".into()],
            ..Default::default()
        };
        let (s, c) = assess(&gw, all(), &o);
        assert!(c.status);
        assert_eq!(s.tls, tls_state::EXTERNAL);
        assert_eq!(urls_of(&s)[2], "https://bp.example.com/");
    }

    #[test]
    fn routes_must_all_be_admitted() {
        let b = bp(Some(ExposeSpec {
            route: Some(RouteExposure::default()),
            ..Default::default()
        }));
        let r = |name: &str, admitted: &str| {
            dynamic(
                thirdparty::openshift_route(),
                name,
                json!({"ingress": [{"conditions": [{"type": "Admitted", "status": admitted, "message": "host taken"}]}]}),
            )
        };
        let o = ExposureObserved {
            routes: vec![
                r("prod-auth", "True"),
                r("prod-sync", "False"),
                r("prod-api", "True"),
            ],
            ..Default::default()
        };
        let (s, c) = assess(&b, all(), &o);
        assert_eq!(c.reason.as_str(), "RouteNotAdmitted");
        assert!(c.message.contains("prod-sync") && c.message.contains("host taken"));
        assert_eq!(s.tls, tls_state::DISABLED);
        let o = ExposureObserved {
            routes: vec![
                r("prod-auth", "True"),
                r("prod-sync", "True"),
                r("prod-api", "True"),
            ],
            ..Default::default()
        };
        assert!(assess(&b, all(), &o).1.status);
    }
}
