//! The version contract: which Kubernetes, OpenShift, Big Peer and add-on versions this release
//! of the operator supports and was tested on. Every claim the project makes (the CSV's
//! `minKubeVersion` and `com.redhat.openshift.versions`, the validators' Kubernetes version,
//! `docs/compatibility.md`, the Helm chart's `kubeVersion`) is derived from here, and the unit
//! tests below fail on any contradiction between them or with what `hack/` builds.
//!
//! # Why 1.31 is the oldest Kubernetes
//!
//! - OpenShift 4.18, an Extended Update Support release still in support, runs Kubernetes 1.31;
//!   the bundle claims OpenShift 4.18 to 4.21, so its `minKubeVersion` must not exceed 1.31.
//! - EKS and AKS still offer 1.31 in extended (EKS) and long-term (AKS) support, and GKE's
//!   extended channel carries it too.
//! - The operator's CEL rules only use libraries a 1.31 API server accepts in new rules (see
//!   `src/api/cel.rs`), and the operator only calls APIs that were stable long before 1.31
//!   (apps/v1, policy/v1, networking.k8s.io/v1, coordination.k8s.io/v1, admissionregistration
//!   v1, authentication, authorization and discovery.k8s.io v1). k8s-openapi is built with the
//!   `v1_33` feature (its floor), which only
//!   decides which fields the Rust types have; the fields the operator sets exist in 1.31.
//! - 1.30 and older are out of upstream and OpenShift support; nothing is tested there.
//!
//! The e2e tests run on every version in [`TESTED`]: the full suite on the newest, a smoke
//! subset on the others (`hack/controlplane*/go.mod` build them). A version appears as
//! supported in `docs/compatibility.md` only if it is in [`TESTED`].

/// A Kubernetes minor version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minor {
    /// Major version (1).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl Minor {
    /// `1.31` from its parts.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The minor version of `1.31.14` (or `v1.31.14`, `1.31`).
    pub fn of(version: &str) -> Option<Self> {
        let mut it = version.trim_start_matches('v').split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Oldest Kubernetes supported (see the module documentation for why).
pub const OLDEST_KUBE: Minor = Minor::new(1, 31);
/// Newest Kubernetes tested.
pub const NEWEST_KUBE: Minor = Minor::new(1, 36);

/// The exact Kubernetes versions the tests run on, oldest first: the oldest supported, the
/// newest OpenShift release's, and the newest. The last is `hack/controlplane/go.mod`'s; each
/// other one is `hack/controlplane-<major.minor>/go.mod`'s.
pub const TESTED: &[&str] = &["1.31.14", "1.34.4", "1.36.4"];

/// One OpenShift release and the Kubernetes it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenShift {
    /// OpenShift minor version (`4.18`).
    pub version: Minor,
    /// Kubernetes it runs.
    pub kube: Minor,
}

/// The OpenShift releases the bundle claims, oldest first, with their Kubernetes.
pub const OPENSHIFT: &[OpenShift] = &[
    OpenShift {
        version: Minor::new(4, 18),
        kube: Minor::new(1, 31),
    },
    OpenShift {
        version: Minor::new(4, 19),
        kube: Minor::new(1, 32),
    },
    OpenShift {
        version: Minor::new(4, 20),
        kube: Minor::new(1, 33),
    },
    OpenShift {
        version: Minor::new(4, 21),
        kube: Minor::new(1, 34),
    },
];

/// Big Peer versions whose images this release ships as related images.
pub const BIGPEER_VERSIONS: &[&str] = &["1.59.0"];

/// An add-on the operator integrates with, and the version the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddOn {
    /// Display name.
    pub name: &'static str,
    /// Version tested (what `hack/` builds).
    pub tested: &'static str,
    /// Where `hack/` pins it, and under which module or property.
    pub pinned_in: (&'static str, &'static str),
    /// What the operator uses it for, and whether it is required.
    pub role: &'static str,
}

