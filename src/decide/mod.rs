//! Pure decisions of a reconcile: from what was observed, what to do and what to report.
//! No client here: every function takes values and returns values, and is tested on its own.
//!
//! - [`observed`]: the plain data the I/O steps fill (what exists, what apply did);
//! - [`plan`]: the rollout step, scaling, topology stage and build inputs of one reconcile;
//! - [`status`]: conditions (with their [`Reason`](crate::api::reason::Reason)s) and the status;
//! - [`exposure`]: the exposure status and the `Exposed` condition;
//! - [`app`]: which apps a BigPeer serves, an app's endpoints, conditions and status;
//! - [`apikey`]: when an API key is made, rotated and retired, its conditions and status;
//! - [`replication`]: a replication's conditions and status.
//! - [`bridge`]: a data bridge's conditions and status (Kafka connection details, the MongoDB
//!   connector's health).

pub mod apikey;
pub mod app;
pub mod bridge;
pub mod exposure;
pub mod observed;
pub mod plan;
pub mod replication;
pub mod status;
