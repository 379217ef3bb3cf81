//! Who may call the operator's HTTPS endpoints: the bearer token is authenticated
//! (TokenReview), the user it names is authorized for what the request does
//! (SubjectAccessReview: a non-resource `get` of `/metrics`, or a verb on a custom resource for
//! the management API), and the decision is cached briefly under a digest of the token and of
//! what was asked. The API calls sit behind [`Reviewer`] so the logic is tested without an API
//! server.

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

/// What a request asks to do, as a SubjectAccessReview states it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attributes {
    /// `verb` on a non-resource URL, such as `get` of `/metrics`.
    NonResource {
        /// The URL path.
        path: String,
        /// The verb (`get`).
        verb: String,
    },
    /// `verb` on a resource, such as `create` of `bigpeerapps` in a namespace.
    Resource(ResourceAttributes),
}

/// A verb on objects of one resource in one namespace, or on one object of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceAttributes {
    /// API group (`smbp.io`; empty for the core group).
    pub group: String,
    /// Resource (plural), such as `bigpeerapps`.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Object name; `None` for every object (list, create, a collection).
    pub name: Option<String>,
    /// Verb: get, list, create, update, patch, delete.
    pub verb: String,
}

impl Attributes {
    /// `verb` on the non-resource URL `path`.
    pub fn non_resource(path: &str, verb: &str) -> Attributes {
        Attributes::NonResource {
            path: path.into(),
            verb: verb.into(),
        }
    }

    /// `verb` on `resource` of `group` in `namespace`, on the object `name` when given.
    pub fn resource(
        group: &str,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
        verb: &str,
    ) -> Attributes {
        Attributes::Resource(ResourceAttributes {
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.map(str::to_string),
            verb: verb.into(),
        })
    }

    /// One line naming the attributes without ambiguity (the decision cache's scope): a JSON
    /// array of its fields.
    pub fn scope(&self) -> String {
        let fields = match self {
            Attributes::NonResource { path, verb } => {
                serde_json::json!(["nonResource", verb, path])
            }
            Attributes::Resource(r) => {
                serde_json::json!(["resource", r.verb, r.group, r.resource, r.namespace, r.name])
            }
        };
        fields.to_string()
    }
}

