//! Guest stdout/stderr: captured into one capped in-memory buffer. Writes past
//! the cap are accepted and dropped (and counted), so a flood neither grows
//! host memory nor traps the skill.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Which stream a captured line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug)]
struct Captured {
    capacity: usize,
    bytes: Vec<u8>,
    /// Consecutive runs of `bytes` and the stream that wrote them.
    runs: Vec<(Stream, usize)>,
    dropped: u64,
}

/// stdout and stderr of one invocation, sharing one byte budget.
#[derive(Debug, Clone)]
pub struct CapturedStdio {
    shared: Arc<Mutex<Captured>>,
}

impl CapturedStdio {
    pub fn new(capacity: usize) -> Self {
        CapturedStdio {
            shared: Arc::new(Mutex::new(Captured {
                capacity,
                bytes: Vec::new(),
                runs: Vec::new(),
                dropped: 0,
            })),
        }
    }

    pub fn stdout(&self) -> StdioEnd {
        StdioEnd {
            shared: self.shared.clone(),
            stream: Stream::Stdout,
        }
    }

    pub fn stderr(&self) -> StdioEnd {
        StdioEnd {
            shared: self.shared.clone(),
            stream: Stream::Stderr,
        }
    }

    /// The captured text as lines per stream, and the number of bytes dropped.
    pub fn lines(&self) -> (Vec<(Stream, String)>, u64) {
        let c = lock(&self.shared);
        let mut out = Vec::new();
        let mut pending = [Vec::new(), Vec::new()];
        let mut at = 0;
        for &(stream, len) in &c.runs {
            let slot = stream as usize;
            for &b in &c.bytes[at..at + len] {
                if b == b'\n' {
                    let line = std::mem::take(&mut pending[slot]);
                    out.push((stream, String::from_utf8_lossy(&line).into_owned()));
                } else {
                    pending[slot].push(b);
                }
            }
            at += len;
        }
        for (slot, rest) in pending.into_iter().enumerate() {
            if !rest.is_empty() {
                let stream = if slot == 0 {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                out.push((stream, String::from_utf8_lossy(&rest).into_owned()));
            }
        }
        (out, c.dropped)
    }
}

fn lock(m: &Mutex<Captured>) -> MutexGuard<'_, Captured> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The stdout or stderr end handed to WASI.
#[derive(Debug, Clone)]
pub struct StdioEnd {
    shared: Arc<Mutex<Captured>>,
    stream: Stream,
}

impl StdioEnd {
    fn accept(&self, buf: &[u8]) {
        let mut c = lock(&self.shared);
        let take = buf.len().min(c.capacity.saturating_sub(c.bytes.len()));
        if take > 0 {
            c.bytes.extend_from_slice(&buf[..take]);
            match c.runs.last_mut() {
                Some((s, len)) if *s == self.stream => *len += take,
                _ => c.runs.push((self.stream, take)),
            }
        }
        c.dropped += (buf.len() - take) as u64;
    }
}

impl AsyncWrite for StdioEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for StdioEnd {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StdioEnd {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // A direct stream rather than the default buffered adapter: every write
    // lands in the buffer before the guest's call returns, so nothing is
    // still in flight when the invocation ends and its lines are collected.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for StdioEnd {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.accept(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: past the cap, bytes are dropped, not refused.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StdioEnd {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn keeps_up_to_capacity_and_counts_the_rest() {
        let io = CapturedStdio::new(10);
        let mut out = io.stdout();
        let mut err = io.stderr();
        out.write_all(b"hello\nwor").await.unwrap();
        err.write_all(b"oops\n").await.unwrap();
        out.write_all(b"ld\n").await.unwrap();
        let (lines, dropped) = io.lines();
        assert_eq!(
            lines,
            vec![
                (Stream::Stdout, "hello".to_string()),
                (Stream::Stdout, "wor".to_string()),
                (Stream::Stderr, "o".to_string()),
            ]
        );
        assert_eq!(dropped, 7);
    }
}
