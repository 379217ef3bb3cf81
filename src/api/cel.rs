//! Apply-time rules of the fields whose types the operator does not own, and the patterns the
//! rules of `v1alpha1.rs`, `network.rs` and `monitoring.rs` share.
//!
//! Kubernetes' own types embedded in the spec (ResourceRequirements, Toleration, Affinity,
//! TopologySpreadConstraint, EnvVar, NetworkPolicy peers and rules) carry no rules of their own:
//! the schemars transforms below add, to their generated schemas, enums, bounds and CEL rules
//! for what fits a field (an operator, a weight, a quantity, a CIDR, a port), so that `kubectl
//! apply` refuses them. What needs Kubernetes' full validation of an object is left to the
//! admission webhook, which dry-runs the objects the operator builds.
//!
//! Every list, map and string a rule reads is bounded (`maxItems`, `maxProperties`,
//! `maxLength`): the API server estimates each rule's cost from those bounds and refuses a CRD
//! whose rules could exceed its budget.
//!
//! Only CEL libraries a Kubernetes 1.31 API server accepts in new rules are used: the base
//! library, regex, lists, URLs, quantity (1.28), extended strings v2 and sets (1.29), IP and
//! CIDR (1.30). The `format` library (`format.dns1123Label()`, ...) is not: 1.31 accepts it
//! only in stored rules, so the name patterns are regular expressions.
//!
//! Messages are static and never contain a value; a rule that could refuse a secret-bearing
//! value (a URL with credentials) sits on the parent object with a `fieldPath`, because the API
//! server echoes the value of a scalar whose own rule fails.

use kube::core::{Reason, Rule};
use schemars::Schema;
use serde_json::{Value, json};

/// The rule that `self` is a DNS subdomain.
pub const DNS_SUBDOMAIN_RULE: &str =
    r"self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')";
/// A DNS label (RFC 1123); bound it to 63.
pub const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A label or annotation key (a qualified name): an optional DNS-subdomain prefix and '/', then
/// a name of at most 63 characters. Kept short, as it repeats through the CRD: a prefix with
/// empty labels ("a..b/") or over 253 characters is left to the admission webhook.
pub const QUALIFIED_NAME: &str =
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A label value: empty, or at most 63 characters starting and ending with a letter or digit.
pub const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";
/// A key of a Secret or ConfigMap.
pub const SECRET_KEY: &str = r"^[-._a-zA-Z0-9]+$";

/// A token webhook URL (`self.url` of the object holding it) starts with `https://`.
pub const URL_IS_HTTPS: &str = "self.url.startsWith('https://')";
/// A token webhook URL carries no credentials (`user:password@`, or `token@`).
pub const URL_HAS_NO_CREDENTIALS: &str = "!self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@')";
/// A token webhook URL is an absolute URL with a host name.
pub const URL_HAS_HOST: &str = "isURL(self.url) && self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#@]*@)?[^/?#@:]') && url(self.url).getHostname() != ''";
/// A token webhook URL's port, when given, is from 1 to 65535.
pub const URL_PORT_IN_RANGE: &str = r"!self.url.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#@]*@)?([^/?#:\\[]*|\\[[^/?#\\]]*\\]):(0*|0*([7-9][0-9]{4}|6[6-9][0-9]{3}|65[6-9][0-9]{2}|655[4-9][0-9]|6553[6-9]|[1-9][0-9]{5,}))([/?#]|$)')";

/// Longest qualified name: a 253-character prefix, '/', a 63-character name.
const QUALIFIED_NAME_MAX: u64 = 317;

/// `<var>` is a qualified name (label or annotation key).
pub fn is_qualified_name(var: &str) -> String {
    format!("{var}.matches('{QUALIFIED_NAME}')")
}

/// A rule reported at `field_path` (relative to the object it sits on) with reason
/// `FieldValueInvalid`.
pub fn at(rule: &str, field_path: &str, message: &str) -> Rule {
    Rule::new(rule)
        .message(message)
        .field_path(field_path)
        .reason(Reason::FieldValueInvalid)
}

