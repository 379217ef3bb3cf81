//! The examples of `docs/exposure.md` (`docs/examples/exposure/*.yaml`) hold: each is a
//! namespace-less BigPeer whose every field is understood by the operator, exposed in the
//! mode its file name starts with, and what it builds carries the example's annotations
//! untouched and routes Big Peer's three paths. A file added to the directory without being
//! listed here fails the suite.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use smbp_operator::api::{BigPeer, ExposureMode};
use smbp_operator::build::{DesiredObject, exposure};

use crate::exposure::inputs;

const DIR: &str = "docs/examples/exposure";

macro_rules! example {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../docs/examples/exposure/", $file)),
        )
    };
}

/// Every example, by file name.
const EXAMPLES: [(&str, &str); 6] = [
    example!("gatewayapi-envoy-gateway.yaml"),
    example!("ingress-nginx.yaml"),
    example!("ingress-traefik.yaml"),
    example!("loadbalancer-aws-nlb.yaml"),
    example!("nodeport.yaml"),
    example!("route-openshift.yaml"),
];

struct Example {
    file: &'static str,
    raw: Value,
    bp: BigPeer,
}

fn examples() -> Vec<Example> {
    EXAMPLES
        .iter()
        .map(|(file, text)| {
            let raw: Value =
                serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
            let bp: BigPeer = serde_json::from_value(raw.clone())
                .unwrap_or_else(|e| panic!("{file} is not a BigPeer: {e}"));
            Example { file, raw, bp }
        })
        .collect()
}

/// The example as the operator sees it once applied to a namespace.
fn applied(bp: &BigPeer) -> BigPeer {
    let mut bp = bp.clone();
    bp.metadata.namespace = Some("bigpeer".into());
    bp.metadata.uid = Some("u-1".into());
    bp
}

/// Every value written in `written` is in `read` (the example read back through the API
/// types), so no field of the example is silently ignored.
fn assert_kept(file: &str, at: &str, written: &Value, read: &Value) {
    match (written, read) {
        (Value::Object(w), Value::Object(r)) => {
            for (k, v) in w {
                let at = format!("{at}.{k}");
                let got = r
                    .get(k)
                    .unwrap_or_else(|| panic!("{file}: {at} is not a field the operator knows"));
                assert_kept(file, &at, v, got);
            }
        }
        (Value::Array(w), Value::Array(r)) => {
            assert_eq!(w.len(), r.len(), "{file}: {at} lost entries");
            for (i, (v, got)) in w.iter().zip(r).enumerate() {
                assert_kept(file, &format!("{at}[{i}]"), v, got);
            }
        }
        _ => assert_eq!(written, read, "{file}: {at} changed when read"),
    }
}

/// The mode a file name announces: the part before the first `-` or `.`.
fn mode_of_file(file: &str) -> &str {
    file.split(['-', '.']).next().unwrap_or_default()
}

/// The annotations the example gives for its mode.
fn users_annotations(bp: &BigPeer) -> BTreeMap<String, String> {
    let e = bp.spec.network.expose.clone().unwrap_or_default();
    match bp.spec.network.mode() {
        ExposureMode::None => BTreeMap::new(),
        ExposureMode::LoadBalancer => e.load_balancer.unwrap_or_default().annotations,
        ExposureMode::NodePort => e.node_port.unwrap_or_default().annotations,
        ExposureMode::Ingress => e.ingress.unwrap_or_default().annotations,
        ExposureMode::GatewayApi => e.gateway_api.unwrap_or_default().annotations,
        ExposureMode::Route => e.route.unwrap_or_default().annotations,
    }
}

/// The objects clients reach Big Peer through (not the Certificate).
fn fronts(objs: &[DesiredObject]) -> Vec<&DesiredObject> {
    objs.iter()
        .filter(|o| o.resource.kind != "Certificate")
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// (path or port name, Service, Service port) of every way in, in the order built.
fn ways_in(objs: &[&DesiredObject]) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for o in objs {
        let b = &o.body;
        match o.resource.kind.as_str() {
            "Ingress" => {
                for p in b["spec"]["rules"][0]["http"]["paths"].as_array().unwrap() {
                    assert_eq!(p["pathType"], "Prefix");
                    let svc = &p["backend"]["service"];
                    out.push((
                        text(&p["path"]),
                        text(&svc["name"]),
                        text(&svc["port"]["name"]),
                    ));
                }
            }
            "HTTPRoute" => {
                for r in b["spec"]["rules"].as_array().unwrap() {
                    assert_eq!(r["matches"][0]["path"]["type"], "PathPrefix");
                    let be = &r["backendRefs"][0];
                    out.push((
                        text(&r["matches"][0]["path"]["value"]),
                        text(&be["name"]),
                        text(&be["port"]),
                    ));
                }
            }
            "Route" => out.push((
                text(&b["spec"]["path"]),
                text(&b["spec"]["to"]["name"]),
                text(&b["spec"]["port"]["targetPort"]),
            )),
            "Service" => {
                // Layer 4: one port per server; the target port's name picks the pods.
                for p in b["spec"]["ports"].as_array().unwrap() {
                    assert_eq!(p["name"], p["targetPort"], "{}", o.key());
                    out.push((
                        text(&p["name"]),
                        text(&o.body["metadata"]["name"]),
                        text(&p["port"]),
                    ));
                }
            }
            other => panic!("unexpected exposure object {other}"),
        }
    }
    out
}

