//! What became of the exposure: the objects' status read back (thin), and from it, purely,
//! the `Exposed` condition and `status.exposure` (mode, client URLs, TLS state).

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DynamicObject};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::error::{Context, Result};
use super::integrations::Integrations;
use super::observe::condition_in;
use crate::api::conditions::{ConditionType as T, DesiredCondition as C};
use crate::api::{BigPeer, EndpointStatus, ExposureMode, ExposureStatus, RouteTermination};
use crate::build::exposure::{PATHS, PublicPath, tls_secret};
use crate::build::names;
use crate::thirdparty;

/// Exposure objects as the cluster reports them.
#[derive(Clone, Debug, Default)]
pub struct ExposureObserved {
    /// The `<name>-public` Service (loadBalancer, nodePort).
    pub service: Option<Service>,
    /// The Ingress (ingress).
    pub ingress: Option<Ingress>,
    /// The HTTPRoute (gatewayAPI).
    pub http_route: Option<DynamicObject>,
    /// Listener protocols of the Gateways the HTTPRoute attaches to (gatewayAPI).
    pub gateway_protocols: Vec<String>,
    /// The Routes (route).
    pub routes: Vec<DynamicObject>,
    /// cert-manager's Certificate for the host (ingress with `tls.certManager`).
    pub certificate: Option<DynamicObject>,
    /// The user's TLS Secret exists (ingress with `tls.secretName`).
    pub tls_secret_exists: bool,
}

/// Read the exposure objects of the mode in force. Only Secret metadata is read.
pub async fn observe(
    client: &Client,
    bp: &BigPeer,
    integrations: Integrations,
) -> Result<ExposureObserved> {
    let ns = bp.namespace().unwrap_or_default();
    let name = bp.name_any();
    let network = &bp.spec.network;
    let expose = network.expose.as_ref();
    let mut out = ExposureObserved::default();
    match network.mode() {
        ExposureMode::None => {}
        ExposureMode::LoadBalancer | ExposureMode::NodePort => {
            out.service = Api::<Service>::namespaced(client.clone(), &ns)
                .get_opt(&names::public_service(&name))
                .await
                .ctx(|| "reading the public Service".into())?;
        }
        ExposureMode::Ingress => {
            out.ingress = Api::<Ingress>::namespaced(client.clone(), &ns)
                .get_opt(&names::public_route(&name))
                .await
                .ctx(|| "reading the Ingress".into())?;
            let tls = expose
                .and_then(|e| e.ingress.as_ref())
                .and_then(|i| i.tls.as_ref());
            if let Some(tls) = tls {
                if tls.cert_manager.is_some() && integrations.cert_manager {
                    out.certificate = dynamic(client, &ns, thirdparty::certificate())
                        .get_opt(&names::public_tls(&name))
                        .await
                        .ctx(|| "reading the public Certificate".into())?;
                } else if tls.secret_name.is_some() {
                    out.tls_secret_exists = Api::<Secret>::namespaced(client.clone(), &ns)
                        .get_metadata_opt(&tls_secret(bp, tls))
                        .await
                        .ctx(|| "reading the TLS Secret's metadata".into())?
                        .is_some();
                }
            }
        }
        ExposureMode::GatewayApi if integrations.gateway_api => {
            out.http_route = dynamic(client, &ns, thirdparty::http_route())
                .get_opt(&names::public_route(&name))
                .await
                .ctx(|| "reading the HTTPRoute".into())?;
            for p in expose
                .and_then(|e| e.gateway_api.as_ref())
                .map(|g| g.parent_refs.as_slice())
                .unwrap_or_default()
            {
                let gw_ns = p.namespace.clone().unwrap_or_else(|| ns.clone());
                let gateway = dynamic(client, &gw_ns, thirdparty::gateway())
                    .get_opt(&p.name)
                    .await
                    .ctx(|| format!("reading Gateway {gw_ns}/{}", p.name))?;
                out.gateway_protocols.extend(
                    gateway
                        .map(|g| listener_protocols(&g.data, p.section_name.as_deref(), p.port))
                        .unwrap_or_default(),
                );
            }
        }
        ExposureMode::Route if integrations.openshift_route => {
            for p in PATHS {
                if let Some(r) = dynamic(client, &ns, thirdparty::openshift_route())
                    .get_opt(&names::openshift_route(&name, p.name))
                    .await
                    .ctx(|| "reading the Routes".into())?
                {
                    out.routes.push(r);
                }
            }
        }
        ExposureMode::GatewayApi | ExposureMode::Route => {}
    }
    Ok(out)
}

