//! Filtering audit records: `skillhost audit query` and
//! `GET /v1/owner/audit` share this.

use std::path::Path;

use serde::Deserialize;

use super::AuditRecord;

/// Which records to show. Every field is optional; set fields must all match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Record type, e.g. `invoke`, `egress`, `skill.approve`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub skill: Option<String>,
    /// Stable code, e.g. `rate.limited` (or `ok`).
    pub code: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: Option<String>,
    pub actor: Option<String>,
    /// Records at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Records before this RFC 3339 time.
    pub until: Option<String>,
    /// At most this many, the newest (default [`DEFAULT_LIMIT`]).
    pub limit: Option<usize>,
}

/// Every outcome a record can have.
pub const OUTCOMES: &[&str] = &["ok", "denied", "failed"];

/// How many records a query returns unless it says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;

impl Query {
    /// Bring `since`/`until` into the log's own timestamp format, so string
    /// comparison orders them correctly. Errors name the bad value.
    pub fn normalise(mut self) -> Result<Self, String> {
        if let Some(o) = &self.outcome
            && !OUTCOMES.contains(&o.as_str())
        {
            return Err(format!(
                "outcome {o:?} is not one of {}",
                OUTCOMES.join(", ")
            ));
        }
        for t in [&mut self.since, &mut self.until].into_iter().flatten() {
            let parsed = humantime::parse_rfc3339_weak(t)
                .map_err(|e| format!("{t:?} is not an RFC 3339 time: {e}"))?;
            *t = humantime::format_rfc3339_millis(parsed).to_string();
        }
        Ok(self)
    }

    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.kind.as_ref().is_none_or(|k| &r.kind == k)
            && self
                .skill
                .as_ref()
                .is_none_or(|s| r.skill.as_ref() == Some(s))
            && self.code.as_ref().is_none_or(|c| &r.code == c)
            && self.outcome.as_ref().is_none_or(|o| &r.outcome == o)
            && self.actor.as_ref().is_none_or(|a| &r.actor == a)
            && self.since.as_ref().is_none_or(|t| &r.ts >= t)
            && self.until.as_ref().is_none_or(|t| &r.ts < t)
    }

    /// The newest `limit` matching records of the log in `data_dir`,
    /// oldest first: the same as `self.select(read_all(data_dir)?)`, but
    /// reading the log from its end and only as far as the query needs.
    pub fn read_log(&self, data_dir: &Path) -> std::io::Result<Vec<AuditRecord>> {
        super::scan::select(data_dir, self)
    }

    /// The newest `limit` matching records, oldest first.
    pub fn select(&self, records: Vec<AuditRecord>) -> Vec<AuditRecord> {
        let mut matched: Vec<AuditRecord> =
            records.into_iter().filter(|r| self.matches(r)).collect();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        matched.drain(..matched.len().saturating_sub(limit));
        matched
    }
}
