//! The webhook's HTTPS server: `POST /validate-smbp-io-v1alpha1-bigpeer` on its own port,
//! with the TLS machinery of the metrics server: a certificate source looked at for renewals
//! (a directory, or the certificate the operator keeps itself in a Secret), or a certificate
//! made for a local run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::tls_rustls::RustlsConfig;
use kube::api::DynamicObject;
use kube::core::admission::AdmissionReview;
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use super::review::Webhook;
use crate::facts::WEBHOOK_PATH;
use crate::telemetry::server::{CERT_POLL_INTERVAL, EndpointError, serve_tls};
use crate::telemetry::tls::{self, Source};

/// How often a certificate kept in memory is looked at (a renewal is served within this).
const SHARED_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Where the serving certificate comes from.
#[derive(Debug)]
pub enum Certificate {
    /// `tls.crt` and `tls.key` in a directory (OLM, cert-manager), reloaded when they change;
    /// served once they appear.
    Dir(PathBuf),
    /// The certificate the operator keeps itself (`--webhook-cert-secret`), published in
    /// memory by [`super::keeper`] from its Secret; served once it is there.
    Shared(tls::SharedSource),
    /// A certificate made in memory (a local run).
    Key(Arc<CertifiedKey>),
}

impl Certificate {
    fn source(self) -> Option<Box<dyn Source>> {
        match self {
            Certificate::Dir(dir) => Some(Box::new(tls::DirSource::new(&dir))),
            Certificate::Shared(s) => Some(Box::new(s)),
            Certificate::Key(_) => None,
        }
    }
}

impl Source for Box<dyn Source> {
    fn poll(&mut self) -> tls::Poll {
        (**self).poll()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

async fn review(State(webhook): State<Arc<Webhook>>, body: Bytes) -> Response {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an AdmissionReview: {e}\n"),
            )
                .into_response();
        }
    };
    let answer = webhook.review(review).await;
    match serde_json::to_vec(&answer) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// The webhook's routes.
pub fn router(webhook: Arc<Webhook>) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(review))
        .with_state(webhook)
}

/// Bind `addr` (failing at once when it is taken) and serve the webhook over HTTPS in the
/// background. A certificate directory without a certificate yet is looked at again every
/// few seconds: the webhook is served from the moment one is there. Returns the address bound.
pub async fn start(
    addr: SocketAddr,
    certificate: Certificate,
    webhook: Arc<Webhook>,
) -> Result<SocketAddr, EndpointError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EndpointError::Bind {
            what: "webhook",
            addr,
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let app = router(webhook);
    // The operator's own certificate is published in memory: no need to wait as for files.
    let poll_interval = match &certificate {
        Certificate::Shared(_) => SHARED_POLL_INTERVAL,
        _ => CERT_POLL_INTERVAL,
    };
    // The keeper publishes the operator's own certificate within moments and warns itself
    // when it cannot: no warning here for the first look.
    let mut told = matches!(certificate, Certificate::Shared(_));
    let mut source = match certificate {
        Certificate::Key(key) => {
            let served = RustlsConfig::from_config(tls::server_config((*key).clone())?);
            tokio::spawn(serve_tls(listener, served, app, "webhook"));
            info!(address = %bound, path = WEBHOOK_PATH, certificate = "made for this run", "serving the BigPeer admission webhook");
            return Ok(bound);
        }
        other => other.source().expect("a source"),
    };
    tokio::spawn(async move {
        let key = loop {
            match source.load() {
                Ok(key) => break key,
                Err(e) if !told => {
                    told = true;
                    warn!(source = %source.describe(), error = %e, "no webhook certificate yet: the webhook is served once it appears");
                }
                Err(e) => {
                    debug!(source = %source.describe(), error = %e, "no webhook certificate yet")
                }
            }
            tokio::time::sleep(poll_interval).await;
        };
        let served = match tls::server_config(key) {
            Ok(c) => RustlsConfig::from_config(c),
            Err(e) => {
                warn!(source = %source.describe(), error = %e, "the webhook certificate cannot be served");
                return;
            }
        };
        let described = source.describe();
        tokio::spawn(tls::watch(source, served.clone(), poll_interval, "webhook"));
        info!(address = %bound, path = WEBHOOK_PATH, certificate = %described, "serving the BigPeer admission webhook");
        serve_tls(listener, served, app, "webhook").await;
    });
    Ok(bound)
}
