//! The operator's `/openapi.json` against Ditto's published document: the same operations,
//! Ditto's examples valid in both, every component schema compiling, and bodies made from any
//! app, key, replication or data bridge (property tests) valid in both.

use proptest::prelude::*;
use serde_json::{Value, json};
use smbp_operator::mgmt::convert;
use smbp_operator::mgmt::model::{App, ProviderConfig};
use smbp_operator::mgmt::openapi;
use smbp_operator::mgmt::route::OPERATIONS;

use crate::ditto::Doc;

fn docs() -> &'static (Doc, Doc) {
    static DOCS: std::sync::OnceLock<(Doc, Doc)> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| (Doc::ditto(), Doc::new(openapi::document())))
}

/// Ditto's operations.
fn ditto_operations() -> Vec<(String, String, String)> {
    let (ditto, _) = docs();
    let mut out = vec![];
    for (template, item) in ditto.doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((
                method.to_uppercase(),
                template.clone(),
                op["operationId"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_ditto_operation_is_served_with_its_operation_id_and_success_status() {
    let (ditto, our_doc) = docs();
    let ops = ditto_operations();
    assert_eq!(ops.len(), 21, "{ops:?}");
    for (method, template, id) in ops {
        let ours = OPERATIONS
            .iter()
            .find(|o| o.method == method && o.template == template)
            .unwrap_or_else(|| panic!("{method} {template} is not served"));
        // Ditto names PUT and PATCH both updateApp (updateReplication); operationIds must be
        // unique.
        let expected = match (method.as_str(), id.as_str()) {
            ("PATCH", "updateApp") => "patchApp",
            ("PATCH", "updateReplication") => "patchReplication",
            _ => id.as_str(),
        };
        assert_eq!(ours.operation_id, expected, "{method} {template}");
        // The success status is Ditto's, and our document says so too.
        let success = ours.op.success_status().to_string();
        let theirs = ditto.operation(&method, &template).unwrap();
        assert!(
            theirs["responses"].get(&success).is_some(),
            "{method} {template}: Ditto's document has no {success}"
        );
        let mine = ours_doc_op(our_doc, &method, &template);
        assert!(
            mine["responses"].get(&success).is_some(),
            "{method} {template}"
        );
    }
    // Ours: those, DELETE of a provider and the list of replications.
    assert_eq!(OPERATIONS.len(), 23);
}

fn ours_doc_op<'a>(ours: &'a Doc, method: &str, template: &str) -> &'a Value {
    ours.operation(method, template).unwrap()
}

#[test]
fn every_schema_of_both_documents_compiles_and_dittos_examples_validate_in_both() {
    let (ditto, ours) = docs();
    for d in [ditto, ours] {
        for name in d.doc["components"]["schemas"].as_object().unwrap().keys() {
            d.validate_schema(name, &json!(null)).ok();
        }
    }
    let examples = ditto.response_examples();
    let ours_checked: Vec<_> = examples.iter().collect();
    assert!(ours_checked.len() >= 4, "{examples:?}");
    for (method, template, code, name, value) in ours_checked {
        let path = template
            .replace("{namespace}", "ns")
            .replace("{big_peer_name}", "bp")
            .replace("{app_name}", "app")
            .replace("{api_key_name}", "key")
            .replace("{replication_name}", "repl")
            .replace("{data_bridge_name}", "bridge");
        let status: u16 = code.parse().unwrap();
        ditto
            .validate_response(method, &path, status, value)
            .unwrap_or_else(|e| panic!("{name} in Ditto's document: {e}"));
        ours.validate_response(method, &path, status, value)
            .unwrap_or_else(|e| panic!("{name} in ours: {e}"));
    }
}

#[test]
fn the_documents_differ_where_this_api_is_stricter() {
    let (ditto, ours) = docs();
    let p = "/namespace/ns/bigPeer/bp/app";
    // Plain HTTP webhooks and 54-character key names: Ditto's document accepts them, ours
    // (and the API) refuse them.
    let http = json!({"name": "a", "authProviders": {"x": {"type": "webhookUrl", "webhookUrl": "http://x.example"}}});
    assert!(ditto.validate_request("POST", p, &http).is_ok());
    assert!(ours.validate_request("POST", p, &http).is_err());
    let long = json!({"name": "k".repeat(54), "expiresAt": "2100-01-01T00:00:00Z",
                      "permissions": {"read": {}, "write": {}}});
    let keys = format!("{p}/app/apiKey");
    assert!(ditto.validate_request("POST", &keys, &long).is_ok());
    assert!(ours.validate_request("POST", &keys, &long).is_err());
    // A bridge of no kind, or of two, is in neither document.
    let bridges = format!("{p}/app/dataBridge");
    let mongo = json!({"connectionSecret": {"kubernetesSecret": {"name": "s"}}, "database": "d",
                       "collections": {"c": {"fields": ["_id"], "initialSync": false, "mode": "native"}}});
    for bad in [json!({}), json!({"kafka": {}, "mongoConnector": mongo})] {
        let b = json!({"name": "b", "bridge": bad});
        assert!(ditto.validate_request("POST", &bridges, &b).is_err(), "{b}");
        assert!(ours.validate_request("POST", &bridges, &b).is_err(), "{b}");
    }
    // Ours declares authentication, Ditto's does not.
    assert!(ditto.doc["components"].get("securitySchemes").is_none());
    assert_eq!(ours.doc["security"], json!([{"bearer": []}]));
}

fn rules() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        proptest::collection::btree_map(
            "[a-z_][a-z0-9_]{0,8}",
            proptest::collection::vec("[a-z =']{1,12}", 0..3),
            0..3,
        ),
    )
        .prop_map(|(e, q)| json!({"everything": e, "queriesByCollection": q}))
}

