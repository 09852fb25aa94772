//! Narrowing a request into a grant. The owner may grant less than a skill
//! asks for, never more.

use super::error::RegistryError;
use super::model::{LimitSet, Permissions};
use skillhost_policy::rule::Rule;

/// The owner's narrowing of a request. `None` fields grant what was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Narrowing {
    /// Grant only these HTTP destinations (each must have been requested).
    pub http: Option<Vec<String>>,
    /// Grant only these secrets (each must have been requested).
    pub secrets: Option<Vec<String>>,
    /// Tighter limits than the skill asked for.
    pub limits: LimitSet,
}

/// Compute the grant for `requested` under `narrowing`.
pub fn grant(requested: &Permissions, narrowing: &Narrowing) -> Result<Permissions, RegistryError> {
    let http = match narrowing.http.as_deref() {
        None => requested.http.clone(),
        Some(chosen) => narrow_rules(&requested.http, chosen)?,
    };
    let secrets = subset(
        "secret",
        &requested.secrets,
        narrowing.secrets.as_deref(),
        str::to_string,
    )?;
    Ok(Permissions {
        http,
        secrets,
        limits: LimitSet {
            timeout_ms: tighter(requested.limits.timeout_ms, narrowing.limits.timeout_ms),
            memory_bytes: tighter(requested.limits.memory_bytes, narrowing.limits.memory_bytes),
            output_bytes: tighter(requested.limits.output_bytes, narrowing.limits.output_bytes),
            // Not something a skill requests: the owner's choice alone.
            clock_resolution_us: narrowing.limits.clock_resolution_us,
        },
    })
}

