//! Errors of the reconcile layer, each with a reason a user can act on.

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("{action}: {source}")]
    Kube {
        /// What the operator was doing.
        action: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The finalizer could not be added or removed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The object lacks something the API server always sets.
    #[error("object has no {0}")]
    MissingField(&'static str),
}

impl Error {
    /// Wrap a client error with what was being done.
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }

    /// CamelCase reason for conditions, Events and the errors metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 403 => "Forbidden",
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 409 => "Conflict",
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 422 => "Invalid",
            Error::Kube {
                source: kube::Error::Api(_),
                ..
            } => "ApiError",
            Error::Kube { .. } => "ApiUnreachable",
            Error::Finalizer(_) => "FinalizerFailed",
            Error::MissingField(_) => "InvalidObject",
        }
    }
}

/// Result of the reconcile layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach context to client results.
pub trait Context<T> {
    /// Say what was being done.
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, kube::Error> {
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::kube(action(), e))
    }
}
