//! Exposure builders: every mode yields exactly its own objects, routes every Big Peer path to
//! the right Service port, and passes the user's annotations through untouched.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use smbp_operator::api::*;
use smbp_operator::build::{BuildInputs, DesiredObject, desired, exposure, names};
use smbp_operator::testing::sample;

/// Build inputs with every optional API installed, or none.
pub(crate) fn inputs(all_apis: bool) -> BuildInputs {
    BuildInputs {
        cert_manager: all_apis,
        strimzi: all_apis,
        gateway_api: all_apis,
        openshift_route: all_apis,
        prometheus_operator: all_apis,
        ..BuildInputs::offline(&sample(), vec!["kafka:9093".into()])
    }
}

fn with(expose: ExposeSpec) -> BigPeer {
    let mut bp = sample();
    bp.spec.network.hostname = Some("bp.example.com".into());
    bp.spec.network.expose = Some(expose);
    bp
}

fn annotations() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "nginx.ingress.kubernetes.io/proxy-read-timeout".to_string(),
        "3600".to_string(),
    )])
}

fn kinds(objs: &[DesiredObject]) -> Vec<String> {
    objs.iter().map(|o| o.resource.kind.clone()).collect()
}

fn ingress_mode(tls: Option<ExposureTls>) -> ExposeSpec {
    ExposeSpec {
        ingress: Some(IngressExposure {
            ingress_class_name: Some("nginx".into()),
            annotations: annotations(),
            tls,
        }),
        ..Default::default()
    }
}

fn gateway_mode() -> ExposeSpec {
    ExposeSpec {
        gateway_api: Some(GatewayApiExposure {
            parent_refs: vec![GatewayParentRef {
                name: "public".into(),
                namespace: Some("gateways".into()),
                section_name: Some("https".into()),
                port: None,
            }],
            sync_request_timeout: Some("0s".into()),
            annotations: BTreeMap::new(),
        }),
        ..Default::default()
    }
}

fn route_mode() -> ExposeSpec {
    ExposeSpec {
        route: Some(RouteExposure {
            tls: Some(RouteTls {
                termination: RouteTermination::Edge,
                insecure_edge_termination_policy: InsecureEdgePolicy::Redirect,
                external_certificate: Some(LocalObjectReference {
                    name: "bp-cert".into(),
                }),
                destination_ca_certificate: None,
            }),
            annotations: annotations(),
        }),
        ..Default::default()
    }
}

#[test]
fn none_is_the_default_and_adds_nothing() {
    let bp = sample();
    assert_eq!(bp.spec.network.mode(), ExposureMode::None);
    assert!(exposure::objects(&bp, &inputs(true)).is_empty());
    let explicit = with(ExposeSpec {
        none: Some(NoExposure {}),
        ..Default::default()
    });
    assert!(exposure::objects(&explicit, &inputs(true)).is_empty());
}

#[test]
fn load_balancer_service_carries_the_users_settings() {
    let bp = with(ExposeSpec {
        load_balancer: Some(LoadBalancerExposure {
            load_balancer_class: Some("example.com/lb".into()),
            load_balancer_source_ranges: vec!["203.0.113.0/24".into()],
            external_traffic_policy: TrafficPolicy::Local,
            annotations: annotations(),
        }),
        ..Default::default()
    });
    let objs = exposure::objects(&bp, &inputs(false));
    assert_eq!(kinds(&objs), vec!["Service"]);
    let svc = &objs[0].body;
    assert_eq!(svc["metadata"]["name"], names::public_service("prod"));
    assert_eq!(svc["metadata"]["annotations"], json!(annotations()));
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert_eq!(svc["spec"]["loadBalancerClass"], "example.com/lb");
    assert_eq!(
        svc["spec"]["loadBalancerSourceRanges"],
        json!(["203.0.113.0/24"])
    );
    assert_eq!(svc["spec"]["externalTrafficPolicy"], "Local");
    // Named target ports send sync only to subscription pods and http only to API pods;
    // the selector therefore must not pin a component.
    let selector = svc["spec"]["selector"].as_object().unwrap();
    assert!(!selector.contains_key("app.kubernetes.io/component"));
    assert_eq!(selector["app.kubernetes.io/instance"], "prod");
    let targets: Vec<&str> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["targetPort"].as_str().unwrap())
        .collect();
    assert_eq!(targets, vec!["sync", "http"]);
}

