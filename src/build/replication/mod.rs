//! What a `BigPeerReplication` makes, as pure functions of the replication, its BigPeer and
//! what was observed: the endpoint Service `<name>-replication` on the peer port (4040) of the
//! subscription servers, the ConfigMap `<name>-replication-ca` with this BigPeer's CA
//! certificate for the other sides, the NetworkPolicy `<name>-replication` when the BigPeer's
//! NetworkPolicies are on ([`network_policy`]), and the exposure objects (a Gateway API
//! TLSRoute or an OpenShift Route, both TLS passthrough). Every object is owned by the
//! replication (controller reference, `blockOwnerDeletion`) and labelled with its BigPeer,
//! app and name. What the servers get is [`access`]; which certificates are trusted, [`trust`].
//!
//! Nothing here touches a pod template: the Service targets the subscription servers'
//! existing peer port.

pub mod access;
pub mod network_policy;
pub mod trust;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::Selector;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::{DesiredObject, labels};
use crate::api::{
    APP_LABEL, BIG_PEER_LABEL, BigPeer, BigPeerReplication, Component, ExposureMode,
    GatewayParentRef, PEER_PORT, REPLICATION_LABEL, ReplicationLoadBalancer, ReplicationNodePort,
    TrafficPolicy,
};
use crate::thirdparty;

/// `app.kubernetes.io/name` of a replication's objects.
pub const APP_NAME: &str = "bigpeer-replication";
/// The CA ConfigMap's key.
pub const CA_KEY: &str = "ca.crt";
/// Name of the endpoint Service's port.
pub const PORT_NAME: &str = "peer";

/// The endpoint Service (and the NetworkPolicy, TLSRoute and Route): `<name>-replication`.
pub fn service_name(replication: &str) -> String {
    format!("{replication}-replication")
}

/// The CA ConfigMap: `<name>-replication-ca`.
pub fn ca_config_map_name(replication: &str) -> String {
    format!("{replication}-replication-ca")
}

/// `host:port` of the endpoint inside the cluster.
pub fn in_cluster_endpoint(replication: &str, ns: &str) -> String {
    format!("{}.{ns}.svc:{PEER_PORT}", service_name(replication))
}

/// The Secret holding this BigPeer's CA certificate (key `tls.crt`): cert-manager's
/// `<bp>-ca`, or `auth.keys.secrets.ca`.
pub fn ca_secret(bp: &BigPeer) -> String {
    match &bp.spec.auth.keys.secrets {
        Some(s) => s.ca.name.clone(),
        None => crate::build::names::key_secret(&bp.name_any(), crate::build::names::Key::Ca),
    }
}

/// The key of the CA Secret that holds the CA's own certificate.
pub const CA_SECRET_KEY: &str = "tls.crt";

/// How the endpoint is reached from outside the cluster, resolved from `spec.expose` or the
/// BigPeer's exposure.
#[derive(Clone, Debug, PartialEq)]
pub enum Exposure {
    /// Inside the cluster only; with why, when the BigPeer is exposed in a way the peer
    /// protocol cannot follow.
    ClusterIp(Option<String>),
    /// A LoadBalancer Service.
    LoadBalancer(ReplicationLoadBalancer),
    /// A NodePort Service.
    NodePort(ReplicationNodePort),
    /// A TLSRoute (passthrough) for `hostname` on `parents`.
    Gateway {
        /// The TLS server name peers connect with.
        hostname: String,
        /// The Gateways to attach to.
        parents: Vec<GatewayParentRef>,
    },
    /// An OpenShift passthrough Route (the router's host name when `None`).
    Route(Option<String>),
}

impl Exposure {
    /// Whether peers outside the cluster can connect.
    pub fn external(&self) -> bool {
        !matches!(self, Exposure::ClusterIp(_))
    }

    /// The Service type.
    pub fn service_type(&self) -> &'static str {
        match self {
            Exposure::LoadBalancer(_) => "LoadBalancer",
            Exposure::NodePort(_) => "NodePort",
            _ => "ClusterIP",
        }
    }
}

