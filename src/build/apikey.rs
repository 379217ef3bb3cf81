//! The Secret of an API key, `<key>-api-key`: what applications mount (the key, under
//! `apiKey`) and what the operator keeps beside it to give the servers and to rotate it (the
//! salted hash, the previous key's hash during a grace period, when the key was made). Owned by
//! the `BigPeerApiKey` (so it goes with it) and labelled so that the operator's one watch of
//! Secrets with data sees only these.
//!
//! The Secret is the source of truth of a key: the operator reads it back from its watch cache
//! and writes it only when its content must change (a new key, the end of a grace period, a
//! label). The previous key's plaintext is never kept.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::{Resource, ResourceExt};

use super::names;
use crate::access::key::{HashRecord, PlainKey, fingerprint};
use crate::api::{API_KEY_LABEL, APP_LABEL, BIG_PEER_LABEL, BigPeerApiKey};
use crate::facts::MANAGER;

/// The key itself (what applications read).
pub const API_KEY: &str = "apiKey";
/// The app ID the key is for.
pub const APP_ID: &str = "appId";
/// The key's fingerprint (`sha256:` and 16 hex digits).
pub const FINGERPRINT: &str = "fingerprint";
/// The salted hash the servers check the key against, as JSON (`algorithm`, `salt`, `hash`).
pub const HASH: &str = "hash";
/// During a grace period: the previous key's salted hash, as JSON.
pub const PREVIOUS_HASH: &str = "previousHash";
/// During a grace period: the previous key's fingerprint.
pub const PREVIOUS_FINGERPRINT: &str = "previousFingerprint";
/// During a grace period: when the previous key stops working (RFC 3339).
pub const PREVIOUS_VALID_UNTIL: &str = "previousValidUntil";
/// Annotation: when the current key was made (RFC 3339).
pub const ROTATED_AT: &str = "smbp.io/rotated-at";
/// Annotation: the last value of the key's `smbp.io/rotate` annotation acted on.
pub const ROTATE_HANDLED: &str = "smbp.io/rotate-handled";

/// A previous key in its grace period: only what the servers need, and its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    /// Its salted hash.
    pub hash: HashRecord,
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it stops working.
    pub valid_until: Timestamp,
}

/// Everything a key's Secret holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Material {
    /// The current key.
    pub key: PlainKey,
    /// Its salted hash.
    pub hash: HashRecord,
    /// The previous key, during a grace period.
    pub previous: Option<Previous>,
    /// When the current key was made.
    pub rotated_at: Timestamp,
    /// The value of `smbp.io/rotate` last acted on.
    pub rotate_handled: Option<String>,
}

/// The app a key belongs to, as its Secret records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The app's name.
    pub app: &'a str,
    /// The app's ID.
    pub app_id: &'a str,
    /// The app's BigPeer.
    pub big_peer: &'a str,
}

/// A key's Secret as read back: each part when present and well formed. A hash that does not
/// verify the key is left out (the key is hashed again).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The current key.
    pub key: Option<PlainKey>,
    /// Its hash, when it verifies the key.
    pub hash: Option<HashRecord>,
    /// The previous key.
    pub previous: Option<Previous>,
    /// When the current key was made.
    pub rotated_at: Option<Timestamp>,
    /// The value of `smbp.io/rotate` last acted on.
    pub rotate_handled: Option<String>,
}

/// What the servers get of a key's Secret: its hashes and fingerprints, never the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    /// The current key's fingerprint.
    pub fingerprint: String,
    /// The current key's hash.
    pub hash: HashRecord,
    /// The previous key, during a grace period.
    pub previous: Option<Previous>,
}

