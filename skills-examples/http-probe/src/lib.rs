//! Tries one outbound request and reports what the host said. Used to test
//! the egress policy from inside the sandbox.
use serde::{Deserialize, Serialize};
use skillhost_sdk::http::Request;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError};

#[derive(Deserialize, JsonSchema)]
struct Input {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

#[derive(Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Output {
    Response { status: u16, body: String },
    Refused { code: String, message: String },
}

struct HttpProbe;

impl Skill for HttpProbe {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "http-probe",
        env!("CARGO_PKG_VERSION"),
        "Sends one HTTP request and reports the response or the host's refusal.",
    );

    fn invoke(input: Input) -> Result<Output, SkillError> {
        let mut request = Request::new(input.method.unwrap_or_else(|| "GET".into()), input.url);
        for (name, value) in input.headers {
            request = request.header(name, value);
        }
        Ok(match request.send() {
            Ok(r) => Output::Response {
                status: r.status,
                body: String::from_utf8_lossy(&r.body).into_owned(),
            },
            Err(e) => Output::Refused {
                code: e.code,
                message: e.message,
            },
        })
    }
}

skillhost_sdk::export_skill!(HttpProbe);
