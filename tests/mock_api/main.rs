//! The middle test tier: the operator's I/O layers against a mock API server, without a
//! cluster. Each test runs a scenario (see [`server`]): the requests the code should make, in
//! order, each checked (method, path, query, headers, body) and answered; any other request
//! fails the test. They run in seconds; the end-to-end suites check the same layers against
//! a real control plane in minutes.

#[path = "../common/ditto.rs"]
mod ditto;
mod fixtures;
mod server;

mod apply;
mod apps;
mod bridges;
mod cached;
mod errors;
mod finalize;
mod mgmt;
mod mgmt_openapi;
mod observe;
mod reconcile;
mod replication;
mod status;
