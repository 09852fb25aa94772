//! Skills as MCP tools: what `tools/list` publishes and what a
//! `tools/call` result looks like.
//!
//! - MCP requires a tool's `inputSchema` to be an object schema. A skill
//!   whose input is an object schema (`"type": "object"`) is published as
//!   is (in [portable](super::schema::portable) form). Any other input
//!   schema (a string, an array, any JSON value) is **wrapped**: the tool
//!   takes one argument, `input`, holding the skill's input, and its
//!   description says so. The host unwraps it and checks it against the
//!   skill's own schema, as for any invocation.
//! - An output schema is published only when it promises an object (MCP
//!   carries structured results as objects).
//! - A refused or failed call is a tool error (`isError: true`) whose text
//!   is the JSON error (with the stable `code`) and whose `_meta` carries
//!   the same object under [`ERROR_META`]. It has **no**
//!   `structuredContent`: clients validate structured content against the
//!   tool's output schema even on errors, and an error is not an output.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, MetaObject, Tool};
use serde_json::{Map, Value, json};

use super::schema::portable;
use crate::skill_host::SkillInfo;

/// The `_meta` key of a tool error's `{code, message, …}`.
pub const ERROR_META: &str = "skillhost/error";

/// The argument a wrapped tool takes its input in.
pub const WRAPPED_ARGUMENT: &str = "input";

/// Whether a skill's input schema is already an object schema.
fn takes_object(input_schema: &Value) -> bool {
    input_schema.get("type") == Some(&json!("object"))
}

/// Every JSON type: "any value" spelled so that clients see a constraint
/// (the Inspector flags a schema with no validation keyword).
fn any_value() -> Value {
    json!({"anyOf": [
        {"type": "string"}, {"type": "number"}, {"type": "boolean"},
        {"type": "object"}, {"type": "array"}, {"type": "null"}
    ]})
}

/// `schema`, or — if it constrains nothing (`true`, or annotations only) —
/// the same "any value" as [`any_value`], keeping its annotations.
fn constrained(schema: Value) -> Value {
    const ANNOTATIONS: &[&str] = &["title", "description", "default", "examples", "$comment"];
    match schema {
        Value::Bool(true) => any_value(),
        Value::Object(mut map) if map.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) => {
            map.extend(any_value().as_object().cloned().unwrap_or_default());
            Value::Object(map)
        }
        other => other,
    }
}

/// Take `$defs` and `definitions` out of a schema that is about to be
/// nested under `properties.input`, and rebase every reference to the old
/// root (`#`, `#/…` other than the definitions) onto its new place. `$id`
/// is dropped: it would make the nested schema its own resource, against
/// which the hoisted references would not resolve.
fn hoist_definitions(inner: &mut Value) -> Map<String, Value> {
    let mut hoisted = Map::new();
    if let Value::Object(map) = inner {
        map.remove("$id");
        for key in ["$defs", "definitions"] {
            if let Some(defs) = map.remove(key) {
                hoisted.insert(key.to_string(), defs);
            }
        }
    }
    let target = format!("#/properties/{WRAPPED_ARGUMENT}");
    rebase_refs(inner, &target);
    for defs in hoisted.values_mut() {
        rebase_refs(defs, &target);
    }
    hoisted
}

/// Rewrite `$ref`s to the old root (`#` or `#/x` outside the definitions)
/// to point under `target`.
fn rebase_refs(schema: &mut Value, target: &str) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(r) = value
                {
                    let to_root = r == "#"
                        || (r.starts_with("#/")
                            && !r.starts_with("#/$defs/")
                            && !r.starts_with("#/definitions/"));
                    if to_root {
                        *r = format!("{target}{}", &r[1..]);
                    }
                } else {
                    rebase_refs(value, target);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_refs(v, target)),
        _ => {}
    }
}

