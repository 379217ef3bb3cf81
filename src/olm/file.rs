//! What every generator returns: files, as paths and contents.

use serde_json::Value;

/// A generated file: path relative to the repository root, and its content.
pub type File = (String, String);

/// A typed object as a JSON value (keys sorted, like every generated file).
pub fn value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("manifests serialize")
}
