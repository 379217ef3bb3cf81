//! The operator's HTTP endpoints. Health probes (`/healthz`: the process runs; `/readyz`:
//! caches synced, whether or not this process leads) are plain HTTP on their own address.
//! `/metrics` is served on another address, in plain HTTP for local runs or in HTTPS, where
//! every request needs a bearer token whose user may `get` `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};

use super::access::{Attributes, CachePolicy, Decision, Gate, Reviewer};
use super::metrics::Metrics;
use super::tls;
use super::tls::Source as _;
use crate::facts::METRICS_PATH;

/// How often the certificate directory is looked at for a renewed certificate.
pub const CERT_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a client may take to send the request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How `/metrics` is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain HTTP, no authentication (local runs).
    Plain,
    /// HTTPS with TokenReview authentication and SubjectAccessReview authorization.
    Secure {
        /// Directory with `tls.crt` and `tls.key`; `None` makes a self-signed certificate.
        cert_dir: Option<PathBuf>,
        /// Names of the self-signed certificate.
        names: Vec<String>,
    },
}

/// Where and how the endpoints are served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address of `/healthz` and `/readyz` (plain HTTP).
    pub health: SocketAddr,
    /// Address of `/metrics`.
    pub metrics: SocketAddr,
    /// Plain or secure metrics.
    pub security: Security,
}

/// The addresses actually bound (a port 0 in the config becomes the one the OS chose).
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Health probe address.
    pub health: SocketAddr,
    /// Metrics address.
    pub metrics: SocketAddr,
}

/// The endpoints could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// An address could not be bound.
    #[error("binding {what} address {addr}: {source}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No certificate to serve.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
}

/// Parse a bind address: `host:port`, or `:port` for every IPv4 interface.
pub fn parse_bind_address(s: &str) -> Result<SocketAddr, String> {
    let full = match s.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => s.to_string(),
    };
    full.parse()
        .map_err(|e| format!("{s:?} is not host:port or :port ({e})"))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `/healthz` and `/readyz`.
pub fn health_router(ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ready)
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    gate: Option<Arc<Gate>>,
}

async fn metrics(State(s): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(gate) = &s.gate {
        let auth = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        let read = Attributes::non_resource(METRICS_PATH, "get");
        match gate.check(auth, &read, Instant::now()).await {
            Ok(Decision::Allowed) => {}
            Ok(Decision::Unauthenticated) => {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    "Unauthorized\n",
                )
                    .into_response();
            }
            Ok(Decision::Forbidden) => {
                return (StatusCode::FORBIDDEN, "Forbidden\n").into_response();
            }
            Err(e) => {
                warn!(error = %e, "could not review a metrics request");
                return (StatusCode::INTERNAL_SERVER_ERROR, "Authorization failed\n")
                    .into_response();
            }
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

/// `/metrics`, behind `gate` when given.
pub fn metrics_router(metrics: Arc<Metrics>, gate: Option<Arc<Gate>>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(self::metrics))
        .with_state(MetricsState { metrics, gate })
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, EndpointError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| EndpointError::Bind { what, addr, source })
}

fn local(l: &TcpListener, fallback: SocketAddr) -> SocketAddr {
    l.local_addr().unwrap_or(fallback)
}

/// Serve `app` over TLS (HTTP/1.1) on `listener` until the process ends. axum-server runs one
/// task per connection, so a slow or broken handshake never holds up other clients. `what`
/// names the server in logs (metrics, webhook).
pub async fn serve_tls(listener: TcpListener, tls: RustlsConfig, app: Router, what: &'static str) {
    let mut server = axum_server::Server::from_listener(listener)
        .acceptor(RustlsAcceptor::new(tls).handshake_timeout(HANDSHAKE_TIMEOUT))
        .http1_only()
        .accept_error_handler(
            move |peer: Option<&SocketAddr>, e: &std::io::Error| match peer {
                // E.g. out of file descriptors; axum-server backs off before the next accept.
                None => warn!(error = %e, server = what, "accepting a connection failed"),
                Some(peer) => debug!(%peer, error = %e, server = what, "TLS handshake failed"),
            },
        );
    server
        .http_builder()
        .http1()
        .header_read_timeout(HEADER_TIMEOUT);
    if let Err(e) = server.serve(app.into_make_service()).await {
        error!(error = %e, server = what, "HTTPS server failed");
    }
}

/// The TLS configuration of an HTTPS endpoint (`what`, for logs): the certificate in `cert_dir`,
/// looked at again every [`CERT_POLL_INTERVAL`] and served anew when renewed (a task is
/// spawned for it), or a self-signed certificate for `names` made now when there is no
/// directory.
pub fn tls_config(
    cert_dir: Option<&std::path::Path>,
    names: &[String],
    what: &'static str,
) -> Result<RustlsConfig, EndpointError> {
    Ok(match cert_dir {
        Some(dir) => {
            let mut source = tls::DirSource::new(dir);
            let served = RustlsConfig::from_config(tls::server_config(source.load()?)?);
            tokio::spawn(tls::watch(source, served.clone(), CERT_POLL_INTERVAL, what));
            served
        }
        None => RustlsConfig::from_config(tls::server_config(tls::self_signed(names)?)?),
    })
}

/// Bind both addresses, load or make the certificate, and serve in the background until the
/// process ends. Fails at once when an address is taken or no certificate can be served.
/// `reviewer` is asked only in secure mode.
pub async fn start(
    cfg: Config,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    reviewer: Arc<dyn Reviewer>,
) -> Result<Bound, EndpointError> {
    let health_listener = bind("health probe", cfg.health).await?;
    let metrics_listener = bind("metrics", cfg.metrics).await?;
    let bound = Bound {
        health: local(&health_listener, cfg.health),
        metrics: local(&metrics_listener, cfg.metrics),
    };
    match cfg.security {
        Security::Plain => {
            let app = metrics_router(metrics, None);
            tokio::spawn(async move {
                if let Err(e) = axum::serve(metrics_listener, app).await {
                    error!(error = %e, "metrics server failed");
                }
            });
            info!(address = %bound.metrics, "serving metrics over plain HTTP");
        }
        Security::Secure { cert_dir, names } => {
            let served = tls_config(cert_dir.as_deref(), &names, "metrics")?;
            let gate = Arc::new(Gate::new(reviewer, CachePolicy::default()));
            let app = metrics_router(metrics, Some(gate));
            tokio::spawn(serve_tls(metrics_listener, served, app, "metrics"));
            info!(
                address = %bound.metrics,
                certificate = %cert_dir.as_ref().map_or("self-signed".to_string(), |d| d.display().to_string()),
                "serving metrics over HTTPS to authorized readers"
            );
        }
    }
    let app = health_router(ready);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(health_listener, app).await {
            error!(error = %e, "health probe server failed");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests;
