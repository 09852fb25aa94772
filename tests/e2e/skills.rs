//! Well-behaved skills: outputs, metadata, errors, isolation between calls.

use serde_json::json;
use skillhost::codes;

use crate::common::*;

#[tokio::test]
async fn echo_returns_its_input() {
    let input = r#"{"a":[1,2,3],"b":{"c":"ü"}}"#;
    let inv = invoke("echo", input).await;
    assert_eq!(
        output(&inv),
        serde_json::from_str::<serde_json::Value>(input).unwrap()
    );
    assert!(inv.usage.fuel_consumed > 0);
    assert!(inv.usage.peak_memory_bytes > 0);
}

#[tokio::test]
async fn word_stats_transforms_json() {
    let inv = invoke(
        "word_stats",
        r#"{"text":"The cat and the hat.\nThe end","top":2}"#,
    )
    .await;
    assert_eq!(
        output(&inv),
        json!({
            "words": 7,
            "unique_words": 5,
            "characters": 28,
            "lines": 2,
            "top_words": [{"word":"the","count":3},{"word":"and","count":1}],
        })
    );
    assert!(
        inv.logs.iter().any(|l| l.message.contains("7 words")),
        "{:?}",
        inv.logs
    );
}

#[tokio::test]
async fn metadata_is_generated_from_the_declaration() {
    let report = skill("word_stats").metadata(&test_limits()).await;
    let meta = report.result.expect("metadata");
    assert_eq!(meta.name, "word-stats");
    assert_eq!(meta.version, "0.1.0");
    assert!(meta.description.contains("Counts words"));
    let schema: serde_json::Value = serde_json::from_str(&meta.input_schema).unwrap();
    assert_eq!(schema["required"], json!(["text"]));
    assert_eq!(schema["properties"]["text"]["type"], "string");
    let out: serde_json::Value =
        serde_json::from_str(meta.output_schema.as_deref().unwrap()).unwrap();
    assert!(out["properties"]["top_words"].is_object());
    assert!(meta.permissions.http.is_empty());
    assert!(meta.permissions.secrets.is_empty());
}

#[tokio::test]
async fn skill_errors_pass_through_with_their_code() {
    let inv = invoke("word_stats", r#"{"text":"x","top":51}"#).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), codes::SKILL_ERROR);
    assert_eq!(err.to_json()["skill_code"], "top_too_large");

    // The SDK refuses input that does not match the declared type.
    let inv = invoke("word_stats", r#"{"text":"x","surprise":true}"#).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.to_json()["skill_code"], "invalid_input");
}

#[tokio::test]
async fn invocations_share_no_state() {
    // The counter skill keeps a static count and grows a static buffer. Each
    // call must see a fresh instance.
    for _ in 0..3 {
        let inv = invoke("counter", "null").await;
        assert_eq!(output(&inv), json!({"calls": 1, "leftover_bytes": 0}));
    }
}

#[tokio::test]
async fn concurrent_invocations_are_isolated() {
    let mut tasks = Vec::new();
    for i in 0..24 {
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let inv = invoke("counter", "{}").await;
                assert_eq!(output(&inv), json!({"calls": 1, "leftover_bytes": 0}));
            } else {
                let input = format!(r#"{{"n":{i}}}"#);
                let inv = invoke("echo", &input).await;
                assert_eq!(output(&inv), json!({"n": i}));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn bad_input_never_reaches_the_skill() {
    let limits = skillhost::Limits {
        input_bytes: 100,
        ..test_limits()
    };
    let big = format!(r#"{{"text":"{}"}}"#, "a".repeat(200));
    let inv = invoke_with("echo", &big, &limits).await;
    assert_eq!(code(&inv), codes::INPUT_TOO_LARGE);
    assert_eq!(
        inv.usage.fuel_consumed, 0,
        "no instance may run for rejected input"
    );

    for bad in ["", "{", "nope", "{\"a\":}", "[1,2"] {
        let inv = invoke("echo", bad).await;
        assert_eq!(code(&inv), codes::INPUT_INVALID_JSON, "{bad:?}");
        assert_eq!(inv.usage.fuel_consumed, 0);
    }
}

#[tokio::test]
async fn outbound_http_is_denied_by_default() {
    for url in [
        "https://example.com/",
        "http://127.0.0.1:1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001/",
    ] {
        let input = json!({ "url": url }).to_string();
        let out = output(&invoke("http_probe", &input).await);
        assert_eq!(out["outcome"], "refused", "{url}: {out}");
        assert_eq!(out["code"], codes::EGRESS_HOST_NOT_ALLOWED, "{url}: {out}");
    }
    for url in [
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/",
    ] {
        let out = output(&invoke("http_probe", &json!({ "url": url }).to_string()).await);
        assert_eq!(
            out["code"],
            codes::EGRESS_SCHEME_NOT_ALLOWED,
            "{url}: {out}"
        );
    }
    let out = output(&invoke("http_probe", r#"{"url":"https://user:pw@example.com/"}"#).await);
    assert_eq!(out["code"], codes::EGRESS_USERINFO);
    let out = output(&invoke("http_probe", r#"{"url":"::not a url::"}"#).await);
    assert_eq!(out["code"], codes::EGRESS_BAD_URL);
}

#[tokio::test]
async fn wasi_is_locked_down() {
    let out = output(&invoke("sandbox_probe", "{}").await);
    assert_eq!(out["env_vars"], 0, "{out}");
    assert_eq!(out["args"], 0, "{out}");
    assert_eq!(out["stdin_bytes"], 0, "{out}");
    for capability in [
        "read_root_dir",
        "read_dot_dir",
        "read_etc_passwd",
        "write_file",
        "tcp_connect",
        "tcp_listen",
        "udp_bind",
        "dns_lookup",
    ] {
        let seen = out[capability].as_str().unwrap_or_default();
        assert!(
            seen.starts_with("refused"),
            "{capability} was {seen}: {out}"
        );
    }
}
