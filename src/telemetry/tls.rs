//! TLS for the metrics server (rustls with ring): a certificate from a directory (`tls.crt`,
//! `tls.key`, as cert-manager and OpenShift's service CA write them), reloaded when the files
//! change, or a self-signed certificate made in memory at start. axum-server's [`RustlsConfig`]
//! serves it and swaps in a renewed one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

/// Certificate chain file in the certificate directory (PEM, leaf first).
pub const CERT_FILE: &str = "tls.crt";
/// Private key file in the certificate directory (PEM: PKCS#8, PKCS#1 or SEC1).
pub const KEY_FILE: &str = "tls.key";

/// A certificate could not be read, parsed or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// PEM content is missing or malformed.
    #[error("{what}: {message}")]
    Pem {
        /// Certificate chain or private key.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The key is unsupported or does not belong to the certificate.
    #[error("certificate and key do not fit together: {0}")]
    Key(rustls::Error),
    /// The self-signed certificate could not be made.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

/// The crypto provider (ring, as the Kubernetes client uses).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certified key from a PEM certificate chain and a PEM private key that belongs to it.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: "certificate chain",
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what: "certificate chain",
            message: "no CERTIFICATE block".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
        what: "private key",
        message: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(TlsError::Key)
}

/// A self-signed certificate for `names` (DNS names or IP addresses), made in memory.
pub fn self_signed(names: &[String]) -> Result<CertifiedKey, TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())?;
    certified_key(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
    )
}

/// A TLS 1.2/1.3 server configuration (HTTP/1.1) serving `key`.
pub fn server_config(key: CertifiedKey) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What one look at a certificate source found.
#[derive(Debug)]
pub enum Poll {
    /// Same content (or same failure) as last time.
    Unchanged,
    /// New content that parses.
    Reloaded(CertifiedKey),
    /// New content (or a new failure) that cannot be served; reported once.
    Rejected(TlsError),
}

/// Where a served certificate comes from: looked at every few seconds, a renewed certificate
/// served from the next handshake on. A directory ([`DirSource`]: OLM, cert-manager, the
/// service CA) or what the operator keeps itself ([`SharedSource`]: a Secret it reads).
pub trait Source: Send + 'static {
    /// Look again; parse only what changed since the last look.
    fn poll(&mut self) -> Poll;
    /// Forget what was seen: the next [`Source::poll`] reports.
    fn reset(&mut self);
    /// Where the certificate comes from, for logs (never its content).
    fn describe(&self) -> String;
    /// The first load: the certificate, or why there is none.
    fn load(&mut self) -> Result<CertifiedKey, TlsError> {
        self.reset();
        match self.poll() {
            Poll::Reloaded(key) => Ok(key),
            Poll::Rejected(e) => Err(e),
            Poll::Unchanged => unreachable!("a first look always reports"),
        }
    }
}

/// Judge PEM content (or why there is none) against what was seen last time: report only a
/// change. Remembers a digest, never the content.
fn judge(seen: &mut Option<[u8; 32]>, content: Result<(&[u8], &[u8]), &TlsError>) -> Option<()> {
    let mut h = Sha256::new();
    match content {
        Ok((c, k)) => {
            h.update(b"ok");
            h.update((c.len() as u64).to_be_bytes());
            h.update(c);
            h.update(k);
        }
        Err(e) => {
            h.update(b"err");
            h.update(e.to_string());
        }
    }
    let state: [u8; 32] = h.finalize().into();
    if *seen == Some(state) {
        return None;
    }
    *seen = Some(state);
    Some(())
}

/// A certificate directory, read on demand; remembers what it last saw.
#[derive(Debug)]
pub struct DirSource {
    dir: PathBuf,
    seen: Option<[u8; 32]>,
}

fn read(path: PathBuf) -> Result<Vec<u8>, TlsError> {
    std::fs::read(&path).map_err(|source| TlsError::Read { path, source })
}

