//! Memory and table growth limits for one instance. wasmtime reports a denied
//! growth only as a failed `memory.grow` (the skill usually aborts with
//! `unreachable` next), so the limiter records *why* growth failed and the
//! sandbox reports `limits.memory` instead of a generic trap.

use wasmtime::ResourceLimiter;

/// Tables larger than this are refused (function tables of real skills hold
/// a few thousand entries at most).
pub const MAX_TABLE_ELEMENTS: usize = 20_000;

/// A growth request that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub requested: u64,
    pub limit: u64,
}

#[derive(Debug)]
pub struct MemoryLimiter {
    limit_bytes: u64,
    peak_bytes: u64,
    denied: Option<Denied>,
}

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> Self {
        MemoryLimiter {
            limit_bytes,
            peak_bytes: 0,
            denied: None,
        }
    }

    /// The first refused memory growth, if any.
    pub fn denied(&self) -> Option<Denied> {
        self.denied
    }

    /// Largest linear memory size granted, in bytes.
    pub fn peak_bytes(&self) -> u64 {
        self.peak_bytes
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.limit_bytes {
            self.denied.get_or_insert(Denied {
                requested: desired,
                limit: self.limit_bytes,
            });
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_first_denial_and_the_peak() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 64, None).unwrap());
        assert!(!l.memory_growing(64, 128, None).unwrap());
        assert!(!l.memory_growing(64, 256, None).unwrap());
        assert_eq!(l.peak_bytes(), 64);
        assert_eq!(
            l.denied(),
            Some(Denied {
                requested: 128,
                limit: 100
            })
        );
    }
}
