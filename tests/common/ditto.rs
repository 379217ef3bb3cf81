//! Validation of the management API's requests and responses against an OpenAPI 3.1
//! document: Ditto's published Operator Management API document (the fixture
//! `tests/assets/ditto/operator-api-openapi.yml`, loaded unchanged, with the schemas it refers to
//! but does not define added here), or the operator's own `/openapi.json`. Schemas are
//! JSON Schema 2020-12 (the `jsonschema` crate, formats asserted, unknown formats such as
//! `u-int32` ignored, no reference fetched from the network): a schema is the document itself
//! with a root `$ref` to the schema's place in it, so every `#/components/schemas/...` reference
//! resolves inside the document.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Ditto's document, as fetched.
pub const DITTO_YAML: &str = include_str!("../assets/ditto/operator-api-openapi.yml");

/// An OpenAPI document to validate against.
pub struct Doc {
    /// The document (JSON).
    pub doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

/// The schemas Ditto's document refers to and does not define (design notes, section 3.1).
fn fill_in_ditto(doc: &mut Value) {
    let schemas = &doc["components"]["schemas"];
    let permission = schemas["ApiKey"]["properties"]["permissions"].clone();
    let provider = schemas["AddProviderRequest"]["properties"]["config"].clone();
    let label = schemas["App"]["properties"]["name"].clone();
    assert!(
        permission.is_object() && provider.is_object() && label.is_object(),
        "the fixture changed: the places the missing schemas are taken from moved"
    );
    let added = json!({
        // `ApiKey.permissions` is the inline schema titled Permission.
        "Permission": permission,
        // `AddProviderRequest.config` is the inline oneOf titled ProviderConfig.
        "ProviderConfig": provider,
        // `App.name` is the inline string titled Dns1123Label.
        "Dns1123Label": label,
        // Inferred from the listApiKeys example (both fields, no others); which fields are
        // required is not published, so none are.
        "PermissionRules": {"type": "object", "properties": {
            "everything": {"type": "boolean"},
            "queriesByCollection": {"type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}}}
        }},
    });
    // Data bridges (#15). Ditto's document defines `DataBridge` (with its status) and
    // `ListResponse_DataBridge`, but its operations refer to `DataBridgeRequest`,
    // `DataBridgeObject` and `ListResponse_DataBridgeObject`: the object is the `DataBridge`
    // schema, a request is the same without `status` (which a client does not send), the list
    // is `ListResponse_DataBridge`. One change, written down: the two branches of
    // `DataBridge.bridge.oneOf` (Kafka, MongoConnector) require nothing, so every object
    // matches both and the `oneOf` fails for any body; here each branch requires its own key
    // (`kafka`, `mongoConnector`), the only reading under which the document accepts a bridge.
    let mut bridge = schemas["DataBridge"].clone();
    let list = schemas["ListResponse_DataBridge"].clone();
    assert!(
        bridge["properties"]["bridge"]["oneOf"]
            .as_array()
            .map(Vec::len)
            == Some(2)
            && list.is_object(),
        "the fixture changed: DataBridge or ListResponse_DataBridge moved"
    );
    for (branch, key) in [(0, "kafka"), (1, "mongoConnector")] {
        let b = &mut bridge["properties"]["bridge"]["oneOf"][branch];
        assert!(
            b["properties"].get(key).is_some(),
            "the fixture changed: {key}"
        );
        assert!(
            b.get("required").is_none(),
            "the fixture now requires {key}: drop this"
        );
        b["required"] = json!([key]);
    }
    let mut request = bridge.clone();
    request["properties"]
        .as_object_mut()
        .unwrap()
        .remove("status");
    let bridges = json!({
        "DataBridgeObject": bridge,
        "DataBridgeRequest": request,
        "ListResponse_DataBridgeObject": list,
    });
    let mut added = added;
    added
        .as_object_mut()
        .unwrap()
        .extend(bridges.as_object().unwrap().clone());
    let map = doc["components"]["schemas"].as_object_mut().unwrap();
    for (k, v) in added.as_object().unwrap() {
        assert!(
            !map.contains_key(k),
            "the fixture now defines {k}: drop it here"
        );
        map.insert(k.clone(), v.clone());
    }
}

/// JSON pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl Doc {
    /// Ditto's document with the missing schemas added.
    pub fn ditto() -> Doc {
        let mut doc: Value = serde_yaml_ng::from_str(DITTO_YAML).expect("the fixture is YAML");
        fill_in_ditto(&mut doc);
        Doc::new(doc)
    }

    /// Any document.
    pub fn new(doc: Value) -> Doc {
        Doc {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The path template `path` matches (`{x}` matches one non-empty segment).
    pub fn template_of(&self, path: &str) -> Option<String> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.doc["paths"].as_object()?.keys().find_map(|t| {
            let tsegs: Vec<&str> = t.split('/').collect();
            let fits = tsegs.len() == segs.len()
                && tsegs.iter().zip(&segs).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            fits.then(|| t.clone())
        })
    }

    /// The operation object of `method` on `template`.
    pub fn operation(&self, method: &str, template: &str) -> Option<&Value> {
        self.doc["paths"]
            .get(template)?
            .get(method.to_ascii_lowercase())
    }

    fn validator(&self, pointer: &str) -> std::sync::Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        let mut root = self.doc.clone();
        // A JSON pointer in a URI fragment: characters a fragment cannot hold are %-escaped.
        let fragment = pointer
            .replace('%', "%25")
            .replace('{', "%7B")
            .replace('}', "%7D");
        root["$ref"] = Value::String(format!("#{fragment}"));
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}"));
        let v = std::sync::Arc::new(v);
        cache.insert(pointer.to_string(), v.clone());
        v
    }

