//! The validating admission webhook for BigPeers, served by every operator process (it needs
//! no leader lease). It builds the objects a reconcile would build from the incoming BigPeer
//! and has the API server validate each one with a server-side dry run, so that Kubernetes
//! itself checks every embedded Kubernetes type; refusals are translated to the BigPeer field
//! they come from. It also checks what no schema can: one host name per cluster, one
//! transaction-log topic per Kafka cluster.
//!
//! [`fields`], [`decide`], [`apps`], [`links`] and [`certificate`] are pure; [`review`] (dry runs, reads), [`serve`]
//! (HTTPS), [`local`] (a local run's registration) and [`keeper`] (the certificate the operator
//! keeps itself, for the kustomize install) do the I/O.

pub mod apps;
pub mod certificate;
pub mod decide;
pub mod fields;
pub mod keeper;
pub mod links;
pub mod local;
pub mod review;
pub mod serve;

use std::net::SocketAddr;

pub use review::Webhook;

/// Parse `--webhook-bind-address`: `host:port`, `:port`, or `0` / empty to turn the webhook off.
pub fn parse_bind_address(s: &str) -> Result<Option<SocketAddr>, String> {
    match s.trim() {
        "" | "0" => Ok(None),
        s => crate::telemetry::server::parse_bind_address(s).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_empty_turns_the_webhook_off() {
        assert_eq!(parse_bind_address("0"), Ok(None));
        assert_eq!(parse_bind_address(""), Ok(None));
        assert_eq!(
            parse_bind_address(":9443"),
            Ok(Some("0.0.0.0:9443".parse().unwrap()))
        );
        assert_eq!(
            parse_bind_address("127.0.0.1:1"),
            Ok(Some("127.0.0.1:1".parse().unwrap()))
        );
        assert!(parse_bind_address("nonsense").is_err());
    }
}
