//! Refusals anyone can repeat cheaply — a bad token, a rate limit, an
//! unknown skill, a session cap — go on the record through
//! [`crate::audit::repeats`]: the first per key and interval durably and at
//! once, the rest as one counted summary. Failed authentications are also
//! rate-limited per source address.

use serde_json::json;

use super::{HostError, SkillHost};
use crate::audit::repeats::{Key, Verdict};
use crate::audit::{AuditEvent, AuditUnavailable};
use crate::auth::{AuthError, Caller};
use crate::checker::{CheckError, Scope};
use crate::codes;

/// The source of requests that did not come over the network.
pub const LOCAL: &str = "local";

/// Invocation refusals that are aggregated when they repeat.
pub fn is_repeatable(code: &str) -> bool {
    matches!(
        code,
        codes::RATE_LIMITED
            | codes::RATE_BUSY
            | codes::SKILL_NOT_FOUND
            | codes::AUTH_FORBIDDEN
            | codes::AUTH_FAILURE
            | codes::MCP_SESSION_LIMIT
    )
}

impl SkillHost {
    /// Record `event`, a refusal that may repeat, from `source`: written
    /// now if it is the first of its kind in this interval, else counted.
    pub(crate) async fn record_repeatable(
        &self,
        event: AuditEvent,
        source: &str,
    ) -> Result<(), AuditUnavailable> {
        let key = Key {
            kind: event.kind.clone(),
            code: event.code.clone(),
            actor: event.actor.clone(),
            skill: event.skill.clone(),
            source: source.to_string(),
            variant: event.detail["reason"].as_str().unwrap_or("").to_string(),
        };
        let ts = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let (verdict, ended) = self.repeats.note(key, &event, &ts);
        for summary in ended {
            self.record(summary).await?;
        }
        if verdict == Verdict::Record {
            let mut event = event;
            if let serde_json::Value::Object(detail) = &mut event.detail {
                detail.insert("source".into(), source.into());
            }
            self.record(event).await?;
        }
        Ok(())
    }

    /// Write the summaries of every window that ended (all of them when
    /// `all`, at shutdown).
    pub async fn flush_repeats(&self, all: bool) -> Result<(), HostError> {
        for summary in self.repeats.ended(all) {
            self.record(summary).await?;
        }
        Ok(())
    }

    /// Refuse something the MCP transport checks (a session cap) for
    /// `actor`, on the record (aggregated when it repeats).
    pub async fn refused_repeatable(
        &self,
        kind: &str,
        code: &'static str,
        actor: &str,
        message: &str,
    ) -> Result<(), HostError> {
        self.record_repeatable(
            AuditEvent {
                kind: kind.into(),
                code: code.into(),
                outcome: "denied".into(),
                actor: actor.into(),
                detail: json!({ "code": code, "message": message }),
                ..AuditEvent::default()
            },
            LOCAL,
        )
        .await
        .map_err(HostError::from)
    }

    /// [`authenticate`](Self::authenticate) for a request from `source`
    /// (an IP address). A failure is `auth.failure`, or `rate.limited`
    /// once `source` has failed more than `rate.auth_failures_per_minute`
    /// times in a minute; both are aggregated when they repeat. A valid
    /// token is never refused for someone else's failures.
    pub async fn authenticate_from(
        &self,
        presented: &str,
        source: &str,
    ) -> Result<Caller, HostError> {
        let failure = match self.check_token(presented) {
            Ok(caller) => return Ok(caller),
            Err(HostError::Auth(e)) => e,
            Err(other) => return Err(other),
        };
        self.metrics.auth_failure();
        let error: HostError = match self.checker.auth_failure(source) {
            Ok(()) => failure.clone().into(),
            Err(retry_after_secs) => CheckError::RateLimited {
                scope: Scope::Source,
                retry_after_secs,
            }
            .into(),
        };
        let reason = match &failure {
            AuthError::Failure { reason } => *reason,
            _ => "error",
        };
        self.record_repeatable(
            AuditEvent {
                kind: "auth".into(),
                code: error.code().into(),
                outcome: "denied".into(),
                actor: "unauthenticated".into(),
                detail: json!({ "reason": reason }),
                ..AuditEvent::default()
            },
            source,
        )
        .await?;
        Err(error)
    }

    /// Whether the token with this id is live (not revoked, not expired);
    /// `None` if the registry cannot say now.
    pub(crate) fn token_is_live(&self, id: &str) -> Option<bool> {
        let record = self.registry.tokens().token(id).ok()?;
        let now = super::audit_time();
        Some(record.is_some_and(|r| {
            r.revoked_at.is_none()
                && r
                    .expires_at
                    .as_deref()
                    .is_none_or(|e| !crate::auth::expired(e, &now))
        }))
    }
}
