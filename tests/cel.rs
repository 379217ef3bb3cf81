//! The CRDs' CEL rules, evaluated client-side with kube's CEL interpreter, and the corpus of
//! invalid BigPeers, BigPeerApps and BigPeerApiKeys (`tests/corpus/invalid/cel-*.yaml`) they
//! refuse.
//!
//! The client-side interpreter evaluates `x-kubernetes-validations` only: what the schema itself
//! refuses (enums, minimum and maximum, lengths) is checked by the API server alone, so those
//! corpus cases are listed in [`SERVER_ONLY`]. `corpus_against_api_server` (ignored by default)
//! applies every case to a real API server: `KUBECONFIG=... cargo test --test cel -- --ignored`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use kube::core::cel::{ErrorKind, Validator};
use serde::Deserialize;
use serde_json::{Value, json};
use smbp_operator::api::{
    BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication,
};
use smbp_operator::testing::{SAMPLE_YAML, sample_yaml};

fn sample() -> Value {
    serde_yaml_ng::from_str(SAMPLE_YAML).unwrap()
}

/// The sample of `kind` in config/samples.
fn sample_of(kind: &str) -> Value {
    serde_yaml_ng::from_str(sample_yaml(kind)).unwrap()
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let mut cur = v;
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        if cur.get(part).is_none() {
            cur[part] = json!({});
        }
        cur = cur.get_mut(part).unwrap();
    }
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(key);
    } else {
        cur[key] = value;
    }
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// The schema of the CRD of `kind` (generated once).
fn schema(kind: &str) -> &'static Value {
    type Schemas = std::collections::BTreeMap<&'static str, Value>;
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        let of = |crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
            serde_json::to_value(
                crd.spec.versions[0]
                    .schema
                    .as_ref()
                    .unwrap()
                    .open_api_v3_schema
                    .as_ref()
                    .unwrap(),
            )
            .unwrap()
        };
        [
            ("BigPeer", of(BigPeer::crd())),
            ("BigPeerApp", of(BigPeerApp::crd())),
            ("BigPeerApiKey", of(BigPeerApiKey::crd())),
            ("BigPeerReplication", of(BigPeerReplication::crd())),
            ("BigPeerDataBridge", of(BigPeerDataBridge::crd())),
        ]
        .into()
    });
    schemas
        .get(kind)
        .unwrap_or_else(|| panic!("no CRD of kind {kind}"))
}

/// The client-side CEL refusals of `v` (an update of `old` when given), one line each; empty
/// when accepted. Works on JSON, so values the Rust types could not hold are checked too. The
/// schema is that of `v`'s kind.
fn errors(v: &Value, old: Option<&Value>) -> String {
    let kind = v["kind"].as_str().expect("the object has a kind");
    match Validator::new().validate(schema(kind), v, old) {
        Ok(()) => String::new(),
        Err(e) => {
            // kube-cel has no `type()`: the `endPort` rule of NetworkPolicy ports (only for a
            // numeric port) cannot run client-side, and its cases are checked against the API
            // server only (CLIENT_UNSUPPORTED).
            let e: Vec<_> = e
                .iter()
                .filter(|e| {
                    !(e.kind == ErrorKind::UnsupportedReference && e.rule.contains("type(self"))
                })
                .collect();
            if e.is_empty() {
                String::new()
            } else {
                format!("{e:?}")
            }
        }
    }
}

#[test]
fn samples_are_valid() {
    for kind in KINDS {
        assert_eq!(errors(&sample_of(kind), None), "", "{kind}");
        assert_eq!(
            errors(&sample_of(kind), Some(&sample_of(kind))),
            "",
            "{kind}"
        );
    }
}

const KINDS: [&str; 5] = [
    "BigPeer",
    "BigPeerApp",
    "BigPeerApiKey",
    "BigPeerReplication",
    "BigPeerDataBridge",
];

