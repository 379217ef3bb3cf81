//! What a refused request lacked: every API call of the plugin says which permission it uses
//! (verb, resource, namespace), so that a 403 becomes "missing permission: list pods in
//! namespace x" rather than the API server's generic text.

use std::fmt;

/// A permission an API call needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// get, list, watch, patch, ...
    pub verb: &'static str,
    /// Resource with its group (`bigpeers.smbp.io`, `pods`, `pods/log`).
    pub resource: String,
    /// Namespace, `None` for cluster-scoped resources and all-namespace lists.
    pub namespace: Option<String>,
}

impl Access {
    /// A permission in a namespace.
    pub fn ns(verb: &'static str, resource: &str, namespace: &str) -> Self {
        Self {
            verb,
            resource: resource.into(),
            namespace: Some(namespace.into()),
        }
    }

    /// A cluster-wide permission.
    pub fn cluster(verb: &'static str, resource: &str) -> Self {
        Self {
            verb,
            resource: resource.into(),
            namespace: None,
        }
    }

    /// The `kubectl auth can-i` command that checks it.
    pub fn can_i(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("kubectl auth can-i {} {} -n {ns}", self.verb, self.resource),
            None => format!(
                "kubectl auth can-i {} {} --all-namespaces",
                self.verb, self.resource
            ),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {} in namespace {ns}", self.verb, self.resource),
            None => write!(f, "{} {} (cluster-wide)", self.verb, self.resource),
        }
    }
}

/// Why a request failed, for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 403: the permission is missing.
    Forbidden(Access),
    /// HTTP 404: the object (or its kind) does not exist.
    NotFound(Access),
    /// HTTP 401: the credentials were not accepted.
    Unauthorized,
    /// Anything else, with the error text.
    Other(Access, String),
}

impl Failure {
    /// Classify an error of a request made with `access`.
    pub fn of(access: &Access, err: &kube::Error) -> Self {
        match err {
            kube::Error::Api(s) if s.code == 403 => Failure::Forbidden(access.clone()),
            kube::Error::Api(s) if s.code == 404 => Failure::NotFound(access.clone()),
            kube::Error::Api(s) if s.code == 401 => Failure::Unauthorized,
            e => Failure::Other(access.clone(), e.to_string()),
        }
    }

    /// The request lacked permission.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Failure::Forbidden(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Forbidden(a) => write!(
                f,
                "missing permission: {a} (check with `{}`; ask a cluster administrator for a Role that allows it)",
                a.can_i()
            ),
            Failure::NotFound(a) => write!(f, "not found: {a}"),
            Failure::Unauthorized => f.write_str(
                "the API server did not accept the credentials of the kubeconfig (expired token or certificate?)",
            ),
            Failure::Other(a, e) => write!(f, "{a} failed: {e}"),
        }
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("refused", "Forbidden")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn a_403_names_verb_resource_and_namespace() {
        let a = Access::ns("list", "pods", "shop");
        let f = Failure::of(&a, &api_error(403));
        assert!(f.is_forbidden());
        assert_eq!(
            f.to_string(),
            "missing permission: list pods in namespace shop (check with `kubectl auth can-i list pods -n shop`; ask a cluster administrator for a Role that allows it)"
        );
        let a = Access::cluster("get", "customresourcedefinitions.apiextensions.k8s.io");
        assert!(Failure::of(&a, &api_error(403)).to_string().starts_with(
            "missing permission: get customresourcedefinitions.apiextensions.k8s.io (cluster-wide)"
        ));
    }

    #[test]
    fn other_codes_are_told_apart() {
        let a = Access::ns("get", "bigpeers.smbp.io", "shop");
        assert_eq!(
            Failure::of(&a, &api_error(404)),
            Failure::NotFound(a.clone())
        );
        assert_eq!(Failure::of(&a, &api_error(401)), Failure::Unauthorized);
        assert!(matches!(
            Failure::of(&a, &api_error(500)),
            Failure::Other(..)
        ));
    }
}
