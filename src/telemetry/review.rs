//! [`Reviewer`] on the API server: TokenReview (authentication.k8s.io/v1) and
//! SubjectAccessReview (authorization.k8s.io/v1). Needs `create` on both (see `olm::rbac`).

use futures::future::BoxFuture;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    SubjectAccessReviewStatus,
};
use kube::api::{Api, PostParams};

use super::access::{Attributes, ReviewError, Reviewer, User};

/// Reviews through the API server the operator talks to.
#[derive(Clone)]
pub struct KubeReviewer {
    client: kube::Client,
}

impl KubeReviewer {
    /// A reviewer using `client`.
    pub fn new(client: kube::Client) -> KubeReviewer {
        KubeReviewer { client }
    }
}

/// The TokenReview for `token`, for the API server's own audiences.
pub fn token_review(token: &str) -> TokenReview {
    TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            audiences: None,
        },
        ..Default::default()
    }
}

/// The authenticated user of a TokenReview status; `None` unless authenticated with a name.
pub fn reviewed_user(status: Option<TokenReviewStatus>) -> Option<User> {
    let status = status?;
    if status.authenticated != Some(true) {
        return None;
    }
    let info = status.user?;
    let username = info.username.filter(|u| !u.is_empty())?;
    Some(User {
        username,
        uid: info.uid.filter(|u| !u.is_empty()),
        groups: info.groups.unwrap_or_default(),
        extra: info.extra.unwrap_or_default(),
    })
}

/// The SubjectAccessReview asking whether `user` may do what `attributes` say.
pub fn access_review(user: &User, attributes: &Attributes) -> SubjectAccessReview {
    let (non_resource_attributes, resource_attributes) = match attributes {
        Attributes::NonResource { path, verb } => (
            Some(NonResourceAttributes {
                path: Some(path.clone()),
                verb: Some(verb.clone()),
            }),
            None,
        ),
        Attributes::Resource(r) => (
            None,
            Some(ResourceAttributes {
                group: Some(r.group.clone()),
                resource: Some(r.resource.clone()),
                namespace: Some(r.namespace.clone()),
                name: r.name.clone(),
                verb: Some(r.verb.clone()),
                ..Default::default()
            }),
        ),
    };
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.username.clone()),
            uid: user.uid.clone(),
            groups: Some(user.groups.clone()),
            extra: (!user.extra.is_empty()).then(|| user.extra.clone()),
            non_resource_attributes,
            resource_attributes,
        },
        ..Default::default()
    }
}

/// Allowed, and not explicitly denied.
pub fn is_allowed(status: Option<&SubjectAccessReviewStatus>) -> bool {
    status.is_some_and(|s| s.allowed && s.denied != Some(true))
}

impl Reviewer for KubeReviewer {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        Box::pin(async move {
            let api: Api<TokenReview> = Api::all(self.client.clone());
            let review = api
                .create(&PostParams::default(), &token_review(token))
                .await
                .map_err(|e| ReviewError::Authentication(e.to_string()))?;
            Ok(reviewed_user(review.status))
        })
    }

    fn authorize<'a>(
        &'a self,
        user: &'a User,
        attributes: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        Box::pin(async move {
            let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
            let review = api
                .create(&PostParams::default(), &access_review(user, attributes))
                .await
                .map_err(|e| ReviewError::Authorization(e.to_string()))?;
            Ok(is_allowed(review.status.as_ref()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::UserInfo;
    use std::collections::BTreeMap;

    fn status(authenticated: Option<bool>, username: Option<&str>) -> TokenReviewStatus {
        TokenReviewStatus {
            authenticated,
            user: Some(UserInfo {
                username: username.map(String::from),
                uid: Some("u-1".into()),
                groups: Some(vec!["system:serviceaccounts".into()]),
                extra: Some(BTreeMap::from([(
                    "authentication.kubernetes.io/pod-name".to_string(),
                    vec!["prom-0".to_string()],
                )])),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn token_review_carries_only_the_token() {
        let r = token_review("t0k");
        assert_eq!(r.spec.token.as_deref(), Some("t0k"));
        assert!(r.spec.audiences.is_none());
    }

    #[test]
    fn only_an_authenticated_named_user_counts() {
        assert_eq!(reviewed_user(None), None);
        assert_eq!(reviewed_user(Some(status(None, Some("a")))), None);
        assert_eq!(reviewed_user(Some(status(Some(false), Some("a")))), None);
        assert_eq!(reviewed_user(Some(status(Some(true), None))), None);
        assert_eq!(reviewed_user(Some(status(Some(true), Some("")))), None);
        let u = reviewed_user(Some(status(Some(true), Some("system:serviceaccount:m:p")))).unwrap();
        assert_eq!(u.username, "system:serviceaccount:m:p");
        assert_eq!(u.uid.as_deref(), Some("u-1"));
        assert_eq!(u.groups, vec!["system:serviceaccounts".to_string()]);
        assert_eq!(
            u.extra["authentication.kubernetes.io/pod-name"],
            vec!["prom-0"]
        );
    }

    #[test]
    fn access_review_is_a_non_resource_request_as_the_user() {
        let u = reviewed_user(Some(status(Some(true), Some("p")))).unwrap();
        let r = access_review(&u, &Attributes::non_resource("/metrics", "get"));
        assert_eq!(r.spec.user.as_deref(), Some("p"));
        assert_eq!(r.spec.uid.as_deref(), Some("u-1"));
        assert_eq!(r.spec.groups, Some(u.groups.clone()));
        assert_eq!(r.spec.extra, Some(u.extra.clone()));
        let nra = r.spec.non_resource_attributes.unwrap();
        assert_eq!(nra.path.as_deref(), Some("/metrics"));
        assert_eq!(nra.verb.as_deref(), Some("get"));
        assert!(r.spec.resource_attributes.is_none());
        let bare = access_review(
            &User::default(),
            &Attributes::non_resource("/metrics", "get"),
        );
        assert!(bare.spec.extra.is_none());
    }

    #[test]
    fn access_review_of_a_custom_resource_names_group_resource_namespace_and_object() {
        let u = reviewed_user(Some(status(Some(true), Some("p")))).unwrap();
        let a = Attributes::resource("smbp.io", "bigpeerapps", "team-a", Some("my-app"), "patch");
        let r = access_review(&u, &a);
        assert!(r.spec.non_resource_attributes.is_none());
        let ra = r.spec.resource_attributes.unwrap();
        assert_eq!(ra.group.as_deref(), Some("smbp.io"));
        assert_eq!(ra.resource.as_deref(), Some("bigpeerapps"));
        assert_eq!(ra.namespace.as_deref(), Some("team-a"));
        assert_eq!(ra.name.as_deref(), Some("my-app"));
        assert_eq!(ra.verb.as_deref(), Some("patch"));
        assert_eq!(ra.subresource, None);
        let all = Attributes::resource("smbp.io", "bigpeerapps", "team-a", None, "list");
        let ra = access_review(&u, &all).spec.resource_attributes.unwrap();
        assert_eq!(ra.name, None, "no name: every object");
    }

    #[test]
    fn denied_wins_over_allowed() {
        let s = |allowed, denied| SubjectAccessReviewStatus {
            allowed,
            denied,
            ..Default::default()
        };
        assert!(is_allowed(Some(&s(true, None))));
        assert!(is_allowed(Some(&s(true, Some(false)))));
        assert!(!is_allowed(Some(&s(true, Some(true)))));
        assert!(!is_allowed(Some(&s(false, None))));
        assert!(!is_allowed(None));
    }
}
