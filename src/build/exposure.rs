//! Exposure of Big Peer on its public host name: a LoadBalancer or NodePort Service, an
//! Ingress, a Gateway API HTTPRoute or OpenShift Routes, and cert-manager's certificate for
//! the host. Only what the user wrote goes into annotations: no controller-specific
//! behaviour is built in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::{BuildInputs, DesiredObject, keys, labels, names, ports};
use crate::api::{
    BigPeer, Component, ExposureTls, GatewayApiExposure, IngressExposure, RouteExposure,
    TrafficPolicy,
};
use crate::thirdparty;

/// One public path of Big Peer and the component that serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicPath {
    /// Short name: `auth`, `sync` or `api`.
    pub name: &'static str,
    /// URL path prefix.
    pub path: &'static str,
    /// Component whose client Service serves it.
    pub component: Component,
    /// Service port name.
    pub port_name: &'static str,
    /// Service port number.
    pub port: i32,
}

/// Big Peer's routes on its host name, most specific first.
pub const PATHS: [PublicPath; 3] = [
    PublicPath {
        name: "auth",
        path: "/_ditto/auth",
        component: Component::Subscription,
        port_name: "sync",
        port: ports::SYNC,
    },
    PublicPath {
        name: "sync",
        path: "/_ditto",
        component: Component::Subscription,
        port_name: "sync",
        port: ports::SYNC,
    },
    PublicPath {
        name: "api",
        path: "/",
        component: Component::Api,
        port_name: "http",
        port: ports::HTTP,
    },
];

const COMPONENT_LABEL: &str = "public";

fn with_annotations(
    mut meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    annotations: &BTreeMap<String, String>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    if !annotations.is_empty() {
        meta.annotations = Some(annotations.clone());
    }
    meta
}

fn json_metadata(bp: &BigPeer, name: String, annotations: &BTreeMap<String, String>) -> Value {
    let mut meta = json!({
        "name": name,
        "namespace": bp.namespace(),
        "labels": labels::common(bp, COMPONENT_LABEL),
        "ownerReferences": [labels::owner(bp)],
    });
    if !annotations.is_empty() {
        meta["annotations"] = json!(annotations);
    }
    meta
}

/// Every exposure object the spec asks for and the cluster can take. A mode whose API is not
/// installed yields nothing here; status reports it.
pub fn objects(bp: &BigPeer, inputs: &BuildInputs) -> Vec<DesiredObject> {
    let network = &bp.spec.network;
    let Some(expose) = &network.expose else {
        return vec![];
    };
    let host = network.hostname.as_deref();
    if let Some(lb) = &expose.load_balancer {
        let mut svc = public_service(
            bp,
            "LoadBalancer",
            lb.external_traffic_policy,
            &lb.annotations,
            [None, None],
        );
        let spec = svc.spec.as_mut().expect("built with a spec");
        spec.load_balancer_class = lb.load_balancer_class.clone();
        if !lb.load_balancer_source_ranges.is_empty() {
            spec.load_balancer_source_ranges = Some(lb.load_balancer_source_ranges.clone());
        }
        return vec![DesiredObject::typed(&svc)];
    }
    if let Some(np) = &expose.node_port {
        let svc = public_service(
            bp,
            "NodePort",
            np.external_traffic_policy,
            &np.annotations,
            [np.sync_node_port, np.http_node_port],
        );
        return vec![DesiredObject::typed(&svc)];
    }
    let Some(host) = host else {
        // The CRD requires a host name for the remaining modes.
        return vec![];
    };
    if let Some(ing) = &expose.ingress {
        let mut out = vec![DesiredObject::typed(&ingress(bp, host, ing))];
        if let Some(cert) = ing
            .tls
            .as_ref()
            .and_then(|t| public_certificate(bp, host, t))
            && inputs.cert_manager
        {
            out.push(cert);
        }
        return out;
    }
    if let Some(gw) = &expose.gateway_api {
        return if inputs.gateway_api {
            vec![http_route(bp, host, gw)]
        } else {
            vec![]
        };
    }
    if let Some(route) = &expose.route {
        return if inputs.openshift_route {
            PATHS
                .iter()
                .map(|p| openshift_route(bp, host, route, p))
                .collect()
        } else {
            vec![]
        };
    }
    vec![]
}