/// The add-ons, with the versions `hack/` builds (a unit test checks them).
pub const ADD_ONS: &[AddOn] = &[
    AddOn {
        name: "cert-manager",
        tested: "1.21.2",
        pinned_in: ("hack/crds/go.mod", "github.com/cert-manager/cert-manager"),
        role: "optional: issues Big Peer's TLS certificates when `spec.tls.issuerRef` is set",
    },
    AddOn {
        name: "Strimzi",
        tested: "1.2.0",
        pinned_in: ("hack/strimzi/pom.xml", "strimzi.version"),
        role: "optional: Kafka for data bridges and replication (`KafkaTopic`, `KafkaUser`)",
    },
    AddOn {
        name: "Gateway API",
        tested: "1.6.3",
        pinned_in: ("hack/crds/go.mod", "sigs.k8s.io/gateway-api"),
        role: "optional: `HTTPRoute` exposure",
    },
    AddOn {
        name: "Prometheus Operator",
        tested: "0.85.0",
        pinned_in: (
            "hack/crds/go.mod",
            "github.com/prometheus-operator/prometheus-operator",
        ),
        role: "optional: `ServiceMonitor` and `PrometheusRule` for the operator and each BigPeer",
    },
    AddOn {
        name: "OLM (v0)",
        tested: "0.46.0",
        pinned_in: (
            "hack/olm/olm/go.mod",
            "github.com/operator-framework/operator-lifecycle-manager",
        ),
        role: "optional: installs and upgrades the operator from a catalog (or use kustomize or Helm)",
    },
];

/// `minKubeVersion` of the CSV: the oldest supported Kubernetes.
pub fn min_kube_version() -> String {
    format!("{OLDEST_KUBE}.0")
}

/// The `com.redhat.openshift.versions` annotation: `v4.18-v4.21`.
pub fn openshift_versions() -> String {
    let first = OPENSHIFT.first().expect("an OpenShift release");
    let last = OPENSHIFT.last().expect("an OpenShift release");
    format!("v{}-v{}", first.version, last.version)
}

/// The Kubernetes of the newest OpenShift release claimed (the validators' `k8s-version`).
pub fn openshift_newest_kube() -> Minor {
    OPENSHIFT.last().expect("an OpenShift release").kube
}

/// The Helm chart's `kubeVersion` constraint.
pub fn helm_kube_version() -> String {
    format!(">= {OLDEST_KUBE}.0-0")
}

