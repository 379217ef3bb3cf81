//! Scorecard configuration: the bundle's `tests/scorecard/config.yaml` and the operator-sdk
//! `scorecard/` layout (bases + patches) it is assembled from.

use serde_json::{Value, json};

/// scorecard-test image the configuration names (the tests are built from this version).
pub const SCORECARD_IMAGE: &str = "quay.io/operator-framework/scorecard-test:v1.42.0";

/// (suite, test) pairs: the basic suite and the OLM suite.
pub const TESTS: &[(&str, &str)] = &[
    ("basic", "basic-check-spec"),
    ("olm", "olm-bundle-validation"),
    ("olm", "olm-crds-have-validation"),
    ("olm", "olm-crds-have-resources"),
    ("olm", "olm-spec-descriptors"),
    ("olm", "olm-status-descriptors"),
];

fn test(suite: &str, name: &str) -> Value {
    json!({
        "entrypoint": ["scorecard-test", name],
        "image": SCORECARD_IMAGE,
        "labels": {"suite": suite, "test": format!("{name}-test")},
    })
}

/// The assembled configuration.
pub fn config() -> Value {
    json!({
        "apiVersion": "scorecard.operatorframework.io/v1alpha3",
        "kind": "Configuration",
        "metadata": {"name": "config"},
        "stages": [{"parallel": true, "tests": TESTS.iter().map(|(s, n)| test(s, n)).collect::<Vec<_>>()}],
    })
}

/// `scorecard/` as operator-sdk projects lay it out: a base and one JSON patch per suite.
pub fn layout() -> Vec<(String, String)> {
    let base = json!({
        "apiVersion": "scorecard.operatorframework.io/v1alpha3",
        "kind": "Configuration",
        "metadata": {"name": "config"},
        "stages": [{"parallel": true, "tests": []}],
    });
    let patch = |suite: &str| -> Value {
        Value::Array(
            TESTS
                .iter()
                .filter(|(s, _)| *s == suite)
                .map(
                    |(s, n)| json!({"op": "add", "path": "/stages/0/tests/-", "value": test(s, n)}),
                )
                .collect(),
        )
    };
    let kustomization = json!({
        "resources": ["bases/config.yaml"],
        "patches": [
            {"path": "patches/basic.config.yaml", "target": {"group": "scorecard.operatorframework.io", "version": "v1alpha3", "kind": "Configuration", "name": "config"}},
            {"path": "patches/olm.config.yaml", "target": {"group": "scorecard.operatorframework.io", "version": "v1alpha3", "kind": "Configuration", "name": "config"}},
        ],
    });
    let y = |v: &Value| serde_yaml_ng::to_string(v).expect("scorecard config serializes");
    let mut out = vec![];
    for root in ["scorecard", "config/scorecard"] {
        out.push((format!("{root}/bases/config.yaml"), y(&base)));
        out.push((
            format!("{root}/patches/basic.config.yaml"),
            y(&patch("basic")),
        ));
        out.push((format!("{root}/patches/olm.config.yaml"), y(&patch("olm"))));
        out.push((format!("{root}/kustomization.yaml"), y(&kustomization)));
    }
    out
}
