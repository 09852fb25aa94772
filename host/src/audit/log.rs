//! The audit log on disk: `<data-dir>/audit/<first-seq>.jsonl` segments of
//! hash-chained JSON lines (0600, directory 0700), a `head` file naming the
//! newest record (to detect a truncated tail), and, after pruning, an
//! `anchor` file naming the last pruned record (so the rest still verifies).
//!
//! Who writes: a caller alone in [`AuditLog::record`], which finds the log
//! free in this process and not locked by another, appends its own record on
//! its own thread, which costs no thread hand-off; any other caller queues
//! its record for the writer thread, which writes everything queued together
//! and makes it durable with one fsync (group commit). Either way the caller returns only once its own
//! record is on disk, and one mutex around the tail keeps the chain linear.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::record::{AuditEvent, AuditRecord, GENESIS};
use crate::config::AuditConfig;

/// Directory of the log inside the data dir.
pub const DIR: &str = "audit";
const HEAD: &str = "head";
const ANCHOR: &str = "anchor";
const LOCK: &str = "lock";
/// Most records written with one fsync.
const MAX_BATCH: usize = 512;

/// Benchmarks only (the `internal` feature; no configuration reaches it):
/// skip the `fdatasync` of each batch, so a benchmark can measure the
/// pipeline with the audit log on the page cache alone.
#[cfg(feature = "internal")]
pub static BENCH_SKIP_FSYNC: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn sync_batch(file: &File) -> std::io::Result<()> {
    #[cfg(feature = "internal")]
    if BENCH_SKIP_FSYNC.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    file.sync_data()
}

/// A position in the chain: a record's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPoint {
    pub seq: u64,
    pub hash: String,
}

struct Job {
    event: AuditEvent,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The open log. Dropping it stops the writer after it drains.
pub struct AuditLog {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// What the callers and the writer thread share.
struct Shared {
    /// The end of the chain; whoever holds it is the one writer.
    tail: Mutex<Tail>,
    /// Callers inside [`AuditLog::record`] now. A caller writes its own
    /// record only when it is alone: with company, blocking its thread on
    /// an fsync would stall the others' work, and the writer thread batches
    /// them all into one fsync instead.
    callers: AtomicUsize,
    batches: BatchSizes,
}

impl Shared {
    fn append(&self, events: Vec<AuditEvent>) -> Result<(), String> {
        let n = events.len();
        let result = self.tail.lock().unwrap_or_else(|p| p.into_inner()).append(events);
        self.batches.observe(n);
        result
    }
}

/// Counts a caller out of [`AuditLog::record`], however it leaves.
struct Inside<'a>(&'a AtomicUsize);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Upper bounds of the batch-size histogram buckets (records per fsync).
pub const BATCH_BUCKETS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// How many records each durable write carried, since the log opened.
#[derive(Default)]
struct BatchSizes {
    /// Count of batches per bucket (not cumulative), by [`BATCH_BUCKETS`].
    buckets: [AtomicU64; BATCH_BUCKETS.len()],
    records: AtomicU64,
}

impl BatchSizes {
    fn observe(&self, n: usize) {
        let n = n as u64;
        let i = BATCH_BUCKETS
            .iter()
            .position(|le| n <= *le)
            .unwrap_or(BATCH_BUCKETS.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(n, Ordering::Relaxed);
    }
}

/// A snapshot of the batch-size histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches with at most `BATCH_BUCKETS[i]` records (and more than the
    /// bucket before), not cumulative.
    pub buckets: [u64; BATCH_BUCKETS.len()],
    /// Records written in all batches.
    pub records: u64,
}

impl BatchStats {
    /// Durable writes (one fsync each) since the log opened.
    pub fn batches(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:012}.jsonl")
}

/// Segment files of a log directory, oldest first.
pub fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    out.sort();
    Ok(out)
}