/// (patches, expected message fragment)
fn invalid_cases() -> Vec<(Vec<(&'static str, Value)>, &'static str)> {
    vec![
        (
            vec![("/spec/store/minimumReplicationFactor", json!(4))],
            "minimumReplicationFactor must not exceed",
        ),
        (
            vec![
                ("/spec/store/replicationFactor", json!(4)),
                ("/spec/store/minimumReplicationFactor", json!(2)),
            ],
            "replicationFactor must not exceed store.replicas",
        ),
        (
            vec![("/spec/store/replicas", json!(2))],
            "replicationFactor must not exceed store.replicas",
        ),
        (
            vec![(
                "/spec/transactionLog/external",
                json!({"bootstrapServers": ["k:9092"]}),
            )],
            "exactly one of transactionLog.strimzi",
        ),
        (
            vec![("/spec/transactionLog/strimzi", json!(null))],
            "exactly one of transactionLog.strimzi",
        ),
        (
            vec![(
                "/spec/auth/keys/secrets",
                json!({"ca": {"name": "a"}, "inBand": {"name": "b"}, "jwt": {"name": "c"}}),
            )],
            "exactly one of auth.keys",
        ),
        (
            vec![("/spec/auth/keys/certManager", json!(null))],
            "exactly one of auth.keys",
        ),
        (
            vec![("/spec/version", json!("latest"))],
            "version must be a Big Peer release",
        ),
        (
            vec![(
                "/spec/auth/providers/tokenWebhook/url",
                json!("http://auth.example.com"),
            )],
            "must start with https://",
        ),
        (
            vec![(
                "/spec/auth/providers/tokenWebhook/url",
                json!("https://user:pw@auth.example.com/x"),
            )],
            "must not carry credentials",
        ),
        (
            vec![
                ("/spec/transactionLog/strimzi", json!(null)),
                (
                    "/spec/transactionLog/external",
                    json!({"bootstrapServers": ["kafka"]}),
                ),
            ],
            "host:port",
        ),
        (
            vec![
                ("/spec/transactionLog/strimzi", json!(null)),
                (
                    "/spec/transactionLog/external",
                    json!({"bootstrapServers": ["k:9092"], "sasl": {"secretRef": {"name": "s"}}, "mtls": {"name": "m"}}),
                ),
            ],
            "choose one client authentication",
        ),
        (
            vec![("/spec/transactionLog/topic/name", json!("bad topic!"))],
            "topic.name may use only",
        ),
        (
            vec![("/spec/image/pullSecrets", json!([{"name": "Bad_Name"}]))],
            "DNS subdomain",
        ),
        (
            vec![("/spec/store/storage/size", json!("lots"))],
            "positive quantity",
        ),
        (
            vec![(
                "/metadata/name",
                json!("a-very-long-bigpeer-name-that-is-over-forty-chars"),
            )],
            "at most 40 characters",
        ),
    ]
}

#[test]
fn invalid_specs_are_rejected_with_actionable_messages() {
    for (patches, expected) in invalid_cases() {
        let mut v = sample();
        for (p, val) in &patches {
            set(&mut v, p, val.clone());
        }
        let e = errors(&v, None);
        assert!(
            e.contains(expected),
            "{patches:?}: expected '{expected}', got '{e}'"
        );
    }
}

#[test]
fn transition_rules() {
    let old = sample();
    let mut shrink = sample();
    set(&mut shrink, "/spec/store/storage/size", json!("10Gi"));
    assert!(errors(&shrink, Some(&old)).contains("cannot shrink"));
    let mut grow = sample();
    set(&mut grow, "/spec/store/storage/size", json!("100Gi"));
    assert_eq!(errors(&grow, Some(&old)), "");
    let mut class = sample();
    set(
        &mut class,
        "/spec/store/storage/storageClassName",
        json!("fast"),
    );
    assert!(errors(&class, Some(&old)).contains("storageClassName cannot be"));
}

/// The shrink rule neither errors on a size that is not a quantity nor blames a shrink that did
/// not happen: an old object stored with a bad size (before the rule existed) can be fixed.
#[test]
fn shrink_rule_is_guarded_by_is_quantity() {
    let mut old = sample();
    set(&mut old, "/spec/store/storage/size", json!("lots"));
    let fixed = sample();
    let e = errors(&fixed, Some(&old));
    assert!(!e.contains("shrink"), "{e}");
    let mut still_bad = sample();
    set(&mut still_bad, "/spec/store/storage/size", json!("lots"));
    let e = errors(&still_bad, Some(&old));
    assert!(!e.contains("shrink"), "{e}");
    assert!(e.contains("positive quantity"), "{e}");
}

/// Valid values the rules must keep accepting.
#[test]
fn valid_values_stay_accepted() {
    let ok = |patch: Value| {
        let mut v = sample();
        merge(&mut v, &patch);
        let e = errors(&v, None);
        assert_eq!(e, "", "{patch}");
    };
    for interval in ["30s", "1m", "1h30m", "1d", "2w", "500ms", "1y"] {
        ok(json!({"spec": {"monitoring": {"enabled": true, "interval": interval}}}));
    }
    for url in [
        "https://auth.example.com",
        "https://auth.example.com:8443/ditto?x=1",
        "https://10.0.0.1:65535/",
        "https://[fd00::1]:443/ditto",
    ] {
        ok(json!({"spec": {"auth": {"providers": {"tokenWebhook": {"url": url}}}}}));
    }
    for servers in [
        json!(["kafka-0.kafka:9093", "10.0.0.1:9092", "[fd00::1]:9092"]),
        json!(["kafka:65535"]),
    ] {
        ok(
            json!({"spec": {"transactionLog": {"strimzi": null, "external": {"bootstrapServers": servers}}}}),
        );
    }
    for image in [
        "busybox",
        "registry.example.com:5000/ditto/store:1.59.0",
        "quay.io/ditto/store@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        ok(json!({"spec": {"image": {"store": image}}}));
    }
    ok(json!({"spec": {"image": {"registry": "mirror.example.com:5000/ditto"}}}));
    ok(json!({"spec": {"store": {"pod": {
        "resources": {"requests": {"cpu": "500m", "memory": 1073741824}, "limits": {"cpu": 2, "memory": "1Gi"}},
        "scheduling": {
            "nodeSelector": {"node-role.kubernetes.io/infra": ""},
            "tolerations": [{"operator": "Exists"}, {"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute", "tolerationSeconds": 30}],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 3}]
        },
        "template": {"labels": {"example.com/tier": "db"}, "annotations": {"example.com/note": "anything at all: !"}, "env": [{"name": "RUST_LOG", "value": "info"}], "priorityClassName": "high-priority"}
    }}}}));
    ok(json!({"spec": {"network": {"policies": {
        "ingressFrom": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.128.0/17"]}}, {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "extraIngress": [{"ports": [{"protocol": "TCP", "port": 8000, "endPort": 9000}, {"port": "http"}]}]
    }}}}));
}

