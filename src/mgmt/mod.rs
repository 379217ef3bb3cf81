//! The management HTTP API (`smbp-operator run --api-bind-address`): apps, their auth
//! providers and API keys under `/namespace/{namespace}/bigPeer/{big_peer_name}/app`, with
//! the paths, bodies, status codes and paging of Ditto's published Operator Management API.
//! Every call reads and writes the `BigPeerApp` and `BigPeerApiKey` custom resources (one truth
//! with kubectl and GitOps), and is allowed by Kubernetes RBAC: a bearer token is reviewed
//! (TokenReview), then the operation's verb on the resource in the path's namespace
//! (SubjectAccessReview), before anything is looked up.
//!
//! Pure: [`route`] (the table of operations, routing, access attributes), [`model`] (the
//! bodies), [`convert`] (bodies to resources and back), [`check`] (lookups judged), [`paging`],
//! [`merge`], [`error`], [`openapi`] (the document served at `/openapi.json`). I/O:
//! [`store`] (watch caches), [`handlers`], [`serve`]. Every replica serves it.

pub mod check;
pub mod convert;
pub mod error;
pub mod handlers;
pub mod merge;
pub mod model;
pub mod openapi;
pub mod paging;
pub mod route;
pub mod serve;
pub mod store;

use std::net::SocketAddr;

/// The default `--api-bind-address`.
pub const DEFAULT_BIND_ADDRESS: &str = "0.0.0.0:9444";

/// Parse `--api-bind-address`: `host:port` or `:port`; `0` or empty turns the API off.
pub fn parse_bind_address(s: &str) -> Result<Option<SocketAddr>, String> {
    crate::webhook::parse_bind_address(s)
}
