//! The BigPeer the scenarios reconcile, and the API objects and requests they exchange.

use kube::Client;
use kube::core::ApiResource;
use kube::runtime::events::{Recorder, Reporter};
use serde_json::{Value, json};
use smbp_operator::api::{BigPeer, ExternalKafkaSpec, KeySecrets, LocalObjectReference};

use crate::server::{Exchange, post};

/// The BigPeer's namespace.
pub const NS: &str = "bigpeer";
/// The BigPeer's name.
pub const NAME: &str = "prod";
/// The BigPeer's uid: what its objects' owner references point at.
pub const UID: &str = "uid-prod";

/// The label selector the BigPeer controller takes inventory with (labels in key order).
pub const SELECTOR: &str = concat!(
    "app.kubernetes.io/instance=prod,",
    "app.kubernetes.io/managed-by=smbp-operator,",
    "app.kubernetes.io/name=bigpeer",
);

/// The label selector of the BigPeer's pods (labels in key order).
pub const PODS: &str = "app.kubernetes.io/instance=prod,app.kubernetes.io/name=bigpeer";

/// The collections of the built-in kinds the operator owns, in the order it takes inventory
/// (the add-ons' kinds come after them).
pub const CORE: [&str; 9] = [
    "/apis/apps/v1/namespaces/bigpeer/statefulsets",
    "/api/v1/namespaces/bigpeer/serviceaccounts",
    "/api/v1/namespaces/bigpeer/configmaps",
    "/api/v1/namespaces/bigpeer/secrets",
    "/api/v1/namespaces/bigpeer/services",
    "/apis/apps/v1/namespaces/bigpeer/deployments",
    "/apis/policy/v1/namespaces/bigpeer/poddisruptionbudgets",
    "/apis/networking.k8s.io/v1/namespaces/bigpeer/ingresses",
    "/apis/networking.k8s.io/v1/namespaces/bigpeer/networkpolicies",
];

/// The BigPeer of `config/samples`, as read from the API server: keys from cert-manager,
/// the transaction log on Strimzi, volumes retained when deleted.
pub fn bigpeer() -> BigPeer {
    let mut bp = smbp_operator::testing::sample();
    assert_eq!(
        (
            bp.metadata.namespace.as_deref(),
            bp.metadata.name.as_deref()
        ),
        (Some(NS), Some(NAME))
    );
    bp.metadata.uid = Some(UID.into());
    bp.metadata.generation = Some(1);
    bp.metadata.resource_version = Some("100".into());
    bp
}

/// The sample with its keys in the user's own Secrets and an external Kafka (no add-on).
pub fn bigpeer_without_addons() -> BigPeer {
    let mut bp = bigpeer();
    bp.spec.auth.keys.cert_manager = None;
    bp.spec.auth.keys.secrets = Some(KeySecrets {
        ca: LocalObjectReference {
            name: "prod-ca-key".into(),
        },
        in_band: LocalObjectReference {
            name: "prod-in-band-key".into(),
        },
        jwt: LocalObjectReference {
            name: "prod-jwt-key".into(),
        },
    });
    bp.spec.transaction_log.strimzi = None;
    bp.spec.transaction_log.external = Some(ExternalKafkaSpec {
        bootstrap_servers: vec!["kafka-0.kafka:9093".into()],
        tls: None,
        sasl: None,
        mtls: None,
    });
    bp
}

/// An Event recorder reporting as the operator does.
pub fn recorder(client: &Client) -> Recorder {
    Recorder::new(
        client.clone(),
        Reporter {
            controller: "smbp-operator".into(),
            instance: Some("smbp-operator-0".into()),
        },
    )
}

/// Path of a kind's collection in the BigPeer's namespace.
pub fn collection(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        format!("/api/{}/namespaces/{NS}/{}", ar.version, ar.plural)
    } else {
        format!("/apis/{}/namespaces/{NS}/{}", ar.api_version, ar.plural)
    }
}

/// Metadata of an object in the BigPeer's namespace, owned by `owner_uid` (if any).
pub fn meta(name: &str, owner_uid: Option<&str>) -> Value {
    let mut metadata = json!({"name": name, "namespace": NS, "uid": format!("uid-{name}")});
    if let Some(uid) = owner_uid {
        metadata["ownerReferences"] = json!([{
            "apiVersion": "smbp.io/v1alpha1",
            "kind": "BigPeer",
            "name": NAME,
            "uid": uid,
            "controller": true,
        }]);
    }
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": metadata})
}

/// A metadata-only list (the answer to `list_metadata`).
pub fn metadata_list(items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadataList",
        "metadata": {"resourceVersion": "1"},
        "items": items,
    })
}

/// A full list of objects of `kind` (`v1` core kinds).
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": "1"},
        "items": items,
    })
}

/// The Event the operator publishes about the BigPeer: a POST to `events.k8s.io/v1` with
/// this reason, a note naming each of `note_names`, about the BigPeer, from the operator.
pub fn event(reason: &'static str, note_names: &[&str]) -> Exchange {
    let note_names: Vec<String> = note_names.iter().map(|n| n.to_string()).collect();
    post(&format!("/apis/events.k8s.io/v1/namespaces/{NS}/events"))
        .body(move |e| {
            assert_eq!(e["reason"], reason, "Event reason in {e}");
            assert_eq!(e["reportingController"], "smbp-operator", "{e}");
            assert_eq!(e["regarding"]["kind"], "BigPeer", "{e}");
            assert_eq!(e["regarding"]["name"], NAME, "{e}");
            assert_eq!(e["regarding"]["uid"], UID, "{e}");
            let note = e["note"].as_str().unwrap_or_default();
            for name in &note_names {
                assert!(note.contains(name), "Event note {note:?} names {name}");
            }
        })
        .echo()
}
