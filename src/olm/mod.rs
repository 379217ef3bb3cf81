//! Generated deployment artifacts: CRD YAML, RBAC (one source of truth for config/ and the
//! CSV), the OLM bundle, the File-Based Catalog and the scorecard configuration.

pub mod bundle;
pub mod catalog;
pub mod crd;
pub mod csv;
pub mod generate;
pub mod kustomize;
pub mod manager;
pub mod rbac;
pub mod release;
pub mod scorecard;
