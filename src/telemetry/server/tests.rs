//! The endpoints over real sockets on loopback, with a reviewer standing in for the API server.

use super::*;
use crate::telemetry::access::{ReviewError, User};
use futures::future::BoxFuture;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Token "reader" is user "prometheus", allowed; token "nobody" is user "nobody", not allowed;
/// token "broken" makes the review fail.
struct Fake;

impl Reviewer for Fake {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        Box::pin(async move {
            Ok(match token {
                "reader" => Some(User {
                    username: "prometheus".into(),
                    ..Default::default()
                }),
                "nobody" => Some(User {
                    username: "nobody".into(),
                    ..Default::default()
                }),
                "broken" => return Err(ReviewError::Authentication("down".into())),
                _ => None,
            })
        })
    }
    fn authorize<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a crate::telemetry::access::Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        Box::pin(async move {
            Ok(user.username == "prometheus"
                && *attributes
                    == crate::telemetry::access::Attributes::non_resource("/metrics", "get"))
        })
    }
}

use crate::telemetry::test_clients::{any_certificate as any_cert_client, trusting as ca_client};

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<String> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n").as_bytes())
        .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// (status code, whole response) of a GET; TLS when `tls` is given.
async fn get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    tls: Option<Arc<ClientConfig>>,
) -> std::io::Result<(u16, String)> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let text = match tls {
        None => exchange(tcp, path, token).await?,
        Some(cfg) => {
            let name = ServerName::try_from("localhost").unwrap();
            let s = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await?;
            exchange(s, path, token).await?
        }
    };
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, text))
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(security: Security) -> Config {
    Config {
        health: loopback(),
        metrics: loopback(),
        security,
    }
}

fn metrics_with_data() -> Arc<Metrics> {
    let m = Arc::new(Metrics::default());
    m.reconciled(0.1, None, None);
    m
}

#[test]
fn bind_addresses() {
    assert_eq!(
        parse_bind_address(":8443").unwrap(),
        "0.0.0.0:8443".parse().unwrap()
    );
    assert_eq!(
        parse_bind_address("127.0.0.1:8080").unwrap(),
        "127.0.0.1:8080".parse().unwrap()
    );
    assert_eq!(
        parse_bind_address("[::]:8081").unwrap(),
        "[::]:8081".parse().unwrap()
    );
    assert!(parse_bind_address("8080").is_err());
    assert!(parse_bind_address(":http").is_err());
    assert!(parse_bind_address("localhost:8080").is_err());
}

#[tokio::test]
async fn plain_mode_splits_metrics_from_probes() {
    let ready = Arc::new(AtomicBool::new(false));
    let b = start(
        config(Security::Plain),
        metrics_with_data(),
        ready.clone(),
        Arc::new(Fake),
    )
    .await
    .unwrap();
    assert_ne!(b.health, b.metrics);
    let (code, body) = get(b.metrics, "/metrics", None, None).await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#"smbp_operator_reconciles_total{result="success"} 1"#));
    assert_eq!(get(b.health, "/healthz", None, None).await.unwrap().0, 200);
    assert_eq!(get(b.health, "/readyz", None, None).await.unwrap().0, 503);
    ready.store(true, Ordering::Relaxed);
    assert_eq!(get(b.health, "/readyz", None, None).await.unwrap().0, 200);
    assert_eq!(get(b.health, "/metrics", None, None).await.unwrap().0, 404);
    assert_eq!(get(b.metrics, "/healthz", None, None).await.unwrap().0, 404);
}

/// A CA and a leaf for localhost and 127.0.0.1 it signed, as PEM: (ca, leaf, key).
fn ca_and_leaf() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
    (ca.as_ref().pem(), leaf.pem(), key.serialize_pem())
}

#[tokio::test]
async fn secure_mode_needs_an_authorized_token() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, leaf, key) = ca_and_leaf();
    std::fs::write(dir.path().join(tls::CERT_FILE), leaf).unwrap();
    std::fs::write(dir.path().join(tls::KEY_FILE), key).unwrap();
    let ready = Arc::new(AtomicBool::new(true));
    let b = start(
        config(Security::Secure {
            cert_dir: Some(dir.path().to_path_buf()),
            names: vec![],
        }),
        metrics_with_data(),
        ready,
        Arc::new(Fake),
    )
    .await
    .unwrap();
    let c = || Some(ca_client(&ca));
    let (code, text) = get(b.metrics, "/metrics", None, c()).await.unwrap();
    assert_eq!(code, 401, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{text}"
    );
    assert!(!text.contains("smbp_operator_"));
    assert_eq!(
        get(b.metrics, "/metrics", Some("forged"), c())
            .await
            .unwrap()
            .0,
        401
    );
    let (code, text) = get(b.metrics, "/metrics", Some("nobody"), c())
        .await
        .unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(!text.contains("smbp_operator_"));
    assert_eq!(
        get(b.metrics, "/metrics", Some("broken"), c())
            .await
            .unwrap()
            .0,
        500
    );
    let (code, text) = get(b.metrics, "/metrics", Some("reader"), c())
        .await
        .unwrap();
    assert_eq!(code, 200, "{text}");
    assert!(text.contains(r#"smbp_operator_reconciles_total{result="success"} 1"#));
    // Probes stay plain HTTP, without a token.
    assert_eq!(get(b.health, "/healthz", None, None).await.unwrap().0, 200);
    // Plain HTTP on the secure port gets no metrics.
    let plain = get(b.metrics, "/metrics", Some("reader"), None).await;
    assert!(plain.map_or(true, |(_, t)| !t.contains("smbp_operator_")));
}

/// The metrics server in secure mode with no certificate directory: a self-signed one.
async fn start_self_signed() -> Bound {
    start(
        config(Security::Secure {
            cert_dir: None,
            names: vec!["localhost".into()],
        }),
        metrics_with_data(),
        Arc::new(AtomicBool::new(true)),
        Arc::new(Fake),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn secure_mode_without_a_directory_serves_a_self_signed_certificate() {
    let b = start_self_signed().await;
    let (code, text) = get(
        b.metrics,
        "/metrics",
        Some("reader"),
        Some(any_cert_client()),
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "{text}");
    // Nobody trusts it without being told to.
    let (ca, _, _) = ca_and_leaf();
    assert!(
        get(b.metrics, "/metrics", Some("reader"), Some(ca_client(&ca)))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_stalled_handshake_does_not_hold_up_other_readers() {
    let b = start_self_signed().await;
    // Connected, and never says a word.
    let _silent = tokio::net::TcpStream::connect(b.metrics).await.unwrap();
    let reader = get(
        b.metrics,
        "/metrics",
        Some("reader"),
        Some(any_cert_client()),
    );
    let (code, text) = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("served while another client stalls")
        .unwrap();
    assert_eq!(code, 200, "{text}");
}

#[tokio::test]
async fn start_fails_fast() {
    let empty = tempfile::tempdir().unwrap();
    let err = start(
        config(Security::Secure {
            cert_dir: Some(empty.path().to_path_buf()),
            names: vec![],
        }),
        metrics_with_data(),
        Arc::new(AtomicBool::new(true)),
        Arc::new(Fake),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, EndpointError::Tls(tls::TlsError::Read { .. })),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = start(
        Config {
            health: taken.local_addr().unwrap(),
            metrics: loopback(),
            security: Security::Plain,
        },
        metrics_with_data(),
        Arc::new(AtomicBool::new(true)),
        Arc::new(Fake),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            EndpointError::Bind {
                what: "health probe",
                ..
            }
        ),
        "{err}"
    );
}
