//! Skill names: the key owners and callers use. Restricted to a safe
//! alphabet, so a name can never smuggle a path separator, a control
//! character or look-alike Unicode into a file name, a log line or a URL.

use std::fmt;

/// Longest allowed name.
pub const MAX_LEN: usize = 64;

/// A validated skill name: 1–64 of `a-z`, `0-9`, `-`, starting with a letter
/// or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SkillName(String);

impl SkillName {
    /// Validate a name, saying what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("a skill name cannot be empty".into());
        }
        if raw.len() > MAX_LEN {
            return Err(format!("a skill name has at most {MAX_LEN} characters"));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "a skill name may contain only a-z, 0-9 and '-'; found {:?}",
                c
            ));
        }
        if raw.starts_with('-') {
            return Err("a skill name cannot start with '-'".into());
        }
        Ok(SkillName(raw.to_string()))
    }

    /// The validated name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SkillName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for ok in ["echo", "word-stats", "a", "x1", "1x", &"a".repeat(MAX_LEN)] {
            assert!(SkillName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_paths_controls_and_lookalikes() {
        for bad in [
            "",
            "../etc",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            "a\rb",
            "a\u{1b}[31m",
            "Echo",
            "échο",
            "a b",
            ".",
            "..",
            "-rf",
            "a.b",
            &"a".repeat(MAX_LEN + 1),
        ] {
            assert!(SkillName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
