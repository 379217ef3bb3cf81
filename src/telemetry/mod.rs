//! Metrics, health endpoints, logs and traces.

#[cfg(test)]
mod assets_check;
pub mod exposition;
pub mod metrics;
pub mod reference;
pub mod server;
pub mod tracing_setup;
