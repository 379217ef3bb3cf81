//! The webhook certificate the operator keeps itself (`--webhook-cert-secret`, the kustomize
//! install): a CA and a serving certificate for `<service>.<namespace>.svc` in one Secret, the
//! CA injected as the webhook's `caBundle`. Pure: what the Secret holds and the time give a
//! [`Decision`]; [`carry_out`] makes the new contents. [`super::keeper`] does the I/O.
//!
//! Life cycle, with no outage at any step (every replica serves the Secret's certificate):
//! - the serving certificate lives [`SERVING_VALIDITY`] and is renewed [`SERVING_RENEW_BEFORE`]
//!   its end, by the same CA (the `caBundle` does not change);
//! - the CA lives [`CA_VALIDITY`]; [`CA_RENEW_BEFORE`] its end a next CA is made and added to
//!   the bundle (old and new trusted), and only once the API server has been given that bundle
//!   for [`CA_PUBLISHED_BEFORE_USE`] does the next CA sign a serving certificate; the old CA
//!   stays in the bundle [`OLD_CA_KEPT`] longer, then is dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// How long a serving certificate is valid.
pub const SERVING_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);
/// A serving certificate is renewed this long before it expires.
pub const SERVING_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(5 * 365 * 24 * 3600);
/// A next CA is made this long before the CA expires.
pub const CA_RENEW_BEFORE: Duration = Duration::from_secs(365 * 24 * 3600);
/// A next CA signs nothing until it has been in the published `caBundle` this long (the API
/// server's configuration is then up to date everywhere).
pub const CA_PUBLISHED_BEFORE_USE: Duration = Duration::from_secs(10 * 60);
/// A replaced CA stays trusted this long after the serving certificate it signed was replaced
/// (every replica serves the new one long before).
pub const OLD_CA_KEPT: Duration = Duration::from_secs(3600);
/// Certificates start this long before they are made (clocks of the API servers may lag).
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Keys of the Secret.
pub mod key {
    /// The serving certificate (PEM), as in any `kubernetes.io/tls` Secret.
    pub const TLS_CRT: &str = "tls.crt";
    /// The serving certificate's private key (PEM).
    pub const TLS_KEY: &str = "tls.key";
    /// The CA that signed the serving certificate.
    pub const CA_CRT: &str = "ca.crt";
    /// The CA's private key.
    pub const CA_KEY: &str = "ca.key";
    /// The CAs the webhook's `caBundle` trusts (PEM, concatenated).
    pub const BUNDLE: &str = "ca-bundle.crt";
    /// A next CA, during a CA rotation.
    pub const NEXT_CA_CRT: &str = "next-ca.crt";
    /// The next CA's private key.
    pub const NEXT_CA_KEY: &str = "next-ca.key";
}

/// What the Secret holds (PEM text). `Debug` shows no private key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Material {
    /// Serving certificate.
    pub tls_crt: String,
    /// Serving key.
    pub tls_key: String,
    /// CA certificate.
    pub ca_crt: String,
    /// CA key.
    pub ca_key: String,
    /// The `caBundle`.
    pub bundle: String,
    /// A next CA (certificate, key), during a rotation.
    pub next_ca: Option<(String, String)>,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("tls_crt", &self.tls_crt)
            .field("tls_key", &"<redacted>")
            .field("ca_crt", &self.ca_crt)
            .field("ca_key", &"<redacted>")
            .field("bundle", &self.bundle)
            .field(
                "next_ca",
                &self.next_ca.as_ref().map(|(c, _)| (c, "<redacted>")),
            )
            .finish()
    }
}

impl Material {
    /// From a Secret's data; `None` when a required key is missing or not text (it is then
    /// made anew).
    pub fn from_data(data: &BTreeMap<String, Vec<u8>>) -> Option<Material> {
        let text = |k: &str| data.get(k).and_then(|v| String::from_utf8(v.clone()).ok());
        Some(Material {
            tls_crt: text(key::TLS_CRT)?,
            tls_key: text(key::TLS_KEY)?,
            ca_crt: text(key::CA_CRT)?,
            ca_key: text(key::CA_KEY)?,
            bundle: text(key::BUNDLE)?,
            next_ca: text(key::NEXT_CA_CRT).zip(text(key::NEXT_CA_KEY)),
        })
    }

