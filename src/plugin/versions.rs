//! `kubectl smbp versions`: what runs where, and the skews this operator does not support.

use serde::{Deserialize, Serialize};

use crate::olm::contract::{self, Minor};

/// What this operator release supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Supported {
    /// Oldest Kubernetes supported.
    pub oldest_kube: Minor,
    /// Newest Kubernetes the operator was tested on.
    pub newest_kube: Minor,
    /// Big Peer versions.
    pub bigpeer_versions: &'static [&'static str],
}

/// The supported range: the version contract's ([`crate::olm::contract`], the source of
/// docs/compatibility.md).
pub fn supported() -> Supported {
    Supported {
        oldest_kube: contract::OLDEST_KUBE,
        newest_kube: contract::NEWEST_KUBE,
        bigpeer_versions: contract::BIGPEER_VERSIONS,
    }
}

/// Everything `versions` reports.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VersionsReport {
    /// This plugin's version.
    pub client: String,
    /// The API server's version (`v1.34.1`).
    pub kubernetes: Option<String>,
    /// The operator installs found: where and which version.
    pub operators: Vec<OperatorLine>,
    /// The CRDs of smbp.io: versions served and the stored one.
    pub crds: Vec<CrdLine>,
    /// Each BigPeer's desired and running version.
    pub bigpeers: Vec<BigPeerVersion>,
    /// Skews outside what the operator supports.
    pub warnings: Vec<String>,
    /// What could not be read, and why.
    pub unavailable: Vec<String>,
}

/// One operator install.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperatorLine {
    /// Where it was found: `Deployment ns/name` or `ClusterServiceVersion ns/name`.
    pub source: String,
    /// Its version (the image tag, or the CSV's spec.version).
    pub version: Option<String>,
    /// Its image.
    pub image: Option<String>,
}

/// One CRD.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrdLine {
    /// CRD name.
    pub name: String,
    /// Versions served.
    pub served: Vec<String>,
    /// The storage version.
    pub storage: Option<String>,
}

/// One BigPeer's versions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BigPeerVersion {
    /// `namespace/name`.
    pub name: String,
    /// `spec.version`.
    pub desired: String,
    /// `status.version`.
    pub running: Option<String>,
}

/// (major, minor) of a Kubernetes version such as `v1.34.1`, `1.33.0` or `1.31+`.
pub fn major_minor(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The version in an image reference's tag (`quay.io/smbp/smbp-operator:v0.2.0` → `0.2.0`),
/// none for a digest-only reference.
pub fn image_version(image: &str) -> Option<String> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    Some(tag.trim_start_matches('v').to_string())
}

/// The skews `report` shows that `supported` does not allow.
pub fn warnings(report: &VersionsReport, supported: &Supported) -> Vec<String> {
    let mut out = vec![];
    if let Some((major, minor)) = report.kubernetes.as_deref().and_then(major_minor) {
        let k = Minor::new(major, minor);
        let server = report.kubernetes.as_deref().unwrap_or_default();
        if k < supported.oldest_kube {
            out.push(format!(
                "Kubernetes {server} is older than {}, the oldest this operator supports (see docs/compatibility.md)",
                supported.oldest_kube
            ));
        } else if k > supported.newest_kube {
            out.push(format!(
                "Kubernetes {server} is newer than {}, the newest this operator release was tested on (see docs/compatibility.md)",
                supported.newest_kube
            ));
        }
    }
    for bp in &report.bigpeers {
        let versions = std::iter::once(bp.desired.as_str()).chain(bp.running.as_deref());
        for v in versions.collect::<std::collections::BTreeSet<_>>() {
            if !supported.bigpeer_versions.contains(&v) {
                out.push(format!(
                    "BigPeer {} uses Big Peer {v}, which this operator does not support (supported: {})",
                    bp.name,
                    supported.bigpeer_versions.join(", ")
                ));
            }
        }
    }
    let client = major_minor(&report.client);
    for op in &report.operators {
        if let Some(v) = &op.version
            && let (Some(o), Some(c)) = (major_minor(v), client)
            && o != c
        {
            out.push(format!(
                "the plugin ({}) and the operator at {} ({v}) differ in minor version: use the plugin of the operator's release",
                report.client, op.source
            ));
        }
    }
    out
}

