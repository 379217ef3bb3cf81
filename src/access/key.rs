//! API key material. One module decides the format of keys, of the salted hash the Big Peer
//! servers check a key against, and of the fingerprint that names a key in status, Events, logs
//! and metrics, so that the format can follow Big Peer's.
//!
//! A key is 32 bytes from the operating system's CSPRNG, written as `bpk_` and unpadded
//! base64url (47 characters): the fixed prefix lets secret scanners find a leaked key. The
//! servers get `HMAC-SHA256(key = salt, message = key)` with a 16-byte random salt: a key has 256
//! bits of entropy, so a slow password hash would cost CPU on every call and add nothing, and the
//! salt keeps equal keys' records apart. The fingerprint is `sha256:` and the first 16 hex digits
//! of the unsalted SHA-256 of the key, which an operator can compare with `sha256sum`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Prefix of every key the operator makes.
pub const PREFIX: &str = "bpk_";
/// Bytes of randomness in a key.
const KEY_BYTES: usize = 32;
/// Bytes of salt in a hash record.
const SALT_BYTES: usize = 16;
/// Name of the hash algorithm in a record.
pub const ALGORITHM: &str = "hmac-sha256";

/// A plaintext API key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlainKey({})", fingerprint(&self.0))
    }
}

impl PlainKey {
    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the operating system's random generator works");
        Self(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A key read back (from its Secret).
    pub fn from_string(s: String) -> Self {
        Self(s)
    }

    /// The key's text: only for its Secret and the one API response that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }

    /// A salted hash of the key with a new random salt.
    pub fn hash(&self) -> HashRecord {
        let mut salt = [0u8; SALT_BYTES];
        SystemRandom::new()
            .fill(&mut salt)
            .expect("the operating system's random generator works");
        HashRecord::with_salt(&self.0, &salt)
    }
}

/// `sha256:` and the first 16 hex digits of SHA-256 of `key`.
pub fn fingerprint(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("sha256:{}", hex::encode(&digest[..8]))
}

/// What a Big Peer server needs to check a key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashRecord {
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// The salt, standard base64.
    pub salt: String,
    /// HMAC-SHA256 of the key under the salt, standard base64.
    pub hash: String,
}

impl HashRecord {
    /// The record of `key` under `salt`.
    pub fn with_salt(key: &str, salt: &[u8]) -> Self {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), key.as_bytes());
        Self {
            algorithm: ALGORITHM.into(),
            salt: STANDARD.encode(salt),
            hash: STANDARD.encode(tag.as_ref()),
        }
    }

    /// Whether `key` is the key of this record, in constant time.
    pub fn verify(&self, key: &str) -> bool {
        if self.algorithm != ALGORITHM {
            return false;
        }
        let (Ok(salt), Ok(hash)) = (STANDARD.decode(&self.salt), STANDARD.decode(&self.hash))
        else {
            return false;
        };
        hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA256, &salt),
            key.as_bytes(),
            &hash,
        )
        .is_ok()
    }
}

/// A new app ID: a random (version 4) UUID.
pub fn new_app_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether `s` is a UUID in canonical text form (the form `spec.appId` accepts).
pub fn is_app_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_have_the_documented_shape_and_differ() {
        let a = PlainKey::generate();
        let b = PlainKey::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(PREFIX));
        assert_eq!(a.expose().len(), 47);
        assert!(
            a.expose()[PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = PlainKey::generate();
        let shown = format!("{k:?}");
        assert!(!shown.contains(&k.expose()[PREFIX.len()..]));
        assert!(shown.contains(&k.fingerprint()));
    }

    #[test]
    fn fingerprint_matches_sha256sum() {
        // printf %s abc | sha256sum
        assert_eq!(fingerprint("abc"), "sha256:ba7816bf8f01cfea");
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let r = HashRecord::with_salt("what do ya want for nothing?", b"Jefe");
        assert_eq!(
            hex::encode(STANDARD.decode(&r.hash).unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_record_with_another_algorithm_or_bad_base64_verifies_nothing() {
        let k = PlainKey::generate();
        let mut r = k.hash();
        assert!(r.verify(k.expose()));
        r.algorithm = "md5".into();
        assert!(!r.verify(k.expose()));
        let mut r = k.hash();
        r.salt = "!!".into();
        assert!(!r.verify(k.expose()));
    }

    #[test]
    fn app_ids_are_uuids() {
        let id = new_app_id();
        assert!(is_app_id(&id));
        assert!(!is_app_id("not-a-uuid"));
        assert!(!is_app_id("3f5f9b517c1a4c3b9a578b2c9e0f5d11"));
        assert!(is_app_id("3F5F9B51-7C1A-4C3B-9A57-8B2C9E0F5D11"));
    }

    proptest! {
        #[test]
        fn a_record_verifies_its_key_and_no_other(a in "[ -~]{1,64}", b in "[ -~]{1,64}", salt in proptest::collection::vec(any::<u8>(), 16)) {
            let r = HashRecord::with_salt(&a, &salt);
            prop_assert!(r.verify(&a));
            prop_assert_eq!(r.verify(&b), a == b);
        }

        #[test]
        fn the_record_never_contains_the_key(salt in proptest::collection::vec(any::<u8>(), 16)) {
            let k = PlainKey::generate();
            let r = HashRecord::with_salt(k.expose(), &salt);
            let text = serde_json::to_string(&r).unwrap();
            prop_assert!(!text.contains(&k.expose()[PREFIX.len()..]));
        }
    }
}
