//! JSON Schema validation of inputs and outputs. Schemas are compiled once
//! per module digest. Remote and file `$ref`s are impossible: the validator
//! is built without any retriever, so such a schema fails to compile.

use serde_json::Value;

/// Most failure paths reported, and the longest message kept per failure.
const MAX_ERRORS: usize = 10;
const MAX_ERROR_LEN: usize = 200;

/// A skill's compiled schemas.
pub struct Schemas {
    input: jsonschema::Validator,
    output: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemas")
            .field("output", &self.output.is_some())
            .finish()
    }
}

/// Compile one schema, explaining why it is unusable.
pub fn compile(what: &str, schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| {
        let mut m = format!("the {what} schema is invalid: {e}");
        m.truncate(MAX_ERROR_LEN * 2);
        m
    })
}

impl Schemas {
    pub fn compile(input: &Value, output: Option<&Value>) -> Result<Self, String> {
        Ok(Schemas {
            input: compile("input", input)?,
            output: output.map(|o| compile("output", o)).transpose()?,
        })
    }

    /// `Err` holds up to ten failures as `"<json-pointer>: <message>"`.
    pub fn check_input(&self, value: &Value) -> Result<(), Vec<String>> {
        failures(&self.input, value)
    }

    /// Outputs are checked only if the skill declared an output schema.
    pub fn check_output(&self, value: &Value) -> Result<(), Vec<String>> {
        match &self.output {
            Some(v) => failures(v, value),
            None => Ok(()),
        }
    }
}

fn failures(validator: &jsonschema::Validator, value: &Value) -> Result<(), Vec<String>> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(MAX_ERRORS)
        .map(|e| {
            let path = e.instance_path.to_string();
            let mut line = format!("{}: {e}", if path.is_empty() { "/" } else { &path });
            if line.len() > MAX_ERROR_LEN {
                let mut end = MAX_ERROR_LEN;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                line.truncate(end);
            }
            line
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_json_pointer_paths() {
        let s = Schemas::compile(
            &json!({"type":"object","properties":{"n":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["n"]}),
            None,
        )
        .unwrap();
        assert!(s.check_input(&json!({"n": 1})).is_ok());
        let errs = s
            .check_input(&json!({"n": "x", "tags": ["a", 2]}))
            .unwrap_err();
        assert!(errs.iter().any(|e| e.starts_with("/n:")), "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("/tags/1:")), "{errs:?}");
        assert!(s.check_input(&json!({})).unwrap_err()[0].starts_with("/:"));
    }

    #[test]
    fn remote_and_file_refs_cannot_be_fetched() {
        for r in [
            "https://example.com/schema.json",
            "file:///etc/passwd",
            "http://169.254.169.254/x",
        ] {
            let schema = json!({"$ref": r});
            assert!(Schemas::compile(&schema, None).is_err(), "{r} compiled");
        }
    }

    #[test]
    fn failures_are_capped() {
        let s = Schemas::compile(&json!({"type":"array","items":{"type":"string"}}), None).unwrap();
        let errs = s
            .check_input(&json!((0..100).collect::<Vec<_>>()))
            .unwrap_err();
        assert_eq!(errs.len(), MAX_ERRORS);
    }
}