/// A rule reported at `field_path` with reason `FieldValueRequired`.
pub fn required_at(rule: &str, field_path: &str, message: &str) -> Rule {
    Rule::new(rule)
        .message(message)
        .field_path(field_path)
        .reason(Reason::FieldValueRequired)
}

/// A rule reported at `field_path` with reason `FieldValueForbidden`.
pub fn forbidden_at(rule: &str, field_path: &str, message: &str) -> Rule {
    Rule::new(rule)
        .message(message)
        .field_path(field_path)
        .reason(Reason::FieldValueForbidden)
}

/// A rule reported where it sits.
pub fn here(rule: &str, message: &str) -> Rule {
    Rule::new(rule).message(message)
}

// ----- schema editing -----

fn push_rule(s: &mut Value, r: Rule) {
    let r = serde_json::to_value(r).expect("rule serializes");
    let obj = s.as_object_mut().expect("schema is an object");
    match obj
        .entry("x-kubernetes-validations")
        .or_insert_with(|| json!([]))
    {
        Value::Array(a) => a.push(r),
        _ => unreachable!("x-kubernetes-validations is a list"),
    }
}

fn set(s: &mut Value, key: &str, v: Value) {
    s.as_object_mut()
        .expect("schema is an object")
        .insert(key.into(), v);
}

/// The branch of a nullable `anyOf: [T, {type: null}]` that is not null, or the schema itself.
fn non_null(s: &mut Value) -> &mut Value {
    let nullable_any_of = s
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|b| b.get("type") == Some(&json!("null"))));
    if nullable_any_of {
        s.get_mut("anyOf")
            .and_then(Value::as_array_mut)
            .and_then(|a| a.iter_mut().find(|b| b.get("type") != Some(&json!("null"))))
            .expect("a non-null branch")
    } else {
        s
    }
}

/// The schema at `path`: property names separated by '.', `[]` for a list's items, `{}` for a
/// map's values. Panics when the path is not in the schema (a type changed under a rule).
fn node<'a>(s: &'a mut Value, path: &str) -> &'a mut Value {
    let mut cur = non_null(s);
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let next = match part {
            "[]" => cur.get_mut("items"),
            "{}" => cur.get_mut("additionalProperties"),
            p => cur.get_mut("properties").and_then(|ps| ps.get_mut(p)),
        };
        cur = non_null(next.unwrap_or_else(|| panic!("no '{part}' in the schema at '{path}'")));
    }
    cur
}

/// Runs `f` on the schema as a JSON value.
fn edit(s: &mut Schema, f: impl FnOnce(&mut Value)) {
    let obj = s.ensure_object();
    let mut v = Value::Object(std::mem::take(obj));
    f(&mut v);
    if let Value::Object(o) = v {
        *obj = o;
    }
}

fn max_items(s: &mut Value, n: u64) {
    set(s, "maxItems", json!(n));
}
fn max_properties(s: &mut Value, n: u64) {
    set(s, "maxProperties", json!(n));
}
fn max_length(s: &mut Value, n: u64) {
    set(s, "maxLength", json!(n));
}
fn enumerate(s: &mut Value, values: &[&str]) {
    set(s, "enum", json!(values));
}
fn range(s: &mut Value, min: i64, max: Option<i64>) {
    set(s, "minimum", json!(min));
    if let Some(max) = max {
        set(s, "maximum", json!(max));
    }
}

