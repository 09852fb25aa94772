//! Schemas as MCP clients accept them.
//!
//! A skill's schemas are JSON Schema 2020-12, usually generated (schemars).
//! The host validates inputs and outputs against them exactly as declared;
//! what a tool *publishes* is a portable rewrite that the major MCP
//! clients (the TypeScript SDK's Ajv, the Python SDK, the Inspector) take
//! without warnings, and that accepts the same instances — except values
//! beyond the range a Rust integer format names, which the skill could not
//! have read anyway:
//!
//! - `"type": ["integer", "null"]` becomes `"anyOf": [{"type": "integer",
//!   …}, {"type": "null"}]`, with the type's own keywords moved into its
//!   branch (Ajv's strict mode refuses union types);
//! - a `format` that is not one of JSON Schema's own (`uint`, `int32`,
//!   `double`, …, from Rust's integer types) is dropped — in 2020-12 a
//!   format is an annotation, so no instance changes verdict — and the
//!   bounds it implies are kept as `minimum`/`maximum` where they fit in a
//!   double;
//! - `$schema` is dropped: MCP's default dialect is already 2020-12, and
//!   clients that compile with a draft-07 validator reject the URI.
//!
//! Every schema position is walked (`properties`, `items`, `$defs`,
//! `anyOf`, …); property *names* are never mistaken for keywords.

use serde_json::{Map, Value, json};

/// JSON Schema's own formats (2020-12, format-annotation vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords whose value is one schema.
const ONE_SCHEMA: &[&str] = &[
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];

/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Keywords that describe the instance rather than constrain one type;
/// they stay at the top when a union type is split into branches.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "$id",
    "$anchor",
    "$defs",
    "definitions",
];

/// The portable form of `schema` (see the module docs).
pub fn portable(schema: &Value) -> Value {
    let mut out = schema.clone();
    if let Value::Object(map) = &mut out {
        map.remove("$schema");
    }
    rewrite(&mut out);
    out
}

fn rewrite(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    for (key, value) in map.iter_mut() {
        let key = key.as_str();
        if ONE_SCHEMA.contains(&key) {
            rewrite(value);
        } else if SCHEMA_ARRAYS.contains(&key) {
            if let Value::Array(items) = value {
                items.iter_mut().for_each(rewrite);
            }
        } else if SCHEMA_MAPS.contains(&key)
            && let Value::Object(named) = value
        {
            named.values_mut().for_each(rewrite);
        }
    }
    rewrite_format(map);
    split_union_type(map);
}

/// Drop a non-standard `format`, keeping the bounds it implies.
fn rewrite_format(map: &mut Map<String, Value>) {
    let Some(Value::String(format)) = map.get("format") else {
        return;
    };
    if STANDARD_FORMATS.contains(&format.as_str()) {
        return;
    }
    let bounds: Option<(f64, Option<f64>)> = match format.as_str() {
        "uint8" => Some((0.0, Some(255.0))),
        "uint16" => Some((0.0, Some(65_535.0))),
        "uint32" => Some((0.0, Some(4_294_967_295.0))),
        "uint" | "uint64" | "uint128" | "usize" => Some((0.0, None)),
        _ => None,
    };
    let signed: Option<(f64, f64)> = match format.as_str() {
        "int8" => Some((-128.0, 127.0)),
        "int16" => Some((-32_768.0, 32_767.0)),
        "int32" => Some((-2_147_483_648.0, 2_147_483_647.0)),
        _ => None,
    };
    map.remove("format");
    let mut tighten = |key: &str, bound: f64, lower: bool| {
        let keep = match map.get(key).and_then(Value::as_f64) {
            Some(existing) if lower => existing >= bound,
            Some(existing) => existing <= bound,
            None => false,
        };
        if !keep {
            map.insert(key.into(), number(bound));
        }
    };
    if let Some((min, max)) = bounds {
        tighten("minimum", min, true);
        if let Some(max) = max {
            tighten("maximum", max, false);
        }
    }
    if let Some((min, max)) = signed {
        tighten("minimum", min, true);
        tighten("maximum", max, false);
    }
}

/// An integral bound as an integer (so `0`, not `0.0`).
fn number(bound: f64) -> Value {
    json!(bound as i64)
}