fn permission() -> impl Strategy<Value = Value> {
    (rules(), rules(), any::<bool>(), 0..=1).prop_map(|(mut r, w, rq, ql)| {
        if rq {
            r["everything"] = json!(true);
        }
        json!({"read": r, "write": w, "remoteQuery": rq, "qlVersion": ql})
    })
}

fn provider() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,10}\\.example(/[a-z]{0,5})?"
            .prop_map(|h| json!({"type": "webhookUrl", "webhookUrl": format!("https://{h}")})),
        (permission(), 1u32.., "[!-~]{1,30}").prop_map(|(p, s, t)| json!({
            "type": "anonymous", "permission": p, "sessionLength": s, "sharedToken": t})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever app is created, the App the API answers with validates in both documents.
    #[test]
    fn any_app_answer_is_valid_in_both_documents(
        name in "[a-z][a-z0-9-]{0,30}[a-z0-9]",
        providers in proptest::collection::btree_map("[A-Za-z0-9_.-]{1,20}", provider(), 0..5),
        show_tokens in any::<bool>(),
    ) {
        let body: App = serde_json::from_value(json!({"name": name, "authProviders": providers})).unwrap();
        let (app, tokens) = convert::new_app("ns", "bp", &body, "cb692760-9786-44c3-b040-019bec5a1b77").unwrap();
        let shown = if show_tokens {
            tokens.iter().map(|t| (t.provider.clone(), t.token.clone())).collect()
        } else {
            Default::default()
        };
        let answer = serde_json::to_value(convert::app_to_api(&app, &shown)).unwrap();
        for p in answer["authProviders"].as_object().into_iter().flatten().map(|(_, v)| v) {
            // Every provider answered reads back as a provider.
            let typed: Result<ProviderConfig, _> = serde_json::from_value(p.clone());
            prop_assert!(typed.is_ok(), "{}", p);
        }
        let (ditto, ours) = docs();
        let path = format!("/namespace/ns/bigPeer/bp/app/{name}");
        ditto.validate_response("GET", &path, 200, &answer).map_err(TestCaseError::fail)?;
        ours.validate_response("GET", &path, 200, &answer).map_err(TestCaseError::fail)?;
        // The request that made it is valid in both too.
        let request = serde_json::to_value(&body).unwrap();
        ditto.validate_request("POST", "/namespace/ns/bigPeer/bp/app", &request).map_err(TestCaseError::fail)?;
        ours.validate_request("POST", "/namespace/ns/bigPeer/bp/app", &request).map_err(TestCaseError::fail)?;
    }

    /// Whatever key is created, the ApiKey the API answers with validates in both documents.
    #[test]
    fn any_key_answer_is_valid_in_both_documents(
        name in "[a-z][a-z0-9-]{0,40}[a-z0-9]",
        secs in 1_900_000_000i64..4_000_000_000,
        permissions in permission(),
        description in proptest::option::of("[ -~]{0,30}"),
    ) {
        let expires = k8s_openapi::jiff::Timestamp::from_second(secs).unwrap().to_string();
        let body = json!({"name": name, "expiresAt": expires, "permissions": permissions, "description": description});
        let parsed = serde_json::from_value(body.clone()).unwrap();
        let now = k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let key = convert::new_key("ns", "bp", "app", &parsed, now).unwrap();
        let answer = serde_json::to_value(convert::key_to_api(&key)).unwrap();
        let (ditto, ours) = docs();
        let path = format!("/namespace/ns/bigPeer/bp/app/app/apiKey/{name}");
        ditto.validate_response("GET", &path, 200, &answer).map_err(TestCaseError::fail)?;
        ours.validate_response("GET", &path, 200, &answer).map_err(TestCaseError::fail)?;
        let list = json!({"meta": {"page": 1, "size": 1, "totalPages": 1}, "data": [answer]});
        ditto.validate_response("GET", "/namespace/ns/bigPeer/bp/app/app/apiKey", 200, &list).map_err(TestCaseError::fail)?;
        ditto.validate_request("POST", "/namespace/ns/bigPeer/bp/app/app/apiKey", &body).map_err(TestCaseError::fail)?;
        ours.validate_request("POST", "/namespace/ns/bigPeer/bp/app/app/apiKey", &body).map_err(TestCaseError::fail)?;
    }
}

