//! The finalizer around every reconcile: added before the first change, and removed only
//! once the cleanup of a deleted object has succeeded. Errors of the reconcile or cleanup
//! come back as they were; only the finalizer's own failures become `FinalizerFailed`.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};

/// Run `apply` on a live object, or `cleanup` on a deleted one, under finalizer `name`.
pub async fn run<K, A, AF, C, CF>(
    api: &Api<K>,
    name: &str,
    obj: Arc<K>,
    apply: A,
    cleanup: C,
) -> Result<Action>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    A: FnOnce(Arc<K>) -> AF,
    AF: Future<Output = Result<Action>>,
    C: FnOnce(Arc<K>) -> CF,
    CF: Future<Output = Result<Action>>,
{
    finalizer::finalizer(api, name, obj, |event| async move {
        match event {
            Event::Apply(obj) => apply(obj).await,
            Event::Cleanup(obj) => cleanup(obj).await,
        }
    })
    .await
    .map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

/// Whether `obj` is being deleted.
pub fn deleting<K: ResourceExt>(obj: &K) -> bool {
    obj.meta().deletion_timestamp.is_some()
}
