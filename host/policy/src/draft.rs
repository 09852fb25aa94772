//! Drafting the smallest grant that allows what a skill tried in a trial
//! run, within what it requested.
//!
//! Each attempt is matched to the first requested rule that allows it (a
//! grant can only narrow a request, so an attempt no requested rule allows
//! cannot be granted at all, and is reported instead). The attempts under
//! one requested rule with one method get the longest path prefix, at a
//! segment boundary, that covers all their paths (and methods that end up
//! with the same prefix share one rule):
//!
//! - one path, or all the same: that path (`/v1/items` allows `/v1/items`
//!   and what is under `/v1/items/`);
//! - otherwise their common leading segments, without a trailing `/` when
//!   one of the paths is exactly that prefix, with one otherwise
//!   (`/v1/items/7` and `/v1/items/8` give `/v1/items/`);
//! - nothing in common: one rule per path;
//! - a path that cannot be normalised: no prefix (every path), and a
//!   warning; a path with a `*`, which no rule can hold: the prefix up to
//!   the segment before it.
//!
//! A drafted rule always narrows the requested rule it came from; should
//! the prefix arithmetic ever say otherwise, the requested rule itself is
//! drafted.

use crate::destination::{Destination, Scheme, TargetHost};
use crate::grant::{self, Attempt};
use crate::request::METHODS;
use crate::rule::{Rule, normalize_path};

/// One request a trial run recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub method: http::Method,
    pub scheme: Scheme,
    pub host: TargetHost,
    pub port: u16,
    /// As sent on the wire (`Url::path`), or already normalised.
    pub path: String,
}

impl Tried {
    fn attempt(&self) -> Attempt<'_> {
        Attempt {
            scheme: self.scheme,
            host: &self.host,
            port: self.port,
            method: &self.method,
            path: &self.path,
        }
    }
}

/// The drafted grant, and what could not be put in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Rules in the grammar `skill approve --http` takes, normalised.
    pub rules: Vec<Rule>,
    /// Why some attempts are not (or not narrowly) covered.
    pub warnings: Vec<String>,
}

/// Draft the grant for `tried` out of `requested`.
pub fn draft(requested: &[Rule], tried: &[Tried]) -> Draft {
    let mut out = Draft::default();
    // Attempts grouped by the requested rule that allows them (its index)
    // and their method: a method is granted only where it was used.
    let mut groups: Vec<((usize, http::Method), Vec<&Tried>)> = Vec::new();
    for t in tried {
        let by = requested
            .iter()
            .position(|r| grant::check(std::slice::from_ref(r), t.attempt()).is_ok());
        let Some(i) = by else {
            let origin = Destination {
                scheme: t.scheme,
                host: t.host.clone(),
                port: t.port,
            };
            let warning = format!(
                "{} {origin}{} is not within anything the skill requested; no grant can allow it",
                t.method, t.path
            );
            if !out.warnings.contains(&warning) {
                out.warnings.push(warning);
            }
            continue;
        };
        let key = (i, t.method.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(t),
            None => groups.push((key, vec![t])),
        }
    }
    // (requested rule, prefix) -> methods, in order of first use.
    let mut drafted: Vec<(usize, Option<String>, Vec<http::Method>)> = Vec::new();
    for ((i, method), list) in groups {
        let from = &requested[i];
        let mut paths = Vec::new();
        let mut unmatchable = false;
        for t in &list {
            match normalize_path(&t.path) {
                Ok(p) => paths.push(grantable(p)),
                Err(e) => {
                    unmatchable = true;
                    out.warnings.push(format!(
                        "{} {}{}: the path {e}, so only a rule without a path prefix allows it",
                        t.method, from.origin, t.path
                    ));
                }
            }
        }
        paths.sort();
        paths.dedup();
        let prefixes: Vec<Option<String>> = if unmatchable {
            vec![None]
        } else {
            match common_prefix(&paths) {
                // Nothing in common: one rule per path is smaller than the
                // whole origin.
                None if paths.len() > 1 => paths.iter().map(|p| Some(p.clone())).collect(),
                common => vec![common],
            }
        };
        for prefix in prefixes {
            match drafted.iter_mut().find(|(k, p, _)| *k == i && *p == prefix) {
                Some((_, _, methods)) => methods.push(method.clone()),
                None => drafted.push((i, prefix, vec![method.clone()])),
            }
        }
    }
    for (i, prefix, methods) in drafted {
        let from = &requested[i];
        let methods = METHODS
            .iter()
            .filter(|m| methods.iter().any(|x| x.as_str() == **m))
            .filter_map(|m| http::Method::from_bytes(m.as_bytes()).ok())
            .collect();
        let rule = Rule {
            methods: Some(methods),
            origin: from.origin.clone(),
            prefix,
        };
        let rule = if rule.narrows(from) {
            rule
        } else {
            from.clone()
        };
        if !out.rules.contains(&rule) {
            out.rules.push(rule);
        }
    }
    out
}

/// A normalised path a rule can name: a rule never holds `*`, so a path
/// with one is cut back to the segment boundary before it.
fn grantable(path: String) -> String {
    match path.find('*') {
        Some(star) => path[..=path[..star].rfind('/').unwrap_or(0)].to_string(),
        None => path,
    }
}

