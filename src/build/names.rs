//! Names of every object the operator creates, derived from the BigPeer's name.
//!
//! The CRD limits BigPeer names to 40 characters, so every name below fits a DNS label
//! (63 characters), including StatefulSet pod names and their revision labels.

use crate::api::Component;

/// Workload and client Service of a component: `<bp>-store`, `<bp>-subscription`, `<bp>-api`.
pub fn component(bp: &str, c: Component) -> String {
    format!("{bp}-{}", c.as_str())
}

/// Headless Service that gives store pods stable DNS names.
pub fn store_headless(bp: &str) -> String {
    format!("{bp}-store-headless")
}

/// ConfigMap with the rendered configuration.
pub fn config(bp: &str) -> String {
    format!("{bp}-config")
}

/// ServiceAccount of the Big Peer pods.
pub fn service_account(bp: &str) -> String {
    format!("{bp}-bigpeer")
}

/// PodDisruptionBudget of a component.
pub fn pdb(bp: &str, c: Component) -> String {
    component(bp, c)
}

/// LoadBalancer or NodePort Service that carries the public sync and HTTP ports.
pub fn public_service(bp: &str) -> String {
    format!("{bp}-public")
}

/// Ingress or HTTPRoute for the public host name.
pub fn public_route(bp: &str) -> String {
    bp.to_string()
}

/// OpenShift Route of one public path (`auth`, `sync` or `api`).
pub fn openshift_route(bp: &str, path: &str) -> String {
    format!("{bp}-{path}")
}

/// Certificate and TLS Secret that cert-manager issues for the public host name.
pub fn public_tls(bp: &str) -> String {
    format!("{bp}-public-tls")
}

/// NetworkPolicy of a component: `<bp>-store`, `<bp>-subscription`, `<bp>-api`.
pub fn network_policy(bp: &str, c: Component) -> String {
    component(bp, c)
}

/// Default Kafka topic: `<bp>-<namespace>-transactions`, unique per Big Peer cluster.
pub fn default_topic(bp: &str, ns: &str) -> String {
    format!("{bp}-{ns}-transactions")
}

/// KafkaTopic object name (a DNS subdomain: topic names may hold '_' or upper case).
pub fn kafka_topic_object(bp: &str) -> String {
    format!("{bp}-transactions")
}

/// KafkaUser object name; Strimzi names the credentials Secret after it.
pub fn kafka_user(bp: &str) -> String {
    format!("{bp}-bigpeer")
}

/// The three key Secrets (and Certificates when cert-manager issues them).
pub fn key_secret(bp: &str, key: Key) -> String {
    format!("{bp}-{}", key.suffix())
}

/// Secret with the servers' access configuration (apps and API key hashes).
pub fn access(bp: &str) -> String {
    format!("{bp}-access")
}

/// Secret holding an API key (`BigPeerApiKey` names are at most 53 characters, so it fits).
pub fn api_key_secret(key: &str) -> String {
    format!("{key}-api-key")
}

/// Issuer, backed by the Big Peer CA, that signs the in-band and JWT certificates.
pub fn ca_issuer(bp: &str) -> String {
    format!("{bp}-ca-issuer")
}

/// The keys a Big Peer needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The Big Peer CA.
    Ca,
    /// In-band certificate (Big Peer to Big Peer).
    InBand,
    /// JWT signing certificate.
    Jwt,
}

impl Key {
    /// All keys.
    pub const ALL: [Key; 3] = [Key::Ca, Key::InBand, Key::Jwt];

    fn suffix(self) -> &'static str {
        match self {
            Key::Ca => "ca",
            Key::InBand => "in-band",
            Key::Jwt => "jwt",
        }
    }

    /// Directory under /etc/bigpeer/keys.
    pub fn dir(self) -> &'static str {
        self.suffix()
    }
}