/// Cuts the descriptions below `s` (not its own) to their first sentence. The schemas of
/// Kubernetes' types carry Kubernetes' full API documentation, repeated for every component
/// and peer list; with the rules added, the CRD would pass the 256 KiB that client-side
/// `kubectl apply` can record in its annotation. `kubectl explain` keeps the first sentence.
fn brief(s: &mut Value) {
    fn cut(d: &str) -> String {
        let first = d.split("\n\n").next().unwrap_or(d);
        match first.find(". ") {
            Some(i) => first[..=i].to_string(),
            None => first.trim_end().to_string(),
        }
    }
    fn walk(v: &mut Value, top: bool) {
        match v {
            Value::Object(o) => {
                if !top && let Some(Value::String(d)) = o.get_mut("description") {
                    *d = cut(d);
                }
                for (k, child) in o.iter_mut() {
                    if k != "description" && k != "x-kubernetes-validations" && k != "default" {
                        walk(child, false);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, false)),
            _ => {}
        }
    }
    walk(s, true);
}

// ----- maps of labels and annotations -----

/// A map of labels named `what` (for messages): keys are qualified names, values label values.
pub fn label_map_at(s: &mut Value, what: &str, max: u64) {
    let s = non_null(s);
    max_properties(s, max);
    push_rule(
        s,
        here(
            &format!("self.all(k, {})", is_qualified_name("k")),
            &format!("{what} keys must be label keys such as app or example.com/tier"),
        ),
    );
    let v = node(s, "{}");
    max_length(v, 63);
    push_rule(
        v,
        here(
            &format!("self.matches('{LABEL_VALUE}')"),
            &format!(
                "{what} values must be label values: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
            ),
        ),
    );
}

/// A map of annotations named `what`: keys are qualified names; values are not checked.
pub fn annotation_map_at(s: &mut Value, what: &str, max: u64) {
    let s = non_null(s);
    max_properties(s, max);
    push_rule(
        s,
        here(
            &format!("self.all(k, {})", is_qualified_name("k")),
            &format!(
                "{what} keys must be annotation keys such as example.com/setting: an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.'"
            ),
        ),
    );
}

macro_rules! map_transform {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        pub fn $name(s: &mut Schema) {
            edit(s, |v| $kind(v, $what, $max));
        }
    };
}

map_transform!(
    /// `template.labels` of a component's pods.
    pod_labels, label_map_at, "template.labels", 64
);
map_transform!(
    /// `template.annotations` of a component's pods.
    pod_annotations, annotation_map_at, "template.annotations", 64
);
map_transform!(
    /// `monitoring.labels`.
    monitor_labels, label_map_at, "monitoring.labels", 32
);
map_transform!(
    /// Annotations of the public Service.
    service_annotations, annotation_map_at, "annotations", 64
);
map_transform!(
    /// Annotations of the Ingress.
    ingress_annotations, annotation_map_at, "ingress.annotations", 64
);
map_transform!(
    /// Annotations of the HTTPRoute.
    route_annotations, annotation_map_at, "annotations", 64
);

// ----- permissions of apps and API keys -----

/// `queriesByCollection` of a permission: at most 32 queries per collection, each of 1 to 4096
/// characters (schemars cannot reach the lists inside a map).
pub fn queries_by_collection(s: &mut Schema) {
    edit(s, |v| {
        let lists = node(v, "{}");
        max_items(lists, 32);
        let query = node(lists, "[]");
        set(query, "minLength", json!(1));
        max_length(query, 4096);
    });
}

// ----- pods: resources, scheduling, template -----
//
// The messages of the rules below name the field where it sits (`key`, `matchExpressions[].values`):
// the error's path names the whole field, such as
// `spec.store.pod.scheduling.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey`.

/// `PodOptions` of every component: resources, scheduling (node selector, tolerations,
/// affinity, spread constraints) and the environment variables of the pod template.
pub fn pod_options(s: &mut Schema) {
    edit(s, pod_options_value);
}

fn pod_options_value(s: &mut Value) {
    resources(node(s, "resources"));
    label_map_at(
        node(s, "scheduling.nodeSelector"),
        "scheduling.nodeSelector",
        32,
    );
    tolerations(node(s, "scheduling.tolerations"));
    affinity(node(s, "scheduling.affinity"));
    spread_constraints(node(s, "scheduling.topologySpreadConstraints"));
    env(node(s, "template.env"));
    for embedded in [
        "resources",
        "scheduling.tolerations",
        "scheduling.affinity",
        "scheduling.topologySpreadConstraints",
        "template.env",
    ] {
        brief(node(s, embedded));
    }
}

