//! Log records from a skill: its `log` calls and its captured stdout/stderr.
//! Capped in count and bytes so a chatty skill cannot exhaust host memory.

use serde::Serialize;

/// Severity of a record.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Finest-grained detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation; also every stdout line.
    Info,
    /// Something unexpected; also every stderr line.
    Warn,
    /// A failure (a panicking skill's message arrives at this level).
    Error,
}

/// Where a record came from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The skill called the `log` import.
    Skill,
    /// A line the skill wrote to stdout.
    Stdout,
    /// A line the skill wrote to stderr.
    Stderr,
    /// The host, about something the skill did (a refused error code).
    Host,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Severity, as the skill chose it (stdout is `info`, stderr `warn`).
    pub level: LogLevel,
    /// Where the record came from.
    pub source: LogSource,
    /// The text: untrusted skill output, with secrets redacted and cut to
    /// `MAX_MESSAGE_BYTES` (4096) at a character boundary.
    pub message: String,
}

/// Longest single message kept; longer ones are cut at a char boundary.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Records kept for one invocation, within the caps.
#[derive(Debug, Default)]
pub struct LogBuffer {
    records: Vec<LogRecord>,
    bytes: u64,
    max_records: u32,
    max_bytes: u64,
    dropped: u64,
}

impl LogBuffer {
    pub fn new(max_records: u32, max_bytes: u64) -> Self {
        LogBuffer {
            max_records,
            max_bytes,
            ..Default::default()
        }
    }

    /// Keep a record if it fits; otherwise count it as dropped.
    pub fn push(&mut self, level: LogLevel, source: LogSource, message: &str) {
        let message = truncate(message, MAX_MESSAGE_BYTES);
        let len = message.len() as u64;
        if self.records.len() as u64 >= u64::from(self.max_records)
            || self.bytes.saturating_add(len) > self.max_bytes
        {
            self.dropped += 1;
            return;
        }
        self.bytes += len;
        self.records.push(LogRecord {
            level,
            source,
            message: message.to_string(),
        });
    }

    /// Records dropped because a cap was reached.
    #[cfg(test)]
    pub fn records(&self) -> &[LogRecord] {
        &self.records
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn into_records(self) -> Vec<LogRecord> {
        self.records
    }
}

/// Cut `s` to at most `max` bytes without splitting a character.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_and_bytes() {
        let mut b = LogBuffer::new(2, 1000);
        for _ in 0..5 {
            b.push(LogLevel::Info, LogSource::Skill, "hello");
        }
        assert_eq!(b.records().len(), 2);
        assert_eq!(b.dropped(), 3);

        let mut b = LogBuffer::new(100, 8);
        b.push(LogLevel::Info, LogSource::Skill, "12345");
        b.push(LogLevel::Info, LogSource::Skill, "12345");
        assert_eq!(b.records().len(), 1);
        assert_eq!(b.dropped(), 1);
    }

    #[test]
    fn long_messages_are_cut_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let mut b = LogBuffer::new(10, u64::MAX);
        b.push(LogLevel::Warn, LogSource::Stderr, &long);
        let kept = &b.records()[0].message;
        assert!(kept.len() <= MAX_MESSAGE_BYTES);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}
