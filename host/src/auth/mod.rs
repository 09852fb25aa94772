//! Caller identities and their tokens. A token is shown once, at creation;
//! only its SHA-256 is stored, and a presented token is compared in constant
//! time. Every failed authentication is audited as `auth.failure`, without
//! the presented token.
//!
//! Format: `skh_<id>_<secret>`. The id (16 hex digits) finds the record; the
//! secret (256 random bits, base64url) proves possession. With 256 bits of
//! entropy a plain SHA-256 is enough: there is nothing to brute-force.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::codes::{self, Code};
use crate::registry::{RegistryError, TokenRow};

/// What a caller may do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// List and invoke the approved skills it is scoped to.
    Invoker,
    /// Everything an invoker can, on every skill, plus owner operations.
    Owner,
}

impl Role {
    /// The role's stored and displayed name: `invoker` or `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Invoker => "invoker",
            Role::Owner => "owner",
        }
    }

    /// The role named `s` (`invoker` or `owner`, exactly); `None` for
    /// anything else, so an unknown role is never taken for a known one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invoker" => Some(Role::Invoker),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// A token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// The token's public id: 16 hex digits, the `<id>` of
    /// `skh_<id>_<secret>`. Finds the record; proves nothing by itself.
    pub id: String,
    /// The caller's name (1-64 of `a-z`, `A-Z`, `0-9`, `-`, `_`), recorded as
    /// the actor in the audit log.
    pub name: String,
    /// What the token's holder may do.
    pub role: Role,
    /// Skills an invoker may use; `None` means all.
    pub skills: Option<Vec<String>>,
    /// SHA-256 of the token's secret part: the token itself is never stored,
    /// so a leaked registry does not leak usable tokens. Compared in
    /// constant time (`ct_eq`); never serialised.
    #[serde(skip)]
    pub hash: Vec<u8>,
    /// When the token was minted (RFC 3339).
    pub created_at: String,
    /// When the token stops working (RFC 3339), at or after this instant;
    /// `None` means it never expires.
    pub expires_at: Option<String>,
    /// When the owner revoked the token (RFC 3339); a revoked token fails
    /// authentication with `auth.failure` like any bad token.
    pub revoked_at: Option<String>,
}

impl TokenRecord {
    /// The row the store keeps.
    pub fn to_row(&self) -> TokenRow {
        TokenRow {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role.as_str().to_string(),
            skills: self.skills.clone(),
            hash: self.hash.clone(),
            created_at: self.created_at.clone(),
            expires_at: self.expires_at.clone(),
            revoked_at: self.revoked_at.clone(),
        }
    }

    /// Read a stored row; a role this build does not know is corruption.
    pub fn from_row(row: TokenRow) -> Result<Self, RegistryError> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| RegistryError::Corrupt("a token role is unreadable".into()))?;
        Ok(TokenRecord {
            id: row.id,
            name: row.name,
            role,
            skills: row.skills,
            hash: row.hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) skills: Option<Vec<String>>,
}

impl Caller {
    /// The embedding process itself, as an invoker of every runnable skill,
    /// named `name` in the audit log. Only for code that already holds the
    /// data dir (and so could approve anything): remote callers must come
    /// through [`Host::authenticate`](crate::Host::authenticate).
    pub fn local(name: &str) -> Self {
        Caller {
            name: name.to_string(),
            role: Role::Invoker,
            skills: None,
        }
    }

    /// Whether this caller may see and invoke `skill`.
    pub fn may_use(&self, skill: &str) -> bool {
        self.role == Role::Owner
            || self
                .skills
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == skill))
    }

    /// The name the audit log records for this caller.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What this caller may do.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The skills an invoker is scoped to; `None` means all.
    pub fn skills(&self) -> Option<&[String]> {
        self.skills.as_deref()
    }

    /// Whether this caller is an owner.
    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }
}

