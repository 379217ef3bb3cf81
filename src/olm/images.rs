//! `smbp-operator images`: every image of a release, from its bundle's CSV (`relatedImages`
//! and `containerImage`: the operator, the must-gather image, the Big Peer and MongoDB
//! connector images per version), its File-Based Catalog (each `olm.bundle`'s `image`) and
//! the references the release pipeline passes (the bundle images and the catalog image).
//!
//! The list is what a disconnected cluster needs mirrored; `--require-digests` refuses a
//! release whose references are not all pinned by digest.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reference::Reference;

/// Name of the operator image (the CSV's `relatedImages` name and its `containerImage`).
pub const OPERATOR: &str = super::release::PACKAGE;
/// Name of the community bundle image.
pub const BUNDLE: &str = "smbp-operator-bundle";
/// Name of the OpenShift bundle image.
pub const BUNDLE_OPENSHIFT: &str = "smbp-operator-bundle-openshift";
/// Name of the catalog image.
pub const CATALOG: &str = "smbp-operator-catalog";
/// Prefix of the `relatedImages` names of the operator's `RELATED_IMAGE_*` variables.
pub const RELATED_PREFIX: &str = "related-image-";

/// Where an image of the list was found.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// The CSV's `spec.relatedImages`.
    RelatedImages,
    /// The CSV's `containerImage` annotation.
    ContainerImage,
    /// A reference given on the command line.
    Argument,
    /// An `olm.bundle` of the File-Based Catalog.
    Catalog,
}

/// One image of a release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// What it is: the `relatedImages` name, `smbp-operator-bundle`, `smbp-operator-catalog`,
    /// or a catalog bundle's name.
    pub name: String,
    /// The reference.
    pub image: String,
    /// Where it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Image {
    fn new(name: &str, image: &str, source: Source) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            source: Some(source),
        }
    }

    /// The `RELATED_IMAGE_*` variable this image is the value of, when it is one.
    pub fn related_image_var(&self) -> Option<String> {
        self.name
            .strip_prefix(RELATED_PREFIX)
            .map(|rest| format!("RELATED_IMAGE_{}", rest.to_uppercase().replace('-', "_")))
    }
}

/// The images a CSV names: `spec.relatedImages`, then its `containerImage`.
pub fn from_csv(csv: &Value) -> anyhow::Result<Vec<Image>> {
    let Some(related) = csv["spec"]["relatedImages"].as_array() else {
        bail!("the CSV has no spec.relatedImages");
    };
    let mut out = vec![];
    for r in related {
        let (Some(name), Some(image)) = (r["name"].as_str(), r["image"].as_str()) else {
            bail!("a relatedImages entry without name or image: {r}");
        };
        out.push(Image::new(name, image, Source::RelatedImages));
    }
    match csv["metadata"]["annotations"]["containerImage"].as_str() {
        Some(image) => out.push(Image::new(OPERATOR, image, Source::ContainerImage)),
        None => bail!("the CSV has no containerImage annotation"),
    }
    Ok(out)
}

/// The bundle images of a File-Based Catalog's documents (`olm.bundle`: name and `image`).
pub fn from_catalog(docs: &[Value]) -> anyhow::Result<Vec<Image>> {
    let mut out = vec![];
    for d in docs.iter().filter(|d| d["schema"] == "olm.bundle") {
        let (Some(name), Some(image)) = (d["name"].as_str(), d["image"].as_str()) else {
            bail!("an olm.bundle without name or image: {}", d["name"]);
        };
        out.push(Image::new(name, image, Source::Catalog));
    }
    if out.is_empty() {
        bail!("the catalog has no olm.bundle");
    }
    Ok(out)
}

/// Only the catalog bundles named (`smbp-operator.v0.2.0`); all of them when `names` is empty.
/// A name the catalog does not have is an error.
pub fn only(bundles: Vec<Image>, names: &[String]) -> anyhow::Result<Vec<Image>> {
    if names.is_empty() {
        return Ok(bundles);
    }
    if let Some(missing) = names
        .iter()
        .find(|n| !bundles.iter().any(|b| &b.name == *n))
    {
        let have: Vec<&str> = bundles.iter().map(|b| b.name.as_str()).collect();
        bail!(
            "the catalog has no bundle {missing} (it has {})",
            have.join(", ")
        );
    }
    Ok(bundles
        .into_iter()
        .filter(|b| names.contains(&b.name))
        .collect())
}

