//! API keys: when a key is made, rotated and retired, and what its status says. Pure
//! functions of the key's spec, its `smbp.io/rotate` annotation, what its Secret holds and the
//! time; new key material comes from a [`Mint`] (the operating system's CSPRNG in the operator,
//! a deterministic one in tests).
//!
//! - No Secret: a key is made ([`Step::Create`]).
//! - A new value of `smbp.io/rotate`, `spec.rotation.every` elapsed since the current key was
//!   made (never once the key is past `expiresAt`), or a Secret with no usable key: a new key
//!   replaces the current one ([`Step::Rotate`]); the current key's hash stays valid as the
//!   previous one until `now + gracePeriod` (never past `expiresAt`); a previous key still in
//!   its grace period is dropped (one previous key at most).
//! - A previous key past its grace period (or past `expiresAt`) is dropped; a hash that does
//!   not verify the key is made again; otherwise the Secret's content is kept as it is.
//! - `expiresAt` caps every generation; the key is `Expired` from it on.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::access::duration;
use crate::access::key::{HashRecord, PlainKey};
use crate::api::conditions::{self, ConditionType, DesiredCondition};
use crate::api::reason::Reason;
use crate::api::{
    BigPeerApiKeySpec, BigPeerApiKeyStatus, DEFAULT_GRACE_PERIOD, KeyRotation, PreviousKey,
};
use crate::build::apikey::{Material, Parsed, Previous};

/// Where new keys and hashes come from.
pub trait Mint {
    /// A new key.
    fn key(&mut self) -> PlainKey;
    /// A salted hash of `key` (a new salt).
    fn hash(&mut self, key: &PlainKey) -> HashRecord;
}

/// The operator's mint: the operating system's CSPRNG.
pub struct OsMint;

impl Mint for OsMint {
    fn key(&mut self) -> PlainKey {
        PlainKey::generate()
    }
    fn hash(&mut self, key: &PlainKey) -> HashRecord {
        key.hash()
    }
}

/// Why a key is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// `spec.rotation.every` elapsed.
    Schedule,
    /// `smbp.io/rotate` has a new value.
    Annotation,
    /// The Secret held no usable key (edited by hand).
    Unusable,
}

impl Cause {
    /// How an Event says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Schedule => "on schedule (spec.rotation.every)",
            Cause::Annotation => "by the smbp.io/rotate annotation",
            Cause::Unusable => "because its Secret held no usable key",
        }
    }
}

/// What happens to the key now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The key stays (its Secret may still be rewritten: a grace period ended, a hash was
    /// made again, a label changed).
    Keep,
    /// The first key is made.
    Create,
    /// A new key replaces the current one.
    Rotate(Cause),
}

/// The key's next state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPlan {
    /// What happens.
    pub step: Step,
    /// What the Secret should hold.
    pub material: Material,
}

/// Whole seconds: what the Secret keeps of a time.
fn seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    Timestamp::from_second(t.as_second().saturating_add(secs)).unwrap_or(Timestamp::MAX)
}

/// The key's expiry.
pub fn expires_at(spec: &BigPeerApiKeySpec) -> Timestamp {
    spec.expires_at.0
}

/// Whether the key is past its expiry at `now`.
pub fn expired(spec: &BigPeerApiKeySpec, now: Timestamp) -> bool {
    now >= expires_at(spec)
}

/// The rotation period, if the key rotates on a schedule.
pub fn every(rotation: Option<&KeyRotation>) -> Option<Duration> {
    duration::parse(&rotation?.every).filter(|d| d.as_secs() > 0)
}

/// How long a previous key keeps working after a rotation.
pub fn grace(rotation: Option<&KeyRotation>) -> Duration {
    let text = rotation.map_or(DEFAULT_GRACE_PERIOD, |r| r.grace_period.as_str());
    duration::parse(text)
        .or_else(|| duration::parse(DEFAULT_GRACE_PERIOD))
        .unwrap_or_default()
}

/// When the previous key stops working: the end of its grace period, or the key's expiry.
pub fn previous_until(spec: &BigPeerApiKeySpec, p: &Previous) -> Timestamp {
    p.valid_until.min(expires_at(spec))
}

/// Why the key must be replaced now, if it must.
fn rotation_due(
    spec: &BigPeerApiKeySpec,
    rotate: Option<&str>,
    current: &Parsed,
    now: Timestamp,
) -> Option<Cause> {
    if current.key.is_none() {
        return Some(Cause::Unusable);
    }
    if rotate.is_some_and(|v| Some(v) != current.rotate_handled.as_deref()) {
        return Some(Cause::Annotation);
    }
    let made = current.rotated_at?;
    let every = every(spec.rotation.as_ref())?;
    (!expired(spec, now) && now >= plus(made, every)).then_some(Cause::Schedule)
}

fn new_pair(mint: &mut impl Mint) -> (PlainKey, HashRecord) {
    let key = mint.key();
    let hash = mint.hash(&key);
    (key, hash)
}

