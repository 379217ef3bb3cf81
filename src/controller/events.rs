//! Kubernetes Events about the objects the controllers reconcile. Every reason is a
//! [`Reason`] with an [`EventDoc`](crate::api::reason::EventDoc): its type (Normal or
//! Warning) comes from there, and so does its line in `docs/events.md`.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use tracing::warn;

use crate::api::reason::Reason;

/// Publish an Event about `obj`; failures are logged, never fatal.
pub async fn publish<K>(recorder: &Recorder, obj: &K, reason: Reason, action: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    let doc = reason.event();
    debug_assert!(
        doc.is_some(),
        "{reason} is not an Event reason: give it an EventDoc in api/reason.rs"
    );
    let event = Event {
        type_: if doc.is_some_and(|d| d.warning) {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.as_str().into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &obj.object_ref(&())).await {
        let name = obj.meta().name.as_deref().unwrap_or_default();
        warn!(object = name, kind = %K::kind(&()), error = %e, "could not publish event");
    }
}
