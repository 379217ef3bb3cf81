//! The BigPeerApiKey controller: a short pipeline over the shared machinery of
//! [`crate::controller`] and the pure [`crate::decide::apikey`] and [`crate::build::apikey`].
//!
//! observe (the key's app and Secret, from the watch caches) → decide (make, rotate or keep the
//! key, at this time) → write the Secret (`create` for the first key, an update with the
//! `resourceVersion` read for the others, nothing when its content is as it should be) → tell
//! (Events) → status (never the key or its hash) and the expiry metric → requeue at the next
//! deadline (rotation, end of a grace period, expiry). What the servers get of the key is the
//! BigPeer controller's ([`crate::bigpeer::access`]): a change of the key or its Secret wakes
//! the BigPeer.

use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use tracing::{debug, info, info_span};

use crate::api::conditions::ConditionType;
use crate::api::reason::Reason;
use crate::api::{BigPeerApiKey, BigPeerApp, ROTATE_ANNOTATION};
use crate::build::apikey::{self, Material, Owner};
use crate::build::names;
use crate::controller::cache::{Changes, Reader, Stores};
use crate::controller::error::{Context as _, Error, Result};
use crate::controller::events::{on_new_trouble, publish};
use crate::controller::{Context, reconcile as around, status as status_writer};
use crate::decide::apikey::{self as decide, AppState, KeyPlan, OsMint, Step};

/// Periodic resync of a key with nothing due sooner (free when nothing changed).
const IDLE: Duration = Duration::from_secs(300);
/// Retry soon after a write lost a race with a change the cache had not seen yet.
const RACE: Duration = Duration::from_secs(1);

/// Reconcile one key (entry point for the controller).
pub async fn reconcile(key: Arc<BigPeerApiKey>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!(
        "reconcile",
        bigpeerapikey = %around::key(key.as_ref()),
        generation = key.metadata.generation.unwrap_or_default(),
    );
    around::timed(&ctx, key.as_ref(), span, sync(&key, &ctx)).await
}

/// Retry with backoff (see [`crate::controller::backoff`]) and a `ReconcileFailed` Event.
pub fn error_policy(key: Arc<BigPeerApiKey>, err: &Error, ctx: Arc<Context>) -> Action {
    around::retry(key, err, &ctx)
}

/// The key's app as the key sees it, and who the key's Secret says it belongs to.
fn app_state(app: Option<&BigPeerApp>) -> AppState {
    let Some(app) = app else {
        return AppState::Missing;
    };
    let ready = app
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    match ready {
        // An app served without one of its providers still serves its keys.
        Some(c) if c.status == "True" || c.reason == Reason::SharedTokenSecretNotFound.as_str() => {
            AppState::Ready
        }
        Some(c) => AppState::NotReady(c.message.clone()),
        None => AppState::NotReady("it has not been reconciled yet".into()),
    }
}

/// The Secret as it should be: `existing` (when there is one) with `desired`'s data, type and
/// owner, and the operator's labels and annotations added (others' are kept).
fn merged(existing: Option<&Secret>, desired: Secret) -> Secret {
    let Some(existing) = existing else {
        return desired;
    };
    let mut s = existing.clone();
    s.data = desired.data;
    s.string_data = None;
    s.type_ = desired.type_;
    s.metadata
        .labels
        .get_or_insert_with(Default::default)
        .extend(desired.metadata.labels.unwrap_or_default());
    let annotations = s.metadata.annotations.get_or_insert_with(Default::default);
    annotations.remove(apikey::ROTATE_HANDLED);
    annotations.extend(desired.metadata.annotations.unwrap_or_default());
    s.metadata.managed_fields = None;
    s
}

/// What a write of the Secret did.
enum Wrote {
    /// Nothing to write, or written.
    Done(Box<Material>),
    /// Someone else made the Secret first (it is not the key's).
    InUse,
    /// A concurrent change (a stale cache): try again soon.
    Race,
}