/// The resources of a container the operator runs alone (a data bridge's connector): the
/// rules of a component's `resources`.
pub fn container_resources(s: &mut Schema) {
    edit(s, |v| {
        resources(v);
        brief(v);
    });
}

/// A non-negative quantity in its string form: Kubernetes' quantity syntax (the pattern
/// Kubernetes' own CRD generators give `resource.Quantity`) without the minus sign.
pub const NON_NEGATIVE_QUANTITY: &str = r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";
/// The resources whose request must not exceed their limit in the CRD's rule (the admission
/// webhook's dry run checks every resource).
const COMPARED_RESOURCES: &str = "['cpu', 'memory', 'ephemeral-storage']";

/// Quantities are int-or-string. A Kubernetes 1.31 API server estimates the cost of a rule on an
/// int-or-string value as if it held the largest request (it ignores `maxLength` there; 1.34
/// does not), so a rule that parses such a value in a map of 16 is refused as too expensive.
/// Each value is therefore checked by the schema (`pattern` for the string form, `minimum` for
/// the integer form), and requests are compared with limits for the three resources that can
/// differ rather than for every key.
fn resources(s: &mut Value) {
    for map in ["limits", "requests"] {
        let m = node(s, map);
        max_properties(m, 16);
        let v = node(m, "{}");
        max_length(v, 64);
        set(v, "pattern", json!(NON_NEGATIVE_QUANTITY));
        set(v, "minimum", json!(0));
    }
    for (map, what) in [
        ("limits", "resources.limits"),
        ("requests", "resources.requests"),
    ] {
        push_rule(
            node(s, map),
            here(
                &format!("self.all(k, {})", is_container_resource_name("k")),
                &format!(
                    "{what} keys must be container resources: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource with a domain such as example.com/gpu"
                ),
            ),
        );
    }
    max_items(node(s, "claims"), 16);
    push_rule(
        s,
        at(
            &format!(
                "!has(self.requests) || !has(self.limits) || {COMPARED_RESOURCES}.all(k, !(k in self.requests) || !(k in self.limits) || !isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)"
            ),
            ".requests",
            "resources.requests must not exceed resources.limits for the same resource: lower the request or raise the limit",
        ),
    );
}

/// A DNS subdomain without its length bound (253 characters: checked where it is used).
const DNS_SUBDOMAIN: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
/// The name part of a qualified name: at most 63 letters, digits, '-', '_' or '.', starting and
/// ending with a letter or digit.
const QUALIFIED_NAME_PART: &str = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";

/// `<var>` is a resource name a container may request or limit, as Kubernetes'
/// `validateContainerResourceName` (pkg/apis/core/validation) has it: a qualified name (an
/// optional DNS-subdomain prefix of at most 253 characters and '/', then a name); without a
/// prefix one of `cpu`, `memory`, `ephemeral-storage` or `hugepages-<size>` (a size that is a
/// positive whole quantity: the API server refuses any value of another); with one, a native
/// resource (`kubernetes.io/` in it) or an extended resource, whose name must not start with
/// `requests.` and whose prefix leaves room for `requests.` (at most 244 characters).
pub fn is_container_resource_name(var: &str) -> String {
    format!(
        "{var}.matches('^({DNS_SUBDOMAIN}/)?{QUALIFIED_NAME_PART}$') && (!{var}.contains('/') ? ({var} in ['cpu', 'memory', 'ephemeral-storage'] || ({var}.startsWith('hugepages-') && isQuantity({var}.substring(10)) && quantity({var}.substring(10)).isGreaterThan(quantity('0')) && quantity({var}.substring(10)).asApproximateFloat() == double(int(quantity({var}.substring(10)).asApproximateFloat())))) : ({var}.contains('kubernetes.io/') ? {var}.indexOf('/') <= 253 : (!{var}.startsWith('requests.') && {var}.indexOf('/') <= 244)))"
    )
}

