//! Default Big Peer image references: one list, overridable for air-gapped mirrors.
//!
//! Resolution order for a component: `spec.image.<component>` (a full reference), then the
//! operator's environment variable `RELATED_IMAGE_<COMPONENT>_<VERSION>` (for example
//! `RELATED_IMAGE_STORE_1_59_0`, set by OLM to a digest-pinned mirror reference), then
//! `<registry>/<repository>:<version>` with the vendor registry. With `spec.image.registry`
//! (a mirror), the image is `<registry>/<repository>@<digest>` when the `RELATED_IMAGE_*`
//! reference has a digest (the mirror holds the same content by the same digest), else
//! `<registry>/<repository>:<version>`. Digests are pinned by the release process through those
//! variables, never invented here.

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
        self.pick(
            spec,
            &related_image_var(component, &spec.version),
            repository(component),
        )
    }

    /// The MongoDB connector's image for a BigPeer: `RELATED_IMAGE_MONGO_CONNECTOR_<version>`
    /// when the spec names no registry; with `spec.image.registry`,
    /// `<registry>/big-peer-mongodb-connector@<digest>` when that variable has a digest, else
    /// `<registry>/big-peer-mongodb-connector:<version>` (the vendor registry without either).
    pub fn mongo_connector(&self, spec: &BigPeerSpec) -> String {
        self.pick(
            spec,
            &mongo_connector_var(&spec.version),
            MONGO_CONNECTOR_REPOSITORY,
        )
    }

    /// The image of `repository` for a spec, from the `RELATED_IMAGE_*` variable `var` and
    /// `spec.image.registry`.
    fn pick(&self, spec: &BigPeerSpec, var: &str, repository: &str) -> String {
        let related = self.0.get(var);
        match (spec.image.registry.as_deref(), related) {
            (None, Some(image)) => image.clone(),
            (registry, related) => {
                let registry = registry.unwrap_or(DEFAULT_REGISTRY).trim_end_matches('/');
                match related.and_then(|image| digest(image)) {
                    Some(d) => format!("{registry}/{repository}@{d}"),
                    None => format!("{registry}/{repository}:{}", spec.version),
                }
            }
        }
    }
}

