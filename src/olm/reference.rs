//! Image references (`[registry[:port]/]repository[:tag][@algorithm:hex]`), read the way
//! container runtimes read them, and their place in a mirror registry.
//!
//! A mirror keeps each image's repository path under its own prefix, as `oc-mirror` does:
//! `quay.io/ditto/big-peer-store@sha256:…` mirrored to `mirror.example.com:5000/path` is
//! `mirror.example.com:5000/path/ditto/big-peer-store@sha256:…`. `spec.image.registry` of a
//! BigPeer is then `mirror.example.com:5000/path/ditto`.

use std::fmt;

/// Registry of a reference that names none (`busybox`, `library/busybox`).
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The name as written, without tag or digest (`busybox`, `quay.io/ditto/big-peer-store`):
    /// what kustomize's `images:` matches.
    pub written: String,
    /// Registry host and optional port (`quay.io`, `localhost:5000`; `docker.io` when the
    /// reference names none).
    pub registry: String,
    /// Repository path under the registry (`ditto/big-peer-store`; `library/busybox` for a
    /// Docker Hub short name).
    pub repository: String,
    /// Tag, when written.
    pub tag: Option<String>,
    /// Digest (`sha256:…`), when written.
    pub digest: Option<String>,
}

fn is_component(c: &str) -> bool {
    // [a-z0-9]+([._-]+[a-z0-9]+)* (`__` included)
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !c.is_empty()
        && c.starts_with(alnum)
        && c.ends_with(alnum)
        && c.chars().all(|c| alnum(c) || "._-".contains(c))
}

