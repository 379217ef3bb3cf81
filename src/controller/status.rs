//! Status writing: one server-side apply of the whole status, with the operator's field
//! manager, and none at all when nothing changed (a settled object costs no write).

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::{Context, Result};
use crate::facts::MANAGER;

/// Write `status` unless it equals `current` (the status the object was read with).
pub async fn write<K, S>(api: &Api<K>, obj: &K, current: Option<&S>, status: &S) -> Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .ctx(|| "writing status".into())?;
    Ok(())
}