/// The exposure of `r`: `spec.expose` when set, else the BigPeer's mode.
pub fn exposure(r: &BigPeerReplication, bp: &BigPeer) -> Exposure {
    let name = r.name_any();
    if let Some(e) = &r.spec.expose {
        if let Some(lb) = &e.load_balancer {
            return Exposure::LoadBalancer(lb.clone());
        }
        if let Some(np) = &e.node_port {
            return Exposure::NodePort(np.clone());
        }
        if let Some(gw) = &e.gateway_api {
            return Exposure::Gateway {
                hostname: gw.hostname.clone(),
                parents: gw.parent_refs.clone(),
            };
        }
        if let Some(route) = &e.route {
            return Exposure::Route(route.hostname.clone());
        }
        return Exposure::ClusterIp(None);
    }
    let network = &bp.spec.network;
    let expose = network.expose.clone().unwrap_or_default();
    match network.mode() {
        ExposureMode::None => Exposure::ClusterIp(None),
        ExposureMode::LoadBalancer => {
            let lb = expose.load_balancer.unwrap_or_default();
            Exposure::LoadBalancer(ReplicationLoadBalancer {
                load_balancer_class: lb.load_balancer_class,
                load_balancer_source_ranges: lb.load_balancer_source_ranges,
                external_traffic_policy: lb.external_traffic_policy,
                annotations: lb.annotations,
            })
        }
        ExposureMode::NodePort => Exposure::NodePort(ReplicationNodePort {
            node_port: None,
            external_traffic_policy: expose
                .node_port
                .map(|n| n.external_traffic_policy)
                .unwrap_or_default(),
        }),
        ExposureMode::Ingress => Exposure::ClusterIp(Some(format!(
            "BigPeer {} is exposed through an Ingress, which carries HTTP only, not the peer protocol: the endpoint stays inside the cluster; set spec.expose (loadBalancer, nodePort, gatewayAPI or route) to reach it from outside",
            bp.name_any()
        ))),
        ExposureMode::GatewayApi => match network.hostname.as_deref() {
            Some(host) => Exposure::Gateway {
                hostname: format!("{}.{host}", service_name(&name)),
                // The BigPeer's listeners are HTTP(S) ones: the TLSRoute attaches to the same
                // Gateways' TLS passthrough listeners, whichever they are.
                parents: expose
                    .gateway_api
                    .map(|g| g.parent_refs)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| GatewayParentRef {
                        section_name: None,
                        port: None,
                        ..p
                    })
                    .collect(),
            },
            None => Exposure::ClusterIp(None),
        },
        ExposureMode::Route => Exposure::Route(None),
    }
}

/// Labels of every object of a replication.
pub fn object_labels(r: &BigPeerReplication, bp: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (labels::INSTANCE.to_string(), r.name_any()),
        (labels::COMPONENT.to_string(), "replication".to_string()),
        ("app.kubernetes.io/part-of".to_string(), "smbp".to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            labels::MANAGER.to_string(),
        ),
        (BIG_PEER_LABEL.to_string(), bp.to_string()),
        (APP_LABEL.to_string(), r.spec.app_ref.name.clone()),
        (REPLICATION_LABEL.to_string(), r.name_any()),
    ])
}

/// What finds a replication's objects (with its owner reference).
pub fn selector(replication: &str) -> Selector {
    [
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (labels::INSTANCE.to_string(), replication.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            labels::MANAGER.to_string(),
        ),
    ]
    .into_iter()
    .collect()
}

/// The controller reference to the replication, blocking its deletion until its objects go.
pub fn owner(r: &BigPeerReplication) -> OwnerReference {
    OwnerReference {
        block_owner_deletion: Some(true),
        ..r.controller_owner_ref(&())
            .expect("a replication read from the API server has a name and uid")
    }
}

fn meta(r: &BigPeerReplication, bp: &str, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: r.namespace(),
        labels: Some(object_labels(r, bp)),
        owner_references: Some(vec![owner(r)]),
        ..Default::default()
    }
}

fn json_meta(r: &BigPeerReplication, bp: &str, name: String) -> Value {
    serde_json::to_value(meta(r, bp, name)).expect("metadata serializes")
}

