//! A small, bounded cache of metrics access decisions, keyed by a SHA-256 digest of the bearer
//! token so that the token itself is never kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// What a reader of `/metrics` may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// No token, or a token the API server does not accept (HTTP 401).
    Unauthenticated,
    /// A known user who may not read `/metrics` (HTTP 403).
    Forbidden,
    /// A known user who may read `/metrics`.
    Allowed,
}

/// SHA-256 of a bearer token: the only form of a token the cache holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// Digest of `token`.
    pub fn of(token: &str) -> TokenKey {
        TokenKey(Sha256::digest(token.as_bytes()).into())
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    decision: Decision,
    expires: Instant,
}

/// Decisions with an expiry; never more than `capacity` of them.
#[derive(Debug)]
pub struct DecisionCache {
    entries: HashMap<TokenKey, Entry>,
    capacity: usize,
}

impl DecisionCache {
    /// An empty cache holding at most `capacity` decisions (0 caches nothing).
    pub fn new(capacity: usize) -> DecisionCache {
        DecisionCache {
            entries: HashMap::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    /// The decision for `key` if it has not expired at `now`; an expired one is dropped.
    pub fn get(&mut self, key: &TokenKey, now: Instant) -> Option<Decision> {
        match self.entries.get(key) {
            Some(e) if now < e.expires => Some(e.decision),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remember `decision` for `ttl` from `now`. When full, expired entries go first, then the
    /// one closest to expiry.
    pub fn insert(&mut self, key: TokenKey, decision: Decision, ttl: Duration, now: Instant) {
        if self.capacity == 0 || ttl.is_zero() {
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, e| now < e.expires);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| *k)
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(
            key,
            Entry {
                decision,
                expires: now + ttl,
            },
        );
    }

    /// Number of decisions held (expired ones included until they are touched or evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Holds no decision.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn keys_are_sha256_digests_not_tokens() {
        let k = TokenKey::of("abc");
        assert_eq!(
            hex::encode(k.0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(TokenKey::of("abc"), TokenKey::of("abd"));
    }

    #[test]
    fn decisions_expire() {
        let t0 = Instant::now();
        let mut c = DecisionCache::new(4);
        let k = TokenKey::of("t");
        c.insert(k, Decision::Allowed, TTL, t0);
        assert_eq!(c.get(&k, t0), Some(Decision::Allowed));
        assert_eq!(
            c.get(&k, t0 + TTL - Duration::from_millis(1)),
            Some(Decision::Allowed)
        );
        assert_eq!(c.get(&k, t0 + TTL), None);
        assert!(c.is_empty(), "an expired decision is dropped when read");
    }

    #[test]
    fn full_cache_drops_expired_then_closest_to_expiry() {
        let t0 = Instant::now();
        let mut c = DecisionCache::new(2);
        let (a, b, d, e) = (
            TokenKey::of("a"),
            TokenKey::of("b"),
            TokenKey::of("d"),
            TokenKey::of("e"),
        );
        c.insert(a, Decision::Allowed, Duration::from_secs(10), t0);
        c.insert(b, Decision::Forbidden, Duration::from_secs(100), t0);
        // a expires first: it makes room for d.
        c.insert(d, Decision::Allowed, Duration::from_secs(50), t0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&a, t0), None);
        assert_eq!(c.get(&b, t0), Some(Decision::Forbidden));
        assert_eq!(c.get(&d, t0), Some(Decision::Allowed));
        // At t0+60 d has expired: it goes, b stays.
        let later = t0 + Duration::from_secs(60);
        c.insert(e, Decision::Unauthenticated, TTL, later);
        assert_eq!(c.get(&b, later), Some(Decision::Forbidden));
        assert_eq!(c.get(&e, later), Some(Decision::Unauthenticated));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn replacing_a_key_does_not_evict_another() {
        let t0 = Instant::now();
        let mut c = DecisionCache::new(2);
        let (a, b) = (TokenKey::of("a"), TokenKey::of("b"));
        c.insert(a, Decision::Allowed, TTL, t0);
        c.insert(b, Decision::Allowed, TTL, t0);
        c.insert(a, Decision::Forbidden, TTL, t0);
        assert_eq!(c.get(&a, t0), Some(Decision::Forbidden));
        assert_eq!(c.get(&b, t0), Some(Decision::Allowed));
    }

    #[test]
    fn zero_capacity_or_ttl_caches_nothing() {
        let t0 = Instant::now();
        let k = TokenKey::of("t");
        let mut none = DecisionCache::new(0);
        none.insert(k, Decision::Allowed, TTL, t0);
        assert_eq!(none.get(&k, t0), None);
        let mut c = DecisionCache::new(4);
        c.insert(k, Decision::Allowed, Duration::ZERO, t0);
        assert_eq!(c.get(&k, t0), None);
    }

    fn decision() -> impl Strategy<Value = Decision> {
        prop_oneof![
            Just(Decision::Unauthenticated),
            Just(Decision::Forbidden),
            Just(Decision::Allowed)
        ]
    }

    proptest! {
        /// Whatever is inserted when, the cache stays within its bound, and the newest
        /// insert is always readable until it expires.
        #[test]
        fn bounded_and_the_newest_decision_is_kept(
            capacity in 1usize..8,
            ops in proptest::collection::vec((0u8..16, decision(), 1u64..100, 0u64..30), 1..80),
        ) {
            let t0 = Instant::now();
            let mut c = DecisionCache::new(capacity);
            let mut now = t0;
            for (token, d, ttl, advance) in ops {
                now += Duration::from_secs(advance);
                let k = TokenKey::of(&token.to_string());
                c.insert(k, d, Duration::from_secs(ttl), now);
                prop_assert!(c.len() <= capacity);
                prop_assert_eq!(c.get(&k, now), Some(d));
                prop_assert_eq!(c.get(&k, now + Duration::from_secs(ttl)), None);
            }
        }
    }
}
