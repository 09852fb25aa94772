//! Bounded reads for `audit query`: the newest matching records without
//! reading the whole log.
//!
//! Segments are read newest first and each one backwards, in chunks from
//! its end, so a query stops as soon as it has `limit` matches. Records are
//! appended in time order, which bounds the rest:
//!
//! - `since`: reading backwards, the first record older than `since` ends
//!   the query; everything before it is older still.
//! - `until`: a segment whose first record is at or after `until` is
//!   skipped after reading that one line, and in the segment that straddles
//!   `until`, a binary search over byte offsets finds where to start reading
//!   backwards, so the records after `until` are not read either.
//!
//! Times are compared as instants ([`TimeRange`]), not as strings, so a
//! bound or a record written in another precision or offset still orders
//! correctly. Time order is the writer's clock order. Should the clock have stepped
//! back while the log was written, a query with `since` or `until` may miss
//! records from around the step; a query without them is exact regardless.
//!
//! Lines are parsed as the full reader ([`super::read_all`]) parses them:
//! split on newlines, and a line that is not a record (a torn last write,
//! or damage) is skipped. One difference: a line that is not UTF-8 (a write
//! torn inside a character) is skipped here too, where the full reader
//! fails on the whole file. Nothing is cached: the log itself is the only
//! index. Memory is the output plus about one chunk (plus one line, if a
//! line is longer than a chunk).

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::log::{DIR, segments};
use super::query::TimeRange;
use super::{AuditRecord, DEFAULT_LIMIT, Query};

/// How much is read at a time, backwards from the end of a segment.
pub(crate) const CHUNK: usize = 64 * 1024;
/// How much one step of the `until` search reads at a time.
const PROBE: usize = 4 * 1024;

/// What a query read: for tests that check it reads only what it returns.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanStats {
    /// Bytes read from segment files.
    pub bytes_read: u64,
    /// Lines handed to the JSON parser.
    pub lines_parsed: u64,
    /// Segment files opened.
    pub segments_opened: u64,
}

/// The newest `limit` records matching `query`, oldest first: what
/// `query.select(read_all(data_dir)?)` returns, for a log in time order.
pub(crate) fn select(data_dir: &Path, query: &Query) -> io::Result<Vec<AuditRecord>> {
    select_with(data_dir, query, CHUNK).map(|(records, _)| records)
}

