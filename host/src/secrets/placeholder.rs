//! `{{secret:NAME}}` placeholders: the grammar lives in
//! [`skillhost_policy::placeholder`] (one parser, fuzzed); this maps its
//! refusals to `secret.bad_placeholder`.

pub use skillhost_policy::placeholder::{mentions, placeholder, substitute, valid_name};

use super::SecretError;

/// Names referenced in `text`, in order; malformed, nested or unterminated
/// placeholders are `secret.bad_placeholder`.
pub fn names_in(text: &str) -> Result<Vec<String>, SecretError> {
    skillhost_policy::placeholder::names_in(text).map_err(|e| SecretError::BadPlaceholder(e.0))
}