async fn write_secret(
    api: &Api<Secret>,
    existing: Option<&Secret>,
    desired: Secret,
    plan: &KeyPlan,
    uid: &str,
) -> Result<Wrote> {
    let name = desired.name_any();
    let Some(existing) = existing else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Wrote::Done(Box::new(plan.material.clone()))),
            // Made by someone else since the cache was read: one key, never overwritten. If it
            // is the key's own (a race with this operator's earlier write), use it.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let found = api
                    .get_opt(&name)
                    .await
                    .ctx(|| format!("reading Secret {name}"))?;
                match found {
                    Some(s) if apikey::owners(&s).iter().any(|o| o == uid) => {
                        match material_of(&s) {
                            Some(m) => Ok(Wrote::Done(Box::new(m))),
                            None => Ok(Wrote::Race),
                        }
                    }
                    Some(_) => Ok(Wrote::InUse),
                    None => Ok(Wrote::Race),
                }
            }
            Err(e) => Err(Error::kube(format!("creating Secret {name}"), e)),
        };
    };
    let wanted = merged(Some(existing), desired);
    if wanted == *existing {
        return Ok(Wrote::Done(Box::new(plan.material.clone())));
    }
    match api.replace(&name, &PostParams::default(), &wanted).await {
        Ok(_) => Ok(Wrote::Done(Box::new(plan.material.clone()))),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Wrote::Race),
        Err(e) => Err(Error::kube(format!("updating Secret {name}"), e)),
    }
}

/// A Secret's key material, when it holds a usable key (for the status).
fn material_of(s: &Secret) -> Option<Material> {
    let p = apikey::parse(s);
    Some(Material {
        hash: p
            .hash
            .clone()
            .or_else(|| serde_json::from_slice(&s.data.as_ref()?.get(apikey::HASH)?.0).ok())?,
        key: p.key?,
        previous: p.previous,
        rotated_at: p.rotated_at.unwrap_or_else(Timestamp::now),
        rotate_handled: p.rotate_handled,
    })
}

async fn sync(key: &BigPeerApiKey, ctx: &Context) -> Result<Action> {
    let ns = key
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let uid = key.uid().ok_or(Error::MissingField("metadata.uid"))?;
    let name = key.name_any();
    let secret_name = names::api_key_secret(&name);
    let stores = ctx.caches.serving(&ns);
    let reader = match &stores {
        Some(s) => Reader::cached(&ctx.client, s),
        None => Reader::api(&ctx.client),
    };
    let app = reader.app(&ns, &key.spec.app_ref.name).await?;
    let state = app_state(app.as_ref());
    let secret = reader.key_secret(&ns, &secret_name).await?;
    let ours = secret.as_ref().filter(|s| apikey::owners(s).contains(&uid));
    let mut in_use = secret.is_some() && ours.is_none();
    let now = Timestamp::now();
    let rotate = key.annotations().get(ROTATE_ANNOTATION).map(String::as_str);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);

    // The key is made and rotated only for an app with an ID: its Secret records both.
    let owner = app.as_ref().and_then(|a| {
        Some(Owner {
            app: a.metadata.name.as_deref()?,
            app_id: a.spec.app_id.as_deref()?,
            big_peer: &a.spec.big_peer_ref.name,
        })
    });
    let mut material = ours.and_then(material_of);
    if let (Some(owner), false) = (owner, in_use) {
        let current = ours.map(apikey::parse);
        let plan = decide::plan(&key.spec, rotate, current.as_ref(), now, &mut OsMint);
        let desired = apikey::secret(key, &owner, &plan.material);
        match write_secret(&secrets, ours, desired, &plan, &uid).await? {
            Wrote::Race => {
                debug!(secret = %secret_name, "the key's Secret changed meanwhile: again soon");
                return Ok(Action::requeue(RACE));
            }
            Wrote::InUse => in_use = true,
            Wrote::Done(m) => {
                tell(ctx, key, &plan, &m, ours.is_none() && *m == plan.material).await;
                material = Some(*m);
            }
        }
    }

    let wanted = decide::conditions(&key.spec, &state, in_use, material.is_some(), now);
    let previous = key.status.clone().unwrap_or_default();
    if let Some(ready) = wanted.iter().find(|c| c.type_ == ConditionType::Ready) {
        on_new_trouble(&ctx.recorder, key, &previous.conditions, ready).await;
    }
    let was_expired = previous
        .conditions
        .iter()
        .any(|c| c.type_ == ConditionType::Expired.as_str() && c.status == "True");
    if decide::expired(&key.spec, now) && !was_expired {
        publish(
            &ctx.recorder,
            key,
            Reason::ApiKeyExpired,
            "Expire",
            format!(
                "the key expired at {}: the servers no longer accept it",
                decide::expires_at(&key.spec)
            ),
        )
        .await;
    }
    let status = decide::status(
        key,
        (!in_use && material.is_some()).then_some(secret_name),
        material.as_ref().filter(|_| !in_use),
        &wanted,
        now,
    );
    let api: Api<BigPeerApiKey> = Api::namespaced(ctx.client.clone(), &ns);
    status_writer::write(&api, key, key.status.as_ref(), &status).await?;
    ctx.metrics.set_api_key_expiry(
        &ns,
        &key.spec.app_ref.name,
        &name,
        decide::expires_at(&key.spec).as_second(),
    );

    let next = decide::next_deadline(&key.spec, material.as_ref(), now);
    let after = next.map_or(IDLE, |t| {
        let secs = t.as_second().saturating_sub(now.as_second()).max(0) + 1;
        IDLE.min(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)))
    });
    Ok(Action::requeue(after))
}

