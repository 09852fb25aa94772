//! Repeated refusals, aggregated, so the audit log stays an audit trail and
//! not a way to fill the disk.
//!
//! Some refusals are cheap for anyone to cause again and again: a bad
//! token, a rate limit, an unknown skill, a session cap. For those, the
//! **first** refusal for a key — (record type, code, actor, skill, source,
//! and a failed authentication's reason) — in each interval (`audit.repeat_interval_secs`) is written at once and
//! durably, like any record. Further refusals for the same key in that
//! interval are counted, not written; when the interval ends, one summary
//! record carries the count (`detail.repeats`) and the first and last
//! times (`detail.first`, `detail.last`).
//!
//! Bound: at most two records per key per interval, and at most
//! [`MAX_KEYS`] keys at once — refusals for further keys share one
//! overflow key per (type, code) with actor, skill and source `*`. A
//! `kill -9` can lose the count of one unfinished interval, never its
//! first record.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use super::AuditEvent;

/// Keys tracked at once before refusals share the overflow key.
pub const MAX_KEYS: usize = 1024;

/// What makes two refusals "the same".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: String,
    pub code: String,
    pub actor: String,
    pub skill: Option<String>,
    /// The source address (HTTP), or `local`.
    pub source: String,
    /// What else tells refusals apart (a failed authentication's reason:
    /// `expired` and `revoked` are not repeats of each other).
    pub variant: String,
}

impl Key {
    fn overflow(&self) -> Key {
        Key {
            kind: self.kind.clone(),
            code: self.code.clone(),
            actor: "*".into(),
            skill: None,
            source: "*".into(),
            variant: self.variant.clone(),
        }
    }
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    /// The event the window opened with (for the summary's fields).
    event: AuditEvent,
    first: String,
    last: String,
    repeats: u64,
}

/// Whether a refusal must be written now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The first for its key in this interval: write it.
    Record,
    /// Counted; it will be in the interval's summary.
    Counted,
}

/// The open windows.
#[derive(Debug)]
pub struct Repeats {
    interval: Duration,
    windows: Mutex<HashMap<Key, Window>>,
}

impl Repeats {
    /// `interval` zero: nothing is aggregated.
    pub fn new(interval: Duration) -> Self {
        Repeats {
            interval,
            windows: Mutex::default(),
        }
    }

    /// Note a refusal of `event` for `key` at time `ts` (the log's format).
    /// Returns the verdict and the summaries of windows that ended, which
    /// the caller writes.
    pub fn note(&self, key: Key, event: &AuditEvent, ts: &str) -> (Verdict, Vec<AuditEvent>) {
        if self.interval.is_zero() {
            return (Verdict::Record, Vec::new());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let ended = Self::take_ended(&mut windows, now, self.interval);
        let key = if windows.contains_key(&key) || windows.len() < MAX_KEYS {
            key
        } else {
            key.overflow()
        };
        let verdict = match windows.get_mut(&key) {
            Some(w) => {
                w.repeats += 1;
                w.last = ts.to_string();
                Verdict::Counted
            }
            None => {
                let mut event = event.clone();
                if key.source == "*" {
                    event.actor = "*".into();
                    event.skill = None;
                }
                windows.insert(
                    key,
                    Window {
                        opened: now,
                        event,
                        first: ts.to_string(),
                        last: ts.to_string(),
                        repeats: 0,
                    },
                );
                Verdict::Record
            }
        };
        (verdict, ended)
    }

    /// Summaries of the windows that ended by now (all of them if `all`).
    pub fn ended(&self, all: bool) -> Vec<AuditEvent> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let interval = if all { Duration::ZERO } else { self.interval };
        Self::take_ended(&mut windows, Instant::now(), interval)
    }

    fn take_ended(
        windows: &mut HashMap<Key, Window>,
        now: Instant,
        interval: Duration,
    ) -> Vec<AuditEvent> {
        let ended: Vec<Key> = windows
            .iter()
            .filter(|(_, w)| now.duration_since(w.opened) >= interval)
            .map(|(k, _)| k.clone())
            .collect();
        ended
            .into_iter()
            .filter_map(|k| {
                let w = windows.remove(&k)?;
                (w.repeats > 0).then(|| summary(&k, w))
            })
            .collect()
    }
}

fn summary(key: &Key, w: Window) -> AuditEvent {
    let mut event = w.event;
    event.detail = json!({
        "repeats": w.repeats,
        "first": w.first,
        "last": w.last,
        "source": key.source,
        "message": format!(
            "{} more refusals like the record at {} (same type, code, actor, skill and source)",
            w.repeats, w.first
        ),
    });
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(source: &str) -> Key {
        Key {
            kind: "auth".into(),
            code: "auth.failure".into(),
            actor: "unauthenticated".into(),
            skill: None,
            source: source.into(),
            variant: String::new(),
        }
    }

    fn event() -> AuditEvent {
        AuditEvent {
            kind: "auth".into(),
            code: "auth.failure".into(),
            outcome: "denied".into(),
            actor: "unauthenticated".into(),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn the_first_is_recorded_and_repeats_are_one_summary() {
        let r = Repeats::new(Duration::from_secs(3600));
        assert_eq!(r.note(key("a"), &event(), "t1").0, Verdict::Record);
        for i in 0..9999 {
            assert_eq!(
                r.note(key("a"), &event(), &format!("t{i}")).0,
                Verdict::Counted
            );
        }
        // Another source is another key.
        assert_eq!(r.note(key("b"), &event(), "t1").0, Verdict::Record);
        let summaries = r.ended(true);
        assert_eq!(summaries.len(), 1, "b had no repeats");
        assert_eq!(summaries[0].detail["repeats"], 9999);
        assert_eq!(summaries[0].detail["first"], "t1");
        assert_eq!(summaries[0].detail["source"], "a");
        assert!(r.ended(true).is_empty());
    }

    #[test]
    fn an_ended_interval_starts_a_new_window() {
        let r = Repeats::new(Duration::from_millis(20));
        assert_eq!(r.note(key("a"), &event(), "t1").0, Verdict::Record);
        assert_eq!(r.note(key("a"), &event(), "t2").0, Verdict::Counted);
        std::thread::sleep(Duration::from_millis(30));
        let (verdict, ended) = r.note(key("a"), &event(), "t3");
        assert_eq!(verdict, Verdict::Record);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].detail["repeats"], 1);
    }

    #[test]
    fn keys_are_bounded_by_an_overflow_key() {
        let r = Repeats::new(Duration::from_secs(3600));
        let mut recorded = 0;
        for i in 0..(MAX_KEYS * 3) {
            if r.note(key(&format!("s{i}")), &event(), "t").0 == Verdict::Record {
                recorded += 1;
            }
        }
        assert_eq!(recorded, MAX_KEYS + 1);
        let summaries = r.ended(true);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].detail["source"], "*");
        assert_eq!(summaries[0].detail["repeats"], (MAX_KEYS * 2 - 1) as u64);
    }

    #[test]
    fn a_zero_interval_records_everything() {
        let r = Repeats::new(Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(r.note(key("a"), &event(), "t").0, Verdict::Record);
        }
    }
}