/// Text for a terminal.
pub fn render(r: &VersionsReport) -> String {
    let mut out = format!("Client (kubectl-smbp):  {}\n", r.client);
    out.push_str(&format!(
        "Kubernetes:             {}\n",
        r.kubernetes.as_deref().unwrap_or("unknown")
    ));
    if r.operators.is_empty() {
        out.push_str("Operator:               not found\n");
    }
    for op in &r.operators {
        out.push_str(&format!(
            "Operator:               {} ({}{})\n",
            op.version.as_deref().unwrap_or("unknown version"),
            op.source,
            op.image
                .as_deref()
                .map(|i| format!(", image {i}"))
                .unwrap_or_default()
        ));
    }
    out.push_str("CRDs:\n");
    if r.crds.is_empty() {
        out.push_str("  none found\n");
    }
    for c in &r.crds {
        out.push_str(&format!(
            "  {}: served {}, stored {}\n",
            c.name,
            c.served.join(", "),
            c.storage.as_deref().unwrap_or("?")
        ));
    }
    out.push_str("BigPeers:\n");
    if r.bigpeers.is_empty() {
        out.push_str("  none found\n");
    }
    for b in &r.bigpeers {
        out.push_str(&format!(
            "  {}: {} desired, {} running\n",
            b.name,
            b.desired,
            b.running.as_deref().unwrap_or("mixed or none")
        ));
    }
    for w in &r.warnings {
        out.push_str(&format!("WARNING: {w}\n"));
    }
    for u in &r.unavailable {
        out.push_str(&format!("Not shown: {u}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supported() -> Supported {
        Supported {
            oldest_kube: Minor::new(1, 31),
            newest_kube: Minor::new(1, 36),
            bigpeer_versions: &["1.59.0", "1.60.0"],
        }
    }

    #[test]
    fn versions_parse() {
        assert_eq!(major_minor("v1.34.1"), Some((1, 34)));
        assert_eq!(major_minor("1.31+"), Some((1, 31)));
        assert_eq!(major_minor("1.33.0"), Some((1, 33)));
        assert_eq!(major_minor("nonsense"), None);
        assert_eq!(
            image_version("quay.io/smbp/smbp-operator:v0.2.0").as_deref(),
            Some("0.2.0")
        );
        assert_eq!(
            image_version("localhost:5000/op:1.2.3").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(image_version("quay.io/smbp/op@sha256:abcd"), None);
    }

    #[test]
    fn old_kubernetes_and_unsupported_bigpeers_warn() {
        let r = VersionsReport {
            client: "0.2.0".into(),
            kubernetes: Some("v1.30.2".into()),
            operators: vec![OperatorLine {
                source: "Deployment smbp-system/smbp-operator".into(),
                version: Some("0.3.1".into()),
                image: None,
            }],
            bigpeers: vec![
                BigPeerVersion {
                    name: "a/ok".into(),
                    desired: "1.60.0".into(),
                    running: Some("1.59.0".into()),
                },
                BigPeerVersion {
                    name: "b/old".into(),
                    desired: "1.58.0".into(),
                    running: Some("1.58.0".into()),
                },
            ],
            ..Default::default()
        };
        let w = warnings(&r, &supported());
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("Kubernetes v1.30.2 is older than 1.31"));
        assert!(w[1].contains("BigPeer b/old uses Big Peer 1.58.0"));
        assert!(w[2].contains("differ in minor version"));
    }

    #[test]
    fn a_kubernetes_newer_than_tested_is_a_warning() {
        let r = VersionsReport {
            client: "0.2.0".into(),
            kubernetes: Some("v1.37.1+k3s1".into()),
            ..Default::default()
        };
        let w = warnings(&r, &supported());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("newer than 1.36"), "{w:?}");
    }

    #[test]
    fn a_supported_cluster_warns_nothing() {
        let r = VersionsReport {
            client: "0.2.0".into(),
            kubernetes: Some("v1.34.0".into()),
            operators: vec![OperatorLine {
                source: "x".into(),
                version: Some("0.2.3".into()),
                image: None,
            }],
            bigpeers: vec![BigPeerVersion {
                name: "a/b".into(),
                desired: "1.59.0".into(),
                running: None,
            }],
            ..Default::default()
        };
        assert!(warnings(&r, &supported()).is_empty());
        assert!(render(&r).contains("a/b: 1.59.0 desired, mixed or none running"));
    }

    #[test]
    fn the_supported_range_comes_from_the_release() {
        let s = super::supported();
        assert_eq!(s.oldest_kube, contract::OLDEST_KUBE);
        assert_eq!(s.newest_kube, contract::NEWEST_KUBE);
        assert_eq!(s.bigpeer_versions, contract::BIGPEER_VERSIONS);
    }
}
