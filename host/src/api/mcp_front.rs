//! The front of `/mcp`: everything the Streamable HTTP transport checks
//! before a message reaches rmcp, and the shape of every error it answers.
//!
//! In order, for every request:
//! 1. the bearer token is authenticated (401 `auth.failure`, audited);
//! 2. a named session (`Mcp-Session-Id`) must be open and belong to this
//!    token, or it does not exist: 404 `mcp.session_unknown`;
//! 3. a POST body must be `application/json` (415 `mcp.bad_media_type`),
//!    within the size cap (413 `limits.input_too_large`), JSON (400,
//!    JSON-RPC `-32700`, `mcp.parse_error`; too deep counts as not JSON)
//!    and one JSON-RPC message (400, `-32600`, `mcp.invalid_request`);
//! 4. an `initialize` without a session takes a place under the session
//!    caps (429 `mcp.session_limit`, audited).
//!
//! Every error body is a JSON-RPC error (`{"jsonrpc":"2.0","id":…,
//! "error":{"code":…,"message":…,"data":{"code":"mcp.…"}}}`) with a stable
//! code in `error.data.code`, including the transport errors rmcp itself
//! answers in plain text (406, a wrong protocol-version header, …).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

use super::{ApiError, AppState, Authed};
use crate::codes::{self, Code};
use crate::mcp::sessions::Sessions;

/// The session header of Streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// The most of a plain-text error body from rmcp that is kept.
const MAX_TEXT: usize = 4096;

/// What the `/mcp` front needs.
#[derive(Clone)]
pub struct McpState {
    pub app: AppState,
    pub sessions: Arc<Sessions>,
    /// The largest POST body accepted.
    pub max_body: usize,
}

/// A JSON-RPC error answer with a stable code.
pub fn rpc_error(
    status: StatusCode,
    code: Code,
    message: impl Into<String>,
    id: Value,
) -> Response {
    let rpc = match code {
        codes::MCP_PARSE_ERROR => -32700,
        codes::MCP_SESSION_UNKNOWN => -32001,
        codes::MCP_SESSION_LIMIT | codes::RATE_LIMITED => -32000,
        codes::HOST_INTERNAL | codes::AUDIT_UNAVAILABLE => -32603,
        _ => -32600,
    };
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": rpc, "message": message.into(), "data": { "code": code } },
    });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The stable code for a status rmcp answered on its own.
fn code_for_status(status: StatusCode) -> Code {
    match status {
        StatusCode::NOT_FOUND => codes::MCP_SESSION_UNKNOWN,
        StatusCode::FORBIDDEN => codes::MCP_HOST_NOT_ALLOWED,
        StatusCode::METHOD_NOT_ALLOWED => codes::API_METHOD_NOT_ALLOWED,
        StatusCode::NOT_ACCEPTABLE | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            codes::MCP_BAD_MEDIA_TYPE
        }
        StatusCode::PAYLOAD_TOO_LARGE => codes::INPUT_TOO_LARGE,
        s if s.is_server_error() => codes::HOST_INTERNAL,
        _ => codes::MCP_INVALID_REQUEST,
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// An error rmcp answered in plain text, as a JSON-RPC error.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let body = response.into_body();
    let text = match http_body_util::Limited::new(body, MAX_TEXT).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    rpc_error(status, code_for_status(status), message, Value::Null)
}

/// The middleware in front of rmcp's Streamable HTTP service.
pub async fn front(State(state): State<McpState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match Authed::from_request_parts(&mut parts, &state.app).await {
        Ok(Authed(caller)) => {
            // The handler reads the caller from the request.
            parts.extensions.insert(caller.clone());
            caller
        }
        Err(e) => {
            let e: ApiError = e;
            return e.into_response();
        }
    };
    // Authenticated, so the token is well-formed and its id is the key.
    let token_id = crate::auth::split(super::bearer(&parts))
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    let session = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && !state.sessions.touch(id, &token_id)
    {
        return rpc_error(
            StatusCode::NOT_FOUND,
            codes::MCP_SESSION_UNKNOWN,
            "no such session: it ended, expired, or was never opened with this token; initialize a new one",
            Value::Null,
        );
    }
    let method = parts.method.clone();
    let mut reservation = None;
    let body = if method == axum::http::Method::POST {
        if !is_json(&parts.headers) {
            return rpc_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::MCP_BAD_MEDIA_TYPE,
                "Content-Type must be application/json",
                Value::Null,
            );
        }
        let bytes = match http_body_util::Limited::new(body, state.max_body)
            .collect()
            .await
        {
            Ok(c) => c.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return rpc_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::INPUT_TOO_LARGE,
                    format!("the request body is more than {} bytes", state.max_body),
                    Value::Null,
                );
            }
            Err(e) => {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    codes::MCP_INVALID_REQUEST,
                    format!("cannot read the request body: {e}"),
                    Value::Null,
                );
            }
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    codes::MCP_PARSE_ERROR,
                    format!("the body is not JSON: {e}"),
                    Value::Null,
                );
            }
        };
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        if let Err(e) = serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                codes::MCP_INVALID_REQUEST,
                format!("the body is not a JSON-RPC message this server takes: {e}"),
                if id.is_string() || id.is_number() {
                    id
                } else {
                    Value::Null
                },
            );
        }
        if session.is_none() && value.get("method") == Some(&json!("initialize")) {
            match state.sessions.reserve(&token_id) {
                Ok(r) => reservation = Some(r),
                Err(refusal) => {
                    let message = refusal.to_string();
                    if let Err(e) = state
                        .app
                        .host()
                        .core()
                        .refused_repeatable(
                            "mcp.session",
                            codes::MCP_SESSION_LIMIT,
                            &caller.name,
                            &message,
                        )
                        .await
                    {
                        return rpc_error(
                            StatusCode::SERVICE_UNAVAILABLE,
                            e.code(),
                            e.to_string(),
                            id,
                        );
                    }
                    return rpc_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        codes::MCP_SESSION_LIMIT,
                        message,
                        id,
                    );
                }
            }
        }
        Body::from(bytes)
    } else {
        body
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status().is_success() {
        if let Some(reservation) = reservation
            && let Some(id) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
        {
            reservation.opened(id);
        }
        if method == axum::http::Method::DELETE
            && let Some(id) = &session
        {
            state.sessions.forget(id);
        }
    }
    as_json_error(response).await
}
