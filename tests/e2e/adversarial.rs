//! Hostile skills: each is stopped with its own code, and the host keeps
//! serving afterwards.

use skillhost::{Limits, codes};

use crate::common::*;

#[tokio::test]
async fn infinite_loop_runs_out_of_fuel() {
    let limits = Limits {
        timeout_ms: 60_000,
        fuel: 50_000_000,
        ..Limits::default()
    };
    let inv = invoke_with("infinite_loop", "{}", &limits).await;
    assert_eq!(code(&inv), codes::FUEL_EXHAUSTED);
    assert!(
        inv.usage.fuel_consumed >= 50_000_000 - 1_000,
        "{:?}",
        inv.usage
    );
    assert_host_still_serves().await;
}

#[tokio::test]
async fn pure_compute_is_interrupted_at_the_deadline() {
    // With fuel effectively unlimited, only epoch interruption can stop a
    // loop that never calls the host (it never yields to tokio on its own).
    let limits = Limits {
        timeout_ms: 300,
        fuel: u64::MAX / 2,
        ..Limits::default()
    };
    let inv = invoke_with("infinite_loop", "{}", &limits).await;
    assert_eq!(code(&inv), codes::TIMEOUT);
    assert_host_still_serves().await;
}

#[tokio::test]
async fn polling_busy_wait_hits_the_deadline() {
    let limits = Limits {
        timeout_ms: 300,
        ..Limits::default()
    };
    let inv = invoke_with("busy_wait", "{}", &limits).await;
    assert_eq!(code(&inv), codes::TIMEOUT);
    assert!(
        inv.usage.fuel_consumed < 100_000_000,
        "should burn little fuel: {:?}",
        inv.usage
    );
    assert_host_still_serves().await;
}

#[tokio::test]
async fn sleeping_in_a_host_call_hits_the_deadline() {
    // One long sleep inside a WASI call: epochs cannot interrupt it, so this
    // proves the host-side deadline.
    let limits = Limits {
        timeout_ms: 300,
        ..Limits::default()
    };
    let inv = invoke_with("busy_wait", r#"{"mode":"sleep"}"#, &limits).await;
    assert_eq!(code(&inv), codes::TIMEOUT);
    assert!(inv.usage.duration_ms < 30_000, "{:?}", inv.usage);
    assert_host_still_serves().await;
}

#[tokio::test]
async fn memory_hog_is_stopped_at_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..test_limits()
    };
    let inv = invoke_with("memory_hog", "{}", &limits).await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.code(), codes::MEMORY);
    assert_eq!(err.to_json()["limit"], 16 << 20);
    assert!(inv.usage.peak_memory_bytes <= 16 << 20, "{:?}", inv.usage);
    assert_host_still_serves().await;
}

#[tokio::test]
async fn output_bomb_is_discarded() {
    // Building and encoding 8 MiB costs more fuel than `test_limits` allow.
    let inv = invoke_with("output_bomb", "{}", &Limits::default()).await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.code(), codes::OUTPUT_TOO_LARGE);
    assert_eq!(err.to_json()["limit"], Limits::default().output_bytes);

    // Just over the cap is refused; at the cap is fine.
    let limit = Limits::default().output_bytes;
    let inv = invoke("output_bomb", &format!(r#"{{"bytes":{}}}"#, limit - 2)).await;
    assert!(inv.result.is_ok(), "{:?}", inv.result);
    let inv = invoke("output_bomb", &format!(r#"{{"bytes":{}}}"#, limit - 1)).await;
    assert_eq!(code(&inv), codes::OUTPUT_TOO_LARGE);
    assert_host_still_serves().await;
}

#[tokio::test]
async fn stdout_flood_is_capped() {
    let limits = Limits {
        stdio_bytes: 4096,
        ..test_limits()
    };
    let inv = invoke_with(
        "output_bomb",
        r#"{"stdout_bytes":1048576,"bytes":2}"#,
        &limits,
    )
    .await;
    assert!(inv.result.is_ok(), "{:?}", inv.result);
    let kept: usize = inv.logs.iter().map(|l| l.message.len() + 1).sum();
    assert!(kept <= 4096, "kept {kept} bytes");
    assert!(
        inv.usage.stdio_bytes_dropped >= 1_048_576 - 4096,
        "{:?}",
        inv.usage
    );
    assert!(
        inv.logs
            .iter()
            .all(|l| l.source == skillhost::sandbox::LogSource::Stdout)
    );
}

#[tokio::test]
async fn deep_recursion_overflows_the_wasm_stack() {
    let inv = invoke("deep_recursion", "{}").await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.code(), codes::SKILL_TRAPPED);
    assert_eq!(err.to_json()["trap"], "stack_overflow");
    assert_host_still_serves().await;
}

#[tokio::test]
async fn panic_is_reported_with_its_message() {
    let inv = invoke("panic", "{}").await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.code(), codes::SKILL_TRAPPED);
    assert_eq!(err.to_json()["trap"], "panic");
    assert!(err.to_string().contains("deliberate panic"), "{err}");
    assert!(
        inv.logs
            .iter()
            .any(|l| l.message.contains("deliberate panic"))
    );
    assert_host_still_serves().await;
}

#[tokio::test]
async fn hostile_skills_at_once_do_not_disturb_a_normal_one() {
    let base = Limits {
        timeout_ms: 1_000,
        fuel: 50_000_000,
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    // Each is stopped by its own limit, with its own code. Only the limit
    // meant to stop a skill is tight; the others (a deadline for the
    // fuel-bound loop, fuel and memory for the output bomb, which is costly
    // to build)
    // cannot be reached first, however busy the machine.
    let roomy = Limits {
        timeout_ms: 60_000,
        fuel: Limits::default().fuel,
        ..base.clone()
    };
    let hostile = [
        (
            "infinite_loop",
            Limits {
                timeout_ms: 60_000,
                ..base.clone()
            },
            codes::FUEL_EXHAUSTED,
        ),
        (
            "busy_wait",
            Limits {
                fuel: Limits::default().fuel,
                ..base.clone()
            },
            codes::TIMEOUT,
        ),
        ("memory_hog", roomy.clone(), codes::MEMORY),
        (
            // Building 8 MiB of output needs more than 16 MiB of memory.
            "output_bomb",
            Limits {
                timeout_ms: 60_000,
                ..Limits::default()
            },
            codes::OUTPUT_TOO_LARGE,
        ),
        ("deep_recursion", roomy.clone(), codes::SKILL_TRAPPED),
        ("panic", roomy, codes::SKILL_TRAPPED),
    ];
    let mut tasks = Vec::new();
    for (name, limits, expected) in hostile {
        tasks.push(tokio::spawn(async move {
            let inv = invoke_with(name, "{}", &limits).await;
            let got = inv.result.as_ref().err().map(|e| e.code());
            (name, expected, got)
        }));
    }
    for i in 0..10 {
        let input = format!(r#"{{"i":{i}}}"#);
        assert_eq!(output(&invoke("echo", &input).await)["i"], i);
    }
    let mut wrong = Vec::new();
    for t in tasks {
        let (name, expected, got) = t.await.unwrap();
        if got != Some(expected) {
            wrong.push(format!("{name}: expected {expected}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
