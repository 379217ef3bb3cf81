use kube::core::response::StatusCause;
use serde_json::json;

use super::*;
use crate::build::desired;
use crate::testing::{sample_inputs, sample_with};

fn bp(name: &str, ns: &str, patch: serde_json::Value) -> BigPeer {
    let mut v = sample_with(&patch);
    v["metadata"]["name"] = json!(name);
    v["metadata"]["namespace"] = json!(ns);
    let mut bp: BigPeer = serde_json::from_value(v).unwrap();
    bp.metadata.uid = Some(format!("u-{ns}-{name}"));
    bp
}

#[test]
fn credentials_in_urls_never_reach_a_message() {
    assert_eq!(
        redact("url https://user:s3cr3t@auth.example.com/x is bad"),
        "url https://REDACTED@auth.example.com/x is bad"
    );
    assert_eq!(
        redact(r#"Invalid value: "http://a:b@h:1?q=1", and ftp://plain/ok"#),
        r#"Invalid value: "http://REDACTED@h:1?q=1", and ftp://plain/ok"#
    );
    assert_eq!(redact("no url: a@b"), "no url: a@b");
    assert_eq!(
        redact("trailing https://u:p@"),
        "trailing https://REDACTED@"
    );
}

#[test]
fn quantities_follow_the_kubernetes_syntax() {
    for ok in [
        "1", "500m", "1.5", "10Gi", "-1Gi", "+2", "1e3", "1E-2", ".5", "2k", "3M",
    ] {
        assert!(is_quantity(ok), "{ok}");
    }
    for bad in ["abc", "", "1.2.3", "1GB", "Gi", "1 Gi", "1e", "1ki", "."] {
        assert!(!is_quantity(bad), "{bad}");
    }
}

fn status(kind: &str, causes: &[(&str, &str)]) -> Status {
    Status {
        status: Some(StatusSummary::Failure),
        code: 422,
        message: format!("{kind} is invalid"),
        reason: "Invalid".into(),
        details: Some(StatusDetails {
            name: "x".into(),
            group: String::new(),
            kind: kind.into(),
            uid: String::new(),
            causes: causes
                .iter()
                .map(|(f, m)| StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: format!("{f}: {m}"),
                    field: (*f).into(),
                })
                .collect(),
            retry_after_seconds: 0,
        }),
        metadata: None,
    }
}

