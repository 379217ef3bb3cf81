//! The corpus of invalid BigPeers, BigPeerApps and BigPeerApiKeys (`tests/corpus/invalid/*.yaml`,
//! format in `tests/corpus/README.md`), read for the unit and end-to-end tiers.

#![allow(dead_code)]

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

/// One invalid object.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique, kebab-case.
    pub name: String,
    /// `BigPeer` (when absent), `BigPeerApp` or `BigPeerApiKey`: whose sample `patch` applies to.
    #[serde(default)]
    pub kind: Option<String>,
    /// Merge patch onto the sample of the kind, applied at create.
    pub patch: Value,
    /// The field the refusal must name.
    pub field: String,
    /// Merge patch applied on top as an update, which must be refused (the create is accepted).
    #[serde(default)]
    pub update: Option<Value>,
    /// Merged into metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// The corpus directory.
pub fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/invalid"))
}

/// Every case, with the file it is in, in file order.
pub fn load() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("tests/corpus/invalid exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let cases: Vec<Case> =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        out.extend(cases.into_iter().map(|c| (name.clone(), c)));
    }
    out
}

/// The kinds a case may be of.
pub const KINDS: [&str; 5] = [
    "BigPeer",
    "BigPeerApp",
    "BigPeerApiKey",
    "BigPeerReplication",
    "BigPeerDataBridge",
];

impl Case {
    /// The kind of the object: `BigPeer` unless the case says otherwise.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("BigPeer")
    }

    /// The object applied at create, named `name` in `namespace` unless the case names it.
    pub fn created(&self, name: &str, namespace: &str) -> Value {
        let mut v = smbp_operator::testing::sample_of_with(self.kind(), &self.patch);
        v["metadata"]["name"] = Value::String(name.into());
        v["metadata"]["namespace"] = Value::String(namespace.into());
        if let Some(m) = &self.metadata {
            smbp_operator::testing::merge_patch(&mut v["metadata"], m);
        }
        v
    }

    /// The object applied as an update, for update cases.
    pub fn updated(&self, name: &str, namespace: &str) -> Option<Value> {
        let mut v = self.created(name, namespace);
        smbp_operator::testing::merge_patch(&mut v, self.update.as_ref()?);
        Some(v)
    }
}