/// The longest prefix at a segment boundary that allows every one of
/// `paths` (normalised, non-empty list); `None` for every path.
fn common_prefix(paths: &[String]) -> Option<String> {
    let first = paths.first()?;
    if paths.iter().all(|p| p == first) {
        return (first != "/").then(|| first.clone());
    }
    let split: Vec<Vec<&str>> = paths.iter().map(|p| p.split('/').collect()).collect();
    let mut common: Vec<&str> = Vec::new();
    'segments: for (k, segment) in split[0].iter().enumerate() {
        for other in &split[1..] {
            if other.get(k) != Some(segment) {
                break 'segments;
            }
        }
        common.push(segment);
    }
    // A trailing empty segment (a path ending in `/`) is not a boundary of
    // its own.
    while common.len() > 1 && common.last() == Some(&"") {
        common.pop();
    }
    let joined = common.join("/");
    if joined.is_empty() {
        return None;
    }
    if paths.contains(&joined) {
        Some(joined)
    } else {
        Some(format!("{joined}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::{host_of, scheme_of};

    fn tried(method: &str, url: &str) -> Tried {
        let u = url::Url::parse(url).unwrap();
        Tried {
            method: http::Method::from_bytes(method.as_bytes()).unwrap(),
            scheme: scheme_of(&u).unwrap(),
            host: host_of(&u).unwrap(),
            port: u.port_or_known_default().unwrap(),
            path: u.path().to_string(),
        }
    }

    fn rules(list: &[&str]) -> Vec<Rule> {
        list.iter().map(|r| Rule::parse(r).unwrap()).collect()
    }

    fn shown(d: &Draft) -> Vec<String> {
        d.rules.iter().map(Rule::to_string).collect()
    }

    #[test]
    fn the_draft_is_the_smallest_rule_per_requested_rule() {
        let requested = rules(&["https://api.example.com", "https://cdn.example.com"]);
        let d = draft(
            &requested,
            &[
                tried("GET", "https://api.example.com/v1/items/7?x=1"),
                tried("GET", "https://api.example.com/v1/items/8"),
                tried("POST", "https://api.example.com/v1/items/9"),
                tried("GET", "https://cdn.example.com/img/logo.png"),
            ],
        );
        assert_eq!(
            shown(&d),
            [
                "GET https://api.example.com:443/v1/items/",
                "POST https://api.example.com:443/v1/items/9",
                "GET https://cdn.example.com:443/img/logo.png"
            ]
        );
        assert!(d.warnings.is_empty());
        // Every drafted rule narrows what was requested, and allows every
        // attempt it came from.
        for r in &d.rules {
            assert!(requested.iter().any(|q| r.narrows(q)), "{r}");
        }
    }

    #[test]
    fn methods_are_granted_only_where_they_were_used() {
        let requested = rules(&["https://api.example.com"]);
        let d = draft(
            &requested,
            &[
                tried("GET", "https://api.example.com/status"),
                tried("DELETE", "https://api.example.com/v1/drafts/1"),
                tried("GET", "https://api.example.com/v1/drafts/1"),
                tried("GET", "https://api.example.com/v1/files/*"),
            ],
        );
        assert_eq!(
            shown(&d),
            [
                "GET https://api.example.com:443/status",
                "GET,DELETE https://api.example.com:443/v1/drafts/1",
                "GET https://api.example.com:443/v1/files/",
            ]
        );
        // Every drafted rule parses back (approve takes it) and narrows.
        for r in &d.rules {
            assert_eq!(Rule::parse(&r.to_string()).as_ref(), Ok(r));
            assert!(r.narrows(&requested[0]), "{r}");
        }
        // The same method on the same paths merges.
        let d = draft(
            &requested,
            &[
                tried("GET", "https://api.example.com/v1/a"),
                tried("POST", "https://api.example.com/v1/a"),
            ],
        );
        assert_eq!(shown(&d), ["GET,POST https://api.example.com:443/v1/a"]);
    }

    #[test]
    fn prefixes_keep_segment_boundaries() {
        let p =
            |list: &[&str]| common_prefix(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            p(&["/v1/items", "/v1/items/3"]).as_deref(),
            Some("/v1/items")
        );
        assert_eq!(
            p(&["/v1/items/", "/v1/items/3"]).as_deref(),
            Some("/v1/items/")
        );
        assert_eq!(p(&["/v1/itemsA", "/v1/itemsB"]).as_deref(), Some("/v1/"));
        assert_eq!(p(&["/a", "/b"]), None);
        assert_eq!(p(&["/"]), None);
        assert_eq!(p(&["/v1/"]).as_deref(), Some("/v1/"));
        assert_eq!(p(&["/v1/", "/v1/x"]).as_deref(), Some("/v1/"));
    }

    #[test]
    fn attempts_outside_the_request_and_unmatchable_paths_are_reported() {
        let requested = rules(&["GET https://api.example.com/v1/"]);
        let d = draft(
            &requested,
            &[
                tried("GET", "https://evil.example/x"),
                tried("DELETE", "https://api.example.com/v1/x"),
                tried("GET", "https://api.example.com/v1/a"),
            ],
        );
        assert_eq!(shown(&d), ["GET https://api.example.com:443/v1/a"]);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        // A path no prefix can match, under a bare origin.
        let d = draft(
            &rules(&["https://api.example.com"]),
            &[tried("GET", "https://api.example.com/a%2Fb")],
        );
        assert_eq!(shown(&d), ["GET https://api.example.com:443"]);
        assert_eq!(d.warnings.len(), 1);
        assert!(draft(&requested, &[]).rules.is_empty());
    }
}
