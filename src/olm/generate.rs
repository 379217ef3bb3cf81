//! `bundle-gen`: every generated packaging file, from one release description plus the
//! released bundles kept under `releases/<version>/`, and the metrics reference.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bundle;
use super::catalog::{self, Entry};
use super::file::File;
use super::flavour::Flavour;
use super::kustomize;
use super::release::{self, Release};

/// What `releases/<version>/release.yaml` records besides the bundle itself.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    /// Bundle image the catalog points at.
    pub bundle_image: String,
    /// Channels of the bundle.
    pub channels: Vec<String>,
}

/// Released bundles, oldest first, except `current`.
pub fn released(root: &Path, current: &str) -> anyhow::Result<Vec<Entry>> {
    let dir = root.join("releases");
    let mut versions: Vec<(semver::Version, String)> = vec![];
    if dir.exists() {
        for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let name = e?.file_name().to_string_lossy().to_string();
            if name != current {
                let version = semver::Version::parse(&name).with_context(|| {
                    format!("{}: {name:?} is not a semver version", dir.display())
                })?;
                versions.push((version, name));
            }
        }
    }
    versions.sort();
    versions
        .into_iter()
        .map(|(_, v)| {
            let base = dir.join(&v);
            let csv_path = base.join(format!(
                "bundle/manifests/{}.clusterserviceversion.yaml",
                release::PACKAGE
            ));
            let csv: Value = serde_yaml_ng::from_str(
                &std::fs::read_to_string(&csv_path)
                    .with_context(|| format!("reading {}", csv_path.display()))?,
            )?;
            let record: ReleaseRecord =
                serde_yaml_ng::from_str(&std::fs::read_to_string(base.join("release.yaml"))?)?;
            Ok(Entry {
                csv,
                image: record.bundle_image,
                channels: record.channels,
            })
        })
        .collect()
}