/// Why a caller was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, unknown, wrong, expired or revoked: one answer for
    /// all, so a prober learns nothing.
    #[error("authentication failed")]
    Failure { reason: &'static str },
    #[error("this caller may not {0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl AuthError {
    pub fn code(&self) -> Code {
        match self {
            AuthError::Failure { .. } => codes::AUTH_FAILURE,
            AuthError::Forbidden(_) => codes::AUTH_FORBIDDEN,
            AuthError::Invalid(_) => codes::AUTH_INVALID,
            AuthError::Registry(e) => e.code(),
        }
    }
}

/// A newly minted token: the text to hand over once, and its record.
pub struct NewToken {
    /// The full token, `skh_<id>_<secret>`, to hand to the caller. Shown
    /// once and never stored; zeroed in memory when dropped.
    pub token: Zeroizing<String>,
    /// What the registry stores for it: the secret's hash, not the secret.
    pub record: TokenRecord,
}

/// Hash of a token's secret part.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time equality of two hashes (`subtle`, whose comparison has
/// an optimisation barrier a plain fold lacks). A length difference is not
/// secret: both are SHA-256 outputs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

/// Mint a token for a caller.
pub fn mint(
    name: &str,
    role: Role,
    skills: Option<Vec<String>>,
    created_at: String,
    expires_at: Option<String>,
) -> Result<NewToken, AuthError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AuthError::Invalid(format!(
            "{name:?} is not a token name: use 1-64 of a-z, A-Z, 0-9, '-' and '_'"
        )));
    }
    let id = hex::encode(rand::random::<[u8; 8]>());
    let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
    let token = Zeroizing::new(format!("skh_{id}_{}", secret.as_str()));
    Ok(NewToken {
        record: TokenRecord {
            id,
            name: name.to_string(),
            role,
            skills,
            hash: hash_secret(&secret),
            created_at,
            expires_at,
            revoked_at: None,
        },
        token,
    })
}

