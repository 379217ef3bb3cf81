//! Redaction: the one place that decides what of a collected byte may leave the cluster.
//!
//! Every file `gather` writes passes through [`text`] (and every object through [`object`]
//! first), so a rule added here covers objects, logs, metrics and discovery alike. What is
//! replaced by [`MASK`]:
//!
//! - Secret `data`/`stringData` values (the keys are kept) and ConfigMap `binaryData` values;
//! - the `kubectl.kubernetes.io/last-applied-configuration` annotation, redacted as an object
//!   (a Secret applied with `kubectl apply` carries its values there);
//! - the value of any field, environment variable (`name`/`value`) or `key=value`,
//!   `key: value`, `"key":"value"` whose key looks secret ([`secret_key`]: password,
//!   passphrase, token, secret, API key, private key, credentials, authorization, JAAS config);
//! - `Bearer …` and `Basic …` credentials, JWT-shaped tokens (`eyJ….….…`) and the operator's
//!   own API keys (`bpk_` and base64url, see [`crate::access::key::PREFIX`]);
//! - the user information of URLs (`scheme://user:pass@host` → `scheme://REDACTED@host`,
//!   `mongodb+srv://` included);
//! - the body of PEM private keys (`-----BEGIN … PRIVATE KEY-----`); certificates are kept.
//!
//! The rules err on the side of hiding: a value is redacted when its key merely looks secret.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const MASK: &str = "REDACTED";

/// The annotation `kubectl apply` keeps the whole applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Words whose presence in a key (lower-cased, letters and digits only) makes its value secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
    "accesskey",
    "authorization",
    "jaasconfig",
    "signingkey",
    "encryptionkey",
    "sharedkey",
    "connectionstring",
];

/// Endings of keys that contain a secret word but name or describe a secret rather than hold
/// one (`secretName`, `secretKeyRef`, `tokenExpirationSeconds`, `passwordPath`).
const NOT_SECRET_ENDINGS: &[&str] = &[
    // Resource names, whose values are lists or counts (`secrets:` of a ServiceAccount).
    "secrets",
    "apikeys",
    "name",
    "names",
    "ref",
    "refs",
    "path",
    "file",
    "dir",
    "namespace",
    "kind",
    "type",
    "seconds",
    "fingerprint",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "length",
    "count",
    "selector",
    "mode",
];

/// Whether a key's value is to be redacted.
pub fn secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_WORDS.iter().any(|w| k.contains(w)) && !NOT_SECRET_ENDINGS.iter().any(|e| k.ends_with(e))
}

/// A value that is never a secret even under a secret-looking key (`automountServiceAccountToken: false`).
fn harmless(v: &str) -> bool {
    matches!(
        v.trim(),
        "" | "true" | "false" | "null" | "~" | "|" | "|-" | ">" | ">-" | "{}" | "[]" | MASK
    )
}

/// Redact an object (any JSON value from the API server) in place: structure-aware rules,
/// then [`text`] on every string in it.
pub fn object(v: &mut Value) {
    if let Some(kind) = v.get("kind").and_then(Value::as_str).map(str::to_owned) {
        let core = v.get("apiVersion").and_then(Value::as_str) == Some("v1");
        if core && kind == "Secret" {
            for field in ["data", "stringData"] {
                mask_values(v.get_mut(field));
            }
        }
        if core && kind == "ConfigMap" {
            mask_values(v.get_mut("binaryData"));
        }
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
            .and_then(|a| a.get_mut(LAST_APPLIED))
        {
            *a = Value::String(last_applied(a.as_str().unwrap_or_default()));
        }
    }
    walk(v);
}

/// The last-applied annotation, redacted as an object (all of it when it is not JSON).
pub fn last_applied(s: &str) -> String {
    match serde_json::from_str::<Value>(s) {
        Ok(mut inner) => {
            object(&mut inner);
            serde_json::to_string(&inner).unwrap_or_else(|_| MASK.into())
        }
        Err(_) => MASK.into(),
    }
}

