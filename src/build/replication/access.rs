//! What the Big Peer servers get of replications, in their `<bp>-access` Secret (see
//! [`crate::build::access`]): `replications.yaml`, one entry per replication of an app the
//! BigPeer serves, and per replication with trusted certificates the PEM file
//! `replication-<name>-ca.pem` (certificates only, see [`super::trust`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::trust::{self, Certificate};
use crate::build::paths;

/// The replications file.
pub const FILE: &str = "replications.yaml";
/// The format version of the file.
pub const VERSION: u32 = 1;

/// The key (file name) of a replication's trust bundle.
pub fn ca_file(replication: &str) -> String {
    format!("replication-{replication}-ca.pem")
}

/// A replication as the servers get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replication {
    /// The BigPeerReplication's name.
    pub name: String,
    /// Its app's ID.
    pub app_id: String,
    /// `host:port` of the other Big Peers to connect to.
    pub connections: Vec<String>,
    /// What this side subscribes to: per collection, DQL queries.
    pub queries_by_collection: BTreeMap<String, Vec<String>>,
    /// The certificates to trust for it (besides this BigPeer's own CA).
    pub trusted: Vec<Certificate>,
}

/// One entry of `replications.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The BigPeerReplication's name.
    pub name: String,
    /// The app ID whose documents are replicated.
    pub app_id: String,
    /// Where to connect, `host:port` (sorted).
    pub connections: Vec<String>,
    /// What to subscribe to.
    pub queries_by_collection: BTreeMap<String, Vec<String>>,
    /// Path of the PEM file with the certificates to trust for this replication, when it
    /// has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_ca_file: Option<String>,
}

#[derive(Serialize)]
struct File<'a> {
    version: u32,
    replications: &'a [Entry],
}

/// The file and the PEM files, by key of the Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// `replications.yaml`.
    pub file: String,
    /// `replication-<name>-ca.pem` -> PEM.
    pub cas: BTreeMap<String, String>,
}

/// Render `replications`, ordered by name whatever their order.
pub fn render(replications: &[Replication]) -> Rendered {
    let mut sorted: Vec<&Replication> = replications.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut cas = BTreeMap::new();
    let entries: Vec<Entry> = sorted
        .into_iter()
        .map(|r| {
            let key = ca_file(&r.name);
            let file = (!r.trusted.is_empty()).then(|| format!("{}/{key}", paths::ACCESS));
            if file.is_some() {
                cas.insert(key, trust::pem(&r.trusted));
            }
            let mut connections = r.connections.clone();
            connections.sort();
            connections.dedup();
            Entry {
                name: r.name.clone(),
                app_id: r.app_id.clone(),
                connections,
                queries_by_collection: r.queries_by_collection.clone(),
                trusted_ca_file: file,
            }
        })
        .collect();
    let file = serde_yaml_ng::to_string(&File {
        version: VERSION,
        replications: &entries,
    })
    .expect("replications.yaml serializes");
    Rendered { file, cas }
}

#[cfg(test)]
mod tests {
    use super::super::trust::{parse, tests::ca_pem};
    use super::*;
    use proptest::prelude::*;

    fn repl(name: &str, trusted: &[String]) -> Replication {
        Replication {
            name: name.into(),
            app_id: "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11".into(),
            connections: vec!["b.team-b.svc:4040".into(), "a.team-a.svc:4040".into()],
            queries_by_collection: BTreeMap::from([("cars".into(), vec!["true".into()])]),
            trusted: trusted.iter().flat_map(|p| parse(p).certificates).collect(),
        }
    }

    #[test]
    fn each_replication_names_its_trust_bundle() {
        let ca = ca_pem("other");
        let r = render(&[
            repl("orders", std::slice::from_ref(&ca)),
            repl("accept-only", &[]),
        ]);
        let doc: serde_json::Value = serde_yaml_ng::from_str(&r.file).unwrap();
        assert_eq!(doc["version"], 1);
        let list = doc["replications"].as_array().unwrap();
        assert_eq!(list[0]["name"], "accept-only");
        assert!(list[0].get("trustedCaFile").is_none());
        assert_eq!(list[1]["name"], "orders");
        assert_eq!(
            list[1]["trustedCaFile"],
            "/etc/bigpeer/access/replication-orders-ca.pem"
        );
        assert_eq!(
            list[1]["connections"],
            serde_json::json!(["a.team-a.svc:4040", "b.team-b.svc:4040"])
        );
        assert_eq!(list[1]["queriesByCollection"]["cars"][0], "true");
        assert_eq!(r.cas.len(), 1);
        assert_eq!(
            parse(&r.cas["replication-orders-ca.pem"]).certificates,
            parse(&ca).certificates
        );
        assert_eq!(render(&[]).file, "version: 1\nreplications: []\n");
    }

    proptest! {
        /// The rendering does not depend on the order replications are found in, and every
        /// PEM file is named by exactly one entry.
        #[test]
        fn order_does_not_matter(names in proptest::collection::btree_set("[a-z][a-z0-9-]{0,20}", 0..5), with_ca in any::<u8>()) {
            let ca = ca_pem("x");
            let reps: Vec<Replication> = names.iter().enumerate().map(|(i, n)| {
                repl(n, if with_ca >> (i % 8) & 1 == 1 { std::slice::from_ref(&ca) } else { &[] })
            }).collect();
            let mut reversed = reps.clone();
            reversed.reverse();
            let r = render(&reps);
            prop_assert_eq!(render(&reversed), r.clone());
            let doc: serde_json::Value = serde_yaml_ng::from_str(&r.file).unwrap();
            let mut files: Vec<String> = doc["replications"].as_array().unwrap().iter()
                .filter_map(|e| e["trustedCaFile"].as_str().map(|f| f.rsplit('/').next().unwrap().to_string()))
                .collect();
            files.sort();
            prop_assert_eq!(files, r.cas.keys().cloned().collect::<Vec<_>>());
        }
    }
}