    /// Validate `value` against the schema at JSON pointer `pointer` of the document.
    pub fn validate_at(&self, pointer: &str, value: &Value) -> Result<(), String> {
        let v = self.validator(pointer);
        let errors: Vec<String> = v
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{value} against {pointer}: {}", errors.join("; ")))
        }
    }

    /// Validate against component schema `name`.
    pub fn validate_schema(&self, name: &str, value: &Value) -> Result<(), String> {
        self.validate_at(&format!("/components/schemas/{}", escape(name)), value)
    }

    fn media_pointer(template: &str, method: &str) -> String {
        format!(
            "/paths/{}/{}",
            escape(template),
            method.to_ascii_lowercase()
        )
    }

    /// Validate a response of `method` on the concrete `path` with `status` and JSON `body`:
    /// against the schema the document gives that status, if any; an error status must
    /// carry an `Error` body with a string `error` whatever the document says (Ditto's lists
    /// some error statuses without a schema, and none of 401, 403, 500, 503, 504).
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let template = self
            .template_of(path)
            .ok_or_else(|| format!("{path} matches no path of the document"))?;
        let op = self
            .operation(method, &template)
            .ok_or_else(|| format!("{method} {template} is not in the document"))?;
        let code = status.to_string();
        let listed = op["responses"].get(&code);
        if status >= 400 {
            if !body["error"].is_string() {
                return Err(format!("{status} body {body} has no error string"));
            }
            self.validate_schema("Error", body)?;
        }
        match listed {
            Some(r) if r["content"]["application/json"].get("schema").is_some() => self
                .validate_at(
                    &format!(
                        "{}/responses/{code}/content/application~1json/schema",
                        Doc::media_pointer(&template, method)
                    ),
                    body,
                ),
            Some(_) => Ok(()),
            None if status == 200 => Err(format!("{method} {template} lists no 200")),
            None => Ok(()),
        }
    }

    /// Validate a request body of `method` on the concrete `path`.
    pub fn validate_request(&self, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let template = self
            .template_of(path)
            .ok_or_else(|| format!("{path} matches no path of the document"))?;
        self.validate_at(
            &format!(
                "{}/requestBody/content/application~1json/schema",
                Doc::media_pointer(&template, method)
            ),
            body,
        )
    }

    /// Every example value of the document's responses: (method, template, status, example
    /// name, value).
    pub fn response_examples(&self) -> Vec<(String, String, String, String, Value)> {
        let mut out = vec![];
        for (template, item) in self.doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (code, r) in op["responses"].as_object().into_iter().flatten() {
                    let examples = &r["content"]["application/json"]["examples"];
                    for (name, e) in examples.as_object().into_iter().flatten() {
                        if let Some(v) = e.get("value") {
                            out.push((
                                method.clone(),
                                template.clone(),
                                code.clone(),
                                name.clone(),
                                v.clone(),
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}
