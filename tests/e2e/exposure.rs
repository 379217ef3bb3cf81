//! Exposure modes on the real API server, with the real Gateway API and OpenShift Route CRDs
//! and real cert-manager: every mode's objects are accepted, switching modes removes the
//! previous mode's objects, TLS for the host is issued by cert-manager, and a mode whose API
//! is missing gives a condition and an Event instead of a crash.
//!
//! The examples of docs/exposure.md are dry-run applied, with what the operator builds from
//! them, so the documented manifests stay valid against the real schemas.
//!
//! No ingress controller, Gateway controller, router or load balancer runs here. Where the
//! operator waits for one of them, the test writes the status that controller would write
//! (through the API server, as a controller does) and checks the operator's reading of it.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use smbp_operator::api::BigPeer;
use smbp_operator::build::{BuildInputs, exposure};
use smbp_operator::thirdparty;

use crate::harness::*;

const LONG: Duration = Duration::from_secs(180);
const BP: &str = "expo";
const HOST: &str = "expo.example.com";

fn dynamic(client: &Client, ns: &str, ar: &kube::core::ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, ar)
}

async fn set_expose(client: &Client, body: &mut Value, expose: Value) {
    body["spec"]["network"] = json!({"hostname": HOST, "expose": expose});
    apply_bigpeer(client, body)
        .await
        .expect("exposure accepted");
}

/// Wait until `Exposed` has this reason, and return the BigPeer.
async fn exposed(client: &Client, ns: &str, reason: &str) -> BigPeer {
    let api: Api<BigPeer> = Api::namespaced(client.clone(), ns);
    wait_for(&format!("Exposed reason {reason}"), LONG, || async {
        let bp = api.get(BP).await.ok()?;
        let fresh = bp.status.as_ref()?.observed_generation == bp.metadata.generation;
        let c = condition(&bp, "Exposed")?;
        (fresh && c.1 == reason).then_some(bp)
    })
    .await
}

fn urls(bp: &BigPeer) -> Vec<String> {
    bp.status
        .as_ref()
        .and_then(|s| s.exposure.as_ref())
        .map(|e| e.endpoints.iter().map(|e| e.url.clone()).collect())
        .unwrap_or_default()
}

fn tls(bp: &BigPeer) -> String {
    bp.status
        .as_ref()
        .unwrap()
        .exposure
        .as_ref()
        .unwrap()
        .tls
        .clone()
}