/// The tool for `skill`, as `tools/list` shows it.
pub fn tool(skill: SkillInfo) -> Tool {
    let wrapped = !takes_object(&skill.input_schema);
    let (input_schema, description) = if wrapped {
        let mut inner = constrained(portable(&skill.input_schema));
        // Definitions move to the new root, where `#/$defs/…` now points;
        // references to the old root follow it under `properties.input`.
        let hoisted = hoist_definitions(&mut inner);
        let mut schema = json!({
            "type": "object",
            "properties": { WRAPPED_ARGUMENT: inner },
            "required": [WRAPPED_ARGUMENT],
            "additionalProperties": false,
        });
        if let Value::Object(root) = &mut schema {
            root.extend(hoisted);
        }
        let description = format!(
            "{} (Pass the skill's input as the `{WRAPPED_ARGUMENT}` argument.)",
            skill.description
        );
        (schema, description)
    } else {
        (portable(&skill.input_schema), skill.description)
    };
    let object = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // What the skill may reach, as the owner granted it: a caller deciding
    // what to pass sees where it can go.
    let description = if skill.http.is_empty() {
        description
    } else {
        format!(
            "{description} (Outbound HTTP granted: {}.)",
            skill.http.join("; ")
        )
    };
    let mut tool = Tool::new(skill.name, description, Arc::new(object(input_schema)));
    if let Some(out) = skill.output_schema.as_ref()
        && takes_object(out)
    {
        tool = tool.with_raw_output_schema(Arc::new(object(portable(out))));
    }
    tool
}

/// Why a call's arguments are not a wrapped tool's `{"input": …}`.
#[derive(Debug, PartialEq, Eq)]
pub struct NotWrapped(pub String);

/// The skill input (JSON text) for a call with `arguments`.
pub fn input_for(skill: &SkillInfo, arguments: Map<String, Value>) -> Result<String, NotWrapped> {
    if takes_object(&skill.input_schema) {
        return Ok(Value::Object(arguments).to_string());
    }
    let extra: Vec<&String> = arguments
        .keys()
        .filter(|k| *k != WRAPPED_ARGUMENT)
        .collect();
    if !extra.is_empty() {
        return Err(NotWrapped(format!(
            "/{}: unexpected argument; this tool takes the skill's input as its only argument, `{WRAPPED_ARGUMENT}`",
            extra[0]
        )));
    }
    match arguments.get(WRAPPED_ARGUMENT) {
        Some(input) => Ok(input.to_string()),
        None => Err(NotWrapped(format!(
            "/{WRAPPED_ARGUMENT}: required; this tool takes the skill's input as its `{WRAPPED_ARGUMENT}` argument"
        ))),
    }
}

/// A tool error carrying `error` (a JSON object with `code`).
pub fn error_result(error: Value) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(error.to_string())]);
    let mut meta = MetaObject::new();
    meta.0.insert(ERROR_META.into(), error);
    result.meta = Some(meta);
    result
}

