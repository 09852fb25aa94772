//! Request rules: what a grant (or a skill's manifest request) allows,
//! narrower than a whole origin.
//!
//! ```text
//! RULE    = [METHODS SP] ORIGIN [PATH]
//! METHODS = METHOD *("," METHOD)       e.g. "GET,POST"
//! ORIGIN  = scheme://host[:port]       exactly what Destination::parse accepts
//! PATH    = "/" ...                    a path prefix, see normalize_path
//! ```
//!
//! A bare origin (`https://api.example.com`) allows every method in
//! [`METHODS`] and every path: the meaning a grant has always had.
//!
//! The rule text is written plainly: no leading, trailing or doubled
//! whitespace, exactly one ASCII space between the methods and the origin,
//! no other whitespace or control character anywhere. Methods are
//! case-insensitive in the text and shown upper-case, in the order of
//! [`METHODS`]; an empty item or a repeated method is refused. A rule never
//! holds a wildcard (`*`), a query (`?`) or a fragment (`#`): the query
//! string is outside rules. A prefix of exactly `/` means every path and is
//! the same rule as the bare origin.
//!
//! # Path normalisation
//!
//! [`normalize_path`] is the one normalisation applied both to a rule's
//! prefix and to a request's path (`Url::path`, what goes on the wire),
//! so the two are compared as plain strings at segment boundaries. It is
//! strict: anything a server might read in more than one way is refused
//! rather than guessed at.
//!
//! - The input is only the path: it must start with `/`; a raw `?` or `#`
//!   is refused.
//! - Raw characters allowed are those RFC 3986 allows in a path: ALPHA,
//!   DIGIT, `-._~`, `!$&'()*+,;=`, `:`, `@` and `/`. Everything else is
//!   refused: spaces, control characters, non-ASCII (a request path on the
//!   wire is ASCII), `\`, and `"<>[]^`{|}` (write them percent-encoded).
//! - Percent-escapes: a `%` must be followed by two hex digits (either
//!   case). An escape of an unreserved character (ALPHA / DIGIT / `-` /
//!   `.` / `_` / `~`) is decoded; every other escape is kept, with
//!   upper-case hex. Nothing is decoded twice.
//! - Refused escapes: a double encoding (`%25` followed by two hex digits,
//!   such as `%252e`, which a server that decodes twice reads as `.`), an
//!   encoded slash `%2F`, an encoded backslash `%5C`,
//!   an encoded control character (`%00`–`%1F`, `%7F`, and the UTF-8 of
//!   U+0080–U+009F), and escapes of bytes ≥ 0x80 that are not valid UTF-8
//!   (overlong forms such as `%C0%AE`, `%C0%AF`, `%E0%80%AE`, surrogates,
//!   truncated sequences), and escapes of characters that Unicode
//!   compatibility normalisation (NFKC) turns into `.`, `/` or `\` (the
//!   fullwidth `．` `／` `＼`, `․` `‥` `…`, `﹒`, `∕` `⁄`, `﹨` and kin), which a
//!   server that normalises reads as a dot segment or a separator.
//! - Segments: an empty segment (`//`) is refused anywhere except that the
//!   path may end with `/`. A dot segment is refused after decoding: a
//!   segment made only of dots (`.`, `..`, `...`, so `%2e%2e`, `%2E`,
//!   `.%2E` too), also when followed by a `;` parameter (`..;x`, `..%3B`)
//!   or padded with encoded spaces (`..%20`), forms some servers resolve
//!   as `..`.
//! - Case is significant (`/V1/` is not `/v1/`), except in the hex digits
//!   of an escape. `;` has no special meaning: it is an ordinary character
//!   inside a segment.
//!
//! Matching is by segments: prefix `/v1/issues/` allows `/v1/issues/` and
//! everything under it; prefix `/v1/issues` allows `/v1/issues` itself and
//! everything under `/v1/issues/`, never `/v1/issuesX` or `/v1/issues;x`.

use std::fmt;

use url::Url;

use crate::destination::{Destination, host_of, scheme_of};
use crate::request::{METHODS, check_method};

