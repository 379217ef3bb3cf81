//! Certificates for replication trust: which PEM blocks of a trusted CA source reach the
//! servers (only `CERTIFICATE` blocks that parse as X.509), what is dropped (anything else,
//! such as a private key pasted by mistake: reported by its PEM label, never its content), and
//! the fingerprints users compare across sides (`sha256:` and the hex SHA-256 of the DER).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// One certificate kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Its DER.
    pub der: Vec<u8>,
    /// `sha256:` and the hex SHA-256 of the DER.
    pub fingerprint: String,
}

impl Certificate {
    /// The certificate as one PEM block, 64 characters a line.
    pub fn pem(&self) -> String {
        let b64 = STANDARD.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }
}

/// What a PEM text holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The valid certificates, in the order found, each once.
    pub certificates: Vec<Certificate>,
    /// Labels of the blocks dropped because they are not certificates (`PRIVATE KEY`, ...).
    pub dropped: Vec<String>,
    /// `CERTIFICATE` blocks that are not valid base64 DER X.509.
    pub invalid: usize,
}

/// `sha256:` and the hex SHA-256 of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// The PEM blocks of `text`: (label, base64 body). Text outside blocks is ignored; a block
/// without its END line is dropped as `<label> (unterminated)`.
fn blocks(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut out = vec![];
    let mut broken = vec![];
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            if let Some((l, _)) = current.take() {
                broken.push(format!("{l} (unterminated)"));
            }
            current = Some((label.to_string(), String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            match current.take() {
                Some((l, body)) if l == label => out.push((l, body)),
                Some((l, _)) => broken.push(format!("{l} (unterminated)")),
                None => {}
            }
        } else if let Some((_, body)) = current.as_mut() {
            // Headers of encrypted PEM (`Proc-Type: ...`) are not base64: they make the block
            // invalid, which is what it is for a certificate.
            body.push_str(line);
        }
    }
    if let Some((l, _)) = current {
        broken.push(format!("{l} (unterminated)"));
    }
    (out, broken)
}

/// Keep the valid certificates of a PEM text; say what else it held.
pub fn parse(text: &str) -> Parsed {
    let (blocks, mut dropped) = blocks(text);
    let mut parsed = Parsed::default();
    for (label, body) in blocks {
        if label != "CERTIFICATE" {
            dropped.push(label);
            continue;
        }
        let der = match STANDARD.decode(body.as_bytes()) {
            Ok(d)
                if x509_parser::parse_x509_certificate(&d)
                    .is_ok_and(|(rest, _)| rest.is_empty()) =>
            {
                d
            }
            _ => {
                parsed.invalid += 1;
                continue;
            }
        };
        let fp = fingerprint(&der);
        if !parsed.certificates.iter().any(|c| c.fingerprint == fp) {
            parsed.certificates.push(Certificate {
                der,
                fingerprint: fp,
            });
        }
    }
    parsed.dropped = dropped;
    parsed
}

/// A trust bundle: certificates from several sources, each once, in the order first found.
pub fn bundle<'a>(parts: impl IntoIterator<Item = &'a Parsed>) -> Vec<Certificate> {
    let mut out: Vec<Certificate> = vec![];
    for p in parts {
        for c in &p.certificates {
            if !out.iter().any(|o| o.fingerprint == c.fingerprint) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// The PEM text of `certs`.
pub fn pem(certs: &[Certificate]) -> String {
    certs.iter().map(Certificate::pem).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A self-signed CA certificate (PEM) with `name` as its common name.
    pub fn ca_pem(name: &str) -> String {
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn certificates_are_kept_and_everything_else_is_dropped() {
        let a = ca_pem("a");
        let b = ca_pem("b");
        let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
        let text = format!(
            "comment\n{a}{key}{b}{a}-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
        );
        let p = parse(&text);
        assert_eq!(p.certificates.len(), 2, "each certificate once");
        assert_eq!(p.dropped, ["PRIVATE KEY"]);
        assert_eq!(p.invalid, 1);
        let kept = pem(&p.certificates);
        assert!(!kept.contains("PRIVATE"));
        assert!(!kept.contains("MIGHAgEA"));
        // What is kept parses back to the same certificates.
        assert_eq!(parse(&kept).certificates, p.certificates);
        assert_eq!(parse(&a).certificates[0].pem(), a.replace("\r\n", "\n"));
    }

    #[test]
    fn unterminated_and_empty_texts() {
        let p = parse("-----BEGIN CERTIFICATE-----\nMIIB\n");
        assert!(p.certificates.is_empty());
        assert_eq!(p.dropped, ["CERTIFICATE (unterminated)"]);
        assert_eq!(parse(""), Parsed::default());
    }

    #[test]
    fn fingerprints_are_sha256_of_the_der() {
        assert_eq!(
            fingerprint(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    proptest! {
        /// Whatever surrounds or follows them, no bytes of a non-certificate block ever reach
        /// the bundle, and the certificates found do not depend on the text around them.
        #[test]
        fn no_secret_block_survives(noise in "[ -~\n]{0,200}", label in "(RSA |EC |ENCRYPTED )?PRIVATE KEY", body in "[A-Za-z0-9+/]{8,64}") {
            let a = ca_pem("p");
            let secret = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
            let text = format!("{noise}\n{secret}{a}{noise}");
            let p = parse(&text);
            let kept = pem(&p.certificates);
            prop_assert!(!kept.contains(&body));
            prop_assert!(p.dropped.iter().any(|d| d.starts_with(label.as_str())));
            prop_assert_eq!(p.certificates, parse(&a).certificates);
        }
    }
}
