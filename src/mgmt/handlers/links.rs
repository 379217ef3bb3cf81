//! The operations on an app's replications and data bridges: read from the caches (the API
//! server for an object not cached yet), judged by [`check::linked_of`], written as the
//! custom resources [`convert`] makes. A create needs the path's BigPeer and app; an update
//! merge-patches the spec with the `resourceVersion` read, so that a change made meanwhile is
//! never undone.

use kube::ResourceExt;
use kube::api::{Api as Kube, DeleteParams, Patch};
use serde_json::{Value, json};
use tracing::debug;

use super::{Call, read_failed, to_json};
use crate::api::{BigPeerDataBridge, BigPeerReplication};
use crate::mgmt::check;
use crate::mgmt::convert;
use crate::mgmt::error::{ApiError, Refusal, refused};
use crate::mgmt::merge;
use crate::mgmt::model::{DataBridge, Replication, UpdateReplication};
use crate::mgmt::paging;

impl Call<'_> {
    fn replications(&self) -> Kube<BigPeerReplication> {
        Kube::namespaced(self.api.client.clone(), self.ns())
    }

    fn bridges(&self) -> Kube<BigPeerDataBridge> {
        Kube::namespaced(self.api.client.clone(), self.ns())
    }

    async fn find_replication(&self, name: &str) -> Result<Option<BigPeerReplication>, ApiError> {
        if let Some(r) = self.api.stores.replication(self.ns(), name) {
            return Ok(Some((*r).clone()));
        }
        self.replications()
            .get_opt(name)
            .await
            .map_err(|e| read_failed(&format!("big peer replication {name}"), &e))
    }

    async fn find_bridge(&self, name: &str) -> Result<Option<BigPeerDataBridge>, ApiError> {
        if let Some(b) = self.api.stores.bridge(self.ns(), name) {
            return Ok(Some((*b).clone()));
        }
        self.bridges()
            .get_opt(name)
            .await
            .map_err(|e| read_failed(&format!("data bridge {name}"), &e))
    }

    pub(super) async fn list_replications(&self, query: Option<&str>) -> Result<Value, ApiError> {
        let paging = paging::parse(query)?;
        let app = self.the_app().await?;
        let cached = self.api.stores.replications(self.ns());
        let data: Vec<Replication> =
            check::linked_to(&app.name_any(), cached.iter().map(|r| r.as_ref()))
                .into_iter()
                .map(convert::replication_to_api)
                .collect();
        Ok(to_json(&paging::page(data, paging)))
    }

    pub(super) async fn create_replication(&self, body: Replication) -> Result<Value, ApiError> {
        self.big_peer_exists().await?;
        let app = self.the_app().await?;
        let r = convert::new_replication(self.ns(), &self.target.big_peer, &app.name_any(), &body)?;
        let created = self
            .replications()
            .create(&Self::post(), &r)
            .await
            .map_err(|e| {
                refused(
                    &format!("big peer replication {}", body.name),
                    &Refusal::of(&e),
                    "BigPeerReplicationNameNotUnique",
                    "NotFound",
                )
            })?;
        Ok(to_json(&convert::replication_to_api(&created)))
    }

    pub(super) async fn get_replication(&self) -> Result<BigPeerReplication, ApiError> {
        let (app_name, name) = (self.target.app(), self.target.replication());
        let r = self.find_replication(name).await?;
        let app = self.find_app(app_name).await?;
        check::linked_of(
            &self.target.big_peer,
            app_name,
            name,
            r.as_ref(),
            app.as_ref(),
        )
        .cloned()
    }

    /// PUT (`replace`) or PATCH: read (the cache first, the API server after a conflict),
    /// judge, merge-patch the spec's difference with the `resourceVersion` read.
    pub(super) async fn update_replication(
        &self,
        body: UpdateReplication,
        replace: bool,
    ) -> Result<Value, ApiError> {
        let (app_name, name) = (self.target.app(), self.target.replication());
        let what = format!("big peer replication {name}");
        let app = self.find_app(app_name).await?;
        for attempt in 0..3 {
            let current = if attempt == 0 {
                self.find_replication(name).await?
            } else {
                self.replications()
                    .get_opt(name)
                    .await
                    .map_err(|e| read_failed(&what, &e))?
            };
            let r = check::linked_of(
                &self.target.big_peer,
                app_name,
                name,
                current.as_ref(),
                app.as_ref(),
            )?;
            let spec = convert::update_replication(&r.spec, &body, replace)?;
            let patch = json!({
                "metadata": {"resourceVersion": r.resource_version()},
                "spec": merge::diff(&to_json(&r.spec), &to_json(&spec)),
            });
            match self
                .replications()
                .patch(name, &Self::patch(), &Patch::Merge(&patch))
                .await
            {
                Ok(patched) => return Ok(to_json(&convert::replication_to_api(&patched))),
                Err(e) if Refusal::of(&e).is_conflict() => {
                    debug!(replication = %name, "the replication changed meanwhile: reading it again");
                }
                Err(e) => {
                    return Err(refused(
                        &what,
                        &Refusal::of(&e),
                        "Conflict",
                        "BigPeerReplicationNotFound",
                    ));
                }
            }
        }
        Err(ApiError::internal(format!(
            "{what} kept changing while this request updated it: try again"
        )))
    }

    pub(super) async fn delete_replication(&self) -> Result<Value, ApiError> {
        let r = self.get_replication().await?;
        let name = r.name_any();
        self.replications()
            .delete(&name, &DeleteParams::default())
            .await
            .map_err(|e| {
                refused(
                    &format!("big peer replication {name}"),
                    &Refusal::of(&e),
                    "Conflict",
                    "BigPeerReplicationNotFound",
                )
            })?;
        Ok(Value::Null)
    }

    pub(super) async fn list_bridges(&self, query: Option<&str>) -> Result<Value, ApiError> {
        let paging = paging::parse(query)?;
        let app = self.the_app().await?;
        let cached = self.api.stores.bridges(self.ns());
        let data: Vec<DataBridge> =
            check::linked_to(&app.name_any(), cached.iter().map(|b| b.as_ref()))
                .into_iter()
                .map(convert::bridge_to_api)
                .collect();
        Ok(to_json(&paging::page(data, paging)))
    }

    pub(super) async fn create_bridge(&self, body: DataBridge) -> Result<Value, ApiError> {
        self.big_peer_exists().await?;
        let app = self.the_app().await?;
        let b = convert::new_bridge(self.ns(), &self.target.big_peer, &app.name_any(), &body)?;
        let created = self
            .bridges()
            .create(&Self::post(), &b)
            .await
            .map_err(|e| {
                refused(
                    &format!("data bridge {}", body.name),
                    &Refusal::of(&e),
                    "DataBridgeNameNotUnique",
                    "NotFound",
                )
            })?;
        Ok(to_json(&convert::bridge_to_api(&created)))
    }

    pub(super) async fn get_bridge(&self) -> Result<BigPeerDataBridge, ApiError> {
        let (app_name, name) = (self.target.app(), self.target.bridge());
        let b = self.find_bridge(name).await?;
        let app = self.find_app(app_name).await?;
        check::linked_of(
            &self.target.big_peer,
            app_name,
            name,
            b.as_ref(),
            app.as_ref(),
        )
        .cloned()
    }

    pub(super) async fn delete_bridge(&self) -> Result<Value, ApiError> {
        let b = self.get_bridge().await?;
        let name = b.name_any();
        self.bridges()
            .delete(&name, &DeleteParams::default())
            .await
            .map_err(|e| {
                refused(
                    &format!("data bridge {name}"),
                    &Refusal::of(&e),
                    "Conflict",
                    "DataBridgeNotFound",
                )
            })?;
        Ok(Value::Null)
    }
}
