//! What the Big Peer servers get of apps and API keys: the Secret `<bp>-access`, owned by the
//! BigPeer, mounted as a whole directory at [`paths::ACCESS`](super::paths::ACCESS) in the
//! subscription and api pods. It holds two files:
//!
//! - `apps.yaml`: the providers set on the BigPeer (`sharedProviders`, for every app), and each
//!   app with its ID and its own providers (an anonymous provider with its shared token);
//! - `api-keys.yaml`: one entry per key hash the servers must accept (a key's previous hash
//!   during a grace period is an entry of its own), each with its `notAfter`. Entries past it
//!   are left out.
//! - `data-bridges.yaml`: the Kafka data bridges (change data capture) of the apps served:
//!   name, app ID, topic, sources and stream type.
//!
//! Its content is not part of the pods' configuration hash: the kubelet updates the mounted
//! files in place (within about a minute), so no app or key ever changes a pod template. The
//! servers must enforce `notAfter` themselves. This module is the one place that decides the
//! format; `docs/access-contract.md` is generated from it ([`contract_example`]).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use super::apikey::{Hashes, timestamp};
use super::{labels, names, paths};
use crate::access::key::HashRecord;
use crate::api::{BigPeer, Permissions};

/// The apps file.
pub const APPS_FILE: &str = "apps.yaml";
/// The API keys file.
pub const KEYS_FILE: &str = "api-keys.yaml";
/// The format version of both files.
pub const VERSION: u32 = 1;
/// The Kafka data bridges file.
pub const BRIDGES_FILE: &str = "data-bridges.yaml";

/// The providers set on the BigPeer, which apply to every app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedProviders {
    /// The BigPeer's anonymous provider: its shared token is a file the pods mount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<SharedAnonymous>,
    /// The BigPeer's token webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_webhook: Option<Webhook>,
}

/// The BigPeer's anonymous provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedAnonymous {
    /// Path of the file holding the shared token.
    pub shared_token_file: String,
}

/// A token webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Its HTTPS URL.
    pub url: String,
}

/// An app's own provider: exactly one of the two is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// Small peers log in with a shared token and get a fixed permission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<Anonymous>,
    /// A webhook checks each small peer's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_webhook: Option<Webhook>,
}

/// An app's anonymous provider.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Anonymous {
    /// What small peers logged in with it may read and write.
    pub permission: Permissions,
    /// Seconds a login lasts.
    pub session_length: i64,
    /// The shared token (read from the Secret the app names).
    pub shared_token: String,
}

impl Provider {
    /// An anonymous provider.
    pub fn anonymous(permission: Permissions, session_length: i64, shared_token: String) -> Self {
        Self {
            anonymous: Some(Anonymous {
                permission,
                session_length,
                shared_token,
            }),
            token_webhook: None,
        }
    }

    /// A token webhook provider.
    pub fn token_webhook(url: String) -> Self {
        Self {
            anonymous: None,
            token_webhook: Some(Webhook { url }),
        }
    }
}

/// An app as the servers get it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// The BigPeerApp's name.
    pub name: String,
    /// Its app ID.
    pub app_id: String,
    /// Its providers by name.
    pub providers: BTreeMap<String, Provider>,
}

/// An API key to render: its spec and what its Secret holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The app ID of the key's app.
    pub app_id: String,
    /// The BigPeerApiKey's name.
    pub name: String,
    /// `spec.expiresAt`: no generation of the key is accepted after it.
    pub expires_at: Timestamp,
    /// What the key may read and write.
    pub permissions: Permissions,
    /// The hashes of its Secret.
    pub hashes: Hashes,
}

/// A Kafka data bridge (change data capture) the servers produce to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataBridge {
    /// The BigPeerDataBridge's name.
    pub name: String,
    /// The app whose changes are streamed.
    pub app_id: String,
    /// The Kafka topic to produce to (on the transaction log's Kafka).
    pub topic: String,
    /// Which changes: each a collection and a DQL query; empty for every change of the app.
    pub sources: Vec<BridgeSource>,
    /// `untyped`, `typed` or `heartbeat`.
    pub stream_type: String,
}