/// `"type": [A, B, …]` → `anyOf` with one branch per type. Keywords that
/// constrain values go into every branch (each applies only to its own
/// type, so the verdict is unchanged); annotations stay at the top.
fn split_union_type(map: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = map.get("type") else {
        return;
    };
    let types = types.clone();
    map.remove("type");
    if types.len() == 1 {
        map.insert("type".into(), types[0].clone());
        return;
    }
    let constraints: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map.retain(|k, _| ANNOTATIONS.contains(&k.as_str()));
    let branches: Vec<Value> = types
        .into_iter()
        .map(|t| {
            let mut branch = Map::new();
            if t != "null" {
                branch.extend(constraints.clone());
            }
            branch.insert("type".into(), t);
            Value::Object(branch)
        })
        .collect();
    map.insert("anyOf".into(), Value::Array(branches));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(schema: &Value, instance: &Value) -> bool {
        jsonschema::validator_for(schema)
            .expect("compiles")
            .is_valid(instance)
    }

    /// What the word-stats example declares (schemars output).
    fn generated() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Input", "type": "object", "additionalProperties": false,
            "required": ["text"],
            "properties": {
                "text": {"type": "string"},
                "top": {"type": ["integer", "null"], "format": "uint", "minimum": 0,
                        "default": null, "description": "How many."},
                "small": {"type": "integer", "format": "uint8", "minimum": 0},
                "signed": {"type": "integer", "format": "int32"},
                "ratio": {"type": "number", "format": "double"},
                "when": {"type": "string", "format": "date-time"},
                "type": {"type": ["string", "null"]},
                "list": {"type": "array", "items": {"$ref": "#/$defs/W"}}
            },
            "$defs": {"W": {"type": "object", "properties": {
                "n": {"type": "integer", "format": "uint", "minimum": 0}}}}
        })
    }

    fn walk(v: &Value, f: &mut impl FnMut(&Map<String, Value>)) {
        match v {
            Value::Object(m) => {
                f(m);
                m.values().for_each(|c| walk(c, f));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, f)),
            _ => {}
        }
    }

    #[test]
    fn no_union_types_no_foreign_formats_no_dialect() {
        let p = portable(&generated());
        assert!(p.get("$schema").is_none());
        walk(&p, &mut |m| {
            // (An object under "type" is a property named "type".)
            if let Some(t) = m.get("type") {
                assert!(!t.is_array(), "union type left: {m:?}");
            }
            if let Some(Value::String(f)) = m.get("format") {
                assert!(STANDARD_FORMATS.contains(&f.as_str()), "format {f} left");
            }
        });
        // A standard format is kept; the property named "type" is a name,
        // not a keyword, and is rewritten as a schema.
        assert_eq!(p["properties"]["when"]["format"], "date-time");
        assert!(p["properties"]["type"]["anyOf"].is_array());
        assert_eq!(p["properties"]["top"]["description"], "How many.");
        assert_eq!(p["properties"]["small"]["maximum"], 255);
        assert_eq!(p["properties"]["signed"]["minimum"], -2_147_483_648_i64);
        assert_eq!(p["$defs"]["W"]["properties"]["n"].get("format"), None);
    }

    #[test]
    fn the_rewrite_accepts_exactly_what_the_original_accepts() {
        let original = generated();
        let p = portable(&original);
        let mut cases = vec![
            json!({}),
            json!({"text": "a"}),
            json!({"text": 1}),
            json!({"text": "a", "extra": 1}),
            json!({"text": "a", "when": "not a date"}),
            json!({"text": "a", "ratio": 0.5}),
            json!({"text": "a", "ratio": "x"}),
            json!({"text": "a", "type": null}),
            json!({"text": "a", "type": 3}),
            json!({"text": "a", "list": [{"n": 1}, {"n": -1}]}),
            json!({"text": "a", "list": [{"n": 1.5}]}),
        ];
        for top in [
            json!(null),
            json!(0),
            json!(3),
            json!(-1),
            json!(2.5),
            json!("3"),
        ] {
            cases.push(json!({"text": "a", "top": top}));
        }
        for small in [0, 255, -1] {
            cases.push(json!({"text": "a", "small": small}));
        }
        for signed in [0_i64, -2_147_483_648, 2_147_483_647] {
            cases.push(json!({"text": "a", "signed": signed}));
        }
        for case in &cases {
            assert_eq!(
                valid(&original, case),
                valid(&p, case),
                "verdicts differ for {case}"
            );
        }
        // The published form states the bounds a Rust integer format
        // implies (the skill could not read 256 into a u8).
        assert!(valid(&original, &json!({"text": "a", "small": 256})));
        assert!(!valid(&p, &json!({"text": "a", "small": 256})));
        assert!(!valid(&p, &json!({"text": "a", "top": -1})));
    }

    #[test]
    fn an_already_portable_schema_is_unchanged() {
        let s = json!({"type": "object", "properties": {"a": {"type": "string"}},
                       "required": ["a"]});
        assert_eq!(portable(&s), s);
    }
}