fn tolerations(s: &mut Value) {
    max_items(s, 32);
    let t = node(s, "[]");
    max_length(node(t, "key"), QUALIFIED_NAME_MAX);
    enumerate(node(t, "operator"), &["", "Exists", "Equal"]);
    enumerate(
        node(t, "effect"),
        &["", "NoSchedule", "PreferNoSchedule", "NoExecute"],
    );
    max_length(node(t, "value"), 63);
    push_rule(
        t,
        at(
            &format!(
                "!has(self.key) || self.key == '' || {}",
                is_qualified_name("self.key")
            ),
            ".key",
            "toleration key must be a taint key such as node-role.kubernetes.io/infra",
        ),
    );
    push_rule(
        t,
        at(
            "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
            ".operator",
            "toleration operator must be Exists when key is empty (it then tolerates every taint): set a key or use Exists",
        ),
    );
    push_rule(
        t,
        forbidden_at(
            "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
            ".value",
            "toleration value must be empty with operator Exists: remove value, or use Equal",
        ),
    );
    push_rule(
        t,
        at(
            &format!("!has(self.value) || self.value.matches('{LABEL_VALUE}')"),
            ".value",
            "toleration value must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        ),
    );
    push_rule(
        t,
        forbidden_at(
            "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
            ".tolerationSeconds",
            "toleration tolerationSeconds applies only to effect NoExecute: set that effect or remove tolerationSeconds",
        ),
    );
}

/// How much of a label selector's syntax CEL checks.
#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    /// Label keys (matchLabels' and matchExpressions') and matchLabels' values too.
    Full,
    /// Operators and the presence of values only: where selectors nest in lists of lists
    /// (NetworkPolicy peers), the regular expressions would exceed the API server's cost
    /// budget, and the admission webhook's dry run of the NetworkPolicies checks the rest.
    Operators,
}

/// A label selector (`matchLabels`, `matchExpressions`). The values of `matchExpressions` are
/// the webhook's: a rule per value, in selectors nested in lists of lists, exceeds the CRD's
/// total cost budget.
fn label_selector(s: &mut Value, syntax: Syntax) {
    let labels = node(s, "matchLabels");
    if syntax == Syntax::Full {
        label_map_at(labels, "matchLabels", 32);
    } else {
        max_properties(labels, 32);
        max_length(node(labels, "{}"), 63);
    }
    let e = node(s, "matchExpressions");
    max_items(e, 16);
    let r = node(e, "[]");
    max_length(node(r, "key"), QUALIFIED_NAME_MAX);
    enumerate(
        node(r, "operator"),
        &["In", "NotIn", "Exists", "DoesNotExist"],
    );
    let values = node(r, "values");
    max_items(values, 64);
    max_length(node(values, "[]"), 63);
    if syntax == Syntax::Full {
        push_rule(
            r,
            at(
                &is_qualified_name("self.key"),
                ".key",
                "matchExpressions[].key must be a label key such as app or example.com/tier",
            ),
        );
    }
    push_rule(
        r,
        at(
            "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
            ".values",
            "matchExpressions[].values must be non-empty with operator In or NotIn, and empty with Exists or DoesNotExist",
        ),
    );
}

/// A node selector term (`matchExpressions` on labels, `matchFields` on fields).
fn node_selector_term(s: &mut Value) {
    for (list, field) in [("matchExpressions", true), ("matchFields", false)] {
        let e = node(s, list);
        max_items(e, 16);
        let r = node(e, "[]");
        max_length(node(r, "key"), QUALIFIED_NAME_MAX);
        enumerate(
            node(r, "operator"),
            &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
        );
        let values = node(r, "values");
        max_items(values, 64);
        max_length(node(values, "[]"), 63);
        let (rule, message) = if field {
            (
                is_qualified_name("self.key"),
                "matchExpressions[].key must be a node label key such as topology.kubernetes.io/zone",
            )
        } else {
            (
                "self.key == 'metadata.name'".to_string(),
                "matchFields[].key must be metadata.name, the only node field Kubernetes selects on",
            )
        };
        push_rule(r, at(&rule, ".key", message));
        push_rule(
            r,
            at(
                "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : self.operator in ['Gt', 'Lt'] ? (has(self.values) && size(self.values) == 1 && self.values[0].matches('^-?[0-9]+$')) : (!has(self.values) || size(self.values) == 0)",
                ".values",
                &format!(
                    "{list}[].values must be non-empty with In or NotIn, one integer with Gt or Lt, and empty with Exists or DoesNotExist"
                ),
            ),
        );
    }
}