/// A successful call: the output as text, and as structured content when
/// it is an object (the only shape MCP carries structured).
pub fn output_result(output: String) -> CallToolResult {
    let structured = match serde_json::from_str::<Value>(&output) {
        Ok(value @ Value::Object(_)) => Some(value),
        _ => None,
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(output)]);
    result.structured_content = structured;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(input: Value, output: Option<Value>) -> SkillInfo {
        SkillInfo {
            name: "s".into(),
            version: "1".into(),
            description: "Does s.".into(),
            digest: "sha256:00".into(),
            input_schema: input,
            output_schema: output,
            http: Vec::new(),
        }
    }

    #[test]
    fn the_description_names_the_granted_rules() {
        let mut s = skill(json!({"type": "object"}), None);
        assert_eq!(tool(s.clone()).description.as_deref(), Some("Does s."));
        s.http = vec!["GET https://api.example.com:443/v1/issues/".into()];
        assert_eq!(
            tool(s).description.as_deref(),
            Some(
                "Does s. (Outbound HTTP granted: GET https://api.example.com:443/v1/issues/.)"
            )
        );
    }

    #[test]
    fn every_published_input_schema_is_an_object_schema() {
        for input in [
            json!({}),
            json!(true),
            json!({"type": "string"}),
            json!({"type": ["object", "null"]}),
            json!({"type": "array", "items": {"type": "integer"}}),
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
        ] {
            let t = tool(skill(input.clone(), None));
            assert_eq!(
                t.input_schema.get("type"),
                Some(&json!("object")),
                "{input}"
            );
        }
    }

    #[test]
    fn a_wrapped_tool_says_so_and_unwraps_exactly_its_input() {
        let s = skill(json!({"type": "string"}), None);
        let t = tool(s.clone());
        assert!(t.description.unwrap().contains("`input` argument"));
        assert_eq!(
            t.input_schema["properties"]["input"],
            json!({"type": "string"})
        );
        // "Any value" is spelled as every type, with its annotations kept.
        let any = tool(skill(json!({"title": "AnyValue"}), None));
        assert_eq!(any.input_schema["properties"]["input"]["title"], "AnyValue");
        assert_eq!(
            any.input_schema["properties"]["input"]["anyOf"]
                .as_array()
                .unwrap()
                .len(),
            6
        );
        let args = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            input_for(&s, args(json!({"input": "hi"}))).unwrap(),
            "\"hi\""
        );
        assert_eq!(input_for(&s, args(json!({"input": null}))).unwrap(), "null");
        assert!(input_for(&s, args(json!({}))).is_err());
        assert!(input_for(&s, args(json!({"input": 1, "other": 2}))).is_err());
        // An object-schema skill takes the arguments themselves.
        let o = skill(json!({"type": "object"}), None);
        assert_eq!(
            input_for(&o, args(json!({"input": 1}))).unwrap(),
            r#"{"input":1}"#
        );
    }

    #[test]
    fn a_wrapped_schema_keeps_its_references_resolvable() {
        let input = json!({
            "$id": "https://example.test/in.json",
            "type": "array",
            "items": {"$ref": "#/$defs/Item"},
            "$defs": {
                "Item": {"anyOf": [{"type": "integer"}, {"$ref": "#"}]}
            },
            "definitions": {"Old": {"type": "string"}}
        });
        let t = tool(skill(input, None));
        let s = Value::Object((*t.input_schema).clone());
        // The definitions live at the root the references name.
        assert_eq!(s["$defs"]["Item"]["anyOf"][0], json!({"type": "integer"}));
        assert_eq!(s["definitions"]["Old"], json!({"type": "string"}));
        assert_eq!(s["properties"]["input"]["items"]["$ref"], "#/$defs/Item");
        // A reference to the old root now names the wrapped input.
        assert_eq!(
            s["$defs"]["Item"]["anyOf"][1]["$ref"],
            "#/properties/input"
        );
        assert!(s["properties"]["input"].get("$defs").is_none());
        assert!(s["properties"]["input"].get("$id").is_none());
        // And a validator resolves every reference against it.
        let v = jsonschema::validator_for(&s).unwrap();
        assert!(v.is_valid(&json!({"input": [1, [2, [3]]]})));
        assert!(!v.is_valid(&json!({"input": [1, ["x"]]})));
    }

    #[test]
    fn only_object_output_schemas_are_published() {
        let with = tool(skill(
            json!({"type": "object"}),
            Some(json!({"type": "object"})),
        ));
        assert!(with.output_schema.is_some());
        let without = tool(skill(
            json!({"type": "object"}),
            Some(json!({"type": "string"})),
        ));
        assert!(without.output_schema.is_none());
    }

    #[test]
    fn errors_carry_the_code_in_text_and_meta_and_never_as_structured_content() {
        let e = json!({"code": "rate.limited", "message": "slow down"});
        let r = error_result(e.clone());
        assert_eq!(r.is_error, Some(true));
        assert!(r.structured_content.is_none());
        assert_eq!(r.meta.as_ref().unwrap().0.get(ERROR_META), Some(&e));
        let text = serde_json::to_value(&r.content[0]).unwrap();
        assert!(text["text"].as_str().unwrap().contains("rate.limited"));
    }

    #[test]
    fn only_object_outputs_are_structured() {
        assert!(
            output_result(r#"{"a":1}"#.into())
                .structured_content
                .is_some()
        );
        assert!(output_result("[1]".into()).structured_content.is_none());
        assert!(output_result("\"x\"".into()).structured_content.is_none());
    }
}
