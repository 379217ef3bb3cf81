//! Errors of a reconcile, each with a category a user can act on.

use crate::api::reason::Reason;

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

    /// The category: the prefix of the `ReconcileFailed` Event and the errors metric's label.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 403 => Reason::Forbidden,
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 409 => Reason::Conflict,
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            } if s.code == 422 => Reason::Invalid,
            Error::Kube {
                source: kube::Error::Api(_),
                ..
            } => Reason::ApiError,
            Error::Kube { .. } => Reason::ApiUnreachable,
            Error::Finalizer(_) => Reason::FinalizerFailed,
            Error::MissingField(_) => Reason::InvalidObject,
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
