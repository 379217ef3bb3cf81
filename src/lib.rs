//! smbp-operator: a Kubernetes operator for Self-Managed Big Peer.
//!
//! Imports run one way: [`facts`] and [`api`] at the bottom; the pure [`build`], [`rollout`]
//! and [`decide`] above them; the I/O machinery of [`controller`] and the controllers of
//! BigPeers ([`bigpeer`]), apps ([`apps`]), API keys ([`apikeys`]) and replications
//! ([`replications`]) above those, started
//! together by [`controllers`], beside the admission webhook ([`webhook`]) and the management
//! API ([`mgmt`]); [`olm`] (packaging and docs generation) on top, depended on by nothing but
//! the binary.

pub mod access;
pub mod api;
pub mod apikeys;
pub mod apps;
pub mod bigpeer;
pub mod bridges;
pub mod build;
pub mod controller;
pub mod controllers;
pub mod decide;
pub mod facts;
pub mod gather;
pub mod images;
pub mod leader;
pub mod mgmt;
pub mod olm;
pub mod plugin;
pub mod replications;
pub mod rollout;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod thirdparty;
pub mod webhook;