/// [`select`] reading `chunk` bytes at a time, and what it read.
pub(crate) fn select_with(
    data_dir: &Path,
    query: &Query,
    chunk: usize,
) -> io::Result<(Vec<AuditRecord>, ScanStats)> {
    let chunk = chunk.max(1);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let mut stats = ScanStats::default();
    let mut out = Vec::new();
    let range = query.time_range();
    // A bound that does not parse matches nothing (see `TimeRange`).
    if limit == 0 || range.is_empty() {
        return Ok((out, stats));
    }
    // Once a record before `until` has been seen, every older one is too.
    let mut before_until = !range.has_until();
    for path in segments(&data_dir.join(DIR))?.into_iter().rev() {
        let Some(mut seg) = Segment::open(&path, &mut stats)? else {
            continue;
        };
        let end = if before_until {
            seg.len
        } else {
            seg.end_before(&range, chunk)?
        };
        let flow = seg.scan_back(end, chunk, |r| {
            if range.before_since(&r.ts) {
                return ControlFlow::Break(());
            }
            if range.before_until(&r.ts) {
                before_until = true;
            }
            if query.matches_in(&range, &r) {
                out.push(r);
                if out.len() >= limit {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
        if flow.is_break() {
            break;
        }
    }
    out.reverse();
    Ok((out, stats))
}

/// What one step of the `until` search found.
enum Probe {
    /// Where the first readable record at or after the offset starts,
    /// and its time.
    Found(u64, String),
    /// No readable record starts at or after the offset.
    End,
    /// None within a chunk of the offset (damage, or a very long line).
    Unknown,
}

struct Segment<'s> {
    file: File,
    /// Length when opened: bytes a writer appends later are not read.
    len: u64,
    stats: &'s mut ScanStats,
}

impl<'s> Segment<'s> {
    /// None if the segment is gone since it was listed (an empty one that
    /// a writer removed, or one pruned): it holds nothing to return.
    fn open(path: &Path, stats: &'s mut ScanStats) -> io::Result<Option<Self>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        stats.segments_opened += 1;
        Ok(Some(Segment { file, len, stats }))
    }

    /// Bytes `[at, at + n)`.
    fn read(&mut self, at: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.file.read_exact_at(&mut buf, at)?;
        self.stats.bytes_read += n as u64;
        Ok(buf)
    }

    fn parse(&mut self, line: &[u8]) -> Option<AuditRecord> {
        if line.is_empty() {
            return None;
        }
        self.stats.lines_parsed += 1;
        serde_json::from_slice(line).ok()
    }

    /// Call `visit` with each readable record that ends at or before `end`
    /// (a line boundary, or the segment's length), newest first, until it
    /// breaks.
    fn scan_back(
        &mut self,
        end: u64,
        chunk: usize,
        mut visit: impl FnMut(AuditRecord) -> ControlFlow<()>,
    ) -> io::Result<ControlFlow<()>> {
        let mut pos = end;
        // The start of a line whose beginning lies before `pos`.
        let mut carry: Vec<u8> = Vec::new();
        // Doubled while a line is longer than what was read, so a long
        // line costs time linear in its length.
        let mut want = chunk as u64;
        while pos > 0 {
            let from = pos.saturating_sub(want);
            let mut buf = self.read(from, (pos - from) as usize)?;
            let read = buf.len();
            buf.extend_from_slice(&carry);
            pos = from;
            let mut line_end = buf.len();
            while let Some(nl) = buf[..line_end].iter().rposition(|b| *b == b'\n') {
                if let Some(r) = self.parse(&buf[nl + 1..line_end])
                    && visit(r).is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
                line_end = nl;
            }
            want = if line_end >= read {
                want.saturating_mul(2)
            } else {
                chunk as u64
            };
            buf.truncate(line_end);
            carry = buf;
        }
        // What is left is the segment's first line.
        match self.parse(&carry) {
            Some(r) => Ok(visit(r)),
            None => Ok(ControlFlow::Continue(())),
        }
    }

    /// A line boundary such that every readable record before `until`
    /// ends at or before it, found by binary search over byte offsets;
    /// 0 if the segment's first record is at or after `until`. It lies at
    /// most about a chunk past the first record at or after `until`.
    /// A record whose time does not parse counts as before `until`, which
    /// only reads more.
    fn end_before(&mut self, range: &TimeRange, chunk: usize) -> io::Result<u64> {
        let (mut lo, mut hi, mut end) = (0, self.len, self.len);
        let mut at = 0;
        loop {
            match self.probe(at, chunk)? {
                Probe::Found(start, ts) if range.at_or_after_until(&ts) => {
                    hi = at;
                    end = start;
                }
                Probe::End => hi = at,
                // Some record from here on is before `until`: the boundary
                // is after it. Not knowing is treated the same way, which
                // only reads more.
                Probe::Found(start, _) => lo = (start + 1).min(hi),
                Probe::Unknown => lo = (at + 1).min(hi),
            }
            if hi == 0 || hi - lo <= chunk as u64 {
                return Ok(end);
            }
            at = lo + (hi - lo) / 2;
        }
    }

    /// The first readable record that starts at or after `at`, looking at
    /// lines that start within `chunk` bytes of it.
    fn probe(&mut self, at: u64, chunk: usize) -> io::Result<Probe> {
        // From the byte before `at`, to see whether a line starts at `at`.
        let from = at.saturating_sub(1);
        let give_up = at.saturating_add(chunk as u64);
        let step = PROBE.min(chunk).max(1) as u64;
        let mut buf: Vec<u8> = Vec::new();
        // Where the current line starts in `buf`, once known.
        let mut start: Option<usize> = (at == 0).then_some(0);
        let mut searched = 0;
        loop {
            while let Some(nl) = buf[searched..].iter().position(|b| *b == b'\n') {
                let nl = searched + nl;
                if let Some(s) = start
                    && let Some(r) = self.parse(&buf[s..nl])
                {
                    return Ok(Probe::Found(from + s as u64, r.ts));
                }
                start = Some(nl + 1);
                searched = nl + 1;
                if from + searched as u64 > give_up {
                    return Ok(Probe::Unknown);
                }
            }
            searched = buf.len();
            let next = from + buf.len() as u64;
            if next >= self.len {
                // The segment's last line, if it has no newline (a torn write).
                if let Some(s) = start
                    && let Some(r) = self.parse(&buf[s..])
                {
                    return Ok(Probe::Found(from + s as u64, r.ts));
                }
                return Ok(Probe::End);
            }
            let piece = self.read(next, step.min(self.len - next) as usize)?;
            buf.extend_from_slice(&piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::read_all;
    use std::path::PathBuf;
    use std::time::{Duration, Instant, UNIX_EPOCH};

    /// A small deterministic generator (splitmix64), so the randomised
    /// cases are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.below(of.len() as u64) as usize]
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const KINDS: &[&str] = &["invoke", "egress", "invoke.start", "skill.approve"];
    const ACTORS: &[&str] = &["agent", "owner", "host"];
    const OUTCOMES: &[&str] = &["ok", "denied", "failed"];
    const CODES: &[&str] = &["ok", "rate.limited", "egress.denied"];
    const SKILLS: &[&str] = &["echo", "word-stats"];

    fn ts(secs: u64) -> String {
        humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs))
            .to_string()
    }

    /// A record as the log writes it (the hash is not checked by queries).
    fn record(seq: u64, secs: u64, rng: &mut Rng, padding: usize) -> AuditRecord {
        AuditRecord {
            seq,
            id: format!("{seq:016x}"),
            ts: ts(secs),
            kind: rng.pick(KINDS).into(),
            code: rng.pick(CODES).into(),
            outcome: rng.pick(OUTCOMES).into(),
            actor: rng.pick(ACTORS).into(),
            skill: rng.chance(70).then(|| rng.pick(SKILLS).to_string()),
            digest: Some("d".repeat(64)),
            duration_ms: Some(rng.below(1000)),
            fuel: Some(rng.below(1 << 30)),
            peak_memory: None,
            egress_count: None,
            egress_bytes: None,
            input_sha256: Some("e".repeat(64)),
            output_bytes: Some(rng.below(4096)),
            detail: if padding > 0 {
                serde_json::json!({ "note": "p".repeat(padding) })
            } else {
                serde_json::Value::Null
            },
            prev: "a".repeat(64),
            hash: "b".repeat(64),
        }
    }

    fn write_segment(dir: &Path, first_seq: u64, bytes: &[u8]) -> PathBuf {
        let path = dir.join(DIR).join(format!("{first_seq:012}.jsonl"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `segments` segments of `per` records each, one second apart.
    fn even_log(dir: &Path, segments: u64, per: u64) -> Vec<AuditRecord> {
        let mut rng = Rng(7);
        let mut all = Vec::new();
        for s in 0..segments {
            let mut bytes = Vec::new();
            for i in 0..per {
                let seq = s * per + i + 1;
                let r = record(seq, seq * 10, &mut rng, 0);
                bytes.extend_from_slice(&r.to_line());
                all.push(r);
            }
            write_segment(dir, s * per + 1, &bytes);
        }
        all
    }

    fn naive(dir: &Path, q: &Query) -> Vec<AuditRecord> {
        q.select(read_all(dir).unwrap())
    }

    fn seqs(records: &[AuditRecord]) -> Vec<u64> {
        records.iter().map(|r| r.seq).collect()
    }

    fn limit(n: usize) -> Query {
        Query {
            limit: Some(n),
            ..Query::default()
        }
    }

    #[test]
    fn a_limit_is_filled_across_segment_boundaries() {
        let tmp = tempfile::tempdir().unwrap();
        even_log(tmp.path(), 4, 5);
        let (got, stats) = select_with(tmp.path(), &limit(7), CHUNK).unwrap();
        assert_eq!(seqs(&got), (14..=20).collect::<Vec<_>>());
        assert_eq!(stats.segments_opened, 2, "the newest two segments only");
        assert_eq!(stats.lines_parsed, 7);
        // A filter that takes records from three segments.
        let q = Query {
            limit: Some(11),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, 16).unwrap();
        assert_eq!(seqs(&got), (10..=20).collect::<Vec<_>>());
        assert_eq!(stats.segments_opened, 3);
        // More than the log holds: everything, oldest first.
        let got = select(tmp.path(), &limit(100)).unwrap();
        assert_eq!(seqs(&got), (1..=20).collect::<Vec<_>>());
        assert!(select(tmp.path(), &limit(0)).unwrap().is_empty());
    }

    #[test]
    fn since_and_until_skip_the_segments_outside_them() {
        let tmp = tempfile::tempdir().unwrap();
        let all = even_log(tmp.path(), 10, 50);
        let total: u64 = segments(&tmp.path().join(DIR))
            .unwrap()
            .iter()
            .map(|s| std::fs::metadata(s).unwrap().len())
            .sum();
        // Records 201..=300 lie in segments 5 and 6 (1-based), of ten.
        let q = Query {
            since: Some(all[200].ts.clone()),
            until: Some(all[300].ts.clone()),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, 1024).unwrap();
        assert_eq!(seqs(&got), (201..=300).collect::<Vec<_>>());
        assert_eq!(got, naive(tmp.path(), &q));
        // Segments 7-10 cost one line each (the first), 5 and 6 are read,
        // and the first record before `since` (in segment 4) ends it.
        assert!(
            stats.lines_parsed <= 100 + 4 + 1 + 10,
            "parsed {} lines",
            stats.lines_parsed
        );
        assert_eq!(stats.segments_opened, 7);
        assert!(stats.bytes_read < total / 3, "{stats:?} of {total}");

        // `until` inside a large segment: the binary search starts reading
        // near it, not at the segment's end.
        let q = Query {
            until: Some(all[260].ts.clone()),
            limit: Some(5),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, 1024).unwrap();
        assert_eq!(seqs(&got), (256..=260).collect::<Vec<_>>());
        assert_eq!(got, naive(tmp.path(), &q));
        assert!(stats.lines_parsed < 40, "{stats:?}");

        // `since` after everything: one line read.
        let q = Query {
            since: Some(ts(1_000_000)),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, 1024).unwrap();
        assert!(got.is_empty());
        assert_eq!(stats.lines_parsed, 1);
        // `until` before everything: one line of each segment.
        let q = Query {
            until: Some(ts(0)),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, 1024).unwrap();
        assert!(got.is_empty());
        assert_eq!(stats.lines_parsed, 10);
    }

    /// The same instant as `z` (`YYYY-MM-DDTHH:MM:SS[.fff]Z`, hour >= 5),
    /// written at -05:00.
    fn at_minus_five(z: &str) -> String {
        let hour: u32 = z[11..13].parse().unwrap();
        assert!(hour >= 5, "{z}");
        let rest = z[13..].strip_suffix('Z').unwrap();
        format!("{}{:02}{rest}-05:00", &z[..11], hour - 5)
    }

    #[test]
    fn bounds_in_another_precision_or_offset_select_by_instant() {
        let tmp = tempfile::tempdir().unwrap();
        let all = even_log(tmp.path(), 10, 50);
        // Bounds at records 201 and 301, without milliseconds: as strings
        // `…Z` sorts after the log's `….000Z`, so a string comparison
        // would drop record 201 and keep record 301.
        let secs = |r: &AuditRecord| r.ts.replace(".000Z", "Z");
        let (since, until) = (secs(&all[200]), secs(&all[300]));
        assert!(all[200].ts < since);
        for q in [
            Query {
                since: Some(since.clone()),
                until: Some(until.clone()),
                ..Query::default()
            },
            Query {
                since: Some(at_minus_five(&since)),
                until: Some(at_minus_five(&all[300].ts)),
                ..Query::default()
            },
        ] {
            for chunk in [13, 1024, CHUNK] {
                let (got, _) = select_with(tmp.path(), &q, chunk).unwrap();
                assert_eq!(seqs(&got), (201..=300).collect::<Vec<_>>(), "{q:?}");
                assert_eq!(got, naive(tmp.path(), &q));
            }
        }
        // Records written in another precision or offset than the bounds.
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = Rng(9);
        let mut bytes = Vec::new();
        for seq in 1..=6 {
            let mut r = record(seq, seq, &mut rng, 0);
            r.ts = match seq % 3 {
                0 => r.ts.replace(".000Z", "Z"),
                1 => r.ts.replace(".000Z", ".000000Z"),
                _ => at_minus_five(&r.ts),
            };
            bytes.extend_from_slice(&r.to_line());
        }
        write_segment(tmp.path(), 1, &bytes);
        let q = Query {
            since: Some(ts(2)),
            until: Some(ts(5)),
            ..Query::default()
        };
        for chunk in [13, CHUNK] {
            let (got, _) = select_with(tmp.path(), &q, chunk).unwrap();
            assert_eq!(seqs(&got), [2, 3, 4], "chunk {chunk}");
            assert_eq!(got, naive(tmp.path(), &q));
        }
        // A bound that does not parse: nothing, and nothing read.
        let q = Query {
            until: Some("later".into()),
            ..Query::default()
        };
        let (got, stats) = select_with(tmp.path(), &q, CHUNK).unwrap();
        assert!(got.is_empty() && stats.bytes_read == 0);
    }

    #[test]
    fn a_filter_that_matches_nothing_reads_everything_and_returns_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        even_log(tmp.path(), 3, 40);
        for q in [
            Query {
                kind: Some("no.such.kind".into()),
                ..Query::default()
            },
            Query {
                actor: Some("nobody".into()),
                limit: Some(1),
                ..Query::default()
            },
        ] {
            let (got, stats) = select_with(tmp.path(), &q, 100).unwrap();
            assert!(got.is_empty());
            assert_eq!(stats.lines_parsed, 120);
            assert_eq!(stats.segments_opened, 3);
        }
        // An empty or missing log.
        let empty = tempfile::tempdir().unwrap();
        assert!(select(empty.path(), &limit(10)).unwrap().is_empty());
        write_segment(empty.path(), 1, b"");
        assert!(select(empty.path(), &limit(10)).unwrap().is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped_like_the_full_reader_skips_it() {
        let tmp = tempfile::tempdir().unwrap();
        let all = even_log(tmp.path(), 2, 5);
        let seg = segments(&tmp.path().join(DIR)).unwrap()[1].clone();
        let mut rng = Rng(1);
        let torn = record(11, 200, &mut rng, 0).to_line();
        for cut in [1, 40, torn.len() - 2, torn.len() - 1] {
            let mut bytes = std::fs::read(&seg).unwrap();
            let keep = all[5..].iter().map(|r| r.to_line().len()).sum::<usize>();
            bytes.truncate(keep);
            bytes.extend_from_slice(&torn[..cut]);
            std::fs::write(&seg, &bytes).unwrap();
            for chunk in [7, 64, CHUNK] {
                for q in [
                    limit(3),
                    Query {
                        until: Some(ts(1_000)),
                        limit: Some(2),
                        ..Query::default()
                    },
                ] {
                    let (got, _) = select_with(tmp.path(), &q, chunk).unwrap();
                    assert_eq!(got, naive(tmp.path(), &q), "cut {cut}, chunk {chunk}");
                    // Only its newline missing, the record still parses,
                    // for both readers (the next open cuts it off).
                    let newest = if cut == torn.len() - 1 { 11 } else { 10 };
                    assert_eq!(got.last().unwrap().seq, newest, "cut {cut}, chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn a_write_torn_inside_a_character_is_skipped_too() {
        let tmp = tempfile::tempdir().unwrap();
        let all = even_log(tmp.path(), 1, 3);
        let seg = segments(&tmp.path().join(DIR)).unwrap()[0].clone();
        let mut rng = Rng(2);
        let mut torn = record(4, 100, &mut rng, 0);
        torn.actor = "Jos\u{e9}".into();
        let line = torn.to_line();
        let cut = line
            .windows(2)
            .position(|w| w == "\u{e9}".as_bytes())
            .unwrap()
            + 1;
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes.extend_from_slice(&line[..cut]);
        std::fs::write(&seg, &bytes).unwrap();
        assert!(read_all(tmp.path()).is_err(), "the full reader fails");
        assert_eq!(select(tmp.path(), &limit(10)).unwrap(), all);
    }

    #[test]
    fn lines_longer_than_a_chunk_are_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = Rng(3);
        let mut bytes = Vec::new();
        for seq in 1..=6 {
            bytes.extend_from_slice(&record(seq, seq, &mut rng, 300 * seq as usize).to_line());
        }
        write_segment(tmp.path(), 1, &bytes);
        for q in [
            limit(4),
            Query {
                until: Some(ts(5)),
                ..Query::default()
            },
        ] {
            let (got, _) = select_with(tmp.path(), &q, 100).unwrap();
            assert_eq!(got, naive(tmp.path(), &q));
        }
    }

    /// A log in time order with everything the reader must cope with:
    /// equal timestamps, one-record and empty segments, blank and damaged
    /// lines, long lines, CRLF, and sometimes a torn last write.
    fn random_log(dir: &Path, rng: &mut Rng) {
        let mut seq = 0;
        let mut secs = 0;
        let segments = 1 + rng.below(6);
        for s in 0..segments {
            let mut bytes = Vec::new();
            let first = seq + 1;
            let records = match rng.below(5) {
                0 => 0,
                1 => 1,
                _ => rng.below(60),
            };
            for _ in 0..records {
                seq += 1;
                secs += match rng.below(4) {
                    0 => 0,
                    1 => 1,
                    _ => rng.below(5000),
                };
                let padding = if rng.chance(3) { 500 } else { 0 };
                let mut line = record(seq, secs, rng, padding).to_line();
                if rng.chance(3) {
                    line.insert(line.len() - 1, b'\r');
                }
                bytes.extend_from_slice(&line);
                match rng.below(40) {
                    0 => bytes.extend_from_slice(b"\n"),
                    1 => bytes.extend_from_slice(b"{\"seq\":1,\"damaged\n"),
                    2 => bytes.extend_from_slice(b"not json at all\n"),
                    _ => {}
                }
            }
            if s + 1 == segments && rng.chance(30) {
                let torn = record(seq + 1, secs + 1, rng, 0).to_line();
                let cut = 1 + rng.below(torn.len() as u64 - 2) as usize;
                bytes.extend_from_slice(&torn[..cut]);
            }
            write_segment(dir, first, &bytes);
        }
    }

    fn random_query(rng: &mut Rng, times: &[String]) -> Query {
        let maybe = |rng: &mut Rng, of: &[&str]| {
            rng.chance(30).then(|| {
                if rng.chance(10) {
                    "none-such".to_string()
                } else {
                    rng.pick(of).to_string()
                }
            })
        };
        let time = |rng: &mut Rng| -> Option<String> {
            if !rng.chance(40) {
                return None;
            }
            Some(match rng.below(4) {
                0 if !times.is_empty() => times[rng.below(times.len() as u64) as usize].clone(),
                1 => ts(0),
                2 => ts(10_000_000),
                _ => ts(rng.below(1_000_000)),
            })
        };
        Query {
            kind: maybe(rng, KINDS),
            skill: maybe(rng, SKILLS),
            code: maybe(rng, CODES),
            outcome: maybe(rng, OUTCOMES),
            actor: maybe(rng, ACTORS),
            since: time(rng),
            until: time(rng),
            limit: match rng.below(6) {
                0 => None,
                1 => Some(0),
                2 => Some(1),
                3 => Some(rng.below(5) as usize),
                4 => Some(rng.below(50) as usize),
                _ => Some(usize::MAX),
            },
        }
    }

    #[test]
    fn the_same_records_as_filtering_the_whole_log() {
        let mut rng = Rng(0x5eed);
        let (mut compared, mut nonempty) = (0, 0);
        for _ in 0..60 {
            let tmp = tempfile::tempdir().unwrap();
            random_log(tmp.path(), &mut rng);
            let all = read_all(tmp.path()).unwrap();
            let times: Vec<String> = all.iter().map(|r| r.ts.clone()).collect();
            for _ in 0..40 {
                let q = random_query(&mut rng, &times);
                let want = q.select(all.clone());
                nonempty += usize::from(!want.is_empty());
                for chunk in [13, 200, CHUNK] {
                    let (got, _) = select_with(tmp.path(), &q, chunk).unwrap();
                    assert_eq!(seqs(&got), seqs(&want), "{q:?}, chunk {chunk}");
                    assert_eq!(got, want);
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 60 * 40 * 3);
        // Most queries are not trivially empty.
        assert!(nonempty > 60 * 40 / 4, "{nonempty} non-empty");
    }

    #[test]
    fn ten_of_sixty_thousand_records_read_one_chunk() {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = Rng(60_000);
        let mut bytes = Vec::new();
        for seq in 1..=60_000 {
            bytes.extend_from_slice(&record(seq, seq, &mut rng, 40).to_line());
        }
        let total = bytes.len() as u64;
        write_segment(tmp.path(), 1, &bytes);
        drop(bytes);

        let q = limit(10);
        let t = Instant::now();
        let want = naive(tmp.path(), &q);
        let naive_time = t.elapsed();
        let t = Instant::now();
        let (got, stats) = select_with(tmp.path(), &q, CHUNK).unwrap();
        let time = t.elapsed();
        assert_eq!(got, want);
        assert_eq!(seqs(&got), (59_991..=60_000).collect::<Vec<_>>());
        assert!(stats.bytes_read <= CHUNK as u64, "{stats:?}");
        assert_eq!(stats.lines_parsed, 10);

        // Bounded by time too: ten records of a window in the middle.
        let q = Query {
            since: Some(ts(30_000)),
            until: Some(ts(30_100)),
            limit: Some(10),
            ..Query::default()
        };
        let (got, window) = select_with(tmp.path(), &q, CHUNK).unwrap();
        assert_eq!(got, naive(tmp.path(), &q));
        assert_eq!(seqs(&got), (30_090..=30_099).collect::<Vec<_>>());
        assert!(window.bytes_read <= 4 * CHUNK as u64, "{window:?}");
        eprintln!(
            "60k records, {total} bytes: limit=10 read {} bytes in {time:?}; \
             the whole log took {naive_time:?}; a since/until window read {} bytes",
            stats.bytes_read, window.bytes_read
        );
    }
}
