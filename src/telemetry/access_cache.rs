//! A small, bounded cache of metrics access decisions (a moka cache), keyed by a SHA-256 digest
//! of the bearer token so that the token itself is never kept.

use std::time::{Duration, Instant};

use moka::Expiry;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

/// Whether a request may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// No token, or a token the API server does not accept (HTTP 401).
    Unauthenticated,
    /// A known user who may not do what the request asks (HTTP 403).
    Forbidden,
    /// A known user who may do what the request asks.
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

    /// Digest of `token` and of what it asked for (`scope`): one decision per question. The
    /// token's length goes first, so no (token, scope) pair reads as another.
    pub fn scoped(token: &str, scope: &str) -> TokenKey {
        let mut h = Sha256::new();
        h.update((token.len() as u64).to_be_bytes());
        h.update(token.as_bytes());
        h.update(scope.as_bytes());
        TokenKey(h.finalize().into())
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    decision: Decision,
    /// When the decision stops counting, on the caller's clock (`get` and `insert` take `now`).
    expires: Instant,
    /// Its lifetime, after which moka drops it from memory.
    ttl: Duration,
}

/// Every entry lives for its own `ttl`, from its last insert.
struct OwnTtl;

impl Expiry<TokenKey, Entry> for OwnTtl {
    fn expire_after_create(&self, _: &TokenKey, e: &Entry, _: Instant) -> Option<Duration> {
        Some(e.ttl)
    }

    fn expire_after_update(
        &self,
        _: &TokenKey,
        e: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(e.ttl)
    }
}

/// Decisions with an expiry; at most `capacity` of them once moka's pending maintenance has run
/// (it evicts in small batches during reads and writes), least recently used first.
pub struct DecisionCache {
    entries: Cache<TokenKey, Entry>,
}

impl DecisionCache {
    /// An empty cache holding at most `capacity` decisions (0 caches nothing).
    pub fn new(capacity: usize) -> DecisionCache {
        DecisionCache {
            entries: Cache::builder()
                .max_capacity(capacity as u64)
                // Plain LRU: TinyLFU's admission filter may refuse a new token outright.
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(OwnTtl)
                .build(),
        }
    }

    /// The decision for `key` if it has not expired at `now`; an expired one is dropped.
    pub fn get(&self, key: &TokenKey, now: Instant) -> Option<Decision> {
        let e = self.entries.get(key)?;
        if now < e.expires {
            Some(e.decision)
        } else {
            self.entries.invalidate(key);
            None
        }
    }

    /// Remember `decision` for `ttl` from `now`.
    pub fn insert(&self, key: TokenKey, decision: Decision, ttl: Duration, now: Instant) {
        if self.entries.policy().max_capacity() == Some(0) || ttl.is_zero() {
            return;
        }
        self.entries.insert(
            key,
            Entry {
                decision,
                expires: now + ttl,
                ttl,
            },
        );
    }

    /// Number of decisions held, once pending evictions have run.
    pub fn len(&self) -> usize {
        self.entries.run_pending_tasks();
        self.entries.entry_count() as usize
    }

    /// Holds no decision (pending evictions run first).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        assert_ne!(TokenKey::scoped("ab", "c"), TokenKey::scoped("a", "bc"));
        assert_ne!(TokenKey::scoped("a", "x"), TokenKey::scoped("a", "y"));
        assert_ne!(TokenKey::scoped("abc", ""), TokenKey::of("abc"));
    }

    #[test]
    fn decisions_expire() {
        let t0 = Instant::now();
        let c = DecisionCache::new(4);
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
    fn moka_expires_each_decision_after_its_own_ttl() {
        let c = DecisionCache::new(4);
        let now = Instant::now();
        let (short, long) = (TokenKey::of("short"), TokenKey::of("long"));
        c.insert(short, Decision::Forbidden, Duration::from_millis(50), now);
        c.insert(long, Decision::Allowed, TTL, now);
        std::thread::sleep(Duration::from_millis(100));
        // Asked with the insert's `now`, only moka's own clock can tell that `short` is gone.
        assert_eq!(c.get(&short, now), None);
        assert_eq!(c.get(&long, now), Some(Decision::Allowed));
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used() {
        let t0 = Instant::now();
        let c = DecisionCache::new(2);
        let (a, b, d) = (TokenKey::of("a"), TokenKey::of("b"), TokenKey::of("d"));
        c.insert(a, Decision::Allowed, TTL, t0);
        c.insert(b, Decision::Forbidden, TTL, t0);
        assert_eq!(c.len(), 2);
        // a was read since b was written: b makes room for d.
        assert_eq!(c.get(&a, t0), Some(Decision::Allowed));
        c.insert(d, Decision::Allowed, TTL, t0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&b, t0), None);
        assert_eq!(c.get(&a, t0), Some(Decision::Allowed));
        assert_eq!(c.get(&d, t0), Some(Decision::Allowed));
    }

    #[test]
    fn replacing_a_key_does_not_evict_another() {
        let t0 = Instant::now();
        let c = DecisionCache::new(2);
        let (a, b) = (TokenKey::of("a"), TokenKey::of("b"));
        c.insert(a, Decision::Allowed, TTL, t0);
        c.insert(b, Decision::Allowed, TTL, t0);
        c.insert(a, Decision::Forbidden, TTL, t0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&a, t0), Some(Decision::Forbidden));
        assert_eq!(c.get(&b, t0), Some(Decision::Allowed));
    }

    #[test]
    fn zero_capacity_or_ttl_caches_nothing() {
        let t0 = Instant::now();
        let k = TokenKey::of("t");
        let none = DecisionCache::new(0);
        none.insert(k, Decision::Allowed, TTL, t0);
        assert_eq!(none.get(&k, t0), None);
        let c = DecisionCache::new(4);
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
            let c = DecisionCache::new(capacity);
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