/// One source of a data bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BridgeSource {
    /// The collection.
    pub collection: String,
    /// The DQL condition.
    pub query: String,
}

/// Everything the servers get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Access {
    /// The BigPeer's providers.
    pub shared: SharedProviders,
    /// The apps served (each once; an app whose ID another app took first is not among them).
    pub apps: Vec<App>,
    /// The keys of those apps.
    pub keys: Vec<Key>,
    /// The replications of those apps.
    pub replications: Vec<super::replication::access::Replication>,
    /// The Kafka data bridges of those apps.
    pub data_bridges: Vec<DataBridge>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppsFile<'a> {
    version: u32,
    shared_providers: &'a SharedProviders,
    apps: Vec<&'a App>,
}

/// One hash the servers accept, in `api-keys.yaml`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// The app the key gives access to.
    pub app_id: String,
    /// The BigPeerApiKey's name (a key in its grace period has two entries of that name).
    pub name: String,
    /// The fingerprint of the key this hash is of.
    pub fingerprint: String,
    /// The hash algorithm: `hmac-sha256`.
    pub algorithm: String,
    /// The salt, standard base64.
    pub salt: String,
    /// HMAC-SHA256 of the key under the salt, standard base64.
    pub hash: String,
    /// After this time (RFC 3339) the hash must no longer be accepted.
    pub not_after: String,
    /// What the key may read and write.
    pub permissions: Permissions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BridgesFile<'a> {
    version: u32,
    data_bridges: Vec<&'a DataBridge>,
}

#[derive(Serialize)]
struct KeysFile {
    version: u32,
    keys: Vec<KeyEntry>,
}

/// The two files, and when the next entry in them expires.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// `apps.yaml`.
    pub apps: String,
    /// `api-keys.yaml`.
    pub keys: String,
    /// `data-bridges.yaml`.
    pub data_bridges: String,
    /// The earliest `notAfter` of the entries rendered: the files must be rendered again then.
    pub next_expiry: Option<Timestamp>,
    /// `replications.yaml` and the replications' trust bundles.
    pub replications: super::replication::access::Rendered,
}

/// The providers set on the BigPeer, as the servers get them.
pub fn shared(bp: &BigPeer) -> SharedProviders {
    let p = &bp.spec.auth.providers;
    SharedProviders {
        anonymous: p.anonymous.as_ref().map(|a| SharedAnonymous {
            shared_token_file: format!(
                "{}/{}",
                paths::ANONYMOUS_TOKEN,
                a.shared_token_secret_ref.key
            ),
        }),
        token_webhook: p
            .token_webhook
            .as_ref()
            .map(|w| Webhook { url: w.url.clone() }),
    }
}

fn entry(key: &Key, fingerprint: &str, hash: &HashRecord, not_after: Timestamp) -> KeyEntry {
    KeyEntry {
        app_id: key.app_id.clone(),
        name: key.name.clone(),
        fingerprint: fingerprint.to_string(),
        algorithm: hash.algorithm.clone(),
        salt: hash.salt.clone(),
        hash: hash.hash.clone(),
        not_after: timestamp(not_after),
        permissions: key.permissions.clone(),
    }
}

/// The hashes of `keys` the servers must accept at `now`, each with its `notAfter`: a key's
/// current hash until `expiresAt`, its previous one until the end of its grace period (and
/// never after `expiresAt`). Ordered by key name, the current hash first.
pub fn entries(keys: &[Key], now: Timestamp) -> Vec<(KeyEntry, Timestamp)> {
    let mut sorted: Vec<&Key> = keys.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.app_id).cmp(&(&b.name, &b.app_id)));
    let mut out = vec![];
    for k in sorted {
        let h = &k.hashes;
        if k.expires_at > now {
            out.push((
                entry(k, &h.fingerprint, &h.hash, k.expires_at),
                k.expires_at,
            ));
        }
        if let Some(p) = &h.previous {
            let until = p.valid_until.min(k.expires_at);
            if until > now {
                out.push((entry(k, &p.fingerprint, &p.hash, until), until));
            }
        }
    }
    out
}