/// [`text`] on every string of a document whose keys are not data (the gather's own summary,
/// whose keys are resource names such as `core/secrets`).
pub fn strings(v: &mut Value) {
    match v {
        Value::String(s) => *s = text(s),
        Value::Array(a) => a.iter_mut().for_each(strings),
        Value::Object(m) => m.values_mut().for_each(strings),
        _ => {}
    }
}

fn mask_values(v: Option<&mut Value>) {
    if let Some(map) = v.and_then(Value::as_object_mut) {
        for val in map.values_mut() {
            *val = Value::String(MASK.into());
        }
    }
}

fn walk(v: &mut Value) {
    match v {
        Value::String(s) => {
            let r = text(s);
            if r != *s {
                *s = r;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(walk),
        Value::Object(map) => {
            // An environment variable (or any name/value pair) with a secret-looking name.
            let env_secret = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_key);
            for (k, val) in map.iter_mut() {
                let secret = secret_key(k) || (env_secret && k == "value");
                match val {
                    Value::String(s) if secret && !harmless(s) => *s = MASK.into(),
                    Value::Number(_) if secret => *val = Value::String(MASK.into()),
                    _ => walk(val),
                }
            }
        }
        _ => {}
    }
}

/// Redact free text (a log, a configuration file, a serialized object): PEM private keys
/// across lines, then every line with [`line`].
pub fn text(s: &str) -> String {
    let s = pem_private_keys(s);
    s.split_inclusive('\n').map(line).collect()
}

/// Redact one line: credential URLs, bearer/basic credentials, secret-looking key/value
/// pairs, JWTs and API keys.
pub fn line(l: &str) -> String {
    let l = urls(l);
    let l = auth_schemes(&l);
    let l = key_values(&l);
    tokens(&l)
}

fn pem_private_keys(s: &str) -> String {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(b) = rest.find(BEGIN) {
        let after = &rest[b + BEGIN.len()..];
        let Some(h) = after.find("-----") else { break };
        let label = &after[..h];
        let body_start = b + BEGIN.len() + h + 5;
        out.push_str(&rest[..body_start]);
        rest = &rest[body_start..];
        if label.contains("PRIVATE KEY") && !label.contains('\n') {
            out.push_str(MASK);
            match rest.find(END) {
                Some(e) => rest = &rest[e..],
                None => rest = "",
            }
        }
    }
    out.push_str(rest);
    out
}

/// Characters that end a URL or a token in text.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | '\\')
}

