//! Kubernetes Events about the objects the controllers reconcile. Every reason is a
//! [`Reason`] with an [`EventDoc`](crate::api::reason::EventDoc): its type (Normal or
//! Warning) comes from there, and so does its line in `docs/events.md`.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use tracing::warn;

use crate::api::reason::Reason;

/// Publish an Event about `obj`; failures are logged, never fatal.
pub async fn publish<K>(recorder: &Recorder, obj: &K, reason: Reason, action: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    publish_about(recorder, obj, None, reason, action, note).await;
}

/// Publish an Event about `obj` that concerns a second object (`related`: the object created,
/// deleted or replaced). Events with the same reason about different related objects stay
/// apart; without it, the recorder folds them into one series that keeps the first note.
pub async fn publish_about<K>(
    recorder: &Recorder,
    obj: &K,
    related: Option<ObjectReference>,
    reason: Reason,
    action: &str,
    note: String,
) where
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
        secondary: related,
    };
    if let Err(e) = recorder.publish(&event, &obj.object_ref(&())).await {
        let name = obj.meta().name.as_deref().unwrap_or_default();
        warn!(object = name, kind = %K::kind(&()), error = %e, "could not publish event");
    }
}

/// A Warning Event about `obj` when `wanted` is False with a reason or message it did not have
/// in `previous` (the object's conditions as read), if that reason is an Event reason.
pub async fn on_new_trouble<K>(
    recorder: &Recorder,
    obj: &K,
    previous: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    wanted: &crate::api::conditions::DesiredCondition,
) where
    K: Resource<DynamicType = ()>,
{
    if wanted.status || wanted.reason.event().is_none() {
        return;
    }
    let before = previous.iter().find(|c| c.type_ == wanted.type_.as_str());
    if before.is_some_and(|b| {
        b.status == "False" && b.reason == wanted.reason.as_str() && b.message == wanted.message
    }) {
        return;
    }
    publish(
        recorder,
        obj,
        wanted.reason,
        "Reconcile",
        wanted.message.clone(),
    )
    .await;
}