/// A time as the Secret writes it: RFC 3339 in whole seconds.
pub fn timestamp(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

/// The labels of a key's Secret.
pub fn labels(key: &str, owner: &Owner) -> BTreeMap<String, String> {
    BTreeMap::from([
        (API_KEY_LABEL.to_string(), key.to_string()),
        (APP_LABEL.to_string(), owner.app.to_string()),
        (BIG_PEER_LABEL.to_string(), owner.big_peer.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        ),
    ])
}

/// The Secret of `key` holding `m`.
pub fn secret(key: &BigPeerApiKey, owner: &Owner, m: &Material) -> Secret {
    let text = |s: &str| ByteString(s.as_bytes().to_vec());
    let json =
        |r: &HashRecord| ByteString(serde_json::to_vec(r).expect("a hash record serializes"));
    let mut data = BTreeMap::from([
        (API_KEY.to_string(), text(m.key.expose())),
        (APP_ID.to_string(), text(owner.app_id)),
        (FINGERPRINT.to_string(), text(&m.key.fingerprint())),
        (HASH.to_string(), json(&m.hash)),
    ]);
    if let Some(p) = &m.previous {
        data.insert(PREVIOUS_HASH.into(), json(&p.hash));
        data.insert(PREVIOUS_FINGERPRINT.into(), text(&p.fingerprint));
        data.insert(PREVIOUS_VALID_UNTIL.into(), text(&timestamp(p.valid_until)));
    }
    let mut annotations = BTreeMap::from([(ROTATED_AT.to_string(), timestamp(m.rotated_at))]);
    if let Some(h) = &m.rotate_handled {
        annotations.insert(ROTATE_HANDLED.into(), h.clone());
    }
    Secret {
        metadata: ObjectMeta {
            name: Some(names::api_key_secret(&key.name_any())),
            namespace: key.namespace(),
            labels: Some(labels(&key.name_any(), owner)),
            annotations: Some(annotations),
            owner_references: key.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    }
}

fn text(secret: &Secret, key: &str) -> Option<String> {
    let v = secret.data.as_ref()?.get(key)?;
    String::from_utf8(v.0.clone())
        .ok()
        .filter(|s| !s.is_empty())
}

fn record(secret: &Secret, key: &str) -> Option<HashRecord> {
    serde_json::from_slice(&secret.data.as_ref()?.get(key)?.0).ok()
}

fn previous(secret: &Secret) -> Option<Previous> {
    Some(Previous {
        hash: record(secret, PREVIOUS_HASH)?,
        fingerprint: text(secret, PREVIOUS_FINGERPRINT)?,
        valid_until: text(secret, PREVIOUS_VALID_UNTIL)?.parse().ok()?,
    })
}

/// Read a key's Secret back.
pub fn parse(secret: &Secret) -> Parsed {
    let key = text(secret, API_KEY).map(PlainKey::from_string);
    let hash = record(secret, HASH).filter(|h| key.as_ref().is_some_and(|k| h.verify(k.expose())));
    let annotation = |k: &str| secret.annotations().get(k).cloned();
    Parsed {
        key,
        hash,
        previous: previous(secret),
        rotated_at: annotation(ROTATED_AT).and_then(|t| t.parse().ok()),
        rotate_handled: annotation(ROTATE_HANDLED),
    }
}

/// What the servers get of a key's Secret; `None` when it holds no usable hash.
pub fn hashes(secret: &Secret) -> Option<Hashes> {
    let hash = record(secret, HASH)?;
    let fingerprint = match text(secret, FINGERPRINT) {
        Some(f) => f,
        None => fingerprint(&text(secret, API_KEY)?),
    };
    Some(Hashes {
        fingerprint,
        hash,
        previous: previous(secret),
    })
}

/// The uids of the objects that own `secret` (a key's Secret is the key's own only when its
/// uid is among them).
pub fn owners(secret: &Secret) -> Vec<String> {
    secret
        .meta()
        .owner_references
        .iter()
        .flatten()
        .map(|o| o.uid.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AppRef, BigPeerApiKeySpec, Permissions};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use proptest::prelude::*;

    pub(crate) fn key_object(name: &str) -> BigPeerApiKey {
        let mut k = BigPeerApiKey::new(
            name,
            BigPeerApiKeySpec {
                app_ref: AppRef { name: "app".into() },
                permissions: Permissions::default(),
                expires_at: Time(Timestamp::from_second(2_000_000_000).unwrap()),
                description: None,
                rotation: None,
            },
        );
        k.metadata.namespace = Some("ns".into());
        k.metadata.uid = Some("uid-key".into());
        k
    }

    fn material(seed: u8, previous: bool) -> Material {
        let key = PlainKey::from_string(format!("bpk_{seed:043}"));
        let hash = HashRecord::with_salt(key.expose(), &[seed; 16]);
        let old = PlainKey::from_string(format!("bpk_old{seed:040}"));
        Material {
            previous: previous.then(|| Previous {
                hash: HashRecord::with_salt(old.expose(), &[seed ^ 1; 16]),
                fingerprint: old.fingerprint(),
                valid_until: Timestamp::from_second(1_900_000_000).unwrap(),
            }),
            key,
            hash,
            rotated_at: Timestamp::from_second(1_800_000_000).unwrap(),
            rotate_handled: seed.is_multiple_of(2).then(|| format!("r{seed}")),
        }
    }

    const OWNER: Owner = Owner {
        app: "app",
        app_id: "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11",
        big_peer: "prod",
    };

    #[test]
    fn the_secret_is_owned_labelled_and_holds_what_the_docs_say() {
        let s = secret(&key_object("k"), &OWNER, &material(2, true));
        assert_eq!(s.metadata.name.as_deref(), Some("k-api-key"));
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("BigPeerApiKey", "uid-key", Some(true))
        );
        assert_eq!(s.labels()[API_KEY_LABEL], "k");
        assert_eq!(s.labels()[APP_LABEL], "app");
        assert_eq!(s.labels()[BIG_PEER_LABEL], "prod");
        let keys: Vec<&str> = s
            .data
            .as_ref()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "apiKey",
                "appId",
                "fingerprint",
                "hash",
                "previousFingerprint",
                "previousHash",
                "previousValidUntil"
            ]
        );
        assert_eq!(
            text(&s, PREVIOUS_VALID_UNTIL).as_deref(),
            Some("2030-03-17T17:46:40Z")
        );
    }

    #[test]
    fn a_hash_that_does_not_verify_the_key_is_dropped() {
        let mut s = secret(&key_object("k"), &OWNER, &material(1, false));
        let other = HashRecord::with_salt("bpk_other", &[0; 16]);
        s.data
            .as_mut()
            .unwrap()
            .insert(HASH.into(), ByteString(serde_json::to_vec(&other).unwrap()));
        let p = parse(&s);
        assert!(p.key.is_some() && p.hash.is_none());
        // The servers get what the Secret says until the operator hashes the key again.
        assert_eq!(hashes(&s).unwrap().hash, other);
    }

    #[test]
    fn an_empty_secret_parses_to_nothing() {
        assert_eq!(parse(&Secret::default()), Parsed::default());
        assert_eq!(hashes(&Secret::default()), None);
    }

    proptest! {
        #[test]
        fn material_round_trips_through_its_secret(seed in any::<u8>(), previous in any::<bool>()) {
            let m = material(seed, previous);
            let s = secret(&key_object("k"), &OWNER, &m);
            let p = parse(&s);
            prop_assert_eq!(p.key.as_ref(), Some(&m.key));
            prop_assert_eq!(p.hash.as_ref(), Some(&m.hash));
            prop_assert_eq!(&p.previous, &m.previous);
            prop_assert_eq!(p.rotated_at, Some(m.rotated_at));
            prop_assert_eq!(&p.rotate_handled, &m.rotate_handled);
            let h = hashes(&s).unwrap();
            prop_assert_eq!(h.fingerprint, m.key.fingerprint());
            prop_assert_eq!(h.previous, m.previous);
        }
    }
}
