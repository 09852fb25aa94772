//! Filtering audit records: `skillhost audit query` and
//! `GET /v1/owner/audit` share this.

use std::path::Path;

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AuditRecord;

/// Which records to show. Every field is optional; set fields must all match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Record type, e.g. `invoke`, `egress`, `skill.approve`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Skill name, matched exactly.
    pub skill: Option<String>,
    /// Stable code, e.g. `rate.limited` (or `ok`).
    pub code: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: Option<String>,
    /// Actor (caller id or owner name), matched exactly.
    pub actor: Option<String>,
    /// Records at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Records before this RFC 3339 time.
    pub until: Option<String>,
    /// At most this many, the newest (default `DEFAULT_LIMIT`).
    pub limit: Option<usize>,
}

/// Every outcome a record can have.
pub const OUTCOMES: &[&str] = &["ok", "denied", "failed"];

/// How many records a query returns unless it says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;

impl Query {
    /// Check the outcome, and bring `since`/`until` into the log's own
    /// timestamp format (RFC 3339 UTC, milliseconds), as the query echoes
    /// them. Errors name the bad value. Times are compared as instants,
    /// so this is not what makes the comparison right.
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

    /// Whether `r` passes every set field. `since`/`until` compare as
    /// instants (any precision, `Z` or an offset), not as strings.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.matches_in(&self.time_range(), r)
    }

    /// `since`/`until`, parsed once for many records.
    pub(crate) fn time_range(&self) -> TimeRange {
        TimeRange::new(self.since.as_deref(), self.until.as_deref())
    }

    /// [`Query::matches`] with `since`/`until` already parsed.
    pub(crate) fn matches_in(&self, range: &TimeRange, r: &AuditRecord) -> bool {
        self.kind.as_ref().is_none_or(|k| &r.kind == k)
            && self
                .skill
                .as_ref()
                .is_none_or(|s| r.skill.as_ref() == Some(s))
            && self.code.as_ref().is_none_or(|c| &r.code == c)
            && self.outcome.as_ref().is_none_or(|o| &r.outcome == o)
            && self.actor.as_ref().is_none_or(|a| &r.actor == a)
            && range.contains(&r.ts)
    }

    /// The newest `limit` matching records of the log in `data_dir`,
    /// oldest first: the same as `self.select(read_all(data_dir)?)`, but
    /// reading the log from its end and only as far as the query needs.
    pub fn read_log(&self, data_dir: &Path) -> std::io::Result<Vec<AuditRecord>> {
        super::scan::select(data_dir, self)
    }

    /// The newest `limit` matching records, oldest first.
    pub fn select(&self, records: Vec<AuditRecord>) -> Vec<AuditRecord> {
        let range = self.time_range();
        let mut matched: Vec<AuditRecord> = records
            .into_iter()
            .filter(|r| self.matches_in(&range, r))
            .collect();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        matched.drain(..matched.len().saturating_sub(limit));
        matched
    }
}

/// A record time or a query bound as an instant: RFC 3339, any precision,
/// `Z` or an offset. `None` if it does not parse.
pub(crate) fn instant(rfc3339: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(rfc3339, &Rfc3339).ok()
}

/// A query's `since` (inclusive) and `until` (exclusive), parsed, compared
/// with each record's `ts` by instant rather than as strings, so that
/// `…:07Z`, `…:07.000Z` and `…:09+00:02` are the same time whatever the
/// precision or offset they are written in.
///
/// With neither bound set every record is in range, whatever its `ts`. With
/// one set, a record whose `ts` does not parse is out of range, and so is
/// every record if a bound does not parse (a query that skipped
/// [`Query::normalise`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeRange {
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    /// Some bound is set; `since`/`until` are `None` only if unset.
    bounded: bool,
    /// A set bound did not parse: nothing is in range.
    empty: bool,
}

impl TimeRange {
    pub(crate) fn new(since: Option<&str>, until: Option<&str>) -> Self {
        let since_at = since.map(instant);
        let until_at = until.map(instant);
        TimeRange {
            since: since_at.flatten(),
            until: until_at.flatten(),
            bounded: since.is_some() || until.is_some(),
            empty: matches!(since_at, Some(None)) || matches!(until_at, Some(None)),
        }
    }