/// A pod affinity term.
fn pod_affinity_term(s: &mut Value) {
    label_selector(node(s, "labelSelector"), Syntax::Full);
    label_selector(node(s, "namespaceSelector"), Syntax::Full);
    let ns = node(s, "namespaces");
    max_items(ns, 32);
    let n = node(ns, "[]");
    max_length(n, 63);
    push_rule(
        n,
        here(
            &format!("self.matches('{DNS_LABEL}')"),
            "namespaces must be namespace names (DNS labels)",
        ),
    );
    topology_key(node(s, "topologyKey"));
    for keys in ["matchLabelKeys", "mismatchLabelKeys"] {
        let k = node(s, keys);
        max_items(k, 16);
        max_length(node(k, "[]"), QUALIFIED_NAME_MAX);
    }
}

fn topology_key(s: &mut Value) {
    set(s, "minLength", json!(1));
    max_length(s, QUALIFIED_NAME_MAX);
    push_rule(
        s,
        here(
            &is_qualified_name("self"),
            "topologyKey must be a node label key such as topology.kubernetes.io/zone or kubernetes.io/hostname",
        ),
    );
}

fn affinity(s: &mut Value) {
    let na = node(s, "nodeAffinity");
    let terms = node(
        na,
        "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
    );
    max_items(terms, 16);
    node_selector_term(node(terms, "[]"));
    let preferred = node(na, "preferredDuringSchedulingIgnoredDuringExecution");
    max_items(preferred, 16);
    let p = node(preferred, "[]");
    range(node(p, "weight"), 1, Some(100));
    node_selector_term(node(p, "preference"));
    for kind in ["podAffinity", "podAntiAffinity"] {
        let pa = node(s, kind);
        let required = node(pa, "requiredDuringSchedulingIgnoredDuringExecution");
        max_items(required, 16);
        pod_affinity_term(node(required, "[]"));
        let preferred = node(pa, "preferredDuringSchedulingIgnoredDuringExecution");
        max_items(preferred, 16);
        let p = node(preferred, "[]");
        range(node(p, "weight"), 1, Some(100));
        pod_affinity_term(node(p, "podAffinityTerm"));
    }
}

fn spread_constraints(s: &mut Value) {
    max_items(s, 16);
    let c = node(s, "[]");
    range(node(c, "maxSkew"), 1, None);
    range(node(c, "minDomains"), 1, None);
    topology_key(node(c, "topologyKey"));
    enumerate(
        node(c, "whenUnsatisfiable"),
        &["DoNotSchedule", "ScheduleAnyway"],
    );
    enumerate(node(c, "nodeAffinityPolicy"), &["Honor", "Ignore"]);
    enumerate(node(c, "nodeTaintsPolicy"), &["Honor", "Ignore"]);
    label_selector(node(c, "labelSelector"), Syntax::Full);
    let keys = node(c, "matchLabelKeys");
    max_items(keys, 16);
    max_length(node(keys, "[]"), QUALIFIED_NAME_MAX);
    push_rule(
        c,
        forbidden_at(
            "!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
            ".minDomains",
            "topologySpreadConstraints[].minDomains applies only to whenUnsatisfiable DoNotSchedule: remove minDomains or use DoNotSchedule",
        ),
    );
}