/// Valid BigPeerApp and BigPeerApiKey values the rules must keep accepting.
#[test]
fn valid_app_and_key_values_stay_accepted() {
    let ok = |kind: &str, patch: Value| {
        let mut v = sample_of(kind);
        merge(&mut v, &patch);
        assert_eq!(errors(&v, None), "", "{kind} {patch}");
        // And as an update of the sample (transition rules), unless it moves a reference.
        if v["spec"]["bigPeerRef"] == sample_of(kind)["spec"]["bigPeerRef"] {
            assert_eq!(
                errors(&v, Some(&sample_of(kind))),
                "",
                "{kind} {patch} as an update"
            );
        }
    };
    let anonymous = json!({"permission": {"read": {"everything": true}, "write": {"queriesByCollection": {"cars": ["true"], "_private.x-1": ["owner == 'a'"]}}, "remoteQuery": true, "qlVersion": 1},
        "sessionLength": 4294967295u64, "sharedTokenSecretRef": {"name": "my-app-playground", "key": "token"}});
    ok(
        "BigPeerApp",
        json!({"spec": {"authProviders": {"__playgroundProvider": {"anonymous": anonymous}}}}),
    );
    ok(
        "BigPeerApp",
        json!({"spec": {"authProviders": {"a.b-c_D9": {"tokenWebhook": {"url": "https://[fd00::1]:8443/ditto?x=1"}}}}}),
    );
    ok(
        "BigPeerApp",
        json!({"spec": {"authProviders": {"corp": null}}}),
    );
    ok(
        "BigPeerApp",
        json!({"metadata": {"name": "a".repeat(63)}, "spec": {"bigPeerRef": {"name": format!("p{}", "0".repeat(39))}}}),
    );
    ok(
        "BigPeerApiKey",
        json!({"metadata": {"name": "k".repeat(53)}}),
    );
    // An app ID set for the first time (the operator writes the one it generates).
    for id in [
        "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11",
        "3F5F9B51-7C1A-4C3B-9A57-8B2C9E0F5D11",
    ] {
        ok("BigPeerApp", json!({"spec": {"appId": id}}));
    }
    for (every, grace) in [
        ("1h", "0s"),
        ("1h30m", "1h29m59s"),
        ("3600s", "59m"),
        ("60m", "0s"),
        ("999999h", "24h"),
        ("25h", "24h"),
    ] {
        ok(
            "BigPeerApiKey",
            json!({"spec": {"rotation": {"every": every, "gracePeriod": grace}}}),
        );
    }
    ok(
        "BigPeerApiKey",
        json!({"spec": {"rotation": null, "description": null, "expiresAt": "2030-02-28T23:59:59.5+01:00"}}),
    );
    ok(
        "BigPeerApiKey",
        json!({"spec": {"permissions": {"read": {"everything": true, "queriesByCollection": {}}, "write": {"everything": true}, "remoteQuery": true, "qlVersion": 0}}}),
    );
}

