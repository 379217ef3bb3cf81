//! The `BigPeer` custom resource: types, defaults, conditions and apply-time rules.

pub mod app;
pub mod bridge;
pub mod cel;
pub mod conditions;
pub mod monitoring;
pub mod network;
pub mod reason;
pub mod replication;
pub mod v1alpha1;

pub use app::*;
pub use bridge::*;
pub use replication::*;
pub use v1alpha1::*;

/// API group of every custom resource this operator owns.
pub const GROUP: &str = "smbp.io";

/// The kinds of [`GROUP`], with their plural resource names: what the admission webhook
/// reviews. (A test checks them against the CRDs.)
pub const KINDS: [(&str, &str); 5] = [
    ("BigPeer", "bigpeers"),
    ("BigPeerApp", "bigpeerapps"),
    ("BigPeerApiKey", "bigpeerapikeys"),
    ("BigPeerReplication", "bigpeerreplications"),
    ("BigPeerDataBridge", "bigpeerdatabridges"),
];

/// The Big Peer components that run as pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Document store (StatefulSet).
    Store,
    /// Subscription servers (Deployment).
    Subscription,
    /// HTTP API servers (Deployment).
    Api,
}

impl Component {
    /// All components.
    pub const ALL: [Component; 3] = [Component::Store, Component::Subscription, Component::Api];

    /// Lowercase name used in object names and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Store => "store",
            Component::Subscription => "subscription",
            Component::Api => "api",
        }
    }
}

/// Annotation that pauses reconciliation of one BigPeer.
pub const PAUSED_ANNOTATION: &str = "smbp.io/paused";
/// Finalizer that carries out volume and topic retention on delete.
pub const FINALIZER: &str = "smbp.io/cleanup";

#[cfg(test)]
mod tests {
    use kube::Resource;

    use super::*;

    #[test]
    fn kinds_are_the_crds_kinds_and_plurals() {
        let crds = [
            (
                BigPeer::kind(&()),
                BigPeer::plural(&()),
                BigPeer::group(&()),
            ),
            (
                BigPeerApp::kind(&()),
                BigPeerApp::plural(&()),
                BigPeerApp::group(&()),
            ),
            (
                BigPeerApiKey::kind(&()),
                BigPeerApiKey::plural(&()),
                BigPeerApiKey::group(&()),
            ),
            (
                BigPeerReplication::kind(&()),
                BigPeerReplication::plural(&()),
                BigPeerReplication::group(&()),
            ),
            (
                BigPeerDataBridge::kind(&()),
                BigPeerDataBridge::plural(&()),
                BigPeerDataBridge::group(&()),
            ),
        ];
        assert_eq!(KINDS.len(), crds.len());
        for ((kind, plural), (k, p, g)) in KINDS.iter().zip(crds) {
            assert_eq!((*kind, *plural, GROUP), (&*k, &*p, &*g));
        }
    }
}