fn urls(l: &str) -> String {
    let mut out = String::with_capacity(l.len());
    let mut rest = l;
    while let Some(p) = rest.find("://") {
        let start = p + 3;
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(is_delimiter).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@')
            && at > 0
        {
            out.push_str(MASK);
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (from..h.len().saturating_sub(n.len() - 1)).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn auth_schemes(l: &str) -> String {
    let mut s = l.to_string();
    for scheme in ["bearer", "basic"] {
        let mut from = 0;
        while let Some(i) = find_ci(&s, scheme, from) {
            let word_start = i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric();
            let after = i + scheme.len();
            let spaces = s[after..].len() - s[after..].trim_start_matches([' ', '\t']).len();
            if !word_start || spaces == 0 {
                from = after;
                continue;
            }
            let v = after + spaces;
            let end = s[v..]
                .find(|c: char| is_delimiter(c) || c == ',')
                .map_or(s.len(), |e| v + e);
            if end > v && &s[v..end] != MASK {
                s.replace_range(v..end, MASK);
            }
            from = v + MASK.len().min(s.len() - v);
        }
    }
    s
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

fn key_values(l: &str) -> String {
    let mut s = l.to_string();
    let mut i = 0;
    while i < s.len() {
        let b = s.as_bytes();
        if b[i] != b':' && b[i] != b'=' {
            i += 1;
            continue;
        }
        let sep = b[i];
        // The key before the separator: spaces (before '='), a closing quote, maybe escaped.
        let mut k_end = i;
        if sep == b'=' {
            while k_end > 0 && b[k_end - 1] == b' ' {
                k_end -= 1;
            }
        }
        let quoted_key = k_end > 0 && b[k_end - 1] == b'"';
        if k_end > 0 && (b[k_end - 1] == b'"' || b[k_end - 1] == b'\'') {
            k_end -= 1;
            if k_end > 0 && b[k_end - 1] == b'\\' {
                k_end -= 1;
            }
        }
        let mut k_start = k_end;
        while k_start > 0 && is_key_char(b[k_start - 1]) {
            k_start -= 1;
        }
        if k_start == k_end || !secret_key(&s[k_start..k_end]) {
            i += 1;
            continue;
        }
        // The value after it.
        let mut v = i + 1;
        while v < b.len() && (b[v] == b' ' || b[v] == b'\t') {
            v += 1;
        }
        if sep == b':' && v == i + 1 && v < b.len() && b[v] == b'/' {
            // `scheme://`, not a key: value.
            i += 1;
            continue;
        }
        let escaped = v + 1 < b.len() && b[v] == b'\\' && (b[v + 1] == b'"' || b[v + 1] == b'\'');
        // A JSON member with a bare value (a number, true, false, null): replaced by a string
        // so that the document stays JSON.
        let mut mask = MASK.to_owned();
        let (v_start, v_end) = if escaped || (v < b.len() && (b[v] == b'"' || b[v] == b'\'')) {
            let q = if escaped { b[v + 1] } else { b[v] };
            let open = v + if escaped { 2 } else { 1 };
            let mut e = open;
            loop {
                if e >= b.len() {
                    break;
                }
                if b[e] == q && (!escaped || b[e - 1] == b'\\') {
                    // An escaped closing quote ends an escaped value; a plain one a plain value.
                    let plain_escaped = !escaped && e > open && b[e - 1] == b'\\';
                    if !plain_escaped {
                        break;
                    }
                }
                e += 1;
            }
            let close = if escaped && e < b.len() { e - 1 } else { e };
            (open, close.max(open))
        } else {
            let line_end = s[v..].find(['\n', '\r']).map_or(s.len(), |e| v + e);
            let e = if sep == b'=' {
                s[v..line_end]
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\'' | ')' | '}')
                    })
                    .map_or(line_end, |e| v + e)
            } else if quoted_key {
                mask = format!("\"{MASK}\"");
                s[v..line_end]
                    .find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']'))
                    .map_or(line_end, |e| v + e)
            } else if k_start > 0 && (b[k_start - 1] == b'"' || b[k_start - 1] == b'\'') {
                // `"Authorization: Bearer x"`: the pair is inside a quoted string, which its
                // quote ends.
                let q = b[k_start - 1] as char;
                s[v..line_end].find(q).map_or(line_end, |e| v + e)
            } else {
                v + s[v..line_end].trim_end().len()
            };
            (v, e)
        };
        if v_end > v_start && !harmless(&s[v_start..v_end]) && !s[v_start..].starts_with(MASK) {
            s.replace_range(v_start..v_end, &mask);
            i = v_start + mask.len();
        } else {
            i = v_end.max(i + 1);
        }
    }
    s
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn tokens(l: &str) -> String {
    let b = l.as_bytes();
    let is_tok = |c: u8| is_b64url(c) || c == b'.';
    let prefix = crate::access::key::PREFIX;
    let mut out = String::with_capacity(l.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_tok(b[i]) {
            i += 1;
            continue;
        }
        let end = (i..b.len()).find(|&j| !is_tok(b[j])).unwrap_or(b.len());
        let run = &l[i..end];
        let parts: Vec<&str> = run.split('.').collect();
        if run.starts_with("eyJ") && parts.len() == 3 && parts[0].len() >= 8 && parts[1].len() >= 2
        {
            out.push_str(&l[copied..i]);
            out.push_str(MASK);
            copied = end;
        } else {
            // API keys, also glued to other text (`key=bpk_…` is split at `=` already).
            let mut from = i;
            while let Some(p) = l[from..end].find(prefix) {
                let k = from + p;
                let body = b[k + prefix.len()..end]
                    .iter()
                    .take_while(|c| is_b64url(**c))
                    .count();
                let k_end = k + prefix.len() + body;
                if body >= 16 {
                    out.push_str(&l[copied..k]);
                    out.push_str(MASK);
                    copied = k_end;
                }
                from = k_end;
            }
        }
        i = end;
    }
    out.push_str(&l[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const PLANT: &str = "Pl4nt3d-S3cr3t-xyz";

    fn gone(out: &str) {
        assert!(!out.contains(PLANT), "leaked: {out}");
    }

    #[test]
    fn secret_values_are_replaced_and_keys_kept() {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"},
            "data": {"tls.key": "cGxhbnQ="}, "stringData": {"password": PLANT}, "type": "Opaque"});
        object(&mut s);
        assert_eq!(s["data"]["tls.key"], MASK);
        assert_eq!(s["stringData"]["password"], MASK);
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["metadata"]["name"], "a");
    }

    #[test]
    fn last_applied_configuration_is_redacted_as_an_object() {
        let inner = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"},
            "data": {"k": PLANT}});
        let mut s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a",
            "annotations": {LAST_APPLIED: inner.to_string()}}, "data": {"k": "eA=="}});
        object(&mut s);
        let a = s["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap();
        gone(a);
        assert!(a.contains("\"k\""), "{a}");
        let mut bad =
            json!({"metadata": {"annotations": {LAST_APPLIED: format!("{{not json {PLANT}")}}});
        object(&mut bad);
        assert_eq!(bad["metadata"]["annotations"][LAST_APPLIED], MASK);
    }

    #[test]
    fn secret_looking_env_vars_and_fields_are_redacted() {
        let mut p = json!({"spec": {"containers": [{"name": "c", "env": [
            {"name": "DB_PASSWORD", "value": PLANT},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}}
        ]}], "automountServiceAccountToken": false}});
        object(&mut p);
        let env = &p["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], MASK);
        assert_eq!(env[1]["value"], "debug");
        assert_eq!(env[2]["valueFrom"]["secretKeyRef"]["name"], "s");
        assert_eq!(p["spec"]["automountServiceAccountToken"], false);
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {
            "MONGO_PASSWORD": PLANT, "app.properties": format!("user=a\npassword={PLANT}\n")},
            "binaryData": {"blob": "AAAA"}});
        object(&mut cm);
        gone(&cm.to_string());
        assert!(
            cm["data"]["app.properties"]
                .as_str()
                .unwrap()
                .contains("user=a")
        );
        assert_eq!(cm["binaryData"]["blob"], MASK);
    }

    #[test]
    fn names_of_secrets_are_not_secrets() {
        for k in [
            "secretName",
            "secretKeyRef",
            "tokenExpirationSeconds",
            "passwordSecretRef",
            "kind",
        ] {
            assert!(!secret_key(k), "{k}");
        }
        for k in [
            "password",
            "DB_PASSWORD",
            "apiKey",
            "api-key",
            "client_secret",
            "sasl.jaas.config",
            "Authorization",
            "tls.key.passphrase",
            "token",
        ] {
            assert!(secret_key(k), "{k}");
        }
        let l = "secretName: my-secret";
        assert_eq!(line(l), l);
    }

    #[test]
    fn key_value_forms() {
        for l in [
            format!("password={PLANT}"),
            format!("--password={PLANT} --user=x"),
            format!("PASSWORD = {PLANT}"),
            format!("password: {PLANT}"),
            format!("  db_password: \"{PLANT}\""),
            format!("{{\"password\":\"{PLANT}\",\"user\":\"u\"}}"),
            format!("{{\\\"password\\\":\\\"{PLANT}\\\"}}"),
            format!("api_key='{PLANT}'"),
            format!("https://h/x?token={PLANT}&a=b"),
        ] {
            let out = line(&l);
            gone(&out);
            assert!(out.contains(MASK), "{out}");
        }
        assert_eq!(
            line("--password=x --user=bob"),
            "--password=REDACTED --user=bob"
        );
        assert_eq!(
            line("{\"token\": 12345, \"n\": 1}"),
            "{\"token\": \"REDACTED\", \"n\": 1}"
        );
        assert_eq!(line("  \"core/secrets\": 9,"), "  \"core/secrets\": 9,");
        assert_eq!(
            line("headers: \"Authorization: Bearer x\" # ok"),
            "headers: \"Authorization: REDACTED\" # ok"
        );
        assert_eq!(
            line("{\"password\":\"x\",\"user\":\"u\"}"),
            "{\"password\":\"REDACTED\",\"user\":\"u\"}"
        );
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for l in [
            "message: 'token: abc'".to_string(),
            format!("{{\"password\": 5, \"a\": \"Bearer {PLANT}\"}}"),
            format!("x mongodb://u:{PLANT}@h password={PLANT}"),
        ] {
            let once = text(&l);
            assert_eq!(text(&once), once);
        }
        let y = serde_yaml_ng::to_string(&json!({"message": "token: abc, ok"})).unwrap();
        let mut v: Value = serde_yaml_ng::from_str(&y).unwrap();
        object(&mut v);
        let twice = text(&serde_yaml_ng::to_string(&v).unwrap());
        let back: Value = serde_yaml_ng::from_str(&twice).unwrap();
        assert_eq!(back["message"], "token: REDACTED");
    }

    #[test]
    fn sasl_jaas_config() {
        let l = format!(
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"{PLANT}\";"
        );
        gone(&line(&l));
        let y = format!(
            "sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='{PLANT}';"
        );
        gone(&line(&y));
    }

    #[test]
    fn bearer_basic_and_jwt() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ";
        for l in [
            format!("Authorization: Bearer {PLANT}"),
            format!("GET / headers={{authorization: \"bearer {PLANT}\"}}"),
            format!("curl -H 'Bearer {PLANT}'"),
            format!("basic {PLANT}"),
        ] {
            gone(&line(&l));
        }
        let out = line(&format!("token is {jwt} ok"));
        assert_eq!(out, "token is REDACTED ok");
        assert_eq!(line("basically bearers"), "basically bearers");
    }

    #[test]
    fn credential_urls_keep_scheme_and_host() {
        assert_eq!(
            line("uri mongodb+srv://admin:hunter2@cluster0.example.net/db?x=1 end"),
            "uri mongodb+srv://REDACTED@cluster0.example.net/db?x=1 end"
        );
        assert_eq!(line("https://u:p@h:443/"), "https://REDACTED@h:443/");
        assert_eq!(line("http://example.com/a"), "http://example.com/a");
        gone(&line(&format!("kafka://bob:{PLANT}@b:9092")));
    }

    #[test]
    fn pem_private_keys_lose_their_body_certificates_do_not() {
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\n{PLANT}\nAAAA\n-----END EC PRIVATE KEY-----\n"
        );
        let out = text(&pem);
        gone(&out);
        assert!(out.contains("MIIcert"));
        assert!(out.contains("-----END EC PRIVATE KEY-----"));
        let escaped =
            format!("\"-----BEGIN PRIVATE KEY-----\\n{PLANT}\\n-----END PRIVATE KEY-----\"");
        gone(&text(&escaped));
        let truncated = format!("-----BEGIN RSA PRIVATE KEY-----\n{PLANT}");
        gone(&text(&truncated));
    }

    #[test]
    fn operator_api_keys() {
        let k = crate::access::key::PlainKey::generate();
        let out = line(&format!("key={} and x{}", "a", k.expose()));
        assert!(!out.contains(k.expose()), "{out}");
        let out = line(&format!("created {} for app", k.expose()));
        assert_eq!(out, "created REDACTED for app");
    }

    #[test]
    fn logs_are_redacted_line_by_line() {
        let log = format!(
            "2026-01-01T00:00:00Z INFO start\nconnecting to mongodb://root:{PLANT}@mongo:27017\nAuthorization: Bearer {PLANT}\nplain line\n"
        );
        let out = text(&log);
        gone(&out);
        assert_eq!(out.lines().count(), 4);
        assert!(out.contains("2026-01-01T00:00:00Z INFO start\n"));
        assert!(out.ends_with("plain line\n"));
    }

    /// A secret: characters a password may hold that do not end a value in any form.
    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#%*+/^_~-]{8,40}".prop_map(|s| format!("Q{s}"))
    }

    /// Text with no secret-looking key and no credentials.
    fn harmless_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[a-z]{1,10}",
                Just(" ".to_string()),
                Just("\n".to_string()),
                Just(": ".to_string()),
                Just("=".to_string()),
                Just("\"".to_string()),
                Just("name: x".to_string()),
                Just("http://example.com/path".to_string()),
                Just("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".to_string()),
                "[0-9]{1,5}",
            ],
            0..30,
        )
        .prop_map(|v| v.concat())
        .prop_filter("no secret word", |s| {
            let l = s.to_ascii_lowercase();
            !SECRET_WORDS.iter().any(|w| l.contains(w))
                && !l.contains("bearer")
                && !l.contains("basic")
                && !l.contains("eyj")
                && !l.contains("bpk_")
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("password"),
            Just("DB_PASSWORD"),
            Just("passphrase"),
            Just("apiKey"),
            Just("api_key"),
            Just("client-secret"),
            Just("token"),
            Just("accessKey"),
            Just("privateKey"),
            Just("credentials")
        ]
        .prop_map(String::from)
    }

    /// A secret planted in one of the shapes the rules know.
    fn planted(key: String, s: String) -> Vec<String> {
        vec![
            format!("{key}={s}"),
            format!("{key} = {s}"),
            format!("{key}: {s}"),
            format!("\"{key}\":\"{s}\""),
            format!("\"{key}\": \"{s}\""),
            format!("{key}='{s}'"),
            format!("\\\"{key}\\\":\\\"{s}\\\""),
            format!("Authorization: Bearer {s}"),
            format!("bearer {s}"),
            format!("postgres://user:{s}@db:5432/x"),
            format!("mongodb+srv://{s}@c.example.net"),
            format!("-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----"),
            format!(
                "sasl.jaas.config=x.ScramLoginModule required username=\"u\" password=\"{s}\";"
            ),
        ]
    }

    proptest! {
        #[test]
        fn a_planted_secret_never_survives(
            before in harmless_text(), after in harmless_text(), k in key(), s in secret(), shape in 0usize..13,
        ) {
            let p = planted(k, s.clone()).swap_remove(shape);
            let doc = format!("{before}\n{p}\n{after}");
            let out = text(&doc);
            prop_assert!(!out.contains(&s), "{out}");
            // And as an object's string, and a field.
            let mut v = json!({"data": {"cfg": doc}, "stringData": {}});
            object(&mut v);
            prop_assert!(!v.to_string().contains(&s));
        }

        #[test]
        fn jwts_and_api_keys_never_survive(before in harmless_text(), a in "[A-Za-z0-9_-]{8,40}", b in "[A-Za-z0-9_-]{2,60}", c in "[A-Za-z0-9_-]{0,60}") {
            let jwt = format!("eyJ{a}.{b}.{c}");
            let key = format!("bpk_{a}{b}{a}");
            let out = text(&format!("{before} {jwt} {key}\n"));
            prop_assert!(!out.contains(&jwt), "{out}");
            prop_assert!(!out.contains(&key), "{out}");
        }

        #[test]
        fn harmless_text_is_left_intact(t in harmless_text()) {
            prop_assert_eq!(text(&t), t.clone());
            let mut v = json!({"kind": "ConfigMap", "apiVersion": "v1", "data": {"a": t.clone()}});
            object(&mut v);
            prop_assert_eq!(v["data"]["a"].as_str().unwrap(), t.as_str());
        }

        #[test]
        fn secret_values_never_survive_whatever_their_keys(keys in proptest::collection::btree_map("[a-z.]{1,10}", secret(), 1..5)) {
            let mut v = json!({"apiVersion": "v1", "kind": "Secret", "data": keys.clone(), "stringData": keys.clone()});
            object(&mut v);
            let out = v.to_string();
            for (k, s) in &keys {
                prop_assert!(!out.contains(s.as_str()));
                let quoted = format!("\"{k}\"");
                prop_assert!(out.contains(&quoted));
            }
        }
    }
}
