//! The CRDs as YAML, as `smbp-operator crd` prints them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::{BigPeer, BigPeerApiKey, BigPeerApp, BigPeerDataBridge, BigPeerReplication};

/// Every CRD the operator owns, with user-facing descriptions.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        described(
            BigPeer::crd(),
            "BigPeer is a Self-Managed Big Peer cluster (Ditto sync server): store, subscription and API servers with their transaction log and keys, kept by smbp-operator.",
        ),
        described(
            BigPeerApp::crd(),
            "BigPeerApp is an app served by a BigPeer: its app ID and the identity providers its small peers log in with.",
        ),
        described(
            BigPeerApiKey::crd(),
            "BigPeerApiKey is an API key of a BigPeerApp: the operator generates it into a Secret owned by the key and gives the Big Peer servers only its salted hash.",
        ),
        described(
            BigPeerReplication::crd(),
            "BigPeerReplication replicates one BigPeerApp's data between this BigPeer and other Big Peers: whom it connects to, whom it accepts, what it subscribes to and which CAs it trusts.",
        ),
        described(
            BigPeerDataBridge::crd(),
            "BigPeerDataBridge streams one BigPeerApp's changes out of its BigPeer: to a Kafka topic (change data capture) or into a MongoDB database through a connector the operator runs.",
        ),
    ]
}

fn described(mut crd: CustomResourceDefinition, description: &str) -> CustomResourceDefinition {
    for v in &mut crd.spec.versions {
        if let Some(schema) = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            schema.description = Some(description.into());
        }
    }
    crd
}

/// The file name of a CRD, `<group>_<plural>.yaml`, as operator-sdk names them.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// Multi-document YAML of every CRD.
pub fn yaml() -> String {
    crds()
        .iter()
        .map(|c| {
            format!(
                "---\n{}",
                serde_yaml_ng::to_string(c).expect("CRDs serialize")
            )
        })
        .collect()
}
