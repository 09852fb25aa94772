//! The clocks a guest reads are coarsened to the owner's resolution: per
//! host in the config, and coarser still per skill at approval. A guest's
//! consecutive reads never differ by less than the resolution unless they
//! are equal.

use serde_json::Value;
use skillhost::registry::{LimitSet, Narrowing};
use skillhost::{Added, HostConfig, Limits, SkillHost};

use crate::common::*;

async fn probe(host_resolution_us: u64, narrowing: Narrowing) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        limits: Limits {
            clock_resolution_us: host_resolution_us,
            ..Limits::default()
        },
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, dir.path()).await.unwrap();
    let Added::Pending(v) = host
        .add(&skill_bytes("clock_probe"), "owner")
        .await
        .unwrap()
    else {
        panic!("expected a pending version")
    };
    host.approve("clock-probe", &v.digest, &narrowing, "owner")
        .await
        .unwrap();
    let inv = host.invoke("clock-probe", "{}", "agent").await.unwrap();
    output(&inv)
}

fn assert_steps_are_multiples(out: &Value, resolution_ns: u64) {
    for key in ["min_monotonic_step_ns", "min_wall_step_ns"] {
        if let Some(step) = out[key].as_u64() {
            assert!(
                step >= resolution_ns,
                "{key} {step} < {resolution_ns}: {out}"
            );
            assert_eq!(step % resolution_ns, 0, "{key}: {out}");
        }
    }
    assert_eq!(
        out["wall_subsec_ns"].as_u64().unwrap() % resolution_ns.min(1_000_000_000),
        0,
        "{out}"
    );
}

#[tokio::test]
async fn the_default_resolution_is_one_millisecond() {
    let out = probe(Limits::default().clock_resolution_us, Narrowing::default()).await;
    assert_eq!(Limits::default().clock_resolution_us, 1000);
    assert!(out["distinct"].as_u64().unwrap() >= 1, "{out}");
    assert_steps_are_multiples(&out, 1_000_000);
}

#[tokio::test]
async fn the_host_setting_is_honoured_both_ways() {
    // Finer than the default: the guest sees steps below a millisecond, so
    // the setting (not a constant) decides what the guest sees.
    let fine = probe(1, Narrowing::default()).await;
    let step = fine["min_monotonic_step_ns"].as_u64().unwrap();
    assert!(step < 1_000_000, "{fine}");
    assert_eq!(step % 1000, 0, "{fine}");
    let coarse = probe(10_000, Narrowing::default()).await;
    assert_steps_are_multiples(&coarse, 10_000_000);
}

#[tokio::test]
async fn approval_can_only_coarsen_a_skills_clocks() {
    let per_skill = |us| Narrowing {
        limits: LimitSet {
            clock_resolution_us: Some(us),
            ..LimitSet::default()
        },
        ..Narrowing::default()
    };
    let coarser = probe(1000, per_skill(20_000)).await;
    assert_steps_are_multiples(&coarser, 20_000_000);
    // Asking for finer than the host's setting keeps the host's.
    let finer = probe(1000, per_skill(1)).await;
    assert_steps_are_multiples(&finer, 1_000_000);
}
