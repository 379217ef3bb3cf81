//! The CRDs as YAML, as `smbp-operator crd` prints them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::BigPeer;

/// Every CRD the operator owns, with user-facing descriptions.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crd = BigPeer::crd();
    for v in &mut crd.spec.versions {
        if let Some(schema) = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            schema.description = Some(
                "BigPeer is a Self-Managed Big Peer cluster (Ditto sync server): store, subscription and API servers with their transaction log and keys, kept by smbp-operator.".into(),
            );
        }
    }
    vec![crd]
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