/// The Events of a key made or rotated (fingerprints only).
async fn tell(ctx: &Context, key: &BigPeerApiKey, plan: &KeyPlan, m: &Material, created: bool) {
    let fp = m.key.fingerprint();
    let secret = names::api_key_secret(&key.name_any());
    match plan.step {
        Step::Create if created => {
            info!(key = %around::key(key), fingerprint = %fp, "made API key");
            publish(
                &ctx.recorder,
                key,
                Reason::ApiKeyCreated,
                "Create",
                format!("made key {fp} in Secret {secret}"),
            )
            .await;
        }
        Step::Rotate(cause) => {
            let previous = match &m.previous {
                Some(p) => format!(
                    "; previous key {} works until {}",
                    p.fingerprint,
                    decide::previous_until(&key.spec, p)
                ),
                None => "; the previous key no longer works".into(),
            };
            info!(key = %around::key(key), fingerprint = %fp, cause = cause.as_str(), "rotated API key");
            publish(
                &ctx.recorder,
                key,
                Reason::ApiKeyRotated,
                "Rotate",
                format!(
                    "rotated {}: new key {fp} in Secret {secret}{previous}",
                    cause.as_str()
                ),
            )
            .await;
        }
        _ => {}
    }
}

/// What wakes the key controller.
pub struct Triggers {
    /// Keys.
    pub api_keys: Changes<BigPeerApiKey>,
    /// The keys' Secrets (their owner).
    pub key_secrets: Changes<Secret>,
    /// Apps: the keys naming them.
    pub apps: Changes<BigPeerApp>,
}

/// The key controller of one watched namespace, until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    stores: Stores,
    t: Triggers,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send {
    let for_apps = stores.clone();
    Controller::for_stream(t.api_keys, stores.api_keys.clone())
        .with_config(
            controller::Config::default()
                .concurrency(concurrency)
                .debounce(Duration::from_millis(300)),
        )
        .owns_stream(t.key_secrets)
        .watches_stream(t.apps, move |app| {
            for_apps
                .keys_of(&app.namespace().unwrap_or_default(), &app.name_any())
                .iter()
                .map(|k| ObjectRef::from_obj(k.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
}