/// One Service for the sync and HTTP ports. It selects every pod of the BigPeer; named target
/// ports send each port only to the pods that serve it (sync: subscription, http: api).
fn public_service(
    bp: &BigPeer,
    type_: &str,
    traffic: TrafficPolicy,
    annotations: &BTreeMap<String, String>,
    node_ports: [Option<i32>; 2],
) -> Service {
    let sel = labels::selector(bp, Component::Subscription);
    let selector = sel
        .into_iter()
        .filter(|(k, _)| k != labels::COMPONENT)
        .collect();
    let port = |name: &str, number: i32, node_port: Option<i32>| ServicePort {
        name: Some(name.into()),
        port: number,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        node_port,
        ..Default::default()
    };
    Service {
        metadata: with_annotations(
            labels::meta(bp, names::public_service(&bp.name_any()), COMPONENT_LABEL),
            annotations,
        ),
        spec: Some(ServiceSpec {
            type_: Some(type_.into()),
            selector: Some(selector),
            external_traffic_policy: Some(traffic.as_str().into()),
            ports: Some(vec![
                port("sync", ports::SYNC, node_ports[0]),
                port("http", ports::HTTP, node_ports[1]),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// TLS Secret name of the public host: the user's, or the one cert-manager issues.
pub fn tls_secret(bp: &BigPeer, tls: &ExposureTls) -> String {
    tls.secret_name
        .clone()
        .unwrap_or_else(|| names::public_tls(&bp.name_any()))
}

/// The public host's TLS Secret when the BigPeer has one: its Ingress's TLS Secret (the
/// user's, or the one cert-manager issues); `None` for plain HTTP and the other modes.
pub fn public_tls_secret(bp: &BigPeer) -> Option<String> {
    let tls = bp
        .spec
        .network
        .expose
        .as_ref()?
        .ingress
        .as_ref()?
        .tls
        .as_ref()?;
    Some(tls_secret(bp, tls))
}

fn ingress(bp: &BigPeer, host: &str, ing: &IngressExposure) -> Ingress {
    let bp_name = bp.name_any();
    let paths = PATHS
        .iter()
        .map(|p| HTTPIngressPath {
            path: Some(p.path.into()),
            path_type: "Prefix".into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: names::component(&bp_name, p.component),
                    port: Some(ServiceBackendPort {
                        name: Some(p.port_name.into()),
                        number: None,
                    }),
                }),
                resource: None,
            },
        })
        .collect();
    Ingress {
        metadata: with_annotations(
            labels::meta(bp, names::public_route(&bp_name), COMPONENT_LABEL),
            &ing.annotations,
        ),
        spec: Some(IngressSpec {
            ingress_class_name: ing.ingress_class_name.clone(),
            rules: Some(vec![IngressRule {
                host: Some(host.into()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            tls: ing.tls.as_ref().map(|t| {
                vec![IngressTLS {
                    hosts: Some(vec![host.into()]),
                    secret_name: Some(tls_secret(bp, t)),
                }]
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// cert-manager Certificate for the host name, when TLS is to be issued.
fn public_certificate(bp: &BigPeer, host: &str, tls: &ExposureTls) -> Option<DesiredObject> {
    let cm = tls.cert_manager.as_ref()?;
    let name = names::public_tls(&bp.name_any());
    Some(DesiredObject::new(
        thirdparty::certificate(),
        json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": json_metadata(bp, name.clone(), &BTreeMap::new()),
            "spec": {
                "secretName": name,
                "dnsNames": [host],
                "issuerRef": keys::issuer_ref(&cm.issuer_ref),
                "privateKey": {"rotationPolicy": "Always"},
                "usages": ["server auth", "digital signature", "key encipherment"],
                "secretTemplate": {"labels": labels::common(bp, COMPONENT_LABEL)},
            },
        }),
    ))
}

fn http_route(bp: &BigPeer, host: &str, gw: &GatewayApiExposure) -> DesiredObject {
    let bp_name = bp.name_any();
    let parent_refs: Vec<Value> = gw
        .parent_refs
        .iter()
        .map(|p| {
            let mut r =
                json!({"group": thirdparty::GATEWAY_API_GROUP, "kind": "Gateway", "name": p.name});
            if let Some(ns) = &p.namespace {
                r["namespace"] = json!(ns);
            }
            if let Some(s) = &p.section_name {
                r["sectionName"] = json!(s);
            }
            if let Some(port) = p.port {
                r["port"] = json!(port);
            }
            r
        })
        .collect();
    let rules: Vec<Value> = PATHS
        .iter()
        .map(|p| {
            let mut rule = json!({
                "matches": [{"path": {"type": "PathPrefix", "value": p.path}}],
                "backendRefs": [{"name": names::component(&bp_name, p.component), "port": p.port}],
            });
            if let (Some(t), Component::Subscription) = (&gw.sync_request_timeout, p.component) {
                rule["timeouts"] = json!({ "request": t });
            }
            rule
        })
        .collect();
    DesiredObject::new(
        thirdparty::http_route(),
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": json_metadata(bp, names::public_route(&bp_name), &gw.annotations),
            "spec": {"parentRefs": parent_refs, "hostnames": [host], "rules": rules},
        }),
    )
}

fn openshift_route(
    bp: &BigPeer,
    host: &str,
    route: &RouteExposure,
    p: &PublicPath,
) -> DesiredObject {
    let bp_name = bp.name_any();
    let mut spec = json!({
        "host": host,
        "path": p.path,
        "to": {"kind": "Service", "name": names::component(&bp_name, p.component), "weight": 100},
        "port": {"targetPort": p.port_name},
        "wildcardPolicy": "None",
    });
    if let Some(tls) = &route.tls {
        let mut t = json!({
            "termination": tls.termination.as_route(),
            "insecureEdgeTerminationPolicy": tls.insecure_edge_termination_policy.as_str(),
        });
        if let Some(c) = &tls.external_certificate {
            t["externalCertificate"] = json!({"name": c.name});
        }
        if let Some(ca) = &tls.destination_ca_certificate {
            t["destinationCACertificate"] = json!(ca);
        }
        spec["tls"] = t;
    }
    DesiredObject::new(
        thirdparty::openshift_route(),
        json!({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": json_metadata(bp, names::openshift_route(&bp_name, p.name), &route.annotations),
            "spec": spec,
        }),
    )
}
