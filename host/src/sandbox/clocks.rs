//! The clocks a guest reads, coarsened to the owner's resolution.
//!
//! A guest gets the real wall clock and a monotonic clock (and a CSPRNG).
//! Fine clocks are the raw material of timing side channels, so both are
//! floored to `limits.clock_resolution_us` (1 ms by default, as browsers
//! coarsen timers). The host's own deadlines, epochs and fuel never read
//! these clocks, so the setting cannot lengthen or shorten a limit.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Wall-clock time since the Unix epoch, floored to a resolution.
pub struct CoarseWallClock {
    resolution: Duration,
}

/// Nanoseconds since the instance started, floored to a resolution.
pub struct CoarseMonotonicClock {
    start: Instant,
    resolution_ns: u64,
}

fn floor(value: u128, step: u128) -> u128 {
    value - value % step.max(1)
}

impl CoarseWallClock {
    pub fn new(resolution_us: u64) -> Self {
        CoarseWallClock {
            resolution: Duration::from_micros(resolution_us.max(1)),
        }
    }
}

impl HostWallClock for CoarseWallClock {
    fn resolution(&self) -> Duration {
        self.resolution
    }

    fn now(&self) -> Duration {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let ns = floor(since, self.resolution.as_nanos());
        Duration::new((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32)
    }
}

impl CoarseMonotonicClock {
    pub fn new(resolution_us: u64) -> Self {
        CoarseMonotonicClock {
            start: Instant::now(),
            resolution_ns: resolution_us.max(1).saturating_mul(1000),
        }
    }
}

impl HostMonotonicClock for CoarseMonotonicClock {
    fn resolution(&self) -> u64 {
        self.resolution_ns
    }

    fn now(&self) -> u64 {
        let ns = floor(
            self.start.elapsed().as_nanos(),
            u128::from(self.resolution_ns),
        );
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_multiples_of_the_resolution() {
        let mono = CoarseMonotonicClock::new(1000);
        let wall = CoarseWallClock::new(1000);
        let mut last = mono.now();
        for _ in 0..20_000 {
            let now = mono.now();
            assert_eq!(now % 1_000_000, 0);
            assert!(now == last || now - last >= 1_000_000, "{last} -> {now}");
            last = now;
            assert_eq!(wall.now().subsec_nanos() % 1_000_000, 0);
        }
        assert_eq!(mono.resolution(), 1_000_000);
        assert_eq!(wall.resolution(), Duration::from_millis(1));
    }
}
