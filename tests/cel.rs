//! The CRD's CEL rules, evaluated client-side with kube's CEL interpreter. The end-to-end
//! suite checks the same cases against a real API server.

use smbp_operator::api::BigPeer;
use smbp_operator::testing::SAMPLE_YAML;

fn sample() -> serde_json::Value {
    serde_yaml_ng::from_str(SAMPLE_YAML).unwrap()
}

fn set(v: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let mut cur = v;
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        if cur.get(part).is_none() {
            cur[part] = serde_json::json!({});
        }
        cur = cur.get_mut(part).unwrap();
    }
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(key);
    } else {
        cur[key] = value;
    }
}

fn errors(v: &serde_json::Value, old: Option<&serde_json::Value>) -> String {
    let bp: BigPeer = serde_json::from_value(v.clone()).expect("parses");
    let res = match old {
        None => bp.validate_cel(),
        Some(o) => bp.validate_cel_update(&serde_json::from_value(o.clone()).unwrap()),
    };
    match res {
        Ok(()) => String::new(),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn sample_is_valid() {
    assert_eq!(errors(&sample(), None), "");
    assert_eq!(errors(&sample(), Some(&sample())), "");
}

/// (patches, expected message fragment)
fn invalid_cases() -> Vec<(Vec<(&'static str, serde_json::Value)>, &'static str)> {
    use serde_json::json;
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
            "https:// URL",
        ),
        (
            vec![(
                "/spec/auth/providers/tokenWebhook/url",
                json!("https://user:pw@auth.example.com/x"),
            )],
            "no credentials",
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
            "topic name may use only",
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
    use serde_json::json;
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
    assert!(errors(&class, Some(&old)).contains("storageClassName cannot be changed"));
}
