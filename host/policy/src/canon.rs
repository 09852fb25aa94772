//! A skill's output as the caller will read it: parsed, every decoded
//! string and key scanned, re-serialised canonically (so no escape spelling
//! survives), and the canonical bytes scanned once more.

use serde_json::{Map, Value};

use crate::scan::{Found, Scanner};

/// Why an output could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanonError {
    /// Not JSON the host can parse (syntax, nesting past the parser's
    /// limit, a number out of range). Never treated as `null`.
    NotJson(String),
    /// Redacting the canonical text broke its syntax (a secret spanning
    /// JSON punctuation); the output is withheld.
    RedactionBrokeSyntax,
}

impl std::fmt::Display for CanonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CanonError::NotJson(e) => write!(f, "{e}"),
            CanonError::RedactionBrokeSyntax => {
                f.write_str("a secret was redacted across JSON syntax; the output is withheld")
            }
        }
    }
}

impl std::error::Error for CanonError {}

/// Parse `output`, redact every secret in every string and key, and return
/// the canonical serialisation (itself scanned again), with what was found.
pub fn canonical_json(scanner: &Scanner, output: &str) -> Result<(String, Vec<Found>), CanonError> {
    let value: Value =
        serde_json::from_str(output).map_err(|e| CanonError::NotJson(e.to_string()))?;
    let mut found = Vec::new();
    let value = scrub(scanner, value, &mut found);
    let mut text = serde_json::to_string(&value).expect("a Value always serialises");
    let again = scanner.redact_text(&mut text);
    if !again.is_empty() {
        serde_json::from_str::<Value>(&text).map_err(|_| CanonError::RedactionBrokeSyntax)?;
        found.extend(again);
    }
    Ok((text, merge(found)))
}

fn scrub(scanner: &Scanner, value: Value, found: &mut Vec<Found>) -> Value {
    match value {
        Value::String(mut s) => {
            found.extend(scanner.redact_text(&mut s));
            Value::String(s)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| scrub(scanner, v, found))
                .collect(),
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (mut key, v) in map {
                found.extend(scanner.redact_text(&mut key));
                let v = scrub(scanner, v, found);
                out.insert(key, v);
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn merge(found: Vec<Found>) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for f in found {
        match out.iter_mut().find(|o| o.name == f.name) {
            Some(o) => o.count += f.count,
            None => out.push(f),
        }
    }
    out
}