/// The release's list: the CSVs' images, then the given references, then the catalogs'
/// bundles; each reference once (the first name wins).
pub fn list(csvs: &[Vec<Image>], given: &[Image], catalogs: &[Vec<Image>]) -> Vec<Image> {
    let mut out: Vec<Image> = vec![];
    let all = csvs
        .iter()
        .flatten()
        .chain(given)
        .chain(catalogs.iter().flatten());
    for i in all {
        if !out.iter().any(|o| o.image == i.image) {
            out.push(i.clone());
        }
    }
    out
}

/// Every image not pinned by digest, and every reference that does not parse.
pub fn not_by_digest(images: &[Image]) -> Vec<(&Image, String)> {
    images
        .iter()
        .filter_map(|i| match Reference::parse(&i.image) {
            Ok(r) if r.digest.is_some() => None,
            Ok(_) => Some((i, "not by digest".to_string())),
            Err(e) => Some((i, e)),
        })
        .collect()
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `name<TAB>reference`, one image a line.
    Plain,
    /// A JSON array of `{"name", "image", "source"}`.
    Json,
}

/// The list in a format.
pub fn render(images: &[Image], format: Format) -> String {
    match format {
        Format::Plain => images
            .iter()
            .map(|i| format!("{}\t{}\n", i.name, i.image))
            .collect(),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(images).expect("images serialize");
            s.push('\n');
            s
        }
    }
}

/// Read a list `images` printed, in either format.
pub fn parse(text: &str) -> anyhow::Result<Vec<Image>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).context("reading the JSON list of images");
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| match l.split_once('\t') {
            Some((name, image)) if !name.is_empty() && !image.trim().is_empty() => Ok(Image {
                name: name.to_string(),
                image: image.trim().to_string(),
                source: None,
            }),
            _ => bail!("line {}: expected name<TAB>reference, got {l:?}", n + 1),
        })
        .collect()
}

/// The CSV of a bundle directory (`<dir>/manifests/*.clusterserviceversion.yaml`).
pub fn read_bundle(dir: &Path) -> anyhow::Result<Value> {
    let manifests = dir.join("manifests");
    let mut found = vec![];
    for e in
        std::fs::read_dir(&manifests).with_context(|| format!("reading {}", manifests.display()))?
    {
        let p = e?.path();
        if p.to_string_lossy().ends_with(".clusterserviceversion.yaml") {
            found.push(p);
        }
    }
    match found.as_slice() {
        [p] => serde_yaml_ng::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("parsing {}", p.display())),
        [] => bail!("{}: no *.clusterserviceversion.yaml", manifests.display()),
        _ => bail!("{}: more than one CSV", manifests.display()),
    }
}