pub(crate) fn read_point(path: &Path) -> Option<ChainPoint> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_point(dir: &Path, name: &str, point: &ChainPoint, durable: bool) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec(point).expect("points serialise"))?;
    if durable {
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    if durable {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn day_of(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

pub(crate) fn now_ts() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The newest segment and its last record, read from disk.
struct OnDisk {
    segment: Option<PathBuf>,
    last: ChainPoint,
    day: String,
    repaired_bytes: u64,
}

/// Find the current end of the chain. Cuts off a torn (incomplete) last
/// record. Call only while holding the lock.
fn read_tail(dir: &Path) -> Result<OnDisk, String> {
    let anchor = read_point(&dir.join(ANCHOR)).unwrap_or(ChainPoint {
        seq: 0,
        hash: GENESIS.to_string(),
    });
    let mut out = OnDisk {
        segment: None,
        last: anchor,
        day: String::new(),
        repaired_bytes: 0,
    };
    let mut all = segments(dir).map_err(|e| e.to_string())?;
    while let Some(active) = all.pop() {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&active)
            .map_err(|e| format!("cannot open {}: {e}", active.display()))?;
        let len = f.metadata().map_err(|e| e.to_string())?.len();
        // Records are small; the last complete one lies in the last 64 KiB
        // unless the file is smaller.
        let from = len.saturating_sub(64 * 1024);
        f.seek(SeekFrom::Start(from)).map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            // A crash tore the last write: drop the partial record.
            let keep = from + complete as u64;
            f.set_len(keep)
                .map_err(|e| format!("cannot repair the audit tail: {e}"))?;
            f.sync_all().map_err(|e| e.to_string())?;
            out.repaired_bytes += len - keep;
        }
        let Some(line) = bytes[..complete]
            .split(|b| *b == b'\n')
            .rev()
            .find(|l| !l.is_empty())
        else {
            // A segment with no complete record (a crash or a full disk right
            // after it was created): the chain ends in the one before it.
            std::fs::remove_file(&active)
                .map_err(|e| format!("cannot remove an empty audit segment: {e}"))?;
            continue;
        };
        let record: AuditRecord = serde_json::from_slice(line).map_err(|_| {
            "the last audit record is unreadable; run `skillhost audit verify`".to_string()
        })?;
        if record.compute_hash() != record.hash {
            return Err(
                "the last audit record fails its hash; run `skillhost audit verify`".into(),
            );
        }
        out.segment = Some(active);
        out.day = day_of(&record.ts).to_string();
        out.last = ChainPoint {
            seq: record.seq,
            hash: record.hash,
        };
        break;
    }
    Ok(out)
}

/// The writer: appends batches under an exclusive lock on `audit/lock`, so
/// several processes (a server and the owner's CLI) extend one chain.
struct Tail {
    dir: PathBuf,
    lock: File,
    /// Where this writer left the chain: re-read from disk only when the
    /// log is not exactly as it left it (see [`Tail::end`]).
    known: Option<KnownEnd>,
    /// The `head` file, kept open once written.
    head: Option<File>,
}

/// The end of the chain as this writer wrote it, with the segment still
/// open for appending.
struct KnownEnd {
    /// [`Tail::segments_started`] when this writer last wrote.
    started: u64,
    segment: PathBuf,
    file: File,
    len: u64,
    last: ChainPoint,
    day: String,
}

/// Bytes of the `head` file, written in place: its JSON padded with spaces
/// (which JSON allows), so an update is one small write at offset 0 and
/// never a rename (on ext4, replacing a file by rename flushes its data).
const HEAD_BYTES: usize = 128;

impl Tail {
    /// Append records for `events` durably, or nothing at all.
    fn append(&mut self, events: Vec<AuditEvent>) -> Result<(), String> {
        self.lock
            .lock()
            .map_err(|e| format!("cannot lock the audit log: {e}"))?;
        let result = self.append_locked(events);
        let _ = self.lock.unlock();
        result
    }

    /// [`append`](Self::append) unless another process holds the log's
    /// lock: then the events come back untouched, for a thread that may
    /// wait (a caller on an async worker must not block on another
    /// process).
    fn try_append(
        &mut self,
        events: Vec<AuditEvent>,
    ) -> Result<Result<(), String>, Vec<AuditEvent>> {
        match self.lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(events),
            Err(std::fs::TryLockError::Error(e)) => {
                return Ok(Err(format!("cannot lock the audit log: {e}")));
            }
        }
        let result = self.append_locked(events);
        let _ = self.lock.unlock();
        Ok(result)
    }

    /// The end of the chain, under the lock. What this writer last wrote is
    /// still the end if its segment is still linked, still has exactly the
    /// length it left, and no writer has started a segment since. Another
    /// process that extends the chain either appends to that segment (the
    /// length moves) or starts a new one, and every writer counts the
    /// segments it starts in the lock file before it creates them (see
    /// [`Tail::segments_started`]). Anything else means reading the tail
    /// from disk.
    fn end(&mut self) -> Result<(OnDisk, Option<(File, u64)>), String> {
        use std::os::unix::fs::MetadataExt;
        if let Some(known) = self.known.take() {
            let same = known
                .file
                .metadata()
                .is_ok_and(|m| m.len() == known.len && m.nlink() > 0);
            if same && self.segments_started()? == known.started {
                return Ok((
                    OnDisk {
                        segment: Some(known.segment),
                        last: known.last,
                        day: known.day,
                        repaired_bytes: 0,
                    },
                    Some((known.file, known.len)),
                ));
            }
        }
        Ok((read_tail(&self.dir)?, None))
    }

    fn append_locked(&mut self, events: Vec<AuditEvent>) -> Result<(), String> {
        let (mut tail, mut open) = self.end()?;
        let ts = now_ts();
        // At most twice: a new segment's name taken by another writer (one
        // that does not count segments, such as an older skillhost) means
        // the end moved; read it again and continue from there.
        let mut attempts = 0;
        let (path, mut file, before, reread) = loop {
            attempts += 1;
            let reread = open.is_none();
            match tail.segment.take() {
                Some(p) if day_of(&ts) == tail.day || tail.day.is_empty() => match open.take() {
                    Some((file, len)) => break (p, file, len, false),
                    None => {
                        let file = OpenOptions::new()
                            .append(true)
                            .mode(0o600)
                            .open(&p)
                            .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
                        let len = file.metadata().map_err(|e| e.to_string())?.len();
                        break (p, file, len, reread);
                    }
                },
                _ => {
                    self.start_segment()?;
                    let p = self.dir.join(segment_name(tail.last.seq + 1));
                    match OpenOptions::new()
                        .append(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&p)
                    {
                        Ok(file) => break (p, file, 0, true),
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 2 => {
                            tail = read_tail(&self.dir)?;
                            open = None;
                        }
                        Err(e) => return Err(format!("cannot create {}: {e}", p.display())),
                    }
                }
            }
        };
        let mut bytes = Vec::new();
        let mut last = tail.last;
        for event in events {
            let record = AuditRecord::new(
                last.seq + 1,
                ts.clone(),
                random_id(),
                event,
                last.hash.clone(),
            );
            last = ChainPoint {
                seq: record.seq,
                hash: record.hash.clone(),
            };
            bytes.extend_from_slice(&record.to_line());
        }
        if let Err(e) = file.write_all(&bytes).and_then(|_| sync_batch(&file)) {
            // Leave no partial record behind; the chain stays where it was.
            let _ = file.set_len(before);
            return Err(e.to_string());
        }
        if reread {
            // A segment this writer created, or found on disk rather than
            // kept open: make its directory entry durable too (the writer
            // that created it may have died before it could).
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| e.to_string())?;
        }
        // Not fsynced: after a crash the head may lag the log, which verify
        // accepts; only a log shorter than its head is a truncation.
        if self.write_head(&last).is_err() {
            self.head = None;
        }
        // A counter that cannot be read means reading the tail next time.
        self.known = self.segments_started().ok().map(|started| KnownEnd {
            started,
            len: before + bytes.len() as u64,
            segment: path,
            file,
            day: day_of(&ts).to_string(),
            last,
        });
        Ok(())
    }

    /// How many segments writers have started in this log: a counter in
    /// the first 8 bytes of the lock file (0 while the file is shorter, as
    /// in a log no counting writer has extended), read under the lock.
    fn segments_started(&self) -> Result<u64, String> {
        use std::os::unix::fs::FileExt;
        let mut bytes = [0u8; 8];
        match self.lock.read_exact_at(&mut bytes, 0) {
            Ok(()) => Ok(u64::from_le_bytes(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(format!("cannot read the audit lock file: {e}")),
        }
    }

    /// Count a segment about to be created, before it exists: a crash in
    /// between only makes other writers re-read a tail that did not move.
    fn start_segment(&self) -> Result<(), String> {
        use std::os::unix::fs::FileExt;
        let next = self.segments_started()?.wrapping_add(1);
        self.lock
            .write_all_at(&next.to_le_bytes(), 0)
            .map_err(|e| format!("cannot count a new audit segment: {e}"))
    }

    fn write_head(&mut self, point: &ChainPoint) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut bytes = serde_json::to_vec(point).expect("points serialise");
        if bytes.len() > HEAD_BYTES {
            self.head = None;
            return write_point(&self.dir, HEAD, point, false);
        }
        bytes.resize(HEAD_BYTES, b' ');
        if self.head.is_none() {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o600)
                .open(self.dir.join(HEAD))?;
            if f.metadata()?.len() > HEAD_BYTES as u64 {
                f.set_len(HEAD_BYTES as u64)?;
            }
            self.head = Some(f);
        }
        let head = self.head.as_ref().expect("opened above");
        head.write_all_at(&bytes, 0)?;
        Ok(())
    }
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

