use super::*;
use crate::api::{AppRef, BigPeerApiKey, Permissions};
use proptest::prelude::*;

/// Keys `bpk_test_<n>`, salts of byte `n`: every key differs, and runs repeat.
#[derive(Default)]
struct TestMint(u32);

impl Mint for TestMint {
    fn key(&mut self) -> PlainKey {
        self.0 += 1;
        PlainKey::from_string(format!("bpk_test_{}", self.0))
    }
    fn hash(&mut self, key: &PlainKey) -> HashRecord {
        self.0 += 1;
        HashRecord::with_salt(key.expose(), &[(self.0 % 251) as u8; 16])
    }
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

const HOUR: i64 = 3600;

fn spec(expires: i64, rotation: Option<(&str, &str)>) -> BigPeerApiKeySpec {
    BigPeerApiKeySpec {
        app_ref: AppRef { name: "app".into() },
        permissions: Permissions::default(),
        expires_at: Time(t(expires)),
        description: None,
        rotation: rotation.map(|(every, grace)| KeyRotation {
            every: every.into(),
            grace_period: grace.into(),
        }),
    }
}

/// What the Secret holds after `m` is written: what the next reconcile reads back.
fn stored(m: &Material) -> Parsed {
    Parsed {
        key: Some(m.key.clone()),
        hash: Some(m.hash.clone()),
        previous: m.previous.clone(),
        rotated_at: Some(m.rotated_at),
        rotate_handled: m.rotate_handled.clone(),
    }
}

#[test]
fn the_first_key_is_made_with_the_annotation_already_acted_on() {
    let s = spec(100 * HOUR, None);
    let p = plan(&s, Some("x"), None, t(10), &mut TestMint::default());
    assert_eq!(p.step, Step::Create);
    assert!(p.material.hash.verify(p.material.key.expose()));
    assert_eq!(p.material.previous, None);
    assert_eq!(p.material.rotated_at, t(10));
    assert_eq!(p.material.rotate_handled.as_deref(), Some("x"));
    let again = plan(
        &s,
        Some("x"),
        Some(&stored(&p.material)),
        t(11),
        &mut TestMint(50),
    );
    assert_eq!(again.step, Step::Keep);
    assert_eq!(again.material, p.material);
}

#[test]
fn a_new_annotation_value_rotates_once_keeping_the_old_hash_for_the_grace_period() {
    let s = spec(100 * HOUR, Some(("720h", "30s")));
    let mut mint = TestMint::default();
    let first = plan(&s, None, None, t(0), &mut mint).material;
    let r = plan(&s, Some("1"), Some(&stored(&first)), t(100), &mut mint);
    assert_eq!(r.step, Step::Rotate(Cause::Annotation));
    assert_ne!(r.material.key, first.key);
    let prev = r.material.previous.clone().unwrap();
    assert_eq!(prev.hash, first.hash);
    assert_eq!(prev.fingerprint, first.key.fingerprint());
    assert_eq!(prev.valid_until, t(130));
    assert_eq!(r.material.rotate_handled.as_deref(), Some("1"));
    // The same value again: nothing; the grace period's end drops the previous key.
    let same = plan(&s, Some("1"), Some(&stored(&r.material)), t(129), &mut mint);
    assert_eq!((same.step, &same.material), (Step::Keep, &r.material));
    let after = plan(&s, Some("1"), Some(&stored(&r.material)), t(130), &mut mint);
    assert_eq!(after.step, Step::Keep);
    assert_eq!(after.material.previous, None);
    assert_eq!(after.material.key, r.material.key);
    // Removing the annotation rotates nothing.
    assert_eq!(
        plan(&s, None, Some(&stored(&after.material)), t(131), &mut mint).step,
        Step::Keep
    );
}

#[test]
fn without_rotation_an_annotation_keeps_the_old_key_for_a_day() {
    let s = spec(100 * HOUR, None);
    let mut mint = TestMint::default();
    let first = plan(&s, None, None, t(0), &mut mint).material;
    let r = plan(&s, Some("now"), Some(&stored(&first)), t(10), &mut mint);
    assert_eq!(r.material.previous.unwrap().valid_until, t(10 + 24 * HOUR));
}

#[test]
fn a_zero_grace_period_retires_the_old_key_at_once() {
    let s = spec(100 * HOUR, Some(("1h", "0s")));
    let mut mint = TestMint::default();
    let first = plan(&s, None, None, t(0), &mut mint).material;
    let r = plan(&s, None, Some(&stored(&first)), t(HOUR), &mut mint);
    assert_eq!(r.step, Step::Rotate(Cause::Schedule));
    assert_eq!(r.material.previous, None);
}

#[test]
fn expiry_caps_the_grace_period_and_stops_scheduled_rotation() {
    let s = spec(HOUR + 10, Some(("1h", "24h")));
    let mut mint = TestMint::default();
    let first = plan(&s, None, None, t(0), &mut mint).material;
    let r = plan(&s, None, Some(&stored(&first)), t(HOUR), &mut mint);
    assert_eq!(r.step, Step::Rotate(Cause::Schedule));
    assert_eq!(
        r.material.previous.as_ref().unwrap().valid_until,
        t(HOUR + 10)
    );
    assert_eq!(
        next_deadline(&s, Some(&r.material), t(HOUR)),
        Some(t(HOUR + 10))
    );
    // Expired: no more rotations and nothing more to wait for.
    let later = plan(&s, None, Some(&stored(&r.material)), t(3 * HOUR), &mut mint);
    assert_eq!(later.step, Step::Keep);
    assert_eq!(later.material.previous, None);
    assert_eq!(next_deadline(&s, Some(&later.material), t(3 * HOUR)), None);
    // Moving expiresAt earlier shortens a previous key's grace period too.
    let shorter = spec(HOUR + 5, Some(("1h", "24h")));
    let st = status(&key(shorter.clone()), None, Some(&r.material), &[], t(HOUR));
    assert_eq!(st.previous.unwrap().valid_until, Time(t(HOUR + 5)));
}

#[test]
fn a_secret_without_a_usable_key_gets_a_new_one_and_a_wrong_hash_is_made_again() {
    let s = spec(100 * HOUR, None);
    let mut mint = TestMint::default();
    let r = plan(&s, None, Some(&Parsed::default()), t(5), &mut mint);
    assert_eq!(r.step, Step::Rotate(Cause::Unusable));
    assert_eq!(r.material.previous, None);
    let mut edited = stored(&r.material);
    edited.hash = None;
    let k = plan(&s, None, Some(&edited), t(6), &mut mint);
    assert_eq!(k.step, Step::Keep);
    assert_eq!(k.material.key, r.material.key);
    assert!(k.material.hash.verify(k.material.key.expose()));
    assert_ne!(k.material.hash, r.material.hash, "a new salt");
}

fn key(s: BigPeerApiKeySpec) -> BigPeerApiKey {
    let mut k = BigPeerApiKey::new("k", s);
    k.metadata.generation = Some(3);
    k
}

#[test]
fn conditions_name_the_first_problem() {
    let s = spec(100, None);
    let ready = |app: &AppState, in_use, has_key, now| {
        let c = conditions(&s, app, in_use, has_key, t(now));
        (c[0].status, c[0].reason, c[1].status, c[1].reason)
    };
    use Reason as R;
    assert_eq!(
        ready(&AppState::Ready, false, true, 5),
        (true, R::KeyActive, false, R::NotExpired)
    );
    assert_eq!(
        ready(&AppState::Missing, false, true, 5),
        (false, R::AppNotFound, false, R::NotExpired)
    );
    assert_eq!(
        ready(&AppState::NotReady("x".into()), false, true, 5),
        (false, R::AppNotReady, false, R::NotExpired)
    );
    assert_eq!(
        ready(&AppState::Ready, true, false, 5),
        (false, R::SecretNameInUse, false, R::NotExpired)
    );
    assert_eq!(
        ready(&AppState::Ready, false, true, 100),
        (false, R::Expired, true, R::Expired)
    );
}

#[test]
fn the_status_never_shows_the_key_or_its_hashes() {
    let s = spec(100 * HOUR, Some(("1h", "1h")));
    let mut mint = TestMint::default();
    let first = plan(&s, None, None, t(0), &mut mint).material;
    let r = plan(&s, Some("a"), Some(&stored(&first)), t(10), &mut mint).material;
    let wanted = conditions(&s, &AppState::Ready, false, true, t(10));
    let st = status(&key(s), Some("k-api-key".into()), Some(&r), &wanted, t(10));
    let text = serde_json::to_string(&st).unwrap();
    for secret in [
        r.key.expose(),
        &r.hash.hash,
        &r.hash.salt,
        first.key.expose(),
        &first.hash.hash,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(st.fingerprint, Some(r.key.fingerprint()));
    assert_eq!(st.previous.unwrap().fingerprint, first.key.fingerprint());
    assert_eq!(st.last_rotation_time, Some(Time(t(10))));
    assert_eq!(st.observed_generation, Some(3));
}

/// One step of a key's life in the simulation.
#[derive(Clone, Debug)]
enum Event {
    /// Time passes (seconds).
    Wait(i64),
    /// `smbp.io/rotate` is set to a value (of a small set, so values repeat).
    Annotate(u8),
    /// The annotation is removed.
    Unannotate,
    /// The operator reconciles at the deadline it asked for.
    Deadline,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (1i64..3 * HOUR).prop_map(Event::Wait),
        (0u8..3).prop_map(Event::Annotate),
        Just(Event::Unannotate),
        Just(Event::Deadline),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A key's whole life, reconciled after every event: rotations happen exactly when due
    /// (a new annotation value, or `every` after the last one and before expiry), at most two
    /// hashes are ever valid, a previous key never outlives its grace period or the key's
    /// expiry, a reconcile with nothing due writes nothing, and nothing is ever due before the
    /// deadline the operator requeues at.
    #[test]
    fn a_key_rotates_exactly_when_due(
        every_h in proptest::option::of(1i64..4),
        grace_s in prop_oneof![Just(0i64), 1i64..HOUR],
        expires in HOUR..12 * HOUR,
        events in proptest::collection::vec(event(), 1..40),
    ) {
        let every_text = every_h.map(|h| format!("{h}h"));
        let grace_text = format!("{grace_s}s");
        let s = spec(expires, every_text.as_deref().map(|e| (e, grace_text.as_str())));
        let grace_s = if s.rotation.is_some() { grace_s } else { 24 * HOUR };
        let mut mint = TestMint::default();
        let mut now = 0i64;
        let mut annotation: Option<String> = None;
        let mut m = plan(&s, None, None, t(now), &mut mint).material;
        let mut handled: Option<String> = None;
        for e in events {
            match e {
                Event::Wait(d) => now += d,
                Event::Annotate(v) => annotation = Some(format!("v{v}")),
                Event::Unannotate => annotation = None,
                Event::Deadline => match next_deadline(&s, Some(&m), t(now)) {
                    Some(d) => {
                        prop_assert!(d > t(now));
                        // Nothing is due before the deadline.
                        let before = d.as_second() - 1;
                        if before > now {
                            let quiet = plan(&s, annotation.as_deref().filter(|a| Some(*a) == handled.as_deref()), Some(&stored(&m)), t(before), &mut mint);
                            prop_assert_eq!(quiet.step, Step::Keep);
                            prop_assert_eq!(&quiet.material.key, &m.key);
                            prop_assert_eq!(quiet.material.previous.is_some(), m.previous.as_ref().is_some_and(|p| previous_until(&s, p) > t(before)));
                        }
                        now = d.as_second();
                    }
                    None => prop_assert!(expired(&s, t(now))),
                },
            }
            let before = m.clone();
            let p = plan(&s, annotation.as_deref(), Some(&stored(&m)), t(now), &mut mint);
            let annotated = annotation.is_some() && annotation != handled;
            let scheduled = every_h.is_some_and(|h| now >= before.rotated_at.as_second() + h * HOUR) && now < expires;
            match p.step {
                Step::Rotate(Cause::Annotation) => prop_assert!(annotated),
                Step::Rotate(Cause::Schedule) => prop_assert!(!annotated && scheduled),
                Step::Keep => prop_assert!(!annotated && !scheduled),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            if let Step::Rotate(_) = p.step {
                prop_assert_ne!(&p.material.key, &before.key);
                prop_assert_eq!(p.material.rotated_at, t(now));
                match &p.material.previous {
                    Some(prev) => {
                        prop_assert_eq!(&prev.fingerprint, &before.key.fingerprint());
                        prop_assert!(prev.hash.verify(before.key.expose()));
                        prop_assert_eq!(prev.valid_until, t((now + grace_s).min(expires)));
                    }
                    None => prop_assert!(grace_s == 0 || now >= expires),
                }
                handled = p.material.rotate_handled.clone();
            } else {
                prop_assert_eq!(&p.material.key, &before.key);
                prop_assert_eq!(p.material.rotated_at, before.rotated_at);
            }
            m = p.material;
            // The Secret is consistent, and planning again at the same time changes nothing.
            prop_assert!(m.hash.verify(m.key.expose()));
            if let Some(prev) = &m.previous {
                prop_assert!(previous_until(&s, prev) > t(now));
                prop_assert!(prev.valid_until <= m.rotated_at.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(grace_s)).unwrap());
                prop_assert!(!prev.hash.verify(m.key.expose()));
            }
            let again = plan(&s, annotation.as_deref(), Some(&stored(&m)), t(now), &mut mint);
            prop_assert_eq!(again.step, Step::Keep);
            prop_assert_eq!(&again.material, &m);
            // At most two hashes are valid, and none after expiry.
            let valid = usize::from(now < expires) + usize::from(m.previous.is_some());
            prop_assert!(valid <= 2);
            if now >= expires {
                prop_assert!(m.previous.is_none());
            }
        }
    }
}
