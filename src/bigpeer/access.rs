//! The servers' access configuration of one BigPeer: observe its apps, their keys and their
//! replications (from the watch caches), read the shared tokens its apps name and the
//! certificates its replications trust, and build `<bp>-access` ([`crate::build::access`]).
//! Thin; which apps are served is [`crate::decide::app::served`].

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::api::{BigPeer, BigPeerApp, BigPeerDataBridge};
use crate::build::access::{self, Access, App, BridgeSource, DataBridge, Key, Provider};
use crate::build::{DesiredObject, apikey, bridge, names};
use crate::controller::Context;
use crate::controller::cache::Reader;
use crate::controller::error::Result;
use crate::decide::app::served;

/// An app as the servers get it: its providers, an anonymous one only when its shared token
/// exists.
async fn app(ctx: &Context, reader: &Reader<'_>, ns: &str, a: &BigPeerApp) -> Result<App> {
    let mut providers = std::collections::BTreeMap::new();
    for (name, p) in &a.spec.auth_providers {
        if let Some(w) = &p.token_webhook {
            providers.insert(name.clone(), Provider::token_webhook(w.url.clone()));
        }
        if let Some(anon) = &p.anonymous {
            let r = &anon.shared_token_secret_ref;
            if let Some(token) = reader
                .secret_value(&ctx.secret_data, ns, &r.name, &r.key)
                .await?
            {
                providers.insert(
                    name.clone(),
                    Provider::anonymous(anon.permission.clone(), anon.session_length, token),
                );
            }
        }
    }
    Ok(App {
        name: a.name_any(),
        app_id: a.spec.app_id.clone().unwrap_or_default(),
        providers,
    })
}

/// A Kafka bridge as the servers get it (none for a MongoDB bridge, one being deleted, or one
/// on an external Kafka without `kafka.external`).
fn data_bridge(bp: &BigPeer, b: &BigPeerDataBridge, app_id: &str) -> Option<DataBridge> {
    let k = b.spec.kafka.as_ref()?;
    if b.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let topic = if bp.spec.transaction_log.strimzi.is_some() {
        bridge::topic(
            &bp.name_any(),
            &bp.namespace().unwrap_or_default(),
            &b.name_any(),
        )
    } else {
        k.external.as_ref()?.topic.clone()
    };
    Some(DataBridge {
        name: b.name_any(),
        app_id: app_id.to_string(),
        topic,
        sources: k
            .source
            .iter()
            .map(|s| BridgeSource {
                collection: s.collection.clone(),
                query: s.query.clone(),
            })
            .collect(),
        stream_type: k.stream_type.as_str().to_string(),
    })
}

/// What the servers of `bp` get at `now`: its shared providers, the apps it serves, their
/// keys whose Secret the key owns, and their Kafka data bridges.
pub async fn observe(ctx: &Context, reader: &Reader<'_>, bp: &BigPeer) -> Result<Access> {
    let ns = bp.namespace().unwrap_or_default();
    let name = bp.name_any();
    let apps = reader.apps(&ns, Some(&name)).await?;
    let refs: Vec<&BigPeerApp> = apps.iter().collect();
    let mut access = Access {
        shared: access::shared(bp),
        ..Default::default()
    };
    for a in served(&name, &refs) {
        let app_id = a.spec.app_id.clone().unwrap_or_default();
        for k in reader.api_keys(&ns, Some(&a.name_any())).await? {
            let secret = reader
                .key_secret(&ns, &names::api_key_secret(&k.name_any()))
                .await?;
            let Some(secret) =
                secret.filter(|s| k.uid().is_some_and(|uid| apikey::owners(s).contains(&uid)))
            else {
                continue;
            };
            if let Some(hashes) = apikey::hashes(&secret) {
                access.keys.push(Key {
                    app_id: app_id.clone(),
                    name: k.name_any(),
                    expires_at: k.spec.expires_at.0,
                    permissions: k.spec.permissions.clone(),
                    hashes,
                });
            }
        }
        for r in reader.replications(&ns, Some(&a.name_any())).await? {
            let mut parsed = vec![];
            for t in &r.spec.trusted_cas {
                if let Some(p) = crate::replications::read_trusted(ctx, reader, &ns, t)
                    .await?
                    .found
                {
                    parsed.push(p);
                }
            }
            access
                .replications
                .push(crate::build::replication::access::Replication {
                    name: r.name_any(),
                    app_id: app_id.clone(),
                    connections: r.spec.connections.clone(),
                    queries_by_collection: r.spec.queries_by_collection.clone(),
                    trusted: crate::build::replication::trust::bundle(&parsed),
                });
        }
        for b in reader.data_bridges(&ns, Some(&a.name_any())).await? {
            if let Some(d) = data_bridge(bp, &b, &app_id) {
                access.data_bridges.push(d);
            }
        }
        access.apps.push(app(ctx, reader, &ns, a).await?);
    }
    Ok(access)
}

/// `<bp>-access` at `now`, and when it must be rendered again (its next entry to expire).
pub async fn desired(
    ctx: &Context,
    reader: &Reader<'_>,
    bp: &BigPeer,
    now: Timestamp,
) -> Result<(DesiredObject, Option<Timestamp>)> {
    let rendered = access::render(&observe(ctx, reader, bp).await?, now);
    Ok((
        DesiredObject::typed(&access::secret(bp, &rendered)),
        rendered.next_expiry,
    ))
}
