//! The corpus of invalid objects is well formed: every case parses, names are unique and
//! kebab-case, kinds are ours, fields are paths of the object, and every patch applies to the
//! sample of its kind and changes it (an update changes the created object). Values may be of a
//! type the CRD's schema refuses (an unknown enum value): that is a refusal the corpus tests too.

use std::collections::BTreeSet;

use crate::corpus;

#[test]
fn corpus_cases_are_well_formed_and_apply_to_the_sample() {
    let cases = corpus::load();
    assert!(!cases.is_empty());
    let mut names = BTreeSet::new();
    for (file, c) in &cases {
        assert!(
            file.starts_with("cel-") || file.starts_with("webhook-"),
            "{file}: files are cel-*.yaml or webhook-*.yaml"
        );
        assert!(
            names.insert(c.name.clone()),
            "{file}: {} is not unique",
            c.name
        );
        assert!(
            !c.name.is_empty()
                && c.name.split('-').all(|w| !w.is_empty()
                    && w.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())),
            "{file}: {} is not kebab-case",
            c.name
        );
        assert!(
            corpus::KINDS.contains(&c.kind()),
            "{file}: {}: kind {} is not one of {:?}",
            c.name,
            c.kind(),
            corpus::KINDS
        );
        assert!(
            c.field.starts_with("spec.") || c.field == "spec" || c.field.starts_with("metadata."),
            "{file}: {}: field {} is not a path of the object",
            c.name,
            c.field
        );
        assert!(
            c.patch.is_object(),
            "{file}: {}: patch is an object",
            c.name
        );
        let untouched = corpus::Case {
            patch: serde_json::json!({}),
            metadata: None,
            update: None,
            ..c.clone()
        }
        .created("x", "ns");
        let created = c.created("x", "ns");
        assert!(
            created["spec"].is_object(),
            "{file}: {}: spec is an object",
            c.name
        );
        assert_eq!(created["kind"], c.kind(), "{file}: {}", c.name);
        if c.update.is_none() {
            assert_ne!(
                created, untouched,
                "{file}: {}: the patch changes nothing",
                c.name
            );
        }
        if let Some(u) = &c.update {
            assert!(u.is_object(), "{file}: {}: update is an object", c.name);
            let updated = c.updated("x", "ns").unwrap();
            assert_ne!(
                updated, created,
                "{file}: {}: the update changes nothing",
                c.name
            );
        }
    }
    let webhook = cases
        .iter()
        .filter(|(f, _)| f.starts_with("webhook-"))
        .count();
    assert!(webhook >= 100, "webhook cases: {webhook}");
}