/// Why a path could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// `%2F`: a slash that is not a segment boundary.
    EncodedSlash,
    /// `%5C`: an encoded backslash.
    EncodedBackslash,
    /// A raw `\`, which some servers and clients read as `/`.
    Backslash,
    /// An escape of a control character.
    EncodedControl,
    /// Escapes of bytes ≥ 0x80 that are not valid UTF-8 (overlong forms).
    InvalidUtf8,
    /// A raw character a path on the wire may not hold unescaped.
    RawCharacter(char),
    /// An empty segment (`//`) other than a trailing `/`.
    EmptySegment,
    /// A `.` or `..` segment (also escaped, or with a `;` parameter).
    DotSegment,
    /// `%25` followed by two hex digits: an escape of an escape.
    DoubleEncoded,
    /// An escaped character that compatibility normalisation turns into a
    /// dot or a separator.
    LookalikeSeparator,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotAbsolute => f.write_str("path does not start with /"),
            PathError::BadEscape => f.write_str("path has a % not followed by two hex digits"),
            PathError::EncodedSlash => f.write_str("path has an encoded slash (%2F)"),
            PathError::EncodedBackslash => f.write_str("path has an encoded backslash (%5C)"),
            PathError::Backslash => f.write_str("path has a backslash"),
            PathError::EncodedControl => f.write_str("path has an encoded control character"),
            PathError::InvalidUtf8 => {
                f.write_str("path has percent-escapes that are not valid UTF-8")
            }
            PathError::RawCharacter(c) if *c == '?' || *c == '#' => write!(
                f,
                "path has a raw {c:?}; the query and fragment are not part of a path"
            ),
            PathError::RawCharacter(c) => write!(
                f,
                "path has the character {:?}, which must be percent-encoded",
                c.escape_debug().to_string()
            ),
            PathError::EmptySegment => f.write_str("path has an empty segment (//)"),
            PathError::DotSegment => f.write_str("path has a . or .. segment"),
            PathError::DoubleEncoded => {
                f.write_str("path has a double percent-encoding (%25 and two hex digits)")
            }
            PathError::LookalikeSeparator => f.write_str(
                "path has an escaped character that reads as a dot or a slash once normalised",
            ),
        }
    }
}

impl std::error::Error for PathError {}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// Whitespace other than the one space after the methods, or a control
    /// character.
    Spacing,
    /// A `*` anywhere.
    Wildcard,
    /// A `?` or `#`.
    QueryOrFragment,
    /// The method list, with the reason.
    Method(String),
    /// The origin, with [`Destination::parse`]'s reason.
    Origin(String),
    /// The path prefix.
    Path(PathError),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Spacing => f.write_str(
                "rule has whitespace or a control character other than one space \
                 between the methods and the origin",
            ),
            RuleError::Wildcard => {
                f.write_str("rule has a wildcard (*); a prefix already covers everything under it")
            }
            RuleError::QueryOrFragment => {
                f.write_str("rule has a query or fragment; the query string is outside rules")
            }
            RuleError::Method(why) | RuleError::Origin(why) => f.write_str(why),
            RuleError::Path(e) => write!(f, "rule prefix: {e}"),
        }
    }
}

impl std::error::Error for RuleError {}

/// Why [`Rule::check`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRefusal {
    /// Another scheme, host or port, or a URL with userinfo.
    Origin,
    /// A method the rule does not allow (or not exactly a member of
    /// [`METHODS`]).
    Method,
    /// The request path cannot be normalised.
    Path(PathError),
    /// The request path is outside the rule's prefix.
    OutsidePrefix,
}

impl fmt::Display for RuleRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleRefusal::Origin => f.write_str("the request is not to the rule's origin"),
            RuleRefusal::Method => f.write_str("the rule does not allow the request's method"),
            RuleRefusal::Path(e) => write!(f, "the request {e}"),
            RuleRefusal::OutsidePrefix => {
                f.write_str("the request path is outside the rule's prefix")
            }
        }
    }
}

/// One request rule: methods, origin and path prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// `None`: every method in [`METHODS`]. Otherwise non-empty, without
    /// duplicates, in the order of [`METHODS`] (as [`Rule::parse`] makes it).
    pub methods: Option<Vec<http::Method>>,
    pub origin: Destination,
    /// `None`: every path. Otherwise a normalised path other than `/`.
    pub prefix: Option<String>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(methods) = &self.methods {
            for (i, m) in methods.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                f.write_str(m.as_str())?;
            }
            f.write_str(" ")?;
        }
        write!(f, "{}", self.origin)?;
        if let Some(prefix) = &self.prefix {
            f.write_str(prefix)?;
        }
        Ok(())
    }
}

fn parse_methods(list: &str) -> Result<Vec<http::Method>, RuleError> {
    let mut seen = [false; METHODS.len()];
    for item in list.split(',') {
        if item.is_empty() {
            return Err(RuleError::Method(format!(
                "method list {list:?} has an empty item"
            )));
        }
        let upper = item.to_ascii_uppercase();
        let Some(i) = METHODS.iter().position(|m| *m == upper) else {
            return Err(RuleError::Method(format!(
                "method {:?} is not allowed; use one of {}",
                item.escape_debug().to_string(),
                METHODS.join(", ")
            )));
        };
        if seen[i] {
            return Err(RuleError::Method(format!(
                "method {} is listed twice",
                METHODS[i]
            )));
        }
        seen[i] = true;
    }
    METHODS
        .iter()
        .zip(seen)
        .filter(|(_, s)| *s)
        .map(|(m, _)| {
            http::Method::from_bytes(m.as_bytes())
                .map_err(|_| RuleError::Method(format!("method {m} is invalid")))
        })
        .collect()
}

