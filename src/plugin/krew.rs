//! The krew plugin manifest of a release (`smbp-operator krew-manifest`): one archive per
//! platform, each with its SHA-256 from the release's `sha256sum` output.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The platforms a release ships the plugin for: (os, arch).
pub const PLATFORMS: [(&str, &str); 4] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The archive name of a platform: `kubectl-smbp_v0.2.0_linux_amd64.tar.gz`. It holds
/// `kubectl-smbp` and `LICENSE`.
pub fn archive_name(version: &str, os: &str, arch: &str) -> String {
    format!(
        "kubectl-smbp_v{}_{os}_{arch}.tar.gz",
        version.trim_start_matches('v')
    )
}

/// Parse `sha256sum` output (`<hex>  <file>` per line, `*` before binary-mode names).
pub fn parse_checksums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (sum, file) = l.trim().split_once(char::is_whitespace)?;
            let file = file.trim().trim_start_matches('*');
            let file = file.rsplit('/').next().unwrap_or(file);
            (sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| (file.to_string(), sum.to_ascii_lowercase()))
        })
        .collect()
}

/// The manifest (YAML) for `version`, with archives under `base_url` and their checksums.
pub fn manifest(
    version: &str,
    base_url: &str,
    checksums: &BTreeMap<String, String>,
) -> Result<String, String> {
    let version = version.trim_start_matches('v');
    let base = base_url.trim_end_matches('/');
    let mut platforms = vec![];
    for (os, arch) in PLATFORMS {
        let file = archive_name(version, os, arch);
        let sha = checksums
            .get(&file)
            .ok_or_else(|| format!("no checksum for {file}"))?;
        platforms.push(json!({
            "selector": {"matchLabels": {"os": os, "arch": arch}},
            "uri": format!("{base}/{file}"),
            "sha256": sha,
            "files": [
                {"from": "kubectl-smbp", "to": "."},
                {"from": "LICENSE", "to": "."},
            ],
            "bin": "kubectl-smbp",
        }));
    }
    let doc: Value = json!({
        "apiVersion": "krew.googlecontainertools.github.com/v1alpha2",
        "kind": "Plugin",
        "metadata": {"name": "smbp"},
        "spec": {
            "version": format!("v{version}"),
            "homepage": "https://github.com/smbp-io/smbp-operator/blob/main/docs/user/kubectl-plugin.md",
            "shortDescription": "Inspect and operate Self-Managed Big Peer (smbp-operator)",
            "description": "Status of a BigPeer on one screen (conditions, replicas, stuck pods and why,\nexposure, certificate and API key expiry, Events), pause and resume, a safe rolling\nrestart carried out by the operator, logs, and the versions of the client, the operator,\nthe CRDs and every Big Peer with warnings on unsupported skews.\n",
            "caveats": "Needs smbp-operator installed in the cluster. Run `kubectl smbp --help`.\n",
            "platforms": platforms,
        }
    });
    serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums() -> String {
        PLATFORMS
            .iter()
            .enumerate()
            .map(|(i, (os, arch))| {
                format!(
                    "{}  dist/{}\n",
                    format!("{i}").repeat(64),
                    archive_name("0.2.0", os, arch)
                )
            })
            .collect()
    }

    #[test]
    fn the_manifest_has_every_platform_with_its_checksum() {
        let text = manifest(
            "v0.2.0",
            "https://example.com/dl/v0.2.0/",
            &parse_checksums(&sums()),
        )
        .unwrap();
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "Plugin");
        assert_eq!(doc["metadata"]["name"], "smbp");
        assert_eq!(doc["spec"]["version"], "v0.2.0");
        let platforms = doc["spec"]["platforms"].as_array().unwrap();
        assert_eq!(platforms.len(), 4);
        assert_eq!(
            platforms[1]["uri"],
            "https://example.com/dl/v0.2.0/kubectl-smbp_v0.2.0_linux_arm64.tar.gz"
        );
        assert_eq!(platforms[1]["sha256"], "1".repeat(64));
        assert_eq!(platforms[3]["selector"]["matchLabels"]["os"], "darwin");
        assert_eq!(platforms[3]["bin"], "kubectl-smbp");
    }

    #[test]
    fn a_missing_checksum_is_an_error() {
        let partial: String = sums().lines().take(3).map(|l| format!("{l}\n")).collect();
        let err = manifest("0.2.0", "https://x", &parse_checksums(&partial)).unwrap_err();
        assert!(err.contains("darwin_arm64"), "{err}");
    }

    #[test]
    fn checksum_lines_in_binary_mode_and_junk_are_handled() {
        let c = parse_checksums(&format!("{}  *a.tar.gz\nnot a line\n", "a".repeat(64)));
        assert_eq!(c.len(), 1);
        assert_eq!(c["a.tar.gz"], "a".repeat(64));
    }
}