/// Split a presented token into (id, secret), or `None` if malformed.
pub fn split(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix("skh_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43)
        .then_some((id, secret))
}

/// Whether a token that expires at `expires_at` has expired at `now`: at
/// or after the instant, compared as instants, not as strings (so
/// `…00:00:00.5Z` is after `…00:00:00Z`, and an offset counts). Both are
/// RFC 3339, as stored (`humantime`'s UTC form); a time that does not
/// parse counts as expired, so a damaged row fails closed.
pub(crate) fn expired(expires_at: &str, now: &str) -> bool {
    match (instant(expires_at), instant(now)) {
        (Some(expires_at), Some(now)) => expires_at <= now,
        _ => true,
    }
}

fn instant(rfc3339: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(rfc3339, &Rfc3339).ok()
}

/// Check a presented token against its record at time `now` (RFC 3339).
pub fn check(
    record: Option<&TokenRecord>,
    presented_secret: &str,
    now: &str,
) -> Result<Caller, AuthError> {
    // Hash even when there is no record, so timing says nothing about ids.
    let presented = hash_secret(presented_secret);
    let Some(record) = record else {
        return Err(AuthError::Failure {
            reason: "unknown token",
        });
    };
    if !ct_eq(&presented, &record.hash) {
        return Err(AuthError::Failure {
            reason: "wrong secret",
        });
    }
    if record.revoked_at.is_some() {
        return Err(AuthError::Failure { reason: "revoked" });
    }
    if record
        .expires_at
        .as_deref()
        .is_some_and(|e| expired(e, now))
    {
        return Err(AuthError::Failure { reason: "expired" });
    }
    Ok(Caller {
        name: record.name.clone(),
        role: record.role,
        skills: record.skills.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_compare_equal_only_when_every_byte_and_the_length_match() {
        let a = hash_secret("one");
        assert!(ct_eq(&a, &a.clone()));
        let mut last = a.clone();
        *last.last_mut().unwrap() ^= 1;
        assert!(!ct_eq(&a, &last));
        let mut first = a.clone();
        first[0] ^= 0x80;
        assert!(!ct_eq(&a, &first));
        assert!(!ct_eq(&a, &a[..31]));
        assert!(!ct_eq(&a, &[]));
    }

    fn now() -> String {
        "2026-11-22T00:00:00Z".into()
    }

    #[test]
    fn mint_split_check() {
        let t = mint(
            "agent-1",
            Role::Invoker,
            Some(vec!["echo".into()]),
            now(),
            None,
        )
        .unwrap();
        let (id, secret) = split(&t.token).unwrap();
        assert_eq!(id, t.record.id);
        let caller = check(Some(&t.record), secret, &now()).unwrap();
        assert!(caller.may_use("echo") && !caller.may_use("other"));
        assert!(!t.record.hash.is_empty() && !t.token.contains(&hex::encode(&t.record.hash)));
    }

    #[test]
    fn every_failure_looks_the_same() {
        let t = mint(
            "a",
            Role::Owner,
            None,
            now(),
            Some("2026-11-23T00:00:00Z".into()),
        )
        .unwrap();
        let (_, secret) = split(&t.token).unwrap();
        let mut wrong = secret.to_string();
        wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
        let failures = [
            check(None, secret, &now()),
            check(Some(&t.record), &wrong, &now()),
            check(Some(&t.record), secret, "2026-11-24T00:00:00Z"),
            check(
                Some(&TokenRecord {
                    revoked_at: Some(now()),
                    ..t.record.clone()
                }),
                secret,
                &now(),
            ),
        ];
        for f in failures {
            let e = f.unwrap_err();
            assert_eq!(e.code(), codes::AUTH_FAILURE);
            assert_eq!(e.to_string(), "authentication failed");
        }
        for bad in [
            "",
            "skh_",
            "Bearer x",
            "skh_zz_abc",
            &format!("skh_{}_short", t.record.id),
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn expiry_compares_instants_not_strings() {
        let t = mint(
            "a",
            Role::Invoker,
            None,
            now(),
            Some("2026-11-22T00:00:00Z".into()),
        )
        .unwrap();
        let (_, secret) = split(&t.token).unwrap();
        // Half a second after expiry sorts *before* it as a string ('.' < 'Z').
        let after = "2026-11-22T00:00:00.500Z";
        assert!(after < "2026-11-22T00:00:00Z");
        assert!(check(Some(&t.record), secret, after).is_err());
        assert!(expired("2026-11-22T00:00:00Z", after));
        assert!(!expired("2026-11-22T00:00:00.500Z", "2026-11-22T00:00:00Z"));
        // Exactly at expiry, in any precision: expired.
        assert!(expired("2026-11-22T00:00:00Z", "2026-11-22T00:00:00.000Z"));
        assert!(expired("2026-11-22T00:00:00.000Z", "2026-11-22T00:00:00Z"));
        // An offset is an instant too: 01:00+02:00 is 23:00Z the day before.
        assert!(!expired(
            "2026-11-22T00:00:00Z",
            "2026-11-22T01:00:00+02:00"
        ));
        assert!(expired("2026-11-22T00:00:00+02:00", "2026-11-21T23:00:00Z"));
        // Still valid a second before, as before.
        let before = "2026-11-21T23:59:59Z";
        assert!(check(Some(&t.record), secret, before).is_ok());
        // A time that does not parse fails closed.
        assert!(expired("next tuesday", before));
        assert!(expired("2026-11-22T00:00:00Z", "garbage"));
        let damaged = TokenRecord {
            expires_at: Some("2099-01-01".into()),
            ..t.record.clone()
        };
        assert!(check(Some(&damaged), secret, before).is_err());
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "a b", "a/b", &"x".repeat(65), "é"] {
            assert!(
                mint(bad, Role::Invoker, None, now(), None).is_err(),
                "{bad}"
            );
        }
    }
}
