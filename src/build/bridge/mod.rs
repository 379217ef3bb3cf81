//! The objects of a `BigPeerDataBridge`, pure: names and labels ([`self`]), the Strimzi
//! KafkaTopic and KafkaUser of a Kafka bridge ([`kafka`]), the MongoDB connector's ConfigMap,
//! Deployment and NetworkPolicy ([`mongodb`]) and the hosts and ports of a MongoDB connection
//! string ([`connection`]). Every object is owned by the bridge (controller reference,
//! `blockOwnerDeletion`), so deleting the bridge removes exactly what was made for it.

pub mod connection;
pub mod kafka;
pub mod mongodb;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::core::Selector;
use kube::{Resource, ResourceExt};

use super::labels::{COMPONENT, INSTANCE, MANAGER};
use crate::api::{APP_LABEL, BIG_PEER_LABEL, BigPeerDataBridge};

/// Label naming the data bridge an object was made for.
pub const DATA_BRIDGE_LABEL: &str = "smbp.io/data-bridge";
/// `app.kubernetes.io/name` of every object made for a data bridge (not `bigpeer`: the
/// BigPeer's own selectors never match them).
pub const APP_NAME: &str = "bigpeer-data-bridge";
/// Component label of a Kafka bridge's objects.
pub const KAFKA_COMPONENT: &str = "kafka-cdc";
/// Component label of a MongoDB connector's objects and pod.
pub const MONGODB_COMPONENT: &str = "mongodb-connector";

/// The Kafka topic of a bridge: `<bp>-<ns>-cdc-<bridge>`, unique per Kafka cluster like the
/// transaction log's `<bp>-<ns>-transactions`.
pub fn topic(bp: &str, ns: &str, bridge: &str) -> String {
    format!("{}{bridge}", topic_prefix(bp, ns))
}

/// The prefix of every bridge topic of a BigPeer: `<bp>-<ns>-cdc-`. The BigPeer's own
/// KafkaUser may write and describe topics with this prefix.
pub fn topic_prefix(bp: &str, ns: &str) -> String {
    format!("{bp}-{ns}-cdc-")
}

/// KafkaTopic object of a bridge: `<bridge>-cdc`.
pub fn kafka_topic_object(bridge: &str) -> String {
    format!("{bridge}-cdc")
}

/// KafkaUser of a bridge's consumers: `<bridge>-consumer` (Strimzi names its Secret after it).
pub fn kafka_user(bridge: &str) -> String {
    format!("{bridge}-consumer")
}

/// Strimzi's Secret with a Kafka cluster's CA certificate.
pub fn cluster_ca_secret(kafka: &str) -> String {
    format!("{kafka}-cluster-ca-cert")
}

/// Deployment, ConfigMap and NetworkPolicy of a MongoDB connector: `<bridge>-mongodb-connector`.
pub fn connector(bridge: &str) -> String {
    format!("{bridge}-mongodb-connector")
}

/// Who a bridge's objects are for: the bridge, its app and the app's BigPeer.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    /// The bridge.
    pub bridge: &'a BigPeerDataBridge,
    /// The BigPeer's name (from the app).
    pub big_peer: &'a str,
    /// The app ID.
    pub app_id: &'a str,
}

impl Owner<'_> {
    /// The bridge's name.
    pub fn name(&self) -> String {
        self.bridge.name_any()
    }

    /// The bridge's namespace.
    pub fn namespace(&self) -> String {
        self.bridge.namespace().unwrap_or_default()
    }
}

/// Labels of every object of a bridge, `component` being [`KAFKA_COMPONENT`] or
/// [`MONGODB_COMPONENT`].
pub fn labels(o: &Owner<'_>, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), o.name()),
        (COMPONENT.to_string(), component.to_string()),
        ("app.kubernetes.io/part-of".to_string(), "smbp".to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
        (BIG_PEER_LABEL.to_string(), o.big_peer.to_string()),
        (
            APP_LABEL.to_string(),
            o.bridge.spec.app_ref.name.to_string(),
        ),
        (DATA_BRIDGE_LABEL.to_string(), o.name()),
    ])
}

/// What finds a bridge's objects (for the inventory that prunes them): the operator's, of this
/// bridge. The owner reference is checked too.
pub fn selector(bridge: &str) -> Selector {
    [
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bridge.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
        (DATA_BRIDGE_LABEL.to_string(), bridge.to_string()),
    ]
    .into_iter()
    .collect()
}