impl std::fmt::Display for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attributes::NonResource { path, verb } => write!(f, "{verb} {path}"),
            Attributes::Resource(r) => {
                write!(f, "{} {}", r.verb, r.resource)?;
                if !r.group.is_empty() {
                    write!(f, ".{}", r.group)?;
                }
                write!(f, " in {}", r.namespace)?;
                match &r.name {
                    Some(n) => write!(f, " named {n}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Asks the API server about tokens and permissions.
pub trait Reviewer: Send + Sync {
    /// The user `token` belongs to, or `None` when the token is not accepted.
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, ReviewError>>;
    /// Whether `user` may do what `attributes` say.
    fn authorize<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a Attributes,
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

/// Decides requests: who the bearer token is, and whether that user may do what the request
/// asks. Decisions are cached per token and per [`Attributes`].
pub struct Gate {
    reviewer: Arc<dyn Reviewer>,
    policy: CachePolicy,
    cache: DecisionCache,
}

/// A decision and, when the token was reviewed for it now, the user it names (for logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reviewed {
    /// The decision.
    pub decision: Decision,
    /// The user, when the API server was asked (a cached decision names none).
    pub user: Option<String>,
}

impl Gate {
    /// A gate asking `reviewer`.
    pub fn new(reviewer: Arc<dyn Reviewer>, policy: CachePolicy) -> Gate {
        Gate {
            reviewer,
            policy,
            cache: DecisionCache::new(policy.capacity),
        }
    }

    /// The decision for a request carrying `authorization` (the header's raw value) that asks
    /// for `attributes`, at `now`.
    pub async fn check(
        &self,
        authorization: Option<&[u8]>,
        attributes: &Attributes,
        now: Instant,
    ) -> Result<Decision, ReviewError> {
        Ok(self.review(authorization, attributes, now).await?.decision)
    }

    /// As [`Gate::check`], also naming the user when the API server was asked.
    pub async fn review(
        &self,
        authorization: Option<&[u8]>,
        attributes: &Attributes,
        now: Instant,
    ) -> Result<Reviewed, ReviewError> {
        let Some(token) = authorization.and_then(bearer_token) else {
            return Ok(Reviewed {
                decision: Decision::Unauthenticated,
                user: None,
            });
        };
        let key = TokenKey::scoped(token, &attributes.scope());
        if let Some(d) = self.cache.get(&key, now) {
            return Ok(Reviewed {
                decision: d,
                user: None,
            });
        }
        let mut name = None;
        let decision = match self.reviewer.authenticate(token).await? {
            None => {
                debug!(%attributes, "a request with a token the API server rejects");
                Decision::Unauthenticated
            }
            Some(user) => {
                let allowed = self.reviewer.authorize(&user, attributes).await?;
                debug!(%attributes, user = %user.username, allowed, "reviewed a request");
                name = Some(user.username);
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
        Ok(Reviewed {
            decision,
            user: name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// (user, groups, attributes) of one authorization request.
    type AuthzCall = (String, Vec<String>, Attributes);

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
            attributes: &'a Attributes,
        ) -> BoxFuture<'a, Result<bool, ReviewError>> {
            Box::pin(async move {
                self.authz_calls.lock().unwrap().push((
                    user.username.clone(),
                    user.groups.clone(),
                    attributes.clone(),
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

    /// A gate for `/metrics`: `check` asks for a `get` of it.
    struct MetricsGate(Gate);

    impl MetricsGate {
        async fn check(&self, h: Option<&[u8]>, now: Instant) -> Result<Decision, ReviewError> {
            self.0.check(h, &metrics(), now).await
        }
    }

    fn metrics() -> Attributes {
        Attributes::non_resource("/metrics", "get")
    }

    fn gate(f: &Arc<Fake>) -> MetricsGate {
        MetricsGate(Gate::new(f.clone(), CachePolicy::default()))
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
                    metrics()
                ),
                ("someone".to_string(), user("someone").groups, metrics()),
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
        let g = MetricsGate(Gate::new(
            f.clone(),
            CachePolicy {
                capacity: 8,
                ..CachePolicy::default()
            },
        ));
        let now = Instant::now();
        for i in 0..100 {
            g.check(hdr(&format!("Bearer junk-{i}")), now)
                .await
                .unwrap();
        }
        assert!(g.0.cache.len() <= 8);
        // A real reader still gets through.
        assert_eq!(
            g.check(hdr("Bearer reader-token"), now).await.unwrap(),
            Decision::Allowed
        );
    }

    #[tokio::test]
    async fn decisions_are_cached_per_token_and_per_attributes() {
        let f = fake();
        let g = Gate::new(f.clone(), CachePolicy::default());
        let now = Instant::now();
        let create = Attributes::resource("smbp.io", "bigpeerapps", "ns", None, "create");
        let get_a = Attributes::resource("smbp.io", "bigpeerapps", "ns", Some("a"), "get");
        let get_b = Attributes::resource("smbp.io", "bigpeerapps", "ns", Some("b"), "get");
        for a in [&create, &get_a, &get_b, &create, &get_a] {
            let r = g.review(hdr("Bearer reader-token"), a, now).await.unwrap();
            assert_eq!(r.decision, Decision::Allowed);
        }
        // Three distinct questions, each asked once, as the user the token names.
        let calls = f.authz_calls.lock().unwrap().clone();
        let asked: Vec<&Attributes> = calls.iter().map(|c| &c.2).collect();
        assert_eq!(asked, vec![&create, &get_a, &get_b]);
        assert!(calls.iter().all(|c| c.0 == "prometheus"));
        // A fresh review names the user; a cached one does not.
        let other = Attributes::resource("smbp.io", "bigpeerapikeys", "ns", None, "list");
        let r = g
            .review(hdr("Bearer reader-token"), &other, now)
            .await
            .unwrap();
        assert_eq!(r.user.as_deref(), Some("prometheus"));
        let r = g
            .review(hdr("Bearer reader-token"), &other, now)
            .await
            .unwrap();
        assert_eq!(r.user, None);
    }

    #[test]
    fn scopes_tell_attributes_apart() {
        let all = [
            Attributes::non_resource("/metrics", "get"),
            Attributes::resource("smbp.io", "bigpeerapps", "ns", None, "list"),
            Attributes::resource("smbp.io", "bigpeerapps", "ns", Some("a"), "get"),
            Attributes::resource("smbp.io", "bigpeerapps", "ns2", Some("a"), "get"),
            Attributes::resource("", "secrets", "ns", Some("a"), "get"),
        ];
        let scopes: std::collections::BTreeSet<String> = all.iter().map(|a| a.scope()).collect();
        assert_eq!(scopes.len(), all.len());
    }
}
