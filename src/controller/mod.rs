//! The I/O machinery every controller shares: the context of a reconcile, server-side apply
//! and pruning of owned objects, status writing, Events, error categories, retry backoff and
//! add-on discovery. A controller (such as [`crate::bigpeer`]) is a short pipeline over
//! these and the pure modules ([`crate::build`], [`crate::rollout`], [`crate::decide`]).

pub mod apply;
pub mod backoff;
pub mod cache;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod integrations;
pub mod reconcile;
pub mod status;

use std::sync::Arc;

use kube::Client;
use kube::runtime::events::Recorder;

use crate::images::RelatedImages;
use crate::telemetry::metrics::Metrics;
use backoff::Backoffs;
use integrations::IntegrationCache;

/// Shared by every reconcile.
pub struct Context {
    /// API client.
    pub client: Client,
    /// One Event recorder for the process.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// `RELATED_IMAGE_*` overrides.
    pub images: RelatedImages,
    /// Discovery cache.
    pub integrations: IntegrationCache,
    /// Retry delays of failing objects.
    pub backoffs: Backoffs,
    /// The last apply of every owned object, so that unchanged objects are not applied again.
    pub last_applied: apply::LastApplied,
    /// The watch caches reconciles read from, once the controllers have started them.
    pub caches: cache::Caches,
    /// The Secrets read for their data (shared tokens), read again only when they change.
    pub secret_data: cache::SecretMemo,
}

impl Context {
    /// A context with nothing remembered yet.
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        images: RelatedImages,
    ) -> Self {
        Self {
            client,
            recorder,
            metrics,
            images,
            integrations: IntegrationCache::default(),
            backoffs: Backoffs::default(),
            last_applied: apply::LastApplied::default(),
            caches: cache::Caches::default(),
            secret_data: cache::SecretMemo::default(),
        }
    }
}
