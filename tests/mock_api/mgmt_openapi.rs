//! The operator's `/openapi.json` against Ditto's published document: the same operations,
//! Ditto's examples valid in both, every component schema compiling, and bodies made from any
//! app or key (property tests) valid in both.

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

/// Ditto's operations of issue #14 (replication and data bridges are #15's).
fn ditto_operations() -> Vec<(String, String, String)> {
    let (ditto, _) = docs();
    let mut out = vec![];
    for (template, item) in ditto.doc["paths"].as_object().unwrap() {
        if template.contains("bigPeerReplication") || template.contains("dataBridge") {
            continue;
        }
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
fn every_ditto_operation_of_issue_14_is_served_with_its_operation_id() {
    let ops = ditto_operations();
    assert_eq!(ops.len(), 12, "{ops:?}");
    for (method, template, id) in ops {
        let ours = OPERATIONS
            .iter()
            .find(|o| o.method == method && o.template == template)
            .unwrap_or_else(|| panic!("{method} {template} is not served"));
        // Ditto names PUT and PATCH both updateApp; operationIds must be unique.
        let expected = if method == "PATCH" {
            "patchApp"
        } else {
            id.as_str()
        };
        assert_eq!(ours.operation_id, expected, "{method} {template}");
    }
    // Ours: those, and DELETE of a provider.
    assert_eq!(OPERATIONS.len(), 13);
}

#[test]
fn every_schema_of_both_documents_compiles_and_dittos_examples_validate_in_both() {
    let (ditto, ours) = docs();
    for d in [ditto, ours] {
        for name in d.doc["components"]["schemas"].as_object().unwrap().keys() {
            if [
                "DataBridge",
                "ListResponse_DataBridge",
                "BigPeerReplication",
            ]
            .contains(&name.as_str())
            {
                continue; // #15's, with references the fixture leaves dangling
            }
            d.validate_schema(name, &json!(null)).ok();
        }
    }
    let examples = ditto.response_examples();
    let ours_checked: Vec<_> = examples
        .iter()
        .filter(|e| !e.1.contains("bigPeerReplication") && !e.1.contains("dataBridge"))
        .collect();
    assert!(ours_checked.len() >= 4, "{examples:?}");
    for (method, template, code, name, value) in ours_checked {
        let path = template
            .replace("{namespace}", "ns")
            .replace("{big_peer_name}", "bp")
            .replace("{app_name}", "app")
            .replace("{api_key_name}", "key");
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