fn replication_body() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z0-9-]{0,30}[a-z0-9]",
        proptest::collection::btree_set(
            (
                "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z]{1,5}){0,3}",
                1u32..65536,
            )
                .prop_map(|(h, p)| format!("{h}:{p}")),
            0..4,
        ),
        proptest::collection::btree_map(
            "[a-z_][a-z0-9_]{0,8}",
            proptest::collection::vec("[a-z =']{1,12}", 0..3),
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(name, c, q, trust)| {
            let mut v = json!({"name": name, "connections": c, "queriesByCollection": q});
            if trust {
                v["trustedCas"] = json!([{"configMapRef": {"name": "peer-ca"}}]);
                v["acceptFrom"] = json!([{"namespace": "team-b"}, {"cidr": "203.0.113.0/24"}]);
            }
            v
        })
}

fn bridge_body() -> impl Strategy<Value = Value> {
    let kafka = (
        proptest::collection::vec(
            ("[a-z_][a-z0-9_]{0,8}", "[a-z =']{1,12}")
                .prop_map(|(c, q)| json!({"collection": c, "query": q})),
            0..3,
        ),
        "heartbeat|typed|untyped",
        proptest::option::of(1i32..=1000),
    )
        .prop_map(|(source, stream, partitions)| {
            let mut k = json!({"source": source, "streamType": stream});
            if let Some(p) = partitions {
                k["topicPartitions"] = json!(p);
            }
            json!({"kafka": k})
        });
    let mongo = (
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?",
        proptest::option::of("[A-Za-z0-9_.-]{1,12}"),
        "[A-Za-z0-9_-]{1,20}",
        proptest::collection::btree_map(
            "[A-Za-z0-9_][A-Za-z0-9_-]{0,10}",
            (
                proptest::collection::vec("[a-zA-Z_.]{1,10}", 1..4),
                any::<bool>(),
                "native|ejson",
                proptest::collection::vec("[a-z.]{1,10}", 0..3),
            )
                .prop_map(|(f, s, m, c)| {
                    let mut v = json!({"fields": f, "initialSync": s, "mode": m});
                    if !c.is_empty() {
                        v["dittoTypes"] = json!({"settableCounters": c});
                    }
                    v
                }),
            1..4,
        ),
    )
        .prop_map(|(secret, key, db, collections)| {
            let mut s = json!({"name": secret});
            if let Some(k) = key {
                s["connectionString"] = json!(k);
            }
            json!({"mongoConnector": {"connectionSecret": {"kubernetesSecret": s},
                                      "database": db, "collections": collections}})
        });
    (
        "[a-z][a-z0-9-]{0,30}[a-z0-9]",
        proptest::option::of("[ -~]{0,30}"),
        prop_oneof![kafka, mongo],
    )
        .prop_map(|(name, display, bridge)| {
            json!({"name": name, "displayName": display, "description": "a bridge", "bridge": bridge})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever replication is created, the request is valid in both documents and the
    /// BigPeerReplication answered (with a status) too, alone and in a list.
    #[test]
    fn any_replication_answer_is_valid_in_both_documents(body in replication_body()) {
        let (ditto, ours) = docs();
        let p = "/namespace/ns/bigPeer/bp/app/app/bigPeerReplication";
        ditto.validate_request("POST", p, &body).map_err(TestCaseError::fail)?;
        ours.validate_request("POST", p, &body).map_err(TestCaseError::fail)?;
        let parsed = serde_json::from_value(body.clone()).unwrap();
        let mut r = convert::new_replication("ns", "bp", "app", &parsed).unwrap();
        r.status = Some(smbp_operator::api::BigPeerReplicationStatus {
            app_id: Some("cb692760-9786-44c3-b040-019bec5a1b77".into()),
            endpoint: Some(smbp_operator::api::ReplicationEndpoint {
                in_cluster: Some("x-replication.ns.svc:4040".into()),
                external: None,
            }),
            ..Default::default()
        });
        let answer = serde_json::to_value(convert::replication_to_api(&r)).unwrap();
        let one = format!("{p}/{}", body["name"].as_str().unwrap());
        for (method, code) in [("POST", p), ("GET", one.as_str()), ("PUT", one.as_str()), ("PATCH", one.as_str())]
            .map(|(m, path)| (m, path))
        {
            ditto.validate_response(method, code, 200, &answer).map_err(TestCaseError::fail)?;
            ours.validate_response(method, code, 200, &answer).map_err(TestCaseError::fail)?;
        }
        let update = json!({"connections": body["connections"], "queriesByCollection": body["queriesByCollection"]});
        ditto.validate_request("PUT", &one, &update).map_err(TestCaseError::fail)?;
        ours.validate_request("PATCH", &one, &update).map_err(TestCaseError::fail)?;
        let list = json!({"meta": {"page": 1, "size": 1, "totalPages": 1}, "data": [answer]});
        ours.validate_response("GET", p, 200, &list).map_err(TestCaseError::fail)?;
    }

    /// Whatever data bridge is created, the request is valid in both documents and the
    /// DataBridgeObject answered (with Ditto's status) too, alone and in a list.
    #[test]
    fn any_bridge_answer_is_valid_in_both_documents(body in bridge_body(), ready in any::<bool>()) {
        let (ditto, ours) = docs();
        let p = "/namespace/ns/bigPeer/bp/app/app/dataBridge";
        ditto.validate_request("POST", p, &body).map_err(TestCaseError::fail)?;
        ours.validate_request("POST", p, &body).map_err(TestCaseError::fail)?;
        let parsed = serde_json::from_value(body.clone()).unwrap();
        let mut b = convert::new_bridge("ns", "bp", "app", &parsed).unwrap();
        let kafka = b.spec.kafka.is_some();
        b.status = Some(smbp_operator::api::BigPeerDataBridgeStatus {
            kind: Some(if kafka { "Kafka" } else { "MongoDB" }.into()),
            kafka: (kafka && ready).then(|| smbp_operator::api::KafkaConsumerInfo {
                topic: "bp-ns-cdc-x".into(),
                consumer_group_prefix: "bp-ns-cdc-x".into(),
                bootstrap_servers: Some("events-kafka-bootstrap.kafka.svc:9093".into()),
                cluster_ca_secret_name: Some("events-cluster-ca-cert".into()),
                user_secret_name: Some("x-consumer".into()),
            }),
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                reason: "Streaming".into(),
                message: "".into(),
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap()),
                observed_generation: Some(1),
            }],
            ..Default::default()
        });
        let answer = serde_json::to_value(convert::bridge_to_api(&b)).unwrap();
        ditto.validate_response("POST", p, 201, &answer).map_err(TestCaseError::fail)?;
        ours.validate_response("POST", p, 201, &answer).map_err(TestCaseError::fail)?;
        let one = format!("{p}/{}", body["name"].as_str().unwrap());
        ditto.validate_response("GET", &one, 200, &answer).map_err(TestCaseError::fail)?;
        ours.validate_response("GET", &one, 200, &answer).map_err(TestCaseError::fail)?;
        let list = json!({"meta": {"page": 1, "size": 1, "totalPages": 1}, "data": [answer]});
        ditto.validate_response("GET", p, 200, &list).map_err(TestCaseError::fail)?;
        ours.validate_response("GET", p, 200, &list).map_err(TestCaseError::fail)?;
    }
}
