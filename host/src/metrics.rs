//! Counters every front end shares, rendered in the Prometheus text format
//! (`GET /metrics` on `skillhost serve`).
//!
//! Recorded by [`SkillHost::invoke`](crate::SkillHost::invoke) and
//! [`SkillHost::refused`](crate::SkillHost::refused), so the library, the
//! HTTP API and MCP are all counted, once each.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the invocation latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Counts {
    /// (outcome, code) → count. Outcome: ok, failed, denied.
    invocations: BTreeMap<(&'static str, String), u64>,
    /// Cumulative bucket counts, then +Inf, sum and count.
    buckets: [u64; LATENCY_BUCKETS.len()],
    latency_count: u64,
    latency_sum: f64,
    /// Egress code (`ok` or a denial) → count.
    egress: BTreeMap<String, u64>,
    auth_failures: u64,
}

/// The shared counters.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Counts) -> T) -> T {
        f(&mut self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One invocation that ran (`ok` or `failed`, with how long the host
    /// took over it, checks and audit included) or was refused (`denied`,
    /// no duration: refusals stay out of the latency histogram).
    pub fn invocation(&self, outcome: &'static str, code: &str, took: Option<Duration>) {
        self.with(|c| {
            *c.invocations
                .entry((outcome, code.to_string()))
                .or_default() += 1;
            let Some(took) = took else { return };
            let secs = took.as_secs_f64();
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                if secs <= *le {
                    c.buckets[i] += 1;
                }
            }
            c.latency_count += 1;
            c.latency_sum += secs;
        });
    }

    /// One outbound request attempt, by its code (`ok` or the denial).
    pub fn egress(&self, code: &str) {
        self.with(|c| *c.egress.entry(code.to_string()).or_default() += 1);
    }

    /// One refused token (`auth.failure`); exported as
    /// `skillhost_auth_failures_total`.
    pub fn auth_failure(&self) {
        self.with(|c| c.auth_failures += 1);
    }

    /// Invocations counted so far with this outcome and code.
    pub fn invocations(&self, outcome: &str, code: &str) -> u64 {
        self.with(|c| {
            c.invocations
                .iter()
                .filter(|((o, k), _)| *o == outcome && k == code)
                .map(|(_, n)| *n)
                .sum()
        })
    }

    /// The Prometheus text exposition (format 0.0.4). `extra` samples
    /// (name, help, `gauge` or `counter`, value), owned by the caller, are
    /// appended.
    pub fn render(&self, extra: &[(&str, &str, &str, f64)]) -> String {
        let mut out = String::new();
        self.with(|c| {
            out.push_str("# HELP skillhost_invocations_total Invocations by outcome (ok, failed, denied) and stable code.\n");
            out.push_str("# TYPE skillhost_invocations_total counter\n");
            for ((outcome, code), n) in &c.invocations {
                let _ = writeln!(
                    out,
                    "skillhost_invocations_total{{outcome=\"{outcome}\",code=\"{}\"}} {n}",
                    label(code)
                );
            }
            let bounds: Vec<String> = LATENCY_BUCKETS.iter().map(f64::to_string).collect();
            histogram(
                &mut out,
                "skillhost_invocation_duration_seconds",
                "Time the host spent on one invocation that ran, checks and audit included.",
                &bounds,
                &c.buckets,
                c.latency_count,
                c.latency_sum,
            );
            out.push_str("# HELP skillhost_egress_requests_total Outbound HTTP attempts by code (ok or the denial).\n");
            out.push_str("# TYPE skillhost_egress_requests_total counter\n");
            for (code, n) in &c.egress {
                let _ = writeln!(
                    out,
                    "skillhost_egress_requests_total{{code=\"{}\"}} {n}",
                    label(code)
                );
            }
            out.push_str("# HELP skillhost_auth_failures_total Refused tokens (auth.failure).\n");
            out.push_str("# TYPE skillhost_auth_failures_total counter\n");
            let _ = writeln!(out, "skillhost_auth_failures_total {}", c.auth_failures);
        });
        for (name, help, kind, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

/// Append a histogram in the text format. `cumulative[i]` counts the
/// observations `<= bounds[i]`; `count` is every observation (`+Inf`).
pub fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    bounds: &[String],
    cumulative: &[u64],
    count: u64,
    sum: f64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (le, n) in bounds.iter().zip(cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {count}");
}

/// Escape a label value (codes are plain ASCII, but be strict anyway).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.invocation("ok", "ok", Some(Duration::from_micros(700)));
        m.invocation("failed", "limits.timeout", Some(Duration::from_secs(20)));
        m.invocation("denied", "rate.limited", None);
        let text = m.render(&[("skillhost_in_flight", "Running now.", "gauge", 3.0)]);
        assert!(text.contains("skillhost_invocation_duration_seconds_bucket{le=\"0.0005\"} 0\n"));
        assert!(text.contains("skillhost_invocation_duration_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("skillhost_invocation_duration_seconds_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("skillhost_invocation_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("skillhost_invocation_duration_seconds_count 2\n"));
        assert!(
            text.contains(
                "skillhost_invocations_total{outcome=\"denied\",code=\"rate.limited\"} 1\n"
            )
        );
        assert!(text.contains("skillhost_in_flight 3\n"));
        assert_eq!(m.invocations("ok", "ok"), 1);
    }
}