    /// As a Secret's data.
    pub fn to_data(&self) -> BTreeMap<String, Vec<u8>> {
        let mut d = BTreeMap::from([
            (key::TLS_CRT.to_string(), self.tls_crt.clone().into_bytes()),
            (key::TLS_KEY.to_string(), self.tls_key.clone().into_bytes()),
            (key::CA_CRT.to_string(), self.ca_crt.clone().into_bytes()),
            (key::CA_KEY.to_string(), self.ca_key.clone().into_bytes()),
            (key::BUNDLE.to_string(), self.bundle.clone().into_bytes()),
        ]);
        if let Some((c, k)) = &self.next_ca {
            d.insert(key::NEXT_CA_CRT.into(), c.clone().into_bytes());
            d.insert(key::NEXT_CA_KEY.into(), k.clone().into_bytes());
        }
        d
    }
}

/// The DNS names the API server calls a Service-backed webhook by.
pub fn dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// What to do with the Secret now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It is fine as it is.
    Keep,
    /// Make a new CA and serving certificate (there is none, or the CA is unusable).
    Create(&'static str),
    /// A new serving certificate from the same CA (the `caBundle` does not change).
    RenewServing(&'static str),
    /// The CA nears its end: make a next CA and trust it too.
    StageCa,
    /// The next CA has been published long enough: it becomes the CA and signs a new serving
    /// certificate; the old CA stays in the bundle a while.
    PromoteCa,
    /// The bundle is not what it should be (an old CA to drop, a CA missing).
    RewriteBundle,
}

/// What matters of one certificate.
#[derive(Clone, Debug)]
struct Cert {
    der: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    dns: Vec<String>,
    is_ca: bool,
    public_key: Vec<u8>,
}

impl Cert {
    /// When it was made (its start, less the backdating).
    fn made_at(&self) -> OffsetDateTime {
        self.not_before + BACKDATE
    }

    fn from_x509(c: &X509Certificate<'_>, der: &[u8]) -> Cert {
        let dns = c
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::DNSName(d) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Cert {
            der: der.to_vec(),
            not_before: c.validity().not_before.to_datetime(),
            not_after: c.validity().not_after.to_datetime(),
            dns,
            is_ca: c.is_ca(),
            public_key: c.public_key().subject_public_key.data.to_vec(),
        }
    }

    fn fits(&self, key_pem: &str) -> bool {
        KeyPair::from_pem(key_pem).is_ok_and(|k| k.public_key_raw() == self.public_key.as_slice())
    }
}

/// Every certificate of a PEM text, in order; `None` when a block does not parse.
fn parse_all(pem: &str) -> Option<Vec<Cert>> {
    let mut out = vec![];
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.ok()?;
        if block.label != "CERTIFICATE" {
            return None;
        }
        let c = block.parse_x509().ok()?;
        out.push(Cert::from_x509(&c, &block.contents));
    }
    Some(out)
}

/// The one certificate of a PEM text.
fn parse_one(pem: &str) -> Option<Cert> {
    let mut all = parse_all(pem)?;
    (all.len() == 1).then(|| all.remove(0))
}