/// Whether a Kubernetes minor version is inside the supported range (the oldest supported to
/// the newest tested; the versions in between use the same APIs).
pub fn supported(v: Minor) -> bool {
    (OLDEST_KUBE..=NEWEST_KUBE).contains(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn read(rel: &str) -> String {
        std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The version `go.mod` requires of `module` (without the leading v).
    fn go_mod_version(go_mod: &str, module: &str) -> Option<String> {
        go_mod.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            let first = w.next()?;
            let (m, v) = if first == "require" {
                (w.next()?, w.next()?)
            } else {
                (first, w.next()?)
            };
            (m == module && v.starts_with('v')).then(|| v.trim_start_matches('v').to_string())
        })
    }

    #[test]
    fn go_mod_versions_are_read_from_require_lines_only() {
        let m = "module x\n\nrequire k8s.io/kubernetes v1.31.14\nrequire (\n\tfoo v0.1.0 // indirect\n)\nreplace bar => ../bar\n";
        assert_eq!(
            go_mod_version(m, "k8s.io/kubernetes").as_deref(),
            Some("1.31.14")
        );
        assert_eq!(go_mod_version(m, "foo").as_deref(), Some("0.1.0"));
        assert_eq!(go_mod_version(m, "bar"), None);
        assert_eq!(go_mod_version(m, "baz"), None);
    }

    #[test]
    fn the_openshift_table_is_contiguous_and_agrees_with_the_kubernetes_range() {
        for w in OPENSHIFT.windows(2) {
            assert_eq!(w[1].version.minor, w[0].version.minor + 1, "{w:?}");
            assert_eq!(w[1].kube.minor, w[0].kube.minor + 1, "{w:?}");
        }
        // OLM must not list the operator where it then refuses to install.
        assert_eq!(
            OPENSHIFT[0].kube, OLDEST_KUBE,
            "the oldest OpenShift claimed runs Kubernetes {}, but the oldest supported is {OLDEST_KUBE}",
            OPENSHIFT[0].kube
        );
        assert!(OPENSHIFT.iter().all(|o| supported(o.kube)));
        assert_eq!(min_kube_version(), "1.31.0");
        assert_eq!(openshift_versions(), "v4.18-v4.21");
        assert_eq!(openshift_newest_kube(), Minor::new(1, 34));
    }

    #[test]
    fn the_tested_versions_cover_the_oldest_the_newest_openshift_and_the_newest() {
        let minors: Vec<Minor> = TESTED.iter().map(|v| Minor::of(v).unwrap()).collect();
        assert!(minors.windows(2).all(|w| w[0] < w[1]), "{TESTED:?}");
        assert_eq!(minors.first(), Some(&OLDEST_KUBE));
        assert_eq!(minors.last(), Some(&NEWEST_KUBE));
        assert!(minors.contains(&openshift_newest_kube()));
        for v in TESTED {
            assert_eq!(v.split('.').count(), 3, "{v} is an exact version");
        }
    }

    #[test]
    fn the_newest_tested_version_is_what_hack_controlplane_builds() {
        let newest = TESTED.last().unwrap();
        assert_eq!(
            go_mod_version(&read("hack/controlplane/go.mod"), "k8s.io/kubernetes").as_deref(),
            Some(*newest),
            "hack/controlplane/go.mod"
        );
    }

    #[test]
    fn every_other_tested_version_is_what_its_control_plane_module_builds() {
        for v in &TESTED[..TESTED.len() - 1] {
            let minor = Minor::of(v).unwrap();
            let rel = format!("hack/controlplane-{minor}/go.mod");
            assert_eq!(
                go_mod_version(&read(&rel), "k8s.io/kubernetes").as_deref(),
                Some(*v),
                "{rel} must require k8s.io/kubernetes v{v}"
            );
        }
    }

    #[test]
    fn make_test_smokes_every_other_tested_version() {
        let makefile = read("Makefile");
        let smoke: Vec<&str> = makefile
            .lines()
            .find_map(|l| l.strip_prefix("SMOKE_K8S ?="))
            .expect("SMOKE_K8S in the Makefile")
            .split_whitespace()
            .collect();
        let others: Vec<String> = TESTED[..TESTED.len() - 1]
            .iter()
            .map(|v| Minor::of(v).unwrap().to_string())
            .collect();
        assert_eq!(
            smoke, others,
            "SMOKE_K8S must be the tested versions but the newest"
        );
    }

    #[test]
    fn the_add_on_versions_are_what_hack_builds() {
        for a in ADD_ONS {
            let (file, key) = a.pinned_in;
            let text = read(file);
            let found = if file.ends_with("go.mod") {
                go_mod_version(&text, key)
            } else {
                let open = format!("<{key}>");
                text.split(&open)
                    .nth(1)
                    .and_then(|rest| rest.split('<').next())
                    .map(str::to_string)
            };
            assert_eq!(found.as_deref(), Some(a.tested), "{}: {file} {key}", a.name);
        }
    }

    #[test]
    fn the_bundle_validators_check_against_the_newest_openshift_kubernetes() {
        let want = format!("BUNDLE_K8S_VERSION={}", openshift_newest_kube());
        let makefile = read("Makefile");
        let uses: Vec<&str> = makefile
            .split_whitespace()
            .filter(|w| w.starts_with("BUNDLE_K8S_VERSION="))
            .collect();
        assert!(!uses.is_empty(), "the Makefile sets BUNDLE_K8S_VERSION");
        assert!(uses.iter().all(|u| *u == want), "{uses:?} != {want}");
        let default = format!("BUNDLE_K8S_VERSION:-{}", openshift_newest_kube());
        assert!(read("hack/olm/validate-bundle.sh").contains(&default));
    }

    /// The Kubernetes minor versions (`1.31`, not part of `0.1.0` or `1.31.14`'s patch) in `text`.
    fn kube_minors(text: &str) -> Vec<(usize, Minor)> {
        let b = text.as_bytes();
        let mut out = vec![];
        for i in 0..b.len().saturating_sub(2) {
            let before_ok = i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.');
            if before_ok && b[i] == b'1' && b[i + 1] == b'.' && b[i + 2].is_ascii_digit() {
                let end = text[i + 2..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(text.len(), |e| i + 2 + e);
                if let Ok(minor) = text[i + 2..end].parse() {
                    out.push((i, Minor::new(1, minor)));
                }
            }
        }
        out
    }

    /// Contradictions of the contract in one document's text.
    fn contradictions(text: &str) -> Vec<String> {
        let mut out = vec![];
        let flat = text.replace('\n', " ");
        let after = |i: usize, n: usize| &flat[i..flat.len().min(i + n)];
        for o in OPENSHIFT {
            let name = format!("OpenShift {}", o.version);
            for (i, _) in flat.match_indices(&name) {
                let window = after(i + name.len(), 30);
                if let Some((_, k)) = kube_minors(window).first()
                    && *k != o.kube
                {
                    out.push(format!(
                        "{name} with Kubernetes {k} (the table says {})",
                        o.kube
                    ));
                }
            }
        }
        for key in ["k8s-version", "BUNDLE_K8S_VERSION"] {
            for (i, _) in flat.match_indices(key) {
                // A value: `k8s-version=1.34`, `(1.34)`, `default 1.34`, `:-1.34` (not "APIs
                // removed in 1.22" further on).
                let w = after(i, 120);
                let value = kube_minors(w).into_iter().find(|(j, _)| {
                    w[..*j].ends_with(['=', '(', '-']) || w[..*j].ends_with("default ")
                });
                if let Some((_, k)) = value
                    && k != openshift_newest_kube()
                {
                    out.push(format!(
                        "{key} {k} (the newest OpenShift runs {})",
                        openshift_newest_kube()
                    ));
                }
            }
        }
        for (i, _) in flat.match_indices("minKubeVersion") {
            if let Some((_, k)) = kube_minors(after(i, 40)).first()
                && *k != OLDEST_KUBE
            {
                out.push(format!(
                    "minKubeVersion {k} (the oldest supported is {OLDEST_KUBE})"
                ));
            }
        }
        for (i, _) in flat.match_indices("v4.") {
            let w = after(i, 12);
            if let Some((range, _)) = w
                .split_once(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .or(Some((w, "")))
                && range.contains("-v4.")
                && range != openshift_versions()
            {
                out.push(format!(
                    "OpenShift range {range} (the contract says {})",
                    openshift_versions()
                ));
            }
        }
        out
    }

    #[test]
    fn contradictions_are_found() {
        assert!(
            contradictions("OpenShift 4.18 runs Kubernetes 1.31; OpenShift 4.21 (1.34)").is_empty()
        );
        assert_eq!(contradictions("OpenShift 4.18 runs 1.33").len(), 1);
        assert_eq!(contradictions("minKubeVersion: 1.33.0").len(), 1);
        assert!(contradictions("minKubeVersion: 1.31.0").is_empty());
        assert_eq!(contradictions("claims v4.16-v4.21.").len(), 1);
        assert!(contradictions("claims `v4.18-v4.21`.").is_empty());
        assert_eq!(
            contradictions("--optional-values k8s-version=1.33").len(),
            1
        );
        assert!(contradictions("(k8s-version >= removal): APIs removed in 1.22").is_empty());
        assert_eq!(contradictions("BUNDLE_K8S_VERSION (default 1.33)").len(), 1);
        assert!(contradictions("release 0.1.0 and OpenShift 4.19 too").is_empty());
    }

    /// Every document of the repository (and the CSVs) agrees with the contract.
    #[test]
    fn no_document_contradicts_the_contract() {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p
                    .extension()
                    .is_some_and(|x| x == "md" || x == "yaml" || x == "sh")
                {
                    out.push(p);
                }
            }
        }
        let mut files = vec![root().join("README.md"), root().join("Makefile")];
        for d in ["docs", "bundle", "bundle-openshift", "hack/olm", "charts"] {
            walk(&root().join(d), &mut files);
        }
        let mut found = vec![];
        for f in files {
            let rel = f.strip_prefix(root()).unwrap().display().to_string();
            // The selftest's fixtures are deliberately old bundles.
            if rel == "hack/olm/selftest.sh" {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            found.extend(
                contradictions(&text)
                    .into_iter()
                    .map(|c| format!("{rel}: {c}")),
            );
        }
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn minor_versions_parse_and_order() {
        assert_eq!(Minor::of("v1.31.14"), Some(Minor::new(1, 31)));
        assert_eq!(Minor::of("1.9"), Some(Minor::new(1, 9)));
        assert_eq!(Minor::of("x"), None);
        assert!(Minor::new(1, 9) < Minor::new(1, 31));
        assert!(!supported(Minor::new(1, 30)));
        assert!(supported(Minor::new(1, 33)));
        assert!(!supported(Minor::new(1, 37)));
    }
}
