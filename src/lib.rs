//! smbp-operator: a Kubernetes operator for Self-Managed Big Peer.

pub mod api;
pub mod build;
pub mod images;
pub mod thirdparty;
pub mod rollout;
pub mod reconcile;
pub mod telemetry;
pub mod leader;
pub mod olm;