/// Every generated file of the repository for this release.
pub fn files(r: &Release, previous: &[Entry]) -> Vec<File> {
    if r.skip_range.is_some() && r.replaces.is_none() {
        // OLM's rule of thumb for FBC: skipRange only together with replaces.
        panic!("skipRange needs replaces");
    }
    let mut out: Vec<File> = Flavour::ALL
        .into_iter()
        .flat_map(|f| bundle::files(r, f, f.bundle_dir(), true))
        .collect();
    out.extend(kustomize::files(r));
    out.extend(
        super::scorecard::layout()
            .into_iter()
            .filter(|(p, _)| p.starts_with("scorecard/")),
    );
    let csv = super::csv::csv(r, r.catalog_flavour, &bundle::examples());
    let mut entries: Vec<Entry> = previous.to_vec();
    entries.push(Entry {
        csv: csv.clone(),
        image: r.bundle_image.clone(),
        channels: r.channels.clone(),
    });
    let icon = csv["spec"]["icon"][0].clone();
    let description = csv["spec"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    out.push((
        format!("catalog/{}/catalog.yaml", release::PACKAGE),
        catalog::render(&entries, &r.default_channel, &icon, &description),
    ));
    out.push(("catalog.Dockerfile".into(), catalog::dockerfile()));
    out.push((
        crate::telemetry::reference::PATH.into(),
        crate::telemetry::reference::markdown(),
    ));
    out.push(("docs/events.md".into(), super::events::markdown()));
    out.push((super::access::PATH.into(), super::access::markdown()));
    out.push((
        super::compatibility::PATH.into(),
        super::compatibility::markdown(),
    ));
    out.extend(super::helm::files(r));
    out
}

/// Files that record this version as released (immutable afterwards): the community bundle,
/// which the catalog's upgrade graph and the OLM tests' N-1 install are built from.
pub fn release_files(r: &Release) -> Vec<File> {
    let base = format!("releases/{}", r.version);
    let mut out = bundle::files(r, Flavour::Community, &format!("{base}/bundle"), false);
    let record = ReleaseRecord {
        bundle_image: r.bundle_image.clone(),
        channels: r.channels.clone(),
    };
    out.push((
        format!("{base}/release.yaml"),
        serde_yaml_ng::to_string(&record).expect("record serializes"),
    ));
    out
}

/// Write files under `root`. A file under `releases/` that exists must not change.
pub fn write(root: &Path, files: &[File]) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = vec![];
    for (rel, content) in files {
        let path = root.join(rel);
        if rel.starts_with("releases/") && path.exists() {
            let old = std::fs::read_to_string(&path)?;
            if &old != content {
                bail!(
                    "{rel} belongs to a published release and would change; releases are immutable"
                );
            }
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A released bundle as `released` reads it: a CSV naming `version` and its record.
    fn write_release(root: &Path, version: &str) {
        let base = root.join("releases").join(version);
        std::fs::create_dir_all(base.join("bundle/manifests")).unwrap();
        std::fs::write(
            base.join(format!(
                "bundle/manifests/{}.clusterserviceversion.yaml",
                release::PACKAGE
            )),
            format!("metadata:\n  name: {}\n", release::csv_name(version)),
        )
        .unwrap();
        std::fs::write(
            base.join("release.yaml"),
            format!("bundleImage: example/bundle:v{version}\nchannels: [stable]\n"),
        )
        .unwrap();
    }

    #[test]
    fn releases_are_ordered_by_semver_precedence() {
        let root = tempfile::tempdir().unwrap();
        for v in ["1.0.0", "0.10.0", "0.9.1", "1.0.0-rc.1", "0.9.0", "1.1.0"] {
            write_release(root.path(), v);
        }
        let names: Vec<String> = released(root.path(), "1.1.0")
            .unwrap()
            .iter()
            .map(|e| e.csv["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            ["0.9.0", "0.9.1", "0.10.0", "1.0.0-rc.1", "1.0.0"].map(release::csv_name)
        );
        assert_eq!(released(root.path(), "1.0.0").unwrap().len(), 5);

        write_release(root.path(), "latest");
        let err = released(root.path(), "1.1.0").unwrap_err();
        assert!(
            format!("{err:#}").contains("\"latest\" is not a semver version"),
            "{err:#}"
        );
    }

    #[test]
    fn generation_is_byte_identical() {
        let r = Release::with_defaults("0.2.0", "2026-11-23T00:00:00Z");
        assert_eq!(files(&r, &[]), files(&r, &[]));
    }

    fn catalog_bundle(all: &[File]) -> Value {
        let catalog = &all
            .iter()
            .find(|(p, _)| p == "catalog/smbp-operator/catalog.yaml")
            .unwrap()
            .1;
        serde_yaml_ng::Deserializer::from_str(catalog)
            .map(|d| Value::deserialize(d).unwrap())
            .find(|d| d["schema"] == "olm.bundle")
            .unwrap()
    }

    #[test]
    fn both_bundles_are_generated_and_the_catalog_lists_the_chosen_flavour() {
        let mut r = Release::with_defaults("0.2.0", "2026-11-23T00:00:00Z");
        let all = files(&r, &[]);
        for f in Flavour::ALL {
            for p in [
                format!(
                    "{}/manifests/smbp-operator.clusterserviceversion.yaml",
                    f.bundle_dir()
                ),
                format!("{}/metadata/annotations.yaml", f.bundle_dir()),
                f.dockerfile().to_string(),
            ] {
                assert!(all.iter().any(|(q, _)| *q == p), "{p}");
            }
        }
        let csv_annotations = |b: &Value| -> Value {
            b["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["type"] == "olm.csv.metadata")
                .unwrap()["value"]["annotations"]
                .clone()
        };
        let monitoring = super::super::flavour::CLUSTER_MONITORING_ANNOTATION;
        let community = catalog_bundle(&all);
        assert!(csv_annotations(&community).get(monitoring).is_none());
        assert_eq!(community["image"], r.bundle_image);

        r.catalog_flavour = Flavour::OpenShift;
        r.bundle_image = "quay.io/smbp/smbp-operator-bundle-openshift@sha256:00".into();
        let openshift_all = files(&r, &[]);
        let openshift = catalog_bundle(&openshift_all);
        assert_eq!(csv_annotations(&openshift)[monitoring], "true");
        assert_eq!(openshift["image"], r.bundle_image);
        // Only catalog/ follows the catalog flavour: the bundles are the same files.
        let bundles = |v: &[File]| -> Vec<File> {
            v.iter()
                .filter(|(p, _)| !p.starts_with("catalog/"))
                .cloned()
                .collect()
        };
        assert_eq!(bundles(&all), bundles(&openshift_all));
    }

    #[test]
    fn a_release_records_the_community_bundle() {
        let r = Release::with_defaults("0.2.0", "2026-11-23T00:00:00Z");
        let rec = release_files(&r);
        assert!(rec.iter().all(|(p, _)| p.starts_with("releases/0.2.0/")));
        let csv = &rec
            .iter()
            .find(|(p, _)| p.ends_with(".clusterserviceversion.yaml"))
            .unwrap()
            .1;
        assert!(!csv.contains(super::super::flavour::CLUSTER_MONITORING_ANNOTATION));
        assert!(!rec.iter().any(|(_, c)| c.contains("kind: ServiceMonitor")));
    }

    #[test]
    fn catalog_graph_follows_replaces() {
        let old = Release::with_defaults("0.1.0", "2026-11-01T00:00:00Z");
        let mut new = Release::with_defaults("0.2.0", "2026-11-23T00:00:00Z");
        new.replaces = Some(old.csv_name());
        let prev = Entry {
            csv: super::super::csv::csv(&old, Flavour::Community, &bundle::examples()),
            image: old.bundle_image.clone(),
            channels: old.channels.clone(),
        };
        let all = files(&new, &[prev]);
        let catalog = &all
            .iter()
            .find(|(p, _)| p.ends_with("catalog.yaml"))
            .unwrap()
            .1;
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(catalog)
            .map(|d| Value::deserialize(d).unwrap())
            .collect();
        let stable = docs
            .iter()
            .find(|d| d["schema"] == "olm.channel" && d["name"] == "stable")
            .unwrap();
        assert_eq!(stable["entries"][1]["replaces"], "smbp-operator.v0.1.0");
        assert_eq!(
            docs.iter().filter(|d| d["schema"] == "olm.bundle").count(),
            2
        );
        assert!(
            docs.iter()
                .filter(|d| d["schema"] == "olm.bundle")
                .all(|b| b["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["type"] == "olm.csv.metadata"))
        );
    }
}
