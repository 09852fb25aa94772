//! The audit log: every decision and every check, allowed or denied, as a
//! hash-chained JSON line flushed to disk before the operation it records
//! returns. If a record cannot be written, the operation fails closed with
//! `audit.unavailable`.
//!
//! Records never carry inputs, outputs or secret values: only codes, names,
//! digests, sizes, hashes and measurements.

mod log;
mod record;

use std::path::Path;
use std::sync::Mutex;

#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use log::{
    AuditLog, BATCH_BUCKETS, BatchStats, Broken, ChainPoint, DIR, OpenReport, Verified, segments,
    verify,
};
#[cfg(feature = "internal")]
pub use log::BENCH_SKIP_FSYNC;
#[cfg(any(test, feature = "internal"))]
pub use log::read_all;
mod query;
pub mod repeats;
mod scan;
pub use query::{DEFAULT_LIMIT, Query};
pub use record::{AuditEvent, AuditRecord, GENESIS, Metrics};

use crate::codes::{self, Code};
use crate::config::AuditConfig;

/// The event could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit log cannot be written: {0}")]
pub struct AuditUnavailable(pub String);

impl AuditUnavailable {
    pub fn code(&self) -> Code {
        codes::AUDIT_UNAVAILABLE
    }
}

/// Where events go.
#[derive(Debug)]
pub enum AuditSink {
    /// The durable, hash-chained log in the data dir.
    Log(AuditLog),
    /// Kept in memory for the life of the process (`skillhost dev`).
    Memory(Mutex<Vec<AuditRecord>>),
}

impl AuditSink {
    /// Open the log in `data_dir`. A torn tail left by a crash is repaired
    /// and the repair is itself recorded.
    pub async fn open(data_dir: &Path, config: &AuditConfig) -> Result<Self, AuditUnavailable> {
        let (log, report) = AuditLog::open(data_dir, config).map_err(AuditUnavailable)?;
        let sink = AuditSink::Log(log);
        if report.repaired_bytes > 0 || report.pruned_segments > 0 {
            sink.record(AuditEvent {
                kind: "audit.open".into(),
                code: codes::OK.into(),
                outcome: "ok".into(),
                actor: "host".into(),
                detail: serde_json::json!({
                    "repaired_torn_bytes": report.repaired_bytes,
                    "pruned_segments": report.pruned_segments,
                }),
                ..AuditEvent::default()
            })
            .await?;
        }
        Ok(sink)
    }

    pub fn in_memory() -> Self {
        AuditSink::Memory(Mutex::default())
    }

