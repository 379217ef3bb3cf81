//! Generated deployment artifacts: CRD YAML and RBAC (one source of truth for config/ and
//! the OLM bundle).

pub mod crd;
pub mod rbac;
