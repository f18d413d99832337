//! Reading Pinterest's OpenAPI description.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The spec's path: `PINTEREST_OPENAPI` (relative paths are taken from the workspace root), or
/// the copy vendored in `tests/data/pinterest-openapi/openapi.json`.
pub fn path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var_os("PINTEREST_OPENAPI") {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => root.join(p),
        None => vendored(),
    }
}

/// The copy of the spec kept in the repository.
pub fn vendored() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pinterest-openapi/openapi.json")
}

/// Loads the spec.
///
/// # Panics
///
/// When it cannot be read or is not JSON: the copy lives in the repository, so a missing one is
/// a broken checkout (or a wrong `PINTEREST_OPENAPI`), never a reason to skip.
pub fn load() -> Value {
    load_from(&path())
}

/// Loads the spec at `path`.
///
/// # Panics
///
/// When it cannot be read or is not JSON.
pub fn load_from(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("the OpenAPI file {}: {e}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("the OpenAPI file {} is not JSON: {e}", path.display()))
}

/// A schema from `components.schemas`.
pub fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("schema {name} is not in the spec"))
}

/// Names of all schemas starting with `prefix`.
pub fn schema_names(spec: &Value, prefix: &str) -> Vec<String> {
    spec["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
        .keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

/// A schema's properties with their types, following `allOf` and `$ref`.
pub fn properties(spec: &Value, schema: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    collect(spec, schema, &mut out, &mut BTreeSet::new());
    out
}

/// A schema's required property names, following `allOf` and `$ref`.
pub fn required(spec: &Value, schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let schema = resolve(spec, schema);
    for name in schema["required"].as_array().into_iter().flatten() {
        out.insert(
            name.as_str()
                .expect("required names are strings")
                .to_owned(),
        );
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(required(spec, part));
    }
    out
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => schema,
    }
}

fn collect(
    spec: &Value,
    schema: &Value,
    out: &mut Vec<(String, Value)>,
    seen: &mut BTreeSet<String>,
) {
    let schema = resolve(spec, schema);
    if let Some(props) = schema["properties"].as_object() {
        for (name, value) in props {
            if seen.insert(name.clone()) {
                out.push((name.clone(), resolve(spec, value).clone()));
            }
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect(spec, part, out, seen);
    }
}

/// The scope names of an OAuth flow in `securitySchemes`.
pub fn scopes(spec: &Value, scheme: &str, flow: &str) -> Vec<String> {
    spec["components"]["securitySchemes"][scheme]["flows"][flow]["scopes"]
        .as_object()
        .unwrap_or_else(|| panic!("no scopes for {scheme}/{flow}"))
        .keys()
        .cloned()
        .collect()
}
