//! HTTP answers for refusals and failures: a JSON body with the stable
//! `code`, and the status [`status_for`] picks for that code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::codes::{self, Code};
use crate::skill_host::HostError;

/// The HTTP status for a stable code. The table is the API's contract; the
/// README and `openapi.json` list the same mapping.
pub fn status_for(code: &str) -> StatusCode {
    match code {
        codes::OK => StatusCode::OK,
        codes::AUTH_FAILURE => StatusCode::UNAUTHORIZED,
        codes::AUTH_FORBIDDEN => StatusCode::FORBIDDEN,
        codes::API_NOT_FOUND
        | codes::SKILL_NOT_FOUND
        | codes::SKILL_PENDING
        | codes::SKILL_REJECTED
        | codes::SKILL_REVOKED
        | codes::SKILL_DISABLED
        | codes::REGISTRY_INVALID_NAME => StatusCode::NOT_FOUND,
        codes::API_METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
        codes::REGISTRY_WRONG_DIGEST
        | codes::REGISTRY_INVALID_STATE
        | codes::REGISTRY_GRANT_EXCEEDS_REQUEST => StatusCode::CONFLICT,
        codes::INPUT_TOO_LARGE | codes::API_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        codes::MCP_PARSE_ERROR | codes::MCP_INVALID_REQUEST => StatusCode::BAD_REQUEST,
        codes::MCP_BAD_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        codes::MCP_SESSION_UNKNOWN => StatusCode::NOT_FOUND,
        codes::MCP_SESSION_LIMIT => StatusCode::TOO_MANY_REQUESTS,
        codes::MCP_HOST_NOT_ALLOWED => StatusCode::FORBIDDEN,
        codes::INPUT_INVALID_JSON | codes::API_BAD_REQUEST | codes::AUTH_INVALID => {
            StatusCode::BAD_REQUEST
        }
        codes::INPUT_SCHEMA_INVALID => StatusCode::UNPROCESSABLE_ENTITY,
        codes::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
        codes::RATE_BUSY | codes::AUDIT_UNAVAILABLE | codes::REGISTRY_BUSY => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        codes::API_TIMEOUT | codes::TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        // The skill ran and failed (or was stopped by a limit, or its
        // egress was refused): the host worked, the skill did not.
        c if is_skill_failure(c) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Codes that mean "the skill ran and failed" rather than "the host refused".
fn is_skill_failure(code: &str) -> bool {
    matches!(
        code,
        codes::FUEL_EXHAUSTED
            | codes::MEMORY
            | codes::OUTPUT_TOO_LARGE
            | codes::EGRESS_BYTES
            | codes::OUTPUT_INVALID_JSON
            | codes::OUTPUT_SCHEMA_INVALID
            | codes::SKILL_TRAPPED
            | codes::SKILL_ERROR
    ) || code.starts_with("egress.")
        || code.starts_with("secret.")
}

/// A JSON error answer. Bodies always carry `code` and `message`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self::from_json(json!({ "code": code, "message": message.into() }))
    }

    /// From an error body that has a `code` field.
    pub fn from_json(body: Value) -> Self {
        let code = body["code"].as_str().unwrap_or(codes::HOST_INTERNAL);
        let status = status_for(code);
        let retry_after = match code {
            codes::RATE_LIMITED => Some(body["retry_after_secs"].as_u64().unwrap_or(1).max(1)),
            codes::RATE_BUSY | codes::REGISTRY_BUSY => Some(1),
            _ => None,
        };
        ApiError {
            status,
            body,
            retry_after,
        }
    }
}

impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        ApiError::from_json(e.to_json())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"skillhost\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_deliberate_status() {
        // Nothing a caller can cause falls through to 500 by accident: only
        // host-side faults do.
        let internal: Vec<&str> = codes::ALL
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| status_for(c) == StatusCode::INTERNAL_SERVER_ERROR)
            .collect();
        assert_eq!(
            internal,
            [
                codes::CONTRACT_VERSION_MISMATCH,
                codes::MODULE_INVALID,
                codes::SKILL_DIGEST_MISMATCH,
                codes::SKILL_MODULE_MISSING,
                codes::REGISTRY_INVALID_METADATA,
                codes::REGISTRY_SCHEMA_TOO_NEW,
                codes::REGISTRY_CORRUPT,
                codes::REGISTRY_STORAGE,
                codes::AUDIT_CHAIN_BROKEN,
                codes::HOST_IO,
                codes::HOST_CONFIG,
                codes::HOST_INTERNAL,
            ]
        );
    }
}