    /// Append one event and wait until it is durable.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditUnavailable> {
        match self {
            AuditSink::Log(log) => log.record(event).await.map_err(AuditUnavailable),
            AuditSink::Memory(records) => {
                let mut records = records.lock().unwrap_or_else(|p| p.into_inner());
                let (seq, prev) = records
                    .last()
                    .map_or((1, GENESIS.to_string()), |r| (r.seq + 1, r.hash.clone()));
                records.push(AuditRecord::new(
                    seq,
                    log::now_ts(),
                    String::new(),
                    event,
                    prev,
                ));
                Ok(())
            }
        }
    }

    /// Records per durable write since the log opened (`None` in memory).
    pub fn batch_stats(&self) -> Option<BatchStats> {
        match self {
            AuditSink::Log(log) => Some(log.batch_stats()),
            AuditSink::Memory(_) => None,
        }
    }

    /// The batch-size histogram in the Prometheus text format, as
    /// `skillhost_audit_batch_records` (empty in memory).
    pub fn render_batches(&self) -> String {
        let mut out = String::new();
        if let Some(stats) = self.batch_stats() {
            let bounds: Vec<String> = BATCH_BUCKETS.iter().map(u64::to_string).collect();
            let cumulative: Vec<u64> = stats
                .buckets
                .iter()
                .scan(0, |sum, n| {
                    *sum += n;
                    Some(*sum)
                })
                .collect();
            crate::metrics::histogram(
                &mut out,
                "skillhost_audit_batch_records",
                "Audit records made durable by one write and fsync (group commit).",
                &bounds,
                &cumulative,
                stats.batches(),
                stats.records as f64,
            );
        }
        out
    }

    /// Records kept in memory (empty for the durable log).
    pub fn memory_records(&self) -> Vec<AuditRecord> {
        match self {
            AuditSink::Memory(records) => records.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            AuditSink::Log(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn event(kind: &str) -> AuditEvent {
        AuditEvent {
            kind: kind.into(),
            code: "ok".into(),
            outcome: "ok".into(),
            actor: "tester".into(),
            ..AuditEvent::default()
        }
    }

    fn lines(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for s in segments(&dir.join(DIR)).unwrap() {
            out.extend(
                std::fs::read_to_string(s)
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
        out
    }

    #[tokio::test]
    async fn records_chain_and_verify_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        for i in 0..5 {
            sink.record(event(&format!("e{i}"))).await.unwrap();
        }
        drop(sink);
        let v = verify(tmp.path()).unwrap();
        assert_eq!((v.records, v.first_seq, v.last_seq), (5, 1, 5));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&tmp.path().join(DIR)), 0o700);
        assert_eq!(mode(&segments(&tmp.path().join(DIR)).unwrap()[0]), 0o600);
        // Reopening continues the chain.
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        sink.record(event("after")).await.unwrap();
        drop(sink);
        assert_eq!(verify(tmp.path()).unwrap().last_seq, 6);
    }

    async fn five(dir: &Path) -> Vec<String> {
        let sink = AuditSink::open(dir, &AuditConfig::default()).await.unwrap();
        for i in 0..5 {
            sink.record(event(&format!("e{i}"))).await.unwrap();
        }
        drop(sink);
        lines(dir)
    }

    fn rewrite(dir: &Path, lines: &[String]) {
        let seg = &segments(&dir.join(DIR)).unwrap()[0];
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(seg, text).unwrap();
    }

    #[tokio::test]
    async fn verify_catches_edits_deletions_truncation_and_reordering() {
        type Mutation = fn(&mut Vec<String>);
        let cases: [(&str, Mutation); 5] = [
            ("edited", |l| l[2] = l[2].replace("\"e2\"", "\"e9\"")),
            ("deleted middle", |l| {
                l.remove(2);
            }),
            ("truncated tail", |l| {
                l.pop();
            }),
            ("reordered", |l| l.swap(1, 2)),
            ("forged field", |l| {
                l[3] = l[3].replacen('{', "{\"extra\":1,", 1)
            }),
        ];
        for (what, mutate) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let mut l = five(tmp.path()).await;
            mutate(&mut l);
            rewrite(tmp.path(), &l);
            let broken = verify(tmp.path()).expect_err(what);
            assert!(!broken.reason.is_empty(), "{what}");
        }
    }

    #[tokio::test]
    async fn a_torn_tail_is_detected_then_repaired_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        let l = five(tmp.path()).await;
        let seg = segments(&tmp.path().join(DIR)).unwrap()[0].clone();
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes.extend_from_slice(&l[4].as_bytes()[..40]);
        std::fs::write(&seg, &bytes).unwrap();
        assert!(verify(tmp.path()).unwrap_err().reason.contains("torn"));

        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        drop(sink);
        let v = verify(tmp.path()).unwrap();
        assert_eq!(v.last_seq, 6, "five records plus the repair record");
        let all = read_all(tmp.path()).unwrap();
        assert_eq!(all.last().unwrap().kind, "audit.open");
    }

    #[tokio::test]
    async fn pruning_keeps_the_rest_verifiable() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(DIR);
        let l = five(tmp.path()).await;
        // Move the first three records into an old segment dated 2001.
        let old: Vec<String> = l[..3].to_vec();
        let rest: Vec<String> = l[3..].to_vec();
        let make_old = |line: &str| -> String {
            let mut r: AuditRecord = serde_json::from_str(line).unwrap();
            r.ts = "2001-01-01T00:00:00.000Z".into();
            serde_json::to_string(&r).unwrap()
        };
        // Re-chain the old ones with their new timestamps.
        let mut prev = GENESIS.to_string();
        let mut rechained = Vec::new();
        for line in &old {
            let mut r: AuditRecord = serde_json::from_str(&make_old(line)).unwrap();
            r.prev = prev.clone();
            r.hash = r.compute_hash();
            prev = r.hash.clone();
            rechained.push(serde_json::to_string(&r).unwrap());
        }
        let mut rest_rechained = Vec::new();
        for line in &rest {
            let mut r: AuditRecord = serde_json::from_str(line).unwrap();
            r.prev = prev.clone();
            r.hash = r.compute_hash();
            prev = r.hash.clone();
            rest_rechained.push(serde_json::to_string(&r).unwrap());
        }
        for s in segments(&dir).unwrap() {
            std::fs::remove_file(s).unwrap();
        }
        std::fs::write(dir.join("000000000001.jsonl"), rechained.join("\n") + "\n").unwrap();
        std::fs::write(
            dir.join("000000000004.jsonl"),
            rest_rechained.join("\n") + "\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("head"),
            format!("{{\"seq\":5,\"hash\":\"{prev}\"}}"),
        )
        .unwrap();
        assert_eq!(verify(tmp.path()).unwrap().records, 5);

        let config = AuditConfig {
            retention_days: 30,
            ..AuditConfig::default()
        };
        drop(AuditSink::open(tmp.path(), &config).await.unwrap());
        let v = verify(tmp.path()).unwrap();
        assert_eq!(v.first_seq, 4, "records 1-3 were pruned");
        assert_eq!(v.last_seq, 6, "plus the record of the pruning itself");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_writers_extend_one_chain() {
        // Two open logs on one directory stand for two processes (a server
        // and an owner's CLI): their records must form a single chain.
        let tmp = tempfile::tempdir().unwrap();
        let a = std::sync::Arc::new(
            AuditSink::open(tmp.path(), &AuditConfig::default())
                .await
                .unwrap(),
        );
        let b = std::sync::Arc::new(
            AuditSink::open(tmp.path(), &AuditConfig::default())
                .await
                .unwrap(),
        );
        let mut tasks = Vec::new();
        for i in 0..100 {
            for sink in [a.clone(), b.clone()] {
                tasks.push(tokio::spawn(async move {
                    sink.record(event(&format!("e{i}"))).await.unwrap()
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        drop((a, b));
        let v = verify(tmp.path()).unwrap();
        assert_eq!(v.records, 200);
    }

    #[tokio::test]
    async fn a_writer_rereads_the_tail_after_another_wrote() {
        // Each writer remembers where it left the chain; strictly
        // alternating appends make every remembered end stale.
        let tmp = tempfile::tempdir().unwrap();
        let a = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        let b = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        for i in 0..10 {
            let sink = if i % 2 == 0 { &a } else { &b };
            sink.record(event(&format!("e{i}"))).await.unwrap();
        }
        drop((a, b));
        let v = verify(tmp.path()).unwrap();
        assert_eq!((v.records, v.last_seq), (10, 10));
    }

    #[tokio::test]
    async fn a_writer_follows_a_segment_another_process_started() {
        // Another process starts the next segment (as it does when the day
        // changes) while this writer's own segment stays exactly as it left
        // it: the next record must follow the new segment's, not fork the
        // chain at the old end.
        let tmp = tempfile::tempdir().unwrap();
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        sink.record(event("first")).await.unwrap();
        let first = &read_all(tmp.path()).unwrap()[0];
        let second = AuditRecord::new(
            2,
            log::now_ts(),
            "other".into(),
            event("from another process"),
            first.hash.clone(),
        );
        // What a writer does to start a segment: count it in the lock file,
        // then create it.
        let lock = tmp.path().join(DIR).join("lock");
        let started = std::fs::read(&lock).unwrap();
        let mut count = [0u8; 8];
        count[..started.len().min(8)].copy_from_slice(&started[..started.len().min(8)]);
        std::fs::write(&lock, (u64::from_le_bytes(count) + 1).to_le_bytes()).unwrap();
        std::fs::write(
            tmp.path().join(DIR).join("000000000002.jsonl"),
            second.to_line(),
        )
        .unwrap();
        sink.record(event("third")).await.unwrap();
        drop(sink);
        let v = verify(tmp.path()).unwrap();
        assert_eq!((v.records, v.last_seq, v.segments), (3, 3, 2));
    }

    #[tokio::test]
    async fn a_writer_notices_its_segment_was_replaced() {
        // The segment this writer keeps open is unlinked and replaced by a
        // copy of the same length: appending to the open file would write
        // records nobody can read. The writer must go back to the directory.
        let tmp = tempfile::tempdir().unwrap();
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        sink.record(event("first")).await.unwrap();
        let seg = segments(&tmp.path().join(DIR)).unwrap()[0].clone();
        let copy = seg.with_extension("copy");
        std::fs::copy(&seg, &copy).unwrap();
        std::fs::rename(&copy, &seg).unwrap();
        sink.record(event("second")).await.unwrap();
        drop(sink);
        let v = verify(tmp.path()).unwrap();
        assert_eq!((v.records, v.last_seq), (2, 2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_never_blocks_its_thread_while_another_process_holds_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = std::sync::Arc::new(
            AuditSink::open(tmp.path(), &AuditConfig::default())
                .await
                .unwrap(),
        );
        // Another process appending: it holds the lock (flock locks belong
        // to an open file, so a second open in this process conflicts too).
        // A watchdog lets go after 5 s, so a blocked thread fails the test
        // instead of hanging it.
        let other = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(tmp.path().join(DIR).join("lock"))
            .unwrap();
        other.lock().unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            let _ = released.recv_timeout(std::time::Duration::from_secs(5));
            other.unlock().unwrap();
        });
        let pending = tokio::spawn({
            let sink = sink.clone();
            async move { sink.record(event("waits for the other writer")).await }
        });
        // The only thread of this runtime still runs other tasks meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !pending.is_finished(),
            "a record was durable while another process held the log, or the thread was blocked"
        );
        release.send(()).unwrap();
        watchdog.join().unwrap();
        pending.await.unwrap().unwrap();
        drop(sink);
        assert_eq!(verify(tmp.path()).unwrap().records, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_sizes_account_for_every_record() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = std::sync::Arc::new(
            AuditSink::open(tmp.path(), &AuditConfig::default())
                .await
                .unwrap(),
        );
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let sink = sink.clone();
                tokio::spawn(async move { sink.record(event(&format!("e{i}"))).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let stats = sink.batch_stats().unwrap();
        assert_eq!(stats.records, 64);
        assert!((1..=64).contains(&stats.batches()), "{stats:?}");
        let text = sink.render_batches();
        assert!(text.contains("# TYPE skillhost_audit_batch_records histogram"));
        assert!(text.contains("skillhost_audit_batch_records_sum 64\n"), "{text}");
        assert!(text.contains(&format!(
            "skillhost_audit_batch_records_bucket{{le=\"512\"}} {}\n",
            stats.batches()
        )));
        drop(sink);
        assert_eq!(verify(tmp.path()).unwrap().records, 64);
    }

    #[tokio::test]
    async fn an_empty_newest_segment_does_not_break_the_chain() {
        // A crash (or a full disk) right after a new segment was created
        // leaves it empty: the chain continues from the segment before.
        let tmp = tempfile::tempdir().unwrap();
        five(tmp.path()).await;
        std::fs::write(tmp.path().join(DIR).join("000000000006.jsonl"), b"").unwrap();
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        sink.record(event("after")).await.unwrap();
        drop(sink);
        assert_eq!(verify(tmp.path()).unwrap().last_seq, 6);
    }

    #[tokio::test]
    async fn an_unwritable_log_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = AuditSink::open(tmp.path(), &AuditConfig::default())
            .await
            .unwrap();
        sink.record(event("first")).await.unwrap();
        let seg = segments(&tmp.path().join(DIR)).unwrap()[0].clone();
        // Replace the segment with a directory: every further write fails.
        std::fs::remove_file(&seg).unwrap();
        std::fs::create_dir(&seg).unwrap();
        let sink2 = AuditSink::open(tmp.path(), &AuditConfig::default()).await;
        assert!(sink2.is_err());
    }
}