fn env(s: &mut Value) {
    max_items(s, 64);
    for (source, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
        let r = node(s, &format!("[].valueFrom.{source}"));
        let key = node(r, "key");
        max_length(key, 253);
        push_rule(
            key,
            here(
                &format!("self.matches('{SECRET_KEY}')"),
                &format!(
                    "{source}.key must be a {kind} key: letters, digits, '-', '_' and '.' only (no '/')"
                ),
            ),
        );
        let name = node(r, "name");
        max_length(name, 253);
        push_rule(
            name,
            here(
                DNS_SUBDOMAIN_RULE,
                &format!(
                    "{source}.name must be a {kind} name: lowercase letters, digits, '-' and '.'"
                ),
            ),
        );
    }
    env_value_from(node(s, "[]"));
    let name = node(s, "[].name");
    set(name, "minLength", json!(1));
    max_length(name, 256);
    push_rule(
        name,
        here(
            "!self.contains('=')",
            "env[].name must not contain '=': give the variable's name only, and its value in value",
        ),
    );
}

/// The pod fields an environment variable may read (`fieldRef.fieldPath`), as Kubernetes'
/// `validateObjectFieldSelector` has them (`validEnvDownwardAPIFieldPathExpressions`, and
/// `spec.host`, which it converts to `spec.nodeName`), or one label (a qualified name) or
/// annotation (a qualified name once lowercased) in `metadata.labels['<key>']` or
/// `metadata.annotations['<key>']`.
pub const ENV_FIELD_PATH: &str = r#"^(metadata\\.(name|namespace|uid)|spec\\.(nodeName|serviceAccountName|host)|status\\.(hostIPs?|podIPs?)|metadata\\.labels\\['([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?'\\]|metadata\\.annotations\\['([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?'\\])$"#;
/// Longest valid `fieldRef.fieldPath`: `metadata.annotations['` (22), a 253-character prefix,
/// '/', a 63-character name, `']`.
const ENV_FIELD_PATH_MAX: u64 = 341;
/// The container resources an environment variable may read (`resourceFieldRef.resource`), as
/// Kubernetes' `validateContainerResourceFieldSelector` has them for env.
const ENV_RESOURCES: &str = "['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage']";

/// `value` and `valueFrom` of an environment variable, as Kubernetes' `validateEnvVarValueFrom`
/// has them: `valueFrom` names exactly one source and is not combined with a non-empty `value`;
/// a `fieldRef` reads a pod field the API server exposes; a `resourceFieldRef` reads a
/// container resource. Kubernetes 1.31 does not validate a StatefulSet's pod template, so
/// without these the store's StatefulSet would be accepted and then fail to create its pods.
fn env_value_from(s: &mut Value) {
    push_rule(
        s,
        at(
            "!has(self.valueFrom) || !has(self.value) || size(self.value) == 0",
            ".valueFrom",
            "env[].valueFrom must not be set when value is not empty: give either value or valueFrom",
        ),
    );
    let from = node(s, "valueFrom");
    push_rule(
        from,
        here(
            "(has(self.fieldRef) ? 1 : 0) + (has(self.resourceFieldRef) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) == 1",
            "env[].valueFrom must set exactly one of fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef",
        ),
    );
    let field_ref = node(from, "fieldRef");
    let api_version = node(field_ref, "apiVersion");
    max_length(api_version, 16);
    push_rule(
        api_version,
        here(
            "self == '' || self == 'v1'",
            "fieldRef.apiVersion must be v1 (or left out)",
        ),
    );
    let path = node(field_ref, "fieldPath");
    max_length(path, ENV_FIELD_PATH_MAX);
    push_rule(
        path,
        here(
            &format!(
                r#"self.matches("{ENV_FIELD_PATH}") && (!self.contains('/') || self.indexOf('/') - self.indexOf("['") - 2 <= 253)"#
            ),
            "fieldRef.fieldPath must be one of metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP or status.podIPs",
        ),
    );
    let resource = node(from, "resourceFieldRef.resource");
    max_length(resource, 253);
    push_rule(
        resource,
        here(
            &format!(
                "self in {ENV_RESOURCES} || self.startsWith('limits.hugepages-') || self.startsWith('requests.hugepages-')"
            ),
            "resourceFieldRef.resource must be one of limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory, requests.ephemeral-storage, limits.hugepages-<size> or requests.hugepages-<size>",
        ),
    );
}