#[test]
fn node_port_service_keeps_requested_ports() {
    let bp = with(ExposeSpec {
        node_port: Some(NodePortExposure {
            sync_node_port: Some(30080),
            http_node_port: None,
            external_traffic_policy: TrafficPolicy::Cluster,
            annotations: BTreeMap::new(),
        }),
        ..Default::default()
    });
    let objs = exposure::objects(&bp, &inputs(false));
    let svc = &objs[0].body;
    assert_eq!(svc["spec"]["type"], "NodePort");
    assert_eq!(svc["spec"]["ports"][0]["nodePort"], 30080);
    assert!(svc["spec"]["ports"][1].get("nodePort").is_none());
    assert!(svc["metadata"].get("annotations").is_none());
}

fn ingress_paths(ing: &Value) -> Vec<(String, String, String)> {
    ing["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["backend"]["service"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                p["backend"]["service"]["port"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn ingress_routes_every_path_and_passes_annotations() {
    let bp = with(ingress_mode(None));
    let objs = exposure::objects(&bp, &inputs(false));
    assert_eq!(kinds(&objs), vec!["Ingress"]);
    let ing = &objs[0].body;
    assert_eq!(ing["spec"]["ingressClassName"], "nginx");
    assert_eq!(ing["spec"]["rules"][0]["host"], "bp.example.com");
    assert_eq!(ing["metadata"]["annotations"], json!(annotations()));
    assert!(ing["spec"].get("tls").is_none());
    assert_eq!(
        ingress_paths(ing),
        vec![
            (
                "/_ditto/auth".into(),
                "prod-subscription".into(),
                "sync".into()
            ),
            ("/_ditto".into(), "prod-subscription".into(), "sync".into()),
            ("/".into(), "prod-api".into(), "http".into()),
        ]
    );
}

#[test]
fn ingress_tls_from_cert_manager_issues_a_certificate_for_the_host() {
    let tls = ExposureTls {
        secret_name: None,
        cert_manager: Some(PublicCertManager {
            issuer_ref: IssuerRef {
                name: "letsencrypt".into(),
                kind: IssuerKind::ClusterIssuer,
            },
        }),
    };
    let bp = with(ingress_mode(Some(tls)));
    let objs = exposure::objects(&bp, &inputs(true));
    assert_eq!(kinds(&objs), vec!["Ingress", "Certificate"]);
    let cert = &objs[1].body;
    assert_eq!(cert["spec"]["dnsNames"], json!(["bp.example.com"]));
    assert_eq!(cert["spec"]["secretName"], "prod-public-tls");
    assert_eq!(cert["spec"]["issuerRef"]["kind"], "ClusterIssuer");
    assert_eq!(
        objs[0].body["spec"]["tls"][0]["secretName"],
        "prod-public-tls"
    );
    assert_eq!(
        objs[0].body["spec"]["tls"][0]["hosts"],
        json!(["bp.example.com"])
    );
    // Without cert-manager the Ingress is still built; status explains the missing TLS.
    assert_eq!(
        kinds(&exposure::objects(&bp, &inputs(false))),
        vec!["Ingress"]
    );
}

#[test]
fn ingress_tls_from_a_secret_needs_no_certificate() {
    let tls = ExposureTls {
        secret_name: Some("my-cert".into()),
        cert_manager: None,
    };
    let objs = exposure::objects(&with(ingress_mode(Some(tls))), &inputs(true));
    assert_eq!(kinds(&objs), vec!["Ingress"]);
    assert_eq!(objs[0].body["spec"]["tls"][0]["secretName"], "my-cert");
}

#[test]
fn public_tls_secret_is_the_one_the_ingress_serves() {
    let cert_manager = ExposureTls {
        secret_name: None,
        cert_manager: Some(PublicCertManager {
            issuer_ref: IssuerRef {
                name: "letsencrypt".into(),
                kind: IssuerKind::ClusterIssuer,
            },
        }),
    };
    let own = ExposureTls {
        secret_name: Some("my-cert".into()),
        cert_manager: None,
    };
    for tls in [cert_manager, own] {
        let bp = with(ingress_mode(Some(tls)));
        let objs = exposure::objects(&bp, &inputs(true));
        assert_eq!(
            exposure::public_tls_secret(&bp).as_deref(),
            objs[0].body["spec"]["tls"][0]["secretName"].as_str()
        );
    }
    // Plain HTTP and the other modes have no public TLS Secret of their own.
    assert_eq!(exposure::public_tls_secret(&with(ingress_mode(None))), None);
    assert_eq!(exposure::public_tls_secret(&with(gateway_mode())), None);
    assert_eq!(exposure::public_tls_secret(&sample()), None);
}

#[test]
fn http_route_attaches_to_the_users_gateway_only() {
    let bp = with(gateway_mode());
    let objs = exposure::objects(&bp, &inputs(true));
    assert_eq!(kinds(&objs), vec!["HTTPRoute"]);
    let r = &objs[0].body;
    assert_eq!(
        r["spec"]["parentRefs"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways", "sectionName": "https"}])
    );
    assert_eq!(r["spec"]["hostnames"], json!(["bp.example.com"]));
    let rules: Vec<(String, String, i64)> = r["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["matches"][0]["path"]["value"].as_str().unwrap().into(),
                x["backendRefs"][0]["name"].as_str().unwrap().into(),
                x["backendRefs"][0]["port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            ("/_ditto/auth".into(), "prod-subscription".into(), 8080),
            ("/_ditto".into(), "prod-subscription".into(), 8080),
            ("/".into(), "prod-api".into(), 10080),
        ]
    );
    let timeouts: Vec<&Value> = r["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["timeouts"])
        .collect();
    assert_eq!(
        timeouts,
        vec![
            &json!({"request": "0s"}),
            &json!({"request": "0s"}),
            &Value::Null
        ],
        "only the WebSocket sync and auth rules get the sync timeout"
    );
    assert!(exposure::objects(&bp, &inputs(false)).is_empty());
}

#[test]
fn routes_one_per_path_with_tls() {
    let bp = with(route_mode());
    let objs = exposure::objects(&bp, &inputs(true));
    assert_eq!(kinds(&objs), vec!["Route", "Route", "Route"]);
    let names: Vec<&str> = objs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["prod-auth", "prod-sync", "prod-api"]);
    for o in &objs {
        assert_eq!(o.body["spec"]["host"], "bp.example.com");
        assert_eq!(o.body["spec"]["tls"]["termination"], "edge");
        assert_eq!(
            o.body["spec"]["tls"]["insecureEdgeTerminationPolicy"],
            "Redirect"
        );
        assert_eq!(
            o.body["spec"]["tls"]["externalCertificate"]["name"],
            "bp-cert"
        );
        assert_eq!(o.body["metadata"]["annotations"], json!(annotations()));
    }
    assert_eq!(objs[2].body["spec"]["to"]["name"], "prod-api");
    assert_eq!(objs[2].body["spec"]["port"]["targetPort"], "http");
    assert!(exposure::objects(&bp, &inputs(false)).is_empty());
}

fn expose_strategy() -> impl Strategy<Value = ExposeSpec> {
    prop_oneof![
        Just(ExposeSpec::default()),
        Just(ExposeSpec {
            none: Some(NoExposure {}),
            ..Default::default()
        }),
        Just(ExposeSpec {
            load_balancer: Some(LoadBalancerExposure::default()),
            ..Default::default()
        }),
        Just(ExposeSpec {
            node_port: Some(NodePortExposure::default()),
            ..Default::default()
        }),
        Just(ingress_mode(None)),
        Just(gateway_mode()),
        Just(route_mode()),
    ]
}

/// Kinds a mode may produce.
fn kinds_of(mode: ExposureMode) -> &'static [&'static str] {
    match mode {
        ExposureMode::None => &[],
        ExposureMode::LoadBalancer | ExposureMode::NodePort => &["Service"],
        ExposureMode::Ingress => &["Ingress", "Certificate"],
        ExposureMode::GatewayApi => &["HTTPRoute"],
        ExposureMode::Route => &["Route"],
    }
}

proptest! {
    /// Whatever the mode and the installed APIs, the exposure objects are of that mode's
    /// kinds only, so switching modes leaves the previous mode's objects to the prune; and
    /// they are owned by the BigPeer like every other object.
    #[test]
    fn a_mode_builds_only_its_own_kinds(expose in expose_strategy(), apis in any::<bool>()) {
        let bp = with(expose);
        let mode = bp.spec.network.mode();
        for o in exposure::objects(&bp, &inputs(apis)) {
            prop_assert!(kinds_of(mode).contains(&o.resource.kind.as_str()), "{mode:?} built {}", o.key());
            prop_assert_eq!(&o.body["metadata"]["ownerReferences"][0]["uid"], "u-1");
            prop_assert_eq!(&o.body["metadata"]["labels"]["app.kubernetes.io/component"], "public");
        }
        // Exposure never changes the ClusterIP Services or the workloads.
        let plain = desired(&sample(), &inputs(apis));
        let exposed = desired(&bp, &inputs(apis));
        for o in plain.iter().filter(|o| o.resource.kind != "NetworkPolicy") {
            prop_assert!(exposed.contains(o), "{} changed", o.key());
        }
    }
}
