//! Who may read `/metrics`: the bearer token is authenticated (TokenReview), the user it names
//! is authorized for a non-resource `get` of the path (SubjectAccessReview), and the decision
//! is cached briefly under a digest of the token. The API calls sit behind [`Reviewer`] so the
//! logic is tested without an API server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tracing::debug;

pub use super::access_cache::Decision;
use super::access_cache::{DecisionCache, TokenKey};

/// A user as the API server authenticated it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// User name, e.g. `system:serviceaccount:monitoring:prometheus-k8s`.
    pub username: String,
    /// Unique ID, when the authenticator gives one.
    pub uid: Option<String>,
    /// Groups the user belongs to.
    pub groups: Vec<String>,
    /// Extra attributes the authenticator gives (authorizers may use them).
    pub extra: BTreeMap<String, Vec<String>>,
}

/// A review could not be made (the API server failed or refused the call). Never cached.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The TokenReview call failed.
    #[error("TokenReview failed: {0}")]
    Authentication(String),
    /// The SubjectAccessReview call failed.
    #[error("SubjectAccessReview failed: {0}")]
    Authorization(String),
}

/// Asks the API server about tokens and permissions.
pub trait Reviewer: Send + Sync {
    /// The user `token` belongs to, or `None` when the token is not accepted.
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, ReviewError>>;
    /// Whether `user` may `verb` the non-resource URL `path`.
    fn authorize<'a>(
        &'a self,
        user: &'a User,
        path: &'a str,
        verb: &'a str,
    ) -> BoxFuture<'a, Result<bool, ReviewError>>;
}

/// How long decisions are kept, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// Lifetime of an `Allowed` decision.
    pub allowed_ttl: Duration,
    /// Lifetime of a `Forbidden` or `Unauthenticated` decision.
    pub denied_ttl: Duration,
    /// Most decisions kept at once.
    pub capacity: usize,
}

impl Default for CachePolicy {
    /// A scrape every 15-30 s reviews a token about once a minute; a revoked binding stops
    /// working within a minute; a fixed binding starts within 10 s.
    fn default() -> Self {
        CachePolicy {
            allowed_ttl: Duration::from_secs(60),
            denied_ttl: Duration::from_secs(10),
            capacity: 256,
        }
    }
}

/// The bearer token of an `Authorization` header value (`Bearer <token>`, scheme in any case).
pub fn bearer_token(header: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(header).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace))
    .then_some(token)
}

/// Decides requests for one non-resource path.
pub struct Gate {
    reviewer: Arc<dyn Reviewer>,
    policy: CachePolicy,
    cache: DecisionCache,
    path: String,
}

impl Gate {
    /// A gate for `path` (e.g. `/metrics`) asking `reviewer`.
    pub fn new(reviewer: Arc<dyn Reviewer>, path: &str, policy: CachePolicy) -> Gate {
        Gate {
            reviewer,
            policy,
            cache: DecisionCache::new(policy.capacity),
            path: path.to_string(),
        }
    }

