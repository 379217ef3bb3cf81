//! cert-manager Certificates for the Big Peer keys: a CA issued by the user's issuer, an
//! Issuer backed by that CA, and the in-band and JWT certificates it signs.

use serde_json::{Value, json};

use super::names::{self, Key};
use super::{DesiredObject, labels};
use crate::api::{BigPeer, CertManagerKeys, Component, IssuerKind, IssuerRef};
use crate::thirdparty;
use kube::ResourceExt;

fn metadata(bp: &BigPeer, name: String) -> Value {
    json!({
        "name": name,
        "namespace": bp.namespace(),
        "labels": labels::common(bp, "keys"),
        "ownerReferences": [labels::owner(bp)],
    })
}

fn certificate(bp: &BigPeer, key: Key, issuer: Value, extra: Value) -> DesiredObject {
    let name = names::key_secret(&bp.name_any(), key);
    let mut spec = json!({
        "secretName": name,
        "commonName": format!("{}-{}", bp.name_any(), key.dir()),
        "issuerRef": issuer,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "secretTemplate": {"labels": labels::common(bp, "keys")},
    });
    if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
        s.extend(e);
    }
    DesiredObject::new(
        thirdparty::certificate(),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": metadata(bp, name), "spec": spec}),
    )
}

/// A cert-manager `issuerRef` for the user's Issuer or ClusterIssuer.
pub fn issuer_ref(r: &IssuerRef) -> Value {
    json!({
        "name": r.name,
        "kind": match r.kind { IssuerKind::Issuer => "Issuer", IssuerKind::ClusterIssuer => "ClusterIssuer" },
        "group": "cert-manager.io",
    })
}

/// Every cert-manager object for the keys.
pub fn objects(bp: &BigPeer, cm: &CertManagerKeys) -> Vec<DesiredObject> {
    let bp_name = bp.name_any();
    let ns = bp.namespace().unwrap_or_default();
    let user_issuer = issuer_ref(&cm.issuer_ref);
    let ca_issuer =
        json!({"name": names::ca_issuer(&bp_name), "kind": "Issuer", "group": "cert-manager.io"});
    let store = names::component(&bp_name, Component::Store);
    let headless = names::store_headless(&bp_name);
    let dns = vec![
        format!("{store}.{ns}.svc"),
        format!("*.{headless}.{ns}.svc"),
        format!(
            "{}.{ns}.svc",
            names::component(&bp_name, Component::Subscription)
        ),
        format!("{}.{ns}.svc", names::component(&bp_name, Component::Api)),
    ];
    vec![
        certificate(
            bp,
            Key::Ca,
            user_issuer,
            json!({"isCA": true, "duration": "87600h", "renewBefore": "720h", "usages": ["cert sign", "crl sign"]}),
        ),
        DesiredObject::new(
            thirdparty::issuer(),
            json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                "metadata": metadata(bp, names::ca_issuer(&bp_name)),
                "spec": {"ca": {"secretName": names::key_secret(&bp_name, Key::Ca)}},
            }),
        ),
        certificate(
            bp,
            Key::InBand,
            ca_issuer.clone(),
            json!({"duration": "2160h", "renewBefore": "360h", "dnsNames": dns, "usages": ["server auth", "client auth", "digital signature"]}),
        ),
        certificate(
            bp,
            Key::Jwt,
            ca_issuer,
            json!({"duration": "2160h", "renewBefore": "360h", "usages": ["digital signature"]}),
        ),
    ]
}