fn dynamic(client: &Client, ns: &str, ar: kube::core::ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Protocols of a Gateway's listeners that a parentRef selects.
fn listener_protocols(gateway: &Value, section: Option<&str>, port: Option<i32>) -> Vec<String> {
    gateway
        .pointer("/spec/listeners")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| section.is_none_or(|s| l["name"].as_str() == Some(s)))
        .filter(|l| port.is_none_or(|p| l["port"].as_i64() == Some(i64::from(p))))
        .filter_map(|l| l["protocol"].as_str().map(String::from))
        .collect()
}

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

/// `status.exposure` and the `Exposed` condition.
pub fn assess(
    bp: &BigPeer,
    integrations: Integrations,
    o: &ExposureObserved,
) -> (ExposureStatus, C) {
    let name = bp.name_any();
    let ns = bp.namespace().unwrap_or_default();
    let network = &bp.spec.network;
    let mode = network.mode();
    let host = network.hostname.clone().unwrap_or_default();
    let expose = network.expose.clone().unwrap_or_default();
    let status = |endpoints: Vec<EndpointStatus>, tls: &str| ExposureStatus {
        mode: mode.as_str().into(),
        endpoints,
        tls: tls.into(),
    };
    let yes = |reason: &str, msg: String| C::new(T::Exposed, true, reason, msg);
    let no = |reason: &str, msg: String| C::new(T::Exposed, false, reason, msg);
    match mode {
        ExposureMode::None => {
            let paths: Vec<(&PublicPath, String)> = PATHS
                .iter()
                .map(|p| {
                    (
                        p,
                        format!(
                            "{}.{ns}.svc:{}",
                            names::component(&name, p.component),
                            p.port
                        ),
                    )
                })
                .collect();
            (
                status(urls(false, "", &paths), tls_state::DISABLED),
                yes(
                    "ClusterIPOnly",
                    "reachable inside the cluster only; set network.expose to publish it".into(),
                ),
            )
        }
        ExposureMode::LoadBalancer => {
            let svc = names::public_service(&name);
            let address = o
                .service
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| lb_address(l.ingress.as_ref()));
            match address {
                Some(addr) => {
                    let h = if host.is_empty() {
                        addr.clone()
                    } else {
                        host.clone()
                    };
                    let port = |p: &PublicPath| Some(p.port);
                    (
                        status(port_urls(&h, port), tls_state::DISABLED),
                        yes(
                            "LoadBalancerReady",
                            format!("Service {svc} has load balancer address {addr}"),
                        ),
                    )
                }
                None => (
                    status(vec![], tls_state::DISABLED),
                    no(
                        "WaitingForLoadBalancer",
                        format!(
                            "Service {svc} has no load balancer address yet; check that a load balancer implementation serves it (loadBalancerClass) and its events"
                        ),
                    ),
                ),
            }
        }
        ExposureMode::NodePort => {
            let svc = names::public_service(&name);
            let node_port = |pname: &str| {
                o.service
                    .as_ref()
                    .and_then(|s| s.spec.as_ref())
                    .and_then(|s| s.ports.as_ref())
                    .and_then(|ps| ps.iter().find(|p| p.name.as_deref() == Some(pname)))
                    .and_then(|p| p.node_port)
            };
            let h = if host.is_empty() {
                "<node-address>".to_string()
            } else {
                host.clone()
            };
            let eps = port_urls(&h, |p| node_port(p.port_name));
            if eps.len() == PATHS.len() {
                (
                    status(eps, tls_state::DISABLED),
                    yes(
                        "NodePortsAssigned",
                        format!("Service {svc} has its node ports"),
                    ),
                )
            } else {
                (
                    status(vec![], tls_state::DISABLED),
                    no(
                        "WaitingForNodePorts",
                        format!("Service {svc} has no node ports yet"),
                    ),
                )
            }
        }
        ExposureMode::Ingress => {
            let ing = expose.ingress.unwrap_or_default();
            let (tls, tls_problem) = match &ing.tls {
                None => (tls_state::DISABLED, None),
                Some(t) if t.cert_manager.is_some() && !integrations.cert_manager => (
                    tls_state::PENDING,
                    Some(("CertManagerNotInstalled", "network.expose.ingress.tls.certManager needs cert-manager (cert-manager.io/v1), which is not installed; install it or give tls.secretName".to_string())),
                ),
                Some(t) if t.cert_manager.is_some() => {
                    let ready = o
                        .certificate
                        .as_ref()
                        .and_then(|c| condition_in(&c.data["status"]["conditions"], "Ready"));
                    match ready {
                        Some((true, _)) => (tls_state::READY, None),
                        Some((false, m)) => (
                            tls_state::PENDING,
                            Some(("CertificateNotReady", format!("Certificate {} is not ready: {m}", names::public_tls(&name)))),
                        ),
                        None => (
                            tls_state::PENDING,
                            Some(("CertificateNotReady", format!("waiting for cert-manager to issue Certificate {}", names::public_tls(&name)))),
                        ),
                    }
                }
                Some(_) if o.tls_secret_exists => (tls_state::READY, None),
                Some(t) => (
                    tls_state::PENDING,
                    Some(("TLSSecretMissing", format!("TLS Secret {} does not exist in namespace {ns}", tls_secret(bp, t)))),
                ),
            };
            let eps = host_urls(ing.tls.is_some(), &host);
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
            let cond = match (tls_problem, address) {
                (Some((reason, msg)), _) => no(reason, msg),
                (None, Some(addr)) => yes(
                    "IngressReady",
                    format!("Ingress {name} is served at {addr}"),
                ),
                (None, None) => no(
                    "WaitingForIngressController",
                    format!(
                        "Ingress {name} has no address yet; check that an ingress controller serves class {}",
                        ing.ingress_class_name
                            .as_deref()
                            .unwrap_or("(cluster default)")
                    ),
                ),
            };
            (status(eps, tls), cond)
        }
        ExposureMode::GatewayApi => {
            if !integrations.gateway_api {
                return (
                    status(vec![], tls_state::DISABLED),
                    no(
                        "GatewayAPINotInstalled",
                        "network.expose.gatewayAPI needs the Gateway API (gateway.networking.k8s.io/v1), which is not installed; install its CRDs and a Gateway controller, or choose another exposure mode".into(),
                    ),
                );
            }
            let tls = o.gateway_protocols.iter().any(|p| p == "HTTPS");
            let eps = host_urls(tls, &host);
            let tls_s = if tls {
                tls_state::EXTERNAL
            } else {
                tls_state::DISABLED
            };
            let parents = o
                .http_route
                .as_ref()
                .and_then(|r| r.data.pointer("/status/parents"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if parents.is_empty() {
                return (
                    status(eps, tls_s),
                    no(
                        "WaitingForGateway",
                        format!(
                            "HTTPRoute {name} is not yet accepted by a Gateway; check the parentRefs and the Gateway's allowedRoutes"
                        ),
                    ),
                );
            }
            let rejected = parents.iter().find_map(|p| {
                ["Accepted", "ResolvedRefs"].iter().find_map(|t| {
                    match condition_in(&p["conditions"], t) {
                        Some((false, m)) => Some(format!("{t} is False: {m}")),
                        _ => None,
                    }
                })
            });
            match rejected {
                Some(m) => (
                    status(eps, tls_s),
                    no("RouteNotAccepted", format!("HTTPRoute {name}: {m}")),
                ),
                None => (
                    status(eps, tls_s),
                    yes(
                        "RouteAccepted",
                        format!("HTTPRoute {name} is accepted by its Gateways"),
                    ),
                ),
            }
        }
        ExposureMode::Route => {
            if !integrations.openshift_route {
                return (
                    status(vec![], tls_state::DISABLED),
                    no(
                        "RouteAPINotInstalled",
                        "network.expose.route needs OpenShift Routes (route.openshift.io/v1), which this cluster does not serve; choose another exposure mode".into(),
                    ),
                );
            }
            let tls = expose.route.as_ref().and_then(|r| r.tls.as_ref());
            let eps = host_urls(tls.is_some(), &host);
            let tls_s = match tls {
                None => tls_state::DISABLED,
                Some(t) if t.termination == RouteTermination::Passthrough => tls_state::EXTERNAL,
                Some(_) => tls_state::READY,
            };
            if o.routes.len() < PATHS.len() {
                return (
                    status(eps, tls_s),
                    no("WaitingForRouter", "the Routes are being created".into()),
                );
            }
            let mut waiting = None;
            for r in &o.routes {
                let ingresses = r.data.pointer("/status/ingress").and_then(Value::as_array);
                let admitted = ingresses.and_then(|is| {
                    is.iter()
                        .find_map(|i| condition_in(&i["conditions"], "Admitted"))
                });
                match admitted {
                    Some((true, _)) => {}
                    Some((false, m)) => {
                        return (
                            status(eps, tls_s),
                            no(
                                "RouteNotAdmitted",
                                format!("Route {} is not admitted: {m}", r.name_any()),
                            ),
                        );
                    }
                    None => waiting = Some(r.name_any()),
                }
            }
            match waiting {
                Some(r) => (
                    status(eps, tls_s),
                    no(
                        "WaitingForRouter",
                        format!("Route {r} is not yet admitted by a router"),
                    ),
                ),
                None => (
                    status(eps, tls_s),
                    yes(
                        "RoutesAdmitted",
                        "every Route is admitted by the router".into(),
                    ),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::*;
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    use serde_json::json;

    fn bp(expose: Option<ExposeSpec>) -> BigPeer {
        let mut bp: BigPeer = serde_yaml::from_str(include_str!(
            "../../config/samples/smbp_v1alpha1_bigpeer.yaml"
        ))
        .unwrap();
        bp.spec.network.hostname = Some("bp.example.com".into());
        bp.spec.network.expose = expose;
        bp
    }

    fn all() -> Integrations {
        Integrations {
            strimzi: true,
            cert_manager: true,
            openshift: false,
            gateway_api: true,
            openshift_route: true,
            prometheus_operator: true,
        }
    }

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
        assert_eq!(c.reason, "ClusterIPOnly");
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
        assert_eq!(c.reason, "WaitingForLoadBalancer");
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
        assert_eq!(c.reason, "RouteAPINotInstalled");
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
        assert_eq!(c.reason, "CertManagerNotInstalled");
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
        assert_eq!(c.reason, "WaitingForGateway");
        let o = ExposureObserved {
            http_route: Some(route("False")),
            ..Default::default()
        };
        let (_, c) = assess(&gw, all(), &o);
        assert_eq!(c.reason, "RouteNotAccepted");
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
        assert_eq!(c.reason, "RouteNotAdmitted");
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

    #[test]
    fn listener_protocols_respect_section_and_port() {
        let gw = json!({"spec": {"listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "https", "port": 443, "protocol": "HTTPS"}]}});
        assert_eq!(listener_protocols(&gw, Some("https"), None), vec!["HTTPS"]);
        assert_eq!(listener_protocols(&gw, None, Some(80)), vec!["HTTP"]);
        assert_eq!(listener_protocols(&gw, None, None).len(), 2);
    }
}