// ----- the corpus -----

/// One invalid object of `tests/corpus/invalid/*.yaml`.
#[derive(Deserialize, Debug, Clone)]
struct Case {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    patch: Value,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    update: Option<Value>,
    field: String,
    #[serde(skip)]
    file: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/invalid")
}

/// The cases of this suite's files (`cel-*.yaml`).
fn corpus() -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("cel-") && n.ends_with(".yaml")
        })
        .collect();
    files.sort();
    let mut cases = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut these: Vec<Case> = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a list of cases: {e}", f.display()));
        for c in &mut these {
            c.file = f.file_name().unwrap().to_string_lossy().into();
        }
        cases.extend(these);
    }
    cases
}

impl Case {
    fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("BigPeer")
    }
    /// The object created: the sample of its kind with `patch` (and `metadata`) merged in.
    fn created(&self) -> Value {
        let mut v = sample_of(self.kind());
        merge(&mut v, &self.patch);
        if let Some(m) = &self.metadata {
            merge(&mut v["metadata"], m);
        }
        v
    }
    /// The object of the update, when the case is one.
    fn updated(&self) -> Option<Value> {
        self.update.as_ref().map(|u| {
            let mut v = self.created();
            merge(&mut v, u);
            v
        })
    }
}

/// Cases only the API server refuses: the schema's own checks (enum, minimum/maximum,
/// minLength/maxLength), which kube's client-side CEL evaluation does not run.
const SERVER_ONLY: &[&str] = &[
    // enums
    "toleration-operator-maybe",
    "toleration-effect-unknown",
    "pod-affinity-selector-operator-maybe",
    "node-affinity-operator-maybe",
    "spread-when-unsatisfiable-sometimes",
    "spread-node-taints-policy-unknown",
    "spread-selector-operator-maybe",
    "ingress-from-selector-operator-maybe",
    "extra-ingress-protocol-icmp",
    "issuer-kind-unknown",
    // minimum / maximum
    "pod-anti-affinity-weight-101",
    "node-affinity-weight-0",
    "spread-max-skew-zero",
    "spread-min-domains-zero",
    "extra-egress-end-port-70000",
    "node-port-70000",
    // pattern, minimum and maximum of int-or-string values (a quantity, a port): a Kubernetes 1.31
    // API server refuses CEL rules reading their string form as too expensive (src/api/cel.rs)
    "store-limits-cpu-not-a-quantity",
    "store-requests-memory-negative",
    "store-requests-cpu-negative-integer",
    "subscription-limits-memory-unit-typo",
    "api-requests-cpu-empty",
    "extra-ingress-port-70000",
    "extra-egress-port-zero",
    "extra-egress-named-port-uppercase",
    "extra-egress-named-port-digits-only-string",
    // minLength / maxLength
    "env-name-empty",
    // BigPeerApp: bounds and required fields
    "app-big-peer-ref-41-characters",
    "app-too-many-providers",
    "app-anonymous-session-length-zero",
    "app-anonymous-session-length-over-u32",
    "app-anonymous-session-length-missing",
    "app-anonymous-ql-version-2",
    // BigPeerApiKey: formats, bounds and required fields
    "api-key-expires-at-not-a-time",
    "api-key-expires-at-missing",
    "api-key-permissions-missing",
    "api-key-ql-version-2",
    "api-key-ql-version-negative",
    "api-key-collection-query-empty",
    "api-key-description-too-long",
    "api-key-rotation-every-missing",
    // BigPeerReplication: bounds, sets and enums
    "replication-connection-listed-twice",
    "replication-33-connections",
    "replication-query-empty",
    "replication-load-balancer-traffic-policy-unknown",
    "replication-node-port-70000",
    "replication-gateway-no-parent",
    // BigPeerDataBridge: bounds and enums
    "bridge-display-name-too-long",
    "bridge-source-query-empty",
    "bridge-stream-type-unknown",
    "bridge-topic-partitions-zero",
    "bridge-topic-partitions-1001",
    "bridge-acl-no-operation",
    "bridge-mongodb-no-collection",
    "bridge-mongodb-no-id-field",
    "bridge-mongodb-mode-unknown",
];

