//! The management API's server: HTTPS with the metrics endpoint's certificate options (a
//! directory reloaded when renewed, or a self-signed certificate made at start) and bearer
//! token authentication, or, with `--api-insecure`, plain HTTP that anyone who reaches the
//! port may call with the operator's permissions.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use super::handlers::{Api, handle};
use crate::telemetry::server::{EndpointError, serve_tls, tls_config};

/// How the API is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain HTTP, no authentication (`--api-insecure`).
    Insecure,
    /// HTTPS, every call reviewed (TokenReview, SubjectAccessReview).
    Secure {
        /// Directory with `tls.crt` and `tls.key`; `None` makes a self-signed certificate.
        cert_dir: Option<PathBuf>,
        /// Names of the self-signed certificate.
        names: Vec<String>,
    },
}

async fn any(
    State(api): State<Arc<Api>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&api, &method, &uri, &headers, &body).await
}

/// Every path goes to [`handle`], which routes by itself (its 404 and 405 are `{error}`
/// bodies too).
pub fn router(api: Arc<Api>) -> Router {
    Router::new().fallback(any).with_state(api)
}

/// Bind `addr` (failing at once when it is taken) and serve the API in the background.
/// `api` must review callers unless `security` is [`Security::Insecure`]. Returns the address
/// bound.
pub async fn start(
    addr: SocketAddr,
    security: Security,
    api: Arc<Api>,
) -> Result<SocketAddr, EndpointError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EndpointError::Bind {
            what: "management API",
            addr,
            source,
        })?;
    let bound = listener.local_addr().unwrap_or(addr);
    match security {
        Security::Insecure => {
            warn!(address = %bound, "serving the management API over plain HTTP WITHOUT authentication (--api-insecure): anyone who reaches this port can create and delete apps and API keys and read new keys with the operator's permissions");
            let app = router(api);
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    error!(error = %e, "management API server failed");
                }
            });
        }
        Security::Secure { cert_dir, names } => {
            assert!(
                api.gate.is_some(),
                "a secure management API reviews its callers"
            );
            let served = tls_config(cert_dir.as_deref(), &names, "management API")?;
            tokio::spawn(serve_tls(listener, served, router(api), "management API"));
            info!(
                address = %bound,
                certificate = %cert_dir.as_ref().map_or("self-signed".to_string(), |d| d.display().to_string()),
                "serving the management API over HTTPS to callers Kubernetes RBAC allows"
            );
        }
    }
    Ok(bound)
}