fn is_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (h, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    host.split('.').all(label)
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && !t.starts_with(['.', '-'])
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

impl Reference {
    /// Parse a reference; an error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("{s:?} is not an image reference: {why}"));
        if s.is_empty() {
            return bad("empty");
        }
        if s.contains("://") || s.chars().any(char::is_whitespace) {
            return bad("no scheme or spaces allowed");
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, _)) => match crate::images::digest(s) {
                Some(d) => (rest, Some(d.to_string())),
                None => return bad("the digest is not <algorithm>:<hex>"),
            },
            None => (s, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if let Some(t) = &tag
            && !is_tag(t)
        {
            return bad("the tag is not [A-Za-z0-9_.-]");
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                if !is_host(first) {
                    return bad("the registry is not host[:port]");
                }
                (first.to_string(), path.to_string())
            }
            Some(_) => (DEFAULT_REGISTRY.to_string(), name.to_string()),
            None => (DEFAULT_REGISTRY.to_string(), format!("library/{name}")),
        };
        if !repository.split('/').all(is_component) {
            return bad("the repository is not lowercase [a-z0-9._-] path components");
        }
        Ok(Self {
            written: name.to_string(),
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`: what a mirror set's `source` names.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same image in a mirror: the repository path under the mirror's prefix, the same
    /// digest (and the tag only when there is no digest).
    pub fn in_mirror(&self, mirror: &Mirror) -> Self {
        let repository = match &mirror.path {
            Some(p) => format!("{p}/{}", self.repository),
            None => self.repository.clone(),
        };
        Self {
            written: format!("{}/{repository}", mirror.host),
            registry: mirror.host.clone(),
            repository,
            tag: if self.digest.is_some() {
                None
            } else {
                self.tag.clone()
            },
            digest: self.digest.clone(),
        }
    }
}

impl fmt::Display for Reference {
    /// As written: the name, then `:tag` and `@digest` when present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A mirror registry: `host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// Host and optional port.
    pub host: String,
    /// Path prefix, without leading or trailing slash.
    pub path: Option<String>,
}

impl Mirror {
    /// Parse `host[:port][/path]` (a trailing slash is allowed).
    pub fn parse(s: &str) -> Result<Self, String> {
        let trimmed = s.trim_end_matches('/');
        let (host, path) = match trimmed.split_once('/') {
            Some((h, p)) => (h, Some(p)),
            None => (trimmed, None),
        };
        if !is_host(host) || !(host.contains(['.', ':']) || host == "localhost") {
            return Err(format!(
                "{s:?} is not a mirror registry: host[:port][/path], the host with a dot or a port \
                 (mirror.example.com, registry:5000) or localhost; no scheme"
            ));
        }
        if let Some(p) = path
            && !p.split('/').all(is_component)
        {
            return Err(format!(
                "{s:?}: the path must be lowercase [a-z0-9._-] components separated by /"
            ));
        }
        Ok(Self {
            host: host.to_string(),
            path: path.map(String::from),
        })
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}/{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_parse_like_container_runtimes_read_them() {
        let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
            ("busybox", "docker.io", "library/busybox", None, false),
            (
                "busybox:1.36",
                "docker.io",
                "library/busybox",
                Some("1.36"),
                false,
            ),
            ("ditto/x:1", "docker.io", "ditto/x", Some("1"), false),
            (
                "quay.io/ditto/big-peer-store:1.59.0",
                "quay.io",
                "ditto/big-peer-store",
                Some("1.59.0"),
                false,
            ),
            (
                "localhost:5000/a/b/c",
                "localhost:5000",
                "a/b/c",
                None,
                false,
            ),
            ("localhost/a", "localhost", "a", None, false),
            (
                "127.0.0.1:5000/smbp/op@DIGEST",
                "127.0.0.1:5000",
                "smbp/op",
                None,
                true,
            ),
            ("reg:5000/op:v1@DIGEST", "reg:5000", "op", Some("v1"), true),
        ];
        for (s, registry, repository, tag, digest) in cases {
            let s = s.replace("DIGEST", D);
            let r = Reference::parse(&s).unwrap();
            assert_eq!(r.registry, *registry, "{s}");
            assert_eq!(r.repository, *repository, "{s}");
            assert_eq!(r.tag.as_deref(), *tag, "{s}");
            assert_eq!(r.digest.is_some(), *digest, "{s}");
            assert_eq!(r.to_string(), s, "written back as it was");
        }
    }

    #[test]
    fn malformed_references_are_refused_with_the_reason() {
        for (s, why) in [
            ("", "empty"),
            ("https://quay.io/x", "scheme"),
            ("quay.io/x y", "spaces"),
            ("quay.io/x@sha256:zz", "digest"),
            ("quay.io/x@", "digest"),
            ("quay.io/X/y", "lowercase"),
            ("quay.io/x:", "tag"),
            ("quay.io/x:-a", "tag"),
            ("quay.io//x", "lowercase"),
            ("bad_host.io:5000/x", "registry"),
            ("quay.io:99999999/x", "registry"),
        ] {
            let e = Reference::parse(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn a_mirror_keeps_the_path_and_the_digest() {
        let m = Mirror::parse("mirror.example.com:5000/air/gap/").unwrap();
        assert_eq!(m.to_string(), "mirror.example.com:5000/air/gap");
        let r = Reference::parse(&format!("quay.io/ditto/big-peer-store:1.59.0@{D}")).unwrap();
        assert_eq!(
            r.in_mirror(&m).to_string(),
            format!("mirror.example.com:5000/air/gap/ditto/big-peer-store@{D}")
        );
        let tagged = Reference::parse("busybox:1.36").unwrap();
        assert_eq!(
            tagged
                .in_mirror(&Mirror::parse("localhost:5001").unwrap())
                .to_string(),
            "localhost:5001/library/busybox:1.36"
        );
        for bad in [
            "https://m.example.com",
            "mirror",
            "m.example.com/UP",
            "m.example.com//x",
            "",
        ] {
            assert!(Mirror::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_and_display_round_trip_and_mirroring_keeps_digests(
            host in "(([a-z][a-z0-9]{0,8}\\.[a-z]{2,4})|localhost)(:[0-9]{2,5})?",
            repo in "[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?(/[a-z0-9]{1,6}){0,3}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            hex in proptest::option::of("[a-f0-9]{64}"),
            mirror in "[a-z]{1,6}\\.[a-z]{2,3}(:[0-9]{2,5})?(/[a-z0-9]{1,5}){0,2}",
        ) {
            let mut s = format!("{host}/{repo}");
            if let Some(t) = &tag { s.push(':'); s.push_str(t); }
            if let Some(h) = &hex { s.push_str("@sha256:"); s.push_str(h); }
            let r = Reference::parse(&s).unwrap();
            prop_assert_eq!(r.to_string(), s.clone());
            prop_assert_eq!(r.name(), format!("{host}/{repo}"));
            let m = Mirror::parse(&mirror).unwrap();
            let mirrored = r.in_mirror(&m);
            prop_assert_eq!(&mirrored.digest, &r.digest);
            prop_assert_eq!(mirrored.name(), format!("{mirror}/{repo}"));
            // What the mirror holds parses back to itself.
            prop_assert_eq!(Reference::parse(&mirrored.to_string()).unwrap(), mirrored.clone());
            if hex.is_none() {
                prop_assert_eq!(mirrored.tag, tag);
            } else {
                let suffix = format!("@sha256:{}", hex.unwrap());
                prop_assert!(mirrored.to_string().ends_with(&suffix));
            }
        }
    }
}