// ----- NetworkPolicy peers and rules -----

/// `network.policies`: the peers of every list, and the extra ingress and egress rules.
pub fn network_policies(s: &mut Schema) {
    edit(s, network_policies_value);
}

fn network_policies_value(s: &mut Value) {
    for list in [
        "ingressFrom",
        "metricsFrom",
        "dnsTo",
        "kafkaTo",
        "authWebhookTo",
    ] {
        peer(node(s, &format!("{list}.[]")));
        brief(node(s, list));
    }
    for (list, peers) in [("extraIngress", "from"), ("extraEgress", "to")] {
        let r = node(s, &format!("{list}.[]"));
        let p = node(r, peers);
        max_items(p, 32);
        peer(node(p, "[]"));
        let ports = node(r, "ports");
        max_items(ports, 32);
        port(node(ports, "[]"));
        brief(node(s, list));
    }
}

fn peer(s: &mut Value) {
    push_rule(
        s,
        here(
            "has(self.ipBlock) || has(self.podSelector) || has(self.namespaceSelector)",
            "a peer must set ipBlock, podSelector or namespaceSelector",
        ),
    );
    push_rule(
        s,
        forbidden_at(
            "!has(self.ipBlock) || !(has(self.podSelector) || has(self.namespaceSelector))",
            ".ipBlock",
            "ipBlock cannot be combined with podSelector or namespaceSelector in one peer: list them as separate peers",
        ),
    );
    let ip = node(s, "ipBlock");
    let c = node(ip, "cidr");
    max_length(c, 64);
    push_rule(
        c,
        here(
            "isCIDR(self)",
            "ipBlock.cidr must be a CIDR with a valid prefix length, such as 10.0.0.0/8 or fd00::/64",
        ),
    );
    let except = node(ip, "except");
    max_items(except, 32);
    let e = node(except, "[]");
    max_length(e, 64);
    push_rule(
        e,
        here(
            "isCIDR(self)",
            "ipBlock.except entries must be CIDRs such as 10.1.0.0/16",
        ),
    );
    // `containsIP` of the entry's address plus a longer prefix, not `containsCIDR`: Kubernetes
    // 1.31's `containsCIDR` refuses valid nested CIDRs (192.0.2.128/25 in 192.0.2.0/24).
    push_rule(
        ip,
        at(
            "!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsIP(cidr(e).ip()) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",
            ".except",
            "ipBlock.except entries must lie strictly inside ipBlock.cidr: use longer prefixes within it, or widen cidr",
        ),
    );
    label_selector(node(s, "podSelector"), Syntax::Operators);
    label_selector(node(s, "namespaceSelector"), Syntax::Operators);
}

/// A port name (IANA service name) in one regular expression: lowercase letters, digits and
/// single '-' between them, with at least one letter (at most 15 characters: `maxLength`).
pub const PORT_NAME: &str = r"^([0-9]+-)*[0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$";

/// `port` is int-or-string: as with quantities (see [`resources`]), a rule reading its string
/// form is too expensive for a Kubernetes 1.31 API server in a list of lists, so the schema
/// checks it (`pattern` for a name, `minimum`/`maximum` for a number) and the `endPort` rule
/// uses only `type()` and a comparison.
fn port(s: &mut Value) {
    enumerate(node(s, "protocol"), &["TCP", "UDP", "SCTP"]);
    range(node(s, "endPort"), 1, Some(65535));
    let p = node(s, "port");
    max_length(p, 15);
    set(p, "pattern", json!(PORT_NAME));
    range(p, 1, Some(65535));
    // `type()` is not in kube's client-side interpreter: this rule is checked by the API
    // server only (tests/cel.rs).
    push_rule(
        s,
        at(
            "!has(self.endPort) || (has(self.port) && type(self.port) == int && self.endPort >= int(self.port))",
            ".endPort",
            "ports[].endPort needs a numeric port and must not be below it: set port to the first port of the range",
        ),
    );
}