/// Whether `leaf` carries a valid signature of `ca`.
fn signed_by(leaf: &Cert, ca: &Cert) -> bool {
    let (Ok((_, l)), Ok((_, c))) = (
        x509_parser::parse_x509_certificate(&leaf.der),
        x509_parser::parse_x509_certificate(&ca.der),
    ) else {
        return false;
    };
    l.issuer() == c.subject() && l.verify_signature(Some(c.public_key())).is_ok()
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

fn at(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

/// A usable CA: it parses, is a CA, its key fits, and it is not (about to be) expired.
fn usable_ca(crt: &str, key: &str, now: OffsetDateTime) -> Option<Cert> {
    let ca = parse_one(crt)?;
    (ca.is_ca && ca.fits(key) && now + CA_PUBLISHED_BEFORE_USE < ca.not_after).then_some(ca)
}

/// Whether the PEM bundle `published` (the webhook's current `caBundle`) trusts `ca`.
fn trusts(published: Option<&str>, ca: &Cert) -> bool {
    published
        .and_then(parse_all)
        .is_some_and(|all| all.iter().any(|c| c.der == ca.der))
}

/// What to do with the Secret's contents `m` (`None`: no Secret, or one with keys missing)
/// at `now`, for a webhook called by `names`, when the webhook configuration's `caBundle` is
/// `published` (`None`: unknown or empty).
pub fn decide(
    m: Option<&Material>,
    names: &[String],
    now: SystemTime,
    published: Option<&str>,
) -> Decision {
    let now = at(now);
    let Some(m) = m else {
        return Decision::Create("there is no certificate yet");
    };
    let Some(ca) = usable_ca(&m.ca_crt, &m.ca_key, now) else {
        return Decision::Create("the CA is unreadable, does not fit its key, or has expired");
    };
    let next = match &m.next_ca {
        None => None,
        Some((c, k)) => match usable_ca(c, k, now) {
            None => return Decision::StageCa,
            Some(next) => Some(next),
        },
    };
    if let Some(next) = &next
        && next.made_at() + CA_PUBLISHED_BEFORE_USE <= now
        && trusts(published, next)
    {
        return Decision::PromoteCa;
    }
    let Some(leaf) = parse_one(&m.tls_crt) else {
        return Decision::RenewServing("the serving certificate is unreadable");
    };
    if !leaf.fits(&m.tls_key) {
        return Decision::RenewServing("the serving key does not fit its certificate");
    }
    if !signed_by(&leaf, &ca) {
        return Decision::RenewServing("the serving certificate is not signed by the CA");
    }
    let mut want: Vec<&String> = names.iter().collect();
    let mut have: Vec<&String> = leaf.dns.iter().collect();
    want.sort();
    have.sort();
    if want != have {
        return Decision::RenewServing("the serving certificate is for other names");
    }
    if now < leaf.not_before || leaf.not_after - SERVING_RENEW_BEFORE <= now {
        return Decision::RenewServing("the serving certificate nears its end");
    }
    if next.is_none() && ca.not_after - CA_RENEW_BEFORE <= now {
        return Decision::StageCa;
    }
    let current: Vec<Vec<u8>> = parse_all(&m.bundle)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.der)
        .collect();
    let expected: Vec<Vec<u8>> = expected_bundle(m, &ca, next.as_ref(), &leaf, now)
        .into_iter()
        .map(|c| c.der)
        .collect();
    if current != expected {
        return Decision::RewriteBundle;
    }
    Decision::Keep
}

/// The CAs the bundle should hold: the CA, the next CA, and the CAs the bundle held before
/// that are still valid while the serving certificate is younger than [`OLD_CA_KEPT`].
fn expected_bundle(
    m: &Material,
    ca: &Cert,
    next: Option<&Cert>,
    leaf: &Cert,
    now: OffsetDateTime,
) -> Vec<Cert> {
    let mut out = vec![ca.clone()];
    out.extend(next.cloned());
    if now < leaf.made_at() + OLD_CA_KEPT {
        for old in parse_all(&m.bundle).unwrap_or_default() {
            if old.is_ca && now < old.not_after && !out.iter().any(|c| c.der == old.der) {
                out.push(old);
            }
        }
    }
    out
}

fn bundle_pem(certs: &[Cert]) -> String {
    certs.iter().map(|c| pem(&c.der)).collect()
}

/// A new CA made at `now`: (certificate PEM, key PEM).
fn new_ca(now: OffsetDateTime) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name
        .push(DnType::CommonName, "smbp-operator webhook CA");
    p.distinguished_name
        .push(DnType::OrganizationName, "smbp-operator");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = now - BACKDATE;
    p.not_after = now + CA_VALIDITY;
    let cert = p.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A serving certificate for `names` signed by the CA `(crt, key)`, made at `now`; it never
/// outlives the CA.
fn new_serving(
    ca_crt: &str,
    ca_key: &str,
    names: &[String],
    now: OffsetDateTime,
) -> Result<(String, String), rcgen::Error> {
    let ca_not_after = parse_one(ca_crt)
        .map(|c| c.not_after)
        .unwrap_or(now + SERVING_VALIDITY);
    let issuer = Issuer::from_ca_cert_pem(ca_crt, KeyPair::from_pem(ca_key)?)?;
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(names.to_vec())?;
    p.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = now - BACKDATE;
    p.not_after = (now + SERVING_VALIDITY).min(ca_not_after);
    let cert = p.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The Secret's new contents for `decision` (not for [`Decision::Keep`], which changes
/// nothing).
pub fn carry_out(
    decision: &Decision,
    m: Option<&Material>,
    names: &[String],
    now: SystemTime,
) -> Result<Material, rcgen::Error> {
    let now = at(now);
    let fresh = || -> Result<Material, rcgen::Error> {
        let (ca_crt, ca_key) = new_ca(now)?;
        let (tls_crt, tls_key) = new_serving(&ca_crt, &ca_key, names, now)?;
        Ok(Material {
            tls_crt,
            tls_key,
            bundle: ca_crt.clone(),
            ca_crt,
            ca_key,
            next_ca: None,
        })
    };
    let (Some(m), Some(ca)) = (m, m.and_then(|m| parse_one(&m.ca_crt))) else {
        return fresh();
    };
    let old_bundle = || parse_all(&m.bundle).unwrap_or_default();
    let next = m.next_ca.as_ref().and_then(|(c, _)| parse_one(c));
    let mut out = m.clone();
    match decision {
        Decision::Keep => {}
        Decision::Create(_) => return fresh(),
        Decision::RenewServing(_) => {
            (out.tls_crt, out.tls_key) = new_serving(&m.ca_crt, &m.ca_key, names, now)?;
        }
        Decision::StageCa => {
            let (c, k) = new_ca(now)?;
            let next = parse_one(&c).expect("a CA just made parses");
            let mut bundle = vec![ca.clone(), next];
            for o in old_bundle() {
                if o.is_ca && now < o.not_after && !bundle.iter().any(|b| b.der == o.der) {
                    bundle.push(o);
                }
            }
            out.bundle = bundle_pem(&bundle);
            out.next_ca = Some((c, k));
        }
        Decision::PromoteCa => {
            let (c, k) = m.next_ca.clone().expect("promoting needs a next CA");
            let next = next.expect("a usable next CA parses");
            (out.tls_crt, out.tls_key) = new_serving(&c, &k, names, now)?;
            out.bundle = bundle_pem(&[next, ca]);
            (out.ca_crt, out.ca_key) = (c, k);
            out.next_ca = None;
        }
        Decision::RewriteBundle => {
            let leaf = parse_one(&m.tls_crt).expect("a rewrite follows a readable certificate");
            out.bundle = bundle_pem(&expected_bundle(m, &ca, next.as_ref(), &leaf, now));
        }
    }
    Ok(out)
}

/// Bring `m` to a state to keep: decide and carry out until the decision is to keep (at most
/// a few steps). Returns the contents and the decisions taken (empty: nothing changed).
pub fn settle(
    m: Option<&Material>,
    names: &[String],
    now: SystemTime,
    published: Option<&str>,
) -> Result<(Option<Material>, Vec<Decision>), rcgen::Error> {
    let mut current = m.cloned();
    let mut taken = vec![];
    for _ in 0..5 {
        let d = decide(current.as_ref(), names, now, published);
        if d == Decision::Keep {
            break;
        }
        current = Some(carry_out(&d, current.as_ref(), names, now)?);
        taken.push(d);
    }
    Ok((current, taken))
}

/// Days from now until the serving certificate of `m` expires (for logs and metrics).
pub fn serving_days_left(m: &Material, now: SystemTime) -> Option<i64> {
    let leaf = parse_one(&m.tls_crt)?;
    Some((leaf.not_after - at(now)).whole_seconds() / DAY.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names() -> Vec<String> {
        dns_names("hook", "ops")
    }

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn made(now: SystemTime) -> Material {
        carry_out(&Decision::Create("test"), None, &names(), now).unwrap()
    }

    /// Whether the serving certificate of `m` is valid at `now` and signed by a CA that the
    /// PEM bundle `published` trusts: the API server accepts it.
    fn accepted(m: &Material, published: &str, now: SystemTime) -> bool {
        let leaf = parse_one(&m.tls_crt).unwrap();
        let now = at(now);
        leaf.fits(&m.tls_key)
            && leaf.not_before <= now
            && now < leaf.not_after
            && parse_all(published)
                .unwrap()
                .iter()
                .any(|ca| now < ca.not_after && signed_by(&leaf, ca))
    }

    #[test]
    fn nothing_yet_makes_a_ca_and_a_certificate_for_the_service() {
        assert_eq!(
            decide(None, &names(), t0(), None),
            Decision::Create("there is no certificate yet")
        );
        let m = made(t0());
        let leaf = parse_one(&m.tls_crt).unwrap();
        assert_eq!(leaf.dns, ["hook.ops.svc", "hook.ops.svc.cluster.local"]);
        assert!(!leaf.is_ca);
        assert_eq!(m.bundle, m.ca_crt, "the bundle trusts the CA");
        assert!(accepted(&m, &m.bundle, t0()));
        assert_eq!(
            decide(Some(&m), &names(), t0(), Some(&m.bundle)),
            Decision::Keep
        );
        // Kept for a while, whatever was published.
        assert_eq!(
            decide(Some(&m), &names(), t0() + 50 * DAY, None),
            Decision::Keep
        );
    }

    #[test]
    fn the_serving_certificate_is_renewed_well_before_its_end_by_the_same_ca() {
        let m = made(t0());
        let now = t0() + SERVING_VALIDITY - SERVING_RENEW_BEFORE + Duration::from_secs(1);
        let d = decide(Some(&m), &names(), now, Some(&m.bundle));
        assert!(matches!(d, Decision::RenewServing(_)), "{d:?}");
        let renewed = carry_out(&d, Some(&m), &names(), now).unwrap();
        assert_ne!(renewed.tls_crt, m.tls_crt);
        assert_ne!(renewed.tls_key, m.tls_key);
        assert_eq!(renewed.ca_crt, m.ca_crt);
        assert_eq!(renewed.bundle, m.bundle, "the caBundle does not change");
        assert!(accepted(&renewed, &m.bundle, now));
        assert_eq!(
            decide(Some(&renewed), &names(), now, Some(&m.bundle)),
            Decision::Keep
        );
    }

    #[test]
    fn other_names_a_foreign_key_or_garbage_are_repaired() {
        let m = made(t0());
        let other = dns_names("other", "ops");
        assert!(matches!(
            decide(Some(&m), &other, t0(), None),
            Decision::RenewServing(_)
        ));
        let mut wrong_key = m.clone();
        wrong_key.tls_key = made(t0()).tls_key;
        assert!(matches!(
            decide(Some(&wrong_key), &names(), t0(), None),
            Decision::RenewServing(_)
        ));
        let mut foreign = m.clone();
        let f = made(t0());
        (foreign.tls_crt, foreign.tls_key) = (f.tls_crt, f.tls_key);
        assert_eq!(
            decide(Some(&foreign), &names(), t0(), None),
            Decision::RenewServing("the serving certificate is not signed by the CA")
        );
        let mut garbage = m.clone();
        garbage.ca_crt = "nonsense".into();
        assert!(matches!(
            decide(Some(&garbage), &names(), t0(), None),
            Decision::Create(_)
        ));
        let mut ca_key = m.clone();
        ca_key.ca_key = f.ca_key;
        assert!(matches!(
            decide(Some(&ca_key), &names(), t0(), None),
            Decision::Create(_)
        ));
    }

    #[test]
    fn the_ca_is_rotated_with_a_bundle_that_trusts_both() {
        let m = made(t0());
        let late = t0() + CA_VALIDITY - CA_RENEW_BEFORE + DAY;
        let (m, taken) = settle(Some(&m), &names(), late, Some(&m.bundle)).unwrap();
        let m = m.unwrap();
        // The serving certificate was renewed first (by the old CA), then a next CA staged.
        assert!(matches!(taken[0], Decision::RenewServing(_)), "{taken:?}");
        assert_eq!(taken[1], Decision::StageCa);
        let next = m.next_ca.clone().unwrap();
        let bundle = parse_all(&m.bundle).unwrap();
        assert_eq!(bundle.len(), 2);
        assert_eq!(pem(&bundle[0].der), m.ca_crt);
        assert_eq!(pem(&bundle[1].der), next.0);
        // Not used before the API server has had the new bundle for a while.
        let soon = late + Duration::from_secs(60);
        assert_eq!(
            decide(Some(&m), &names(), soon, Some(&m.ca_crt)),
            Decision::Keep
        );
        assert_eq!(
            decide(Some(&m), &names(), soon, Some(&m.bundle)),
            Decision::Keep
        );
        let later = late + CA_PUBLISHED_BEFORE_USE + Duration::from_secs(1);
        assert_eq!(
            decide(Some(&m), &names(), later, Some(&m.ca_crt)),
            Decision::Keep
        );
        assert_eq!(
            decide(Some(&m), &names(), later, Some(&m.bundle)),
            Decision::PromoteCa
        );
        let p = carry_out(&Decision::PromoteCa, Some(&m), &names(), later).unwrap();
        assert_eq!(p.ca_crt, next.0);
        assert!(p.next_ca.is_none());
        assert!(
            accepted(&p, &m.bundle, later),
            "the published bundle trusts the new certificate"
        );
        assert!(accepted(&p, &p.bundle, later));
        assert_eq!(
            parse_all(&p.bundle).unwrap().len(),
            2,
            "old CA still trusted"
        );
        assert_eq!(
            decide(Some(&p), &names(), later, Some(&p.bundle)),
            Decision::Keep
        );
        // An hour later the old CA is dropped.
        let after = later + OLD_CA_KEPT + Duration::from_secs(1);
        assert_eq!(
            decide(Some(&p), &names(), after, Some(&p.bundle)),
            Decision::RewriteBundle
        );
        let q = carry_out(&Decision::RewriteBundle, Some(&p), &names(), after).unwrap();
        assert_eq!(q.bundle, q.ca_crt);
        assert_eq!(
            decide(Some(&q), &names(), after, Some(&q.bundle)),
            Decision::Keep
        );
    }

    #[test]
    fn secret_data_round_trips_and_debug_hides_keys() {
        let mut m = made(t0());
        assert_eq!(Material::from_data(&m.to_data()), Some(m.clone()));
        m.next_ca = Some(("c".into(), "k".into()));
        assert_eq!(Material::from_data(&m.to_data()), Some(m.clone()));
        let mut partial = m.to_data();
        partial.remove(key::CA_KEY);
        assert_eq!(Material::from_data(&partial), None);
        let shown = format!("{m:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("BEGIN CERTIFICATE"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Over years of operator restarts at random times (looks between a minute and 29
        /// days apart), the API server always accepts the served certificate with the
        /// `caBundle` published at the previous look (the keeper sets it after each write),
        /// nothing ever expires, and a look settles in a few steps.
        #[test]
        fn never_an_unaccepted_certificate(
            gaps in proptest::collection::vec(60u64..29 * 24 * 3600, 100..160),
        ) {
            let names = names();
            let mut now = t0();
            let (m, _) = settle(None, &names, now, None).unwrap();
            let mut m = m.unwrap();
            let mut published = m.bundle.clone();
            for gap in gaps {
                now += Duration::from_secs(gap);
                prop_assert!(accepted(&m, &published, now), "served certificate refused at {now:?}");
                let (next, taken) = settle(Some(&m), &names, now, Some(&published)).unwrap();
                prop_assert!(taken.len() <= 3, "{taken:?}");
                prop_assert!(!taken.iter().any(|d| matches!(d, Decision::Create(_))), "{taken:?}");
                let next = next.unwrap();
                // Replicas may serve the new Secret before the keeper publishes its bundle.
                prop_assert!(accepted(&next, &published, now), "{taken:?}");
                m = next;
                published = m.bundle.clone();
            }
        }

        /// Whatever garbage the Secret holds, a look ends with a certificate the API server
        /// accepts with the bundle it holds.
        #[test]
        fn any_content_settles_to_an_accepted_certificate(
            pick in proptest::collection::vec(0usize..3, 5),
        ) {
            let a = made(t0());
            let b = made(t0());
            let choose = |i: usize, x: &str, y: &str| match pick[i] {
                0 => x.to_string(),
                1 => y.to_string(),
                _ => "garbage".to_string(),
            };
            let m = Material {
                tls_crt: choose(0, &a.tls_crt, &b.tls_crt),
                tls_key: choose(1, &a.tls_key, &b.tls_key),
                ca_crt: choose(2, &a.ca_crt, &b.ca_crt),
                ca_key: choose(3, &a.ca_key, &b.ca_key),
                bundle: choose(4, &a.bundle, &b.bundle),
                next_ca: None,
            };
            let (s, _) = settle(Some(&m), &names(), t0(), None).unwrap();
            let s = s.unwrap();
            prop_assert!(accepted(&s, &s.bundle, t0()));
            prop_assert_eq!(decide(Some(&s), &names(), t0(), Some(&s.bundle)), Decision::Keep);
        }
    }
}
