//! What every controller does around one reconcile: time it, count it (the reconcile
//! metrics, with the trace id as exemplar), reset the object's backoff when it succeeds, and on
//! failure retry with backoff and tell the user with a `ReconcileFailed` Event whose message
//! starts with the error's category.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use tracing::{Instrument, Span, debug, warn};

use super::Context;
use super::error::{Error, Result};
use super::events::publish;
use crate::api::reason::Reason;

/// `namespace/name` of an object, for logs.
pub fn key<K: ResourceExt>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Run `inner` in `span` (a `reconcile` span naming the object), timed and counted.
pub async fn timed<K, F>(ctx: &Context, obj: &K, span: Span, inner: F) -> Result<Action>
where
    K: ResourceExt,
    F: Future<Output = Result<Action>>,
{
    let trace_id = crate::telemetry::tracing_setup::trace_id(&span);
    let started = Instant::now();
    let result = inner.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    span.in_scope(|| match &result {
        Ok(action) => debug!(elapsed_ms = elapsed.as_millis(), ?action, "done"),
        Err(e) => debug!(elapsed_ms = elapsed.as_millis(), reason = %e.reason(), "failed"),
    });
    ctx.metrics.reconciled(
        elapsed.as_secs_f64(),
        result.as_ref().err().map(|e| e.reason().as_str()),
        trace_id.as_deref(),
    );
    if result.is_ok()
        && let Some(uid) = obj.uid()
    {
        ctx.backoffs.reset(&uid);
    }
    result
}

/// Retry with backoff, and publish a `ReconcileFailed` Event about `obj`.
pub fn retry<K>(obj: Arc<K>, err: &Error, ctx: &Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()> + ResourceExt + Send + Sync + 'static,
{
    let reason = err.reason();
    warn!(kind = %K::kind(&()), object = %key(obj.as_ref()), reason = %reason, error = %err, "reconcile failed");
    let delay = ctx.backoffs.next(&obj.uid().unwrap_or_default());
    let message = format!("{reason}: {err}");
    let ctx = ctx.clone();
    tokio::spawn(async move {
        publish(
            &ctx.recorder,
            obj.as_ref(),
            Reason::ReconcileFailed,
            "Reconcile",
            message,
        )
        .await;
    });
    Action::requeue(delay)
}
