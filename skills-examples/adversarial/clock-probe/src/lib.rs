//! Reads the clocks as fast as it can, as a timing attack would, and
//! reports the smallest non-zero step it saw. The host's clock resolution
//! setting must make every step a multiple of it.
use serde::Serialize;
use serde_json::Value;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Serialize, JsonSchema)]
struct Output {
    /// Smallest non-zero difference between consecutive monotonic reads (ns).
    min_monotonic_step_ns: Option<u64>,
    /// Smallest non-zero difference between consecutive wall-clock reads (ns).
    min_wall_step_ns: Option<u64>,
    /// Distinct monotonic readings seen.
    distinct: u32,
    /// Nanoseconds within the second of the last wall-clock read.
    wall_subsec_ns: u32,
}

struct ClockProbe;

impl Skill for ClockProbe {
    type Input = Value;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "clock-probe",
        env!("CARGO_PKG_VERSION"),
        "Reports the finest clock steps a skill can observe.",
    );

    fn invoke(_input: Value) -> Result<Output, SkillError> {
        let start = Instant::now();
        let mut last = start;
        let mut last_wall = SystemTime::now();
        let (mut min_mono, mut min_wall, mut distinct) = (None::<u64>, None::<u64>, 0u32);
        // Enough reads to cross several coarse ticks at 1 ms, bounded in time.
        while start.elapsed().as_millis() < 30 {
            let now = Instant::now();
            let step = now.duration_since(last).as_nanos() as u64;
            if step > 0 {
                distinct += 1;
                min_mono = Some(min_mono.map_or(step, |m| m.min(step)));
            }
            last = now;
            let wall = SystemTime::now();
            if let Ok(d) = wall.duration_since(last_wall) {
                let step = d.as_nanos() as u64;
                if step > 0 {
                    min_wall = Some(min_wall.map_or(step, |m| m.min(step)));
                }
            }
            last_wall = wall;
        }
        Ok(Output {
            min_monotonic_step_ns: min_mono,
            min_wall_step_ns: min_wall,
            distinct,
            wall_subsec_ns: last_wall
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0),
        })
    }
}

skillhost_sdk::export_skill!(ClockProbe);