/// The rules the owner grants out of `requested`. A chosen rule that is
/// one of the requested ones (as the skill wrote it, or as the review shows
/// it: normalised, punycode, explicit port) is granted in the skill's
/// spelling; a narrower one (fewer methods, a longer prefix at a segment
/// boundary, see [`Rule::narrows`]) in its normalised form. Anything wider
/// than every requested rule is refused.
fn narrow_rules(requested: &[String], chosen: &[String]) -> Result<Vec<String>, RegistryError> {
    let parsed: Vec<(&String, Rule)> = requested
        .iter()
        .filter_map(|r| Rule::parse_stored(r).ok().map(|p| (r, p)))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for item in chosen {
        let granted = match Rule::parse(item) {
            Ok(rule) => match parsed.iter().find(|(_, p)| *p == rule) {
                Some((spelling, _)) => Some((*spelling).clone()),
                None => parsed
                    .iter()
                    .any(|(_, p)| rule.narrows(p))
                    .then(|| rule.to_string()),
            },
            Err(_) => None,
        };
        let Some(granted) = granted else {
            return Err(RegistryError::GrantExceedsRequest(format!(
                "HTTP rule {item:?} is not one the skill requested, nor a narrowing of one \
                 (requested: {})",
                if parsed.is_empty() {
                    "none".to_string()
                } else {
                    parsed
                        .iter()
                        .map(|(_, p)| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        };
        if !out.contains(&granted) {
            out.push(granted);
        }
    }
    Ok(out)
}

/// The requested items that `chosen` names, compared by `key`.
fn subset(
    what: &str,
    requested: &[String],
    chosen: Option<&[String]>,
    key: impl Fn(&str) -> String,
) -> Result<Vec<String>, RegistryError> {
    let Some(chosen) = chosen else {
        return Ok(requested.to_vec());
    };
    let mut out = Vec::new();
    for item in chosen {
        let Some(item) = requested.iter().find(|r| key(r) == key(item)) else {
            return Err(RegistryError::GrantExceedsRequest(format!(
                "{what} {item:?} was not requested by the skill (requested: {})",
                if requested.is_empty() {
                    "none".to_string()
                } else {
                    requested
                        .iter()
                        .map(|r| key(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        };
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

fn tighter(requested: Option<u64>, owner: Option<u64>) -> Option<u64> {
    match (requested, owner) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested() -> Permissions {
        Permissions {
            http: vec![
                "https://api.example.com".into(),
                "https://cdn.example.com".into(),
            ],
            secrets: vec!["TOKEN".into()],
            limits: LimitSet {
                timeout_ms: Some(5_000),
                ..LimitSet::default()
            },
        }
    }

    #[test]
    fn default_grants_the_request() {
        assert_eq!(
            grant(&requested(), &Narrowing::default()).unwrap(),
            requested()
        );
    }

    #[test]
    fn narrowing_grants_a_subset() {
        let n = Narrowing {
            http: Some(vec!["https://api.example.com".into()]),
            secrets: Some(vec![]),
            limits: LimitSet {
                timeout_ms: Some(1_000),
                memory_bytes: Some(1 << 20),
                output_bytes: None,
                clock_resolution_us: Some(50_000),
            },
        };
        let g = grant(&requested(), &n).unwrap();
        assert_eq!(g.limits.clock_resolution_us, Some(50_000));
        assert_eq!(g.http, vec!["https://api.example.com".to_string()]);
        assert!(g.secrets.is_empty());
        assert_eq!(g.limits.timeout_ms, Some(1_000));
        assert_eq!(g.limits.memory_bytes, Some(1 << 20));
    }

    #[test]
    fn destinations_may_be_named_as_the_review_shows_them() {
        let requested = Permissions {
            http: vec!["https://\u{430}pi.example.com".into()],
            ..Permissions::default()
        };
        for shown in [
            "https://xn--pi-6kc.example.com:443",
            "https://XN--PI-6KC.example.com",
            "https://\u{430}pi.example.com",
        ] {
            let n = Narrowing {
                http: Some(vec![shown.into()]),
                ..Narrowing::default()
            };
            // Granted in the skill's own spelling.
            assert_eq!(
                grant(&requested, &n).unwrap().http,
                requested.http,
                "{shown}"
            );
        }
        // The lookalike's real-looking twin is a different host.
        let n = Narrowing {
            http: Some(vec!["https://api.example.com".into()]),
            ..Narrowing::default()
        };
        assert!(matches!(
            grant(&requested, &n),
            Err(RegistryError::GrantExceedsRequest(_))
        ));
    }

    #[test]
    fn rules_may_be_narrowed_never_widened() {
        let requested = Permissions {
            http: vec![
                "GET,POST https://api.example.com/v1/".into(),
                "https://cdn.example.com".into(),
            ],
            ..Permissions::default()
        };
        let narrowed = |chosen: &[&str]| {
            grant(
                &requested,
                &Narrowing {
                    http: Some(chosen.iter().map(|c| c.to_string()).collect()),
                    ..Narrowing::default()
                },
            )
        };
        assert_eq!(
            narrowed(&["get https://API.example.com:443/v1/issues/", "GET https://cdn.example.com/img"])
                .unwrap()
                .http,
            [
                "GET https://api.example.com:443/v1/issues/",
                "GET https://cdn.example.com:443/img"
            ]
        );
        // The requested rule itself, in the review's spelling, keeps the
        // skill's spelling.
        assert_eq!(
            narrowed(&["GET,POST https://api.example.com:443/v1/"]).unwrap().http,
            ["GET,POST https://api.example.com/v1/"]
        );
        for wider in [
            "https://api.example.com/v1/",
            "GET,DELETE https://api.example.com/v1/",
            "GET https://api.example.com/",
            "GET https://api.example.com/v1",
            "GET https://api.example.com/v",
            "GET http://api.example.com/v1/",
            "GET https://api.example.com:8443/v1/",
            "GET https://api.example.com/v1/../admin",
            "https://evil.example",
            "not a rule",
        ] {
            assert!(
                matches!(narrowed(&[wider]), Err(RegistryError::GrantExceedsRequest(_))),
                "{wider} was granted"
            );
        }
    }

    #[test]
    fn a_grant_never_exceeds_the_request() {
        let more_http = Narrowing {
            http: Some(vec!["https://evil.example".into()]),
            ..Narrowing::default()
        };
        assert!(matches!(
            grant(&requested(), &more_http),
            Err(RegistryError::GrantExceedsRequest(_))
        ));
        let more_secrets = Narrowing {
            secrets: Some(vec!["OTHER".into()]),
            ..Narrowing::default()
        };
        assert!(matches!(
            grant(&requested(), &more_secrets),
            Err(RegistryError::GrantExceedsRequest(_))
        ));
        // An owner "limit" larger than the skill's request cannot raise it.
        let looser = Narrowing {
            limits: LimitSet {
                timeout_ms: Some(60_000),
                ..LimitSet::default()
            },
            ..Narrowing::default()
        };
        assert_eq!(
            grant(&requested(), &looser).unwrap().limits.timeout_ms,
            Some(5_000)
        );
    }
}
