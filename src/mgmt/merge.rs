//! JSON merge patches (RFC 7386) from one value to another: the API changes an app's spec
//! with a merge patch carrying the `resourceVersion` it read, so that a write over a change it
//! has not seen fails (409) instead of undoing it, and nothing but the spec is sent.

use serde_json::{Map, Value};

/// The merge patch that turns `old` into `new`: members that are gone are `null`, objects are
/// compared member by member, anything else that differs is sent whole. `new` must hold no
/// `null` member (a merge patch cannot set one).
pub fn diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) if ov == nv => {}
                    Some(ov) => {
                        patch.insert(k.clone(), diff(ov, nv));
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

/// `patch` applied to `target` (RFC 7386), as the API server does.
pub fn apply(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = apply(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_provider_that_changes_kind_drops_its_old_fields() {
        let old = json!({"authProviders": {"a": {"anonymous": {"sessionLength": 1}}, "b": {"tokenWebhook": {"url": "u"}}}});
        let new = json!({"authProviders": {"a": {"tokenWebhook": {"url": "v"}}}});
        let p = diff(&old, &new);
        assert_eq!(
            p,
            json!({"authProviders": {"a": {"anonymous": null, "tokenWebhook": {"url": "v"}}, "b": null}})
        );
        assert_eq!(apply(&old, &p), new);
        assert_eq!(diff(&new, &new), json!({}));
    }

    /// JSON values without nulls (a merge patch cannot write null).
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                proptest::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn applying_the_diff_gives_the_new_value(
            old in proptest::collection::btree_map("[a-d]", value(), 0..4),
            new in proptest::collection::btree_map("[a-d]", value(), 0..4),
        ) {
            let old = Value::Object(old.into_iter().collect());
            let new = Value::Object(new.into_iter().collect());
            prop_assert_eq!(apply(&old, &diff(&old, &new)), new);
        }
    }
}
