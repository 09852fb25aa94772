//! Secrets: encrypted at rest, injected only inside the host, never seen by
//! a skill.
//!
//! A skill writes `{{secret:NAME}}` in a header value. After the request has
//! passed every egress check, the host substitutes the value — only if the
//! skill requested NAME, the owner granted it, a value is set, the scheme is
//! https and the destination is one the secret is bound to. Whatever comes
//! back from that request, and the skill's output, errors and logs, are
//! scanned for the value in all its usual encodings and redacted.

pub mod crypto;
pub mod key;
pub mod placeholder;
pub mod redact;

use std::collections::BTreeSet;

use zeroize::Zeroizing;

pub use key::MasterKey;
#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use placeholder::{placeholder, valid_name};
pub use redact::{Redaction, Redactor};
pub use skillhost_policy::scan::Scanner;

use crate::codes::{self, Code};
use crate::destination::Scheme;
use skillhost_policy::grant::{self, Attempt};
use skillhost_policy::rule::Rule;
use crate::registry::{RegistryError, SecretRow, SecretStore, SkillName};

/// Why a secret operation or a use of a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("no master key: {0}")]
    NoKey(String),
    #[error("{0}")]
    BadKey(String),
    #[error(
        "secret {name} is encrypted under key {stored}, but the master key is {current}; nothing was changed"
    )]
    WrongKey {
        name: String,
        stored: String,
        current: String,
    },
    #[error(
        "secret {0} failed authentication: tampered with, moved from another row, rebound to other destinations, or written before its destinations were authenticated (then set it again or run `skillhost secret rotate-key`)"
    )]
    Decrypt(String),
    #[error("secret {0} is not granted to this skill")]
    NotGranted(String),
    #[error("secret {0} is granted but has no value set")]
    NotSet(String),
    #[error("secret {0} may not be sent to this destination")]
    DestinationNotAllowed(String),
    #[error("{0}")]
    BadPlaceholder(String),
    #[error("secret placeholders are allowed only in header values, not in the body")]
    PlaceholderInBody,
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the request carries secret {0} (in some encoding) to a destination it is not bound to; nothing was sent"
    )]
    Exfiltration(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl SecretError {
    pub fn code(&self) -> Code {
        match self {
            SecretError::NoKey(_) => codes::SECRET_NO_KEY,
            SecretError::BadKey(_) => codes::SECRET_BAD_KEY,
            SecretError::WrongKey { .. } => codes::SECRET_WRONG_KEY,
            SecretError::Decrypt(_) => codes::SECRET_DECRYPT_FAILED,
            SecretError::NotGranted(_) => codes::SECRET_NOT_GRANTED,
            SecretError::NotSet(_) => codes::SECRET_NOT_SET,
            SecretError::DestinationNotAllowed(_) => codes::SECRET_DESTINATION_NOT_ALLOWED,
            SecretError::BadPlaceholder(_) => codes::SECRET_BAD_PLACEHOLDER,
            SecretError::PlaceholderInBody => codes::SECRET_PLACEHOLDER_IN_BODY,
            SecretError::Invalid(_) => codes::SECRET_INVALID,
            SecretError::Exfiltration(_) => codes::SECRET_EXFILTRATION,
            SecretError::Registry(e) => e.code(),
        }
    }
}

/// Longest secret value.
pub const MAX_SECRET_LEN: usize = 4096;

/// A decrypted secret for one invocation: wiped when dropped.
pub struct Revealed {
    pub name: String,
    pub value: Zeroizing<String>,
    /// The https request rules the value may be sent under (bare origins,
    /// or methods and a path prefix).
    pub rules: Vec<Rule>,
}

impl Revealed {
    /// Whether this secret may be sent with `attempt`: over https, and
    /// allowed by one of its rules (origin, method and path, checked as a
    /// grant is; see [`skillhost_policy::grant`]).
    pub fn allows(&self, attempt: Attempt<'_>) -> bool {
        attempt.scheme == Scheme::Https && grant::check(&self.rules, attempt).is_ok()
    }
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revealed")
            .field("name", &self.name)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The secrets one invocation may use.
#[derive(Debug, Default)]
pub struct SecretGrants {
    /// Names the owner granted (requested ∩ approved).
    pub granted: BTreeSet<String>,
    /// Granted names whose value is set and decrypted, or why not.
    pub values: Vec<Result<Revealed, SecretError>>,
    /// Finds every revealed value, in order of [`revealed`](Self::revealed).
    scanner: Option<Scanner>,
}

impl SecretGrants {
    /// Grants over `values`, with the scanner built for the revealed ones.
    pub fn new(granted: BTreeSet<String>, values: Vec<Result<Revealed, SecretError>>) -> Self {
        let mut grants = SecretGrants {
            granted,
            values,
            scanner: None,
        };
        grants.scanner = Scanner::new(
            grants
                .revealed()
                .map(|r| (r.name.as_str(), r.value.as_bytes())),
        );
        grants
    }

    /// The scanner for every revealed value; `None` when the skill holds no
    /// usable secret (then nothing needs scanning).
    pub fn scanner(&self) -> Option<&Scanner> {
        self.scanner.as_ref()
    }

    /// Refuse (`secret.exfiltration`) a request that carries a granted
    /// secret, in any scanned form, in its URL, headers or body, unless the
    /// secret's rules allow this very request (origin, method, path). Runs
    /// on what the guest wrote, before placeholders are substituted.
    pub fn check_outbound(
        &self,
        attempt: Attempt<'_>,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<(), SecretError> {
        let Some(scanner) = &self.scanner else {
            return Ok(());
        };
        let mut outgoing = url.as_bytes().to_vec();
        for (name, value) in headers {
            outgoing.push(0);
            outgoing.extend_from_slice(name.as_bytes());
            outgoing.push(0);
            outgoing.extend_from_slice(value.as_bytes());
        }
        if let Some(body) = body {
            outgoing.push(0);
            outgoing.extend_from_slice(body);
        }
        let revealed: Vec<&Revealed> = self.revealed().collect();
        for index in scanner.found_in(&outgoing) {
            let secret = revealed[index];
            if !secret.allows(attempt) {
                return Err(SecretError::Exfiltration(secret.name.clone()));
            }
        }
        Ok(())
    }

    fn find(&self, name: &str) -> Result<&Revealed, SecretError> {
        if !self.granted.contains(name) {
            return Err(SecretError::NotGranted(name.to_string()));
        }
        for v in &self.values {
            match v {
                Ok(r) if r.name == name => return Ok(r),
                Err(SecretError::NotSet(n)) if n == name => {
                    return Err(SecretError::NotSet(n.clone()));
                }
                Err(e @ (SecretError::WrongKey { name: n, .. } | SecretError::Decrypt(n)))
                    if n == name =>
                {
                    return Err(e.clone());
                }
                _ => {}
            }
        }
        match self.values.iter().find_map(|v| v.as_ref().err()) {
            Some(e @ SecretError::NoKey(_)) => Err(e.clone()),
            _ => Err(SecretError::NotSet(name.to_string())),
        }
    }

    /// Every revealed value, for scanning.
    pub fn revealed(&self) -> impl Iterator<Item = &Revealed> {
        self.values.iter().filter_map(|v| v.as_ref().ok())
    }

    /// Check and substitute the placeholders of one request. `headers` are
    /// rewritten in place; returns the names injected. Nothing is changed on
    /// error.
    pub fn inject(
        &self,
        attempt: Attempt<'_>,
        url: &str,
        headers: &mut [(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Vec<String>, SecretError> {
        if body.is_some_and(placeholder::mentions) {
            return Err(SecretError::PlaceholderInBody);
        }
        if placeholder::mentions(url.as_bytes())
            || headers
                .iter()
                .any(|(n, _)| placeholder::mentions(n.as_bytes()))
        {
            return Err(SecretError::BadPlaceholder(
                "secret placeholders are allowed only in header values".into(),
            ));
        }
        let mut names = Vec::new();
        for (_, value) in headers.iter() {
            names.extend(placeholder::names_in(value)?);
        }
        for name in &names {
            let secret = self.find(name)?;
            if !secret.allows(attempt) {
                return Err(SecretError::DestinationNotAllowed(name.clone()));
            }
        }
        if names.is_empty() {
            return Ok(names);
        }
        for (_, value) in headers.iter_mut() {
            if placeholder::mentions(value.as_bytes()) {
                *value = placeholder::substitute(value, |n| {
                    self.find(n)
                        .map(|s| s.value.to_string())
                        .unwrap_or_default()
                });
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// A secret as `secret list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecretSummary {
    /// The skill the secret belongs to; no other skill can use it.
    pub skill: String,
    /// The secret's name, as a skill writes it in `{{secret:NAME}}`.
    pub name: String,
    /// The https request rules the value may be sent under, normalised
    /// (`https://api.example.com:443`, or `GET https://api.example.com:443/v1/`);
    /// a placeholder in any other request is refused
    /// (`secret.destination_not_allowed`). The field keeps its old name: a
    /// bare origin is the rule every earlier secret has.
    pub hosts: Vec<String>,
    /// Starts at 1 and goes up by one each time the value is set. Bound
    /// into the ciphertext's associated data, with the skill, name and
    /// destinations, so a value moved to another row fails to decrypt.
    pub version: i64,
    /// Public id of the master key the value is encrypted under (not the
    /// key); a mismatch with the current key is `secret.wrong_key`.
    pub key_id: String,
    /// When the secret was first set (RFC 3339).
    pub created_at: String,
    /// When its value or destinations were last set (RFC 3339).
    pub updated_at: String,
    /// `****` and the last four characters, or why the value is unreadable.
    pub mask: String,
}

/// Owner operations on the encrypted secrets.
pub struct Vault<'a> {
    store: &'a dyn SecretStore,
    key: &'a MasterKey,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// How a row's ciphertext opened.
enum Opened {
    /// Under the v2 binding: the row and its destinations are authenticated.
    Bound(Zeroizing<String>),
    /// Only under the v1 binding, which left the destinations unauthenticated.
    Legacy(Zeroizing<String>),
}

/// Why a legacy row is never used.
const LEGACY: &str = "written before its destinations were authenticated; set it again, or run `skillhost secret rotate-key` to re-seal it";

fn open_row(key: &MasterKey, row: &SecretRow) -> Result<Opened, SecretError> {
    if row.key_id != key.id() {
        return Err(SecretError::WrongKey {
            name: row.name.clone(),
            stored: row.key_id.clone(),
            current: key.id(),
        });
    }
    let under = |aad: &[u8]| crypto::open(key, &row.nonce, &row.ciphertext, aad);
    let bound = crypto::aad(&row.skill, &row.name, row.version, &row.hosts);
    let (plain, legacy) = match under(&bound) {
        Some(plain) => (plain, false),
        None => (
            under(&crypto::aad_v1(&row.skill, &row.name, row.version))
                .ok_or_else(|| SecretError::Decrypt(row.name.clone()))?,
            true,
        ),
    };
    let value = String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| SecretError::Decrypt(row.name.clone()))?;
    Ok(if legacy {
        Opened::Legacy(value)
    } else {
        Opened::Bound(value)
    })
}

/// The value of a row whose bindings are authenticated. A legacy row is
/// refused: its destinations could have been rewritten without the key.
fn decrypt(key: &MasterKey, row: &SecretRow) -> Result<Zeroizing<String>, SecretError> {
    match open_row(key, row)? {
        Opened::Bound(value) => Ok(value),
        Opened::Legacy(_) => {
            tracing::warn!(skill = %row.skill, secret = %row.name, "secret refused: {LEGACY}");
            Err(SecretError::Decrypt(row.name.clone()))
        }
    }
}

impl<'a> Vault<'a> {
    pub fn new(store: &'a dyn SecretStore, key: &'a MasterKey) -> Self {
        Vault { store, key }
    }

    /// Set (or replace) a secret for one skill, bound to https request
    /// rules (see [`skillhost_policy::rule`]).
    pub fn set(
        &self,
        skill: &SkillName,
        name: &str,
        value: Zeroizing<String>,
        rules: &[String],
    ) -> Result<SecretRow, SecretError> {
        if !valid_name(name) {
            return Err(SecretError::Invalid(format!(
                "{name:?} is not a secret name: use A-Z, 0-9 and _, starting with a letter"
            )));
        }
        if value.len() < redact::MIN_SECRET_LEN || value.len() > MAX_SECRET_LEN {
            return Err(SecretError::Invalid(format!(
                "a secret value must be {}-{MAX_SECRET_LEN} bytes",
                redact::MIN_SECRET_LEN
            )));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(SecretError::Invalid(
                "a secret value may not contain control characters (CR, LF, ...)".into(),
            ));
        }
        if rules.is_empty() {
            return Err(SecretError::Invalid(
                "bind the secret to at least one request rule with --allow".into(),
            ));
        }
        let mut normalised = Vec::new();
        for raw in rules {
            let rule = Rule::parse(raw)
                .map_err(|e| SecretError::Invalid(format!("rule {raw:?}: {e}")))?;
            if rule.origin.scheme != Scheme::Https {
                return Err(SecretError::Invalid(format!(
                    "{raw}: secrets are only ever sent over https"
                )));
            }
            normalised.push(rule.to_string());
        }
        let at = now();
        self.store
            .put_secret(skill.as_str(), name, &mut |version, existing| {
                let (nonce, ciphertext) = crypto::seal(
                    self.key,
                    value.as_bytes(),
                    &crypto::aad(skill.as_str(), name, version, &normalised),
                );
                Ok(SecretRow {
                    skill: skill.to_string(),
                    name: name.to_string(),
                    version,
                    key_id: self.key.id(),
                    nonce: nonce.to_vec(),
                    ciphertext,
                    hosts: normalised.clone(),
                    created_at: existing.map_or_else(|| at.clone(), |e| e.created_at.clone()),
                    updated_at: at.clone(),
                })
            })
            .map_err(SecretError::from)
    }

    /// Names, bindings, times and a mask (last four characters only).
    pub fn list(&self, skill: Option<&str>) -> Result<Vec<SecretSummary>, SecretError> {
        Ok(self
            .store
            .secrets(skill)?
            .into_iter()
            .map(|row| {
                let mask = match open_row(self.key, &row) {
                    Ok(Opened::Legacy(_)) => {
                        format!("(unreadable: {}: {LEGACY})", codes::SECRET_DECRYPT_FAILED)
                    }
                    Ok(Opened::Bound(v)) => {
                        let tail: String = v
                            .chars()
                            .rev()
                            .take(4)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        format!("****{tail}")
                    }
                    Err(e) => format!("(unreadable: {})", e.code()),
                };
                SecretSummary {
                    skill: row.skill,
                    name: row.name,
                    hosts: row.hosts,
                    version: row.version,
                    key_id: row.key_id,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    mask,
                }
            })
            .collect())
    }

    pub fn remove(&self, skill: &SkillName, name: &str) -> Result<bool, SecretError> {
        Ok(self.store.delete_secret(skill.as_str(), name)?)
    }

    /// Re-encrypt every secret under `new_key` in one transaction, bound to
    /// its row and destinations. Any row that does not decrypt under the
    /// current key aborts it all. A legacy row (sealed before destinations
    /// were authenticated) is re-sealed with the destinations it has now:
    /// the owner runs this, and `secret list` shows them beforehand.
    pub fn rotate(&self, new_key: &MasterKey) -> Result<usize, SecretError> {
        let mut failure = None;
        let result = self.store.reencrypt_all(&mut |row| {
            let value = match open_row(self.key, row) {
                Ok(Opened::Bound(value) | Opened::Legacy(value)) => value,
                Err(e) => {
                    let m = e.to_string();
                    failure = Some(e);
                    return Err(RegistryError::Storage(m));
                }
            };
            let (nonce, ciphertext) = crypto::seal(
                new_key,
                value.as_bytes(),
                &crypto::aad(&row.skill, &row.name, row.version, &row.hosts),
            );
            Ok(SecretRow {
                key_id: new_key.id(),
                nonce: nonce.to_vec(),
                ciphertext,
                ..row.clone()
            })
        });
        match (result, failure) {
            (Ok(n), _) => Ok(n),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(e.into()),
        }
    }

}

/// Decrypt what `skill` was granted. Without a key, every set secret
/// reports `secret.no_key` when used.
pub fn reveal(
    store: &dyn SecretStore,
    key: Option<&MasterKey>,
    skill: &str,
    granted: &[String],
) -> SecretGrants {
    let mut values = Vec::new();
    for name in granted {
        let value = match store.secret(skill, name) {
            Ok(None) => Err(SecretError::NotSet(name.clone())),
            Err(e) => Err(e.into()),
            Ok(Some(row)) => match key {
                None => Err(SecretError::NoKey("no master key is configured".into())),
                Some(key) => decrypt(key, &row).map(|value| {
                    let rules = row
                        .hosts
                        .iter()
                        .filter_map(|h| Rule::parse_stored(h).ok())
                        .collect();
                    Revealed {
                        name: name.clone(),
                        value,
                        rules,
                    }
                }),
            },
        };
        values.push(value);
    }
    SecretGrants::new(granted.iter().cloned().collect(), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(bound: &str) -> SecretGrants {
        grants_under(&[bound])
    }

    fn grants_under(rules: &[&str]) -> SecretGrants {
        SecretGrants::new(
            ["TOKEN".to_string()].into_iter().collect(),
            vec![Ok(Revealed {
                name: "TOKEN".into(),
                value: Zeroizing::new("value-1234567".into()),
                rules: rules.iter().map(|r| Rule::parse(r).unwrap()).collect(),
            })],
        )
    }

    /// Run `f` on the attempt of `method url`, as egress builds it.
    fn with_attempt<R>(method: &str, url: &str, f: impl FnOnce(Attempt<'_>) -> R) -> R {
        let u = url::Url::parse(url).unwrap();
        let host = crate::destination::host_of(&u).unwrap();
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        f(Attempt {
            scheme: crate::destination::scheme_of(&u).unwrap(),
            host: &host,
            port: u.port_or_known_default().unwrap(),
            method: &method,
            path: u.path(),
        })
    }

    fn inject_as(
        g: &SecretGrants,
        method: &str,
        url: &str,
        header: &str,
        body: Option<&[u8]>,
    ) -> Result<Vec<(String, String)>, SecretError> {
        let mut headers = vec![("authorization".to_string(), header.to_string())];
        with_attempt(method, url, |a| g.inject(a, url, &mut headers, body))?;
        Ok(headers)
    }

    fn inject(
        g: &SecretGrants,
        url: &str,
        header: &str,
        body: Option<&[u8]>,
    ) -> Result<Vec<(String, String)>, SecretError> {
        inject_as(g, "GET", url, header, body)
    }

    #[test]
    fn a_scoped_secret_goes_only_with_requests_its_rules_allow() {
        let g = grants_under(&["GET https://api.example.com/v1/issues/"]);
        let placeholder = "Bearer {{secret:TOKEN}}";
        let ok = inject_as(&g, "GET", "https://api.example.com/v1/issues/7?x=1", placeholder, None);
        assert_eq!(ok.unwrap()[0].1, "Bearer value-1234567");
        for (method, url) in [
            ("POST", "https://api.example.com/v1/issues/7"),
            ("HEAD", "https://api.example.com/v1/issues/7"),
            ("GET", "https://api.example.com/v1/issue/7"),
            ("GET", "https://api.example.com/v1/issues"),
            ("GET", "https://api.example.com/v1/issuesX"),
            ("GET", "https://api.example.com/v1/admin"),
            ("GET", "https://api.example.com/v1/issues/a%2Fb"),
            ("GET", "https://api.example.com/v1/issues//7"),
            ("GET", "http://api.example.com/v1/issues/7"),
            ("GET", "https://api.example.com:8443/v1/issues/7"),
        ] {
            assert_eq!(
                inject_as(&g, method, url, placeholder, None).unwrap_err().code(),
                codes::SECRET_DESTINATION_NOT_ALLOWED,
                "{method} {url}"
            );
        }
        // A value reflected back and written out on another path is
        // exfiltration, although the origin is the bound one.
        let out = with_attempt("GET", "https://api.example.com/v1/admin", |a| {
            g.check_outbound(a, "https://api.example.com/v1/admin", &[], Some(b"value-1234567"))
        });
        assert_eq!(out.unwrap_err().code(), codes::SECRET_EXFILTRATION);
    }

    #[test]
    fn substitutes_only_for_bound_https_destinations() {
        let g = grants("https://api.example.com");
        let h = inject(
            &g,
            "https://api.example.com",
            "Bearer {{secret:TOKEN}}",
            None,
        )
        .unwrap();
        assert_eq!(h[0].1, "Bearer value-1234567");
        let e = |dest: &str| {
            inject(&g, dest, "Bearer {{secret:TOKEN}}", None)
                .unwrap_err()
                .code()
        };
        assert_eq!(
            e("https://evil.example.com"),
            codes::SECRET_DESTINATION_NOT_ALLOWED
        );
        assert_eq!(
            e("https://api.example.com:8443"),
            codes::SECRET_DESTINATION_NOT_ALLOWED
        );
        // Plain http to the very host it is bound to: still refused.
        assert_eq!(
            e("http://api.example.com"),
            codes::SECRET_DESTINATION_NOT_ALLOWED
        );
    }

    #[test]
    fn a_secret_in_any_form_to_an_unbound_destination_is_refused() {
        let g = grants("https://api.example.com");
        let check = |_origin: &str, url: &str, header: &str, body: &[u8]| {
            let headers = vec![("x-data".to_string(), header.to_string())];
            with_attempt("GET", url, |a| g.check_outbound(a, url, &headers, Some(body)))
                .map_err(|e| e.code())
        };
        let evil = "https://evil.example";
        let refused = Err(codes::SECRET_EXFILTRATION);
        assert_eq!(
            check(evil, "https://evil.example/?t=value-1234567", "", b""),
            refused
        );
        assert_eq!(
            check(evil, "https://evil.example/", "VALUE-1234567", b""),
            refused
        );
        assert_eq!(
            check(evil, "https://evil.example/", "dmFsdWUtMTIzNDU2Nw", b""),
            refused
        );
        assert_eq!(
            check(
                evil,
                "https://evil.example/",
                "",
                b"76616c75652d31323334353637"
            ),
            refused
        );
        assert_eq!(
            check(
                evil,
                "https://evil.example/%76%61%6c%75%65-1234567",
                "",
                b""
            ),
            refused
        );
        // Bound, over https: the value may go there.
        let api = "https://api.example.com";
        assert_eq!(
            check(api, "https://api.example.com/", "value-1234567", b""),
            Ok(())
        );
        // Nothing that resembles it: allowed anywhere.
        assert_eq!(check(evil, "https://evil.example/", "hello", b"{}"), Ok(()));
    }

    #[test]
    fn body_and_unknown_placeholders_are_refused() {
        let g = grants("https://api.example.com");
        let body = Some(&b"{\"t\":\"{{secret:TOKEN}}\"}"[..]);
        assert_eq!(
            inject(&g, "https://api.example.com", "x", body)
                .unwrap_err()
                .code(),
            codes::SECRET_PLACEHOLDER_IN_BODY
        );
        assert_eq!(
            inject(&g, "https://api.example.com", "{{secret:OTHER}}", None)
                .unwrap_err()
                .code(),
            codes::SECRET_NOT_GRANTED
        );
        // Without placeholders nothing changes.
        assert_eq!(
            inject(&g, "https://evil.example", "plain", None).unwrap()[0].1,
            "plain"
        );
    }
}