/// Cases whose rule kube's client-side CEL interpreter cannot evaluate (`type()`); the API
/// server refuses them (`corpus_against_api_server`).
/// (None today: kube-cel refuses both `endPort` cases, naming the field.)
const CLIENT_UNSUPPORTED: &[&str] = &[];

#[test]
fn corpus_names_are_unique_kebab_case_and_cases_are_well_formed() {
    let cases = corpus();
    assert!(
        cases.len() >= 90,
        "the CEL corpus has {} cases: keep at least 90",
        cases.len()
    );
    let mut seen = BTreeSet::new();
    for c in &cases {
        assert!(
            c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
            "{}: name {} is not kebab-case",
            c.file,
            c.name
        );
        assert!(seen.insert(c.name.clone()), "duplicate case {}", c.name);
        assert!(c.patch.is_object(), "{}: patch must be an object", c.name);
    }
    for n in SERVER_ONLY.iter().chain(CLIENT_UNSUPPORTED) {
        assert!(seen.contains(*n), "SERVER_ONLY names unknown case {n}");
    }
}

/// Whether the errors `e` name `field`, written as the API server writes a CEL rule's path: the
/// client-side interpreter, and the API server's schema checks, write a map key `spec.m[k].x`
/// as `spec.m.k.x`.
fn names_field(e: &str, field: &str) -> bool {
    e.contains(field) || e.contains(&field.replace('[', ".").replace(']', ""))
}

/// Every corpus case CEL refuses client-side is refused with its field named (in the field path
/// or the message); the rest are the schema's checks, listed in [`SERVER_ONLY`].
#[test]
fn corpus_is_refused_client_side() {
    let mut not_refused = vec![];
    let mut failures = vec![];
    for c in corpus() {
        let (v, old) = match c.updated() {
            Some(u) => {
                let created = c.created();
                assert_eq!(
                    errors(&created, None),
                    "",
                    "{}: the object created before the update must be valid",
                    c.name
                );
                (u, Some(created))
            }
            None => (c.created(), None),
        };
        let e = errors(&v, old.as_ref());
        let server_only =
            SERVER_ONLY.contains(&c.name.as_str()) || CLIENT_UNSUPPORTED.contains(&c.name.as_str());
        if e.is_empty() {
            if !server_only {
                not_refused.push(c.name.clone());
            }
        } else if server_only {
            failures.push(format!(
                "{}: listed in SERVER_ONLY but CEL refuses it: {e}",
                c.name
            ));
        } else if !names_field(&e, &c.field) {
            failures.push(format!(
                "{}: refused without naming {}: {e}",
                c.name, c.field
            ));
        }
    }
    assert!(
        not_refused.is_empty(),
        "accepted client-side: {not_refused:?}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The valid manifests of the repository, by path.
fn valid_examples() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![
        root.join("config/samples/smbp_v1alpha1_bigpeer.yaml"),
        root.join("config/samples/smbp_v1alpha1_bigpeerapp.yaml"),
        root.join("config/samples/smbp_v1alpha1_bigpeerapikey.yaml"),
        root.join("config/samples/smbp_v1alpha1_bigpeerreplication.yaml"),
        root.join("config/samples/smbp_v1alpha1_bigpeerdatabridge.yaml"),
    ];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs/examples/exposure"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|f| {
            let v: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            (f.display().to_string(), v)
        })
        .collect()
}