impl DirSource {
    /// Reads `dir`/tls.crt and `dir`/tls.key.
    pub fn new(dir: &Path) -> DirSource {
        DirSource {
            dir: dir.to_path_buf(),
            seen: None,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Source for DirSource {
    /// Read both files; parse them only when they differ from the last look.
    fn poll(&mut self) -> Poll {
        let files = read(self.dir.join(CERT_FILE))
            .and_then(|c| read(self.dir.join(KEY_FILE)).map(|k| (c, k)));
        let content = files.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
        if judge(&mut self.seen, content).is_none() {
            return Poll::Unchanged;
        }
        match files.and_then(|(c, k)| certified_key(&c, &k)) {
            Ok(key) => Poll::Reloaded(key),
            Err(e) => Poll::Rejected(e),
        }
    }

    fn reset(&mut self) {
        self.seen = None;
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// PEM certificate chain and private key, shared in memory.
pub type Pair = (Vec<u8>, Vec<u8>);

/// A certificate published in memory by whoever keeps it (the webhook's own certificate,
/// read from its Secret by [`crate::webhook::keeper`]); `None` until there is one.
#[derive(Debug)]
pub struct SharedSource {
    what: String,
    current: tokio::sync::watch::Receiver<Option<Pair>>,
    seen: Option<[u8; 32]>,
}

impl SharedSource {
    /// Serve what `current` holds; `what` names it in logs (e.g. the Secret).
    pub fn new(what: String, current: tokio::sync::watch::Receiver<Option<Pair>>) -> SharedSource {
        SharedSource {
            what,
            current,
            seen: None,
        }
    }
}

impl Source for SharedSource {
    fn poll(&mut self) -> Poll {
        let pair = self.current.borrow().clone();
        let pair = pair.ok_or_else(|| TlsError::Pem {
            what: "certificate",
            message: "not made or read yet".into(),
        });
        let content = pair.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
        if judge(&mut self.seen, content).is_none() {
            return Poll::Unchanged;
        }
        match pair.and_then(|(c, k)| certified_key(&c, &k)) {
            Ok(key) => Poll::Reloaded(key),
            Err(e) => Poll::Rejected(e),
        }
    }

    fn reset(&mut self) {
        self.seen = None;
    }

    fn describe(&self) -> String {
        self.what.clone()
    }
}

/// Look at `source` every `every` and have `served` serve new certificates from the next
/// handshake on as they appear (e.g. when cert-manager or the service CA rotates them); a bad
/// update keeps the current one. `what` names the endpoint in logs.
pub async fn watch(mut source: impl Source, served: RustlsConfig, every: Duration, what: &str) {
    loop {
        tokio::time::sleep(every).await;
        let rejected = match source.poll() {
            Poll::Unchanged => continue,
            Poll::Reloaded(key) => match server_config(key) {
                Ok(config) => {
                    served.reload_from_config(config);
                    info!(source = %source.describe(), "serving the renewed {what} certificate");
                    continue;
                }
                Err(e) => e,
            },
            Poll::Rejected(e) => e,
        };
        warn!(source = %source.describe(), error = %rejected, "keeping the current {what} certificate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;

    /// The leaf certificate a client gets from `served` now, by a full handshake over a pipe.
    async fn served_leaf(served: &RustlsConfig) -> CertificateDer<'static> {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let accept = tokio_rustls::TlsAcceptor::from(served.get_inner()).accept(server);
        let connect =
            tokio_rustls::TlsConnector::from(crate::telemetry::test_clients::any_certificate())
                .connect(ServerName::try_from("localhost").unwrap(), client);
        let (_, c) = tokio::try_join!(accept, connect).unwrap();
        c.get_ref().1.peer_certificates().unwrap()[0].clone()
    }

    /// A CA and a leaf for localhost it signed, as PEM: (ca cert, leaf cert, leaf key).
    fn ca_and_leaf() -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (ca.as_ref().pem(), leaf.pem(), key.serialize_pem())
    }

    fn write(dir: &Path, cert: &str, key: &str) {
        std::fs::write(dir.join(CERT_FILE), cert).unwrap();
        std::fs::write(dir.join(KEY_FILE), key).unwrap();
    }

    #[test]
    fn a_chain_and_its_key_load() {
        let (ca, leaf, key) = ca_and_leaf();
        let k = certified_key(format!("{leaf}{ca}").as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(k.cert.len(), 2, "leaf and CA are both served");
        assert!(k.keys_match().is_ok());
    }

    #[test]
    fn mismatched_or_malformed_input_is_refused() {
        let (_, leaf, _) = ca_and_leaf();
        let (_, _, other_key) = ca_and_leaf();
        assert!(matches!(
            certified_key(leaf.as_bytes(), other_key.as_bytes()),
            Err(TlsError::Key(_))
        ));
        assert!(matches!(
            certified_key(b"", other_key.as_bytes()),
            Err(TlsError::Pem {
                what: "certificate chain",
                ..
            })
        ));
        assert!(matches!(
            certified_key(leaf.as_bytes(), b"-----BEGIN NONSENSE-----\n"),
            Err(TlsError::Pem {
                what: "private key",
                ..
            })
        ));
    }

    #[test]
    fn self_signed_certificates_are_fresh_and_usable() {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let a = self_signed(&names).unwrap();
        let b = self_signed(&names).unwrap();
        assert!(a.keys_match().is_ok());
        assert_ne!(a.cert[0], b.cert[0], "every start makes its own key");
        assert!(server_config(a).is_ok());
    }

    #[tokio::test]
    async fn the_directory_is_reparsed_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = DirSource::new(dir.path());
        // Missing files: reported once, then quiet.
        assert!(matches!(src.load(), Err(TlsError::Read { .. })));
        assert!(matches!(src.poll(), Poll::Unchanged));

        let (_, leaf1, key1) = ca_and_leaf();
        write(dir.path(), &leaf1, &key1);
        let first = match src.poll() {
            Poll::Reloaded(k) => k,
            other => panic!("{other:?}"),
        };
        assert!(matches!(src.poll(), Poll::Unchanged));

        // A half-written rotation (new cert, old key) is rejected once; the server keeps the
        // certificate it serves.
        let served = RustlsConfig::from_config(server_config(first.clone()).unwrap());
        let (_, leaf2, key2) = ca_and_leaf();
        write(dir.path(), &leaf2, &key1);
        assert!(matches!(src.poll(), Poll::Rejected(TlsError::Key(_))));
        assert!(matches!(src.poll(), Poll::Unchanged));
        assert_eq!(served_leaf(&served).await, first.cert[0]);

        write(dir.path(), &leaf2, &key2);
        match src.poll() {
            Poll::Reloaded(k) => {
                served.reload_from_config(server_config(k).unwrap());
            }
            other => panic!("{other:?}"),
        }
        assert_ne!(served_leaf(&served).await, first.cert[0]);
        assert_eq!(
            served_leaf(&served).await,
            CertificateDer::from_pem_slice(leaf2.as_bytes()).unwrap()
        );
    }

    #[test]
    fn a_shared_certificate_is_reparsed_only_when_it_changes() {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let mut src = SharedSource::new("Secret ns/name".into(), rx);
        assert!(matches!(src.load(), Err(TlsError::Pem { .. })), "none yet");
        assert!(matches!(src.poll(), Poll::Unchanged));
        let (_, leaf, key) = ca_and_leaf();
        tx.send_replace(Some((leaf.clone().into_bytes(), key.clone().into_bytes())));
        assert!(matches!(src.poll(), Poll::Reloaded(_)));
        assert!(matches!(src.poll(), Poll::Unchanged));
        let (_, _, other) = ca_and_leaf();
        tx.send_replace(Some((leaf.into_bytes(), other.into_bytes())));
        assert!(matches!(src.poll(), Poll::Rejected(TlsError::Key(_))));
        assert_eq!(src.describe(), "Secret ns/name");
    }

    #[tokio::test]
    async fn the_watcher_swaps_the_served_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (_, leaf1, key1) = ca_and_leaf();
        write(dir.path(), &leaf1, &key1);
        let mut src = DirSource::new(dir.path());
        let served = RustlsConfig::from_config(server_config(src.load().unwrap()).unwrap());
        let task = tokio::spawn(watch(
            src,
            served.clone(),
            Duration::from_millis(20),
            "metrics",
        ));
        let (_, leaf2, key2) = ca_and_leaf();
        write(dir.path(), &leaf2, &key2);
        let want = CertificateDer::from_pem_slice(leaf2.as_bytes()).unwrap();
        let mut swapped = false;
        for _ in 0..200 {
            if served_leaf(&served).await == want {
                swapped = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        assert!(swapped, "the renewed certificate was not picked up");
    }
}
