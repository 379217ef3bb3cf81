//! Fixtures shared by the unit tests in `src/` and the integration tests in `tests/`: the sample
//! BigPeer and the inputs it is built with offline.
//!
//! Compiled for the crate's own unit tests and with the `testing` feature, which the integration
//! tests get through the crate's dev-dependency on itself; the operator is built without it.

use crate::api::BigPeer;
use crate::api::reason::Reason;
use crate::build::BuildInputs;
use crate::decide::observed::{Integrations, Observed};

/// The sample BigPeer of config/samples, as written.
pub const SAMPLE_YAML: &str = include_str!("../../config/samples/smbp_v1alpha1_bigpeer.yaml");
/// The sample BigPeerApp of config/samples (of the sample BigPeer), as written.
pub const APP_SAMPLE_YAML: &str =
    include_str!("../../config/samples/smbp_v1alpha1_bigpeerapp.yaml");
/// The sample BigPeerApiKey of config/samples (of the sample app), as written.
pub const API_KEY_SAMPLE_YAML: &str =
    include_str!("../../config/samples/smbp_v1alpha1_bigpeerapikey.yaml");

/// The sample BigPeerReplication of config/samples (of the sample app), as written.
pub const REPLICATION_SAMPLE_YAML: &str =
    include_str!("../../config/samples/smbp_v1alpha1_bigpeerreplication.yaml");
/// The sample BigPeerDataBridge of config/samples (of the sample app), as written.
pub const DATA_BRIDGE_SAMPLE_YAML: &str =
    include_str!("../../config/samples/smbp_v1alpha1_bigpeerdatabridge.yaml");

/// The sample of `kind` (one of [`crate::api::KINDS`]), as written.
pub fn sample_yaml(kind: &str) -> &'static str {
    match kind {
        "BigPeer" => SAMPLE_YAML,
        "BigPeerApp" => APP_SAMPLE_YAML,
        "BigPeerApiKey" => API_KEY_SAMPLE_YAML,
        "BigPeerReplication" => REPLICATION_SAMPLE_YAML,
        "BigPeerDataBridge" => DATA_BRIDGE_SAMPLE_YAML,
        other => panic!("no sample of kind {other}"),
    }
}

/// The sample from config/samples, parsed, with a uid (so owner references can be built).
pub fn sample() -> BigPeer {
    let mut bp: BigPeer = serde_yaml_ng::from_str(SAMPLE_YAML).unwrap();
    bp.metadata.uid = Some("u-1".into());
    bp
}

/// Inputs for the sample: off OpenShift, Kafka bootstrap `kafka:9093`, every add-on present.
pub fn sample_inputs(bp: &BigPeer) -> BuildInputs {
    BuildInputs::offline(bp, vec!["kafka:9093".into()])
}

/// An observation with no workloads yet, keys and transaction log ready or waiting (tests).
pub fn observed(keys: bool, log: bool) -> Observed {
    let part = |ready| crate::decide::observed::Part {
        ready,
        reason: if ready {
            Reason::Ready
        } else {
            Reason::WaitingForPrerequisites
        },
        message: String::new(),
    };
    Observed {
        integrations: Default::default(),
        statefulset: None,
        deployments: Default::default(),
        pods: vec![],
        keys: part(keys),
        transaction_log: part(log),
        kafka_bootstrap: vec!["kafka:9093".into()],
        exposure: Default::default(),
    }
}

/// Every add-on installed, off OpenShift.
pub fn all_addons() -> Integrations {
    Integrations {
        strimzi: true,
        cert_manager: true,
        openshift: false,
        gateway_api: true,
        openshift_route: true,
        prometheus_operator: true,
        tls_route: true,
    }
}

/// Apply a JSON merge patch (RFC 7386) to `target`: objects merge key by key, `null` removes
/// a key, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The sample BigPeer (as JSON) with `patch` merged in.
pub fn sample_with(patch: &serde_json::Value) -> serde_json::Value {
    sample_of_with("BigPeer", patch)
}

/// The sample of `kind` (as JSON) with `patch` merged in.
pub fn sample_of_with(kind: &str, patch: &serde_json::Value) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_yaml_ng::from_str(sample_yaml(kind)).expect("the sample parses");
    merge_patch(&mut v, patch);
    v
}
