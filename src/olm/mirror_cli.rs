//! The command lines of `smbp-operator images` and `smbp-operator mirror-config`: read the
//! inputs, call the pure [`super::images`] and [`super::mirror`], print or write.

use std::io::Read as _;
use std::path::{Path, PathBuf};

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
    /// Only this bundle of the catalogs, e.g. smbp-operator.v0.2.0 (repeatable; default: every
    /// olm.bundle, earlier releases included).
    #[arg(long = "catalog-bundle", value_name = "NAME")]
    pub catalog_bundles: Vec<String>,
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
                    .and_then(|bundles| images::only(bundles, &self.catalog_bundles))
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
    #[arg(long = "images", value_name = "FILE", conflicts_with_all = ["bundles", "catalogs", "catalog_bundles", "bundle_image", "bundle_openshift_image", "catalog_image", "images"])]
    images_file: Option<PathBuf>,
    #[command(flatten)]
    sources: Sources,
    /// Directory to write into.
    #[arg(long, default_value = "mirror")]
    output: PathBuf,
    /// Namespace of the CatalogSource (olm on a cluster with upstream OLM).
    #[arg(long, default_value = "openshift-marketplace")]
    catalog_namespace: String,
    /// What the kustomize overlay (<output>/kustomize) builds on: the release's config/default
    /// directory (written into the overlay as a path relative to it, as kustomize requires).
    #[arg(long, default_value = "config/default")]
    kustomize_base: PathBuf,
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
    let overlay = a.output.join("kustomize");
    std::fs::create_dir_all(&overlay).with_context(|| format!("creating {}", overlay.display()))?;
    let base = std::fs::canonicalize(&a.kustomize_base).with_context(|| {
        format!(
            "--kustomize-base {}: the release's config/default directory is needed for the kustomize overlay",
            a.kustomize_base.display()
        )
    })?;
    let settings = mirror::Settings {
        mirror: a.mirror,
        catalog_namespace: a.catalog_namespace,
        kustomize_base: relative(&std::fs::canonicalize(&overlay)?, &base),
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

/// `to` as a path relative to the directory `from` (both absolute).
pub fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        for (from, to, want) in [
            (
                "/r/mirror/kustomize",
                "/r/config/default",
                "../../config/default",
            ),
            ("/r/a", "/r/a/b", "b"),
            ("/r/a", "/r/a", "."),
            ("/x/y", "/z", "../../z"),
        ] {
            assert_eq!(
                relative(Path::new(from), Path::new(to)),
                want,
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn sources_read_names_and_refuse_nothing_or_malformed_pairs() {
        assert!(Sources::default().list().is_err());
        let s = Sources {
            catalog_image: Some("q.io/c@sha256:00".into()),
            images: vec!["extra=q.io/e:1".into()],
            ..Default::default()
        };
        let l = s.list().unwrap();
        assert_eq!(
            l.iter()
                .map(|i| (i.name.as_str(), i.image.as_str()))
                .collect::<Vec<_>>(),
            [(images::CATALOG, "q.io/c@sha256:00"), ("extra", "q.io/e:1")]
        );
        let bad = Sources {
            images: vec!["=q.io/e:1".into()],
            ..Default::default()
        };
        assert!(bad.list().is_err());
    }
}