#[test]
fn valid_examples_pass_client_side() {
    for (file, v) in valid_examples() {
        assert_eq!(errors(&v, None), "", "{file}");
    }
}

/// Applies the CRDs to the API server of `client` and waits until they are served.
async fn install_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, Patch, PatchParams};

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in smbp_operator::olm::crd::crds() {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("cel-corpus-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("the API server refuses the CRD: {e}"));
        for _ in 0..100 {
            let c = crds.get(&name).await.unwrap();
            let established = c.status.and_then(|s| s.conditions).is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    // The new schema takes a moment to be served.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
}

/// Applies the corpus to the API server of `KUBECONFIG` with only the CRD installed (no
/// operator, no webhook): each case is refused, with its field named in the message and no
/// secret echoed; the valid examples are accepted. Creates are dry runs; an update case
/// creates its object, dry-runs the update and deletes the object.
#[tokio::test]
#[ignore = "needs an API server: KUBECONFIG=... cargo test --test cel -- --ignored"]
async fn corpus_against_api_server() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
    use kube::core::ApiResource;

    let client = kube::Client::try_default().await.expect("KUBECONFIG");
    install_crds(&client).await;

    let ns = "smbp-cel-corpus";
    let nss: Api<Namespace> = Api::all(client.clone());
    let _ = nss
        .patch(
            ns,
            &PatchParams::apply("cel-corpus-test"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            ),
        )
        .await
        .unwrap();
    let api_of = |v: &Value| -> Api<DynamicObject> {
        let ar = match v["kind"].as_str().unwrap() {
            "BigPeer" => ApiResource::erase::<BigPeer>(&()),
            "BigPeerApp" => ApiResource::erase::<BigPeerApp>(&()),
            "BigPeerApiKey" => ApiResource::erase::<BigPeerApiKey>(&()),
            "BigPeerReplication" => ApiResource::erase::<BigPeerReplication>(&()),
            "BigPeerDataBridge" => ApiResource::erase::<BigPeerDataBridge>(&()),
            k => panic!("unknown kind {k}"),
        };
        Api::namespaced_with(client.clone(), ns, &ar)
    };
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let obj = |mut v: Value| -> DynamicObject {
        v["metadata"]["namespace"] = json!(ns);
        serde_json::from_value(v).unwrap()
    };

    for (file, v) in valid_examples() {
        if let Err(e) = api_of(&v).create(&dry, &obj(v)).await {
            panic!("{file} is refused: {e}");
        }
    }

    let mut failures = vec![];
    let cases = corpus();
    for (i, c) in cases.iter().enumerate() {
        let api = api_of(&c.created());
        let refusal = match c.updated() {
            None => api.create(&dry, &obj(c.created())).await.err(),
            Some(updated) => {
                let name = format!("u{i}");
                let mut created = c.created();
                created["metadata"]["name"] = json!(name);
                let made = match api.create(&PostParams::default(), &obj(created)).await {
                    Ok(o) => o,
                    Err(e) => {
                        failures.push(format!("{}: the object to update is refused: {e}", c.name));
                        continue;
                    }
                };
                let mut updated = obj(updated);
                updated.metadata.name = Some(name.clone());
                updated.metadata.resource_version = made.metadata.resource_version.clone();
                let r = api.replace(&name, &dry, &updated).await.err();
                api.delete(&name, &DeleteParams::default()).await.unwrap();
                r
            }
        };
        match refusal {
            None => failures.push(format!("{}: accepted", c.name)),
            Some(kube::Error::Api(s)) => {
                if !names_field(&s.message, &c.field) {
                    failures.push(format!(
                        "{}: the refusal does not name {}: {}",
                        c.name, c.field, s.message
                    ));
                }
                if s.message.contains("s3cret") || s.message.contains("s3cr3t") {
                    failures.push(format!(
                        "{}: the refusal echoes a secret: {}",
                        c.name, s.message
                    ));
                }
                println!("{}: {}", c.name, s.message);
            }
            Some(e) => failures.push(format!("{}: {e}", c.name)),
        }
    }
    let _ = nss.delete(ns, &DeleteParams::default()).await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Client-side `kubectl apply` (as in `kubectl apply -k config/default`) records the whole CRD
/// in an annotation, and annotations may hold 256 KiB: every rule added must leave room.
#[test]
fn crd_fits_in_kubectl_apply_annotation() {
    for crd in smbp_operator::olm::crd::crds() {
        let size = serde_json::to_string(&crd).unwrap().len();
        assert!(
            size < 248 * 1024,
            "{}: {size} bytes of JSON; client-side kubectl apply refuses a CRD near 256 KiB (shorten messages, or cut the descriptions of embedded Kubernetes types)",
            crd.metadata.name.unwrap_or_default()
        );
    }
}

/// The BigPeerApp and BigPeerApiKey of docs/user/apps-and-keys.md: they parse as the types
/// and the CRDs' CEL rules accept them.
#[test]
fn the_apps_and_keys_guide_examples_are_valid() {
    use smbp_operator::api::{BigPeerApiKey, BigPeerApp};
    let doc = include_str!("../docs/user/apps-and-keys.md");
    let mut kinds = vec![];
    for block in doc.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap();
        let v: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let Some(kind) = v["kind"].as_str().map(str::to_string) else {
            continue;
        };
        let crd = match kind.as_str() {
            "BigPeerApp" => {
                serde_json::from_value::<BigPeerApp>(v.clone()).expect("a BigPeerApp");
                BigPeerApp::crd()
            }
            "BigPeerApiKey" => {
                serde_json::from_value::<BigPeerApiKey>(v.clone()).expect("a BigPeerApiKey");
                BigPeerApiKey::crd()
            }
            other => panic!("unexpected kind {other}"),
        };
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        if let Err(e) = Validator::new().validate(&schema, &v, None) {
            panic!("{kind} refused: {e:?}");
        }
        kinds.push(kind);
    }
    assert_eq!(kinds, ["BigPeerApp", "BigPeerApiKey"]);
}

/// Container resource names, env sources, field paths and resources Kubernetes' pod validation
/// accepts: the CRD's rules for them (src/api/cel.rs) must accept them too.
#[test]
fn valid_pod_fields_stay_accepted() {
    let ok = |patch: Value| {
        let mut v = sample();
        merge(&mut v, &patch);
        assert_eq!(errors(&v, None), "", "{patch}");
    };
    for name in [
        "cpu",
        "memory",
        "ephemeral-storage",
        "hugepages-2Mi",
        "hugepages-1Gi",
        "example.com/gpu",
        "nvidia.com/gpu",
        "example.com/Gpu_1.x",
        "kubernetes.io/anything",
        "device.kubernetes.io/foo",
        "requests.kubernetes.io/foo",
    ] {
        for component in ["store", "subscription", "api"] {
            ok(
                json!({"spec": {component: {"pod": {"resources": {"requests": {name: "1"}, "limits": {name: "1"}}}}}}),
            );
        }
    }
    let long_prefix = format!("{}.com/gpu", "a".repeat(240));
    ok(json!({"spec": {"store": {"pod": {"resources": {"limits": {long_prefix: 1}}}}}}));
    for path in [
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.host",
        "spec.serviceAccountName",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
        "metadata.labels['app']",
        "metadata.labels['app.kubernetes.io/name']",
        "metadata.annotations['example.com/note']",
        "metadata.annotations['Example.COM/Note']",
    ] {
        ok(
            json!({"spec": {"store": {"pod": {"template": {"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": path}}}, {"name": "B", "value": "", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}]}}}}}),
        );
    }
    for resource in [
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.hugepages-2Mi",
        "requests.hugepages-1Gi",
    ] {
        ok(
            json!({"spec": {"api": {"pod": {"template": {"env": [{"name": "A", "valueFrom": {"resourceFieldRef": {"resource": resource, "divisor": "1m"}}}]}}}}}),
        );
    }
    ok(
        json!({"spec": {"subscription": {"pod": {"template": {"env": [{"name": "A", "value": "x"}, {"name": "B"}, {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}, {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]}}}}}),
    );
}
