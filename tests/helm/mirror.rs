//! `smbp-operator images` and `mirror-config` through the binary, on a release generated with
//! every image by digest (`bundle-gen --output <tmp>`): the list equals the CSV's
//! `relatedImages` plus `containerImage` plus the catalog's bundles; the committed (tag-based)
//! bundle is refused with `--require-digests`; the kustomize overlay builds with the real
//! `kubectl kustomize` and the Helm values pass the chart's `values.schema.json` with the real
//! `helm template`, both pointing the operator and every `RELATED_IMAGE_*` at the mirror by
//! digest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::current_bin;
use super::{docs, helm_bin, kubectl_bin, ok, run, scratch};

const SOURCE: &str = "127.0.0.1:5000";
const MIRROR: &str = "mirror.example.com:5001/air";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn bin() -> PathBuf {
    current_bin().into()
}

/// `bundle-gen --output <dir>/rel` with every image by digest; the references given to the
/// pipeline's `images` (bundle and catalog images) and the directory.
fn pinned_release(name: &str) -> (PathBuf, Vec<String>) {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rel = dir.join("rel");
    let img = |repo: &str, n: u8| format!("{SOURCE}/{repo}@{}", digest(n));
    let mut args: Vec<String> = vec![
        "bundle-gen".into(),
        "--output".into(),
        rel.to_string_lossy().into(),
        "--created-at".into(),
        "2026-11-30T00:00:00Z".into(),
        "--operator-image".into(),
        img("smbp/smbp-operator", 1),
        "--must-gather-image".into(),
        img("smbp/smbp-operator-must-gather", 2),
        "--bundle-image".into(),
        img("smbp/smbp-operator-bundle", 3),
    ];
    for (n, (var, repo)) in [
        ("RELATED_IMAGE_STORE_1_59_0", "big-peer-store"),
        ("RELATED_IMAGE_SUBSCRIPTION_1_59_0", "big-peer-subscription"),
        ("RELATED_IMAGE_API_1_59_0", "big-peer-api"),
        (
            "RELATED_IMAGE_MONGO_CONNECTOR_1_59_0",
            "big-peer-mongodb-connector",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        args.push("--related-image".into());
        args.push(format!(
            "{var}={}",
            img(&format!("ditto/{repo}"), 10 + n as u8)
        ));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&bin(), &a);
    let given = vec![
        "--bundle-image".into(),
        img("smbp/smbp-operator-bundle", 3),
        "--bundle-openshift-image".into(),
        img("smbp/smbp-operator-bundle-openshift", 4),
        "--catalog-image".into(),
        img("smbp/smbp-operator-catalog", 5),
    ];
    (dir, given)
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `images -o json --require-digests` of the release in `dir`.
fn images(dir: &Path, given: &[String]) -> Vec<Value> {
    let rel = dir.join("rel");
    let mut args: Vec<String> = vec!["images".into(), "--require-digests".into()];
    for b in ["bundle", "bundle-openshift"] {
        args.extend(["--bundle".into(), rel.join(b).to_string_lossy().into()]);
    }
    args.extend([
        "--catalog".into(),
        rel.join("catalog").to_string_lossy().into(),
    ]);
    args.extend(given.iter().cloned());
    args.extend(["-o".into(), "json".into()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(&ok(&bin(), &a)).unwrap()
}

#[test]
#[ignore = "needs the operator binary: run `make helm-e2e`"]
fn images_of_a_pinned_release_are_the_csv_and_catalog_images_once_each() {
    let (dir, given) = pinned_release("images-list");
    let list = images(&dir, &given);
    let refs: Vec<&str> = list.iter().map(|i| i["image"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = refs.iter().copied().collect();
    assert_eq!(unique.len(), refs.len(), "an image listed twice: {refs:?}");

    let rel = dir.join("rel");
    let mut expected = BTreeSet::new();
    for b in ["bundle", "bundle-openshift"] {
        let csv = yaml(
            &rel.join(b)
                .join("manifests/smbp-operator.clusterserviceversion.yaml"),
        );
        for r in csv["spec"]["relatedImages"].as_array().unwrap() {
            expected.insert(r["image"].as_str().unwrap().to_string());
        }
        expected.insert(
            csv["metadata"]["annotations"]["containerImage"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let catalog = std::fs::read_to_string(rel.join("catalog/smbp-operator/catalog.yaml")).unwrap();
    let bundles: Vec<String> = docs(&catalog)
        .into_iter()
        .filter(|d| d["schema"] == "olm.bundle")
        .map(|d| d["image"].as_str().unwrap().to_string())
        .collect();
    assert!(!bundles.is_empty());
    expected.extend(bundles);
    expected.extend(given.iter().filter(|g| !g.starts_with("--")).cloned());
    let got: BTreeSet<String> = unique.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, expected, "nothing missing, nothing more");
    // Every Big Peer image and the connector of each version, by name.
    let names: BTreeSet<&str> = list.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for n in [
        "smbp-operator",
        "smbp-operator-must-gather",
        "related-image-store-1-59-0",
        "related-image-subscription-1-59-0",
        "related-image-api-1-59-0",
        "related-image-mongo-connector-1-59-0",
        "smbp-operator-bundle",
        "smbp-operator-bundle-openshift",
        "smbp-operator-catalog",
    ] {
        assert!(names.contains(n), "{n} in {names:?}");
    }

    // The plain format: one name<TAB>reference a line, the same list.
    let mut args: Vec<String> = vec![
        "images".into(),
        "--bundle".into(),
        rel.join("bundle").to_string_lossy().into(),
    ];
    args.extend(given.iter().cloned());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let plain = ok(&bin(), &a);
    assert!(plain.lines().all(|l| l.split('\t').count() == 2), "{plain}");
    assert!(plain.starts_with(&format!("smbp-operator\t{SOURCE}/smbp/smbp-operator@")));
}

#[test]
#[ignore = "needs the operator binary: run `make helm-e2e`"]
fn the_committed_tag_based_bundle_is_refused_with_every_offender_named() {
    let (success, out, err) = run(
        &bin(),
        &[
            "images",
            "--bundle",
            "bundle",
            "--catalog",
            "catalog",
            "--require-digests",
        ],
    );
    assert!(!success, "accepted:\n{out}");
    assert!(out.is_empty(), "nothing printed on failure: {out}");
    let operator = format!(
        "smbp-operator\tquay.io/smbp/smbp-operator:v{}: not by digest",
        env!("CARGO_PKG_VERSION")
    );
    for offender in [
        operator.as_str(),
        "related-image-store-1-59-0\tquay.io/ditto/big-peer-store:1.59.0: not by digest",
        "smbp-operator-must-gather\t",
        "smbp-operator.v0.1.0\tquay.io/smbp/smbp-operator-bundle:v0.1.0",
    ] {
        assert!(err.contains(offender), "{offender} not named:\n{err}");
    }
    // Narrowed to the current release's bundle, the catalog lists no earlier (tag-based) one.
    let current = format!("smbp-operator.v{}", env!("CARGO_PKG_VERSION"));
    let (success, out, err) = run(
        &bin(),
        &[
            "images",
            "--catalog",
            "catalog",
            "--catalog-bundle",
            &current,
        ],
    );
    assert!(success, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with(&format!("{current}\t")), "{out}");
    let (success, _, err) = run(
        &bin(),
        &[
            "images",
            "--catalog",
            "catalog",
            "--catalog-bundle",
            "smbp-operator.v9.9.9",
        ],
    );
    assert!(
        !success && err.contains("no bundle smbp-operator.v9.9.9"),
        "{err}"
    );
    // Without --require-digests, the same list is printed.
    let (success, out, _) = run(&bin(), &["images", "--bundle", "bundle"]);
    assert!(
        success
            && out.contains(&format!(
                "quay.io/smbp/smbp-operator:v{}",
                env!("CARGO_PKG_VERSION")
            )),
        "{out}"
    );
}

#[test]
#[ignore = "needs the operator binary, helm and kubectl: run `make helm-e2e`"]
fn mirror_config_builds_with_kustomize_and_passes_the_charts_schema() {
    let (dir, given) = pinned_release("mirror-config");
    let list = images(&dir, &given);
    let listing = dir.join("images.json");
    std::fs::write(&listing, serde_json::to_string(&list).unwrap()).unwrap();
    let out = dir.join("mirror");
    ok(
        &bin(),
        &[
            "mirror-config",
            "--mirror",
            MIRROR,
            "--images",
            &listing.to_string_lossy(),
            "--output",
            &out.to_string_lossy(),
            "--kustomize-base",
            &dir.join("rel/config/default").to_string_lossy(),
        ],
    );
    let mirrored = |image: &str| -> String {
        let (repo, d) = image.split_once('@').unwrap();
        format!(
            "{MIRROR}/{}@{d}",
            repo.strip_prefix(&format!("{SOURCE}/")).unwrap()
        )
    };
    let related: BTreeMap<String, String> = list
        .iter()
        .filter_map(|i| {
            let name = i["name"].as_str().unwrap();
            name.strip_prefix("related-image-").map(|rest| {
                (
                    format!("RELATED_IMAGE_{}", rest.to_uppercase().replace('-', "_")),
                    mirrored(i["image"].as_str().unwrap()),
                )
            })
        })
        .collect();
    assert_eq!(related.len(), 4);
    let operator = mirrored(
        list.iter().find(|i| i["name"] == "smbp-operator").unwrap()["image"]
            .as_str()
            .unwrap(),
    );

    // What a Deployment runs: the operator image and its RELATED_IMAGE_* values.
    let check = |what: &str, objects: &[Value]| {
        let d = objects
            .iter()
            .find(|o| o["kind"] == "Deployment")
            .unwrap_or_else(|| panic!("{what}: no Deployment"));
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], operator.as_str(), "{what}");
        let env: BTreeMap<String, String> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_string(),
                    e["value"].as_str()?.to_string(),
                ))
            })
            .collect();
        for (k, v) in &related {
            assert_eq!(env.get(k), Some(v), "{what}: {k}");
        }
        assert!(
            env.contains_key("POD_NAMESPACE") || env.contains_key("WATCH_NAMESPACE"),
            "{what}: the other variables are kept: {env:?}"
        );
        let names: Vec<&str> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        let set: BTreeSet<&&str> = names.iter().collect();
        assert_eq!(
            set.len(),
            names.len(),
            "{what}: a variable twice: {names:?}"
        );
    };

    let built = ok(
        &kubectl_bin(),
        &["kustomize", &out.join("kustomize").to_string_lossy()],
    );
    check("kubectl kustomize", &docs(&built));

    let values = out.join("helm-values.yaml");
    let rendered = ok(
        &helm_bin(),
        &[
            "template",
            "smbp-operator",
            super::CHART,
            "--namespace",
            super::NS,
            "-f",
            &values.to_string_lossy(),
        ],
    );
    check("helm template", &docs(&rendered));
    // The schema is applied to these values: the same file with a broken digest is refused.
    let broken = out.join("broken-values.yaml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&values)
            .unwrap()
            .replace("digest: sha256:", "digest: sha256:zz"),
    )
    .unwrap();
    let (success, _, err) = run(
        &helm_bin(),
        &[
            "template",
            "smbp-operator",
            super::CHART,
            "--namespace",
            super::NS,
            "-f",
            &broken.to_string_lossy(),
        ],
    );
    assert!(!success && err.contains("digest"), "{err}");

    // The mirror sets and the CatalogSource cover every image, by digest.
    let idms = yaml(&out.join("image-digest-mirror-set.yaml"));
    let sources: BTreeSet<&str> = idms["spec"]["imageDigestMirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    for i in &list {
        let repo = i["image"].as_str().unwrap().split_once('@').unwrap().0;
        assert!(sources.contains(repo), "{repo}");
    }
    let cs = yaml(&out.join("catalog-source.yaml"));
    assert_eq!(
        cs["spec"]["image"],
        mirrored(&format!(
            "{SOURCE}/smbp/smbp-operator-catalog@{}",
            digest(5)
        ))
        .as_str()
    );
    let mapping = std::fs::read_to_string(out.join("mapping.txt")).unwrap();
    assert_eq!(mapping.lines().count(), list.len());
}
