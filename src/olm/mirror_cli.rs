//! The command lines of `smbp-operator images` and `smbp-operator mirror-config`: read the
//! inputs, call the pure [`super::images`] and [`super::mirror`], print or write.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::images::{self, Format, Image, Source};
use super::mirror;
use super::reference::Mirror;

/// Where a release's images are read from.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Sources {
    /// A bundle directory (holding manifests/*.clusterserviceversion.yaml): its CSV's
    /// relatedImages and containerImage (repeatable: bundle/ and bundle-openshift/).
    #[arg(long = "bundle", value_name = "DIR")]
    pub bundles: Vec<PathBuf>,
    /// A File-Based Catalog directory: the image of each olm.bundle (repeatable).
    #[arg(long = "catalog", value_name = "DIR")]
    pub catalogs: Vec<PathBuf>,
    /// The community bundle image (listed as smbp-operator-bundle).
    #[arg(long, value_name = "REF")]
    pub bundle_image: Option<String>,
    /// The OpenShift bundle image (listed as smbp-operator-bundle-openshift).
    #[arg(long, value_name = "REF")]
    pub bundle_openshift_image: Option<String>,
    /// The catalog image (listed as smbp-operator-catalog).
    #[arg(long, value_name = "REF")]
    pub catalog_image: Option<String>,
    /// Any other image, as NAME=REF (repeatable).
    #[arg(long = "image", value_name = "NAME=REF")]
    pub images: Vec<String>,
}

impl Sources {
    fn is_empty(&self) -> bool {
        self.bundles.is_empty()
            && self.catalogs.is_empty()
            && self.bundle_image.is_none()
            && self.bundle_openshift_image.is_none()
            && self.catalog_image.is_none()
            && self.images.is_empty()
    }

    /// The release's images, each once.
    pub fn list(&self) -> anyhow::Result<Vec<Image>> {
        if self.is_empty() {
            bail!(
                "nothing to list: pass --bundle DIR, --catalog DIR, --bundle-image, --bundle-openshift-image, --catalog-image or --image NAME=REF"
            );
        }
        let csvs = self
            .bundles
            .iter()
            .map(|d| {
                images::read_bundle(d)
                    .and_then(|csv| images::from_csv(&csv))
                    .with_context(|| format!("bundle {}", d.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let catalogs = self
            .catalogs
            .iter()
            .map(|d| {
                images::read_catalog(d)
                    .and_then(|docs| images::from_catalog(&docs))
                    .with_context(|| format!("catalog {}", d.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut given = vec![];
        for (name, image) in [
            (images::BUNDLE, &self.bundle_image),
            (images::BUNDLE_OPENSHIFT, &self.bundle_openshift_image),
            (images::CATALOG, &self.catalog_image),
        ] {
            if let Some(i) = image {
                given.push(argument(name, i));
            }
        }
        for kv in &self.images {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.is_empty() => given.push(argument(k, v)),
                _ => bail!("--image takes NAME=REF, got {kv:?}"),
            }
        }
        Ok(images::list(&csvs, &given, &catalogs))
    }
}

fn argument(name: &str, image: &str) -> Image {
    Image {
        name: name.into(),
        image: image.into(),
        source: Some(Source::Argument),
    }
}

/// `smbp-operator images`.
#[derive(clap::Args, Debug)]
pub struct ImagesArgs {
    #[command(flatten)]
    sources: Sources,
    /// Fail, naming each offender, when a reference is not pinned by digest.
    #[arg(long)]
    require_digests: bool,
    /// Output format: plain is name<TAB>reference a line.
    #[arg(short = 'o', long, value_enum, default_value = "plain")]
    output: Format,
}

/// Print the list (stdout); with `--require-digests`, fail when a reference is not by digest.
pub fn images(a: ImagesArgs) -> anyhow::Result<()> {
    let list = a.sources.list()?;
    if a.require_digests {
        let bad = images::not_by_digest(&list);
        if !bad.is_empty() {
            for (i, why) in &bad {
                eprintln!("images: {}\t{}: {why}", i.name, i.image);
            }
            bail!(
                "{} of {} images are not pinned by digest",
                bad.len(),
                list.len()
            );
        }
    }
    print!("{}", images::render(&list, a.output));
    Ok(())
}

/// `smbp-operator mirror-config`.
#[derive(clap::Args, Debug)]
pub struct MirrorArgs {
    /// The mirror registry: host[:port][/path]; every image keeps its repository path under it.
    #[arg(long, value_parser = Mirror::parse)]
    mirror: Mirror,
    /// The list `smbp-operator images` printed (plain or JSON; - for stdin), instead of the
    /// bundle, catalog and image flags.
    #[arg(long = "images", value_name = "FILE", conflicts_with_all = ["bundles", "catalogs", "bundle_image", "bundle_openshift_image", "catalog_image", "images"])]
    images_file: Option<PathBuf>,
    #[command(flatten)]
    sources: Sources,
    /// Directory to write into.
    #[arg(long, default_value = "mirror")]
    output: PathBuf,
    /// Namespace of the CatalogSource (olm on a cluster with upstream OLM).
    #[arg(long, default_value = "openshift-marketplace")]
    catalog_namespace: String,
    /// What the kustomize overlay (<output>/kustomize) builds on: config/default of the
    /// release, relative to the overlay or absolute.
    #[arg(long, default_value = "../../config/default")]
    kustomize_base: String,
}

/// Write the mirror configuration.
pub fn mirror_config(a: MirrorArgs) -> anyhow::Result<()> {
    let list = match &a.images_file {
        Some(p) => {
            let text = if p.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
            };
            images::parse(&text)?
        }
        None => a.sources.list()?,
    };
    let settings = mirror::Settings {
        mirror: a.mirror,
        catalog_namespace: a.catalog_namespace,
        kustomize_base: a.kustomize_base,
    };
    let files = mirror::files(&list, &settings)?;
    for (rel, content) in &files {
        let path = a.output.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("mirror-config: wrote {}", path.display());
    }
    eprintln!(
        "mirror-config: {} images mirrored to {}",
        list.len(),
        settings.mirror
    );
    Ok(())
}
