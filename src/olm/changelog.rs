//! `CHANGELOG.md` (Keep a Changelog): every published release under `releases/` and the
//! current version have an entry; a test holds it.

/// The versions the changelog has an entry for: headings `## [0.2.0] ...` (`Unreleased` is not a
/// version).
pub fn versions(changelog: &str) -> Vec<String> {
    changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|l| l.split_once(']'))
        .map(|(v, _)| v.to_string())
        .filter(|v| semver::Version::parse(v).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_from_version_headings() {
        let log = "# Changelog\n## [Unreleased]\n## [0.2.0] - unreleased\n### Added\n- x\n## [0.1.0] - 2026-11-23\n[0.1.0]: https://x\n";
        assert_eq!(versions(log), ["0.2.0", "0.1.0"]);
    }

    #[test]
    fn every_release_and_the_current_version_has_an_entry() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let log = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("CHANGELOG.md");
        let have = versions(&log);
        let mut want = vec![env!("CARGO_PKG_VERSION").to_string()];
        for e in std::fs::read_dir(root.join("releases")).expect("releases/") {
            want.push(e.expect("entry").file_name().to_string_lossy().to_string());
        }
        for v in want {
            assert!(
                have.contains(&v),
                "CHANGELOG.md has no `## [{v}]` entry (entries: {have:?})"
            );
        }
    }
}
