//! CRD schema compatibility between releases: the fields a new CRD removes or retypes compared
//! with the previous release's (`releases/<previous>/bundle/manifests/`), and the check that
//! `CHANGELOG.md` names each such field under a "Breaking", "Removed" or "Changed" heading.
//! Pure: schemas in, changes out.

use serde_json::Value;

/// A field of the previous schema that the new one breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A whole served version of the CRD is gone (`smbp.io/v1alpha1 BigPeer`).
    VersionRemoved { kind: String, version: String },
    /// The field is gone (`BigPeer v1alpha1 .spec.foo`).
    Removed { path: String },
    /// The field's type changed.
    Retyped {
        path: String,
        from: String,
        to: String,
    },
}

impl Change {
    /// The field path a CHANGELOG note must name (`.spec.store.replicas`), or the version.
    pub fn path(&self) -> &str {
        match self {
            Change::VersionRemoved { version, .. } => version,
            Change::Removed { path } | Change::Retyped { path, .. } => path,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::VersionRemoved { kind, version } => {
                write!(f, "{kind}: version {version} is no longer served")
            }
            Change::Removed { path } => write!(f, "{path} was removed"),
            Change::Retyped { path, from, to } => write!(f, "{path} changed type {from} -> {to}"),
        }
    }
}

/// The type of a schema node, as the API server sees it (`string`, `integer`, `object`,
/// `int-or-string`, `preserve-unknown-fields`...).
fn type_of(s: &Value) -> String {
    if s["x-kubernetes-int-or-string"] == true {
        return "int-or-string".into();
    }
    match s["type"].as_str() {
        Some(t) => t.into(),
        None if s["x-kubernetes-preserve-unknown-fields"] == true => {
            "preserve-unknown-fields".into()
        }
        None => "any".into(),
    }
}

/// Compares two structural schemas under `path` and appends what `new` breaks.
pub fn diff_schema(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let (to, from) = (type_of(new), type_of(old));
    if from != to {
        out.push(Change::Retyped {
            path: path.into(),
            from,
            to,
        });
        return;
    }
    if let Some(props) = old["properties"].as_object() {
        for (name, o) in props {
            let p = format!("{path}.{name}");
            match new["properties"].get(name) {
                Some(n) => diff_schema(&p, o, n, out),
                None if new["x-kubernetes-preserve-unknown-fields"] == true => {}
                None => out.push(Change::Removed { path: p }),
            }
        }
    }
    if old["items"].is_object() {
        diff_schema(&format!("{path}[]"), &old["items"], &new["items"], out);
    }
    if old["additionalProperties"].is_object() && new["additionalProperties"].is_object() {
        diff_schema(
            &format!("{path}[*]"),
            &old["additionalProperties"],
            &new["additionalProperties"],
            out,
        );
    }
}