impl Rule {
    /// Parse and normalise a rule; see the module documentation.
    pub fn parse(raw: &str) -> Result<Self, RuleError> {
        let odd = |c: char| c.is_whitespace() || c.is_control();
        if raw.starts_with(odd) || raw.ends_with(odd) {
            return Err(RuleError::Spacing);
        }
        let (methods, rest) = match raw.split_once(' ') {
            // A space inside the origin or path, not after a method list.
            Some((list, _)) if list.contains(':') => return Err(RuleError::Spacing),
            Some((list, rest)) => (Some(list), rest),
            None => (None, raw),
        };
        if methods.is_some_and(|m| m.contains(odd)) || rest.contains(odd) {
            return Err(RuleError::Spacing);
        }
        if raw.contains('*') {
            return Err(RuleError::Wildcard);
        }
        if raw.contains(['?', '#']) {
            return Err(RuleError::QueryOrFragment);
        }
        let methods = methods.map(parse_methods).transpose()?;
        // The origin ends at the first `/` after `scheme://`; without
        // `://` the whole text goes to Destination::parse, which refuses it.
        let (origin, path) = match rest.find("://") {
            Some(i) => match rest[i + 3..].find('/') {
                Some(j) => rest.split_at(i + 3 + j),
                None => (rest, ""),
            },
            None => (rest, ""),
        };
        let origin = Destination::parse(origin).map_err(RuleError::Origin)?;
        let prefix = if path.is_empty() {
            None
        } else {
            Some(normalize_path(path).map_err(RuleError::Path)?).filter(|p| p != "/")
        };
        Ok(Rule {
            methods,
            origin,
            prefix,
        })
    }

    /// A rule as the registry stores it, also from an earlier release.
    /// Those stored a requested destination in the skill's own spelling,
    /// checked by a parser that let the URL parser resolve a trailing `/.`,
    /// `/..` or `/%2e/` to `/`; such a text still means the bare origin it
    /// was approved as, so an approval holds without a new review. Anything
    /// else is [`Rule::parse`]. (New manifests and grants are always read
    /// with [`Rule::parse`].)
    pub fn parse_stored(raw: &str) -> Result<Self, RuleError> {
        Rule::parse(raw).or_else(|e| legacy_origin(raw).ok_or(e))
    }

    /// Whether the rule allows `method`: exactly a member of the rule's
    /// methods, or of [`METHODS`] for a rule without methods.
    pub fn allows_method(&self, method: &http::Method) -> bool {
        match &self.methods {
            Some(methods) => methods.contains(method),
            None => METHODS.contains(&method.as_str()),
        }
    }

    /// Whether the rule allows `normalized_path` (an output of
    /// [`normalize_path`]), at segment boundaries.
    pub fn allows_path(&self, normalized_path: &str) -> bool {
        let Some(prefix) = &self.prefix else {
            return true;
        };
        if prefix.ends_with('/') {
            return normalized_path.starts_with(prefix.as_str());
        }
        match normalized_path.strip_prefix(prefix.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    /// Check a request against the rule: the origin as a [`Destination`] is
    /// matched (scheme, normalised host, port; no userinfo), the method
    /// exactly (`get` is not `GET`), and, for a rule with a prefix,
    /// `url.path()` after [`normalize_path`]. A rule without a prefix allows
    /// every path, also one that does not normalise. The query is not
    /// looked at.
    pub fn check(&self, method: &str, url: &Url) -> Result<(), RuleRefusal> {
        if scheme_of(url) != Some(self.origin.scheme)
            || !url.username().is_empty()
            || url.password().is_some()
            || host_of(url).as_ref() != Some(&self.origin.host)
            || url.port_or_known_default() != Some(self.origin.port)
        {
            return Err(RuleRefusal::Origin);
        }
        let method = check_method(method).map_err(|_| RuleRefusal::Method)?;
        if !self.allows_method(&method) {
            return Err(RuleRefusal::Method);
        }
        if self.prefix.is_none() {
            // A bare origin allows every path, as a grant always has.
            return Ok(());
        }
        let path = normalize_path(url.path()).map_err(RuleRefusal::Path)?;
        if !self.allows_path(&path) {
            return Err(RuleRefusal::OutsidePrefix);
        }
        Ok(())
    }

    /// Whether `self` allows no more than `requested` does: the same
    /// origin, no method `requested` does not allow, and a prefix within
    /// `requested`'s at a segment boundary. An owner may narrow a
    /// requested rule at approval, never widen it.
    pub fn narrows(&self, requested: &Rule) -> bool {
        if self.origin != requested.origin {
            return false;
        }
        let methods_ok = METHODS
            .iter()
            .filter_map(|m| http::Method::from_bytes(m.as_bytes()).ok())
            .all(|m| !self.allows_method(&m) || requested.allows_method(&m));
        let prefix_ok = match (&self.prefix, &requested.prefix) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(mine), Some(_)) => requested.allows_path(mine),
        };
        methods_ok && prefix_ok
    }
}

/// Characters NFKC maps to `.`, `/` or `\` (or to runs of dots), and the
/// common visual lookalikes of those.
const LOOKALIKE_SEPARATORS: &[char] = &[
    '\u{2024}', '\u{2025}', '\u{2026}', '\u{FE52}', '\u{FF0E}', '\u{3002}', '\u{FF61}', '\u{2215}',
    '\u{2044}', '\u{FF0F}', '\u{29F8}', '\u{FE68}', '\u{FF3C}', '\u{2216}', '\u{29F5}', '\u{29F9}',
];

