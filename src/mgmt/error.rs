//! Errors of the management API: an HTTP status and a message, sent as Ditto's `Error` body
//! `{"error": "..."}`. Messages start with the name Ditto's document gives the case where it
//! gives one (`AppNotFound: ...`), so that clients can tell cases apart.

use super::model::ErrorBody;

/// An answer other than 200.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `error` text.
    pub message: String,
    /// `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            allow: None,
        }
    }

    /// 400: a body, a name or a parameter is not acceptable.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    /// 401: no token, or one the API server does not accept.
    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            401,
            "Unauthorized: send a Kubernetes bearer token (Authorization: Bearer <token>)",
        )
    }

    /// 403: the token's user may not do this.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(403, format!("Forbidden: the token's user may not {what}"))
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    /// 405 with the methods the path has.
    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError {
            status: 405,
            message: format!("MethodNotAllowed: this path takes {allow}"),
            allow: Some(allow),
        }
    }

    /// 500: something on the operator's side failed.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, message)
    }

    /// 503: not ready to answer yet.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, message)
    }

    /// 504: a write went through but what it waits for did not come in time.
    pub fn timeout(message: impl Into<String>) -> ApiError {
        ApiError::new(504, message)
    }

    /// The body sent.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

/// What the API server answered a call with, reduced to what an answer depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status of the API server's answer (0: no answer, the call failed).
    pub code: u16,
    /// Its `reason` (`AlreadyExists`, `Invalid`, `Conflict`, ...).
    pub reason: String,
    /// Its message.
    pub message: String,
}

impl Refusal {
    /// From a client error.
    pub fn of(e: &kube::Error) -> Refusal {
        match e {
            kube::Error::Api(s) => Refusal {
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            other => Refusal {
                code: 0,
                reason: String::new(),
                message: other.to_string(),
            },
        }
    }

    /// Whether this is a write that lost a race on `resourceVersion`.
    pub fn is_conflict(&self) -> bool {
        self.code == 409 && self.reason == "Conflict"
    }

    /// Whether the object exists already (a create).
    pub fn already_exists(&self) -> bool {
        self.code == 409 && self.reason == "AlreadyExists"
    }

    /// Whether the object is not there.
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }
}

/// The answer to a refused write of `what` (e.g. `app my-app`): the API server's validation
/// (CEL rules, the admission webhook) becomes 400 with its message; a name taken becomes 400
/// `<taken>` (Ditto's document answers 400 for "not unique", never 409); missing becomes 404
/// `<missing>`; the rest is 500, naming the operator's side.
pub fn refused(what: &str, r: &Refusal, taken: &str, missing: &str) -> ApiError {
    match r.code {
        _ if r.already_exists() => ApiError::bad_request(format!("{taken}: {what} already exists")),
        404 => ApiError::not_found(format!("{missing}: {what} not found")),
        // Invalid (CEL, schema) and admission refusals (the webhook answers 400 or 403 with
        // "admission webhook ... denied the request").
        400 | 422 => ApiError::bad_request(format!("Invalid: {}", r.message)),
        403 if r.message.contains("admission webhook") => {
            ApiError::bad_request(format!("Invalid: {}", r.message))
        }
        403 => ApiError::internal(format!(
            "the operator may not write {what}: {} (check its RBAC)",
            r.message
        )),
        0 => ApiError::internal(format!("writing {what}: {}", r.message)),
        code => ApiError::internal(format!(
            "writing {what}: the API server answered {code} {}: {}",
            r.reason, r.message
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, reason: &str, message: &str) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
            message: message.into(),
        }
    }

    #[test]
    fn refusals_map_to_the_documented_statuses() {
        let t = |x: Refusal| refused("app a", &x, "AppNameNotUnique", "AppNotFound");
        let e = t(r(409, "AlreadyExists", "exists"));
        assert_eq!(e.status, 400);
        assert!(e.message.starts_with("AppNameNotUnique: app a"));
        assert_eq!(t(r(404, "NotFound", "x")).status, 404);
        assert!(
            t(r(404, "NotFound", "x"))
                .message
                .starts_with("AppNotFound")
        );
        let invalid = t(r(422, "Invalid", "spec.appId: appId must be a UUID"));
        assert_eq!(invalid.status, 400);
        assert!(invalid.message.contains("appId must be a UUID"));
        let denied = t(r(
            400,
            "BadRequest",
            "admission webhook \"vbigpeer.smbp.io\" denied the request: no",
        ));
        assert_eq!(denied.status, 400);
        assert_eq!(t(r(403, "Forbidden", "rbac says no")).status, 500);
        assert_eq!(t(r(0, "", "connection refused")).status, 500);
        assert_eq!(t(r(500, "InternalError", "etcd")).status, 500);
    }

    #[test]
    fn bodies_carry_only_the_message() {
        let e = ApiError::method_not_allowed("GET, POST");
        assert_eq!(e.status, 405);
        assert_eq!(e.allow, Some("GET, POST"));
        assert_eq!(
            serde_json::to_value(e.body()).unwrap(),
            serde_json::json!({"error": "MethodNotAllowed: this path takes GET, POST"})
        );
    }
}
