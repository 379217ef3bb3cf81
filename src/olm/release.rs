//! What a release of the operator is made of: the inputs of `bundle-gen`.

use super::flavour::Flavour;
use crate::api::Component;
use crate::images;

/// OLM package name.
pub const PACKAGE: &str = "smbp-operator";
/// Namespace the operator is installed to by default.
pub const SUGGESTED_NAMESPACE: &str = "smbp-system";
/// Big Peer versions whose images this operator release ships as related images (the version
/// contract's, [`super::contract`]).
pub const BIGPEER_VERSIONS: &[&str] = super::contract::BIGPEER_VERSIONS;
/// Name of the must-gather image among the related images.
pub const MUST_GATHER: &str = "smbp-operator-must-gather";

/// Inputs of one release's bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// Semantic version, without a leading v.
    pub version: String,
    /// Channels this bundle is in.
    pub channels: Vec<String>,
    /// Default channel of the package.
    pub default_channel: String,
    /// The CSV this one replaces (`smbp-operator.v0.1.0`).
    pub replaces: Option<String>,
    /// Versions this one may skip to (only with `replaces`).
    pub skip_range: Option<String>,
    /// Operator image (by digest in a real release).
    pub operator_image: String,
    /// Bundle image (by digest in a real release), referenced by the catalog.
    pub bundle_image: String,
    /// The must-gather image (`Containerfile.must-gather`; by digest in a real release): the
    /// CSV's `operators.openshift.io/must-gather-image` and one of its `relatedImages`.
    pub must_gather_image: String,
    /// Big Peer images by component and version.
    pub bigpeer_images: Vec<(Component, String, String)>,
    /// The MongoDB connector's image by Big Peer version (`RELATED_IMAGE_MONGO_CONNECTOR_<v>`).
    pub mongo_connector_images: Vec<(String, String)>,
    /// Creation time (RFC 3339), an input so that output is reproducible.
    pub created_at: String,
    /// The bundle flavour `catalog/` lists as this release: community (what is committed), or
    /// OpenShift for the index image that certification installs from (with `bundle_image`
    /// then naming the OpenShift bundle image).
    pub catalog_flavour: Flavour,
}

impl Release {
    /// CSV name of this release.
    pub fn csv_name(&self) -> String {
        csv_name(&self.version)
    }

    /// Defaults for a version: images under the project's registry by tag. A release
    /// passes digest-pinned references instead.
    pub fn with_defaults(version: &str, created_at: &str) -> Self {
        let bigpeer_images = BIGPEER_VERSIONS
            .iter()
            .flat_map(|v| {
                Component::ALL.into_iter().map(move |c| {
                    (
                        c,
                        v.to_string(),
                        format!("{}/{}:{v}", images::DEFAULT_REGISTRY, images::repository(c)),
                    )
                })
            })
            .collect();
        let mongo_connector_images = BIGPEER_VERSIONS
            .iter()
            .map(|v| {
                (
                    v.to_string(),
                    format!(
                        "{}/{}:{v}",
                        images::DEFAULT_REGISTRY,
                        images::MONGO_CONNECTOR_REPOSITORY
                    ),
                )
            })
            .collect();
        Self {
            version: version.into(),
            channels: vec!["stable".into(), "candidate".into()],
            default_channel: "stable".into(),
            replaces: None,
            skip_range: None,
            operator_image: format!("quay.io/smbp/smbp-operator:v{version}"),
            bundle_image: format!("quay.io/smbp/smbp-operator-bundle:v{version}"),
            must_gather_image: format!("quay.io/smbp/smbp-operator-must-gather:v{version}"),
            bigpeer_images,
            mongo_connector_images,
            created_at: created_at.into(),
            catalog_flavour: Flavour::Community,
        }
    }

    /// `RELATED_IMAGE_*` variables of the operator Deployment, and the names for `relatedImages`.
    pub fn related_images(&self) -> Vec<(String, String)> {
        let mut out = vec![("smbp-operator".to_string(), self.operator_image.clone())];
        out.extend(
            self.bigpeer_images
                .iter()
                .map(|(c, v, img)| (images::related_image_var(*c, v), img.clone())),
        );
        out.extend(
            self.mongo_connector_images
                .iter()
                .map(|(v, img)| (images::mongo_connector_var(v), img.clone())),
        );
        out.push((MUST_GATHER.to_string(), self.must_gather_image.clone()));
        out
    }
}

/// CSV name of a version.
pub fn csv_name(version: &str) -> String {
    format!("{PACKAGE}.v{version}")
}