/// The bare origin an earlier release read `raw` as, if it did.
fn legacy_origin(raw: &str) -> Option<Rule> {
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) || raw.contains(['*', '\\']) {
        return None;
    }
    let after_scheme = raw.split_once("://")?.1;
    if after_scheme.is_empty() || after_scheme.starts_with('/') {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    // Through the origin alone: the one parser decides the rest.
    let origin = format!("{}://{}", url.scheme(), url.host_str()?);
    let origin = match url.port() {
        Some(port) => format!("{origin}:{port}"),
        None => origin,
    };
    Some(Rule {
        methods: None,
        origin: Destination::parse(&origin).ok()?,
        prefix: None,
    })
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Raw characters RFC 3986 allows in a path (pchar and `/`), `%` aside.
fn is_path_char(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@/".contains(&b)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The byte escaped at `bytes[i]` (a `%`).
fn escaped(bytes: &[u8], i: usize) -> Result<u8, PathError> {
    match (
        bytes.get(i + 1).copied().and_then(hex),
        bytes.get(i + 2).copied().and_then(hex),
    ) {
        (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
        _ => Err(PathError::BadEscape),
    }
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 0xf)] as char);
}

/// A segment some server could resolve as `.` or `..`: only dots once a
/// `;` parameter and encoded spaces are set aside.
fn is_dot_segment(segment: &str) -> bool {
    let stem = segment.split(';').next().unwrap_or_default();
    let stem = stem.split("%3B").next().unwrap_or_default();
    let stem = stem.replace("%20", "");
    !stem.is_empty() && stem.bytes().all(|b| b == b'.')
}