/// The key's next state at `now`, from its spec, its `smbp.io/rotate` annotation and what its
/// Secret holds (`None`: no Secret).
pub fn plan(
    spec: &BigPeerApiKeySpec,
    rotate: Option<&str>,
    current: Option<&Parsed>,
    now: Timestamp,
    mint: &mut impl Mint,
) -> KeyPlan {
    let Some(current) = current else {
        let (key, hash) = new_pair(mint);
        return KeyPlan {
            step: Step::Create,
            material: Material {
                key,
                hash,
                previous: None,
                rotated_at: seconds(now),
                rotate_handled: rotate.map(str::to_string),
            },
        };
    };
    if let Some(cause) = rotation_due(spec, rotate, current, now) {
        let grace = grace(spec.rotation.as_ref());
        // The current key's hash (made again if it did not verify) becomes the previous one.
        let previous = match (&current.key, grace.is_zero()) {
            (Some(old), false) => {
                let hash = current.hash.clone().unwrap_or_else(|| mint.hash(old));
                Some(Previous {
                    hash,
                    fingerprint: old.fingerprint(),
                    valid_until: plus(seconds(now), grace).min(expires_at(spec)),
                })
                .filter(|p| p.valid_until > now)
            }
            _ => None,
        };
        let (key, hash) = new_pair(mint);
        return KeyPlan {
            step: Step::Rotate(cause),
            material: Material {
                key,
                hash,
                previous,
                rotated_at: seconds(now),
                rotate_handled: match cause {
                    Cause::Annotation => rotate.map(str::to_string),
                    _ => current.rotate_handled.clone(),
                },
            },
        };
    }
    let key = current
        .key
        .clone()
        .expect("a usable key, or it would be rotated");
    let hash = current.hash.clone().unwrap_or_else(|| mint.hash(&key));
    KeyPlan {
        step: Step::Keep,
        material: Material {
            key,
            hash,
            previous: current
                .previous
                .clone()
                .filter(|p| previous_until(spec, p) > now),
            rotated_at: current.rotated_at.unwrap_or_else(|| seconds(now)),
            rotate_handled: current.rotate_handled.clone(),
        },
    }
}

/// When the key must next be looked at: its next scheduled rotation, the end of its previous
/// key's grace period, its expiry; `None` when nothing is due any more (an expired key).
pub fn next_deadline(
    spec: &BigPeerApiKeySpec,
    current: Option<&Material>,
    now: Timestamp,
) -> Option<Timestamp> {
    let mut due = vec![];
    if !expired(spec, now) {
        due.push(expires_at(spec));
        if let (Some(m), Some(every)) = (current, every(spec.rotation.as_ref())) {
            due.push(plus(m.rotated_at, every));
        }
    }
    if let Some(p) = current.and_then(|m| m.previous.as_ref()) {
        due.push(previous_until(spec, p));
    }
    due.into_iter().filter(|t| *t > now).min()
}

/// The key's app, as the key controller found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppState {
    /// No app of that name in the namespace.
    Missing,
    /// The app exists but is not served (the message says why).
    NotReady(String),
    /// The app is served.
    Ready,
}

/// The key's conditions: `Ready` (the servers accept it) and `Expired`.
pub fn conditions(
    spec: &BigPeerApiKeySpec,
    app: &AppState,
    secret_in_use: bool,
    has_key: bool,
    now: Timestamp,
) -> Vec<DesiredCondition> {
    let is_expired = expired(spec, now);
    let until = expires_at(spec);
    let expired_c = if is_expired {
        DesiredCondition::new(
            ConditionType::Expired,
            true,
            Reason::Expired,
            format!("the key expired at {until}: move spec.expiresAt later to extend it"),
        )
    } else {
        DesiredCondition::new(
            ConditionType::Expired,
            false,
            Reason::NotExpired,
            format!("the key expires at {until}"),
        )
    };
    let app_name = &spec.app_ref.name;
    let (ready, reason, message) = if is_expired {
        (
            false,
            Reason::Expired,
            format!("the key expired at {until}"),
        )
    } else if secret_in_use {
        (
            false,
            Reason::SecretNameInUse,
            "a Secret of the key's Secret name exists that the key does not own: rename or delete it".into(),
        )
    } else {
        match app {
            AppState::Missing => (
                false,
                Reason::AppNotFound,
                format!(
                    "BigPeerApp {app_name} does not exist in this namespace: the key is kept and given to the servers once it does"
                ),
            ),
            AppState::NotReady(why) => (
                false,
                Reason::AppNotReady,
                format!("BigPeerApp {app_name} is not ready: {why}"),
            ),
            AppState::Ready if !has_key => {
                (false, Reason::AppNotReady, "the key is being made".into())
            }
            AppState::Ready => (
                true,
                Reason::KeyActive,
                format!("the servers of app {app_name} accept the key until {until}"),
            ),
        }
    };
    vec![
        DesiredCondition::new(ConditionType::Ready, ready, reason, message),
        expired_c,
    ]
}

/// The key's status: never the key or its hash.
pub fn status(
    key: &crate::api::BigPeerApiKey,
    secret_name: Option<String>,
    material: Option<&Material>,
    wanted: &[DesiredCondition],
    now: Timestamp,
) -> BigPeerApiKeyStatus {
    let previous = key.status.clone().unwrap_or_default();
    let generation = key.metadata.generation.unwrap_or_default();
    BigPeerApiKeyStatus {
        observed_generation: Some(generation),
        secret_name,
        expires_at: Some(key.spec.expires_at.clone()),
        last_rotation_time: material.map(|m| Time(m.rotated_at)),
        fingerprint: material.map(|m| m.key.fingerprint()),
        previous: material
            .and_then(|m| m.previous.as_ref())
            .map(|p| (p, previous_until(&key.spec, p)))
            .filter(|(_, until)| *until > now)
            .map(|(p, until)| PreviousKey {
                fingerprint: p.fingerprint.clone(),
                valid_until: Time(until),
            }),
        conditions: conditions::merge(&previous.conditions, wanted, generation, &Time(now)),
    }
}

#[cfg(test)]
mod tests;
