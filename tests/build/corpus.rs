//! The corpus of invalid BigPeers is well formed: every case parses, names are unique and
//! kebab-case, fields are BigPeer paths, and every patch applies to the sample and still reads
//! as a BigPeer (the refusal is Kubernetes' or the webhook's, not a type error).

use std::collections::BTreeSet;

use smbp_operator::api::BigPeer;

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
            c.field.starts_with("spec.") || c.field == "spec" || c.field.starts_with("metadata."),
            "{file}: {}: field {} is not a BigPeer path",
            c.name,
            c.field
        );
        assert!(
            c.patch.is_object(),
            "{file}: {}: patch is an object",
            c.name
        );
        let created = c.created("x", "ns");
        let typed: Result<BigPeer, _> = serde_json::from_value(created);
        assert!(typed.is_ok(), "{file}: {}: {:?}", c.name, typed.err());
        if let Some(u) = &c.update {
            assert!(u.is_object(), "{file}: {}: update is an object", c.name);
            let typed: Result<BigPeer, _> = serde_json::from_value(c.updated("x", "ns").unwrap());
            assert!(
                typed.is_ok(),
                "{file}: {}: update: {:?}",
                c.name,
                typed.err()
            );
        }
    }
    let webhook = cases
        .iter()
        .filter(|(f, _)| f.starts_with("webhook-"))
        .count();
    assert!(webhook >= 100, "webhook cases: {webhook}");
}