fn s3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn every_example_in_the_directory_is_checked() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = EXAMPLES.iter().map(|(f, _)| f.to_string()).collect();
    known.sort();
    assert_eq!(
        on_disk, known,
        "every file in {DIR} must be listed in EXAMPLES (tests/build/exposure_examples.rs)"
    );
}

#[test]
fn examples_are_namespace_less_bigpeers_with_no_ignored_field() {
    for ex in examples() {
        assert_eq!(ex.raw["apiVersion"], "smbp.io/v1alpha1", "{}", ex.file);
        assert_eq!(ex.raw["kind"], "BigPeer", "{}", ex.file);
        assert!(
            ex.raw["metadata"].get("namespace").is_none(),
            "{}: leave the namespace to `kubectl apply -n`",
            ex.file
        );
        let read = serde_json::to_value(&ex.bp).unwrap();
        assert_kept(ex.file, "", &ex.raw, &read);
    }
}

#[test]
fn examples_use_the_mode_their_file_name_says_and_cover_every_mode() {
    let mut modes = vec![];
    for ex in examples() {
        let mode = ex.bp.spec.network.mode();
        assert_eq!(
            mode_of_file(ex.file),
            mode.as_str().to_ascii_lowercase(),
            "{} exposes Big Peer through {}",
            ex.file,
            mode.as_str()
        );
        modes.push(mode.as_str());
    }
    modes.sort();
    modes.dedup();
    assert_eq!(
        modes,
        vec!["gatewayAPI", "ingress", "loadBalancer", "nodePort", "route"],
        "an example per exposure mode"
    );
}

#[test]
fn examples_annotations_arrive_untouched() {
    let mut annotated = 0;
    for ex in examples() {
        let bp = applied(&ex.bp);
        let wanted = users_annotations(&bp);
        annotated += usize::from(!wanted.is_empty());
        let objs = exposure::objects(&bp, &inputs(true));
        let fronts = fronts(&objs);
        assert!(!fronts.is_empty(), "{} builds nothing", ex.file);
        for o in fronts {
            let got = o.body["metadata"].get("annotations").cloned();
            let want = (!wanted.is_empty()).then(|| json!(wanted));
            assert_eq!(got, want, "{}: annotations of {}", ex.file, o.key());
        }
        for o in objs.iter().filter(|o| o.resource.kind == "Certificate") {
            assert!(
                o.body["metadata"].get("annotations").is_none(),
                "{}",
                ex.file
            );
        }
    }
    assert!(
        annotated >= 5,
        "the examples show controller settings as annotations"
    );
}

#[test]
fn examples_route_the_three_paths_on_the_host() {
    for ex in examples() {
        let bp = applied(&ex.bp);
        let name = bp.metadata.name.clone().unwrap();
        let (sub, api) = (format!("{name}-subscription"), format!("{name}-api"));
        let host = bp.spec.network.hostname.clone().unwrap_or_default();
        let objs = exposure::objects(&bp, &inputs(true));
        let fronts = fronts(&objs);
        let mode = bp.spec.network.mode();
        let expected = match mode {
            ExposureMode::Ingress | ExposureMode::Route => vec![
                s3("/_ditto/auth", &sub, "sync"),
                s3("/_ditto", &sub, "sync"),
                s3("/", &api, "http"),
            ],
            ExposureMode::GatewayApi => vec![
                s3("/_ditto/auth", &sub, "8080"),
                s3("/_ditto", &sub, "8080"),
                s3("/", &api, "10080"),
            ],
            ExposureMode::LoadBalancer | ExposureMode::NodePort => {
                let public = format!("{name}-public");
                vec![s3("sync", &public, "8080"), s3("http", &public, "10080")]
            }
            ExposureMode::None => vec![],
        };
        assert_eq!(ways_in(&fronts), expected, "{}", ex.file);
        for o in &fronts {
            let b = &o.body;
            match o.resource.kind.as_str() {
                "Ingress" => assert_eq!(b["spec"]["rules"][0]["host"], host, "{}", ex.file),
                "HTTPRoute" => assert_eq!(b["spec"]["hostnames"], json!([host]), "{}", ex.file),
                "Route" => assert_eq!(b["spec"]["host"], host, "{}", ex.file),
                _ => {
                    // Both ports select every pod of this BigPeer; the named target
                    // ports pick the subscription or api pods.
                    let sel = b["spec"]["selector"].as_object().unwrap();
                    assert_eq!(sel["app.kubernetes.io/instance"], name.as_str());
                    assert!(!sel.contains_key("app.kubernetes.io/component"));
                }
            }
        }
        if mode == ExposureMode::GatewayApi {
            let gw = bp.spec.network.expose.clone().unwrap().gateway_api.unwrap();
            let timeout = gw.sync_request_timeout.expect("the Envoy example lifts it");
            let rules = fronts[0].body["spec"]["rules"].as_array().unwrap();
            for r in rules {
                let sync = text(&r["matches"][0]["path"]["value"]).starts_with("/_ditto");
                let want = if sync {
                    json!({ "request": timeout })
                } else {
                    Value::Null
                };
                assert_eq!(r["timeouts"], want, "{}", ex.file);
            }
        }
    }
}

#[test]
fn mode_of_file_reads_the_prefix() {
    assert_eq!(mode_of_file("ingress-nginx.yaml"), "ingress");
    assert_eq!(mode_of_file("nodeport.yaml"), "nodeport");
    assert_eq!(mode_of_file("gatewayapi-envoy-gateway.yaml"), "gatewayapi");
}
