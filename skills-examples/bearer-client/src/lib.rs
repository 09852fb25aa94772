//! An API client that authenticates with a bearer token it never sees: the
//! header carries `{{secret:API_TOKEN}}` and the host fills it in.
//!
//! Input: `{"path": "/v1/private"}`. For leak tests it can also be told to
//! repeat a string into its output, logs and error (`"say"`), or to send
//! the token to another path, host or header (`"url"`, `"header"`).
use serde::{Deserialize, Serialize};
use skillhost_sdk::http::Request;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError, info, secret};

const API: &str = "https://json-api.test:47443";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Path on the API, e.g. `/v1/private`.
    #[serde(default)]
    path: Option<String>,
    /// Full URL instead of the API (to try other destinations).
    #[serde(default)]
    url: Option<String>,
    /// Header value template; `{token}` becomes the secret's placeholder.
    #[serde(default)]
    header: Option<String>,
    /// Text to repeat into the output, the logs and (if `fail`) the error.
    #[serde(default)]
    say: Option<String>,
    #[serde(default)]
    fail: bool,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    status: Option<u16>,
    body: Option<String>,
    refused: Option<String>,
    said: Option<String>,
}

struct BearerClient;

impl Skill for BearerClient {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "bearer-client",
        env!("CARGO_PKG_VERSION"),
        "Calls the inventory API with a bearer token held by the host.",
    )
    .http(&[API])
    .secrets(&["API_TOKEN"]);

    fn invoke(input: Input) -> Result<Output, SkillError> {
        if let Some(say) = &input.say {
            info!("saying {say}");
            println!("stdout says {say}");
            if input.fail {
                return Err(SkillError::new(
                    "told_to_fail",
                    format!("failing with {say}"),
                ));
            }
        }
        let url = input
            .url
            .unwrap_or_else(|| format!("{API}{}", input.path.as_deref().unwrap_or("/v1/private")));
        let header = input
            .header
            .unwrap_or_else(|| "Bearer {token}".into())
            .replace("{token}", &secret("API_TOKEN"));
        let (status, body, refused) = match Request::get(url).header("authorization", header).send()
        {
            Ok(r) => (
                Some(r.status),
                Some(String::from_utf8_lossy(&r.body).into_owned()),
                None,
            ),
            Err(e) => (None, None, Some(e.code)),
        };
        Ok(Output {
            status,
            body,
            refused,
            said: input.say,
        })
    }
}

skillhost_sdk::export_skill!(BearerClient);
