//! Egress byte budgets from inside the sandbox: `http-probe` against the
//! loopback servers, with `limits.egress_sent_bytes` and
//! `limits.egress_received_bytes` lowered for the call. The request-count
//! budget has its own test in `egress.rs` (`the_request_budget_holds`).

use serde_json::json;
use skillhost::{Limits, codes};

use crate::common::*;
use crate::egress::{assert_refused, net, probe_with};
use crate::servers;

fn plain() -> String {
    format!("http://api.test:{}", net().plain.port())
}

async fn probe(limits: Limits, input: serde_json::Value) -> serde_json::Value {
    probe_with(&net().open_probe, &limits, &[plain()], input).await
}

#[tokio::test]
async fn a_response_streaming_past_the_received_budget_is_stopped() {
    // No content-length: only the streaming check can stop it. The budget
    // (20 KiB) is below the per-response cap (50 KiB), so it is the budget
    // that stops the response.
    let limits = Limits {
        egress_received_bytes: 20 * 1024,
        ..test_limits()
    };
    let out = probe(
        limits.clone(),
        json!({ "url": format!("{}/big-chunked", plain()) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_BYTES);
    // With the default budget the same response meets the per-response cap
    // instead: a different refusal, so the budget is what acted above.
    let out = probe(
        test_limits(),
        json!({ "url": format!("{}/big-chunked", plain()) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_RESPONSE_TOO_LARGE);
}

#[tokio::test]
async fn small_responses_add_up_to_the_received_budget() {
    // Each /json answer is about 100 bytes of headers and body.
    let limits = Limits {
        egress_received_bytes: 450,
        http_requests: 50,
        ..test_limits()
    };
    let marker = "m=budget-received";
    let out = probe(
        limits,
        json!({ "url": format!("{}/json?{marker}", plain()), "repeat": 20 }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_BYTES);
    let arrived = servers::requests_containing(marker);
    // A few got through, then one passed the budget, and nothing was sent
    // after it.
    assert!((2..=6).contains(&arrived), "{arrived} requests arrived");
    assert!(arrived < 20);
}

#[tokio::test]
async fn a_request_past_the_sent_budget_is_never_sent() {
    let limits = Limits {
        egress_sent_bytes: 2_000,
        http_requests: 50,
        ..test_limits()
    };
    let marker = "m=budget-sent";
    let body = "x".repeat(1_500);
    let out = probe(
        limits.clone(),
        json!({
            "url": format!("{}/echo?{marker}", plain()),
            "method": "POST",
            "body": body,
            "repeat": 3,
        }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_BYTES);
    assert_eq!(
        servers::requests_containing(marker),
        1,
        "only the first fits"
    );
    // One request over the budget on its own is refused before it leaves.
    let marker = "m=budget-sent-one";
    let out = probe(
        limits,
        json!({
            "url": format!("{}/echo?{marker}", plain()),
            "method": "POST",
            "body": "y".repeat(2_100),
        }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_BYTES);
    assert_eq!(servers::requests_containing(marker), 0);
}