/// The endpoint Service: port `peer` 4040 to the subscription servers' 4040, of the type the
/// exposure asks for.
pub fn service(r: &BigPeerReplication, bp: &BigPeer, exposure: &Exposure) -> Service {
    let mut metadata = meta(r, &bp.name_any(), service_name(&r.name_any()));
    let mut spec = ServiceSpec {
        type_: Some(exposure.service_type().into()),
        selector: Some(labels::selector(bp, Component::Subscription)),
        ports: Some(vec![ServicePort {
            name: Some(PORT_NAME.into()),
            port: PEER_PORT,
            target_port: Some(IntOrString::Int(PEER_PORT)),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let traffic = |t: TrafficPolicy| Some(t.as_str().to_string());
    match exposure {
        Exposure::LoadBalancer(lb) => {
            spec.load_balancer_class = lb.load_balancer_class.clone();
            if !lb.load_balancer_source_ranges.is_empty() {
                spec.load_balancer_source_ranges = Some(lb.load_balancer_source_ranges.clone());
            }
            spec.external_traffic_policy = traffic(lb.external_traffic_policy);
            if !lb.annotations.is_empty() {
                metadata.annotations = Some(lb.annotations.clone());
            }
        }
        Exposure::NodePort(np) => {
            spec.external_traffic_policy = traffic(np.external_traffic_policy);
            if let Some(port) = spec.ports.as_mut().and_then(|p| p.first_mut()) {
                port.node_port = np.node_port;
            }
        }
        _ => {}
    }
    Service {
        metadata,
        spec: Some(spec),
        ..Default::default()
    }
}

/// The ConfigMap the other sides copy: this BigPeer's CA certificate (PEM, certificates only).
pub fn ca_config_map(r: &BigPeerReplication, bp: &str, ca_pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta(r, bp, ca_config_map_name(&r.name_any())),
        data: Some(BTreeMap::from([(CA_KEY.to_string(), ca_pem.to_string())])),
        ..Default::default()
    }
}

fn parent_ref(p: &GatewayParentRef) -> Value {
    let mut r = json!({"group": thirdparty::GATEWAY_API_GROUP, "kind": "Gateway", "name": p.name});
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
}

/// The TLSRoute or Route of the exposure (none for the Service-only ones).
pub fn exposure_objects(
    r: &BigPeerReplication,
    bp: &str,
    exposure: &Exposure,
) -> Vec<DesiredObject> {
    let name = service_name(&r.name_any());
    match exposure {
        Exposure::Gateway { hostname, parents } => vec![DesiredObject::new(
            thirdparty::tls_route(),
            json!({
                "apiVersion": thirdparty::tls_route().api_version, "kind": "TLSRoute",
                "metadata": json_meta(r, bp, name.clone()),
                "spec": {
                    "parentRefs": parents.iter().map(parent_ref).collect::<Vec<_>>(),
                    "hostnames": [hostname],
                    "rules": [{"backendRefs": [{"name": name, "port": PEER_PORT}]}],
                },
            }),
        )],
        Exposure::Route(host) => {
            let mut spec = json!({
                "to": {"kind": "Service", "name": name, "weight": 100},
                "port": {"targetPort": PORT_NAME},
                "tls": {"termination": "passthrough"},
                "wildcardPolicy": "None",
            });
            if let Some(h) = host {
                spec["host"] = json!(h);
            }
            vec![DesiredObject::new(
                thirdparty::openshift_route(),
                json!({
                    "apiVersion": "route.openshift.io/v1", "kind": "Route",
                    "metadata": json_meta(r, bp, name),
                    "spec": spec,
                }),
            )]
        }
        _ => vec![],
    }
}

/// What the cluster serves of the exposure APIs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Apis {
    /// Gateway API TLSRoutes (`gateway.networking.k8s.io/v1`).
    pub tls_route: bool,
    /// OpenShift Routes.
    pub openshift_route: bool,
}

impl Apis {
    /// Whether the API the exposure needs is served (always, for the Service-only ones).
    pub fn serve(&self, exposure: &Exposure) -> bool {
        match exposure {
            Exposure::Gateway { .. } => self.tls_route,
            Exposure::Route(_) => self.openshift_route,
            _ => true,
        }
    }
}

/// Every object of a replication of `bp`: the Service, the CA ConfigMap once this BigPeer's
/// CA is known (`ca_pem`), the NetworkPolicy when the BigPeer's policies are on, and the
/// exposure object when its API is served.
pub fn desired(
    r: &BigPeerReplication,
    bp: &BigPeer,
    ca_pem: Option<&str>,
    apis: Apis,
) -> Vec<DesiredObject> {
    let bp_name = bp.name_any();
    let exposure = exposure(r, bp);
    let mut out = vec![DesiredObject::typed(&service(r, bp, &exposure))];
    if let Some(pem) = ca_pem {
        out.push(DesiredObject::typed(&ca_config_map(r, &bp_name, pem)));
    }
    if let Some(np) = network_policy::policy(r, bp, &exposure) {
        out.push(DesiredObject::typed(&np));
    }
    if apis.serve(&exposure) {
        out.extend(exposure_objects(r, &bp_name, &exposure));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::{BigPeerReplicationSpec, ReplicationExpose, ReplicationGateway};
    use kube::core::SelectorExt;
    use serde_json::json;

    /// A replication `name` of app `my-app` in namespace `bigpeer` with a uid.
    pub fn replication(name: &str, spec: serde_json::Value) -> BigPeerReplication {
        let mut s = json!({"appRef": {"name": "my-app"}});
        crate::testing::merge_patch(&mut s, &spec);
        let spec: BigPeerReplicationSpec = serde_json::from_value(s).unwrap();
        let mut r = BigPeerReplication::new(name, spec);
        r.metadata.namespace = Some("bigpeer".into());
        r.metadata.uid = Some("r-1".into());
        r.metadata.generation = Some(1);
        r
    }

    fn bp_with(expose: serde_json::Value, hostname: Option<&str>) -> BigPeer {
        let mut bp = crate::testing::sample();
        bp.spec.network.expose = serde_json::from_value(expose).unwrap();
        bp.spec.network.hostname = hostname.map(str::to_string);
        bp
    }

    proptest::proptest! {
        /// Whatever the replication's name (a DNS label of at most 40 characters, as the CRD
        /// allows) and its BigPeer's exposure, every object it makes is named by a DNS label
        /// and found by its selector.
        #[test]
        fn every_object_is_named_by_a_dns_label(
            name in "[a-z]([-a-z0-9]{0,38}[a-z0-9])?",
            expose in proptest::prop_oneof![
                proptest::strategy::Just(json!(null)),
                proptest::strategy::Just(json!({"loadBalancer": {}})),
                proptest::strategy::Just(json!({"gatewayAPI": {"parentRefs": [{"name": "gw"}]}})),
                proptest::strategy::Just(json!({"route": {}})),
            ],
        ) {
            let bp = bp_with(expose, Some("bp.example.com"));
            let r = replication(&name, json!({"connections": ["a.b.svc:4040"]}));
            let all = Apis { tls_route: true, openshift_route: true };
            for o in desired(&r, &bp, Some("pem"), all) {
                let n = &o.name;
                proptest::prop_assert!(n.len() <= 63, "{n}");
                proptest::prop_assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{n}");
                proptest::prop_assert!(!n.starts_with('-') && !n.ends_with('-'), "{n}");
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(o.body["metadata"]["labels"].clone()).unwrap();
                proptest::prop_assert!(selector(&name).matches(&labels));
            }
        }
    }

    #[test]
    fn names_follow_the_replication() {
        assert_eq!(service_name("orders"), "orders-replication");
        assert_eq!(ca_config_map_name("orders"), "orders-replication-ca");
        assert_eq!(
            in_cluster_endpoint("orders", "team-a"),
            "orders-replication.team-a.svc:4040"
        );
    }

    #[test]
    fn the_service_selects_the_subscription_servers_on_the_peer_port() {
        let bp = crate::testing::sample();
        let r = replication("orders", json!({}));
        let svc = service(&r, &bp, &exposure(&r, &bp));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(
            spec.selector,
            Some(labels::selector(&bp, Component::Subscription))
        );
        let port = &spec.ports.unwrap()[0];
        assert_eq!(
            (port.port, port.target_port.clone()),
            (4040, Some(IntOrString::Int(4040)))
        );
        let owner = &svc.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("BigPeerReplication", "r-1")
        );
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
        let l = svc.metadata.labels.unwrap();
        assert_eq!(l[BIG_PEER_LABEL], bp.name_any());
        assert_eq!(l[APP_LABEL], "my-app");
        assert_eq!(l[REPLICATION_LABEL], "orders");
        assert!(selector("orders").matches(&l));
    }

    #[test]
    fn exposure_follows_the_bigpeer_unless_set() {
        let r = replication("orders", json!({}));
        let cases = [
            (json!(null), None, "ClusterIP", false),
            (json!({"none": {}}), None, "ClusterIP", false),
            (
                json!({"loadBalancer": {"loadBalancerClass": "example.com/lb", "externalTrafficPolicy": "Local"}}),
                None,
                "LoadBalancer",
                true,
            ),
            (json!({"nodePort": {}}), None, "NodePort", true),
            (
                json!({"ingress": {}}),
                Some("bp.example.com"),
                "ClusterIP",
                false,
            ),
        ];
        for (expose, host, type_, external) in cases {
            let bp = bp_with(expose.clone(), host);
            let e = exposure(&r, &bp);
            assert_eq!(e.service_type(), type_, "{expose}");
            assert_eq!(e.external(), external, "{expose}");
            assert!(exposure_objects(&r, "prod", &e).is_empty());
        }
        let bp = bp_with(json!({"ingress": {}}), Some("bp.example.com"));
        assert!(matches!(exposure(&r, &bp), Exposure::ClusterIp(Some(m)) if m.contains("Ingress")));
        let bp = bp_with(
            json!({"loadBalancer": {"loadBalancerClass": "example.com/lb", "externalTrafficPolicy": "Local", "annotations": {"a": "b"}}}),
            None,
        );
        let svc = service(&r, &bp, &exposure(&r, &bp));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.load_balancer_class.as_deref(), Some("example.com/lb"));
        assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
        assert_eq!(svc.metadata.annotations.unwrap()["a"], "b");
        // Gateway API: a TLSRoute for <name>-replication.<host> on the same Gateways, any
        // listener.
        let bp = bp_with(
            json!({"gatewayAPI": {"parentRefs": [{"name": "public", "namespace": "gw", "sectionName": "https", "port": 443}]}}),
            Some("bp.example.com"),
        );
        let e = exposure(&r, &bp);
        let objs = exposure_objects(&r, "prod", &e);
        assert_eq!(objs.len(), 1);
        let route = &objs[0].body;
        assert_eq!(route["kind"], "TLSRoute");
        assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(
            route["spec"]["hostnames"],
            json!(["orders-replication.bp.example.com"])
        );
        assert_eq!(
            route["spec"]["parentRefs"],
            json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gw"}])
        );
        assert_eq!(
            route["spec"]["rules"][0]["backendRefs"],
            json!([{"name": "orders-replication", "port": 4040}])
        );
        // Route: passthrough to the Service's peer port.
        let bp = bp_with(json!({"route": {}}), Some("bp.example.com"));
        let objs = exposure_objects(&r, "prod", &exposure(&r, &bp));
        assert_eq!(objs[0].body["spec"]["tls"]["termination"], "passthrough");
        assert_eq!(objs[0].body["spec"]["port"]["targetPort"], "peer");
        assert!(objs[0].body["spec"].get("host").is_none());
        // An explicit expose wins over the BigPeer's.
        let mut explicit = replication("orders", json!({}));
        explicit.spec.expose = Some(ReplicationExpose {
            gateway_api: Some(ReplicationGateway {
                hostname: "repl.example.com".into(),
                parent_refs: vec![GatewayParentRef {
                    name: "tls".into(),
                    section_name: Some("passthrough".into()),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        });
        let e = exposure(&explicit, &bp);
        let objs = exposure_objects(&explicit, "prod", &e);
        assert_eq!(
            objs[0].body["spec"]["hostnames"],
            json!(["repl.example.com"])
        );
        assert_eq!(
            objs[0].body["spec"]["parentRefs"][0]["sectionName"],
            "passthrough"
        );
    }

    #[test]
    fn desired_objects_follow_what_is_known_and_served() {
        let bp = crate::testing::sample();
        let r = replication("orders", json!({"connections": ["a.b.svc:4040"]}));
        let kinds = |objs: Vec<DesiredObject>| -> Vec<String> {
            objs.iter().map(DesiredObject::key).collect()
        };
        assert_eq!(
            kinds(desired(&r, &bp, None, Apis::default())),
            [
                "Service/orders-replication",
                "NetworkPolicy/orders-replication"
            ]
        );
        assert_eq!(
            kinds(desired(&r, &bp, Some("pem"), Apis::default())),
            [
                "Service/orders-replication",
                "ConfigMap/orders-replication-ca",
                "NetworkPolicy/orders-replication"
            ]
        );
        let mut off = bp.clone();
        off.spec.network.policies.enabled = false;
        assert_eq!(
            kinds(desired(&r, &off, None, Apis::default())),
            ["Service/orders-replication"]
        );
        let gw = bp_with(
            json!({"gatewayAPI": {"parentRefs": [{"name": "public"}]}}),
            Some("bp.example.com"),
        );
        assert_eq!(desired(&r, &gw, None, Apis::default()).len(), 2);
        assert_eq!(
            desired(
                &r,
                &gw,
                None,
                Apis {
                    tls_route: true,
                    openshift_route: false
                }
            )
            .last()
            .unwrap()
            .key(),
            "TLSRoute/orders-replication"
        );
        let cm = ca_config_map(&r, "prod", "PEM");
        assert_eq!(cm.data.unwrap()[CA_KEY], "PEM");
    }
}