async fn gone(api: &Api<DynamicObject>, name: &str) {
    wait_for(&format!("{name} pruned"), LONG, || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

/// Status a controller writes, through the status subresource.
async fn write_status<K>(api: &Api<K>, name: &str, status: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await
    .expect("status written");
}

#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn exposure_modes_switch_cleanly_and_report_endpoints() {
    let client = admin().await;
    remove_crds(&client, thirdparty::GATEWAY_API_GROUP).await;
    remove_crds(&client, thirdparty::OPENSHIFT_ROUTE_GROUP).await;
    run_addons("up", &["certmanager"]);
    let kubeconfig = install(&client).await;
    let ns = namespace(&client, "e2e-expose").await;
    let op = Operator::start(&kubeconfig, "expose", 18150, false);
    let mut body = bigpeer(BP, &ns);

    // Gateway API not installed: the BigPeer runs, says why it is not exposed, and warns.
    let gateway =
        json!({"gatewayAPI": {"parentRefs": [{"name": "public", "sectionName": "https"}]}});
    set_expose(&client, &mut body, gateway).await;
    let bp = exposed(&client, &ns, "GatewayAPINotInstalled").await;
    assert_eq!(
        condition(&bp, "Degraded").unwrap().1,
        "GatewayAPINotInstalled"
    );
    wait_ready(&client, &ns, BP, LONG).await;
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "IntegrationMissing")
    );

    // Install the Gateway API: the HTTPRoute is created and accepted by the API server.
    install_crds(&["gatewayapi"]);
    let routes = dynamic(&client, &ns, &thirdparty::http_route());
    let route = wait_for("HTTPRoute created", LONG, || async {
        routes.get_opt(BP).await.ok()?
    })
    .await;
    assert_eq!(route.data["spec"]["hostnames"], json!([HOST]));
    assert_eq!(route.data["spec"]["parentRefs"][0]["name"], "public");
    assert_eq!(route.data["spec"]["rules"].as_array().unwrap().len(), 3);
    exposed(&client, &ns, "WaitingForGateway").await;
    // The user's Gateway (never touched by the operator) with an HTTPS listener, and the
    // verdict its controller would write.
    dynamic(&client, &ns, &thirdparty::gateway())
        .patch("public", &PatchParams::apply("e2e").force(), &Patch::Apply(json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "public", "namespace": ns},
            "spec": {"gatewayClassName": "example", "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS",
                     "hostname": HOST, "tls": {"certificateRefs": [{"name": "gw-cert"}]}}]}
        })))
        .await
        .unwrap();
    write_status(&routes, BP, json!({"parents": [{
        "parentRef": {"name": "public", "sectionName": "https"},
        "controllerName": "example.com/e2e-gateway",
        "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}]})).await;
    let bp = exposed(&client, &ns, "RouteAccepted").await;
    assert_eq!(tls(&bp), "External");
    assert_eq!(
        urls(&bp),
        vec![
            format!("https://{HOST}/_ditto/auth"),
            format!("wss://{HOST}/_ditto"),
            format!("https://{HOST}/"),
        ]
    );
    assert_eq!(condition(&bp, "Degraded").unwrap().0, "False");

    // Ingress with TLS from cert-manager: the HTTPRoute goes, the certificate for the host
    // is really issued.
    let certs = dynamic(&client, &ns, &thirdparty::issuer());
    certs
        .patch(
            "selfsigned",
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}
            })),
        )
        .await
        .unwrap();
    let ingress = json!({"ingress": {
        "ingressClassName": "nginx",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"},
        "tls": {"certManager": {"issuerRef": {"name": "selfsigned"}}}}});
    set_expose(&client, &mut body, ingress).await;
    gone(&routes, BP).await;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &ns);
    let ing = wait_for("Ingress created", LONG, || async {
        ingresses.get_opt(BP).await.ok()?
    })
    .await;
    let spec = ing.spec.clone().unwrap();
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    assert_eq!(
        ing.metadata.annotations.unwrap()["nginx.ingress.kubernetes.io/proxy-read-timeout"],
        "3600"
    );
    assert_eq!(spec.rules.unwrap()[0].http.as_ref().unwrap().paths.len(), 3);
    let secret_name = format!("{BP}-public-tls");
    assert_eq!(
        spec.tls.unwrap()[0].secret_name.as_deref(),
        Some(secret_name.as_str())
    );
    // cert-manager issues it; then only the (absent) ingress controller is awaited.
    let bp = exposed(&client, &ns, "WaitingForIngressController").await;
    assert_eq!(tls(&bp), "Ready");
    assert_eq!(urls(&bp)[1], format!("wss://{HOST}/_ditto"));
    let secret = Api::<Secret>::namespaced(client.clone(), &ns)
        .get(&secret_name)
        .await
        .unwrap();
    assert!(secret.data.unwrap().contains_key("tls.crt"));
    let cert = dynamic(&client, &ns, &thirdparty::certificate())
        .get(&secret_name)
        .await
        .unwrap();
    assert_eq!(cert.data["spec"]["dnsNames"], json!([HOST]));
    write_status(
        &ingresses,
        BP,
        json!({"loadBalancer": {"ingress": [{"ip": "198.51.100.10"}]}}),
    )
    .await;
    let bp = exposed(&client, &ns, "IngressReady").await;
    assert!(
        condition(&bp, "Exposed")
            .unwrap()
            .2
            .contains("198.51.100.10")
    );

    // OpenShift Routes: missing API first, then installed.
    set_expose(
        &client,
        &mut body,
        json!({"route": {"tls": {"termination": "Edge"}}}),
    )
    .await;
    exposed(&client, &ns, "RouteAPINotInstalled").await;
    wait_for("Ingress pruned", LONG, || async {
        ingresses.get_opt(BP).await.ok()?.is_none().then_some(())
    })
    .await;
    gone(
        &dynamic(&client, &ns, &thirdparty::certificate()),
        &secret_name,
    )
    .await;
    install_crds(&["openshiftroute"]);
    let os_routes = dynamic(&client, &ns, &thirdparty::openshift_route());
    for path in ["auth", "sync", "api"] {
        let r = wait_for("Route created", LONG, || async {
            os_routes.get_opt(&format!("{BP}-{path}")).await.ok()?
        })
        .await;
        assert_eq!(r.data["spec"]["host"], HOST);
        assert_eq!(r.data["spec"]["tls"]["termination"], "edge");
    }
    exposed(&client, &ns, "WaitingForRouter").await;

    // LoadBalancer: Routes go; the address comes from the load balancer implementation.
    set_expose(
        &client,
        &mut body,
        json!({"loadBalancer": {
        "loadBalancerSourceRanges": ["203.0.113.0/24"], "externalTrafficPolicy": "Local",
        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}}}),
    )
    .await;
    for path in ["auth", "sync", "api"] {
        gone(&os_routes, &format!("{BP}-{path}")).await;
    }
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let public = format!("{BP}-public");
    let svc = wait_for("public Service", LONG, || async {
        services.get_opt(&public).await.ok()?
    })
    .await;
    let s = svc.spec.unwrap();
    assert_eq!(s.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(s.external_traffic_policy.as_deref(), Some("Local"));
    exposed(&client, &ns, "WaitingForLoadBalancer").await;
    write_status(
        &services,
        &public,
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.20"}]}}),
    )
    .await;
    let bp = exposed(&client, &ns, "LoadBalancerReady").await;
    assert_eq!(urls(&bp)[2], format!("http://{HOST}:10080/"));

    // NodePort: the same Service changes type; the API server allocates the node ports.
    set_expose(&client, &mut body, json!({"nodePort": {}})).await;
    let bp = exposed(&client, &ns, "NodePortsAssigned").await;
    let svc = services.get(&public).await.unwrap();
    let ports = svc.spec.unwrap().ports.unwrap();
    let sync_port = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("sync"))
        .unwrap()
        .node_port
        .unwrap();
    assert_eq!(urls(&bp)[1], format!("ws://{HOST}:{sync_port}/_ditto"));

    // Back to none: only the ClusterIP Services remain.
    body["spec"]["network"] = json!({});
    apply_bigpeer(&client, &body).await.unwrap();
    let bp = exposed(&client, &ns, "ClusterIPOnly").await;
    wait_for("public Service pruned", LONG, || async {
        services
            .get_opt(&public)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(urls(&bp)[2], format!("http://{BP}-api.{ns}.svc:10080/"));
    assert!(
        event_reasons(&client, &ns)
            .await
            .iter()
            .any(|r| r == "Pruned")
    );

    drop(op);
    run_addons("down", &["certmanager"]);
    remove_crds(&client, thirdparty::GATEWAY_API_GROUP).await;
    remove_crds(&client, thirdparty::OPENSHIFT_ROUTE_GROUP).await;
}

/// Whether any CRD of an API group is installed.
async fn crd_group_installed(client: &Client, group: &str) -> bool {
    Api::<CustomResourceDefinition>::all(client.clone())
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .any(|c| c.spec.group == group)
}

/// Deletes the CRDs of its API groups when dropped, also when the test fails, so later tests
/// start clean. Runs on a thread of its own with its own client: the test's runtime is not
/// available inside `drop`.
struct RemoveCrdsOnDrop(Vec<&'static str>);

impl Drop for RemoveCrdsOnDrop {
    fn drop(&mut self) {
        let groups = std::mem::take(&mut self.0);
        let cleanup = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    let client = admin().await;
                    for g in groups {
                        remove_crds(&client, g).await;
                    }
                });
        });
        if cleanup.join().is_err() {
            eprintln!("could not remove the CRDs of the exposure examples test");
        }
    }
}