/// The digest of an image reference (`algorithm:hex` after `@`), when it has one.
pub fn digest(image: &str) -> Option<&str> {
    let (_, d) = image.rsplit_once('@')?;
    let (algorithm, hex) = d.split_once(':')?;
    let ok = !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
        && !hex.is_empty()
        && hex.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn spec(registry: Option<&str>) -> BigPeerSpec {
        let mut s = crate::testing::sample().spec;
        s.version = "1.59.0".into();
        s.image = Default::default();
        s.image.registry = registry.map(String::from);
        s
    }

    /// What a mirror registry gives for a `RELATED_IMAGE_*` value, by hand.
    fn expected(registry: Option<&str>, related: Option<&str>, repo: &str) -> String {
        let digest = related.and_then(|r| r.split_once('@')).map(|(_, d)| d);
        match (registry, related, digest) {
            (None, Some(r), _) => r.to_string(),
            (Some(reg), _, Some(d)) => format!("{}/{repo}@{d}", reg.trim_end_matches('/')),
            (Some(reg), _, None) => format!("{}/{repo}:1.59.0", reg.trim_end_matches('/')),
            (None, None, _) => format!("quay.io/ditto/{repo}:1.59.0"),
        }
    }

    #[test]
    fn every_combination_of_registry_and_related_image() {
        let digest = format!("quay.io/ditto/elsewhere@sha256:{HEX}");
        let tag_and_digest = format!("public.example:5000/a/b/c:1.59.0@sha256:{HEX}");
        let relateds = [
            None,
            Some("quay.io/ditto/big-peer-store:1.59.0"),
            Some(digest.as_str()),
            Some(tag_and_digest.as_str()),
        ];
        let registries = [
            None,
            Some("mirror.example.com/ditto"),
            Some("mirror.example.com:5000/deep/path/"),
            Some("localhost"),
        ];
        for registry in registries {
            for related in relateds {
                for c in Component::ALL {
                    let mut images = RelatedImages::default();
                    if let Some(r) = related {
                        images.0.insert(related_image_var(c, "1.59.0"), r.into());
                    }
                    let s = spec(registry);
                    assert_eq!(
                        images.resolve(&s, c),
                        expected(registry, related, repository(c)),
                        "{registry:?} {related:?} {c:?}"
                    );
                    // An explicit reference wins over everything.
                    let mut explicit = s.clone();
                    match c {
                        Component::Store => explicit.image.store = Some("x/y:z".into()),
                        Component::Subscription => {
                            explicit.image.subscription = Some("x/y:z".into())
                        }
                        Component::Api => explicit.image.api = Some("x/y:z".into()),
                    }
                    assert_eq!(images.resolve(&explicit, c), "x/y:z");
                }
                let mut images = RelatedImages::default();
                if let Some(r) = related {
                    images.0.insert(mongo_connector_var("1.59.0"), r.into());
                }
                assert_eq!(
                    images.mongo_connector(&spec(registry)),
                    expected(registry, related, MONGO_CONNECTOR_REPOSITORY),
                    "connector {registry:?} {related:?}"
                );
            }
        }
    }

    #[test]
    fn another_versions_variable_is_not_used() {
        let mut images = RelatedImages::default();
        images.0.insert(
            related_image_var(Component::Store, "1.58.0"),
            format!("m/s@sha256:{HEX}"),
        );
        images
            .0
            .insert(mongo_connector_var("1.58.0"), format!("m/c@sha256:{HEX}"));
        let s = spec(Some("mirror.example.com/ditto"));
        assert_eq!(
            images.resolve(&s, Component::Store),
            "mirror.example.com/ditto/big-peer-store:1.59.0"
        );
        assert_eq!(
            images.mongo_connector(&s),
            "mirror.example.com/ditto/big-peer-mongodb-connector:1.59.0"
        );
    }

    #[test]
    fn digests_are_read_only_when_well_formed() {
        assert_eq!(
            digest(&format!("a/b@sha256:{HEX}")),
            Some(&*format!("sha256:{HEX}"))
        );
        assert_eq!(digest("a/b:1@sha512:AB12"), Some("sha512:AB12"));
        for no in [
            "a/b:1.59.0",
            "a/b@",
            "a/b@sha256:",
            "a/b@:abc",
            "a/b@sha256:xyz",
            "a/b@SHA256:abc",
            "localhost:5000/a",
        ] {
            assert_eq!(digest(no), None, "{no}");
        }
    }

    proptest! {
        #[test]
        fn a_mirror_keeps_the_related_images_digest(
            host in "[a-z][a-z0-9]{0,10}(\\.[a-z]{2,5})?(:[0-9]{2,5})?",
            path in "(/[a-z0-9]{1,8}){0,3}",
            slash in any::<bool>(),
            version in "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
            source in "[a-z]{1,8}(\\.[a-z]{2,4})?/[a-z/]{0,12}[a-z]",
            hex in "[a-f0-9]{64}",
            tagged in any::<bool>(),
            which in 0usize..4,
        ) {
            let registry = format!("{host}{path}{}", if slash { "/" } else { "" });
            let mut s = spec(Some(&registry));
            s.version = version.clone();
            let reference = format!("{source}{}@sha256:{hex}", if tagged { ":t" } else { "" });
            let (var, repo) = match Component::ALL.get(which) {
                Some(c) => (related_image_var(*c, &version), repository(*c)),
                None => (mongo_connector_var(&version), MONGO_CONNECTOR_REPOSITORY),
            };
            let images = RelatedImages([(var, reference)].into_iter().collect());
            let got = match Component::ALL.get(which) {
                Some(c) => images.resolve(&s, *c),
                None => images.mongo_connector(&s),
            };
            prop_assert_eq!(
                got,
                format!("{host}{path}/{repo}@sha256:{hex}")
            );
            // Without a digest, the version tag.
            let tag_only = RelatedImages::default();
            let got = match Component::ALL.get(which) {
                Some(c) => tag_only.resolve(&s, *c),
                None => tag_only.mongo_connector(&s),
            };
            prop_assert_eq!(got, format!("{host}{path}/{repo}:{version}"));
        }
    }
}