/// Render both files at `now`.
pub fn render(access: &Access, now: Timestamp) -> Rendered {
    let mut apps: Vec<&App> = access.apps.iter().collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    let apps = serde_yaml_ng::to_string(&AppsFile {
        version: VERSION,
        shared_providers: &access.shared,
        apps,
    })
    .expect("apps.yaml serializes");
    let entries = entries(&access.keys, now);
    let next_expiry = entries.iter().map(|(_, t)| *t).min();
    let keys = serde_yaml_ng::to_string(&KeysFile {
        version: VERSION,
        keys: entries.into_iter().map(|(e, _)| e).collect(),
    })
    .expect("api-keys.yaml serializes");
    let mut bridges: Vec<&DataBridge> = access.data_bridges.iter().collect();
    bridges.sort_by(|a, b| a.name.cmp(&b.name));
    let data_bridges = serde_yaml_ng::to_string(&BridgesFile {
        version: VERSION,
        data_bridges: bridges,
    })
    .expect("data-bridges.yaml serializes");
    Rendered {
        apps,
        keys,
        data_bridges,
        next_expiry,
        replications: super::replication::access::render(&access.replications),
    }
}

/// The Secret `<bp>-access` holding `rendered`.
pub fn secret(bp: &BigPeer, rendered: &Rendered) -> Secret {
    let replications = &rendered.replications;
    let mut data = BTreeMap::from([(
        super::replication::access::FILE.to_string(),
        ByteString(replications.file.clone().into_bytes()),
    )]);
    for (key, pem) in &replications.cas {
        data.insert(key.clone(), ByteString(pem.clone().into_bytes()));
    }
    let mut s = Secret {
        metadata: labels::meta(bp, names::access(&bp.name_any()), "access"),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (
                APPS_FILE.to_string(),
                ByteString(rendered.apps.clone().into_bytes()),
            ),
            (
                KEYS_FILE.to_string(),
                ByteString(rendered.keys.clone().into_bytes()),
            ),
            (
                BRIDGES_FILE.to_string(),
                ByteString(rendered.data_bridges.clone().into_bytes()),
            ),
        ])),
        ..Default::default()
    };
    s.data.get_or_insert_with(BTreeMap::new).extend(data);
    s
}

/// The example CA certificate of the contract page (a throwaway self-signed certificate, its
/// key discarded).
pub const EXAMPLE_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBnDCCAUGgAwIBAgIUVcaJtGzwRyv+u7mdvOyBfXW5PHYwCgYIKoZIzj0EAwIw\nIjEgMB4GA1UEAwwXYmlncGVlci1ldSBDQSAoZXhhbXBsZSkwIBcNMjYxMTMwMTEw\nMDU0WhgPMjEyNjExMDYxMTAwNTRaMCIxIDAeBgNVBAMMF2JpZ3BlZXItZXUgQ0Eg\nKGV4YW1wbGUpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAED+HFpFMKVNOxNZ27\nrpWxNNcT9UgU6AgpObEpwcxsQNJkcuIQ5mxH3mL+N9JlToRkNADemHR0htGdIP98\n1OCgpaNTMFEwHQYDVR0OBBYEFPp2+ND/pssdeTQDPKZN3nMIy6KMMB8GA1UdIwQY\nMBaAFPp2+ND/pssdeTQDPKZN3nMIy6KMMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI\nzj0EAwIDSQAwRgIhANulqwrjcVrfwYUeCqDbuaKPGtc/EaZqxwdj2diTCd7yAiEA\n3bePY2R3gvw6saLclrmRVQUKAkDukmH2EOq8MnhHBzE=\n-----END CERTIFICATE-----\n";

