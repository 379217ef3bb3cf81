//! Labels, selectors and owner references shared by every object.

use kube::core::Selector;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};

use crate::api::{BigPeer, Component};

/// Field manager and `app.kubernetes.io/managed-by` value.
pub const MANAGER: &str = "smbp-operator";
/// `app.kubernetes.io/name` of every Big Peer object.
pub const APP_NAME: &str = "bigpeer";
/// Label carrying the owning BigPeer's name, used to find objects and pods.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// Component label.
pub const COMPONENT: &str = "app.kubernetes.io/component";

/// Labels that select the pods of one component. Never changes for the life of a BigPeer.
pub fn selector(bp: &BigPeer, component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bp.name_any()),
        (COMPONENT.to_string(), component.as_str().to_string()),
    ])
}

/// Labels that select every pod of a BigPeer, whatever its component.
pub fn instance(bp: &BigPeer) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bp.name_any()),
    ])
}

/// Labels of every object of a BigPeer. `component` is e.g. "store" or "config".
pub fn common(bp: &BigPeer, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bp.name_any()),
        (COMPONENT.to_string(), component.to_string()),
        ("app.kubernetes.io/part-of".to_string(), "smbp".to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
    ])
}

/// Label selector string matching every object of a BigPeer that this operator manages.
pub fn instance_selector(bp_name: &str) -> Selector {
    [
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bp_name.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
    ]
    .into_iter()
    .collect()
}

/// A component's selector, as list requests and caches take it.
pub fn component_selector(bp: &BigPeer, component: Component) -> Selector {
    selector(bp, component).into_iter().collect()
}

/// The pods of a BigPeer, every component.
pub fn pods_selector(bp_name: &str) -> Selector {
    [
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bp_name.to_string()),
    ]
    .into_iter()
    .collect()
}

/// Controller owner reference to the BigPeer.
pub fn owner(bp: &BigPeer) -> OwnerReference {
    bp.controller_owner_ref(&())
        .expect("a BigPeer read from the API server has a name and uid")
}

/// Metadata of an owned object.
pub fn meta(bp: &BigPeer, name: String, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: bp.namespace(),
        labels: Some(common(bp, component)),
        owner_references: Some(vec![owner(bp)]),
        ..Default::default()
    }
}

/// Uid of a BigPeer, as an owner reference holds it.
pub fn uid(bp: &BigPeer) -> Option<String> {
    bp.meta().uid.clone()
}