    /// Whether a record at `ts` is at or after `since` and before `until`.
    pub(crate) fn contains(&self, ts: &str) -> bool {
        if !self.bounded {
            return true;
        }
        if self.empty {
            return false;
        }
        let Some(t) = instant(ts) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether nothing can be in range (a bound that does not parse).
    pub(crate) fn is_empty(&self) -> bool {
        self.empty
    }

    /// Whether `ts` is readable and before `since`.
    pub(crate) fn before_since(&self, ts: &str) -> bool {
        self.since.zip(instant(ts)).is_some_and(|(s, t)| t < s)
    }

    /// Whether `ts` is readable and before `until`.
    pub(crate) fn before_until(&self, ts: &str) -> bool {
        self.until.zip(instant(ts)).is_some_and(|(u, t)| t < u)
    }

    /// Whether `ts` is readable and at or after `until`.
    pub(crate) fn at_or_after_until(&self, ts: &str) -> bool {
        self.until.zip(instant(ts)).is_some_and(|(u, t)| t >= u)
    }

    /// Whether `until` is set and parses.
    pub(crate) fn has_until(&self) -> bool {
        self.until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str) -> AuditRecord {
        AuditRecord {
            seq: 1,
            id: "0".repeat(16),
            ts: ts.into(),
            kind: "invoke".into(),
            code: "ok".into(),
            outcome: "ok".into(),
            actor: "agent".into(),
            skill: None,
            digest: None,
            duration_ms: None,
            fuel: None,
            peak_memory: None,
            egress_count: None,
            egress_bytes: None,
            input_sha256: None,
            output_bytes: None,
            detail: serde_json::Value::Null,
            prev: "a".repeat(64),
            hash: "b".repeat(64),
        }
    }

    fn range(since: Option<&str>, until: Option<&str>) -> Query {
        Query {
            since: since.map(Into::into),
            until: until.map(Into::into),
            ..Query::default()
        }
    }

    #[test]
    fn bounds_compare_as_instants_not_strings() {
        // A bound without milliseconds, as a caller (or an older writer)
        // may spell it: as strings "…:07Z" sorts after "…:07.000Z" and
        // after "…:07.500Z", because '.' < 'Z'.
        let q = range(Some("2026-11-22T10:00:07Z"), Some("2026-11-22T10:00:08Z"));
        assert!("2026-11-22T10:00:07.000Z" < "2026-11-22T10:00:07Z");
        assert!(
            q.matches(&at("2026-11-22T10:00:07.000Z")),
            "since is inclusive"
        );
        assert!(q.matches(&at("2026-11-22T10:00:07.500Z")));
        assert!(q.matches(&at("2026-11-22T10:00:07.999999Z")));
        assert!(!q.matches(&at("2026-11-22T10:00:06.999Z")));
        assert!(
            !q.matches(&at("2026-11-22T10:00:08.000Z")),
            "until is exclusive"
        );
        assert!(!q.matches(&at("2026-11-22T10:00:08Z")));
        // Offsets are instants too (10:00:07.5Z written at +01:00).
        assert!(q.matches(&at("2026-11-22T11:00:07.5+01:00")));
        assert!(!q.matches(&at("2026-11-22T10:00:07.5+01:00")));
        let q = range(Some("2026-11-22T12:00:07+02:00"), None);
        assert!(q.matches(&at("2026-11-22T10:00:07.000Z")));
        assert!(!q.matches(&at("2026-11-22T10:00:06.999Z")));
        // The same through `select`.
        let records = vec![
            at("2026-11-22T10:00:06.999Z"),
            at("2026-11-22T10:00:07.000Z"),
            at("2026-11-22T10:00:07.500Z"),
            at("2026-11-22T10:00:08.000Z"),
        ];
        let q = range(Some("2026-11-22T10:00:07Z"), Some("2026-11-22T10:00:08Z"));
        let got: Vec<String> = q.select(records).into_iter().map(|r| r.ts).collect();
        assert_eq!(
            got,
            ["2026-11-22T10:00:07.000Z", "2026-11-22T10:00:07.500Z"]
        );
    }

    #[test]
    fn unreadable_times() {
        // No bounds: every record, whatever its ts.
        assert!(Query::default().matches(&at("damaged")));
        // A bound: a record whose ts does not parse is out of range.
        let q = range(Some("2026-11-22T10:00:07Z"), None);
        assert!(!q.matches(&at("damaged")) && !q.matches(&at("")));
        // A bound that does not parse (normalise refuses it): nothing.
        let q = range(Some("yesterday"), None);
        assert!(q.time_range().is_empty());
        assert!(!q.matches(&at("2026-11-22T10:00:07.000Z")));
    }

    #[test]
    fn normalise_keeps_the_stored_format() {
        let q = range(Some("2026-11-22T10:00:07Z"), Some("2026-11-22 10:00:08.5"))
            .normalise()
            .unwrap();
        assert_eq!(q.since.as_deref(), Some("2026-11-22T10:00:07.000Z"));
        assert_eq!(q.until.as_deref(), Some("2026-11-22T10:00:08.500Z"));
        let e = range(Some("soon"), None).normalise().unwrap_err();
        assert!(e.starts_with("\"soon\" is not an RFC 3339 time"), "{e}");
    }
}
