//! Sends requests through the host and reports what happened. Used to drive
//! the egress attack suite from inside the sandbox.
//!
//! Input: `{"url", "method"?, "headers"?: [[name, value]], "body"?: string,
//! "follow"?: n, "repeat"?: n}`. With `follow`, the skill itself follows up
//! to `n` redirects, each one a new request the host checks. With `repeat`,
//! it sends the same request `n` times and reports the last outcome.
use serde::{Deserialize, Serialize};
use skillhost_sdk::http::{Request, Response};
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError};

#[derive(Deserialize, JsonSchema)]
struct Input {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    follow: u8,
    #[serde(default)]
    repeat: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Output {
    Response {
        status: u16,
        body: String,
        location: Option<String>,
        hops: u8,
        attempts: u32,
    },
    Refused {
        code: String,
        message: String,
        hops: u8,
        attempts: u32,
    },
}

fn send(input: &Input, url: &str) -> Result<Response, skillhost_sdk::http::HttpError> {
    let mut request = Request::new(input.method.clone().unwrap_or_else(|| "GET".into()), url);
    for (name, value) in &input.headers {
        request = request.header(name.clone(), value.clone());
    }
    if let Some(body) = &input.body {
        request = request.body(body.clone().into_bytes());
    }
    request.send()
}

struct HttpProbe;

impl Skill for HttpProbe {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "http-probe",
        env!("CARGO_PKG_VERSION"),
        "Sends HTTP requests and reports the responses or the host's refusals.",
    );

    fn invoke(input: Input) -> Result<Output, SkillError> {
        let attempts = input.repeat.unwrap_or(1).max(1);
        let mut hops = 0;
        let mut last = None;
        for _ in 0..attempts {
            // Each follow-up is a new request that the host checks afresh.
            let mut url = input.url.clone();
            hops = 0;
            let outcome = loop {
                match send(&input, &url) {
                    Ok(r) if r.is_redirect() && hops < input.follow => {
                        hops += 1;
                        url = r.header("location").unwrap_or_default().to_string();
                    }
                    other => break other,
                }
            };
            last = Some(outcome);
        }
        let last = last.expect("at least one attempt");
        Ok(match last {
            Ok(r) => Output::Response {
                status: r.status,
                location: r.header("location").map(str::to_string),
                body: String::from_utf8_lossy(&r.body).into_owned(),
                hops,
                attempts,
            },
            Err(e) => Output::Refused {
                code: e.code,
                message: e.message,
                hops,
                attempts,
            },
        })
    }
}

skillhost_sdk::export_skill!(HttpProbe);
