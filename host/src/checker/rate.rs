//! Token-bucket rate limits: per skill, per caller and global, and for
//! failed authentications per source address. A bucket holds up to one
//! minute's allowance and refills continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateConfig;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    updated: Instant,
}

impl Bucket {
    fn new(per_minute: u32, now: Instant) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Bucket {
            tokens: capacity,
            capacity,
            per_second: capacity / 60.0,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// Seconds until one token is available (0 if one is).
    fn wait_secs(&self) -> u64 {
        if self.tokens >= 1.0 {
            0
        } else {
            ((1.0 - self.tokens) / self.per_second).ceil().max(1.0) as u64
        }
    }
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Caller,
    Skill,
    Global,
    /// Failed authentications from one source address.
    Source,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Caller => "caller",
            Scope::Skill => "skill",
            Scope::Global => "global",
            Scope::Source => "source",
        }
    }
}

#[derive(Debug, Default)]
struct Buckets {
    global: Option<Bucket>,
    skills: HashMap<String, Bucket>,
    callers: HashMap<String, Bucket>,
    sources: HashMap<String, Bucket>,
}

/// All buckets of one host.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateConfig,
    buckets: Mutex<Buckets>,
}

/// Most distinct skills or callers tracked; beyond this, full buckets are
/// forgotten first so memory stays bounded.
const MAX_TRACKED: usize = 10_000;

impl RateLimiter {
    pub fn new(config: &RateConfig) -> Self {
        RateLimiter {
            config: config.clone(),
            buckets: Mutex::default(),
        }
    }

    /// Take one token from the caller's, the skill's and the global bucket,
    /// or none of them: `Err((scope, retry_after_secs))` names the first
    /// bucket that is empty.
    pub fn acquire(&self, skill: &str, caller: &str) -> Result<(), (Scope, u64)> {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let skill_rate = self
            .config
            .skills
            .get(skill)
            .copied()
            .unwrap_or(self.config.per_skill_per_minute);
        let Buckets {
            global,
            skills,
            callers,
            ..
        } = &mut *b;
        for map in [&mut *skills, &mut *callers] {
            if map.len() >= MAX_TRACKED {
                map.retain(|_, bucket| {
                    bucket.refill(now);
                    bucket.tokens < bucket.capacity
                });
            }
        }
        let caller_rate = self.config.per_caller_per_minute;
        let global_rate = self.config.global_per_minute;
        let caller_bucket = callers
            .entry(caller.to_string())
            .or_insert_with(|| Bucket::new(caller_rate, now));
        let skill_bucket = skills
            .entry(skill.to_string())
            .or_insert_with(|| Bucket::new(skill_rate, now));
        let global_bucket = global.get_or_insert_with(|| Bucket::new(global_rate, now));
        let mut all = [
            (Scope::Caller, caller_bucket),
            (Scope::Skill, skill_bucket),
            (Scope::Global, global_bucket),
        ];
        for (_, bucket) in all.iter_mut() {
            bucket.refill(now);
        }
        if let Some((scope, bucket)) = all.iter().find(|(_, bucket)| bucket.tokens < 1.0) {
            return Err((*scope, bucket.wait_secs()));
        }
        for (_, bucket) in all.iter_mut() {
            bucket.tokens -= 1.0;
        }
        Ok(())
    }

    /// A failed authentication from `source`: take a token from its bucket
    /// (`rate.auth_failures_per_minute`), or `Err(retry_after_secs)` when
    /// the source has failed too often. Successful authentications never
    /// come here, so a valid token is never slowed by someone else's
    /// failures from the same address.
    pub fn auth_failure(&self, source: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.sources.len() >= MAX_TRACKED {
            b.sources.retain(|_, bucket| {
                bucket.refill(now);
                bucket.tokens < bucket.capacity
            });
        }
        // Still full of distinct failing sources: they share one bucket.
        let key = if b.sources.len() >= MAX_TRACKED && !b.sources.contains_key(source) {
            "*"
        } else {
            source
        };
        let rate = self.config.auth_failures_per_minute;
        let bucket = b
            .sources
            .entry(key.to_string())
            .or_insert_with(|| Bucket::new(rate, now));
        bucket.refill(now);
        if bucket.tokens < 1.0 {
            return Err(bucket.wait_secs());
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(skill: u32, global: u32, caller: u32) -> RateConfig {
        RateConfig {
            per_skill_per_minute: skill,
            global_per_minute: global,
            per_caller_per_minute: caller,
            auth_failures_per_minute: 3,
            skills: Default::default(),
        }
    }

    #[test]
    fn auth_failures_are_limited_per_source() {
        let r = RateLimiter::new(&config(100, 100, 100));
        for _ in 0..3 {
            r.auth_failure("10.0.0.1").unwrap();
        }
        let retry = r.auth_failure("10.0.0.1").unwrap_err();
        assert!((1..=20).contains(&retry), "{retry}");
        // Another source, and invocations, are unaffected.
        r.auth_failure("10.0.0.2").unwrap();
        r.acquire("a", "x").unwrap();
    }

    #[test]
    fn per_skill_limit_and_retry_after() {
        let r = RateLimiter::new(&config(3, 100, 100));
        for _ in 0..3 {
            r.acquire("a", "c").unwrap();
        }
        let (scope, retry) = r.acquire("a", "c").unwrap_err();
        assert_eq!(scope, Scope::Skill);
        assert!((1..=20).contains(&retry), "{retry}");
        // Another skill is unaffected.
        r.acquire("b", "c").unwrap();
    }

    #[test]
    fn global_and_caller_limits() {
        let r = RateLimiter::new(&config(100, 2, 100));
        r.acquire("a", "x").unwrap();
        r.acquire("b", "y").unwrap();
        assert_eq!(r.acquire("c", "z").unwrap_err().0, Scope::Global);

        let r = RateLimiter::new(&config(100, 100, 1));
        r.acquire("a", "x").unwrap();
        assert_eq!(r.acquire("b", "x").unwrap_err().0, Scope::Caller);
        r.acquire("b", "y").unwrap();
    }

    #[test]
    fn a_refusal_takes_no_token() {
        let r = RateLimiter::new(&config(1, 2, 100));
        r.acquire("a", "x").unwrap();
        // Refused by the skill bucket: the global bucket must keep its token.
        assert_eq!(r.acquire("a", "x").unwrap_err().0, Scope::Skill);
        r.acquire("b", "x").unwrap();
    }

    #[test]
    fn per_skill_overrides() {
        let mut c = config(1, 100, 100);
        c.skills.insert("busy".into(), 5);
        let r = RateLimiter::new(&c);
        for _ in 0..5 {
            r.acquire("busy", "x").unwrap();
        }
        assert!(r.acquire("busy", "x").is_err());
    }
}