/// Every document of a File-Based Catalog directory (YAML files, multi-document, and JSON
/// files of concatenated objects, in any subdirectory).
pub fn read_catalog(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut files = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut docs = vec![];
    for p in files {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !["yaml", "yml", "json"].contains(&ext) {
            continue;
        }
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        if ext == "json" {
            for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
                docs.push(v.with_context(|| format!("parsing {}", p.display()))?);
            }
        } else {
            for d in serde_yaml_ng::Deserializer::from_str(&text) {
                let v =
                    Value::deserialize(d).with_context(|| format!("parsing {}", p.display()))?;
                if !v.is_null() {
                    docs.push(v);
                }
            }
        }
    }
    Ok(docs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::olm::flavour::Flavour;
    use crate::olm::generate;
    use crate::olm::release::Release;

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    /// A release with every image by digest, as the release pipeline makes it.
    pub(crate) fn pinned_release() -> Release {
        let mut r = Release::with_defaults("0.2.0", "2026-11-30T00:00:00Z");
        r.operator_image = format!("127.0.0.1:5000/smbp/smbp-operator@{}", digest(1));
        r.must_gather_image = format!(
            "127.0.0.1:5000/smbp/smbp-operator-must-gather@{}",
            digest(2)
        );
        r.bundle_image = format!("127.0.0.1:5000/smbp/smbp-operator-bundle@{}", digest(3));
        for (n, img) in r.bigpeer_images.iter_mut().enumerate() {
            img.2 = format!(
                "127.0.0.1:5000/ditto/{}@{}",
                crate::images::repository(img.0),
                digest(10 + n as u8)
            );
        }
        for (n, img) in r.mongo_connector_images.iter_mut().enumerate() {
            img.1 = format!(
                "127.0.0.1:5000/ditto/big-peer-mongodb-connector@{}",
                digest(40 + n as u8)
            );
        }
        r
    }

    /// `bundle-gen --output <tmp>` of a release.
    pub(crate) fn generated(r: &Release) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        generate::write(dir.path(), &generate::files(r, &[])).unwrap();
        dir
    }

    /// The images of both bundles' CSVs, and of the catalog, in a `bundle-gen` output.
    pub(crate) fn read_generated(root: &Path) -> (Vec<Vec<Image>>, Vec<Image>) {
        let csvs = Flavour::ALL
            .iter()
            .map(|f| from_csv(&read_bundle(&root.join(f.bundle_dir())).unwrap()).unwrap())
            .collect();
        let catalog = from_catalog(&read_catalog(&root.join("catalog")).unwrap()).unwrap();
        (csvs, catalog)
    }

    fn names(v: &[Image]) -> Vec<(&str, &str)> {
        v.iter()
            .map(|i| (i.name.as_str(), i.image.as_str()))
            .collect()
    }

    #[test]
    fn a_pinned_release_lists_its_csv_images_and_catalog_bundles_once_each() {
        let r = pinned_release();
        let dir = generated(&r);
        let (csvs, catalog) = read_generated(dir.path());
        let catalog_image = format!("127.0.0.1:5000/smbp/smbp-operator-catalog@{}", digest(4));
        let openshift_bundle = format!(
            "127.0.0.1:5000/smbp/smbp-operator-bundle-openshift@{}",
            digest(5)
        );
        let given = vec![
            Image::new(BUNDLE, &r.bundle_image, Source::Argument),
            Image::new(BUNDLE_OPENSHIFT, &openshift_bundle, Source::Argument),
            Image::new(CATALOG, &catalog_image, Source::Argument),
        ];
        let all = list(&csvs, &given, std::slice::from_ref(&catalog));

        // Exactly: the CSV's relatedImages, its containerImage, the catalog's bundles and the
        // references given; nothing twice, nothing missing.
        let csv = read_bundle(&dir.path().join("bundle")).unwrap();
        let mut expected: Vec<String> = csv["spec"]["relatedImages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["image"].as_str().unwrap().to_string())
            .collect();
        expected.push(
            csv["metadata"]["annotations"]["containerImage"]
                .as_str()
                .unwrap()
                .into(),
        );
        expected.extend(catalog.iter().map(|b| b.image.clone()));
        expected.extend([
            r.bundle_image.clone(),
            openshift_bundle.clone(),
            catalog_image.clone(),
        ]);
        expected.sort();
        expected.dedup();
        let mut got: Vec<String> = all.iter().map(|i| i.image.clone()).collect();
        got.sort();
        let n = got.len();
        got.dedup();
        assert_eq!(n, got.len(), "an image listed twice");
        assert_eq!(got, expected);

        // Every image of the release by its name, in order.
        let mut want = vec![(OPERATOR, r.operator_image.as_str())];
        let related: Vec<(String, String)> = r.related_images().into_iter().skip(1).collect();
        let related_names: Vec<String> = related
            .iter()
            .map(|(n, _)| n.to_lowercase().replace('_', "-"))
            .collect();
        for ((_, img), name) in related.iter().zip(&related_names) {
            want.push((name.as_str(), img.as_str()));
        }
        want.extend([
            (BUNDLE, r.bundle_image.as_str()),
            (BUNDLE_OPENSHIFT, openshift_bundle.as_str()),
            (CATALOG, catalog_image.as_str()),
        ]);
        assert_eq!(names(&all), want);
        assert!(not_by_digest(&all).is_empty(), "{:?}", not_by_digest(&all));
        // Big Peer and connector images per version, by their RELATED_IMAGE_* variable.
        for (var, img) in r
            .related_images()
            .into_iter()
            .filter(|(n, _)| n.starts_with("RELATED_IMAGE_"))
        {
            assert!(
                all.iter()
                    .any(|i| i.related_image_var().as_deref() == Some(var.as_str())
                        && i.image == img),
                "{var}"
            );
        }
    }

    #[test]
    fn the_committed_tag_based_bundle_is_refused_naming_each_offender() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let csv = from_csv(&read_bundle(&root.join("bundle")).unwrap()).unwrap();
        let catalog = from_catalog(&read_catalog(&root.join("catalog")).unwrap()).unwrap();
        let all = list(&[csv], &[], &[catalog]);
        let bad = not_by_digest(&all);
        assert_eq!(bad.len(), all.len(), "every committed reference is a tag");
        let names: Vec<&str> = bad.iter().map(|(i, _)| i.name.as_str()).collect();
        for n in [
            OPERATOR,
            "related-image-store-1-59-0",
            "smbp-operator-must-gather",
            "smbp-operator.v0.1.0",
        ] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
    }

    #[test]
    fn a_malformed_reference_is_an_offender_with_its_reason() {
        let all = vec![
            Image::new("a", &format!("q.io/a@{}", digest(1)), Source::Argument),
            Image::new("b", "q.io/B:1", Source::Argument),
            Image::new("c", "q.io/c@sha256:nothex", Source::Argument),
        ];
        let bad = not_by_digest(&all);
        assert_eq!(
            bad.iter().map(|(i, _)| i.name.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert!(bad[1].1.contains("digest"), "{}", bad[1].1);
    }

    #[test]
    fn both_formats_read_back() {
        let all = vec![
            Image::new(
                OPERATOR,
                &format!("q.io/smbp/op@{}", digest(1)),
                Source::RelatedImages,
            ),
            Image::new(
                "related-image-store-1-59-0",
                "q.io/ditto/big-peer-store:1.59.0",
                Source::RelatedImages,
            ),
        ];
        let plain = render(&all, Format::Plain);
        assert_eq!(
            plain.lines().next().unwrap(),
            format!("smbp-operator\tq.io/smbp/op@{}", digest(1))
        );
        let back = parse(&plain).unwrap();
        assert_eq!(names(&back), names(&all));
        assert_eq!(parse(&render(&all, Format::Json)).unwrap(), all);
        assert!(
            parse("smbp-operator q.io/x:1\n").is_err(),
            "a space is not a tab"
        );
        assert_eq!(
            all[1].related_image_var().as_deref(),
            Some("RELATED_IMAGE_STORE_1_59_0")
        );
        assert_eq!(all[0].related_image_var(), None);
    }

    proptest::proptest! {
        /// The CSV's relatedImages name of a `RELATED_IMAGE_*` variable reads back as the
        /// variable, for any Big Peer version (pre-releases included).
        #[test]
        fn related_image_names_read_back_as_their_variables(
            version in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-[0-9A-Za-z.-]{1,12})?",
            which in 0usize..4,
        ) {
            let var = match crate::api::Component::ALL.get(which) {
                Some(c) => crate::images::related_image_var(*c, &version),
                None => crate::images::mongo_connector_var(&version),
            };
            // As csv.rs names relatedImages.
            let name = var.to_lowercase().replace('_', "-");
            let i = Image::new(&name, "q.io/x:1", Source::RelatedImages);
            proptest::prop_assert_eq!(i.related_image_var(), Some(var));
        }
    }

    #[test]
    fn catalog_bundles_can_be_narrowed_to_named_ones() {
        let b = |n: &str| Image::new(n, &format!("q.io/b:{n}"), Source::Catalog);
        let all = vec![b("p.v1"), b("p.v2")];
        assert_eq!(only(all.clone(), &[]).unwrap(), all);
        assert_eq!(only(all.clone(), &["p.v2".into()]).unwrap(), [b("p.v2")]);
        let e = only(all, &["p.v3".into()]).unwrap_err().to_string();
        assert!(
            e.contains("no bundle p.v3") && e.contains("p.v1, p.v2"),
            "{e}"
        );
    }

    #[test]
    fn broken_inputs_are_errors() {
        assert!(from_csv(&serde_json::json!({"spec": {}})).is_err());
        assert!(
            from_csv(&serde_json::json!({"spec": {"relatedImages": [{"name": "x"}]}, "metadata": {"annotations": {"containerImage": "a"}}}))
                .is_err()
        );
        assert!(from_catalog(&[serde_json::json!({"schema": "olm.package"})]).is_err());
    }

    #[test]
    fn a_json_catalog_of_concatenated_objects_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(
            dir.path().join("pkg/catalog.json"),
            r#"{"schema":"olm.package","name":"p"}
{"schema":"olm.bundle","name":"p.v1","image":"q.io/b:1"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("README"), "not a catalog file").unwrap();
        let docs = read_catalog(dir.path()).unwrap();
        assert_eq!(names(&from_catalog(&docs).unwrap()), [("p.v1", "q.io/b:1")]);
    }
}
