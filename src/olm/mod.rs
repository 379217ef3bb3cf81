//! Generated deployment artifacts: CRD YAML, RBAC (one source of truth for config/ and the
//! CSV), the OLM bundles (community and OpenShift flavours), the File-Based Catalog, the
//! scorecard configuration, the monitoring assets and the generated reference pages (metrics,
//! Events, the servers' access contract).

pub mod access;
pub mod bundle;
pub mod catalog;
pub mod changelog;
pub mod compatibility;
pub mod contract;
pub mod crd;
pub mod csv;
pub mod events;
pub mod file;
pub mod flavour;
pub mod generate;
pub mod helm;
pub mod images;
pub mod kustomize;
pub mod kustomize_webhook;
pub mod manager;
pub mod mirror;
pub mod mirror_cli;
pub mod monitoring;
pub mod rbac;
pub mod reference;
pub mod release;
pub mod schema_diff;
pub mod scorecard;