/// The examples of docs/exposure.md on the real API server, with the real Gateway API, Route
/// and cert-manager CRDs: each BigPeer passes the CRD's schema and CEL rules, and every object
/// the operator builds from it (annotations included) passes the schema of its kind. Dry run
/// with strict field validation: a misspelt field fails, nothing is stored.
#[tokio::test]
#[ignore = "needs the local control plane: run `make e2e`"]
async fn exposure_examples_are_accepted_by_the_api_server() {
    let started = std::time::Instant::now();
    let client = admin().await;
    install(&client).await;
    // cert-manager's CRDs (for the Certificate of the ingress-nginx example) are left alone
    // when an add-on brought them already.
    let mut installed = vec![
        thirdparty::GATEWAY_API_GROUP,
        thirdparty::OPENSHIFT_ROUTE_GROUP,
    ];
    if !crd_group_installed(&client, thirdparty::CERT_MANAGER_GROUP).await {
        installed.extend([thirdparty::CERT_MANAGER_GROUP, "acme.cert-manager.io"]);
    }
    let _cleanup = RemoveCrdsOnDrop(installed.clone());
    let mut crd_kinds = vec!["gatewayapi", "openshiftroute"];
    if installed.contains(&thirdparty::CERT_MANAGER_GROUP) {
        crd_kinds.push("certmanager");
    }
    install_crds(&crd_kinds);
    let ns = namespace(&client, "e2e-examples").await;
    let dry = PatchParams::apply("e2e").dry_run().validation_strict();
    let offline = |bp: &BigPeer| BuildInputs::offline(bp, vec![]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/exposure");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "examples in {}", dir.display());
    let bigpeers: Api<BigPeer> = Api::namespaced(client.clone(), &ns);
    let mut kinds = std::collections::BTreeSet::new();
    for file in &files {
        let shown = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut body: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        body["metadata"]["namespace"] = json!(ns);
        let name = body["metadata"]["name"].as_str().unwrap().to_string();
        let mut bp = bigpeers
            .patch(&name, &dry, &Patch::Apply(&body))
            .await
            .unwrap_or_else(|e| panic!("{shown} refused: {e}"));
        if bp.metadata.uid.is_none() {
            bp.metadata.uid = Some("00000000-0000-0000-0000-000000000001".into());
        }
        let objects = exposure::objects(&bp, &offline(&bp));
        assert!(!objects.is_empty(), "{shown} builds no exposure object");
        for o in objects {
            let back = dynamic(&client, &ns, &o.resource)
                .patch(&o.name, &dry, &Patch::Apply(&o.body))
                .await
                .unwrap_or_else(|e| panic!("{shown}: {} refused: {e}", o.key()));
            let sent: Option<std::collections::BTreeMap<String, String>> =
                serde_json::from_value(o.body["metadata"]["annotations"].clone()).unwrap();
            assert_eq!(
                back.metadata.annotations,
                sent,
                "{shown}: annotations of {}",
                o.key()
            );
            kinds.insert(o.resource.kind.clone());
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["Certificate", "HTTPRoute", "Ingress", "Route", "Service"],
        "every exposure kind was checked"
    );
    assert!(
        bigpeers
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "a dry run stores nothing"
    );

    eprintln!("exposure examples checked in {:?}", started.elapsed());
}