/// What `new` (a CustomResourceDefinition as JSON) breaks of `old` (the same CRD of the
/// previous release). Field paths start at the object root (`.spec...`).
pub fn diff_crd(old: &Value, new: &Value) -> Vec<Change> {
    let kind = old["spec"]["names"]["kind"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let mut out = vec![];
    for ov in old["spec"]["versions"].as_array().into_iter().flatten() {
        if ov["served"] == false {
            continue;
        }
        let name = ov["name"].as_str().unwrap_or_default();
        let nv = new["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == name && v["served"] != false);
        match nv {
            None => out.push(Change::VersionRemoved {
                kind: kind.clone(),
                version: name.into(),
            }),
            Some(nv) => diff_schema(
                "",
                &ov["schema"]["openAPIV3Schema"],
                &nv["schema"]["openAPIV3Schema"],
                &mut out,
            ),
        }
    }
    out
}

/// The changes no note in `changelog` covers: a note is a line, under a heading containing
/// "Breaking", "Removed" or "Changed", that names the field path (in backticks or not).
pub fn undocumented<'a>(changes: &'a [Change], changelog: &str) -> Vec<&'a Change> {
    let mut noted = String::new();
    let mut inside = false;
    for line in changelog.lines() {
        if line.starts_with('#') {
            inside = ["Breaking", "Removed", "Changed"]
                .iter()
                .any(|h| line.contains(h));
            continue;
        }
        if inside {
            noted.push_str(line);
            noted.push('\n');
        }
    }
    changes
        .iter()
        .filter(|c| {
            let p = c.path();
            let bare = p.trim_start_matches('.');
            !(noted.contains(p) || noted.contains(bare))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(schema: Value) -> Value {
        json!({"spec": {"names": {"kind": "BigPeer"}, "versions": [
            {"name": "v1alpha1", "served": true, "schema": {"openAPIV3Schema": schema}}]}})
    }

    fn obj(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn added_fields_are_compatible() {
        let old = crd(obj(json!({"spec": obj(json!({"a": {"type": "string"}}))})));
        let new = crd(obj(json!({"spec": obj(json!({
            "a": {"type": "string"}, "b": {"type": "integer"}}))})));
        assert!(diff_crd(&old, &new).is_empty());
    }

    #[test]
    fn removed_and_retyped_fields_are_found_at_any_depth() {
        let old = crd(obj(json!({"spec": obj(json!({
            "a": {"type": "string"},
            "list": {"type": "array", "items": obj(json!({"x": {"type": "integer"}}))},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "q": {"x-kubernetes-int-or-string": true},
        }))})));
        let new = crd(obj(json!({"spec": obj(json!({
            "list": {"type": "array", "items": obj(json!({"x": {"type": "string"}}))},
            "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            "q": {"type": "string"},
        }))})));
        let d = diff_crd(&old, &new);
        assert_eq!(
            d,
            vec![
                Change::Removed {
                    path: ".spec.a".into()
                },
                Change::Retyped {
                    path: ".spec.list[].x".into(),
                    from: "integer".into(),
                    to: "string".into()
                },
                Change::Retyped {
                    path: ".spec.map[*]".into(),
                    from: "string".into(),
                    to: "integer".into()
                },
                Change::Retyped {
                    path: ".spec.q".into(),
                    from: "int-or-string".into(),
                    to: "string".into()
                },
            ]
        );
    }

    #[test]
    fn a_removed_version_is_a_change_and_an_unserved_one_is_not() {
        let old = crd(obj(json!({})));
        let mut new = old.clone();
        new["spec"]["versions"][0]["name"] = json!("v1beta1");
        assert_eq!(
            diff_crd(&old, &new),
            vec![Change::VersionRemoved {
                kind: "BigPeer".into(),
                version: "v1alpha1".into()
            }]
        );
        let mut unserved = old.clone();
        unserved["spec"]["versions"][0]["served"] = json!(false);
        assert!(diff_crd(&unserved, &new).is_empty());
    }

    #[test]
    fn a_field_under_preserve_unknown_fields_may_go() {
        let old = crd(obj(json!({"spec": obj(json!({"a": {"type": "string"}}))})));
        let new = crd(obj(json!({"spec": {"type": "object",
            "x-kubernetes-preserve-unknown-fields": true}})));
        assert!(diff_crd(&old, &new).is_empty());
    }

    #[test]
    fn only_notes_under_breaking_removed_or_changed_headings_count() {
        let changes = vec![
            Change::Removed {
                path: ".spec.a".into(),
            },
            Change::Removed {
                path: ".spec.b".into(),
            },
        ];
        let log = "# Changelog\n## [0.2.0]\n### Added\n- `spec.b` is new\n### Removed\n- `spec.a`: use x\n";
        let left = undocumented(&changes, log);
        assert_eq!(left, vec![&changes[1]]);
        let log = format!("{log}### Breaking\n- .spec.b went\n");
        assert!(undocumented(&changes, &log).is_empty());
    }

    #[test]
    fn the_crds_keep_every_field_of_the_previous_release_or_the_changelog_says_so() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let releases =
            super::super::generate::released(root, env!("CARGO_PKG_VERSION")).expect("releases");
        let Some(previous) = releases.last() else {
            return;
        };
        let version = previous.csv["spec"]["version"]
            .as_str()
            .expect("the CSV has a version")
            .to_string();
        let dir = root.join(format!("releases/{version}/bundle/manifests"));
        let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("CHANGELOG.md");
        let current: Vec<Value> = super::super::crd::crds()
            .iter()
            .map(super::super::file::value)
            .collect();
        let mut compared = 0;
        for e in std::fs::read_dir(&dir).expect("the previous bundle") {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("file");
            let old: Value = serde_yaml_ng::from_str(&text).expect("YAML");
            if old["kind"] != "CustomResourceDefinition" {
                continue;
            }
            let name = &old["metadata"]["name"];
            let new = current
                .iter()
                .find(|c| &c["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("CRD {name} of {version} is gone"));
            let changes = diff_crd(&old, new);
            let left = undocumented(&changes, &changelog);
            assert!(
                left.is_empty(),
                "{name} breaks {version}'s schema; add a note naming each field under a \
                 Breaking/Removed/Changed heading of CHANGELOG.md:\n{}",
                left.iter().map(|c| format!("  {c}\n")).collect::<String>()
            );
            compared += 1;
        }
        assert!(compared > 0, "no CRD in {}", dir.display());
    }
}
