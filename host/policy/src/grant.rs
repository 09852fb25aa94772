//! A grant as a set of [`Rule`]s, and the one refusal a request gets from
//! it. The checks run in a fixed order, each over the rules that passed the
//! one before, so the refusal names the most specific thing that is wrong:
//!
//! 1. host: no rule names the request's host (`Host`);
//! 2. scheme: none of those uses the request's scheme (`Scheme`);
//! 3. port: none of those uses the request's port (`Port`);
//! 4. method: none of those same-origin rules allows the method (`Method`);
//! 5. path: none of those allows the path (`Path`), compared after
//!    [`normalize_path`] at segment boundaries. A rule without a prefix
//!    allows every path, so a bare origin keeps the meaning it always had;
//!    a path that cannot be normalised is allowed only by such a rule.
//!
//! The caller has already refused methods outside
//! [`METHODS`](crate::request::METHODS) and URLs with userinfo.

use crate::destination::{Scheme, TargetHost};
use crate::rule::{PathError, Rule, normalize_path};

/// Why a grant refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRefusal {
    /// No rule names this host.
    Host,
    /// The host is granted, but not over this scheme.
    Scheme,
    /// The host and scheme are granted, but not this port.
    Port,
    /// The origin is granted, but no rule for it allows the method.
    Method,
    /// The origin and method are granted, but no such rule allows the path;
    /// `Some` when the path could not be normalised at all.
    Path(Option<PathError>),
}

/// One request as the grant sees it: its origin (as normalised by
/// [`host_of`](crate::destination::host_of)), its method, and the path
/// that goes on the wire (`Url::path`).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub scheme: Scheme,
    pub host: &'a TargetHost,
    pub port: u16,
    pub method: &'a http::Method,
    pub path: &'a str,
}

/// Check `attempt` against `rules`; see the module documentation.
pub fn check(rules: &[Rule], attempt: Attempt<'_>) -> Result<(), GrantRefusal> {
    let same_host: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.origin.host == *attempt.host)
        .collect();
    if same_host.is_empty() {
        return Err(GrantRefusal::Host);
    }
    let same_scheme: Vec<&Rule> = same_host
        .into_iter()
        .filter(|r| r.origin.scheme == attempt.scheme)
        .collect();
    if same_scheme.is_empty() {
        return Err(GrantRefusal::Scheme);
    }
    let same_origin: Vec<&Rule> = same_scheme
        .into_iter()
        .filter(|r| r.origin.port == attempt.port)
        .collect();
    if same_origin.is_empty() {
        return Err(GrantRefusal::Port);
    }
    let with_method: Vec<&Rule> = same_origin
        .into_iter()
        .filter(|r| r.allows_method(attempt.method))
        .collect();
    if with_method.is_empty() {
        return Err(GrantRefusal::Method);
    }
    if with_method.iter().any(|r| r.prefix.is_none()) {
        return Ok(());
    }
    let path = normalize_path(attempt.path).map_err(|e| GrantRefusal::Path(Some(e)))?;
    if with_method.iter().any(|r| r.allows_path(&path)) {
        Ok(())
    } else {
        Err(GrantRefusal::Path(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    use crate::destination::{host_of, scheme_of};

    fn rules(list: &[&str]) -> Vec<Rule> {
        list.iter().map(|r| Rule::parse(r).unwrap()).collect()
    }

    fn run(rules: &[Rule], method: &str, raw: &str) -> Result<(), GrantRefusal> {
        let url = Url::parse(raw).unwrap();
        let host = host_of(&url).unwrap();
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        check(
            rules,
            Attempt {
                scheme: scheme_of(&url).unwrap(),
                host: &host,
                port: url.port_or_known_default().unwrap(),
                method: &method,
                path: url.path(),
            },
        )
    }

    #[test]
    fn refusals_name_the_most_specific_mismatch() {
        let g = rules(&[
            "GET https://api.example.com/v1/issues/",
            "POST https://api.example.com/v1/comments",
            "http://plain.example:8080",
        ]);
        for (method, url, want) in [
            ("GET", "https://api.example.com/v1/issues/7", Ok(())),
            ("POST", "https://api.example.com/v1/comments", Ok(())),
            ("POST", "https://api.example.com/v1/comments/9", Ok(())),
            ("DELETE", "http://plain.example:8080/any//path", Ok(())),
            (
                "GET",
                "https://other.example/v1/issues/7",
                Err(GrantRefusal::Host),
            ),
            (
                "GET",
                "http://api.example.com/v1/issues/7",
                Err(GrantRefusal::Scheme),
            ),
            (
                "GET",
                "https://plain.example:8080/",
                Err(GrantRefusal::Scheme),
            ),
            ("GET", "http://plain.example/", Err(GrantRefusal::Port)),
            (
                "DELETE",
                "https://api.example.com/v1/issues/7",
                Err(GrantRefusal::Method),
            ),
            // POST is granted for the origin, but not on this path.
            (
                "POST",
                "https://api.example.com/v1/issues/7",
                Err(GrantRefusal::Path(None)),
            ),
            (
                "GET",
                "https://api.example.com/v1/comments",
                Err(GrantRefusal::Path(None)),
            ),
            (
                "GET",
                "https://api.example.com/v1/issuesX",
                Err(GrantRefusal::Path(None)),
            ),
            (
                "GET",
                "https://api.example.com/v1/issues/a%2Fb",
                Err(GrantRefusal::Path(Some(PathError::EncodedSlash))),
            ),
        ] {
            assert_eq!(run(&g, method, url), want, "{method} {url}");
        }
    }

    #[test]
    fn a_bare_origin_beside_a_narrow_rule_keeps_every_path() {
        let g = rules(&["GET https://api.example.com/v1/", "https://api.example.com"]);
        assert_eq!(run(&g, "PUT", "https://api.example.com/a%2Fb"), Ok(()));
        // A bare origin with methods still limits methods, not paths.
        let g = rules(&["GET https://api.example.com"]);
        assert_eq!(run(&g, "GET", "https://api.example.com/x//y"), Ok(()));
        assert_eq!(
            run(&g, "HEAD", "https://api.example.com/"),
            Err(GrantRefusal::Method)
        );
    }

    #[test]
    fn no_rules_refuse_everything() {
        assert_eq!(
            run(&[], "GET", "https://api.example.com/"),
            Err(GrantRefusal::Host)
        );
    }
}
