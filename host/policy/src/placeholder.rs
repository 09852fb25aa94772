//! `{{secret:NAME}}` placeholders: where they may appear and how they are
//! replaced. Only header values may hold them; anything malformed is
//! refused rather than guessed at.

const OPEN: &str = "{{secret:";
const CLOSE: &str = "}}";

/// A valid secret name: `A-Z`, `0-9`, `_`, starting with a letter, at most 64.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The placeholder text for a name.
pub fn placeholder(name: &str) -> String {
    format!("{OPEN}{name}{CLOSE}")
}

/// Why a placeholder was refused: a message safe to show the skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPlaceholder(pub String);

/// Names referenced in `text`, in order. Malformed, nested or unterminated
/// placeholders are errors.
pub fn names_in(text: &str) -> Result<Vec<String>, BadPlaceholder> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find(CLOSE)
            .ok_or_else(|| BadPlaceholder("an unterminated {{secret:...}} placeholder".into()))?;
        let name = &after[..end];
        if !valid_name(name) {
            return Err(BadPlaceholder(format!(
                "{:?} is not a secret name (A-Z, 0-9, _; nesting is not allowed)",
                name.escape_debug().to_string()
            )));
        }
        names.push(name.to_string());
        rest = &after[end + CLOSE.len()..];
    }
    if rest.contains("{{secret") || text.contains("{{ secret") {
        return Err(BadPlaceholder(
            "a malformed {{secret:...}} placeholder".into(),
        ));
    }
    Ok(names)
}

/// Whether `text` mentions a placeholder at all (for places where none is allowed).
pub fn mentions(text: &[u8]) -> bool {
    text.windows(8).any(|w| w.eq_ignore_ascii_case(b"{{secret"))
}

/// Replace every placeholder in `text` with its value. Call it only on text
/// that [`names_in`] accepted.
pub fn substitute(text: &str, value_of: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after.find(CLOSE).expect("validated by names_in");
        out.push_str(&value_of(&after[..end]));
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_and_refuses_malformed_ones() {
        assert_eq!(
            names_in("Bearer {{secret:API_TOKEN}}").unwrap(),
            ["API_TOKEN"]
        );
        assert_eq!(names_in("{{secret:A}}-{{secret:B2}}").unwrap(), ["A", "B2"]);
        assert!(names_in("plain").unwrap().is_empty());
        for bad in [
            "{{secret:{{secret:A}}}}",
            "{{secret:A",
            "{{secret:}}",
            "{{secret:lower}}",
            "{{secret:A B}}",
            "{{secret:A}}{{secret",
            "{{ secret:A }}",
            "{{secret:../../X}}",
        ] {
            assert!(names_in(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn substitutes() {
        let out = substitute("Bearer {{secret:T}} and {{secret:U}}", |n| format!("<{n}>"));
        assert_eq!(out, "Bearer <T> and <U>");
        assert!(mentions(b"xx{{SECRET:A}}"));
        assert!(!mentions(b"{{other}}"));
    }
}