/// The labels of a connector's pod (its Deployment's selector): never change for the life of
/// the bridge.
pub fn pod_selector(bridge: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (INSTANCE.to_string(), bridge.to_string()),
        (COMPONENT.to_string(), MONGODB_COMPONENT.to_string()),
    ])
}

/// The labels every MongoDB connector pod of the BigPeer `big_peer` has (whatever its bridge):
/// what the BigPeer's NetworkPolicies let reach its api and subscription pods.
pub fn connector_pods_of(big_peer: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (COMPONENT.to_string(), MONGODB_COMPONENT.to_string()),
        (BIG_PEER_LABEL.to_string(), big_peer.to_string()),
    ])
}

/// The label selector of every connector pod the operator watches.
pub fn connector_pods_watch() -> String {
    format!("app.kubernetes.io/name={APP_NAME},{COMPONENT}={MONGODB_COMPONENT}")
}

/// Controller owner reference to the bridge.
pub fn owner_ref(bridge: &BigPeerDataBridge) -> OwnerReference {
    let mut r = bridge
        .controller_owner_ref(&())
        .expect("a data bridge read from the API server has a name and uid");
    r.block_owner_deletion = Some(true);
    r
}

/// Metadata of an object of the bridge.
pub fn meta(o: &Owner<'_>, name: String, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(o.namespace()),
        labels: Some(labels(o, component)),
        owner_references: Some(vec![owner_ref(o.bridge)]),
        ..Default::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::BigPeerDataBridge;

    /// A bridge from YAML, with a uid.
    pub fn bridge(yaml: &str) -> BigPeerDataBridge {
        let mut b: BigPeerDataBridge = serde_yaml_ng::from_str(yaml).unwrap();
        b.metadata.uid = Some("b-1".into());
        b
    }

    pub const KAFKA: &str = r#"
apiVersion: smbp.io/v1alpha1
kind: BigPeerDataBridge
metadata: {name: orders, namespace: shop}
spec:
  appRef: {name: fleet}
  kafka:
    source: [{collection: orders, query: "status = 'done'"}]
"#;

    pub const MONGO: &str = r#"
apiVersion: smbp.io/v1alpha1
kind: BigPeerDataBridge
metadata: {name: sync, namespace: shop}
spec:
  appRef: {name: fleet}
  mongodb:
    connectionStringSecretRef: {name: mongo}
    database: shop
    collections:
      orders: {fields: [_id], initialSync: true}
      tasks: {fields: [storeId, taskId], mode: ejson, settableCounters: [count]}
"#;

    #[test]
    fn names_follow_the_design() {
        assert_eq!(topic("prod", "shop", "orders"), "prod-shop-cdc-orders");
        assert!(topic("prod", "shop", "orders").starts_with(&topic_prefix("prod", "shop")));
        assert_eq!(kafka_topic_object("orders"), "orders-cdc");
        assert_eq!(kafka_user("orders"), "orders-consumer");
        assert_eq!(cluster_ca_secret("events"), "events-cluster-ca-cert");
        assert_eq!(connector("sync"), "sync-mongodb-connector");
        // The longest bridge name (40) still makes DNS labels.
        let long = "a".repeat(40);
        assert!(connector(&long).len() <= 63);
    }

    #[test]
    fn labels_name_the_bridge_and_select_its_objects() {
        let b = bridge(KAFKA);
        let o = Owner {
            bridge: &b,
            big_peer: "prod",
            app_id: "id",
        };
        let l = labels(&o, KAFKA_COMPONENT);
        assert_eq!(l[DATA_BRIDGE_LABEL], "orders");
        assert_eq!(l[BIG_PEER_LABEL], "prod");
        assert_eq!(l[APP_LABEL], "fleet");
        use kube::core::SelectorExt;
        assert!(selector("orders").matches(&l));
        assert!(!selector("other").matches(&l));
        // Never the BigPeer's own selector.
        assert!(!crate::build::labels::instance_selector("orders").matches(&l));
        let m = meta(&o, "x".into(), KAFKA_COMPONENT);
        let r = &m.owner_references.unwrap()[0];
        assert_eq!(
            (r.kind.as_str(), r.uid.as_str(), r.controller),
            ("BigPeerDataBridge", "b-1", Some(true))
        );
        assert_eq!(r.block_owner_deletion, Some(true));
    }
}