    /// The decision for a request carrying `authorization` (the header's raw value), at `now`.
    pub async fn check(
        &self,
        authorization: Option<&[u8]>,
        now: Instant,
    ) -> Result<Decision, ReviewError> {
        let Some(token) = authorization.and_then(bearer_token) else {
            return Ok(Decision::Unauthenticated);
        };
        let key = TokenKey::of(token);
        if let Some(d) = self.cache.get(&key, now) {
            return Ok(d);
        }
        let decision = match self.reviewer.authenticate(token).await? {
            None => {
                debug!(path = %self.path, "metrics request with a token the API server rejects");
                Decision::Unauthenticated
            }
            Some(user) => {
                let allowed = self.reviewer.authorize(&user, &self.path, "get").await?;
                debug!(path = %self.path, user = %user.username, allowed, "reviewed a metrics reader");
                if allowed {
                    Decision::Allowed
                } else {
                    Decision::Forbidden
                }
            }
        };
        let ttl = match decision {
            Decision::Allowed => self.policy.allowed_ttl,
            Decision::Forbidden | Decision::Unauthenticated => self.policy.denied_ttl,
        };
        self.cache.insert(key, decision, ttl, now);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// (user, groups, path, verb) of one authorization request.
    type AuthzCall = (String, Vec<String>, String, String);

    /// Tokens map to users; `allowed` users may read; calls are counted; `fail` makes every
    /// call fail.
    #[derive(Default)]
    struct Fake {
        tokens: BTreeMap<String, User>,
        allowed: Vec<String>,
        fail: std::sync::atomic::AtomicBool,
        authn_calls: AtomicUsize,
        authz_calls: Mutex<Vec<AuthzCall>>,
    }

    impl Reviewer for Fake {
        fn authenticate<'a>(
            &'a self,
            token: &'a str,
        ) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
            Box::pin(async move {
                self.authn_calls.fetch_add(1, Ordering::SeqCst);
                if self.fail.load(Ordering::SeqCst) {
                    return Err(ReviewError::Authentication("unavailable".into()));
                }
                Ok(self.tokens.get(token).cloned())
            })
        }
        fn authorize<'a>(
            &'a self,
            user: &'a User,
            path: &'a str,
            verb: &'a str,
        ) -> BoxFuture<'a, Result<bool, ReviewError>> {
            Box::pin(async move {
                self.authz_calls.lock().unwrap().push((
                    user.username.clone(),
                    user.groups.clone(),
                    path.into(),
                    verb.into(),
                ));
                Ok(self.allowed.contains(&user.username))
            })
        }
    }

    fn user(name: &str) -> User {
        User {
            username: name.into(),
            uid: Some(format!("uid-{name}")),
            groups: vec![
                "system:serviceaccounts".into(),
                "system:authenticated".into(),
            ],
            extra: BTreeMap::new(),
        }
    }

    fn fake() -> Arc<Fake> {
        Arc::new(Fake {
            tokens: BTreeMap::from([
                ("reader-token".into(), user("prometheus")),
                ("other-token".into(), user("someone")),
            ]),
            allowed: vec!["prometheus".into()],
            ..Default::default()
        })
    }

    fn gate(f: &Arc<Fake>) -> Gate {
        Gate::new(f.clone(), "/metrics", CachePolicy::default())
    }

    fn hdr(v: &str) -> Option<&[u8]> {
        Some(v.as_bytes())
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(bearer_token(b"Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_token(b"BEARER abc"), Some("abc"));
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token(b"Bearer a b"), None);
        assert_eq!(bearer_token(b"Bearer \xff"), None);
        assert_eq!(bearer_token(b"abc"), None);
    }

    proptest! {
        #[test]
        fn any_token_without_whitespace_round_trips(t in "[!-~]{1,200}") {
            let header = format!("Bearer {t}");
            prop_assert_eq!(bearer_token(header.as_bytes()), Some(t.as_str()));
        }
    }

    #[tokio::test]
    async fn no_or_malformed_token_is_unauthenticated_without_asking() {
        let f = fake();
        let g = gate(&f);
        let now = Instant::now();
        assert_eq!(g.check(None, now).await.unwrap(), Decision::Unauthenticated);
        assert_eq!(
            g.check(hdr("Basic eDp5"), now).await.unwrap(),
            Decision::Unauthenticated
        );
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn unknown_token_is_unauthenticated_and_never_authorized() {
        let f = fake();
        let g = gate(&f);
        let d = g.check(hdr("Bearer forged"), Instant::now()).await.unwrap();
        assert_eq!(d, Decision::Unauthenticated);
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 1);
        assert!(f.authz_calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn authorization_asks_for_get_of_the_path_as_the_reviewed_user() {
        let f = fake();
        let g = gate(&f);
        let now = Instant::now();
        assert_eq!(
            g.check(hdr("Bearer reader-token"), now).await.unwrap(),
            Decision::Allowed
        );
        assert_eq!(
            g.check(hdr("Bearer other-token"), now).await.unwrap(),
            Decision::Forbidden
        );
        let calls = f.authz_calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![
                (
                    "prometheus".to_string(),
                    user("prometheus").groups,
                    "/metrics".to_string(),
                    "get".to_string()
                ),
                (
                    "someone".to_string(),
                    user("someone").groups,
                    "/metrics".to_string(),
                    "get".to_string()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn decisions_are_cached_per_token_for_their_ttl() {
        let f = fake();
        let p = CachePolicy::default();
        let g = gate(&f);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(
                g.check(hdr("Bearer reader-token"), t0).await.unwrap(),
                Decision::Allowed
            );
            assert_eq!(
                g.check(hdr("Bearer other-token"), t0).await.unwrap(),
                Decision::Forbidden
            );
        }
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 2);
        // The denial expires first and is reviewed again; the allowance is still cached.
        let t1 = t0 + p.denied_ttl;
        g.check(hdr("Bearer other-token"), t1).await.unwrap();
        g.check(hdr("Bearer reader-token"), t1).await.unwrap();
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 3);
        let t2 = t0 + p.allowed_ttl;
        g.check(hdr("Bearer reader-token"), t2).await.unwrap();
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn failures_are_errors_and_not_cached() {
        let f = fake();
        let g = gate(&f);
        let now = Instant::now();
        f.fail.store(true, Ordering::SeqCst);
        assert!(matches!(
            g.check(hdr("Bearer reader-token"), now).await,
            Err(ReviewError::Authentication(_))
        ));
        f.fail.store(false, Ordering::SeqCst);
        assert_eq!(
            g.check(hdr("Bearer reader-token"), now).await.unwrap(),
            Decision::Allowed
        );
        assert_eq!(f.authn_calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_cache_stays_bounded_under_many_tokens() {
        let f = fake();
        let g = Gate::new(
            f.clone(),
            "/metrics",
            CachePolicy {
                capacity: 8,
                ..CachePolicy::default()
            },
        );
        let now = Instant::now();
        for i in 0..100 {
            g.check(hdr(&format!("Bearer junk-{i}")), now)
                .await
                .unwrap();
        }
        assert!(g.cache.len() <= 8);
        // A real reader still gets through.
        assert_eq!(
            g.check(hdr("Bearer reader-token"), now).await.unwrap(),
            Decision::Allowed
        );
    }
}