#[test]
fn a_refusal_of_a_built_object_lands_on_the_bigpeer_field() {
    let b = bp(
        "prod",
        "ns",
        json!({"spec": {"store": {"pod": {"scheduling": {"tolerations": [{"key": "a", "operator": "Maybe"}]}}}}}),
    );
    let objs = desired(&b, &sample_inputs(&b));
    let sts = objs
        .iter()
        .find(|o| o.resource.kind == "StatefulSet")
        .unwrap();
    let s = status(
        "StatefulSet",
        &[(
            "spec.template.spec.tolerations[0].operator",
            r#"Unsupported value: "Maybe": supported values: "Equal", "Exists""#,
        )],
    );
    let causes = refused(&b, sts, &s);
    assert_eq!(causes.len(), 1);
    assert_eq!(
        causes[0].field,
        "spec.store.pod.scheduling.tolerations[0].operator"
    );
    assert!(
        causes[0]
            .message
            .starts_with(r#"Unsupported value: "Maybe""#),
        "{}",
        causes[0].message
    );
    assert!(causes[0].message.contains("StatefulSet prod-store"));
    // A path no row knows is still a refusal, at spec, naming the object and its path.
    let odd = refused(
        &b,
        sts,
        &status("StatefulSet", &[("spec.minReadySeconds", "bad")]),
    );
    assert_eq!(odd[0].field, "spec");
    assert!(odd[0].message.contains("spec.minReadySeconds"));
}

#[test]
fn an_undecodable_quantity_is_found_in_the_spec() {
    let b = bp(
        "prod",
        "ns",
        json!({"spec": {"api": {"pod": {"resources": {"requests": {"cpu": "abc"}}}}}}),
    );
    let objs = desired(&b, &sample_inputs(&b));
    let api = objs
        .iter()
        .find(|o| o.resource.kind == "Deployment" && o.name == "prod-api")
        .unwrap();
    let s = Status {
        code: 400,
        message: "failed to convert new object: quantities must match the regular expression"
            .into(),
        ..Default::default()
    };
    let causes = refused(&b, api, &s);
    assert_eq!(causes[0].field, "spec.api.pod.resources.requests[cpu]");
    assert!(causes[0].message.contains(r#""abc""#));
}

#[test]
fn a_name_that_breaks_derived_names_is_blamed_on_metadata_name() {
    let b = bp("a.b", "ns", json!({}));
    let objs = desired(&b, &sample_inputs(&b));
    let svc = objs.iter().find(|o| o.resource.kind == "Service").unwrap();
    let causes = refused(
        &b,
        svc,
        &status(
            "Service",
            &[(
                "metadata.name",
                "Invalid value: \"a.b-store\": a DNS-1035 label ...",
            )],
        ),
    );
    assert_eq!(causes[0].field, "metadata.name");
    assert!(causes[0].message.contains("\"a.b\""));
}

#[test]
fn host_names_are_one_per_cluster() {
    let host = |h: &str| json!({"spec": {"network": {"hostname": h}}});
    let a = bp("a", "one", host("bp.example.com"));
    let b = bp("b", "two", host("bp.example.com"));
    let c = bp("c", "two", host("other.example.com"));
    let cause = hostname_in_use(&b, &[a.clone(), c.clone()]).unwrap();
    assert_eq!(cause.field, "spec.network.hostname");
    assert!(cause.message.contains("one/a"), "{}", cause.message);
    assert_eq!(hostname_in_use(&c, &[a.clone(), b.clone()]), None);
    assert_eq!(
        hostname_in_use(&a, std::slice::from_ref(&a)),
        None,
        "itself"
    );
    assert_eq!(
        hostname_in_use(&bp("d", "x", json!({})), std::slice::from_ref(&a)),
        None
    );
    // A BigPeer being deleted gives its host name up.
    let mut going = a.clone();
    going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    assert_eq!(hostname_in_use(&b, &[going]), None);
}

#[test]
fn a_topic_is_one_per_kafka_cluster() {
    let ext = |servers: &[&str], topic: &str| json!({"spec": {"transactionLog": {"strimzi": null, "external": {"bootstrapServers": servers}, "topic": {"name": topic}}}});
    let a = bp("a", "one", ext(&["k1:9092", "k2:9092"], "t"));
    let same_cluster = bp("b", "two", ext(&["K2:9092"], "t"));
    let other_cluster = bp("c", "two", ext(&["k9:9092"], "t"));
    let other_topic = bp("d", "two", ext(&["k1:9092"], "u"));
    assert!(
        topic_in_use(&same_cluster, std::slice::from_ref(&a))
            .is_some_and(|c| c.message.contains("one/a"))
    );
    assert_eq!(topic_in_use(&other_cluster, std::slice::from_ref(&a)), None);
    assert_eq!(topic_in_use(&other_topic, std::slice::from_ref(&a)), None);
    // Strimzi: the same Kafka in the same namespace, and the default topic names differ.
    let s1 = bp("s1", "k", json!({}));
    let s2 = bp(
        "s2",
        "k",
        json!({"spec": {"transactionLog": {"topic": {"name": "s1-k-transactions"}}}}),
    );
    assert_eq!(
        topic_in_use(&s2, std::slice::from_ref(&s1)).unwrap().field,
        "spec.transactionLog.topic.name"
    );
    assert_eq!(
        topic_in_use(&bp("s3", "k", json!({})), std::slice::from_ref(&s1)),
        None
    );
}

#[test]
fn the_response_names_every_field_once_and_redacts() {
    let base: AdmissionResponse =
        serde_json::from_value(json!({"uid": "1", "allowed": true, "status": {}})).unwrap();
    assert!(response(base.clone(), "BigPeer", "p", &[]).allowed);
    let c = |f: &str, m: &str| Cause::new(Reason::ObjectRefused, f, m);
    let r = response(
        base,
        "BigPeer",
        "p",
        &[
            c("spec.a", "bad https://u:pw@h/x"),
            c("spec.a", "again"),
            c("spec.b", "also bad"),
        ],
    );
    assert!(!r.allowed);
    assert_eq!(r.result.code, 422);
    assert!(r.result.message.starts_with("BigPeer \"p\" is invalid: "));
    assert_eq!(r.result.details.as_ref().unwrap().kind, "BigPeer");
    assert!(
        r.result
            .message
            .contains("spec.a: bad https://REDACTED@h/x"),
        "{}",
        r.result.message
    );
    assert!(r.result.message.contains("spec.b: also bad"));
    assert!(!r.result.message.contains("pw"));
    let causes = &r.result.details.as_ref().unwrap().causes;
    assert_eq!(
        causes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["spec.a", "spec.b"]
    );
}

#[test]
fn admission_inputs_build_the_workloads_of_a_new_bigpeer() {
    let b = bp("p", "n", json!({}));
    let i = inputs(
        &b,
        &RelatedImages::default(),
        crate::testing::all_addons(),
        None,
        Timestamp::from_second(1_800_000_000).unwrap(),
    );
    assert!(i.workloads);
    assert!(i.strimzi && i.cert_manager);
    assert_eq!(i.store_replicas, 3);
    let none = inputs(
        &b,
        &RelatedImages::default(),
        Default::default(),
        None,
        Timestamp::from_second(1_800_000_000).unwrap(),
    );
    assert!(
        !none.strimzi,
        "add-ons not installed build nothing of theirs"
    );
}

#[test]
fn only_the_api_servers_refusals_of_the_object_count() {
    let with = |code: u16, message: &str| Status {
        code,
        message: message.into(),
        ..Default::default()
    };
    assert!(is_refusal(&with(422, "x is invalid")));
    assert!(is_refusal(&with(400, "bad request")));
    assert!(is_refusal(&with(
        500,
        "failed to convert new object: unable to convert unstructured object to apps/v1"
    )));
    assert!(!is_refusal(&with(500, "etcd is down")));
    assert!(!is_refusal(&with(403, "forbidden")));
    assert!(!is_refusal(&with(404, "not found")));
    assert!(!is_refusal(&with(429, "too many requests")));
}
