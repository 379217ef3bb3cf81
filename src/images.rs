//! Default Big Peer image references: one list, overridable for air-gapped mirrors.
//!
//! Resolution order for a component: `spec.image.<component>` (a full reference), then the
//! operator's environment variable `RELATED_IMAGE_<COMPONENT>_<VERSION>` (for example
//! `RELATED_IMAGE_STORE_1_59_0`, set by OLM to a digest-pinned mirror reference), then
//! `<registry>/<repository>:<version>` with `spec.image.registry` or the vendor registry.
//! Digests are pinned by the release process through those variables, never invented here.

use std::collections::BTreeMap;

use crate::api::{BigPeerSpec, Component};

/// Vendor registry prefix used when the spec names none.
pub const DEFAULT_REGISTRY: &str = "quay.io/ditto";

/// Repository name of each component's image under the registry.
pub fn repository(component: Component) -> &'static str {
    match component {
        Component::Store => "big-peer-store",
        Component::Subscription => "big-peer-subscription",
        Component::Api => "big-peer-api",
    }
}

/// Repository of the MongoDB connector's image under the registry (next to the Big Peer
/// images, at the same version). Ditto publishes no public name for it, so this one is ours
/// to choose: a release (or `RELATED_IMAGE_MONGO_CONNECTOR_<version>`) names the real one.
pub const MONGO_CONNECTOR_REPOSITORY: &str = "big-peer-mongodb-connector";

/// The `RELATED_IMAGE_*` name of the MongoDB connector.
pub const MONGO_CONNECTOR: &str = "MONGO_CONNECTOR";

/// A version as it appears in a `RELATED_IMAGE_*` variable: `1.59.0` -> `1_59_0`.
fn version_var(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `RELATED_IMAGE_*` variable naming the image of a component at a version.
pub fn related_image_var(component: Component, version: &str) -> String {
    format!(
        "RELATED_IMAGE_{}_{}",
        component.as_str().to_ascii_uppercase(),
        version_var(version)
    )
}

/// `RELATED_IMAGE_MONGO_CONNECTOR_<version>`: the MongoDB connector's image for the Big Peer
/// version.
pub fn mongo_connector_var(version: &str) -> String {
    format!("RELATED_IMAGE_{MONGO_CONNECTOR}_{}", version_var(version))
}

/// Image overrides read from the operator's environment (`RELATED_IMAGE_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelatedImages(pub BTreeMap<String, String>);

impl RelatedImages {
    /// Collect every `RELATED_IMAGE_*` variable of the process.
    pub fn from_env() -> Self {
        Self(
            std::env::vars()
                .filter(|(k, v)| k.starts_with("RELATED_IMAGE_") && !v.is_empty())
                .collect(),
        )
    }

    /// The image a component runs.
    pub fn resolve(&self, spec: &BigPeerSpec, component: Component) -> String {
        let explicit = match component {
            Component::Store => &spec.image.store,
            Component::Subscription => &spec.image.subscription,
            Component::Api => &spec.image.api,
        };
        if let Some(image) = explicit {
            return image.clone();
        }
        if spec.image.registry.is_none()
            && let Some(image) = self.0.get(&related_image_var(component, &spec.version))
        {
            return image.clone();
        }
        let registry = spec
            .image
            .registry
            .as_deref()
            .unwrap_or(DEFAULT_REGISTRY)
            .trim_end_matches('/');
        format!("{registry}/{}:{}", repository(component), spec.version)
    }

    /// The MongoDB connector's image for a BigPeer: `RELATED_IMAGE_MONGO_CONNECTOR_<version>`
    /// (when the spec names no registry), else `<registry>/big-peer-mongodb-connector:<version>`
    /// with `spec.image.registry` or the vendor registry.
    pub fn mongo_connector(&self, spec: &BigPeerSpec) -> String {
        if spec.image.registry.is_none()
            && let Some(image) = self.0.get(&mongo_connector_var(&spec.version))
        {
            return image.clone();
        }
        let registry = spec
            .image
            .registry
            .as_deref()
            .unwrap_or(DEFAULT_REGISTRY)
            .trim_end_matches('/');
        format!("{registry}/{MONGO_CONNECTOR_REPOSITORY}:{}", spec.version)
    }
}