/// The example of the contract page: a BigPeer with both shared providers, two apps and a key
/// in its grace period, rendered at 2026-06-01T00:00:00Z. Salts and hashes are those of the
/// keys `bpk_example-current` and `bpk_example-previous` (never real keys).
pub fn contract_example() -> (Access, Timestamp) {
    use crate::api::PermissionRules;
    let now = Timestamp::from_second(1_780_272_000).expect("a valid time");
    let app_id = "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11".to_string();
    let current = "bpk_example-current";
    let previous = "bpk_example-previous";
    let everything = PermissionRules {
        everything: true,
        queries_by_collection: BTreeMap::new(),
    };
    let cars = PermissionRules {
        everything: false,
        queries_by_collection: BTreeMap::from([("cars".to_string(), vec!["true".to_string()])]),
    };
    let data_bridges = vec![DataBridge {
        name: "completed-orders".into(),
        app_id: app_id.clone(),
        topic: "prod-bigpeer-cdc-completed-orders".into(),
        sources: vec![BridgeSource {
            collection: "orders".into(),
            query: "status = 'completed'".into(),
        }],
        stream_type: "untyped".into(),
    }];
    let access = Access {
        data_bridges,
        shared: SharedProviders {
            anonymous: Some(SharedAnonymous {
                shared_token_file: format!("{}/token", paths::ANONYMOUS_TOKEN),
            }),
            token_webhook: Some(Webhook {
                url: "https://auth.example.com/ditto".into(),
            }),
        },
        apps: vec![
            App {
                name: "fleet".into(),
                app_id: app_id.clone(),
                providers: BTreeMap::from([
                    (
                        "__playgroundProvider".to_string(),
                        Provider::anonymous(
                            Permissions {
                                read: everything.clone(),
                                write: cars.clone(),
                                remote_query: false,
                                ql_version: 1,
                            },
                            604_800,
                            "example-shared-token".into(),
                        ),
                    ),
                    (
                        "corp".to_string(),
                        Provider::token_webhook("https://sso.example.com/ditto".into()),
                    ),
                ]),
            },
            App {
                name: "inventory".into(),
                app_id: "0b6f2a3e-6c49-4c7e-9d0c-3f4d7e9a1b20".into(),
                providers: BTreeMap::new(),
            },
        ],
        replications: vec![super::replication::access::Replication {
            name: "fleet-eu".into(),
            app_id: app_id.clone(),
            connections: vec!["fleet-eu-replication.bigpeer-eu.svc:4040".into()],
            queries_by_collection: BTreeMap::from([("cars".to_string(), vec!["true".to_string()])]),
            trusted: super::replication::trust::parse(EXAMPLE_CA).certificates,
        }],
        keys: vec![Key {
            app_id,
            name: "fleet-backend".into(),
            expires_at: Timestamp::from_second(1_798_761_600).expect("a valid time"),
            permissions: Permissions {
                read: everything,
                write: cars,
                remote_query: false,
                ql_version: 1,
            },
            hashes: Hashes {
                fingerprint: crate::access::key::fingerprint(current),
                hash: HashRecord::with_salt(current, b"example-salt-one"),
                previous: Some(super::apikey::Previous {
                    hash: HashRecord::with_salt(previous, b"example-salt-two"),
                    fingerprint: crate::access::key::fingerprint(previous),
                    valid_until: Timestamp::from_second(1_780_358_400).expect("a valid time"),
                }),
            },
        }],
    };
    (access, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::key::PlainKey;
    use crate::api::PermissionRules;
    use crate::build::apikey::Previous;
    use proptest::prelude::*;
    use serde_json::Value;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn parse(yaml: &str) -> Value {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_example_renders_both_generations_of_a_key_in_its_grace_period() {
        let (access, now) = contract_example();
        let r = render(&access, now);
        let keys = parse(&r.keys);
        assert_eq!(keys["version"], 1);
        let entries = keys["keys"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["notAfter"], "2027-01-01T00:00:00Z");
        assert_eq!(entries[1]["notAfter"], "2026-06-02T00:00:00Z");
        assert!(
            HashRecord {
                algorithm: entries[1]["algorithm"].as_str().unwrap().into(),
                salt: entries[1]["salt"].as_str().unwrap().into(),
                hash: entries[1]["hash"].as_str().unwrap().into(),
            }
            .verify("bpk_example-previous")
        );
        assert_eq!(r.next_expiry, Some(t(1_780_358_400)));
        let apps = parse(&r.apps);
        assert_eq!(
            apps["sharedProviders"]["anonymous"]["sharedTokenFile"],
            "/etc/bigpeer/auth/anonymous/token"
        );
        assert_eq!(
            apps["apps"][0]["providers"]["__playgroundProvider"]["anonymous"]["sharedToken"],
            "example-shared-token"
        );
        assert_eq!(
            apps["apps"][0]["providers"]["corp"]["tokenWebhook"]["url"],
            "https://sso.example.com/ditto"
        );
        assert_eq!(apps["apps"][1]["providers"], serde_json::json!({}));
    }

    #[test]
    fn the_secret_belongs_to_the_bigpeer() {
        let bp = crate::testing::sample();
        let s = secret(&bp, &render(&Access::default(), t(0)));
        assert_eq!(s.metadata.name.as_deref(), Some("prod-access"));
        assert_eq!(
            s.metadata.owner_references.unwrap()[0].uid,
            bp.metadata.uid.unwrap()
        );
        let data = s.data.unwrap();
        assert_eq!(
            String::from_utf8(data[APPS_FILE].0.clone()).unwrap(),
            "version: 1\nsharedProviders: {}\napps: []\n"
        );
        assert_eq!(
            String::from_utf8(data[KEYS_FILE].0.clone()).unwrap(),
            "version: 1\nkeys: []\n"
        );
        assert_eq!(
            String::from_utf8(data[BRIDGES_FILE].0.clone()).unwrap(),
            "version: 1\ndataBridges: []\n"
        );
    }

    #[test]
    fn data_bridges_are_rendered_in_name_order() {
        let b = |name: &str| DataBridge {
            name: name.into(),
            app_id: "id".into(),
            topic: format!("prod-ns-cdc-{name}"),
            sources: vec![],
            stream_type: "typed".into(),
        };
        let access = Access {
            data_bridges: vec![b("zeta"), b("alpha")],
            ..Default::default()
        };
        let doc = parse(&render(&access, t(0)).data_bridges);
        assert_eq!(doc["dataBridges"][0]["name"], "alpha");
        assert_eq!(doc["dataBridges"][1]["topic"], "prod-ns-cdc-zeta");
        assert_eq!(doc["dataBridges"][1]["streamType"], "typed");
        assert_eq!(doc["dataBridges"][0]["appId"], "id");
        let (example, now) = contract_example();
        let r = render(&example, now);
        assert!(
            r.data_bridges.contains("query: status = 'completed'"),
            "{}",
            r.data_bridges
        );
    }

    #[test]
    fn the_shared_providers_come_from_the_bigpeer() {
        let mut bp = crate::testing::sample();
        bp.spec.auth.providers.anonymous = Some(crate::api::AnonymousProvider {
            shared_token_secret_ref: crate::api::SecretKeyRef {
                name: "anon".into(),
                key: "shared".into(),
            },
        });
        let s = shared(&bp);
        assert_eq!(
            s.anonymous.unwrap().shared_token_file,
            "/etc/bigpeer/auth/anonymous/shared"
        );
        assert_eq!(
            s.token_webhook.map(|w| w.url),
            bp.spec.auth.providers.token_webhook.map(|w| w.url)
        );
    }

    fn key_strategy() -> impl Strategy<Value = (Key, PlainKey, Option<PlainKey>)> {
        (
            "[a-z][a-z0-9-]{0,10}",
            0i64..1000,
            proptest::option::of(0i64..1000),
            any::<[u8; 16]>(),
            any::<bool>(),
        )
            .prop_map(|(name, expires, previous_until, salt, remote)| {
                let current = PlainKey::from_string(format!("bpk_{name}_{}", salt[0]));
                let old = PlainKey::from_string(format!("bpk_{name}_old_{}", salt[1]));
                let key = Key {
                    app_id: "3f5f9b51-7c1a-4c3b-9a57-8b2c9e0f5d11".into(),
                    name,
                    expires_at: t(expires),
                    permissions: Permissions {
                        read: PermissionRules {
                            everything: true,
                            ..Default::default()
                        },
                        remote_query: remote,
                        ..Default::default()
                    },
                    hashes: Hashes {
                        fingerprint: current.fingerprint(),
                        hash: HashRecord::with_salt(current.expose(), &salt),
                        previous: previous_until.map(|u| Previous {
                            hash: HashRecord::with_salt(old.expose(), &salt),
                            fingerprint: old.fingerprint(),
                            valid_until: t(u),
                        }),
                    },
                };
                let old = key.hashes.previous.as_ref().map(|_| old);
                (key, current, old)
            })
    }

    proptest! {
        /// Every entry is accepted until its notAfter and only then; a previous hash never
        /// outlives the key; the next expiry is the earliest notAfter; no plaintext key is
        /// ever in the files; rendering is deterministic whatever the order of the keys.
        #[test]
        fn entries_follow_expiry_and_grace(keys in proptest::collection::vec(key_strategy(), 0..6), now in 0i64..1000) {
            let mut unique = std::collections::BTreeSet::new();
            let keys: Vec<_> = keys.into_iter().filter(|(k, _, _)| unique.insert(k.name.clone())).collect();
            let access = Access {
                keys: keys.iter().map(|(k, _, _)| k.clone()).collect(),
                ..Default::default()
            };
            let r = render(&access, t(now));
            for (_, current, old) in &keys {
                prop_assert!(!r.keys.contains(current.expose()));
                if let Some(o) = old { prop_assert!(!r.keys.contains(o.expose())); }
            }
            let doc = parse(&r.keys);
            let rendered = doc["keys"].as_array().unwrap();
            let mut not_afters = vec![];
            for (k, current, old) in &keys {
                let of = |fp: &str| rendered.iter().find(|e| e["name"] == k.name.as_str() && e["fingerprint"] == fp).cloned();
                let cur = of(&current.fingerprint());
                prop_assert_eq!(cur.is_some(), k.expires_at > t(now));
                if let Some(e) = cur {
                    prop_assert_eq!(e["notAfter"].as_str().unwrap(), timestamp(k.expires_at));
                    prop_assert_eq!(&e["permissions"]["remoteQuery"], &Value::Bool(k.permissions.remote_query));
                    not_afters.push(k.expires_at);
                }
                if let (Some(o), Some(p)) = (old, &k.hashes.previous) {
                    let until = p.valid_until.min(k.expires_at);
                    let prev = of(&o.fingerprint());
                    prop_assert_eq!(prev.is_some(), until > t(now));
                    if let Some(e) = prev {
                        let na: Timestamp = e["notAfter"].as_str().unwrap().parse().unwrap();
                        prop_assert!(na <= k.expires_at && na <= p.valid_until);
                        let record = HashRecord {
                            algorithm: e["algorithm"].as_str().unwrap().into(),
                            salt: e["salt"].as_str().unwrap().into(),
                            hash: e["hash"].as_str().unwrap().into(),
                        };
                        prop_assert!(record.verify(o.expose()));
                        prop_assert!(!record.verify(current.expose()));
                        not_afters.push(until);
                    }
                }
            }
            prop_assert_eq!(rendered.len(), not_afters.len());
            prop_assert_eq!(r.next_expiry, not_afters.iter().min().copied());
            prop_assert!(r.next_expiry.is_none_or(|n| n > t(now)));
            let mut reversed = access.clone();
            reversed.keys.reverse();
            prop_assert_eq!(render(&reversed, t(now)), r);
        }

        /// Apps come out sorted by name with their IDs and providers, whatever their order.
        #[test]
        fn apps_are_rendered_in_name_order(names in proptest::collection::btree_set("[a-z][a-z0-9-]{0,10}", 0..6), token in "[A-Za-z0-9]{1,20}") {
            let mut apps: Vec<App> = names.iter().map(|n| App {
                name: n.clone(),
                app_id: format!("id-{n}"),
                providers: BTreeMap::from([("p".to_string(), Provider::anonymous(Permissions::default(), 60, token.clone()))]),
            }).collect();
            apps.reverse();
            let r = render(&Access { apps, ..Default::default() }, t(0));
            let doc = parse(&r.apps);
            let listed: Vec<&str> = doc["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
            prop_assert_eq!(listed, names.iter().map(String::as_str).collect::<Vec<_>>());
            for a in doc["apps"].as_array().unwrap() {
                prop_assert_eq!(a["appId"].as_str().unwrap(), format!("id-{}", a["name"].as_str().unwrap()));
                prop_assert_eq!(a["providers"]["p"]["anonymous"]["sharedToken"].as_str().unwrap(), token.as_str());
                prop_assert_eq!(&a["providers"]["p"]["anonymous"]["sessionLength"], &serde_json::json!(60));
            }
        }
    }
}