/// What opening the log found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Bytes of an incomplete last record that were cut off.
    pub repaired_bytes: u64,
    /// Segments deleted by retention.
    pub pruned_segments: usize,
}

impl AuditLog {
    /// Open (creating if needed) the log in `data_dir`: repair a torn tail,
    /// apply retention, and start the writer.
    pub fn open(data_dir: &Path, config: &AuditConfig) -> Result<(Self, OpenReport), String> {
        let dir = data_dir.join(DIR);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join(LOCK))
            .map_err(|e| format!("cannot open the audit lock: {e}"))?;
        lock.lock()
            .map_err(|e| format!("cannot lock the audit log: {e}"))?;
        let opened = (|| {
            let mut report = OpenReport::default();
            if config.retention_days > 0 {
                report.pruned_segments =
                    prune(&dir, config.retention_days).map_err(|e| format!("retention: {e}"))?;
            }
            report.repaired_bytes = read_tail(&dir)?.repaired_bytes;
            Ok::<_, String>(report)
        })();
        let _ = lock.unlock();
        let report = opened?;
        let shared = Arc::new(Shared {
            tail: Mutex::new(Tail {
                dir,
                lock,
                known: None,
                head: None,
            }),
            callers: AtomicUsize::new(0),
            batches: BatchSizes::default(),
        });
        let group = config.group_commit;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("skillhost-audit".into())
                .spawn(move || {
                    while let Ok(first) = rx.recv() {
                        let mut jobs = vec![first];
                        while group && jobs.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(j) => jobs.push(j),
                                Err(_) => break,
                            }
                        }
                        let (events, waiters): (Vec<_>, Vec<_>) =
                            jobs.into_iter().map(|j| (j.event, j.done)).unzip();
                        let result = shared.append(events);
                        for w in waiters {
                            let _ = w.send(result.clone());
                        }
                    }
                })
                .map_err(|e| format!("cannot start the audit writer: {e}"))?
        };
        Ok((
            AuditLog {
                shared,
                tx: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
            },
            report,
        ))
    }

    /// Append a record and wait until it is on disk.
    ///
    /// A caller alone here, with the log idle, writes its record on its own
    /// thread (a write and an fdatasync, which block it briefly) and so
    /// pays no thread hand-off; otherwise the record joins the writer
    /// thread's next batch.
    pub async fn record(&self, event: AuditEvent) -> Result<(), String> {
        let alone = self.shared.callers.fetch_add(1, Ordering::AcqRel) == 0;
        let _inside = Inside(&self.shared.callers);
        let mut event = event;
        if alone && let Ok(mut tail) = self.shared.tail.try_lock() {
            if self.closed() {
                return Err("the audit log is closed".into());
            }
            match tail.try_append(vec![event]) {
                Ok(result) => {
                    drop(tail);
                    self.shared.batches.observe(1);
                    return result;
                }
                // Another process is writing: wait on the writer thread.
                Err(mut back) => event = back.pop().expect("one event went in"),
            }
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        {
            let sender = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            let tx = sender.as_ref().ok_or("the audit log is closed")?;
            tx.send(Job { event, done })
                .map_err(|_| "the audit writer stopped".to_string())?;
        }
        wait.await
            .map_err(|_| "the audit writer stopped".to_string())?
    }

    fn closed(&self) -> bool {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// The batch-size histogram: records per durable write.
    pub fn batch_stats(&self) -> BatchStats {
        let b = &self.shared.batches;
        BatchStats {
            buckets: std::array::from_fn(|i| b.buckets[i].load(Ordering::Relaxed)),
            records: b.records.load(Ordering::Relaxed),
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

/// Delete whole segments older than `days` (never the newest), oldest
/// first, writing the anchor before each deletion.
fn prune(dir: &Path, days: u32) -> std::io::Result<usize> {
    let cutoff = SystemTime::now() - Duration::from_secs(u64::from(days) * 86_400);
    let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
    let mut all = segments(dir)?;
    all.pop();
    let mut pruned = 0;
    for segment in all {
        let text = std::fs::read_to_string(&segment)?;
        let Some(last) = text.lines().rev().find(|l| !l.is_empty()) else {
            std::fs::remove_file(&segment)?;
            continue;
        };
        let Ok(record) = serde_json::from_str::<AuditRecord>(last) else {
            break;
        };
        if record.ts >= cutoff {
            break;
        }
        write_point(
            dir,
            ANCHOR,
            &ChainPoint {
                seq: record.seq,
                hash: record.hash,
            },
            true,
        )?;
        std::fs::remove_file(&segment)?;
        pruned += 1;
    }
    Ok(pruned)
}

/// The first problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Sequence number where the problem shows (the expected one).
    pub seq: u64,
    /// File name of the segment (`<first-seq>.jsonl`) where the problem is.
    pub segment: String,
    /// Line in that segment, counted from 1; 0 when the problem is not one
    /// line (an unreadable segment, a truncated log).
    pub line: usize,
    /// What is wrong, e.g. an edited record, a broken `prev` link, a
    /// missing or reordered record, a torn or truncated tail.
    pub reason: String,
}

/// A verified log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records checked.
    pub records: u64,
    /// Sequence number the verified chain starts at: 1, or one past the
    /// anchor left by pruning.
    pub first_seq: u64,
    /// Sequence number of the last record (the head of the chain).
    pub last_seq: u64,
    /// Segment files walked.
    pub segments: usize,
}

/// Walk the whole chain from the anchor (or genesis) to the head.
pub fn verify(data_dir: &Path) -> Result<Verified, Broken> {
    let dir = data_dir.join(DIR);
    // The head first, under the writers' lock: records appended while the
    // segments are read only extend past it, so a live log never reads as
    // truncated, and the head is never read half-written.
    let head = {
        let lock = File::open(dir.join(LOCK)).ok();
        let locked = lock.as_ref().is_some_and(|l| l.lock_shared().is_ok());
        let head = read_point(&dir.join(HEAD));
        if locked && let Some(l) = &lock {
            let _ = l.unlock();
        }
        head
    };
    let anchor = read_point(&dir.join(ANCHOR)).unwrap_or(ChainPoint {
        seq: 0,
        hash: GENESIS.to_string(),
    });
    let broken = |seq: u64, segment: &Path, line: usize, reason: String| Broken {
        seq,
        segment: segment
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        line,
        reason,
    };
    let all = segments(&dir).map_err(|e| {
        broken(
            anchor.seq + 1,
            &dir,
            0,
            format!("cannot list segments: {e}"),
        )
    })?;
    let mut expected = anchor.clone();
    let mut records = 0;
    for segment in &all {
        let bytes = std::fs::read(segment)
            .map_err(|e| broken(expected.seq + 1, segment, 0, format!("unreadable: {e}")))?;
        if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            let lines = bytes.split(|b| *b == b'\n').count();
            return Err(broken(
                expected.seq + 1,
                segment,
                lines,
                "torn tail: the last record is incomplete".into(),
            ));
        }
        for (i, line) in bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
        {
            let at = |reason: String| broken(expected.seq + 1, segment, i + 1, reason);
            let record: AuditRecord = serde_json::from_slice(line)
                .map_err(|e| at(format!("unreadable or edited record: {e}")))?;
            if record.seq != expected.seq + 1 {
                return Err(at(format!(
                    "missing or reordered record: expected seq {}, found {}",
                    expected.seq + 1,
                    record.seq
                )));
            }
            if record.prev != expected.hash {
                return Err(at(
                    "the chain is broken: prev does not match the previous record".into(),
                ));
            }
            if record.compute_hash() != record.hash {
                return Err(at(
                    "edited record: its hash does not match its content".into()
                ));
            }
            expected = ChainPoint {
                seq: record.seq,
                hash: record.hash,
            };
            records += 1;
        }
    }
    if let Some(head) = head
        && head.seq > expected.seq
    {
        return Err(Broken {
            seq: expected.seq + 1,
            segment: all
                .last()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            line: 0,
            reason: format!(
                "truncated: the log ends at seq {} but its head says {}",
                expected.seq, head.seq
            ),
        });
    }
    Ok(Verified {
        records,
        first_seq: anchor.seq + 1,
        last_seq: expected.seq,
        segments: all.len(),
    })
}

/// Every readable record, oldest first.
#[cfg(any(test, feature = "internal"))] // tests and benches
pub fn read_all(data_dir: &Path) -> std::io::Result<Vec<AuditRecord>> {
    let mut out = Vec::new();
    for segment in segments(&data_dir.join(DIR))? {
        let text = std::fs::read_to_string(&segment)?;
        out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    }
    Ok(out)
}
