//! smbp-operator: a Kubernetes operator for Self-Managed Big Peer.

pub mod api;
pub mod build;
pub mod images;
pub mod leader;
pub mod olm;
pub mod reconcile;
pub mod rollout;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod thirdparty;