/// Normalise a path (no query or fragment) for comparison with a rule's
/// prefix, or refuse it; see the module documentation for the rules.
/// Idempotent: a normalised path normalises to itself.
pub fn normalize_path(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            if b == b'\\' {
                return Err(PathError::Backslash);
            }
            if !is_path_char(b) {
                let c = raw[i..].chars().next().unwrap_or_default();
                return Err(PathError::RawCharacter(c));
            }
            out.push(b as char);
            i += 1;
            continue;
        }
        let e = escaped(bytes, i)?;
        if e < 0x80 {
            match e {
                b'/' => return Err(PathError::EncodedSlash),
                b'\\' => return Err(PathError::EncodedBackslash),
                _ if e.is_ascii_control() => return Err(PathError::EncodedControl),
                _ if is_unreserved(e) => out.push(e as char),
                _ => push_escape(&mut out, e),
            }
            i += 3;
            continue;
        }
        // A run of escaped high bytes must be whole UTF-8 characters.
        let mut run = Vec::new();
        while bytes.get(i) == Some(&b'%') {
            let e = escaped(bytes, i)?;
            if e < 0x80 {
                break;
            }
            run.push(e);
            i += 3;
        }
        let text = std::str::from_utf8(&run).map_err(|_| PathError::InvalidUtf8)?;
        if text.chars().any(char::is_control) {
            return Err(PathError::EncodedControl);
        }
        if text.chars().any(|c| LOOKALIKE_SEPARATORS.contains(&c)) {
            return Err(PathError::LookalikeSeparator);
        }
        for e in run {
            push_escape(&mut out, e);
        }
    }
    // An escape of `%` followed by two hex digits, however spelled
    // (`%252e`, `%25%32e`): checked on the output, which is what a server
    // would decode.
    let o = out.as_bytes();
    if (0..o.len()).any(|k| o[k..].starts_with(b"%25") && escaped(o, k + 2).is_ok()) {
        return Err(PathError::DoubleEncoded);
    }
    let segments: Vec<&str> = out[1..].split('/').collect();
    for (k, segment) in segments.iter().enumerate() {
        if segment.is_empty() && k + 1 < segments.len() {
            return Err(PathError::EmptySegment);
        }
        if is_dot_segment(segment) {
            return Err(PathError::DotSegment);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(raw: &str) -> Rule {
        Rule::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn rules_round_trip_in_normal_form() {
        for (raw, shown) in [
            ("https://api.example.com", "https://api.example.com:443"),
            ("https://api.example.com/", "https://api.example.com:443"),
            (
                "get,Post https://api.example.com/v1/issues/",
                "GET,POST https://api.example.com:443/v1/issues/",
            ),
            (
                "POST,GET https://api.example.com/v1/issues/",
                "GET,POST https://api.example.com:443/v1/issues/",
            ),
            (
                "options,patch,HEAD,put https://a.example/x%3by/",
                "HEAD,PUT,PATCH,OPTIONS https://a.example:443/x%3By/",
            ),
            (
                "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS https://a.example",
                "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS https://a.example:443",
            ),
            (
                "https://bücher.example/v1",
                "https://xn--bcher-kva.example:443/v1",
            ),
            (
                "https://api.example.com:443/v1/",
                "https://api.example.com:443/v1/",
            ),
            (
                "https://API.Example.COM./v1/Issues",
                "https://api.example.com:443/v1/Issues",
            ),
            (
                "http://127.0.0.1:8080/%7Euser/",
                "http://127.0.0.1:8080/~user/",
            ),
            (
                "DELETE https://[::1]:9443/v1/items",
                "DELETE https://[::1]:9443/v1/items",
            ),
            (
                "https://a.example/v1/%c3%a9t%C3%A9/",
                "https://a.example:443/v1/%C3%A9t%C3%A9/",
            ),
            (
                "https://a.example/v1;x=1/y",
                "https://a.example:443/v1;x=1/y",
            ),
            ("https://a.example/a/b/c/", "https://a.example:443/a/b/c/"),
        ] {
            let r = rule(raw);
            assert_eq!(r.to_string(), shown, "{raw}");
            assert_eq!(Rule::parse(shown).as_ref(), Ok(&r), "{shown}");
        }
        let r = rule("get,Post https://api.example.com/v1/issues/");
        assert_eq!(r.methods, Some(vec![http::Method::GET, http::Method::POST]));
        assert_eq!(r.prefix.as_deref(), Some("/v1/issues/"));
        let bare = rule("https://api.example.com");
        assert_eq!((bare.methods, bare.prefix), (None, None));
        assert_eq!(rule("https://a.example/"), rule("https://a.example"));
    }

    #[test]
    fn bad_rules_are_refused() {
        for (raw, why) in [
            ("", "Origin"),
            (" https://a.example", "Spacing"),
            ("https://a.example ", "Spacing"),
            ("https://a.example\n", "Spacing"),
            ("GET  https://a.example", "Spacing"),
            ("GET\thttps://a.example", "Spacing"),
            ("GET https://a.example/a b", "Spacing"),
            ("https://a.example/a b", "Spacing"),
            ("GET https://a.exa\u{a0}mple", "Spacing"),
            ("GET https://a.example/\u{7f}", "Spacing"),
            ("*", "Wildcard"),
            ("https://*.example.com", "Wildcard"),
            ("GET https://a.example/v1/*", "Wildcard"),
            ("https://a.example/v1/?q=1", "QueryOrFragment"),
            ("https://a.example?x", "QueryOrFragment"),
            ("https://a.example/v1#frag", "QueryOrFragment"),
            ("FETCH https://a.example", "Method"),
            ("PROPFIND https://a.example", "Method"),
            ("CONNECT https://a.example", "Method"),
            ("GET,,POST https://a.example", "Method"),
            (",GET https://a.example", "Method"),
            ("GET, https://a.example", "Method"),
            ("GET, POST https://a.example", "Spacing"),
            ("GET,GET https://a.example", "Method"),
            ("get,GET https://a.example", "Method"),
            ("GET\u{2003}https://a.example", "Spacing"),
            ("GET", "Origin"),
            ("a.example/v1", "Origin"),
            ("ftp://a.example/v1", "Origin"),
            ("https:///v1", "Origin"),
            ("https://user@a.example/v1", "Origin"),
            ("https://a.example:99999/", "Origin"),
            ("https://a.example\\v1", "Origin"),
            ("https://a.example/v1/../admin", "Path(DotSegment"),
            ("https://a.example/v1/..", "Path(DotSegment"),
            ("https://a.example/v1/./x", "Path(DotSegment"),
            ("https://a.example/v1/%2e%2e/admin", "Path(DotSegment"),
            ("https://a.example/v1/.%2E/", "Path(DotSegment"),
            ("https://a.example/v1/..;/admin", "Path(DotSegment"),
            ("https://a.example/v1/%2F", "Path(EncodedSlash"),
            ("https://a.example/v1/%5cx", "Path(EncodedBackslash"),
            ("https://a.example/v1\\x", "Path(Backslash"),
            ("https://a.example//v1", "Path(EmptySegment"),
            ("https://a.example/v1//x", "Path(EmptySegment"),
            ("https://a.example/v1/%00", "Path(EncodedControl"),
            ("https://a.example/v1/%1f", "Path(EncodedControl"),
            ("https://a.example/%C0%AE%C0%AE/", "Path(InvalidUtf8"),
            ("https://a.example/v1/%zz", "Path(BadEscape"),
            ("https://a.example/v1/%2", "Path(BadEscape"),
            ("https://a.example/über", "Path(RawCharacter('ü')"),
            ("GET https://a.example/a|b", "Path(RawCharacter('|')"),
        ] {
            let e = Rule::parse(raw).expect_err(raw);
            assert!(format!("{e:?}").starts_with(why), "{raw:?}: {e:?}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[derive(Debug, PartialEq)]
    enum Expect {
        Allowed,
        Outside,
        Invalid(PathError),
    }

    #[test]
    fn path_matching_table() {
        use Expect::*;
        use PathError::*;
        let rows: &[(&str, &str, Expect)] = &[
            ("/v1/issues/7", "/v1/issues/", Allowed),
            ("/v1/issues/", "/v1/issues/", Allowed),
            ("/v1/issues/7/comments", "/v1/issues/", Allowed),
            ("/v1/issues", "/v1/issues/", Outside),
            ("/v1/issuesX", "/v1/issues/", Outside),
            ("/v1/issues/../admin", "/v1/issues/", Invalid(DotSegment)),
            (
                "/v1/issues/%2e%2e/admin",
                "/v1/issues/",
                Invalid(DotSegment),
            ),
            (
                "/v1/issues/%2E%2E/admin",
                "/v1/issues/",
                Invalid(DotSegment),
            ),
            ("/v1/issues/.%2E/admin", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/%2e/7", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/./7", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/....", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/..;/admin", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/..%3b/admin", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues/..%20/admin", "/v1/issues/", Invalid(DotSegment)),
            ("/v1/issues%2F7", "/v1/issues/", Invalid(EncodedSlash)),
            ("/v1/issues/%2f..", "/v1/issues/", Invalid(EncodedSlash)),
            ("/v1/%2e%2e%2fadmin", "/v1/", Invalid(EncodedSlash)),
            ("/v1/issues//7", "/v1/issues/", Invalid(EmptySegment)),
            ("//v1/issues/7", "/v1/issues/", Invalid(EmptySegment)),
            ("/v1/issues\\7", "/v1/issues/", Invalid(Backslash)),
            (
                "/v1/issues/%5C..%5Cadmin",
                "/v1/issues/",
                Invalid(EncodedBackslash),
            ),
            ("/v1/issues;x/7", "/v1/issues/", Outside),
            ("/v1/issues/7;x=1", "/v1/issues/", Allowed),
            ("/V1/issues/7", "/v1/issues/", Outside),
            ("/v1/Issues/7", "/v1/issues/", Outside),
            ("/v1/issues./7", "/v1/issues/", Outside),
            ("/v1/issues./", "/v1/", Allowed),
            (
                "/v1/issues/%C0%AE%C0%AE/x",
                "/v1/issues/",
                Invalid(InvalidUtf8),
            ),
            ("/v1/issues/%C0%AF", "/v1/issues/", Invalid(InvalidUtf8)),
            ("/v1/issues/%E0%80%AE", "/v1/issues/", Invalid(InvalidUtf8)),
            ("/v1/issues/%ED%A0%80", "/v1/issues/", Invalid(InvalidUtf8)),
            ("/v1/issues/%C3", "/v1/issues/", Invalid(InvalidUtf8)),
            ("/v1/issues/%C2%85", "/v1/issues/", Invalid(EncodedControl)),
            ("/v1/issues/%C3%A9", "/v1/issues/", Allowed),
            ("/v1/%69ssues/7", "/v1/issues/", Allowed),
            ("/v1/issues/%7e", "/v1/issues/", Allowed),
            ("/v1/issues/%00", "/v1/issues/", Invalid(EncodedControl)),
            ("/v1/issues/%0A", "/v1/issues/", Invalid(EncodedControl)),
            ("/v1/issues/%7F", "/v1/issues/", Invalid(EncodedControl)),
            ("/v1/issues/a b", "/v1/issues/", Invalid(RawCharacter(' '))),
            (
                "/v1/issues/\u{1}",
                "/v1/issues/",
                Invalid(RawCharacter('\u{1}')),
            ),
            ("/v1/issues/ü", "/v1/issues/", Invalid(RawCharacter('ü'))),
            (
                "/v1/issues/7?x=1",
                "/v1/issues/",
                Invalid(RawCharacter('?')),
            ),
            ("/v1/issues/7#f", "/v1/issues/", Invalid(RawCharacter('#'))),
            ("v1/issues/7", "/v1/issues/", Invalid(NotAbsolute)),
            ("", "/v1/issues/", Invalid(NotAbsolute)),
            ("/v1/issues/%zz", "/v1/issues/", Invalid(BadEscape)),
            ("/v1/issues/%4", "/v1/issues/", Invalid(BadEscape)),
            ("/v1/%252e%252e/admin", "/v1/", Invalid(DoubleEncoded)),
            ("/v1/%25zz/x", "/v1/", Allowed),
            ("/v1/%25%32e%25%32e/admin", "/v1/", Invalid(DoubleEncoded)),
            (
                "/v1/%EF%BC%8E%EF%BC%8E/admin",
                "/v1/",
                Invalid(LookalikeSeparator),
            ),
            ("/v1/%E2%80%A5/admin", "/v1/", Invalid(LookalikeSeparator)),
            ("/v1/a%EF%BC%8Fb", "/v1/", Invalid(LookalikeSeparator)),
            ("/v1/%EF%BC%BCadmin", "/v1/", Invalid(LookalikeSeparator)),
            ("/v1/issues", "/v1/issues", Allowed),
            ("/v1/issues/", "/v1/issues", Allowed),
            ("/v1/issues/7", "/v1/issues", Allowed),
            ("/v1/issuesX", "/v1/issues", Outside),
            ("/v1/issues;x", "/v1/issues", Outside),
            ("/v1/issues%3Bx", "/v1/issues", Outside),
            ("/v1/issue", "/v1/issues", Outside),
            ("/v1", "/v1/", Outside),
            ("/v1/~user/%3B/x", "/v1/%7Euser/%3b/", Allowed),
            ("/v1/%7euser/%3b/x", "/v1/%7Euser/%3b/", Allowed),
            ("/v1/~user/;/x", "/v1/%7Euser/%3b/", Outside),
            ("/v1/%c3%a9/x", "/v1/%C3%A9/", Allowed),
            ("/v1/%C3%A9/x", "/v1/%c3%a9/", Allowed),
            ("/anything/at/all", "", Allowed),
            ("/", "", Allowed),
            ("/", "/v1/", Outside),
            ("/a/../b", "", Invalid(DotSegment)),
        ];
        for (path, prefix, expect) in rows {
            let r = rule(&format!("https://a.example{prefix}"));
            let got = match normalize_path(path) {
                Err(e) => Invalid(e),
                Ok(n) if r.allows_path(&n) => {
                    assert!(n.starts_with(r.prefix.as_deref().unwrap_or("/")));
                    Allowed
                }
                Ok(_) => Outside,
            };
            assert_eq!(&got, expect, "{path:?} under {prefix:?}");
        }
    }

    #[test]
    fn normal_forms_are_fixed_and_idempotent() {
        for (raw, normal) in [
            ("/", "/"),
            ("/v1/%7e", "/v1/~"),
            ("/a%3b", "/a%3B"),
            ("/a/%c3%a9", "/a/%C3%A9"),
            ("/%41%5a%30%2D%5F%2e%2ex", "/AZ0-_..x"),
            ("/a%20b/", "/a%20b/"),
            ("/%25zz", "/%25zz"),
            ("/a/;b=c:d@e!$&'()*+,", "/a/;b=c:d@e!$&'()*+,"),
        ] {
            assert_eq!(normalize_path(raw).as_deref(), Ok(normal), "{raw}");
            assert_eq!(normalize_path(normal).as_deref(), Ok(normal), "{normal}");
        }
        for c in ['"', '<', '>', '[', ']', '^', '`', '{', '|', '}'] {
            assert_eq!(
                normalize_path(&format!("/a{c}")),
                Err(PathError::RawCharacter(c))
            );
        }
    }

    #[test]
    fn methods_are_exact() {
        let r = rule("GET,POST https://a.example/v1/");
        assert!(r.allows_method(&http::Method::GET));
        assert!(r.allows_method(&http::Method::POST));
        assert!(!r.allows_method(&http::Method::DELETE));
        let propfind = http::Method::from_bytes(b"PROPFIND").unwrap();
        assert!(!r.allows_method(&propfind));
        assert!(!rule("https://a.example").allows_method(&propfind));
        assert!(rule("https://a.example").allows_method(&http::Method::DELETE));
        let u = url("https://a.example/v1/x");
        assert_eq!(r.check("GET", &u), Ok(()));
        assert_eq!(r.check("POST", &u), Ok(()));
        for m in ["DELETE", "get", "PROPFIND", "GET ", ""] {
            assert_eq!(r.check(m, &u), Err(RuleRefusal::Method), "{m:?}");
        }
        assert_eq!(rule("https://a.example").check("DELETE", &u), Ok(()));
        assert_eq!(
            rule("https://a.example").check("PROPFIND", &u),
            Err(RuleRefusal::Method)
        );
    }

    #[test]
    fn requests_are_checked_on_origin_method_and_wire_path() {
        let r = rule("GET https://api.example.com/v1/issues/");
        for ok in [
            "https://api.example.com/v1/issues/7",
            "https://API.Example.COM./v1/issues/7",
            "https://api.example.com:443/v1/issues/",
            "https://api.example.com/v1/issues/7?q=../../admin#x",
            "https://api.example.com/v1/%69ssues/7",
            "https://api.example.com/v1/issues/%C3%A9",
        ] {
            assert_eq!(r.check("GET", &url(ok)), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("https://other.example/v1/issues/7", RuleRefusal::Origin),
            ("http://api.example.com/v1/issues/7", RuleRefusal::Origin),
            (
                "https://api.example.com:8443/v1/issues/7",
                RuleRefusal::Origin,
            ),
            (
                "https://u:p@api.example.com/v1/issues/7",
                RuleRefusal::Origin,
            ),
            ("https://u@api.example.com/v1/issues/7", RuleRefusal::Origin),
            (
                "https://:p@api.example.com/v1/issues/7",
                RuleRefusal::Origin,
            ),
            (
                "https://api.example.com/v1/issues",
                RuleRefusal::OutsidePrefix,
            ),
            (
                "https://api.example.com/v1/issuesX",
                RuleRefusal::OutsidePrefix,
            ),
            // The URL parser resolves these before the path is read: what
            // is checked is what will be sent.
            (
                "https://api.example.com/v1/issues/../admin",
                RuleRefusal::OutsidePrefix,
            ),
            (
                "https://api.example.com/v1/issues/%2e%2e/admin",
                RuleRefusal::OutsidePrefix,
            ),
            (
                "https://api.example.com/v1/issues\\..\\admin",
                RuleRefusal::OutsidePrefix,
            ),
            (
                "https://api.example.com/v1/issues/..%2Fadmin",
                RuleRefusal::Path(PathError::EncodedSlash),
            ),
            (
                "https://api.example.com/v1/issues/..;/admin",
                RuleRefusal::Path(PathError::DotSegment),
            ),
            (
                "https://api.example.com/v1/issues//7",
                RuleRefusal::Path(PathError::EmptySegment),
            ),
            (
                "https://api.example.com/v1/issues/%C0%AE",
                RuleRefusal::Path(PathError::InvalidUtf8),
            ),
            (
                "https://api.example.com/v1/issues/a|b",
                RuleRefusal::Path(PathError::RawCharacter('|')),
            ),
            (
                "https://api.example.com/v1/issues/a%zz",
                RuleRefusal::Path(PathError::BadEscape),
            ),
        ] {
            assert_eq!(r.check("GET", &url(bad)), Err(why), "{bad}");
        }
    }

    #[test]
    fn every_destination_is_the_bare_origin_rule_shown_the_same_way() {
        // Stored grants and the secrets' associated data hold destinations
        // in this form; they must read back as the same rule.
        for raw in [
            "https://api.example.com",
            "https://API.Example.COM.",
            "http://127.0.0.1:8080/",
            "https://[::1]:9443",
            "https://bücher.example",
            "https://api.example.com:443",
            "HTTPS://api.example.com",
        ] {
            let d = crate::destination::Destination::parse(raw).unwrap();
            let r = rule(raw);
            assert_eq!(
                (r.methods.as_ref(), r.prefix.as_ref()),
                (None, None),
                "{raw}"
            );
            assert_eq!(r.to_string(), d.to_string(), "{raw}");
        }
    }

    #[test]
    fn grants_stored_by_earlier_releases_keep_their_meaning() {
        for (stored, meant) in [
            ("https://api.example.com/.", "https://api.example.com:443"),
            ("https://api.example.com/..", "https://api.example.com:443"),
            (
                "https://api.example.com/%2e/",
                "https://api.example.com:443",
            ),
            (
                "https://API.example.com:8443/./",
                "https://api.example.com:8443",
            ),
            (
                "https://api.example.com/x/..",
                "https://api.example.com:443",
            ),
            (
                "GET https://api.example.com/v1/",
                "GET https://api.example.com:443/v1/",
            ),
        ] {
            let r = Rule::parse_stored(stored).unwrap_or_else(|e| panic!("{stored}: {e}"));
            assert_eq!(r.to_string(), meant, "{stored}");
        }
        for never in [
            "https://api.example.com/v1",
            "https://u@api.example.com/.",
            "https://api.example.com/.?q",
            "https://*.example.com/.",
            "https:///api.example.com/.",
        ] {
            let stored = Rule::parse_stored(never).map(|r| r.to_string());
            assert!(
                stored.as_ref().is_err() || Rule::parse(never).is_ok(),
                "{never} -> {stored:?}"
            );
        }
    }

    #[test]
    fn a_bare_origin_allows_every_path_as_grants_always_have() {
        let bare = rule("https://api.example.com");
        for path in ["/v1/a%2Fb", "/v1//x", "/v1/..;/x", "/a|b", "/%C0%AE"] {
            let u = url(&format!("https://api.example.com{path}"));
            assert_eq!(bare.check("GET", &u), Ok(()), "{path}");
            // The same path under a prefix rule is refused.
            assert!(
                rule("https://api.example.com/v1/")
                    .check("GET", &u)
                    .is_err(),
                "{path}"
            );
        }
    }

    #[test]
    fn narrowing_never_widens() {
        let requested = rule("GET,POST https://a.example/v1/");
        for (mine, ok) in [
            ("GET https://a.example/v1/", true),
            ("GET,POST https://a.example/v1/", true),
            ("POST https://a.example/v1/issues/", true),
            ("GET https://a.example/v1/issues", true),
            ("GET,DELETE https://a.example/v1/", false),
            ("https://a.example/v1/", false),
            ("GET https://a.example", false),
            ("GET https://a.example/v1", false),
            ("GET https://a.example/v2/", false),
            ("GET https://a.example/v1x/", false),
            ("GET https://b.example/v1/", false),
            ("GET http://a.example/v1/", false),
            ("GET https://a.example:8443/v1/", false),
        ] {
            assert_eq!(rule(mine).narrows(&requested), ok, "{mine}");
        }
        let requested = rule("GET https://a.example/v1/issues");
        for (mine, ok) in [
            ("GET https://a.example/v1/issues", true),
            ("GET https://a.example/v1/issues/", true),
            ("GET https://a.example/v1/issues/7", true),
            ("GET https://a.example/v1/issuesX", false),
            ("GET https://a.example/v1/issues;x", false),
            ("GET https://a.example/v1/", false),
        ] {
            assert_eq!(rule(mine).narrows(&requested), ok, "{mine}");
        }
        let everything = rule("https://a.example");
        for mine in [
            "https://a.example",
            "DELETE https://a.example/x",
            "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS https://a.example",
        ] {
            assert!(rule(mine).narrows(&everything), "{mine}");
        }
        assert!(everything.narrows(&rule(
            "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS https://a.example"
        )));
        assert!(!everything.narrows(&rule("GET https://a.example")));
        assert!(!everything.narrows(&rule("https://a.example/v1/")));
        assert!(!rule("https://b.example").narrows(&everything));
    }
}
